/*
 * test_quota.c — daily request quotas (core/quota.h and their use in a source round,
 * sources/source.c): counting per provider per UTC day with a fake clock across the
 * day boundary, persistence across reopening the state store, the round budget and
 * rounds left by schedule, ticker rotation (over k rounds every ticker is served),
 * deferral reported without failing the provider, and a provider's own daily-limit
 * answer (Alpha Vantage's "requests per day" note) ending the day without retries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/quota.h"
#include "core_test_util.h"
#include "fake_transport.h"

#include <string.h>

static const char *credential(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "finnhub_api_key") == 0     ? "fh-key"
         : strcmp(name, "alpha_vantage_key") == 0 ? "av-key"
         : strcmp(name, "newsapi_key") == 0       ? "na-key"
                                                  : NULL;
}

static int emit(void *arg, const sp_row *row, const char *request, sp_error *err) {
  (void)arg, (void)row, (void)request, (void)err;
  return SP_OK;
}

static int64_t test_limit = 3;
static int64_t daily_limit(void *arg, const char *provider) {
  (void)arg, (void)provider;
  return test_limit;
}

static void test_count_across_day_boundary_and_reopen(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  sp_state *st;
  sp_error err;
  assert_int_equal(sp_state_open(dir, &st, &err), 0);
  int64_t evening = ts_of("2026-11-24T23:59:00Z"), midnight = ts_of("2026-11-25T00:00:00Z");
  bool granted;
  int64_t used;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(sp_quota_take(st, "newsapi", evening, 3, &granted, &err), 0);
    assert_true(granted);
  }
  assert_int_equal(sp_quota_take(st, "newsapi", evening + 59 * SP_US_PER_SEC, 3, &granted, &err), 0);
  assert_false(granted); /* 23:59:59: still the same day */
  assert_int_equal(sp_quota_used(st, "newsapi", evening, &used, &err), 0);
  assert_int_equal(used, 3);
  assert_int_equal(sp_quota_used(st, "finnhub", evening, &used, &err), 0);
  assert_int_equal(used, 0); /* per provider */
  assert_int_equal(sp_quota_take(st, "newsapi", midnight, 3, &granted, &err), 0);
  assert_true(granted); /* 00:00 UTC: a new day */
  assert_int_equal(sp_quota_take(st, "newsapi", midnight, 3, &granted, &err), 0);
  assert_true(granted);
  sp_state_close(st);

  /* a restart does not reset the count */
  assert_int_equal(sp_state_open(dir, &st, &err), 0);
  assert_int_equal(sp_quota_used(st, "newsapi", midnight + 3600 * SP_US_PER_SEC, &used, &err), 0);
  assert_int_equal(used, 2);
  assert_int_equal(sp_quota_used(st, "newsapi", evening, &used, &err), 0);
  assert_int_equal(used, 3);
  assert_int_equal(sp_quota_use_up(st, "newsapi", midnight, 3, &err), 0);
  assert_int_equal(sp_quota_take(st, "newsapi", midnight, 3, &granted, &err), 0);
  assert_false(granted);
  sp_buf cursor = SP_BUF_INIT;
  bool found;
  assert_int_equal(sp_quota_put_cursor(st, "newsapi", "news", "MSFT", &err), 0);
  sp_state_close(st);
  assert_int_equal(sp_state_open(dir, &st, &err), 0);
  assert_int_equal(sp_quota_used(st, "newsapi", midnight, &used, &err), 0);
  assert_int_equal(used, 3);
  assert_int_equal(sp_quota_get_cursor(st, "newsapi", "news", &cursor, &found, &err), 0);
  assert_true(found);
  assert_string_equal((const char *)cursor.data, "MSFT");
  assert_int_equal(sp_quota_get_cursor(st, "newsapi", "financial_data", &cursor, &found, &err), 0);
  assert_false(found);
  sp_buf_free(&cursor);
  sp_state_close(st);
  remove_tree(dir);
}

