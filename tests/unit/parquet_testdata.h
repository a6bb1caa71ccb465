/*
 * parquet_testdata.h — deterministic random tables for the Parquet tests: the unit
 * round-trip tests (tests/unit/test_parquet_*.c) and the DuckDB interop generator
 * (tests/tools/c/parquet_gen.c) include it, so both exercise the same value shapes:
 * every schema type, nullable and required columns, a chosen null density, low- and
 * high-cardinality values, and the awkward ones (-0.0, ±inf, NaN, empty and multi-byte
 * UTF-8 strings, extreme integers).
 *
 * Header-only (static functions) because test programs are built one source each.
 */
#ifndef STOCKPIPE_TEST_PARQUET_TESTDATA_H
#define STOCKPIPE_TEST_PARQUET_TESTDATA_H

#include "core/row.h"
#include "format/parquet/parquet_writer.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each including program uses a subset of these helpers. */
#define TESTDATA_FN static __attribute__((unused))

/* A schema with every type, required and optional, low and high cardinality. */
static const sp_column_def testdata_all_types[] = {
    {"b_req", SP_BOOL, false},       {"b_opt", SP_BOOL, true},
    {"i32_req", SP_INT32, false},    {"i32_opt", SP_INT32, true},
    {"i64_req", SP_INT64, false},    {"i64_opt", SP_INT64, true},
    {"f64_req", SP_DOUBLE, false},   {"f64_opt", SP_DOUBLE, true},
    {"f64_low", SP_DOUBLE, true},    {"s_req", SP_STRING, false},
    {"s_opt", SP_STRING, true},      {"s_low", SP_STRING, true},
    {"d_req", SP_DATE, false},       {"d_opt", SP_DATE, true},
    {"ts_req", SP_TIMESTAMP, false}, {"ts_opt", SP_TIMESTAMP, true},
    {"ts_seq", SP_TIMESTAMP, false},
};
#define TESTDATA_ALL_TYPES_N ((int)(sizeof testdata_all_types / sizeof testdata_all_types[0]))

typedef struct testdata_column {
  uint8_t *valid;
  bool *bools;
  int32_t *i32;
  int64_t *i64;
  double *f64;
  sp_parquet_string *strings;
  char *string_bytes;
} testdata_column;

typedef struct testdata_table {
  const sp_column_def *columns;
  int ncolumns;
  size_t nrows;
  testdata_column *cols;
  sp_parquet_column_input *inputs; /* views for sp_parquet_writer_write_columns */
} testdata_table;

TESTDATA_FN uint64_t testdata_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

TESTDATA_FN double testdata_double(uint64_t *s, bool low, bool allow_nan) {
  uint64_t r = testdata_next(s);
  if (low) return (double)(r % 16) * 0.25 - 1.0;
  switch (r % 16) {
  case 0: return -0.0;
  case 1: return 0.0;
  case 2: return allow_nan ? NAN : 1.0;
  case 3: return INFINITY;
  case 4: return -INFINITY;
  case 5: return 1e-310;
  case 6: return -1.7976931348623157e308;
  default: return ((double)(int64_t)(testdata_next(s) >> 11) - 4.5e15) / 1024.0;
  }
}

static const char *const testdata_words[] = {"", "AAPL", "BRK-B", "é", "日本語", "a,b", "quote\"d",
                                              "new\nline", "zzz", "MSFT", "tab\t", "\xc3\xbf\xc3\xbf"};

/* Fill a table of `nrows` rows: `null_density` in [0,1] for nullable columns;
 * allow_nan false keeps NaN out (rows store NaN as null). */
