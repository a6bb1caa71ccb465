/*
 * test_query_coded.c — coded strings in the query engine (src/query/, the Parquet
 * reader's sp_parquet_reader_read_column_coded): a hand-assembled stock_movements
 * file whose ticker chunks mix a dictionary page, RLE_DICTIONARY data pages and PLAIN
 * data pages (what a writer does when its dictionary grows too big), with nulls, an
 * unused dictionary entry, a chunk where every row matches and chunks without any
 * dictionary.  Each chunk is read coded and plain; sp_pred_filter (once per entry,
 * then by code) and whole client queries (table codes, result strings) are checked
 * against a plain strcmp evaluation of the source strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/durable.h"
#include "core/timeutil.h"
#include "core_test_util.h"
#include "format/parquet/parquet_encoding.h"
#include "format/parquet/parquet_format.h"
#include "format/parquet/parquet_thrift.h"
#include "query/query.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the file: row groups of (ticker OPTIONAL string, bar_time REQUIRED timestamp) ---- */

typedef struct page_spec {
  bool dictionary; /* RLE_DICTIONARY, else PLAIN */
  size_t nrows;
} page_spec;

typedef struct group_spec {
  const char *const *dictionary; /* entries of the dictionary page (NULL: none) */
  size_t ndictionary;
  page_spec pages[3];
  size_t npages;
  const char *const *tickers; /* NULL = null */
  size_t nrows;
} group_spec;

static const char *const g0_dict[] = {"AAPL", "MSFT", "NVDA", "ZZZ"}; /* ZZZ: no row uses it */
static const char *const g0_rows[] = {"AAPL", NULL,   "MSFT", "AAPL", "NVDA", NULL, /* dictionary page */
                                      "TSLA", "AAPL", NULL,   "",     "MSFT", "AMZN"}; /* PLAIN fallback */
static const char *const g1_dict[] = {"MSFT", "AAPL"};
static const char *const g1_rows[] = {"MSFT", "AAPL", NULL, "AAPL", "MSFT"};
static const char *const g2_dict[] = {"AAPL"};
static const char *const g2_rows[] = {"AAPL", "AAPL", "AAPL", "AAPL"};
static const char *const g3_rows[] = {NULL, "B'x", "AAPL"};
static const char *const g4_rows[] = {NULL, NULL};

static const group_spec groups[] = {
    {g0_dict, 4, {{true, 6}, {false, 6}}, 2, g0_rows, 12},
    {g1_dict, 2, {{true, 3}, {true, 2}}, 2, g1_rows, 5},
    {g2_dict, 1, {{true, 4}}, 1, g2_rows, 4},
    {NULL, 0, {{false, 3}}, 1, g3_rows, 3},
    {NULL, 0, {{false, 2}}, 1, g4_rows, 2},
};
enum { NGROUPS = sizeof groups / sizeof groups[0], NROWS = 26 };

static const char *source_ticker(size_t row) {
  for (size_t g = 0; g < NGROUPS; g++) {
    if (row < groups[g].nrows) return groups[g].tickers[row];
    row -= groups[g].nrows;
  }
  fail_msg("row out of range");
  return NULL;
}

static int64_t day_start(void) { return (int64_t)sp_days_from_civil(2026, 1, 5) * SP_US_PER_DAY; }
static int64_t bar_time_of(size_t row) { return day_start() + (int64_t)row * 60000000; } /* a minute apart */

/* One page: header then body. */
static void put_page(sp_buf *f, int type, int encoding, int32_t nvalues, const sp_buf *body) {
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, f);
  sp_thrift_write_i32(&tw, 1, type);
  sp_thrift_write_i32(&tw, 2, (int32_t)body->len);
  sp_thrift_write_i32(&tw, 3, (int32_t)body->len);
  sp_thrift_write_struct_begin(&tw, type == PQ_PAGE_DICTIONARY ? 7 : 5);
  sp_thrift_write_i32(&tw, 1, nvalues);
  sp_thrift_write_i32(&tw, 2, encoding);
  if (type == PQ_PAGE_DATA) {
    sp_thrift_write_i32(&tw, 3, PQ_ENC_RLE);
    sp_thrift_write_i32(&tw, 4, PQ_ENC_RLE);
  }
  sp_thrift_write_struct_end(&tw);
  sp_thrift_writer_end(&tw);
  assert_int_equal(sp_thrift_writer_status(&tw), 0);
  sp_buf_append(f, body->data, body->len);
}

