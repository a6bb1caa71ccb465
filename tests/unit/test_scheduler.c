/*
 * test_scheduler.c — source scheduling with a fake clock: wall-clock alignment of
 * intervals and cron, NYSE awareness across the holidays, early closes and DST
 * changes of 2024–2027, stable jitter, one run after downtime; then the real
 * interruptible wait, woken by another thread and by a signal handler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/scheduler.h"
#include "core/timeutil.h"
#include "core_test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MINUTE (INT64_C(60) * SP_US_PER_SEC)
#define HOUR (60 * MINUTE)

static sp_schedule parse(const char *text) {
  sp_schedule s;
  sp_error err;
  assert_int_equal(sp_schedule_parse(text, &s, &err), 0);
  return s;
}

/* The slots a source runs on in [from, to), compared with the expected list of
 * timestamps (NULL-terminated). */
static void expect_slots(const char *schedule, bool intraday, const char *from, const char *to,
                         const char *const *expected) {
  sp_schedule s = parse(schedule);
  int64_t t = ts_of(from) - 1, end = ts_of(to);
  size_t i = 0;
  for (;;) {
    t = sp_scheduler_next_slot(&s, intraday, t);
    assert_true(t > 0);
    if (t >= end) break;
    char text[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(t, text);
    if (!expected[i]) fail_msg("%s: unexpected extra slot %s", schedule, text);
    if (strcmp(text, expected[i]) != 0) fail_msg("%s: slot %zu is %s, expected %s", schedule, i, text, expected[i]);
    i++;
  }
  if (expected[i]) fail_msg("%s: missing slot %s", schedule, expected[i]);
}

static void test_interval_alignment(void **state) {
  (void)state;
  sp_schedule s = parse("30m");
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-04T10:07:13Z")), ts_of("2025-06-04T10:30:00Z"));
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-04T10:30:00Z")), ts_of("2025-06-04T11:00:00Z"));
  s = parse("1h");
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-04T10:59:59.999999Z")), ts_of("2025-06-04T11:00:00Z"));
  s = parse("1d");
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-04T00:00:00Z")), ts_of("2025-06-05T00:00:00Z"));
  /* 1w: Mondays at 00:00 UTC (2025-06-09 and 2024-12-30 are Mondays). */
  s = parse("1w");
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-04T12:00:00Z")), ts_of("2025-06-09T00:00:00Z"));
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2025-06-09T00:00:00Z")), ts_of("2025-06-16T00:00:00Z"));
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("2024-12-29T23:59:59Z")), ts_of("2024-12-30T00:00:00Z"));
  assert_int_equal(sp_scheduler_slot_after(&s, ts_of("1969-12-20T00:00:00Z")), ts_of("1969-12-22T00:00:00Z"));
  /* Plain UTC: the DST change of 2025-03-09 does not move hourly slots of a
   * non-intraday source; that day has all 24 of them. */
  s = parse("1h");
  int64_t t = ts_of("2025-03-09T00:00:00Z") - 1;
  int count = 0;
  while ((t = sp_scheduler_next_slot(&s, false, t)) < ts_of("2025-03-10T00:00:00Z")) count++;
  assert_int_equal(count, 24);
}

