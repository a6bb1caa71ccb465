/*
 * csv.c — the CSV format (RFC 4180 quoting, a header row, values as SPEC §7 says;
 * see value_text.h for the exact text of each type).
 */
#include "format/text_writer.h"
#include "format/value_text.h"

static int csv_line(sp_buf *out, const sp_row *row) { return sp_csv_append_row(out, row, NULL, 0); }

static int csv_open(sp_format_writer **out, int fd, const sp_dataset_def *ds, const sp_format_options *options,
                    sp_error *err) {
  (void)options; /* CSV has no compression or row groups */
  return sp_text_writer_open(out, fd, ds, true, csv_line, err);
}

const sp_format_vtable sp_format_csv = {"csv", ".csv", csv_open, sp_text_writer_write_rows,
                                        sp_text_writer_finish, sp_text_writer_destroy};
