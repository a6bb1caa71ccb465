#!/usr/bin/env bash
# test_modules.sh — the database and Kafka sinks as shared modules (core/module.h,
# issue 7): a process whose configuration has only file sinks maps none of their
# client libraries, and a configuration that uses one finds its module in the build
# tree, in an installed tree (PREFIX/lib/stockpipe), or in $STOCKPIPE_MODULE_DIR, or
# fails with a message naming the module file and where it looked.
#
# Checks:
#  - the daemon on a file-sink pipeline: /proc/PID/maps has no libpq, librdkafka,
#    libmongoc, libbson or libstockpipe-* mapping;
#  - a MongoDB sink whose URI libmongoc refuses gets libmongoc's reason: the module
#    was found next to the program (build tree), and in `cmake --install --prefix`;
#  - STOCKPIPE_MODULE_DIR at an empty folder: exit 1, "module libstockpipe-sink-mongo.so
#    not found (looked in <that folder>)"; at a folder with a broken file: the loader's
#    reason (dlerror) with the module's name.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
work=$(mktemp -d /tmp/sp_modules.XXXXXX)
daemon=
cleanup() {
  [[ -n $daemon ]] && kill -9 "$daemon" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
bin=$STOCKPIPE_BIN
fail() { echo "FAIL: $*"; exit 1; }
# No test reaches a provider: every base URL is a closed local port.
for p in YAHOO ALPHAVANTAGE FINNHUB NEWSAPI FRED WORLDBANK FEDRESERVE TREASURY; do
  export "STOCKPIPE_${p}_BASE_URL=http://127.0.0.1:9"
done
unset STOCKPIPE_MODULE_DIR DESTDIR

write_config() { # $1 = file, $2 = sink settings
  financial_pipeline "$1" "$2, batch_size: 100"
}

# 1. A file-sink daemon maps no module and no database/Kafka client library.
write_config "$work/file.yaml" "type: file, path: raw/%Y-%m-%d, format: jsonl"
"$bin" run --config "$work/file.yaml" --data-dir "$work/data" --listen 127.0.0.1:0 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 1200); do grep -q "started:" "$work/daemon.log" && break; sleep 0.05; done
grep -q "started:" "$work/daemon.log" || { cat "$work/daemon.log"; fail "the daemon did not start"; }
if grep -E "libpq|librdkafka|libmongoc|libbson|libstockpipe-" "/proc/$daemon/maps"; then
  fail "a file-sink daemon maps the libraries above"
fi
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited $? on SIGTERM"
daemon=

# 2. The module is found next to the program and in an installed tree.
write_config "$work/mongo.yaml" 'type: mongodb, uri: "mongodb://127.0.0.1:notaport"'
expect_refused_uri() { # $1 = program
  set +e
  "$1" collect financial_data --config "$work/mongo.yaml" --data-dir "$work/data2" >"$work/out" 2>&1
  local code=$?
  set -e
  [[ $code != 0 ]] || fail "$1: a refused MongoDB URI was accepted"
  grep -q "sink financial_sink: MongoDB uri refused" "$work/out" || { cat "$work/out"; fail "$1: module not used"; }
}
expect_refused_uri "$bin"
cmake --install "$STOCKPIPE_BUILD_DIR" --prefix "$work/inst" >/dev/null
[[ -f $work/inst/lib/stockpipe/libstockpipe-sink-mongo.so ]] || fail "make install put no module in lib/stockpipe"
expect_refused_uri "$work/inst/bin/stockpipe"

# 3. STOCKPIPE_MODULE_DIR: the only place searched; clear errors.
expect_module_error() { # $1 = STOCKPIPE_MODULE_DIR, $2 = what is wrong there, $3 = the message (grep pattern)
  set +e
  STOCKPIPE_MODULE_DIR=$1 "$bin" collect financial_data --config "$work/mongo.yaml" --data-dir "$1.data" >"$work/out" 2>&1
  local code=$?
  set -e
  [[ $code == 1 ]] || { cat "$work/out"; fail "$2 module: exit $code, want 1"; }
  grep -q "$3" "$work/out" || { cat "$work/out"; fail "unclear message for a $2 module"; }
}
mkdir "$work/empty" "$work/broken"
expect_module_error "$work/empty" missing \
  "sink financial_sink: module libstockpipe-sink-mongo.so not found (looked in $work/empty)"
echo "not a shared object" >"$work/broken/libstockpipe-sink-mongo.so"
expect_module_error "$work/broken" broken \
  "cannot load module libstockpipe-sink-mongo.so: $work/broken/libstockpipe-sink-mongo.so: "
echo "modules: all checks passed"
