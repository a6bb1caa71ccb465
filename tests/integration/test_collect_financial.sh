#!/usr/bin/env bash
# test_collect_financial.sh — the first end-to-end slice (issue "Foundation"): the real
# `stockpipe collect financial_data` against the fake Yahoo API, through a memory
# channel into file sinks writing CSV and JSON Lines under raw/financial_data/<date>/.
#
# Checks: every Mag 7 quote equals its fixture's values; partition = the quote's own
# date; a second round stores nothing new (same quote_time); a fault on one ticker
# leaves the other six stored and exits 1; usage errors exit 2; API keys given in the
# environment and in credentials.json never appear in anything the program prints.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
fakeapi_start
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
work=$(mktemp -d /tmp/sp_collect.XXXXXX)
trap 'fakeapi_stop; rm -rf "$work"' EXIT
bin=$STOCKPIPE_BIN
fixtures=$STOCKPIPE_FIXTURES/yahoo

write_config() { # $1 = format, $2 = file
  financial_pipeline "$2" "type: file, path: raw/financial_data/%Y-%m-%d, file_prefix: mag7_financial_, format: $1, batch_size: 100"
}

check_values() { # $1 = data dir, $2 = format, $3 = expected tickers (comma list)
  python3 - "$1" "$2" "$3" "$fixtures" <<'PY'
import csv, datetime, glob, json, os, sys
data, fmt, expected, fixtures = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
rows = []
for path in sorted(glob.glob(os.path.join(data, "raw/financial_data/*/*." + fmt))):
    part = os.path.basename(os.path.dirname(path))
    with open(path) as f:
        got = list(csv.DictReader(f)) if fmt == "csv" else [json.loads(l) for l in f if l.strip()]
    for r in got:
        r["_partition"] = part
        rows.append(r)
tickers = sorted(r["ticker"] for r in rows)
assert tickers == sorted(expected), f"tickers {tickers} != {sorted(expected)}"
for r in rows:
    meta = json.load(open(os.path.join(fixtures, f"chart-{r['ticker']}.json")))["chart"]["result"][0]["meta"]
    qt = datetime.datetime.fromtimestamp(meta["regularMarketTime"], datetime.timezone.utc)
    assert r["quote_time"] == qt.strftime("%Y-%m-%dT%H:%M:%SZ"), (r["ticker"], r["quote_time"], qt)
    assert r["_partition"] == qt.strftime("%Y-%m-%d"), (r["ticker"], r["_partition"])
    assert float(r["price"]) == meta["regularMarketPrice"], (r["ticker"], r["price"])
    assert r["currency"] == meta["currency"] and r["provider"] == "yahoo", r
    for col, key in (("high", "regularMarketDayHigh"), ("low", "regularMarketDayLow"),
                     ("volume", "regularMarketVolume"), ("week52_high", "fiftyTwoWeekHigh"),
                     ("week52_low", "fiftyTwoWeekLow")):
        if key in meta:
            assert float(r[col]) == float(meta[key]), (r["ticker"], col, r[col], meta[key])
    for col in ("market_cap", "pe_ratio", "eps"):   # no fundamentals provider configured: null
        assert r[col] in ("", None), (r["ticker"], col, r[col])
print(f"{fmt}: {len(rows)} rows equal their fixtures")
PY
}

for fmt in csv jsonl; do
  write_config "$fmt" "$work/$fmt.yaml"
  "$bin" collect financial_data --config "$work/$fmt.yaml" --data-dir "$work/$fmt" 2>"$work/$fmt.err"
  check_values "$work/$fmt" "$fmt" AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA
done

# A second round: the quote_time of every ticker equals the stored one, so nothing new.
before=$(find "$work/csv/raw" -type f | wc -l)
"$bin" collect financial_data --config "$work/csv.yaml" --data-dir "$work/csv" 2>"$work/again.err"
after=$(find "$work/csv/raw" -type f | wc -l)
[[ $before == "$after" ]] || { echo "second round wrote new files ($before -> $after)"; exit 1; }
check_values "$work/csv" csv AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA

