/*
 * test_http.c — the HTTP client (core/http.c) against the fake provider API
 * (tests/fakeapi/fakeapi.py), which this program starts on 127.0.0.1 at an ephemeral
 * port and stops at the end.  Faults are injected per test through the fake's
 * /_control endpoints, and /_control/requests tells what the client really sent
 * (attempt counts, headers, the highest number of concurrent requests).
 *
 * Timing assertions are lower bounds only (a retry honoured Retry-After, a rate limit
 * spread the requests out), so a slow machine cannot make them fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/http.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t fake_pid;
static char fake_dir[64];
static char fake_url[64];
static char source_dir[1024];

/* ---------------------------------------------------------------- the fake API */

static int start_fake(void **state) {
  (void)state;
  const char *src = getenv("STOCKPIPE_SOURCE_DIR");
  snprintf(source_dir, sizeof source_dir, "%s", src && src[0] ? src : STOCKPIPE_SOURCE_DIR);
  setenv("NO_PROXY", "127.0.0.1", 1); /* a proxy set in the environment must not see test traffic */
  snprintf(fake_dir, sizeof fake_dir, "/tmp/test_http.XXXXXX");
  if (!mkdtemp(fake_dir)) return -1;
  char port_file[128], script[1100];
  snprintf(port_file, sizeof port_file, "%s/port", fake_dir);
  snprintf(script, sizeof script, "%s/tests/fakeapi/fakeapi.py", source_dir);
  fake_pid = fork();
  if (fake_pid < 0) return -1;
  if (fake_pid == 0) {
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execlp("python3", "python3", script, "--port-file", port_file, "--max-seconds", "120", (char *)NULL);
    _exit(127);
  }
  for (int64_t until = sp_monotonic_us() + 60 * SP_US_PER_SEC; sp_monotonic_us() < until;) { /* Python may start slowly */
    FILE *f = fopen(port_file, "r");
    if (f) {
      int port = 0;
      int n = fscanf(f, "%d", &port);
      fclose(f);
      if (n == 1 && port > 0) {
        snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", port);
        return 0;
      }
    }
    if (waitpid(fake_pid, NULL, WNOHANG) == fake_pid) return -1;
    usleep(10000);
  }
  return -1;
}

static int stop_fake(void **state) {
  (void)state;
  if (fake_pid > 0) {
    kill(fake_pid, SIGTERM);
    waitpid(fake_pid, NULL, 0);
  }
  char port_file[128];
  snprintf(port_file, sizeof port_file, "%s/port", fake_dir);
  unlink(port_file);
  rmdir(fake_dir);
  curl_global_cleanup();
  return 0;
}

static size_t collect(char *data, size_t size, size_t count, void *arg) {
  return sp_buf_append(arg, data, size * count) == SP_OK ? size * count : 0;
}

/* Call a /_control endpoint (POST when `json` is given) and return the parsed reply. */
static cJSON *control(const char *path, const char *json) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", fake_url, path);
  sp_buf out = SP_BUF_INIT;
  CURL *e = curl_easy_init();
  assert_non_null(e);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
  if (json) curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
  assert_int_equal(curl_easy_perform(e), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(e);
  if (status != 200) fail_msg("fakeapi %s: %ld %s", path, status, out.data ? (char *)out.data : "");
  cJSON *reply = cJSON_Parse((const char *)out.data);
  sp_buf_free(&out);
  assert_non_null(reply);
  return reply;
}

static void add_fault(const char *json) { cJSON_Delete(control("/_control/faults", json)); }

static int request_count(void) {
  cJSON *r = control("/_control/requests", NULL);
  int n = cJSON_GetObjectItem(r, "count")->valueint;
  cJSON_Delete(r);
  return n;
}

/* ---------------------------------------------------------------- fixtures */

typedef struct fixture {
  sp_http_client *client;
  sp_http_provider_settings settings;
} fixture;

static void register_provider(fixture *f) {
  sp_error err;
  int rc = sp_http_set_provider(f->client, &f->settings, &err);
  if (rc != SP_OK) fail_msg("set_provider: %s", err.msg);
}

