/*
 * parquet_writer.c — the Parquet writer (see parquet_writer.h).
 *
 * Rows are buffered column by column for one row group: non-null values in their PLAIN
 * form (strings with their 4-byte length prefix, so a PLAIN page is a slice of the
 * buffer), definition levels one byte per row, and — while the column's dictionary
 * stays small — the dictionary index of every value.  When the row group is full each
 * column chunk is encoded into pages, compressed, and written with one write per row
 * group; the footer's RowGroup structures are serialised as each row group is written,
 * so the writer keeps only their bytes.
 */
#include "format/parquet/parquet_writer.h"

#include "core/array.h"
#include "format/parquet/parquet_compress.h"
#include "format/parquet/parquet_encoding.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_thrift.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#ifndef STOCKPIPE_VERSION
#define STOCKPIPE_VERSION "0.0.0"
#endif

#define CREATED_BY "stockpipe version " STOCKPIPE_VERSION
/* Give up on a dictionary early when this many values produced more than half as many
 * distinct entries: hashing would cost time and the dictionary would not pay. */
#define DICT_PROBE_VALUES 16384

typedef struct pq_column {
  const sp_column_def *def;
  int phys;     /* PQ_BOOLEAN ... */
  size_t width; /* bytes per buffered value; 0 for strings */
  sp_buf values;       /* PLAIN form of the non-null values (bools: one byte each) */
  uint32_t *str_ends;  /* strings: end offset in `values` of value i */
  uint32_t *indices;   /* dictionary index of value i while dict_active */
  size_t nvalues, cap_values;
  uint8_t *defs;       /* nullable columns: 1 = present, per row */
  size_t cap_defs;
  /* dictionary */
  bool dict_active;
  sp_buf dict;         /* PLAIN form of the distinct values */
  uint32_t *dict_ends; /* strings: end offset in `dict` of entry i */
  size_t dict_count, dict_cap;
  uint32_t *slots;     /* open addressing: entry index + 1, 0 = empty */
  size_t nslots;
} pq_column;

struct sp_parquet_writer {
  int fd;
  sp_parquet_writer_options opt;
  const sp_column_def *defs;
  int ncols;
  pq_column *cols;
  size_t nrows;          /* rows buffered in the current row group */
  size_t buffered_bytes; /* rough size of the buffered row group */
  int64_t total_rows;
  uint64_t offset;       /* bytes written to fd so far */
  sp_buf out;            /* the row group being encoded, then the footer */
  sp_buf page;           /* one uncompressed page */
  sp_buf compressed;     /* one compressed page */
  sp_buf row_group_meta; /* serialised RowGroup structures */
  size_t nrow_groups;
  int64_t rg_uncompressed, rg_compressed; /* totals of the row group being written */
  sp_pq_compressor comp;
  bool failed, finished;
};

void sp_parquet_writer_options_default(sp_parquet_writer_options *o) {
  memset(o, 0, sizeof *o);
  o->codec = PQ_CODEC_SNAPPY;
  o->row_group_rows = 1024 * 1024;
  o->row_group_bytes = 64u << 20;
  o->page_bytes = 1u << 20;
  o->dictionary = true;
  o->dictionary_max_bytes = 1u << 20;
}

void sp_parquet_writer_options_for_codec(sp_parquet_writer_options *o, int codec) {
  sp_parquet_writer_options_default(o);
  o->codec = codec;
  o->byte_stream_split_doubles = codec == PQ_CODEC_ZSTD || codec == PQ_CODEC_GZIP;
}

/* ---- buffering ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t k;
    memcpy(&k, p, 8);
    h = (h ^ k) * 0xff51afd7ed558ccdull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t k = 0;
  memcpy(&k, p, n);
  return mix64(h ^ k);
}

/* The dictionary hash of a value: fixed widths hash their bits directly. */
static inline uint64_t hash_value(const pq_column *c, const uint8_t *v, size_t len) {
  if (c->width == 8) {
    uint64_t x;
    memcpy(&x, v, 8);
    return mix64(x);
  }
  if (c->width == 4) {
    uint32_t x;
    memcpy(&x, v, 4);
    return mix64(x);
  }
  return hash_bytes(v, len);
}

static void dict_drop(pq_column *c) {
  c->dict_active = false;
  free(c->indices);
  free(c->slots);
  free(c->dict_ends);
  sp_buf_free(&c->dict);
  c->indices = NULL;
  c->slots = NULL;
  c->dict_ends = NULL;
  c->nslots = c->dict_count = c->dict_cap = 0;
}

static void dict_reset(pq_column *c, bool enable) {
  dict_drop(c);
  c->dict_active = enable && c->phys != PQ_BOOLEAN;
}

/* Entry `i` of the dictionary as (pointer, length) of its value bytes. */
static const uint8_t *dict_entry(const pq_column *c, size_t i, size_t *len) {
  if (c->width) {
    *len = c->width;
    return c->dict.data + i * c->width;
  }
  size_t start = i ? c->dict_ends[i - 1] : 0;
  *len = c->dict_ends[i] - start - 4;
  return c->dict.data + start + 4;
}

static int dict_grow_slots(pq_column *c) {
  size_t n = c->nslots ? c->nslots * 2 : 1024;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return SP_ERR_NOMEM;
  for (size_t i = 0; i < c->dict_count; i++) {
    size_t len;
    const uint8_t *v = dict_entry(c, i, &len);
    size_t h = (size_t)hash_value(c, v, len) & (n - 1);
    while (s[h]) h = (h + 1) & (n - 1);
    s[h] = (uint32_t)(i + 1);
  }
  free(c->slots);
  c->slots = s;
  c->nslots = n;
  return SP_OK;
}

