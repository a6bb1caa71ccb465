/*
 * result.c — result sets (stockpipe/client.h): the scanned table put in key order
 * and cut at the limit, typed accessors, printing as an aligned table, CSV or JSON
 * Lines through the one value formatter (format/value_text.h), and writing files
 * through the format writers (format/format.h), atomically.
 */
#include "query/query.h"

#include "core/durable.h"
#include "format/format.h"
#include "format/value_text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_rows(const void *a, const void *b, void *ctx) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = sp_table_compare_key(ctx, x, y);
  return c ? c : (x > y) - (x < y); /* stable: storage order among equal keys */
}

/* Heap of row indexes ordered so that the root is the largest (key, index). */
static void sift_down(size_t *h, size_t n, size_t i, const sp_table *t) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && cmp_rows(&h[l], &h[m], (void *)t) > 0) m = l;
    if (r < n && cmp_rows(&h[r], &h[m], (void *)t) > 0) m = r;
    if (m == i) return;
    size_t tmp = h[i];
    h[i] = h[m];
    h[m] = tmp;
    i = m;
  }
}

/* The first k rows in key order into order[0..k), sorted: a bounded heap, for a limit
 * much smaller than the result (O(n log k) instead of sorting everything). */
static void top_k(size_t *order, size_t n, size_t k, const sp_table *t) {
  for (size_t i = k / 2; i-- > 0;) sift_down(order, k, i, t);
  for (size_t i = k; i < n; i++) {
    if (cmp_rows(&order[i], &order[0], (void *)t) >= 0) continue;
    order[0] = order[i];
    sift_down(order, k, 0, t);
  }
  qsort_r(order, k, sizeof *order, cmp_rows, (void *)t);
}

