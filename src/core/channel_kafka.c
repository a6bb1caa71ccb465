/*
 * channel_kafka.c — the Kafka channel (see channel_kafka.h), on librdkafka.
 *
 * Put transactions render their events into the topic format as they are put;
 * prepare produces them and waits for their delivery reports, counted in a
 * reference-counted tracker so that a report arriving after a timed-out prepare
 * (served by any thread's poll) never touches freed memory.
 *
 * The take side is a member of the channel's consumer group (rd_kafka_subscribe):
 * the group's coordinator splits the topic's partitions among the writers, and
 * rebalance() (served inside rd_kafka_consumer_poll, so on the taking thread)
 * follows what this writer owns.  Per owned partition it keeps the fetched
 * messages not yet committed, in offset order.  A take transaction walks one
 * partition's messages from the front (decoding each into the event encoding
 * once); commit removes the walked prefix and commits the offset after it,
 * rollback just walks again from the front.  A revoked partition's messages are
 * let go: its new owner fetches them again from the last committed offset.
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
  bool assigned;        /* owned by this writer in the group's current assignment */
  bool positions_known; /* next_offset and end_target looked up since it was assigned */
  int64_t next_offset;  /* after the last message fetched (the start position before any) */
  int64_t end_target;   /* high watermark when it was assigned: the catch-up target */
} partition_state;

typedef struct take_txn {
  int partition;  /* -1 until the first message */
  size_t walked;  /* messages of the partition's front consumed by this take (rejected ones too) */
  size_t handed;  /* events returned */
  bool revoked;   /* a rebalance took the partition during the take: its held messages
                   * moved to `withdrawn` (handed events point into them), freed when
                   * the take ends; the take hands out nothing more */
  held_message *withdrawn;
  size_t nwithdrawn;
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
  int session_timeout_ms, max_poll_interval_ms, metadata_refresh_ms; /* consumer group settings */
  /* Take side, used by the one taking thread only (rebalance() runs on it too): */
  rd_kafka_t *consumer;
  partition_state *parts;     /* by partition id, grown as partitions are assigned */
  int nparts;
  take_txn *taking;           /* the take transaction in progress, NULL between takes */
  bool assigned_once;         /* the group gave this writer its first assignment */
  bool awaiting_assignment;   /* an eager rebalance revoked everything; the new assignment is due */
  bool positions_due;         /* some assigned partition's positions are not looked up yet */
  int rebalance_error;        /* a rebalance could not be followed (SP_ERR_*): restart the consumer */
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

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t why, rd_kafka_topic_partition_list_t *list,
                      void *opaque);

