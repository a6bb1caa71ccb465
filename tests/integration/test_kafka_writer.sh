#!/usr/bin/env bash
# test_kafka_writer.sh — docs/SCALING.md end to end: collectors on two "machines"
# (two data directories, different tickers, the fake API) put their quotes into one
# Kafka topic through the Kafka sink; a writer agent (a Kafka channel, no source)
# takes them into Parquet files.  Kafka is librdkafka's mock cluster
# (tests/tools/c/kafka_mock.c, 3 brokers, alive until its stdin closes).
#
# Checks:
#  1. `stockpipe config check` and `stockpipe run --once` accept the writer-only
#     config; --once consumes up to the end offsets seen at start and exits 0;
#  2. every row arrives exactly once by key (ticker, quote_time) — the 7 collected
#     quotes and WRITER_ROWS generated rows (tests/tools/c/sink_driver: strings with
#     tabs/newlines/quotes, INT64 extremes, microsecond timestamps), read back with
#     DuckDB, values equal to what was produced;
#  3. the writer daemon (`stockpipe run`) killed with SIGKILL mid-stream and
#     restarted (`run --once`) still leaves each key exactly once (offsets are
#     committed only after the Parquet files are published; a replay is absorbed by
#     the sequence-named files);
#  4. a second `run --once` finds nothing new;
#  5. one topic format: a collector whose channel is itself a Kafka channel (Flume's
#     KafkaChannel, drained by its own file sink) puts messages identical in shape to
#     the Kafka sink's (key = [ticker, quote_time], typed JSON row, dataset header)
#     and its sink stores them;
#  6. another writer agent of the same topic (its own channel name, hence its own
#     consumer group) stores the same rows in PostgreSQL (a real server started here,
#     tests/postgres/lib.sh), each key once, and a rerun adds nothing;
#  7. writers scaled out: two writer daemons with the same channel name (one consumer
#     group) on a 4-partition topic, their file sinks publishing into one shared
#     folder, each get a disjoint 2-partition share and store the rows of their own
#     partitions; one is then killed with SIGKILL while rows stream in, the survivor
#     takes over all four partitions once the group drops the dead one
#     (session_timeout_ms), and every key is stored exactly once.
# Group settings are lowered through the channels' config keys (session_timeout_ms,
# max_poll_interval_ms): the mock's rebalances wait a session time-out less 1 s.
# Prints the writer's rows/s on the mock (run --once from an empty data directory).
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/postgres/lib.sh"
work=$(mktemp -d /tmp/sp_kafkawriter.XXXXXX)
rows=${WRITER_ROWS:-800}
cleanup() {
  fakeapi_stop
  pg_stop
  [[ -n ${daemon_pid:-} ]] && kill -9 $daemon_pid 2>/dev/null
  exec 3>&- 2>/dev/null || true # closing the mock's stdin stops it
  [[ -n ${mock_pid:-} ]] && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
[ -d "$STOCKPIPE_TEST_TOOLS/node_modules/@duckdb/node-api" ] || {
  echo "missing @duckdb/node-api in $STOCKPIPE_TEST_TOOLS" >&2; exit 1; }
fakeapi_start
trap cleanup EXIT # fakeapi_start installed its own EXIT trap: ours calls fakeapi_stop too
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
tools=$STOCKPIPE_BUILD_DIR/tests

mkfifo "$work/mock.in"
"$tools/kafka_mock" 3 financial_data:3 quotes_via_channel:2 policy:4 <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/mock.in"
for ((i = 0; i < 3000; i++)); do [[ -s $work/mock.out ]] && break; sleep 0.01; done
brokers=$(head -1 "$work/mock.out")
[[ -n $brokers ]] || { echo "kafka_mock did not start"; cat "$work/mock.err"; exit 1; }

# ---- the collectors: two machines, two ticker lists, one topic ----
collector_config() { # $1 = tickers
  cat <<YAML
agents:
  collector:
    sources: [financial_source]
    channels: [financial_channel]
    sinks: [financial_kafka]
sources:
  financial_source: {dataset: financial_data, providers: [yahoo], tickers: $1, schedule: 1h}
channels:
  financial_channel: {type: file, capacity: 10000, transactionCapacity: 100}
sinks:
  financial_kafka: {type: kafka, brokers: "$brokers", topic: financial_data, batch_size: 100}
bindings:
  financial_source: [financial_channel]
  financial_channel: financial_kafka
YAML
}
collector_config "[AAPL, MSFT, GOOGL, AMZN]" >"$work/collector_a.yaml"
collector_config "[NVDA, META, TSLA]" >"$work/collector_b.yaml"
for machine in a b; do
  "$STOCKPIPE_BIN" collect financial_data --config "$work/collector_$machine.yaml" --data-dir "$work/$machine" \
    2>"$work/$machine.err" || { echo "collector $machine failed:"; cat "$work/$machine.err"; exit 1; }
done
# More rows, as many collectors would send over time (the Kafka sink, same format).
"$tools/sink_driver" load kafka "$brokers" financial_data 0 "$rows" 500 >/dev/null
total=$((rows + 7))

# A collector whose channel is a Kafka channel: the same format in its own topic.
cat >"$work/collector_c.yaml" <<YAML
agents:
  collector:
    sources: [financial_source]
    channels: [financial_kafka_channel]
    sinks: [financial_files]
sources:
  financial_source: {dataset: financial_data, providers: [yahoo], tickers: [AAPL, NVDA], schedule: 1h}
channels:
  financial_kafka_channel: {type: kafka, brokers: "$brokers", topic: quotes_via_channel, transactionCapacity: 100,
                            session_timeout_ms: 4000, max_poll_interval_ms: 30000}
sinks:
  financial_files: {type: file, format: jsonl, batch_size: 100}
bindings:
  financial_source: [financial_kafka_channel]
  financial_kafka_channel: financial_files
YAML
"$STOCKPIPE_BIN" collect financial_data --config "$work/collector_c.yaml" --data-dir "$work/c" 2>"$work/c.err" ||
  { echo "collector c (Kafka channel) failed:"; cat "$work/c.err"; exit 1; }
"$tools/kafka_mock" --consume "$brokers" quotes_via_channel 2 >"$work/channel_messages.tsv"
python3 - "$work/channel_messages.tsv" "$work/c" <<'PY'
import glob, json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
assert len(rows) == 2, f"{len(rows)} messages, want 2"
for key, value, dataset in rows:
    k, v = json.loads(key), json.loads(value)
    assert dataset == "financial_data" and k == [v["ticker"], v["quote_time"]] and isinstance(v["price"], float), rows
stored = [json.loads(l) for f in glob.glob(f"{sys.argv[2]}/raw/financial_data/*/*.jsonl") for l in open(f)]
assert sorted(r["ticker"] for r in stored) == ["AAPL", "NVDA"], stored
assert sorted(json.dumps(r, sort_keys=True) for r in stored) == sorted(json.dumps(json.loads(v), sort_keys=True) for _, v, _ in rows)
print("Kafka channel put side: 2 messages in the Kafka sink's format, stored by the collector's own sink")
PY

# ---- the writer agent ----
# A writer-only config: channel $1 reading topic $2 (rows of that dataset), its
# group's session time-out $3 ms, sink $4 with settings $5.
writer_config() {
  cat <<YAML
pipeline:
  http: {listen: ""}
agents:
  writer:
    channels: [$1]
    sinks: [$4]
channels:
  $1: {type: kafka, brokers: "$brokers", topic: $2, dataset: $2, transactionCapacity: 100,
       session_timeout_ms: $3, max_poll_interval_ms: 30000}
sinks:
  $4: {$5}
bindings:
  $1: $4
YAML
}
writer_config financial_in financial_data 4000 financial_files \
  "type: file, path: raw/financial_data/%Y-%m-%d, file_prefix: mag7_financial_, format: parquet, batch_size: 50" \
  >"$work/writer.yaml"
"$STOCKPIPE_BIN" config check "$work/writer.yaml" >/dev/null

# Check the Parquet files of data dir $1: $2 rows, each key once, values as produced.
check_store() {
  "$tools/sink_driver" expected financial_data 0 "$rows" >"$work/expected.jsonl"
  node --input-type=module - "$STOCKPIPE_TEST_TOOLS" "$1" "$2" "$work/expected.jsonl" <<'JS'
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const [tools, dataDir, want, expectedFile] = process.argv.slice(2);
const { DuckDBInstance } = await import(join(tools, 'node_modules/@duckdb/node-api/lib/index.js'));
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
const glob = `${dataDir}/raw/financial_data/*/*.parquet`;
const [c] = await q(`SELECT count(*) AS n, count(DISTINCT (ticker, quote_time)) AS k,
  count(*) FILTER (WHERE provider = 'yahoo') AS yahoo FROM read_parquet('${glob}')`);
if (Number(c.n) !== Number(want) || Number(c.k) !== Number(want) || Number(c.yahoo) !== 7)
  throw new Error(`${c.n} rows, ${c.k} distinct keys, ${c.yahoo} from yahoo; want ${want}, ${want}, 7`);
// The generated rows, value by value (timestamps as ISO text, doubles as numbers).
const got = new Map();
for (const r of await q(`SELECT ticker, strftime(quote_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS qt, price, volume,
    market_cap, currency FROM read_parquet('${glob}') WHERE provider <> 'yahoo'`)) got.set(r.ticker, r);
const iso = (s) => s.replace(/\.000000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
let checked = 0;
for (const line of readFileSync(expectedFile, 'utf8').split('\n').filter(Boolean)) {
  const e = JSON.parse(line), g = got.get(e.ticker);
  if (!g) throw new Error(`row ${e.ticker} missing`);
  const same = iso(g.qt) === e.quote_time && Number(g.price) === e.price && g.currency === e.currency &&
    (e.volume === null ? g.volume === null : BigInt(g.volume) === BigInt(line.match(/"volume":(-?\d+)/)[1])) &&
    (e.market_cap === null ? g.market_cap === null : BigInt(g.market_cap) === BigInt(line.match(/"market_cap":(-?\d+)/)[1]));
  if (!same) throw new Error(`row ${JSON.stringify(e.ticker)} differs: ${JSON.stringify(g)} vs ${line}`);
  checked++;
}
console.log(`store ${dataDir.split('/').pop()}: ${c.n} rows, each key once, ${checked} generated rows equal`);
JS
}

# 1-2. run --once on a writer-only config: catches up and exits 0.
start=$(date +%s.%N)
"$STOCKPIPE_BIN" run --once --config "$work/writer.yaml" --data-dir "$work/w1" 2>"$work/w1.err" ||
  { echo "writer run --once failed:"; cat "$work/w1.err"; exit 1; }
end=$(date +%s.%N)
check_store "$work/w1" "$total"
python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'writer run --once: {int(sys.argv[3])} rows in {t:.2f} s = {int(sys.argv[3])/t:.0f} rows/s (process start, catch-up, batches of 50 into one Parquet file per date folder, fsync)')" \
  "$start" "$end" "$total"

# 3. the daemon killed mid-stream, then restarted with --once.  Another writer of the
# same topic: its channel has another name, hence its own consumer group.
sed 's/financial_in/financial_in2/g' "$work/writer.yaml" >"$work/writer2.yaml"
"$STOCKPIPE_BIN" run --config "$work/writer2.yaml" --data-dir "$work/w2" 2>"$work/w2.err" &
daemon_pid=$!
for ((i = 0; i < 1000; i++)); do
  compgen -G "$work/w2/raw/financial_data/*/*.parquet" >/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || { echo "writer daemon died:"; cat "$work/w2.err"; exit 1; }
  sleep 0.01
done
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=
before=$(find "$work/w2/raw" -name '*.parquet' | wc -l)
"$STOCKPIPE_BIN" run --once --config "$work/writer2.yaml" --data-dir "$work/w2" 2>"$work/w2b.err" ||
  { echo "restarted writer failed:"; cat "$work/w2b.err"; exit 1; }
after=$(find "$work/w2/raw" -name '*.parquet' | wc -l)
echo "writer killed after $before Parquet file(s); the restart added $((after - before))"
check_store "$work/w2" "$total"

# 4. nothing new: a second --once adds no file.
"$STOCKPIPE_BIN" run --once --config "$work/writer2.yaml" --data-dir "$work/w2" 2>"$work/w2c.err" ||
  { echo "third writer run failed:"; cat "$work/w2c.err"; exit 1; }
[[ $(find "$work/w2/raw" -name '*.parquet' | wc -l) == "$after" ]] || { echo "a rerun wrote files"; exit 1; }
# 6. a PostgreSQL writer of the same topic.
pg_start
writer_config financial_in_pg financial_data 4000 financial_files \
  "type: postgresql, connection_string: \"$PG_CONNINFO\", table: quotes, batch_size: 100" >"$work/writer_pg.yaml"
for round in 1 2; do
  "$STOCKPIPE_BIN" run --once --config "$work/writer_pg.yaml" --data-dir "$work/w3" 2>"$work/w3.err" ||
    { echo "PostgreSQL writer run $round failed:"; cat "$work/w3.err"; exit 1; }
  got=$(pg_sql "SELECT count(*) || ' ' || count(DISTINCT (ticker, quote_time)) || ' ' ||
                count(*) FILTER (WHERE provider = 'yahoo') FROM quotes")
  [[ $got == "$total $total 7" ]] || { echo "PostgreSQL after run $round: $got (rows, keys, yahoo), want $total $total 7"; exit 1; }
done
echo "store PostgreSQL: $total rows, each key once, a second run added nothing"

# 7. Two writer daemons in one consumer group (same channel name), one shared folder
# (sink paths are relative to data_dir: each data directory links to it).
writer_config policy_in policy 6000 policy_files \
  "type: file, path: shared/policy/%Y-%m-%d, file_prefix: policy_, format: jsonl, batch_size: 20" >"$work/scaled.yaml"
# The group's rebalances as the writer $1 logged them: "assigned 0 1", "revoked 0 1", ...
rebalances() {
  sed -n 's/.*group stockpipe-policy_in: partitions \(.*\) \(assigned\|revoked\|lost\)$/\2 \1/p' "$work/$1.err"
}
current_share() { rebalances "$1" | tail -1 | sed -n 's/^assigned //p'; }
# Wait (up to 120 s: rebalances take seconds) until `$1` succeeds; exit status 2
# from it is a failure that waiting cannot mend.
wait_for() {
  local rc
  for ((i = 0; i < 1200; i++)); do
    rc=0
    eval "$1" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 2)) && { echo "failed: $1"; exit 1; }
    sleep 0.1
  done
  echo "timed out waiting for: $1"; cat "$work/wa.err" "$work/wb.err"; exit 1
}
# Rows 0..$1-1 of policy stored in the shared folder, each key once?  (2: a key twice)
stored_exactly() {
  python3 - "$work/shared" "$1" "$tools/sink_driver" <<'PY'
import glob, json, subprocess, sys
folder, want, drv = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = json.loads(subprocess.run([drv, "schema", "policy"], capture_output=True, text=True).stdout)["key"]
expected = [json.loads(l) for l in subprocess.run([drv, "expected", "policy", "0", str(want)], capture_output=True,
                                                   text=True).stdout.splitlines()]
got = {}
for f in glob.glob(f"{folder}/policy/*/*.jsonl"):
    for line in open(f):
        k = tuple(json.loads(line)[c] for c in key)
        got[k] = got.get(k, 0) + 1
doubled = [k for k, n in got.items() if n > 1]
if doubled:
    print(f"stored more than once: {doubled[:3]}")
    sys.exit(2)
sys.exit(0 if sorted(got) == sorted(tuple(e[c] for c in key) for e in expected) else 1)
PY
}
mkdir -p "$work/shared" "$work/wa" "$work/wb"
for w in wa wb; do
  ln -s ../shared "$work/$w/shared" # one folder (a shared file system), two data directories
  "$STOCKPIPE_BIN" run --config "$work/scaled.yaml" --data-dir "$work/$w" --log-level INFO 2>"$work/$w.err" &
  eval "pid_$w=\$!"
