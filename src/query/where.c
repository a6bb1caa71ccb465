/*
 * where.c — predicates of the query engine: `--where "column OP value"` parsing,
 * values typed by their column (SPEC §4, §7), IN lists for ticker / indicator /
 * event-type filters, and evaluation over a decoded column vector (a row group or a
 * text file at a time) into a selection mask.
 */
#include "query/query.h"

#include "core/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sp_pred_free(sp_qpred *p) {
  free(p->values);
  free(p->strings);
  memset(p, 0, sizeof *p);
}

int sp_value_parse(sp_type type, const char *text, size_t len, sp_parquet_value *v) {
  char tmp[64];
  memset(v, 0, sizeof *v);
  if (type == SP_STRING) {
    v->u.str.ptr = text;
    v->u.str.len = len;
    return SP_OK;
  }
  if (len == 0 || len >= sizeof tmp) return SP_ERR_INVALID;
  memcpy(tmp, text, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  switch (type) {
  case SP_BOOL:
    if (strcasecmp(tmp, "true") == 0) v->u.b = true;
    else if (strcasecmp(tmp, "false") == 0) v->u.b = false;
    else return SP_ERR_INVALID;
    return SP_OK;
  case SP_INT32: {
    long long x = strtoll(tmp, &end, 10);
    if (*end || errno || x < INT32_MIN || x > INT32_MAX) return SP_ERR_INVALID;
    v->u.i32 = (int32_t)x;
    return SP_OK;
  }
  case SP_INT64: {
    long long x = strtoll(tmp, &end, 10);
    if (*end || errno) return SP_ERR_INVALID;
    v->u.i64 = x;
    return SP_OK;
  }
  case SP_DOUBLE: {
    double x = strtod(tmp, &end);
    if (*end || isnan(x) || (errno == ERANGE && isinf(x) == 0 && x != 0)) return SP_ERR_INVALID;
    v->u.f64 = x;
    return SP_OK;
  }
  case SP_DATE: return sp_parse_date(tmp, &v->u.i32) ? SP_ERR_INVALID : SP_OK;
  case SP_TIMESTAMP: return sp_parse_timestamp(tmp, &v->u.i64) ? SP_ERR_INVALID : SP_OK;
  default: return SP_ERR_INVALID;
  }
}

static const char *type_example(sp_type t) {
  switch (t) {
  case SP_BOOL: return "true or false";
  case SP_INT32:
  case SP_INT64: return "an integer";
  case SP_DOUBLE: return "a number";
  case SP_DATE: return "a date YYYY-MM-DD";
  case SP_TIMESTAMP: return "an ISO 8601 time such as 2026-11-25T14:30:00Z";
  default: return "a string";
  }
}

int sp_where_parse(const sp_dataset_def *ds, const char *expr, sp_qpred *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  const char *p = expr;
  while (isspace((unsigned char)*p)) p++;
  const char *name = p;
  while (isalnum((unsigned char)*p) || *p == '_') p++;
  size_t name_len = (size_t)(p - name);
  while (isspace((unsigned char)*p)) p++;
  sp_qop op;
  if (p[0] == '>' && p[1] == '=') op = SP_Q_GE, p += 2;
  else if (p[0] == '<' && p[1] == '=') op = SP_Q_LE, p += 2;
  else if (p[0] == '!' && p[1] == '=') op = SP_Q_NE, p += 2;
  else if (p[0] == '<' && p[1] == '>') op = SP_Q_NE, p += 2;
  else if (p[0] == '=' && p[1] == '=') op = SP_Q_EQ, p += 2;
  else if (p[0] == '=') op = SP_Q_EQ, p += 1;
  else if (p[0] == '<') op = SP_Q_LT, p += 1;
  else if (p[0] == '>') op = SP_Q_GT, p += 1;
  else
    return sp_error_set(err, SP_ERR_INVALID,
                        "--where \"%s\": expected `column OP value` with OP one of = != < <= > >=", expr);
  if (name_len == 0 || name_len > 63)
    return sp_error_set(err, SP_ERR_INVALID, "--where \"%s\": missing column name before the operator", expr);
  char col[64];
  memcpy(col, name, name_len);
  col[name_len] = '\0';
  int c = sp_dataset_column_index(ds, col);
  if (c < 0) return sp_error_set(err, SP_ERR_NOT_FOUND, "--where \"%s\": %s has no column \"%s\"", expr, ds->name, col);
  while (isspace((unsigned char)*p)) p++;
  const char *end = p + strlen(p);
  while (end > p && isspace((unsigned char)end[-1])) end--;
  /* The value: '...' with '' for a quote, or the bare rest of the expression. */
  char *text = malloc((size_t)(end - p) + 1);
  if (!text) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t len = 0;
  if (*p == '\'') {
    const char *q = p + 1;
    for (;;) {
      if (q >= end) {
        free(text);
        return sp_error_set(err, SP_ERR_INVALID, "--where \"%s\": unterminated quoted value", expr);
      }
      if (*q == '\'') {
        if (q + 1 < end && q[1] == '\'') {
          text[len++] = '\'';
          q += 2;
          continue;
        }
        q++;
        break;
      }
      text[len++] = *q++;
    }
    if (q != end) {
      free(text);
      return sp_error_set(err, SP_ERR_INVALID, "--where \"%s\": text after the quoted value", expr);
    }
  } else {
    if (p == end) {
      free(text);
      return sp_error_set(err, SP_ERR_INVALID, "--where \"%s\": missing value after the operator", expr);
    }
    memcpy(text, p, (size_t)(end - p));
    len = (size_t)(end - p);
  }
  text[len] = '\0';
  out->column = c;
  out->type = ds->columns[c].type;
  out->op = op;
  out->strings = text;
  out->nvalues = 1;
  out->values = calloc(1, sizeof *out->values);
  if (!out->values) {
    sp_pred_free(out);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  if (sp_value_parse(out->type, text, len, &out->values[0])) {
    int rc = sp_error_set(err, SP_ERR_INVALID, "--where \"%s\": \"%s\" is not %s (column %s is %s)", expr, text,
                          type_example(out->type), ds->columns[c].name, sp_type_name(out->type));
    sp_pred_free(out);
    return rc;
  }
  return SP_OK;
}

int sp_pred_in(const sp_dataset_def *ds, const char *column, const char *const *values, size_t n, sp_qpred *out,
               sp_error *err) {
  memset(out, 0, sizeof *out);
  int c = sp_dataset_column_index(ds, column);
  if (c < 0) return sp_error_set(err, SP_ERR_NOT_FOUND, "%s has no column \"%s\"", ds->name, column);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += strlen(values[i]) + 1;
  out->column = c;
  out->type = ds->columns[c].type;
  out->op = n == 1 ? SP_Q_EQ : SP_Q_IN;
  out->nvalues = n;
  out->values = calloc(n ? n : 1, sizeof *out->values);
  out->strings = malloc(total ? total : 1);
  if (!out->values || !out->strings) {
    sp_pred_free(out);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  char *s = out->strings;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(values[i]);
    memcpy(s, values[i], len + 1);
    if (sp_value_parse(out->type, s, len, &out->values[i])) {
      int rc = sp_error_set(err, SP_ERR_INVALID, "%s filter: \"%s\" is not %s", column, values[i],
                            type_example(out->type));
      sp_pred_free(out);
      return rc;
    }
    s += len + 1;
  }
  return SP_OK;
}

static bool op_holds(sp_qop op, int c) {
  switch (op) {
  case SP_Q_EQ: return c == 0;
  case SP_Q_NE: return c != 0;
  case SP_Q_LT: return c < 0;
  case SP_Q_LE: return c <= 0;
  case SP_Q_GT: return c > 0;
  case SP_Q_GE: return c >= 0;
  default: return false;
  }
}

/* One loop per (type, op) so the compiler vectorises the numeric cases. */
#define FILTER_NUMERIC(arr, field)                                                                               \
  do {                                                                                                           \
    const __typeof__(vec->arr[0]) *x = vec->arr;                                                                 \
    if (p->op == SP_Q_IN) {                                                                                      \
      for (size_t i = 0; i < n; i++) {                                                                           \
        if (!sel[i]) continue;                                                                                   \
        bool hit = false;                                                                                        \
        for (size_t k = 0; k < p->nvalues && !hit; k++) hit = x[i] == p->values[k].u.field;                      \
        sel[i] = hit && valid[i];                                                                                \
      }                                                                                                          \
      break;                                                                                                     \
    }                                                                                                            \
    const __typeof__(vec->arr[0]) y = p->values[0].u.field;                                                      \
    switch (p->op) {                                                                                             \
    case SP_Q_EQ: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] == y) & valid[i]; break;                       \
    case SP_Q_NE: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] != y) & valid[i]; break;                       \
    case SP_Q_LT: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] < y) & valid[i]; break;                        \
    case SP_Q_LE: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] <= y) & valid[i]; break;                       \
    case SP_Q_GT: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] > y) & valid[i]; break;                        \
    case SP_Q_GE: for (size_t i = 0; i < n; i++) sel[i] &= (x[i] >= y) & valid[i]; break;                       \
    default: break;                                                                                              \
    }                                                                                                            \
  } while (0)

