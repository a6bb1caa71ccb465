/*
 * http.c — the HTTP client behind core/http.h: one libcurl multi handle driven by
 * curl_multi_poll, a queue of requests, per-provider token buckets and in-flight
 * caps, and the retry policy (docs/HTTP.md describes it for users of the client).
 *
 * Every request is a `transfer` in one list, in submission order.  A transfer is
 * either waiting (no easy handle; it may not start before `not_before_us`) or running
 * (its easy handle is in the multi handle).  Each turn of sp_http_run starts every
 * waiting transfer its provider allows (in-flight cap, token bucket, backoff), lets
 * libcurl work, and settles finished attempts: success, retry later, or fail.
 * Callbacks run on the caller's thread from inside sp_http_run.
 *
 * Cookies, DNS and TLS sessions live in one CURLSH shared by every easy handle, so a
 * provider's cookies (Yahoo's consent and crumb cookies) persist across requests.
 */
#include "core/http.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_IN_FLIGHT 4
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_ATTEMPTS 4
#define DEFAULT_BACKOFF_BASE_MS 500
#define DEFAULT_BACKOFF_MAX_MS 30000
#define EXCERPT_MAX 200
/* Longest URL quoted in an error message (the URL in the response is kept longer). */
#define MESSAGE_URL_MAX 200
/* Longest sleep between checks of the `stop` flag. */
#define POLL_SLICE_US INT64_C(100000)
/* Retry warnings per provider and minute; the rest go to DEBUG and are counted in the
 * next minute's first warning (an outage must not write thousands of lines an hour). */
#define RETRY_WARNINGS_PER_MINUTE 10

typedef struct provider {
  char *name;
  char *base_url;             /* validated, no trailing slash */
  double rate_limit;          /* tokens per second; 0 = unlimited */
  double burst;
  int max_in_flight;
  int timeout_ms;
  int connect_timeout_ms;
  int max_attempts;
  int backoff_base_ms;
  int backoff_max_ms;
  size_t max_body_bytes;
  double tokens;              /* token bucket level */
  int64_t refilled_us;        /* monotonic time of the last refill */
  int64_t paused_until_us;    /* after a rate-limit answer, no attempt starts before this */
  int in_flight;
  int64_t warn_minute_us;     /* start of the current minute of retry warnings */
  int warned;                 /* retry warnings logged in it */
  long unwarned;              /* retries logged at DEBUG only since the last warning */
} provider;

typedef struct transfer {
  struct transfer *prev, *next;
  int provider;               /* index into client->providers */
  char *path;
  struct curl_slist *headers;
  int (*classify)(const sp_http_response *resp, void *arg);
  int (*before_attempt)(void *arg);
  sp_http_done_fn done;
  void *arg;
  CURL *easy;                 /* non-NULL while an attempt is running */
  int64_t not_before_us;      /* monotonic time before which no attempt starts */
  int64_t retry_after_ms;     /* from the last response's Retry-After, -1 if none */
  size_t max_body_bytes;      /* the provider's cap, copied when an attempt starts */
  bool body_too_large;
  bool out_of_memory;
  char curl_error[CURL_ERROR_SIZE];
  sp_http_response resp;
} transfer;

struct sp_http_client {
  CURLM *multi;
  CURLSH *share;
  provider *providers;
  int nproviders;
  transfer *head, *tail;
  uint64_t rng;               /* xorshift64* state for backoff jitter */
  bool running;
};

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result;

