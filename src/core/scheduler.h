/*
 * scheduler.h — when each source runs next (issue 7): wall-clock-aligned slots of its
 * `schedule` (core/schedule.h parses it), a stable per-source jitter, NYSE awareness
 * for intraday sources, and "a missed run runs once"; plus the daemon's interruptible
 * wait for the next due source.
 *
 * Slots.  An interval counts from Monday 1970-01-05 00:00 UTC, so `30m` fires at :00
 * and :30, `1h` at the top of the hour, `1d` at 00:00 UTC and `1w` on Mondays at
 * 00:00 UTC.  A cron schedule fires on its matching minutes (UTC), as
 * sp_schedule_next() computes them.
 *
 * Market awareness.  An intraday source (one that polls quotes or intraday bars) runs
 * only on slots when the NYSE is in session (open <= slot < close, early closes
 * included), plus the first slot at or after each session's close, which picks up the
 * session's last bar.  Weekends, holidays and nights are skipped.
 *
 * Jitter.  Each source runs `jitter` after its slot, a fixed amount in [0, max]
 * derived from a hash of its name: stable across restarts, different between sources
 * so they do not all hit the providers in the same second.
 *
 * Missed runs.  The next run is due at the first jittered slot strictly after the
 * last run (the time the state store recorded).  If that is already in the past when
 * the daemon starts after downtime, the source is due at once, and because the run
 * it then makes becomes the new last run, it runs once however many slots were missed.
 *
 * Everything except the sp_wakeup functions is a pure function of its arguments, with
 * "now" passed in, so tests drive it with a fake clock.
 */
#ifndef STOCKPIPE_CORE_SCHEDULER_H
#define STOCKPIPE_CORE_SCHEDULER_H

#include "core/schedule.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* last_run_us of a source that has never run. */
#define SP_SCHEDULER_NEVER INT64_MIN

/* One source as the scheduler sees it.  The caller owns it (and `name`). */
typedef struct sp_schedule_entry {
  const char *name;      /* the source's name: seeds its jitter */
  sp_schedule schedule;  /* from sp_schedule_parse() */
  bool intraday;         /* follow the NYSE session (see above) */
  int64_t max_jitter_us; /* 0 = no jitter */
  int64_t last_run_us;   /* when it last ran (UTC µs), or SP_SCHEDULER_NEVER */
} sp_schedule_entry;

/* The first slot of `schedule` strictly after `after_us`, aligned as described above,
 * ignoring the market.  -1 when a cron expression never fires again (within 8 years). */
int64_t sp_scheduler_slot_after(const sp_schedule *schedule, int64_t after_us);

/* Whether an intraday source runs on `slot_us`, a slot of `schedule`: the NYSE is in
 * session then, or it is the first slot at or after a session's close. */
bool sp_scheduler_market_allows(const sp_schedule *schedule, int64_t slot_us);

/* The first slot strictly after `after_us` that a source runs on: every slot, or when
 * `intraday` only the slots sp_scheduler_market_allows().  -1 when none. */
int64_t sp_scheduler_next_slot(const sp_schedule *schedule, bool intraday, int64_t after_us);

/* Whether a source of dataset `dataset` (an sp_dataset_id) is intraday: it polls quotes
 * (financial_data) or bars (stock_movements), so it follows the NYSE session. */
bool sp_scheduler_dataset_intraday(int dataset);

/* The jitter of source `name`: a value in [0, max_jitter_us] fixed by the name
 * (FNV-1a hash, then mixed).  0 when max_jitter_us <= 0. */
int64_t sp_scheduler_jitter_us(const char *name, int64_t max_jitter_us);

/* When `entry` is next due to run: its first jittered slot strictly after its last
 * run.  A value <= now_us means "run now" (once; then record the run's time in
 * last_run_us).  A source that never ran is due at now_us; a last run later than
 * now_us (the clock was set back) counts as now_us.  -1 when its schedule never fires
 * again. */
int64_t sp_scheduler_due_us(const sp_schedule_entry *entry, int64_t now_us);

/* The index of the entry due first and, in *due_us, when.  Ties go to the lower
 * index; entries whose schedule never fires are ignored.  Returns n (and *due_us =
 * -1) when no entry will ever be due, including when n == 0. */
size_t sp_scheduler_next_due(const sp_schedule_entry *entries, size_t n, int64_t now_us, int64_t *due_us);

/* ---- the daemon's wait ---- */

/* An interruptible sleep: an eventfd another thread or a signal handler writes to,
 * and a timerfd on the real-time clock for the deadline (so a clock change or a
 * suspended machine does not make the wait overshoot).  Own one per waiting thread. */
typedef struct sp_wakeup {
  int event_fd;
  int timer_fd;
} sp_wakeup;

/* Create the descriptors.  Returns 0, or SP_ERR_IO with a message.  Release with
 * sp_wakeup_close() (also after a failed open). */
int sp_wakeup_open(sp_wakeup *wakeup, sp_error *err);
void sp_wakeup_close(sp_wakeup *wakeup);

/* Wake the sleeper now, or make its next sleep return at once.  Async-signal-safe
 * (one write(2), errno preserved): call it from the SIGTERM/SIGHUP handler after
 * setting the flag that says why. */
void sp_wakeup_signal(sp_wakeup *wakeup);

/* Sleep until the wall clock reaches `deadline_us` (UTC µs; INT64_MAX = until woken).
 * Returns 0 when the deadline has passed or the system clock was set (look at the
 * clock again), 1 when woken by sp_wakeup_signal() (the wake is consumed), SP_ERR_IO
 * when polling failed. */
int sp_wakeup_sleep_until(sp_wakeup *wakeup, int64_t deadline_us, sp_error *err);

/* Sleep until the first of `entries` is due, by the real clock (with none ever due,
 * until woken).  Returns 0 with *which set to the due entry, 1 when woken by
 * sp_wakeup_signal() first (check the stop and reload flags), SP_ERR_IO when waiting
 * failed. */
int sp_scheduler_wait(sp_wakeup *wakeup, const sp_schedule_entry *entries, size_t n, size_t *which,
                      sp_error *err);

#endif
