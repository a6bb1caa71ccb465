/*
 * test_query_engine.c — the query engine's pieces (src/query/): the --where parser and
 * value typing, predicate evaluation over column vectors (nulls never match), partition
 * dates from folder names, sink file names, discovery skipping compacted inputs, and
 * pruning: partitions by date, row groups by statistics and by dictionary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/timeutil.h"
#include "format/format.h"
#include "query/query.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const sp_dataset_def *news(void) { return sp_dataset_get(SP_DS_NEWS); }
static const sp_dataset_def *moves(void) { return sp_dataset_get(SP_DS_STOCK_MOVEMENTS); }

static void test_where_valid(void **state) {
  (void)state;
  sp_qpred p;
  sp_error err = {0};
  assert_int_equal(sp_where_parse(news(), "sentiment_score>=0.5", &p, &err), 0);
  assert_int_equal(p.op, SP_Q_GE);
  assert_int_equal(p.type, SP_DOUBLE);
  assert_true(p.values[0].u.f64 == 0.5);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(news(), "  ticker != 'BRK-B'  ", &p, &err), 0);
  assert_int_equal(p.op, SP_Q_NE);
  assert_int_equal(p.values[0].u.str.len, 5);
  assert_memory_equal(p.values[0].u.str.ptr, "BRK-B", 5);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(news(), "headline='O''Brien, said'", &p, &err), 0);
  assert_int_equal(p.values[0].u.str.len, strlen("O'Brien, said"));
  assert_memory_equal(p.values[0].u.str.ptr, "O'Brien, said", p.values[0].u.str.len);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(news(), "headline=''", &p, &err), 0);
  assert_int_equal(p.values[0].u.str.len, 0);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(news(), "headline=a b", &p, &err), 0); /* bare rest */
  assert_int_equal(p.values[0].u.str.len, 3);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(news(), "published_at<2026-11-25T14:30:00Z", &p, &err), 0);
  int64_t us;
  sp_parse_timestamp("2026-11-25T14:30:00Z", &us);
  assert_int_equal(p.op, SP_Q_LT);
  assert_true(p.values[0].u.i64 == us);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(moves(), "volume=9007199254740993", &p, &err), 0);
  assert_true(p.values[0].u.i64 == INT64_C(9007199254740993));
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(sp_dataset_get(SP_DS_MACROECONOMIC), "observation_date<=2026-01-01", &p, &err), 0);
  assert_int_equal(p.values[0].u.i32, sp_days_from_civil(2026, 1, 1));
  sp_pred_free(&p);
  const char *ops[] = {"=", "==", "!=", "<>", "<", "<=", ">", ">="};
  sp_qop want[] = {SP_Q_EQ, SP_Q_EQ, SP_Q_NE, SP_Q_NE, SP_Q_LT, SP_Q_LE, SP_Q_GT, SP_Q_GE};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    char expr[64];
    snprintf(expr, sizeof expr, "close %s 10", ops[i]);
    assert_int_equal(sp_where_parse(moves(), expr, &p, &err), 0);
    assert_int_equal(p.op, want[i]);
    sp_pred_free(&p);
  }
}

static void test_where_errors(void **state) {
  (void)state;
  sp_qpred p;
  sp_error err = {0};
  assert_int_equal(sp_where_parse(news(), "bogus>1", &p, &err), SP_ERR_NOT_FOUND);
  assert_non_null(strstr(err.msg, "bogus"));
  const char *bad[] = {"sentiment_score", "sentiment_score 0.5", ">0.5", "sentiment_score>", "sentiment_score>>1",
                       "sentiment_score>=abc", "headline='abc", "headline='a'b", "published_at<yesterday",
                       "sentiment_score>=nan", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sp_error e = {0};
    assert_int_equal(sp_where_parse(news(), bad[i], &p, &e), SP_ERR_INVALID);
    assert_non_null(strstr(e.msg, bad[i]));
  }
  assert_int_equal(sp_where_parse(moves(), "volume>1.5", &p, &err), SP_ERR_INVALID);
  assert_int_equal(sp_where_parse(moves(), "volume>99999999999999999999", &p, &err), SP_ERR_INVALID);
}

/* A vector of 6 doubles with rows 2 and 5 null. */
static void make_doubles(sp_parquet_column_vector *v) {
  static double vals[] = {1, 2, 0, 4, 5, 0};
  static uint8_t valid[] = {1, 1, 0, 1, 1, 0};
  memset(v, 0, sizeof *v);
  v->type = SP_DOUBLE;
  v->nrows = 6;
  v->f64 = vals;
  v->valid = valid;
}