static void global_init(void) { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---------------------------------------------------------------- helpers */

static uint64_t next_random(sp_http_client *c) {
  uint64_t x = c->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->rng = x;
  return x * UINT64_C(2685821657736338717);
}

static provider *find_provider(const sp_http_client *c, const char *name) {
  for (int i = 0; i < c->nproviders; i++)
    if (strcmp(c->providers[i].name, name) == 0) return &c->providers[i];
  return NULL;
}

/* The start of `body` for messages, in `out` (EXCERPT_MAX + 4 bytes): printable ASCII,
 * whitespace runs collapsed, secrets redacted, at most EXCERPT_MAX bytes plus "...".
 * Redaction runs on a wider window before the cut, so the cut cannot split a secret. */
static void body_excerpt(const sp_buf *body, char *out) {
  char window[4 * EXCERPT_MAX + 1];
  size_t n = 0, i = 0;
  bool space = false;
  for (; i < body->len && n < sizeof window - 2; i++) {
    unsigned char ch = body->data[i];
    if (ch <= ' ' || ch >= 0x7f) {
      space = n > 0;
      continue;
    }
    if (space) window[n++] = ' ';
    space = false;
    window[n++] = (char)ch;
  }
  window[n] = '\0';
  sp_redact(window);
  n = strlen(window);
  bool cut = n > EXCERPT_MAX || i < body->len;
  if (n > EXCERPT_MAX) n = EXCERPT_MAX;
  memcpy(out, window, n);
  if (cut) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
}

/* Parse a Retry-After value: delta-seconds or an HTTP-date.  Returns milliseconds
 * from now (>= 0), or -1 when the value is not understood. */
static int64_t parse_retry_after(const char *value) {
  while (*value == ' ' || *value == '\t') value++;
  if (isdigit((unsigned char)*value)) {
    char *end;
    unsigned long long secs = strtoull(value, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (*end != '\0') return -1;
    if (secs > 86400ULL * 365) secs = 86400ULL * 365;
    return (int64_t)secs * 1000;
  }
  time_t when = curl_getdate(value, NULL);
  if (when == (time_t)-1) return -1;
  int64_t delta_ms = ((int64_t)when * SP_US_PER_SEC - sp_now_us()) / 1000;
  return delta_ms > 0 ? delta_ms : 0;
}

/* Validate http(s)://host[:port] (one trailing '/' tolerated and dropped) and return
 * a normalised copy in *out, or SP_ERR_CONFIG / SP_ERR_NOMEM. */
static int normalise_base_url(const char *url, char **out) {
  const char *p;
  if (strncasecmp(url, "http://", 7) == 0)
    p = url + 7;
  else if (strncasecmp(url, "https://", 8) == 0)
    p = url + 8;
  else
    return SP_ERR_CONFIG;
  const char *host = p;
  if (*p == '[') { /* IPv6 literal */
    p++;
    while (isxdigit((unsigned char)*p) || *p == ':' || *p == '.') p++;
    if (*p != ']' || p == host + 1) return SP_ERR_CONFIG;
    p++;
  } else {
    while (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_') p++;
    if (p == host) return SP_ERR_CONFIG;
  }
  if (*p == ':') {
    p++;
    long port = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p) && digits < 6) port = port * 10 + (*p++ - '0'), digits++;
    if (digits == 0 || port < 1 || port > 65535) return SP_ERR_CONFIG;
  }
  size_t len = (size_t)(p - url);
  if (*p == '/') p++;
  if (*p != '\0') return SP_ERR_CONFIG;
  char *copy = strndup(url, len);
  if (!copy) return SP_ERR_NOMEM;
  *out = copy;
  return SP_OK;
}

/* ---------------------------------------------------------------- client */

int sp_http_client_new(sp_http_client **out, sp_error *err) {
  *out = NULL;
  pthread_once(&global_init_once, global_init);
  if (global_init_result != CURLE_OK)
    return sp_error_set(err, SP_ERR_IO, "http: libcurl initialisation failed");
  sp_http_client *c = calloc(1, sizeof *c);
  if (!c) return sp_error_set(err, SP_ERR_NOMEM, "http: out of memory");
  c->multi = curl_multi_init();
  c->share = curl_share_init();
  if (!c->multi || !c->share ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    sp_http_client_free(c);
    return sp_error_set(err, SP_ERR_IO, "http: libcurl multi/share handle creation failed");
  }
  c->rng = (uint64_t)sp_now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
  if (c->rng == 0) c->rng = 1;
  *out = c;
  return SP_OK;
}

static void transfer_free(transfer *t) {
  if (!t) return;
  free(t->path);
  curl_slist_free_all(t->headers);
  sp_http_response_free(&t->resp);
  free(t);
}

static void list_remove(sp_http_client *c, transfer *t) {
  if (t->prev) t->prev->next = t->next;
  else c->head = t->next;
  if (t->next) t->next->prev = t->prev;
  else c->tail = t->prev;
  t->prev = t->next = NULL;
}

static void end_attempt(sp_http_client *c, transfer *t) {
  if (!t->easy) return;
  curl_multi_remove_handle(c->multi, t->easy);
  curl_easy_cleanup(t->easy);
  t->easy = NULL;
  c->providers[t->provider].in_flight--;
}

void sp_http_client_free(sp_http_client *c) {
  if (!c) return;
  while (c->head) {
    transfer *t = c->head;
    end_attempt(c, t);
    list_remove(c, t);
    transfer_free(t);
  }
  for (int i = 0; i < c->nproviders; i++) {
    free(c->providers[i].name);
    free(c->providers[i].base_url);
  }
  free(c->providers);
  if (c->multi) curl_multi_cleanup(c->multi);
  if (c->share) curl_share_cleanup(c->share);
  free(c);
}

int sp_http_set_provider(sp_http_client *c, const sp_http_provider_settings *s, sp_error *err) {
  if (!s->name || !s->name[0]) return sp_error_set(err, SP_ERR_INVALID, "http: provider without a name");
  /* STOCKPIPE_<NAME>_BASE_URL, NAME upper-cased with other characters as '_'. */
  char env_name[128];
  size_t n = (size_t)snprintf(env_name, sizeof env_name, "STOCKPIPE_");
  for (const char *p = s->name; *p && n < sizeof env_name - 10; p++)
    env_name[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
  memcpy(env_name + n, "_BASE_URL", 10);
  const char *url = getenv(env_name);
  const char *origin = env_name;
  if (!url || !url[0]) {
    url = s->base_url;
    origin = "settings";
  }
  if (!url || !url[0])
    return sp_error_set(err, SP_ERR_CONFIG, "provider %s: no base URL (set providers.%s.base_url or %s)",
                        s->name, s->name, env_name);
  char *base = NULL;
  int rc = normalise_base_url(url, &base);
  if (rc == SP_ERR_NOMEM) return sp_error_set(err, rc, "http: out of memory");
  if (rc != SP_OK) {
    sp_error_set(err, SP_ERR_CONFIG, "provider %s: base URL '%.200s' (from %s) is not http(s)://host[:port]",
                 s->name, url, origin);
    if (err) sp_redact(err->msg);
    return SP_ERR_CONFIG;
  }
  provider *p = find_provider(c, s->name);
  if (!p) {
    provider *grown = realloc(c->providers, (size_t)(c->nproviders + 1) * sizeof *grown);
    if (!grown) {
      free(base);
      return sp_error_set(err, SP_ERR_NOMEM, "http: out of memory");
    }
    c->providers = grown;
    p = &c->providers[c->nproviders];
    memset(p, 0, sizeof *p);
    p->name = strdup(s->name);
    if (!p->name) {
      free(base);
      return sp_error_set(err, SP_ERR_NOMEM, "http: out of memory");
    }
    c->nproviders++;
  }
  free(p->base_url);
  p->base_url = base;
  p->rate_limit = s->rate_limit > 0 ? s->rate_limit : 0;
  p->burst = s->burst > 0 ? s->burst : (p->rate_limit > 1 ? p->rate_limit : 1);
  p->max_in_flight = s->max_in_flight > 0 ? s->max_in_flight : DEFAULT_MAX_IN_FLIGHT;
  p->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : DEFAULT_TIMEOUT_MS;
  p->connect_timeout_ms = s->connect_timeout_ms > 0 ? s->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
  p->max_attempts = s->max_attempts > 0 ? s->max_attempts : DEFAULT_MAX_ATTEMPTS;
  p->backoff_base_ms = s->backoff_base_ms > 0 ? s->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
  p->backoff_max_ms = s->backoff_max_ms > 0 ? s->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
  p->max_body_bytes = s->max_body_bytes > 0 ? s->max_body_bytes : SP_HTTP_MAX_BODY;
  p->tokens = p->burst;
  p->refilled_us = sp_monotonic_us();
  return SP_OK;
}

const char *sp_http_provider_base_url(const sp_http_client *c, const char *name) {
  const provider *p = find_provider(c, name);
  return p ? p->base_url : NULL;
}

/* The URL for messages and logs: secrets redacted, then truncated to fit (in that
 * order, so truncation cannot leave part of a secret). */
static int show_url(transfer *t, const char *base_url) {
  sp_buf full = SP_BUF_INIT;
  if (sp_buf_printf(&full, "%s%s", base_url, t->path) != SP_OK) return SP_ERR_NOMEM;
  sp_redact((char *)full.data);
  snprintf(t->resp.url, sizeof t->resp.url, "%s", (const char *)full.data);
  sp_buf_free(&full);
  return SP_OK;
}

int sp_http_submit(sp_http_client *c, const sp_http_request *r, sp_error *err) {
  if (!r->provider || !r->path || r->path[0] != '/' || !r->done)
    return sp_error_set(err, SP_ERR_INVALID, "http: request needs a provider, a path starting with '/' and done()");
  provider *p = find_provider(c, r->provider);
  if (!p) return sp_error_set(err, SP_ERR_NOT_FOUND, "http: provider '%s' is not registered", r->provider);
  transfer *t = calloc(1, sizeof *t);
  if (!t) return sp_error_set(err, SP_ERR_NOMEM, "http: out of memory");
  t->provider = (int)(p - c->providers);
  t->classify = r->classify;
  t->before_attempt = r->before_attempt;
  t->done = r->done;
  t->arg = r->arg;
  t->retry_after_ms = -1;
  t->path = strdup(r->path);
  /* The body is "" rather than NULL from the start: callbacks can use it as a string. */
  bool ok = t->path != NULL && sp_buf_append(&t->resp.body, "", 0) == SP_OK &&
            show_url(t, p->base_url) == SP_OK;
  for (const char *const *h = r->headers; ok && h && *h; h++) {
    struct curl_slist *more = curl_slist_append(t->headers, *h);
    if (more) t->headers = more;
    else ok = false;
  }
  if (!ok) {
    transfer_free(t);
    return sp_error_set(err, SP_ERR_NOMEM, "http: out of memory");
  }
  t->prev = c->tail;
  if (c->tail) c->tail->next = t;
  else c->head = t;
  c->tail = t;
  return SP_OK;
}

/* ---------------------------------------------------------------- attempts */

static size_t on_body(char *data, size_t size, size_t count, void *arg) {
  transfer *t = arg;
  size_t n = size * count;
  if (n > t->max_body_bytes - t->resp.body.len) {
    t->body_too_large = true;
    return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
  }
  if (sp_buf_append(&t->resp.body, data, n) != SP_OK) {
    t->out_of_memory = true;
    return 0;
  }
  return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *arg) {
  transfer *t = arg;
  size_t n = size * count;
  if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    t->retry_after_ms = -1; /* a new response (after a redirect or 100-continue) */
  } else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
    char value[128];
    size_t len = n - 12 < sizeof value - 1 ? n - 12 : sizeof value - 1;
    memcpy(value, data + 12, len);
    value[len] = '\0';
    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
      value[--len] = '\0';
    t->retry_after_ms = parse_retry_after(value);
  }
  return n;
}

