/*
 * yahoo.c — Yahoo Finance chart v8 (no key): Mag 7 quotes for financial_data and
 * S&P 500 bars (1h, 1d with adjusted close) for stock_movements.
 *
 *   GET /v8/finance/chart/{symbol}?interval=1d&range=1d             quote snapshot
 *   GET /v8/finance/chart/{symbol}?period1=..&period2=..&interval=1h bars
 *
 * Quotes come from chart.result[0].meta (regularMarketPrice/Time, day high/low/volume,
 * previous close, 52-week range, currency, exchange) plus the session's open from the
 * day's bar.  Bars: one row per complete bar; empty windows (200 without timestamps)
 * are 0 rows; bars outside the requested window and all-null bars are emitted marked
 * for the quarantine (bar_outside_window, bar_null); the trailing price-snapshot
 * pseudo-bar Yahoo appends after the close is not a bar and is dropped.
 * Errors in the body (`chart.error`, e.g. 400 "Data doesn't exist", 404 "No data
 * found, symbol may be delisted", 422 out-of-range intraday) become per-ticker errors;
 * 429 is retried by the HTTP client.  Yahoo keeps 1h bars for the last 730 days only,
 * so intraday windows are clamped to that.
 */
#include "sources/yahoo.h"

#include "core/timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAHOO_INTRADAY_LIMIT_DAYS 729 /* Yahoo serves 1h bars for the last 730 days */

#define RESULT "chart.result[0]"
#define TS RESULT ".timestamp"
#define QUOTE RESULT ".indicators.quote[0]"

