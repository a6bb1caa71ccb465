/*
 * indicators_state.c — the streaming form of the stock_movements indicators: one
 * sp_ind_state per (ticker, interval), advanced one bar at a time in O(1), kept
 * between polls as bytes (sp_ind_state_serialize / _deserialize), and copied into
 * rows with sp_ind_fill_row.
 *
 * Every step uses the arithmetic of indicators_kernel.h in the order the batch loops
 * of indicators.c use it, so the values equal sp_ind_compute_series bit for bit.
 * Fixed periods: SMA 20/50, EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20/2,
 * ATR 14.  The last 64 closes are kept in a ring (enough for SMA 50); the 52-week
 * high/low and the 90-day volume fold bars into days and keep rings of at most 364
 * and 90 completed days, so a state has a fixed size (about 10 KB in memory, less
 * encoded) whatever the bar interval.
 *
 * Encoding, version 1, little-endian:
 *   "SPIS", u32 version, u32 mask, u64 bar count, u64 last bar_time,
 *   f64 × 13 (state_doubles), f64 × 17 (the last bar's values), f64 × 64 closes,
 *   52 weeks: u32 first day, u32 current day, f64 today's high, f64 today's low,
 *             u32 n, u32 front, n × (u32 day, f64 high, f64 low) (completed days,
 *             oldest first; the first `front` form the front stack),
 *   90 days:  u32 first day, u32 current day, u64 today's volume,
 *             u32 n + n × (u32 day, u64 volume) (oldest first),
 *   u32 CRC-32 (zlib) of everything before it.
 * Decoding checks the magic, version, CRC, length and every invariant of the windows
 * (days in range and order, finite extremes), so a state that decodes is one that
 * sp_ind_state_push could have produced.
 */
#include "analytics/indicators.h"
#include "analytics/indicators_kernel.h"
#include "core/timeutil.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CLOSE_RING 64 /* >= the longest window (SMA 50); a power of two */
#define STATE_MAGIC "SPIS"
#define STATE_VERSION 1u

enum {
  SMA_SHORT = 20, SMA_LONG = 50, EMA_FAST = 12, EMA_SLOW = 26, RSI_PERIOD = 14,
  MACD_FAST = 12, MACD_SLOW = 26, MACD_SIGNAL = 9, BB_PERIOD = 20, ATR_PERIOD = 14
};
#define BB_NBDEV 2.0

struct sp_ind_state {
  unsigned mask;
  uint64_t count;    /* bars pushed */
  int64_t last_time; /* bar_time of the last bar */
  double prev_close;
  double closes[CLOSE_RING]; /* close of bar i at closes[i % CLOSE_RING] */
  double sum_20, sum_50;         /* SMA totals */
  double bb_sum, bb_sum_sq;      /* Bollinger totals without the oldest bar */
  double ema_12, ema_26;         /* the running seed sums until seeded */
  double rsi_gain, rsi_loss;     /* likewise */
  double macd_fast, macd_slow, macd_signal; /* likewise */
  double atr;                    /* likewise */
  sp_ind_extreme_window week52;  /* rings below */
  int32_t week52_day[SP_IND_52W_DAYS];
  double week52_high[SP_IND_52W_DAYS], week52_low[SP_IND_52W_DAYS];
  double week52_agg_high[SP_IND_52W_DAYS], week52_agg_low[SP_IND_52W_DAYS];
  sp_ind_volume_window days90;   /* rings below */
  int32_t volume_day[SP_IND_90D_DAYS];
  uint64_t volume_sum[SP_IND_90D_DAYS];
  sp_ind_values last;
};

/* The state's double fields, encoded in this order (then the last bar's values in
 * value_columns order, the close ring and the windows). */
