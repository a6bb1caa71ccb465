/*
 * alphavantage.c — Alpha Vantage, www.alphavantage.co (key `alpha_vantage_key`).
 *
 *   GET /query?function=OVERVIEW&symbol=S&apikey=K             fundamentals (financial_data)
 *   GET /query?function=NEWS_SENTIMENT&time_from=..&limit=1000&sort=LATEST&apikey=K   news
 *   GET /query?function=TREASURY_YIELD&interval=daily&maturity=10year&apikey=K       macro
 *   (GLOBAL_QUOTE has a parser; quotes come from Yahoo in a round.)
 *
 * Errors come as HTTP 200 bodies with "Note" / "Information" / "Error Message": the
 * classify hook turns them into rate-limit (retried by the HTTP client), daily-limit
 * (SP_ERR_QUOTA: not retried, the day's quota is used up) or request errors.  One
 * request in flight; per-minute rate-limit notes are retried after 15-60 s;
 * fundamentals are fetched at most daily per ticker (the round's cache).
 */
#include "sources/alphavantage.h"

#include "core/market_calendar.h"
#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AV_NEWS_LOOKBACK_DAYS 3
#define AV_NEWS_LIMIT 1000

/* Alpha Vantage quotes every number as a string.  OVERVIEW of an unknown symbol is {}. */
static const sp_shape_field overview_fields[] = {
    {"MarketCapitalization", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
    {"PERatio", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
    {"EPS", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
    {"DividendYield", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
    {"52WeekHigh", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
    {"52WeekLow", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, ""},
};
const sp_shape_spec sp_alphavantage_overview_shape = SP_SHAPE_SPEC("alphavantage", "overview", overview_fields);

static const sp_shape_field news_fields[] = {
    {"feed", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].url", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].title", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].time_published", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].summary", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"feed[*].source", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"feed[*].ticker_sentiment", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].ticker_sentiment[*].ticker", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"feed[*].ticker_sentiment[*].ticker_sentiment_score", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    /* the other members of an item and of its ticker entries: any further one is a new field */
    {"feed[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"feed[*].authors", SP_SHAPE_ARRAY, SP_SHAPE_KNOWN, NULL},
    {"feed[*].banner_image", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"feed[*].category_within_source", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"feed[*].source_domain", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"feed[*].topics", SP_SHAPE_ARRAY, SP_SHAPE_KNOWN, NULL},
    {"feed[*].overall_sentiment_score", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {"feed[*].overall_sentiment_label", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"feed[*].ticker_sentiment[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"feed[*].ticker_sentiment[*].relevance_score", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"feed[*].ticker_sentiment[*].ticker_sentiment_label", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_alphavantage_news_shape = SP_SHAPE_SPEC("alphavantage", "news_sentiment", news_fields);

static const sp_shape_field treasury_fields[] = {
    {"interval", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"data", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"data[*].date", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"data[*].value", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"data[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL}, /* date and value only */
};
const sp_shape_spec sp_alphavantage_treasury_shape = SP_SHAPE_SPEC("alphavantage", "treasury_yield", treasury_fields);

/* The error text of an error body and its code in *code: SP_ERR_QUOTA for the daily
 * limit ("25 requests per day": not retried today, core/quota.h), SP_ERR_RATE_LIMIT for
 * per-minute notes (retried), SP_ERR_HTTP for the rest; NULL if none. */
static const char *error_text(const cJSON *root, int *code) {
  const char *note = sp_json_string(root, "Note");
  const char *info = sp_json_string(root, "Information");
  const char *error = sp_json_string(root, "Error Message");
  const char *text = note ? note : info;
  *code = SP_ERR_HTTP;
  if (text && strcasestr(text, "per day") && !strcasestr(text, "per minute")) /* the old note named both */
    *code = SP_ERR_QUOTA;
  else if (note || (info && (strcasestr(info, "rate limit") || strcasestr(info, "call frequency") ||
                             strcasestr(info, "per minute"))))
    *code = SP_ERR_RATE_LIMIT;
  return text ? text : error;
}

/* Cheap pre-check: error bodies are small objects naming one of the keys early. */
static bool may_be_error_body(const char *body, size_t len) {
  size_t n = len < 512 ? len : 512;
  return memmem(body, n, "\"Note\"", 6) || memmem(body, n, "\"Information\"", 13) ||
         memmem(body, n, "\"Error Message\"", 15);
}

int sp_alphavantage_classify(const sp_http_response *resp, void *arg) {
  (void)arg;
  const char *body = (const char *)resp->body.data;
  if (!body || !may_be_error_body(body, resp->body.len)) return SP_OK;
  cJSON *root = cJSON_ParseWithLength(body, resp->body.len);
  int code;
  const char *text = error_text(root, &code);
  cJSON_Delete(root);
  return text ? code : SP_OK;
}

bool sp_alphavantage_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  int code;
  const char *text = error_text(root, &code);
  if (text) snprintf(out, outlen, "%s", text);
  cJSON_Delete(root);
  return text != NULL;
}

/* Parse and reject error bodies (when a caller skipped classify, e.g. tests). */
static int parse_body(const char *body, size_t len, const char *what, cJSON **root, sp_error *err) {
  int rc = sp_json_parse(body, len, what, root, err);
  if (rc != SP_OK) return rc;
  int code;
  const char *text = error_text(*root, &code);
  if (!text) return SP_OK;
  rc = sp_error_set(err, code, "%s: %s", what, text);
  cJSON_Delete(*root);
  *root = NULL;
  return rc;
}

static int set_number(sp_row *row, const char *col, const cJSON *obj, const char *name) {
  double v;
  if (!sp_json_number(obj, name, &v)) return SP_OK;
  int i = sp_row_col(row, col);
  return row->ds->columns[i].type == SP_INT64 ? sp_row_set_i64(row, i, (int64_t)llround(v))
                                              : sp_row_set_double(row, i, v);
}

int sp_alphavantage_parse_overview(const char *body, size_t len, const char *ticker,
                                   sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "alphavantage OVERVIEW", &root, err);
  if (rc != SP_OK) return rc;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "alphavantage OVERVIEW %s: not an object", ticker);
  }
  if (!root->child) { /* {}: no overview for this symbol */
    cJSON_Delete(root);
    return SP_OK;
  }
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA)) != SP_OK) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), ticker);
  if (!rc) rc = set_number(&row, "market_cap", root, "MarketCapitalization");
  if (!rc) rc = set_number(&row, "pe_ratio", root, "PERatio");
  if (!rc) rc = set_number(&row, "eps", root, "EPS");
  if (!rc) rc = set_number(&row, "dividend_yield", root, "DividendYield");
  if (!rc) rc = set_number(&row, "week52_high", root, "52WeekHigh");
  if (!rc) rc = set_number(&row, "week52_low", root, "52WeekLow");
  rc = rc ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : emit(arg, &row, err);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

