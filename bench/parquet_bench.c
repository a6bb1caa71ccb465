/*
 * parquet_bench.c — speed and size of stockpipe's Parquet writer and reader on an
 * hourly-bars table with the stock_movements columns (SPEC §1): 500 tickers × N/500 bars,
 * prices as cent-rounded random walks, indicators computed over them (null during their
 * lookback), volumes, a rare quality flag, provider and collected_at.
 *
 * Usage: parquet_bench [--rows N] [--variants] OUTDIR
 * Times are process CPU seconds (user + system), the DuckDB side measures the same way.
 * Writes OUTDIR/ours_snappy.parquet and OUTDIR/ours_zstd.parquet with the columnar API and
 * prints one JSON object per measurement on stdout (bench/run.sh feeds them to the DuckDB
 * side, bench/parquet_duckdb.mjs, which prints the ratio table).  Only writer calls are
 * timed (the data is generated ticker by ticker outside the timer); no fsync (DuckDB's
 * COPY does not sync either).  Scans decode every column of every row group.
 * `parquet_bench --scan FILE...` only times full scans of existing files (DuckDB's).
 * The sp_row path (format registry, what the sinks use) is measured on a tenth of the rows.
 * --variants also writes and reports the encoding options (dictionary off, DELTA for
 * timestamps, BYTE_STREAM_SPLIT for doubles) so their payoff can be measured.
 */
#include "core/row.h"
#include "core/timeutil.h"
#include "format/format.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_reader.h"
#include "format/parquet/parquet_writer.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICKERS 500

typedef struct bars {
  size_t n;
  int ncols;
  const sp_column_def *cols;
  sp_parquet_column_input in[40];
  uint8_t *valid[40];
  double *f64[40];
  int64_t *i64[40];
  sp_parquet_string *str[40];
} bars;

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static double unit_rand(void) { return (double)(next_rand() >> 11) / 9007199254740992.0; }

static char ticker_names[TICKERS][8];

/* Allocate column arrays for n rows. */
static void bars_alloc(bars *b, size_t n) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  memset(b, 0, sizeof *b);
  b->n = n;
  b->cols = ds->columns;
  b->ncols = ds->ncolumns;
  for (int c = 0; c < b->ncols; c++) {
    b->valid[c] = malloc(n);
    memset(&b->in[c], 0, sizeof b->in[c]);
    switch (b->cols[c].type) {
    case SP_DOUBLE: b->f64[c] = malloc(n * 8); b->in[c].f64 = b->f64[c]; break;
    case SP_INT64:
    case SP_TIMESTAMP: b->i64[c] = malloc(n * 8); b->in[c].i64 = b->i64[c]; break;
    case SP_STRING: b->str[c] = malloc(n * sizeof(sp_parquet_string)); b->in[c].strings = b->str[c]; break;
    default: break;
    }
    b->in[c].valid = b->cols[c].nullable ? b->valid[c] : NULL;
  }
}

static void bars_free(bars *b) {
  for (int c = 0; c < b->ncols; c++) {
    free(b->valid[c]);
    free(b->f64[c]);
    free(b->i64[c]);
    free(b->str[c]);
  }
}

/* Column index by name, cached (the generator looks names up per value). */
static int col(const char *name) {
  static const char *names[64];
  static int index[64], n;
  for (int i = 0; i < n; i++)
    if (names[i] == name) return index[i];
  int c = sp_dataset_column_index(sp_dataset_get(SP_DS_STOCK_MOVEMENTS), name);
  if (n < 64) {
    names[n] = name;
    index[n++] = c;
  }
  return c;
}

static void set_d(bars *b, const char *name, size_t i, double v, bool valid) {
  int c = col(name);
  b->f64[c][i] = valid ? v : 0;
  b->valid[c][i] = valid;
}

