/*
 * channel_kafka.c — the Kafka channel (see channel_kafka.h), on librdkafka.
 *
 * Put transactions render their events into the topic format as they are put;
 * prepare produces them and waits for their delivery reports, counted in a
 * reference-counted tracker so that a report arriving after a timed-out prepare
 * (served by any thread's poll) never touches freed memory.
 *
 * The take side keeps, per partition, the fetched messages not yet committed, in
 * offset order.  A take transaction walks one partition's messages from the front
 * (decoding each into the event encoding once); commit removes the walked prefix
 * and commits the offset after it, rollback just walks again from the front.
 */
#include "core/channel_kafka.h"

#include "core/array.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/row.h"
#include "core/timeutil.h"
#include "format/value_text.h"
#include "sinks/kafka_format.h"
#include "sinks/sink_kafka.h"

#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_OFFSET_BITS 40
#define MAX_PARTITIONS (1 << 23) /* partition << 40 stays below 2^63 */
#define POLL_SLICE_MS 100
#define HELD_CAPACITY_FACTOR 4 /* capacity = 4 x transactionCapacity; a batch is cut at half of it */

/* Delivery bookkeeping of one prepare; freed when its last reference goes. */
typedef struct delivery_tracker {
  atomic_int refs;      /* the transaction + each message in flight */
  atomic_int in_flight;
  atomic_int failed;
  _Atomic rd_kafka_resp_err_t first_error;
} delivery_tracker;

typedef struct put_message {
  const sp_dataset_def *ds;
  size_t off, key_len, len; /* key then value at arena[off..off+len) */
} put_message;

typedef struct put_txn {
  sp_buf arena;
  put_message *msgs;
  size_t n, cap;
} put_txn;

/* A fetched message not yet committed. */
typedef struct held_message {
  rd_kafka_message_t *m;
  sp_buf event;  /* its row in the event encoding, once a take decoded it */
  bool rejected; /* malformed: dead-lettered and skipped */
} held_message;

typedef struct partition_state {
  held_message *held; /* in offset order */
  size_t count, cap;
  int64_t next_offset; /* after the last message fetched (the start position before any) */
  int64_t end_target;  /* high watermark when the consumer started */
} partition_state;

typedef struct take_txn {
  int partition;  /* -1 until the first message */
  size_t walked;  /* messages of the partition's front consumed by this take (rejected ones too) */
  size_t handed;  /* events returned */
} take_txn;

typedef struct kafka_channel {
  sp_channel base;
  rd_kafka_conf_t *conf;      /* common settings both handles start from */
  char *topic, *group, *quarantine_dir;
  const sp_dataset_def *dataset; /* NULL = any */
  const volatile bool *stop;
  int timeout_ms;
  pthread_mutex_t lock;       /* guards the lazy creation of the producer */
  rd_kafka_t *producer;
  /* Take side, used by the one taking thread only: */
  rd_kafka_t *consumer;
  partition_state *parts;
  int nparts;
  size_t held_total;          /* messages held over every partition */
  int resume_partition;       /* the partition of a rolled-back take, read first by the next; -1 = none */
  int64_t last_fetch_us;      /* monotonic time of the last fetched message (or the start) */
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
                                             "compression.type=lz4", "partitioner=murmur2_random", NULL};
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
  if (SP_ARRAY_RESERVE(t->msgs, t->cap, t->n + 1, 64)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_row row;
  int rc = sp_row_decode(data, len, &row, err);
  if (rc) {
    sp_error_prefix(err, "channel %s: event put", ch->name);
    return rc;
  }
  put_message *m = &t->msgs[t->n];
  m->ds = row.ds;
  m->off = t->arena.len;
  rc = sp_kafka_render_message(&row, &t->arena, &m->key_len);
  m->len = t->arena.len - m->off;
  sp_row_clear(&row);
  if (rc) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  t->n++;
  return SP_OK;
}

