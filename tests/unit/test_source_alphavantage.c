/*
 * test_source_alphavantage.c — Alpha Vantage parsers on the real OVERVIEW and
 * GLOBAL_QUOTE captures and the documented-shape fixtures (NEWS_SENTIMENT,
 * TREASURY_YIELD, the HTTP-200 error bodies and how classify maps them), and rounds
 * through a fake transport (fundamentals merged into Yahoo quotes, first provider
 * wins, refreshed at most daily).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/market_calendar.h"
#include "core/timeutil.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/alphavantage.h"

#include <string.h>

static void load(const char *file, sp_buf *body) {
  sp_buf_reset(body);
  read_fixture(file, body);
}

static void test_overview_real(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  sp_error err;
  load("real/alphavantage/overview-IBM.json", &body);
  assert_int_equal(sp_alphavantage_parse_overview((const char *)body.data, body.len, "IBM", collect_parsed,
                                                  &rows, &err), 0);
  assert_int_equal(rows.count, 1);
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "ticker"), "IBM");
  assert_int_equal(row_int64(r, "market_cap"), 114234572800);
  assert_true(row_double(r, "pe_ratio") == 14.1327);
  assert_true(row_double(r, "eps") == 8.811);
  assert_true(row_double(r, "dividend_yield") == 0.0529); /* a fraction already */
  assert_true(row_double(r, "week52_high") == 158.75);
  assert_true(row_double(r, "week52_low") == 90.56);
  assert_true(row_is_null(r, "price"));
  /* {} for an unknown symbol: nothing, no error */
  assert_int_equal(sp_alphavantage_parse_overview("{}", 2, "ZZZZ", collect_parsed, &rows, &err), 0);
  const char *none = "{\"Symbol\":\"X\",\"PERatio\":\"None\",\"EPS\":\"-\",\"MarketCapitalization\":\"0\"}";
  assert_int_equal(sp_alphavantage_parse_overview(none, strlen(none), "X", collect_parsed, &rows, &err), 0);
  assert_true(row_is_null(&rows.rows[1], "pe_ratio"));
  assert_true(row_is_null(&rows.rows[1], "eps"));
  assert_int_equal(rows.count, 2);

  load("real/alphavantage/global_quote-MSFT.json", &body);
  assert_int_equal(sp_alphavantage_parse_global_quote((const char *)body.data, body.len, collect_parsed, &rows, &err), 0);
  r = &rows.rows[2];
  assert_string_equal(row_text(r, "ticker"), "MSFT");
  assert_true(row_double(r, "price") == 112.13);
  assert_true(row_double(r, "open") == 112.63);
  assert_true(row_double(r, "previous_close") == 112.79);
  assert_int_equal(row_int64(r, "volume"), 29062853);
  int32_t day;
  sp_parse_date("2018-10-05", &day);
  assert_int_equal(row_int64(r, "quote_time"), sp_nyse_session_close_utc(day)); /* 20:00 UTC */
  const char *empty = "{\"Global Quote\":{}}";
  assert_int_equal(sp_alphavantage_parse_global_quote(empty, strlen(empty), collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 3);
  sp_buf_free(&body);
}

static void test_error_bodies(void **state) {
  (void)state;
  struct {
    const char *file;
    int classify;
    const char *says;
  } cases[] = {{"alphavantage/error-note-rate-limit.json", SP_ERR_RATE_LIMIT, "5 calls per minute"},
               {"alphavantage/error-information-daily-limit.json", SP_ERR_QUOTA, "25 requests per day"},
               {"alphavantage/error-information-premium.json", SP_ERR_HTTP, "premium endpoint"},
               {"alphavantage/error-message-invalid-call.json", SP_ERR_HTTP, "Invalid API call"}};
  sp_http_response resp = {.status = 200};
  sp_error err;
  char said[512];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    load(cases[i].file, &resp.body);
    assert_int_equal(sp_alphavantage_classify(&resp, NULL), cases[i].classify);
    assert_true(sp_alphavantage_explain_error((const char *)resp.body.data, resp.body.len, said, sizeof said));
    assert_non_null(strstr(said, cases[i].says));
    assert_int_equal(sp_alphavantage_parse_overview((const char *)resp.body.data, resp.body.len, "IBM",
                                                    collect_parsed, &rows, &err), cases[i].classify);
    assert_non_null(strstr(err.msg, cases[i].says));
  }
  /* real data bodies are accepted */
  load("real/alphavantage/overview-IBM.json", &resp.body);
  assert_int_equal(sp_alphavantage_classify(&resp, NULL), SP_OK);
  load("real/alphavantage/time_series_intraday-1min-MSFT.json", &resp.body);
  assert_int_equal(sp_alphavantage_classify(&resp, NULL), SP_OK);
  assert_false(sp_alphavantage_explain_error("{\"a\":1}", 7, said, sizeof said));
  sp_buf_free(&resp.body);
  const char *bad[] = {"", "<html>", "[1]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(sp_alphavantage_parse_overview(bad[i], strlen(bad[i]), "X", collect_parsed, &rows, &err), SP_ERR_PARSE);
    assert_int_equal(sp_alphavantage_parse_global_quote(bad[i], strlen(bad[i]), collect_parsed, &rows, &err), SP_ERR_PARSE);
    assert_int_equal(sp_alphavantage_parse_treasury_yield(bad[i], strlen(bad[i]), "10year", collect_parsed, &rows, &err),
                     SP_ERR_PARSE);
  }
  assert_int_equal(rows.count, 0);
}