/* Index of value (v, len) in the dictionary, adding it; -1 when the dictionary was
 * abandoned (too big); SP_ERR_NOMEM as -2. */
static long dict_insert(pq_column *c, const uint8_t *v, size_t len, size_t max_bytes) {
  if (c->dict_count * 2 >= c->nslots && dict_grow_slots(c)) return -2;
  size_t mask = c->nslots - 1;
  size_t h = (size_t)hash_value(c, v, len) & mask;
  for (;;) {
    uint32_t s = c->slots[h];
    if (!s) break;
    if (c->width == 8) {
      if (memcmp(c->dict.data + (size_t)(s - 1) * 8, v, 8) == 0) return (long)(s - 1);
    } else {
      size_t elen;
      const uint8_t *e = dict_entry(c, s - 1, &elen);
      if (elen == len && memcmp(e, v, len) == 0) return (long)(s - 1);
    }
    h = (h + 1) & mask;
  }
  size_t plain = c->width ? c->width : len + 4;
  if (c->dict.len + plain > max_bytes) return -1;
  if (!c->width) {
    if (SP_ARRAY_RESERVE(c->dict_ends, c->dict_cap, c->dict_count + 1, 256)) return -2;
    if (sp_buf_append_u32le(&c->dict, (uint32_t)len) || sp_buf_append(&c->dict, v, len)) return -2;
    c->dict_ends[c->dict_count] = (uint32_t)c->dict.len;
  } else if (sp_buf_append(&c->dict, v, len)) {
    return -2;
  }
  c->slots[h] = (uint32_t)(c->dict_count + 1);
  return (long)c->dict_count++;
}

static int reserve_values(pq_column *c, size_t more) {
  if (c->nvalues + more <= c->cap_values) return SP_OK;
  size_t cap = c->cap_values ? c->cap_values : 1024;
  while (cap < c->nvalues + more) cap *= 2;
  if (!c->width) {
    uint32_t *e = realloc(c->str_ends, cap * sizeof *e);
    if (!e) return SP_ERR_NOMEM;
    c->str_ends = e;
  }
  if (c->dict_active) {
    uint32_t *ix = realloc(c->indices, cap * sizeof *ix);
    if (!ix) return SP_ERR_NOMEM;
    c->indices = ix;
  }
  c->cap_values = cap;
  return SP_OK;
}

static int reserve_defs(pq_column *c, size_t rows) {
  if (rows <= c->cap_defs) return SP_OK;
  size_t cap = c->cap_defs ? c->cap_defs : 1024;
  while (cap < rows) cap *= 2;
  uint8_t *d = realloc(c->defs, cap);
  if (!d) return SP_ERR_NOMEM;
  c->defs = d;
  c->cap_defs = cap;
  return SP_OK;
}

/* Record value `v` (already appended to c->values as value number c->nvalues). */
static int note_value(sp_parquet_writer *w, pq_column *c, const uint8_t *v, size_t len) {
  if (c->dict_active) {
    long ix = dict_insert(c, v, len, w->opt.dictionary_max_bytes);
    if (ix == -2) return SP_ERR_NOMEM;
    size_t n = c->nvalues + 1;
    if (ix == -1 || (n >= DICT_PROBE_VALUES && (n & (n - 1)) == 0 && c->dict_count * 2 > n)) {
      dict_drop(c);
    } else {
      c->indices[c->nvalues] = (uint32_t)ix;
    }
  }
  c->nvalues++;
  return SP_OK;
}

static int append_fixed(sp_parquet_writer *w, pq_column *c, const void *v) {
  if (reserve_values(c, 1) || sp_buf_append(&c->values, v, c->width)) return SP_ERR_NOMEM;
  w->buffered_bytes += c->width;
  return note_value(w, c, v, c->width);
}

static int append_string(sp_parquet_writer *w, pq_column *c, const char *s, uint32_t len) {
  if (reserve_values(c, 1) || sp_buf_reserve(&c->values, (size_t)len + 4)) return SP_ERR_NOMEM;
  if ((uint64_t)c->values.len + len + 4 > UINT32_MAX) return SP_ERR_NOMEM;
  sp_buf_append_u32le(&c->values, len);
  sp_buf_append(&c->values, s, len);
  c->str_ends[c->nvalues] = (uint32_t)c->values.len;
  w->buffered_bytes += (size_t)len + 4;
  return note_value(w, c, (const uint8_t *)s, len);
}

/* ---- pages ------------------------------------------------------------------------ */

typedef struct chunk_totals {
  int64_t uncompressed, compressed;
} chunk_totals;

