/*
 * http.h — the HTTP client every source uses: libcurl's multi interface with many
 * requests in flight, per-provider rate limits and concurrency caps, retries with
 * capped exponential backoff and full jitter, Retry-After, time-outs, TLS
 * verification always on, compressed transfer, a User-Agent and a cookie jar.
 *
 * Providers are registered once with their settings (base URL, limits).  A request
 * names its provider and gives only the path and query of the real API; the client
 * prefixes the provider's base URL (the real one, or the override from config or
 * STOCKPIPE_<PROVIDER>_BASE_URL — SPEC §3: it replaces scheme, host and port only).
 *
 * Retries (docs/HTTP.md has the details): 429, 408, 5xx, time-outs, connection
 * failures, truncated bodies and a classify() verdict of SP_ERR_RATE_LIMIT are tried
 * again, up to max_attempts in all, after Retry-After (seconds or HTTP-date) when the
 * response has one, else after a uniformly random delay in
 * [0, min(backoff_max_ms, backoff_base_ms * 2^(attempt-1))] ("full jitter"); either is
 * capped at backoff_max_ms.  A rate-limit answer (429, or classify()) also holds back
 * every other request to that provider for the same delay.  Other statuses (4xx)
 * fail at once with the body kept.
 * Each attempt takes a token from the provider's bucket (rate_limit per second, burst
 * tokens) and counts against max_in_flight while it runs.  Requests start in
 * submission order as their provider allows.
 *
 * Every request sends "User-Agent: stockpipe/<version>" unless its headers carry one,
 * and "Accept-Encoding" for every encoding libcurl decodes.  Cookies set by responses
 * are kept (in memory, per client) and sent back, like a browser.
 *
 * Threading: one client is used by one thread at a time (clients may be created in
 * several threads).  Callbacks run inside sp_http_run on that thread; they may call
 * sp_http_submit, but not sp_http_run, sp_http_get or sp_http_client_free.
 * Secrets: URLs are logged only through sp_redact (see core/log.h); register keys
 * with sp_log_add_secret before building URLs that contain them.
 */
#ifndef STOCKPIPE_CORE_HTTP_H
#define STOCKPIPE_CORE_HTTP_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sp_http_client sp_http_client;

typedef struct sp_http_provider_settings {
  const char *name;        /* "yahoo", "alphavantage", ... (copied) */
  const char *base_url;    /* "https://query1.finance.yahoo.com" (copied); the env override wins:
                              STOCKPIPE_<NAME>_BASE_URL, NAME upper-cased, other characters '_' */
  double rate_limit;       /* requests per second, token bucket; 0 = unlimited */
  int burst;               /* bucket size; 0 = max(1, rate_limit) */
  int max_in_flight;       /* concurrent requests to this provider; 0 = 4 */
  int timeout_ms;          /* whole-transfer time-out; 0 = 30000 */
  int connect_timeout_ms;  /* 0 = 10000 */
  int max_attempts;        /* including the first; 0 = 4 */
  int backoff_base_ms;     /* first retry delay before jitter; 0 = 500 */
  int backoff_max_ms;      /* cap; 0 = 30000 */
  size_t max_body_bytes;   /* larger bodies fail with SP_ERR_IO; 0 = SP_HTTP_MAX_BODY */
} sp_http_provider_settings;

/* Default cap on a response body (decompressed). */
#define SP_HTTP_MAX_BODY ((size_t)64 << 20)

typedef struct sp_http_response {
  long status;             /* last HTTP status, 0 when no response was received (a truncated
                              or over-long body keeps its status: err->code says it failed) */
  sp_buf body;             /* response body (decompressed), NUL-terminated, never NULL data */
  char *content_type;      /* or NULL */
  int attempts;            /* how many tries were made */
  char url[1024];          /* the URL requested, already redacted, for messages */
} sp_http_response;

/* Called once per request, after its last attempt.  `err->code` is SP_OK for a 2xx
 * response; otherwise SP_ERR_HTTP (non-retryable status, or 5xx after every attempt),
 * SP_ERR_RATE_LIMIT (429 or classify() said so, after every attempt), SP_ERR_TIMEOUT,
 * SP_ERR_IO (connection failures), with a message naming provider, URL (redacted),
 * status and a short body excerpt.  `resp` is valid only during the call. */
typedef void (*sp_http_done_fn)(void *arg, const sp_http_response *resp, const sp_error *err);

typedef struct sp_http_request {
  const char *provider;          /* a registered provider name */
  const char *path;              /* path + query, e.g. "/v8/finance/chart/AAPL?interval=1h" */
  const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL */
  /* Optional: inspect a 2xx response; return SP_ERR_RATE_LIMIT to retry it later
   * (rate-limit notes inside 200 bodies), another SP_ERR_* to fail it, SP_OK to accept. */
  int (*classify)(const sp_http_response *resp, void *arg);
  /* Optional: called just before each attempt is started (after the provider's rate
   * limits allow it); a non-zero SP_ERR_* drops the request unsent: done() gets that
   * code.  Daily quotas (sources/source.c) count requests here, when they are sent. */
  int (*before_attempt)(void *arg);
  sp_http_done_fn done;
  void *arg;                     /* passed to classify, before_attempt and done */
} sp_http_request;

/* Create a client.  Returns 0 or SP_ERR_NOMEM / SP_ERR_IO (libcurl init). Free with
 * sp_http_client_free, which drops queued requests without calling their callbacks. */
int sp_http_client_new(sp_http_client **out, sp_error *err);
void sp_http_client_free(sp_http_client *client);

/* Register or replace a provider's settings (zero fields take the defaults shown).
 * The base URL must be http(s)://host[:port] with no path (one trailing '/' is
 * dropped); an invalid one, or none at all, is SP_ERR_CONFIG naming the provider and
 * where the URL came from. */
int sp_http_set_provider(sp_http_client *client, const sp_http_provider_settings *settings,
                         sp_error *err);

/* The base URL a provider will use (after overrides), or NULL if unregistered. */
const char *sp_http_provider_base_url(const sp_http_client *client, const char *provider);

/* Queue a request (strings are copied).  Nothing is sent until sp_http_run.  Errors:
 * SP_ERR_INVALID (no done(), path not starting with '/'), SP_ERR_NOT_FOUND (unknown
 * provider), SP_ERR_NOMEM.  done() is called exactly once for every accepted request. */
int sp_http_submit(sp_http_client *client, const sp_http_request *request, sp_error *err);

/* Perform every queued request (and those queued by callbacks while running) until none
 * is left or `stop` (may be NULL) becomes true.  Returns 0, or SP_ERR_STOPPED when
 * stopped (the callbacks of unfinished requests then get SP_ERR_STOPPED). */
int sp_http_run(sp_http_client *client, const volatile bool *stop, sp_error *err);

/* Blocking convenience: one request, performed to completion (requests queued before
 * it are run too).  On return `resp` holds the final response (free with
 * sp_http_response_free, also after an error) and the result code is as for
 * sp_http_done_fn, with the same message in `err`.  SP_ERR_INVALID from a callback. */
int sp_http_get(sp_http_client *client, const char *provider, const char *path,
                const char *const *headers, sp_http_response *resp, sp_error *err);
void sp_http_response_free(sp_http_response *resp);

/* Percent-encode `text` for a query value into `out`.  Returns 0 or SP_ERR_NOMEM. */
int sp_http_url_encode(sp_buf *out, const char *text);

#endif
