/*
 * scan.c — the query engine's scan: for each discovered file, prune (partition date,
 * row-group statistics, dictionary pages for string IN/=), read only the needed
 * columns (filter columns first: the other columns of a row group are decoded only
 * when some row survives), evaluate the predicates one column vector (a row group)
 * at a time, and append the surviving rows to a columnar table.  Parquet string
 * columns are read coded (a dictionary once, a code per row): a string predicate is
 * evaluated once per distinct entry, and the table copies an entry only when a
 * surviving row uses it, keeping 32-bit codes per row.
 */
#include "query/query.h"

#include "core/timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the columnar table ---- */

static size_t width_of(sp_type t) {
  switch (t) {
  case SP_BOOL: return sizeof(bool);
  case SP_INT32:
  case SP_DATE: return sizeof(int32_t);
  case SP_STRING: return sizeof(uint32_t); /* codes */
  default: return 8;
  }
}

/* The table's row arrays (valid bytes, values, string codes) are anonymous mappings:
 * grown with mremap, which moves page tables instead of copying, and backed by
 * transparent huge pages once large (a 10M-row scan takes a few hundred page faults
 * instead of tens of thousands).  Sizes are rounded up to whole pages. */
static size_t array_bytes(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (bytes + page - 1) / page * page;
}

/* Resize *p (*bytes long, NULL / 0 at first) to `want` bytes; on failure nothing changes. */
static int array_resize(void **p, size_t *bytes, size_t want) {
  want = array_bytes(want);
  void *q = *p ? mremap(*p, *bytes, want, MREMAP_MAYMOVE)
               : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) return SP_ERR_NOMEM;
  if (want >= ((size_t)4 << 20)) (void)madvise(q, want, MADV_HUGEPAGE); /* a hint only */
  *p = q;
  *bytes = want;
  return SP_OK;
}

static void array_free(void *p, size_t bytes) {
  if (p) munmap(p, bytes);
}

int sp_table_init(sp_table *t, const sp_dataset_def *ds, const bool *used) {
  memset(t, 0, sizeof *t);
  t->ds = ds;
  t->cols = calloc((size_t)ds->ncolumns, sizeof *t->cols);
  if (!t->cols) return SP_ERR_NOMEM;
  for (int c = 0; c < ds->ncolumns; c++) t->cols[c].used = used[c];
  return SP_OK;
}

void sp_table_free(sp_table *t) {
  if (!t->cols) return;
  for (int c = 0; c < t->ds->ncolumns; c++) {
    array_free(t->cols[c].valid, t->cols[c].valid_bytes);
    array_free(t->cols[c].data, t->cols[c].data_bytes);
    free(t->cols[c].entry_offsets);
    sp_buf_free(&t->cols[c].bytes);
  }
  free(t->cols);
  memset(t, 0, sizeof *t);
}

void sp_table_truncate(sp_table *t, size_t nrows) {
  if (nrows < t->nrows) t->nrows = nrows; /* string entries of the dropped rows stay, unused */
}

static int table_reserve(sp_table *t, size_t extra) {
  if (t->nrows + extra <= t->cap) return SP_OK;
  size_t cap = t->cap ? t->cap : 1024;
  while (cap < t->nrows + extra) cap *= 2;
  for (int c = 0; c < t->ds->ncolumns; c++) {
    sp_table_column *col = &t->cols[c];
    if (!col->used) continue;
    size_t w = width_of(t->ds->columns[c].type);
    if (array_resize((void **)&col->valid, &col->valid_bytes, cap) ||
        array_resize(&col->data, &col->data_bytes, (cap + 1) * w))
      return SP_ERR_NOMEM;
  }
  t->cap = cap;
  return SP_OK;
}

/* Add string (s, len) as a new entry of column `col`; its code in *code. */
static int add_entry(sp_table_column *col, const char *s, size_t len, uint32_t *code) {
  if (col->nentries >= UINT32_MAX - 1) return SP_ERR_NOMEM; /* codes are 32-bit */
  if (col->nentries + 2 > col->cap_entries) {
    size_t cap = col->cap_entries ? col->cap_entries * 2 : 1024;
    size_t *e = realloc(col->entry_offsets, cap * sizeof *e);
    if (!e) return SP_ERR_NOMEM;
    if (!col->entry_offsets) e[0] = 0;
    col->entry_offsets = e;
    col->cap_entries = cap;
  }
  if (sp_buf_append(&col->bytes, s, len)) return SP_ERR_NOMEM;
  col->entry_offsets[col->nentries + 1] = col->bytes.len;
  *code = (uint32_t)col->nentries++;
  return SP_OK;
}

