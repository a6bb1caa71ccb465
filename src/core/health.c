/*
 * health.c — the /health checks and their JSON document (see health.h).
 */
#include "core/health.h"

#include "core/timeutil.h"
#include "format/value_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

typedef struct checker {
  sp_buf reasons; /* the "reasons" array's members, comma-separated */
  int count;
  int rc;         /* first allocation failure */
} checker;

static void add_reason(checker *c, const char *reason, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_reason(checker *c, const char *reason, const char *component, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->rc) return;
  int rc = sp_buf_printf(&c->reasons, "%s{\"reason\":\"%s\",\"component\":", c->count ? "," : "", reason);
  if (!rc) rc = sp_json_append_string(&c->reasons, component, strlen(component));
  if (!rc) rc = sp_buf_append_str(&c->reasons, ",\"message\":");
  if (!rc) rc = sp_json_append_string(&c->reasons, msg, strlen(msg));
  if (!rc) rc = sp_buf_append_str(&c->reasons, "}");
  c->rc = rc;
  c->count++;
}

/* A JSON timestamp string, or null for 0 / negative / "never". */
static int append_time(sp_buf *out, int64_t us) {
  if (us <= 0) return sp_buf_append_str(out, "null");
  char text[64];
  sp_format_timestamp(us, text);
  return sp_buf_printf(out, "\"%s\"", text);
}

/* Free MiB of the file system holding `path` (-1 when it cannot be read). */
static int64_t free_mb(const char *path) {
  struct statvfs st;
  if (statvfs(path, &st) != 0) return -1;
  return (int64_t)((uint64_t)st.f_bavail * st.f_frsize >> 20);
}

static void check_disk(checker *c, const char *component, const char *path, int64_t min_mb) {
  if (min_mb <= 0) return;
  int64_t avail = free_mb(path);
  if (avail >= 0 && avail < min_mb)
    add_reason(c, "low_disk", component, "%s has %lld MiB free, below the minimum of %lld MiB", path,
               (long long)avail, (long long)min_mb);
}

static void check_sink(checker *c, const sp_pipeline_sink_health *h, const sp_health_settings *s, int64_t now) {
  const char *sink = h->sink->name;
  const char *channel = h->channel ? h->channel->name : "";
  if (h->started && !h->runner.running)
    add_reason(c, "dead_runner", sink, "the runner thread of sink %s has ended%s%s", sink,
               h->runner.last_error[0] ? "; last error: " : "", h->runner.last_error);
  if (!h->channel) return;
  const sp_channel_counters *k = &h->counters;
  if (k->ChannelSize > 0 && h->oldest_event_us > 0) {
    int64_t since = h->oldest_event_us > h->runner.last_success_us ? h->oldest_event_us : h->runner.last_success_us;
    int64_t waited = now - since;
    if (waited > s->stuck_after_us + h->batch_timeout_us)
      add_reason(c, "stuck_sink", sink,
                 "sink %s has not committed for %.0f s while channel %s holds %llu event(s)%s%s", sink,
                 (double)waited / 1e6, channel, (unsigned long long)k->ChannelSize,
                 h->runner.last_error[0] ? "; last error: " : "", h->runner.last_error);
  }
  double fill = sp_metrics_fill_percentage(k);
  if (fill >= SP_HEALTH_FULL_PERCENT)
    add_reason(c, "channel_full", channel, "channel %s is %.1f %% full (%llu of %llu events)", channel, fill,
               (unsigned long long)k->ChannelSize, (unsigned long long)k->ChannelCapacity);
  if (k->ChannelQuarantinedCount > 0)
    add_reason(c, "corruption", channel, "channel %s set %llu corrupt record(s) aside (see its quarantine)", channel,
               (unsigned long long)k->ChannelQuarantinedCount);
  if (h->channel->type == SP_CHANNEL_FILE)
    check_disk(c, channel, h->channel->data_path, h->channel->min_free_disk_mb);
}

/* The time the source's due run would be followed by the next one. */
static int64_t next_after(const sp_schedule_entry *e, int64_t due) {
  sp_schedule_entry after = *e;
  after.last_run_us = due;
  return sp_scheduler_due_us(&after, due);
}

