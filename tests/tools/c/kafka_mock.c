/*
 * kafka_mock.c — a stand-alone Kafka for integration tests: librdkafka's mock cluster
 * (in-process brokers listening on 127.0.0.1) kept alive until stdin closes, so
 * several `stockpipe` processes (collectors and a writer) can share it.
 *
 *   kafka_mock BROKERS TOPIC[:PARTITIONS]...   prints the bootstrap servers, one line
 *   kafka_mock --consume BOOTSTRAP TOPIC PARTITIONS
 *       prints every message of TOPIC as "key<TAB>value<TAB>dataset header", one a line
 *       (rd_kafka_assign from the beginning to the end of each partition)
 *
 * Topics are created with 3 replicas (BROKERS >= 3) or 1, and the given partition
 * count (default 1).  Exit status 0 when stdin reached EOF (or everything was read),
 * 1 on a failure.
 */
#include "sinks/sink_kafka.h"

#include "core/timeutil.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int consume(const char *bootstrap, const char *topic, int partitions) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  const char *const settings[] = {"group.id=kafka_mock", "enable.partition.eof=true", "enable.auto.commit=false", NULL};
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, why, sizeof why) ||
      sp_kafka_conf_apply(conf, settings, "kafka_mock", NULL))
    return 1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (!rk) return 1;
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  int eofs = 0, rc = 0;
  int64_t deadline = sp_monotonic_us() + 60 * SP_US_PER_SEC; /* it ends at the last EOF */
  while (eofs < partitions && sp_monotonic_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eofs++;
    } else if (m->err) {
      fprintf(stderr, "kafka_mock: %s\n", rd_kafka_message_errstr(m));
      rc = 1;
    } else {
      rd_kafka_headers_t *headers = NULL;
      const void *dataset = "";
      size_t dlen = 0;
      if (rd_kafka_message_headers(m, &headers) == 0) rd_kafka_header_get_last(headers, "stockpipe.dataset", &dataset, &dlen);
      printf("%.*s\t%.*s\t%.*s\n", (int)m->key_len, (const char *)m->key, (int)m->len, (const char *)m->payload,
             (int)dlen, (const char *)dataset);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return eofs == partitions ? rc : 1;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--consume") == 0) return consume(argv[2], argv[3], atoi(argv[4]));
  if (argc < 2) {
    fprintf(stderr, "usage: kafka_mock BROKERS TOPIC[:PARTITIONS]...\n");
    return 2;
  }
  int brokers = atoi(argv[1]);
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  rd_kafka_mock_cluster_t *cluster = owner && brokers > 0 ? rd_kafka_mock_cluster_new(owner, brokers) : NULL;
  if (!cluster) {
    fprintf(stderr, "kafka_mock: no mock cluster: %s\n", owner ? "bad broker count" : why);
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char topic[256];
    snprintf(topic, sizeof topic, "%s", argv[i]);
    char *colon = strchr(topic, ':');
    int partitions = colon ? atoi(colon + 1) : 1;
    if (colon) *colon = '\0';
    if (rd_kafka_mock_topic_create(cluster, topic, partitions > 0 ? partitions : 1, brokers >= 3 ? 3 : 1)) {
      fprintf(stderr, "kafka_mock: cannot create topic %s\n", topic);
      return 1;
    }
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);
  while (getchar() != EOF) {
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return 0;
}
