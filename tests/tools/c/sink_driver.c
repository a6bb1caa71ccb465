/*
 * sink_driver.c — drives the database sinks for tests/integration/test_sink_postgres.sh
 * (a real PostgreSQL server) and test_sink_mongo.sh (tests/fakemongo or a real
 * MongoDB), and the Kafka sink for test_kafka_writer.sh (rows a writer agent must
 * store), and prints what it did.  KIND is "postgresql" (TARGET = a libpq connection
 * string), "mongodb" (TARGET = a MongoDB URI; database "stockpipe_test") or "kafka"
 * (TARGET = bootstrap servers; `load` only; topic = the dataset name).
 *
 *   sink_driver schema DATASET
 *       the dataset's columns as JSON: {"columns": [{"name", "type", "nullable"}], "key": [...]}
 *   sink_driver expected DATASET FIRST COUNT
 *       the generated rows (sink_test_rows.h) as JSON lines: what the store must hold
 *   sink_driver load KIND TARGET DATASET FIRST COUNT BATCH
 *       open the sink and commit rows FIRST.. in batches of BATCH (begin/write/commit)
 *   sink_driver mixed KIND TARGET BATCH DATASET:FIRST:COUNT...
 *       the same with several datasets in each batch: the rows of every spec interleaved
 *       one by one, then cut into batches of BATCH events
 *   sink_driver runner KIND TARGET DATASET FIRST COUNT BATCH KILL
 *       through a memory channel and the real sink runner, in two halves; with KILL=1
 *       (postgresql) every other "stockpipe" backend is terminated between the halves,
 *       so the second half meets a dead connection; prints the runner's retry count
 *   sink_driver open KIND TARGET
 *       open the sink only; on failure print "error: <message>" (not redacted) and exit 3
 *   sink_driver mongo-command URI DATABASE JSON
 *       run a command on DATABASE, print the reply (canonical extended JSON)
 *   sink_driver mongo-dump URI COLLECTION
 *       every document of stockpipe_test.COLLECTION, canonical extended JSON, one a line
 *
 * Exit status: 0 success, 1 a sink or runner error (printed), 2 usage.
 */
#include "core/log.h"
#include "core/sink_runner.h"
#include "format/value_text.h"
#include "sink_test_rows.h"
#include "sinks/sink_kafka.h"
#include "sinks/sink_mongo.h"
#include "sinks/sink_postgres.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
  fprintf(stderr, "usage: sink_driver schema|expected|load|mixed|runner|open|mongo-command|mongo-dump ... (see the source)\n");
  return 2;
}

static const sp_dataset_def *dataset_arg(const char *name) {
  const sp_dataset_def *ds = sp_dataset_by_name(name);
  if (!ds) {
    fprintf(stderr, "unknown dataset %s\n", name);
    exit(2);
  }
  return ds;
}

static int print_expected(const sp_dataset_def *ds, long first, long count) {
  sp_buf line = SP_BUF_INIT;
  for (long i = first; i < first + count; i++) {
    sp_row row;
    make_test_row(&row, ds, i);
    sp_buf_reset(&line);
    if (sp_json_append_row(&line, &row, NULL, 0) || sp_buf_append_byte(&line, '\n')) abort();
    fwrite(line.data, 1, line.len, stdout);
    sp_row_clear(&row);
  }
  sp_buf_free(&line);
  return 0;
}

static int print_schema(const sp_dataset_def *ds) {
  printf("{\"columns\": [");
  for (int c = 0; c < ds->ncolumns; c++)
    printf("%s{\"name\": \"%s\", \"type\": \"%s\", \"nullable\": %s}", c ? ", " : "", ds->columns[c].name,
           sp_type_name(ds->columns[c].type), ds->columns[c].nullable ? "true" : "false");
  printf("], \"key\": [");
  for (int k = 0; k < ds->nkey; k++) printf("%s\"%s\"", k ? ", " : "", ds->columns[ds->key_columns[k]].name);
  printf("]}\n");
  return 0;
}

static sp_sink *open_sink(const char *kind, const char *target, sp_error *err) {
  sp_sink *s = NULL;
  if (strcmp(kind, "postgresql") == 0) {
    sp_sink_postgres_config cfg = {.name = "pg_test", .conninfo = target, .dataset = -1};
    return sp_sink_postgres_open(&cfg, &s, err) ? NULL : s;
  }
  if (strcmp(kind, "mongodb") == 0) {
    sp_sink_mongo_config cfg = {.name = "mongo_test", .uri = target, .database = "stockpipe_test", .dataset = -1};
    return sp_sink_mongo_open(&cfg, &s, err) ? NULL : s;
  }
  if (strcmp(kind, "kafka") == 0) { /* one topic per dataset, named after it */
    sp_sink_kafka_config cfg = {.name = "kafka_test", .brokers = target, .dataset = -1};
    return sp_sink_kafka_open(&cfg, &s, err) ? NULL : s;
  }
  sp_error_set(err, SP_ERR_INVALID, "unknown sink kind %s", kind);
  return NULL;
}