static const sp_shape_field quote_fields[] = {
    {"chart.result", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta", SP_SHAPE_OBJECT, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta.regularMarketPrice", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta.regularMarketTime", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta.currency", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {RESULT ".meta.exchangeName", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {RESULT ".meta.regularMarketDayHigh", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.regularMarketDayLow", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.regularMarketVolume", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.previousClose", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.chartPreviousClose", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.fiftyTwoWeekHigh", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.fiftyTwoWeekLow", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {TS, SP_SHAPE_ARRAY, SP_SHAPE_IF_PRESENT, NULL},
    {QUOTE ".open", SP_SHAPE_ARRAY, SP_SHAPE_OPTIONAL, TS},
    /* the quote's other members: any further one is a new field (the bar arrays vary
     * with the request and are not checked) */
    {RESULT ".meta", SP_SHAPE_RECORD, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.symbol", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.fullExchangeName", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.instrumentType", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.firstTradeDate", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.hasPrePostMarketData", SP_SHAPE_BOOL, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.gmtoffset", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.timezone", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.exchangeTimezoneName", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.longName", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.shortName", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.scale", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.priceHint", SP_SHAPE_NUMBER, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.currentTradingPeriod", SP_SHAPE_OBJECT, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.tradingPeriods", SP_SHAPE_ARRAY, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.dataGranularity", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.range", SP_SHAPE_STRING, SP_SHAPE_KNOWN, NULL},
    {RESULT ".meta.validRanges", SP_SHAPE_ARRAY, SP_SHAPE_KNOWN, NULL},
};
const sp_shape_spec sp_yahoo_quote_shape = SP_SHAPE_SPEC("yahoo", "quote", quote_fields);

static const sp_shape_field chart_fields[] = {
    {"chart.result", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta", SP_SHAPE_OBJECT, SP_SHAPE_REQUIRED, NULL},
    {RESULT ".meta.regularMarketTime", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.currentTradingPeriod.regular.start", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {RESULT ".meta.currentTradingPeriod.regular.end", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, NULL},
    {TS, SP_SHAPE_ARRAY, SP_SHAPE_IF_PRESENT, NULL},
    {TS "[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".open", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".high", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".low", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".close", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".volume", SP_SHAPE_ARRAY, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".open[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".high[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".low[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".close[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {QUOTE ".volume[*]", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, TS},
    {RESULT ".indicators.adjclose[0].adjclose[*]", SP_SHAPE_NUMBER, SP_SHAPE_IF_PRESENT, TS},
};
const sp_shape_spec sp_yahoo_chart_shape = SP_SHAPE_SPEC("yahoo", "chart", chart_fields);

/* chart.result[0], or NULL with err set from chart.error (or a shape error). */
static const cJSON *chart_result(const cJSON *root, const char *ticker, sp_error *err) {
  const cJSON *chart = cJSON_GetObjectItemCaseSensitive(root, "chart");
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(chart, "error");
  if (cJSON_IsObject(error)) {
    const char *code = sp_json_string(error, "code");
    const char *desc = sp_json_string(error, "description");
    sp_error_set(err, SP_ERR_NOT_FOUND, "yahoo %s: %s: %s", ticker, code ? code : "error",
                 desc ? desc : "no description");
    return NULL;
  }
  const cJSON *result = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(chart, "result"), 0);
  if (!cJSON_IsObject(result)) {
    sp_error_set(err, SP_ERR_PARSE, "yahoo %s: no chart.result in the response", ticker);
    return NULL;
  }
  return result;
}

/* Parse a chart body: *root (free with cJSON_Delete) and its chart.result[0], or an
 * error with nothing to free. */
static int open_chart(const char *body, size_t len, const char *ticker, cJSON **root,
                      const cJSON **result, sp_error *err) {
  int rc = sp_json_parse(body, len, "yahoo chart", root, err);
  if (rc != SP_OK) return rc;
  *result = chart_result(*root, ticker, err);
  if (*result) return SP_OK;
  rc = err ? err->code : SP_ERR_PARSE;
  cJSON_Delete(*root);
  *root = NULL;
  return rc;
}

bool sp_yahoo_explain_error(const char *body, size_t len, char *out, size_t outlen) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  if (!root) return false;
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(root, "chart"), "error");
  const char *code = sp_json_string(error, "code");
  const char *desc = sp_json_string(error, "description");
  /* some endpoints use {"finance":{"error":{...}}} */
  if (!code && !desc) {
    error = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "finance"),
                                             "error");
    code = sp_json_string(error, "code");
    desc = sp_json_string(error, "description");
  }
  bool found = code || desc;
  if (found) snprintf(out, outlen, "%s: %s", code ? code : "error", desc ? desc : "");
  cJSON_Delete(root);
  return found;
}

static int64_t interval_seconds(const char *interval) {
  if (strcmp(interval, "1d") == 0) return 86400;
  if (strcmp(interval, "1h") == 0 || strcmp(interval, "60m") == 0) return 3600;
  char unit = 0;
  int n = 0;
  if (sscanf(interval, "%d%c", &n, &unit) == 2 && n > 0) {
    if (unit == 'm') return (int64_t)n * 60;
    if (unit == 'h') return (int64_t)n * 3600;
    if (unit == 'd') return (int64_t)n * 86400;
  }
  return 0;
}

/* A chart result's bar arrays as doubles, all indexed like `timestamp` (NAN for null,
 * non-numbers and missing entries).  Each array is read in one pass: indexing a cJSON
 * array walks its list, which made long windows quadratic. */
typedef struct quote_arrays {
  double *timestamps, *open, *high, *low, *close, *volume, *adjclose; /* one allocation */
  int count;
} quote_arrays;

static void fill_values(const cJSON *array, double *out, int count) {
  int i = 0;
  const cJSON *item;
  if (cJSON_IsArray(array))
    cJSON_ArrayForEach(item, array) {
      if (i == count) break;
      out[i++] = cJSON_IsNumber(item) && isfinite(item->valuedouble) ? item->valuedouble : NAN;
    }
  while (i < count) out[i++] = NAN;
}

/* Fill *q from `result`; SP_ERR_NOMEM.  Free with free_arrays (also after a failure). */
static int get_arrays(const cJSON *result, quote_arrays *q) {
  const cJSON *ind = cJSON_GetObjectItemCaseSensitive(result, "indicators");
  const cJSON *quote = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ind, "quote"), 0);
  const cJSON *adj = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ind, "adjclose"), 0);
  const cJSON *timestamps = cJSON_GetObjectItemCaseSensitive(result, "timestamp");
  const cJSON *sources[] = {timestamps,
                            cJSON_GetObjectItemCaseSensitive(quote, "open"),
                            cJSON_GetObjectItemCaseSensitive(quote, "high"),
                            cJSON_GetObjectItemCaseSensitive(quote, "low"),
                            cJSON_GetObjectItemCaseSensitive(quote, "close"),
                            cJSON_GetObjectItemCaseSensitive(quote, "volume"),
                            cJSON_GetObjectItemCaseSensitive(adj, "adjclose")};
  double **targets[] = {&q->timestamps, &q->open, &q->high, &q->low, &q->close, &q->volume, &q->adjclose};
  enum { NARRAYS = sizeof sources / sizeof sources[0] };
  memset(q, 0, sizeof *q);
  q->count = cJSON_IsArray(timestamps) ? cJSON_GetArraySize(timestamps) : 0;
  double *values = malloc(((size_t)q->count * NARRAYS + 1) * sizeof *values);
  if (!values) return SP_ERR_NOMEM;
  for (size_t k = 0; k < NARRAYS; k++) {
    *targets[k] = values + k * (size_t)q->count;
    fill_values(sources[k], *targets[k], q->count);
  }
  return SP_OK;
}

