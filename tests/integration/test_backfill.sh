#!/usr/bin/env bash
# test_backfill.sh — `stockpipe backfill` (issue 7) end to end against the fake Yahoo API.
#
# The fake serves synthetic, valid 1h bars (tests/tools/c/gen_chart) of 4 symbols over
# the last ~90 days; backfills ask for 7-day chunks (~13 chunks) through a file
# channel whose transactions (50 events) split every chunk, into CSV files.  Checks:
#  1. killed with SIGKILL at random moments several times and re-run until it
#     completes, the stored rows equal an uninterrupted backfill's exactly (keys and
#     every value, indicators included; collected_at aside) and the produced keys,
#     none missing, none twice;
#  2. the uninterrupted backfill equals a live `collect` of the same history (so the
#     indicators were computed over the backfilled series in time order);
#  3. re-running a finished backfill stores nothing;
#  4. after a live `collect` of the last 30 days, a backfill from the start adds only
#     the rows before the live ones (no duplicate key), equal to the uninterrupted
#     backfill's, and the next live `collect` stores nothing (watermarks not moved back);
#  5. a failing ticker: exit 1, the others stored completely; the re-run completes it exactly;
#  6. refusals and usage errors exit 2 (financial_data names yahoo and why);
#  7. a progress bar on a terminal (script(1)), none when stderr is not one;
#  8. macroeconomic from FRED and the World Bank: the range as live collection stores it,
#     re-run stores nothing, live collection afterwards adds only what follows;
#  9. news from Finnhub (Alpha Vantage, which cannot, named and left out): the articles
#     of the range, re-run stores nothing, live collection afterwards only newer ones.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
work=$(mktemp -d /tmp/sp_backfill.XXXXXX)
trap 'fakeapi_stop; rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN
if [[ ${STOCKPIPE_SANITIZED:-0} == 1 ]]; then max_kills=${BACKFILL_KILLS:-4}; else max_kills=${BACKFILL_KILLS:-8}; fi

symbols="BFA BFB BFC BF-D"
from=$(date -u -d '-90 days' +%F)
to=$(date -u -d '-1 day' +%F)
mkdir -p "$work/charts"
# shellcheck disable=SC2086
"$STOCKPIPE_BUILD_DIR/tests/gen_chart" "$work/charts" 1h "$from" "$to" $symbols | sort >"$work/produced.keys"
produced=$(wc -l <"$work/produced.keys")
python3 - "$work/charts" >"$work/routes.json" <<'PY'
import json, os, sys
d = sys.argv[1]
print(json.dumps({"routes": [{"name": "bf-" + f, "path": "/v8/finance/chart/" + f[6:-5],
                              "body": open(os.path.join(d, f)).read()} for f in sorted(os.listdir(d))]}))
PY
fakeapi_start --routes "$work/routes.json" --routes "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/routes.json"
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL STOCKPIPE_FRED_BASE_URL=$FAKEAPI_URL STOCKPIPE_WORLDBANK_BASE_URL=$FAKEAPI_URL
export STOCKPIPE_FRED_KEY=test-fred-key

write_config() { # $1 = file, $2 = extra source keys
  one_source_pipeline "$1" movement \
    "dataset: stock_movements, providers: [yahoo], tickers: [BFA, BFB, BFC, BF-D], bar_interval: 1h, schedule: 1h$2" \
    "type: file, capacity: 100000, transactionCapacity: 50" \
    "type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 50" "providers: {yahoo: {rate_limit: 100}}"
}
write_config "$work/cfg.yaml" ""
write_config "$work/live.yaml" ", initial_history: 100d"
write_config "$work/live30.yaml" ", initial_history: 30d"

