/*
 * validate.c — the rule tables and checks of every dataset (see validate.h).
 *
 * Each rule is one row of `rules` (name, kind, dataset, meaning) and one check
 * function; the checks of a dataset run in table order and the first reject wins.
 */
#include "core/validate.h"

#include "core/market_calendar.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIN SP_DS_FINANCIAL_DATA
#define BARS SP_DS_STOCK_MOVEMENTS
#define NEWS SP_DS_NEWS
#define MACRO SP_DS_MACROECONOMIC
#define POLICY SP_DS_POLICY

/* Flag thresholds: a close/previous-close ratio beyond JUMP_100X (either way) is a
 * currency-unit error candidate; within SPLIT_TOLERANCE of n or 1/n a split candidate. */
#define JUMP_100X 30.0
#define SPLIT_TOLERANCE 0.03
#define FUTURE_SLACK_US (5 * 60 * SP_US_PER_SEC)

static const sp_rule_info rules[] = {
    {"missing_required", SP_RULE_REJECT, -1, "a required (non-nullable) column, key columns included, is null", 0},
    {"non_finite_value", SP_RULE_REJECT, -1, "a number column holds infinity", 0},
    {"price_not_positive", SP_RULE_REJECT, FIN, "price (or open/high/low/previous_close when given) <= 0", 0},
    {"quote_in_future", SP_RULE_REJECT, FIN, "quote_time later than now + 5 minutes", 0},
    {"interval_invalid", SP_RULE_REJECT, BARS, "interval is not 1h or 1d", 0},
    {"price_not_positive", SP_RULE_REJECT, BARS, "open, high, low or close <= 0", 0},
    {"ohlc_order", SP_RULE_REJECT, BARS, "not low <= min(open, close) <= max(open, close) <= high", 0},
    {"volume_negative", SP_RULE_REJECT, BARS, "volume < 0", 0},
    {"bar_incomplete", SP_RULE_REJECT, BARS, "the bar is still forming: start + interval (or the close) not passed", 0},
    {"bar_not_in_session", SP_RULE_REJECT, BARS,
     "a 1d bar on a day the NYSE is closed, or a 1h bar starting outside the NYSE session", 0},
    {"bar_out_of_order", SP_RULE_REJECT, BARS,
     "bar_time not later than the series' last stored bar (checked by the pipeline against its indicator state)", 0},
    {"bar_outside_window", SP_RULE_REJECT, BARS,
     "the provider sent a bar starting outside the window the request asked for (marked by the parser; "
     "its watermark does not advance)", SP_RULE_MARKED | SP_RULE_NOT_REQUESTED},
    {"bar_null", SP_RULE_REJECT, BARS,
     "open, high, low and close all null: Yahoo's placeholder for a halted minute or day (marked by the parser)",
     SP_RULE_MARKED},
    {"item_unparseable", SP_RULE_REJECT, -1,
     "a provider's item its parser could not turn into a row (its time, key or id missing or unreadable; "
     "the detail names the field, the record holds the item as sent in \"raw\")", SP_RULE_ITEM},
    {"article_id_invalid", SP_RULE_REJECT, NEWS, "article_id is not 64 lower-case hex digits (SHA-256)", 0},
    {"url_invalid", SP_RULE_REJECT, NEWS, "url is not an absolute http(s) URL with a host", 0},
    {"headline_empty", SP_RULE_REJECT, NEWS, "headline is empty or only white space", 0},
    {"published_at_implausible", SP_RULE_REJECT, NEWS, "published_at before 1995-01-01 or more than a day ahead", 0},
    {"sentiment_out_of_range", SP_RULE_REJECT, NEWS,
     "sentiment_score outside -1..1, subjectivity outside 0..1, or an unknown label", 0},
    {"frequency_invalid", SP_RULE_REJECT, MACRO, "frequency is not one of d, w, m, q, a", 0},
    {"unit_invalid", SP_RULE_REJECT, MACRO, "unit is not one of percent, index, usd", 0},
    {"observation_date_implausible", SP_RULE_REJECT, MACRO, "observation_date before 1900 or more than a year ahead", 0},
    {"date_frequency_mismatch", SP_RULE_REJECT, MACRO,
     "observation_date not where its frequency puts it (a: January 1, q: first day of a quarter, m: day 1)", 0},
    {"event_id_invalid", SP_RULE_REJECT, POLICY, "event_id is not 64 lower-case hex digits (SHA-256)", 0},
    {"event_type_invalid", SP_RULE_REJECT, POLICY, "event_type is not one of SPEC's six types", 0},
    {"event_time_implausible", SP_RULE_REJECT, POLICY, "event_time before 1913 or more than three years ahead", 0},
    {"price_jump_100x", SP_RULE_FLAG, -1,
     "close (quotes: price) more than 30x or less than 1/30 of the previous close: a likely currency-unit error", 0},
    {"split_like_jump", SP_RULE_FLAG, BARS, "close/previous close within 3 % of n or 1/n (n = 2..20): an unannounced split?", 0},
    {"zero_volume_in_session", SP_RULE_FLAG, BARS, "volume 0 on a bar inside an NYSE session", 0},
};