static const size_t state_doubles[] = {
    offsetof(struct sp_ind_state, prev_close), offsetof(struct sp_ind_state, sum_20),
    offsetof(struct sp_ind_state, sum_50),     offsetof(struct sp_ind_state, bb_sum),
    offsetof(struct sp_ind_state, bb_sum_sq),  offsetof(struct sp_ind_state, ema_12),
    offsetof(struct sp_ind_state, ema_26),     offsetof(struct sp_ind_state, rsi_gain),
    offsetof(struct sp_ind_state, rsi_loss),   offsetof(struct sp_ind_state, macd_fast),
    offsetof(struct sp_ind_state, macd_slow),  offsetof(struct sp_ind_state, macd_signal),
    offsetof(struct sp_ind_state, atr),
};
#define STATE_DOUBLES (sizeof state_doubles / sizeof state_doubles[0])

/* The stock_movements column of each field of sp_ind_values, in field order. */
static const struct {
  const char *column;
  size_t offset;
} value_columns[] = {
    {"change", offsetof(sp_ind_values, change)},
    {"change_pct", offsetof(sp_ind_values, change_pct)},
    {"sma_20", offsetof(sp_ind_values, sma_20)},
    {"sma_50", offsetof(sp_ind_values, sma_50)},
    {"ema_12", offsetof(sp_ind_values, ema_12)},
    {"ema_26", offsetof(sp_ind_values, ema_26)},
    {"rsi_14", offsetof(sp_ind_values, rsi_14)},
    {"macd", offsetof(sp_ind_values, macd)},
    {"macd_signal", offsetof(sp_ind_values, macd_signal)},
    {"macd_hist", offsetof(sp_ind_values, macd_hist)},
    {"bb_upper", offsetof(sp_ind_values, bb_upper)},
    {"bb_middle", offsetof(sp_ind_values, bb_middle)},
    {"bb_lower", offsetof(sp_ind_values, bb_lower)},
    {"atr_14", offsetof(sp_ind_values, atr_14)},
    {"high_52w", offsetof(sp_ind_values, high_52w)},
    {"low_52w", offsetof(sp_ind_values, low_52w)},
    {"avg_volume_90d", offsetof(sp_ind_values, avg_volume_90d)},
};
#define VALUE_COLUMNS (sizeof value_columns / sizeof value_columns[0])

static const sp_ind_values all_null = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
                                       NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};

/* ---- life cycle ---------------------------------------------------------------------- */

static sp_ind_state *state_alloc(unsigned mask, sp_error *err) {
  if (mask & ~(unsigned)SP_IND_ALL) {
    sp_error_set(err, SP_ERR_INVALID, "indicator state: unknown indicator bits 0x%x",
                 mask & ~(unsigned)SP_IND_ALL);
    return NULL;
  }
  sp_ind_state *st = calloc(1, sizeof *st);
  if (!st) {
    sp_error_set(err, SP_ERR_NOMEM, "indicator state: out of memory");
    return NULL;
  }
  st->mask = mask;
  st->last_time = INT64_MIN;
  st->last = all_null;
  st->week52.days = SP_IND_52W_DAYS;
  st->week52.day = st->week52_day;
  st->week52.high = st->week52_high;
  st->week52.low = st->week52_low;
  st->week52.agg_high = st->week52_agg_high;
  st->week52.agg_low = st->week52_agg_low;
  st->week52.back_high = st->week52.past_high = -INFINITY;
  st->week52.back_low = st->week52.past_low = INFINITY;
  st->days90.days = SP_IND_90D_DAYS;
  st->days90.day = st->volume_day;
  st->days90.volume = st->volume_sum;
  return st;
}

sp_ind_state *sp_ind_state_new(unsigned mask, sp_error *err) { return state_alloc(mask, err); }

void sp_ind_state_free(sp_ind_state *st) { free(st); }

unsigned sp_ind_state_mask(const sp_ind_state *st) { return st->mask; }
int64_t sp_ind_state_bar_count(const sp_ind_state *st) { return (int64_t)st->count; }
int64_t sp_ind_state_last_time(const sp_ind_state *st) { return st->last_time; }
const sp_ind_values *sp_ind_state_last(const sp_ind_state *st) { return &st->last; }


/* Copy values just written field by field: 8-byte loads of 8-byte stores forward
 * from the store buffer, where a struct copy's 16-byte loads would stall on them
 * (this was most of a push's time). */