backfill() { # $1 = data dir, more args follow
  local dir=$1
  shift
  "$bin" backfill stock_movements --from "$from" --chunk-days 7 --config "$work/cfg.yaml" --data-dir "$dir" "$@"
}
dump() { "$bin" query stock_movements --data-dir "$1" --format csv >"$2"; }
compare() { # $1 $2 = CSV dumps; $3 = "all" or "before:FILE" (only rows earlier than FILE's first bar per ticker)
  python3 - "$@" <<'PY'
import collections, csv, sys
def load(p):
    rows = list(csv.DictReader(open(p)))
    for r in rows: r.pop("collected_at")
    return rows
a, b, mode = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
if mode.startswith("before:"):
    first = {}
    for r in load(mode[7:]): first[r["ticker"]] = min(first.get(r["ticker"], r["bar_time"]), r["bar_time"])
    a = [r for r in a if r["bar_time"] < first[r["ticker"]]]
    b = [r for r in b if r["bar_time"] < first[r["ticker"]]]
assert a, "nothing to compare"
for x, y in zip(a, b):
    if x != y:
        sys.exit(f"rows differ: {x['ticker']} {x['bar_time']} vs {y['ticker']} {y['bar_time']}: "
                 + str({k: (x[k], y[k]) for k in x if x[k] != y[k]}))
assert len(a) == len(b), f"{len(a)} rows vs {len(b)}"
print(f"{len(a)} rows equal")
PY
}
check_keys() { # $1 = CSV dump: exactly the produced keys, none twice
  python3 - "$1" "$work/produced.keys" <<'PY'
import collections, csv, sys
keys = collections.Counter(f"{r['ticker']},{r['interval']},{r['bar_time']}" for r in csv.DictReader(open(sys.argv[1])))
produced = set(l.strip() for l in open(sys.argv[2]) if l.strip())
dup = sum(n - 1 for n in keys.values() if n > 1)
lost, extra = len(produced - set(keys)), len(set(keys) - produced)
print(f"{sum(keys.values())} rows: lost {lost}, duplicated {dup}, unexpected {extra}")
sys.exit(0 if lost == dup == extra == 0 else 1)
PY
}

# --- 2. uninterrupted backfill == live collect of the same history -------------------
start=$(date +%s.%N)
backfill "$work/full" --to "$to" 2>"$work/full.err" || { cat "$work/full.err"; exit 1; }
full_secs=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
grep -q "rows stored" "$work/full.err" || { echo "no summary line:"; cat "$work/full.err"; exit 1; }
if grep -q $'\r' "$work/full.err"; then echo "progress bar drawn although stderr is not a terminal"; exit 1; fi
dump "$work/full" "$work/full.csv"
check_keys "$work/full.csv"
"$bin" collect stock_movements --config "$work/live.yaml" --data-dir "$work/live" --log-level WARN 2>"$work/live.err" ||
  { cat "$work/live.err"; exit 1; }
dump "$work/live" "$work/live.csv"
compare "$work/full.csv" "$work/live.csv" all

# --- 1. SIGKILL at random moments, re-run until complete -------------------------------
run_killable() { exec "$bin" backfill stock_movements --from "$from" --to "$to" --chunk-days 7 --config "$work/cfg.yaml" \
  --data-dir "$work/killed" --log-level ERROR; }
# kill moments: anywhere in the first 20 % of an uninterrupted run (resumed runs are
# shorter, so later kills may also land after the end: then the loop ends)
max_wait=$(python3 -c "print(max(100, int($full_secs * 200)))")
read -r -a waits < <(python3 -c "import random; print(*(random.randint(0, $max_wait) / 1000 for _ in range($max_kills)))")
kills=0
for ((k = 0; k < max_kills; k++)); do
  run_killable 2>>"$work/killed.err" &
  pid=$!
  if ((k == 0)); then
    # The first kill lands once the run is under way (its channel log exists): a random
    # moment could fall after its end when the machine got less busy than during the
    # uninterrupted run, and then no kill would land at all.
    until [[ -n $(find "$work/killed/.channels" -name 'log-*.wal' 2>/dev/null) ]] || ! kill -0 "$pid" 2>/dev/null; do
      sleep 0.01
    done
  else
    sleep "${waits[k]}"
  fi
  kill -9 "$pid" 2>/dev/null || true
  set +e
  wait "$pid"
  code=$?
  set -e
  echo "run $((k + 1)): $([[ $code == 137 ]] && echo "killed after ${waits[k]} s" || echo "completed (exit $code)")"
  if [[ $code == 137 ]]; then kills=$((kills + 1)); elif [[ $code == 0 ]]; then break; else
    echo "backfill exited $code"; tail "$work/killed.err"; exit 1; fi
