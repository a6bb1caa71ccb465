/*
 * channel_memory.c — Flume's MemoryChannel (see channel.h): a FIFO of committed
 * events in RAM behind one mutex.
 *
 * Room is counted in slots (capacity) and bytes (the shared memory budget).  A put
 * reserves its slot and bytes when it is made, blocking up to its deadline, so a
 * commit never fails; the reservation is returned on rollback, or when a take of
 * the event commits.  Taken events move to the take transaction's list (still
 * counted) and go back to the head of the queue on rollback.
 */
#include "core/channel.h"

#include "core/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes charged to the budget per event beyond its payload (list node, header). */
#define EVENT_OVERHEAD sizeof(mem_event)

typedef struct mem_event {
  struct mem_event *next;
  uint64_t seq;
  size_t len;
  uint8_t data[];
} mem_event;

typedef struct event_list {
  mem_event *head, *tail;
  size_t count;
  size_t bytes; /* budget charge of the events in the list */
} event_list;

typedef struct memory_channel {
  sp_channel base;
  sp_channel_sync sync;
  event_list queue; /* committed, not taken */
  uint64_t next_seq;
  bool take_open;
} memory_channel;

typedef struct put_txn {
  event_list events;
} put_txn;

typedef struct take_txn {
  event_list events;
} take_txn;

static void list_push(event_list *l, mem_event *e) {
  e->next = NULL;
  if (l->tail) l->tail->next = e;
  else l->head = e;
  l->tail = e;
  l->count++;
  l->bytes += e->len + EVENT_OVERHEAD;
}

static mem_event *list_pop(event_list *l) {
  mem_event *e = l->head;
  if (!e) return NULL;
  l->head = e->next;
  if (!l->head) l->tail = NULL;
  l->count--;
  l->bytes -= e->len + EVENT_OVERHEAD;
  return e;
}

/* Put all of `front` before `l` (keeps order). */
static void list_prepend(event_list *l, event_list *front) {
  if (!front->head) return;
  front->tail->next = l->head;
  if (!l->tail) l->tail = front->tail;
  l->head = front->head;
  l->count += front->count;
  l->bytes += front->bytes;
  memset(front, 0, sizeof *front);
}

static void list_free(event_list *l) {
  mem_event *e = l->head;
  while (e) {
    mem_event *next = e->next;
    free(e);
    e = next;
  }
  memset(l, 0, sizeof *l);
}

static int memory_put_begin(sp_channel *ch, void **txn, sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&mc->sync.mutex);
  bool closed = mc->sync.closed;
  pthread_mutex_unlock(&mc->sync.mutex);
  if (closed) {
    free(t);
    return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
  }
  *txn = t;
  return SP_OK;
}

static int memory_put(sp_channel *ch, void *txn, const uint8_t *data, size_t len, int64_t deadline_us,
                      sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = txn;
  sp_metrics_record_put_attempt(&ch->counters, 1);
  if (t->events.count >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "put list of a transaction on channel %s is full (%zu events)",
                        ch->name, ch->transaction_capacity);
  mem_event *e = malloc(sizeof *e + len);
  if (!e) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  e->len = len;
  e->seq = 0;
  if (len) memcpy(e->data, data, len);

  pthread_mutex_lock(&mc->sync.mutex);
  int rc = sp_channel_sync_reserve(ch, &mc->sync, len + EVENT_OVERHEAD, deadline_us, err);
  pthread_mutex_unlock(&mc->sync.mutex);
  if (rc) {
    free(e);
    return rc;
  }
  list_push(&t->events, e);
  return SP_OK;
}

static int memory_put_prepare(sp_channel *ch, void *txn, const sp_put_prepare_info *info, sp_error *err) {
  (void)ch, (void)txn, (void)info, (void)err;
  return SP_OK; /* room was reserved by each put */
}

static void memory_put_commit(sp_channel *ch, void *txn) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = txn;
  size_t n = t->events.count;
  pthread_mutex_lock(&mc->sync.mutex);
  for (mem_event *e = t->events.head; e; e = e->next) e->seq = mc->next_seq++;
  if (n) {
    if (mc->queue.tail) mc->queue.tail->next = t->events.head;
    else mc->queue.head = t->events.head;
    mc->queue.tail = t->events.tail;
    mc->queue.count += n;
    mc->queue.bytes += t->events.bytes;
    sp_metrics_record_put_commit(&ch->counters, n);
    pthread_cond_broadcast(&mc->sync.items);
  }
  pthread_mutex_unlock(&mc->sync.mutex);
  free(t);
}