static void put_plain_string(sp_buf *b, const char *s) {
  sp_buf_append_u32le(b, (uint32_t)strlen(s));
  sp_buf_append_str(b, s);
}

/* The ticker chunk of group g (its rows from tickers[0]). */
static void put_ticker_chunk(sp_buf *f, const group_spec *g, int64_t *dict_offset, int64_t *data_offset) {
  sp_buf body = SP_BUF_INIT, plain = SP_BUF_INIT; /* plain: PLAIN values of a page */
  *dict_offset = -1;
  if (g->dictionary) {
    *dict_offset = (int64_t)f->len;
    for (size_t k = 0; k < g->ndictionary; k++) put_plain_string(&body, g->dictionary[k]);
    put_page(f, PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, (int32_t)g->ndictionary, &body);
  }
  *data_offset = (int64_t)f->len;
  size_t row = 0;
  for (size_t p = 0; p < g->npages; p++) {
    const page_spec *ps = &g->pages[p];
    uint8_t defs[16];
    uint32_t idx[16];
    size_t nvals = 0;
    sp_buf_reset(&body);
    sp_buf_reset(&plain);
    for (size_t i = 0; i < ps->nrows; i++) {
      const char *s = g->tickers[row + i];
      defs[i] = s != NULL;
      if (!s) continue;
      if (!ps->dictionary) {
        put_plain_string(&plain, s);
        continue;
      }
      size_t k = 0;
      while (strcmp(g->dictionary[k], s) != 0) k++;
      idx[nvals++] = (uint32_t)k;
    }
    sp_buf levels = SP_BUF_INIT;
    assert_int_equal(sp_pq_rle_encode_bits(&levels, defs, ps->nrows), 0);
    sp_buf_append_u32le(&body, (uint32_t)levels.len);
    sp_buf_append(&body, levels.data, levels.len);
    sp_buf_free(&levels);
    if (ps->dictionary) {
      int width = sp_pq_bit_width(g->ndictionary - 1);
      sp_buf_append_byte(&body, (uint8_t)width);
      assert_int_equal(sp_pq_rle_encode(&body, idx, nvals, width), 0);
    } else {
      sp_buf_append(&body, plain.data, plain.len);
    }
    put_page(f, PQ_PAGE_DATA, ps->dictionary ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, (int32_t)ps->nrows, &body);
    row += ps->nrows;
  }
  sp_buf_free(&body);
  sp_buf_free(&plain);
}

static void put_chunk_meta(sp_thrift_writer *tw, int type, const char *name, int encoding, int64_t nvalues,
                           int64_t dict_offset, int64_t data_offset, int64_t end) {
  int64_t start = dict_offset >= 0 ? dict_offset : data_offset;
  sp_thrift_write_elem_struct_begin(tw);
  sp_thrift_write_i64(tw, 2, start);
  sp_thrift_write_struct_begin(tw, 3);
  sp_thrift_write_i32(tw, 1, type);
  sp_thrift_write_list_begin(tw, 2, SP_THRIFT_I32, 2);
  sp_thrift_write_elem_i32(tw, encoding);
  sp_thrift_write_elem_i32(tw, PQ_ENC_RLE);
  sp_thrift_write_list_begin(tw, 3, SP_THRIFT_BINARY, 1);
  sp_thrift_write_elem_string(tw, name);
  sp_thrift_write_i32(tw, 4, PQ_CODEC_UNCOMPRESSED);
  sp_thrift_write_i64(tw, 5, nvalues);
  sp_thrift_write_i64(tw, 6, end - start);
  sp_thrift_write_i64(tw, 7, end - start);
  sp_thrift_write_i64(tw, 9, data_offset);
  if (dict_offset >= 0) sp_thrift_write_i64(tw, 11, dict_offset);
  sp_thrift_write_struct_end(tw);
  sp_thrift_write_struct_end(tw);
}

/* A schema element: a leaf (type, repetition, converted type) or, with type -1, the
 * root and its number of children in place of the converted type. */
