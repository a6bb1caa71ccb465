#!/usr/bin/env bash
# test_sink_mongo.sh — the MongoDB sink (libmongoc) against tests/fakemongo/fakemongo.py,
# a MongoDB wire-protocol fake started here on 127.0.0.1 (no MongoDB server can be
# installed on the build machines), or against a real server when
# STOCKPIPE_TEST_MONGODB_URI is set (database stockpipe_test is dropped first; the
# fault-injection and command-count checks need the fake and are skipped then).
#
# Checks, through tests/tools/c/sink_driver.c and the real `stockpipe collect`:
#  1. every dataset's documents hold exact, typed values (string, double, int64,
#     date, null), _id = the SPEC key, a unique index on the key;
#  2. batching: one commit is one bulk (one update command per commit with the fake);
#  3. replaying the same events (other batch cuts, overlapping ranges) adds nothing;
#  4. retries: a connection closed before a command, a reply lost after the command
#     ran, and a server error are retried by the runner; nothing lost or doubled;
#  5. `stockpipe collect financial_data` against the fake API stores the 7 quotes in a
#     configured collection; a second round adds nothing.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/sp_mongotest.XXXXXX)
fake_pid=
cleanup() {
  fakeapi_stop
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
drv=$STOCKPIPE_BUILD_DIR/tests/sink_driver
[[ -x $drv ]] || { echo "missing $drv"; exit 1; }

if [[ -n ${STOCKPIPE_TEST_MONGODB_URI:-} ]]; then
  uri=$STOCKPIPE_TEST_MONGODB_URI
  fake=0
  "$drv" mongo-command "$uri" stockpipe_test '{"dropDatabase": 1}' >/dev/null
  echo "against the real server in STOCKPIPE_TEST_MONGODB_URI"
else
  python3 "$STOCKPIPE_SOURCE_DIR/tests/fakemongo/fakemongo.py" --port-file "$work/port" --max-seconds 300 \
    2>"$work/fakemongo.err" &
  fake_pid=$!
  for ((i = 0; i < 3000; i++)); do [[ -s $work/port ]] && break; sleep 0.01; done
  [[ -s $work/port ]] || { echo "fakemongo did not start"; cat "$work/fakemongo.err"; exit 1; }
  uri="mongodb://127.0.0.1:$(cat "$work/port")/?serverSelectionTimeoutMS=30000"
  fake=1
  echo "against tests/fakemongo (set STOCKPIPE_TEST_MONGODB_URI for a real server)"
fi
mongo() { "$drv" mongo-command "$uri" stockpipe_test "$1"; }

# Compare collection $2 with the driver's rows $3..$3+$4-1 of dataset $1 (types included).
check_collection() {
  local ds=$1 coll=$2 first=$3 count=$4
  "$drv" schema "$ds" >"$work/schema.json"
  "$drv" expected "$ds" "$first" "$count" >"$work/expected.jsonl"
  "$drv" mongo-dump "$uri" "$coll" >"$work/actual.jsonl"
  python3 - "$work" "$coll" <<'PY'
import datetime, json, sys
work, coll = sys.argv[1], sys.argv[2]
schema = json.load(open(f"{work}/schema.json"))
types = {c["name"]: c["type"] for c in schema["columns"]}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
def want_value(t, v):
    if v is None: return None
    if t == "TIMESTAMP":
        d = datetime.datetime.fromisoformat(v) - EPOCH
        return ("date", (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000)
    if t == "DATE":
        return ("date", (datetime.date.fromisoformat(v) - datetime.date(1970, 1, 1)).days * 86400000)
    if t == "DOUBLE": return ("double", float(v))
    if t == "INT64": return ("int64", int(v))
    return v
def got_value(v):
    if isinstance(v, dict):
        (tag, inner), = v.items()
        if tag == "$date": return ("date", int(inner["$numberLong"]))
        if tag == "$numberDouble": return ("double", float(inner))
        if tag == "$numberLong": return ("int64", int(inner))
        if tag == "$numberInt": return ("int32", int(inner))
    return v
def want_doc(row):
    doc = {name: want_value(types[name], v) for name, v in row.items()}
    return {"_id": {k: doc[k] for k in schema["key"]}, **doc}
def got_doc(doc):
    return {k: ({kk: got_value(vv) for kk, vv in v.items()} if k == "_id" else got_value(v)) for k, v in doc.items()}
want = sorted((want_doc(json.loads(l)) for l in open(f"{work}/expected.jsonl")), key=repr)
got = sorted((got_doc(json.loads(l)) for l in open(f"{work}/actual.jsonl")), key=repr)
if got != want:
    for w, g in zip(want, got):
        if w != g:
            sys.exit(f"{coll}: first difference\n got  {g}\n want {w}")
    sys.exit(f"{coll}: {len(got)} documents, want {len(want)}")
print(f"{coll}: {len(got)} documents equal, typed, _id = key")
PY
}

# 1. Exact values and types, every dataset (odd batch cuts: 7 x 17 + 1).
for ds in financial_data stock_movements news macroeconomic policy; do
  "$drv" load mongodb "$uri" "$ds" 0 120 17 >/dev/null
  check_collection "$ds" "$ds" 0 120
done
mongo '{"listIndexes": "news"}' >"$work/indexes.json" 2>/dev/null || true
if [[ $fake == 0 ]]; then
  grep -q '"stockpipe_key"' "$work/indexes.json" || { echo "no stockpipe_key index"; exit 1; }
fi

# 2. Batching (fake): one update command per commit, sized as the commit.
if [[ $fake == 1 ]]; then
  mongo '{"fakemongoStats": 1}' >"$work/stats.json"
  python3 - "$work/stats.json" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
sizes = [int(b["n"]["$numberInt"]) for b in stats["batches"] if b["collection"] == "news"]
assert sizes == [17] * 7 + [1], f"news update batches {sizes}"
indexes = int(stats["commands"]["createindexes"]["$numberInt"])
assert indexes == 5, f"createIndexes sent {indexes} times, want once per dataset"
print(f"batching: news went out as {len(sizes)} update commands {sizes}")
PY
fi

# 3. Replay: the same events in other batches, and an overlapping range.
"$drv" load mongodb "$uri" news 0 120 7 >/dev/null
"$drv" load mongodb "$uri" news 100 50 50 >/dev/null
check_collection news news 0 150

# 4. Retries (fake): closed connection, lost reply, server error — then all arrive once.
if [[ $fake == 1 ]]; then
  mongo '{"fakemongoFault": 1, "command": "update", "action": "close", "count": 1}' >/dev/null
  mongo '{"fakemongoFault": 1, "command": "update", "action": "lost_reply", "count": 1}' >/dev/null
  mongo '{"fakemongoFault": 1, "command": "update", "action": "error", "count": 1}' >/dev/null
  "$drv" runner mongodb "$uri" policy 120 200 25 0 >"$work/runner.out"
  cat "$work/runner.out"
  grep -Eq "delivered 200 events, retries [3-9]" "$work/runner.out" ||
    { echo "expected 200 events delivered after 3 retries"; exit 1; }
  check_collection policy policy 0 320
fi

# 5. The real pipeline: `stockpipe collect` into a configured collection.
fakeapi_start
trap cleanup EXIT # fakeapi_start installed its own EXIT trap: ours calls fakeapi_stop too
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
financial_pipeline "$work/mongo.yaml" "type: mongodb, uri: \"$uri\", database: stockpipe_test, collection: quotes, batch_size: 100"
for round in 1 2; do
  rm -rf "$work/data" # no watermarks: the second round emits the same quotes again
  "$STOCKPIPE_BIN" collect financial_data --config "$work/mongo.yaml" --data-dir "$work/data" 2>"$work/collect.err" ||
    { echo "collect failed:"; cat "$work/collect.err"; exit 1; }
  n=$(mongo '{"count": "quotes"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["n"]["$numberInt"])')
  [[ $n == 7 ]] || { echo "round $round: quotes holds $n documents, want 7"; exit 1; }
done
"$drv" mongo-dump "$uri" quotes | python3 -c '
import json, sys
tickers = sorted(json.loads(l)["ticker"] for l in sys.stdin)
assert tickers == ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA"], tickers'
echo "sink mongodb: all checks passed"