static int setup(void **state) {
  cJSON_Delete(control("/_control/reset", ""));
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  sp_error err;
  assert_int_equal(sp_http_client_new(&f->client, &err), SP_OK);
  f->settings = (sp_http_provider_settings){.name = "fake", .base_url = fake_url, .timeout_ms = 5000,
                                            .max_attempts = 3, .backoff_base_ms = 10, .backoff_max_ms = 200};
  register_provider(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  sp_http_client_free(f->client);
  free(f);
  sp_log_clear_secrets();
  return 0;
}

static char *read_file(const char *relative, size_t *len) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", source_dir, relative);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  data[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return data;
}

/* ---------------------------------------------------------------- tests */

static void test_get_returns_fixture_gzipped(void **state) {
  fixture *f = *state;
  sp_http_response resp;
  sp_error err;
  int rc = sp_http_get(f->client, "fake", "/v8/finance/chart/AAPL?interval=1d", NULL, &resp, &err);
  if (rc != SP_OK) fail_msg("%s", err.msg);
  size_t len;
  char *want = read_file("tests/fixtures/yahoo/chart-AAPL.json", &len);
  assert_int_equal(resp.status, 200);
  assert_int_equal(resp.attempts, 1);
  assert_int_equal(resp.body.len, len);
  assert_memory_equal(resp.body.data, want, len);
  assert_non_null(resp.content_type);
  assert_string_equal(resp.content_type, "application/json");
  assert_non_null(strstr(resp.url, "/v8/finance/chart/AAPL?interval=1d"));
  free(want);
  sp_http_response_free(&resp);

  /* What went over the wire: gzip offered and used, our User-Agent. */
  cJSON *log = control("/_control/requests", NULL);
  cJSON *req = cJSON_GetArrayItem(cJSON_GetObjectItem(log, "requests"), 0);
  cJSON *headers = cJSON_GetObjectItem(req, "headers");
  assert_non_null(strstr(cJSON_GetObjectItem(headers, "Accept-Encoding")->valuestring, "gzip"));
  assert_string_equal(cJSON_GetObjectItem(req, "content_encoding")->valuestring, "gzip");
  assert_int_equal(strncmp(cJSON_GetObjectItem(headers, "User-Agent")->valuestring, "stockpipe/", 10), 0);
  cJSON_Delete(log);
}

static void test_custom_headers_replace_user_agent(void **state) {
  fixture *f = *state;
  const char *headers[] = {"User-Agent: Mozilla/5.0 (test)", "Accept: application/json", NULL};
  sp_http_response resp;
  assert_int_equal(sp_http_get(f->client, "fake", "/v8/finance/chart/MSFT", headers, &resp, NULL), SP_OK);
  assert_non_null(strstr((char *)resp.body.data, "\"symbol\":\"MSFT\""));
  sp_http_response_free(&resp);
  cJSON *log = control("/_control/requests", NULL);
  cJSON *req = cJSON_GetArrayItem(cJSON_GetObjectItem(log, "requests"), 0);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "headers"), "User-Agent")->valuestring,
                      "Mozilla/5.0 (test)");
  cJSON_Delete(log);
}

/* Cookies a response sets are sent with later requests (Yahoo's consent/crumb flow). */
static void test_cookies_persist(void **state) {
  fixture *f = *state;
  cJSON_Delete(control("/_control/routes", "{\"path\": \"/consent\", \"body\": \"ok\","
                                           " \"headers\": {\"Set-Cookie\": \"A3=d=AQABBC; Path=/; HttpOnly\"}}"));
  sp_http_response resp;
  assert_int_equal(sp_http_get(f->client, "fake", "/consent", NULL, &resp, NULL), SP_OK);
  sp_http_response_free(&resp);
  assert_int_equal(sp_http_get(f->client, "fake", "/v1/test/getcrumb", NULL, &resp, NULL), SP_OK);
  sp_http_response_free(&resp);
  cJSON *log = control("/_control/requests", NULL);
  cJSON *requests = cJSON_GetObjectItem(log, "requests");
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(requests, 0), "headers"), "Cookie"));
  cJSON *cookie = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(requests, 1), "headers"), "Cookie");
  assert_non_null(cookie);
  assert_string_equal(cookie->valuestring, "A3=d=AQABBC");
  cJSON_Delete(log);
}

