/*
 * text_writer.c — buffered line writer shared by csv.c and jsonl.c (see text_writer.h).
 */
#include "format/text_writer.h"

#include "format/value_text.h"

#include <stdlib.h>

struct sp_format_writer {
  int fd;
  const sp_dataset_def *ds;
  sp_text_line_fn line;
  sp_buf buf;
};

static int flush(sp_format_writer *w, sp_error *err) {
  int rc = sp_write_all(w->fd, w->buf.data, w->buf.len, w->ds->name, err);
  sp_buf_reset(&w->buf);
  return rc;
}

int sp_text_writer_open(sp_format_writer **out, int fd, const sp_dataset_def *ds, bool with_header,
                        sp_text_line_fn line, sp_error *err) {
  sp_format_writer *w = calloc(1, sizeof *w);
  if (!w) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  w->fd = fd;
  w->ds = ds;
  w->line = line;
  if (with_header && sp_csv_append_header(&w->buf, ds, NULL, 0)) {
    sp_text_writer_destroy(w);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *out = w;
  return SP_OK;
}

int sp_text_writer_write_rows(sp_format_writer *w, const sp_row *rows, size_t n, sp_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (rows[i].ds != w->ds)
      return sp_error_set(err, SP_ERR_INVALID, "a %s row given to a %s writer", rows[i].ds->name,
                          w->ds->name);
    if (w->line(&w->buf, &rows[i])) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (w->buf.len >= SP_TEXT_WRITER_FLUSH) {
      int rc = flush(w, err);
      if (rc) return rc;
    }
  }
  return SP_OK;
}

int sp_text_writer_finish(sp_format_writer *w, sp_error *err) { return flush(w, err); }

void sp_text_writer_destroy(sp_format_writer *w) {
  if (!w) return;
  sp_buf_free(&w->buf);
  free(w);
}
