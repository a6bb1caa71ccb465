/*
 * indicators.c — the batch form of the stock_movements indicators (see
 * indicators.h for the definitions and TA-Lib conventions).
 *
 * Each loop keeps only one multiply-add on its loop-carried dependency chain (the
 * rolling sums add x_new - x_old, the EMAs and Wilder averages multiply by a
 * precomputed factor) so the recurrences run at add or multiply+add latency; the
 * per-bar steps themselves live in indicators_kernel.h and are shared with the
 * streaming form in indicators_state.c.
 */
#include "analytics/indicators.h"
#include "analytics/indicators_kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD_MIN 2
#define PERIOD_MAX 100000

static int period_ok(int period) { return period >= PERIOD_MIN && period <= PERIOD_MAX; }

static void fill_nan(double *out, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) out[i] = NAN;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

int sp_ind_sma_lookback(int period) { return period_ok(period) ? period - 1 : -1; }
int sp_ind_ema_lookback(int period) { return period_ok(period) ? period - 1 : -1; }
int sp_ind_rsi_lookback(int period) { return period_ok(period) ? period : -1; }
int sp_ind_atr_lookback(int period) { return period_ok(period) ? period : -1; }
int sp_ind_macd_lookback(int fast, int slow, int signal) {
  if (!period_ok(fast) || !period_ok(slow) || !period_ok(signal) || fast >= slow) return -1;
  return (slow - 1) + (signal - 1);
}

int sp_ind_sma(const double *in, size_t n, int period, double *out) {
  if (!period_ok(period) || (n > 0 && (!in || !out))) return SP_ERR_INVALID;
  const size_t p = (size_t)period;
  const double inv = 1.0 / period;
  double sum = 0.0;
  size_t i = 0;
  for (; i < min_size(n, p - 1); i++) {
    sum += in[i];
    out[i] = NAN;
  }
  if (i < n) {
    sum += in[i];
    out[i++] = sum * inv;
  }
  for (; i < n; i++) {
    sum += in[i] - in[i - p];
    out[i] = sum * inv;
  }
  return SP_OK;
}

int sp_ind_ema(const double *in, size_t n, int period, double *out) {
  if (!period_ok(period) || (n > 0 && (!in || !out))) return SP_ERR_INVALID;
  const size_t p = (size_t)period;
  const double k = sp_ind_ema_k(period), keep = 1.0 - k;
  fill_nan(out, 0, min_size(n, p - 1));
  if (n < p) return SP_OK;
  double seed = 0.0;
  for (size_t i = 0; i < p; i++) seed += in[i];
  double ema = seed / period;
  out[p - 1] = ema;
  for (size_t i = p; i < n; i++) {
    ema = sp_ind_ema_step(ema, in[i], k, keep);
    out[i] = ema;
  }
  return SP_OK;
}

int sp_ind_rsi(const double *in, size_t n, int period, double *out) {
  if (!period_ok(period) || (n > 0 && (!in || !out))) return SP_ERR_INVALID;
  const size_t p = (size_t)period;
  fill_nan(out, 0, min_size(n, p));
  if (n <= p) return SP_OK;
  const double keep = (double)(period - 1) / period, inv = 1.0 / period;
  double gain = 0.0, loss = 0.0;
  for (size_t i = 1; i <= p; i++) {
    double d = in[i] - in[i - 1];
    gain += sp_ind_gain(d);
    loss += sp_ind_loss(d);
  }
  gain /= period;
  loss /= period;
  out[p] = sp_ind_rsi_value(gain, loss);
  for (size_t i = p + 1; i < n; i++) {
    double d = in[i] - in[i - 1];
    gain = sp_ind_wilder_step(gain, sp_ind_gain(d), keep, inv);
    loss = sp_ind_wilder_step(loss, sp_ind_loss(d), keep, inv);
    out[i] = sp_ind_rsi_value(gain, loss);
  }
  return SP_OK;
}