/* Build the URL, create the easy handle and hand it to the multi handle. */
static int start_attempt(sp_http_client *c, transfer *t) {
  provider *p = &c->providers[t->provider];
  sp_buf url = SP_BUF_INIT;
  if (sp_buf_printf(&url, "%s%s", p->base_url, t->path) != SP_OK || show_url(t, p->base_url) != SP_OK) {
    sp_buf_free(&url);
    return SP_ERR_NOMEM;
  }
  sp_buf_reset(&t->resp.body);
  free(t->resp.content_type);
  t->resp.content_type = NULL;
  t->resp.status = 0;
  t->retry_after_ms = -1;
  t->body_too_large = t->out_of_memory = false;
  t->curl_error[0] = '\0';
  t->max_body_bytes = p->max_body_bytes;
  CURL *e = curl_easy_init();
  if (!e) {
    sp_buf_free(&url);
    return SP_ERR_NOMEM;
  }
  CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, (const char *)url.data);
  sp_buf_free(&url); /* libcurl copied it */
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_error);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_USERAGENT, "stockpipe/" STOCKPIPE_VERSION);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_SHARE, c->share);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* cookie engine on, no file */
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  /* TLS verification is libcurl's default; stated here so nobody turns it off. */
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  if (!rc) rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (rc != CURLE_OK || curl_multi_add_handle(c->multi, e) != CURLM_OK) {
    curl_easy_cleanup(e);
    return SP_ERR_NOMEM;
  }
  t->easy = e;
  t->resp.attempts++;
  p->in_flight++;
  SP_DEBUG(p->name, "GET %s (attempt %d of %d)", t->resp.url, t->resp.attempts, p->max_attempts);
  return SP_OK;
}

