/*
 * channel.c — what every channel shares (see channel.h): configuration checks, the
 * take-side wrappers and the fan-out put transaction with its two-phase commit.
 */
#include "core/channel.h"

#include "core/timeutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sp_channel_base_init(sp_channel *ch, const sp_channel_ops *ops, const sp_channel_config *cfg,
                         sp_error *err) {
  if (!cfg->name || !*cfg->name) return sp_error_set(err, SP_ERR_CONFIG, "channel without a name");
  size_t capacity = cfg->capacity ? cfg->capacity : 100;
  size_t txn_capacity = cfg->transaction_capacity ? cfg->transaction_capacity : 100;
  if (txn_capacity > capacity)
    return sp_error_set(err, SP_ERR_CONFIG,
                        "channel %s: transactionCapacity %zu is larger than capacity %zu", cfg->name,
                        txn_capacity, capacity);
  memset(ch, 0, sizeof *ch);
  ch->ops = ops;
  ch->name = strdup(cfg->name);
  if (!ch->name) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  ch->capacity = capacity;
  ch->transaction_capacity = txn_capacity;
  ch->budget = cfg->budget;
  ch->counters.ChannelCapacity = capacity;
  if (sp_metrics_register(SP_METRICS_CHANNEL, ch->name, &ch->counters)) {
    free(ch->name);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  return SP_OK;
}

void sp_channel_base_cleanup(sp_channel *ch) {
  sp_metrics_unregister(&ch->counters);
  free(ch->name);
  ch->name = NULL;
}

/* Condition variables wait on CLOCK_MONOTONIC, the clock of sp_monotonic_us. */
static struct timespec monotonic_timespec(int64_t us) {
  struct timespec ts = {(time_t)(us / SP_US_PER_SEC), (long)(us % SP_US_PER_SEC) * 1000};
  return ts;
}

/* How often a put waiting on the shared budget (released by other channels,
 * which cannot signal this one) looks again. */
#define BUDGET_POLL_US 2000

void sp_channel_sync_init(sp_channel_sync *sync) {
  memset(sync, 0, sizeof *sync);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&sync->mutex, NULL);
  pthread_cond_init(&sync->room, &attr);
  pthread_cond_init(&sync->items, &attr);
  pthread_condattr_destroy(&attr);
}

void sp_channel_sync_destroy(sp_channel_sync *sync) {
  pthread_cond_destroy(&sync->room);
  pthread_cond_destroy(&sync->items);
  pthread_mutex_destroy(&sync->mutex);
}

/* Budget for one channel: its own share and the channels' common share. */
static bool reserve_channel_bytes(sp_channel *ch, sp_channel_sync *sync, size_t charge) {
  if (!ch->budget) return true;
  size_t limit = sp_membudget_limit(ch->budget);
  size_t own_cap = limit / 100 * SP_MEMBUDGET_ONE_CHANNEL_PCT;
  if (sync->bytes > 0 && (sync->bytes > own_cap || charge > own_cap - sync->bytes)) return false;
  if (!sp_membudget_try_reserve_upto(ch->budget, charge, limit / 100 * SP_MEMBUDGET_CHANNELS_PCT)) return false;
  sync->bytes += charge;
  return true;
}

int sp_channel_sync_reserve(sp_channel *ch, sp_channel_sync *sync, size_t charge, int64_t deadline_us,
                            sp_error *err) {
  for (;;) {
    if (sync->closed) return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
    bool slot = sync->slots_used < ch->capacity;
    if (slot && reserve_channel_bytes(ch, sync, charge)) {
      sync->slots_used++;
      return SP_OK;
    }
    int64_t now = sp_monotonic_us();
    if (now >= deadline_us) {
      if (slot)
        return sp_error_set(err, SP_ERR_FULL, "memory budget spent (%zu of %zu bytes) putting into channel %s",
                            sp_membudget_used(ch->budget), sp_membudget_limit(ch->budget), ch->name);
      return sp_error_set(err, SP_ERR_FULL, "channel %s is full (%zu of %zu events)", ch->name, sync->slots_used,
                          ch->capacity);
    }
    int64_t wait_until = deadline_us;
    if (slot && now + BUDGET_POLL_US < deadline_us) wait_until = now + BUDGET_POLL_US;
    struct timespec ts = monotonic_timespec(wait_until);
    pthread_cond_timedwait(&sync->room, &sync->mutex, &ts);
  }
}

void sp_channel_sync_release(sp_channel *ch, sp_channel_sync *sync, size_t n, size_t bytes) {
  sync->slots_used -= n;
  if (ch->budget) {
    sync->bytes -= bytes;
    sp_membudget_release(ch->budget, bytes);
  }
  if (n) pthread_cond_broadcast(&sync->room);
}

void sp_channel_sync_wait_items(sp_channel_sync *sync, int64_t deadline_us) {
  struct timespec ts = monotonic_timespec(deadline_us);
  pthread_cond_timedwait(&sync->items, &sync->mutex, &ts);
}

void sp_channel_sync_close(sp_channel_sync *sync) {
  pthread_mutex_lock(&sync->mutex);
  sync->closed = true;
  pthread_cond_broadcast(&sync->room);
  pthread_cond_broadcast(&sync->items);
  pthread_mutex_unlock(&sync->mutex);
}

void sp_channel_close(sp_channel *ch) {
  if (ch) ch->ops->close(ch);
}

