/*
 * durable.h — small helpers for crash-safe files, shared by the file channel, the
 * file sink, the sink runner's quarantine and the state store's directory: create
 * directories so that they survive a crash, sync a directory after a rename, and
 * publish a whole file atomically (write aside, fsync, rename, fsync the folder).
 * All functions return 0 or SP_ERR_IO (SP_ERR_FULL for a full disk) with the path in
 * the message.  Thread-safe (no shared state).
 */
#ifndef STOCKPIPE_CORE_DURABLE_H
#define STOCKPIPE_CORE_DURABLE_H

#include "stockpipe/error.h"

#include <stddef.h>

/* fsync the directory `dir` so that entries created or renamed in it persist. */
int sp_fsync_dir(const char *dir, sp_error *err);

/* Create `dir` and its missing parents (mode 0755), syncing each parent that got a
 * new entry.  An existing directory is fine. */
int sp_mkdirs(const char *dir, sp_error *err);

/* Replace `path` atomically with `len` bytes of `data`: written to "<path>.tmp",
 * fsynced, renamed over `path`, and the folder fsynced. */
int sp_write_file_atomic(const char *path, const void *data, size_t len, sp_error *err);

/* Directory part of `path` into `out` (size `cap`): "a/b/c" → "a/b", "c" → ".". */
void sp_path_dirname(const char *path, char *out, size_t cap);

#endif
