/*
 * value_text.h — the one place that turns typed values into text (SPEC §7 "Query
 * output"), shared by the CSV and JSON Lines writers, the query engine's output,
 * and quarantine files.
 *
 * Rules:
 *   TIMESTAMP  ISO 8601 UTC, "2026-11-25T14:30:00Z", fraction only when non-zero
 *   DATE       "YYYY-MM-DD"
 *   DOUBLE     shortest of %.15g/%.16g/%.17g that reads back to the same bits;
 *              non-finite values print "inf", "-inf" in text/CSV and null in JSON
 *   INT32/64   decimal;  BOOL  true / false
 *   STRING     as is in text; CSV quotes it (RFC 4180) when it holds a comma, a
 *              quote, CR or LF, and always quotes the empty string so it differs
 *              from NULL; JSON escapes it
 *   NULL       nothing in text/CSV (an empty field), null in JSON
 *
 * Every function appends to an sp_buf and returns 0 or SP_ERR_NOMEM.  Stateless and
 * thread-safe.
 */
#ifndef STOCKPIPE_FORMAT_VALUE_TEXT_H
#define STOCKPIPE_FORMAT_VALUE_TEXT_H

#include "core/buf.h"
#include "core/row.h"

#include <stddef.h>

/* Longest text sp_format_double writes, with the NUL. */
#define SP_DOUBLE_TEXT_MAX 32

/* Shortest round-trip text of `v` into `buf` (SP_DOUBLE_TEXT_MAX bytes).  Returns the length. */
size_t sp_format_double(double v, char *buf);

/* Plain text of a value (nothing for NULL). */
int sp_value_append_text(sp_buf *out, sp_type type, const sp_value *v);
/* One CSV field (no separator). */
int sp_value_append_csv(sp_buf *out, sp_type type, const sp_value *v);
/* One JSON value. */
int sp_value_append_json(sp_buf *out, sp_type type, const sp_value *v);

/* A CSV field holding the bytes s[0..len) quoted as the rules above say. */
int sp_csv_append_string(sp_buf *out, const char *s, size_t len);
/* A JSON string literal of s[0..len) (quotes included; control characters, '"'
 * and '\' escaped; other bytes copied as they are). */
int sp_json_append_string(sp_buf *out, const char *s, size_t len);

/* Columns `cols[0..ncols)` of `ds` (cols NULL = every column in schema order). */
/* The CSV header line ("name,name,...\n"). */
int sp_csv_append_header(sp_buf *out, const sp_dataset_def *ds, const int *cols, int ncols);
/* One CSV line ending in "\n". */
int sp_csv_append_row(sp_buf *out, const sp_row *row, const int *cols, int ncols);
/* One JSON object {"col":value,...} without a line end. */
int sp_json_append_row(sp_buf *out, const sp_row *row, const int *cols, int ncols);

/* ---- reading back ---- */

/* One member of a flat JSON object: its key (unescaped) and its value, either the
 * unescaped bytes of a string (`is_string`) or the raw text of any other scalar
 * ("12.5", "true", "null"...).  Both are valid only during the call.  Returns 0 to
 * go on, or an error code (with `err` set) that stops the parse. */
typedef int (*sp_json_member_fn)(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len,
                                 bool is_string, sp_error *err);

/* Reusable buffers for sp_json_parse_flat_object (start them SP_BUF_INIT; free them
 * with sp_buf_free). */
typedef struct sp_json_scratch {
  sp_buf key, value;
} sp_json_scratch;

/* Parse text[0..len) as one JSON object of scalar values (what sp_json_append_row
 * writes; JSON Lines rows, Kafka message values), calling `fn` for each member in
 * order.  Whitespace (space, tab, CR) may surround tokens; nothing else may follow
 * the object.  Strings take every JSON escape (\uXXXX with surrogate pairs as
 * UTF-8); a raw line break inside one is an error.  Returns 0, SP_ERR_CORRUPT with
 * the reason ("expected a key", "bad JSON string"...), SP_ERR_NOMEM, or fn's error. */
int sp_json_parse_flat_object(const char *text, size_t len, sp_json_scratch *scratch, sp_json_member_fn fn,
                              void *ctx, sp_error *err);

#endif