# One ticker failing (500 on every attempt): six stored, exit code 1, the failure named.
fakeapi_fault '{"path": "^/v8/finance/chart/NVDA$", "fault": "500", "count": "always"}'
set +e
"$bin" collect financial_data --config "$work/csv.yaml" --data-dir "$work/fault" 2>"$work/fault.err"
code=$?
set -e
[[ $code == 1 ]] || { echo "expected exit 1 with one failing ticker, got $code"; cat "$work/fault.err"; exit 1; }
grep -q "NVDA" "$work/fault.err" || { echo "the failure does not name NVDA:"; cat "$work/fault.err"; exit 1; }
check_values "$work/fault" csv AAPL,MSFT,GOOGL,AMZN,META,TSLA
fakeapi_reset

# One pipeline per data directory: a second process is refused while the first runs.
# The fake API holds the first one's requests (25 s, under Yahoo's 30 s time-out) until
# the reset below lets them go: however slowly the second process starts, the first
# still holds the lock when it looks.
fakeapi_fault '{"path": "^/v8/finance/chart/", "fault": "delay", "ms": 25000, "count": 7}'
"$bin" collect financial_data --config "$work/csv.yaml" --data-dir "$work/locked" 2>"$work/first.err" &
first=$!
for ((i = 0; i < 1500; i++)); do [[ -s $work/locked/.lock ]] && break; sleep 0.02; done
set +e
"$bin" collect financial_data --config "$work/csv.yaml" --data-dir "$work/locked" 2>"$work/second.err"
code=$?
set -e
fakeapi_reset
[[ $code == 1 ]] || { echo "second process on the same data dir: want exit 1, got $code"; exit 1; }
grep -q "in use by another stockpipe process pid $first" "$work/second.err" || { cat "$work/second.err"; exit 1; }
wait "$first" || { echo "the first process failed:"; cat "$work/first.err"; exit 1; }
check_values "$work/locked" csv AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA
fakeapi_reset

# Usage errors exit 2.
set +e
"$bin" collect prices --data-dir "$work/x" 2>/dev/null; [[ $? == 2 ]] || { echo "unknown dataset: want 2"; exit 1; }
"$bin" collect --data-dir "$work/x" 2>/dev/null; [[ $? == 2 ]] || { echo "no dataset: want 2"; exit 1; }
set -e

# Keys never printed: fake keys in the environment and in a credentials file, a source
# using keyed providers, faults so that error paths print URLs and bodies.
printf '{"finnhub_api_key": "FILEKEYfinnhub1234", "fred_api_key": "FILEKEYfred5678"}\n' >"$work/cred.json"
chmod 600 "$work/cred.json"
# (403: a non-retryable error, so the error paths print URLs at once; the keyed
# providers' free-tier pacing is lifted so the check takes seconds.)
fakeapi_fault '{"path": ".*", "fault": "status", "status": 403, "count": "always"}'
sed 's/providers: \[yahoo\]/providers: [yahoo, alphavantage, finnhub]/' "$work/csv.yaml" >"$work/keys.yaml"
printf 'providers:\n  alphavantage: {rate_limit: 0, max_in_flight: 8}\n  finnhub: {rate_limit: 0, max_in_flight: 8}\n' >>"$work/keys.yaml"
set +e
STOCKPIPE_ALPHAVANTAGE_KEY=ENVKEYalpha9999 STOCKPIPE_NEWSAPI_KEY=ENVKEYnews4242 \
STOCKPIPE_ALPHAVANTAGE_BASE_URL=$FAKEAPI_URL STOCKPIPE_FINNHUB_BASE_URL=$FAKEAPI_URL \
  "$bin" collect financial_data --config "$work/keys.yaml" --data-dir "$work/keys" --credentials "$work/cred.json" \
  --log-level DEBUG >"$work/keys.out" 2>"$work/keys.err"
set -e
if grep -a -E "FILEKEYfinnhub1234|FILEKEYfred5678|ENVKEYalpha9999|ENVKEYnews4242" "$work/keys.out" "$work/keys.err"; then
  echo "an API key was printed"; exit 1
fi
# the keyed requests failed and were reported with their (redacted) URLs: the check above had text to bite on
grep -q "REDACTED" "$work/keys.err" || { echo "expected redacted key URLs in the output:"; head "$work/keys.err"; exit 1; }
echo "collect financial_data: all checks passed"