static void test_429_retry_after_honoured(void **state) {
  fixture *f = *state;
  f->settings.backoff_max_ms = 5000; /* Retry-After is capped by backoff_max */
  register_provider(f);
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"429\", \"retry_after\": 1, \"count\": 1}");
  int64_t start = sp_monotonic_us();
  sp_http_response resp;
  sp_error err;
  int rc = sp_http_get(f->client, "fake", "/v8/finance/chart/NVDA", NULL, &resp, &err);
  int64_t elapsed = sp_monotonic_us() - start;
  if (rc != SP_OK) fail_msg("%s", err.msg);
  assert_int_equal(resp.attempts, 2);
  assert_int_equal(request_count(), 2);
  assert_true(elapsed >= 1000 * 1000);
  sp_http_response_free(&resp);
}

static double request_time(cJSON *requests, const char *path) {
  cJSON *req;
  cJSON_ArrayForEach(req, requests) {
    if (strcmp(cJSON_GetObjectItem(req, "path")->valuestring, path) == 0)
      return cJSON_GetObjectItem(req, "time")->valuedouble;
  }
  fail_msg("no request for %s", path);
  return 0;
}

static void count_done(void *arg, const sp_http_response *resp, const sp_error *err);

/* A 429 holds back the provider's other requests too, not only the one retried. */
static void test_429_pauses_the_provider(void **state) {
  fixture *f = *state;
  f->settings.backoff_max_ms = 5000;
  f->settings.max_in_flight = 1;
  register_provider(f);
  add_fault("{\"path\": \"/AAPL$\", \"fault\": \"429\", \"retry_after\": 1, \"count\": 1}");
  int ok = 0;
  sp_http_request aapl = {.provider = "fake", .path = "/v8/finance/chart/AAPL", .done = count_done, .arg = &ok};
  sp_http_request msft = {.provider = "fake", .path = "/v8/finance/chart/MSFT", .done = count_done, .arg = &ok};
  assert_int_equal(sp_http_submit(f->client, &aapl, NULL), SP_OK);
  assert_int_equal(sp_http_submit(f->client, &msft, NULL), SP_OK);
  assert_int_equal(sp_http_run(f->client, NULL, NULL), SP_OK);
  assert_int_equal(ok, 2);
  cJSON *log = control("/_control/requests", NULL);
  cJSON *requests = cJSON_GetObjectItem(log, "requests");
  assert_int_equal(cJSON_GetArraySize(requests), 3);
  double gap = request_time(requests, "/v8/finance/chart/MSFT") - request_time(requests, "/v8/finance/chart/AAPL");
  cJSON_Delete(log);
  assert_true(gap >= 0.95);
}

static void test_503_retry_after_http_date(void **state) {
  fixture *f = *state;
  f->settings.backoff_max_ms = 5000;
  register_provider(f);
  /* An HTTP-date two seconds ahead, in whole seconds: at least one second from now. */
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"503\", \"retry_after_date\": 2, \"count\": 1}");
  int64_t start = sp_monotonic_us();
  sp_http_response resp;
  assert_int_equal(sp_http_get(f->client, "fake", "/v8/finance/chart/META", NULL, &resp, NULL), SP_OK);
  int64_t elapsed = sp_monotonic_us() - start;
  assert_int_equal(resp.attempts, 2);
  assert_true(elapsed >= 900 * 1000); /* the 10 ms backoff alone would be far shorter */
  sp_http_response_free(&resp);
}

static void test_500_gives_up_after_max_attempts(void **state) {
  fixture *f = *state;
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"500\"}");
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "fake", "/v8/finance/chart/AAPL", NULL, &resp, &err), SP_ERR_HTTP);
  assert_int_equal(err.code, SP_ERR_HTTP);
  assert_int_equal(resp.status, 500);
  assert_int_equal(resp.attempts, 3);
  assert_int_equal(request_count(), 3);
  assert_non_null(strstr(err.msg, "fake"));
  assert_non_null(strstr(err.msg, "HTTP 500"));
  assert_non_null(strstr(err.msg, "/v8/finance/chart/AAPL"));
  assert_non_null(strstr(err.msg, "injected HTTP 500")); /* body excerpt */
  sp_http_response_free(&resp);
}

static void test_404_not_retried_body_kept(void **state) {
  fixture *f = *state;
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "fake", "/no/such/path", NULL, &resp, &err), SP_ERR_HTTP);
  assert_int_equal(resp.status, 404);
  assert_int_equal(resp.attempts, 1);
  assert_int_equal(request_count(), 1);
  assert_non_null(strstr((char *)resp.body.data, "no route"));
  sp_http_response_free(&resp);
}

