/*
 * quarantine_read.c — reading back the rows the pipeline quarantined (issue 10):
 * <data_dir>/quarantine/<dataset>/YYYY-MM-DD/<file>.jsonl, one JSON object per rejected
 * row (src/core/quarantine.c writes them).  Used by `stockpipe summary` (counts per
 * rule) and `stockpipe query quarantine` (the rows themselves).  Day folders and
 * files are visited in name order, so the output is stable.
 */
#include "query/query.h"

#include "core/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int only_visible(const struct dirent *e) { return e->d_name[0] != '.'; }

static int list_dir(const char *dir, struct dirent ***names, int *n, sp_error *err) {
  *n = scandir(dir, names, only_visible, alphasort);
  if (*n >= 0) return SP_OK;
  *names = NULL;
  *n = 0;
  if (errno == ENOENT || errno == ENOTDIR) return SP_OK;
  return sp_error_set(err, SP_ERR_IO, "reading %s: %s", dir, strerror(errno));
}

static void free_names(struct dirent **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static int read_lines(const char *path, const char *day, sp_quarantine_line_fn fn, void *ctx, sp_error *err) {
  FILE *f = fopen(path, "r");
  if (!f) return sp_error_set(err, SP_ERR_IO, "opening %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = SP_OK;
  while (!rc && (len = getline(&line, &cap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len > 0) rc = fn(ctx, day, line, (size_t)len, err);
  }
  if (!rc && ferror(f)) rc = sp_error_set(err, SP_ERR_IO, "reading %s", path);
  free(line);
  fclose(f);
  return rc;
}

int sp_quarantine_each_line(const char *data_dir, const sp_dataset_def *ds, const int32_t *from, const int32_t *to,
                            sp_quarantine_line_fn fn, void *ctx, sp_error *err) {
  char root[4096];
  if ((size_t)snprintf(root, sizeof root, "%s/quarantine/%s", data_dir, ds->name) >= sizeof root)
    return sp_error_set(err, SP_ERR_INVALID, "data directory path too long: %s", data_dir);
  struct dirent **days;
  int ndays, rc = list_dir(root, &days, &ndays, err);
  for (int d = 0; d < ndays && !rc; d++) {
    int32_t day;
    if (sp_parse_date(days[d]->d_name, &day) != 0) continue; /* not a day folder */
    if ((from && day < *from) || (to && day > *to)) continue;
    char dir[4096 + 256];
    snprintf(dir, sizeof dir, "%s/%s", root, days[d]->d_name);
    struct dirent **files;
    int nfiles;
    rc = list_dir(dir, &files, &nfiles, err);
    for (int i = 0; i < nfiles && !rc; i++) {
      size_t n = strlen(files[i]->d_name);
      if (n < 6 || strcmp(files[i]->d_name + n - 6, ".jsonl") != 0) continue;
      char path[4096 + 512];
      snprintf(path, sizeof path, "%s/%s", dir, files[i]->d_name);
      rc = read_lines(path, days[d]->d_name, fn, ctx, err);
    }
    free_names(files, nfiles);
  }
  free_names(days, ndays);
  return rc;
}
