/*
 * test_channel_file.c — Flume-style tests of the file channel: ordering and
 * sequence numbers across restarts, replay after a crash (a child process that
 * exits without closing), in-flight takes coming back, capacity, the minimum free
 * disk setting, a torn tail, a corrupt record in the middle (quarantined and
 * counted), a corrupt checkpoint (fallback to the other), segment rolling and
 * deletion, fan-out transactions decided by the state store with a crash at the
 * commit point, deferred take commits (re-delivered after a crash before their
 * flush, gone after it), and takes reading the log while puts append to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/channel_file.h"
#include "core/state.h"
#include "core_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>

typedef struct fixture {
  char dir[128];
  char ckpt[192], data[192];
  sp_state *state; /* resolver, when a test opens it */
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  make_temp_dir(f->dir, sizeof f->dir);
  snprintf(f->ckpt, sizeof f->ckpt, "%s/ch/checkpoint", f->dir);
  snprintf(f->data, sizeof f->data, "%s/ch/data", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  sp_state_close(f->state);
  remove_tree(f->dir);
  free(f);
  return 0;
}

static sp_channel *open_fc_opts(fixture *f, const char *name, size_t capacity, size_t segment_bytes,
                                uint64_t min_free) {
  sp_channel_file_config cfg = {.channel = {name, capacity, capacity < 100 ? capacity : 100, NULL},
                                .checkpoint_dir = f->ckpt, .data_dir = f->data,
                                .max_segment_bytes = segment_bytes, .min_free_bytes = min_free ? min_free : 1,
                                .checkpoint_interval_us = 3600 * SP_US_PER_SEC,
                                .resolver = f->state ? sp_state_resolve_txn : NULL, .resolver_ctx = f->state};
  sp_channel *ch = NULL;
  sp_error err = {0};
  if (sp_channel_file_open(&cfg, &ch, &err)) fail_msg("open %s: %s", name, err.msg);
  return ch;
}

static sp_channel *open_fc(fixture *f) { return open_fc_opts(f, "fc", 1000, 0, 0); }

static int put_range(sp_channel *ch, int first, int n) {
  sp_put_txn *t;
  sp_error err = {0};
  int rc = sp_put_txn_begin(&ch, 1, &t, &err);
  for (int i = first; i < first + n && !rc; i++) {
    char ev[32];
    int len = snprintf(ev, sizeof ev, "event-%d", i);
    rc = sp_put_txn_put(t, (const uint8_t *)ev, (size_t)len, 0, &err);
  }
  if (!rc) rc = sp_put_txn_commit(t, NULL, NULL, &err);
  sp_put_txn_close(t);
  return rc;
}

/* Take up to max events in the open take `txn`; their numbers go to nums and their
 * sequence numbers to seqs (either may be NULL).  Returns how many. */
static int take_into(sp_channel *ch, void *txn, int *nums, uint64_t *seqs, int max) {
  int n = 0;
  sp_event ev;
  while (n < max && sp_channel_take(ch, txn, &ev, 0, NULL) == SP_OK) {
    char text[32];
    snprintf(text, sizeof text, "%.*s", (int)ev.len, (const char *)ev.data);
    if (nums) assert_int_equal(sscanf(text, "event-%d", &nums[n]), 1);
    if (seqs) seqs[n] = ev.seq;
    n++;
  }
  return n;
}

/* Take up to max events; their numbers go to nums.  Commit or roll back. */
static int take_nums(sp_channel *ch, int *nums, uint64_t *seqs, int max, bool commit) {
  void *txn;
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  int n = take_into(ch, txn, nums, seqs, max);
  if (commit) assert_int_equal(sp_channel_take_commit(ch, txn, NULL, 0, NULL), 0);
  else sp_channel_take_rollback(ch, txn);
  return n;
}

