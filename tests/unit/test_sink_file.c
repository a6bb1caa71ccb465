/*
 * test_sink_file.c — the file sink: path templates, partitioning by the row's own
 * date (under data_dir, or at an absolute path), deterministic file names from sequence ranges, replay after a crash
 * publishing nothing twice (same and different batch boundaries), stale temporary
 * files, rolling by rows and bytes, permanent errors for corrupt events, deferred
 * commits whose folder syncs wait for a flush.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core_test_util.h"
#include "core/durable.h"
#include "sinks/sink.h"

#include <dirent.h>
#include <sys/stat.h>

typedef struct events {
  sp_event ev[64];
  sp_buf bytes[64];
  size_t n;
} events;

static void add_event(events *e, uint64_t seq, const char *ticker, const char *iso, double price) {
  make_quote_event(&e->bytes[e->n], ticker, ts_of(iso), price);
  e->ev[e->n] = (sp_event){seq, e->bytes[e->n].data, e->bytes[e->n].len};
  e->n++;
}

static void free_events(events *e) {
  for (size_t i = 0; i < e->n; i++) sp_buf_free(&e->bytes[i]);
  e->n = 0;
}

static sp_sink *open_sink(const char *dir, const char *format, size_t roll_rows, size_t roll_bytes) {
  sp_sink_file_config cfg = {.name = "test_sink", .data_dir = dir, .path = "raw/financial_data/%Y-%m-%d",
                             .file_prefix = "mag7_", .format = format, .roll_rows = roll_rows,
                             .roll_bytes = roll_bytes};
  sp_sink *s;
  sp_error err = {0};
  if (sp_sink_file_open(&cfg, &s, &err)) fail_msg("open: %s", err.msg);
  return s;
}

static int write_batch(sp_sink *s, const sp_event *ev, size_t n) {
  sp_error err = {0};
  int rc = s->ops->begin(s, &err);
  if (!rc) rc = s->ops->write(s, ev, n, &err);
  if (!rc) rc = s->ops->commit(s, &err);
  if (rc) s->ops->abort(s);
  return rc;
}

/* Sorted names of the files in dir, joined by spaces. */
static void list_dir(const char *dir, char *out, size_t cap) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      if (out[0]) strncat(out, " ", cap - strlen(out) - 1);
      strncat(out, names[i]->d_name, cap - strlen(out) - 1);
    }
    free(names[i]);
  }
  if (n >= 0) free(names);
}

/* The files in <dir>/raw/financial_data/<day> are `expected` (sorted, space-separated). */
static void assert_day_files(const char *dir, const char *day, const char *expected) {
  char path[256], names[512];
  snprintf(path, sizeof path, "%s/raw/financial_data/%s", dir, day);
  list_dir(path, names, sizeof names);
  assert_string_equal(names, expected);
}

/* A test's end: its events freed, its sink closed, its directory removed. */
static void finish(events *e, sp_sink *s, const char *dir) {
  free_events(e);
  sp_sink_close(s);
  remove_tree(dir);
}

static void test_path_template(void **state) {
  (void)state;
  char out[128];
  sp_error err = {0};
  assert_int_equal(sp_sink_expand_path("raw/x/%Y-%m-%d/h=%H%%", ts_of("2026-03-04T05:06:07Z"), out, sizeof out, &err), 0);
  assert_string_equal(out, "raw/x/2026-03-04/h=05%");
  assert_int_equal(sp_sink_expand_path("dt=%Y%m%d", ts_of("1999-12-31T23:59:59Z"), out, sizeof out, &err), 0);
  assert_string_equal(out, "dt=19991231");
  assert_int_equal(sp_sink_expand_path("raw/%Q", 0, out, sizeof out, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "%Q"));
  sp_sink_file_config cfg = {.name = "bad", .data_dir = "/tmp", .path = "x", .format = "xlsx"};
  sp_sink *s;
  assert_int_equal(sp_sink_file_open(&cfg, &s, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "xlsx"));
}

static void test_partition_by_row_date(void **state) {
  (void)state;
  char dir[128], path[256];
  make_temp_dir(dir, sizeof dir);
  sp_sink *s = open_sink(dir, "csv", 0, 0);
  events e = {0};
  add_event(&e, 100, "AAPL", "2026-11-24T21:00:00Z", 1.5);
  add_event(&e, 101, "MSFT", "2026-11-25T14:30:00Z", 2.5);
  add_event(&e, 102, "AAPL", "2026-11-24T22:00:00Z", 3.5);
  add_event(&e, 103, "NVDA", "2026-11-23T00:00:00Z", 4.5);
  assert_int_equal(write_batch(s, e.ev, e.n), 0);
  assert_day_files(dir, "2026-11-24", "mag7_100-102.csv");
  snprintf(path, sizeof path, "%s/raw/financial_data/2026-11-24/mag7_100-102.csv", dir);
  char *text = read_text_file(path);
  assert_non_null(text);
  assert_non_null(strstr(text, "\nAAPL,2026-11-24T21:00:00Z,1.5,"));
  assert_non_null(strstr(text, "\nAAPL,2026-11-24T22:00:00Z,3.5,"));
  assert_null(strstr(text, "MSFT"));
  free(text);
  assert_day_files(dir, "2026-11-25", "mag7_101-101.csv");
  assert_day_files(dir, "2026-11-23", "mag7_103-103.csv");
  finish(&e, s, dir);
}

