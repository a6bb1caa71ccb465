/*
 * test_row.c — schema tables, row setters, event encoding round trip and corrupt
 * event rejection, key comparison, and the UTC time helpers rows depend on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/row.h"
#include "core/timeutil.h"

#include <math.h>
#include <string.h>

static void test_schema_tables(void **state) {
  (void)state;
  const char *names[] = {"financial_data", "stock_movements", "news", "macroeconomic", "policy"};
  for (int i = 0; i < SP_DS_COUNT; i++) {
    const sp_dataset_def *ds = sp_dataset_by_name(names[i]);
    assert_non_null(ds);
    assert_int_equal(ds->id, i);
    assert_int_equal(sp_dataset_column_index(ds, "provider"), ds->ncolumns - 2);
    assert_int_equal(sp_dataset_column_index(ds, "collected_at"), ds->ncolumns - 1);
    for (int k = 0; k < ds->nkey; k++) assert_false(ds->columns[ds->key_columns[k]].nullable);
    sp_type t = ds->columns[ds->date_column].type;
    assert_true(t == SP_DATE || t == SP_TIMESTAMP);
  }
  assert_null(sp_dataset_by_name("prices"));
  const sp_dataset_def *m = sp_dataset_by_name("macroeconomic");
  assert_string_equal(m->columns[m->key_columns[0]].name, "provider");
  assert_string_equal(m->default_compression, "zstd");
}

static void test_encode_roundtrip(void **state) {
  (void)state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  sp_row row, back;
  assert_int_equal(sp_row_init(&row, ds), 0);
  assert_int_equal(sp_row_set_cstr(&row, 0, "BRK-B"), 0);
  assert_int_equal(sp_row_set_cstr(&row, 1, "1h"), 0);
  assert_int_equal(sp_row_set_i64(&row, 2, INT64_C(1732545000000000)), 0);
  assert_int_equal(sp_row_set_double(&row, 3, 412.5), 0);
  assert_int_equal(sp_row_set_double(&row, 6, -0.0), 0);
  assert_int_equal(sp_row_set_double(&row, 7, NAN), 0); /* NaN means null */
  assert_int_equal(sp_row_set_i64(&row, 8, 0), 0);
  assert_int_equal(sp_row_set_string(&row, sp_row_col(&row, "provider"), "", 0), 0);
  assert_int_equal(sp_row_set_i32(&row, 0, 5), SP_ERR_INVALID); /* wrong type */

  sp_buf buf = SP_BUF_INIT;
  assert_int_equal(sp_row_encode(&row, &buf), 0);
  sp_error err;
  assert_int_equal(sp_row_decode(buf.data, buf.len, &back, &err), 0);
  assert_ptr_equal(back.ds, ds);
  assert_string_equal(back.values[0].u.str.ptr, "BRK-B");
  assert_int_equal(back.values[2].u.i64, INT64_C(1732545000000000));
  assert_true(back.values[7].is_null);
  assert_true(signbit(back.values[6].u.f64));
  assert_false(back.values[ds->ncolumns - 2].is_null);
  assert_int_equal(back.values[ds->ncolumns - 2].u.str.len, 0);
  assert_int_equal(sp_row_compare_key(&row, &back), 0);

  /* every truncation is rejected, never read past the end */
  for (size_t cut = 0; cut < buf.len; cut++) {
    sp_row r;
    assert_int_equal(sp_row_decode(buf.data, cut, &r, &err), SP_ERR_CORRUPT);
  }
  buf.data[1] = 99;
  { sp_row bad; assert_int_equal(sp_row_decode(buf.data, buf.len, &bad, &err),
                   SP_ERR_CORRUPT); }
  assert_non_null(strstr(err.msg, "dataset"));
  sp_buf_free(&buf);
  sp_row_clear(&row);
  sp_row_clear(&back);
}

static void test_key_order(void **state) {
  (void)state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  sp_row a, b;
  sp_row_init(&a, ds);
  sp_row_init(&b, ds);
  sp_row_set_cstr(&a, 0, "AAPL");
  sp_row_set_cstr(&b, 0, "AAPLX");
  sp_row_set_i64(&a, 1, 10);
  sp_row_set_i64(&b, 1, 5);
  assert_true(sp_row_compare_key(&a, &b) < 0);
  sp_row_set_cstr(&b, 0, "AAPL");
  assert_true(sp_row_compare_key(&a, &b) > 0);
  sp_row_clear(&a);
  sp_row_clear(&b);
}

static void test_time(void **state) {
  (void)state;
  char buf[SP_TIMESTAMP_TEXT_MAX];
  int64_t us;
  assert_int_equal(sp_parse_timestamp("2026-11-25T14:30:00Z", &us), 0);
  sp_format_timestamp(us, buf);
  assert_string_equal(buf, "2026-11-25T14:30:00Z");
  assert_int_equal(sp_parse_timestamp("2026-11-25T09:30:00.25-05:00", &us), 0);
  sp_format_timestamp(us, buf);
  assert_string_equal(buf, "2026-11-25T14:30:00.25Z");
  sp_format_timestamp(-1, buf);
  assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
  int32_t d;
  assert_int_equal(sp_parse_date("2024-02-29", &d), 0);
  assert_int_equal(sp_parse_date("2023-02-29", &d), SP_ERR_INVALID);
  assert_int_equal(sp_parse_date("2024-2-29", &d), SP_ERR_INVALID);
  assert_int_equal(sp_parse_date("1970-01-01", &d), 0);
  assert_int_equal(d, 0);
  assert_int_equal(sp_weekday_from_days(0), 4); /* Thursday */
  assert_int_equal(sp_timestamp_to_days(-1), -1);
  for (int32_t day = -800000; day < 800000; day += 997) {
    int y;
    unsigned m, dd;
    sp_civil_from_days(day, &y, &m, &dd);
    assert_int_equal(sp_days_from_civil(y, m, dd), day);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_tables),
      cmocka_unit_test(test_encode_roundtrip),
      cmocka_unit_test(test_key_order),
      cmocka_unit_test(test_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
