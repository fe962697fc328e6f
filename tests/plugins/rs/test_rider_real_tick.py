"""Setup ``strength_rider`` with the real NYSE $TICK (May 2023): its $TICK gate,
the stack's tick check and the contracts equal an independent pandas
computation.

The TradingView file holds ES and $TICK at 5 minutes; NQ, RTY and YM exist for
May 2023 only as hourly bars (barchart-hourly), so the group runs on a
60-minute primary: ES and $TICK are combined to hourly bars, the others pass
through. $TICK is on the NYSE calendar, so its hourly bars close at :30 while
the futures' close on the hour; a futures slice reads the last $TICK close so
far in the session.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir
from test_rider_realdata import ET, expected_entries, expected_exit, prepare, with_limits

from rsengine.config import Config
from rsengine.host.runner import build_engine

pytestmark = pytest.mark.realdata
TV = "tradingview-es-nysetick-5m-2023-05/ES1_5m_with_NYSE_TICK.csv"
HOURLY = {
    "MNQ": "front_by_volume_hourly_NASDAQ_micro.csv.gz",
    "RTY": "front_by_volume_hourly_RUSSELL.csv.gz",
    "YM": "front_by_volume_hourly_DOW.csv.gz",
}
GROUP = ["ES", "MNQ", "RTY", "YM"]
TICK_SIZE = {"ES": 0.25, "MNQ": 0.25, "RTY": 0.1, "YM": 1.0}
POINT_VALUE = {"ES": 50.0, "MNQ": 2.0, "RTY": 50.0, "YM": 5.0}
MICROS = {"ES": ("MES", 5.0), "RTY": ("M2K", 5.0), "YM": ("MYM", 0.5)}


def config(out) -> Config:
    tick_columns = {"ts": "time", "open": "Tick (Open)", "high": "Tick (High",
                    "low": "Tick (Low)", "close": "Tick (Close)"}  # fmt: skip
    files = {
        "ES": {"files": TV, "layout": "tradingview_5m", "bar": "5min"},
        "$TICK": {
            "files": TV,
            "layout": {"preset": "tradingview_5m", "columns": tick_columns, "signed": True,
                       "missing": "skip"},
            "bar": "5min",
        },  # fmt: skip
        **{s: {"files": f"barchart-hourly/{f}", "layout": "barchart_hourly", "bar": "60min"}
           for s, f in HOURLY.items()},
    }  # fmt: skip
    return Config.from_dict(
        {
            "bars": {"primary": "60min"},
            "group": ["ES", "NQ", "RTY", "YM"],
            "instruments": {"ES": {}, "MNQ": {"as": "NQ"}, "RTY": {}, "YM": {}, "$TICK": {}},
            "sources": {"csv": {"start": "2023-05-01", "end": "2023-05-22", "instruments": files}},
            "indicators": {"rs": {}, "measures": {}, "group": {},
                           "regime": {"persistence_bar": "60min"}},
            "setups": {"strength_rider": {}},
            "outputs": {"record": {"dir": str(out), "format": "csv"}},
        },
        base_dir=data_dir(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    if not (data_dir() / TV).exists() or not (data_dir() / "barchart-hourly").is_dir():
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")
    out = tmp_path_factory.mktemp("tick")
    build_engine(config(out)).run()
    bars = pd.read_csv(out / "bars.csv", low_memory=False)
    signals = [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]
    return bars, signals


def tick_by_slice(b: pd.DataFrame) -> dict:
    """From the raw file alone: slice ns -> ($TICK so far in its session, the
    value at the slice before). An hourly $TICK bar (NYSE, from 09:30) closes
    with its last 5-minute reading."""
    raw = pd.read_csv(data_dir() / TV)
    close = pd.to_datetime(raw["time"], unit="s", utc=True) + pd.Timedelta(minutes=5)
    tick = pd.Series(raw["Tick (Close)"].to_numpy(float), index=close).dropna()
    local = tick.index.tz_convert(ET)
    minutes = local.hour * 60 + local.minute - (9 * 60 + 30)
    edge = np.minimum(np.ceil(minutes / 60) * 60, 6 * 60 + 30)  # the hour bar's close
    hour_close = local.normalize() + pd.to_timedelta(9 * 60 + 30 + edge, unit="min")
    hourly = tick.groupby(hour_close.tz_convert("UTC").as_unit("ns").asi8).last()
    out = {}
    for _, s in b.drop_duplicates("ns").sort_values("ns").groupby("session"):
        last = math.nan
        for ns in s["ns"]:
            now = hourly.get(int(ns), last)
            out[int(ns)] = (now, last)
            last = now
    return out


@pytest.fixture(scope="module")
def expected(replay):
    bars, _ = replay
    b = prepare(bars)
    tick = tick_by_slice(b)
    found = expected_entries(b, GROUP, TICK_SIZE, POINT_VALUE, MICROS, tick)
    return b, with_limits(found)


def test_the_tick_gate_stack_and_contracts_match_pandas(replay, expected):
    _, signals = replay
    _, want = expected
    got = {(s["ts_close"], s["instrument"], s["side"]): s for s in signals if s["kind"] == "setup"}
    assert sorted(got) == sorted((c["ns"], c["symbol"], c["side"]) for c in want)
    held = set()
    for c in want:
        s = got[(c["ns"], c["symbol"], c["side"])]
        assert (s["entry"], s["stop"]) == (pytest.approx(c["entry"]), pytest.approx(c["stop"]))
        assert s["contracts"] == c["contracts"]
        assert s["size_fraction"] == pytest.approx(c["fraction"])
        tick_held = c["tick"] * (1 if c["side"] == "long" else -1) > 0
        assert ("tick" in s["confirmations"]) == tick_held
        assert s["details"]["stack"]["tick"].startswith("held" if tick_held else "not held")
        assert f"$TICK {c['tick']:+.0f}" in s["details"]["stack"]["tick"]
        held.add(tick_held)
    assert len(want) >= 10 and held == {True, False}  # both outcomes occur in the data


def test_each_entry_with_contracts_exits_as_pandas_finds(replay, expected):
    _, signals = replay
    b, want = expected
    by_key = {(c["ns"], c["symbol"], c["side"]): c for c in want}
    entries = {s["id"]: s for s in signals if s["kind"] == "setup" and s["contracts"] > 0}
    exits = [s for s in signals if s["kind"] == "exit"]
    assert sorted(e["details"]["entry_id"] for e in exits) == sorted(entries)
    for e in exits:
        entry = entries[e["details"]["entry_id"]]
        c = by_key[(entry["ts_close"], entry["instrument"], entry["side"])]
        ns, how, price = expected_exit(b, c)
        assert (e["ts_close"], e["details"]["exit"]) == (ns, how)
        assert e["details"]["exit_price"] == pytest.approx(price)
