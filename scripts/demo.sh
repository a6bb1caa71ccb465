#!/usr/bin/env bash
# demo.sh — see every dataset flow end to end without the internet or API keys
# (`make demo`, issue 7).
#
# Starts the bundled fake provider API (tests/fakeapi, recorded and documented
# responses), points every provider's STOCKPIPE_<NAME>_BASE_URL at it, gives the keyed
# providers fake keys, and runs `stockpipe run --once` on the default pipeline
# (config/stockpipe.yaml) into a temporary data directory.  Two settings differ from
# the defaults so that the demo takes seconds, not minutes: the `sp500` universe is
# the Mag 7 (the fake API has fixtures for those only), and the providers' rate limits
# are off (the fake API does not need protecting).  The fake API's recorded Yahoo
# charts hold one daily bar each, so for stock_movements the demo serves synthetic
# hourly bars of the last 60 days (tests/tools/c/gen_chart: a random walk placed on the
# NYSE sessions) — say so, they are not market data.  Then it prints the stored files
# per dataset, `stockpipe summary`, and three queries.
#
# Usage: scripts/demo.sh [BUILD_DIR]    (default build; KEEP=1 keeps the data directory)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/${1:-build}"
bin="$build/stockpipe"
[[ -x $bin ]] || { echo "demo: $bin not found; run 'make build' first" >&2; exit 2; }

. "$root/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/stockpipe-demo.XXXXXX)
finish() {
  fakeapi_stop
  if [[ ${KEEP:-0} == 1 ]]; then echo "data kept in $work/data"; else rm -rf "$work"; fi
}
trap finish EXIT
fakeapi_start
trap finish EXIT # fakeapi_start installs its own EXIT trap; ours also stops it

for provider in YAHOO ALPHAVANTAGE FINNHUB NEWSAPI FRED WORLDBANK FEDRESERVE TREASURY; do
  export "STOCKPIPE_${provider}_BASE_URL=$FAKEAPI_URL"
done
export STOCKPIPE_FINNHUB_KEY=demo-finnhub-key STOCKPIPE_NEWSAPI_KEY=demo-newsapi-key
export STOCKPIPE_ALPHAVANTAGE_KEY=demo-alphavantage-key STOCKPIPE_FRED_KEY=demo-fred-key
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS

# The default pipeline (a config without agents/sources/... keeps it), with the Mag 7
# as the universe and no rate limits.
{ echo "symbol,name,sector"; grep -E '^(AAPL|MSFT|GOOGL|AMZN|NVDA|META|TSLA),' "$root/config/sp500.csv"; } \
  >"$work/universe.csv"
cat >"$work/demo.yaml" <<YAML
pipeline:
  sp500_file: $work/universe.csv
  credentials: $work/no-credentials.json
providers:
$(for p in yahoo alphavantage finnhub newsapi fred worldbank fedreserve treasury; do echo "  $p: {rate_limit: 0}"; done)
YAML

# Synthetic hourly bars for the Mag 7 (the 60 days of `initial_history`), served for
# `interval=1h` chart requests ahead of the recorded fixtures.
if [[ -x $build/tests/gen_chart ]]; then
  mkdir -p "$work/charts"
  "$build/tests/gen_chart" "$work/charts" 1h "$(date -u -d '59 days ago' +%F)" "$(date -u -d yesterday +%F)" \
    AAPL MSFT GOOGL AMZN NVDA META TSLA >/dev/null
  for chart in "$work"/charts/chart-*.json; do
    symbol=${chart##*/chart-}
    symbol=${symbol%.json}
    fakeapi_route "$(python3 -c 'import json, sys
print(json.dumps({"name": "demo-bars-" + sys.argv[1], "path": "/v8/finance/chart/" + sys.argv[1],
                  "query": {"interval": "1h"}, "body": open(sys.argv[2]).read(),
                  "content_type": "application/json"}))' "$symbol" "$chart")"
  done
  echo "(stock_movements: synthetic hourly bars from tests/tools/c/gen_chart, not market data)"
fi

echo "== stockpipe run --once (default pipeline, fake API at $FAKEAPI_URL, data in $work/data)"
set +e
"$bin" run --once --config "$work/demo.yaml" --data-dir "$work/data" --log-level WARN
code=$?
set -e
echo "exit code: $code"

echo
echo "== stored files per dataset"
for ds in raw/financial_data raw/stock_movements raw/news context/macroeconomic context/policy; do
  if [[ ! -d $work/data/$ds ]]; then
    printf '%-22s    0 file(s)\n' "$ds"
    continue
  fi
  files=$(find "$work/data/$ds" -type f -name '*.parquet' | wc -l)
  partitions=$(find "$work/data/$ds" -mindepth 1 -maxdepth 1 -type d | wc -l)
  printf '%-22s %4d file(s) in %3d date partition(s), e.g.\n' "$ds" "$files" "$partitions"
  find "$work/data/$ds" -type f -name '*.parquet' | sort | sed -n "1,2s|$work/data/|    |p"
done

echo
echo "== stockpipe summary"
"$bin" summary --config "$work/demo.yaml" --data-dir "$work/data"

echo
echo "== stockpipe query financial_data --columns ticker,quote_time,price,currency,provider"
"$bin" query financial_data --config "$work/demo.yaml" --data-dir "$work/data" \
  --columns ticker,quote_time,price,currency,provider --format table

echo
week_ago=$(date -u -d '7 days ago' +%F)
echo "== stockpipe query stock_movements --tickers AAPL --from $week_ago --columns ticker,bar_time,close,sma_20,rsi_14,macd --limit 5"
"$bin" query stock_movements --config "$work/demo.yaml" --data-dir "$work/data" --tickers AAPL --from "$week_ago" \
  --columns ticker,bar_time,close,sma_20,rsi_14,macd --limit 5 --format table

echo
echo "== stockpipe query news --where 'sentiment_score>=0.5' --columns ticker,published_at,sentiment_score,sentiment_label,headline --limit 5"
"$bin" query news --config "$work/demo.yaml" --data-dir "$work/data" --where "sentiment_score>=0.5" \
  --columns ticker,published_at,sentiment_score,sentiment_label,headline --limit 5 --format table
exit "$code"