static void free_arrays(quote_arrays *q) { free(q->timestamps); }

int sp_yahoo_parse_quote(const char *body, size_t len, const char *ticker, sp_source_row_fn emit,
                         void *arg, sp_error *err) {
  cJSON *root;
  const cJSON *result;
  int rc = open_chart(body, len, ticker, &root, &result, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  quote_arrays q = {0};
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(result, "meta");
  double price, market_time;
  int64_t quote_time;
  if (!sp_json_number(meta, "regularMarketPrice", &price) ||
      !sp_json_number(meta, "regularMarketTime", &market_time) ||
      !sp_source_unix_seconds(market_time, &quote_time)) {
    rc = sp_error_set(err, SP_ERR_PARSE, "yahoo %s: meta has no valid regularMarketPrice/Time", ticker);
    goto done;
  }
  rc = sp_row_init(&row, sp_dataset_get(SP_DS_FINANCIAL_DATA));
  if (rc != SP_OK) goto nomem;
  double v;
  rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), ticker);
  rc |= sp_row_set_i64(&row, sp_row_col(&row, "quote_time"), quote_time);
  rc |= sp_row_set_double(&row, sp_row_col(&row, "price"), price);

  /* The current session's bar: the last bar starting at most a day before the
   * quote time (gives the open, and high/low/volume when meta lacks them). */
  if (get_arrays(result, &q) != SP_OK) goto nomem;
  int session = -1;
  for (int i = q.count - 1; i >= 0; i--) {
    double t = q.timestamps[i];
    if (isnan(t) || t > market_time) continue;
    if (market_time - t < 86400 && !isnan(q.open[i])) session = i;
    break;
  }
  if (session >= 0) rc |= sp_row_set_double(&row, sp_row_col(&row, "open"), q.open[session]);
  if (sp_json_number(meta, "regularMarketDayHigh", &v) ||
      (session >= 0 && !isnan(v = q.high[session])))
    rc |= sp_row_set_double(&row, sp_row_col(&row, "high"), v);
  if (sp_json_number(meta, "regularMarketDayLow", &v) ||
      (session >= 0 && !isnan(v = q.low[session])))
    rc |= sp_row_set_double(&row, sp_row_col(&row, "low"), v);
  if (sp_json_number(meta, "regularMarketVolume", &v) ||
      (session >= 0 && !isnan(v = q.volume[session])))
    rc |= sp_row_set_i64(&row, sp_row_col(&row, "volume"), (int64_t)llround(v));
  if (sp_json_number(meta, "previousClose", &v) || sp_json_number(meta, "chartPreviousClose", &v))
    rc |= sp_row_set_double(&row, sp_row_col(&row, "previous_close"), v);
  if (sp_json_number(meta, "fiftyTwoWeekHigh", &v))
    rc |= sp_row_set_double(&row, sp_row_col(&row, "week52_high"), v);
  if (sp_json_number(meta, "fiftyTwoWeekLow", &v))
    rc |= sp_row_set_double(&row, sp_row_col(&row, "week52_low"), v);
  rc |= sp_row_set_cstr(&row, sp_row_col(&row, "currency"), sp_json_string(meta, "currency"));
  rc |= sp_row_set_cstr(&row, sp_row_col(&row, "exchange"), sp_json_string(meta, "exchangeName"));
  if (rc != SP_OK) goto nomem;
  rc = emit(arg, &row, err);
  goto done;
nomem:
  rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory building a quote row for %s", ticker);
done:
  free_arrays(&q);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* Yahoo appends, after the close, a pseudo-bar stamped with the last trade time:
 * O=H=L=C (= regularMarketPrice) and volume 0.  True for such a last bar. */
static bool is_snapshot_bar(const cJSON *meta, const quote_arrays *q, int i) {
  double market_time, t = q->timestamps[i];
  if (i != q->count - 1 || !sp_json_number(meta, "regularMarketTime", &market_time)) return false;
  double o = q->open[i], c = q->close[i], h = q->high[i], l = q->low[i], vol = q->volume[i];
  return fabs(market_time - t) <= 60 && o == c && h == c && l == c && (isnan(vol) || vol == 0);
}

