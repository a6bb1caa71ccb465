/*
 * market_calendar.c — NYSE holidays, early closes, sessions and New York daylight
 * saving, all computed by rule (see market_calendar.h for the rules themselves).
 *
 * Holidays are recomputed for the year on every question: a year's list is ten
 * dates from a few integer formulas, far cheaper than caching it behind a lock.
 */
#include "core/market_calendar.h"

#include "core/timeutil.h"

#define US_PER_MINUTE (INT64_C(60) * SP_US_PER_SEC)
#define MAX_HOLIDAYS 16

enum { SUNDAY = 0, MONDAY = 1, THURSDAY = 4, FRIDAY = 5, SATURDAY = 6 };

typedef struct holiday {
  int32_t day;
  const char *name;
} holiday;

/* Closings announced by the exchange that no rule yields (national days of mourning,
 * 9/11, Hurricane Sandy).  Keep in date order. */
static const struct {
  int year;
  unsigned month, day;
  const char *name;
} unscheduled_closings[] = {
    {1994, 4, 27, "National Day of Mourning (Richard Nixon)"},
    {2001, 9, 11, "September 11 attacks"},
    {2001, 9, 12, "September 11 attacks"},
    {2001, 9, 13, "September 11 attacks"},
    {2001, 9, 14, "September 11 attacks"},
    {2004, 6, 11, "National Day of Mourning (Ronald Reagan)"},
    {2007, 1, 2, "National Day of Mourning (Gerald Ford)"},
    {2012, 10, 29, "Hurricane Sandy"},
    {2012, 10, 30, "Hurricane Sandy"},
    {2018, 12, 5, "National Day of Mourning (George H. W. Bush)"},
    {2025, 1, 9, "National Day of Mourning (Jimmy Carter)"},
};

static int year_of_day(int32_t day) {
  int y;
  unsigned m, d;
  sp_civil_from_days(day, &y, &m, &d);
  return y;
}

/* The n-th (1-based) `weekday` of month `month` in `year`. */
static int32_t nth_weekday(int year, unsigned month, int weekday, int n) {
  int32_t first = sp_days_from_civil(year, month, 1);
  int offset = (weekday - sp_weekday_from_days(first) + 7) % 7;
  return first + offset + 7 * (n - 1);
}

/* The last `weekday` of month `month` in `year`. */
static int32_t last_weekday(int year, unsigned month, int weekday) {
  int32_t last = month == 12 ? sp_days_from_civil(year + 1, 1, 1) - 1
                             : sp_days_from_civil(year, month + 1, 1) - 1;
  return last - (sp_weekday_from_days(last) - weekday + 7) % 7;
}

/* Easter Sunday of `year` (Gregorian computus, Meeus/Jones/Butcher). */
static int32_t easter_sunday(int year) {
  int a = year % 19, b = year / 100, c = year % 100;
  int d = b / 4, e = b % 4;
  int f = (b + 8) / 25, g = (b - f + 1) / 3;
  int h = (19 * a + b - d - g + 15) % 30;
  int i = c / 4, k = c % 4;
  int l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31;
  int day = (h + l - 7 * m + 114) % 31 + 1;
  return sp_days_from_civil(year, (unsigned)month, (unsigned)day);
}

/* A fixed-date holiday moved to the weekday it is observed on: Saturday -> Friday,
 * Sunday -> Monday. */
static int32_t observed(int32_t day) {
  int wd = sp_weekday_from_days(day);
  return wd == SATURDAY ? day - 1 : wd == SUNDAY ? day + 1 : day;
}

static void add_holiday(holiday *list, size_t *n, int32_t day, const char *name) {
  /* Insertion keeps the list in date order. */
  size_t i = *n;
  while (i > 0 && list[i - 1].day > day) {
    list[i] = list[i - 1];
    i--;
  }
  list[i].day = day;
  list[i].name = name;
  (*n)++;
}

