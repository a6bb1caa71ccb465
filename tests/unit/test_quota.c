/*
 * test_quota.c — daily request quotas (core/quota.h and their use in a source round,
 * sources/source.c): counting per provider per UTC day with a fake clock across the
 * day boundary, persistence across reopening the state store, the round budget and
 * rounds left by schedule, the provider-wide share (two sources of one provider over a
 * day of rounds: never over the limit, totals within 1 of each other), the backfill
 * budget and reserve, ticker rotation (over k rounds every ticker is served; a cursor per source),
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

/* Rounds left today of one source alone, the one starting its round. */
static int rounds_alone(const sp_schedule *schedule, bool intraday, const char *now) {
  sp_quota_source one = {.schedule = schedule, .intraday = intraday, .current = true};
  return sp_quota_rounds_left_today(&one, 1, ts_of(now));
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
  assert_int_equal(rounds_alone(&hourly, false, "2026-11-25T00:00:00Z"), 24);
  assert_int_equal(rounds_alone(&hourly, false, "2026-11-25T13:30:00Z"), 11);
  assert_int_equal(rounds_alone(&hourly, false, "2026-11-25T23:00:00Z"), 1);
  assert_int_equal(rounds_alone(&daily, false, "2026-11-25T00:00:00Z"), 1);
  /* intraday on Wednesday 2026-11-25 (NYSE 14:30-21:00 UTC): 15:00 ... 21:00, then no more today */
  assert_int_equal(rounds_alone(&hourly, true, "2026-11-25T00:00:00Z"), 1 + 7);
  assert_int_equal(rounds_alone(&hourly, true, "2026-11-25T21:00:00Z"), 1);
  const char *const list[] = {"A", "B", "C"};
  assert_int_equal(sp_quota_rotation_start(list, 3, NULL), 0);
  assert_int_equal(sp_quota_rotation_start(list, 3, "B"), 2);
  assert_int_equal(sp_quota_rotation_start(list, 3, "C"), 0);
  assert_int_equal(sp_quota_rotation_start(list, 3, "GONE"), 0);
}

/* The provider-wide count: A (hourly) starts its 10:05 round, B (hourly) last ran at
 * 09:20 so its 10:00 round is still due, C (daily) ran at 00:00:30, D never ran. */
static void test_rounds_left_counts_every_source(void **state) {
  (void)state;
  sp_schedule hourly, daily;
  sp_error err;
  assert_int_equal(sp_schedule_parse("1h", &hourly, &err), 0);
  assert_int_equal(sp_schedule_parse("1d", &daily, &err), 0);
  sp_quota_source s[4] = {{.schedule = &hourly, .current = true, .last_run_us = ts_of("2026-11-25T09:05:00Z")},
                          {.schedule = &hourly, .last_run_us = ts_of("2026-11-25T09:20:00Z")},
                          {.schedule = &daily, .last_run_us = ts_of("2026-11-25T00:00:30Z")},
                          {.schedule = &daily, .last_run_us = SP_SCHEDULER_NEVER}};
  int64_t at_1005 = ts_of("2026-11-25T10:05:00Z"), at_1020 = ts_of("2026-11-25T10:20:00Z");
  assert_int_equal(sp_quota_rounds_left_today(s, 2, at_1005), 14 + 14); /* 10:00 ... 23:00 each */
  assert_int_equal(sp_quota_rounds_left_today(s, 3, at_1005), 28);      /* C is done for today */
  assert_int_equal(sp_quota_rounds_left_today(s, 4, at_1005), 29);      /* D runs once at start */
  s[0].current = false, s[0].last_run_us = at_1005; /* A ran; B starts its 10:00 round at 10:20 */
  s[1].current = true;
  assert_int_equal(sp_quota_rounds_left_today(s, 2, at_1020), 13 + 14); /* one round fewer */
  s[1].current = false; /* nobody current (a caller outside a round): at least 1 */
  assert_int_equal(sp_quota_rounds_left_today(s + 2, 1, at_1020), 1);
}

/* A day of rounds of two sources of one provider, A at hh:05 and B at hh:20 (`b_daily`:
 * B runs once, at 00:20), each spending its whole budget (counted in a real store for
 * small limits; in memory for the others, every commit being a synced write).
 * Checks: the totals never exceed the limit and use it up, every spend is one of two
 * neighbouring values (floor or floor + 1 of the even share), and with both hourly the
 * two sources' totals are within 1 of each other. */
