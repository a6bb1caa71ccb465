/*
 * test_csv_jsonl.c — exact text of the CSV and JSON Lines formats and of the shared
 * value formatter (SPEC §7 "Query output"): header, RFC 4180 quoting, empty string
 * versus NULL, ISO 8601 timestamps with and without fractions, dates, round-trip
 * doubles, JSON escaping, and the format registry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core_test_util.h"
#include "format/format.h"
#include "format/value_text.h"

#include <fcntl.h>
#include <math.h>

/* Write `rows` with the named format to a temp file and return its text. */
static char *render(const char *format, const sp_row *rows, size_t n) {
  const sp_format_vtable *f = sp_format_find(format);
  assert_non_null(f);
  char path[] = "/tmp/sp-format-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  sp_format_writer *w;
  sp_error err = {0};
  assert_int_equal(f->open(&w, fd, rows[0].ds, NULL, &err), 0);
  assert_int_equal(f->write_rows(w, rows, n, &err), 0);
  assert_int_equal(f->finish(w, &err), 0);
  f->destroy(w);
  close(fd);
  char *text = read_text_file(path);
  unlink(path);
  return text;
}

static void make_two_rows(sp_row rows[2]) {
  make_quote_row(&rows[0], "AAPL", ts_of("2026-11-25T14:30:00Z"), 189.5);
  sp_row_set_i64(&rows[0], sp_row_col(&rows[0], "volume"), 51234567);
  sp_row_set_double(&rows[0], sp_row_col(&rows[0], "dividend_yield"), 0.0051);
  sp_row_set_cstr(&rows[0], sp_row_col(&rows[0], "currency"), "USD");
  sp_row_set_cstr(&rows[0], sp_row_col(&rows[0], "exchange"), "");
  make_quote_row(&rows[1], "BRK-B", ts_of("2026-11-25T14:30:00.25Z"), 0.1);
  sp_row_set_cstr(&rows[1], sp_row_col(&rows[1], "quality_flags"), "price_jump,\"stale\"\nx");
}

static void test_csv_exact(void **state) {
  (void)state;
  sp_row rows[2];
  make_two_rows(rows);
  char *text = render("csv", rows, 2);
  const char *want =
      "ticker,quote_time,price,open,high,low,previous_close,volume,market_cap,pe_ratio,eps,dividend_yield,"
      "week52_high,week52_low,currency,exchange,quality_flags,provider,collected_at\n"
      "AAPL,2026-11-25T14:30:00Z,189.5,,,,,51234567,,,,0.0051,,,USD,\"\",,yahoo,2026-11-25T14:30:05Z\n"
      "BRK-B,2026-11-25T14:30:00.25Z,0.1,,,,,,,,,,,,,,\"price_jump,\"\"stale\"\"\nx\",yahoo,"
      "2026-11-25T14:30:05.25Z\n";
  assert_string_equal(text, want);
  free(text);
  sp_row_clear(&rows[0]);
  sp_row_clear(&rows[1]);
}

static void test_jsonl_exact(void **state) {
  (void)state;
  sp_row rows[2];
  make_two_rows(rows);
  char *text = render("json", rows, 2); /* "json" is an alias of jsonl */
  const char *want =
      "{\"ticker\":\"AAPL\",\"quote_time\":\"2026-11-25T14:30:00Z\",\"price\":189.5,\"open\":null,\"high\":null,"
      "\"low\":null,\"previous_close\":null,\"volume\":51234567,\"market_cap\":null,\"pe_ratio\":null,"
      "\"eps\":null,\"dividend_yield\":0.0051,\"week52_high\":null,\"week52_low\":null,\"currency\":\"USD\","
      "\"exchange\":\"\",\"quality_flags\":null,\"provider\":\"yahoo\","
      "\"collected_at\":\"2026-11-25T14:30:05Z\"}\n"
      "{\"ticker\":\"BRK-B\",\"quote_time\":\"2026-11-25T14:30:00.25Z\",\"price\":0.1,\"open\":null,"
      "\"high\":null,\"low\":null,\"previous_close\":null,\"volume\":null,\"market_cap\":null,"
      "\"pe_ratio\":null,\"eps\":null,\"dividend_yield\":null,\"week52_high\":null,\"week52_low\":null,"
      "\"currency\":null,\"exchange\":null,\"quality_flags\":\"price_jump,\\\"stale\\\"\\nx\","
      "\"provider\":\"yahoo\",\"collected_at\":\"2026-11-25T14:30:05.25Z\"}\n";
  assert_string_equal(text, want);
  free(text);
  sp_row_clear(&rows[0]);
  sp_row_clear(&rows[1]);
}

