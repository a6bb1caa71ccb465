/*
 * newsapi.c — NewsAPI.org (key `newsapi_key`).
 *
 *   GET /v2/everything?q="<company>"&searchIn=title,description&language=en
 *       &sortBy=publishedAt&from=<watermark>&pageSize=100&page=N&apiKey=K
 *
 * One query per ticker, by the company's name from the universe file (the ticker
 * itself when no name is known), paged while more results exist, up to 5 pages
 * (the developer plan answers the second page with maximumResultsReached, which ends
 * the query quietly).  Queries run as two sequential
 * chains so a fatal error stops the rest: rateLimited (after the HTTP client's
 * retries) and apiKey* errors stop the provider for this round (rateLimited with a
 * daily quota configured uses the quota up for the UTC day: deferred, not failed), maximumResultsReached
 * ends that query quietly, other errors fail that query only.
 */
#include "sources/newsapi.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEWSAPI_PAGE_SIZE 100
#define NEWSAPI_MAX_PAGES 5 /* the developer plan stops at 100 results (maximumResultsReached) */
#define NEWSAPI_CHAINS 2
#define NEWSAPI_DAYS 7

static const sp_shape_field everything_fields[] = {
    {"articles", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"totalResults", SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, NULL},
    {"articles[*].url", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"articles[*].title", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"articles[*].publishedAt", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"articles[*].description", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"articles[*].source.name", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    /* an article's other members: any further one is a new field */
    {"articles[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"articles[*].author", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"articles[*].urlToImage", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"articles[*].content", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_newsapi_everything_shape = SP_SHAPE_SPEC("newsapi", "everything", everything_fields);

static const struct {
  const char *code;
  sp_newsapi_action action;
} newsapi_codes[] = {
    {"rateLimited", SP_NEWSAPI_RETRY},        {"unexpectedError", SP_NEWSAPI_RETRY},
    {"maximumResultsReached", SP_NEWSAPI_NEXT}, {"apiKeyInvalid", SP_NEWSAPI_STOP},
    {"apiKeyMissing", SP_NEWSAPI_STOP},       {"apiKeyDisabled", SP_NEWSAPI_STOP},
    {"apiKeyExhausted", SP_NEWSAPI_STOP},
};

sp_newsapi_action sp_newsapi_action_for(const char *code) {
  for (size_t i = 0; code && i < sizeof newsapi_codes / sizeof newsapi_codes[0]; i++)
    if (strcmp(newsapi_codes[i].code, code) == 0) return newsapi_codes[i].action;
  return SP_NEWSAPI_SKIP;
}

/* The code and message of an error body, or false. */
static bool error_of(const cJSON *root, const char **code, const char **message) {
  const char *status = sp_json_string(root, "status");
  if (!status || strcmp(status, "error") != 0) return false;
  *code = sp_json_string(root, "code");
  *message = sp_json_string(root, "message");
  return true;
}

static bool newsapi_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  const char *code, *message;
  bool found = error_of(root, &code, &message);
  if (found) snprintf(out, outlen, "%s: %s", code ? code : "error", message ? message : "");
  cJSON_Delete(root);
  return found;
}

int sp_newsapi_parse_everything(const char *body, size_t len, long *total, sp_news_article_fn fn,
                                void *arg, sp_error *err) {
  cJSON *root;
  int rc = sp_json_parse(body, len, "newsapi everything", &root, err);
  if (rc != SP_OK) return rc;
  const char *code, *message;
  if (error_of(root, &code, &message)) {
    rc = sp_error_set(err, sp_newsapi_action_for(code) == SP_NEWSAPI_RETRY ? SP_ERR_RATE_LIMIT : SP_ERR_HTTP,
                      "newsapi: %s: %s", code ? code : "error", message ? message : "");
    cJSON_Delete(root);
    return rc;
  }
  const cJSON *articles = cJSON_GetObjectItemCaseSensitive(root, "articles");
  if (!cJSON_IsArray(articles)) {
    cJSON_Delete(root);
    return sp_error_set(err, SP_ERR_PARSE, "newsapi everything: no articles array");
  }
  *total = sp_json_count(root, "totalResults", cJSON_GetArraySize(articles));
  const cJSON *item;
  cJSON_ArrayForEach(item, articles) {
    sp_news_article a = {.url = sp_json_string(item, "url"),
                         .headline = sp_json_string(item, "title"),
                         .summary = sp_json_string(item, "description"),
                         .publisher = sp_json_string(cJSON_GetObjectItemCaseSensitive(item, "source"), "name")};
    if (a.headline && strcmp(a.headline, "[Removed]") == 0) { /* taken down at the source: no content */
      sp_source_count_skip("newsapi", "removed", a.url);
      continue;
    }
    const char *published = sp_json_string(item, "publishedAt");
    a.raw = item;
    if (!published || sp_parse_timestamp(published, &a.published_at) != SP_OK)
      sp_news_unreadable(&a, item, "publishedAt");
    if ((rc = fn(arg, &a, err)) != SP_OK) break;
  }
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct newsapi_request {
  size_t index; /* into round->tickers */
  int page;
} newsapi_request;

static int submit_query(sp_source_ctx *ctx, newsapi_request r, sp_error *err);

/* Continue the chain with the next ticker of this chain (or the next page). */
static void chain_next(sp_source_ctx *ctx, newsapi_request r, bool next_page) {
  if (ctx->halted) return;
  if (next_page) {
    r.page++;
  } else {
    r.index += NEWSAPI_CHAINS;
    r.page = 1;
  }
  sp_error err;
  if (r.index < ctx->round->ntickers) submit_query(ctx, r, &err);
}

static int on_page(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  newsapi_request *r = data;
  sp_news_target t = {ctx, ctx->round->tickers[r->index], resp->url};
  long total = 0;
  int rc = sp_source_check_shape(ctx, &sp_newsapi_everything_shape, resp, err);
  if (rc != SP_OK) return rc; /* on_failure continues the chain */
  rc = sp_newsapi_parse_everything((const char *)resp->body.data, resp->body.len, &total,
                                       sp_news_emit_to_target, &t, err);
  if (rc != SP_OK) return rc; /* on_failure continues the chain */
  chain_next(ctx, *r, (long)r->page * NEWSAPI_PAGE_SIZE < total && r->page < NEWSAPI_MAX_PAGES);
  return SP_OK;
}

static bool on_failure(sp_source_ctx *ctx, const sp_error *cause, void *data) {
  newsapi_request *r = data;
  for (size_t i = 0; i < sizeof newsapi_codes / sizeof newsapi_codes[0]; i++) {
    if (!strstr(cause->msg, newsapi_codes[i].code)) continue;
    if (newsapi_codes[i].action == SP_NEWSAPI_NEXT) {
      chain_next(ctx, *r, false);
      return true;
    }
    if (newsapi_codes[i].action == SP_NEWSAPI_STOP) {
      if (!ctx->halted) SP_ERROR("newsapi", "stopping this round: %s", newsapi_codes[i].code);
      ctx->halted = true;
      return false;
    }
  }
  if (cause->code == SP_ERR_RATE_LIMIT) { /* still limited after the retries */
    if (sp_source_quota_used_up(ctx, cause)) { /* the developer plan's 100 a day: deferred */
      ctx->halted = true;
      return true;
    }
    if (!ctx->halted) SP_ERROR("newsapi", "stopping this round: rate limited");
    ctx->halted = true;
    return false;
  }
  chain_next(ctx, *r, false);
  return false;
}

static int submit_query(sp_source_ctx *ctx, newsapi_request r, sp_error *err) {
  const sp_source_round *round = ctx->round;
  const char *ticker = round->tickers[r.index];
  const char *name = NULL;
  for (size_t i = 0; i < round->ncompanies && !name; i++)
    if (strcmp(round->companies[i].symbol, ticker) == 0) name = round->companies[i].name;
  size_t name_len = name ? sp_news_company_core_length(name) : 0;
  char term[128], from[SP_TIMESTAMP_TEXT_MAX], key[SP_SOURCE_KEY_MAX];
  snprintf(term, sizeof term, "\"%.*s\"", (int)(name_len >= 2 ? name_len : strlen(ticker)),
           name_len >= 2 ? name : ticker);
  int64_t mark;
  snprintf(key, sizeof key, "news/newsapi/%s", ticker);
  int64_t since = round->window                        ? round->window->start_us
                  : sp_source_watermark(ctx, key, &mark) ? mark + SP_US_PER_SEC
                                                         : round->now_us - (int64_t)NEWSAPI_DAYS * SP_US_PER_DAY;
  sp_format_timestamp(since - since % SP_US_PER_SEC, from);
  from[19] = '\0'; /* YYYY-MM-DDTHH:MM:SS, UTC as NewsAPI expects */
  char to[SP_TIMESTAMP_TEXT_MAX + 4] = "";
  if (round->window) { /* backfill: `to` is inclusive, to the second */
    int64_t until = round->window->end_us - 1;
    sp_format_timestamp(until - until % SP_US_PER_SEC, to + 4);
    memcpy(to, "&to=", 4);
    to[4 + 19] = '\0';
  }
  sp_buf path = SP_BUF_INIT;
  int rc = sp_buf_append_str(&path, "/v2/everything?q=");
  if (rc == SP_OK) rc = sp_http_url_encode(&path, term);
  if (rc == SP_OK)
    rc = sp_buf_printf(&path,
                       "&searchIn=title,description&language=en&sortBy=publishedAt&from=%s%s"
                       "&pageSize=%d&page=%d&apiKey=%s",
                       from, to, NEWSAPI_PAGE_SIZE, r.page, ctx->api_key);
  if (rc == SP_OK)
    rc = sp_source_submit_with_fallback(ctx, (const char *)path.data, NULL, on_page, on_failure,
                                        &r, sizeof r, err);
  else
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_buf_free(&path);
  return rc;
}

static int newsapi_collect(sp_source_ctx *ctx, sp_error *err) {
  for (size_t k = 0; k < NEWSAPI_CHAINS && k < ctx->round->ntickers; k++) {
    int rc = submit_query(ctx, (newsapi_request){.index = k, .page = 1}, err);
    if (rc == SP_ERR_NOMEM) return rc;
  }
  return SP_OK;
}

/* Backfill: articles by time range (from/to); the developer plan serves the last month. */
static bool newsapi_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                            size_t whylen) {
  (void)ds, (void)interval, (void)why, (void)whylen; /* serves only news: checked by the caller */
  out->max_span_us = 30 * SP_US_PER_DAY;
  out->max_age_us = 30 * SP_US_PER_DAY;
  return true;
}

const sp_source_provider sp_source_newsapi = {
    .name = "newsapi",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_NEWS),
    .credential = "newsapi_key",
    .http = {.name = "newsapi",
             .base_url = "https://newsapi.org",
             .rate_limit = 1,
             .burst = 2,
             .max_in_flight = 1,
             .timeout_ms = 30000},
    .daily_limit = 100, /* developer plan: 100 requests per day */
    .per_ticker = SP_SOURCE_DATASET_BIT(SP_DS_NEWS),
    .collect = newsapi_collect,
    .explain_error = newsapi_explain_error,
    .history = newsapi_history,
};
