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

#include "core/timeutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
static inline double sp_ind_loss(double d) {
  double up = -d; /* d < 0 exactly when -d > 0, NaN included: a maxsd */
  return up > 0.0 ? up : 0.0;
}

/* Two doubles in one SSE register (GCC/Clang vector extension): element-wise
 * arithmetic gives exactly the scalar results, so the streaming form can pair
 * independent operations (the divider and unpredictable branches bound a push). */
typedef double sp_ind_pair __attribute__((vector_size(16)));
typedef int64_t sp_ind_pair_bits __attribute__((vector_size(16)));

/* {sp_ind_gain(d), sp_ind_loss(d)} without a branch (compare and mask). */
static inline sp_ind_pair sp_ind_gain_loss(double d) {
  const sp_ind_pair moves = {d, -d}, zero = {0.0, 0.0};
  return (sp_ind_pair)((sp_ind_pair_bits)moves & (moves > zero));
}

/* RSI from the smoothed gain + loss and gain / (gain + loss), TA-Lib's TA_IS_ZERO
 * rule (the ratio is not used when the total is within 1e-14 of zero, so callers
 * may divide unconditionally, e.g. two divisions in one instruction). */
static inline double sp_ind_rsi_from_ratio(double total, double gain_ratio) {
  if (total > -SP_IND_EPSILON && total < SP_IND_EPSILON) return 0.0;
  return 100.0 * gain_ratio;
}

static inline double sp_ind_rsi_value(double gain, double loss) {
  double total = gain + loss;
  return sp_ind_rsi_from_ratio(total, gain / total);
}

/* True range of a bar against the previous close (TA_TRANGE). */
static inline double sp_ind_true_range(double high, double low, double prev_close) {
  double greatest = high - low;
  double up = fabs(prev_close - high);
  double down = fabs(prev_close - low);
  greatest = up > greatest ? up : greatest; /* selects, not branches */
  greatest = down > greatest ? down : greatest;
  return greatest;
}

/* One step of TA-Lib's Bollinger totals: add bar x, note the totals of the window
 * ending at it (*window_sum, *window_sum_sq), then drop `old`, the window's first
 * bar, ready for the next step. */
static inline void sp_ind_bbands_roll(double *sum, double *sum_sq, double x, double old,
                                      double *window_sum, double *window_sum_sq) {
  *sum += x;
  *window_sum = *sum;
  *sum -= old;
  *sum_sq += x * x;
  *window_sum_sq = *sum_sq;
  *sum_sq -= old * old;
}

/* sqrt of both elements (one sqrtpd on x86-64). */
static inline sp_ind_pair sp_ind_pair_sqrt(sp_ind_pair x) {
#ifdef __SSE2__
  return (sp_ind_pair)_mm_sqrt_pd((__m128d)x);
#else
  return (sp_ind_pair){sqrt(x[0]), sqrt(x[1])};
#endif
}

/* Bollinger bands from TA-Lib's rolling totals: `sum` and `sum_sq` are the totals
 * of the window ending at the current bar (TA_SMA's and TA_STDDEV's periodTotal
 * after adding the new bar, before dropping the oldest), divided by the period into
 * `mean` and `mean_sq` by the caller.  Dividing, rather than multiplying by
 * 1/period, and accumulating exactly as TA-Lib does keeps sigma identical to
 * TA-Lib's even where E[x^2] - mean^2 cancels (flat stretches).  Sigma is 0 when
 * that difference is below TA_EPSILON (TA_IS_ZERO_OR_NEG). */
static inline void sp_ind_bbands_from_means(double mean, double mean_sq, double nbdev,
                                            double *upper, double *middle, double *lower) {
  double variance = mean_sq - mean * mean;
  double dev = variance < SP_IND_EPSILON ? 0.0 : sp_ind_pair_sqrt((sp_ind_pair){variance, variance})[0] * nbdev;
  *middle = mean;
  *upper = mean + dev;
  *lower = mean - dev;
}

/* sp_ind_bbands_from_means for two bars at once, element-wise identical; writes
 * the bands of bar k to upper[k], middle[k], lower[k] (k = 0, 1). */
