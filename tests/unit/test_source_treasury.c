/*
 * test_source_treasury.c — the Fiscal Data debt_to_penny parser (documented-shape
 * fixtures in tests/fixtures/treasury/) and a round through a fake transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/sha256.h"
#include "core/timeutil.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/treasury.h"

#include <string.h>

static void test_parse(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  read_fixture("treasury/debt_to_penny.json", &body);
  sp_source_page page;
  sp_error err;
  assert_int_equal(sp_treasury_parse_debt_to_penny((const char *)body.data, body.len, &page,
                                                   collect_parsed, &rows, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(rows.count, 4);
  assert_int_equal(page.pages, 1);
  const sp_row *r = &rows.rows[3];
  assert_string_equal(row_text(r, "event_type"), "treasury_debt");
  assert_int_equal(row_int64(r, "event_time"), (int64_t)sp_days_from_civil(2024, 11, 21) * SP_US_PER_DAY);
  assert_true(row_double(r, "value") == 28791458062428.73); /* debt held by the public */
  assert_string_equal(row_text(r, "title"), "Debt to the Penny 2024-11-21");
  assert_string_equal(row_text(r, "details"),
                      "{\"record_date\":\"2024-11-21\",\"total_public_debt_outstanding\":36021895454353.99,"
                      "\"intragovernmental_holdings\":7230437391925.26}");
  char id[SP_SHA256_HEX_LEN + 1];
  sp_sha256_hex("treasury:debt_to_penny:2024-11-21", strlen("treasury:debt_to_penny:2024-11-21"), id);
  assert_string_equal(row_text(r, "event_id"), id);

  read_fixture("treasury/error-invalid-query-param.json", &body);
  assert_int_equal(sp_treasury_parse_debt_to_penny((const char *)body.data, body.len, &page,
                                                   collect_parsed, &rows, &err), SP_ERR_HTTP);
  assert_non_null(strstr(err.msg, "Invalid Query Param"));
  sp_buf_free(&body);
  const char *bad[] = {"", "[]", "{\"data\":{}}", "{\"data\":[{\"record_date\":\"yesterday\"}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sp_treasury_parse_debt_to_penny(bad[i], strlen(bad[i]), &page, collect_parsed, &rows, &err),
                     SP_ERR_PARSE);
  const char *null_amount = "{\"data\":[{\"record_date\":\"2024-11-22\",\"debt_held_public_amt\":\"null\"}],\"meta\":{}}";
  assert_int_equal(sp_treasury_parse_debt_to_penny(null_amount, strlen(null_amount), &page, collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 4);
}

static bool watermark(void *arg, const char *key, int64_t *value) {
  (void)arg;
  if (strcmp(key, "policy/treasury/treasury_debt") != 0) return false;
  *value = (int64_t)sp_days_from_civil(2024, 11, 19) * SP_US_PER_DAY;
  return true;
}

static void test_round(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/services/api/fiscal_service/v2/accounting/od/debt_to_penny?", 200,
                 "treasury/debt_to_penny.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"treasury"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_POLICY), .providers = providers, .nproviders = 1,
                           .now_us = (int64_t)sp_days_from_civil(2024, 11, 25) * SP_US_PER_DAY,
                           .get_watermark = watermark, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_non_null(strstr(fake.paths[0], "filter=record_date:gt:2024-11-19&sort=record_date"));
  assert_non_null(strstr(fake.paths[0], "page%5Bnumber%5D=1"));
  assert_int_equal(rows.count, 2); /* 11-20 and 11-21 */
  /* event types not configured: nothing requested */
  const char *types[] = {"press_release"};
  round.series = types;
  round.nseries = 1;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].requests, 0);
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  /* no real capture exists: the documented shape */
  shape_assert_unchanged("treasury/debt_to_penny.json", &sp_treasury_debt_shape);
  sp_shape_report r;
  const shape_edit edits[] = {{"data[*].record_date", SHAPE_RENAME, "date"}, {"meta.total-pages", SHAPE_SET, "\"1\""}};
  shape_check_reshaped("treasury/debt_to_penny.json", edits, 2, &sp_treasury_debt_shape, &r);
  assert_string_equal(r.text, "\"meta.total-pages\" is string, expected number; missing field \"data[*].record_date\"");
  assert_true(r.required_changed);
  const shape_edit optional[] = {{"data[*].intragov_hold_amt", SHAPE_REMOVE, NULL}};
  shape_check_reshaped("treasury/debt_to_penny.json", optional, 1, &sp_treasury_debt_shape, &r);
  assert_string_equal(r.text, "missing field \"data[*].intragov_hold_amt\"");
  assert_false(r.required_changed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test_teardown(test_parse, teardown_rows),
      cmocka_unit_test_teardown(test_round, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
