/*
 * parquet_reader.h — stockpipe's Parquet reader, the storage layer of the query engine
 * (`stockpipe query`, `export`, the offline client) and of the tests.
 *
 * Scope: flat schemas (every leaf a top-level column, REQUIRED or OPTIONAL).  It reads
 * what stockpipe writes and what DuckDB, Arrow/pyarrow and Spark write by default:
 * encodings PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY, RLE and BIT_PACKED (levels,
 * booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT; data pages v1 and v2; codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD.
 *
 * Safety: the file is untrusted.  Opening validates the magic bytes, the footer length
 * and every Thrift structure of the footer (bounded lists, depth, offsets inside the
 * file, flat schema, one chunk per column per row group).  Reading validates every page
 * header, sizes, levels, dictionary indices and value counts, and the page CRC-32 when the
 * writer stored one.  Any inconsistency is
 * SP_ERR_CORRUPT with a message naming the file and what is wrong; nothing is read
 * outside the file, and allocations are bounded by the file size and by the limits in
 * sp_parquet_reader_options (rows per row group, bytes per column vector).
 *
 * Types: each column maps to a stockpipe type (schema.h):
 *   BOOLEAN → SP_BOOL; INT32 → SP_INT32, or SP_DATE with the DATE logical/converted
 *   type, or SP_DOUBLE for DECIMAL; INT64 → SP_INT64, or SP_TIMESTAMP (microseconds;
 *   MILLIS and NANOS are converted) with a TIMESTAMP type, or SP_DOUBLE for DECIMAL;
 *   INT96 (legacy Impala/Spark timestamps) → SP_TIMESTAMP; FLOAT, DOUBLE → SP_DOUBLE;
 *   BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY → SP_STRING (the bytes as stored).
 *
 * Threading: a reader may be used by one thread at a time; separate readers on the
 * same file are independent.
 *
 * Typical use (query engine): open, check the schema, skip row groups whose statistics
 * (or string dictionaries) rule the filter out, decode only the needed columns:
 *
 *   sp_parquet_reader *r;
 *   if (sp_parquet_reader_open(&r, path, NULL, &err)) return err.code;
 *   int tick = sp_parquet_reader_column_index(r, "ticker");
 *   sp_parquet_value want = {.u.str = {"AAPL", 4}};
 *   sp_parquet_predicate p = {tick, SP_PQ_EQ, &want, 1};
 *   sp_parquet_column_vector v = {0};
 *   for (int g = 0; g < sp_parquet_reader_num_row_groups(r); g++) {
 *     bool may = sp_parquet_row_group_may_match(r, g, &p, 1);
 *     if (may && sp_parquet_row_group_dictionary_may_match(r, g, &p, &may, &err)) break;
 *     if (!may) continue;
 *     if (sp_parquet_reader_read_column(r, g, tick, &v, &err)) break;
 *     ... v.valid[i], v.str_bytes + v.str_offsets[i] ...
 *   }
 *   sp_parquet_column_vector_free(&v);
 *   sp_parquet_reader_close(r);
 */
#ifndef STOCKPIPE_PARQUET_READER_H
#define STOCKPIPE_PARQUET_READER_H

#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_parquet_reader sp_parquet_reader; /* opaque */

typedef struct sp_parquet_reader_options {
  size_t max_rows_per_group; /* a row group declaring more rows is refused (default 64 Mi) */
  size_t max_column_bytes;   /* a column vector needing more memory is refused (default 2 GiB) */
} sp_parquet_reader_options;

/* One typed value: used for statistics and predicates.  Strings point at bytes owned
 * by someone else (the reader for statistics, the caller for predicates). */
typedef struct sp_parquet_value {
  union {
    bool b;
    int32_t i32;  /* SP_INT32, SP_DATE */
    int64_t i64;  /* SP_INT64, SP_TIMESTAMP (microseconds) */
    double f64;
    struct {
      const char *ptr;
      size_t len;
    } str;
  } u;
} sp_parquet_value;

