/*
 * compact.c — `stockpipe compact` / sp_client_compact: merge each day's many small
 * files into one, in key order, without duplicate keys.
 *
 * Protocol (readers never see a partial state, a row twice or a row missing):
 *  1. In a partition folder, the sink-named files "<prefix><first>-<last><ext>" of one
 *     prefix and extension are read, ordered by key, de-duplicated (the row of the
 *     file with the lowest sequence numbers wins) and written to the hidden
 *     ".<merged>.tmp", fsynced.
 *  2. It is renamed to "<prefix><min first>-<max last><ext>" and the folder fsynced:
 *     from this instant discovery (discovery.c) treats every input — a sink-named
 *     file whose range lies strictly inside the merged range — as superseded, whether
 *     or not it still exists.  A reader that listed the folder before the rename
 *     reads the inputs; one that lists after reads only the merged file.
 *  3. The inputs are unlinked and the folder fsynced.  A reader that listed before
 *     the rename and finds an input gone lists the folder again and re-reads that
 *     partition from scratch (scan.c), seeing the merged file.
 * A crash between 2 and 3 leaves superseded inputs, which discovery ignores and the
 * next compaction removes.  The merged name is a valid sink name, so the file sink's
 * replay protection (sequence ranges already published) keeps working.
 */
#include "query/query.h"

#include "core/durable.h"
#include "core/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct seq_file {
  const sp_data_file *file;
  const char *name; /* base name */
  size_t prefix_len;
  uint64_t first, last;
  const char *ext;
} seq_file;

static int cmp_seq(const void *a, const void *b) {
  const seq_file *x = a, *y = b;
  int c = x->prefix_len != y->prefix_len ? (x->prefix_len < y->prefix_len ? -1 : 1)
                                         : strncmp(x->name, y->name, x->prefix_len);
  if (!c) c = strcmp(x->ext, y->ext);
  if (!c) c = (x->first > y->first) - (x->first < y->first);
  return c;
}

static bool same_group(const seq_file *a, const seq_file *b) {
  return a->prefix_len == b->prefix_len && strncmp(a->name, b->name, a->prefix_len) == 0 && strcmp(a->ext, b->ext) == 0;
}

/* Remove superseded inputs a crashed compaction left: sink-named files inside the
 * range of a file `live` lists. */
static int remove_superseded(const char *dir, const seq_file *live, size_t nlive, sp_error *err) {
  DIR *d = opendir(dir);
  if (!d) return SP_OK;
  struct dirent *de;
  int rc = SP_OK;
  bool removed = false;
  while (!rc && (de = readdir(d)) != NULL) {
    size_t plen;
    uint64_t first, last;
    const char *ext;
    if (de->d_name[0] == '.' || !sp_parse_seq_name(de->d_name, &plen, &first, &last, &ext)) continue;
    seq_file me = {NULL, de->d_name, plen, first, last, ext};
    for (size_t i = 0; i < nlive; i++) {
      if (!same_group(&me, &live[i]) || first < live[i].first || last > live[i].last) continue;
      if (first == live[i].first && last == live[i].last) continue;
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      if (unlink(path) != 0 && errno != ENOENT) rc = sp_error_set(err, SP_ERR_IO, "deleting %s: %s", path, strerror(errno));
      removed = true;
      break;
    }
  }
  closedir(d);
  if (!rc && removed) rc = sp_fsync_dir(dir, err);
  return rc;
}

/* Rows per row group of a merged Parquet file.  The merged rows are in key order, so
 * small row groups give each a narrow key range (a few tickers) that statistics can
 * prune on; STOCKPIPE_COMPACT_ROW_GROUP overrides it (benchmarks). */
static size_t compact_row_group_rows(void) {
  const char *env = getenv("STOCKPIPE_COMPACT_ROW_GROUP");
  long v = env ? strtol(env, NULL, 10) : 0;
  return v > 0 ? (size_t)v : 4096;
}

static const char *kind_format(sp_file_kind k) {
  return k == SP_FILE_PARQUET ? "parquet" : k == SP_FILE_CSV ? "csv" : "jsonl";
}

