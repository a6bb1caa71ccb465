/*
 * test_health.c — the /health checks that depend on time, with a fake clock
 * (missed_schedule: overdue by more than the schedule's interval, not while running,
 * intraday sources only counted on their market slots), the no_pipeline reason and
 * the document's shape (parsed with cJSON: numbers are numbers); the latency
 * histograms' Prometheus and JSON renderings (cumulative buckets, sum, count), also
 * while threads observe through a series handle without a lock; and
 * through the real endpoint (GET /health over HTTP on 127.0.0.1) a real pipeline
 * whose sink-runner thread ends: 503 dead_runner, then 503 no_pipeline while it is
 * replaced, then 200 with the new one running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/health.h"
#include "core/health_server.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core_test_util.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#define MINUTE (INT64_C(60) * SP_US_PER_SEC)
#define HOUR (60 * MINUTE)

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
  int64_t now = ts_of("2026-11-25T12:10:00Z"); /* a Wednesday, before the NYSE opens */
  sp_health_source s[] = {
      source("late", "30m", false, now - 2 * HOUR),           /* due 10:30, next 11:00: missed */
      source("due_now", "30m", false, now - 25 * MINUTE),     /* due 12:00, next 12:30: not yet */
      source("running", "30m", false, now - 2 * HOUR),        /* overdue but running */
      source("never", "1h", false, SP_SCHEDULER_NEVER),       /* due now */
      source("daily", "1d", false, now - 50 * HOUR),          /* due 11-24 00:00, next 11-25 00:00: missed */
      source("quotes", "1h", true, ts_of("2026-11-24T21:30:00Z")), /* after the catch-up slot: next is 14:30 today */
      source("quotes_late", "1h", true, ts_of("2026-11-24T18:30:00Z")), /* due 19:00 yesterday, next 20:00: missed */
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
  int64_t now = ts_of("2026-11-25T12:10:00Z");
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

/* Threads observing through one series handle (no lock) while the family is
 * rendered: every rendering has _count equal to the +Inf bucket, and none is lost. */
#define OBSERVERS 4
#define OBSERVATIONS 20000

static void *observe_many(void *arg) {
  for (int i = 0; i < OBSERVATIONS; i++) sp_latency_series_observe(arg, (i % 7) * 1000);
  return NULL;
}

static uint64_t count_of(const char *text, const char *what) {
  const char *at = strstr(text, what);
  assert_non_null(at);
  return strtoull(at + strlen(what), NULL, 10);
}

static void test_latency_concurrent_observers(void **state) {
  (void)state;
  sp_latency *l;
  sp_latency_series *s;
  assert_int_equal(sp_latency_new("stockpipe_sink_batch_duration_seconds", "Batch time.", "sink", &l), 0);
  assert_int_equal(sp_latency_series_of(l, "busy_sink", &s), 0);
  pthread_t threads[OBSERVERS];
  for (int i = 0; i < OBSERVERS; i++) assert_int_equal(pthread_create(&threads[i], NULL, observe_many, s), 0);
  for (int round = 0; round < 50; round++) {
    sp_buf text = SP_BUF_INIT;
    assert_int_equal(sp_latency_render_prometheus(l, &text), 0);
    assert_int_equal(sp_buf_append_str(&text, ""), 0);
    const char *t = (const char *)text.data;
    assert_int_equal(count_of(t, "_bucket{sink=\"busy_sink\",le=\"+Inf\"} "),
                     count_of(t, "_count{sink=\"busy_sink\"} "));
    assert_true(count_of(t, "le=\"0.001\"} ") <= count_of(t, "le=\"0.005\"} "));
    sp_buf_free(&text);
  }
  for (int i = 0; i < OBSERVERS; i++) pthread_join(threads[i], NULL);
  sp_buf text = SP_BUF_INIT;
  assert_int_equal(sp_latency_render_prometheus(l, &text), 0);
  assert_int_equal(sp_buf_append_str(&text, ""), 0);
  const char *t = (const char *)text.data;
  assert_int_equal(count_of(t, "_count{sink=\"busy_sink\"} "), OBSERVERS * OBSERVATIONS);
  /* 0..6 ms in turn: 0 and 1 ms fall in le 0.001 */
  uint64_t within_1ms = 0;
  for (int i = 0; i < OBSERVATIONS; i++) within_1ms += i % 7 <= 1;
  assert_int_equal(count_of(t, "le=\"0.001\"} "), OBSERVERS * within_1ms);
  sp_buf_free(&text);
  sp_latency_free(l);
}

/* ---- the endpoint over HTTP ------------------------------------------------------- */

/* GET `path` from 127.0.0.1:port (HTTP/1.0, read to EOF).  Returns the status code
 * and the parsed JSON body in *doc (caller deletes). */
static int http_get_json(int port, const char *path, cJSON **doc) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char req[256];
  int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  assert_int_equal(send(fd, req, (size_t)len, 0), len);
  sp_buf resp = SP_BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0) assert_int_equal(sp_buf_append(&resp, chunk, (size_t)n), 0);
  close(fd);
  assert_int_equal(sp_buf_append_str(&resp, ""), 0);
  const char *text = (const char *)resp.data;
  int status = 0;
  assert_int_equal(sscanf(text, "HTTP/1.%*d %d", &status), 1);
  const char *body = strstr(text, "\r\n\r\n");
  assert_non_null(body);
  *doc = cJSON_Parse(body + 4);
  assert_non_null(*doc);
  sp_buf_free(&resp);
  return status;
}

