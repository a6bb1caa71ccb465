#!/usr/bin/env bash
# run.sh — evaluate the news sentiment scorer against VADER on the labelled headlines.
# Usage: bench/sentiment_eval/run.sh [BUILD_DIR] [--errors dev]
# Needs the built bench/sentiment_score_lines (make build) and node with the test tools
# (tests/tools/node_modules, see tests/tools/package.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
shift || true
scorer="$build/bench/sentiment_score_lines"
modules="${STOCKPIPE_TEST_TOOLS:-$root/tests/tools}/node_modules"
[ -x "$scorer" ] || { echo "run.sh: $scorer not built (make build)" >&2; exit 1; }
[ -d "$modules/vader-sentiment" ] || { echo "run.sh: no vader-sentiment in $modules" >&2; exit 1; }
scores="$(mktemp)"
trap 'rm -f "$scores"' EXIT
tail -n +2 "$here/headlines.tsv" | cut -f4 | "$scorer" > "$scores"
node "$here/eval.js" "$here/headlines.tsv" "$scores" "$modules" "$@"
