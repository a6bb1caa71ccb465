#!/usr/bin/env python3
"""fakeapi.py — a stand-in for every data provider stockpipe talks to, for tests.

Serves recorded responses (files under tests/fixtures/) from a routes table
(tests/fakeapi/routes.json, format in tests/fakeapi/README.md) on 127.0.0.1 at an
ephemeral port, and injects faults on demand (429 with Retry-After, 5xx, slow
responses, truncated bodies, HTML error pages, rate-limit notes in 200 bodies,
connection resets) so the HTTP client's retry logic and the sources' error handling
can be tested without the internet.  Python 3 standard library only.

Control endpoints (never logged as requests):
  POST /_control/faults    JSON fault or list of faults (appended)
  POST /_control/routes    JSON route or list of routes (tried before the table's)
  POST /_control/reset     forget faults, added routes, request log and counters, and
                           end the delays of requests still held by a `delay` fault
  GET  /_control/requests  {"requests": [...], "count": N, "max_concurrent": N}

Start:  python3 fakeapi.py --port-file FILE [--routes FILE]... [--faults FILE]
                           [--fixtures DIR] [--max-seconds 600]
It prints the base URL on stdout, writes the port to --port-file (atomically), and
exits on SIGTERM/SIGINT or after --max-seconds, whichever comes first.

As a library (python tests):  with FakeAPI() as api: api.url, api.add_fault(...),
api.requests() — see the FakeAPI class at the end.
"""

import argparse
import email.utils
import gzip
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
DEFAULT_ROUTES = os.path.join(HERE, "routes.json")

CONTENT_TYPES = {
    ".json": "application/json",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".htm": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv",
}

FAULT_KINDS = {"429", "500", "503", "status", "delay", "truncate", "html", "rate_limit_note", "reset"}

# Template values are restricted so a request can never name a file outside the fixtures.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9._^,=:-]+$")

HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    "<body><h1>Something went wrong</h1><p>The server is temporarily unable to service your request. "
    "Please try again later.</p></body></html>\n"
)

RATE_LIMIT_NOTES = {
    # Alpha Vantage's wording for its free-tier limits.
    "note": {"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
                     "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
                     "to target a higher API call frequency."},
    "information": {"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests "
                                   "per day. Please subscribe to any of the premium plans at "
                                   "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."},
}


class ConfigError(Exception):
    pass


def compile_route(route, origin):
    """Check a route's fields and precompile its regexes; raise ConfigError."""
    if not isinstance(route, dict) or "path" not in route:
        raise ConfigError(f"{origin}: a route needs at least 'path': {route!r}")
    unknown = set(route) - {"name", "method", "path", "query", "fixture", "body", "fallback",
                            "fallback_status", "fallback_body", "status", "content_type", "headers"}
    if unknown:
        raise ConfigError(f"{origin}: route {route.get('name', route['path'])!r}: unknown keys {sorted(unknown)}")
    if "fixture" not in route and "body" not in route:
        raise ConfigError(f"{origin}: route {route.get('name', route['path'])!r} needs 'fixture' or 'body'")
    compiled = dict(route)
    try:
        compiled["_path"] = re.compile(route["path"])
        compiled["_query"] = {k: re.compile(v) for k, v in route.get("query", {}).items()}
    except re.error as exc:
        raise ConfigError(f"{origin}: route {route.get('name', route['path'])!r}: bad regex: {exc}") from exc
    compiled.setdefault("method", "GET")
    compiled.setdefault("status", 200)
    return compiled


def compile_fault(fault, origin):
    if not isinstance(fault, dict) or "path" not in fault or "fault" not in fault:
        raise ConfigError(f"{origin}: a fault needs 'path' and 'fault': {fault!r}")
    if str(fault["fault"]) not in FAULT_KINDS:
        raise ConfigError(f"{origin}: unknown fault {fault['fault']!r} (known: {sorted(FAULT_KINDS)})")
    count = fault.get("count", "always")
    if count != "always" and (not isinstance(count, int) or count < 1):
        raise ConfigError(f"{origin}: fault count must be a positive integer or \"always\"")
    compiled = dict(fault)
    compiled["fault"] = str(fault["fault"])
    compiled["count"] = count
    compiled["_path"] = re.compile(fault["path"])
    compiled["_query"] = re.compile(fault["query"]) if fault.get("query") else None
    return compiled


