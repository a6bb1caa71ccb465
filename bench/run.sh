#!/usr/bin/env bash
# run.sh — every benchmark and evaluation in bench/ (`make bench`).  Usage: bench/run.sh [BUILD_DIR]
# Each program prints its own figures next to its reference or target.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"

echo "== news sentiment: throughput =="
"$build/bench/bench_sentiment"
echo
echo "== news sentiment: accuracy vs VADER =="
"$here/sentiment_eval/run.sh" "$build"
echo
echo "== core: file channel -> file sink, restart time =="
"$build/bench/bench_channel"