static void copy_values(sp_ind_values *dst, const sp_ind_values *src) {
  for (size_t f = 0; f < VALUE_COLUMNS; f++) {
    double v;
    memcpy(&v, (const char *)src + value_columns[f].offset, sizeof v);
    memcpy((char *)dst + value_columns[f].offset, &v, sizeof v);
  }
}

void sp_ind_state_values(const sp_ind_state *st, sp_ind_values *out) { copy_values(out, &st->last); }

/* ---- one bar --------------------------------------------------------------------------
 * The steps write into st->last.  Divisions that do not depend on each other are
 * done in pairs (one divpd on x86-64; the quotients are the same as two divisions),
 * since the divider is what bounds a push. */

static void step_sma(sp_ind_state *st, uint64_t i, double x, sp_ind_values *v) {
  if (st->mask & SP_IND_SMA_20) {
    if (i < SMA_SHORT)
      st->sum_20 += x;
    else
      st->sum_20 += x - st->closes[(i - SMA_SHORT) % CLOSE_RING];
    if (i >= SMA_SHORT - 1) v->sma_20 = st->sum_20 * (1.0 / SMA_SHORT);
  }
  if (st->mask & SP_IND_SMA_50) {
    if (i < SMA_LONG)
      st->sum_50 += x;
    else
      st->sum_50 += x - st->closes[(i - SMA_LONG) % CLOSE_RING];
    if (i >= SMA_LONG - 1) v->sma_50 = st->sum_50 * (1.0 / SMA_LONG);
  }
}

static void step_bbands(sp_ind_state *st, uint64_t i, double x, sp_ind_values *v) {
  if (i < BB_PERIOD - 1) {
    st->bb_sum += x;
    st->bb_sum_sq += x * x;
    return;
  }
  double window_sum, window_sum_sq;
  sp_ind_bbands_roll(&st->bb_sum, &st->bb_sum_sq, x, st->closes[(i - (BB_PERIOD - 1)) % CLOSE_RING],
                     &window_sum, &window_sum_sq);
  sp_ind_pair means = (sp_ind_pair){window_sum, window_sum_sq} / (sp_ind_pair){BB_PERIOD, BB_PERIOD};
  sp_ind_bbands_from_means(means[0], means[1], BB_NBDEV, &v->bb_upper, &v->bb_middle,
                           &v->bb_lower);
}

/* A standalone EMA: the running sum until bar period-1, then EMA steps. */
static double step_ema(double *ema, uint64_t i, double x, int period) {
  if (i >= (uint64_t)period) {
    const double k = sp_ind_ema_k(period);
    *ema = sp_ind_ema_step(*ema, x, k, 1.0 - k);
    return *ema;
  }
  *ema += x;
  if (i + 1 < (uint64_t)period) return NAN;
  *ema = *ema / period;
  return *ema;
}

/* Update the RSI averages with d = close - previous close (i >= 1), gain and loss
 * as one pair; true once they are seeded, i.e. the RSI has a value. */
static bool step_rsi_averages(sp_ind_state *st, uint64_t i, double d) {
  const sp_ind_pair moves = sp_ind_gain_loss(d);
  sp_ind_pair avg = {st->rsi_gain, st->rsi_loss};
  bool ready = true;
  if (i > RSI_PERIOD) {
    const double keep = (double)(RSI_PERIOD - 1) / RSI_PERIOD, inv = 1.0 / RSI_PERIOD;
    avg = avg * (sp_ind_pair){keep, keep} + moves * (sp_ind_pair){inv, inv};
  } else {
    avg += moves;
    if (i == RSI_PERIOD)
      avg /= (sp_ind_pair){RSI_PERIOD, RSI_PERIOD};
    else
      ready = false;
  }
  st->rsi_gain = avg[0];
  st->rsi_loss = avg[1];
  return ready;
}

