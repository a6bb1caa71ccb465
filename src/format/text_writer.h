/*
 * text_writer.h — the buffered line writer behind the CSV and JSON Lines formats:
 * both turn each row into one line of text (value_text.h) and differ only in the
 * line function and the header.  Holds at most SP_TEXT_WRITER_FLUSH bytes before it
 * writes them to the descriptor.  Internal to src/format.
 */
#ifndef STOCKPIPE_FORMAT_TEXT_WRITER_H
#define STOCKPIPE_FORMAT_TEXT_WRITER_H

#include "format/format.h"

#define SP_TEXT_WRITER_FLUSH ((size_t)64 << 10)

/* Appends one row's line (with its "\n") to out. */
typedef int (*sp_text_line_fn)(sp_buf *out, const sp_row *row);

/* Open a writer on `fd` for `ds`; when `with_header` the CSV header line is written
 * first.  Returns 0 and *out, or SP_ERR_NOMEM / SP_ERR_IO. */
int sp_text_writer_open(sp_format_writer **out, int fd, const sp_dataset_def *ds, bool with_header,
                        sp_text_line_fn line, sp_error *err);
int sp_text_writer_write_rows(sp_format_writer *w, const sp_row *rows, size_t n, sp_error *err);
int sp_text_writer_finish(sp_format_writer *w, sp_error *err);
void sp_text_writer_destroy(sp_format_writer *w);

#endif
