#!/usr/bin/env bash
# test_backfill_quota.sh — `stockpipe backfill` keeps to a provider's daily quota
# (core/quota.h, "Backfill") end to end against the fake Yahoo API, over three
# "days" set with STOCKPIPE_NOW (the test-only clock override of one-off commands,
# core/timeutil.h: no waiting for midnight, no timing assumption).
#
# 4 symbols x 4 chunks of daily bars = 16 chart requests, `providers.yahoo.daily_limit: 7`:
#  day 1, --quota-reserve 0: exactly 7 requests reach the fake API, exit 1, a message
#         naming yahoo, the limit and the requests used and saying a re-run after
#         00:00 UTC resumes; the same day again: no request, the same message;
#  day 2, the default reserve (20 % of 7 = 1 kept for the live rounds): exactly 6;
#  day 3: the last 3, exit 0; every produced bar stored exactly once;
#  day 3 again: no request, nothing stored, exit 0;
#  a round cut short (a retry took the last request) stores none of its rows, the next
#  day fetches it whole;
#  news (every round asks for every ticker): NewsAPI, one request per ticker, whose
#  daily_limit cannot cover one round, is left out with a message and Finnhub backfills
#  alone (exit 0); with NewsAPI alone the backfill is refused (exit 2).
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
work=$(mktemp -d /tmp/sp_bfquota.XXXXXX)
trap 'fakeapi_stop; rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN
fail() { echo "FAIL: $*" >&2; exit 1; }

symbols="QTA QTB QTC QTD"
from=2026-04-01
to=2026-05-30 # 60 days: 4 chunks of 15
mkdir -p "$work/charts"
# shellcheck disable=SC2086
"$STOCKPIPE_BUILD_DIR/tests/gen_chart" "$work/charts" 1d "$from" "$to" $symbols | sort >"$work/produced.keys"
python3 - "$work/charts" >"$work/routes.json" <<'PY'
import json, os, sys
d = sys.argv[1]
print(json.dumps({"routes": [{"name": "q-" + f, "path": "/v8/finance/chart/" + f[6:-5],
                              "body": open(os.path.join(d, f)).read()} for f in sorted(os.listdir(d))]}))
PY
fakeapi_start --routes "$work/routes.json" --routes "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/routes.json"
trap 'fakeapi_stop; rm -rf "$work"' EXIT # fakeapi_start set its own
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL STOCKPIPE_FINNHUB_BASE_URL=$FAKEAPI_URL STOCKPIPE_NEWSAPI_BASE_URL=$FAKEAPI_URL
export STOCKPIPE_FINNHUB_KEY=fh-secret-0001 STOCKPIPE_NEWSAPI_KEY=na-secret-0002
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS

write_config() { # $1 = file, $2 = yahoo's daily_limit
  one_source_pipeline "$1" movement \
    "dataset: stock_movements, providers: [yahoo], tickers: [QTA, QTB, QTC, QTD], bar_interval: 1d, schedule: 1d" \
    "type: memory, capacity: 10000, transactionCapacity: 100" \
    "type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 100" \
    "providers: {yahoo: {rate_limit: 100, daily_limit: $2}}"
}
write_config "$work/cfg.yaml" 7

