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
 * high/low are monotonic deques of (day, value) that grow as needed (bounded by the
 * bars in 52 weeks); the 90-day volume is a ring of at most 90 (day, volume) pairs.
 *
 * Encoding, version 1, little-endian:
 *   "SPIS", u32 version, u32 mask, u64 bar count, u64 last bar_time, u32 first day,
 *   f64 × (scalar fields, see state_doubles), f64 × 64 ring of closes,
 *   u32 n + n × (u32 day, f64 high) (the 52-week max deque, front first),
 *   u32 n + n × (u32 day, f64 low), u32 n + n × (u32 day, u64 volume), u64 total,
 *   u32 CRC-32 (zlib) of everything before it.
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
#define VOLUME_DAYS SP_IND_90D_DAYS
#define STATE_MAGIC "SPIS"
#define STATE_VERSION 1u
#define DEQUE_MAX_ENTRIES (1u << 24) /* a sanity bound when decoding */

enum {
  SMA_SHORT = 20, SMA_LONG = 50, EMA_FAST = 12, EMA_SLOW = 26, RSI_PERIOD = 14,
  MACD_FAST = 12, MACD_SLOW = 26, MACD_SIGNAL = 9, BB_PERIOD = 20, ATR_PERIOD = 14
};
#define BB_NBDEV 2.0

/* A ring-buffer deque of (day, value), the front being the window's extreme. */
typedef struct extreme_deque {
  int32_t *day;
  double *value;
  uint32_t cap; /* a power of two, or 0 before the first push */
  uint32_t head, len;
} extreme_deque;

struct sp_ind_state {
  unsigned mask;
  int64_t count;     /* bars pushed */
  int64_t last_time; /* bar_time of the last bar */
  int32_t first_day; /* UTC day of the first bar */
  double prev_close;
  double closes[CLOSE_RING]; /* close of bar i at closes[i % CLOSE_RING] */
  double sum_20, sum_50;         /* SMA totals */
  double bb_sum, bb_sum_sq;      /* Bollinger totals without the oldest bar */
  double ema_12, ema_26;         /* the running seed sums until seeded */
  double rsi_gain, rsi_loss;     /* likewise */
  double macd_fast, macd_slow, macd_signal; /* likewise */
  double atr;                    /* likewise */
  extreme_deque highs, lows;     /* 52 weeks: max of high, min of low */
  int32_t volume_day[VOLUME_DAYS];
  int64_t volume_sum[VOLUME_DAYS];
  uint32_t volume_head, volume_len;
  int64_t volume_total;
  sp_ind_values last;
};

/* The double fields encoded in order (the close ring and deques follow). */
static const size_t state_doubles[] = {
    offsetof(struct sp_ind_state, prev_close),       offsetof(struct sp_ind_state, sum_20),
    offsetof(struct sp_ind_state, sum_50),           offsetof(struct sp_ind_state, bb_sum),
    offsetof(struct sp_ind_state, bb_sum_sq),
    offsetof(struct sp_ind_state, ema_12),           offsetof(struct sp_ind_state, ema_26),
    offsetof(struct sp_ind_state, rsi_gain),         offsetof(struct sp_ind_state, rsi_loss),
    offsetof(struct sp_ind_state, macd_fast),        offsetof(struct sp_ind_state, macd_slow),
    offsetof(struct sp_ind_state, macd_signal),      offsetof(struct sp_ind_state, atr),
    offsetof(struct sp_ind_state, last.change),      offsetof(struct sp_ind_state, last.change_pct),
    offsetof(struct sp_ind_state, last.sma_20),      offsetof(struct sp_ind_state, last.sma_50),
    offsetof(struct sp_ind_state, last.ema_12),      offsetof(struct sp_ind_state, last.ema_26),
    offsetof(struct sp_ind_state, last.rsi_14),      offsetof(struct sp_ind_state, last.macd),
    offsetof(struct sp_ind_state, last.macd_signal), offsetof(struct sp_ind_state, last.macd_hist),
    offsetof(struct sp_ind_state, last.bb_upper),    offsetof(struct sp_ind_state, last.bb_middle),
    offsetof(struct sp_ind_state, last.bb_lower),    offsetof(struct sp_ind_state, last.atr_14),
    offsetof(struct sp_ind_state, last.high_52w),    offsetof(struct sp_ind_state, last.low_52w),
    offsetof(struct sp_ind_state, last.avg_volume_90d),
};
#define STATE_DOUBLES (sizeof state_doubles / sizeof state_doubles[0])

