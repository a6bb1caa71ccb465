/*
 * sink_kafka.c — the Kafka sink (see sink_kafka.h), on librdkafka.
 *
 * write() decodes each event and renders its message key (JSON array of the key
 * columns) and value (JSON object of the row) into one arena.  commit() first waits
 * for any delivery report still owed by an earlier attempt, then produces every
 * message of the batch that no earlier attempt got acknowledged, and flushes until
 * each has its report or the time-out passes.  Delivery reports arrive on the
 * committing thread (inside rd_kafka_flush/poll), so the bookkeeping needs no lock.
 */
#include "sinks/sink_kafka.h"

#include "core/array.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "sinks/kafka_format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct kafka_message {
  uint64_t seq;
  const sp_dataset_def *ds;
  size_t key_off, key_len, value_off, value_len; /* in the sink's arena */
} kafka_message;

typedef struct kafka_sink {
  sp_sink base;
  rd_kafka_conf_t *conf_template;    /* kept to build a new producer after a fatal error */
  rd_kafka_t *rk;                    /* NULL until (re)created */
  char *topics[SP_DS_COUNT];         /* by sp_dataset_id */
  sp_buf arena;                      /* keys and values of the batch */
  kafka_message *msgs;
  size_t nmsgs, msgs_cap;
  uint64_t *acked;                   /* seqs of this batch acknowledged by failed attempts */
  size_t nacked, acked_cap;
  size_t in_flight;                  /* produced, no delivery report yet */
  size_t failed;                     /* failed reports in the current commit */
  rd_kafka_resp_err_t first_failure;
  char failure_topic[128];
  int flush_timeout_ms;
  sp_membudget *budget;
  size_t reserved;
} kafka_sink;

#define MESSAGE_CHARGE(len) ((len) + 96)

/* ---- shared librdkafka configuration helpers ----------------------------------------- */

static bool is_secret_setting(const char *key) {
  return strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.oauthbearer.config");
}

int sp_kafka_conf_apply(rd_kafka_conf_t *conf, const char *const *settings, const char *owner, sp_error *err) {
  for (size_t i = 0; settings && settings[i]; i++) {
    const char *eq = strchr(settings[i], '=');
    char key[128], why[256];
    if (!eq || eq == settings[i] || (size_t)(eq - settings[i]) >= sizeof key)
      return sp_error_set(err, SP_ERR_CONFIG, "%s: Kafka setting #%zu is not key=value", owner, i + 1);
    snprintf(key, sizeof key, "%.*s", (int)(eq - settings[i]), settings[i]);
    if (is_secret_setting(key)) sp_log_add_secret(eq + 1);
    if (rd_kafka_conf_set(conf, key, eq + 1, why, sizeof why) != RD_KAFKA_CONF_OK)
      return sp_error_set(err, SP_ERR_CONFIG, "%s: Kafka setting %s refused: %s", owner, key,
                          is_secret_setting(key) ? "invalid value" : why);
  }
  return SP_OK;
}

static void kafka_log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  sp_log(level <= 2 ? SP_LOG_ERROR : level <= 4 ? SP_LOG_WARN : SP_LOG_DEBUG, "kafka", "%s: %s", fac, buf);
}

static void kafka_error_event(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  (void)opaque;
  char fatal[256];
  if (code == RD_KAFKA_RESP_ERR__FATAL && rd_kafka_fatal_error(rk, fatal, sizeof fatal))
    SP_ERROR("kafka", "fatal: %s", fatal);
  else
    SP_DEBUG("kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
}

void sp_kafka_conf_set_logging(rd_kafka_conf_t *conf) {
  rd_kafka_conf_set_log_cb(conf, kafka_log_line);
  rd_kafka_conf_set_error_cb(conf, kafka_error_event);
}

/* ---- the producer ------------------------------------------------------------------ */

static void delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kafka_sink *ks = opaque;
  ks->in_flight--;
  if (m->err) {
    if (ks->failed++ == 0) {
      ks->first_failure = m->err;
      snprintf(ks->failure_topic, sizeof ks->failure_topic, "%s", m->rkt ? rd_kafka_topic_name(m->rkt) : "?");
    }
    return;
  }
  if (SP_ARRAY_RESERVE(ks->acked, ks->acked_cap, ks->nacked + 1, 256))
    return; /* forgetting an ack only means sending that message again */
  ks->acked[ks->nacked++] = (uint64_t)(uintptr_t)m->_private;
}

