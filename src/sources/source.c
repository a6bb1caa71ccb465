/*
 * source.c — the provider table, one collection round over a dataset's providers,
 * and the helpers every provider uses: request submission with failure accounting,
 * watermark filtering and emission, the financial_data fundamentals merge, and the
 * small JSON accessors parsers share (see source.h).
 *
 * The HTTP-client-specific glue (transport, provider registration) lives in
 * source_http.c so that parsers and rounds can be tested with fake transports.
 */
#include "sources/source.h"

#include "core/array.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/quota.h"
#include "core/sha256.h"
#include "core/timeutil.h"
#include "sources/news.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/alphavantage.h"
#include "sources/fedreserve.h"
#include "sources/finnhub.h"
#include "sources/newsapi.h"
#include "sources/fred.h"
#include "sources/treasury.h"
#include "sources/worldbank.h"
#include "sources/yahoo.h"

/* Adding a provider: define its table in its own file and list it here. */
static const sp_source_provider *const provider_table[] = {
    &sp_source_yahoo,
    &sp_source_alphavantage,
    &sp_source_finnhub,
    &sp_source_newsapi,
    &sp_source_fred,
    &sp_source_worldbank,
    &sp_source_treasury,
    &sp_source_fedreserve,
};
#define NPROVIDERS (sizeof provider_table / sizeof provider_table[0])

const sp_source_provider *const *sp_source_providers(size_t *count) {
  *count = NPROVIDERS;
  return provider_table;
}

const sp_source_provider *sp_source_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < NPROVIDERS; i++)
    if (strcmp(provider_table[i]->name, name) == 0) return provider_table[i];
  return NULL;
}

bool sp_source_serves_history(const sp_source_provider *provider, const sp_dataset_def *ds, const char *interval,
                              sp_source_history *out, char *why, size_t whylen) {
  sp_source_history ignored;
  if (!out) out = &ignored;
  memset(out, 0, sizeof *out);
  if (!(provider->datasets & SP_SOURCE_DATASET_BIT(ds->id))) {
    snprintf(why, whylen, "it does not serve %s", ds->name);
    return false;
  }
  if (!provider->history) {
    snprintf(why, whylen, "it has no way to ask for a past date window (only the latest data)");
    return false;
  }
  return provider->history(ds, interval, out, why, whylen);
}

/* ---- JSON helpers ------------------------------------------------------------------ */

int sp_json_parse(const char *body, size_t len, const char *what, cJSON **out, sp_error *err) {
  *out = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
  if (*out) return SP_OK;
  size_t show = len < 80 ? len : 80;
  char excerpt[81];
  for (size_t i = 0; i < show; i++)
    excerpt[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
  excerpt[show] = '\0';
  return sp_error_set(err, SP_ERR_PARSE, "%s: response is not valid JSON (%zu bytes: \"%s%s\")",
                      what, len, excerpt, len > show ? "…" : "");
}

#define MAX_UNIX_SECONDS 253402300800.0 /* 10000-01-01T00:00:00Z */

bool sp_source_unix_seconds(double seconds, int64_t *us) {
  if (!(seconds >= 0 && seconds < MAX_UNIX_SECONDS)) return false; /* also NaN */
  *us = (int64_t)seconds * SP_US_PER_SEC;
  return true;
}

bool sp_parse_number(const char *text, double *out) {
  if (!text) return false;
  while (isspace((unsigned char)*text)) text++;
  if (!*text) return false;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno == ERANGE) return false;
  while (isspace((unsigned char)*end)) end++;
  if (*end || !isfinite(v)) return false;
  *out = v;
  return true;
}

bool sp_json_number(const cJSON *obj, const char *name, double *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (cJSON_IsNumber(item)) {
    if (!isfinite(item->valuedouble)) return false;
    *out = item->valuedouble;
    return true;
  }
  if (cJSON_IsString(item)) return sp_parse_number(item->valuestring, out);
  return false;
}

long sp_json_count(const cJSON *obj, const char *name, long fallback) {
  double v;
  return sp_json_number(obj, name, &v) && v >= 0 && v <= 1e12 ? (long)v : fallback;
}

