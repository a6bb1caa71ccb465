/*
 * finnhub.c — Finnhub, finnhub.io (key `finnhub_api_key`).
 *
 *   GET /api/v1/company-news?symbol=S&from=YYYY-MM-DD&to=YYYY-MM-DD&token=K   news
 *   GET /api/v1/stock/metric?symbol=S&metric=all&token=K                      fundamentals
 *   GET /api/v1/quote?symbol=S&token=K        (parser only; quotes come from Yahoo)
 *
 * News is fetched over a rolling window that starts at the stored watermark's date
 * for (finnhub, ticker) — or `initial_history_days` (default 7) before now on the
 * first round — and ends today: never a fixed year.  The free tier allows 60 calls a
 * minute.
 */
#include "sources/finnhub.h"

#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINNHUB_NEWS_DAYS 7

static const sp_shape_field news_fields[] = {
    {"[*].url", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"[*].headline", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"[*].datetime", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"[*].summary", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"[*].source", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"[*].related", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    /* an item's other members: any further one is a new field */
    {"[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"[*].category", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"[*].id", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {"[*].image", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_finnhub_news_shape = SP_SHAPE_SPEC("finnhub", "company-news", news_fields);

/* "metric":{} for an unknown symbol; each value has alternatives (first_number below),
 * so only the ones always sent are required to be there. */
static const sp_shape_field metric_fields[] = {
    {"metric", SP_SHAPE_OBJECT, SP_SHAPE_REQUIRED, NULL},
    {"metric.marketCapitalization", SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, "metric"},
    {"metric.52WeekHigh", SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, "metric"},
    {"metric.52WeekLow", SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, "metric"},
    {"metric.peTTM", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {"metric.epsTTM", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {"metric.dividendYieldIndicatedAnnual", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
};
const sp_shape_spec sp_finnhub_metric_shape = SP_SHAPE_SPEC("finnhub", "stock/metric", metric_fields);

static int parse_body(const char *body, size_t len, const char *what, cJSON **root, sp_error *err) {
  int rc = sp_json_parse(body, len, what, root, err);
  if (rc != SP_OK) return rc;
  const char *error = sp_json_string(*root, "error");
  if (!error) return SP_OK;
  rc = sp_error_set(err, SP_ERR_HTTP, "%s: %s", what, error);
  cJSON_Delete(*root);
  *root = NULL;
  return rc;
}

static bool finnhub_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  const char *error = sp_json_string(root, "error");
  if (error) snprintf(out, outlen, "%s", error);
  cJSON_Delete(root);
  return error != NULL;
}

int sp_finnhub_parse_company_news(const char *body, size_t len, sp_news_article_fn fn, void *arg,
                                  sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "finnhub company-news", &root, err);
  if (rc != SP_OK) return rc;
  if (!cJSON_IsArray(root)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "finnhub company-news: response is not an array");
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    double when;
    sp_news_article a = {.url = sp_json_string(item, "url"),
                         .headline = sp_json_string(item, "headline"),
                         .summary = sp_json_string(item, "summary"),
                         .publisher = sp_json_string(item, "source")};
    a.raw = item;
    if (!sp_json_number(item, "datetime", &when) || when <= 0 || !sp_source_unix_seconds(when, &a.published_at))
      sp_news_unreadable(&a, item, "datetime");
    if (a.summary && !*a.summary) a.summary = NULL;
    if (a.publisher && !*a.publisher) a.publisher = NULL;
    /* related: "AAPL" or "AAPL,MSFT" — split into a copy */
    char related[512];
    snprintf(related, sizeof related, "%s", sp_json_string(item, "related") ? sp_json_string(item, "related") : "");
    char *save = NULL;
    for (char *t = strtok_r(related, ", ", &save); t && a.ntickers < SP_NEWS_MAX_TICKERS;
         t = strtok_r(NULL, ", ", &save)) {
      a.tickers[a.ntickers] = t;
      a.provider_sentiment[a.ntickers++] = NAN;
    }
    if ((rc = fn(arg, &a, err)) != SP_OK) break;
  }
  cJSON_Delete(root);
  return rc;
}

int sp_finnhub_parse_quote(const char *body, size_t len, const char *ticker,
                           sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "finnhub quote", &root, err);
  if (rc != SP_OK) return rc;
  double price, t;
  int64_t quote_time;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "finnhub quote %s: not an object", ticker);
  }
  if (!sp_json_number(root, "c", &price) || !sp_json_number(root, "t", &t) || t <= 0 ||
      !sp_source_unix_seconds(t, &quote_time)) {
    cJSON_Delete(root); /* unknown symbol: all zeros */
    return SP_OK;
  }
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA)) != SP_OK) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  double v;
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), ticker);
  if (!rc) rc = sp_row_set_i64(&row, sp_row_col(&row, "quote_time"), quote_time);
  if (!rc) rc = sp_row_set_double(&row, sp_row_col(&row, "price"), price);
  if (!rc && sp_json_number(root, "o", &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "open"), v);
  if (!rc && sp_json_number(root, "h", &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "high"), v);
  if (!rc && sp_json_number(root, "l", &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "low"), v);
  if (!rc && sp_json_number(root, "pc", &v))
    rc = sp_row_set_double(&row, sp_row_col(&row, "previous_close"), v);
  rc = rc ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : emit(arg, &row, err);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* The first of `names` present in `obj`. */
