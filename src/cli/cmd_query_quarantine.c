/*
 * cmd_query_quarantine.c — `stockpipe query quarantine --dataset D [--from DATE]
 * [--to DATE] [--format json|csv|table]` (issue 10): the rows validation rejected,
 * read back from <data_dir>/quarantine/D/YYYY-MM-DD/.  json (the default) prints each
 * stored object as one JSON Lines line; csv and table print the quarantine day, the
 * rule, the detail and D's key columns.  Exit 2 for an unknown dataset or a bad
 * option, 1 when a file cannot be read.
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"
#include "core/array.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include "format/value_text.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct quarantine_out {
  const sp_dataset_def *ds;
  sp_print_format pf;
  size_t ncols;   /* day, rule, detail, then the key columns */
  char **cells;   /* table: every cell, row-major, kept to align the columns */
  size_t ncells, cap;
  sp_buf line;    /* csv / json: the current output line */
  uint64_t unreadable;
} quarantine_out;

static const char *column_name(const quarantine_out *o, size_t i) {
  static const char *const fixed[] = {"date", "rule", "detail"};
  return i < 3 ? fixed[i] : o->ds->columns[o->ds->key_columns[i - 3]].name;
}

/* The text of field i of a quarantine object ("" when absent or null); malloc'd. */
static char *cell_text(const quarantine_out *o, const char *day, const cJSON *obj, size_t i) {
  if (i == 0) return strdup(day);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, column_name(o, i));
  if (!v || cJSON_IsNull(v)) return strdup("");
  if (cJSON_IsString(v)) return strdup(v->valuestring);
  return cJSON_PrintUnformatted(v);
}

static int add_cell(quarantine_out *o, char *text) {
  if (!text) return SP_ERR_NOMEM;
  if (SP_ARRAY_RESERVE(o->cells, o->cap, o->ncells + 1, 64)) {
    free(text);
    return SP_ERR_NOMEM;
  }
  o->cells[o->ncells++] = text;
  return SP_OK;
}

static int write_line(sp_buf *b, sp_error *err) {
  if (fwrite(b->data, 1, b->len, stdout) != b->len) return sp_error_set(err, SP_ERR_IO, "writing stdout failed");
  sp_buf_reset(b);
  return SP_OK;
}

static int on_line(void *ctx, const char *day, const char *line, size_t len, sp_error *err) {
  quarantine_out *o = ctx;
  cJSON *obj = cJSON_ParseWithLength(line, len);
  if (!cJSON_IsObject(obj)) {
    o->unreadable++;
    cJSON_Delete(obj);
    return SP_OK;
  }
  int rc = SP_OK;
  if (o->pf == SP_PRINT_JSON) {
    char *text = cJSON_PrintUnformatted(obj);
    rc = text ? sp_buf_printf(&o->line, "%s\n", text) : SP_ERR_NOMEM;
    free(text);
  } else {
    for (size_t i = 0; i < o->ncols && !rc; i++) {
      char *text = cell_text(o, day, obj, i);
      if (o->pf == SP_PRINT_TABLE) {
        rc = add_cell(o, text);
        continue;
      }
      rc = text ? SP_OK : SP_ERR_NOMEM;
      if (!rc && i) rc = sp_buf_append_str(&o->line, ",");
      if (!rc) rc = sp_csv_append_string(&o->line, text, strlen(text));
      free(text);
    }
    if (!rc && o->pf == SP_PRINT_CSV) rc = sp_buf_append_str(&o->line, "\n");
  }
  cJSON_Delete(obj);
  if (rc) return sp_error_set(err, rc, "out of memory");
  return o->pf == SP_PRINT_TABLE ? SP_OK : write_line(&o->line, err);
}

/* The collected cells as aligned columns, a header first. */
static int print_table(quarantine_out *o, sp_error *err) {
  size_t *width = calloc(o->ncols, sizeof *width);
  if (!width) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < o->ncols; i++) width[i] = strlen(column_name(o, i));
  for (size_t k = 0; k < o->ncells; k++)
    if (strlen(o->cells[k]) > width[k % o->ncols]) width[k % o->ncols] = strlen(o->cells[k]);
  int rc = SP_OK;
  for (size_t k = 0; k < o->ncols + o->ncells && !rc; k++) {
    size_t col = k % o->ncols;
    const char *text = k < o->ncols ? column_name(o, k) : o->cells[k - o->ncols];
    bool last = col + 1 == o->ncols;
    rc = last ? sp_buf_printf(&o->line, "%s\n", text) : sp_buf_printf(&o->line, "%-*s  ", (int)width[col], text);
    if (!rc && last) rc = write_line(&o->line, err);
  }
  free(width);
  if (rc == SP_ERR_NOMEM) sp_error_set(err, rc, "out of memory");
  return rc;
}

