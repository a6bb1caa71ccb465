/*
 * test_market_calendar.c — the NYSE calendar against the exchange's published
 * holiday and early-close lists for 2024–2027, New York daylight-saving instants for
 * the same years (and historic rules), the system tz database as an independent
 * oracle for 1967–2037, sessions, trading-day arithmetic and bar completion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/market_calendar.h"
#include "core/timeutil.h"
#include "core_test_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The NYSE's published "Holidays & Trading Hours" for each year: full closures, then
 * the 1:00 p.m. early closes.  2025 also had the unscheduled closing of January 9
 * (National Day of Mourning for President Carter), announced separately. */
static const struct published_year {
  int year;
  const char *holidays[12];
  const char *early_closes[4];
} published[] = {
    {2024,
     {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19",
      "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"},
     {"2024-07-03", "2024-11-29", "2024-12-24"}},
    {2025,
     {"2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26",
      "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"},
     {"2025-07-03", "2025-11-28", "2025-12-24"}},
    {2026,
     {"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
      "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"},
     {"2026-11-27", "2026-12-24"}},
    {2027,
     {"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18",
      "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"},
     {"2027-11-26"}},
};

static size_t count_strings(const char *const *list, size_t cap) {
  size_t n = 0;
  while (n < cap && list[n]) n++;
  return n;
}

static void test_published_holidays(void **state) {
  (void)state;
  for (size_t y = 0; y < sizeof published / sizeof published[0]; y++) {
    const struct published_year *p = &published[y];
    int32_t got[32];
    size_t n = sp_nyse_holidays(p->year, got, 32);
    size_t want = count_strings(p->holidays, 12);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
      char text[SP_DATE_TEXT_MAX];
      sp_format_date(got[i], text);
      assert_string_equal(text, p->holidays[i]);
      assert_true(sp_nyse_is_holiday(got[i], NULL));
      assert_false(sp_nyse_is_trading_day(got[i]));
    }
  }
}

static void test_published_early_closes(void **state) {
  (void)state;
  for (size_t y = 0; y < sizeof published / sizeof published[0]; y++) {
    const struct published_year *p = &published[y];
    size_t want = count_strings(p->early_closes, 4), found = 0;
    int32_t first = sp_days_from_civil(p->year, 1, 1), last = sp_days_from_civil(p->year, 12, 31);
    for (int32_t day = first; day <= last; day++) {
      if (!sp_nyse_is_early_close(day)) continue;
      char text[SP_DATE_TEXT_MAX];
      sp_format_date(day, text);
      assert_true(found < want);
      assert_string_equal(text, p->early_closes[found]);
      found++;
    }
    assert_int_equal(found, want);
  }
}

static void test_holiday_names_and_observance(void **state) {
  (void)state;
  const char *name = NULL;
  assert_true(sp_nyse_is_holiday(day_of("2024-03-29"), &name));
  assert_string_equal(name, "Good Friday");
  assert_true(sp_nyse_is_holiday(day_of("2027-12-24"), &name));
  assert_string_equal(name, "Christmas Day");
  assert_true(sp_nyse_is_holiday(day_of("2027-06-18"), &name));
  assert_string_equal(name, "Juneteenth");
  /* New Year's Day on a Saturday is not observed: December 31 trades. */
  assert_true(sp_nyse_is_trading_day(day_of("2021-12-31")));
  assert_true(sp_nyse_is_trading_day(day_of("2027-12-31")));
  assert_int_equal(sp_nyse_holidays(2022, NULL, 0), 9); /* 2022 had no New Year holiday */
  /* ... on a Sunday it moves to Monday. */
  assert_true(sp_nyse_is_holiday(day_of("2023-01-02"), &name));
  assert_string_equal(name, "New Year's Day");
  /* Juneteenth only from 2022; MLK day only from 1998. */
  assert_false(sp_nyse_is_holiday(day_of("2021-06-18"), NULL));
  assert_true(sp_nyse_is_holiday(day_of("2022-06-20"), NULL));
  assert_false(sp_nyse_is_holiday(day_of("1997-01-20"), NULL));
  assert_true(sp_nyse_is_holiday(day_of("1998-01-19"), NULL));
  /* Unscheduled closings. */
  assert_true(sp_nyse_is_holiday(day_of("2012-10-30"), &name));
  assert_string_equal(name, "Hurricane Sandy");
  assert_int_equal(sp_nyse_holidays(2001, NULL, 0), 13);
  /* Weekends are closed but are not holidays. */
  assert_false(sp_nyse_is_holiday(day_of("2024-11-30"), NULL));
  assert_false(sp_nyse_is_trading_day(day_of("2024-11-30")));
  /* Good Friday far from the test years (Easter 2038: April 25; 2285: March 22). */
  assert_true(sp_nyse_is_holiday(day_of("2038-04-23"), NULL));
  assert_true(sp_nyse_is_holiday(day_of("2285-03-20"), NULL));
  /* Early closes need a trading day: July 3 2026 is the observed holiday itself. */
  assert_false(sp_nyse_is_early_close(day_of("2026-07-03")));
  assert_false(sp_nyse_is_early_close(day_of("2026-07-02")));
  assert_true(sp_nyse_is_early_close(day_of("2018-12-24")));
}