/* Reset `row` to bar i's ticker, interval and O/H/L/C (NAN = null).  0 or SP_ERR_NOMEM. */
static int set_bar_prices(sp_row *row, const char *ticker, const char *interval, const quote_arrays *q, int i) {
  sp_row_reset(row);
  int rc = sp_row_set_cstr(row, sp_row_col(row, "ticker"), ticker);
  rc |= sp_row_set_cstr(row, sp_row_col(row, "interval"), interval);
  rc |= sp_row_set_double(row, sp_row_col(row, "open"), q->open[i]);
  rc |= sp_row_set_double(row, sp_row_col(row, "high"), q->high[i]);
  rc |= sp_row_set_double(row, sp_row_col(row, "low"), q->low[i]);
  rc |= sp_row_set_double(row, sp_row_col(row, "close"), q->close[i]);
  return rc;
}

static void skip_bar(const char *reason, const char *ticker, int64_t start_us) {
  char what[SP_TIMESTAMP_TEXT_MAX + 48];
  int n = snprintf(what, sizeof what, "%.32s bar at ", ticker);
  sp_format_timestamp(start_us, what + n);
  sp_source_count_skip("yahoo", reason, what);
}

/* Bar i as Yahoo sent it, for the quarantine: {"timestamp":…,"open":…,…} from the
 * i-th element of each array (null where an array has none); NULL when out of memory. */
static cJSON *bar_as_sent(const cJSON *result, int i) {
  static const char *const names[] = {"open", "high", "low", "close", "volume"};
  const cJSON *ind = cJSON_GetObjectItemCaseSensitive(result, "indicators");
  const cJSON *quote = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ind, "quote"), 0);
  const cJSON *adj = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ind, "adjclose"), 0);
  cJSON *bar = cJSON_CreateObject();
  const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(result, "timestamp"), i);
  bool ok = bar && cJSON_AddItemToObject(bar, "timestamp", t ? cJSON_Duplicate(t, true) : cJSON_CreateNull());
  for (size_t k = 0; ok && k < sizeof names / sizeof names[0]; k++) {
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(quote, names[k]), i);
    ok = cJSON_AddItemToObject(bar, names[k], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
  }
  const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(adj, "adjclose"), i);
  if (ok && a) ok = cJSON_AddItemToObject(bar, "adjclose", cJSON_Duplicate(a, true));
  if (ok) return bar;
  cJSON_Delete(bar);
  return NULL;
}

