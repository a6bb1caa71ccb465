/*
 * test_state.c — the SQLite state store: watermarks only advance, seen keys, blobs,
 * atomic batches recording the put transaction id, persistence across reopen,
 * pruning, a corrupt database file, and the fan-out decide callback (the watermark
 * moves exactly when the channels commit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/channel.h"
#include "core/state.h"
#include "core/durable.h"
#include "core_test_util.h"

static void test_watermarks_seen_blobs(void **state) {
  (void)state;
  temp_store store;
  sp_state *st = temp_store_open(&store);
  sp_error err = {0};
  int64_t v = -1;
  bool found = true;
  assert_int_equal(sp_state_get_watermark(st, "financial_source", "AAPL", &v, &found, &err), 0);
  assert_false(found);
  sp_state_batch *b = sp_state_batch_new();
  assert_int_equal(sp_state_batch_advance_watermark(b, "financial_source", "AAPL", 500), 0);
  assert_int_equal(sp_state_batch_advance_watermark(b, "movement_source", "AAPL/1h", 42), 0);
  assert_int_equal(sp_state_batch_add_seen(b, "news_source", "abc123"), 0);
  assert_int_equal(sp_state_batch_put_blob(b, "movement_source", "AAPL/1h", "\x00\x01\x02", 3), 0);
  assert_int_equal(sp_state_batch_count(b), 4);
  assert_int_equal(sp_state_batch_commit(st, b, 0, &err), 0);
  sp_state_batch_free(b);
  /* a lower value does not move the watermark back */
  b = sp_state_batch_new();
  assert_int_equal(sp_state_batch_advance_watermark(b, "financial_source", "AAPL", 100), 0);
  assert_int_equal(sp_state_batch_commit(st, b, 0, &err), 0);
  sp_state_batch_free(b);
  sp_state_close(st);
  /* everything survives a reopen */
  assert_int_equal(sp_state_open(store.dir, &store.st, &err), 0);
  st = store.st;
  assert_int_equal(sp_state_get_watermark(st, "financial_source", "AAPL", &v, &found, &err), 0);
  assert_true(found);
  assert_int_equal(v, 500);
  assert_int_equal(sp_state_get_watermark(st, "movement_source", "AAPL/1h", &v, &found, &err), 0);
  assert_int_equal(v, 42);
  bool seen = false;
  assert_int_equal(sp_state_seen(st, "news_source", "abc123", &seen, &err), 0);
  assert_true(seen);
  assert_int_equal(sp_state_seen(st, "news_source", "zzz", &seen, &err), 0);
  assert_false(seen);
  assert_int_equal(sp_state_seen(st, "other_source", "abc123", &seen, &err), 0);
  assert_false(seen);
  sp_buf blob = SP_BUF_INIT;
  assert_int_equal(sp_state_get_blob(st, "movement_source", "AAPL/1h", &blob, &found, &err), 0);
  assert_true(found);
  assert_int_equal(blob.len, 3);
  assert_memory_equal(blob.data, "\x00\x01\x02", 3);
  sp_buf_free(&blob);
  /* pruning removes seen keys older than the cut */
  uint64_t removed = 0;
  assert_int_equal(sp_state_prune(st, "news_source", sp_now_us() + SP_US_PER_SEC, &removed, &err), 0);
  assert_int_equal(removed, 1);
  assert_int_equal(sp_state_seen(st, "news_source", "abc123", &seen, &err), 0);
  assert_false(seen);
  temp_store_close(&store);
}

/* A series' rows staged one after another (its watermark and floor each row, as the
 * pipeline does) cost one change per key, holding the max (watermark) and min (floor);
 * another key in between starts a new change, and the committed values are what every
 * row asked. */
