/*
 * sink_runner.c — channel → sink delivery with retries and quarantine (see
 * sink_runner.h).  The same batch function serves the runner's thread and the
 * synchronous drain; they differ only in how long a take waits and in the deadline.
 */
#include "core/sink_runner.h"

#include "core/durable.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "format/value_text.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the thread's first take of a batch waits before checking for stop. */
#define IDLE_POLL_US (100 * 1000)
/* Most batches committed deferred before one flush makes them durable (group sync). */
#define MAX_DEFERRED_BATCHES 16

struct sp_sink_runner {
  sp_channel *channel;
  sp_sink *sink;
  char *data_dir;
  size_t batch_size, batch_bytes;
  int64_t batch_timeout_us, backoff_initial_us, backoff_max_us;
  unsigned max_attempts;
  sp_latency_series *batch_latency; /* the sink's series, NULL when not measured */
  unsigned seed;
  sp_event *events; /* the current batch, batch_size entries */
  bool defer;              /* deferred sink commits and take records, one flush per run */
  size_t deferred_batches; /* committed since the last flush */

  pthread_t thread;
  bool started;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  bool stop_requested;
  int64_t drain_deadline_us; /* valid once stop_requested */
  sp_sink_runner_status status;
};

typedef struct quarantined {
  size_t index;
  char reason[SP_ERROR_MSG_MAX];
} quarantined;

int64_t sp_backoff_delay_us(unsigned attempt, int64_t initial_us, int64_t max_us, unsigned *seed) {
  int64_t delay = initial_us;
  for (unsigned i = 1; i < attempt && delay < max_us; i++) delay *= 2;
  if (delay > max_us) delay = max_us;
  double factor = 0.5 + 0.5 * ((double)rand_r(seed) / ((double)RAND_MAX + 1.0));
  return (int64_t)((double)delay * factor);
}

int sp_sink_runner_create(const sp_sink_runner_config *cfg, sp_sink_runner **out, sp_error *err) {
  *out = NULL;
  if (!cfg->channel || !cfg->sink) return sp_error_set(err, SP_ERR_INVALID, "sink runner without channel or sink");
  sp_sink_runner *r = calloc(1, sizeof *r);
  if (!r) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  r->channel = cfg->channel;
  r->sink = cfg->sink;
  r->batch_size = cfg->batch_size ? cfg->batch_size : 100;
  if (r->batch_size > cfg->channel->transaction_capacity) {
    SP_WARN(cfg->sink->name, "batch_size %zu exceeds transactionCapacity %zu of channel %s; using %zu",
            r->batch_size, cfg->channel->transaction_capacity, cfg->channel->name,
            cfg->channel->transaction_capacity);
    r->batch_size = cfg->channel->transaction_capacity;
  }
  r->batch_bytes = cfg->batch_bytes;
  r->batch_timeout_us = cfg->batch_timeout_us > 0 ? cfg->batch_timeout_us : SP_US_PER_SEC;
  r->backoff_initial_us = cfg->backoff_initial_us > 0 ? cfg->backoff_initial_us : 100 * 1000;
  r->backoff_max_us = cfg->backoff_max_us > 0 ? cfg->backoff_max_us : 30 * SP_US_PER_SEC;
  r->max_attempts = cfg->max_attempts;
  r->seed = (unsigned)sp_monotonic_us() ^ (unsigned)(uintptr_t)r;
  r->data_dir = strdup(cfg->data_dir ? cfg->data_dir : ".");
  r->events = calloc(r->batch_size, sizeof *r->events);
  r->defer = cfg->sink->ops->commit_deferred && cfg->sink->ops->flush && sp_channel_defers_takes(cfg->channel);
  bool no_series = cfg->batch_latency && sp_latency_series_of(cfg->batch_latency, cfg->sink->name, &r->batch_latency);
  if (!r->data_dir || !r->events || no_series) {
    free(r->data_dir);
    free(r->events);
    free(r);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&r->mutex, NULL);
  pthread_cond_init(&r->wake, &attr);
  pthread_condattr_destroy(&attr);
  *out = r;
  return SP_OK;
}

