"""What the ib tests share: a settable clock, seeded trade series, and a feed
run on its own thread against the loopback TWS (tws_stub)."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pandas as pd
from rsengine_ib.feed import IBFeed
from rsengine_ib.settings import parse
from tws_stub import TwsStub

from rsengine.config import Config
from rsengine.feeds import FeedNotice
from rsengine.model import BarChunk

NS = 10**9


class Clock:
    """The feed's wall clock (ns UTC), moved by the test."""

    def __init__(self, seconds: int):
        self.ns = int(seconds) * NS

    def __call__(self) -> int:
        return self.ns

    def set(self, seconds: int) -> None:
        self.ns = int(seconds) * NS


def trades(start_s: int, end_s: int, price: float, seed: int, per_second: float = 1.5):
    """A seeded series in [start_s, end_s): 0 to a few trades a second, the
    prices a walk on a 0.25 grid, sizes 1 to 5."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(start_s, end_s):
        for _ in range(rng.poisson(per_second)):
            price += 0.25 * int(rng.integers(-2, 3))
            out.append((t, price, float(rng.integers(1, 6))))
    return out


def config(instruments: dict, source: dict | None = None, bar_size: str = "1min") -> Config:
    symbols = [s for s, i in instruments.items() if not (i or {}).get("root", s).startswith("$")]
    return Config.from_dict(
        {
            "run": {"mode": "live"},
            "bars": {"primary": bar_size},
            "instruments": instruments,
            "group": symbols[:2] if len(symbols) >= 2 else symbols * 2,
            "sources": {"ib": source or {}},
        }
    )


class FeedRun:
    """An IBFeed on its own thread, filling a queue.Queue, against a stub."""

    def __init__(self, stub: TwsStub, cfg: Config, clock: Clock, pacer=None, **settings):
        self.stub, self.clock = stub, clock
        self.port = stub.start_in_thread()
        settings = {"port": self.port, "timeout": "5s", "reconnect": 0.05, **settings}
        checked = parse(settings, cfg.bars.primary_ns)
        self.feed = IBFeed("ib", cfg.symbols, cfg, checked, clock=clock, pacer=pacer)
        self.queue: queue.Queue = queue.Queue()
        self.stop_event = threading.Event()
        self.items: list = []

    def start(self) -> FeedRun:
        self.feed.start_live(self.queue, self.stop_event)
        return self

    def take(self) -> list:
        while True:
            try:
                self.items.append(self.queue.get_nowait())
            except queue.Empty:
                return self.items

    def wait_for(self, condition, timeout=10.0, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.take()
            if condition():
                return
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; got {self.notices()}")

    def notices(self, kind: str | None = None) -> list:
        return [
            x[1]
            for x in self.items
            if x is not None and isinstance(x[1], FeedNotice) and kind in (None, x[1].kind)
        ]

    def chunks(self, symbol: str) -> list:
        return [
            x[1]
            for x in self.items
            if x is not None and x[0] == symbol and not isinstance(x[1], FeedNotice)
        ]

    def settle(self, quiet_s: float = 0.3) -> None:
        """Waits until nothing new arrived for ``quiet_s``."""
        seen = -1
        while seen != len(self.take()):
            seen = len(self.items)
            time.sleep(quiet_s)

    def finish(self) -> None:
        self.stop_event.set()
        if self.feed.thread is not None:
            self.feed.thread.join(10)
        self.take()
        self.stub.stop()


def buckets_of_chunks(chunks, step_s: int) -> pd.DataFrame:
    """Delivered chunks (trades and bars) as OHLCV per ``step_s`` bucket."""
    frames = []
    for c in chunks:
        if isinstance(c, BarChunk):
            frame = pd.DataFrame(
                {"t": c.ts_open // NS, "o": c.open, "h": c.high, "l": c.low, "c": c.close}
            )
            frame["v"] = c.volume
        else:
            frame = pd.DataFrame({"t": c.ts // NS, "o": c.price, "h": c.price, "l": c.price})
            frame["c"], frame["v"] = c.price, c.size
        frames.append(frame)
    return _ohlcv(pd.concat(frames, ignore_index=True), step_s)


def buckets_of_trades(series, step_s: int, start_s: int, end_s: int) -> pd.DataFrame:
    """The stub's own trades in [start_s, end_s) as OHLCV per bucket."""
    frame = pd.DataFrame(series, columns=["t", "o", "v"])
    frame = frame[(frame.t >= start_s) & (frame.t < end_s)]
    frame = frame.assign(h=frame.o, l=frame.o, c=frame.o)
    return _ohlcv(frame, step_s)


def _ohlcv(frame: pd.DataFrame, step_s: int) -> pd.DataFrame:
    frame = frame.assign(b=frame.t // step_s * step_s)
    grouped = frame.groupby("b", sort=True)
    return pd.DataFrame(
        {
            "o": grouped.o.first(),
            "h": grouped.h.max(),
            "l": grouped.l.min(),
            "c": grouped.c.last(),
            "v": grouped.v.sum(),
        }
    )
