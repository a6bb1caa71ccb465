/*
 * channel.h — Flume channels: the buffer between sources and sinks, with
 * transactions.  Memory, file and (later) Kafka channels implement the small vtable
 * below, so sources, sink runners and the agent wiring never know which kind they
 * hold.
 *
 * Events are opaque byte blobs (sources put sp_row event encodings, core/row.h).
 * Every committed event gets a per-channel sequence number: strictly increasing in
 * commit order, never reused by the same channel (a memory channel starts its
 * numbering at the wall-clock microsecond it was created, a file channel persists
 * its counter), so a sink can name its output after the sequence range it holds.
 *
 * Put side — the fan-out transaction (one source put is ONE transaction even when
 * the source is bound to several channels):
 *
 *     sp_put_txn *t;
 *     sp_put_txn_begin(channels, nchannels, &t, err);
 *     sp_put_txn_put(t, bytes, len, timeout_us, err);   // any number, <= transactionCapacity
 *     rc = sp_put_txn_commit(t, decide, ctx, err);      // all channels or none
 *     sp_put_txn_close(t);                              // always (rolls back if not committed)
 *
 * A put blocks while a channel is full (capacity reached, or the shared memory
 * budget spent), up to its time-out: that is how backpressure reaches a source.
 * Commit is two-phase: every channel first *prepares* (does all work that can fail:
 * reserving room, writing and syncing its log), then the optional `decide` callback
 * runs (e.g. the state store recording the source's new watermark together with the
 * transaction id — the commit point), then every channel *commits* (cannot fail: the
 * events become visible to takers).  Any failure before the commit point rolls every
 * channel back, so no channel ever sees a transaction the others did not.
 * A durable channel that restarts with a prepared but undecided transaction asks
 * its resolver (see channel_file.h) whether `decide` recorded it.
 *
 * Take side — one channel, one sink runner:
 *
 *     void *txn; sp_event ev;
 *     sp_channel_take_begin(ch, &txn, err);
 *     while (sp_channel_take(ch, txn, &ev, deadline_us, err) == SP_OK) ...;
 *     sp_channel_take_commit(ch, txn, sink_counters, nquarantined, err);  // or take_rollback
 *
 * Taken events stay owned by the channel (and count in ChannelSize) until the take
 * commits; a rollback puts them back at the head, in order, with the same sequence
 * numbers.  An event's bytes stay valid until its take transaction ends.
 *
 * Thread-safety: every function may be called from any thread; one transaction
 * object is used by one thread at a time.  A channel supports any number of
 * concurrent put transactions and one take transaction at a time (Flume: a channel
 * is drained by exactly one sink).
 *
 * Errors: SP_ERR_FULL (channel or budget full until the time-out, or more than
 * transactionCapacity events in one transaction), SP_ERR_TIMEOUT (take found
 * nothing before its deadline), SP_ERR_STOPPED (channel closed), SP_ERR_RETRY (take
 * only: the events taken so far were withdrawn — a Kafka channel's partition moved
 * to another consumer — so the transaction must be rolled back, nothing of it
 * delivered, and a new one begun at once), SP_ERR_IO, SP_ERR_NOMEM, SP_ERR_INVALID.
 */
#ifndef STOCKPIPE_CORE_CHANNEL_H
#define STOCKPIPE_CORE_CHANNEL_H

#include "core/membudget.h"
#include "core/metrics.h"
#include "stockpipe/error.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_channel sp_channel;

/* One event as a take returns it.  `data` is owned by the channel. */
typedef struct sp_event {
  uint64_t seq;
  const uint8_t *data;
  size_t len;
} sp_event;

/* What a channel must record when it prepares a put transaction. */
typedef struct sp_put_prepare_info {
  uint64_t txid;         /* unique id of the fan-out transaction */
  bool decided_outside;  /* true when a decide callback is the commit point */
  size_t participants;   /* channels in the transaction */
} sp_put_prepare_info;

