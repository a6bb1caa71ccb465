/*
 * sink_postgres.c — the PostgreSQL sink (see sink_postgres.h), on libpq.
 *
 * write() decodes each event and appends it as one tuple of binary COPY format to
 * its dataset's buffer (no text formatting or parsing on either side: the server
 * takes doubles, integers and timestamps as they are).  commit() (re)connects when
 * needed, makes sure the dataset's table and this session's TEMP stage table exist,
 * and loads every buffer in one transaction, by one of two paths:
 *
 *  - direct (the usual case): COPY straight into the table — alone, as its own
 *    transaction, when the batch holds one dataset, else after a SAVEPOINT.  When a
 *    row's key is already stored the COPY fails with unique_violation (23505); the
 *    sink rolls back (to the savepoint) and takes the stage path for this batch, and
 *    for the next ones until a batch meets no stored key (a replay after a crash is
 *    a run of such batches).  Used only when the table's columns have exactly the
 *    schema's types (checked once per connection): binary COPY cannot convert.
 *  - stage: COPY into the stage table, then INSERT ... SELECT ... ON CONFLICT (<key>)
 *    DO NOTHING.  The stage table is ON COMMIT DELETE ROWS, so it is empty again after
 *    every commit or rollback.
 *
 * Both end in the same state: every row whose key was new is stored, nothing else.
 * The direct path is about twice as fast on the server: the ON CONFLICT insert checks
 * the key before each row and logs a confirmation after it, and the stage costs a
 * second COPY (measured in bench/bench_sinks.c).
 */
#include "sinks/sink_postgres.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* SQL of one dataset, built at open, and its share of the open batch. */
typedef struct pg_dataset {
  char *create_sql; /* CREATE TABLE IF NOT EXISTS <table> (... PRIMARY KEY (...)) */
  char *stage_sql;  /* CREATE TEMP TABLE IF NOT EXISTS <stage> (...) ON COMMIT DELETE ROWS */
  char *copy_sql;   /* COPY <stage> (<columns>) FROM STDIN (FORMAT binary) */
  char *insert_sql; /* INSERT INTO <table> ... SELECT ... FROM <stage> ON CONFLICT (<key>) DO NOTHING */
  char *direct_sql; /* SAVEPOINT ...; COPY <table> (<columns>) FROM STDIN (FORMAT binary) */
  char *types_sql;  /* how many of the table's columns have the schema's name and type */
  char *table;      /* the table name as configured, for messages */
  char *table_quoted; /* the same as an SQL identifier ("schema"."name") */
  bool ready;       /* table and stage exist for the current connection */
  bool direct;      /* the table's column types allow the direct path (this connection) */
  bool replaying;   /* the last batch met stored keys: stage path until one meets none */
  sp_buf copy;      /* the batch's rows as binary COPY tuples */
  size_t rows;
} pg_dataset;

typedef struct pg_sink {
  sp_sink base;
  char *conninfo;
  PGconn *conn;                /* NULL or a connection (maybe broken) */
  char server[256];            /* "host:port/dbname as user", for messages */
  pg_dataset ds[SP_DS_COUNT];  /* by sp_dataset_id */
  sp_membudget *budget;
  size_t reserved;             /* budget bytes held by the batch */
} pg_sink;

/* Budget charge of one COPY tuple: its bytes plus the decoded row it came from. */
#define TUPLE_CHARGE(len) (2 * (len) + 64)

/* ---- SQL text ---------------------------------------------------------------------- */

static const char *pg_type_of(sp_type type) {
  switch (type) {
  case SP_BOOL: return "BOOLEAN";
  case SP_INT32: return "INTEGER";
  case SP_INT64: return "BIGINT";
  case SP_DOUBLE: return "DOUBLE PRECISION";
  case SP_STRING: return "TEXT";
  case SP_DATE: return "DATE";
  case SP_TIMESTAMP: return "TIMESTAMPTZ";
  }
  return "TEXT";
}

