/*
 * stockpipe/schema.h — the five datasets of SPEC §1, defined once.
 *
 * Everything that stores or reads rows (sources, channels, sinks, the Parquet
 * codec, the query engine, tests) takes column names, types, nullability, keys and
 * partition columns from these tables; nothing else spells them out.  The tables are
 * static and immutable: callers never free them.
 */
#ifndef STOCKPIPE_SCHEMA_H
#define STOCKPIPE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Logical column types.  Physical representation in memory:
 *   SP_BOOL      bool
 *   SP_INT32     int32_t
 *   SP_INT64     int64_t
 *   SP_DOUBLE    double
 *   SP_STRING    UTF-8 bytes + length
 *   SP_DATE      int32_t days since 1970-01-01 (UTC)
 *   SP_TIMESTAMP int64_t microseconds since 1970-01-01T00:00:00Z            */
typedef enum sp_type {
  SP_BOOL,
  SP_INT32,
  SP_INT64,
  SP_DOUBLE,
  SP_STRING,
  SP_DATE,
  SP_TIMESTAMP
} sp_type;

typedef struct sp_column_def {
  const char *name;
  sp_type type;
  bool nullable;
} sp_column_def;

typedef enum sp_dataset_id {
  SP_DS_FINANCIAL_DATA = 0,
  SP_DS_STOCK_MOVEMENTS,
  SP_DS_NEWS,
  SP_DS_MACROECONOMIC,
  SP_DS_POLICY,
  SP_DS_COUNT
} sp_dataset_id;

typedef struct sp_dataset_def {
  sp_dataset_id id;
  const char *name;            /* "financial_data", ... */
  const char *tier;            /* "raw" or "context": <data_dir>/<tier>/<name>/ */
  const sp_column_def *columns;
  int ncolumns;
  const int *key_columns;      /* indexes into columns, in key order */
  int nkey;
  int date_column;             /* the row's own date: partitions, date filters */
  const char *default_compression; /* "snappy" (raw) or "zstd" (context) */
  int schema_version;
} sp_dataset_def;

/* The dataset with this id (id < SP_DS_COUNT), never NULL for a valid id. */
const sp_dataset_def *sp_dataset_get(sp_dataset_id id);

/* The dataset named `name`, or NULL when there is none. */
const sp_dataset_def *sp_dataset_by_name(const char *name);

/* Index of the column `name` in `ds`, or -1. */
int sp_dataset_column_index(const sp_dataset_def *ds, const char *name);

/* "BOOLEAN", "INT32", "INT64", "DOUBLE", "STRING", "DATE", "TIMESTAMP". */
const char *sp_type_name(sp_type type);

#ifdef __cplusplus
}
#endif
#endif
