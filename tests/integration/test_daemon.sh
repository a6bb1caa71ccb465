#!/usr/bin/env bash
# test_daemon.sh — `stockpipe run` (the daemon), its endpoint and `stockpipe health`,
# against the fake provider API (issues 4 and 7, SPEC §4, §6, §7).
#
# Checks:
#  - `run --once` exit codes: 0 all sources ok, 1 one failing, 2 bad config;
#  - the daemon on an ephemeral port (--listen 127.0.0.1:0): /health 200 "ok",
#    /metrics with Flume counter names and the round-latency histogram, /metrics.json
#    parsed with every counter a JSON number; `stockpipe health` exit 0;
#  - latency histograms (source rounds, sink batches): buckets cumulative and
#    monotone, +Inf = _count, the same numbers in /metrics.json, and a sink's batch
#    _count = its BatchCompleteCount + BatchUnderflowCount;
#  - SIGHUP reopens pipeline.log.file (rotated away before);
#  - SIGHUP with a broken config: still running, the log names file:line:column;
#    SIGHUP with a good one: reloaded, and the source's last run (state store) keeps
#    it from running again;
#  - SIGTERM: exit 0 within the drain bound, the rows the sink was still batching
#    (roll_interval 60 s) are written;
#  - restart after "downtime" (a last run seeded 8 days back): the source runs once;
#  - /health reasons, each checked as HTTP 503 with the JSON reason name, then 200
#    once its cause is gone: stuck_sink + channel_full (a sink that cannot write, a
#    5-event channel the source blocks on; the sink's folder made writable: 200, all
#    rows stored); SIGTERM with a put blocked on the full channel exits 0 within the
#    bound; low_disk (a file channel's impossible disk minimum; SIGHUP with it
#    lowered: 200); missed_schedule (a source seeded overdue while another source's
#    round hangs on a delayed API; 200 when both have run); corruption (a byte
#    flipped in a file channel's log after SIGKILL), with low_disk for the data
#    directory (--min-free-disk-mb); restarted without either: 200;
#    `stockpipe health` exit 1 on 503 and on an unreachable daemon.  (dead_runner
#    is checked through the endpoint in tests/unit/test_health.c: the daemon's
#    runner threads end only at shutdown.)
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
fakeapi_start
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL STOCKPIPE_FRED_BASE_URL=$FAKEAPI_URL
export STOCKPIPE_TREASURY_BASE_URL=$FAKEAPI_URL STOCKPIPE_FRED_KEY=fakekeyfred1234
work=$(mktemp -d /tmp/sp_daemon.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  fakeapi_stop
  rm -rf "$work"
}
trap cleanup EXIT
bin=$STOCKPIPE_BIN
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }

# Schedule 1w: quotes follow the NYSE session, so the only slot is Monday 00:00 UTC
# (the first after Friday's close).  With 30m a slot passing while a daemon runs
# (every 30 min in session hours) made it run a second round, and the checks of
# "one round", "no round after the restart" failed now and then.
write_config() { # $1 = file, $2 = extra sink keys, $3 = channel capacity
  financial_pipeline "$1" "type: file, path: raw/financial_data/%Y-%m-%d, file_prefix: mag7_, format: jsonl, batch_size: ${3:-100}$2" 1w "${3:-1000}" "${3:-100}"
}

# start_daemon NAME ARGS... : runs the daemon in the background, logging to $work/NAME.log;
# sets PID and PORT (from the "health endpoint on" log line).
start_daemon() {
  local name=$1
  shift
  : >"$work/$name.log"
  "$bin" run --listen 127.0.0.1:0 "$@" 2>"$work/$name.log" &
  PID=$!
  pids+=("$PID")
  PORT=
  for ((i = 0; i < 3000; i++)); do
    PORT=$(sed -n 's|.*health endpoint on http://127.0.0.1:\([0-9]*\)/health.*|\1|p' "$work/$name.log")
    [[ -n $PORT ]] && return 0
    kill -0 "$PID" 2>/dev/null || fail "daemon $name exited at start"
    sleep 0.02
  done
  fail "daemon $name did not announce its endpoint"
}

