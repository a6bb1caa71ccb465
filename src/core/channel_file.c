/*
 * channel_file.c — the durable channel (see channel_file.h): a write-ahead log of
 * CRC32C-checked records, an in-memory queue of pointers into it, and two
 * alternating checkpoints of that queue.
 *
 * Locking: `sync.mutex` guards the queue, the prepared-transaction list, the log
 * tail (appends are written under it, in one write() per operation) and the reader
 * cache.  fdatasync runs outside it, under `sync_mutex`, on a dup of the log
 * descriptor, so appends continue while a sync is in flight and one sync covers
 * every record written before it started (group commit).  Lock order: sync_mutex,
 * then sync.mutex.  The taker reads events outside the lock through its read
 * window (one pread per 128 KiB of log; only bytes written before the read).
 *
 * Queue layout: queue.v[head ..) in sequence order; the first `retired` entries
 * were taken by deferred take commits whose TAKE record waits for a flush (still
 * listed by checkpoints), the next `inflight` ones are held by the open take.
 */
#include "core/channel_file.h"

#include "core/array.h"
#include "core/crc32c.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "format/format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define RECORD_HEADER 32
#define CHECKPOINT_MAGIC "SPCKPT01"
#define REF_SIZE 24 /* seq u64, off u64, seg u32, len u32 */
#define READ_WINDOW (128 * 1024) /* the taker reads the log in pieces this large */
/* The log segment being appended to is zero-filled this far ahead of its records,
 * so that an fdatasync after an append inside the filled part has no file size or
 * block allocation to write: one data write instead of data plus inode. */
#define PREFILL_CHUNK (1024 * 1024)
#define ZEROS_SIZE (64 * 1024)

enum record_type { REC_PUT = 1, REC_PREPARE, REC_COMMIT, REC_ABORT, REC_TAKE };
/* How a prepared transaction commits (the PREPARE record's mode byte). */
enum commit_mode {
  MODE_SELF = 1,        /* alone and undecided: PREPARE is the commit */
  MODE_DECIDED = 2,     /* a decide callback is the commit point: ask the resolver */
  MODE_COMMIT_RECORD = 3 /* several channels, no decision: a COMMIT record commits */
};

typedef struct ev_ref {
  uint64_t seq;
  uint64_t off; /* record start in its segment */
  uint32_t seg;
  uint32_t len; /* payload length; UINT32_MAX marks a removed entry during replay */
} ev_ref;

#define REMOVED UINT32_MAX

typedef struct ref_vec {
  ev_ref *v;
  size_t head, n, cap; /* live entries are v[head..n) */
} ref_vec;

/* A put transaction; once prepared it is linked in the channel's prepared list. */
typedef struct fput_txn {
  struct fput_txn *next, *prev;
  uint64_t txid;
  uint8_t mode;
  bool prepared;
  sp_buf data;   /* the events, back to back */
  size_t *lens;
  size_t n, cap;
  size_t charge; /* budget bytes held until prepare */
  ev_ref *refs;  /* after prepare */
} fput_txn;

typedef struct ftake_txn {
  size_t n;
  uint8_t **bufs; /* event bytes read from the log */
  size_t cap;
} ftake_txn;

typedef struct reader {
  uint32_t seg;
  int fd;
} reader;

typedef struct file_channel {
  sp_channel base;
  sp_channel_sync sync;
  char *ckpt_dir, *data_dir, *quarantine_dir;
  size_t max_segment_bytes;
  uint64_t min_free_bytes;
  int64_t checkpoint_interval_us;
  sp_txn_resolver_fn resolver;
  void *resolver_ctx;

  /* log tail */
  int log_fd;
  uint32_t log_seg;
  uint64_t log_off;
  uint64_t log_filled;        /* size of the tail segment: records, then zeros */
  uint64_t lsn_written;       /* bytes appended since open */
  uint64_t lsn_rolled_synced; /* everything before this was synced by a segment roll */
  sp_buf wbuf;
  pthread_mutex_t sync_mutex;
  uint64_t lsn_synced;
  bool failed;
  char failed_msg[SP_ERROR_MSG_MAX];

  /* queue */
  ref_vec queue;
  size_t retired;  /* taken and committed, TAKE record deferred: queue.v[head .. head+retired) */
  size_t inflight; /* taken, not committed: the next `inflight` entries */
  bool take_open;
  fput_txn prepared; /* list head (sentinel) */
  uint64_t next_seq;

  /* the taker's read window: log bytes [win_off, win_off + win_len) of segment
   * win_seg, all written before they were read (used by the one take transaction
   * only, outside the mutex) */
  uint8_t *win;
  uint32_t win_seg;
  uint64_t win_off;
  size_t win_len;

  /* segments and checkpoints */
  reader *readers;
  size_t nreaders, readers_cap;
  uint64_t ckpt_generation;
  int64_t last_checkpoint_us;
  bool checkpoint_running;
  uint32_t prev_needed_seg; /* oldest segment the previous checkpoint needs */

  sp_channel_file_stats stats;
} file_channel;

static const sp_channel_ops file_ops;

/* ---------- little-endian helpers ---------- */

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

/* ---------- the queue ---------- */

static int vec_reserve(ref_vec *q, size_t extra) {
  if (q->n + extra <= q->cap) return SP_OK;
  if (q->head > 0 && q->head >= q->n / 2) { /* reclaim the consumed front first */
    memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
    q->n -= q->head;
    q->head = 0;
    if (q->n + extra <= q->cap) return SP_OK;
  }
  size_t cap = q->cap ? q->cap : 256;
  while (cap < q->n + extra) cap *= 2;
  ev_ref *grown = realloc(q->v, cap * sizeof *grown);
  if (!grown) return SP_ERR_NOMEM;
  q->v = grown;
  q->cap = cap;
  return SP_OK;
}

/* Insert keeping seq order, never inside the first `frozen` live entries (taken ones). */
static int vec_insert(ref_vec *q, const ev_ref *r, size_t frozen) {
  if (vec_reserve(q, 1)) return SP_ERR_NOMEM;
  size_t pos = q->n;
  while (pos > q->head + frozen && q->v[pos - 1].seq > r->seq) pos--;
  memmove(q->v + pos + 1, q->v + pos, (q->n - pos) * sizeof *q->v);
  q->v[pos] = *r;
  q->n++;
  return SP_OK;
}

static size_t vec_size(const ref_vec *q) { return q->n - q->head; }

/* Replay: mark the entries with seq in [first, last] removed.  Returns how many. */
static size_t vec_remove_range(ref_vec *q, uint64_t first, uint64_t last) {
  size_t removed = 0;
  while (q->head < q->n && q->v[q->head].seq >= first && q->v[q->head].seq <= last) {
    q->head++;
    removed++;
  }
  /* binary search for the first seq >= first among the rest (sorted during replay) */
  size_t lo = q->head, hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (q->v[mid].seq < first) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = lo; i < q->n && q->v[i].seq <= last; i++)
    if (q->v[i].len != REMOVED) {
      q->v[i].len = REMOVED;
      removed++;
    }
  return removed;
}

static void vec_compact(ref_vec *q) {
  size_t out = 0;
  for (size_t i = q->head; i < q->n; i++)
    if (q->v[i].len != REMOVED) q->v[out++] = q->v[i];
  q->head = 0;
  q->n = out;
}

/* ---------- failure state ---------- */

static int fail_channel(file_channel *fc, sp_error *err, const char *what, int e) {
  fc->failed = true;
  snprintf(fc->failed_msg, sizeof fc->failed_msg, "channel %s: %s: %s", fc->base.name, what, strerror(e));
  SP_ERROR(fc->base.name, "%s (channel refuses work until reopened)", fc->failed_msg);
  return sp_error_set(err, e == ENOSPC ? SP_ERR_FULL : SP_ERR_IO, "%s", fc->failed_msg);
}

