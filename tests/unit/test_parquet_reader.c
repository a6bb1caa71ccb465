/*
 * test_parquet_reader.c — the Parquet reader on what our writer never produces, and the
 * encodings on their own: a hand-assembled "legacy" file (INT96 timestamps, a
 * TIMESTAMP_MILLIS converted type, DELTA_BYTE_ARRAY strings and RLE booleans in data
 * pages v2, a v1 page with RLE definition levels); round trips of the RLE/bit-packed
 * hybrid at every bit width, DELTA_BINARY_PACKED across int64 extremes, BYTE_STREAM_SPLIT;
 * and the clear errors for a missing file, bad magic and a bad footer length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "format/parquet/parquet_encoding.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_reader.h"
#include "format/parquet/parquet_thrift.h"

#include <stdlib.h>
#include <string.h>

static uint64_t seed = 12345;
static uint64_t next_rand(void) {
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return seed;
}

static void test_rle_all_widths(void **state) {
  (void)state;
  uint32_t in[3000], out[3000];
  for (int bw = 0; bw <= 32; bw++) {
    for (int pattern = 0; pattern < 4; pattern++) {
      size_t n = 1 + next_rand() % 2999;
      uint64_t mask = bw == 32 ? 0xFFFFFFFFu : (1ull << bw) - 1;
      for (size_t i = 0; i < n; i++) {
        uint64_t v = pattern == 0 ? next_rand() : pattern == 1 ? i / 37 : pattern == 2 ? (i % 9 < 3) * 5 : 7;
        in[i] = (uint32_t)(v & mask);
      }
      sp_buf b = SP_BUF_INIT;
      assert_int_equal(sp_pq_rle_encode(&b, in, n, bw), 0);
      size_t used;
      sp_error err;
      if (sp_pq_rle_decode(b.data, b.len, bw, out, n, &used, &err)) fail_msg("bw %d pattern %d n %zu: %s", bw, pattern, n, err.msg);
      assert_memory_equal(in, out, n * sizeof *in);
      assert_int_equal(used, b.len);
      /* one byte short: an error or the same values, never an over-read (ASan) */
      if (b.len > 0 && n > 0) {
        uint8_t *copy = malloc(b.len - 1 ? b.len - 1 : 1);
        memcpy(copy, b.data, b.len - 1);
        /* (the dropped byte may be padding of the last bit-packed group: then the values stand) */
        memset(out, 0xEE, sizeof out);
        int rc = sp_pq_rle_decode(copy, b.len - 1, bw, out, n, NULL, &err);
        if (rc == 0) assert_memory_equal(in, out, n * sizeof *in);
        else assert_int_equal(rc, SP_ERR_CORRUPT);
        free(copy);
      }
      sp_buf_free(&b);
    }
  }
}

static void test_delta_extremes(void **state) {
  (void)state;
  int64_t in[1000], out[1000];
  for (int pattern = 0; pattern < 5; pattern++) {
    size_t n = pattern == 4 ? 1 : 1 + next_rand() % 999;
    for (size_t i = 0; i < n; i++)
      in[i] = pattern == 0   ? (int64_t)next_rand()
              : pattern == 1 ? (i % 2 ? INT64_MIN : INT64_MAX)
              : pattern == 2 ? INT64_C(1700000000000000) + (int64_t)i * 3600000000
                             : -(int64_t)i;
    sp_buf b = SP_BUF_INIT;
    assert_int_equal(sp_pq_delta_encode(&b, in, n), 0);
    size_t used;
    sp_error err;
    assert_int_equal(sp_pq_delta_decode(b.data, b.len, out, n, &used, &err), 0);
    assert_memory_equal(in, out, n * sizeof *in);
    assert_int_equal(used, b.len);
    assert_int_equal(sp_pq_delta_decode(b.data, b.len / 2, out, n, NULL, &err), SP_ERR_CORRUPT);
    sp_buf_free(&b);
  }
}

static void test_byte_stream_split(void **state) {
  (void)state;
  double in[77], out[77];
  for (int i = 0; i < 77; i++) in[i] = i * 1.1 - 3;
  sp_buf b = SP_BUF_INIT;
  assert_int_equal(sp_pq_byte_stream_split_encode(&b, in, 77, 8), 0);
  sp_error err;
  assert_int_equal(sp_pq_byte_stream_split_decode(b.data, b.len, out, 77, 8, &err), 0);
  assert_memory_equal(in, out, sizeof in);
  assert_int_equal(sp_pq_byte_stream_split_decode(b.data, b.len - 1, out, 77, 8, &err), SP_ERR_CORRUPT);
  sp_buf_free(&b);
}

