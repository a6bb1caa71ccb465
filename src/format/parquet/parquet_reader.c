/*
 * parquet_reader.c — the Parquet reader (see parquet_reader.h).
 *
 * Opening maps the file, checks both magic numbers and the footer length, and parses
 * the footer (FileMetaData) with the bounded Thrift reader into plain arrays: columns,
 * row groups, and one sp_parquet_chunk_info per (row group, column) with typed
 * statistics.  Reading a column chunk walks its pages inside the chunk's byte range:
 * each page header is parsed and checked, the body decompressed into a reusable
 * buffer, definition levels decoded into `valid`, and the non-null values decoded
 * densely at the page's first row and then spread over the null rows.
 */
#include "format/parquet/parquet_reader.h"

#include "core/row.h"
#include "format/parquet/parquet_compress.h"
#include "format/parquet/parquet_encoding.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JULIAN_UNIX_EPOCH 2440588

/* Raw statistics and layout of a chunk as parsed, before the schema is known. */
typedef struct raw_chunk {
  int phys;
  const uint8_t *min, *max; /* min_value/max_value, else legacy min/max (numeric only) */
  size_t min_len, max_len;
  bool legacy_stats;
} raw_chunk;

typedef struct raw_row_group {
  int64_t num_rows;
  size_t first_chunk, nchunks;
} raw_row_group;

struct sp_parquet_reader {
  char *name;
  const uint8_t *data;
  size_t size;
  void *map;
  size_t footer_start; /* column chunks must end before this offset */
  sp_parquet_reader_options opt;
  int ncols;
  sp_parquet_column_info *cols;
  int nrg;
  int64_t *rg_rows;
  sp_parquet_chunk_info *chunks; /* nrg * ncols */
  raw_chunk *raw;                /* parsed order, then indexed like chunks */
  raw_row_group *raw_rgs;
  size_t nraw, cap_raw;
  int64_t num_rows;
  char *created_by;
  size_t nkv;
  char **kv; /* key, value pairs */
  sp_pq_compressor decomp;
  /* scratch reused between reads */
  uint8_t *page;
  size_t cap_page;
  uint8_t *values;
  size_t cap_values;
  uint32_t *u32;
  size_t cap_u32;
  /* dictionary of the chunk being read */
  uint8_t *dict_page;
  size_t cap_dict_page;
  uint8_t *dict_values; /* output representation (fixed types) */
  size_t cap_dict_values;
  uint32_t *dict_offsets; /* strings: n + 1 offsets into dict_page */
  size_t cap_dict_offsets;
  size_t dict_n;
  bool has_dict;
};

static int corrupt(const sp_parquet_reader *r, sp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int corrupt(const sp_parquet_reader *r, sp_error *err, const char *fmt, ...) {
  char detail[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return sp_error_set(err, SP_ERR_CORRUPT, "%s: corrupt parquet file: %s", r->name, detail);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return SP_OK;
  size_t n = *cap ? *cap : 1024;
  while (n < need) {
    if (n > SIZE_MAX / 2) return SP_ERR_NOMEM;
    n *= 2;
  }
  if (n > SIZE_MAX / elem) return SP_ERR_NOMEM;
  void *q = realloc(*p, n * elem);
  if (!q) return SP_ERR_NOMEM;
  *p = q;
  *cap = n;
  return SP_OK;
}

void sp_parquet_reader_options_default(sp_parquet_reader_options *o) {
  o->max_rows_per_group = (size_t)64 << 20;
  o->max_column_bytes = (size_t)2 << 30;
}

/* ---- footer parsing --------------------------------------------------------------- */

typedef struct schema_elem {
  int type, type_length, repetition, num_children, converted, scale;
  const uint8_t *name;
  size_t name_len;
  int logical;   /* LogicalType member id, 0 = none */
  int ts_unit;   /* TimeUnit member for TIMESTAMP */
  int lt_scale;  /* DECIMAL scale from the logical type */
} schema_elem;

#define TRY(x)                \
  do {                        \
    int rc_ = (x);            \
    if (rc_ < 0) return rc_;  \
  } while (0)

/* Iterate the fields of a struct: `body` runs with `id` and `type` set. */
#define FOR_FIELDS(tr, id, type)                                   \
  for (int16_t last_ = 0, id = 0; last_ >= 0; last_ = -1)          \
    for (int type = 0, more_; (more_ = sp_thrift_read_field(tr, &last_, &id, &type)) != 0;) \
      if (more_ < 0) return more_; else

static int parse_time_unit(sp_thrift_reader *tr, int type, int *unit) {
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    if (id >= 1 && id <= 3 && ft == SP_THRIFT_STRUCT) *unit = id;
    TRY(sp_thrift_skip(tr, ft));
  }
  sp_thrift_struct_leave(tr);
  return SP_OK;
}

static int parse_logical_type(sp_thrift_reader *tr, int type, schema_elem *e) {
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    if (ft != SP_THRIFT_STRUCT) {
      TRY(sp_thrift_skip(tr, ft));
      continue;
    }
    e->logical = id;
    if (id == PQ_LT_TIMESTAMP) {
      TRY(sp_thrift_struct_enter(tr, ft));
      FOR_FIELDS(tr, tid, tt) {
        if (tid == 2) TRY(parse_time_unit(tr, tt, &e->ts_unit));
        else TRY(sp_thrift_skip(tr, tt));
      }
      sp_thrift_struct_leave(tr);
    } else if (id == PQ_LT_DECIMAL) {
      TRY(sp_thrift_struct_enter(tr, ft));
      FOR_FIELDS(tr, did, dt) {
        if (did == 1) TRY(sp_thrift_read_i32(tr, dt, &e->lt_scale));
        else TRY(sp_thrift_skip(tr, dt));
      }
      sp_thrift_struct_leave(tr);
    } else {
      TRY(sp_thrift_skip(tr, ft));
    }
  }
  sp_thrift_struct_leave(tr);
  return SP_OK;
}

static int parse_schema_elem(sp_thrift_reader *tr, int type, schema_elem *e) {
  memset(e, 0, sizeof *e);
  e->type = e->repetition = e->num_children = e->converted = -1;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    switch (id) {
    case 1: TRY(sp_thrift_read_i32(tr, ft, &e->type)); break;
    case 2: TRY(sp_thrift_read_i32(tr, ft, &e->type_length)); break;
    case 3: TRY(sp_thrift_read_i32(tr, ft, &e->repetition)); break;
    case 4: TRY(sp_thrift_read_binary(tr, ft, &e->name, &e->name_len)); break;
    case 5: TRY(sp_thrift_read_i32(tr, ft, &e->num_children)); break;
    case 6: TRY(sp_thrift_read_i32(tr, ft, &e->converted)); break;
    case 7: TRY(sp_thrift_read_i32(tr, ft, &e->scale)); break;
    case 10: TRY(parse_logical_type(tr, ft, e)); break;
    default: TRY(sp_thrift_skip(tr, ft)); break;
    }
  }
  sp_thrift_struct_leave(tr);
  if (!e->name) return sp_thrift_corrupt(tr, "schema element without a name");
  return SP_OK;
}

static int parse_statistics(sp_thrift_reader *tr, int type, raw_chunk *rc, sp_parquet_chunk_info *ci) {
  const uint8_t *lmin = NULL, *lmax = NULL;
  size_t lmin_len = 0, lmax_len = 0;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    switch (id) {
    case 1: TRY(sp_thrift_read_binary(tr, ft, &lmax, &lmax_len)); break;
    case 2: TRY(sp_thrift_read_binary(tr, ft, &lmin, &lmin_len)); break;
    case 3:
      TRY(sp_thrift_read_i64(tr, ft, &ci->null_count));
      ci->has_null_count = ci->null_count >= 0;
      break;
    case 5: TRY(sp_thrift_read_binary(tr, ft, &rc->max, &rc->max_len)); break;
    case 6: TRY(sp_thrift_read_binary(tr, ft, &rc->min, &rc->min_len)); break;
    default: TRY(sp_thrift_skip(tr, ft)); break;
    }
  }
  sp_thrift_struct_leave(tr);
  if ((!rc->min || !rc->max) && lmin && lmax) {
    rc->min = lmin;
    rc->max = lmax;
    rc->min_len = lmin_len;
    rc->max_len = lmax_len;
    rc->legacy_stats = true;
  }
  return SP_OK;
}