/* A double-quoted SQL identifier ("" inside). */
static int append_identifier(sp_buf *out, const char *name, size_t len) {
  int rc = sp_buf_append_byte(out, '"');
  for (size_t i = 0; i < len && !rc; i++) {
    if (name[i] == '"') rc = sp_buf_append_byte(out, '"');
    if (!rc) rc = sp_buf_append_byte(out, (uint8_t)name[i]);
  }
  if (!rc) rc = sp_buf_append_byte(out, '"');
  return rc;
}

/* "schema.table" → "schema"."table"; "table" → "table". */
static int append_table_name(sp_buf *out, const char *table) {
  const char *dot = strchr(table, '.');
  if (!dot) return append_identifier(out, table, strlen(table));
  int rc = append_identifier(out, table, (size_t)(dot - table));
  if (!rc) rc = sp_buf_append_byte(out, '.');
  if (!rc) rc = append_identifier(out, dot + 1, strlen(dot + 1));
  return rc;
}

/* "c1", "c2", ... for the given column indexes (all columns when cols is NULL). */
static int append_column_list(sp_buf *out, const sp_dataset_def *ds, const int *cols, int ncols) {
  int rc = SP_OK;
  for (int i = 0; i < ncols && !rc; i++) {
    const char *name = ds->columns[cols ? cols[i] : i].name;
    if (i) rc = sp_buf_append_str(out, ", ");
    if (!rc) rc = append_identifier(out, name, strlen(name));
  }
  return rc;
}

/* "c1" TYPE NOT NULL, ... */
static int append_column_defs(sp_buf *out, const sp_dataset_def *ds) {
  int rc = SP_OK;
  for (int c = 0; c < ds->ncolumns && !rc; c++) {
    const sp_column_def *col = &ds->columns[c];
    if (c) rc = sp_buf_append_str(out, ", ");
    if (!rc) rc = append_identifier(out, col->name, strlen(col->name));
    if (!rc) rc = sp_buf_printf(out, " %s%s", pg_type_of(col->type), col->nullable ? "" : " NOT NULL");
  }
  return rc;
}

static char *finish_sql(sp_buf *b, int rc) {
  if (!rc) rc = sp_buf_append(b, "", 0); /* NUL-terminate */
  if (rc) {
    sp_buf_free(b);
    return NULL;
  }
  return (char *)sp_buf_detach(b, NULL);
}

#define DIRECT_SAVEPOINT "stockpipe_direct"
#define DIRECT_PREFIX "SAVEPOINT " DIRECT_SAVEPOINT "; " /* direct_sql + its length: the COPY alone */

