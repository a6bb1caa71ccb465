/*
 * fred.c — FRED, api.stlouisfed.org (key `fred_api_key`).
 *
 *   GET /fred/series/observations?series_id=S&api_key=K&file_type=json
 *       [&units=pc1][&observation_start=YYYY-MM-DD][&offset=N]      macroeconomic rows
 *   GET /fred/series/observations?series_id=DFEDTARU|DFEDTARL...     rate_decision events
 *   GET /fred/releases/dates?realtime_start=..&realtime_end=..
 *       &include_release_dates_with_no_data=true                     economic_release events
 *
 * Macro mapping (SPEC §7): interest_rate DGS10 (d), unemployment_rate UNRATE (m),
 * gdp_growth A191RL1Q225SBEA (q), inflation_rate CPIAUCSL with units=pc1 (m, the
 * year-over-year percent change, not the index), fed_funds_rate FEDFUNDS (m); all in
 * percent.  FRED's "." is a null value.  Collection is incremental: observation_start
 * is the stored watermark's date (rows not newer are dropped by sp_source_emit), and
 * pages beyond FRED's limit are fetched with offset.
 */
#include "sources/fred.h"

#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRED_PAGE_LIMIT 100000       /* FRED's maximum `limit` */
#define TARGET_RANGE_START "2008-12-16" /* first day of DFEDTARU/DFEDTARL */
#define RELEASE_LOOKBACK_DAYS 30
#define RELEASE_LOOKAHEAD_DAYS 30
#define RATE_LOOKBACK_DAYS 31        /* to see the value before the first new one */

