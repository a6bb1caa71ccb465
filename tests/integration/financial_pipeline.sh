# financial_pipeline.sh — the one-source pipeline several integration tests run: the
# Mag 7 quotes from Yahoo through one memory channel into one sink the test chooses.
#
#   . "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
#   financial_pipeline FILE "SINK SETTINGS" [SCHEDULE] [CAPACITY] [TRANSACTION_CAPACITY]
#   financial_pipeline "$work/pg.yaml" "type: postgresql, connection_string: \"$conn\", table: quotes, batch_size: 100"
#
# Defaults: schedule 1h, capacity 1000, transactionCapacity 100.

financial_pipeline() {
  cat >"$1" <<YAML
agents:
  raw_data_agent:
    sources: [financial_source]
    channels: [financial_channel]
    sinks: [financial_sink]
sources:
  financial_source: {dataset: financial_data, providers: [yahoo], tickers: mag7, schedule: ${3:-1h}}
channels:
  financial_channel: {type: memory, capacity: ${4:-1000}, transactionCapacity: ${5:-100}}
sinks:
  financial_sink: {$2}
bindings:
  financial_source: [financial_channel]
  financial_channel: financial_sink
YAML
}