/* Build the statements of `d` for dataset `def` stored in `table`.  0 or SP_ERR_NOMEM. */
static int build_dataset_sql(pg_dataset *d, const sp_dataset_def *def, const char *table) {
  sp_buf b = SP_BUF_INIT;
  char stage[64];
  snprintf(stage, sizeof stage, "stockpipe_stage_%s", def->name);

  int rc = sp_buf_append_str(&b, "CREATE TABLE IF NOT EXISTS ");
  if (!rc) rc = append_table_name(&b, table);
  if (!rc) rc = sp_buf_append_str(&b, " (");
  if (!rc) rc = append_column_defs(&b, def);
  if (!rc) rc = sp_buf_append_str(&b, ", PRIMARY KEY (");
  if (!rc) rc = append_column_list(&b, def, def->key_columns, def->nkey);
  if (!rc) rc = sp_buf_append_str(&b, "))");
  d->create_sql = finish_sql(&b, rc);

  rc = sp_buf_append_str(&b, "CREATE TEMP TABLE IF NOT EXISTS ");
  if (!rc) rc = append_identifier(&b, stage, strlen(stage));
  if (!rc) rc = sp_buf_append_str(&b, " (");
  if (!rc) rc = append_column_defs(&b, def);
  if (!rc) rc = sp_buf_append_str(&b, ") ON COMMIT DELETE ROWS");
  d->stage_sql = finish_sql(&b, rc);

  rc = sp_buf_append_str(&b, "COPY ");
  if (!rc) rc = append_identifier(&b, stage, strlen(stage));
  if (!rc) rc = sp_buf_append_str(&b, " (");
  if (!rc) rc = append_column_list(&b, def, NULL, def->ncolumns);
  if (!rc) rc = sp_buf_append_str(&b, ") FROM STDIN (FORMAT binary)");
  d->copy_sql = finish_sql(&b, rc);

  rc = sp_buf_append_str(&b, "INSERT INTO ");
  if (!rc) rc = append_table_name(&b, table);
  if (!rc) rc = sp_buf_append_str(&b, " (");
  if (!rc) rc = append_column_list(&b, def, NULL, def->ncolumns);
  if (!rc) rc = sp_buf_append_str(&b, ") SELECT ");
  if (!rc) rc = append_column_list(&b, def, NULL, def->ncolumns);
  if (!rc) rc = sp_buf_append_str(&b, " FROM ");
  if (!rc) rc = append_identifier(&b, stage, strlen(stage));
  if (!rc) rc = sp_buf_append_str(&b, " ON CONFLICT (");
  if (!rc) rc = append_column_list(&b, def, def->key_columns, def->nkey);
  if (!rc) rc = sp_buf_append_str(&b, ") DO NOTHING");
  d->insert_sql = finish_sql(&b, rc);

  rc = sp_buf_append_str(&b, DIRECT_PREFIX "COPY ");
  if (!rc) rc = append_table_name(&b, table);
  if (!rc) rc = sp_buf_append_str(&b, " (");
  if (!rc) rc = append_column_list(&b, def, NULL, def->ncolumns);
  if (!rc) rc = sp_buf_append_str(&b, ") FROM STDIN (FORMAT binary)");
  d->direct_sql = finish_sql(&b, rc);

  /* $1 = the quoted table name; the VALUES list pairs each column with its type
   * (schema column names are plain lower-case identifiers: no quoting needed). */
  rc = sp_buf_append_str(&b, "SELECT count(*) FROM (VALUES ");
  for (int c = 0; c < def->ncolumns && !rc; c++)
    rc = sp_buf_printf(&b, "%s('%s', '%s'::regtype)", c ? ", " : "", def->columns[c].name,
                       pg_type_of(def->columns[c].type));
  if (!rc) rc = sp_buf_append_str(&b, ") AS want(name, type) JOIN pg_attribute a ON a.attrelid = $1::regclass"
                                      " AND a.attname = want.name AND a.atttypid = want.type AND NOT a.attisdropped");
  d->types_sql = finish_sql(&b, rc);

  rc = append_table_name(&b, table);
  d->table_quoted = finish_sql(&b, rc);

  d->table = strdup(table);
  return d->create_sql && d->stage_sql && d->copy_sql && d->insert_sql && d->direct_sql && d->types_sql &&
                 d->table_quoted && d->table
             ? SP_OK
             : SP_ERR_NOMEM;
}

/* ---- COPY binary ------------------------------------------------------------------ */

/* PostgreSQL's binary COPY: a signature, flags and header extension length before the
 * tuples, a field count of -1 after them.  Each tuple is a 16-bit field count, then
 * per field a 32-bit length (-1 = NULL) and the value in the type's send format, all
 * big-endian.  DATE and TIMESTAMPTZ count from 2000-01-01 (days, microseconds). */
static const char copy_binary_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
static const char copy_binary_trailer[2] = {'\377', '\377'};
#define PG_EPOCH_DAYS 10957 /* 2000-01-01 in days since 1970-01-01 */

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  return p + bytes;
}

/* Bytes of a field's value in the type's send format (0 for NULL). */
static size_t copy_field_size(sp_type type, const sp_value *v) {
  if (v->is_null) return 0;
  switch (type) {
  case SP_BOOL: return 1;
  case SP_INT32:
  case SP_DATE: return 4;
  case SP_STRING: return v->u.str.len;
  case SP_INT64:
  case SP_TIMESTAMP:
  case SP_DOUBLE: return 8;
  }
  return 0;
}

