#!/usr/bin/env bash
# test_sink_kafka_collect.sh — a collector machine's pipeline from docs/SCALING.md:
# the real `stockpipe collect financial_data` against the fake API, through a durable
# file channel into a Kafka sink, with Kafka played by librdkafka's mock cluster
# (tests/tools/c/kafka_mock.c: 3 brokers on 127.0.0.1, alive until its stdin closes).
#
# Checks: the 7 Mag 7 quotes arrive once each in the configured topic, keyed by the
# SPEC key (ticker, quote_time) as a JSON array, with the row as typed JSON and the
# dataset header; two collectors (two data directories) feeding the same topic give
# one message per (collector, quote), all under the same 7 keys.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
work=$(mktemp -d /tmp/sp_kafkacollect.XXXXXX)
cleanup() {
  fakeapi_stop
  exec 3>&- 2>/dev/null || true # closing the mock's stdin stops it
  [[ -n ${mock_pid:-} ]] && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fakeapi_start
trap cleanup EXIT # fakeapi_start installed its own EXIT trap: ours calls fakeapi_stop too
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
tools=$STOCKPIPE_BUILD_DIR/tests

mkfifo "$work/mock.in"
"$tools/kafka_mock" 3 stockpipe.financial_data:3 <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/mock.in"
for ((i = 0; i < 3000; i++)); do [[ -s $work/mock.out ]] && break; sleep 0.01; done
brokers=$(head -1 "$work/mock.out")
[[ -n $brokers ]] || { echo "kafka_mock did not start"; cat "$work/mock.err"; exit 1; }

cat >"$work/collector.yaml" <<YAML
agents:
  collector:
    sources: [financial_source]
    channels: [financial_channel]
    sinks: [financial_kafka]
sources:
  financial_source: {dataset: financial_data, providers: [yahoo], tickers: mag7, schedule: 1h}
channels:
  financial_channel: {type: file, capacity: 10000, transactionCapacity: 100}
sinks:
  financial_kafka: {type: kafka, brokers: "$brokers", topic: stockpipe.financial_data, batch_size: 100}
bindings:
  financial_source: [financial_channel]
  financial_channel: financial_kafka
YAML
for machine in a b; do
  "$STOCKPIPE_BIN" collect financial_data --config "$work/collector.yaml" --data-dir "$work/$machine" \
    2>"$work/$machine.err" || { echo "collector $machine failed:"; cat "$work/$machine.err"; exit 1; }
done
"$tools/kafka_mock" --consume "$brokers" stockpipe.financial_data 3 >"$work/messages.tsv"
python3 - "$work/messages.tsv" <<'PY'
import collections, json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
assert len(rows) == 14, f"{len(rows)} messages, want 7 quotes from each of 2 collectors"
keys = collections.Counter()
for key, value, dataset in rows:
    assert dataset == "financial_data", dataset
    k, v = json.loads(key), json.loads(value)
    assert k == [v["ticker"], v["quote_time"]], (k, v["ticker"], v["quote_time"])
    assert isinstance(v["price"], float) and v["price"] > 0 and v["provider"] == "yahoo", v
    assert v["market_cap"] is None, v          # no fundamentals provider configured
    keys[key] += 1
tickers = sorted(json.loads(k)[0] for k in keys)
assert tickers == ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA"], tickers
assert set(keys.values()) == {2}, keys
print("kafka sink: 2 collectors x 7 quotes, keyed by (ticker, quote_time), typed JSON rows")
PY
echo "sink kafka via collect: all checks passed"