static void test_timeout(void **state) {
  fixture *f = *state;
  f->settings.timeout_ms = 300;
  f->settings.max_attempts = 2;
  register_provider(f);
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"delay\", \"ms\": 1500}");
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "fake", "/v8/finance/chart/AAPL", NULL, &resp, &err), SP_ERR_TIMEOUT);
  assert_int_equal(resp.attempts, 2);
  sp_http_response_free(&resp);
}

static void test_truncated_body_is_an_error(void **state) {
  fixture *f = *state;
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"truncate\"}");
  sp_http_response resp;
  sp_error err;
  int rc = sp_http_get(f->client, "fake", "/v8/finance/chart/AAPL", NULL, &resp, &err);
  assert_int_equal(rc, SP_ERR_IO);
  assert_int_equal(resp.attempts, 3);
  sp_http_response_free(&resp);
}

static void test_reset_html_502_and_408_are_retried(void **state) {
  fixture *f = *state;
  f->settings.max_attempts = 4;
  register_provider(f);
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"reset\", \"count\": 1}");
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"html\", \"status\": 502, \"count\": 1}");
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"status\", \"status\": 408, \"count\": 1}");
  sp_http_response resp;
  sp_error err;
  int rc = sp_http_get(f->client, "fake", "/v8/finance/chart/TSLA", NULL, &resp, &err);
  if (rc != SP_OK) fail_msg("%s", err.msg);
  assert_int_equal(resp.attempts, 4);
  assert_non_null(strstr((char *)resp.body.data, "\"symbol\":\"TSLA\""));
  sp_http_response_free(&resp);
}

/* Alpha Vantage answers 200 with a "Note"/"Information" object when it throttles. */
static int classify_av(const sp_http_response *resp, void *arg) {
  (*(int *)arg)++;
  const char *body = (const char *)resp->body.data;
  if (strstr(body, "\"Note\"") || strstr(body, "\"Information\"")) return SP_ERR_RATE_LIMIT;
  return SP_OK;
}

typedef struct outcome {
  int calls;
  int code;
  int attempts;
  char body_start[32];
  int classify_calls;
} outcome;

static void record_outcome(void *arg, const sp_http_response *resp, const sp_error *err) {
  outcome *o = arg;
  o->calls++;
  o->code = err->code;
  o->attempts = resp->attempts;
  snprintf(o->body_start, sizeof o->body_start, "%s", (const char *)resp->body.data);
}

static int classify_outcome(const sp_http_response *resp, void *arg) {
  outcome *o = arg;
  return classify_av(resp, &o->classify_calls);
}

static void test_classify_rate_limit_note(void **state) {
  fixture *f = *state;
  f->settings.max_attempts = 4;
  register_provider(f);
  add_fault("{\"path\": \"^/query$\", \"fault\": \"rate_limit_note\", \"count\": 1}");
  add_fault("{\"path\": \"^/query$\", \"fault\": \"rate_limit_note\", \"style\": \"information\", \"count\": 1}");
  outcome o = {0};
  sp_http_request r = {.provider = "fake", .path = "/query?function=OVERVIEW&symbol=IBM",
                       .classify = classify_outcome, .done = record_outcome, .arg = &o};
  sp_error err;
  assert_int_equal(sp_http_submit(f->client, &r, &err), SP_OK);
  assert_int_equal(sp_http_run(f->client, NULL, &err), SP_OK);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.code, SP_OK);
  assert_int_equal(o.attempts, 3);
  assert_int_equal(o.classify_calls, 3);
  assert_int_equal(request_count(), 3);

  /* Throttled on every attempt: SP_ERR_RATE_LIMIT with the note in the message. */
  add_fault("{\"path\": \"^/query$\", \"fault\": \"rate_limit_note\"}");
  memset(&o, 0, sizeof o);
  assert_int_equal(sp_http_submit(f->client, &r, &err), SP_OK);
  assert_int_equal(sp_http_run(f->client, NULL, &err), SP_OK);
  assert_int_equal(o.code, SP_ERR_RATE_LIMIT);
  assert_int_equal(o.attempts, 4);
}