/* One row as a binary COPY tuple, written in place after one reservation. */
static int copy_append_row(sp_buf *out, const sp_row *row) {
  const sp_dataset_def *ds = row->ds;
  size_t need = 2;
  for (int c = 0; c < ds->ncolumns; c++) need += 4 + copy_field_size(ds->columns[c].type, &row->values[c]);
  if (sp_buf_reserve(out, need)) return SP_ERR_NOMEM;
  uint8_t *p = put_be(out->data + out->len, (uint16_t)ds->ncolumns, 2);
  for (int c = 0; c < ds->ncolumns; c++) {
    const sp_value *v = &row->values[c];
    sp_type type = ds->columns[c].type;
    if (v->is_null) {
      p = put_be(p, UINT32_MAX, 4);
      continue;
    }
    size_t size = copy_field_size(type, v);
    p = put_be(p, size, 4);
    uint64_t bits;
    switch (type) {
    case SP_BOOL: *p++ = v->u.b ? 1 : 0; break;
    case SP_INT32: p = put_be(p, (uint32_t)v->u.i32, 4); break;
    case SP_DATE: p = put_be(p, (uint32_t)(v->u.i32 - PG_EPOCH_DAYS), 4); break;
    case SP_INT64: p = put_be(p, (uint64_t)v->u.i64, 8); break;
    case SP_TIMESTAMP: p = put_be(p, (uint64_t)(v->u.i64 - PG_EPOCH_DAYS * SP_US_PER_DAY), 8); break;
    case SP_DOUBLE:
      memcpy(&bits, &v->u.f64, sizeof bits);
      p = put_be(p, bits, 8);
      break;
    case SP_STRING:
      if (size) memcpy(p, v->u.str.ptr, size);
      p += size;
      break;
    }
  }
  out->len = (size_t)(p - out->data);
  return SP_OK;
}

/* ---- connection and errors ---------------------------------------------------------- */

/* Copy libpq's message into `out` on one line, without the trailing newline. */
static void one_line(const char *msg, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = msg ? msg : ""; *p && n + 3 < cap; p++) {
    if (*p == '\n') {
      if (p[1] == '\0') break;
      out[n++] = ';';
      out[n++] = ' ';
    } else {
      out[n++] = *p;
    }
  }
  out[n] = '\0';
}

/* The sink code for a failed statement (see sink_postgres.h).  `ddl` statements
 * never blame the data (a concurrent CREATE can report a unique violation). */
static int code_of_result(PGconn *conn, const PGresult *res, bool ddl) {
  if (PQstatus(conn) != CONNECTION_OK) return SP_ERR_IO;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (!state) return SP_ERR_IO;
  if (!ddl && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)) return SP_ERR_INVALID;
  if (strncmp(state, "28", 2) == 0 || strncmp(state, "3D", 2) == 0 || strncmp(state, "42", 2) == 0)
    return SP_ERR_CONFIG;
  return SP_ERR_IO;
}

/* Record a failed statement (`what` says which) in err; returns its code. */
static int statement_error(pg_sink *ps, PGresult *res, bool ddl, const char *what, const char *table,
                           sp_error *err) {
  char msg[SP_ERROR_MSG_MAX];
  one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(ps->conn), msg, sizeof msg);
  if (!*msg) one_line(PQerrorMessage(ps->conn), msg, sizeof msg);
  int code = code_of_result(ps->conn, res, ddl);
  return sp_error_set(err, code, "sink %s: PostgreSQL %s: %s of %s: %s", ps->base.name, ps->server, what,
                      table, msg);
}

/* Run `sql` expecting a command result.  0 or the statement's error. */
static int exec_command(pg_sink *ps, const char *sql, bool ddl, const char *what, const char *table,
                        sp_error *err) {
  PGresult *res = PQexec(ps->conn, sql);
  int rc = SP_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) rc = statement_error(ps, res, ddl, what, table, err);
  PQclear(res);
  return rc;
}

/* Server notices ("relation already exists, skipping") go to the debug log, not stderr. */
static void log_notice(void *arg, const char *message) {
  char line[SP_ERROR_MSG_MAX];
  one_line(message, line, sizeof line);
  SP_DEBUG((const char *)arg, "PostgreSQL: %s", line);
}

static bool is_credentials_problem(PGconn *conn, const char *msg) {
  return PQconnectionNeedsPassword(conn) || strstr(msg, "authentication failed") ||
         strstr(msg, "no pg_hba.conf entry") || strstr(msg, "does not exist");
}