done
daemon_pid="$pid_wa $pid_wb"
wait_for '[[ $(current_share wa | wc -w) == 2 && $(current_share wb | wc -w) == 2 ]]'
share_a=$(current_share wa) share_b=$(current_share wb)
[[ $(echo $share_a $share_b | tr ' ' '\n' | sort | tr '\n' ' ') == "0 1 2 3 " ]] ||
  { echo "shares not disjoint: A has $share_a, B has $share_b"; exit 1; }
before_a=$(rebalances wa | wc -l) before_b=$(rebalances wb | wc -l)
"$tools/sink_driver" load kafka "$brokers" policy 0 400 100 >/dev/null
wait_for 'stored_exactly 400'
# A rebalance meanwhile (a heartbeat late by the session time-out on a loaded machine)
# is allowed: rows are still stored once (checked above); it is only reported.
meanwhile="no rebalance meanwhile"
[[ $(rebalances wa | wc -l) == "$before_a" && $(rebalances wb | wc -l) == "$before_b" ]] ||
  meanwhile="the group rebalanced meanwhile: A $(rebalances wa | tr '\n' ';') B $(rebalances wb | tr '\n' ';')"
# Each writer stored its own partitions' rows (file names carry partition << 40 | offset + 1).
partitions=$(find "$work/shared" -name 'policy_*.jsonl' -printf '%f\n' |
  python3 -c 'import sys; print(" ".join(sorted({str(int(l.split("_")[1].split("-")[0]) >> 40) for l in sys.stdin})))')
[[ $partitions == "0 1 2 3" ]] || { echo "rows in partitions $partitions, want all four"; exit 1; }
echo "scaled writers: A took partitions $share_a, B $share_b; 400 rows stored once, $meanwhile"

# SIGKILL B while more rows stream in: A takes over all four partitions.
"$tools/sink_driver" load kafka "$brokers" policy 400 200 100 >/dev/null
kill -9 "$pid_wb"
wait "$pid_wb" 2>/dev/null || true
daemon_pid=$pid_wa
"$tools/sink_driver" load kafka "$brokers" policy 600 200 100 >/dev/null
wait_for '[[ $(current_share wa) == "0 1 2 3" ]]'
wait_for 'stored_exactly 800'
kill -TERM "$pid_wa"
wait "$pid_wa" || { echo "writer A failed:"; cat "$work/wa.err"; exit 1; }
daemon_pid=
stored_exactly 800 || { echo "after A stopped: rows missing or doubled"; exit 1; }
echo "scaled writers: B killed; A took over partitions 0 1 2 3; 800 rows stored once"
echo "kafka writer: all checks passed"