static void step_macd(sp_ind_state *st, uint64_t i, double x, sp_ind_values *v) {
  const uint64_t start = MACD_SLOW - 1, first = start + MACD_SIGNAL - 1;
  if (i <= start) {
    st->macd_slow += x;
    if (i >= MACD_SLOW - MACD_FAST) st->macd_fast += x;
    if (i < start) return;
    st->macd_fast = st->macd_fast / MACD_FAST;
    st->macd_slow = st->macd_slow / MACD_SLOW;
    st->macd_signal = st->macd_fast - st->macd_slow; /* the signal's seed sum */
    return;
  }
  const double kf = sp_ind_ema_k(MACD_FAST), ks = sp_ind_ema_k(MACD_SLOW);
  const double kg = sp_ind_ema_k(MACD_SIGNAL);
  st->macd_fast = sp_ind_ema_step(st->macd_fast, x, kf, 1.0 - kf);
  st->macd_slow = sp_ind_ema_step(st->macd_slow, x, ks, 1.0 - ks);
  double line = st->macd_fast - st->macd_slow;
  if (i > first) {
    st->macd_signal = sp_ind_ema_step(st->macd_signal, line, kg, 1.0 - kg);
  } else {
    st->macd_signal += line;
    if (i < first) return;
    st->macd_signal = st->macd_signal / MACD_SIGNAL;
  }
  v->macd = line;
  v->macd_signal = st->macd_signal;
  v->macd_hist = line - st->macd_signal;
}

static void step_atr(sp_ind_state *st, uint64_t i, const sp_ind_bar *bar, sp_ind_values *v) {
  double tr = sp_ind_true_range(bar->high, bar->low, st->prev_close);
  if (i > ATR_PERIOD) {
    const double keep = (double)(ATR_PERIOD - 1) / ATR_PERIOD, inv = 1.0 / ATR_PERIOD;
    st->atr = sp_ind_wilder_step(st->atr, tr, keep, inv);
  } else {
    st->atr += tr;
    if (i < ATR_PERIOD) return;
    st->atr = st->atr / ATR_PERIOD;
  }
  v->atr_14 = st->atr;
}

int sp_ind_state_push(sp_ind_state *st, const sp_ind_bar *bar, sp_ind_values *out,
                      sp_error *err) {
  if (st->count > 0 && bar->bar_time <= st->last_time) {
    char now[SP_TIMESTAMP_TEXT_MAX], prev[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(bar->bar_time, now);
    sp_format_timestamp(st->last_time, prev);
    return sp_error_set(err, SP_ERR_INVALID,
                        "indicator state: bar at %s is not after the previous bar at %s", now,
                        prev);
  }
  if (bar->volume < 0) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(bar->bar_time, when);
    return sp_error_set(err, SP_ERR_INVALID, "indicator state: bar at %s has a negative volume",
                        when);
  }
  /* x - x is 0 for a finite x and NaN otherwise: one test for the three prices. */
  if (!((bar->high - bar->high) + (bar->low - bar->low) + (bar->close - bar->close) == 0.0)) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(bar->bar_time, when);
    return sp_error_set(err, SP_ERR_INVALID,
                        "indicator state: bar at %s has a missing high, low or close", when);
  }

  const uint64_t i = st->count;
  const unsigned m = st->mask;
  const double x = bar->close, prev = st->prev_close, d = x - prev;
  /* Every value, once it exists, exists for every later bar; so st->last needs no
   * reset: a step writes its fields from its first value on (and NaN where a value
   * can vanish, change_pct after a zero close). */
  sp_ind_values *v = &st->last;
  step_sma(st, i, x, v);
  if (m & SP_IND_BBANDS) step_bbands(st, i, x, v);
  if (m & SP_IND_EMA_12) v->ema_12 = step_ema(&st->ema_12, i, x, EMA_FAST);
  if (m & SP_IND_EMA_26) v->ema_26 = step_ema(&st->ema_26, i, x, EMA_SLOW);
  if (m & SP_IND_MACD) step_macd(st, i, x, v);
  if (i > 0) {
    bool rsi_ready = (m & SP_IND_RSI_14) && step_rsi_averages(st, i, d);
    double rsi_total = st->rsi_gain + st->rsi_loss;
    sp_ind_pair q = (sp_ind_pair){d, st->rsi_gain} / (sp_ind_pair){prev, rsi_total};
    v->change = d;
    v->change_pct = prev != 0.0 ? q[0] * 100.0 : NAN;
    if (rsi_ready) v->rsi_14 = sp_ind_rsi_from_ratio(rsi_total, q[1]);
    if (m & SP_IND_ATR_14) step_atr(st, i, bar, v);
  }
  /* Both windows saw the same bars: one day computation serves both. */
  const int32_t day = sp_ind_day_of(bar->bar_time, st->week52.started, st->week52.cur_day);
  sp_ind_extreme_window_step(&st->week52, day, bar->high, bar->low, &v->high_52w, &v->low_52w);
  v->avg_volume_90d = sp_ind_volume_window_step(&st->days90, day, bar->volume);

  st->closes[i % CLOSE_RING] = x;
  st->prev_close = x;
  st->last_time = bar->bar_time;
  st->count = i + 1;
  if (out) copy_values(out, v);
  return SP_OK;
}

