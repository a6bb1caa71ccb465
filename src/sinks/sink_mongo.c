/*
 * sink_mongo.c — the MongoDB sink (see sink_mongo.h), on libmongoc 1.23.
 *
 * write() decodes each event and builds its BSON document and its selector
 * ({_id: <key sub-document>}) in the dataset's share of the batch.  commit() makes
 * sure each touched collection has its unique key index (once per sink), then sends
 * one unordered bulk of replace-one upserts per dataset.  A bulk that fails is sent
 * whole again by the runner's retry: the upserts make that harmless.
 */
#include "sinks/sink_mongo.h"

#include "core/array.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

typedef struct mongo_dataset {
  mongoc_collection_t *collection; /* NULL until first used */
  char *collection_name;
  bool indexed;                    /* the unique key index was created */
  bson_t **docs, **selectors;      /* the batch's rows */
  size_t n, cap;
} mongo_dataset;

typedef struct mongo_sink {
  sp_sink base;
  mongoc_client_t *client;
  char *database;
  mongo_dataset ds[SP_DS_COUNT]; /* by sp_dataset_id */
  sp_membudget *budget;
  size_t reserved;
} mongo_sink;

#define DOC_CHARGE(len) (2 * (len) + 128)

/* ---- documents --------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static bool append_value(bson_t *doc, const char *name, sp_type type, const sp_value *v) {
  if (v->is_null) return bson_append_null(doc, name, -1);
  switch (type) {
  case SP_BOOL: return bson_append_bool(doc, name, -1, v->u.b);
  case SP_INT32: return bson_append_int32(doc, name, -1, v->u.i32);
  case SP_INT64: return bson_append_int64(doc, name, -1, v->u.i64);
  case SP_DOUBLE: return bson_append_double(doc, name, -1, v->u.f64);
  case SP_STRING: return bson_append_utf8(doc, name, -1, v->u.str.ptr, (int)v->u.str.len);
  case SP_DATE: return bson_append_date_time(doc, name, -1, (int64_t)v->u.i32 * 86400000);
  case SP_TIMESTAMP: return bson_append_date_time(doc, name, -1, floor_div(v->u.i64, 1000));
  }
  return false;
}

/* The key columns of `row` as the sub-document `name` of `out`. */
static bool append_key(bson_t *out, const char *name, const sp_row *row) {
  bson_t key;
  bool ok = bson_append_document_begin(out, name, -1, &key);
  for (int k = 0; k < row->ds->nkey && ok; k++) {
    int c = row->ds->key_columns[k];
    ok = append_value(&key, row->ds->columns[c].name, row->ds->columns[c].type, &row->values[c]);
  }
  return bson_append_document_end(out, &key) && ok;
}

/* {_id: key, col: value, ...} and {_id: key}; false when a document grows too large. */
static bool build_document(const sp_row *row, bson_t *doc, bson_t *selector) {
  bool ok = append_key(doc, "_id", row) && append_key(selector, "_id", row);
  for (int c = 0; c < row->ds->ncolumns && ok; c++)
    ok = append_value(doc, row->ds->columns[c].name, row->ds->columns[c].type, &row->values[c]);
  return ok;
}

/* ---- errors ---------------------------------------------------------------------------- */

/* The sink code of a libmongoc error (see sink_mongo.h). */
static int code_of_error(const bson_error_t *e, const bson_t *reply) {
  bson_iter_t it;
  if (reply && bson_iter_init_find(&it, reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it)) {
    uint32_t len;
    const uint8_t *data;
    bson_iter_array(&it, &len, &data);
    if (len > 5) return SP_ERR_INVALID; /* a non-empty array: documents the server refused */
  }
  if (e->domain == MONGOC_ERROR_BSON) return SP_ERR_INVALID;
  if (e->domain == MONGOC_ERROR_CLIENT && e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) return SP_ERR_CONFIG;
  if (e->domain == MONGOC_ERROR_SERVER && (e->code == 13 || e->code == 18)) return SP_ERR_CONFIG;
  return SP_ERR_IO;
}

/* ---- the batch ---------------------------------------------------------------------------- */

static void clear_batch(mongo_sink *ms) {
  for (int i = 0; i < SP_DS_COUNT; i++) {
    mongo_dataset *d = &ms->ds[i];
    for (size_t k = 0; k < d->n; k++) {
      bson_destroy(d->docs[k]);
      bson_destroy(d->selectors[k]);
    }
    d->n = 0;
  }
  sp_membudget_release(ms->budget, ms->reserved);
  ms->reserved = 0;
}

