/*
 * test_crash_exactly_once.c — the core's end-to-end promise under SIGKILL: a
 * producer that reads its watermark from the state store and puts numbered rows
 * into a file channel (the watermark advancing in the same fan-out commit, decided
 * by the state store), a sink runner thread publishing them through the file sink
 * as JSON Lines, and a parent that kills the process at random moments and restarts
 * it.  Afterwards every number must be stored exactly once.  Run once with one
 * channel, once with a fan-out to two channels whose second sink fails a third of
 * its commits.
 * Kills: STOCKPIPE_CRASH_KILLS (default 8; 200+ for a long run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/channel_file.h"
#include "core/log.h"
#include "core/sink_runner.h"
#include "core/state.h"
#include "core_test_util.h"
#include "flaky_sink.h"

#include <signal.h>
#include <sys/wait.h>

#define TOTAL 4000
#define PER_TXN 50

/* One channel → sink pipe of the child: out/<name>/ gets the files. */
typedef struct pipe_parts {
  sp_channel *channel;
  sp_sink *sink;
  sp_sink_runner *runner;
} pipe_parts;

static void open_pipe(const char *dir, const char *name, sp_state *state, bool flaky, pipe_parts *p) {
  char ckpt[256], data[256], path[64], sink_name[64];
  snprintf(ckpt, sizeof ckpt, "%s/.channels/%s/checkpoint", dir, name);
  snprintf(data, sizeof data, "%s/.channels/%s/data", dir, name);
  snprintf(path, sizeof path, "out/%s/%%Y-%%m-%%d", name);
  snprintf(sink_name, sizeof sink_name, "%s_sink", name);
  sp_error err = {0};
  sp_channel_file_config cc = {.channel = {name, 1000, PER_TXN, NULL}, .checkpoint_dir = ckpt,
                               .data_dir = data, .min_free_bytes = 1, .checkpoint_interval_us = 50000,
                               .resolver = sp_state_resolve_txn, .resolver_ctx = state};
  if (sp_channel_file_open(&cc, &p->channel, &err)) _exit(11);
  sp_sink_file_config sc = {.name = sink_name, .data_dir = dir, .path = path, .file_prefix = "p_", .format = "jsonl"};
  if (sp_sink_file_open(&sc, &p->sink, &err)) _exit(12);
  if (flaky) {
    /* fails about a third of its commits, transiently */
    flaky_sink *f = flaky_sink_wrap(p->sink, "flaky_sink", 0, 33, (unsigned)getpid());
    if (!f) _exit(12);
    p->sink = &f->base;
  }
  sp_sink_runner_config rc = {.channel = p->channel, .sink = p->sink, .data_dir = dir, .batch_size = 37,
                              .batch_timeout_us = 2000, .backoff_initial_us = 1000, .backoff_max_us = 20000};
  if (sp_sink_runner_create(&rc, &p->runner, &err) || sp_sink_runner_start(p->runner, &err)) _exit(13);
}

