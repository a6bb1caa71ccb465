#!/usr/bin/env bash
# bench/run.sh — build and run the benchmarks (`make bench`).  Usage: bench/run.sh [build-dir]
# Benchmarks print their figures and ratios against a reference measured in the same
# run; they are not pass/fail tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
cd "$root"

# The indicator benchmark compiles TA-Lib's and Tulip's C sources from the npm packages
# installed by `make deps`; re-run cmake so it notices them.
cmake -S . -B "$build" >/dev/null
if cmake --build "$build" -j 2 --target bench_indicators; then
  echo "== indicators (ns per bar vs TA-Lib C and Tulip C)"
  "$build/bench/bench_indicators"
else
  echo "bench_indicators not built: are tests/tools/node_modules/{talib,tulind} installed (make deps)?" >&2
  exit 1
fi
