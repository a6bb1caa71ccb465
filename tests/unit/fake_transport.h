/*
 * fake_transport.h — a source transport for unit tests: answers each submitted
 * request from a table of (path prefix → HTTP status + fixture file or inline body),
 * with the same callback contract as the HTTP client (classify on 2xx, done once per
 * request with SP_OK / SP_ERR_HTTP / SP_ERR_RATE_LIMIT), including requests queued by
 * callbacks.  It also records every requested path for assertions.  No network.
 */
#ifndef STOCKPIPE_TESTS_FAKE_TRANSPORT_H
#define STOCKPIPE_TESTS_FAKE_TRANSPORT_H

#include "core/log.h"
#include "sources/source.h"

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_ROUTES 32
#define FAKE_MAX_REQUESTS 256

typedef struct fake_route {
  const char *prefix;  /* matched against the request path */
  long status;
  const char *file;    /* relative to $STOCKPIPE_FIXTURES, or NULL */
  const char *body;    /* inline body when file is NULL */
} fake_route;

typedef struct fake_queued {
  sp_http_request req;
  char path[1024];
} fake_queued;

typedef struct fake_transport {
  fake_route routes[FAKE_MAX_ROUTES];
  int nroutes;
  fake_queued queue[FAKE_MAX_REQUESTS];
  int nqueued, next;
  char paths[FAKE_MAX_REQUESTS][1024]; /* every path requested, in order */
  int npaths;
  int nsent;          /* requests answered (before_attempt allowed them) */
  int nsent_vetoed;   /* requests before_attempt dropped unsent */
} fake_transport;

static inline void fake_route_add(fake_transport *f, const char *prefix, long status,
                                  const char *file, const char *body) {
  f->routes[f->nroutes++] = (fake_route){prefix, status, file, body};
}

static inline int fake_submit(void *impl, const sp_http_request *request, sp_error *err) {
  fake_transport *f = impl;
  if (f->nqueued >= FAKE_MAX_REQUESTS) return sp_error_set(err, SP_ERR_FULL, "fake queue full");
  fake_queued *q = &f->queue[f->nqueued++];
  q->req = *request;
  snprintf(q->path, sizeof q->path, "%s", request->path);
  q->req.path = q->path;
  snprintf(f->paths[f->npaths++], sizeof f->paths[0], "%s", request->path);
  return SP_OK;
}

static inline void fake_load(const fake_route *route, sp_buf *body) {
  if (!route->file) {
    sp_buf_append_str(body, route->body ? route->body : "");
    return;
  }
  const char *dir = getenv("STOCKPIPE_FIXTURES");
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", route->file);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "fake transport: cannot open %s\n", path);
    abort();
  }
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) sp_buf_append(body, chunk, n);
  fclose(fp);
  sp_buf_reserve(body, 0);
}

static inline int fake_run(void *impl, const volatile bool *stop, sp_error *err) {
  (void)stop;
  (void)err;
  fake_transport *f = impl;
  while (f->next < f->nqueued) {
    fake_queued *q = &f->queue[f->next++];
    int veto = q->req.before_attempt ? q->req.before_attempt(q->req.arg) : SP_OK;
    if (veto != SP_OK) { /* not sent, as the HTTP client does */
      sp_http_response unsent = {.status = 0};
      snprintf(unsent.url, sizeof unsent.url, "http://fake%.900s", q->path);
      sp_redact(unsent.url);
      sp_buf_append_str(&unsent.body, "");
      sp_error e;
      sp_error_set(&e, veto, "%s: not sent", unsent.url);
      q->req.done(q->req.arg, &unsent, &e);
      sp_buf_free(&unsent.body);
      f->nsent_vetoed++;
      continue;
    }
    f->nsent++;
    const fake_route *route = NULL;
    for (int i = 0; i < f->nroutes; i++)
      if (strncmp(q->path, f->routes[i].prefix, strlen(f->routes[i].prefix)) == 0) {
        route = &f->routes[i];
        break;
      }
    sp_http_response resp = {.status = route ? route->status : 404, .attempts = 1};
    snprintf(resp.url, sizeof resp.url, "http://fake%.900s", q->path);
    sp_redact(resp.url); /* as the HTTP client does */
    if (route) fake_load(route, &resp.body);
    else sp_buf_append_str(&resp.body, "no route");
    sp_error e;
    sp_error_clear(&e);
    if (resp.status >= 200 && resp.status < 300) {
      int rc = q->req.classify ? q->req.classify(&resp, q->req.arg) : SP_OK;
      if (rc != SP_OK) sp_error_set(&e, rc, "%s: classified as %s", resp.url, sp_status_name(rc));
    } else {
      sp_error_set(&e, resp.status == 429 ? SP_ERR_RATE_LIMIT : SP_ERR_HTTP,
                   "%s: HTTP %ld", resp.url, resp.status);
    }
    q->req.done(q->req.arg, &resp, &e);
    sp_buf_free(&resp.body);
  }
  return SP_OK;
}