/* Every weekday of `year` the exchange is closed, in date order.  Returns the count. */
static size_t year_holidays(int year, holiday list[MAX_HOLIDAYS]) {
  size_t n = 0;
  int32_t new_year = sp_days_from_civil(year, 1, 1);
  if (sp_weekday_from_days(new_year) != SATURDAY) /* Saturday: not observed (Rule 7.2) */
    add_holiday(list, &n, observed(new_year), "New Year's Day");
  if (year >= 1998) add_holiday(list, &n, nth_weekday(year, 1, MONDAY, 3), "Martin Luther King Jr. Day");
  add_holiday(list, &n, nth_weekday(year, 2, MONDAY, 3), "Washington's Birthday");
  add_holiday(list, &n, easter_sunday(year) - 2, "Good Friday");
  add_holiday(list, &n, last_weekday(year, 5, MONDAY), "Memorial Day");
  if (year >= 2022) add_holiday(list, &n, observed(sp_days_from_civil(year, 6, 19)), "Juneteenth");
  add_holiday(list, &n, observed(sp_days_from_civil(year, 7, 4)), "Independence Day");
  add_holiday(list, &n, nth_weekday(year, 9, MONDAY, 1), "Labor Day");
  add_holiday(list, &n, nth_weekday(year, 11, THURSDAY, 4), "Thanksgiving Day");
  add_holiday(list, &n, observed(sp_days_from_civil(year, 12, 25)), "Christmas Day");
  for (size_t i = 0; i < sizeof unscheduled_closings / sizeof unscheduled_closings[0]; i++) {
    if (unscheduled_closings[i].year != year) continue;
    add_holiday(list, &n,
                sp_days_from_civil(year, unscheduled_closings[i].month, unscheduled_closings[i].day),
                unscheduled_closings[i].name);
  }
  return n;
}

/* ---- New York local time ---- */

/* Local 02:00 on `day`, as UTC, given the offset in force just before the change. */
static int64_t two_am_utc(int32_t day, int offset_minutes) {
  return (int64_t)day * SP_US_PER_DAY + (2 * 60 - offset_minutes) * US_PER_MINUTE;
}

int64_t sp_ny_dst_start_utc(int year) {
  int32_t day;
  if (year >= 2007)
    day = nth_weekday(year, 3, SUNDAY, 2);
  else if (year >= 1987)
    day = nth_weekday(year, 4, SUNDAY, 1);
  else if (year == 1974)
    day = sp_days_from_civil(1974, 1, 6);
  else if (year == 1975)
    day = sp_days_from_civil(1975, 2, 23);
  else
    day = last_weekday(year, 4, SUNDAY);
  return two_am_utc(day, -300);
}

int64_t sp_ny_dst_end_utc(int year) {
  int32_t day = year >= 2007 ? nth_weekday(year, 11, SUNDAY, 1) : last_weekday(year, 10, SUNDAY);
  return two_am_utc(day, -240);
}

int sp_ny_utc_offset_minutes(int64_t utc_us) {
  int year = year_of_day(sp_timestamp_to_days(utc_us));
  return utc_us >= sp_ny_dst_start_utc(year) && utc_us < sp_ny_dst_end_utc(year) ? -240 : -300;
}

int64_t sp_ny_local_to_utc(int32_t local_day, int minute_of_day) {
  int64_t wall = (int64_t)local_day * SP_US_PER_DAY + minute_of_day * US_PER_MINUTE;
  int64_t as_edt = wall + 240 * US_PER_MINUTE;
  if (sp_ny_utc_offset_minutes(as_edt) == -240) return as_edt;
  return wall + 300 * US_PER_MINUTE;
}

void sp_ny_from_utc(int64_t utc_us, int32_t *local_day, int *minute_of_day) {
  int64_t local = utc_us + sp_ny_utc_offset_minutes(utc_us) * US_PER_MINUTE;
  int32_t day = sp_timestamp_to_days(local);
  if (local_day) *local_day = day;
  if (minute_of_day) *minute_of_day = (int)((local - (int64_t)day * SP_US_PER_DAY) / US_PER_MINUTE);
}

/* ---- the exchange calendar ---- */

bool sp_nyse_is_holiday(int32_t day, const char **name) {
  holiday list[MAX_HOLIDAYS];
  size_t n = year_holidays(year_of_day(day), list);
  for (size_t i = 0; i < n; i++) {
    if (list[i].day != day) continue;
    if (name) *name = list[i].name;
    return true;
  }
  return false;
}

size_t sp_nyse_holidays(int year, int32_t *out, size_t cap) {
  holiday list[MAX_HOLIDAYS];
  size_t n = year_holidays(year, list);
  for (size_t i = 0; i < n && i < cap; i++) out[i] = list[i].day;
  return n;
}

