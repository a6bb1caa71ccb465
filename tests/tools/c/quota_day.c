/*
 * quota_day.c — one simulated UTC day of the daemon's scheduled rounds, for
 * tests/integration/test_quota_share.sh.  Opens the pipeline of CONFIG (the real
 * agent, HTTP client and state store), spreads quotas as `stockpipe run` does, and
 * runs every enabled source once an hour, at hh:MM with MM = 5 + 15 x its index (the
 * daemon's jitter keeps sources apart the same way), recording each round as the
 * daemon does.  So the sources of one provider share its daily_limit through the
 * agent exactly as in the daemon (core/quota.h, "Spreading"), with a fake clock.
 *
 *   quota_day CONFIG DATA_DIR YYYY-MM-DD
 *
 * Prints "source <name> <requests> <rounds that sent any>" per source (requests the
 * rounds report, all providers together) and "quota <provider> <used> <limit>" per
 * quota-limited provider the sources use.  Exit 0; 1 for a config, pipeline or round
 * error (printed); 2 usage.
 */
#include "core/agent.h"
#include "core/config.h"
#include "core/credentials.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_US (INT64_C(3600) * SP_US_PER_SEC)
#define MINUTE_US (INT64_C(60) * SP_US_PER_SEC)
#define MAX_SOURCES 16

int main(int argc, char **argv) {
  int32_t day;
  if (argc != 4 || sp_parse_date(argv[3], &day) != 0) {
    fprintf(stderr, "usage: quota_day CONFIG DATA_DIR YYYY-MM-DD\n");
    return 2;
  }
  sp_log_set_level(SP_LOG_ERROR);
  sp_config *cfg = NULL;
  sp_config_diag diag;
  sp_credentials creds;
  memset(&creds, 0, sizeof creds);
  sp_pipeline *p = NULL;
  sp_error err = {0};
  static const volatile bool no_stop = false;
  int rc = sp_config_load(argv[1], &cfg, &diag);
  if (rc) fprintf(stderr, "%s: cannot load\n", argv[1]);
  if (!rc) rc = sp_config_set_data_dir(cfg, argv[2], &err);
  if (!rc) rc = sp_credentials_load(NULL, &creds, &err); /* the keys from the environment */
  if (!rc) rc = sp_pipeline_open(cfg, &creds, &no_stop, &p, &err);
  if (rc) {
    fprintf(stderr, "quota_day: %s\n", err.msg);
    sp_credentials_free(&creds);
    sp_config_free(cfg);
    return 1;
  }
  sp_pipeline_spread_quotas(p, true);
  long requests[MAX_SOURCES] = {0}, rounds_sending[MAX_SOURCES] = {0};
  for (int hour = 0; hour < 24 && !rc; hour++) {
    for (size_t i = 0; i < cfg->nsources && i < MAX_SOURCES && !rc; i++) {
      const sp_config_source *src = &cfg->sources[i];
      if (!src->enabled) continue;
      int64_t now = (int64_t)day * SP_US_PER_DAY + hour * HOUR_US + (int64_t)(5 + 15 * i) * MINUTE_US;
      sp_source_report report;
      memset(&report, 0, sizeof report);
      rc = sp_pipeline_collect_source(p, src, now, NULL, &report, &err);
      if (!rc) rc = sp_pipeline_record_run(p, src, now, &err);
      long sent = 0;
      for (int k = 0; k < report.nproviders; k++) sent += report.providers[k].requests;
      requests[i] += sent;
      rounds_sending[i] += sent > 0;
      if (rc) fprintf(stderr, "quota_day: source %s at hour %d: %s\n", src->name, hour, err.msg);
    }
  }
  for (size_t i = 0; i < cfg->nsources && i < MAX_SOURCES; i++)
    if (cfg->sources[i].enabled) printf("source %s %ld %ld\n", cfg->sources[i].name, requests[i], rounds_sending[i]);
  for (size_t i = 0; i < SP_PROVIDER_COUNT; i++) {
    int64_t limit, used;
    sp_error qerr;
    if (sp_pipeline_quota_of(p, cfg->providers[i].name, (int64_t)day * SP_US_PER_DAY, &limit, &used, &qerr)) {
      fprintf(stderr, "quota_day: %s\n", qerr.msg);
      rc = SP_ERR_IO;
    } else if (limit > 0) {
      printf("quota %s %lld %lld\n", cfg->providers[i].name, (long long)used, (long long)limit);
    }
  }
  if (sp_pipeline_drain(p, sp_monotonic_us() + 60 * SP_US_PER_SEC, &err) && !rc) {
    fprintf(stderr, "quota_day: %s\n", err.msg);
    rc = SP_ERR_IO;
  }
  sp_pipeline_close(p);
  sp_credentials_free(&creds);
  sp_config_free(cfg);
  return rc ? 1 : 0;
}
