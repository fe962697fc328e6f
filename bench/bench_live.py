"""Benchmark: a live session on the loopback TWS, tick arrival -> bar close ->
signal -> OIF file renamed into ``incoming/`` by the ``ninjatrader`` output.

The real ib_async client streams tick-by-tick trades of ES and NQ from the
test stub (tests/plugins/ib/tws_stub.py) into a live engine with 1-minute
bars, a 2-s grace and a setup that enters or exits on every ES bar; orders on,
written to ``incoming/`` (no dry run) with the connection file CONNECTED. The
market runs at ``SPEED`` times the wall clock (the engine's clock with it), so
an hour of ticks takes a minute.

A bar can close at the first moment it is complete: when every instrument has
sent a trade past its end, or when the clock passes its end plus the grace.
The latency of a bar is from that moment (the arrival at the client of the
trade that completed it, or the grace running out) to the return of the
output's ``on_signal``, its file renamed. Baseline: the 194 ms a commercial
file bridge takes (``ratio`` = baseline / p99).

    python bench/bench_live.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

try:
    from run import emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import emit

ROOT = Path(__file__).resolve().parents[1]
NS = 10**9
T0 = 1_709_737_200  # 2024-03-06 10:00 ET
SPEED = 60.0  # market seconds per wall second
GRACE_S = 2
COMMERCIAL_BRIDGE_MS = 194.0


class _Clock:
    """The market's clock: ``T0`` at the start, ``SPEED`` times the wall clock."""

    def __init__(self):
        self.wall0 = time.perf_counter_ns()

    def __call__(self) -> int:
        return T0 * NS + int((time.perf_counter_ns() - self.wall0) * SPEED)

    def wall_of(self, market_ns: int) -> float:
        """perf_counter seconds at which the market clock shows ``market_ns``."""
        return (self.wall0 + (market_ns - T0 * NS) / SPEED) / 1e9


class _EveryBar:
    """Enters long on one ES bar, exits on the next: a signal on every bar."""

    def __init__(self):
        self.open = None

    def evaluate(self, slice, state):
        from rsengine.model import Signal

        if not slice.present[0]:
            return []
        at, day, close = int(slice.ts_close), state.session.date, float(slice.close[0])
        if self.open:
            entry, self.open = self.open, None
            return [Signal(at, day, "bench_live", "exit", "ES", side="flat", contracts=1,
                           reason="next bar", details={"entry_id": entry})]  # fmt: skip
        signal = Signal(at, day, "bench_live", "setup", "ES", side="long", contract="ES 03-24",
                       contracts=1, entry=close, stop=close - 4, target=close + 4,
                       reason="every bar", confirmations=("rs",), size_fraction=0.25)  # fmt: skip
        self.open = signal.id
        return [signal]


class _Stamps:
    """An output after ``ninjatrader``: when ``on_signal`` reaches it, the
    ninjatrader output has renamed the signal's file."""

    def __init__(self):
        self.done: dict = {}  # bar close (ns) -> perf_counter seconds

    def on_signal(self, signal):
        if signal.kind in ("setup", "exit"):
            self.done.setdefault(signal.ts_close, time.perf_counter())

    def on_slice(self, slice, values):
        pass

    def close(self, summary):
        pass


