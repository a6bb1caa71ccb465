/*
 * indicators.h — technical indicators of raw/stock_movements (SPEC §1, §7), computed
 * exactly as TA-Lib defines them, in two forms that agree bit for bit:
 *
 *   - a batch form over arrays (sp_ind_sma … sp_ind_avg_volume_window), for whole
 *     histories, tests and benchmarks;
 *   - a streaming form (sp_ind_state): one bar at a time, O(1) per bar, with a
 *     versioned, checksummed byte encoding so the state store can keep it between
 *     polls.  sp_ind_fill_row() copies the values after a bar into a stock_movements
 *     row, so the movements source only pushes bars and fills rows.
 *
 * Conventions (TA-Lib's, compatibility "default", unstable period 0):
 *   - Output index i belongs to input bar i; an output is NaN (stored as null) until
 *     its lookback is filled: SMA/BBANDS n-1, EMA n-1, RSI n, ATR n, MACD slow-1 +
 *     signal-1 (33 for 12/26/9), change 1.
 *   - EMA: k = 2/(n+1), seeded with the SMA of the first n inputs.
 *   - RSI and ATR: Wilder smoothing seeded with the plain mean of the first n gains
 *     and losses (RSI, from bar 1) or true ranges (ATR, bars 1..n); RSI is 0 when the
 *     smoothed gain + loss is within 1e-14 of zero, as in TA-Lib.
 *   - MACD: macd = EMA_fast - EMA_slow where, like TA_MACD, the fast EMA is seeded
 *     so that it starts at the slow EMA's lookback (seed = SMA of inputs
 *     slow-fast .. slow-1); signal = EMA_signal of the macd line, seeded with the
 *     SMA of its first `signal` values; hist = macd - signal.
 *   - Bollinger: middle = SMA, sigma = population standard deviation computed as
 *     sqrt(E[x^2] - middle^2) (0 when that is below 1e-14, as in TA-Lib);
 *     upper/lower = middle +/- nbdev * sigma.
 *   Bollinger bands accumulate and divide exactly as TA-Lib does, so they are bit for
 *   bit TA-Lib's (sigma of a window after a flat stretch is cancellation noise in
 *   TA-Lib; we reproduce the same noise rather than a different one).  The other
 *   recurrences keep one multiply-add per step (prev * (1 - k) + x * k, Wilder's
 *   prev * (n-1)/n + x / n, rolling sums adding x_new - x_old) where TA-Lib divides
 *   or adds twice, so they differ from TA-Lib by rounding only; the oracle test
 *   (tests/integration/test_indicators_talib.sh) bounds that at 1e-9 relative (it
 *   measures about 1e-14).
 *
 * Calendar windows (SPEC §7) use the UTC day of bar_time:
 *   - high_52w / low_52w: highest `high` / lowest `low` of the bars whose day lies in
 *     the trailing 364 days (52 weeks) including the current bar's day; null until
 *     the series' first bar is at least 363 days before the current bar's day.
 *   - avg_volume_90d: the sum of volume over the bars whose day lies in the trailing
 *     90 days including the current day, divided by the number of distinct days with
 *     bars in that window (as a multiplication by its reciprocal: within an ulp) (for 1h series each day's hourly volumes are summed; the
 *     current day counts with the bars up to and including the current one, so no
 *     value ever depends on a later bar); null until the first bar is at least 89
 *     days before the current day.
 *
 * Inputs of the batch functions must be finite (a NaN propagates like in TA-Lib);
 * bar times must be non-decreasing.  The UTC day stands for the trading day: US
 * sessions (13:30-21:00 UTC) never cross UTC midnight.  Nothing here keeps global state; every function
 * is thread-safe on distinct outputs.
 */
#ifndef STOCKPIPE_ANALYTICS_INDICATORS_H
#define STOCKPIPE_ANALYTICS_INDICATORS_H

#include "core/buf.h"
#include "core/row.h"
#include "stockpipe/error.h"