/* Compress w->page and append header + body to w->out. */
static int emit_page(sp_parquet_writer *w, int page_type, int32_t num_values, int encoding,
                     chunk_totals *tot, sp_error *err) {
  const uint8_t *body = w->page.data;
  size_t clen = w->page.len;
  if (w->opt.codec != PQ_CODEC_UNCOMPRESSED) {
    int rc = sp_pq_compress(&w->comp, w->page.data, w->page.len, &w->compressed, err);
    if (rc) return rc;
    body = w->compressed.data;
    clen = w->compressed.len;
  }
  if (w->page.len > INT32_MAX || clen > INT32_MAX)
    return sp_error_set(err, SP_ERR_INVALID, "parquet page larger than 2 GiB");
  size_t before = w->out.len;
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, &w->out);
  sp_thrift_write_i32(&tw, 1, page_type);
  sp_thrift_write_i32(&tw, 2, (int32_t)w->page.len);
  sp_thrift_write_i32(&tw, 3, (int32_t)clen);
  if (w->opt.page_checksum)
    sp_thrift_write_i32(&tw, 4, (int32_t)(uint32_t)crc32(0L, body, (uInt)clen));
  if (page_type == PQ_PAGE_DICTIONARY) {
    sp_thrift_write_struct_begin(&tw, 7);
    sp_thrift_write_i32(&tw, 1, num_values);
    sp_thrift_write_i32(&tw, 2, PQ_ENC_PLAIN);
  } else {
    sp_thrift_write_struct_begin(&tw, 5);
    sp_thrift_write_i32(&tw, 1, num_values);
    sp_thrift_write_i32(&tw, 2, encoding);
    sp_thrift_write_i32(&tw, 3, PQ_ENC_RLE);
    sp_thrift_write_i32(&tw, 4, PQ_ENC_RLE);
  }
  sp_thrift_write_struct_end(&tw);
  sp_thrift_writer_end(&tw);
  if (sp_thrift_writer_status(&tw) || sp_buf_append(&w->out, body, clen))
    return sp_error_set(err, SP_ERR_NOMEM, "parquet page: out of memory");
  size_t header = w->out.len - before - clen;
  tot->uncompressed += (int64_t)(header + w->page.len);
  tot->compressed += (int64_t)(header + clen);
  return SP_OK;
}

static size_t value_offset(const pq_column *c, size_t v) {
  if (c->width) return v * c->width;
  return v ? c->str_ends[v - 1] : 0;
}

/* Which value encoding a column chunk uses for its data pages. */
static int chunk_encoding(const sp_parquet_writer *w, const pq_column *c) {
  if (c->dict_active && c->dict_count > 0) {
    /* Keep the dictionary only when it is smaller than the plain values. */
    size_t bits = (size_t)sp_pq_bit_width(c->dict_count - 1);
    if (c->dict.len + c->nvalues * (bits ? bits : 1) / 8 < c->values.len) return PQ_ENC_RLE_DICTIONARY;
  }
  if (c->def->type == SP_TIMESTAMP && w->opt.delta_timestamps) return PQ_ENC_DELTA_BINARY_PACKED;
  if (c->phys == PQ_DOUBLE && w->opt.byte_stream_split_doubles) return PQ_ENC_BYTE_STREAM_SPLIT;
  return PQ_ENC_PLAIN;
}

static int encode_values(sp_parquet_writer *w, const pq_column *c, int encoding, size_t v0, size_t v1) {
  sp_buf *pg = &w->page;
  size_t n = v1 - v0;
  switch (encoding) {
  case PQ_ENC_RLE_DICTIONARY: {
    int bw = sp_pq_bit_width(c->dict_count - 1);
    if (sp_buf_append_byte(pg, (uint8_t)bw)) return SP_ERR_NOMEM;
    return sp_pq_rle_encode(pg, c->indices + v0, n, bw);
  }
  case PQ_ENC_DELTA_BINARY_PACKED:
    return sp_pq_delta_encode(pg, (const int64_t *)(const void *)c->values.data + v0, n);
  case PQ_ENC_BYTE_STREAM_SPLIT:
    return sp_pq_byte_stream_split_encode(pg, c->values.data + v0 * 8, n, 8);
  default:
    break;
  }
  if (c->phys == PQ_BOOLEAN) {
    size_t bytes = (n + 7) / 8;
    if (sp_buf_reserve(pg, bytes)) return SP_ERR_NOMEM;
    uint8_t *dst = pg->data + pg->len;
    memset(dst, 0, bytes);
    for (size_t k = 0; k < n; k++)
      if (c->values.data[v0 + k]) dst[k >> 3] |= (uint8_t)(1u << (k & 7));
    pg->len += bytes;
    return SP_OK;
  }
  size_t a = value_offset(c, v0), b = value_offset(c, v1);
  return sp_buf_append(pg, c->values.data + a, b - a);
}

/* Bits one non-null value costs in a page (to cut pages by size); 0 for PLAIN strings,
 * whose cost is their length. */
static size_t value_bits(const pq_column *c, int encoding) {
  switch (encoding) {
  case PQ_ENC_RLE_DICTIONARY: {
    int bw = sp_pq_bit_width(c->dict_count - 1);
    return bw ? (size_t)bw : 1;
  }
  case PQ_ENC_DELTA_BINARY_PACKED: return 16;
  default: break;
  }
  if (c->phys == PQ_BOOLEAN) return 1;
  return c->width * 8;
}

/* The end of the page starting at row r / value v: as many rows as fit in page_bits. */
static void cut_page(const sp_parquet_writer *w, const pq_column *c, size_t cost, size_t r, size_t v,
                     size_t *r_end, size_t *v_end) {
  size_t page_bits = w->opt.page_bytes * 8, nrows = w->nrows;
  if (!c->defs && cost) {
    size_t per = page_bits / cost;
    if (per < 1) per = 1;
    *r_end = nrows - r < per ? nrows : r + per;
    *v_end = v + (*r_end - r);
    return;
  }
  size_t bits = 0, re = r, ve = v;
  while (re < nrows && bits < page_bits) {
    if (!c->defs || c->defs[re]) {
      bits += cost ? cost : (value_offset(c, ve + 1) - value_offset(c, ve)) * 8;
      ve++;
    }
    bits++;
    re++;
  }
  *r_end = re;
  *v_end = ve;
}

/* ---- statistics ------------------------------------------------------------------- */

typedef struct chunk_stats {
  bool has_minmax;
  uint8_t min[8], max[8];
  const uint8_t *smin, *smax; /* strings: point into the column's buffers */
  size_t smin_len, smax_len;
} chunk_stats;

/* compute_stats' integer cases: the min and max of the `c->nvalues` values of type T
 * at `vals` into `st` (a loop of the column's own width for each type). */
