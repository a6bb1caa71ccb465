#!/usr/bin/env bash
# run.sh — every benchmark and evaluation in bench/ (`make bench`).  Usage: bench/run.sh [BUILD_DIR]
# Each program prints its own figures next to its reference or target.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"

# Parquet (stockpipe's codec vs DuckDB's COPY/scan).  STOCKPIPE_BENCH_ROWS (default 10M)
# shrinks the table while iterating; STOCKPIPE_BENCH_VARIANTS=1 adds the encoding variants.
echo "== Parquet: stockpipe writer/reader vs DuckDB =="
pq_rows=${STOCKPIPE_BENCH_ROWS:-10000000}
pq_work=$(mktemp -d /tmp/stockpipe-bench-parquet.XXXXXX)
trap 'rm -rf "$pq_work"' EXIT
"$build/bench/parquet_bench" --rows "$pq_rows" ${STOCKPIPE_BENCH_VARIANTS:+--variants} "$pq_work" >"$pq_work/ours.jsonl"
node "$here/parquet_duckdb.mjs" --write-only "$pq_work" >"$pq_work/duck.jsonl"
"$build/bench/parquet_bench" --scan "$pq_work"/duck_snappy_t1.parquet "$pq_work"/duck_zstd_t1.parquet >"$pq_work/our_scans.jsonl"
node "$here/parquet_duckdb.mjs" "$pq_work" "$pq_work/ours.jsonl" "$pq_work/duck.jsonl" "$pq_work/our_scans.jsonl"
rm -rf "$pq_work"
echo

echo "== news sentiment: throughput =="
"$build/bench/bench_sentiment"
echo
echo "== news sentiment: accuracy vs VADER =="
"$here/sentiment_eval/run.sh" "$build"
echo
echo "== core: file channel -> file sink, restart time =="
"$build/bench/bench_channel"
echo
echo "== indicators: ns per bar vs TA-Lib C and Tulip C =="
# Built on demand: it compiles TA-Lib's and Tulip's C sources from the npm packages that
# `make deps` installs (re-running cmake lets it notice them).
cmake -S "$here/.." -B "$build" >/dev/null
cmake --build "$build" -j 2 --target bench_indicators
"$build/bench/bench_indicators"
echo
echo "== sinks: rows/s into PostgreSQL (COPY path) and the Kafka mock =="
# A throw-away PostgreSQL server for the run (tests/postgres/lib.sh: initdb + pg_ctl, 127.0.0.1).
. "$here/../tests/postgres/lib.sh"
pg_start
trap pg_stop EXIT
"$build/bench/bench_sinks" --pg "$PG_CONNINFO" --kafka
echo
echo "== daemon: start-up to a healthy /health, idle RSS =="
python3 "$here/daemon_startup_rss.py" "$build"
echo
echo "== offline query engine vs DuckDB (QUERY_BENCH_ROWS rows, default 10M) =="
"$here/bench_query.sh" "$build"
echo
echo "== one S&P 500 movements round against the fake API (50 ms per response) =="
"$here/bench_sp500_round.sh" "$build"
