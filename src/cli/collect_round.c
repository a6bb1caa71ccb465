/*
 * collect_round.c — one collection round through the pipeline (see collect_round.h).
 */
#include "cli/collect_round.h"

#include "cli/cli.h"
#include "core/agent.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_DEADLINE_US (120 * SP_US_PER_SEC) /* a sink that keeps failing is given up after this */

static volatile bool stop_requested;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = true;
}

void sp_cli_handle_signal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

const volatile bool *sp_cli_install_stop_handlers(void) {
  sp_cli_handle_signal(SIGINT, on_stop_signal);
  sp_cli_handle_signal(SIGTERM, on_stop_signal);
  return &stop_requested;
}

static const char *status_word(sp_source_status s) {
  switch (s) {
  case SP_SOURCE_OK: return "ok";
  case SP_SOURCE_DISABLED: return "disabled (no key)";
  case SP_SOURCE_FAILED: return "FAILED";
  case SP_SOURCE_UNKNOWN: return "not applicable";
  }
  return "?";
}

int sp_cli_collect_round(sp_cli_context *ctx, unsigned datasets, const sp_strlist *tickers) {
  const sp_config *cfg = ctx->config;
  const volatile bool *stop = sp_cli_install_stop_handlers();
  sp_pipeline *p;
  sp_error err;
  int rc = sp_pipeline_open(cfg, &ctx->credentials, stop, &p, &err);
  if (rc) {
    sp_cli_error("%s", err.msg);
    return rc == SP_ERR_CONFIG ? SP_EXIT_USAGE : SP_EXIT_FAILURE;
  }
  int exit_code = SP_EXIT_OK;
  int ran = 0;
  int64_t now = sp_round_now_us();
  for (size_t i = 0; i < cfg->nsources && !*stop; i++) {
    const sp_config_source *src = &cfg->sources[i];
    if (!(datasets & (1u << src->dataset)) || !src->enabled) continue;
    ran++;
    sp_source_report report;
    memset(&report, 0, sizeof report);
    rc = sp_pipeline_collect_source(p, src, now, tickers, &report, &err);
    for (int k = 0; k < report.nproviders; k++) {
      const sp_source_provider_report *pr = &report.providers[k];
      char reshaped[64] = "", deferred[96] = "";
      if (pr->shape_changes)
        snprintf(reshaped, sizeof reshaped, ", %d response(s) of a changed shape", pr->shape_changes);
      if (pr->deferred || pr->deferred_tickers)
        snprintf(deferred, sizeof deferred, ", deferred by the daily quota: %d ticker(s), %d request(s)",
                 pr->deferred_tickers, pr->deferred);
      fprintf(stderr, "%s/%s: %s, %d request(s), %d failed, %ld row(s)%s%s%s%s\n", src->name, pr->provider,
              status_word(pr->status), pr->requests, pr->failures, pr->rows, reshaped, deferred,
              pr->status == SP_SOURCE_FAILED ? ": " : "", pr->status == SP_SOURCE_FAILED ? pr->first_error.msg : "");
    }
    if (rc) {
      sp_cli_error("source %s: %s", src->name, err.msg);
      exit_code = SP_EXIT_FAILURE;
    }
  }
  rc = sp_pipeline_drain(p, sp_monotonic_us() + DRAIN_DEADLINE_US, &err);
  if (rc) {
    sp_cli_error("%s", err.msg);
    exit_code = SP_EXIT_FAILURE;
  }
  size_t writer_channels = sp_pipeline_writer_channel_count(p);
  sp_pipeline_close(p);
  if (ran == 0 && writer_channels == 0) {
    sp_cli_error("no enabled source collects the requested dataset(s) in %s",
                 ctx->config_path ? ctx->config_path : "the built-in configuration");
    return SP_EXIT_USAGE;
  }
  if (*stop) {
    sp_cli_error("interrupted; rows already fetched were stored");
    return SP_EXIT_FAILURE;
  }
  return exit_code;
}
