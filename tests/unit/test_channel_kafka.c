/*
 * test_channel_kafka.c — the Kafka channel against librdkafka's mock cluster (3
 * brokers in process, multi-partition topics):
 *   - rows put by a collector's channel are taken by a writer's channel (another
 *     instance, as on another machine) byte-identical, each once; a take holds one
 *     partition with increasing sequence numbers; a rollback hands out the same
 *     events; a writer of the same group after the commit finds nothing left;
 *   - a writer reads what the Kafka sink wrote (one topic format);
 *   - malformed messages (not JSON, a wrong type, another dataset, a missing
 *     column) are dead-lettered with topic/partition/offset, counted, and skipped,
 *     also when nothing but a malformed message is left (no wedge);
 *   - crash windows with the sink runner and an idempotent file sink: a writer that
 *     dies before its sink commit, and one that dies between its sink commit and
 *     its offset commit, lose nothing and duplicate no key; a non-blocking drain of a
 *     fresh consumer catches up with the end offsets it saw at start;
 *   - the leader of partition 0 taken down between takes (its connections cut) and
 *     brought back: the writer keeps taking, reconnects for the rows put after, and
 *     gets every row exactly once;
 *   - two writers of one consumer group on a 4-partition topic: a take in progress
 *     when the second joins fails with SP_ERR_RETRY (its partition was revoked) and
 *     its events are taken again later, once; the two then take disjoint, non-empty
 *     sets of partitions; when one leaves, the other takes every partition; every
 *     row is committed exactly once over the whole run;
 *   - a writer catching up while the leader does not answer fails its take after
 *     its time-out, and a retried take recovers once the leader answers.
 * Group rebalances on the mock take seconds (it waits a session time-out less 1 s):
 * every wait is for a condition, with a generous deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../tools/c/sink_test_rows.h"
#include "core/channel_kafka.h"
#include "core/sink_runner.h"
#include "core/timeutil.h"
#include "core_test_util.h"
#include "kafka_mock_env.h"
#include "format/value_text.h"
#include "sinks/kafka_format.h"
#include "sinks/sink_kafka.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deadlines for waits that end as soon as their condition holds: generous, for a
 * loaded machine (ASan, parallel tests). */
#define WAIT_US (15 * SP_US_PER_SEC)

static int setup_cluster(void **state) {
  mock_env *env = kafka_mock_env_new();
  const struct {
    const char *name;
    int partitions;
  } topics[] = {{"roundtrip", 3}, {"from_sink", 4}, {"poison", 1}, {"crash", 3},
                {"outage", 3},    {"stall", 1},     {"shared", 4}};
  for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
    assert_int_equal(rd_kafka_mock_topic_create(env->cluster, topics[i].name, topics[i].partitions, 3), 0);
  /* Fixed leaders for the outage test (broker 1 leads partition 0), the group's
   * coordinator on a broker that stays up. */
  for (int p = 0; p < 3; p++) assert_int_equal(rd_kafka_mock_partition_set_leader(env->cluster, "outage", p, p + 1), 0);
  assert_int_equal(rd_kafka_mock_partition_set_leader(env->cluster, "stall", 0, 1), 0);
  assert_int_equal(rd_kafka_mock_coordinator_set(env->cluster, "group", "writers", 3), 0);
  *state = env;
  return 0;
}

static sp_channel *open_writer(const mock_env *env, const char *topic, int dataset, const char *qdir,
                               const char *group, int timeout_ms) {
  sp_channel_kafka_config cfg = {.base = {.name = dataset < 0 ? "collector" : "writer", .capacity = 100,
                                          .transaction_capacity = 10},
                                 .brokers = env->bootstraps,
                                 .topic = topic,
                                 .dataset = dataset,
                                 .group = group,
                                 .quarantine_dir = qdir,
                                 .timeout_ms = timeout_ms,
                                 /* the mock's rebalances wait a session time-out less 1 s */
                                 .session_timeout_ms = 4000,
                                 .max_poll_interval_ms = 30000};
  sp_channel *ch = NULL;
  sp_error err = {0};
  if (sp_channel_kafka_open(&cfg, &ch, &err)) fail_msg("%s", err.msg);
  return ch;
}

static sp_channel *open_channel(const mock_env *env, const char *topic, int dataset, const char *qdir) {
  return open_writer(env, topic, dataset, qdir, "writers", 30000);
}

static sp_channel *open_channel_timeout(const mock_env *env, const char *topic, int dataset, const char *qdir,
                                        int timeout_ms) {
  return open_writer(env, topic, dataset, qdir, "writers", timeout_ms);
}

