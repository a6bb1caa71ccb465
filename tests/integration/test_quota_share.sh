#!/usr/bin/env bash
# test_quota_share.sh — a provider's daily quota shared by all of its sources through
# the real agent (core/agent.c asks every source's schedule and recorded last run,
# core/quota.h "Spreading"): tests/tools/c/quota_day runs a day of hourly rounds of two
# news sources that both use Finnhub (different ticker lists), at hh:05 and hh:20 with
# a fake clock, against the fake API.  With daily_limit 25 (fewer requests than the
# day's 48 rounds) and 100 (2 or 3 a round): the fake API receives exactly the limit,
# the state store counts it, the two sources' totals are within 1 of each other, and
# with 25 no round sends more than one request.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/sp_qshare.XXXXXX)
fakeapi_start
trap 'fakeapi_stop; rm -rf "$work"' EXIT # fakeapi_start set its own
export STOCKPIPE_FINNHUB_BASE_URL=$FAKEAPI_URL STOCKPIPE_FINNHUB_KEY=fh-secret-0001
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS
cp "$STOCKPIPE_SOURCE_DIR/config/sp500.csv" "$work/"
fail() { echo "FAIL: $*" >&2; exit 1; }

share_day() { # $1 = daily_limit; prints the helper's report into $work/day-$1.out
  local limit=$1
  cat >"$work/cfg-$limit.yaml" <<YAML
pipeline:
  sp500_file: sp500.csv
  http: {listen: ""}
providers:
  finnhub: {rate_limit: 100, daily_limit: $limit}
agents:
  raw_data_agent: {sources: [news_a, news_b], channels: [news_channel], sinks: [news_sink]}
sources:
  news_a: {dataset: news, providers: [finnhub], tickers: [AAPL, MSFT, GOOGL, AMZN, NVDA, META, TSLA], schedule: 1h}
  news_b: {dataset: news, providers: [finnhub], tickers: [JPM, XOM, JNJ, WMT, PG, KO, PEP], schedule: 1h}
channels:
  news_channel: {type: memory, capacity: 100000, transactionCapacity: 1000}
sinks:
  news_sink: {type: file, path: raw/news/%Y-%m-%d, format: jsonl, batch_size: 1000}
bindings:
  news_a: [news_channel]
  news_b: [news_channel]
  news_channel: news_sink
YAML
  fakeapi_reset
  "$STOCKPIPE_BUILD_DIR/tests/quota_day" "$work/cfg-$limit.yaml" "$work/data-$limit" 2026-06-10 >"$work/day-$limit.out" ||
    { cat "$work/day-$limit.out" >&2; fail "quota_day (daily_limit $limit) failed"; }
  local sent
  sent=$(fakeapi_requests | python3 -c 'import json, sys; print(sum(r["path"] == "/api/v1/company-news" for r in json.load(sys.stdin)["requests"]))')
  python3 - "$work/day-$limit.out" "$limit" "$sent" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1])]
limit, sent = int(sys.argv[2]), int(sys.argv[3])
sources = {l[1]: (int(l[2]), int(l[3])) for l in lines if l[0] == "source"}
quota = {l[1]: (int(l[2]), int(l[3])) for l in lines if l[0] == "quota"}
a, b = sources["news_a"][0], sources["news_b"][0]
print(f"daily_limit {limit}: news_a {a} requests in {sources['news_a'][1]} rounds, "
      f"news_b {b} in {sources['news_b'][1]}, fake API {sent}, counted {quota['finnhub'][0]}")
assert quota["finnhub"] == (limit, limit), f"counted {quota['finnhub']}, want the whole limit {limit}"
assert sent == limit, f"the fake API received {sent} requests, want {limit}"
assert a + b == limit, f"the sources report {a} + {b}, want {limit}"
assert abs(a - b) <= 1, f"uneven shares: news_a {a}, news_b {b}"
if limit < 48:
    assert sources["news_a"][1] == a and sources["news_b"][1] == b, "a round sent more than one request"
PY
}

share_day 25
share_day 100
! grep -rq "fh-secret-0001" "$work" || fail "the API key was written somewhere"
echo "ok: two sources of one provider share its day evenly (25: 13 + 12, 100: 50 + 50), never over"
