/*
 * cli.h — the `stockpipe` command's pieces: one file per subcommand (cmd_*.c), each
 * exporting one sp_cli_command, registered in main.c's table.
 *
 * Exit codes (SPEC §4, §7): 0 success, 1 runtime failure, 2 usage or config error.
 * Errors go to stderr, data to stdout.
 */
#ifndef STOCKPIPE_CLI_H
#define STOCKPIPE_CLI_H

#include <stdio.h>

enum { SP_EXIT_OK = 0, SP_EXIT_FAILURE = 1, SP_EXIT_USAGE = 2 };

typedef struct sp_cli_command {
  const char *name;     /* "collect", "config" ... */
  const char *summary;  /* one line for `stockpipe --help` */
  const char *usage;    /* full help text printed by `stockpipe NAME --help` */
  /* argv[0] is the command name; returns an exit code. */
  int (*run)(int argc, char **argv);
} sp_cli_command;

/* Print "stockpipe: <message>" to stderr with registered secrets redacted. */
void sp_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
