/*
 * test_parquet_roundtrip.c — property tests of the Parquet writer and reader together:
 * random tables (tests/unit/parquet_testdata.h) over every type, null densities, dictionary
 * on/off (with forced fallback), the four codecs, DELTA/BYTE_STREAM_SPLIT, page CRCs,
 * row-group and page sizes are written, read back column by column and compared value by
 * value (doubles bit for bit); chunk statistics are checked against the values; the
 * format-registry (sp_row) path is checked for all five datasets; row-group pruning and
 * dictionary pruning are checked against the data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parquet_testdata.h"

#include "format/parquet/parquet_compress.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_reader.h"

#include <stdio.h>
#include <unistd.h>

/* Write `t` with options `o` to a temp file and return its bytes. */
static uint8_t *write_table(const testdata_table *t, const sp_parquet_writer_options *o, size_t *len) {
  FILE *f = tmpfile();
  assert_non_null(f);
  sp_parquet_writer *w;
  sp_error err = {0};
  assert_int_equal(sp_parquet_writer_open(&w, fileno(f), t->columns, t->ncolumns, o, &err), 0);
  size_t r = 0;
  while (r < t->nrows) { /* uneven slices */
    size_t step = t->nrows - r < 1234 ? t->nrows - r : 1234;
    sp_parquet_column_input in[32];
    testdata_slice(t, r, in);
    int rc = sp_parquet_writer_write_columns(w, in, step, &err);
    if (rc) fail_msg("write_columns: %s", err.msg);
    r += step;
  }
  if (sp_parquet_writer_finish(w, &err)) fail_msg("finish: %s", err.msg);
  sp_parquet_writer_free(w);
  long size = ftell(f);
  assert_true(size >= 12);
  uint8_t *buf = malloc((size_t)size);
  assert_non_null(buf);
  assert_int_equal(pread(fileno(f), buf, (size_t)size, 0), size);
  fclose(f);
  *len = (size_t)size;
  return buf;
}

static bool same_double(double a, double b) { return memcmp(&a, &b, 8) == 0; }