/* Fill b with the bars of ticker `t` (b->n of them). */
static void make_ticker(bars *b, int t) {
  static const sp_parquet_string interval = {"1h", 2}, provider = {"yahoo", 5}, flag = {"stale_price", 11};
  double price = 20 + unit_rand() * 480, prev_close = 0;
  double sum20 = 0, sum50 = 0, sq20 = 0, ema12 = 0, ema26 = 0, signal = 0, gain = 0, loss = 0, atr = 0;
  double hi52 = 0, lo52 = 1e300, vol90 = 0;
  double closes[64] = {0};
  int64_t start = INT64_C(1641220200000000); /* 2022-01-03T14:30:00Z */
  for (size_t i = 0; i < b->n; i++) {
    double open = price;
    double close = round((price * (1 + (unit_rand() - 0.5) * 0.02)) * 100) / 100;
    double high = round(fmax(open, close) * (1 + unit_rand() * 0.005) * 100) / 100;
    double low = round(fmin(open, close) * (1 - unit_rand() * 0.005) * 100) / 100;
    price = close;
    int64_t volume = 1000 + (int64_t)(next_rand() % 5000000);
    b->str[col("ticker")][i] = (sp_parquet_string){ticker_names[t], (uint32_t)strlen(ticker_names[t])};
    b->str[col("interval")][i] = interval;
    b->i64[col("bar_time")][i] = start + (int64_t)i * 3600 * SP_US_PER_SEC;
    set_d(b, "open", i, open, true);
    set_d(b, "high", i, high, true);
    set_d(b, "low", i, low, true);
    set_d(b, "close", i, close, true);
    set_d(b, "adj_close", i, 0, false);
    b->i64[col("volume")][i] = volume;
    set_d(b, "change", i, close - prev_close, i > 0);
    set_d(b, "change_pct", i, i > 0 ? (close - prev_close) / prev_close * 100 : 0, i > 0);
    /* indicators (TA-Lib-like shapes; exact values do not matter for the benchmark) */
    closes[i % 64] = close;
    sum20 += close - (i >= 20 ? closes[(i - 20) % 64] : 0);
    sq20 += close * close - (i >= 20 ? closes[(i - 20) % 64] * closes[(i - 20) % 64] : 0);
    sum50 += close - (i >= 50 ? closes[(i - 50) % 64] : 0);
    ema12 = i == 0 ? close : ema12 + (close - ema12) * 2 / 13;
    ema26 = i == 0 ? close : ema26 + (close - ema26) * 2 / 27;
    double macd = ema12 - ema26;
    signal = i == 0 ? macd : signal + (macd - signal) * 2 / 10;
    double up = i > 0 && close > prev_close ? close - prev_close : 0, down = i > 0 && close < prev_close ? prev_close - close : 0;
    gain = (gain * 13 + up) / 14;
    loss = (loss * 13 + down) / 14;
    atr = (atr * 13 + (high - low)) / 14;
    double mid = sum20 / 20, sd = sqrt(fmax(0, sq20 / 20 - mid * mid));
    set_d(b, "sma_20", i, mid, i >= 19);
    set_d(b, "sma_50", i, sum50 / 50, i >= 49);
    set_d(b, "ema_12", i, ema12, i >= 11);
    set_d(b, "ema_26", i, ema26, i >= 25);
    set_d(b, "rsi_14", i, loss > 0 ? 100 - 100 / (1 + gain / loss) : 100, i >= 14);
    set_d(b, "macd", i, macd, i >= 25);
    set_d(b, "macd_signal", i, signal, i >= 33);
    set_d(b, "macd_hist", i, macd - signal, i >= 33);
    set_d(b, "bb_upper", i, mid + 2 * sd, i >= 19);
    set_d(b, "bb_middle", i, mid, i >= 19);
    set_d(b, "bb_lower", i, mid - 2 * sd, i >= 19);
    set_d(b, "atr_14", i, atr, i >= 14);
    hi52 = fmax(hi52, high);
    lo52 = fmin(lo52, low);
    set_d(b, "high_52w", i, hi52, i >= 8736);
    set_d(b, "low_52w", i, lo52, i >= 8736);
    vol90 = vol90 + ((double)volume * 7 - vol90) / 90;
    set_d(b, "avg_volume_90d", i, round(vol90), i >= 630);
    int qf = col("quality_flags");
    b->valid[qf][i] = next_rand() % 1000 == 0;
    b->str[qf][i] = b->valid[qf][i] ? flag : (sp_parquet_string){"", 0};
    b->str[col("provider")][i] = provider;
    b->i64[col("collected_at")][i] = start + ((int64_t)i + 1) * 3600 * SP_US_PER_SEC + (int64_t)(next_rand() % 5000000);
    prev_close = close;
  }
}