/* Run `body` in a child that dies without closing anything (like kill -9). */
static void in_crashing_child(fixture *f, void (*body)(fixture *)) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    body(f);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void child_puts_50_takes_20(fixture *f) {
  sp_channel *ch = open_fc(f);
  for (int i = 0; i < 50; i += 10)
    if (put_range(ch, i, 10)) _exit(3);
  void *txn;
  sp_event ev;
  if (sp_channel_take_begin(ch, &txn, NULL)) _exit(4);
  for (int i = 0; i < 20; i++)
    if (sp_channel_take(ch, txn, &ev, 0, NULL)) _exit(5);
  if (sp_channel_take_commit(ch, txn, NULL, 0, NULL)) _exit(6);
  /* 5 more taken but never committed */
  if (sp_channel_take_begin(ch, &txn, NULL)) _exit(7);
  for (int i = 0; i < 5; i++)
    if (sp_channel_take(ch, txn, &ev, 0, NULL)) _exit(8);
}

static void test_replay_after_crash(void **state) {
  fixture *f = *state;
  in_crashing_child(f, child_puts_50_takes_20);
  sp_channel *ch = open_fc(f);
  sp_channel_file_stats st;
  sp_channel_file_stats_get(ch, &st);
  assert_int_equal(st.recovered_events, 30);
  assert_true(st.replayed_records > 0);
  assert_true(st.replay_us > 0);
  int nums[64];
  uint64_t seqs[64];
  assert_int_equal(take_nums(ch, nums, seqs, 64, false), 30);
  for (int i = 0; i < 30; i++) {
    assert_int_equal(nums[i], 20 + i);
    if (i) assert_int_equal(seqs[i], seqs[i - 1] + 1);
  }
  assert_channel_invariant(ch);
  /* new events continue the numbering */
  assert_int_equal(put_range(ch, 100, 1), 0);
  uint64_t seqs2[64];
  assert_int_equal(take_nums(ch, nums, seqs2, 64, true), 31);
  assert_int_equal(seqs2[30], seqs[29] + 1);
  assert_channel_invariant(ch);
  sp_channel_free(ch);
  /* a clean close leaves an empty channel that reopens empty */
  ch = open_fc(f);
  sp_channel_file_stats_get(ch, &st);
  assert_int_equal(st.recovered_events, 0);
  assert_int_equal(st.replayed_records, 0); /* the final checkpoint covered everything */
  sp_channel_free(ch);
}

/* Take up to max events into nums and commit the take deferred. */
static int take_deferred(sp_channel *ch, int *nums, int max) {
  void *txn;
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  int n = take_into(ch, txn, nums, NULL, max);
  assert_int_equal(sp_channel_take_commit_deferred(ch, txn, NULL, 0, NULL), 0);
  return n;
}

/* 30 put; 10 + 10 taken deferred, then 5 more with an ordinary commit (which records
 * the deferred ones too), then 5 deferred and flushed, then 5 deferred left. */
static void child_defers_takes(fixture *f) {
  sp_channel *ch = open_fc(f);
  int nums[16];
  if (put_range(ch, 0, 30) || take_deferred(ch, nums, 10) != 10 || nums[0] != 0 || take_deferred(ch, nums, 10) != 10 ||
      nums[0] != 10)
    _exit(3);
  if (take_nums(ch, nums, NULL, 5, true) != 5 || nums[0] != 20) _exit(4);
  if (take_deferred(ch, nums, 5) != 5 || nums[0] != 25 || sp_channel_take_flush(ch, NULL)) _exit(5);
  if (put_range(ch, 30, 10) || take_deferred(ch, nums, 5) != 5 || nums[0] != 30) _exit(6);
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  if (c.ChannelSize != 5) _exit(7); /* deferred takes left the channel */
  /* a checkpoint still lists the deferred ones */
  if (sp_channel_file_checkpoint(ch, NULL)) _exit(8);
}

static void test_deferred_takes(void **state) {
  fixture *f = *state;
  sp_channel *ch = open_fc(f);
  assert_true(sp_channel_defers_takes(ch));
  sp_channel_free(ch);
  in_crashing_child(f, child_defers_takes);
  ch = open_fc(f);
  int nums[16];
  /* the 5 deferred, unflushed ones come back first, then the 5 never taken */
  assert_int_equal(take_nums(ch, nums, NULL, 16, false), 10);
  for (int i = 0; i < 10; i++) assert_int_equal(nums[i], 30 + i);
  assert_int_equal(take_deferred(ch, nums, 16), 10);
  sp_channel_free(ch); /* the final checkpoint keeps deferred takes too */
  ch = open_fc(f);
  assert_int_equal(take_deferred(ch, nums, 16), 10);
  assert_int_equal(sp_channel_take_flush(ch, NULL), 0);
  assert_int_equal(sp_channel_take_flush(ch, NULL), 0); /* nothing left: no-op */
  sp_channel_free(ch);
  ch = open_fc(f);
  assert_int_equal(take_nums(ch, nums, NULL, 16, false), 0);
  sp_channel_free(ch);
}