static int check_failed(file_channel *fc, sp_error *err) {
  return fc->failed ? sp_error_set(err, SP_ERR_IO, "%s", fc->failed_msg) : SP_OK;
}

/* ---------- segments ---------- */

static void segment_path(const file_channel *fc, uint32_t seg, char *out, size_t cap) {
  snprintf(out, cap, "%s/log-%010" PRIu32 ".wal", fc->data_dir, seg);
}

/* Start a new segment (mutex held). */
static int open_segment(file_channel *fc, uint32_t seg, sp_error *err) {
  char path[PATH_MAX];
  segment_path(fc, seg, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sp_error_set(err, SP_ERR_IO, "channel %s: creating %s: %s", fc->base.name, path, strerror(errno));
  if (fc->log_fd >= 0) {
    /* a finished segment ends with its last record (its zero-filled tail is cut) */
    if ((fc->log_filled > fc->log_off && ftruncate(fc->log_fd, (off_t)fc->log_off) != 0) ||
        fdatasync(fc->log_fd) != 0) {
      close(fd);
      return fail_channel(fc, err, "finishing a log segment", errno);
    }
    close(fc->log_fd);
    fc->lsn_rolled_synced = fc->lsn_written;
  }
  fc->log_fd = fd;
  fc->log_seg = seg;
  fc->log_off = 0;
  fc->log_filled = 0;
  fc->stats.segments++;
  return sp_fsync_dir(fc->data_dir, err);
}

/* Read descriptor of segment `seg` (mutex held).  -1 with err set on failure. */
static int reader_fd(file_channel *fc, uint32_t seg, sp_error *err) {
  for (size_t i = 0; i < fc->nreaders; i++)
    if (fc->readers[i].seg == seg) return fc->readers[i].fd;
  char path[PATH_MAX];
  segment_path(fc, seg, path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    sp_error_set(err, SP_ERR_IO, "channel %s: opening %s: %s", fc->base.name, path, strerror(errno));
    return -1;
  }
  if (SP_ARRAY_RESERVE(fc->readers, fc->readers_cap, fc->nreaders + 1, 8)) {
    close(fd);
    sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    return -1;
  }
  fc->readers[fc->nreaders++] = (reader){seg, fd};
  return fd;
}

/* ---------- appending records ---------- */

/* Append one record to wbuf (mutex held); when it would overflow the segment, the
 * pending bytes are written and a new segment started first.  The record's
 * position goes to seg and off (each may be NULL). */
static int log_flush(file_channel *fc, sp_error *err);

static int log_add(file_channel *fc, uint8_t type, uint8_t mode, uint64_t txid, uint64_t seq, const void *payload,
                   size_t len, uint32_t *seg, uint64_t *off, sp_error *err) {
  if (len > UINT32_MAX - RECORD_HEADER) return sp_error_set(err, SP_ERR_INVALID, "event too large");
  if (fc->log_off + fc->wbuf.len > 0 && fc->log_off + fc->wbuf.len + RECORD_HEADER + len > fc->max_segment_bytes) {
    int rc = log_flush(fc, err);
    if (!rc) rc = open_segment(fc, fc->log_seg + 1, err);
    if (rc) return rc;
  }
  uint8_t h[RECORD_HEADER] = {0};
  put_u32(h + 4, (uint32_t)len);
  h[8] = type;
  h[9] = mode;
  put_u64(h + 16, txid);
  put_u64(h + 24, seq);
  uint32_t crc = sp_crc32c(0, h + 4, RECORD_HEADER - 4);
  crc = sp_crc32c(crc, payload, len);
  put_u32(h, crc);
  if (seg) *seg = fc->log_seg;
  if (off) *off = fc->log_off + fc->wbuf.len;
  if (sp_buf_append(&fc->wbuf, h, RECORD_HEADER) || sp_buf_append(&fc->wbuf, payload, len))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return SP_OK;
}

/* Keep the tail segment zero-filled up to the next PREFILL_CHUNK boundary past its
 * records (never past max_segment_bytes).  Best effort (mutex held): a failed
 * write leaves the segment shorter, which only costs the next syncs their speed. */
static void prefill_segment(file_channel *fc) {
  static const uint8_t zeros[ZEROS_SIZE];
  if (fc->log_filled - fc->log_off >= PREFILL_CHUNK / 2) return;
  uint64_t target = (fc->log_off + PREFILL_CHUNK) / ZEROS_SIZE * ZEROS_SIZE;
  if (target > fc->max_segment_bytes) target = fc->max_segment_bytes;
  while (fc->log_filled < target) {
    size_t n = target - fc->log_filled < ZEROS_SIZE ? (size_t)(target - fc->log_filled) : ZEROS_SIZE;
    ssize_t w = pwrite(fc->log_fd, zeros, n, (off_t)fc->log_filled);
    if (w <= 0) return;
    fc->log_filled += (uint64_t)w;
  }
}

static int log_flush(file_channel *fc, sp_error *err) {
  if (fc->wbuf.len == 0) return SP_OK;
  const uint8_t *p = fc->wbuf.data;
  size_t left = fc->wbuf.len;
  while (left > 0) {
    ssize_t n = pwrite(fc->log_fd, p, left, (off_t)(fc->log_off + (fc->wbuf.len - left)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      if (ftruncate(fc->log_fd, (off_t)fc->log_off) == 0) /* keep the tail clean when possible */
        fc->log_filled = fc->log_off;
      sp_buf_reset(&fc->wbuf);
      return e == ENOSPC ? sp_error_set(err, SP_ERR_FULL, "channel %s: disk full writing its log", fc->base.name)
                         : fail_channel(fc, err, "writing the log", e);
    }
    p += n;
    left -= (size_t)n;
  }
  fc->log_off += fc->wbuf.len;
  fc->lsn_written += fc->wbuf.len;
  sp_buf_reset(&fc->wbuf);
  if (fc->log_off > fc->log_filled) fc->log_filled = fc->log_off;
  prefill_segment(fc);
  return SP_OK;
}

/* Make every record up to logical position `upto` durable (group commit). */
static int log_sync(file_channel *fc, uint64_t upto, sp_error *err) {
  pthread_mutex_lock(&fc->sync_mutex);
  if (fc->lsn_synced >= upto) {
    pthread_mutex_unlock(&fc->sync_mutex);
    return SP_OK;
  }
  pthread_mutex_lock(&fc->sync.mutex);
  uint64_t target = fc->lsn_written, rolled = fc->lsn_rolled_synced;
  int fd = upto <= rolled ? -1 : dup(fc->log_fd);
  int dup_errno = errno;
  pthread_mutex_unlock(&fc->sync.mutex);
  int rc = SP_OK;
  if (upto <= rolled) {
    fc->lsn_synced = rolled;
  } else if (fd < 0) {
    rc = sp_error_set(err, SP_ERR_IO, "channel %s: dup: %s", fc->base.name, strerror(dup_errno));
  } else {
    if (fdatasync(fd) == 0) {
      fc->lsn_synced = target;
    } else {
      int e = errno;
      pthread_mutex_lock(&fc->sync.mutex);
      rc = fail_channel(fc, err, "syncing the log", e);
      pthread_mutex_unlock(&fc->sync.mutex);
    }
    close(fd);
  }
  pthread_mutex_unlock(&fc->sync_mutex);
  return rc;
}

/* ---------- quarantine of corrupt bytes ---------- */

static void quarantine_bytes(file_channel *fc, uint32_t seg, uint64_t off, const void *data, size_t len,
                             const char *why) {
  char path[PATH_MAX];
  sp_error err = {0};
  snprintf(path, sizeof path, "%s/corrupt-%010" PRIu32 "-%012" PRIu64 ".bin", fc->quarantine_dir, seg, off);
  int rc = sp_mkdirs(fc->quarantine_dir, &err);
  if (!rc) rc = sp_write_file_atomic(path, data, len, &err);
  __atomic_add_fetch(&fc->stats.corrupt_records, 1, __ATOMIC_RELAXED);
  if (rc)
    SP_ERROR(fc->base.name, "corrupt log record (segment %" PRIu32 ", offset %" PRIu64 ", %s) could not be saved: %s",
             seg, off, why, err.msg);
  else
    SP_ERROR(fc->base.name, "corrupt log record (segment %" PRIu32 ", offset %" PRIu64 ", %s) quarantined in %s", seg,
             off, why, path);
}

/* ---------- put side ---------- */

static int file_put_begin(sp_channel *ch, void **txn, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  pthread_mutex_lock(&fc->sync.mutex);
  int rc = fc->sync.closed ? sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name)
                           : check_failed(fc, err);
  pthread_mutex_unlock(&fc->sync.mutex);
  if (rc) return rc;
  fput_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  *txn = t;
  return SP_OK;
}

static int file_put(sp_channel *ch, void *txn, const uint8_t *data, size_t len, int64_t deadline_us,
                    sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  fput_txn *t = txn;
  sp_metrics_record_put_attempt(&ch->counters, 1);
  if (t->n >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "put list of a transaction on channel %s is full (%zu events)", ch->name,
                        ch->transaction_capacity);
  if (SP_ARRAY_RESERVE(t->lens, t->cap, t->n + 1, 16)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&fc->sync.mutex);
  int rc = sp_channel_sync_reserve(ch, &fc->sync, len, deadline_us, err);
  pthread_mutex_unlock(&fc->sync.mutex);
  if (rc) return rc;
  if (sp_buf_append(&t->data, data, len)) {
    pthread_mutex_lock(&fc->sync.mutex);
    sp_channel_sync_release(ch, &fc->sync, 1, len);
    pthread_mutex_unlock(&fc->sync.mutex);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  t->lens[t->n++] = len;
  t->charge += len;
  return SP_OK;
}

static int check_free_space(file_channel *fc, sp_error *err) {
  struct statvfs vfs;
  if (statvfs(fc->data_dir, &vfs) != 0)
    return sp_error_set(err, SP_ERR_IO, "channel %s: statvfs %s: %s", fc->base.name, fc->data_dir, strerror(errno));
  uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
  if (free_bytes < fc->min_free_bytes)
    return sp_error_set(err, SP_ERR_FULL,
                        "channel %s: only %" PRIu64 " bytes free in %s, below min_free_bytes %" PRIu64,
                        fc->base.name, free_bytes, fc->data_dir, fc->min_free_bytes);
  return SP_OK;
}

static int file_put_prepare(sp_channel *ch, void *txn, const sp_put_prepare_info *info, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  fput_txn *t = txn;
  int rc = check_free_space(fc, err);
  if (rc) return rc;
  t->refs = calloc(t->n ? t->n : 1, sizeof *t->refs);
  if (!t->refs) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  t->txid = info->txid;
  t->mode = info->decided_outside ? MODE_DECIDED : info->participants > 1 ? MODE_COMMIT_RECORD : MODE_SELF;
  pthread_mutex_lock(&fc->sync.mutex);
  rc = check_failed(fc, err);
  size_t pos = 0;
  for (size_t i = 0; i < t->n && !rc; i++) {
    ev_ref *r = &t->refs[i];
    r->seq = fc->next_seq + i;
    r->len = (uint32_t)t->lens[i];
    rc = log_add(fc, REC_PUT, 0, t->txid, r->seq, t->data.data + pos, t->lens[i], &r->seg, &r->off, err);
    pos += t->lens[i];
  }
  if (!rc) rc = log_add(fc, REC_PREPARE, t->mode, t->txid, t->n, NULL, 0, NULL, NULL, err);
  if (!rc) rc = log_flush(fc, err);
  uint64_t lsn = fc->lsn_written;
  if (!rc) {
    fc->next_seq += t->n;
    t->prepared = true;
    t->next = fc->prepared.next;
    t->prev = &fc->prepared;
    fc->prepared.next->prev = t;
    fc->prepared.next = t;
  } else {
    sp_buf_reset(&fc->wbuf);
  }
  pthread_mutex_unlock(&fc->sync.mutex);
  if (!rc) rc = log_sync(fc, lsn, err);
  if (rc) return rc; /* the caller rolls back (an ABORT record follows when prepared) */
  /* the events are on disk now: release their memory */
  pthread_mutex_lock(&fc->sync.mutex);
  sp_channel_sync_release(ch, &fc->sync, 0, t->charge);
  pthread_mutex_unlock(&fc->sync.mutex);
  t->charge = 0;
  sp_buf_free(&t->data);
  return SP_OK;
}

static void unlink_prepared(fput_txn *t) {
  t->prev->next = t->next;
  t->next->prev = t->prev;
  t->next = t->prev = NULL;
}

static void free_put_txn(fput_txn *t) {
  sp_buf_free(&t->data);
  free(t->lens);
  free(t->refs);
  free(t);
}

static int maybe_checkpoint(file_channel *fc);

static void file_put_commit(sp_channel *ch, void *txn) {
  file_channel *fc = (file_channel *)ch;
  fput_txn *t = txn;
  sp_error err = {0};
  pthread_mutex_lock(&fc->sync.mutex);
  unlink_prepared(t);
  int rc = SP_OK;
  if (t->mode != MODE_SELF) {
    rc = log_add(fc, REC_COMMIT, t->mode, t->txid, 0, NULL, 0, NULL, NULL, &err);
    if (!rc) rc = log_flush(fc, &err);
  }
  for (size_t i = 0; i < t->n; i++)
    if (vec_insert(&fc->queue, &t->refs[i], fc->retired + fc->inflight)) {
      fail_channel(fc, &err, "queue", ENOMEM);
      break;
    }
  uint64_t lsn = fc->lsn_written;
  sp_metrics_record_put_commit(&ch->counters, t->n);
  pthread_cond_broadcast(&fc->sync.items);
  pthread_mutex_unlock(&fc->sync.mutex);
  /* a COMMIT record that decides the transaction must be durable before returning */
  if (!rc && t->mode == MODE_COMMIT_RECORD) rc = log_sync(fc, lsn, &err);
  if (rc) SP_ERROR(ch->name, "committing a put transaction: %s", err.msg);
  free_put_txn(t);
  maybe_checkpoint(fc);
}

static void file_put_rollback(sp_channel *ch, void *txn) {
  file_channel *fc = (file_channel *)ch;
  fput_txn *t = txn;
  pthread_mutex_lock(&fc->sync.mutex);
  if (t->prepared) {
    unlink_prepared(t);
    sp_error err = {0};
    /* not synced: without it the transaction is still undecided (dropped at replay) */
    if (log_add(fc, REC_ABORT, t->mode, t->txid, 0, NULL, 0, NULL, NULL, &err) || log_flush(fc, &err))
      SP_WARN(ch->name, "writing an ABORT record: %s", err.msg);
  }
  sp_channel_sync_release(ch, &fc->sync, t->n, t->charge);
  pthread_mutex_unlock(&fc->sync.mutex);
  free_put_txn(t);
}

/* ---------- take side ---------- */

static int file_take_begin(sp_channel *ch, void **txn, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  ftake_txn *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&fc->sync.mutex);
  bool busy = fc->take_open;
  fc->take_open = true;
  pthread_mutex_unlock(&fc->sync.mutex);
  if (busy) {
    free(t);
    return sp_error_set(err, SP_ERR_INVALID, "channel %s already has an open take transaction", ch->name);
  }
  *txn = t;
  return SP_OK;
}

/* Does `rec` hold the intact PUT record `r` points at? */
static bool record_matches(const uint8_t *rec, const ev_ref *r) {
  size_t total = RECORD_HEADER + (size_t)r->len;
  return get_u32(rec) == sp_crc32c(0, rec + 4, total - 4) && rec[8] == REC_PUT && get_u64(rec + 24) == r->seq &&
         get_u32(rec + 4) == r->len;
}

/* The record of `r` from the read window, refilled from `fd` when it is not there;
 * bytes at or past `limit` (the log's written end in r's segment) are never used.
 * NULL when the window cannot hold it (read directly then). */
static const uint8_t *window_record(file_channel *fc, int fd, const ev_ref *r, uint64_t limit) {
  size_t total = RECORD_HEADER + (size_t)r->len;
  if (total > READ_WINDOW || limit < r->off || limit - r->off < total) return NULL;
  if (!fc->win || fc->win_seg != r->seg || r->off < fc->win_off || r->off + total > fc->win_off + fc->win_len) {
    if (!fc->win && !(fc->win = malloc(READ_WINDOW))) return NULL;
    ssize_t got = pread(fd, fc->win, READ_WINDOW, (off_t)r->off);
    fc->win_seg = r->seg;
    fc->win_off = r->off;
    fc->win_len = got > 0 ? (size_t)got : 0;
    if (limit - r->off < fc->win_len) fc->win_len = (size_t)(limit - r->off);
    if (total > fc->win_len) return NULL;
  }
  return fc->win + (r->off - fc->win_off);
}

/* Read and check the record of `r`; *buf gets its payload (malloc'd).  Only a
 * direct read decides that a record is corrupt (it is then quarantined). */
static int read_event(file_channel *fc, int fd, const ev_ref *r, uint64_t limit, uint8_t **buf, char *why,
                      size_t whylen) {
  const uint8_t *cached = window_record(fc, fd, r, limit);
  if (cached && record_matches(cached, r)) {
    *buf = malloc(r->len ? r->len : 1);
    if (!*buf) return SP_ERR_NOMEM;
    memcpy(*buf, cached + RECORD_HEADER, r->len);
    return SP_OK;
  }
  size_t total = RECORD_HEADER + (size_t)r->len;
  uint8_t *rec = malloc(total);
  if (!rec) return SP_ERR_NOMEM;
  ssize_t got = pread(fd, rec, total, (off_t)r->off);
  if (got != (ssize_t)total) {
    snprintf(why, whylen, "short read (%zd of %zu bytes)", got, total);
  } else if (get_u32(rec) != sp_crc32c(0, rec + 4, total - 4)) {
    snprintf(why, whylen, "CRC mismatch");
  } else if (!record_matches(rec, r)) {
    snprintf(why, whylen, "record does not match its index entry");
  } else {
    memmove(rec, rec + RECORD_HEADER, r->len);
    *buf = rec;
    return SP_OK;
  }
  quarantine_bytes(fc, r->seg, r->off, rec, got > 0 ? (size_t)got : 0, why);
  free(rec);
  return SP_ERR_CORRUPT;
}

static int file_take(sp_channel *ch, void *txn, sp_event *out, int64_t deadline_us, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  ftake_txn *t = txn;
  if (t->n >= ch->transaction_capacity)
    return sp_error_set(err, SP_ERR_FULL, "take list of a transaction on channel %s is full (%zu events)", ch->name,
                        ch->transaction_capacity);
  if (SP_ARRAY_RESERVE(t->bufs, t->cap, t->n + 1, 64)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_metrics_record_take_attempt(&ch->counters, 1);
  pthread_mutex_lock(&fc->sync.mutex);
  for (;;) {
    while (vec_size(&fc->queue) <= fc->retired + fc->inflight) {
      if (fc->sync.closed) {
        pthread_mutex_unlock(&fc->sync.mutex);
        return sp_error_set(err, SP_ERR_STOPPED, "channel %s is closed", ch->name);
      }
      if (sp_monotonic_us() >= deadline_us) {
        pthread_mutex_unlock(&fc->sync.mutex);
        return sp_error_set(err, SP_ERR_TIMEOUT, "channel %s is empty", ch->name);
      }
      sp_channel_sync_wait_items(&fc->sync, deadline_us);
    }
    size_t idx = fc->queue.head + fc->retired + fc->inflight;
    ev_ref r = fc->queue.v[idx];
    uint64_t limit = r.seg == fc->log_seg ? fc->log_off : UINT64_MAX;
    int fd = reader_fd(fc, r.seg, err);
    if (fd < 0) {
      pthread_mutex_unlock(&fc->sync.mutex);
      return err ? err->code : SP_ERR_IO;
    }
    /* the taken prefix is frozen (only this transaction takes), and the segment of
     * an entry still in the queue is never deleted: read without the lock */
    fc->inflight++;
    pthread_mutex_unlock(&fc->sync.mutex);
    char why[128];
    uint8_t *buf = NULL;
    int rc = read_event(fc, fd, &r, limit, &buf, why, sizeof why);
    if (rc == SP_OK) {
      t->bufs[t->n++] = buf;
      *out = (sp_event){r.seq, buf, r.len};
      return SP_OK;
    }
    pthread_mutex_lock(&fc->sync.mutex);
    fc->inflight--;
    if (rc == SP_ERR_NOMEM) {
      pthread_mutex_unlock(&fc->sync.mutex);
      return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    }
    /* corrupt on disk: drop it from the queue and record the drop in the log */
    memmove(fc->queue.v + idx, fc->queue.v + idx + 1, (fc->queue.n - idx - 1) * sizeof *fc->queue.v);
    fc->queue.n--;
    uint8_t range[16];
    put_u64(range, r.seq);
    put_u64(range + 8, r.seq);
    sp_error ignored = {0};
    if (log_add(fc, REC_TAKE, 0, 0, 1, range, sizeof range, NULL, NULL, &ignored) || log_flush(fc, &ignored))
      SP_WARN(ch->name, "recording a corrupt event: %s", ignored.msg);
    sp_channel_sync_release(ch, &fc->sync, 1, 0);
    sp_metrics_record_channel_quarantine(&ch->counters, 1);
  }
}

static void free_take_txn(ftake_txn *t) {
  for (size_t i = 0; i < t->n; i++) free(t->bufs[i]);
  free(t->bufs);
  free(t);
}

/* Write one TAKE record for the first `n` queue entries and drop them from the
 * queue (mutex held).  The record is not synced: a crash can re-deliver them. */
static int record_takes(file_channel *fc, size_t n, sp_error *err) {
  if (n == 0) return SP_OK;
  /* the entries as runs of consecutive sequence numbers */
  sp_buf ranges = SP_BUF_INIT;
  const ev_ref *v = fc->queue.v + fc->queue.head;
  uint64_t runs = 0;
  int rc = SP_OK;
  for (size_t i = 0; i < n && !rc;) {
    size_t j = i;
    while (j + 1 < n && v[j + 1].seq == v[j].seq + 1) j++;
    if (sp_buf_append_u64le(&ranges, v[i].seq) || sp_buf_append_u64le(&ranges, v[j].seq))
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    runs++;
    i = j + 1;
  }
  if (!rc) rc = log_add(fc, REC_TAKE, 0, 0, runs, ranges.data, ranges.len, NULL, NULL, err);
  if (!rc) rc = log_flush(fc, err);
  sp_buf_free(&ranges);
  if (!rc) fc->queue.head += n;
  return rc;
}

/* Commit the open take: recorded in the log now (with every deferred one before
 * it), or, when `deferred`, left for file_take_flush. */
static int take_commit(file_channel *fc, ftake_txn *t, bool deferred, sp_sink_counters *sink, uint64_t quarantined,
                       sp_error *err) {
  if (quarantined > t->n)
    return sp_error_set(err, SP_ERR_INVALID, "%" PRIu64 " quarantined events in a take of %zu", quarantined, t->n);
  pthread_mutex_lock(&fc->sync.mutex);
  int rc = check_failed(fc, err);
  if (!rc && !deferred) rc = record_takes(fc, fc->retired + t->n, err);
  if (rc) {
    pthread_mutex_unlock(&fc->sync.mutex);
    return rc;
  }
  fc->retired = deferred ? fc->retired + t->n : 0;
  fc->inflight = 0;
  fc->take_open = false;
  sp_metrics_record_take_commit(&fc->base.counters, sink, t->n - quarantined, quarantined);
  sp_channel_sync_release(&fc->base, &fc->sync, t->n, 0);
  pthread_mutex_unlock(&fc->sync.mutex);
  free_take_txn(t);
  maybe_checkpoint(fc);
  return SP_OK;
}

static int file_take_commit(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined, sp_error *err) {
  return take_commit((file_channel *)ch, txn, false, sink, quarantined, err);
}

static int file_take_commit_deferred(sp_channel *ch, void *txn, sp_sink_counters *sink, uint64_t quarantined,
                                     sp_error *err) {
  return take_commit((file_channel *)ch, txn, true, sink, quarantined, err);
}

static int file_take_flush(sp_channel *ch, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  pthread_mutex_lock(&fc->sync.mutex);
  int rc = fc->retired ? check_failed(fc, err) : SP_OK;
  if (!rc) rc = record_takes(fc, fc->retired, err);
  if (!rc) fc->retired = 0;
  pthread_mutex_unlock(&fc->sync.mutex);
  return rc;
}

static void file_take_rollback(sp_channel *ch, void *txn) {
  file_channel *fc = (file_channel *)ch;
  pthread_mutex_lock(&fc->sync.mutex);
  fc->inflight = 0;
  fc->take_open = false;
  pthread_cond_broadcast(&fc->sync.items);
  pthread_mutex_unlock(&fc->sync.mutex);
  free_take_txn(txn);
}

/* ---------- checkpoints ---------- */

static void checkpoint_path(const file_channel *fc, int which, char *out, size_t cap) {
  snprintf(out, cap, "%s/checkpoint-%d", fc->ckpt_dir, which);
}

static int append_ref(sp_buf *b, const ev_ref *r) {
  uint8_t x[REF_SIZE];
  put_u64(x, r->seq);
  put_u64(x + 8, r->off);
  put_u32(x + 16, r->seg);
  put_u32(x + 20, r->len);
  return sp_buf_append(b, x, sizeof x);
}

static ev_ref read_ref(const uint8_t *p) { return (ev_ref){get_u64(p), get_u64(p + 8), get_u32(p + 16), get_u32(p + 20)}; }

/* Delete segments older than `keep_from` (mutex held). */
static void delete_segments_before(file_channel *fc, uint32_t keep_from) {
  for (size_t i = 0; i < fc->nreaders;) {
    if (fc->readers[i].seg < keep_from) {
      close(fc->readers[i].fd);
      fc->readers[i] = fc->readers[--fc->nreaders];
    } else {
      i++;
    }
  }
  DIR *d = opendir(fc->data_dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint32_t seg;
    char tail;
    if (sscanf(de->d_name, "log-%10" SCNu32 ".wa%c", &seg, &tail) == 2 && tail == 'l' && seg < keep_from) {
      if (unlinkat(dirfd(d), de->d_name, 0) == 0 && fc->stats.segments) fc->stats.segments--;
    }
  }
  closedir(d);
}

int sp_channel_file_checkpoint(sp_channel *ch, sp_error *err) {
  file_channel *fc = (file_channel *)ch;
  sp_buf b = SP_BUF_INIT;
  pthread_mutex_lock(&fc->sync.mutex);
  if (fc->checkpoint_running) {
    pthread_mutex_unlock(&fc->sync.mutex);
    return SP_OK;
  }
  fc->checkpoint_running = true;
  uint64_t generation = fc->ckpt_generation + 1;
  uint32_t needed = fc->log_seg;
  int rc = sp_buf_append(&b, CHECKPOINT_MAGIC, 8) || sp_buf_append_u64le(&b, generation) ||
                   sp_buf_append_u64le(&b, fc->next_seq) || sp_buf_append_u32le(&b, fc->log_seg) ||
                   sp_buf_append_u64le(&b, fc->log_off) || sp_buf_append_u64le(&b, vec_size(&fc->queue))
               ? SP_ERR_NOMEM
               : SP_OK;
  for (size_t i = fc->queue.head; i < fc->queue.n && !rc; i++) {
    if (fc->queue.v[i].seg < needed) needed = fc->queue.v[i].seg;
    rc = append_ref(&b, &fc->queue.v[i]);
  }
  uint64_t nprepared = 0;
  for (fput_txn *t = fc->prepared.next; t != &fc->prepared; t = t->next) nprepared++;
  if (!rc) rc = sp_buf_append_u64le(&b, nprepared);
  for (fput_txn *t = fc->prepared.next; t != &fc->prepared && !rc; t = t->next) {
    rc = sp_buf_append_u64le(&b, t->txid) || sp_buf_append_byte(&b, t->mode) || sp_buf_append_u64le(&b, t->n)
             ? SP_ERR_NOMEM
             : SP_OK;
    for (size_t i = 0; i < t->n && !rc; i++) {
      if (t->refs[i].seg < needed) needed = t->refs[i].seg;
      rc = append_ref(&b, &t->refs[i]);
    }
  }
  uint64_t lsn = fc->lsn_written;
  pthread_mutex_unlock(&fc->sync.mutex);
  if (rc) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_buf_append_u32le(&b, sp_crc32c(0, b.data, b.len)) ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : SP_OK;
  /* the log up to the checkpoint's position must be durable before the checkpoint */
  if (!rc) rc = log_sync(fc, lsn, err);
  char path[PATH_MAX];
  checkpoint_path(fc, (int)(generation % 2), path, sizeof path);
  if (!rc) rc = sp_write_file_atomic(path, b.data, b.len, err);
  sp_buf_free(&b);
  pthread_mutex_lock(&fc->sync.mutex);
  if (!rc) {
    fc->ckpt_generation = generation;
    fc->stats.checkpoint_generation = generation;
    /* the other checkpoint (the fallback) may still need older segments */
    uint32_t keep_from = needed < fc->prev_needed_seg ? needed : fc->prev_needed_seg;
    delete_segments_before(fc, keep_from);
    fc->prev_needed_seg = needed;
  }
  fc->last_checkpoint_us = sp_monotonic_us();
  fc->checkpoint_running = false;
  pthread_mutex_unlock(&fc->sync.mutex);
  return rc;
}

static int maybe_checkpoint(file_channel *fc) {
  pthread_mutex_lock(&fc->sync.mutex);
  bool due = !fc->checkpoint_running && sp_monotonic_us() - fc->last_checkpoint_us >= fc->checkpoint_interval_us;
  pthread_mutex_unlock(&fc->sync.mutex);
  if (!due) return SP_OK;
  sp_error err = {0};
  int rc = sp_channel_file_checkpoint(&fc->base, &err);
  if (rc) SP_WARN(fc->base.name, "checkpoint failed: %s", err.msg);
  return rc;
}

/* ---------- recovery ---------- */

/* A transaction seen in the log whose outcome is not known yet. */
typedef struct pending {
  struct pending *next;
  uint64_t txid;
  uint8_t mode; /* 0 until its PREPARE */
  ev_ref *refs;
  size_t n, cap;
} pending;

typedef struct loaded_checkpoint {
  uint64_t generation, next_seq, log_off;
  uint32_t log_seg;
} loaded_checkpoint;

static pending *find_pending(pending **list, uint64_t txid, bool create) {
  for (pending *p = *list; p; p = p->next)
    if (p->txid == txid) return p;
  if (!create) return NULL;
  pending *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->txid = txid;
  p->next = *list;
  *list = p;
  return p;
}

static void drop_pending(pending **list, pending *victim) {
  for (pending **pp = list; *pp; pp = &(*pp)->next)
    if (*pp == victim) {
      *pp = victim->next;
      free(victim->refs);
      free(victim);
      return;
    }
}

static int pending_add(pending *p, const ev_ref *r) {
  if (SP_ARRAY_RESERVE(p->refs, p->cap, p->n + 1, 16)) return SP_ERR_NOMEM;
  p->refs[p->n++] = *r;
  return SP_OK;
}

static int commit_pending(file_channel *fc, pending **list, pending *p) {
  for (size_t i = 0; i < p->n; i++)
    if (vec_insert(&fc->queue, &p->refs[i], 0)) return SP_ERR_NOMEM;
  drop_pending(list, p);
  return SP_OK;
}

/* A checkpoint file read into memory, its magic and CRC checked. */
typedef struct checkpoint_file {
  uint8_t *data; /* NULL when missing or invalid */
  size_t size;
  bool exists;
  char why[128]; /* why it is unusable */
} checkpoint_file;

#define CHECKPOINT_MIN_SIZE (8 + 8 + 8 + 4 + 8 + 8 + 8 + 4)

static void read_checkpoint_file(const char *path, checkpoint_file *cf) {
  memset(cf, 0, sizeof *cf);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(cf->why, sizeof cf->why, "%s", strerror(errno));
    return;
  }
  cf->exists = true;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size >= CHECKPOINT_MIN_SIZE) {
    cf->data = malloc((size_t)st.st_size);
    if (cf->data && pread(fd, cf->data, (size_t)st.st_size, 0) == st.st_size) cf->size = (size_t)st.st_size;
  }
  close(fd);
  if (!cf->size || memcmp(cf->data, CHECKPOINT_MAGIC, 8) != 0 ||
      get_u32(cf->data + cf->size - 4) != sp_crc32c(0, cf->data, cf->size - 4)) {
    snprintf(cf->why, sizeof cf->why, "bad magic or CRC");
    free(cf->data);
    cf->data = NULL;
  }
}

