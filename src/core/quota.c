/*
 * quota.c — daily request quotas over the state store (see quota.h).
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

int sp_quota_rounds_left_today(const sp_schedule *schedule, bool intraday, int64_t now_us) {
  int64_t day_end = ((int64_t)sp_timestamp_to_days(now_us) + 1) * SP_US_PER_DAY;
  int rounds = 1;
  for (int64_t slot = sp_scheduler_next_slot(schedule, intraday, now_us); slot >= 0 && slot < day_end && rounds < 24 * 60;
       slot = sp_scheduler_next_slot(schedule, intraday, slot))
    rounds++;
  return rounds;
}

static int cursor_key(const char *provider, const char *dataset, char *key, size_t cap, sp_error *err) {
  int n = snprintf(key, cap, "cursor/%s/%s", provider, dataset);
  return n > 0 && (size_t)n < cap ? SP_OK : sp_error_set(err, SP_ERR_INVALID, "quota: names too long");
}

int sp_quota_get_cursor(sp_state *st, const char *provider, const char *dataset, sp_buf *ticker, bool *found,
                        sp_error *err) {
  char key[160];
  *found = false;
  int rc = cursor_key(provider, dataset, key, sizeof key, err);
  if (!rc) rc = sp_state_get_blob(st, SP_QUOTA_STATE_SOURCE, key, ticker, found, err);
  if (!rc && *found && sp_buf_append(ticker, "", 0) != SP_OK) /* NUL-terminate */
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return rc;
}

int sp_quota_put_cursor(sp_state *st, const char *provider, const char *dataset, const char *ticker,
                        sp_error *err) {
  char key[160];
  int rc = cursor_key(provider, dataset, key, sizeof key, err);
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