typedef struct sp_channel_ops {
  const char *type; /* "memory", "file", ... */
  int (*put_begin)(sp_channel *ch, void **txn, sp_error *err);
  int (*put)(sp_channel *ch, void *txn, const uint8_t *data, size_t len, int64_t deadline_us, sp_error *err);
  int (*put_prepare)(sp_channel *ch, void *txn, const sp_put_prepare_info *info, sp_error *err);
  void (*put_commit)(sp_channel *ch, void *txn);   /* after a successful prepare; frees txn */
  void (*put_rollback)(sp_channel *ch, void *txn); /* before commit, prepared or not; frees txn */
  int (*take_begin)(sp_channel *ch, void **txn, sp_error *err);
  int (*take)(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err);
  /* On success frees txn.  On failure the transaction is still open (roll it back). */
  int (*take_commit)(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined, sp_error *err);
  void (*take_rollback)(sp_channel *ch, void *txn); /* frees txn */
  void (*close)(sp_channel *ch);   /* wake waiters with SP_ERR_STOPPED; refuse new puts */
  void (*destroy)(sp_channel *ch); /* after close and once no transaction is open */
  /* Optional (NULL when the channel records every take commit at once): like
   * take_commit, but the take is recorded in the channel's log only by the next
   * take_flush; until then a restart re-delivers the events. */
  int (*take_commit_deferred)(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                              sp_error *err);
  int (*take_flush)(sp_channel *ch, sp_error *err);
} sp_channel_ops;

/* The part every channel shares; implementations embed it as their first member. */
struct sp_channel {
  const sp_channel_ops *ops;
  char *name;                   /* owned */
  size_t capacity;              /* events */
  size_t transaction_capacity;  /* events per transaction */
  sp_membudget *budget;         /* shared, not owned; may be NULL */
  sp_channel_counters counters; /* registered under `name` */
};

/* Settings common to every channel type. */
typedef struct sp_channel_config {
  const char *name;             /* copied */
  size_t capacity;              /* 0 = 100 (Flume's default) */
  size_t transaction_capacity;  /* 0 = 100; must be <= capacity */
  sp_membudget *budget;         /* memory channels count their events in it; NULL = unlimited */
} sp_channel_config;

/* For implementations: the lock, conditions and slot accounting every channel
 * needs, with the blocking wait for room shared by all of them. */
typedef struct sp_channel_sync {
  pthread_mutex_t mutex;
  pthread_cond_t room;  /* signalled when slots are freed (CLOCK_MONOTONIC) */
  pthread_cond_t items; /* signalled when events are committed or put back */
  size_t slots_used;    /* committed + taken-uncommitted + reserved by open puts */
  size_t bytes;         /* budget bytes this channel holds */
  bool closed;
} sp_channel_sync;

void sp_channel_sync_init(sp_channel_sync *sync);
void sp_channel_sync_destroy(sp_channel_sync *sync);
/* With sync->mutex held: reserve one slot of ch->capacity and `charge` bytes of
 * ch->budget (within the channels' share, membudget.h), waiting until
 * `deadline_us` (monotonic).  Returns 0, SP_ERR_FULL or SP_ERR_STOPPED (message
 * names the channel). */
int sp_channel_sync_reserve(sp_channel *ch, sp_channel_sync *sync, size_t charge, int64_t deadline_us,
                            sp_error *err);
/* With sync->mutex held: give back `n` slots and `bytes` of budget, waking putters. */
void sp_channel_sync_release(sp_channel *ch, sp_channel_sync *sync, size_t n, size_t bytes);
/* With sync->mutex held: wait for `items` until `deadline_us`. */
void sp_channel_sync_wait_items(sp_channel_sync *sync, int64_t deadline_us);
/* Mark closed and wake every waiter (takes the mutex). */
void sp_channel_sync_close(sp_channel_sync *sync);

/* Fill the shared part from `cfg` (validating it) and register the counters.
 * For channel implementations.  Returns 0, SP_ERR_CONFIG or SP_ERR_NOMEM. */
int sp_channel_base_init(sp_channel *ch, const sp_channel_ops *ops, const sp_channel_config *cfg,
                         sp_error *err);
/* Undo sp_channel_base_init. */
void sp_channel_base_cleanup(sp_channel *ch);

