/*
 * parquet_encoding.c — Parquet level and value encodings (see parquet_encoding.h).
 */
#include "format/parquet/parquet_encoding.h"

#include <stdlib.h>
#include <string.h>

int sp_pq_bit_width(uint64_t max_value) {
  int w = 0;
  while (max_value) {
    w++;
    max_value >>= 1;
  }
  return w;
}

int sp_pq_put_uleb(sp_buf *out, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  return sp_buf_append(out, tmp, n);
}

static int get_uleb(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return SP_ERR_CORRUPT;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return SP_OK;
    }
  }
  return SP_ERR_CORRUPT;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------ */

/* Level and index arrays come as uint32 (indices) or as 0/1 bytes (levels, booleans):
 * the encoder reads either through this accessor. */
static inline uint32_t value_at(const void *values, size_t elem_size, size_t i) {
  return elem_size == 1 ? ((const uint8_t *)values)[i] : ((const uint32_t *)values)[i];
}

/* Bit-pack values [from, from+n) padded with zeros to `padded` values, at bit_width. */
static int bit_pack(sp_buf *out, const void *values, size_t elem_size, size_t from, size_t n, size_t padded,
                    int bit_width) {
  size_t bytes = padded * (size_t)bit_width / 8;
  if (sp_buf_reserve(out, bytes + 8) != SP_OK) return SP_ERR_NOMEM;
  uint8_t *dst = out->data + out->len;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < padded; i++) {
    uint64_t v = i < n ? value_at(values, elem_size, from + i) : 0;
    acc |= v << bits;
    bits += bit_width;
    while (bits >= 8) {
      *dst++ = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  out->len += bytes;
  out->data[out->len] = 0;
  return SP_OK;
}

static int rle_run(sp_buf *out, uint32_t value, size_t count, int bit_width) {
  int rc = sp_pq_put_uleb(out, (uint64_t)count << 1);
  int nbytes = (bit_width + 7) / 8;
  uint8_t v[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16), (uint8_t)(value >> 24)};
  if (rc == SP_OK) rc = sp_buf_append(out, v, (size_t)nbytes);
  return rc;
}

/* The hybrid: runs of 8 or more equal values as RLE runs, the rest bit-packed in groups
 * of 8 until a run of 8 equal values starts on a group boundary. */
static int rle_encode(sp_buf *out, const void *values, size_t elem_size, size_t n, int bit_width) {
  size_t i = 0;
  while (i < n) {
    uint32_t first = value_at(values, elem_size, i);
    size_t run = 1;
    while (i + run < n && value_at(values, elem_size, i + run) == first) run++;
    if (run >= 8) {
      int rc = rle_run(out, first, run, bit_width);
      if (rc) return rc;
      i += run;
      continue;
    }
    size_t j = i;
    for (;;) {
      j += 8;
      if (j >= n) {
        j = n;
        break;
      }
      if (j + 8 <= n) {
        uint32_t at = value_at(values, elem_size, j);
        size_t k = 1;
        while (k < 8 && value_at(values, elem_size, j + k) == at) k++;
        if (k == 8) break;
      }
    }
    size_t count = j - i, groups = (count + 7) / 8;
    int rc = sp_pq_put_uleb(out, (groups << 1) | 1);
    if (rc == SP_OK) rc = bit_pack(out, values, elem_size, i, count, groups * 8, bit_width);
    if (rc) return rc;
    i = j;
  }
  return SP_OK;
}

int sp_pq_rle_encode(sp_buf *out, const uint32_t *values, size_t n, int bit_width) {
  return rle_encode(out, values, sizeof *values, n, bit_width);
}

int sp_pq_rle_encode_bits(sp_buf *out, const uint8_t *bits, size_t n) { return rle_encode(out, bits, 1, n, 1); }