const char *sp_json_string(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* ---- watermarks ----------------------------------------------------------------------- */

static const char *row_str(const sp_row *row, const char *col) {
  int i = sp_row_col(row, col);
  return (i >= 0 && !row->values[i].is_null) ? row->values[i].u.str.ptr : NULL;
}

static bool row_i64(const sp_row *row, const char *col, int64_t *v) {
  int i = sp_row_col(row, col);
  if (i < 0 || row->values[i].is_null) return false;
  sp_type t = row->ds->columns[i].type;
  *v = (t == SP_DATE) ? (int64_t)row->values[i].u.i32 * SP_US_PER_DAY : row->values[i].u.i64;
  return true;
}

int sp_source_row_watermark(const sp_row *row, char *key, int64_t *value) {
  const char *a = NULL, *b = NULL, *time_col = NULL, *prefix = row->ds->name;
  switch (row->ds->id) {
  case SP_DS_FINANCIAL_DATA: a = row_str(row, "ticker"), time_col = "quote_time"; break;
  case SP_DS_STOCK_MOVEMENTS:
    a = row_str(row, "ticker"), b = row_str(row, "interval"), time_col = "bar_time";
    if (!b) return SP_ERR_INVALID;
    break;
  case SP_DS_NEWS:
    a = row_str(row, "provider"), b = row_str(row, "ticker"), time_col = "published_at";
    if (!b) return SP_ERR_INVALID;
    break;
  case SP_DS_MACROECONOMIC:
    a = row_str(row, "provider"), b = row_str(row, "series_id"), time_col = "observation_date";
    if (!b) return SP_ERR_INVALID;
    break;
  case SP_DS_POLICY:
    a = row_str(row, "provider"), b = row_str(row, "event_type"), time_col = "event_time";
    if (!b) return SP_ERR_INVALID;
    break;
  default: return SP_ERR_INVALID;
  }
  if (!a || !row_i64(row, time_col, value)) return SP_ERR_INVALID;
  int n = b ? snprintf(key, SP_SOURCE_KEY_MAX, "%s/%s/%s", prefix, a, b)
            : snprintf(key, SP_SOURCE_KEY_MAX, "%s/%s", prefix, a);
  return (n > 0 && n < SP_SOURCE_KEY_MAX) ? SP_OK : SP_ERR_INVALID;
}

int sp_source_row_identity(const sp_row *row, char *key) {
  if (row->ds->id != SP_DS_NEWS) return SP_ERR_NOT_FOUND;
  const char *id = row_str(row, "article_id"), *ticker = row_str(row, "ticker");
  if (!id || !ticker) return SP_ERR_INVALID;
  int n = snprintf(key, SP_SOURCE_KEY_MAX, "news/id/%s/%s", id, ticker);
  return (n > 0 && n < SP_SOURCE_KEY_MAX) ? SP_OK : SP_ERR_INVALID;
}

bool sp_source_watermark(const sp_source_ctx *ctx, const char *key, int64_t *value) {
  const sp_source_round *r = ctx->round;
  return r->get_watermark && r->get_watermark(r->arg, key, value);
}

/* ---- failures ------------------------------------------------------------------------- */

void sp_source_fail(sp_source_ctx *ctx, const char *request, long status, const char *body,
                    size_t body_len, const sp_error *cause) {
  sp_error e;
  if (body) {
    char excerpt[161];
    size_t n = body_len < 160 ? body_len : 160;
    for (size_t i = 0; i < n; i++)
      excerpt[i] = (body[i] == '\n' || body[i] == '\r' || body[i] == '\t') ? ' ' : body[i];
    excerpt[n] = '\0';
    sp_error_set(&e, cause->code, "%s (HTTP %ld): %s; body: %s%s", request ? request : "?",
                 status, cause->msg, excerpt, body_len > n ? "…" : "");
  } else {
    e = *cause;
  }
  sp_redact(e.msg);
  ctx->report->failures++;
  ctx->report->status = SP_SOURCE_FAILED;
  if (ctx->report->first_error.code == SP_OK) ctx->report->first_error = e;
  /* Quiet: a failure its caller already reported, a request cut short by a shutdown
   * (the daemon says once that the round was interrupted), and a provider's failures
   * past the first SP_SOURCE_FAILURES_LOGGED of a round (an outage fails every ticker;
   * the round's summary counts them all). */
  bool shutdown = cause->code == SP_ERR_STOPPED;
  bool quiet = ctx->failure_reported || shutdown || ctx->logged_failures >= SP_SOURCE_FAILURES_LOGGED;
  if (quiet) {
    SP_DEBUG(ctx->provider->name, "%s", e.msg);
  } else {
    SP_ERROR(ctx->provider->name, "%s", e.msg);
    if (++ctx->logged_failures == SP_SOURCE_FAILURES_LOGGED)
      SP_ERROR(ctx->provider->name, "further failed requests of this round are logged at DEBUG only; the round's "
                                    "summary counts every one");
  }
  ctx->failure_reported = false;
}

/* ---- requests ------------------------------------------------------------------------- */

typedef struct pending_request {
  sp_source_ctx *ctx;
  sp_source_response_fn on_response;
  sp_source_failure_fn on_failure;
  bool deferred; /* refused by the daily quota before it was sent */
  size_t size;
  max_align_t data[]; /* the caller's data, copied */
} pending_request;

/* A failed request: recovered by the provider's failure hook (a warning), or
 * recorded as a failure. */
static void request_failed(pending_request *p, const char *url, long status, const char *body,
                           size_t body_len, const sp_error *cause) {
  sp_source_ctx *ctx = p->ctx;
  if (p->on_failure && p->on_failure(ctx, cause, p->data)) {
    if (ctx->quota_exhausted) return; /* it called sp_source_quota_used_up, which said so */
    char msg[SP_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", cause->msg);
    sp_redact(msg);
    SP_WARN(ctx->provider->name, "%s (HTTP %ld): %s; used the fallback", url ? url : "?", status,
            msg);
    return;
  }
  sp_source_fail(ctx, url, status, body, body_len, cause);
}

static void request_done(void *arg, const sp_http_response *resp, const sp_error *err) {
  pending_request *p = arg;
  sp_source_ctx *ctx = p->ctx;
  if (p->deferred) {
    if (!resp || resp->attempts == 0) ctx->report->requests--; /* never sent after all */
    ctx->report->deferred++;  /* the daily quota: counted and said at the round's end */
  } else if (err && err->code == SP_ERR_QUOTA && sp_source_quota_used_up(ctx, err)) {
    /* the provider's "daily limit reached": deferred, not a failure */
  } else if (err && err->code != SP_OK) {
    char said[256];
    sp_error e = *err;
    if (resp && resp->body.len && ctx->provider->explain_error &&
        ctx->provider->explain_error((const char *)resp->body.data, resp->body.len, said,
                                     sizeof said))
      sp_error_set(&e, err->code, "%s (HTTP %ld): %s", resp->url, resp->status, said);
    request_failed(p, resp ? resp->url : NULL, resp ? resp->status : 0, NULL, 0, &e);
  } else {
    sp_error perr;
    sp_error_clear(&perr);
    int rc = p->on_response(ctx, resp, p->data, &perr);
    if (rc != SP_OK) {
      if (perr.code == SP_OK) sp_error_set(&perr, rc, "response handler failed");
      request_failed(p, resp->url, resp->status, (const char *)resp->body.data, resp->body.len,
                     &perr);
    }
  }
  ctx->failure_reported = false; /* also when a fallback recovered the failure */
  free(p);
}

/* ---- daily quotas (core/quota.h) ------------------------------------------------------ */

/* Just before an attempt of a quota-limited provider's request leaves: count it in
 * the state store, or refuse it (round budget spent, day used up, store unusable). */
static int quota_before_attempt(void *arg) {
  pending_request *p = arg;
  sp_source_ctx *ctx = p->ctx;
  bool granted = false;
  if (!ctx->quota_exhausted && ctx->quota_budget > 0) {
    sp_error e;
    if (sp_quota_take(ctx->round->quota_state, ctx->provider->name, ctx->round->now_us, ctx->quota_limit,
                      &granted, &e) != SP_OK)
      SP_ERROR(ctx->provider->name, "daily quota: %s; request not sent", e.msg);
    else if (!granted)
      ctx->quota_exhausted = true; /* another round or process used the rest */
  }
  if (!granted) {
    p->deferred = true;
    return SP_ERR_QUOTA;
  }
  ctx->quota_budget--;
  return SP_OK;
}

bool sp_source_quota_used_up(sp_source_ctx *ctx, const sp_error *cause) {
  if (ctx->quota_limit <= 0) return false;
  if (!ctx->quota_exhausted) {
    sp_error e;
    if (sp_quota_use_up(ctx->round->quota_state, ctx->provider->name, ctx->round->now_us, ctx->quota_limit, &e))
      SP_ERROR(ctx->provider->name, "daily quota: %s", e.msg);
    char msg[SP_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", cause->msg);
    sp_redact(msg);
    SP_WARN("quota", "%s: daily limit reached, no more requests until 00:00 UTC: %s", ctx->provider->name, msg);
    ctx->quota_exhausted = true;
  }
  ctx->report->deferred++;
  return true;
}

/* Start ctx's daily quota for the round: its limit and budget and, for a per_ticker
 * dataset, a copy of the round in *own with the rotated, trimmed tickers in *list
 * (the caller frees *list).  The cursor moves past the tickers handed out. */
static int quota_start(sp_source_ctx *ctx, sp_source_round *own, const char ***list, sp_error *err) {
  const sp_source_round *r = ctx->round;
  const char *name = ctx->provider->name;
  ctx->report->quota_remaining = -1;
  ctx->quota_limit = r->daily_limit ? r->daily_limit(r->arg, name) : ctx->provider->daily_limit;
  if (!r->quota_state || ctx->quota_limit <= 0) {
    ctx->quota_limit = 0;
    return SP_OK;
  }
  int64_t used;
  int rc = sp_quota_used(r->quota_state, name, r->now_us, &used, err);
  if (rc) return rc;
  int64_t remaining = used < ctx->quota_limit ? ctx->quota_limit - used : 0;
  if (r->window) { /* backfill: what is left beyond the live rounds' reserve, no rotation */
    ctx->quota_budget = sp_quota_backfill_budget(ctx->quota_limit, used, r->quota_reserve_percent);
    ctx->quota_exhausted = ctx->quota_budget == 0;
    return SP_OK;
  }
  ctx->quota_budget = sp_quota_round_budget(remaining, r->rounds_left_today ? r->rounds_left_today(r->arg, name) : 0);
  ctx->quota_exhausted = remaining == 0;
  if (!(ctx->provider->per_ticker & SP_SOURCE_DATASET_BIT(r->ds->id)) || r->ntickers == 0) return SP_OK;
  size_t n = r->ntickers, take = 0, wanted = 0;
  const char *owner = r->source_name ? r->source_name : r->ds->name;
  sp_buf last = SP_BUF_INIT;
  bool found;
  rc = sp_quota_get_cursor(r->quota_state, name, owner, &last, &found, err);
  size_t start = sp_quota_rotation_start(r->tickers, n, found ? (const char *)last.data : NULL);
  sp_buf_free(&last);
  if (rc) return rc;
  *list = malloc(n * sizeof **list);
  if (!*list) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t k = 0; k < n; k++) {
    const char *ticker = r->tickers[(start + k) % n];
    if (r->ds->id == SP_DS_FINANCIAL_DATA && sp_source_fundamentals_fresh(ctx, ticker))
      continue; /* nothing to fetch today: neither served nor deferred */
    wanted++;
    if ((int64_t)take < ctx->quota_budget) (*list)[take++] = ticker;
  }
  *own = *r;
  own->tickers = *list;
  own->ntickers = take;
  ctx->round = own;
  ctx->report->deferred_tickers = (int)(wanted - take);
  return take ? sp_quota_put_cursor(r->quota_state, name, owner, (*list)[take - 1], err) : SP_OK;
}

/* After the round: what is left today, the metrics, and one warning when anything
 * was deferred (by a live round). */
static void quota_finish(sp_source_ctx *ctx) {
  if (ctx->quota_limit <= 0) return;
  sp_source_provider_report *rep = ctx->report;
  const char *name = ctx->provider->name;
  int64_t used = ctx->quota_limit;
  sp_error e;
  if (sp_quota_used(ctx->round->quota_state, name, ctx->round->now_us, &used, &e))
    SP_ERROR(name, "daily quota: %s", e.msg);
  rep->quota_remaining = used < ctx->quota_limit ? ctx->quota_limit - used : 0;
  long deferred = (long)rep->deferred + rep->deferred_tickers;
  sp_metrics_record_quota(name, (uint64_t)deferred, rep->quota_remaining);
  if (deferred == 0 || ctx->round->window) return; /* a backfill says why it stops itself */
  char what[96];
  if (rep->deferred_tickers && rep->deferred)
    snprintf(what, sizeof what, "%d ticker(s) and %d request(s)", rep->deferred_tickers, rep->deferred);
  else if (rep->deferred_tickers)
    snprintf(what, sizeof what, "%d ticker(s)", rep->deferred_tickers);
  else
    snprintf(what, sizeof what, "%d request(s)", rep->deferred);
  if (rep->quota_remaining == 0 || ctx->quota_exhausted)
    SP_WARN("quota", "%s: daily quota of %lld requests used; %s deferred to the next UTC day", name,
            (long long)ctx->quota_limit, what);
  else
    SP_WARN("quota", "%s: this round's share of the daily quota used (%lld of %lld left today); %s deferred to later rounds",
            name, (long long)rep->quota_remaining, (long long)ctx->quota_limit, what);
}

static const char *const browser_headers[] = {
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Accept: application/json,text/plain,*/*", "Accept-Language: en-US,en;q=0.9", NULL};
static const char *const json_headers[] = {"Accept: application/json", NULL};
static const char *const feed_headers[] = {
    "Accept: application/rss+xml,application/xml,text/xml,text/html;q=0.9,*/*;q=0.8", NULL};

int sp_source_submit(sp_source_ctx *ctx, const char *path,
                     int (*classify)(const sp_http_response *resp, void *arg),
                     sp_source_response_fn on_response, const void *data, size_t size,
                     sp_error *err) {
  return sp_source_submit_with_fallback(ctx, path, classify, on_response, NULL, data, size, err);
}

int sp_source_submit_with_fallback(sp_source_ctx *ctx, const char *path,
                                   int (*classify)(const sp_http_response *resp, void *arg),
                                   sp_source_response_fn on_response,
                                   sp_source_failure_fn on_failure, const void *data,
                                   size_t size, sp_error *err) {
  if (ctx->quota_limit > 0 && (ctx->quota_exhausted || ctx->quota_budget <= 0)) {
    ctx->report->deferred++; /* over the daily quota: not queued (see quota_before_attempt) */
    return SP_OK;
  }
  pending_request *p = malloc(sizeof *p + size);
  if (!p) return sp_error_set(err, SP_ERR_NOMEM, "out of memory queueing %s", path);
  p->ctx = ctx;
  p->on_response = on_response;
  p->on_failure = on_failure;
  p->deferred = false;
  p->size = size;
  if (size) memcpy(p->data, data, size);
  const char *name = ctx->provider->name;
  sp_http_request req = {
      .provider = name,
      .path = path,
      .headers = strcmp(name, "yahoo") == 0        ? browser_headers
                 : strcmp(name, "fedreserve") == 0 ? feed_headers
                                                   : json_headers,
      .classify = classify,
      .before_attempt = ctx->quota_limit > 0 ? quota_before_attempt : NULL,
      .done = request_done,
      .arg = p,
  };
  ctx->report->requests++;
  int rc = ctx->transport->submit(ctx->transport->impl, &req, err);
  if (rc != SP_OK) {
    request_failed(p, path, 0, NULL, 0, err);
    free(p);
  }
  return rc;
}

/* ---- fundamentals cache and the financial_data merge ------------------------------- */

#define FUNDAMENTALS_TTL_US (INT64_C(86400) * SP_US_PER_SEC)
#define FUNDAMENTALS_MAX_AGE_US (7 * INT64_C(86400) * SP_US_PER_SEC)

static const char *const fundamental_columns[] = {"market_cap", "pe_ratio",    "eps",
                                                  "dividend_yield", "week52_high", "week52_low"};
#define NFUNDAMENTALS (sizeof fundamental_columns / sizeof fundamental_columns[0])

typedef struct cache_entry {
  char provider[32];
  char *ticker;
  int64_t fetched_at;
  sp_row values; /* financial_data row with only the fundamental columns set */
} cache_entry;

struct sp_source_cache {
  cache_entry *entries;
  size_t count, cap;
};

int sp_source_cache_new(sp_source_cache **out) {
  *out = calloc(1, sizeof **out);
  return *out ? SP_OK : SP_ERR_NOMEM;
}

void sp_source_cache_free(sp_source_cache *cache) {
  if (!cache) return;
  for (size_t i = 0; i < cache->count; i++) {
    free(cache->entries[i].ticker);
    sp_row_clear(&cache->entries[i].values);
  }
  free(cache->entries);
  free(cache);
}

static cache_entry *cache_find(const sp_source_cache *cache, const char *provider,
                               const char *ticker) {
  for (size_t i = 0; cache && i < cache->count; i++)
    if (strcmp(cache->entries[i].provider, provider) == 0 &&
        strcmp(cache->entries[i].ticker, ticker) == 0)
      return &cache->entries[i];
  return NULL;
}

typedef struct held_quote {
  sp_row row;
  char *request;
  sp_source_provider_report *report;
} held_quote;

struct sp_source_quote_merge {
  sp_source_cache *cache;
  held_quote *quotes;
  size_t count, cap;
};

bool sp_source_fundamentals_fresh(const sp_source_ctx *ctx, const char *ticker) {
  const cache_entry *e = ctx->merge ? cache_find(ctx->merge->cache, ctx->provider->name, ticker)
                                    : NULL;
  return e && ctx->round->now_us - e->fetched_at < FUNDAMENTALS_TTL_US;
}

int sp_source_put_fundamentals(sp_source_ctx *ctx, const sp_row *partial) {
  const char *ticker = row_str(partial, "ticker");
  if (!ctx->merge || !ticker) return SP_ERR_INVALID;
  sp_source_cache *cache = ctx->merge->cache;
  cache_entry *e = cache_find(cache, ctx->provider->name, ticker);
  if (!e) {
    if (SP_ARRAY_RESERVE(cache->entries, cache->cap, cache->count + 1, 16)) return SP_ERR_NOMEM;
    e = &cache->entries[cache->count];
    memset(e, 0, sizeof *e);
    snprintf(e->provider, sizeof e->provider, "%s", ctx->provider->name);
    e->ticker = strdup(ticker);
    if (!e->ticker || sp_row_init(&e->values, partial->ds) != SP_OK) {
      free(e->ticker);
      return SP_ERR_NOMEM;
    }
    cache->count++;
  }
  e->fetched_at = ctx->round->now_us;
  sp_row_reset(&e->values);
  for (size_t i = 0; i < NFUNDAMENTALS; i++) {
    int col = sp_row_col(partial, fundamental_columns[i]);
    e->values.values[col] = partial->values[col]; /* numeric: plain copy */
  }
  return SP_OK;
}

/* Fill the null fundamentals of `quote` from the cache, providers in round order. */
static void merge_fundamentals(const sp_source_round *round, sp_source_cache *cache,
                               sp_row *quote) {
  const char *ticker = row_str(quote, "ticker");
  for (size_t p = 0; p < round->nproviders; p++) {
    const cache_entry *e = cache_find(cache, round->providers[p], ticker);
    if (!e || round->now_us - e->fetched_at > FUNDAMENTALS_MAX_AGE_US) continue;
    for (size_t i = 0; i < NFUNDAMENTALS; i++) {
      int col = sp_row_col(quote, fundamental_columns[i]);
      if (quote->values[col].is_null && !e->values.values[col].is_null)
        quote->values[col] = e->values.values[col];
    }
  }
}

static int hold_quote(sp_source_ctx *ctx, const sp_row *row, const char *request) {
  struct sp_source_quote_merge *m = ctx->merge;
  if (SP_ARRAY_RESERVE(m->quotes, m->cap, m->count + 1, 16)) return SP_ERR_NOMEM;
  held_quote *h = &m->quotes[m->count];
  h->request = strdup(request ? request : "");
  if (!h->request) return SP_ERR_NOMEM;
  if (sp_row_copy(&h->row, row) != SP_OK) {
    free(h->request);
    return SP_ERR_NOMEM;
  }
  h->report = ctx->report;
  m->count++;
  return SP_OK;
}

/* ---- row builders -------------------------------------------------------------------- */

int sp_source_macro_row(sp_row *row, const char *indicator, const char *series_id,
                        int32_t observation_date, double value, const char *unit,
                        const char *frequency) {
  sp_row_reset(row);
  int rc = sp_row_set_cstr(row, sp_row_col(row, "indicator"), indicator);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "series_id"), series_id);
  if (!rc) rc = sp_row_set_i32(row, sp_row_col(row, "observation_date"), observation_date);
  if (!rc) rc = sp_row_set_double(row, sp_row_col(row, "value"), value);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "unit"), unit);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "frequency"), frequency);
  return rc;
}

