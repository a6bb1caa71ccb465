#!/usr/bin/env bash
# run_parquet_fuzz.sh — build the Parquet reader's libFuzzer target with clang and run it.
#
# Usage: tests/fuzz/run_parquet_fuzz.sh SECONDS|runs=N [WORKDIR]
#   SECONDS  how long to fuzz with a random seed (0 = only replay the seed corpus)
#   runs=N   N inputs from seed 1 (as far on a fast machine as on a slow one)
#   WORKDIR  where the binary and corpus go (default: a temporary directory, removed)
# Seeds: the DuckDB-written files in tests/fixtures/parquet/ and small files from stockpipe's
# own writer (parquet_gen --rows, found in $STOCKPIPE_BUILD_DIR/tests when set).
# Exit status: 0 clean, 1 a crash/leak/timeout was found (the reproducer is printed), 77 no clang.
set -euo pipefail
seconds=${1:?usage: run_parquet_fuzz.sh SECONDS|runs=N [WORKDIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-}
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/stockpipe-pq-fuzz.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
command -v clang >/dev/null || { echo "run_parquet_fuzz: clang not found" >&2; exit 77; }
mkdir -p "$work/corpus" "$work/obj"
# Only the reader and what it needs (the rest of the library pulls in servers and clients).
objs=()
for f in src/format/parquet/parquet_reader.c src/format/parquet/parquet_thrift.c \
         src/format/parquet/parquet_encoding.c src/format/parquet/parquet_compress.c \
         src/core/buf.c src/core/error.c tests/fuzz/fuzz_parquet_reader.c; do
  o="$work/obj/$(basename "$f" .c).o"
  clang -g -O1 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
    -I"$src/include" -I"$src/src" -c "$src/$f" -o "$o" &
  objs+=("$o")
done
wait
clang -fsanitize=fuzzer,address,undefined "${objs[@]}" -lsnappy -lzstd -lz -lm -o "$work/fuzz_parquet_reader"
cp "$src"/tests/fixtures/parquet/*.parquet "$work/corpus/"
if [ -n "${STOCKPIPE_BUILD_DIR:-}" ] && [ -x "$STOCKPIPE_BUILD_DIR/tests/parquet_gen" ]; then
  mkdir -p "$work/gen"
  "$STOCKPIPE_BUILD_DIR/tests/parquet_gen" --rows 30 "$work/gen" >/dev/null
  cp "$work"/gen/*.parquet "$work/corpus/"
fi
args=(-rss_limit_mb=2048 -timeout=10 -max_len=16384 -print_final_stats=1)
cd "$work"
status=0
if [[ $seconds == runs=* ]]; then
  ASAN_OPTIONS=detect_leaks=1 ./fuzz_parquet_reader "${args[@]}" -seed=1 -runs="${seconds#runs=}" corpus/ >fuzz.log 2>&1 || status=$?
elif [ "$seconds" -gt 0 ]; then
  ASAN_OPTIONS=detect_leaks=1 ./fuzz_parquet_reader "${args[@]}" -max_total_time="$seconds" corpus/ >fuzz.log 2>&1 || status=$?
else
  ASAN_OPTIONS=detect_leaks=1 ./fuzz_parquet_reader "${args[@]}" -runs=0 corpus/ >fuzz.log 2>&1 || status=$?
fi
tail -n 25 fuzz.log
[ "$status" -eq 0 ] || { echo "run_parquet_fuzz: fuzzer failed (status $status), see crash-* in $work" >&2; exit 1; }
unit=" s"
[[ $seconds == runs=* ]] && unit=""
echo "run_parquet_fuzz: clean ($seconds$unit, $(ls corpus | wc -l) corpus files)"
