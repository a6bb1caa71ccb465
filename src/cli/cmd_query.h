/*
 * cmd_query.h — what the data commands (query, export, summary, retention, compact)
 * share, defined in cmd_query.c: the filter options, building the query from them,
 * opening the client on the configured data directory, exit codes of query errors.
 */
#ifndef STOCKPIPE_CLI_CMD_QUERY_H
#define STOCKPIPE_CLI_CMD_QUERY_H

#include "cli/options.h"
#include "query/query.h"

/* Exit code of a client error: the user's input (2: unknown dataset or column,
 * malformed filter) or reading / writing data (1). */
int sp_cmd_query_exit_code(int rc);

/* Open the client on ctx's data directory, with the configured sinks' roots.  Prints
 * the error and returns SP_EXIT_FAILURE, or SP_EXIT_OK with *c set. */
int sp_cmd_open_client(const sp_cli_context *ctx, sp_client **c);

/* Build the query of dataset ctx->args[dataset_arg] from the filter options
 * (--tickers --from --to --columns --where... --limit --skip-bad-files).  *where is
 * an array the caller frees after sp_query_args_free.  Prints the error and returns
 * an exit code, or SP_EXIT_OK. */
int sp_cmd_build_query(const sp_cli_context *ctx, int dataset_arg, sp_query_args *qa, const char ***where);

/* `stockpipe query quarantine --dataset D [--from] [--to] [--format json|csv|table]`
 * (cmd_query_quarantine.c), on ctx already loaded with query's options.  Returns the
 * exit code (2 for an unknown dataset or an option it does not take). */
int sp_cmd_query_quarantine(const sp_cli_context *ctx);

/* Print each file the result skipped (--skip-bad-files) on stderr. */
void sp_cmd_report_skipped(const sp_result *r);

#endif
