/*
 * kafka_format.c — rendering and parsing stockpipe's Kafka messages (see
 * kafka_format.h).  Both directions reuse format/value_text.h (the JSON writer and
 * the flat-object reader); numbers are read from their text, so INT64 values keep
 * every digit.
 */
#include "sinks/kafka_format.h"

#include "core/timeutil.h"
#include "format/value_text.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sp_kafka_render_message(const sp_row *row, sp_buf *out, size_t *key_len) {
  size_t start = out->len;
  int rc = sp_buf_append_byte(out, '[');
  for (int k = 0; k < row->ds->nkey && !rc; k++) {
    int c = row->ds->key_columns[k];
    if (k) rc = sp_buf_append_byte(out, ',');
    if (!rc) rc = sp_value_append_json(out, row->ds->columns[c].type, &row->values[c]);
  }
  if (!rc) rc = sp_buf_append_byte(out, ']');
  *key_len = out->len - start;
  if (!rc) rc = sp_json_append_row(out, row, NULL, 0);
  return rc ? SP_ERR_NOMEM : SP_OK;
}

/* The row being parsed, and the column the next member most likely names (writers
 * put them in schema order, so the lookup is usually one comparison). */
typedef struct row_parse {
  sp_row *row;
  int next_column;
} row_parse;

/* One member of a message value into the row (see sp_kafka_parse_row). */
static int set_member(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len,
                      bool is_string, sp_error *err) {
  (void)key_len;
  row_parse *rp = ctx;
  sp_row *row = rp->row;
  int c = rp->next_column;
  if (c >= row->ds->ncolumns || strcmp(row->ds->columns[c].name, key) != 0) c = sp_dataset_column_index(row->ds, key);
  if (c < 0) return SP_OK; /* a column this version does not know */
  rp->next_column = c + 1;
  const sp_column_def *col = &row->ds->columns[c];
  char text[64];
  bool fits = !is_string && value_len < sizeof text;
  if (fits) {
    memcpy(text, value, value_len);
    text[value_len] = '\0';
  }
  char *end = NULL;
  int rc = -1;
  if (fits && strcmp(text, "null") == 0) {
    rc = sp_row_set_null(row, c); /* a required column is checked at the end */
  } else {
    errno = 0;
    switch (col->type) {
    case SP_STRING:
      if (is_string) rc = sp_row_set_string(row, c, value, value_len);
      break;
    case SP_DATE: {
      int32_t days;
      if (is_string && sp_parse_date(value, &days) == SP_OK) rc = sp_row_set_i32(row, c, days);
      break;
    }
    case SP_TIMESTAMP: {
      int64_t us;
      if (is_string && sp_parse_timestamp(value, &us) == SP_OK) rc = sp_row_set_i64(row, c, us);
      break;
    }
    case SP_BOOL:
      if (fits && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)) rc = sp_row_set_bool(row, c, text[0] == 't');
      break;
    case SP_INT32:
    case SP_INT64: {
      long long v = fits ? strtoll(text, &end, 10) : 0;
      bool ok = fits && end != text && !*end && !errno;
      if (ok && col->type == SP_INT32 && v >= INT32_MIN && v <= INT32_MAX) rc = sp_row_set_i32(row, c, (int32_t)v);
      if (ok && col->type == SP_INT64) rc = sp_row_set_i64(row, c, v);
      break;
    }
    case SP_DOUBLE: {
      double v = fits ? strtod(text, &end) : 0;
      if (fits && end != text && !*end && isfinite(v) && text[0] != 'n' && text[0] != 'i' && text[0] != 'I' &&
          text[0] != 'N')
        rc = sp_row_set_double(row, c, v);
      break;
    }
    }
  }
  if (rc == SP_ERR_NOMEM) return sp_error_set(err, rc, "out of memory");
  if (rc) return sp_error_set(err, SP_ERR_CORRUPT, "column %s is not %s: %s%.*s%s", col->name,
                              sp_type_name(col->type), is_string ? "\"" : "", (int)(value_len > 40 ? 40 : value_len),
                              value, is_string ? "\"" : "");
  return SP_OK;
}

int sp_kafka_parse_row(const char *value, size_t len, const char *header, size_t header_len,
                       const sp_dataset_def *expected, sp_row *row, sp_error *err) {
  memset(row, 0, sizeof *row);
  const sp_dataset_def *ds = expected;
  if (header) {
    char name[64];
    if (header_len >= sizeof name) header_len = sizeof name - 1;
    memcpy(name, header, header_len);
    name[header_len] = '\0';
    ds = sp_dataset_by_name(name);
    if (!ds) return sp_error_set(err, SP_ERR_CORRUPT, "header %s names no dataset: \"%s\"", SP_KAFKA_DATASET_HEADER,
                                 name);
    if (expected && ds != expected)
      return sp_error_set(err, SP_ERR_CORRUPT, "a %s row where %s rows are expected", ds->name, expected->name);
  }
  if (!ds) return sp_error_set(err, SP_ERR_CORRUPT, "no %s header and no dataset configured", SP_KAFKA_DATASET_HEADER);
  if (sp_row_init(row, ds)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_json_scratch scratch = {SP_BUF_INIT, SP_BUF_INIT};
  row_parse rp = {row, 0};
  int rc = sp_json_parse_flat_object(value ? value : "", value ? len : 0, &scratch, set_member, &rp, err);
  sp_buf_free(&scratch.key);
  sp_buf_free(&scratch.value);
  for (int c = 0; c < ds->ncolumns && !rc; c++)
    if (!ds->columns[c].nullable && row->values[c].is_null)
      rc = sp_error_set(err, SP_ERR_CORRUPT, "column %s is missing or null but required", ds->columns[c].name);
  return rc;
}
