/*
 * metrics.c — the counters registry and the state-move updates (see metrics.h).
 * One mutex guards every counter and the registry: updates are a handful of
 * additions, so contention stays negligible next to the I/O around them.
 */
#include "core/metrics.h"

#include "stockpipe/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct registered {
  struct registered *next;
  sp_metrics_kind kind;
  char *name;
  void *counters;
} registered;

static pthread_mutex_t metrics_mutex = PTHREAD_MUTEX_INITIALIZER;
static registered *registry;

/* Process-wide counters labelled by provider and one more label, one per pair, in
 * first-seen order: the shape changes (label endpoint) and the skipped items (label
 * reason). */
typedef struct labelled_counter {
  struct labelled_counter *next;
  char *provider, *label;
  uint64_t count;
} labelled_counter;
typedef struct counter_list {
  labelled_counter *head, **tail;
  const char *family;     /* Prometheus name */
  const char *label_name; /* Prometheus name of the second label */
  const char *json_name;  /* member of /metrics.json */
} counter_list;
static counter_list shape_changes = {NULL, &shape_changes.head, "stockpipe_source_shape_changes_total", "endpoint",
                                     "source_shape_changes"};
static counter_list items_skipped = {NULL, &items_skipped.head, "stockpipe_source_items_skipped_total", "reason",
                                     "source_items_skipped"};

/* Daily-quota metrics per provider (sp_metrics_record_quota), in first-recorded order. */
#define QUOTA_PROVIDERS_MAX 16
typedef struct quota_metric {
  char provider[32];
  uint64_t deferred;
  int64_t remaining;
} quota_metric;
static quota_metric quota_metrics[QUOTA_PROVIDERS_MAX];
static size_t nquota_metrics;

typedef struct field {
  const char *name;
  size_t offset;
} field;

#define F(type, member) {#member, offsetof(type, member)}
static const field source_fields[] = {F(sp_source_counters, EventReceivedCount),
                                      F(sp_source_counters, EventAcceptedCount),
                                      F(sp_source_counters, EventRejectedCount), {NULL, 0}};
static const field channel_fields[] = {
    F(sp_channel_counters, EventPutAttemptCount),  F(sp_channel_counters, EventPutSuccessCount),
    F(sp_channel_counters, EventTakeAttemptCount), F(sp_channel_counters, EventTakeSuccessCount),
    F(sp_channel_counters, ChannelSize),           F(sp_channel_counters, ChannelCapacity),
    F(sp_channel_counters, ChannelQuarantinedCount), {NULL, 0}};
static const field sink_fields[] = {
    F(sp_sink_counters, EventDrainAttemptCount), F(sp_sink_counters, EventDrainSuccessCount),
    F(sp_sink_counters, EventQuarantinedCount),  F(sp_sink_counters, BatchCompleteCount),
    F(sp_sink_counters, BatchUnderflowCount),    F(sp_sink_counters, BatchEmptyCount),
    F(sp_sink_counters, WriteRetryCount),        {NULL, 0}};
#undef F

static const char *const kind_names[] = {"source", "channel", "sink"};
static const field *const kind_fields[] = {source_fields, channel_fields, sink_fields};

int sp_metrics_register(sp_metrics_kind kind, const char *name, void *counters) {
  registered *r = calloc(1, sizeof *r);
  if (!r) return SP_ERR_NOMEM;
  r->name = strdup(name);
  if (!r->name) {
    free(r);
    return SP_ERR_NOMEM;
  }
  r->kind = kind;
  r->counters = counters;
  pthread_mutex_lock(&metrics_mutex);
  r->next = registry;
  registry = r;
  pthread_mutex_unlock(&metrics_mutex);
  return SP_OK;
}

void sp_metrics_unregister(void *counters) {
  pthread_mutex_lock(&metrics_mutex);
  for (registered **p = &registry; *p; p = &(*p)->next) {
    if ((*p)->counters == counters) {
      registered *r = *p;
      *p = r->next;
      free(r->name);
      free(r);
      break;
    }
  }
  pthread_mutex_unlock(&metrics_mutex);
}

