/*
 * test_source_fred.c — FRED parsers on the real captures (tests/fixtures/real/fred/)
 * and the documented-shape fixtures (tests/fixtures/fred/), and FRED rounds through a
 * fake transport: the SPEC §7 macro mapping, units=pc1, incremental requests from the
 * watermark, paging, rate decisions, release dates, a missing key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core_test_util.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/fred.h"

#include <math.h>
#include <string.h>

static int parse_obs_file(const char *file, const sp_fred_series *s, sp_source_page *page,
                          sp_error *err) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(file, &body);
  int rc = sp_fred_parse_observations((const char *)body.data, body.len, s, page, collect_parsed,
                                      &rows, err);
  sp_buf_free(&body);
  return rc;
}

static void test_mapping(void **state) {
  (void)state;
  const sp_fred_series *s = sp_fred_series_for("inflation_rate");
  assert_string_equal(s->series_id, "CPIAUCSL");
  assert_string_equal(s->units, "pc1");
  assert_string_equal(s->unit, "percent");
  assert_string_equal(sp_fred_series_for("interest_rate")->series_id, "DGS10");
  assert_string_equal(sp_fred_series_for("interest_rate")->frequency, "d");
  assert_string_equal(sp_fred_series_for("unemployment_rate")->series_id, "UNRATE");
  assert_string_equal(sp_fred_series_for("gdp_growth")->series_id, "A191RL1Q225SBEA");
  assert_string_equal(sp_fred_series_for("gdp_growth")->frequency, "q");
  assert_string_equal(sp_fred_series_for("fed_funds_rate")->series_id, "FEDFUNDS");
  assert_null(sp_fred_series_for("gdp"));
}

static void test_real_captures(void **state) {
  (void)state;
  sp_fred_series gnpca = {"real_gnp", "GNPCA", NULL, "usd", "a"};
  sp_source_page page;
  sp_error err;
  assert_int_equal(parse_obs_file("real/fred/series_observations-GNPCA-limit20.json", &gnpca, &page, &err), 0);
  assert_int_equal(rows.count, 20);
  assert_int_equal(page.total, 91); /* paging needed */
  assert_int_equal(page.offset, 0);
  assert_int_equal(page.count, 20);
  const sp_row *r = &rows.rows[0];
  assert_int_equal(row_int32(r, "observation_date"), day_of("1929-01-01")); /* annual: Jan 1 */
  assert_true(row_double(r, "value") == 1120.076);
  assert_string_equal(row_text(r, "series_id"), "GNPCA");
  assert_string_equal(row_text(r, "frequency"), "a");
  collected_rows_free(&rows);
  assert_int_equal(parse_obs_file("real/fred/series_observations-GNPCA-start2050-empty.json", &gnpca, &page, &err), 0);
  assert_int_equal(rows.count, 0);
  assert_int_equal(page.total, 0);
  /* the real 400 body: an error naming FRED's message */
  assert_int_equal(parse_obs_file("real/fred/series_observations-400-bad-series-id.json", &gnpca, &page, &err),
                   SP_ERR_HTTP);
  assert_non_null(strstr(err.msg, "Invalid value for variable series_id"));
  sp_buf body = SP_BUF_INIT;
  read_fixture("real/fred/series_observations-400-bad-series-id.json", &body);
  char said[256];
  assert_true(sp_fred_explain_error((const char *)body.data, body.len, said, sizeof said));
  assert_non_null(strstr(said, "Bad Request.  Invalid value"));
  sp_buf_free(&body);
  assert_false(sp_fred_explain_error("{}", 2, said, sizeof said));
}

static void test_missing_values_and_pc1(void **state) {
  (void)state;
  sp_source_page page;
  sp_error err;
  assert_int_equal(parse_obs_file("fred/series_observations-DGS10.json", sp_fred_series_for("interest_rate"), &page, &err), 0);
  assert_int_equal(rows.count, 10);
  int nulls = 0;
  for (int i = 0; i < rows.count; i++) nulls += row_is_null(&rows.rows[i], "value");
  assert_int_equal(nulls, 1);
  assert_true(row_is_null(&rows.rows[6], "value")); /* 2024-11-11 "." */
  assert_int_equal(row_int32(&rows.rows[6], "observation_date"), day_of("2024-11-11"));
  assert_string_equal(row_text(&rows.rows[0], "indicator"), "interest_rate");
  collected_rows_free(&rows);
  assert_int_equal(parse_obs_file("fred/series_observations-CPIAUCSL.json", sp_fred_series_for("inflation_rate"), &page, &err), 0);
  assert_int_equal(rows.count, 11);
  assert_true(row_is_null(&rows.rows[0], "value"));
  assert_true(row_double(&rows.rows[10], "value") == 2.60);
  assert_string_equal(row_text(&rows.rows[10], "unit"), "percent");
  assert_string_equal(row_text(&rows.rows[10], "frequency"), "m");
}

