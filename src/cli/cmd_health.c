/*
 * cmd_health.c — `stockpipe health`: ask a running daemon (`stockpipe run`) for its
 * health (SPEC §4, §6).  GETs http://<pipeline.http.listen>/health with libcurl,
 * prints the JSON document to stdout, and exits 0 when the daemon answered 200
 * (healthy), 1 when it answered 503 (unhealthy: the reasons are in the document) or
 * could not be reached, 2 for usage or config errors.
 */
#include "cli/cli.h"
#include "cli/options.h"
#include "core/buf.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static const sp_cli_option health_options[] = {
    {"listen", true, "HOST:PORT", "the daemon's endpoint address, overriding pipeline.http.listen"},
    {"timeout", true, "SECONDS", "give up after this long (default 5)"},
    {NULL, false, NULL, NULL}};

static const char usage[] =
    "Usage: stockpipe health [OPTIONS]\n\n"
    "Ask the running daemon for its health: GET http://<pipeline.http.listen>/health. Prints the\n"
    "JSON answer (status, reasons, sources, sinks) and exits 0 when healthy, 1 when unhealthy or\n"
    "unreachable, 2 for usage or config errors.\n\nOptions:\n"
    "  --listen HOST:PORT     the daemon's endpoint address, overriding pipeline.http.listen\n"
    "  --timeout SECONDS      give up after this long (default 5)\n"
    "  --config FILE          configuration file (else $STOCKPIPE_CONFIG, ./config/stockpipe.yaml, built-in)\n"
    "  --data-dir DIR         data directory (overrides $STOCKPIPE_DATA_DIR and pipeline.data_dir)\n"
    "  --log-level LEVEL      DEBUG, INFO, WARN, ERROR or OFF\n"
    "  --credentials FILE     API keys file (overrides $STOCKPIPE_CREDENTIALS and pipeline.credentials)\n";

static size_t collect_body(char *data, size_t size, size_t nmemb, void *arg) {
  return sp_buf_append(arg, data, size * nmemb) == 0 ? size * nmemb : 0;
}

static int health_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, health_options, 0, &ctx);
  const char *listen = rc == SP_EXIT_OK ? sp_cli_get(&ctx, "listen") : NULL;
  if (rc == SP_EXIT_OK && !listen) listen = ctx.config->pipeline.http_listen;
  long timeout_ms = 5000;
  const char *timeout_text = rc == SP_EXIT_OK ? sp_cli_get(&ctx, "timeout") : NULL;
  if (timeout_text) {
    char *end;
    double t = strtod(timeout_text, &end);
    if (*end || end == timeout_text || !(t > 0 && t <= 3600)) {
      sp_cli_error("health: --timeout needs a number of seconds, not '%s'", timeout_text);
      rc = SP_EXIT_USAGE;
    }
    timeout_ms = (long)(t * 1000);
  }
  if (rc == SP_EXIT_OK && !*listen) {
    sp_cli_error("health: the endpoint is off (pipeline.http.listen is \"\"); give --listen HOST:PORT");
    rc = SP_EXIT_USAGE;
  }
  if (rc != SP_EXIT_OK) {
    sp_cli_context_free(&ctx);
    return rc;
  }
  char url[512];
  snprintf(url, sizeof url, "http://%s/health", listen);
  sp_buf body = SP_BUF_INIT;
  CURL *curl = curl_easy_init();
  CURLcode cc = CURLE_FAILED_INIT;
  long status = 0;
  if (curl) {
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*"); /* a local daemon, never through a proxy */
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
  }
  if (cc != CURLE_OK) {
    sp_cli_error("health: %s: %s (is `stockpipe run` running?)", url, curl_easy_strerror(cc));
    rc = SP_EXIT_FAILURE;
  } else {
    if (body.len) fwrite(body.data, 1, body.len, stdout);
    if (body.len && body.data[body.len - 1] != '\n') fputc('\n', stdout);
    if (status != 200) {
      if (status != 503) sp_cli_error("health: %s answered HTTP %ld", url, status);
      rc = SP_EXIT_FAILURE;
    }
  }
  sp_buf_free(&body);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_health = {"health", "ask a running daemon for its health (exit 0 healthy, 1 not)",
                                      usage, health_run};