static void test_filter_nulls(void **state) {
  (void)state;
  sp_parquet_column_vector v;
  make_doubles(&v);
  sp_qpred p;
  sp_error err = {0};
  uint8_t sel[6];
  assert_int_equal(sp_where_parse(moves(), "close!=2", &p, &err), 0);
  memset(sel, 1, sizeof sel);
  assert_int_equal(sp_pred_filter(&p, &v, sel), 0);
  uint8_t want_ne[] = {1, 0, 0, 1, 1, 0}; /* nulls never match, != included */
  assert_memory_equal(sel, want_ne, 6);
  sp_pred_free(&p);
  assert_int_equal(sp_where_parse(moves(), "close<=4", &p, &err), 0);
  memset(sel, 1, sizeof sel);
  sel[0] = 0; /* already filtered out stays out */
  assert_int_equal(sp_pred_filter(&p, &v, sel), 0);
  uint8_t want_le[] = {0, 1, 0, 1, 0, 0};
  assert_memory_equal(sel, want_le, 6);
  sp_pred_free(&p);
  /* Strings: IN */
  const char *values[] = {"MSFT", "AAPL"};
  assert_int_equal(sp_pred_in(moves(), "ticker", values, 2, &p, &err), 0);
  assert_int_equal(p.op, SP_Q_IN);
  char bytes[] = "AAPLMSFTNVDAAAP";
  uint32_t offs[] = {0, 4, 8, 12, 15, 15};
  uint8_t valid[] = {1, 1, 1, 1, 0};
  sp_parquet_column_vector s = {.type = SP_STRING, .nrows = 5, .valid = valid, .str_offsets = offs, .str_bytes = bytes};
  memset(sel, 1, sizeof sel);
  assert_int_equal(sp_pred_filter(&p, &s, sel), 0);
  uint8_t want_in[] = {1, 1, 0, 0, 0};
  assert_memory_equal(sel, want_in, 5);
  sp_pred_free(&p);
  assert_int_equal(sp_pred_in(moves(), "volume", values, 1, &p, &err), SP_ERR_INVALID);
  assert_int_equal(sp_pred_in(moves(), "nope", values, 1, &p, &err), SP_ERR_NOT_FOUND);
}

static void test_partition_dates(void **state) {
  (void)state;
  int32_t lo, hi, d = sp_days_from_civil(2026, 11, 25);
  const char *day_forms[] = {"/2026-11-25", "/dt=2026-11-25", "/2026/11/25/14", "/20261125", "/date=2026-11-25/hour=03"};
  for (size_t i = 0; i < sizeof day_forms / sizeof day_forms[0]; i++) {
    assert_true(sp_partition_date_range(day_forms[i], &lo, &hi));
    assert_int_equal(lo, d);
    assert_int_equal(hi, d);
  }
  assert_true(sp_partition_date_range("/2026/02", &lo, &hi));
  assert_int_equal(lo, sp_days_from_civil(2026, 2, 1));
  assert_int_equal(hi, sp_days_from_civil(2026, 2, 28));
  assert_true(sp_partition_date_range("/2026/12", &lo, &hi));
  assert_int_equal(hi, sp_days_from_civil(2026, 12, 31));
  assert_true(sp_partition_date_range("/year=2024", &lo, &hi));
  assert_int_equal(hi - lo, 365);
  assert_false(sp_partition_date_range("", &lo, &hi));
  assert_false(sp_partition_date_range("/latest", &lo, &hi));
  assert_false(sp_partition_date_range("/2026-13-01", &lo, &hi));
  assert_false(sp_partition_date_range("/2026-02-30", &lo, &hi));
}

static void test_seq_names(void **state) {
  (void)state;
  size_t plen;
  uint64_t a, b;
  const char *ext;
  assert_true(sp_parse_seq_name("sp500_trends_1-24.parquet", &plen, &a, &b, &ext));
  assert_int_equal(plen, strlen("sp500_trends_"));
  assert_int_equal(a, 1);
  assert_int_equal(b, 24);
  assert_string_equal(ext, ".parquet");
  assert_true(sp_parse_seq_name("7-7.csv", &plen, &a, &b, &ext));
  assert_int_equal(plen, 0);
  assert_false(sp_parse_seq_name("data.parquet", &plen, &a, &b, &ext));
  assert_false(sp_parse_seq_name("p_9-3.parquet", &plen, &a, &b, &ext));
  assert_false(sp_parse_seq_name("p_-3.parquet", &plen, &a, &b, &ext));
  assert_false(sp_parse_seq_name("p_1-3", &plen, &a, &b, &ext));
}

static char tmpdir[] = "/tmp/test_query_engine.XXXXXX";

