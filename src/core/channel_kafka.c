/*
 * channel_kafka.c — the Kafka channel (see channel_kafka.h), on librdkafka.
 *
 * Put transactions copy their events; prepare produces them to partition 0 and
 * waits for their delivery reports, counted in a reference-counted tracker so that
 * a report arriving after a timed-out prepare (served by any thread's poll) never
 * touches freed memory.  The take side holds the consumed messages of its open
 * transaction and commits or seeks back by offset.
 */
#include "core/channel_kafka.h"

#include "core/timeutil.h"
#include "sinks/sink_kafka.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL_PARTITION 0

/* Delivery bookkeeping of one prepare; freed when its last reference goes. */
typedef struct delivery_tracker {
  atomic_int refs;      /* the transaction + each message in flight */
  atomic_int in_flight;
  atomic_int failed;
  _Atomic rd_kafka_resp_err_t first_error;
} delivery_tracker;

typedef struct put_event {
  size_t len;
  uint8_t *data;
} put_event;

typedef struct put_txn {
  put_event *events;
  size_t n, cap;
} put_txn;

typedef struct take_txn {
  rd_kafka_message_t **messages;
  size_t n;
} take_txn;

typedef struct kafka_channel {
  sp_channel base;
  rd_kafka_conf_t *conf;      /* common settings both handles start from */
  char *topic, *group;
  int timeout_ms;
  pthread_mutex_t lock;       /* guards the lazy creation of the producer and closed */
  rd_kafka_t *producer;
  rd_kafka_t *consumer;       /* used by the one taking thread only */
  atomic_bool closed;
} kafka_channel;

static void tracker_release(delivery_tracker *t) {
  if (atomic_fetch_sub(&t->refs, 1) == 1) free(t);
}

static void delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk, (void)opaque;
  delivery_tracker *t = m->_private;
  if (m->err && atomic_fetch_add(&t->failed, 1) == 0) atomic_store(&t->first_error, m->err);
  atomic_fetch_sub(&t->in_flight, 1);
  tracker_release(t);
}