static const sp_ind_values all_null = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
                                       NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};

/* ---- the 52-week deques ------------------------------------------------------------ */

static void deque_free(extreme_deque *q) {
  free(q->day);
  free(q->value);
  memset(q, 0, sizeof *q);
}

/* Grow to hold at least `need` entries, keeping them; 0 or SP_ERR_NOMEM (deque
 * unchanged). */
static int deque_reserve(extreme_deque *q, uint32_t need) {
  if (need <= q->cap) return SP_OK;
  uint32_t cap = q->cap ? q->cap : 64;
  while (cap < need) {
    if (cap > UINT32_MAX / 2) return SP_ERR_NOMEM;
    cap *= 2;
  }
  int32_t *day = malloc(cap * sizeof *day);
  double *value = malloc(cap * sizeof *value);
  if (!day || !value) {
    free(day);
    free(value);
    return SP_ERR_NOMEM;
  }
  for (uint32_t k = 0; k < q->len; k++) {
    uint32_t from = (q->head + k) & (q->cap - 1);
    day[k] = q->day[from];
    value[k] = q->value[from];
  }
  free(q->day);
  free(q->value);
  q->day = day;
  q->value = value;
  q->cap = cap;
  q->head = 0;
  return SP_OK;
}

static uint32_t deque_slot(const extreme_deque *q, uint32_t k) { return (q->head + k) & (q->cap - 1); }

/* Push (day, v), dropping entries it dominates: sign +1 keeps a max at the front,
 * -1 a min.  Room must have been reserved. */
static void deque_push(extreme_deque *q, int32_t day, double v, double sign) {
  while (q->len > 0 && sign * q->value[deque_slot(q, q->len - 1)] <= sign * v) q->len--;
  uint32_t slot = deque_slot(q, q->len);
  q->day[slot] = day;
  q->value[slot] = v;
  q->len++;
}

static void deque_expire(extreme_deque *q, int32_t oldest_kept) {
  while (q->len > 0 && q->day[q->head] < oldest_kept) {
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
  }
}

static double deque_front(const extreme_deque *q) { return q->len ? q->value[q->head] : NAN; }

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
  return st;
}

sp_ind_state *sp_ind_state_new(unsigned mask, sp_error *err) { return state_alloc(mask, err); }

void sp_ind_state_free(sp_ind_state *st) {
  if (!st) return;
  deque_free(&st->highs);
  deque_free(&st->lows);
  free(st);
}

unsigned sp_ind_state_mask(const sp_ind_state *st) { return st->mask; }
int64_t sp_ind_state_bar_count(const sp_ind_state *st) { return st->count; }
int64_t sp_ind_state_last_time(const sp_ind_state *st) { return st->last_time; }
void sp_ind_state_values(const sp_ind_state *st, sp_ind_values *out) { *out = st->last; }

/* ---- one bar -------------------------------------------------------------------------- */

static void step_sma_bbands(sp_ind_state *st, int64_t i, double x, sp_ind_values *v) {
  const unsigned m = st->mask;
  if (m & SP_IND_SMA_20) {
    if (i < SMA_SHORT)
      st->sum_20 += x;
    else
      st->sum_20 += x - st->closes[(i - SMA_SHORT) % CLOSE_RING];
    if (i >= SMA_SHORT - 1) v->sma_20 = st->sum_20 * (1.0 / SMA_SHORT);
  }
  if (m & SP_IND_SMA_50) {
    if (i < SMA_LONG)
      st->sum_50 += x;
    else
      st->sum_50 += x - st->closes[(i - SMA_LONG) % CLOSE_RING];
    if (i >= SMA_LONG - 1) v->sma_50 = st->sum_50 * (1.0 / SMA_LONG);
  }
  if (m & SP_IND_BBANDS) {
    st->bb_sum += x;
    st->bb_sum_sq += x * x;
    if (i >= BB_PERIOD - 1) {
      double old = st->closes[(i - BB_PERIOD + 1) % CLOSE_RING];
      sp_ind_bbands_value(st->bb_sum, st->bb_sum_sq, BB_PERIOD, BB_NBDEV, &v->bb_upper,
                          &v->bb_middle, &v->bb_lower);
      st->bb_sum -= old;
      st->bb_sum_sq -= old * old;
    }
  }
}

