/*
 * parquet_writer.h — stockpipe's Parquet writer: flat schemas of sp_column_def columns
 * (BOOLEAN, INT32, INT64, DOUBLE, STRING, DATE, TIMESTAMP), REQUIRED or OPTIONAL.
 *
 * It is the "parquet" format of the format registry (sp_format_parquet, see
 * format/format.h) used by the file sink, `query --format parquet` and `export`, and a
 * columnar API for callers that already hold column arrays (faster: no per-row work).
 *
 * What it writes (parquet-format 2.x, data page v1, readable by DuckDB, Arrow, Spark):
 *  - strings as BYTE_ARRAY + STRING logical type + UTF8 converted type; dates as INT32
 *    + DATE; timestamps as INT64 + TIMESTAMP(isAdjustedToUTC=true, MICROS) +
 *    TIMESTAMP_MICROS; definition levels in the RLE/bit-packed hybrid;
 *  - dictionary encoding (PLAIN dictionary page + RLE_DICTIONARY data pages) per column
 *    chunk while the dictionary stays small, PLAIN otherwise; optionally
 *    DELTA_BINARY_PACKED for timestamps and BYTE_STREAM_SPLIT for doubles;
 *  - column statistics (min_value/max_value in type order, null_count) with
 *    TypeDefinedOrder column orders: strings compare as unsigned bytes, NaN is left out
 *    of double min/max, a zero min is written as -0.0 and a zero max as +0.0;
 *  - key-value metadata stockpipe.version / stockpipe.dataset /
 *    stockpipe.schema_version, created_by "stockpipe version X.Y.Z".
 * Memory is bounded by one row group: rows are buffered per column and encoded when
 * the row group is full (by rows or by bytes).  The writer never fsyncs or closes the
 * descriptor (the caller owns durability and publication).
 */
#ifndef STOCKPIPE_PARQUET_WRITER_H
#define STOCKPIPE_PARQUET_WRITER_H

#include "core/row.h"
#include "format/format.h"
#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_parquet_writer_options {
  int codec;                    /* PQ_CODEC_UNCOMPRESSED/SNAPPY/GZIP/ZSTD (parquet_format.h) */
  int compression_level;        /* 0 = codec default (zstd 3, gzip 6) */
  size_t row_group_rows;        /* flush a row group at this many rows */
  size_t row_group_bytes;       /* ... or at this many buffered (uncompressed) bytes */
  size_t page_bytes;            /* target uncompressed data page size */
  bool dictionary;              /* try dictionary encoding */
  size_t dictionary_max_bytes;  /* a dictionary larger than this falls back to PLAIN */
  bool page_checksum;           /* write CRC-32 of every page (PageHeader.crc) */
  bool delta_timestamps;        /* TIMESTAMP columns not dictionary-encoded: DELTA_BINARY_PACKED */
  bool byte_stream_split_doubles; /* DOUBLE columns not dictionary-encoded: BYTE_STREAM_SPLIT */
  const char *dataset;          /* key-value metadata stockpipe.dataset (NULL: none) */
  int schema_version;           /* stockpipe.schema_version (0: none) */
} sp_parquet_writer_options;

/* The defaults: SNAPPY, 1,048,576 rows or 64 MiB per row group, 1 MiB pages,
 * dictionary on (1 MiB limit), no page CRC, no DELTA / BYTE_STREAM_SPLIT. */
void sp_parquet_writer_options_default(sp_parquet_writer_options *o);

/* The defaults with `codec` (PQ_CODEC_*) and the encodings measured to pay with it
 * (bench/parquet_bench.c, 1M hourly bars): BYTE_STREAM_SPLIT for doubles with ZSTD and
 * GZIP (-3 % size, and zstd runs faster on the split streams); nothing extra with SNAPPY
 * (BYTE_STREAM_SPLIT -5.5 % size but ~-30 % write speed) or UNCOMPRESSED.  DELTA for
 * timestamps is left off: -3.6 % size with snappy, nothing with zstd, slower writes. */
void sp_parquet_writer_options_for_codec(sp_parquet_writer_options *o, int codec);

typedef struct sp_parquet_writer sp_parquet_writer;

/* Start a file on `fd`, which must be an empty file positioned at offset 0 (the footer
 * records offsets counted from where writing started), with the given columns.  `columns` must outlive the writer (the
 * static schema tables do).  Errors: SP_ERR_INVALID (no columns, bad options),
 * SP_ERR_UNSUPPORTED (codec), SP_ERR_IO/SP_ERR_FULL, SP_ERR_NOMEM.  The writer is
 * freed with sp_parquet_writer_free. */
int sp_parquet_writer_open(sp_parquet_writer **out, int fd, const sp_column_def *columns,
                           int ncolumns, const sp_parquet_writer_options *options, sp_error *err);

/* Append rows (their dataset's columns must be the writer's columns, by count and
 * type).  A non-nullable column holding a null is SP_ERR_INVALID naming the column. */
int sp_parquet_writer_write_rows(sp_parquet_writer *w, const sp_row *rows, size_t n, sp_error *err);

/* One column of a columnar append.  Values are row-aligned (entry i is row i); entries
 * of null rows are ignored.  `valid` (1 byte per row, non-zero = present) may be NULL
 * when every row is present.  Use the member matching the column type:
 * bools (SP_BOOL), i32 (SP_INT32, SP_DATE), i64 (SP_INT64, SP_TIMESTAMP), f64
 * (SP_DOUBLE; NaN is stored as NaN), strings (SP_STRING). */
typedef struct sp_parquet_string {
  const char *ptr;
  uint32_t len;
} sp_parquet_string;

typedef struct sp_parquet_column_input {
  const uint8_t *valid;
  const bool *bools;
  const int32_t *i32;
  const int64_t *i64;
  const double *f64;
  const sp_parquet_string *strings;
} sp_parquet_column_input;

/* Append `nrows` rows given as one sp_parquet_column_input per column (the data is
 * copied; the caller keeps ownership).  Errors as write_rows. */
int sp_parquet_writer_write_columns(sp_parquet_writer *w, const sp_parquet_column_input *columns,
                                    size_t nrows, sp_error *err);

/* Flush the last row group and write the footer.  The file is complete when this
 * returns 0; the writer accepts nothing afterwards except free. */
int sp_parquet_writer_finish(sp_parquet_writer *w, sp_error *err);

/* Release the writer (finished or abandoned).  NULL is ignored. */
void sp_parquet_writer_free(sp_parquet_writer *w);

/* The registry entry ("parquet", ".parquet"): dataset default codec, key-value
 * metadata from the dataset definition. */
extern const sp_format_vtable sp_format_parquet;

#endif
