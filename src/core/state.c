/*
 * state.c — the SQLite state store (see state.h).
 */
#include "core/state.h"

#include "core/array.h"
#include "core/durable.h"
#include "core/timeutil.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sp_state {
  sqlite3 *db;
};

typedef enum change_kind { CHANGE_WATERMARK, CHANGE_WATERMARK_LOWER, CHANGE_SEEN, CHANGE_BLOB } change_kind;

typedef struct change {
  change_kind kind;
  char *source, *key;
  int64_t value;
  void *blob;
  size_t blob_len;
} change;

struct sp_state_batch {
  change *changes;
  size_t n, cap;
};

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS watermark(source TEXT NOT NULL, key TEXT NOT NULL, value INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(source, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS seen(source TEXT NOT NULL, key TEXT NOT NULL, seen_at INTEGER NOT NULL,"
    " PRIMARY KEY(source, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS seen_by_time ON seen(source, seen_at);"
    "CREATE TABLE IF NOT EXISTS blob(source TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(source, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS decided_txn(txid INTEGER PRIMARY KEY, decided_at INTEGER NOT NULL);";

static int db_error(sqlite3 *db, sp_error *err, const char *what) {
  int code = sqlite3_errcode(db);
  return sp_error_set(err, code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? SP_ERR_CORRUPT : SP_ERR_IO,
                      "state store: %s: %s", what, sqlite3_errmsg(db));
}

int sp_state_open(const char *data_dir, sp_state **out, sp_error *err) {
  *out = NULL;
  char dir[PATH_MAX], path[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/.state", data_dir);
  int rc = sp_mkdirs(dir, err);
  if (rc) return rc;
  snprintf(path, sizeof path, "%s/stockpipe.db", dir);
  sp_state *st = calloc(1, sizeof *st);
  if (!st) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
      SQLITE_OK) {
    rc = st->db ? db_error(st->db, err, path) : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    sp_state_close(st);
    return rc;
  }
  sqlite3_busy_timeout(st->db, 5000);
  char *msg = NULL;
  if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(st->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
    int code = sqlite3_errcode(st->db) == SQLITE_NOTADB || sqlite3_errcode(st->db) == SQLITE_CORRUPT
                   ? SP_ERR_CORRUPT
                   : SP_ERR_IO;
    rc = sp_error_set(err, code, "state store %s: %s", path, msg ? msg : "unknown error");
    sqlite3_free(msg);
    sp_state_close(st);
    return rc;
  }
  *out = st;
  return SP_OK;
}

void sp_state_close(sp_state *st) {
  if (!st) return;
  sqlite3_close(st->db);
  free(st);
}

/* Prepare `sql` and bind text parameters ?1 = source, ?2 = key (when given). */
static int prepare(sp_state *st, const char *sql, const char *source, const char *key, sqlite3_stmt **stmt,
                   sp_error *err) {
  if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) return db_error(st->db, err, "prepare");
  if (source) sqlite3_bind_text(*stmt, 1, source, -1, SQLITE_STATIC);
  if (key) sqlite3_bind_text(*stmt, 2, key, -1, SQLITE_STATIC);
  return SP_OK;
}

int sp_state_get_watermark(sp_state *st, const char *source, const char *key, int64_t *value, bool *found,
                           sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st, "SELECT value FROM watermark WHERE source=?1 AND key=?2", source, key, &s, err);
  if (rc) return rc;
  int step = sqlite3_step(s);
  *found = step == SQLITE_ROW;
  if (*found) *value = sqlite3_column_int64(s, 0);
  rc = step == SQLITE_ROW || step == SQLITE_DONE ? SP_OK : db_error(st->db, err, "reading a watermark");
  sqlite3_finalize(s);
  return rc;
}

int sp_state_count_up(sp_state *st, const char *source, const char *key, int64_t limit, int64_t *value,
                      bool *added, sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st,
                   "INSERT INTO watermark(source, key, value, updated_at) VALUES(?1, ?2, 1, ?3)"
                   " ON CONFLICT(source, key) DO UPDATE SET value = value + 1, updated_at = ?3"
                   " WHERE ?4 <= 0 OR value < ?4",
                   source, key, &s, err);
  if (rc) return rc;
  sqlite3_bind_int64(s, 3, sp_now_us());
  sqlite3_bind_int64(s, 4, limit);
  /* A first row of 1 over a limit below 1 cannot happen: callers pass limit >= 1 or <= 0. */
  int step = sqlite3_step(s);
  *added = step == SQLITE_DONE && sqlite3_changes(st->db) > 0;
  sqlite3_finalize(s);
  if (step != SQLITE_DONE) return db_error(st->db, err, "counting up");
  if (!value) return SP_OK;
  bool found;
  return sp_state_get_watermark(st, source, key, value, &found, err);
}