/* Strings: rows idx[0..n) (NULL = 0..n) of v into codes dst[0..n).  A coded vector's
 * entries are added when a gathered row first uses them; other vectors add one entry
 * per non-null row. */
static int gather_strings(sp_table_column *col, const sp_parquet_column_vector *v, const uint32_t *idx, size_t n,
                          uint32_t *dst) {
  const uint8_t *valid = v->valid;
  if (!v->coded) {
    for (size_t k = 0; k < n; k++) {
      size_t i = idx ? idx[k] : k;
      const uint32_t *off = v->str_offsets;
      dst[k] = 0;
      if (valid[i] && add_entry(col, v->str_bytes + off[i], off[i + 1] - off[i], &dst[k])) return SP_ERR_NOMEM;
    }
    return SP_OK;
  }
  uint32_t *remap = malloc((v->nentries ? v->nentries : 1) * sizeof *remap); /* vector entry -> table code */
  if (!remap) return SP_ERR_NOMEM;
  memset(remap, 0xff, (v->nentries ? v->nentries : 1) * sizeof *remap);
  int rc = SP_OK;
  for (size_t k = 0; k < n && !rc; k++) {
    size_t i = idx ? idx[k] : k;
    dst[k] = 0;
    if (!valid[i]) continue;
    uint32_t e = v->codes[i];
    if (remap[e] == UINT32_MAX)
      rc = add_entry(col, v->str_bytes + v->entry_offsets[e], v->entry_offsets[e + 1] - v->entry_offsets[e], &remap[e]);
    dst[k] = remap[e];
  }
  free(remap);
  return rc;
}

/* Gather the rows listed in idx[0..n) (NULL = rows 0..n) of vector v into column c at row `base`. */
static int gather(sp_table_column *col, sp_type type, const sp_parquet_column_vector *v, const uint32_t *idx,
                  size_t n, size_t base) {
#define GATHER(arr, T)                                                                                           \
  do {                                                                                                           \
    T *dst = (T *)col->data + base;                                                                              \
    if (!idx) {                                                                                                  \
      memcpy(col->valid + base, v->valid, n);                                                                    \
      memcpy(dst, v->arr, n * sizeof(T));                                                                        \
    } else                                                                                                       \
      for (size_t k = 0; k < n; k++) col->valid[base + k] = v->valid[idx[k]], dst[k] = v->arr[idx[k]];           \
  } while (0)
  switch (type) {
  case SP_BOOL: GATHER(bools, bool); break;
  case SP_INT32:
  case SP_DATE: GATHER(i32, int32_t); break;
  case SP_INT64:
  case SP_TIMESTAMP: GATHER(i64, int64_t); break;
  case SP_DOUBLE: GATHER(f64, double); break;
  case SP_STRING:
    if (!idx) memcpy(col->valid + base, v->valid, n);
    else
      for (size_t k = 0; k < n; k++) col->valid[base + k] = v->valid[idx[k]];
    return gather_strings(col, v, idx, n, (uint32_t *)col->data + base);
  }
#undef GATHER
  return SP_OK;
}

int sp_table_append(sp_table *t, sp_parquet_column_vector *const *vecs, size_t nrows, const uint8_t *sel) {
  uint32_t *idx = NULL;
  size_t nsel = nrows;
  if (sel) {
    idx = malloc((nrows ? nrows : 1) * sizeof *idx);
    if (!idx) return SP_ERR_NOMEM;
    nsel = 0;
    for (size_t i = 0; i < nrows; i++) {
      idx[nsel] = (uint32_t)i;
      nsel += sel[i] != 0;
    }
  }
  int rc = SP_OK;
  if (nsel && table_reserve(t, nsel)) rc = SP_ERR_NOMEM;
  for (int c = 0; c < t->ds->ncolumns && nsel && !rc; c++) {
    sp_table_column *col = &t->cols[c];
    if (!col->used) continue;
    sp_type type = t->ds->columns[c].type;
    if (vecs[c]) {
      rc = gather(col, type, vecs[c], idx, nsel, t->nrows);
      continue;
    }
    memset(col->valid + t->nrows, 0, nsel); /* absent from the file: null */
    memset((char *)col->data + t->nrows * width_of(type), 0, nsel * width_of(type));
  }
  free(idx);
  if (!rc) t->nrows += nsel;
  return rc;
}

