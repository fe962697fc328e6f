"""What the rithmic tests share: a started loopback gateway, the source's
settings pointing at it, a source built on a config, a queue reader."""

from __future__ import annotations

import datetime as dt
import queue
import time

import numpy as np
import pytest
import structlog
from rithmic_stub import NS, RithmicStub

from rsengine.config import Config
from rsengine.feeds import FeedNotice
from rsengine.model import TradeChunk
from rsengine.state import ComponentContext

PASSWORD_VAR = "RSENGINE_TEST_RITHMIC_PASSWORD"
# 2025-03-04 14:30 UTC, a Tuesday in the ESH5 / NQH5 months
T0 = int(dt.datetime(2025, 3, 4, 14, 30, tzinfo=dt.UTC).timestamp()) * NS


@pytest.fixture(name="stub")
def stub_fixture(monkeypatch):
    """A started gateway; import ``stub_fixture`` to use the fixture ``stub``."""
    gateway = RithmicStub().start()
    monkeypatch.setenv(PASSWORD_VAR, gateway.password)
    yield gateway
    gateway.stop()


def settings(stub, **extra) -> dict:
    return {
        "user": "trader",
        "password": f"env:{PASSWORD_VAR}",
        "system_name": "Rithmic Test",
        "url": stub.url,
        "app_name": "test:rsengine",
        "stagger": "50ms",
        "timeout": "3s",
        "reconnect": {"first": "50ms", "most": "200ms"},
        **extra,
    }


def config(symbols=("ES",), mode="live", source_settings=None, run=None, **sections) -> Config:
    return Config.from_dict(
        {
            "run": {"mode": mode, **(run or {})},
            "instruments": {s: {} for s in symbols},
            "group": list(symbols),
            "sources": {"rithmic": source_settings or {}},
            **sections,
        }
    )


def source(stub, symbols=("ES",), mode="live", **extra):
    from rsengine_rithmic import RithmicSource

    cfg = config(symbols, mode)
    context = ComponentContext(
        config=cfg,
        symbols=tuple(symbols),
        bar_ns=300 * NS,
        name="rithmic",
        plugin="rithmic",
        log=structlog.get_logger(),
    )
    return RithmicSource(settings(stub, **extra), context)


class Reader:
    """What a live feed put on its queue, read as it comes."""

    def __init__(self):
        self.queue = queue.Queue()
        self.trades: dict = {}  # symbol -> [TradeChunk]
        self.notices: list = []
        self.ended = False

    def until(self, done, timeout_s=20.0) -> None:
        """Read until ``done(self)``; fail after ``timeout_s`` (a safety net)."""
        end = time.monotonic() + timeout_s
        while not done(self):
            if time.monotonic() > end:
                kinds = [n.kind for n in self.notices]
                raise AssertionError(f"feed did not get there; notices {kinds}")
            try:
                item = self.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is None:
                self.ended = True
            elif isinstance(item[1], FeedNotice):
                self.notices.append(item[1])
            else:
                self.trades.setdefault(item[0], []).append(item[1])

    def count(self, symbol) -> int:
        return sum(len(c) for c in self.trades.get(symbol, ()))

    def kinds(self) -> list:
        return [n.kind for n in self.notices]

    def rows(self, symbol) -> list:
        return rows_of(self.trades.get(symbol, []))


def rows_of(chunks) -> list:
    """Trade chunks -> [(ts_ns, price, size)] to compare with a stub series."""
    if not chunks:
        return []
    ts = np.concatenate([c.ts for c in chunks])
    price = np.concatenate([c.price for c in chunks])
    size = np.concatenate([c.size for c in chunks])
    return list(zip(ts.tolist(), price.tolist(), size.tolist(), strict=True))


def chunk_of(rows) -> TradeChunk:
    return TradeChunk(*zip(*rows, strict=True)) if rows else TradeChunk([], [], [])
