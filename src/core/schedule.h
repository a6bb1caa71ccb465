/*
 * schedule.h — when a source runs (SPEC §3 `schedule`): a fixed interval (`30m`,
 * `1h`, `1d`, `1w`, more generally <N>m, <N>h, <N>d, <N>w) or a five-field cron
 * expression in UTC ("minute hour day-of-month month day-of-week").
 *
 * The config loader parses every source's `schedule` into an sp_schedule; the
 * scheduler asks sp_schedule_next() for the next firing time.  Plain value type:
 * nothing to free.
 */
#ifndef STOCKPIPE_CORE_SCHEDULE_H
#define STOCKPIPE_CORE_SCHEDULE_H

#include "stockpipe/error.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum sp_schedule_kind {
  SP_SCHEDULE_INTERVAL = 0, /* every interval_seconds, aligned to the Unix epoch */
  SP_SCHEDULE_CRON          /* the cron fields below */
} sp_schedule_kind;

typedef struct sp_schedule {
  sp_schedule_kind kind;
  int64_t interval_seconds; /* SP_SCHEDULE_INTERVAL: > 0 */
  /* SP_SCHEDULE_CRON: bit i set = value i allowed. */
  uint64_t minutes;         /* bits 0..59 */
  uint32_t hours;           /* bits 0..23 */
  uint32_t days_of_month;   /* bits 1..31 */
  uint16_t months;          /* bits 1..12 */
  uint8_t days_of_week;     /* bits 0..6, 0 = Sunday (7 in the text also means Sunday) */
  /* Cron's rule: when both day fields are restricted (not `*`), a day matches if
   * EITHER matches; otherwise both must. */
  bool dom_restricted;
  bool dow_restricted;
  char text[64];            /* the expression as written (truncated when longer) */
} sp_schedule;

/* Parse `text` into `out`.  Intervals: a positive integer followed by m, h, d or w
 * (minutes, hours, days, weeks), e.g. "30m", "1h".  Cron: five space-separated
 * fields, each `*`, a number, a range `a-b`, a list `a,b,c`, with optional step
 * `/n` (`*\/15`, `0-30/10`); month and weekday numbers only (no names, no `?`, `L`).
 * Errors: SP_ERR_INVALID with a message naming the bad field and the allowed range,
 * e.g. "schedule '61 * * * *': minute 61 out of range 0-59". */
int sp_schedule_parse(const char *text, sp_schedule *out, sp_error *err);

/* The first firing time strictly after `after_us` (microseconds since the epoch,
 * UTC), at a whole minute for cron, at a multiple of the interval since the epoch
 * for intervals.  Returns -1 when a cron expression never fires within 8 years
 * (e.g. "0 0 31 2 *"). */
int64_t sp_schedule_next(const sp_schedule *schedule, int64_t after_us);

#endif