/* A standalone EMA: the running sum until bar period-1, then EMA steps. */
static double step_ema(double *ema, int64_t i, double x, int period) {
  if (i < period) {
    *ema += x;
    if (i < period - 1) return NAN;
    *ema = *ema / period;
    return *ema;
  }
  const double k = sp_ind_ema_k(period);
  *ema = sp_ind_ema_step(*ema, x, k, 1.0 - k);
  return *ema;
}

static void step_rsi(sp_ind_state *st, int64_t i, double x, sp_ind_values *v) {
  if (i == 0) return;
  double d = x - st->prev_close;
  if (i <= RSI_PERIOD) {
    st->rsi_gain += sp_ind_gain(d);
    st->rsi_loss += sp_ind_loss(d);
    if (i < RSI_PERIOD) return;
    st->rsi_gain /= RSI_PERIOD;
    st->rsi_loss /= RSI_PERIOD;
  } else {
    const double keep = (double)(RSI_PERIOD - 1) / RSI_PERIOD, inv = 1.0 / RSI_PERIOD;
    st->rsi_gain = sp_ind_wilder_step(st->rsi_gain, sp_ind_gain(d), keep, inv);
    st->rsi_loss = sp_ind_wilder_step(st->rsi_loss, sp_ind_loss(d), keep, inv);
  }
  v->rsi_14 = sp_ind_rsi_value(st->rsi_gain, st->rsi_loss);
}

static void step_macd(sp_ind_state *st, int64_t i, double x, sp_ind_values *v) {
  const int64_t start = MACD_SLOW - 1, first = start + MACD_SIGNAL - 1;
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
  if (i < first) {
    st->macd_signal += line;
    return;
  }
  if (i == first) {
    st->macd_signal += line;
    st->macd_signal = st->macd_signal / MACD_SIGNAL;
  } else {
    st->macd_signal = sp_ind_ema_step(st->macd_signal, line, kg, 1.0 - kg);
  }
  v->macd = line;
  v->macd_signal = st->macd_signal;
  v->macd_hist = line - st->macd_signal;
}

static void step_atr(sp_ind_state *st, int64_t i, const sp_ind_bar *bar, sp_ind_values *v) {
  if (i == 0) return;
  double tr = sp_ind_true_range(bar->high, bar->low, st->prev_close);
  if (i <= ATR_PERIOD) {
    st->atr += tr;
    if (i < ATR_PERIOD) return;
    st->atr = st->atr / ATR_PERIOD;
  } else {
    const double keep = (double)(ATR_PERIOD - 1) / ATR_PERIOD, inv = 1.0 / ATR_PERIOD;
    st->atr = sp_ind_wilder_step(st->atr, tr, keep, inv);
  }
  v->atr_14 = st->atr;
}

static void step_volume(sp_ind_state *st, int32_t day, int64_t volume, sp_ind_values *v) {
  const int32_t oldest_kept = day - VOLUME_DAYS + 1;
  if (st->volume_len > 0 &&
      st->volume_day[(st->volume_head + st->volume_len - 1) % VOLUME_DAYS] == day) {
    st->volume_sum[(st->volume_head + st->volume_len - 1) % VOLUME_DAYS] += volume;
  } else {
    /* Expire first: the ring then has room, since every kept day is distinct and
     * within the 90 days ending yesterday. */
    while (st->volume_len > 0 && st->volume_day[st->volume_head] < oldest_kept) {
      st->volume_total -= st->volume_sum[st->volume_head];
      st->volume_head = (st->volume_head + 1) % VOLUME_DAYS;
      st->volume_len--;
    }
    uint32_t slot = (st->volume_head + st->volume_len) % VOLUME_DAYS;
    st->volume_day[slot] = day;
    st->volume_sum[slot] = volume;
    st->volume_len++;
  }
  st->volume_total += volume;
  if (st->first_day <= oldest_kept)
    v->avg_volume_90d = (double)st->volume_total / (double)st->volume_len;
}