static void check_source(checker *c, const sp_health_source *src, int64_t now, int64_t *due_out) {
  *due_out = -1;
  if (!src->enabled) return;
  int64_t due = sp_scheduler_due_us(&src->entry, now);
  *due_out = due;
  if (due < 0 || src->running || due > now) return;
  int64_t next = next_after(&src->entry, due);
  if (next >= 0 && next < now) {
    char due_text[64];
    sp_format_timestamp(due, due_text);
    add_reason(c, "missed_schedule", src->entry.name,
               "source %s was due at %s and has not run for %.0f s, longer than its schedule %s",
               src->entry.name, due_text, (double)(now - due) / 1e6, src->entry.schedule.text);
  }
}

int sp_health_check(sp_pipeline *p, const sp_config *cfg, const sp_health_source *sources, size_t nsources,
                    const sp_health_settings *settings, int64_t now_us, sp_buf *out, bool *healthy) {
  checker c = {.reasons = SP_BUF_INIT};
  sp_buf detail = SP_BUF_INIT; /* "sources" and "sinks" */
  int rc = sp_buf_append_str(&detail, ",\"sources\":[");
  for (size_t i = 0; i < nsources && !rc; i++) {
    int64_t due;
    check_source(&c, &sources[i], now_us, &due);
    rc = sp_buf_append_str(&detail, i ? ",{\"name\":" : "{\"name\":");
    if (!rc) rc = sp_json_append_string(&detail, sources[i].entry.name, strlen(sources[i].entry.name));
    if (!rc)
      rc = sp_buf_printf(&detail, ",\"enabled\":%s,\"running\":%s,\"last_run\":", sources[i].enabled ? "true" : "false",
                         sources[i].running ? "true" : "false");
    if (!rc)
      rc = append_time(&detail, sources[i].entry.last_run_us == SP_SCHEDULER_NEVER ? 0 : sources[i].entry.last_run_us);
    if (!rc) rc = sp_buf_append_str(&detail, ",\"next_run\":");
    if (!rc) rc = append_time(&detail, due);
    if (!rc) rc = sp_buf_append_str(&detail, "}");
  }
  if (!rc) rc = sp_buf_append_str(&detail, "],\"sinks\":[");
  uint64_t buffered = 0;
  if (!p) {
    add_reason(&c, "no_pipeline", "pipeline", "the pipeline is not running (being reloaded, or it failed to open)");
  } else {
    check_disk(&c, "data_dir", cfg->pipeline.data_dir, settings->min_free_disk_mb);
    size_t n = sp_pipeline_sink_count(p);
    for (size_t i = 0; i < n && !rc; i++) {
      sp_pipeline_sink_health h;
      sp_pipeline_sink_health_get(p, i, &h);
      check_sink(&c, &h, settings, now_us);
      buffered += h.counters.ChannelSize;
      rc = sp_buf_append_str(&detail, i ? ",{\"name\":" : "{\"name\":");
      if (!rc) rc = sp_json_append_string(&detail, h.sink->name, strlen(h.sink->name));
      if (!rc) rc = sp_buf_append_str(&detail, ",\"channel\":");
      if (!rc) rc = sp_json_append_string(&detail, h.channel ? h.channel->name : "", h.channel ? strlen(h.channel->name) : 0);
      if (!rc)
        rc = sp_buf_printf(&detail, ",\"running\":%s,\"buffered\":%llu,\"fill_percentage\":%.2f,\"last_commit\":",
                           h.runner.running ? "true" : "false", (unsigned long long)h.counters.ChannelSize,
                           sp_metrics_fill_percentage(&h.counters));
      if (!rc) rc = append_time(&detail, h.runner.last_success_us);
      if (!rc) rc = sp_buf_printf(&detail, ",\"consecutive_failures\":%u}", h.runner.consecutive_failures);
    }
  }
  if (!rc) rc = sp_buf_append_str(&detail, "]}");
  if (!rc) rc = c.rc;
  *healthy = c.count == 0;
  char now_text[64];
  sp_format_timestamp(now_us, now_text);
  if (!rc)
    rc = sp_buf_printf(out, "{\"status\":\"%s\",\"time\":\"%s\",\"buffered_events\":%llu,\"reasons\":[",
                       *healthy ? "ok" : "unhealthy", now_text, (unsigned long long)buffered);
  if (!rc && c.reasons.len) rc = sp_buf_append(out, c.reasons.data, c.reasons.len);
  if (!rc) rc = sp_buf_append_str(out, "]");
  if (!rc) rc = sp_buf_append(out, detail.data, detail.len);
  sp_buf_free(&c.reasons);
  sp_buf_free(&detail);
  return rc ? SP_ERR_NOMEM : SP_OK;
}