static void test_bad_bodies(void **state) {
  (void)state;
  sp_source_page page;
  sp_error err;
  const sp_fred_series *s = sp_fred_series_for("interest_rate");
  const char *bad[] = {"", "<html>503</html>", "{\"observations\":{}}", "[]",
                       "{\"observations\":[{\"date\":\"2024-13-01\",\"value\":\"1\"}]}",
                       "{\"observations\":[{\"value\":\"1\"}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sp_fred_parse_observations(bad[i], strlen(bad[i]), s, &page, collect_parsed, &rows, &err),
                     SP_ERR_PARSE);
  assert_int_equal(sp_fred_parse_release_dates("{}", 2, &page, collect_parsed, collect_bad, &rows, &err), SP_ERR_PARSE);
  assert_int_equal(sp_fred_parse_rate_decisions("{}", 2, "{}", 2, false, collect_parsed, &rows, &err),
                   SP_ERR_PARSE);
  assert_int_equal(rows.count, 0);
}

static void test_rate_decisions(void **state) {
  (void)state;
  sp_buf up = SP_BUF_INIT, low = SP_BUF_INIT;
  read_fixture("fred/series_observations-DFEDTARU.json", &up);
  read_fixture("fred/series_observations-DFEDTARL.json", &low);
  sp_error err;
  assert_int_equal(sp_fred_parse_rate_decisions((const char *)up.data, up.len, (const char *)low.data,
                                                low.len, false, collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 3);
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "event_type"), "rate_decision");
  assert_int_equal(row_int64(r, "event_time"), (int64_t)day_of("2024-09-19") * SP_US_PER_DAY);
  assert_true(row_double(r, "value") == 5.0);
  assert_string_equal(row_text(r, "title"), "Federal funds target range set to 4.75%-5.00%");
  assert_string_equal(row_text(r, "details"),
                      "{\"upper\":5,\"lower\":4.75,\"previous_upper\":5.5,\"series\":\"DFEDTARU\",\"date\":\"2024-09-19\"}");
  assert_int_equal(strlen(row_text(r, "event_id")), 64);
  assert_true(row_double(&rows.rows[2], "value") == 4.5);
  /* from the series start, the first observation is a decision too */
  collected_rows_free(&rows);
  assert_int_equal(sp_fred_parse_rate_decisions((const char *)up.data, up.len, (const char *)low.data,
                                                low.len, true, collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 4);
  /* event ids are stable (hash of provider + natural id) and distinct */
  assert_string_not_equal(row_text(&rows.rows[0], "event_id"), row_text(&rows.rows[1], "event_id"));
  sp_buf_free(&up);
  sp_buf_free(&low);
}

