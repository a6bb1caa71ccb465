#!/usr/bin/env bash
# test_crash_postgres.sh — the SIGKILL crash test (tests/crash/run.sh --postgres) with a
# file channel drained into a real PostgreSQL server (issue 8): 20 kills (10 under the
# sanitizers, which slow every run), then 0 rows lost, 0 duplicated, values equal.
# Fails, not skips, when the PostgreSQL server binaries are missing.
set -euo pipefail
default_kills=20
[[ ${STOCKPIPE_SANITIZED:-0} == 1 ]] && default_kills=10
export CRASH_TICKERS=${CRASH_TICKERS:-20} # 5,600 bars: the whole test in ~20 s
exec bash "$STOCKPIPE_SOURCE_DIR/tests/crash/run.sh" --postgres "${STOCKPIPE_CRASH_KILLS:-$default_kills}"
