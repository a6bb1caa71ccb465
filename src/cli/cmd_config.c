/*
 * cmd_config.c — `stockpipe config check [FILE]` (validate the config and the
 * credentials without starting anything, print a short summary), `config show
 * [FILE]` (the effective config as YAML) and `config docs` (the Markdown key
 * reference docs/CONFIGURATION.md is generated from).
 */
#include "cli/cli.h"
#include "cli/options.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "Usage: stockpipe config check [FILE] [OPTIONS]\n"
    "       stockpipe config show [FILE] [OPTIONS]\n"
    "       stockpipe config docs\n\n"
    "check  validate the configuration and the credentials without starting anything; prints the\n"
    "       pipeline (agents, sources -> channels -> sinks), data_dir and which providers have keys\n"
    "       (never the keys). Errors go to stderr as file:line:column: message; exit code 2.\n"
    "show   print the effective configuration (defaults and overrides applied) as YAML.\n"
    "docs   print the reference of every configuration key (Markdown).\n\n"
    "FILE is the configuration file (same as --config).\n\nOptions:\n" SP_CLI_COMMON_OPTIONS_HELP;

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void print_source_line(FILE *out, const sp_config *cfg, const sp_config_source *s) {
  fprintf(out, "    %s [%s, %s%s]", s->name, sp_dataset_get(s->dataset)->name, s->schedule.kind == SP_SCHEDULE_CRON ? "cron " : "every ",
         s->schedule.text);
  if (!s->enabled) fprintf(out, " (disabled)");
  for (size_t c = 0; c < s->channels.count; c++) {
    const sp_config_channel *ch = sp_config_find_channel(cfg, s->channels.items[c]);
    if (!ch) continue; /* cannot happen: bindings were validated */
    const sp_config_sink *sink = sp_config_find_sink(cfg, ch->sink);
    fprintf(out, "\n      -> %s (%s)", ch->name, sp_channel_type_name(ch->type));
    if (!sink) continue;
    fprintf(out, " -> %s (%s", sink->name, sp_sink_type_name(sink->type));
    if (sink->type == SP_SINK_FILE)
      fprintf(out, " %s/%s, %s", sp_file_format_name(sink->format), sp_compression_name(sink->compression),
             sink->path_template);
    fprintf(out, ")");
  }
  fprintf(out, "\n");
}

/* Warnings about things that are valid but will not work as the user may expect. */
static int print_warnings(const sp_cli_context *ctx) {
  const sp_config *cfg = ctx->config;
  int warnings = 0;
  bool uses_sp500 = false;
  for (size_t i = 0; i < cfg->nsources; i++) {
    const sp_config_source *s = &cfg->sources[i];
    uses_sp500 |= s->tickers.kind == SP_TICKERS_SP500;
    size_t usable = 0;
    for (size_t p = 0; p < s->providers.count; p++) {
      const sp_config_provider *prov = sp_config_find_provider(cfg, s->providers.items[p]);
      if (!prov->needs_key || sp_credentials_for_provider(&ctx->credentials, prov->name)) usable++;
    }
    if (usable == 0 && s->enabled) {
      fprintf(stderr, "warning: source '%s': every provider needs a key and none is configured; it will be disabled\n",
              s->name);
      warnings++;
    }
  }
  if (uses_sp500 && !file_exists(cfg->pipeline.sp500_path)) {
    fprintf(stderr, "warning: sp500_file %s does not exist (sources with tickers: sp500 need it)\n",
            cfg->pipeline.sp500_path);
    warnings++;
  }
  return warnings;
}