static void test_release_dates(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  read_fixture("fred/releases_dates.json", &body);
  sp_source_page page;
  sp_error err;
  assert_int_equal(sp_fred_parse_release_dates((const char *)body.data, body.len, &page, collect_parsed,
                                               collect_bad, &rows, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(rows.count, 4);
  assert_int_equal(page.total, 4);
  assert_string_equal(row_text(&rows.rows[1], "title"), "Consumer Price Index");
  assert_string_equal(row_text(&rows.rows[1], "event_type"), "economic_release");
  assert_string_equal(row_text(&rows.rows[1], "url"), "https://fred.stlouisfed.org/release?rid=10");
  assert_true(row_is_null(&rows.rows[1], "value"));
  /* same release on two dates: two events */
  assert_string_not_equal(row_text(&rows.rows[0], "event_id"), row_text(&rows.rows[3], "event_id"));
  assert_int_equal(rows.nrejects, 0);
  collected_rows_free(&rows);
  /* an entry without its name among good ones: the others are rows, it is rejected as sent */
  const char *odd = "{\"count\":3,\"offset\":0,\"release_dates\":["
                    "{\"release_id\":10,\"release_name\":\"Consumer Price Index\",\"date\":\"2024-11-13\"},"
                    "{\"release_id\":50,\"date\":\"2024-11-14\"},"
                    "{\"release_id\":53,\"release_name\":\"Gross Domestic Product\",\"date\":\"2024-11-27\"}]}";
  assert_int_equal(sp_fred_parse_release_dates(odd, strlen(odd), &page, collect_parsed, collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 2);
  assert_int_equal(rows.nrejects, 1);
  assert_string_equal(rows.rejects[0].rule, "item_unparseable");
  assert_string_equal(rows.rejects[0].detail, "release_name missing or empty");
  assert_string_equal(rows.rejects[0].raw, "{\"release_id\":50,\"date\":\"2024-11-14\"}");
}

/* ---- rounds ----------------------------------------------------------------------------- */

typedef struct fred_round_state {
  const char *key;
  const char *wm_key;
  int64_t wm;
} fred_round_state;

static const char *credential(void *arg, const char *name) {
  fred_round_state *s = arg;
  return s->key && strcmp(name, "fred_api_key") == 0 ? s->key : NULL;
}

static bool watermark(void *arg, const char *key, int64_t *value) {
  fred_round_state *s = arg;
  if (!s->wm_key || strcmp(key, s->wm_key) != 0) return false;
  *value = s->wm;
  return true;
}

static void test_round_macro(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/fred/series/observations?series_id=DGS10", 200, "fred/series_observations-DGS10.json", NULL);
  fake_route_add(&fake, "/fred/series/observations?series_id=UNRATE", 200, "fred/series_observations-UNRATE.json", NULL);
  fake_route_add(&fake, "/fred/series/observations?series_id=A191RL1Q225SBEA", 200,
                 "fred/series_observations-A191RL1Q225SBEA.json", NULL);
  fake_route_add(&fake, "/fred/series/observations?series_id=CPIAUCSL", 200, "fred/series_observations-CPIAUCSL.json", NULL);
  fake_route_add(&fake, "/fred/series/observations?series_id=FEDFUNDS", 500, NULL, "{\"error_code\":500,\"error_message\":\"Internal Server Error\"}");
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"fred"};
  fred_round_state st = {.key = "fred-test-key", .wm_key = "macroeconomic/fred/DGS10",
                         .wm = (int64_t)day_of("2024-11-07") * SP_US_PER_DAY};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_MACROECONOMIC), .providers = providers,
                           .nproviders = 1, .now_us = (int64_t)day_of("2024-11-20") * SP_US_PER_DAY,
                           .credential = credential, .get_watermark = watermark, .emit = collect_emitted,
                           .arg = &st};
  sp_log_set_level(SP_LOG_OFF);
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_HTTP);
  assert_int_equal(report.providers[0].requests, 5);
  assert_int_equal(report.providers[0].failures, 1);
  assert_non_null(strstr(report.providers[0].first_error.msg, "Internal Server Error"));
  assert_null(strstr(report.providers[0].first_error.msg, "fred-test-key"));
  assert_string_equal(fake.paths[0], "/fred/series/observations?series_id=DGS10&api_key=fred-test-key"
                                     "&file_type=json&limit=100000&observation_start=2024-11-07");
  assert_non_null(strstr(fake.paths[3], "series_id=CPIAUCSL"));
  assert_non_null(strstr(fake.paths[3], "&units=pc1"));
  assert_null(strstr(fake.paths[1], "observation_start")); /* no watermark: whole history */
  /* DGS10 after 2024-11-07: 5 (one null) + UNRATE 10 + GDP 5 + CPI 11 */
  assert_int_equal(rows.count, 5 + 10 + 5 + 11);
  assert_int_equal(report.rows, 31);
  assert_string_equal(row_text(&rows.rows[0], "provider"), "fred");

  /* no key: disabled with a warning, not a failure */
  collected_rows_free(&rows);
  st.key = NULL;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].status, SP_SOURCE_DISABLED);
  assert_int_equal(report.providers[0].requests, 0);
}

