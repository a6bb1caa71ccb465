/*
 * test_backfill.c — the backfill's window arithmetic (range clamping to now and to a
 * provider's age limit, chunk lengths, a chunk grid covering the range exactly),
 * the providers' history limits (Yahoo per interval, refusals), and the per-series
 * cursors over a real state store: a series never stored joins the live history,
 * one already stored is filled only before its first row, cursors resume after a
 * reopen, chunk_done/chunk_failed, a floor (first) only moving down, a joining cursor
 * that stored nothing re-decided once live collection started the series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/backfill.h"
#include "core/timeutil.h"
#include "core_test_util.h"
#include "sources/fred.h"
#include "sources/treasury.h"
#include "sources/worldbank.h"
#include "sources/yahoo.h"

#define DAY SP_US_PER_DAY
#define SOURCE "movement_source"
#define KEY "stock_movements/AAPL/1h"

static void test_range_clamps(void **state) {
  (void)state;
  sp_error err = {0};
  int64_t now = 1000 * DAY + 12 * 3600 * SP_US_PER_SEC, start, end;
  bool clamped;
  /* unlimited: end clamped to now */
  assert_int_equal(sp_backfill_range(NULL, 10 * DAY, 2000 * DAY, now, &start, &end, &clamped, &err), 0);
  assert_int_equal(start, 10 * DAY);
  assert_int_equal(end, now);
  assert_false(clamped);
  /* a range fully in the past stays as it is */
  assert_int_equal(sp_backfill_range(NULL, 10 * DAY, 20 * DAY, now, &start, &end, &clamped, &err), 0);
  assert_int_equal(end, 20 * DAY);
  /* an age limit moves the start and says so */
  sp_source_history limits = {.max_span_us = 7 * DAY, .max_age_us = 30 * DAY};
  assert_int_equal(sp_backfill_range(&limits, 900 * DAY, 995 * DAY, now, &start, &end, &clamped, &err), 0);
  assert_true(clamped);
  assert_int_equal(start, now - 30 * DAY + SP_BACKFILL_AGE_MARGIN_US);
  assert_int_equal(end, 995 * DAY);
  /* nothing left: older than the provider keeps, in the future, empty */
  assert_int_equal(sp_backfill_range(&limits, 10 * DAY, 20 * DAY, now, &start, &end, &clamped, &err), SP_ERR_INVALID);
  assert_non_null(strstr(err.msg, "last 30 days"));
  assert_int_equal(sp_backfill_range(NULL, 1001 * DAY, 1002 * DAY, now, &start, &end, &clamped, &err), SP_ERR_INVALID);
  assert_non_null(strstr(err.msg, "future"));
  assert_int_equal(sp_backfill_range(NULL, 20 * DAY, 20 * DAY, now, &start, &end, &clamped, &err), SP_ERR_INVALID);
}