/* Process CPU time (user + system): robust on a shared, noisy host; the write() system
 * calls count too.  Wall time would include other processes' load. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The size of the file a write (`rc`, `err`) produced at `path`, or -1 with the
 * failure reported. */
static long long written_size(int rc, const char *path, const sp_error *err) {
  if (rc) {
    fprintf(stderr, "parquet_bench: %s: %s\n", path, err->msg);
    return -1;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  return (long long)st.st_size;
}

static int write_file(const char *path, size_t rows, const sp_parquet_writer_options *o, double *seconds, long long *size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  bars b;
  size_t per = rows / TICKERS;
  bars_alloc(&b, per);
  rng = 88172645463325252ull;
  sp_parquet_writer *w;
  sp_error err = {0};
  double t0 = now_s(), spent = 0;
  int rc = sp_parquet_writer_open(&w, fd, ds->columns, ds->ncolumns, o, &err);
  spent += now_s() - t0;
  for (int t = 0; rc == 0 && t < TICKERS; t++) {
    make_ticker(&b, t);
    t0 = now_s();
    rc = sp_parquet_writer_write_columns(w, b.in, per, &err);
    spent += now_s() - t0;
  }
  t0 = now_s();
  if (rc == 0) rc = sp_parquet_writer_finish(w, &err);
  sp_parquet_writer_free(w);
  spent += now_s() - t0;
  close(fd);
  bars_free(&b);
  *size = written_size(rc, path, &err);
  *seconds = spent;
  return *size < 0;
}

/* Decode every column of every row group; returns seconds or -1. */
static double scan_file(const char *path, long long *rows_out) {
  double t0 = now_s();
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open(&r, path, NULL, &err)) {
    fprintf(stderr, "parquet_bench: %s\n", err.msg);
    return -1;
  }
  int ncols = sp_parquet_reader_num_columns(r);
  sp_parquet_column_vector *v = calloc((size_t)ncols, sizeof *v);
  long long rows = 0;
  int rc = v ? 0 : -1;
  for (int g = 0; rc == 0 && g < sp_parquet_reader_num_row_groups(r); g++) {
    for (int c = 0; rc == 0 && c < ncols; c++)
      if (sp_parquet_reader_read_column(r, g, c, &v[c], &err)) {
        fprintf(stderr, "parquet_bench: %s\n", err.msg);
        rc = -1;
      }
    rows += sp_parquet_reader_row_group_rows(r, g);
  }
  for (int c = 0; v && c < ncols; c++) sp_parquet_column_vector_free(&v[c]);
  free(v);
  sp_parquet_reader_close(r);
  *rows_out = rows;
  return rc ? -1 : now_s() - t0;
}

/* The sinks' path: the format registry's "parquet" writer fed sp_rows (snappy, the raw
 * datasets' default).  Row building is outside the timer, like the data generation. */
static int measure_rows_api(const char *dir, size_t rows) {
  char path[4096];
  snprintf(path, sizeof path, "%s/rows_api_snappy.parquet", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_STOCK_MOVEMENTS);
  const sp_format_vtable *fmt = sp_format_find("parquet");
  size_t per = rows / TICKERS;
  bars b;
  bars_alloc(&b, per);
  sp_row *batch = calloc(per, sizeof *batch);
  sp_format_writer *w = NULL;
  sp_error err = {0};
  rng = 88172645463325252ull;
  double t0 = now_s(), spent = 0;
  int rc = batch ? fmt->open(&w, fd, ds, NULL, &err) : SP_ERR_NOMEM;
  spent += now_s() - t0;
  for (int t = 0; rc == 0 && t < TICKERS; t++) {
    make_ticker(&b, t);
    for (size_t i = 0; rc == 0 && i < per; i++) {
      rc = sp_row_init(&batch[i], ds);
      for (int c = 0; rc == 0 && c < ds->ncolumns; c++) {
        if (b.cols[c].nullable && !b.valid[c][i]) continue;
        switch (b.cols[c].type) {
        case SP_DOUBLE: rc = sp_row_set_double(&batch[i], c, b.f64[c][i]); break;
        case SP_INT64:
        case SP_TIMESTAMP: rc = sp_row_set_i64(&batch[i], c, b.i64[c][i]); break;
        case SP_STRING: rc = sp_row_set_string(&batch[i], c, b.str[c][i].ptr, b.str[c][i].len); break;
        default: break;
        }
      }
    }
    t0 = now_s();
    if (rc == 0) rc = fmt->write_rows(w, batch, per, &err);
    spent += now_s() - t0;
    for (size_t i = 0; i < per; i++) sp_row_clear(&batch[i]);
  }
  t0 = now_s();
  if (rc == 0) rc = fmt->finish(w, &err);
  spent += now_s() - t0;
  if (w) fmt->destroy(w);
  close(fd);
  free(batch);
  bars_free(&b);
  long long size = written_size(rc, path, &err);
  if (size < 0) return 1;
  printf("{\"engine\":\"stockpipe\",\"name\":\"rows_api_snappy\",\"codec\":\"snappy\",\"rows\":%zu,\"write_s\":%.4f,\"bytes\":%lld}\n",
         per * TICKERS, spent, size);
  fflush(stdout);
  return 0;
}