/* A new handle of `type` from the common settings plus `extra` (NULL-terminated). */
static int new_handle(kafka_channel *kc, rd_kafka_type_t type, const char *const *extra, rd_kafka_t **out,
                      sp_error *err) {
  char owner[160], why[512];
  snprintf(owner, sizeof owner, "channel %s", kc->base.name);
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(kc->conf);
  int rc = sp_kafka_conf_apply(conf, extra, owner, err);
  if (!rc && type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  if (!rc && type == RD_KAFKA_CONSUMER) {
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_conf_set_opaque(conf, kc);
  }
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

/* Free n held messages. */
static void free_held(held_message *held, size_t n) {
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_destroy(held[i].m);
    sp_buf_free(&held[i].event);
  }
}

static void stop_consumer(kafka_channel *kc) {
  if (kc->consumer) { /* first: closing revokes the assignment through rebalance() */
    rd_kafka_consumer_close(kc->consumer);
    rd_kafka_destroy(kc->consumer);
    kc->consumer = NULL;
  }
  for (int p = 0; p < kc->nparts; p++) {
    free_held(kc->parts[p].held, kc->parts[p].count);
    free(kc->parts[p].held);
  }
  free(kc->parts);
  kc->parts = NULL;
  kc->nparts = 0;
  kc->held_total = 0;
  kc->assigned_once = kc->awaiting_assignment = kc->positions_due = false;
  kc->rebalance_error = SP_OK;
}

/* Whether the topic exists, from the cluster's metadata (a missing topic fails the
 * first take rather than waiting for an assignment that never comes). */
static int check_topic(kafka_channel *kc, sp_error *err) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(kc->consumer, kc->topic, NULL);
  if (!rkt) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(kc->consumer, 0, rkt, &md, kc->timeout_ms);
  if (!e && (md->topic_cnt != 1 || md->topics[0].err)) e = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  int count = e ? 0 : md->topics[0].partition_cnt;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  if (e) return sp_error_set(err, SP_ERR_IO, "channel %s: metadata of Kafka topic %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  if (count <= 0 || count > MAX_PARTITIONS)
    return sp_error_set(err, SP_ERR_IO, "channel %s: Kafka topic %s has %d partitions", kc->base.name, kc->topic,
                        count);
  return SP_OK;
}

/* The state of partition p, growing the table when p is new.  NULL when p is out of
 * range or memory is short. */
static partition_state *partition_slot(kafka_channel *kc, int p) {
  if (p < 0 || p >= MAX_PARTITIONS) return NULL;
  if (p >= kc->nparts) {
    partition_state *grown = realloc(kc->parts, (size_t)(p + 1) * sizeof *grown);
    if (!grown) return NULL;
    memset(grown + kc->nparts, 0, (size_t)(p + 1 - kc->nparts) * sizeof *grown);
    kc->parts = grown;
    kc->nparts = p + 1;
  }
  return &kc->parts[p];
}

/* Let go of partition p's held messages: another writer of the group owns it now
 * and fetches them again from the last committed offset.  Those of the take in
 * progress move into the take (the events it handed out point into them). */
static void revoke_partition(kafka_channel *kc, int p) {
  if (p < 0 || p >= kc->nparts || !kc->parts[p].assigned) return;
  partition_state *ps = &kc->parts[p];
  uint64_t buffered = 0;
  for (size_t i = 0; i < ps->count; i++) buffered += !ps->held[i].rejected;
  sp_metrics_record_handed_over(&kc->base.counters, buffered);
  take_txn *t = kc->taking;
  if (t && t->partition == p) {
    t->revoked = true;
    t->withdrawn = ps->held;
    t->nwithdrawn = ps->count;
  } else {
    free_held(ps->held, ps->count);
    free(ps->held);
  }
  kc->held_total -= ps->count;
  *ps = (partition_state){0};
  if (kc->resume_partition == p) kc->resume_partition = -1;
}

/* Append " p" for each partition of `list` to `out` (for the log). */
static void partition_names(const rd_kafka_topic_partition_list_t *list, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (int i = 0; i < list->cnt && n + 16 < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, " %" PRId32, list->elems[i].partition);
  if (list->cnt == 0) snprintf(out, cap, " none");
}

/* librdkafka's rebalance callback (see the top of the file).  An assignment starts
 * each partition at the group's committed offset (the earliest when none:
 * auto.offset.reset); kafka_take looks up the positions the catch-up needs, outside
 * the callback.  A revocation lets the partitions' held messages go.  Works with
 * either protocol: eager (the default assignors, range and roundrobin: every
 * rebalance revokes everything, then assigns the new share) or cooperative
 * (incremental). */
static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t why, rd_kafka_topic_partition_list_t *list,
                      void *opaque) {
  kafka_channel *kc = opaque;
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  bool assign = why == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < list->cnt; i++) {
    int p = list->elems[i].partition;
    if (!assign) {
      revoke_partition(kc, p);
      continue;
    }
    list->elems[i].offset = RD_KAFKA_OFFSET_INVALID; /* the committed offset */
    partition_state *ps = partition_slot(kc, p);
    if (!ps) {
      kc->rebalance_error = SP_ERR_NOMEM;
      continue;
    }
    ps->assigned = true;
    kc->positions_due = true;
  }
  if (cooperative) error = assign ? rd_kafka_incremental_assign(rk, list) : rd_kafka_incremental_unassign(rk, list);
  else e = rd_kafka_assign(rk, assign ? list : NULL);
  if (error) {
    e = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
  }
  if (e) {
    SP_ERROR(kc->base.name, "Kafka topic %s: following the group's rebalance: %s", kc->topic, rd_kafka_err2str(e));
    kc->rebalance_error = SP_ERR_IO;
  }
  kc->assigned_once |= assign;
  kc->awaiting_assignment = !assign && !cooperative;
  kc->last_fetch_us = sp_monotonic_us(); /* a rebalance is progress while catching up */
  char names[256];
  partition_names(list, names, sizeof names);
  SP_INFO(kc->base.name, "Kafka topic %s, group %s: partitions%s %s", kc->topic, kc->group, names,
          assign ? "assigned" : rd_kafka_assignment_lost(rk) ? "lost" : "revoked");
}