int sp_alphavantage_parse_global_quote(const char *body, size_t len, sp_source_row_fn emit,
                                       void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "alphavantage GLOBAL_QUOTE", &root, err);
  if (rc != SP_OK) return rc;
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "Global Quote");
  if (!cJSON_IsObject(q)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "alphavantage GLOBAL_QUOTE: no \"Global Quote\" object");
  }
  const char *symbol = sp_json_string(q, "01. symbol");
  const char *day_text = sp_json_string(q, "07. latest trading day");
  double price;
  int32_t day;
  if (!symbol || !day_text || !sp_json_number(q, "05. price", &price)) { /* empty quote */
    cJSON_Delete(root);
    return SP_OK;
  }
  if (sp_parse_date(day_text, &day) != SP_OK) {
    rc = sp_error_set(err, SP_ERR_PARSE, "alphavantage GLOBAL_QUOTE: bad trading day \"%.40s\"", day_text);
    cJSON_Delete(root);
    return rc;
  }
  int64_t close = sp_nyse_session_close_utc(day);
  if (close == SP_NYSE_NO_SESSION) close = sp_ny_local_to_utc(day, SP_NYSE_CLOSE_MINUTE);
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA)) != SP_OK) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), symbol);
  if (!rc) rc = sp_row_set_i64(&row, sp_row_col(&row, "quote_time"), close);
  if (!rc) rc = sp_row_set_double(&row, sp_row_col(&row, "price"), price);
  if (!rc) rc = set_number(&row, "open", q, "02. open");
  if (!rc) rc = set_number(&row, "high", q, "03. high");
  if (!rc) rc = set_number(&row, "low", q, "04. low");
  if (!rc) rc = set_number(&row, "volume", q, "06. volume");
  if (!rc) rc = set_number(&row, "previous_close", q, "08. previous close");
  rc = rc ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : emit(arg, &row, err);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* "20240410T013000" (seconds optional) as UTC. */
