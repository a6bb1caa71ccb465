/*
 * client.c — the offline client object (stockpipe/client.h): a data directory and the
 * dataset roots under it, the general query (compile filters into predicates, choose
 * the columns to read, discover, scan, order) and the five getters of the user's API
 * as thin wrappers over it.
 */
#include "query/query.h"

#include "core/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int sp_client_open(sp_client **out, const char *data_dir, sp_error *err) {
  struct stat st;
  if (stat(data_dir, &st) != 0)
    return sp_error_set(err, errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO, "data directory %s: %s", data_dir,
                        strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sp_error_set(err, SP_ERR_INVALID, "data directory %s is not a directory", data_dir);
  sp_client *c = calloc(1, sizeof *c);
  if (!c || !(c->data_dir = strdup(data_dir))) {
    free(c);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *out = c;
  return SP_OK;
}

void sp_client_close(sp_client *c) {
  if (!c) return;
  for (int d = 0; d < SP_DS_COUNT; d++) sp_free_strings(c->roots[d], c->nroots[d]);
  free(c->data_dir);
  free(c);
}

const char *sp_client_data_dir(const sp_client *c) { return c->data_dir; }

static const sp_dataset_def *find_dataset(const char *name, sp_error *err) {
  const sp_dataset_def *ds = name ? sp_dataset_by_name(name) : NULL;
  if (!ds)
    sp_error_set(err, SP_ERR_NOT_FOUND,
                 "unknown dataset \"%s\" (financial_data, stock_movements, news, macroeconomic, policy)",
                 name ? name : "");
  return ds;
}

int sp_client_add_root(sp_client *c, const char *dataset, const char *dir, sp_error *err) {
  const sp_dataset_def *ds = find_dataset(dataset, err);
  if (!ds) return SP_ERR_NOT_FOUND;
  char **g = realloc(c->roots[ds->id], (c->nroots[ds->id] + 1) * sizeof *g);
  if (!g) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  c->roots[ds->id] = g;
  if (!(g[c->nroots[ds->id]] = strdup(dir))) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  c->nroots[ds->id]++;
  return SP_OK;
}

int sp_client_roots(const sp_client *c, const sp_dataset_def *ds, char ***roots, size_t *n, sp_error *err) {
  size_t count = 1 + c->nroots[ds->id];
  char **v = calloc(count, sizeof *v);
  if (!v) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t len = strlen(c->data_dir) + strlen(ds->tier) + strlen(ds->name) + 3;
  v[0] = malloc(len);
  if (v[0]) snprintf(v[0], len, "%s/%s/%s", c->data_dir, ds->tier, ds->name);
  bool ok = v[0] != NULL;
  for (size_t i = 1; i < count && ok; i++) ok = (v[i] = strdup(c->roots[ds->id][i - 1])) != NULL;
  if (!ok) {
    sp_free_strings(v, count);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *roots = v;
  *n = count;
  return SP_OK;
}

void sp_client_query_init(sp_client_query *q, const char *dataset) {
  memset(q, 0, sizeof *q);
  q->dataset = dataset;
  q->limit = -1;
}

static int push_pred(sp_scan *scan, const sp_qpred *p, sp_error *err) {
  sp_qpred *g = realloc(scan->preds, (scan->npreds + 1) * sizeof *g);
  if (!g) {
    sp_qpred tmp = *p;
    sp_pred_free(&tmp);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  scan->preds = g;
  scan->preds[scan->npreds++] = *p;
  return SP_OK;
}

/* A one-value predicate on column c. */
static int push_bound(sp_scan *scan, int c, sp_qop op, sp_parquet_value v, sp_error *err) {
  sp_qpred p = {.column = c, .type = scan->ds->columns[c].type, .op = op, .nvalues = 1};
  p.values = malloc(sizeof *p.values);
  if (!p.values) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  p.values[0] = v;
  return push_pred(scan, &p, err);
}

static int parse_day(const char *text, const char *what, int32_t *day, sp_error *err) {
  if (sp_parse_date(text, day))
    return sp_error_set(err, SP_ERR_INVALID, "%s \"%s\": expected a date YYYY-MM-DD", what, text);
  return SP_OK;
}

/* Everything but the scan itself: predicates, columns, date range. */
static int compile(const sp_client_query *q, sp_scan *scan, int **out_cols, int *nout, sp_error *err) {
  const sp_dataset_def *ds = find_dataset(q->dataset, err);
  if (!ds) return SP_ERR_NOT_FOUND;
  memset(scan, 0, sizeof *scan);
  scan->ds = ds;
  scan->stop_after = -1;
  scan->skip_bad_files = q->skip_bad_files;
  scan->used = calloc((size_t)ds->ncolumns, sizeof *scan->used);
  *out_cols = malloc((size_t)ds->ncolumns * sizeof **out_cols);
  if (!scan->used || !*out_cols) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  /* Projection, in schema order. */
  bool *shown = calloc((size_t)ds->ncolumns, sizeof *shown);
  if (!shown) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < q->ncolumns; i++) {
    int c = sp_dataset_column_index(ds, q->columns[i]);
    if (c < 0) {
      free(shown);
      return sp_error_set(err, SP_ERR_NOT_FOUND, "%s has no column \"%s\"", ds->name, q->columns[i]);
    }
    shown[c] = true;
  }
  *nout = 0;
  for (int c = 0; c < ds->ncolumns; c++)
    if (shown[c] || q->ncolumns == 0) (*out_cols)[(*nout)++] = c, scan->used[c] = true;
  free(shown);
  if (!q->any_order)
    for (int k = 0; k < ds->nkey; k++) scan->used[ds->key_columns[k]] = true;
  /* Filters. */
  int rc = SP_OK;
  if (q->ntickers) {
    if (sp_dataset_column_index(ds, "ticker") < 0)
      return sp_error_set(err, SP_ERR_INVALID, "%s has no ticker column (--tickers does not apply)", ds->name);
    sp_qpred p;
    rc = sp_pred_in(ds, "ticker", q->tickers, q->ntickers, &p, err);
    if (!rc) rc = push_pred(scan, &p, err);
  }
  if (!rc && q->in_column) {
    sp_qpred p;
    rc = sp_pred_in(ds, q->in_column, q->in_values, q->nin_values, &p, err);
    if (!rc) rc = push_pred(scan, &p, err);
  }
  for (size_t i = 0; i < q->nwhere && !rc; i++) {
    sp_qpred p;
    rc = sp_where_parse(ds, q->where[i], &p, err);
    if (!rc) rc = push_pred(scan, &p, err);
  }
  if (rc) return rc;
  int dc = ds->date_column;
  bool is_ts = ds->columns[dc].type == SP_TIMESTAMP;
  scan->from = INT32_MIN;
  scan->to = INT32_MAX;
  if (q->from) {
    if ((rc = parse_day(q->from, "--from", &scan->from, err))) return rc;
    sp_parquet_value v = {0};
    if (is_ts) v.u.i64 = (int64_t)scan->from * SP_US_PER_DAY;
    else v.u.i32 = scan->from;
    if ((rc = push_bound(scan, dc, SP_Q_GE, v, err))) return rc;
  }
  if (q->to) {
    if ((rc = parse_day(q->to, "--to", &scan->to, err))) return rc;
    sp_parquet_value v = {0};
    if (is_ts) v.u.i64 = ((int64_t)scan->to + 1) * SP_US_PER_DAY - 1;
    else v.u.i32 = scan->to;
    if ((rc = push_bound(scan, dc, SP_Q_LE, v, err))) return rc;
  }
  scan->has_range = q->from || q->to;
  for (size_t p = 0; p < scan->npreds; p++) scan->used[scan->preds[p].column] = true;
  if (q->any_order && q->limit >= 0) scan->stop_after = q->limit;
  return SP_OK;
}

int sp_client_query_run(sp_client *c, const sp_client_query *q, sp_result **out, sp_error *err) {
  sp_scan scan = {0};
  int *out_cols = NULL, nout = 0;
  char **roots = NULL;
  size_t nroots = 0;
  sp_file_list files = {0};
  sp_table t = {0};
  int rc = compile(q, &scan, &out_cols, &nout, err);
  if (!rc) rc = sp_client_roots(c, scan.ds, &roots, &nroots, err);
  if (!rc) rc = sp_discover_files((const char *const *)roots, nroots, &files, err);
  if (!rc && sp_table_init(&t, scan.ds, scan.used)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_scan_files(&scan, &files, &t, err);
  if (!rc) rc = sp_result_make(&t, out_cols, nout, q->any_order, q->limit, &scan, out, err);
  sp_table_free(&t);
  sp_file_list_free(&files);
  sp_free_strings(roots, nroots);
  free(out_cols);
  if (scan.ds) sp_scan_free(&scan);
  return rc;
}

/* ---- the getters ---- */

/* A query of `dataset` for tickers and dates, the getters' common part. */
static void init_ticker_query(sp_client_query *q, const char *dataset, const char *const *tickers, size_t ntickers,
                              const char *from, const char *to) {
  sp_client_query_init(q, dataset);
  q->tickers = tickers;
  q->ntickers = ntickers;
  q->from = from;
  q->to = to;
}

int sp_client_get_financial_data(sp_client *c, const char *const *tickers, size_t ntickers, const char *from,
                                 const char *to, sp_result **out, sp_error *err) {
  sp_client_query q;
  init_ticker_query(&q, "financial_data", tickers, ntickers, from, to);
  return sp_client_query_run(c, &q, out, err);
}

/* Indicator families: a name (case-insensitive) and the columns it selects. */
static const struct {
  const char *name;
  const char *columns[3];
} indicator_families[] = {
    {"sma", {"sma_20", "sma_50"}},   {"ema", {"ema_12", "ema_26"}},
    {"rsi", {"rsi_14"}},             {"macd", {"macd", "macd_signal", "macd_hist"}},
    {"bbands", {"bb_upper", "bb_middle", "bb_lower"}}, {"bb", {"bb_upper", "bb_middle", "bb_lower"}},
    {"atr", {"atr_14"}},             {"52w", {"high_52w", "low_52w"}},
    {"avg_volume", {"avg_volume_90d"}}};

static bool is_indicator_column(const char *name) {
  for (size_t f = 0; f < sizeof indicator_families / sizeof indicator_families[0]; f++)
    for (int k = 0; k < 3 && indicator_families[f].columns[k]; k++)
      if (strcmp(indicator_families[f].columns[k], name) == 0) return true;
  return false;
}

int sp_client_get_stock_movements(sp_client *c, const char *from, const char *to, const char *const *tickers,
                                  size_t ntickers, const char *const *indicators, size_t nindicators,
                                  sp_result **out, sp_error *err) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  bool *want = calloc((size_t)ds->ncolumns, sizeof *want);
  const char **cols = calloc((size_t)ds->ncolumns, sizeof *cols);
  if (!want || !cols) {
    free(want);
    free(cols);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  int rc = SP_OK;
  for (size_t i = 0; i < nindicators && !rc; i++) {
    char lower[64];
    snprintf(lower, sizeof lower, "%s", indicators[i]);
    for (char *p = lower; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    bool found = false; /* a family first: "macd" is the MACD line, signal and histogram */
    for (size_t f = 0; f < sizeof indicator_families / sizeof indicator_families[0]; f++) {
      if (strcmp(indicator_families[f].name, lower) != 0) continue;
      for (int k = 0; k < 3 && indicator_families[f].columns[k]; k++)
        want[sp_dataset_column_index(ds, indicator_families[f].columns[k])] = true;
      found = true;
    }
    int col = sp_dataset_column_index(ds, lower);
    if (!found && col >= 0 && is_indicator_column(lower)) {
      want[col] = true;
      found = true;
    }
    if (!found)
      rc = sp_error_set(err, SP_ERR_NOT_FOUND,
                        "unknown indicator \"%s\" (sma_20, sma_50, ema_12, ema_26, rsi_14, macd, bbands, atr_14, "
                        "52w, avg_volume or a family name)",
                        indicators[i]);
  }
  size_t ncols = 0;
  for (int col = 0; col < ds->ncolumns; col++)
    if (!is_indicator_column(ds->columns[col].name) || want[col]) cols[ncols++] = ds->columns[col].name;
  if (!rc) {
    sp_client_query q;
    init_ticker_query(&q, ds->name, tickers, ntickers, from, to);
    if (nindicators) {
      q.columns = cols;
      q.ncolumns = ncols;
    }
    rc = sp_client_query_run(c, &q, out, err);
  }
  free(want);
  free(cols);
  return rc;
}

int sp_client_get_news(sp_client *c, const char *const *tickers, size_t ntickers, const char *from, const char *to,
                       const double *sentiment_range, sp_result **out, sp_error *err) {
  sp_client_query q;
  init_ticker_query(&q, "news", tickers, ntickers, from, to);
  char lo[64], hi[64];
  const char *where[2] = {lo, hi};
  if (sentiment_range) {
    snprintf(lo, sizeof lo, "sentiment_score>=%.17g", sentiment_range[0]);
    snprintf(hi, sizeof hi, "sentiment_score<=%.17g", sentiment_range[1]);
    q.where = where;
    q.nwhere = 2;
  }
  return sp_client_query_run(c, &q, out, err);
}

static int get_with_in(sp_client *c, const char *dataset, const char *column, const char *const *values, size_t n,
                       const char *from, const char *to, sp_result **out, sp_error *err) {
  sp_client_query q;
  init_ticker_query(&q, dataset, NULL, 0, from, to);
  if (n) {
    q.in_column = column;
    q.in_values = values;
    q.nin_values = n;
  }
  return sp_client_query_run(c, &q, out, err);
}

int sp_client_get_macroeconomic(sp_client *c, const char *const *indicators, size_t nindicators, const char *from,
                                const char *to, sp_result **out, sp_error *err) {
  return get_with_in(c, "macroeconomic", "indicator", indicators, nindicators, from, to, out, err);
}

int sp_client_get_policy(sp_client *c, const char *const *event_types, size_t ntypes, const char *from,
                         const char *to, sp_result **out, sp_error *err) {
  return get_with_in(c, "policy", "event_type", event_types, ntypes, from, to, out, err);
}
