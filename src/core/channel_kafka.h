/*
 * channel_kafka.h — a Flume KafkaChannel (SPEC §3 channel `type: kafka`): the channel's
 * events live in a Kafka topic, so collectors on many machines can fill it and a
 * writer agent elsewhere takes from it (docs/SCALING.md, "Writer agents").
 *
 * One topic format (sinks/kafka_format.h): the put side writes exactly what the
 * Kafka sink writes — key = the SPEC key as a JSON array, value = the row as typed
 * JSON, header stockpipe.dataset — and the take side reads it back into the event
 * encoding (core/row.h), so a writer reads a topic filled by Kafka sinks, by Kafka
 * channels, or by any producer writing that format.
 *
 * Put side (any number of processes): each event is decoded and rendered when put
 * (a corrupt event is SP_ERR_CORRUPT); the transaction's messages are produced by
 * an idempotent producer (acks=all, murmur2 partitioner on the key, as the sink)
 * when it prepares, and the prepare waits for every delivery report; a failed or
 * missing report fails the prepare and the fan-out transaction rolls back.
 * Messages already acknowledged stay in the topic: the put side is at-least-once,
 * and the sinks' idempotent commits (SPEC keys, ON CONFLICT, upserts,
 * sequence-named files) absorb the repeat.  Put events count in
 * EventPutSuccessCount, not in ChannelSize (Kafka holds them, not this process).
 *
 * Take side (writer agents; a channel is drained by one sink in each): the take
 * side is a member of the Kafka consumer group `group` (default
 * "stockpipe-<channel name>", so writers on several machines running the same
 * config form one group) and subscribes to the topic: the group's coordinator
 * splits the partitions among the writers, moves a leaving or dead writer's
 * partitions to the others (after session_timeout_ms), and shares out partitions
 * added to the topic (seen within metadata_refresh_ms) — no restart needed.
 * The rebalance callback runs inside the take's polls, on the taking thread; the
 * eager protocol of librdkafka's default assignors (range, roundrobin) revokes
 * every partition and then assigns the new share, so each rebalance has one clear
 * boundary (a cooperative assignor set through `settings` works too: revocations
 * are then incremental).  A newly assigned partition starts at the group's
 * committed offset (the earliest offset the first time).  A revoked partition's
 * held messages are let go, uncommitted (its new owner fetches them again from the
 * committed offset); a take in progress on it hands out nothing more and fails
 * with SP_ERR_RETRY when it had handed out events, so they never reach this
 * writer's sink (the sink runner rolls the take back and starts a new one).  A
 * take polls when it begins, so a writer holding enough messages still serves a
 * rebalance.  An offset commit the coordinator refuses (a rebalance in progress)
 * fails take_commit (SP_ERR_IO): the sink has committed, the runner rolls back and
 * the same events are taken again — or go to the new owner; either way the sinks'
 * idempotent commits store them once.
 * Fetched messages wait in the channel (counted as put and buffered:
 * EventPutSuccessCount, ChannelSize, until their take commits).  When a take's
 * partition has nothing more fetched while messages of other partitions wait, the
 * take ends (SP_ERR_TIMEOUT: the batch is cut) instead of waiting for that
 * partition's next fetch, and the next take starts with the partition holding the
 * most; at most 2 x transactionCapacity messages are held, so ChannelCapacity,
 * 4 x transactionCapacity, is never half used.  One take transaction holds
 * events of ONE partition, in offset order; an event's sequence number is
 *     (partition << 40) | (offset + 1)
 * strictly increasing within a partition and never reused, so a file sink's
 * files, named by sequence range, never straddle two partitions and a replay of a
 * partition finds its rows published.  take_commit commits that partition's offset
 * after the last taken message synchronously — the sink runner calls it only after
 * its sink committed, so a writer that dies re-reads the uncommitted messages;
 * take_rollback hands the same events out again (no seek: they stay fetched).
 *
 * Malformed messages (not JSON, wrong types, a missing required column, another
 * dataset than `dataset`): never handed to the sink and never allowed to wedge the
 * writer.  The message is written as a dead letter to
 *     <quarantine_dir>/<topic>-<partition>-<offset>.json
 * (one JSON object: topic, partition, offset, reason, key, value), counted in
 * ChannelQuarantinedCount (so /health reports it), logged as an error naming
 * topic/partition/offset, and skipped: its offset is committed with the batch
 * around it.  If the dead letter cannot be written the take fails (SP_ERR_IO) and
 * is retried; nothing is skipped silently.
 *
 * Catching up: when a partition is assigned the channel records its high
 * watermark (rd_kafka_query_watermark_offsets).  Until the group has given this
 * writer its share and every assigned partition has been fetched up to that mark,
 * a take whose deadline has passed keeps waiting for messages (failing with
 * SP_ERR_IO after `timeout_ms` without any, e.g. while a partition's leader is
 * down, plus session_timeout_ms while no assignment has come: the group waits that
 * long for a dead writer; the next take waits as long again, so a retried take
 * recovers once the leader is back); afterwards an empty poll is "empty"
 * (SP_ERR_TIMEOUT).  So draining the channel (sp_sink_runner_drain, `run --once`)
 * consumes what this writer's partitions held when they were assigned and
 * returns; the daemon's runner simply keeps taking.
 *
 * The config's `capacity` does not apply (see above); transactionCapacity bounds
 * each transaction as for every channel.  Errors: SP_ERR_IO (Kafka
 * unreachable, topic missing, delivery or offset commit failed, no progress while
 * catching up), SP_ERR_TIMEOUT (take found nothing before its deadline),
 * SP_ERR_STOPPED (closed, or the stop flag raised), SP_ERR_FULL
 * (transactionCapacity), SP_ERR_CORRUPT (a put event that does not decode),
 * SP_ERR_CONFIG (a setting librdkafka refuses), SP_ERR_NOMEM.
 */