#define INTEGER_MIN_MAX(T)                                                                                        \
  do {                                                                                                            \
    const T *v = (const T *)(const void *)vals;                                                                   \
    T mn = v[0], mx = v[0];                                                                                       \
    for (size_t i = 1; i < c->nvalues; i++) {                                                                     \
      mn = v[i] < mn ? v[i] : mn;                                                                                 \
      mx = v[i] > mx ? v[i] : mx;                                                                                 \
    }                                                                                                             \
    memcpy(st->min, &mn, sizeof mn);                                                                              \
    memcpy(st->max, &mx, sizeof mx);                                                                              \
    st->has_minmax = true;                                                                                        \
  } while (0)

static void compute_stats(const pq_column *c, chunk_stats *st) {
  memset(st, 0, sizeof *st);
  if (c->nvalues == 0) return;
  const uint8_t *vals = c->values.data;
  switch (c->phys) {
  case PQ_BOOLEAN: {
    bool any_true = false, all_true = true;
    for (size_t i = 0; i < c->nvalues; i++) {
      any_true |= vals[i] != 0;
      all_true &= vals[i] != 0;
    }
    st->min[0] = all_true;
    st->max[0] = any_true;
    st->has_minmax = true;
    return;
  }
  case PQ_INT32: INTEGER_MIN_MAX(int32_t); return;
  case PQ_INT64: INTEGER_MIN_MAX(int64_t); return;
  case PQ_DOUBLE: {
    const double *v = (const double *)(const void *)vals;
    double mn = INFINITY, mx = -INFINITY;
    bool any = false;
    for (size_t i = 0; i < c->nvalues; i++) {
      if (isnan(v[i])) continue;
      any = true;
      mn = v[i] < mn ? v[i] : mn;
      mx = v[i] > mx ? v[i] : mx;
    }
    if (!any) return;
    /* Parquet: a zero min is written -0.0 and a zero max +0.0 (both zeros compare equal). */
    if (mn == 0.0) mn = -0.0;
    if (mx == 0.0) mx = 0.0;
    memcpy(st->min, &mn, 8);
    memcpy(st->max, &mx, 8);
    st->has_minmax = true;
    return;
  }
  default:
    break;
  }
  /* strings: over the dictionary when there is one (fewer values), else every value */
  bool dict = c->dict_active && c->dict_count > 0;
  size_t n = dict ? c->dict_count : c->nvalues;
  const uint8_t *base = dict ? c->dict.data : vals;
  const uint32_t *ends = dict ? c->dict_ends : c->str_ends;
  for (size_t i = 0; i < n; i++) {
    size_t start = i ? ends[i - 1] : 0;
    const uint8_t *s = base + start + 4;
    size_t len = ends[i] - start - 4;
    if (!st->has_minmax || sp_order_bytes(s, len, st->smin, st->smin_len) < 0) {
      st->smin = s;
      st->smin_len = len;
    }
    if (!st->has_minmax || sp_order_bytes(s, len, st->smax, st->smax_len) > 0) {
      st->smax = s;
      st->smax_len = len;
    }
    st->has_minmax = true;
  }
}
#undef INTEGER_MIN_MAX

/* ---- column chunks and row groups ---------------------------------------------------- */