typedef struct sp_parquet_column_info {
  const char *name;      /* NUL-terminated, owned by the reader */
  sp_type type;          /* stockpipe type the column decodes to (see the table above) */
  bool nullable;         /* OPTIONAL */
  int physical_type;     /* PQ_BOOLEAN ... (parquet_format.h) */
  int converted_type;    /* PQ_CT_* or -1 */
  int type_length;       /* FIXED_LEN_BYTE_ARRAY width */
  int decimal_scale;     /* DECIMAL columns */
  int timestamp_unit;    /* PQ_UNIT_MILLIS/MICROS/NANOS for timestamps, 0 otherwise */
} sp_parquet_column_info;

typedef struct sp_parquet_chunk_info {
  int codec;                 /* PQ_CODEC_* */
  int64_t num_values;
  int64_t total_compressed_size;
  int64_t total_uncompressed_size;
  int64_t data_page_offset;
  int64_t dictionary_page_offset; /* -1 when there is no dictionary page */
  bool has_null_count;
  int64_t null_count;
  bool has_min_max;          /* min/max valid (in the column's sp_type, see sp_parquet_value) */
  sp_parquet_value min, max; /* strings point into the reader's footer (valid until close) */
} sp_parquet_chunk_info;

/* Fill the defaults. */
void sp_parquet_reader_options_default(sp_parquet_reader_options *o);

/* Open and validate `path` (memory-mapped, read-only).  Errors: SP_ERR_NOT_FOUND,
 * SP_ERR_IO, SP_ERR_CORRUPT (bad magic, footer, metadata), SP_ERR_UNSUPPORTED (nested
 * schema, encryption, external column chunks), SP_ERR_NOMEM.  Close with
 * sp_parquet_reader_close.  `options` may be NULL for the defaults. */
int sp_parquet_reader_open(sp_parquet_reader **out, const char *path,
                           const sp_parquet_reader_options *options, sp_error *err);
/* The same over bytes in memory (not copied: `data` must outlive the reader); `name`
 * appears in error messages. */
int sp_parquet_reader_open_memory(sp_parquet_reader **out, const void *data, size_t len,
                                  const char *name, const sp_parquet_reader_options *options,
                                  sp_error *err);
/* Release the reader, its mapping and everything it returned by pointer. */
void sp_parquet_reader_close(sp_parquet_reader *r);

int sp_parquet_reader_num_columns(const sp_parquet_reader *r);
/* Column i (0 ≤ i < num_columns); owned by the reader. */
const sp_parquet_column_info *sp_parquet_reader_column(const sp_parquet_reader *r, int i);
/* Index of the column named `name`, or -1. */
int sp_parquet_reader_column_index(const sp_parquet_reader *r, const char *name);
int64_t sp_parquet_reader_num_rows(const sp_parquet_reader *r);
int sp_parquet_reader_num_row_groups(const sp_parquet_reader *r);
int64_t sp_parquet_reader_row_group_rows(const sp_parquet_reader *r, int row_group);
/* Column chunk metadata and statistics; owned by the reader. */
const sp_parquet_chunk_info *sp_parquet_reader_chunk(const sp_parquet_reader *r, int row_group, int column);
/* created_by of the footer ("" when absent). */
const char *sp_parquet_reader_created_by(const sp_parquet_reader *r);
/* Value of key-value metadata `key` (NUL-terminated copy owned by the reader), or NULL. */
const char *sp_parquet_reader_metadata(const sp_parquet_reader *r, const char *key);

/* A decoded column of one row group: row-aligned arrays of `nrows` entries.
 * valid[i] is 1 when row i has a value; null rows hold 0 / empty strings.
 * Use the array matching `type`: bools (SP_BOOL), i32 (SP_INT32, SP_DATE), i64
 * (SP_INT64, SP_TIMESTAMP), f64 (SP_DOUBLE); strings (SP_STRING): row i is
 * str_bytes[str_offsets[i] .. str_offsets[i+1]) (offsets has nrows+1 entries; bytes
 * are not NUL-terminated).
 * Initialise with {0}; a vector can be reused for the next read (its buffers are
 * kept) and is released with sp_parquet_column_vector_free. */
