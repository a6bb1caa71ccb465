/*
 * stockpipe/client.h — the offline client (SPEC §5): read the datasets a pipeline
 * stored under a data directory, without a server.
 *
 * What it mirrors (the user's Python API, seed/README.md): open a data directory;
 * get financial data (tickers, dates), stock movements (dates, tickers, indicators),
 * news (tickers, dates, sentiment range), macroeconomic data (indicator names,
 * dates), policy data (event types, dates); a general query (projection, typed
 * `column OP value` predicates, limit); export to CSV/Parquet/JSON Lines; a summary.
 *
 * Semantics shared by every query:
 *  - Date filters are inclusive UTC dates ("YYYY-MM-DD") on the row's own date
 *    (the dataset's date column: quote_time, bar_time, published_at,
 *    observation_date, event_time).
 *  - Rows come in the dataset's key order (SPEC §7); with a limit, the first N rows
 *    in key order.  Columns come in schema order (a projection keeps schema order).
 *  - Pruning: whole partitions by the date in their folder name (any sink path
 *    template with %Y/%m/%d, e.g. "2026-11-25/" or "dt=2026-11-25/"), whole row
 *    groups by Parquet statistics and, for ticker filters, by dictionary pages.
 *    Parquet, CSV and JSON Lines files are all read.
 *  - Nulls never satisfy a predicate (SQL semantics), `!=` included.
 *  - A file that cannot be read (corrupt, truncated, unreadable) fails the query with
 *    SP_ERR_CORRUPT / SP_ERR_IO naming it, unless skip_bad_files is set: then it is
 *    skipped and listed in the result (sp_result_num_skipped / sp_result_skipped) for
 *    the caller to report.
 *  - A compaction running at the same time is never seen half-done (see
 *    docs/QUERY.md, "Compaction protocol").
 *
 * Errors: every fallible function returns 0 or a negative SP_ERR_* code
 * (stockpipe/error.h) and fills `err` (may be NULL) with a message naming the
 * dataset, column, predicate or file at fault.
 * Threading: one sp_client may be used by one thread at a time; results are
 * independent objects (read-only accessors are safe from several threads).
 */
#ifndef STOCKPIPE_CLIENT_H
#define STOCKPIPE_CLIENT_H

#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_client sp_client; /* opaque */
typedef struct sp_result sp_result; /* opaque: a typed, columnar result set */

/* ---- the client ---------------------------------------------------------------- */

/* Open the data directory `data_dir` (it must exist and be a directory; nothing is
 * read yet).  Errors: SP_ERR_NOT_FOUND (no such directory), SP_ERR_INVALID (not a
 * directory), SP_ERR_NOMEM.  Free with sp_client_close. */
int sp_client_open(sp_client **out, const char *data_dir, sp_error *err);

/* Also look for `dataset`'s files under `dir` (an absolute path or one relative to the
 * current directory), besides the default <data_dir>/<tier>/<dataset>: for sinks
 * configured with another path template.  Errors: SP_ERR_NOT_FOUND (unknown dataset),
 * SP_ERR_NOMEM.  The string is copied. */
int sp_client_add_root(sp_client *c, const char *dataset, const char *dir, sp_error *err);

/* Release the client (NULL is ignored).  Results it returned stay valid. */
void sp_client_close(sp_client *c);

/* The data directory given to sp_client_open (owned by the client). */
const char *sp_client_data_dir(const sp_client *c);

/* ---- the general query ----------------------------------------------------------- */

/* A query.  Zero-initialise (or sp_client_query_init) and set what you need; every
 * pointer is borrowed for the duration of the call only. */
typedef struct sp_client_query {
  const char *dataset;             /* "stock_movements", ... (required) */
  const char *const *tickers;      /* rows whose `ticker` is one of these; NULL/0 = all */
  size_t ntickers;                 /* (datasets without a ticker column: SP_ERR_INVALID) */
  const char *from, *to;           /* inclusive UTC dates "YYYY-MM-DD"; NULL = open */
  const char *const *columns;      /* projection, any order (output is schema order); NULL/0 = all */
  size_t ncolumns;
  const char *const *where;        /* "column OP value" (= != < <= > >=), ANDed; strings may */
  size_t nwhere;                   /* be quoted with ' ('' is a quote); typed by the column */
  const char *in_column;           /* optional: rows whose in_column is one of in_values */
  const char *const *in_values;    /* (typed like a where value) */
  size_t nin_values;
  int64_t limit;                   /* at most this many rows (the first in key order); <0 = all */
  bool skip_bad_files;             /* skip (and list) unreadable files instead of failing */
  bool any_order;                  /* rows in storage order, not key order (faster; for
                                      callers that aggregate) */
} sp_client_query;

/* Zero `q`, set its dataset and limit = -1 (no limit). */
void sp_client_query_init(sp_client_query *q, const char *dataset);

/* Run `q`.  On success *out is a result set the caller frees with sp_result_free.
 * Errors: SP_ERR_NOT_FOUND (unknown dataset or column), SP_ERR_INVALID (malformed
 * where expression, bad date, value of the wrong type, from > to is fine and empty),
 * SP_ERR_CORRUPT / SP_ERR_IO (a file that cannot be read, named; see skip_bad_files),
 * SP_ERR_NOMEM. */
