/*
 * channel_file.h — Flume's FileChannel: events survive a crash of the process or
 * the machine.  Implements the channel vtable of channel.h.
 *
 * On disk (all under directories the configuration names, relative paths resolved
 * by the caller):
 *   data_dir/log-NNNNNNNNNN.wal   write-ahead log segments of records
 *       [u32 crc32c][u32 length][u8 type][u8 mode][u16 0][u32 0][u64 txid][u64 seq][payload]
 *       (CRC-32C over everything after the crc field), types PUT, PREPARE, COMMIT,
 *       ABORT and TAKE (payload: ranges of sequence numbers taken); the segment
 *       being appended to is kept zero-filled up to 1 MiB ahead of its records (so
 *       its fdatasync writes no size or allocation change), its zero tail is cut
 *       when it is finished or replayed, and replay reads a zero tail as its end;
 *   checkpoint_dir/checkpoint-0, checkpoint-1   two alternating snapshots of the
 *       queue (pointers into the log), prepared transactions, the next sequence
 *       number and the log position they cover, each with a generation number and a
 *       CRC-32C.  Restart loads the newest valid one (falling back to the other when
 *       it is corrupt) and replays only the log after its position.
 *
 * Durability: a put transaction's records are written and fdatasync'ed at prepare
 * (group commit: concurrent committers share one fdatasync).  A transaction that is
 * alone and undecided commits with its PREPARE record; one with a decide callback
 * (channel.h) is resolved at restart by asking `resolver`; one spanning several
 * channels without a decision writes and syncs a COMMIT record.  Takes commit with
 * an unsynced TAKE record: a crash can re-deliver events a sink already published,
 * which the sinks' idempotent commits absorb (sink.h).  A deferred take commit
 * (channel.h) writes no record: the events leave the queue's visible part but stay
 * in every checkpoint until sp_channel_take_flush writes one TAKE record for all of
 * them, so a crash before the flush re-delivers them.
 * Syncs per committed put batch: one fdatasync (its PUT and PREPARE records in one
 * write), shared by concurrent committers; a decided transaction's COMMIT record
 * is not synced (the state store's commit is the durable decision).
 *
 * Corruption: a record failing its CRC in the middle of the log is copied to
 * quarantine_dir/corrupt-<segment>-<offset>.bin, counted (ChannelQuarantinedCount
 * and the stats below), and skipped; a torn record at the very end of the log (an
 * unfinished write at the crash) is cut off.  A corrupt event found at take time is
 * quarantined the same way.  Replay time is logged at INFO when the channel opens.
 *
 * Puts are refused with SP_ERR_FULL while the free space of data_dir's file system
 * is below min_free_bytes.  A failed write or fdatasync puts the channel in a failed
 * state (every later put and take commit returns SP_ERR_IO) until it is reopened:
 * after such an error the kernel may have dropped the unsynced pages.
 */
#ifndef STOCKPIPE_CORE_CHANNEL_FILE_H
#define STOCKPIPE_CORE_CHANNEL_FILE_H

#include "core/channel.h"

/* Whether transaction `txid` reached its commit point (see state.h,
 * sp_state_resolve_txn).  Returns 0 or an error (replay then fails). */
typedef int (*sp_txn_resolver_fn)(void *ctx, uint64_t txid, bool *committed, sp_error *err);

typedef struct sp_channel_file_config {
  sp_channel_config channel;      /* name, capacity, transactionCapacity, budget */
  const char *checkpoint_dir;     /* created when missing */
  const char *data_dir;           /* created when missing */
  const char *quarantine_dir;     /* NULL = <data_dir>/quarantine */
  size_t max_segment_bytes;       /* 0 = 64 MiB */
  uint64_t min_free_bytes;        /* 0 = 256 MiB (Flume: minimumRequiredSpace) */
  int64_t checkpoint_interval_us; /* 0 = 30 s */
  sp_txn_resolver_fn resolver;    /* NULL: undecided prepared transactions are dropped */
  void *resolver_ctx;
} sp_channel_file_config;

/* Open (creating or recovering) a file channel.  Replays the log, then writes a
 * fresh checkpoint.  Returns 0 and *out, or SP_ERR_CONFIG / IO / CORRUPT / NOMEM. */
int sp_channel_file_open(const sp_channel_file_config *cfg, sp_channel **out, sp_error *err);

/* Write a checkpoint now (also done every checkpoint_interval_us by commits and at
 * close) and delete log segments no checkpoint needs.  Returns 0 or SP_ERR_IO. */
int sp_channel_file_checkpoint(sp_channel *ch, sp_error *err);

typedef struct sp_channel_file_stats {
  int64_t replay_us;              /* time spent opening (load + replay + checkpoint) */
  uint64_t replayed_records;      /* log records read after the checkpoint */
  uint64_t recovered_events;      /* events buffered after the replay */
  uint64_t corrupt_records;       /* quarantined since open */
  uint64_t checkpoint_generation; /* of the last checkpoint written or loaded */
  bool checkpoint_fallback;       /* the newest checkpoint was corrupt; the other was used */
  bool checkpoint_missing;        /* no valid checkpoint: the whole log was replayed */
  uint32_t segments;              /* log segments on disk */
} sp_channel_file_stats;

/* Statistics of a file channel (zeroes for another channel type). */
void sp_channel_file_stats_get(sp_channel *ch, sp_channel_file_stats *out);

#endif
