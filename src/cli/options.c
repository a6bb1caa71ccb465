/*
 * options.c — shared option parsing and config/credentials loading for every
 * command (see options.h).  getopt_long does the scanning; this file builds its
 * option array from the common options plus the command's table.
 */
#include "cli/options.h"

#include "cli/cli.h"
#include "core/array.h"
#include "core/log.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Their help text is SP_CLI_COMMON_OPTIONS_HELP (options.h). */
static const sp_cli_option common_options[] = {
    {"config", true, "FILE", NULL},
    {"data-dir", true, "DIR", NULL},
    {"log-level", true, "LEVEL", NULL},
    {"credentials", true, "FILE", NULL},
    {NULL, false, NULL, NULL}};

enum { COMMON_COUNT = 4, OPTION_VALUE_BASE = 1000 };

static size_t table_length(const sp_cli_option *t) {
  size_t n = 0;
  while (t && t[n].name) n++;
  return n;
}

int sp_cli_parse(int argc, char **argv, const sp_cli_option *extra, sp_cli_context *ctx) {
  memset(ctx, 0, sizeof *ctx);
  /* Keys given in the environment are secrets before anything can be printed
   * (even a usage error echoing an argument); file keys are added when loaded. */
  for (int i = 0; i < SP_CRED_COUNT; i++) {
    const char *key = getenv(sp_credential_env_name((sp_credential_id)i));
    if (key && *key) sp_log_add_secret(key);
  }
  size_t nextra = table_length(extra);
  struct option *longopts = calloc(COMMON_COUNT + nextra + 1, sizeof *longopts);
  ctx->values = calloc((size_t)argc + 1, sizeof *ctx->values);
  ctx->args = calloc((size_t)argc + 1, sizeof *ctx->args);
  if (!longopts || !ctx->values || !ctx->args) {
    free(longopts);
    sp_cli_error("out of memory");
    return SP_EXIT_FAILURE;
  }
  for (size_t i = 0; i < COMMON_COUNT + nextra; i++) {
    const sp_cli_option *o = i < COMMON_COUNT ? &common_options[i] : &extra[i - COMMON_COUNT];
    longopts[i].name = o->name;
    longopts[i].has_arg = o->takes_value ? required_argument : no_argument;
    longopts[i].val = OPTION_VALUE_BASE + (int)i;
  }
  int rc = SP_EXIT_OK;
  optind = 0; /* GNU: full re-initialisation, so commands (and tests) may parse again */
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, ":", longopts, NULL);
    if (c == -1) break;
    if (c == '?' || c == ':') {
      const char *arg = argv[optind - 1];
      if (c == ':')
        sp_cli_error("%s: option %s needs a value (see `stockpipe %s --help`)", argv[0], arg, argv[0]);
      else if (optopt)
        sp_cli_error("%s: unknown option -%c (see `stockpipe %s --help`)", argv[0], optopt, argv[0]);
      else
        sp_cli_error("%s: unknown option %s (see `stockpipe %s --help`)", argv[0], arg, argv[0]);
      rc = SP_EXIT_USAGE;
      break;
    }
    size_t i = (size_t)(c - OPTION_VALUE_BASE);
    switch (i) {
      case 0: ctx->config_option = optarg; break;
      case 1: ctx->data_dir_option = optarg; break;
      case 2: ctx->log_level_option = optarg; break;
      case 3: ctx->credentials_option = optarg; break;
      default:
        ctx->values[ctx->nvalues].name = extra[i - COMMON_COUNT].name;
        ctx->values[ctx->nvalues].value = extra[i - COMMON_COUNT].takes_value ? optarg : NULL;
        ctx->nvalues++;
    }
  }
  if (rc == SP_EXIT_OK)
    for (int i = optind; i < argc; i++) ctx->args[ctx->nargs++] = argv[i];
  free(longopts);
  return rc;
}