static int parse_column_meta(sp_thrift_reader *tr, int type, raw_chunk *rc, sp_parquet_chunk_info *ci) {
  bool have_type = false, have_codec = false, have_values = false, have_data = false, have_size = false;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    switch (id) {
    case 1: TRY(sp_thrift_read_i32(tr, ft, &rc->phys)); have_type = true; break;
    case 4: TRY(sp_thrift_read_i32(tr, ft, &ci->codec)); have_codec = true; break;
    case 5: TRY(sp_thrift_read_i64(tr, ft, &ci->num_values)); have_values = true; break;
    case 6: TRY(sp_thrift_read_i64(tr, ft, &ci->total_uncompressed_size)); break;
    case 7: TRY(sp_thrift_read_i64(tr, ft, &ci->total_compressed_size)); have_size = true; break;
    case 9: TRY(sp_thrift_read_i64(tr, ft, &ci->data_page_offset)); have_data = true; break;
    case 11: TRY(sp_thrift_read_i64(tr, ft, &ci->dictionary_page_offset)); break;
    case 12: TRY(parse_statistics(tr, ft, rc, ci)); break;
    default: TRY(sp_thrift_skip(tr, ft)); break;
    }
  }
  sp_thrift_struct_leave(tr);
  if (!have_type || !have_codec || !have_values || !have_data || !have_size)
    return sp_thrift_corrupt(tr, "column metadata lacks a required field");
  return SP_OK;
}

static int parse_column_chunk(sp_parquet_reader *r, sp_thrift_reader *tr, int type,
                              sp_parquet_chunk_info **chunks, size_t *cap_chunks) {
  if (grow((void **)&r->raw, &r->cap_raw, r->nraw + 1, sizeof *r->raw) ||
      grow((void **)chunks, cap_chunks, r->nraw + 1, sizeof **chunks))
    return sp_error_set(tr->err, SP_ERR_NOMEM, "%s: out of memory", r->name);
  raw_chunk *rc = &r->raw[r->nraw];
  sp_parquet_chunk_info *ci = &(*chunks)[r->nraw];
  memset(rc, 0, sizeof *rc);
  memset(ci, 0, sizeof *ci);
  ci->dictionary_page_offset = -1;
  bool have_meta = false;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    switch (id) {
    case 1:
      return sp_error_set(tr->err, SP_ERR_UNSUPPORTED, "%s: column chunks in other files are not supported", r->name);
    case 3: TRY(parse_column_meta(tr, ft, rc, ci)); have_meta = true; break;
    case 8:
    case 9:
      return sp_error_set(tr->err, SP_ERR_UNSUPPORTED, "%s: encrypted columns are not supported", r->name);
    default: TRY(sp_thrift_skip(tr, ft)); break;
    }
  }
  sp_thrift_struct_leave(tr);
  if (!have_meta) return sp_thrift_corrupt(tr, "column chunk without metadata");
  r->nraw++;
  return SP_OK;
}

static int parse_row_group(sp_parquet_reader *r, sp_thrift_reader *tr, int type, raw_row_group *rg,
                           sp_parquet_chunk_info **chunks, size_t *cap_chunks) {
  bool have_rows = false, have_cols = false;
  rg->first_chunk = r->nraw;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    if (id == 1) {
      int et;
      size_t n;
      TRY(sp_thrift_read_list(tr, ft, &et, &n));
      if (et != SP_THRIFT_STRUCT) return sp_thrift_corrupt(tr, "row group columns are not structs");
      for (size_t i = 0; i < n; i++) TRY(parse_column_chunk(r, tr, et, chunks, cap_chunks));
      rg->nchunks = n;
      have_cols = true;
    } else if (id == 3) {
      TRY(sp_thrift_read_i64(tr, ft, &rg->num_rows));
      have_rows = true;
    } else {
      TRY(sp_thrift_skip(tr, ft));
    }
  }
  sp_thrift_struct_leave(tr);
  if (!have_rows || !have_cols) return sp_thrift_corrupt(tr, "row group lacks columns or num_rows");
  if (rg->num_rows < 0) return sp_thrift_corrupt(tr, "row group has %lld rows", (long long)rg->num_rows);
  return SP_OK;
}

static char *dup_bytes(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

static int parse_key_value(sp_parquet_reader *r, sp_thrift_reader *tr, int type) {
  const uint8_t *k = NULL, *v = NULL;
  size_t kl = 0, vl = 0;
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    if (id == 1) TRY(sp_thrift_read_binary(tr, ft, &k, &kl));
    else if (id == 2) TRY(sp_thrift_read_binary(tr, ft, &v, &vl));
    else TRY(sp_thrift_skip(tr, ft));
  }
  sp_thrift_struct_leave(tr);
  if (!k) return sp_thrift_corrupt(tr, "key-value metadata without a key");
  char *ks = dup_bytes(k, kl), *vs = dup_bytes(v ? v : (const uint8_t *)"", vl);
  if (!ks || !vs) {
    free(ks);
    free(vs);
    return sp_error_set(tr->err, SP_ERR_NOMEM, "%s: out of memory", r->name);
  }
  r->kv[2 * r->nkv] = ks;
  r->kv[2 * r->nkv + 1] = vs;
  r->nkv++;
  return SP_OK;
}

/* Map a schema leaf to column info. */
static int describe_column(sp_parquet_reader *r, const schema_elem *e, sp_parquet_column_info *c, sp_error *err) {
  c->name = dup_bytes(e->name, e->name_len);
  if (!c->name) return sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name);
  c->physical_type = e->type;
  c->converted_type = e->converted;
  c->type_length = e->type_length;
  c->nullable = e->repetition != PQ_REQUIRED;
  bool decimal = e->logical == PQ_LT_DECIMAL || e->converted == PQ_CT_DECIMAL;
  c->decimal_scale = e->logical == PQ_LT_DECIMAL ? e->lt_scale : e->scale;
  if (decimal && (c->decimal_scale < 0 || c->decimal_scale > 38))
    return corrupt(r, err, "column %s: decimal scale %d", c->name, c->decimal_scale);
  switch (e->type) {
  case PQ_BOOLEAN: c->type = SP_BOOL; break;
  case PQ_INT32:
    c->type = decimal ? SP_DOUBLE : (e->logical == PQ_LT_DATE || e->converted == PQ_CT_DATE) ? SP_DATE : SP_INT32;
    break;
  case PQ_INT64:
    if (decimal) {
      c->type = SP_DOUBLE;
    } else if (e->logical == PQ_LT_TIMESTAMP) {
      c->type = SP_TIMESTAMP;
      c->timestamp_unit = e->ts_unit ? e->ts_unit : PQ_UNIT_MICROS;
    } else if (e->converted == PQ_CT_TIMESTAMP_MICROS || e->converted == PQ_CT_TIMESTAMP_MILLIS) {
      c->type = SP_TIMESTAMP;
      c->timestamp_unit = e->converted == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
    } else {
      c->type = SP_INT64;
    }
    break;
  case PQ_INT96: c->type = SP_TIMESTAMP; c->timestamp_unit = PQ_UNIT_NANOS; break;
  case PQ_FLOAT:
  case PQ_DOUBLE: c->type = SP_DOUBLE; break;
  case PQ_BYTE_ARRAY: c->type = SP_STRING; break;
  case PQ_FIXED_LEN_BYTE_ARRAY:
    if (e->type_length <= 0) return corrupt(r, err, "column %s: fixed length %d", c->name, e->type_length);
    if (decimal) return sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: column %s: fixed-length decimals are not supported", r->name, c->name);
    c->type = SP_STRING;
    break;
  default:
    return corrupt(r, err, "column %s has physical type %d", c->name, e->type);
  }
  return SP_OK;
}