TESTDATA_FN int testdata_make(testdata_table *t, const sp_column_def *columns, int ncolumns, size_t nrows,
                         uint64_t seed, double null_density, bool allow_nan) {
  memset(t, 0, sizeof *t);
  t->columns = columns;
  t->ncolumns = ncolumns;
  t->nrows = nrows;
  t->cols = calloc((size_t)ncolumns, sizeof *t->cols);
  t->inputs = calloc((size_t)ncolumns, sizeof *t->inputs);
  if (!t->cols || !t->inputs) return -1;
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  size_t n = nrows ? nrows : 1;
  for (int c = 0; c < ncolumns; c++) {
    testdata_column *col = &t->cols[c];
    const sp_column_def *def = &columns[c];
    bool low = strstr(def->name, "low") != NULL || strcmp(def->name, "ticker") == 0 ||
               strcmp(def->name, "interval") == 0 || strcmp(def->name, "provider") == 0;
    col->valid = malloc(n);
    if (!col->valid) return -1;
    for (size_t r = 0; r < nrows; r++)
      col->valid[r] = !def->nullable || (double)(testdata_next(&s) % 10000) >= null_density * 10000.0;
    switch (def->type) {
    case SP_BOOL:
      col->bools = malloc(n * sizeof *col->bools);
      if (!col->bools) return -1;
      for (size_t r = 0; r < nrows; r++) col->bools[r] = testdata_next(&s) & 1;
      break;
    case SP_INT32:
    case SP_DATE:
      col->i32 = malloc(n * sizeof *col->i32);
      if (!col->i32) return -1;
      for (size_t r = 0; r < nrows; r++) {
        uint64_t x = testdata_next(&s);
        col->i32[r] = def->type == SP_DATE ? (int32_t)(x % 200001) - 100000
                      : x % 7 == 0         ? (x & 8 ? INT32_MIN : INT32_MAX)
                                           : (int32_t)(uint32_t)x;
      }
      break;
    case SP_INT64:
    case SP_TIMESTAMP:
      col->i64 = malloc(n * sizeof *col->i64);
      if (!col->i64) return -1;
      for (size_t r = 0; r < nrows; r++) {
        uint64_t x = testdata_next(&s);
        if (strcmp(def->name, "ts_seq") == 0 || strcmp(def->name, "bar_time") == 0)
          col->i64[r] = INT64_C(1700000000000000) + (int64_t)r * INT64_C(3600000000);
        else if (def->type == SP_TIMESTAMP)
          col->i64[r] = (int64_t)(x % UINT64_C(6000000000000000)) - INT64_C(2000000000000000);
        else
          col->i64[r] = x % 5 == 0 ? (x & 8 ? INT64_MIN : INT64_MAX) : (int64_t)x;
      }
      break;
    case SP_DOUBLE:
      col->f64 = malloc(n * sizeof *col->f64);
      if (!col->f64) return -1;
      for (size_t r = 0; r < nrows; r++) col->f64[r] = testdata_double(&s, low, allow_nan);
      break;
    case SP_STRING: {
      col->strings = malloc(n * sizeof *col->strings);
      col->string_bytes = malloc(n * 48 + 1);
      if (!col->strings || !col->string_bytes) return -1;
      size_t pos = 0;
      for (size_t r = 0; r < nrows; r++) {
        uint64_t x = testdata_next(&s);
        char *dst = col->string_bytes + pos;
        size_t len;
        if (low) {
          const char *w = testdata_words[x % (sizeof testdata_words / sizeof *testdata_words)];
          len = strlen(w);
          memcpy(dst, w, len);
        } else {
          len = x % 40;
          for (size_t k = 0; k < len; k++) dst[k] = (char)('!' + testdata_next(&s) % 94);
          if (len >= 2 && x % 3 == 0) memcpy(dst, "\xc3\xa9", 2); /* multi-byte UTF-8 */
        }
        col->strings[r].ptr = dst;
        col->strings[r].len = (uint32_t)len;
        pos += len;
      }
      break;
    }
    }
    t->inputs[c].valid = def->nullable ? col->valid : NULL;
    t->inputs[c].bools = col->bools;
    t->inputs[c].i32 = col->i32;
    t->inputs[c].i64 = col->i64;
    t->inputs[c].f64 = col->f64;
    t->inputs[c].strings = col->strings;
  }
  return 0;
}

TESTDATA_FN void testdata_free(testdata_table *t) {
  for (int c = 0; t->cols && c < t->ncolumns; c++) {
    testdata_column *col = &t->cols[c];
    free(col->valid);
    free(col->bools);
    free(col->i32);
    free(col->i64);
    free(col->f64);
    free(col->strings);
    free(col->string_bytes);
  }
  free(t->cols);
  free(t->inputs);
  memset(t, 0, sizeof *t);
}

/* The table's columns from row `r` on, as writer inputs (out holds t->ncolumns). */
TESTDATA_FN void testdata_slice(const testdata_table *t, size_t r, sp_parquet_column_input *out) {
  for (int c = 0; c < t->ncolumns; c++) {
    out[c] = t->inputs[c];
    if (out[c].valid) out[c].valid += r;
    if (out[c].bools) out[c].bools += r;
    if (out[c].i32) out[c].i32 += r;
    if (out[c].i64) out[c].i64 += r;
    if (out[c].f64) out[c].f64 += r;
    if (out[c].strings) out[c].strings += r;
  }
}

/* Row `r` of the table as an sp_row of `ds` (whose columns are t->columns). */
TESTDATA_FN int testdata_row(const testdata_table *t, const sp_dataset_def *ds, size_t r, sp_row *row) {
  int rc = sp_row_init(row, ds);
  for (int c = 0; rc == 0 && c < t->ncolumns; c++) {
    const testdata_column *col = &t->cols[c];
    if (!col->valid[r]) continue;
    switch (t->columns[c].type) {
    case SP_BOOL: rc = sp_row_set_bool(row, c, col->bools[r]); break;
    case SP_INT32:
    case SP_DATE: rc = sp_row_set_i32(row, c, col->i32[r]); break;
    case SP_INT64:
    case SP_TIMESTAMP: rc = sp_row_set_i64(row, c, col->i64[r]); break;
    case SP_DOUBLE: rc = sp_row_set_double(row, c, col->f64[r]); break;
    case SP_STRING: rc = sp_row_set_string(row, c, col->strings[r].ptr, col->strings[r].len); break;
    }
  }
  return rc;
}

/* One value as the interop tests' JSON: integers, dates (days) and timestamps
 * (microseconds) as decimal strings, doubles with 17 significant digits (or "NaN",
 * "Infinity", "-Infinity"), booleans, strings (JSON-escaped bytes), null. */
TESTDATA_FN void testdata_print_json(FILE *f, sp_type type, bool valid, bool b, int32_t i32, int64_t i64, double f64,
                                const char *s, size_t len) {
  if (!valid) {
    fputs("null", f);
    return;
  }
  switch (type) {
  case SP_BOOL: fputs(b ? "true" : "false", f); return;
  case SP_INT32:
  case SP_DATE: fprintf(f, "\"%d\"", i32); return;
  case SP_INT64:
  case SP_TIMESTAMP: fprintf(f, "\"%lld\"", (long long)i64); return;
  case SP_DOUBLE:
    if (isnan(f64)) fputs("\"NaN\"", f);
    else if (isinf(f64)) fputs(f64 > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
    else fprintf(f, "%.17g", f64);
    return;
  case SP_STRING:
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
      unsigned char ch = (unsigned char)s[i];
      if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
      else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
      else fputc(ch, f);
    }
    fputc('"', f);
    return;
  }
}

#endif