static void test_chunk_lengths_and_grid(void **state) {
  (void)state;
  sp_source_history unlimited = {0}, week = {.max_span_us = 7 * DAY}, long_span = {.max_span_us = 729 * DAY};
  assert_int_equal(sp_backfill_chunk_length(&unlimited, 0), SP_BACKFILL_UNLIMITED_CHUNK_DAYS * DAY);
  assert_int_equal(sp_backfill_chunk_length(&long_span, 0), SP_BACKFILL_DEFAULT_CHUNK_DAYS * DAY);
  assert_int_equal(sp_backfill_chunk_length(&week, 0), 7 * DAY);
  assert_int_equal(sp_backfill_chunk_length(&week, 30 * DAY), 7 * DAY); /* never over the provider's span */
  assert_int_equal(sp_backfill_chunk_length(&week, 2 * DAY), 2 * DAY);
  assert_int_equal(sp_backfill_chunk_length(&unlimited, 3000 * DAY), 3000 * DAY);

  assert_int_equal(sp_backfill_chunk_count(0, 0, DAY), 0);
  assert_int_equal(sp_backfill_chunk_count(5, 4, DAY), 0);
  assert_int_equal(sp_backfill_chunk_count(0, 10, 0), 0);
  assert_int_equal(sp_backfill_chunk_count(0, 7 * DAY, 7 * DAY), 1);
  assert_int_equal(sp_backfill_chunk_count(0, 7 * DAY + 1, 7 * DAY), 2);
  /* the grid covers [start, end) exactly: contiguous, none longer than the chunk */
  int64_t start = 123456789, end = start + 100 * DAY + 17;
  size_t n = sp_backfill_chunk_count(start, end, 7 * DAY);
  assert_int_equal(n, 15);
  int64_t at = start;
  for (size_t i = 0; i < n; i++) {
    sp_source_window w = sp_backfill_chunk(start, end, 7 * DAY, i);
    assert_int_equal(w.start_us, at);
    assert_true(w.end_us > w.start_us && w.end_us - w.start_us <= 7 * DAY);
    at = w.end_us;
  }
  assert_int_equal(at, end);
  sp_source_window last = sp_backfill_chunk(start, end, 7 * DAY, n - 1);
  assert_int_equal(last.end_us - last.start_us, 2 * DAY + 17);

  /* merged: the shortest span, the longest age (0 = unlimited wins) */
  sp_source_history merged = {0};
  sp_source_history aged = {.max_span_us = 60 * DAY, .max_age_us = 60 * DAY};
  sp_source_history year = {.max_span_us = 30 * DAY, .max_age_us = 365 * DAY};
  sp_backfill_limits_merge(&merged, &aged, true);
  assert_int_equal(merged.max_age_us, 60 * DAY);
  sp_backfill_limits_merge(&merged, &year, false);
  assert_int_equal(merged.max_span_us, 30 * DAY);
  assert_int_equal(merged.max_age_us, 365 * DAY);
  sp_backfill_limits_merge(&merged, &long_span, false);
  assert_int_equal(merged.max_span_us, 30 * DAY);
  assert_int_equal(merged.max_age_us, 0);
  sp_backfill_limits_merge(&merged, &year, false);
  assert_int_equal(merged.max_age_us, 0);
  sp_source_history none = {0};
  sp_backfill_limits_merge(&none, &unlimited, true);
  sp_backfill_limits_merge(&none, &week, false);
  assert_int_equal(none.max_span_us, 7 * DAY);
}

static void test_provider_history(void **state) {
  (void)state;
  const sp_dataset_def *bars = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  sp_source_history h;
  char why[256];
  assert_true(sp_source_serves_history(&sp_source_yahoo, bars, "1m", &h, why, sizeof why));
  assert_int_equal(h.max_span_us, 7 * DAY);
  assert_int_equal(h.max_age_us, 30 * DAY);
  assert_true(sp_source_serves_history(&sp_source_yahoo, bars, "30m", &h, why, sizeof why));
  assert_int_equal(h.max_age_us, 60 * DAY);
  assert_true(sp_source_serves_history(&sp_source_yahoo, bars, "1h", &h, why, sizeof why));
  assert_int_equal(h.max_age_us, 729 * DAY);
  assert_true(sp_source_serves_history(&sp_source_yahoo, bars, "1d", &h, why, sizeof why));
  assert_int_equal(h.max_span_us, 0);
  assert_int_equal(h.max_age_us, 0);
  assert_false(sp_source_serves_history(&sp_source_yahoo, sp_dataset_get(SP_DS_FINANCIAL_DATA), NULL, &h, why,
                                        sizeof why));
  assert_non_null(strstr(why, "snapshot"));
  assert_false(sp_source_serves_history(&sp_source_yahoo, bars, "7x", &h, why, sizeof why));
  /* FRED and the World Bank: macro observations by date range, without limits */
  const sp_dataset_def *macro = sp_dataset_get(SP_DS_MACROECONOMIC);
  assert_true(sp_source_serves_history(&sp_source_fred, macro, NULL, &h, why, sizeof why));
  assert_int_equal(h.max_span_us, 0);
  assert_true(sp_source_serves_history(&sp_source_worldbank, macro, NULL, &h, why, sizeof why));
  assert_false(sp_source_serves_history(&sp_source_fred, sp_dataset_get(SP_DS_POLICY), NULL, &h, why, sizeof why));
  assert_non_null(strstr(why, "date window"));
  /* a provider without a way to ask for a past window, and one of another dataset */
  assert_false(sp_source_serves_history(&sp_source_treasury, sp_dataset_get(SP_DS_POLICY), NULL, &h, why,
                                        sizeof why));
  assert_non_null(strstr(why, "past date window"));
  assert_false(sp_source_serves_history(&sp_source_fred, bars, "1h", &h, why, sizeof why));
  assert_non_null(strstr(why, "does not serve stock_movements"));
}