static void free_put_txn(put_txn *t) {
  sp_buf_free(&t->arena);
  free(t->msgs);
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
    const put_message *m = &t->msgs[i];
    const uint8_t *key = t->arena.data + m->off;
    atomic_fetch_add(&tr->refs, 1);
    atomic_fetch_add(&tr->in_flight, 1);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(kc->producer, RD_KAFKA_V_TOPIC(kc->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(key, m->key_len),
                                  RD_KAFKA_V_VALUE((void *)(key + m->key_len), m->len - m->key_len),
                                  RD_KAFKA_V_HEADER(SP_KAFKA_DATASET_HEADER, m->ds->name, (ssize_t)strlen(m->ds->name)),
                                  RD_KAFKA_V_OPAQUE(tr), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
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
  if (t->n) sp_metrics_record_put_forwarded(&ch->counters, t->n);
  free_put_txn(t);
}

static void kafka_put_rollback(sp_channel *ch, void *txn) {
  (void)ch;
  free_put_txn(txn);
}

/* ---- take side: the consumer ------------------------------------------------------------ */

static void stop_consumer(kafka_channel *kc) {
  for (int p = 0; p < kc->nparts; p++) {
    partition_state *ps = &kc->parts[p];
    for (size_t i = 0; i < ps->count; i++) {
      rd_kafka_message_destroy(ps->held[i].m);
      sp_buf_free(&ps->held[i].event);
    }
    free(ps->held);
  }
  free(kc->parts);
  kc->parts = NULL;
  kc->nparts = 0;
  kc->held_total = 0;
  if (kc->consumer) {
    rd_kafka_consumer_close(kc->consumer);
    rd_kafka_destroy(kc->consumer);
    kc->consumer = NULL;
  }
}

/* How many partitions the topic has, from the cluster's metadata. */
static int topic_partitions(kafka_channel *kc, int *count, sp_error *err) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(kc->consumer, kc->topic, NULL);
  if (!rkt) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(kc->consumer, 0, rkt, &md, kc->timeout_ms);
  if (!e && (md->topic_cnt != 1 || md->topics[0].err)) e = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (!e) *count = md->topics[0].partition_cnt;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  if (e) return sp_error_set(err, SP_ERR_IO, "channel %s: metadata of Kafka topic %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  if (*count <= 0 || *count > MAX_PARTITIONS)
    return sp_error_set(err, SP_ERR_IO, "channel %s: Kafka topic %s has %d partitions", kc->base.name, kc->topic,
                        *count);
  return SP_OK;
}

/* Where each partition starts (the committed offset, else the earliest) and where
 * it ended when we started (the high watermark): the catch-up target. */
static int read_positions(kafka_channel *kc, sp_error *err) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(kc->nparts);
  for (int p = 0; p < kc->nparts; p++) rd_kafka_topic_partition_list_add(list, kc->topic, p);
  rd_kafka_resp_err_t e = rd_kafka_committed(kc->consumer, list, kc->timeout_ms);
  for (int p = 0; !e && p < kc->nparts; p++) {
    int64_t low, high;
    e = rd_kafka_query_watermark_offsets(kc->consumer, kc->topic, p, &low, &high, kc->timeout_ms);
    int64_t committed = list->elems[p].err ? RD_KAFKA_OFFSET_INVALID : list->elems[p].offset;
    kc->parts[p].next_offset = committed >= low ? committed : low;
    kc->parts[p].end_target = high;
  }
  if (!e) { /* start exactly there: no second offset lookup (auto.offset.reset if it is gone by now) */
    for (int p = 0; p < kc->nparts; p++) list->elems[p].offset = kc->parts[p].next_offset;
    e = rd_kafka_assign(kc->consumer, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (e) return sp_error_set(err, SP_ERR_IO, "channel %s: offsets of Kafka topic %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  return SP_OK;
}

static int start_consumer(kafka_channel *kc, sp_error *err) {
  char group[300];
  snprintf(group, sizeof group, "group.id=%s", kc->group);
  const char *const consumer_settings[] = {group, "enable.auto.commit=false", "enable.auto.offset.store=false",
                                           "auto.offset.reset=earliest", NULL};
  int rc = new_handle(kc, RD_KAFKA_CONSUMER, consumer_settings, &kc->consumer, err);
  int count = 0;
  if (!rc) rc = topic_partitions(kc, &count, err);
  if (!rc) {
    kc->parts = calloc((size_t)count, sizeof *kc->parts);
    if (!kc->parts) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    else kc->nparts = count;
  }
  if (!rc) rc = read_positions(kc, err);
  if (rc) {
    stop_consumer(kc);
    return rc;
  }
  kc->last_fetch_us = sp_monotonic_us();
  kc->resume_partition = -1;
  for (int p = 0; p < kc->nparts; p++)
    if (kc->parts[p].next_offset < kc->parts[p].end_target)
      SP_INFO(kc->base.name, "Kafka topic %s partition %d: %" PRId64 " message(s) to catch up from offset %" PRId64,
              kc->topic, p, kc->parts[p].end_target - kc->parts[p].next_offset, kc->parts[p].next_offset);
  return SP_OK;
}

static bool caught_up(const kafka_channel *kc) {
  for (int p = 0; p < kc->nparts; p++)
    if (kc->parts[p].next_offset < kc->parts[p].end_target) return false;
  return true;
}

/* Keep a fetched message at the end of its partition's list. */
static int hold_message(kafka_channel *kc, rd_kafka_message_t *m, sp_error *err) {
  if (m->partition < 0 || m->partition >= kc->nparts) {
    SP_WARN(kc->base.name, "Kafka topic %s: message from unassigned partition %d ignored", kc->topic, m->partition);
    rd_kafka_message_destroy(m);
    return SP_OK;
  }
  partition_state *ps = &kc->parts[m->partition];
  if (SP_ARRAY_RESERVE(ps->held, ps->cap, ps->count + 1, 64)) {
    rd_kafka_message_destroy(m);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  ps->held[ps->count++] = (held_message){m, SP_BUF_INIT, false};
  ps->next_offset = m->offset + 1;
  kc->held_total++;
  kc->last_fetch_us = sp_monotonic_us();
  sp_metrics_record_replayed(&kc->base.counters, 1);
  return SP_OK;
}

/* ---- take side: messages into events ----------------------------------------------------- */

/* Write a malformed message as a dead letter (see channel_kafka.h). */
static int dead_letter(kafka_channel *kc, const rd_kafka_message_t *m, const char *reason, sp_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s-%" PRId32 "-%" PRId64 ".json", kc->quarantine_dir, kc->topic, m->partition,
           m->offset);
  sp_buf text = SP_BUF_INIT;
  int rc = sp_buf_append_str(&text, "{\"topic\":");
  if (!rc) rc = sp_json_append_string(&text, kc->topic, strlen(kc->topic));
  if (!rc) rc = sp_buf_printf(&text, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"reason\":", m->partition,
                              m->offset);
  if (!rc) rc = sp_json_append_string(&text, reason, strlen(reason));
  if (!rc) rc = sp_buf_append_str(&text, ",\"key\":");
  if (!rc) rc = m->key ? sp_json_append_string(&text, m->key, m->key_len) : sp_buf_append_str(&text, "null");
  if (!rc) rc = sp_buf_append_str(&text, ",\"value\":");
  if (!rc) rc = m->payload ? sp_json_append_string(&text, m->payload, m->len) : sp_buf_append_str(&text, "null");
  if (!rc) rc = sp_buf_append_str(&text, "}\n");
  if (rc) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_mkdirs(kc->quarantine_dir, err);
  if (!rc) rc = sp_write_file_atomic(path, text.data, text.len, err);
  sp_buf_free(&text);
  if (rc) {
    sp_error_prefix(err, "channel %s: saving the malformed message %s/%" PRId32 "/%" PRId64, kc->base.name, kc->topic,
                    m->partition, m->offset);
    return rc;
  }
  SP_ERROR(kc->base.name, "malformed message at Kafka topic %s partition %" PRId32 " offset %" PRId64
           " skipped (%s); dead letter in %s", kc->topic, m->partition, m->offset, reason, path);
  return SP_OK;
}

/* Decode a held message into the event encoding, or reject it (dead letter). */
static int prepare_event(kafka_channel *kc, held_message *h, sp_error *err) {
  const rd_kafka_message_t *m = h->m;
  rd_kafka_headers_t *headers = NULL;
  const void *dataset = NULL;
  size_t dataset_len = 0;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, SP_KAFKA_DATASET_HEADER, &dataset, &dataset_len) != RD_KAFKA_RESP_ERR_NO_ERROR)
    dataset = NULL;
  sp_row row;
  sp_error why = {0};
  int rc = sp_kafka_parse_row(m->payload, m->len, dataset, dataset_len, kc->dataset, &row, &why);
  if (!rc && sp_row_encode(&row, &h->event)) rc = sp_error_set(&why, SP_ERR_NOMEM, "out of memory");
  sp_row_clear(&row);
  if (rc == SP_ERR_NOMEM) return sp_error_set(err, rc, "channel %s: %s", kc->base.name, why.msg);
  if (!rc) return SP_OK;
  sp_buf_free(&h->event);
  rc = dead_letter(kc, m, why.msg, err);
  if (rc) return rc;
  h->rejected = true;
  sp_metrics_record_channel_quarantine(&kc->base.counters, 1);
  return SP_OK;
}

/* The partition a new take transaction reads: the one holding the most messages. */
static int fullest_partition(const kafka_channel *kc) {
  int best = -1;
  for (int p = 0; p < kc->nparts; p++)
    if (kc->parts[p].count > 0 && (best < 0 || kc->parts[p].count > kc->parts[best].count)) best = p;
  return best;
}

static bool stopping(const kafka_channel *kc) { return atomic_load(&kc->closed) || (kc->stop && *kc->stop); }

static int kafka_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (!kc->consumer) {
    int rc = start_consumer(kc, err);
    if (rc) return rc;
  }
  take_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  t->partition = kc->resume_partition;
  kc->resume_partition = -1;
  *txn = t;
  return SP_OK;
}

/* Fetch one message into the held lists, waiting at most `wait_ms`.  *fetched says
 * whether one came. */
static int fetch(kafka_channel *kc, int wait_ms, bool *fetched, sp_error *err) {
  *fetched = false;
  rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->consumer, wait_ms);
  if (!m) return SP_OK;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    rd_kafka_message_destroy(m);
    return SP_OK;
  }
  if (m->err) {
    /* librdkafka recovers from most consumer errors by itself (a broker down, a
     * leader moving): those are logged and waited out (the catch-up time-out bounds
     * the wait); a fatal error or a missing topic fails the take. */
    bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                 m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    int rc = SP_OK;
    if (fatal)
      rc = sp_error_set(err, SP_ERR_IO, "channel %s: consuming Kafka topic %s: %s", kc->base.name, kc->topic,
                        rd_kafka_message_errstr(m));
    else
      SP_WARN(kc->base.name, "consuming Kafka topic %s: %s (retrying)", kc->topic, rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return rc;
  }
  *fetched = true;
  return hold_message(kc, m, err);
}