/* Where each newly assigned partition starts (the committed offset, else the
 * earliest) and where it ended when looked up (the high watermark): the catch-up
 * target.  Blocking broker calls, so kept out of the rebalance callback. */
static int look_up_positions(kafka_channel *kc, sp_error *err) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < kc->nparts; p++)
    if (kc->parts[p].assigned && !kc->parts[p].positions_known) rd_kafka_topic_partition_list_add(list, kc->topic, p);
  rd_kafka_resp_err_t e = list->cnt ? rd_kafka_committed(kc->consumer, list, kc->timeout_ms) : RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; !e && i < list->cnt; i++) {
    int p = list->elems[i].partition;
    int64_t low, high;
    e = rd_kafka_query_watermark_offsets(kc->consumer, kc->topic, p, &low, &high, kc->timeout_ms);
    if (e) break;
    partition_state *ps = &kc->parts[p];
    int64_t committed = list->elems[i].err ? RD_KAFKA_OFFSET_INVALID : list->elems[i].offset;
    int64_t start = committed >= low ? committed : low;
    if (start > ps->next_offset) ps->next_offset = start; /* messages fetched meanwhile count */
    ps->end_target = high;
    ps->positions_known = true;
    if (ps->next_offset < high)
      SP_INFO(kc->base.name, "Kafka topic %s partition %d: %" PRId64 " message(s) to catch up from offset %" PRId64,
              kc->topic, p, high - ps->next_offset, ps->next_offset);
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (e) return sp_error_set(err, SP_ERR_IO, "channel %s: offsets of Kafka topic %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  kc->positions_due = false;
  return SP_OK;
}

static int start_consumer(kafka_channel *kc, sp_error *err) {
  char group[300], session[64], heartbeat[64], poll_interval[64], refresh[64];
  snprintf(group, sizeof group, "group.id=%s", kc->group);
  snprintf(session, sizeof session, "session.timeout.ms=%d", kc->session_timeout_ms);
  /* Kafka's advice: heartbeats at most a third of the session time-out apart. */
  snprintf(heartbeat, sizeof heartbeat, "heartbeat.interval.ms=%d",
           kc->session_timeout_ms / 3 < 3000 ? kc->session_timeout_ms / 3 : 3000);
  snprintf(poll_interval, sizeof poll_interval, "max.poll.interval.ms=%d", kc->max_poll_interval_ms);
  snprintf(refresh, sizeof refresh, "topic.metadata.refresh.interval.ms=%d", kc->metadata_refresh_ms);
  const char *const consumer_settings[] = {group,         "enable.auto.commit=false", "enable.auto.offset.store=false",
                                           "auto.offset.reset=earliest", session, heartbeat, poll_interval, refresh,
                                           NULL};
  int rc = new_handle(kc, RD_KAFKA_CONSUMER, consumer_settings, &kc->consumer, err);
  if (!rc) rc = check_topic(kc, err);
  if (!rc) {
    rd_kafka_poll_set_consumer(kc->consumer); /* errors and rebalances come through consumer_poll */
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, kc->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(kc->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) rc = sp_error_set(err, SP_ERR_IO, "channel %s: subscribing to Kafka topic %s: %s", kc->base.name, kc->topic,
                             rd_kafka_err2str(e));
  }
  if (rc) {
    stop_consumer(kc);
    return rc;
  }
  kc->last_fetch_us = sp_monotonic_us();
  kc->resume_partition = -1;
  return SP_OK;
}

/* Every partition this writer owns has been fetched up to its catch-up target (and
 * the group has given it a share: before that, or between an eager rebalance's
 * revocation and the new assignment, nothing is caught up). */
static bool caught_up(const kafka_channel *kc) {
  if (!kc->assigned_once || kc->awaiting_assignment || kc->positions_due) return false;
  for (int p = 0; p < kc->nparts; p++)
    if (kc->parts[p].assigned && kc->parts[p].next_offset < kc->parts[p].end_target) return false;
  return true;
}

/* Keep a fetched message at the end of its partition's list. */
static int hold_message(kafka_channel *kc, rd_kafka_message_t *m, sp_error *err) {
  if (m->partition < 0 || m->partition >= kc->nparts || !kc->parts[m->partition].assigned) {
    SP_DEBUG(kc->base.name, "Kafka topic %s: message from unassigned partition %d ignored", kc->topic, m->partition);
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
  for (int p = 0; p < kc->nparts; p++) /* a revoked partition holds nothing */
    if (kc->parts[p].count > 0 && (best < 0 || kc->parts[p].count > kc->parts[best].count)) best = p;
  return best;
}

static int fetch(kafka_channel *kc, int wait_ms, bool *fetched, sp_error *err);
static void end_take(kafka_channel *kc, take_txn *t);

static bool stopping(const kafka_channel *kc) { return atomic_load(&kc->closed) || (kc->stop && *kc->stop); }

static int kafka_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  if (kc->consumer && kc->rebalance_error) { /* lost track of the assignment: start over */
    SP_WARN(ch->name, "Kafka topic %s: rejoining the group after a failed rebalance", kc->topic);
    stop_consumer(kc);
  }
  if (!kc->consumer) {
    int rc = start_consumer(kc, err);
    if (rc) return rc;
  }
  take_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  kc->taking = t;
  /* Serve what librdkafka has queued (a rebalance above all) even when enough
   * messages are held for the whole take: a take that never polls would never see
   * its partitions revoked, and the group would wait for this writer. */
  bool fetched;
  int rc = fetch(kc, 0, &fetched, err);
  if (rc) {
    end_take(kc, t);
    return rc;
  }
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
    if (kc->rebalance_error)
      return sp_error_set(err, kc->rebalance_error, "channel %s: Kafka topic %s: a rebalance of group %s could not "
                          "be followed", ch->name, kc->topic, kc->group);
    if (t->revoked) {
      /* The group gave the partition to another writer mid-take.  Events handed out
       * must not reach the sink: the runner rolls the take back (SP_ERR_RETRY) and
       * the new owner stores them — were they stored here too, two writers could
       * publish the same rows at once. */
      if (t->handed)
        return sp_error_set(err, SP_ERR_RETRY, "channel %s: Kafka topic %s partition %d went to another writer of "
                            "group %s during the take", ch->name, kc->topic, t->partition, kc->group);
      free_held(t->withdrawn, t->nwithdrawn);
      free(t->withdrawn);
      *t = (take_txn){.partition = -1};
    }
    if (kc->positions_due) {
      int rc = look_up_positions(kc, err);
      if (rc) return rc;
    }
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
    if (t->revoked || kc->rebalance_error) continue; /* the poll served a rebalance (see above) */
    if (!fetched && others_wait)
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s: batch cut (messages of other partitions waiting)",
                          ch->name);
    /* Waiting for the group's assignment may take a session time-out more: the group
     * waits that long for a writer that died before it shares out its partitions. */
    bool unassigned = !kc->assigned_once || kc->awaiting_assignment;
    int limit_ms = kc->timeout_ms + (unassigned ? kc->session_timeout_ms : 0);
    if (!fetched && behind && sp_monotonic_us() - kc->last_fetch_us > (int64_t)limit_ms * 1000) {
      /* The wait starts over for the next take (the runner retries it): the outage
       * may be over by then.  Without this every later take would fail at once,
       * without polling, and the channel would never catch up. */
      kc->last_fetch_us = sp_monotonic_us();
      return sp_error_set(err, SP_ERR_IO, "channel %s: no message from Kafka topic %s for %d ms while catching up "
                          "with the end offsets seen when its partitions were assigned%s", ch->name, kc->topic,
                          limit_ms, unassigned ? " (no assignment from the consumer group)" : "");
    }
    if (!fetched && !behind && sp_monotonic_us() >= deadline_us)
      return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
  }
}

