/*
 * sink_postgres.h — the PostgreSQL sink (SPEC §3 `type: postgresql`): rows of each
 * dataset go into one table with the dataset's columns, typed, and a primary key on
 * the dataset key (SPEC §1).
 *
 * A batch is one transaction loaded with binary COPY: straight into the table under a
 * savepoint while no row's key is already stored; when one is (a replay after a
 * crash, cut into any batches), the COPY fails on the key, is rolled back to the
 * savepoint, and the batch goes into a session-local TEMP table and on with
 *     INSERT INTO <table> (...) SELECT ... FROM <stage> ON CONFLICT (<key>) DO NOTHING
 * in the same transaction, so committing the same events again adds nothing.  A table
 * whose column types differ from those below (made beforehand by someone else)
 * always takes the second path (binary COPY cannot convert types).  The table is
 * created when missing:
 *
 *     STRING → TEXT, DOUBLE → DOUBLE PRECISION, INT64 → BIGINT, INT32 → INTEGER,
 *     BOOL → BOOLEAN, DATE → DATE, TIMESTAMP → TIMESTAMPTZ (microseconds, UTC);
 *     NOT NULL on every column the schema does not mark nullable.
 *
 * Connection: `conninfo` is any libpq connection string or postgresql:// URI; the
 * password may also come from libpq's own PGPASSWORD / PGPASSFILE.  Its password
 * (from the string or PGPASSWORD) is registered with sp_log_add_secret, and neither
 * the string nor the password is ever put into a message: messages name the server
 * as host:port/dbname and the user.  A broken connection is re-established at the
 * next commit; while the server is unreachable commits fail with SP_ERR_IO, which the
 * sink runner retries with its capped, jittered backoff.
 *
 * Error classes (sink.h): data the server refuses (SQLSTATE classes 22 and 23, e.g. a
 * NOT NULL key, invalid UTF-8) → SP_ERR_INVALID (permanent: the runner quarantines
 * the offending events); rejected credentials, a missing database or a table whose
 * columns or key do not match (classes 28, 3D, 42) → SP_ERR_CONFIG (retried: an
 * operator must act, the events are not at fault); anything else → SP_ERR_IO.
 */
#ifndef STOCKPIPE_SINKS_SINK_POSTGRES_H
#define STOCKPIPE_SINKS_SINK_POSTGRES_H

#include "sinks/sink.h"

typedef struct sp_sink_postgres_config {
  const char *name;     /* sink name (counters, logs, application_name) */
  const char *conninfo; /* libpq connection string or URI (copied, never printed) */
  const char *table;    /* table for rows of `dataset` ("name" or "schema.name");
                           NULL = the dataset name.  Other datasets use their name. */
  int dataset;          /* sp_dataset_id `table` applies to; -1 when table is NULL */
  sp_membudget *budget; /* batch bytes are counted in it; NULL = unlimited */
} sp_sink_postgres_config;

/* Open a PostgreSQL sink and try to connect.  Returns 0 and *out; SP_ERR_CONFIG when
 * the server rejects the credentials or the database (the message names the server
 * and user, never the password), or for a `table` without a dataset; SP_ERR_NOMEM.
 * An unreachable server is not an error here: the sink logs a warning and connects
 * at its first commit.  Release with sp_sink_close. */
int sp_sink_postgres_open(const sp_sink_postgres_config *cfg, sp_sink **out, sp_error *err);

#endif
