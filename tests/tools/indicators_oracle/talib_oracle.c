/*
 * talib_oracle.c — compares stockpipe's indicators (src/analytics/indicators.h)
 * with TA-Lib's own C functions, over generated series (trending, flat, gaps, a
 * 7:1 split, sub-dollar prices, a long walk) and the real OHLCV series given on the
 * command line.
 *
 * Built and run by tests/integration/test_indicators_talib.sh, which compiles it at
 * test time against libstockpipe and the TA-Lib static libraries bundled in the npm
 * package `talib` (tests/tools/node_modules/talib/src/lib).  Not part of the CMake
 * build because those libraries exist only after `make deps`.
 *
 * For every indicator and series it checks that the first non-null output is at
 * TA-Lib's outBegIdx, that everything before it is null, and that each value is
 * within 1e-9 of TA-Lib's, relative to max(|TA-Lib value|, scale) where scale is
 * |close| for price-valued outputs (MACD and ATR are differences of prices) and 1
 * for RSI (0..100).  It also checks that the streaming form equals the batch form.
 * Before any of that it proves the comparison can fail (a 1e-8 perturbation and a
 * shifted lookback must be reported).  Prints one line per (series, indicator) and
 * exits 1 on any failure.
 *
 * Usage: talib_oracle [file.csv ...]  (header with open/high/low/close/volume and
 * optionally day/date columns; rows in time order)
 */
#include "analytics/indicators.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_libc.h"

#define TOLERANCE 1e-9

typedef struct series {
  char name[96];
  size_t n;
  int64_t *time;
  double *open, *high, *low, *close;
  int64_t *volume;
} series;

typedef struct result {
  size_t compared;
  double max_err;
  int failed;
} result;

static int failures;
#define MAX_LABELS 64
static double worst_per_indicator[MAX_LABELS];
static char indicator_label[MAX_LABELS][32];
static int indicator_count;

static void series_alloc(series *s, const char *name, size_t n) {
  snprintf(s->name, sizeof s->name, "%s", name);
  s->n = n;
  s->time = calloc(n, sizeof *s->time);
  s->volume = calloc(n, sizeof *s->volume);
  s->open = calloc(n, sizeof(double));
  s->high = calloc(n, sizeof(double));
  s->low = calloc(n, sizeof(double));
  s->close = calloc(n, sizeof(double));
  if (!s->time || !s->volume || !s->open || !s->high || !s->low || !s->close) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
}

static void series_free(series *s) {
  free(s->time);
  free(s->volume);
  free(s->open);
  free(s->high);
  free(s->low);
  free(s->close);
}

/* ---- generated series ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}
static double normal(void) {
  double u = uniform(), v = uniform();
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Weekday daily bars at 14:30 UTC starting 2015-01-05, skipping `gap_days` extra
 * calendar days after bar `gap_at` (0 = none). */
static void daily_times(series *s, size_t gap_at, int gap_days) {
  int32_t day = sp_days_from_civil(2015, 1, 5);
  for (size_t i = 0; i < s->n; i++) {
    if (gap_at && i == gap_at) day += gap_days;
    while (sp_weekday_from_days(day) == 0 || sp_weekday_from_days(day) == 6) day++;
    s->time[i] = (int64_t)day * SP_US_PER_DAY + INT64_C(52200) * SP_US_PER_SEC;
    day++;
  }
}

/* A random walk with drift; close[i] *= factor[i] applies gaps and splits. */
static void random_walk(series *s, double start, double drift, double vol, double tick,
                        const size_t *jump_at, const double *jump_factor, int njumps) {
  double price = start;
  for (size_t i = 0; i < s->n; i++) {
    double open = price;
    for (int j = 0; j < njumps; j++)
      if (jump_at[j] == i) open *= jump_factor[j];
    double close = open * exp(drift + vol * normal());
    double hi = fmax(open, close) * (1.0 + fabs(normal()) * vol * 0.4);
    double lo = fmin(open, close) * (1.0 - fabs(normal()) * vol * 0.4);
    if (tick > 0) {
      close = fmax(tick, round(close / tick) * tick);
      hi = fmax(close, round(hi / tick) * tick);
      lo = fmax(tick, fmin(close, round(lo / tick) * tick));
      open = round(open / tick) * tick;
    }
    s->open[i] = open;
    s->close[i] = close;
    s->high[i] = fmax(hi, open);
    s->low[i] = fmin(lo, open);
    s->volume[i] = (int64_t)(1e6 * (1.0 + uniform()));
    price = close;
  }
}

