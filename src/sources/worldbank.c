/*
 * worldbank.c — World Bank Indicators API v2, api.worldbank.org (no key).
 *
 *   GET /v2/country/US/indicator/{id}?format=json&per_page=1000&page=N[&date=Y1:Y2]
 *
 * Responses are `[meta, data]` arrays (meta: page, pages, per_page, total); more
 * pages are fetched while page < pages.  Errors come as HTTP 200 with
 * `[{"message":[{"id":"120","key":"Invalid value","value":"..."}]}]`.  Annual values
 * are dated January 1 (SPEC §7).  Mapping: gdp_growth = NY.GDP.MKTP.KD.ZG,
 * inflation_rate = FP.CPI.TOTL.ZG, both in percent.  Incremental from the watermark's
 * year (`date=Y:now`).
 */
#include "sources/worldbank.h"

#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WB_COUNTRY "US"
#define WB_PER_PAGE 1000

/* [meta, data]; data is null when the indicator has no observation in the range. */
static const sp_shape_field indicator_fields[] = {
    {"[0]", SP_SHAPE_OBJECT, SP_SHAPE_REQUIRED, NULL},
    {"[0].page", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"[0].pages", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"[1]", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"[1][*].indicator.id", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"[1][*].country.id", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"[1][*].date", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"[1][*].value", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    /* an observation's other members: any further one is a new field */
    {"[1][*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"[1][*].countryiso3code", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"[1][*].unit", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"[1][*].obs_status", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"[1][*].decimal", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_worldbank_indicator_shape = SP_SHAPE_SPEC("worldbank", "indicator", indicator_fields);

static const struct {
  const char *indicator, *id;
} wb_indicators[] = {
    {"gdp_growth", "NY.GDP.MKTP.KD.ZG"},
    {"inflation_rate", "FP.CPI.TOTL.ZG"},
};
#define NWB (sizeof wb_indicators / sizeof wb_indicators[0])

const char *sp_worldbank_indicator_for(const char *indicator) {
  for (size_t i = 0; i < NWB; i++)
    if (strcmp(wb_indicators[i].indicator, indicator) == 0) return wb_indicators[i].id;
  return NULL;
}

/* The error-array shape: message text into err; true when it is one. */
static bool error_array(const cJSON *root, sp_error *err) {
  const cJSON *messages = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 0), "message");
  if (!cJSON_IsArray(messages)) return false;
  const cJSON *m = cJSON_GetArrayItem(messages, 0);
  const char *id = sp_json_string(m, "id"), *key = sp_json_string(m, "key");
  const char *value = sp_json_string(m, "value");
  sp_error_set(err, SP_ERR_HTTP, "world bank error %s (%s): %s", id ? id : "?", key ? key : "?",
               value ? value : "no message");
  return true;
}

int sp_worldbank_parse_indicator(const char *body, size_t len, const char *indicator,
                                 const char *country, sp_source_page *page,
                                 sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = sp_json_parse(body, len, "world bank", &root, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  const cJSON *meta = cJSON_GetArrayItem(root, 0);
  const cJSON *data = cJSON_GetArrayItem(root, 1);
  if (!cJSON_IsArray(root)) {
    rc = sp_error_set(err, SP_ERR_PARSE, "world bank: response is not a [meta, data] array");
    goto done;
  }
  if (error_array(root, err)) {
    rc = SP_ERR_HTTP;
    goto done;
  }
  page->page = sp_json_count(meta, "page", 1);
  page->pages = sp_json_count(meta, "pages", 1);
  page->total = sp_json_count(meta, "total", 0);
  page->offset = 0;
  page->count = cJSON_IsArray(data) ? cJSON_GetArraySize(data) : 0;
  if (!cJSON_IsObject(meta) || (!cJSON_IsArray(data) && !cJSON_IsNull(data) && data)) {
    rc = sp_error_set(err, SP_ERR_PARSE, "world bank: unexpected response shape");
    goto done;
  }
  if (!cJSON_IsArray(data)) goto done; /* no observations (data null or absent) */
  if (sp_row_init(&row, sp_dataset_get(SP_DS_MACROECONOMIC)) != SP_OK) {
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    goto done;
  }
  const cJSON *obs;
  cJSON_ArrayForEach(obs, data) {
    const cJSON *ind = cJSON_GetObjectItemCaseSensitive(obs, "indicator");
    const char *series_id = sp_json_string(ind, "id");
    const char *obs_country = sp_json_string(cJSON_GetObjectItemCaseSensitive(obs, "country"), "id");
    const char *date = sp_json_string(obs, "date");
    double value, year;
    if (country && (!obs_country || strcmp(obs_country, country) != 0)) { /* not the economy asked for */
      sp_source_count_skip("worldbank", "other_country", obs_country);
      continue;
    }
    if (!sp_json_number(obs, "value", &value)) { /* null: not published yet */
      sp_source_count_skip("worldbank", "no_value", date);
      continue;
    }
    if (!series_id || !date || strlen(date) != 4 || !sp_parse_number(date, &year) ||
        year < 1000) {
      rc = sp_error_set(err, SP_ERR_PARSE, "world bank: observation without indicator or year");
      break;
    }
    rc = sp_source_macro_row(&row, indicator, series_id, sp_days_from_civil((int)year, 1, 1), value,
                             "percent", "a");
    if ((rc = sp_source_emit_built(rc, &row, emit, arg, err)) != SP_OK) break;
  }
done:
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct wb_request {
  const char *indicator;
  char query[256]; /* without page= */
} wb_request;

static int submit_page(sp_source_ctx *ctx, const wb_request *r, long page, sp_error *err);

static int on_page(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  wb_request *r = data;
  sp_source_page page;
  sp_source_emit_target t = {ctx, resp->url};
  int rc = sp_source_check_shape(ctx, &sp_worldbank_indicator_shape, resp, err);
  if (rc != SP_OK) return rc;
  rc = sp_worldbank_parse_indicator((const char *)resp->body.data, resp->body.len,
                                        r->indicator, WB_COUNTRY, &page,
                                        sp_source_emit_to_target, &t, err);
  if (rc == SP_OK && page.page < page.pages) submit_page(ctx, r, page.page + 1, err);
  return rc;
}

static int submit_page(sp_source_ctx *ctx, const wb_request *r, long page, sp_error *err) {
  char path[320];
  snprintf(path, sizeof path, "%s&page=%ld", r->query, page);
  return sp_source_submit(ctx, path, NULL, on_page, r, sizeof *r, err);
}

static int worldbank_collect(sp_source_ctx *ctx, sp_error *err) {
  for (size_t i = 0; i < NWB; i++) {
    if (!sp_source_wants(ctx->round, wb_indicators[i].indicator)) continue;
    wb_request r = {.indicator = wb_indicators[i].indicator};
    char key[SP_SOURCE_KEY_MAX];
    int64_t mark;
    snprintf(key, sizeof key, "macroeconomic/worldbank/%s", wb_indicators[i].id);
    int n = snprintf(r.query, sizeof r.query, "/v2/country/%s/indicator/%s?format=json&per_page=%d",
                     WB_COUNTRY, wb_indicators[i].id, WB_PER_PAGE);
    const sp_source_window *w = ctx->round->window;
    bool have = !w && sp_source_watermark(ctx, key, &mark);
    if (w || have) { /* the years of the backfill window, or from the watermark's year on */
      int year, end_year;
      unsigned month, day;
      sp_civil_from_days(sp_timestamp_to_days(w ? w->start_us : mark), &year, &month, &day);
      sp_civil_from_days(sp_timestamp_to_days(w ? w->end_us - 1 : ctx->round->now_us), &end_year, &month, &day);
      snprintf(r.query + n, sizeof r.query - (size_t)n, "&date=%d:%d", year, end_year);
    }
    if (submit_page(ctx, &r, 1, err) == SP_ERR_NOMEM) return SP_ERR_NOMEM;
  }
  return SP_OK;
}

static bool worldbank_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  sp_error e;
  bool found = root && error_array(root, &e);
  if (found) snprintf(out, outlen, "%s", e.msg);
  cJSON_Delete(root);
  return found;
}

/* Backfill: annual observations by year range (`date=Y1:Y2`), without limits. */
static bool worldbank_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                              size_t whylen) {
  (void)ds, (void)interval, (void)why, (void)whylen; /* serves only macroeconomic: checked by the caller */
  memset(out, 0, sizeof *out);
  return true;
}

const sp_source_provider sp_source_worldbank = {
    .name = "worldbank",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_MACROECONOMIC),
    .credential = NULL,
    .http = {.name = "worldbank",
             .base_url = "https://api.worldbank.org",
             .rate_limit = 5,
             .burst = 5,
             .max_in_flight = 4,
             .timeout_ms = 60000},
    .collect = worldbank_collect,
    .explain_error = worldbank_explain_error,
    .history = worldbank_history,
};