static uint64_t checkpoint_generation(const checkpoint_file *cf) { return get_u64(cf->data + 8); }

/* Parse a checked checkpoint into fc->queue and *list.  SP_ERR_CORRUPT when its
 * structure is inconsistent (the caller then resets and falls back). */
static int parse_checkpoint(file_channel *fc, checkpoint_file *cf, loaded_checkpoint *ck, pending **list) {
  const uint8_t *p = cf->data + 8, *end = cf->data + cf->size - 4;
  ck->generation = get_u64(p);
  ck->next_seq = get_u64(p + 8);
  ck->log_seg = get_u32(p + 16);
  ck->log_off = get_u64(p + 20);
  uint64_t nqueue = get_u64(p + 28);
  p += 36;
  if ((uint64_t)(end - p) / REF_SIZE < nqueue) goto bad;
  if (vec_reserve(&fc->queue, nqueue)) return SP_ERR_NOMEM;
  for (uint64_t i = 0; i < nqueue; i++, p += REF_SIZE) fc->queue.v[fc->queue.n++] = read_ref(p);
  if (end - p < 8) goto bad;
  uint64_t nprepared = get_u64(p);
  p += 8;
  for (uint64_t t = 0; t < nprepared; t++) {
    if (end - p < 17) goto bad;
    pending *pd = find_pending(list, get_u64(p), true);
    if (!pd) return SP_ERR_NOMEM;
    pd->mode = p[8];
    uint64_t n = get_u64(p + 9);
    p += 17;
    if ((uint64_t)(end - p) / REF_SIZE < n) goto bad;
    for (uint64_t i = 0; i < n; i++, p += REF_SIZE) {
      ev_ref r = read_ref(p);
      if (pending_add(pd, &r)) return SP_ERR_NOMEM;
    }
  }
  if (p != end) goto bad;
  return SP_OK;
bad:
  snprintf(cf->why, sizeof cf->why, "inconsistent structure");
  return SP_ERR_CORRUPT;
}