int sp_source_policy_row(sp_row *row, const char *provider, const char *event_type,
                         const char *natural_id, int64_t event_time, const char *title,
                         const char *summary, const char *url, double value,
                         const char *details) {
  sp_row_reset(row);
  sp_buf id_text = SP_BUF_INIT;
  if (sp_buf_printf(&id_text, "%s:%s", provider, natural_id) != 0) return SP_ERR_NOMEM;
  char id[SP_SHA256_HEX_LEN + 1];
  sp_sha256_hex(id_text.data, id_text.len, id);
  sp_buf_free(&id_text);
  int rc = sp_row_set_cstr(row, sp_row_col(row, "event_id"), id);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "event_type"), event_type);
  if (!rc) rc = sp_row_set_i64(row, sp_row_col(row, "event_time"), event_time);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "title"), title);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "summary"), summary);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "url"), url);
  if (!rc) rc = sp_row_set_double(row, sp_row_col(row, "value"), value);
  if (!rc) rc = sp_row_set_cstr(row, sp_row_col(row, "details"), details);
  return rc;
}

void sp_source_exchange_symbol(const char *yahoo_symbol, char *out, size_t cap) {
  snprintf(out, cap, "%s", yahoo_symbol);
  for (char *c = out; *c; c++)
    if (*c == '-') *c = '.';
}

