#!/usr/bin/env bash
# test_sources_fakeapi.sh — every dataset collected end to end by the real `stockpipe
# collect` from the fake provider API (all eight providers, keys from the environment)
# into JSON Lines files, then checked: row counts per provider, the SPEC mappings
# (units, nulls, fundamentals merged into quotes, one row per story and ticker), a second
# round storing nothing new (watermarks), a fault matrix (an HTML page or an error
# status on one provider's endpoint fails that provider only: exit 1, the provider
# named, the other providers' rows stored), transient faults (429, 500, 503 page,
# truncated body, connection reset, delay) recovered by retries with nothing lost, and
# the FOMC calendar fallback.  API keys never appear in the output.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
fakeapi_start
work=$(mktemp -d /tmp/sp_sources.XXXXXX)
[[ -n ${KEEP:-} ]] && echo "work: $work"
trap 'fakeapi_stop; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN

for p in YAHOO ALPHAVANTAGE FINNHUB NEWSAPI FRED WORLDBANK FEDRESERVE TREASURY; do
  export "STOCKPIPE_${p}_BASE_URL=$FAKEAPI_URL"
done
export STOCKPIPE_FINNHUB_KEY=fh-secret-0001 STOCKPIPE_NEWSAPI_KEY=na-secret-0002
export STOCKPIPE_ALPHAVANTAGE_KEY=av-secret-0003 STOCKPIPE_FRED_KEY=fr-secret-0004
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS
echo '{}' >"$work/credentials.json"
chmod 600 "$work/credentials.json"

# the FOMC fallback file: beside the config, and in ./config of the working directory
mkdir -p "$work/config"
cp "$STOCKPIPE_SOURCE_DIR/config/sp500.csv" "$STOCKPIPE_SOURCE_DIR/config/fomc_calendar.csv" "$work/"
cp "$STOCKPIPE_SOURCE_DIR/config/fomc_calendar.csv" "$work/config/"
cd "$work"
cat >"$work/stockpipe.yaml" <<'YAML'
pipeline:
  credentials: credentials.json
  sp500_file: sp500.csv
  http: {listen: ""}
providers:   # the fake API answers at once: no need for the real APIs' pacing
  alphavantage: {rate_limit: 100}
  finnhub: {rate_limit: 100}
  newsapi: {rate_limit: 100}
agents:
  raw_data_agent:
    sources: [financial_source, movement_source, news_source]
    channels: [financial_channel, movement_channel, news_channel]
    sinks: [financial_sink, movement_sink, news_sink]
  context_data_agent:
    sources: [macro_source, policy_source]
    channels: [macro_channel, policy_channel]
    sinks: [macro_sink, policy_sink]
sources:
  financial_source: {dataset: financial_data, providers: [yahoo, alphavantage, finnhub], tickers: mag7, schedule: 1h}
  movement_source: {dataset: stock_movements, providers: [yahoo], tickers: [AAPL], bar_interval: 1h, schedule: 1h}
  news_source: {dataset: news, providers: [finnhub, newsapi, alphavantage], tickers: [AAPL, MSFT, NVDA], schedule: 1h}
  macro_source: {dataset: macroeconomic, providers: [fred, worldbank], schedule: 1d}
  policy_source: {dataset: policy, providers: [fedreserve, fred, treasury], schedule: 1w}
channels:
  financial_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
  movement_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
  news_channel: {type: memory, capacity: 5000, transactionCapacity: 500}
  macro_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
  policy_channel: {type: memory, capacity: 1000, transactionCapacity: 100}
sinks:
  financial_sink: {type: file, path: raw/financial_data/%Y-%m-%d, file_prefix: f_, format: jsonl, batch_size: 100}
  movement_sink: {type: file, path: raw/stock_movements/%Y-%m-%d, file_prefix: m_, format: jsonl, batch_size: 100}
  news_sink: {type: file, path: raw/news/%Y-%m-%d, file_prefix: n_, format: jsonl, batch_size: 500}
  macro_sink: {type: file, path: context/macroeconomic/%Y-%m-%d, file_prefix: x_, format: jsonl, batch_size: 100}
  policy_sink: {type: file, path: context/policy/%Y-%m-%d, file_prefix: p_, format: jsonl, batch_size: 100}
