/*
 * metrics.h — Flume-named counters per source, channel and sink, kept so that
 *
 *     per channel:  EventPutSuccessCount = EventTakeSuccessCount + ChannelSize
 *                                          + ChannelQuarantinedCount
 *     per sink:     EventTakeSuccessCount(of its channel)
 *                     = EventDrainSuccessCount + EventQuarantinedCount
 *
 * hold at every moment a snapshot is taken (received = delivered + buffered +
 * quarantined).  ChannelSize counts every event the channel still owns, including
 * events taken by a sink whose take transaction is not committed yet.
 *
 * How the invariant is kept: every update that moves events from one state to
 * another goes through one of the sp_metrics_record_* functions below, which apply
 * all the counters of that move under one process-wide mutex; snapshots take the
 * same mutex.  The critical sections are a few additions, never I/O.
 *
 * Components embed a counters struct, register it by name (sp_metrics_register) so
 * the /metrics endpoint can list it, and unregister it before freeing it.  Values
 * are read only through sp_metrics_snapshot_* or the renderers.  Thread-safe.
 */
#ifndef STOCKPIPE_CORE_METRICS_H
#define STOCKPIPE_CORE_METRICS_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_source_counters {
  uint64_t EventReceivedCount;  /* rows the source produced and offered to its channels */
  uint64_t EventAcceptedCount;  /* rows committed to every bound channel */
  uint64_t EventRejectedCount;  /* rows whose put transaction rolled back */
} sp_source_counters;

typedef struct sp_channel_counters {
  uint64_t EventPutAttemptCount;
  uint64_t EventPutSuccessCount;  /* committed puts (+ events found on disk at restart) */
  uint64_t EventTakeAttemptCount;
  uint64_t EventTakeSuccessCount; /* committed takes */
  uint64_t ChannelSize;           /* events owned by the channel, in-flight takes included */
  uint64_t ChannelCapacity;
  uint64_t ChannelQuarantinedCount; /* corrupt records set aside (file: at replay/take; kafka: malformed messages) */
} sp_channel_counters;

typedef struct sp_sink_counters {
  uint64_t EventDrainAttemptCount;
  uint64_t EventDrainSuccessCount;  /* events published by the sink */
  uint64_t EventQuarantinedCount;   /* events moved to <data_dir>/quarantine after a permanent failure */
  uint64_t BatchCompleteCount;      /* batches of exactly batch_size */
  uint64_t BatchUnderflowCount;     /* non-empty batches smaller than batch_size */
  uint64_t BatchEmptyCount;
  uint64_t WriteRetryCount;         /* transient failures retried */
} sp_sink_counters;

typedef enum sp_metrics_kind { SP_METRICS_SOURCE, SP_METRICS_CHANNEL, SP_METRICS_SINK } sp_metrics_kind;

/* Make `counters` (an sp_source_counters, sp_channel_counters or sp_sink_counters
 * according to `kind`) visible under `name` (copied).  Returns 0 or SP_ERR_NOMEM.
 * The caller keeps ownership and must call sp_metrics_unregister before freeing. */
int sp_metrics_register(sp_metrics_kind kind, const char *name, void *counters);
void sp_metrics_unregister(void *counters);

/* --- state moves (each applied atomically with respect to snapshots) --- */
void sp_metrics_record_received(sp_source_counters *src, uint64_t n);
/* A source's put transaction over its channels committed (accepted) or rolled back. */
void sp_metrics_record_source_outcome(sp_source_counters *src, uint64_t accepted, uint64_t rejected);
void sp_metrics_record_put_attempt(sp_channel_counters *ch, uint64_t n);
/* n events committed into the channel. */
void sp_metrics_record_put_commit(sp_channel_counters *ch, uint64_t n);
void sp_metrics_record_take_attempt(sp_channel_counters *ch, uint64_t n);
/* A take transaction of `delivered + quarantined` events committed: the channel
 * loses them and the sink (may be NULL) counts them as drained or quarantined. */
void sp_metrics_record_take_commit(sp_channel_counters *ch, sp_sink_counters *sink, uint64_t delivered,
                                   uint64_t quarantined);