static bool parse_compact_time(const char *s, int64_t *us) {
  int y, mo, d, h, mi, sec = 0;
  if (!s || sscanf(s, "%4d%2d%2dT%2d%2d", &y, &mo, &d, &h, &mi) != 5) return false;
  if (strlen(s) >= 15) sec = (s[13] - '0') * 10 + (s[14] - '0');
  if (!sp_is_valid_date(y, (unsigned)mo, (unsigned)d) || h > 23 || mi > 59 || sec < 0 || sec > 60)
    return false;
  *us = ((int64_t)sp_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
         sec) * SP_US_PER_SEC;
  return true;
}

int sp_alphavantage_parse_news_sentiment(const char *body, size_t len, sp_news_article_fn fn,
                                         void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "alphavantage NEWS_SENTIMENT", &root, err);
  if (rc != SP_OK) return rc;
  const cJSON *feed = cJSON_GetObjectItemCaseSensitive(root, "feed");
  if (!cJSON_IsArray(feed)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "alphavantage NEWS_SENTIMENT: no feed array");
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, feed) {
    sp_news_article a = {.url = sp_json_string(item, "url"),
                         .headline = sp_json_string(item, "title"),
                         .summary = sp_json_string(item, "summary"),
                         .publisher = sp_json_string(item, "source")};
    a.raw = item;
    if (!parse_compact_time(sp_json_string(item, "time_published"), &a.published_at))
      sp_news_unreadable(&a, item, "time_published");
    if (a.summary && !*a.summary) a.summary = NULL;
    const cJSON *ts;
    cJSON_ArrayForEach(ts, cJSON_GetObjectItemCaseSensitive(item, "ticker_sentiment")) {
      const char *t = sp_json_string(ts, "ticker");
      if (!t || strchr(t, ':') || a.ntickers == SP_NEWS_MAX_TICKERS) continue;
      double score;
      a.tickers[a.ntickers] = t;
      a.provider_sentiment[a.ntickers++] =
          sp_json_number(ts, "ticker_sentiment_score", &score) ? score : NAN;
    }
    if ((rc = fn(arg, &a, err)) != SP_OK) break;
  }
  cJSON_Delete(root);
  return rc;
}

int sp_alphavantage_parse_treasury_yield(const char *body, size_t len, const char *maturity,
                                         sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = parse_body(body, len, "alphavantage TREASURY_YIELD", &root, err);
  if (rc != SP_OK) return rc;
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  const char *interval = sp_json_string(root, "interval");
  const char *freq = !interval                         ? NULL
                     : strcmp(interval, "daily") == 0   ? "d"
                     : strcmp(interval, "weekly") == 0  ? "w"
                     : strcmp(interval, "monthly") == 0 ? "m"
                                                        : NULL;
  if (!cJSON_IsArray(data) || !freq) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "alphavantage TREASURY_YIELD: no data array or unknown interval");
  }
  char series[48];
  snprintf(series, sizeof series, "TREASURY_YIELD:%s", maturity);
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_MACROECONOMIC)) != SP_OK) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  const cJSON *o;
  cJSON_ArrayForEach(o, data) {
    const char *date = sp_json_string(o, "date");
    int32_t day;
    double v;
    if (!date || sp_parse_date(date, &day) != SP_OK) {
      rc = sp_error_set(err, SP_ERR_PARSE, "alphavantage TREASURY_YIELD: bad date");
      break;
    }
    if (!sp_json_number(o, "value", &v)) v = NAN;
    if (sp_source_macro_row(&row, "interest_rate", series, day, v, "percent", freq) != SP_OK) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      break;
    }
    if ((rc = emit(arg, &row, err)) != SP_OK) break;
  }
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct av_request {
  char ticker[32];
} av_request;

static int put_fundamentals(void *arg, sp_row *row, sp_error *err) {
  int rc = sp_source_put_fundamentals(arg, row);
  return rc == SP_OK ? SP_OK : sp_error_set(err, rc, "storing fundamentals");
}

static int on_overview(sp_source_ctx *ctx, const sp_http_response *resp, void *data,
                       sp_error *err) {
  av_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_alphavantage_overview_shape, resp, err);
  if (rc != SP_OK) return rc;
  return sp_alphavantage_parse_overview((const char *)resp->body.data, resp->body.len, r->ticker,
                                        put_fundamentals, ctx, err);
}

