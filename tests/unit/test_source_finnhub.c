/*
 * test_source_finnhub.c — Finnhub parsers (company-news, quote, stock/metric and the
 * {"error"} bodies; documented-shape fixtures in tests/fixtures/finnhub/) and rounds
 * through a fake transport: the rolling news window from the watermark, symbols in
 * Finnhub's spelling, fundamentals merged into quotes.
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
#include "sources/finnhub.h"

#include <string.h>

static void test_parsers(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  sp_error err;
  read_fixture("finnhub/company-news.json", &body);
  article_log log = {0};
  assert_int_equal(sp_finnhub_parse_company_news((const char *)body.data, body.len, log_article, &log, &err), 0);
  assert_int_equal(log.count, 3);
  assert_string_equal(log.tickers[0], "AAPL ");
  assert_string_equal(log.tickers[2], "AAPL MSFT ");
  assert_int_equal(log.published[0], INT64_C(1732285800) * SP_US_PER_SEC);
  assert_true(log.summary_null[1]);
  sp_buf_free(&body);

  read_fixture("finnhub/quote.json", &body);
  assert_int_equal(sp_finnhub_parse_quote((const char *)body.data, body.len, "AAPL", collect_parsed, &rows, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(rows.count, 1);
  assert_true(row_double(&rows.rows[0], "price") == 229.87);
  assert_true(row_double(&rows.rows[0], "previous_close") == 228.52);
  assert_int_equal(row_int64(&rows.rows[0], "quote_time"), INT64_C(1732309200) * SP_US_PER_SEC);
  read_fixture("finnhub/quote-unknown.json", &body);
  assert_int_equal(sp_finnhub_parse_quote((const char *)body.data, body.len, "ZZZZ", collect_parsed, &rows, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(rows.count, 1);

  read_fixture("finnhub/metric.json", &body);
  assert_int_equal(sp_finnhub_parse_metric((const char *)body.data, body.len, "AAPL", collect_parsed, &rows, &err), 0);
  sp_buf_free(&body);
  const sp_row *m = &rows.rows[1];
  assert_int_equal(row_int64(m, "market_cap"), INT64_C(3474578500000)); /* millions → USD */
  assert_true(row_double(m, "pe_ratio") == 37.8262);
  assert_true(row_double(m, "eps") == 6.0771);
  assert_true(fabs(row_double(m, "dividend_yield") - 0.004349) < 1e-12); /* percent → fraction */
  assert_true(row_double(m, "week52_high") == 237.49);
  read_fixture("finnhub/metric-empty.json", &body);
  assert_int_equal(sp_finnhub_parse_metric((const char *)body.data, body.len, "ZZZZ", collect_parsed, &rows, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(rows.count, 2);

  read_fixture("finnhub/error-invalid-key.json", &body);
  assert_int_equal(sp_finnhub_parse_company_news((const char *)body.data, body.len, log_article, &log, &err), SP_ERR_HTTP);
  assert_non_null(strstr(err.msg, "Invalid API key"));
  assert_int_equal(sp_finnhub_parse_metric((const char *)body.data, body.len, "X", collect_parsed, &rows, &err), SP_ERR_HTTP);
  sp_buf_free(&body);
  const char *bad[] = {"", "{}", "<html>", "[{]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(sp_finnhub_parse_company_news(bad[i], strlen(bad[i]), log_article, &log, &err), SP_ERR_PARSE);
    assert_int_equal(sp_finnhub_parse_metric(bad[i], strlen(bad[i]), "X", collect_parsed, &rows, &err), SP_ERR_PARSE);
  }
}

static const char *credential(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "finnhub_api_key") == 0 ? "fh-test-key" : NULL;
}

static bool watermark(void *arg, const char *key, int64_t *value) {
  (void)arg;
  if (strcmp(key, "news/finnhub/AAPL") != 0) return false;
  *value = INT64_C(1732280400) * SP_US_PER_SEC; /* the second story */
  return true;
}

