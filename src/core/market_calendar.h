/*
 * market_calendar.h — the New York Stock Exchange's calendar, computed by rule for any
 * year: America/New_York local time <-> UTC (US daylight-saving rules, no TZ database
 * and no localtime), exchange holidays with NYSE's observance rules, 13:00 early
 * closes, session open/close instants, trading-day arithmetic and the "bar complete"
 * test of SPEC §7.
 *
 * Used by the scheduler (intraday sources skip runs while the market is closed), by
 * the bar sources (store a bar only once complete) and by summaries ("trading days
 * missing").  Dates are int32 days since 1970-01-01 (core/timeutil.h); instants are
 * int64 microseconds since the epoch, UTC.  Everything here is a pure function of its
 * arguments: no state, nothing to free, safe from any thread.
 *
 * Rules implemented (NYSE Rule 7.2 and the NYSE's published holiday calendars):
 *  - Daylight saving in New York: 2007 on, second Sunday of March 02:00 EST to first
 *    Sunday of November 02:00 EDT; 1987–2006, first Sunday of April to last Sunday of
 *    October; 1967–1986, last Sunday of April to last Sunday of October (with the
 *    1974 and 1975 energy-crisis starts, January 6 and February 23).  Years before
 *    1967 use the 1967 rule.
 *  - Holidays: New Year's Day, Martin Luther King Jr. Day (third Monday of January,
 *    from 1998), Washington's Birthday (third Monday of February), Good Friday,
 *    Memorial Day (last Monday of May), Juneteenth (June 19, from 2022), Independence
 *    Day, Labor Day (first Monday of September), Thanksgiving (fourth Thursday of
 *    November), Christmas.  A fixed-date holiday on a Sunday is observed the Monday
 *    after, on a Saturday the Friday before — except New Year's Day on a Saturday,
 *    which is not observed (the exchange stays open on December 31).
 *    These are the exchange's rules since 1998; older calendars had closings not
 *    modelled here (Election Day until 1980, other one-off days), so results before
 *    1998 are approximate.
 *  - Unscheduled closings the exchange announced (national days of mourning, 9/11,
 *    Hurricane Sandy) since 1994 are listed in market_calendar.c; they cannot be
 *    derived by rule.
 *  - Early close at 13:00 New York time: July 3 when it is a trading day, the day
 *    after Thanksgiving, December 24 when it is a trading day (the rules the NYSE
 *    has published since 2010; earlier years had exceptions not modelled).
 *  - Regular session 09:30–16:00 New York time, Monday to Friday.
 */
#ifndef STOCKPIPE_CORE_MARKET_CALENDAR_H
#define STOCKPIPE_CORE_MARKET_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned by the session functions for a day without a session. */
#define SP_NYSE_NO_SESSION INT64_MIN

/* Regular and early-close session times, minutes after New York local midnight. */
#define SP_NYSE_OPEN_MINUTE (9 * 60 + 30)
#define SP_NYSE_CLOSE_MINUTE (16 * 60)
#define SP_NYSE_EARLY_CLOSE_MINUTE (13 * 60)

/* ---- America/New_York local time ---- */

/* UTC instant when daylight saving starts (02:00 EST becomes 03:00 EDT) and ends
 * (02:00 EDT becomes 01:00 EST) in `year`. */
int64_t sp_ny_dst_start_utc(int year);
int64_t sp_ny_dst_end_utc(int year);

/* New York's offset from UTC at instant `utc_us`, in minutes: -240 (EDT) or -300 (EST). */
int sp_ny_utc_offset_minutes(int64_t utc_us);

/* The UTC instant of New York wall-clock time `minute_of_day` (0..1439, values up to
 * 2880 are allowed and run into the next day) on local date `local_day`.  A wall time
 * that happens twice (01:00–01:59 on the autumn change) is taken at its first, EDT,
 * occurrence; one that does not exist (02:00–02:59 on the spring change) is read with
 * the EST offset, so 02:30 gives the instant shown as 03:30 EDT. */
int64_t sp_ny_local_to_utc(int32_t local_day, int minute_of_day);

/* The New York local date and minute of day (0..1439) of `utc_us`; either output may
 * be NULL.  Sub-minute parts are dropped (floored). */
void sp_ny_from_utc(int64_t utc_us, int32_t *local_day, int *minute_of_day);

/* ---- the NYSE calendar ---- */

/* Whether the exchange is closed all day on `day` (a New York date) for a holiday or
 * an unscheduled closing.  Weekends are not holidays (see sp_nyse_is_trading_day).
 * When true and `name` is not NULL, *name is set to a static English name
 * ("Good Friday", "Christmas Day", ...). */
bool sp_nyse_is_holiday(int32_t day, const char **name);

/* The exchange's full closing days of `year` (observed holidays and unscheduled
 * closings that fall on weekdays), in date order.  Writes at most `cap` dates to `out`
 * and returns how many there are (which may exceed `cap`; at most 16). */
size_t sp_nyse_holidays(int year, int32_t *out, size_t cap);

/* A weekday that is not a holiday. */
bool sp_nyse_is_trading_day(int32_t day);

/* A trading day whose session ends at 13:00 New York time. */
bool sp_nyse_is_early_close(int32_t day);

/* The session of trading day `day` as UTC instants: 09:30 New York time, and 16:00
 * (13:00 on an early close).  SP_NYSE_NO_SESSION when `day` is not a trading day. */
int64_t sp_nyse_session_open_utc(int32_t day);
int64_t sp_nyse_session_close_utc(int32_t day);

/* Whether the exchange is in its regular session at `utc_us` (open <= t < close). */
bool sp_nyse_is_open_at(int64_t utc_us);

/* The first trading day strictly after / strictly before `day`. */
int32_t sp_nyse_next_trading_day(int32_t day);
int32_t sp_nyse_previous_trading_day(int32_t day);

/* The number of trading days in [from, to], both inclusive; 0 when to < from. */
int32_t sp_nyse_trading_days_between(int32_t from, int32_t to);

/* The close of the latest session that closed at or before `utc_us`. */
int64_t sp_nyse_last_close_at_or_before(int64_t utc_us);

/* The open of the first session that opens strictly after `utc_us`. */
int64_t sp_nyse_next_open_after(int64_t utc_us);

/* When a bar that starts at `bar_start_us` and spans `interval_us` is complete (SPEC §7):
 * its start plus its interval, or the close of the session it starts in, whichever is
 * earlier.  A bar that does not start inside a session (pre-market, a weekend bar)
 * ends at start + interval. */
int64_t sp_bar_end_utc(int64_t bar_start_us, int64_t interval_us);

/* Whether that bar is complete at `now_us` (its end has been reached). */
bool sp_bar_is_complete(int64_t bar_start_us, int64_t interval_us, int64_t now_us);

#endif
