/*
 * query.h — the query engine's internal interface (src/query/), behind the public
 * offline client (stockpipe/client.h).  One file per concern:
 *
 *   discovery.c  find a dataset's data files and the date of their partition folder,
 *                dropping inputs superseded by a compaction's merged file
 *   where.c      parse "column OP value" and type values by column (predicates)
 *   text_read.c  read CSV / JSON Lines files back into column vectors (SPEC §7 text)
 *   scan.c       prune, read and filter files into a columnar table
 *   result.c     the result set: key ordering, accessors, printing, writing
 *   client.c     sp_client, the general query and the five getters
 *   export.c, summary.c, retention.c, compact.c   the commands' engines
 */
#ifndef STOCKPIPE_QUERY_H
#define STOCKPIPE_QUERY_H

#include "core/buf.h"
#include "core/row.h"
#include "format/format.h"
#include "format/parquet/parquet_reader.h"
#include "stockpipe/client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- discovery --------------------------------------------------------------------- */

typedef enum sp_file_kind { SP_FILE_PARQUET, SP_FILE_CSV, SP_FILE_JSONL } sp_file_kind;

typedef struct sp_data_file {
  char *path;          /* owned */
  char *dir;           /* owned: the partition folder holding it */
  sp_file_kind kind;
  uint64_t bytes;
  bool has_date;       /* the folder names a date (or month / year) */
  int32_t date_lo, date_hi; /* days covered by the folder's date, inclusive */
} sp_data_file;

typedef struct sp_file_list {
  sp_data_file *files; /* sorted by folder, then path */
  size_t n, cap;
} sp_file_list;

/* List the data files under every root of `ds` (`roots[0..nroots)`; a missing root is
 * simply empty), skipping hidden names, "*.tmp" files and inputs superseded by a
 * merged file (see compact.c).  Errors: SP_ERR_IO naming a folder, SP_ERR_NOMEM. */
int sp_discover_files(const char *const *roots, size_t nroots, sp_file_list *out, sp_error *err);
/* The same for one partition folder only: like->dir, not recursing, its files given
 * like's partition date. */
int sp_discover_dir(const sp_data_file *like, sp_file_list *out, sp_error *err);
void sp_file_list_free(sp_file_list *l);

/* The date range a partition folder's relative path names: the first run of 4 digits
 * is the year, then 2-digit month and day (or one 8-digit YYYYMMDD run); a year or
 * year-month alone covers the whole year or month.  False when it names no date. */
bool sp_partition_date_range(const char *relpath, int32_t *lo, int32_t *hi);

/* A sink-written file name "<prefix><first>-<last><ext>": its prefix length and range.
 * False for other names. */
bool sp_parse_seq_name(const char *name, size_t *prefix_len, uint64_t *first, uint64_t *last, const char **ext);

/* ---- predicates ---------------------------------------------------------------------- */

typedef enum sp_qop { SP_Q_EQ, SP_Q_NE, SP_Q_LT, SP_Q_LE, SP_Q_GT, SP_Q_GE, SP_Q_IN } sp_qop;

typedef struct sp_qpred {
  int column;               /* dataset column */
  sp_type type;
  sp_qop op;
  sp_parquet_value *values; /* owned (strings point into `strings`) */
  size_t nvalues;
  char *strings;            /* owned */
} sp_qpred;

/* Parse "column OP value" for dataset `ds` into `out`.  Errors: SP_ERR_INVALID
 * (malformed expression, value not of the column's type), SP_ERR_NOT_FOUND (unknown
 * column), SP_ERR_NOMEM — messages quote the expression. */
int sp_where_parse(const sp_dataset_def *ds, const char *expr, sp_qpred *out, sp_error *err);
/* Build `column IN (values)` (one value: EQ) with values typed by the column. */
int sp_pred_in(const sp_dataset_def *ds, const char *column, const char *const *values, size_t n, sp_qpred *out,
               sp_error *err);
/* Parse one value's text as `type` into *v; strings point into `text` (the caller keeps it). */
int sp_value_parse(sp_type type, const char *text, size_t len, sp_parquet_value *v);
void sp_pred_free(sp_qpred *p);