int sp_source_emit_built(int build_rc, sp_row *row, sp_source_row_fn emit, void *arg,
                         sp_error *err) {
  if (build_rc != SP_OK) return sp_error_set(err, build_rc, "out of memory building a %s row", row->ds->name);
  return emit(arg, row, err);
}

bool sp_source_wants(const sp_source_round *round, const char *name) {
  if (!round->series) return true;
  for (size_t i = 0; i < round->nseries; i++)
    if (strcmp(round->series[i], name) == 0) return true;
  return false;
}

/* ---- emission ------------------------------------------------------------------------ */

int sp_source_emit(sp_source_ctx *ctx, sp_row *row, const char *request, sp_error *err) {
  const sp_source_round *r = ctx->round;
  int rc = sp_row_set_cstr(row, sp_row_col(row, "provider"), ctx->provider->name);
  if (rc == SP_OK) rc = sp_row_set_i64(row, sp_row_col(row, "collected_at"), r->now_us);
  if (rc != SP_OK) return sp_error_set(err, rc, "building a %s row", row->ds->name);
  char key[SP_SOURCE_KEY_MAX];
  int64_t value, mark;
  if (sp_source_row_watermark(row, key, &value) != SP_OK)
    return sp_error_set(err, SP_ERR_INVALID, "%s row without its key columns", row->ds->name);
  if (r->window ? value < r->window->start_us || value >= r->window->end_us
                : sp_source_watermark(ctx, key, &mark) && value <= mark)
    return SP_OK;
  if (sp_source_row_identity(row, key) == SP_OK && sp_source_watermark(ctx, key, &mark))
    return SP_OK; /* this article and ticker were stored already (maybe by another provider) */
  if (ctx->news_seen) { /* news (article, ticker) and policy events: once per round */
    bool fresh;
    bool news = row->ds->id == SP_DS_NEWS;
    rc = sp_news_seen_add(ctx->news_seen, row_str(row, news ? "article_id" : "event_id"),
                          news ? row_str(row, "ticker") : "", &fresh);
    if (rc != SP_OK) return sp_error_set(err, rc, "out of memory");
    if (!fresh) return SP_OK;
  }
  if (row->ds->id == SP_DS_FINANCIAL_DATA && ctx->merge) {
    rc = hold_quote(ctx, row, request);
    return rc == SP_OK ? SP_OK : sp_error_set(err, rc, "out of memory");
  }
  rc = r->emit(r->arg, row, request, err);
  if (rc != SP_OK) return rc;
  ctx->report->rows++;
  return SP_OK;
}

