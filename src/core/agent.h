/*
 * agent.h — the running pipeline: the config's agents made real (SPEC §3).
 *
 * sp_pipeline_open builds, for every agent of the config, its channels (memory or
 * file), its sinks (file, ...) with one sink runner each, and prepares its sources;
 * it also opens the state store (<data_dir>/.state), the HTTP client with every
 * provider's settings (config `providers.<name>` over the providers' defaults, then
 * STOCKPIPE_<NAME>_BASE_URL), and the ticker universe file when a source asks for
 * `sp500`.
 *
 * Collecting (sp_pipeline_collect_source) runs one round of one source: the
 * providers fetch, every new row is completed (indicators for bars, whose state is
 * carried in the state store) and put into every channel the source is bound to in
 * fan-out transactions of at most the channels' transactionCapacity events; each
 * transaction commits together with the watermarks (and indicator states) of its
 * rows, in one state-store transaction (see core/state.h), so a watermark advances
 * only when its rows are in the channels.
 *
 * Backfilling (sp_pipeline_backfill_open / sp_pipeline_backfill_chunk) runs the same
 * round for an explicit time window, with core/backfill.h deciding which rows are new
 * and committing its cursors with them.  Every stored row also lowers its series'
 * first time (sp_backfill_stage_first), the floor backfills dedup against.
 *
 * Delivering: sp_pipeline_drain moves everything buffered into the sinks on the
 * calling thread (collect, run --once); sp_pipeline_start / sp_pipeline_stop run one
 * sink-runner thread per sink for the daemon.
 *
 * Channels: `memory` (sp_channel_memory_open), `file` (sp_channel_file_open with
 * the config's resolved checkpoint_path/data_path and min_free_disk_mb, its prepared
 * transactions resolved by the state store) and `kafka` (sp_channel_kafka_open with
 * the channel's dataset, the pipeline's stop flag and dead letters under
 * <data_dir>/quarantine/channels/<channel>/).  A Kafka channel no source puts into
 * is a writer agent's: its sink drains the topic that collectors elsewhere fill
 * (docs/SCALING.md); sp_pipeline_drain then consumes until the topic's end offsets
 * as seen when the drain started (core/channel_kafka.h).
 *
 * Watching (the daemon and its /health): sp_pipeline_last_run / sp_pipeline_record_run
 * keep each source's last round in the state store; sp_pipeline_sink_health_get
 * reports a sink's runner, its channel's counters and how long the oldest buffered
 * event has waited (the pipeline remembers the time of each channel's recent put
 * commits for that); sp_pipeline_batch_latency is the histogram of its sinks' batch
 * durations for /metrics.
 *
 * Ownership: the pipeline borrows `config` and `credentials` (they must outlive it)
 * and owns everything it creates; sp_pipeline_close releases it.  Functions are
 * called from one controlling thread, except sp_pipeline_sink_count,
 * sp_pipeline_sink_health_get, sp_pipeline_batch_latency, sp_pipeline_buffered and
 * sp_pipeline_interrupt, which any thread may call while the pipeline is open.
 */
#ifndef STOCKPIPE_CORE_AGENT_H
#define STOCKPIPE_CORE_AGENT_H

#include "core/backfill.h"
#include "core/config.h"
#include "core/credentials.h"
#include "core/sink_runner.h"
#include "sources/source.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sp_pipeline sp_pipeline;

/* Build the pipeline.  Errors: SP_ERR_CONFIG (a channel or sink the build cannot
 * make, the universe file unreadable — the message names the component),
 * SP_ERR_IO (data directory, state store, channel logs), SP_ERR_NOMEM. */
int sp_pipeline_open(const sp_config *config, const sp_credentials *credentials,
                     const volatile bool *stop, sp_pipeline **out, sp_error *err);

/* Daily quotas (core/quota.h): when on (the daemon), a round spends only its share
 * of what is left of a provider's daily quota today, by the source's schedule; off
 * (the default: `collect`, `run --once`), a round may spend all that is left. */
void sp_pipeline_spread_quotas(sp_pipeline *p, bool on);

/* Backfill rounds leave `percent` (clamped to 0..100) of each provider's daily limit
 * unspent for the live rounds (core/quota.h, "Backfill"); the default is
 * SP_QUOTA_BACKFILL_RESERVE_PERCENT. */
void sp_pipeline_quota_reserve(sp_pipeline *p, int percent);

/* The daily quota of `provider` on the UTC day of `now_us`: *limit (its configured
 * `daily_limit`, 0 = none) and *used (requests counted that day; 0 without a limit).
 * Errors: the state store's. */
int sp_pipeline_quota_of(sp_pipeline *p, const char *provider, int64_t now_us, int64_t *limit, int64_t *used,
                         sp_error *err);

/* One round of `source` (an entry of the config's sources) at wall-clock `now_us`.
 * `tickers_override` (may be NULL) replaces the source's ticker list.  Fills
 * `report`.  Returns 0 when every enabled provider succeeded and every row reached
 * the channels; otherwise an error (the rows already put stay put and are
 * delivered).  SP_ERR_STOPPED when the stop flag was raised. */
int sp_pipeline_collect_source(sp_pipeline *p, const sp_config_source *source, int64_t now_us,
                               const sp_strlist *tickers_override, sp_source_report *report,
                               sp_error *err);