/* Daylight-saving instants of the US rules, the test years and both older rules. */
static void test_dst_instants(void **state) {
  (void)state;
  static const struct {
    int year;
    const char *start, *end;
  } cases[] = {
      {2024, "2024-03-10T07:00:00Z", "2024-11-03T06:00:00Z"},
      {2025, "2025-03-09T07:00:00Z", "2025-11-02T06:00:00Z"},
      {2026, "2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"},
      {2027, "2027-03-14T07:00:00Z", "2027-11-07T06:00:00Z"},
      {2007, "2007-03-11T07:00:00Z", "2007-11-04T06:00:00Z"},
      {2006, "2006-04-02T07:00:00Z", "2006-10-29T06:00:00Z"},
      {1987, "1987-04-05T07:00:00Z", "1987-10-25T06:00:00Z"},
      {1986, "1986-04-27T07:00:00Z", "1986-10-26T06:00:00Z"},
      {1974, "1974-01-06T07:00:00Z", "1974-10-27T06:00:00Z"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t start = ts_of(cases[i].start), end = ts_of(cases[i].end);
    assert_int_equal(sp_ny_dst_start_utc(cases[i].year), start);
    assert_int_equal(sp_ny_dst_end_utc(cases[i].year), end);
    assert_int_equal(sp_ny_utc_offset_minutes(start - 1), -300);
    assert_int_equal(sp_ny_utc_offset_minutes(start), -240);
    assert_int_equal(sp_ny_utc_offset_minutes(end - 1), -240);
    assert_int_equal(sp_ny_utc_offset_minutes(end), -300);
  }
}

static void test_local_time(void **state) {
  (void)state;
  /* Ordinary winter and summer times. */
  assert_int_equal(sp_ny_local_to_utc(day_of("2025-01-15"), 9 * 60 + 30), ts_of("2025-01-15T14:30:00Z"));
  assert_int_equal(sp_ny_local_to_utc(day_of("2025-07-15"), 9 * 60 + 30), ts_of("2025-07-15T13:30:00Z"));
  /* Spring forward 2025-03-09: 01:59 EST, 02:30 does not exist (read as EST), 03:00 EDT. */
  int32_t spring = day_of("2025-03-09");
  assert_int_equal(sp_ny_local_to_utc(spring, 1 * 60 + 59), ts_of("2025-03-09T06:59:00Z"));
  assert_int_equal(sp_ny_local_to_utc(spring, 2 * 60 + 30), ts_of("2025-03-09T07:30:00Z"));
  assert_int_equal(sp_ny_local_to_utc(spring, 3 * 60), ts_of("2025-03-09T07:00:00Z"));
  /* Fall back 2025-11-02: 01:30 happens twice, the first (EDT) is taken; 02:00 is EST. */
  int32_t fall = day_of("2025-11-02");
  assert_int_equal(sp_ny_local_to_utc(fall, 1 * 60 + 30), ts_of("2025-11-02T05:30:00Z"));
  assert_int_equal(sp_ny_local_to_utc(fall, 2 * 60), ts_of("2025-11-02T07:00:00Z"));
  /* Minutes past midnight run into the next day. */
  assert_int_equal(sp_ny_local_to_utc(day_of("2025-12-31"), 24 * 60 + 60), ts_of("2026-01-01T06:00:00Z"));

  int32_t day;
  int minute;
  sp_ny_from_utc(ts_of("2025-11-02T06:30:00Z"), &day, &minute); /* second 01:30 */
  assert_int_equal(day, fall);
  assert_int_equal(minute, 90);
  sp_ny_from_utc(ts_of("2026-01-01T04:59:59Z"), &day, &minute);
  assert_int_equal(day, day_of("2025-12-31"));
  assert_int_equal(minute, 23 * 60 + 59);
  sp_ny_from_utc(ts_of("1969-12-31T23:00:00Z"), &day, NULL); /* before the epoch */
  assert_int_equal(day, day_of("1969-12-31"));
}

/* Compare one instant with the C library's view of America/New_York (TZ already set). */
static void check_against_localtime(int64_t at) {
  time_t secs = (time_t)(at / SP_US_PER_SEC);
  struct tm tm;
  assert_non_null(localtime_r(&secs, &tm));
  assert_int_equal(sp_ny_utc_offset_minutes(at), tm.tm_gmtoff / 60);
  int32_t day;
  int minute;
  sp_ny_from_utc(at, &day, &minute);
  assert_int_equal(day, sp_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday));
  assert_int_equal(minute, tm.tm_hour * 60 + tm.tm_min);
}