static void *put_400_transactions(void *ch) {
  for (int i = 0; i < 4000; i += 10)
    if (put_range(ch, i, 10)) return "put failed";
  return NULL;
}

/* The taker reads the log segment the putter is appending to (through its read
 * window): every event arrives intact and in order, none is called corrupt. */
static void test_take_while_putting(void **state) {
  fixture *f = *state;
  sp_channel *ch = open_fc_opts(f, "busy", 5000, 0, 0);
  pthread_t putter;
  assert_int_equal(pthread_create(&putter, NULL, put_400_transactions, ch), 0);
  int next = 0, nums[100];
  int64_t deadline = sp_monotonic_us() + 60 * SP_US_PER_SEC;
  while (next < 4000 && sp_monotonic_us() < deadline) {
    int n = take_nums(ch, nums, NULL, 100, true);
    for (int i = 0; i < n; i++) assert_int_equal(nums[i], next++);
    if (n == 0) usleep(200);
  }
  void *failure;
  pthread_join(putter, &failure);
  assert_null(failure);
  assert_int_equal(next, 4000);
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.ChannelQuarantinedCount, 0);
  assert_channel_invariant(ch);
  sp_channel_free(ch);
}

static void test_take_rollback_and_capacity(void **state) {
  fixture *f = *state;
  sp_channel *ch = open_fc_opts(f, "cap", 20, 0, 0);
  assert_int_equal(put_range(ch, 0, 15), 0);
  assert_int_equal(put_range(ch, 15, 10), SP_ERR_FULL);
  assert_int_equal(put_range(ch, 15, 5), 0);
  int nums[32];
  assert_int_equal(take_nums(ch, nums, NULL, 7, false), 7);
  assert_int_equal(take_nums(ch, nums, NULL, 7, true), 7);
  assert_int_equal(nums[0], 0);
  assert_int_equal(nums[6], 6);
  assert_int_equal(put_range(ch, 20, 7), 0);
  assert_channel_invariant(ch);
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.ChannelSize, 20);
  sp_channel_free(ch);
}

static void test_min_free_disk(void **state) {
  fixture *f = *state;
  sp_channel *ch = open_fc_opts(f, "disk", 100, 0, UINT64_MAX / 2);
  sp_put_txn *t;
  sp_error err = {0};
  assert_int_equal(sp_put_txn_begin(&ch, 1, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"x", 1, 0, NULL), 0);
  assert_int_equal(sp_put_txn_commit(t, NULL, NULL, &err), SP_ERR_FULL);
  assert_non_null(strstr(err.msg, "min_free_bytes"));
  sp_put_txn_close(t);
  assert_int_equal(take_nums(ch, NULL, NULL, 10, true), 0);
  sp_channel_free(ch);
}

/* Path of the newest log segment. */
static void last_segment(fixture *f, char *out, size_t cap) {
  struct dirent **names;
  int n = scandir(f->data, &names, NULL, alphasort);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (strncmp(names[i]->d_name, "log-", 4) == 0) snprintf(out, cap, "%s/%s", f->data, names[i]->d_name);
    free(names[i]);
  }
  free(names);
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

static void child_puts_10(fixture *f) {
  sp_channel *ch = open_fc(f);
  for (int i = 0; i < 10; i++)
    if (put_range(ch, i, 1)) _exit(3);
}

/* A checkpoint taken between a lone transaction's PREPARE (its commit) and the
 * in-memory commit, then a crash. */
