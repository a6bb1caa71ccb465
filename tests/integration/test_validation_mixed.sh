#!/usr/bin/env bash
# test_validation_mixed.sh — issue 10's mixed fixture run: the fake Yahoo API serves a
# daily chart mixing good bars and broken ones (low > high, negative volume, a
# non-positive price, a Saturday bar, an all-null bar Yahoo sends for halted days, a
# bar from before the requested window, a bar without a timestamp); `stockpipe collect
# stock_movements` must store every served bar exactly once, either in the dataset or
# in the quarantine with the rule it broke, and flag the suspicious ones.
# Counts: served 13 = stored 6 + quarantined 7; flagged 3.  Then the watermarks of
# quarantined bars: bar_null advances its series', bar_outside_window does not.  Last,
# news: the fake NewsAPI serves 4 articles of which one has no publishedAt and one no
# usable URL: served 4 = stored 2 + quarantined 2, each with the article as sent; a
# second poll serving the same articles stores and quarantines nothing more.
set -euo pipefail
. "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
. "$STOCKPIPE_SOURCE_DIR/tests/integration/financial_pipeline.sh"
fakeapi_start
export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
work=$(mktemp -d /tmp/sp_mixed.XXXXXX)
trap 'fakeapi_stop; rm -rf "$work"' EXIT

# The chart: 2025-06-02 (Mon) … with one bar per listed day, 09:30 New York = 13:30 UTC.
python3 - "$work/chart.json" "$work/expected.json" <<'PY'
import calendar, datetime, json, sys
bars = [  # date, open, high, low, close, volume, expected outcome
    ("2024-06-03", 90, 92, 89, 91, 900, "bar_outside_window"),       # before the first poll's window
    ("2025-06-02", 100, 102, 99, 101, 1000, "stored"),
    ("2025-06-03", 101, 103, 100, 102, 1100, "stored"),
    (None, 101, 103, 100, 102, 1150, "item_unparseable"),             # timestamp null: no key
    ("2025-06-04", 102, 101, 103, 102, 1200, "ohlc_order"),          # low > high
    ("2025-06-05", 102, 104, 101, 103, -5, "volume_negative"),
    ("2025-06-06", 103, 105, 0, 104, 1300, "price_not_positive"),
    ("2025-06-07", 104, 106, 103, 105, 1400, "bar_not_in_session"),  # Saturday
    ("2025-06-09", None, None, None, None, None, "bar_null"),        # all-null bar
    ("2025-06-10", 104, 106, 103, 105, 0, "stored"),                  # flagged: zero volume
    ("2025-06-11", 1.06, 1.07, 1.04, 1.05, 1500, "stored"),            # flagged: ~1/100 vs 105
    ("2025-06-12", 105, 107, 104, 106, 1600, "stored"),               # flagged: ~100x vs 1.05
    ("2025-06-13", 106, 108, 105, 107, 1700, "stored"),
]
ts, o, h, l, c, v = [], [], [], [], [], []
for d, *vals, _ in bars:
    t = d and calendar.timegm(datetime.datetime.strptime(d + " 13:30", "%Y-%m-%d %H:%M").timetuple())
    ts.append(t)
    for arr, x in zip((o, h, l, c, v), vals):
        arr.append(x)
chart = {"chart": {"result": [{"meta": {"currency": "USD", "symbol": "MIXD", "exchangeName": "NMS",
         "instrumentType": "EQUITY", "regularMarketTime": ts[-1] + 23400, "gmtoffset": -14400, "timezone": "EDT",
         "exchangeTimezoneName": "America/New_York", "regularMarketPrice": 107, "dataGranularity": "1d"},
         "timestamp": ts, "indicators": {"quote": [{"open": o, "high": h, "low": l, "close": c, "volume": v}],
         "adjclose": [{"adjclose": c}]}}], "error": None}}