/* before_attempt: allows `allowed` attempts in all (shared by the requests), then
 * refuses with SP_ERR_QUOTA, as a daily quota does. */
typedef struct gate {
  outcome o;
  int allowed;
  int asked;
} gate;

static int gate_attempt(void *arg) {
  gate *g = arg;
  g->asked++;
  if (g->allowed <= 0) return SP_ERR_QUOTA;
  g->allowed--;
  return SP_OK;
}

static void gate_done(void *arg, const sp_http_response *resp, const sp_error *err) {
  record_outcome(&((gate *)arg)->o, resp, err);
}

/* A request before_attempt refuses is not sent: done() gets its code, also for a retry. */
static void test_before_attempt_vetoes(void **state) {
  fixture *f = *state;
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"500\", \"count\": 1}");
  gate g = {.allowed = 1};
  sp_http_request r = {.provider = "fake", .path = "/v8/finance/chart/AAPL", .before_attempt = gate_attempt,
                       .done = gate_done, .arg = &g};
  sp_error err;
  assert_int_equal(sp_http_submit(f->client, &r, &err), SP_OK);
  assert_int_equal(sp_http_run(f->client, NULL, &err), SP_OK);
  assert_int_equal(g.o.calls, 1);
  assert_int_equal(g.o.code, SP_ERR_QUOTA); /* the 500's retry was refused */
  assert_int_equal(g.o.attempts, 1);
  assert_int_equal(g.asked, 2);
  assert_int_equal(request_count(), 1);
  memset(&g, 0, sizeof g); /* nothing allowed: nothing sent */
  assert_int_equal(sp_http_submit(f->client, &r, &err), SP_OK);
  assert_int_equal(sp_http_run(f->client, NULL, &err), SP_OK);
  assert_int_equal(g.o.code, SP_ERR_QUOTA);
  assert_int_equal(g.o.attempts, 0);
  assert_int_equal(request_count(), 1);
}

static void count_done(void *arg, const sp_http_response *resp, const sp_error *err) {
  (void)resp;
  if (err->code == SP_OK) (*(int *)arg)++;
}

static void submit_many(fixture *f, int n, int *ok) {
  static const char *tickers[] = {"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA"};
  for (int i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "/v8/finance/chart/%s", tickers[i % 7]);
    sp_http_request r = {.provider = "fake", .path = path, .done = count_done, .arg = ok};
    assert_int_equal(sp_http_submit(f->client, &r, NULL), SP_OK);
  }
}

static void test_rate_limit_spreads_requests(void **state) {
  fixture *f = *state;
  f->settings.rate_limit = 20; /* 8 requests, burst 2: at least 6 / 20 s = 0.3 s */
  f->settings.burst = 2;
  register_provider(f);
  int ok = 0;
  submit_many(f, 8, &ok);
  int64_t start = sp_monotonic_us();
  assert_int_equal(sp_http_run(f->client, NULL, NULL), SP_OK);
  int64_t elapsed = sp_monotonic_us() - start;
  assert_int_equal(ok, 8);
  assert_true(elapsed >= 300 * 1000);
  assert_int_equal(request_count(), 8);
}

static void test_max_in_flight(void **state) {
  fixture *f = *state;
  f->settings.max_in_flight = 2;
  register_provider(f);
  add_fault("{\"path\": \"^/v8/\", \"fault\": \"delay\", \"ms\": 150}");
  int ok = 0;
  submit_many(f, 6, &ok);
  assert_int_equal(sp_http_run(f->client, NULL, NULL), SP_OK);
  assert_int_equal(ok, 6);
  cJSON *log = control("/_control/requests", NULL);
  int max_concurrent = cJSON_GetObjectItem(log, "max_concurrent")->valueint;
  cJSON_Delete(log);
  assert_true(max_concurrent >= 1);
  assert_true(max_concurrent <= 2);
}

