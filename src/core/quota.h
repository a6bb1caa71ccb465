/*
 * quota.h — daily request quotas of providers (config `providers.<name>.daily_limit`),
 * counted per provider per UTC day in the state store, and the two rules that spread
 * a small quota fairly: a round may spend only its share of what is left today, and a
 * provider that cannot serve every ticker rotates through them.
 *
 * Counting.  A request is counted when it is sent (every attempt, retries included:
 * the providers count each call), in one durable SQLite statement
 * (sp_state_count_up) before the request leaves, so a restart or a crash never
 * forgets a request that may have reached the provider (it may forget one that did
 * not: erring on the side of the provider).  The count lives in the state store's
 * watermark table as (source "quota", key "<provider>/<YYYY-MM-DD>").  A provider's
 * own "daily limit reached" answer sets the day's count to the limit
 * (sp_quota_use_up): no more requests until 00:00 UTC.
 *
 * Spreading (provider-wide).  The day's remaining requests of a provider are shared
 * among every scheduled round any of its sources still has today.  A round's budget is
 *     remaining_today / rounds_left_today   (floor; at least 1 while anything is left)
 * where remaining_today is the provider's (limit - used) and rounds_left_today counts,
 * over every enabled source whose `providers` lists it, the rounds from now to the
 * next 00:00 UTC: for the source starting its round, this round plus its slots after
 * now; for each other source, its slots after now plus one when a round of it is due
 * but not yet run (its first slot after its last run is not later than now: a jittered
 * round of the same hour, or one that never ran).  Every round thus counts the same
 * rounds (each one ends the count by one), so successive shares differ by at most 1 and
 * two sources on the same schedule end the day within 1 request of each other; the
 * provider's last round of the day (rounds_left_today <= 1) may spend all that is left.
 * A one-off round (`collect`, `run --once`) counts as the last round of the day.
 *
 * Backfill.  A backfill round (sources/source.h: round->window) spends what is left today
 * beyond a reserve kept for the live rounds: budget = remaining_today - reserve, reserve
 * = limit * reserve_percent / 100 (floor; `stockpipe backfill --quota-reserve`, default
 * SP_QUOTA_BACKFILL_RESERVE_PERCENT).  Tickers do not rotate in a backfill: requests
 * past the budget are not sent (core/agent.c then drops the round's rows and
 * cli/cmd_backfill.c stops, to resume on the next UTC day; it leaves out providers
 * whose day cannot hold one of its rounds).
 *
 * Rotation.  For providers that send one request per ticker, the round hands them the
 * tickers starting after the last ticker they served (a cursor per provider and
 * source (or dataset), a blob (source "quota", key "cursor/<provider>/<owner>") holding that
 * ticker), at most the round's budget of them; over k rounds with budget b every
 * ticker of a list of n <= k*b is served.  Two sources of one provider and dataset keep
 * separate cursors when the round names its source ("cursor/<provider>/<source>").
 *
 * Thread-safety: as the state store's functions.  Errors: the state store's.
 */
#ifndef STOCKPIPE_CORE_QUOTA_H
#define STOCKPIPE_CORE_QUOTA_H

#include "core/buf.h"
#include "core/scheduler.h"
#include "core/state.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The state store's source name for quota counts and cursors. */
#define SP_QUOTA_STATE_SOURCE "quota"

/* Requests `provider` sent on the UTC day of `now_us` (0 when none) into *used. */
int sp_quota_used(sp_state *st, const char *provider, int64_t now_us, int64_t *used, sp_error *err);

/* Count one request of `provider` on the UTC day of `now_us` if fewer than `limit`
 * (>= 1) were sent that day: *granted says whether it may be sent (and was counted). */
int sp_quota_take(sp_state *st, const char *provider, int64_t now_us, int64_t limit, bool *granted,
                  sp_error *err);

/* The provider said its daily limit is reached: count the day as used up (`limit`). */
int sp_quota_use_up(sp_state *st, const char *provider, int64_t now_us, int64_t limit, sp_error *err);

/* The default share of a provider's daily limit a backfill leaves to the live rounds. */
#define SP_QUOTA_BACKFILL_RESERVE_PERCENT 20

/* This round's budget: remaining / rounds_left (rounds_left <= 1: all of it), at least
 * 1 when remaining > 0, 0 when nothing remains. */
int64_t sp_quota_round_budget(int64_t remaining, int rounds_left);

/* A backfill round's budget: what is left today (limit - used) beyond the reserve,
 * limit * reserve_percent / 100 (floor); 0 when nothing is.  reserve_percent in 0..100. */
int64_t sp_quota_backfill_budget(int64_t limit, int64_t used, int reserve_percent);

/* One source of a provider, as the provider-wide share sees it (see "Spreading"). */
typedef struct sp_quota_source {
  const sp_schedule *schedule;
  bool intraday;       /* runs only on NYSE-session slots (core/scheduler.h) */
  bool current;        /* the source whose round is starting now */
  int64_t last_run_us; /* its last round, SP_SCHEDULER_NEVER (core/scheduler.h) when none */
} sp_quota_source;

/* Rounds the `n` sources of one provider still run on the UTC day of `now_us`, the
 * round starting now included (see "Spreading"); at least 1. */
int sp_quota_rounds_left_today(const sp_quota_source *sources, size_t n, int64_t now_us);

/* The rotation cursor of (provider, owner), owner the source's name (or the dataset's
 * for a round that names no source): the last ticker served, into `ticker` (replaced);
 * *found false when none is stored. */
int sp_quota_get_cursor(sp_state *st, const char *provider, const char *owner, sp_buf *ticker, bool *found,
                        sp_error *err);
/* Store `ticker` as the last one (provider, owner) served. */
int sp_quota_put_cursor(sp_state *st, const char *provider, const char *owner, const char *ticker,
                        sp_error *err);

/* Where a rotation over tickers[0..n) starts: the index after `last` (wrapping), or 0
 * when `last` is NULL or not in the list. */
size_t sp_quota_rotation_start(const char *const *tickers, size_t n, const char *last);

#endif