static bool first_number(const cJSON *obj, const char *const *names, double *v) {
  for (; *names; names++)
    if (sp_json_number(obj, *names, v)) return true;
  return false;
}

int sp_finnhub_parse_metric(const char *body, size_t len, const char *ticker,
                            sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "finnhub stock/metric", &root, err);
  if (rc != SP_OK) return rc;
  const cJSON *metric = cJSON_GetObjectItemCaseSensitive(root, "metric");
  if (!cJSON_IsObject(metric)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "finnhub stock/metric %s: no metric object", ticker);
  }
  if (!metric->child) {
    cJSON_Delete(root);
    return SP_OK;
  }
  static const char *const pe[] = {"peTTM", "peBasicExclExtraTTM", "peExclExtraTTM", NULL};
  static const char *const eps[] = {"epsTTM", "epsBasicExclExtraItemsTTM", "epsExclExtraItemsTTM", NULL};
  static const char *const dy[] = {"dividendYieldIndicatedAnnual", "currentDividendYieldTTM", NULL};
  static const char *const cap[] = {"marketCapitalization", NULL};
  static const char *const hi[] = {"52WeekHigh", NULL};
  static const char *const lo[] = {"52WeekLow", NULL};
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA)) != SP_OK) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  double v;
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), ticker);
  if (!rc && first_number(metric, cap, &v))
    rc = sp_row_set_i64(&row, sp_row_col(&row, "market_cap"), (int64_t)llround(v * 1e6));
  if (!rc && first_number(metric, pe, &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "pe_ratio"), v);
  if (!rc && first_number(metric, eps, &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "eps"), v);
  if (!rc && first_number(metric, dy, &v))
    rc = sp_row_set_double(&row, sp_row_col(&row, "dividend_yield"), v / 100.0);
  if (!rc && first_number(metric, hi, &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "week52_high"), v);
  if (!rc && first_number(metric, lo, &v)) rc = sp_row_set_double(&row, sp_row_col(&row, "week52_low"), v);
  rc = rc ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : emit(arg, &row, err);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct finnhub_request {
  char ticker[32];
} finnhub_request;

static int on_news(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  finnhub_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_finnhub_news_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_news_target t = {ctx, r->ticker, resp->url};
  return sp_finnhub_parse_company_news((const char *)resp->body.data, resp->body.len, sp_news_emit_to_target,
                                       &t, err);
}