/* Whether string (s, len) satisfies p (an IN list, or one comparison). */
static bool string_holds(const sp_qpred *p, const char *s, size_t len) {
  if (p->op == SP_Q_EQ || p->op == SP_Q_IN) { /* lengths first, then bytes */
    for (size_t k = 0; k < p->nvalues; k++)
      if (p->values[k].u.str.len == len && memcmp(s, p->values[k].u.str.ptr, len) == 0) return true;
    return false;
  }
  return op_holds(p->op, sp_order_bytes(s, len, p->values[0].u.str.ptr, p->values[0].u.str.len));
}

/* Coded strings: the predicate once per entry, then a lookup per row. */
static int filter_coded(const sp_qpred *p, const sp_parquet_column_vector *vec, uint8_t *sel) {
  uint8_t *holds = malloc(vec->nentries + 1);
  if (!holds) return SP_ERR_NOMEM;
  holds[0] = 0; /* the code of null rows when there is no entry at all */
  for (size_t k = 0; k < vec->nentries; k++) {
    uint32_t a = vec->entry_offsets[k], b = vec->entry_offsets[k + 1];
    holds[k] = string_holds(p, vec->str_bytes + a, b - a);
  }
  const uint32_t *codes = vec->codes;
  const uint8_t *valid = vec->valid;
  for (size_t i = 0; i < vec->nrows; i++) sel[i] &= holds[codes[i]] & valid[i];
  free(holds);
  return SP_OK;
}