int sp_state_seen(sp_state *st, const char *source, const char *key, bool *seen, sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st, "SELECT 1 FROM seen WHERE source=?1 AND key=?2", source, key, &s, err);
  if (rc) return rc;
  int step = sqlite3_step(s);
  *seen = step == SQLITE_ROW;
  rc = step == SQLITE_ROW || step == SQLITE_DONE ? SP_OK : db_error(st->db, err, "reading seen keys");
  sqlite3_finalize(s);
  return rc;
}

int sp_state_get_blob(sp_state *st, const char *source, const char *key, sp_buf *out, bool *found, sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st, "SELECT data FROM blob WHERE source=?1 AND key=?2", source, key, &s, err);
  if (rc) return rc;
  int step = sqlite3_step(s);
  *found = step == SQLITE_ROW;
  if (step == SQLITE_ROW) {
    sp_buf_reset(out);
    const void *data = sqlite3_column_blob(s, 0);
    int len = sqlite3_column_bytes(s, 0);
    if (sp_buf_append(out, data ? data : "", (size_t)len)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  } else if (step != SQLITE_DONE) {
    rc = db_error(st->db, err, "reading a blob");
  }
  sqlite3_finalize(s);
  return rc;
}

int sp_state_txn_committed(sp_state *st, uint64_t txid, bool *committed, sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st, "SELECT 1 FROM decided_txn WHERE txid=?1", NULL, NULL, &s, err);
  if (rc) return rc;
  sqlite3_bind_int64(s, 1, (int64_t)txid);
  int step = sqlite3_step(s);
  *committed = step == SQLITE_ROW;
  rc = step == SQLITE_ROW || step == SQLITE_DONE ? SP_OK : db_error(st->db, err, "reading decided transactions");
  sqlite3_finalize(s);
  return rc;
}

int sp_state_resolve_txn(void *ctx, uint64_t txid, bool *committed, sp_error *err) {
  return sp_state_txn_committed(ctx, txid, committed, err);
}

/* Run one parameterised statement to completion. */
static int exec_stmt(sp_state *st, sqlite3_stmt *s, const char *what, sp_error *err) {
  int step = sqlite3_step(s);
  int rc = step == SQLITE_DONE || step == SQLITE_ROW ? SP_OK : db_error(st->db, err, what);
  sqlite3_finalize(s);
  return rc;
}

int sp_state_prune(sp_state *st, const char *source, int64_t before_us, uint64_t *removed, sp_error *err) {
  sqlite3_stmt *s;
  int rc = prepare(st, "DELETE FROM seen WHERE source=?1 AND seen_at < ?2", source, NULL, &s, err);
  if (rc) return rc;
  sqlite3_bind_int64(s, 2, before_us);
  rc = exec_stmt(st, s, "pruning seen keys", err);
  uint64_t n = rc ? 0 : (uint64_t)sqlite3_changes(st->db);
  if (!rc) rc = prepare(st, "DELETE FROM decided_txn WHERE decided_at < ?1", NULL, NULL, &s, err);
  if (!rc) {
    sqlite3_bind_int64(s, 1, before_us);
    rc = exec_stmt(st, s, "pruning decided transactions", err);
    if (!rc) n += (uint64_t)sqlite3_changes(st->db);
  }
  if (removed) *removed = n;
  return rc;
}

sp_state_batch *sp_state_batch_new(void) { return calloc(1, sizeof(sp_state_batch)); }

void sp_state_batch_free(sp_state_batch *b) {
  if (!b) return;
  for (size_t i = 0; i < b->n; i++) {
    free(b->changes[i].source);
    free(b->changes[i].key);
    free(b->changes[i].blob);
  }
  free(b->changes);
  free(b);
}

static change *stage(sp_state_batch *b, change_kind kind, const char *source, const char *key) {
  if (SP_ARRAY_RESERVE(b->changes, b->cap, b->n + 1, 16)) return NULL;
  change *c = &b->changes[b->n];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->source = strdup(source);
  c->key = strdup(key);
  if (!c->source || !c->key) {
    free(c->source);
    free(c->key);
    return NULL;
  }
  b->n++;
  return c;
}

/* How far back a watermark looks for one of the same key to merge into.  A series'
 * rows are put one after another, each staging its watermark and its floor, so for
 * bars, quotes and macro series the same key recurs two changes back; news rows also
 * stage a new identity key each, so their series key merges only while it is among the
 * last WATERMARK_MERGE_WINDOW changes. */
#define WATERMARK_MERGE_WINDOW 8

