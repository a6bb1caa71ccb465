/*
 * timeutil.h — UTC calendar arithmetic and ISO 8601 text, without the C library's
 * time-zone state (no TZ, no localtime).  Timestamps are int64 microseconds since the
 * Unix epoch; dates are int32 days since 1970-01-01 (the Parquet DATE convention).
 */
#ifndef STOCKPIPE_CORE_TIMEUTIL_H
#define STOCKPIPE_CORE_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_US_PER_SEC INT64_C(1000000)
#define SP_US_PER_DAY (INT64_C(86400) * SP_US_PER_SEC)
/* Longest text sp_format_timestamp writes, with NUL: "-292277-01-01T00:00:00.000000Z". */
#define SP_TIMESTAMP_TEXT_MAX 40
#define SP_DATE_TEXT_MAX 16

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int32_t sp_days_from_civil(int year, unsigned month, unsigned day);
void sp_civil_from_days(int32_t days, int *year, unsigned *month, unsigned *day);
/* Day of week, 0 = Sunday … 6 = Saturday. */
int sp_weekday_from_days(int32_t days);
bool sp_is_valid_date(int year, unsigned month, unsigned day);

/* Floor division of a timestamp to its UTC day. */
int32_t sp_timestamp_to_days(int64_t us);

/* Wall-clock time now, microseconds since the epoch (CLOCK_REALTIME). */
int64_t sp_now_us(void);
/* Monotonic clock in microseconds, for time-outs and intervals. */
int64_t sp_monotonic_us(void);
/* The time one-off commands (`collect`, `backfill`, `retention`, `compact`) go by: what
 * day it is for row times, bar completeness, daily quotas and which partitions are old.  sp_now_us(), unless the
 * environment variable STOCKPIPE_NOW holds an ISO 8601 UTC timestamp: then that time
 * plus the time elapsed since the first call (the clock keeps running).  STOCKPIPE_NOW
 * is for tests only (a backfill re-run "tomorrow" without waiting for midnight); an
 * unparsable value is ignored.  Time-outs, logs and the daemon keep the real clocks.
 * Thread-safe. */
int64_t sp_round_now_us(void);

/* "2026-11-25T14:30:00Z", with ".ffffff" (trailing zeros trimmed) only when the
 * fraction is non-zero.  Returns the length written (buf must hold SP_TIMESTAMP_TEXT_MAX). */
size_t sp_format_timestamp(int64_t us, char *buf);
/* "2026-11-25". Returns the length. */
size_t sp_format_date(int32_t days, char *buf);

/* Parse "YYYY-MM-DD" exactly.  Returns 0 or SP_ERR_INVALID. */
int sp_parse_date(const char *s, int32_t *days);
/* Parse ISO 8601 / RFC 3339 date-times: "YYYY-MM-DD[T ]hh:mm[:ss[.frac]][Z|±hh[:]mm]".
 * A bare date is midnight UTC; no zone means UTC.  Returns 0 or SP_ERR_INVALID. */
int sp_parse_timestamp(const char *s, int64_t *us);

#endif