json.dump(chart, open(sys.argv[1], "w"))
json.dump([{"bar_time": t and datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ"), "outcome": b[-1]}
           for t, b in zip(ts, bars)], open(sys.argv[2], "w"))
PY
fakeapi_route "$(python3 -c 'import json,sys; print(json.dumps({"name": "mixed", "path": "/v8/finance/chart/MIXD", "body": open(sys.argv[1]).read()}))' "$work/chart.json")"

# the first poll's window starts 2025-05-26, whatever today is
history=$(python3 -c 'import datetime; print((datetime.date.today() - datetime.date(2025, 5, 26)).days)')
one_source_pipeline "$work/cfg.yaml" movement \
  "dataset: stock_movements, providers: [yahoo], tickers: [MIXD], bar_interval: 1d, schedule: 1d, initial_history: ${history}d" \
  "type: memory, capacity: 1000, transactionCapacity: 100" \
  "type: file, path: raw/stock_movements/%Y-%m-%d, format: csv, batch_size: 100"
"$STOCKPIPE_BIN" collect stock_movements --config "$work/cfg.yaml" --data-dir "$work/data" 2>"$work/err" || {
  cat "$work/err"; exit 1; }

python3 - "$work/data" "$work/expected.json" <<'PY'
import csv, glob, json, os, sys
data, expected = sys.argv[1], json.load(open(sys.argv[2]))
stored = {}
for p in glob.glob(os.path.join(data, "raw/stock_movements/*/*.csv")):
    for r in csv.DictReader(open(p)):
        assert r["bar_time"] not in stored, f"stored twice: {r['bar_time']}"
        stored[r["bar_time"]] = r
quarantined = {}
for p in glob.glob(os.path.join(data, "quarantine/stock_movements/*/*.jsonl")):
    for line in open(p):
        q = json.loads(line)
        assert q["bar_time"] not in quarantined, f"quarantined twice: {q['bar_time']}"
        assert q["provider"] == "yahoo" and q["ticker"] == "MIXD" and "/v8/finance/chart/MIXD?" in q["request"], q
        quarantined[q["bar_time"]] = q
bad = quarantined[None]  # the bar without a timestamp: what was read, and the bar as sent
assert bad["rule"] == "item_unparseable" and "timestamp" in bad["detail"], bad
assert json.loads(bad["raw"]) == {"timestamp": None, "open": 101, "high": 103, "low": 100, "close": 102,
                                  "volume": 1150, "adjclose": 102}, bad
assert bad["close"] == 102 and bad["interval"] == "1d", bad
served = expected
for e in expected:
    t, want = e["bar_time"], e["outcome"]
    if want == "stored":
        assert t in stored and t not in quarantined, (t, "not stored")
    else:
        assert t in quarantined and t not in stored, (t, want, "not quarantined")
        assert quarantined[t]["rule"] == want, (t, quarantined[t]["rule"], want)
flags = {t: r["quality_flags"] for t, r in stored.items() if r["quality_flags"]}
assert flags == {"2025-06-10T13:30:00Z": "zero_volume_in_session", "2025-06-11T13:30:00Z": "price_jump_100x",
                 "2025-06-12T13:30:00Z": "price_jump_100x"}, flags
assert len(served) == len(stored) + len(quarantined) == 13 and len(stored) == 6, (len(stored), len(quarantined))
print(f"served {len(served)} = stored {len(stored)} + quarantined {len(quarantined)}; flagged {len(flags)}")
PY

# `stockpipe summary` counts the quarantine per rule and the stored rows per flag.
"$STOCKPIPE_BIN" summary --json --data-dir "$work/data" >"$work/summary.json"
python3 - "$work/summary.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["datasets"]["stock_movements"]
assert m["rows"] == 6, m
assert m["quarantined"] == 7, m
assert m["quarantined_by_name"] == {"ohlc_order": 1, "volume_negative": 1, "price_not_positive": 1,
                                    "bar_not_in_session": 1, "bar_null": 1, "bar_outside_window": 1,
                                    "item_unparseable": 1}, m
assert m["flagged"] == 3, m
assert m["flagged_by_name"] == {"zero_volume_in_session": 1, "price_jump_100x": 2}, m
print("summary: quarantined", m["quarantined_by_name"], "flagged", m["flagged_by_name"])
PY
"$STOCKPIPE_BIN" summary --data-dir "$work/data" | grep -q "quarantined *7: bar_not_in_session 1, bar_null 1, bar_outside_window 1, item_unparseable 1, ohlc_order 1"

# `stockpipe query quarantine` reads the rejected rows back: JSON Lines by default,
# a day range, csv/table of day, rule, detail and key columns; unknown dataset = exit 2.
"$STOCKPIPE_BIN" query quarantine --dataset stock_movements --data-dir "$work/data" >"$work/q.jsonl"
"$STOCKPIPE_BIN" query quarantine --dataset stock_movements --data-dir "$work/data" --format csv >"$work/q.csv"
"$STOCKPIPE_BIN" query quarantine --dataset stock_movements --data-dir "$work/data" --format table >"$work/q.txt"
"$STOCKPIPE_BIN" query quarantine --dataset stock_movements --data-dir "$work/data" --from 2999-01-01 >"$work/q_none"
python3 - "$work" <<'PY'
import csv, json, os, sys
w = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(w, "q.jsonl"))]
want = {"2025-06-04T13:30:00Z": "ohlc_order", "2025-06-05T13:30:00Z": "volume_negative",
        "2025-06-06T13:30:00Z": "price_not_positive", "2025-06-07T13:30:00Z": "bar_not_in_session",
        "2025-06-09T13:30:00Z": "bar_null", "2024-06-03T13:30:00Z": "bar_outside_window", None: "item_unparseable"}
