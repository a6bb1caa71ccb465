/*
 * test_crash_exactly_once.c — the core's end-to-end promise under SIGKILL: a
 * producer that reads its watermark from the state store and puts numbered rows
 * into a file channel (the watermark advancing in the same fan-out commit, decided
 * by the state store), a sink runner thread publishing them through the file sink
 * as JSON Lines, and a parent that kills the process at random moments and restarts
 * it.  Afterwards every number must be stored exactly once.
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

#include <signal.h>
#include <sys/wait.h>

#define TOTAL 3000
#define PER_TXN 50

static void run_pipeline(const char *dir, bool finish) {
  sp_log_set_level(SP_LOG_ERROR);
  char ckpt[256], data[256];
  snprintf(ckpt, sizeof ckpt, "%s/.channels/c/checkpoint", dir);
  snprintf(data, sizeof data, "%s/.channels/c/data", dir);
  sp_error err = {0};
  sp_state *state;
  if (sp_state_open(dir, &state, &err)) _exit(10);
  sp_channel_file_config cc = {.channel = {"crash_channel", 1000, PER_TXN, NULL}, .checkpoint_dir = ckpt,
                               .data_dir = data, .min_free_bytes = 1, .checkpoint_interval_us = 50000,
                               .resolver = sp_state_resolve_txn, .resolver_ctx = state};
  sp_channel *ch;
  if (sp_channel_file_open(&cc, &ch, &err)) _exit(11);
  sp_sink_file_config sc = {.name = "crash_sink", .data_dir = dir, .path = "out/%Y-%m-%d", .file_prefix = "p_",
                            .format = "jsonl"};
  sp_sink *sink;
  if (sp_sink_file_open(&sc, &sink, &err)) _exit(12);
  sp_sink_runner_config rc = {.channel = ch, .sink = sink, .data_dir = dir, .batch_size = 37,
                              .batch_timeout_us = 2000};
  sp_sink_runner *runner;
  if (sp_sink_runner_create(&rc, &runner, &err) || sp_sink_runner_start(runner, &err)) _exit(13);
  sp_buf ev = SP_BUF_INIT;
  for (;;) {
    int64_t done = 0;
    bool found;
    if (sp_state_get_watermark(state, "producer", "n", &done, &found, &err)) _exit(14);
    if (done >= TOTAL) break;
    sp_put_txn *t;
    if (sp_put_txn_begin(&ch, 1, &t, &err)) _exit(15);
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
  if (finish) {
    sp_sink_runner_stop(runner, 30 * SP_US_PER_SEC);
    sp_sink_runner_free(runner);
    sp_channel_counters c;
    sp_channel_counters_snapshot(ch, &c);
    if (c.ChannelSize != 0) _exit(18);
    sp_sink_close(sink);
    sp_channel_free(ch);
    sp_state_close(state);
    _exit(0);
  }
  for (;;) pause(); /* wait for the kill */
}

static int run_child(const char *dir, bool finish, int64_t kill_after_us) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) run_pipeline(dir, finish);
  if (kill_after_us > 0) {
    usleep((useconds_t)kill_after_us);
    kill(pid, SIGKILL);
  }
  int status;
  waitpid(pid, &status, 0);
  return status;
}

static void test_kill_restart_exactly_once(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  const char *env = getenv("STOCKPIPE_CRASH_KILLS");
  int kills = env && atoi(env) > 0 ? atoi(env) : 8;
  unsigned seed = (unsigned)sp_now_us();
  int kills_while_producing = 0;
  for (int k = 0; k < kills; k++) {
    int status = run_child(dir, false, 10000 + rand_r(&seed) % 60000);
    if (WIFEXITED(status)) fail_msg("child exited with %d before its kill", WEXITSTATUS(status));
    sp_state *st;
    int64_t done = 0;
    bool found = false;
    assert_int_equal(sp_state_open(dir, &st, NULL), 0);
    assert_int_equal(sp_state_get_watermark(st, "producer", "n", &done, &found, NULL), 0);
    sp_state_close(st);
    kills_while_producing += done < TOTAL;
  }
  int status = run_child(dir, true, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* every number exactly once */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cat %s/out/*/*.jsonl | grep -o '\"price\":[0-9]*' | cut -d: -f2 | sort -n", dir);
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
  printf("# kills %d (%d while producing), rows stored %d, lost %d, duplicated %d\n", kills, kills_while_producing,
         rows, lost, dups);
  assert_int_equal(dups, 0);
  assert_int_equal(lost, 0);
  assert_int_equal(rows, TOTAL);
  remove_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_restart_exactly_once)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