/* Sleep `delay_us` unless the deadline comes first.  False when it did. */
static bool backoff_sleep(sp_sink_runner *r, int64_t delay_us, int64_t deadline_us) {
  int64_t until = sp_monotonic_us() + delay_us;
  pthread_mutex_lock(&r->mutex);
  for (;;) {
    int64_t d = deadline_us;
    if (r->stop_requested && r->drain_deadline_us < d) d = r->drain_deadline_us;
    int64_t now = sp_monotonic_us();
    if (now >= d) {
      pthread_mutex_unlock(&r->mutex);
      return false;
    }
    if (now >= until) break;
    int64_t wait = until < d ? until : d;
    struct timespec ts = {(time_t)(wait / SP_US_PER_SEC), (long)(wait % SP_US_PER_SEC) * 1000};
    pthread_cond_timedwait(&r->wake, &r->mutex, &ts);
  }
  pthread_mutex_unlock(&r->mutex);
  return true;
}

static void note_failure(sp_sink_runner *r, const sp_error *err) {
  pthread_mutex_lock(&r->mutex);
  r->status.consecutive_failures++;
  snprintf(r->status.last_error, sizeof r->status.last_error, "%s", err->msg);
  pthread_mutex_unlock(&r->mutex);
}

static void note_success(sp_sink_runner *r) {
  pthread_mutex_lock(&r->mutex);
  r->status.consecutive_failures = 0;
  r->status.last_error[0] = '\0';
  r->status.last_success_us = sp_now_us();
  pthread_mutex_unlock(&r->mutex);
}

enum delivery { DELIVERED, PERMANENT, GAVE_UP, OUT_OF_TIME };

/* Hand events[0..n) to the sink, retrying transient errors. */
static enum delivery deliver(sp_sink_runner *r, const sp_event *events, size_t n, int64_t deadline_us,
                             sp_error *err) {
  sp_sink *s = r->sink;
  for (unsigned attempt = 1;; attempt++) {
    int rc = s->ops->begin(s, err);
    if (!rc) rc = s->ops->write(s, events, n, err);
    if (!rc) rc = r->defer ? s->ops->commit_deferred(s, err) : s->ops->commit(s, err);
    if (!rc) return DELIVERED;
    s->ops->abort(s);
    note_failure(r, err);
    if (sp_sink_error_is_permanent(rc)) return PERMANENT;
    if (r->max_attempts && attempt >= r->max_attempts) {
      sp_error_prefix(err, "gave up after %u attempts", attempt);
      return GAVE_UP;
    }
    int64_t delay = sp_backoff_delay_us(attempt, r->backoff_initial_us, r->backoff_max_us, &r->seed);
    SP_WARN(s->name, "attempt %u failed (%s); retrying in %" PRId64 " ms", attempt, err->msg, delay / 1000);
    sp_metrics_record_retry(&s->counters);
    if (!backoff_sleep(r, delay, deadline_us)) return OUT_OF_TIME;
  }
}

static int append_quarantine_line(sp_buf *out, const sp_event *ev, const char *reason) {
  int rc = sp_buf_printf(out, "{\"seq\":%" PRIu64 ",\"reason\":", ev->seq);
  if (!rc) rc = sp_json_append_string(out, reason, strlen(reason));
  sp_row row;
  if (!rc && sp_row_decode(ev->data, ev->len, &row, NULL) == SP_OK) {
    rc = sp_buf_printf(out, ",\"dataset\":\"%s\",\"row\":", row.ds->name);
    if (!rc) rc = sp_json_append_row(out, &row, NULL, 0);
    sp_row_clear(&row);
  } else if (!rc) {
    rc = sp_buf_append_str(out, ",\"event_hex\":\"");
    for (size_t i = 0; i < ev->len && !rc; i++) rc = sp_buf_printf(out, "%02x", ev->data[i]);
    if (!rc) rc = sp_buf_append_byte(out, '"');
  }
  if (!rc) rc = sp_buf_append_str(out, "}\n");
  return rc;
}