static void reset_recovery(file_channel *fc, pending **list) {
  while (*list) drop_pending(list, *list);
  fc->queue.head = fc->queue.n = 0;
}

/* Load the newest usable checkpoint into fc->queue and *list; SP_ERR_NOT_FOUND
 * when there is none (the whole log is then replayed). */
static int load_checkpoint(file_channel *fc, loaded_checkpoint *ck, pending **list, sp_error *err) {
  checkpoint_file cf[2];
  for (int i = 0; i < 2; i++) {
    char path[PATH_MAX];
    checkpoint_path(fc, i, path, sizeof path);
    read_checkpoint_file(path, &cf[i]);
  }
  int order[2] = {0, 1};
  if (cf[1].data && (!cf[0].data || checkpoint_generation(&cf[1]) > checkpoint_generation(&cf[0])))
    order[0] = 1, order[1] = 0;
  int rc = SP_ERR_NOT_FOUND;
  for (int k = 0; k < 2 && rc == SP_ERR_NOT_FOUND; k++) {
    int i = order[k], other = 1 - i;
    if (!cf[i].data) continue;
    int parsed = parse_checkpoint(fc, &cf[i], ck, list);
    if (parsed == SP_ERR_NOMEM) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    } else if (parsed) {
      reset_recovery(fc, list);
    } else {
      rc = SP_OK;
      /* the other one exists but was unusable while being the newer one */
      if (k == 1 || (cf[other].exists && !cf[other].data)) {
        fc->stats.checkpoint_fallback = true;
        SP_WARN(fc->base.name, "checkpoint-%d is unusable (%s); using checkpoint-%d (generation %" PRIu64 ")", other,
                cf[other].why, i, ck->generation);
      }
    }
  }
  if (rc == SP_ERR_NOT_FOUND) {
    fc->stats.checkpoint_missing = true;
    memset(ck, 0, sizeof *ck);
    if (cf[0].exists || cf[1].exists)
      SP_WARN(fc->base.name, "no usable checkpoint (%s; %s): replaying the whole log", cf[0].why, cf[1].why);
  }
  free(cf[0].data);
  free(cf[1].data);
  return rc;
}