static void test_budget_and_rounds_left(void **state) {
  (void)state;
  assert_int_equal(sp_quota_round_budget(100, 24), 4);
  assert_int_equal(sp_quota_round_budget(100, 1), 100);
  assert_int_equal(sp_quota_round_budget(100, 0), 100); /* one-off round */
  assert_int_equal(sp_quota_round_budget(3, 11), 1);    /* at least 1 */
  assert_int_equal(sp_quota_round_budget(0, 5), 0);
  sp_schedule hourly, daily;
  sp_error err;
  assert_int_equal(sp_schedule_parse("1h", &hourly, &err), 0);
  assert_int_equal(sp_schedule_parse("1d", &daily, &err), 0);
  assert_int_equal(sp_quota_rounds_left_today(&hourly, false, ts_of("2026-11-25T00:00:00Z")), 24);
  assert_int_equal(sp_quota_rounds_left_today(&hourly, false, ts_of("2026-11-25T13:30:00Z")), 11);
  assert_int_equal(sp_quota_rounds_left_today(&hourly, false, ts_of("2026-11-25T23:00:00Z")), 1);
  assert_int_equal(sp_quota_rounds_left_today(&daily, false, ts_of("2026-11-25T00:00:00Z")), 1);
  /* intraday on Wednesday 2026-11-25 (NYSE 14:30-21:00 UTC): 15:00 ... 21:00, then no more today */
  assert_int_equal(sp_quota_rounds_left_today(&hourly, true, ts_of("2026-11-25T00:00:00Z")), 1 + 7);
  assert_int_equal(sp_quota_rounds_left_today(&hourly, true, ts_of("2026-11-25T21:00:00Z")), 1);
  const char *const list[] = {"A", "B", "C"};
  assert_int_equal(sp_quota_rotation_start(list, 3, NULL), 0);
  assert_int_equal(sp_quota_rotation_start(list, 3, "B"), 2);
  assert_int_equal(sp_quota_rotation_start(list, 3, "C"), 0);
  assert_int_equal(sp_quota_rotation_start(list, 3, "GONE"), 0);
}

#define NTICKERS 7
static const char *const tickers[NTICKERS] = {"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA"};

static const char *const finnhub_only[] = {"finnhub"};
static const char *const alphavantage_only[] = {"alphavantage"};
static const char *const newsapi_only[] = {"newsapi"};

/* Open a fresh store and return a live round of `ds` over one provider and the seven
 * tickers at `now`, counting in that store. */
static sp_source_round quota_round(temp_store *store, sp_dataset_id ds, const char *const *provider,
                                   const char *now) {
  temp_store_open(store);
  return (sp_source_round){.ds = sp_dataset_get(ds), .providers = provider, .nproviders = 1, .tickers = tickers,
                           .ntickers = NTICKERS, .now_us = ts_of(now), .credential = credential, .emit = emit,
                           .quota_state = store->st};
}

/* The ticker of a Finnhub company-news path ("...symbol=AAPL&..."), into out. */
static void symbol_of(const char *path, char *out, size_t cap) {
  const char *s = strstr(path, "symbol=");
  assert_non_null(s);
  s += 7;
  size_t n = strcspn(s, "&");
  snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
}

/* One round of `round` against a fresh fake API answering the paths starting with
 * `prefix` with `status` and a fixture `file` (or the inline `body`); returns its code. */
static int fake_round(fake_transport *fake, const sp_source_round *round, const char *prefix, long status,
                      const char *file, const char *body, sp_source_report *report) {
  memset(fake, 0, sizeof *fake);
  fake_route_add(fake, prefix, status, file, body);
  sp_source_transport t = fake_transport_of(fake);
  sp_error err;
  return sp_source_collect(&t, round, report, &err);
}

/* Finnhub news answering "[]". */
static int finnhub_news_round(fake_transport *fake, const sp_source_round *round, sp_source_report *report) {
  return fake_round(fake, round, "/api/v1/company-news", 200, NULL, "[]", report);
}