static sp_channel *open_group_channel(const mock_env *env, const char *topic, int dataset, const char *qdir,
                                      const char *group) {
  return open_writer(env, topic, dataset, qdir, group, 30000);
}

/* Put test_events[first..first+n) in transactions of at most 10. */
static void put_events(sp_channel *ch, const test_events *te, size_t first, size_t n) {
  sp_error err = {0};
  for (size_t done = 0; done < n;) {
    sp_put_txn *t;
    assert_int_equal(sp_put_txn_begin(&ch, 1, &t, &err), 0);
    for (size_t k = 0; k < 10 && done < n; k++, done++) {
      const sp_event *ev = &te->events[first + done];
      assert_int_equal(sp_put_txn_put(t, ev->data, ev->len, 0, &err), 0);
    }
    if (sp_put_txn_commit(t, NULL, NULL, &err)) fail_msg("%s", err.msg);
    sp_put_txn_close(t);
  }
}

/* The index of the expected event with exactly these bytes (-1 if none). */
static long find_event(const test_events *te, const sp_event *ev) {
  for (size_t i = 0; i < te->n; i++)
    if (te->events[i].len == ev->len && memcmp(te->events[i].data, ev->data, ev->len) == 0) return (long)i;
  return -1;
}

/* Take one transaction (up to its capacity); check it holds one partition in
 * increasing seq order and that each event is one of `te`, marking it in `seen`.
 * Returns the number taken (the transaction is left open in *txn). */
static size_t take_batch(sp_channel *ch, void **txn, const test_events *te, int *seen, uint64_t *seqs) {
  sp_error err = {0};
  assert_int_equal(sp_channel_take_begin(ch, txn, &err), 0);
  size_t n = 0;
  uint64_t last = 0;
  for (;;) {
    sp_event ev;
    int rc = sp_channel_take(ch, *txn, &ev, sp_monotonic_us() + 300000, &err);
    if (rc == SP_ERR_TIMEOUT || rc == SP_ERR_FULL) break;
    if (rc) fail_msg("%s", err.msg);
    if (n) {
      assert_true(ev.seq > last);
      assert_int_equal(ev.seq >> 40, last >> 40); /* one partition per take */
    }
    last = ev.seq;
    if (seqs) seqs[n] = ev.seq;
    long i = find_event(te, &ev);
    if (i < 0) fail_msg("event seq %llu is none of the rows put", (unsigned long long)ev.seq);
    if (seen) seen[i]++;
    n++;
  }
  return n;
}

/* Take and commit until `expect` events have come (waiting up to 4 * WAIT_US:
 * a loaded machine may fetch slowly), then once more to see nothing else does;
 * every event counted in seen. Returns the number taken. */
static size_t take_all(sp_channel *ch, const test_events *te, int *seen, size_t expect) {
  size_t total = 0;
  for (int64_t until = sp_monotonic_us() + 4 * WAIT_US;;) {
    void *txn;
    sp_error err = {0};
    size_t n = take_batch(ch, &txn, te, seen, NULL);
    if (n == 0) {
      sp_channel_take_rollback(ch, txn);
      if (total >= expect || sp_monotonic_us() > until) return total;
      continue;
    }
    if (sp_channel_take_commit(ch, txn, NULL, 0, &err)) fail_msg("%s", err.msg);
    total += n;
  }
}

static void test_collector_channel_to_writer_channel(void **state) {
  mock_env *env = *state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  test_events te;
  make_test_events(&te, ds, 0, 30);
  sp_channel *collector = open_channel(env, "roundtrip", -1, NULL);
  sp_channel *writer = open_channel(env, "roundtrip", SP_DS_FINANCIAL_DATA, NULL);
  put_events(collector, &te, 0, 30);

  /* A rolled-back take hands out the same events again. */
  uint64_t first[10], again[10];
  void *txn;
  size_t n = take_batch(writer, &txn, &te, NULL, first);
  assert_true(n > 0);
  sp_channel_take_rollback(writer, txn);
  /* It may hold more than the first: more had arrived by then. */
  assert_true(take_batch(writer, &txn, &te, NULL, again) >= n);
  assert_memory_equal(first, again, n * sizeof *first);
  sp_channel_take_rollback(writer, txn);

  int seen[30] = {0};
  assert_int_equal(take_all(writer, &te, seen, 30), 30);
  for (int i = 0; i < 30; i++) assert_int_equal(seen[i], 1);
  sp_channel_counters c;
  sp_channel_counters_snapshot(writer, &c);
  assert_int_equal(c.ChannelSize, 0);
  assert_int_equal(c.EventTakeSuccessCount, 30);
  sp_channel_counters_snapshot(collector, &c);
  assert_int_equal(c.EventPutSuccessCount, 30);
  assert_int_equal(c.ChannelSize, 0); /* Kafka holds them, not the collector */
  sp_channel_free(writer);

  writer = open_channel(env, "roundtrip", SP_DS_FINANCIAL_DATA, NULL); /* same group: all committed */
  assert_int_equal(take_all(writer, &te, NULL, 0), 0);
  sp_channel_free(writer);

  sp_channel_close(collector);
  sp_put_txn *t;
  sp_error err = {0};
  assert_int_equal(sp_put_txn_begin(&collector, 1, &t, &err), SP_ERR_STOPPED);
  sp_channel_free(collector);
  free_test_events(&te);
}