/* Unlink `t`, report its outcome to its owner and free it. */
static void complete(sp_http_client *c, transfer *t, int code, const char *what) {
  list_remove(c, t);
  sp_error e;
  sp_error_clear(&e);
  if (code != SP_OK) {
    provider *p = &c->providers[t->provider];
    char excerpt[EXCERPT_MAX + 4];
    body_excerpt(&t->resp.body, excerpt);
    /* A long URL is shortened so the status and the excerpt still fit the message. */
    int url_len = (int)strlen(t->resp.url);
    bool long_url = url_len > MESSAGE_URL_MAX;
    sp_error_set(&e, code, "%s: GET %.*s%s: %s after %d attempt%s%s%s", p->name,
                 long_url ? MESSAGE_URL_MAX - 3 : url_len, t->resp.url, long_url ? "..." : "", what,
                 t->resp.attempts, t->resp.attempts == 1 ? "" : "s", excerpt[0] ? ": " : "", excerpt);
    sp_redact(e.msg);
  }
  t->done(t->arg, &t->resp, &e);
  transfer_free(t);
}

/* Say that `t` is retried in `delay_ms`: a warning, or DEBUG once the provider has had
 * RETRY_WARNINGS_PER_MINUTE of them this minute (the next warning counts those). */
static void log_retry(provider *p, const transfer *t, const char *what, int64_t delay_ms) {
  int64_t now = sp_monotonic_us();
  if (now - p->warn_minute_us >= 60 * SP_US_PER_SEC) {
    p->warn_minute_us = now;
    p->warned = 0;
  }
  if (p->warned >= RETRY_WARNINGS_PER_MINUTE) {
    p->unwarned++;
    SP_DEBUG(p->name, "GET %s: %s (attempt %d of %d), retrying in %lld ms", t->resp.url, what, t->resp.attempts,
             p->max_attempts, (long long)delay_ms);
    return;
  }
  p->warned++;
  char more[96] = "";
  if (p->unwarned)
    snprintf(more, sizeof more, " (and %ld more retries since the last warning, logged at DEBUG)", p->unwarned);
  p->unwarned = 0;
  SP_WARN(p->name, "GET %s: %s (attempt %d of %d), retrying in %lld ms%s", t->resp.url, what, t->resp.attempts,
          p->max_attempts, (long long)delay_ms, more);
}

