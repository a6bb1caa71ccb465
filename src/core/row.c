/*
 * row.c — typed rows and their event encoding (see row.h).
 */
#include "core/row.h"

#include "core/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROW_ENCODING_VERSION 1

int sp_row_init(sp_row *row, const sp_dataset_def *ds) {
  row->ds = ds;
  row->values = calloc((size_t)ds->ncolumns, sizeof *row->values);
  if (!row->values) return SP_ERR_NOMEM;
  for (int i = 0; i < ds->ncolumns; i++) row->values[i].is_null = true;
  return SP_OK;
}

static void free_value(const sp_row *row, int col) {
  if (row->ds->columns[col].type == SP_STRING && !row->values[col].is_null) {
    free(row->values[col].u.str.ptr);
    row->values[col].u.str.ptr = NULL;
  }
}

void sp_row_reset(sp_row *row) {
  if (!row->values) return;
  for (int i = 0; i < row->ds->ncolumns; i++) {
    free_value(row, i);
    row->values[i].is_null = true;
  }
}

void sp_row_clear(sp_row *row) {
  if (!row->values) return;
  sp_row_reset(row);
  free(row->values);
  row->values = NULL;
}

static int check_col(const sp_row *row, int col, sp_type a, sp_type b) {
  if (col < 0 || col >= row->ds->ncolumns) return SP_ERR_INVALID;
  sp_type t = row->ds->columns[col].type;
  return (t == a || t == b) ? SP_OK : SP_ERR_INVALID;
}

int sp_row_set_null(sp_row *row, int col) {
  if (col < 0 || col >= row->ds->ncolumns) return SP_ERR_INVALID;
  free_value(row, col);
  row->values[col].is_null = true;
  return SP_OK;
}

int sp_row_set_bool(sp_row *row, int col, bool v) {
  if (check_col(row, col, SP_BOOL, SP_BOOL)) return SP_ERR_INVALID;
  row->values[col].is_null = false;
  row->values[col].u.b = v;
  return SP_OK;
}

int sp_row_set_i32(sp_row *row, int col, int32_t v) {
  if (check_col(row, col, SP_INT32, SP_DATE)) return SP_ERR_INVALID;
  row->values[col].is_null = false;
  row->values[col].u.i32 = v;
  return SP_OK;
}

int sp_row_set_i64(sp_row *row, int col, int64_t v) {
  if (check_col(row, col, SP_INT64, SP_TIMESTAMP)) return SP_ERR_INVALID;
  row->values[col].is_null = false;
  row->values[col].u.i64 = v;
  return SP_OK;
}

int sp_row_set_double(sp_row *row, int col, double v) {
  if (check_col(row, col, SP_DOUBLE, SP_DOUBLE)) return SP_ERR_INVALID;
  if (isnan(v)) return sp_row_set_null(row, col);
  row->values[col].is_null = false;
  row->values[col].u.f64 = v;
  return SP_OK;
}

int sp_row_set_string(sp_row *row, int col, const char *s, size_t len) {
  if (check_col(row, col, SP_STRING, SP_STRING)) return SP_ERR_INVALID;
  if (len > UINT32_MAX) return SP_ERR_INVALID;
  char *copy = malloc(len + 1);
  if (!copy) return SP_ERR_NOMEM;
  if (len) memcpy(copy, s, len);
  copy[len] = '\0';
  free_value(row, col);
  row->values[col].is_null = false;
  row->values[col].u.str.ptr = copy;
  row->values[col].u.str.len = (uint32_t)len;
  return SP_OK;
}

int sp_row_set_cstr(sp_row *row, int col, const char *s) {
  return s ? sp_row_set_string(row, col, s, strlen(s)) : sp_row_set_null(row, col);
}

int sp_row_col(const sp_row *row, const char *name) { return sp_dataset_column_index(row->ds, name); }

int sp_row_copy(sp_row *dst, const sp_row *src) {
  int rc = sp_row_init(dst, src->ds);
  if (rc) return rc;
  for (int i = 0; i < src->ds->ncolumns; i++) {
    const sp_value *v = &src->values[i];
    if (v->is_null) continue;
    if (src->ds->columns[i].type == SP_STRING) {
      rc = sp_row_set_string(dst, i, v->u.str.ptr, v->u.str.len);
      if (rc) {
        sp_row_clear(dst);
        return rc;
      }
    } else {
      dst->values[i] = *v;
    }
  }
  return SP_OK;
}

