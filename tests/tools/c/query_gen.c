/*
 * query_gen.c — writes a data directory laid out as the pipeline's file sink writes it,
 * for the query engine's tests (tests/integration/test_query_duckdb.sh) and benchmark
 * (bench/bench_query.sh): <data>/<tier>/<dataset>/<partition>/<prefix><first>-<last><ext>,
 * files written with the format writers (format/format.h), several files a day cut by
 * sequence number, several row groups a file, nulls, strings that need quoting, rows
 * on both sides of UTC midnight.
 *
 * Usage:
 *   query_gen test DATA_DIR [FORMAT]   all five datasets, small (FORMAT: parquet (default),
 *                                      csv or jsonl for every file)
 *   query_gen bench DATA_DIR ROWS      stock_movements only: ROWS rows of hourly bars of
 *                                      500 tickers, one folder a day, 7 files a day
 *   query_gen many DATA_DIR DAYS FILES stock_movements: DAYS days × FILES files a day
 *
 * Layouts used by `test`: stock_movements "%Y-%m-%d/", financial_data "dt=%Y-%m-%d/",
 * news "%Y/%m/%d/", macroeconomic and policy "%Y-%m-%d/".  Deterministic (fixed seed).
 * Leaves out 2026-03-04 (a Wednesday) from stock_movements: one trading day missing.
 */
#include "core/durable.h"
#include "core/row.h"
#include "core/timeutil.h"
#include "format/format.h"
#include "sinks/sink.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static const char *const strings_pool[] = {"plain", "with, comma", "with \"quote\"", "multi\nline", "",
                                           "ünïcödé ✓", "O'Brien", "  spaced  ", "tab\there"};

typedef struct out_file {
  const sp_dataset_def *ds;
  const sp_format_vtable *fmt;
  const char *data_dir, *layout, *prefix;
  size_t row_group_rows;
  uint64_t seq;
} out_file;

/* Write rows[0..n) (all of one day) as `files` files cut by sequence number. */
static int write_day(out_file *o, int32_t day, sp_row *rows, size_t n, int files) {
  char rel[64], dir[PATH_MAX];
  sp_error err = {0};
  int64_t us = (int64_t)day * SP_US_PER_DAY;
  if (sp_sink_expand_path(o->layout, us, rel, sizeof rel, &err)) return -1;
  snprintf(dir, sizeof dir, "%s/%s/%s/%s", o->data_dir, o->ds->tier, o->ds->name, rel);
  if (sp_mkdirs(dir, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  size_t per = (n + (size_t)files - 1) / (size_t)files;
  for (size_t start = 0; start < n; start += per) {
    size_t cnt = n - start < per ? n - start : per;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s%llu-%llu%s", dir, o->prefix, (unsigned long long)o->seq + 1,
             (unsigned long long)(o->seq + cnt), o->fmt->extension);
    o->seq += cnt;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    sp_format_writer *w;
    sp_format_options fo = {NULL, 0, o->row_group_rows};
    int rc = o->fmt->open(&w, fd, o->ds, &fo, &err);
    if (!rc) rc = o->fmt->write_rows(w, rows + start, cnt, &err);
    if (!rc) rc = o->fmt->finish(w, &err);
    if (w) o->fmt->destroy(w);
    close(fd);
    if (rc) {
      fprintf(stderr, "%s: %s\n", path, err.msg);
      return -1;
    }
  }
  return 0;
}

/* Fill every column not set yet with a generic value of its type (nulls when nullable). */
static void fill_rest(sp_row *r, const bool *set, int64_t t, double null_rate) {
  const sp_dataset_def *ds = r->ds;
  for (int c = 0; c < ds->ncolumns; c++) {
    if (set[c]) continue;
    const sp_column_def *col = &ds->columns[c];
    if (col->nullable && rnd01() < null_rate) continue;
    switch (col->type) {
    case SP_DOUBLE: {
      double v = (double)(int64_t)(rnd() % 2000000) / 100.0 - (rnd() % 10 == 0 ? 5000.0 : 0.0);
      if (rnd() % 7 == 0) v = (double)(int64_t)(rnd() % 1000000) / 10000.0;
      sp_row_set_double(r, c, v);
      break;
    }
    case SP_INT64: sp_row_set_i64(r, c, (int64_t)(rnd() % 90000000000000ull) + (rnd() % 5 == 0 ? INT64_C(1) << 53 : 0)); break;
    case SP_INT32: sp_row_set_i32(r, c, (int32_t)(rnd() % 100000)); break;
    case SP_BOOL: sp_row_set_bool(r, c, rnd() & 1); break;
    case SP_DATE: sp_row_set_i32(r, c, sp_timestamp_to_days(t)); break;
    case SP_TIMESTAMP: sp_row_set_i64(r, c, t + (int64_t)(rnd() % 3600000000ull) + (rnd() % 3 ? 0 : 123456)); break;
    case SP_STRING: {
      if (strcmp(col->name, "provider") == 0) {
        sp_row_set_cstr(r, c, rnd() % 2 ? "yahoo" : "finnhub");
        break;
      }
      if (strcmp(col->name, "quality_flags") == 0) {
        sp_row_set_cstr(r, c, rnd() % 2 ? "price_jump" : "price_jump,volume_spike");
        break;
      }
      sp_row_set_cstr(r, c, strings_pool[rnd() % (sizeof strings_pool / sizeof strings_pool[0])]);
      break;
    }
    }
  }
}

static const char *const tickers_test[] = {"AAPL", "AMZN", "BRK-B", "GOOGL", "META", "MSFT", "NVDA", "TSLA"};

static int set_by_name(sp_row *r, bool *set, const char *name, sp_type t, int64_t iv, double dv, const char *sv) {
  int c = sp_row_col(r, name);
  if (c < 0) return -1;
  set[c] = true;
  switch (t) {
  case SP_STRING: return sp_row_set_cstr(r, c, sv);
  case SP_DOUBLE: return sp_row_set_double(r, c, dv);
  case SP_DATE:
  case SP_INT32: return sp_row_set_i32(r, c, (int32_t)iv);
  default: return sp_row_set_i64(r, c, iv);
  }
}

typedef struct day_rows {
  sp_row *rows;
  size_t n, cap;
} day_rows;

static sp_row *next_row(day_rows *d, const sp_dataset_def *ds) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 256;
    d->rows = realloc(d->rows, d->cap * sizeof *d->rows);
    if (!d->rows) abort();
  }
  sp_row *r = &d->rows[d->n++];
  sp_row_init(r, ds);
  return r;
}