int sp_client_query_run(sp_client *c, const sp_client_query *q, sp_result **out, sp_error *err);

/* ---- the five getters of the user's API --------------------------------------------
 * Each is sp_client_query_run with the filters below; NULL lists / dates mean "all". */

/* raw/financial_data for `tickers` between `from` and `to` (quote_time dates). */
int sp_client_get_financial_data(sp_client *c, const char *const *tickers, size_t ntickers, const char *from,
                                 const char *to, sp_result **out, sp_error *err);

/* raw/stock_movements (bar_time dates).  `indicators` selects indicator columns:
 * exact column names ("sma_20", "rsi_14") or families, case-insensitive: "sma"
 * (sma_20, sma_50), "ema", "rsi", "macd" (macd, macd_signal, macd_hist), "bbands"
 * (bb_upper, bb_middle, bb_lower), "atr", "52w" (high_52w, low_52w); "SMA_20" and
 * "RSI" as the Python API wrote them work.  The result holds every non-indicator
 * column plus the selected indicators; NULL/0 = every column.  An unknown name is
 * SP_ERR_NOT_FOUND. */
int sp_client_get_stock_movements(sp_client *c, const char *from, const char *to, const char *const *tickers,
                                  size_t ntickers, const char *const *indicators, size_t nindicators,
                                  sp_result **out, sp_error *err);

/* raw/news (published_at dates); `sentiment_range` = {min, max} inclusive on
 * sentiment_score, NULL = any. */
int sp_client_get_news(sp_client *c, const char *const *tickers, size_t ntickers, const char *from, const char *to,
                       const double *sentiment_range, sp_result **out, sp_error *err);

/* context/macroeconomic (observation_date) for `indicators` (the `indicator` column:
 * "interest_rate", "unemployment_rate", ...). */
int sp_client_get_macroeconomic(sp_client *c, const char *const *indicators, size_t nindicators, const char *from,
                                const char *to, sp_result **out, sp_error *err);

/* context/policy (event_time dates) for `event_types` ("fomc_meeting", ...). */
int sp_client_get_policy(sp_client *c, const char *const *event_types, size_t ntypes, const char *from,
                         const char *to, sp_result **out, sp_error *err);

/* ---- result sets ---------------------------------------------------------------- */

size_t sp_result_num_rows(const sp_result *r);
int sp_result_num_columns(const sp_result *r);
/* Column `col` (0 ≤ col < num_columns): its name (owned by the result / the schema)
 * and type. */
const char *sp_result_column_name(const sp_result *r, int col);
sp_type sp_result_column_type(const sp_result *r, int col);
/* Index of the column named `name`, or -1. */
int sp_result_column_index(const sp_result *r, const char *name);
/* The dataset the rows belong to. */
const sp_dataset_def *sp_result_dataset(const sp_result *r);

/* Typed cell access (row < num_rows).  A getter of the wrong type, or on a null cell,
 * returns 0 / false / "" — check sp_result_is_null and the column type first.
 * get_i32 serves INT32 and DATE (days since 1970-01-01); get_i64 INT64 and TIMESTAMP
 * (microseconds since the epoch, UTC). */
bool sp_result_is_null(const sp_result *r, size_t row, int col);
bool sp_result_get_bool(const sp_result *r, size_t row, int col);
int32_t sp_result_get_i32(const sp_result *r, size_t row, int col);
int64_t sp_result_get_i64(const sp_result *r, size_t row, int col);
double sp_result_get_double(const sp_result *r, size_t row, int col);
/* The string's bytes (owned by the result, NOT NUL-terminated) and *len. */
const char *sp_result_get_string(const sp_result *r, size_t row, int col, size_t *len);

typedef enum sp_print_format { SP_PRINT_TABLE = 0, SP_PRINT_CSV, SP_PRINT_JSON } sp_print_format;

/* Print to `out`: SP_PRINT_CSV (header row, SPEC §7 values), SP_PRINT_JSON (JSON
 * Lines, one object per row), SP_PRINT_TABLE (columns aligned; when `width` > 0 the
 * table is fitted into that many characters by cutting the widest columns, marked
 * with '~').  Errors: SP_ERR_IO (write failed), SP_ERR_NOMEM. */
int sp_result_print(const sp_result *r, FILE *out, sp_print_format format, int width, sp_error *err);

/* Write the rows to `path` in `format` ("csv", "parquet", "jsonl"/"json") with the
 * format writers (format/format.h), atomically: "<dir>/.<name>.tmp" is written,
 * fsynced and renamed over `path`.  Errors: SP_ERR_INVALID (unknown format),
 * SP_ERR_IO / SP_ERR_FULL, SP_ERR_NOMEM; on error `path` is untouched. */
int sp_result_write(const sp_result *r, const char *path, const char *format, sp_error *err);

/* Files skipped because of skip_bad_files: how many, and message i ("<path>: why"),
 * owned by the result. */
