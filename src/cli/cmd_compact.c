/*
 * cmd_compact.c — `stockpipe compact [DATASET] [--before DATE]`: merge each day's files
 * into one, atomically for concurrent readers (src/query/compact.c, docs/QUERY.md).
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"
#include "core/timeutil.h"

#include <inttypes.h>

static const sp_cli_option compact_options[] = {
    {"before", true, "DATE", "only partitions dated before DATE (default: today, UTC)"}, {NULL, false, NULL, NULL}};

static int compact_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, compact_options, 0, &ctx);
  if (rc == SP_EXIT_OK && ctx.nargs > 1) {
    sp_cli_error("compact: expected at most one DATASET (see `stockpipe compact --help`)");
    rc = SP_EXIT_USAGE;
  }
  int32_t before = sp_timestamp_to_days(sp_round_now_us());
  const char *b = rc == SP_EXIT_OK ? sp_cli_get(&ctx, "before") : NULL;
  if (b && sp_parse_date(b, &before)) {
    sp_cli_error("compact: --before \"%s\": expected a date YYYY-MM-DD", b);
    rc = SP_EXIT_USAGE;
  }
  sp_client *client = NULL;
  if (rc == SP_EXIT_OK) rc = sp_cmd_open_client(&ctx, &client);
  if (rc == SP_EXIT_OK) {
    sp_compact_stats st;
    sp_error err = {0};
    int e = sp_client_compact(client, ctx.nargs ? ctx.args[0] : NULL, before, &st, &err);
    printf("compacted %" PRIu64 " partitions: %" PRIu64 " files into %" PRIu64 " rows (%" PRIu64
           " duplicate keys removed)\n",
           st.partitions, st.files_in, st.rows_out, st.duplicates);
    if (e) {
      sp_cli_error("compact: %s", err.msg);
      rc = sp_cmd_query_exit_code(e);
    }
  }
  sp_client_close(client);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_compact = {
    "compact", "merge each day's files into one (atomic for readers)",
    "Usage: stockpipe compact [DATASET] [--before DATE]\n\n"
    "In every partition of DATASET (default: all datasets) dated before DATE (default: today,\n"
    "UTC), merges the files a sink wrote into one file per prefix and format, in key order,\n"
    "dropping rows whose key repeats (the earliest stored wins).  Readers running at the same\n"
    "time see either the old files or the merged one, never both, never part (docs/QUERY.md).\n",
    compact_run};
