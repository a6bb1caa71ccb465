#!/usr/bin/env bash
# tests/crash/run.sh — the crash test of issue 4: exactly-once storage under SIGKILL.
#
#   tests/crash/run.sh [KILLS]          (default 20; `make test` runs 20, run 200+ on demand)
#
# The fake API serves a long stream of unique, valid hourly bars (tests/tools/c/gen_chart:
# TICKERS symbols x every NYSE session hour of ~8 weeks).  The pipeline fans the stream
# out from one source to two file channels: one drained into CSV files, the other into
# JSON Lines files whose folder is made read-only (chattr +i) part of the time, so that
# sink keeps failing and retrying.  `stockpipe collect stock_movements` is started KILLS
# times and killed with SIGKILL at a random moment (fetching, putting, writing, renaming,
# committing...), then run once more to completion.  Both outputs must hold exactly the
# produced keys, none twice, none missing.  Needs: STOCKPIPE_BIN, STOCKPIPE_BUILD_DIR,
# STOCKPIPE_SOURCE_DIR.
set -euo pipefail
kills=${1:-20}
tickers=${CRASH_TICKERS:-30}
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/sp_crash.XXXXXX)
toggler=
cleanup() {
  set +e
  [[ -n $toggler ]] && kill "$toggler" 2>/dev/null && wait "$toggler" 2>/dev/null
  chattr -R -i "$work" 2>/dev/null || true
  fakeapi_stop
  [[ -n ${CRASH_KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# The produced stream: bars of the last ~8 weeks up to yesterday (all complete, all
# inside the first poll's 60-day window).
symbols=$(seq -f "CR%02g" 1 "$tickers" | tr '\n' ' ')
from=$(date -u -d '-56 days' +%F)
to=$(date -u -d '-1 day' +%F)
mkdir -p "$work/charts"
# shellcheck disable=SC2086
"$STOCKPIPE_BUILD_DIR/tests/gen_chart" "$work/charts" 1h "$from" "$to" $symbols | sort >"$work/produced.keys"
produced=$(wc -l <"$work/produced.keys")

routes="$work/routes.json"
python3 - "$work/charts" >"$routes" <<'PY'
import json, os, sys
d = sys.argv[1]
print(json.dumps({"routes": [{"name": "crash-" + f, "path": "/v8/finance/chart/" + f[6:-5],
                              "body": open(os.path.join(d, f)).read()} for f in sorted(os.listdir(d))]}))
PY
fakeapi_start --routes "$routes"
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL

list=$(echo $symbols | tr ' ' ',')
cat >"$work/cfg.yaml" <<YAML
agents:
  raw_data_agent:
    sources: [movement_source]
    channels: [movement_channel, mirror_channel]
    sinks: [movement_sink, mirror_sink]
sources:
  movement_source: {dataset: stock_movements, providers: [yahoo], tickers: [$list], bar_interval: 1h, schedule: 1h}
channels:
  movement_channel: {type: file, capacity: 200000, transactionCapacity: 500}
  mirror_channel: {type: file, capacity: 200000, transactionCapacity: 500}
sinks:
  movement_sink: {type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 500}
  mirror_sink: {type: file, path: mirror/%Y-%m-%d, format: jsonl, batch_size: 300}
bindings:
  movement_source: [movement_channel, mirror_channel]
  movement_channel: movement_sink
  mirror_channel: mirror_sink
YAML
data=$work/data
mkdir -p "$data/mirror"

# The failing sink: its folder tree is immutable (even for root) about half the time.
failing=no
if chattr +i "$data/mirror" 2>/dev/null && chattr -i "$data/mirror"; then
  failing=yes
  ( while :; do chattr -R +i "$data/mirror" 2>/dev/null; sleep 0.$((RANDOM % 4 + 1));
                chattr -R -i "$data/mirror" 2>/dev/null; sleep 0.$((RANDOM % 4 + 1)); done ) &
  toggler=$!
fi

# exec: the background job's pid must be stockpipe itself, so SIGKILL reaches it
run() { exec "$STOCKPIPE_BIN" collect stock_movements --config "$work/cfg.yaml" --data-dir "$data" --log-level ERROR; }
start=$(date +%s.%N)
for ((k = 1; k <= kills; k++)); do
  run >/dev/null 2>>"$work/runs.err" &
  pid=$!
  # a random moment in the first 1.5 s (most runs take longer than that, so kills land
  # in every phase: fetch, put, drain, rename)
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  (( RANDOM % 2 )) && sleep 0.5
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
if [[ -n $toggler ]]; then kill "$toggler"; wait "$toggler" 2>/dev/null || true; toggler=; fi
chattr -R -i "$data/mirror" 2>/dev/null || true
(run 2>>"$work/runs.err") || { echo "final run failed:"; tail -20 "$work/runs.err"; exit 1; }
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")

python3 - "$data" "$work/produced.keys" "$kills" "$failing" "$elapsed" <<'PY'
import collections, csv, glob, json, os, sys
data, produced_file, kills, failing, elapsed = sys.argv[1:]
produced = set(l.strip() for l in open(produced_file) if l.strip())
def check(name, keys):
    c = collections.Counter(keys)
    dup = sum(n - 1 for n in c.values() if n > 1)
    lost = len(produced - set(c))
    extra = len(set(c) - produced)
    print(f"{name}: stored {len(keys)} rows, produced {len(produced)}, lost {lost}, duplicated {dup}, unexpected {extra}")
    return lost == 0 and dup == 0 and extra == 0
csv_keys = [f"{r['ticker']},{r['interval']},{r['bar_time']}"
            for p in glob.glob(os.path.join(data, "raw/stock_movements/*/*.csv")) for r in csv.DictReader(open(p))]
jsonl_keys = [f"{r['ticker']},{r['interval']},{r['bar_time']}"
              for p in glob.glob(os.path.join(data, "mirror/*/*.jsonl")) for r in map(json.loads, open(p)) ]
quarantined = glob.glob(os.path.join(data, "quarantine", "**", "*.*"), recursive=True)
ok = check("csv sink", csv_keys) & check(f"jsonl sink (failing part of the time: {failing})", jsonl_keys)
print(f"{kills} SIGKILLs in {elapsed} s; quarantine files: {len(quarantined)}")
sys.exit(0 if ok and not quarantined else 1)
PY