static void test_cron_weekdays(void **state) {
  (void)state;
  /* `30 14 * * 1-5` across the weekend of the 2025 DST start: UTC, so 09:30 EST on
   * Friday and 10:30 EDT on Monday. */
  static const char *const week[] = {"2025-03-06T14:30:00Z", "2025-03-07T14:30:00Z", "2025-03-10T14:30:00Z",
                                     "2025-03-11T14:30:00Z", NULL};
  expect_slots("30 14 * * 1-5", false, "2025-03-06T00:00:00Z", "2025-03-12T00:00:00Z", week);
  expect_slots("30 14 * * 1-5", true, "2025-03-06T00:00:00Z", "2025-03-12T00:00:00Z", week);
  /* Thanksgiving 2024 with one slot a day: the Thursday 14:30 slot is the first after
   * Wednesday's close, so an intraday source still runs it once to pick up
   * Wednesday's afternoon bars. */
  static const char *const daily_plain[] = {"2024-11-27T14:30:00Z", "2024-11-28T14:30:00Z",
                                            "2024-11-29T14:30:00Z", "2024-12-02T14:30:00Z", NULL};
  expect_slots("30 14 * * 1-5", false, "2024-11-27T00:00:00Z", "2024-12-03T00:00:00Z", daily_plain);
  expect_slots("30 14 * * 1-5", true, "2024-11-27T00:00:00Z", "2024-12-03T00:00:00Z", daily_plain);
  /* With a slot after each close as well, the holiday is skipped entirely. */
  static const char *const plain[] = {"2024-11-27T14:30:00Z", "2024-11-27T21:30:00Z", "2024-11-28T14:30:00Z",
                                      "2024-11-28T21:30:00Z", "2024-11-29T14:30:00Z", "2024-11-29T21:30:00Z",
                                      "2024-12-02T14:30:00Z", "2024-12-02T21:30:00Z", NULL};
  static const char *const market[] = {"2024-11-27T14:30:00Z", "2024-11-27T21:30:00Z", "2024-11-29T14:30:00Z",
                                       "2024-11-29T21:30:00Z", "2024-12-02T14:30:00Z", "2024-12-02T21:30:00Z",
                                       NULL};
  expect_slots("30 14,21 * * 1-5", false, "2024-11-27T00:00:00Z", "2024-12-03T00:00:00Z", plain);
  expect_slots("30 14,21 * * 1-5", true, "2024-11-27T00:00:00Z", "2024-12-03T00:00:00Z", market);
}

/* An hourly intraday source around Thanksgiving 2024: runs 10:00–15:00 EST and the
 * 16:00 catch-up on Wednesday, nothing on Thursday, 10:00–12:00 and the 13:00
 * catch-up on the early-close Friday, then Monday. */
static void test_intraday_early_close(void **state) {
  (void)state;
  static const char *const hourly[] = {
      "2024-11-27T15:00:00Z", "2024-11-27T16:00:00Z", "2024-11-27T17:00:00Z", "2024-11-27T18:00:00Z",
      "2024-11-27T19:00:00Z", "2024-11-27T20:00:00Z", "2024-11-27T21:00:00Z", /* close catch-up */
      "2024-11-29T15:00:00Z", "2024-11-29T16:00:00Z", "2024-11-29T17:00:00Z",
      "2024-11-29T18:00:00Z", /* 13:00 early close catch-up */
      "2024-12-02T15:00:00Z", NULL};
  expect_slots("1h", true, "2024-11-27T00:00:00Z", "2024-12-02T15:30:00Z", hourly);
  /* Half-hourly: the 09:30 open itself runs. */
  static const char *const half[] = {"2024-11-29T14:30:00Z", "2024-11-29T15:00:00Z", "2024-11-29T15:30:00Z",
                                     "2024-11-29T16:00:00Z", "2024-11-29T16:30:00Z", "2024-11-29T17:00:00Z",
                                     "2024-11-29T17:30:00Z", "2024-11-29T18:00:00Z", "2024-12-02T14:30:00Z",
                                     NULL};
  expect_slots("30m", true, "2024-11-29T00:00:00Z", "2024-12-02T14:45:00Z", half);
  /* Christmas Eve 2025 closes at 13:00 EST too; Christmas Day is skipped. */
  static const char *const xmas[] = {"2025-12-24T15:00:00Z", "2025-12-24T16:00:00Z", "2025-12-24T17:00:00Z",
                                     "2025-12-24T18:00:00Z", "2025-12-26T15:00:00Z", NULL};
  expect_slots("1h", true, "2025-12-24T00:00:00Z", "2025-12-26T15:30:00Z", xmas);
  /* A daily intraday source (00:00 UTC) only ever runs as the catch-up after a close:
   * not after Friday 2024-11-29 -> Saturday 00:00 runs, Sunday and Monday 00:00 do
   * not, Tuesday 00:00 (after Monday's close) does. */
  static const char *const daily[] = {"2024-11-30T00:00:00Z", "2024-12-03T00:00:00Z", NULL};
  expect_slots("1d", true, "2024-11-29T00:00:00Z", "2024-12-03T12:00:00Z", daily);
}

/* Across the DST changes of 2025 (March 9) and 2026 (November 1) the session moves by
 * an hour in UTC, and the intraday slots move with it. */
