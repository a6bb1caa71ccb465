/*
 * test_sink_runner.c — channel → sink delivery: batching and its counters, retries
 * of transient sink failures (published once), a permanent failure narrowed to the
 * bad event and quarantined with its reason, giving up after max_attempts, the
 * threaded runner with a dead sink that does not stall a healthy one, the
 * backoff schedule, and the batch duration histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/sink_runner.h"
#include "core_test_util.h"
#include "flaky_sink.h"

#include <dirent.h>

/* How long a drain may retry, and how long a test waits for a runner thread: far more
 * than any of them takes (they end as soon as the work is done), so that a loaded
 * machine (ASan, parallel tests) cannot make them time out. */
#define DRAIN_US (60 * SP_US_PER_SEC)

static sp_sink *open_file_sink(const char *dir, const char *name) {
  sp_sink_file_config cfg = {.name = name, .data_dir = dir, .path = "out/%Y-%m-%d", .file_prefix = "q_",
                             .format = "jsonl"};
  sp_sink *s;
  sp_error err = {0};
  if (sp_sink_file_open(&cfg, &s, &err)) fail_msg("%s", err.msg);
  return s;
}

static flaky_sink *open_flaky(const char *dir, const char *name, int fail_commits) {
  char inner[64];
  snprintf(inner, sizeof inner, "%s_inner", name);
  flaky_sink *f = flaky_sink_wrap(open_file_sink(dir, inner), name, fail_commits, 0, 1);
  assert_non_null(f);
  return f;
}

static sp_channel *open_channel(const char *name, size_t cap) {
  sp_channel_config cfg = {name, cap, cap, NULL};
  sp_channel *ch;
  assert_int_equal(sp_channel_memory_open(&cfg, &ch, NULL), 0);
  return ch;
}

/* Put n quote events (one corrupt at index `corrupt`, -1 for none). */
static void put_quotes(sp_channel *ch, int n, int corrupt) {
  sp_put_txn *t;
  assert_int_equal(sp_put_txn_begin(&ch, 1, &t, NULL), 0);
  sp_buf b = SP_BUF_INIT;
  for (int i = 0; i < n; i++) {
    make_quote_event(&b, "AMZN", ts_of("2026-11-20T15:00:00Z") + i * SP_US_PER_SEC, i);
    size_t len = i == corrupt ? b.len - 2 : b.len;
    assert_int_equal(sp_put_txn_put(t, b.data, len, 0, NULL), 0);
  }
  assert_int_equal(sp_put_txn_commit(t, NULL, NULL, NULL), 0);
  sp_put_txn_close(t);
  sp_buf_free(&b);
}

static int count_rows(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cat %s/out/*/*.jsonl 2>/dev/null | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  return n;
}

static sp_sink_runner *make_runner(sp_channel *ch, sp_sink *s, const char *dir, size_t batch, unsigned max_attempts) {
  sp_sink_runner_config cfg = {.channel = ch, .sink = s, .data_dir = dir, .batch_size = batch,
                               .backoff_initial_us = 1000, .backoff_max_us = 5000, .max_attempts = max_attempts,
                               .batch_timeout_us = 20000};
  sp_sink_runner *r;
  sp_error err = {0};
  if (sp_sink_runner_create(&cfg, &r, &err)) fail_msg("%s", err.msg);
  return r;
}

static void test_drain_batches_and_counters(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_channel *ch = open_channel("drain_ch", 100);
  sp_sink *s = open_file_sink(dir, "drain_sink");
  sp_sink_runner *r = make_runner(ch, s, dir, 10, 0);
  put_quotes(ch, 25, -1);
  uint64_t delivered = 0;
  sp_error err = {0};
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, &delivered, &err), 0);
  assert_int_equal(delivered, 25);
  assert_int_equal(count_rows(dir), 25);
  sp_sink_counters sc;
  sp_metrics_snapshot_sink(&s->counters, &sc);
  assert_int_equal(sc.EventDrainAttemptCount, 25);
  assert_int_equal(sc.EventDrainSuccessCount, 25);
  assert_int_equal(sc.BatchCompleteCount, 2);
  assert_int_equal(sc.BatchUnderflowCount, 1);
  assert_int_equal(sc.BatchEmptyCount, 1);
  sp_channel_counters cc;
  sp_channel_counters_snapshot(ch, &cc);
  assert_int_equal(cc.EventPutSuccessCount, sc.EventDrainSuccessCount + sc.EventQuarantinedCount + cc.ChannelSize);
  sp_sink_runner_status st;
  sp_sink_runner_status_get(r, &st);
  assert_true(st.last_success_us > 0);
  /* a closed channel still drains, and an empty closed one is not an error */
  put_quotes(ch, 3, -1);
  sp_channel_close(ch);
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, &delivered, &err), 0);
  assert_int_equal(delivered, 3);
  sp_sink_runner_free(r);
  sp_sink_close(s);
  sp_channel_free(ch);
  remove_tree(dir);
}

