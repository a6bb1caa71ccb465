/*
 * test_channel_memory.c — Flume-style tests of the memory channel and the fan-out
 * put transaction: ordering and sequence numbers, capacity and transactionCapacity,
 * blocking puts released by a taker, rollbacks on both sides, fan-out atomicity
 * with a channel that fails (at put, at prepare, at the decision), the shared memory
 * budget, close, and the counters invariant under concurrent use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/channel.h"
#include "core/timeutil.h"
#include "core_test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sp_channel *open_memory(const char *name, size_t capacity, size_t txn_capacity, sp_membudget *budget) {
  sp_channel_config cfg = {name, capacity, txn_capacity, budget};
  sp_channel *ch = NULL;
  sp_error err = {0};
  int rc = sp_channel_memory_open(&cfg, &ch, &err);
  if (rc) fail_msg("open %s: %s", name, err.msg);
  return ch;
}

/* Put `n` events "name-<i>" into `chs` in one transaction; returns the commit code. */
static int put_events(sp_channel **chs, size_t nch, int first, int n, int64_t timeout_us) {
  sp_put_txn *t;
  sp_error err = {0};
  int rc = sp_put_txn_begin(chs, nch, &t, &err);
  if (rc) return rc;
  for (int i = first; i < first + n && !rc; i++) {
    char ev[32];
    int len = snprintf(ev, sizeof ev, "event-%d", i);
    rc = sp_put_txn_put(t, (const uint8_t *)ev, (size_t)len, timeout_us, &err);
  }
  if (!rc) rc = sp_put_txn_commit(t, NULL, NULL, &err);
  sp_put_txn_close(t);
  return rc;
}

/* Take up to `max` events and commit; the texts go into `got`.  Returns the count. */
static int take_events(sp_channel *ch, char got[][32], int max, bool commit) {
  void *txn;
  sp_error err = {0};
  assert_int_equal(sp_channel_take_begin(ch, &txn, &err), 0);
  int n = 0;
  sp_event ev;
  while (n < max && sp_channel_take(ch, txn, &ev, sp_monotonic_us(), &err) == SP_OK) {
    if (got) snprintf(got[n], 32, "%.*s", (int)ev.len, (const char *)ev.data);
    n++;
  }
  if (commit) assert_int_equal(sp_channel_take_commit(ch, txn, NULL, 0, &err), 0);
  else sp_channel_take_rollback(ch, txn);
  return n;
}

static void test_fifo_and_sequence(void **state) {
  (void)state;
  sp_channel *ch = open_memory("fifo", 100, 20, NULL);
  assert_int_equal(put_events(&ch, 1, 0, 5, 0), 0);
  assert_int_equal(put_events(&ch, 1, 5, 5, 0), 0);
  void *txn;
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  uint64_t prev = 0;
  for (int i = 0; i < 10; i++) {
    sp_event ev;
    assert_int_equal(sp_channel_take(ch, txn, &ev, sp_monotonic_us(), NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "event-%d", i);
    assert_int_equal(ev.len, strlen(want));
    assert_memory_equal(ev.data, want, ev.len);
    if (i) assert_int_equal(ev.seq, prev + 1);
    prev = ev.seq;
  }
  sp_event ev;
  sp_error err = {0};
  assert_int_equal(sp_channel_take(ch, txn, &ev, sp_monotonic_us() + 1000, &err), SP_ERR_TIMEOUT);
  assert_int_equal(sp_channel_take_commit(ch, txn, NULL, 0, NULL), 0);
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.EventPutSuccessCount, 10);
  assert_int_equal(c.EventTakeSuccessCount, 10);
  assert_int_equal(c.ChannelSize, 0);
  assert_int_equal(c.ChannelCapacity, 100);
  sp_channel_free(ch);
}

static void test_capacity_and_transaction_capacity(void **state) {
  (void)state;
  sp_channel *ch = open_memory("cap", 4, 3, NULL);
  assert_int_equal(put_events(&ch, 1, 0, 3, 0), 0);
  /* 4 more do not fit: the second put of the transaction times out */
  int64_t t0 = sp_monotonic_us();
  assert_int_equal(put_events(&ch, 1, 3, 2, 20000), SP_ERR_FULL);
  assert_true(sp_monotonic_us() - t0 >= 20000);
  /* the rolled-back transaction gave its slot back: one more still fits */
  assert_int_equal(put_events(&ch, 1, 3, 1, 0), 0);
  assert_int_equal(put_events(&ch, 1, 4, 1, 0), SP_ERR_FULL);
  /* more than transactionCapacity in one transaction */
  assert_int_equal(take_events(ch, NULL, 4, true), 3); /* take list capped at 3 */
  assert_int_equal(take_events(ch, NULL, 4, true), 1);
  assert_int_equal(put_events(&ch, 1, 0, 4, 0), SP_ERR_FULL);
  assert_channel_invariant(ch);
  sp_channel_config bad = {"bad", 5, 10, NULL};
  sp_channel *out;
  sp_error err = {0};
  assert_int_equal(sp_channel_memory_open(&bad, &out, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "transactionCapacity"));
  sp_channel_free(ch);
}