#define LOCKED(body)                    \
  do {                                  \
    pthread_mutex_lock(&metrics_mutex); \
    body;                               \
    pthread_mutex_unlock(&metrics_mutex); \
  } while (0)

void sp_metrics_record_received(sp_source_counters *src, uint64_t n) {
  LOCKED(src->EventReceivedCount += n);
}

void sp_metrics_record_source_outcome(sp_source_counters *src, uint64_t accepted, uint64_t rejected) {
  LOCKED(src->EventAcceptedCount += accepted; src->EventRejectedCount += rejected);
}

void sp_metrics_record_put_attempt(sp_channel_counters *ch, uint64_t n) {
  LOCKED(ch->EventPutAttemptCount += n);
}

void sp_metrics_record_put_commit(sp_channel_counters *ch, uint64_t n) {
  LOCKED(ch->EventPutSuccessCount += n; ch->ChannelSize += n);
}

void sp_metrics_record_take_attempt(sp_channel_counters *ch, uint64_t n) {
  LOCKED(ch->EventTakeAttemptCount += n);
}

void sp_metrics_record_take_commit(sp_channel_counters *ch, sp_sink_counters *sink, uint64_t delivered,
                                   uint64_t quarantined) {
  LOCKED(ch->EventTakeSuccessCount += delivered + quarantined; ch->ChannelSize -= delivered + quarantined;
         if (sink) {
           sink->EventDrainSuccessCount += delivered;
           sink->EventQuarantinedCount += quarantined;
         });
}

void sp_metrics_record_channel_quarantine(sp_channel_counters *ch, uint64_t n) {
  LOCKED(ch->ChannelQuarantinedCount += n; ch->ChannelSize -= n);
}

void sp_metrics_record_put_forwarded(sp_channel_counters *ch, uint64_t n) { LOCKED(ch->EventPutSuccessCount += n); }

void sp_metrics_record_replayed(sp_channel_counters *ch, uint64_t n) {
  LOCKED(ch->EventPutSuccessCount += n; ch->ChannelSize += n);
}

void sp_metrics_set_capacity(sp_channel_counters *ch, uint64_t capacity) {
  LOCKED(ch->ChannelCapacity = capacity);
}

void sp_metrics_record_drain_attempt(sp_sink_counters *sink, uint64_t n, uint64_t batch_size) {
  LOCKED(sink->EventDrainAttemptCount += n; if (n == 0) sink->BatchEmptyCount++;
         else if (n >= batch_size) sink->BatchCompleteCount++; else sink->BatchUnderflowCount++);
}

void sp_metrics_record_retry(sp_sink_counters *sink) { LOCKED(sink->WriteRetryCount++); }

static labelled_counter *counter_find(const counter_list *list, const char *provider, const char *label) {
  for (labelled_counter *c = list->head; c; c = c->next)
    if (strcmp(c->provider, provider) == 0 && strcmp(c->label, label) == 0) return c;
  return NULL;
}

static int counter_add(counter_list *list, const char *provider, const char *label) {
  int rc = SP_OK;
  pthread_mutex_lock(&metrics_mutex);
  labelled_counter *c = counter_find(list, provider, label);
  if (!c) {
    c = calloc(1, sizeof *c);
    if (c && (c->provider = strdup(provider)) && (c->label = strdup(label))) {
      *list->tail = c;
      list->tail = &c->next;
    } else {
      if (c) free(c->provider);
      free(c);
      c = NULL;
      rc = SP_ERR_NOMEM;
    }
  }
  if (c) c->count++;
  pthread_mutex_unlock(&metrics_mutex);
  return rc;
}

static uint64_t counter_value(const counter_list *list, const char *provider, const char *label) {
  uint64_t n = 0;
  LOCKED(const labelled_counter *c = counter_find(list, provider, label); n = c ? c->count : 0);
  return n;
}

int sp_metrics_record_shape_change(const char *provider, const char *endpoint) {
  return counter_add(&shape_changes, provider, endpoint);
}

int sp_metrics_record_item_skipped(const char *provider, const char *reason) {
  return counter_add(&items_skipped, provider, reason);
}

