/*
 * test_sink_kafka.c — the Kafka sink against librdkafka's built-in mock cluster
 * (3 brokers, in process): every row arrives once with the SPEC key as message key
 * and the row as typed JSON; a broker taken down mid-stream and brought back later
 * loses nothing and doubles nothing (the runner retries, acknowledged messages are
 * not sent again); an oversized message is a permanent error; a refused setting is
 * a configuration error that never shows a secret.  Messages are read back with
 * rd_kafka_assign (subscribe waits seconds for a group on the mock).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../tools/c/sink_test_rows.h"
#include "core/log.h"
#include "core/sink_runner.h"
#include "format/value_text.h"
#include "kafka_mock_env.h"
#include "sinks/sink_kafka.h"

#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <unistd.h>

#define PARTITIONS 4

static int setup_cluster(void **state) {
  mock_env *env = kafka_mock_env_new();
  const char *topics[] = {"financial_data", "news", "policy"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(rd_kafka_mock_topic_create(env->cluster, topics[i], PARTITIONS, 3), 0);
    /* Fixed leaders, so taking broker 1 down always stalls partitions 0 and 3. */
    for (int p = 0; p < PARTITIONS; p++)
      assert_int_equal(rd_kafka_mock_partition_set_leader(env->cluster, topics[i], p, p % 3 + 1), 0);
  }
  *state = env;
  return 0;
}

static sp_sink *open_kafka(const mock_env *env, const char *const *settings, int flush_ms) {
  sp_sink_kafka_config cfg = {.name = "kafka_test", .brokers = env->bootstraps, .dataset = -1,
                              .settings = settings, .flush_timeout_ms = flush_ms};
  sp_sink *s = NULL;
  sp_error err = {0};
  if (sp_sink_kafka_open(&cfg, &s, &err)) fail_msg("%s", err.msg);
  return s;
}

/* "key\tvalue" lines of the rows first..first+count-1 of `ds`, sorted. */
static char **expected_messages(const sp_dataset_def *ds, long first, long count) {
  char **lines = calloc((size_t)count, sizeof *lines);
  for (long k = 0; k < count; k++) {
    sp_row row;
    make_test_row(&row, ds, first + k);
    sp_buf b = SP_BUF_INIT;
    assert_int_equal(sp_buf_append_byte(&b, '['), 0);
    for (int i = 0; i < ds->nkey; i++) {
      int c = ds->key_columns[i];
      if (i) assert_int_equal(sp_buf_append_byte(&b, ','), 0);
      assert_int_equal(sp_value_append_json(&b, ds->columns[c].type, &row.values[c]), 0);
    }
    assert_int_equal(sp_buf_append_str(&b, "]\t"), 0);
    assert_int_equal(sp_json_append_row(&b, &row, NULL, 0), 0);
    assert_int_equal(sp_buf_append(&b, "", 0), 0);
    lines[k] = (char *)sp_buf_detach(&b, NULL);
    sp_row_clear(&row);
  }
  return lines;
}

static int compare_lines(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_lines(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

/* Every message of `topic` as "key\tvalue" lines (unsorted); checks the dataset header. */
static char **consume_all(const mock_env *env, const char *topic, size_t *count) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstraps, why, sizeof why), 0);
  assert_int_equal(rd_kafka_conf_set(conf, "group.id", "sp-test", why, sizeof why), 0);
  assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof why), 0);
  assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof why), 0);
  rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  assert_non_null(consumer);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
  for (int p = 0; p < PARTITIONS; p++)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(consumer, parts), 0);
  rd_kafka_topic_partition_list_destroy(parts);
  size_t n = 0, cap = 64;
  char **lines = malloc(cap * sizeof *lines);
  int eofs = 0;
  int64_t deadline = sp_monotonic_us() + 60 * SP_US_PER_SEC; /* it ends at the last EOF */
  while (eofs < PARTITIONS && sp_monotonic_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eofs++;
    } else {
      assert_int_equal(m->err, 0);
      rd_kafka_headers_t *headers = NULL;
      const void *hv;
      size_t hlen;
      assert_int_equal(rd_kafka_message_headers(m, &headers), 0);
      assert_int_equal(rd_kafka_header_get_last(headers, "stockpipe.dataset", &hv, &hlen), 0);
      assert_int_equal(hlen, strlen(topic));
      assert_memory_equal(hv, topic, hlen);
      if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
      if (asprintf(&lines[n++], "%.*s\t%.*s", (int)m->key_len, (const char *)m->key, (int)m->len,
                   (const char *)m->payload) < 0)
        fail();
    }
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(eofs, PARTITIONS);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  *count = n;
  return lines;
}