typedef struct taker_arg {
  sp_channel *ch;
  int taken;
  _Atomic int64_t take_start_us; /* when the delayed taker began its take */
} taker_arg;

static void *delayed_taker(void *p) {
  taker_arg *a = p;
  usleep(30000);
  atomic_store(&a->take_start_us, sp_monotonic_us());
  a->taken = take_events(a->ch, NULL, 2, true);
  return NULL;
}

static void test_blocking_put_released_by_take(void **state) {
  (void)state;
  sp_channel *ch = open_memory("block", 2, 2, NULL);
  assert_int_equal(put_events(&ch, 1, 0, 2, 0), 0);
  taker_arg a = {ch, 0, 0};
  pthread_t th;
  pthread_create(&th, NULL, delayed_taker, &a);
  assert_int_equal(put_events(&ch, 1, 2, 1, 60 * SP_US_PER_SEC), 0); /* waits for the taker */
  /* It returned after the taker began: it waited for the room the take made (timed
   * against the taker's own clock reading, not a fixed sleep, which a loaded machine
   * may stretch on either side). */
  int64_t returned = sp_monotonic_us(), take_start = atomic_load(&a.take_start_us);
  assert_true(take_start > 0 && returned >= take_start);
  pthread_join(th, NULL);
  assert_int_equal(a.taken, 2);
  char got[4][32];
  assert_int_equal(take_events(ch, got, 4, true), 1);
  assert_string_equal(got[0], "event-2");
  sp_channel_free(ch);
}

static void test_put_rollback(void **state) {
  (void)state;
  sp_channel *ch = open_memory("rb", 10, 10, NULL);
  sp_put_txn *t;
  assert_int_equal(sp_put_txn_begin(&ch, 1, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"x", 1, 0, NULL), 0);
  assert_int_equal(sp_put_txn_count(t), 1);
  sp_put_txn_rollback(t);
  sp_put_txn_close(t);
  assert_int_equal(take_events(ch, NULL, 10, true), 0);
  /* all 10 slots are free again */
  assert_int_equal(put_events(&ch, 1, 0, 10, 0), 0);
  assert_channel_invariant(ch);
  sp_channel_free(ch);
}

static void test_take_rollback_keeps_order_and_seq(void **state) {
  (void)state;
  sp_channel *ch = open_memory("trb", 10, 10, NULL);
  assert_int_equal(put_events(&ch, 1, 0, 5, 0), 0);
  void *txn;
  sp_event ev;
  uint64_t seqs[3];
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(sp_channel_take(ch, txn, &ev, 0, NULL), 0);
    seqs[i] = ev.seq;
  }
  /* in-flight takes still count in the channel size */
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.ChannelSize, 5);
  /* a second take transaction is refused while one is open */
  void *other;
  assert_int_equal(sp_channel_take_begin(ch, &other, NULL), SP_ERR_INVALID);
  sp_channel_take_rollback(ch, txn);
  assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(sp_channel_take(ch, txn, &ev, 0, NULL), 0);
    char want[16];
    snprintf(want, sizeof want, "event-%d", i);
    assert_memory_equal(ev.data, want, ev.len);
    if (i < 3) assert_int_equal(ev.seq, seqs[i]);
  }
  assert_int_equal(sp_channel_take_commit(ch, txn, NULL, 0, NULL), 0);
  assert_channel_invariant(ch);
  sp_channel_free(ch);
}

/* A channel whose prepare fails, to test fan-out atomicity. */
static sp_channel_ops failing_ops;
static int failing_prepare(sp_channel *ch, void *txn, const sp_put_prepare_info *info, sp_error *err) {
  (void)txn, (void)info;
  return sp_error_set(err, SP_ERR_IO, "disk on fire in %s", ch->name);
}

static int refuse_decision(void *ctx, uint64_t txid, sp_error *err) {
  *(uint64_t *)ctx = txid;
  return sp_error_set(err, SP_ERR_IO, "state store unavailable");
}

static int accept_decision(void *ctx, uint64_t txid, sp_error *err) {
  (void)err;
  *(uint64_t *)ctx = txid;
  return SP_OK;
}