static void touch(const char *rel) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

static void test_discovery_superseded(void **state) {
  (void)state;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/disc/2026-03-02", tmpdir);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  assert_int_equal(system(cmd), 0);
  touch("disc/2026-03-02/p_1-10.parquet");
  touch("disc/2026-03-02/p_11-20.parquet");
  touch("disc/2026-03-02/p_1-20.parquet");  /* the merged file */
  touch("disc/2026-03-02/p_21-30.parquet"); /* written after the compaction */
  touch("disc/2026-03-02/q_5-8.parquet");   /* another prefix: not superseded */
  touch("disc/2026-03-02/p_3-4.csv");       /* another format: not superseded */
  touch("disc/2026-03-02/.p_1-40.parquet.tmp");
  touch("disc/2026-03-02/p_31-40.parquet.tmp");
  touch("disc/2026-03-02/notes.txt");
  char root[PATH_MAX];
  snprintf(root, sizeof root, "%s/disc", tmpdir);
  const char *roots[] = {root};
  sp_file_list l;
  sp_error err = {0};
  assert_int_equal(sp_discover_files(roots, 1, &l, &err), 0);
  assert_int_equal(l.n, 4);
  const char *want[] = {"p_1-20.parquet", "p_21-30.parquet", "p_3-4.csv", "q_5-8.parquet"};
  for (size_t i = 0; i < l.n; i++) {
    assert_string_equal(strrchr(l.files[i].path, '/') + 1, want[i]);
    assert_true(l.files[i].has_date);
    assert_int_equal(l.files[i].date_lo, sp_days_from_civil(2026, 3, 2));
  }
  assert_int_equal(l.files[2].kind, SP_FILE_CSV);
  sp_file_list_free(&l);
  const char *missing[] = {"/nonexistent/root"};
  assert_int_equal(sp_discover_files(missing, 1, &l, &err), 0);
  assert_int_equal(l.n, 0);
  sp_file_list_free(&l);
}

/* A stock_movements Parquet file of 4 row groups (5 rows each): group g holds ticker
 * T<g> and bar times in hour g*10 .. g*10+4 of 2026-03-02. */
static void write_groups(const char *path) {
  const sp_dataset_def *ds = moves();
  const sp_format_vtable *fmt = sp_format_find("parquet");
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  sp_format_writer *w;
  sp_error err = {0};
  sp_format_options o = {NULL, 0, 5};
  assert_int_equal(fmt->open(&w, fd, ds, &o, &err), 0);
  sp_row rows[20];
  int64_t base = (int64_t)sp_days_from_civil(2026, 3, 2) * SP_US_PER_DAY;
  for (int i = 0; i < 20; i++) {
    char t[8];
    snprintf(t, sizeof t, "T%d", i / 5);
    sp_row_init(&rows[i], ds);
    sp_row_set_cstr(&rows[i], sp_row_col(&rows[i], "ticker"), t);
    sp_row_set_cstr(&rows[i], sp_row_col(&rows[i], "interval"), "1h");
    sp_row_set_i64(&rows[i], sp_row_col(&rows[i], "bar_time"), base + (int64_t)((i / 5) * 10 + i % 5) * 3600 * SP_US_PER_SEC);
    for (const char *const *c = (const char *const[]){"open", "high", "low", "close", NULL}; *c; c++)
      sp_row_set_double(&rows[i], sp_row_col(&rows[i], *c), 100 + i);
    sp_row_set_i64(&rows[i], sp_row_col(&rows[i], "volume"), i);
    sp_row_set_cstr(&rows[i], sp_row_col(&rows[i], "provider"), "yahoo");
    sp_row_set_i64(&rows[i], sp_row_col(&rows[i], "collected_at"), base);
  }
  assert_int_equal(fmt->write_rows(w, rows, 20, &err), 0);
  assert_int_equal(fmt->finish(w, &err), 0);
  fmt->destroy(w);
  close(fd);
  for (int i = 0; i < 20; i++) sp_row_clear(&rows[i]);
}

/* Scan `f` with one where expression (or a ticker IN list); returns rows found. */
static size_t scan_with(const sp_data_file *f, const char *where, const char *const *tickers, size_t nt,
                        sp_scan *scan) {
  const sp_dataset_def *ds = moves();
  memset(scan, 0, sizeof *scan);
  scan->ds = ds;
  scan->stop_after = -1;
  scan->used = calloc((size_t)ds->ncolumns, sizeof *scan->used);
  scan->preds = calloc(1, sizeof *scan->preds);
  sp_error err = {0};
  if (where) assert_int_equal(sp_where_parse(ds, where, &scan->preds[0], &err), 0);
  else assert_int_equal(sp_pred_in(ds, "ticker", tickers, nt, &scan->preds[0], &err), 0);
  scan->npreds = 1;
  for (int c = 0; c < ds->ncolumns; c++) scan->used[c] = true;
  sp_table t;
  assert_int_equal(sp_table_init(&t, ds, scan->used), 0);
  assert_int_equal(sp_scan_file(scan, f, &t, &err), 0);
  size_t n = t.nrows;
  sp_table_free(&t);
  return n;
}