int sp_pred_filter(const sp_qpred *p, const sp_parquet_column_vector *vec, uint8_t *sel) {
  size_t n = vec->nrows;
  const uint8_t *valid = vec->valid;
  switch (p->type) {
  case SP_BOOL:
    for (size_t i = 0; i < n; i++) {
      if (!sel[i]) continue;
      bool hit = false;
      for (size_t k = 0; k < p->nvalues && !hit; k++)
        hit = op_holds(p->op == SP_Q_IN ? SP_Q_EQ : p->op, SP_ORDER(vec->bools[i], p->values[k].u.b));
      sel[i] = hit && valid[i];
    }
    break;
  case SP_INT32:
  case SP_DATE: FILTER_NUMERIC(i32, i32); break;
  case SP_INT64:
  case SP_TIMESTAMP: FILTER_NUMERIC(i64, i64); break;
  case SP_DOUBLE: FILTER_NUMERIC(f64, f64); break;
  case SP_STRING:
    if (vec->coded) return filter_coded(p, vec, sel);
    for (size_t i = 0; i < n; i++) {
      if (!sel[i]) continue;
      const uint32_t *off = vec->str_offsets;
      sel[i] = valid[i] && string_holds(p, vec->str_bytes + off[i], off[i + 1] - off[i]);
    }
    break;
  }
  return SP_OK;
}
