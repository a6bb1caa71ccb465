#!/usr/bin/env bash
# test_parquet_duckdb.sh — interop: DuckDB reads every Parquet file stockpipe's writer
# produces with identical values and the expected logical types.  parquet_gen (a test
# tool, tests/tools/c/parquet_gen.c) writes a matrix of files over types, null
# densities, dictionary on/off, all four codecs, row-group/page sizes and the five
# datasets; tests/tools/parquet_duckdb_check.mjs compares them through @duckdb/node-api.
set -euo pipefail
gen="$STOCKPIPE_BUILD_DIR/tests/parquet_gen"
[ -x "$gen" ] || { echo "missing $gen (build the test tools)" >&2; exit 1; }
[ -d "$STOCKPIPE_TEST_TOOLS/node_modules/@duckdb/node-api" ] || {
  echo "missing @duckdb/node-api in $STOCKPIPE_TEST_TOOLS (run scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/stockpipe-pq-duckdb.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$gen" "$work"
# The checker loads node_modules relative to itself; run the copy under the tools dir.
node "$STOCKPIPE_TEST_TOOLS/parquet_duckdb_check.mjs" "$work"
