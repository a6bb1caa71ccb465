/*
 * test_source_shape.c — the response shape check itself (sources/shape.h) on small
 * bodies: what counts as missing (under [*] only when absent everywhere), null
 * accepted, type changes, `when` gates, IF_PRESENT fields, a wrong container type
 * reported once, the report text cut when too long, and new fields (members of a
 * record the table does not list).  The providers' tables are tested on their
 * captures here (no new field, no change) and in test_source_<provider>.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shape_test.h"
#include "sources/alphavantage.h"
#include "sources/finnhub.h"
#include "sources/fred.h"
#include "sources/newsapi.h"
#include "sources/shape.h"
#include "sources/treasury.h"
#include "sources/worldbank.h"
#include "sources/yahoo.h"

#include <stdio.h>
#include <string.h>

static const sp_shape_field fields[] = {
    {"a", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"b.c", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"list[*].x", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"opt", SP_SHAPE_BOOL, SP_SHAPE_IF_PRESENT, NULL},
    {"gated.y", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, "gated"},
};
static const sp_shape_spec spec = SP_SHAPE_SPEC("test", "endpoint", fields);

static void check(const char *body, sp_shape_report *r) { sp_shape_check_body(body, strlen(body), &spec, r); }

static void test_unchanged_shapes(void **state) {
  (void)state;
  sp_shape_report r;
  /* all there; a null value is "no value", not a change; the gated field is skipped */
  check("{\"a\":1,\"b\":{\"c\":\"s\"},\"list\":[{\"x\":1},{\"x\":null}],\"opt\":true}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_string_equal(r.provider, "test");
  assert_string_equal(r.endpoint, "endpoint");
  /* null parents stop the walk; x absent from one element only is not a renamed field;
   * an IF_PRESENT field may be absent; an empty gate skips its field */
  check("{\"a\":null,\"b\":null,\"list\":[{\"x\":1},{\"y\":2}],\"gated\":{}}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_string_equal(r.text, "");
  /* an empty list has nothing to check; a body that is not JSON is the parser's business */
  check("{\"a\":1,\"b\":{\"c\":\"s\"},\"list\":[]}", &r);
  assert_int_equal(r.nchanges, 0);
  check("<html>", &r);
  assert_int_equal(r.nchanges, 0);
}

static void test_changes(void **state) {
  (void)state;
  sp_shape_report r;
  check("{\"b\":{\"c\":1},\"list\":[{\"y\":1},{\"y\":2}],\"opt\":\"yes\",\"gated\":{\"z\":1}}", &r);
  assert_string_equal(r.text, "missing field \"a\"; \"b.c\" is number, expected string; missing field \"list[*].x\"; "
                              "\"opt\" is string, expected boolean; missing field \"gated.y\"");
  assert_int_equal(r.nchanges, 5);
  assert_true(r.required_changed);
  /* optional and IF_PRESENT changes only: rows can still be built */
  check("{\"a\":1,\"b\":{\"d\":\"s\"},\"list\":[{\"x\":\"1\"}],\"opt\":1}", &r);
  assert_string_equal(r.text, "missing field \"b.c\"; \"list[*].x\" is string, expected number; "
                              "\"opt\" is number, expected boolean");
  assert_true(r.required_changed); /* list[*].x is required */
  check("{\"a\":1,\"b\":{\"d\":\"s\"},\"list\":[],\"opt\":1}", &r);
  assert_int_equal(r.nchanges, 2);
  assert_false(r.required_changed);
  /* a parent of the wrong type is reported once, at the parent */
  check("{\"a\":1,\"b\":[1],\"list\":{\"x\":1}}", &r);
  assert_string_equal(r.text, "\"b\" is array, expected object; \"list\" is object, expected array");
  /* the body itself of another type: one change for every field walking through it */
  check("[1,2]", &r);
  assert_string_equal(r.text, "\"(body)\" is array, expected object");
  assert_int_equal(r.nchanges, 1);
  /* a renamed parent: reported as the parent, not each field below it */
  check("{\"a\":1,\"bee\":{\"c\":\"s\"},\"list\":[]}", &r);
  assert_string_equal(r.text, "missing field \"b\"");
}

static void test_long_report_cut(void **state) {
  (void)state;
  static sp_shape_field many[40];
  static char names[40][64];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "a_rather_long_field_name_number_%02d", i);
    many[i] = (sp_shape_field){names[i], SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, NULL};
  }
  const sp_shape_spec big = SP_SHAPE_SPEC("test", "many", many);
  sp_shape_report r;
  sp_shape_check_body("{}", 2, &big, &r);
  assert_int_equal(r.nchanges, 40);
  assert_true(strlen(r.text) < sizeof r.text);
  assert_string_equal(r.text + strlen(r.text) - 3, "\xe2\x80\xa6"); /* "…": cut, and says so */
  assert_non_null(strstr(r.text, "missing field \"a_rather_long_field_name_number_00\"; "));
}

