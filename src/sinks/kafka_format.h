/*
 * kafka_format.h — the one format of stockpipe's Kafka topics (docs/SCALING.md),
 * written by the Kafka sink and by the Kafka channel's put side, read by the Kafka
 * channel's take side (a writer agent), so that a topic is a topic whoever fills it:
 *
 *   key     the SPEC §1 key as a JSON array of the key columns' values, e.g.
 *           ["AAPL","2026-11-25T14:30:00Z"] (one key always lands in one partition:
 *           producers use the Java-compatible murmur2 partitioner)
 *   value   the row as one JSON object, column name → typed value, in schema order
 *           (format/value_text.h: numbers, strings, ISO 8601 timestamps, YYYY-MM-DD
 *           dates, null)
 *   header  SP_KAFKA_DATASET_HEADER = the dataset name
 *
 * Reading a value back (sp_kafka_parse_row) is strict where it matters and lenient
 * where a newer writer may differ: every column must have its type (a string for
 * STRING/DATE/TIMESTAMP, a number for INT32/INT64/DOUBLE, true/false for BOOL) or be
 * null when nullable; a missing column is null (refused for a non-nullable one);
 * members that name no column are ignored; a value must be a flat object (what
 * sp_json_append_row writes).  Integers are read exactly from their digits (INT64
 * extremes survive), doubles must be finite.  Stateless and thread-safe.
 */
#ifndef STOCKPIPE_SINKS_KAFKA_FORMAT_H
#define STOCKPIPE_SINKS_KAFKA_FORMAT_H

#include "core/buf.h"
#include "core/row.h"
#include "stockpipe/error.h"

#include <stddef.h>

#define SP_KAFKA_DATASET_HEADER "stockpipe.dataset"

/* Append the message key of `row` and then its value to `out`; *key_len gets the
 * key's length (the value is the rest of what was appended).  0 or SP_ERR_NOMEM. */
int sp_kafka_render_message(const sp_row *row, sp_buf *out, size_t *key_len);

/* Parse a message value (`value[0..len)`, not NUL-terminated) into `row`
 * (initialised by this call; clear it with sp_row_clear, also after an error).  The
 * dataset is the one named by the message's dataset header (`header`, `header_len`;
 * NULL when the message has none); `expected` (may be NULL) is the dataset the
 * reader carries: a header naming another dataset is refused, a missing header
 * means `expected`.  Errors: SP_ERR_CORRUPT with the reason (not JSON, not an
 * object, unknown or unexpected dataset, a column of the wrong type or missing),
 * SP_ERR_NOMEM. */
int sp_kafka_parse_row(const char *value, size_t len, const char *header, size_t header_len,
                       const sp_dataset_def *expected, sp_row *row, sp_error *err);

#endif