static void share_a_day(int64_t limit, bool b_daily) {
  temp_store store;
  temp_store_open(&store);
  sp_schedule hourly, daily;
  sp_error err;
  assert_int_equal(sp_schedule_parse("1h", &hourly, &err), 0);
  assert_int_equal(sp_schedule_parse("1d", &daily, &err), 0);
  sp_quota_source src[2] = {{.schedule = &hourly, .last_run_us = ts_of("2026-11-24T23:05:00Z")},
                            {.schedule = b_daily ? &daily : &hourly, .last_run_us = ts_of("2026-11-24T23:20:00Z")}};
  if (b_daily) src[1].last_run_us = ts_of("2026-11-24T00:20:00Z");
  int64_t total[2] = {0, 0}, lowest = INT64_MAX, highest = 0;
  bool in_store = limit <= 25;
  int64_t day = ts_of("2026-11-25T00:00:00Z");
  for (int hour = 0; hour < 24; hour++) {
    for (int who = 0; who < 2; who++) {
      int64_t now = day + hour * 3600 * SP_US_PER_SEC + (who ? 20 : 5) * 60 * SP_US_PER_SEC;
      if (b_daily && who == 1 && hour > 0) continue; /* B's only round today was at 00:20 */
      src[who].current = true;
      int rounds = sp_quota_rounds_left_today(src, 2, now);
      src[who].current = false;
      src[who].last_run_us = now;
      int64_t used = total[0] + total[1];
      if (in_store) assert_int_equal(sp_quota_used(store.st, "newsapi", now, &used, &err), 0);
      int64_t budget = sp_quota_round_budget(limit - used, rounds), spent = 0;
      bool granted = true;
      for (int64_t k = 0; k < budget && granted && in_store; k++) {
        assert_int_equal(sp_quota_take(store.st, "newsapi", now, limit, &granted, &err), 0);
        spent += granted;
      }
      if (!in_store) spent = budget;
      assert_int_equal(spent, budget); /* the budget never asks for more than is left */
      total[who] += spent;
      if (limit >= 48 && spent < lowest) lowest = spent;
      if (spent > highest) highest = spent;
    }
  }
  int64_t used = total[0] + total[1];
  if (in_store) assert_int_equal(sp_quota_used(store.st, "newsapi", day, &used, &err), 0);
  assert_int_equal(used, limit);                  /* never over the limit, and none left unused */
  assert_int_equal(total[0] + total[1], limit);
  if (limit >= 48) assert_true(highest - lowest <= 1); /* every round of the day: floor or floor + 1 */
  else assert_true(highest <= 1);                   /* fewer requests than rounds: one each while any is left */
  if (!b_daily) assert_true(total[0] - total[1] <= 1 && total[1] - total[0] <= 1);
  else assert_true(total[1] <= limit / 24 + 1);    /* B's one round takes one round's share, not half the day */
  temp_store_close(&store);
}

static void test_two_sources_share_the_day(void **state) {
  (void)state;
  const int64_t limits[] = {100, 25, 48, 7, 1, 97};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    share_a_day(limits[i], false);
    share_a_day(limits[i], true);
  }
}