/* Keep in `sel` (one byte per row, non-zero = selected) only the rows of `vec` that
 * satisfy `p`.  Null rows never match.  A coded string vector (see
 * sp_parquet_reader_read_column_coded) is tested once per distinct entry, then by
 * code.  0 or SP_ERR_NOMEM (sel then unspecified). */
int sp_pred_filter(const sp_qpred *p, const sp_parquet_column_vector *vec, uint8_t *sel);

/* ---- the columnar table a scan fills ------------------------------------------------- */

/* A column of the table.  Strings are stored coded: row i (when valid) is entry
 * data[i] (uint32_t), entry k being bytes[entry_offsets[k] .. entry_offsets[k+1]).
 * An entry is added once per distinct entry of a coded Parquet vector (a row group's
 * dictionary value is copied once however many rows use it), and once per row from
 * other vectors; equal strings may have different codes. */
typedef struct sp_table_column {
  bool used;          /* read by this query */
  uint8_t *valid;
  void *data;         /* bool / int32_t / int64_t / double, or uint32_t codes for strings */
  size_t valid_bytes, data_bytes; /* sizes of the valid and data mappings (scan.c) */
  sp_buf bytes;       /* string entries' bytes */
  size_t *entry_offsets; /* nentries + 1 */
  size_t nentries, cap_entries;
} sp_table_column;

typedef struct sp_table {
  const sp_dataset_def *ds;
  sp_table_column *cols; /* ds->ncolumns */
  size_t nrows, cap;
} sp_table;

int sp_table_init(sp_table *t, const sp_dataset_def *ds, const bool *used);
void sp_table_free(sp_table *t);
/* Drop rows past `nrows` (a partition re-read after a concurrent compaction). */
void sp_table_truncate(sp_table *t, size_t nrows);
/* Append the selected rows (sel NULL = all) of vectors vecs[c] for every used column c
 * (a used column with vecs[c] NULL is all null).  0 or SP_ERR_NOMEM. */
int sp_table_append(sp_table *t, sp_parquet_column_vector *const *vecs, size_t nrows, const uint8_t *sel);
/* Compare rows a and b of the table by the dataset key (strings by bytes, nulls first). */
int sp_table_compare_key(const sp_table *t, size_t a, size_t b);
/* The string of row `row` (valid) of string column `col`: its bytes (not NUL-terminated,
 * owned by the table) and *len. */
static inline const char *sp_table_string(const sp_table_column *col, size_t row, size_t *len) {
  uint32_t k = ((const uint32_t *)col->data)[row];
  *len = col->entry_offsets[k + 1] - col->entry_offsets[k];
  return (const char *)col->bytes.data + col->entry_offsets[k];
}

/* ---- scan ------------------------------------------------------------------------------ */

typedef struct sp_scan {
  const sp_dataset_def *ds;
  bool *used;               /* ds->ncolumns: columns to read */
  sp_qpred *preds;          /* ANDed, the date range among them */
  size_t npreds;
  bool skip_bad_files;
  int64_t stop_after;       /* stop once this many rows are in (any_order with a limit); <0 = never */
  bool has_range;           /* date filter, for partition pruning */
  int32_t from, to;
  /* counters */
  uint64_t files_read, files_pruned, groups_read, groups_pruned;
  char **skipped;           /* messages of skipped files, owned */
  size_t nskipped;
} sp_scan;

/* Scan `files` into `t` (initialised for scan->used).  Partitions whose folder date is
 * outside [from, to] are not opened; a file that disappears (a concurrent compaction
 * renamed its merged file in and removed it) makes its partition be listed and read
 * again.  Errors: SP_ERR_CORRUPT / SP_ERR_IO naming the file (unless skip_bad_files),
 * SP_ERR_NOMEM. */
int sp_scan_files(sp_scan *scan, const sp_file_list *files, sp_table *t, sp_error *err);
/* Read one file (all of scan->used columns, filtered) into `t`. */
int sp_scan_file(sp_scan *scan, const sp_data_file *f, sp_table *t, sp_error *err);
void sp_scan_free(sp_scan *scan);