/* The topic holds exactly rows first..first+count-1 of `ds`, each once. */
static void assert_topic_holds(const mock_env *env, const sp_dataset_def *ds, long first, long count) {
  size_t n;
  char **got = consume_all(env, ds->name, &n);
  char **want = expected_messages(ds, first, count);
  qsort(got, n, sizeof *got, compare_lines);
  qsort(want, (size_t)count, sizeof *want, compare_lines);
  for (size_t i = 1; i < n; i++)
    if (strcmp(got[i - 1], got[i]) == 0) fail_msg("duplicate message %s", got[i]);
  assert_int_equal(n, (size_t)count);
  for (size_t i = 0; i < n; i++) assert_string_equal(got[i], want[i]);
  free_lines(got, n);
  free_lines(want, (size_t)count);
}

static void test_rows_arrive_once_with_key_and_json(void **state) {
  mock_env *env = *state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  sp_sink *s = open_kafka(env, NULL, 60000); /* the flush ends at the last report; 60 s for a loaded machine */
  test_events te;
  make_test_events(&te, ds, 0, 300);
  sp_error err = {0};
  for (size_t at = 0; at < te.n; at += 64) {
    size_t n = te.n - at < 64 ? te.n - at : 64;
    assert_int_equal(s->ops->begin(s, &err), 0);
    assert_int_equal(s->ops->write(s, te.events + at, n, &err), 0);
    if (s->ops->commit(s, &err)) fail_msg("%s", err.msg);
  }
  free_test_events(&te);
  sp_sink_close(s);
  assert_topic_holds(env, ds, 0, 300);
}

typedef struct broker_revival {
  rd_kafka_mock_cluster_t *cluster;
  int broker;
  const sp_sink *sink; /* the broker comes back once this sink has retried a batch */
} broker_revival;

/* Bring the broker back once the sink has seen the outage (a batch failed and was
 * retried), not after a fixed time: a loaded machine may take longer than any fixed
 * time to reach its first commit.  (60 s at most, then the test's assertions fail.) */
static void *revive_broker(void *arg) {
  broker_revival *r = arg;
  sp_sink_counters seen;
  int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC;
  do {
    usleep(10000);
    sp_metrics_snapshot_sink(&r->sink->counters, &seen);
  } while (seen.WriteRetryCount == 0 && sp_monotonic_us() < until);
  rd_kafka_mock_broker_set_up(r->cluster, r->broker);
  return NULL;
}

static void put_events(sp_channel *ch, const sp_event *events, size_t n) {
  sp_error err = {0};
  for (size_t at = 0; at < n;) {
    sp_put_txn *t;
    assert_int_equal(sp_put_txn_begin(&ch, 1, &t, &err), 0);
    for (size_t k = 0; k < ch->transaction_capacity && at < n; k++, at++)
      assert_int_equal(sp_put_txn_put(t, events[at].data, events[at].len, 0, &err), 0);
    assert_int_equal(sp_put_txn_commit(t, NULL, NULL, &err), 0);
    sp_put_txn_close(t);
  }
}