/* Read every column of every row group and compare with the table. */
static void check_file(const testdata_table *t, const uint8_t *buf, size_t len) {
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open_memory(&r, buf, len, "roundtrip", NULL, &err)) fail_msg("open: %s", err.msg);
  assert_int_equal(sp_parquet_reader_num_columns(r), t->ncolumns);
  assert_int_equal(sp_parquet_reader_num_rows(r), (int64_t)t->nrows);
  assert_true(strncmp(sp_parquet_reader_created_by(r), "stockpipe version ", 18) == 0);
  sp_parquet_column_vector v = {0};
  for (int c = 0; c < t->ncolumns; c++) {
    const sp_parquet_column_info *ci = sp_parquet_reader_column(r, c);
    assert_string_equal(ci->name, t->columns[c].name);
    assert_int_equal(ci->type, t->columns[c].type);
    assert_int_equal(ci->nullable, t->columns[c].nullable);
    const testdata_column *col = &t->cols[c];
    size_t row = 0;
    for (int g = 0; g < sp_parquet_reader_num_row_groups(r); g++) {
      if (sp_parquet_reader_read_column(r, g, c, &v, &err)) fail_msg("read %s: %s", ci->name, err.msg);
      assert_int_equal(v.nrows, (size_t)sp_parquet_reader_row_group_rows(r, g));
      const sp_parquet_chunk_info *chunk = sp_parquet_reader_chunk(r, g, c);
      size_t nulls = 0;
      bool any = false;
      sp_parquet_value mn = {0}, mx = {0};
      for (size_t i = 0; i < v.nrows; i++, row++) {
        bool valid = col->valid[row];
        assert_int_equal(v.valid[i], valid);
        if (!valid) {
          nulls++;
          continue;
        }
        switch (ci->type) {
        case SP_BOOL:
          assert_int_equal(v.bools[i], col->bools[row]);
          if (!any || col->bools[row] < mn.u.b) mn.u.b = col->bools[row];
          if (!any || col->bools[row] > mx.u.b) mx.u.b = col->bools[row];
          any = true;
          break;
        case SP_INT32:
        case SP_DATE:
          assert_int_equal(v.i32[i], col->i32[row]);
          if (!any || col->i32[row] < mn.u.i32) mn.u.i32 = col->i32[row];
          if (!any || col->i32[row] > mx.u.i32) mx.u.i32 = col->i32[row];
          any = true;
          break;
        case SP_INT64:
        case SP_TIMESTAMP:
          assert_true(v.i64[i] == col->i64[row]);
          if (!any || col->i64[row] < mn.u.i64) mn.u.i64 = col->i64[row];
          if (!any || col->i64[row] > mx.u.i64) mx.u.i64 = col->i64[row];
          any = true;
          break;
        case SP_DOUBLE:
          if (!same_double(v.f64[i], col->f64[row])) fail_msg("%s row %zu: %g != %g", ci->name, row, v.f64[i], col->f64[row]);
          if (!isnan(col->f64[row])) {
            if (!any || col->f64[row] < mn.u.f64) mn.u.f64 = col->f64[row];
            if (!any || col->f64[row] > mx.u.f64) mx.u.f64 = col->f64[row];
            any = true;
          }
          break;
        case SP_STRING: {
          uint32_t a = v.str_offsets[i], b = v.str_offsets[i + 1];
          assert_int_equal(b - a, col->strings[row].len);
          assert_memory_equal(v.str_bytes + a, col->strings[row].ptr, b - a);
          sp_parquet_value s = {.u.str = {col->strings[row].ptr, col->strings[row].len}};
          size_t n;
#define STRCMP(x, y) ((n = (x).u.str.len < (y).u.str.len ? (x).u.str.len : (y).u.str.len), \
                      memcmp((x).u.str.ptr, (y).u.str.ptr, n) ? memcmp((x).u.str.ptr, (y).u.str.ptr, n) \
                                                             : ((x).u.str.len > (y).u.str.len) - ((x).u.str.len < (y).u.str.len))
          if (!any || STRCMP(s, mn) < 0) mn = s;
          if (!any || STRCMP(s, mx) > 0) mx = s;
          any = true;
          break;
        }
        }
      }
      assert_int_equal(v.null_count, nulls);
      assert_true(chunk->has_null_count);
      assert_int_equal(chunk->null_count, (int64_t)nulls);
      assert_int_equal(chunk->has_min_max, any);
      if (!any) continue;
      switch (ci->type) {
      case SP_BOOL:
        assert_int_equal(chunk->min.u.b, mn.u.b);
        assert_int_equal(chunk->max.u.b, mx.u.b);
        break;
      case SP_INT32:
      case SP_DATE:
        assert_int_equal(chunk->min.u.i32, mn.u.i32);
        assert_int_equal(chunk->max.u.i32, mx.u.i32);
        break;
      case SP_INT64:
      case SP_TIMESTAMP:
        assert_true(chunk->min.u.i64 == mn.u.i64 && chunk->max.u.i64 == mx.u.i64);
        break;
      case SP_DOUBLE:
        assert_true(chunk->min.u.f64 == mn.u.f64 && chunk->max.u.f64 == mx.u.f64);
        /* zero bounds: min is written as -0.0, max as +0.0 */
        if (mn.u.f64 == 0) assert_true(signbit(chunk->min.u.f64));
        if (mx.u.f64 == 0) assert_false(signbit(chunk->max.u.f64));
        break;
      case SP_STRING:
        assert_int_equal(chunk->min.u.str.len, mn.u.str.len);
        assert_memory_equal(chunk->min.u.str.ptr, mn.u.str.ptr, mn.u.str.len);
        assert_int_equal(chunk->max.u.str.len, mx.u.str.len);
        assert_memory_equal(chunk->max.u.str.ptr, mx.u.str.ptr, mx.u.str.len);
        break;
      }
    }
    assert_int_equal(row, t->nrows);
  }
  sp_parquet_column_vector_free(&v);
  sp_parquet_reader_close(r);
}

static void roundtrip(size_t nrows, uint64_t seed, double density, const sp_parquet_writer_options *o) {
  testdata_table t;
  assert_int_equal(testdata_make(&t, testdata_all_types, TESTDATA_ALL_TYPES_N, nrows, seed, density, true), 0);
  size_t len;
  uint8_t *buf = write_table(&t, o, &len);
  check_file(&t, buf, len);
  free(buf);
  testdata_free(&t);
}

