/*
 * parquet_thrift.c — Thrift compact protocol writer and bounded reader (see
 * parquet_thrift.h).
 */
#include "format/parquet/parquet_thrift.h"

#include "format/parquet/parquet_encoding.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------------- */

static void put_bytes(sp_thrift_writer *w, const void *p, size_t n) {
  if (!w->failed && sp_buf_append(w->out, p, n) != SP_OK) w->failed = true;
}

/* Thrift's varints are ULEB128, as Parquet's own (parquet_encoding.h). */
static void put_varint(sp_thrift_writer *w, uint64_t v) {
  if (!w->failed && sp_pq_put_uleb(w->out, v) != SP_OK) w->failed = true;
}

static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void put_field_header(sp_thrift_writer *w, int16_t id, int type) {
  int16_t *last = &w->last_id[w->depth];
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    uint8_t b = (uint8_t)((delta << 4) | type);
    put_bytes(w, &b, 1);
  } else {
    uint8_t b = (uint8_t)type;
    put_bytes(w, &b, 1);
    put_varint(w, zigzag64(id));
  }
  *last = id;
}

void sp_thrift_writer_init(sp_thrift_writer *w, sp_buf *out) {
  memset(w, 0, sizeof *w);
  w->out = out;
}

int sp_thrift_writer_status(const sp_thrift_writer *w) { return w->failed ? SP_ERR_NOMEM : SP_OK; }

void sp_thrift_write_i32(sp_thrift_writer *w, int16_t id, int32_t v) {
  put_field_header(w, id, SP_THRIFT_I32);
  put_varint(w, zigzag64(v));
}

void sp_thrift_write_i64(sp_thrift_writer *w, int16_t id, int64_t v) {
  put_field_header(w, id, SP_THRIFT_I64);
  put_varint(w, zigzag64(v));
}

void sp_thrift_write_bool(sp_thrift_writer *w, int16_t id, bool v) {
  put_field_header(w, id, v ? SP_THRIFT_TRUE : SP_THRIFT_FALSE);
}

void sp_thrift_write_binary(sp_thrift_writer *w, int16_t id, const void *data, size_t len) {
  put_field_header(w, id, SP_THRIFT_BINARY);
  put_varint(w, len);
  put_bytes(w, data, len);
}

void sp_thrift_write_string(sp_thrift_writer *w, int16_t id, const char *s) {
  sp_thrift_write_binary(w, id, s, strlen(s));
}

static void push_struct(sp_thrift_writer *w) {
  if (w->depth + 1 >= SP_THRIFT_MAX_DEPTH) {
    w->failed = true;
    return;
  }
  w->last_id[++w->depth] = 0;
}

void sp_thrift_write_struct_begin(sp_thrift_writer *w, int16_t id) {
  put_field_header(w, id, SP_THRIFT_STRUCT);
  push_struct(w);
}

void sp_thrift_write_struct_end(sp_thrift_writer *w) {
  uint8_t stop = 0;
  put_bytes(w, &stop, 1);
  if (w->depth > 0) w->depth--;
}

void sp_thrift_write_empty_struct(sp_thrift_writer *w, int16_t id) {
  sp_thrift_write_struct_begin(w, id);
  sp_thrift_write_struct_end(w);
}

void sp_thrift_write_list_begin(sp_thrift_writer *w, int16_t id, int elem_type, size_t n) {
  put_field_header(w, id, SP_THRIFT_LIST);
  if (n < 15) {
    uint8_t b = (uint8_t)((n << 4) | (size_t)elem_type);
    put_bytes(w, &b, 1);
  } else {
    uint8_t b = (uint8_t)(0xF0 | elem_type);
    put_bytes(w, &b, 1);
    put_varint(w, n);
  }
}

void sp_thrift_write_elem_i32(sp_thrift_writer *w, int32_t v) { put_varint(w, zigzag64(v)); }

void sp_thrift_write_elem_string(sp_thrift_writer *w, const char *s) {
  size_t len = strlen(s);
  put_varint(w, len);
  put_bytes(w, s, len);
}

void sp_thrift_write_elem_struct_begin(sp_thrift_writer *w) { push_struct(w); }