static void test_writer_reads_the_kafka_sink_format(void **state) {
  mock_env *env = *state;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  test_events te;
  make_test_events(&te, ds, 0, 50);
  sp_sink_kafka_config kcfg = {.name = "collector_sink", .brokers = env->bootstraps, .topic = "from_sink",
                               .dataset = SP_DS_STOCK_MOVEMENTS, .flush_timeout_ms = 30000};
  sp_sink *sink;
  sp_error err = {0};
  if (sp_sink_kafka_open(&kcfg, &sink, &err)) fail_msg("%s", err.msg);
  assert_int_equal(sink->ops->begin(sink, &err), 0);
  assert_int_equal(sink->ops->write(sink, te.events, te.n, &err), 0);
  if (sink->ops->commit(sink, &err)) fail_msg("%s", err.msg);
  sp_sink_close(sink);

  sp_channel *writer = open_channel(env, "from_sink", SP_DS_STOCK_MOVEMENTS, NULL);
  int seen[50] = {0};
  assert_int_equal(take_all(writer, &te, seen, 50), 50);
  for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
  sp_channel_free(writer);
  free_test_events(&te);
}

/* Produce one raw message (value, optional dataset header) and wait for it. */
static void produce_raw(const mock_env *env, const char *topic, const char *key, const char *value,
                        const char *dataset) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstraps, why, sizeof why), RD_KAFKA_CONF_OK);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  assert_non_null(p);
  rd_kafka_headers_t *h = rd_kafka_headers_new(1);
  if (dataset) rd_kafka_header_add(h, SP_KAFKA_DATASET_HEADER, -1, dataset, -1);
  assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, strlen(key)),
                                     RD_KAFKA_V_VALUE((void *)value, strlen(value)), RD_KAFKA_V_HEADERS(h),
                                     RD_KAFKA_V_END),
                   0);
  assert_int_equal(rd_kafka_flush(p, 30000), 0);
  rd_kafka_destroy(p);
}