/* Unpack `count` (≤ 8) values of one group of 8 at bit_width from `src` (w bytes). */
static void unpack_group(const uint8_t *src, size_t avail, int bit_width, uint32_t *out, size_t count) {
  uint8_t tmp[40] = {0};
  size_t need = (size_t)bit_width; /* one group of 8 values takes bit_width bytes */
  memcpy(tmp, src, need < avail ? need : avail);
  uint64_t mask = bit_width == 32 ? 0xFFFFFFFFu : ((1ull << bit_width) - 1);
  for (size_t k = 0; k < count; k++) {
    size_t bit = k * (size_t)bit_width;
    uint64_t word;
    memcpy(&word, tmp + (bit >> 3), 8);
    out[k] = (uint32_t)((word >> (bit & 7)) & mask);
  }
}

int sp_pq_rle_decode(const uint8_t *data, size_t len, int bit_width, uint32_t *out, size_t n,
                     size_t *used, sp_error *err) {
  if (bit_width < 0 || bit_width > 32)
    return sp_error_set(err, SP_ERR_CORRUPT, "RLE bit width %d out of range", bit_width);
  const uint8_t *p = data, *end = data + len;
  size_t done = 0;
  int vbytes = (bit_width + 7) / 8;
  while (done < n) {
    uint64_t header;
    if (get_uleb(&p, end, &header))
      return sp_error_set(err, SP_ERR_CORRUPT, "RLE stream truncated after %zu of %zu values", done, n);
    if (header & 1) {
      uint64_t groups = header >> 1;
      if (groups == 0) return sp_error_set(err, SP_ERR_CORRUPT, "empty bit-packed run");
      if (groups > (UINT64_MAX / 8)) return sp_error_set(err, SP_ERR_CORRUPT, "bit-packed run too long");
      uint64_t values = groups * 8;
      uint64_t bytes_total = groups * (uint64_t)bit_width;
      size_t avail = (size_t)(end - p);
      if (bytes_total > avail) {
        /* Tolerate a truncated final run as long as the values we need are present. */
        uint64_t need_vals = n - done < values ? n - done : values;
        if ((need_vals * (uint64_t)bit_width + 7) / 8 > avail)
          return sp_error_set(err, SP_ERR_CORRUPT, "bit-packed run truncated");
        bytes_total = avail;
      }
      size_t take = values < n - done ? (size_t)values : n - done;
      if (bit_width == 0) {
        memset(out + done, 0, take * sizeof *out);
      } else {
        for (size_t g = 0; g * 8 < take; g++) {
          size_t off = g * (size_t)bit_width;
          size_t cnt = take - g * 8 < 8 ? take - g * 8 : 8;
          unpack_group(p + off, avail - off, bit_width, out + done + g * 8, cnt);
        }
      }
      done += take;
      p += bytes_total;
    } else {
      uint64_t count = header >> 1;
      if (count == 0) return sp_error_set(err, SP_ERR_CORRUPT, "empty RLE run");
      if ((size_t)(end - p) < (size_t)vbytes) return sp_error_set(err, SP_ERR_CORRUPT, "RLE run value truncated");
      uint32_t v = 0;
      for (int b = 0; b < vbytes; b++) v |= (uint32_t)p[b] << (8 * b);
      p += vbytes;
      if (bit_width < 32 && (v >> bit_width) != 0)
        return sp_error_set(err, SP_ERR_CORRUPT, "RLE value %u wider than %d bits", v, bit_width);
      size_t take = count < n - done ? (size_t)count : n - done;
      for (size_t k = 0; k < take; k++) out[done + k] = v;
      done += take;
    }
  }
  if (used) *used = (size_t)(p - data);
  return SP_OK;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------------- */

#define DELTA_BLOCK 128
#define DELTA_MINIBLOCKS 4
#define DELTA_MINI (DELTA_BLOCK / DELTA_MINIBLOCKS)

static int pack_u64(sp_buf *out, const uint64_t *v, size_t n, int w) {
  size_t bytes = n * (size_t)w / 8;
  if (sp_buf_reserve(out, bytes + 8) != SP_OK) return SP_ERR_NOMEM;
  uint8_t *dst = out->data + out->len;
  unsigned __int128 acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= (unsigned __int128)v[i] << bits;
    bits += w;
    while (bits >= 8) {
      *dst++ = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  out->len += bytes;
  out->data[out->len] = 0;
  return SP_OK;
}

int sp_pq_delta_encode(sp_buf *out, const int64_t *values, size_t n) {
  int rc = sp_pq_put_uleb(out, DELTA_BLOCK);
  if (rc == SP_OK) rc = sp_pq_put_uleb(out, DELTA_MINIBLOCKS);
  if (rc == SP_OK) rc = sp_pq_put_uleb(out, n);
  int64_t first = n ? values[0] : 0;
  if (rc == SP_OK) rc = sp_pq_put_uleb(out, ((uint64_t)first << 1) ^ (uint64_t)(first >> 63));
  size_t i = 1;
  while (rc == SP_OK && i < n) {
    size_t cnt = n - i < DELTA_BLOCK ? n - i : DELTA_BLOCK;
    int64_t deltas[DELTA_BLOCK];
    int64_t min = INT64_MAX;
    for (size_t k = 0; k < cnt; k++) {
      deltas[k] = (int64_t)((uint64_t)values[i + k] - (uint64_t)values[i + k - 1]);
      if (deltas[k] < min) min = deltas[k];
    }
    rc = sp_pq_put_uleb(out, ((uint64_t)min << 1) ^ (uint64_t)(min >> 63));
    uint64_t rel[DELTA_BLOCK] = {0};
    for (size_t k = 0; k < cnt; k++) rel[k] = (uint64_t)deltas[k] - (uint64_t)min;
    size_t nminis = (cnt + DELTA_MINI - 1) / DELTA_MINI;
    uint8_t widths[DELTA_MINIBLOCKS] = {0};
    for (size_t m = 0; m < nminis; m++) {
      uint64_t mx = 0;
      for (size_t k = m * DELTA_MINI; k < (m + 1) * DELTA_MINI; k++) mx |= rel[k];
      widths[m] = (uint8_t)sp_pq_bit_width(mx);
    }
    if (rc == SP_OK) rc = sp_buf_append(out, widths, DELTA_MINIBLOCKS);
    for (size_t m = 0; m < nminis && rc == SP_OK; m++)
      rc = pack_u64(out, rel + m * DELTA_MINI, DELTA_MINI, widths[m]);
    i += cnt;
  }
  return rc;
}

int sp_pq_delta_decode(const uint8_t *data, size_t len, int64_t *out, size_t n, size_t *used,
                       sp_error *err) {
  const uint8_t *p = data, *end = data + len;
  uint64_t block, minis, total, first;
  if (get_uleb(&p, end, &block) || get_uleb(&p, end, &minis) || get_uleb(&p, end, &total) ||
      get_uleb(&p, end, &first))
    return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED header truncated");
  if (block == 0 || block % 128 || minis == 0 || block % minis || (block / minis) % 32 || block > 65536)
    return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED block %llu / %llu miniblocks invalid",
                        (unsigned long long)block, (unsigned long long)minis);
  if (total < n)
    return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED holds %llu values, %zu expected",
                        (unsigned long long)total, n);
  size_t per_mini = (size_t)(block / minis);
  uint64_t cur = (first >> 1) ^ (uint64_t)-(int64_t)(first & 1);
  size_t done = 0;
  if (n > 0) out[done++] = (int64_t)cur;
  /* Consume blocks for the values we need (a stream may hold more: `total`). */
  uint64_t remaining = total > 0 ? total - 1 : 0;
  uint64_t want = n > 0 ? n - 1 : 0;
  uint64_t consumed = 0;
  uint8_t widths[1024];
  if (minis > sizeof widths) return sp_error_set(err, SP_ERR_CORRUPT, "too many miniblocks");
  while (consumed < want || (consumed < remaining && used)) {
    uint64_t zz;
    if (get_uleb(&p, end, &zz)) return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED block truncated");
    uint64_t min = (zz >> 1) ^ (uint64_t)-(int64_t)(zz & 1);
    if ((uint64_t)(end - p) < minis) return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED widths truncated");
    memcpy(widths, p, (size_t)minis);
    p += minis;
    for (uint64_t m = 0; m < minis && consumed < remaining; m++) {
      int w = widths[m];
      if (w > 64) return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED bit width %d", w);
      size_t bytes = per_mini * (size_t)w / 8;
      if ((size_t)(end - p) < bytes) return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BINARY_PACKED miniblock truncated");
      uint64_t mask = w == 64 ? UINT64_MAX : ((1ull << w) - 1);
      for (size_t k = 0; k < per_mini && consumed < remaining; k++, consumed++) {
        if (done < n) {
          uint64_t delta = 0;
          if (w) {
            size_t bit = k * (size_t)w;
            const uint8_t *q = p + (bit >> 3);
            int sh = (int)(bit & 7);
            unsigned __int128 word = 0;
            size_t nb = ((size_t)sh + (size_t)w + 7) / 8;
            for (size_t b = 0; b < nb; b++) word |= (unsigned __int128)q[b] << (8 * b);
            delta = (uint64_t)(word >> sh) & mask;
          }
          cur += min + delta;
          out[done++] = (int64_t)cur;
        }
      }
      p += bytes;
    }
    if (!used && consumed >= want) break;
  }
  if (used) *used = (size_t)(p - data);
  return SP_OK;
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------------ */

int sp_pq_byte_stream_split_encode(sp_buf *out, const void *values, size_t n, size_t width) {
  if (sp_buf_reserve(out, n * width) != SP_OK) return SP_ERR_NOMEM;
  const uint8_t *src = values;
  uint8_t *dst = out->data + out->len;
  if (width == 8) {
    for (size_t i = 0; i < n; i++) {
      const uint8_t *v = src + i * 8;
      for (size_t b = 0; b < 8; b++) dst[b * n + i] = v[b];
    }
  } else {
    for (size_t i = 0; i < n; i++)
      for (size_t b = 0; b < width; b++) dst[b * n + i] = src[i * width + b];
  }
  out->len += n * width;
  out->data[out->len] = 0;
  return SP_OK;
}

int sp_pq_byte_stream_split_decode(const uint8_t *data, size_t len, void *out, size_t n,
                                   size_t width, sp_error *err) {
  if (width == 0 || n > len / width || len % width)
    return sp_error_set(err, SP_ERR_CORRUPT, "BYTE_STREAM_SPLIT data of %zu bytes for %zu values", len, n);
  size_t stride = len / width; /* the number of values actually stored */
  uint8_t *dst = out;
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; b < width; b++) dst[i * width + b] = data[b * stride + i];
  return SP_OK;
}