static int parse_footer(sp_parquet_reader *r, const uint8_t *p, size_t len, sp_error *err) {
  sp_thrift_reader trs, *tr = &trs;
  char what[300];
  snprintf(what, sizeof what, "%s: corrupt parquet footer", r->name);
  sp_thrift_reader_init(tr, p, len, what, err);
  schema_elem *schema = NULL;
  size_t nschema = 0;
  bool have_schema = false, have_rows = false, have_rgs = false;
  sp_parquet_chunk_info *chunks = NULL;
  size_t cap_chunks = 0;
  int rc = SP_OK;
  int16_t last = 0, id;
  int ft, more;
  while ((more = sp_thrift_read_field(tr, &last, &id, &ft)) == 1) {
    int et;
    size_t n;
    switch (id) {
    case 2:
      if (have_schema) { rc = sp_thrift_corrupt(tr, "two schemas"); break; }
      rc = sp_thrift_read_list(tr, ft, &et, &n);
      if (rc) break;
      if (et != SP_THRIFT_STRUCT || n == 0) { rc = sp_thrift_corrupt(tr, "empty or malformed schema"); break; }
      schema = calloc(n, sizeof *schema);
      if (!schema) { rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name); break; }
      for (size_t i = 0; i < n && rc == SP_OK; i++) rc = parse_schema_elem(tr, et, &schema[i]);
      nschema = n;
      have_schema = true;
      break;
    case 3:
      rc = sp_thrift_read_i64(tr, ft, &r->num_rows);
      have_rows = true;
      break;
    case 4:
      if (have_rgs) { rc = sp_thrift_corrupt(tr, "two row group lists"); break; }
      rc = sp_thrift_read_list(tr, ft, &et, &n);
      if (rc) break;
      if (et != SP_THRIFT_STRUCT || n > INT32_MAX) { rc = sp_thrift_corrupt(tr, "malformed row group list"); break; }
      r->raw_rgs = calloc(n ? n : 1, sizeof *r->raw_rgs);
      if (!r->raw_rgs) { rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name); break; }
      for (size_t i = 0; i < n && rc == SP_OK; i++) rc = parse_row_group(r, tr, et, &r->raw_rgs[i], &chunks, &cap_chunks);
      r->nrg = (int)n;
      have_rgs = true;
      break;
    case 5:
      if (r->kv) { rc = sp_thrift_corrupt(tr, "two key-value lists"); break; }
      rc = sp_thrift_read_list(tr, ft, &et, &n);
      if (rc) break;
      if (et != SP_THRIFT_STRUCT) { rc = sp_thrift_corrupt(tr, "malformed key-value list"); break; }
      r->kv = calloc(2 * n + 2, sizeof *r->kv);
      if (!r->kv) { rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name); break; }
      for (size_t i = 0; i < n && rc == SP_OK; i++) rc = parse_key_value(r, tr, et);
      break;
    case 6: {
      const uint8_t *s;
      size_t sl;
      rc = sp_thrift_read_binary(tr, ft, &s, &sl);
      if (rc == SP_OK && !r->created_by && !(r->created_by = dup_bytes(s, sl)))
        rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name);
      break;
    }
    case 8:
      rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: encrypted parquet files are not supported", r->name);
      break;
    default:
      rc = sp_thrift_skip(tr, ft);
      break;
    }
    if (rc) break;
  }
  if (rc == SP_OK && more < 0) rc = more;
  r->chunks = chunks;
  if (rc == SP_OK && (!have_schema || !have_rows || !have_rgs))
    rc = sp_thrift_corrupt(tr, "FileMetaData lacks schema, num_rows or row_groups");
  /* flat schema: a root with num_children leaves */
  if (rc == SP_OK) {
    const schema_elem *root = &schema[0];
    if (root->num_children != (int)(nschema - 1) || nschema - 1 > INT32_MAX / 2)
      rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: nested or malformed schema (root has %d children, %zu elements)",
                        r->name, root->num_children, nschema);
  }
  if (rc == SP_OK) {
    r->ncols = (int)(nschema - 1);
    r->cols = calloc(nschema, sizeof *r->cols);
    if (!r->cols) rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name);
    for (int i = 0; rc == SP_OK && i < r->ncols; i++) {
      const schema_elem *e = &schema[i + 1];
      if (e->num_children > 0 || e->type < 0)
        rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: nested column %.*s is not supported", r->name, (int)e->name_len, (const char *)e->name);
      else if (e->repetition == PQ_REPEATED)
        rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: repeated column %.*s is not supported", r->name, (int)e->name_len, (const char *)e->name);
      else
        rc = describe_column(r, e, &r->cols[i], err);
    }
  }
  free(schema);
  if (rc) return rc;
  if (r->num_rows < 0) return corrupt(r, err, "num_rows is %lld", (long long)r->num_rows);
  r->rg_rows = calloc((size_t)r->nrg + 1, sizeof *r->rg_rows);
  if (!r->rg_rows) return sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name);
  int64_t sum = 0;
  for (int g = 0; g < r->nrg; g++) {
    const raw_row_group *rg = &r->raw_rgs[g];
    if (rg->nchunks != (size_t)r->ncols)
      return corrupt(r, err, "row group %d has %zu column chunks for %d columns", g, rg->nchunks, r->ncols);
    if ((uint64_t)rg->num_rows > r->opt.max_rows_per_group)
      return sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: row group %d has %lld rows (limit %zu)", r->name, g,
                          (long long)rg->num_rows, r->opt.max_rows_per_group);
    r->rg_rows[g] = rg->num_rows;
    sum += rg->num_rows;
    if (sum > INT64_MAX / 2) return corrupt(r, err, "row counts overflow");
    for (int c = 0; c < r->ncols; c++) {
      size_t k = rg->first_chunk + (size_t)c;
      const raw_chunk *rc2 = &r->raw[k];
      sp_parquet_chunk_info *ci = &r->chunks[k];
      const sp_parquet_column_info *col = &r->cols[c];
      if (rc2->phys != col->physical_type)
        return corrupt(r, err, "row group %d column %s: chunk type %d differs from the schema's %d", g, col->name, rc2->phys, col->physical_type);
      if (ci->num_values < 0 || ci->total_compressed_size <= 0 || ci->data_page_offset < 4 ||
          (uint64_t)ci->data_page_offset >= r->footer_start ||
          (uint64_t)ci->total_compressed_size > r->footer_start)
        return corrupt(r, err, "row group %d column %s: chunk offsets or sizes outside the file", g, col->name);
      if (ci->dictionary_page_offset < 4 || ci->dictionary_page_offset >= ci->data_page_offset)
        ci->dictionary_page_offset = -1; /* absent (or the 0 some writers put) */
    }
  }
  if (sum != r->num_rows) return corrupt(r, err, "row groups hold %lld rows, footer says %lld", (long long)sum, (long long)r->num_rows);
  return SP_OK;
}

/* ---- statistics ------------------------------------------------------------------- */

static int64_t saturating_mul(int64_t v, int64_t m) {
  int64_t out;
  if (__builtin_mul_overflow(v, m, &out)) return (v < 0) != (m < 0) ? INT64_MIN : INT64_MAX;
  return out;
}

static int64_t floor_div(int64_t v, int64_t d) {
  int64_t q = v / d;
  if ((v % d != 0) && ((v < 0) != (d < 0))) q--;
  return q;
}

static int64_t to_micros(int64_t v, int unit) {
  if (unit == PQ_UNIT_MILLIS) return saturating_mul(v, 1000);
  if (unit == PQ_UNIT_NANOS) return floor_div(v, 1000);
  return v;
}

static double pow10_scale(int scale) {
  double d = 1;
  for (int i = 0; i < scale; i++) d *= 10;
  return d;
}

/* Decode one PLAIN value of a fixed-width physical type into the output type. */
static bool plain_to_value(const sp_parquet_column_info *c, const uint8_t *p, size_t len, sp_parquet_value *v) {
  switch (c->physical_type) {
  case PQ_BOOLEAN:
    if (len < 1) return false;
    v->u.b = p[0] & 1;
    return true;
  case PQ_INT32: {
    int32_t x;
    if (len != 4) return false;
    memcpy(&x, p, 4);
    if (c->type == SP_DOUBLE) v->u.f64 = x / pow10_scale(c->decimal_scale);
    else v->u.i32 = x;
    return true;
  }
  case PQ_INT64: {
    int64_t x;
    if (len != 8) return false;
    memcpy(&x, p, 8);
    if (c->type == SP_DOUBLE) v->u.f64 = (double)x / pow10_scale(c->decimal_scale);
    else if (c->type == SP_TIMESTAMP) v->u.i64 = to_micros(x, c->timestamp_unit);
    else v->u.i64 = x;
    return true;
  }
  case PQ_FLOAT: {
    float f;
    if (len != 4) return false;
    memcpy(&f, p, 4);
    v->u.f64 = f;
    return !isnan(f);
  }
  case PQ_DOUBLE:
    if (len != 8) return false;
    memcpy(&v->u.f64, p, 8);
    return !isnan(v->u.f64);
  case PQ_BYTE_ARRAY:
  case PQ_FIXED_LEN_BYTE_ARRAY:
    v->u.str.ptr = (const char *)p;
    v->u.str.len = len;
    return true;
  }
  return false;
}

static void finish_stats(sp_parquet_reader *r) {
  for (int g = 0; g < r->nrg; g++)
    for (int c = 0; c < r->ncols; c++) {
      size_t k = r->raw_rgs[g].first_chunk + (size_t)c;
      const raw_chunk *rc = &r->raw[k];
      sp_parquet_chunk_info *ci = &r->chunks[k];
      const sp_parquet_column_info *col = &r->cols[c];
      ci->has_min_max = false;
      if (!rc->min || !rc->max || col->physical_type == PQ_INT96) continue;
      /* legacy min/max of byte arrays used signed byte order: not usable */
      if (rc->legacy_stats && (col->type == SP_STRING || col->type == SP_BOOL)) continue;
      ci->has_min_max = plain_to_value(col, rc->min, rc->min_len, &ci->min) &&
                        plain_to_value(col, rc->max, rc->max_len, &ci->max);
    }
}

/* ---- open / close ------------------------------------------------------------------ */

static int open_common(sp_parquet_reader *r, sp_error *err) {
  if (r->size < 12) return corrupt(r, err, "%zu bytes is too short for a parquet file", r->size);
  if (memcmp(r->data + r->size - 4, "PARE", 4) == 0)
    return sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: encrypted parquet footer is not supported", r->name);
  if (memcmp(r->data, PQ_MAGIC, 4) != 0 || memcmp(r->data + r->size - 4, PQ_MAGIC, 4) != 0)
    return corrupt(r, err, "no PAR1 magic bytes at the start or end");
  const uint8_t *t = r->data + r->size - 8;
  uint32_t flen = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  if ((uint64_t)flen > r->size - 12) return corrupt(r, err, "footer length %u exceeds the file", flen);
  r->footer_start = r->size - 8 - flen;
  int rc = parse_footer(r, r->data + r->footer_start, flen, err);
  if (rc) return rc;
  finish_stats(r);
  return SP_OK;
}