static void clear_rows(day_rows *d) {
  for (size_t i = 0; i < d->n; i++) sp_row_clear(&d->rows[i]);
  d->n = 0;
}

/* Shuffle so files are not in key order (the sink writes in arrival order). */
static void shuffle(day_rows *d) {
  for (size_t i = d->n; i > 1; i--) {
    size_t j = rnd() % i;
    sp_row t = d->rows[i - 1];
    d->rows[i - 1] = d->rows[j];
    d->rows[j] = t;
  }
}

/* One dataset over `ndays` days from `first`; `make` adds the day's rows. */
typedef void (*make_day_fn)(const sp_dataset_def *ds, int32_t day, day_rows *out);

static int gen_dataset(const char *data_dir, sp_dataset_id id, const char *fmt, const char *layout, const char *prefix,
                       int32_t first, int ndays, int files, size_t rg, make_day_fn make, int32_t skip_day) {
  out_file o = {sp_dataset_get(id), sp_format_find(fmt), data_dir, layout, prefix, rg, 0};
  day_rows d = {0};
  int rc = 0;
  for (int i = 0; i < ndays && !rc; i++) {
    int32_t day = first + i;
    if (day == skip_day) continue;
    make(o.ds, day, &d);
    shuffle(&d);
    rc = write_day(&o, day, d.rows, d.n, files);
    clear_rows(&d);
  }
  free(d.rows);
  return rc;
}

static size_t bench_tickers = 8;