const sp_rule_info *sp_validate_rules(size_t *count) {
  *count = sizeof rules / sizeof rules[0];
  return rules;
}

const sp_rule_info *sp_validate_rule(const char *name, int dataset) {
  for (size_t i = 0; name && i < sizeof rules / sizeof rules[0]; i++)
    if ((rules[i].dataset == -1 || rules[i].dataset == dataset) && strcmp(rules[i].name, name) == 0)
      return &rules[i];
  return NULL;
}

/* ---- helpers ---------------------------------------------------------------------- */

static const sp_value *col(const sp_row *row, const char *name) {
  int i = sp_dataset_column_index(row->ds, name);
  return i < 0 ? NULL : &row->values[i];
}

static bool present(const sp_value *v) { return v && !v->is_null; }

static const char *text(const sp_row *row, const char *name) {
  const sp_value *v = col(row, name);
  return present(v) ? v->u.str.ptr : "";
}

static bool is_sha256_hex(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!isdigit((unsigned char)s[n]) && !(s[n] >= 'a' && s[n] <= 'f')) return false;
  return n == 64;
}

static bool one_of(const char *s, const char *const *set) {
  for (int i = 0; set[i]; i++)
    if (strcmp(s, set[i]) == 0) return true;
  return false;
}

static bool url_ok(const char *u) {
  const char *rest;
  if (strncasecmp(u, "http://", 7) == 0) rest = u + 7;
  else if (strncasecmp(u, "https://", 8) == 0) rest = u + 8;
  else return false;
  size_t host = strcspn(rest, "/?#");
  if (host == 0) return false;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) return false;
  return true;
}

static int64_t interval_us(const char *interval) {
  if (strcmp(interval, "1h") == 0) return 3600 * SP_US_PER_SEC;
  if (strcmp(interval, "1d") == 0) return 86400 * SP_US_PER_SEC;
  return 0;
}

static bool bar_in_session(const char *interval, int64_t bar_time) {
  int32_t day = sp_timestamp_to_days(bar_time);
  if (!sp_nyse_is_trading_day(day)) return false;
  if (strcmp(interval, "1d") == 0) return true;
  return bar_time >= sp_nyse_session_open_utc(day) && bar_time < sp_nyse_session_close_utc(day);
}

/* Set detail and return the rule name. */
static const char *broke(const char *rule, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *broke(const char *rule, char *detail, size_t cap, const char *fmt, ...) {
  if (detail && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, cap, fmt, ap);
    va_end(ap);
  }
  return rule;
}

/* ---- reject rules, per dataset ------------------------------------------------------ */

/* A rule the parser marked the row with (SP_RULE_MARKED) in quality_flags. */
static const char *check_marked(const sp_row *row, char *d, size_t cap) {
  int q = sp_dataset_column_index(row->ds, "quality_flags");
  if (q < 0 || row->values[q].is_null) return NULL;
  const char *flags = row->values[q].u.str.ptr;
  while (*flags) {
    size_t n = strcspn(flags, ",");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)n, flags);
    const sp_rule_info *r = sp_validate_rule(name, row->ds->id);
    if (r && r->kind == SP_RULE_REJECT && (r->traits & SP_RULE_MARKED))
      return broke(r->name, d, cap, "%s", r->description);
    flags += n + (flags[n] == ',');
  }
  return NULL;
}

static const char *check_schema(const sp_row *row, char *d, size_t cap) {
  const sp_dataset_def *ds = row->ds;
  for (int i = 0; i < ds->ncolumns; i++) {
    const sp_value *v = &row->values[i];
    if (v->is_null) {
      if (!ds->columns[i].nullable) return broke("missing_required", d, cap, "%s is null", ds->columns[i].name);
    } else if (ds->columns[i].type == SP_DOUBLE && isinf(v->u.f64)) {
      return broke("non_finite_value", d, cap, "%s is %s", ds->columns[i].name, v->u.f64 > 0 ? "inf" : "-inf");
    }
  }
  return NULL;
}