/* Open the sink and commit events[0..n) in batches of `batch` (begin/write/commit). */
static int commit_batches(const char *kind, const char *target, const sp_event *events, size_t n, long batch) {
  sp_error err = {0};
  sp_sink *s = open_sink(kind, target, &err);
  if (!s) {
    fprintf(stderr, "open: %s\n", err.msg);
    return 1;
  }
  int rc = 0;
  long batches = 0;
  for (size_t at = 0; at < n && !rc; at += (size_t)batch, batches++) {
    size_t k = n - at < (size_t)batch ? n - at : (size_t)batch;
    rc = s->ops->begin(s, &err);
    if (!rc) rc = s->ops->write(s, events + at, k, &err);
    if (!rc) rc = s->ops->commit(s, &err);
  }
  if (rc) fprintf(stderr, "commit: %s (%s)\n", err.msg, sp_status_name(rc));
  else printf("committed %zu events in %ld batches\n", n, batches);
  sp_sink_close(s);
  return rc ? 1 : 0;
}

static int load(const char *kind, const char *target, const sp_dataset_def *ds, long first, long count,
                long batch) {
  test_events te;
  make_test_events(&te, ds, first, count);
  int rc = commit_batches(kind, target, te.events, te.n, batch);
  free_test_events(&te);
  return rc;
}

/* Batches holding several datasets: each spec "DATASET:FIRST:COUNT" gives that
 * dataset's rows, and the events of all specs are interleaved one by one (the first
 * event of each spec, then the second of each, ...) before being cut into batches. */
static int load_mixed(const char *kind, const char *target, long batch, char **specs, int nspecs) {
  test_events te[SP_DS_COUNT];
  size_t total = 0;
  if (nspecs > SP_DS_COUNT) return usage();
  for (int i = 0; i < nspecs; i++) {
    char name[64];
    long first, count;
    if (sscanf(specs[i], "%63[a-z_]:%ld:%ld", name, &first, &count) != 3 || first < 0 || count < 0) {
      for (int k = 0; k < i; k++) free_test_events(&te[k]);
      return usage();
    }
    make_test_events(&te[i], dataset_arg(name), first, count);
    total += te[i].n;
  }
  sp_event *mixed = calloc(total ? total : 1, sizeof *mixed);
  if (!mixed) abort();
  size_t n = 0;
  for (size_t k = 0; n < total; k++)
    for (int i = 0; i < nspecs; i++)
      if (k < te[i].n) mixed[n++] = te[i].events[k];
  int rc = commit_batches(kind, target, mixed, n, batch);
  free(mixed);
  for (int i = 0; i < nspecs; i++) free_test_events(&te[i]);
  return rc;
}

/* Put events[0..n) into the channel, transactionCapacity at a time. */
static void put_all(sp_channel *ch, const sp_event *events, size_t n) {
  for (size_t at = 0; at < n;) {
    sp_put_txn *t;
    sp_error err = {0};
    if (sp_put_txn_begin(&ch, 1, &t, &err)) abort();
    for (size_t k = 0; k < ch->transaction_capacity && at < n; k++, at++)
      if (sp_put_txn_put(t, events[at].data, events[at].len, 0, &err)) abort();
    if (sp_put_txn_commit(t, NULL, NULL, &err)) abort();
    sp_put_txn_close(t);
  }
}

