/*
 * cmd_export.c — `stockpipe export DATASET FILE [--format csv|parquet|json] [filters]`
 * (SPEC §4): a filtered dataset written to one file through the format writers,
 * atomically.  A progress bar goes to stderr when it is a terminal (never in pipes).
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sp_cli_option export_options[] = {
    {"format", true, "FMT", "csv, parquet or json (default: from FILE's extension, else csv)"},
    {"tickers", true, "LIST", "only these tickers (comma-separated)"},
    {"from", true, "DATE", "first date (inclusive, UTC)"},
    {"to", true, "DATE", "last date (inclusive, UTC)"},
    {"columns", true, "LIST", "only these columns"},
    {"where", true, "EXPR", "`column OP value` (repeatable, ANDed)"},
    {"limit", true, "N", "at most N rows"},
    {"skip-bad-files", false, NULL, "skip unreadable files (reported on stderr)"},
    {NULL, false, NULL, NULL}};

typedef struct progress_bar {
  int64_t last_us;
  bool shown;
} progress_bar;

static void draw_progress(void *ctx, uint64_t done, uint64_t total) {
  progress_bar *p = ctx;
  int64_t now = sp_monotonic_us();
  if (done < total && now - p->last_us < 100000) return;
  p->last_us = now;
  int pct = total ? (int)(done * 100 / total) : 100;
  char bar[31];
  int fill = pct * 30 / 100;
  for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : ' ';
  bar[30] = '\0';
  fprintf(stderr, "\rexporting [%s] %3d%%  %" PRIu64 "/%" PRIu64 " rows", bar, pct, done, total);
  if (done == total) fputc('\n', stderr);
  p->shown = true;
}

/* The format from --format, else FILE's extension, else csv. */
static const char *pick_format(const char *given, const char *path) {
  if (given) return given;
  const char *dot = strrchr(path, '.');
  if (dot && strcmp(dot, ".parquet") == 0) return "parquet";
  if (dot && (strcmp(dot, ".json") == 0 || strcmp(dot, ".jsonl") == 0)) return "json";
  return "csv";
}

static int export_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, export_options, 0, &ctx);
  if (rc) {
    sp_cli_context_free(&ctx);
    return rc;
  }
  if (ctx.nargs != 2) {
    sp_cli_error("export: expected DATASET FILE (see `stockpipe export --help`)");
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  const char *format = pick_format(sp_cli_get(&ctx, "format"), ctx.args[1]);
  if (strcmp(format, "csv") != 0 && strcmp(format, "parquet") != 0 && strcmp(format, "json") != 0 &&
      strcmp(format, "jsonl") != 0) {
    sp_cli_error("export: unknown --format \"%s\" (csv, parquet, json)", format);
    sp_cli_context_free(&ctx);
    return SP_EXIT_USAGE;
  }
  sp_query_args qa;
  const char **where = NULL;
  sp_client *client = NULL;
  sp_result *written = NULL;
  int exit_code = sp_cmd_build_query(&ctx, 0, &qa, &where);
  if (exit_code == SP_EXIT_OK && (exit_code = sp_cmd_open_client(&ctx, &client)) == SP_EXIT_OK) {
    sp_error err = {0};
    progress_bar bar = {0};
    bool tty = isatty(STDERR_FILENO);
    rc = sp_client_export(client, &qa.q, ctx.args[1], format, tty ? draw_progress : NULL, &bar, &written, &err);
    if (rc) {
      if (bar.shown) fputc('\n', stderr);
      sp_cli_error("export: %s", err.msg);
      exit_code = sp_cmd_query_exit_code(rc);
    } else {
      sp_cmd_report_skipped(written);
      if (tty) fprintf(stderr, "exported %zu rows to %s\n", sp_result_num_rows(written), ctx.args[1]);
    }
  }
  sp_result_free(written);
  sp_client_close(client);
  sp_query_args_free(&qa);
  free(where);
  sp_cli_context_free(&ctx);
  return exit_code;
}

const sp_cli_command sp_cmd_export = {
    "export", "write a filtered dataset to one file (csv, parquet, json)",
    "Usage: stockpipe export DATASET FILE [--format csv|parquet|json] [--tickers LIST] [--from DATE]\n"
    "                        [--to DATE] [--columns LIST] [--where EXPR]... [--limit N] [--skip-bad-files]\n\n"
    "Writes the rows `stockpipe query` would return (key order) to FILE, atomically (written\n"
    "aside, synced, renamed).  The format defaults to FILE's extension (.parquet, .json,\n"
    ".jsonl), else csv.  A progress bar is shown on a terminal.\n\n"
    "Exit codes: 0 success, 1 reading or writing failed, 2 usage error.\n",
    export_run};
