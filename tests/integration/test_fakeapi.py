#!/usr/bin/env python3
"""test_fakeapi.py — the fake provider API (tests/fakeapi/fakeapi.py) itself: its routes
serve the fixtures they name, every fault does what tests/fakeapi/README.md says, the
control endpoints work, and the process exits by itself (--max-seconds) and on SIGTERM.
Other tests rely on all of this to test stockpipe's HTTP client and sources."""

import gzip
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

SOURCE = os.environ.get("STOCKPIPE_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
FAKEAPI_DIR = os.path.join(SOURCE, "tests", "fakeapi")
FIXTURES = os.path.join(SOURCE, "tests", "fixtures")
sys.path.insert(0, FAKEAPI_DIR)
from fakeapi import FakeAPI  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def fetch(api, path, headers=None):
    """(status, headers, body bytes) of a plain GET; errors are raised."""
    host = urllib.parse.urlsplit(api.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def test_routes_table():
    """Every real capture the table names exists (other providers' fixtures are added by their tests)."""
    with open(os.path.join(FAKEAPI_DIR, "routes.json")) as f:
        routes = json.load(f)["routes"]
    for route in routes:
        re.compile(route["path"])
        for key in ("fixture", "fallback"):
            name = route.get(key, "")
            if name.startswith("real/"):
                check(os.path.isfile(os.path.join(FIXTURES, name)), f"route {route['name']}: {name} exists")


def test_serving(api):
    for ticker in ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA"):
        status, headers, body = fetch(api, f"/v8/finance/chart/{ticker}?interval=1d&range=5d")
        check(status == 200 and body == fixture(f"yahoo/chart-{ticker}.json"), f"chart {ticker}")
        check(json.loads(body)["chart"]["result"][0]["meta"]["symbol"] == ticker, f"chart {ticker} symbol")
        check(headers["Content-Type"] == "application/json", f"chart {ticker} content type")
    status, _, body = fetch(api, "/v8/finance/chart/NOPE")
    check(status == 400 and b"Data doesn't exist" in body, "unknown ticker: Yahoo's real 400")
    status, _, body = fetch(api, "/query?function=OVERVIEW&symbol=IBM&apikey=k")
    check(status == 200 and body == fixture("real/alphavantage/overview-IBM.json"), "AV overview IBM")
    status, _, body = fetch(api, "/query?function=OVERVIEW&symbol=AAPL&apikey=k")
    check(status == 200 and json.loads(body) == {}, "AV overview unknown symbol is {}")
    status, _, body = fetch(api, "/query?function=GLOBAL_QUOTE&symbol=MSFT&apikey=k")
    check(status == 200 and body == fixture("real/alphavantage/global_quote-MSFT.json"), "AV global quote")
    status, _, body = fetch(api, "/fred/series/observations?series_id=GNPCA&api_key=k&file_type=json")
    check(status == 200 and body == fixture("real/fred/series_observations-GNPCA-limit20.json"), "FRED GNPCA")
    status, _, body = fetch(api, "/fred/series/observations?series_id=bad_series_id&api_key=k")
    check(status == 400 and b"Invalid value for variable series_id" in body, "FRED bad id 400")
    status, _, body = fetch(api, "/fred/series/observations?series_id=GNPCA&observation_start=2050-01-01")
    check(status == 200 and json.loads(body)["count"] == 0, "FRED empty window")
    status, _, body = fetch(api, "/v2/country/US/indicator/NY.GNP.PCAP.CD?format=json&date=1990:1997")
    check(status == 200 and json.loads(body)[0]["total"] == 8, "World Bank")
    status, _, body = fetch(api, "/v2/everything?q=AAPL&apiKey=k")
    check(status == 200 and json.loads(body)["status"] == "ok", "NewsAPI")
    status, _, body = fetch(api, "/v2/country/US/indicator/NO.SUCH.ID")
    check(status == 404 and b"fakeapi_error" in body and b"missing" in body, "missing fixture: clear 404")
    status, _, body = fetch(api, "/nothing/here")
    check(status == 404 and b"no route" in body, "no route: 404")
    status, _, body = fetch(api, "/v8/finance/chart/..%2F..%2Freal%2Fyahoo%2Fchart-AAPL-1d-2020-01-02")
    check(status == 400, "template values cannot leave the fixture tree")
    status, headers, body = fetch(api, "/v8/finance/chart/MSFT", {"Accept-Encoding": "gzip, deflate"})
    check(headers.get("Content-Encoding") == "gzip" and gzip.decompress(body) == fixture("yahoo/chart-MSFT.json"),
          "gzip when offered")


def test_faults(api):
    api.reset()
    api.add_fault(path="^/v8/", fault="429", retry_after=7, count=2)
    for _ in range(2):
        status, headers, _ = fetch(api, "/v8/finance/chart/AAPL")
        check(status == 429 and headers["Retry-After"] == "7", "429 with Retry-After")
    check(fetch(api, "/v8/finance/chart/AAPL")[0] == 200, "fault count runs out")

    api.add_fault(path="^/v8/", query="interval=1h", fault="503", retry_after_date=30, count=1)
    check(fetch(api, "/v8/finance/chart/AAPL?interval=1d")[0] == 200, "query regex restricts a fault")
    status, headers, _ = fetch(api, "/v8/finance/chart/AAPL?interval=1h")
    check(status == 503 and headers["Retry-After"].endswith(" GMT"), "503 with an HTTP-date Retry-After")

    api.add_fault(path="^/query$", fault="500", count=1)
    check(fetch(api, "/query?function=OVERVIEW&symbol=IBM")[0] == 500, "500")
    api.add_fault(path="^/query$", fault="status", status=418, body="teapot", count=1)
    status, _, body = fetch(api, "/query?function=OVERVIEW&symbol=IBM")
    check(status == 418 and body == b"teapot", "any status and body")

    api.add_fault(path="^/query$", fault="rate_limit_note", count=1)
    status, _, body = fetch(api, "/query?function=OVERVIEW&symbol=IBM")
    check(status == 200 and "call frequency" in json.loads(body)["Note"], "rate-limit Note in a 200")
    api.add_fault(path="^/query$", fault="rate_limit_note", style="information", count=1)
    check("Information" in json.loads(fetch(api, "/query?function=OVERVIEW&symbol=IBM")[2]), "Information note")

    for code in (200, 502):
        api.add_fault(path="^/v8/", fault="html", status=code, count=1)
        status, headers, body = fetch(api, "/v8/finance/chart/AAPL")
        check(status == code and headers["Content-Type"].startswith("text/html") and b"<html>" in body,
              f"HTML error page with {code}")

    api.add_fault(path="^/v8/", fault="delay", ms=300, count=1)
    start = time.monotonic()
    check(fetch(api, "/v8/finance/chart/AAPL")[0] == 200, "delay then the normal response")
    check(time.monotonic() - start >= 0.3, "delay lasts at least ms")

    api.add_fault(path="^/v8/", fault="truncate", count=1)
    try:
        fetch(api, "/v8/finance/chart/AAPL")
        check(False, "truncated body raises")
    except http.client.IncompleteRead:
        pass

    api.add_fault(path="^/v8/", fault="reset", count=1)
    try:
        fetch(api, "/v8/finance/chart/AAPL")
        check(False, "reset raises")
    except (ConnectionResetError, http.client.RemoteDisconnected):
        pass

    log = api.requests()
    faults = [r["fault"] for r in log["requests"]]
    check(faults.count("429") == 2 and "truncate" in faults and "reset" in faults, "request log records faults")
    check(log["count"] == len(log["requests"]) and log["max_concurrent"] >= 1, "request log counts")
    check(all(not r["path"].startswith("/_control") for r in log["requests"]), "control calls not logged")
    api.reset()
    check(api.requests()["count"] == 0, "reset clears the log")

    api.add_route(name="extra", path="/v8/finance/chart/AAPL", body='{"extra": true}')
    check(json.loads(fetch(api, "/v8/finance/chart/AAPL")[2]) == {"extra": True}, "added routes come first")
    api.reset()
    check(fetch(api, "/v8/finance/chart/AAPL")[2] == fixture("yahoo/chart-AAPL.json"), "reset drops added routes")
    try:
        api.add_fault(path="x", fault="nonsense")
        check(False, "unknown fault rejected")
    except Exception as exc:  # urllib.error.HTTPError 400
        check(getattr(exc, "code", None) == 400, "unknown fault is a 400")


def test_lifecycle():
    with tempfile.TemporaryDirectory() as tmp:
        faults = os.path.join(tmp, "faults.json")
        with open(faults, "w") as f:
            json.dump([{"path": "^/v8/", "fault": "503", "count": 1}], f)
        with FakeAPI("--faults", faults) as api:
            check(fetch(api, "/v8/finance/chart/AAPL")[0] == 503, "--faults FILE active at start")
            check(fetch(api, "/v8/finance/chart/AAPL")[0] == 200, "--faults FILE count")
            pid = api.proc.pid
            api.proc.terminate()
            check(api.proc.wait(60) == 0, f"SIGTERM stops pid {pid} cleanly")
        port_file = os.path.join(tmp, "port")
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, os.path.join(FAKEAPI_DIR, "fakeapi.py"), "--port-file", port_file,
                                 "--max-seconds", "0.5"], stdout=subprocess.PIPE)
        out = proc.stdout.read().decode()
        try:  # 60 s: Python may take seconds to start on a loaded machine
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        check(rc == 0 and time.monotonic() - start < 60, "exits by itself after --max-seconds")
        with open(port_file) as f:
            check(out.strip() == f"http://127.0.0.1:{int(f.read())}", "prints the base URL it wrote")
        proc = subprocess.run([sys.executable, os.path.join(FAKEAPI_DIR, "fakeapi.py"), "--routes", faults,
                               "--max-seconds", "1"], capture_output=True, timeout=60)
        check(proc.returncode == 2 and b"unknown keys" in proc.stderr, "a bad routes file is refused")


def main():
    test_routes_table()
    with FakeAPI() as api:
        test_serving(api)
        test_faults(api)
    test_lifecycle()
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("fakeapi: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