static inline sp_source_transport fake_transport_of(fake_transport *f) {
  return (sp_source_transport){.submit = fake_submit, .run = fake_run, .impl = f};
}

/* An item a parser handed to its bad-item callback (copied). */
typedef struct collected_reject {
  char rule[48];
  char detail[240];
  char *raw;    /* the item's text (malloc'd), or NULL */
  char request[512]; /* collect_round_reject: the request */
  bool has_row;
  sp_row row;   /* what the parser could read, when has_row */
} collected_reject;

/* Rows collected by a round's emit callback, encoded (so they outlive the call), and
 * the bad items of a parser (collect_bad). */
typedef struct collected_rows {
  sp_row rows[512];
  int count;
  collected_reject rejects[16];
  int nrejects;
} collected_rows;

static inline int collect_row(collected_rows *c, const sp_row *row) {
  if (c->count >= 512) return SP_ERR_FULL;
  return sp_row_copy(&c->rows[c->count++], row);
}

static inline void collected_rows_free(collected_rows *c) {
  for (int i = 0; i < c->count; i++) sp_row_clear(&c->rows[i]);
  c->count = 0;
  for (int i = 0; i < c->nrejects; i++) {
    free(c->rejects[i].raw);
    if (c->rejects[i].has_row) sp_row_clear(&c->rejects[i].row);
  }
  c->nrejects = 0;
}

static inline double row_double(const sp_row *row, const char *col) {
  int i = sp_row_col(row, col);
  return row->values[i].is_null ? NAN : row->values[i].u.f64;
}

static inline int64_t row_int64(const sp_row *row, const char *col) {
  int i = sp_row_col(row, col);
  return row->values[i].is_null ? INT64_MIN : row->values[i].u.i64;
}

static inline int32_t row_int32(const sp_row *row, const char *col) {
  int i = sp_row_col(row, col);
  return row->values[i].is_null ? INT32_MIN : row->values[i].u.i32;
}

static inline const char *row_text(const sp_row *row, const char *col) {
  int i = sp_row_col(row, col);
  return row->values[i].is_null ? NULL : row->values[i].u.str.ptr;
}

static inline bool row_is_null(const sp_row *row, const char *col) {
  return row->values[sp_row_col(row, col)].is_null;
}

/* A parser emit callback appending to a collected_rows. */
static inline int collect_parsed(void *arg, sp_row *row, sp_error *err) {
  (void)err;
  return collect_row(arg, row);
}

/* A parser bad-item callback (sources/source.h) appending to a collected_rows. */
static inline int collect_bad(void *arg, const sp_source_bad_item *item, sp_error *err) {
  (void)err;
  collected_rows *c = arg;
  if (c->nrejects >= 16) return SP_ERR_FULL;
  collected_reject *r = &c->rejects[c->nrejects++];
  memset(r, 0, sizeof *r);
  snprintf(r->rule, sizeof r->rule, "%s", item->rule);
  snprintf(r->detail, sizeof r->detail, "%s", item->detail ? item->detail : "");
  if (item->json) {
    char *printed = cJSON_PrintUnformatted(item->json);
    r->raw = printed ? strdup(printed) : NULL;
    cJSON_free(printed);
  } else if (item->text) {
    r->raw = strdup(item->text);
  }
  r->has_row = item->row && sp_row_copy(&r->row, item->row) == SP_OK;
  return SP_OK;
}

/* A round's reject callback (sp_source_round.reject) appending to the collected_rows
 * that is the round's arg. */
static inline int collect_round_reject(void *arg, const sp_row *row, const char *rule, const char *detail,
                                       const char *raw, const char *request, sp_error *err) {
  collected_rows *c = arg;
  int rc = collect_bad(arg, &(sp_source_bad_item){rule, detail, NULL, raw, row}, err);
  if (rc == SP_OK) snprintf(c->rejects[c->nrejects - 1].request, sizeof c->rejects[0].request, "%s", request ? request : "");
  return rc;
}

/* Read a fixture file into a NUL-terminated buffer (aborts when missing). */
static inline void read_fixture(const char *file, sp_buf *out) {
  fake_route r = {.file = file};
  fake_load(&r, out);
}

#endif