int sp_yahoo_parse_bars(const char *body, size_t len, const char *ticker, const char *interval,
                        int64_t window_start_us, int64_t window_end_us, int64_t now_us,
                        sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err) {
  int64_t step = interval_seconds(interval);
  if (step == 0) return sp_error_set(err, SP_ERR_INVALID, "yahoo: unknown interval \"%s\"", interval);
  cJSON *root;
  const cJSON *result;
  int rc = open_chart(body, len, ticker, &root, &result, err);
  if (rc != SP_OK) return rc;
  sp_row row = {0};
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(result, "meta");
  quote_arrays q;
  if (get_arrays(result, &q) != SP_OK) goto nomem;
  if (q.count == 0) goto done; /* empty window: no bars, not an error */
  rc = sp_row_init(&row, sp_dataset_get(SP_DS_STOCK_MOVEMENTS));
  if (rc != SP_OK) goto nomem;

  /* The current session (bars in it end at its close at the latest). */
  const cJSON *regular = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(meta, "currentTradingPeriod"), "regular");
  double session_start = NAN, session_end = NAN;
  int64_t check_us;
  if (!sp_json_number(regular, "start", &session_start) ||
      !sp_json_number(regular, "end", &session_end) ||
      !sp_source_unix_seconds(session_start, &check_us) ||
      !sp_source_unix_seconds(session_end, &check_us))
    session_start = session_end = NAN;
  bool daily = strcmp(interval, "1d") == 0;

  for (int i = 0; i < q.count && rc == SP_OK; i++) {
    double t = q.timestamps[i], o = q.open[i], h = q.high[i], l = q.low[i], c = q.close[i];
    int64_t start_us;
    if (isnan(t)) { /* no time, no key: a row cannot be built; the bar as sent to the quarantine */
      if (!bad) continue;
      rc = set_bar_prices(&row, ticker, interval, &q, i);
      cJSON *sent = rc == SP_OK ? bar_as_sent(result, i) : NULL;
      if (!sent) goto nomem;
      char detail[64];
      snprintf(detail, sizeof detail, "timestamp[%d] is null or not a number", i);
      rc = bad(arg, &(sp_source_bad_item){"item_unparseable", detail, sent, NULL, &row}, err);
      cJSON_Delete(sent);
      continue;
    }
    if (!sp_source_unix_seconds(t, &start_us)) {
      rc = sp_error_set(err, SP_ERR_PARSE, "yahoo %s: bar timestamp %.0f out of range", ticker, t);
      break;
    }
    /* complete once its start + interval, or the session close if earlier, has passed;
     * bars of sessions before the current one are complete */
    int64_t end_s = (int64_t)t + step;
    if (!isnan(session_start) && t >= session_start && session_end < (double)end_s)
      end_s = (int64_t)session_end;
    bool earlier_session = !isnan(session_start) && t < session_start;
    if (!earlier_session && end_s * SP_US_PER_SEC > now_us) { /* not data yet: fetched again once complete */
      skip_bar("bar_forming", ticker, start_us);
      continue;
    }
    bool outside = start_us < window_start_us || (window_end_us > 0 && start_us >= window_end_us);
    if (!outside && is_snapshot_bar(meta, &q, i)) { /* the last price, not a bar */
      skip_bar("snapshot_bar", ticker, start_us);
      continue;
    }
    bool all_null = isnan(o) && isnan(h) && isnan(l) && isnan(c);
    const char *reject = outside ? "bar_outside_window" : all_null ? "bar_null" : NULL;
    double vol = q.volume[i];
    if (isnan(vol) && !all_null) vol = 0;
    rc = set_bar_prices(&row, ticker, interval, &q, i);
    rc |= sp_row_set_i64(&row, sp_row_col(&row, "bar_time"), start_us);
    if (!isnan(vol)) rc |= sp_row_set_i64(&row, sp_row_col(&row, "volume"), (int64_t)llround(vol));
    if (daily) rc |= sp_row_set_double(&row, sp_row_col(&row, "adj_close"), q.adjclose[i]);
    rc |= sp_row_set_cstr(&row, sp_row_col(&row, "quality_flags"), reject);
    if (rc != SP_OK) goto nomem;
    rc = emit(arg, &row, err);
  }
  goto done;
nomem:
  rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory building bars for %s", ticker);
done:
  free_arrays(&q);
  sp_row_clear(&row);
  cJSON_Delete(root);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct yahoo_request {
  char ticker[32];
  char interval[8];
  int64_t window_start_us, window_end_us;
} yahoo_request;

static int on_quote(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  yahoo_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_yahoo_quote_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_source_emit_target t = {ctx, resp->url};
  return sp_yahoo_parse_quote((const char *)resp->body.data, resp->body.len, r->ticker,
                              sp_source_emit_to_target, &t, err);
}

static int on_bars(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  yahoo_request *r = data;
  int rc = sp_source_check_shape(ctx, &sp_yahoo_chart_shape, resp, err);
  if (rc != SP_OK) return rc;
  sp_source_emit_target t = {ctx, resp->url};
  return sp_yahoo_parse_bars((const char *)resp->body.data, resp->body.len, r->ticker,
                             r->interval, r->window_start_us, r->window_end_us,
                             ctx->round->now_us, sp_source_emit_to_target, sp_source_reject_to_target, &t, err);
}

int sp_yahoo_bars_window(const char *interval, bool have_watermark, int64_t watermark_us,
                         int initial_history_days, int64_t now_us, int64_t *start_us) {
  bool daily = strcmp(interval, "1d") == 0;
  int days = initial_history_days > 0 ? initial_history_days : (daily ? 730 : 60);
  int64_t start = have_watermark ? watermark_us : now_us - (int64_t)days * SP_US_PER_DAY;
  if (!daily) {
    int64_t limit = now_us - (int64_t)YAHOO_INTRADAY_LIMIT_DAYS * SP_US_PER_DAY;
    if (start < limit) start = limit;
  }
  *start_us = start;
  return SP_OK;
}

