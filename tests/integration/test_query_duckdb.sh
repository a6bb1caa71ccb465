#!/usr/bin/env bash
# test_query_duckdb.sh — the offline query engine against DuckDB and under stress:
#  1. query_gen (tests/tools/c/query_gen.c) writes the five datasets as the file sink lays
#     them out, three times: Parquet, CSV and JSON Lines; query_duckdb_check.mjs runs a
#     matrix of queries through `stockpipe query` on each and compares every answer with
#     DuckDB's on the Parquet files; exports read back by DuckDB; summary numbers.
#  2. Errors: unknown dataset / column, malformed --where → exit 2 naming it; a corrupt
#     file → exit 1 naming it; with --skip-bad-files → exit 0, the file named on stderr,
#     the other files' rows returned.
#  3. Compaction under concurrent queries: row counts never change while `compact` runs;
#     afterwards one file a day, same rows.
#  4. retention --dry-run lists without deleting; retention deletes exactly those.
set -euo pipefail
bin="$STOCKPIPE_BIN"
gen="$STOCKPIPE_BUILD_DIR/tests/query_gen"
[ -x "$gen" ] || { echo "missing $gen (build the test tools)" >&2; exit 1; }
[ -d "$STOCKPIPE_TEST_TOOLS/node_modules/@duckdb/node-api" ] || {
  echo "missing @duckdb/node-api in $STOCKPIPE_TEST_TOOLS" >&2; exit 1; }
work=$(mktemp -d /tmp/stockpipe-query.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" # no ./config/stockpipe.yaml here: built-in defaults
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- 1. DuckDB equality ----
"$gen" test "$work/pq"
"$gen" test "$work/csv" csv
"$gen" test "$work/jsonl" jsonl
node "$STOCKPIPE_TEST_TOOLS/query_duckdb_check.mjs" "$bin" "$work/pq" "$work/csv" "$work/jsonl" "$work"

# ---- 2. errors ----
expect_error() { # expected-exit pattern args...
  local want=$1 pattern=$2; shift 2
  set +e; "$bin" "$@" --data-dir "$work/pq" >"$work/out" 2>"$work/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "stockpipe $*: exit $rc, expected $want ($(cat "$work/err"))"
  grep -q -- "$pattern" "$work/err" || fail "stockpipe $*: stderr does not name '$pattern': $(cat "$work/err")"
  [ ! -s "$work/out" ] || [ "$want" = 0 ] || fail "stockpipe $*: data on stdout despite the error"
}
expect_error 2 'unknown dataset "bogus"' query bogus
expect_error 2 'no column "nope"' query news --columns ticker,nope
expect_error 2 'no column "nope"' query news --where 'nope=1'
expect_error 2 'sentiment_score >> 1' query news --where 'sentiment_score >> 1'
expect_error 2 'is not a number' query news --where 'sentiment_score>=high'
expect_error 2 'expected a date' query news --from 2026-13-01
expect_error 2 'unterminated' query news --where "headline='abc"
expect_error 2 'needs --output' query news --format parquet
total=$("$bin" query stock_movements --data-dir "$work/pq" --format csv --columns ticker | wc -l)
victim=$(find "$work/pq/raw/stock_movements/2026-03-03" -name '*.parquet' | sort | head -1)
victim_rows=$("$bin" query stock_movements --data-dir "$work/pq" --from 2026-03-03 --to 2026-03-03 --format csv --columns ticker | wc -l)
head -c 3000 "$victim" > "$work/cut" && cat "$work/cut" > "$victim" # truncated: no footer
expect_error 1 "$victim" query stock_movements --format csv
expect_error 0 "skipped bad file: $victim" query stock_movements --format csv --columns ticker --skip-bad-files
rows=$(wc -l < "$work/out")
[ "$rows" -lt "$total" ] && [ "$rows" -gt $((total - victim_rows)) ] ||
  fail "--skip-bad-files returned $rows lines (all files: $total)"
rm "$victim"

# ---- 3. compaction under concurrent queries ----
"$gen" many "$work/many" 12 8
count() { "$bin" query stock_movements --data-dir "$work/many" --format csv --columns ticker,bar_time | wc -l; }
expected=$(count)
before_sum=$("$bin" query stock_movements --data-dir "$work/many" --format csv | md5sum)
( while [ ! -e "$work/stop" ]; do n=$(count); [ "$n" = "$expected" ] || echo "$n" >> "$work/bad"; echo . >> "$work/ran"; done ) &
reader=$!
sleep 0.2
"$bin" compact stock_movements --data-dir "$work/many" --before 2026-03-20 > "$work/compact.out"
sleep 0.2
touch "$work/stop"
wait "$reader"
[ ! -e "$work/bad" ] || fail "a query during compaction saw $(sort -u "$work/bad" | tr '\n' ' ')rows, expected $expected"
echo "compaction: $(wc -l < "$work/ran") concurrent queries, all $expected lines; $(cat "$work/compact.out")"
for d in "$work"/many/raw/stock_movements/*/; do
  [ "$(find "$d" -type f | wc -l)" = 1 ] || fail "$d holds $(ls "$d") after compact"
done
after_sum=$("$bin" query stock_movements --data-dir "$work/many" --format csv | md5sum)
[ "$before_sum" = "$after_sum" ] || fail "compaction changed the query result"

# ---- 4. retention ----
# "today" for the test and for the commands alike (STOCKPIPE_NOW, the test-only clock
# of one-off commands, core/timeutil.h): a run across 00:00 UTC would otherwise move
# the cut by a day between the lines below.
export STOCKPIPE_NOW=2026-11-25T12:00:00Z
today=$(( $(date -u -d "$STOCKPIPE_NOW" +%s) / 86400 ))
keep_from=$(( $(date -u -d 2026-03-05 +%s) / 86400 ))
printf 'pipeline:\n  retention_days: {financial_data: 0, stock_movements: %d, news: 0, macroeconomic: 0, policy: 0}\n' \
  $(( today - keep_from )) > "$work/retention.yaml"
"$bin" retention --dry-run --config "$work/retention.yaml" --data-dir "$work/pq" > "$work/dry"
grep -c '^would delete stock_movements' "$work/dry" | grep -qx 3 || fail "dry run: $(cat "$work/dry")"
[ -d "$work/pq/raw/stock_movements/2026-03-01" ] || fail "--dry-run deleted something"
"$bin" retention --config "$work/retention.yaml" --data-dir "$work/pq" > "$work/real"
[ "$(sed 's/^would delete/deleted/' "$work/dry")" = "$(cat "$work/real")" ] || fail "retention did not do what --dry-run listed"
ls "$work/pq/raw/stock_movements" | tr '\n' ' ' | grep -qx '2026-03-05 2026-03-06 2026-03-07 2026-03-08 2026-03-09 ' ||
  fail "retention left $(ls "$work/pq/raw/stock_movements")"
echo "test_query_duckdb: ok"
