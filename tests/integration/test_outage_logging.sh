#!/usr/bin/env bash
# test_outage_logging.sh — an outage must not flood the log.  A provider that cannot be
# reached fails every request of a round: the round logs its first
# SP_SOURCE_FAILURES_LOGGED (5) failures at ERROR plus one line saying the rest go to
# DEBUG, the HTTP client logs at most 10 retry warnings per provider and minute, and
# the round summary still counts every failed request.  With --log-level DEBUG every
# failure is still there.
set -euo pipefail
bin=$STOCKPIPE_BIN
work=$(mktemp -d /tmp/sp_outage.XXXXXX)
holder=
trap '[[ -n $holder ]] && kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; tail -n 30 "$work/err.log" >&2 || true; exit 1; }

# a loopback port nobody listens on: every connection is refused at once.  A helper
# keeps it bound (never listening) for the whole test, so no parallel test can take it.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(600)' >"$work/port" &
holder=$!
deadline=$((SECONDS + 60))
until [[ -s $work/port ]] || ((SECONDS >= deadline)); do sleep 0.01; done
port=$(cat "$work/port")
[[ -n $port ]] || fail "the port holder did not start"
export STOCKPIPE_YAHOO_BASE_URL=http://127.0.0.1:$port
tickers=$(python3 -c 'print(", ".join("T%02d" % i for i in range(1, 26)))')
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
one_source_pipeline "$work/cfg.yaml" movement \
  "dataset: stock_movements, providers: [yahoo], bar_interval: 1h, schedule: 1h, tickers: [$tickers]" \
  "type: memory, capacity: 1000, transactionCapacity: 100" \
  "type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 100" 'pipeline: {http: {listen: ""}}' a

rc=0
"$bin" collect stock_movements --config "$work/cfg.yaml" --data-dir "$work/d1" 2>"$work/err.log" || rc=$?
[[ $rc == 1 ]] || fail "exit $rc, want 1"
errors=$(grep -c 'ERROR \[yahoo\]' "$work/err.log" || true)
[[ $errors == 6 ]] || fail "want 5 failures + 1 'logged at DEBUG' line at ERROR, got $errors"
grep -q 'ERROR \[yahoo\] further failed requests of this round are logged at DEBUG only' "$work/err.log" ||
  fail "no line saying the other failures went to DEBUG"
retries=$(grep -c 'WARN  \[yahoo\] GET .*retrying in' "$work/err.log" || true)
[[ $retries == 10 ]] || fail "want 10 retry warnings (the per-minute cap), got $retries"
grep -q 'movement_source/yahoo: FAILED, 25 request(s), 25 failed, 0 row(s)' "$work/err.log" ||
  fail "the round summary does not count the 25 failed requests"
echo "ok: 25 failed requests: $errors ERROR lines, $retries retry warnings, summary counts 25"

"$bin" collect stock_movements --config "$work/cfg.yaml" --data-dir "$work/d2" --log-level DEBUG 2>"$work/err.log" || true
failed=$(grep -c 'DEBUG \[yahoo\] yahoo: GET .* after 4 attempts' "$work/err.log" || true)
[[ $failed == 20 ]] || fail "DEBUG: want the other 20 failures, got $failed"
quiet=$(grep -c 'DEBUG \[yahoo\] GET .*retrying in' "$work/err.log" || true)
(( quiet == 75 - 10 )) || fail "DEBUG: want 65 retries beyond the cap, got $quiet"
echo "ok: --log-level DEBUG shows the other 20 failures and 65 retries"