static const char *check_quote(const sp_row *row, const sp_validate_context *ctx, char *d, size_t cap) {
  static const char *const prices[] = {"price", "open", "high", "low", "previous_close", NULL};
  for (int i = 0; prices[i]; i++) {
    const sp_value *v = col(row, prices[i]);
    if (present(v) && !(v->u.f64 > 0)) return broke("price_not_positive", d, cap, "%s %g", prices[i], v->u.f64);
  }
  int64_t qt = col(row, "quote_time")->u.i64;
  if (qt > ctx->now_us + FUTURE_SLACK_US) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(qt, when);
    return broke("quote_in_future", d, cap, "quote_time %s", when);
  }
  return NULL;
}

static const char *check_bar(const sp_row *row, const sp_validate_context *ctx, char *d, size_t cap) {
  const char *interval = text(row, "interval");
  int64_t step = interval_us(interval);
  if (!step) return broke("interval_invalid", d, cap, "interval '%s'", interval);
  double open = col(row, "open")->u.f64, high = col(row, "high")->u.f64, low = col(row, "low")->u.f64,
         close = col(row, "close")->u.f64;
  if (!(open > 0 && high > 0 && low > 0 && close > 0))
    return broke("price_not_positive", d, cap, "open %g high %g low %g close %g", open, high, low, close);
  double lo = open < close ? open : close, hi = open < close ? close : open;
  if (!(low <= lo && hi <= high))
    return broke("ohlc_order", d, cap, "low %g, open %g, close %g, high %g", low, open, close, high);
  if (col(row, "volume")->u.i64 < 0) return broke("volume_negative", d, cap, "volume %lld", (long long)col(row, "volume")->u.i64);
  int64_t start = col(row, "bar_time")->u.i64;
  char when[SP_TIMESTAMP_TEXT_MAX];
  sp_format_timestamp(start, when);
  if (!sp_bar_is_complete(start, step, ctx->now_us)) return broke("bar_incomplete", d, cap, "%s bar at %s", interval, when);
  if (!bar_in_session(interval, start)) return broke("bar_not_in_session", d, cap, "%s bar at %s", interval, when);
  return NULL;
}

static const char *check_news(const sp_row *row, const sp_validate_context *ctx, char *d, size_t cap) {
  static const char *const labels[] = {"positive", "neutral", "negative", NULL};
  if (!is_sha256_hex(text(row, "article_id"))) return broke("article_id_invalid", d, cap, "article_id '%.80s'", text(row, "article_id"));
  if (!url_ok(text(row, "url"))) return broke("url_invalid", d, cap, "url '%.200s'", text(row, "url"));
  const char *h = text(row, "headline");
  while (isspace((unsigned char)*h)) h++;
  if (!*h) return broke("headline_empty", d, cap, "headline is empty");
  int64_t at = col(row, "published_at")->u.i64, earliest = (int64_t)sp_days_from_civil(1995, 1, 1) * SP_US_PER_DAY;
  if (at < earliest || at > ctx->now_us + SP_US_PER_DAY) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(at, when);
    return broke("published_at_implausible", d, cap, "published_at %s", when);
  }
  double s = col(row, "sentiment_score")->u.f64, subj = col(row, "sentiment_subjectivity")->u.f64;
  if (!(s >= -1 && s <= 1) || !(subj >= 0 && subj <= 1) || !one_of(text(row, "sentiment_label"), labels))
    return broke("sentiment_out_of_range", d, cap, "score %g, subjectivity %g, label '%s'", s, subj,
                 text(row, "sentiment_label"));
  return NULL;
}

static const char *check_macro(const sp_row *row, const sp_validate_context *ctx, char *d, size_t cap) {
  static const char *const freqs[] = {"d", "w", "m", "q", "a", NULL};
  static const char *const units[] = {"percent", "index", "usd", NULL};
  const char *f = text(row, "frequency");
  if (!one_of(f, freqs)) return broke("frequency_invalid", d, cap, "frequency '%s'", f);
  if (!one_of(text(row, "unit"), units)) return broke("unit_invalid", d, cap, "unit '%s'", text(row, "unit"));
  int32_t day = col(row, "observation_date")->u.i32;
  char date[SP_DATE_TEXT_MAX];
  sp_format_date(day, date);
  if (day < sp_days_from_civil(1900, 1, 1) || day > sp_timestamp_to_days(ctx->now_us) + 366)
    return broke("observation_date_implausible", d, cap, "observation_date %s", date);
  int y;
  unsigned m, dd;
  sp_civil_from_days(day, &y, &m, &dd);
  bool ok = (f[0] == 'a' && m == 1 && dd == 1) || (f[0] == 'q' && dd == 1 && (m - 1) % 3 == 0) ||
            (f[0] == 'm' && dd == 1) || f[0] == 'w' || f[0] == 'd';
  if (!ok) return broke("date_frequency_mismatch", d, cap, "observation_date %s with frequency %s", date, f);
  return NULL;
}

