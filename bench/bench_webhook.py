"""Webhook output benchmarks (issue 11), each against a baseline in the same run.

    python bench/bench_webhook.py [--quick]

* ``webhook_signal_to_received_p50`` / ``_p99``: one signal handed to the
  output's ``on_signal`` -> the request received by a loopback server, one
  signal at a time (10,000; 500 with ``--quick``). Baseline: the same body
  posted straight with httpx, no outbox, no signing. Ratio: baseline over
  value (1 would mean the outbox, its fsync'd commit and the thread hand-off
  cost nothing).
* ``webhook_burst_messages_per_s``: the same number of signals emitted at once,
  until the last is received; baseline: the straight httpx posts.
* ``webhook_on_signal_cost``: what ``on_signal`` costs the engine's thread per
  signal during that burst; baseline: a bare SQLite insert committed the same
  way (WAL, ``synchronous=FULL``).
* ``demo_replay_with_slow_webhook_vs_no_output``: bars/s of the built-in demo
  (``summary.elapsed_s``: the replay, not the drain at close) with a webhook
  endpoint that answers in 2 s, against the demo with no output; best of three
  each, alternating (target 0.9).

``bench_webhook(quick, emit)`` reports through ``emit(name, value, unit,
baseline, ratio)`` (bench/run.py's).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SECRET = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdefghij").decode()


class _Server(ThreadingHTTPServer):
    """Loopback receiver: keeps each request's receive stamp by webhook-id."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.stamps: dict[str, float] = {}
        self.arrived = threading.Condition()
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def wait_for(self, n: int, timeout: float = 120.0) -> None:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.stamps) >= n, timeout)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's client uses it
    wbufsize = -1  # the answer in one write: no Nagle / delayed-ACK stall between parts
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.perf_counter()
        with self.server.arrived:
            self.server.stamps.setdefault(self.headers.get("webhook-id", str(now)), now)
            self.server.arrived.notify_all()
        if self.server.delay:
            time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):  # noqa: A002
        pass


def _signals(n: int):
    from rsengine.model import Signal

    t0 = 1_741_187_100 * 10**9
    return [
        Signal(
            ts_close=t0 + i * 10**9,
            session_date="2025-03-05",
            name="bench",
            kind="context",
            instrument="ES",
            side="long",
            reason=f"bench signal {i}",
        )
        for i in range(n)
    ]


def _output(url: str, folder: str, drain: float = 60.0):
    from rsengine_webhook import WebhookOutput

    from rsengine.config import Config
    from rsengine.state import ComponentContext

    os.environ["RSENGINE_BENCH_SECRET"] = SECRET
    config = Config.from_dict({})
    settings = {
        "outbox": str(Path(folder) / "outbox.sqlite"),
        "drain": drain,
        "endpoints": {
            "bench": {
                "url": url,
                "secrets": ["env:RSENGINE_BENCH_SECRET"],
                "kinds": ["context", "setup", "exit", "halt"],
            }
        },
    }
    context = ComponentContext(
        config, config.symbols, config.bars.primary_ns, "webhook", "bench", None
    )
    return WebhookOutput(settings, context)