/* A new handle of `type` from the common settings plus `extra` (NULL-terminated). */
static int new_handle(kafka_channel *kc, rd_kafka_type_t type, const char *const *extra, rd_kafka_t **out,
                      sp_error *err) {
  char owner[160], why[512];
  snprintf(owner, sizeof owner, "channel %s", kc->base.name);
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(kc->conf);
  int rc = sp_kafka_conf_apply(conf, extra, owner, err);
  if (!rc && type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  *out = rc ? NULL : rd_kafka_new(type, conf, why, sizeof why);
  if (!rc && !*out) rc = sp_error_set(err, SP_ERR_CONFIG, "%s: creating the Kafka client: %s", owner, why);
  if (!*out) rd_kafka_conf_destroy(conf);
  return rc;
}

/* ---- put side -------------------------------------------------------------------------- */

static int kafka_put_begin(sp_channel *ch, void **txn, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (atomic_load(&kc->closed)) return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
  int rc = SP_OK;
  pthread_mutex_lock(&kc->lock);
  if (!kc->producer) {
    const char *const producer_settings[] = {"enable.idempotence=true", "acks=all", "linger.ms=5",
                                             "compression.type=lz4", NULL};
    rc = new_handle(kc, RD_KAFKA_PRODUCER, producer_settings, &kc->producer, err);
  }
  pthread_mutex_unlock(&kc->lock);
  if (rc) return rc;
  *txn = calloc(1, sizeof(put_txn));
  return *txn ? SP_OK : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
}

static int kafka_put(sp_channel *ch, void *txn, const uint8_t *data, size_t len, int64_t deadline_us,
                     sp_error *err) {
  (void)deadline_us; /* Kafka holds the backlog: a put never waits for room */
  put_txn *t = txn;
  sp_metrics_record_put_attempt(&ch->counters, 1);
  if (t->n >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "put list of a transaction on channel %s is full (%zu events)", ch->name,
                        ch->transaction_capacity);
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    put_event *grown = realloc(t->events, cap * sizeof *grown);
    if (!grown) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    t->events = grown;
    t->cap = cap;
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (len) memcpy(copy, data, len);
  t->events[t->n++] = (put_event){len, copy};
  return SP_OK;
}

static void free_put_txn(put_txn *t) {
  for (size_t i = 0; i < t->n; i++) free(t->events[i].data);
  free(t->events);
  free(t);
}

static int kafka_put_prepare(sp_channel *ch, void *txn, const sp_put_prepare_info *info, sp_error *err) {
  (void)info;
  kafka_channel *kc = (kafka_channel *)ch;
  put_txn *t = txn;
  if (t->n == 0) return SP_OK;
  delivery_tracker *tr = calloc(1, sizeof *tr);
  if (!tr) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  atomic_init(&tr->refs, 1);
  int64_t deadline = sp_monotonic_us() + (int64_t)kc->timeout_ms * 1000;
  int rc = SP_OK;
  for (size_t i = 0; i < t->n && !rc; i++) {
    atomic_fetch_add(&tr->refs, 1);
    atomic_fetch_add(&tr->in_flight, 1);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(kc->producer, RD_KAFKA_V_TOPIC(kc->topic), RD_KAFKA_V_PARTITION(CHANNEL_PARTITION),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(t->events[i].data, t->events[i].len), RD_KAFKA_V_OPAQUE(tr),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
           sp_monotonic_us() < deadline)
      rd_kafka_poll(kc->producer, 10);
    if (e) {
      atomic_fetch_sub(&tr->in_flight, 1);
      atomic_fetch_sub(&tr->refs, 1);
      rc = sp_error_set(err, SP_ERR_IO, "channel %s: producing to Kafka topic %s: %s", ch->name, kc->topic,
                        rd_kafka_err2str(e));
    }
  }
  while (atomic_load(&tr->in_flight) > 0 && sp_monotonic_us() < deadline) rd_kafka_poll(kc->producer, 20);
  int in_flight = atomic_load(&tr->in_flight), failed = atomic_load(&tr->failed);
  if (!rc && failed)
    rc = sp_error_set(err, SP_ERR_IO, "channel %s: %d of %zu events not delivered to Kafka topic %s: %s", ch->name,
                      failed, t->n, kc->topic, rd_kafka_err2str(atomic_load(&tr->first_error)));
  if (!rc && in_flight)
    rc = sp_error_set(err, SP_ERR_IO, "channel %s: %d of %zu events unacknowledged by Kafka after %d ms", ch->name,
                      in_flight, t->n, kc->timeout_ms);
  tracker_release(tr);
  return rc;
}

static void kafka_put_commit(sp_channel *ch, void *txn) {
  put_txn *t = txn;
  if (t->n) sp_metrics_record_put_commit(&ch->counters, t->n);
  free_put_txn(t);
}

static void kafka_put_rollback(sp_channel *ch, void *txn) {
  (void)ch;
  free_put_txn(txn);
}

/* ---- take side ------------------------------------------------------------------------- */

static int start_consumer(kafka_channel *kc, sp_error *err) {
  char group[300];
  snprintf(group, sizeof group, "group.id=%s", kc->group);
  const char *const consumer_settings[] = {group, "enable.auto.commit=false", "enable.auto.offset.store=false",
                                           "auto.offset.reset=earliest", NULL};
  int rc = new_handle(kc, RD_KAFKA_CONSUMER, consumer_settings, &kc->consumer, err);
  if (rc) return rc;
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, kc->topic, CHANNEL_PARTITION)->offset = RD_KAFKA_OFFSET_STORED;
  rd_kafka_resp_err_t e = rd_kafka_assign(kc->consumer, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (e) return sp_error_set(err, SP_ERR_IO, "channel %s: assigning %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  return SP_OK;
}

static int kafka_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (!kc->consumer) {
    int rc = start_consumer(kc, err);
    if (rc) return rc;
  }
  take_txn *t = calloc(1, sizeof *t);
  if (t) t->messages = calloc(ch->transaction_capacity, sizeof *t->messages);
  if (!t || !t->messages) {
    free(t);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *txn = t;
  return SP_OK;
}

static int kafka_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  if (t->n >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "take list of a transaction on channel %s is full (%zu events)", ch->name,
                        ch->transaction_capacity);
  sp_metrics_record_take_attempt(&ch->counters, 1);
  for (;;) {
    int64_t left_ms = (deadline_us - sp_monotonic_us()) / 1000;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->consumer, left_ms > 100 ? 100 : left_ms > 0 ? (int)left_ms : 0);
    if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      t->messages[t->n++] = m;
      *out = (sp_event){(uint64_t)m->offset + 1, m->payload, m->len};
      return SP_OK;
    }
    if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      int rc = sp_error_set(err, SP_ERR_IO, "channel %s: consuming Kafka topic %s: %s", ch->name, kc->topic,
                            rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      return rc;
    }
    if (m) rd_kafka_message_destroy(m);
    if (atomic_load(&kc->closed)) return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
    if (sp_monotonic_us() >= deadline_us) return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
  }
}

static void free_take_txn(take_txn *t) {
  for (size_t i = 0; i < t->n; i++) rd_kafka_message_destroy(t->messages[i]);
  free(t->messages);
  free(t);
}