/* Stage a watermark (advance: max, lower: min), merged into a recent change of the same
 * kind and key when there is one: one upsert per series and commit, not one per row. */
static int stage_watermark(sp_state_batch *b, change_kind kind, const char *source, const char *key,
                           int64_t value) {
  for (size_t i = b->n, looked = 0; i > 0 && looked < WATERMARK_MERGE_WINDOW; i--, looked++) {
    change *c = &b->changes[i - 1];
    if (c->kind != kind || strcmp(c->key, key) != 0 || strcmp(c->source, source) != 0) continue;
    if (kind == CHANGE_WATERMARK ? value > c->value : value < c->value) c->value = value;
    return SP_OK;
  }
  change *c = stage(b, kind, source, key);
  if (!c) return SP_ERR_NOMEM;
  c->value = value;
  return SP_OK;
}

int sp_state_batch_advance_watermark(sp_state_batch *b, const char *source, const char *key, int64_t value) {
  return stage_watermark(b, CHANGE_WATERMARK, source, key, value);
}

int sp_state_batch_lower_watermark(sp_state_batch *b, const char *source, const char *key, int64_t value) {
  return stage_watermark(b, CHANGE_WATERMARK_LOWER, source, key, value);
}

int sp_state_batch_add_seen(sp_state_batch *b, const char *source, const char *key) {
  return stage(b, CHANGE_SEEN, source, key) ? SP_OK : SP_ERR_NOMEM;
}

int sp_state_batch_put_blob(sp_state_batch *b, const char *source, const char *key, const void *data, size_t len) {
  void *copy = malloc(len ? len : 1);
  if (!copy) return SP_ERR_NOMEM;
  if (len) memcpy(copy, data, len);
  change *c = stage(b, CHANGE_BLOB, source, key);
  if (!c) {
    free(copy);
    return SP_ERR_NOMEM;
  }
  c->blob = copy;
  c->blob_len = len;
  return SP_OK;
}

size_t sp_state_batch_count(const sp_state_batch *b) { return b ? b->n : 0; }

static int apply_change(sp_state *st, const change *c, int64_t now, sp_error *err) {
  static const char *const sql[] = {
      [CHANGE_WATERMARK] = "INSERT INTO watermark(source,key,value,updated_at) VALUES(?1,?2,?3,?4) "
                           "ON CONFLICT(source,key) DO UPDATE SET value=max(value,excluded.value),"
                           " updated_at=excluded.updated_at",
      [CHANGE_WATERMARK_LOWER] = "INSERT INTO watermark(source,key,value,updated_at) VALUES(?1,?2,?3,?4) "
                                 "ON CONFLICT(source,key) DO UPDATE SET value=min(value,excluded.value),"
                                 " updated_at=excluded.updated_at",
      [CHANGE_SEEN] = "INSERT INTO seen(source,key,seen_at) VALUES(?1,?2,?4) ON CONFLICT(source,key) DO NOTHING",
      [CHANGE_BLOB] = "INSERT INTO blob(source,key,data,updated_at) VALUES(?1,?2,?3,?4) "
                      "ON CONFLICT(source,key) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
  };
  sqlite3_stmt *s;
  int rc = prepare(st, sql[c->kind], c->source, c->key, &s, err);
  if (rc) return rc;
  if (c->kind == CHANGE_WATERMARK || c->kind == CHANGE_WATERMARK_LOWER) sqlite3_bind_int64(s, 3, c->value);
  if (c->kind == CHANGE_BLOB) sqlite3_bind_blob(s, 3, c->blob, (int)c->blob_len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, now);
  return exec_stmt(st, s, "writing state", err);
}

int sp_state_batch_commit(sp_state *st, const sp_state_batch *b, uint64_t txid, sp_error *err) {
  if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_error(st->db, err, "begin");
  int64_t now = sp_now_us();
  int rc = SP_OK;
  for (size_t i = 0; b && i < b->n && !rc; i++) rc = apply_change(st, &b->changes[i], now, err);
  if (!rc && txid) {
    sqlite3_stmt *s;
    rc = prepare(st, "INSERT OR IGNORE INTO decided_txn(txid, decided_at) VALUES(?1, ?2)", NULL, NULL, &s, err);
    if (!rc) {
      sqlite3_bind_int64(s, 1, (int64_t)txid);
      sqlite3_bind_int64(s, 2, now);
      rc = exec_stmt(st, s, "recording the transaction", err);
    }
  }
  if (!rc && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = db_error(st->db, err, "commit");
  if (rc) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int sp_state_decide(void *ctx, uint64_t txid, sp_error *err) {
  const sp_state_decision *d = ctx;
  return sp_state_batch_commit(d->state, d->batch, txid, err);
}
