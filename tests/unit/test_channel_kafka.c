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
 *   - a writer catching up while the leader does not answer fails its take after
 *     its time-out, and a retried take recovers once the leader answers.
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
  } topics[] = {{"roundtrip", 3}, {"from_sink", 4}, {"poison", 1}, {"crash", 3}, {"outage", 3}, {"stall", 1}};
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

static sp_channel *open_channel_timeout(const mock_env *env, const char *topic, int dataset, const char *qdir,
                                        int timeout_ms) {
  sp_channel_kafka_config cfg = {.base = {.name = dataset < 0 ? "collector" : "writer", .capacity = 100,
                                          .transaction_capacity = 10},
                                 .brokers = env->bootstraps,
                                 .topic = topic,
                                 .dataset = dataset,
                                 .group = "writers",
                                 .quarantine_dir = qdir,
                                 .timeout_ms = timeout_ms};
  sp_channel *ch = NULL;
  sp_error err = {0};
  if (sp_channel_kafka_open(&cfg, &ch, &err)) fail_msg("%s", err.msg);
  return ch;
}

static sp_channel *open_channel(const mock_env *env, const char *topic, int dataset, const char *qdir) {
  return open_channel_timeout(env, topic, dataset, qdir, 30000);
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
      cmocka_unit_test(test_stalled_catch_up_recovers),
      cmocka_unit_test(test_missing_topic_is_a_config_error),
  };
  return cmocka_run_group_tests(tests, setup_cluster, kafka_mock_env_teardown);
}
