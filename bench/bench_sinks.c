/*
 * bench_sinks.c — rows per second into PostgreSQL through the sink's COPY path and
 * into Kafka (librdkafka's in-process mock cluster), each next to a reference
 * measured in the same run (issue 8; target: PostgreSQL >= 100k rows/s).
 *
 *   bench_sinks [--rows N] [--batch B] [--pg CONNINFO] [--kafka]
 *
 * PostgreSQL: N stock_movements rows (30 columns, the widest dataset) committed in
 * batches of B by the sink (decode, binary COPY encoding, SAVEPOINT + COPY straight
 * into the keyed table, COMMIT), then the same events again (a full replay: every row
 * conflicts, so the first batch's COPY fails and every batch goes through the stage
 * table and INSERT ... ON CONFLICT DO NOTHING).  Reference: the server alone, loading
 * the same rows (read back with binary COPY TO) with one binary COPY into a table with
 * the same columns and primary key — the floor of what the sink asks of the server.
 * Kafka: N rows through the sink (JSON rendering, idempotent producer, acks=all,
 * delivery reports) to a 3-broker mock.  Reference: librdkafka alone producing the
 * same number of pre-rendered messages of the same size with the same settings.
 * Then a writer agent's Kafka channel takes those rows back (JSON parse, event
 * encoding, an offset commit per take).  Reference: librdkafka alone consuming the
 * same topic (another group) and committing every `batch` messages.
 * bench/run.sh starts a throw-away server (tests/postgres/lib.sh) and runs this.
 */
#include "../tests/tools/c/sink_test_rows.h"
#include "core/timeutil.h"
#include "format/value_text.h"
#include "core/channel_kafka.h"
#include "sinks/sink_kafka.h"
#include "sinks/sink_postgres.h"

#include <librdkafka/rdkafka_mock.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double seconds_since(int64_t start_us) { return (double)(sp_monotonic_us() - start_us) / 1e6; }

/* Commit te's events into `s` in batches of `batch`, adding the seconds spent in
 * write() (decoding and encoding on the client) to *write_s.  Returns 0 or the error. */
static int commit_all(sp_sink *s, const test_events *te, size_t batch, double *write_s, sp_error *err) {
  for (size_t at = 0; at < te->n; at += batch) {
    size_t n = te->n - at < batch ? te->n - at : batch;
    int64_t start = sp_monotonic_us();
    int rc = s->ops->begin(s, err);
    if (!rc) rc = s->ops->write(s, te->events + at, n, err);
    *write_s += seconds_since(start);
    if (!rc) rc = s->ops->commit(s, err);
    if (rc) return rc;
  }
  return 0;
}

static int exec_ok(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok) fprintf(stderr, "bench: %s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  return ok ? 0 : -1;
}

/* The server's bare binary COPY speed for the same rows into a table with the same key. */
static double reference_copy_rows_per_s(const char *conninfo, size_t rows) {
  PGconn *c = PQconnectdb(conninfo);
  double rate = -1;
  sp_buf text = SP_BUF_INIT;
  if (PQstatus(c) != CONNECTION_OK) goto done;
  if (exec_ok(c, "DROP TABLE IF EXISTS bench_copy_reference") ||
      exec_ok(c, "CREATE TABLE bench_copy_reference (LIKE stock_movements INCLUDING ALL)"))
    goto done;
  PGresult *r = PQexec(c, "COPY stock_movements TO STDOUT (FORMAT binary)");
  if (PQresultStatus(r) != PGRES_COPY_OUT) goto done;
  PQclear(r);
  char *line;
  int len;
  while ((len = PQgetCopyData(c, &line, 0)) > 0) {
    sp_buf_append(&text, line, (size_t)len);
    PQfreemem(line);
  }
  while ((r = PQgetResult(c)) != NULL) PQclear(r);
  int64_t start = sp_monotonic_us();
  if (exec_ok(c, "BEGIN")) goto done;
  r = PQexec(c, "COPY bench_copy_reference FROM STDIN (FORMAT binary)");
  int copy_in = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  if (!copy_in || PQputCopyData(c, (const char *)text.data, (int)text.len) != 1 || PQputCopyEnd(c, NULL) != 1)
    goto done;
  while ((r = PQgetResult(c)) != NULL) PQclear(r);
  if (exec_ok(c, "COMMIT")) goto done;
  rate = (double)rows / seconds_since(start);
  exec_ok(c, "DROP TABLE bench_copy_reference");
done:
  sp_buf_free(&text);
  PQfinish(c);
  return rate;
}

