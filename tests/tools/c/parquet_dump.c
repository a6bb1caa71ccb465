/*
 * parquet_dump.c — prints Parquet files through stockpipe's reader as JSON Lines, for the
 * interop test in which DuckDB writes files and our reader must return DuckDB's values
 * (tests/tools/parquet_duckdb_read_check.mjs).
 *
 * Usage: parquet_dump FILE...   writes FILE.jsonl next to each FILE: a header
 * {"columns":[{"name","type"}...]} and one JSON array per row in the format of
 * testdata_print_json (tests/unit/parquet_testdata.h).  Exit 1 (message on stderr) when
 * a file cannot be read.
 */
#include "../../unit/parquet_testdata.h"

#include "format/parquet/parquet_reader.h"

static int dump(const char *path) {
  sp_parquet_reader *r;
  sp_error err = {0};
  if (sp_parquet_reader_open(&r, path, NULL, &err)) {
    fprintf(stderr, "parquet_dump: %s\n", err.msg);
    return 1;
  }
  char out[4096];
  snprintf(out, sizeof out, "%s.jsonl", path);
  FILE *f = fopen(out, "w");
  if (!f) {
    perror(out);
    sp_parquet_reader_close(r);
    return 1;
  }
  int ncols = sp_parquet_reader_num_columns(r);
  fputs("{\"columns\":[", f);
  for (int c = 0; c < ncols; c++) {
    const sp_parquet_column_info *ci = sp_parquet_reader_column(r, c);
    fprintf(f, "%s{\"name\":\"%s\",\"type\":\"%s\"}", c ? "," : "", ci->name, sp_type_name(ci->type));
  }
  fputs("]}\n", f);
  sp_parquet_column_vector *v = calloc((size_t)ncols + 1, sizeof *v);
  int rc = v ? 0 : 1;
  for (int g = 0; rc == 0 && g < sp_parquet_reader_num_row_groups(r); g++) {
    for (int c = 0; rc == 0 && c < ncols; c++)
      if (sp_parquet_reader_read_column(r, g, c, &v[c], &err)) {
        fprintf(stderr, "parquet_dump: %s\n", err.msg);
        rc = 1;
      }
    size_t nrows = rc == 0 ? (size_t)sp_parquet_reader_row_group_rows(r, g) : 0;
    for (size_t i = 0; i < nrows; i++) {
      fputc('[', f);
      for (int c = 0; c < ncols; c++) {
        const sp_parquet_column_vector *x = &v[c];
        if (c) fputc(',', f);
        testdata_print_json(f, x->type, x->valid[i], x->bools && x->bools[i], x->i32 ? x->i32[i] : 0,
                            x->i64 ? x->i64[i] : 0, x->f64 ? x->f64[i] : 0,
                            x->str_offsets ? x->str_bytes + x->str_offsets[i] : NULL,
                            x->str_offsets ? x->str_offsets[i + 1] - x->str_offsets[i] : 0);
      }
      fputs("]\n", f);
    }
  }
  for (int c = 0; v && c < ncols; c++) sp_parquet_column_vector_free(&v[c]);
  free(v);
  sp_parquet_reader_close(r);
  if (fclose(f) != 0) rc = 1;
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: parquet_dump FILE...\n");
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; i++) rc |= dump(argv[i]);
  return rc;
}