static int kafka_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  if (t->handed >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "take list of a transaction on channel %s is full (%zu events)", ch->name,
                        ch->transaction_capacity);
  sp_metrics_record_take_attempt(&ch->counters, 1);
  size_t hold_limit = ch->capacity / 2;
  for (;;) {
    if (stopping(kc)) return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
    if (t->partition < 0) t->partition = fullest_partition(kc);
    partition_state *ps = t->partition >= 0 ? &kc->parts[t->partition] : NULL;
    if (ps && t->walked < ps->count) {
      held_message *h = &ps->held[t->walked];
      if (!h->rejected && h->event.len == 0) {
        int rc = prepare_event(kc, h, err);
        if (rc) return rc;
      }
      t->walked++;
      if (h->rejected) continue;
      uint64_t seq = ((uint64_t)h->m->partition << SEQ_OFFSET_BITS) | (uint64_t)(h->m->offset + 1);
      *out = (sp_event){seq, h->event.data, h->event.len};
      t->handed++;
      return SP_OK;
    }
    /* The batch's partition has nothing more here: fetch, unless enough is held.
     * While other partitions' messages wait, only what librdkafka already has is
     * fetched: the batch ends rather than wait for this partition's next fetch. */
    bool others_wait = ps && t->handed > 0 && kc->held_total > ps->count;
    if (ps && kc->held_total >= hold_limit)
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s: batch cut (messages of other partitions waiting)",
                          ch->name);
    int64_t now = sp_monotonic_us();
    bool behind = !caught_up(kc);
    int64_t left_ms = others_wait ? 0 : behind ? POLL_SLICE_MS : (deadline_us - now) / 1000;
    bool fetched;
    int rc = fetch(kc, left_ms > POLL_SLICE_MS ? POLL_SLICE_MS : left_ms > 0 ? (int)left_ms : 0, &fetched, err);
    if (rc) return rc;
    if (!fetched && others_wait)
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s: batch cut (messages of other partitions waiting)",
                          ch->name);
    if (!fetched && behind && sp_monotonic_us() - kc->last_fetch_us > (int64_t)kc->timeout_ms * 1000) {
      /* The wait starts over for the next take (the runner retries it): the outage
       * may be over by then.  Without this every later take would fail at once,
       * without polling, and the channel would never catch up. */
      kc->last_fetch_us = sp_monotonic_us();
      return sp_error_set(err, SP_ERR_IO, "channel %s: no message from Kafka topic %s for %d ms while catching up "
                          "with the end offsets seen at start", ch->name, kc->topic, kc->timeout_ms);
    }
    if (!fetched && !behind && sp_monotonic_us() >= deadline_us)
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
  }
}