/* The system's tz database, where installed, as an independent oracle: every three
 * hours and one second either side of every transition from 1967 to 2037. */
static void test_against_tz_database(void **state) {
  (void)state;
  if (access("/usr/share/zoneinfo/America/New_York", R_OK) != 0) skip();
  char *old_tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
  setenv("TZ", "America/New_York", 1);
  tzset();
  size_t checked = 0;
  for (int year = 1967; year <= 2037; year++) {
    int64_t transitions[2] = {sp_ny_dst_start_utc(year), sp_ny_dst_end_utc(year)};
    for (int i = 0; i < 2; i++) {
      check_against_localtime(transitions[i] - SP_US_PER_SEC);
      check_against_localtime(transitions[i]);
    }
    int64_t first = (int64_t)sp_days_from_civil(year, 1, 1) * SP_US_PER_DAY;
    int64_t last = (int64_t)sp_days_from_civil(year + 1, 1, 1) * SP_US_PER_DAY;
    for (int64_t t = first; t < last; t += 3 * 3600 * SP_US_PER_SEC, checked++) check_against_localtime(t);
  }
  if (old_tz) {
    setenv("TZ", old_tz, 1);
    free(old_tz);
  } else {
    unsetenv("TZ");
  }
  tzset();
  assert_true(checked > 200000);
}

static void test_sessions(void **state) {
  (void)state;
  int32_t winter = day_of("2024-01-02"), summer = day_of("2024-07-03"), thanks = day_of("2024-11-29");
  assert_int_equal(sp_nyse_session_open_utc(winter), ts_of("2024-01-02T14:30:00Z"));
  assert_int_equal(sp_nyse_session_close_utc(winter), ts_of("2024-01-02T21:00:00Z"));
  assert_int_equal(sp_nyse_session_open_utc(summer), ts_of("2024-07-03T13:30:00Z"));
  assert_int_equal(sp_nyse_session_close_utc(summer), ts_of("2024-07-03T17:00:00Z")); /* 13:00 EDT */
  assert_int_equal(sp_nyse_session_close_utc(thanks), ts_of("2024-11-29T18:00:00Z"));   /* 13:00 EST */
  /* First session after the DST change of 2025-03-09 opens an hour earlier in UTC. */
  assert_int_equal(sp_nyse_session_open_utc(day_of("2025-03-07")), ts_of("2025-03-07T14:30:00Z"));
  assert_int_equal(sp_nyse_session_open_utc(day_of("2025-03-10")), ts_of("2025-03-10T13:30:00Z"));
  assert_int_equal(sp_nyse_session_open_utc(day_of("2024-12-25")), SP_NYSE_NO_SESSION);
  assert_int_equal(sp_nyse_session_close_utc(day_of("2024-12-28")), SP_NYSE_NO_SESSION);

  assert_false(sp_nyse_is_open_at(ts_of("2024-01-02T14:29:59Z")));
  assert_true(sp_nyse_is_open_at(ts_of("2024-01-02T14:30:00Z")));
  assert_true(sp_nyse_is_open_at(ts_of("2024-01-02T20:59:59Z")));
  assert_false(sp_nyse_is_open_at(ts_of("2024-01-02T21:00:00Z")));
  assert_false(sp_nyse_is_open_at(ts_of("2024-11-29T18:00:00Z")));
  assert_false(sp_nyse_is_open_at(ts_of("2024-11-28T16:00:00Z"))); /* Thanksgiving */
  assert_false(sp_nyse_is_open_at(ts_of("2024-11-30T16:00:00Z"))); /* Saturday */

  assert_int_equal(sp_nyse_last_close_at_or_before(ts_of("2024-11-29T18:00:00Z")), ts_of("2024-11-29T18:00:00Z"));
  assert_int_equal(sp_nyse_last_close_at_or_before(ts_of("2024-11-29T17:59:59Z")), ts_of("2024-11-27T21:00:00Z"));
  assert_int_equal(sp_nyse_last_close_at_or_before(ts_of("2024-12-02T03:00:00Z")), ts_of("2024-11-29T18:00:00Z"));
  assert_int_equal(sp_nyse_next_open_after(ts_of("2024-11-27T21:00:00Z")), ts_of("2024-11-29T14:30:00Z"));
  assert_int_equal(sp_nyse_next_open_after(ts_of("2024-11-29T14:30:00Z")), ts_of("2024-12-02T14:30:00Z"));
  assert_int_equal(sp_nyse_next_open_after(ts_of("2024-11-29T14:29:59Z")), ts_of("2024-11-29T14:30:00Z"));
}

