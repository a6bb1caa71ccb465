/*
 * sink_mongo.h — the MongoDB sink (SPEC §3 `type: mongodb`), on libmongoc 1.23:
 * rows of each dataset go into one collection, one document per row.
 *
 * Documents: `_id` is the SPEC §1 key as a sub-document of the key columns (so the
 * same row always has the same _id), then every column by name: STRING → string,
 * DOUBLE → double, INT64 → int64, INT32 → int32, BOOL → bool, TIMESTAMP → BSON date
 * (milliseconds: MongoDB dates cannot hold the microseconds, which are truncated),
 * DATE → BSON date at 00:00 UTC, NULL → null.  The collection gets a unique index
 * "stockpipe_key" on the key columns.
 *
 * A batch is one unordered bulk write of replace-one-with-upsert by _id (libmongoc
 * splits it into server-sized commands), so committing the same events again
 * (a replay after a crash, a retry after a lost reply) changes nothing.
 *
 * Errors (sink.h): network and server-selection failures and server errors →
 * SP_ERR_IO (retried by the runner; libmongoc reconnects by itself); rejected
 * credentials → SP_ERR_CONFIG (retried); per-document write errors (a document the
 * server refuses, a unique-index conflict with a foreign document) → SP_ERR_INVALID
 * (permanent: the runner narrows the batch to the offending events and quarantines
 * them).  The URI's password is registered with sp_log_add_secret and messages
 * never contain the URI.
 *
 * No MongoDB server can be installed on the build machines: the tests run against
 * tests/fakemongo/fakemongo.py (a wire-protocol fake) and against a real server
 * whenever STOCKPIPE_TEST_MONGODB_URI is set.
 */
#ifndef STOCKPIPE_SINKS_SINK_MONGO_H
#define STOCKPIPE_SINKS_SINK_MONGO_H

#include "sinks/sink.h"

typedef struct sp_sink_mongo_config {
  const char *name;       /* sink name (counters, logs, appname) */
  const char *uri;        /* mongodb://[user:password@]host:port[/?options] (never printed) */
  const char *database;   /* NULL = "stockpipe" */
  const char *collection; /* collection for rows of `dataset`; NULL = the dataset name */
  int dataset;            /* sp_dataset_id `collection` applies to; -1 when collection is NULL */
  sp_membudget *budget;   /* batch bytes are counted in it; NULL = unlimited */
} sp_sink_mongo_config;

/* Open a MongoDB sink (no connection yet: libmongoc connects at the first write).
 * Returns 0 and *out; SP_ERR_CONFIG for a URI libmongoc refuses (its reason, never
 * the URI) or a collection without a dataset; SP_ERR_NOMEM.  Release with
 * sp_sink_close.  Calls mongoc_init() (idempotent); never mongoc_cleanup(). */
int sp_sink_mongo_open(const sp_sink_mongo_config *cfg, sp_sink **out, sp_error *err);

#endif
