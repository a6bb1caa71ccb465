/*
 * timeutil.c — UTC calendar arithmetic and ISO 8601 text (see timeutil.h).
 */
#include "core/timeutil.h"

#include "stockpipe/error.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int32_t sp_days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int32_t)(era * 146097 + (int)doe - 719468);
}

void sp_civil_from_days(int32_t z0, int *year, unsigned *month, unsigned *day) {
  int64_t z = (int64_t)z0 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = (int64_t)yoe + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *year = (int)(y + (m <= 2));
  *month = m;
  *day = d;
}

int sp_weekday_from_days(int32_t z) { return (int)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6); }

bool sp_is_valid_date(int y, unsigned m, unsigned d) {
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  unsigned lim = mdays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) lim = 29;
  return d <= lim;
}

int32_t sp_timestamp_to_days(int64_t us) {
  int64_t d = us / SP_US_PER_DAY;
  if (us % SP_US_PER_DAY < 0) d--;
  return (int32_t)d;
}

int64_t sp_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * SP_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t sp_monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * SP_US_PER_SEC + ts.tv_nsec / 1000;
}

static pthread_once_t round_clock_once = PTHREAD_ONCE_INIT;
static int64_t round_clock_offset_us; /* STOCKPIPE_NOW - the real time at the first call */

static void round_clock_init(void) {
  const char *text = getenv("STOCKPIPE_NOW");
  int64_t when;
  if (text && *text && sp_parse_timestamp(text, &when) == 0) round_clock_offset_us = when - sp_now_us();
}

int64_t sp_round_now_us(void) {
  pthread_once(&round_clock_once, round_clock_init);
  return sp_now_us() + round_clock_offset_us;
}

size_t sp_format_date(int32_t days, char *buf) {
  int y;
  unsigned m, d;
  sp_civil_from_days(days, &y, &m, &d);
  return (size_t)snprintf(buf, SP_DATE_TEXT_MAX, "%04d-%02u-%02u", y, m, d);
}

size_t sp_format_timestamp(int64_t us, char *buf) {
  int32_t days = sp_timestamp_to_days(us);
  int64_t rem = us - (int64_t)days * SP_US_PER_DAY; /* 0 .. day-1 */
  int64_t secs = rem / SP_US_PER_SEC;
  int64_t frac = rem % SP_US_PER_SEC;
  size_t n = sp_format_date(days, buf);
  n += (size_t)snprintf(buf + n, SP_TIMESTAMP_TEXT_MAX - n, "T%02d:%02d:%02d", (int)(secs / 3600),
                        (int)(secs / 60 % 60), (int)(secs % 60));
  if (frac) {
    char f[8];
    snprintf(f, sizeof f, "%06d", (int)frac);
    int len = 6;
    while (len > 1 && f[len - 1] == '0') len--;
    n += (size_t)snprintf(buf + n, SP_TIMESTAMP_TEXT_MAX - n, ".%.*s", len, f);
  }
  buf[n++] = 'Z';
  buf[n] = '\0';
  return n;
}

/* Read exactly `n` digits. */
static bool read_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return false;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return true;
}

static bool parse_date_prefix(const char **p, int32_t *days) {
  int y, m, d;
  if (!read_digits(p, 4, &y) || **p != '-') return false;
  (*p)++;
  if (!read_digits(p, 2, &m) || **p != '-') return false;
  (*p)++;
  if (!read_digits(p, 2, &d)) return false;
  if (!sp_is_valid_date(y, (unsigned)m, (unsigned)d)) return false;
  *days = sp_days_from_civil(y, (unsigned)m, (unsigned)d);
  return true;
}

int sp_parse_date(const char *s, int32_t *days) {
  if (!s) return SP_ERR_INVALID;
  const char *p = s;
  if (!parse_date_prefix(&p, days) || *p) return SP_ERR_INVALID;
  return SP_OK;
}

int sp_parse_timestamp(const char *s, int64_t *us) {
  if (!s) return SP_ERR_INVALID;
  const char *p = s;
  int32_t days;
  if (!parse_date_prefix(&p, &days)) return SP_ERR_INVALID;
  int64_t t = (int64_t)days * SP_US_PER_DAY;
  if (*p == '\0') {
    *us = t;
    return SP_OK;
  }
  if (*p != 'T' && *p != 't' && *p != ' ') return SP_ERR_INVALID;
  p++;
  int hh, mm, ss = 0;
  if (!read_digits(&p, 2, &hh) || *p != ':') return SP_ERR_INVALID;
  p++;
  if (!read_digits(&p, 2, &mm)) return SP_ERR_INVALID;
  int64_t frac = 0;
  if (*p == ':') {
    p++;
    if (!read_digits(&p, 2, &ss)) return SP_ERR_INVALID;
    if (*p == '.' || *p == ',') {
      p++;
      int digits = 0;
      int64_t scale = 100000;
      if (!isdigit((unsigned char)*p)) return SP_ERR_INVALID;
      while (isdigit((unsigned char)*p)) {
        if (digits < 6) frac += (*p - '0') * scale;
        scale /= 10;
        digits++;
        p++;
      }
    }
  }
  if (hh > 23 || mm > 59 || ss > 60) return SP_ERR_INVALID;
  t += ((int64_t)hh * 3600 + mm * 60 + ss) * SP_US_PER_SEC + frac;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om = 0;
    p++;
    if (!read_digits(&p, 2, &oh)) return SP_ERR_INVALID;
    if (*p == ':') p++;
    if (isdigit((unsigned char)*p) && !read_digits(&p, 2, &om)) return SP_ERR_INVALID;
    if (oh > 23 || om > 59) return SP_ERR_INVALID;
    t -= sign * ((int64_t)oh * 3600 + om * 60) * SP_US_PER_SEC;
  }
  if (*p) return SP_ERR_INVALID;
  *us = t;
  return SP_OK;
}