bindings:
  financial_source: [financial_channel]
  movement_source: [movement_channel]
  news_source: [news_channel]
  macro_source: [macro_channel]
  policy_source: [policy_channel]
  financial_channel: financial_sink
  movement_channel: movement_sink
  news_channel: news_sink
  macro_channel: macro_sink
  policy_channel: policy_sink
YAML

# Hourly AAPL bars around the clock over the last 26 hours (inside the first poll's
# 60-day window): 26 complete ones, one of them with all-null OHLC, and one started 10
# minutes ago (still forming).  The source emits the 26 (the all-null one marked
# bar_null); the pipeline's validation then quarantines it and those outside the NYSE
# session, so stored + quarantined = 26.
python3 - "$work/chart.json" <<'PY'
import json, sys, time
now = int(time.time())
hour = now // 3600 * 3600
ts = [hour - 3600 * k for k in range(26, 0, -1)] + [now - 600]
o = [100.0 + i for i in range(len(ts))]
q = {"open": o, "high": [x + 1 for x in o], "low": [x - 1 for x in o], "close": [x + 0.5 for x in o],
     "volume": [1000 + i for i in range(len(ts))]}
for k in q: q[k][3] = None                                          # an all-null bar
meta = {"currency": "USD", "symbol": "AAPL", "exchangeName": "NMS", "regularMarketTime": ts[-1],
        "regularMarketPrice": 130.0, "dataGranularity": "1h"}
json.dump({"chart": {"result": [{"meta": meta, "timestamp": ts, "indicators": {"quote": [q]}}], "error": None}},
          open(sys.argv[1], "w"))
PY
route=$(python3 -c 'import json,sys; print(json.dumps({"name": "aapl-bars", "path": "/v8/finance/chart/AAPL",
  "query": {"interval": "1h"}, "body": open(sys.argv[1]).read(), "content_type": "application/json"}))' "$work/chart.json")
fakeapi_route "$route"

collect() { # $1 = dataset, $2 = output prefix; prints the exit code
  set +e
  "$bin" collect "$1" --config "$work/stockpipe.yaml" --data-dir "$work/data" --log-level INFO \
    >"$work/$2.out" 2>"$work/$2.err"
  local rc=$?
  set -e
  echo "$rc"
}

count_rows() { # $1 = dataset dir (raw/x or context/x): prints JSON {provider: rows}
  python3 - "$work/data/$1" <<'PY'
import glob, json, os, sys, collections
c = collections.Counter()
for path in glob.glob(os.path.join(sys.argv[1], "*", "*.jsonl")):
    for line in open(path):
        if line.strip():
            c[json.loads(line)["provider"]] += 1
print(json.dumps(dict(sorted(c.items()))))
PY
}

expect() { # $1 = what, $2 = got, $3 = expected
  if [[ "$2" != "$3" ]]; then echo "FAIL: $1: got $2, expected $3" >&2; exit 1; fi
  echo "ok: $1 = $2"
}

# ---- round 1: every dataset -------------------------------------------------------------
for ds in financial_data stock_movements news macroeconomic policy; do
  expect "collect $ds exit" "$(collect $ds r1_$ds)" 0
done
expect "financial_data rows" "$(count_rows raw/financial_data)" '{"yahoo": 7}'
grep -q "movement_source/yahoo: ok, 1 request(s), 0 failed, 26 row(s)" "$work/r1_stock_movements.out" \
  "$work/r1_stock_movements.err" || { echo "FAIL: the source did not emit 26 bars" >&2; exit 1; }
stored_bars=$(find "$work/data/raw/stock_movements" -name '*.jsonl' -exec cat {} + | grep -c . || true)
quarantined_bars=$(find "$work/data/quarantine" -path '*stock_movements*' -name '*.jsonl' -exec cat {} + 2>/dev/null | grep -c . || true)
expect "bars stored + quarantined" "$((stored_bars + quarantined_bars))" 26
expect "macroeconomic rows" "$(count_rows context/macroeconomic)" '{"fred": 46, "worldbank": 18}'
expect "policy rows" "$(count_rows context/policy)" '{"fedreserve": 28, "fred": 8, "treasury": 4}'