/* A memory channel (Flume MemoryChannel): events live in RAM only, lost if the
 * process dies.  Each event is counted against cfg->budget (its length plus a small
 * header) from its put until its take commits.  Returns 0 and *out, or an error. */
int sp_channel_memory_open(const sp_channel_config *cfg, sp_channel **out, sp_error *err);

/* Close then destroy (NULL is ignored). */
void sp_channel_free(sp_channel *ch);
/* Stop the channel: blocked puts and takes return SP_ERR_STOPPED; takes still drain
 * what is buffered (only an empty closed channel returns SP_ERR_STOPPED to take). */
void sp_channel_close(sp_channel *ch);

/* Take side (one sink runner). */
int sp_channel_take_begin(sp_channel *ch, void **txn, sp_error *err);
int sp_channel_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err);
int sp_channel_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                           sp_error *err);
void sp_channel_take_rollback(sp_channel *ch, void *txn);

/* Deferred take commits (one durability step for several sink batches).  A sink
 * whose commit leaves its last durability step for later (the file sink's folder
 * sync, sink.h) must not let the channel record the take before that step: a crash
 * in between would lose the batch.  So the sink runner commits such batches with
 * sp_channel_take_commit_deferred — the events leave the channel (ChannelSize, room
 * for puts) but the channel's log does not yet say they were taken, and a
 * checkpoint still lists them — and, once the sink made them durable, calls
 * sp_channel_take_flush, which records every deferred take (as unsynced as an
 * ordinary take commit).  A crash before the flush re-delivers the deferred events
 * and the sink's idempotent commit publishes nothing twice.
 * True when `ch` defers (file channels); for other channels the deferred commit is
 * an ordinary take commit and the flush does nothing. */
bool sp_channel_defers_takes(const sp_channel *ch);
/* As sp_channel_take_commit (same errors; frees txn on success). */
int sp_channel_take_commit_deferred(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                                    sp_error *err);
/* Record every deferred take of `ch`.  Returns 0 or SP_ERR_IO / SP_ERR_NOMEM (the
 * takes stay deferred: call again). */
int sp_channel_take_flush(sp_channel *ch, sp_error *err);

/* Counters snapshot of this channel (consistent with every other snapshot). */
void sp_channel_counters_snapshot(const sp_channel *ch, sp_channel_counters *out);

/* --- the fan-out put transaction --- */
typedef struct sp_put_txn sp_put_txn;

/* Called at the commit point with the transaction id after every channel prepared.
 * Return 0 to commit; any error rolls every channel back and is returned by
 * sp_put_txn_commit.  The callback must make its decision durable before returning
 * 0 when it is used with durable channels (see channel.h top comment). */
typedef int (*sp_put_decide_fn)(void *ctx, uint64_t txid, sp_error *err);

/* Begin one transaction over `n` channels (the array is copied; the channels must
 * outlive the transaction).  Returns 0 and *out, or SP_ERR_INVALID / NOMEM / STOPPED. */
int sp_put_txn_begin(sp_channel *const *channels, size_t n, sp_put_txn **out, sp_error *err);
/* Put one event (copied) into every channel, blocking up to `timeout_us` (0 = do
 * not wait) for room.  On error the transaction can only be rolled back/closed. */
int sp_put_txn_put(sp_put_txn *t, const uint8_t *data, size_t len, int64_t timeout_us, sp_error *err);
/* Prepare every channel, call `decide` (may be NULL), commit every channel.
 * Returns 0 when committed everywhere; otherwise every channel was rolled back. */
int sp_put_txn_commit(sp_put_txn *t, sp_put_decide_fn decide, void *ctx, sp_error *err);
/* Roll every channel back (no-op after commit or a failed commit). */
void sp_put_txn_rollback(sp_put_txn *t);
/* Release the transaction, rolling back first when still open.  NULL is ignored. */
void sp_put_txn_close(sp_put_txn *t);
/* The transaction's id (unique in this process and across restarts). */
uint64_t sp_put_txn_id(const sp_put_txn *t);
/* Events put so far in this transaction. */
size_t sp_put_txn_count(const sp_put_txn *t);

#endif