/* Full jitter: a uniform delay in [0, min(max, base * 2^(attempt-1))]. */
static int64_t backoff_ms(sp_http_client *c, const provider *p, int attempt) {
  int64_t ceiling = p->backoff_base_ms;
  for (int i = 1; i < attempt && ceiling < p->backoff_max_ms; i++) ceiling *= 2;
  if (ceiling > p->backoff_max_ms) ceiling = p->backoff_max_ms;
  return (int64_t)(next_random(c) % (uint64_t)(ceiling + 1));
}

/* Settle an attempt that libcurl finished with `result`. */
static void finish_attempt(sp_http_client *c, transfer *t, CURLcode result) {
  provider *p = &c->providers[t->provider];
  long status = 0;
  char *content_type = NULL;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &content_type);
  free(t->resp.content_type);
  t->resp.content_type = content_type ? strdup(content_type) : NULL;
  t->resp.status = status; /* also set when the body then failed (truncated, too large) */
  end_attempt(c, t);

  char what[CURL_ERROR_SIZE + 64];
  int code = SP_OK;
  bool retry = false;
  if (result == CURLE_OK) {
    if (status >= 200 && status < 300) {
      if (t->classify) code = t->classify(&t->resp, t->arg);
      if (code == SP_OK) {
        complete(c, t, SP_OK, "");
        return;
      }
      retry = code == SP_ERR_RATE_LIMIT;
      snprintf(what, sizeof what, "HTTP %ld rejected (%s)", status, sp_status_name(code));
    } else {
      code = status == 429 ? SP_ERR_RATE_LIMIT : SP_ERR_HTTP;
      retry = status == 429 || status == 408 || status >= 500;
      snprintf(what, sizeof what, "HTTP %ld", status);
    }
  } else if (t->body_too_large) {
    code = SP_ERR_IO;
    snprintf(what, sizeof what, "body larger than %zu bytes", t->max_body_bytes);
  } else if (t->out_of_memory) {
    code = SP_ERR_NOMEM;
    snprintf(what, sizeof what, "out of memory");
  } else {
    const char *detail = t->curl_error[0] ? t->curl_error : curl_easy_strerror(result);
    snprintf(what, sizeof what, "%s", detail);
    switch (result) {
    case CURLE_OPERATION_TIMEDOUT:
      code = SP_ERR_TIMEOUT;
      retry = true;
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      code = SP_ERR_IO;
      retry = true;
      break;
    default: /* TLS verification, bad encoding, protocol errors: retrying will not help */
      code = SP_ERR_IO;
      break;
    }
  }
  if (!retry || t->resp.attempts >= p->max_attempts) {
    complete(c, t, code, what);
    return;
  }
  int64_t delay = t->retry_after_ms >= 0 ? t->retry_after_ms : backoff_ms(c, p, t->resp.attempts);
  if (delay > p->backoff_max_ms) delay = p->backoff_max_ms;
  t->not_before_us = sp_monotonic_us() + delay * 1000;
  /* "Slow down" concerns the whole provider, not only this request. */
  if (code == SP_ERR_RATE_LIMIT && t->not_before_us > p->paused_until_us)
    p->paused_until_us = t->not_before_us;
  log_retry(p, t, what, delay);
}