/* Row i of financial_data as the Kafka format's value text (malloc'd). */
static char *row_value(long i, const char *replace_from, const char *replace_to) {
  sp_row row;
  make_test_row(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA), i);
  sp_buf b = SP_BUF_INIT;
  size_t key_len;
  assert_int_equal(sp_kafka_render_message(&row, &b, &key_len), 0);
  sp_row_clear(&row);
  char *text = strdup((const char *)b.data + key_len);
  sp_buf_free(&b);
  if (replace_from) { /* e.g. make a column the wrong type */
    char *at = strstr(text, replace_from);
    assert_non_null(at);
    size_t tail = strlen(at + strlen(replace_from));
    char *out = malloc((size_t)(at - text) + strlen(replace_to) + tail + 1);
    sprintf(out, "%.*s%s%s", (int)(at - text), text, replace_to, at + strlen(replace_from));
    free(text);
    text = out;
  }
  return text;
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void test_malformed_messages_are_dead_lettered_and_skipped(void **state) {
  mock_env *env = *state;
  char tmp[256], qdir[300];
  make_temp_dir(tmp, sizeof tmp);
  snprintf(qdir, sizeof qdir, "%s/dead", tmp);
  test_events te;
  make_test_events(&te, sp_dataset_get(SP_DS_FINANCIAL_DATA), 0, 4);
  char *good[4], *wrong_type = row_value(9, "\"ticker\":\"", "\"ticker\":5,\"x\":\""),
       *no_price = row_value(10, "\"price\":", "\"price_was\":");
  for (int i = 0; i < 4; i++) good[i] = row_value(i, NULL, NULL);
  /* offsets: 0 good0, 1 not JSON, 2 good1, 3 wrong type, 4 good2, 5 news header, 6 good3, 7 no price, 8 "{" */
  produce_raw(env, "poison", "k", good[0], "financial_data");
  produce_raw(env, "poison", "k", "not json at all", "financial_data");
  produce_raw(env, "poison", "k", good[1], NULL); /* no header: the configured dataset */
  produce_raw(env, "poison", "k", wrong_type, "financial_data");
  produce_raw(env, "poison", "k", good[2], "financial_data");
  produce_raw(env, "poison", "k", good[2], "news");
  produce_raw(env, "poison", "k", good[3], "financial_data");
  produce_raw(env, "poison", "k", no_price, "financial_data");
  produce_raw(env, "poison", "k", "{", "financial_data");

  sp_channel *writer = open_channel(env, "poison", SP_DS_FINANCIAL_DATA, qdir);
  int seen[4] = {0};
  assert_int_equal(take_all(writer, &te, seen, 4), 4);
  for (int i = 0; i < 4; i++) assert_int_equal(seen[i], 1);
  sp_channel_counters c;
  sp_channel_counters_snapshot(writer, &c);
  assert_int_equal(c.ChannelQuarantinedCount, 5);
  assert_int_equal(c.ChannelSize, 0);
  assert_int_equal(count_files(qdir), 5);
  char path[400];
  snprintf(path, sizeof path, "%s/poison-0-3.json", qdir);
  char *letter = read_text_file(path);
  assert_non_null(letter);
  assert_non_null(strstr(letter, "\"topic\":\"poison\",\"partition\":0,\"offset\":3,\"reason\":\"column ticker"));
  free(letter);
  snprintf(path, sizeof path, "%s/poison-0-5.json", qdir);
  letter = read_text_file(path);
  assert_non_null(letter);
  assert_non_null(strstr(letter, "a news row where financial_data rows are expected"));
  free(letter);

  /* Nothing but a malformed message left: a take skips it, and does not wedge
   * (a new writer catches up with the end offset, so it surely reads it). */
  sp_channel_free(writer);
  produce_raw(env, "poison", "k", "[1,2]", "financial_data");
  writer = open_channel(env, "poison", SP_DS_FINANCIAL_DATA, qdir);
  assert_int_equal(take_all(writer, &te, NULL, 0), 0);
  sp_channel_counters_snapshot(writer, &c);
  assert_int_equal(c.ChannelQuarantinedCount, 1);
  sp_channel_free(writer);
  writer = open_channel(env, "poison", SP_DS_FINANCIAL_DATA, qdir);
  assert_int_equal(take_all(writer, &te, NULL, 0), 0);
  sp_channel_counters_snapshot(writer, &c);
  assert_int_equal(c.ChannelQuarantinedCount, 0); /* its offset was committed: not read again */
  assert_int_equal(count_files(qdir), 6);
  sp_channel_free(writer);

  for (int i = 0; i < 4; i++) free(good[i]);
  free(wrong_type);
  free(no_price);
  free_test_events(&te);
  remove_tree(tmp);
}

/* Every .jsonl file under `dir` (one level of date folders) concatenated. */
static void read_outputs(const char *dir, sp_buf *all) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
    DIR *f = opendir(sub);
    assert_non_null(f);
    for (struct dirent *g; (g = readdir(f));) {
      if (!strstr(g->d_name, ".jsonl") || strstr(g->d_name, ".tmp")) continue;
      char path[900];
      snprintf(path, sizeof path, "%s/%s", sub, g->d_name);
      char *text = read_text_file(path);
      assert_non_null(text);
      assert_int_equal(sp_buf_append_str(all, text), 0);
      free(text);
    }
    closedir(f);
  }
  closedir(d);
}

/* Each of rows 0..n-1 appears exactly once in the sink's files (by its key). */
static void assert_each_key_once(const char *out_dir, long n) {
  sp_buf all = SP_BUF_INIT;
  read_outputs(out_dir, &all);
  long lines = 0;
  for (size_t i = 0; i < all.len; i++) lines += all.data[i] == '\n';
  assert_int_equal(lines, n);
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  for (long i = 0; i < n; i++) {
    sp_row row;
    make_test_row(&row, ds, i);
    sp_buf key = SP_BUF_INIT;
    assert_int_equal(sp_buf_append_str(&key, "{\"ticker\":"), 0);
    int c = sp_dataset_column_index(ds, "ticker");
    assert_int_equal(sp_json_append_string(&key, row.values[c].u.str.ptr, row.values[c].u.str.len), 0);
    int found = 0;
    for (const char *at = (const char *)all.data; (at = strstr(at, (const char *)key.data)); at++) found++;
    if (found != 1) fail_msg("row %ld stored %d times", i, found);
    sp_buf_free(&key);
    sp_row_clear(&row);
  }
  sp_buf_free(&all);
}

