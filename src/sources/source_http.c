/*
 * source_http.c — the glue between sources and the HTTP client (core/http.h): the
 * transport sp_source_collect uses in production.  Kept apart from source.c so
 * that parser and round tests link without the client.
 */
#include "sources/source.h"

static int http_submit(void *impl, const sp_http_request *request, sp_error *err) {
  return sp_http_submit(impl, request, err);
}

static int http_run(void *impl, const volatile bool *stop, sp_error *err) {
  return sp_http_run(impl, stop, err);
}

sp_source_transport sp_source_transport_http(sp_http_client *client) {
  return (sp_source_transport){.submit = http_submit, .run = http_run, .impl = client};
}