static sp_parquet_reader *reader_new(const char *name, const sp_parquet_reader_options *options) {
  sp_parquet_reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->name = strdup(name ? name : "(memory)");
  if (!r->name) {
    free(r);
    return NULL;
  }
  if (options) r->opt = *options;
  else sp_parquet_reader_options_default(&r->opt);
  return r;
}

int sp_parquet_reader_open_memory(sp_parquet_reader **out, const void *data, size_t len,
                                  const char *name, const sp_parquet_reader_options *options,
                                  sp_error *err) {
  *out = NULL;
  sp_parquet_reader *r = reader_new(name, options);
  if (!r) return sp_error_set(err, SP_ERR_NOMEM, "parquet reader: out of memory");
  r->data = data;
  r->size = len;
  int rc = open_common(r, err);
  if (rc) {
    sp_parquet_reader_close(r);
    return rc;
  }
  *out = r;
  return SP_OK;
}

int sp_parquet_reader_open(sp_parquet_reader **out, const char *path,
                           const sp_parquet_reader_options *options, sp_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return sp_error_set(err, e == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO, "%s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return sp_error_set(err, SP_ERR_IO, "%s: %s", path, strerror(e));
  }
  sp_parquet_reader *r = reader_new(path, options);
  if (!r) {
    close(fd);
    return sp_error_set(err, SP_ERR_NOMEM, "parquet reader: out of memory");
  }
  r->size = (size_t)st.st_size;
  if (r->size >= 12) {
    r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (r->map == MAP_FAILED) {
      int e = errno;
      r->map = NULL;
      close(fd);
      sp_parquet_reader_close(r);
      return sp_error_set(err, SP_ERR_IO, "%s: mmap: %s", path, strerror(e));
    }
    r->data = r->map;
  }
  close(fd);
  int rc = open_common(r, err);
  if (rc) {
    sp_parquet_reader_close(r);
    return rc;
  }
  *out = r;
  return SP_OK;
}

void sp_parquet_reader_close(sp_parquet_reader *r) {
  if (!r) return;
  if (r->map) munmap(r->map, r->size);
  for (int i = 0; r->cols && i < r->ncols; i++) free((char *)r->cols[i].name);
  free(r->cols);
  for (size_t i = 0; r->kv && i < 2 * r->nkv; i++) free(r->kv[i]);
  free(r->kv);
  free(r->rg_rows);
  free(r->chunks);
  free(r->raw);
  free(r->raw_rgs);
  free(r->created_by);
  free(r->name);
  free(r->page);
  free(r->values);
  free(r->u32);
  free(r->dict_page);
  free(r->dict_values);
  free(r->dict_offsets);
  sp_pq_compressor_free(&r->decomp);
  free(r);
}

int sp_parquet_reader_num_columns(const sp_parquet_reader *r) { return r->ncols; }

const sp_parquet_column_info *sp_parquet_reader_column(const sp_parquet_reader *r, int i) {
  return i >= 0 && i < r->ncols ? &r->cols[i] : NULL;
}

int sp_parquet_reader_column_index(const sp_parquet_reader *r, const char *name) {
  for (int i = 0; i < r->ncols; i++)
    if (strcmp(r->cols[i].name, name) == 0) return i;
  return -1;
}

int64_t sp_parquet_reader_num_rows(const sp_parquet_reader *r) { return r->num_rows; }
int sp_parquet_reader_num_row_groups(const sp_parquet_reader *r) { return r->nrg; }

int64_t sp_parquet_reader_row_group_rows(const sp_parquet_reader *r, int g) {
  return g >= 0 && g < r->nrg ? r->rg_rows[g] : -1;
}

const sp_parquet_chunk_info *sp_parquet_reader_chunk(const sp_parquet_reader *r, int g, int c) {
  if (g < 0 || g >= r->nrg || c < 0 || c >= r->ncols) return NULL;
  return &r->chunks[r->raw_rgs[g].first_chunk + (size_t)c];
}

const char *sp_parquet_reader_created_by(const sp_parquet_reader *r) { return r->created_by ? r->created_by : ""; }

const char *sp_parquet_reader_metadata(const sp_parquet_reader *r, const char *key) {
  for (size_t i = 0; i < r->nkv; i++)
    if (strcmp(r->kv[2 * i], key) == 0) return r->kv[2 * i + 1];
  return NULL;
}

/* ---- column vectors ------------------------------------------------------------------ */

void sp_parquet_column_vector_free(sp_parquet_column_vector *v) {
  free(v->valid);
  free(v->bools);
  free(v->i32);
  free(v->i64);
  free(v->f64);
  free(v->str_offsets);
  free(v->str_bytes);
  free(v->codes);
  free(v->entry_offsets);
  memset(v, 0, sizeof *v);
}

static size_t out_width(sp_type t) {
  switch (t) {
  case SP_BOOL: return sizeof(bool);
  case SP_INT32:
  case SP_DATE: return 4;
  default: return 8;
  }
}

static void *out_values(sp_parquet_column_vector *v) {
  switch (v->type) {
  case SP_BOOL: return v->bools;
  case SP_INT32:
  case SP_DATE: return v->i32;
  case SP_INT64:
  case SP_TIMESTAMP: return v->i64;
  case SP_DOUBLE: return v->f64;
  case SP_STRING: return NULL;
  }
  return NULL;
}

/* Size `v` for `nrows` rows of `type` (strings `coded` or not), keeping allocations
 * across calls. */
static int vector_prepare(sp_parquet_column_vector *v, sp_type type, bool coded, size_t nrows) {
  if (v->type != type) {
    /* a different type: drop the typed arrays so the right one is allocated */
    free(v->bools);
    free(v->i32);
    free(v->i64);
    free(v->f64);
    free(v->str_offsets);
    v->bools = NULL;
    v->i32 = NULL;
    v->i64 = NULL;
    v->f64 = NULL;
    v->str_offsets = NULL;
    free(v->valid);
    v->valid = NULL;
    v->cap_rows = 0;
  }
  v->type = type;
  v->nrows = 0;
  v->null_count = 0;
  if (nrows + 1 > v->cap_rows || !v->valid) {
    size_t cap = nrows + 1;
    uint8_t *valid = realloc(v->valid, cap);
    if (!valid) return SP_ERR_NOMEM;
    v->valid = valid;
    void **slot = type == SP_BOOL ? (void **)&v->bools
                  : (type == SP_INT32 || type == SP_DATE) ? (void **)&v->i32
                  : (type == SP_INT64 || type == SP_TIMESTAMP) ? (void **)&v->i64
                  : type == SP_DOUBLE ? (void **)&v->f64 : (void **)&v->str_offsets;
    size_t w = type == SP_STRING ? sizeof(uint32_t) : out_width(type);
    void *q = realloc(*slot, cap * w);
    if (!q) return SP_ERR_NOMEM;
    *slot = q;
    v->cap_rows = cap;
  }
  if (type == SP_STRING) v->str_offsets[0] = 0;
  v->coded = coded && type == SP_STRING;
  v->nentries = 0;
  if (v->coded) {
    if (grow((void **)&v->codes, &v->cap_codes, nrows + 1, sizeof *v->codes) ||
        grow((void **)&v->entry_offsets, &v->cap_entries, 1, sizeof *v->entry_offsets))
      return SP_ERR_NOMEM;
    v->entry_offsets[0] = 0;
  }
  return SP_OK;
}

/* ---- value decoding ---------------------------------------------------------------- */

static size_t physical_width(const sp_parquet_column_info *c) {
  switch (c->physical_type) {
  case PQ_INT32:
  case PQ_FLOAT: return 4;
  case PQ_INT64:
  case PQ_DOUBLE: return 8;
  case PQ_INT96: return 12;
  case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)c->type_length;
  default: return 0;
  }
}