/* Sorted ids of the log segments in data_dir. */
static int list_segments(file_channel *fc, uint32_t **out, size_t *n, sp_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(fc->data_dir);
  if (!d) return sp_error_set(err, SP_ERR_IO, "channel %s: listing %s: %s", fc->base.name, fc->data_dir, strerror(errno));
  size_t cap = 0;
  struct dirent *de;
  int rc = SP_OK;
  while ((de = readdir(d)) != NULL) {
    uint32_t seg;
    char tail;
    if (sscanf(de->d_name, "log-%10" SCNu32 ".wa%c", &seg, &tail) != 2 || tail != 'l' || strlen(de->d_name) != 18)
      continue;
    if (SP_ARRAY_RESERVE(*out, cap, *n + 1, 16)) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      break;
    }
    (*out)[(*n)++] = seg;
  }
  closedir(d);
  for (size_t i = 1; i < *n; i++) /* insertion sort: few segments */
    for (size_t j = i; j > 0 && (*out)[j - 1] > (*out)[j]; j--) {
      uint32_t tmp = (*out)[j];
      (*out)[j] = (*out)[j - 1];
      (*out)[j - 1] = tmp;
    }
  return rc;
}

/* Does a valid record start at data[off]? */
static bool valid_record_at(const uint8_t *data, size_t size, size_t off) {
  if (size - off < RECORD_HEADER) return false;
  const uint8_t *h = data + off;
  uint32_t len = get_u32(h + 4);
  if (h[8] < REC_PUT || h[8] > REC_TAKE || h[10] || h[11] || get_u32(h + 12)) return false;
  if (len > size - off - RECORD_HEADER) return false;
  return get_u32(h) == sp_crc32c(0, h + 4, RECORD_HEADER - 4 + (size_t)len);
}

