/*
 * sink_runner.h — the loop that moves events from one channel into one sink (Flume's
 * SinkRunner + SinkProcessor), on its own thread so that a slow or dead sink never
 * stalls the others.
 *
 * One batch:
 *   1. begin a take transaction; take events until batch_size events or batch_bytes
 *      bytes are held, or batch_timeout_us passed since the first event arrived
 *      (roll by rows / bytes / interval); on shutdown, whatever was taken;
 *   2. hand them to the sink (begin, write, commit);
 *   3. commit the take only after the sink committed.  A crash anywhere before step
 *      3 completes leaves the events in the channel; the sink's commit is idempotent
 *      (sink.h), so the replay publishes nothing twice.
 * A take that fails with SP_ERR_RETRY (channel.h: its events were withdrawn) is
 * rolled back before anything reaches the sink and the batch starts again at once.
 * Group sync: when the sink offers a deferred commit (the file sink) and the channel
 * defers take records (the file channel), steps 2 and 3 use them, and one flush —
 * the sink's pending syncs (one per folder), then the channel's take records — ends
 * a run of up to 16 batches, or earlier when a batch was not full (the channel ran
 * dry), when stopping, and after the drain.  A crash before the flush re-delivers the
 * run's events; the sink skips what it already published.
 * A transient sink error (sink.h) is retried with capped, jittered exponential
 * backoff, keeping the take open; a permanent error is narrowed to the events that
 * cause it (each event of the batch is retried alone) and those events are written
 * to <data_dir>/quarantine/sinks/<sink name>/<first seq>-<last seq>.jsonl, one JSON
 * object per event with "seq", "reason" and either the decoded row ("row") or the
 * raw bytes in hex ("event_hex"), before the take commits — never a silent drop.
 * With max_attempts > 0 a batch still failing after that many transient attempts is
 * quarantined the same way.
 *
 * Latency: with a `batch_latency` family, the runner creates the sink's series at
 * create (so it shows, empty, before any batch), and every non-empty batch whose
 * take committed is observed once (lock-free), from the moment the batch is formed (its last event taken) to
 * the take commit: the sink's begin/write/commit, retries and quarantine included.
 * So the family's count for the sink equals BatchCompleteCount + BatchUnderflowCount
 * once every batch attempted has committed.
 *
 * Thread-safety: start/stop/free from one controlling thread; status from any.
 * The runner neither owns the channel nor the sink: both must outlive it.
 */
#ifndef STOCKPIPE_CORE_SINK_RUNNER_H
#define STOCKPIPE_CORE_SINK_RUNNER_H

#include "core/channel.h"
#include "core/latency.h"
#include "sinks/sink.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sp_sink_runner_config {
  sp_channel *channel;
  sp_sink *sink;
  const char *data_dir;       /* quarantine root (copied) */
  size_t batch_size;          /* events per batch; 0 = 100; capped to the channel's transactionCapacity */
  size_t batch_bytes;         /* stop filling a batch at this many event bytes; 0 = no limit */
  int64_t batch_timeout_us;   /* longest wait to fill a batch after its first event; 0 = 1 s */
  int64_t backoff_initial_us; /* first retry delay; 0 = 100 ms */
  int64_t backoff_max_us;     /* cap of the delay; 0 = 30 s */
  unsigned max_attempts;      /* transient attempts before quarantine; 0 = retry forever */
  sp_latency *batch_latency;  /* may be NULL (borrowed, must outlive the runner): each committed batch
                               * is observed in it under the sink's name (see below) */
} sp_sink_runner_config;

typedef struct sp_sink_runner_status {
  bool running;                  /* the thread is alive */
  int64_t last_success_us;       /* wall clock of the last committed batch, 0 = none */
  unsigned consecutive_failures; /* sink errors since the last committed batch */
  char last_error[SP_ERROR_MSG_MAX]; /* "" when none */
} sp_sink_runner_status;

typedef struct sp_sink_runner sp_sink_runner;

/* Create a runner (no thread yet).  Returns 0 and *out, or SP_ERR_NOMEM/INVALID. */
int sp_sink_runner_create(const sp_sink_runner_config *cfg, sp_sink_runner **out, sp_error *err);

/* Start the runner's thread.  Returns 0 or SP_ERR_IO (thread creation failed). */
int sp_sink_runner_start(sp_sink_runner *r, sp_error *err);

/* Ask the thread to finish: it keeps delivering batches while the channel has
 * events and `drain_timeout_us` has not passed, then stops (a batch in retry is
 * rolled back into the channel), and is joined before this returns. */
void sp_sink_runner_stop(sp_sink_runner *r, int64_t drain_timeout_us);

/* Without a thread (`run --once`, `collect`, tests): deliver batches on the calling
 * thread until the channel is empty.  Returns 0 when everything taken was delivered
 * or quarantined; SP_ERR_TIMEOUT when `deadline_us` (monotonic) passed while a
 * transient error was being retried (that batch is rolled back into the channel);
 * a closed channel is drained like an open one.  *delivered (may be NULL) gets the
 * number of events committed (published + quarantined). */
int sp_sink_runner_drain(sp_sink_runner *r, int64_t deadline_us, uint64_t *delivered, sp_error *err);

void sp_sink_runner_status_get(sp_sink_runner *r, sp_sink_runner_status *out);

/* Stop (if started) and free.  NULL is ignored. */
void sp_sink_runner_free(sp_sink_runner *r);

/* The retry delay before attempt `attempt` (1-based): min(max, initial * 2^(attempt-1))
 * scaled by a factor in [0.5, 1) drawn from *seed ("equal jitter"). */
int64_t sp_backoff_delay_us(unsigned attempt, int64_t initial_us, int64_t max_us, unsigned *seed);

#endif