assert {r["bar_time"]: r["rule"] for r in rows} == want, rows
assert all(r["ticker"] == "MIXD" and r["detail"] and "request" in r for r in rows), rows
c = list(csv.DictReader(open(os.path.join(w, "q.csv"))))
assert len(c) == 7 and {r["bar_time"] or None: r["rule"] for r in c} == want, c
assert all(r["ticker"] == "MIXD" and r["detail"] and len(r["date"]) == 10 for r in c), c
t = open(os.path.join(w, "q.txt")).read().splitlines()
assert t[0].split()[:3] == ["date", "rule", "detail"] and len(t) == 8, t
assert os.path.getsize(os.path.join(w, "q_none")) == 0
print("query quarantine:", len(rows), "rows")
PY
rc=0
"$STOCKPIPE_BIN" query quarantine --dataset nosuch --data-dir "$work/data" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || { echo "unknown dataset: exit $rc, want 2"; exit 1; }

# Watermarks: a quarantined bar_null bar advances its series' watermark (it is that
# bar, for good), a bar_outside_window one does not (a later request for its window
# brings it again).  Fresh data dir: OUTW serves only a bar before the window, NULB
# only an all-null bar.
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
def chart(symbol, t, values):
    o, h, l, c, v = ([x] for x in values)
    return {"chart": {"result": [{"meta": {"currency": "USD", "symbol": symbol, "exchangeName": "NMS",
            "regularMarketTime": t + 23400, "regularMarketPrice": 100},
            "timestamp": [t], "indicators": {"quote": [{"open": o, "high": h, "low": l, "close": c, "volume": v}]}}],
            "error": None}}
for symbol, t, values in (("OUTW", 1717421400, (90, 92, 89, 91, 900)),           # 2024-06-03 13:30Z
                          ("NULB", 1749475800, (None, None, None, None, None))):  # 2025-06-09 13:30Z
    json.dump({"name": symbol, "path": "/v8/finance/chart/" + symbol, "body": json.dumps(chart(symbol, t, values))},
              open(os.path.join(w, symbol + ".route"), "w"))
PY
fakeapi_route "$(cat "$work/OUTW.route")"
fakeapi_route "$(cat "$work/NULB.route")"
sed 's/tickers: \[MIXD\]/tickers: [OUTW, NULB]/' "$work/cfg.yaml" >"$work/cfg2.yaml"
"$STOCKPIPE_BIN" collect stock_movements --config "$work/cfg2.yaml" --data-dir "$work/data2" 2>"$work/err2" || {
  cat "$work/err2"; exit 1; }
python3 - "$work/data2" <<'PY'
import glob, json, os, sqlite3, sys
data = sys.argv[1]
rules = {}
for p in glob.glob(os.path.join(data, "quarantine/stock_movements/*/*.jsonl")):
    for line in open(p):
        q = json.loads(line)
        rules[q["ticker"]] = q["rule"]
assert rules == {"OUTW": "bar_outside_window", "NULB": "bar_null"}, rules
db = sqlite3.connect(os.path.join(data, ".state/stockpipe.db"))
marks = dict(db.execute("SELECT key, value FROM watermark WHERE key LIKE 'stock_movements/%'"))
assert not any(k.startswith("stock_movements/OUTW/") for k in marks), marks    # no mark at all (nor @first)
assert marks["stock_movements/NULB/1d"] == 1749475800 * 10**6, marks
print("watermarks:", marks)
PY

# News: one article without publishedAt and one whose URL is not absolute among good
# ones.  The good ones are stored, the odd ones quarantined with the rule, the field at
# fault, the article as sent and the request (key redacted); summary counts them.
python3 - "$work/news.route" <<'PY'
import json, sys
def article(title, url, published):
    a = {"source": {"id": None, "name": "Example Wire"}, "author": None, "title": title, "description": None,
         "url": url, "urlToImage": None, "content": None}
    if published:
        a["publishedAt"] = published
    return a