typedef struct sp_parquet_column_vector {
  sp_type type;
  size_t nrows;
  size_t null_count;
  uint8_t *valid;
  bool *bools;
  int32_t *i32;
  int64_t *i64;
  double *f64;
  uint32_t *str_offsets;
  char *str_bytes;
  /* Coded strings (sp_parquet_reader_read_column_coded only; str_offsets unused): row
   * i (when valid) is entry codes[i], entry k being str_bytes[entry_offsets[k] ..
   * entry_offsets[k+1]) for k < nentries.  The column chunk's dictionary comes first
   * (entry k = dictionary index k, whether rows use it or not), then one entry per
   * value of each page that is not dictionary-encoded (a writer falls back to PLAIN
   * when its dictionary grows too big).  codes[i] of a null row is 0. */
  bool coded;
  uint32_t *codes;
  uint32_t *entry_offsets;
  size_t nentries;
  /* capacities (private) */
  size_t cap_rows, cap_bytes, cap_codes, cap_entries;
} sp_parquet_column_vector;

void sp_parquet_column_vector_free(sp_parquet_column_vector *v);

/* Decode column `column` of row group `row_group` into `out` — only that column chunk
 * is read and decompressed (projection = call it for the columns you need).
 * Errors: SP_ERR_INVALID (indexes), SP_ERR_CORRUPT, SP_ERR_UNSUPPORTED (an encoding or
 * codec this build does not read), SP_ERR_NOMEM; on error `out` stays valid (to free). */
int sp_parquet_reader_read_column(sp_parquet_reader *r, int row_group, int column,
                                  sp_parquet_column_vector *out, sp_error *err);

/* The same, except that a string column comes back coded (see the vector's `coded`
 * members): dictionary-encoded pages give each row its dictionary index and no string
 * is copied per row, so a filter can be evaluated once per entry and a consumer can
 * copy each distinct entry once.  Other types decode as with read_column.  Errors as
 * read_column. */
int sp_parquet_reader_read_column_coded(sp_parquet_reader *r, int row_group, int column,
                                        sp_parquet_column_vector *out, sp_error *err);

/* ---- row-group pruning ---------------------------------------------------------- */

typedef enum sp_parquet_op {
  SP_PQ_EQ,
  SP_PQ_LT,
  SP_PQ_LE,
  SP_PQ_GT,
  SP_PQ_GE,
  SP_PQ_IN,      /* values[0 .. nvalues) */
  SP_PQ_BETWEEN  /* values[0] ≤ x ≤ values[1] */
} sp_parquet_op;

/* `column op value(s)`, values in the column's sp_type (sp_parquet_value members). */
typedef struct sp_parquet_predicate {
  int column;
  sp_parquet_op op;
  const sp_parquet_value *values;
  size_t nvalues;
} sp_parquet_predicate;

/* False only when the row group's statistics prove that no row satisfies all of
 * `preds` (ANDed); true when some row may (or statistics are missing).  Null values
 * never satisfy a predicate, so an all-null chunk prunes. */
bool sp_parquet_row_group_may_match(const sp_parquet_reader *r, int row_group,
                                    const sp_parquet_predicate *preds, size_t npreds);

/* Dictionary pruning for SP_PQ_EQ / SP_PQ_IN on a string column: when every data page
 * of the chunk is dictionary-encoded, reads only the dictionary page and sets
 * *may_match to whether any wanted value is in it; otherwise sets *may_match = true.
 * Errors as read_column. */
int sp_parquet_row_group_dictionary_may_match(sp_parquet_reader *r, int row_group,
                                              const sp_parquet_predicate *pred, bool *may_match,
                                              sp_error *err);

#endif
