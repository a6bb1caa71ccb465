/*
 * test_source_worldbank.c — the World Bank parser on real `[meta, data]` captures
 * (tests/fixtures/real/worldbank/) and documented-shape fixtures (error array, null
 * values, paging), and a round through a fake transport (mapping, paging, watermark).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/worldbank.h"

#include <string.h>

static int parse_file(const char *file, const char *indicator, const char *country,
                      sp_source_page *page, sp_error *err) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(file, &body);
  int rc = sp_worldbank_parse_indicator((const char *)body.data, body.len, indicator, country, page,
                                        collect_parsed, &rows, err);
  sp_buf_free(&body);
  return rc;
}

static void test_real_captures(void **state) {
  (void)state;
  sp_source_page page;
  sp_error err;
  assert_int_equal(parse_file("real/worldbank/indicator-NY.GNP.PCAP.CD-US-1990-1997.json", "gni", "US", &page, &err), 0);
  assert_int_equal(rows.count, 8);
  assert_int_equal(page.pages, 1);
  assert_int_equal(page.total, 8);
  const sp_row *r = &rows.rows[0]; /* newest first */
  assert_string_equal(row_text(r, "series_id"), "NY.GNP.PCAP.CD");
  assert_int_equal(row_int32(r, "observation_date"), sp_days_from_civil(1997, 1, 1));
  assert_true(row_double(r, "value") == 31270);
  assert_string_equal(row_text(r, "frequency"), "a");
  collected_rows_free(&rows);
  /* the trimmed multi-country capture: no US rows; any country when not filtered */
  assert_int_equal(parse_file("real/worldbank/trase-world_bank_gdp_indicators.json", "gdp", "US", &page, &err), 0);
  assert_int_equal(rows.count, 0);
  assert_int_equal(parse_file("real/worldbank/trase-world_bank_gdp_indicators.json", "gdp", NULL, &page, &err), 0);
  assert_int_equal(rows.count, 4);
  assert_int_equal(page.total, 264);
}

