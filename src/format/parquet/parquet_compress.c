/*
 * parquet_compress.c — page compression codecs (see parquet_compress.h).
 */
#include "format/parquet/parquet_compress.h"

#include "format/parquet/parquet_format.h"

#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

int sp_pq_codec_by_name(const char *name) {
  if (!name) return -1;
  if (!strcasecmp(name, "uncompressed") || !strcasecmp(name, "none")) return PQ_CODEC_UNCOMPRESSED;
  if (!strcasecmp(name, "snappy")) return PQ_CODEC_SNAPPY;
  if (!strcasecmp(name, "gzip")) return PQ_CODEC_GZIP;
  if (!strcasecmp(name, "zstd")) return PQ_CODEC_ZSTD;
  return -1;
}

const char *sp_pq_codec_name(int codec) {
  switch (codec) {
  case PQ_CODEC_UNCOMPRESSED: return "UNCOMPRESSED";
  case PQ_CODEC_SNAPPY: return "SNAPPY";
  case PQ_CODEC_GZIP: return "GZIP";
  case PQ_CODEC_LZO: return "LZO";
  case PQ_CODEC_BROTLI: return "BROTLI";
  case PQ_CODEC_LZ4: return "LZ4";
  case PQ_CODEC_ZSTD: return "ZSTD";
  case PQ_CODEC_LZ4_RAW: return "LZ4_RAW";
  }
  return "unknown";
}

int sp_pq_compressor_init(sp_pq_compressor *c, int codec, int level, sp_error *err) {
  memset(c, 0, sizeof *c);
  c->codec = codec;
  c->level = level;
  switch (codec) {
  case PQ_CODEC_UNCOMPRESSED:
  case PQ_CODEC_SNAPPY:
  case PQ_CODEC_GZIP:
  case PQ_CODEC_ZSTD:
    return SP_OK;
  default:
    return sp_error_set(err, SP_ERR_UNSUPPORTED, "compression codec %s is not supported",
                        sp_pq_codec_name(codec));
  }
}

void sp_pq_compressor_free(sp_pq_compressor *c) {
  if (c->zstd_cctx) ZSTD_freeCCtx(c->zstd_cctx);
  if (c->zstd_dctx) ZSTD_freeDCtx(c->zstd_dctx);
  c->zstd_cctx = c->zstd_dctx = NULL;
}

static int gzip_compress(int level, const uint8_t *in, size_t len, sp_buf *out, sp_error *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return sp_error_set(err, SP_ERR_NOMEM, "gzip: deflateInit failed");
  size_t bound = deflateBound(&zs, len);
  if (sp_buf_reserve(out, bound) != SP_OK) {
    deflateEnd(&zs);
    return sp_error_set(err, SP_ERR_NOMEM, "gzip: out of memory");
  }
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)len;
  zs.next_out = out->data;
  zs.avail_out = (uInt)bound;
  int zrc = deflate(&zs, Z_FINISH);
  out->len = zs.total_out;
  deflateEnd(&zs);
  if (zrc != Z_STREAM_END) return sp_error_set(err, SP_ERR_IO, "gzip: deflate failed (%d)", zrc);
  return SP_OK;
}

int sp_pq_compress(sp_pq_compressor *c, const uint8_t *in, size_t len, sp_buf *out, sp_error *err) {
  sp_buf_reset(out);
  switch (c->codec) {
  case PQ_CODEC_UNCOMPRESSED:
    return sp_buf_append(out, in, len) ? sp_error_set(err, SP_ERR_NOMEM, "out of memory") : SP_OK;
  case PQ_CODEC_SNAPPY: {
    size_t bound = snappy_max_compressed_length(len);
    if (sp_buf_reserve(out, bound) != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "snappy: out of memory");
    size_t olen = bound;
    if (snappy_compress((const char *)in, len, (char *)out->data, &olen) != SNAPPY_OK)
      return sp_error_set(err, SP_ERR_IO, "snappy: compression failed");
    out->len = olen;
    return SP_OK;
  }
  case PQ_CODEC_GZIP:
    return gzip_compress(c->level, in, len, out, err);
  case PQ_CODEC_ZSTD: {
    if (!c->zstd_cctx && !(c->zstd_cctx = ZSTD_createCCtx()))
      return sp_error_set(err, SP_ERR_NOMEM, "zstd: out of memory");
    size_t bound = ZSTD_compressBound(len);
    if (sp_buf_reserve(out, bound) != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "zstd: out of memory");
    size_t r = ZSTD_compressCCtx(c->zstd_cctx, out->data, bound, in, len, c->level ? c->level : 3);
    if (ZSTD_isError(r)) return sp_error_set(err, SP_ERR_IO, "zstd: %s", ZSTD_getErrorName(r));
    out->len = r;
    return SP_OK;
  }
  }
  return sp_error_set(err, SP_ERR_UNSUPPORTED, "compression codec %s is not supported", sp_pq_codec_name(c->codec));
}

size_t sp_pq_max_decompressed(int codec, size_t len) {
  size_t factor;
  switch (codec) {
  case PQ_CODEC_UNCOMPRESSED: return len;
  case PQ_CODEC_SNAPPY: factor = 22; break;
  case PQ_CODEC_GZIP: factor = 1032; break;
  default: factor = 32768; break;
  }
  if (len > (SIZE_MAX - 65536) / factor) return SIZE_MAX;
  return len * factor + 65536;
}

static int gzip_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t out_len, sp_error *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return sp_error_set(err, SP_ERR_NOMEM, "gzip: inflateInit failed");
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)out_len;
  int zrc = inflate(&zs, Z_FINISH);
  size_t got = zs.total_out;
  inflateEnd(&zs);
  if (zrc != Z_STREAM_END || got != out_len)
    return sp_error_set(err, SP_ERR_CORRUPT, "gzip page does not decompress to %zu bytes", out_len);
  return SP_OK;
}

int sp_pq_decompress(sp_pq_compressor *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_len, sp_error *err) {
  switch (c->codec) {
  case PQ_CODEC_UNCOMPRESSED:
    if (len != out_len) return sp_error_set(err, SP_ERR_CORRUPT, "uncompressed page sizes differ (%zu vs %zu)", len, out_len);
    memcpy(out, in, len);
    return SP_OK;
  case PQ_CODEC_SNAPPY: {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK || ulen != out_len)
      return sp_error_set(err, SP_ERR_CORRUPT, "snappy page does not decompress to %zu bytes", out_len);
    size_t olen = out_len;
    if (snappy_uncompress((const char *)in, len, (char *)out, &olen) != SNAPPY_OK || olen != out_len)
      return sp_error_set(err, SP_ERR_CORRUPT, "snappy page is corrupt");
    return SP_OK;
  }
  case PQ_CODEC_GZIP:
    return gzip_decompress(in, len, out, out_len, err);
  case PQ_CODEC_ZSTD: {
    if (!c->zstd_dctx && !(c->zstd_dctx = ZSTD_createDCtx()))
      return sp_error_set(err, SP_ERR_NOMEM, "zstd: out of memory");
    size_t r = ZSTD_decompressDCtx(c->zstd_dctx, out, out_len, in, len);
    if (ZSTD_isError(r) || r != out_len)
      return sp_error_set(err, SP_ERR_CORRUPT, "zstd page does not decompress to %zu bytes", out_len);
    return SP_OK;
  }
  }
  return sp_error_set(err, SP_ERR_UNSUPPORTED, "compression codec %s is not supported", sp_pq_codec_name(c->codec));
}