def load_json_list(path, key):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get(key, [])
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of {key} (or an object with '{key}')")
    return data


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, fixtures, routes):
        self.lock = threading.Lock()
        self.fixtures = os.path.realpath(fixtures)
        self.table_routes = routes
        self.added_routes = []
        self.faults = []
        self.log = []
        self.in_flight = 0
        self.max_concurrent = 0
        self.generation = 0  # bumped by reset: requests still running from before are not counted
        self.released = threading.Event()  # set by reset: ends the delays under way

    def reset(self):
        with self.lock:
            self.added_routes = []
            self.faults = []
            self.log = []
            self.in_flight = 0
            self.max_concurrent = 0
            self.generation += 1
            self.released.set()
            self.released = threading.Event()

    def take_fault(self, method, path, query):
        with self.lock:
            for fault in self.faults:
                if fault.get("method", method) != method or not fault["_path"].search(path):
                    continue
                if fault["_query"] is not None and not fault["_query"].search(query):
                    continue
                if fault["count"] != "always":
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def find_route(self, method, path, params):
        with self.lock:
            routes = self.added_routes + self.table_routes
        for route in routes:
            if route["method"] != method:
                continue
            match = route["_path"].fullmatch(path)
            if not match:
                continue
            if any(name not in params or not rx.fullmatch(params[name]) for name, rx in route["_query"].items()):
                continue
            values = dict(params)
            values.update({k: v for k, v in match.groupdict().items() if v is not None})
            return route, values
        return None, None

    def fixture_bytes(self, relative, values):
        """Read a fixture with {name} placeholders filled; None when it does not exist."""
        try:
            name = relative.format_map(_StrictValues(values))
        except (KeyError, ValueError):
            return None
        full = os.path.realpath(os.path.join(self.fixtures, name))
        if not full.startswith(self.fixtures + os.sep) or not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            return f.read(), name


class _StrictValues(dict):
    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if not SAFE_VALUE.match(value):
            raise ValueError(key)
        return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi/1"
    # Headers and body go out in two writes; with Nagle on, the body of every response
    # on a reused keep-alive connection waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # quiet: tests read /_control/requests instead
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_HEAD(self):
        self.handle_any("HEAD")

    # -- plumbing ---------------------------------------------------------

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, content_type="application/json", headers=None, allow_gzip=True, entry=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        encoding = None
        accept = self.headers.get("Accept-Encoding", "")
        if allow_gzip and body and "gzip" in [a.split(";")[0].strip() for a in accept.split(",")]:
            body = gzip.compress(body)
            encoding = "gzip"
        if entry is not None:
            # Logged before the response leaves: a client that reads the request log
            # right after its response must see the complete entry.
            entry["content_encoding"] = encoding
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return encoding

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj, indent=1) + "\n", allow_gzip=False)

    # -- dispatch ---------------------------------------------------------

    def handle_any(self, method):
        state = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        if path.startswith("/_control/"):
            self.control(method, path)
            return
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        entry = {"method": method, "path": path, "query": query, "params": params,
                 "headers": {k: v for k, v in self.headers.items()}, "time": time.time()}
        with state.lock:
            self.counted_generation = state.generation
            state.in_flight += 1
            state.max_concurrent = max(state.max_concurrent, state.in_flight)
            state.log.append(entry)
            released = state.released
        try:
            fault = state.take_fault(method, path, query)
            entry["fault"] = fault["fault"] if fault else None
            self.respond(state, method, path, params, fault, entry, released)
        finally:
            self.leave_in_flight()

    def leave_in_flight(self):
        """The request being handled stops counting as in flight (once)."""
        generation, self.counted_generation = getattr(self, "counted_generation", None), None
        if generation is None:
            return
        state = self.server.state
        with state.lock:
            if state.generation == generation:
                state.in_flight -= 1

    def send_response(self, code, message=None):
        # A request stops counting as in flight before its response leaves: the client
        # may send its next request (on another connection) as soon as it has read this
        # response, before this thread would otherwise get to the decrement, and
        # max_concurrent would count one request too many.
        self.leave_in_flight()
        super().send_response(code, message)

    def respond(self, state, method, path, params, fault, entry, released):
        kind = fault["fault"] if fault else None
        if kind == "delay":
            # A reset (POST /_control/reset) ends the delay early: a test can hold
            # requests for as long as it needs and then let them go.
            released.wait(float(fault.get("ms", 1000)) / 1000.0)
        elif kind == "reset":
            entry["status"] = 0
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        elif kind in ("429", "503", "500", "status"):
            status = int(fault.get("status", 500)) if kind == "status" else int(kind)
            headers = dict(fault.get("headers", {}))
            if "retry_after" in fault:
                headers["Retry-After"] = fault["retry_after"]
            if "retry_after_date" in fault:  # the HTTP-date form, this many seconds ahead
                headers["Retry-After"] = email.utils.formatdate(time.time() + float(fault["retry_after_date"]),
                                                                usegmt=True)
            body = fault.get("body", json.dumps({"error": f"fakeapi injected HTTP {status}"}))
            entry["status"] = status
            self.send(status, body, fault.get("content_type", "application/json"), headers)
            return
        elif kind == "html":
            entry["status"] = int(fault.get("status", 502))
            self.send(entry["status"], HTML_ERROR_PAGE, "text/html; charset=utf-8")
            return
        elif kind == "rate_limit_note":
            entry["status"] = 200
            style = fault.get("style", "note")
            self.send(200, json.dumps(RATE_LIMIT_NOTES.get(style, RATE_LIMIT_NOTES["note"]), indent=4))
            return

        status, body, content_type, headers = self.lookup(state, method, path, params)
        entry["status"] = status
        if kind == "truncate":
            # Promise the whole body, send about half of it, then close.
            body = body if body else b"{}" * 64
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send(status, body, content_type, headers, entry=entry)

    def lookup(self, state, method, path, params):
        """Find the route for a request: (status, body bytes, content type, headers)."""
        route, values = state.find_route(method, path, params)
        if route is None:
            return 404, json.dumps({"fakeapi_error": f"no route for {method} {path}"}).encode(), \
                "application/json", {}
        found = None
        if "fixture" in route:
            found = state.fixture_bytes(route["fixture"], values)
        elif "body" in route:
            found = (route["body"].encode("utf-8"), "")
        status = route["status"]
        if found is None:
            if "fallback" in route:
                found = state.fixture_bytes(route["fallback"], values)
            elif "fallback_body" in route:
                found = (route["fallback_body"].encode("utf-8"), "")
            status = route.get("fallback_status", status)
            if found is None:
                wanted = route.get("fixture", "")
                return 404, json.dumps({"fakeapi_error": f"route {route.get('name', route['path'])}: "
                                                         f"fixture {wanted} missing for {values}"}).encode(), \
                    "application/json", {}
        body, name = found
        content_type = route.get("content_type") or CONTENT_TYPES.get(os.path.splitext(name)[1], "application/json")
        return status, body, content_type, route.get("headers", {})

    def control(self, method, path):
        state = self.server.state
        try:
            if method == "GET" and path == "/_control/requests":
                with state.lock:
                    out = {"requests": list(state.log), "count": len(state.log),
                           "max_concurrent": state.max_concurrent}
                self.send_json(200, out)
            elif method == "POST" and path == "/_control/reset":
                self.read_body()
                state.reset()
                self.send_json(200, {"ok": True})
            elif method == "POST" and path in ("/_control/faults", "/_control/routes"):
                data = json.loads(self.read_body() or b"null")
                items = data if isinstance(data, list) else [data]
                if path.endswith("faults"):
                    compiled = [compile_fault(f, "POST /_control/faults") for f in items]
                    with state.lock:
                        state.faults.extend(compiled)
                else:
                    compiled = [compile_route(r, "POST /_control/routes") for r in items]
                    with state.lock:
                        state.added_routes = compiled + state.added_routes
                self.send_json(200, {"ok": True, "added": len(compiled)})
            else:
                self.send_json(404, {"fakeapi_error": f"unknown control {method} {path}"})
        except (ValueError, ConfigError) as exc:
            self.send_json(400, {"fakeapi_error": str(exc)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a client opening dozens of connections
    # at once would see SYNs dropped and retried after 1 s, 3 s...
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Resets and truncations break connections on purpose; stay quiet about it.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, OSError)):
            super().handle_error(request, client_address)


