/*
 * backfill.c — chunk arithmetic and per-series cursors of a backfill (see backfill.h).
 *
 * Cursor blob ("<series>@backfill:<run id>"): "SPBF1", one flag byte (1 = joins the
 * live history), then end, next and rows as little-endian int64, then the series'
 * indicator state (sp_ind_state_serialize) when it does not join the live history.
 */
#include "core/backfill.h"

#include "core/array.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_MAGIC "SPBF1"
#define CURSOR_MAGIC_LEN 5
#define CURSOR_HEADER_LEN (CURSOR_MAGIC_LEN + 1 + 3 * 8)
#define FIRST_SUFFIX "@first"

/* ---- window arithmetic ---- */

int sp_backfill_range(const sp_source_history *limits, int64_t from_us, int64_t to_us, int64_t now_us,
                      int64_t *start_us, int64_t *end_us, bool *clamped_start, sp_error *err) {
  *clamped_start = false;
  if (from_us >= to_us) return sp_error_set(err, SP_ERR_INVALID, "the range is empty (--from must be before --to)");
  int64_t start = from_us, end = to_us < now_us ? to_us : now_us;
  if (start >= end) return sp_error_set(err, SP_ERR_INVALID, "the range starts in the future");
  if (limits && limits->max_age_us > 0 && start < now_us - limits->max_age_us + SP_BACKFILL_AGE_MARGIN_US) {
    start = now_us - limits->max_age_us + SP_BACKFILL_AGE_MARGIN_US;
    *clamped_start = true;
    if (start >= end) {
      char oldest[SP_TIMESTAMP_TEXT_MAX];
      sp_format_timestamp(start, oldest);
      return sp_error_set(err, SP_ERR_INVALID, "the provider serves this interval only from %s on (the last %lld days)",
                          oldest, (long long)(limits->max_age_us / SP_US_PER_DAY));
    }
  }
  *start_us = start;
  *end_us = end;
  return SP_OK;
}

void sp_backfill_limits_merge(sp_source_history *into, const sp_source_history *other, bool first) {
  if (first) {
    *into = *other;
    return;
  }
  /* spans: the shortest (every request must fit every provider); ages: the longest,
   * 0 (unlimited) above all (a provider takes part in the chunks it serves) */
  if (into->max_span_us <= 0 || (other->max_span_us > 0 && other->max_span_us < into->max_span_us))
    into->max_span_us = other->max_span_us;
  if (into->max_age_us > 0 && (other->max_age_us <= 0 || other->max_age_us > into->max_age_us))
    into->max_age_us = other->max_age_us;
}

int64_t sp_backfill_chunk_length(const sp_source_history *limits, int64_t requested_us) {
  int64_t span = limits ? limits->max_span_us : 0;
  int64_t chunk = requested_us > 0 ? requested_us
                  : span > 0       ? (int64_t)SP_BACKFILL_DEFAULT_CHUNK_DAYS * SP_US_PER_DAY
                                   : (int64_t)SP_BACKFILL_UNLIMITED_CHUNK_DAYS * SP_US_PER_DAY;
  return span > 0 && chunk > span ? span : chunk;
}

size_t sp_backfill_chunk_count(int64_t start_us, int64_t end_us, int64_t chunk_us) {
  if (chunk_us <= 0 || end_us <= start_us) return 0;
  return (size_t)((end_us - start_us - 1) / chunk_us) + 1;
}

sp_source_window sp_backfill_chunk(int64_t start_us, int64_t end_us, int64_t chunk_us, size_t index) {
  sp_source_window w = {.start_us = start_us + (int64_t)index * chunk_us};
  w.end_us = end_us - w.start_us > chunk_us ? w.start_us + chunk_us : end_us;
  return w;
}

/* ---- firsts ---- */

static void first_key(const char *key, char *out, size_t cap) { snprintf(out, cap, "%s" FIRST_SUFFIX, key); }

int sp_backfill_stage_first(sp_state_batch *batch, const char *source, const char *key, int64_t time_us) {
  char fk[SP_SOURCE_KEY_MAX + sizeof FIRST_SUFFIX];
  first_key(key, fk, sizeof fk);
  return sp_state_batch_lower_watermark(batch, source, fk, time_us);
}

/* ---- cursors ---- */

typedef struct series {
  char key[SP_SOURCE_KEY_MAX];
  bool joins_live;
  bool failed;
  bool dirty;       /* changed since the last stage */
  int64_t end_us;
  int64_t next_us;  /* rows before this are stored */
  int64_t rows;     /* all runs */
  bool has_mark;    /* joins_live: the live watermark, kept up to date in memory */
  int64_t mark;
  sp_ind_state *ind; /* not joining: the backfill's own indicator state */
} series;

struct sp_backfill {
  sp_state *state;
  char *source;
  char *run_id;
  int64_t start_us, end_us;
  unsigned mask;
  series *items;
  size_t count, cap;
  int64_t run_rows;
};