static void child_checkpoint_inside_commit(fixture *f) {
  sp_channel *ch = open_fc(f);
  void *txn;
  if (ch->ops->put_begin(ch, &txn, NULL)) _exit(3);
  if (ch->ops->put(ch, txn, (const uint8_t *)"event-42", 8, sp_monotonic_us(), NULL)) _exit(4);
  sp_put_prepare_info info = {12345, false, 1};
  if (ch->ops->put_prepare(ch, txn, &info, NULL)) _exit(5);
  if (sp_channel_file_checkpoint(ch, NULL)) _exit(6);
}

static void test_checkpoint_with_prepared_transaction(void **state) {
  fixture *f = *state;
  in_crashing_child(f, child_checkpoint_inside_commit);
  sp_channel *ch = open_fc(f);
  int nums[4];
  assert_int_equal(take_nums(ch, nums, NULL, 4, true), 1);
  assert_int_equal(nums[0], 42);
  sp_channel_free(ch);
}

/* Where the records of a log segment end (its zero-filled tail follows). */
static off_t records_end(const char *seg) {
  int fd = open(seg, O_RDONLY);
  assert_true(fd >= 0);
  uint8_t h[32];
  off_t off = 0;
  while (pread(fd, h, sizeof h, off) == (ssize_t)sizeof h && h[8] != 0)
    off += 32 + (off_t)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24);
  close(fd);
  return off;
}

/* The channel reopened over a damaged segment of child_puts_10's: it counted
 * `corrupt` corrupt records and its other 9 events are taken (committed) into nums. */
static sp_channel *reopen_damaged(fixture *f, uint64_t corrupt, int nums[16]) {
  sp_channel *ch = open_fc(f);
  sp_channel_file_stats st;
  sp_channel_file_stats_get(ch, &st);
  assert_int_equal(st.corrupt_records, corrupt);
  assert_int_equal(take_nums(ch, nums, NULL, 16, true), 9);
  return ch;
}

static void test_torn_tail(void **state) {
  fixture *f = *state;
  in_crashing_child(f, child_puts_10);
  char seg[512];
  last_segment(f, seg, sizeof seg);
  off_t end = records_end(seg);
  assert_true(end > 100);
  assert_true(file_size(seg) > end); /* zero-filled ahead of the records */
  /* the last transaction's PREPARE record is torn: its last bytes never reached the
   * disk (they read as the zero fill) */
  int fd = open(seg, O_WRONLY);
  assert_true(fd >= 0);
  static const uint8_t zeros[10];
  assert_int_equal(pwrite(fd, zeros, sizeof zeros, end - 10), 10);
  close(fd);
  int nums[16];
  sp_channel *ch = reopen_damaged(f, 0, nums);
  assert_int_equal(nums[8], 8);
  assert_channel_invariant(ch);
  sp_channel_free(ch);
}

static void test_corrupt_record_quarantined(void **state) {
  fixture *f = *state;
  in_crashing_child(f, child_puts_10);
  char seg[512];
  last_segment(f, seg, sizeof seg);
  /* records: per transaction PUT (32 + 7 or 8 bytes) + PREPARE (32); corrupt the
   * payload of the third transaction's PUT */
  int fd = open(seg, O_RDWR);
  assert_true(fd >= 0);
  uint8_t buf[4096];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  assert_true(n > 0);
  size_t off = 0;
  for (int rec = 0; rec < 4; rec++) off += 32 + (buf[off + 4] | buf[off + 5] << 8);
  assert_int_equal(buf[off + 8], 1); /* a PUT */
  buf[off + 33] ^= 0xff;
  assert_int_equal(pwrite(fd, buf + off + 33, 1, (off_t)(off + 33)), 1);
  close(fd);
  int nums[16];
  sp_channel *ch = reopen_damaged(f, 1, nums);
  assert_int_equal(nums[0], 0);
  assert_int_equal(nums[1], 1);
  assert_int_equal(nums[2], 3); /* event 2 was the corrupt one */
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.ChannelQuarantinedCount, 1);
  assert_channel_invariant(ch);
  char qdir[256];
  snprintf(qdir, sizeof qdir, "%s/quarantine", f->data);
  DIR *d = opendir(qdir);
  assert_non_null(d);
  int files = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (strncmp(de->d_name, "corrupt-", 8) == 0) files++;
  closedir(d);
  assert_int_equal(files, 1);
  sp_channel_free(ch);
}