static void test_round_news(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/api/v1/company-news?symbol=AAPL&", 200, "finnhub/company-news.json", NULL);
  fake_route_add(&fake, "/api/v1/company-news?symbol=BRK.B&", 401, "finnhub/error-invalid-key.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"finnhub"};
  const char *tickers[] = {"AAPL", "BRK-B", "MSFT"};
  const sp_source_company companies[] = {{"AAPL", "Apple Inc."}, {"MSFT", "Microsoft"}, {"BRK-B", "Berkshire Hathaway"}};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = providers, .nproviders = 1,
                           .tickers = tickers, .ntickers = 2, .companies = companies, .ncompanies = 3,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential,
                           .get_watermark = watermark, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  sp_log_set_level(SP_LOG_OFF);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_HTTP);
  /* the window starts at the watermark's date, ends today */
  assert_string_equal(fake.paths[0], "/api/v1/company-news?symbol=AAPL&from=2024-11-22&to=2024-11-22&token=fh-test-key");
  /* no watermark: 7 days back; Finnhub spells BRK.B */
  assert_string_equal(fake.paths[1], "/api/v1/company-news?symbol=BRK.B&from=2024-11-15&to=2024-11-22&token=fh-test-key");
  assert_non_null(strstr(report.providers[0].first_error.msg, "Invalid API key"));
  assert_null(strstr(report.providers[0].first_error.msg, "fh-test-key"));
  /* AAPL: only the first story is newer than its watermark; that story names
   * Microsoft, so it is also an MSFT row; the third story is related to MSFT, which has
   * no watermark yet */
  assert_int_equal(rows.count, 3);
  assert_string_equal(row_text(&rows.rows[0], "ticker"), "AAPL");
  assert_string_equal(row_text(&rows.rows[1], "ticker"), "MSFT");
  assert_string_equal(row_text(&rows.rows[0], "article_id"), row_text(&rows.rows[1], "article_id"));
  assert_string_equal(row_text(&rows.rows[2], "ticker"), "MSFT");
  assert_string_equal(row_text(&rows.rows[2], "url"), "https://example.org/older-story");
  assert_string_equal(row_text(&rows.rows[0], "publisher"), "Example News");
  assert_true(row_is_null(&rows.rows[0], "provider_sentiment"));
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  /* no real capture exists (see real/PROVENANCE.md): the documented shapes */
  shape_assert_unchanged("finnhub/company-news.json", &sp_finnhub_news_shape);
  shape_assert_unchanged("finnhub/metric.json", &sp_finnhub_metric_shape);
  shape_assert_unchanged("finnhub/metric-empty.json", &sp_finnhub_metric_shape);
  sp_shape_report r;
  const shape_edit news[] = {{"[*].headline", SHAPE_RENAME, "title"}, {"[*].datetime", SHAPE_SET, "\"2024-11-25\""}};
  shape_check_reshaped("finnhub/company-news.json", news, 2, &sp_finnhub_news_shape, &r);
  assert_string_equal(r.text, "missing field \"[*].headline\"; \"[*].datetime\" is string, expected number");
  assert_true(r.required_changed);
  const char *wrapped = "{\"data\":[]}"; /* the list moved into an object */
  sp_shape_check_body(wrapped, strlen(wrapped), &sp_finnhub_news_shape, &r);
  assert_string_equal(r.text, "\"(body)\" is object, expected array");
  const shape_edit metric[] = {{"metric.52WeekHigh", SHAPE_REMOVE, NULL}, {"metric.marketCapitalization", SHAPE_SET, "\"3.4T\""}};
  shape_check_reshaped("finnhub/metric.json", metric, 2, &sp_finnhub_metric_shape, &r);
  assert_string_equal(r.text, "\"metric.marketCapitalization\" is string, expected number; missing field \"metric.52WeekHigh\"");
  assert_false(r.required_changed); /* fundamentals stay null */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test_teardown(test_parsers, teardown_rows),
      cmocka_unit_test_teardown(test_round_news, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