int sp_cli_load_config(sp_cli_context *ctx, unsigned flags) {
  sp_log_level level = SP_LOG_INFO;
  if (ctx->log_level_option && sp_log_level_parse(ctx->log_level_option, &level) != 0) {
    sp_cli_error("--log-level: unknown level '%s' (DEBUG, INFO, WARN, ERROR, OFF)", ctx->log_level_option);
    return SP_EXIT_USAGE;
  }
  ctx->config_path = sp_config_locate(ctx->config_option);
  sp_config_diag diag;
  int rc = sp_config_load(ctx->config_path, &ctx->config, &diag);
  if (rc == SP_ERR_NOMEM) {
    sp_cli_error("out of memory loading the configuration");
    return SP_EXIT_FAILURE;
  }
  if (rc) {
    sp_config_diag_print(&diag, stderr);
    return SP_EXIT_USAGE;
  }
  sp_error err = {0};
  if (ctx->data_dir_option && sp_config_set_data_dir(ctx->config, ctx->data_dir_option, &err)) {
    sp_cli_error("--data-dir: %s", err.msg);
    return err.code == SP_ERR_NOMEM ? SP_EXIT_FAILURE : SP_EXIT_USAGE;
  }
  sp_log_set_level(ctx->log_level_option ? level : ctx->config->pipeline.log_level);
  if ((flags & SP_CLI_LOG_FILE) && *ctx->config->pipeline.log_path) {
    char msg[SP_ERROR_MSG_MAX];
    if (sp_log_set_file(ctx->config->pipeline.log_path, true, msg, sizeof msg) != 0) {
      sp_cli_error("log file: %s", msg);
      return SP_EXIT_FAILURE;
    }
  }
  if (flags & SP_CLI_CREDENTIALS) {
    const char *env = getenv("STOCKPIPE_CREDENTIALS");
    const char *path = ctx->credentials_option ? ctx->credentials_option : (env && *env) ? env : NULL;
    if (path && sp_config_set_credentials_path(ctx->config, path, &err)) {
      sp_cli_error("%s", err.msg);
      return SP_EXIT_FAILURE;
    }
    rc = sp_credentials_load(ctx->config->pipeline.credentials_path, &ctx->credentials, &err);
    if (rc) {
      sp_cli_error("%s", err.msg);
      return rc == SP_ERR_NOMEM ? SP_EXIT_FAILURE : SP_EXIT_USAGE;
    }
  }
  return SP_EXIT_OK;
}

int sp_cli_load(int argc, char **argv, const sp_cli_option *extra, unsigned flags, sp_cli_context *ctx) {
  int rc = sp_cli_parse(argc, argv, extra, ctx);
  return rc == SP_EXIT_OK ? sp_cli_load_config(ctx, flags) : rc;
}

const char *sp_cli_get(const sp_cli_context *ctx, const char *name) {
  for (size_t i = ctx->nvalues; i-- > 0;)
    if (strcmp(ctx->values[i].name, name) == 0) return ctx->values[i].value;
  return NULL;
}

bool sp_cli_has(const sp_cli_context *ctx, const char *name) {
  for (size_t i = 0; i < ctx->nvalues; i++)
    if (strcmp(ctx->values[i].name, name) == 0) return true;
  return false;
}

void sp_cli_context_free(sp_cli_context *ctx) {
  sp_config_free(ctx->config);
  ctx->config = NULL;
  sp_credentials_free(&ctx->credentials);
  free(ctx->values);
  free(ctx->args);
  ctx->values = NULL;
  ctx->args = NULL;
  ctx->nvalues = 0;
  ctx->nargs = 0;
}

int sp_cli_split_list(const char *text, sp_strlist *out) {
  out->items = NULL;
  out->count = 0;
  char *copy = strdup(text);
  if (!copy) return -1;
  size_t cap = 0;
  int rc = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    if (!*tok) continue;
    if (SP_ARRAY_RESERVE(out->items, cap, out->count + 1, 8)) {
      rc = -1;
      break;
    }
    out->items[out->count] = strdup(tok);
    if (!out->items[out->count]) rc = -1;
    else out->count++;
  }
  free(copy);
  return rc;
}

void sp_cli_free_list(sp_strlist *l) {
  for (size_t i = 0; i < l->count; i++) free(l->items[i]);
  free(l->items);
}
