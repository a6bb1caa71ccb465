/*
 * indicators_kernel.h — the per-bar arithmetic shared by the batch form
 * (indicators.c) and the streaming form (indicators_state.c).
 *
 * Both forms call these same inline steps in the same order, so a value computed
 * one bar at a time is bit-identical to the batch value (the streaming test checks
 * this).  Private to src/analytics; not part of the public interface.
 */
#ifndef STOCKPIPE_ANALYTICS_INDICATORS_KERNEL_H
#define STOCKPIPE_ANALYTICS_INDICATORS_KERNEL_H

#include <math.h>

/* TA-Lib's TA_EPSILON: RSI is 0 and sigma is 0 below it. */
#define SP_IND_EPSILON 0.00000000000001

/* EMA smoothing factor, TA-Lib's PER_TO_K. */
static inline double sp_ind_ema_k(int period) { return 2.0 / (double)(period + 1); }

/* One EMA step: prev + k * (x - prev), written with one multiply on the
 * dependency chain (prev * (1 - k)) so the loop runs at multiply+add latency. */
static inline double sp_ind_ema_step(double prev, double x, double k, double one_minus_k) {
  return prev * one_minus_k + x * k;
}

/* One Wilder step: (prev * (n - 1) + x) / n as prev * ((n-1)/n) + x * (1/n). */
static inline double sp_ind_wilder_step(double prev, double x, double keep, double inv) {
  return prev * keep + x * inv;
}

/* Gain and loss parts of a close-to-close difference (TA-Lib: d < 0 is a loss). */
static inline double sp_ind_gain(double d) { return d > 0.0 ? d : 0.0; }
static inline double sp_ind_loss(double d) { return d < 0.0 ? -d : 0.0; }

/* RSI from smoothed gain and loss, TA-Lib's TA_IS_ZERO rule. */
static inline double sp_ind_rsi_value(double gain, double loss) {
  double total = gain + loss;
  if (total > -SP_IND_EPSILON && total < SP_IND_EPSILON) return 0.0;
  return 100.0 * (gain / total);
}

/* True range of a bar against the previous close (TA_TRANGE). */
static inline double sp_ind_true_range(double high, double low, double prev_close) {
  double greatest = high - low;
  double up = fabs(prev_close - high);
  double down = fabs(prev_close - low);
  if (up > greatest) greatest = up;
  if (down > greatest) greatest = down;
  return greatest;
}

/* Bollinger bands from TA-Lib's rolling totals: `sum` and `sum_sq` are the totals
 * of the window ending at the current bar (TA_SMA's and TA_STDDEV's periodTotal
 * after adding the new bar, before dropping the oldest).  Dividing, rather than
 * multiplying by 1/period, and accumulating exactly as TA-Lib does keeps sigma
 * identical to TA-Lib's even where E[x^2] - mean^2 cancels (flat stretches).
 * Sigma is 0 when that difference is below TA_EPSILON (TA_IS_ZERO_OR_NEG). */
static inline void sp_ind_bbands_value(double sum, double sum_sq, int period, double nbdev,
                                       double *upper, double *middle, double *lower) {
  double mean = sum / period;
  double variance = sum_sq / period - mean * mean;
  double dev = variance < SP_IND_EPSILON ? 0.0 : sqrt(variance) * nbdev;
  *middle = mean;
  *upper = mean + dev;
  *lower = mean - dev;
}

#endif