static int write_column_chunk(sp_parquet_writer *w, pq_column *c, sp_thrift_writer *meta, sp_error *err) {
  int64_t chunk_start = (int64_t)(w->offset + w->out.len);
  int64_t dict_offset = -1;
  chunk_totals tot = {0, 0};
  int encoding = chunk_encoding(w, c);
  int rc;
  if (encoding == PQ_ENC_RLE_DICTIONARY) {
    dict_offset = chunk_start;
    sp_buf_reset(&w->page);
    if (sp_buf_append(&w->page, c->dict.data, c->dict.len))
      return sp_error_set(err, SP_ERR_NOMEM, "parquet dictionary: out of memory");
    rc = emit_page(w, PQ_PAGE_DICTIONARY, (int32_t)c->dict_count, PQ_ENC_PLAIN, &tot, err);
    if (rc) return rc;
  }
  int64_t data_offset = (int64_t)(w->offset + w->out.len);
  size_t cost = value_bits(c, encoding);
  size_t r = 0, v = 0;
  while (r < w->nrows) {
    size_t r_end, v_end;
    cut_page(w, c, cost, r, v, &r_end, &v_end);
    sp_buf_reset(&w->page);
    rc = SP_OK;
    if (c->def->nullable) {
      size_t at = w->page.len;
      rc = sp_buf_append_u32le(&w->page, 0);
      if (rc == SP_OK) rc = sp_pq_rle_encode_bits(&w->page, c->defs + r, r_end - r);
      if (rc == SP_OK) {
        uint32_t l = (uint32_t)(w->page.len - at - 4);
        uint8_t le[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
        memcpy(w->page.data + at, le, 4);
      }
    }
    if (rc == SP_OK) rc = encode_values(w, c, encoding, v, v_end);
    if (rc) return sp_error_set(err, SP_ERR_NOMEM, "parquet page: out of memory");
    rc = emit_page(w, PQ_PAGE_DATA, (int32_t)(r_end - r), encoding, &tot, err);
    if (rc) return rc;
    r = r_end;
    v = v_end;
  }

  chunk_stats st;
  compute_stats(c, &st);
  sp_thrift_write_elem_struct_begin(meta);
  sp_thrift_write_i64(meta, 2, chunk_start);
  sp_thrift_write_struct_begin(meta, 3);
  sp_thrift_write_i32(meta, 1, c->phys);
  int encs[3], nenc = 0;
  if (encoding == PQ_ENC_RLE_DICTIONARY) encs[nenc++] = PQ_ENC_PLAIN;
  encs[nenc++] = PQ_ENC_RLE;
  if (encoding != PQ_ENC_PLAIN || nenc == 1) encs[nenc++] = encoding;
  sp_thrift_write_list_begin(meta, 2, SP_THRIFT_I32, (size_t)nenc);
  for (int i = 0; i < nenc; i++) sp_thrift_write_elem_i32(meta, encs[i]);
  sp_thrift_write_list_begin(meta, 3, SP_THRIFT_BINARY, 1);
  sp_thrift_write_elem_string(meta, c->def->name);
  sp_thrift_write_i32(meta, 4, w->opt.codec);
  sp_thrift_write_i64(meta, 5, (int64_t)w->nrows);
  sp_thrift_write_i64(meta, 6, tot.uncompressed);
  sp_thrift_write_i64(meta, 7, tot.compressed);
  sp_thrift_write_i64(meta, 9, data_offset);
  if (dict_offset >= 0) sp_thrift_write_i64(meta, 11, dict_offset);
  sp_thrift_write_struct_begin(meta, 12);
  sp_thrift_write_i64(meta, 3, (int64_t)(w->nrows - c->nvalues));
  if (st.has_minmax) {
    if (c->width) {
      sp_thrift_write_binary(meta, 5, st.max, c->width);
      sp_thrift_write_binary(meta, 6, st.min, c->width);
    } else {
      sp_thrift_write_binary(meta, 5, st.smax, st.smax_len);
      sp_thrift_write_binary(meta, 6, st.smin, st.smin_len);
    }
  }
  sp_thrift_write_struct_end(meta); /* Statistics */
  sp_thrift_write_struct_end(meta); /* ColumnMetaData */
  sp_thrift_write_struct_end(meta); /* ColumnChunk */
  w->rg_uncompressed += tot.uncompressed;
  w->rg_compressed += tot.compressed;
  return SP_OK;
}

static void column_reset(sp_parquet_writer *w, pq_column *c) {
  sp_buf_reset(&c->values);
  c->nvalues = 0;
  dict_reset(c, w->opt.dictionary);
  c->cap_values = 0; /* indices were freed by dict_reset: re-reserve str_ends too */
  free(c->str_ends);
  c->str_ends = NULL;
}

static int flush_row_group(sp_parquet_writer *w, sp_error *err) {
  if (w->nrows == 0) return SP_OK;
  int64_t rg_start = (int64_t)w->offset;
  sp_buf_reset(&w->out);
  w->rg_uncompressed = w->rg_compressed = 0;
  sp_thrift_writer meta;
  sp_thrift_writer_init(&meta, &w->row_group_meta);
  sp_thrift_write_list_begin(&meta, 1, SP_THRIFT_STRUCT, (size_t)w->ncols);
  for (int i = 0; i < w->ncols; i++) {
    int rc = write_column_chunk(w, &w->cols[i], &meta, err);
    if (rc) {
      sp_error_prefix(err, "parquet column %s", w->cols[i].def->name);
      return rc;
    }
  }
  sp_thrift_write_i64(&meta, 2, w->rg_uncompressed);
  sp_thrift_write_i64(&meta, 3, (int64_t)w->nrows);
  sp_thrift_write_i64(&meta, 5, rg_start);
  sp_thrift_write_i64(&meta, 6, w->rg_compressed);
  sp_thrift_writer_end(&meta);
  if (sp_thrift_writer_status(&meta)) return sp_error_set(err, SP_ERR_NOMEM, "parquet footer: out of memory");
  int rc = sp_write_all(w->fd, w->out.data, w->out.len, "parquet row group", err);
  if (rc) return rc;
  w->offset += w->out.len;
  w->nrow_groups++;
  w->total_rows += (int64_t)w->nrows;
  for (int i = 0; i < w->ncols; i++) column_reset(w, &w->cols[i]);
  w->nrows = 0;
  w->buffered_bytes = 0;
  return SP_OK;
}

static int physical_type(sp_type t) {
  switch (t) {
  case SP_BOOL: return PQ_BOOLEAN;
  case SP_INT32:
  case SP_DATE: return PQ_INT32;
  case SP_INT64:
  case SP_TIMESTAMP: return PQ_INT64;
  case SP_DOUBLE: return PQ_DOUBLE;
  case SP_STRING: return PQ_BYTE_ARRAY;
  }
  return -1;
}

int sp_parquet_writer_open(sp_parquet_writer **out, int fd, const sp_column_def *columns,
                           int ncolumns, const sp_parquet_writer_options *options, sp_error *err) {
  *out = NULL;
  if (!columns || ncolumns <= 0) return sp_error_set(err, SP_ERR_INVALID, "parquet writer: no columns");
  sp_parquet_writer_options def;
  if (!options) {
    sp_parquet_writer_options_default(&def);
    options = &def;
  }
  if (options->row_group_rows == 0 || options->page_bytes == 0 || options->row_group_rows > INT32_MAX)
    return sp_error_set(err, SP_ERR_INVALID, "parquet writer: row group rows and page size must be positive");
  sp_parquet_writer *w = calloc(1, sizeof *w);
  if (!w) return sp_error_set(err, SP_ERR_NOMEM, "parquet writer: out of memory");
  w->fd = fd;
  w->opt = *options;
  if (w->opt.row_group_bytes == 0) w->opt.row_group_bytes = SIZE_MAX;
  w->defs = columns;
  w->ncols = ncolumns;
  int rc = sp_pq_compressor_init(&w->comp, options->codec, options->compression_level, err);
  if (rc) {
    free(w);
    return rc;
  }
  w->cols = calloc((size_t)ncolumns, sizeof *w->cols);
  if (!w->cols) {
    sp_parquet_writer_free(w);
    return sp_error_set(err, SP_ERR_NOMEM, "parquet writer: out of memory");
  }
  for (int i = 0; i < ncolumns; i++) {
    pq_column *c = &w->cols[i];
    c->def = &columns[i];
    c->phys = physical_type(columns[i].type);
    if (c->phys < 0) {
      sp_parquet_writer_free(w);
      return sp_error_set(err, SP_ERR_INVALID, "parquet writer: column %s has an unknown type", columns[i].name);
    }
    c->width = c->phys == PQ_BOOLEAN ? 1 : c->phys == PQ_INT32 ? 4 : c->phys == PQ_BYTE_ARRAY ? 0 : 8;
    dict_reset(c, w->opt.dictionary);
  }
  rc = sp_write_all(fd, PQ_MAGIC, 4, "parquet header", err);
  if (rc) {
    sp_parquet_writer_free(w);
    return rc;
  }
  w->offset = 4;
  *out = w;
  return SP_OK;
}

static int check_open(sp_parquet_writer *w, sp_error *err) {
  if (w->finished) return sp_error_set(err, SP_ERR_INVALID, "parquet writer: already finished");
  if (w->failed) return sp_error_set(err, SP_ERR_INVALID, "parquet writer: an earlier write failed");
  return SP_OK;
}

static bool row_group_full(const sp_parquet_writer *w) {
  return w->nrows >= w->opt.row_group_rows || w->buffered_bytes >= w->opt.row_group_bytes;
}

/* The write functions' step ends.  A column that could not buffer its slice (`rc`)
 * fails the writer; returns the error. */
static int buffering_failed(sp_parquet_writer *w, int rc, int col, sp_error *err) {
  w->failed = true;
  return sp_error_set(err, rc, "parquet writer: out of memory buffering column %s", w->defs[col].name);
}

/* `step` more rows are buffered in every column: a full row group is flushed (a failed
 * flush fails the writer).  Returns 0 or the flush's error. */
static int rows_buffered(sp_parquet_writer *w, size_t step, sp_error *err) {
  w->nrows += step;
  if (!row_group_full(w)) return SP_OK;
  int rc = flush_row_group(w, err);
  if (rc) w->failed = true;
  return rc;
}

/* Buffer one non-null row value of column c. */
static int append_value(sp_parquet_writer *w, pq_column *c, const sp_value *v) {
  switch (c->def->type) {
  case SP_BOOL: {
    uint8_t b = v->u.b;
    return append_fixed(w, c, &b);
  }
  case SP_INT32:
  case SP_DATE: return append_fixed(w, c, &v->u.i32);
  case SP_INT64:
  case SP_TIMESTAMP: return append_fixed(w, c, &v->u.i64);
  case SP_DOUBLE: return append_fixed(w, c, &v->u.f64);
  case SP_STRING: return append_string(w, c, v->u.str.ptr, v->u.str.len);
  }
  return SP_ERR_INVALID;
}

int sp_parquet_writer_write_rows(sp_parquet_writer *w, const sp_row *rows, size_t n, sp_error *err) {
  int rc = check_open(w, err);
  if (rc) return rc;
  /* Validate the whole batch first so a bad row leaves the writer untouched. */
  for (size_t r = 0; r < n; r++) {
    if (!rows[r].ds || rows[r].ds->ncolumns != w->ncols)
      return sp_error_set(err, SP_ERR_INVALID, "parquet writer: row %zu has %d columns, expected %d", r,
                          rows[r].ds ? rows[r].ds->ncolumns : 0, w->ncols);
    for (int i = 0; i < w->ncols; i++) {
      if (rows[r].ds->columns[i].type != w->defs[i].type)
        return sp_error_set(err, SP_ERR_INVALID, "parquet writer: row %zu column %s has the wrong type", r, w->defs[i].name);
      if (rows[r].values[i].is_null && !w->defs[i].nullable)
        return sp_error_set(err, SP_ERR_INVALID, "parquet writer: null in required column %s (row %zu)", w->defs[i].name, r);
    }
  }
  /* Column by column over slices of the batch (one column's buffers at a time), cut at
   * row-group boundaries. */
  size_t r = 0;
  while (r < n) {
    size_t room = w->opt.row_group_rows - w->nrows;
    size_t step = n - r < room ? n - r : room;
    if (step > 4096) step = 4096;
    for (int i = 0; i < w->ncols; i++) {
      pq_column *c = &w->cols[i];
      rc = reserve_values(c, step);
      if (rc == SP_OK && c->def->nullable) rc = reserve_defs(c, w->nrows + step);
      for (size_t k = 0; k < step && rc == SP_OK; k++) {
        const sp_value *v = &rows[r + k].values[i];
        if (c->def->nullable) c->defs[w->nrows + k] = !v->is_null;
        if (!v->is_null) rc = append_value(w, c, v);
      }
      if (rc) return buffering_failed(w, rc, i, err);
    }
    if ((rc = rows_buffered(w, step, err))) return rc;
    r += step;
  }
  return SP_OK;
}

/* Append rows [r0, r1) of one fixed-width input column: values are copied in bulk, then
 * fed to the dictionary. */
static int append_fixed_slice(sp_parquet_writer *w, pq_column *c, const uint8_t *valid, const uint8_t *src,
                              size_t r0, size_t r1) {
  size_t n = r1 - r0, wd = c->width;
  if (sp_buf_reserve(&c->values, n * wd)) return SP_ERR_NOMEM;
  uint8_t *dst = c->values.data + c->values.len;
  size_t cnt = 0;
  if (!valid) {
    memcpy(dst, src + r0 * wd, n * wd);
    cnt = n;
  } else if (wd == 8) {
    for (size_t r = r0; r < r1; r++)
      if (valid[r]) memcpy(dst + 8 * cnt++, src + 8 * r, 8);
  } else {
    for (size_t r = r0; r < r1; r++)
      if (valid[r]) memcpy(dst + wd * cnt++, src + wd * r, wd);
  }
  c->values.len += cnt * wd;
  c->values.data[c->values.len] = 0;
  w->buffered_bytes += cnt * wd;
  if (!c->dict_active) {
    c->nvalues += cnt;
    return SP_OK;
  }
  for (size_t k = 0; k < cnt; k++) {
    int rc = note_value(w, c, dst + k * wd, wd);
    if (rc) return rc;
  }
  return SP_OK;
}

/* Append rows [r0, r1) of one input column. */
static int append_column_slice(sp_parquet_writer *w, pq_column *c, const sp_parquet_column_input *in,
                               size_t r0, size_t r1) {
  size_t n = r1 - r0;
  if (c->def->nullable) {
    if (reserve_defs(c, w->nrows + n)) return SP_ERR_NOMEM;
    if (in->valid)
      for (size_t k = 0; k < n; k++) c->defs[w->nrows + k] = in->valid[r0 + k] != 0;
    else
      memset(c->defs + w->nrows, 1, n);
  }
  if (reserve_values(c, n)) return SP_ERR_NOMEM;
  switch (c->def->type) {
  case SP_BOOL: {
    /* bool is one byte holding 0 or 1: the buffered form */
    return append_fixed_slice(w, c, in->valid, (const uint8_t *)in->bools, r0, r1);
  }
  case SP_INT32:
  case SP_DATE: return append_fixed_slice(w, c, in->valid, (const uint8_t *)in->i32, r0, r1);
  case SP_INT64:
  case SP_TIMESTAMP: return append_fixed_slice(w, c, in->valid, (const uint8_t *)in->i64, r0, r1);
  case SP_DOUBLE: return append_fixed_slice(w, c, in->valid, (const uint8_t *)in->f64, r0, r1);
  case SP_STRING:
    break;
  }
  for (size_t r = r0; r < r1; r++) {
    if (in->valid && !in->valid[r]) continue;
    int rc = append_string(w, c, in->strings[r].ptr, in->strings[r].len);
    if (rc) return rc;
  }
  return SP_OK;
}

int sp_parquet_writer_write_columns(sp_parquet_writer *w, const sp_parquet_column_input *columns,
                                    size_t nrows, sp_error *err) {
  int rc = check_open(w, err);
  if (rc) return rc;
  for (int i = 0; i < w->ncols; i++) {
    const sp_parquet_column_input *in = &columns[i];
    sp_type t = w->defs[i].type;
    const void *data = t == SP_BOOL ? (const void *)in->bools
                     : (t == SP_INT32 || t == SP_DATE) ? (const void *)in->i32
                     : (t == SP_INT64 || t == SP_TIMESTAMP) ? (const void *)in->i64
                     : t == SP_DOUBLE ? (const void *)in->f64 : (const void *)in->strings;
    if (!data && nrows) return sp_error_set(err, SP_ERR_INVALID, "parquet writer: no values for column %s", w->defs[i].name);
    if (in->valid && !w->defs[i].nullable)
      for (size_t r = 0; r < nrows; r++)
        if (!in->valid[r])
          return sp_error_set(err, SP_ERR_INVALID, "parquet writer: null in required column %s (row %zu)", w->defs[i].name, r);
  }
  size_t r = 0;
  while (r < nrows) {
    size_t room = w->opt.row_group_rows - w->nrows;
    size_t step = nrows - r < room ? nrows - r : room;
    if (step > 65536) step = 65536; /* re-check the byte limit regularly */
    for (int i = 0; i < w->ncols; i++) {
      rc = append_column_slice(w, &w->cols[i], &columns[i], r, r + step);
      if (rc) return buffering_failed(w, rc, i, err);
    }
    if ((rc = rows_buffered(w, step, err))) return rc;
    r += step;
  }
  return SP_OK;
}

static void write_schema_element(sp_thrift_writer *tw, const sp_column_def *c) {
  sp_thrift_write_elem_struct_begin(tw);
  sp_thrift_write_i32(tw, 1, physical_type(c->type));
  sp_thrift_write_i32(tw, 3, c->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
  sp_thrift_write_string(tw, 4, c->name);
  switch (c->type) {
  case SP_STRING:
    sp_thrift_write_i32(tw, 6, PQ_CT_UTF8);
    sp_thrift_write_struct_begin(tw, 10);
    sp_thrift_write_empty_struct(tw, PQ_LT_STRING);
    sp_thrift_write_struct_end(tw);
    break;
  case SP_DATE:
    sp_thrift_write_i32(tw, 6, PQ_CT_DATE);
    sp_thrift_write_struct_begin(tw, 10);
    sp_thrift_write_empty_struct(tw, PQ_LT_DATE);
    sp_thrift_write_struct_end(tw);
    break;
  case SP_TIMESTAMP:
    sp_thrift_write_i32(tw, 6, PQ_CT_TIMESTAMP_MICROS);
    sp_thrift_write_struct_begin(tw, 10);
    sp_thrift_write_struct_begin(tw, PQ_LT_TIMESTAMP);
    sp_thrift_write_bool(tw, 1, true);
    sp_thrift_write_struct_begin(tw, 2);
    sp_thrift_write_empty_struct(tw, PQ_UNIT_MICROS);
    sp_thrift_write_struct_end(tw);
    sp_thrift_write_struct_end(tw);
    sp_thrift_write_struct_end(tw);
    break;
  default:
    break;
  }
  sp_thrift_write_struct_end(tw);
}

static void write_key_value(sp_thrift_writer *tw, const char *key, const char *value) {
  sp_thrift_write_elem_struct_begin(tw);
  sp_thrift_write_string(tw, 1, key);
  sp_thrift_write_string(tw, 2, value);
  sp_thrift_write_struct_end(tw);
}

int sp_parquet_writer_finish(sp_parquet_writer *w, sp_error *err) {
  int rc = check_open(w, err);
  if (rc) return rc;
  rc = flush_row_group(w, err);
  if (rc) {
    w->failed = true;
    return rc;
  }
  sp_buf_reset(&w->out);
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, &w->out);
  sp_thrift_write_i32(&tw, 1, 2);
  sp_thrift_write_list_begin(&tw, 2, SP_THRIFT_STRUCT, (size_t)w->ncols + 1);
  sp_thrift_write_elem_struct_begin(&tw);
  sp_thrift_write_string(&tw, 4, "schema");
  sp_thrift_write_i32(&tw, 5, w->ncols);
  sp_thrift_write_struct_end(&tw);
  for (int i = 0; i < w->ncols; i++) write_schema_element(&tw, &w->defs[i]);
  sp_thrift_write_i64(&tw, 3, w->total_rows);
  sp_thrift_write_list_begin(&tw, 4, SP_THRIFT_STRUCT, w->nrow_groups);
  if (sp_buf_append(&w->out, w->row_group_meta.data, w->row_group_meta.len)) tw.failed = true;
  char version[32];
  snprintf(version, sizeof version, "%d", w->opt.schema_version);
  size_t nkv = 1 + (w->opt.dataset != NULL) + (w->opt.schema_version != 0);
  sp_thrift_write_list_begin(&tw, 5, SP_THRIFT_STRUCT, nkv);
  write_key_value(&tw, "stockpipe.version", STOCKPIPE_VERSION);
  if (w->opt.dataset) write_key_value(&tw, "stockpipe.dataset", w->opt.dataset);
  if (w->opt.schema_version) write_key_value(&tw, "stockpipe.schema_version", version);
  sp_thrift_write_string(&tw, 6, CREATED_BY);
  sp_thrift_write_list_begin(&tw, 7, SP_THRIFT_STRUCT, (size_t)w->ncols);
  for (int i = 0; i < w->ncols; i++) {
    sp_thrift_write_elem_struct_begin(&tw);
    sp_thrift_write_empty_struct(&tw, 1); /* TYPE_ORDER */
    sp_thrift_write_struct_end(&tw);
  }
  sp_thrift_writer_end(&tw);
  size_t footer_len = w->out.len;
  if (sp_thrift_writer_status(&tw) || footer_len > UINT32_MAX || sp_buf_append_u32le(&w->out, (uint32_t)footer_len) ||
      sp_buf_append(&w->out, PQ_MAGIC, 4)) {
    w->failed = true;
    return sp_error_set(err, SP_ERR_NOMEM, "parquet footer: out of memory");
  }
  rc = sp_write_all(w->fd, w->out.data, w->out.len, "parquet footer", err);
  if (rc) {
    w->failed = true;
    return rc;
  }
  w->offset += w->out.len;
  w->finished = true;
  return SP_OK;
}

void sp_parquet_writer_free(sp_parquet_writer *w) {
  if (!w) return;
  if (w->cols) {
    for (int i = 0; i < w->ncols; i++) {
      pq_column *c = &w->cols[i];
      dict_drop(c);
      sp_buf_free(&c->values);
      free(c->str_ends);
      free(c->defs);
    }
    free(w->cols);
  }
  sp_buf_free(&w->out);
  sp_buf_free(&w->page);
  sp_buf_free(&w->compressed);
  sp_buf_free(&w->row_group_meta);
  sp_pq_compressor_free(&w->comp);
  free(w);
}

/* ---- the format registry entry ------------------------------------------------------- */

struct sp_format_writer {
  sp_parquet_writer *pq;
};

static int format_open(sp_format_writer **out, int fd, const sp_dataset_def *ds,
                       const sp_format_options *options, sp_error *err) {
  *out = NULL;
  sp_parquet_writer_options o;
  const char *codec = options && options->compression ? options->compression : ds->default_compression;
  int codec_id = sp_pq_codec_by_name(codec);
  if (codec_id < 0) return sp_error_set(err, SP_ERR_INVALID, "parquet: unknown compression \"%s\"", codec);
  sp_parquet_writer_options_for_codec(&o, codec_id);
  if (options) {
    o.compression_level = options->compression_level;
    if (options->row_group_rows) o.row_group_rows = options->row_group_rows;
  }
  o.dataset = ds->name;
  o.schema_version = ds->schema_version;
  sp_format_writer *fw = calloc(1, sizeof *fw);
  if (!fw) return sp_error_set(err, SP_ERR_NOMEM, "parquet: out of memory");
  int rc = sp_parquet_writer_open(&fw->pq, fd, ds->columns, ds->ncolumns, &o, err);
  if (rc) {
    free(fw);
    return rc;
  }
  *out = fw;
  return SP_OK;
}

static int format_write_rows(sp_format_writer *w, const sp_row *rows, size_t n, sp_error *err) {
  return sp_parquet_writer_write_rows(w->pq, rows, n, err);
}

static int format_finish(sp_format_writer *w, sp_error *err) { return sp_parquet_writer_finish(w->pq, err); }

static void format_destroy(sp_format_writer *w) {
  if (!w) return;
  sp_parquet_writer_free(w->pq);
  free(w);
}

const sp_format_vtable sp_format_parquet = {"parquet", ".parquet", format_open, format_write_rows,
                                            format_finish, format_destroy};
