/*
 * source_http.c — the glue between sources and the HTTP client (core/http.h): the
 * transport sp_source_collect uses in production, and registration of every
 * provider's default settings.  Kept apart from source.c so that parser and round
 * tests link without the client.
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

int sp_source_register_http(sp_http_client *client, sp_error *err) {
  size_t count;
  const sp_source_provider *const *all = sp_source_providers(&count);
  for (size_t i = 0; i < count; i++) {
    int rc = sp_http_set_provider(client, &all[i]->http, err);
    if (rc != SP_OK) return rc;
  }
  return SP_OK;
}