def load_routes(paths):
    routes = []
    for path in paths:
        routes.extend(compile_route(r, path) for r in load_json_list(path, "routes"))
    return routes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port-file", help="write the chosen port here (atomically)")
    ap.add_argument("--port", type=int, default=0, help="port to bind (default: ephemeral)")
    ap.add_argument("--routes", action="append", help="routes table (repeatable; default routes.json)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="fixture root (default tests/fixtures)")
    ap.add_argument("--faults", help="JSON file of faults active from the start")
    ap.add_argument("--max-seconds", type=float, default=600, help="exit after this long (default 600)")
    args = ap.parse_args(argv)

    try:
        state = State(args.fixtures, load_routes(args.routes or [DEFAULT_ROUTES]))
        if args.faults:
            state.faults = [compile_fault(f, args.faults) for f in load_json_list(args.faults, "faults")]
    except (OSError, ValueError, ConfigError) as exc:
        print(f"fakeapi: {exc}", file=sys.stderr)
        return 2

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = state
    port = server.server_address[1]
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"http://127.0.0.1:{port}", flush=True)
    done.wait(args.max_seconds)
    server.shutdown()
    server.server_close()
    return 0


class FakeAPI:
    """Context manager for python tests: starts the server as a subprocess.

        with FakeAPI() as api:
            env["STOCKPIPE_YAHOO_BASE_URL"] = api.url
            api.add_fault(path="^/v8/", fault="503", count=2)
            ... run stockpipe ...
            assert api.requests()["count"] == 3
    """

    def __init__(self, *extra_args, max_seconds=300):
        self.extra_args = list(extra_args)
        self.max_seconds = max_seconds
        self.proc = None
        self.url = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fakeapi.")
        port_file = os.path.join(self.tmp.name, "port")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--port-file", port_file,
                                      "--max-seconds", str(self.max_seconds)] + self.extra_args,
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60  # a loaded machine may take seconds to start Python
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("fakeapi did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.url = f"http://127.0.0.1:{int(f.read())}"
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.tmp.cleanup()
        return False

    def _call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def add_fault(self, **fault):
        return self._call("POST", "/_control/faults", fault)

    def add_route(self, **route):
        return self._call("POST", "/_control/routes", route)

    def reset(self):
        return self._call("POST", "/_control/reset")

    def requests(self):
        return self._call("GET", "/_control/requests")


if __name__ == "__main__":
    sys.exit(main())
