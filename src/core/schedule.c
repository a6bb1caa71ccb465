/*
 * schedule.c — parsing of `schedule` values (intervals and five-field cron) and
 * the next-firing-time computation the scheduler uses (see schedule.h).
 */
#include "core/schedule.h"

#include "core/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cron_field_def {
  const char *name;
  int min, max;
} cron_field_def;

static const cron_field_def cron_fields[5] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}};

/* Read a decimal number at *p; returns -1 when there is none (or it is absurdly long). */
static int read_number(const char **p) {
  if (!isdigit((unsigned char)**p)) return -1;
  int v = 0;
  while (isdigit((unsigned char)**p)) {
    if (v > 1000) return -1;
    v = v * 10 + (**p - '0');
    (*p)++;
  }
  return v;
}

/* Parse one cron field (text of length len) into a bit set. */
static int parse_cron_field(const char *expr, const char *text, size_t len, const cron_field_def *def,
                            uint64_t *bits, bool *restricted, sp_error *err) {
  char field[64];
  if (len >= sizeof field) return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': %s field too long", expr, def->name);
  memcpy(field, text, len);
  field[len] = '\0';
  *bits = 0;
  *restricted = strcmp(field, "*") != 0;
  char *save = NULL;
  for (char *item = strtok_r(field, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    const char *p = item;
    int lo, hi, step = 1;
    if (*p == '*') {
      lo = def->min;
      hi = def->max;
      p++;
    } else {
      lo = read_number(&p);
      if (lo < 0) goto bad;
      hi = lo;
      if (*p == '-') {
        p++;
        hi = read_number(&p);
        if (hi < 0) goto bad;
      }
    }
    if (*p == '/') {
      p++;
      step = read_number(&p);
      if (step <= 0) goto bad;
      if (lo == hi && item[0] != '*') hi = def->max; /* "5/15" = from 5 to the end */
    }
    if (*p != '\0') goto bad;
    if (lo < def->min || lo > def->max)
      return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': %s %d out of range %d-%d", expr, def->name, lo,
                          def->min, def->max == 7 ? 6 : def->max);
    if (hi < def->min || hi > def->max)
      return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': %s %d out of range %d-%d", expr, def->name, hi,
                          def->min, def->max == 7 ? 6 : def->max);
    if (hi < lo)
      return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': %s range %d-%d is backwards", expr, def->name, lo, hi);
    for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << v;
  }
  if (*bits == 0) goto bad;
  return SP_OK;
bad:
  return sp_error_set(err, SP_ERR_INVALID,
                      "schedule '%s': bad %s field '%.*s' (use *, N, A-B, lists A,B and steps /N)", expr, def->name,
                      (int)len, text);
}

static int parse_cron(const char *text, sp_schedule *out, sp_error *err) {
  const char *starts[6];
  size_t lens[6];
  int n = 0;
  for (const char *p = text; *p;) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    const char *s = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (n == 6) break;
    starts[n] = s;
    lens[n] = (size_t)(p - s);
    n++;
  }
  if (n != 5)
    return sp_error_set(err, SP_ERR_INVALID,
                        "schedule '%s': expected 30m, 1h, 1d, 1w (<N>m/h/d/w) or five cron fields "
                        "(minute hour day-of-month month day-of-week), found %d field%s",
                        text, n > 5 ? 6 : n, n == 1 ? "" : "s");
  uint64_t bits[5];
  bool restricted[5];
  for (int i = 0; i < 5; i++) {
    int rc = parse_cron_field(text, starts[i], lens[i], &cron_fields[i], &bits[i], &restricted[i], err);
    if (rc) return rc;
  }
  out->kind = SP_SCHEDULE_CRON;
  out->minutes = bits[0];
  out->hours = (uint32_t)bits[1];
  out->days_of_month = (uint32_t)bits[2];
  out->months = (uint16_t)bits[3];
  uint64_t dow = bits[4];
  if (dow & (UINT64_C(1) << 7)) dow |= 1; /* 7 = Sunday */
  out->days_of_week = (uint8_t)(dow & 0x7f);
  out->dom_restricted = restricted[2];
  out->dow_restricted = restricted[4];
  if (sp_schedule_next(out, 0) < 0)
    return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': never fires (no such day)", text);
  return SP_OK;
}

int sp_schedule_parse(const char *text, sp_schedule *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  if (!text || !*text) return sp_error_set(err, SP_ERR_INVALID, "schedule is empty");
  snprintf(out->text, sizeof out->text, "%s", text);
  const char *p = text;
  if (isdigit((unsigned char)*p)) {
    char *end;
    errno = 0;
    long long n = strtoll(p, &end, 10);
    if (end != p && end[0] && !end[1] && strchr("mhdw", end[0])) {
      static const int64_t unit_seconds[] = {['m' - 'd'] = 60, ['h' - 'd'] = 3600, ['d' - 'd'] = 86400,
                                             ['w' - 'd'] = 7 * 86400};
      if (n <= 0 || errno == ERANGE || n > 1000000)
        return sp_error_set(err, SP_ERR_INVALID, "schedule '%s': interval must be between 1 and 1000000", text);
      out->kind = SP_SCHEDULE_INTERVAL;
      out->interval_seconds = n * unit_seconds[end[0] - 'd'];
      return SP_OK;
    }
  }
  return parse_cron(text, out, err);
}

static bool cron_day_matches(const sp_schedule *s, int32_t days) {
  int year;
  unsigned month, day;
  sp_civil_from_days(days, &year, &month, &day);
  if (!(s->months & (1u << month))) return false;
  bool dom = (s->days_of_month >> day) & 1u;
  bool dow = (s->days_of_week >> sp_weekday_from_days(days)) & 1u;
  if (s->dom_restricted && s->dow_restricted) return dom || dow;
  return dom && dow;
}

int64_t sp_schedule_next(const sp_schedule *s, int64_t after_us) {
  if (s->kind == SP_SCHEDULE_INTERVAL) {
    int64_t step = s->interval_seconds * SP_US_PER_SEC;
    int64_t q = after_us / step;
    if (after_us < 0 && after_us % step) q--; /* floor for times before 1970 */
    return (q + 1) * step;
  }
  const int64_t minute_us = 60 * SP_US_PER_SEC;
  int64_t t = after_us - (((after_us % minute_us) + minute_us) % minute_us) + minute_us;
  int32_t day = sp_timestamp_to_days(t);
  int32_t last_day = day + 8 * 366;
  int minute_of_day = (int)((t - (int64_t)day * SP_US_PER_DAY) / minute_us);
  for (; day <= last_day; day++, minute_of_day = 0) {
    if (!cron_day_matches(s, day)) continue;
    for (int m = minute_of_day; m < 24 * 60; m++) {
      if ((s->hours >> (m / 60)) & 1u && (s->minutes >> (m % 60)) & 1u)
        return (int64_t)day * SP_US_PER_DAY + m * minute_us;
    }
  }
  return -1;
}