static sp_sink *open_file_sink(const char *data_dir) {
  sp_sink_file_config fc = {.name = "writer_files", .data_dir = data_dir, .path = "out/%Y-%m-%d",
                            .file_prefix = "q_", .format = "jsonl"};
  sp_sink *s;
  sp_error err = {0};
  if (sp_sink_file_open(&fc, &s, &err)) fail_msg("%s", err.msg);
  return s;
}

static void test_writer_crash_windows_lose_and_double_nothing(void **state) {
  mock_env *env = *state;
  char tmp[256], out[300];
  make_temp_dir(tmp, sizeof tmp);
  snprintf(out, sizeof out, "%s/out", tmp);
  test_events te;
  make_test_events(&te, sp_dataset_get(SP_DS_FINANCIAL_DATA), 0, 75);
  sp_channel *collector = open_channel(env, "crash", -1, NULL);
  put_events(collector, &te, 0, 60);
  sp_sink *files = open_file_sink(tmp);
  sp_error err = {0};

  /* 1. A writer dies after taking, before its sink committed: nothing published. */
  sp_channel *writer = open_channel(env, "crash", SP_DS_FINANCIAL_DATA, NULL);
  void *txn;
  assert_true(take_batch(writer, &txn, &te, NULL, NULL) > 0);
  sp_channel_take_rollback(writer, txn); /* what dying leaves: no offset committed */
  sp_channel_free(writer);

  /* 2. A writer dies after its sink committed, before the offset commit. */
  writer = open_channel(env, "crash", SP_DS_FINANCIAL_DATA, NULL);
  assert_int_equal(sp_channel_take_begin(writer, &txn, &err), 0);
  sp_event batch[10];
  size_t n = 0;
  while (n < 10 && sp_channel_take(writer, txn, &batch[n], sp_monotonic_us() + 300000, &err) == SP_OK) n++;
  assert_true(n > 0);
  assert_int_equal(files->ops->begin(files, &err), 0);
  assert_int_equal(files->ops->write(files, batch, n, &err), 0);
  if (files->ops->commit(files, &err)) fail_msg("%s", err.msg);
  sp_channel_take_rollback(writer, txn);
  sp_channel_free(writer);

  /* 3. A restarted writer drains without blocking: it catches up with the end
   * offsets seen at its start, re-reads the uncommitted rows, and the sink's
   * sequence-named files absorb the ones published in 2. */
  writer = open_channel(env, "crash", SP_DS_FINANCIAL_DATA, NULL);
  sp_sink_runner_config rc = {.channel = writer, .sink = files, .data_dir = tmp, .batch_size = 10};
  sp_sink_runner *runner;
  assert_int_equal(sp_sink_runner_create(&rc, &runner, &err), 0);
  uint64_t delivered = 0;
  if (sp_sink_runner_drain(runner, sp_monotonic_us() + WAIT_US, &delivered, &err)) fail_msg("%s", err.msg);
  assert_int_equal(delivered, 60);
  assert_each_key_once(out, 60);

  /* 4. More rows later: the same writer delivers only those. */
  put_events(collector, &te, 60, 15);
  delivered = 0;
  while (delivered < 15) { /* the consumer has caught up: a drain takes what has arrived */
    uint64_t more = 0;
    if (sp_sink_runner_drain(runner, sp_monotonic_us() + WAIT_US, &more, &err)) fail_msg("%s", err.msg);
    delivered += more;
    if (!more) usleep(20000);
  }
  assert_int_equal(delivered, 15);
  assert_each_key_once(out, 75);
  sp_sink_runner_free(runner);
  sp_channel_free(writer);
  sp_sink_close(files);
  sp_channel_free(collector);
  free_test_events(&te);
  remove_tree(tmp);
}