static void test_fanout_atomic(void **state) {
  (void)state;
  sp_channel *a = open_memory("fan_a", 100, 10, NULL);
  sp_channel *b = open_memory("fan_b", 2, 2, NULL);
  sp_channel *both[2] = {a, b};
  /* b fills at the third event: nothing reaches a */
  assert_int_equal(put_events(both, 2, 0, 3, 0), SP_ERR_FULL);
  assert_int_equal(take_events(a, NULL, 10, true), 0);
  assert_int_equal(take_events(b, NULL, 10, true), 0);
  /* b fails at prepare: a must not commit */
  failing_ops = *b->ops;
  failing_ops.put_prepare = failing_prepare;
  const sp_channel_ops *memory_ops = b->ops;
  b->ops = &failing_ops;
  sp_error err = {0};
  assert_int_equal(put_events(both, 2, 0, 2, 0), SP_ERR_IO);
  b->ops = memory_ops;
  assert_int_equal(take_events(a, NULL, 10, true), 0);
  assert_int_equal(take_events(b, NULL, 10, true), 0);
  /* the decision refuses: neither commits */
  sp_put_txn *t;
  uint64_t seen = 0;
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"e", 1, 0, NULL), 0);
  assert_int_equal(sp_put_txn_commit(t, refuse_decision, &seen, &err), SP_ERR_IO);
  assert_int_equal(seen, sp_put_txn_id(t));
  sp_put_txn_close(t);
  assert_int_equal(take_events(a, NULL, 10, true), 0);
  assert_int_equal(take_events(b, NULL, 10, true), 0);
  /* the decision accepts: both get the events */
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, (const uint8_t *)"e", 1, 0, NULL), 0);
  assert_int_equal(sp_put_txn_commit(t, accept_decision, &seen, &err), 0);
  uint64_t id = sp_put_txn_id(t);
  sp_put_txn_close(t);
  assert_int_equal(seen, id);
  assert_int_equal(take_events(a, NULL, 10, true), 1);
  assert_int_equal(take_events(b, NULL, 10, true), 1);
  /* transaction ids are unique and increasing */
  assert_int_equal(sp_put_txn_begin(both, 2, &t, NULL), 0);
  assert_true(sp_put_txn_id(t) > id);
  sp_put_txn_close(t);
  assert_channel_invariant(a);
  assert_channel_invariant(b);
  sp_channel_free(a);
  sp_channel_free(b);
}

