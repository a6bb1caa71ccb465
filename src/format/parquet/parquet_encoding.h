/*
 * parquet_encoding.h — Parquet value and level encodings shared by the writer and the
 * reader: the RLE/bit-packed hybrid (levels, dictionary indices, booleans),
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT.
 *
 * Encoders append to an sp_buf and return SP_OK or SP_ERR_NOMEM.  Decoders read
 * untrusted bytes: they never read outside [data, data+len), never write more than the
 * count the caller asked for, and return SP_ERR_CORRUPT (message in err) when the
 * input does not hold what it should.
 */
#ifndef STOCKPIPE_PARQUET_ENCODING_H
#define STOCKPIPE_PARQUET_ENCODING_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stddef.h>
#include <stdint.h>

/* Bits needed to store values up to max_value (0 for 0). */
int sp_pq_bit_width(uint64_t max_value);

/* Append the ULEB128 varint of v. */
int sp_pq_put_uleb(sp_buf *out, uint64_t v);

/* RLE/bit-packed hybrid of n values each < 2^bit_width (bit_width 0..32), without a
 * length prefix. */
int sp_pq_rle_encode(sp_buf *out, const uint32_t *values, size_t n, int bit_width);
/* The same for 0/1 bytes (definition levels and booleans), bit width 1. */
int sp_pq_rle_encode_bits(sp_buf *out, const uint8_t *bits, size_t n);
/* Decode exactly n values of bit_width (0..32) from a hybrid stream.  *used (may be
 * NULL) receives the bytes consumed. */
int sp_pq_rle_decode(const uint8_t *data, size_t len, int bit_width, uint32_t *out, size_t n,
                     size_t *used, sp_error *err);

/* DELTA_BINARY_PACKED (block 128, 4 miniblocks) of n signed 64-bit values. */
int sp_pq_delta_encode(sp_buf *out, const int64_t *values, size_t n);
/* Decode exactly n values; *used receives the bytes the stream occupied.  32-bit
 * columns decode with 64-bit arithmetic and are narrowed by the caller. */
int sp_pq_delta_decode(const uint8_t *data, size_t len, int64_t *out, size_t n, size_t *used,
                       sp_error *err);

/* BYTE_STREAM_SPLIT of n values of `width` bytes. */
int sp_pq_byte_stream_split_encode(sp_buf *out, const void *values, size_t n, size_t width);
int sp_pq_byte_stream_split_decode(const uint8_t *data, size_t len, void *out, size_t n,
                                   size_t width, sp_error *err);

/* Decoded byte arrays: lengths and one contiguous byte buffer. */
typedef struct sp_pq_byte_arrays {
  uint32_t *lengths; /* n entries */
  uint8_t *bytes;    /* sum(lengths) bytes */
  size_t total;
} sp_pq_byte_arrays;

/* DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY of n values into `out` (allocated here,
 * bounded by the input size; free with sp_pq_byte_arrays_free). */
int sp_pq_delta_length_decode(const uint8_t *data, size_t len, size_t n, sp_pq_byte_arrays *out,
                              sp_error *err);
int sp_pq_delta_byte_array_decode(const uint8_t *data, size_t len, size_t n,
                                  sp_pq_byte_arrays *out, sp_error *err);
void sp_pq_byte_arrays_free(sp_pq_byte_arrays *a);

#endif