static void test_broker_down_and_back_loses_and_doubles_nothing(void **state) {
  mock_env *env = *state;
  test_events te;
  make_test_events(&te, sp_dataset_get(SP_DS_FINANCIAL_DATA), 0, 60);
  sp_channel *collector = open_channel(env, "outage", -1, NULL);
  put_events(collector, &te, 0, 30);
  sp_channel *writer = open_channel(env, "outage", SP_DS_FINANCIAL_DATA, NULL);
  int seen[60] = {0};
  void *txn;
  sp_error err = {0};
  size_t n = take_batch(writer, &txn, &te, seen, NULL), total = n;
  assert_true(n > 0);
  assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);
  /* Until the writer has fetched all 30 rows (they are then held, not taken), take
   * more: how many the first batch fetched depends on how fast each broker answered,
   * and rows of partition 0 still unfetched when its leader goes down could not come
   * before it is back (the takes would fail, waiting to catch up). */
  sp_channel_counters c;
  for (int64_t until = sp_monotonic_us() + 4 * WAIT_US; total < 30 && sp_monotonic_us() < until;) {
    sp_channel_counters_snapshot(writer, &c);
    if (c.EventPutSuccessCount >= 30) break;
    n = take_batch(writer, &txn, &te, seen, NULL);
    if (n) assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);
    else sp_channel_take_rollback(writer, txn);
    total += n;
  }
  sp_channel_counters_snapshot(writer, &c);
  assert_int_equal(c.EventPutSuccessCount, 30);
  /* The leader of partition 0 goes down while rows keep coming to the others. */
  assert_int_equal(rd_kafka_mock_broker_set_down(env->cluster, 1), 0);
  for (int round = 0; round < 3; round++) {
    n = take_batch(writer, &txn, &te, seen, NULL);
    if (n) assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);
    else sp_channel_take_rollback(writer, txn);
  }
  assert_int_equal(rd_kafka_mock_broker_set_up(env->cluster, 1), 0);
  put_events(collector, &te, 30, 30);
  total = 0;
  for (int i = 0; i < 60; i++) total += (size_t)seen[i];
  for (int64_t until = sp_monotonic_us() + 4 * WAIT_US; total < 60 && sp_monotonic_us() < until;)
    total += take_all(writer, &te, seen, 60 - total);
  for (int i = 0; i < 60; i++)
    if (seen[i] != 1) fail_msg("row %d taken %d times", i, seen[i]);
  sp_channel_free(writer);
  sp_channel_free(collector);
  free_test_events(&te);
}

/* A writer of a consumer group taking on its own thread, as a sink runner does:
 * each committed take marks its rows in the shared `committed` counts and the
 * partitions they came from in `partitions[phase of the row]`. */
#define GROUP_ROWS 400 /* phase 1 puts 4 a second for up to 60 s, phases 2 and 3 put 40 each */
typedef struct group_writer {
  sp_channel *ch;
  const test_events *te;
  pthread_mutex_t *lock;
  int *committed;              /* by row, shared by the writers (under lock) */
  const long *phase_start;     /* first row of phases 1, 2, 3 (phase 0 before) */
  unsigned partitions[4];      /* bit p: a row of that phase came from partition p (under lock) */
  atomic_int taken;            /* events committed */
  atomic_int retries;          /* takes that ended with SP_ERR_RETRY */
  atomic_int failed_commits;   /* take commits refused (rolled back and taken again) */
  atomic_bool stop;
  char failure[SP_ERROR_MSG_MAX]; /* first unexpected error, "" if none */
  pthread_t thread;
} group_writer;

static int phase_of(const group_writer *w, long row) {
  int phase = 0;
  while (phase < 3 && row >= w->phase_start[phase]) phase++;
  return phase;
}

static void *group_writer_run(void *arg) {
  group_writer *w = arg;
  while (!atomic_load(&w->stop) && !w->failure[0]) {
    void *txn;
    sp_error err = {0};
    if (sp_channel_take_begin(w->ch, &txn, &err)) {
      snprintf(w->failure, sizeof w->failure, "take_begin: %.400s", err.msg);
      break;
    }
    long rows[10];
    uint64_t seqs[10];
    size_t n = 0;
    sp_event ev;
    int rc;
    while ((rc = sp_channel_take(w->ch, txn, &ev, sp_monotonic_us() + 200000, &err)) == SP_OK) {
      seqs[n] = ev.seq;
      rows[n++] = find_event(w->te, &ev);
    }
    if (rc == SP_ERR_RETRY) atomic_fetch_add(&w->retries, 1);
    /* SP_ERR_IO (e.g. no assignment yet after a long rebalance) is retried, as the
     * sink runner does; the test's deadlines catch a writer that never recovers. */
    if (n == 0 || (rc != SP_ERR_TIMEOUT && rc != SP_ERR_FULL)) {
      sp_channel_take_rollback(w->ch, txn);
      if (rc != SP_ERR_TIMEOUT && rc != SP_ERR_RETRY) usleep(100000); /* the runner's back-off */
      continue;
    }
    if (sp_channel_take_commit(w->ch, txn, NULL, 0, &err)) {
      /* e.g. the coordinator refusing commits during a rebalance: the runner rolls
       * back and takes again (the events, or SP_ERR_RETRY if the partition moved) */
      atomic_fetch_add(&w->failed_commits, 1);
      sp_channel_take_rollback(w->ch, txn);
      usleep(100000);
      continue;
    }
    pthread_mutex_lock(w->lock);
    for (size_t i = 0; i < n; i++) {
      if (rows[i] < 0) snprintf(w->failure, sizeof w->failure, "seq %llu is none of the rows put",
                                (unsigned long long)seqs[i]);
      else w->committed[rows[i]]++, w->partitions[phase_of(w, rows[i])] |= 1u << (seqs[i] >> 40);
    }
    pthread_mutex_unlock(w->lock);
    atomic_fetch_add(&w->taken, (int)n);
  }
  return NULL;
}

