/*
 * test_source_yahoo.c — the Yahoo chart v8 parsers on the real captures in
 * tests/fixtures/real/yahoo/ (see PROVENANCE.md) and on Yahoo's documented error
 * shapes, then whole collection rounds through a fake transport: request paths,
 * watermarks, per-ticker failures that leave the other tickers' rows in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/metrics.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/yahoo.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define S(x) ((int64_t)(x) * SP_US_PER_SEC)
#define FAR_FUTURE S(2000000000)
#define Y "real/yahoo/"

static int parse_bars_file(const char *file, const char *ticker, const char *interval,
                           int64_t start, int64_t end, int64_t now, sp_error *err) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(file, &body);
  int rc = sp_yahoo_parse_bars((const char *)body.data, body.len, ticker, interval, start, end,
                               now, collect_parsed, collect_bad, &rows, err);
  sp_buf_free(&body);
  return rc;
}

static int parse_quote_file(const char *file, const char *ticker, sp_error *err) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(file, &body);
  int rc = sp_yahoo_parse_quote((const char *)body.data, body.len, ticker, collect_parsed, &rows,
                                err);
  sp_buf_free(&body);
  return rc;
}

/* How many collected rows the parser marked with `flag` (NULL: rows not marked). */
static int marked(const char *flag) {
  int n = 0;
  for (int i = 0; i < rows.count; i++) {
    const char *q = row_text(&rows.rows[i], "quality_flags");
    n += flag ? (q && strcmp(q, flag) == 0) : q == NULL;
  }
  return n;
}

static void test_quote_from_meta(void **state) {
  (void)state;
  sp_error err;
  assert_int_equal(parse_quote_file(Y "chart-AAPL-1d-2020-01-02.json", "AAPL", &err), 0);
  assert_int_equal(rows.count, 1);
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "ticker"), "AAPL");
  assert_int_equal(row_int64(r, "quote_time"), S(1739998801));
  assert_true(row_double(r, "price") == 244.87);
  assert_true(row_double(r, "high") == 246.01);
  assert_true(row_double(r, "low") == 243.16);
  assert_int_equal(row_int64(r, "volume"), 32129951);
  assert_true(row_double(r, "previous_close") == 73.412); /* chartPreviousClose */
  assert_true(row_double(r, "week52_high") == 260.1);
  assert_true(row_double(r, "week52_low") == 164.08);
  assert_string_equal(row_text(r, "currency"), "USD");
  assert_string_equal(row_text(r, "exchange"), "NMS");
  /* the only bar is from 2020, not the quote's session: no open */
  assert_true(row_is_null(r, "open"));
  /* fundamentals are not Yahoo's */
  assert_true(row_is_null(r, "market_cap"));
  assert_true(row_is_null(r, "pe_ratio"));
}

static void test_quote_previous_close_and_pence(void **state) {
  (void)state;
  sp_error err;
  /* previousClose (prior session) wins over chartPreviousClose */
  assert_int_equal(parse_quote_file(Y "chart-AAPL-1m-weekend-empty-2025-02-01.json", "AAPL", &err), 0);
  assert_true(row_double(&rows.rows[0], "previous_close") == 244.47);
  /* London: prices in pence, currency kept as Yahoo spells it */
  assert_int_equal(parse_quote_file(Y "chart-OCDO.L-1d-london-gbp-pence.json", "OCDO.L", &err), 0);
  assert_string_equal(row_text(&rows.rows[1], "currency"), "GBp");
  assert_string_equal(row_text(&rows.rows[1], "exchange"), "LSE");
  assert_true(row_double(&rows.rows[1], "price") == 305.3);
  /* the intraday capture: the session's first bar gives the open */
  assert_int_equal(parse_quote_file(Y "chart-AAPL-1m-intraday-2024-10-02.json", "AAPL", &err), 0);
  assert_int_equal(rows.count, 3);
  assert_false(row_is_null(&rows.rows[2], "open"));
}

