/*
 * health_server.c — /health, /metrics, /metrics.json over libmicrohttpd (see
 * health_server.h).
 */
#include "core/health_server.h"

#include "core/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sp_health_server {
  struct MHD_Daemon *mhd;
  sp_health_server_handlers handlers;
  int port;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, const void *body,
                               size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text) {
  return respond(conn, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* /metrics.json: the counters object, reopened to add the caller's members. */
static int render_json(sp_health_server *s, sp_buf *out) {
  int rc = sp_metrics_render_json(out);
  if (rc || !s->handlers.json) return rc;
  out->len--; /* drop the closing brace */
  rc = s->handlers.json(s->handlers.ctx, out);
  if (!rc) rc = sp_buf_append_str(out, "}");
  return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
  (void)version;
  (void)upload_data;
  (void)upload_data_size;
  (void)req_cls;
  sp_health_server *s = cls;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
  sp_buf body = SP_BUF_INIT;
  unsigned status = MHD_HTTP_OK;
  const char *type = "application/json";
  int rc;
  if (strcmp(url, "/health") == 0) {
    bool healthy = false;
    rc = s->handlers.health(s->handlers.ctx, &body, &healthy);
    if (!healthy) status = MHD_HTTP_SERVICE_UNAVAILABLE;
  } else if (strcmp(url, "/metrics") == 0) {
    type = "text/plain; version=0.0.4; charset=utf-8";
    rc = sp_metrics_render_prometheus(&body);
    if (!rc && s->handlers.prometheus) rc = s->handlers.prometheus(s->handlers.ctx, &body);
  } else if (strcmp(url, "/metrics.json") == 0) {
    rc = render_json(s, &body);
  } else {
    sp_buf_free(&body);
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: /health, /metrics, /metrics.json\n");
  }
  enum MHD_Result ret;
  if (rc) ret = respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
  else ret = respond(conn, status, type, body.data ? (const void *)body.data : "", body.len);
  sp_buf_free(&body);
  return ret;
}

/* Parse "host:port" into a socket address (IPv4, "localhost", or "[v6]"). */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, sp_error *err) {
  const char *colon = strrchr(listen, ':');
  if (!colon || colon == listen) return sp_error_set(err, SP_ERR_INVALID, "listen '%s': expected host:port", listen);
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || port < 0 || port > 65535)
    return sp_error_set(err, SP_ERR_INVALID, "listen '%s': bad port", listen);
  char host[128];
  size_t hlen = (size_t)(colon - listen);
  if (hlen >= sizeof host) return sp_error_set(err, SP_ERR_INVALID, "listen '%s': host too long", listen);
  memcpy(host, listen, hlen);
  host[hlen] = '\0';
  memset(addr, 0, sizeof *addr);
  if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    host[hlen - 1] = '\0';
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) return SP_OK;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) return SP_OK;
  }
  return sp_error_set(err, SP_ERR_INVALID, "listen '%s': host must be a numeric address or localhost", listen);
}

int sp_health_server_start(const char *listen, const sp_health_server_handlers *handlers,
                           sp_health_server **out, sp_error *err) {
  *out = NULL;
  struct sockaddr_storage addr;
  int rc = parse_listen(listen, &addr, err);
  if (rc) return rc;
  sp_health_server *s = calloc(1, sizeof *s);
  if (!s) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  s->handlers = *handlers;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_END);
  if (!s->mhd) {
    free(s);
    return sp_error_set(err, SP_ERR_IO, "health endpoint: cannot listen on %s (address in use or not local?)",
                        listen);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  *out = s;
  return SP_OK;
}

int sp_health_server_port(const sp_health_server *s) { return s->port; }

void sp_health_server_stop(sp_health_server *s) {
  if (!s) return;
  MHD_stop_daemon(s->mhd);
  free(s);
}