static void test_row_group_pruning(void **state) {
  (void)state;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/groups.parquet", tmpdir);
  write_groups(path);
  sp_data_file f = {path, tmpdir, SP_FILE_PARQUET, 0, false, 0, 0};
  sp_scan scan;
  /* Statistics: groups 0 and 1 end before hour 21. */
  assert_int_equal(scan_with(&f, "bar_time>=2026-03-02T21:00:00Z", NULL, 0, &scan), 9);
  assert_int_equal(scan.groups_read, 2); /* group 2 (20..24) and group 3 (30..34) */
  assert_int_equal(scan.groups_pruned, 2);
  sp_scan_free(&scan);
  assert_int_equal(scan_with(&f, "volume>=100", NULL, 0, &scan), 0);
  assert_int_equal(scan.groups_read, 0);
  sp_scan_free(&scan);
  /* != cannot prune. */
  assert_int_equal(scan_with(&f, "ticker!='T1'", NULL, 0, &scan), 15);
  assert_int_equal(scan.groups_read, 4);
  sp_scan_free(&scan);
  /* Ticker IN: statistics or dictionary prune all but the two groups. */
  const char *t[] = {"T3", "T0"};
  assert_int_equal(scan_with(&f, NULL, t, 2, &scan), 10);
  assert_int_equal(scan.groups_read, 2);
  assert_int_equal(scan.groups_pruned, 2);
  sp_scan_free(&scan);
  /* A ticker inside every group's min/max range but in no dictionary ("T15" sorts
   * between "T1" and "T2"): statistics cannot prune group 1, the dictionary does. */
  const char *mid[] = {"T15"};
  assert_int_equal(scan_with(&f, NULL, mid, 1, &scan), 0);
  assert_int_equal(scan.groups_read, 0);
  sp_scan_free(&scan);
}

static void test_partition_pruning(void **state) {
  (void)state;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/groups.parquet", tmpdir);
  int32_t d = sp_days_from_civil(2026, 3, 2);
  sp_data_file files[2] = {{path, (char *)"/a/2026-03-01", SP_FILE_PARQUET, 0, true, d - 1, d - 1},
                           {path, (char *)"/a/2026-03-02", SP_FILE_PARQUET, 0, true, d, d}};
  sp_file_list l = {files, 2, 2};
  sp_scan scan = {0};
  const sp_dataset_def *ds = moves();
  scan.ds = ds;
  scan.stop_after = -1;
  scan.used = calloc((size_t)ds->ncolumns, sizeof *scan.used);
  scan.used[0] = true;
  scan.has_range = true;
  scan.from = scan.to = d;
  sp_table t;
  sp_error err = {0};
  assert_int_equal(sp_table_init(&t, ds, scan.used), 0);
  assert_int_equal(sp_scan_files(&scan, &l, &t, &err), 0);
  assert_int_equal(scan.files_pruned, 1); /* the 2026-03-01 folder is never opened */
  assert_int_equal(scan.files_read, 1);
  assert_int_equal(t.nrows, 20);
  sp_table_free(&t);
  sp_scan_free(&scan);
}

