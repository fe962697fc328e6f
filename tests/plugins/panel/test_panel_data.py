"""The panel's data endpoint during a replay of the demo, read at the end of
every session (before the next session's first slice):

* each line is the RS% from the prior settlement, computed here with pandas
  from the simulator's own trades (bar closes on the 5-minute grid, the VWAP
  of the 30 seconds before 16:00 ET; for NDX, which prints no size, the last
  price before 16:00 ET);
* every value is the engine's own ``rs_pct``, ``regime`` and $TICK close, as
  a separate output received them, and the signals marked are the session's;
* the panel holds the current session only.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from panel_helpers import BAR_NS, TZ, EngineValues, demo_tree, engine_for, get, local, panel_of

import rsengine

SETTLE_NS = 30 * 10**9


class PanelReader(EngineValues):
    """Also reads ``/panel.json`` when each session ends."""

    def __init__(self):
        super().__init__()
        self.read: dict = {}
        self.engine = None

    @rsengine.hookimpl
    def rsengine_session_end(self, session):
        status, _, body = get(panel_of(self.engine).url, "/panel.json")
        assert status == 200
        self.read[session.date] = json.loads(body)


@pytest.fixture(scope="module")
def run():
    tree = demo_tree()
    tree["outputs"] = {"panel": {"port": 0}, "engine_values": {}}
    reader = PanelReader()
    engine = reader.engine = engine_for(tree, reader)
    summary = engine.run()
    assert summary.failed is None
    sim = next(obj for _, _, obj in engine.sources)
    return reader, sim.market, engine


def pandas_rs(market, k: int, feed: str) -> pd.Series:
    """RS% of session ``k`` by bar close (local text), from the trades."""
    prior = market.trades(k - 1, feed)
    p = pd.DataFrame({"ts": prior.ts, "price": prior.price, "size": prior.size})
    day = market.sessions()[k - 1].session_date
    end = pd.Timestamp(f"{day} 16:00", tz=TZ).value
    window = p[(p.ts >= end - SETTLE_NS) & (p.ts < end)]
    if window["size"].sum() > 0:
        settle = (window.price * window["size"]).sum() / window["size"].sum()
    else:  # an index prints no size: the last price before 16:00 ET stands in (rth_last)
        settle = p[p.ts < end].price.iloc[-1]
    t = market.trades(k, feed)
    bars = pd.DataFrame({"close_ns": (t.ts // BAR_NS + 1) * BAR_NS, "price": t.price})
    close = bars.groupby("close_ns").price.last()
    return pd.Series(((close - settle) / settle * 100).to_numpy(), index=local(close.index))


def test_each_session_was_read_and_holds_only_itself(run):
    reader, market, _ = run
    dates = [s.session_date.isoformat() for s in market.sessions()]
    assert list(reader.read) == dates
    for date, data in reader.read.items():
        assert data["session"] == date
        times = [t for line in data["lines"] for t in line["time"]] + data["tick"]["time"]
        own = local(reader.session(date)["ts"])
        assert set(times) <= set(own)  # nothing of another session
        assert min(own) in times or not data["lines"]


def test_the_lines_are_the_rs_from_the_prior_settlement(run):
    reader, market, engine = run
    feeds = {s: engine.config.instrument(s).feed_symbol or s for s in engine.symbols}
    checked = 0
    for k, session in enumerate(market.sessions()):
        data = reader.read[session.session_date.isoformat()]
        symbols = [line["symbol"] for line in data["lines"]]
        if k == 0:
            assert symbols == []  # no prior close yet
            continue
        assert symbols == ["ES", "NQ", "RTY", "YM", "ZN", "NDX"]  # not the internals
        for line in data["lines"]:
            expected = pandas_rs(market, k, feeds[line["symbol"]])
            assert line["time"] == list(expected.index)
            assert np.allclose(line["rs_pct"], expected.to_numpy(), rtol=1e-9, atol=1e-9)
            checked += len(expected)
    assert checked > 30 * 6 * 250


def test_every_value_is_the_engines_own(run):
    reader, _, _ = run
    symbols = reader.symbols
    markers = 0
    for date, data in reader.read.items():
        own = reader.session(date)
        times = local(own["ts"])
        for line in data["lines"]:
            i = symbols.index(line["symbol"])
            rows = own["present"][:, i]
            assert line["time"] == [t for t, p in zip(times, rows, strict=True) if p]
            assert line["rs_pct"] == own["rs_pct"][rows, i].tolist()
        tick = symbols.index("$TICK")
        assert data["tick"]["symbol"] == "$TICK"
        rows = own["present"][:, tick]
        assert data["tick"]["close"] == own["close"][rows, tick].tolist()
        # the regime spans, run by run
        regime = own["regime"]
        starts = [0] + [j for j in range(1, len(regime)) if regime[j] != regime[j - 1]]
        assert [(r["start"], r["regime"]) for r in data["regimes"]] == [
            (int(own["ts"][j]), regime[j]) for j in starts
        ]
        # the signals, each on its instrument's line at its bar
        marked = sorted((m["ts"], m["name"], m["symbol"]) for m in data["markers"])
        sent = sorted((s.ts_close, s.name, s.instrument) for s in own["signals"])
        assert marked == sent
        for m in data["markers"]:
            i = symbols.index(m["symbol"])
            at = int(np.flatnonzero(own["ts"] == m["ts"])[0])
            value = own["rs_pct"][at, i]
            assert m["rs_pct"] == (None if np.isnan(value) else value)
        markers += len(marked)
    assert markers == len(reader.signals) > 100
    assert {r["regime"] for d in reader.read.values() for r in d["regimes"]} >= {"trend", "chop"}


def test_the_run_ended_with_the_server(run):
    _, _, engine = run
    panel = panel_of(engine)
    assert not panel.server.running
    with pytest.raises(ConnectionRefusedError):
        get(panel.url, "/")