/* ---- encoding ----------------------------------------------------------------------- */

static int put_f64(sp_buf *out, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return sp_buf_append_u64le(out, bits);
}

int sp_ind_state_serialize(const sp_ind_state *st, sp_buf *out) {
  const size_t start = out->len;
  int rc = sp_buf_append(out, STATE_MAGIC, 4);
  if (!rc) rc = sp_buf_append_u32le(out, STATE_VERSION);
  if (!rc) rc = sp_buf_append_u32le(out, st->mask);
  if (!rc) rc = sp_buf_append_u64le(out, st->count);
  if (!rc) rc = sp_buf_append_u64le(out, (uint64_t)st->last_time);
  for (size_t f = 0; f < STATE_DOUBLES && !rc; f++) {
    double v;
    memcpy(&v, (const char *)st + state_doubles[f], sizeof v);
    rc = put_f64(out, v);
  }
  for (size_t f = 0; f < VALUE_COLUMNS && !rc; f++) {
    double v;
    memcpy(&v, (const char *)&st->last + value_columns[f].offset, sizeof v);
    rc = put_f64(out, v);
  }
  for (int k = 0; k < CLOSE_RING && !rc; k++) rc = put_f64(out, st->closes[k]);
  const sp_ind_extreme_window *w = &st->week52;
  if (!rc) rc = sp_buf_append_u32le(out, (uint32_t)w->first_day);
  if (!rc) rc = sp_buf_append_u32le(out, (uint32_t)w->cur_day);
  if (!rc) rc = put_f64(out, w->cur_high);
  if (!rc) rc = put_f64(out, w->cur_low);
  if (!rc) rc = sp_buf_append_u32le(out, w->len);
  if (!rc) rc = sp_buf_append_u32le(out, w->front);
  for (uint32_t k = 0; k < w->len && !rc; k++) {
    uint32_t slot = sp_ind_ring_slot(w->head, k, SP_IND_52W_DAYS);
    rc = sp_buf_append_u32le(out, (uint32_t)w->day[slot]);
    if (!rc) rc = put_f64(out, w->high[slot]);
    if (!rc) rc = put_f64(out, w->low[slot]);
  }
  const sp_ind_volume_window *d = &st->days90;
  if (!rc) rc = sp_buf_append_u32le(out, (uint32_t)d->first_day);
  if (!rc) rc = sp_buf_append_u32le(out, (uint32_t)d->cur_day);
  if (!rc) rc = sp_buf_append_u64le(out, d->cur_volume);
  if (!rc) rc = sp_buf_append_u32le(out, d->len);
  for (uint32_t k = 0; k < d->len && !rc; k++) {
    uint32_t slot = sp_ind_ring_slot(d->head, k, SP_IND_90D_DAYS);
    rc = sp_buf_append_u32le(out, (uint32_t)d->day[slot]);
    if (!rc) rc = sp_buf_append_u64le(out, d->volume[slot]);
  }
  if (!rc) {
    uLong crc = crc32(0L, out->data + start, (uInt)(out->len - start));
    rc = sp_buf_append_u32le(out, (uint32_t)crc);
  }
  if (rc) out->len = start;
  return rc;
}