static void put_schema_element(sp_thrift_writer *tw, int type, int repetition, const char *name, int last) {
  sp_thrift_write_elem_struct_begin(tw);
  if (type >= 0) sp_thrift_write_i32(tw, 1, type);
  if (type >= 0) sp_thrift_write_i32(tw, 3, repetition);
  sp_thrift_write_string(tw, 4, name);
  sp_thrift_write_i32(tw, type >= 0 ? 6 : 5, last);
  sp_thrift_write_struct_end(tw);
}

/* A file of row groups gs[0..ngroups), no statistics (nothing is pruned by min/max). */
static uint8_t *coded_file(const group_spec *gs, size_t ngroups, size_t *len) {
  sp_buf f = SP_BUF_INIT, body = SP_BUF_INIT;
  sp_buf_append(&f, PQ_MAGIC, 4);
  int64_t dict_at[NGROUPS], data_at[NGROUPS], times_at[NGROUPS], end_at[NGROUPS];
  assert_true(ngroups <= NGROUPS);
  size_t row = 0;
  for (size_t g = 0; g < ngroups; g++) {
    put_ticker_chunk(&f, &gs[g], &dict_at[g], &data_at[g]);
    times_at[g] = (int64_t)f.len;
    sp_buf_reset(&body);
    for (size_t i = 0; i < gs[g].nrows; i++) {
      int64_t t = bar_time_of(row + i);
      sp_buf_append(&body, &t, 8);
    }
    put_page(&f, PQ_PAGE_DATA, PQ_ENC_PLAIN, (int32_t)gs[g].nrows, &body);
    end_at[g] = (int64_t)f.len;
    row += gs[g].nrows;
  }
  size_t footer_at = f.len;
  sp_thrift_writer tw;
  sp_thrift_writer_init(&tw, &f);
  sp_thrift_write_i32(&tw, 1, 1);
  sp_thrift_write_list_begin(&tw, 2, SP_THRIFT_STRUCT, 3);
  put_schema_element(&tw, -1, -1, "schema", 2);
  put_schema_element(&tw, PQ_BYTE_ARRAY, PQ_OPTIONAL, "ticker", PQ_CT_UTF8);
  put_schema_element(&tw, PQ_INT64, PQ_REQUIRED, "bar_time", PQ_CT_TIMESTAMP_MICROS);
  sp_thrift_write_i64(&tw, 3, (int64_t)row);
  sp_thrift_write_list_begin(&tw, 4, SP_THRIFT_STRUCT, ngroups);
  for (size_t g = 0; g < ngroups; g++) {
    sp_thrift_write_elem_struct_begin(&tw);
    sp_thrift_write_list_begin(&tw, 1, SP_THRIFT_STRUCT, 2);
    put_chunk_meta(&tw, PQ_BYTE_ARRAY, "ticker", gs[g].dictionary ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN,
                   (int64_t)gs[g].nrows, dict_at[g], data_at[g], times_at[g]);
    put_chunk_meta(&tw, PQ_INT64, "bar_time", PQ_ENC_PLAIN, (int64_t)gs[g].nrows, -1, times_at[g], end_at[g]);
    sp_thrift_write_i64(&tw, 2, 100);
    sp_thrift_write_i64(&tw, 3, (int64_t)gs[g].nrows);
    sp_thrift_write_struct_end(&tw);
  }
  sp_thrift_write_string(&tw, 6, "handmade coded strings");
  sp_thrift_writer_end(&tw);
  assert_int_equal(sp_thrift_writer_status(&tw), 0);
  sp_buf_append_u32le(&f, (uint32_t)(f.len - footer_at));
  sp_buf_append(&f, PQ_MAGIC, 4);
  sp_buf_free(&body);
  return sp_buf_detach(&f, len);
}

/* ---- the reference: conditions evaluated on the source strings ---- */

/* A condition and, for the reference, when strcmp(row, value) says it holds. */
enum { BELOW = 1, EQUAL = 2, ABOVE = 4 };

typedef struct pred_case {
  const char *where; /* NULL: ticker IN (value, value2) */
  int holds_when;    /* BELOW | EQUAL | ABOVE */
  const char *value, *value2;
  size_t matches; /* rows of the file that satisfy it */
} pred_case;