static void test_round_rotation_covers_every_ticker(void **state) {
  (void)state;
  temp_store store;
  sp_source_round round = quota_round(&store, SP_DS_NEWS, finnhub_only, "2026-11-25T10:00:00Z");
  round.daily_limit = daily_limit;
  test_limit = 3;
  int served[NTICKERS] = {0};
  sp_log_set_level(SP_LOG_OFF);
  /* three days of one round each: 3 + 3 + 1 (then the rotation wraps) */
  for (int day = 0; day < 3; day++) {
    fake_transport fake;
    sp_source_report report;
    assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
    assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
    assert_int_equal(fake.nsent, 3);
    assert_int_equal(report.providers[0].requests, 3);
    assert_int_equal(report.providers[0].deferred_tickers, NTICKERS - 3);
    assert_int_equal(report.providers[0].quota_remaining, 0);
    for (int i = 0; i < fake.npaths; i++) {
      char sym[16];
      symbol_of(fake.paths[i], sym, sizeof sym);
      for (int k = 0; k < NTICKERS; k++)
        if (strcmp(sym, tickers[k]) == 0) served[k]++;
    }
    /* the same day again: nothing left, nothing sent, all deferred, still OK */
    round.now_us += 3600 * SP_US_PER_SEC;
    assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
    assert_int_equal(fake.npaths, 0);
    assert_int_equal(report.providers[0].deferred_tickers, NTICKERS);
    assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
    round.now_us += 23 * 3600 * SP_US_PER_SEC;
  }
  for (int k = 0; k < NTICKERS; k++) assert_true(served[k] >= 1); /* 9 requests over 7 tickers */
  assert_int_equal(served[0], 2); /* day 3: TSLA, then the rotation wraps to AAPL, MSFT */
  assert_int_equal(served[1], 2);
  for (int k = 2; k < NTICKERS; k++) assert_int_equal(served[k], 1);
  temp_store_close(&store);
}

static void test_round_spreads_the_day(void **state) {
  (void)state;
  temp_store store;
  sp_source_round round = quota_round(&store, SP_DS_NEWS, finnhub_only, "2026-11-25T00:00:00Z");
  test_limit = 100;
  round.daily_limit = daily_limit;
  round.rounds_left_today = 24;
  fake_transport fake;
  sp_source_report report;
  assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
  assert_int_equal(fake.nsent, 4); /* 100 / 24 rounds */
  assert_int_equal(report.providers[0].deferred_tickers, 3);
  assert_int_equal(report.providers[0].quota_remaining, 96);
  sp_buf prom = SP_BUF_INIT;
  assert_int_equal(sp_metrics_render_prometheus(&prom), 0);
  assert_non_null(strstr((const char *)prom.data, "stockpipe_provider_quota_remaining{provider=\"finnhub\"} 96\n"));
  assert_non_null(strstr((const char *)prom.data, "# TYPE stockpipe_provider_requests_deferred_total counter\n"));
  sp_buf_reset(&prom);
  assert_int_equal(sp_metrics_render_json(&prom), 0);
  /* the counter is process-wide (the rotation test deferred some too); the gauge is this round's */
  const char *json = strstr((const char *)prom.data, "\"provider_quota\":{\"finnhub\":{\"requests_deferred_total\":");
  assert_non_null(json);
  assert_non_null(strstr(json, ",\"quota_remaining\":96}"));
  sp_buf_free(&prom);
  temp_store_close(&store);
}

static void test_alphavantage_daily_note_ends_the_day(void **state) {
  (void)state;
  temp_store store; /* the provider's default limit: 25 */
  sp_source_round round = quota_round(&store, SP_DS_FINANCIAL_DATA, alphavantage_only, "2026-11-25T10:00:00Z");
  sp_error err;
  fake_transport fake;
  sp_source_report report;
  const char *note = "alphavantage/error-information-daily-limit.json";
  assert_int_equal(fake_round(&fake, &round, "/query?", 200, note, NULL, &report), 0);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(report.providers[0].failures, 0);
  assert_int_equal(fake.nsent, 1);        /* the note ended the day: the six queued after it stay unsent */
  assert_int_equal(fake.nsent_vetoed, 6);
  assert_int_equal(report.providers[0].deferred, 7);
  assert_int_equal(report.providers[0].quota_remaining, 0);
  int64_t used;
  assert_int_equal(sp_quota_used(store.st, "alphavantage", round.now_us, &used, &err), 0);
  assert_int_equal(used, 25);
  /* without a quota store the note is a failure of that request (not retried either) */
  round.quota_state = NULL;
  assert_int_equal(fake_round(&fake, &round, "/query?", 200, note, NULL, &report), SP_ERR_QUOTA);
  assert_int_equal(report.providers[0].status, SP_SOURCE_FAILED);
  temp_store_close(&store);
}