/* A backfill of `source` over [start_us, end_us) named `run_id` (core/backfill.h),
 * over this pipeline's state store and the source's indicator settings.  The caller
 * frees *out with sp_backfill_free before closing the pipeline.  Errors: SP_ERR_INVALID
 * (source not in the pipeline), SP_ERR_NOMEM. */
int sp_pipeline_backfill_open(sp_pipeline *p, const sp_config_source *source, const char *run_id, int64_t start_us,
                              int64_t end_us, sp_backfill **out, sp_error *err);

/* One backfill chunk: a round of `source` whose providers (`providers`, a subset of
 * the source's in its order; NULL = all of them) ask for exactly `window`
 * (sources/source.h) for `tickers` (NULL = the source's list); rows go through the
 * same validation, indicators, channels and sinks as a live round, filtered and
 * cursored by `backfill` (committed with the rows).  Returns as
 * sp_pipeline_collect_source; on success call sp_backfill_chunk_done, on failure
 * sp_backfill_chunk_failed.  SP_ERR_QUOTA (err names the provider) when a daily quota
 * left some of the round's requests unsent: then none of its rows was stored (the
 * chunk is fetched whole by the next run) and neither of those is to be called. */
int sp_pipeline_backfill_chunk(sp_pipeline *p, const sp_config_source *source, int64_t now_us,
                               const sp_source_window *window, sp_backfill *backfill, const sp_strlist *tickers,
                               const sp_strlist *providers, sp_source_report *report, sp_error *err);

/* Deliver every buffered event of every channel to its sink on this thread, giving
 * up on a sink that keeps failing transiently at `deadline_us` (monotonic clock).
 * Returns 0 when every channel was emptied; otherwise the first error (the other
 * channels are still drained). */
int sp_pipeline_drain(sp_pipeline *p, int64_t deadline_us, sp_error *err);

/* Start one sink-runner thread per sink (daemon mode).  Returns 0 or SP_ERR_IO. */
int sp_pipeline_start(sp_pipeline *p, sp_error *err);
/* Stop the runner threads, letting them drain for at most `drain_timeout_us`.  The
 * channels are closed first (puts refused, buffered events still taken), so after a
 * stop the pipeline can only be closed. */
void sp_pipeline_stop(sp_pipeline *p, int64_t drain_timeout_us);

/* Close every channel now, from any thread: a put blocked on a full channel returns
 * SP_ERR_STOPPED at once and later puts are refused, while takes (the runners,
 * sp_pipeline_drain) still get everything buffered.  For a prompt shutdown: after it
 * the pipeline can only be stopped and closed. */
void sp_pipeline_interrupt(sp_pipeline *p);

/* Events buffered in all channels right now. */
uint64_t sp_pipeline_buffered(const sp_pipeline *p);

/* The time (UTC µs) of `source`'s last round as recorded by sp_pipeline_record_run:
 * *found false when it never ran.  Errors: SP_ERR_IO (state store). */
int sp_pipeline_last_run(sp_pipeline *p, const sp_config_source *source, int64_t *run_us, bool *found,
                         sp_error *err);
/* Record that `source` ran at `run_us` (kept in the state store as the watermark
 * (source name, "@last_run"), so it only moves forward).  Errors: SP_ERR_IO, NOMEM. */
int sp_pipeline_record_run(sp_pipeline *p, const sp_config_source *source, int64_t run_us, sp_error *err);

/* One sink and the channel it drains, as /health sees them. */
typedef struct sp_pipeline_sink_health {
  const sp_config_sink *sink;        /* borrowed from the config */
  const sp_config_channel *channel;  /* the channel it drains (borrowed) */
  bool started;                      /* runner threads run (sp_pipeline_start) */
  sp_sink_runner_status runner;
  sp_channel_counters counters;      /* the channel's counters, one consistent snapshot */
  /* When the oldest event still in the channel was committed into it, or later
   * (never earlier): the time of the first remembered put commit covering it.
   * 0 when the channel is empty or the time is not known. */
  int64_t oldest_event_us;
  int64_t batch_timeout_us;          /* the longest the runner waits to fill a batch */
} sp_pipeline_sink_health;

/* Channels no source of the pipeline puts into: a writer agent's Kafka channels,
 * which the sinks drain from a topic other processes fill. */
size_t sp_pipeline_writer_channel_count(const sp_pipeline *p);

/* Number of sinks (= config sinks, in config order). */
size_t sp_pipeline_sink_count(const sp_pipeline *p);
/* Fill `out` for sink `i` (< sp_pipeline_sink_count).  Never fails. */
void sp_pipeline_sink_health_get(sp_pipeline *p, size_t i, sp_pipeline_sink_health *out);

/* The histogram family "stockpipe_sink_batch_duration_seconds" (label sink) the
 * sink runners observe each committed batch in (core/sink_runner.h); it starts
 * empty with the pipeline.  Borrowed: valid until sp_pipeline_close; any thread may
 * render it while the pipeline is open. */
sp_latency *sp_pipeline_batch_latency(sp_pipeline *p);

/* Release everything (stopping runners first).  NULL is ignored. */
void sp_pipeline_close(sp_pipeline *p);

#endif