def _percentile(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def signal_to_received(n: int) -> dict:
    """Latencies in ms of the output, one signal at a time, and of bare httpx posts."""
    import httpx
    from rsengine_webhook import webhook_id

    from rsengine.state import RunSummary

    server = _Server()
    signals = _signals(n)
    try:
        with tempfile.TemporaryDirectory() as folder:
            out = _output(server.url, folder)
            latencies = []
            for i, signal in enumerate(signals):
                start = time.perf_counter()
                out.on_signal(signal)
                server.wait_for(i + 1)
                latencies.append(server.stamps[webhook_id(signal.id, "bench")] - start)
            out.close(RunSummary())
        bare = []
        with httpx.Client() as client:
            for i, signal in enumerate(signals):
                body = signal.to_json().encode()
                start = time.perf_counter()
                client.post(server.url, content=body, headers={"webhook-id": f"bare{i}"})
                bare.append(server.stamps[f"bare{i}"] - start)
    finally:
        server.stop()
    ms = [x * 1e3 for x in latencies]
    bare_ms = [x * 1e3 for x in bare]
    return {
        "p50": statistics.median(ms),
        "p99": _percentile(ms, 0.99),
        "bare_p50": statistics.median(bare_ms),
        "bare_p99": _percentile(bare_ms, 0.99),
    }


def burst(n: int) -> dict:
    """Messages/s when ``n`` signals are emitted at once, and of bare posts."""
    import httpx

    from rsengine.state import RunSummary

    server = _Server()
    signals = _signals(n)
    try:
        with tempfile.TemporaryDirectory() as folder:
            out = _output(server.url, folder)
            start = time.perf_counter()
            for signal in signals:
                out.on_signal(signal)
            emitted = time.perf_counter() - start
            server.wait_for(n)
            through = time.perf_counter() - start
            out.close(RunSummary())
        server.stamps.clear()
        with httpx.Client() as client:
            start = time.perf_counter()
            for signal in signals:
                client.post(server.url, content=signal.to_json().encode())
            bare = time.perf_counter() - start
    finally:
        server.stop()
    return {"per_s": n / through, "bare_per_s": n / bare, "emit_us": emitted / n * 1e6}


def demo_with_slow_endpoint(repeats: int) -> dict:
    """Bars/s of the demo replay with a 2-s endpoint (every signal) and without
    outputs: the best of ``repeats`` runs each, alternating."""
    from rsengine.config import load_config
    from rsengine.host.runner import build_engine

    os.environ["RSENGINE_BENCH_SECRET"] = SECRET
    server = _Server(delay=2.0)
    best = {"with": 0.0, "without": 0.0}
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                webhook = [
                    f"outputs={{webhook: {{drain: 0, outbox: '{Path(folder) / 'o.sqlite'}'}}}}",
                    f"outputs.webhook.endpoints={{slow: {{url: '{server.url}', timeout: 10, "
                    "secrets: [env:RSENGINE_BENCH_SECRET], kinds: [context, setup, exit, halt]}}",
                ]
                for key, overrides in (("without", ["outputs={}"]), ("with", webhook)):
                    summary = build_engine(load_config(None, overrides=overrides)).run()
                    best[key] = max(best[key], summary.bars / summary.elapsed_s)
    finally:
        server.stop()
    return {**best, "bars": summary.bars, "signals": summary.signals}


def synced_insert_us(n: int) -> float:
    """A bare SQLite insert committed with synchronous=FULL in WAL mode."""
    import sqlite3

    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(Path(folder) / "bare.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB)")
        body = _signals(1)[0].to_json().encode()
        start = time.perf_counter()
        for i in range(n):
            db.execute("INSERT OR IGNORE INTO t VALUES (?, ?)", (str(i), body))
        elapsed = time.perf_counter() - start
        db.close()
    return elapsed / n * 1e6


def bench_webhook(quick: bool, emit) -> None:
    n = 500 if quick else 10_000
    lat = signal_to_received(n)
    unit = f"ms ({n:,} signals one at a time, loopback)"
    emit(
        "webhook_signal_to_received_p50",
        lat["p50"],
        unit,
        lat["bare_p50"],
        lat["bare_p50"] / lat["p50"],
    )
    emit(
        "webhook_signal_to_received_p99",
        lat["p99"],
        unit,
        lat["bare_p99"],
        lat["bare_p99"] / lat["p99"],
    )
    b = burst(n)
    emit("webhook_burst_messages_per_s", b["per_s"], f"messages/s ({n:,} at once)", b["bare_per_s"])
    bare_us = synced_insert_us(min(n, 2000))
    label = "us per signal in on_signal during the burst (baseline: a bare synced insert)"
    emit("webhook_on_signal_cost", b["emit_us"], label, bare_us, bare_us / b["emit_us"])
    d = demo_with_slow_endpoint(1 if quick else 3)
    label = f"bars/s (demo, {d['bars']:,} bars, {d['signals']} signals to a 2-s endpoint)"
    emit("demo_replay_with_slow_webhook_vs_no_output", d["with"], label, d["without"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 signals instead of 10,000")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    from run import emit

    from rsengine.app.logs import configure_logging

    configure_logging("warning")
    bench_webhook(args.quick, emit)


if __name__ == "__main__":
    main()
