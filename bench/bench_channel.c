/*
 * bench_channel.c — the core pipeline's speed (issue 4 targets):
 *   1. events/s from a file channel into a file sink with durable commits (the
 *      producer commits put transactions of 1000 events with fdatasync; a sink
 *      runner thread takes batches of 1000 and publishes them with fsync + rename),
 *      next to a reference in the same run: the same bytes appended to one file with
 *      one fdatasync per 1000 events (the disk's own durable-append speed); then
 *      the same with every put transaction decided by the state store, as the
 *      pipeline commits (the channel's synced PREPARE, then the SQLite commit
 *      recording the transaction and a watermark);
 *   2. restart time with 1M events buffered: after a clean close (checkpoint covers
 *      everything) and after a crash (a child killed with SIGKILL after its puts:
 *      the log tail since the last checkpoint is replayed).
 * Usage: bench_channel [EVENTS_THROUGHPUT [EVENTS_RESTART [FORMAT]]]  (500000 1000000 csv)
 */
#include "core/channel_file.h"
#include "core/log.h"
#include "core/sink_runner.h"
#include "core/state.h"
#include "core/timeutil.h"
#include "sinks/sink.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TXN_EVENTS 1000

static void die(const char *what, const sp_error *err) {
  fprintf(stderr, "bench_channel: %s: %s\n", what, err ? err->msg : "");
  exit(1);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* One realistic event: an encoded financial_data row. */
static void make_event(sp_buf *out, int i) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  static const char *const tickers[] = {"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA"};
  sp_row row;
  if (sp_row_init(&row, ds)) exit(1);
  int64_t t = INT64_C(1764000000000000) + (int64_t)i * SP_US_PER_SEC; /* batches mostly within one day */
  sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), tickers[i % 7]);
  sp_row_set_i64(&row, sp_row_col(&row, "quote_time"), t);
  sp_row_set_double(&row, sp_row_col(&row, "price"), 100.0 + i * 0.01);
  sp_row_set_double(&row, sp_row_col(&row, "open"), 99.5);
  sp_row_set_i64(&row, sp_row_col(&row, "volume"), 1000000 + i);
  sp_row_set_cstr(&row, sp_row_col(&row, "currency"), "USD");
  sp_row_set_cstr(&row, sp_row_col(&row, "exchange"), "NMS");
  sp_row_set_cstr(&row, sp_row_col(&row, "provider"), "yahoo");
  sp_row_set_i64(&row, sp_row_col(&row, "collected_at"), t + 5 * SP_US_PER_SEC);
  sp_buf_reset(out);
  if (sp_row_encode(&row, out)) exit(1);
  sp_row_clear(&row);
}

static sp_channel *open_channel(const char *dir, size_t capacity, sp_error *err) {
  char ckpt[512], data[512];
  snprintf(ckpt, sizeof ckpt, "%s/channel/checkpoint", dir);
  snprintf(data, sizeof data, "%s/channel/data", dir);
  sp_channel_file_config cfg = {.channel = {"bench_channel", capacity, TXN_EVENTS, NULL},
                                .checkpoint_dir = ckpt, .data_dir = data, .min_free_bytes = 1};
  sp_channel *ch = NULL;
  if (sp_channel_file_open(&cfg, &ch, err)) return NULL;
  return ch;
}

/* Put n events in transactions of TXN_EVENTS; with a state store, each commit is
 * decided by it (advancing a watermark), as the pipeline's puts are. */
static void put_events(sp_channel *ch, int n, sp_state *state) {
  sp_buf ev = SP_BUF_INIT;
  sp_error err = {0};
  for (int i = 0; i < n; i += TXN_EVENTS) {
    sp_put_txn *t;
    if (sp_put_txn_begin(&ch, 1, &t, &err)) die("begin", &err);
    for (int k = i; k < i + TXN_EVENTS && k < n; k++) {
      make_event(&ev, k);
      if (sp_put_txn_put(t, ev.data, ev.len, 60 * SP_US_PER_SEC, &err)) die("put", &err);
    }
    sp_state_batch *b = state ? sp_state_batch_new() : NULL;
    if (state && (!b || sp_state_batch_advance_watermark(b, "bench_source", "AAPL", i))) die("state batch", NULL);
    sp_state_decision d = {state, b};
    if (sp_put_txn_commit(t, state ? sp_state_decide : NULL, &d, &err)) die("commit", &err);
    sp_state_batch_free(b);
    sp_put_txn_close(t);
  }
  sp_buf_free(&ev);
}

