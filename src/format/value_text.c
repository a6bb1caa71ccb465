/*
 * value_text.c — typed values to text (see value_text.h).
 */
#include "format/value_text.h"

#include "core/timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sp_format_double(double v, char *buf) {
  if (isinf(v)) return (size_t)snprintf(buf, SP_DOUBLE_TEXT_MAX, v > 0 ? "inf" : "-inf");
  if (isnan(v)) return (size_t)snprintf(buf, SP_DOUBLE_TEXT_MAX, "nan");
  int n = 0;
  for (int precision = 15; precision <= 17; precision++) {
    n = snprintf(buf, SP_DOUBLE_TEXT_MAX, "%.*g", precision, v);
    if (strtod(buf, NULL) == v) break;
  }
  return (size_t)n;
}

int sp_value_append_text(sp_buf *out, sp_type type, const sp_value *v) {
  if (v->is_null) return SP_OK;
  char text[SP_TIMESTAMP_TEXT_MAX > SP_DOUBLE_TEXT_MAX ? SP_TIMESTAMP_TEXT_MAX : SP_DOUBLE_TEXT_MAX];
  size_t n;
  switch (type) {
  case SP_BOOL: return sp_buf_append_str(out, v->u.b ? "true" : "false");
  case SP_INT32: return sp_buf_printf(out, "%" PRId32, v->u.i32);
  case SP_INT64: return sp_buf_printf(out, "%" PRId64, v->u.i64);
  case SP_DOUBLE: n = sp_format_double(v->u.f64, text); break;
  case SP_DATE: n = sp_format_date(v->u.i32, text); break;
  case SP_TIMESTAMP: n = sp_format_timestamp(v->u.i64, text); break;
  case SP_STRING: return sp_buf_append(out, v->u.str.ptr, v->u.str.len);
  default: return SP_ERR_INVALID;
  }
  return sp_buf_append(out, text, n);
}

int sp_csv_append_string(sp_buf *out, const char *s, size_t len) {
  bool quote = len == 0 || memchr(s, ',', len) || memchr(s, '"', len) || memchr(s, '\n', len) ||
               memchr(s, '\r', len);
  if (!quote) return sp_buf_append(out, s, len);
  if (sp_buf_reserve(out, len + 2)) return SP_ERR_NOMEM;
  int rc = sp_buf_append_byte(out, '"');
  for (size_t i = 0; i < len && !rc; i++) {
    if (s[i] == '"') rc = sp_buf_append_byte(out, '"');
    if (!rc) rc = sp_buf_append_byte(out, (uint8_t)s[i]);
  }
  if (!rc) rc = sp_buf_append_byte(out, '"');
  return rc;
}

int sp_value_append_csv(sp_buf *out, sp_type type, const sp_value *v) {
  if (!v->is_null && type == SP_STRING) return sp_csv_append_string(out, v->u.str.ptr, v->u.str.len);
  return sp_value_append_text(out, type, v);
}

int sp_json_append_string(sp_buf *out, const char *s, size_t len) {
  if (sp_buf_reserve(out, len + 2)) return SP_ERR_NOMEM;
  int rc = sp_buf_append_byte(out, '"');
  size_t run = 0; /* start of the bytes not yet copied */
  for (size_t i = 0; i < len && !rc; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    rc = sp_buf_append(out, s + run, i - run);
    run = i + 1;
    if (rc) break;
    switch (c) {
    case '"': rc = sp_buf_append_str(out, "\\\""); break;
    case '\\': rc = sp_buf_append_str(out, "\\\\"); break;
    case '\n': rc = sp_buf_append_str(out, "\\n"); break;
    case '\r': rc = sp_buf_append_str(out, "\\r"); break;
    case '\t': rc = sp_buf_append_str(out, "\\t"); break;
    default: rc = sp_buf_printf(out, "\\u%04x", c); break;
    }
  }
  if (!rc) rc = sp_buf_append(out, s + run, len - run);
  if (!rc) rc = sp_buf_append_byte(out, '"');
  return rc;
}

int sp_value_append_json(sp_buf *out, sp_type type, const sp_value *v) {
  if (v->is_null || (type == SP_DOUBLE && !isfinite(v->u.f64))) return sp_buf_append_str(out, "null");
  switch (type) {
  case SP_STRING: return sp_json_append_string(out, v->u.str.ptr, v->u.str.len);
  case SP_DATE:
  case SP_TIMESTAMP: {
    int rc = sp_buf_append_byte(out, '"');
    if (!rc) rc = sp_value_append_text(out, type, v);
    if (!rc) rc = sp_buf_append_byte(out, '"');
    return rc;
  }
  default: return sp_value_append_text(out, type, v);
  }
}

static int column_at(const int *cols, int i) { return cols ? cols[i] : i; }

int sp_csv_append_header(sp_buf *out, const sp_dataset_def *ds, const int *cols, int ncols) {
  if (!cols) ncols = ds->ncolumns;
  int rc = SP_OK;
  for (int i = 0; i < ncols && !rc; i++) {
    const char *name = ds->columns[column_at(cols, i)].name;
    if (i) rc = sp_buf_append_byte(out, ',');
    if (!rc) rc = sp_csv_append_string(out, name, strlen(name));
  }
  if (!rc) rc = sp_buf_append_byte(out, '\n');
  return rc;
}

int sp_csv_append_row(sp_buf *out, const sp_row *row, const int *cols, int ncols) {
  if (!cols) ncols = row->ds->ncolumns;
  int rc = SP_OK;
  for (int i = 0; i < ncols && !rc; i++) {
    int c = column_at(cols, i);
    if (i) rc = sp_buf_append_byte(out, ',');
    if (!rc) rc = sp_value_append_csv(out, row->ds->columns[c].type, &row->values[c]);
  }
  if (!rc) rc = sp_buf_append_byte(out, '\n');
  return rc;
}

int sp_json_append_row(sp_buf *out, const sp_row *row, const int *cols, int ncols) {
  if (!cols) ncols = row->ds->ncolumns;
  int rc = sp_buf_append_byte(out, '{');
  for (int i = 0; i < ncols && !rc; i++) {
    int c = column_at(cols, i);
    const char *name = row->ds->columns[c].name;
    if (i) rc = sp_buf_append_byte(out, ',');
    if (!rc) rc = sp_json_append_string(out, name, strlen(name));
    if (!rc) rc = sp_buf_append_byte(out, ':');
    if (!rc) rc = sp_value_append_json(out, row->ds->columns[c].type, &row->values[c]);
  }
  if (!rc) rc = sp_buf_append_byte(out, '}');
  return rc;
}