/* Make sure ps->conn is a working connection, connecting or reconnecting. */
static int pg_connect(pg_sink *ps, sp_error *err) {
  if (ps->conn && PQstatus(ps->conn) == CONNECTION_OK) return SP_OK;
  PQfinish(ps->conn);
  for (int i = 0; i < SP_DS_COUNT; i++) ps->ds[i].ready = false; /* temp tables died with the session */
  /* Defaults first: the expanded connection string overrides any of them. */
  const char *const keys[] = {"connect_timeout", "client_encoding", "fallback_application_name", "dbname", NULL};
  const char *const values[] = {"10", "UTF8", "stockpipe", ps->conninfo, NULL};
  ps->conn = PQconnectdbParams(keys, values, 1);
  if (!ps->conn) return sp_error_set(err, SP_ERR_NOMEM, "sink %s: out of memory", ps->base.name);
  snprintf(ps->server, sizeof ps->server, "%s:%s/%s as %s", PQhost(ps->conn) ? PQhost(ps->conn) : "?",
           PQport(ps->conn) ? PQport(ps->conn) : "?", PQdb(ps->conn) ? PQdb(ps->conn) : "?",
           PQuser(ps->conn) ? PQuser(ps->conn) : "?");
  if (PQstatus(ps->conn) != CONNECTION_OK) {
    char msg[SP_ERROR_MSG_MAX];
    one_line(PQerrorMessage(ps->conn), msg, sizeof msg);
    int code = is_credentials_problem(ps->conn, msg) ? SP_ERR_CONFIG : SP_ERR_IO;
    PQfinish(ps->conn);
    ps->conn = NULL;
    return sp_error_set(err, code, "sink %s: connecting to PostgreSQL %s: %s", ps->base.name, ps->server, msg);
  }
  PQsetNoticeProcessor(ps->conn, log_notice, ps->base.name);
  SP_INFO(ps->base.name, "connected to PostgreSQL %s", ps->server);
  return SP_OK;
}

/* ---- the batch ----------------------------------------------------------------------- */

static void clear_batch(pg_sink *ps) {
  for (int i = 0; i < SP_DS_COUNT; i++) {
    sp_buf_reset(&ps->ds[i].copy);
    ps->ds[i].rows = 0;
  }
  sp_membudget_release(ps->budget, ps->reserved);
  ps->reserved = 0;
}

static int pg_begin(sp_sink *s, sp_error *err) {
  (void)err;
  clear_batch((pg_sink *)s);
  return SP_OK;
}

static int pg_write(sp_sink *s, const sp_event *events, size_t n, sp_error *err) {
  pg_sink *ps = (pg_sink *)s;
  for (size_t i = 0; i < n; i++) {
    sp_row row;
    int rc = sp_sink_decode_event(s, &events[i], &row, err);
    if (rc) return rc;
    pg_dataset *d = &ps->ds[row.ds->id];
    size_t before = d->copy.len;
    rc = copy_append_row(&d->copy, &row);
    sp_row_clear(&row);
    if (rc) return sp_error_set(err, SP_ERR_NOMEM, "sink %s: out of memory", s->name);
    size_t charge = TUPLE_CHARGE(d->copy.len - before);
    if (!sp_membudget_try_reserve(ps->budget, charge)) {
      d->copy.len = before;
      return sp_error_set(err, SP_ERR_FULL, "sink %s: memory budget spent", s->name);
    }
    ps->reserved += charge;
    d->rows++;
  }
  return SP_OK;
}

/* Create the dataset's table and this session's stage table, and find out whether
 * the direct path applies (once per connection). */
static int prepare_dataset(pg_sink *ps, pg_dataset *d, sp_error *err) {
  if (d->ready) return SP_OK;
  int rc = exec_command(ps, d->create_sql, true, "creating the table", d->table, err);
  if (!rc) rc = exec_command(ps, d->stage_sql, true, "creating the stage table", d->table, err);
  if (rc) return rc;
  const char *params[1] = {d->table_quoted};
  PGresult *res = PQexecParams(ps->conn, d->types_sql, 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = statement_error(ps, res, true, "reading the column types", d->table, err);
  } else {
    const sp_dataset_def *def = sp_dataset_get((sp_dataset_id)(d - ps->ds));
    d->direct = atoi(PQgetvalue(res, 0, 0)) == def->ncolumns;
    if (!d->direct)
      SP_INFO(ps->base.name, "table %s: column types differ from the schema's; loading through the stage table",
              d->table);
    d->ready = true;
  }
  PQclear(res);
  return rc;
}

