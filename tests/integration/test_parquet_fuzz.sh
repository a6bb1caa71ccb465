#!/usr/bin/env bash
# test_parquet_fuzz.sh — the Parquet reader's libFuzzer target (tests/fuzz/) inside
# `make test`: built with clang and run for 20 s in the normal build's test pass; in the
# sanitizer pass only the seed corpus is replayed (the fuzz binary carries its own ASan).
# STOCKPIPE_FUZZ_SECONDS=N fuzzes for N seconds instead (on demand).
set -euo pipefail
seconds=${STOCKPIPE_FUZZ_SECONDS:-20}
if [ "${STOCKPIPE_SANITIZED:-0}" = 1 ] && [ -z "${STOCKPIPE_FUZZ_SECONDS:-}" ]; then seconds=0; fi
exec bash "$STOCKPIPE_SOURCE_DIR/tests/fuzz/run_parquet_fuzz.sh" "$seconds"