int sp_ind_macd(const double *in, size_t n, int fast, int slow, int signal, double *macd,
                double *macd_signal, double *macd_hist) {
  int lookback = sp_ind_macd_lookback(fast, slow, signal);
  if (lookback < 0 || (n > 0 && (!in || !macd || !macd_signal || !macd_hist)))
    return SP_ERR_INVALID;
  const size_t first = (size_t)lookback, start = (size_t)slow - 1;
  fill_nan(macd, 0, min_size(n, first));
  fill_nan(macd_signal, 0, min_size(n, first));
  fill_nan(macd_hist, 0, min_size(n, first));
  if (n <= first) return SP_OK;

  /* Seeds at bar slow-1: the slow EMA over bars 0..slow-1, the fast one over the
   * `fast` bars ending there (TA_MACD starts both EMAs at the slow lookback). */
  const double kf = sp_ind_ema_k(fast), keep_f = 1.0 - kf;
  const double ks = sp_ind_ema_k(slow), keep_s = 1.0 - ks;
  const double kg = sp_ind_ema_k(signal), keep_g = 1.0 - kg;
  double slow_sum = 0.0, fast_sum = 0.0;
  for (size_t i = 0; i <= start; i++) {
    slow_sum += in[i];
    if (i >= (size_t)(slow - fast)) fast_sum += in[i];
  }
  double ema_fast = fast_sum / fast, ema_slow = slow_sum / slow;
  /* The signal EMA's seed: the mean of the first `signal` macd values. */
  double line = ema_fast - ema_slow, signal_sum = line;
  for (size_t i = start + 1; i <= first; i++) {
    ema_fast = sp_ind_ema_step(ema_fast, in[i], kf, keep_f);
    ema_slow = sp_ind_ema_step(ema_slow, in[i], ks, keep_s);
    line = ema_fast - ema_slow;
    signal_sum += line;
  }
  double ema_signal = signal_sum / signal;
  macd[first] = line;
  macd_signal[first] = ema_signal;
  macd_hist[first] = line - ema_signal;
  for (size_t i = first + 1; i < n; i++) {
    ema_fast = sp_ind_ema_step(ema_fast, in[i], kf, keep_f);
    ema_slow = sp_ind_ema_step(ema_slow, in[i], ks, keep_s);
    line = ema_fast - ema_slow;
    ema_signal = sp_ind_ema_step(ema_signal, line, kg, keep_g);
    macd[i] = line;
    macd_signal[i] = ema_signal;
    macd_hist[i] = line - ema_signal;
  }
  return SP_OK;
}

int sp_ind_bbands(const double *in, size_t n, int period, double nbdev, double *upper,
                  double *middle, double *lower) {
  if (!period_ok(period) || !isfinite(nbdev) || nbdev < 0.0 ||
      (n > 0 && (!in || !upper || !middle || !lower)))
    return SP_ERR_INVALID;
  const size_t p = (size_t)period;
  double sum = 0.0, sum_sq = 0.0;
  size_t i = 0;
  for (; i < min_size(n, p - 1); i++) {
    sum += in[i];
    sum_sq += in[i] * in[i];
    upper[i] = middle[i] = lower[i] = NAN;
  }
  /* TA-Lib's two add-then-drop chains, two bars per iteration so that their
   * divisions and square roots go in pairs. */
  const size_t first = p - 1;
  const sp_ind_pair div = {period, period};
  for (; i + 1 < n; i += 2) {
    double sum0, sum_sq0, sum1, sum_sq1;
    sp_ind_bbands_roll(&sum, &sum_sq, in[i], in[i - first], &sum0, &sum_sq0);
    sp_ind_bbands_roll(&sum, &sum_sq, in[i + 1], in[i + 1 - first], &sum1, &sum_sq1);
    sp_ind_bbands_pair((sp_ind_pair){sum0, sum1} / div, (sp_ind_pair){sum_sq0, sum_sq1} / div,
                       nbdev, &upper[i], &middle[i], &lower[i]);
  }
  if (i < n) {
    double window_sum, window_sum_sq;
    sp_ind_bbands_roll(&sum, &sum_sq, in[i], in[i - first], &window_sum, &window_sum_sq);
    sp_ind_bbands_from_means(window_sum / period, window_sum_sq / period, nbdev, &upper[i],
                             &middle[i], &lower[i]);
  }
  return SP_OK;
}

int sp_ind_atr(const double *high, const double *low, const double *close, size_t n, int period,
               double *out) {
  if (!period_ok(period) || (n > 0 && (!high || !low || !close || !out))) return SP_ERR_INVALID;
  const size_t p = (size_t)period;
  fill_nan(out, 0, min_size(n, p));
  if (n <= p) return SP_OK;
  const double keep = (double)(period - 1) / period, inv = 1.0 / period;
  double seed = 0.0;
  for (size_t i = 1; i <= p; i++) seed += sp_ind_true_range(high[i], low[i], close[i - 1]);
  double atr = seed / period;
  out[p] = atr;
  for (size_t i = p + 1; i < n; i++) {
    atr = sp_ind_wilder_step(atr, sp_ind_true_range(high[i], low[i], close[i - 1]), keep, inv);
    out[i] = atr;
  }
  return SP_OK;
}