static void test_matrix(void **state) {
  (void)state;
  const int codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
  const double densities[] = {0.0, 0.05, 0.5, 0.97, 1.0};
  uint64_t seed = 100;
  int cases = 0;
  for (int ci = 0; ci < 4; ci++)
    for (int dict = 0; dict < 2; dict++)
      for (int di = 0; di < 5; di++) {
        sp_parquet_writer_options o;
        sp_parquet_writer_options_default(&o);
        o.codec = codecs[ci];
        o.dictionary = dict;
        /* vary the layout with the seed: row groups from 1 row to everything, tiny to big pages */
        const size_t rg[] = {1, 7, 300, 1000000};
        const size_t pg[] = {1, 100, 4096, 1 << 20};
        o.row_group_rows = rg[seed % 4];
        o.page_bytes = pg[(seed / 4) % 4];
        o.delta_timestamps = seed % 3 == 0;
        o.byte_stream_split_doubles = seed % 5 < 2;
        o.page_checksum = seed % 2;
        o.dictionary_max_bytes = seed % 7 == 0 ? 300 : o.dictionary_max_bytes;
        size_t nrows = o.row_group_rows == 1 ? 40 : 1500 + (size_t)(seed % 500);
        roundtrip(nrows, seed++, densities[di], &o);
        cases++;
      }
  assert_int_equal(cases, 40);
}

static void test_edge_sizes(void **state) {
  (void)state;
  sp_parquet_writer_options o;
  sp_parquet_writer_options_default(&o);
  roundtrip(0, 1, 0.0, &o);
  roundtrip(1, 2, 0.0, &o);
  roundtrip(1, 3, 1.0, &o);
  o.row_group_rows = 8;
  roundtrip(64, 4, 0.5, &o); /* exact multiples */
  o.row_group_bytes = 2000;   /* row groups cut by bytes */
  o.row_group_rows = 1000000;
  roundtrip(3000, 5, 0.2, &o);
}

/* The sp_row path (format registry) for every dataset. */
static void test_datasets_via_registry(void **state) {
  (void)state;
  const sp_format_vtable *fmt = sp_format_find("parquet");
  assert_non_null(fmt);
  assert_string_equal(fmt->extension, ".parquet");
  for (int d = 0; d < SP_DS_COUNT; d++) {
    const sp_dataset_def *ds = sp_dataset_get((sp_dataset_id)d);
    testdata_table t;
    assert_int_equal(testdata_make(&t, ds->columns, ds->ncolumns, 700, (uint64_t)d + 50, 0.3, false), 0);
    FILE *f = tmpfile();
    sp_format_writer *w;
    sp_error err = {0};
    sp_format_options opt = {d % 2 ? "gzip" : NULL, 0, 256};
    assert_int_equal(fmt->open(&w, fileno(f), ds, &opt, &err), 0);
    sp_row rows[7];
    for (size_t r = 0; r < t.nrows; r += 7) {
      for (int k = 0; k < 7; k++) assert_int_equal(testdata_row(&t, ds, r + (size_t)k, &rows[k]), 0);
      assert_int_equal(fmt->write_rows(w, rows, 7, &err), 0);
      for (int k = 0; k < 7; k++) sp_row_clear(&rows[k]);
    }
    /* a null in a required column is refused, naming it */
    sp_row bad;
    assert_int_equal(sp_row_init(&bad, ds), 0);
    assert_int_equal(fmt->write_rows(w, &bad, 1, &err), SP_ERR_INVALID);
    assert_non_null(strstr(err.msg, ds->columns[0].name));
    sp_row_clear(&bad);
    assert_int_equal(fmt->finish(w, &err), 0);
    fmt->destroy(w);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fileno(f));
    sp_parquet_reader *r;
    if (sp_parquet_reader_open(&r, path, NULL, &err)) fail_msg("%s", err.msg);
    assert_string_equal(sp_parquet_reader_metadata(r, "stockpipe.dataset"), ds->name);
    assert_string_equal(sp_parquet_reader_metadata(r, "stockpipe.schema_version"), "1");
    assert_int_equal(sp_parquet_reader_chunk(r, 0, 0)->codec, d % 2 ? PQ_CODEC_GZIP : sp_pq_codec_by_name(ds->default_compression));
    assert_int_equal(sp_parquet_reader_num_row_groups(r), 3);
    sp_parquet_reader_close(r);
    /* values */
    long size = ftell(f);
    uint8_t *buf = malloc((size_t)size);
    assert_int_equal(pread(fileno(f), buf, (size_t)size, 0), size);
    check_file(&t, buf, (size_t)size);
    free(buf);
    fclose(f);
    testdata_free(&t);
  }
}