static void make_movements(const sp_dataset_def *ds, int32_t day, day_rows *out) {
  int64_t base = (int64_t)day * SP_US_PER_DAY;
  for (size_t t = 0; t < bench_tickers; t++) {
    char sym[32];
    if (bench_tickers == 8) snprintf(sym, sizeof sym, "%s", tickers_test[t]);
    else snprintf(sym, sizeof sym, "T%03zu", t);
    for (int h = 0; h < 24; h++) {
      if (bench_tickers == 8 && h % 5 == 3) continue; /* some hours missing */
      sp_row *r = next_row(out, ds);
      bool set[64] = {false};
      int64_t bt = base + (int64_t)h * 3600 * SP_US_PER_SEC;
      set_by_name(r, set, "ticker", SP_STRING, 0, 0, sym);
      set_by_name(r, set, "interval", SP_STRING, 0, 0, "1h");
      set_by_name(r, set, "bar_time", SP_TIMESTAMP, bt, 0, NULL);
      double close = 100.0 + (double)(t * 7 % 300) + (double)(rnd() % 10000) / 100.0;
      set_by_name(r, set, "close", SP_DOUBLE, 0, close, NULL);
      set_by_name(r, set, "rsi_14", SP_DOUBLE, 0, (double)(rnd() % 10000) / 100.0, NULL);
      set_by_name(r, set, "collected_at", SP_TIMESTAMP, bt + 3600 * SP_US_PER_SEC + 5 * SP_US_PER_SEC, 0, NULL);
      if (bench_tickers == 8 && rnd() % 4 == 0) sp_row_set_null(r, sp_row_col(r, "rsi_14"));
      fill_rest(r, set, bt, bench_tickers == 8 ? 0.25 : 0.05);
    }
    if (bench_tickers == 8) { /* a daily bar at the 14:30Z open */
      sp_row *r = next_row(out, ds);
      bool set[64] = {false};
      int64_t bt = base + (14 * 60 + 30) * 60 * SP_US_PER_SEC;
      set_by_name(r, set, "ticker", SP_STRING, 0, 0, sym);
      set_by_name(r, set, "interval", SP_STRING, 0, 0, "1d");
      set_by_name(r, set, "bar_time", SP_TIMESTAMP, bt, 0, NULL);
      fill_rest(r, set, bt, 0.25);
    }
  }
}

static void make_financial(const sp_dataset_def *ds, int32_t day, day_rows *out) {
  int64_t base = (int64_t)day * SP_US_PER_DAY;
  for (size_t t = 0; t < 8; t++)
    for (int h = 13; h <= 23; h += 2) {
      sp_row *r = next_row(out, ds);
      bool set[64] = {false};
      int64_t qt = base + (int64_t)h * 3600 * SP_US_PER_SEC + (int64_t)(rnd() % 60) * SP_US_PER_SEC;
      set_by_name(r, set, "ticker", SP_STRING, 0, 0, tickers_test[t]);
      set_by_name(r, set, "quote_time", SP_TIMESTAMP, qt, 0, NULL);
      set_by_name(r, set, "currency", SP_STRING, 0, 0, "USD");
      fill_rest(r, set, qt, 0.3);
    }
}

static uint64_t article_counter;

static void make_news(const sp_dataset_def *ds, int32_t day, day_rows *out) {
  int64_t base = (int64_t)day * SP_US_PER_DAY;
  for (int a = 0; a < 30; a++) {
    char id[65];
    snprintf(id, sizeof id, "%016llx%048x", (unsigned long long)(++article_counter * 0x9E3779B97F4A7C15ull), 0);
    int64_t pt = base + (int64_t)(rnd() % (uint64_t)SP_US_PER_DAY);
    int nt = 1 + (int)(rnd() % 3);
    for (int k = 0; k < nt; k++) {
      sp_row *r = next_row(out, ds);
      bool set[64] = {false};
      set_by_name(r, set, "article_id", SP_STRING, 0, 0, id);
      set_by_name(r, set, "ticker", SP_STRING, 0, 0, tickers_test[(a + k * 3) % 8]);
      set_by_name(r, set, "published_at", SP_TIMESTAMP, pt, 0, NULL);
      double s = (double)((int64_t)(rnd() % 2001) - 1000) / 1000.0;
      set_by_name(r, set, "sentiment_score", SP_DOUBLE, 0, s, NULL);
      set_by_name(r, set, "sentiment_label", SP_STRING, 0, 0, s > 0.05 ? "positive" : s < -0.05 ? "negative" : "neutral");
      fill_rest(r, set, pt, 0.3);
    }
  }
}

