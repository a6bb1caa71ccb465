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

/* ---- reading back ---- */

static void skip_json_space(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r')) (*p)++;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static int append_utf8(sp_buf *b, unsigned cp) {
  uint8_t u[4];
  size_t n;
  if (cp < 0x80) u[0] = (uint8_t)cp, n = 1;
  else if (cp < 0x800) u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 63)), n = 2;
  else if (cp < 0x10000)
    u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 63)), u[2] = (uint8_t)(0x80 | (cp & 63)), n = 3;
  else
    u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 63)),
    u[2] = (uint8_t)(0x80 | ((cp >> 6) & 63)), u[3] = (uint8_t)(0x80 | (cp & 63)), n = 4;
  return sp_buf_append(b, u, n);
}

/* The JSON string at *p (which is '"') unescaped into b; *p moves past it. */
static int parse_json_string(const char **p, const char *end, sp_buf *b, sp_error *err) {
  const char *s = *p + 1;
  sp_buf_reset(b);
  while (s < end && *s != '"') {
    if (*s != '\\') {
      const char *f = s;
      while (s < end && *s != '"' && *s != '\\' && *s != '\n') s++;
      if (sp_buf_append(b, f, (size_t)(s - f))) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      if (s < end && *s == '\n') break;
      continue;
    }
    if (s + 1 >= end) break;
    char c = s[1];
    s += 2;
    char out;
    switch (c) {
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    case '/': out = '/'; break;
    case 'b': out = '\b'; break;
    case 'f': out = '\f'; break;
    case 'n': out = '\n'; break;
    case 'r': out = '\r'; break;
    case 't': out = '\t'; break;
    case 'u': {
      unsigned cp, lo;
      if (end - s < 4 || hex4(s, &cp)) goto bad;
      s += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u' && !hex4(s + 2, &lo) &&
          lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s += 6;
      }
      if (append_utf8(b, cp)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      continue;
    }
    default: goto bad;
    }
    if (sp_buf_append_byte(b, (uint8_t)out)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  if (s >= end || *s != '"') goto bad;
  *p = s + 1;
  return SP_OK;
bad:
  return sp_error_set(err, SP_ERR_CORRUPT, "bad JSON string");
}

int sp_json_parse_flat_object(const char *text, size_t len, sp_json_scratch *scratch, sp_json_member_fn fn,
                              void *ctx, sp_error *err) {
  const char *p = text, *end = text + len;
  skip_json_space(&p, end);
  if (p >= end || *p != '{') return sp_error_set(err, SP_ERR_CORRUPT, "expected a JSON object");
  p++;
  for (bool first = true;; first = false) {
    skip_json_space(&p, end);
    if (p < end && *p == '}' && first) {
      p++;
      break;
    }
    if (p >= end || *p != '"') return sp_error_set(err, SP_ERR_CORRUPT, "expected a key");
    int rc = parse_json_string(&p, end, &scratch->key, err);
    if (rc) return rc;
    skip_json_space(&p, end);
    if (p >= end || *p != ':') return sp_error_set(err, SP_ERR_CORRUPT, "expected ':'");
    p++;
    skip_json_space(&p, end);
    const char *key = scratch->key.data ? (const char *)scratch->key.data : "";
    if (p < end && *p == '"') {
      rc = parse_json_string(&p, end, &scratch->value, err);
      if (!rc)
        rc = fn(ctx, key, scratch->key.len, scratch->value.data ? (const char *)scratch->value.data : "",
                scratch->value.len, true, err);
    } else {
      const char *v = p;
      while (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
      if (p == v) return sp_error_set(err, SP_ERR_CORRUPT, "missing value");
      rc = fn(ctx, key, scratch->key.len, v, (size_t)(p - v), false, err);
    }
    if (rc) return rc;
    skip_json_space(&p, end);
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    if (p < end && *p == '}') {
      p++;
      break;
    }
    return sp_error_set(err, SP_ERR_CORRUPT, "expected ',' or '}'");
  }
  skip_json_space(&p, end);
  if (p < end && *p == '\n') p++; /* a line's own end */
  if (p != end) return sp_error_set(err, SP_ERR_CORRUPT, "text after the object");
  return SP_OK;
}