int sp_source_emit_to_target(void *target, sp_row *row, sp_error *err) {
  sp_source_emit_target *t = target;
  return sp_source_emit(t->ctx, row, t->request, err);
}

int sp_source_reject(sp_source_ctx *ctx, const sp_source_bad_item *item, const char *request, sp_error *err) {
  const sp_source_round *r = ctx->round;
  sp_row row;
  int rc = item->row ? sp_row_copy(&row, item->row) : sp_row_init(&row, r->ds);
  if (rc != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  char *printed = item->json ? cJSON_PrintUnformatted(item->json) : NULL;
  const char *raw = printed ? printed : item->text;
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "provider"), ctx->provider->name);
  if (rc == SP_OK) rc = sp_row_set_i64(&row, sp_row_col(&row, "collected_at"), r->now_us);
  if (rc != SP_OK || (item->json && !printed)) {
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  } else if (r->reject) {
    rc = r->reject(r->arg, &row, item->rule, item->detail, raw, request, err);
  } else {
    SP_WARN(ctx->provider->name, "%s item rejected by rule %s (%s), not quarantined (no quarantine in this round): %.300s",
            r->ds->name, item->rule, item->detail ? item->detail : "", raw ? raw : "");
  }
  cJSON_free(printed);
  sp_row_clear(&row);
  return rc;
}

