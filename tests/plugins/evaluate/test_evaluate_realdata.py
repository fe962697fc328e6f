"""The evaluation on real micros (MES, MNQ, M2K standing in for ES, NQ, RTY):
the CLI end to end on a window of configs/evaluate-micros.yaml with the
forward returns recomputed by pandas from the raw Databento files, and no
look-ahead: the signals up to a bar do not change when the data after it are
cut off or altered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir
from rsengine_evaluate.capture import capture

from rsengine.app.logs import configure_logging
from rsengine.config import Config, load_config
from rsengine.hookspecs import hookimpl
from rsengine.host.runner import plugin_manager_for
from rsengine.model import BarChunk
from rsengine.testing import MemorySource

pytestmark = pytest.mark.realdata
CONFIGS = Path(__file__).resolve().parents[3] / "configs"
CONFIG = CONFIGS / "evaluate-micros.yaml"
FIRST, LAST = "2024-04-01", "2024-05-24"  # no early close, no holiday halt inside
ET = "America/New_York"
FILES = {
    s: f"databento-micro-5m/{s}_c0_5m_2023-11-02_2026-03-20.csv.gz" for s in ("MES", "MNQ", "M2K")
}
FIVE = pd.Timedelta(minutes=5)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The real-data folder (module-wide); skips, saying why, without the files."""
    root = data_dir()
    if not all((root / name).exists() for name in FILES.values()):
        pytest.skip(f"real market data not found in {root} (set RSENGINE_DATA_DIR)")
    return root


@pytest.fixture(scope="module")
def raw(shared):
    """Each micro's raw bars from 2024-03-01 on: close stamp (UTC) -> bar."""
    out = {}
    for symbol, name in FILES.items():
        df = pd.read_csv(shared / name, usecols=["ts_et", "open", "high", "low", "close", "volume"])
        df["t_open"] = pd.to_datetime(df["ts_et"], utc=True)
        df = df[(df["t_open"] >= "2024-03-01") & (df["t_open"] < "2024-06-01")]
        df["t_close"] = df["t_open"] + FIVE
        out[symbol] = df.set_index("t_close").sort_index()
    return out


@pytest.fixture(scope="module")
def evaluated(shared, tmp_path_factory):
    from rsengine.app.cli import main

    out = tmp_path_factory.mktemp("micros")
    argv = [
        "evaluate",
        str(CONFIG),
        "--draws",
        "200",
        "--resamples",
        "200",
        "--no-progress",
        "--set",
        f"sources.csv.start={FIRST}",
        "--set",
        f"sources.csv.end={LAST}",
        "--out",
        str(out),
    ]
    import os

    old = os.environ.get("RSENGINE_DATA_DIR")
    os.environ["RSENGINE_DATA_DIR"] = str(shared)
    try:
        assert main(argv) == 0
    finally:
        if old is None:
            os.environ.pop("RSENGINE_DATA_DIR")
        else:
            os.environ["RSENGINE_DATA_DIR"] = old
    return json.loads((out / "evaluation.json").read_text())


def test_forward_returns_match_pandas_on_the_raw_files(evaluated, raw):
    signals = evaluated["signals"]
    assert {s["instrument"] for s in signals} == {"MES", "MNQ", "M2K"}
    assert {s["kind"] for s in signals} == {"context", "setup"}
    checked = 0
    for s in signals:
        closes = raw[s["instrument"]]["close"]
        t = pd.Timestamp(s["ts_close"], unit="ns", tz="UTC")
        sign = {"long": 1, "short": -1, "flat": 1}[s["side"]]
        base = closes[:t].iloc[-1]
        assert s["price"] == base
        rth_close = pd.Timestamp(f"{s['session_date']} 16:00", tz=ET).tz_convert("UTC")
        for k, minutes in enumerate((15, 30, 60)):
            end = t + pd.Timedelta(minutes=minutes)
            if end > rth_close:
                assert s["points"][k] is None
                continue
            expected = (closes[:end].iloc[-1] - base) * sign
            assert s["points"][k] == pytest.approx(expected, abs=1e-9), (s["id"], k)
            checked += 1
        if t <= rth_close:
            expected = (closes[:rth_close].iloc[-1] - base) * sign
            assert s["points"][3] == pytest.approx(expected, abs=1e-9)
    assert checked > 500