/* A bounds-checked little-endian reader; `ok` turns false on the first overrun. */
typedef struct reader {
  const uint8_t *p;
  size_t left;
  int ok;
} reader;

static uint64_t get_le(reader *r, int bytes) {
  if (!r->ok || r->left < (size_t)bytes) {
    r->ok = 0;
    return 0;
  }
  uint64_t v = 0;
  for (int b = 0; b < bytes; b++) v |= (uint64_t)r->p[b] << (8 * b);
  r->p += bytes;
  r->left -= (size_t)bytes;
  return v;
}

static int32_t get_i32(reader *r) { return (int32_t)(uint32_t)get_le(r, 4); }

static double get_f64(reader *r) {
  uint64_t bits = get_le(r, 8);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* A day of a window ring: completed, within `days` of the current day, not before
 * the first, after the previous entry. */
static int ring_day_ok(int32_t day, int32_t prev, uint32_t k, int32_t first_day, int32_t cur_day,
                       uint32_t days) {
  return day >= first_day && day < cur_day && day > cur_day - (int32_t)days &&
         (k == 0 || day > prev);
}

/* Read the 52-week ring: completed days in order with finite extremes; then rebuild
 * the two stacks' aggregates (the front's suffix extremes, the back's extremes). */
static int get_week52_days(reader *r, sp_ind_extreme_window *w) {
  uint32_t n = (uint32_t)get_le(r, 4), front = (uint32_t)get_le(r, 4);
  if (!r->ok || n >= SP_IND_52W_DAYS || front > n) return 0;
  w->head = 0;
  w->len = n;
  for (uint32_t k = 0; k < n; k++) {
    w->day[k] = get_i32(r);
    w->high[k] = get_f64(r);
    w->low[k] = get_f64(r);
    if (!r->ok || !isfinite(w->high[k]) || !isfinite(w->low[k]) ||
        !ring_day_ok(w->day[k], k ? w->day[k - 1] : 0, k, w->first_day, w->cur_day, w->days))
      return 0;
  }
  /* The front's aggregates come from a refold of its days alone. */
  w->len = front;
  sp_ind_extreme_window_refold(w);
  w->len = n;
  for (uint32_t k = front; k < n; k++) {
    w->back_high = w->high[k] > w->back_high ? w->high[k] : w->back_high;
    w->back_low = w->low[k] < w->back_low ? w->low[k] : w->back_low;
  }
  sp_ind_extreme_window_fronts(w);
  return 1;
}

static int decode_state(reader *r, sp_ind_state *st, const char **why) {
  st->count = get_le(r, 8);
  st->last_time = (int64_t)get_le(r, 8);
  for (size_t f = 0; f < STATE_DOUBLES; f++) {
    double v = get_f64(r);
    memcpy((char *)st + state_doubles[f], &v, sizeof v);
  }
  for (size_t f = 0; f < VALUE_COLUMNS; f++) {
    double v = get_f64(r);
    memcpy((char *)&st->last + value_columns[f].offset, &v, sizeof v);
  }
  for (int k = 0; k < CLOSE_RING; k++) st->closes[k] = get_f64(r);
  const bool started = st->count > 0;
  const int32_t last_day = started ? sp_timestamp_to_days(st->last_time) : 0;
  if (!r->ok || st->count > INT64_MAX || (!started && st->last_time != INT64_MIN)) {
    *why = "bar count and times";
    return SP_ERR_CORRUPT;
  }

  sp_ind_extreme_window *w = &st->week52;
  w->started = started;
  w->first_day = get_i32(r);
  w->cur_day = get_i32(r);
  w->cur_high = get_f64(r);
  w->cur_low = get_f64(r);
  int ok = r->ok && (started ? w->cur_day == last_day && w->first_day <= w->cur_day &&
                                   isfinite(w->cur_high) && isfinite(w->cur_low)
                             : w->first_day == 0 && w->cur_day == 0);
  if (!ok || !get_week52_days(r, w) || (!started && w->len)) {
    *why = "52-week window";
    return SP_ERR_CORRUPT;
  }

  sp_ind_volume_window *d = &st->days90;
  d->started = started;
  d->first_day = get_i32(r);
  d->cur_day = get_i32(r);
  d->cur_volume = get_le(r, 8);
  d->head = 0;
  d->len = (uint32_t)get_le(r, 4);
  d->total = 0;
  ok = r->ok && d->len < SP_IND_90D_DAYS &&
       (started ? d->cur_day == last_day && d->first_day == w->first_day
                : d->first_day == 0 && d->cur_day == 0 && d->cur_volume == 0 && d->len == 0);
  for (uint32_t k = 0; ok && k < d->len; k++) {
    d->day[k] = get_i32(r);
    d->volume[k] = get_le(r, 8);
    ok = r->ok &&
         ring_day_ok(d->day[k], k ? d->day[k - 1] : 0, k, d->first_day, d->cur_day, d->days) &&
         !__builtin_add_overflow(d->total, d->volume[k], &d->total);
  }
  if (!ok) {
    *why = "90-day window";
    return SP_ERR_CORRUPT;
  }
  d->inv_days = 1.0 / (double)(d->len + 1);
  if (r->left != 0) {
    *why = "trailing bytes";
    return SP_ERR_CORRUPT;
  }
  return SP_OK;
}

int sp_ind_state_deserialize(const uint8_t *data, size_t len, sp_ind_state **out, sp_error *err) {
  *out = NULL;
  if (!data || len < 12 || memcmp(data, STATE_MAGIC, 4) != 0)
    return sp_error_set(err, SP_ERR_CORRUPT, "indicator state: not an indicator state");
  reader r = {data + 4, len - 8, 1};
  uint32_t version = (uint32_t)get_le(&r, 4);
  if (version != STATE_VERSION)
    return sp_error_set(err, SP_ERR_CORRUPT, "indicator state: unknown version %u", version);
  uint32_t stored_crc = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
                        (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
  if ((uint32_t)crc32(0L, data, (uInt)(len - 4)) != stored_crc)
    return sp_error_set(err, SP_ERR_CORRUPT, "indicator state: checksum mismatch");
  uint32_t mask = (uint32_t)get_le(&r, 4);
  if (!r.ok || (mask & ~(unsigned)SP_IND_ALL))
    return sp_error_set(err, SP_ERR_CORRUPT, "indicator state: bad indicator mask 0x%x", mask);
  sp_ind_state *st = state_alloc(mask, err);
  if (!st) return SP_ERR_NOMEM;
  const char *why = "contents";
  int rc = decode_state(&r, st, &why);
  if (rc) {
    sp_ind_state_free(st);
    return sp_error_set(err, rc, "indicator state: inconsistent %s", why);
  }
  *out = st;
  return SP_OK;
}

/* ---- rows ------------------------------------------------------------------------------ */


int sp_ind_fill_row(const sp_ind_values *values, sp_row *row, sp_error *err) {
  if (!values || !row || row->ds != sp_dataset_get(SP_DS_STOCK_MOVEMENTS))
    return sp_error_set(err, SP_ERR_INVALID, "indicators: not a stock_movements row");
  for (size_t c = 0; c < VALUE_COLUMNS; c++) {
    int col = sp_dataset_column_index(row->ds, value_columns[c].column);
    double v;
    memcpy(&v, (const char *)values + value_columns[c].offset, sizeof v);
    int rc = col < 0 ? SP_ERR_INVALID : sp_row_set_double(row, col, v);
    if (rc)
      return sp_error_set(err, rc, "indicators: cannot set column %s", value_columns[c].column);
  }
  return SP_OK;
}

int sp_ind_state_fill_row(const sp_ind_state *st, sp_row *row, sp_error *err) {
  return sp_ind_fill_row(&st->last, row, err);
}
