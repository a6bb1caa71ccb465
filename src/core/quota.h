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
 * Spreading.  A round's budget is remaining_today / rounds_left_today (rounds of the
 * source's schedule from now to the end of the UTC day, this one included), at least
 * 1 while anything is left; the last round of the day may spend all that is left.
 * A one-off round (`collect`, `run --once`) counts as the last round of the day.
 *
 * Rotation.  For providers that send one request per ticker, the round hands them the
 * tickers starting after the last ticker they served (a cursor per provider and
 * dataset, a blob (source "quota", key "cursor/<provider>/<dataset>") holding that
 * ticker), at most the round's budget of them; over k rounds with budget b every
 * ticker of a list of n <= k*b is served.
 *
 * Thread-safety: as the state store's functions.  Errors: the state store's.
 */
#ifndef STOCKPIPE_CORE_QUOTA_H
#define STOCKPIPE_CORE_QUOTA_H

#include "core/buf.h"
#include "core/schedule.h"
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

/* This round's budget: remaining / rounds_left (rounds_left <= 1: all of it), at least
 * 1 when remaining > 0, 0 when nothing remains. */
int64_t sp_quota_round_budget(int64_t remaining, int rounds_left);

/* Rounds a source on `schedule` runs on the UTC day of `now_us` from now on, the round
 * at now_us included (so >= 1): 1 + its slots after now_us and before the next 00:00
 * UTC (only those in or just after the NYSE session when `intraday`, as the daemon
 * runs them: core/scheduler.h). */
int sp_quota_rounds_left_today(const sp_schedule *schedule, bool intraday, int64_t now_us);

/* The rotation cursor of (provider, dataset): the last ticker served, into `ticker`
 * (replaced); *found false when none is stored. */
int sp_quota_get_cursor(sp_state *st, const char *provider, const char *dataset, sp_buf *ticker, bool *found,
                        sp_error *err);
/* Store `ticker` as the last one (provider, dataset) served. */
int sp_quota_put_cursor(sp_state *st, const char *provider, const char *dataset, const char *ticker,
                        sp_error *err);

/* Where a rotation over tickers[0..n) starts: the index after `last` (wrapping), or 0
 * when `last` is NULL or not in the list. */
size_t sp_quota_rotation_start(const char *const *tickers, size_t n, const char *last);

#endif
