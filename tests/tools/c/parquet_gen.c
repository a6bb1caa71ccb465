/*
 * parquet_gen.c — writes a matrix of Parquet files with stockpipe's writer, each with a
 * JSON Lines file of the values it holds, for the DuckDB interop test
 * (tests/integration/test_parquet_duckdb.sh → tests/tools/parquet_duckdb_check.mjs).
 *
 * Usage: parquet_gen [--rows N] OUTDIR   (--rows caps every case's row count: small
 * seed files for the fuzzer)
 * Writes OUTDIR/NNN.parquet + OUTDIR/NNN.jsonl per case and OUTDIR/manifest.txt (one
 * case name per line).  The .jsonl starts with {"columns":[{"name","type"}...]} and
 * then one JSON array per row: integers, dates (days) and timestamps (microseconds)
 * as decimal strings, doubles as numbers with 17 significant digits (or "NaN",
 * "Infinity", "-Infinity"), booleans, strings, null.
 *
 * Cases: the all-types schema over every codec × dictionary on/off × null density
 * {0, 0.3, 1} × layout (defaults / tiny row groups and pages), the DELTA and
 * BYTE_STREAM_SPLIT options, page CRCs, a forced dictionary fallback, an empty file,
 * and the five datasets written through the format registry (sp_row path).
 */
#include "../../unit/parquet_testdata.h"

#include "format/format.h"
#include "format/parquet/parquet_format.h"

#include <fcntl.h>
#include <unistd.h>

static int write_expected(const char *path, const testdata_table *t) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("{\"columns\":[", f);
  for (int c = 0; c < t->ncolumns; c++)
    fprintf(f, "%s{\"name\":\"%s\",\"type\":\"%s\"}", c ? "," : "", t->columns[c].name, sp_type_name(t->columns[c].type));
  fputs("]}\n", f);
  for (size_t r = 0; r < t->nrows; r++) {
    fputc('[', f);
    for (int c = 0; c < t->ncolumns; c++) {
      const testdata_column *col = &t->cols[c];
      if (c) fputc(',', f);
      bool valid = col->valid[r];
      testdata_print_json(f, t->columns[c].type, valid, col->bools && valid && col->bools[r],
                          col->i32 ? col->i32[r] : 0, col->i64 ? col->i64[r] : 0, col->f64 ? col->f64[r] : 0,
                          col->strings ? col->strings[r].ptr : NULL, col->strings ? col->strings[r].len : 0);
    }
    fputs("]\n", f);
  }
  return fclose(f);
}

static int ncases;
static FILE *manifest;
static size_t max_rows = SIZE_MAX;

/* A case's end: its Parquet file closed (a failure reported), the expected rows
 * written beside it as <base>.jsonl and the case listed in the manifest.  Returns
 * the first error. */
static int finish_case(int rc, int fd, const char *base, const char *path, const sp_error *err,
                       testdata_table *t) {
  if (fd >= 0) close(fd);
  if (rc) fprintf(stderr, "parquet_gen: %s: %s\n", path, err->msg);
  char expected[600];
  snprintf(expected, sizeof expected, "%s.jsonl", base);
  if (rc == 0) rc = write_expected(expected, t);
  testdata_free(t);
  fprintf(manifest, "%s\n", base);
  return rc;
}

static int gen_columnar(const char *dir, size_t nrows, uint64_t seed, double density,
                        const sp_parquet_writer_options *o) {
  char base[512], path[600];
  snprintf(base, sizeof base, "%s/%03d", dir, ncases++);
  sp_parquet_writer_options opt = *o;
  opt.dataset = "all_types";
  opt.schema_version = 1;
  o = &opt;
  testdata_table t;
  if (nrows > max_rows) nrows = max_rows;
  if (testdata_make(&t, testdata_all_types, TESTDATA_ALL_TYPES_N, nrows, seed, density, true)) return -1;
  snprintf(path, sizeof path, "%s.parquet", base);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  sp_error err = {0};
  sp_parquet_writer *w = NULL;
  int rc = fd < 0 ? -1 : sp_parquet_writer_open(&w, fd, testdata_all_types, TESTDATA_ALL_TYPES_N, o, &err);
  /* write in uneven slices to cross row-group boundaries mid-call */
  for (size_t r = 0; rc == 0 && r < nrows;) {
    size_t step = nrows - r < 777 ? nrows - r : 777;
    sp_parquet_column_input in[TESTDATA_ALL_TYPES_N];
    testdata_slice(&t, r, in);
    rc = sp_parquet_writer_write_columns(w, in, step, &err);
    r += step;
  }
  if (rc == 0) rc = sp_parquet_writer_finish(w, &err);
  sp_parquet_writer_free(w);
  return finish_case(rc, fd, base, path, &err, &t);
}