data=$work/data config=$work/cfg.yaml
backfill() { # $1 = day (STOCKPIPE_NOW), $2 = output prefix, more backfill args follow; prints the exit code
  local now=$1 out=$2
  shift 2
  set +e
  STOCKPIPE_NOW=$now "$bin" backfill stock_movements --from "$from" --to "$to" --chunk-days 15 \
    --config "$config" --data-dir "$data" --log-level WARN "$@" >"$work/$out.out" 2>"$work/$out.err"
  local rc=$?
  set -e
  echo "$rc"
}
charts() { # chart requests the fake API received since the last reset
  fakeapi_requests | python3 -c 'import json, sys; print(sum(r["path"].startswith("/v8/finance/chart/") for r in json.load(sys.stdin)["requests"]))'
}
rows_stored() { cat "$data"/raw/stock_movements/*/*.csv 2>/dev/null | grep -vc '^ticker,' || true; }
check_keys() { # $1 = "all" (every produced key once) or "some" (a subset, none twice)
  "$bin" query stock_movements --data-dir "$data" --format csv >"$work/dump.csv"
  python3 - "$work/dump.csv" "$work/produced.keys" "$1" <<'PY'
import collections, csv, sys
keys = collections.Counter(f"{r['ticker']},{r['interval']},{r['bar_time']}" for r in csv.DictReader(open(sys.argv[1])))
produced = set(l.strip() for l in open(sys.argv[2]) if l.strip())
dup = sum(n - 1 for n in keys.values() if n > 1)
lost, extra = len(produced - set(keys)), len(set(keys) - produced)
print(f"{sum(keys.values())} of {len(produced)} rows: duplicated {dup}, unexpected {extra}, not yet stored {lost}")
sys.exit(0 if dup == extra == 0 and (lost == 0 or sys.argv[3] == "some") else 1)
PY
}
quota_message() { # $1 = output prefix, $2 = used, $3 = limit, $4 = day, $5 = kept, $6 = reserve %
  grep -qF "backfill stock_movements: stopped by the daily quota of yahoo: $2 of its $3 requests (daily_limit) used on $4, $5 kept for the live rounds (--quota-reserve $6%); re-run the same command after 00:00 UTC to resume where it stopped" "$work/$1.err" ||
    { cat "$work/$1.err" >&2; fail "$1: no quota message naming yahoo, $3 and $2 used"; }
}

# --- day 1: no reserve, exactly the limit ----------------------------------------------
rc=$(backfill 2026-06-10T12:00:00Z day1 --quota-reserve 0)
[[ $rc == 1 ]] || { cat "$work/day1.err" >&2; fail "day 1: exit $rc, want 1 (stopped by the quota)"; }
n=$(charts)
[[ $n == 7 ]] || fail "day 1: $n chart requests, want exactly 7 (daily_limit 7, no reserve)"
quota_message day1 7 7 2026-06-10 0 0
grep -q "(stopped by a daily quota)" "$work/day1.err" || { cat "$work/day1.err" >&2; fail "day 1: summary line"; }
day1_rows=$(rows_stored)
((day1_rows > 0)) || fail "day 1 stored nothing"
check_keys some
echo "ok: day 1: 7 requests, $day1_rows rows, stopped with the message"

# the same day again: nothing left, nothing sent, nothing stored
fakeapi_reset
rc=$(backfill 2026-06-10T18:00:00Z day1b --quota-reserve 0)
[[ $rc == 1 ]] || { cat "$work/day1b.err" >&2; fail "day 1 again: exit $rc, want 1"; }
n=$(charts)
[[ $n == 0 ]] || fail "day 1 again: $n chart requests, want 0"
quota_message day1b 7 7 2026-06-10 0 0
[[ $(rows_stored) == "$day1_rows" ]] || fail "day 1 again stored rows"

# --- day 2: the default reserve keeps 1 of 7 for the live rounds ------------------------
fakeapi_reset
rc=$(backfill 2026-06-11T12:00:00Z day2)
[[ $rc == 1 ]] || { cat "$work/day2.err" >&2; fail "day 2: exit $rc, want 1"; }
n=$(charts)
[[ $n == 6 ]] || fail "day 2: $n chart requests, want 6 (7 less the 20 % reserve, floor: 1)"
quota_message day2 6 7 2026-06-11 1 20
check_keys some
echo "ok: day 2: 6 requests, 1 left to the live rounds"

# --- day 3: the rest ----------------------------------------------------------------------
fakeapi_reset
rc=$(backfill 2026-06-12T12:00:00Z day3)
[[ $rc == 0 ]] || { cat "$work/day3.err" >&2; fail "day 3: exit $rc, want 0"; }
n=$(charts)
[[ $n == 3 ]] || fail "day 3: $n chart requests, want the 3 left (16 in all)"
! grep -q "stopped by the daily quota" "$work/day3.err" || fail "day 3: a quota message although it completed"
check_keys all
echo "ok: day 3: 3 requests, every bar stored exactly once"

fakeapi_reset
rc=$(backfill 2026-06-12T13:00:00Z day3b)
[[ $rc == 0 ]] || { cat "$work/day3b.err" >&2; fail "day 3 again: exit $rc, want 0"; }
[[ $(charts) == 0 ]] || fail "a finished backfill sent requests"
grep -q " 0 rows stored" "$work/day3b.err" || { cat "$work/day3b.err" >&2; fail "a finished backfill stored rows"; }

# --- a round cut short: a retry (counted, as providers count it) leaves no request for the
# last ticker of a round sized to the allowance: none of the round's rows is stored, the
# backfill stops, and the next day fetches that chunk whole, each row once.
write_config "$work/cut.yaml" 4
data=$work/cut config=$work/cut.yaml
fakeapi_reset
fakeapi_fault '{"path": "^/v8/finance/chart/QTB$", "fault": "503", "count": 1}'
rc=$(backfill 2026-06-20T12:00:00Z cut1 --quota-reserve 0)
[[ $rc == 1 ]] || { cat "$work/cut1.err" >&2; fail "cut round: exit $rc, want 1"; }
n=$(charts)
[[ $n == 4 ]] || fail "cut round: $n chart requests, want 4 (3 tickers and the retry)"
[[ $(rows_stored) == 0 ]] || fail "cut round: rows of the cut round were stored"
quota_message cut1 4 4 2026-06-20 0 0
grep -q "needs more requests of yahoo than one day allows it" "$work/cut1.err" ||
  { cat "$work/cut1.err" >&2; fail "cut round: no hint that the round outgrew the day"; }
fakeapi_reset
rc=$(backfill 2026-06-21T12:00:00Z cut2 --quota-reserve 0)
[[ $rc == 1 ]] || { cat "$work/cut2.err" >&2; fail "after the cut: exit $rc, want 1 (4 of 16 requests a day)"; }
[[ $(charts) == 4 ]] || fail "after the cut: want 4 requests"
check_keys some
grep -q ": 1/4 chunks, " "$work/cut2.err" || { cat "$work/cut2.err" >&2; fail "after the cut: the first chunk is not complete"; }
echo "ok: a round cut short stores nothing; the next day fetches it whole"

# --- news: a provider whose day cannot hold one round is left out ----------------------
news_config() { # $1 = file, $2 = providers
  one_source_pipeline "$1" news "dataset: news, providers: [$2], tickers: [AAPL, MSFT, GOOGL], schedule: 1h" \
    "type: memory, capacity: 10000, transactionCapacity: 100" "type: file, path: raw/news/%Y-%m-%d, format: jsonl, batch_size: 100" \
    "pipeline: {sp500_file: $STOCKPIPE_SOURCE_DIR/config/sp500.csv}
providers: {finnhub: {rate_limit: 100}, newsapi: {rate_limit: 100, daily_limit: 2}}"
}
news_config "$work/news.yaml" "finnhub, newsapi"
news_config "$work/newsapi.yaml" "newsapi"
news_backfill() { # $1 = config, $2 = output prefix; prints the exit code
  set +e
  STOCKPIPE_NOW=2026-06-10T12:00:00Z "$bin" backfill news --from 2026-06-01 --to 2026-06-05 --config "$1" \
    --data-dir "$work/news-data" --log-level WARN >"$work/$2.out" 2>"$work/$2.err"
  local rc=$?
  set -e
  echo "$rc"
}
count_path() { # $1 = path: requests the fake API received for it
  fakeapi_requests | python3 -c 'import json, sys; print(sum(r["path"] == sys.argv[1] for r in json.load(sys.stdin)["requests"]))' "$1"
}
fakeapi_reset
rc=$(news_backfill "$work/news.yaml" news1)
[[ $rc == 0 ]] || { cat "$work/news1.err" >&2; fail "news with finnhub: exit $rc, want 0"; }
grep -qF "backfill news: provider newsapi (source news_source) is left out: it sends a request per ticker, 3 a round, more than the 2 a day its daily_limit 2 leaves to a backfill (--quota-reserve 20%)" "$work/news1.err" ||
  { cat "$work/news1.err" >&2; fail "news: no message leaving newsapi out"; }
[[ $(count_path /v2/everything) == 0 ]] || fail "news: newsapi was asked although left out"
[[ $(count_path /api/v1/company-news) == 3 ]] || fail "news: want 3 finnhub requests (one per ticker)"
rc=$(news_backfill "$work/newsapi.yaml" news2)
[[ $rc == 2 ]] || { cat "$work/news2.err" >&2; fail "news with newsapi alone: exit $rc, want 2"; }
grep -q "no provider of source news_source can backfill it within its daily quota" "$work/news2.err" ||
  { cat "$work/news2.err" >&2; fail "news with newsapi alone: no refusal message"; }
! grep -rq "fh-secret-0001\|na-secret-0002" "$work"/*.err || fail "an API key in the output"
echo "ok: news: newsapi left out (3 tickers a round > 2 a day), finnhub alone; newsapi alone refused"

# --- usage: the reserve is a percentage ---------------------------------------------------
rc=$(backfill 2026-06-12T13:00:00Z bad --quota-reserve 101)
[[ $rc == 2 ]] || fail "--quota-reserve 101: exit $rc, want 2"
grep -q "quota-reserve takes a percentage from 0 to 100, not '101'" "$work/bad.err" || { cat "$work/bad.err" >&2; fail "no usage message"; }
echo "ok: 7 + 6 + 3 requests over three days, exit 1, 1, 0; every row exactly once"