#include <stddef.h>
#include <stdint.h>

/* ---- batch form ------------------------------------------------------------------
 * Every function writes n outputs (NaN before the lookback) and returns 0, or
 * SP_ERR_INVALID for a period outside 2..100000 (TA-Lib's range) or a NULL array
 * when n > 0.  Outputs may not alias inputs.  No allocation unless stated. */

/* Lookbacks: the index of the first non-NaN output (TA-Lib's TA_*_Lookback). */
int sp_ind_sma_lookback(int period);
int sp_ind_ema_lookback(int period);
int sp_ind_rsi_lookback(int period);
int sp_ind_atr_lookback(int period);
int sp_ind_macd_lookback(int fast, int slow, int signal);

int sp_ind_sma(const double *in, size_t n, int period, double *out);
int sp_ind_ema(const double *in, size_t n, int period, double *out);
int sp_ind_rsi(const double *in, size_t n, int period, double *out);
/* fast < slow is required (TA-Lib swaps them; we reject the mix-up). */
int sp_ind_macd(const double *in, size_t n, int fast, int slow, int signal, double *macd,
                double *macd_signal, double *macd_hist);
/* nbdev must be finite and >= 0. */
int sp_ind_bbands(const double *in, size_t n, int period, double nbdev, double *upper,
                  double *middle, double *lower);
int sp_ind_atr(const double *high, const double *low, const double *close, size_t n, int period,
               double *out);
/* change = close[i] - close[i-1]; change_pct = change / close[i-1] * 100 (NaN when the
 * previous close is 0).  Either output may be NULL. */
int sp_ind_change(const double *close, size_t n, double *change, double *change_pct);

/* Trailing calendar windows of `window_days` UTC days including the current bar's
 * day (364 for 52 weeks, 90 for the 90-day volume).  bar_time is microseconds since
 * the epoch, non-decreasing (else SP_ERR_INVALID).  A NaN high/low is skipped.
 * Volumes must be >= 0 (sums are unsigned 64-bit: an absurd total wraps, it never
 * overflows).  window_days must be >= 1.  These allocate per-day rings of
 * window_days entries (not per bar): SP_ERR_NOMEM is possible. */
int sp_ind_high_low_window(const int64_t *bar_time, const double *high, const double *low,
                           size_t n, int window_days, double *out_high, double *out_low);
int sp_ind_avg_volume_window(const int64_t *bar_time, const int64_t *volume, size_t n,
                             int window_days, double *out);

#define SP_IND_52W_DAYS 364
#define SP_IND_90D_DAYS 90

/* ---- which indicators: config `include_indicators` ------------------------------- */
enum sp_ind_flag {
  SP_IND_SMA_20 = 1u << 0,
  SP_IND_SMA_50 = 1u << 1,
  SP_IND_EMA_12 = 1u << 2,
  SP_IND_EMA_26 = 1u << 3,
  SP_IND_RSI_14 = 1u << 4,
  SP_IND_MACD = 1u << 5,   /* macd, macd_signal, macd_hist (12/26/9) */
  SP_IND_BBANDS = 1u << 6, /* bb_upper, bb_middle, bb_lower (20, 2) */
  SP_IND_ATR_14 = 1u << 7,
  SP_IND_ALL = (1u << 8) - 1
};
/* change/change_pct, high_52w/low_52w and avg_volume_90d are always computed. */

/* The flag of one `include_indicators` name ("sma_20", "macd", "bbands"…), or 0. */
unsigned sp_ind_flag_from_name(const char *name);
/* OR of the flags of `names`.  An unknown name returns SP_ERR_CONFIG naming it. */
int sp_ind_mask_from_names(const char *const *names, size_t count, unsigned *mask,
                           sp_error *err);

/* ---- all columns of a series at once --------------------------------------------- */

/* One bar as the movements source has it (prices in the provider's currency). */
typedef struct sp_ind_bar {
  int64_t bar_time; /* bar start, microseconds since the epoch, UTC */
  double high, low, close;
  int64_t volume;
} sp_ind_bar;

