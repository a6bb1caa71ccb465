/*
 * sink.h — the interface every sink implements (file now; PostgreSQL, MongoDB and
 * Kafka later), in the shape of a Fluent Bit output plugin: opened from its
 * configuration by a type-specific constructor, then driven by a sink runner
 * (core/sink_runner.h) one batch at a time:
 *
 *     begin → write (any number of times, events in sequence order) → commit | abort
 *
 * `commit` publishes the batch durably (for files: written aside, synced, renamed,
 * folder synced) and is idempotent: committing a batch again after a crash — the
 * same events, possibly cut into different batches — publishes nothing twice.  The
 * runner commits its channel take only after the sink commit returned 0, so a crash
 * anywhere replays events into the sink, never loses them.
 *
 * A sink may also offer a deferred commit and a flush (both or neither): the
 * deferred commit publishes like commit but may leave its last durability step (the
 * file sink: syncing the folders it renamed files into) to flush, so that several
 * batches share it.  The runner uses them only with a channel that defers its take
 * records until that flush (channel.h, sp_channel_take_commit_deferred), so a crash
 * before the flush re-delivers the batches and the idempotent commit absorbs it.
 *
 * Errors are classified by code: SP_ERR_CORRUPT, SP_ERR_INVALID and
 * SP_ERR_UNSUPPORTED are permanent (the batch can never be written: the runner
 * quarantines it); every other code is transient (retried with backoff).
 *
 * A sink is used by one thread at a time (its runner).  close frees it.
 */
#ifndef STOCKPIPE_SINKS_SINK_H
#define STOCKPIPE_SINKS_SINK_H

#include "core/channel.h"
#include "core/membudget.h"
#include "core/metrics.h"
#include "format/format.h"

#include <stdbool.h>

typedef struct sp_sink sp_sink;

typedef struct sp_sink_ops {
  const char *type;
  /* Start an empty batch (drops anything left by a failed one). */
  int (*begin)(sp_sink *s, sp_error *err);
  /* Add events (their bytes are copied or decoded; the caller keeps ownership). */
  int (*write)(sp_sink *s, const sp_event *events, size_t n, sp_error *err);
  /* Publish the batch durably; afterwards the sink is ready for begin again. */
  int (*commit)(sp_sink *s, sp_error *err);
  /* Drop the unpublished batch (no effect on published output). */
  void (*abort)(sp_sink *s);
  /* Release the sink (aborting an open batch). */
  void (*close)(sp_sink *s);
  /* Optional (see above; NULL when every commit is durable by itself). */
  int (*commit_deferred)(sp_sink *s, sp_error *err);
  /* Make every deferred commit durable.  On error the rest stays pending (call again). */
  int (*flush)(sp_sink *s, sp_error *err);
} sp_sink_ops;

/* What every sink shares; implementations embed it first. */
struct sp_sink {
  const sp_sink_ops *ops;
  char *name;                /* owned */
  sp_sink_counters counters; /* registered under name */
};

/* For implementations: copy the name and register the counters.  0 or SP_ERR_NOMEM. */
int sp_sink_base_init(sp_sink *s, const sp_sink_ops *ops, const char *name, sp_error *err);
void sp_sink_base_cleanup(sp_sink *s);

/* Decode one event of a batch into `row` (initialised by this call; clear it with
 * sp_row_clear).  A corrupt event is SP_ERR_CORRUPT (permanent: the runner
 * quarantines it) with a message naming the sink and the event's sequence number. */
int sp_sink_decode_event(const sp_sink *s, const sp_event *event, sp_row *row, sp_error *err);

/* True for error codes a retry cannot fix (see above). */
bool sp_sink_error_is_permanent(int code);

/* Close and free (NULL is ignored). */
void sp_sink_close(sp_sink *s);

/* ---- the file sink ---- */

typedef struct sp_sink_file_config {
  const char *name;        /* sink name (counters, logs, quarantine folder) */
  const char *data_dir;    /* a relative path below is relative to it */
  const char *path;        /* folder template: %Y %m %d %H from the row's own date, %% */
  const char *file_prefix; /* "" allowed */
  const char *format;      /* "parquet" (NULL = parquet), "csv", "jsonl" */
  const char *compression; /* NULL = the dataset's default */
  int compression_level;   /* 0 = codec default */
  size_t roll_rows;        /* most rows per file, 0 = no limit */
  size_t roll_bytes;       /* most event bytes per file (≈ data size), 0 = no limit */
  sp_membudget *budget;    /* decoded batches are counted in it; NULL = unlimited */
} sp_sink_file_config;

/* Open a file sink.  Checks the template and the format (SP_ERR_CONFIG naming the
 * sink when either is unknown).  Returns 0 and *out, or an error.
 *
 * Output: every row goes to <data_dir>/<expanded path>/ (or the expanded path when it
 * is absolute) and rows of one batch that share a folder share files named
 *     <file_prefix><first seq>-<last seq><extension>
 * after the channel sequence numbers of the first and last row in the file.  Before
 * writing to a folder the sink lists the files with its prefix there: rows whose
 * sequence falls inside a published file's range were published before (a replay
 * after a crash) and are skipped; leftover "<name>.tmp" files of its own are deleted.
 * Files are written as "<name>.tmp", fsynced, renamed, and the folder fsynced (by
 * commit, or once per folder by flush after deferred commits). */
int sp_sink_file_open(const sp_sink_file_config *cfg, sp_sink **out, sp_error *err);

/* Expand a path template for a UTC timestamp `us` (microseconds).  Returns 0 or
 * SP_ERR_CONFIG (unknown escape) / SP_ERR_INVALID (result too long for `cap`). */
int sp_sink_expand_path(const char *tmpl, int64_t us, char *out, size_t cap, sp_error *err);

#endif
