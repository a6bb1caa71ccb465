/*
 * parquet_thrift.h — the Thrift compact protocol, as much of it as Parquet metadata
 * needs: a writer that appends to an sp_buf and a bounded reader for untrusted bytes.
 *
 * The Parquet writer (parquet_writer.c) serialises page headers and the file footer
 * with sp_thrift_writer; the reader (parquet_reader.c) parses them with
 * sp_thrift_reader.  Field ids and structures follow apache/parquet-format's
 * parquet.thrift; the encoding follows Thrift's compact protocol specification.
 *
 * Writer: calls never fail individually; an allocation failure is remembered in
 * `failed` and reported once by sp_thrift_writer_status().
 * Reader: every read checks the remaining bytes; nesting depth and list lengths are
 * bounded by the input, so corrupt input ends in SP_ERR_CORRUPT, never a crash,
 * a hang or an allocation larger than the input.
 */
#ifndef STOCKPIPE_PARQUET_THRIFT_H
#define STOCKPIPE_PARQUET_THRIFT_H

#include "core/buf.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compact protocol type codes. */
enum {
  SP_THRIFT_STOP = 0,
  SP_THRIFT_TRUE = 1,
  SP_THRIFT_FALSE = 2,
  SP_THRIFT_BYTE = 3,
  SP_THRIFT_I16 = 4,
  SP_THRIFT_I32 = 5,
  SP_THRIFT_I64 = 6,
  SP_THRIFT_DOUBLE = 7,
  SP_THRIFT_BINARY = 8,
  SP_THRIFT_LIST = 9,
  SP_THRIFT_SET = 10,
  SP_THRIFT_MAP = 11,
  SP_THRIFT_STRUCT = 12
};

#define SP_THRIFT_MAX_DEPTH 32

typedef struct sp_thrift_writer {
  sp_buf *out;
  int16_t last_id[SP_THRIFT_MAX_DEPTH]; /* last field id per open struct */
  int depth;
  bool failed;
} sp_thrift_writer;

/* Start writing one top-level struct into `out` (appended). */
void sp_thrift_writer_init(sp_thrift_writer *w, sp_buf *out);
/* SP_OK, or SP_ERR_NOMEM if any append failed. */
int sp_thrift_writer_status(const sp_thrift_writer *w);

/* Fields of the current struct (ids must increase within a struct). */
void sp_thrift_write_i32(sp_thrift_writer *w, int16_t id, int32_t v);
void sp_thrift_write_i64(sp_thrift_writer *w, int16_t id, int64_t v);
void sp_thrift_write_bool(sp_thrift_writer *w, int16_t id, bool v);
void sp_thrift_write_binary(sp_thrift_writer *w, int16_t id, const void *data, size_t len);
void sp_thrift_write_string(sp_thrift_writer *w, int16_t id, const char *s);
/* A nested struct field: begin, its fields, end. */
void sp_thrift_write_struct_begin(sp_thrift_writer *w, int16_t id);
void sp_thrift_write_struct_end(sp_thrift_writer *w);
/* An empty struct field (union members such as LogicalType.STRING). */
void sp_thrift_write_empty_struct(sp_thrift_writer *w, int16_t id);
/* A list field of `n` elements of `elem_type`, followed by the elements. */
void sp_thrift_write_list_begin(sp_thrift_writer *w, int16_t id, int elem_type, size_t n);
/* List elements. */
void sp_thrift_write_elem_i32(sp_thrift_writer *w, int32_t v);
void sp_thrift_write_elem_string(sp_thrift_writer *w, const char *s);
void sp_thrift_write_elem_struct_begin(sp_thrift_writer *w);
/* Close the top-level struct (writes its stop byte). */
void sp_thrift_writer_end(sp_thrift_writer *w);

typedef struct sp_thrift_reader {
  const uint8_t *p;
  const uint8_t *end;
  int depth;
  const char *what; /* names the structure in error messages ("file footer", "page header") */
  sp_error *err;
} sp_thrift_reader;

void sp_thrift_reader_init(sp_thrift_reader *r, const void *data, size_t len, const char *what,
                           sp_error *err);
/* Read the next field header of the struct being read; `last_id` is that struct's
 * running field id (start at 0).  Returns 1 with *id and *type set, 0 at the struct's
 * stop byte, or SP_ERR_CORRUPT.  Boolean fields carry their value in *type
 * (SP_THRIFT_TRUE / SP_THRIFT_FALSE). */
int sp_thrift_read_field(sp_thrift_reader *r, int16_t *last_id, int16_t *id, int *type);
/* Typed reads of a field's value; `type` is what read_field reported (checked). */
int sp_thrift_read_i32(sp_thrift_reader *r, int type, int32_t *v);
int sp_thrift_read_i64(sp_thrift_reader *r, int type, int64_t *v);
int sp_thrift_read_bool(sp_thrift_reader *r, int type, bool *v);
/* Binary/string: *data points into the input (not copied). */
int sp_thrift_read_binary(sp_thrift_reader *r, int type, const uint8_t **data, size_t *len);
/* List header: element type and count (count bounded by the remaining bytes). */
int sp_thrift_read_list(sp_thrift_reader *r, int type, int *elem_type, size_t *n);
/* Element reads inside a list. */
int sp_thrift_read_elem_i32(sp_thrift_reader *r, int elem_type, int32_t *v);
int sp_thrift_read_elem_binary(sp_thrift_reader *r, int elem_type, const uint8_t **data,
                               size_t *len);
/* Enter / leave a nested struct (bounded depth). */
int sp_thrift_struct_enter(sp_thrift_reader *r, int type);
void sp_thrift_struct_leave(sp_thrift_reader *r);
/* Skip a value of `type` (any type, nested, bounded depth). */
int sp_thrift_skip(sp_thrift_reader *r, int type);
/* Report a structural problem: SP_ERR_CORRUPT naming r->what and `fmt`. */
int sp_thrift_corrupt(sp_thrift_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
