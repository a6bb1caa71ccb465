/*
 * state.h — the pipeline's small durable memory: an embedded SQLite database at
 * <data_dir>/.state/stockpipe.db (WAL mode, synchronous=FULL) holding
 *   - watermarks per (source, key): the newest thing already stored, e.g. the last
 *     quote_time per ticker, the last bar_time per "AAPL/1h", a news watermark
 *     (int64 values: timestamps in microseconds, or any ordered number);
 *   - dedup keys per source (article ids already stored), with the time they were seen;
 *     the same table holds floors that only move down (sp_state_batch_lower_watermark),
 *     e.g. a series' first stored time "<series>@first" (core/backfill.h);
 *   - small blobs per (source, key) (indicator state carried across polls, backfill
 *     cursors);
 *   - the ids of decided fan-out put transactions (see channel.h).
 *
 * Advancing a watermark in the commit that publishes its rows
 * ------------------------------------------------------------
 * A source stages its changes in an sp_state_batch while it puts rows, then commits
 * the put transaction with sp_state_decide as the decide callback:
 *
 *     sp_state_batch *b = sp_state_batch_new();
 *     ... sp_put_txn_put(t, row) ...; sp_state_batch_advance_watermark(b, "financial_source", "AAPL", qt);
 *     sp_state_decision d = {state, b};
 *     rc = sp_put_txn_commit(t, sp_state_decide, &d, err);
 *
 * The channels first prepare (a file channel writes and fdatasyncs the events and a
 * PREPARE record naming the transaction id); then ONE SQLite transaction writes the
 * watermarks, seen keys, blobs and the transaction id (the commit point); then the
 * channels commit.  After a crash:
 *   - before the SQLite commit: the watermark did not move and a file channel finds
 *     a prepared transaction the state store does not know (sp_state_txn_committed
 *     says false) and drops it: the source fetches the same rows again — no loss,
 *     no duplicate;
 *   - after it: the watermark moved and the channel keeps the events (the resolver
 *     says true): they are delivered once.
 * Guarantee: with durable (file) channels, a watermark advances if and only if its
 * rows are in every bound channel.  A memory channel loses its buffered events when
 * the process dies while their watermark stays advanced (Flume's MemoryChannel
 * semantics): bind sources that must not lose rows across crashes to file channels.
 *
 * Thread-safety: every function may be called from any thread (one connection in
 * SQLite's serialized mode).  Errors: SP_ERR_IO (SQLite or file system, with
 * SQLite's message), SP_ERR_CORRUPT (the database file is damaged), SP_ERR_NOMEM.
 */
#ifndef STOCKPIPE_CORE_STATE_H
#define STOCKPIPE_CORE_STATE_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_state sp_state;
typedef struct sp_state_batch sp_state_batch;

/* Open (creating when missing) <data_dir>/.state/stockpipe.db.  Returns 0 and *out. */
int sp_state_open(const char *data_dir, sp_state **out, sp_error *err);
/* Close (NULL is ignored). */
void sp_state_close(sp_state *st);

/* The watermark of (source, key): *found false (and *value untouched) when none. */
int sp_state_get_watermark(sp_state *st, const char *source, const char *key, int64_t *value, bool *found,
                           sp_error *err);
/* Add 1 to the counter kept as watermark (source, key) (created at 0) unless it has
 * reached `limit` already (limit <= 0: no cap).  One SQLite statement, durable when
 * it returns (no batch): *added says whether it counted, *value (may be NULL) gets
 * the count after the call.  Daily request quotas use it (core/quota.h). */
int sp_state_count_up(sp_state *st, const char *source, const char *key, int64_t limit, int64_t *value,
                      bool *added, sp_error *err);
/* Whether `key` was recorded as seen by `source`. */
int sp_state_seen(sp_state *st, const char *source, const char *key, bool *seen, sp_error *err);
/* The blob of (source, key) replaces out's content; *found false when none. */
int sp_state_get_blob(sp_state *st, const char *source, const char *key, sp_buf *out, bool *found,
                      sp_error *err);
/* Whether the fan-out put transaction `txid` reached its commit point (the resolver
 * of durable channels). */
int sp_state_txn_committed(sp_state *st, uint64_t txid, bool *committed, sp_error *err);
/* Forget seen keys of `source` recorded before `before_us` and decided transaction
 * ids older than `before_us` (keep them longer than a channel can hold a prepared
 * transaction: days).  *removed (may be NULL) gets the number of rows deleted. */
int sp_state_prune(sp_state *st, const char *source, int64_t before_us, uint64_t *removed, sp_error *err);

/* --- staged changes, applied atomically --- */
/* A new empty batch, or NULL when out of memory.  Free with sp_state_batch_free. */
sp_state_batch *sp_state_batch_new(void);
void sp_state_batch_free(sp_state_batch *b);
/* Stage "watermark(source,key) = max(current, value)".  Strings are copied.  A
 * watermark of the same key staged among the batch's last few changes is merged into
 * that change (the larger value; the smaller for a floor), so rows of one series put
 * together cost one upsert per commit.  Each returns 0 or SP_ERR_NOMEM. */
int sp_state_batch_advance_watermark(sp_state_batch *b, const char *source, const char *key, int64_t value);
/* Stage "watermark(source,key) = min(current, value)": a floor (the oldest thing stored,
 * e.g. a series' first bar time, read back with sp_state_get_watermark). */
int sp_state_batch_lower_watermark(sp_state_batch *b, const char *source, const char *key, int64_t value);
int sp_state_batch_add_seen(sp_state_batch *b, const char *source, const char *key);
int sp_state_batch_put_blob(sp_state_batch *b, const char *source, const char *key, const void *data, size_t len);
/* Number of staged changes. */
size_t sp_state_batch_count(const sp_state_batch *b);
/* Apply the batch in one SQLite transaction, also recording `txid` as committed
 * when it is not 0.  All or nothing; the batch is left as it was (free it after). */
int sp_state_batch_commit(sp_state *st, const sp_state_batch *b, uint64_t txid, sp_error *err);

/* The decide callback for sp_put_txn_commit (channel.h): ctx is an sp_state_decision. */
typedef struct sp_state_decision {
  sp_state *state;
  const sp_state_batch *batch; /* may be NULL: only the transaction id is recorded */
} sp_state_decision;
int sp_state_decide(void *ctx, uint64_t txid, sp_error *err);

/* The resolver durable channels call at replay (ctx is the sp_state). */
int sp_state_resolve_txn(void *ctx, uint64_t txid, bool *committed, sp_error *err);

#endif