int sp_table_compare_key(const sp_table *t, size_t a, size_t b) {
  const sp_dataset_def *ds = t->ds;
  for (int k = 0; k < ds->nkey; k++) {
    int c = ds->key_columns[k];
    const sp_table_column *col = &t->cols[c];
    bool va = col->valid[a], vb = col->valid[b];
    if (!va || !vb) {
      if (va != vb) return va ? 1 : -1;
      continue;
    }
    int r = 0;
    switch (ds->columns[c].type) {
    case SP_BOOL: r = SP_ORDER(((bool *)col->data)[a], ((bool *)col->data)[b]); break;
    case SP_INT32:
    case SP_DATE: r = SP_ORDER(((int32_t *)col->data)[a], ((int32_t *)col->data)[b]); break;
    case SP_INT64:
    case SP_TIMESTAMP: r = SP_ORDER(((int64_t *)col->data)[a], ((int64_t *)col->data)[b]); break;
    case SP_DOUBLE: r = SP_ORDER(((double *)col->data)[a], ((double *)col->data)[b]); break;
    case SP_STRING: {
      if (((const uint32_t *)col->data)[a] == ((const uint32_t *)col->data)[b]) break;
      size_t la, lb;
      const char *sa = sp_table_string(col, a, &la), *sb = sp_table_string(col, b, &lb);
      r = sp_order_bytes(sa, la, sb, lb);
      break;
    }
    }
    if (r) return r;
  }
  return 0;
}

/* ---- scanning ---- */

void sp_scan_free(sp_scan *scan) {
  for (size_t i = 0; i < scan->npreds; i++) sp_pred_free(&scan->preds[i]);
  free(scan->preds);
  free(scan->used);
  sp_free_strings(scan->skipped, scan->nskipped);
  memset(scan, 0, sizeof *scan);
}

static bool prunable_op(sp_qop op, sp_parquet_op *out) {
  switch (op) {
  case SP_Q_EQ: *out = SP_PQ_EQ; return true;
  case SP_Q_LT: *out = SP_PQ_LT; return true;
  case SP_Q_LE: *out = SP_PQ_LE; return true;
  case SP_Q_GT: *out = SP_PQ_GT; return true;
  case SP_Q_GE: *out = SP_PQ_GE; return true;
  case SP_Q_IN: *out = SP_PQ_IN; return true;
  default: return false;
  }
}

typedef struct file_state {
  sp_parquet_reader *reader;
  int *file_col;                    /* dataset column -> file column, -1 absent */
  sp_parquet_column_vector *vecs;   /* per dataset column */
  sp_parquet_column_vector **ptrs;  /* per dataset column: &vecs[c] or NULL */
  uint8_t *sel;
  size_t sel_cap;
  sp_parquet_predicate *pq;         /* prunable predicates in file columns */
  size_t npq;
} file_state;

static void file_state_free(file_state *fs, int ncolumns) {
  if (fs->vecs)
    for (int c = 0; c < ncolumns; c++) sp_parquet_column_vector_free(&fs->vecs[c]);
  free(fs->vecs);
  free(fs->ptrs);
  free(fs->file_col);
  free(fs->sel);
  free(fs->pq);
  if (fs->reader) sp_parquet_reader_close(fs->reader);
  memset(fs, 0, sizeof *fs);
}

static int ensure_sel(file_state *fs, size_t n) {
  if (n <= fs->sel_cap) return SP_OK;
  uint8_t *s = realloc(fs->sel, n);
  if (!s) return SP_ERR_NOMEM;
  fs->sel = s;
  fs->sel_cap = n;
  return SP_OK;
}

/* Evaluate every predicate over the row group's vectors into fs->sel (the columns
 * they need are read first); the number of selected rows in *nsel.  0 or
 * SP_ERR_NOMEM. */