/* Send the dataset's buffer to a COPY started by `copy_sql` (which may begin with other
 * statements).  Returns 0 and adds the rows the server took to *copied, or the COPY's
 * error; *conflict says whether that error was a unique violation (23505). */
static int copy_buffer(pg_sink *ps, pg_dataset *d, const char *copy_sql, long *copied, bool *conflict,
                       sp_error *err) {
  *conflict = false;
  PGresult *res = PQexec(ps->conn, copy_sql);
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    int rc = statement_error(ps, res, false, "starting COPY", d->table, err);
    PQclear(res);
    return rc;
  }
  PQclear(res);
  int rc = SP_OK;
  if (PQputCopyData(ps->conn, copy_binary_header, sizeof copy_binary_header) != 1 ||
      PQputCopyData(ps->conn, (const char *)d->copy.data, (int)d->copy.len) != 1 ||
      PQputCopyData(ps->conn, copy_binary_trailer, sizeof copy_binary_trailer) != 1 ||
      PQputCopyEnd(ps->conn, NULL) != 1)
    rc = statement_error(ps, NULL, false, "sending COPY data", d->table, err);
  /* Collect every result of the COPY (one, or an error) until libpq says done. */
  while ((res = PQgetResult(ps->conn)) != NULL) {
    if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK) {
      const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      *conflict = state && strcmp(state, "23505") == 0;
      rc = statement_error(ps, res, false, "COPY", d->table, err);
    } else if (!rc) {
      *copied += atol(PQcmdTuples(res));
    }
    PQclear(res);
  }
  return rc;
}

/* Load the dataset's buffer into its table (see the top of this file). */
static int load_dataset(pg_sink *ps, pg_dataset *d, long *inserted, sp_error *err) {
  bool conflict;
  int rc;
  if (d->direct && !d->replaying) {
    rc = copy_buffer(ps, d, d->direct_sql, inserted, &conflict, err);
    if (!rc || !conflict) return rc;
    sp_error_clear(err);
    d->replaying = true;
    rc = exec_command(ps, "ROLLBACK TO SAVEPOINT " DIRECT_SAVEPOINT, false, "rolling back the COPY", d->table, err);
    if (rc) return rc;
  }
  long staged = 0;
  rc = copy_buffer(ps, d, d->copy_sql, &staged, &conflict, err);
  if (rc) return rc;
  PGresult *res = PQexec(ps->conn, d->insert_sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = statement_error(ps, res, false, "INSERT", d->table, err);
  } else {
    long n = atol(PQcmdTuples(res));
    *inserted += n;
    d->replaying = n < staged;
  }
  PQclear(res);
  return rc;
}

/* The batch in one explicit transaction: BEGIN, every dataset, COMMIT. */
static int commit_transaction(pg_sink *ps, long *inserted, sp_error *err) {
  int rc = exec_command(ps, "BEGIN", false, "BEGIN", "the batch", err);
  for (int i = 0; i < SP_DS_COUNT && !rc; i++)
    if (ps->ds[i].rows) rc = load_dataset(ps, &ps->ds[i], inserted, err);
  if (!rc) rc = exec_command(ps, "COMMIT", false, "COMMIT", "the batch", err);
  return rc;
}