/* Top up a provider's token bucket to `now`. */
static void refill(provider *p, int64_t now) {
  if (p->rate_limit <= 0) return;
  p->tokens += (double)(now - p->refilled_us) / 1e6 * p->rate_limit;
  if (p->tokens > p->burst) p->tokens = p->burst;
  p->refilled_us = now;
}

/* Start every waiting transfer that its provider allows now; lower *wait_us to the
 * time until the next one could start. */
static void start_ready(sp_http_client *c, int64_t now, int64_t *wait_us) {
  for (int i = 0; i < c->nproviders; i++) refill(&c->providers[i], now);
  transfer *next;
  for (transfer *t = c->head; t; t = next) {
    next = t->next;
    if (t->easy) continue;
    provider *p = &c->providers[t->provider];
    int64_t not_before = t->not_before_us > p->paused_until_us ? t->not_before_us : p->paused_until_us;
    if (not_before > now) {
      if (not_before - now < *wait_us) *wait_us = not_before - now;
      continue;
    }
    if (p->in_flight >= p->max_in_flight) continue; /* a finishing transfer wakes the poll */
    if (p->rate_limit > 0 && p->tokens < 1.0) {
      int64_t until = (int64_t)((1.0 - p->tokens) / p->rate_limit * 1e6) + 1;
      if (until < *wait_us) *wait_us = until;
      continue;
    }
    int veto = t->before_attempt ? t->before_attempt(t->arg) : SP_OK;
    if (veto != SP_OK) {
      complete(c, t, veto, "not sent");
      continue;
    }
    if (p->rate_limit > 0) p->tokens -= 1.0;
    if (start_attempt(c, t) != SP_OK) complete(c, t, SP_ERR_NOMEM, "out of memory");
  }
}