static void test_backfill_budget(void **state) {
  (void)state;
  assert_int_equal(sp_quota_backfill_budget(25, 0, SP_QUOTA_BACKFILL_RESERVE_PERCENT), 20); /* 5 kept */
  assert_int_equal(sp_quota_backfill_budget(25, 3, 20), 17);
  assert_int_equal(sp_quota_backfill_budget(25, 20, 20), 0);
  assert_int_equal(sp_quota_backfill_budget(25, 24, 20), 0);
  assert_int_equal(sp_quota_backfill_budget(100, 0, 20), 80);
  assert_int_equal(sp_quota_backfill_budget(3, 0, 20), 3); /* floor(0.6): nothing kept */
  assert_int_equal(sp_quota_backfill_budget(7, 0, 0), 7);
  assert_int_equal(sp_quota_backfill_budget(7, 7, 0), 0);
  assert_int_equal(sp_quota_backfill_budget(7, 2, 100), 0);
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

static int rounds_left_for_finnhub(void *arg, const char *provider) {
  (void)arg;
  assert_string_equal(provider, "finnhub"); /* asked per provider */
  return 24;
}

static void test_round_spreads_the_day(void **state) {
  (void)state;
  temp_store store;
  sp_source_round round = quota_round(&store, SP_DS_NEWS, finnhub_only, "2026-11-25T00:00:00Z");
  test_limit = 100;
  round.daily_limit = daily_limit;
  round.rounds_left_today = rounds_left_for_finnhub;
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

/* Two sources of one provider and dataset rotate separately; a backfill round (window
 * set) spends what is left beyond the reserve, without rotating, and defers the rest. */
static void test_cursor_per_source_and_backfill_round(void **state) {
  (void)state;
  temp_store store;
  sp_source_round round = quota_round(&store, SP_DS_NEWS, finnhub_only, "2026-11-25T10:00:00Z");
  round.daily_limit = daily_limit;
  test_limit = 5;
  round.rounds_left_today = NULL;
  round.source_name = "news_a";
  fake_transport fake;
  sp_source_report report;
  sp_error err;
  assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
  assert_int_equal(fake.nsent, 5);
  sp_buf cursor = SP_BUF_INIT;
  bool found;
  assert_int_equal(sp_quota_get_cursor(store.st, "finnhub", "news_a", &cursor, &found, &err), 0);
  assert_true(found);
  assert_string_equal((const char *)cursor.data, "NVDA");
  assert_int_equal(sp_quota_get_cursor(store.st, "finnhub", "news_b", &cursor, &found, &err), 0);
  assert_false(found); /* news_b starts its own rotation at AAPL */
  assert_int_equal(sp_quota_get_cursor(store.st, "finnhub", "news", &cursor, &found, &err), 0);
  assert_false(found);
  sp_buf_free(&cursor);

  /* the next day, a backfill round of a past week: 5 - 20 % kept = 4 sent, 3 deferred */
  round.now_us += 24 * 3600 * SP_US_PER_SEC;
  sp_source_window window = {round.now_us - 10 * SP_US_PER_DAY, round.now_us - 3 * SP_US_PER_DAY};
  round.window = &window;
  round.quota_reserve_percent = SP_QUOTA_BACKFILL_RESERVE_PERCENT;
  assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
  assert_int_equal(report.providers[0].status, SP_SOURCE_OK);
  assert_int_equal(fake.nsent, 4);
  assert_int_equal(report.providers[0].deferred, NTICKERS - 4);
  assert_int_equal(report.providers[0].deferred_tickers, 0); /* no rotation in a backfill */
  char sym[16];
  symbol_of(fake.paths[0], sym, sizeof sym);
  assert_string_equal(sym, "AAPL"); /* from the start of the list, not after the live cursor */
  int64_t used;
  assert_int_equal(sp_quota_used(store.st, "finnhub", round.now_us, &used, &err), 0);
  assert_int_equal(used, 4);
  /* again the same day: the reserve is left to the live rounds, nothing is sent */
  assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
  assert_int_equal(fake.npaths, 0);
  assert_int_equal(report.providers[0].deferred, NTICKERS);
  /* without a reserve the last request goes out */
  round.quota_reserve_percent = 0;
  assert_int_equal(finnhub_news_round(&fake, &round, &report), 0);
  assert_int_equal(fake.nsent, 1);
  assert_int_equal(sp_quota_used(store.st, "finnhub", round.now_us, &used, &err), 0);
  assert_int_equal(used, 5);
  temp_store_close(&store);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_across_day_boundary_and_reopen),
      cmocka_unit_test(test_budget_and_rounds_left),
      cmocka_unit_test(test_rounds_left_counts_every_source),
      cmocka_unit_test(test_two_sources_share_the_day),
      cmocka_unit_test(test_backfill_budget),
      cmocka_unit_test(test_cursor_per_source_and_backfill_round),
      cmocka_unit_test(test_round_rotation_covers_every_ticker),
      cmocka_unit_test(test_round_spreads_the_day),
      cmocka_unit_test(test_alphavantage_daily_note_ends_the_day),
      cmocka_unit_test(test_newsapi_rate_limited_uses_up_the_day),
      cmocka_unit_test(test_fresh_fundamentals_are_not_deferred),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