/* Convert n PLAIN values of a fixed-width numeric physical type into the output type. */
static void convert_plain(const sp_parquet_column_info *c, const uint8_t *src, size_t n, void *dst) {
  switch (c->physical_type) {
  case PQ_INT32:
    if (c->type == SP_DOUBLE) {
      double s = pow10_scale(c->decimal_scale);
      for (size_t i = 0; i < n; i++) {
        int32_t x;
        memcpy(&x, src + 4 * i, 4);
        ((double *)dst)[i] = x / s;
      }
    } else {
      memcpy(dst, src, 4 * n);
    }
    return;
  case PQ_INT64:
    if (c->type == SP_DOUBLE) {
      double s = pow10_scale(c->decimal_scale);
      for (size_t i = 0; i < n; i++) {
        int64_t x;
        memcpy(&x, src + 8 * i, 8);
        ((double *)dst)[i] = (double)x / s;
      }
    } else if (c->type == SP_TIMESTAMP && c->timestamp_unit != PQ_UNIT_MICROS) {
      for (size_t i = 0; i < n; i++) {
        int64_t x;
        memcpy(&x, src + 8 * i, 8);
        ((int64_t *)dst)[i] = to_micros(x, c->timestamp_unit);
      }
    } else {
      memcpy(dst, src, 8 * n);
    }
    return;
  case PQ_INT96:
    for (size_t i = 0; i < n; i++) {
      int64_t nanos;
      uint32_t julian;
      memcpy(&nanos, src + 12 * i, 8);
      memcpy(&julian, src + 12 * i + 8, 4);
      __int128 us = (__int128)((int64_t)julian - JULIAN_UNIX_EPOCH) * 86400000000 + floor_div(nanos, 1000);
      ((int64_t *)dst)[i] = us > INT64_MAX ? INT64_MAX : us < INT64_MIN ? INT64_MIN : (int64_t)us;
    }
    return;
  case PQ_FLOAT:
    for (size_t i = 0; i < n; i++) {
      float f;
      memcpy(&f, src + 4 * i, 4);
      ((double *)dst)[i] = f;
    }
    return;
  case PQ_DOUBLE:
    memcpy(dst, src, 8 * n);
    return;
  }
}

typedef struct page_ctx {
  sp_parquet_reader *r;
  const sp_parquet_column_info *col;
  int row_group;
  sp_parquet_column_vector *out;
  size_t row0;  /* first row of the page */
  size_t nrows; /* rows in the page */
  size_t nvals; /* non-null values in the page */
  sp_error *err;
} page_ctx;

static int page_corrupt(const page_ctx *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int page_corrupt(const page_ctx *pc, const char *fmt, ...) {
  char detail[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return corrupt(pc->r, pc->err, "row group %d column %s, page at row %zu: %s", pc->row_group, pc->col->name,
                 pc->row0, detail);
}

static int decode_error(const page_ctx *pc, int rc) {
  if (rc == SP_ERR_CORRUPT) {
    char msg[SP_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", pc->err ? pc->err->msg : "bad encoding");
    return page_corrupt(pc, "%s", msg);
  }
  if (rc == SP_ERR_NOMEM) return sp_error_set(pc->err, SP_ERR_NOMEM, "%s: out of memory", pc->r->name);
  return rc;
}

/* Dictionary indices for the page's values (RLE_DICTIONARY / PLAIN_DICTIONARY body). */
static int decode_indices(const page_ctx *pc, const uint8_t *p, size_t len) {
  sp_parquet_reader *r = pc->r;
  if (!r->has_dict) return page_corrupt(pc, "dictionary-encoded page without a dictionary");
  if (len < 1) return page_corrupt(pc, "dictionary page data is empty");
  if (grow((void **)&r->u32, &r->cap_u32, pc->nvals + 1, sizeof *r->u32)) return decode_error(pc, SP_ERR_NOMEM);
  int rc = sp_pq_rle_decode(p + 1, len - 1, p[0], r->u32, pc->nvals, NULL, pc->err);
  if (rc) return decode_error(pc, rc);
  uint32_t max = 0; /* a branch-free pass (it vectorises); the culprit is looked up only when one exists */
  for (size_t i = 0; i < pc->nvals; i++) max = r->u32[i] > max ? r->u32[i] : max;
  if (pc->nvals && max >= r->dict_n)
    for (size_t i = 0; i < pc->nvals; i++)
      if (r->u32[i] >= r->dict_n) return page_corrupt(pc, "dictionary index %u out of %zu entries", r->u32[i], r->dict_n);
  return SP_OK;
}

/* Fixed-width values: decode pc->nvals values densely at out + row0. */
static int decode_fixed(const page_ctx *pc, int encoding, const uint8_t *p, size_t len) {
  sp_parquet_reader *r = pc->r;
  const sp_parquet_column_info *c = pc->col;
  size_t ow = out_width(c->type);
  uint8_t *dst = (uint8_t *)out_values(pc->out) + pc->row0 * ow;
  size_t n = pc->nvals;
  size_t pw = physical_width(c);
  int rc;
  if (c->physical_type == PQ_BOOLEAN) {
    bool *b = (bool *)(void *)dst;
    if (encoding == PQ_ENC_PLAIN) {
      if ((n + 7) / 8 > len) return page_corrupt(pc, "%zu booleans need %zu bytes, %zu present", n, (n + 7) / 8, len);
      for (size_t i = 0; i < n; i++) b[i] = (p[i >> 3] >> (i & 7)) & 1;
      return SP_OK;
    }
    if (encoding == PQ_ENC_RLE) {
      if (len < 4) return page_corrupt(pc, "RLE booleans without a length");
      uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      if (l > len - 4) return page_corrupt(pc, "RLE boolean length %u exceeds the page", l);
      if (grow((void **)&r->u32, &r->cap_u32, n + 1, sizeof *r->u32)) return decode_error(pc, SP_ERR_NOMEM);
      rc = sp_pq_rle_decode(p + 4, l, 1, r->u32, n, NULL, pc->err);
      if (rc) return decode_error(pc, rc);
      for (size_t i = 0; i < n; i++) b[i] = r->u32[i] != 0;
      return SP_OK;
    }
    return sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s: encoding %d for booleans is not supported", r->name, c->name, encoding);
  }
  switch (encoding) {
  case PQ_ENC_PLAIN:
    if (n > len / pw) return page_corrupt(pc, "%zu values need %zu bytes, %zu present", n, n * pw, len);
    convert_plain(c, p, n, dst);
    return SP_OK;
  case PQ_ENC_PLAIN_DICTIONARY:
  case PQ_ENC_RLE_DICTIONARY:
    rc = decode_indices(pc, p, len);
    if (rc) return rc;
    if (ow == 8) {
      const uint64_t *d = (const uint64_t *)(const void *)r->dict_values;
      uint64_t *o = (uint64_t *)(void *)dst;
      for (size_t i = 0; i < n; i++) o[i] = d[r->u32[i]];
    } else {
      const uint32_t *d = (const uint32_t *)(const void *)r->dict_values;
      uint32_t *o = (uint32_t *)(void *)dst;
      for (size_t i = 0; i < n; i++) o[i] = d[r->u32[i]];
    }
    return SP_OK;
  case PQ_ENC_DELTA_BINARY_PACKED: {
    if (c->physical_type != PQ_INT32 && c->physical_type != PQ_INT64)
      return page_corrupt(pc, "DELTA_BINARY_PACKED for a non-integer column");
    if (grow((void **)&r->values, &r->cap_values, (n + 1) * 8, 1)) return decode_error(pc, SP_ERR_NOMEM);
    int64_t *tmp = (int64_t *)(void *)r->values;
    rc = sp_pq_delta_decode(p, len, tmp, n, NULL, pc->err);
    if (rc) return decode_error(pc, rc);
    if (c->physical_type == PQ_INT32) {
      int32_t *narrow = (int32_t *)(void *)r->values; /* in place: writes trail reads */
      for (size_t i = 0; i < n; i++) narrow[i] = (int32_t)(uint32_t)(uint64_t)tmp[i];
    }
    convert_plain(c, r->values, n, dst);
    return SP_OK;
  }
  case PQ_ENC_BYTE_STREAM_SPLIT:
    if (grow((void **)&r->values, &r->cap_values, n * pw + 1, 1)) return decode_error(pc, SP_ERR_NOMEM);
    rc = sp_pq_byte_stream_split_decode(p, len, r->values, n, pw, pc->err);
    if (rc) return decode_error(pc, rc);
    convert_plain(c, r->values, n, dst);
    return SP_OK;
  default:
    return sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s: encoding %d is not supported", r->name, c->name, encoding);
  }
}

/* Append one string to the vector's bytes and note its length in r->u32 scratch. */
static int append_bytes(const page_ctx *pc, const uint8_t *s, size_t len, size_t *used) {
  sp_parquet_column_vector *v = pc->out;
  if (*used + len > pc->r->opt.max_column_bytes || *used + len > UINT32_MAX)
    return sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s of row group %d exceeds %zu bytes", pc->r->name,
                        pc->col->name, pc->row_group, pc->r->opt.max_column_bytes);
  if (grow((void **)&v->str_bytes, &v->cap_bytes, *used + len + 1, 1)) return decode_error(pc, SP_ERR_NOMEM);
  if (len) memcpy(v->str_bytes + *used, s, len);
  *used += len;
  return SP_OK;
}

/* Coded strings, a dictionary-encoded page: each row's code is its dictionary index
 * (the dictionary is entries 0 .. dict_n of the vector, see copy_dictionary). */
static int decode_dictionary_codes(const page_ctx *pc, const uint8_t *p, size_t len) {
  int rc = decode_indices(pc, p, len);
  if (rc) return rc;
  const uint32_t *idx = pc->r->u32;
  uint32_t *codes = pc->out->codes + pc->row0;
  const uint8_t *valid = pc->out->valid + pc->row0;
  if (pc->nvals == pc->nrows) {
    memcpy(codes, idx, pc->nrows * sizeof *codes);
    return SP_OK;
  }
  for (size_t i = 0, j = 0; i < pc->nrows; i++) codes[i] = valid[i] ? idx[j++] : 0;
  return SP_OK;
}

/* Coded strings, any other page: its n values (bytes already appended to str_bytes,
 * lengths in lens) become new entries, one per non-null row. */
static int add_page_entries(const page_ctx *pc, const uint32_t *lens) {
  sp_parquet_column_vector *v = pc->out;
  size_t n = pc->nvals, first = v->nentries;
  if (first + n >= UINT32_MAX) return page_corrupt(pc, "more than 2^32 distinct strings in a column chunk");
  if (grow((void **)&v->entry_offsets, &v->cap_entries, first + n + 1, sizeof *v->entry_offsets))
    return decode_error(pc, SP_ERR_NOMEM);
  for (size_t k = 0; k < n; k++) v->entry_offsets[first + k + 1] = v->entry_offsets[first + k] + lens[k];
  uint32_t *codes = v->codes + pc->row0;
  const uint8_t *valid = v->valid + pc->row0;
  for (size_t i = 0, j = first; i < pc->nrows; i++) codes[i] = valid[i] ? (uint32_t)j++ : 0;
  v->nentries = first + n;
  return SP_OK;
}

/* Strings: append the page's values and set offsets (codes when coded) for its rows. */
static int decode_strings(const page_ctx *pc, int encoding, const uint8_t *p, size_t len) {
  sp_parquet_reader *r = pc->r;
  const sp_parquet_column_info *c = pc->col;
  sp_parquet_column_vector *v = pc->out;
  size_t n = pc->nvals;
  if (v->coded && (encoding == PQ_ENC_PLAIN_DICTIONARY || encoding == PQ_ENC_RLE_DICTIONARY))
    return decode_dictionary_codes(pc, p, len);
  size_t used = v->coded ? v->entry_offsets[v->nentries] : v->str_offsets[pc->row0];
  /* value lengths in `lens` (the dictionary path reuses r->u32 for indices) */
  uint32_t *lens = malloc((n ? n : 1) * sizeof *lens);
  if (!lens) return decode_error(pc, SP_ERR_NOMEM);
  int rc = SP_OK;
  switch (encoding) {
  case PQ_ENC_PLAIN:
    if (c->physical_type == PQ_FIXED_LEN_BYTE_ARRAY) {
      size_t w = (size_t)c->type_length;
      if (n > len / w) { rc = page_corrupt(pc, "%zu values need %zu bytes", n, n * w); break; }
      for (size_t i = 0; i < n && rc == SP_OK; i++) {
        lens[i] = (uint32_t)w;
        rc = append_bytes(pc, p + i * w, w, &used);
      }
    } else {
      size_t pos = 0;
      for (size_t i = 0; i < n && rc == SP_OK; i++) {
        if (len - pos < 4) { rc = page_corrupt(pc, "value %zu truncated", i); break; }
        uint32_t l = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
        pos += 4;
        if (l > len - pos) { rc = page_corrupt(pc, "value %zu of %u bytes runs past the page", i, l); break; }
        lens[i] = l;
        rc = append_bytes(pc, p + pos, l, &used);
        pos += l;
      }
    }
    break;
  case PQ_ENC_PLAIN_DICTIONARY:
  case PQ_ENC_RLE_DICTIONARY:
    rc = decode_indices(pc, p, len);
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
      uint32_t k = r->u32[i];
      uint32_t a = r->dict_offsets[k], b = r->dict_offsets[k + 1];
      lens[i] = b - a;
      rc = append_bytes(pc, r->dict_page + a, b - a, &used);
    }
    break;
  case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
  case PQ_ENC_DELTA_BYTE_ARRAY: {
    if (c->physical_type != PQ_BYTE_ARRAY && encoding == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY) {
      rc = page_corrupt(pc, "DELTA_LENGTH_BYTE_ARRAY for a fixed-length column");
      break;
    }
    sp_pq_byte_arrays a;
    rc = encoding == PQ_ENC_DELTA_BYTE_ARRAY ? sp_pq_delta_byte_array_decode(p, len, n, &a, pc->err)
                                             : sp_pq_delta_length_decode(p, len, n, &a, pc->err);
    if (rc) {
      rc = decode_error(pc, rc);
      break;
    }
    size_t off = 0;
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
      lens[i] = a.lengths[i];
      rc = append_bytes(pc, a.bytes + off, a.lengths[i], &used);
      off += a.lengths[i];
    }
    sp_pq_byte_arrays_free(&a);
    break;
  }
  default:
    rc = sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s: encoding %d for strings is not supported", r->name, c->name, encoding);
  }
  if (rc == SP_OK && v->coded) {
    rc = add_page_entries(pc, lens);
  } else if (rc == SP_OK) {
    size_t j = 0;
    uint32_t *off = v->str_offsets + pc->row0;
    const uint8_t *valid = v->valid + pc->row0;
    for (size_t i = 0; i < pc->nrows; i++) off[i + 1] = off[i] + (valid[i] ? lens[j++] : 0);
  }
  free(lens);
  return rc;
}