static void test_intraday_dst(void **state) {
  (void)state;
  static const char *const spring[] = {
      "2025-03-07T15:00:00Z", "2025-03-07T16:00:00Z", "2025-03-07T17:00:00Z", "2025-03-07T18:00:00Z",
      "2025-03-07T19:00:00Z", "2025-03-07T20:00:00Z", "2025-03-07T21:00:00Z", /* 16:00 EST */
      "2025-03-10T14:00:00Z", "2025-03-10T15:00:00Z", "2025-03-10T16:00:00Z", "2025-03-10T17:00:00Z",
      "2025-03-10T18:00:00Z", "2025-03-10T19:00:00Z", "2025-03-10T20:00:00Z", /* 16:00 EDT */
      NULL};
  expect_slots("1h", true, "2025-03-07T00:00:00Z", "2025-03-11T00:00:00Z", spring);
  static const char *const autumn[] = {
      "2026-10-30T14:00:00Z", "2026-10-30T15:00:00Z", "2026-10-30T16:00:00Z", "2026-10-30T17:00:00Z",
      "2026-10-30T18:00:00Z", "2026-10-30T19:00:00Z", "2026-10-30T20:00:00Z", /* 16:00 EDT */
      "2026-11-02T15:00:00Z", "2026-11-02T16:00:00Z", "2026-11-02T17:00:00Z", "2026-11-02T18:00:00Z",
      "2026-11-02T19:00:00Z", "2026-11-02T20:00:00Z", "2026-11-02T21:00:00Z", /* 16:00 EST */
      NULL};
  expect_slots("1h", true, "2026-10-30T00:00:00Z", "2026-11-03T00:00:00Z", autumn);
  /* 2027: Good Friday (March 26) and the observed Juneteenth (Friday June 18). */
  static const char *const holidays2027[] = {"2027-03-25T20:00:00Z", "2027-03-29T14:00:00Z", NULL};
  expect_slots("1h", true, "2027-03-25T19:30:00Z", "2027-03-29T14:30:00Z", holidays2027);
  static const char *const juneteenth[] = {"2027-06-17T20:00:00Z", "2027-06-21T13:30:00Z", NULL};
  expect_slots("30m", true, "2027-06-17T19:45:00Z", "2027-06-21T13:45:00Z", juneteenth);
}

static void test_jitter(void **state) {
  (void)state;
  const int64_t max = 90 * SP_US_PER_SEC;
  int64_t a = sp_scheduler_jitter_us("financial_source", max);
  assert_int_equal(a, sp_scheduler_jitter_us("financial_source", max));
  assert_true(a >= 0 && a <= max);
  assert_int_equal(sp_scheduler_jitter_us("financial_source", 0), 0);
  /* Different sources spread out: 50 names take many distinct values. */
  int64_t seen[50];
  size_t distinct = 0;
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "source_%d", i);
    int64_t j = sp_scheduler_jitter_us(name, max);
    assert_true(j >= 0 && j <= max);
    bool dup = false;
    for (size_t k = 0; k < distinct; k++) dup |= seen[k] == j;
    if (!dup) seen[distinct++] = j;
  }
  assert_true(distinct >= 45);
  /* The run is due at slot + jitter, and the jittered run does not repeat its slot. */
  sp_schedule_entry e = {.name = "news_source", .schedule = parse("1h"), .max_jitter_us = max};
  int64_t j = sp_scheduler_jitter_us("news_source", max);
  e.last_run_us = ts_of("2025-06-04T10:00:00Z") + j;
  assert_int_equal(sp_scheduler_due_us(&e, e.last_run_us), ts_of("2025-06-04T11:00:00Z") + j);
  e.last_run_us -= 1; /* ran just before its jittered time: the same slot is still due */
  assert_int_equal(sp_scheduler_due_us(&e, e.last_run_us), ts_of("2025-06-04T10:00:00Z") + j);
}

/* Simulate the daemon's loop with a fake clock from `from` to `to`: run whenever the
 * entry is due, record the run, otherwise advance the clock to the due time.
 * Returns the number of runs and stores their times. */
static size_t simulate(sp_schedule_entry *e, int64_t from, int64_t to, int64_t *runs, size_t cap) {
  size_t n = 0;
  for (int64_t now = from; now < to;) {
    int64_t due = sp_scheduler_due_us(e, now);
    assert_true(due >= 0);
    if (due <= now) {
      assert_true(n < cap);
      runs[n++] = now;
      e->last_run_us = now;
      now += 5 * SP_US_PER_SEC; /* the run itself takes a while */
    } else {
      now = due;
    }
  }
  return n;
}

