/*
 * health_server.h — the daemon's HTTP endpoint (SPEC §6) on libmicrohttpd, bound to
 * a loopback address (MHD_OPTION_SOCK_ADDR) from `pipeline.http.listen`:
 *
 *   GET /health        200 with the caller's JSON when healthy, else 503 (core/health.h)
 *   GET /metrics       Prometheus text: every registered Flume counter
 *                      (sp_metrics_render_prometheus) plus the caller's extra lines
 *                      (latency histograms)
 *   GET /metrics.json  the same as JSON with numbers: sp_metrics_render_json's object
 *                      with the caller's extra members added
 *
 * Anything else is 404, a method other than GET/HEAD 405.  Requests are answered by
 * one internal polling thread, so the callbacks run on that thread, never
 * concurrently with each other.
 */
#ifndef STOCKPIPE_CORE_HEALTH_SERVER_H
#define STOCKPIPE_CORE_HEALTH_SERVER_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stdbool.h>

typedef struct sp_health_server_handlers {
  /* Append the /health document to `out`, set *healthy.  0 or an error (500). */
  int (*health)(void *ctx, sp_buf *out, bool *healthy);
  /* Append extra Prometheus text to /metrics (may be NULL). */
  int (*prometheus)(void *ctx, sp_buf *out);
  /* Append extra members to /metrics.json, each written as `,"name":value` (may be NULL). */
  int (*json)(void *ctx, sp_buf *out);
  void *ctx;
} sp_health_server_handlers;

typedef struct sp_health_server sp_health_server;

/* Listen on `listen` ("host:port": an IPv4 address, "localhost", or "[::1]"-style
 * IPv6; port 0 picks a free port) and serve until stopped.  `handlers` is copied.
 * Returns 0 and *out; SP_ERR_INVALID for a malformed address, SP_ERR_IO when the
 * address cannot be bound (the message names it). */
int sp_health_server_start(const char *listen, const sp_health_server_handlers *handlers,
                           sp_health_server **out, sp_error *err);

/* The port actually bound (useful with port 0). */
int sp_health_server_port(const sp_health_server *s);

/* Stop serving (waits for a request in progress) and free.  NULL is ignored. */
void sp_health_server_stop(sp_health_server *s);

#endif