/* ---- CSV input ------------------------------------------------------------------------- */

static int column_of(char **cols, int ncols, const char *name) {
  for (int c = 0; c < ncols; c++)
    if (strcasecmp(cols[c], name) == 0) return c;
  return -1;
}

static int split_csv(char *line, char **cols, int max) {
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, ",\r\n", &save); tok && n < max;
       tok = strtok_r(NULL, ",\r\n", &save))
    cols[n++] = tok;
  return n;
}

static int load_csv(const char *path, series *s) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char line[1024], *cols[16];
  size_t cap = 0, n = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return -1;
  }
  int ncols = split_csv(line, cols, 16);
  int c_open = column_of(cols, ncols, "open"), c_high = column_of(cols, ncols, "high");
  int c_low = column_of(cols, ncols, "low"), c_close = column_of(cols, ncols, "close");
  int c_vol = column_of(cols, ncols, "volume"), c_day = column_of(cols, ncols, "date");
  if (c_day < 0) c_day = column_of(cols, ncols, "day");
  if (c_open < 0 || c_high < 0 || c_low < 0 || c_close < 0 || c_vol < 0) {
    fprintf(stderr, "%s: missing OHLCV columns\n", path);
    fclose(f);
    return -1;
  }
  const char *base = strrchr(path, '/');
  series_alloc(s, base ? base + 1 : path, 16);
  cap = 16;
  while (fgets(line, sizeof line, f)) {
    if (split_csv(line, cols, 16) != ncols) continue;
    if (n == cap) {
      series bigger;
      series_alloc(&bigger, s->name, cap * 2);
      memcpy(bigger.time, s->time, n * sizeof *s->time);
      memcpy(bigger.volume, s->volume, n * sizeof *s->volume);
      memcpy(bigger.open, s->open, n * sizeof(double));
      memcpy(bigger.high, s->high, n * sizeof(double));
      memcpy(bigger.low, s->low, n * sizeof(double));
      memcpy(bigger.close, s->close, n * sizeof(double));
      series_free(s);
      *s = bigger;
      cap *= 2;
    }
    s->open[n] = strtod(cols[c_open], NULL);
    s->high[n] = strtod(cols[c_high], NULL);
    s->low[n] = strtod(cols[c_low], NULL);
    s->close[n] = strtod(cols[c_close], NULL);
    s->volume[n] = strtoll(cols[c_vol], NULL, 10);
    int32_t day;
    if (c_day >= 0 && sp_parse_date(cols[c_day], &day) == 0)
      s->time[n] = (int64_t)day * SP_US_PER_DAY + INT64_C(52200) * SP_US_PER_SEC;
    else
      s->time[n] = -1;
    n++;
  }
  fclose(f);
  s->n = n;
  if (n > 0 && s->time[0] < 0) daily_times(s, 0, 0);
  return n > 0 ? 0 : -1;
}

/* ---- comparison ------------------------------------------------------------------------ */

static int label_index(const char *label) {
  for (int k = 0; k < indicator_count; k++)
    if (strcmp(indicator_label[k], label) == 0) return k;
  if (indicator_count == MAX_LABELS) exit(2);
  snprintf(indicator_label[indicator_count], sizeof indicator_label[0], "%s", label);
  worst_per_indicator[indicator_count] = 0.0;
  return indicator_count++;
}

