/*
 * cmd_summary.c — `stockpipe summary [--json]` (SPEC §4): per dataset files, rows,
 * bytes, first and last date, last collection time and NYSE trading days missing,
 * quarantined rows per rule and flagged rows per flag; total bytes.
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"

static const sp_cli_option summary_options[] = {{"json", false, NULL, "one JSON object instead of a table"},
                                                {NULL, false, NULL, NULL}};

static int summary_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, summary_options, 0, &ctx);
  if (rc == SP_EXIT_OK && ctx.nargs != 0) {
    sp_cli_error("summary: takes no operands (see `stockpipe summary --help`)");
    rc = SP_EXIT_USAGE;
  }
  sp_client *client = NULL;
  if (rc == SP_EXIT_OK) rc = sp_cmd_open_client(&ctx, &client);
  if (rc == SP_EXIT_OK) {
    sp_summary s;
    sp_error err = {0};
    int e = sp_client_summary(client, &s, &err);
    if (!e) e = sp_summary_print(&s, stdout, sp_cli_has(&ctx, "json"), &err);
    if (e) {
      sp_cli_error("summary: %s", err.msg);
      rc = SP_EXIT_FAILURE;
    }
  }
  sp_client_close(client);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_summary = {
    "summary", "files, rows, bytes, dates and gaps of every dataset",
    "Usage: stockpipe summary [--json]\n\n"
    "Per dataset: data files, rows, bytes, first and last date of the rows (UTC), the last\n"
    "collection time (max collected_at) and the NYSE trading days between the first and last\n"
    "date without any row; then the total.  Under a dataset: rows quarantined by validation\n"
    "per rule and stored rows per quality flag.  --json prints one JSON object.\n",
    summary_run};
