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
echo
echo "== indicators: ns per bar vs TA-Lib C and Tulip C =="
# Built on demand: it compiles TA-Lib's and Tulip's C sources from the npm packages that
# `make deps` installs (re-running cmake lets it notice them).
cmake -S "$here/.." -B "$build" >/dev/null
cmake --build "$build" -j 2 --target bench_indicators
"$build/bench/bench_indicators"
echo
echo "== daemon: start-up to a healthy /health, idle RSS =="
python3 "$here/daemon_startup_rss.py" "$build"