static void test_trading_day_arithmetic(void **state) {
  (void)state;
  assert_int_equal(sp_nyse_next_trading_day(day_of("2024-11-27")), day_of("2024-11-29"));
  assert_int_equal(sp_nyse_next_trading_day(day_of("2025-04-17")), day_of("2025-04-21"));
  assert_int_equal(sp_nyse_next_trading_day(day_of("2027-12-23")), day_of("2027-12-27"));
  assert_int_equal(sp_nyse_previous_trading_day(day_of("2024-12-26")), day_of("2024-12-24"));
  assert_int_equal(sp_nyse_previous_trading_day(day_of("2025-01-21")), day_of("2025-01-17"));

  /* Trading days per year: weekdays minus the published closures. */
  assert_int_equal(sp_nyse_trading_days_between(day_of("2024-01-01"), day_of("2024-12-31")), 252);
  assert_int_equal(sp_nyse_trading_days_between(day_of("2025-01-01"), day_of("2025-12-31")), 250);
  assert_int_equal(sp_nyse_trading_days_between(day_of("2026-01-01"), day_of("2026-12-31")), 251);
  assert_int_equal(sp_nyse_trading_days_between(day_of("2027-01-01"), day_of("2027-12-31")), 251);
  assert_int_equal(sp_nyse_trading_days_between(day_of("2024-11-30"), day_of("2024-11-30")), 0);
  assert_int_equal(sp_nyse_trading_days_between(day_of("2024-12-31"), day_of("2024-12-01")), 0);

  /* Against a day-by-day count over ranges of every length and start weekday. */
  int32_t base = day_of("2023-12-20");
  for (int32_t from = base; from < base + 20; from++) {
    int32_t expect = 0;
    for (int32_t to = from; to < from + 800; to++) {
      if (sp_nyse_is_trading_day(to)) expect++;
      if ((to - from) % 37 == 0 || to - from < 14)
        assert_int_equal(sp_nyse_trading_days_between(from, to), expect);
    }
  }
}

static void test_bar_completion(void **state) {
  (void)state;
  const int64_t hour = 3600 * SP_US_PER_SEC, day = 24 * hour;
  /* Ordinary hourly bar: start + 1h. */
  int64_t bar = ts_of("2024-11-27T15:30:00Z"); /* 10:30 EST */
  assert_int_equal(sp_bar_end_utc(bar, hour), ts_of("2024-11-27T16:30:00Z"));
  assert_false(sp_bar_is_complete(bar, hour, ts_of("2024-11-27T16:29:59Z")));
  assert_true(sp_bar_is_complete(bar, hour, ts_of("2024-11-27T16:30:00Z")));
  /* The last hourly bar of a day (15:30 local) ends at the 16:00 close. */
  assert_int_equal(sp_bar_end_utc(ts_of("2024-11-27T20:30:00Z"), hour), ts_of("2024-11-27T21:00:00Z"));
  /* Early close: the 12:30 bar ends at 13:00. */
  assert_int_equal(sp_bar_end_utc(ts_of("2024-11-29T17:30:00Z"), hour), ts_of("2024-11-29T18:00:00Z"));
  /* Daily bars start at the open and end at the close (early or not). */
  assert_int_equal(sp_bar_end_utc(ts_of("2024-11-29T14:30:00Z"), day), ts_of("2024-11-29T18:00:00Z"));
  assert_int_equal(sp_bar_end_utc(ts_of("2025-07-15T13:30:00Z"), day), ts_of("2025-07-15T20:00:00Z"));
  assert_false(sp_bar_is_complete(ts_of("2025-07-15T13:30:00Z"), day, ts_of("2025-07-15T19:59:59Z")));
  assert_true(sp_bar_is_complete(ts_of("2025-07-15T13:30:00Z"), day, ts_of("2025-07-15T20:00:00Z")));
  /* Outside a session: start + interval. */
  assert_int_equal(sp_bar_end_utc(ts_of("2024-11-30T15:00:00Z"), hour), ts_of("2024-11-30T16:00:00Z"));
  assert_int_equal(sp_bar_end_utc(ts_of("2024-11-27T13:00:00Z"), hour), ts_of("2024-11-27T14:00:00Z"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_published_holidays),
      cmocka_unit_test(test_published_early_closes),
      cmocka_unit_test(test_holiday_names_and_observance),
      cmocka_unit_test(test_dst_instants),
      cmocka_unit_test(test_local_time),
      cmocka_unit_test(test_against_tz_database),
      cmocka_unit_test(test_sessions),
      cmocka_unit_test(test_trading_day_arithmetic),
      cmocka_unit_test(test_bar_completion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