static void test_dates_and_columns(void **state) {
  (void)state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_MACROECONOMIC);
  sp_row row;
  assert_int_equal(sp_row_init(&row, ds), 0);
  sp_row_set_cstr(&row, sp_row_col(&row, "indicator"), "gdp_growth");
  sp_row_set_i32(&row, sp_row_col(&row, "observation_date"), sp_days_from_civil(2024, 1, 1));
  sp_row_set_double(&row, sp_row_col(&row, "value"), -2.25);
  int cols[3] = {sp_row_col(&row, "observation_date"), sp_row_col(&row, "value"), sp_row_col(&row, "unit")};
  sp_buf out = SP_BUF_INIT;
  assert_int_equal(sp_csv_append_header(&out, ds, cols, 3), 0);
  assert_int_equal(sp_csv_append_row(&out, &row, cols, 3), 0);
  assert_int_equal(sp_json_append_row(&out, &row, cols, 3), 0);
  assert_string_equal((char *)out.data, "observation_date,value,unit\n2024-01-01,-2.25,\n"
                                        "{\"observation_date\":\"2024-01-01\",\"value\":-2.25,\"unit\":null}");
  sp_buf_free(&out);
  sp_row_clear(&row);
}

static void test_double_round_trip(void **state) {
  (void)state;
  const double values[] = {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 123456789012345678.0, 5e-324, -0.0, 100.0,
                           0.30000000000000004, 1.7976931348623157e308};
  char buf[SP_DOUBLE_TEXT_MAX];
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    sp_format_double(values[i], buf);
    double back = strtod(buf, NULL);
    assert_memory_equal(&back, &values[i], sizeof back);
  }
  sp_format_double(0.1, buf);
  assert_string_equal(buf, "0.1");
  sp_format_double(100.0, buf);
  assert_string_equal(buf, "100");
  sp_format_double(0.30000000000000004, buf);
  assert_string_equal(buf, "0.30000000000000004");
  sp_format_double(INFINITY, buf);
  assert_string_equal(buf, "inf");
  sp_value v = {.is_null = false, .u.f64 = -INFINITY};
  sp_buf out = SP_BUF_INIT;
  assert_int_equal(sp_value_append_json(&out, SP_DOUBLE, &v), 0);
  assert_string_equal((char *)out.data, "null");
  sp_buf_free(&out);
}

static void test_json_string_escapes(void **state) {
  (void)state;
  sp_buf out = SP_BUF_INIT;
  const char s[] = "a\"b\\c\td\x01\xc3\xa9";
  assert_int_equal(sp_json_append_string(&out, s, sizeof s - 1), 0);
  assert_string_equal((char *)out.data, "\"a\\\"b\\\\c\\td\\u0001\xc3\xa9\"");
  sp_buf_reset(&out);
  assert_int_equal(sp_csv_append_string(&out, "plain text", 10), 0);
  assert_int_equal(sp_csv_append_string(&out, "cr\r", 3), 0);
  assert_string_equal((char *)out.data, "plain text\"cr\r\"");
  sp_buf_free(&out);
}

static void test_registry(void **state) {
  (void)state;
  assert_string_equal(sp_format_find("csv")->extension, ".csv");
  assert_string_equal(sp_format_find("jsonl")->extension, ".jsonl");
  assert_ptr_equal(sp_format_find("json"), sp_format_find("jsonl"));
  assert_null(sp_format_find("xlsx"));
  assert_null(sp_format_find(NULL));
}

static void test_large_output_flushes(void **state) {
  (void)state;
  enum { N = 3000 };
  sp_row *rows = calloc(N, sizeof *rows);
  for (int i = 0; i < N; i++) make_quote_row(&rows[i], "MSFT", ts_of("2026-01-02T15:00:00Z") + i, i + 0.5);
  char *text = render("csv", rows, N);
  size_t lines = 0;
  for (char *p = text; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, N + 1);
  assert_true(strlen(text) > 64 * 1024);
  assert_non_null(strstr(text, "\nMSFT,2026-01-02T15:00:00.002999Z,2999.5,"));
  free(text);
  for (int i = 0; i < N; i++) sp_row_clear(&rows[i]);
  free(rows);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_exact),           cmocka_unit_test(test_jsonl_exact),
      cmocka_unit_test(test_dates_and_columns),   cmocka_unit_test(test_double_round_trip),
      cmocka_unit_test(test_json_string_escapes), cmocka_unit_test(test_registry),
      cmocka_unit_test(test_large_output_flushes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