void sp_thrift_writer_end(sp_thrift_writer *w) {
  uint8_t stop = 0;
  put_bytes(w, &stop, 1);
}

/* ---- reader ---------------------------------------------------------------- */

int sp_thrift_corrupt(sp_thrift_reader *r, const char *fmt, ...) {
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return sp_error_set(r->err, SP_ERR_CORRUPT, "%s: %s", r->what, detail);
}

void sp_thrift_reader_init(sp_thrift_reader *r, const void *data, size_t len, const char *what,
                           sp_error *err) {
  r->p = data;
  r->end = (const uint8_t *)data + len;
  r->depth = 0;
  r->what = what;
  r->err = err;
}

static int get_varint(sp_thrift_reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end) return sp_thrift_corrupt(r, "truncated (varint runs past the end)");
    uint8_t b = *r->p++;
    if (shift == 63 && b > 1) return sp_thrift_corrupt(r, "varint overflows 64 bits");
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return SP_OK;
    }
  }
  return sp_thrift_corrupt(r, "varint longer than 10 bytes");
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

int sp_thrift_read_field(sp_thrift_reader *r, int16_t *last_id, int16_t *id, int *type) {
  if (r->p >= r->end) return sp_thrift_corrupt(r, "truncated (struct has no stop byte)");
  uint8_t b = *r->p++;
  if (b == 0) return 0;
  int t = b & 0x0F;
  int delta = b >> 4;
  if (t > SP_THRIFT_STRUCT) return sp_thrift_corrupt(r, "unknown field type %d", t);
  if (delta) {
    int next = *last_id + delta;
    if (next > INT16_MAX) return sp_thrift_corrupt(r, "field id out of range");
    *id = (int16_t)next;
  } else {
    uint64_t raw;
    int rc = get_varint(r, &raw);
    if (rc) return rc;
    int64_t v = unzigzag(raw);
    if (v < INT16_MIN || v > INT16_MAX) return sp_thrift_corrupt(r, "field id out of range");
    *id = (int16_t)v;
  }
  *last_id = *id;
  *type = t;
  return 1;
}

int sp_thrift_read_i64(sp_thrift_reader *r, int type, int64_t *v) {
  if (type != SP_THRIFT_I64 && type != SP_THRIFT_I32 && type != SP_THRIFT_I16)
    return sp_thrift_corrupt(r, "integer field has type %d", type);
  uint64_t raw;
  int rc = get_varint(r, &raw);
  if (rc) return rc;
  *v = unzigzag(raw);
  return SP_OK;
}

int sp_thrift_read_i32(sp_thrift_reader *r, int type, int32_t *v) {
  int64_t x = 0;
  int rc = sp_thrift_read_i64(r, type, &x);
  if (rc) return rc;
  if (x < INT32_MIN || x > INT32_MAX) return sp_thrift_corrupt(r, "i32 value out of range");
  *v = (int32_t)x;
  return SP_OK;
}

int sp_thrift_read_bool(sp_thrift_reader *r, int type, bool *v) {
  if (type == SP_THRIFT_TRUE) *v = true;
  else if (type == SP_THRIFT_FALSE) *v = false;
  else return sp_thrift_corrupt(r, "boolean field has type %d", type);
  return SP_OK;
}

static int get_binary(sp_thrift_reader *r, const uint8_t **data, size_t *len) {
  uint64_t n;
  int rc = get_varint(r, &n);
  if (rc) return rc;
  if (n > (uint64_t)(r->end - r->p)) return sp_thrift_corrupt(r, "truncated (binary of %llu bytes)", (unsigned long long)n);
  *data = r->p;
  *len = (size_t)n;
  r->p += n;
  return SP_OK;
}

int sp_thrift_read_binary(sp_thrift_reader *r, int type, const uint8_t **data, size_t *len) {
  if (type != SP_THRIFT_BINARY) return sp_thrift_corrupt(r, "binary field has type %d", type);
  return get_binary(r, data, len);
}