static const char *check_policy(const sp_row *row, const sp_validate_context *ctx, char *d, size_t cap) {
  static const char *const types[] = {"press_release", "monetary_policy", "fomc_meeting", "rate_decision",
                                      "treasury_debt", "economic_release", NULL};
  if (!is_sha256_hex(text(row, "event_id"))) return broke("event_id_invalid", d, cap, "event_id '%.80s'", text(row, "event_id"));
  if (!one_of(text(row, "event_type"), types)) return broke("event_type_invalid", d, cap, "event_type '%s'", text(row, "event_type"));
  int64_t at = col(row, "event_time")->u.i64;
  if (at < (int64_t)sp_days_from_civil(1913, 1, 1) * SP_US_PER_DAY || at > ctx->now_us + 3 * 366 * SP_US_PER_DAY) {
    char when[SP_TIMESTAMP_TEXT_MAX];
    sp_format_timestamp(at, when);
    return broke("event_time_implausible", d, cap, "event_time %s", when);
  }
  return NULL;
}

const char *sp_validate_reject(const sp_row *row, const sp_validate_context *ctx, char *detail, size_t cap) {
  if (detail && cap) detail[0] = '\0';
  const char *rule = check_marked(row, detail, cap);
  if (rule) return rule;
  rule = check_schema(row, detail, cap);
  if (rule) return rule;
  switch (row->ds->id) {
  case SP_DS_FINANCIAL_DATA: return check_quote(row, ctx, detail, cap);
  case SP_DS_STOCK_MOVEMENTS: return check_bar(row, ctx, detail, cap);
  case SP_DS_NEWS: return check_news(row, ctx, detail, cap);
  case SP_DS_MACROECONOMIC: return check_macro(row, ctx, detail, cap);
  case SP_DS_POLICY: return check_policy(row, ctx, detail, cap);
  case SP_DS_COUNT: break;
  }
  return NULL;
}

/* ---- flag rules -------------------------------------------------------------------- */

static bool near_ratio(double r, double target) { return fabs(r / target - 1.0) <= SPLIT_TOLERANCE; }

static bool split_like(double r) {
  for (int n = 2; n <= 20; n++)
    if (near_ratio(r, n) || near_ratio(r, 1.0 / n)) return true;
  return false;
}

static int add_flag(sp_buf *flags, const char *name) {
  if (flags->len && sp_buf_append_byte(flags, ',')) return SP_ERR_NOMEM;
  return sp_buf_append_str(flags, name);
}

int sp_validate_flag(sp_row *row, const sp_validate_context *ctx) {
  int qcol = sp_dataset_column_index(row->ds, "quality_flags");
  if (qcol < 0) return SP_OK;
  sp_buf flags = SP_BUF_INIT;
  int rc = SP_OK;
  const sp_value *existing = &row->values[qcol];
  if (!existing->is_null && existing->u.str.len) rc = sp_buf_append(&flags, existing->u.str.ptr, existing->u.str.len);
  double price = 0, prev = 0;
  bool have = false;
  if (row->ds->id == SP_DS_STOCK_MOVEMENTS) {
    price = col(row, "close")->u.f64;
    prev = ctx->previous_close;
    have = ctx->has_previous_close && prev > 0;
  } else if (row->ds->id == SP_DS_FINANCIAL_DATA && present(col(row, "previous_close"))) {
    price = col(row, "price")->u.f64;
    prev = col(row, "previous_close")->u.f64;
    have = prev > 0;
  }
  if (have && price > 0) {
    double r = price / prev;
    if (!rc && (r > JUMP_100X || r < 1.0 / JUMP_100X)) rc = add_flag(&flags, "price_jump_100x");
    else if (!rc && row->ds->id == SP_DS_STOCK_MOVEMENTS && split_like(r)) rc = add_flag(&flags, "split_like_jump");
  }
  if (!rc && row->ds->id == SP_DS_STOCK_MOVEMENTS && col(row, "volume")->u.i64 == 0 &&
      bar_in_session(text(row, "interval"), col(row, "bar_time")->u.i64))
    rc = add_flag(&flags, "zero_volume_in_session");
  if (!rc && flags.len) rc = sp_row_set_string(row, qcol, (const char *)flags.data, flags.len);
  sp_buf_free(&flags);
  return rc;
}