static void test_transient_failures_retried(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_channel *ch = open_channel("retry_ch", 100);
  flaky_sink *f = open_flaky(dir, "retry_sink", 3);
  sp_sink_runner *r = make_runner(ch, &f->base, dir, 50, 0);
  put_quotes(ch, 12, -1);
  sp_error err = {0};
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, NULL, &err), 0);
  assert_int_equal(count_rows(dir), 12);
  sp_sink_counters sc;
  sp_metrics_snapshot_sink(&f->base.counters, &sc);
  assert_int_equal(sc.WriteRetryCount, 3);
  assert_int_equal(sc.EventDrainSuccessCount, 12);
  sp_sink_runner_free(r);
  sp_sink_close(&f->base);
  sp_channel_free(ch);
  remove_tree(dir);
}

static void test_permanent_failure_quarantined(void **state) {
  (void)state;
  char dir[128], path[512];
  make_temp_dir(dir, sizeof dir);
  sp_channel *ch = open_channel("perm_ch", 100);
  sp_sink *s = open_file_sink(dir, "perm_sink");
  sp_sink_runner *r = make_runner(ch, s, dir, 10, 0);
  put_quotes(ch, 5, 2);
  sp_error err = {0};
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, NULL, &err), 0);
  assert_int_equal(count_rows(dir), 4);
  sp_sink_counters sc;
  sp_metrics_snapshot_sink(&s->counters, &sc);
  assert_int_equal(sc.EventDrainSuccessCount, 4);
  assert_int_equal(sc.EventQuarantinedCount, 1);
  sp_channel_counters cc;
  sp_channel_counters_snapshot(ch, &cc);
  assert_int_equal(cc.ChannelSize, 0);
  /* the quarantine file names the event and the reason */
  void *txn;
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  sp_channel_take_rollback(ch, txn);
  snprintf(path, sizeof path, "%s/quarantine/sinks/perm_sink", dir);
  DIR *d = opendir(path);
  assert_non_null(d);
  struct dirent *de;
  char name[256] = "";
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') snprintf(name, sizeof name, "%s", de->d_name);
  closedir(d);
  snprintf(path, sizeof path, "%s/quarantine/sinks/perm_sink/%s", dir, name);
  char *text = read_text_file(path);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"reason\":\"sink perm_sink: event "));
  assert_non_null(strstr(text, "truncated"));
  assert_non_null(strstr(text, "\"event_hex\":\"01"));
  free(text);
  sp_sink_runner_free(r);
  sp_sink_close(s);
  sp_channel_free(ch);
  remove_tree(dir);
}

static void test_gives_up_after_max_attempts(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_channel *ch = open_channel("giveup_ch", 100);
  flaky_sink *f = open_flaky(dir, "giveup_sink", -1);
  sp_sink_runner *r = make_runner(ch, &f->base, dir, 10, 3);
  put_quotes(ch, 3, -1);
  sp_error err = {0};
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, NULL, &err), 0);
  assert_int_equal(count_rows(dir), 0);
  sp_sink_counters sc;
  sp_metrics_snapshot_sink(&f->base.counters, &sc);
  assert_int_equal(sc.EventQuarantinedCount, 3);
  assert_int_equal(f->commits, 3);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "grep -c 'gave up after 3 attempts' %s/quarantine/sinks/giveup_sink/*.jsonl", dir);
  FILE *p = popen(cmd, "r");
  int lines = 0;
  assert_int_equal(fscanf(p, "%d", &lines), 1);
  pclose(p);
  assert_int_equal(lines, 3);
  sp_sink_runner_free(r);
  sp_sink_close(&f->base);
  sp_channel_free(ch);
  remove_tree(dir);
}