static void test_quote_open_from_session_bar(void **state) {
  (void)state;
  const char *body =
      "{\"chart\":{\"result\":[{\"meta\":{\"currency\":\"USD\",\"exchangeName\":\"NMS\","
      "\"regularMarketTime\":1732568400,\"regularMarketPrice\":235.06,\"previousClose\":232.87},"
      "\"timestamp\":[1732545000],\"indicators\":{\"quote\":[{\"open\":[233.33],\"high\":[235.57],"
      "\"low\":[233.33],\"close\":[235.06],\"volume\":[45986200]}]}}],\"error\":null}}";
  sp_error err;
  assert_int_equal(sp_yahoo_parse_quote(body, strlen(body), "AAPL", collect_parsed, &rows, &err), 0);
  const sp_row *r = &rows.rows[0];
  assert_true(row_double(r, "open") == 233.33);
  /* meta lacks day high/low/volume: the session bar's are used */
  assert_true(row_double(r, "high") == 235.57);
  assert_true(row_double(r, "low") == 233.33);
  assert_int_equal(row_int64(r, "volume"), 45986200);
  assert_true(row_is_null(r, "week52_high"));
}

static void test_bars_daily_with_adjclose(void **state) {
  (void)state;
  sp_error err;
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1d-2020-01-02.json", "AAPL", "1d", S(1577836800),
                                   S(1578009600), FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 1);
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "interval"), "1d");
  assert_int_equal(row_int64(r, "bar_time"), S(1577975400)); /* 09:30 New York */
  assert_true(row_double(r, "open") == 74.05999755859375);
  assert_true(row_double(r, "close") == 75.0875015258789);
  assert_true(row_double(r, "adj_close") == 72.71607208251953);
  assert_int_equal(row_int64(r, "volume"), 135480400);
  assert_true(row_is_null(r, "sma_20"));
}

static void test_bars_split_dividend_window(void **state) {
  (void)state;
  sp_error err;
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json",
                                   "AAPL", "1d", S(1598832000), S(1604707200), FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 49);
  assert_int_equal(row_int64(&rows.rows[0], "bar_time"), S(1598880600));
  assert_true(row_double(&rows.rows[0], "adj_close") == 125.82673645019531);
  assert_int_equal(row_int64(&rows.rows[48], "bar_time"), S(1604673000));
  assert_int_equal(marked(NULL), 49);
  /* a bar before the window start is marked for the quarantine, not dropped */
  collected_rows_free(&rows);
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json",
                                   "AAPL", "1d", S(1598967000), 0, FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 49);
  assert_int_equal(marked(NULL), 48);
  assert_int_equal(marked("bar_outside_window"), 1);
  assert_int_equal(row_int64(&rows.rows[0], "bar_time"), S(1598880600));
  assert_string_equal(row_text(&rows.rows[0], "quality_flags"), "bar_outside_window");
}

static void test_bars_intraday_nulls_and_snapshot(void **state) {
  (void)state;
  sp_error err;
  /* 391 bars: bar 105 is all null, the last lies outside the window: all 391 are
   * emitted, those two marked for the quarantine (never a silent drop) */
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1m-intraday-2024-10-02.json", "AAPL", "1m",
                                   S(1727827200), S(1727913600), FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 391);
  assert_int_equal(marked(NULL), 389);
  const sp_row *null_bar = &rows.rows[105], *outside = &rows.rows[390];
  assert_int_equal(row_int64(null_bar, "bar_time"), S(1727882100));
  assert_string_equal(row_text(null_bar, "quality_flags"), "bar_null");
  assert_true(row_is_null(null_bar, "open") && row_is_null(null_bar, "close") && row_is_null(null_bar, "volume"));
  assert_int_equal(row_int64(outside, "bar_time"), S(1727985600));
  assert_string_equal(row_text(outside, "quality_flags"), "bar_outside_window");
  assert_true(row_double(outside, "close") == 225.6699981689453);
  assert_true(row_is_null(&rows.rows[0], "adj_close")); /* intraday: no adj_close */
  /* without a window end, the trailing bar is Yahoo's snapshot pseudo-bar: not a bar */
  collected_rows_free(&rows);
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1m-intraday-2024-10-02.json", "AAPL", "1m",
                                   S(1727827200), 0, FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 390);
  assert_int_equal(marked(NULL), 389);
  assert_int_equal(marked("bar_null"), 1);
}