static inline void sp_ind_bbands_pair(sp_ind_pair mean, sp_ind_pair mean_sq, double nbdev,
                                      double *upper, double *middle, double *lower) {
  const sp_ind_pair variance = mean_sq - mean * mean;
  const sp_ind_pair eps = {SP_IND_EPSILON, SP_IND_EPSILON}, dev_k = {nbdev, nbdev};
  const sp_ind_pair_bits flat = variance < eps; /* all ones where sigma is 0 */
  const sp_ind_pair dev = (sp_ind_pair)((sp_ind_pair_bits)(sp_ind_pair_sqrt(variance) * dev_k) & ~flat);
  const sp_ind_pair up = mean + dev, down = mean - dev;
  memcpy(upper, &up, sizeof up);
  memcpy(middle, &mean, sizeof mean);
  memcpy(lower, &down, sizeof down);
}

/* ---- calendar windows (52-week high/low, 90-day volume) ----------------------------
 * Bars are folded into per-day aggregates; a window holds the completed days of the
 * last `days` UTC days in a ring of `days` entries (the current day is kept apart
 * and combined at read time), so each bar costs O(1) and the memory is bounded by
 * the window, not by the number of bars.  The caller owns the ring arrays. */

static inline uint32_t sp_ind_ring_next(uint32_t slot, uint32_t cap) {
  return slot + 1 == cap ? 0 : slot + 1;
}
static inline uint32_t sp_ind_ring_slot(uint32_t head, uint32_t k, uint32_t cap) {
  uint32_t s = head + k;
  return s >= cap ? s - cap : s;
}

/* Tracks max(high) and min(low) over the trailing `days` days including today.
 * Completed days sit in a ring, oldest at `head`, as a two-stack queue: the first
 * `front` of them carry suffix extremes (agg_high/agg_low: the extreme of that day
 * and every later front day), the rest only feed back_high/back_low.  Appending a
 * day and expiring one are O(1) with no data-dependent loop; when the front runs
 * out, the ring is re-folded into it (each day once: O(1) amortised). */
typedef struct sp_ind_extreme_window {
  uint32_t days;          /* window length = ring capacity */
  bool started;           /* a bar was seen */
  int32_t first_day, cur_day;
  double cur_high, cur_low;   /* today's extremes so far (-inf/+inf when none) */
  double past_high, past_low; /* the completed days' extremes (-inf/+inf when none) */
  int32_t *day;               /* rings of `days` entries, owned by the caller */
  double *high, *low, *agg_high, *agg_low;
  uint32_t head, len, front;
  double back_high, back_low; /* extremes of the days after the front */
} sp_ind_extreme_window;

/* The extremes over the completed days, from both stacks. */
static inline void sp_ind_extreme_window_fronts(sp_ind_extreme_window *w) {
  double hi = w->back_high, lo = w->back_low;
  if (w->front > 0) {
    hi = w->agg_high[w->head] > hi ? w->agg_high[w->head] : hi;
    lo = w->agg_low[w->head] < lo ? w->agg_low[w->head] : lo;
  }
  w->past_high = hi;
  w->past_low = lo;
}

/* Make every completed day part of the front: suffix extremes from the newest. */
static inline void sp_ind_extreme_window_refold(sp_ind_extreme_window *w) {
  double hi = -INFINITY, lo = INFINITY;
  for (uint32_t k = w->len; k-- > 0;) {
    uint32_t slot = sp_ind_ring_slot(w->head, k, w->days);
    hi = w->high[slot] > hi ? w->high[slot] : hi;
    lo = w->low[slot] < lo ? w->low[slot] : lo;
    w->agg_high[slot] = hi;
    w->agg_low[slot] = lo;
  }
  w->front = w->len;
  w->back_high = -INFINITY;
  w->back_low = INFINITY;
}

/* The UTC day of `t` given the day of the previous bar (t never goes back). */
static inline int32_t sp_ind_day_of(int64_t t, bool started, int32_t prev_day) {
  if (started && t < (int64_t)(prev_day + 1) * SP_US_PER_DAY) return prev_day;
  return sp_timestamp_to_days(t);
}