/* Commit what a pipeline commit would for a row of KEY at t (watermark, first, cursor). */
static void store_row(sp_state *st, sp_backfill *b, int64_t t) {
  sp_error err = {0};
  sp_state_batch *batch = sp_state_batch_new();
  assert_non_null(batch);
  assert_int_equal(sp_state_batch_advance_watermark(batch, SOURCE, KEY, t), 0);
  assert_int_equal(sp_backfill_stage_first(batch, SOURCE, KEY, t), 0);
  if (b) {
    sp_backfill_row_done(b, KEY, t);
    assert_int_equal(sp_backfill_stage(b, batch), 0);
  }
  assert_int_equal(sp_state_batch_commit(st, batch, 0, &err), 0);
  sp_state_batch_free(batch);
}

static bool wants_key(sp_backfill *b, const char *key, int64_t t);
static bool wants(sp_backfill *b, int64_t t) { return wants_key(b, KEY, t); }

static bool wants_key(sp_backfill *b, const char *key, int64_t t) {
  sp_error err = {0};
  bool want = false;
  assert_int_equal(sp_backfill_want(b, key, t, &want, &err), 0);
  return want;
}

static void test_cursor_joins_live_and_resumes(void **state) {
  (void)state;
  temp_store store;
  sp_state *st = temp_store_open(&store);
  sp_error err = {0};
  sp_backfill *b;
  assert_int_equal(sp_backfill_open(st, SOURCE, "a..b", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  sp_backfill_progress pr;
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_true(pr.joins_live); /* never stored: the backfill is the series' live history */
  assert_int_equal(pr.end_us, 200 * DAY);
  assert_null(sp_backfill_indicators(b, KEY)); /* the live indicator state is used */
  assert_false(wants(b, 99 * DAY));
  assert_true(wants(b, 100 * DAY));
  assert_false(wants(b, 200 * DAY));
  store_row(st, b, 120 * DAY);
  assert_false(wants(b, 120 * DAY));
  assert_false(wants(b, 110 * DAY));
  assert_true(wants(b, 120 * DAY + 1));
  assert_int_equal(sp_backfill_rows(b), 1);
  sp_backfill_free(b);

  /* resumed: the cursor and live watermark say where it stopped */
  assert_int_equal(sp_backfill_open(st, SOURCE, "a..b", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_true(pr.joins_live);
  assert_int_equal(pr.next_us, 120 * DAY + 1);
  assert_int_equal(pr.rows, 1);
  sp_source_window w1 = {100 * DAY, 150 * DAY}, w2 = {150 * DAY, 200 * DAY};
  assert_true(sp_backfill_needs(b, KEY, &w1));
  assert_int_equal(sp_backfill_chunk_done(b, &w1, NULL, 0, &err), 0);
  assert_false(sp_backfill_needs(b, KEY, &w1));
  assert_true(sp_backfill_needs(b, KEY, &w2));
  assert_false(wants(b, 149 * DAY));
  sp_backfill_chunk_failed(b, &w2, NULL, 0); /* skipped for the rest of the run */
  assert_false(sp_backfill_needs(b, KEY, &w2));
  assert_false(wants(b, 160 * DAY));
  sp_backfill_free(b);

  /* the next run retries the failed chunk; then a finished backfill wants nothing */
  assert_int_equal(sp_backfill_open(st, SOURCE, "a..b", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  assert_true(wants(b, 160 * DAY));
  assert_int_equal(sp_backfill_chunk_done(b, &w2, NULL, 0, &err), 0);
  sp_backfill_free(b);
  assert_int_equal(sp_backfill_open(st, SOURCE, "a..b", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_int_equal(pr.next_us, 200 * DAY);
  assert_false(sp_backfill_needs(b, KEY, &w2));
  assert_false(wants(b, 199 * DAY));
  sp_backfill_free(b);

  /* another range of the same series: only before its first stored row (120 d), with
   * its own indicator state; the live watermark does not move back */
  assert_int_equal(sp_backfill_open(st, SOURCE, "c..", 50 * DAY, 300 * DAY, 0, &b, &err), 0);
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_false(pr.joins_live);
  assert_int_equal(pr.end_us, 120 * DAY);
  assert_non_null(sp_backfill_indicators(b, KEY));
  assert_true(wants(b, 50 * DAY));
  assert_true(wants(b, 120 * DAY - 1));
  assert_false(wants(b, 120 * DAY));
  assert_false(wants(b, 250 * DAY));
  store_row(st, b, 60 * DAY);
  int64_t v = 0;
  bool found = false;
  assert_int_equal(sp_state_get_watermark(st, SOURCE, KEY, &v, &found, &err), 0);
  assert_int_equal(v, 120 * DAY);
  assert_int_equal(sp_state_get_watermark(st, SOURCE, KEY "@first", &v, &found, &err), 0);
  assert_int_equal(v, 60 * DAY); /* the first only moves down */
  sp_backfill_free(b);
  /* resumed with the same arguments: its end stays 120 d although the first is now 60 d */
  assert_int_equal(sp_backfill_open(st, SOURCE, "c..", 50 * DAY, 300 * DAY, 0, &b, &err), 0);
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_int_equal(pr.end_us, 120 * DAY);
  assert_int_equal(pr.next_us, 60 * DAY + 1);
  assert_non_null(sp_backfill_indicators(b, KEY));
  sp_backfill_free(b);
  temp_store_close(&store);
}

static void test_cursor_redecided_and_legacy(void **state) {
  (void)state;
  temp_store store;
  sp_state *st = temp_store_open(&store);
  sp_error err = {0};
  sp_backfill *b;
  /* a joining cursor that stored nothing... */
  assert_int_equal(sp_backfill_open(st, SOURCE, "x..", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  sp_source_window w = {100 * DAY, 110 * DAY};
  assert_true(wants(b, 100 * DAY));
  assert_int_equal(sp_backfill_chunk_done(b, &w, NULL, 0, &err), 0); /* an empty chunk */
  sp_backfill_free(b);
  /* ...then the live collection stores the series from 150 d: resumed, it fills before */
  store_row(st, NULL, 150 * DAY);
  assert_int_equal(sp_backfill_open(st, SOURCE, "x..", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  sp_backfill_progress pr;
  assert_int_equal(sp_backfill_progress_of(b, KEY, &pr, &err), 0);
  assert_false(pr.joins_live);
  assert_int_equal(pr.end_us, 150 * DAY);
  assert_true(wants(b, 100 * DAY));
  assert_false(wants(b, 150 * DAY));
  sp_backfill_free(b);
  /* chunk_done and chunk_failed for listed series only; a retried series runs again */
  assert_int_equal(sp_backfill_open(st, SOURCE, "y..", 10 * DAY, 40 * DAY, 0, &b, &err), 0);
  const char *a = "stock_movements/A/1d", *c = "stock_movements/C/1d";
  assert_true(wants_key(b, a, 10 * DAY) && wants_key(b, c, 10 * DAY));
  sp_source_window first = {10 * DAY, 20 * DAY}, second = {20 * DAY, 30 * DAY};
  assert_int_equal(sp_backfill_chunk_done(b, &first, &a, 1, &err), 0);
  sp_backfill_chunk_failed(b, &first, &c, 1);
  assert_false(sp_backfill_needs(b, a, &first));
  assert_true(sp_backfill_needs(b, a, &second));
  assert_false(sp_backfill_needs(b, c, &first));
  assert_false(sp_backfill_needs(b, c, &second));
  sp_backfill_retry(b, c);
  assert_true(sp_backfill_needs(b, c, &first));
  assert_true(wants_key(b, c, 15 * DAY));
  sp_backfill_free(b);

  /* a series with a live watermark but no recorded first cannot be deduplicated */
  sp_state_batch *batch = sp_state_batch_new();
  assert_int_equal(sp_state_batch_advance_watermark(batch, SOURCE, "stock_movements/OLD/1h", 150 * DAY), 0);
  assert_int_equal(sp_state_batch_commit(st, batch, 0, &err), 0);
  sp_state_batch_free(batch);
  assert_int_equal(sp_backfill_open(st, SOURCE, "x..", 100 * DAY, 200 * DAY, 0, &b, &err), 0);
  assert_int_equal(sp_backfill_progress_of(b, "stock_movements/OLD/1h", &pr, &err), 0);
  assert_true(pr.failed);
  bool want = true;
  assert_int_equal(sp_backfill_want(b, "stock_movements/OLD/1h", 120 * DAY, &want, &err), 0);
  assert_false(want);
  sp_backfill_free(b);
  temp_store_close(&store);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_range_clamps),
      cmocka_unit_test(test_chunk_lengths_and_grid),
      cmocka_unit_test(test_provider_history),
      cmocka_unit_test(test_cursor_joins_live_and_resumes),
      cmocka_unit_test(test_cursor_redecided_and_legacy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