static void test_news_and_treasury(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  sp_error err;
  load("alphavantage/news_sentiment.json", &body);
  article_log log = {0};
  assert_int_equal(sp_alphavantage_parse_news_sentiment((const char *)body.data, body.len, log_article, &log, &err), 0);
  assert_int_equal(log.count, 3);
  assert_string_equal(log.tickers[0], "AAPL MSFT ");
  assert_true(log.first_sentiment[0] == 0.312);
  assert_string_equal(log.tickers[1], "NVDA "); /* FOREX:USD dropped */
  assert_true(log.summary_null[1]);             /* "" summary */
  assert_string_equal(log.tickers[2], "");      /* CRYPTO:BTC dropped */

  load("alphavantage/treasury_yield.json", &body);
  assert_int_equal(sp_alphavantage_parse_treasury_yield((const char *)body.data, body.len, "10year",
                                                        collect_parsed, &rows, &err), 0);
  assert_int_equal(rows.count, 4);
  assert_string_equal(row_text(&rows.rows[0], "series_id"), "TREASURY_YIELD:10year");
  assert_string_equal(row_text(&rows.rows[0], "indicator"), "interest_rate");
  assert_string_equal(row_text(&rows.rows[0], "frequency"), "d");
  assert_true(row_double(&rows.rows[0], "value") == 4.41);
  assert_true(row_is_null(&rows.rows[2], "value"));
  sp_buf_free(&body);
}

/* ---- rounds ------------------------------------------------------------------------------- */

static const char *credential(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "alpha_vantage_key") == 0 ? "av-test-key" : NULL;
}

static void test_round_fundamentals(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/IBM?", 200, "real/yahoo/chart-AAPL-1d-2020-01-02.json", NULL);
  fake_route_add(&fake, "/query?function=OVERVIEW&symbol=IBM&", 200, "real/alphavantage/overview-IBM.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"yahoo", "alphavantage"};
  const char *tickers[] = {"IBM"};
  sp_source_cache *cache;
  assert_int_equal(sp_source_cache_new(&cache), 0);
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_FINANCIAL_DATA), .providers = providers, .nproviders = 2,
                           .tickers = tickers, .ntickers = 1, .now_us = INT64_C(1740000000) * SP_US_PER_SEC,
                           .credential = credential, .emit = collect_emitted, .cache = cache};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(rows.count, 1);
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "provider"), "yahoo");
  assert_true(row_double(r, "price") == 244.87);               /* Yahoo's quote */
  assert_int_equal(row_int64(r, "market_cap"), 114234572800); /* Alpha Vantage's fundamentals */
  assert_true(row_double(r, "dividend_yield") == 0.0529);
  assert_true(row_double(r, "week52_high") == 260.1); /* Yahoo is listed first and has it */
  assert_int_equal(report.providers[0].rows, 1);
  assert_int_equal(report.providers[1].rows, 0);
  assert_string_equal(fake.paths[1], "/query?function=OVERVIEW&symbol=IBM&apikey=av-test-key");

  /* an hour later: fundamentals are fresh, no new request, still merged */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/IBM?", 200, "real/yahoo/chart-AAPL-1d-2020-01-02.json", NULL);
  round.now_us += 3600 * SP_US_PER_SEC;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 1);
  assert_int_equal(row_int64(&rows.rows[0], "market_cap"), 114234572800);

  /* a day later with the rate-limit note: the quote is still stored, the failure named */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/IBM?", 200, "real/yahoo/chart-AAPL-1d-2020-01-02.json", NULL);
  fake_route_add(&fake, "/query?", 200, "alphavantage/error-note-rate-limit.json", NULL);
  round.now_us += 2 * 86400 * SP_US_PER_SEC;
  sp_log_set_level(SP_LOG_OFF);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_RATE_LIMIT);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(report.providers[1].status, SP_SOURCE_FAILED);
  assert_non_null(strstr(report.providers[1].first_error.msg, "5 calls per minute"));
  assert_int_equal(rows.count, 1);
  assert_int_equal(row_int64(&rows.rows[0], "market_cap"), 114234572800); /* cached (< 7 days) */
  sp_source_cache_free(cache);
}

