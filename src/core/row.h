/*
 * row.h — one typed row of a dataset, and its binary event encoding.
 *
 * Sources build rows (sp_row_init, sp_row_set_*), validate them, and encode them into
 * channel events (sp_row_encode).  Channels carry only those bytes, like Flume events.
 * Sinks decode events back into rows (sp_row_decode) and hand them to a format writer.
 *
 * Ownership: a row owns its `values` array and copies of every string set into it;
 * sp_row_clear() releases them.  Strings are stored with their length (not NUL
 * terminated in the encoding; in memory they are also NUL-terminated for convenience).
 *
 * Event encoding (version 1), little-endian:
 *   u8 version=1, u8 dataset id, u16 column count,
 *   null bitmap (ceil(ncolumns/8) bytes, bit set = null),
 *   then each non-null column in schema order:
 *     BOOL u8 | INT32, DATE u32 | INT64, TIMESTAMP u64 | DOUBLE u64 (IEEE bits) |
 *     STRING u32 length + bytes.
 */
#ifndef STOCKPIPE_CORE_ROW_H
#define STOCKPIPE_CORE_ROW_H

#include "core/buf.h"
#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <string.h>
#include <stdint.h>

typedef struct sp_value {
  bool is_null;
  union {
    bool b;
    int32_t i32;  /* INT32, DATE */
    int64_t i64;  /* INT64, TIMESTAMP */
    double f64;
    struct {
      char *ptr;  /* owned, NUL-terminated */
      uint32_t len;
    } str;
  } u;
} sp_value;

typedef struct sp_row {
  const sp_dataset_def *ds;
  sp_value *values; /* ds->ncolumns entries, all null after init */
} sp_row;

/* Prepare an all-null row of `ds`.  Returns 0 or SP_ERR_NOMEM. */
int sp_row_init(sp_row *row, const sp_dataset_def *ds);
/* Release the row's values and strings; the row may be initialised again. */
void sp_row_clear(sp_row *row);
/* Set every column back to null, keeping the allocation. */
void sp_row_reset(sp_row *row);

/* Setters by column index; the index must match the column's type (checked: a
 * mismatch returns SP_ERR_INVALID).  Strings are copied. */
int sp_row_set_null(sp_row *row, int col);
int sp_row_set_bool(sp_row *row, int col, bool v);
int sp_row_set_i32(sp_row *row, int col, int32_t v);   /* INT32 or DATE */
int sp_row_set_i64(sp_row *row, int col, int64_t v);   /* INT64 or TIMESTAMP */
int sp_row_set_double(sp_row *row, int col, double v); /* NaN stores null */
int sp_row_set_string(sp_row *row, int col, const char *s, size_t len);
int sp_row_set_cstr(sp_row *row, int col, const char *s); /* NULL stores null */
/* Setter by column name, for code that reads names from configuration. */
int sp_row_col(const sp_row *row, const char *name); /* index or -1 */

/* Deep copy `src` into `dst` (dst is initialised by this call). */
int sp_row_copy(sp_row *dst, const sp_row *src);

/* Append the event encoding of `row` to `out`. */
int sp_row_encode(const sp_row *row, sp_buf *out);
/* Decode one event into `row` (initialised by this call for the event's dataset).
 * Corrupt or truncated input returns SP_ERR_CORRUPT with the reason in err. */
int sp_row_decode(const uint8_t *data, size_t len, sp_row *row, sp_error *err);

/* Compare two rows of the same dataset by the dataset key (strings by unsigned
 * bytes, nulls first).  Returns <0, 0, >0. */
int sp_row_compare_key(const sp_row *a, const sp_row *b);

/* Three-way order (<0, 0, >0) of two byte strings: bytewise, a prefix before its
 * extensions.  Either may be empty (its pointer then unused). */
static inline int sp_order_bytes(const void *a, size_t alen, const void *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  return c ? c : (alen > blen) - (alen < blen);
}

/* Three-way order of two numbers of one type (NaN orders equal to everything). */
#define SP_ORDER(x, y) (((x) > (y)) - ((x) < (y)))

/* Three-way order of two non-null values of sp_type `type`, `x` and `y` being unions
 * with sp_value's member names: sp_value.u, or the Parquet reader's sp_parquet_value.u
 * (whose string members differ in width, hence a macro).  Numbers by SP_ORDER, strings
 * by sp_order_bytes. */
#define SP_VALUE_ORDER(type, x, y)                                                                                \
  ((type) == SP_BOOL                               ? SP_ORDER((x).b, (y).b)                                       \
   : (type) == SP_INT32 || (type) == SP_DATE       ? SP_ORDER((x).i32, (y).i32)                                   \
   : (type) == SP_INT64 || (type) == SP_TIMESTAMP  ? SP_ORDER((x).i64, (y).i64)                                   \
   : (type) == SP_DOUBLE                           ? SP_ORDER((x).f64, (y).f64)                                   \
   : (type) == SP_STRING ? sp_order_bytes((x).str.ptr, (x).str.len, (y).str.ptr, (y).str.len)                     \
                         : 0)
/* The row's own UTC date (days since epoch) from ds->date_column. */
int32_t sp_row_date(const sp_row *row);

#endif