static int bench_postgres(const char *conninfo, long rows, size_t batch) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK || exec_ok(c, "DROP TABLE IF EXISTS stock_movements")) {
    fprintf(stderr, "bench: %s", PQerrorMessage(c));
    PQfinish(c);
    return 1;
  }
  PQfinish(c);
  sp_sink_postgres_config cfg = {.name = "bench_pg", .conninfo = conninfo, .dataset = -1};
  sp_sink *s;
  sp_error err = {0};
  if (sp_sink_postgres_open(&cfg, &s, &err)) {
    fprintf(stderr, "bench: %s\n", err.msg);
    return 1;
  }
  test_events te;
  make_test_events(&te, ds, 0, rows);
  double write_s = 0, replay_write_s = 0;
  int64_t start = sp_monotonic_us();
  int rc = commit_all(s, &te, batch, &write_s, &err);
  double fresh_s = seconds_since(start), fresh = (double)rows / fresh_s;
  start = sp_monotonic_us();
  if (!rc) rc = commit_all(s, &te, batch, &replay_write_s, &err);
  double replay = (double)rows / seconds_since(start);
  free_test_events(&te);
  sp_sink_close(s);
  if (rc) {
    fprintf(stderr, "bench: %s\n", err.msg);
    return 1;
  }
  double reference = reference_copy_rows_per_s(conninfo, (size_t)rows);
  printf("postgresql  sink, new rows      %9.0f rows/s  (%ld rows of %s, batches of %zu; target >= 100000;"
         " %.0f%% of the time in write(): decoding + binary COPY encoding; COPY straight into the table)\n",
         fresh, rows, ds->name, batch, 100 * write_s / fresh_s);
  printf("postgresql  sink, replayed rows %9.0f rows/s  (every row already stored: stage table + ON CONFLICT DO NOTHING)\n",
         replay);
  if (reference > 0)
    printf("postgresql  bare COPY reference %9.0f rows/s  (the server alone: one binary COPY into a table with the same"
           " key) -> sink / bare COPY = %.2f\n",
           reference, fresh / reference);
  return 0;
}

/* librdkafka alone: `rows` messages of `key_len`/`value_len` bytes, same settings as the sink. */
static double reference_kafka_rows_per_s(const char *bootstraps, long rows, size_t value_len) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *const settings[] = {"enable.idempotence=true", "acks=all", "linger.ms=5", "compression.type=lz4",
                                  "partitioner=murmur2_random", NULL};
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, why, sizeof why);
  sp_kafka_conf_set_logging(conf);
  if (sp_kafka_conf_apply(conf, settings, "bench", NULL)) return -1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (!rk) return -1;
  char key[96], *value = malloc(value_len);
  memset(value, 'v', value_len);
  int64_t start = sp_monotonic_us();
  for (long i = 0; i < rows; i++) {
    int n = snprintf(key, sizeof key, "[\"ticker-%ld\",\"1h\",\"2026-11-25T14:30:00Z\"]", i);
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("bench_reference"), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, (size_t)n), RD_KAFKA_V_VALUE(value, value_len),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
  }
  rd_kafka_flush(rk, 60000);
  double rate = (double)rows / seconds_since(start);
  free(value);
  rd_kafka_destroy(rk);
  return rate;
}

/* How many messages of `topic` (partitions 0..partitions-1) the cluster still holds:
 * the mock cluster keeps only the newest few MB of each partition, so a big run's
 * oldest messages are gone before the take benchmarks read them.  -1 on error. */
static long messages_held(const char *bootstraps, const char *topic, int partitions) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, why, sizeof why);
  sp_kafka_conf_set_logging(conf);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (!rk) return -1;
  long held = 0;
  for (int p = 0; p < partitions && held >= 0; p++) {
    int64_t low, high;
    if (rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) held = -1;
    else held += (long)(high - low);
  }
  rd_kafka_destroy(rk);
  return held;
}

/* librdkafka alone consuming `rows` messages of `topic` (every partition, from the
 * start), committing the offsets every `batch` messages, as a writer would. */
static double reference_consume_rows_per_s(const char *bootstraps, const char *topic, int partitions, long rows,
                                           size_t batch) {
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *const settings[] = {"group.id=bench_reference", "enable.auto.commit=false", NULL};
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, why, sizeof why);
  sp_kafka_conf_set_logging(conf);
  if (sp_kafka_conf_apply(conf, settings, "bench", NULL)) return -1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (!rk) return -1;
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++) rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t start = sp_monotonic_us();
  long got = 0;
  while (got < rows && seconds_since(start) < 120) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    got += m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_message_destroy(m);
    if (got % (long)batch == 0) rd_kafka_commit(rk, NULL, 0);
  }
  double rate = got == rows ? (double)rows / seconds_since(start) : -1;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rate;
}

/* A writer agent's Kafka channel taking `rows` rows of `topic` (what the sink wrote)
 * in transactions of `batch`, each committed: fetch, JSON parse, event encoding,
 * offset commit.  No sink, so only the channel is measured.  The clock starts at the
 * first event: joining the consumer group (the mock's initial rebalance delay is 3 s)
 * is not consuming, and the reference assigns its partitions without a group. */