static void child_checkpoints(fixture *f) {
  sp_channel *ch = open_fc(f); /* checkpoint generation 1 at open */
  if (put_range(ch, 0, 10)) _exit(3);
  if (sp_channel_file_checkpoint(ch, NULL)) _exit(4); /* 2 */
  if (put_range(ch, 10, 10)) _exit(5);
  if (take_nums(ch, NULL, NULL, 5, true) != 5) _exit(6);
  if (sp_channel_file_checkpoint(ch, NULL)) _exit(7); /* 3 */
  if (put_range(ch, 20, 5)) _exit(8);
}

static void test_corrupt_checkpoint_falls_back(void **state) {
  fixture *f = *state;
  in_crashing_child(f, child_checkpoints);
  /* generation 3 went to checkpoint-1: damage it */
  char path[256];
  snprintf(path, sizeof path, "%s/checkpoint-1", f->ckpt);
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  uint8_t b = 0;
  assert_int_equal(pread(fd, &b, 1, 40), 1);
  b ^= 0x5a;
  assert_int_equal(pwrite(fd, &b, 1, 40), 1);
  close(fd);
  sp_channel *ch = open_fc(f);
  sp_channel_file_stats st;
  sp_channel_file_stats_get(ch, &st);
  assert_true(st.checkpoint_fallback);
  assert_false(st.checkpoint_missing);
  int nums[32];
  assert_int_equal(take_nums(ch, nums, NULL, 32, true), 20);
  for (int i = 0; i < 20; i++) assert_int_equal(nums[i], 5 + i);
  sp_channel_free(ch);
  /* both checkpoints corrupt: the whole log is replayed */
  in_crashing_child(f, child_puts_10);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/checkpoint-%d", f->ckpt, i);
    FILE *fp = fopen(path, "w");
    fputs("garbage", fp);
    fclose(fp);
  }
  ch = open_fc(f);
  sp_channel_file_stats_get(ch, &st);
  assert_true(st.checkpoint_missing);
  assert_int_equal(take_nums(ch, nums, NULL, 32, true), 10);
  sp_channel_free(ch);
}

static void test_segments_roll_and_are_deleted(void **state) {
  fixture *f = *state;
  sp_channel *ch = open_fc_opts(f, "roll", 1000, 1024, 0);
  for (int i = 0; i < 300; i += 10) assert_int_equal(put_range(ch, i, 10), 0);
  sp_channel_file_stats st;
  sp_channel_file_stats_get(ch, &st);
  assert_true(st.segments > 10);
  uint32_t before = st.segments;
  int nums[300];
  assert_int_equal(take_nums(ch, nums, NULL, 100, true), 100);
  assert_int_equal(take_nums(ch, nums, NULL, 100, true), 100);
  assert_int_equal(take_nums(ch, nums, NULL, 100, true), 100);
  assert_int_equal(nums[99], 299);
  assert_int_equal(sp_channel_file_checkpoint(ch, NULL), 0);
  assert_int_equal(sp_channel_file_checkpoint(ch, NULL), 0);
  sp_channel_file_stats_get(ch, &st);
  assert_true(st.segments < before / 2);
  sp_channel_free(ch);
  ch = open_fc_opts(f, "roll", 1000, 1024, 0);
  assert_int_equal(take_nums(ch, NULL, NULL, 100, true), 0);
  sp_channel_free(ch);
}

/* ---- fan-out decided by the state store, with crashes at the commit point ---- */

static int crash_before_decision(void *ctx, uint64_t txid, sp_error *err) {
  (void)ctx, (void)txid, (void)err;
  _exit(0); /* both channels prepared, nothing decided */
}

static int crash_after_decision(void *ctx, uint64_t txid, sp_error *err) {
  int rc = sp_state_decide(ctx, txid, err);
  if (rc) return rc;
  _exit(0); /* decided, channels never told */
}