/* Make sure ks->rk is a usable producer (a new one after a fatal error). */
static int ensure_producer(kafka_sink *ks, sp_error *err) {
  char why[512];
  if (ks->rk && rd_kafka_fatal_error(ks->rk, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR) return SP_OK;
  if (ks->rk) {
    SP_WARN(ks->base.name, "replacing the Kafka producer after a fatal error: %s", why);
    rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(ks->rk);
    ks->rk = NULL;
  }
  ks->in_flight = 0;
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(ks->conf_template);
  rd_kafka_conf_set_opaque(conf, ks);
  ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (!ks->rk) {
    rd_kafka_conf_destroy(conf);
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: creating the Kafka producer: %s", ks->base.name, why);
  }
  return SP_OK;
}

/* Serve delivery reports until none is owed or `deadline_us` (monotonic) passes. */
static void wait_reports(kafka_sink *ks, int64_t deadline_us) {
  while (ks->in_flight > 0) {
    int64_t left_ms = (deadline_us - sp_monotonic_us()) / 1000;
    if (left_ms <= 0) break;
    rd_kafka_flush(ks->rk, left_ms > 100 ? 100 : (int)left_ms);
  }
}

/* ---- the batch ----------------------------------------------------------------------- */

static void clear_batch(kafka_sink *ks) {
  sp_buf_reset(&ks->arena);
  ks->nmsgs = 0;
  sp_membudget_release(ks->budget, ks->reserved);
  ks->reserved = 0;
}

static int kafka_begin(sp_sink *s, sp_error *err) {
  (void)err;
  clear_batch((kafka_sink *)s);
  return SP_OK;
}

static int kafka_write(sp_sink *s, const sp_event *events, size_t n, sp_error *err) {
  kafka_sink *ks = (kafka_sink *)s;
  for (size_t i = 0; i < n; i++) {
    if (SP_ARRAY_RESERVE(ks->msgs, ks->msgs_cap, ks->nmsgs + 1, 256))
      return sp_error_set(err, SP_ERR_NOMEM, "sink %s: out of memory", s->name);
    sp_row row;
    int rc = sp_sink_decode_event(s, &events[i], &row, err);
    if (rc) return rc;
    kafka_message *m = &ks->msgs[ks->nmsgs];
    m->seq = events[i].seq;
    m->ds = row.ds;
    m->key_off = ks->arena.len;
    rc = sp_kafka_render_message(&row, &ks->arena, &m->key_len);
    m->value_off = m->key_off + m->key_len;
    m->value_len = ks->arena.len - m->value_off;
    sp_row_clear(&row);
    if (rc) return sp_error_set(err, SP_ERR_NOMEM, "sink %s: out of memory", s->name);
    size_t charge = MESSAGE_CHARGE(ks->arena.len - m->key_off);
    if (!sp_membudget_try_reserve(ks->budget, charge)) {
      ks->arena.len = m->key_off;
      return sp_error_set(err, SP_ERR_FULL, "sink %s: memory budget spent", s->name);
    }
    ks->reserved += charge;
    ks->nmsgs++;
  }
  return SP_OK;
}

static int compare_seq(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Hand one message to librdkafka, waiting for queue room until the deadline. */
static int produce_message(kafka_sink *ks, const kafka_message *m, int64_t deadline_us, sp_error *err) {
  const char *dataset = m->ds->name;
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        ks->rk, RD_KAFKA_V_TOPIC(ks->topics[m->ds->id]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(ks->arena.data + m->key_off, m->key_len),
        RD_KAFKA_V_VALUE(ks->arena.data + m->value_off, m->value_len),
        RD_KAFKA_V_HEADER(SP_KAFKA_DATASET_HEADER, dataset, (ssize_t)strlen(dataset)),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)m->seq), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ks->in_flight++;
      return SP_OK;
    }
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || sp_monotonic_us() >= deadline_us)
      return sp_error_set(err, e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SP_ERR_INVALID : SP_ERR_IO,
                          "sink %s: producing to Kafka topic %s: %s", ks->base.name, ks->topics[m->ds->id],
                          rd_kafka_err2str(e));
    rd_kafka_poll(ks->rk, 10); /* serve reports to make room */
  }
}