static void memory_put_rollback(sp_channel *ch, void *txn) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = txn;
  pthread_mutex_lock(&mc->sync.mutex);
  sp_channel_sync_release(ch, &mc->sync, t->events.count, t->events.bytes);
  pthread_mutex_unlock(&mc->sync.mutex);
  list_free(&t->events);
  free(t);
}

static int memory_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&mc->sync.mutex);
  bool busy = mc->take_open;
  mc->take_open = true;
  pthread_mutex_unlock(&mc->sync.mutex);
  if (busy) {
    free(t);
    return sp_error_set(err, SP_ERR_INVALID, "channel %s already has an open take transaction", ch->name);
  }
  *txn = t;
  return SP_OK;
}

static int memory_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = txn;
  if (t->events.count >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "take list of a transaction on channel %s is full (%zu events)",
                        ch->name, ch->transaction_capacity);
  sp_metrics_record_take_attempt(&ch->counters, 1);
  pthread_mutex_lock(&mc->sync.mutex);
  mem_event *e;
  for (;;) {
    e = list_pop(&mc->queue);
    if (e) break;
    if (mc->sync.closed) {
      pthread_mutex_unlock(&mc->sync.mutex);
      return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
    }
    if (sp_monotonic_us() >= deadline_us) {
      pthread_mutex_unlock(&mc->sync.mutex);
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
    }
    sp_channel_sync_wait_items(&mc->sync, deadline_us);
  }
  pthread_mutex_unlock(&mc->sync.mutex);
  list_push(&t->events, e);
  out->seq = e->seq;
  out->data = e->data;
  out->len = e->len;
  return SP_OK;
}

static int memory_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                              sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = txn;
  size_t n = t->events.count;
  if (quarantined > n)
    return sp_error_set(err, SP_ERR_INVALID, "%llu quarantined events in a take of %zu",
                        (unsigned long long)quarantined, n);
  pthread_mutex_lock(&mc->sync.mutex);
  sp_metrics_record_take_commit(&ch->counters, sink, n - quarantined, quarantined);
  sp_channel_sync_release(ch, &mc->sync, n, t->events.bytes);
  mc->take_open = false;
  pthread_mutex_unlock(&mc->sync.mutex);
  list_free(&t->events);
  free(t);
  return SP_OK;
}

static void memory_take_rollback(sp_channel *ch, void *txn) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = txn;
  pthread_mutex_lock(&mc->sync.mutex);
  if (t->events.count) pthread_cond_broadcast(&mc->sync.items);
  list_prepend(&mc->queue, &t->events);
  mc->take_open = false;
  pthread_mutex_unlock(&mc->sync.mutex);
  free(t);
}

static void memory_close(sp_channel *ch) { sp_channel_sync_close(&((memory_channel *)ch)->sync); }

static void memory_destroy(sp_channel *ch) {
  memory_channel *mc = (memory_channel *)ch;
  sp_membudget_release(ch->budget, mc->queue.bytes);
  list_free(&mc->queue);
  sp_channel_sync_destroy(&mc->sync);
  sp_channel_base_cleanup(ch);
  free(mc);
}

static const sp_channel_ops memory_ops = {
    "memory",           memory_put_begin,     memory_put,         memory_put_prepare,
    memory_put_commit,  memory_put_rollback,  memory_take_begin,  memory_take,
    memory_take_commit, memory_take_rollback, memory_close,       memory_destroy,
    NULL,               NULL,
};

int sp_channel_memory_open(const sp_channel_config *cfg, sp_channel **out, sp_error *err) {
  *out = NULL;
  memory_channel *mc = calloc(1, sizeof *mc);
  if (!mc) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = sp_channel_base_init(&mc->base, &memory_ops, cfg, err);
  if (rc) {
    free(mc);
    return rc;
  }
  sp_channel_sync_init(&mc->sync);
  mc->next_seq = (uint64_t)sp_now_us();
  *out = &mc->base;
  return SP_OK;
}