static void test_memory_budget(void **state) {
  (void)state;
  sp_membudget budget;
  sp_membudget_init(&budget, 8192);
  sp_channel *a = open_memory("bud_a", 1000, 1000, &budget);
  sp_channel *b = open_memory("bud_b", 1000, 1000, &budget);
  uint8_t big[1000] = {0};
  sp_put_txn *t;
  /* one channel gets at most half of the budget (a dead sink's channel cannot take it all) */
  assert_int_equal(sp_put_txn_begin(&a, 1, &t, NULL), 0);
  int puts = 0;
  while (sp_put_txn_put(t, big, sizeof big, 0, NULL) == SP_OK) puts++;
  assert_int_equal(puts, 3);
  assert_int_equal(sp_put_txn_commit(t, NULL, NULL, NULL), 0);
  sp_put_txn_close(t);
  assert_true(sp_membudget_used(&budget) > 3000 && sp_membudget_used(&budget) <= 4096);
  /* all channels together get at most three quarters: b is refused by the shared budget */
  sp_error err = {0};
  assert_int_equal(sp_put_txn_begin(&b, 1, &t, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, big, sizeof big, 0, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, big, sizeof big, 0, NULL), 0);
  assert_int_equal(sp_put_txn_put(t, big, sizeof big, 5000, &err), SP_ERR_FULL);
  assert_non_null(strstr(err.msg, "budget"));
  /* the last quarter is left for sinks' encode buffers */
  assert_true(sp_membudget_try_reserve(&budget, 1500));
  sp_membudget_release(&budget, 1500);
  sp_put_txn_close(t);
  /* draining a frees the budget for b */
  assert_int_equal(take_events(a, NULL, 10, true), puts);
  assert_int_equal(sp_membudget_used(&budget), 0);
  assert_int_equal(sp_put_txn_begin(&b, 1, &t, NULL), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(sp_put_txn_put(t, big, sizeof big, 0, NULL), 0);
  sp_put_txn_close(t); /* rolls back */
  assert_int_equal(sp_membudget_used(&budget), 0);
  sp_channel_free(a);
  sp_channel_free(b);
}

static void *blocked_taker(void *p) {
  taker_arg *a = p;
  void *txn;
  sp_event ev;
  sp_error err = {0};
  if (sp_channel_take_begin(a->ch, &txn, &err)) return NULL;
  a->taken = sp_channel_take(a->ch, txn, &ev, sp_monotonic_us() + 10 * SP_US_PER_SEC, &err);
  sp_channel_take_rollback(a->ch, txn);
  return NULL;
}

static void test_close_wakes_and_drains(void **state) {
  (void)state;
  sp_channel *ch = open_memory("close", 10, 10, NULL);
  taker_arg a = {ch, 0, 0};
  pthread_t th;
  pthread_create(&th, NULL, blocked_taker, &a);
  usleep(20000);
  sp_channel_close(ch);
  pthread_join(th, NULL);
  assert_int_equal(a.taken, SP_ERR_STOPPED);
  assert_int_equal(put_events(&ch, 1, 0, 1, 0), SP_ERR_STOPPED);
  sp_channel_free(ch);
  /* buffered events still drain after close */
  ch = open_memory("close2", 10, 10, NULL);
  assert_int_equal(put_events(&ch, 1, 0, 2, 0), 0);
  sp_channel_close(ch);
  assert_int_equal(take_events(ch, NULL, 10, true), 2);
  sp_channel_free(ch);
}

typedef struct stress_arg {
  sp_channel *ch;
  int events;
  _Atomic int *done;
} stress_arg;

static void *stress_producer(void *p) {
  stress_arg *a = p;
  /* 60 s: the taker may be descheduled for a while on a loaded machine; a put that
   * timed out would leave the taker waiting for events that never come */
  for (int i = 0; i < a->events; i += 10)
    if (put_events(&a->ch, 1, i, 10, 60 * SP_US_PER_SEC)) abort();
  atomic_fetch_add(a->done, 1);
  return NULL;
}

static void test_counters_invariant_concurrent(void **state) {
  (void)state;
  sp_channel *ch = open_memory("stress", 64, 16, NULL);
  _Atomic int done = 0;
  stress_arg a = {ch, 2000, &done};
  pthread_t p1, p2;
  pthread_create(&p1, NULL, stress_producer, &a);
  pthread_create(&p2, NULL, stress_producer, &a);
  int taken = 0;
  sp_sink_counters sink = {0};
  while (taken < 4000) {
    void *txn;
    assert_int_equal(sp_channel_take_begin(ch, &txn, NULL), 0);
    sp_event ev;
    int n = 0;
    while (n < 16 && sp_channel_take(ch, txn, &ev, sp_monotonic_us() + 1000, NULL) == SP_OK) n++;
    assert_channel_invariant(ch);
    assert_int_equal(sp_channel_take_commit(ch, txn, &sink, 0, NULL), 0);
    taken += n;
    sp_channel_counters c;
    sp_channel_counters_snapshot(ch, &c);
    sp_sink_counters s;
    sp_metrics_snapshot_sink(&sink, &s);
    assert_int_equal(c.EventTakeSuccessCount, s.EventDrainSuccessCount);
  }
  pthread_join(p1, NULL);
  pthread_join(p2, NULL);
  assert_int_equal(taken, 4000);
  sp_buf text = SP_BUF_INIT;
  assert_int_equal(sp_metrics_render_prometheus(&text), 0);
  assert_non_null(strstr((char *)text.data, "EventPutSuccessCount{type=\"channel\",name=\"stress\"} 4000\n"));
  assert_non_null(strstr((char *)text.data, "ChannelFillPercentage{type=\"channel\",name=\"stress\"} 0.00\n"));
  assert_non_null(strstr((char *)text.data, "# TYPE ChannelSize gauge\nChannelSize{type=\"channel\",name=\"stress\"} 0\n"));
  assert_non_null(strstr((char *)text.data, "# TYPE EventTakeSuccessCount counter\n"));
  sp_buf_reset(&text);
  assert_int_equal(sp_metrics_render_json(&text), 0);
  assert_non_null(strstr((char *)text.data, "\"stress\":{\"EventPutAttemptCount\":4000,\"EventPutSuccessCount\":4000"));
  sp_buf_free(&text);
  sp_channel_free(ch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_and_sequence),
      cmocka_unit_test(test_capacity_and_transaction_capacity),
      cmocka_unit_test(test_blocking_put_released_by_take),
      cmocka_unit_test(test_put_rollback),
      cmocka_unit_test(test_take_rollback_keeps_order_and_seq),
      cmocka_unit_test(test_fanout_atomic),
      cmocka_unit_test(test_memory_budget),
      cmocka_unit_test(test_close_wakes_and_drains),
      cmocka_unit_test(test_counters_invariant_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