static void test_pruning(void **state) {
  (void)state;
  /* two row groups with disjoint ticker / time ranges */
  static const sp_column_def cols[] = {{"ticker", SP_STRING, false}, {"t", SP_TIMESTAMP, false},
                                       {"x", SP_DOUBLE, true}};
  /* rows 0-199: AAPL/AMZN at t 100..200, x 1..2; rows 200-399: MSFT/NVDA at t 300..400, x null */
  enum { N = 400 };
  static sp_parquet_string tick[N];
  static int64_t ts[N];
  static double x[N];
  static uint8_t xv[N];
  static const sp_parquet_string names[4] = {{"AAPL", 4}, {"AMZN", 4}, {"MSFT", 4}, {"NVDA", 4}};
  for (int i = 0; i < N; i++) {
    tick[i] = names[(i >= N / 2) * 2 + i % 2];
    ts[i] = i < N / 2 ? 100 + i / 2 : 300 + (i - N / 2) / 2;
    xv[i] = i < N / 2;
    x[i] = xv[i] ? 1.0 + (i % 2) : 0;
  }
  sp_parquet_column_input in[3] = {{.strings = tick}, {.i64 = ts}, {.valid = xv, .f64 = x}};
  sp_parquet_writer_options o;
  sp_parquet_writer_options_default(&o);
  o.row_group_rows = N / 2;
  FILE *f = tmpfile();
  sp_parquet_writer *w;
  sp_error err = {0};
  assert_int_equal(sp_parquet_writer_open(&w, fileno(f), cols, 3, &o, &err), 0);
  assert_int_equal(sp_parquet_writer_write_columns(w, in, N, &err), 0);
  assert_int_equal(sp_parquet_writer_finish(w, &err), 0);
  sp_parquet_writer_free(w);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fileno(f));
  sp_parquet_reader *r;
  assert_int_equal(sp_parquet_reader_open(&r, path, NULL, &err), 0);
  assert_int_equal(sp_parquet_reader_num_row_groups(r), 2);
  sp_parquet_value msft = {.u.str = {"MSFT", 4}}, zzz = {.u.str = {"ZZZ", 3}}, amzn = {.u.str = {"AMZN", 4}};
  sp_parquet_value t250 = {.u.i64 = 250}, t300 = {.u.i64 = 300}, t100 = {.u.i64 = 100};
  sp_parquet_predicate eq = {0, SP_PQ_EQ, &msft, 1};
  assert_false(sp_parquet_row_group_may_match(r, 0, &eq, 1));
  assert_true(sp_parquet_row_group_may_match(r, 1, &eq, 1));
  sp_parquet_value in_list[2] = {zzz, amzn};
  sp_parquet_predicate inp = {0, SP_PQ_IN, in_list, 2};
  assert_true(sp_parquet_row_group_may_match(r, 0, &inp, 1));
  assert_false(sp_parquet_row_group_may_match(r, 1, &inp, 1));
  sp_parquet_predicate lt = {1, SP_PQ_LT, &t300, 1}, le = {1, SP_PQ_LE, &t300, 1}, gt = {1, SP_PQ_GT, &t250, 1},
                       ge = {1, SP_PQ_GE, &t100, 1};
  assert_true(sp_parquet_row_group_may_match(r, 0, &lt, 1));
  assert_false(sp_parquet_row_group_may_match(r, 1, &lt, 1));
  assert_true(sp_parquet_row_group_may_match(r, 1, &le, 1));
  assert_false(sp_parquet_row_group_may_match(r, 0, &gt, 1));
  assert_true(sp_parquet_row_group_may_match(r, 0, &ge, 1));
  sp_parquet_value range[2] = {{.u.i64 = 201}, {.u.i64 = 299}};
  sp_parquet_predicate between = {1, SP_PQ_BETWEEN, range, 2};
  assert_false(sp_parquet_row_group_may_match(r, 0, &between, 1));
  assert_false(sp_parquet_row_group_may_match(r, 1, &between, 1));
  /* x is all null in row group 1: any predicate on it prunes */
  sp_parquet_value one = {.u.f64 = 1.0};
  sp_parquet_predicate xeq = {2, SP_PQ_GE, &one, 1};
  assert_true(sp_parquet_row_group_may_match(r, 0, &xeq, 1));
  assert_false(sp_parquet_row_group_may_match(r, 1, &xeq, 1));
  /* ANDed: ticker = MSFT and t < 300 → nothing anywhere */
  sp_parquet_predicate both[2] = {eq, lt};
  assert_false(sp_parquet_row_group_may_match(r, 1, both, 2));
  /* dictionary pruning: "AARP" is inside [AAPL, AMZN] by statistics, absent from the dictionary */
  sp_parquet_value aarp = {.u.str = {"AARP", 4}};
  sp_parquet_predicate deq = {0, SP_PQ_EQ, &aarp, 1};
  assert_true(sp_parquet_row_group_may_match(r, 0, &deq, 1));
  bool may;
  assert_int_equal(sp_parquet_row_group_dictionary_may_match(r, 0, &deq, &may, &err), 0);
  assert_false(may);
  deq.values = &amzn;
  assert_int_equal(sp_parquet_row_group_dictionary_may_match(r, 0, &deq, &may, &err), 0);
  assert_true(may);
  sp_parquet_reader_close(r);
  fclose(f);
}

