/*
 * kafka_mock_env.h — the librdkafka mock cluster the Kafka unit tests run against
 * (test_sink_kafka.c, test_channel_kafka.c): three brokers living inside a producer
 * handle of the test process.  Each test's setup creates the topics it needs in
 * env->cluster; kafka_mock_env_free destroys the cluster and the handle.
 */
#ifndef STOCKPIPE_TESTS_KAFKA_MOCK_ENV_H
#define STOCKPIPE_TESTS_KAFKA_MOCK_ENV_H

#include "sinks/sink_kafka.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>

typedef struct mock_env {
  rd_kafka_t *owner; /* the handle the mock cluster lives in */
  rd_kafka_mock_cluster_t *cluster;
  const char *bootstraps;
} mock_env;

/* A new 3-broker mock cluster (the test fails when it cannot be made). */
static inline mock_env *kafka_mock_env_new(void) {
  mock_env *env = calloc(1, sizeof *env);
  assert_non_null(env);
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  env->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  assert_non_null(env->owner);
  env->cluster = rd_kafka_mock_cluster_new(env->owner, 3);
  assert_non_null(env->cluster);
  env->bootstraps = rd_kafka_mock_cluster_bootstraps(env->cluster);
  return env;
}

/* cmocka teardown: destroy the cluster made by kafka_mock_env_new (in *state). */
static inline int kafka_mock_env_teardown(void **state) {
  mock_env *env = *state;
  rd_kafka_mock_cluster_destroy(env->cluster);
  rd_kafka_destroy(env->owner);
  free(env);
  return 0;
}

#endif