int sp_source_reject_to_target(void *target, const sp_source_bad_item *item, sp_error *err) {
  sp_source_emit_target *t = target;
  return sp_source_reject(t->ctx, item, t->request, err);
}

void sp_source_count_skip(const char *provider, const char *reason, const char *what) {
  if (sp_metrics_record_item_skipped(provider, reason) != SP_OK)
    SP_WARN(provider, "out of memory counting a skipped item (%s)", reason);
  SP_DEBUG(provider, "item skipped (%s): %s", reason, what ? what : "");
}

/* After the round's requests: merge fundamentals into held quotes and emit them. */
static void flush_quotes(const sp_source_round *round, struct sp_source_quote_merge *m) {
  for (size_t i = 0; i < m->count; i++) {
    held_quote *h = &m->quotes[i];
    merge_fundamentals(round, m->cache, &h->row);
    sp_error e;
    sp_error_clear(&e);
    if (round->emit(round->arg, &h->row, h->request, &e) == SP_OK) {
      h->report->rows++;
    } else {
      h->report->failures++;
      h->report->status = SP_SOURCE_FAILED;
      if (h->report->first_error.code == SP_OK) h->report->first_error = e;
      SP_ERROR(h->report->provider, "storing a quote from %s: %s", h->request, e.msg);
    }
    /* merged fundamentals were shallow copies of numeric values: nothing to free */
    sp_row_clear(&h->row);
    free(h->request);
  }
  free(m->quotes);
  m->quotes = NULL;
  m->count = m->cap = 0;
}