/* Forget the first `n` held messages of partition `p` (committed or skipped). */
static void drop_front(kafka_channel *kc, int p, size_t n) {
  partition_state *ps = &kc->parts[p];
  free_held(ps->held, n);
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

/* The take is over: it no longer pins withdrawn messages. */
static void end_take(kafka_channel *kc, take_txn *t) {
  free_held(t->withdrawn, t->nwithdrawn);
  free(t->withdrawn);
  if (kc->taking == t) kc->taking = NULL;
  free(t);
}

static int kafka_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                             sp_error *err) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  if (t->revoked)
    /* Not reached through the sink runner: rebalances are served only inside
     * kafka_take's polls, and a take that saw its partition go fails with
     * SP_ERR_RETRY.  Were its events committed by a sink all the same, the offset
     * is still not committed — the partition's new owner commits it now, and an
     * older offset from here would move the group back.  The new owner re-reads
     * those messages, and the sinks' idempotent commits make that harmless: a
     * message keeps its sequence number (partition << 40 | offset + 1) whoever
     * reads it, so the file sink finds it inside a published file's range and skips
     * it; PostgreSQL's ON CONFLICT (SPEC key) and MongoDB's upsert by _id keep one
     * row per key. */
    return sp_error_set(err, SP_ERR_RETRY, "channel %s: Kafka topic %s partition %d went to another writer of "
                        "group %s during the take; offset not committed", ch->name, kc->topic, t->partition,
                        kc->group);
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
  end_take(kc, t);
  return SP_OK;
}

