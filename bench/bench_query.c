/*
 * bench_query.c — times the offline client (stockpipe/client.h) on the four benchmark
 * queries of issue 6 over a stock_movements data directory (bench/bench_query.sh makes
 * it with tests/tools/c/query_gen.c and runs DuckDB on the same files):
 *   Q1  two tickers × one month, all columns, key order
 *   Q2  full scan, rsi_14 > 70: count and mean close per ticker (aggregated here over
 *       the result set, which the client returns in storage order: any_order)
 *   Q3  the latest bar per ticker, all columns: pass 1 reads ticker and bar_time of
 *       every row for each ticker's latest time, pass 2 reads all columns of the
 *       partitions from the earliest of those days on and keeps the latest rows
 *   Q4  one ticker's full history, 3 columns, ordered by time
 * Usage: bench_query DATA_DIR MONTH_FROM MONTH_TO TICKER1 TICKER2 REPEAT
 * Prints "Q<n> <best seconds> <rows>" lines.
 */
#include "core/timeutil.h"
#include "stockpipe/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const sp_error *err) {
  fprintf(stderr, "bench_query: %s: %s\n", what, err->msg);
  exit(1);
}

static size_t run_q1(sp_client *c, const char *from, const char *to, const char *const *tickers) {
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  q.tickers = tickers;
  q.ntickers = 2;
  q.from = from;
  q.to = to;
  sp_result *r;
  sp_error err = {0};
  if (sp_client_query_run(c, &q, &r, &err)) die("Q1", &err);
  size_t n = sp_result_num_rows(r);
  sp_result_free(r);
  return n;
}

/* Group index of a ticker string: a small open-addressing table. */
typedef struct group {
  char name[16];
  size_t len;
  uint64_t count;
  double sum;
  int64_t latest;
  bool used;
} group;

enum { NGROUPS = 4096 };

static group *find_group(group *g, const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  for (size_t k = h % NGROUPS;; k = (k + 1) % NGROUPS) {
    if (!g[k].used) {
      g[k].used = true;
      g[k].len = len < 15 ? len : 15;
      memcpy(g[k].name, s, g[k].len);
      g[k].latest = INT64_MIN;
      return &g[k];
    }
    if (g[k].len == len && memcmp(g[k].name, s, len) == 0) return &g[k];
  }
}

static size_t run_q2(sp_client *c) {
  static const char *cols[] = {"ticker", "close"};
  static const char *where[] = {"rsi_14>70"};
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  q.columns = cols;
  q.ncolumns = 2;
  q.where = where;
  q.nwhere = 1;
  q.any_order = true;
  sp_result *r;
  sp_error err = {0};
  if (sp_client_query_run(c, &q, &r, &err)) die("Q2", &err);
  group *g = calloc(NGROUPS, sizeof *g);
  size_t n = sp_result_num_rows(r), ngroups = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *t = sp_result_get_string(r, i, 0, &len);
    group *x = find_group(g, t, len);
    if (x->count == 0) ngroups++;
    x->count++;
    x->sum += sp_result_get_double(r, i, 1);
  }
  sp_result_free(r);
  free(g);
  return ngroups;
}

static size_t run_q3(sp_client *c) {
  static const char *cols[] = {"ticker", "bar_time"};
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  q.columns = cols;
  q.ncolumns = 2;
  q.any_order = true;
  sp_result *r;
  sp_error err = {0};
  if (sp_client_query_run(c, &q, &r, &err)) die("Q3 pass 1", &err);
  group *g = calloc(NGROUPS, sizeof *g);
  for (size_t i = 0; i < sp_result_num_rows(r); i++) {
    size_t len;
    const char *t = sp_result_get_string(r, i, 0, &len);
    group *x = find_group(g, t, len);
    int64_t bt = sp_result_get_i64(r, i, 1);
    if (bt > x->latest) x->latest = bt;
  }
  sp_result_free(r);
  int64_t earliest = INT64_MAX;
  for (int k = 0; k < NGROUPS; k++)
    if (g[k].used && g[k].latest < earliest) earliest = g[k].latest;
  char from[SP_DATE_TEXT_MAX];
  sp_format_date(sp_timestamp_to_days(earliest), from);
  sp_client_query_init(&q, "stock_movements");
  q.from = from;
  q.any_order = true;
  if (sp_client_query_run(c, &q, &r, &err)) die("Q3 pass 2", &err);
  int tc = sp_result_column_index(r, "ticker"), bc = sp_result_column_index(r, "bar_time");
  size_t found = 0;
  for (size_t i = 0; i < sp_result_num_rows(r); i++) {
    size_t len;
    const char *t = sp_result_get_string(r, i, tc, &len);
    group *x = find_group(g, t, len);
    if (sp_result_get_i64(r, i, bc) == x->latest) found++;
  }
  sp_result_free(r);
  free(g);
  return found;
}

static size_t run_q4(sp_client *c, const char *ticker) {
  static const char *cols[] = {"ticker", "bar_time", "close"};
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  q.tickers = &ticker;
  q.ntickers = 1;
  q.columns = cols;
  q.ncolumns = 3;
  sp_result *r;
  sp_error err = {0};
  if (sp_client_query_run(c, &q, &r, &err)) die("Q4", &err);
  size_t n = sp_result_num_rows(r);
  sp_result_free(r);
  return n;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: bench_query DATA_DIR FROM TO TICKER1 TICKER2 REPEAT\n");
    return 2;
  }
  sp_client *c;
  sp_error err = {0};
  if (sp_client_open(&c, argv[1], &err)) die(argv[1], &err);
  const char *tickers[] = {argv[4], argv[5]};
  int repeat = atoi(argv[6]);
  for (int qn = 1; qn <= 4; qn++) {
    double best = 1e30;
    size_t rows = 0;
    for (int i = 0; i < repeat; i++) {
      int64_t t0 = sp_monotonic_us();
      switch (qn) {
      case 1: rows = run_q1(c, argv[2], argv[3], tickers); break;
      case 2: rows = run_q2(c); break;
      case 3: rows = run_q3(c); break;
      default: rows = run_q4(c, argv[4]); break;
      }
      double s = (double)(sp_monotonic_us() - t0) / 1e6;
      if (s < best) best = s;
    }
    printf("Q%d %.4f %zu\n", qn, best, rows);
  }
  sp_client_close(c);
  return 0;
}
