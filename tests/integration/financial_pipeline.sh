# financial_pipeline.sh — the one-source pipelines the integration tests run: one agent
# taking one source through one channel into one sink.  financial_pipeline is the Mag 7
# quotes from Yahoo through a memory channel into a sink the test chooses;
# one_source_pipeline writes any other such config.
#
#   . "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
#   financial_pipeline FILE "SINK SETTINGS" [SCHEDULE] [CAPACITY] [TRANSACTION_CAPACITY]
#   financial_pipeline "$work/pg.yaml" "type: postgresql, connection_string: \"$conn\", table: quotes, batch_size: 100"
#     Defaults: schedule 1h, capacity 1000, transactionCapacity 100.
#   one_source_pipeline FILE NAME "SOURCE" "CHANNEL" "SINK" [MORE YAML] [AGENT]
#   one_source_pipeline "$work/cfg.yaml" movement "dataset: stock_movements, providers: [yahoo], tickers: [T1]" \
#     "type: memory, capacity: 1000, transactionCapacity: 100" "type: file, path: raw/x/%Y-%m-%d, format: csv" \
#     'pipeline: {http: {listen: ""}}'
#     The components are NAME_source, NAME_channel and NAME_sink, each with the settings
#     given (a YAML flow mapping's inside); MORE YAML (top-level keys: pipeline,
#     providers) goes at the end; the agent is AGENT (default raw_data_agent).

one_source_pipeline() {
  cat >"$1" <<YAML
agents:
  ${7:-raw_data_agent}:
    sources: [$2_source]
    channels: [$2_channel]
    sinks: [$2_sink]
sources:
  $2_source: {$3}
channels:
  $2_channel: {$4}
sinks:
  $2_sink: {$5}
bindings:
  $2_source: [$2_channel]
  $2_channel: $2_sink
${6:-}
YAML
}

financial_pipeline() {
  one_source_pipeline "$1" financial "dataset: financial_data, providers: [yahoo], tickers: mag7, schedule: ${3:-1h}" \
    "type: memory, capacity: ${4:-1000}, transactionCapacity: ${5:-100}" "$2"
}