static void test_round_paging_and_policy(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  const char *page1 = "{\"count\":3,\"offset\":0,\"limit\":2,\"observations\":[{\"date\":\"2024-01-01\",\"value\":\"1\"},"
                      "{\"date\":\"2024-02-01\",\"value\":\"2\"}]}";
  const char *page2 = "{\"count\":3,\"offset\":2,\"limit\":2,\"observations\":[{\"date\":\"2024-03-01\",\"value\":\"3\"}]}";
  fake_route_add(&fake, "/fred/series/observations?series_id=UNRATE&api_key=k3y-value&file_type=json&limit=100000&offset=2",
                 200, NULL, page2);
  fake_route_add(&fake, "/fred/series/observations?series_id=UNRATE", 200, NULL, page1);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"fred"};
  const char *indicators[] = {"unemployment_rate"};
  fred_round_state st = {.key = "k3y-value"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_MACROECONOMIC), .providers = providers,
                           .nproviders = 1, .series = indicators, .nseries = 1,
                           .now_us = (int64_t)day_of("2024-11-20") * SP_US_PER_DAY,
                           .credential = credential, .get_watermark = watermark, .emit = collect_emitted,
                           .arg = &st};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 2);
  assert_int_equal(rows.count, 3);

  /* policy: rate decisions (upper then lower) and release dates */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/fred/series/observations?series_id=DFEDTARU", 200, "fred/series_observations-DFEDTARU.json", NULL);
  fake_route_add(&fake, "/fred/series/observations?series_id=DFEDTARL", 200, "fred/series_observations-DFEDTARL.json", NULL);
  fake_route_add(&fake, "/fred/releases/dates?", 200, "fred/releases_dates.json", NULL);
  round.ds = sp_dataset_get(SP_DS_POLICY);
  round.series = NULL;
  round.nseries = 0;
  st.wm_key = "policy/fred/rate_decision";
  st.wm = (int64_t)day_of("2024-11-08") * SP_US_PER_DAY; /* 2024-12-19 is the only new one */
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 3);
  assert_non_null(strstr(fake.paths[0], "series_id=DFEDTARU"));
  assert_non_null(strstr(fake.paths[0], "observation_start=2024-10-08"));
  assert_non_null(strstr(fake.paths[1], "/fred/releases/dates?"));
  assert_non_null(strstr(fake.paths[1], "realtime_start=2024-10-21&realtime_end=2024-12-20"));
  assert_non_null(strstr(fake.paths[2], "series_id=DFEDTARL"));
  assert_int_equal(rows.count, 1 + 4);
  int decisions = 0;
  for (int i = 0; i < rows.count; i++)
    if (strcmp(row_text(&rows.rows[i], "event_type"), "rate_decision") == 0) {
      decisions++;
      assert_true(row_double(&rows.rows[i], "value") == 4.5);
    }
  assert_int_equal(decisions, 1);
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  const char *real = "real/fred/series_observations-GNPCA-limit20.json";
  shape_assert_unchanged(real, &sp_fred_observations_shape);
  shape_assert_unchanged("real/fred/series_observations-GNPCA-start2050-empty.json", &sp_fred_observations_shape);
  shape_assert_unchanged("fred/series_observations-DFEDTARU.json", &sp_fred_observations_shape);
  shape_assert_unchanged("fred/releases_dates.json", &sp_fred_release_dates_shape);
  sp_shape_report r;
  /* values sent as JSON numbers, the paging count gone */
  const shape_edit edits[] = {{"observations[*].value", SHAPE_SET, "1120.076"}, {"count", SHAPE_REMOVE, NULL}};
  shape_check_reshaped(real, edits, 2, &sp_fred_observations_shape, &r);
  assert_string_equal(r.text, "missing field \"count\"; \"observations[*].value\" is number, expected string");
  assert_true(r.required_changed);
  const shape_edit releases[] = {{"release_dates[*].release_name", SHAPE_RENAME, "name"}};
  shape_check_reshaped("fred/releases_dates.json", releases, 1, &sp_fred_release_dates_shape, &r);
  assert_string_equal(r.text, "missing field \"release_dates[*].release_name\"");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test(test_mapping),
      cmocka_unit_test_teardown(test_real_captures, teardown_rows),
      cmocka_unit_test_teardown(test_missing_values_and_pc1, teardown_rows),
      cmocka_unit_test_teardown(test_bad_bodies, teardown_rows),
      cmocka_unit_test_teardown(test_rate_decisions, teardown_rows),
      cmocka_unit_test_teardown(test_release_dates, teardown_rows),
      cmocka_unit_test_teardown(test_round_macro, teardown_rows),
      cmocka_unit_test_teardown(test_round_paging_and_policy, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
