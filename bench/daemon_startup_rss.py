#!/usr/bin/env python3
"""daemon_startup_rss.py — the daemon's start-up time to a healthy /health and its idle
memory (issue 7 targets: <= 50 ms, <= 8 MB RSS).

Runs `stockpipe run` on the default pipeline (config/stockpipe.yaml: two agents, five
sources, three file channels, five Parquet sinks) in a fresh data directory, its
providers pointed at the bundled fake API with fake keys, the `sp500` universe cut to
the Mag 7 and rate limits off (as scripts/demo.sh does) so that the first rounds end in
seconds.

  start-up: from spawning the process to the first 200 from GET /health (polled from
            this process with plain sockets every 0.5 ms), N runs with a new data
            directory each (state store and file channels created) and N restarts on
            an existing one; reported as min / median / max.
  idle RSS: after every source's first round is recorded and every channel is empty,
            VmRSS from /proc/PID/status (max of 2 s of samples), split into anonymous
            memory (heap, stacks: the daemon's own) and file-backed pages (mostly the
            code of the shared libraries it maps: libcurl with OpenSSL/GnuTLS/Kerberos,
            SQLite...; the database sinks' libraries and libxml2 are not loaded by this
            pipeline), plus PSS and the peak (VmHWM).

Usage: bench/daemon_startup_rss.py [BUILD_DIR] [RUNS]
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fakeapi"))
from fakeapi import FakeAPI  # noqa: E402

PROVIDERS = ["yahoo", "alphavantage", "finnhub", "newsapi", "fred", "worldbank", "fedreserve", "treasury"]
MAG7 = {"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=1.0):
    """(status, body) of GET path, or (None, None) when nothing listens yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None, None
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def write_config(work):
    with open(os.path.join(ROOT, "config", "sp500.csv")) as f:
        lines = f.read().splitlines()
    with open(os.path.join(work, "universe.csv"), "w") as f:
        f.write(lines[0] + "\n")
        f.writelines(l + "\n" for l in lines[1:] if l.split(",")[0] in MAG7)
    path = os.path.join(work, "bench.yaml")
    with open(path, "w") as f:
        f.write(f"pipeline:\n  sp500_file: {work}/universe.csv\n  credentials: {work}/none.json\nproviders:\n")
        f.writelines(f"  {p}: {{rate_limit: 0}}\n" for p in PROVIDERS)
    return path


def start(binary, config, data, port, env):
    return subprocess.Popen([binary, "run", "--config", config, "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                             "--log-level", "WARN"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def status_kb(pid, field, name="status"):
    with open(f"/proc/{pid}/{name}") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    binary = os.path.join(build, "stockpipe")
    work = tempfile.mkdtemp(prefix="sp_bench_daemon.")
    try:
        with FakeAPI() as api:
            env = dict(os.environ)
            for p in PROVIDERS:
                env[f"STOCKPIPE_{p.upper()}_BASE_URL"] = api.url
            env.update(STOCKPIPE_FINNHUB_KEY="bench-finnhub", STOCKPIPE_NEWSAPI_KEY="bench-newsapi",
                       STOCKPIPE_ALPHAVANTAGE_KEY="bench-alphavantage", STOCKPIPE_FRED_KEY="bench-fred")
            for k in ("STOCKPIPE_CONFIG", "STOCKPIPE_DATA_DIR", "STOCKPIPE_CREDENTIALS"):
                env.pop(k, None)
            config = write_config(work)

            def time_startup(data):
                port = free_port()
                t0 = time.perf_counter()
                proc = start(binary, config, data, port, env)
                while True:
                    code, _ = get(port, "/health")
                    if code == 200:
                        break
                    if proc.poll() is not None:
                        sys.exit(f"daemon exited with {proc.returncode} before /health answered 200")
                    time.sleep(0.0005)
                elapsed = (time.perf_counter() - t0) * 1000
                stop(proc)
                return elapsed

            # A first start creates the state store and the file channels (fsyncs);
            # a restart (systemd's case) finds them.
            fresh_ms = [time_startup(os.path.join(work, f"fresh{i}")) for i in range(runs)]
            restart_ms = [time_startup(os.path.join(work, "fresh0")) for _ in range(runs)]

            data = os.path.join(work, "idle")
            port = free_port()
            proc = start(binary, config, data, port, env)
            deadline = time.time() + 60
            while time.time() < deadline:
                code, body = get(port, "/health")
                if code == 200:
                    doc = json.loads(body)
                    if all(s["last_run"] for s in doc["sources"]) and doc["buffered_events"] == 0:
                        break
                time.sleep(0.1)
            else:
                sys.exit("the first rounds did not finish within 60 s")
            rss = []
            for _ in range(20):
                rss.append(status_kb(proc.pid, "VmRSS"))
                time.sleep(0.1)
            hwm = status_kb(proc.pid, "VmHWM")
            anon = status_kb(proc.pid, "RssAnon")
            file_backed = status_kb(proc.pid, "RssFile")
            pss = status_kb(proc.pid, "Pss", "smaps_rollup")
            threads = status_kb(proc.pid, "Threads")
            stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for label, ms in (("first start (new data dir)", fresh_ms), ("restart (existing data dir)", restart_ms)):
        print(f"start-up to a healthy /health, {label}, {runs} runs: min {min(ms):.1f} ms, "
              f"median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms (target <= 50 ms)")
    print(f"idle RSS after the first rounds: {max(rss) / 1024:.2f} MiB (target <= 8 MB): anonymous (the "
          f"daemon's own memory) {anon / 1024:.2f} MiB + file-backed (shared library code) {file_backed / 1024:.2f} "
          f"MiB; PSS {pss / 1024:.2f} MiB; peak VmHWM {hwm / 1024:.2f} MiB; {threads} threads")


if __name__ == "__main__":
    main()