/* "count"/"offset" drive paging: without them later pages would be missed. */
static const sp_shape_field observations_fields[] = {
    {"observations", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"count", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"offset", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"observations[*].date", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"observations[*].value", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    /* an observation's other members: any further one is a new field (the body's own
     * members — units, limit, order_by... — are not checked) */
    {"observations[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"observations[*].realtime_start", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"observations[*].realtime_end", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_fred_observations_shape = SP_SHAPE_SPEC("fred", "series/observations", observations_fields);

static const sp_shape_field release_dates_fields[] = {
    {"release_dates", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"count", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"offset", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"release_dates[*].date", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"release_dates[*].release_id", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"release_dates[*].release_name", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"release_dates[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL}, /* these three only */
};
const sp_shape_spec sp_fred_release_dates_shape = SP_SHAPE_SPEC("fred", "releases/dates", release_dates_fields);

static const sp_fred_series fred_macro[] = {
    {"interest_rate", "DGS10", NULL, "percent", "d"},
    {"unemployment_rate", "UNRATE", NULL, "percent", "m"},
    {"gdp_growth", "A191RL1Q225SBEA", NULL, "percent", "q"},
    {"inflation_rate", "CPIAUCSL", "pc1", "percent", "m"},
    {"fed_funds_rate", "FEDFUNDS", NULL, "percent", "m"},
};
#define NMACRO (sizeof fred_macro / sizeof fred_macro[0])

const sp_fred_series *sp_fred_series_for(const char *indicator) {
  for (size_t i = 0; i < NMACRO; i++)
    if (strcmp(fred_macro[i].indicator, indicator) == 0) return &fred_macro[i];
  return NULL;
}

bool sp_fred_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  const char *msg = sp_json_string(root, "error_message");
  if (msg) snprintf(out, outlen, "%s", msg);
  cJSON_Delete(root);
  return msg != NULL;
}

/* The observations array of a response, or NULL with err set. */
static const cJSON *observations_of(const cJSON *root, const char *what, sp_source_page *page,
                                    sp_error *err) {
  const char *msg = sp_json_string(root, "error_message");
  if (msg) {
    sp_error_set(err, SP_ERR_HTTP, "fred %s: %s", what, msg);
    return NULL;
  }
  const cJSON *obs = cJSON_GetObjectItemCaseSensitive(root, "observations");
  if (!cJSON_IsArray(obs)) {
    sp_error_set(err, SP_ERR_PARSE, "fred %s: no observations array in the response", what);
    return NULL;
  }
  if (page) {
    page->total = sp_json_count(root, "count", cJSON_GetArraySize(obs));
    page->offset = sp_json_count(root, "offset", 0);
    page->count = cJSON_GetArraySize(obs);
    page->pages = page->page = 0;
  }
  return obs;
}

static int observation_date(const cJSON *o, const char *what, int32_t *day, sp_error *err) {
  const char *date = sp_json_string(o, "date");
  if (!date || sp_parse_date(date, day) != SP_OK)
    return sp_error_set(err, SP_ERR_PARSE, "fred %s: observation with a bad date \"%s\"", what,
                        date ? date : "(none)");
  return SP_OK;
}

int sp_fred_parse_observations(const char *body, size_t len, const sp_fred_series *series,
                               sp_source_page *page, sp_source_row_fn emit, void *arg,
                               sp_error *err) {
  cJSON *root;
  int rc = sp_json_parse(body, len, "fred observations", &root, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  const cJSON *obs = observations_of(root, series->series_id, page, err);
  if (!obs) {
    rc = err ? err->code : SP_ERR_PARSE;
    goto done;
  }
  if (sp_row_init(&row, sp_dataset_get(SP_DS_MACROECONOMIC)) != SP_OK) {
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    goto done;
  }
  const cJSON *o;
  cJSON_ArrayForEach(o, obs) {
    int32_t day;
    if ((rc = observation_date(o, series->series_id, &day, err)) != SP_OK) break;
    double value;
    if (!sp_json_number(o, "value", &value)) value = NAN; /* "." */
    rc = sp_source_macro_row(&row, series->indicator, series->series_id, day, value, series->unit,
                             series->frequency);
    if ((rc = sp_source_emit_built(rc, &row, emit, arg, err)) != SP_OK) break;
  }
done:
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* Value of `series` on `day` (the latest observation at or before it), NAN if none. */
static double value_on(const cJSON *obs, int32_t day) {
  double found = NAN;
  const cJSON *o;
  cJSON_ArrayForEach(o, obs) {
    int32_t d;
    const char *date = sp_json_string(o, "date");
    double v;
    if (!date || sp_parse_date(date, &d) != SP_OK || d > day) break;
    if (sp_json_number(o, "value", &v)) found = v;
  }
  return found;
}

int sp_fred_parse_rate_decisions(const char *upper_body, size_t upper_len, const char *lower_body,
                                 size_t lower_len, bool first_is_decision, sp_source_row_fn emit,
                                 void *arg, sp_error *err) {
  cJSON *upper_root = NULL, *lower_root = NULL;
  int rc = sp_json_parse(upper_body, upper_len, "fred DFEDTARU", &upper_root, err);
  if (rc == SP_OK) rc = sp_json_parse(lower_body, lower_len, "fred DFEDTARL", &lower_root, err);
  sp_row row = {0};
  const cJSON *upper = NULL, *lower = NULL;
  if (rc == SP_OK && (!(upper = observations_of(upper_root, "DFEDTARU", NULL, err)) ||
                      !(lower = observations_of(lower_root, "DFEDTARL", NULL, err))))
    rc = err ? err->code : SP_ERR_PARSE;
  if (rc == SP_OK && sp_row_init(&row, sp_dataset_get(SP_DS_POLICY)) != SP_OK)
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  double previous = NAN;
  bool first = true;
  const cJSON *o;
  if (rc == SP_OK) cJSON_ArrayForEach(o, upper) {
    int32_t day;
    double value;
    if ((rc = observation_date(o, "DFEDTARU", &day, err)) != SP_OK) break;
    if (!sp_json_number(o, "value", &value)) { /* FRED's "." (no value that day): no event */
      sp_source_count_skip("fred", "no_value", sp_json_string(o, "date"));
      continue;
    }
    bool decision = first ? first_is_decision : value != previous;
    double before = previous;
    previous = value;
    first = false;
    if (!decision) continue;
    double low = value_on(lower, day);
    char date[SP_DATE_TEXT_MAX], title[160], details[256], natural[64];
    sp_format_date(day, date);
    if (isnan(low))
      snprintf(title, sizeof title, "Federal funds target range upper bound set to %.2f%%", value);
    else
      snprintf(title, sizeof title, "Federal funds target range set to %.2f%%-%.2f%%", low, value);
    int n = snprintf(details, sizeof details, "{\"upper\":%.4g,\"lower\":", value);
    n += isnan(low) ? snprintf(details + n, sizeof details - (size_t)n, "null")
                    : snprintf(details + n, sizeof details - (size_t)n, "%.4g", low);
    n += isnan(before) ? snprintf(details + n, sizeof details - (size_t)n, ",\"previous_upper\":null")
                       : snprintf(details + n, sizeof details - (size_t)n, ",\"previous_upper\":%.4g", before);
    snprintf(details + n, sizeof details - (size_t)n, ",\"series\":\"DFEDTARU\",\"date\":\"%s\"}", date);
    snprintf(natural, sizeof natural, "DFEDTARU:%s", date);
    rc = sp_source_policy_row(&row, "fred", "rate_decision", natural, (int64_t)day * SP_US_PER_DAY,
                              title, NULL, "https://fred.stlouisfed.org/series/DFEDTARU", value,
                              details);
    if ((rc = sp_source_emit_built(rc, &row, emit, arg, err)) != SP_OK) break;
  }
  sp_row_clear(&row);
  cJSON_Delete(upper_root);
  cJSON_Delete(lower_root);
  return rc;
}

int sp_fred_parse_release_dates(const char *body, size_t len, sp_source_page *page,
                                sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err) {
  cJSON *root;
  int rc = sp_json_parse(body, len, "fred release dates", &root, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  const cJSON *dates = cJSON_GetObjectItemCaseSensitive(root, "release_dates");
  const char *msg = sp_json_string(root, "error_message");
  if (msg) {
    rc = sp_error_set(err, SP_ERR_HTTP, "fred release dates: %s", msg);
    goto done;
  }
  if (!cJSON_IsArray(dates)) {
    rc = sp_error_set(err, SP_ERR_PARSE, "fred release dates: no release_dates array");
    goto done;
  }
  page->total = sp_json_count(root, "count", cJSON_GetArraySize(dates));
  page->offset = sp_json_count(root, "offset", 0);
  page->count = cJSON_GetArraySize(dates);
  page->pages = page->page = 0;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_POLICY)) != SP_OK) {
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    goto done;
  }
  const cJSON *d;
  cJSON_ArrayForEach(d, dates) {
    int32_t day;
    double id;
    const char *name = sp_json_string(d, "release_name");
    if ((rc = observation_date(d, "release dates", &day, err)) != SP_OK) break;
    if (!name || !*name || !sp_json_number(d, "release_id", &id)) { /* no title or no id: no event */
      if (bad)
        rc = bad(arg, &(sp_source_bad_item){"item_unparseable", name && *name ? "release_id missing or not a number"
                                                                              : "release_name missing or empty",
                                            d, NULL, NULL}, err);
      if (rc != SP_OK) break;
      continue;
    }
    char date[SP_DATE_TEXT_MAX], natural[64], url[96], details[128];
    sp_format_date(day, date);
    snprintf(natural, sizeof natural, "release:%.0f:%s", id, date);
    snprintf(url, sizeof url, "https://fred.stlouisfed.org/release?rid=%.0f", id);
    snprintf(details, sizeof details, "{\"release_id\":%.0f,\"date\":\"%s\"}", id, date);
    rc = sp_source_policy_row(&row, "fred", "economic_release", natural,
                              (int64_t)day * SP_US_PER_DAY, name, NULL, url, NAN, details);
    if ((rc = sp_source_emit_built(rc, &row, emit, arg, err)) != SP_OK) break;
  }
done:
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct fred_request {
  const sp_fred_series *series;   /* macro observations */
  char query[512];                /* path without offset, for the next page */
  long offset;
  bool first_is_decision;         /* rate decisions */
  size_t upper_len;               /* rate decisions: the DFEDTARU body follows */
  char upper_body[];
} fred_request;

static int submit_page(sp_source_ctx *ctx, const char *query, long offset,
                       sp_source_response_fn fn, fred_request *r, size_t size, sp_error *err) {
  char path[600];
  if (offset > 0) snprintf(path, sizeof path, "%s&offset=%ld", query, offset);
  else snprintf(path, sizeof path, "%s", query);
  r->offset = offset;
  return sp_source_submit(ctx, path, NULL, fn, r, size, err);
}

static int on_observations(sp_source_ctx *ctx, const sp_http_response *resp, void *data,
                           sp_error *err) {
  fred_request *r = data;
  sp_source_page page;
  sp_source_emit_target t = {ctx, resp->url};
  int rc = sp_source_check_shape(ctx, &sp_fred_observations_shape, resp, err);
  if (rc != SP_OK) return rc;
  rc = sp_fred_parse_observations((const char *)resp->body.data, resp->body.len, r->series,
                                      &page, sp_source_emit_to_target, &t, err);
  if (rc == SP_OK && page.count > 0 && page.offset + page.count < page.total)
    submit_page(ctx, r->query, page.offset + page.count, on_observations, r, sizeof *r, err);
  return rc;
}

static int on_release_dates(sp_source_ctx *ctx, const sp_http_response *resp, void *data,
                            sp_error *err) {
  fred_request *r = data;
  sp_source_page page;
  sp_source_emit_target t = {ctx, resp->url};
  int rc = sp_source_check_shape(ctx, &sp_fred_release_dates_shape, resp, err);
  if (rc != SP_OK) return rc;
  rc = sp_fred_parse_release_dates((const char *)resp->body.data, resp->body.len, &page,
                                   sp_source_emit_to_target, sp_source_reject_to_target, &t, err);
  if (rc == SP_OK && page.count > 0 && page.offset + page.count < page.total)
    submit_page(ctx, r->query, page.offset + page.count, on_release_dates, r, sizeof *r, err);
  return rc;
}

static int on_lower(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  fred_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_fred_observations_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_source_emit_target t = {ctx, resp->url};
  return sp_fred_parse_rate_decisions(r->upper_body, r->upper_len, (const char *)resp->body.data,
                                      resp->body.len, r->first_is_decision,
                                      sp_source_emit_to_target, &t, err);
}

/* The upper bound arrived: ask for the lower bound over the same window, carrying
 * the upper body in the request's data. */
static int on_upper(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  fred_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_fred_observations_shape, resp, err);
  if (rc != SP_OK) return rc;
  size_t size = sizeof *r + resp->body.len + 1;
  fred_request *next = malloc(size);
  if (!next) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  *next = *r;
  memcpy(next->upper_body, resp->body.data, resp->body.len);
  next->upper_body[resp->body.len] = '\0';
  next->upper_len = resp->body.len;
  char *at = strstr(next->query, "series_id=DFEDTARU");
  if (at) memcpy(at + strlen("series_id=DFEDTAR"), "L", 1);
  rc = sp_source_submit(ctx, next->query, NULL, on_lower, next, size, err);
  free(next);
  return rc;
}

/* The day of the watermark `key`; false (and today) when there is none. */
static bool watermark_day(const sp_source_ctx *ctx, const char *key, int32_t *day) {
  int64_t mark;
  bool have = sp_source_watermark(ctx, key, &mark);
  *day = sp_timestamp_to_days(have ? mark : ctx->round->now_us);
  return have;
}

static int collect_macro(sp_source_ctx *ctx, sp_error *err) {
  for (size_t i = 0; i < NMACRO; i++) {
    const sp_fred_series *s = &fred_macro[i];
    if (!sp_source_wants(ctx->round, s->indicator)) continue;
    fred_request r = {.series = s};
    char key[SP_SOURCE_KEY_MAX], date[SP_DATE_TEXT_MAX];
    int32_t day;
    snprintf(key, sizeof key, "macroeconomic/fred/%s", s->series_id);
    bool have = watermark_day(ctx, key, &day);
    sp_format_date(day, date);
    int n = snprintf(r.query, sizeof r.query,
                     "/fred/series/observations?series_id=%s&api_key=%s&file_type=json&limit=%d",
                     s->series_id, ctx->api_key, FRED_PAGE_LIMIT);
    if (s->units) n += snprintf(r.query + n, sizeof r.query - (size_t)n, "&units=%s", s->units);
    const sp_source_window *w = ctx->round->window;
    if (w) { /* backfill: the window's days (observation_end is inclusive) */
      char end[SP_DATE_TEXT_MAX];
      sp_format_date(sp_timestamp_to_days(w->start_us), date);
      sp_format_date(sp_timestamp_to_days(w->end_us - 1), end);
      snprintf(r.query + n, sizeof r.query - (size_t)n, "&observation_start=%s&observation_end=%s", date, end);
    } else if (have) {
      snprintf(r.query + n, sizeof r.query - (size_t)n, "&observation_start=%s", date);
    }
    int rc = submit_page(ctx, r.query, 0, on_observations, &r, sizeof r, err);
    if (rc == SP_ERR_NOMEM) return rc;
  }
  return SP_OK;
}

static int collect_policy(sp_source_ctx *ctx, sp_error *err) {
  const sp_source_round *round = ctx->round;
  int rc = SP_OK;
  if (sp_source_wants(round, "rate_decision")) {
    fred_request r = {.upper_len = 0};
    char date[SP_DATE_TEXT_MAX];
    int32_t day;
    bool have = watermark_day(ctx, "policy/fred/rate_decision", &day);
    sp_format_date(day - RATE_LOOKBACK_DAYS, date);
    r.first_is_decision = !have;
    snprintf(r.query, sizeof r.query,
             "/fred/series/observations?series_id=DFEDTARU&api_key=%s&file_type=json"
             "&observation_start=%s",
             ctx->api_key, have ? date : TARGET_RANGE_START);
    rc = sp_source_submit(ctx, r.query, NULL, on_upper, &r, sizeof r, err);
  }
  if (rc != SP_ERR_NOMEM && sp_source_wants(round, "economic_release")) {
    fred_request r = {.upper_len = 0};
    char from[SP_DATE_TEXT_MAX], to[SP_DATE_TEXT_MAX];
    int32_t day;
    if (!watermark_day(ctx, "policy/fred/economic_release", &day)) day -= RELEASE_LOOKBACK_DAYS;
    sp_format_date(day, from);
    sp_format_date(sp_timestamp_to_days(round->now_us) + RELEASE_LOOKAHEAD_DAYS, to);
    snprintf(r.query, sizeof r.query,
             "/fred/releases/dates?api_key=%s&file_type=json&realtime_start=%s&realtime_end=%s"
             "&include_release_dates_with_no_data=true&sort_order=asc&limit=1000",
             ctx->api_key, from, to);
    rc = submit_page(ctx, r.query, 0, on_release_dates, &r, sizeof r, err);
  }
  return rc == SP_ERR_NOMEM ? rc : SP_OK;
}

static int fred_collect(sp_source_ctx *ctx, sp_error *err) {
  return ctx->round->ds->id == SP_DS_MACROECONOMIC ? collect_macro(ctx, err)
                                                   : collect_policy(ctx, err);
}

/* Backfill: observations by date range (observation_start/end), without limits; the
 * policy events are derived from whole histories and calendars, not date windows. */
static bool fred_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                         size_t whylen) {
  (void)interval;
  if (ds->id != SP_DS_MACROECONOMIC) {
    snprintf(why, whylen, "its %s events (rate decisions from the target-range series, the release calendar) "
                          "are not fetched by date window",
             ds->name);
    return false;
  }
  memset(out, 0, sizeof *out);
  return true;
}

const sp_source_provider sp_source_fred = {
    .name = "fred",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_MACROECONOMIC) | SP_SOURCE_DATASET_BIT(SP_DS_POLICY),
    .credential = "fred_api_key",
    .http = {.name = "fred",
             .base_url = "https://api.stlouisfed.org",
             .rate_limit = 2, /* FRED allows 120 requests per minute */
             .burst = 4,
             .max_in_flight = 4,
             .timeout_ms = 30000},
    .collect = fred_collect,
    .explain_error = sp_fred_explain_error,
    .history = fred_history,
};