python3 - "$work/data" <<'PY'
import glob, json, os, sys, collections
data = sys.argv[1]
def rows(ds):
    out = []
    for p in glob.glob(os.path.join(data, ds, "*", "*.jsonl")):
        out += [json.loads(l) for l in open(p) if l.strip()]
    return out
fin = {r["ticker"]: r for r in rows("raw/financial_data")}
assert sorted(fin) == ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA"], sorted(fin)
aapl = fin["AAPL"]
# quote from Yahoo, fundamentals from Finnhub (Alpha Vantage answers {} for these symbols)
assert aapl["price"] == 244.87 and aapl["week52_high"] == 260.1, aapl
assert int(aapl["market_cap"]) == 3474578500000 and aapl["pe_ratio"] == 37.8262, aapl
assert abs(aapl["dividend_yield"] - 0.004349) < 1e-12, aapl
macro = rows("context/macroeconomic")
cpi = [r for r in macro if r["series_id"] == "CPIAUCSL"]
assert all(r["indicator"] == "inflation_rate" and r["unit"] == "percent" and r["frequency"] == "m" for r in cpi)
assert sum(r["value"] is None for r in cpi) == 1          # FRED's "."
gdp = [r for r in macro if r["series_id"] == "NY.GDP.MKTP.KD.ZG"]
assert all(r["observation_date"].endswith("-01-01") and r["frequency"] == "a" for r in gdp), gdp[:2]
policy = rows("context/policy")
types = collections.Counter(r["event_type"] for r in policy)
assert types == {"fomc_meeting": 24, "rate_decision": 4, "economic_release": 4, "treasury_debt": 4,
                 "monetary_policy": 2, "press_release": 2}, types
assert len({r["event_id"] for r in policy}) == len(policy)
news = rows("raw/news")
keys = [(r["article_id"], r["ticker"]) for r in news]
assert len(keys) == len(set(keys)), "an (article, ticker) pair stored twice"
assert all(r["sentiment_label"] in ("positive", "neutral", "negative") for r in news)
assert all(-1 <= r["sentiment_score"] <= 1 and 0 <= r["sentiment_subjectivity"] <= 1 for r in news)
by_provider = collections.Counter(r["provider"] for r in news)
assert set(by_provider) == {"finnhub", "newsapi", "alphavantage"}, by_provider
av = [r for r in news if r["provider"] == "alphavantage"]
assert all(r["provider_sentiment"] is not None for r in av), av
bars = rows("raw/stock_movements")
assert all(r["interval"] == "1h" and r["ticker"] == "AAPL" for r in bars)
print("ok: values, mappings, identities; news rows by provider:", dict(by_provider))
PY

# ---- round 2: nothing new -------------------------------------------------------------------
for ds in financial_data stock_movements macroeconomic policy; do
  before=$(count_rows "$( [[ $ds == macroeconomic || $ds == policy ]] && echo context || echo raw)/$ds")
  expect "second collect $ds exit" "$(collect $ds r2_$ds)" 0
  after=$(count_rows "$( [[ $ds == macroeconomic || $ds == policy ]] && echo context || echo raw)/$ds")
  expect "second round of $ds adds nothing" "$after" "$before"
done