static int kafka_commit(sp_sink *s, sp_error *err) {
  kafka_sink *ks = (kafka_sink *)s;
  if (ks->nmsgs == 0) return SP_OK;
  int64_t deadline = sp_monotonic_us() + (int64_t)ks->flush_timeout_ms * 1000;
  int rc = ensure_producer(ks, err);
  if (rc) return rc;
  wait_reports(ks, deadline); /* reports owed by an earlier attempt decide what to resend */
  if (ks->in_flight)
    return sp_error_set(err, SP_ERR_TIMEOUT, "sink %s: %zu Kafka messages of an earlier attempt still unacknowledged",
                        s->name, ks->in_flight);
  ks->failed = 0;
  if (ks->nacked) qsort(ks->acked, ks->nacked, sizeof *ks->acked, compare_seq);
  size_t sent = 0;
  for (size_t i = 0; i < ks->nmsgs && !rc; i++) {
    if (ks->nacked && bsearch(&ks->msgs[i].seq, ks->acked, ks->nacked, sizeof *ks->acked, compare_seq)) continue;
    rc = produce_message(ks, &ks->msgs[i], deadline, err);
    sent += !rc;
  }
  wait_reports(ks, deadline);
  if (!rc && ks->failed)
    rc = sp_error_set(err, ks->first_failure == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SP_ERR_INVALID : SP_ERR_IO,
                      "sink %s: %zu of %zu Kafka messages failed (topic %s: %s)", s->name, ks->failed, sent,
                      ks->failure_topic, rd_kafka_err2str(ks->first_failure));
  if (!rc && ks->in_flight)
    rc = sp_error_set(err, SP_ERR_TIMEOUT, "sink %s: %zu of %zu Kafka messages unacknowledged after %d ms", s->name,
                      ks->in_flight, sent, ks->flush_timeout_ms);
  if (rc) return rc; /* acknowledged messages are remembered for the retry */
  SP_DEBUG(s->name, "committed %zu messages (%zu sent, %zu acknowledged before)", ks->nmsgs, sent, ks->nmsgs - sent);
  ks->nacked = 0;
  clear_batch(ks);
  return SP_OK;
}

static void kafka_abort(sp_sink *s) { clear_batch((kafka_sink *)s); }

static void kafka_close(sp_sink *s) {
  kafka_sink *ks = (kafka_sink *)s;
  if (ks->rk) {
    rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(ks->rk, 1000); /* serve the purge reports */
    rd_kafka_destroy(ks->rk);
  }
  if (ks->conf_template) rd_kafka_conf_destroy(ks->conf_template);
  clear_batch(ks);
  sp_buf_free(&ks->arena);
  free(ks->msgs);
  free(ks->acked);
  for (int i = 0; i < SP_DS_COUNT; i++) free(ks->topics[i]);
  sp_sink_base_cleanup(s);
  free(ks);
}

static const sp_sink_ops kafka_ops = {"kafka", kafka_begin, kafka_write, kafka_commit, kafka_abort, kafka_close, NULL, NULL};

int sp_sink_kafka_open(const sp_sink_kafka_config *cfg, sp_sink **out, sp_error *err) {
  *out = NULL;
  const char *name = cfg->name ? cfg->name : "";
  if (!cfg->brokers || !*cfg->brokers) return sp_error_set(err, SP_ERR_CONFIG, "sink %s: no brokers", name);
  if (cfg->topic && (cfg->dataset < 0 || cfg->dataset >= SP_DS_COUNT))
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: topic \"%s\" set but no dataset reaches the sink", name,
                        cfg->topic);
  kafka_sink *ks = calloc(1, sizeof *ks);
  if (!ks) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = sp_sink_base_init(&ks->base, &kafka_ops, name, err);
  if (rc) {
    free(ks);
    return rc;
  }
  ks->budget = cfg->budget;
  ks->flush_timeout_ms = cfg->flush_timeout_ms > 0 ? cfg->flush_timeout_ms : 30000;
  for (int i = 0; i < SP_DS_COUNT && !rc; i++) {
    ks->topics[i] = strdup(cfg->topic && cfg->dataset == i ? cfg->topic : sp_dataset_get((sp_dataset_id)i)->name);
    if (!ks->topics[i]) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  ks->conf_template = rc ? NULL : rd_kafka_conf_new();
  if (!rc && !ks->conf_template) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) {
    char owner[160];
    snprintf(owner, sizeof owner, "sink %s", name);
    char client_id[160];
    snprintf(client_id, sizeof client_id, "client.id=stockpipe-%s", name);
    char bootstrap[1024];
    if ((size_t)snprintf(bootstrap, sizeof bootstrap, "bootstrap.servers=%s", cfg->brokers) >= sizeof bootstrap)
      rc = sp_error_set(err, SP_ERR_CONFIG, "sink %s: brokers list too long", name);
    const char *const defaults[] = {bootstrap,
                                    client_id,
                                    "enable.idempotence=true",
                                    "acks=all",
                                    "linger.ms=5",
                                    "compression.type=lz4",
                                    "partitioner=murmur2_random",
                                    "reconnect.backoff.max.ms=2000",
                                    NULL};
    if (!rc) rc = sp_kafka_conf_apply(ks->conf_template, defaults, owner, err);
    if (!rc) rc = sp_kafka_conf_apply(ks->conf_template, cfg->settings, owner, err);
    rd_kafka_conf_set_dr_msg_cb(ks->conf_template, delivery_report);
    sp_kafka_conf_set_logging(ks->conf_template);
  }
  if (!rc) rc = ensure_producer(ks, err);
  if (rc) {
    kafka_close(&ks->base);
    return rc;
  }
  *out = &ks->base;
  return SP_OK;
}