static bool is_weekend(int32_t day) {
  int wd = sp_weekday_from_days(day);
  return wd == SATURDAY || wd == SUNDAY;
}

bool sp_nyse_is_trading_day(int32_t day) { return !is_weekend(day) && !sp_nyse_is_holiday(day, NULL); }

bool sp_nyse_is_early_close(int32_t day) {
  if (!sp_nyse_is_trading_day(day)) return false;
  int year;
  unsigned month, dom;
  sp_civil_from_days(day, &year, &month, &dom);
  if ((month == 7 && dom == 3) || (month == 12 && dom == 24)) return true;
  return day == nth_weekday(year, 11, THURSDAY, 4) + 1;
}

int64_t sp_nyse_session_open_utc(int32_t day) {
  if (!sp_nyse_is_trading_day(day)) return SP_NYSE_NO_SESSION;
  return sp_ny_local_to_utc(day, SP_NYSE_OPEN_MINUTE);
}

int64_t sp_nyse_session_close_utc(int32_t day) {
  if (!sp_nyse_is_trading_day(day)) return SP_NYSE_NO_SESSION;
  return sp_ny_local_to_utc(day, sp_nyse_is_early_close(day) ? SP_NYSE_EARLY_CLOSE_MINUTE
                                                             : SP_NYSE_CLOSE_MINUTE);
}

bool sp_nyse_is_open_at(int64_t utc_us) {
  int32_t day;
  sp_ny_from_utc(utc_us, &day, NULL);
  if (!sp_nyse_is_trading_day(day)) return false;
  return utc_us >= sp_nyse_session_open_utc(day) && utc_us < sp_nyse_session_close_utc(day);
}

int32_t sp_nyse_next_trading_day(int32_t day) {
  do day++;
  while (!sp_nyse_is_trading_day(day));
  return day;
}

int32_t sp_nyse_previous_trading_day(int32_t day) {
  do day--;
  while (!sp_nyse_is_trading_day(day));
  return day;
}

int32_t sp_nyse_trading_days_between(int32_t from, int32_t to) {
  if (to < from) return 0;
  /* Weekdays by whole weeks, then the remaining days one by one. */
  int32_t span = to - from + 1;
  int32_t count = span / 7 * 5;
  for (int32_t day = from + span / 7 * 7; day <= to; day++)
    if (!is_weekend(day)) count++;
  /* Holidays are weekdays by construction. */
  for (int year = year_of_day(from); year <= year_of_day(to); year++) {
    holiday list[MAX_HOLIDAYS];
    size_t n = year_holidays(year, list);
    for (size_t i = 0; i < n; i++)
      if (list[i].day >= from && list[i].day <= to) count--;
  }
  return count;
}

int64_t sp_nyse_last_close_at_or_before(int64_t utc_us) {
  int32_t day;
  sp_ny_from_utc(utc_us, &day, NULL);
  if (sp_nyse_is_trading_day(day)) {
    int64_t close = sp_nyse_session_close_utc(day);
    if (close <= utc_us) return close;
  }
  return sp_nyse_session_close_utc(sp_nyse_previous_trading_day(day));
}

int64_t sp_nyse_next_open_after(int64_t utc_us) {
  int32_t day;
  sp_ny_from_utc(utc_us, &day, NULL);
  if (sp_nyse_is_trading_day(day)) {
    int64_t open = sp_nyse_session_open_utc(day);
    if (open > utc_us) return open;
  }
  return sp_nyse_session_open_utc(sp_nyse_next_trading_day(day));
}

int64_t sp_bar_end_utc(int64_t bar_start_us, int64_t interval_us) {
  int64_t end = bar_start_us + interval_us;
  int32_t day;
  sp_ny_from_utc(bar_start_us, &day, NULL);
  if (!sp_nyse_is_trading_day(day)) return end;
  int64_t open = sp_nyse_session_open_utc(day), close = sp_nyse_session_close_utc(day);
  if (bar_start_us >= open && bar_start_us < close && close < end) return close;
  return end;
}

bool sp_bar_is_complete(int64_t bar_start_us, int64_t interval_us, int64_t now_us) {
  return now_us >= sp_bar_end_utc(bar_start_us, interval_us);
}