static void test_round_news_and_macro(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/query?function=NEWS_SENTIMENT", 200, "alphavantage/news_sentiment.json", NULL);
  fake_route_add(&fake, "/query?function=TREASURY_YIELD", 200, "alphavantage/treasury_yield.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"alphavantage"};
  const char *tickers[] = {"AAPL", "MSFT", "NVDA", "GOOGL"};
  const sp_source_company companies[] = {{"AAPL", "Apple Inc."}, {"MSFT", "Microsoft"}, {"NVDA", "Nvidia"},
                                         {"GOOGL", "Alphabet Inc. (Class A)"}};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = providers, .nproviders = 1,
                           .tickers = tickers, .ntickers = 4, .companies = companies, .ncompanies = 4,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_string_equal(fake.paths[0], "/query?function=NEWS_SENTIMENT&time_from=20241119T0000&limit=1000"
                                     "&sort=LATEST&apikey=av-test-key");
  assert_int_equal(rows.count, 3); /* AAPL, MSFT, NVDA; the crypto story has no ticker */
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "ticker"), "AAPL");
  assert_true(row_double(r, "provider_sentiment") == 0.312);
  assert_string_equal(row_text(r, "provider"), "alphavantage");
  assert_int_equal(row_int64(r, "published_at"), INT64_C(1732285800) * SP_US_PER_SEC);
  char id[SP_SHA256_HEX_LEN + 1];
  sp_news_article_id("https://www.example-news.com/markets/tech-rally", id);
  assert_string_equal(row_text(r, "article_id"), id);
  assert_false(row_is_null(r, "sentiment_score"));
  const char *label = row_text(r, "sentiment_label");
  assert_true(strcmp(label, "positive") == 0 || strcmp(label, "neutral") == 0 || strcmp(label, "negative") == 0);
  assert_string_equal(row_text(&rows.rows[2], "sentiment_label"), "negative"); /* "guidance cut weighs" */

  collected_rows_free(&rows);
  round.ds = sp_dataset_get(SP_DS_MACROECONOMIC);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(rows.count, 4);
  const char *only[] = {"gdp_growth"};
  round.series = only;
  round.nseries = 1;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].requests, 0);
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  shape_assert_unchanged("real/alphavantage/overview-IBM.json", &sp_alphavantage_overview_shape);
  shape_assert_unchanged("alphavantage/news_sentiment.json", &sp_alphavantage_news_shape);
  shape_assert_unchanged("alphavantage/treasury_yield.json", &sp_alphavantage_treasury_shape);
  sp_shape_report r;
  /* OVERVIEW (real capture): a figure renamed, another now a JSON number; both fill
   * nullable columns, so the row is still stored */
  const shape_edit overview[] = {{"PERatio", SHAPE_RENAME, "PE"}, {"MarketCapitalization", SHAPE_SET, "123"}};
  shape_check_reshaped("real/alphavantage/overview-IBM.json", overview, 2, &sp_alphavantage_overview_shape, &r);
  assert_string_equal(r.text, "\"MarketCapitalization\" is number, expected string; missing field \"PERatio\"");
  assert_false(r.required_changed);
  sp_shape_check_body("{}", 2, &sp_alphavantage_overview_shape, &r); /* unknown symbol */
  assert_int_equal(r.nchanges, 0);
  /* NEWS_SENTIMENT: url renamed in every item, the time now a number */
  const shape_edit news[] = {{"feed[*].url", SHAPE_RENAME, "link"}, {"feed[*].time_published", SHAPE_SET, "20241125"}};
  shape_check_reshaped("alphavantage/news_sentiment.json", news, 2, &sp_alphavantage_news_shape, &r);
  shape_assert_reports(&r, "missing field \"feed[*].url\"");
  shape_assert_reports(&r, "\"feed[*].time_published\" is number, expected string");
  assert_int_equal(r.nchanges, 2);
  assert_true(r.required_changed);
  /* TREASURY_YIELD: the values gone */
  const shape_edit yield[] = {{"data[*].value", SHAPE_REMOVE, NULL}};
  shape_check_reshaped("alphavantage/treasury_yield.json", yield, 1, &sp_alphavantage_treasury_shape, &r);
  assert_string_equal(r.text, "missing field \"data[*].value\"");
  assert_true(r.required_changed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test_teardown(test_overview_real, teardown_rows),
      cmocka_unit_test_teardown(test_error_bodies, teardown_rows),
      cmocka_unit_test_teardown(test_news_and_treasury, teardown_rows),
      cmocka_unit_test_teardown(test_round_fundamentals, teardown_rows),
      cmocka_unit_test_teardown(test_round_news_and_macro, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