static int mongo_begin(sp_sink *s, sp_error *err) {
  (void)err;
  clear_batch((mongo_sink *)s);
  return SP_OK;
}

static int mongo_write(sp_sink *s, const sp_event *events, size_t n, sp_error *err) {
  mongo_sink *ms = (mongo_sink *)s;
  for (size_t i = 0; i < n; i++) {
    sp_row row;
    int rc = sp_sink_decode_event(s, &events[i], &row, err);
    if (rc) return rc;
    mongo_dataset *d = &ms->ds[row.ds->id];
    /* docs and selectors are parallel arrays sharing d->cap: it grows once both did */
    size_t docs_cap = d->cap, selectors_cap = d->cap;
    if (SP_ARRAY_RESERVE(d->docs, docs_cap, d->n + 1, 128) ||
        SP_ARRAY_RESERVE(d->selectors, selectors_cap, d->n + 1, 128))
      rc = sp_error_set(err, SP_ERR_NOMEM, "sink %s: out of memory", s->name);
    else d->cap = docs_cap;
    bson_t *doc = rc ? NULL : bson_new(), *selector = rc ? NULL : bson_new();
    if (!rc && !build_document(&row, doc, selector))
      rc = sp_error_set(err, SP_ERR_INVALID, "sink %s: event %" PRIu64 ": %s row too large for a BSON document",
                        s->name, events[i].seq, row.ds->name);
    sp_row_clear(&row);
    size_t charge = rc ? 0 : DOC_CHARGE(doc->len);
    if (!rc && !sp_membudget_try_reserve(ms->budget, charge))
      rc = sp_error_set(err, SP_ERR_FULL, "sink %s: memory budget spent", s->name);
    if (rc) {
      if (doc) bson_destroy(doc);
      if (selector) bson_destroy(selector);
      return rc;
    }
    ms->reserved += charge;
    d->docs[d->n] = doc;
    d->selectors[d->n] = selector;
    d->n++;
  }
  return SP_OK;
}

/* The collection handle and its unique key index (created once). */
static int prepare_collection(mongo_sink *ms, mongo_dataset *d, const sp_dataset_def *def, sp_error *err) {
  if (!d->collection) d->collection = mongoc_client_get_collection(ms->client, ms->database, d->collection_name);
  if (d->indexed) return SP_OK;
  bson_t cmd = BSON_INITIALIZER, indexes, index, key, reply;
  BSON_APPEND_UTF8(&cmd, "createIndexes", d->collection_name);
  BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
  BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
  BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
  for (int k = 0; k < def->nkey; k++) BSON_APPEND_INT32(&key, def->columns[def->key_columns[k]].name, 1);
  bson_append_document_end(&index, &key);
  BSON_APPEND_UTF8(&index, "name", "stockpipe_key");
  BSON_APPEND_BOOL(&index, "unique", true);
  bson_append_document_end(&indexes, &index);
  bson_append_array_end(&cmd, &indexes);
  bson_error_t e;
  bool ok = mongoc_collection_write_command_with_opts(d->collection, &cmd, NULL, &reply, &e);
  int rc = ok ? SP_OK
              : sp_error_set(err, code_of_error(&e, NULL) == SP_ERR_CONFIG ? SP_ERR_CONFIG : SP_ERR_IO,
                             "sink %s: MongoDB %s.%s: creating the key index: %s", ms->base.name, ms->database,
                             d->collection_name, e.message);
  bson_destroy(&cmd);
  bson_destroy(&reply);
  if (!rc) d->indexed = true;
  return rc;
}