int sp_backfill_open(sp_state *state, const char *source, const char *run_id, int64_t start_us, int64_t end_us,
                     unsigned indicator_mask, sp_backfill **out, sp_error *err) {
  *out = NULL;
  sp_backfill *b = calloc(1, sizeof *b);
  if (b) {
    b->source = strdup(source);
    b->run_id = strdup(run_id);
  }
  if (!b || !b->source || !b->run_id) {
    sp_backfill_free(b);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  b->state = state;
  b->start_us = start_us;
  b->end_us = end_us;
  b->mask = indicator_mask;
  *out = b;
  return SP_OK;
}

void sp_backfill_free(sp_backfill *b) {
  if (!b) return;
  for (size_t i = 0; i < b->count; i++) sp_ind_state_free(b->items[i].ind);
  free(b->items);
  free(b->source);
  free(b->run_id);
  free(b);
}

static void cursor_key(const sp_backfill *b, const char *key, char *out, size_t cap) {
  snprintf(out, cap, "%s@backfill:%s", key, b->run_id);
}

static void put_i64(uint8_t *p, int64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static int64_t get_i64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return (int64_t)v;
}

/* Restore a cursor blob into s; false when it is not one (then s is untouched). */
static bool cursor_decode(const sp_buf *blob, series *s, sp_error *err) {
  const uint8_t *d = blob->data;
  if (blob->len < CURSOR_HEADER_LEN || memcmp(d, CURSOR_MAGIC, CURSOR_MAGIC_LEN) != 0) return false;
  bool joins = d[CURSOR_MAGIC_LEN] == 1;
  sp_ind_state *ind = NULL;
  if (!joins && sp_ind_state_deserialize(d + CURSOR_HEADER_LEN, blob->len - CURSOR_HEADER_LEN, &ind, err))
    return false;
  s->joins_live = joins;
  s->end_us = get_i64(d + CURSOR_MAGIC_LEN + 1);
  s->next_us = get_i64(d + CURSOR_MAGIC_LEN + 9);
  s->rows = get_i64(d + CURSOR_MAGIC_LEN + 17);
  s->ind = ind;
  return true;
}

static int cursor_encode(const series *s, sp_buf *out) {
  uint8_t head[CURSOR_HEADER_LEN];
  memcpy(head, CURSOR_MAGIC, CURSOR_MAGIC_LEN);
  head[CURSOR_MAGIC_LEN] = s->joins_live ? 1 : 0;
  put_i64(head + CURSOR_MAGIC_LEN + 1, s->end_us);
  put_i64(head + CURSOR_MAGIC_LEN + 9, s->next_us);
  put_i64(head + CURSOR_MAGIC_LEN + 17, s->rows);
  sp_buf_reset(out);
  int rc = sp_buf_append(out, head, sizeof head);
  if (!rc && s->ind) rc = sp_ind_state_serialize(s->ind, out);
  return rc ? SP_ERR_NOMEM : SP_OK;
}

/* Decide a series met for the first time (or whose joining cursor stored nothing
 * while the live collection started it meanwhile): see the rule in backfill.h. */
static int decide_fresh(sp_backfill *b, series *s, sp_error *err) {
  char fk[SP_SOURCE_KEY_MAX + sizeof FIRST_SUFFIX];
  first_key(s->key, fk, sizeof fk);
  int64_t first = 0;
  bool has_first = false;
  int rc = sp_state_get_watermark(b->state, b->source, fk, &first, &has_first, err);
  if (rc) return rc;
  s->next_us = b->start_us;
  sp_ind_state_free(s->ind);
  s->ind = NULL;
  if (!has_first && s->has_mark) {
    SP_WARN("backfill", "source %s: %s was collected by a stockpipe that did not record its first row; it is "
            "skipped (its rows could be stored twice)", b->source, s->key);
    s->failed = true;
    s->end_us = b->start_us;
    return SP_OK;
  }
  s->joins_live = !has_first;
  s->end_us = has_first && first < b->end_us ? first : b->end_us;
  if (!s->joins_live) {
    s->ind = sp_ind_state_new(b->mask, err);
    if (!s->ind) return err->code ? err->code : SP_ERR_NOMEM;
  }
  return SP_OK;
}

static series *find(sp_backfill *b, const char *key) {
  for (size_t i = 0; i < b->count; i++)
    if (strcmp(b->items[i].key, key) == 0) return &b->items[i];
  return NULL;
}

static int load(sp_backfill *b, const char *key, series **out, sp_error *err) {
  *out = find(b, key);
  if (*out) return SP_OK;
  if (SP_ARRAY_RESERVE(b->items, b->cap, b->count + 1, 32)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  series *s = &b->items[b->count];
  memset(s, 0, sizeof *s);
  snprintf(s->key, sizeof s->key, "%s", key);
  int rc = sp_state_get_watermark(b->state, b->source, key, &s->mark, &s->has_mark, err);
  char ck[SP_SOURCE_KEY_MAX + 128];
  cursor_key(b, key, ck, sizeof ck);
  sp_buf blob = SP_BUF_INIT;
  bool found = false;
  if (!rc) rc = sp_state_get_blob(b->state, b->source, ck, &blob, &found, err);
  if (!rc) {
    sp_error derr;
    bool resumed = found && cursor_decode(&blob, s, &derr);
    if (found && !resumed)
      SP_WARN("backfill", "source %s: cursor of %s unreadable; deciding the series again", b->source, key);
    if (!resumed || (s->joins_live && s->rows == 0)) rc = decide_fresh(b, s, err);
  }
  sp_buf_free(&blob);
  if (rc) {
    sp_ind_state_free(s->ind);
    return rc;
  }
  b->count++;
  *out = s;
  return SP_OK;
}

/* The first time not yet stored for series s. */
static int64_t next_time(const series *s) {
  if (s->joins_live && s->has_mark && s->mark + 1 > s->next_us) return s->mark + 1;
  return s->next_us;
}

int sp_backfill_progress_of(sp_backfill *b, const char *key, sp_backfill_progress *out, sp_error *err) {
  series *s;
  int rc = load(b, key, &s, err);
  if (rc) return rc;
  *out = (sp_backfill_progress){.joins_live = s->joins_live,
                                .end_us = s->end_us,
                                .next_us = next_time(s),
                                .rows = s->rows,
                                .failed = s->failed};
  return SP_OK;
}

bool sp_backfill_needs(sp_backfill *b, const char *key, const sp_source_window *window) {
  const series *s = find(b, key);
  if (!s) return true;
  int64_t next = next_time(s);
  return !s->failed && next < s->end_us && next < window->end_us && window->start_us < s->end_us;
}

int sp_backfill_want(sp_backfill *b, const char *key, int64_t time_us, bool *want, sp_error *err) {
  series *s;
  *want = false;
  int rc = load(b, key, &s, err);
  if (rc) return rc;
  *want = !s->failed && time_us >= b->start_us && time_us >= next_time(s) && time_us < s->end_us;
  return SP_OK;
}

sp_ind_state *sp_backfill_indicators(sp_backfill *b, const char *key) {
  series *s = find(b, key);
  return s ? s->ind : NULL;
}

void sp_backfill_row_done(sp_backfill *b, const char *key, int64_t time_us) {
  series *s = find(b, key);
  if (!s) return;
  if (time_us + 1 > s->next_us) s->next_us = time_us + 1;
  if (s->joins_live && (!s->has_mark || time_us > s->mark)) {
    s->mark = time_us;
    s->has_mark = true;
  }
  s->rows++;
  s->dirty = true;
  b->run_rows++;
}

static int stage_series(sp_backfill *b, series *s, sp_state_batch *batch) {
  sp_buf blob = SP_BUF_INIT;
  char ck[SP_SOURCE_KEY_MAX + 128];
  cursor_key(b, s->key, ck, sizeof ck);
  int rc = cursor_encode(s, &blob);
  if (!rc) rc = sp_state_batch_put_blob(batch, b->source, ck, blob.data, blob.len);
  sp_buf_free(&blob);
  if (!rc) s->dirty = false;
  return rc;
}

int sp_backfill_stage(sp_backfill *b, sp_state_batch *batch) {
  for (size_t i = 0; i < b->count; i++) {
    if (!b->items[i].dirty) continue;
    int rc = stage_series(b, &b->items[i], batch);
    if (rc) return rc;
  }
  return SP_OK;
}

/* Whether series s is among keys (NULL = all). */
static bool listed(const series *s, const char *const *keys, size_t nkeys) {
  if (!keys) return true;
  for (size_t i = 0; i < nkeys; i++)
    if (strcmp(keys[i], s->key) == 0) return true;
  return false;
}

int sp_backfill_chunk_done(sp_backfill *b, const sp_source_window *window, const char *const *keys, size_t nkeys,
                           sp_error *err) {
  sp_state_batch *batch = sp_state_batch_new();
  if (!batch) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = SP_OK;
  for (size_t i = 0; i < b->count && !rc; i++) {
    series *s = &b->items[i];
    if (s->failed || s->next_us >= window->end_us || window->start_us >= s->end_us || !listed(s, keys, nkeys))
      continue;
    s->next_us = window->end_us < s->end_us ? window->end_us : s->end_us;
    rc = stage_series(b, s, batch);
    if (rc) sp_error_set(err, rc, "out of memory");
  }
  if (!rc && sp_state_batch_count(batch)) rc = sp_state_batch_commit(b->state, batch, 0, err);
  sp_state_batch_free(batch);
  return rc;
}

void sp_backfill_chunk_failed(sp_backfill *b, const sp_source_window *window, const char *const *keys, size_t nkeys) {
  for (size_t i = 0; i < b->count; i++)
    if (listed(&b->items[i], keys, nkeys) && sp_backfill_needs(b, b->items[i].key, window)) b->items[i].failed = true;
}

void sp_backfill_retry(sp_backfill *b, const char *key) {
  series *s = find(b, key);
  if (s && s->end_us > b->start_us) s->failed = false; /* not one refused at load (no recorded first) */
}

int64_t sp_backfill_rows(const sp_backfill *b) { return b->run_rows; }
