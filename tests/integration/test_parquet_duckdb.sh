#!/usr/bin/env bash
# test_parquet_duckdb.sh — Parquet interop with DuckDB (npm @duckdb/node-api), both ways.
#  1. DuckDB reads every file stockpipe's writer produces with identical values and the
#     STRING/DATE/TIMESTAMP logical types: parquet_gen (tests/tools/c/parquet_gen.c)
#     writes a matrix over types, null densities, dictionary on/off, the four codecs,
#     row-group/page sizes and the five datasets; parquet_duckdb_check.mjs compares.
#  2. stockpipe's reader reads files DuckDB writes (every codec, parquet_version V1 and
#     V2) with identical values: parquet_duckdb_read_check.mjs writes them and compares
#     DuckDB's values with parquet_dump's (tests/tools/c/parquet_dump.c).
set -euo pipefail
tools="$STOCKPIPE_BUILD_DIR/tests"
for t in parquet_gen parquet_dump; do
  [ -x "$tools/$t" ] || { echo "missing $tools/$t (build the test tools)" >&2; exit 1; }
done
[ -d "$STOCKPIPE_TEST_TOOLS/node_modules/@duckdb/node-api" ] || {
  echo "missing @duckdb/node-api in $STOCKPIPE_TEST_TOOLS (run scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/stockpipe-pq-duckdb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/ours" "$work/duckdb"
"$tools/parquet_gen" "$work/ours"
node "$STOCKPIPE_TEST_TOOLS/parquet_duckdb_check.mjs" "$work/ours"
node "$STOCKPIPE_TEST_TOOLS/parquet_duckdb_read_check.mjs" "$tools/parquet_dump" "$work/duckdb"