static const pred_case cases[] = {
    {"ticker='AAPL'", EQUAL, "AAPL", NULL, 10},         /* dictionary and PLAIN pages; all of group 2 */
    {"ticker='ZZZ'", EQUAL, "ZZZ", NULL, 0},            /* a dictionary entry no row uses */
    {"ticker='GOOG'", EQUAL, "GOOG", NULL, 0},          /* nowhere */
    {"ticker!='AAPL'", BELOW | ABOVE, "AAPL", NULL, 9}, /* nulls never match (their code is 0 = AAPL) */
    {"ticker>=''", EQUAL | ABOVE, "", NULL, 19},        /* every non-null row */
    {"ticker<'MSFT'", BELOW, "MSFT", NULL, 13},
    {"ticker='B''x'", EQUAL, "B'x", NULL, 1}, /* the PLAIN-only chunk; its null row has this code */
    {"ticker=''", EQUAL, "", NULL, 1},        /* the empty string is a value */
    {NULL, EQUAL, "TSLA", "NVDA", 2},         /* one from a PLAIN page, one from a dictionary */
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static bool reference_holds(const pred_case *pc, const char *s) {
  if (!s) return false;
  int c = strcmp(s, pc->value);
  int side = c < 0 ? BELOW : c > 0 ? ABOVE : EQUAL;
  return (pc->holds_when & side) || (pc->value2 && strcmp(s, pc->value2) == 0);
}

static const sp_dataset_def *moves(void) { return sp_dataset_get(SP_DS_STOCK_MOVEMENTS); }

static void make_pred(const pred_case *pc, sp_qpred *p) {
  sp_error err = {0};
  const char *values[] = {pc->value, pc->value2};
  if (pc->where) assert_int_equal(sp_where_parse(moves(), pc->where, p, &err), 0);
  else assert_int_equal(sp_pred_in(moves(), "ticker", values, 2, p, &err), 0);
}

static sp_parquet_reader *open_coded(uint8_t **data) {
  size_t len;
  *data = coded_file(groups, NGROUPS, &len);
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open_memory(&r, *data, len, "coded.parquet", NULL, &err)) fail_msg("%s", err.msg);
  assert_int_equal(sp_parquet_reader_num_row_groups(r), NGROUPS);
  return r;
}

static void assert_entry(const sp_parquet_column_vector *v, uint32_t k, const char *want) {
  assert_true(k < v->nentries);
  size_t len = v->entry_offsets[k + 1] - v->entry_offsets[k];
  assert_int_equal(len, strlen(want));
  assert_memory_equal(v->str_bytes + v->entry_offsets[k], want, len);
}

/* Coded and plain reads of every chunk give the source strings. */
static void test_read_coded(void **state) {
  (void)state;
  uint8_t *data;
  sp_parquet_reader *r = open_coded(&data);
  static const size_t want_entries[NGROUPS] = {4 + 5, 2, 1, 2, 0}; /* the dictionary, then one per PLAIN value */
  sp_parquet_column_vector coded = {0}, plain = {0};
  sp_error err = {0};
  size_t row = 0;
  for (int g = 0; g < NGROUPS; g++) {
    if (sp_parquet_reader_read_column_coded(r, g, 0, &coded, &err)) fail_msg("%s", err.msg);
    assert_int_equal(sp_parquet_reader_read_column(r, g, 0, &plain, &err), 0);
    assert_true(coded.coded);
    assert_false(plain.coded);
    assert_int_equal(coded.nrows, groups[g].nrows);
    assert_int_equal(coded.nentries, want_entries[g]);
    for (size_t k = 0; k < groups[g].ndictionary; k++) assert_entry(&coded, (uint32_t)k, groups[g].dictionary[k]);
    for (size_t i = 0; i < groups[g].nrows; i++) {
      const char *s = source_ticker(row + i);
      assert_int_equal(coded.valid[i], s != NULL);
      assert_int_equal(plain.valid[i], s != NULL);
      if (!s) continue;
      assert_entry(&coded, coded.codes[i], s);
      assert_int_equal(plain.str_offsets[i + 1] - plain.str_offsets[i], strlen(s));
      assert_memory_equal(plain.str_bytes + plain.str_offsets[i], s, strlen(s));
    }
    row += groups[g].nrows;
  }
  assert_int_equal(coded.codes[0], 0); /* a dictionary row's code is its dictionary index... */
  assert_int_equal(sp_parquet_reader_read_column_coded(r, 1, 0, &coded, &err), 0);
  assert_int_equal(coded.codes[1], 1); /* ...in group 1's own dictionary (MSFT, AAPL) */
  assert_int_equal(sp_parquet_reader_read_column_coded(r, 0, 1, &coded, &err), 0);
  assert_false(coded.coded); /* other types read as with read_column */
  for (size_t i = 0; i < groups[0].nrows; i++) assert_true(coded.i64[i] == bar_time_of(i));
  sp_parquet_column_vector_free(&coded);
  sp_parquet_column_vector_free(&plain);
  sp_parquet_reader_close(r);
  free(data);
}