/* The indicator columns of one bar; NaN = null. */
typedef struct sp_ind_values {
  double change, change_pct;
  double sma_20, sma_50, ema_12, ema_26, rsi_14;
  double macd, macd_signal, macd_hist;
  double bb_upper, bb_middle, bb_lower;
  double atr_14;
  double high_52w, low_52w, avg_volume_90d;
} sp_ind_values;

/* Batch computation of every column of sp_ind_values for `n` bars (time order) with
 * the indicators of `mask` (others NaN), into out[0..n).  This is the reference the
 * streaming form must equal.  Returns 0, SP_ERR_INVALID (times out of order) or
 * SP_ERR_NOMEM. */
int sp_ind_compute_series(const sp_ind_bar *bars, size_t n, unsigned mask, sp_ind_values *out);

/* ---- streaming form ---------------------------------------------------------------
 * One state per (ticker, interval).  Ownership: sp_ind_state_new/deserialize
 * allocate; the caller frees with sp_ind_state_free. */
typedef struct sp_ind_state sp_ind_state;

/* A fresh state computing `mask` (bits outside SP_IND_ALL are rejected: NULL with
 * err SP_ERR_INVALID); NULL with SP_ERR_NOMEM when out of memory. */
sp_ind_state *sp_ind_state_new(unsigned mask, sp_error *err);
void sp_ind_state_free(sp_ind_state *st);

/* The indicators the state computes.  A state keeps its mask: when the configured
 * include_indicators differ, start a new state (the values of newly selected
 * indicators need the history from the first bar). */
unsigned sp_ind_state_mask(const sp_ind_state *st);
/* Bars pushed so far. */
int64_t sp_ind_state_bar_count(const sp_ind_state *st);
/* bar_time of the last bar pushed (INT64_MIN before the first). */
int64_t sp_ind_state_last_time(const sp_ind_state *st);

/* Advance by one bar (st and bar not NULL) and copy that bar's values into `out`
 * (may be NULL: read them with sp_ind_state_last or sp_ind_state_fill_row instead,
 * which is faster).  O(1), no allocation.  SP_ERR_INVALID (state unchanged) when bar_time is not after
 * the previous bar's, high/low/close is not finite or volume is negative. */
int sp_ind_state_push(sp_ind_state *st, const sp_ind_bar *bar, sp_ind_values *out,
                      sp_error *err);
/* The values of the last bar pushed (all NaN before the first): a copy, or a
 * pointer into the state valid until the next push or free. */
void sp_ind_state_values(const sp_ind_state *st, sp_ind_values *out);
const sp_ind_values *sp_ind_state_last(const sp_ind_state *st);

/* Append the state's encoding to `out` (format: see indicators_state.c; versioned,
 * CRC-32 checked).  Returns 0 or SP_ERR_NOMEM. */
int sp_ind_state_serialize(const sp_ind_state *st, sp_buf *out);
/* Rebuild a state from bytes written by sp_ind_state_serialize.  Wrong magic,
 * unknown version, bad checksum, truncation or inconsistent contents return
 * SP_ERR_CORRUPT (SP_ERR_NOMEM when out of memory) with *out = NULL. */
int sp_ind_state_deserialize(const uint8_t *data, size_t len, sp_ind_state **out, sp_error *err);

/* Set the indicator columns (change … avg_volume_90d) of `row`, a stock_movements
 * row, from `values`; NaN becomes null, so indicators outside the state's mask are
 * null.  Other columns are left alone.  SP_ERR_INVALID when row is not a
 * stock_movements row. */
int sp_ind_fill_row(const sp_ind_values *values, sp_row *row, sp_error *err);
/* sp_ind_fill_row with the values of the state's last bar (what the movements source
 * calls after each sp_ind_state_push). */
int sp_ind_state_fill_row(const sp_ind_state *st, sp_row *row, sp_error *err);

#endif
