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
/* How often a put waiting on the shared budget (released by other channels,
 * which cannot signal us) looks again. */
#define BUDGET_POLL_US 2000

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
  pthread_mutex_t mutex;
  pthread_cond_t room;   /* signalled when slots are freed */
  pthread_cond_t items;  /* signalled when events are committed */
  event_list queue;      /* committed, not taken */
  size_t slots_used;     /* queue + taken-uncommitted + reserved by open puts */
  uint64_t next_seq;
  bool closed;
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

static void abs_deadline(int64_t deadline_us, struct timespec *ts) {
  /* Condition variables use CLOCK_MONOTONIC (set at init), like sp_monotonic_us. */
  ts->tv_sec = (time_t)(deadline_us / SP_US_PER_SEC);
  ts->tv_nsec = (long)(deadline_us % SP_US_PER_SEC) * 1000;
}

static int memory_put_begin(sp_channel *ch, void **txn, sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&mc->mutex);
  bool closed = mc->closed;
  pthread_mutex_unlock(&mc->mutex);
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
  size_t charge = len + EVENT_OVERHEAD;

  int rc = SP_OK;
  pthread_mutex_lock(&mc->mutex);
  for (;;) {
    if (mc->closed) {
      rc = sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
      break;
    }
    bool slot = mc->slots_used < ch->capacity;
    if (slot && sp_membudget_try_reserve(ch->budget, charge)) {
      mc->slots_used++;
      break;
    }
    int64_t now = sp_monotonic_us();
    if (now >= deadline_us) {
      if (slot)
        rc = sp_error_set(err, SP_ERR_FULL, "memory budget spent (%zu of %zu bytes) putting into channel %s",
                          sp_membudget_used(ch->budget), sp_membudget_limit(ch->budget), ch->name);
      else
        rc = sp_error_set(err, SP_ERR_FULL, "channel %s is full (%zu of %zu events)", ch->name,
                          mc->slots_used, ch->capacity);
      break;
    }
    int64_t wait_until = slot ? (now + BUDGET_POLL_US < deadline_us ? now + BUDGET_POLL_US : deadline_us)
                              : deadline_us;
    struct timespec ts;
    abs_deadline(wait_until, &ts);
    pthread_cond_timedwait(&mc->room, &mc->mutex, &ts);
  }
  pthread_mutex_unlock(&mc->mutex);
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
  pthread_mutex_lock(&mc->mutex);
  for (mem_event *e = t->events.head; e; e = e->next) e->seq = mc->next_seq++;
  if (n) {
    if (mc->queue.tail) mc->queue.tail->next = t->events.head;
    else mc->queue.head = t->events.head;
    mc->queue.tail = t->events.tail;
    mc->queue.count += n;
    mc->queue.bytes += t->events.bytes;
    sp_metrics_record_put_commit(&ch->counters, n);
    pthread_cond_broadcast(&mc->items);
  }
  pthread_mutex_unlock(&mc->mutex);
  free(t);
}

/* Return slots and budget of `n` events / `bytes` (caller holds the mutex). */
static void release_room(memory_channel *mc, size_t n, size_t bytes) {
  mc->slots_used -= n;
  sp_membudget_release(mc->base.budget, bytes);
  if (n) pthread_cond_broadcast(&mc->room);
}

static void memory_put_rollback(sp_channel *ch, void *txn) {
  memory_channel *mc = (memory_channel *)ch;
  put_txn *t = txn;
  pthread_mutex_lock(&mc->mutex);
  release_room(mc, t->events.count, t->events.bytes);
  pthread_mutex_unlock(&mc->mutex);
  list_free(&t->events);
  free(t);
}

static int memory_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&mc->mutex);
  bool busy = mc->take_open;
  mc->take_open = true;
  pthread_mutex_unlock(&mc->mutex);
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
  pthread_mutex_lock(&mc->mutex);
  mem_event *e;
  for (;;) {
    e = list_pop(&mc->queue);
    if (e) break;
    if (mc->closed) {
      pthread_mutex_unlock(&mc->mutex);
      return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
    }
    if (sp_monotonic_us() >= deadline_us) {
      pthread_mutex_unlock(&mc->mutex);
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
    }
    struct timespec ts;
    abs_deadline(deadline_us, &ts);
    pthread_cond_timedwait(&mc->items, &mc->mutex, &ts);
  }
  pthread_mutex_unlock(&mc->mutex);
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
  pthread_mutex_lock(&mc->mutex);
  sp_metrics_record_take_commit(&ch->counters, sink, n - quarantined, quarantined);
  release_room(mc, n, t->events.bytes);
  mc->take_open = false;
  pthread_mutex_unlock(&mc->mutex);
  list_free(&t->events);
  free(t);
  return SP_OK;
}

static void memory_take_rollback(sp_channel *ch, void *txn) {
  memory_channel *mc = (memory_channel *)ch;
  take_txn *t = txn;
  pthread_mutex_lock(&mc->mutex);
  if (t->events.count) pthread_cond_broadcast(&mc->items);
  list_prepend(&mc->queue, &t->events);
  mc->take_open = false;
  pthread_mutex_unlock(&mc->mutex);
  free(t);
}

static void memory_close(sp_channel *ch) {
  memory_channel *mc = (memory_channel *)ch;
  pthread_mutex_lock(&mc->mutex);
  mc->closed = true;
  pthread_cond_broadcast(&mc->room);
  pthread_cond_broadcast(&mc->items);
  pthread_mutex_unlock(&mc->mutex);
}

static void memory_destroy(sp_channel *ch) {
  memory_channel *mc = (memory_channel *)ch;
  sp_membudget_release(ch->budget, mc->queue.bytes);
  list_free(&mc->queue);
  pthread_cond_destroy(&mc->room);
  pthread_cond_destroy(&mc->items);
  pthread_mutex_destroy(&mc->mutex);
  sp_channel_base_cleanup(ch);
  free(mc);
}

static const sp_channel_ops memory_ops = {
    "memory",           memory_put_begin,     memory_put,         memory_put_prepare,
    memory_put_commit,  memory_put_rollback,  memory_take_begin,  memory_take,
    memory_take_commit, memory_take_rollback, memory_close,       memory_destroy,
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
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&mc->mutex, NULL);
  pthread_cond_init(&mc->room, &attr);
  pthread_cond_init(&mc->items, &attr);
  pthread_condattr_destroy(&attr);
  mc->next_seq = (uint64_t)sp_now_us();
  *out = &mc->base;
  return SP_OK;
}