/* A dictionary index past the dictionary is refused, coded or not. */
static void test_index_past_dictionary(void **state) {
  (void)state;
  static const char *const dict[] = {"A", "B", "C", "D"}; /* only 3 written: D's index 3 is out */
  static const char *const rows[] = {"A", "D"};
  static const group_spec bad = {dict, 3, {{true, 2}}, 1, rows, 2};
  size_t len;
  uint8_t *data = coded_file(&bad, 1, &len);
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open_memory(&r, data, len, "bad.parquet", NULL, &err)) fail_msg("%s", err.msg);
  sp_parquet_column_vector v = {0};
  assert_int_equal(sp_parquet_reader_read_column_coded(r, 0, 0, &v, &err), SP_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "dictionary index 3 out of 3 entries"));
  assert_int_equal(sp_parquet_reader_read_column(r, 0, 0, &v, &err), SP_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "dictionary index 3 out of 3 entries"));
  sp_parquet_column_vector_free(&v);
  sp_parquet_reader_close(r);
  free(data);
}

/* sp_pred_filter on coded vectors (and on plain ones) against the reference, with all
 * rows selected and with some rows already filtered out. */
static void test_filter_coded(void **state) {
  (void)state;
  uint8_t *data;
  sp_parquet_reader *r = open_coded(&data);
  sp_parquet_column_vector coded = {0}, plain = {0};
  sp_error err = {0};
  for (size_t c = 0; c < NCASES; c++) {
    sp_qpred p;
    make_pred(&cases[c], &p);
    size_t matches = 0, row = 0;
    for (int g = 0; g < NGROUPS; g++) {
      assert_int_equal(sp_parquet_reader_read_column_coded(r, g, 0, &coded, &err), 0);
      assert_int_equal(sp_parquet_reader_read_column(r, g, 0, &plain, &err), 0);
      size_t n = groups[g].nrows;
      for (int pre = 0; pre < 2; pre++) {
        uint8_t sel_coded[16], sel_plain[16], want[16];
        for (size_t i = 0; i < n; i++) {
          sel_coded[i] = sel_plain[i] = pre ? i % 3 != 1 : 1;
          want[i] = sel_coded[i] && reference_holds(&cases[c], source_ticker(row + i));
          matches += !pre && want[i];
        }
        assert_int_equal(sp_pred_filter(&p, &coded, sel_coded), 0);
        assert_int_equal(sp_pred_filter(&p, &plain, sel_plain), 0);
        for (size_t i = 0; i < n; i++) {
          if (!sel_coded[i] != !want[i] || !sel_plain[i] != !want[i])
            fail_msg("%s, group %d row %zu (%s): coded %d, plain %d, want %d", cases[c].where ? cases[c].where : "IN",
                     g, i, source_ticker(row + i) ? source_ticker(row + i) : "NULL", sel_coded[i], sel_plain[i],
                     want[i]);
        }
      }
      row += n;
    }
    assert_int_equal(matches, cases[c].matches);
    sp_pred_free(&p);
  }
  sp_parquet_column_vector_free(&coded);
  sp_parquet_column_vector_free(&plain);
  sp_parquet_reader_close(r);
  free(data);
}

/* ---- whole queries: scan, table codes, key order, result strings ---- */

static char tmpdir[PATH_MAX];