int sp_result_make(sp_table *t, const int *out_cols, int nout, bool any_order, int64_t limit, sp_scan *scan,
                   sp_result **out, sp_error *err) {
  sp_result *r = calloc(1, sizeof *r);
  if (!r) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  r->table = *t;
  memset(t, 0, sizeof *t);
  r->nout = nout;
  r->out_cols = malloc((size_t)(nout ? nout : 1) * sizeof *r->out_cols);
  r->proj_cols = malloc((size_t)(nout ? nout : 1) * sizeof *r->proj_cols);
  if (!any_order) r->order = malloc((r->table.nrows ? r->table.nrows : 1) * sizeof *r->order);
  if (!r->out_cols || !r->proj_cols || (!any_order && !r->order)) {
    sp_result_free(r);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  const sp_dataset_def *ds = r->table.ds;
  for (int i = 0; i < nout; i++) {
    r->out_cols[i] = out_cols[i];
    r->proj_cols[i] = ds->columns[out_cols[i]];
  }
  r->proj = *ds;
  r->proj.columns = r->proj_cols;
  r->proj.ncolumns = nout;
  r->proj.key_columns = NULL;
  r->proj.nkey = 0;
  r->proj.date_column = 0;
  if (!any_order) {
    for (size_t i = 0; i < r->table.nrows; i++) r->order[i] = i;
    if (limit > 0 && (uint64_t)limit < r->table.nrows / 8) top_k(r->order, r->table.nrows, (size_t)limit, &r->table);
    else if (limit != 0 && r->table.nrows > 1) qsort_r(r->order, r->table.nrows, sizeof *r->order, cmp_rows, &r->table);
  }
  r->nrows = r->table.nrows;
  if (limit >= 0 && (uint64_t)limit < r->nrows) r->nrows = (size_t)limit;
  if (scan) {
    r->skipped = scan->skipped;
    r->nskipped = scan->nskipped;
    scan->skipped = NULL;
    scan->nskipped = 0;
  }
  *out = r;
  return SP_OK;
}

void sp_result_free(sp_result *r) {
  if (!r) return;
  sp_table_free(&r->table);
  free(r->out_cols);
  free(r->proj_cols);
  free(r->order);
  sp_free_strings(r->skipped, r->nskipped);
  free(r);
}

size_t sp_result_num_rows(const sp_result *r) { return r->nrows; }
int sp_result_num_columns(const sp_result *r) { return r->nout; }
const char *sp_result_column_name(const sp_result *r, int col) { return r->proj_cols[col].name; }
sp_type sp_result_column_type(const sp_result *r, int col) { return r->proj_cols[col].type; }
const sp_dataset_def *sp_result_dataset(const sp_result *r) { return r->table.ds; }
size_t sp_result_num_skipped(const sp_result *r) { return r->nskipped; }
const char *sp_result_skipped(const sp_result *r, size_t i) { return r->skipped[i]; }

int sp_result_column_index(const sp_result *r, const char *name) {
  for (int i = 0; i < r->nout; i++)
    if (strcmp(r->proj_cols[i].name, name) == 0) return i;
  return -1;
}

static const sp_table_column *cell(const sp_result *r, size_t row, int col, size_t *trow) {
  *trow = r->order ? r->order[row] : row;
  return &r->table.cols[r->out_cols[col]];
}

bool sp_result_is_null(const sp_result *r, size_t row, int col) {
  size_t t;
  return !cell(r, row, col, &t)->valid[t];
}

bool sp_result_get_bool(const sp_result *r, size_t row, int col) {
  size_t t;
  const sp_table_column *c = cell(r, row, col, &t);
  return r->proj_cols[col].type == SP_BOOL && c->valid[t] && ((bool *)c->data)[t];
}

int32_t sp_result_get_i32(const sp_result *r, size_t row, int col) {
  size_t t;
  const sp_table_column *c = cell(r, row, col, &t);
  sp_type ty = r->proj_cols[col].type;
  return (ty == SP_INT32 || ty == SP_DATE) && c->valid[t] ? ((int32_t *)c->data)[t] : 0;
}

int64_t sp_result_get_i64(const sp_result *r, size_t row, int col) {
  size_t t;
  const sp_table_column *c = cell(r, row, col, &t);
  sp_type ty = r->proj_cols[col].type;
  return (ty == SP_INT64 || ty == SP_TIMESTAMP) && c->valid[t] ? ((int64_t *)c->data)[t] : 0;
}

double sp_result_get_double(const sp_result *r, size_t row, int col) {
  size_t t;
  const sp_table_column *c = cell(r, row, col, &t);
  return r->proj_cols[col].type == SP_DOUBLE && c->valid[t] ? ((double *)c->data)[t] : 0.0;
}

const char *sp_result_get_string(const sp_result *r, size_t row, int col, size_t *len) {
  size_t t;
  const sp_table_column *c = cell(r, row, col, &t);
  *len = 0;
  if (r->proj_cols[col].type != SP_STRING || !c->valid[t]) return "";
  return sp_table_string(c, t, len);
}

void sp_result_fill_row(const sp_result *r, size_t row, sp_value *values) {
  size_t t = r->order ? r->order[row] : row;
  for (int i = 0; i < r->nout; i++) {
    const sp_table_column *c = &r->table.cols[r->out_cols[i]];
    sp_value *v = &values[i];
    v->is_null = !c->valid[t];
    if (v->is_null) continue;
    switch (r->proj_cols[i].type) {
    case SP_BOOL: v->u.b = ((bool *)c->data)[t]; break;
    case SP_INT32:
    case SP_DATE: v->u.i32 = ((int32_t *)c->data)[t]; break;
    case SP_INT64:
    case SP_TIMESTAMP: v->u.i64 = ((int64_t *)c->data)[t]; break;
    case SP_DOUBLE: v->u.f64 = ((double *)c->data)[t]; break;
    case SP_STRING: {
      size_t len;
      v->u.str.ptr = (char *)sp_table_string(c, t, &len); /* sp_value strings are borrowed */
      v->u.str.len = (uint32_t)len;
      break;
    }
    }
  }
}

/* ---- printing ---- */

static int flush_buf(sp_buf *b, FILE *out, sp_error *err) {
  if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
    return sp_error_set(err, SP_ERR_IO, "writing the output: %s", strerror(errno));
  sp_buf_reset(b);
  return SP_OK;
}

/* Display width of UTF-8 text: code points (continuation bytes do not count). */
static size_t text_width(const char *s, size_t len) {
  size_t w = 0;
  for (size_t i = 0; i < len; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
  return w;
}

/* Append at most `width` display characters of s, padded to `width`; a cut ends in '~'. */
static int append_cell(sp_buf *b, const char *s, size_t len, size_t width, bool right) {
  size_t w = text_width(s, len);
  int rc = SP_OK;
  if (w > width) {
    size_t i = 0, shown = 0;
    while (i < len && shown + 1 < width) {
      i++;
      while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
      shown++;
    }
    rc = sp_buf_append(b, s, i);
    for (size_t k = shown; k + 1 < width && !rc; k++) rc = sp_buf_append_byte(b, ' ');
    if (!rc && width) rc = sp_buf_append_byte(b, '~');
    return rc;
  }
  if (right)
    for (size_t k = w; k < width && !rc; k++) rc = sp_buf_append_byte(b, ' ');
  if (!rc) rc = sp_buf_append(b, s, len);
  if (!right)
    for (size_t k = w; k < width && !rc; k++) rc = sp_buf_append_byte(b, ' ');
  return rc;
}

/* Text of every cell (control characters shown as spaces), and the widths. */
static int print_table(const sp_result *r, FILE *out, int term_width, sp_error *err) {
  int nc = r->nout;
  size_t nr = r->nrows;
  sp_buf text = SP_BUF_INIT, line = SP_BUF_INIT;
  size_t *offs = malloc((nr * (size_t)nc + 1) * sizeof *offs);
  size_t *width = calloc((size_t)(nc ? nc : 1), sizeof *width);
  sp_value *vals = calloc((size_t)(nc ? nc : 1), sizeof *vals);
  int rc = (!offs || !width || !vals) ? SP_ERR_NOMEM : SP_OK;
  for (int c = 0; c < nc; c++) width[c] = text_width(r->proj_cols[c].name, strlen(r->proj_cols[c].name));
  for (size_t i = 0; i < nr && !rc; i++) {
    sp_result_fill_row(r, i, vals);
    for (int c = 0; c < nc && !rc; c++) {
      offs[i * (size_t)nc + (size_t)c] = text.len;
      size_t start = text.len;
      if (vals[c].is_null) rc = sp_buf_append_str(&text, "NULL");
      else rc = sp_value_append_text(&text, r->proj_cols[c].type, &vals[c]);
      for (size_t k = start; k < text.len; k++)
        if (text.data[k] < 0x20) text.data[k] = ' ';
      size_t w = text_width((const char *)text.data + start, text.len - start);
      if (w > width[c]) width[c] = w;
    }
  }
  if (offs) offs[nr * (size_t)nc] = text.len;
  if (rc) goto done;
  /* Fit: shrink the widest column one character at a time (not below 6). */
  if (term_width > 0) {
    size_t total = 0;
    for (int c = 0; c < nc; c++) total += width[c] + (c ? 2 : 0);
    while (total > (size_t)term_width) {
      int widest = 0;
      for (int c = 1; c < nc; c++)
        if (width[c] > width[widest]) widest = c;
      if (nc == 0 || width[widest] <= 6) break;
      width[widest]--;
      total--;
    }
  }
  for (int c = 0; c < nc && !rc; c++) {
    if (c) rc = sp_buf_append_str(&line, "  ");
    if (!rc) rc = append_cell(&line, r->proj_cols[c].name, strlen(r->proj_cols[c].name), width[c], false);
  }
  while (!rc && line.len && line.data[line.len - 1] == ' ') line.len--;
  if (!rc) rc = sp_buf_append_byte(&line, '\n');
  for (int c = 0; c < nc && !rc; c++) {
    if (c) rc = sp_buf_append_str(&line, "  ");
    for (size_t k = 0; k < width[c] && !rc; k++) rc = sp_buf_append_byte(&line, '-');
  }
  if (!rc) rc = sp_buf_append_byte(&line, '\n');
  for (size_t i = 0; i < nr && !rc; i++) {
    for (int c = 0; c < nc && !rc; c++) {
      size_t k = i * (size_t)nc + (size_t)c;
      sp_type t = r->proj_cols[c].type;
      bool right = t == SP_INT32 || t == SP_INT64 || t == SP_DOUBLE;
      if (c) rc = sp_buf_append_str(&line, "  ");
      if (!rc)
        rc = append_cell(&line, (const char *)text.data + offs[k], offs[k + 1] - offs[k], width[c], right);
    }
    while (!rc && line.len && line.data[line.len - 1] == ' ') line.len--;
    if (!rc) rc = sp_buf_append_byte(&line, '\n');
    if (!rc && line.len > 65536) rc = flush_buf(&line, out, err);
  }
  if (!rc) rc = sp_buf_printf(&line, "(%zu row%s)\n", nr, nr == 1 ? "" : "s");
  if (!rc) rc = flush_buf(&line, out, err);
done:
  if (rc == SP_ERR_NOMEM) sp_error_set(err, rc, "out of memory");
  free(offs);
  free(width);
  free(vals);
  sp_buf_free(&text);
  sp_buf_free(&line);
  return rc;
}

int sp_result_print(const sp_result *r, FILE *out, sp_print_format format, int width, sp_error *err) {
  if (format == SP_PRINT_TABLE) return print_table(r, out, width, err);
  sp_buf b = SP_BUF_INIT;
  sp_value *vals = calloc((size_t)(r->nout ? r->nout : 1), sizeof *vals);
  sp_row row = {&r->proj, vals};
  int rc = vals ? SP_OK : SP_ERR_NOMEM;
  if (!rc && format == SP_PRINT_CSV) rc = sp_csv_append_header(&b, &r->proj, NULL, 0);
  for (size_t i = 0; i < r->nrows && !rc; i++) {
    sp_result_fill_row(r, i, vals);
    if (format == SP_PRINT_CSV) rc = sp_csv_append_row(&b, &row, NULL, 0);
    else {
      rc = sp_json_append_row(&b, &row, NULL, 0);
      if (!rc) rc = sp_buf_append_byte(&b, '\n');
    }
    if (!rc && b.len > 65536) rc = flush_buf(&b, out, err);
  }
  if (!rc) rc = flush_buf(&b, out, err);
  if (!rc && fflush(out) != 0) rc = sp_error_set(err, SP_ERR_IO, "writing the output: %s", strerror(errno));
  if (rc == SP_ERR_NOMEM) sp_error_set(err, rc, "out of memory");
  free(vals);
  sp_buf_free(&b);
  return rc;
}

/* ---- writing files ---- */

enum { WRITE_BATCH = 4096 };

int sp_result_write_options(const sp_result *r, const char *path, const char *format,
                            const sp_format_options *options, sp_progress_fn progress, void *ctx, sp_error *err) {
  const sp_format_vtable *fmt = sp_format_find(format);
  if (!fmt) return sp_error_set(err, SP_ERR_INVALID, "unknown format \"%s\" (csv, parquet, json)", format ? format : "");
  char dir[PATH_MAX], tmp[PATH_MAX];
  sp_path_dirname(path, dir, sizeof dir);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, base) >= sizeof tmp)
    return sp_error_set(err, SP_ERR_INVALID, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sp_error_set(err, SP_ERR_IO, "%s: %s", tmp, strerror(errno));
  sp_format_writer *w = NULL;
  sp_row *rows = calloc(WRITE_BATCH, sizeof *rows);
  sp_value *vals = calloc((size_t)WRITE_BATCH * (size_t)(r->nout ? r->nout : 1), sizeof *vals);
  int rc = rows && vals ? fmt->open(&w, fd, &r->proj, options, err) : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < r->nrows && !rc; i += WRITE_BATCH) {
    size_t n = r->nrows - i < WRITE_BATCH ? r->nrows - i : WRITE_BATCH;
    for (size_t k = 0; k < n; k++) {
      rows[k].ds = &r->proj;
      rows[k].values = vals + k * (size_t)r->nout;
      sp_result_fill_row(r, i + k, rows[k].values);
    }
    rc = fmt->write_rows(w, rows, n, err);
    if (!rc && progress) progress(ctx, i + n, r->nrows);
  }
  if (!rc) rc = fmt->finish(w, err);
  if (w) fmt->destroy(w);
  free(rows);
  free(vals);
  if (!rc && fsync(fd) != 0) rc = sp_error_set(err, SP_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
  if (close(fd) != 0 && !rc) rc = sp_error_set(err, SP_ERR_IO, "%s: %s", tmp, strerror(errno));
  if (!rc && rename(tmp, path) != 0) rc = sp_error_set(err, SP_ERR_IO, "%s: %s", path, strerror(errno));
  if (rc) {
    unlink(tmp);
    return rc;
  }
  return sp_fsync_dir(dir, err);
}

int sp_result_write_progress(const sp_result *r, const char *path, const char *format, sp_progress_fn progress,
                             void *ctx, sp_error *err) {
  return sp_result_write_options(r, path, format, NULL, progress, ctx, err);
}

int sp_result_write(const sp_result *r, const char *path, const char *format, sp_error *err) {
  return sp_result_write_options(r, path, format, NULL, NULL, NULL, err);
}
