"""Benchmark: a trade entry handed to the ``ninjatrader`` output's
``on_signal`` -> its OIF file renamed into ``incoming/``.

The output runs as in a live session: orders on, a CONNECTED connection file
and 300 order-state files of earlier trades in ``outgoing/`` (each signal
polls that folder first), the journal fsynced before every rename, the file
fsynced before it. Baseline: a plain open/write/close of the same bytes under
a new name in the same folder, no fsync. ``ratio`` = baseline / value, so
below 1 is the price of writing safely (above 1 would be faster than the
plain write).

    python bench/bench_ninjatrader.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    from run import emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import emit

DAY_NS = 86_400 * 10**9
FIRST_CLOSE = 1_741_185_600 * 10**9  # 2025-03-05 14:40 UTC


class _Context:
    def __init__(self, config):
        self.config, self.component = config, None


def _entries(n: int) -> list:
    from rsengine.model import Signal

    signals = []
    for k in range(n):
        day, minute = divmod(k, 300)  # 300 entries a session, then the next day
        ts = FIRST_CLOSE + day * DAY_NS + minute * 60 * 10**9
        signals.append(
            Signal(
                ts_close=ts,
                session_date=str(np.datetime64(ts // DAY_NS * DAY_NS, "ns").astype("M8[D]")),
                name=f"bench_{k % 7}",
                kind="setup",
                instrument="ES",
                side="long" if k % 2 else "short",
                reason="benchmark entry",
                contract="ES 03-25",
                contracts=1 + k % 3,
                entry=5800.0 + 0.25 * (k % 40),
                stop=5790.0 if k % 2 else 5815.0,
                target=5820.0 if k % 2 else 5780.0,
                details={"traded": "ES"},
            )
        )
    return signals


def bench_oif_latency(quick: bool) -> dict:
    """p50 and p99 in ms of on_signal -> renamed, over 1,000 (quick) or
    10,000 entries, against the plain write; emits two lines, returns them."""
    from rsengine_ninjatrader import NinjaTraderOutput
    from rsengine_ninjatrader.inbox import Inbox

    from rsengine.config import Config

    n = 1_000 if quick else 10_000
    root = Path(tempfile.mkdtemp(prefix="rsengine-bench-nt-"))
    try:
        (root / "incoming").mkdir()
        (root / "outgoing").mkdir()
        (root / "outgoing" / "Simulated Data Feed.txt").write_text("CONNECTED")
        for k in range(300):
            (root / "outgoing" / f"Sim101_rs-{k:016x}-E.txt").write_text("FILLED;1;5800.25")
        config = Config.from_dict({"instruments": {"ES": {}}, "group": ["ES"]})
        settings = {"folder": str(root), "account": "Sim101", "orders": True}
        output = NinjaTraderOutput(settings, _Context(config))
        signals = _entries(n)
        output.on_signal(signals[0])  # start-up (journal, first poll) is not what is measured
        renamed_at: list[float] = []

        class TimedInbox(Inbox):
            def write(self, lines, before_rename):
                name = super().write(lines, before_rename)
                renamed_at.append(time.perf_counter())
                return name

        old = output.bridge.inbox
        output.bridge.inbox = TimedInbox(old.folder, old.run_id, old.counter)
        took = []
        for signal in signals[1:]:
            start = time.perf_counter()
            output.on_signal(signal)
            took.append(renamed_at[-1] - start)
        data = [(root / "incoming" / p).read_bytes() for p in sorted((root / "incoming").iterdir())]
        output.close(_Summary())
        plain = _plain_writes(root / "plain", data[1:])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ms = np.array(took) * 1e3
    base = np.array(plain) * 1e3
    figures = {}
    for q in (50, 99):
        value, baseline = float(np.percentile(ms, q)), float(np.percentile(base, q))
        name = f"ninjatrader_signal_to_oif_renamed_p{q}"
        emit(name, value, "ms", baseline, ratio=baseline / value)
        figures[f"p{q}_ms"], figures[f"p{q}_plain_ms"] = value, baseline
    return figures


def _plain_writes(folder: Path, contents: list[bytes]) -> list[float]:
    folder.mkdir()
    took = []
    for k, data in enumerate(contents):
        start = time.perf_counter()
        with open(folder / f"oif{k}.txt", "wb") as f:
            f.write(data)
        took.append(time.perf_counter() - start)
    return took


class _Summary:
    metrics: dict

    def __init__(self):
        self.metrics, self.failed = {}, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 entries, not 10,000")
    args = parser.parse_args(argv)
    from rsengine.app.logs import configure_logging

    configure_logging("warning")
    bench_oif_latency(args.quick)


if __name__ == "__main__":
    main()