# ---- fault matrix: one provider's endpoint broken, the others stored --------------------
fault_case() { # $1 = dataset, $2 = fault JSON, $3 = provider expected to fail
  rm -rf "$work/data"
  fakeapi_reset
  fakeapi_route "$route"
  fakeapi_fault "$2"
  expect "fault on $3 ($1) exit" "$(collect "$1" fault_$3_$1)" 1
  grep -q "$3" "$work/fault_$3_$1.err" || { echo "FAIL: no error naming $3" >&2; cat "$work/fault_$3_$1.err" >&2; exit 1; }
}
fault_case macroeconomic '{"path": "^/fred/", "query": "series_id=UNRATE", "fault": "html", "status": 200}' fred
expect "macro rows besides the broken series" "$(count_rows context/macroeconomic)" '{"fred": 36, "worldbank": 18}'
fault_case macroeconomic '{"path": "^/v2/country/", "fault": "status", "status": 404, "body": "[{\"message\":[{\"id\":\"120\",\"key\":\"Invalid value\",\"value\":\"The provided parameter value is not valid\"}]}]"}' worldbank
grep -q "Invalid value" "$work/fault_worldbank_macroeconomic.err"
expect "macro rows without the World Bank" "$(count_rows context/macroeconomic)" '{"fred": 46}'
fault_case policy '{"path": "^/services/api/fiscal_service/", "fault": "html", "status": 200}' treasury
expect "policy rows without the Treasury" "$(count_rows context/policy)" '{"fedreserve": 28, "fred": 8}'
fault_case policy '{"path": "^/feeds/press_all", "fault": "html", "status": 200}' fedreserve
expect "policy rows without press_all" "$(count_rows context/policy)" '{"fedreserve": 26, "fred": 8, "treasury": 4}'
fault_case news '{"path": "^/api/v1/company-news", "query": "symbol=MSFT", "fault": "status", "status": 401, "body": "{\"error\": \"Invalid API key.\"}"}' finnhub
grep -q "Invalid API key" "$work/fault_finnhub_news.err"
fault_case news '{"path": "^/v2/everything", "fault": "status", "status": 401, "body": "{\"status\":\"error\",\"code\":\"apiKeyInvalid\",\"message\":\"Your API key is invalid.\"}"}' newsapi
grep -q "apiKeyInvalid" "$work/fault_newsapi_news.err"
fault_case financial_data '{"path": "^/v8/finance/chart/MSFT", "fault": "status", "status": 404, "body": "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Not Found\",\"description\":\"No data found, symbol may be delisted\"}}}"}' yahoo
grep -q "symbol may be delisted" "$work/fault_yahoo_financial_data.err"
expect "quotes besides the delisted one" "$(count_rows raw/financial_data)" '{"yahoo": 6}'

# ---- transient faults: retried by the HTTP client, nothing lost ---------------------------
# (two by default; SOURCES_ALL_FAULTS=1 runs every kind, about 25 s more)
transient=('{"path": "^/fred/", "fault": "429", "retry_after": 1, "count": 1}'
           '{"path": "^/v2/country/", "fault": "truncate", "count": 1}')
if [[ -n ${SOURCES_ALL_FAULTS:-} ]]; then
  transient+=('{"path": "^/fred/", "fault": "500", "count": 2}'
              '{"path": "^/fred/", "fault": "html", "status": 503, "count": 1}'
              '{"path": "^/v2/country/", "fault": "reset", "count": 1}'
              '{"path": "^/fred/", "fault": "delay", "ms": 300, "count": 3}')
fi
for fault in "${transient[@]}"; do
  rm -rf "$work/data"
  fakeapi_reset
  fakeapi_fault "$fault"
  expect "macroeconomic through $fault" "$(collect macroeconomic transient)" 0
  expect "macro rows through $fault" "$(count_rows context/macroeconomic)" '{"fred": 46, "worldbank": 18}'
done

# ---- the FOMC page is down: the shipped calendar stands in ------------------------------
rm -rf "$work/data"
fakeapi_reset
fakeapi_fault '{"path": "^/monetarypolicy/", "fault": "status", "status": 404, "body": "not found"}'
expect "policy with the calendar page down" "$(collect policy fomc_fallback)" 0
python3 - "$work/data" <<'PY'
import glob, json, os, sys
rows = [json.loads(l) for p in glob.glob(os.path.join(sys.argv[1], "context/policy/*/*.jsonl")) for l in open(p) if l.strip()]
assert sum(r["event_type"] == "fomc_meeting" for r in rows) == 32, "the shipped calendar has 32 meetings"
print("ok: FOMC fallback file used")
PY

# ---- no key ever printed ---------------------------------------------------------------------
if grep -l -e fh-secret-0001 -e na-secret-0002 -e av-secret-0003 -e fr-secret-0004 "$work"/*.out "$work"/*.err; then
  echo "FAIL: an API key was printed" >&2
  exit 1
fi
echo "ok: no key in any output"