int sp_row_encode(const sp_row *row, sp_buf *out) {
  const sp_dataset_def *ds = row->ds;
  int n = ds->ncolumns;
  uint8_t head[4] = {ROW_ENCODING_VERSION, (uint8_t)ds->id, (uint8_t)n, (uint8_t)(n >> 8)};
  if (sp_buf_append(out, head, 4)) return SP_ERR_NOMEM;
  uint8_t bitmap[32] = {0};
  for (int i = 0; i < n; i++)
    if (row->values[i].is_null) bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
  if (sp_buf_append(out, bitmap, (size_t)(n + 7) / 8)) return SP_ERR_NOMEM;
  for (int i = 0; i < n; i++) {
    const sp_value *v = &row->values[i];
    if (v->is_null) continue;
    int rc = SP_OK;
    switch (ds->columns[i].type) {
    case SP_BOOL: rc = sp_buf_append_byte(out, v->u.b ? 1 : 0); break;
    case SP_INT32:
    case SP_DATE: rc = sp_buf_append_u32le(out, (uint32_t)v->u.i32); break;
    case SP_INT64:
    case SP_TIMESTAMP: rc = sp_buf_append_u64le(out, (uint64_t)v->u.i64); break;
    case SP_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &v->u.f64, 8);
      rc = sp_buf_append_u64le(out, bits);
      break;
    }
    case SP_STRING:
      rc = sp_buf_append_u32le(out, v->u.str.len);
      if (!rc) rc = sp_buf_append(out, v->u.str.ptr, v->u.str.len);
      break;
    }
    if (rc) return rc;
  }
  return SP_OK;
}

static uint64_t read_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int sp_row_decode(const uint8_t *data, size_t len, sp_row *row, sp_error *err) {
  row->values = NULL;
  if (len < 4) return sp_error_set(err, SP_ERR_CORRUPT, "event too short (%zu bytes)", len);
  if (data[0] != ROW_ENCODING_VERSION)
    return sp_error_set(err, SP_ERR_CORRUPT, "unknown event encoding version %u", data[0]);
  const sp_dataset_def *ds = sp_dataset_get((sp_dataset_id)data[1]);
  if (!ds) return sp_error_set(err, SP_ERR_CORRUPT, "unknown dataset id %u in event", data[1]);
  int n = data[2] | (data[3] << 8);
  if (n != ds->ncolumns)
    return sp_error_set(err, SP_ERR_CORRUPT, "event has %d columns, %s has %d", n, ds->name,
                        ds->ncolumns);
  size_t pos = 4, bitmap_len = (size_t)(n + 7) / 8;
  if (len < pos + bitmap_len) return sp_error_set(err, SP_ERR_CORRUPT, "event truncated in null bitmap");
  const uint8_t *bitmap = data + pos;
  pos += bitmap_len;
  if (sp_row_init(row, ds)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory decoding event");
  for (int i = 0; i < n; i++) {
    if (bitmap[i / 8] & (1u << (i % 8))) continue;
    sp_value *v = &row->values[i];
    size_t need;
    switch (ds->columns[i].type) {
    case SP_BOOL: need = 1; break;
    case SP_INT32:
    case SP_DATE: need = 4; break;
    case SP_STRING: need = 4; break;
    default: need = 8; break;
    }
    if (len - pos < need) goto truncated;
    switch (ds->columns[i].type) {
    case SP_BOOL: v->u.b = data[pos] != 0; break;
    case SP_INT32:
    case SP_DATE: v->u.i32 = (int32_t)(uint32_t)read_le(data + pos, 4); break;
    case SP_INT64:
    case SP_TIMESTAMP: v->u.i64 = (int64_t)read_le(data + pos, 8); break;
    case SP_DOUBLE: {
      uint64_t bits = read_le(data + pos, 8);
      memcpy(&v->u.f64, &bits, 8);
      break;
    }
    case SP_STRING: {
      uint32_t slen = (uint32_t)read_le(data + pos, 4);
      if (len - pos - 4 < slen) goto truncated;
      if (sp_row_set_string(row, i, (const char *)data + pos + 4, slen)) {
        sp_row_clear(row);
        return sp_error_set(err, SP_ERR_NOMEM, "out of memory decoding event");
      }
      need = 4 + (size_t)slen;
      break;
    }
    }
    v->is_null = false;
    pos += need;
  }
  if (pos != len) {
    sp_row_clear(row);
    return sp_error_set(err, SP_ERR_CORRUPT, "event has %zu trailing bytes", len - pos);
  }
  return SP_OK;
truncated:
  sp_row_clear(row);
  return sp_error_set(err, SP_ERR_CORRUPT, "event truncated in a %s value", ds->name);
}

static int compare_value(sp_type type, const sp_value *a, const sp_value *b) {
  if (a->is_null || b->is_null) return a->is_null == b->is_null ? 0 : (a->is_null ? -1 : 1);
  return SP_VALUE_ORDER(type, a->u, b->u);
}

int sp_row_compare_key(const sp_row *a, const sp_row *b) {
  const sp_dataset_def *ds = a->ds;
  for (int k = 0; k < ds->nkey; k++) {
    int col = ds->key_columns[k];
    int c = compare_value(ds->columns[col].type, &a->values[col], &b->values[col]);
    if (c) return c;
  }
  return 0;
}

int32_t sp_row_date(const sp_row *row) {
  const sp_value *v = &row->values[row->ds->date_column];
  if (v->is_null) return 0;
  return row->ds->columns[row->ds->date_column].type == SP_DATE ? v->u.i32
                                                                : sp_timestamp_to_days(v->u.i64);
}