int sp_ind_state_push(sp_ind_state *st, const sp_ind_bar *bar, sp_ind_values *out,
                      sp_error *err) {
  if (!st || !bar) return sp_error_set(err, SP_ERR_INVALID, "indicator state: no state or bar");
  if (st->count > 0 && bar->bar_time <= st->last_time) {
    char now[SP_TIMESTAMP_TEXT_MAX], prev[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(bar->bar_time, now);
    sp_format_timestamp(st->last_time, prev);
    return sp_error_set(err, SP_ERR_INVALID,
                        "indicator state: bar at %s is not after the previous bar at %s", now,
                        prev);
  }
  if (!isfinite(bar->high) || !isfinite(bar->low) || !isfinite(bar->close)) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(bar->bar_time, when);
    return sp_error_set(err, SP_ERR_INVALID,
                        "indicator state: bar at %s has a missing high, low or close", when);
  }
  if (deque_reserve(&st->highs, st->highs.len + 1) || deque_reserve(&st->lows, st->lows.len + 1))
    return sp_error_set(err, SP_ERR_NOMEM, "indicator state: out of memory");

  const int64_t i = st->count;
  const double x = bar->close;
  const int32_t day = sp_timestamp_to_days(bar->bar_time);
  sp_ind_values v = all_null;
  if (i == 0) st->first_day = day;
  if (i > 0) {
    v.change = x - st->prev_close;
    v.change_pct = st->prev_close != 0.0 ? v.change / st->prev_close * 100.0 : NAN;
  }
  step_sma_bbands(st, i, x, &v);
  if (st->mask & SP_IND_EMA_12) v.ema_12 = step_ema(&st->ema_12, i, x, EMA_FAST);
  if (st->mask & SP_IND_EMA_26) v.ema_26 = step_ema(&st->ema_26, i, x, EMA_SLOW);
  if (st->mask & SP_IND_RSI_14) step_rsi(st, i, x, &v);
  if (st->mask & SP_IND_MACD) step_macd(st, i, x, &v);
  if (st->mask & SP_IND_ATR_14) step_atr(st, i, bar, &v);

  const int32_t oldest_52w = day - SP_IND_52W_DAYS + 1;
  deque_push(&st->highs, day, bar->high, 1.0);
  deque_push(&st->lows, day, bar->low, -1.0);
  deque_expire(&st->highs, oldest_52w);
  deque_expire(&st->lows, oldest_52w);
  if (st->first_day <= oldest_52w) {
    v.high_52w = deque_front(&st->highs);
    v.low_52w = deque_front(&st->lows);
  }
  step_volume(st, day, bar->volume, &v);

  st->closes[i % CLOSE_RING] = x;
  st->prev_close = x;
  st->last_time = bar->bar_time;
  st->count = i + 1;
  st->last = v;
  if (out) *out = v;
  return SP_OK;
}

/* ---- encoding ----------------------------------------------------------------------- */

static int put_f64(sp_buf *out, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return sp_buf_append_u64le(out, bits);
}

static int put_deque(sp_buf *out, const extreme_deque *q) {
  int rc = sp_buf_append_u32le(out, q->len);
  for (uint32_t k = 0; k < q->len && !rc; k++) {
    uint32_t slot = deque_slot(q, k);
    rc = sp_buf_append_u32le(out, (uint32_t)q->day[slot]);
    if (!rc) rc = put_f64(out, q->value[slot]);
  }
  return rc;
}