/* ---- a hand-assembled file with legacy and v2 features ---- */

typedef struct chunk_desc {
  int type, encodings;
  int64_t offset, size;
} chunk_desc;

static void page(sp_buf *f, bool v2, int encoding, int32_t nvals, int32_t nnulls, const sp_buf *defs, const sp_buf *vals) {
  sp_buf body = SP_BUF_INIT;
  if (!v2 && defs) {
    sp_buf_append_u32le(&body, (uint32_t)defs->len);
  }
  if (defs) sp_buf_append(&body, defs->data, defs->len);
  sp_buf_append(&body, vals->data, vals->len);
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, f);
  sp_thrift_write_i32(&tw, 1, v2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA);
  sp_thrift_write_i32(&tw, 2, (int32_t)body.len);
  sp_thrift_write_i32(&tw, 3, (int32_t)body.len);
  sp_thrift_write_struct_begin(&tw, v2 ? 8 : 5);
  sp_thrift_write_i32(&tw, 1, nvals);
  if (v2) {
    sp_thrift_write_i32(&tw, 2, nnulls);
    sp_thrift_write_i32(&tw, 3, nvals);
    sp_thrift_write_i32(&tw, 4, encoding);
    sp_thrift_write_i32(&tw, 5, defs ? (int32_t)defs->len : 0);
    sp_thrift_write_i32(&tw, 6, 0);
    sp_thrift_write_bool(&tw, 7, false);
  } else {
    sp_thrift_write_i32(&tw, 2, encoding);
    sp_thrift_write_i32(&tw, 3, PQ_ENC_RLE);
    sp_thrift_write_i32(&tw, 4, PQ_ENC_RLE);
  }
  sp_thrift_write_struct_end(&tw);
  sp_thrift_writer_end(&tw);
  sp_buf_append(f, body.data, body.len);
  sp_buf_free(&body);
}