static void test_broker_down_mid_stream_loses_nothing(void **state) {
  mock_env *env = *state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_NEWS);
  sp_sink *s = open_kafka(env, NULL, 400);
  sp_channel_config ccfg = {.name = "kafka_test_channel", .capacity = 1000, .transaction_capacity = 50};
  sp_channel *ch = NULL;
  sp_sink_runner *r = NULL;
  sp_error err = {0};
  assert_int_equal(sp_channel_memory_open(&ccfg, &ch, &err), 0);
  sp_sink_runner_config rcfg = {.channel = ch, .sink = s, .data_dir = "/nonexistent-quarantine", .batch_size = 50,
                                .backoff_initial_us = 50000, .backoff_max_us = 300000};
  assert_int_equal(sp_sink_runner_create(&rcfg, &r, &err), 0);
  test_events te;
  make_test_events(&te, ds, 0, 400);

  put_events(ch, te.events, 200);
  if (sp_sink_runner_drain(r, sp_monotonic_us() + 60 * SP_US_PER_SEC, NULL, &err)) fail_msg("%s", err.msg);

  /* Broker 1 leads partitions 0 and 3: take it down, bring it back once the sink has
   * retried a batch. */
  assert_int_equal(rd_kafka_mock_broker_set_down(env->cluster, 1), 0);
  broker_revival revival = {env->cluster, 1, s};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, revive_broker, &revival), 0);
  put_events(ch, te.events + 200, 200);
  int rc = sp_sink_runner_drain(r, sp_monotonic_us() + 120 * SP_US_PER_SEC, NULL, &err);
  pthread_join(thread, NULL);
  if (rc) fail_msg("%s", err.msg);
  sp_sink_counters counters;
  sp_metrics_snapshot_sink(&s->counters, &counters);
  assert_true(counters.WriteRetryCount >= 1); /* the outage was seen and retried */
  assert_int_equal(counters.EventDrainSuccessCount, 400);

  free_test_events(&te);
  sp_sink_runner_free(r);
  sp_channel_free(ch);
  sp_sink_close(s);
  assert_topic_holds(env, ds, 0, 400);
}

static void test_oversized_message_is_permanent(void **state) {
  mock_env *env = *state;
  const char *const settings[] = {"message.max.bytes=1000", NULL};
  sp_sink *s = open_kafka(env, settings, 2000);
  sp_row row;
  /* A policy row with a 4 kB summary cannot fit in 1000 bytes. */
  make_test_row(&row, sp_dataset_get(SP_DS_POLICY), 1);
  char big[4096];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(sp_row_set_cstr(&row, sp_row_col(&row, "summary"), big), 0);
  sp_buf enc = SP_BUF_INIT;
  assert_int_equal(sp_row_encode(&row, &enc), 0);
  sp_row_clear(&row);
  sp_event ev = {7, enc.data, enc.len};
  sp_error err = {0};
  assert_int_equal(s->ops->begin(s, &err), 0);
  assert_int_equal(s->ops->write(s, &ev, 1, &err), 0);
  int rc = s->ops->commit(s, &err);
  assert_int_equal(rc, SP_ERR_INVALID);
  assert_true(sp_sink_error_is_permanent(rc));
  assert_non_null(strstr(err.msg, "policy"));
  s->ops->abort(s);
  sp_buf_free(&enc);
  sp_sink_close(s);
}

static void test_refused_setting_names_it_without_secret(void **state) {
  mock_env *env = *state;
  const char *const settings[] = {"sasl.password=Hunter2-secret", "no.such.setting=1", NULL};
  sp_sink_kafka_config cfg = {.name = "kafka_bad", .brokers = env->bootstraps, .dataset = -1, .settings = settings};
  sp_sink *s = NULL;
  sp_error err = {0};
  assert_int_equal(sp_sink_kafka_open(&cfg, &s, &err), SP_ERR_CONFIG);
  assert_null(s);
  assert_non_null(strstr(err.msg, "no.such.setting"));
  assert_null(strstr(err.msg, "Hunter2-secret"));
  char line[] = "sasl says Hunter2-secret";
  sp_redact(line);
  assert_null(strstr(line, "Hunter2-secret")); /* registered as a secret */
  sp_log_clear_secrets();
  const char *const topic_without_dataset[] = {NULL};
  cfg.settings = topic_without_dataset;
  cfg.topic = "quotes";
  assert_int_equal(sp_sink_kafka_open(&cfg, &s, &err), SP_ERR_CONFIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_arrive_once_with_key_and_json),
      cmocka_unit_test(test_broker_down_mid_stream_loses_nothing),
      cmocka_unit_test(test_oversized_message_is_permanent),
      cmocka_unit_test(test_refused_setting_names_it_without_secret),
  };
  return cmocka_run_group_tests(tests, setup_cluster, kafka_mock_env_teardown);
}