static void open_pair(fixture *f, sp_channel **a, sp_channel **b) {
  char ckpt[256], data[256];
  *a = open_fc_opts(f, "fan_a", 100, 0, 0);
  snprintf(ckpt, sizeof ckpt, "%s/b/checkpoint", f->dir);
  snprintf(data, sizeof data, "%s/b/data", f->dir);
  sp_channel_file_config cfg = {.channel = {"fan_b", 100, 100, NULL}, .checkpoint_dir = ckpt, .data_dir = data,
                                .min_free_bytes = 1, .resolver = sp_state_resolve_txn, .resolver_ctx = f->state};
  sp_error err = {0};
  if (sp_channel_file_open(&cfg, b, &err)) fail_msg("%s", err.msg);
}

static void fan_out_put(fixture *f, sp_put_decide_fn decide, int64_t watermark) {
  sp_channel *chs[2];
  open_pair(f, &chs[0], &chs[1]);
  sp_put_txn *t;
  if (sp_put_txn_begin(chs, 2, &t, NULL)) _exit(3);
  for (int i = 0; i < 3; i++)
    if (sp_put_txn_put(t, (const uint8_t *)"event-7", 7, 0, NULL)) _exit(4);
  sp_state_batch *b = sp_state_batch_new();
  sp_state_batch_advance_watermark(b, "src", "k", watermark);
  sp_state_decision d = {f->state, b};
  sp_put_txn_commit(t, decide, &d, NULL);
  _exit(5); /* not reached */
}

static void child_crash_before(fixture *f) { fan_out_put(f, crash_before_decision, 1); }
static void child_crash_after(fixture *f) { fan_out_put(f, crash_after_decision, 2); }

static void test_fanout_crash_at_commit_point(void **state) {
  fixture *f = *state;
  sp_error err = {0};
  assert_int_equal(sp_state_open(f->dir, &f->state, &err), 0);
  in_crashing_child(f, child_crash_before);
  sp_channel *a, *b;
  open_pair(f, &a, &b);
  assert_int_equal(take_nums(a, NULL, NULL, 10, true), 0);
  assert_int_equal(take_nums(b, NULL, NULL, 10, true), 0);
  int64_t v = 0;
  bool found = true;
  assert_int_equal(sp_state_get_watermark(f->state, "src", "k", &v, &found, &err), 0);
  assert_false(found);
  sp_channel_free(a);
  sp_channel_free(b);
  in_crashing_child(f, child_crash_after);
  open_pair(f, &a, &b);
  assert_int_equal(take_nums(a, NULL, NULL, 10, true), 3);
  assert_int_equal(take_nums(b, NULL, NULL, 10, true), 3);
  assert_int_equal(sp_state_get_watermark(f->state, "src", "k", &v, &found, &err), 0);
  assert_int_equal(v, 2);
  sp_channel_free(a);
  sp_channel_free(b);
  /* the outcome was written to the logs: a second restart does not ask again or duplicate */
  open_pair(f, &a, &b);
  assert_int_equal(take_nums(a, NULL, NULL, 10, true), 0);
  assert_int_equal(take_nums(b, NULL, NULL, 10, true), 0);
  sp_channel_free(a);
  sp_channel_free(b);
}

static void test_fanout_with_full_memory_channel(void **state) {
  fixture *f = *state;
  sp_channel *file = open_fc(f);
  sp_channel_config mc = {"tiny", 2, 2, NULL};
  sp_channel *mem;
  assert_int_equal(sp_channel_memory_open(&mc, &mem, NULL), 0);
  sp_channel *both[2] = {file, mem};
  sp_put_txn *t;
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  int rc = SP_OK;
  for (int i = 0; i < 3 && !rc; i++) rc = sp_put_txn_put(t, (const uint8_t *)"event-1", 7, 0, NULL);
  assert_int_equal(rc, SP_ERR_FULL);
  sp_put_txn_close(t);
  assert_int_equal(take_nums(file, NULL, NULL, 10, true), 0);
  sp_channel_free(mem);
  sp_channel_free(file);
  file = open_fc(f);
  assert_int_equal(take_nums(file, NULL, NULL, 10, true), 0);
  sp_channel_free(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_replay_after_crash, setup, teardown),
      cmocka_unit_test_setup_teardown(test_take_rollback_and_capacity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_takes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_take_while_putting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_min_free_disk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_with_prepared_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_record_quarantined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_checkpoint_falls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_segments_roll_and_are_deleted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fanout_crash_at_commit_point, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fanout_with_full_memory_channel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