done
before_final=$(cat "$work"/killed/raw/stock_movements/*/*.csv 2>/dev/null | grep -vc '^ticker,' || true)
echo "rows stored by the killed runs: $before_final of $produced"
(run_killable 2>>"$work/killed.err") || { echo "final run failed:"; tail "$work/killed.err"; exit 1; }
dump "$work/killed" "$work/killed.csv"
check_keys "$work/killed.csv"
compare "$work/killed.csv" "$work/full.csv" all
echo "survived $kills SIGKILLs (uninterrupted backfill: $full_secs s, $produced rows)"
[[ $kills -ge 1 ]] || { echo "no kill landed during a run: the test did not test resumption"; exit 1; }

# --- 3. re-running a finished backfill stores nothing -----------------------------------
files_before=$(find "$work/full/raw" -type f | sort | md5sum)
backfill "$work/full" --to "$to" 2>"$work/again.err" || { cat "$work/again.err"; exit 1; }
grep -q " 0 rows stored" "$work/again.err" || { echo "re-run stored rows:"; cat "$work/again.err"; exit 1; }
[[ $(find "$work/full/raw" -type f | sort | md5sum) == "$files_before" ]] || { echo "re-run wrote files"; exit 1; }

# --- 4. live first, then a backfill over the same days: no duplicate -------------------
"$bin" collect stock_movements --config "$work/live30.yaml" --data-dir "$work/both" --log-level WARN 2>/dev/null
dump "$work/both" "$work/live30.csv"
backfill "$work/both" 2>"$work/both.err" || { cat "$work/both.err"; exit 1; }
dump "$work/both" "$work/both.csv"
check_keys "$work/both.csv"
compare "$work/both.csv" "$work/full.csv" "before:$work/live30.csv"      # backfilled part: as a full backfill
python3 - "$work/both.csv" "$work/live30.csv" <<'PY'
import csv, sys
live = list(csv.DictReader(open(sys.argv[2])))
first = {}
for r in live: first[r["ticker"]] = min(first.get(r["ticker"], r["bar_time"]), r["bar_time"])
after = [r for r in csv.DictReader(open(sys.argv[1])) if r["bar_time"] >= first[r["ticker"]]]
assert after == live, "the live rows changed"
print(f"{len(live)} live rows untouched")
PY
"$bin" collect stock_movements --config "$work/live30.yaml" --data-dir "$work/both" 2>"$work/both2.err"
grep -q "ok, 4 request(s), 0 failed, 0 row(s)" "$work/both2.err" || { echo "live collect after backfill stored rows:"; cat "$work/both2.err"; exit 1; }

# --- 5. one ticker failing: exit 1, the others stored, the re-run completes it ---------
fakeapi_fault '{"path": "^/v8/finance/chart/BFB$", "fault": "status", "status": 403, "count": "always"}'
set +e
backfill "$work/fail" --to "$to" 2>"$work/fail.err"
code=$?
set -e
[[ $code == 1 ]] || { echo "failing ticker: want exit 1, got $code"; cat "$work/fail.err"; exit 1; }
grep -q "BFB" "$work/fail.err" || { echo "the failure does not name BFB"; cat "$work/fail.err"; exit 1; }
grep -q " 1 failed chunk(s)" "$work/fail.err" || { echo "want one failed chunk:"; cat "$work/fail.err"; exit 1; }
dump "$work/fail" "$work/fail.csv"
grep -v '^BFB,' "$work/full.csv" >"$work/full-but-bfb.csv"
compare "$work/fail.csv" "$work/full-but-bfb.csv" all   # the other tickers: all of them
fakeapi_reset
backfill "$work/fail" --to "$to" 2>"$work/fail2.err" || { cat "$work/fail2.err"; exit 1; }
dump "$work/fail" "$work/fail.csv"
compare "$work/fail.csv" "$work/full.csv" all

# --- 6. refusals and usage errors: exit 2 -----------------------------------------------
expect2() { # $1 = what must be in stderr, rest = arguments
  local want=$1
  shift
  set +e
  "$bin" backfill "$@" --data-dir "$work/usage" 2>"$work/usage.err"
  local code=$?
  set -e
  [[ $code == 2 ]] || { echo "backfill $*: want exit 2, got $code"; cat "$work/usage.err"; exit 1; }
  grep -q -- "$want" "$work/usage.err" || { echo "backfill $*: stderr lacks '$want':"; cat "$work/usage.err"; exit 1; }
}
expect2 "provider yahoo (source financial_source) cannot serve history: financial_data is a quote snapshot" \
  financial_data --from "$from"
grep -q "no provider of source financial_source can serve history" "$work/usage.err" || { cat "$work/usage.err"; exit 1; }
expect2 "--from DATE is required" stock_movements
expect2 "YYYY-MM-DD" stock_movements --from 2026-13-01
expect2 "is before --from" stock_movements --from "$to" --to "$from"
expect2 "unknown dataset" prices --from "$from"
expect2 "--chunk-days" stock_movements --from "$from" --chunk-days 0
expect2 "starts in the future" stock_movements --from 2999-01-01 --config "$work/cfg.yaml"

# --- 7. the progress bar on a terminal ---------------------------------------------------
if script -qec true /dev/null >/dev/null 2>&1; then
  script -qec "'$bin' backfill stock_movements --from '$from' --to '$to' --chunk-days 7 --config '$work/cfg.yaml' \
    --tickers BFA --data-dir '$work/tty'" /dev/null >"$work/tty.out" </dev/null
  grep -q $'\r''stock_movements \[#*-*\] [0-9]*/[0-9]* chunks  [0-9]* rows  [0-9]* rows/s  ETA' "$work/tty.out" ||
    { echo "no progress bar on a terminal:"; cat -v "$work/tty.out" | head; exit 1; }
  grep -q "$(grep -c '^BFA,' "$work/produced.keys") rows stored" "$work/tty.out" ||
    { echo "terminal run: wrong summary"; cat -v "$work/tty.out" | tail -3; exit 1; }
fi
# --- 8. macroeconomic (FRED, World Bank: observations by date range) ---------------------
one_source_pipeline "$work/macro.yaml" macro "dataset: macroeconomic, providers: [fred, worldbank], schedule: 1d" \
  "type: file, capacity: 10000, transactionCapacity: 100" \
  "type: file, path: context/macroeconomic/%Y-%m-%d, format: csv, batch_size: 100" \
  "providers: {fred: {rate_limit: 0}, worldbank: {rate_limit: 0}}" context_data_agent
macro() { "$bin" "$1" macroeconomic "${@:3}" --config "$work/macro.yaml" --data-dir "$work/$2" --log-level WARN; }
macro backfill macro --from 2015-01-01 --to 2024-06-30 2>"$work/macro.err" || { cat "$work/macro.err"; exit 1; }
macro backfill macro --from 2015-01-01 --to 2024-06-30 2>"$work/macro2.err"
grep -q " 0 rows stored" "$work/macro2.err" || { echo "macro re-run stored rows"; cat "$work/macro2.err"; exit 1; }
macro collect macro-live 2>/dev/null                     # every observation the fixtures hold
"$bin" query macroeconomic --data-dir "$work/macro" --format csv >"$work/macro.csv"
"$bin" query macroeconomic --data-dir "$work/macro-live" --format csv --from 2015-01-01 --to 2024-06-30 \
  >"$work/macro-live.csv"
compare "$work/macro.csv" "$work/macro-live.csv" all      # the range, as live collection stores it
macro collect macro 2>/dev/null                          # live after the backfill: only what follows
"$bin" query macroeconomic --data-dir "$work/macro" --format csv >"$work/macro.csv"
"$bin" query macroeconomic --data-dir "$work/macro-live" --format csv >"$work/macro-live.csv"
compare "$work/macro.csv" "$work/macro-live.csv" all
expect2 "provider fedreserve (source policy_source) cannot serve history" policy --from 2020-01-01

# --- 9. news from Finnhub (company-news by date range; Alpha Vantage cannot: left out) ---
python3 - "$work/articles.json" >"$work/news-routes.json" <<'PY'
import json, sys, time
day = 86400
today = int(time.time()) // day * day
articles = {t: [{"category": "company", "datetime": today - d * day + 15 * 3600, "headline": f"{t} story {d} days ago",
                 "id": d, "image": "", "related": t, "source": "Example Wire", "summary": f"{t} did something.",
                 "url": f"https://news.example.com/{t}/{d}"} for d in range(3, 60, 4)] for t in ("AAPL", "MSFT")}
json.dump(articles, open(sys.argv[1], "w"))
print(json.dumps([{"name": "bf-news-" + t, "path": "/api/v1/company-news", "query": {"symbol": t},
                   "body": json.dumps(a)} for t, a in articles.items()]))
PY
fakeapi_route "$(cat "$work/news-routes.json")"
one_source_pipeline "$work/news.yaml" news "dataset: news, providers: [finnhub, alphavantage], tickers: [AAPL, MSFT], schedule: 1h" \
  "type: file, capacity: 10000, transactionCapacity: 100" "type: file, path: raw/news/%Y-%m-%d, format: csv, batch_size: 100" \
  "providers: {finnhub: {rate_limit: 0}}
pipeline: {sp500_file: $STOCKPIPE_SOURCE_DIR/config/sp500.csv}"
news_from=$(date -u -d '-45 days' +%F)
news_to=$(date -u -d '-10 days' +%F)
news() { STOCKPIPE_FINNHUB_BASE_URL=$FAKEAPI_URL STOCKPIPE_FINNHUB_KEY=test-finnhub-key \
  "$bin" "$1" news "${@:2}" --config "$work/news.yaml" --data-dir "$work/news" --log-level WARN; }
news backfill --from "$news_from" --to "$news_to" --chunk-days 10 2>"$work/news.err" || { cat "$work/news.err"; exit 1; }
grep -q "provider alphavantage (source news_source) cannot serve history: NEWS_SENTIMENT" "$work/news.err" ||
  { echo "alphavantage not named:"; cat "$work/news.err"; exit 1; }
news backfill --from "$news_from" --to "$news_to" --chunk-days 10 2>"$work/news2.err"
grep -q " 0 rows stored" "$work/news2.err" || { echo "news re-run stored rows"; cat "$work/news2.err"; exit 1; }
"$bin" query news --data-dir "$work/news" --format csv >"$work/news1.csv"
news collect 2>"$work/news-live.err" || { cat "$work/news-live.err"; exit 1; }                                 # live after the backfill: only newer articles
"$bin" query news --data-dir "$work/news" --format csv >"$work/news2.csv"
python3 - "$work/articles.json" "$work/news1.csv" "$work/news2.csv" "$news_from" "$news_to" <<'PY'
import collections, csv, datetime, json, sys
articles, first, second, lo, hi = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def want(keep):
    return sorted((t, iso(a["datetime"])) for t, lst in articles.items() for a in lst if keep(iso(a["datetime"])[:10]))
def got(path):
    rows = list(csv.DictReader(open(path)))
    ids = collections.Counter((r["article_id"], r["ticker"]) for r in rows)
    assert max(ids.values()) == 1, "an article stored twice"
    return sorted((r["ticker"], r["published_at"]) for r in rows)
assert got(first) == want(lambda d: lo <= d <= hi), (got(first), want(lambda d: lo <= d <= hi))
assert got(second) == want(lambda d: lo <= d), "live collection after the backfill"
print(f"news: {len(got(first))} articles backfilled, {len(got(second)) - len(got(first))} more by live collection")
PY

# valid bars only: the backfills quarantined nothing (the fake answers every chunk with the
# whole history: bars outside a chunk belong to its neighbours, not to the quarantine). The
# live collects do quarantine the bars before their initial history (bar_outside_window).
quarantined=$(find "$work"/{full,killed,fail,tty,macro} -path '*/quarantine/*' -type f 2>/dev/null | wc -l)
[[ $quarantined == 0 ]] || { echo "quarantine files: $quarantined"; exit 1; }
echo "backfill: all checks passed"
