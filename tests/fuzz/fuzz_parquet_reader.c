/*
 * fuzz_parquet_reader.c — libFuzzer target for the Parquet reader: any bytes are opened as
 * a file; when the footer validates, every column of every row group is decoded (plain and
 * coded) and the pruning helpers run on every column.  The reader must answer with SP_OK or
 * an error, never crash, leak, read out of bounds or allocate without bound (ASan/UBSan watch).
 *
 * Built and run by tests/fuzz/run_parquet_fuzz.sh (clang -fsanitize=fuzzer,address,
 * undefined); the integration test tests/integration/test_parquet_fuzz.sh runs it
 * briefly, STOCKPIPE_FUZZ_SECONDS=N runs it longer.
 */
#include "format/parquet/parquet_reader.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sp_parquet_reader_options opt;
  sp_parquet_reader_options_default(&opt);
  opt.max_rows_per_group = 1 << 16; /* keep single inputs fast; the limit itself is tested */
  opt.max_column_bytes = 1 << 24;
  sp_parquet_reader *r;
  sp_error err;
  if (sp_parquet_reader_open_memory(&r, data, size, "fuzz.parquet", &opt, &err) != SP_OK) return 0;
  int ncols = sp_parquet_reader_num_columns(r), nrg = sp_parquet_reader_num_row_groups(r);
  /* bound the work of one input: a footer may point many row groups at the same bytes */
  if ((int64_t)ncols * nrg <= 4096 && sp_parquet_reader_num_rows(r) * ncols <= (1 << 20)) {
    sp_parquet_column_vector v = {0};
    for (int g = 0; g < nrg; g++)
      for (int c = 0; c < ncols; c++) {
        const sp_parquet_chunk_info *ci = sp_parquet_reader_chunk(r, g, c);
        sp_parquet_value vals[2] = {ci->min, ci->max};
        sp_parquet_predicate p = {c, SP_PQ_BETWEEN, vals, 2};
        (void)sp_parquet_row_group_may_match(r, g, &p, 1);
        p.op = SP_PQ_IN;
        bool may;
        if (sp_parquet_reader_column(r, c)->type == SP_STRING && ci->has_min_max)
          (void)sp_parquet_row_group_dictionary_may_match(r, g, &p, &may, &err);
        if (sp_parquet_reader_read_column(r, g, c, &v, &err) == SP_OK && v.nrows && v.valid[v.nrows - 1] > 1)
          __builtin_trap(); /* validity is 0/1 */
        if (sp_parquet_reader_read_column_coded(r, g, c, &v, &err) == SP_OK && v.coded)
          for (size_t i = 0; i < v.nrows; i++)
            if (v.valid[i] && v.codes[i] >= v.nentries) __builtin_trap(); /* a code names an entry */
      }
    sp_parquet_column_vector_free(&v);
  }
  sp_parquet_reader_close(r);
  return 0;
}
