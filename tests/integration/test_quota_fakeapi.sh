#!/usr/bin/env bash
# test_quota_fakeapi.sh — daily request quotas end to end (core/quota.h): the real
# `stockpipe collect` against the fake provider API with `providers.newsapi.daily_limit: 3`
# and seven tickers sends exactly 3 NewsAPI requests (the fake API's request log), reports
# the other 4 tickers as deferred in one warning and exits 0 (deferral is not a failure),
# stores the rows it fetched; a second round the same day sends none.  Alpha Vantage's
# "25 requests per day" note is not retried: one request in the log, the day used up.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
fakeapi_start
work=$(mktemp -d /tmp/sp_quota.XXXXXX)
trap 'fakeapi_stop; rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN
export STOCKPIPE_NEWSAPI_BASE_URL=$FAKEAPI_URL STOCKPIPE_ALPHAVANTAGE_BASE_URL=$FAKEAPI_URL
export STOCKPIPE_NEWSAPI_KEY=na-secret-0002 STOCKPIPE_ALPHAVANTAGE_KEY=av-secret-0003
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS STOCKPIPE_FINNHUB_KEY
echo '{}' >"$work/credentials.json"
chmod 600 "$work/credentials.json"
cp "$STOCKPIPE_SOURCE_DIR/config/sp500.csv" "$work/"
cd "$work"
cat >stockpipe.yaml <<'YAML'
pipeline:
  credentials: credentials.json
  sp500_file: sp500.csv
  http: {listen: ""}
providers:
  newsapi: {rate_limit: 100, daily_limit: 3}
  alphavantage: {rate_limit: 100}
agents:
  raw_data_agent: {sources: [news_source], channels: [news_channel], sinks: [news_sink]}
sources:
  news_source: {dataset: news, providers: [newsapi, alphavantage], tickers: [AAPL, MSFT, GOOGL, AMZN, NVDA, META, TSLA], schedule: 1h}
channels:
  news_channel: {type: memory, capacity: 5000, transactionCapacity: 500}
sinks:
  news_sink: {type: file, path: raw/news/%Y-%m-%d, file_prefix: n_, format: jsonl, batch_size: 500}
bindings:
  news_source: [news_channel]
  news_channel: news_sink
YAML

fail() { echo "FAIL: $*" >&2; exit 1; }
# Both rounds fall on one UTC day: the rounds' clock starts at noon (STOCKPIPE_NOW, the
# test-only override of one-off commands' round time, core/timeutil.h).
export STOCKPIPE_NOW=2026-06-10T12:00:00Z
# One article per query (no second page), published an hour before.
published=2026-06-10T11:00:00Z
fakeapi_route "{\"name\": \"one-article\", \"path\": \"/v2/everything\", \"body\": \"{\\\"status\\\":\\\"ok\\\",\\\"totalResults\\\":1,\\\"articles\\\":[{\\\"source\\\":{\\\"name\\\":\\\"Wire\\\"},\\\"title\\\":\\\"Company beats estimates\\\",\\\"description\\\":null,\\\"url\\\":\\\"https://news.example/a1\\\",\\\"publishedAt\\\":\\\"$published\\\"}]}\", \"content_type\": \"application/json\"}"
fakeapi_route '{"name": "av-daily-limit", "path": "/query", "query": {"function": "NEWS_SENTIMENT"}, "fixture": "alphavantage/error-information-daily-limit.json"}'

collect() { # $1 = output prefix; prints the exit code
  set +e
  "$bin" collect news --config stockpipe.yaml --data-dir data --log-level INFO >"$1.out" 2>"$1.err"
  local rc=$?
  set -e
  echo "$rc"
}
count_requests() { # $1 = path; prints how many requests the fake API received for it
  fakeapi_requests | python3 -c 'import json, sys; print(sum(r["path"] == sys.argv[1] for r in json.load(sys.stdin)["requests"]))' "$1"
}

rc=$(collect r1)
[[ $rc == 0 ]] || { cat r1.err >&2; fail "first round exit $rc, want 0 (deferral is not a failure)"; }
n=$(count_requests /v2/everything)
[[ $n == 3 ]] || fail "newsapi: $n requests reached the fake API, want 3 (daily_limit 3)"
grep -q "newsapi: daily quota of 3 requests used; 4 ticker(s) deferred to the next UTC day" r1.err ||
  { cat r1.err >&2; fail "no deferral warning for newsapi"; }
[[ $(grep -c "daily quota of 3 requests used" r1.err) == 1 ]] || fail "the deferral warning is not said once"
n=$(count_requests /query)
[[ $n == 1 ]] || fail "alphavantage: $n requests for a daily-limit note, want 1 (not retried)"
grep -q "alphavantage: daily limit reached" r1.err || { cat r1.err >&2; fail "no daily-limit warning for alphavantage"; }
grep -q "news_source/newsapi: ok, 3 request(s), 0 failed, 3 row(s), deferred by the daily quota: 4 ticker(s)" r1.err ||
  { cat r1.err >&2; fail "the round report does not show 3 requests and 4 deferred tickers"; }
rows=$(cat data/raw/news/*/*.jsonl | grep -c '"provider":"newsapi"' || true)
[[ $rows == 3 ]] || fail "$rows newsapi rows stored, want 3 (one article for each ticker served)"
! grep -q "na-secret-0002\|av-secret-0003" r1.err r1.out || fail "an API key in the output"

# The same UTC day again: nothing left, nothing sent, still exit 0.
fakeapi_reset
fakeapi_route '{"name": "av-daily-limit", "path": "/query", "query": {"function": "NEWS_SENTIMENT"}, "fixture": "alphavantage/error-information-daily-limit.json"}'
rc=$(collect r2)
[[ $rc == 0 ]] || { cat r2.err >&2; fail "second round exit $rc, want 0"; }
n=$(fakeapi_count)
[[ $n == 0 ]] || fail "second round the same day sent $n requests, want 0"
grep -q "newsapi: daily quota of 3 requests used; 7 ticker(s) deferred to the next UTC day" r2.err ||
  { cat r2.err >&2; fail "second round: no deferral of all 7 tickers"; }

# A negative daily_limit is refused up front with file:line:column.
printf 'providers:\n  newsapi: {daily_limit: -1}\n' >bad.yaml
set +e
"$bin" config check bad.yaml 2>bad.err
rc=$?
set -e
[[ $rc == 2 ]] || fail "config check of daily_limit -1 exit $rc, want 2"
grep -q "bad.yaml:2:26: provider 'newsapi': daily_limit: -1 is out of range" bad.err || { cat bad.err >&2; fail "no file:line:column error"; }
echo "ok: daily_limit -1 refused at bad.yaml:2:26"
echo "ok: 3 newsapi requests, 4 tickers deferred, 1 alphavantage request, nothing sent the second round"