/* Merge files g[0..n) (one group, sorted by first sequence) of folder `dir`. */
static int merge_group(const sp_dataset_def *ds, const char *dir, const seq_file *g, size_t n,
                       sp_compact_stats *stats, sp_error *err) {
  sp_scan scan = {0};
  scan.ds = ds;
  scan.stop_after = -1;
  scan.used = malloc((size_t)ds->ncolumns * sizeof *scan.used);
  int *cols = malloc((size_t)ds->ncolumns * sizeof *cols);
  sp_table t = {0};
  sp_result *r = NULL;
  int rc = scan.used && cols ? SP_OK : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (int c = 0; c < ds->ncolumns && !rc; c++) scan.used[c] = true, cols[c] = c;
  if (!rc && sp_table_init(&t, ds, scan.used)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n && !rc; i++) rc = sp_scan_file(&scan, g[i].file, &t, err);
  if (!rc) rc = sp_result_make(&t, cols, ds->ncolumns, false, -1, NULL, &r, err);
  if (!rc) {
    /* Equal keys are adjacent and in file order: keep the first of each run. */
    size_t w = 0;
    for (size_t i = 0; i < r->nrows; i++) {
      if (w > 0 && sp_table_compare_key(&r->table, r->order[w - 1], r->order[i]) == 0) {
        stats->duplicates++;
        continue;
      }
      r->order[w++] = r->order[i];
    }
    r->nrows = w;
    uint64_t first = g[0].first, last = g[0].last;
    for (size_t i = 1; i < n; i++) {
      if (g[i].first < first) first = g[i].first;
      if (g[i].last > last) last = g[i].last;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%.*s%llu-%llu%s", dir, (int)g[0].prefix_len, g[0].name,
             (unsigned long long)first, (unsigned long long)last, g[0].ext);
    sp_format_options fo = {NULL, 0, compact_row_group_rows()};
    rc = sp_result_write_options(r, path, kind_format(g[0].file->kind), &fo, NULL, NULL, err);
  }
  for (size_t i = 0; i < n && !rc; i++)
    if (unlink(g[i].file->path) != 0 && errno != ENOENT)
      rc = sp_error_set(err, SP_ERR_IO, "deleting %s: %s", g[i].file->path, strerror(errno));
  if (!rc) rc = sp_fsync_dir(dir, err);
  if (!rc) {
    stats->partitions++;
    stats->files_in += n;
    stats->rows_out += r->nrows;
  }
  sp_result_free(r);
  sp_table_free(&t);
  free(cols);
  sp_scan_free(&scan);
  return rc;
}

static int compact_partition(const sp_dataset_def *ds, const sp_data_file *like, sp_compact_stats *stats,
                             sp_error *err) {
  sp_file_list files;
  int rc = sp_discover_dir(like, &files, err);
  if (rc) return rc;
  seq_file *sf = calloc(files.n ? files.n : 1, sizeof *sf);
  size_t n = 0;
  if (!sf) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < files.n && !rc; i++) {
    const char *base = strrchr(files.files[i].path, '/');
    base = base ? base + 1 : files.files[i].path;
    seq_file s = {&files.files[i], base, 0, 0, 0, NULL};
    if (sp_parse_seq_name(base, &s.prefix_len, &s.first, &s.last, &s.ext)) sf[n++] = s;
  }
  if (!rc) rc = remove_superseded(like->dir, sf, n, err);
  if (!rc && n > 1) qsort(sf, n, sizeof *sf, cmp_seq);
  for (size_t i = 0; i < n && !rc;) {
    size_t j = i + 1;
    while (j < n && same_group(&sf[i], &sf[j])) j++;
    if (j - i > 1) rc = merge_group(ds, like->dir, &sf[i], j - i, stats, err);
    i = j;
  }
  free(sf);
  sp_file_list_free(&files);
  return rc;
}

int sp_client_compact(sp_client *c, const char *dataset, int32_t before, sp_compact_stats *stats, sp_error *err) {
  sp_compact_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  const sp_dataset_def *only = NULL;
  if (dataset && !(only = sp_dataset_by_name(dataset)))
    return sp_error_set(err, SP_ERR_NOT_FOUND,
                        "unknown dataset \"%s\" (financial_data, stock_movements, news, macroeconomic, policy)",
                        dataset);
  int rc = SP_OK;
  for (int d = 0; d < SP_DS_COUNT && !rc; d++) {
    const sp_dataset_def *ds = sp_dataset_get((sp_dataset_id)d);
    if (only && only != ds) continue;
    char **roots;
    size_t nroots;
    sp_file_list files;
    rc = sp_client_roots(c, ds, &roots, &nroots, err);
    if (rc) break;
    rc = sp_discover_files((const char *const *)roots, nroots, &files, err);
    sp_free_strings(roots, nroots);
    for (size_t i = 0; i < files.n && !rc; i++) {
      const sp_data_file *f = &files.files[i];
      if (i > 0 && strcmp(files.files[i - 1].dir, f->dir) == 0) continue;
      if (!f->has_date || f->date_hi >= before) continue;
      rc = compact_partition(ds, f, stats, err);
    }
    sp_file_list_free(&files);
  }
  return rc;
}