static double channel_take_rows_per_s(const char *bootstraps, const char *topic, int dataset, long rows, size_t batch,
                                      long *transactions, sp_error *err) {
  sp_channel_kafka_config cfg = {.base = {.name = "bench_writer", .transaction_capacity = batch},
                                 .brokers = bootstraps, .topic = topic, .dataset = dataset, .group = "bench_writer"};
  sp_channel *ch;
  if (sp_channel_kafka_open(&cfg, &ch, err)) return -1;
  int64_t start = 0;
  long taken = 0;
  int rc = SP_OK;
  while (taken < rows && !rc) {
    void *txn;
    rc = sp_channel_take_begin(ch, &txn, err);
    if (rc) break;
    size_t n = 0;
    sp_event ev;
    while (n < batch && (rc = sp_channel_take(ch, txn, &ev, sp_monotonic_us() + SP_US_PER_SEC, err)) == SP_OK)
      if (n++ == 0 && !start) start = sp_monotonic_us();
    if (rc == SP_ERR_TIMEOUT || rc == SP_ERR_FULL) rc = n ? SP_OK : rc;
    if (!rc) rc = sp_channel_take_commit(ch, txn, NULL, 0, err);
    if (rc) sp_channel_take_rollback(ch, txn);
    taken += rc ? 0 : (long)n;
    *transactions += !rc;
  }
  double rate = rc ? -1 : (double)rows / seconds_since(start);
  sp_channel_free(ch);
  return rate;
}

static int bench_kafka(long rows, size_t batch) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  char why[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sp_kafka_conf_set_logging(conf);
  rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  rd_kafka_mock_cluster_t *cluster = owner ? rd_kafka_mock_cluster_new(owner, 3) : NULL;
  if (!cluster) {
    fprintf(stderr, "bench: no mock cluster\n");
    return 1;
  }
  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  rd_kafka_mock_topic_create(cluster, ds->name, 6, 3);
  rd_kafka_mock_topic_create(cluster, "bench_reference", 6, 3);
  sp_sink_kafka_config cfg = {.name = "bench_kafka", .brokers = bootstraps, .dataset = -1};
  sp_sink *s;
  sp_error err = {0};
  int rc = sp_sink_kafka_open(&cfg, &s, &err);
  test_events te;
  make_test_events(&te, ds, 0, rows);
  double write_s = 0;
  int64_t start = sp_monotonic_us();
  if (!rc) rc = commit_all(s, &te, batch, &write_s, &err);
  double total_s = seconds_since(start), rate = (double)rows / total_s;
  if (!rc) sp_sink_close(s);
  if (rc) fprintf(stderr, "bench: %s\n", err.msg);
  free_test_events(&te);
  /* The reference sends values as long as the sink's JSON rows (averaged over 1000). */
  sp_buf json = SP_BUF_INIT;
  for (long i = 0; i < 1000; i++) {
    sp_row row;
    make_test_row(&row, ds, i);
    sp_json_append_row(&json, &row, NULL, 0);
    sp_row_clear(&row);
  }
  size_t value_len = json.len / 1000;
  sp_buf_free(&json);
  double reference = rc ? -1 : reference_kafka_rows_per_s(bootstraps, rows, value_len);
  long transactions = 0, held = rc ? -1 : messages_held(bootstraps, ds->name, 6);
  if (!rc && held <= 0) {
    fprintf(stderr, "bench: cannot tell how many messages topic %s holds\n", ds->name);
    rc = 1;
  }
  double taking = rc ? -1 : channel_take_rows_per_s(bootstraps, ds->name, ds->id, held, batch, &transactions, &err);
  if (!rc && taking < 0) fprintf(stderr, "bench: kafka channel: %s\n", err.msg);
  double consuming = rc ? -1 : reference_consume_rows_per_s(bootstraps, ds->name, 6, held, batch);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  if (rc) return 1;
  printf("kafka mock  sink                %9.0f rows/s  (%ld rows of %s, batches of %zu, 3 brokers, acks=all;"
         " %.0f%% of the time in write(): decoding + JSON rendering)\n",
         rate, rows, ds->name, batch, 100 * write_s / total_s);
  if (reference > 0)
    printf("kafka mock  librdkafka alone    %9.0f rows/s  (%zu-byte values) -> sink / librdkafka = %.2f\n", reference,
           value_len, rate / reference);
  if (taking > 0)
    printf("kafka mock  writer channel take %9.0f rows/s  (the %ld rows the mock still holds, every partition, JSON ->"
           " row -> event, offsets committed per take of <= %zu, %.0f rows per take on average; no sink)\n",
           taking, held, batch, (double)held / (double)(transactions ? transactions : 1));
  if (taking > 0 && consuming > 0)
    printf("kafka mock  librdkafka consume  %9.0f rows/s  (same count, same commits) -> channel / librdkafka = %.2f\n",
           consuming, taking / consuming);
  return taking > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  long rows = 200000;
  size_t batch = 10000;
  const char *conninfo = NULL;
  bool kafka = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = atol(argv[++i]);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = (size_t)atol(argv[++i]);
    else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) conninfo = argv[++i];
    else if (strcmp(argv[i], "--kafka") == 0) kafka = true;
    else {
      fprintf(stderr, "usage: bench_sinks [--rows N] [--batch B] [--pg CONNINFO] [--kafka]\n");
      return 2;
    }
  }
  if (rows <= 0 || batch == 0) return 2;
  int rc = 0;
  if (conninfo) rc |= bench_postgres(conninfo, rows, batch);
  if (kafka) rc |= bench_kafka(rows, batch);
  return rc;
}