/* ---- the round ------------------------------------------------------------------------ */

static void warn_disabled_once(const sp_source_provider *p) {
  static bool warned[NPROVIDERS];
  for (size_t i = 0; i < NPROVIDERS; i++)
    if (provider_table[i] == p && !__atomic_exchange_n(&warned[i], true, __ATOMIC_RELAXED))
      SP_WARN(p->name,
              "disabled: no %s configured (credentials.json or its STOCKPIPE_*_KEY variable)",
              p->credential);
}

int sp_source_collect(const sp_source_transport *transport, const sp_source_round *round,
                      sp_source_report *report, sp_error *err) {
  memset(report, 0, sizeof *report);
  if (!round->ds || !round->emit || round->nproviders > SP_SOURCE_MAX_PROVIDERS)
    return sp_error_set(err, SP_ERR_INVALID, "source round: no dataset, no emit, or more than %d providers",
                        SP_SOURCE_MAX_PROVIDERS);
  sp_source_cache *own_cache = NULL;
  struct sp_source_quote_merge merge = {0};
  struct sp_source_news_seen *seen = NULL;
  if (round->ds->id == SP_DS_FINANCIAL_DATA) {
    merge.cache = round->cache;
    if (!merge.cache) {
      if (sp_source_cache_new(&own_cache) != SP_OK)
        return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      merge.cache = own_cache;
    }
  }
  if ((round->ds->id == SP_DS_NEWS || round->ds->id == SP_DS_POLICY) &&
      sp_news_seen_new(&seen) != SP_OK) {
    sp_source_cache_free(own_cache);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }

  sp_source_ctx ctxs[SP_SOURCE_MAX_PROVIDERS];
  sp_source_round quota_rounds[SP_SOURCE_MAX_PROVIDERS];       /* per_ticker providers' rotated rounds */
  const char **quota_tickers[SP_SOURCE_MAX_PROVIDERS] = {NULL}; /* their ticker lists */
  report->nproviders = (int)round->nproviders;
  for (size_t i = 0; i < round->nproviders; i++) {
    sp_source_provider_report *rep = &report->providers[i];
    snprintf(rep->provider, sizeof rep->provider, "%s", round->providers[i]);
    rep->quota_remaining = -1;
    const sp_source_provider *p = sp_source_find(round->providers[i]);
    ctxs[i] = (sp_source_ctx){.round = round, .provider = p, .transport = transport,
                              .report = rep, .news_seen = seen,
                              .merge = merge.cache ? &merge : NULL};
    if (!p || !(p->datasets & SP_SOURCE_DATASET_BIT(round->ds->id))) {
      rep->status = SP_SOURCE_UNKNOWN;
      sp_error_set(&rep->first_error, SP_ERR_CONFIG, "%s: not a provider of %s",
                   round->providers[i], round->ds->name);
      SP_ERROR("source", "%s", rep->first_error.msg);
      continue;
    }
    char why[256];
    sp_source_history history;
    if (round->window && !sp_source_serves_history(p, round->ds, round->bar_interval, &history, why, sizeof why)) {
      rep->status = SP_SOURCE_DISABLED; /* the caller said so once (cmd_backfill) */
      SP_DEBUG("source", "%s: no history of %s: %s", p->name, round->ds->name, why);
      continue;
    }
    if (round->window && history.max_age_us > 0 && round->window->start_us < round->now_us - history.max_age_us) {
      rep->status = SP_SOURCE_DISABLED; /* older than it keeps: the other providers serve this window */
      continue;
    }
    if (p->credential) {
      const char *key = round->credential ? round->credential(round->arg, p->credential) : NULL;
      if (!key || !*key) {
        rep->status = SP_SOURCE_DISABLED;
        warn_disabled_once(p);
        continue;
      }
      sp_log_add_secret(key);
      ctxs[i].api_key = key;
    }
    sp_error e;
    sp_error_clear(&e);
    if (quota_start(&ctxs[i], &quota_rounds[i], &quota_tickers[i], &e) != SP_OK) {
      sp_source_fail(&ctxs[i], NULL, 0, NULL, 0, &e);
      continue;
    }
    if (p->collect(&ctxs[i], &e) != SP_OK && rep->failures == 0)
      sp_source_fail(&ctxs[i], NULL, 0, NULL, 0, &e);
  }

  sp_error run_err;
  sp_error_clear(&run_err);
  int run_rc = transport->run(transport->impl, round->stop, &run_err);
  if (merge.cache) flush_quotes(round, &merge);
  for (size_t i = 0; i < round->nproviders; i++) {
    if (ctxs[i].provider && ctxs[i].quota_limit > 0) quota_finish(&ctxs[i]);
    free(quota_tickers[i]);
  }
  sp_news_seen_free(seen);
  sp_source_cache_free(own_cache);

  int failed = 0, first = -1;
  for (int i = 0; i < report->nproviders; i++) {
    report->rows += report->providers[i].rows;
    sp_source_status s = report->providers[i].status;
    if (s == SP_SOURCE_FAILED || s == SP_SOURCE_UNKNOWN) {
      failed++;
      if (first < 0) first = i;
    }
  }
  if (run_rc != SP_OK) {
    if (err) *err = run_err;
    return run_rc;
  }
  if (failed)
    return sp_error_set(err, report->providers[first].first_error.code ? report->providers[first].first_error.code : SP_ERR_HTTP,
                        "%s: %d of %d providers failed; first: %s", round->ds->name, failed,
                        report->nproviders, report->providers[first].first_error.msg);
  return SP_OK;
}
