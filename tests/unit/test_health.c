/*
 * test_health.c — the /health checks that depend on time, with a fake clock
 * (missed_schedule: overdue by more than the schedule's interval, not while running,
 * intraday sources only counted on their market slots), the no_pipeline reason and
 * the document's shape (parsed with cJSON: numbers are numbers); and the latency
 * histograms' Prometheus and JSON renderings (cumulative buckets, sum, count).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/health.h"
#include "core/latency.h"
#include "core/timeutil.h"

#include <cJSON.h>
#include <string.h>

#define MINUTE (INT64_C(60) * SP_US_PER_SEC)
#define HOUR (60 * MINUTE)

static int64_t ts(const char *text) {
  int64_t us;
  assert_int_equal(sp_parse_timestamp(text, &us), 0);
  return us;
}

static sp_health_source source(const char *name, const char *schedule, bool intraday, int64_t last_run) {
  sp_health_source s = {.enabled = true};
  sp_error err;
  assert_int_equal(sp_schedule_parse(schedule, &s.entry.schedule, &err), 0);
  s.entry.name = name;
  s.entry.intraday = intraday;
  s.entry.last_run_us = last_run;
  return s;
}

/* Run the checks without a pipeline; return the parsed document (caller deletes). */
static cJSON *check(const sp_health_source *sources, size_t n, int64_t now, bool *healthy) {
  sp_health_settings settings = {.stuck_after_us = 300 * SP_US_PER_SEC, .min_free_disk_mb = 0};
  sp_buf out = SP_BUF_INIT;
  assert_int_equal(sp_health_check(NULL, NULL, sources, n, &settings, now, &out, healthy), 0);
  cJSON *doc = cJSON_ParseWithLength((const char *)out.data, out.len);
  sp_buf_free(&out);
  assert_non_null(doc);
  return doc;
}

/* Whether the document has a reason `reason` for `component`. */
static bool has_reason(const cJSON *doc, const char *reason, const char *component) {
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, "reasons")) {
    if (strcmp(cJSON_GetObjectItem(r, "reason")->valuestring, reason) == 0 &&
        strcmp(cJSON_GetObjectItem(r, "component")->valuestring, component) == 0)
      return true;
  }
  return false;
}

static void test_missed_schedule(void **state) {
  (void)state;
  int64_t now = ts("2026-11-25T12:10:00Z"); /* a Wednesday, before the NYSE opens */
  sp_health_source s[] = {
      source("late", "30m", false, now - 2 * HOUR),           /* due 10:30, next 11:00: missed */
      source("due_now", "30m", false, now - 25 * MINUTE),     /* due 12:00, next 12:30: not yet */
      source("running", "30m", false, now - 2 * HOUR),        /* overdue but running */
      source("never", "1h", false, SP_SCHEDULER_NEVER),       /* due now */
      source("daily", "1d", false, now - 50 * HOUR),          /* due 11-24 00:00, next 11-25 00:00: missed */
      source("quotes", "1h", true, ts("2026-11-24T21:30:00Z")), /* after the catch-up slot: next is 14:30 today */
      source("quotes_late", "1h", true, ts("2026-11-24T18:30:00Z")), /* due 19:00 yesterday, next 20:00: missed */
  };
  s[2].running = true;
  bool healthy;
  cJSON *doc = check(s, sizeof s / sizeof s[0], now, &healthy);
  assert_false(healthy);
  assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "unhealthy");
  assert_true(has_reason(doc, "missed_schedule", "late"));
  assert_true(has_reason(doc, "missed_schedule", "daily"));
  assert_true(has_reason(doc, "missed_schedule", "quotes_late"));
  assert_false(has_reason(doc, "missed_schedule", "due_now"));
  assert_false(has_reason(doc, "missed_schedule", "running"));
  assert_false(has_reason(doc, "missed_schedule", "never"));
  assert_false(has_reason(doc, "missed_schedule", "quotes"));
  assert_true(has_reason(doc, "no_pipeline", "pipeline"));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "reasons")), 4);

  /* The sources list: last_run null for a source that never ran, next_run a time. */
  const cJSON *list = cJSON_GetObjectItem(doc, "sources");
  assert_int_equal(cJSON_GetArraySize(list), 7);
  const cJSON *never = cJSON_GetArrayItem(list, 3);
  assert_string_equal(cJSON_GetObjectItem(never, "name")->valuestring, "never");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(never, "last_run")));
  assert_string_equal(cJSON_GetObjectItem(never, "next_run")->valuestring, "2026-11-25T12:10:00Z");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 2), "running")));
  assert_true(cJSON_IsNumber(cJSON_GetObjectItem(doc, "buffered_events")));
  cJSON_Delete(doc);
}