static void test_env_base_url_override(void **state) {
  fixture *f = *state;
  assert_int_equal(setenv("STOCKPIPE_FAKE_ENV_BASE_URL", fake_url, 1), 0);
  sp_http_provider_settings s = {.name = "fake-env", .base_url = "https://example.invalid"};
  sp_error err;
  int rc = sp_http_set_provider(f->client, &s, &err);
  unsetenv("STOCKPIPE_FAKE_ENV_BASE_URL");
  if (rc != SP_OK) fail_msg("%s", err.msg);
  assert_string_equal(sp_http_provider_base_url(f->client, "fake-env"), fake_url);
  sp_http_response resp;
  assert_int_equal(sp_http_get(f->client, "fake-env", "/v8/finance/chart/GOOGL", NULL, &resp, NULL), SP_OK);
  assert_int_equal(resp.status, 200);
  sp_http_response_free(&resp);

  /* An invalid override is rejected even when the settings' URL is fine, naming the variable. */
  assert_int_equal(setenv("STOCKPIPE_FAKE_ENV_BASE_URL", "http://127.0.0.1:1/path", 1), 0);
  s.base_url = fake_url;
  rc = sp_http_set_provider(f->client, &s, &err);
  unsetenv("STOCKPIPE_FAKE_ENV_BASE_URL");
  assert_int_equal(rc, SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "STOCKPIPE_FAKE_ENV_BASE_URL"));
}

static void test_base_url_validation(void **state) {
  fixture *f = *state;
  static const char *bad[] = {"ftp://example.com", "http://", "http://example.com/path", "example.com",
                              "http://example.com:0", "http://example.com:65536", "http://user:pw@example.com",
                              "http://example.com?x=1", "https://exa mple.com", "http://[::1", ""};
  static const char *good[] = {"http://127.0.0.1:8080", "https://query1.finance.yahoo.com",
                               "HTTPS://Example.COM:443/", "http://[::1]:9000"};
  sp_error err;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sp_http_provider_settings s = {.name = "bad", .base_url = bad[i]};
    if (sp_http_set_provider(f->client, &s, &err) != SP_ERR_CONFIG) fail_msg("accepted '%s'", bad[i]);
    assert_non_null(strstr(err.msg, "bad"));
  }
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    sp_http_provider_settings s = {.name = "good", .base_url = good[i]};
    if (sp_http_set_provider(f->client, &s, &err) != SP_OK) fail_msg("rejected '%s': %s", good[i], err.msg);
  }
  assert_string_equal(sp_http_provider_base_url(f->client, "good"), "http://[::1]:9000");
  sp_http_provider_settings s = {.name = "good", .base_url = "HTTPS://Example.COM:443/"};
  assert_int_equal(sp_http_set_provider(f->client, &s, &err), SP_OK);
  assert_string_equal(sp_http_provider_base_url(f->client, "good"), "HTTPS://Example.COM:443");
  assert_null(sp_http_provider_base_url(f->client, "bad"));
  sp_http_request r = {.provider = "nobody", .path = "/x", .done = count_done};
  assert_int_equal(sp_http_submit(f->client, &r, &err), SP_ERR_NOT_FOUND);
}

static void test_key_never_in_messages(void **state) {
  fixture *f = *state;
  static const char key[] = "Zq81secretKEY4711";
  sp_log_add_secret(key);
  /* The body echoes the key where the 200-byte excerpt is cut. */
  char fault[512];
  snprintf(fault, sizeof fault,
           "{\"path\": \"^/query$\", \"query\": \"pad=\", \"fault\": \"status\", \"status\": 403,"
           " \"body\": \"%0195d %s\"}", 0, key);
  add_fault(fault);
  add_fault("{\"path\": \"^/query$\", \"fault\": \"status\", \"status\": 401,"
            " \"body\": \"{\\\"error\\\": \\\"the key Zq81secretKEY4711 is invalid\\\"}\"}");
  char path[1200];
  snprintf(path, sizeof path, "/query?function=GLOBAL_QUOTE&symbol=MSFT&apikey=%s", key);
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "fake", path, NULL, &resp, &err), SP_ERR_HTTP);
  assert_null(strstr(err.msg, key));
  assert_null(strstr(resp.url, key));
  assert_non_null(strstr(err.msg, "apikey=REDACTED"));
  assert_non_null(strstr(err.msg, "HTTP 401"));
  assert_non_null(strstr(err.msg, "the key REDACTED is invalid"));
  sp_http_response_free(&resp);
  /* ...and it was sent to the provider. */
  cJSON *log = control("/_control/requests", NULL);
  cJSON *req = cJSON_GetArrayItem(cJSON_GetObjectItem(log, "requests"), 0);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "params"), "apikey")->valuestring, key);
  cJSON_Delete(log);

  /* A URL longer than resp.url, cut inside the key; a body excerpt cut inside it. */
  size_t base = strlen(fake_url), prefix = strlen("/query?pad=") + strlen("&apikey=");
  int pad = (int)(sizeof resp.url - 1 - base - prefix - 6);
  snprintf(path, sizeof path, "/query?pad=%0*d&apikey=%s", pad, 0, key);
  assert_int_equal(sp_http_get(f->client, "fake", path, NULL, &resp, &err), SP_ERR_HTTP);
  if (!strstr(err.msg, "HTTP 403")) fail_msg("%s", err.msg);
  assert_null(strstr(resp.url, "Zq81"));
  assert_null(strstr(err.msg, "Zq81"));
  assert_non_null(strstr(resp.url, "&apikey=REDA")); /* the cut fell where the key was */
  assert_non_null(strstr(err.msg, "0 REDA..."));
  sp_http_response_free(&resp);
}

