#!/usr/bin/env bash
# test_shape_change.sh — issue 10: a provider changing its response shape is detected
# and reported once.  The fake Yahoo API serves the real AAPL chart capture reshaped
# for three tickers:
#  - a required field renamed (meta.regularMarketTime → marketTime): `collect
#    financial_data` exits 1, the provider fails with 3 failed requests, nothing is
#    stored, and stderr carries exactly TWO "response shape changed" warnings, one
#    naming the missing field, one the new one (not one per ticker);
#  - the same under the daemon: /metrics counts the 3 responses in
#    stockpipe_source_shape_changes_total{provider="yahoo",endpoint="quote"}, and
#    /metrics.json in source_shape_changes.yahoo.quote; the log has one warning;
#  - an optional field removed (meta.currency): exit 0, the 3 quotes stored with a
#    null currency, one warning saying so;
#  - a field added (meta.marketState): exit 0, the 3 quotes stored, one "new field"
#    warning, the 3 responses counted.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
fakeapi_start
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
work=$(mktemp -d /tmp/sp_shape.XXXXXX)
daemon_pid=
trap '[[ -n $daemon_pid ]] && kill -9 "$daemon_pid" 2>/dev/null; fakeapi_stop; rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.err "$work"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }; done; exit 1; }

# reshape EDIT OUT: the real capture with one change applied ("rename:a.b:new", "remove:a.b" or "add:a.b:value")
reshape() {
  python3 - "$STOCKPIPE_FIXTURES/real/yahoo/chart-AAPL-1d-2020-01-02.json" "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
action, path, *rest = sys.argv[2].split(":")
*parents, leaf = path.split(".")
node = doc["chart"]["result"][0]
for p in parents:
    node = node[p]
value = node.pop(leaf) if action != "add" else None
if action == "rename":
    node[rest[0]] = value
if action == "add":
    node[leaf] = rest[0]
json.dump(doc, open(sys.argv[3], "w"))
PY
}
serve() { # $1 = body file
  fakeapi_reset
  fakeapi_route "$(python3 -c 'import json,sys; print(json.dumps({"name": "reshaped", "path": "/v8/finance/chart/(AAA|BBB|CCC)", "body": open(sys.argv[1]).read()}))' "$1")"
}
# one round: Monday 00:00 UTC is the weekly schedule's only slot
one_source_pipeline "$work/cfg.yaml" financial "dataset: financial_data, providers: [yahoo], tickers: [AAA, BBB, CCC], schedule: 1w" \
  "type: memory, capacity: 1000, transactionCapacity: 100" \
  "type: file, path: raw/financial_data/%Y-%m-%d, format: jsonl, batch_size: 100" 'pipeline: {http: {listen: ""}}'
stored_rows() { find "$1/raw/financial_data" -name '*.jsonl' -exec cat {} + 2>/dev/null | grep -c . || true; }
warnings() { grep -c "WARN  \[source\] .*response shape changed" "$1" || true; } # the warning, not the failure summaries

# ---- a required field renamed: failures, one warning for each name --------------------
reshape "rename:meta.regularMarketTime:marketTime" "$work/renamed.json"
serve "$work/renamed.json"
rc=0
"$bin" collect financial_data --config "$work/cfg.yaml" --data-dir "$work/d1" >"$work/c1.out" 2>"$work/c1.err" || rc=$?
[[ $rc == 1 ]] || fail "renamed required field: exit $rc, want 1"
[[ $(warnings "$work/c1.err") == 2 ]] || fail "want exactly two shape warnings, got $(warnings "$work/c1.err")"
grep -q 'WARN .*yahoo quote: response shape changed: new field "chart.result\[0\].meta.marketTime" (not read by the parser' "$work/c1.err" ||
  fail "the warning does not name the new field"
grep -q 'WARN .*yahoo quote: response shape changed: missing field "chart.result\[0\].meta.regularMarketTime" (such responses are not parsed and count as failed requests' "$work/c1.err" ||
  fail "the warning does not name the field"
grep -q "financial_source/yahoo: FAILED, 3 request(s), 3 failed, 0 row(s), 3 response(s) of a changed shape: " "$work/c1.err" ||
  fail "the three responses are not counted as failed requests"