static void test_mapping_nulls_and_errors(void **state) {
  (void)state;
  assert_string_equal(sp_worldbank_indicator_for("gdp_growth"), "NY.GDP.MKTP.KD.ZG");
  assert_string_equal(sp_worldbank_indicator_for("inflation_rate"), "FP.CPI.TOTL.ZG");
  assert_null(sp_worldbank_indicator_for("interest_rate"));
  sp_source_page page;
  sp_error err;
  /* 2024 is listed with a null value: skipped */
  assert_int_equal(parse_file("worldbank/indicator-NY.GDP.MKTP.KD.ZG-US.json", "gdp_growth", "US", &page, &err), 0);
  assert_int_equal(rows.count, 9);
  assert_int_equal(row_int32(&rows.rows[0], "observation_date"), sp_days_from_civil(2023, 1, 1));
  assert_true(row_double(&rows.rows[3], "value") == -2.2);
  assert_string_equal(row_text(&rows.rows[0], "unit"), "percent");
  assert_string_equal(row_text(&rows.rows[0], "indicator"), "gdp_growth");
  assert_int_equal(parse_file("worldbank/error-120-invalid-value.json", "gdp_growth", "US", &page, &err), SP_ERR_HTTP);
  assert_string_equal(err.msg, "world bank error 120 (Invalid value): The provided parameter value is not valid");
  const char *bad[] = {"", "{}", "<html/>", "[{\"page\":1},{}]", "[{\"page\":1},[{\"indicator\":{\"id\":\"X\"},\"date\":\"20x1\",\"value\":1}]]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sp_worldbank_parse_indicator(bad[i], strlen(bad[i]), "x", NULL, &page, collect_parsed, &rows, &err),
                     SP_ERR_PARSE);
  /* meta with null data: no observations, no error */
  const char *none = "[{\"page\":1,\"pages\":0,\"per_page\":50,\"total\":0},null]";
  assert_int_equal(sp_worldbank_parse_indicator(none, strlen(none), "x", NULL, &page, collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 9);
}

static bool watermark(void *arg, const char *key, int64_t *value) {
  (void)arg;
  if (strcmp(key, "macroeconomic/worldbank/FP.CPI.TOTL.ZG") != 0) return false;
  *value = (int64_t)sp_days_from_civil(2021, 1, 1) * SP_US_PER_DAY;
  return true;
}

static void test_round(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v2/country/US/indicator/NY.GDP.MKTP.KD.ZG?format=json&per_page=1000&page=2", 200,
                 "worldbank/indicator-paged-page2.json", NULL);
  fake_route_add(&fake, "/v2/country/US/indicator/NY.GDP.MKTP.KD.ZG?", 200, "worldbank/indicator-paged-page1.json", NULL);
  fake_route_add(&fake, "/v2/country/US/indicator/FP.CPI.TOTL.ZG?", 200, "worldbank/indicator-FP.CPI.TOTL.ZG-US.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"worldbank"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_MACROECONOMIC), .providers = providers,
                           .nproviders = 1, .now_us = (int64_t)sp_days_from_civil(2024, 11, 25) * SP_US_PER_DAY,
                           .get_watermark = watermark, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 3);
  assert_string_equal(fake.paths[0], "/v2/country/US/indicator/NY.GDP.MKTP.KD.ZG?format=json&per_page=1000&page=1");
  assert_string_equal(fake.paths[1], "/v2/country/US/indicator/FP.CPI.TOTL.ZG?format=json&per_page=1000&date=2021:2024&page=1");
  /* GDP: 2 + 1 over two pages; CPI: 2022 and 2023 are newer than the 2021 watermark */
  assert_int_equal(rows.count, 5);
  assert_int_equal(report.providers[0].rows, 5);
  /* only the configured indicators */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v2/", 200, "worldbank/error-120-invalid-value.json", NULL);
  const char *only[] = {"gdp_growth", "interest_rate"};
  round.series = only;
  round.nseries = 2;
  sp_log_set_level(SP_LOG_OFF);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_HTTP);
  assert_int_equal(fake.npaths, 1);
  assert_non_null(strstr(report.providers[0].first_error.msg, "world bank error 120"));
  assert_non_null(strstr(report.providers[0].first_error.msg, "/v2/country/US/indicator/NY.GDP.MKTP.KD.ZG"));
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  const char *real = "real/worldbank/indicator-NY.GNP.PCAP.CD-US-1990-1997.json";
  static const char *const unchanged[] = {"real/worldbank/indicator-NY.GNP.PCAP.CD-US-1990-1997.json",
                                          "real/worldbank/trase-world_bank_gdp_indicators.json",
                                          "real/worldbank/trase-world_bank_land_area_indicators.json",
                                          "worldbank/indicator-NY.GDP.MKTP.KD.ZG-US.json",
                                          "worldbank/indicator-paged-page1.json"};
  for (size_t i = 0; i < sizeof unchanged / sizeof unchanged[0]; i++)
    shape_assert_unchanged(unchanged[i], &sp_worldbank_indicator_shape);
  sp_shape_report r;
  /* values as strings, the page count gone */
  const shape_edit edits[] = {{"[1][*].value", SHAPE_SET, "\"31270\""}, {"[0].pages", SHAPE_REMOVE, NULL}};
  shape_check_reshaped(real, edits, 2, &sp_worldbank_indicator_shape, &r);
  assert_string_equal(r.text, "missing field \"[0].pages\"; \"[1][*].value\" is string, expected number");
  assert_true(r.required_changed);
  const shape_edit renamed[] = {{"[1][*].date", SHAPE_RENAME, "year"}};
  shape_check_reshaped(real, renamed, 1, &sp_worldbank_indicator_shape, &r);
  assert_string_equal(r.text, "missing field \"[1][*].date\"");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test_teardown(test_real_captures, teardown_rows),
      cmocka_unit_test_teardown(test_mapping_nulls_and_errors, teardown_rows),
      cmocka_unit_test_teardown(test_round, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