/* Add a bar of UTC day `day` (sp_ind_day_of; never earlier than the last); write the
 * window's high and low (NaN until `days` days of history).
 * A NaN high or low is ignored.  A bar costs a few selects (written as such: a new
 * intraday extreme is unpredictable); the ring changes once a day. */
static inline void sp_ind_extreme_window_step(sp_ind_extreme_window *w, int32_t day, double high,
                                              double low, double *out_high, double *out_low) {
  const int32_t oldest_kept = day - (int32_t)w->days + 1;
  if (!w->started || day != w->cur_day) {
    if (w->started) { /* yesterday (or the last trading day) is complete */
      uint32_t slot = sp_ind_ring_slot(w->head, w->len, w->days);
      w->day[slot] = w->cur_day;
      w->high[slot] = w->cur_high;
      w->low[slot] = w->cur_low;
      w->len++;
      w->back_high = w->cur_high > w->back_high ? w->cur_high : w->back_high;
      w->back_low = w->cur_low < w->back_low ? w->cur_low : w->back_low;
    } else {
      w->first_day = day;
      w->started = true;
    }
    while (w->len > 0 && w->day[w->head] < oldest_kept) {
      if (w->front == 0) sp_ind_extreme_window_refold(w);
      w->head = sp_ind_ring_next(w->head, w->days);
      w->len--;
      w->front--;
    }
    sp_ind_extreme_window_fronts(w);
    w->cur_day = day;
    w->cur_high = -INFINITY;
    w->cur_low = INFINITY;
  }
  w->cur_high = high > w->cur_high ? high : w->cur_high;
  w->cur_low = low < w->cur_low ? low : w->cur_low;
  if (w->first_day > oldest_kept) {
    *out_high = *out_low = NAN;
    return;
  }
  double hi = w->past_high > w->cur_high ? w->past_high : w->cur_high;
  double lo = w->past_low < w->cur_low ? w->past_low : w->cur_low;
  *out_high = hi == -INFINITY ? NAN : hi;
  *out_low = lo == INFINITY ? NAN : lo;
}

/* Tracks the mean daily volume over the trailing `days` days including today. */
typedef struct sp_ind_volume_window {
  uint32_t days; /* window length = ring capacity */
  bool started;
  int32_t first_day, cur_day;
  uint64_t cur_volume;    /* today's volume so far (unsigned: wraps, never overflows) */
  int32_t *day;           /* completed days in the window, oldest at head */
  uint64_t *volume;
  uint32_t head, len;
  uint64_t total;         /* sum of volume[] */
  double inv_days;        /* 1 / (len + 1): the days averaged over, today included */
} sp_ind_volume_window;

/* Add a bar of UTC day `day`.  Until `days` days of history exist return NaN, then
 * the window's mean daily volume.  The mean multiplies by 1/days, recomputed once a
 * day, rather than dividing every bar (within an ulp of the quotient). */
static inline double sp_ind_volume_window_step(sp_ind_volume_window *w, int32_t day,
                                               int64_t volume) {
  const int32_t oldest_kept = day - (int32_t)w->days + 1;
  if (!w->started || day != w->cur_day) {
    if (w->started) {
      uint32_t slot = sp_ind_ring_slot(w->head, w->len, w->days);
      w->day[slot] = w->cur_day;
      w->volume[slot] = w->cur_volume;
      w->len++;
      w->total += w->cur_volume;
    } else {
      w->first_day = day;
      w->started = true;
    }
    while (w->len > 0 && w->day[w->head] < oldest_kept) {
      w->total -= w->volume[w->head];
      w->head = sp_ind_ring_next(w->head, w->days);
      w->len--;
    }
    w->inv_days = 1.0 / (double)(w->len + 1);
    w->cur_day = day;
    w->cur_volume = 0;
  }
  w->cur_volume += (uint64_t)volume;
  if (w->first_day > oldest_kept) return NAN;
  return (double)(w->total + w->cur_volume) * w->inv_days;
}

#endif
