/*
 * format.h — the one small interface every file format writer implements (Parquet,
 * CSV, JSON Lines), so the file sink, `query --format` and `export` pick a format
 * by name and never know its internals.
 *
 * A writer encodes rows of one dataset into an already-open file descriptor.  It does
 * not fsync, rename or close the descriptor: durability and atomic publication belong
 * to the caller (the file sink writes aside, syncs, renames).
 *
 * Lifecycle: open → write_rows (any number of times) → finish → destroy.
 * destroy without finish abandons the output (the caller deletes the file).
 * Memory held by a writer is bounded by one row group / buffer, not by the file.
 */
#ifndef STOCKPIPE_FORMAT_H
#define STOCKPIPE_FORMAT_H

#include "core/row.h"
#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sp_format_options {
  const char *compression;   /* "uncompressed", "snappy", "zstd", "gzip"; NULL = dataset default */
  int compression_level;     /* 0 = codec default */
  size_t row_group_rows;     /* 0 = format default */
} sp_format_options;

typedef struct sp_format_writer sp_format_writer; /* opaque, owned by the format */

typedef struct sp_format_vtable {
  const char *name;      /* "parquet", "csv", "jsonl" */
  const char *extension; /* ".parquet", ".csv", ".jsonl" */
  /* Start writing rows of `ds` to `fd`.  Returns 0 and sets *out, or an SP_ERR_* code. */
  int (*open)(sp_format_writer **out, int fd, const sp_dataset_def *ds,
              const sp_format_options *options, sp_error *err);
  /* Append `n` rows (all of the writer's dataset). */
  int (*write_rows)(sp_format_writer *w, const sp_row *rows, size_t n, sp_error *err);
  /* Flush everything and write any footer; the file is complete when this returns 0. */
  int (*finish)(sp_format_writer *w, sp_error *err);
  /* Release the writer (after finish, or to abandon it). */
  void (*destroy)(sp_format_writer *w);
} sp_format_vtable;

/* The format named `name` ("parquet", "csv", "jsonl"/"json"), or NULL. */
const sp_format_vtable *sp_format_find(const char *name);

/* Write all of `buf` to `fd`, retrying short writes and EINTR.  Returns 0 or SP_ERR_IO
 * (SP_ERR_FULL when the disk is full), naming `what` in the message. */
int sp_write_all(int fd, const void *buf, size_t len, const char *what, sp_error *err);

#endif