static int on_news(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  (void)data;
  int rc = sp_source_check_shape(ctx, &sp_alphavantage_news_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_news_target t = {ctx, NULL, resp->url};
  return sp_alphavantage_parse_news_sentiment((const char *)resp->body.data, resp->body.len,
                                              sp_news_emit_to_target, &t, err);
}

static int on_treasury(sp_source_ctx *ctx, const sp_http_response *resp, void *data,
                       sp_error *err) {
  (void)data;
  int rc = sp_source_check_shape(ctx, &sp_alphavantage_treasury_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_source_emit_target t = {ctx, resp->url};
  return sp_alphavantage_parse_treasury_yield((const char *)resp->body.data, resp->body.len,
                                              "10year", sp_source_emit_to_target, &t, err);
}

static int alphavantage_collect(sp_source_ctx *ctx, sp_error *err) {
  const sp_source_round *round = ctx->round;
  char path[512];
  int rc = SP_OK;
  switch (round->ds->id) {
  case SP_DS_FINANCIAL_DATA:
    for (size_t i = 0; i < round->ntickers && rc != SP_ERR_NOMEM; i++) {
      if (sp_source_fundamentals_fresh(ctx, round->tickers[i])) continue;
      av_request r;
      snprintf(r.ticker, sizeof r.ticker, "%s", round->tickers[i]);
      char symbol[32];
      sp_source_exchange_symbol(r.ticker, symbol, sizeof symbol);
      snprintf(path, sizeof path, "/query?function=OVERVIEW&symbol=%s&apikey=%s", symbol, ctx->api_key);
      rc = sp_source_submit(ctx, path, sp_alphavantage_classify, on_overview, &r, sizeof r, err);
    }
    break;
  case SP_DS_NEWS: {
    int32_t from_day = sp_timestamp_to_days(round->now_us) - AV_NEWS_LOOKBACK_DAYS;
    int y;
    unsigned m, d;
    sp_civil_from_days(from_day, &y, &m, &d);
    snprintf(path, sizeof path,
             "/query?function=NEWS_SENTIMENT&time_from=%04d%02u%02uT0000&limit=%d&sort=LATEST&apikey=%s",
             y, m, d, AV_NEWS_LIMIT, ctx->api_key);
    rc = sp_source_submit(ctx, path, sp_alphavantage_classify, on_news, NULL, 0, err);
    break;
  }
  case SP_DS_MACROECONOMIC:
    if (!sp_source_wants(round, "interest_rate")) break;
    snprintf(path, sizeof path,
             "/query?function=TREASURY_YIELD&interval=daily&maturity=10year&apikey=%s", ctx->api_key);
    rc = sp_source_submit(ctx, path, sp_alphavantage_classify, on_treasury, NULL, 0, err);
    break;
  default: break;
  }
  return rc == SP_ERR_NOMEM ? rc : SP_OK;
}

/* Backfill: nothing.  NEWS_SENTIMENT returns at most 1000 articles of the whole market
 * per request without paging (a past window would be cut short, silently);
 * OVERVIEW is today's fundamentals; TREASURY_YIELD returns the whole series at
 * every call, so live collection already stores its history. */
static bool alphavantage_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out,
                                 char *why, size_t whylen) {
  (void)interval, (void)out;
  snprintf(why, whylen, "%s",
           ds->id == SP_DS_NEWS ? "NEWS_SENTIMENT gives at most 1000 articles of the whole market per request and "
                                  "cannot page, so a past window would be cut short"
           : ds->id == SP_DS_MACROECONOMIC ? "TREASURY_YIELD returns the whole series at every call: `collect` "
                                             "already stores its history"
                                           : "its fundamentals are the current values, not past ones");
  return false;
}

const sp_source_provider sp_source_alphavantage = {
    .name = "alphavantage",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_FINANCIAL_DATA) | SP_SOURCE_DATASET_BIT(SP_DS_NEWS) |
                SP_SOURCE_DATASET_BIT(SP_DS_MACROECONOMIC),
    .credential = "alpha_vantage_key",
    .http = {.name = "alphavantage",
             .base_url = "https://www.alphavantage.co",
             /* one at a time; the free tier's per-minute "Note" is retried by the HTTP
              * client after 15-60 s (set providers.alphavantage.rate_limit: 0.08 to pace
              * requests at the free tier's 5 a minute instead) */
             .rate_limit = 1,
             .burst = 1,
             .max_in_flight = 1,
             .timeout_ms = 30000,
             .backoff_base_ms = 15000,
             .backoff_max_ms = 60000},
    .daily_limit = 25, /* free tier: 25 requests per day */
    .per_ticker = SP_SOURCE_DATASET_BIT(SP_DS_FINANCIAL_DATA),
    .collect = alphavantage_collect,
    .explain_error = sp_alphavantage_explain_error,
    .history = alphavantage_history,
};