int sp_ind_change(const double *close, size_t n, double *change, double *change_pct) {
  if (n > 0 && !close) return SP_ERR_INVALID;
  if (n == 0) return SP_OK;
  if (change) change[0] = NAN;
  if (change_pct) change_pct[0] = NAN;
  size_t i = 1;
  if (change)
    for (; i < n; i++) change[i] = close[i] - close[i - 1];
  if (!change_pct) return SP_OK;
  /* Two bars per division; a zero previous close gives NaN / 0 = NaN. */
  const sp_ind_pair hundred = {100.0, 100.0};
  for (i = 1; i + 1 < n; i += 2) {
    double d0 = close[i] - close[i - 1], d1 = close[i + 1] - close[i];
    sp_ind_pair pct = (sp_ind_pair){close[i - 1] != 0.0 ? d0 : NAN, close[i] != 0.0 ? d1 : NAN} /
                      (sp_ind_pair){close[i - 1], close[i]} * hundred;
    memcpy(&change_pct[i], &pct, sizeof pct);
  }
  if (i < n) change_pct[i] = close[i - 1] != 0.0 ? (close[i] - close[i - 1]) / close[i - 1] * 100.0 : NAN;
  return SP_OK;
}

static int times_in_order(const int64_t *bar_time, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (bar_time[i] < bar_time[i - 1]) return 0;
  return 1;
}

int sp_ind_high_low_window(const int64_t *bar_time, const double *high, const double *low,
                           size_t n, int window_days, double *out_high, double *out_low) {
  if (window_days < 1 || (n > 0 && (!bar_time || !high || !low || !out_high || !out_low)))
    return SP_ERR_INVALID;
  if (!times_in_order(bar_time, n)) return SP_ERR_INVALID;
  const size_t cap = (size_t)window_days;
  int32_t *days = malloc(cap * sizeof *days);
  double *rings = malloc(4 * cap * sizeof *rings);
  if (!days || !rings) {
    free(days);
    free(rings);
    return SP_ERR_NOMEM;
  }
  sp_ind_extreme_window w = {.days = (uint32_t)window_days, .day = days, .high = rings,
                             .low = rings + cap, .agg_high = rings + 2 * cap,
                             .agg_low = rings + 3 * cap, .back_high = -INFINITY,
                             .back_low = INFINITY};
  for (size_t i = 0; i < n; i++)
    sp_ind_extreme_window_step(&w, sp_ind_day_of(bar_time[i], w.started, w.cur_day), high[i],
                               low[i], &out_high[i], &out_low[i]);
  free(days);
  free(rings);
  return SP_OK;
}

int sp_ind_avg_volume_window(const int64_t *bar_time, const int64_t *volume, size_t n,
                             int window_days, double *out) {
  if (window_days < 1 || (n > 0 && (!bar_time || !volume || !out))) return SP_ERR_INVALID;
  if (!times_in_order(bar_time, n)) return SP_ERR_INVALID;
  int32_t *days = malloc((size_t)window_days * sizeof *days);
  uint64_t *sums = malloc((size_t)window_days * sizeof *sums);
  if (!days || !sums) {
    free(days);
    free(sums);
    return SP_ERR_NOMEM;
  }
  sp_ind_volume_window w = {.days = (uint32_t)window_days, .day = days, .volume = sums};
  for (size_t i = 0; i < n; i++)
    out[i] = sp_ind_volume_window_step(&w, sp_ind_day_of(bar_time[i], w.started, w.cur_day),
                                       volume[i]);
  free(days);
  free(sums);
  return SP_OK;
}

static const struct {
  const char *name;
  unsigned flag;
} indicator_names[] = {
    {"sma_20", SP_IND_SMA_20}, {"sma_50", SP_IND_SMA_50}, {"ema_12", SP_IND_EMA_12},
    {"ema_26", SP_IND_EMA_26}, {"rsi_14", SP_IND_RSI_14}, {"macd", SP_IND_MACD},
    {"bbands", SP_IND_BBANDS}, {"atr_14", SP_IND_ATR_14},
};