/* Spread pc->nvals dense values at row0 over the page's rows by `valid` (back to front). */
static void spread_nulls(const page_ctx *pc) {
  if (pc->nvals == pc->nrows) return;
  size_t w = out_width(pc->col->type);
  uint8_t *base = (uint8_t *)out_values(pc->out) + pc->row0 * w;
  const uint8_t *valid = pc->out->valid + pc->row0;
  size_t j = pc->nvals;
  for (size_t i = pc->nrows; i-- > 0;) {
    if (valid[i]) {
      j--;
      if (j != i) memcpy(base + i * w, base + j * w, w);
    } else {
      memset(base + i * w, 0, w);
    }
  }
}

/* Definition levels → valid bytes for the page's rows; returns the non-null count. */
static int decode_levels(page_ctx *pc, int encoding, const uint8_t *p, size_t len, bool length_prefixed, size_t *used) {
  sp_parquet_reader *r = pc->r;
  uint8_t *valid = pc->out->valid + pc->row0;
  size_t n = pc->nrows;
  *used = 0;
  if (!pc->col->nullable) {
    memset(valid, 1, n);
    pc->nvals = n;
    return SP_OK;
  }
  if (encoding == PQ_ENC_BIT_PACKED && length_prefixed) {
    size_t bytes = (n + 7) / 8;
    if (bytes > len) return page_corrupt(pc, "definition levels truncated");
    for (size_t i = 0; i < n; i++) valid[i] = (p[i >> 3] >> (7 - (i & 7))) & 1;
    *used = bytes;
  } else if (encoding == PQ_ENC_RLE) {
    const uint8_t *q = p;
    size_t l = len;
    if (length_prefixed) {
      if (len < 4) return page_corrupt(pc, "definition levels without a length");
      uint32_t ll = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      if (ll > len - 4) return page_corrupt(pc, "definition level length %u exceeds the page", ll);
      q = p + 4;
      l = ll;
      *used = 4 + (size_t)ll;
    } else {
      *used = len;
    }
    if (grow((void **)&r->u32, &r->cap_u32, n + 1, sizeof *r->u32)) return decode_error(pc, SP_ERR_NOMEM);
    int rc = sp_pq_rle_decode(q, l, 1, r->u32, n, NULL, pc->err);
    if (rc) return decode_error(pc, rc);
    for (size_t i = 0; i < n; i++) valid[i] = (uint8_t)r->u32[i];
  } else {
    return page_corrupt(pc, "definition level encoding %d", encoding);
  }
  size_t nn = 0;
  for (size_t i = 0; i < n; i++) nn += valid[i];
  pc->nvals = nn;
  return SP_OK;
}

typedef struct page_header {
  int type;
  int32_t usize, csize;
  int32_t num_values, num_nulls, num_rows;
  int encoding, def_encoding;
  int32_t def_len, rep_len;
  bool has_crc;
  uint32_t crc;
  bool is_compressed;
  bool have_data, have_v2, have_dict;
} page_header;

static int parse_data_header(sp_thrift_reader *tr, int type, page_header *h, bool v2) {
  TRY(sp_thrift_struct_enter(tr, type));
  FOR_FIELDS(tr, id, ft) {
    if (id == 1) TRY(sp_thrift_read_i32(tr, ft, &h->num_values));
    else if (!v2 && id == 2) TRY(sp_thrift_read_i32(tr, ft, &h->encoding));
    else if (!v2 && id == 3) TRY(sp_thrift_read_i32(tr, ft, &h->def_encoding));
    else if (v2 && id == 2) TRY(sp_thrift_read_i32(tr, ft, &h->num_nulls));
    else if (v2 && id == 3) TRY(sp_thrift_read_i32(tr, ft, &h->num_rows));
    else if (v2 && id == 4) TRY(sp_thrift_read_i32(tr, ft, &h->encoding));
    else if (v2 && id == 5) TRY(sp_thrift_read_i32(tr, ft, &h->def_len));
    else if (v2 && id == 6) TRY(sp_thrift_read_i32(tr, ft, &h->rep_len));
    else if (v2 && id == 7) TRY(sp_thrift_read_bool(tr, ft, &h->is_compressed));
    else TRY(sp_thrift_skip(tr, ft));
  }
  sp_thrift_struct_leave(tr);
  return SP_OK;
}

