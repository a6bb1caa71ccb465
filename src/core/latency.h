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
 * after each committed batch).  The endpoint renders them.
 *
 * Thread-safe.  Observing through a series handle (sp_latency_series_of, then
 * sp_latency_series_observe: what a sink runner does) takes no lock: two relaxed
 * atomic additions.  The family's mutex guards only its list of series (creating
 * one, rendering).  A rendering taken while observations land is consistent where
 * it matters: _count is the +Inf bucket (both the sum of the same bucket reads);
 * _sum may already include an observation the buckets do not yet show, or not.
 */
#ifndef STOCKPIPE_CORE_LATENCY_H
#define STOCKPIPE_CORE_LATENCY_H

#include "core/buf.h"

#include <stdint.h>

typedef struct sp_latency sp_latency;
typedef struct sp_latency_series sp_latency_series;

/* A new empty family `metric` (a Prometheus metric name) described by `help`, whose
 * series are told apart by label `label`.  Strings are copied.  Returns 0 and *out,
 * or SP_ERR_NOMEM.  Free with sp_latency_free. */
int sp_latency_new(const char *metric, const char *help, const char *label, sp_latency **out);
void sp_latency_free(sp_latency *l);

/* The series `label_value` of the family, created (empty: rendered with zero counts)
 * on first use.  Owned by the family: valid until sp_latency_free.  Returns 0 and
 * *out, or SP_ERR_NOMEM. */
int sp_latency_series_of(sp_latency *l, const char *label_value, sp_latency_series **out);

/* Count one operation that took `duration_us` (negative counts as 0).  Lock-free;
 * any thread. */
void sp_latency_series_observe(sp_latency_series *s, int64_t duration_us);

/* Both in one (a lookup under the family's mutex, for occasional observations).
 * Returns 0 or SP_ERR_NOMEM. */
int sp_latency_observe(sp_latency *l, const char *label_value, int64_t duration_us);

/* Append the family in Prometheus text format (# HELP, # TYPE histogram, then per
 * series the cumulative buckets, _sum in seconds and _count).  0 or SP_ERR_NOMEM. */
int sp_latency_render_prometheus(sp_latency *l, sp_buf *out);

/* Append `"metric":{"series":{"count":N,"sum_seconds":S,"buckets":{"0.01":n,...,"+Inf":n}},...}`
 * (buckets cumulative, like Prometheus).  0 or SP_ERR_NOMEM. */
int sp_latency_render_json(sp_latency *l, sp_buf *out);

#endif
