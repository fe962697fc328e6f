"""Indicator ``ratios`` over a real replay equals pandas on the session
settlements (close of the last bar ending at or before 16:00 ET, the bar-data
fallback): ratio of the last completed session, and the leader by a 3-5
session streak or a 1.5-point weekly edge. A 13:00 ET holiday halt publishes
no settlement (DOMAIN.md §2): it is no completed session of its own.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from test_rs_replay import FILES, data_dir, replay

pytestmark = pytest.mark.realdata
NAMES = {"MES": "ES", "MNQ": "NQ", "M2K": "RTY"}


def settlements(symbol: str) -> pd.Series:
    raw = pd.read_csv(data_dir() / FILES[symbol])
    ts_close = pd.to_datetime(raw["ts_et"], utc=True).dt.tz_convert("America/New_York")
    ts_close = ts_close + pd.Timedelta(minutes=5)
    last = ts_close - pd.Timedelta(nanoseconds=1)
    session = last.dt.date.where(last.dt.hour < 18, (last + pd.Timedelta(days=1)).dt.date)
    clock = ts_close.dt.hour * 60 + ts_close.dt.minute
    keep = clock <= 16 * 60
    return raw["close"][keep].groupby(session[keep]).last()


def halts(first, last) -> set:
    """Sessions the exchange calendar closes before the 13:15 ET early close."""
    schedule = mcal.get_calendar("CME Globex Equity").schedule(first, last)
    closes = schedule["market_close"].dt.tz_convert("America/New_York")
    return {day.date() for day, t in closes.items() if (t.hour, t.minute) < (13, 15)}


def expected_leader(a: pd.Series, b: pd.Series) -> pd.Series:
    """Leader after each session, worked out with pandas alone."""
    ret_a, ret_b = a.pct_change() * 100, b.pct_change() * 100
    sign = np.sign(ret_a - ret_b).fillna(0)
    run = sign.groupby((sign != sign.shift()).cumsum()).cumcount() + 1
    streak = (run * sign).clip(-5, 5)
    weekly = (a / a.shift(5) - 1) * 100 - (b / b.shift(5) - 1) * 100
    leader = pd.Series("", index=a.index, dtype=object)
    leader[weekly <= -1.5] = "b"
    leader[weekly >= 1.5] = "a"
    leader[streak <= -3] = "b"
    leader[streak >= 3] = "a"
    return leader


def test_ratio_and_leader_follow_the_prior_sessions_settlements(tmp_path):
    summary, bars = replay(
        tmp_path, "indicators.ratios={}", "sources.csv.start=2024-01-02", "setups={}"
    )
    assert summary.failed is None
    settle = pd.DataFrame({s: settlements(s) for s in FILES}).dropna()
    bars["ts"] = pd.to_datetime(bars["ts_close"], utc=True).dt.tz_convert("America/New_York")
    last = bars["ts"] - pd.Timedelta(nanoseconds=1)
    bars["session"] = last.dt.date.where(last.dt.hour < 18, (last + pd.Timedelta(days=1)).dt.date)
    sessions = sorted(bars["session"].unique())
    halted = halts(sessions[0], sessions[-1])
    assert dt.date(2024, 2, 19) in halted and dt.date(2024, 11, 29) not in halted
    settle = settle.drop(index=[d for d in settle.index if d in halted])
    completed = [d for d in sessions if d not in halted]
    checked = 0
    for a, b in (("MES", "MNQ"), ("MES", "M2K"), ("MNQ", "M2K")):
        pair = f"{NAMES[a].lower()}_{NAMES[b].lower()}"
        fed = settle.loc[completed[0] : completed[-2], [a, b]]  # completed sessions
        leader = expected_leader(fed[a], fed[b]).map({"a": NAMES[a], "b": NAMES[b], "": ""})
        rows = bars[bars["symbol"] == a].groupby("session").first()
        for day in sessions[1:]:
            before = [d for d in completed if d < day]
            if not before:
                continue
            prior = before[-1]
            got_ratio = rows.loc[day, f"ratio_{pair}"]
            np.testing.assert_allclose(got_ratio, fed.loc[prior, a] / fed.loc[prior, b], rtol=1e-12)
            got_lead = rows.loc[day, f"ratio_lead_{pair}"]
            assert (got_lead if isinstance(got_lead, str) else "") == leader.loc[prior], (pair, day)
            checked += 1
    assert checked > 100
    # the window holds at least one leadership regime, so the test can fail
    assert (bars.filter(like="ratio_lead_").fillna("") != "").any().any()


def test_settings_are_checked():
    from types import SimpleNamespace

    from rsengine_rs.ratios import SessionRatios

    from rsengine.config import Config

    config = Config.from_dict({"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"]})
    context = SimpleNamespace(config=config, symbols=("ES", "NQ"))
    assert SessionRatios({}, context).columns == ("ratio_es_nq", "ratio_lead_es_nq")
    with pytest.raises(ValueError, match="min_streak"):
        SessionRatios({"min_streak": 6}, context)
    with pytest.raises(ValueError, match="unknown setting"):
        SessionRatios({"streak": 3}, context)
