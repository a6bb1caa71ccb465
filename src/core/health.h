/*
 * health.h — is the running pipeline healthy?  The checks behind `GET /health`
 * (SPEC §6, issue 7), each of which makes the answer 503 with a reason:
 *
 *   dead_runner      a sink's runner thread has ended while the daemon runs;
 *   stuck_sink       a channel has held events for longer than `stuck_after_us`
 *                    (plus its sink's batch time-out) without its sink committing;
 *   channel_full     a channel is at least 90 % full;
 *   low_disk         free space below the minimum: the data directory's file system
 *                    below `min_free_disk_mb`, or a file channel's below its own
 *                    `min_free_disk_mb` (where its puts start failing);
 *   missed_schedule  an enabled source, not running now, is overdue by more than its
 *                    schedule's interval: even its next slot after the due one passed;
 *   corruption       a channel set corrupt records aside (a file channel at recovery or
 *                    take, a Kafka channel malformed messages it dead-lettered)
 *                    (ChannelQuarantinedCount > 0);
 *   no_pipeline      the pipeline is not open (being reloaded, or failed to reopen).
 *
 * The document (one JSON object, numbers as JSON numbers):
 *
 *   {"status":"ok"|"unhealthy","time":"2026-11-25T14:30:00Z","buffered_events":0,
 *    "reasons":[{"reason":"channel_full","component":"news_channel","message":"..."}],
 *    "sources":[{"name":"news_source","running":false,"last_run":"...Z"|null,"next_run":"...Z"|null}],
 *    "sinks":[{"name":"news_sink","channel":"news_channel","running":true,"buffered":12,
 *              "fill_percentage":0.24,"last_commit":"...Z"|null,"consecutive_failures":0}]}
 *
 * Everything is read from snapshots (counters, runner status, the caller's schedule
 * entries) with `now` passed in, so the checks are deterministic for tests.
 */
#ifndef STOCKPIPE_CORE_HEALTH_H
#define STOCKPIPE_CORE_HEALTH_H

#include "core/agent.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/scheduler.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_HEALTH_FULL_PERCENT 90.0

typedef struct sp_health_settings {
  int64_t stuck_after_us;   /* see stuck_sink above */
  int64_t min_free_disk_mb; /* for the data directory; 0 = not checked */
} sp_health_settings;

/* One source as the scheduler sees it. */
typedef struct sp_health_source {
  sp_schedule_entry entry; /* name, schedule, intraday, jitter, last run */
  bool enabled;
  bool running;            /* a round of it is in progress */
} sp_health_source;

/* Run every check and append the document to `out`; *healthy says whether the
 * status is "ok".  `p` may be NULL (reason no_pipeline); `cfg` is the config the
 * pipeline was built from (for data_dir).  Returns 0 or SP_ERR_NOMEM. */
int sp_health_check(sp_pipeline *p, const sp_config *cfg, const sp_health_source *sources, size_t nsources,
                    const sp_health_settings *settings, int64_t now_us, sp_buf *out, bool *healthy);

#endif