unsigned sp_ind_flag_from_name(const char *name) {
  if (!name) return 0;
  for (size_t i = 0; i < sizeof indicator_names / sizeof indicator_names[0]; i++)
    if (strcmp(indicator_names[i].name, name) == 0) return indicator_names[i].flag;
  return 0;
}

int sp_ind_mask_from_names(const char *const *names, size_t count, unsigned *mask,
                           sp_error *err) {
  unsigned m = 0;
  for (size_t i = 0; i < count; i++) {
    unsigned flag = sp_ind_flag_from_name(names[i]);
    if (!flag)
      return sp_error_set(err, SP_ERR_CONFIG,
                          "include_indicators: unknown indicator '%s' (known: sma_20, sma_50, "
                          "ema_12, ema_26, rsi_14, macd, bbands, atr_14)",
                          names[i] ? names[i] : "(null)");
    m |= flag;
  }
  *mask = m;
  return SP_OK;
}

/* Column arrays of sp_ind_compute_series, allocated together. */
enum { SERIES_INPUTS = 3, SERIES_OUTPUTS = 17 };

int sp_ind_compute_series(const sp_ind_bar *bars, size_t n, unsigned mask, sp_ind_values *out) {
  if ((mask & ~(unsigned)SP_IND_ALL) || (n > 0 && (!bars || !out))) return SP_ERR_INVALID;
  if (n == 0) return SP_OK;
  double *cols = malloc((SERIES_INPUTS + SERIES_OUTPUTS) * n * sizeof *cols);
  int64_t *times = malloc(2 * n * sizeof *times);
  if (!cols || !times) {
    free(cols);
    free(times);
    return SP_ERR_NOMEM;
  }
  double *high = cols, *low = cols + n, *close = cols + 2 * n;
  double *o[SERIES_OUTPUTS];
  for (int c = 0; c < SERIES_OUTPUTS; c++) {
    o[c] = cols + (size_t)(SERIES_INPUTS + c) * n;
    fill_nan(o[c], 0, n);
  }
  int64_t *volume = times + n;
  for (size_t i = 0; i < n; i++) {
    high[i] = bars[i].high;
    low[i] = bars[i].low;
    close[i] = bars[i].close;
    times[i] = bars[i].bar_time;
    volume[i] = bars[i].volume;
  }
  int rc = sp_ind_change(close, n, o[0], o[1]);
  if (!rc && (mask & SP_IND_SMA_20)) rc = sp_ind_sma(close, n, 20, o[2]);
  if (!rc && (mask & SP_IND_SMA_50)) rc = sp_ind_sma(close, n, 50, o[3]);
  if (!rc && (mask & SP_IND_EMA_12)) rc = sp_ind_ema(close, n, 12, o[4]);
  if (!rc && (mask & SP_IND_EMA_26)) rc = sp_ind_ema(close, n, 26, o[5]);
  if (!rc && (mask & SP_IND_RSI_14)) rc = sp_ind_rsi(close, n, 14, o[6]);
  if (!rc && (mask & SP_IND_MACD)) rc = sp_ind_macd(close, n, 12, 26, 9, o[7], o[8], o[9]);
  if (!rc && (mask & SP_IND_BBANDS)) rc = sp_ind_bbands(close, n, 20, 2.0, o[10], o[11], o[12]);
  if (!rc && (mask & SP_IND_ATR_14)) rc = sp_ind_atr(high, low, close, n, 14, o[13]);
  if (!rc) rc = sp_ind_high_low_window(times, high, low, n, SP_IND_52W_DAYS, o[14], o[15]);
  if (!rc) rc = sp_ind_avg_volume_window(times, volume, n, SP_IND_90D_DAYS, o[16]);
  if (!rc) {
    for (size_t i = 0; i < n; i++) {
      sp_ind_values *v = &out[i];
      v->change = o[0][i];
      v->change_pct = o[1][i];
      v->sma_20 = o[2][i];
      v->sma_50 = o[3][i];
      v->ema_12 = o[4][i];
      v->ema_26 = o[5][i];
      v->rsi_14 = o[6][i];
      v->macd = o[7][i];
      v->macd_signal = o[8][i];
      v->macd_hist = o[9][i];
      v->bb_upper = o[10][i];
      v->bb_middle = o[11][i];
      v->bb_lower = o[12][i];
      v->atr_14 = o[13][i];
      v->high_52w = o[14][i];
      v->low_52w = o[15][i];
      v->avg_volume_90d = o[16][i];
    }
  }
  free(cols);
  free(times);
  return rc;
}