/* One unordered bulk of upserts for the dataset's rows. */
static int upsert_dataset(mongo_sink *ms, mongo_dataset *d, sp_error *err) {
  bson_t opts = BSON_INITIALIZER, upsert = BSON_INITIALIZER, reply;
  BSON_APPEND_BOOL(&opts, "ordered", false);
  BSON_APPEND_BOOL(&upsert, "upsert", true);
  mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(d->collection, &opts);
  bson_error_t e;
  bool ok = true;
  for (size_t k = 0; k < d->n && ok; k++)
    ok = mongoc_bulk_operation_replace_one_with_opts(bulk, d->selectors[k], d->docs[k], &upsert, &e);
  int rc = SP_OK;
  if (!ok) {
    rc = sp_error_set(err, SP_ERR_INVALID, "sink %s: MongoDB %s.%s: %s", ms->base.name, ms->database,
                      d->collection_name, e.message);
  } else if (!mongoc_bulk_operation_execute(bulk, &reply, &e)) {
    rc = sp_error_set(err, code_of_error(&e, &reply), "sink %s: MongoDB %s.%s: bulk upsert of %zu documents: %s",
                      ms->base.name, ms->database, d->collection_name, d->n, e.message);
    bson_destroy(&reply);
  } else {
    bson_destroy(&reply);
  }
  mongoc_bulk_operation_destroy(bulk);
  bson_destroy(&opts);
  bson_destroy(&upsert);
  return rc;
}

static int mongo_commit(sp_sink *s, sp_error *err) {
  mongo_sink *ms = (mongo_sink *)s;
  int rc = SP_OK;
  for (int i = 0; i < SP_DS_COUNT && !rc; i++) {
    mongo_dataset *d = &ms->ds[i];
    if (d->n == 0) continue;
    rc = prepare_collection(ms, d, sp_dataset_get((sp_dataset_id)i), err);
    if (!rc) rc = upsert_dataset(ms, d, err);
  }
  if (rc) return rc; /* the batch stays: the runner retries or aborts it */
  clear_batch(ms);
  return SP_OK;
}

static void mongo_abort(sp_sink *s) { clear_batch((mongo_sink *)s); }

static void mongo_close(sp_sink *s) {
  mongo_sink *ms = (mongo_sink *)s;
  clear_batch(ms);
  for (int i = 0; i < SP_DS_COUNT; i++) {
    mongo_dataset *d = &ms->ds[i];
    if (d->collection) mongoc_collection_destroy(d->collection);
    free(d->collection_name);
    free(d->docs);
    free(d->selectors);
  }
  if (ms->client) mongoc_client_destroy(ms->client);
  free(ms->database);
  sp_sink_base_cleanup(s);
  free(ms);
}

static const sp_sink_ops mongo_ops = {"mongodb", mongo_begin, mongo_write, mongo_commit, mongo_abort, mongo_close, NULL, NULL};

int sp_sink_mongo_open(const sp_sink_mongo_config *cfg, sp_sink **out, sp_error *err) {
  *out = NULL;
  const char *name = cfg->name ? cfg->name : "";
  if (!cfg->uri || !*cfg->uri) return sp_error_set(err, SP_ERR_CONFIG, "sink %s: no uri", name);
  if (cfg->collection && (cfg->dataset < 0 || cfg->dataset >= SP_DS_COUNT))
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: collection \"%s\" set but no dataset reaches the sink", name,
                        cfg->collection);
  mongoc_init();
  bson_error_t e;
  mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->uri, &e);
  if (!uri) return sp_error_set(err, SP_ERR_CONFIG, "sink %s: MongoDB uri refused: %s", name, e.message);
  const char *password = mongoc_uri_get_password(uri);
  if (password && *password) sp_log_add_secret(password);
  if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME)) mongoc_uri_set_appname(uri, "stockpipe");
  mongo_sink *ms = calloc(1, sizeof *ms);
  int rc = ms ? sp_sink_base_init(&ms->base, &mongo_ops, name, err) : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (rc) {
    free(ms);
    mongoc_uri_destroy(uri);
    return rc;
  }
  ms->budget = cfg->budget;
  ms->client = mongoc_client_new_from_uri_with_error(uri, &e);
  mongoc_uri_destroy(uri);
  if (!ms->client) {
    mongo_close(&ms->base);
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: MongoDB client refused the uri: %s", name, e.message);
  }
  mongoc_client_set_error_api(ms->client, MONGOC_ERROR_API_VERSION_2);
  ms->database = strdup(cfg->database ? cfg->database : "stockpipe");
  rc = ms->database ? SP_OK : SP_ERR_NOMEM;
  for (int i = 0; i < SP_DS_COUNT && !rc; i++) {
    const char *coll = cfg->collection && cfg->dataset == i ? cfg->collection : sp_dataset_get((sp_dataset_id)i)->name;
    ms->ds[i].collection_name = strdup(coll);
    if (!ms->ds[i].collection_name) rc = SP_ERR_NOMEM;
  }
  if (rc) {
    mongo_close(&ms->base);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *out = &ms->base;
  return SP_OK;
}
