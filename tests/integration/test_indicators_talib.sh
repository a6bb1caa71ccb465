#!/usr/bin/env bash
# test_indicators_talib.sh — TA-Lib is the oracle for stockpipe's indicators.
#
# Compiles tests/tools/indicators_oracle/talib_oracle.c against the built
# libstockpipe.a and the TA-Lib C static libraries bundled in the npm package
# `talib` (installed by `make deps` under tests/tools/node_modules), then runs it
# over its generated series and the real OHLCV fixtures.  The oracle compares every
# indicator with TA-Lib's function (≤ 1e-9 relative), checks the lookbacks and the
# streaming form, and proves its comparison can fail before trusting it.
set -euo pipefail

: "${STOCKPIPE_SOURCE_DIR:?}" "${STOCKPIPE_BUILD_DIR:?}" "${STOCKPIPE_TEST_TOOLS:?}"
talib="$STOCKPIPE_TEST_TOOLS/node_modules/talib/src/lib"
for lib in libta_func_csr.a libta_common_csr.a; do
  if [[ ! -f "$talib/lib/$lib" ]]; then
    echo "FAIL: $talib/lib/$lib not found (run make deps: the npm package talib provides TA-Lib)" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags=(-std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror)
if [[ "${STOCKPIPE_SANITIZED:-0}" == 1 ]]; then
  flags+=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
fi
gcc "${flags[@]}" -I"$STOCKPIPE_SOURCE_DIR/include" -I"$STOCKPIPE_SOURCE_DIR/src" -I"$talib/include" \
  "$STOCKPIPE_SOURCE_DIR/tests/tools/indicators_oracle/talib_oracle.c" \
  "$STOCKPIPE_BUILD_DIR/libstockpipe.a" "$talib/lib/libta_func_csr.a" "$talib/lib/libta_common_csr.a" \
  -lz -lm -o "$work/talib_oracle"

ohlcv="$STOCKPIPE_SOURCE_DIR/tests/fixtures/real/ohlcv"
"$work/talib_oracle" \
  "$ohlcv/talib_ref_252.csv" \
  "$ohlcv/zipline-AAPL-2014-03-03-to-2014-08-29.csv" \
  "$ohlcv/zipline-MSFT-2014-03-03-to-2014-08-29.csv" \
  "$ohlcv/mplfinance-yahoofinance-SPY-20080101-20180101.csv"