[[ $(stored_rows "$work/d1") == 0 ]] || fail "rows stored from a reshaped response"
echo "ok: required field renamed: exit 1, 3 failed requests, 2 warnings (missing, new), 0 rows"

# ---- the daemon: /metrics and /metrics.json count every reshaped response ---------------
: >"$work/daemon.log" # made before the daemon starts: the loop below reads it at once
"$bin" run --config "$work/cfg.yaml" --data-dir "$work/d2" --listen 127.0.0.1:0 2>"$work/daemon.log" &
daemon_pid=$!
port=
for ((i = 0; i < 3000; i++)); do
  port=$(sed -n 's|.*health endpoint on http://127.0.0.1:\([0-9]*\)/health.*|\1|p' "$work/daemon.log")
  [[ -n $port ]] && break
  sleep 0.02
done
[[ -n $port ]] || fail "the daemon did not announce its endpoint"
want='stockpipe_source_shape_changes_total{provider="yahoo",endpoint="quote"} 3'
for ((i = 0; i < 1200; i++)); do
  curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" || true
  grep -qF "$want" "$work/metrics.txt" && break
  sleep 0.05
done
grep -qF "$want" "$work/metrics.txt" || fail "/metrics lacks: $want"
grep -qF "# TYPE stockpipe_source_shape_changes_total counter" "$work/metrics.txt" || fail "/metrics: no TYPE line"
curl -s "http://127.0.0.1:$port/metrics.json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["source_shape_changes"] == {"yahoo": {"quote": 3}}, d["source_shape_changes"]
' || fail "/metrics.json source_shape_changes"
kill -TERM "$daemon_pid" || fail "the daemon exited before SIGTERM"
wait "$daemon_pid" || fail "daemon exit after SIGTERM"
daemon_pid=
[[ $(warnings "$work/daemon.log") == 2 ]] || fail "daemon: want two shape warnings, got $(warnings "$work/daemon.log")"
echo "ok: daemon: $want, two warnings"

# ---- an optional field removed: stored with the column null, one warning ---------------
reshape "remove:meta.currency" "$work/no_currency.json"
serve "$work/no_currency.json"
"$bin" collect financial_data --config "$work/cfg.yaml" --data-dir "$work/d3" >"$work/c3.out" 2>"$work/c3.err" ||
  fail "optional field removed: exit $?, want 0"
[[ $(warnings "$work/c3.err") == 1 ]] || fail "optional change: want one warning"
grep -q 'missing field "chart.result\[0\].meta.currency" (the affected columns are stored as null' "$work/c3.err" ||
  fail "optional change: the warning does not say what happens"
grep -q "financial_source/yahoo: ok, 3 request(s), 0 failed, 3 row(s), 3 response(s) of a changed shape$" "$work/c3.err" ||
  fail "optional change: the round summary does not count the reshaped responses"
python3 - "$work/d3" <<'PY'
import glob, json, os, sys
rows = [json.loads(l) for p in glob.glob(os.path.join(sys.argv[1], "raw/financial_data/*/*.jsonl")) for l in open(p)]
assert sorted(r["ticker"] for r in rows) == ["AAA", "BBB", "CCC"], rows
assert all(r["currency"] is None and r["price"] == 244.87 for r in rows), rows
PY
echo "ok: optional field removed: 3 rows stored with currency null, 1 warning"

# ---- a field added: stored as usual, one "new field" warning, counted ------------------
reshape "add:meta.marketState:REGULAR" "$work/added.json"
serve "$work/added.json"
"$bin" collect financial_data --config "$work/cfg.yaml" --data-dir "$work/d4" >"$work/c4.out" 2>"$work/c4.err" ||
  fail "field added: exit $?, want 0"
[[ $(warnings "$work/c4.err") == 1 ]] || fail "field added: want one warning, got $(warnings "$work/c4.err")"
grep -q 'WARN .*yahoo quote: response shape changed: new field "chart.result\[0\].meta.marketState"' "$work/c4.err" ||
  fail "field added: the warning does not name it"
grep -q "financial_source/yahoo: ok, 3 request(s), 0 failed, 3 row(s), 3 response(s) of a changed shape$" "$work/c4.err" ||
  fail "field added: the round summary does not count the responses"
[[ $(stored_rows "$work/d4") == 3 ]] || fail "field added: want 3 rows stored"
echo "ok: field added: 3 rows stored, 1 warning, 3 responses counted"