/* Read a CSV or JSON Lines file of `ds` into one column vector per used column
 * (vecs[c] for used[c]; columns absent from the file are all null).  *nrows gets the
 * row count.  Errors: SP_ERR_CORRUPT naming file:line, SP_ERR_IO, SP_ERR_NOMEM. */
int sp_text_read_file(const char *path, sp_file_kind kind, const sp_dataset_def *ds, const bool *used,
                      sp_parquet_column_vector *vecs, size_t *nrows, sp_error *err);

/* ---- quarantine ------------------------------------------------------------------------ */

/* Called once per non-empty line of a quarantine file; `day` is its folder
 * ("YYYY-MM-DD"), `line` is NUL-terminated without its newline.  A non-zero
 * return stops the walk and is returned. */
typedef int (*sp_quarantine_line_fn)(void *ctx, const char *day, const char *line, size_t len, sp_error *err);

/* Visit the lines of <data_dir>/quarantine/<ds>/YYYY-MM-DD/<file>.jsonl whose day is in
 * [*from, *to] (NULL = unbounded), days and files in name order.  No quarantine
 * folder = nothing to visit.  Errors: SP_ERR_IO naming the path, or fn's. */
int sp_quarantine_each_line(const char *data_dir, const sp_dataset_def *ds, const int32_t *from, const int32_t *to,
                            sp_quarantine_line_fn fn, void *ctx, sp_error *err);

/* ---- client internals ------------------------------------------------------------------ */

struct sp_client {
  char *data_dir;
  char **roots[SP_DS_COUNT]; /* extra roots per dataset */
  size_t nroots[SP_DS_COUNT];
};

/* The roots of `ds` (default first) as a malloc'd array of malloc'd strings. */
int sp_client_roots(const sp_client *c, const sp_dataset_def *ds, char ***roots, size_t *n, sp_error *err);
void sp_free_strings(char **v, size_t n);

/* ---- results ---------------------------------------------------------------------------- */

struct sp_result {
  sp_table table;
  int *out_cols;      /* dataset columns shown, schema order */
  int nout;
  size_t *order;      /* row i of the result is table row order[i]; NULL (any_order): row i */
  size_t nrows;
  char **skipped;
  size_t nskipped;
  sp_dataset_def proj; /* the projected dataset (format writers) */
  sp_column_def *proj_cols;
};

/* Build a result over `t` (taken over): sort by key unless any_order, cut at limit. */
int sp_result_make(sp_table *t, const int *out_cols, int nout, bool any_order, int64_t limit, sp_scan *scan,
                   sp_result **out, sp_error *err);
/* sp_result_write with a progress callback. */
int sp_result_write_progress(const sp_result *r, const char *path, const char *format, sp_progress_fn progress,
                             void *ctx, sp_error *err);
/* The same with format options (NULL = the format's defaults). */
int sp_result_write_options(const sp_result *r, const char *path, const char *format,
                            const sp_format_options *options, sp_progress_fn progress, void *ctx,
                            sp_error *err);
/* Build rows [start, start+n) as sp_row values of r->proj (strings borrowed). */
void sp_result_fill_row(const sp_result *r, size_t row, sp_value *values);

/* ---- command-line arguments (query_args.c) -------------------------------------------- */

struct sp_config;

/* An sp_client_query built from the command line's strings: comma-separated lists
 * split, the limit parsed.  Owns its buffers. */
typedef struct sp_query_args {
  sp_client_query q;
  char *tickers_buf, *columns_buf;
  const char **tickers, **columns;
} sp_query_args;

/* `tickers` / `columns` comma-separated (NULL = all), `limit` a non-negative integer
 * or NULL.  Errors: SP_ERR_INVALID (bad limit, empty list item), SP_ERR_NOMEM. */
int sp_query_args_build(sp_query_args *a, const char *dataset, const char *tickers, const char *from,
                        const char *to, const char *columns, const char *const *where, size_t nwhere,
                        const char *limit, bool skip_bad_files, sp_error *err);
void sp_query_args_free(sp_query_args *a);

/* Add, for every file sink of `cfg` bound to a dataset, the folder its path template
 * starts with (the part before the first escape) as a root of that dataset. */
int sp_client_add_config_roots(sp_client *c, const struct sp_config *cfg, sp_error *err);

#endif
