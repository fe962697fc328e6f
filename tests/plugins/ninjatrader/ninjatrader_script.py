"""Runs the real engine with the ``ninjatrader`` output on a small made-up ES
session (trades every minute, 1-minute bars, one batch per bar), a setup that
emits the signals a test scripts at chosen bar closes, and a fake
NinjaTrader that acts between them: after every signal it processes
incoming/, and at a chosen bar close it can disconnect, fill a stop, restart.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rsengine.config import Config
from rsengine.hookspecs import hookimpl
from rsengine.host.plugins import check_plugins, make_plugin_manager
from rsengine.host.runner import build_engine
from rsengine.model import Signal, TradeChunk
from rsengine.testing import MemorySource

ET = ZoneInfo("America/New_York")
DAY = "2025-03-05"
MIN = 60 * 10**9


def bar_close(hhmm: str) -> int:
    """The bar closing at ``hhmm`` ET on DAY, ns UTC."""
    hour, minute = map(int, hhmm.split(":"))
    local = dt.datetime.fromisoformat(DAY).replace(hour=hour, minute=minute, tzinfo=ET)
    return int(local.timestamp()) * 10**9


def es_session(first="09:30", last="11:00") -> list[TradeChunk]:
    """ES trades, three a minute from ``first`` to ``last`` ET, a chunk a minute."""
    chunks = []
    t = bar_close(first)
    end = bar_close(last)
    price = 5800.0
    while t < end:
        ts = [t + 10**9, t + 20 * 10**9, t + 40 * 10**9]
        chunks.append(TradeChunk(ts, [price, price + 0.25, price], [1.0, 2.0, 1.0]))
        t += MIN
    return chunks


def entry(hhmm, side="long", contracts=2, entry=5800.0, stop=5795.0, target=5810.0, **kw):
    return Signal(
        ts_close=bar_close(hhmm),
        session_date=DAY,
        name=kw.pop("name", "strength_rider"),
        kind="setup",
        instrument=kw.pop("instrument", "ES"),
        side=side,
        reason="scripted entry",
        contract=kw.pop("contract", "ES 03-25"),
        contracts=contracts,
        entry=entry,
        stop=stop,
        target=target,
        details={"traded": kw.pop("traded", "ES"), **kw},
    )


def exit_of(hhmm, entry_signal: Signal, how: str) -> Signal:
    return Signal(
        ts_close=bar_close(hhmm),
        session_date=DAY,
        name=entry_signal.name,
        kind="exit",
        instrument=entry_signal.instrument,
        side="flat",
        reason=f"scripted exit ({how})",
        contracts=entry_signal.contracts,
        details={"entry_id": entry_signal.id, "exit": how},
    )


def halt(hhmm) -> Signal:
    return Signal(
        ts_close=bar_close(hhmm),
        session_date=DAY,
        name="daily_loss_limit",
        kind="halt",
        instrument="*",
        side="flat",
        reason="daily loss limit reached",
    )


def context(hhmm) -> Signal:
    return Signal(
        ts_close=bar_close(hhmm),
        session_date=DAY,
        name="nq_vs_es",
        kind="context",
        instrument="ES",
        side="long",
        reason="scripted context",
    )


class Script:
    """Setup ``script`` and the fake NinjaTrader's clock."""

    def __init__(self, nt=None):
        self.nt = nt
        self.signals: dict[int, list] = {}
        self.events: dict[int, list] = {}
        self.emitted: list[Signal] = []

    def emit(self, *signals: Signal) -> Script:
        for signal in signals:
            self.signals.setdefault(signal.ts_close, []).append(signal)
        return self

    def on(self, hhmm: str, action) -> Script:
        """``action()`` when the bar closing at ``hhmm`` is done, before its signals."""
        self.events.setdefault(bar_close(hhmm), []).append(action)
        return self

    def evaluate_batch(self, batch, state):
        return [s for ts in batch.ts_close.tolist() for s in self.signals.get(int(ts), [])]

    @hookimpl
    def rsengine_register_setups(self, registry):
        registry.add("script", lambda settings, context: self, "scripted signals")

    @hookimpl
    def rsengine_slice_closed(self, slice, values):
        for action in self.events.get(int(slice.ts_close), []):
            action()
        if self.nt is not None:
            self.nt.process()

    @hookimpl
    def rsengine_signal_emitted(self, signal):
        self.emitted.append(signal)
        if self.nt is not None:
            self.nt.process()


def run(script: Script, output: dict, chunks=None):
    """One engine run over the made-up session; returns the summary."""
    data = {"ES": chunks or es_session()}
    config = Config.from_dict(
        {
            "instruments": {"ES": {}},
            "group": ["ES"],
            "bars": {"primary": "1min"},
            "sources": {"memory": {}},
            "setups": {"script": {}},
            "outputs": {"ninjatrader": output},
        }
    )
    pm = make_plugin_manager()

    class Memory:
        @hookimpl
        def rsengine_register_sources(self, registry):
            registry.add("memory", lambda settings, context: MemorySource(data), "test data")

    pm.register(Memory(), name="memory-source")
    pm.register(script, name="script")
    check_plugins(pm)
    engine = build_engine(config, pm)
    return engine.run()