static int put_fundamentals(void *arg, sp_row *row, sp_error *err) {
  int rc = sp_source_put_fundamentals(arg, row);
  return rc == SP_OK ? SP_OK : sp_error_set(err, rc, "storing fundamentals");
}

static int on_metric(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  finnhub_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_finnhub_metric_shape, resp, err);
  if (rc != SP_OK) return rc;
  return sp_finnhub_parse_metric((const char *)resp->body.data, resp->body.len, r->ticker,
                                 put_fundamentals, ctx, err);
}

static int finnhub_collect(sp_source_ctx *ctx, sp_error *err) {
  const sp_source_round *round = ctx->round;
  bool news = round->ds->id == SP_DS_NEWS;
  int32_t today = sp_timestamp_to_days(round->now_us);
  int days = round->initial_history_days > 0 ? round->initial_history_days : FINNHUB_NEWS_DAYS;
  char path[512], from[SP_DATE_TEXT_MAX], to[SP_DATE_TEXT_MAX];
  sp_format_date(today, to);
  int rc = SP_OK;
  for (size_t i = 0; i < round->ntickers && rc != SP_ERR_NOMEM; i++) {
    finnhub_request r;
    snprintf(r.ticker, sizeof r.ticker, "%s", round->tickers[i]);
    char symbol[32];
    sp_source_exchange_symbol(r.ticker, symbol, sizeof symbol);
    if (news) {
      char key[SP_SOURCE_KEY_MAX];
      int64_t mark;
      snprintf(key, sizeof key, "news/finnhub/%s", r.ticker);
      if (round->window) { /* backfill: the window's days (`to` is inclusive) */
        sp_format_date(sp_timestamp_to_days(round->window->start_us), from);
        sp_format_date(sp_timestamp_to_days(round->window->end_us - 1), to);
      } else {
        sp_format_date(sp_source_watermark(ctx, key, &mark) ? sp_timestamp_to_days(mark) : today - days, from);
      }
      snprintf(path, sizeof path, "/api/v1/company-news?symbol=%s&from=%s&to=%s&token=%s", symbol,
               from, to, ctx->api_key);
      rc = sp_source_submit(ctx, path, NULL, on_news, &r, sizeof r, err);
    } else {
      if (sp_source_fundamentals_fresh(ctx, r.ticker)) continue;
      snprintf(path, sizeof path, "/api/v1/stock/metric?symbol=%s&metric=all&token=%s", symbol,
               ctx->api_key);
      rc = sp_source_submit(ctx, path, NULL, on_metric, &r, sizeof r, err);
    }
  }
  return rc == SP_ERR_NOMEM ? rc : SP_OK;
}

/* Backfill: company news by date range (from/to days); the free plan keeps a year of
 * it.  Fundamentals (metrics) are the current values only. */
static bool finnhub_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                            size_t whylen) {
  (void)interval;
  if (ds->id != SP_DS_NEWS) {
    snprintf(why, whylen, "its %s fundamentals are the current values, not past ones", ds->name);
    return false;
  }
  out->max_span_us = 30 * SP_US_PER_DAY;
  out->max_age_us = 365 * SP_US_PER_DAY;
  return true;
}

const sp_source_provider sp_source_finnhub = {
    .name = "finnhub",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_FINANCIAL_DATA) | SP_SOURCE_DATASET_BIT(SP_DS_NEWS),
    .credential = "finnhub_api_key",
    .http = {.name = "finnhub",
             .base_url = "https://finnhub.io",
             .rate_limit = 1, /* free tier: 60 calls per minute */
             .burst = 5,
             .max_in_flight = 2,
             .timeout_ms = 30000},
    .per_ticker = SP_SOURCE_DATASET_BIT(SP_DS_FINANCIAL_DATA) | SP_SOURCE_DATASET_BIT(SP_DS_NEWS),
    .collect = finnhub_collect,
    .explain_error = finnhub_explain_error,
    .history = finnhub_history,
};