static int parse_page_header(sp_thrift_reader *tr, page_header *h) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->usize = h->csize = -1;
  h->is_compressed = true;
  h->def_encoding = PQ_ENC_RLE;
  FOR_FIELDS(tr, id, ft) {
    switch (id) {
    case 1: TRY(sp_thrift_read_i32(tr, ft, &h->type)); break;
    case 2: TRY(sp_thrift_read_i32(tr, ft, &h->usize)); break;
    case 3: TRY(sp_thrift_read_i32(tr, ft, &h->csize)); break;
    case 4: {
      int32_t crc;
      TRY(sp_thrift_read_i32(tr, ft, &crc));
      h->crc = (uint32_t)crc;
      h->has_crc = true;
      break;
    }
    case 5: TRY(parse_data_header(tr, ft, h, false)); h->have_data = true; break;
    case 7: TRY(parse_data_header(tr, ft, h, false)); h->have_dict = true; break;
    case 8: TRY(parse_data_header(tr, ft, h, true)); h->have_v2 = true; break;
    default: TRY(sp_thrift_skip(tr, ft)); break;
    }
  }
  if (h->type < 0 || h->usize < 0 || h->csize < 0) return sp_thrift_corrupt(tr, "page header lacks type or sizes");
  return SP_OK;
}

/* Decompress `len` bytes at `src` into r->page (usize bytes).  Bounded: the size a
 * page claims must be plausible for its codec before anything is allocated. */
static int page_body(page_ctx *pc, int codec, const uint8_t *src, size_t len, size_t usize, const uint8_t **out) {
  sp_parquet_reader *r = pc->r;
  if (codec == PQ_CODEC_UNCOMPRESSED) {
    if (len != usize) return page_corrupt(pc, "uncompressed page of %zu bytes declares %zu", len, usize);
    *out = src;
    return SP_OK;
  }
  if (usize > sp_pq_max_decompressed(codec, len))
    return page_corrupt(pc, "page claims %zu bytes from %zu compressed with %s", usize, len, sp_pq_codec_name(codec));
  if (grow((void **)&r->page, &r->cap_page, usize + 1, 1)) return decode_error(pc, SP_ERR_NOMEM);
  if (r->decomp.codec != codec) {
    sp_pq_compressor_free(&r->decomp);
    int rc = sp_pq_compressor_init(&r->decomp, codec, 0, pc->err);
    if (rc) return rc;
  }
  int rc = sp_pq_decompress(&r->decomp, src, len, r->page, usize, pc->err);
  if (rc) return decode_error(pc, rc);
  *out = r->page;
  return SP_OK;
}

static int load_dictionary(page_ctx *pc, int codec, const page_header *h, const uint8_t *body, size_t blen) {
  sp_parquet_reader *r = pc->r;
  const sp_parquet_column_info *c = pc->col;
  if (r->has_dict) return page_corrupt(pc, "a second dictionary page");
  if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
    return sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s: dictionary encoding %d is not supported", r->name, c->name, h->encoding);
  if (h->num_values < 0) return page_corrupt(pc, "dictionary of %d values", h->num_values);
  if (c->physical_type == PQ_BOOLEAN) return page_corrupt(pc, "dictionary page for a boolean column");
  const uint8_t *p;
  size_t usize = (size_t)h->usize;
  int rc = page_body(pc, codec, body, blen, usize, &p);
  if (rc) return rc;
  size_t n = (size_t)h->num_values;
  if (c->type == SP_STRING) {
    if (grow((void **)&r->dict_page, &r->cap_dict_page, usize + 1, 1) ||
        grow((void **)&r->dict_offsets, &r->cap_dict_offsets, (n > usize ? usize : n) + 2, sizeof *r->dict_offsets))
      return decode_error(pc, SP_ERR_NOMEM);
    size_t pos = 0, outpos = 0;
    for (size_t i = 0; i < n; i++) {
      size_t l;
      if (c->physical_type == PQ_FIXED_LEN_BYTE_ARRAY) {
        l = (size_t)c->type_length;
      } else {
        if (usize - pos < 4) return page_corrupt(pc, "dictionary entry %zu truncated", i);
        l = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
        pos += 4;
      }
      if (l > usize - pos) return page_corrupt(pc, "dictionary entry %zu runs past the page", i);
      r->dict_offsets[i] = (uint32_t)outpos;
      memcpy(r->dict_page + outpos, p + pos, l);
      outpos += l;
      pos += l;
    }
    r->dict_offsets[n] = (uint32_t)outpos;
  } else {
    size_t pw = physical_width(c), ow = out_width(c->type);
    if (n > usize / pw) return page_corrupt(pc, "dictionary of %zu values in %zu bytes", n, usize);
    if (grow((void **)&r->dict_values, &r->cap_dict_values, n * ow + 8, 1)) return decode_error(pc, SP_ERR_NOMEM);
    convert_plain(c, p, n, r->dict_values);
  }
  r->dict_n = n;
  r->has_dict = true;
  return SP_OK;
}

static int decode_page_values(page_ctx *pc, int encoding, const uint8_t *p, size_t len) {
  if (pc->col->type == SP_STRING) return decode_strings(pc, encoding, p, len);
  int rc = decode_fixed(pc, encoding, p, len);
  if (rc == SP_OK) spread_nulls(pc);
  return rc;
}

static int decode_data_page(page_ctx *pc, int codec, const page_header *h, const uint8_t *body, size_t blen,
                            size_t rows_left) {
  if (h->num_values < 0 || (size_t)h->num_values > rows_left)
    return page_corrupt(pc, "%d values where %zu rows remain", h->num_values, rows_left);
  pc->nrows = (size_t)h->num_values;
  size_t usize = (size_t)h->usize;
  const uint8_t *p;
  size_t used;
  int rc;
  if (h->type == PQ_PAGE_DATA) {
    rc = page_body(pc, codec, body, blen, usize, &p);
    if (rc == SP_OK) rc = decode_levels(pc, h->def_encoding, p, usize, true, &used);
    if (rc == SP_OK) rc = decode_page_values(pc, h->encoding, p + used, usize - used);
    return rc;
  }
  /* v2: levels uncompressed in front, then the (maybe compressed) values */
  if (h->rep_len < 0 || h->def_len < 0 || (size_t)h->rep_len + (size_t)h->def_len > blen ||
      (size_t)h->rep_len + (size_t)h->def_len > usize)
    return page_corrupt(pc, "level lengths %d + %d exceed the page", h->rep_len, h->def_len);
  size_t lv = (size_t)h->rep_len + (size_t)h->def_len;
  rc = decode_levels(pc, PQ_ENC_RLE, body + h->rep_len, (size_t)h->def_len, false, &used);
  if (rc) return rc;
  if (!h->is_compressed) codec = PQ_CODEC_UNCOMPRESSED;
  rc = page_body(pc, codec, body + lv, blen - lv, usize - lv, &p);
  if (rc == SP_OK) rc = decode_page_values(pc, h->encoding, p, usize - lv);
  return rc;
}

/* The byte range of a column chunk, checked against the file. */
static int chunk_range(const sp_parquet_reader *r, const sp_parquet_chunk_info *ci, const char *col, size_t *start,
                       size_t *end, sp_error *err) {
  int64_t s = ci->dictionary_page_offset >= 0 ? ci->dictionary_page_offset : ci->data_page_offset;
  if (s < 4 || (uint64_t)s > r->footer_start || (uint64_t)ci->total_compressed_size > r->footer_start - (uint64_t)s)
    return corrupt(r, err, "column %s: chunk bytes outside the file", col);
  *start = (size_t)s;
  *end = (size_t)s + (size_t)ci->total_compressed_size;
  return SP_OK;
}

/* Parse the page header at *pos (inside [.., end)); sets body and advances *pos past the page. */
static int next_page(page_ctx *pc, size_t *pos, size_t end, page_header *h, const uint8_t **body) {
  sp_parquet_reader *r = pc->r;
  char what[300];
  snprintf(what, sizeof what, "%s: corrupt parquet file: row group %d column %s: page header at offset %zu",
           r->name, pc->row_group, pc->col->name, *pos);
  sp_thrift_reader tr;
  sp_thrift_reader_init(&tr, r->data + *pos, end - *pos, what, pc->err);
  int rc = parse_page_header(&tr, h);
  if (rc) return rc;
  size_t hlen = (size_t)(tr.p - (r->data + *pos));
  if ((size_t)h->csize > end - *pos - hlen) return page_corrupt(pc, "page of %d bytes runs past the column chunk", h->csize);
  *body = r->data + *pos + hlen;
  if (h->has_crc && (uint32_t)crc32(0L, *body, (uInt)h->csize) != h->crc)
    return page_corrupt(pc, "page CRC mismatch");
  *pos += hlen + (size_t)h->csize;
  return SP_OK;
}