int sp_ind_state_serialize(const sp_ind_state *st, sp_buf *out) {
  const size_t start = out->len;
  int rc = sp_buf_append(out, STATE_MAGIC, 4);
  if (!rc) rc = sp_buf_append_u32le(out, STATE_VERSION);
  if (!rc) rc = sp_buf_append_u32le(out, st->mask);
  if (!rc) rc = sp_buf_append_u64le(out, (uint64_t)st->count);
  if (!rc) rc = sp_buf_append_u64le(out, (uint64_t)st->last_time);
  if (!rc) rc = sp_buf_append_u32le(out, (uint32_t)st->first_day);
  for (size_t f = 0; f < STATE_DOUBLES && !rc; f++) {
    double v;
    memcpy(&v, (const char *)st + state_doubles[f], sizeof v);
    rc = put_f64(out, v);
  }
  for (int k = 0; k < CLOSE_RING && !rc; k++) rc = put_f64(out, st->closes[k]);
  if (!rc) rc = put_deque(out, &st->highs);
  if (!rc) rc = put_deque(out, &st->lows);
  if (!rc) rc = sp_buf_append_u32le(out, st->volume_len);
  for (uint32_t k = 0; k < st->volume_len && !rc; k++) {
    uint32_t slot = (st->volume_head + k) % VOLUME_DAYS;
    rc = sp_buf_append_u32le(out, (uint32_t)st->volume_day[slot]);
    if (!rc) rc = sp_buf_append_u64le(out, (uint64_t)st->volume_sum[slot]);
  }
  if (!rc) rc = sp_buf_append_u64le(out, (uint64_t)st->volume_total);
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

static double get_f64(reader *r) {
  uint64_t bits = get_le(r, 8);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* Read a deque; its entries must be in day order, within 52 weeks of last_day and
 * not before first_day,
 * finite and strictly monotonic (decreasing from the front for sign +1). */
static int get_deque(reader *r, extreme_deque *q, double sign, int32_t first_day,
                     int32_t last_day, const char **why) {
  uint32_t n = (uint32_t)get_le(r, 4);
  if (!r->ok || n > DEQUE_MAX_ENTRIES || (size_t)n * 12 > r->left) {
    *why = "52-week deque length";
    return SP_ERR_CORRUPT;
  }
  if (deque_reserve(q, n)) return SP_ERR_NOMEM;
  for (uint32_t k = 0; k < n; k++) {
    int32_t day = (int32_t)(uint32_t)get_le(r, 4);
    double v = get_f64(r);
    int bad = !isfinite(v) || day > last_day || day <= last_day - SP_IND_52W_DAYS ||
              day < first_day;
    if (k > 0)
      bad = bad || day < q->day[k - 1] || sign * v >= sign * q->value[k - 1];
    if (bad) {
      *why = "52-week deque entries";
      return SP_ERR_CORRUPT;
    }
    q->day[k] = day;
    q->value[k] = v;
    q->len++;
  }
  return SP_OK;
}

static int decode_state(reader *r, sp_ind_state *st, const char **why) {
  st->count = (int64_t)get_le(r, 8);
  st->last_time = (int64_t)get_le(r, 8);
  st->first_day = (int32_t)(uint32_t)get_le(r, 4);
  for (size_t f = 0; f < STATE_DOUBLES; f++) {
    double v = get_f64(r);
    memcpy((char *)st + state_doubles[f], &v, sizeof v);
  }
  for (int k = 0; k < CLOSE_RING; k++) st->closes[k] = get_f64(r);
  if (!r->ok) {
    *why = "truncated";
    return SP_ERR_CORRUPT;
  }
  const int32_t last_day = st->count > 0 ? sp_timestamp_to_days(st->last_time) : INT32_MIN;
  if (st->count < 0 || (st->count == 0 && st->last_time != INT64_MIN) ||
      (st->count > 0 && st->first_day > last_day)) {
    *why = "bar count and times";
    return SP_ERR_CORRUPT;
  }
  int rc = get_deque(r, &st->highs, 1.0, st->first_day, last_day, why);
  if (!rc) rc = get_deque(r, &st->lows, -1.0, st->first_day, last_day, why);
  if (rc) return rc;
  uint32_t n = (uint32_t)get_le(r, 4);
  if (!r->ok || n > VOLUME_DAYS) {
    *why = "90-day volume length";
    return SP_ERR_CORRUPT;
  }
  int64_t total = 0;
  for (uint32_t k = 0; k < n; k++) {
    st->volume_day[k] = (int32_t)(uint32_t)get_le(r, 4);
    st->volume_sum[k] = (int64_t)get_le(r, 8);
    int bad = st->volume_day[k] > last_day || st->volume_day[k] <= last_day - VOLUME_DAYS ||
              (k > 0 && st->volume_day[k] <= st->volume_day[k - 1]) ||
              __builtin_add_overflow(total, st->volume_sum[k], &total);
    if (bad) {
      *why = "90-day volume entries";
      return SP_ERR_CORRUPT;
    }
  }
  st->volume_head = 0;
  st->volume_len = n;
  st->volume_total = (int64_t)get_le(r, 8);
  if (!r->ok || st->volume_total != total || (st->count > 0 && n == 0)) {
    *why = "90-day volume total";
    return SP_ERR_CORRUPT;
  }
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
    if (rc == SP_ERR_NOMEM) return sp_error_set(err, rc, "indicator state: out of memory");
    return sp_error_set(err, rc, "indicator state: inconsistent %s", why);
  }
  *out = st;
  return SP_OK;
}

/* ---- rows ------------------------------------------------------------------------------ */

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

int sp_ind_fill_row(const sp_ind_values *values, sp_row *row, sp_error *err) {
  if (!values || !row || row->ds != sp_dataset_get(SP_DS_STOCK_MOVEMENTS))
    return sp_error_set(err, SP_ERR_INVALID, "indicators: not a stock_movements row");
  for (size_t c = 0; c < sizeof value_columns / sizeof value_columns[0]; c++) {
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