int sp_metrics_record_quota(const char *provider, uint64_t deferred, int64_t remaining) {
  int rc = SP_ERR_NOMEM;
  pthread_mutex_lock(&metrics_mutex);
  size_t i = 0;
  while (i < nquota_metrics && strcmp(quota_metrics[i].provider, provider) != 0) i++;
  if (i == nquota_metrics && i < QUOTA_PROVIDERS_MAX && strlen(provider) < sizeof quota_metrics[i].provider) {
    snprintf(quota_metrics[i].provider, sizeof quota_metrics[i].provider, "%s", provider);
    nquota_metrics++;
  }
  if (i < nquota_metrics) {
    quota_metrics[i].deferred += deferred;
    quota_metrics[i].remaining = remaining;
    rc = SP_OK;
  }
  pthread_mutex_unlock(&metrics_mutex);
  return rc;
}

uint64_t sp_metrics_shape_changes(const char *provider, const char *endpoint) {
  return counter_value(&shape_changes, provider, endpoint);
}

uint64_t sp_metrics_items_skipped(const char *provider, const char *reason) {
  return counter_value(&items_skipped, provider, reason);
}

void sp_metrics_snapshot_source(const sp_source_counters *src, sp_source_counters *out) {
  LOCKED(*out = *src);
}

void sp_metrics_snapshot_channel(const sp_channel_counters *ch, sp_channel_counters *out) {
  LOCKED(*out = *ch);
}

void sp_metrics_snapshot_sink(const sp_sink_counters *sink, sp_sink_counters *out) {
  LOCKED(*out = *sink);
}

double sp_metrics_fill_percentage(const sp_channel_counters *snapshot) {
  if (snapshot->ChannelCapacity == 0) return 0.0;
  return 100.0 * (double)snapshot->ChannelSize / (double)snapshot->ChannelCapacity;
}

static uint64_t field_value(const void *counters, const field *f) {
  uint64_t v;
  memcpy(&v, (const char *)counters + f->offset, sizeof v);
  return v;
}

static bool is_gauge(const char *name) { return strncmp(name, "Channel", 7) == 0 && strcmp(name, "ChannelQuarantinedCount") != 0; }

/* One metric family: its TYPE line, then one sample per component of `kind`. */
static int render_family(sp_buf *out, sp_metrics_kind kind, const field *f, bool fill_percentage) {
  const char *name = fill_percentage ? "ChannelFillPercentage" : f->name;
  int rc = sp_buf_printf(out, "# TYPE %s %s\n", name, fill_percentage || is_gauge(name) ? "gauge" : "counter");
  for (const registered *r = registry; r && !rc; r = r->next) {
    if (r->kind != kind) continue;
    if (fill_percentage)
      rc = sp_buf_printf(out, "%s{type=\"%s\",name=\"%s\"} %.2f\n", name, kind_names[kind], r->name,
                         sp_metrics_fill_percentage(r->counters));
    else
      rc = sp_buf_printf(out, "%s{type=\"%s\",name=\"%s\"} %llu\n", name, kind_names[kind], r->name,
                         (unsigned long long)field_value(r->counters, f));
  }
  return rc;
}

/* # TYPE line, then family{provider="p",label="l"} n per counter of `list`. */
static int render_counters_prometheus(sp_buf *out, const counter_list *list) {
  int rc = sp_buf_printf(out, "# TYPE %s counter\n", list->family);
  for (const labelled_counter *c = list->head; c && !rc; c = c->next)
    rc = sp_buf_printf(out, "%s{provider=\"%s\",%s=\"%s\"} %llu\n", list->family, c->provider, list->label_name,
                       c->label, (unsigned long long)c->count);
  return rc;
}

