/*
 * cmd_collect.c — `stockpipe collect DATASET...`: one round of the named datasets'
 * sources, drained to their sinks (SPEC §4).  Exit 0 when every enabled source
 * succeeded, 1 when any failed (the others' rows are still stored), 2 for usage.
 */
#include "cli/cli.h"
#include "cli/collect_round.h"
#include "cli/options.h"


static const sp_cli_option collect_options[] = {
    {"tickers", true, "LIST", "comma-separated symbols replacing the sources' ticker lists"},
    {NULL, false, NULL, NULL}};

static const char usage[] =
    "Usage: stockpipe collect DATASET... [OPTIONS]\n\n"
    "Run one round of the sources that collect each DATASET (financial_data, stock_movements, news,\n"
    "macroeconomic, policy), deliver every row to the sinks, and exit: 0 when every enabled source\n"
    "succeeded, 1 when any failed (the rows of the others are stored), 2 for usage or config errors.\n"
    "A provider disabled for lack of an API key is a warning, not a failure.\n\nOptions:\n"
    "  --tickers LIST         comma-separated symbols replacing the sources' ticker lists\n"
    "  --config FILE          configuration file (else $STOCKPIPE_CONFIG, ./config/stockpipe.yaml, built-in)\n"
    "  --data-dir DIR         data directory (overrides $STOCKPIPE_DATA_DIR and pipeline.data_dir)\n"
    "  --log-level LEVEL      DEBUG, INFO, WARN, ERROR or OFF\n"
    "  --credentials FILE     API keys file (overrides $STOCKPIPE_CREDENTIALS and pipeline.credentials)\n";

static int collect_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, collect_options, SP_CLI_CREDENTIALS | SP_CLI_LOG_FILE, &ctx);
  if (rc != SP_EXIT_OK) {
    sp_cli_context_free(&ctx);
    return rc;
  }
  unsigned datasets = 0;
  if (ctx.nargs == 0) {
    sp_cli_error("collect: name at least one dataset (financial_data, stock_movements, news, macroeconomic, policy)");
    rc = SP_EXIT_USAGE;
  }
  for (int i = 0; rc == SP_EXIT_OK && i < ctx.nargs; i++) {
    const sp_dataset_def *ds = sp_dataset_by_name(ctx.args[i]);
    if (!ds) {
      sp_cli_error("collect: unknown dataset '%s' (financial_data, stock_movements, news, macroeconomic, policy)",
                   ctx.args[i]);
      rc = SP_EXIT_USAGE;
    } else {
      datasets |= 1u << ds->id;
    }
  }
  sp_strlist tickers = {NULL, 0};
  const char *tickers_text = sp_cli_get(&ctx, "tickers");
  if (rc == SP_EXIT_OK && tickers_text) {
    if (sp_cli_split_list(tickers_text, &tickers) != 0) {
      sp_cli_error("collect: out of memory");
      rc = SP_EXIT_FAILURE;
    } else if (tickers.count == 0) {
      sp_cli_error("collect: --tickers needs at least one symbol");
      rc = SP_EXIT_USAGE;
    }
  }
  if (rc == SP_EXIT_OK) rc = sp_cli_collect_round(&ctx, datasets, tickers_text ? &tickers : NULL);
  sp_cli_free_list(&tickers);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_collect = {"collect", "one round of the named datasets' sources, then exit", usage,
                                       collect_run};