/* Forget the first `n` held messages of partition `p` (committed or skipped). */
static void drop_front(kafka_channel *kc, int p, size_t n) {
  partition_state *ps = &kc->parts[p];
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_destroy(ps->held[i].m);
    sp_buf_free(&ps->held[i].event);
  }
  memmove(ps->held, ps->held + n, (ps->count - n) * sizeof *ps->held);
  ps->count -= n;
  kc->held_total -= n;
}

/* Commit the offset after the first `walked` held messages of the take's partition. */
static rd_kafka_resp_err_t commit_walked(kafka_channel *kc, const take_txn *t) {
  const partition_state *ps = &kc->parts[t->partition];
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, kc->topic, t->partition)->offset = ps->held[t->walked - 1].m->offset + 1;
  rd_kafka_resp_err_t e = rd_kafka_commit(kc->consumer, parts, 0);
  rd_kafka_topic_partition_list_destroy(parts);
  return e;
}

static int kafka_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                             sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  if (quarantined > t->handed)
    return sp_error_set(err, SP_ERR_INVALID, "%llu quarantined events in a take of %zu",
                        (unsigned long long)quarantined, t->handed);
  if (t->walked) {
    rd_kafka_resp_err_t e = commit_walked(kc, t);
    if (e)
      return sp_error_set(err, SP_ERR_IO, "channel %s: committing the offset of Kafka topic %s partition %d: %s",
                          ch->name, kc->topic, t->partition, rd_kafka_err2str(e));
    drop_front(kc, t->partition, t->walked);
  }
  sp_metrics_record_take_commit(&ch->counters, sink, t->handed - quarantined, quarantined);
  free(t);
  return SP_OK;
}

