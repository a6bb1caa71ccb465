/*
 * config_output.c — writing a config back out: the effective config as YAML
 * (`stockpipe config show`) and the Markdown key reference (docs/CONFIGURATION.md,
 * `stockpipe config docs`).  Passwords inside connection strings (options flagged
 * SP_OPT_CONNECTION) are written as REDACTED.  Both walk the option tables of config_schema.c, so a
 * new key shows up in both without touching this file.
 */
#include "core/config.h"

#include "core/config_schema.h"
#include "sources/source.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- YAML ----------------------------------------------------------------------- */

static bool plain_safe(const char *s) {
  if (!*s || strchr("-?:,[]{}#&*!|>'\"%@`~ ", s[0])) return false;
  if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "null") == 0) return false;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_./%-+@", *p)) return false;
  return true;
}

static void write_scalar(FILE *out, const char *s) {
  if (plain_safe(s)) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(out, "\\x%02x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

/* A connection string with each password replaced by REDACTED (config show must
 * never print one).  Written as one quoted or plain scalar like any string. */
static void write_connection(FILE *out, const char *conn) {
  static const char mask[] = "REDACTED";
  size_t len = 0, kept = 0;
  long at = sp_connection_password_next(conn, 0, &len);
  if (at < 0) {
    write_scalar(out, conn);
    return;
  }
  char *redacted = malloc(strlen(conn) * (sizeof mask) + 1);
  if (!redacted) { /* cannot build the copy: print the mask alone rather than the password */
    write_scalar(out, mask);
    return;
  }
  size_t n = 0;
  for (; at >= 0; at = sp_connection_password_next(conn, (size_t)at + len, &len)) {
    memcpy(redacted + n, conn + kept, (size_t)at - kept);
    n += (size_t)at - kept;
    memcpy(redacted + n, mask, sizeof mask - 1);
    n += sizeof mask - 1;
    kept = (size_t)at + len;
  }
  strcpy(redacted + n, conn + kept);
  write_scalar(out, redacted);
  free(redacted);
}

static void write_list(FILE *out, const sp_strlist *l) {
  fputc('[', out);
  for (size_t i = 0; i < l->count; i++) {
    if (i) fputs(", ", out);
    write_scalar(out, l->items[i]);
  }
  fputc(']', out);
}

static void write_table(FILE *out, const sp_option_table *table, const void *base, const char *variant, int indent);

static void write_option(FILE *out, const sp_option *opt, const void *base, int indent) {
  const void *field = (const char *)base + opt->offset;
  if ((opt->type == SP_OPT_STRING || opt->type == SP_OPT_LISTEN) && !*(char *const *)field) return;
  fprintf(out, "%*s%s:", indent, "", opt->key);
  if (opt->type != SP_OPT_SECTION) fputc(' ', out);
  switch (opt->type) {
    case SP_OPT_STRING:
    case SP_OPT_LISTEN:
      if (opt->flags & SP_OPT_CONNECTION)
        write_connection(out, *(char *const *)field);
      else
        write_scalar(out, *(char *const *)field);
      break;
    case SP_OPT_INT: fprintf(out, "%" PRId64, *(const int64_t *)field); break;
    case SP_OPT_DAYS: fprintf(out, "%" PRId64 "d", *(const int64_t *)field); break;
    case SP_OPT_NUMBER: fprintf(out, "%.15g", *(const double *)field); break;
    case SP_OPT_BOOL: fputs(*(const bool *)field ? "true" : "false", out); break;
    case SP_OPT_ENUM: fputs(opt->allowed[*(const int *)field], out); break;
    case SP_OPT_LIST:
    case SP_OPT_SYMBOLS: write_list(out, field); break;
    case SP_OPT_TICKERS: {
      const sp_tickers *t = field;
      if (t->kind == SP_TICKERS_LIST)
        write_list(out, &t->list);
      else
        fputs(t->kind == SP_TICKERS_MAG7 ? "mag7" : "sp500", out);
      break;
    }
    case SP_OPT_SCHEDULE: write_scalar(out, ((const sp_schedule *)field)->text); break;
    case SP_OPT_SECTION:
      fputc('\n', out);
      write_table(out, opt->section, base, NULL, indent + 2);
      return;
  }
  fputc('\n', out);
}

static void write_table(FILE *out, const sp_option_table *table, const void *base, const char *variant, int indent) {
  for (size_t i = 0; i < table->count; i++)
    if (sp_option_applies(&table->options[i], variant)) write_option(out, &table->options[i], base, indent);
}

static const char *enum_at(const sp_option_table *table, const void *base) {
  if (!table->discriminator) return NULL;
  for (size_t i = 0; i < table->count; i++)
    if (strcmp(table->options[i].key, table->discriminator) == 0)
      return table->options[i].allowed[*(const int *)((const char *)base + table->options[i].offset)];
  return NULL;
}

#define WRITE_COMPONENTS(title, table, array, count)                    \
  do {                                                                  \
    fprintf(out, "%s:\n", title);                                       \
    for (size_t i = 0; i < (count); i++) {                              \
      fprintf(out, "  %s:\n", (array)[i].name);                         \
      write_table(out, &(table), &(array)[i], enum_at(&(table), &(array)[i]), 4); \
    }                                                                   \
  } while (0)

int sp_config_write_yaml(const sp_config *cfg, FILE *out) {
  fprintf(out, "# effective configuration (%s)\n", cfg->file ? cfg->file : "built-in defaults");
  fputs("pipeline:\n", out);
  write_table(out, &sp_pipeline_options, &cfg->pipeline, NULL, 2);
  WRITE_COMPONENTS("agents", sp_agent_options, cfg->agents, cfg->nagents);
  WRITE_COMPONENTS("sources", sp_source_options, cfg->sources, cfg->nsources);
  WRITE_COMPONENTS("channels", sp_channel_options, cfg->channels, cfg->nchannels);
  WRITE_COMPONENTS("sinks", sp_sink_options, cfg->sinks, cfg->nsinks);
  fputs("bindings:\n", out);
  for (size_t i = 0; i < cfg->nsources; i++) {
    fprintf(out, "  %s: ", cfg->sources[i].name);
    write_list(out, &cfg->sources[i].channels);
    fputc('\n', out);
  }
  for (size_t i = 0; i < cfg->nchannels; i++)
    if (cfg->channels[i].sink) fprintf(out, "  %s: %s\n", cfg->channels[i].name, cfg->channels[i].sink);
  fputs("providers:\n", out);
  for (int i = 0; i < SP_PROVIDER_COUNT; i++) {
    fprintf(out, "  %s:\n", cfg->providers[i].name);
    write_table(out, &sp_provider_options, &cfg->providers[i], NULL, 4);
  }
  return ferror(out) ? SP_ERR_IO : SP_OK;
}

/* ---- Markdown reference ------------------------------------------------------------- */

static void md_text(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputc('\\', out);
    fputc(*s, out);
  }
}

static const char *type_label(const sp_option *opt) {
  switch (opt->type) {
    case SP_OPT_STRING: return "string";
    case SP_OPT_INT: return "integer";
    case SP_OPT_NUMBER: return "number";
    case SP_OPT_BOOL: return "boolean";
    case SP_OPT_ENUM: return "one of";
    case SP_OPT_LIST: return "list";
    case SP_OPT_TICKERS: return "tickers";
    case SP_OPT_SYMBOLS: return "list of symbols";
    case SP_OPT_SCHEDULE: return "schedule";
    case SP_OPT_DAYS: return "period";
    case SP_OPT_LISTEN: return "host:port";
    case SP_OPT_SECTION: return "section";
  }
  return "?";
}

static void md_rows(FILE *out, const sp_option_table *table, const char *prefix) {
  for (size_t i = 0; i < table->count; i++) {
    const sp_option *opt = &table->options[i];
    if (opt->type == SP_OPT_SECTION) {
      char nested[128];
      snprintf(nested, sizeof nested, "%s%s.", prefix, opt->key);
      md_rows(out, opt->section, nested);
      continue;
    }
    fprintf(out, "| `%s%s` | %s | ", prefix, opt->key, type_label(opt));
    if (opt->flags & SP_OPT_REQUIRED)
      fputs("required", out);
    else if (opt->flags & SP_OPT_DERIVED)
      fputs("derived", out);
    else if (opt->def) {
      fputc('`', out);
      md_text(out, opt->def);
      fputc('`', out);
    }
    fputs(" | ", out);
    fputs(opt->applies_to ? opt->applies_to : "all", out);
    fputs(" | ", out);
    if (opt->allowed) {
      for (int j = 0; opt->allowed[j]; j++) fprintf(out, "%s`%s`", j ? ", " : "", opt->allowed[j]);
    } else if (opt->type == SP_OPT_INT || opt->type == SP_OPT_NUMBER || opt->type == SP_OPT_DAYS) {
      fprintf(out, "%.15g – %.15g", opt->min, opt->max);
    }
    fputs(" | ", out);
    md_text(out, opt->help);
    fputs(" |\n", out);
  }
}

static void md_table(FILE *out, const sp_option_table *table, const char *title, const char *intro) {
  fprintf(out, "\n## %s\n\n%s\n\n", title, intro);
  if (table->discriminator)
    fprintf(out, "| key | type | default | applies to (%s) | allowed | meaning |\n", table->discriminator);
  else
    fputs("| key | type | default | applies to | allowed | meaning |\n", out);
  fputs("|---|---|---|---|---|---|\n", out);
  md_rows(out, table, "");
}

int sp_config_write_reference(FILE *out) {
  fputs("<!-- Generated by `stockpipe config docs` from src/core/config_schema.c; do not edit by hand. -->\n"
        "# Configuration reference\n\n"
        "stockpipe reads `stockpipe.yaml` (SPEC §3): `--config FILE`, else `$STOCKPIPE_CONFIG`, else\n"
        "`./config/stockpipe.yaml` if it exists, else the built-in defaults (identical to the shipped\n"
        "`config/stockpipe.yaml`). `pipeline` keys a file leaves out keep their defaults; when a file has any of\n"
        "`agents`, `sources`, `channels`, `sinks`, `bindings`, those five describe the whole pipeline and replace\n"
        "the default one. `stockpipe config check [FILE]` validates a file (and the credentials) without starting\n"
        "anything; `stockpipe config show` prints the effective configuration.\n\n"
        "Errors are reported as `file:line:column: message` (1-based), all of them (up to 20), and the command\n"
        "exits with code 2: unknown keys (with the closest known key), wrong types, values outside the allowed\n"
        "set or range, malformed schedules, unknown datasets or providers, providers that do not serve the\n"
        "source's dataset, bindings naming missing components, a channel drained by no sink or by two, a sink\n"
        "draining two channels, a component in no agent or in two, required keys of a sink or channel type\n"
        "missing, `transactionCapacity` above `capacity`, a sink's `batch_size` above its channel's\n"
        "`transactionCapacity`.\n\n"
        "Paths: sink `path` and channel `checkpoint_dir`/`data_dir` are relative to `pipeline.data_dir`;\n"
        "`credentials`, `sp500_file` and `log.file` are relative to the config file's folder (no file: the\n"
        "current directory). An absolute path is used as it is. A relative path that starts with that\n"
        "folder's own name (`config/sp500.csv` in `config/stockpipe.yaml`) is taken from the folder's\n"
        "parent, so SPEC §3's spelling works from the project folder.\n\n"
        "Environment: `STOCKPIPE_CONFIG`, `STOCKPIPE_DATA_DIR` (over `data_dir`; `--data-dir` wins over both),\n"
        "`STOCKPIPE_CREDENTIALS` (over `credentials`; `--credentials` wins), `STOCKPIPE_FINNHUB_KEY`,\n"
        "`STOCKPIPE_NEWSAPI_KEY`, `STOCKPIPE_ALPHAVANTAGE_KEY`, `STOCKPIPE_FRED_KEY` (over credentials.json),\n"
        "`STOCKPIPE_<PROVIDER>_BASE_URL` (over `providers.<name>.base_url`), `STOCKPIPE_MODULE_DIR` (the one\n"
        "folder searched for the PostgreSQL, Kafka and MongoDB modules; docs/OPERATIONS.md).\n\n"
        "Value types: *string*; *integer*; *number*; *boolean* (`true`/`false`); *one of* (a listed word);\n"
        "*list* (`[a, b]` or a block list); *tickers* (`mag7`, `sp500` or a list of symbols); *schedule*\n"
        "(`30m`, `1h`, `1d`, `1w`, any `<N>m/h/d/w`, or a five-field cron expression `minute hour day-of-month\n"
        "month day-of-week` in UTC with `*`, `a-b`, `a,b`, `/step`; quote it in YAML: `\"0 * * * 1-5\"`);\n"
        "*period* (`60d`, `8w`, `2y`); *host:port*. *derived* defaults are computed as the meaning says.\n",
        out);
  md_table(out, &sp_pipeline_options, "pipeline",
           "Settings of the whole program. Nested keys are written as sections: `log: {level: INFO}`.");
  md_table(out, &sp_agent_options, "agents.<name>",
           "An agent owns sources, channels and sinks; every one of them belongs to exactly one agent.");
  md_table(out, &sp_source_options, "sources.<name>",
           "A source collects one dataset from its providers on a schedule. Rows listed for some datasets "
           "only apply to those (`applies to` is the source's `dataset`); the same key may have a different "
           "default per dataset.");
  md_table(out, &sp_channel_options, "channels.<name>",
           "A channel buffers events between sources and one sink, in transactions. `applies to` is the "
           "channel's `type`.");
  md_table(out, &sp_sink_options, "sinks.<name>",
           "A sink drains one channel into storage. `applies to` is the sink's `type`.");
  fputs("\n## bindings\n\n"
        "`<source>: [<channel>, ...]` puts a source's events into each listed channel (fan-out);\n"
        "`<channel>: <sink>` names the one sink draining the channel. A channel carries one dataset.\n",
        out);
  md_table(out, &sp_provider_options, "providers.<name>",
           "Optional per-provider settings for `yahoo`, `alphavantage`, `finnhub`, `newsapi`, `fred`, "
           "`worldbank`, `fedreserve`, `treasury`.");
  fputs("\nProviders (a provider listed by a source must serve its dataset) and their defaults:\n\n"
        "| provider | base_url | rate_limit | max_in_flight | timeout | daily_limit | API key | datasets |\n"
        "|---|---|---|---|---|---|---|---|\n",
        out);
  for (int i = 0; i < SP_PROVIDER_COUNT; i++) {
    const sp_source_provider *p = sp_provider_module(i);
    fprintf(out, "| `%s` | %s | %.15g | %d | %d | %" PRId64 " | %s | ", sp_provider_names[i], p->http.base_url,
            p->http.rate_limit, p->http.max_in_flight, p->http.timeout_ms / 1000, p->daily_limit,
            p->credential ? "required" : "none");
    int n = 0;
    for (int d = 0; d < SP_DS_COUNT; d++)
      if (p->datasets & SP_SOURCE_DATASET_BIT(d)) fprintf(out, "%s%s", n++ ? ", " : "", sp_dataset_names[d]);
    fputs(" |\n", out);
  }
  return ferror(out) ? SP_ERR_IO : SP_OK;
}