/* Reference: the same bytes appended to one file, fdatasync every TXN_EVENTS events. */
static double reference_events_per_sec(const char *dir, int n) {
  char path[512];
  snprintf(path, sizeof path, "%s/reference.bin", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("reference file", NULL);
  sp_buf ev = SP_BUF_INIT, batch = SP_BUF_INIT;
  int64_t t0 = sp_monotonic_us();
  for (int i = 0; i < n; i += TXN_EVENTS) {
    sp_buf_reset(&batch);
    for (int k = i; k < i + TXN_EVENTS && k < n; k++) {
      make_event(&ev, k);
      sp_buf_append_u32le(&batch, (uint32_t)ev.len);
      sp_buf_append(&batch, ev.data, ev.len);
    }
    if (write(fd, batch.data, batch.len) != (ssize_t)batch.len || fdatasync(fd) != 0) die("reference write", NULL);
  }
  double secs = (double)(sp_monotonic_us() - t0) / 1e6;
  close(fd);
  sp_buf_free(&ev);
  sp_buf_free(&batch);
  return n / secs;
}

/* Events/s from the producer's first put until the sink published the last event. */
static double channel_to_sink_events_per_sec(const char *dir, int n, const char *format, sp_state *state,
                                             double *puts_secs) {
  sp_error err = {0};
  sp_channel *ch = open_channel(dir, 100000, &err);
  if (!ch) die("open channel", &err);
  sp_sink_file_config sc = {.name = "bench_sink", .data_dir = dir, .path = "raw/financial_data/%Y-%m-%d",
                            .file_prefix = "bench_", .format = format};
  sp_sink *sink;
  if (sp_sink_file_open(&sc, &sink, &err)) die("open sink", &err);
  sp_sink_runner_config rc = {.channel = ch, .sink = sink, .data_dir = dir, .batch_size = TXN_EVENTS,
                              .batch_timeout_us = 50000};
  sp_sink_runner *runner;
  if (sp_sink_runner_create(&rc, &runner, &err)) die("runner", &err);
  int64_t t0 = sp_monotonic_us();
  if (sp_sink_runner_start(runner, &err)) die("start", &err);
  put_events(ch, n, state);
  int64_t put_done = sp_monotonic_us();
  sp_sink_counters c;
  do {
    usleep(2000);
    sp_metrics_snapshot_sink(&sink->counters, &c);
  } while (c.EventDrainSuccessCount < (uint64_t)n);
  int64_t t1 = sp_monotonic_us();
  sp_sink_runner_free(runner);
  sp_sink_close(sink);
  sp_channel_free(ch);
  *puts_secs = (double)(put_done - t0) / 1e6;
  return n / ((double)(t1 - t0) / 1e6);
}

static void bench_throughput(const char *dir, int n, const char *format) {
  double puts_secs;
  double eps = channel_to_sink_events_per_sec(dir, n, format, NULL, &puts_secs);
  double ref = reference_events_per_sec(dir, n);
  printf("file channel -> file sink (%s, durable): %d events in %.2f s (puts done at %.2f s): %.0f events/s\n", format,
         n, n / eps, puts_secs, eps);
  printf("  reference (same bytes, one file, fdatasync per %d events): %.0f events/s; ratio %.2f\n", TXN_EVENTS, ref,
         eps / ref);
  printf("  target >= 200000 events/s: %s (%.2fx)\n", eps >= 200000 ? "met" : "NOT met", eps / 200000);
  /* the pipeline's way: every put decided by the state store (a second SQLite sync) */
  char sub[512];
  snprintf(sub, sizeof sub, "%s/decided", dir);
  sp_state *state;
  sp_error err = {0};
  if (sp_state_open(sub, &state, &err)) die("state store", &err);
  double decided = channel_to_sink_events_per_sec(sub, n, format, state, &puts_secs);
  sp_state_close(state);
  printf("  with every put decided by the state store: %.0f events/s (puts done at %.2f s); ratio %.2f\n", decided,
         puts_secs, decided / ref);
}

static void bench_restart(const char *dir, int n) {
  sp_error err = {0};
  /* clean close: the final checkpoint covers everything */
  sp_channel *ch = open_channel(dir, (size_t)n + TXN_EVENTS, &err);
  if (!ch) die("open channel", &err);
  put_events(ch, n, NULL);
  sp_channel_free(ch);
  int64_t t0 = sp_monotonic_us();
  ch = open_channel(dir, (size_t)n + TXN_EVENTS, &err);
  if (!ch) die("reopen", &err);
  double clean_ms = (double)(sp_monotonic_us() - t0) / 1000;
  sp_channel_file_stats st;
  sp_channel_file_stats_get(ch, &st);
  sp_channel_free(ch);
  printf("restart with %llu events buffered, after a clean close: %.0f ms (target < 1000 ms: %s)\n",
         (unsigned long long)st.recovered_events, clean_ms, clean_ms < 1000 ? "met" : "NOT met");
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  /* crash: a child puts everything and is killed; the log since its first checkpoint is replayed */
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    sp_channel *c = open_channel(dir, (size_t)n + TXN_EVENTS, &err);
    if (!c) _exit(1);
    put_events(c, n, NULL);
    kill(getpid(), SIGKILL);
  }
  int status;
  waitpid(pid, &status, 0);
  t0 = sp_monotonic_us();
  ch = open_channel(dir, (size_t)n + TXN_EVENTS, &err);
  if (!ch) die("reopen after crash", &err);
  double crash_ms = (double)(sp_monotonic_us() - t0) / 1000;
  sp_channel_file_stats_get(ch, &st);
  sp_channel_free(ch);
  printf("restart with %llu events buffered, after SIGKILL (%llu log records replayed): %.0f ms (target < 1000 ms: %s)\n",
         (unsigned long long)st.recovered_events, (unsigned long long)st.replayed_records, crash_ms,
         crash_ms < 1000 ? "met" : "NOT met");
}

int main(int argc, char **argv) {
  int n_throughput = argc > 1 ? atoi(argv[1]) : 500000;
  int n_restart = argc > 2 ? atoi(argv[2]) : 1000000;
  const char *format = argc > 3 ? argv[3] : "csv";
  sp_log_set_level(SP_LOG_WARN);
  char dir[] = "/tmp/bench-channel-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp", NULL);
  bench_throughput(dir, n_throughput, format);
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (!mkdtemp(strcpy(dir, "/tmp/bench-channel-XXXXXX"))) die("mkdtemp", NULL);
  bench_restart(dir, n_restart);
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