/* Terminate every other backend whose application_name is "stockpipe". */
static int kill_sink_connections(const char *conninfo) {
  PGconn *admin = PQconnectdb(conninfo);
  if (PQstatus(admin) != CONNECTION_OK) {
    fprintf(stderr, "admin connection: %s", PQerrorMessage(admin));
    PQfinish(admin);
    return -1;
  }
  PGresult *res = PQexec(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'stockpipe' AND pid <> pg_backend_pid()");
  int killed = PQresultStatus(res) == PGRES_TUPLES_OK ? atoi(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQfinish(admin);
  return killed;
}

/* How long a drain may retry: it ends as soon as the channel is empty, so a generous
 * bound costs nothing and a loaded machine (ASan, parallel tests) cannot exceed it. */
#define DRAIN_US (60 * SP_US_PER_SEC)

static int run_runner(const char *kind, const char *target, const sp_dataset_def *ds, long first, long count,
                      long batch, bool kill) {
  sp_error err = {0};
  sp_sink *s = open_sink(kind, target, &err);
  if (!s) {
    fprintf(stderr, "open: %s\n", err.msg);
    return 1;
  }
  sp_channel_config ccfg = {.name = "driver_channel", .capacity = (size_t)count + 1,
                            .transaction_capacity = (size_t)batch};
  sp_channel *ch = NULL;
  sp_sink_runner *r = NULL;
  if (sp_channel_memory_open(&ccfg, &ch, &err)) abort();
  sp_sink_runner_config rcfg = {.channel = ch, .sink = s, .data_dir = "/nonexistent-quarantine",
                                .batch_size = (size_t)batch, .backoff_initial_us = 50000,
                                .backoff_max_us = SP_US_PER_SEC};
  if (sp_sink_runner_create(&rcfg, &r, &err)) abort();
  test_events te;
  make_test_events(&te, ds, first, count);
  size_t half = te.n / 2;
  uint64_t delivered = 0, more = 0;
  put_all(ch, te.events, half);
  int rc = sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, &delivered, &err);
  if (!rc && kill) {
    int killed = kill_sink_connections(target);
    printf("terminated %d sink connection(s)\n", killed);
    if (killed < 1) rc = sp_error_set(&err, SP_ERR_IO, "no sink connection to terminate");
  }
  if (!rc) {
    put_all(ch, te.events + half, te.n - half);
    rc = sp_sink_runner_drain(r, sp_monotonic_us() + DRAIN_US, &more, &err);
  }
  sp_sink_counters counters;
  sp_metrics_snapshot_sink(&s->counters, &counters);
  if (rc) fprintf(stderr, "runner: %s (%s)\n", err.msg, sp_status_name(rc));
  else
    printf("delivered %" PRIu64 " events, retries %" PRIu64 "\n", delivered + more, counters.WriteRetryCount);
  free_test_events(&te);
  sp_sink_runner_free(r);
  sp_channel_free(ch);
  sp_sink_close(s);
  return rc ? 1 : 0;
}

static int just_open(const char *kind, const char *target) {
  sp_error err = {0};
  sp_sink *s = open_sink(kind, target, &err);
  if (!s) {
    printf("error: %s\n", err.msg);
    return 3;
  }
  sp_sink_close(s);
  printf("opened\n");
  return 0;
}

static mongoc_client_t *mongo_client(const char *uri) {
  mongoc_init();
  mongoc_client_t *client = mongoc_client_new(uri);
  if (!client) {
    fprintf(stderr, "bad uri\n");
    exit(1);
  }
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  return client;
}

static int mongo_command(const char *uri, const char *database, const char *json) {
  bson_error_t e;
  bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, &e);
  if (!cmd) {
    fprintf(stderr, "command: %s\n", e.message);
    return 2;
  }
  mongoc_client_t *client = mongo_client(uri);
  bson_t reply;
  bool ok = mongoc_client_command_simple(client, database, cmd, NULL, &reply, &e);
  char *text = bson_as_canonical_extended_json(&reply, NULL);
  if (ok) printf("%s\n", text);
  else fprintf(stderr, "command: %s\n", e.message);
  bson_free(text);
  bson_destroy(&reply);
  bson_destroy(cmd);
  mongoc_client_destroy(client);
  return ok ? 0 : 1;
}

static int mongo_dump(const char *uri, const char *collection) {
  mongoc_client_t *client = mongo_client(uri);
  mongoc_collection_t *coll = mongoc_client_get_collection(client, "stockpipe_test", collection);
  bson_t filter = BSON_INITIALIZER;
  mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
  const bson_t *doc;
  while (mongoc_cursor_next(cursor, &doc)) {
    char *text = bson_as_canonical_extended_json(doc, NULL);
    printf("%s\n", text);
    bson_free(text);
  }
  bson_error_t e;
  bool failed = mongoc_cursor_error(cursor, &e);
  if (failed) fprintf(stderr, "find: %s\n", e.message);
  mongoc_cursor_destroy(cursor);
  bson_destroy(&filter);
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(client);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "schema") == 0) return print_schema(dataset_arg(argv[2]));
  if (argc >= 5 && strcmp(argv[1], "expected") == 0)
    return print_expected(dataset_arg(argv[2]), atol(argv[3]), atol(argv[4]));
  if (argc >= 8 && strcmp(argv[1], "load") == 0 && atol(argv[7]) > 0)
    return load(argv[2], argv[3], dataset_arg(argv[4]), atol(argv[5]), atol(argv[6]), atol(argv[7]));
  if (argc >= 6 && strcmp(argv[1], "mixed") == 0 && atol(argv[4]) > 0)
    return load_mixed(argv[2], argv[3], atol(argv[4]), argv + 5, argc - 5);
  if (argc >= 9 && strcmp(argv[1], "runner") == 0 && atol(argv[7]) > 0)
    return run_runner(argv[2], argv[3], dataset_arg(argv[4]), atol(argv[5]), atol(argv[6]), atol(argv[7]),
                      strcmp(argv[8], "1") == 0);
  if (argc >= 4 && strcmp(argv[1], "open") == 0) return just_open(argv[2], argv[3]);
  if (argc >= 5 && strcmp(argv[1], "mongo-command") == 0) return mongo_command(argv[2], argv[3], argv[4]);
  if (argc >= 4 && strcmp(argv[1], "mongo-dump") == 0) return mongo_dump(argv[2], argv[3]);
  return usage();
}