static void print_summary(FILE *out, const sp_cli_context *ctx) {
  const sp_config *cfg = ctx->config;
  fprintf(out, "config: %s\n", ctx->config_path ? ctx->config_path : "built-in defaults");
  fprintf(out, "data_dir: %s\n", cfg->pipeline.data_dir);
  for (size_t a = 0; a < cfg->nagents; a++) {
    const sp_config_agent *agent = &cfg->agents[a];
    fprintf(out, "agent %s: %zu source%s, %zu channel%s, %zu sink%s\n", agent->name, agent->sources.count,
           agent->sources.count == 1 ? "" : "s", agent->channels.count, agent->channels.count == 1 ? "" : "s",
           agent->sinks.count, agent->sinks.count == 1 ? "" : "s");
    for (size_t i = 0; i < agent->sources.count; i++)
      print_source_line(out, cfg, sp_config_find_source(cfg, agent->sources.items[i]));
  }
  const sp_credentials *creds = &ctx->credentials;
  fprintf(out, "credentials: %s (%s)\n", creds->path ? creds->path : "(none)",
         creds->file_found ? "read" : "not found; keys only from the environment");
  fprintf(out, "providers:");
  for (int i = 0; i < SP_PROVIDER_COUNT; i++) {
    const sp_config_provider *p = &cfg->providers[i];
    fprintf(out, "%s %s ", i ? "," : "", p->name);
    if (!p->needs_key) {
      fprintf(out, "(no key needed)");
      continue;
    }
    int id = -1;
    for (int c = 0; c < SP_CRED_COUNT; c++)
      if (strcmp(sp_credential_provider((sp_credential_id)c), p->name) == 0) id = c;
    if (id < 0 || !creds->keys[id])
      fprintf(out, "(no key: disabled)");
    else
      fprintf(out, "(key from %s)", creds->origin[id] == SP_CRED_FROM_ENV ? sp_credential_env_name((sp_credential_id)id)
                                                                     : "credentials file");
  }
  fprintf(out, "\n");
}

/* Stdout of check/show goes through a memory buffer and sp_redact: a key can reach
 * it only by mistake (a key pasted as --data-dir), and then it still is not printed. */
static int print_redacted(char *text, size_t len) {
  sp_redact(text);
  len = strlen(text);
  return fwrite(text, 1, len, stdout) == len ? SP_EXIT_OK : SP_EXIT_FAILURE;
}

static int config_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_parse(argc, argv, NULL, &ctx);
  const char *action = ctx.nargs > 0 ? ctx.args[0] : NULL;
  if (rc == SP_EXIT_OK && !action) {
    fputs(usage, stderr);
    rc = SP_EXIT_USAGE;
  }
  if (rc == SP_EXIT_OK && strcmp(action, "docs") == 0) {
    if (ctx.nargs == 1) {
      rc = sp_config_write_reference(stdout) == SP_OK ? SP_EXIT_OK : SP_EXIT_FAILURE;
    } else {
      sp_cli_error("config docs takes no FILE");
      rc = SP_EXIT_USAGE;
    }
    sp_cli_context_free(&ctx);
    return rc;
  }
  bool check = action && strcmp(action, "check") == 0;
  if (rc == SP_EXIT_OK && !check && strcmp(action, "show") != 0) {
    sp_cli_error("config: unknown action '%s' (check, show or docs)", action);
    rc = SP_EXIT_USAGE;
  }
  if (rc == SP_EXIT_OK && ctx.nargs > 2) {
    sp_cli_error("config %s: expected at most one FILE, got %d", action, ctx.nargs - 1);
    rc = SP_EXIT_USAGE;
  }
  if (rc == SP_EXIT_OK && ctx.nargs == 2) {
    if (ctx.config_option && strcmp(ctx.config_option, ctx.args[1]) != 0) {
      sp_cli_error("config %s: both --config %s and FILE %s given", action, ctx.config_option, ctx.args[1]);
      rc = SP_EXIT_USAGE;
    }
    ctx.config_option = ctx.args[1];
  }
  if (rc == SP_EXIT_OK) rc = sp_cli_load_config(&ctx, check ? SP_CLI_CREDENTIALS : 0);
  if (rc == SP_EXIT_OK) {
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
      sp_cli_error("out of memory");
      rc = SP_EXIT_FAILURE;
    } else {
      if (check) {
        print_summary(mem, &ctx);
        int warnings = print_warnings(&ctx);
        fprintf(mem, "OK%s\n", warnings ? " (with warnings)" : "");
      } else if (sp_config_write_yaml(ctx.config, mem) != SP_OK) {
        rc = SP_EXIT_FAILURE;
      }
      if (fclose(mem) != 0) rc = SP_EXIT_FAILURE;
      if (rc == SP_EXIT_OK) rc = print_redacted(text, len);
      free(text);
    }
  }
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_config = {"config", "validate (check), print (show) or document the configuration",
                                      usage, config_run};
