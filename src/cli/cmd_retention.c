/*
 * cmd_retention.c — `stockpipe retention [--dry-run]` (SPEC §4): delete the partitions
 * older than each dataset's pipeline.retention_days (0 keeps forever), printing each
 * one deleted (or, with --dry-run, that would be).
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"
#include "core/timeutil.h"

#include <inttypes.h>

static const sp_cli_option retention_options[] = {{"dry-run", false, NULL, "list what would be deleted, delete nothing"},
                                                  {NULL, false, NULL, NULL}};

typedef struct retention_totals {
  bool dry_run;
  uint64_t partitions, files, bytes;
} retention_totals;

static void print_partition(void *ctx, const char *dataset, const char *dir, uint64_t files, uint64_t bytes) {
  retention_totals *t = ctx;
  printf("%s %s %s (%" PRIu64 " files, %" PRIu64 " bytes)\n", t->dry_run ? "would delete" : "deleted", dataset, dir,
         files, bytes);
  t->partitions++;
  t->files += files;
  t->bytes += bytes;
}

static int retention_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, retention_options, 0, &ctx);
  if (rc == SP_EXIT_OK && ctx.nargs != 0) {
    sp_cli_error("retention: takes no operands (see `stockpipe retention --help`)");
    rc = SP_EXIT_USAGE;
  }
  sp_client *client = NULL;
  if (rc == SP_EXIT_OK) rc = sp_cmd_open_client(&ctx, &client);
  if (rc == SP_EXIT_OK) {
    retention_totals t = {sp_cli_has(&ctx, "dry-run"), 0, 0, 0};
    sp_error err = {0};
    int32_t today = sp_timestamp_to_days(sp_round_now_us());
    int e = sp_client_retention(client, ctx.config->pipeline.retention_days, today, t.dry_run, print_partition, &t,
                                &err);
    printf("%s %" PRIu64 " partitions, %" PRIu64 " files, %" PRIu64 " bytes\n",
           t.dry_run ? "would delete" : "deleted", t.partitions, t.files, t.bytes);
    if (e) {
      sp_cli_error("retention: %s", err.msg);
      rc = SP_EXIT_FAILURE;
    }
  }
  sp_client_close(client);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_retention = {
    "retention", "delete partitions older than the retention setting",
    "Usage: stockpipe retention [--dry-run]\n\n"
    "Deletes every partition folder whose date is older than today (UTC) minus the dataset's\n"
    "pipeline.retention_days (defaults: financial_data and stock_movements 90, news 60,\n"
    "macroeconomic 365, policy 730; 0 keeps forever), printing each.  --dry-run only lists them.\n",
    retention_run};
