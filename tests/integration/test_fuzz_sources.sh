#!/usr/bin/env bash
# test_fuzz_sources.sh — every provider parser on a deterministic stream of mutated
# fixtures (truncations, bit flips, inserted JSON/XML tokens, deleted and duplicated
# spans, one parser's input fed to another), via tests/tools/c/fuzz_sources.c.  Under
# the ASan build (`make test`) any out-of-bounds access, leak or undefined behaviour
# fails the test.  FUZZ_ITERATIONS raises the count for longer local runs.
set -euo pipefail
driver=$STOCKPIPE_BUILD_DIR/tests/fuzz_sources
[[ -x $driver ]] || driver=$(find "$STOCKPIPE_BUILD_DIR" -name fuzz_sources -type f -perm -u+x | head -1)
[[ -x $driver ]] || { echo "fuzz_sources driver not built" >&2; exit 1; }
iterations=${FUZZ_ITERATIONS:-$([[ ${STOCKPIPE_SANITIZED:-0} == 1 ]] && echo 4000 || echo 20000)}
"$driver" "$STOCKPIPE_FIXTURES" "$iterations" 20261125
