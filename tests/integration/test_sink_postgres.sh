#!/usr/bin/env bash
# test_sink_postgres.sh — the PostgreSQL sink against a real PostgreSQL 15 server that
# this script starts on 127.0.0.1 (tests/postgres/lib.sh) and stops at the end.
#
# Checks, through tests/tools/c/sink_driver.c and the real `stockpipe collect`:
#  1. every dataset's table is created with the schema's types, NOT NULL per
#     nullability and the SPEC key as primary key; rows arrive with exact values
#     (strings with tab/newline/backslash/\N/quotes/non-ASCII/empty, doubles near the
#     range ends, INT64 extremes, timestamps with microseconds, NULLs);
#  2. replaying the same events (other batch cuts, overlapping ranges) adds nothing,
#     also into a table made beforehand with other column types (stage-table path);
#  3. a sink connection terminated between batches is re-established by the retry
#     (runner + memory channel), nothing lost or doubled;
#  4. a wrong password gives a clear error naming the server and user, and the
#     password appears nowhere in what is printed (driver and `stockpipe collect`);
#  5. `stockpipe collect financial_data` against the fake API stores the 7 quotes in a
#     configured table, and a second round adds nothing;
#  6. batches holding rows of several datasets (each dataset's COPY after a SAVEPOINT
#     in one transaction): stored exactly; a replay of the same batches adds nothing;
#     a batch where one dataset's direct COPY meets stored keys rolls back to its
#     savepoint and loads that dataset through the stage table, while the batch's
#     other datasets keep their direct COPY (a counting trigger shows which path ran).
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/postgres/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/sp_pgtest.XXXXXX)
cleanup() { fakeapi_stop; pg_stop; rm -rf "$work"; }
trap cleanup EXIT
pg_start
drv=$STOCKPIPE_BUILD_DIR/tests/sink_driver
[[ -x $drv ]] || { echo "missing $drv"; exit 1; }

# Compare the table $2 with the driver's rows $3..$3+$4-1 of dataset $1, and its
# column types, nullability and primary key with the schema (in database $DB, default
# postgres; check_table_in DB ... sets it).
check_table() {
  local ds=$1 table=$2 first=$3 count=$4 db=${DB:-postgres}
  "$drv" schema "$ds" >"$work/schema.json"
  "$drv" expected "$ds" "$first" "$count" >"$work/expected.jsonl"
  pg_sql "SET TimeZone = 'UTC'; SELECT row_to_json(t) FROM $table t" "$db" >"$work/actual.jsonl"
  pg_sql "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
          WHERE table_name = '$table' ORDER BY ordinal_position" "$db" >"$work/columns.txt"
  pg_sql "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
            AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = '$table'::regclass AND i.indisprimary
          ORDER BY array_position(i.indkey::int2[], a.attnum)" "$db" >"$work/pkey.txt"
  python3 - "$work" "$table" <<'PY'
import datetime, json, sys
work, table = sys.argv[1], sys.argv[2]
schema = json.load(open(f"{work}/schema.json"))
pg_types = {"STRING": "text", "DOUBLE": "double precision", "INT64": "bigint", "INT32": "integer",
            "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp with time zone"}
want_cols = [f"{c['name']} {pg_types[c['type']]} {'YES' if c['nullable'] else 'NO'}" for c in schema["columns"]]
got_cols = open(f"{work}/columns.txt").read().split("\n")[:-1]
assert got_cols == want_cols, f"{table} columns:\n{got_cols}\nwant\n{want_cols}"
got_key = open(f"{work}/pkey.txt").read().split()
assert got_key == schema["key"], f"{table} primary key {got_key}, want {schema['key']}"
types = {c["name"]: c["type"] for c in schema["columns"]}
def norm(row):
    out = []
    for name, value in row.items():
        t = types[name]
        if value is not None and t == "TIMESTAMP":
            value = datetime.datetime.fromisoformat(value).astimezone(datetime.timezone.utc)
        elif value is not None and t == "DOUBLE":
            value = float(value)
        out.append((name, value))
    return tuple(out)
want = sorted(map(norm, (json.loads(l) for l in open(f"{work}/expected.jsonl"))), key=repr)
got = sorted(map(norm, (json.loads(l) for l in open(f"{work}/actual.jsonl"))), key=repr)
if got != want:
    for w, g in zip(want, got):
        if w != g:
            sys.exit(f"{table}: first difference\n got  {g}\n want {w}")
    sys.exit(f"{table}: {len(got)} rows, want {len(want)}")
print(f"{table}: {len(got)} rows equal, types and key as the schema says")
PY
}
check_table_in() { # DB DATASET FIRST COUNT: the table named after the dataset, in database DB
  DB=$1 check_table "$2" "$2" "$3" "$4"
}