def bench_live(quick: bool, emit=emit) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "plugins" / "ib"))
    try:
        from ib_harness import trades
        from tws_stub import TwsStub
    except ImportError as exc:  # ib_async or the tests folder missing
        print(f"bench_live skipped: {exc}", file=sys.stderr)
        return
    import rsengine
    from rsengine.config import Config
    from rsengine.host.plugins import make_plugin_manager
    from rsengine.host.runner import build_engine

    minutes = 20 if quick else 120
    end = T0 + minutes * 60
    series = {
        "ES": trades(T0 - 120, end + 5, 5100.0, 1, 3.0),
        "NQ": trades(T0 - 120, end + 5, 18000.0, 2, 3.0),
    }
    stub = TwsStub()
    for symbol, rows in series.items():
        stub.add_future(symbol, "202403", "CME", rows)
    stub.publish(T0)
    port = stub.start_in_thread()
    stamps, setup = _Stamps(), _EveryBar()

    class Plugin:
        @rsengine.hookimpl
        def rsengine_register_setups(self, registry):
            registry.add("bench_live", lambda settings, context: setup)

        @rsengine.hookimpl
        def rsengine_register_outputs(self, registry):
            registry.add("bench_stamps", lambda settings, context: stamps)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "nt")
        (folder / "outgoing").mkdir(parents=True)
        (folder / "incoming").mkdir()
        (folder / "outgoing" / "Sim101.txt").write_text("CONNECTED\n")  # NinjaTrader is up
        pm = make_plugin_manager()
        pm.register(Plugin(), name="bench-live")
        config = Config.from_dict(
            {
                "run": {"mode": "live", "grace": f"{GRACE_S}s", "ledger": f"{tmp}/ledger"},
                "bars": {"primary": "1min"},
                "instruments": {"ES": {}, "NQ": {}},
                "group": ["ES", "NQ"],
                "sources": {"ib": {"port": port, "warmup": "1min", "reconnect": 0.05}},
                "setups": {"bench_live": {}},
                "outputs": {
                    "ninjatrader": {"folder": str(folder), "account": "Sim101", "orders": True},
                    "bench_stamps": {},
                },
            }
        )
        engine = build_engine(config, pm)
        (feed,) = [obj for _, _, obj in engine.sources]
        arrivals: dict = {}  # symbol -> [(the chunk's last stamp, wall)]
        deliver = feed.deliver

        def noting(symbol, chunk):
            arrivals.setdefault(symbol, []).append((int(chunk.ts[-1]), time.perf_counter()))
            deliver(symbol, chunk)

        feed.deliver = noting
        clock = _Clock()
        engine.clock = feed.clock = clock
        engine.clock_speed = SPEED
        runner = threading.Thread(target=engine.run)
        runner.start()
        while clock() < (end + GRACE_S + 2) * NS:  # the market goes on, tick by tick
            stub.publish(clock() // NS + 1)
            time.sleep(0.002)
        time.sleep(0.5)
        engine.request_stop()
        runner.join(30)
        stub.stop()
    latencies = []
    for close_ns, done in stamps.done.items():
        if close_ns <= T0 * NS or close_ns > end * NS:
            continue  # warm-up, or the partial bar at the stop
        ready = clock.wall_of(close_ns + GRACE_S * NS)
        by_data = [_first_after(arrivals.get(s, ()), close_ns) for s in series]
        if all(x is not None for x in by_data):
            ready = min(ready, max(by_data))
        latencies.append((done - ready) * 1000)
    if not latencies:
        print("bench_live: no bar closed", file=sys.stderr)
        return
    p50, p99 = np.percentile(latencies, [50, 99])
    label = f"ms beyond the bar's close ({len(latencies)} bars, {SPEED:g}x market, 1-min bars)"
    emit(
        "live_tick_to_oif_p50",
        p50,
        label,
        COMMERCIAL_BRIDGE_MS,
        ratio=COMMERCIAL_BRIDGE_MS / max(p50, 1e-3),
    )
    emit(
        "live_tick_to_oif_p99",
        p99,
        label,
        COMMERCIAL_BRIDGE_MS,
        ratio=COMMERCIAL_BRIDGE_MS / max(p99, 1e-3),
    )


def _first_after(arrived, close_ns):
    """Wall time the first trade at or after ``close_ns`` reached the client."""
    for last, wall in arrived:
        if last >= close_ns:
            return wall
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    from rsengine.app.logs import configure_logging

    configure_logging("warning")
    bench_live(parser.parse_args().quick)
