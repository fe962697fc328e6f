"""rsengine_sim: a seeded, deterministic SIMULATED market for demos and tests.

Everything this package produces is made up. ``rsengine_sim.market.SimMarket``
generates Globex-session trades for ES, NQ, RTY, YM, ZN (and optionally the
micros), one-per-second RTH prints of NYSE ``$TICK``, NYSE ``$ADD`` and ``NDX``,
and a scripted scenario per session so that every context signal and regime of
the rule book has a day on which it should fire. Outputs built on it must say
``SIMULATED`` (``rsengine_sim.market.source_label``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

import rsengine
from rsengine.model import TradeChunk


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add(
        "sim", SimSource, "SIMULATED market: scripted ES/NQ/RTY/YM/ZN, $TICK, $ADD, NDX days"
    )


class SimSource:
    """Source ``sim``: each configured instrument's trades, one chunk per session.

    Settings: ``seed`` (7), ``start`` (2025-03-03), ``days`` (default: the whole
    scenario sequence), ``scenarios`` (list of names), ``warmup`` (0: that many
    ``normal`` sessions first, so that daily ATR(14) and other session
    histories are filled when the scenarios begin), ``trades_per_minute``
    (100), ``micros`` (false). An instrument is looked up by its
    ``feed_symbol``. In a paced run each session comes bar by bar (a chunk per
    primary bar), so the pacer, the market view and the panel follow it.
    """

    SETTINGS = ("seed", "start", "days", "scenarios", "warmup", "trades_per_minute", "micros")
    label = "SIMULATED"

    def __init__(self, settings: dict, context):
        from .market import DEFAULT_SEQUENCE, SimMarket

        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        start = settings.get("start", dt.date(2025, 3, 3))
        if isinstance(start, str):
            start = dt.date.fromisoformat(start)
        days, scenarios = settings.get("days"), settings.get("scenarios")
        warmup = int(settings.get("warmup", 0))
        if warmup < 0:
            raise ValueError(f"warmup {warmup} must be >= 0 sessions")
        if warmup:
            if scenarios is None:
                n = len(DEFAULT_SEQUENCE) if days is None else int(days)
                scenarios = [DEFAULT_SEQUENCE[i % len(DEFAULT_SEQUENCE)] for i in range(n)]
            scenarios, days = ["normal"] * warmup + list(scenarios), None
        self.market = SimMarket(
            seed=int(settings.get("seed", 7)),
            start=start,
            days=days,
            scenarios=scenarios,
            trades_per_minute=float(settings.get("trades_per_minute", 100.0)),
            micros=bool(settings.get("micros", False)),
        )
        # a paced run waits between chunks: there a session comes bar by bar
        paced = (
            getattr(context.config, "run", None) is not None and context.config.run.mode == "paced"
        )
        self.cut_ns = context.config.bars.primary_ns if paced else None
        self.feeds = {}
        for symbol in context.symbols:
            feed = context.config.instrument(symbol).feed_symbol or symbol
            if feed in self.market.instruments:
                self.feeds[symbol] = feed

    def events(self):
        """The run's scheduled releases (CPI, FOMC ... of the scripted days) as
        ``rsengine.exchange.events.Event``, in time order."""
        from rsengine.exchange.events import Event

        releases = sorted(self.market.events(), key=lambda e: e.ts_ns)
        return [Event(e.ts_ns, e.name, e.importance) for e in releases]

    def span(self) -> tuple[int, int]:
        """The first session's open and the last one's close (ns UTC), for the
        progress bar."""
        sessions = self.market.sessions()
        return sessions[0].open_ns, sessions[-1].close_ns

    def streams(self):
        return {symbol: self._stream(feed) for symbol, feed in self.feeds.items()}

    def _stream(self, feed):
        for k in range(len(self.market)):
            trades = self.market.trades(k, feed)
            if self.cut_ns is None or not len(trades.ts):
                yield TradeChunk(trades.ts, trades.price, trades.size)
                continue
            ts = np.asarray(trades.ts, np.int64)
            bar = self.cut_ns  # the trades of each bar (bars begin on multiples of it)
            cuts = np.flatnonzero(np.diff(ts // bar)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ts)], strict=True):
                yield TradeChunk(ts[lo:hi], trades.price[lo:hi], trades.size[lo:hi])