static void test_body_cap(void **state) {
  fixture *f = *state;
  f->settings.max_body_bytes = 100;
  register_provider(f);
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "fake", "/v8/finance/chart/AAPL", NULL, &resp, &err), SP_ERR_IO);
  assert_non_null(strstr(err.msg, "larger than 100 bytes"));
  assert_int_equal(resp.attempts, 1);
  sp_http_response_free(&resp);
}

static void test_connection_refused(void **state) {
  fixture *f = *state;
  /* A port nobody listens on: bound here and held, never listened on (connections to
   * it are refused), so no other process can take it meanwhile. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof addr;
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
  sp_http_provider_settings s = {.name = "closed", .base_url = url, .max_attempts = 2, .backoff_base_ms = 10};
  assert_int_equal(sp_http_set_provider(f->client, &s, NULL), SP_OK);
  sp_http_response resp;
  sp_error err;
  assert_int_equal(sp_http_get(f->client, "closed", "/x", NULL, &resp, &err), SP_ERR_IO);
  assert_int_equal(resp.attempts, 2);
  assert_int_equal(resp.status, 0);
  assert_non_null(strstr(err.msg, "closed"));
  sp_http_response_free(&resp);
  close(fd);
}

static void test_stop(void **state) {
  fixture *f = *state;
  outcome o = {0};
  sp_http_request r = {.provider = "fake", .path = "/v8/finance/chart/AAPL", .done = record_outcome, .arg = &o};
  assert_int_equal(sp_http_submit(f->client, &r, NULL), SP_OK);
  volatile bool stop = true;
  sp_error err;
  assert_int_equal(sp_http_run(f->client, &stop, &err), SP_ERR_STOPPED);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.code, SP_ERR_STOPPED);
  /* Unstarted requests are still freed when the client goes away. */
  assert_int_equal(sp_http_submit(f->client, &r, NULL), SP_OK);
}

static void test_url_encode(void **state) {
  (void)state;
  sp_buf b = SP_BUF_INIT;
  assert_int_equal(sp_http_url_encode(&b, "BRK-B a&b=c/\xc3\xa9~_."), SP_OK);
  assert_string_equal((char *)b.data, "BRK-B%20a%26b%3Dc%2F%C3%A9~_.");
  sp_buf_reset(&b);
  assert_int_equal(sp_http_url_encode(&b, ""), SP_OK);
  assert_string_equal((char *)b.data, "");
  sp_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_get_returns_fixture_gzipped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_custom_headers_replace_user_agent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cookies_persist, setup, teardown),
      cmocka_unit_test_setup_teardown(test_429_retry_after_honoured, setup, teardown),
      cmocka_unit_test_setup_teardown(test_429_pauses_the_provider, setup, teardown),
      cmocka_unit_test_setup_teardown(test_503_retry_after_http_date, setup, teardown),
      cmocka_unit_test_setup_teardown(test_500_gives_up_after_max_attempts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_404_not_retried_body_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_body_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reset_html_502_and_408_are_retried, setup, teardown),
      cmocka_unit_test_setup_teardown(test_classify_rate_limit_note, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limit_spreads_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_base_url_override, setup, teardown),
      cmocka_unit_test_setup_teardown(test_base_url_validation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_key_never_in_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_before_attempt_vetoes, setup, teardown),
      cmocka_unit_test(test_url_encode),
  };
  return cmocka_run_group_tests_name("http", tests, start_fake, stop_fake);
}
