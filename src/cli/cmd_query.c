/*
 * cmd_query.c — `stockpipe query DATASET [filters] [--format table|csv|json|parquet]
 * [--output FILE]` (SPEC §4, §7): the offline client's general query on the command
 * line (`query quarantine` is in cmd_query_quarantine.c).  Data goes to stdout (or
 * --output), errors and skipped files to stderr.
 * Exit 0 on success, 1 when reading fails, 2 for usage errors (unknown dataset or
 * column, malformed --where, bad option values).
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const sp_cli_option query_options[] = {
    {"tickers", true, "LIST", "only these tickers (comma-separated)"},
    {"from", true, "DATE", "first date (inclusive, UTC, the row's own date)"},
    {"to", true, "DATE", "last date (inclusive, UTC)"},
    {"columns", true, "LIST", "only these columns (comma-separated; output keeps schema order)"},
    {"where", true, "EXPR", "`column OP value`, OP one of = != < <= > >= (repeatable, ANDed)"},
    {"limit", true, "N", "at most N rows (the first in key order)"},
    {"format", true, "FMT", "table (default on a terminal), csv (default otherwise), json, parquet"},
    {"output", true, "FILE", "write to FILE (atomically) instead of stdout; required for parquet"},
    {"skip-bad-files", false, NULL, "skip unreadable files (each reported on stderr) instead of failing"},
    {"dataset", true, "NAME", "with `query quarantine`: whose rejected rows to read"},
    {NULL, false, NULL, NULL}};

int sp_cmd_query_exit_code(int rc) {
  return rc == SP_ERR_INVALID || rc == SP_ERR_NOT_FOUND ? SP_EXIT_USAGE : SP_EXIT_FAILURE;
}

int sp_cmd_open_client(const sp_cli_context *ctx, sp_client **c) {
  sp_error err = {0};
  *c = NULL;
  int rc = sp_client_open(c, ctx->config->pipeline.data_dir, &err);
  if (!rc) rc = sp_client_add_config_roots(*c, ctx->config, &err);
  if (rc) {
    sp_cli_error("%s", err.msg);
    sp_client_close(*c);
    *c = NULL;
    return SP_EXIT_FAILURE;
  }
  return SP_EXIT_OK;
}

int sp_cmd_build_query(const sp_cli_context *ctx, int dataset_arg, sp_query_args *qa, const char ***where) {
  memset(qa, 0, sizeof *qa);
  size_t n = 0;
  const char **v = calloc(ctx->nvalues + 1, sizeof *v);
  *where = v;
  if (!v) {
    sp_cli_error("out of memory");
    return SP_EXIT_FAILURE;
  }
  for (size_t i = 0; i < ctx->nvalues; i++)
    if (strcmp(ctx->values[i].name, "where") == 0) v[n++] = ctx->values[i].value;
  sp_error err = {0};
  int rc = sp_query_args_build(qa, ctx->args[dataset_arg], sp_cli_get(ctx, "tickers"), sp_cli_get(ctx, "from"),
                               sp_cli_get(ctx, "to"), sp_cli_get(ctx, "columns"), v, n, sp_cli_get(ctx, "limit"),
                               sp_cli_has(ctx, "skip-bad-files"), &err);
  if (rc) {
    sp_cli_error("%s: %s", ctx->args[dataset_arg], err.msg);
    return sp_cmd_query_exit_code(rc);
  }
  return SP_EXIT_OK;
}

void sp_cmd_report_skipped(const sp_result *r) {
  for (size_t i = 0; i < sp_result_num_skipped(r); i++) sp_cli_error("skipped bad file: %s", sp_result_skipped(r, i));
}

static int query_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, query_options, 0, &ctx);
  if (rc) {
    sp_cli_context_free(&ctx);
    return rc;
  }
  if (ctx.nargs != 1) {
    sp_cli_error("query: expected one DATASET (see `stockpipe query --help`)");
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  if (strcmp(ctx.args[0], "quarantine") == 0) {
    rc = sp_cmd_query_quarantine(&ctx);
    sp_cli_context_free(&ctx);
    return rc;
  }
  if (sp_cli_has(&ctx, "dataset")) {
    sp_cli_error("query: --dataset goes with `query quarantine`; give the dataset as the operand");
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  const char *format = sp_cli_get(&ctx, "format");
  const char *output = sp_cli_get(&ctx, "output");
  if (!format) format = output ? "csv" : isatty(STDOUT_FILENO) ? "table" : "csv";
  sp_print_format pf = SP_PRINT_CSV;
  bool to_file = output != NULL;
  if (strcmp(format, "table") == 0) pf = SP_PRINT_TABLE;
  else if (strcmp(format, "json") == 0 || strcmp(format, "jsonl") == 0) pf = SP_PRINT_JSON;
  else if (strcmp(format, "parquet") == 0) {
    if (!output) {
      sp_cli_error("query: --format parquet needs --output FILE");
      sp_cli_context_free(&ctx);
      return SP_EXIT_USAGE;
    }
  } else if (strcmp(format, "csv") != 0) {
    sp_cli_error("query: unknown --format \"%s\" (table, csv, json, parquet)", format);
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  if (to_file && pf == SP_PRINT_TABLE) {
    sp_cli_error("query: --format table prints to the terminal; use csv, json or parquet with --output");
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  sp_query_args qa;
  const char **where = NULL;
  sp_error err = {0};
  sp_client *client = NULL;
  sp_result *res = NULL;
  int exit_code = sp_cmd_build_query(&ctx, 0, &qa, &where);
  if (exit_code == SP_EXIT_OK && (exit_code = sp_cmd_open_client(&ctx, &client)) == SP_EXIT_OK) {
    rc = sp_client_query_run(client, &qa.q, &res, &err);
    if (rc) {
      sp_cli_error("query: %s", err.msg);
      exit_code = sp_cmd_query_exit_code(rc);
    } else {
      sp_cmd_report_skipped(res);
      if (to_file) {
        rc = sp_result_write(res, output, pf == SP_PRINT_JSON ? "jsonl" : format, &err);
      } else {
        int width = 0;
        struct winsize ws;
        if (pf == SP_PRINT_TABLE && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
          width = ws.ws_col;
        rc = sp_result_print(res, stdout, pf, width, &err);
      }
      if (rc) {
        sp_cli_error("query: %s", err.msg);
        exit_code = SP_EXIT_FAILURE;
      }
    }
  }
  sp_result_free(res);
  sp_client_close(client);
  sp_query_args_free(&qa);
  free(where);
  sp_cli_context_free(&ctx);
  return exit_code;
}

const sp_cli_command sp_cmd_query = {
    "query", "offline query of a stored dataset",
    "Usage: stockpipe query DATASET [--tickers LIST] [--from DATE] [--to DATE] [--columns LIST]\n"
    "                      [--where EXPR]... [--limit N] [--format table|csv|json|parquet]\n"
    "                      [--output FILE] [--skip-bad-files]\n"
    "       stockpipe query quarantine --dataset DATASET [--from DATE] [--to DATE]\n"
    "                      [--format json|csv|table]\n\n"
    "Rows of DATASET (financial_data, stock_movements, news, macroeconomic, policy) in key\n"
    "order, columns in schema order.  Dates are inclusive UTC dates on the row's own date.\n"
    "--where takes `column OP value` (= != < <= > >=), values typed by the column, strings\n"
    "optionally quoted with ' (e.g. --where \"sentiment_score>=0.5\" --where \"ticker='AAPL'\").\n"
    "CSV has a header row; json is JSON Lines; NULL is an empty CSV field and JSON null.\n"
    "`query quarantine` reads back the rows validation rejected (quarantine/DATASET/DAY/):\n"
    "json (default) prints each stored object (its columns, rule, detail, request); csv and\n"
    "table print the day, rule, detail and the dataset's key columns.\n\n"
    "Options:\n"
    "  --tickers LIST       only these tickers (comma-separated)\n"
    "  --from DATE, --to DATE  date range (YYYY-MM-DD, inclusive)\n"
    "  --columns LIST       only these columns\n"
    "  --where EXPR         filter (repeatable, ANDed)\n"
    "  --limit N            at most N rows\n"
    "  --format FMT         table (terminal default), csv, json, parquet (needs --output)\n"
    "  --output FILE        write to FILE atomically instead of stdout\n"
    "  --skip-bad-files     skip unreadable files, reporting each on stderr\n"
    "  --config FILE, --data-dir DIR, --log-level LEVEL  common options\n\n"
    "Exit codes: 0 success, 1 a file could not be read or written, 2 usage error.\n",
    query_run};
