#!/usr/bin/env bash
# test_parquet_fuzz.sh — the Parquet reader's libFuzzer target (tests/fuzz/) inside
# `make test`: built with clang and run on 200,000 inputs from seed 1 in the normal
# build's test pass (a count, not a time: a faster machine does not search further than
# the runs that passed here; ~15 s on 2 cores); in the sanitizer pass only the seed corpus is replayed (the
# fuzz binary carries its own ASan).  STOCKPIPE_FUZZ_SECONDS=N fuzzes for N seconds from
# a random seed instead (on demand, to look further).
set -euo pipefail
seconds=${STOCKPIPE_FUZZ_SECONDS:-runs=200000}
if [ "${STOCKPIPE_SANITIZED:-0}" = 1 ] && [ -z "${STOCKPIPE_FUZZ_SECONDS:-}" ]; then seconds=0; fi
exec bash "$STOCKPIPE_SOURCE_DIR/tests/fuzz/run_parquet_fuzz.sh" "$seconds"