static int gen_dataset(const char *dir, const sp_dataset_def *ds, size_t nrows, uint64_t seed, const char *codec) {
  char base[512], path[600];
  snprintf(base, sizeof base, "%s/%03d", dir, ncases++);
  testdata_table t;
  if (nrows > max_rows) nrows = max_rows;
  if (testdata_make(&t, ds->columns, ds->ncolumns, nrows, seed, 0.2, false)) return -1;
  const sp_format_vtable *fmt = sp_format_find("parquet");
  if (!fmt) return -1;
  snprintf(path, sizeof path, "%s.parquet", base);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  sp_format_options opt = {codec, 0, 500};
  sp_format_writer *w = NULL;
  sp_error err = {0};
  int rc = fd < 0 ? -1 : fmt->open(&w, fd, ds, &opt, &err);
  for (size_t r = 0; rc == 0 && r < nrows; r++) {
    sp_row row;
    rc = testdata_row(&t, ds, r, &row);
    if (rc == 0) rc = fmt->write_rows(w, &row, 1, &err);
    sp_row_clear(&row);
  }
  if (rc == 0) rc = fmt->finish(w, &err);
  if (w) fmt->destroy(w);
  return finish_case(rc, fd, base, path, &err, &t);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--rows") == 0) {
    max_rows = strtoul(argv[2], NULL, 10);
    argv += 2;
    argc -= 2;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: parquet_gen [--rows N] OUTDIR\n");
    return 2;
  }
  const char *dir = argv[1];
  char path[512];
  snprintf(path, sizeof path, "%s/manifest.txt", dir);
  manifest = fopen(path, "w");
  if (!manifest) {
    perror(path);
    return 1;
  }
  const int codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
  const double densities[] = {0.0, 0.3, 1.0};
  int rc = 0;
  uint64_t seed = 1;
  for (int ci = 0; ci < 4; ci++)
    for (int dict = 0; dict < 2; dict++)
      for (int di = 0; di < 3; di++)
        for (int layout = 0; layout < 2; layout++) {
          sp_parquet_writer_options o;
          sp_parquet_writer_options_default(&o);
          o.codec = codecs[ci];
          o.dictionary = dict;
          if (layout) {
            o.row_group_rows = 500;
            o.page_bytes = 1024;
          }
          size_t nrows = layout ? 1500 + (size_t)(seed % 300) : 2000;
          rc |= gen_columnar(dir, nrows, seed++, densities[di], &o);
        }
  sp_parquet_writer_options o;
  for (int variant = 0; variant < 6; variant++) {
    sp_parquet_writer_options_default(&o);
    o.codec = variant % 2 ? PQ_CODEC_ZSTD : PQ_CODEC_SNAPPY;
    o.compression_level = variant == 5 ? 19 : 0;
    o.delta_timestamps = variant != 3;
    o.byte_stream_split_doubles = variant != 2;
    o.dictionary = variant >= 2;
    o.page_checksum = variant == 4;
    o.dictionary_max_bytes = variant == 4 ? 600 : o.dictionary_max_bytes; /* fallback mid-chunk */
    o.page_bytes = variant == 3 ? 2000 : o.page_bytes;
    rc |= gen_columnar(dir, 3000, seed++, 0.1, &o);
  }
  sp_parquet_writer_options_default(&o);
  rc |= gen_columnar(dir, 0, seed++, 0.0, &o); /* no rows at all */
  rc |= gen_columnar(dir, 1, seed++, 0.0, &o);
  for (int d = 0; d < SP_DS_COUNT; d++)
    for (int k = 0; k < 2; k++)
      rc |= gen_dataset(dir, sp_dataset_get((sp_dataset_id)d), 1200, seed++, k ? "zstd" : NULL);
  fclose(manifest);
  printf("parquet_gen: %d cases in %s\n", ncases, dir);
  return rc ? 1 : 0;
}