size_t sp_result_num_skipped(const sp_result *r);
const char *sp_result_skipped(const sp_result *r, size_t i);

/* Release the result (NULL is ignored). */
void sp_result_free(sp_result *r);

/* ---- export ----------------------------------------------------------------------- */

/* Called during an export with rows written so far and the total to write. */
typedef void (*sp_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Run `q` and write its rows to `path` in `format` ("csv", "parquet", "json"/"jsonl")
 * atomically (as sp_result_write).  `progress` (may be NULL) is called as rows are
 * written.  When `written` is not NULL it receives the result that was written (its
 * row count and skipped files; the caller frees it), else the result is freed.
 * Errors: those of sp_client_query_run and sp_result_write. */
int sp_client_export(sp_client *c, const sp_client_query *q, const char *path, const char *format,
                     sp_progress_fn progress, void *progress_ctx, sp_result **written, sp_error *err);

/* ---- summary ---------------------------------------------------------------------- */

/* Rows counted under one name (a validation rule or a quality flag). */
#define SP_SUMMARY_NAMES_MAX 32
#define SP_SUMMARY_NAME_LEN 48
typedef struct sp_name_count {
  char name[SP_SUMMARY_NAME_LEN]; /* "(other)" collects names beyond SP_SUMMARY_NAMES_MAX */
  uint64_t count;
} sp_name_count;

typedef struct sp_dataset_summary {
  const char *dataset;          /* static name */
  uint64_t files, rows, bytes;  /* data files (after superseded inputs of a compaction) */
  bool has_dates;               /* false when the dataset has no rows */
  int32_t first_date, last_date; /* the rows' own dates, days since 1970-01-01 */
  bool has_collected;
  int64_t last_collected;       /* max collected_at, microseconds UTC */
  int32_t trading_days_missing; /* NYSE trading days in [first, last] without a row */
  /* Issue 10: rows in <data_dir>/quarantine/<dataset>/, per rule (the line's "rule";
   * "(unreadable)" for a line that is not a JSON object with a string "rule"). */
  uint64_t quarantined;
  size_t nquarantine_rules;
  sp_name_count quarantine_rules[SP_SUMMARY_NAMES_MAX];
  /* Stored rows with a non-null quality_flags, and rows per flag name (a row with two
   * flags counts under both). */
  uint64_t flagged;
  size_t nflags;
  sp_name_count flags[SP_SUMMARY_NAMES_MAX];
} sp_dataset_summary;

typedef struct sp_summary {
  sp_dataset_summary datasets[SP_DS_COUNT]; /* by sp_dataset_id */
  uint64_t total_bytes;
  uint64_t total_files;
} sp_summary;

/* Summarise every dataset (reads Parquet footers and statistics, the date column
 * when a file's statistics do not give its days, the quality_flags column, and the
 * quarantine files).  Fills fixed-size arrays: nothing to free.  Errors: SP_ERR_CORRUPT / SP_ERR_IO
 * naming a file, SP_ERR_NOMEM. */
int sp_client_summary(sp_client *c, sp_summary *out, sp_error *err);

/* Print as an aligned table, or as one JSON object when `json`.  0 or SP_ERR_IO. */
int sp_summary_print(const sp_summary *s, FILE *out, bool json, sp_error *err);

/* ---- maintenance -------------------------------------------------------------------- */

/* Called for each partition folder deleted (or that would be with dry_run). */
typedef void (*sp_partition_fn)(void *ctx, const char *dataset, const char *dir, uint64_t files, uint64_t bytes);

/* Delete the partitions of dataset i whose date is older than `today` minus
 * retention_days[i] (by sp_dataset_id; 0 = keep forever): partition folders whose
 * (latest) date < today - retention_days[i].  With dry_run nothing is deleted.
 * `report` may be NULL.  Errors: SP_ERR_IO naming the path (deletion stops there). */
int sp_client_retention(sp_client *c, const int64_t retention_days[SP_DS_COUNT], int32_t today, bool dry_run,
                        sp_partition_fn report, void *report_ctx, sp_error *err);

typedef struct sp_compact_stats {
  uint64_t partitions;     /* partitions merged */
  uint64_t files_in;       /* input files replaced */
  uint64_t rows_out;       /* rows in the merged files */
  uint64_t duplicates;     /* rows dropped because their key repeated */
} sp_compact_stats;

/* Merge, in each partition (day) of `dataset` (NULL = every dataset) dated before
 * `before` (days since epoch), the files the sink wrote ("<prefix><first>-<last>.<ext>")
 * into one file per prefix and format, in key order, without duplicate keys
 * (the row from the earliest file wins).  Atomic for readers (docs/QUERY.md).
 * `stats` may be NULL.  Errors: SP_ERR_NOT_FOUND (unknown dataset), SP_ERR_CORRUPT
 * naming an input (nothing of that partition is changed), SP_ERR_IO, SP_ERR_NOMEM. */
int sp_client_compact(sp_client *c, const char *dataset, int32_t before, sp_compact_stats *stats, sp_error *err);

#ifdef __cplusplus
}
#endif
#endif