static void test_dead_sink_does_not_stall_others(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_channel *good_ch = open_channel("good_ch", 100), *dead_ch = open_channel("dead_ch", 100);
  sp_sink *good = open_file_sink(dir, "good_sink");
  flaky_sink *dead = open_flaky(dir, "dead_sink", -1);
  sp_sink_runner *rg = make_runner(good_ch, good, dir, 10, 0), *rd = make_runner(dead_ch, &dead->base, dir, 10, 0);
  assert_int_equal(sp_sink_runner_start(rg, NULL), 0);
  assert_int_equal(sp_sink_runner_start(rd, NULL), 0);
  put_quotes(dead_ch, 7, -1);
  put_quotes(good_ch, 30, -1);
  int64_t until = sp_monotonic_us() + DRAIN_US;
  while (count_rows(dir) < 30 && sp_monotonic_us() < until) usleep(10000);
  assert_int_equal(count_rows(dir), 30);
  sp_sink_runner_status st;
  do {
    usleep(5000);
    sp_sink_runner_status_get(rd, &st);
  } while (st.consecutive_failures == 0 && sp_monotonic_us() < until);
  assert_true(st.running);
  assert_true(st.consecutive_failures > 0);
  assert_non_null(strstr(st.last_error, "server unreachable"));
  /* stopping does not wait for the dead sink's endless retries (10 s: far above a
   * stop's own time, far below forever) */
  int64_t t0 = sp_monotonic_us();
  sp_sink_runner_stop(rd, 0);
  assert_true(sp_monotonic_us() - t0 < 10 * SP_US_PER_SEC);
  sp_sink_runner_stop(rg, SP_US_PER_SEC);
  /* the dead sink's events are still in its channel */
  sp_channel_counters cc;
  sp_channel_counters_snapshot(dead_ch, &cc);
  assert_int_equal(cc.ChannelSize, 7);
  sp_sink_runner_free(rg);
  sp_sink_runner_free(rd);
  sp_sink_close(good);
  sp_sink_close(&dead->base);
  sp_channel_free(good_ch);
  sp_channel_free(dead_ch);
  remove_tree(dir);
}

/* The cumulative buckets of `sink`'s series in Prometheus text `t`: checks the
 * bounds ascend and the counts never decrease, returns the +Inf count. */
static unsigned long long batch_buckets_checked(const char *t, const char *sink) {
  char prefix[128];
  int plen = snprintf(prefix, sizeof prefix, "stockpipe_sink_batch_duration_seconds_bucket{sink=\"%s\",le=\"", sink);
  double last_le = -1;
  unsigned long long last = 0, inf = 0;
  int n = 0;
  for (const char *line = strstr(t, prefix); line; line = strstr(line + 1, prefix)) {
    const char *le = line + plen;
    unsigned long long v;
    if (strncmp(le, "+Inf\"} ", 7) == 0) {
      assert_int_equal(sscanf(le + 7, "%llu", &inf), 1);
      assert_true(inf >= last);
      n++;
      break;
    }
    double bound;
    assert_int_equal(sscanf(le, "%lf\"} %llu", &bound, &v), 2);
    assert_true(bound > last_le);
    assert_true(v >= last);
    last_le = bound;
    last = v;
    n++;
  }
  assert_int_equal(n, 20); /* 19 bounds and +Inf */
  return inf;
}

/* The batch duration histogram: one observation per committed batch (a transient
 * failure's retries inside it), cumulative and monotone buckets, _count equal to
 * BatchCompleteCount + BatchUnderflowCount; a batch rolled back is not observed. */