static int filter_vectors(sp_scan *scan, file_state *fs, size_t nrows, size_t *nsel) {
  if (scan->npreds == 0) {
    *nsel = nrows; /* every row: callers do not read fs->sel then */
    return SP_OK;
  }
  memset(fs->sel, 1, nrows);
  for (size_t p = 0; p < scan->npreds; p++) {
    const sp_qpred *pr = &scan->preds[p];
    const sp_parquet_column_vector *v = fs->ptrs[pr->column];
    if (!v) { /* the column is absent from the file: all null, nothing matches */
      memset(fs->sel, 0, nrows);
      break;
    }
    if (sp_pred_filter(pr, v, fs->sel)) return SP_ERR_NOMEM;
  }
  size_t n = 0;
  for (size_t i = 0; i < nrows; i++) n += fs->sel[i];
  *nsel = n;
  return SP_OK;
}

static int read_parquet(sp_scan *scan, const sp_data_file *f, sp_table *t, file_state *fs, sp_error *err) {
  const sp_dataset_def *ds = scan->ds;
  int rc = sp_parquet_reader_open(&fs->reader, f->path, NULL, err);
  if (rc) return rc;
  for (int c = 0; c < ds->ncolumns; c++) {
    fs->file_col[c] = -1;
    if (!scan->used[c]) continue;
    int fc = sp_parquet_reader_column_index(fs->reader, ds->columns[c].name);
    if (fc >= 0 && sp_parquet_reader_column(fs->reader, fc)->type != ds->columns[c].type)
      return sp_error_set(err, SP_ERR_CORRUPT, "%s: column %s is %s, %s expects %s", f->path, ds->columns[c].name,
                          sp_type_name(sp_parquet_reader_column(fs->reader, fc)->type), ds->name,
                          sp_type_name(ds->columns[c].type));
    fs->file_col[c] = fc;
  }
  /* Predicates in file column numbers, for statistics and dictionary pruning. */
  fs->npq = 0;
  for (size_t p = 0; p < scan->npreds; p++) {
    sp_parquet_op op;
    int fc = fs->file_col[scan->preds[p].column];
    if (fc < 0 || !prunable_op(scan->preds[p].op, &op)) continue;
    fs->pq[fs->npq++] = (sp_parquet_predicate){fc, op, scan->preds[p].values, scan->preds[p].nvalues};
  }
  int ngroups = sp_parquet_reader_num_row_groups(fs->reader);
  for (int g = 0; g < ngroups; g++) {
    if (scan->stop_after >= 0 && (int64_t)t->nrows >= scan->stop_after) break;
    size_t nrows = (size_t)sp_parquet_reader_row_group_rows(fs->reader, g);
    if (nrows == 0) continue;
    if (!sp_parquet_row_group_may_match(fs->reader, g, fs->pq, fs->npq)) {
      scan->groups_pruned++;
      continue;
    }
    bool may = true;
    for (size_t p = 0; p < fs->npq && may; p++) {
      if ((fs->pq[p].op != SP_PQ_EQ && fs->pq[p].op != SP_PQ_IN) ||
          sp_parquet_reader_column(fs->reader, fs->pq[p].column)->type != SP_STRING)
        continue;
      rc = sp_parquet_row_group_dictionary_may_match(fs->reader, g, &fs->pq[p], &may, err);
      if (rc) return rc;
    }
    if (!may) {
      scan->groups_pruned++;
      continue;
    }
    scan->groups_read++;
    if (ensure_sel(fs, nrows)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    /* Filter columns first. */
    for (int c = 0; c < ds->ncolumns; c++) fs->ptrs[c] = NULL;
    for (size_t p = 0; p < scan->npreds; p++) {
      int c = scan->preds[p].column;
      if (fs->ptrs[c] || fs->file_col[c] < 0) continue;
      rc = sp_parquet_reader_read_column_coded(fs->reader, g, fs->file_col[c], &fs->vecs[c], err);
      if (rc) return rc;
      fs->ptrs[c] = &fs->vecs[c];
    }
    size_t nsel;
    if (filter_vectors(scan, fs, nrows, &nsel)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (nsel == 0) continue;
    for (int c = 0; c < ds->ncolumns; c++) {
      if (!scan->used[c] || fs->ptrs[c] || fs->file_col[c] < 0) continue;
      rc = sp_parquet_reader_read_column_coded(fs->reader, g, fs->file_col[c], &fs->vecs[c], err);
      if (rc) return rc;
      fs->ptrs[c] = &fs->vecs[c];
    }
    if (sp_table_append(t, fs->ptrs, nrows, nsel == nrows ? NULL : fs->sel))
      return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  return SP_OK;
}

static int read_text(sp_scan *scan, const sp_data_file *f, sp_table *t, file_state *fs, sp_error *err) {
  const sp_dataset_def *ds = scan->ds;
  size_t nrows;
  int rc = sp_text_read_file(f->path, f->kind, ds, scan->used, fs->vecs, &nrows, err);
  if (rc) return rc;
  for (int c = 0; c < ds->ncolumns; c++) fs->ptrs[c] = scan->used[c] ? &fs->vecs[c] : NULL;
  if (ensure_sel(fs, nrows + 1)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t nsel;
  if (filter_vectors(scan, fs, nrows, &nsel)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (nsel && sp_table_append(t, fs->ptrs, nrows, nsel == nrows ? NULL : fs->sel))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return SP_OK;
}

int sp_scan_file(sp_scan *scan, const sp_data_file *f, sp_table *t, sp_error *err) {
  int n = scan->ds->ncolumns;
  file_state fs = {0};
  fs.file_col = calloc((size_t)n, sizeof *fs.file_col);
  fs.vecs = calloc((size_t)n, sizeof *fs.vecs);
  fs.ptrs = calloc((size_t)n, sizeof *fs.ptrs);
  fs.pq = calloc(scan->npreds + 1, sizeof *fs.pq);
  int rc;
  if (!fs.file_col || !fs.vecs || !fs.ptrs || !fs.pq) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  else if (f->kind == SP_FILE_PARQUET) rc = read_parquet(scan, f, t, &fs, err);
  else rc = read_text(scan, f, t, &fs, err);
  file_state_free(&fs, n);
  if (!rc) scan->files_read++;
  return rc;
}

static bool partition_outside(const sp_scan *scan, const sp_data_file *f) {
  return scan->has_range && f->has_date && (f->date_hi < scan->from || f->date_lo > scan->to);
}

static int add_skipped(sp_scan *scan, const char *msg) {
  char **g = realloc(scan->skipped, (scan->nskipped + 1) * sizeof *g);
  if (!g) return SP_ERR_NOMEM;
  scan->skipped = g;
  if (!(g[scan->nskipped] = strdup(msg))) return SP_ERR_NOMEM;
  scan->nskipped++;
  return SP_OK;
}

/* Read the files of one partition folder; a vanished file means a compaction replaced
 * it: the folder is listed again and read again from its start. */
static int scan_partition(sp_scan *scan, const sp_data_file *files, size_t n, sp_table *t, sp_error *err) {
  size_t mark = t->nrows;
  size_t nskipped = scan->nskipped;
  sp_file_list relisted = {0};
  const sp_data_file *list = files;
  int rc = SP_OK;
  for (int attempt = 0; attempt < 50; attempt++) {
    rc = SP_OK;
    for (size_t i = 0; i < n && !rc; i++) {
      if (scan->stop_after >= 0 && (int64_t)t->nrows >= scan->stop_after) break;
      rc = sp_scan_file(scan, &list[i], t, err);
      if (rc == SP_ERR_CORRUPT || rc == SP_ERR_IO || rc == SP_ERR_UNSUPPORTED) {
        if (!scan->skip_bad_files) break;
        rc = add_skipped(scan, err->msg) ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : SP_OK;
      }
    }
    if (rc != SP_ERR_NOT_FOUND) break;
    /* Start the partition again over a fresh listing. */
    sp_table_truncate(t, mark);
    while (scan->nskipped > nskipped) free(scan->skipped[--scan->nskipped]);
    sp_data_file like = files[0];
    sp_file_list_free(&relisted);
    rc = sp_discover_dir(&like, &relisted, err);
    if (rc) break;
    list = relisted.files;
    n = relisted.n;
    rc = SP_ERR_NOT_FOUND;
  }
  sp_file_list_free(&relisted);
  return rc;
}

int sp_scan_files(sp_scan *scan, const sp_file_list *files, sp_table *t, sp_error *err) {
  size_t i = 0;
  while (i < files->n) {
    size_t j = i + 1;
    while (j < files->n && strcmp(files->files[j].dir, files->files[i].dir) == 0) j++;
    if (scan->stop_after >= 0 && (int64_t)t->nrows >= scan->stop_after) break;
    if (partition_outside(scan, &files->files[i])) {
      scan->files_pruned += j - i;
    } else {
      int rc = scan_partition(scan, &files->files[i], j - i, t, err);
      if (rc) return rc;
    }
    i = j;
  }
  return SP_OK;
}
