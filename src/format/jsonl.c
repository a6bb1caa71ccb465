/*
 * jsonl.c — the JSON Lines format: one JSON object per row, keys in schema order,
 * NULL as null, timestamps and dates as ISO 8601 strings (value_text.h).
 */
#include "format/text_writer.h"
#include "format/value_text.h"

static int jsonl_line(sp_buf *out, const sp_row *row) {
  int rc = sp_json_append_row(out, row, NULL, 0);
  return rc ? rc : sp_buf_append_byte(out, '\n');
}

static int jsonl_open(sp_format_writer **out, int fd, const sp_dataset_def *ds,
                      const sp_format_options *options, sp_error *err) {
  (void)options; /* no compression or row groups */
  return sp_text_writer_open(out, fd, ds, false, jsonl_line, err);
}

const sp_format_vtable sp_format_jsonl = {"jsonl", ".jsonl", jsonl_open, sp_text_writer_write_rows,
                                          sp_text_writer_finish, sp_text_writer_destroy};