/* Commit (`commit`) or seek to (`!commit`) `offset` of the channel's partition. */
static rd_kafka_resp_err_t move_offset(kafka_channel *kc, int64_t offset, bool commit) {
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, kc->topic, CHANNEL_PARTITION)->offset = offset;
  rd_kafka_resp_err_t e;
  if (commit) {
    e = rd_kafka_commit(kc->consumer, parts, 0);
  } else {
    rd_kafka_error_t *error = rd_kafka_seek_partitions(kc->consumer, parts, kc->timeout_ms);
    e = error ? rd_kafka_error_code(error) : parts->elems[0].err;
    if (error) rd_kafka_error_destroy(error);
  }
  rd_kafka_topic_partition_list_destroy(parts);
  return e;
}

static int kafka_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                             sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  if (quarantined > t->n)
    return sp_error_set(err, SP_ERR_INVALID, "%llu quarantined events in a take of %zu",
                        (unsigned long long)quarantined, t->n);
  if (t->n) {
    rd_kafka_resp_err_t e = move_offset(kc, t->messages[t->n - 1]->offset + 1, true);
    if (e)
      return sp_error_set(err, SP_ERR_IO, "channel %s: committing the offset of Kafka topic %s: %s", ch->name,
                          kc->topic, rd_kafka_err2str(e));
  }
  sp_metrics_record_take_commit(&ch->counters, sink, t->n - quarantined, quarantined);
  free_take_txn(t);
  return SP_OK;
}

static void kafka_take_rollback(sp_channel *ch, void *txn) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  /* A failed seek leaves the position ahead; restarting the consumer from the committed offset restores it. */
  if (t->n && move_offset(kc, t->messages[0]->offset, false)) {
    rd_kafka_consumer_close(kc->consumer);
    rd_kafka_destroy(kc->consumer);
    kc->consumer = NULL;
  }
  free_take_txn(t);
}

static void kafka_close(sp_channel *ch) { atomic_store(&((kafka_channel *)ch)->closed, true); }

static void kafka_destroy(sp_channel *ch) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (kc->producer) {
    rd_kafka_flush(kc->producer, kc->timeout_ms);
    rd_kafka_destroy(kc->producer);
  }
  if (kc->consumer) {
    rd_kafka_consumer_close(kc->consumer);
    rd_kafka_destroy(kc->consumer);
  }
  if (kc->conf) rd_kafka_conf_destroy(kc->conf);
  pthread_mutex_destroy(&kc->lock);
  free(kc->topic);
  free(kc->group);
  sp_channel_base_cleanup(ch);
  free(kc);
}

static const sp_channel_ops kafka_ops = {
    "kafka",           kafka_put_begin,     kafka_put,        kafka_put_prepare,
    kafka_put_commit,  kafka_put_rollback,  kafka_take_begin, kafka_take,
    kafka_take_commit, kafka_take_rollback, kafka_close,      kafka_destroy,
    NULL,              NULL,
};

int sp_channel_kafka_open(const sp_channel_kafka_config *cfg, sp_channel **out, sp_error *err) {
  *out = NULL;
  const char *name = cfg->base.name ? cfg->base.name : "";
  if (!cfg->brokers || !*cfg->brokers || !cfg->topic || !*cfg->topic)
    return sp_error_set(err, SP_ERR_CONFIG, "channel %s: Kafka needs brokers and a topic", name);
  kafka_channel *kc = calloc(1, sizeof *kc);
  if (!kc) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_channel_config base = cfg->base;
  if (base.capacity < base.transaction_capacity) base.capacity = base.transaction_capacity; /* not used */
  int rc = sp_channel_base_init(&kc->base, &kafka_ops, &base, err);
  if (rc) {
    free(kc);
    return rc;
  }
  pthread_mutex_init(&kc->lock, NULL);
  kc->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
  kc->topic = strdup(cfg->topic);
  char group[256];
  snprintf(group, sizeof group, "stockpipe-%s", name);
  kc->group = strdup(cfg->group ? cfg->group : group);
  kc->conf = rd_kafka_conf_new();
  if (!kc->topic || !kc->group || !kc->conf) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  char bootstrap[1024], owner[160];
  snprintf(owner, sizeof owner, "channel %s", name);
  if (!rc && (size_t)snprintf(bootstrap, sizeof bootstrap, "bootstrap.servers=%s", cfg->brokers) >= sizeof bootstrap)
    rc = sp_error_set(err, SP_ERR_CONFIG, "channel %s: brokers list too long", name);
  const char *const common[] = {bootstrap, "reconnect.backoff.max.ms=2000", NULL};
  if (!rc) rc = sp_kafka_conf_apply(kc->conf, common, owner, err);
  if (!rc) rc = sp_kafka_conf_apply(kc->conf, cfg->settings, owner, err);
  if (!rc) sp_kafka_conf_set_logging(kc->conf);
  if (rc) {
    kafka_destroy(&kc->base);
    return rc;
  }
  *out = &kc->base;
  return SP_OK;
}