/* Settle every finished attempt.  Returns how many there were. */
static int collect_finished(sp_http_client *c) {
  int n = 0;
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURLcode result = msg->data.result;
    transfer *t = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    finish_attempt(c, t, result);
    n++;
  }
  return n;
}

static void stop_all(sp_http_client *c) {
  while (c->head) {
    transfer *t = c->head;
    end_attempt(c, t);
    complete(c, t, SP_ERR_STOPPED, "stopped");
  }
}

int sp_http_run(sp_http_client *c, const volatile bool *stop, sp_error *err) {
  if (c->running) return sp_error_set(err, SP_ERR_INVALID, "http: sp_http_run called from a callback");
  c->running = true;
  int rc = SP_OK;
  while (c->head) {
    if (stop && *stop) {
      stop_all(c);
      rc = sp_error_set(err, SP_ERR_STOPPED, "http: stopped with requests unfinished");
      break;
    }
    int64_t wait_us = POLL_SLICE_US;
    start_ready(c, sp_monotonic_us(), &wait_us);
    int running = 0;
    CURLMcode mc = curl_multi_perform(c->multi, &running);
    if (mc != CURLM_OK) {
      stop_all(c);
      rc = sp_error_set(err, SP_ERR_IO, "http: curl_multi_perform: %s", curl_multi_strerror(mc));
      break;
    }
    if (collect_finished(c) > 0) continue; /* room for more: start them before waiting */
    if (!c->head) break;
    int wait_ms = (int)((wait_us + 999) / 1000);
    mc = curl_multi_poll(c->multi, NULL, 0, wait_ms > 0 ? wait_ms : 1, NULL);
    if (mc != CURLM_OK) {
      stop_all(c);
      rc = sp_error_set(err, SP_ERR_IO, "http: curl_multi_poll: %s", curl_multi_strerror(mc));
      break;
    }
  }
  c->running = false;
  return rc;
}

/* ---------------------------------------------------------------- blocking GET */

typedef struct get_result {
  sp_http_response *resp;
  sp_error *err;
  int code;
} get_result;

static void get_done(void *arg, const sp_http_response *r, const sp_error *e) {
  get_result *g = arg;
  sp_http_response *out = g->resp;
  out->status = r->status;
  out->attempts = r->attempts;
  memcpy(out->url, r->url, sizeof out->url);
  g->code = e->code;
  if (g->err) *g->err = *e;
  if ((r->content_type && !(out->content_type = strdup(r->content_type))) ||
      sp_buf_append(&out->body, r->body.data, r->body.len) != SP_OK)
    g->code = sp_error_set(g->err, SP_ERR_NOMEM, "http: out of memory copying a response");
}

int sp_http_get(sp_http_client *c, const char *provider_name, const char *path,
                const char *const *headers, sp_http_response *resp, sp_error *err) {
  memset(resp, 0, sizeof *resp);
  if (c->running) return sp_error_set(err, SP_ERR_INVALID, "http: sp_http_get called from a callback");
  get_result g = {resp, err, SP_ERR_STOPPED};
  sp_http_request r = {.provider = provider_name, .path = path, .headers = headers,
                       .done = get_done, .arg = &g};
  int rc = sp_http_submit(c, &r, err);
  if (rc != SP_OK) return rc;
  rc = sp_http_run(c, NULL, err);
  if (rc != SP_OK) return rc;
  return g.code;
}

void sp_http_response_free(sp_http_response *resp) {
  if (!resp) return;
  sp_buf_free(&resp->body);
  free(resp->content_type);
  resp->content_type = NULL;
}

int sp_http_url_encode(sp_buf *out, const char *text) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    int rc;
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      rc = sp_buf_append_byte(out, *p);
    } else {
      char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      rc = sp_buf_append(out, esc, 3);
    }
    if (rc != SP_OK) return rc;
  }
  if (!out->data) return sp_buf_append(out, "", 0);
  return SP_OK;
}