static int parse_day(const sp_cli_context *ctx, const char *name, int32_t *day, bool *has) {
  const char *v = sp_cli_get(ctx, name);
  *has = v != NULL;
  if (v && sp_parse_date(v, day) != 0) {
    sp_cli_error("query quarantine: --%s \"%s\" is not a date (YYYY-MM-DD)", name, v);
    return SP_EXIT_USAGE;
  }
  return SP_EXIT_OK;
}

int sp_cmd_query_quarantine(const sp_cli_context *ctx) {
  static const char *const unsupported[] = {"tickers", "columns", "where", "limit", "output", "skip-bad-files"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (sp_cli_has(ctx, unsupported[i])) {
      sp_cli_error("query quarantine: --%s is not supported (see `stockpipe query --help`)", unsupported[i]);
      return SP_EXIT_USAGE;
    }
  const char *name = sp_cli_get(ctx, "dataset");
  const sp_dataset_def *ds = name ? sp_dataset_by_name(name) : NULL;
  if (!ds) {
    sp_cli_error(name ? "query quarantine: unknown dataset \"%s\"" : "query quarantine: --dataset is required%s",
                 name ? name : "");
    return SP_EXIT_USAGE;
  }
  quarantine_out o = {.ds = ds, .pf = SP_PRINT_JSON, .ncols = 3 + (size_t)ds->nkey, .line = SP_BUF_INIT};
  const char *format = sp_cli_get(ctx, "format");
  if (format && strcmp(format, "table") == 0) o.pf = SP_PRINT_TABLE;
  else if (format && strcmp(format, "csv") == 0) o.pf = SP_PRINT_CSV;
  else if (format && strcmp(format, "json") != 0 && strcmp(format, "jsonl") != 0) {
    sp_cli_error("query quarantine: unknown --format \"%s\" (json, csv, table)", format);
    return SP_EXIT_USAGE;
  }
  int32_t from, to;
  bool has_from, has_to;
  int exit_code = parse_day(ctx, "from", &from, &has_from);
  if (exit_code == SP_EXIT_OK) exit_code = parse_day(ctx, "to", &to, &has_to);
  sp_client *client = NULL;
  if (exit_code == SP_EXIT_OK) exit_code = sp_cmd_open_client(ctx, &client);
  if (exit_code == SP_EXIT_OK) {
    sp_error err = {0};
    int rc = SP_OK;
    if (o.pf == SP_PRINT_CSV) {
      for (size_t i = 0; i < o.ncols && !rc; i++)
        rc = sp_buf_printf(&o.line, "%s%s", i ? "," : "", column_name(&o, i));
      if (!rc) rc = sp_buf_append_str(&o.line, "\n");
      rc = rc ? sp_error_set(&err, rc, "out of memory") : write_line(&o.line, &err);
    }
    if (!rc)
      rc = sp_quarantine_each_line(sp_client_data_dir(client), ds, has_from ? &from : NULL, has_to ? &to : NULL,
                                   on_line, &o, &err);
    if (!rc && o.pf == SP_PRINT_TABLE) rc = print_table(&o, &err);
    if (!rc && fflush(stdout) != 0) rc = sp_error_set(&err, SP_ERR_IO, "writing stdout failed");
    if (rc) {
      sp_cli_error("query quarantine: %s", err.msg);
      exit_code = SP_EXIT_FAILURE;
    } else if (o.unreadable) {
      sp_cli_error("query quarantine: %llu line(s) were not JSON objects and were not printed",
                   (unsigned long long)o.unreadable);
    }
  }
  for (size_t i = 0; i < o.ncells; i++) free(o.cells[i]);
  free(o.cells);
  sp_buf_free(&o.line);
  sp_client_close(client);
  return exit_code;
}
