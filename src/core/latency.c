/*
 * latency.c — fixed-bucket latency histograms (see latency.h).
 */
#include "core/latency.h"

#include "format/value_text.h"
#include "stockpipe/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in microseconds; a last implicit bucket is +Inf. */
static const int64_t bucket_bounds_us[] = {1000,      2500,      5000,       10000,      50000,    100000,
                                           250000,    500000,    1000000,    2500000,    5000000,  10000000,
                                           30000000,  60000000,  120000000,  300000000,  600000000, 1800000000,
                                           3600000000};
#define NBUCKETS (sizeof bucket_bounds_us / sizeof bucket_bounds_us[0])

/* Counts are updated with relaxed atomic additions (__atomic builtins) and read
 * with relaxed atomic loads; the count is the total of the buckets. */
struct sp_latency_series {
  sp_latency_series *next;
  char *label_value;
  uint64_t buckets[NBUCKETS + 1]; /* not cumulative; the last is +Inf */
  uint64_t sum_us;
};

struct sp_latency {
  char *metric, *help, *label;
  pthread_mutex_t mutex; /* guards the list */
  sp_latency_series *first, *last;  /* in order of creation */
};

int sp_latency_new(const char *metric, const char *help, const char *label, sp_latency **out) {
  *out = NULL;
  sp_latency *l = calloc(1, sizeof *l);
  if (!l) return SP_ERR_NOMEM;
  l->metric = strdup(metric);
  l->help = strdup(help);
  l->label = strdup(label);
  pthread_mutex_init(&l->mutex, NULL);
  if (!l->metric || !l->help || !l->label) {
    sp_latency_free(l);
    return SP_ERR_NOMEM;
  }
  *out = l;
  return SP_OK;
}

void sp_latency_free(sp_latency *l) {
  if (!l) return;
  for (sp_latency_series *s = l->first, *next; s; s = next) {
    next = s->next;
    free(s->label_value);
    free(s);
  }
  pthread_mutex_destroy(&l->mutex);
  free(l->metric);
  free(l->help);
  free(l->label);
  free(l);
}

int sp_latency_series_of(sp_latency *l, const char *label_value, sp_latency_series **out) {
  pthread_mutex_lock(&l->mutex);
  sp_latency_series *s = l->first;
  while (s && strcmp(s->label_value, label_value) != 0) s = s->next;
  if (!s) {
    s = calloc(1, sizeof *s);
    if (s) s->label_value = strdup(label_value);
    if (!s || !s->label_value) {
      free(s);
      pthread_mutex_unlock(&l->mutex);
      return SP_ERR_NOMEM;
    }
    if (l->last) l->last->next = s;
    else l->first = s;
    l->last = s;
  }
  pthread_mutex_unlock(&l->mutex);
  *out = s;
  return SP_OK;
}

void sp_latency_series_observe(sp_latency_series *s, int64_t duration_us) {
  if (duration_us < 0) duration_us = 0;
  size_t b = 0;
  while (b < NBUCKETS && duration_us > bucket_bounds_us[b]) b++;
  __atomic_add_fetch(&s->buckets[b], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->sum_us, (uint64_t)duration_us, __ATOMIC_RELAXED);
}

int sp_latency_observe(sp_latency *l, const char *label_value, int64_t duration_us) {
  sp_latency_series *s;
  int rc = sp_latency_series_of(l, label_value, &s);
  if (!rc) sp_latency_series_observe(s, duration_us);
  return rc;
}

/* One consistent-enough reading of a series: cumulative buckets (the last = count)
 * and the sum in seconds. */
typedef struct reading {
  uint64_t cumulative[NBUCKETS + 1];
  double sum_seconds;
} reading;

static void read_series(const sp_latency_series *s, reading *r) {
  uint64_t total = 0;
  for (size_t b = 0; b <= NBUCKETS; b++) {
    total += __atomic_load_n(&s->buckets[b], __ATOMIC_RELAXED);
    r->cumulative[b] = total;
  }
  r->sum_seconds = (double)__atomic_load_n(&s->sum_us, __ATOMIC_RELAXED) / 1e6;
}

/* A bucket bound in seconds as Prometheus and JSON print it ("0.01", "2.5", "60"). */
static void bound_text(size_t b, char *out, size_t cap) {
  if (b == NBUCKETS) snprintf(out, cap, "+Inf");
  else snprintf(out, cap, "%g", (double)bucket_bounds_us[b] / 1e6);
}

int sp_latency_render_prometheus(sp_latency *l, sp_buf *out) {
  pthread_mutex_lock(&l->mutex);
  int rc = sp_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", l->metric, l->help, l->metric);
  for (const sp_latency_series *s = l->first; s && !rc; s = s->next) {
    reading r;
    read_series(s, &r);
    for (size_t b = 0; b <= NBUCKETS && !rc; b++) {
      char le[32];
      bound_text(b, le, sizeof le);
      rc = sp_buf_printf(out, "%s_bucket{%s=\"%s\",le=\"%s\"} %llu\n", l->metric, l->label, s->label_value, le,
                         (unsigned long long)r.cumulative[b]);
    }
    if (!rc)
      rc = sp_buf_printf(out, "%s_sum{%s=\"%s\"} %.6f\n%s_count{%s=\"%s\"} %llu\n", l->metric, l->label,
                         s->label_value, r.sum_seconds, l->metric, l->label, s->label_value,
                         (unsigned long long)r.cumulative[NBUCKETS]);
  }
  pthread_mutex_unlock(&l->mutex);
  return rc ? SP_ERR_NOMEM : SP_OK;
}

int sp_latency_render_json(sp_latency *l, sp_buf *out) {
  pthread_mutex_lock(&l->mutex);
  int rc = sp_json_append_string(out, l->metric, strlen(l->metric));
  if (!rc) rc = sp_buf_append_str(out, ":{");
  for (const sp_latency_series *s = l->first; s && !rc; s = s->next) {
    if (s != l->first) rc = sp_buf_append_str(out, ",");
    reading r;
    read_series(s, &r);
    if (!rc) rc = sp_json_append_string(out, s->label_value, strlen(s->label_value));
    if (!rc)
      rc = sp_buf_printf(out, ":{\"count\":%llu,\"sum_seconds\":%.6f,\"buckets\":{",
                         (unsigned long long)r.cumulative[NBUCKETS], r.sum_seconds);
    for (size_t b = 0; b <= NBUCKETS && !rc; b++) {
      char le[32];
      bound_text(b, le, sizeof le);
      rc = sp_buf_printf(out, "%s\"%s\":%llu", b ? "," : "", le, (unsigned long long)r.cumulative[b]);
    }
    if (!rc) rc = sp_buf_append_str(out, "}}");
  }
  if (!rc) rc = sp_buf_append_str(out, "}");
  pthread_mutex_unlock(&l->mutex);
  return rc ? SP_ERR_NOMEM : SP_OK;
}