static void test_bars_empty_windows(void **state) {
  (void)state;
  sp_error err;
  assert_int_equal(parse_bars_file(Y "chart-AAPL-1m-weekend-empty-2025-02-01.json", "AAPL", "1m", 0,
                                   0, FAR_FUTURE, &err), 0);
  assert_int_equal(parse_bars_file(Y "chart-VXAPL-1d-empty-index.json", "^VXAPL", "1d", 0, 0,
                                   FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 0);
}

static void test_bars_other_markets(void **state) {
  (void)state;
  sp_error err;
  /* crypto: bar at period2 itself; the window end is exclusive, so 2 of 3 (the third
   * marked for the quarantine) */
  assert_int_equal(parse_bars_file(Y "chart-BTC-USD-1d-crypto-utc.json", "BTC-USD", "1d",
                                   S(1577836800), S(1578009600), FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 3);
  assert_int_equal(marked(NULL), 2);
  assert_string_equal(row_text(&rows.rows[2], "quality_flags"), "bar_outside_window");
  collected_rows_free(&rows);
  assert_int_equal(parse_bars_file(Y "chart-BTC-USD-1d-crypto-utc.json", "BTC-USD", "1d", 0, 0,
                                   FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 3);
  collected_rows_free(&rows);
  assert_int_equal(parse_bars_file(Y "chart-OCDO.L-1d-london-gbp-pence.json", "OCDO.L", "1d", 0, 0,
                                   FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 1);
  assert_int_equal(row_int64(&rows.rows[0], "bar_time"), S(1577952000));
  assert_true(row_double(&rows.rows[0], "close") == 1259.5);
  collected_rows_free(&rows);
  assert_int_equal(parse_bars_file(Y "chart-WSU.DE-1d-berlin-2023-08-04-to-2023-08-08.json", "WSU.DE",
                                   "1d", 0, 0, FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 3);
  collected_rows_free(&rows);
  /* 30-minute pre/post-market bars: volume 0 kept as 0 */
  assert_int_equal(parse_bars_file(Y "chart-TSLA-30m-prepost-2021-11-22.json", "TSLA", "30m",
                                   S(1637539200), S(1637625600), FAR_FUTURE, &err), 0);
  assert_int_equal(rows.count, 30);
  assert_int_equal(row_int64(&rows.rows[0], "bar_time"), S(1637571600));
  assert_int_equal(row_int64(&rows.rows[0], "volume"), 0);
}

static void test_bars_incomplete_not_stored(void **state) {
  (void)state;
  /* session 14:30-21:00 UTC; hourly bars at 14:30, 15:30, 20:30 */
  const char *body =
      "{\"chart\":{\"result\":[{\"meta\":{\"regularMarketTime\":1732561200,\"regularMarketPrice\":3,"
      "\"currentTradingPeriod\":{\"regular\":{\"start\":1732545000,\"end\":1732568400}}},"
      "\"timestamp\":[1732545000,1732548600,1732566600],\"indicators\":{\"quote\":[{"
      "\"open\":[1,2,3],\"high\":[1,2,3],\"low\":[1,2,3],\"close\":[1,2,3],\"volume\":[10,null,30]}]}}],"
      "\"error\":null}}";
  sp_error err;
  /* at 15:45 only the 14:30 bar is complete */
  assert_int_equal(sp_yahoo_parse_bars(body, strlen(body), "X", "1h", 0, 0, S(1732549500),
                                       collect_parsed, collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 1);
  collected_rows_free(&rows);
  /* at 21:00 the 20:30 bar ends at the close, so all three; null volume stored as 0 */
  assert_int_equal(sp_yahoo_parse_bars(body, strlen(body), "X", "1h", 0, 0, S(1732568400),
                                       collect_parsed, collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 3);
  assert_int_equal(row_int64(&rows.rows[1], "volume"), 0);
  collected_rows_free(&rows);
  /* the daily bar of the running session waits for the close */
  assert_int_equal(sp_yahoo_parse_bars(body, strlen(body), "X", "1d", S(1732545000), 0,
                                       S(1732560000), collect_parsed, collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 0);
}

/* A bar without a timestamp among good ones (issue 10): the good bars are rows, the odd
 * one goes to the bad-item callback with what was read and the bar as sent; a bar
 * still forming is skipped and counted. */
static void test_bars_without_timestamp(void **state) {
  (void)state;
  const char *body =
      "{\"chart\":{\"result\":[{\"meta\":{\"regularMarketTime\":1732561200,\"regularMarketPrice\":3,"
      "\"currentTradingPeriod\":{\"regular\":{\"start\":1732545000,\"end\":1732568400}}},"
      "\"timestamp\":[1732545000,null,1732552200,1732566600],\"indicators\":{\"quote\":[{"
      "\"open\":[1,2,3,4],\"high\":[1,2.5,3,4],\"low\":[1,2,3,4],\"close\":[1,2.25,3,4],\"volume\":[10,20,30,40]}]}}],"
      "\"error\":null}}";
  sp_error err;
  uint64_t forming = sp_metrics_items_skipped("yahoo", "bar_forming");
  /* at 18:00 the 14:30 and 16:30 bars are complete, the 20:30 one is forming */
  assert_int_equal(sp_yahoo_parse_bars(body, strlen(body), "X", "1h", 0, 0, S(1732557600), collect_parsed,
                                       collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 2);
  assert_int_equal(row_int64(&rows.rows[1], "bar_time"), S(1732552200));
  assert_int_equal(sp_metrics_items_skipped("yahoo", "bar_forming"), forming + 1);
  sp_buf prom = SP_BUF_INIT, json = SP_BUF_INIT;
  assert_int_equal(sp_metrics_render_prometheus(&prom), 0);
  assert_int_equal(sp_metrics_render_json(&json), 0);
  char want[160];
  const char *family = strstr((const char *)prom.data, "# TYPE stockpipe_source_items_skipped_total counter\n");
  assert_non_null(family);
  snprintf(want, sizeof want, "\nstockpipe_source_items_skipped_total{provider=\"yahoo\",reason=\"bar_forming\"} %llu\n",
           (unsigned long long)forming + 1);
  assert_non_null(strstr(family, want));
  const char *skipped = strstr((const char *)json.data, ",\"source_items_skipped\":{\"yahoo\":{");
  assert_non_null(skipped);
  snprintf(want, sizeof want, "\"bar_forming\":%llu", (unsigned long long)forming + 1);
  assert_non_null(strstr(skipped, want));
  sp_buf_free(&prom);
  sp_buf_free(&json);
  assert_int_equal(rows.nrejects, 1);
  collected_reject *r = &rows.rejects[0];
  assert_string_equal(r->rule, "item_unparseable");
  assert_string_equal(r->detail, "timestamp[1] is null or not a number");
  assert_string_equal(r->raw, "{\"timestamp\":null,\"open\":2,\"high\":2.5,\"low\":2,\"close\":2.25,\"volume\":20}");
  assert_true(r->has_row);
  assert_string_equal(row_text(&r->row, "ticker"), "X");
  assert_string_equal(row_text(&r->row, "interval"), "1h");
  assert_true(row_is_null(&r->row, "bar_time"));
  assert_true(row_double(&r->row, "close") == 2.25);
  /* without a bad-item callback (fuzzing) the bar is skipped */
  collected_rows_free(&rows);
  assert_int_equal(sp_yahoo_parse_bars(body, strlen(body), "X", "1h", 0, 0, S(1732557600), collect_parsed, NULL,
                                       &rows, &err), 0);
  assert_int_equal(rows.count, 2);
}

static void test_error_shapes(void **state) {
  (void)state;
  sp_error err;
  /* real 400 capture */
  assert_int_equal(parse_bars_file(Y "chart-BEKE-400-data-does-not-exist.json", "BEKE", "1d", 0, 0,
                                   FAR_FUTURE, &err), SP_ERR_NOT_FOUND);
  assert_non_null(strstr(err.msg, "BEKE"));
  assert_non_null(strstr(err.msg, "Data doesn't exist"));
  char said[200];
  sp_buf body = SP_BUF_INIT;
  read_fixture(Y "chart-BEKE-400-data-does-not-exist.json", &body);
  assert_true(sp_yahoo_explain_error((const char *)body.data, body.len, said, sizeof said));
  assert_string_equal(said, "Bad Request: Data doesn't exist for startDate = 1577836800, endDate = 1578009600");
  sp_buf_free(&body);
  /* documented 404 (delisted) and 422 (intraday out of range) bodies */
  const char *delisted = "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Not Found\","
                         "\"description\":\"No data found, symbol may be delisted\"}}}";
  assert_int_equal(sp_yahoo_parse_quote(delisted, strlen(delisted), "XYZQ", collect_parsed, &rows, &err),
                   SP_ERR_NOT_FOUND);
  assert_non_null(strstr(err.msg, "XYZQ: Not Found: No data found, symbol may be delisted"));
  const char *range = "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Unprocessable Entity\","
                      "\"description\":\"1h data not available for startTime=1500000000 and "
                      "endTime=1732568400. The requested range must be within the last 730 days.\"}}}";
  assert_true(sp_yahoo_explain_error(range, strlen(range), said, sizeof said));
  assert_non_null(strstr(said, "within the last 730 days"));
  /* not JSON, truncated, wrong shape, HTML */
  const char *bad[] = {"", "<html><body>Will be right back</body></html>", "{\"chart\":{\"result\":[{\"meta\"",
                       "{\"chart\":{}}", "[1,2]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(sp_yahoo_parse_bars(bad[i], strlen(bad[i]), "T", "1h", 0, 0, FAR_FUTURE,
                                         collect_parsed, collect_bad, &rows, &err), SP_ERR_PARSE);
    assert_int_equal(sp_yahoo_parse_quote(bad[i], strlen(bad[i]), "T", collect_parsed, &rows, &err),
                     SP_ERR_PARSE);
  }
  assert_false(sp_yahoo_explain_error("nope", 4, said, sizeof said));
  assert_int_equal(sp_yahoo_parse_bars("{}", 2, "T", "7x", 0, 0, 0, collect_parsed, collect_bad, &rows, &err),
                   SP_ERR_INVALID);
  assert_int_equal(rows.count, 0);
}

static void test_bars_window(void **state) {
  (void)state;
  int64_t now = S(1764000000), start;
  sp_yahoo_bars_window("1h", false, 0, 0, now, &start);
  assert_int_equal(start, now - 60 * SP_US_PER_DAY);
  sp_yahoo_bars_window("1d", false, 0, 0, now, &start);
  assert_int_equal(start, now - 730 * SP_US_PER_DAY);
  sp_yahoo_bars_window("1h", false, 0, 1000, now, &start); /* clamped to the 730-day limit */
  assert_int_equal(start, now - 729 * SP_US_PER_DAY);
  sp_yahoo_bars_window("1d", false, 0, 1000, now, &start);
  assert_int_equal(start, now - 1000 * SP_US_PER_DAY);
  sp_yahoo_bars_window("1h", true, now - SP_US_PER_DAY, 0, now, &start);
  assert_int_equal(start, now - SP_US_PER_DAY);
}

/* ---- rounds through the fake transport ------------------------------------------------- */

typedef struct round_state {
  collected_rows *out;
  const char *watermark_key;
  int64_t watermark;
  char last_request[256];
} round_state;

static bool get_watermark(void *arg, const char *key, int64_t *value) {
  round_state *s = arg;
  if (!s->watermark_key || strcmp(key, s->watermark_key) != 0) return false;
  *value = s->watermark;
  return true;
}

static int round_emit(void *arg, const sp_row *row, const char *request, sp_error *err) {
  (void)err;
  round_state *s = arg;
  snprintf(s->last_request, sizeof s->last_request, "%s", request);
  return collect_row(s->out, row);
}

static void test_round_quotes_one_ticker_failing(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/AAPL?", 200, Y "chart-AAPL-1d-2020-01-02.json", NULL);
  fake_route_add(&fake, "/v8/finance/chart/OCDO.L?", 200, Y "chart-OCDO.L-1d-london-gbp-pence.json", NULL);
  fake_route_add(&fake, "/v8/finance/chart/BEKE?", 400, Y "chart-BEKE-400-data-does-not-exist.json", NULL);
  fake_route_add(&fake, "/v8/finance/chart/%5EVXAPL?", 200, Y "chart-VXAPL-1d-empty-index.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"yahoo"};
  const char *tickers[] = {"AAPL", "BEKE", "OCDO.L", "^VXAPL"};
  round_state st = {.out = &rows};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_FINANCIAL_DATA), .providers = providers,
                           .nproviders = 1, .tickers = tickers, .ntickers = 4,
                           .now_us = S(1740000000), .get_watermark = get_watermark,
                           .emit = round_emit, .arg = &st};
  sp_source_report report;
  sp_error err;
  sp_log_set_level(SP_LOG_OFF);
  int rc = sp_source_collect(&t, &round, &report, &err);
  assert_int_equal(rc, SP_ERR_HTTP);
  assert_non_null(strstr(err.msg, "1 of 1 providers failed"));
  assert_int_equal(report.nproviders, 1);
  assert_int_equal(report.providers[0].status, SP_SOURCE_FAILED);
  assert_int_equal(report.providers[0].requests, 4);
  assert_int_equal(report.providers[0].failures, 1);
  assert_int_equal(report.providers[0].rows, 3); /* AAPL, OCDO.L, ^VXAPL (meta price) */
  assert_non_null(strstr(report.providers[0].first_error.msg, "/v8/finance/chart/BEKE"));
  assert_non_null(strstr(report.providers[0].first_error.msg, "Data doesn't exist"));
  assert_string_equal(fake.paths[0], "/v8/finance/chart/AAPL?interval=1d&range=1d&includePrePost=false");
  assert_int_equal(rows.count, 3);
  assert_string_equal(row_text(&rows.rows[0], "provider"), "yahoo");
  assert_int_equal(row_int64(&rows.rows[0], "collected_at"), S(1740000000));
  assert_non_null(strstr(st.last_request, "http://fake/v8/finance/chart/"));

  /* the same quote_time as stored: nothing emitted */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/AAPL?", 200, Y "chart-AAPL-1d-2020-01-02.json", NULL);
  st.watermark_key = "financial_data/AAPL";
  st.watermark = S(1739998801);
  round.ntickers = 1;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(rows.count, 0);
}

static void test_round_bars_from_watermark(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/AAPL?", 200,
                 Y "chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"yahoo", "fred"};
  const char *tickers[] = {"AAPL"};
  /* watermark: the bar of 2020-11-05 (1604586600) → only 2020-11-06 is new */
  round_state st = {.out = &rows, .watermark_key = "stock_movements/AAPL/1d",
                    .watermark = S(1604586600)};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS), .providers = providers,
                           .nproviders = 1, .tickers = tickers, .ntickers = 1, .bar_interval = "1d",
                           .now_us = S(1604707200), .get_watermark = get_watermark,
                           .emit = round_emit, .arg = &st};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_string_equal(fake.paths[0], "/v8/finance/chart/AAPL?period1=1604586600&period2=1604707200"
                                     "&interval=1d&includePrePost=false&events=div%7Csplit");
  assert_int_equal(rows.count, 1);
  assert_int_equal(row_int64(&rows.rows[0], "bar_time"), S(1604673000));
  char key[SP_SOURCE_KEY_MAX];
  int64_t value;
  assert_int_equal(sp_source_row_watermark(&rows.rows[0], key, &value), 0);
  assert_string_equal(key, "stock_movements/AAPL/1d");
  assert_int_equal(value, S(1604673000));

  /* a provider that does not serve the dataset fails the round, yahoo's rows stay */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v8/finance/chart/AAPL?", 200,
                 Y "chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json", NULL);
  round.nproviders = 2;
  assert_int_not_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(report.providers[1].status, SP_SOURCE_UNKNOWN);
  assert_int_equal(rows.count, 1);
  /* bad interval */
  round.nproviders = 1;
  round.bar_interval = "5m";
  assert_int_not_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_non_null(strstr(report.providers[0].first_error.msg, "bar_interval"));
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

#define QUOTE0 "chart.result[0].indicators.quote[0]"

static void test_shape_changes(void **state) {
  (void)state;
  static const char *const charts[] = {
      Y "chart-AAPL-1d-2020-01-02.json", Y "chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json",
      Y "chart-AAPL-1m-weekend-empty-2025-02-01.json", Y "chart-AAPL-1m-intraday-2024-10-02.json",
      Y "chart-TSLA-30m-prepost-2021-11-22.json", Y "chart-OCDO.L-1d-london-gbp-pence.json",
      Y "chart-WSU.DE-1d-berlin-2023-08-04-to-2023-08-08.json", Y "chart-BTC-USD-1d-crypto-utc.json",
      Y "chart-VXAPL-1d-empty-index.json"};
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) { /* every real capture passes */
    shape_assert_unchanged(charts[i], &sp_yahoo_chart_shape);
    shape_assert_unchanged(charts[i], &sp_yahoo_quote_shape);
  }
  /* bars: volume renamed, close values turned into strings */
  const shape_edit bars[] = {{QUOTE0 ".volume", SHAPE_RENAME, "vol"}, {QUOTE0 ".close", SHAPE_SET, "[\"1.5\", null]"}};
  sp_shape_report r;
  shape_check_reshaped(charts[1], bars, 2, &sp_yahoo_chart_shape, &r);
  assert_int_equal(r.nchanges, 2);
  assert_true(r.required_changed);
  shape_assert_reports(&r, "missing field \"" QUOTE0 ".volume\"");
  shape_assert_reports(&r, "\"" QUOTE0 ".close[*]\" is string, expected number");
  /* the whole indicators object renamed: one change, its parent */
  const shape_edit moved[] = {{"chart.result[0].indicators", SHAPE_RENAME, "series"}};
  shape_check_reshaped(charts[1], moved, 1, &sp_yahoo_chart_shape, &r);
  assert_string_equal(r.text, "missing field \"chart.result[0].indicators\"");
  /* quotes: the price became a string (required), the currency is gone (optional) */
  const shape_edit quote[] = {{"chart.result[0].meta.regularMarketPrice", SHAPE_SET, "\"244.87\""},
                              {"chart.result[0].meta.currency", SHAPE_REMOVE, NULL}};
  shape_check_reshaped(charts[0], quote, 2, &sp_yahoo_quote_shape, &r);
  assert_string_equal(r.text, "\"chart.result[0].meta.regularMarketPrice\" is string, expected number; "
                              "missing field \"chart.result[0].meta.currency\"");
  assert_true(r.required_changed);
  shape_check_reshaped(charts[0], quote + 1, 1, &sp_yahoo_quote_shape, &r);
  assert_int_equal(r.nchanges, 1);
  assert_false(r.required_changed); /* parsed, currency stored null */
  assert_int_equal(r.nnew, 0);
  /* a renamed field: one missing (its old name) and one new (its new name); the bar
   * arrays are not records, so a new one there is no new field */
  const shape_edit renamed[] = {{"chart.result[0].meta.currency", SHAPE_RENAME, "currencyCode"},
                                {QUOTE0 ".volume", SHAPE_RENAME, "volume"}, /* same name: no change */
                                {"chart.result[0].indicators.adjclose", SHAPE_RENAME, "adjClose"}};
  shape_check_reshaped(charts[1], renamed, 3, &sp_yahoo_quote_shape, &r);
  assert_string_equal(r.text, "missing field \"chart.result[0].meta.currency\"");
  assert_int_equal(r.nnew, 1);
  assert_string_equal(r.new_fields[0], "chart.result[0].meta.currencyCode");
}

/* A reshaped response served for several tickers over two rounds: the requests fail
 * and are counted, the metric counts every response, the warning is logged once. */
static void test_round_shape_change_warned_once(void **state) {
  (void)state;
  static fake_transport fake;
  const shape_edit edits[] = {{"chart.result[0].meta.regularMarketTime", SHAPE_RENAME, "marketTime"}};
  sp_buf body = SP_BUF_INIT;
  shape_reshaped_body(Y "chart-AAPL-1d-2020-01-02.json", edits, 1, &body);
  char log_path[] = "/tmp/sp_shape_log.XXXXXX";
  int fd = mkstemp(log_path);
  assert_true(fd >= 0);
  close(fd);
  char errbuf[128];
  sp_log_set_level(SP_LOG_INFO);
  assert_int_equal(sp_log_set_file(log_path, false, errbuf, sizeof errbuf), 0);
  uint64_t before = sp_metrics_shape_changes("yahoo", "quote");
  const char *providers[] = {"yahoo"};
  const char *tickers[] = {"AAPL", "MSFT", "NVDA"};
  for (int round_no = 0; round_no < 2; round_no++) {
    memset(&fake, 0, sizeof fake);
    fake_route_add(&fake, "/v8/finance/chart/", 200, NULL, (const char *)body.data);
    sp_source_transport t = fake_transport_of(&fake);
    round_state st = {.out = &rows};
    sp_source_round round = {.ds = sp_dataset_get(SP_DS_FINANCIAL_DATA), .providers = providers,
                             .nproviders = 1, .tickers = tickers, .ntickers = 3, .now_us = S(1740000000),
                             .get_watermark = get_watermark, .emit = round_emit, .arg = &st};
    sp_source_report report;
    sp_error err;
    assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_PARSE);
    assert_int_equal(report.providers[0].status, SP_SOURCE_FAILED);
    assert_int_equal(report.providers[0].failures, 3);
    assert_int_equal(report.providers[0].shape_changes, 3);
    assert_int_equal(report.providers[0].rows, 0);
    assert_non_null(strstr(report.providers[0].first_error.msg,
                           "yahoo quote: response shape changed: missing field "
                           "\"chart.result[0].meta.regularMarketTime\""));
  }
  assert_int_equal(sp_metrics_shape_changes("yahoo", "quote") - before, 6);
  sp_buf prom = SP_BUF_INIT;
  assert_int_equal(sp_metrics_render_prometheus(&prom), 0);
  assert_non_null(strstr((const char *)prom.data, "# TYPE stockpipe_source_shape_changes_total counter\n"));
  char want[128];
  snprintf(want, sizeof want, "stockpipe_source_shape_changes_total{provider=\"yahoo\",endpoint=\"quote\"} %llu\n",
           (unsigned long long)sp_metrics_shape_changes("yahoo", "quote"));
  assert_non_null(strstr((const char *)prom.data, want));
  sp_buf_free(&prom);
  sp_log_set_file(NULL, true, errbuf, sizeof errbuf);
  sp_log_set_level(SP_LOG_OFF);
  sp_buf log = SP_BUF_INIT;
  FILE *fp = fopen(log_path, "rb");
  assert_non_null(fp);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) sp_buf_append(&log, chunk, n);
  fclose(fp);
  sp_buf_reserve(&log, 0);
  int warnings = 0;
  for (const char *p = (const char *)log.data; (p = strstr(p, "response shape changed")); p++) warnings++;
  /* renamed: one warning for the missing old name, one for the new name, over six responses */
  assert_int_equal(warnings, 2);
  assert_non_null(strstr((const char *)log.data, "yahoo quote: response shape changed: new field "
                                                 "\"chart.result[0].meta.marketTime\" (not read by the parser"));
  assert_non_null(strstr((const char *)log.data, "WARN"));
  assert_non_null(strstr((const char *)log.data, "first seen in http://fake/v8/finance/chart/"));
  unlink(log_path);
  sp_buf_free(&log);
  sp_buf_free(&body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_quote_from_meta, teardown_rows),
      cmocka_unit_test_teardown(test_quote_previous_close_and_pence, teardown_rows),
      cmocka_unit_test_teardown(test_quote_open_from_session_bar, teardown_rows),
      cmocka_unit_test_teardown(test_bars_daily_with_adjclose, teardown_rows),
      cmocka_unit_test_teardown(test_bars_split_dividend_window, teardown_rows),
      cmocka_unit_test_teardown(test_bars_intraday_nulls_and_snapshot, teardown_rows),
      cmocka_unit_test_teardown(test_bars_empty_windows, teardown_rows),
      cmocka_unit_test_teardown(test_bars_other_markets, teardown_rows),
      cmocka_unit_test_teardown(test_bars_incomplete_not_stored, teardown_rows),
      cmocka_unit_test_teardown(test_bars_without_timestamp, teardown_rows),
      cmocka_unit_test_teardown(test_error_shapes, teardown_rows),
      cmocka_unit_test(test_bars_window),
      cmocka_unit_test_teardown(test_round_quotes_one_ticker_failing, teardown_rows),
      cmocka_unit_test_teardown(test_round_bars_from_watermark, teardown_rows),
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test_teardown(test_round_shape_change_warned_once, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