/* Write the quarantined events durably. */
static int write_quarantine(sp_sink_runner *r, const quarantined *q, size_t nq, sp_error *err) {
  char dir[PATH_MAX], path[PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s/quarantine/sinks/%s", r->data_dir, r->sink->name);
  snprintf(path, sizeof path, "%s/%" PRIu64 "-%" PRIu64 ".jsonl", dir, r->events[q[0].index].seq,
           r->events[q[nq - 1].index].seq);
  sp_buf text = SP_BUF_INIT;
  int rc = SP_OK;
  for (size_t i = 0; i < nq && !rc; i++)
    if (append_quarantine_line(&text, &r->events[q[i].index], q[i].reason))
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_mkdirs(dir, err);
  if (!rc) rc = sp_write_file_atomic(path, text.data, text.len, err);
  sp_buf_free(&text);
  if (!rc) SP_ERROR(r->sink->name, "%zu event(s) quarantined in %s: %s", nq, path, q[0].reason);
  return rc;
}

/* Deliver a taken batch of n events; on success *nquarantined tells how many went
 * to quarantine instead of the sink. */
static int deliver_batch(sp_sink_runner *r, size_t n, int64_t deadline_us, uint64_t *nquarantined, sp_error *err) {
  *nquarantined = 0;
  enum delivery d = deliver(r, r->events, n, deadline_us, err);
  if (d == DELIVERED) return SP_OK;
  if (d == OUT_OF_TIME) return sp_error_set(err, SP_ERR_TIMEOUT, "sink %s: stopped while retrying: %s",
                                            r->sink->name, err->msg);
  quarantined *q = calloc(n, sizeof *q);
  if (!q) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t nq = 0;
  if (n == 1 || d == GAVE_UP) {
    for (size_t i = 0; i < n; i++) {
      q[nq].index = i;
      snprintf(q[nq++].reason, sizeof q->reason, "%s", err->msg);
    }
  } else {
    /* narrow a permanent failure down to the events that cause it */
    for (size_t i = 0; i < n; i++) {
      sp_error one = {0};
      d = deliver(r, &r->events[i], 1, deadline_us, &one);
      if (d == OUT_OF_TIME) {
        free(q);
        return sp_error_set(err, SP_ERR_TIMEOUT, "sink %s: stopped while retrying: %s", r->sink->name, one.msg);
      }
      if (d != DELIVERED) {
        q[nq].index = i;
        snprintf(q[nq++].reason, sizeof q->reason, "%s", one.msg);
      }
    }
  }
  int rc = nq ? write_quarantine(r, q, nq, err) : SP_OK;
  free(q);
  if (!rc) *nquarantined = nq;
  return rc;
}

/* Make the deferred batches durable: the sink's syncs first, then the channel's
 * take records (the order that keeps a crash from losing a batch). */
static int flush_deferred(sp_sink_runner *r, sp_error *err) {
  if (r->deferred_batches == 0) return SP_OK;
  int rc = r->sink->ops->flush(r->sink, err);
  if (!rc) rc = sp_channel_take_flush(r->channel, err);
  if (!rc) r->deferred_batches = 0;
  return rc;
}

/* Take one batch (waiting up to `first_wait_us` for its first event when blocking)
 * and deliver it.  *count = events committed (0 when the channel was empty). */
static int run_batch_once(sp_sink_runner *r, bool blocking, int64_t deadline_us, size_t *count, sp_error *err) {
  *count = 0;
  void *txn;
  int rc = sp_channel_take_begin(r->channel, &txn, err);
  if (rc) return rc;
  size_t n = 0, bytes = 0;
  int64_t fill_deadline = 0;
  while (n < r->batch_size && (!r->batch_bytes || bytes < r->batch_bytes)) {
    int64_t now = sp_monotonic_us();
    int64_t wait = !blocking ? now : n == 0 ? now + IDLE_POLL_US : fill_deadline;
    rc = sp_channel_take(r->channel, txn, &r->events[n], wait, err);
    if (rc) break;
    if (n == 0) fill_deadline = now + r->batch_timeout_us;
    bytes += r->events[n].len;
    n++;
  }
  bool ran_dry = rc != SP_OK; /* not ended by batch_size / batch_bytes */
  if (rc && rc != SP_ERR_TIMEOUT && !(rc == SP_ERR_STOPPED && n > 0)) {
    sp_channel_take_rollback(r->channel, txn);
    return rc;
  }
  if (n == 0) {
    sp_channel_take_rollback(r->channel, txn);
    sp_metrics_record_drain_attempt(&r->sink->counters, 0, r->batch_size);
    return flush_deferred(r, err);
  }
  sp_metrics_record_drain_attempt(&r->sink->counters, n, r->batch_size);
  int64_t formed_us = sp_monotonic_us();
  uint64_t nq = 0;
  rc = deliver_batch(r, n, deadline_us, &nq, err);
  if (!rc && r->defer) rc = sp_channel_take_commit_deferred(r->channel, txn, &r->sink->counters, nq, err);
  else if (!rc) rc = sp_channel_take_commit(r->channel, txn, &r->sink->counters, nq, err);
  if (rc) {
    sp_channel_take_rollback(r->channel, txn);
    return rc;
  }
  if (r->batch_latency) sp_latency_series_observe(r->batch_latency, sp_monotonic_us() - formed_us);
  note_success(r);
  *count = n;
  if (r->defer && (++r->deferred_batches >= MAX_DEFERRED_BATCHES || ran_dry))
    return flush_deferred(r, err);
  return SP_OK;
}

/* run_batch_once, again while the channel withdraws the events of the take (nothing
 * reached the sink: the take was rolled back before the sink's begin). */
static int run_batch(sp_sink_runner *r, bool blocking, int64_t deadline_us, size_t *count, sp_error *err) {
  int rc;
  while ((rc = run_batch_once(r, blocking, deadline_us, count, err)) == SP_ERR_RETRY)
    SP_DEBUG(r->sink->name, "taking the batch again: %s", err->msg);
  return rc;
}

int sp_sink_runner_drain(sp_sink_runner *r, int64_t deadline_us, uint64_t *delivered, sp_error *err) {
  uint64_t total = 0;
  int rc;
  for (;;) {
    size_t n;
    rc = run_batch(r, false, deadline_us, &n, err);
    total += n;
    if (rc == SP_ERR_STOPPED && n == 0) rc = SP_OK; /* closed and empty: fully drained */
    if (rc || n == 0) break;
  }
  if (!rc) rc = flush_deferred(r, err);
  if (delivered) *delivered = total;
  return rc;
}

static void *runner_thread(void *arg) {
  sp_sink_runner *r = arg;
  unsigned take_failures = 0;
  for (;;) {
    pthread_mutex_lock(&r->mutex);
    bool stopping = r->stop_requested;
    int64_t drain_deadline = r->drain_deadline_us;
    pthread_mutex_unlock(&r->mutex);
    size_t n = 0;
    sp_error err = {0};
    int rc = run_batch(r, !stopping, stopping ? drain_deadline : INT64_MAX, &n, &err);
    if (rc == SP_ERR_STOPPED && n == 0) break; /* channel closed and empty */
    if (rc && rc != SP_ERR_TIMEOUT) {
      /* take-side failure (e.g. the channel's log): wait a little and go on */
      note_failure(r, &err);
      SP_ERROR(r->sink->name, "batch failed: %s", err.msg);
      backoff_sleep(r, sp_backoff_delay_us(++take_failures, r->backoff_initial_us, r->backoff_max_us, &r->seed),
                    stopping ? drain_deadline : INT64_MAX);
    } else {
      take_failures = 0;
    }
    if (stopping && (n == 0 || sp_monotonic_us() >= drain_deadline)) break;
  }
  sp_error err = {0};
  if (flush_deferred(r, &err)) {
    note_failure(r, &err);
    SP_ERROR(r->sink->name, "making the last batches durable: %s (they are delivered again at the next start)",
             err.msg);
  }
  pthread_mutex_lock(&r->mutex);
  r->status.running = false;
  pthread_mutex_unlock(&r->mutex);
  return NULL;
}

int sp_sink_runner_start(sp_sink_runner *r, sp_error *err) {
  if (r->started) return SP_OK;
  r->status.running = true;
  if (pthread_create(&r->thread, NULL, runner_thread, r) != 0) {
    r->status.running = false;
    return sp_error_set(err, SP_ERR_IO, "sink %s: cannot start its thread", r->sink->name);
  }
  r->started = true;
  return SP_OK;
}

void sp_sink_runner_stop(sp_sink_runner *r, int64_t drain_timeout_us) {
  if (!r->started) return;
  pthread_mutex_lock(&r->mutex);
  r->stop_requested = true;
  r->drain_deadline_us = sp_monotonic_us() + (drain_timeout_us > 0 ? drain_timeout_us : 0);
  pthread_cond_broadcast(&r->wake);
  pthread_mutex_unlock(&r->mutex);
  pthread_join(r->thread, NULL);
  r->started = false;
}

void sp_sink_runner_status_get(sp_sink_runner *r, sp_sink_runner_status *out) {
  pthread_mutex_lock(&r->mutex);
  *out = r->status;
  pthread_mutex_unlock(&r->mutex);
}

void sp_sink_runner_free(sp_sink_runner *r) {
  if (!r) return;
  sp_sink_runner_stop(r, 0);
  pthread_cond_destroy(&r->wake);
  pthread_mutex_destroy(&r->mutex);
  free(r->events);
  free(r->data_dir);
  free(r);
}