/* Every truncation and many byte flips of a small file: errors, never crashes. */
static void test_corruption(void **state) {
  (void)state;
  testdata_table t;
  assert_int_equal(testdata_make(&t, testdata_all_types, TESTDATA_ALL_TYPES_N, 60, 9, 0.3, true), 0);
  sp_parquet_writer_options o;
  sp_parquet_writer_options_default(&o);
  o.row_group_rows = 25;
  o.page_bytes = 64;
  size_t len;
  uint8_t *good = write_table(&t, &o, &len);
  uint8_t *buf = malloc(len);
  sp_parquet_column_vector v = {0};
  int errors = 0, opened = 0;
  for (size_t cut = 0; cut < len; cut++) {
    sp_parquet_reader *r;
    sp_error err = {0};
    int rc = sp_parquet_reader_open_memory(&r, good, cut, "cut.parquet", NULL, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "cut.parquet"));
    errors++;
  }
  uint64_t s = 77;
  for (int k = 0; k < 3000; k++) {
    memcpy(buf, good, len);
    size_t at = testdata_next(&s) % len;
    buf[at] ^= (uint8_t)(1u << (testdata_next(&s) % 8));
    if (k % 3 == 0) buf[(at + 1) % len] = (uint8_t)testdata_next(&s);
    sp_parquet_reader *r;
    sp_error err = {0};
    if (sp_parquet_reader_open_memory(&r, buf, len, "flip.parquet", NULL, &err) == 0) {
      opened++;
      for (int g = 0; g < sp_parquet_reader_num_row_groups(r); g++)
        for (int c = 0; c < sp_parquet_reader_num_columns(r); c++)
          if (sp_parquet_reader_read_column(r, g, c, &v, &err) < 0) errors++;
      sp_parquet_reader_close(r);
    } else {
      errors++;
    }
  }
  assert_true(errors > 1000);
  assert_true(opened > 100);
  /* with page CRCs a flipped byte in a page body is caught: the last byte before the footer */
  free(good);
  o.page_checksum = true;
  o.codec = PQ_CODEC_UNCOMPRESSED;
  good = write_table(&t, &o, &len);
  uint32_t footer_len;
  memcpy(&footer_len, good + len - 8, 4);
  good[len - 8 - footer_len - 1] ^= 0x40;
  sp_parquet_reader *r;
  sp_error err = {0};
  assert_int_equal(sp_parquet_reader_open_memory(&r, good, len, "crc.parquet", NULL, &err), 0);
  int last = TESTDATA_ALL_TYPES_N - 1, g = sp_parquet_reader_num_row_groups(r) - 1;
  assert_int_equal(sp_parquet_reader_read_column(r, g, last, &v, &err), SP_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "CRC"));
  sp_parquet_reader_close(r);
  sp_parquet_column_vector_free(&v);
  free(buf);
  free(good);
  testdata_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matrix),
      cmocka_unit_test(test_edge_sizes),
      cmocka_unit_test(test_datasets_via_registry),
      cmocka_unit_test(test_pruning),
      cmocka_unit_test(test_corruption),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
