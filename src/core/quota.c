/*
 * quota.c — daily request quotas over the state store (see quota.h for the rules).
 *
 * The sharing rule in one line: a provider's round may spend
 *     (limit - used today) / (rounds every source of that provider still runs today)
 * (floor, at least 1 while anything is left; the day's last round takes the rest), so
 * all sources of one provider share its day evenly, round by round; a backfill round
 * may spend what is left beyond a reserve (a share of the limit) kept for those rounds.
 */
#include "core/quota.h"

#include "core/scheduler.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

/* "<provider>/<YYYY-MM-DD>" of the UTC day of now_us into key[cap]. */
static int day_key(const char *provider, int64_t now_us, char *key, size_t cap, sp_error *err) {
  int y;
  unsigned m, d;
  sp_civil_from_days(sp_timestamp_to_days(now_us), &y, &m, &d);
  int n = snprintf(key, cap, "%s/%04d-%02u-%02u", provider, y, m, d);
  return n > 0 && (size_t)n < cap ? SP_OK : sp_error_set(err, SP_ERR_INVALID, "quota: provider name too long");
}

int sp_quota_used(sp_state *st, const char *provider, int64_t now_us, int64_t *used, sp_error *err) {
  char key[128];
  int rc = day_key(provider, now_us, key, sizeof key, err);
  bool found = false;
  *used = 0;
  if (!rc) rc = sp_state_get_watermark(st, SP_QUOTA_STATE_SOURCE, key, used, &found, err);
  if (!rc && !found) *used = 0;
  return rc;
}

int sp_quota_take(sp_state *st, const char *provider, int64_t now_us, int64_t limit, bool *granted,
                  sp_error *err) {
  char key[128];
  *granted = false;
  if (limit < 1) return sp_error_set(err, SP_ERR_INVALID, "quota: a limit below 1");
  int rc = day_key(provider, now_us, key, sizeof key, err);
  return rc ? rc : sp_state_count_up(st, SP_QUOTA_STATE_SOURCE, key, limit, NULL, granted, err);
}

int sp_quota_use_up(sp_state *st, const char *provider, int64_t now_us, int64_t limit, sp_error *err) {
  char key[128];
  int rc = day_key(provider, now_us, key, sizeof key, err);
  if (rc) return rc;
  sp_state_batch *b = sp_state_batch_new();
  if (!b) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  rc = sp_state_batch_advance_watermark(b, SP_QUOTA_STATE_SOURCE, key, limit);
  rc = rc ? sp_error_set(err, rc, "out of memory") : sp_state_batch_commit(st, b, 0, err);
  sp_state_batch_free(b);
  return rc;
}

int64_t sp_quota_round_budget(int64_t remaining, int rounds_left) {
  if (remaining <= 0) return 0;
  if (rounds_left <= 1) return remaining;
  int64_t share = remaining / rounds_left;
  return share > 0 ? share : 1;
}

int64_t sp_quota_backfill_budget(int64_t limit, int64_t used, int reserve_percent) {
  int64_t reserve = limit * reserve_percent / 100;
  return limit - used > reserve ? limit - used - reserve : 0;
}

/* Slots of `source` strictly after now_us and before the next 00:00 UTC. */
static int slots_after(const sp_quota_source *source, int64_t now_us) {
  int64_t day_end = ((int64_t)sp_timestamp_to_days(now_us) + 1) * SP_US_PER_DAY;
  int slots = 0;
  for (int64_t slot = sp_scheduler_next_slot(source->schedule, source->intraday, now_us);
       slot >= 0 && slot < day_end && slots < 24 * 60; slot = sp_scheduler_next_slot(source->schedule, source->intraday, slot))
    slots++;
  return slots;
}

/* Whether a round of `source` (not the current one) is due but has not run yet. */
static bool round_pending(const sp_quota_source *source, int64_t now_us) {
  if (source->last_run_us == SP_SCHEDULER_NEVER) return true;
  int64_t next = sp_scheduler_next_slot(source->schedule, source->intraday, source->last_run_us);
  return next >= 0 && next <= now_us;
}

int sp_quota_rounds_left_today(const sp_quota_source *sources, size_t n, int64_t now_us) {
  int rounds = 0;
  bool current = false;
  for (size_t i = 0; i < n; i++) {
    rounds += slots_after(&sources[i], now_us);
    if (sources[i].current) current = true;
    else if (round_pending(&sources[i], now_us)) rounds++;
  }
  return rounds + (current || rounds == 0 ? 1 : 0);
}

static int cursor_key(const char *provider, const char *owner, char *key, size_t cap, sp_error *err) {
  int n = snprintf(key, cap, "cursor/%s/%s", provider, owner);
  return n > 0 && (size_t)n < cap ? SP_OK : sp_error_set(err, SP_ERR_INVALID, "quota: names too long");
}

int sp_quota_get_cursor(sp_state *st, const char *provider, const char *owner, sp_buf *ticker, bool *found,
                        sp_error *err) {
  char key[160];
  *found = false;
  int rc = cursor_key(provider, owner, key, sizeof key, err);
  if (!rc) rc = sp_state_get_blob(st, SP_QUOTA_STATE_SOURCE, key, ticker, found, err);
  if (!rc && *found && sp_buf_append(ticker, "", 0) != SP_OK) /* NUL-terminate */
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return rc;
}

int sp_quota_put_cursor(sp_state *st, const char *provider, const char *owner, const char *ticker,
                        sp_error *err) {
  char key[160];
  int rc = cursor_key(provider, owner, key, sizeof key, err);
  if (rc) return rc;
  sp_state_batch *b = sp_state_batch_new();
  if (!b) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  rc = sp_state_batch_put_blob(b, SP_QUOTA_STATE_SOURCE, key, ticker, strlen(ticker));
  rc = rc ? sp_error_set(err, rc, "out of memory") : sp_state_batch_commit(st, b, 0, err);
  sp_state_batch_free(b);
  return rc;
}

size_t sp_quota_rotation_start(const char *const *tickers, size_t n, const char *last) {
  for (size_t i = 0; last && i < n; i++)
    if (strcmp(tickers[i], last) == 0) return (i + 1) % n;
  return 0;
}