void sp_channel_free(sp_channel *ch) {
  if (!ch) return;
  ch->ops->close(ch);
  ch->ops->destroy(ch);
}

int sp_channel_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  return ch->ops->take_begin(ch, txn, err);
}

int sp_channel_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err) {
  return ch->ops->take(ch, txn, out, deadline_us, err);
}

int sp_channel_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                           sp_error *err) {
  return ch->ops->take_commit(ch, txn, sink, quarantined, err);
}

void sp_channel_take_rollback(sp_channel *ch, void *txn) { ch->ops->take_rollback(ch, txn); }

bool sp_channel_defers_takes(const sp_channel *ch) { return ch->ops->take_flush != NULL; }

int sp_channel_take_commit_deferred(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                                    sp_error *err) {
  if (!ch->ops->take_commit_deferred) return ch->ops->take_commit(ch, txn, sink, quarantined, err);
  return ch->ops->take_commit_deferred(ch, txn, sink, quarantined, err);
}

int sp_channel_take_flush(sp_channel *ch, sp_error *err) {
  return ch->ops->take_flush ? ch->ops->take_flush(ch, err) : SP_OK;
}

void sp_channel_counters_snapshot(const sp_channel *ch, sp_channel_counters *out) {
  sp_metrics_snapshot_channel(&ch->counters, out);
}

/* ---- fan-out put transaction ---- */

struct sp_put_txn {
  uint64_t id;
  size_t n;
  size_t count;  /* events put */
  bool open;     /* per-channel transactions still need commit or rollback */
  sp_channel **channels;
  void **txns;
};

/* Unique across restarts: the wall clock in microseconds shifted left by 8, bumped
 * past the last id handed out so two transactions in the same microsecond differ. */
static uint64_t next_txid(void) {
  static _Atomic uint64_t last;
  uint64_t candidate = (uint64_t)sp_now_us() << 8;
  uint64_t prev = atomic_load(&last);
  for (;;) {
    uint64_t id = candidate > prev ? candidate : prev + 1;
    if (atomic_compare_exchange_weak(&last, &prev, id)) return id;
  }
}

int sp_put_txn_begin(sp_channel *const *channels, size_t n, sp_put_txn **out, sp_error *err) {
  *out = NULL;
  if (n == 0) return sp_error_set(err, SP_ERR_INVALID, "put transaction without a channel");
  sp_put_txn *t = calloc(1, sizeof *t);
  if (t) t->channels = calloc(n, sizeof *t->channels);
  if (t && t->channels) t->txns = calloc(n, sizeof *t->txns);
  if (!t || !t->txns) {
    if (t) free(t->channels);
    free(t);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  t->id = next_txid();
  t->n = n;
  memcpy(t->channels, channels, n * sizeof *channels);
  for (size_t i = 0; i < n; i++) {
    int rc = channels[i]->ops->put_begin(channels[i], &t->txns[i], err);
    if (rc) {
      for (size_t j = 0; j < i; j++) channels[j]->ops->put_rollback(channels[j], t->txns[j]);
      free(t->txns);
      free(t->channels);
      free(t);
      return rc;
    }
  }
  t->open = true;
  *out = t;
  return SP_OK;
}

int sp_put_txn_put(sp_put_txn *t, const uint8_t *data, size_t len, int64_t timeout_us, sp_error *err) {
  if (!t->open) return sp_error_set(err, SP_ERR_INVALID, "put on a finished transaction");
  int64_t deadline = sp_monotonic_us() + (timeout_us > 0 ? timeout_us : 0);
  for (size_t i = 0; i < t->n; i++) {
    int rc = t->channels[i]->ops->put(t->channels[i], t->txns[i], data, len, deadline, err);
    if (rc) {
      sp_error_prefix(err, "channel %s", t->channels[i]->name);
      return rc;
    }
  }
  t->count++;
  return SP_OK;
}

void sp_put_txn_rollback(sp_put_txn *t) {
  if (!t->open) return;
  for (size_t i = 0; i < t->n; i++) t->channels[i]->ops->put_rollback(t->channels[i], t->txns[i]);
  t->open = false;
}

int sp_put_txn_commit(sp_put_txn *t, sp_put_decide_fn decide, void *ctx, sp_error *err) {
  if (!t->open) return sp_error_set(err, SP_ERR_INVALID, "commit of a finished transaction");
  sp_put_prepare_info info = {t->id, decide != NULL, t->n};
  for (size_t i = 0; i < t->n; i++) {
    int rc = t->channels[i]->ops->put_prepare(t->channels[i], t->txns[i], &info, err);
    if (rc) {
      sp_error_prefix(err, "channel %s", t->channels[i]->name);
      sp_put_txn_rollback(t);
      return rc;
    }
  }
  if (decide) {
    int rc = decide(ctx, t->id, err);
    if (rc) {
      sp_put_txn_rollback(t);
      return rc;
    }
  }
  for (size_t i = 0; i < t->n; i++) t->channels[i]->ops->put_commit(t->channels[i], t->txns[i]);
  t->open = false;
  return SP_OK;
}

void sp_put_txn_close(sp_put_txn *t) {
  if (!t) return;
  sp_put_txn_rollback(t);
  free(t->txns);
  free(t->channels);
  free(t);
}

uint64_t sp_put_txn_id(const sp_put_txn *t) { return t->id; }

size_t sp_put_txn_count(const sp_put_txn *t) { return t->count; }