static void group_writer_start(group_writer *w) {
  assert_int_equal(pthread_create(&w->thread, NULL, group_writer_run, w), 0);
}

static void group_writer_stop(group_writer *w) {
  atomic_store(&w->stop, true);
  assert_int_equal(pthread_join(w->thread, NULL), 0);
  if (w->failure[0]) fail_msg("writer: %s", w->failure);
}

/* Rows committed so far, over both writers. */
static long committed_total(pthread_mutex_t *lock, const int *committed, long rows) {
  long total = 0;
  pthread_mutex_lock(lock);
  for (long i = 0; i < rows; i++) total += committed[i];
  pthread_mutex_unlock(lock);
  return total;
}

/* Wait (60 s at most: rebalances take seconds) until rows 0..rows-1 are committed. */
static void wait_all_committed(pthread_mutex_t *lock, const int *committed, long rows) {
  int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC;
  while (committed_total(lock, committed, rows) < rows && sp_monotonic_us() < until) usleep(50000);
  assert_int_equal(committed_total(lock, committed, rows), rows);
}

static void test_writers_of_one_group_share_the_partitions(void **state) {
  mock_env *env = *state;
  test_events te;
  make_test_events(&te, sp_dataset_get(SP_DS_FINANCIAL_DATA), 0, GROUP_ROWS);
  sp_channel *collector = open_channel(env, "shared", -1, NULL);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  int committed[GROUP_ROWS] = {0};
  long phase_start[3] = {GROUP_ROWS, GROUP_ROWS, GROUP_ROWS};
  group_writer a = {.te = &te, .lock = &lock, .committed = committed, .phase_start = phase_start};
  group_writer b = a;
  a.ch = open_group_channel(env, "shared", SP_DS_FINANCIAL_DATA, NULL, "shared_writers");
  b.ch = open_group_channel(env, "shared", SP_DS_FINANCIAL_DATA, NULL, "shared_writers");

  /* Phase 0: A alone holds a take of a few rows open; B joins; the rebalance revokes
   * A's partitions inside A's next take, which fails with SP_ERR_RETRY. */
  long put = 4;
  put_events(collector, &te, 0, (size_t)put);
  void *txn;
  sp_error err = {0};
  sp_event ev;
  assert_int_equal(sp_channel_take_begin(a.ch, &txn, &err), 0);
  int rc = SP_ERR_TIMEOUT;
  for (int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC; rc == SP_ERR_TIMEOUT && sp_monotonic_us() < until;)
    rc = sp_channel_take(a.ch, txn, &ev, sp_monotonic_us() + 200000, &err);
  if (rc) fail_msg("A's first take: %s", err.msg);
  group_writer_start(&b);
  for (int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC; sp_monotonic_us() < until;) {
    rc = sp_channel_take(a.ch, txn, &ev, sp_monotonic_us() + 200000, &err);
    if (rc != SP_OK && rc != SP_ERR_TIMEOUT) break;
  }
  if (rc != SP_ERR_RETRY) fail_msg("A's take during B's join ended with %s: %s", sp_status_name(rc), err.msg);
  sp_channel_take_rollback(a.ch, txn); /* nothing of it committed: taken again later, once */
  group_writer_start(&a);

  /* Phase 1: rows until both writers have committed some (the group is split; under
   * load the mock may need a few rounds of rebalancing first). */
  phase_start[0] = put;
  for (int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC;
       (atomic_load(&a.taken) == 0 || atomic_load(&b.taken) == 0) && sp_monotonic_us() < until;) {
    if (put + 4 <= GROUP_ROWS - 80) {
      put_events(collector, &te, (size_t)put, 4);
      put += 4;
    }
    usleep(1000000);
  }
  assert_true(atomic_load(&a.taken) > 0 && atomic_load(&b.taken) > 0);

  /* Phase 2: 40 rows with both in the group: disjoint, non-empty partition sets. */
  phase_start[1] = put;
  put_events(collector, &te, (size_t)put, 40);
  put += 40;
  wait_all_committed(&lock, committed, put);
  pthread_mutex_lock(&lock);
  unsigned pa = a.partitions[2], pb = b.partitions[2];
  pthread_mutex_unlock(&lock);
  if (!pa || !pb || (pa & pb) || (pa | pb) != 0xF)
    fail_msg("partitions of the 40 rows: A %#x, B %#x (want disjoint, non-empty, all four)", pa, pb);

  /* Phase 3: B leaves; A takes over every partition. */
  group_writer_stop(&b);
  sp_channel_free(b.ch);
  phase_start[2] = put;
  put_events(collector, &te, (size_t)put, 40);
  put += 40;
  wait_all_committed(&lock, committed, put);
  group_writer_stop(&a);
  assert_int_equal(a.partitions[3], 0xF);
  assert_int_equal(b.partitions[3], 0);
  for (long i = 0; i < put; i++)
    if (committed[i] != 1) fail_msg("row %ld committed %d times", i, committed[i]);
  print_message("group: %ld rows; A %d, B %d committed; retries A %d, B %d; refused commits A %d, B %d; "
                "partitions in phase 2: A %#x, B %#x\n", put, atomic_load(&a.taken), atomic_load(&b.taken),
                atomic_load(&a.retries), atomic_load(&b.retries), atomic_load(&a.failed_commits),
                atomic_load(&b.failed_commits), pa, pb);
  sp_channel_free(a.ch);
  sp_channel_free(collector);
  pthread_mutex_destroy(&lock);
  free_test_events(&te);
}