/* ours[0..n) against TA-Lib's ta[0..nb) starting at beg; scale: NULL = 1. */
static result compare(const double *ours, size_t n, const double *ta, int beg, int nb,
                      const double *scale) {
  result r = {0, 0.0, 0};
  if ((size_t)beg + (size_t)nb != n && nb > 0) r.failed = 1;
  for (size_t i = 0; i < n; i++) {
    if ((int)i < beg || nb == 0) {
      if (!isnan(ours[i])) r.failed = 1;
      continue;
    }
    double want = ta[i - (size_t)beg];
    double den = fmax(fabs(want), scale ? fabs(scale[i]) : 1.0);
    double err = isnan(ours[i]) ? INFINITY : fabs(ours[i] - want) / den;
    if (!(err <= r.max_err)) r.max_err = err;
    r.compared++;
  }
  if (!(r.max_err <= TOLERANCE)) r.failed = 1;
  return r;
}

static void report(const char *series_name, const char *label, result r) {
  int k = label_index(label);
  if (r.max_err > worst_per_indicator[k]) worst_per_indicator[k] = r.max_err;
  printf("%-46s %-14s %7zu values  max rel err %.3e  %s\n", series_name, label, r.compared,
         r.max_err, r.failed ? "FAIL" : "ok");
  if (r.failed) failures++;
}

static void must_ok(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "%s failed: %d\n", what, rc);
    exit(2);
  }
}

/* The comparison must catch a small error and an off-by-one lookback. */
static void self_test(void) {
  double in[200], ours[200], ta[200];
  for (int i = 0; i < 200; i++) in[i] = 100.0 + sin(i * 0.1) * 5.0;
  int beg, nb;
  must_ok(TA_SMA(0, 199, in, 20, &beg, &nb, ta), "TA_SMA");
  must_ok(sp_ind_sma(in, 200, 20, ours), "sp_ind_sma");
  result good = compare(ours, 200, ta, beg, nb, in);
  ours[150] *= 1.0 + 1e-8;
  result perturbed = compare(ours, 200, ta, beg, nb, in);
  must_ok(sp_ind_sma(in, 200, 20, ours), "sp_ind_sma");
  ours[beg - 1] = in[beg - 1];
  result early = compare(ours, 200, ta, beg, nb, in);
  must_ok(sp_ind_sma(in, 200, 21, ours), "sp_ind_sma");
  result shifted = compare(ours, 200, ta, beg, nb, in);
  if (good.failed || !perturbed.failed || !early.failed || !shifted.failed) {
    fprintf(stderr, "self-test: the comparison does not detect errors (%d %d %d %d)\n",
            good.failed, perturbed.failed, early.failed, shifted.failed);
    exit(2);
  }
  printf("self-test: a 1e-8 error, an early value and a shifted lookback are all caught\n");
}

