#!/usr/bin/env bash
# test_crash.sh — runs the SIGKILL crash test (tests/crash/run.sh) with 20 kills, as
# issue 4 asks of `make test`; `tests/crash/run.sh 200` runs the long version on demand.
set -euo pipefail
exec bash "$STOCKPIPE_SOURCE_DIR/tests/crash/run.sh" "${STOCKPIPE_CRASH_KILLS:-20}"