# 1. Exact values and types, every dataset (odd batch cuts).
for ds in financial_data stock_movements news macroeconomic policy; do
  "$drv" load postgresql "$PG_CONNINFO" "$ds" 0 120 17 >/dev/null
  check_table "$ds" "$ds" 0 120
done

# 2. Replay: the same events in other batches, and an overlapping range.
"$drv" load postgresql "$PG_CONNINFO" news 0 120 7 >/dev/null
"$drv" load postgresql "$PG_CONNINFO" news 100 50 50 >/dev/null
check_table news news 0 150
echo "replay: 120 + 30 new of 170 committed events -> $(pg_sql 'SELECT count(*) FROM news') rows"

# 2b. A table made beforehand with other (compatible) column types: binary COPY cannot
# convert, so the sink loads through its stage table; the rows and the replay come out
# the same as in the table it created itself.
pg_sql "CREATE DATABASE custom"
custom=${PG_CONNINFO/dbname=postgres/dbname=custom}
"$drv" load postgresql "$custom" policy 0 60 17 >/dev/null
pg_sql "ALTER TABLE policy ALTER COLUMN title TYPE varchar" custom
"$drv" load postgresql "$custom" policy 0 120 17 >/dev/null 2>"$work/custom.err"
grep -q "column types differ from the schema's; loading through the stage table" "$work/custom.err" ||
  { echo "a table with other column types did not go through the stage table:"; cat "$work/custom.err"; exit 1; }
rows_digest="SELECT count(*) || ' ' || md5(string_agg(t::text, E'\n' ORDER BY event_id)) FROM policy t"
[[ $(pg_sql "$rows_digest" custom) == "$(pg_sql "$rows_digest")" ]] ||
  { echo "policy rows through the stage table differ from the direct ones"; exit 1; }
echo "table with other column types: $(pg_sql "SELECT count(*) FROM policy" custom) rows, equal"

# 3. A killed connection between batches: the runner's retry reconnects.
"$drv" runner postgresql "$PG_CONNINFO" policy 120 200 25 1 >"$work/runner.out"
cat "$work/runner.out"
grep -q "terminated [1-9]" "$work/runner.out" || { echo "no sink connection was terminated"; exit 1; }
grep -Eq "delivered 200 events, retries [1-9]" "$work/runner.out" ||
  { echo "expected 200 events delivered after at least one retry"; exit 1; }
check_table policy policy 0 320

# 4. A wrong password: clear error, no password printed.
bad="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres password=Wrong-Secret-4242"
set +e
"$drv" open postgresql "$bad" >"$work/bad.out" 2>&1
code=$?
set -e
[[ $code == 3 ]] || { echo "wrong password: exit $code, want 3"; cat "$work/bad.out"; exit 1; }
grep -q "password authentication failed" "$work/bad.out" || { echo "unclear error:"; cat "$work/bad.out"; exit 1; }
grep -q "127.0.0.1:$PG_PORT/postgres as postgres" "$work/bad.out" ||
  { echo "error does not name the server:"; cat "$work/bad.out"; exit 1; }
if grep -q "Wrong-Secret-4242" "$work/bad.out"; then echo "the password was printed"; exit 1; fi

# 6. Batches mixing datasets, in their own database.  A BEFORE INSERT trigger counts
# every row the server was asked to insert into a table, through a sequence (not rolled
# back with the transaction): a direct COPY that succeeds asks exactly once per row; one
# that meets a stored key is rolled back after asking at least once, and the stage
# path's INSERT ... ON CONFLICT then asks once per staged row.
pg_sql "CREATE DATABASE mixed"
mixed=${PG_CONNINFO/dbname=postgres/dbname=mixed}
mixed_sql() { pg_sql "$1" mixed; }
"$drv" mixed postgresql "$mixed" 25 financial_data:0:40 news:0:40 policy:0:40 >"$work/mixed.out"
grep -q "committed 120 events in 5 batches" "$work/mixed.out" || { cat "$work/mixed.out"; exit 1; }
for ds in financial_data news policy; do
  check_table_in mixed "$ds" 0 40
  mixed_sql "CREATE SEQUENCE attempts_$ds"
done
mixed_sql "CREATE FUNCTION count_attempt() RETURNS trigger LANGUAGE plpgsql AS
           \$\$ BEGIN PERFORM nextval('attempts_' || TG_TABLE_NAME); RETURN NEW; END \$\$"