/* What the endpoint's health callback reads, as the daemon publishes it. */
typedef struct published {
  pthread_mutex_t lock;
  sp_pipeline *pipeline; /* NULL while being replaced */
  const sp_config *config;
} published;

static int published_health(void *arg, sp_buf *out, bool *healthy) {
  published *pub = arg;
  sp_health_settings settings = {.stuck_after_us = 300 * SP_US_PER_SEC, .min_free_disk_mb = 0};
  pthread_mutex_lock(&pub->lock);
  int rc = sp_health_check(pub->pipeline, pub->config, NULL, 0, &settings, sp_now_us(), out, healthy);
  pthread_mutex_unlock(&pub->lock);
  return rc;
}

static void publish(published *pub, sp_pipeline *p) {
  pthread_mutex_lock(&pub->lock);
  pub->pipeline = p;
  pthread_mutex_unlock(&pub->lock);
}

static sp_pipeline *open_started_pipeline(const sp_config *cfg, const sp_credentials *creds) {
  static const volatile bool no_stop = false;
  sp_pipeline *p;
  sp_error err = {0};
  if (sp_pipeline_open(cfg, creds, &no_stop, &p, &err) || sp_pipeline_start(p, &err)) fail_msg("%s", err.msg);
  return p;
}

/* GET /health until its status is `want` (60 s at most: it returns as soon as it is,
 * and a loaded machine may be slow); returns the last document. */
static cJSON *health_until(int port, int want) {
  cJSON *doc = NULL;
  int status = 0;
  for (int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC; sp_monotonic_us() < until;) {
    cJSON_Delete(doc);
    status = http_get_json(port, "/health", &doc);
    if (status == want) break;
    usleep(10000);
  }
  assert_int_equal(status, want);
  return doc;
}

static const char dead_runner_yaml[] =
    "agents:\n"
    "  a: {sources: [financial_source], channels: [financial_channel], sinks: [financial_sink]}\n"
    "sources:\n"
    "  financial_source: {dataset: financial_data, providers: [yahoo], tickers: mag7, schedule: 30m}\n"
    "channels:\n"
    "  financial_channel: {type: memory, capacity: 100, transactionCapacity: 100}\n"
    "sinks:\n"
    "  financial_sink: {type: file, format: jsonl}\n"
    "bindings:\n"
    "  financial_source: [financial_channel]\n"
    "  financial_channel: financial_sink\n";

/* A real sink-runner thread that ends while the pipeline is published: its channel
 * is closed under it (sp_pipeline_interrupt), so the thread drains what is left and
 * returns.  /health must say 503 dead_runner naming the sink, and 200 again once a
 * new pipeline (what a SIGHUP reload does) runs. */
static void test_endpoint_dead_runner(void **state) {
  (void)state;
  sp_log_set_level(SP_LOG_OFF);
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_config *cfg;
  sp_config_diag diag;
  sp_error err = {0};
  assert_int_equal(sp_config_load_string(dead_runner_yaml, strlen(dead_runner_yaml), "health.yaml", &cfg, &diag), 0);
  assert_int_equal(sp_config_set_data_dir(cfg, dir, &err), 0);
  sp_credentials creds = {0};
  published pub = {.config = cfg};
  pthread_mutex_init(&pub.lock, NULL);
  publish(&pub, open_started_pipeline(cfg, &creds));
  sp_health_server_handlers handlers = {.health = published_health, .ctx = &pub};
  sp_health_server *server;
  assert_int_equal(sp_health_server_start("127.0.0.1:0", &handlers, &server, &err), 0);
  int port = sp_health_server_port(server);

  cJSON *doc;
  assert_int_equal(http_get_json(port, "/health", &doc), 200);
  assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "ok");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "sinks"), 0), "running")));
  cJSON_Delete(doc);

  sp_pipeline_interrupt(pub.pipeline); /* the runner thread ends; the pipeline stays published */
  doc = health_until(port, 503);
  assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "unhealthy");
  assert_true(has_reason(doc, "dead_runner", "financial_sink"));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "reasons")), 1);
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "sinks"), 0), "running")));
  cJSON_Delete(doc);

  /* Replace the pipeline as a reload does: no_pipeline in between, then healthy. */
  sp_pipeline *old = pub.pipeline;
  publish(&pub, NULL);
  assert_int_equal(http_get_json(port, "/health", &doc), 503);
  assert_true(has_reason(doc, "no_pipeline", "pipeline"));
  cJSON_Delete(doc);
  sp_pipeline_close(old);
  publish(&pub, open_started_pipeline(cfg, &creds));
  assert_int_equal(http_get_json(port, "/health", &doc), 200);
  assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "ok");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "reasons")), 0);
  cJSON_Delete(doc);

  sp_health_server_stop(server);
  sp_pipeline_close(pub.pipeline);
  pthread_mutex_destroy(&pub.lock);
  sp_config_free(cfg);
  remove_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_missed_schedule),
      cmocka_unit_test(test_disabled_source_is_never_missed),
      cmocka_unit_test(test_latency_histogram),
      cmocka_unit_test(test_latency_concurrent_observers),
      cmocka_unit_test(test_endpoint_dead_runner),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