static void test_batch_latency_histogram(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_latency *lat;
  assert_int_equal(sp_latency_new("stockpipe_sink_batch_duration_seconds", "Batch time.", "sink", &lat), 0);
  sp_channel *ch = open_channel("hist_ch", 100), *dead_ch = open_channel("hist_dead_ch", 100);
  flaky_sink *f = open_flaky(dir, "hist_sink", 2), *dead = open_flaky(dir, "hist_dead_sink", -1);
  sp_sink_runner_config cfg = {.channel = ch, .sink = &f->base, .data_dir = dir, .batch_size = 10,
                               .backoff_initial_us = 1000, .backoff_max_us = 5000, .batch_latency = lat};
  sp_sink_runner *r, *rd;
  sp_error err = {0};
  assert_int_equal(sp_sink_runner_create(&cfg, &r, &err), 0);
  cfg.channel = dead_ch;
  cfg.sink = &dead->base;
  assert_int_equal(sp_sink_runner_create(&cfg, &rd, &err), 0);
  put_quotes(ch, 25, -1);
  put_quotes(dead_ch, 4, -1);
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, NULL, &err), 0);
  assert_int_equal(sp_sink_runner_drain(rd, sp_monotonic_us() + 20000, NULL, &err), SP_ERR_TIMEOUT);

  sp_sink_counters sc, dc;
  sp_metrics_snapshot_sink(&f->base.counters, &sc);
  sp_metrics_snapshot_sink(&dead->base.counters, &dc);
  assert_int_equal(sc.BatchCompleteCount + sc.BatchUnderflowCount, 3);
  assert_int_equal(dc.BatchUnderflowCount, 1); /* attempted, never committed */
  sp_buf text = SP_BUF_INIT;
  assert_int_equal(sp_latency_render_prometheus(lat, &text), 0);
  assert_int_equal(sp_buf_append_str(&text, ""), 0);
  const char *t = (const char *)text.data;
  assert_non_null(strstr(t, "# TYPE stockpipe_sink_batch_duration_seconds histogram\n"));
  assert_int_equal(batch_buckets_checked(t, "hist_sink"), sc.BatchCompleteCount + sc.BatchUnderflowCount);
  assert_non_null(strstr(t, "stockpipe_sink_batch_duration_seconds_count{sink=\"hist_sink\"} 3\n"));
  /* the first batch waited out two retries (each at least half of 1 ms, then 2 ms) */
  const char *sum = strstr(t, "stockpipe_sink_batch_duration_seconds_sum{sink=\"hist_sink\"} ");
  assert_non_null(sum);
  assert_true(strtod(strchr(sum, '}') + 2, NULL) >= 0.0015);
  /* the rolled-back batch is not observed; the series exists from the runner's creation */
  assert_int_equal(batch_buckets_checked(t, "hist_dead_sink"), 0);
  assert_non_null(strstr(t, "stockpipe_sink_batch_duration_seconds_count{sink=\"hist_dead_sink\"} 0\n"));
  sp_buf_free(&text);

  sp_sink_runner_free(r);
  sp_sink_runner_free(rd);
  sp_sink_close(&f->base);
  sp_sink_close(&dead->base);
  sp_channel_free(ch);
  sp_channel_free(dead_ch);
  sp_latency_free(lat);
  remove_tree(dir);
}

/* Roll by interval (a partial batch is published once batch_timeout_us passed) and
 * by bytes (a batch stops growing at batch_bytes). */
static void test_roll_by_interval_and_bytes(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_channel *ch = open_channel("roll_ch", 1000);
  sp_sink *s = open_file_sink(dir, "roll_sink");
  sp_sink_runner_config cfg = {.channel = ch, .sink = s, .data_dir = dir, .batch_size = 500,
                               .batch_timeout_us = 30000};
  sp_sink_runner *r;
  assert_int_equal(sp_sink_runner_create(&cfg, &r, NULL), 0);
  assert_int_equal(sp_sink_runner_start(r, NULL), 0);
  put_quotes(ch, 5, -1);
  int64_t until = sp_monotonic_us() + DRAIN_US;
  while (count_rows(dir) < 5 && sp_monotonic_us() < until) usleep(5000);
  assert_int_equal(count_rows(dir), 5);
  sp_sink_runner_stop(r, SP_US_PER_SEC);
  sp_sink_counters sc;
  sp_metrics_snapshot_sink(&s->counters, &sc);
  assert_int_equal(sc.BatchUnderflowCount, 1);
  sp_sink_runner_free(r);
  /* bytes: a batch is full once it holds batch_bytes, here after a single event */
  cfg.batch_bytes = 1;
  cfg.batch_timeout_us = 0;
  assert_int_equal(sp_sink_runner_create(&cfg, &r, NULL), 0);
  put_quotes(ch, 6, -1);
  uint64_t delivered = 0;
  assert_int_equal(sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, &delivered, NULL), 0);
  assert_int_equal(delivered, 6);
  sp_metrics_snapshot_sink(&s->counters, &sc);
  assert_int_equal(sc.BatchUnderflowCount, 1 + 6);
  sp_sink_runner_free(r);
  sp_sink_close(s);
  sp_channel_free(ch);
  remove_tree(dir);
}

static void test_backoff_schedule(void **state) {
  (void)state;
  unsigned seed = 42;
  for (unsigned attempt = 1; attempt <= 20; attempt++) {
    int64_t d = sp_backoff_delay_us(attempt, 100, 3000, &seed);
    int64_t base = attempt >= 6 ? 3000 : 100 << (attempt - 1);
    assert_true(d >= base / 2 && d < base);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drain_batches_and_counters),  cmocka_unit_test(test_transient_failures_retried),
      cmocka_unit_test(test_permanent_failure_quarantined), cmocka_unit_test(test_gives_up_after_max_attempts),
      cmocka_unit_test(test_dead_sink_does_not_stall_others), cmocka_unit_test(test_roll_by_interval_and_bytes),
      cmocka_unit_test(test_backoff_schedule),            cmocka_unit_test(test_batch_latency_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
