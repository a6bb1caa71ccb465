/*
 * test_channel_kafka.c — the Kafka channel against librdkafka's mock cluster: events
 * put by a collector's channel are taken by a writer's channel (another instance,
 * as on another machine) in order with strictly increasing sequence numbers; a
 * rolled-back take returns the same events again; a writer that dies before its
 * take commits reads the uncommitted events again, and one that committed does not;
 * a closed channel refuses puts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/channel_kafka.h"
#include "core/timeutil.h"
#include "sinks/sink_kafka.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mock_env {
  rd_kafka_t *owner;
  rd_kafka_mock_cluster_t *cluster;
} mock_env;

static int setup_cluster(void **state) {
  mock_env *env = calloc(1, sizeof *env);
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  env->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  env->cluster = rd_kafka_mock_cluster_new(env->owner, 3);
  assert_non_null(env->cluster);
  assert_int_equal(rd_kafka_mock_topic_create(env->cluster, "events", 1, 3), 0);
  *state = env;
  return 0;
}

static int teardown_cluster(void **state) {
  mock_env *env = *state;
  rd_kafka_mock_cluster_destroy(env->cluster);
  rd_kafka_destroy(env->owner);
  free(env);
  return 0;
}

static sp_channel *open_channel(const mock_env *env, const char *name) {
  sp_channel_kafka_config cfg = {.base = {.name = name, .capacity = 100, .transaction_capacity = 10},
                                 .brokers = rd_kafka_mock_cluster_bootstraps(env->cluster),
                                 .topic = "events",
                                 .group = "writers",
                                 .timeout_ms = 5000};
  sp_channel *ch = NULL;
  sp_error err = {0};
  if (sp_channel_kafka_open(&cfg, &ch, &err)) fail_msg("%s", err.msg);
  return ch;
}

/* One put transaction of events "e<first>".."e<first+n-1>". */
static void put_events(sp_channel *ch, int first, int n) {
  sp_put_txn *t;
  sp_error err = {0};
  assert_int_equal(sp_put_txn_begin(&ch, 1, &t, &err), 0);
  for (int i = first; i < first + n; i++) {
    char text[16];
    int len = snprintf(text, sizeof text, "e%d", i);
    assert_int_equal(sp_put_txn_put(t, (const uint8_t *)text, (size_t)len, 0, &err), 0);
  }
  if (sp_put_txn_commit(t, NULL, NULL, &err)) fail_msg("%s", err.msg);
  sp_put_txn_close(t);
}

/* Take `n` events and check they are "e<first>".. with increasing seqs; returns the txn. */
static void *take_events(sp_channel *ch, int first, int n, uint64_t *first_seq) {
  void *txn;
  sp_error err = {0};
  assert_int_equal(sp_channel_take_begin(ch, &txn, &err), 0);
  uint64_t last = 0;
  for (int i = first; i < first + n; i++) {
    sp_event ev;
    if (sp_channel_take(ch, txn, &ev, sp_monotonic_us() + 5 * SP_US_PER_SEC, &err)) fail_msg("%s", err.msg);
    char want[16];
    int len = snprintf(want, sizeof want, "e%d", i);
    assert_int_equal(ev.len, (size_t)len);
    assert_memory_equal(ev.data, want, (size_t)len);
    assert_true(ev.seq > last);
    if (i == first && first_seq) *first_seq = ev.seq;
    last = ev.seq;
  }
  return txn;
}

static void assert_empty(sp_channel *ch, void *txn) {
  sp_event ev;
  sp_error err = {0};
  assert_int_equal(sp_channel_take(ch, txn, &ev, sp_monotonic_us() + 300000, &err), SP_ERR_TIMEOUT);
}

static void test_collectors_put_writer_takes_and_commits(void **state) {
  mock_env *env = *state;
  sp_channel *collector = open_channel(env, "collector");
  sp_channel *writer = open_channel(env, "writer");
  put_events(collector, 0, 3);
  put_events(collector, 3, 2);

  uint64_t seq_a, seq_b;
  sp_error err = {0};
  void *txn = take_events(writer, 0, 4, &seq_a);
  sp_channel_take_rollback(writer, txn); /* the sink failed: the same events again */
  txn = take_events(writer, 0, 5, &seq_b);
  assert_int_equal(seq_a, seq_b);
  assert_empty(writer, txn);
  assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);

  /* The writer dies after taking e5 but before its sink committed. */
  put_events(collector, 5, 2);
  txn = take_events(writer, 5, 1, NULL);
  sp_channel_take_rollback(writer, txn); /* what dying leaves: nothing committed */
  sp_channel_free(writer);
  writer = open_channel(env, "writer");
  txn = take_events(writer, 5, 2, NULL); /* a new writer starts at the committed offset */
  assert_empty(writer, txn);
  assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);
  sp_channel_free(writer);

  writer = open_channel(env, "writer"); /* everything committed: nothing left */
  assert_int_equal(sp_channel_take_begin(writer, &txn, &err), 0);
  assert_empty(writer, txn);
  sp_channel_take_rollback(writer, txn);

  sp_channel_close(collector);
  sp_put_txn *t;
  assert_int_equal(sp_put_txn_begin(&collector, 1, &t, &err), SP_ERR_STOPPED);
  sp_channel_free(writer);
  sp_channel_free(collector);
}

static void test_missing_topic_is_a_config_error(void **state) {
  (void)state;
  sp_channel_kafka_config cfg = {.base = {.name = "bad", .capacity = 10, .transaction_capacity = 10},
                                 .brokers = "127.0.0.1:9"};
  sp_channel *ch = NULL;
  sp_error err = {0};
  assert_int_equal(sp_channel_kafka_open(&cfg, &ch, &err), SP_ERR_CONFIG);
  assert_null(ch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_collectors_put_writer_takes_and_commits),
      cmocka_unit_test(test_missing_topic_is_a_config_error),
  };
  return cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
}