static void test_newsapi_rate_limited_uses_up_the_day(void **state) {
  (void)state;
  temp_store store; /* the provider's default limit: 100 */
  sp_source_round round = quota_round(&store, SP_DS_NEWS, newsapi_only, "2026-11-25T10:00:00Z");
  fake_transport fake;
  sp_source_report report;
  sp_error err;
  /* the fake transport does not retry: this 429 stands for one still there after the retries */
  assert_int_equal(fake_round(&fake, &round, "/v2/everything", 429, "newsapi/error-rateLimited.json", NULL, &report), 0);
  sp_source_transport t = fake_transport_of(&fake);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(report.providers[0].failures, 0);
  assert_int_equal(fake.nsent, 1);        /* the other chain's first query stays unsent */
  assert_int_equal(report.providers[0].deferred, 2);
  assert_int_equal(report.providers[0].quota_remaining, 0);
  int64_t used;
  assert_int_equal(sp_quota_used(store.st, "newsapi", round.now_us, &used, &err), 0);
  assert_int_equal(used, 100);
  /* later the same day: nothing is sent; the next day it starts again */
  memset(&fake, 0, sizeof fake);
  round.now_us += 3600 * SP_US_PER_SEC;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 0);
  assert_int_equal(report.providers[0].deferred_tickers, NTICKERS);
  fake_route_add(&fake, "/v2/everything", 200, NULL, "{\"status\":\"ok\",\"totalResults\":0,\"articles\":[]}");
  round.now_us += 24 * 3600 * SP_US_PER_SEC;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.nsent, NTICKERS);
  assert_int_equal(report.providers[0].quota_remaining, 100 - NTICKERS);
  temp_store_close(&store);
}

/* Fundamentals fetched today need no request: such tickers are neither handed out nor
 * reported as deferred (an hourly quote source would otherwise warn every hour). */
static void test_fresh_fundamentals_are_not_deferred(void **state) {
  (void)state;
  temp_store store;
  sp_source_round round = quota_round(&store, SP_DS_FINANCIAL_DATA, alphavantage_only, "2026-11-25T10:00:00Z");
  sp_source_cache *cache;
  assert_int_equal(sp_source_cache_new(&cache), 0);
  round.cache = cache;
  round.daily_limit = daily_limit;
  test_limit = NTICKERS;
  fake_transport fake;
  sp_source_report report;
  sp_error err;
  assert_int_equal(fake_round(&fake, &round, "/query?", 200, "real/alphavantage/overview-IBM.json", NULL, &report), 0);
  sp_source_transport t = fake_transport_of(&fake);
  assert_int_equal(fake.nsent, NTICKERS);
  assert_int_equal(report.providers[0].deferred_tickers, 0);
  assert_int_equal(report.providers[0].quota_remaining, 0);
  memset(&fake, 0, sizeof fake); /* an hour later: all fresh, quota used up, nothing deferred */
  round.now_us += 3600 * SP_US_PER_SEC;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(fake.npaths, 0);
  assert_int_equal(report.providers[0].deferred_tickers, 0);
  assert_int_equal(report.providers[0].deferred, 0);
  sp_source_cache_free(cache);
  temp_store_close(&store);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_across_day_boundary_and_reopen),
      cmocka_unit_test(test_budget_and_rounds_left),
      cmocka_unit_test(test_round_rotation_covers_every_ticker),
      cmocka_unit_test(test_round_spreads_the_day),
      cmocka_unit_test(test_alphavantage_daily_note_ends_the_day),
      cmocka_unit_test(test_newsapi_rate_limited_uses_up_the_day),
      cmocka_unit_test(test_fresh_fundamentals_are_not_deferred),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