static void test_watermarks_merge_per_series(void **state) {
  (void)state;
  temp_store store;
  sp_state *st = temp_store_open(&store);
  sp_error err = {0};
  sp_state_batch *b = sp_state_batch_new();
  const int64_t times[] = {300, 100, 500, 200};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(sp_state_batch_advance_watermark(b, "movement_source", "AAPL/1h", times[i]), 0);
    assert_int_equal(sp_state_batch_lower_watermark(b, "movement_source", "AAPL/1h@first", times[i]), 0);
  }
  assert_int_equal(sp_state_batch_count(b), 2);
  for (int i = 0; i < 8; i++) { /* eight other keys push AAPL out of the merge window */
    char key[32];
    snprintf(key, sizeof key, "T%d/1h", i);
    assert_int_equal(sp_state_batch_advance_watermark(b, "movement_source", key, 50), 0);
  }
  assert_int_equal(sp_state_batch_advance_watermark(b, "movement_source", "AAPL/1h", 600), 0);
  assert_int_equal(sp_state_batch_count(b), 2 + 8 + 1);
  assert_int_equal(sp_state_batch_commit(st, b, 0, &err), 0);
  sp_state_batch_free(b);
  int64_t v = 0;
  bool found = false;
  assert_int_equal(sp_state_get_watermark(st, "movement_source", "AAPL/1h", &v, &found, &err), 0);
  assert_true(found);
  assert_int_equal(v, 600);
  assert_int_equal(sp_state_get_watermark(st, "movement_source", "AAPL/1h@first", &v, &found, &err), 0);
  assert_int_equal(v, 100);
  assert_int_equal(sp_state_get_watermark(st, "movement_source", "T7/1h", &v, &found, &err), 0);
  assert_int_equal(v, 50);
  temp_store_close(&store);
}

static void test_decide_moves_watermark_with_commit(void **state) {
  (void)state;
  temp_store store;
  sp_state *st = temp_store_open(&store);
  sp_error err = {0};
  sp_channel_config ca = {"state_a", 10, 10, NULL}, cb = {"state_b", 1, 1, NULL};
  sp_channel *a, *b;
  assert_int_equal(sp_channel_memory_open(&ca, &a, NULL), 0);
  assert_int_equal(sp_channel_memory_open(&cb, &b, NULL), 0);
  sp_channel *both[2] = {a, b};
  /* committed: watermark and transaction id recorded */
  sp_state_batch *batch = sp_state_batch_new();
  sp_put_txn *t;
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"r1", 2, 0, NULL), 0);
  assert_int_equal(sp_state_batch_advance_watermark(batch, "src", "k", 10), 0);
  sp_state_decision d = {st, batch};
  assert_int_equal(sp_put_txn_commit(t, sp_state_decide, &d, &err), 0);
  uint64_t txid = sp_put_txn_id(t);
  sp_put_txn_close(t);
  sp_state_batch_free(batch);
  bool committed = false;
  assert_int_equal(sp_state_resolve_txn(st, txid, &committed, &err), 0);
  assert_true(committed);
  int64_t v;
  bool found;
  assert_int_equal(sp_state_get_watermark(st, "src", "k", &v, &found, &err), 0);
  assert_int_equal(v, 10);
  /* b is full: the put fails, so the watermark never moves and no id is recorded */
  batch = sp_state_batch_new();
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"r2", 2, 0, NULL), SP_ERR_FULL);
  assert_int_equal(sp_state_batch_advance_watermark(batch, "src", "k", 20), 0);
  txid = sp_put_txn_id(t);
  sp_put_txn_close(t);
  sp_state_batch_free(batch);
  assert_int_equal(sp_state_get_watermark(st, "src", "k", &v, &found, &err), 0);
  assert_int_equal(v, 10);
  assert_int_equal(sp_state_txn_committed(st, txid, &committed, &err), 0);
  assert_false(committed);
  sp_channel_free(a);
  sp_channel_free(b);
  temp_store_close(&store);
}

static void test_corrupt_database(void **state) {
  (void)state;
  char dir[128], path[256];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/.state", dir);
  sp_error err = {0};
  assert_int_equal(sp_mkdirs(path, &err), 0);
  snprintf(path, sizeof path, "%s/.state/stockpipe.db", dir);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 200; i++) fputs("this is not an sqlite database file. ", f);
  fclose(f);
  sp_state *st = NULL;
  int rc = sp_state_open(dir, &st, &err);
  assert_int_equal(rc, SP_ERR_CORRUPT);
  assert_null(st);
  assert_non_null(strstr(err.msg, "stockpipe.db"));
  remove_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_watermarks_seen_blobs),
      cmocka_unit_test(test_watermarks_merge_per_series),
      cmocka_unit_test(test_decide_moves_watermark_with_commit),
      cmocka_unit_test(test_corrupt_database),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
