/*
 * main.c — entry point of the `stockpipe` program: global --help/--version and
 * dispatch to the subcommand table.  Each subcommand parses its own options.
 */
#include "cli/cli.h"

#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const sp_cli_command sp_cmd_config;
extern const sp_cli_command sp_cmd_collect;
extern const sp_cli_command sp_cmd_backfill;
extern const sp_cli_command sp_cmd_run;
extern const sp_cli_command sp_cmd_health;
extern const sp_cli_command sp_cmd_query;
extern const sp_cli_command sp_cmd_export;
extern const sp_cli_command sp_cmd_summary;
extern const sp_cli_command sp_cmd_retention;
extern const sp_cli_command sp_cmd_compact;

static const sp_cli_command *const commands[] = {
    &sp_cmd_collect,
    &sp_cmd_backfill,
    &sp_cmd_config,
    &sp_cmd_run,
    &sp_cmd_health,
    &sp_cmd_query,
    &sp_cmd_export,
    &sp_cmd_summary,
    &sp_cmd_retention,
    &sp_cmd_compact,
    NULL /* terminator */
};

void sp_cli_error(const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sp_redact(msg);
  fprintf(stderr, "stockpipe: %s\n", msg);
}

static void print_help(FILE *out) {
  fprintf(out,
          "stockpipe %s — offline data collection for stock-trend models\n\n"
          "Usage: stockpipe COMMAND [OPTIONS]\n\nCommands:\n",
          STOCKPIPE_VERSION);
  for (int i = 0; commands[i]; i++) fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\nCommon options: --config FILE, --data-dir DIR, --log-level LEVEL, --help, --version\n"
               "Run `stockpipe COMMAND --help` for a command's options.\n"
               "Exit codes: 0 success, 1 runtime failure, 2 usage or config error.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return SP_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    print_help(stdout);
    return SP_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    printf("stockpipe %s\n", STOCKPIPE_VERSION);
    return SP_EXIT_OK;
  }
  for (int i = 0; commands[i]; i++) {
    if (strcmp(argv[1], commands[i]->name) != 0) continue;
    for (int a = 2; a < argc; a++) {
      if (strcmp(argv[a], "--") == 0) break;
      if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
        fputs(commands[i]->usage, stdout);
        return SP_EXIT_OK;
      }
    }
    return commands[i]->run(argc - 1, argv + 1);
  }
  sp_cli_error("unknown command '%s' (see `stockpipe --help`)", argv[1]);
  return SP_EXIT_USAGE;
}