/* n stored events were found corrupt and set aside by the channel itself. */
void sp_metrics_record_channel_quarantine(sp_channel_counters *ch, uint64_t n);
/* n events committed into a channel that keeps no copy of them (a Kafka channel's
 * put side: the topic holds them): counted as put, not buffered. */
void sp_metrics_record_put_forwarded(sp_channel_counters *ch, uint64_t n);
/* Events a channel found in durable storage (a file channel's log at open, a Kafka
 * channel's topic as it fetches): counted as put and buffered. */
void sp_metrics_record_replayed(sp_channel_counters *ch, uint64_t n);
void sp_metrics_set_capacity(sp_channel_counters *ch, uint64_t capacity);
/* Sink bookkeeping that does not move events. */
void sp_metrics_record_drain_attempt(sp_sink_counters *sink, uint64_t n, uint64_t batch_size);
void sp_metrics_record_retry(sp_sink_counters *sink);

/* A provider's response differed from the shape its parser expects (sources/shape.h):
 * one more for (provider, endpoint), rendered as the Prometheus counter
 * stockpipe_source_shape_changes_total{provider="yahoo",endpoint="chart"} and in JSON as
 * "source_shape_changes":{"yahoo":{"chart":1}}.  Process-wide (kept across pipeline
 * reloads, never unregistered).  Returns 0 or SP_ERR_NOMEM (the count is then lost). */
int sp_metrics_record_shape_change(const char *provider, const char *endpoint);
/* The count for (provider, endpoint) so far (0 when none). */
uint64_t sp_metrics_shape_changes(const char *provider, const char *endpoint);

/* A provider's parser skipped an item of a response that holds no data by the
 * provider's own documentation (FRED's "." value, a World Bank null, a NewsAPI
 * "[Removed]" article... sources/source.h, sp_source_count_skip): one more for
 * (provider, reason), rendered as
 * stockpipe_source_items_skipped_total{provider="fred",reason="no_value"} and in JSON as
 * "source_items_skipped":{"fred":{"no_value":1}}.  Process-wide like the shape changes.
 * Returns 0 or SP_ERR_NOMEM (the count is then lost). */
int sp_metrics_record_item_skipped(const char *provider, const char *reason);
/* The count for (provider, reason) so far (0 when none). */
uint64_t sp_metrics_items_skipped(const char *provider, const char *reason);

/* A round of a provider with a daily quota (core/quota.h) ended: `deferred` more
 * requests were deferred (counter stockpipe_provider_requests_deferred_total{provider})
 * and `remaining` requests are left today (gauge stockpipe_provider_quota_remaining);
 * in JSON "provider_quota":{"newsapi":{"requests_deferred_total":4,"quota_remaining":0}}.
 * Process-wide like the shape changes.  Returns 0 or SP_ERR_NOMEM (then not recorded). */
int sp_metrics_record_quota(const char *provider, uint64_t deferred, int64_t remaining);

/* --- reading --- */
void sp_metrics_snapshot_source(const sp_source_counters *src, sp_source_counters *out);
void sp_metrics_snapshot_channel(const sp_channel_counters *ch, sp_channel_counters *out);
void sp_metrics_snapshot_sink(const sp_sink_counters *sink, sp_sink_counters *out);
/* ChannelFillPercentage: 100 * size / capacity (0 when capacity is 0). */
double sp_metrics_fill_percentage(const sp_channel_counters *snapshot);

/* Append every registered component in Prometheus text format, grouped by metric
 * family, each family after its "# TYPE" line (ChannelSize, ChannelCapacity and
 * ChannelFillPercentage are gauges, the rest counters):
 *   # TYPE EventPutSuccessCount counter
 *   EventPutSuccessCount{type="channel",name="movement_channel"} 42
 * followed by the shape-change counters (sp_metrics_record_shape_change), the skipped
 * items (sp_metrics_record_item_skipped) and the quota metrics (sp_metrics_record_quota).
 * Returns 0 or SP_ERR_NOMEM. */
int sp_metrics_render_prometheus(sp_buf *out);
/* The same as one JSON object: {"channel":{"movement_channel":{"EventPutSuccessCount":42,...}},...,
 * "source_shape_changes":{"yahoo":{"chart":1}},"source_items_skipped":{"fred":{"no_value":2}},
 * "provider_quota":{...}}. */
int sp_metrics_render_json(sp_buf *out);

#endif
