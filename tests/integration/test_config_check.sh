#!/usr/bin/env bash
# test_config_check.sh — `stockpipe config check/show/docs` on the real binary:
# every tests/fixtures/config/bad_*.yaml exits 2 with its expected
# FILE:LINE:COLUMN: message on stderr; good_*.yaml and the shipped config pass;
# option overrides work; a group-readable credentials file is refused with the
# chmod hint; and with fake keys in the environment and in the file, nothing the
# program prints (stdout or stderr, success or failure) contains a key.
set -u
BIN=${STOCKPIPE_BIN:?}
FIX=${STOCKPIPE_FIXTURES:?}/config
SRC=${STOCKPIPE_SOURCE_DIR:?}
WORK=$(mktemp -d /tmp/sp-config-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
unset STOCKPIPE_CONFIG STOCKPIPE_DATA_DIR STOCKPIPE_CREDENTIALS STOCKPIPE_FINNHUB_KEY STOCKPIPE_NEWSAPI_KEY \
  STOCKPIPE_ALPHAVANTAGE_KEY STOCKPIPE_FRED_KEY
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
checks=0

# ---- broken files: exit 2 and the exact position -------------------------------------
for f in "$FIX"/bad_*.yaml; do
  checks=$((checks + 1))
  expect=$(head -1 "$f" | sed -n 's/^# expect: //p')
  [ -n "$expect" ] || { fail "$f has no '# expect:' line"; continue; }
  "$BIN" config check "$f" >out.txt 2>err.txt
  rc=$?
  [ "$rc" = 2 ] || fail "$(basename "$f"): exit $rc, expected 2"
  grep -qF -- "$f:$expect" err.txt || { fail "$(basename "$f"): stderr lacks '$f:$expect'"; sed 's/^/    /' err.txt; }
  # every stderr line is a file:line:column: diagnostic (or the overflow note)
  if grep -vE "^$f:[0-9]+:[0-9]+: |^\([0-9]+ more errors? not shown\)$" err.txt | grep -q .; then
    fail "$(basename "$f"): stderr line without file:line:column: prefix"; sed 's/^/    /' err.txt
  fi
  [ -s out.txt ] && fail "$(basename "$f"): printed to stdout on error"
done

# ---- good files --------------------------------------------------------------------
for f in "$FIX"/good_*.yaml "$SRC/config/stockpipe.yaml"; do
  checks=$((checks + 1))
  "$BIN" config check "$f" >out.txt 2>err.txt
  rc=$?
  [ "$rc" = 0 ] || { fail "$(basename "$f"): exit $rc, expected 0"; sed 's/^/    /' err.txt; }
  grep -q '^OK' out.txt || fail "$(basename "$f"): no OK line"
done
grep -q 'bars \[stock_movements, cron 30 21 \* \* 1-5\]' <("$BIN" config check "$FIX/good_fanout.yaml" 2>/dev/null) ||
  fail "summary of good_fanout.yaml lacks the source line"

# no config anywhere: built-in defaults; ./config/stockpipe.yaml is found; --data-dir and env override
checks=$((checks + 1))
"$BIN" config check >out.txt 2>err.txt || fail "built-in defaults: exit $?"
grep -q '^config: built-in defaults$' out.txt || fail "no-config run did not use the built-in defaults"
grep -q '^data_dir: ./data$' out.txt || fail "default data_dir not ./data"
mkdir config && cp "$FIX/good_pipeline_only.yaml" config/stockpipe.yaml
"$BIN" config check >out.txt 2>&1 || fail "./config/stockpipe.yaml: exit $?"
grep -q '^config: config/stockpipe.yaml$' out.txt || fail "./config/stockpipe.yaml not found by lookup"
STOCKPIPE_DATA_DIR=/tmp/env-dir "$BIN" config check >out.txt 2>&1
grep -q '^data_dir: /tmp/env-dir$' out.txt || fail "STOCKPIPE_DATA_DIR ignored"
STOCKPIPE_DATA_DIR=/tmp/env-dir "$BIN" config check --data-dir=/tmp/cli-dir >out.txt 2>&1
grep -q '^data_dir: /tmp/cli-dir$' out.txt || fail "--data-dir=DIR does not win over STOCKPIPE_DATA_DIR"
STOCKPIPE_CONFIG="$FIX/good_fanout.yaml" "$BIN" config check --data-dir /tmp/cli2 >out.txt 2>&1
grep -q "^config: $FIX/good_fanout.yaml$" out.txt || fail "STOCKPIPE_CONFIG ignored"
grep -q '^data_dir: /tmp/cli2$' out.txt || fail "--data-dir DIR ignored"
"$BIN" config check --config "$FIX/bad_type.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "--config FILE not used"
rm -rf config

# usage errors
checks=$((checks + 1))
"$BIN" config check --bogus >/dev/null 2>err.txt; [ $? = 2 ] || fail "unknown option: exit not 2"
grep -q 'unknown option --bogus' err.txt || fail "unknown option not named"
"$BIN" config check --log-level LOUD >/dev/null 2>&1; [ $? = 2 ] || fail "bad --log-level: exit not 2"
"$BIN" config check --data-dir >/dev/null 2>&1; [ $? = 2 ] || fail "--data-dir without value: exit not 2"
"$BIN" config frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown action: exit not 2"
"$BIN" config check /nonexistent.yaml >/dev/null 2>err.txt; [ $? = 2 ] || fail "missing file: exit not 2"
grep -q '^/nonexistent.yaml: cannot read config file' err.txt || fail "missing file message"

# ---- credentials ------------------------------------------------------------------------
K_FINNHUB=fakefinnhubKEY4f3a9c K_NEWS=fakenewsapiKEY77b1e0 K_AV=fakealphaKEY99d2 K_FRED=fakefredKEY5e6f7a8b
K_FILE_FRED=filefredKEY0c0ffee K_FILE_AV=fileavKEYdeadbeef
printf '{"fred_api_key": "%s", "alpha_vantage_key": "%s"}\n' "$K_FILE_FRED" "$K_FILE_AV" >creds.json
chmod 644 creds.json
checks=$((checks + 1))
"$BIN" config check --credentials creds.json >out.txt 2>err.txt; rc=$?
[ "$rc" = 2 ] || fail "group-readable credentials: exit $rc, expected 2"
grep -qF 'chmod 600 creds.json' err.txt || fail "no chmod hint: $(cat err.txt)"
chmod 600 creds.json
"$BIN" config check --credentials=creds.json >out.txt 2>err.txt || fail "credentials 0600: exit $?"
grep -q 'fred (key from credentials file)' out.txt || fail "fred key from file not reported"
grep -q 'finnhub (no key: disabled)' out.txt || fail "missing finnhub key not reported"
STOCKPIPE_CREDENTIALS=creds.json STOCKPIPE_FRED_KEY=$K_FRED "$BIN" config check >out.txt 2>&1
grep -q 'fred (key from STOCKPIPE_FRED_KEY)' out.txt || fail "env key not preferred / STOCKPIPE_CREDENTIALS ignored"
printf '{"fred_api_key": "%s", "bogus_key": "x"}\n' "$K_FILE_FRED" >unknown.json && chmod 600 unknown.json
"$BIN" config check --credentials unknown.json >/dev/null 2>err.txt; [ $? = 2 ] || fail "unknown credential key: exit not 2"
grep -q "unknown key 'bogus_key'" err.txt || fail "unknown credential key not named"

# ---- no key ever printed ---------------------------------------------------------------
checks=$((checks + 1))
export STOCKPIPE_FINNHUB_KEY=$K_FINNHUB STOCKPIPE_NEWSAPI_KEY=$K_NEWS STOCKPIPE_ALPHAVANTAGE_KEY=$K_AV
export STOCKPIPE_FRED_KEY=$K_FRED
: >all.txt
for args in "config check --credentials creds.json" "config show --credentials creds.json" \
  "config check --credentials unknown.json" "config check --credentials creds.json $FIX/bad_enum.yaml" \
  "config check --credentials creds.json --log-level DEBUG" "config docs" "config check --$K_FRED" \
  "config check --credentials creds.json --data-dir $K_NEWS"; do
  # shellcheck disable=SC2086
  "$BIN" $args >>all.txt 2>&1
done
chmod 644 creds.json
"$BIN" config check --credentials creds.json >>all.txt 2>&1
for key in "$K_FINNHUB" "$K_NEWS" "$K_AV" "$K_FRED" "$K_FILE_FRED" "$K_FILE_AV"; do
  # the --data-dir value and the unknown option are echoed on purpose above: redaction must catch them
  if grep -qF "$key" all.txt; then fail "a key was printed: $key"; grep -nF "$key" all.txt | head -3; fi
done
grep -q 'REDACTED' all.txt || fail "redaction never happened (the keys echoed in options should be REDACTED)"

# ---- database passwords never printed -------------------------------------------------------
checks=$((checks + 1))
cat >db.yaml <<'YAML'
agents:
  a1: {sources: [bars], channels: [c1, c2], sinks: [pg, mg]}
sources:
  bars: {dataset: stock_movements, tickers: [AAPL]}
channels:
  c1: {type: memory}
  c2: {type: memory}
sinks:
  pg: {type: postgresql, connection_string: "host=127.0.0.1 password=S3cretPw123 dbname=x"}
  mg: {type: mongodb, uri: "mongodb://stock:M0ngoPw456@127.0.0.1:27017/?authSource=admin"}
bindings:
  bars: [c1, c2]
  c1: pg
  c2: mg
YAML
"$BIN" config show db.yaml >db_show.txt 2>&1 || { fail "config show db.yaml: exit $?"; cat db_show.txt; }
"$BIN" config check db.yaml --log-level DEBUG >db_check.txt 2>&1 || { fail "config check db.yaml: exit $?"; cat db_check.txt; }
for pw in S3cretPw123 M0ngoPw456; do
  if grep -qF "$pw" db_show.txt db_check.txt; then fail "a database password was printed: $pw"; grep -nF "$pw" db_show.txt db_check.txt | head -3; fi
done
grep -qF 'host=127.0.0.1 password=REDACTED dbname=x' db_show.txt || fail "config show lost the rest of the connection string"
grep -qF 'mongodb://stock:REDACTED@127.0.0.1:27017/?authSource=admin' db_show.txt || fail "config show lost the rest of the uri"

# ---- a writer agent's Kafka channel: a valid config (it runs: test_kafka_writer.sh) ---------
checks=$((checks + 1))
cat >writer.yaml <<'YAML'
pipeline:
  data_dir: ./writer-data
agents:
  writer: {channels: [financial_in], sinks: [financial_files]}
channels:
  financial_in: {type: kafka, brokers: "127.0.0.1:1", topic: financial_data, dataset: financial_data}
sinks:
  financial_files: {type: file}
bindings:
  financial_in: financial_files
YAML
"$BIN" config check writer.yaml >writer_check.txt 2>&1 || { fail "config check writer.yaml: exit $?"; cat writer_check.txt; }

# ---- config show prints a config that loads back to itself -------------------------------
checks=$((checks + 1))
for f in "$FIX/good_fanout.yaml" ""; do
  "$BIN" config show $f >shown.yaml 2>err.txt || fail "config show ${f:-defaults}: exit $?"
  "$BIN" config show shown.yaml >shown2.yaml 2>>err.txt || { fail "shown config does not load"; cat err.txt; }
  diff <(tail -n +2 shown.yaml) <(tail -n +2 shown2.yaml) >/dev/null || fail "config show is not a fixed point for ${f:-defaults}"
done
grep -q 'schedule: "30 21 \* \* 1-5"' <("$BIN" config show "$FIX/good_fanout.yaml") || fail "show lost the cron schedule"

# ---- docs in sync with the option tables ---------------------------------------------------
checks=$((checks + 1))
"$BIN" config docs >docs.md || fail "config docs: exit $?"
diff -q docs.md "$SRC/docs/CONFIGURATION.md" >/dev/null ||
  fail "docs/CONFIGURATION.md differs from \`stockpipe config docs\` (regenerate it)"

echo "config check: $checks groups of checks, $(ls "$FIX"/bad_*.yaml | wc -l) broken fixtures, $failures failures"
[ "$failures" = 0 ]