static sp_client *client_over_file(void) {
  char dir[PATH_MAX + 64], path[PATH_MAX + 128];
  snprintf(dir, sizeof dir, "%s/raw/stock_movements/2026-01-05", tmpdir);
  sp_error err = {0};
  assert_int_equal(sp_mkdirs(dir, &err), 0);
  snprintf(path, sizeof path, "%s/sm_1-26.parquet", dir);
  size_t len;
  uint8_t *data = coded_file(groups, NGROUPS, &len);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  free(data);
  sp_client *c;
  assert_int_equal(sp_client_open(&c, tmpdir, &err), 0);
  return c;
}

/* The source row a result row came from (bar_time is unique), its ticker checked. */
static size_t check_result_row(const sp_result *r, size_t i) {
  int64_t bt = sp_result_get_i64(r, i, 1);
  assert_true(bt >= day_start() && (bt - day_start()) % 60000000 == 0);
  size_t row = (size_t)((bt - day_start()) / 60000000);
  assert_true(row < NROWS);
  const char *s = source_ticker(row);
  assert_int_equal(sp_result_is_null(r, i, 0), s == NULL);
  size_t len;
  const char *got = sp_result_get_string(r, i, 0, &len);
  if (s) {
    assert_int_equal(len, strlen(s));
    assert_memory_equal(got, s, len);
  }
  return row;
}

/* Rows in key order: null tickers first, then by bytes, then by bar_time. */
static void check_key_order(const sp_result *r) {
  for (size_t i = 1; i < sp_result_num_rows(r); i++) {
    bool na = sp_result_is_null(r, i - 1, 0), nb = sp_result_is_null(r, i, 0);
    size_t la, lb;
    const char *a = sp_result_get_string(r, i - 1, 0, &la), *b = sp_result_get_string(r, i, 0, &lb);
    int c = na || nb ? (int)nb - (int)na : memcmp(a, b, la < lb ? la : lb);
    if (!na && !nb && c == 0) c = (la > lb) - (la < lb);
    assert_true(c <= 0);
    if (c == 0) assert_true(sp_result_get_i64(r, i - 1, 1) < sp_result_get_i64(r, i, 1));
  }
}

static void test_client_coded(void **state) {
  (void)state;
  sp_client *c = client_over_file();
  static const char *columns[] = {"ticker", "bar_time"};
  sp_error err = {0};
  sp_result *r;
  for (size_t k = 0; k < NCASES; k++) {
    sp_client_query q;
    sp_client_query_init(&q, "stock_movements");
    q.columns = columns;
    q.ncolumns = 2;
    const char *in[] = {cases[k].value, cases[k].value2};
    if (cases[k].where) q.where = &cases[k].where, q.nwhere = 1;
    else q.tickers = in, q.ntickers = 2;
    if (sp_client_query_run(c, &q, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(sp_result_num_rows(r), cases[k].matches);
    bool seen[NROWS] = {0};
    for (size_t i = 0; i < sp_result_num_rows(r); i++) {
      size_t row = check_result_row(r, i);
      assert_true(reference_holds(&cases[k], source_ticker(row)));
      assert_false(seen[row]);
      seen[row] = true;
    }
    check_key_order(r);
    sp_result_free(r);
  }
  /* No filter: every row, in key order; in storage order with any_order. */
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  q.columns = columns;
  q.ncolumns = 2;
  assert_int_equal(sp_client_query_run(c, &q, &r, &err), 0);
  assert_int_equal(sp_result_num_rows(r), NROWS);
  for (size_t i = 0; i < NROWS; i++) check_result_row(r, i);
  for (size_t i = 0; i < 7; i++) assert_true(sp_result_is_null(r, i, 0)); /* 7 null tickers first */
  check_key_order(r);
  sp_result_free(r);
  q.any_order = true;
  assert_int_equal(sp_client_query_run(c, &q, &r, &err), 0);
  assert_int_equal(sp_result_num_rows(r), NROWS);
  for (size_t i = 0; i < NROWS; i++) assert_int_equal(check_result_row(r, i), i);
  sp_result_free(r);
  sp_client_close(c);
}

static int setup(void **state) {
  (void)state;
  make_temp_dir(tmpdir, sizeof tmpdir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  remove_tree(tmpdir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_coded),
      cmocka_unit_test(test_index_past_dictionary),
      cmocka_unit_test(test_filter_coded),
      cmocka_unit_test(test_client_coded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