static uint8_t *legacy_file(size_t *len) {
  sp_buf f = SP_BUF_INIT, defs = SP_BUF_INIT, vals = SP_BUF_INIT;
  sp_buf_append(&f, "PAR1", 4);
  int64_t off[5];
  /* ts: INT96, optional, v1 page: 2020-01-02T03:04:05.123456Z, null, 1969-12-31T23:59:59.999999Z */
  off[0] = (int64_t)f.len;
  uint8_t lv[3] = {1, 0, 1};
  sp_pq_rle_encode_bits(&defs, lv, 3);
  int64_t nanos1 = ((3 * 3600 + 4 * 60 + 5) * INT64_C(1000000000)) + 123456000;
  uint32_t jd1 = 18263 + 2440588;
  int64_t nanos2 = INT64_C(86400000000000) - 1000;
  uint32_t jd2 = 2440587;
  sp_buf_append(&vals, &nanos1, 8);
  sp_buf_append(&vals, &jd1, 4);
  sp_buf_append(&vals, &nanos2, 8);
  sp_buf_append(&vals, &jd2, 4);
  page(&f, false, PQ_ENC_PLAIN, 3, 1, &defs, &vals);
  /* s: BYTE_ARRAY required, DELTA_BYTE_ARRAY in a v2 page: apple, applesauce, apply */
  off[1] = (int64_t)f.len;
  sp_buf_reset(&vals);
  int64_t prefixes[3] = {0, 5, 4}, suffix_lens[3] = {5, 5, 1};
  sp_pq_delta_encode(&vals, prefixes, 3);
  sp_pq_delta_encode(&vals, suffix_lens, 3);
  sp_buf_append_str(&vals, "applesaucey");
  page(&f, true, PQ_ENC_DELTA_BYTE_ARRAY, 3, 0, NULL, &vals);
  /* flag: BOOLEAN optional, RLE in a v2 page: true, null, false */
  off[2] = (int64_t)f.len;
  sp_buf_reset(&vals);
  sp_buf_reset(&defs);
  sp_pq_rle_encode_bits(&defs, lv, 3);
  uint8_t bools[2] = {1, 0};
  sp_buf rle = SP_BUF_INIT;
  sp_pq_rle_encode_bits(&rle, bools, 2);
  sp_buf_append_u32le(&vals, (uint32_t)rle.len);
  sp_buf_append(&vals, rle.data, rle.len);
  sp_buf_free(&rle);
  page(&f, true, PQ_ENC_RLE, 3, 1, &defs, &vals);
  /* ms: INT64 TIMESTAMP_MILLIS (converted type only), required, PLAIN v2 */
  off[3] = (int64_t)f.len;
  sp_buf_reset(&vals);
  int64_t ms[3] = {-1, 1500, 0};
  sp_buf_append(&vals, ms, sizeof ms);
  page(&f, true, PQ_ENC_PLAIN, 3, 0, NULL, &vals);
  off[4] = (int64_t)f.len;

  size_t footer_at = f.len;
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, &f);
  sp_thrift_write_i32(&tw, 1, 1);
  sp_thrift_write_list_begin(&tw, 2, SP_THRIFT_STRUCT, 5);
  sp_thrift_write_elem_struct_begin(&tw);
  sp_thrift_write_string(&tw, 4, "spark_schema");
  sp_thrift_write_i32(&tw, 5, 4);
  sp_thrift_write_struct_end(&tw);
  const struct { int type, rep, converted; const char *name; } cols[4] = {
      {PQ_INT96, PQ_OPTIONAL, -1, "ts"}, {PQ_BYTE_ARRAY, PQ_REQUIRED, PQ_CT_UTF8, "s"},
      {PQ_BOOLEAN, PQ_OPTIONAL, -1, "flag"}, {PQ_INT64, PQ_REQUIRED, PQ_CT_TIMESTAMP_MILLIS, "ms"}};
  for (int c = 0; c < 4; c++) {
    sp_thrift_write_elem_struct_begin(&tw);
    sp_thrift_write_i32(&tw, 1, cols[c].type);
    sp_thrift_write_i32(&tw, 3, cols[c].rep);
    sp_thrift_write_string(&tw, 4, cols[c].name);
    if (cols[c].converted >= 0) sp_thrift_write_i32(&tw, 6, cols[c].converted);
    sp_thrift_write_struct_end(&tw);
  }
  sp_thrift_write_i64(&tw, 3, 3);
  sp_thrift_write_list_begin(&tw, 4, SP_THRIFT_STRUCT, 1);
  sp_thrift_write_elem_struct_begin(&tw);
  sp_thrift_write_list_begin(&tw, 1, SP_THRIFT_STRUCT, 4);
  for (int c = 0; c < 4; c++) {
    sp_thrift_write_elem_struct_begin(&tw);
    sp_thrift_write_i64(&tw, 2, off[c]);
    sp_thrift_write_struct_begin(&tw, 3);
    sp_thrift_write_i32(&tw, 1, cols[c].type);
    sp_thrift_write_list_begin(&tw, 2, SP_THRIFT_I32, 1);
    sp_thrift_write_elem_i32(&tw, PQ_ENC_PLAIN);
    sp_thrift_write_list_begin(&tw, 3, SP_THRIFT_BINARY, 1);
    sp_thrift_write_elem_string(&tw, cols[c].name);
    sp_thrift_write_i32(&tw, 4, PQ_CODEC_UNCOMPRESSED);
    sp_thrift_write_i64(&tw, 5, 3);
    sp_thrift_write_i64(&tw, 6, off[c + 1] - off[c]);
    sp_thrift_write_i64(&tw, 7, off[c + 1] - off[c]);
    sp_thrift_write_i64(&tw, 9, off[c]);
    if (c == 3) { /* legacy min/max of a numeric column are usable */
      sp_thrift_write_struct_begin(&tw, 12);
      sp_thrift_write_binary(&tw, 1, &ms[1], 8);
      sp_thrift_write_binary(&tw, 2, &ms[0], 8);
      sp_thrift_write_struct_end(&tw);
    }
    sp_thrift_write_struct_end(&tw);
    sp_thrift_write_struct_end(&tw);
  }
  sp_thrift_write_i64(&tw, 2, 100);
  sp_thrift_write_i64(&tw, 3, 3);
  sp_thrift_write_struct_end(&tw);
  sp_thrift_write_string(&tw, 6, "handmade");
  sp_thrift_writer_end(&tw);
  assert_int_equal(sp_thrift_writer_status(&tw), 0);
  sp_buf_append_u32le(&f, (uint32_t)(f.len - footer_at));
  sp_buf_append(&f, "PAR1", 4);
  sp_buf_free(&defs);
  sp_buf_free(&vals);
  *len = f.len;
  return sp_buf_detach(&f, len);
}