static int apply_record(file_channel *fc, pending **list, uint32_t seg, uint64_t off, const uint8_t *h) {
  uint32_t len = get_u32(h + 4);
  uint8_t type = h[8], mode = h[9];
  uint64_t txid = get_u64(h + 16), seq = get_u64(h + 24);
  pending *p;
  switch (type) {
  case REC_PUT: {
    p = find_pending(list, txid, true);
    ev_ref r = {seq, off, seg, len};
    if (!p || pending_add(p, &r)) return SP_ERR_NOMEM;
    if (seq >= fc->next_seq) fc->next_seq = seq + 1;
    return SP_OK;
  }
  case REC_PREPARE:
    p = find_pending(list, txid, true);
    if (!p) return SP_ERR_NOMEM;
    p->mode = mode;
    return mode == MODE_SELF ? commit_pending(fc, list, p) : SP_OK;
  case REC_COMMIT:
    p = find_pending(list, txid, false);
    return p && p->mode ? commit_pending(fc, list, p) : SP_OK;
  case REC_ABORT:
    p = find_pending(list, txid, false);
    if (p) drop_pending(list, p);
    return SP_OK;
  case REC_TAKE:
    for (uint32_t i = 0; i + 16 <= len; i += 16)
      vec_remove_range(&fc->queue, get_u64(h + RECORD_HEADER + i), get_u64(h + RECORD_HEADER + i + 8));
    return SP_OK;
  }
  return SP_OK;
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* Replay segment `seg` from `start`.  `last` tells whether it is the log's tail. */
static int replay_segment(file_channel *fc, pending **list, uint32_t seg, uint64_t start, bool last, sp_error *err) {
  char path[PATH_MAX];
  segment_path(fc, seg, path, sizeof path);
  int fd = open(path, last ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sp_error_set(err, SP_ERR_IO, "channel %s: opening %s: %s", fc->base.name, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return sp_error_set(err, SP_ERR_IO, "channel %s: stat %s: %s", fc->base.name, path, strerror(errno));
  }
  size_t size = (size_t)st.st_size;
  if (size <= start) {
    close(fd);
    return SP_OK;
  }
  uint8_t *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) {
    close(fd);
    return sp_error_set(err, SP_ERR_IO, "channel %s: mapping %s: %s", fc->base.name, path, strerror(errno));
  }
  madvise(data, size, MADV_SEQUENTIAL);
  int rc = SP_OK;
  size_t off = start;
  while (off < size && !rc) {
    if (valid_record_at(data, size, off)) {
      rc = apply_record(fc, list, seg, off, data + off);
      if (rc) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      fc->stats.replayed_records++;
      off += RECORD_HEADER + get_u32(data + off + 4);
      continue;
    }
    /* the zero-filled tail of the segment that was being appended to: the end */
    if (all_zero(data + off, size - off)) {
      if (last && ftruncate(fd, (off_t)off) != 0)
        rc = sp_error_set(err, SP_ERR_IO, "channel %s: truncating %s: %s", fc->base.name, path, strerror(errno));
      break;
    }
    /* look for the next valid record */
    size_t next = off + 1;
    while (next < size && !valid_record_at(data, size, next)) next++;
    if (next >= size && last) {
      SP_WARN(fc->base.name, "cutting a torn record at the end of %s (offset %zu)", path, off);
      if (ftruncate(fd, (off_t)off) != 0)
        rc = sp_error_set(err, SP_ERR_IO, "channel %s: truncating %s: %s", fc->base.name, path, strerror(errno));
      break;
    }
    quarantine_bytes(fc, seg, off, data + off, next - off, "CRC mismatch");
    off = next;
  }
  munmap(data, size);
  close(fd);
  return rc;
}

static int compare_refs(const void *a, const void *b) {
  uint64_t x = ((const ev_ref *)a)->seq, y = ((const ev_ref *)b)->seq;
  return (x > y) - (x < y);
}

/* Concurrent put commits can leave a loaded queue slightly out of order. */
static void sort_queue(ref_vec *q) {
  for (size_t i = q->head + 1; i < q->n; i++)
    if (q->v[i - 1].seq > q->v[i].seq) {
      qsort(q->v + q->head, q->n - q->head, sizeof *q->v, compare_refs);
      return;
    }
}

/* Queue entries whose segment is gone (a fallback checkpoint older than the log it
 * needs) cannot be read: count them as corrupt and drop them. */
static void drop_missing_segments(file_channel *fc, const uint32_t *segs, size_t nsegs) {
  size_t out = fc->queue.head, dropped = 0;
  for (size_t i = fc->queue.head; i < fc->queue.n; i++) {
    bool present = false;
    for (size_t k = 0; k < nsegs && !present; k++) present = segs[k] == fc->queue.v[i].seg;
    if (present || fc->queue.v[i].len == REMOVED) fc->queue.v[out++] = fc->queue.v[i];
    else dropped++;
  }
  fc->queue.n = out;
  if (dropped) {
    fc->stats.corrupt_records += dropped;
    SP_ERROR(fc->base.name, "%zu buffered events point into deleted log segments and are lost", dropped);
  }
}

static int recover(file_channel *fc, sp_error *err) {
  pending *list = NULL;
  loaded_checkpoint ck = {0};
  int rc = load_checkpoint(fc, &ck, &list, err);
  if (rc == SP_ERR_NOT_FOUND) rc = SP_OK;
  if (rc) return rc;
  fc->ckpt_generation = ck.generation;
  fc->stats.checkpoint_generation = ck.generation;
  sort_queue(&fc->queue);
  /* the checkpoint just loaded becomes the fallback: keep every segment it needs */
  fc->prev_needed_seg = ck.log_seg;
  for (size_t i = fc->queue.head; i < fc->queue.n; i++)
    if (fc->queue.v[i].seg < fc->prev_needed_seg) fc->prev_needed_seg = fc->queue.v[i].seg;
  for (pending *p = list; p; p = p->next)
    for (size_t i = 0; i < p->n; i++)
      if (p->refs[i].seg < fc->prev_needed_seg) fc->prev_needed_seg = p->refs[i].seg;
  if (ck.next_seq > fc->next_seq) fc->next_seq = ck.next_seq;
  uint32_t *segs;
  size_t nsegs;
  rc = list_segments(fc, &segs, &nsegs, err);
  fc->stats.segments = (uint32_t)nsegs;
  for (size_t i = 0; i < nsegs && !rc; i++) {
    if (!fc->stats.checkpoint_missing && segs[i] < ck.log_seg) continue;
    uint64_t start = !fc->stats.checkpoint_missing && segs[i] == ck.log_seg ? ck.log_off : 0;
    rc = replay_segment(fc, &list, segs[i], start, i + 1 == nsegs, err);
  }
  uint32_t last_seg = nsegs ? segs[nsegs - 1] : 0;
  if (!rc) drop_missing_segments(fc, segs, nsegs);
  free(segs);
  /* undecided transactions */
  sp_buf outcomes = SP_BUF_INIT; /* txid u64 + committed u8, written as records once the log is open */
  while (!rc && list) {
    pending *p = list;
    bool committed = p->mode == MODE_SELF; /* prepared in a checkpoint: its PREPARE committed it */
    if (p->mode == MODE_DECIDED && fc->resolver) {
      rc = fc->resolver(fc->resolver_ctx, p->txid, &committed, err);
      if (rc) sp_error_prefix(err, "channel %s: resolving transaction %" PRIu64, fc->base.name, p->txid);
    } else if (p->mode == MODE_DECIDED) {
      SP_WARN(fc->base.name, "no resolver: dropping undecided transaction %" PRIu64 " (%zu events)", p->txid, p->n);
    }
    if (rc) break;
    if (p->mode && p->mode != MODE_SELF && (sp_buf_append_u64le(&outcomes, p->txid) || sp_buf_append_byte(&outcomes, committed)))
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (!rc && committed) rc = commit_pending(fc, &list, p) ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : SP_OK;
    else if (!rc) drop_pending(&list, p);
  }
  while (list) drop_pending(&list, list);
  vec_compact(&fc->queue);
  /* appends go to a fresh segment after the last one */
  if (!rc) rc = open_segment(fc, nsegs ? last_seg + 1 : 1, err);
  for (size_t i = 0; !rc && i + 9 <= outcomes.len; i += 9)
    rc = log_add(fc, outcomes.data[i + 8] ? REC_COMMIT : REC_ABORT, MODE_DECIDED, get_u64(outcomes.data + i), 0, NULL,
                 0, NULL, NULL, err);
  if (!rc) rc = log_flush(fc, err);
  sp_buf_free(&outcomes);
  return rc;
}

/* ---------- open / close ---------- */

static void file_close(sp_channel *ch) {
  file_channel *fc = (file_channel *)ch;
  sp_channel_sync_close(&fc->sync);
}

static void file_destroy(sp_channel *ch) {
  file_channel *fc = (file_channel *)ch;
  if (fc->log_fd >= 0 && !fc->failed) {
    sp_error err = {0};
    if (sp_channel_file_checkpoint(ch, &err)) SP_WARN(ch->name, "final checkpoint failed: %s", err.msg);
  }
  if (fc->log_fd >= 0) close(fc->log_fd);
  for (size_t i = 0; i < fc->nreaders; i++) close(fc->readers[i].fd);
  free(fc->readers);
  free(fc->win);
  free(fc->queue.v);
  sp_buf_free(&fc->wbuf);
  pthread_mutex_destroy(&fc->sync_mutex);
  sp_channel_sync_destroy(&fc->sync);
  free(fc->ckpt_dir);
  free(fc->data_dir);
  free(fc->quarantine_dir);
  sp_channel_base_cleanup(ch);
  free(fc);
}

int sp_channel_file_open(const sp_channel_file_config *cfg, sp_channel **out, sp_error *err) {
  *out = NULL;
  const char *name = cfg->channel.name ? cfg->channel.name : "";
  if (!cfg->checkpoint_dir || !cfg->data_dir)
    return sp_error_set(err, SP_ERR_CONFIG, "channel %s: checkpoint_dir and data_dir are required", name);
  int64_t t0 = sp_monotonic_us();
  file_channel *fc = calloc(1, sizeof *fc);
  if (!fc) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = sp_channel_base_init(&fc->base, &file_ops, &cfg->channel, err);
  if (rc) {
    free(fc);
    return rc;
  }
  sp_channel_sync_init(&fc->sync);
  pthread_mutex_init(&fc->sync_mutex, NULL);
  fc->log_fd = -1;
  fc->prepared.next = fc->prepared.prev = &fc->prepared;
  fc->max_segment_bytes = cfg->max_segment_bytes ? cfg->max_segment_bytes : (size_t)64 << 20;
  fc->min_free_bytes = cfg->min_free_bytes ? cfg->min_free_bytes : (uint64_t)256 << 20;
  fc->checkpoint_interval_us = cfg->checkpoint_interval_us > 0 ? cfg->checkpoint_interval_us : 30 * SP_US_PER_SEC;
  fc->resolver = cfg->resolver;
  fc->resolver_ctx = cfg->resolver_ctx;
  fc->ckpt_dir = strdup(cfg->checkpoint_dir);
  fc->data_dir = strdup(cfg->data_dir);
  char qdir[PATH_MAX];
  snprintf(qdir, sizeof qdir, "%s/quarantine", cfg->data_dir);
  fc->quarantine_dir = strdup(cfg->quarantine_dir ? cfg->quarantine_dir : qdir);
  if (!fc->ckpt_dir || !fc->data_dir || !fc->quarantine_dir) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_mkdirs(fc->ckpt_dir, err);
  if (!rc) rc = sp_mkdirs(fc->data_dir, err);
  if (!rc) rc = recover(fc, err);
  /* a brand-new channel numbers from the clock, so it never reuses the numbers of
   * a channel that lived in these directories before (file sink names) */
  if (!rc && fc->next_seq == 0) fc->next_seq = (uint64_t)sp_now_us();
  if (!rc) {
    size_t n = vec_size(&fc->queue);
    fc->sync.slots_used = n;
    fc->stats.recovered_events = n;
    sp_metrics_record_replayed(&fc->base.counters, n + fc->stats.corrupt_records);
    sp_metrics_record_channel_quarantine(&fc->base.counters, fc->stats.corrupt_records);
    /* a fresh checkpoint makes the next restart replay nothing and lets old
     * segments go; not needed when the newest checkpoint already covered the log */
    bool covered = fc->stats.replayed_records == 0 && !fc->stats.checkpoint_fallback &&
                   !fc->stats.checkpoint_missing && fc->stats.corrupt_records == 0;
    fc->last_checkpoint_us = sp_monotonic_us();
    if (!covered) rc = sp_channel_file_checkpoint(&fc->base, err);
  }
  if (rc) {
    fc->failed = true; /* no final checkpoint of a half-open channel */
    file_destroy(&fc->base);
    return rc;
  }
  fc->stats.replay_us = sp_monotonic_us() - t0;
  SP_INFO(name, "opened: %zu events buffered, %" PRIu64 " log records replayed, %" PRIu64
                " corrupt, checkpoint generation %" PRIu64 "%s, in %.1f ms",
          vec_size(&fc->queue), fc->stats.replayed_records, fc->stats.corrupt_records, fc->stats.checkpoint_generation,
          fc->stats.checkpoint_fallback ? " (fallback)" : "", (double)fc->stats.replay_us / 1000.0);
  *out = &fc->base;
  return SP_OK;
}

void sp_channel_file_stats_get(sp_channel *ch, sp_channel_file_stats *out) {
  memset(out, 0, sizeof *out);
  if (!ch || ch->ops != &file_ops) return;
  file_channel *fc = (file_channel *)ch;
  pthread_mutex_lock(&fc->sync.mutex);
  *out = fc->stats;
  pthread_mutex_unlock(&fc->sync.mutex);
}

static const sp_channel_ops file_ops = {
    "file",           file_put_begin,     file_put,       file_put_prepare, file_put_commit,
    file_put_rollback, file_take_begin,   file_take,      file_take_commit, file_take_rollback,
    file_close,       file_destroy,       file_take_commit_deferred, file_take_flush,
};
