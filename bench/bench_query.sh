#!/usr/bin/env bash
# bench_query.sh — the offline query engine next to DuckDB (issue 6): a stock_movements
# dataset laid out as the file sink writes it (one folder a day, 7 files a day, 500
# tickers of hourly bars; tests/tools/c/query_gen.c), queried by bench_query (the client
# API) and by DuckDB with threads=1 and its default, on the same files, before and after
# `stockpipe compact`.  Ratios are ours / DuckDB threads=1 (targets: <= 1.0 on Q1, Q3,
# Q4, <= 1.5 on Q2).
# Usage: bench/bench_query.sh [BUILD_DIR]   (QUERY_BENCH_ROWS, default 10000000;
# QUERY_BENCH_DIR keeps the data between runs; QUERY_BENCH_REPEAT, default 3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
rows="${QUERY_BENCH_ROWS:-10000000}"
repeat="${QUERY_BENCH_REPEAT:-3}"
dir="${QUERY_BENCH_DIR:-}"
if [ -z "$dir" ]; then
  dir=$(mktemp -d /tmp/stockpipe-bench-query.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
if [ ! -e "$dir/.done-$rows" ]; then
  rm -rf "${dir:?}"/raw "$dir"/.done-*
  echo "generating $rows rows in $dir ..." >&2
  "$build/tests/query_gen" bench "$dir" "$rows"
  touch "$dir/.done-$rows"
fi
from=2026-04-01 to=2026-04-30 t1=T007 t2=T123
run_all() { # label
  local label=$1
  "$build/bench/bench_query" "$dir" $from $to $t1 $t2 "$repeat" > "$dir/ours"
  node "$here/bench_query_duckdb.mjs" "$dir" $from $to $t1 $t2 "$repeat" 1 > "$dir/duck1"
  node "$here/bench_query_duckdb.mjs" "$dir" $from $to $t1 $t2 "$repeat" default > "$dir/duckn"
  local files
  files=$(find "$dir/raw" -name '*.parquet' | wc -l)
  echo "$label: $rows rows, $files files, $(du -sh "$dir/raw" | cut -f1)"
  printf '%-4s %12s %14s %16s %8s %8s\n' query "stockpipe s" "duckdb t=1 s" "duckdb default s" "ratio" "rows"
  paste "$dir/ours" "$dir/duck1" "$dir/duckn" | while read -r q a n _ b m _ c _; do
    [ "$n" = "$m" ] || echo "  (row counts differ: ours $n, DuckDB $m)"
    printf '%-4s %12s %14s %16s %8.2f %8s\n' "$q" "$a" "$b" "$c" "$(echo "$a / $b" | bc -l)" "$n"
  done
}
run_all "before compact"
"$build/stockpipe" compact stock_movements --data-dir "$dir" --before 2100-01-01 >&2
run_all "after compact"