/* Every indicator at the stock_movements periods plus a second parameter set. */
static void check_series(const series *s) {
  const size_t n = s->n;
  double *ours = malloc(3 * n * sizeof *ours), *ta = malloc(3 * n * sizeof *ta);
  if (!ours || !ta) exit(2);
  double *o1 = ours, *o2 = ours + n, *o3 = ours + 2 * n;
  double *t1 = ta, *t2 = ta + n, *t3 = ta + 2 * n;
  const int last = (int)n - 1;
  int beg, nb;
  char label[32];

  static const int sma_periods[] = {20, 50, 30}, ema_periods[] = {12, 26, 10};
  for (int k = 0; k < 3; k++) {
    snprintf(label, sizeof label, "SMA(%d)", sma_periods[k]);
    must_ok(TA_SMA(0, last, s->close, sma_periods[k], &beg, &nb, t1), "TA_SMA");
    must_ok(sp_ind_sma(s->close, n, sma_periods[k], o1), "sp_ind_sma");
    report(s->name, label, compare(o1, n, t1, beg, nb, s->close));
    snprintf(label, sizeof label, "EMA(%d)", ema_periods[k]);
    must_ok(TA_EMA(0, last, s->close, ema_periods[k], &beg, &nb, t1), "TA_EMA");
    must_ok(sp_ind_ema(s->close, n, ema_periods[k], o1), "sp_ind_ema");
    report(s->name, label, compare(o1, n, t1, beg, nb, s->close));
  }
  static const int rsi_periods[] = {14, 5};
  for (int k = 0; k < 2; k++) {
    snprintf(label, sizeof label, "RSI(%d)", rsi_periods[k]);
    must_ok(TA_RSI(0, last, s->close, rsi_periods[k], &beg, &nb, t1), "TA_RSI");
    must_ok(sp_ind_rsi(s->close, n, rsi_periods[k], o1), "sp_ind_rsi");
    report(s->name, label, compare(o1, n, t1, beg, nb, NULL));
  }
  static const int macd_params[2][3] = {{12, 26, 9}, {5, 35, 5}};
  for (int k = 0; k < 2; k++) {
    const int *p = macd_params[k];
    must_ok(TA_MACD(0, last, s->close, p[0], p[1], p[2], &beg, &nb, t1, t2, t3), "TA_MACD");
    must_ok(sp_ind_macd(s->close, n, p[0], p[1], p[2], o1, o2, o3), "sp_ind_macd");
    snprintf(label, sizeof label, "MACD(%d,%d,%d)", p[0], p[1], p[2]);
    report(s->name, label, compare(o1, n, t1, beg, nb, s->close));
    report(s->name, k ? "  signal(5)" : "  signal(9)", compare(o2, n, t2, beg, nb, s->close));
    report(s->name, k ? "  hist(5)" : "  hist(9)", compare(o3, n, t3, beg, nb, s->close));
  }
  static const int bb_periods[] = {20, 10};
  static const double bb_dev[] = {2.0, 1.5};
  for (int k = 0; k < 2; k++) {
    must_ok(TA_BBANDS(0, last, s->close, bb_periods[k], bb_dev[k], bb_dev[k], TA_MAType_SMA, &beg,
                      &nb, t1, t2, t3),
            "TA_BBANDS");
    must_ok(sp_ind_bbands(s->close, n, bb_periods[k], bb_dev[k], o1, o2, o3), "sp_ind_bbands");
    snprintf(label, sizeof label, "BB(%d,%.1f) up", bb_periods[k], bb_dev[k]);
    report(s->name, label, compare(o1, n, t1, beg, nb, s->close));
    snprintf(label, sizeof label, "BB(%d,%.1f) mid", bb_periods[k], bb_dev[k]);
    report(s->name, label, compare(o2, n, t2, beg, nb, s->close));
    snprintf(label, sizeof label, "BB(%d,%.1f) low", bb_periods[k], bb_dev[k]);
    report(s->name, label, compare(o3, n, t3, beg, nb, s->close));
  }
  static const int atr_periods[] = {14, 5};
  for (int k = 0; k < 2; k++) {
    snprintf(label, sizeof label, "ATR(%d)", atr_periods[k]);
    must_ok(TA_ATR(0, last, s->high, s->low, s->close, atr_periods[k], &beg, &nb, t1), "TA_ATR");
    must_ok(sp_ind_atr(s->high, s->low, s->close, n, atr_periods[k], o1), "sp_ind_atr");
    report(s->name, label, compare(o1, n, t1, beg, nb, s->close));
  }
  free(ours);
  free(ta);
}