int sp_metrics_render_prometheus(sp_buf *out) {
  int rc = SP_OK;
  pthread_mutex_lock(&metrics_mutex);
  for (int kind = 0; kind < 3 && !rc; kind++) {
    for (const field *f = kind_fields[kind]; f->name && !rc; f++) rc = render_family(out, kind, f, false);
    if (!rc && kind == SP_METRICS_CHANNEL) rc = render_family(out, kind, NULL, true);
  }
  if (!rc) rc = render_counters_prometheus(out, &shape_changes);
  if (!rc) rc = render_counters_prometheus(out, &items_skipped);
  if (!rc) rc = sp_buf_append_str(out, "# TYPE stockpipe_provider_requests_deferred_total counter\n");
  for (size_t i = 0; i < nquota_metrics && !rc; i++)
    rc = sp_buf_printf(out, "stockpipe_provider_requests_deferred_total{provider=\"%s\"} %llu\n",
                       quota_metrics[i].provider, (unsigned long long)quota_metrics[i].deferred);
  if (!rc) rc = sp_buf_append_str(out, "# TYPE stockpipe_provider_quota_remaining gauge\n");
  for (size_t i = 0; i < nquota_metrics && !rc; i++)
    rc = sp_buf_printf(out, "stockpipe_provider_quota_remaining{provider=\"%s\"} %lld\n", quota_metrics[i].provider,
                       (long long)quota_metrics[i].remaining);
  pthread_mutex_unlock(&metrics_mutex);
  return rc ? SP_ERR_NOMEM : SP_OK;
}

/* ,"source_shape_changes":{"yahoo":{"chart":1,...},...}: providers grouped (a
 * provider's labels need not be adjacent in the list, so each is looked up). */
static int render_counters_json(sp_buf *out, const counter_list *list) {
  int rc = sp_buf_printf(out, ",\"%s\":{", list->json_name);
  bool first_provider = true;
  for (const labelled_counter *c = list->head; c && !rc; c = c->next) {
    const labelled_counter *earlier = list->head;
    while (earlier != c && strcmp(earlier->provider, c->provider) != 0) earlier = earlier->next;
    if (earlier != c) continue; /* provider already written */
    rc = sp_buf_printf(out, "%s\"%s\":{", first_provider ? "" : ",", c->provider);
    first_provider = false;
    bool first = true;
    for (const labelled_counter *e = c; e && !rc; e = e->next) {
      if (strcmp(e->provider, c->provider) != 0) continue;
      rc = sp_buf_printf(out, "%s\"%s\":%llu", first ? "" : ",", e->label, (unsigned long long)e->count);
      first = false;
    }
    if (!rc) rc = sp_buf_append_str(out, "}");
  }
  return rc ? rc : sp_buf_append_str(out, "}");
}

int sp_metrics_render_json(sp_buf *out) {
  int rc = sp_buf_append_str(out, "{");
  pthread_mutex_lock(&metrics_mutex);
  for (int kind = 0; kind < 3 && !rc; kind++) {
    rc = sp_buf_printf(out, "%s\"%s\":{", kind ? "," : "", kind_names[kind]);
    bool first = true;
    for (const registered *r = registry; r && !rc; r = r->next) {
      if ((int)r->kind != kind) continue;
      rc = sp_buf_printf(out, "%s\"%s\":{", first ? "" : ",", r->name);
      first = false;
      for (const field *f = kind_fields[kind]; f->name && !rc; f++)
        rc = sp_buf_printf(out, "%s\"%s\":%llu", f == kind_fields[kind] ? "" : ",", f->name,
                           (unsigned long long)field_value(r->counters, f));
      if (!rc && kind == SP_METRICS_CHANNEL)
        rc = sp_buf_printf(out, ",\"ChannelFillPercentage\":%.2f", sp_metrics_fill_percentage(r->counters));
      if (!rc) rc = sp_buf_append_str(out, "}");
    }
    if (!rc) rc = sp_buf_append_str(out, "}");
  }
  if (!rc) rc = render_counters_json(out, &shape_changes);
  if (!rc) rc = render_counters_json(out, &items_skipped);
  if (!rc) rc = sp_buf_append_str(out, ",\"provider_quota\":{");
  for (size_t i = 0; i < nquota_metrics && !rc; i++)
    rc = sp_buf_printf(out, "%s\"%s\":{\"requests_deferred_total\":%llu,\"quota_remaining\":%lld}", i ? "," : "",
                       quota_metrics[i].provider, (unsigned long long)quota_metrics[i].deferred,
                       (long long)quota_metrics[i].remaining);
  if (!rc) rc = sp_buf_append_str(out, "}");
  pthread_mutex_unlock(&metrics_mutex);
  if (!rc) rc = sp_buf_append_str(out, "}");
  return rc ? SP_ERR_NOMEM : SP_OK;
}
