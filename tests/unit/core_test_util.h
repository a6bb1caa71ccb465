/*
 * core_test_util.h — helpers shared by the channel, sink, state and format unit
 * tests: building financial_data rows and events, timestamps and dates from text,
 * temporary directories and a state store in one, the channel counters' invariant.
 * Header-only (static functions) so each test program stays one file; include it
 * after <cmocka.h> (the helpers assert).
 */
#ifndef STOCKPIPE_TESTS_CORE_TEST_UTIL_H
#define STOCKPIPE_TESTS_CORE_TEST_UTIL_H

#include "core/buf.h"
#include "core/channel.h"
#include "core/row.h"
#include "core/state.h"
#include "core/timeutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A financial_data row for `ticker` quoted at `quote_us` with `price`. */
static inline void make_quote_row(sp_row *row, const char *ticker, int64_t quote_us, double price) {
  const sp_dataset_def *ds = sp_dataset_get(SP_DS_FINANCIAL_DATA);
  if (sp_row_init(row, ds)) abort();
  if (sp_row_set_cstr(row, sp_row_col(row, "ticker"), ticker) ||
      sp_row_set_i64(row, sp_row_col(row, "quote_time"), quote_us) ||
      sp_row_set_double(row, sp_row_col(row, "price"), price) ||
      sp_row_set_cstr(row, sp_row_col(row, "provider"), "yahoo") ||
      sp_row_set_i64(row, sp_row_col(row, "collected_at"), quote_us + 5 * SP_US_PER_SEC))
    abort();
}

/* The event encoding of such a row into `out` (reset first). */
static inline void make_quote_event(sp_buf *out, const char *ticker, int64_t quote_us, double price) {
  sp_row row;
  make_quote_row(&row, ticker, quote_us, price);
  sp_buf_reset(out);
  if (sp_row_encode(&row, out)) abort();
  sp_row_clear(&row);
}

/* An ISO 8601 UTC timestamp ("2026-11-25T14:30:00Z") in microseconds. */
static inline int64_t ts_of(const char *iso) {
  int64_t us;
  assert_int_equal(sp_parse_timestamp(iso, &us), 0);
  return us;
}

/* A UTC date ("2026-11-25") in days since the epoch. */
static inline int32_t day_of(const char *date) {
  int32_t day;
  assert_int_equal(sp_parse_date(date, &day), 0);
  return day;
}

/* mkdtemp under $TMPDIR or /tmp; the path is written into `out` (>= 64 bytes). */
static inline void make_temp_dir(char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(out, cap, "%s/sp-test-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(out)) abort();
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static inline void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Flume's channel invariant: every event put was taken, is still held or was
 * quarantined. */
static inline void assert_channel_invariant(const sp_channel *ch) {
  sp_channel_counters c;
  sp_channel_counters_snapshot(ch, &c);
  assert_int_equal(c.EventPutSuccessCount, c.EventTakeSuccessCount + c.ChannelSize + c.ChannelQuarantinedCount);
}

/* A state store in a fresh temporary directory. */
typedef struct temp_store {
  char dir[256];
  sp_state *st;
} temp_store;

/* Open it; returns s->st. */
static inline sp_state *temp_store_open(temp_store *s) {
  sp_error err;
  make_temp_dir(s->dir, sizeof s->dir);
  assert_int_equal(sp_state_open(s->dir, &s->st, &err), 0);
  return s->st;
}

/* Close the store and remove its directory. */
static inline void temp_store_close(temp_store *s) {
  sp_state_close(s->st);
  remove_tree(s->dir);
}

/* Whole file into a NUL-terminated malloc'd string (NULL when missing). */
static inline char *read_text_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  sp_buf b = SP_BUF_INIT;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (sp_buf_append(&b, chunk, n)) abort();
  fclose(f);
  if (sp_buf_append(&b, "", 0)) abort();
  return (char *)sp_buf_detach(&b, NULL);
}

#endif
