/*
 * sink_test_rows.h — deterministic rows of any dataset for the database and Kafka
 * sink drivers (sink_postgres_driver, sink_kafka_driver, sink_mongo_driver) and the
 * sink benchmark.  Header-only so each driver stays one file.
 *
 * Row number i of a dataset has a key of its own (key strings carry i, key
 * timestamps and dates advance with i), leaves some nullable columns null, and
 * cycles through values that are easy to get wrong: strings with tab, newline, CR,
 * backslash, "\N", quotes, non-ASCII and the empty string; doubles near the ends of
 * the range; INT64 extremes; timestamps with and without microseconds.
 */
#ifndef STOCKPIPE_TESTS_SINK_TEST_ROWS_H
#define STOCKPIPE_TESTS_SINK_TEST_ROWS_H

#include "core/buf.h"
#include "core/channel.h"
#include "core/row.h"
#include "core/timeutil.h"
#include "stockpipe/schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const test_row_strings[] = {
    "plain",         "tab\there",      "line\nbreak\r\n", "back\\slash \\N", "quote \" and ' ",
    "unicode \xc3\xa9 \xe2\x82\xac \xe6\x97\xa5\xe6\x9c\xac", "", "comma, semicolon; {json: [1]}"};
static const double test_row_doubles[] = {0.1, 1.0 / 3, 123456.789, -42.5, 1e300, 2.5e-308, 6.02214076e23, -0.75};
#define TEST_ROW_BASE_US INT64_C(1795617000000000) /* 2026-11-25T14:30:00Z */

/* Set row number `i` of `ds` into `row` (initialised here; sp_row_clear it). */
static inline void make_test_row(sp_row *row, const sp_dataset_def *ds, long i) {
  if (sp_row_init(row, ds)) abort();
  for (int c = 0; c < ds->ncolumns; c++) {
    const sp_column_def *col = &ds->columns[c];
    bool is_key = false;
    for (int k = 0; k < ds->nkey; k++) is_key |= ds->key_columns[k] == c;
    if (col->nullable && (i + c) % 4 == 0) continue; /* stays null */
    long pick = i + c;
    int rc = 0;
    switch (col->type) {
    case SP_BOOL: rc = sp_row_set_bool(row, c, pick % 2 == 0); break;
    case SP_INT32: rc = sp_row_set_i32(row, c, (int32_t)(pick * 7919 - 1000000)); break;
    case SP_INT64: {
      int64_t v = pick % 5 == 1 ? INT64_MAX - i : pick % 5 == 2 ? INT64_MIN + i : (int64_t)pick * 1000003;
      rc = sp_row_set_i64(row, c, v);
      break;
    }
    case SP_DOUBLE:
      rc = sp_row_set_double(row, c, pick % 3 == 0 ? (double)i * 0.01 + c : test_row_doubles[pick % 8]);
      break;
    case SP_STRING: {
      char text[128];
      const char *special = test_row_strings[pick % 8];
      if (is_key) snprintf(text, sizeof text, "%s-%ld %s", col->name, i, special);
      else snprintf(text, sizeof text, "%s", special);
      rc = sp_row_set_cstr(row, c, text);
      break;
    }
    case SP_DATE: rc = sp_row_set_i32(row, c, sp_timestamp_to_days(TEST_ROW_BASE_US) + (int32_t)i); break;
    case SP_TIMESTAMP: {
      int64_t us = TEST_ROW_BASE_US + (int64_t)i * 3600 * SP_US_PER_SEC + c * SP_US_PER_SEC;
      if (i % 3 == 0) us += 123456;
      rc = sp_row_set_i64(row, c, us);
      break;
    }
    }
    if (rc) abort();
  }
}

/* Events of rows first..first+count-1 of `ds`: one buffer holding every encoding, and
 * events pointing into it with seq = row number + 1.  Free with free_test_events. */
typedef struct test_events {
  sp_buf bytes;
  sp_event *events;
  size_t n;
} test_events;

static inline void make_test_events(test_events *out, const sp_dataset_def *ds, long first, long count) {
  memset(out, 0, sizeof *out);
  size_t *offsets = malloc((size_t)(count > 0 ? count : 1) * sizeof *offsets);
  out->events = calloc((size_t)(count > 0 ? count : 1), sizeof *out->events);
  if (!offsets || !out->events) abort();
  for (long k = 0; k < count; k++) {
    sp_row row;
    make_test_row(&row, ds, first + k);
    offsets[k] = out->bytes.len;
    if (sp_row_encode(&row, &out->bytes)) abort();
    sp_row_clear(&row);
  }
  for (long k = 0; k < count; k++) {
    size_t end = k + 1 < count ? offsets[k + 1] : out->bytes.len;
    out->events[k] = (sp_event){(uint64_t)(first + k + 1), out->bytes.data + offsets[k], end - offsets[k]};
  }
  out->n = (size_t)count;
  free(offsets);
}

static inline void free_test_events(test_events *te) {
  sp_buf_free(&te->bytes);
  free(te->events);
  memset(te, 0, sizeof *te);
}

#endif