for ds in financial_data news policy; do
  mixed_sql "CREATE TRIGGER count_attempt BEFORE INSERT ON $ds FOR EACH ROW EXECUTE FUNCTION count_attempt()"
done
attempts() { mixed_sql "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM attempts_$1"; }
reset_attempts() { for ds in financial_data news policy; do mixed_sql "ALTER SEQUENCE attempts_$ds RESTART"; done; }

# 6a. The same batches again: every key is stored, nothing is added.
"$drv" mixed postgresql "$mixed" 25 financial_data:0:40 news:0:40 policy:0:40 >/dev/null
for ds in financial_data news policy; do
  check_table_in mixed "$ds" 0 40
  n=$(attempts "$ds")
  (( n > 40 )) || { echo "replay of $ds: $n insert attempts, want a rolled-back direct COPY and 40 staged"; exit 1; }
done
echo "mixed replay: 3 x 40 rows stay 3 x 40"

# 6b. One batch of 100 events: financial_data and policy rows are new, news rows 20..59
# half stored.  news's direct COPY fails on a stored key and is rolled back to its
# savepoint (financial_data's COPY before it stays), news goes through the stage table
# (20 new rows), policy's COPY after it is direct again.
reset_attempts
"$drv" mixed postgresql "$mixed" 100 financial_data:40:30 news:20:40 policy:40:30 >"$work/mixed.out"
grep -q "committed 100 events in 1 batches" "$work/mixed.out" || { cat "$work/mixed.out"; exit 1; }
check_table_in mixed financial_data 0 70
check_table_in mixed news 0 60
check_table_in mixed policy 0 70
for want in financial_data:30 policy:30; do
  [[ $(attempts "${want%:*}") == "${want#*:}" ]] ||
    { echo "${want%:*}: $(attempts "${want%:*}") insert attempts, want ${want#*:} (one direct COPY)"; exit 1; }
done
n=$(attempts news)
(( n > 40 )) || { echo "news: $n insert attempts, want a rolled-back direct COPY and 40 staged"; exit 1; }
echo "mixed batch with a conflict: financial_data 70, news 60, policy 70 rows; news fell back ($n attempts)"

# 5. The real pipeline: `stockpipe collect` into a configured table.
fakeapi_start
trap cleanup EXIT # fakeapi_start installed its own EXIT trap: ours calls fakeapi_stop too
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
write_config() { # $1 = connection string, $2 = file
  financial_pipeline "$2" "type: postgresql, connection_string: \"$1\", table: quotes, batch_size: 100"
}
write_config "$PG_CONNINFO" "$work/pg.yaml"
"$STOCKPIPE_BIN" collect financial_data --config "$work/pg.yaml" --data-dir "$work/data" 2>"$work/collect.err" ||
  { echo "collect failed:"; cat "$work/collect.err"; exit 1; }
rows=$(pg_sql "SELECT count(*) FROM quotes WHERE provider = 'yahoo' AND price > 0")
[[ $rows == 7 ]] || { echo "quotes holds $rows yahoo rows, want 7"; cat "$work/collect.err"; exit 1; }
tickers=$(pg_sql "SELECT string_agg(ticker, ',' ORDER BY ticker) FROM quotes")
[[ $tickers == AAPL,AMZN,GOOGL,META,MSFT,NVDA,TSLA ]] || { echo "tickers: $tickers"; exit 1; }
rm -rf "$work/data"   # no watermarks: the source emits the same quotes again
"$STOCKPIPE_BIN" collect financial_data --config "$work/pg.yaml" --data-dir "$work/data" 2>>"$work/collect.err"
rows=$(pg_sql "SELECT count(*) FROM quotes")
[[ $rows == 7 ]] || { echo "a replayed round changed quotes to $rows rows"; exit 1; }

write_config "$bad" "$work/bad.yaml"
set +e
"$STOCKPIPE_BIN" collect financial_data --config "$work/bad.yaml" --data-dir "$work/data2" --log-level DEBUG \
  >"$work/badcollect.out" 2>&1
code=$?
set -e
[[ $code != 0 ]] || { echo "collect with a wrong password succeeded"; exit 1; }
grep -q "password authentication failed" "$work/badcollect.out" ||
  { echo "collect: unclear error:"; cat "$work/badcollect.out"; exit 1; }
if grep -q "Wrong-Secret-4242" "$work/badcollect.out"; then echo "collect printed the password"; exit 1; fi
echo "sink postgresql: all checks passed"