static int yahoo_collect(sp_source_ctx *ctx, sp_error *err) {
  const sp_source_round *round = ctx->round;
  bool quotes = round->ds->id == SP_DS_FINANCIAL_DATA;
  const char *interval = round->bar_interval ? round->bar_interval : "1h";
  if (!quotes && strcmp(interval, "1h") != 0 && strcmp(interval, "1d") != 0)
    return sp_error_set(err, SP_ERR_CONFIG, "yahoo: bar_interval must be 1h or 1d, not \"%s\"",
                        interval);
  sp_buf path = SP_BUF_INIT;
  int rc = SP_OK;
  for (size_t i = 0; i < round->ntickers && rc != SP_ERR_NOMEM; i++) {
    yahoo_request r = {.window_end_us = 0};
    snprintf(r.ticker, sizeof r.ticker, "%s", round->tickers[i]);
    snprintf(r.interval, sizeof r.interval, "%s", interval);
    sp_buf_reset(&path);
    rc = sp_buf_append_str(&path, "/v8/finance/chart/");
    if (rc == SP_OK) rc = sp_http_url_encode(&path, r.ticker);
    if (rc != SP_OK) break;
    if (quotes) {
      rc = sp_buf_append_str(&path, "?interval=1d&range=1d&includePrePost=false");
    } else {
      r.window_end_us = round->now_us;
      if (round->window) { /* backfill: exactly the window asked for (limits: yahoo_history) */
        r.window_start_us = round->window->start_us;
        if (round->window->end_us < r.window_end_us) r.window_end_us = round->window->end_us;
      } else {
        char key[SP_SOURCE_KEY_MAX];
        int64_t mark = 0;
        snprintf(key, sizeof key, "stock_movements/%s/%s", r.ticker, interval);
        bool have = sp_source_watermark(ctx, key, &mark);
        sp_yahoo_bars_window(interval, have, mark, round->initial_history_days, round->now_us,
                             &r.window_start_us);
      }
      /* period2 rounded up: a window ending at a fraction of a second keeps its last bar */
      rc = sp_buf_printf(&path,
                         "?period1=%lld&period2=%lld&interval=%s&includePrePost=false&events=div%%7Csplit",
                         (long long)(r.window_start_us / SP_US_PER_SEC),
                         (long long)((r.window_end_us + SP_US_PER_SEC - 1) / SP_US_PER_SEC), interval);
    }
    if (rc != SP_OK) break;
    /* a submission failure is recorded by sp_source_submit; carry on with the others */
    rc = sp_source_submit(ctx, (const char *)path.data, NULL, quotes ? on_quote : on_bars, &r,
                          sizeof r, err);
  }
  sp_buf_free(&path);
  return rc == SP_ERR_NOMEM ? sp_error_set(err, rc, "yahoo: out of memory building requests")
                            : SP_OK;
}

/* What the chart endpoint serves per request and how far back (Yahoo's documented
 * and observed limits): 1m bars 7 days per request within the last 30 days; other
 * minute bars up to 90m within the last 60 days; 1h (60m) bars within the last 730
 * days; daily and longer bars without limit.  Quotes are a snapshot: no history. */
static bool yahoo_history(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                          size_t whylen) {
  if (ds->id != SP_DS_STOCK_MOVEMENTS) {
    snprintf(why, whylen, "%s is a quote snapshot: the chart endpoint gives only the current quote, "
                          "not past ones (backfill stock_movements for past prices)", ds->name);
    return false;
  }
  if (!interval) interval = "1h";
  int64_t step = interval_seconds(interval);
  if (step == 0) {
    snprintf(why, whylen, "unknown bar interval \"%s\"", interval);
    return false;
  }
  memset(out, 0, sizeof *out);
  if (step == 60) {
    out->max_span_us = 7 * SP_US_PER_DAY;
    out->max_age_us = 30 * SP_US_PER_DAY;
  } else if (step < 3600 || step == 5400) {
    out->max_span_us = out->max_age_us = 60 * SP_US_PER_DAY;
  } else if (step < 86400) {
    out->max_span_us = out->max_age_us = (int64_t)YAHOO_INTRADAY_LIMIT_DAYS * SP_US_PER_DAY;
  }
  return true;
}

const sp_source_provider sp_source_yahoo = {
    .name = "yahoo",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_FINANCIAL_DATA) |
                SP_SOURCE_DATASET_BIT(SP_DS_STOCK_MOVEMENTS),
    .credential = NULL,
    .http = {.name = "yahoo",
             .base_url = "https://query1.finance.yahoo.com",
             .rate_limit = 20,
             .burst = 20,
             .max_in_flight = 16,
             .timeout_ms = 30000},
    .collect = yahoo_collect,
    .explain_error = sp_yahoo_explain_error,
    .history = yahoo_history,
};