/* New fields: members of a record the table does not list. */
static const sp_shape_field record_fields[] = {
    {"items", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"items[*].id", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"items[*].when", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"items[*].source.name", SP_SHAPE_STRING, SP_SHAPE_IF_PRESENT, NULL},
    {"items[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"items[*].image", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
static const sp_shape_spec record_spec = SP_SHAPE_SPEC("test", "records", record_fields);

static void check_records(const char *body, sp_shape_report *r) {
  sp_shape_check_body(body, strlen(body), &record_spec, r);
}

static void test_new_fields(void **state) {
  (void)state;
  sp_shape_report r;
  /* every member listed (a KNOWN one may be absent, of any type); members of a listed
   * member (source.id) and of objects that are no record (the body) are not checked */
  check_records("{\"total\":2,\"items\":[{\"id\":\"a\",\"when\":\"x\",\"source\":{\"id\":1,\"name\":\"n\"},"
                "\"image\":7},{\"id\":\"b\",\"when\":\"y\"}]}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_int_equal(r.nnew, 0);
  /* a new member, in every item: one new field, the rows still parseable */
  check_records("{\"items\":[{\"id\":\"a\",\"when\":\"x\",\"lang\":\"en\"},{\"id\":\"b\",\"when\":\"y\",\"lang\":\"fr\"}]}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_int_equal(r.nnew, 1);
  assert_string_equal(r.new_fields[0], "items[*].lang");
  assert_false(r.required_changed);
  /* a renamed member: one missing, one new */
  check_records("{\"items\":[{\"id\":\"a\",\"published\":\"x\"},{\"id\":\"b\",\"published\":\"y\"}]}", &r);
  assert_string_equal(r.text, "missing field \"items[*].when\"");
  assert_true(r.required_changed);
  assert_int_equal(r.nnew, 1);
  assert_string_equal(r.new_fields[0], "items[*].published");
  /* a record that is not an object is a type change, not new fields; null items are skipped */
  check_records("{\"items\":[null,[1],{\"id\":\"a\",\"when\":\"x\"}]}", &r);
  assert_string_equal(r.text, "\"items[*]\" is array, expected object");
  assert_int_equal(r.nnew, 0);
  /* at most SP_SHAPE_NEW_MAX are kept */
  check_records("{\"items\":[{\"id\":\"a\",\"when\":\"x\",\"n1\":1,\"n2\":1,\"n3\":1,\"n4\":1,\"n5\":1,"
                "\"n6\":1,\"n7\":1,\"n8\":1,\"n9\":1}]}", &r);
  assert_int_equal(r.nnew, SP_SHAPE_NEW_MAX);
  assert_string_equal(r.new_fields[SP_SHAPE_NEW_MAX - 1], "items[*].n8");
  /* the body itself as the record ("" path) */
  static const sp_shape_field flat_fields[] = {{"", SP_SHAPE_RECORD, SP_SHAPE_REQUIRED, NULL},
                                               {"a", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL}};
  static const sp_shape_spec flat = SP_SHAPE_SPEC("test", "flat", flat_fields);
  sp_shape_check_body("{\"a\":1,\"b\":2}", 13, &flat, &r);
  assert_int_equal(r.nchanges, 0);
  assert_int_equal(r.nnew, 1);
  assert_string_equal(r.new_fields[0], "b");
}

/* Every real capture (and every documented-shape fixture the fake API serves) checked
 * by its endpoint's table: nothing missing, no other type, and NO new field. */
static void test_captures_report_nothing(void **state) {
  (void)state;
  static const struct {
    const char *fixture;
    const sp_shape_spec *spec;
  } cases[] = {
      {"real/yahoo/chart-AAPL-1d-2020-01-02.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-AAPL-1m-weekend-empty-2025-02-01.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-AAPL-1m-intraday-2024-10-02.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-TSLA-30m-prepost-2021-11-22.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-OCDO.L-1d-london-gbp-pence.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-WSU.DE-1d-berlin-2023-08-04-to-2023-08-08.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-BTC-USD-1d-crypto-utc.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-VXAPL-1d-empty-index.json", &sp_yahoo_quote_shape},
      {"real/yahoo/chart-AAPL-1m-intraday-2024-10-02.json", &sp_yahoo_chart_shape},
      {"yahoo/chart-AMZN.json", &sp_yahoo_quote_shape},
      {"yahoo/chart-AMZN.json", &sp_yahoo_chart_shape},
      {"real/newsapi/everything-2020-08-09.json", &sp_newsapi_everything_shape},
      {"newsapi/everything-nvidia.json", &sp_newsapi_everything_shape},
      {"real/fred/series_observations-GNPCA-limit20.json", &sp_fred_observations_shape},
      {"fred/series_observations-CPIAUCSL.json", &sp_fred_observations_shape},
      {"fred/releases_dates.json", &sp_fred_release_dates_shape},
      {"real/worldbank/indicator-NY.GNP.PCAP.CD-US-1990-1997.json", &sp_worldbank_indicator_shape},
      {"real/worldbank/trase-world_bank_gdp_indicators.json", &sp_worldbank_indicator_shape},
      {"worldbank/indicator-FP.CPI.TOTL.ZG-US.json", &sp_worldbank_indicator_shape},
      {"real/alphavantage/overview-IBM.json", &sp_alphavantage_overview_shape},
      {"alphavantage/news_sentiment.json", &sp_alphavantage_news_shape},
      {"alphavantage/treasury_yield.json", &sp_alphavantage_treasury_shape},
      {"finnhub/company-news.json", &sp_finnhub_news_shape},
      {"finnhub/metric.json", &sp_finnhub_metric_shape},
      {"treasury/debt_to_penny.json", &sp_treasury_debt_shape},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) shape_assert_unchanged(cases[i].fixture, cases[i].spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unchanged_shapes),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_long_report_cut),
      cmocka_unit_test(test_new_fields),
      cmocka_unit_test(test_captures_report_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