static void test_missed_runs_run_once(void **state) {
  (void)state;
  /* Last run Friday 2025-03-07 15:00; the daemon was down three days and comes back
   * Monday 15:20 (after the DST change).  One run at once, then the next hour. */
  sp_schedule_entry e = {.name = "movement_source", .schedule = parse("1h"), .intraday = true};
  e.last_run_us = ts_of("2025-03-07T15:00:00Z");
  int64_t runs[16];
  size_t n = simulate(&e, ts_of("2025-03-10T15:20:00Z"), ts_of("2025-03-10T17:30:00Z"), runs, 16);
  assert_int_equal(n, 3);
  assert_int_equal(runs[0], ts_of("2025-03-10T15:20:00Z"));
  assert_int_equal(runs[1], ts_of("2025-03-10T16:00:00Z"));
  assert_int_equal(runs[2], ts_of("2025-03-10T17:00:00Z"));
  /* The same for a daily source down for a week, and a weekly one down a month. */
  sp_schedule_entry daily = {.name = "macro_source", .schedule = parse("1d"), .last_run_us = ts_of("2026-11-01T00:00:00Z")};
  n = simulate(&daily, ts_of("2026-11-08T09:00:00Z"), ts_of("2026-11-09T12:00:00Z"), runs, 16);
  assert_int_equal(n, 2);
  assert_int_equal(runs[1], ts_of("2026-11-09T00:00:00Z"));
  sp_schedule_entry weekly = {.name = "policy_source", .schedule = parse("1w"), .last_run_us = ts_of("2027-01-04T00:00:00Z")};
  n = simulate(&weekly, ts_of("2027-02-03T09:00:00Z"), ts_of("2027-02-10T00:00:00Z"), runs, 16);
  assert_int_equal(n, 2);
  assert_int_equal(runs[1], ts_of("2027-02-08T00:00:00Z")); /* a Monday */
  /* The clock was set back a day: the next run is the next slot, not tomorrow's. */
  sp_schedule_entry back = {.name = "y", .schedule = parse("1h"), .last_run_us = ts_of("2025-01-02T03:00:00Z")};
  assert_int_equal(sp_scheduler_due_us(&back, ts_of("2025-01-01T03:17:00Z")), ts_of("2025-01-01T04:00:00Z"));
  /* Never run: due at once. */
  sp_schedule_entry fresh = {.name = "x", .schedule = parse("1h"), .last_run_us = SP_SCHEDULER_NEVER};
  assert_int_equal(sp_scheduler_due_us(&fresh, ts_of("2025-01-01T03:17:00Z")), ts_of("2025-01-01T03:17:00Z"));
  /* A full intraday week of 2024 with no downtime: 7 hourly runs per full session
   * (10:00-15:00 plus the close), 4 on the early close, none on the holiday. */
  sp_schedule_entry week = {.name = "financial_source", .schedule = parse("1h"), .intraday = true,
                            .max_jitter_us = 60 * SP_US_PER_SEC, .last_run_us = ts_of("2024-11-24T00:00:00Z")};
  int64_t many[64];
  n = simulate(&week, ts_of("2024-11-24T00:00:00Z"), ts_of("2024-11-30T00:00:00Z"), many, 64);
  assert_int_equal(n, 7 * 3 + 4);
}

static void test_next_due_picks_earliest(void **state) {
  (void)state;
  sp_schedule_entry entries[3] = {
      {.name = "a", .schedule = parse("1d"), .last_run_us = ts_of("2025-06-04T00:00:00Z")},
      {.name = "b", .schedule = parse("30m"), .last_run_us = ts_of("2025-06-04T10:00:00Z")},
      {.name = "c", .schedule = parse("1h"), .last_run_us = ts_of("2025-06-04T10:00:00Z")},
  };
  int64_t due;
  assert_int_equal(sp_scheduler_next_due(entries, 3, ts_of("2025-06-04T10:05:00Z"), &due), 1);
  assert_int_equal(due, ts_of("2025-06-04T10:30:00Z"));
  assert_int_equal(sp_scheduler_next_due(entries, 0, 0, &due), 0);
  assert_int_equal(due, -1);
}