static void kafka_take_rollback(sp_channel *ch, void *txn) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  /* The events stay held and are handed out again.  A take that only walked over
   * malformed messages (dead-lettered) moves past them, or they would wedge it. */
  if (t->walked && t->handed == 0) {
    if (commit_walked(kc, t) == RD_KAFKA_RESP_ERR_NO_ERROR) drop_front(kc, t->partition, t->walked);
  } else if (t->handed) {
    kc->resume_partition = t->partition;
  }
  free(t);
}

static void kafka_close(sp_channel *ch) { atomic_store(&((kafka_channel *)ch)->closed, true); }

static void kafka_destroy(sp_channel *ch) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (kc->producer) {
    rd_kafka_flush(kc->producer, kc->timeout_ms);
    rd_kafka_destroy(kc->producer);
  }
  stop_consumer(kc);
  if (kc->conf) rd_kafka_conf_destroy(kc->conf);
  pthread_mutex_destroy(&kc->lock);
  free(kc->topic);
  free(kc->group);
  free(kc->quarantine_dir);
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
  if (cfg->dataset >= SP_DS_COUNT)
    return sp_error_set(err, SP_ERR_CONFIG, "channel %s: dataset id %d out of range", name, cfg->dataset);
  kafka_channel *kc = calloc(1, sizeof *kc);
  if (!kc) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_channel_config base = cfg->base;
  if (!base.transaction_capacity) base.transaction_capacity = 100;
  base.capacity = HELD_CAPACITY_FACTOR * base.transaction_capacity; /* see channel_kafka.h */
  int rc = sp_channel_base_init(&kc->base, &kafka_ops, &base, err);
  if (rc) {
    free(kc);
    return rc;
  }
  pthread_mutex_init(&kc->lock, NULL);
  kc->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
  kc->dataset = cfg->dataset >= 0 ? sp_dataset_get((sp_dataset_id)cfg->dataset) : NULL;
  kc->stop = cfg->stop;
  kc->topic = strdup(cfg->topic);
  char group[256], qdir[PATH_MAX];
  snprintf(group, sizeof group, "stockpipe-%s", name);
  snprintf(qdir, sizeof qdir, "quarantine/channels/%s", name);
  kc->group = strdup(cfg->group ? cfg->group : group);
  kc->quarantine_dir = strdup(cfg->quarantine_dir ? cfg->quarantine_dir : qdir);
  kc->conf = rd_kafka_conf_new();
  if (!kc->topic || !kc->group || !kc->quarantine_dir || !kc->conf)
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
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