static void kafka_take_rollback(sp_channel *ch, void *txn) {
  kafka_channel *kc = (kafka_channel *)ch;
  take_txn *t = txn;
  /* The events stay held and are handed out again.  A take that only walked over
   * malformed messages (dead-lettered) moves past them, or they would wedge it.  A
   * revoked partition's messages are gone (its new owner reads them). */
  if (!t->revoked && t->walked && t->handed == 0) {
    if (commit_walked(kc, t) == RD_KAFKA_RESP_ERR_NO_ERROR) drop_front(kc, t->partition, t->walked);
  } else if (!t->revoked && t->handed) {
    kc->resume_partition = t->partition;
  }
  end_take(kc, t);
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
  kc->session_timeout_ms = cfg->session_timeout_ms > 0 ? cfg->session_timeout_ms : 45000;
  kc->max_poll_interval_ms = cfg->max_poll_interval_ms > 0 ? cfg->max_poll_interval_ms : 300000;
  kc->metadata_refresh_ms = cfg->metadata_refresh_ms > 0 ? cfg->metadata_refresh_ms : 60000;
  if (kc->max_poll_interval_ms < kc->session_timeout_ms)
    rc = sp_error_set(err, SP_ERR_CONFIG, "channel %s: max_poll_interval_ms (%d) is below session_timeout_ms (%d)",
                      name, kc->max_poll_interval_ms, kc->session_timeout_ms);
  kc->dataset = cfg->dataset >= 0 ? sp_dataset_get((sp_dataset_id)cfg->dataset) : NULL;
  kc->stop = cfg->stop;
  kc->topic = strdup(cfg->topic);
  char group[256], qdir[PATH_MAX];
  snprintf(group, sizeof group, "stockpipe-%s", name);
  snprintf(qdir, sizeof qdir, "quarantine/channels/%s", name);
  kc->group = strdup(cfg->group ? cfg->group : group);
  kc->quarantine_dir = strdup(cfg->quarantine_dir ? cfg->quarantine_dir : qdir);
  kc->conf = rd_kafka_conf_new();
  if (!rc && (!kc->topic || !kc->group || !kc->quarantine_dir || !kc->conf))
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
