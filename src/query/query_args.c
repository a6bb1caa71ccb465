/*
 * query_args.c — the bridge from the command line to the client: `query` and
 * `export` share their filter options (--tickers LIST, --from, --to, --columns LIST,
 * --where..., --limit, --skip-bad-files), turned into an sp_client_query here, and
 * the dataset roots that configured sink paths add.
 */
#include "query/query.h"

#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Split `text` at commas into a NULL-free array of trimmed items (in *buf). */
static int split_list(const char *text, const char *what, char **buf, const char ***items, size_t *n, sp_error *err) {
  *n = 0;
  if (!text) return SP_OK;
  size_t count = 1;
  for (const char *p = text; *p; p++) count += *p == ',';
  *buf = strdup(text);
  *items = calloc(count, sizeof **items);
  if (!*buf || !*items) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  char *rest = *buf;
  char *tok;
  while ((tok = strsep(&rest, ",")) != NULL) {
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ') tok[--len] = '\0';
    if (!*tok) return sp_error_set(err, SP_ERR_INVALID, "--%s \"%s\": empty item in the list", what, text);
    (*items)[(*n)++] = tok;
  }
  return SP_OK;
}

int sp_query_args_build(sp_query_args *a, const char *dataset, const char *tickers, const char *from,
                        const char *to, const char *columns, const char *const *where, size_t nwhere,
                        const char *limit, bool skip_bad_files, sp_error *err) {
  memset(a, 0, sizeof *a);
  sp_client_query_init(&a->q, dataset);
  int rc = split_list(tickers, "tickers", &a->tickers_buf, &a->tickers, &a->q.ntickers, err);
  if (!rc) rc = split_list(columns, "columns", &a->columns_buf, &a->columns, &a->q.ncolumns, err);
  if (rc) return rc;
  a->q.tickers = a->tickers;
  a->q.columns = a->columns;
  a->q.from = from;
  a->q.to = to;
  a->q.where = where;
  a->q.nwhere = nwhere;
  a->q.skip_bad_files = skip_bad_files;
  if (limit) {
    char *end;
    errno = 0;
    long long v = strtoll(limit, &end, 10);
    if (!*limit || *end || errno || v < 0)
      return sp_error_set(err, SP_ERR_INVALID, "--limit \"%s\": expected a non-negative integer", limit);
    a->q.limit = v;
  }
  return SP_OK;
}

void sp_query_args_free(sp_query_args *a) {
  free(a->tickers_buf);
  free(a->columns_buf);
  free(a->tickers);
  free(a->columns);
  memset(a, 0, sizeof *a);
}

int sp_client_add_config_roots(sp_client *c, const sp_config *cfg, sp_error *err) {
  for (size_t i = 0; i < cfg->nsinks; i++) {
    const sp_config_sink *s = &cfg->sinks[i];
    if (s->type != SP_SINK_FILE || s->dataset < 0 || s->dataset >= SP_DS_COUNT || !s->path_template) continue;
    char root[PATH_MAX];
    const char *pct = strchr(s->path_template, '%');
    size_t len = pct ? (size_t)(pct - s->path_template) : strlen(s->path_template);
    if (len >= sizeof root) continue;
    memcpy(root, s->path_template, len);
    root[len] = '\0';
    if (pct) { /* cut back to the last complete folder */
      char *slash = strrchr(root, '/');
      if (!slash) continue;
      *slash = '\0';
    }
    /* The default root is already searched. */
    const sp_dataset_def *ds = sp_dataset_get((sp_dataset_id)s->dataset);
    char def[PATH_MAX];
    snprintf(def, sizeof def, "%s/%s/%s", sp_client_data_dir(c), ds->tier, ds->name);
    char real_def[PATH_MAX], real_root[PATH_MAX];
    if (strcmp(def, root) == 0 ||
        (realpath(def, real_def) && realpath(root, real_root) && strcmp(real_def, real_root) == 0))
      continue;
    int rc = sp_client_add_root(c, ds->name, root, err);
    if (rc) return rc;
  }
  return SP_OK;
}