/* ---- DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY ------------------------------ */

void sp_pq_byte_arrays_free(sp_pq_byte_arrays *a) {
  free(a->lengths);
  free(a->bytes);
  memset(a, 0, sizeof *a);
}

/* Decode n non-negative lengths from a delta stream into a fresh array. */
static int decode_lengths(const uint8_t *data, size_t len, size_t n, uint32_t **lengths,
                          size_t *used, const char *what, sp_error *err) {
  if (n > len * 64 + 64) return sp_error_set(err, SP_ERR_CORRUPT, "%s: %zu values cannot fit in %zu bytes", what, n, len);
  int64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
  uint32_t *l = malloc((n ? n : 1) * sizeof *l);
  if (!tmp || !l) {
    free(tmp);
    free(l);
    return sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", what);
  }
  int rc = sp_pq_delta_decode(data, len, tmp, n, used, err);
  for (size_t i = 0; rc == SP_OK && i < n; i++) {
    if (tmp[i] < 0 || tmp[i] > UINT32_MAX) rc = sp_error_set(err, SP_ERR_CORRUPT, "%s: length %lld out of range", what, (long long)tmp[i]);
    else l[i] = (uint32_t)tmp[i];
  }
  free(tmp);
  if (rc) {
    free(l);
    return rc;
  }
  *lengths = l;
  return SP_OK;
}