static int measure(const char *dir, const char *name, size_t rows, const sp_parquet_writer_options *o) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
  double secs;
  long long size, scanned;
  if (write_file(path, rows, o, &secs, &size)) return 1;
  double scan = scan_file(path, &scanned);
  if (scan < 0 || scanned != (long long)(rows / TICKERS * TICKERS)) return 1;
  printf("{\"engine\":\"stockpipe\",\"name\":\"%s\",\"codec\":\"%s\",\"rows\":%lld,\"write_s\":%.4f,\"bytes\":%lld,\"scan_s\":%.4f,\"file\":\"%s\"}\n",
         name, o->codec == PQ_CODEC_ZSTD ? "zstd" : o->codec == PQ_CODEC_SNAPPY ? "snappy" : "other", scanned, secs, size,
         scan, path);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--scan") == 0) {
    for (int k = 2; k < argc; k++) {
      long long n;
      double secs = scan_file(argv[k], &n);
      if (secs < 0) return 1;
      printf("{\"engine\":\"stockpipe\",\"scan_of\":\"%s\",\"rows\":%lld,\"scan_s\":%.4f}\n", argv[k], n, secs);
    }
    return 0;
  }
  size_t rows = 10000000;
  bool variants = false;
  int i = 1;
  for (; i < argc - 1; i++) {
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc - 1) rows = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--variants") == 0) variants = true;
    else break;
  }
  if (i != argc - 1 || rows < TICKERS) {
    fprintf(stderr, "usage: parquet_bench [--rows N] [--variants] OUTDIR\n");
    return 2;
  }
  const char *dir = argv[i];
  for (int t = 0; t < TICKERS; t++) {
    int len = 1 + (int)(next_rand() % 4);
    for (int k = 0; k < len; k++) ticker_names[t][k] = (char)('A' + next_rand() % 26);
    snprintf(ticker_names[t] + len, sizeof ticker_names[t] - (size_t)len, "%d", t % 10);
  }
  sp_parquet_writer_options o;
  int rc = 0;
  for (int codec = 0; codec < 2; codec++) {
    sp_parquet_writer_options_for_codec(&o, codec ? PQ_CODEC_ZSTD : PQ_CODEC_SNAPPY); /* as the sinks write */
    const char *suffix = codec ? "zstd" : "snappy";
    char name[64];
    snprintf(name, sizeof name, "ours_%s", suffix);
    rc |= measure(dir, name, rows, &o);
    if (!variants) continue;
    const struct { const char *tag; bool dict, delta, bss; } v[] = {
        {"plain", false, false, false}, {"dict", true, false, false}, {"dict_delta", true, true, false},
        {"dict_bss", true, false, true}, {"dict_delta_bss", true, true, true}};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      o.dictionary = v[k].dict;
      o.delta_timestamps = v[k].delta;
      o.byte_stream_split_doubles = v[k].bss;
      snprintf(name, sizeof name, "variant_%s_%s", v[k].tag, suffix);
      rc |= measure(dir, name, rows, &o);
    }
  }
  rc |= measure_rows_api(dir, rows / 10 < TICKERS ? TICKERS : rows / 10);
  return rc;
}