static int pg_commit(sp_sink *s, sp_error *err) {
  pg_sink *ps = (pg_sink *)s;
  size_t rows = 0;
  pg_dataset *only = NULL; /* the batch's dataset when it has one */
  int datasets = 0;
  for (int i = 0; i < SP_DS_COUNT; i++) {
    rows += ps->ds[i].rows;
    if (ps->ds[i].rows) {
      only = &ps->ds[i];
      datasets++;
    }
  }
  if (rows == 0) return SP_OK;
  int rc = pg_connect(ps, err);
  for (int i = 0; i < SP_DS_COUNT && !rc; i++)
    if (ps->ds[i].rows) rc = prepare_dataset(ps, &ps->ds[i], err);
  long inserted = 0;
  bool done = false;
  if (!rc && datasets == 1 && only->direct && !only->replaying) {
    /* The usual batch: one dataset, no stored key expected.  Its COPY is a transaction
     * by itself (two round trips instead of four); a unique violation commits nothing
     * and the batch goes the explicit way, through the stage table. */
    bool conflict;
    rc = copy_buffer(ps, only, only->direct_sql + strlen(DIRECT_PREFIX), &inserted, &conflict, err);
    done = !rc;
    if (conflict) {
      sp_error_clear(err);
      only->replaying = true;
      inserted = 0;
      rc = SP_OK;
    }
  }
  if (!rc && !done) rc = commit_transaction(ps, &inserted, err);
  if (rc) {
    if (ps->conn && PQstatus(ps->conn) == CONNECTION_OK && PQtransactionStatus(ps->conn) != PQTRANS_IDLE)
      PQclear(PQexec(ps->conn, "ROLLBACK"));
    return rc; /* the batch stays: the runner retries or aborts it */
  }
  SP_DEBUG(s->name, "committed %zu rows: %ld new, %zu already stored", rows, inserted, rows - (size_t)inserted);
  clear_batch(ps);
  return SP_OK;
}

static void pg_abort(sp_sink *s) { clear_batch((pg_sink *)s); }

static void pg_close(sp_sink *s) {
  pg_sink *ps = (pg_sink *)s;
  clear_batch(ps);
  PQfinish(ps->conn);
  for (int i = 0; i < SP_DS_COUNT; i++) {
    pg_dataset *d = &ps->ds[i];
    free(d->create_sql);
    free(d->stage_sql);
    free(d->copy_sql);
    free(d->insert_sql);
    free(d->direct_sql);
    free(d->types_sql);
    free(d->table_quoted);
    free(d->table);
    sp_buf_free(&d->copy);
  }
  if (ps->conninfo) {
    explicit_bzero(ps->conninfo, strlen(ps->conninfo));
    free(ps->conninfo);
  }
  sp_sink_base_cleanup(s);
  free(ps);
}

static const sp_sink_ops postgres_ops = {"postgresql", pg_begin, pg_write, pg_commit, pg_abort, pg_close, NULL, NULL};

/* Register the password of `conninfo` (and PGPASSWORD) as log secrets. */
static void register_password(const char *conninfo) {
  PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) sp_log_add_secret(o->val);
  PQconninfoFree(opts);
  const char *env = getenv("PGPASSWORD");
  if (env && *env) sp_log_add_secret(env);
}

int sp_sink_postgres_open(const sp_sink_postgres_config *cfg, sp_sink **out, sp_error *err) {
  *out = NULL;
  const char *name = cfg->name ? cfg->name : "";
  if (!cfg->conninfo || !*cfg->conninfo)
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: no connection_string", name);
  if (cfg->table && (cfg->dataset < 0 || cfg->dataset >= SP_DS_COUNT))
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: table \"%s\" set but no dataset reaches the sink", name,
                        cfg->table);
  register_password(cfg->conninfo);
  pg_sink *ps = calloc(1, sizeof *ps);
  if (!ps) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = sp_sink_base_init(&ps->base, &postgres_ops, name, err);
  if (rc) {
    free(ps);
    return rc;
  }
  ps->budget = cfg->budget;
  ps->conninfo = strdup(cfg->conninfo);
  rc = ps->conninfo ? SP_OK : SP_ERR_NOMEM;
  for (int i = 0; i < SP_DS_COUNT && !rc; i++) {
    const sp_dataset_def *def = sp_dataset_get((sp_dataset_id)i);
    rc = build_dataset_sql(&ps->ds[i], def, cfg->table && cfg->dataset == i ? cfg->table : def->name);
  }
  if (rc) {
    pg_close(&ps->base);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  rc = pg_connect(ps, err);
  if (rc == SP_ERR_CONFIG || rc == SP_ERR_NOMEM) {
    pg_close(&ps->base);
    return rc;
  }
  if (rc) {
    SP_WARN(name, "%s (will retry at the first commit)", err->msg);
    sp_error_clear(err);
  }
  *out = &ps->base;
  return SP_OK;
}