/* ---- the real wait ---- */

/* Give the main thread 50 ms to start sleeping. */
static void pause_briefly(void) {
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
}

static void *signal_later(void *arg) {
  pause_briefly();
  sp_wakeup_signal(arg);
  return NULL;
}

static void test_wakeup_from_thread(void **state) {
  (void)state;
  sp_wakeup w;
  sp_error err;
  assert_int_equal(sp_wakeup_open(&w, &err), 0);
  /* A deadline in the past returns at once, a near one after it has passed. */
  assert_int_equal(sp_wakeup_sleep_until(&w, sp_now_us() - 1, &err), 0);
  int64_t deadline = sp_now_us() + 20 * 1000;
  assert_int_equal(sp_wakeup_sleep_until(&w, deadline, &err), 0);
  assert_true(sp_now_us() >= deadline);
  /* A one-hour sleep is cut short by another thread. */
  pthread_t thread;
  int64_t start = sp_monotonic_us();
  assert_int_equal(pthread_create(&thread, NULL, signal_later, &w), 0);
  assert_int_equal(sp_wakeup_sleep_until(&w, sp_now_us() + HOUR, &err), 1);
  assert_true(sp_monotonic_us() - start < 10 * SP_US_PER_SEC);
  assert_int_equal(pthread_join(thread, NULL), 0);
  /* A wake that arrives before the sleep makes it return at once, and is consumed. */
  sp_wakeup_signal(&w);
  assert_int_equal(sp_wakeup_sleep_until(&w, INT64_MAX, &err), 1);
  assert_int_equal(sp_wakeup_sleep_until(&w, sp_now_us() + 1000, &err), 0);
  sp_wakeup_close(&w);
}

static sp_wakeup *signal_target;
static volatile sig_atomic_t stop_requested;

static void on_sigusr1(int sig) {
  (void)sig;
  stop_requested = 1;
  sp_wakeup_signal(signal_target);
}

static void *raise_later(void *arg) {
  pause_briefly();
  pthread_kill(*(pthread_t *)arg, SIGUSR1);
  return NULL;
}

static void test_wait_woken_by_signal(void **state) {
  (void)state;
  sp_wakeup w;
  sp_error err;
  assert_int_equal(sp_wakeup_open(&w, &err), 0);
  signal_target = &w;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);

  /* A source due now is returned at once. */
  sp_schedule_entry entries[2] = {
      {.name = "weekly", .schedule = parse("1w"), .last_run_us = sp_now_us()},
      {.name = "fresh", .schedule = parse("1h"), .last_run_us = SP_SCHEDULER_NEVER},
  };
  size_t which = 99;
  assert_int_equal(sp_scheduler_wait(&w, entries, 2, &which, &err), 0);
  assert_int_equal(which, 1);
  /* Only the weekly source, not due for days: the signal handler ends the wait.  (Run
   * just before Monday 00:00 UTC, its slot may come first: then it runs, as in the
   * daemon, and the wait goes on until the signal.) */
  pthread_t self = pthread_self(), thread;
  int64_t start = sp_monotonic_us();
  assert_int_equal(pthread_create(&thread, NULL, raise_later, &self), 0);
  int rc;
  while ((rc = sp_scheduler_wait(&w, entries, 1, &which, &err)) == 0) entries[0].last_run_us = sp_now_us();
  assert_int_equal(rc, 1);
  assert_true(stop_requested);
  assert_true(sp_monotonic_us() - start < 10 * SP_US_PER_SEC);
  assert_int_equal(pthread_join(thread, NULL), 0);
  /* With no sources at all it waits for a wake only. */
  sp_wakeup_signal(&w);
  assert_int_equal(sp_scheduler_wait(&w, entries, 0, &which, &err), 1);

  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
  sp_wakeup_close(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interval_alignment),
      cmocka_unit_test(test_cron_weekdays),
      cmocka_unit_test(test_intraday_early_close),
      cmocka_unit_test(test_intraday_dst),
      cmocka_unit_test(test_jitter),
      cmocka_unit_test(test_missed_runs_run_once),
      cmocka_unit_test(test_next_due_picks_earliest),
      cmocka_unit_test(test_wakeup_from_thread),
      cmocka_unit_test(test_wait_woken_by_signal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
