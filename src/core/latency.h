/*
 * latency.h — latency histograms for /metrics (issue 7): one family per measured
 * thing (e.g. "stockpipe_source_round_seconds", one series per source), with fixed
 * buckets from 1 ms to 1 h (1, 2.5, 5, 10, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30,
 * 60, 120, 300, 600, 1800, 3600 s, +Inf), rendered as Prometheus histograms
 * (`_bucket{le=...}`, `_sum`, `_count`) and as JSON.
 *
 * Families in use: "stockpipe_source_round_seconds" (label source; owned by the
 * daemon, so it outlives pipeline reloads, observed after each round) and
 * "stockpipe_sink_batch_duration_seconds" (label sink; owned by the pipeline, so it
 * starts from zero with the counters at each reload, observed by the sink runners
 * after each committed batch).  The endpoint renders them.  Thread-safe: one mutex
 * per family, held for a lookup among a few series and three additions.
 */
#ifndef STOCKPIPE_CORE_LATENCY_H
#define STOCKPIPE_CORE_LATENCY_H

#include "core/buf.h"

#include <stdint.h>

typedef struct sp_latency sp_latency;

/* A new empty family `metric` (a Prometheus metric name) described by `help`, whose
 * series are told apart by label `label`.  Strings are copied.  Returns 0 and *out,
 * or SP_ERR_NOMEM.  Free with sp_latency_free. */
int sp_latency_new(const char *metric, const char *help, const char *label, sp_latency **out);
void sp_latency_free(sp_latency *l);

/* Count one operation of series `label_value` (created on first use) that took
 * `duration_us` (negative counts as 0).  Returns 0 or SP_ERR_NOMEM. */
int sp_latency_observe(sp_latency *l, const char *label_value, int64_t duration_us);

/* Append the family in Prometheus text format (# HELP, # TYPE histogram, then per
 * series the cumulative buckets, _sum in seconds and _count).  0 or SP_ERR_NOMEM. */
int sp_latency_render_prometheus(sp_latency *l, sp_buf *out);

/* Append `"metric":{"series":{"count":N,"sum_seconds":S,"buckets":{"0.01":n,...,"+Inf":n}},...}`
 * (buckets cumulative, like Prometheus).  0 or SP_ERR_NOMEM. */
int sp_latency_render_json(sp_latency *l, sp_buf *out);

#endif
