#!/usr/bin/env bash
# tests/crash/run.sh — the crash test of issue 4 (and its PostgreSQL variant, issue 8):
# exactly-once storage under SIGKILL.
#
#   tests/crash/run.sh [--postgres] [KILLS]   (default 20; `make test` runs 20, run 200+ on demand)
#
# The fake API serves a long stream of unique, valid hourly bars (tests/tools/c/gen_chart:
# TICKERS symbols x every NYSE session hour of ~8 weeks).  The pipeline fans the stream
# out from one source to two file channels.  One is drained into CSV files.  The other:
#  - by default into JSON Lines files whose folder is made read-only (chattr +i) part of
#    the time, so that sink keeps failing and retrying;
#  - with --postgres into a table of a throw-away PostgreSQL server (tests/postgres/lib.sh)
#    whose sink connections are terminated (pg_terminate_backend) part of the time, so
#    that sink keeps reconnecting and retrying batches whose COMMIT it never saw answered.
#    The server is made slow, as a busy one is: triggers sleep 50 ms at the start of each
#    batch's COPY into the table (or INSERT, on the stage-table path), at the end of its
#    COPY into the stage table, and at its COMMIT, so draining the table takes many runs
#    and most kills land inside a transaction or between its COMMIT and the channel's.
# `stockpipe collect stock_movements` is started KILLS times and killed with SIGKILL at a
# random moment (fetching, putting, writing, renaming, COPYing, committing...), then run
# once more to completion.  Both outputs must hold exactly the produced keys, none twice,
# none missing; the PostgreSQL table must also hold the same values as the CSV files
# (every column).  Needs: STOCKPIPE_BIN, STOCKPIPE_BUILD_DIR, STOCKPIPE_SOURCE_DIR; with
# --postgres the PostgreSQL server binaries (scripts/install-deps.sh), else it fails.
set -euo pipefail
postgres=no
if [[ ${1:-} == --postgres ]]; then postgres=yes; shift; fi
kills=${1:-20}
tickers=${CRASH_TICKERS:-30}
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/postgres/lib.sh"
work=$(mktemp -d /tmp/sp_crash.XXXXXX)
toggler=
# The toggler stops at the end of a round (a kill could leave its `chattr -R +i`
# running on, making the tree immutable again after our `chattr -R -i`).
stop_toggler() {
  [[ -n $toggler ]] || return 0
  touch "$work/stop_toggler"
  wait "$toggler" 2>/dev/null || true
  toggler=
}
cleanup() {
  set +e
  stop_toggler
  chattr -R -i "$work" 2>/dev/null || true
  fakeapi_stop
  pg_stop
  [[ -n ${CRASH_KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

if [[ $postgres == yes ]]; then
  pg_start || { echo "crash test (postgresql): cannot start a PostgreSQL server (see above)"; exit 1; }
  # The slow server: when the sink creates its table or its stage table, an event
  # trigger gives it a statement trigger sleeping 50 ms (start of each COPY or INSERT into
  # the table, before the COPY reads its data; end of each COPY into the stage) and the
  # table a deferred trigger sleeping 50 ms once per transaction, at COMMIT.
  pg_sql "
    CREATE FUNCTION crash_sleep() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_sleep(0.05);
      ELSIF current_setting('crash.slept', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('crash.slept', 'yes', true); -- until the end of the transaction
        PERFORM pg_sleep(0.05);
      END IF;
      RETURN NULL;
    END \$\$;
    CREATE FUNCTION crash_slow_tables() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
    DECLARE t text;
    BEGIN
      FOR t IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
               WHERE command_tag = 'CREATE TABLE' LOOP
        IF t = 'public.crash_movements' THEN
          CREATE TRIGGER crash_slow_insert BEFORE INSERT ON crash_movements
            FOR EACH STATEMENT EXECUTE FUNCTION crash_sleep();
          CREATE CONSTRAINT TRIGGER crash_slow_commit AFTER INSERT ON crash_movements
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crash_sleep();
        ELSIF t LIKE 'pg_temp%.stockpipe_stage_stock_movements' THEN
          EXECUTE format('CREATE TRIGGER crash_slow_copy AFTER INSERT ON %s
                          FOR EACH STATEMENT EXECUTE FUNCTION crash_sleep()', t);
        END IF;
      END LOOP;
    END \$\$;
    CREATE EVENT TRIGGER crash_slow_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
      EXECUTE FUNCTION crash_slow_tables();"
fi

# The produced stream: bars of the last ~8 weeks up to yesterday (all complete, all
# inside the first poll's 60-day window).
symbols=$(seq -f "CR%02g" 1 "$tickers" | tr '\n' ' ')
from=$(date -u -d '-56 days' +%F)
to=$(date -u -d '-1 day' +%F)
mkdir -p "$work/charts"
# shellcheck disable=SC2086
"$STOCKPIPE_BUILD_DIR/tests/gen_chart" "$work/charts" 1h "$from" "$to" $symbols | sort >"$work/produced.keys"

routes="$work/routes.json"
python3 - "$work/charts" >"$routes" <<'PY'
import json, os, sys
d = sys.argv[1]
print(json.dumps({"routes": [{"name": "crash-" + f, "path": "/v8/finance/chart/" + f[6:-5],
                              "body": open(os.path.join(d, f)).read()} for f in sorted(os.listdir(d))]}))
PY
fakeapi_start --routes "$routes"
trap cleanup EXIT # fakeapi_start installed its own EXIT trap: ours calls fakeapi_stop too
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL

list=$(echo $symbols | tr ' ' ',')
csv_sink="movement_sink: {type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 500}"
if [[ $postgres == yes ]]; then
  # `collect` drains its sinks one after the other in this order: PostgreSQL first, and
  # the fetch (30 requests) unthrottled, so kills reach that drain early in every run.
  sinks="mirror_sink: {type: postgresql, connection_string: \"$PG_CONNINFO\", table: crash_movements, batch_size: 80}
  $csv_sink"
  providers="providers: {yahoo: {rate_limit: 0}}"
else
  sinks="$csv_sink
  mirror_sink: {type: file, path: mirror/%Y-%m-%d, format: jsonl, batch_size: 300}"
  providers=
fi
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
  $sinks
bindings:
  movement_source: [movement_channel, mirror_channel]
  movement_channel: movement_sink
  mirror_channel: mirror_sink
$providers
YAML
data=$work/data
mkdir -p "$data/mirror"

# The failing sink.
failing=no
if [[ $postgres == yes ]]; then
  # its connection is terminated every 1-2 s, wherever it is
  failing=yes
  ( while [[ ! -e $work/stop_toggler ]]; do sleep 1.$((RANDOM % 10))
                pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                        WHERE application_name = 'stockpipe'" >>"$work/terminated" 2>/dev/null; done ) &
  toggler=$!
elif chattr +i "$data/mirror" 2>/dev/null && chattr -i "$data/mirror"; then
  # its folder tree is immutable (even for root) about half the time
  failing=yes
  ( while [[ ! -e $work/stop_toggler ]]; do chattr -R +i "$data/mirror" 2>/dev/null; sleep 0.$((RANDOM % 4 + 1));
                chattr -R -i "$data/mirror" 2>/dev/null; sleep 0.$((RANDOM % 4 + 1)); done ) &
  toggler=$!
fi

# exec: the background job's pid must be stockpipe itself, so SIGKILL reaches it.  The
# PostgreSQL sink says at DEBUG how many rows of each batch it found already stored.
log_level=ERROR
[[ $postgres == yes ]] && log_level=DEBUG
run() { exec "$STOCKPIPE_BIN" collect stock_movements --config "$work/cfg.yaml" --data-dir "$data" --log-level $log_level; }
start=$(date +%s.%N)
for ((k = 1; k <= kills; k++)); do
  run >/dev/null 2>>"$work/runs.err" &
  pid=$!
  # a random moment in the first 1.5 s (most runs take longer than that, so kills land
  # in every phase: fetch, put, drain, rename, COPY, COMMIT)
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  (( RANDOM % 2 )) && sleep 0.5
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
stop_toggler
chattr -R -i "$data/mirror" 2>/dev/null || true
(run 2>>"$work/runs.err") || { echo "final run failed:"; tail -20 "$work/runs.err"; exit 1; }
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")

if [[ $postgres == yes ]]; then
  # The table as CSV (NULL = an empty unquoted field), its counts, and what the server
  # saw of the kills: a client gone inside a transaction is logged by the server.
  pg_sql "SELECT count(*) || ' ' || count(DISTINCT (ticker, interval, bar_time)) FROM crash_movements" \
    >"$work/pg_counts"
  pg_sql "SET TimeZone = 'UTC'; COPY crash_movements TO STDOUT (FORMAT csv, HEADER)" >"$work/pg_rows.csv"
  "$STOCKPIPE_BUILD_DIR/tests/sink_driver" schema stock_movements >"$work/schema.json"
  echo "PostgreSQL: $(grep -c 'open transaction' "$PG_DIR/server.log" || true) clients gone inside a transaction" \
       "(SIGKILL during COPY/INSERT/COMMIT);" \
       "$(grep -Ec 'mirror_sink\] committed [0-9]+ rows: [0-9]+ new, [1-9][0-9]* already' "$work/runs.err" || true)" \
       "batches committed again after a COMMIT whose answer was lost;" \
       "$(grep -c 'terminating connection due to administrator command' "$PG_DIR/server.log" || true)" \
       "sink connections terminated"
fi

python3 - "$data" "$work" "$kills" "$failing" "$elapsed" "$postgres" <<'PY'
import collections, csv, datetime, glob, json, os, sys
data, work, kills, failing, elapsed, postgres = sys.argv[1:]
produced = set(l.strip() for l in open(f"{work}/produced.keys") if l.strip())
def check(name, keys):
    c = collections.Counter(keys)
    dup = sum(n - 1 for n in c.values() if n > 1)
    lost = len(produced - set(c))
    extra = len(set(c) - produced)
    print(f"{name}: stored {len(keys)} rows, produced {len(produced)}, lost {lost}, duplicated {dup}, unexpected {extra}")
    return lost == 0 and dup == 0 and extra == 0
def key(r):
    return f"{r['ticker']},{r['interval']},{r['bar_time']}"
csv_rows = [r for p in glob.glob(os.path.join(data, "raw/stock_movements/*/*.csv")) for r in csv.DictReader(open(p))]
ok = check("csv sink", [key(r) for r in csv_rows])
if postgres == "no":
    jsonl_keys = [key(r) for p in glob.glob(os.path.join(data, "mirror/*/*.jsonl")) for r in map(json.loads, open(p))]
    ok &= check(f"jsonl sink (failing part of the time: {failing})", jsonl_keys)
else:
    # Every column of the table against the CSV files, typed: NULL is an empty field on
    # both sides (PostgreSQL quotes an empty string), doubles and times compared as values.
    types = {c["name"]: c["type"] for c in json.load(open(f"{work}/schema.json"))["columns"]}
    def utc(text):
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return t.astimezone(datetime.timezone.utc)
    conv = {"DOUBLE": float, "INT64": int, "INT32": int, "TIMESTAMP": utc,
            "DATE": datetime.date.fromisoformat, "STRING": str, "BOOLEAN": lambda v: v in ("t", "true")}
    def typed(row):
        return {n: (None if v == "" else conv[types[n]](v)) for n, v in row.items()}
    with open(f"{work}/pg_rows.csv", newline="") as f:
        pg_rows = [typed(r) for r in csv.DictReader(f)]
    for r in pg_rows:
        r["bar_time"] = r["bar_time"].strftime("%Y-%m-%dT%H:%M:%SZ")
    count, distinct = map(int, open(f"{work}/pg_counts").read().split())
    ok &= check(f"postgresql sink (connections terminated part of the time)", [key(r) for r in pg_rows])
    print(f"postgresql table: count {count}, count distinct key {distinct}, expected {len(produced)}")
    ok &= count == distinct == len(produced)
    by_key = {key(r): r for r in pg_rows}
    differ = 0
    for r in map(typed, csv_rows):
        r["bar_time"] = r["bar_time"].strftime("%Y-%m-%dT%H:%M:%SZ")
        got = by_key.get(key(r))
        if got is not None and got != r:
            if differ == 0:
                print("first row whose values differ:\n  postgresql", got, "\n  csv       ", r)
            differ += 1
    print(f"postgresql table vs csv files, every column: {differ} rows differ")
    ok &= differ == 0
quarantined = glob.glob(os.path.join(data, "quarantine", "**", "*.*"), recursive=True)
print(f"{kills} SIGKILLs in {elapsed} s; quarantine files: {len(quarantined)}")
sys.exit(0 if ok and not quarantined else 1)
PY