static void test_disabled_source_is_never_missed(void **state) {
  (void)state;
  int64_t now = ts("2026-11-25T12:10:00Z");
  sp_health_source s = source("off", "30m", false, now - 10 * HOUR);
  s.enabled = false;
  bool healthy;
  cJSON *doc = check(&s, 1, now, &healthy);
  assert_false(has_reason(doc, "missed_schedule", "off"));
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "sources"), 0), "next_run")));
  cJSON_Delete(doc);
}

static void test_latency_histogram(void **state) {
  (void)state;
  sp_latency *l;
  assert_int_equal(sp_latency_new("stockpipe_source_round_seconds", "Round time.", "source", &l), 0);
  assert_int_equal(sp_latency_observe(l, "news_source", 5000), 0);            /* 5 ms -> le 0.01 */
  assert_int_equal(sp_latency_observe(l, "news_source", 3 * SP_US_PER_SEC), 0); /* le 5 */
  assert_int_equal(sp_latency_observe(l, "news_source", 2 * HOUR), 0);        /* +Inf only */
  assert_int_equal(sp_latency_observe(l, "macro_source", -7), 0);             /* counts as 0 */
  sp_buf text = SP_BUF_INIT;
  assert_int_equal(sp_latency_render_prometheus(l, &text), 0);
  assert_int_equal(sp_buf_append_str(&text, ""), 0);
  const char *t = (const char *)text.data;
  assert_non_null(strstr(t, "# TYPE stockpipe_source_round_seconds histogram\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_bucket{source=\"news_source\",le=\"0.01\"} 1\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_bucket{source=\"news_source\",le=\"2.5\"} 1\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_bucket{source=\"news_source\",le=\"5\"} 2\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_bucket{source=\"news_source\",le=\"3600\"} 2\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_bucket{source=\"news_source\",le=\"+Inf\"} 3\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_sum{source=\"news_source\"} 7203.005000\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_count{source=\"news_source\"} 3\n"));
  assert_non_null(strstr(t, "stockpipe_source_round_seconds_count{source=\"macro_source\"} 1\n"));
  sp_buf_free(&text);

  sp_buf json = SP_BUF_INIT;
  assert_int_equal(sp_buf_append_str(&json, "{"), 0);
  assert_int_equal(sp_latency_render_json(l, &json), 0);
  assert_int_equal(sp_buf_append_str(&json, "}"), 0);
  cJSON *doc = cJSON_ParseWithLength((const char *)json.data, json.len);
  assert_non_null(doc);
  const cJSON *news = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "stockpipe_source_round_seconds"), "news_source");
  assert_int_equal(cJSON_GetObjectItem(news, "count")->valueint, 3);
  assert_true(cJSON_IsNumber(cJSON_GetObjectItem(news, "sum_seconds")));
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(news, "buckets"), "5")->valueint, 2);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(news, "buckets"), "+Inf")->valueint, 3);
  cJSON_Delete(doc);
  sp_buf_free(&json);
  sp_latency_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_missed_schedule),
      cmocka_unit_test(test_disabled_source_is_never_missed),
      cmocka_unit_test(test_latency_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