int sp_thrift_read_list(sp_thrift_reader *r, int type, int *elem_type, size_t *n) {
  if (type != SP_THRIFT_LIST && type != SP_THRIFT_SET)
    return sp_thrift_corrupt(r, "list field has type %d", type);
  if (r->p >= r->end) return sp_thrift_corrupt(r, "truncated list header");
  uint8_t b = *r->p++;
  uint64_t count = b >> 4;
  if (count == 15) {
    int rc = get_varint(r, &count);
    if (rc) return rc;
  }
  *elem_type = b & 0x0F;
  /* Every element takes at least one byte except booleans, which also take one in lists. */
  if (count > (uint64_t)(r->end - r->p)) return sp_thrift_corrupt(r, "list of %llu elements exceeds the data", (unsigned long long)count);
  *n = (size_t)count;
  return SP_OK;
}

int sp_thrift_read_elem_i32(sp_thrift_reader *r, int elem_type, int32_t *v) {
  return sp_thrift_read_i32(r, elem_type, v);
}

int sp_thrift_read_elem_binary(sp_thrift_reader *r, int elem_type, const uint8_t **data, size_t *len) {
  return sp_thrift_read_binary(r, elem_type, data, len);
}

int sp_thrift_struct_enter(sp_thrift_reader *r, int type) {
  if (type != SP_THRIFT_STRUCT) return sp_thrift_corrupt(r, "struct field has type %d", type);
  if (++r->depth > SP_THRIFT_MAX_DEPTH) return sp_thrift_corrupt(r, "structures nested too deeply");
  return SP_OK;
}

void sp_thrift_struct_leave(sp_thrift_reader *r) { r->depth--; }

int sp_thrift_skip(sp_thrift_reader *r, int type) {
  uint64_t tmp;
  switch (type) {
  case SP_THRIFT_TRUE:
  case SP_THRIFT_FALSE:
    return SP_OK;
  case SP_THRIFT_BYTE:
    if (r->p >= r->end) return sp_thrift_corrupt(r, "truncated byte");
    r->p++;
    return SP_OK;
  case SP_THRIFT_I16:
  case SP_THRIFT_I32:
  case SP_THRIFT_I64:
    return get_varint(r, &tmp);
  case SP_THRIFT_DOUBLE:
    if (r->end - r->p < 8) return sp_thrift_corrupt(r, "truncated double");
    r->p += 8;
    return SP_OK;
  case SP_THRIFT_BINARY: {
    const uint8_t *d;
    size_t n;
    return get_binary(r, &d, &n);
  }
  case SP_THRIFT_LIST:
  case SP_THRIFT_SET: {
    int et;
    size_t n;
    int rc = sp_thrift_read_list(r, type, &et, &n);
    if (rc) return rc;
    if (++r->depth > SP_THRIFT_MAX_DEPTH) return sp_thrift_corrupt(r, "structures nested too deeply");
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
      if (et == SP_THRIFT_TRUE || et == SP_THRIFT_FALSE) {
        rc = sp_thrift_skip(r, SP_THRIFT_BYTE);
      } else {
        rc = sp_thrift_skip(r, et);
      }
    }
    r->depth--;
    return rc;
  }
  case SP_THRIFT_MAP: {
    uint64_t n;
    int rc = get_varint(r, &n);
    if (rc) return rc;
    if (n == 0) return SP_OK;
    if (n > (uint64_t)(r->end - r->p)) return sp_thrift_corrupt(r, "map of %llu entries exceeds the data", (unsigned long long)n);
    if (r->p >= r->end) return sp_thrift_corrupt(r, "truncated map header");
    uint8_t kv = *r->p++;
    if (++r->depth > SP_THRIFT_MAX_DEPTH) return sp_thrift_corrupt(r, "structures nested too deeply");
    for (uint64_t i = 0; i < n && rc == SP_OK; i++) {
      rc = sp_thrift_skip(r, kv >> 4);
      if (rc == SP_OK) rc = sp_thrift_skip(r, kv & 0x0F);
    }
    r->depth--;
    return rc;
  }
  case SP_THRIFT_STRUCT: {
    int rc = sp_thrift_struct_enter(r, type);
    if (rc) return rc;
    int16_t last = 0, id;
    int ft;
    while ((rc = sp_thrift_read_field(r, &last, &id, &ft)) == 1) {
      rc = sp_thrift_skip(r, ft);
      if (rc) break;
    }
    sp_thrift_struct_leave(r);
    return rc;
  }
  default:
    return sp_thrift_corrupt(r, "unknown type %d", type);
  }
}