/* The streaming form, pushed bar by bar, must equal the batch form exactly. */
static void check_streaming(const series *s) {
  sp_ind_bar *bars = malloc(s->n * sizeof *bars);
  sp_ind_values *batch = malloc(s->n * sizeof *batch);
  if (!bars || !batch) exit(2);
  for (size_t i = 0; i < s->n; i++)
    bars[i] = (sp_ind_bar){s->time[i], s->high[i], s->low[i], s->close[i], s->volume[i]};
  must_ok(sp_ind_compute_series(bars, s->n, SP_IND_ALL, batch), "sp_ind_compute_series");
  sp_ind_state *st = sp_ind_state_new(SP_IND_ALL, NULL);
  if (!st) exit(2);
  size_t mismatches = 0;
  for (size_t i = 0; i < s->n; i++) {
    sp_ind_values v;
    must_ok(sp_ind_state_push(st, &bars[i], &v, NULL), "sp_ind_state_push");
    const double *a = &v.change, *b = &batch[i].change;
    for (size_t f = 0; f < sizeof v / sizeof(double); f++)
      if (!(a[f] == b[f] || (isnan(a[f]) && isnan(b[f])))) mismatches++;
  }
  sp_ind_state_free(st);
  printf("%-46s %-14s %7zu bars    %zu mismatches  %s\n", s->name, "stream==batch", s->n,
         mismatches, mismatches ? "FAIL" : "ok");
  if (mismatches) failures++;
  free(bars);
  free(batch);
}

static void check(const series *s) {
  check_series(s);
  check_streaming(s);
}

int main(int argc, char **argv) {
  if (TA_Initialize() != TA_SUCCESS) {
    fprintf(stderr, "TA_Initialize failed\n");
    return 2;
  }
  self_test();
  /* Generated series: a random walk (start price, drift and volatility per bar,
   * price tick), optional price jumps (gaps, a split) and a calendar hole; `flat_from`
   * turns the rest of the series into one unchanging price (0 = never). */
  static const struct {
    const char *name;
    size_t n;
    double start, drift, vol, tick;
    size_t jump_at[2];
    double jump_factor[2];
    int njumps;
    size_t hole_at;
    int hole_days;
    size_t flat_from;
  } generated[] = {
      {"generated trending (5000 bars)", 5000, 50.0, 0.0006, 0.015, 0.01, {0}, {0}, 0, 0, 0, 0},
      {"generated flat (3000 bars)", 3000, 42.5, 0.0, 0.0, 0.0, {0}, {0}, 0, 0, 0, 1},
      {"generated walk then flat (4000 bars)", 4000, 80.0, 0.0, 0.01, 0.01, {0}, {0}, 0, 0, 0, 1500},
      {"generated gaps +25%/-30%, 60-day hole (4000)", 4000, 30.0, 0.0002, 0.02, 0.01,
       {1500, 3000}, {1.25, 0.7}, 2, 2000, 60, 0},
      {"generated 7:1 split, unadjusted (4000 bars)", 4000, 600.0, 0.0003, 0.012, 0.01, {2000},
       {1.0 / 7.0}, 1, 0, 0, 0},
      {"generated sub-dollar 0.0001 ticks (4000 bars)", 4000, 0.35, -0.0002, 0.03, 0.0001, {0}, {0},
       0, 0, 0, 0},
      {"generated long walk (200000 bars)", 200000, 100.0, 0.00005, 0.01, 0.0, {0}, {0}, 0, 0, 0, 0},
  };
  series s;
  for (size_t g = 0; g < sizeof generated / sizeof generated[0]; g++) {
    series_alloc(&s, generated[g].name, generated[g].n);
    daily_times(&s, generated[g].hole_at, generated[g].hole_days);
    random_walk(&s, generated[g].start, generated[g].drift, generated[g].vol, generated[g].tick,
                generated[g].jump_at, generated[g].jump_factor, generated[g].njumps);
    if (generated[g].flat_from) {
      size_t from = generated[g].flat_from;
      for (size_t i = from; i < s.n; i++)
        s.open[i] = s.high[i] = s.low[i] = s.close[i] = s.close[from - 1];
    }
    check(&s);
    series_free(&s);
  }

  for (int a = 1; a < argc; a++) {
    if (load_csv(argv[a], &s) != 0) {
      fprintf(stderr, "%s: cannot load\n", argv[a]);
      return 2;
    }
    check(&s);
    series_free(&s);
  }

  printf("\nmax relative error per indicator over all series:\n");
  for (int k = 0; k < indicator_count; k++)
    printf("  %-14s %.3e\n", indicator_label[k], worst_per_indicator[k]);
  TA_Shutdown();
  printf("%s: %d failing comparisons\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