static void run_pipeline(const char *dir, bool finish, bool fanout) {
  sp_log_set_level(SP_LOG_OFF);
  sp_error err = {0};
  sp_state *state;
  if (sp_state_open(dir, &state, &err)) _exit(10);
  pipe_parts pipes[2];
  size_t npipes = fanout ? 2 : 1;
  open_pipe(dir, "a", state, false, &pipes[0]);
  if (fanout) open_pipe(dir, "b", state, true, &pipes[1]);
  sp_channel *channels[2] = {pipes[0].channel, fanout ? pipes[1].channel : NULL};
  sp_buf ev = SP_BUF_INIT;
  for (;;) {
    int64_t done = 0;
    bool found;
    if (sp_state_get_watermark(state, "producer", "n", &done, &found, &err)) _exit(14);
    if (done >= TOTAL) break;
    sp_put_txn *t;
    if (sp_put_txn_begin(channels, npipes, &t, &err)) _exit(15);
    sp_state_batch *b = sp_state_batch_new();
    int64_t last = done;
    for (int64_t i = done + 1; i <= done + PER_TXN && i <= TOTAL; i++) {
      /* rows of several days, so batches span partitions */
      make_quote_event(&ev, "CRSH", ts_of("2026-01-01T00:00:00Z") + i * 600 * SP_US_PER_SEC, (double)i);
      if (sp_put_txn_put(t, ev.data, ev.len, 10 * SP_US_PER_SEC, &err)) _exit(16);
      last = i;
    }
    sp_state_batch_advance_watermark(b, "producer", "n", last);
    sp_state_decision d = {state, b};
    if (sp_put_txn_commit(t, sp_state_decide, &d, &err)) _exit(17);
    sp_put_txn_close(t);
    sp_state_batch_free(b);
  }
  sp_buf_free(&ev);
  if (!finish)
    for (;;) pause(); /* wait for the kill */
  for (size_t i = 0; i < npipes; i++) {
    sp_sink_runner_stop(pipes[i].runner, 30 * SP_US_PER_SEC);
    sp_sink_runner_free(pipes[i].runner);
    sp_channel_counters c;
    sp_channel_counters_snapshot(pipes[i].channel, &c);
    if (c.ChannelSize != 0) _exit(18);
    sp_sink_close(pipes[i].sink);
    sp_channel_free(pipes[i].channel);
  }
  sp_state_close(state);
  _exit(0);
}

static int run_child(const char *dir, bool finish, bool fanout, int64_t kill_after_us) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) run_pipeline(dir, finish, fanout);
  if (kill_after_us > 0) {
    usleep((useconds_t)kill_after_us);
    kill(pid, SIGKILL);
  }
  int status;
  waitpid(pid, &status, 0);
  return status;
}

/* Count how often each number is stored under out/<name>/. */
static void check_output(const char *dir, const char *name, int kills, int kills_while_producing) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cat %s/out/%s/*/*.jsonl | grep -o '\"price\":[0-9]*' | cut -d: -f2", dir, name);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  static int seen[TOTAL + 1];
  memset(seen, 0, sizeof seen);
  int v, dups = 0, rows = 0;
  while (fscanf(p, "%d", &v) == 1) {
    rows++;
    if (v >= 1 && v <= TOTAL && seen[v]++) dups++;
  }
  pclose(p);
  int lost = 0;
  for (int i = 1; i <= TOTAL; i++) lost += seen[i] == 0;
  printf("# sink %s: kills %d (%d while producing), rows stored %d, lost %d, duplicated %d\n", name, kills,
         kills_while_producing, rows, lost, dups);
  assert_int_equal(dups, 0);
  assert_int_equal(lost, 0);
  assert_int_equal(rows, TOTAL);
}

static void kill_restart(bool fanout) {
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  const char *env = getenv("STOCKPIPE_CRASH_KILLS");
  int kills = env && atoi(env) > 0 ? atoi(env) : 8;
  unsigned seed = (unsigned)sp_now_us();
  int kills_while_producing = 0;
  for (int k = 0; k < kills; k++) {
    int status = run_child(dir, false, fanout, 10000 + rand_r(&seed) % 40000);
    if (WIFEXITED(status)) fail_msg("child exited with %d before its kill", WEXITSTATUS(status));
    sp_state *st;
    int64_t done = 0;
    bool found = false;
    assert_int_equal(sp_state_open(dir, &st, NULL), 0);
    assert_int_equal(sp_state_get_watermark(st, "producer", "n", &done, &found, NULL), 0);
    sp_state_close(st);
    kills_while_producing += done < TOTAL;
  }
  int status = run_child(dir, true, fanout, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  check_output(dir, "a", kills, kills_while_producing);
  if (fanout) check_output(dir, "b", kills, kills_while_producing);
  remove_tree(dir);
}

static void test_kill_restart_exactly_once(void **state) {
  (void)state;
  kill_restart(false);
}

/* One source bound to two file channels (one fan-out transaction decided by the
 * state store), the second drained by a sink failing a third of its commits. */
static void test_kill_restart_fanout_flaky_sink(void **state) {
  (void)state;
  kill_restart(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_restart_exactly_once),
                                     cmocka_unit_test(test_kill_restart_fanout_flaky_sink)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