/* A writer catching up while its partition's leader does not answer: a take fails
 * (SP_ERR_IO) once timeout_ms passed without a message, and a later take (the
 * runner's retry) waits again and gets the rows once the leader answers, rather than
 * failing at once forever.  The leader's first Fetch answer is held 3 s (the
 * writer's time-out is 1 s). */
static void test_stalled_catch_up_recovers(void **state) {
  mock_env *env = *state;
  test_events te;
  make_test_events(&te, sp_dataset_get(SP_DS_FINANCIAL_DATA), 0, 5);
  sp_channel *collector = open_channel(env, "stall", -1, NULL);
  put_events(collector, &te, 0, 5);
  sp_channel *writer = open_channel_timeout(env, "stall", SP_DS_FINANCIAL_DATA, NULL, 1000);
  /* 1 = the Fetch request (Kafka protocol API key) */
  assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(env->cluster, 1, 1, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 3000),
                   0);
  int seen[5] = {0}, failed = 0;
  size_t total = 0;
  for (int64_t until = sp_monotonic_us() + 4 * WAIT_US; total < 5 && sp_monotonic_us() < until;) {
    void *txn;
    sp_error err = {0};
    assert_int_equal(sp_channel_take_begin(writer, &txn, &err), 0);
    size_t n = 0;
    sp_event ev;
    int rc;
    while ((rc = sp_channel_take(writer, txn, &ev, sp_monotonic_us() + 300000, &err)) == SP_OK) {
      long i = find_event(&te, &ev);
      if (i < 0) fail_msg("event seq %llu is none of the rows put", (unsigned long long)ev.seq);
      seen[i]++;
      n++;
    }
    if (rc == SP_ERR_IO) failed++;
    else if (rc != SP_ERR_TIMEOUT && rc != SP_ERR_FULL) fail_msg("%s", err.msg);
    if (n) assert_int_equal(sp_channel_take_commit(writer, txn, NULL, 0, &err), 0);
    else sp_channel_take_rollback(writer, txn);
    total += n;
  }
  printf("# %d take(s) failed while the leader's answer was held\n", failed);
  for (int i = 0; i < 5; i++) assert_int_equal(seen[i], 1);
  sp_channel_free(writer);
  sp_channel_free(collector);
  free_test_events(&te);
}

static void test_missing_topic_is_a_config_error(void **state) {
  (void)state;
  sp_channel_kafka_config cfg = {.base = {.name = "bad", .capacity = 10, .transaction_capacity = 10},
                                 .brokers = "127.0.0.1:9"};
  sp_channel *ch = NULL;
  sp_error err = {0};
  assert_int_equal(sp_channel_kafka_open(&cfg, &ch, &err), SP_ERR_CONFIG);
  assert_null(ch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_collector_channel_to_writer_channel),
      cmocka_unit_test(test_writer_reads_the_kafka_sink_format),
      cmocka_unit_test(test_malformed_messages_are_dead_lettered_and_skipped),
      cmocka_unit_test(test_writer_crash_windows_lose_and_double_nothing),
      cmocka_unit_test(test_broker_down_and_back_loses_and_doubles_nothing),
      cmocka_unit_test(test_writers_of_one_group_share_the_partitions),
      cmocka_unit_test(test_stalled_catch_up_recovers),
      cmocka_unit_test(test_missing_topic_is_a_config_error),
  };
  return cmocka_run_group_tests(tests, setup_cluster, kafka_mock_env_teardown);
}