static void test_legacy_file(void **state) {
  (void)state;
  size_t len;
  uint8_t *data = legacy_file(&len);
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open_memory(&r, data, len, "legacy.parquet", NULL, &err)) fail_msg("%s", err.msg);
  assert_string_equal(sp_parquet_reader_created_by(r), "handmade");
  assert_int_equal(sp_parquet_reader_column(r, 0)->type, SP_TIMESTAMP);
  assert_int_equal(sp_parquet_reader_column(r, 1)->type, SP_STRING);
  assert_int_equal(sp_parquet_reader_column(r, 2)->type, SP_BOOL);
  assert_int_equal(sp_parquet_reader_column(r, 3)->type, SP_TIMESTAMP);
  sp_parquet_column_vector v = {0};
  assert_int_equal(sp_parquet_reader_read_column(r, 0, 0, &v, &err), 0);
  assert_true(v.valid[0] && !v.valid[1] && v.valid[2]);
  assert_true(v.i64[0] == INT64_C(1577934245123456));
  assert_true(v.i64[2] == -1);
  assert_int_equal(sp_parquet_reader_read_column(r, 0, 1, &v, &err), 0);
  assert_int_equal(v.str_offsets[3], 20);
  assert_memory_equal(v.str_bytes, "appleapplesauceapply", 20);
  assert_int_equal(v.str_offsets[1], 5);
  assert_int_equal(sp_parquet_reader_read_column(r, 0, 2, &v, &err), 0);
  assert_true(v.valid[0] && v.bools[0] && !v.valid[1] && v.valid[2] && !v.bools[2]);
  assert_int_equal(v.null_count, 1);
  assert_int_equal(sp_parquet_reader_read_column(r, 0, 3, &v, &err), 0);
  assert_true(v.i64[0] == -1000 && v.i64[1] == 1500000 && v.i64[2] == 0);
  const sp_parquet_chunk_info *ci = sp_parquet_reader_chunk(r, 0, 3);
  assert_true(ci->has_min_max && ci->min.u.i64 == -1000 && ci->max.u.i64 == 1500000);
  assert_false(sp_parquet_reader_chunk(r, 0, 0)->has_min_max);
  sp_parquet_column_vector_free(&v);
  sp_parquet_reader_close(r);
  free(data);
}

static void test_open_errors(void **state) {
  (void)state;
  sp_parquet_reader *r;
  sp_error err = {0};
  assert_int_equal(sp_parquet_reader_open(&r, "/nonexistent/x.parquet", NULL, &err), SP_ERR_NOT_FOUND);
  assert_non_null(strstr(err.msg, "/nonexistent/x.parquet"));
  const char junk[] = "PAR1 this is not parquet at all PAR2";
  assert_int_equal(sp_parquet_reader_open_memory(&r, junk, sizeof junk - 1, "junk.parquet", NULL, &err), SP_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "magic"));
  uint8_t bad[20] = "PAR1";
  bad[12] = 200; /* footer length 200 in a 20-byte file */
  memcpy(bad + 16, "PAR1", 4);
  assert_int_equal(sp_parquet_reader_open_memory(&r, bad, sizeof bad, "short.parquet", NULL, &err), SP_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "footer length"));
  /* a row group over the row limit is refused before anything is allocated for it */
  size_t len;
  uint8_t *data = legacy_file(&len);
  sp_parquet_reader_options o;
  sp_parquet_reader_options_default(&o);
  o.max_rows_per_group = 2;
  assert_int_equal(sp_parquet_reader_open_memory(&r, data, len, "legacy.parquet", &o, &err), SP_ERR_UNSUPPORTED);
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rle_all_widths),  cmocka_unit_test(test_delta_extremes),
      cmocka_unit_test(test_byte_stream_split), cmocka_unit_test(test_legacy_file),
      cmocka_unit_test(test_open_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
