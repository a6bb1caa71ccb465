/*
 * channel_kafka.h — a Flume KafkaChannel (SPEC §3 channel `type: kafka`): the channel's
 * events live in a Kafka topic, so collectors on many machines can put into it and a
 * writer agent elsewhere takes from it (docs/SCALING.md).
 *
 * Put side (any number of processes): a put transaction's events are produced by an
 * idempotent producer (acks=all) when the transaction prepares, and the prepare
 * waits for every delivery report; a failed or missing report fails the prepare and
 * the fan-out transaction rolls back.  Events already acknowledged stay in the topic
 * (Kafka has them): the put side is at-least-once, and the sinks' idempotent commits
 * (SPEC keys, ON CONFLICT, upserts, sequence-named files) absorb the repeat.
 *
 * Take side (one writer agent per topic, as a Flume channel has one sink): the
 * consumer reads partition 0 of the topic from the consumer group's committed offset
 * (the earliest offset the first time).  An event's sequence number is its offset
 * + 1, strictly increasing and never reused, so file sinks can name files by it.
 * take_commit commits the offset after the last taken event synchronously — the
 * sink runner calls it only after its sink committed, so a writer that dies reads
 * the uncommitted events again.  take_rollback seeks back to the first taken event.
 * Producers write to partition 0 too: one partition keeps one order per channel;
 * scale out with one topic (channel) per dataset or per writer.
 *
 * `capacity` does not apply (Kafka holds the backlog); transactionCapacity bounds
 * each transaction as for every channel.  Errors: SP_ERR_IO (Kafka unreachable,
 * delivery or offset commit failed), SP_ERR_TIMEOUT (take found nothing before its
 * deadline), SP_ERR_STOPPED (closed), SP_ERR_FULL (transactionCapacity),
 * SP_ERR_CONFIG (a setting librdkafka refuses), SP_ERR_NOMEM.
 */
#ifndef STOCKPIPE_CORE_CHANNEL_KAFKA_H
#define STOCKPIPE_CORE_CHANNEL_KAFKA_H

#include "core/channel.h"

typedef struct sp_channel_kafka_config {
  sp_channel_config base;      /* name, transaction_capacity (capacity is not used) */
  const char *brokers;         /* bootstrap servers "host:port[,host:port...]" */
  const char *topic;           /* the channel's topic */
  const char *group;           /* consumer group of the take side; NULL = "stockpipe-<channel name>" */
  const char *const *settings; /* extra librdkafka properties "key=value" for both sides, NULL-terminated */
  int timeout_ms;              /* longest wait for delivery reports or an offset commit; 0 = 30000 */
} sp_channel_kafka_config;

/* Open a Kafka channel.  The producer and the consumer are created at the first
 * put and the first take, so a collector never joins the writer's group.  Returns 0
 * and *out, SP_ERR_CONFIG (missing brokers/topic, a refused setting) or SP_ERR_NOMEM.
 * Free with sp_channel_free. */
int sp_channel_kafka_open(const sp_channel_kafka_config *cfg, sp_channel **out, sp_error *err);

#endif