/* The client API over a data directory holding the 4-row-group file of write_groups. */
static void test_client_getters(void **state) {
  (void)state;
  char dir[PATH_MAX], path[PATH_MAX + 32], cmd[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/data/raw/stock_movements/2026-03-02", tmpdir);
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/sp500_trends_1-20.parquet", dir);
  write_groups(path);
  snprintf(dir, sizeof dir, "%s/data", tmpdir);
  sp_client *c;
  sp_error err = {0};
  assert_int_equal(sp_client_open(&c, "/nonexistent/data", &err), SP_ERR_NOT_FOUND);
  assert_int_equal(sp_client_open(&c, dir, &err), 0);
  sp_result *r;
  const char *tickers[] = {"T1"};
  const char *ind[] = {"RSI", "macd"};
  assert_int_equal(sp_client_get_stock_movements(c, "2026-03-02", "2026-03-02", tickers, 1, ind, 2, &r, &err), 0);
  assert_int_equal(sp_result_num_rows(r), 5);
  assert_true(sp_result_column_index(r, "rsi_14") >= 0);
  assert_true(sp_result_column_index(r, "macd_hist") >= 0);
  assert_int_equal(sp_result_column_index(r, "sma_20"), -1);
  int bt = sp_result_column_index(r, "bar_time"), close = sp_result_column_index(r, "close");
  assert_int_equal(sp_result_column_type(r, bt), SP_TIMESTAMP);
  for (size_t i = 1; i < 5; i++) assert_true(sp_result_get_i64(r, i - 1, bt) < sp_result_get_i64(r, i, bt));
  assert_true(sp_result_get_double(r, 0, close) == 105.0);
  assert_true(sp_result_is_null(r, 0, sp_result_column_index(r, "rsi_14")));
  size_t len;
  assert_memory_equal(sp_result_get_string(r, 0, 0, &len), "T1", 2);
  assert_int_equal(len, 2);
  char *text = NULL;
  size_t text_len = 0;
  FILE *mem = open_memstream(&text, &text_len);
  assert_int_equal(sp_result_print(r, mem, SP_PRINT_CSV, 0, &err), 0);
  fclose(mem);
  assert_non_null(strstr(text, "T1,1h,2026-03-02T10:00:00Z,105,105,105,105,"));
  free(text);
  snprintf(path, sizeof path, "%s/out.parquet", tmpdir);
  assert_int_equal(sp_result_write(r, path, "parquet", &err), 0);
  assert_int_equal(sp_result_write(r, path, "xml", &err), SP_ERR_INVALID);
  sp_result_free(r);
  sp_parquet_reader *pr;
  assert_int_equal(sp_parquet_reader_open(&pr, path, NULL, &err), 0);
  assert_int_equal(sp_parquet_reader_num_rows(pr), 5);
  sp_parquet_reader_close(pr);
  const char *bad[] = {"sma_99"};
  assert_int_equal(sp_client_get_stock_movements(c, NULL, NULL, NULL, 0, bad, 1, &r, &err), SP_ERR_NOT_FOUND);
  assert_int_equal(sp_client_get_financial_data(c, NULL, 0, NULL, NULL, &r, &err), 0);
  assert_int_equal(sp_result_num_rows(r), 0);
  sp_result_free(r);
  double range[2] = {0.5, 1.0};
  assert_int_equal(sp_client_get_news(c, NULL, 0, "2026-01-01", "2026-12-31", range, &r, &err), 0);
  sp_result_free(r);
  const char *types[] = {"fomc_meeting"};
  assert_int_equal(sp_client_get_policy(c, types, 1, NULL, NULL, &r, &err), 0);
  sp_result_free(r);
  assert_int_equal(sp_client_get_macroeconomic(c, NULL, 0, NULL, "2026-13-01", &r, &err), SP_ERR_INVALID);
  sp_client_query q;
  sp_client_query_init(&q, "stock_movements");
  const char *where[] = {"volume>=3"};
  q.where = where;
  q.nwhere = 1;
  q.limit = 4;
  assert_int_equal(sp_client_query_run(c, &q, &r, &err), 0);
  assert_int_equal(sp_result_num_rows(r), 4); /* T0 rows 3, 4 and T1 rows 5, 6 in key order */
  assert_int_equal(sp_result_get_i64(r, 0, sp_result_column_index(r, "volume")), 3);
  assert_int_equal(sp_result_get_i64(r, 3, sp_result_column_index(r, "volume")), 6);
  sp_result_free(r);
  q.dataset = "bogus";
  assert_int_equal(sp_client_query_run(c, &q, &r, &err), SP_ERR_NOT_FOUND);
  sp_summary s;
  assert_int_equal(sp_client_summary(c, &s, &err), 0);
  assert_int_equal(s.datasets[SP_DS_STOCK_MOVEMENTS].rows, 20);
  assert_int_equal(s.datasets[SP_DS_STOCK_MOVEMENTS].files, 1);
  assert_int_equal(s.datasets[SP_DS_STOCK_MOVEMENTS].first_date, sp_days_from_civil(2026, 3, 2));
  assert_int_equal(s.datasets[SP_DS_NEWS].files, 0);
  assert_false(s.datasets[SP_DS_NEWS].has_dates);
  sp_client_close(c);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_where_valid),          cmocka_unit_test(test_where_errors),
      cmocka_unit_test(test_filter_nulls),         cmocka_unit_test(test_partition_dates),
      cmocka_unit_test(test_seq_names),            cmocka_unit_test(test_discovery_superseded),
      cmocka_unit_test(test_row_group_pruning),    cmocka_unit_test(test_partition_pruning),
      cmocka_unit_test(test_client_getters),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