# wait_for CONDITION-COMMAND... : retry every 0.05 s until it holds, for up to 60 s
# (returns as soon as it holds; a daemon under ASan on a loaded host can be slow).
wait_for() {
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  return 1
}

# stop_daemon PID DRAIN_SECONDS : SIGTERM, exit code must be 0 within the daemon's
# --drain-timeout plus 10 s (for stopping its threads and exiting on a loaded machine;
# still far below the 30 s a blocked put would wait on its own).
stop_daemon() {
  local pid=$1 bound=$(($2 + 10)) start end code
  start=$(date +%s.%N)
  kill -TERM "$pid"
  set +e
  wait "$pid"
  code=$?
  set -e
  end=$(date +%s.%N)
  [[ $code == 0 ]] || fail "daemon exited $code after SIGTERM"
  python3 -c "import sys; d=$end-$start; sys.exit(0 if d < $bound else 1)" ||
    fail "SIGTERM took longer than ${bound}s"
}

health_json() { curl -s "http://127.0.0.1:$1/health"; }
health_code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health"; }
health_is() { [[ $(health_code "$1") == "$2" ]]; } # $1 port, $2 status code
stored_rows() { cat "$1"/raw/financial_data/*/*.jsonl 2>/dev/null | grep -c . || true; }
stored_rows_are() { [[ $(stored_rows "$1") == "$2" ]]; } # $1 data dir, $2 count
last_run_known() { health_json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if all(s["last_run"] for s in d["sources"]) else 1)'; }
has_reasons() { # $1 port, then reason names that must all be present
  local port=$1
  shift
  health_json "$port" | python3 -c '
import json, sys
d = json.load(sys.stdin)
got = {r["reason"] for r in d["reasons"]}
sys.exit(0 if d["status"] == "unhealthy" and set(sys.argv[1:]) <= got else 1)' "$@"
}
# check_histograms PORT: every latency histogram series of /metrics has ascending
# bounds ending at +Inf, non-decreasing (cumulative) counts, +Inf = _count, and the
# same count and buckets in /metrics.json; a sink's batch _count equals its
# BatchCompleteCount + BatchUnderflowCount.  Prints the sink batches counted.
check_histograms() {
  python3 - "$1" <<'PY'
import json, re, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
text = urllib.request.urlopen(base + "/metrics").read().decode()
doc = json.load(urllib.request.urlopen(base + "/metrics.json"))
series, batches = {}, {}
for line in text.splitlines():
    m = re.match(r'(stockpipe_\w+_seconds)_(bucket|sum|count)\{\w+="([^"]*)"(?:,le="([^"]+)")?\} (\S+)$', line)
    if m:
        family, part, label, le, value = m.groups()
        s = series.setdefault((family, label), {"buckets": []})
        if part == "bucket":
            s["buckets"].append((float(le), int(value)))
        else:
            s[part] = float(value)
    m = re.match(r'Batch(?:Complete|Underflow)Count\{type="sink",name="([^"]+)"\} (\d+)$', line)
    if m:
        batches[m.group(1)] = batches.get(m.group(1), 0) + int(m.group(2))
assert any(f == "stockpipe_source_round_seconds" for f, _ in series), series.keys()
counted = 0
for (family, label), s in series.items():
    bounds = [b for b, _ in s["buckets"]]
    counts = [n for _, n in s["buckets"]]
    assert len(bounds) == 20 and bounds == sorted(set(bounds)) and bounds[-1] == float("inf"), (family, label, bounds)
    assert counts == sorted(counts), (family, label, counts)
    assert counts[-1] == s["count"] and s["sum"] >= 0, (family, label, s)
    j = doc["latency"][family][label]
    assert j["count"] == s["count"] and list(j["buckets"].values()) == counts, (family, label, j, counts)
    if family == "stockpipe_sink_batch_duration_seconds":
        assert s["count"] == batches[label], (label, s["count"], batches)
        counted += int(s["count"])
for sink, n in batches.items():
    assert n == 0 or ("stockpipe_sink_batch_duration_seconds", sink) in series, (sink, n)
print(counted)
PY
}
seed_last_run() { # $1 data dir, $2 source, $3 seconds ago
  python3 - "$1/.state/stockpipe.db" "$2" "$3" <<'PY'
import sqlite3, sys, time
db, source, ago = sys.argv[1], sys.argv[2], int(sys.argv[3])
now = int(time.time() * 1e6)
c = sqlite3.connect(db)
c.execute("INSERT OR REPLACE INTO watermark(source, key, value, updated_at) VALUES (?, '@last_run', ?, ?)",
          (source, now - ago * 1000000, now))
c.commit()
PY
}

# ---- run --once exit codes ------------------------------------------------------------
write_config "$work/once.yaml" ""
"$bin" run --once --config "$work/once.yaml" --data-dir "$work/once" 2>"$work/once.log" || fail "run --once: want 0"
[[ $(stored_rows "$work/once") == 7 ]] || fail "run --once stored $(stored_rows "$work/once") rows, want 7"
fakeapi_fault '{"path": "^/v8/finance/chart/NVDA$", "fault": "500", "count": "always"}'
set +e
"$bin" run --once --config "$work/once.yaml" --data-dir "$work/once_fail" 2>"$work/once_fail.log"
code=$?
set -e
[[ $code == 1 ]] || fail "run --once with a failing ticker: want 1, got $code"
fakeapi_reset
printf 'sources:\n  financial_source: {dataset: nope}\n' >"$work/bad.yaml"
set +e
"$bin" run --once --config "$work/bad.yaml" --data-dir "$work/x" 2>/dev/null
code=$?
"$bin" run --bogus 2>/dev/null
code2=$?
set -e
[[ $code == 2 && $code2 == 2 ]] || fail "bad config / bad option: want 2 and 2, got $code and $code2"
echo "run --once: exit codes 0, 1, 2 as specified"

# ---- the daemon: endpoint, reload, drain ---------------------------------------------
write_config "$work/d.yaml" ", roll_interval: 60"
printf 'pipeline:\n  log: {file: %s}\n' "$work/d_file.log" >>"$work/d.yaml"
start_daemon main --config "$work/d.yaml" --data-dir "$work/d" --drain-timeout 5
wait_for last_run_known "$PORT" || fail "the first round did not run"
[[ $(health_code "$PORT") == 200 ]] || fail "/health: want 200, got $(health_code "$PORT")"
health_json "$PORT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "ok" and d["reasons"] == [], d
assert isinstance(d["buffered_events"], int)
assert d["sinks"][0]["name"] == "financial_sink" and d["sinks"][0]["running"] is True, d
' || fail "/health document"
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
for want in 'EventPutSuccessCount{type="channel",name="financial_channel"} 7' 'EventTakeSuccessCount{type="channel"' \
  'ChannelFillPercentage{type="channel",name="financial_channel"}' 'EventDrainSuccessCount{type="sink",name="financial_sink"}' \
  'EventAcceptedCount{type="source",name="financial_source"} 7' '# TYPE stockpipe_source_round_seconds histogram' \
  'stockpipe_source_round_seconds_count{source="financial_source"} 1'; do
  grep -qF "$want" <<<"$metrics" || fail "/metrics lacks: $want"
done
curl -s "http://127.0.0.1:$PORT/metrics.json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items(): yield from leaves(v, path + "/" + k)
    else:
        yield path, x
n = 0
for path, v in leaves(d):
    assert isinstance(v, (int, float)) and not isinstance(v, bool), (path, v)
    n += 1
assert d["channel"]["financial_channel"]["EventPutSuccessCount"] == 7, d
assert d["latency"]["stockpipe_source_round_seconds"]["financial_source"]["count"] == 1, d
assert n > 20, n
' || fail "/metrics.json"
[[ $(check_histograms "$PORT") == 0 ]] || fail "histograms (no sink batch committed yet)"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope") == 404 ]] || fail "unknown path: want 404"
"$bin" health --listen "127.0.0.1:$PORT" >"$work/health.out" || fail "stockpipe health: want 0"
grep -q '"status":"ok"' "$work/health.out" || fail "stockpipe health did not print the document"
echo "daemon: /health 200, /metrics and /metrics.json as specified, stockpipe health 0"

# The sink batches for 60 s (roll_interval): the 7 rows are still in the channel.
[[ $(stored_rows "$work/d") == 0 ]] || fail "rows written before the batch closed (test premise)"

# SIGHUP with a broken config (an unknown key), the log file rotated away first: the
# daemon reopens pipeline.log.file and logs the refusal into the new file.
requests_before=$(fakeapi_count)
cp "$work/d.yaml" "$work/d.good"
sed -i 's/batch_size: 100, roll_interval: 60/batch_size: 100, roll_interval: 60, bogus_key: 1/' "$work/d.yaml"
grep -q "round done" "$work/d_file.log" || fail "pipeline.log.file not written"
mv "$work/d_file.log" "$work/d_file.log.1"
kill -HUP "$PID"
wait_for grep -q "configuration not reloaded" "$work/main.log" || fail "broken config: no refusal logged"
grep -q "configuration not reloaded" "$work/d_file.log" || fail "SIGHUP did not reopen the log file"
grep -q "configuration not reloaded" "$work/d_file.log.1" && fail "the rotated log file still written"
where=$(awk '{ i = index($0, "bogus_key"); if (i) { print NR ":" i; exit } }' "$work/d.yaml")
grep -qF "d.yaml:$where: sink 'financial_sink': unknown key 'bogus_key'" "$work/main.log" ||
  fail "broken config: the log does not name d.yaml:$where"
kill -0 "$PID" || fail "the daemon died on a broken config"
[[ $(health_code "$PORT") == 200 ]] || fail "/health after a refused reload"
# SIGTERM: the 7 rows the sink was still batching are written; exit 0 within the bound.
stop_daemon "$PID" 5
[[ $(stored_rows "$work/d") == 7 ]] || fail "SIGTERM: want the 7 buffered rows stored, got $(stored_rows "$work/d")"
echo "SIGHUP: broken config refused with file:line:column; SIGTERM: buffered rows stored, exit 0 within the drain bound"

# Restart: the last run (state store) keeps the 1w source from running again; SIGHUP
# with a good config (batch_size changed) reloads, still without re-running it.
cp "$work/d.good" "$work/d.yaml"
start_daemon restart --config "$work/d.yaml" --data-dir "$work/d" --drain-timeout 5
sed 's/batch_size: 100, roll_interval: 60/batch_size: 50, roll_interval: 60/' "$work/d.good" >"$work/d.yaml"
kill -HUP "$PID"
wait_for grep -q "configuration reloaded" "$work/restart.log" || fail "good config: not reloaded"
sleep 0.3
[[ $(fakeapi_count) == "$requests_before" ]] || fail "the source ran again ($requests_before -> $(fakeapi_count) requests)"
[[ $(health_code "$PORT") == 200 ]] || fail "/health after reload"
stop_daemon "$PID" 5
echo "restart and SIGHUP reload: the recorded last run holds, no extra round"

# "Downtime": seed the last run 8 days back (one or two of its Monday slots missed)
# and restart: the source runs once, not once per missed slot.
seed_last_run "$work/d" financial_source 691200
fakeapi_reset
start_daemon downtime --config "$work/d.yaml" --data-dir "$work/d" --drain-timeout 5
wait_for grep -q "source financial_source: round" "$work/downtime.log" || fail "overdue source did not run at start"
sleep 0.5
[[ $(fakeapi_count) == 7 ]] || fail "overdue source: want one round (7 requests), got $(fakeapi_count)"
stop_daemon "$PID" 5
echo "downtime: the missed source ran once"

# ---- /health reasons -------------------------------------------------------------------
# want_503 PORT REASON... : /health answers 503 with (at least) these reasons.
want_503() {
  local port=$1
  shift
  wait_for has_reasons "$port" "$@" || fail "/health: want reasons $*, got $(health_json "$port")"
  [[ $(health_code "$port") == 503 ]] || fail "/health with reasons $*: want HTTP 503, got $(health_code "$port")"
}
# want_200 PORT : /health comes back to 200 "ok" with no reason.
want_200() {
  # (a failing sink's retry delay doubles after each attempt: this can take a while)
  wait_for health_is "$1" 200 || fail "/health: want 200 again, got $(health_json "$1")"
  health_json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "ok" and d["reasons"] == [], d' || fail "/health 200 document"
}

# A sink that cannot write (raw/ is a file) and a channel of 5 events (the source's
# 6th row then waits for room): stuck_sink and channel_full.  Once raw/ can be
# created, the sink's next retry commits, the blocked put goes through: 200, and the
# batches committed show in the histogram.
mkdir -p "$work/stuck" && : >"$work/stuck/raw"
write_config "$work/stuck.yaml" "" 5
start_daemon stuck --config "$work/stuck.yaml" --data-dir "$work/stuck" --stuck-after 1 --drain-timeout 1
want_503 "$PORT" stuck_sink channel_full
set +e
"$bin" health --listen "127.0.0.1:$PORT" >/dev/null
code=$?
set -e
[[ $code == 1 ]] || fail "stockpipe health on an unhealthy daemon: want 1, got $code"
rm "$work/stuck/raw"
want_200 "$PORT"
wait_for stored_rows_are "$work/stuck" 7 || fail "stuck sink recovered: want 7 rows, got $(stored_rows "$work/stuck")"
batches=$(check_histograms "$PORT") || fail "histograms after the stuck sink recovered"
[[ $batches -ge 2 ]] || fail "want at least 2 sink batches (7 rows, batch_size 5), histogram counted $batches"
stop_daemon "$PID" 1
echo "health: stuck_sink + channel_full -> 503, stockpipe health exits 1; the sink recovers -> 200; $batches batches in the histogram"

# SIGTERM while the source's put waits on the full channel and the sink cannot write:
# the put is interrupted rather than waiting out its 30 s time-out; exit 0 in bound.
mkdir -p "$work/blocked" && : >"$work/blocked/raw"
start_daemon blocked --config "$work/stuck.yaml" --data-dir "$work/blocked" --drain-timeout 1
want_503 "$PORT" channel_full
stop_daemon "$PID" 1
grep -q "still buffered" "$work/blocked.log" || fail "undelivered events not reported at stop"
set +e
"$bin" health --listen "127.0.0.1:$PORT" --timeout 1 >/dev/null 2>&1
code=$?
set -e
[[ $code == 1 ]] || fail "stockpipe health with no daemon: want 1, got $code"
echo "health: SIGTERM with a blocked put and a stuck sink exits 0 in bound; health exits 1 with no daemon"

# low_disk: a file channel whose disk minimum no disk has (its puts fail); SIGHUP with
# the minimum lowered reopens it: 200.
sed 's/{type: memory, capacity: 1000, transactionCapacity: 100}/{type: file, capacity: 1000, transactionCapacity: 100, min_free_disk_mb: 1000000000}/' \
  "$work/once.yaml" >"$work/lowdisk.yaml"
grep -q "min_free_disk_mb: 1000000000" "$work/lowdisk.yaml" || fail "lowdisk.yaml: no file channel (test premise)"
start_daemon lowdisk --config "$work/lowdisk.yaml" --data-dir "$work/lowdisk" --drain-timeout 1
want_503 "$PORT" low_disk
health_json "$PORT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [r["component"] for r in d["reasons"] if r["reason"] == "low_disk"] == ["financial_channel"], d' ||
  fail "low_disk names financial_channel"
sed -i 's/min_free_disk_mb: 1000000000/min_free_disk_mb: 0/' "$work/lowdisk.yaml"
kill -HUP "$PID"
wait_for grep -q "configuration reloaded" "$work/lowdisk.log" || fail "lowdisk: not reloaded"
want_200 "$PORT"
stop_daemon "$PID" 1
echo "health: low_disk (file channel) -> 503; reloaded with a lower minimum -> 200"

# corruption: a file channel holding 7 events (its sink cannot write) is killed with
# SIGKILL; one byte of its first log record is flipped; on restart the record is set
# aside (ChannelQuarantinedCount 1) and /health says so; the other 6 events remain.
mkdir -p "$work/corrupt" && : >"$work/corrupt/raw"
sed 's/{type: memory, capacity: 1000, transactionCapacity: 100}/{type: file, capacity: 1000, transactionCapacity: 100, min_free_disk_mb: 0}/' \
  "$work/once.yaml" >"$work/corrupt.yaml"
grep -q "type: file" "$work/corrupt.yaml" || fail "corrupt.yaml: no file channel (test premise)"
start_daemon corrupt --config "$work/corrupt.yaml" --data-dir "$work/corrupt" --drain-timeout 1
wait_for last_run_known "$PORT" || fail "file channel: the first round did not run"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
wal=$(find "$work/corrupt/.channels/financial_channel/data" -name 'log-*.wal' | sort | head -n 1)
[[ -s $wal ]] || fail "no channel log to corrupt"
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(40); b = f.read(1); f.seek(40); f.write(bytes([b[0] ^ 0xFF]))' "$wal"
start_daemon corrupt2 --config "$work/corrupt.yaml" --data-dir "$work/corrupt" --drain-timeout 1 \
  --min-free-disk-mb 1000000000
want_503 "$PORT" corruption low_disk
health_json "$PORT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = [r for r in d["reasons"] if r["reason"] == "corruption"]
assert r and r[0]["component"] == "financial_channel", d
assert [r["component"] for r in d["reasons"] if r["reason"] == "low_disk"] == ["data_dir"], d
assert d["sinks"][0]["buffered"] == 6, d["sinks"]
' || fail "corruption names financial_channel, low_disk data_dir, 6 events left"
stop_daemon "$PID" 1
grep -q "still buffered" "$work/corrupt2.log" || fail "undelivered events not reported at stop"
# The corrupt record was set aside, raw/ can be created, no disk minimum: the 6
# events are written and /health is 200.
rm "$work/corrupt/raw"
start_daemon corrupt3 --config "$work/corrupt.yaml" --data-dir "$work/corrupt" --drain-timeout 1
want_200 "$PORT"
wait_for stored_rows_are "$work/corrupt" 6 || fail "after recovery: want 6 rows, got $(stored_rows "$work/corrupt")"
stop_daemon "$PID" 1
echo "health: corruption found at recovery and low data_dir disk -> 503; restarted without them -> 200"

# missed_schedule: macro_source (seeded 4 h back, so it runs first) hangs on the FRED
# API (held up to 25 s, under FRED's 30 s time-out, until the fake API's reset lets it
# go); policy_source (seeded 3 h back, schedule 30m) waits, overdue by more than its
# interval.
cat >"$work/missed.yaml" <<'YAML'
agents:
  context_data_agent:
    sources: [macro_source, policy_source]
    channels: [macro_channel, policy_channel]
    sinks: [macro_sink, policy_sink]
sources:
  macro_source: {dataset: macroeconomic, providers: [fred], indicators: [interest_rate], schedule: 30m}
  policy_source: {dataset: policy, providers: [treasury], event_types: [treasury_debt], schedule: 30m}
channels:
  macro_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
  policy_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
sinks:
  macro_sink: {type: file, format: jsonl}
  policy_sink: {type: file, format: jsonl}
bindings:
  macro_source: [macro_channel]
  policy_source: [policy_channel]
  macro_channel: macro_sink
  policy_channel: policy_sink
YAML
"$bin" run --once --config "$work/missed.yaml" --data-dir "$work/missed" 2>"$work/missed_once.log" || true
seed_last_run "$work/missed" macro_source 14400
seed_last_run "$work/missed" policy_source 10800
fakeapi_fault '{"path": "^/fred/", "fault": "delay", "ms": 25000, "count": "always"}'
start_daemon missed --config "$work/missed.yaml" --data-dir "$work/missed" --max-jitter 0 --drain-timeout 2
want_503 "$PORT" missed_schedule
health_json "$PORT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
missed = [r for r in d["reasons"] if r["reason"] == "missed_schedule"]
assert [r["component"] for r in missed] == ["policy_source"], d
running = {s["name"]: s["running"] for s in d["sources"]}
assert running == {"macro_source": True, "policy_source": False}, running
' || fail "missed_schedule names policy_source only (macro_source is running)"
fakeapi_reset # lets the held FRED request go
want_200 "$PORT" # macro_source's round ends, then policy_source runs
stop_daemon "$PID" 2
echo "health: missed_schedule -> 503 naming the overdue source; both ran -> 200"
echo "daemon: all checks passed"