int sp_pq_delta_length_decode(const uint8_t *data, size_t len, size_t n, sp_pq_byte_arrays *out,
                              sp_error *err) {
  memset(out, 0, sizeof *out);
  size_t used;
  int rc = decode_lengths(data, len, n, &out->lengths, &used, "DELTA_LENGTH_BYTE_ARRAY", err);
  if (rc) return rc;
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += out->lengths[i];
  if (total > len - used) {
    sp_pq_byte_arrays_free(out);
    return sp_error_set(err, SP_ERR_CORRUPT, "DELTA_LENGTH_BYTE_ARRAY: %llu bytes of values, %zu present",
                        (unsigned long long)total, len - used);
  }
  out->bytes = malloc(total ? total : 1);
  if (!out->bytes) {
    sp_pq_byte_arrays_free(out);
    return sp_error_set(err, SP_ERR_NOMEM, "DELTA_LENGTH_BYTE_ARRAY: out of memory");
  }
  if (total) memcpy(out->bytes, data + used, total);
  out->total = total;
  return SP_OK;
}

int sp_pq_delta_byte_array_decode(const uint8_t *data, size_t len, size_t n,
                                  sp_pq_byte_arrays *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  uint32_t *prefix = NULL;
  size_t used;
  int rc = decode_lengths(data, len, n, &prefix, &used, "DELTA_BYTE_ARRAY prefixes", err);
  if (rc) return rc;
  sp_pq_byte_arrays suffix;
  rc = sp_pq_delta_length_decode(data + used, len - used, n, &suffix, err);
  if (rc) {
    free(prefix);
    return rc;
  }
  /* Output is bounded: prefixes may repeat earlier bytes, so cap the expansion. */
  uint64_t cap = (uint64_t)len * 1024 + (1u << 20);
  if (cap > (1ull << 30)) cap = 1ull << 30;
  uint64_t total = 0, prev = 0;
  for (size_t i = 0; i < n; i++) {
    if (prefix[i] > prev) {
      rc = sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BYTE_ARRAY: prefix %u longer than the previous value", prefix[i]);
      break;
    }
    prev = (uint64_t)prefix[i] + suffix.lengths[i];
    total += prev;
    if (total > cap) {
      rc = sp_error_set(err, SP_ERR_CORRUPT, "DELTA_BYTE_ARRAY: values expand beyond %llu bytes", (unsigned long long)cap);
      break;
    }
  }
  if (rc == SP_OK) {
    out->lengths = malloc((n ? n : 1) * sizeof *out->lengths);
    out->bytes = malloc(total ? total : 1);
    if (!out->lengths || !out->bytes) rc = sp_error_set(err, SP_ERR_NOMEM, "DELTA_BYTE_ARRAY: out of memory");
  }
  if (rc == SP_OK) {
    size_t pos = 0, soff = 0, prev_off = 0;
    for (size_t i = 0; i < n; i++) {
      uint32_t l = prefix[i] + suffix.lengths[i];
      if (prefix[i]) memmove(out->bytes + pos, out->bytes + prev_off, prefix[i]);
      memcpy(out->bytes + pos + prefix[i], suffix.bytes + soff, suffix.lengths[i]);
      soff += suffix.lengths[i];
      out->lengths[i] = l;
      prev_off = pos;
      pos += l;
    }
    out->total = pos;
  }
  free(prefix);
  sp_pq_byte_arrays_free(&suffix);
  if (rc) sp_pq_byte_arrays_free(out);
  return rc;
}
