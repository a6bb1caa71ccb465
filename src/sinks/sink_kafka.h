/*
 * sink_kafka.h — the Kafka sink (SPEC §3 `type: kafka`), on librdkafka: each row
 * becomes one message, so that stockpipe's data can be consumed by anything that
 * reads Kafka (and by a stockpipe writer agent through a Kafka channel, see
 * docs/SCALING.md).
 *
 * Messages (the one topic format, sinks/kafka_format.h, also written by the Kafka
 * channel and read back by writer agents):
 *   topic   `topic` for rows of `dataset`, the dataset name for any other dataset
 *   key     the SPEC §1 key as a JSON array of the key columns' values, e.g.
 *           ["AAPL","2026-11-25T14:30:00Z"] (so one key always lands in one partition,
 *           Java-compatible murmur2 partitioner, and log compaction keeps the latest)
 *   value   the row as one JSON object, column name → typed value, in schema order
 *           (format/value_text.h: numbers, strings, ISO 8601 timestamps/dates, null)
 *   header  "stockpipe.dataset" = the dataset name
 *
 * Delivery: an idempotent producer (enable.idempotence, acks=all).  commit()
 * produces the batch and waits up to `flush_timeout_ms` for every delivery report;
 * any failed or missing report fails the commit (SP_ERR_IO / SP_ERR_TIMEOUT, retried
 * by the sink runner; a message too large for the broker is SP_ERR_INVALID).
 * The sink remembers which events of a failed batch were acknowledged and does not
 * send them again when the runner retries the same events, and librdkafka's
 * idempotence removes duplicates of its own retries, so a broker going down
 * mid-stream loses nothing and doubles nothing.  Across a crash of the process the
 * guarantee is at-least-once: events replayed from a durable channel are sent again
 * under the same key (consumers deduplicate by key; compacted topics do it for them).
 * A producer that hit a fatal idempotence error is replaced at the next commit.
 *
 * librdkafka's own log lines go through core/log.h (so registered secrets are
 * redacted); values of settings whose name contains "password" or "secret" are
 * registered with sp_log_add_secret.
 */
#ifndef STOCKPIPE_SINKS_SINK_KAFKA_H
#define STOCKPIPE_SINKS_SINK_KAFKA_H

#include "sinks/sink.h"

#include <librdkafka/rdkafka.h>

typedef struct sp_sink_kafka_config {
  const char *name;             /* sink name (counters, logs, client.id) */
  const char *brokers;          /* bootstrap servers "host:port[,host:port...]" */
  const char *topic;            /* topic for rows of `dataset`; NULL = the dataset name */
  int dataset;                  /* sp_dataset_id `topic` applies to; -1 when topic is NULL */
  const char *const *settings;  /* extra librdkafka properties "key=value", NULL-terminated
                                   (may be NULL); they override the sink's defaults */
  int flush_timeout_ms;         /* longest wait for delivery reports in a commit; 0 = 30000 */
  sp_membudget *budget;         /* batch bytes are counted in it; NULL = unlimited */
} sp_sink_kafka_config;

/* Open a Kafka sink (creates the producer; connecting happens in the background).
 * Returns 0 and *out; SP_ERR_CONFIG for a setting librdkafka refuses (named) or a
 * `topic` without a dataset; SP_ERR_NOMEM.  Release with sp_sink_close (messages
 * of an uncommitted batch are dropped: the channel still holds their events). */
int sp_sink_kafka_open(const sp_sink_kafka_config *cfg, sp_sink **out, sp_error *err);

/* Apply "key=value" `settings` (NULL-terminated, may be NULL) to a librdkafka
 * configuration, registering the values of password/secret settings with
 * sp_log_add_secret.  Shared with the Kafka channel.  Returns 0 or SP_ERR_CONFIG
 * (the setting named, its value never). */
int sp_kafka_conf_apply(rd_kafka_conf_t *conf, const char *const *settings, const char *owner, sp_error *err);

/* Route librdkafka's log lines and error events of handles made from `conf` into
 * core/log.h (component "kafka"; syslog levels 0-2 at ERROR, 3-4 — e.g. a refused
 * connection — at WARN, the rest at DEBUG; error events at DEBUG, fatal ones at
 * ERROR, as the commit reports what matters).  Shared with the Kafka channel. */
void sp_kafka_conf_set_logging(rd_kafka_conf_t *conf);

#endif