/* SPEC §3: an absolute sink path is used as it is, not put under data_dir. */
static void test_absolute_path_outside_data_dir(void **state) {
  (void)state;
  char data_dir[128], elsewhere[128], path[400];
  make_temp_dir(data_dir, sizeof data_dir);
  make_temp_dir(elsewhere, sizeof elsewhere);
  snprintf(path, sizeof path, "%s/quotes/%%Y-%%m-%%d", elsewhere);
  sp_sink_file_config cfg = {.name = "abs", .data_dir = data_dir, .path = path, .file_prefix = "q_",
                             .format = "csv"};
  sp_sink *s;
  sp_error err = {0};
  if (sp_sink_file_open(&cfg, &s, &err)) fail_msg("open: %s", err.msg);
  events e = {0};
  add_event(&e, 7, "AAPL", "2026-11-24T21:00:00Z", 1.5);
  assert_int_equal(write_batch(s, e.ev, e.n), 0);
  char names[512];
  snprintf(path, sizeof path, "%s/quotes/2026-11-24", elsewhere);
  list_dir(path, names, sizeof names);
  assert_string_equal(names, "q_7-7.csv");
  list_dir(data_dir, names, sizeof names);
  assert_string_equal(names, ""); /* nothing under data_dir */
  finish(&e, s, data_dir);
  remove_tree(elsewhere);
}

static int count_lines_in_tree(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cat %s/raw/financial_data/*/*.jsonl 2>/dev/null | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

static void test_replay_publishes_nothing_twice(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_sink *s = open_sink(dir, "jsonl", 0, 0);
  events e = {0};
  for (int i = 0; i < 10; i++) {
    char iso[32];
    snprintf(iso, sizeof iso, "2026-11-%02dT10:00:00Z", 20 + i % 2);
    add_event(&e, 1000 + (uint64_t)i, "AAPL", iso, i);
  }
  /* first run: batch 1000..1003 published, then "crash" before the take commit */
  assert_int_equal(write_batch(s, e.ev, 4), 0);
  assert_int_equal(count_lines_in_tree(dir), 4);
  sp_sink_close(s);
  /* restart: the channel replays from 1000 with a bigger batch */
  s = open_sink(dir, "jsonl", 0, 0);
  assert_int_equal(write_batch(s, e.ev, 7), 0);
  assert_int_equal(count_lines_in_tree(dir), 7);
  /* the same batch again: nothing new */
  assert_int_equal(write_batch(s, e.ev, 7), 0);
  assert_int_equal(count_lines_in_tree(dir), 7);
  assert_int_equal(write_batch(s, e.ev + 5, 5), 0);
  assert_int_equal(count_lines_in_tree(dir), 10);
  assert_day_files(dir, "2026-11-20", "mag7_1000-1002.jsonl mag7_1004-1006.jsonl mag7_1008-1008.jsonl");
  assert_day_files(dir, "2026-11-21", "mag7_1001-1003.jsonl mag7_1005-1005.jsonl mag7_1007-1009.jsonl");
  finish(&e, s, dir);
}

/* Deferred commits publish the same files as commit; flush syncs each folder they
 * renamed into, and a folder it could not sync stays pending. */
static void test_deferred_commit_and_flush(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_sink *s = open_sink(dir, "jsonl", 0, 0);
  assert_non_null(s->ops->commit_deferred);
  events e = {0};
  for (int i = 0; i < 6; i++) {
    char iso[32];
    snprintf(iso, sizeof iso, "2026-11-%02dT10:00:00Z", 20 + i / 3);
    add_event(&e, 500 + (uint64_t)i, "MSFT", iso, i);
  }
  sp_error err = {0};
  for (size_t first = 0; first < 6; first += 2) {
    assert_int_equal(s->ops->begin(s, &err), 0);
    assert_int_equal(s->ops->write(s, e.ev + first, 2, &err), 0);
    assert_int_equal(s->ops->commit_deferred(s, &err), 0);
  }
  assert_int_equal(count_lines_in_tree(dir), 6);
  assert_day_files(dir, "2026-11-21", "mag7_503-503.jsonl mag7_504-505.jsonl");
  /* a folder that cannot be synced (gone) keeps the flush failing, and pending */
  char path[256], moved[300];
  snprintf(path, sizeof path, "%s/raw/financial_data/2026-11-21", dir);
  snprintf(moved, sizeof moved, "%s.away", path);
  assert_int_equal(rename(path, moved), 0);
  assert_int_not_equal(s->ops->flush(s, &err), 0);
  assert_non_null(strstr(err.msg, "2026-11-21"));
  assert_int_not_equal(s->ops->flush(s, &err), 0);
  assert_int_equal(rename(moved, path), 0);
  assert_int_equal(s->ops->flush(s, &err), 0);
  assert_int_equal(s->ops->flush(s, &err), 0); /* nothing pending */
  finish(&e, s, dir);
}