#ifndef STOCKPIPE_CORE_CHANNEL_KAFKA_H
#define STOCKPIPE_CORE_CHANNEL_KAFKA_H

#include "core/channel.h"

#include <stdbool.h>

typedef struct sp_channel_kafka_config {
  sp_channel_config base;      /* name, transaction_capacity (capacity: see above) */
  const char *brokers;         /* bootstrap servers "host:port[,host:port...]" */
  const char *topic;           /* the channel's topic */
  int dataset;                 /* sp_dataset_id the topic carries; -1 = whatever each message's header says */
  const char *group;           /* consumer group of the take side; NULL = "stockpipe-<channel name>" */
  const char *quarantine_dir;  /* dead letters of malformed messages; NULL = "./quarantine/channels/<name>" */
  const volatile bool *stop;   /* when it becomes true takes return SP_ERR_STOPPED (may be NULL) */
  const char *const *settings; /* extra librdkafka properties "key=value" for both sides, NULL-terminated */
  int timeout_ms;              /* longest wait for delivery reports, an offset commit, metadata, or
                                  progress while catching up; 0 = 30000 */
  int session_timeout_ms;      /* the group drops a writer silent this long (its partitions go to the
                                  others); 0 = 45000.  Heartbeats: a third of it, at most 3 s */
  int max_poll_interval_ms;    /* ... or one that takes nothing for this long (a sink stuck in one
                                  commit); >= session_timeout_ms (config check says so too, else
                                  open fails with SP_ERR_CONFIG); 0 = 300000 */
  int metadata_refresh_ms;     /* how often the topic's partition count is re-read: partitions added
                                  are shared out within this time; 0 = 60000 */
} sp_channel_kafka_config;

/* Open a Kafka channel.  The producer and the consumer are created at the first
 * put and the first take, so a collector never joins the writer's group.  Returns 0
 * and *out, SP_ERR_CONFIG (missing brokers/topic, a refused setting, a dataset id
 * out of range) or SP_ERR_NOMEM.  Free with sp_channel_free. */
int sp_channel_kafka_open(const sp_channel_kafka_config *cfg, sp_channel **out, sp_error *err);

#endif