body = {"status": "ok", "totalResults": 4, "articles": [
    article("Mixed Corp beats estimates", "https://news.example.com/mixd-beats", "2025-06-12T14:00:00Z"),
    article("Mixed Corp names a new chief", "https://news.example.com/mixd-ceo", None),
    article("Mixed Corp shares slide", "news.example.com/mixd-slide", "2025-06-12T15:00:00Z"),
    article("Mixed Corp opens a plant", "https://news.example.com/mixd-plant", "2025-06-12T16:00:00Z")]}
json.dump({"name": "mixed-news", "path": "/v2/everything", "body": json.dumps(body)}, open(sys.argv[1], "w"))
PY
fakeapi_route "$(cat "$work/news.route")"
one_source_pipeline "$work/cfg_news.yaml" news "dataset: news, providers: [newsapi], tickers: [MIXD], schedule: 1h" \
  "type: memory, capacity: 1000, transactionCapacity: 100" "type: file, path: raw/news/%Y-%m-%d, format: csv, batch_size: 100" \
  "pipeline: {sp500_file: $STOCKPIPE_SOURCE_DIR/config/sp500.csv}"
STOCKPIPE_NEWSAPI_BASE_URL=$FAKEAPI_URL STOCKPIPE_NEWSAPI_KEY=mixed-news-key \
  "$STOCKPIPE_BIN" collect news --config "$work/cfg_news.yaml" --data-dir "$work/data3" 2>"$work/err3" || {
  cat "$work/err3"; exit 1; }
"$STOCKPIPE_BIN" summary --json --data-dir "$work/data3" >"$work/summary3.json"
python3 - "$work/data3" "$work/summary3.json" <<'PY'
import csv, glob, json, os, sys
data = sys.argv[1]
stored = [r for p in glob.glob(os.path.join(data, "raw/news/*/*.csv")) for r in csv.DictReader(open(p))]
assert sorted(r["url"] for r in stored) == ["https://news.example.com/mixd-beats",
                                            "https://news.example.com/mixd-plant"], stored
quarantined = [json.loads(l) for p in glob.glob(os.path.join(data, "quarantine/news/*/*.jsonl")) for l in open(p)]
rules = {q["rule"]: q for q in quarantined}
assert len(quarantined) == 2 and set(rules) == {"item_unparseable", "url_invalid"}, quarantined
for q in quarantined:
    assert q["provider"] == "newsapi" and q["ticker"] == "MIXD", q
    assert "/v2/everything?" in q["request"] and "mixed-news-key" not in q["request"], q
    assert json.loads(q["raw"])["source"]["name"] == "Example Wire", q
assert rules["item_unparseable"]["detail"] == "publishedAt missing", rules
assert "publishedAt" not in json.loads(rules["item_unparseable"]["raw"]), rules
assert rules["item_unparseable"]["url"] == "https://news.example.com/mixd-ceo", rules
assert json.loads(rules["url_invalid"]["raw"])["url"] == "news.example.com/mixd-slide", rules
m = json.load(open(sys.argv[2]))["datasets"]["news"]
assert m["rows"] == 2 and m["quarantined"] == 2, m
assert m["quarantined_by_name"] == {"item_unparseable": 1, "url_invalid": 1}, m
print(f"news: served 4 = stored {len(stored)} + quarantined {len(quarantined)}")
PY
# The next poll serves the same 4 articles: nothing is stored or quarantined twice.
STOCKPIPE_NEWSAPI_BASE_URL=$FAKEAPI_URL STOCKPIPE_NEWSAPI_KEY=mixed-news-key \
  "$STOCKPIPE_BIN" collect news --config "$work/cfg_news.yaml" --data-dir "$work/data3" --log-level debug 2>"$work/err4" || {
  cat "$work/err4"; exit 1; }
"$STOCKPIPE_BIN" summary --json --data-dir "$work/data3" >"$work/summary4.json"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["datasets"]["news"]
assert m["rows"] == 2 and m["quarantined"] == 2, m
' "$work/summary4.json"
[ "$(grep -c "item skipped (already_quarantined)" "$work/err4")" = 2 ] || { cat "$work/err4"; exit 1; }
echo "news, second poll: still stored 2 + quarantined 2"
