/*
 * treasury.c — Fiscal Data API, api.fiscaldata.treasury.gov (no key).
 *
 *   GET /services/api/fiscal_service/v2/accounting/od/debt_to_penny
 *       ?fields=record_date,debt_held_public_amt,intragov_hold_amt,tot_pub_debt_out_amt
 *       &filter=record_date:gt:YYYY-MM-DD&sort=record_date&page[size]=100&page[number]=N
 *
 * Amounts arrive as decimal strings ("28791458062428.73").  Pages are followed while
 * page[number] < meta."total-pages".  Incremental from the stored watermark; the
 * first round takes the last 365 days.
 */
#include "sources/treasury.h"

#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEBT_PATH "/services/api/fiscal_service/v2/accounting/od/debt_to_penny"
#define DEBT_PAGE_SIZE 100
#define DEBT_INITIAL_DAYS 365

/* Amounts are decimal strings, "null" when not published. */
static const sp_shape_field debt_fields[] = {
    {"data", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {"meta.total-pages", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"data[*].record_date", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"data[*].debt_held_public_amt", SP_SHAPE_STRING, SP_SHAPE_REQUIRED, NULL},
    {"data[*].intragov_hold_amt", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"data[*].tot_pub_debt_out_amt", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    /* a record's other members: any further one is a new field */
    {"data[*]", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {"data[*].src_line_nbr", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_fiscal_year", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_fiscal_quarter", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_calendar_year", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_calendar_quarter", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_calendar_month", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {"data[*].record_calendar_day", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_treasury_debt_shape = SP_SHAPE_SPEC("treasury", "debt_to_penny", debt_fields);

int sp_treasury_parse_debt_to_penny(const char *body, size_t len, sp_source_page *page,
                                    sp_source_row_fn emit, void *arg, sp_error *err) {
  cJSON *root;
  int rc = sp_json_parse(body, len, "treasury debt_to_penny", &root, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  const char *error = sp_json_string(root, "error");
  if (error) {
    const char *message = sp_json_string(root, "message");
    rc = sp_error_set(err, SP_ERR_HTTP, "treasury debt_to_penny: %s: %s", error,
                      message ? message : "");
    goto done;
  }
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  if (!cJSON_IsArray(data)) {
    rc = sp_error_set(err, SP_ERR_PARSE, "treasury debt_to_penny: no data array");
    goto done;
  }
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
  page->total = sp_json_count(meta, "total-count", cJSON_GetArraySize(data));
  page->pages = sp_json_count(meta, "total-pages", 1);
  page->count = cJSON_GetArraySize(data);
  page->offset = 0;
  page->page = 0;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_POLICY)) != SP_OK) {
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    goto done;
  }
  const cJSON *rec;
  cJSON_ArrayForEach(rec, data) {
    const char *date = sp_json_string(rec, "record_date");
    int32_t day;
    double held, intragov = NAN, total = NAN;
    if (!date || sp_parse_date(date, &day) != SP_OK) {
      rc = sp_error_set(err, SP_ERR_PARSE, "treasury debt_to_penny: record without a valid record_date");
      break;
    }
    if (!sp_json_number(rec, "debt_held_public_amt", &held)) { /* "null": not reported that day */
      sp_source_count_skip("treasury", "no_value", date);
      continue;
    }
    sp_json_number(rec, "intragov_hold_amt", &intragov);
    sp_json_number(rec, "tot_pub_debt_out_amt", &total);
    char title[64], natural[48], details[256];
    snprintf(title, sizeof title, "Debt to the Penny %s", date);
    snprintf(natural, sizeof natural, "debt_to_penny:%s", date);
    int n = snprintf(details, sizeof details, "{\"record_date\":\"%s\"", date);
    if (!isnan(total))
      n += snprintf(details + n, sizeof details - (size_t)n, ",\"total_public_debt_outstanding\":%.2f", total);
    if (!isnan(intragov))
      n += snprintf(details + n, sizeof details - (size_t)n, ",\"intragovernmental_holdings\":%.2f", intragov);
    snprintf(details + n, sizeof details - (size_t)n, "}");
    rc = sp_source_policy_row(&row, "treasury", "treasury_debt", natural,
                              (int64_t)day * SP_US_PER_DAY, title, NULL,
                              "https://fiscaldata.treasury.gov/datasets/debt-to-the-penny/", held,
                              details);
    if ((rc = sp_source_emit_built(rc, &row, emit, arg, err)) != SP_OK) break;
  }
done:
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct debt_request {
  char since[SP_DATE_TEXT_MAX];
  long page;
} debt_request;

static int submit_page(sp_source_ctx *ctx, const debt_request *r, sp_error *err);

static int on_page(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  debt_request *r = data;
  sp_source_page page;
  sp_source_emit_target t = {ctx, resp->url};
  int rc = sp_source_check_shape(ctx, &sp_treasury_debt_shape, resp, err);
  if (rc != SP_OK) return rc;
  rc = sp_treasury_parse_debt_to_penny((const char *)resp->body.data, resp->body.len, &page,
                                           sp_source_emit_to_target, &t, err);
  if (rc == SP_OK && r->page < page.pages) {
    debt_request next = *r;
    next.page++;
    submit_page(ctx, &next, err);
  }
  return rc;
}

static int submit_page(sp_source_ctx *ctx, const debt_request *r, sp_error *err) {
  char path[400];
  snprintf(path, sizeof path,
           DEBT_PATH "?fields=record_date,debt_held_public_amt,intragov_hold_amt,tot_pub_debt_out_amt"
                     "&filter=record_date:gt:%s&sort=record_date&page%%5Bsize%%5D=%d&page%%5Bnumber%%5D=%ld",
           r->since, DEBT_PAGE_SIZE, r->page);
  return sp_source_submit(ctx, path, NULL, on_page, r, sizeof *r, err);
}

static int treasury_collect(sp_source_ctx *ctx, sp_error *err) {
  if (!sp_source_wants(ctx->round, "treasury_debt")) return SP_OK;
  debt_request r = {.page = 1};
  int64_t mark;
  int32_t day = sp_source_watermark(ctx, "policy/treasury/treasury_debt", &mark)
                    ? sp_timestamp_to_days(mark)
                    : sp_timestamp_to_days(ctx->round->now_us) - DEBT_INITIAL_DAYS;
  sp_format_date(day, r.since);
  return submit_page(ctx, &r, err) == SP_ERR_NOMEM ? SP_ERR_NOMEM : SP_OK;
}

static bool treasury_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  const char *error = sp_json_string(root, "error"), *message = sp_json_string(root, "message");
  if (error) snprintf(out, outlen, "%s: %s", error, message ? message : "");
  cJSON_Delete(root);
  return error != NULL;
}

const sp_source_provider sp_source_treasury = {
    .name = "treasury",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_POLICY),
    .credential = NULL,
    .http = {.name = "treasury",
             .base_url = "https://api.fiscaldata.treasury.gov",
             .rate_limit = 2,
             .burst = 2,
             .max_in_flight = 2,
             .timeout_ms = 60000},
    .collect = treasury_collect,
    .explain_error = treasury_explain_error,
};