def test_result_holds_every_breakdown_and_the_trials(evaluated):
    kinds = {r["breakdown"] for r in evaluated["forward"]}
    assert kinds == {"setup", "instrument", "regime", "time_of_day"}
    setups = {r["name"] for r in evaluated["trades"] if r["breakdown"] == "setup"}
    assert setups == {"strength_rider", "divergence_fade", "laggard_catchup"}
    assert evaluated["trials"] == len(evaluated["tests"])
    rows = [r for r in evaluated["forward"] if r["breakdown"] == "time_of_day"]
    for name in {r["name"] for r in rows}:
        for horizon in ("15m", "close"):
            per_bucket = sum(r["n"] for r in rows if r["name"] == name and r["horizon"] == horizon)
            total = next(
                r["n"]
                for r in evaluated["forward"]
                if r["breakdown"] == "setup" and r["name"] == name and r["horizon"] == horizon
            )
            assert per_bucket == total


# -- no look-ahead ----------------------------------------------------------------------


def chunks(raw, until=None, scale_after=None):
    """BarChunks of the raw bars from 2024-03-01 through 2024-04-19 (ET), cut
    after ``until`` or with every price after ``scale_after`` scaled."""
    data = {}
    for symbol, df in raw.items():
        df = df[df.index <= pd.Timestamp("2024-04-19 17:00", tz=ET)]
        if until is not None:
            df = df[df.index <= until]
        price = df[["open", "high", "low", "close"]].to_numpy(float).copy()
        volume = df["volume"].to_numpy(float).copy()
        if scale_after is not None:
            later = df.index > scale_after
            price[later] *= 1.013
            volume[later] *= 3.0
        ts = df["t_open"].dt.as_unit("ns").astype("int64").to_numpy()
        data[symbol] = [BarChunk(ts, *price.T, volume, bar_ns=5 * 60 * 10**9)]
    return data


class Memory:
    def __init__(self, data):
        self.data = data

    @hookimpl
    def rsengine_register_sources(self, registry):
        registry.add("memory", lambda settings, context: MemorySource(self.data), "test data")


def run(data):
    configure_logging("error")  # the replays quiet (tests/conftest.py restores logging after)
    tree = load_config(str(CONFIG), env={"RSENGINE_DATA_DIR": "/nonexistent"})
    config = Config.from_dict(
        {
            "bars": {"primary": "5min"},
            "risk": {"budget": 500, "daily_loss_limit": 1500, "max_trades": 3},
            "group": ["ES", "NQ", "RTY"],
            "instruments": {"MES": {"as": "ES"}, "MNQ": {"as": "NQ"}, "M2K": {"as": "RTY"}},
            "sources": {"memory": {}},
            "indicators": {name: dict(c.settings) for name, c in tree.indicators.items()},
            "setups": {name: dict(c.settings) for name, c in tree.setups.items()},
        },
        base_dir=CONFIGS,
    )
    pm = plugin_manager_for(config)
    pm.register(Memory(data), name="memory-test")
    return capture(config, pm=pm)


def test_no_signal_changes_when_later_data_are_cut_or_altered(raw):
    full = run(chunks(raw))
    signals = [s for s in full.signals if s.kind in ("context", "setup")]
    assert len(signals) > 50
    picks = [signals[len(signals) // 4], signals[len(signals) // 2], signals[-10]]
    for pick in picks:
        at = pd.Timestamp(pick.ts_close, unit="ns", tz="UTC")
        before = [s.to_json() for s in full.signals if s.ts_close <= pick.ts_close]
        cut = run(chunks(raw, until=at))
        assert [s.to_json() for s in cut.signals if s.ts_close <= pick.ts_close] == before
        changed = run(chunks(raw, scale_after=at))
        assert [s.to_json() for s in changed.signals if s.ts_close <= pick.ts_close] == before
        # the altered data did reach the engine: its later bars differ
        bars, new = full.market.bars[pick.instrument], changed.market.bars[pick.instrument]
        later = bars.ts_close > pick.ts_close
        assert not np.allclose(bars.close[later], new.close[later])