static void touch(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("partial", f);
  fclose(f);
}

static void test_stale_tmp_and_roll(void **state) {
  (void)state;
  char dir[128], path[256];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/raw/financial_data/2026-01-05", dir);
  sp_error err = {0};
  assert_int_equal(sp_mkdirs(path, &err), 0);
  touch(path, "mag7_1-9.csv.tmp");  /* ours, left by a crash */
  touch(path, "other_1-2.csv.tmp"); /* another sink's: kept */
  sp_sink *s = open_sink(dir, "csv", 2, 0);
  events e = {0};
  for (int i = 1; i <= 5; i++) add_event(&e, (uint64_t)i, "TSLA", "2026-01-05T15:00:00Z", i);
  assert_int_equal(write_batch(s, e.ev, e.n), 0);
  assert_day_files(dir, "2026-01-05", "mag7_1-2.csv mag7_3-4.csv mag7_5-5.csv other_1-2.csv.tmp");
  sp_sink_close(s);
  /* roll by bytes: every event is bigger than 10 bytes, so one row per file */
  remove_tree(dir);
  make_temp_dir(dir, sizeof dir);
  s = open_sink(dir, "csv", 0, 10);
  assert_int_equal(write_batch(s, e.ev, 3), 0);
  assert_day_files(dir, "2026-01-05", "mag7_1-1.csv mag7_2-2.csv mag7_3-3.csv");
  finish(&e, s, dir);
}

/* The default format is Parquet with the dataset's default compression. */
static void test_default_parquet(void **state) {
  (void)state;
  char dir[128], path[256];
  make_temp_dir(dir, sizeof dir);
  sp_sink *s = open_sink(dir, NULL, 0, 0);
  events e = {0};
  add_event(&e, 11, "GOOGL", "2026-03-02T15:00:00Z", 1);
  add_event(&e, 12, "GOOGL", "2026-03-02T16:00:00Z", 2);
  assert_int_equal(write_batch(s, e.ev, e.n), 0);
  assert_day_files(dir, "2026-03-02", "mag7_11-12.parquet");
  snprintf(path, sizeof path, "%s/raw/financial_data/2026-03-02/mag7_11-12.parquet", dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char head[4], tail[4];
  assert_int_equal(fread(head, 1, 4, f), 4);
  assert_int_equal(fseek(f, -4, SEEK_END), 0);
  assert_int_equal(fread(tail, 1, 4, f), 4);
  fclose(f);
  assert_memory_equal(head, "PAR1", 4);
  assert_memory_equal(tail, "PAR1", 4);
  finish(&e, s, dir);
}

static void test_corrupt_event_is_permanent(void **state) {
  (void)state;
  char dir[128];
  make_temp_dir(dir, sizeof dir);
  sp_sink *s = open_sink(dir, "csv", 0, 0);
  events e = {0};
  add_event(&e, 7, "META", "2026-02-02T12:00:00Z", 1);
  e.ev[0].len -= 3; /* truncated */
  sp_error err = {0};
  assert_int_equal(s->ops->begin(s, &err), 0);
  int rc = s->ops->write(s, e.ev, 1, &err);
  assert_int_equal(rc, SP_ERR_CORRUPT);
  assert_true(sp_sink_error_is_permanent(rc));
  assert_false(sp_sink_error_is_permanent(SP_ERR_IO));
  assert_non_null(strstr(err.msg, "event 7"));
  s->ops->abort(s);
  finish(&e, s, dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_template),
      cmocka_unit_test(test_partition_by_row_date),
      cmocka_unit_test(test_absolute_path_outside_data_dir),
      cmocka_unit_test(test_replay_publishes_nothing_twice),
      cmocka_unit_test(test_deferred_commit_and_flush),
      cmocka_unit_test(test_stale_tmp_and_roll),
      cmocka_unit_test(test_default_parquet),
      cmocka_unit_test(test_corrupt_event_is_permanent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
