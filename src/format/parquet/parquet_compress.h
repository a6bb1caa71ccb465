/*
 * parquet_compress.h — page compression for the Parquet codec: UNCOMPRESSED, SNAPPY
 * (snappy-c), GZIP (zlib, gzip wrapper) and ZSTD, by Parquet CompressionCodec number.
 *
 * A sp_pq_compressor keeps the codec's reusable state (the zstd context) so the
 * writer does not re-create it per page; the reader decompresses with
 * sp_pq_decompress, which never writes more than the size the page header declares.
 */
#ifndef STOCKPIPE_PARQUET_COMPRESS_H
#define STOCKPIPE_PARQUET_COMPRESS_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sp_pq_compressor {
  int codec; /* PQ_CODEC_* */
  int level; /* 0 = codec default */
  void *zstd_cctx;
  void *zstd_dctx;
} sp_pq_compressor;

/* Codec number of "uncompressed"/"none", "snappy", "gzip", "zstd" (case-insensitive), or -1. */
int sp_pq_codec_by_name(const char *name);
/* "UNCOMPRESSED", "SNAPPY", ... for messages. */
const char *sp_pq_codec_name(int codec);

/* Prepare a compressor for `codec` (SP_ERR_UNSUPPORTED for LZO/BROTLI/LZ4). */
int sp_pq_compressor_init(sp_pq_compressor *c, int codec, int level, sp_error *err);
void sp_pq_compressor_free(sp_pq_compressor *c);

/* Replace out's contents with `in` compressed. */
int sp_pq_compress(sp_pq_compressor *c, const uint8_t *in, size_t len, sp_buf *out, sp_error *err);

/* The most bytes `len` compressed bytes can expand to with `codec` (snappy ~21×, deflate
 * 1032×, zstd 32768× through RLE blocks), so a reader can refuse an implausible page
 * size before allocating it. */
size_t sp_pq_max_decompressed(int codec, size_t len);

/* Decompress `in` into `out`, which holds exactly `out_len` bytes (the page header's
 * uncompressed size).  SP_ERR_CORRUPT when the data does not decompress to exactly
 * that size. */
int sp_pq_decompress(sp_pq_compressor *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_len, sp_error *err);

#endif