/* Coded strings: the chunk's dictionary (just loaded, before any data page) becomes
 * the vector's first entries. */
static int copy_dictionary(const page_ctx *pc) {
  sp_parquet_reader *r = pc->r;
  sp_parquet_column_vector *v = pc->out;
  size_t bytes = r->dict_offsets[r->dict_n];
  if (bytes > r->opt.max_column_bytes)
    return sp_error_set(pc->err, SP_ERR_UNSUPPORTED, "%s: column %s of row group %d exceeds %zu bytes", r->name,
                        pc->col->name, pc->row_group, r->opt.max_column_bytes);
  if (grow((void **)&v->str_bytes, &v->cap_bytes, bytes + 1, 1) ||
      grow((void **)&v->entry_offsets, &v->cap_entries, r->dict_n + 1, sizeof *v->entry_offsets))
    return decode_error(pc, SP_ERR_NOMEM);
  memcpy(v->str_bytes, r->dict_page, bytes);
  memcpy(v->entry_offsets, r->dict_offsets, (r->dict_n + 1) * sizeof *v->entry_offsets);
  v->nentries = r->dict_n;
  return SP_OK;
}

static int read_column(sp_parquet_reader *r, int row_group, int column, bool coded, sp_parquet_column_vector *out,
                       sp_error *err) {
  if (row_group < 0 || row_group >= r->nrg || column < 0 || column >= r->ncols)
    return sp_error_set(err, SP_ERR_INVALID, "%s: no row group %d / column %d", r->name, row_group, column);
  const sp_parquet_column_info *c = &r->cols[column];
  const sp_parquet_chunk_info *ci = sp_parquet_reader_chunk(r, row_group, column);
  size_t nrows = (size_t)r->rg_rows[row_group];
  if (vector_prepare(out, c->type, coded, nrows)) return sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", r->name);
  size_t pos = 0, end = 0;
  int rc = chunk_range(r, ci, c->name, &pos, &end, err);
  if (rc) return rc;
  r->has_dict = false;
  r->dict_n = 0;
  page_ctx pc = {r, c, row_group, out, 0, 0, 0, err};
  size_t row = 0;
  while (row < nrows) {
    if (pos >= end) return corrupt(r, err, "row group %d column %s: chunk ends after %zu of %zu rows", row_group, c->name, row, nrows);
    page_header h;
    const uint8_t *body;
    pc.row0 = row;
    rc = next_page(&pc, &pos, end, &h, &body);
    if (rc) return rc;
    if (h.type == PQ_PAGE_DICTIONARY) {
      if (!h.have_dict || row > 0) return page_corrupt(&pc, "misplaced or malformed dictionary page");
      rc = load_dictionary(&pc, ci->codec, &h, body, (size_t)h.csize);
      if (rc == SP_OK && out->coded) rc = copy_dictionary(&pc);
    } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
      if (h.type == PQ_PAGE_DATA ? !h.have_data : !h.have_v2) return page_corrupt(&pc, "data page without its header");
      rc = decode_data_page(&pc, ci->codec, &h, body, (size_t)h.csize, nrows - row);
      if (rc == SP_OK) {
        row += pc.nrows;
        out->null_count += pc.nrows - pc.nvals;
      }
    }
    if (rc) return rc;
  }
  out->nrows = nrows;
  return SP_OK;
}

int sp_parquet_reader_read_column(sp_parquet_reader *r, int row_group, int column,
                                  sp_parquet_column_vector *out, sp_error *err) {
  return read_column(r, row_group, column, false, out, err);
}

int sp_parquet_reader_read_column_coded(sp_parquet_reader *r, int row_group, int column,
                                        sp_parquet_column_vector *out, sp_error *err) {
  return read_column(r, row_group, column, true, out, err);
}

/* ---- pruning ------------------------------------------------------------------------- */

static int compare_values(sp_type t, const sp_parquet_value *a, const sp_parquet_value *b) {
  return SP_VALUE_ORDER(t, a->u, b->u);
}

static bool value_is_nan(sp_type t, const sp_parquet_value *v) { return t == SP_DOUBLE && isnan(v->u.f64); }

static bool predicate_may_match(const sp_parquet_reader *r, int g, const sp_parquet_predicate *p) {
  if (p->column < 0 || p->column >= r->ncols) return true;
  const sp_parquet_chunk_info *ci = sp_parquet_reader_chunk(r, g, p->column);
  int64_t rows = r->rg_rows[g];
  if (rows == 0) return false;
  if (ci->has_null_count && ci->null_count >= rows) return false; /* only nulls */
  if (!ci->has_min_max) return true;
  sp_type t = r->cols[p->column].type;
  const sp_parquet_value *mn = &ci->min, *mx = &ci->max;
  size_t need = p->op == SP_PQ_IN ? p->nvalues : p->op == SP_PQ_BETWEEN ? 2 : 1;
  if (!p->values || p->nvalues < need) return true;
  for (size_t i = 0; i < need; i++)
    if (value_is_nan(t, &p->values[i])) return true;
  const sp_parquet_value *v = &p->values[0];
  switch (p->op) {
  case SP_PQ_EQ: return compare_values(t, v, mn) >= 0 && compare_values(t, v, mx) <= 0;
  case SP_PQ_LT: return compare_values(t, mn, v) < 0;
  case SP_PQ_LE: return compare_values(t, mn, v) <= 0;
  case SP_PQ_GT: return compare_values(t, mx, v) > 0;
  case SP_PQ_GE: return compare_values(t, mx, v) >= 0;
  case SP_PQ_BETWEEN: return compare_values(t, &p->values[1], mn) >= 0 && compare_values(t, v, mx) <= 0;
  case SP_PQ_IN:
    for (size_t i = 0; i < p->nvalues; i++)
      if (compare_values(t, &p->values[i], mn) >= 0 && compare_values(t, &p->values[i], mx) <= 0) return true;
    return false;
  }
  return true;
}

bool sp_parquet_row_group_may_match(const sp_parquet_reader *r, int row_group,
                                    const sp_parquet_predicate *preds, size_t npreds) {
  if (row_group < 0 || row_group >= r->nrg) return false;
  for (size_t i = 0; i < npreds; i++)
    if (!predicate_may_match(r, row_group, &preds[i])) return false;
  return true;
}

int sp_parquet_row_group_dictionary_may_match(sp_parquet_reader *r, int row_group,
                                              const sp_parquet_predicate *pred, bool *may_match,
                                              sp_error *err) {
  *may_match = true;
  if (row_group < 0 || row_group >= r->nrg || pred->column < 0 || pred->column >= r->ncols)
    return sp_error_set(err, SP_ERR_INVALID, "%s: no row group %d / column %d", r->name, row_group, pred->column);
  const sp_parquet_column_info *c = &r->cols[pred->column];
  const sp_parquet_chunk_info *ci = sp_parquet_reader_chunk(r, row_group, pred->column);
  if (c->type != SP_STRING || (pred->op != SP_PQ_EQ && pred->op != SP_PQ_IN) || ci->dictionary_page_offset < 0)
    return SP_OK;
  size_t pos = 0, end = 0;
  int rc = chunk_range(r, ci, c->name, &pos, &end, err);
  if (rc) return rc;
  /* every data page must be dictionary-encoded: walk the headers (no decompression) */
  page_ctx pc = {r, c, row_group, NULL, 0, 0, 0, err};
  page_header dict_h, h;
  const uint8_t *dict_body = NULL, *body;
  while (pos < end) {
    rc = next_page(&pc, &pos, end, &h, &body);
    if (rc) return rc;
    if (h.type == PQ_PAGE_DICTIONARY && h.have_dict && !dict_body) {
      dict_h = h;
      dict_body = body;
    } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
      if (h.encoding != PQ_ENC_RLE_DICTIONARY && h.encoding != PQ_ENC_PLAIN_DICTIONARY) return SP_OK;
    }
  }
  if (!dict_body) return SP_OK;
  r->has_dict = false;
  rc = load_dictionary(&pc, ci->codec, &dict_h, dict_body, (size_t)dict_h.csize);
  if (rc) return rc;
  size_t nwant = pred->op == SP_PQ_IN ? pred->nvalues : 1;
  bool found = false;
  for (size_t i = 0; i < r->dict_n && !found; i++) {
    uint32_t a = r->dict_offsets[i], b = r->dict_offsets[i + 1];
    for (size_t k = 0; k < nwant && !found; k++) {
      const sp_parquet_value *v = &pred->values[k];
      found = v->u.str.len == b - a && (b == a || memcmp(v->u.str.ptr, r->dict_page + a, b - a) == 0);
    }
  }
  r->has_dict = false;
  *may_match = found;
  return SP_OK;
}
