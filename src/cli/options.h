/*
 * options.h — the options every `stockpipe` command shares (SPEC §4, §7), parsed
 * once here so each cmd_*.c only declares its own.
 *
 * Common options: --config FILE, --data-dir DIR, --log-level LEVEL,
 * --credentials FILE.  A command adds its own with a table of sp_cli_option; all
 * are long options written `--name value` or `--name=value` (getopt_long: unique
 * prefixes work, options and operands may be mixed, `--` ends options).
 *
 * Typical command:
 *
 *   static const sp_cli_option collect_options[] = {
 *     {"tickers", true, "LIST", "only these symbols"},
 *     {"dry-run", false, NULL, "fetch but do not store"},
 *     {NULL, false, NULL, NULL}};
 *
 *   static int collect_run(int argc, char **argv) {   // argv[0] = "collect"
 *     sp_cli_context ctx;
 *     int rc = sp_cli_load(argc, argv, collect_options, SP_CLI_CREDENTIALS | SP_CLI_LOG_FILE, &ctx);
 *     if (rc == SP_EXIT_OK) {
 *       const char *tickers = sp_cli_get(&ctx, "tickers");     // NULL when not given
 *       for (int i = 0; i < ctx.nargs; i++) ... ctx.args[i] ...  // the DATASET operands
 *       ... ctx.config, &ctx.credentials ...
 *     }
 *     sp_cli_context_free(&ctx);
 *     return rc;
 *   }
 *
 * Precedence: --config > STOCKPIPE_CONFIG > ./config/stockpipe.yaml > built-in
 * defaults; --data-dir > STOCKPIPE_DATA_DIR > pipeline.data_dir; --credentials >
 * STOCKPIPE_CREDENTIALS > pipeline.credentials; --log-level > pipeline.log.level.
 *
 * Errors (unknown option, missing value, bad --log-level, invalid config or
 * credentials) are printed to stderr (config errors as "file:line:column: ...",
 * the others as "stockpipe: ...", secrets redacted) and SP_EXIT_USAGE (2) is returned.
 */
#ifndef STOCKPIPE_CLI_OPTIONS_H
#define STOCKPIPE_CLI_OPTIONS_H

#include "core/config.h"
#include "core/credentials.h"

#include <stdbool.h>
#include <stddef.h>

/* The common options' lines for a command's usage text (sp_cli_command.usage):
 *   "Options:\n" "  --tickers LIST         ...\n" SP_CLI_COMMON_OPTIONS_HELP */
#define SP_CLI_COMMON_OPTIONS_HELP                                                                           \
  "  --config FILE          configuration file (else $STOCKPIPE_CONFIG, ./config/stockpipe.yaml, built-in)\n" \
  "  --data-dir DIR         data directory (overrides $STOCKPIPE_DATA_DIR and pipeline.data_dir)\n"            \
  "  --log-level LEVEL      DEBUG, INFO, WARN, ERROR or OFF (overrides pipeline.log.level)\n"                 \
  "  --credentials FILE     API keys file (overrides $STOCKPIPE_CREDENTIALS and pipeline.credentials)\n"

/* One command-specific option; a table ends with a row whose name is NULL. */
typedef struct sp_cli_option {
  const char *name;       /* long name without the dashes: "from" */
  bool takes_value;       /* --from DATE (true) or a flag --once (false) */
  const char *value_name; /* "DATE", shown in usage text; NULL for flags */
  const char *help;       /* one line */
} sp_cli_option;

/* One option as given on the command line. */
typedef struct sp_cli_value {
  const char *name;  /* the option's name (points into the option table) */
  const char *value; /* its value (points into argv), NULL for a flag */
} sp_cli_value;

enum sp_cli_flags {
  SP_CLI_CREDENTIALS = 1u << 0, /* also load the credentials (commands that fetch) */
  SP_CLI_LOG_FILE = 1u << 1     /* also open pipeline.log.file (long-running commands) */
};

typedef struct sp_cli_context {
  /* Common options as given (point into argv), NULL when absent. */
  const char *config_option;
  const char *data_dir_option;
  const char *log_level_option;
  const char *credentials_option;
  /* Command-specific options, in command-line order (repeatable ones repeat). */
  sp_cli_value *values;
  size_t nvalues;
  /* Operands (non-option arguments) in order, pointing into argv. */
  char **args;
  int nargs;
  /* Filled by sp_cli_load / sp_cli_load_config: */
  sp_config *config;          /* owned by the context */
  const char *config_path;    /* the file loaded, NULL = built-in defaults */
  sp_credentials credentials; /* all absent unless SP_CLI_CREDENTIALS */
} sp_cli_context;

/* Parse argv (argv[0] is the command name, skipped) into a zeroed *ctx: common
 * options, the `extra` table's options (may be NULL) and operands.  Registers the
 * STOCKPIPE_*_KEY environment values as log secrets first.  Does not load
 * anything else.  Returns SP_EXIT_OK, or SP_EXIT_USAGE after printing the problem.
 * Always release ctx with sp_cli_context_free. */
int sp_cli_parse(int argc, char **argv, const sp_cli_option *extra, sp_cli_context *ctx);

/* Load the config (locating it per SPEC §7 from ctx->config_option), apply
 * --data-dir, the log level (--log-level or the config's) and, per `flags`, the
 * log file and the credentials (--credentials / STOCKPIPE_CREDENTIALS /
 * pipeline.credentials).  Returns SP_EXIT_OK, SP_EXIT_USAGE for config/credential
 * errors (printed), SP_EXIT_FAILURE when memory or the log file fails. */
int sp_cli_load_config(sp_cli_context *ctx, unsigned flags);

/* sp_cli_parse then sp_cli_load_config. */
int sp_cli_load(int argc, char **argv, const sp_cli_option *extra, unsigned flags, sp_cli_context *ctx);

/* The last value given for option `name` (NULL when not given; "" is possible).
 * For flags, use sp_cli_has. */
const char *sp_cli_get(const sp_cli_context *ctx, const char *name);
/* Was option `name` given at least once? */
bool sp_cli_has(const sp_cli_context *ctx, const char *name);

/* Split "A,B,C" (spaces after commas and empty items skipped) into `out`, owned by
 * the caller (release with sp_cli_free_list).  Returns 0, or -1 when out of memory
 * (out then holds the items split so far). */
int sp_cli_split_list(const char *text, sp_strlist *out);
void sp_cli_free_list(sp_strlist *list);

/* Free what the context owns (config, credentials, arrays); argv is untouched. */
void sp_cli_context_free(sp_cli_context *ctx);

#endif