static void make_macro(const sp_dataset_def *ds, int32_t day, day_rows *out) {
  static const char *const ind[][2] = {{"interest_rate", "DGS10"}, {"unemployment_rate", "UNRATE"},
                                       {"inflation_rate", "CPIAUCSL"}, {"fed_funds_rate", "FEDFUNDS"}};
  for (int i = 0; i < 4; i++) {
    sp_row *r = next_row(out, ds);
    bool set[64] = {false};
    set_by_name(r, set, "indicator", SP_STRING, 0, 0, ind[i][0]);
    set_by_name(r, set, "series_id", SP_STRING, 0, 0, ind[i][1]);
    set_by_name(r, set, "observation_date", SP_DATE, day, 0, NULL);
    set_by_name(r, set, "provider", SP_STRING, 0, 0, "fred");
    set_by_name(r, set, "unit", SP_STRING, 0, 0, "percent");
    set_by_name(r, set, "frequency", SP_STRING, 0, 0, "d");
    fill_rest(r, set, (int64_t)day * SP_US_PER_DAY, 0.3);
  }
}

static uint64_t event_counter;

static void make_policy(const sp_dataset_def *ds, int32_t day, day_rows *out) {
  static const char *const types[] = {"press_release", "monetary_policy", "fomc_meeting", "rate_decision"};
  for (int i = 0; i < 3; i++) {
    sp_row *r = next_row(out, ds);
    bool set[64] = {false};
    char id[65];
    snprintf(id, sizeof id, "%064llx", (unsigned long long)(++event_counter * 0xD1B54A32D192ED03ull));
    int64_t et = (int64_t)day * SP_US_PER_DAY + (int64_t)(rnd() % (uint64_t)SP_US_PER_DAY);
    set_by_name(r, set, "event_id", SP_STRING, 0, 0, id);
    set_by_name(r, set, "event_type", SP_STRING, 0, 0, types[(size_t)(rnd() % 4)]);
    set_by_name(r, set, "event_time", SP_TIMESTAMP, et, 0, NULL);
    fill_rest(r, set, et, 0.3);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: query_gen test DATA_DIR [FORMAT] | bench DATA_DIR ROWS | many DATA_DIR DAYS FILES\n");
    return 2;
  }
  const char *dir = argv[2];
  int32_t first = sp_days_from_civil(2026, 3, 1); /* a Sunday */
  if (strcmp(argv[1], "test") == 0) {
    const char *fmt = argc > 3 ? argv[3] : "parquet";
    if (!sp_format_find(fmt)) return 2;
    int rc = gen_dataset(dir, SP_DS_STOCK_MOVEMENTS, fmt, "%Y-%m-%d", "sp500_trends_", first, 9, 3, 40, make_movements,
                         sp_days_from_civil(2026, 3, 4));
    if (!rc) rc = gen_dataset(dir, SP_DS_FINANCIAL_DATA, fmt, "dt=%Y-%m-%d", "mag7_financial_", first, 6, 2, 16, make_financial, -1);
    if (!rc) rc = gen_dataset(dir, SP_DS_NEWS, fmt, "%Y/%m/%d", "sp500_news_", first, 5, 2, 25, make_news, -1);
    if (!rc) rc = gen_dataset(dir, SP_DS_MACROECONOMIC, fmt, "%Y-%m-%d", "macro_indicators_", first, 10, 1, 3, make_macro, -1);
    if (!rc) rc = gen_dataset(dir, SP_DS_POLICY, fmt, "%Y-%m-%d", "policy_data_", first, 7, 2, 2, make_policy, -1);
    return rc ? 1 : 0;
  }
  if (strcmp(argv[1], "many") == 0 && argc == 5) {
    int days = atoi(argv[3]), files = atoi(argv[4]);
    return gen_dataset(dir, SP_DS_STOCK_MOVEMENTS, "parquet", "%Y-%m-%d", "sp500_trends_", first, days, files, 1000,
                       make_movements, -1)
               ? 1
               : 0;
  }
  if (strcmp(argv[1], "bench") == 0 && argc == 4) {
    long long rows = atoll(argv[3]);
    bench_tickers = 500;
    long long per_day = (long long)bench_tickers * 24;
    int days = (int)((rows + per_day - 1) / per_day);
    return gen_dataset(dir, SP_DS_STOCK_MOVEMENTS, "parquet", "%Y-%m-%d", "sp500_trends_", first, days, 7, 1u << 20,
                       make_movements, -1)
               ? 1
               : 0;
  }
  fprintf(stderr, "query_gen: unknown mode %s\n", argv[1]);
  return 2;
}
