"""Setup ``strength_rider`` on constructed sessions: each gate and threshold at,
just inside and just outside its boundary (docs/trades.md)."""

from __future__ import annotations

import types

import numpy as np
import pytest
import structlog
from conftest import et_ns
from rsengine_rs.rider import StrengthRider
from test_desk import DATE, FakeBatch, session

from rsengine.config import Config

SYMBOLS = ("ES", "NQ", "$TICK")
CLOCKS = ["09:35", "09:40", "09:45", "09:50", "09:55", "10:00", "10:05", "10:10"]
CONFIG = Config.from_dict(
    {"instruments": {s: {} for s in SYMBOLS}, "group": ["ES", "NQ"], "risk": {"budget": 5000}}
)


class Day:
    """ES leads by ``lead`` through 10:00 and pulls back to VWAP 100 at 10:05."""

    def __init__(self, lead=0.3, low=100.0, close=100.2, lead_after=0.3, tick=0.0):
        n, k = len(CLOCKS), len(SYMBOLS)
        self.ts = np.array([et_ns(f"{DATE} {c}") for c in CLOCKS], np.int64)
        self.present = np.ones((n, k), bool)
        self.close = np.full((n, k), 102.0)  # clear of VWAP 100 and the OR high 100.75
        self.high, self.low, self.open = self.close + 0.5, self.close - 0.5, self.close.copy()
        self.close[:, 2] = self.high[:, 2] = self.low[:, 2] = self.open[:, 2] = tick
        self.low[6, 0], self.close[6, 0] = low, close
        self.values = {
            "lead": np.full((n, k), np.nan),
            "vwap": np.full((n, k), 100.0),
            "or_high": np.full((n, k), 100.75),
            "or_low": np.full((n, k), 99.0),
            "vol_expanding": np.ones((n, k), bool),
        }
        self.values["lead"][:, 0] = [lead] * 6 + [lead_after] * 2
        self.values["lead"][:, 1] = -lead / 2

    def batch(self):
        return FakeBatch(
            symbols=SYMBOLS, ts_close=self.ts, present=self.present, open=self.open,
            high=self.high, low=self.low, close=self.close,
        )  # fmt: skip

    def state(self):
        return types.SimpleNamespace(
            session=session(), values=self.values, group=(0, 1), group_names=("ES", "NQ"),
            daily={}, tz="America/New_York", symbols=SYMBOLS,
        )  # fmt: skip


def rider(**settings):
    context = types.SimpleNamespace(
        name="strength_rider", log=structlog.get_logger("test"), config=CONFIG,
        symbols=SYMBOLS, shared={}, data_labels=("TEST",), bar_ns=300 * 10**9,
    )  # fmt: skip
    return StrengthRider(settings, context)


def entries(day: Day, **settings):
    signals = rider(**settings).evaluate_batch(day.batch(), day.state())
    return [s for s in signals if s.kind == "setup"]


def test_the_early_leader_pulling_back_to_vwap_is_a_long_entry():
    (sig,) = entries(Day())
    assert (sig.instrument, sig.side, sig.entry) == ("ES", "long", 100.2)
    assert sig.ts_close == et_ns(f"{DATE} 10:05")
    assert sig.stop == 99.75  # one tick below the pullback low 100
    assert sig.target == 102.5  # measured move 100.75 + 1.75 (no prior session)
    assert sig.details["level"] == "VWAP" and sig.confirmations == ("rs", "volume")


@pytest.mark.parametrize(("lead", "fires"), [(0.2, True), (0.2001, True), (0.1999, False)])
def test_leadership_needs_min_lead_on_every_bar_of_the_first_half_hour(lead, fires):
    assert bool(entries(Day(lead=lead, lead_after=0.3))) is fires


def test_one_bar_below_min_lead_in_the_window_breaks_the_leadership():
    day = Day()
    day.values["lead"][3, 0] = 0.19
    assert entries(day) == []


@pytest.mark.parametrize(("low", "fires"), [(100.0, True), (99.9, True), (100.01, False)])
def test_the_pullback_must_reach_the_level(low, fires):
    assert bool(entries(Day(low=low))) is fires


@pytest.mark.parametrize(
    ("close", "fires"), [(100.49, True), (100.5, False), (100.0, True), (99.99, False)]
)
def test_no_entry_after_a_run_of_max_run_or_a_close_below_the_level(close, fires):
    assert bool(entries(Day(close=close))) is fires  # 100.5 is exactly 0.5 % above VWAP 100


@pytest.mark.parametrize(("after", "fires"), [(0.21, True), (0.2, False), (0.3, True)])
def test_no_entry_once_the_lead_faded_fade_from_where_it_began(after, fires):
    assert bool(entries(Day(lead=0.3, lead_after=after))) is fires  # began 0.3, fade 0.1


@pytest.mark.parametrize(("tick", "fires"), [(-400.0, True), (-401.0, False), (500.0, True)])
def test_tick_must_be_neutral_or_better(tick, fires):
    found = entries(Day(tick=tick))
    assert bool(found) is fires
    if found:
        held = found[0].details["stack"]["tick"]
        assert held.startswith("held" if tick > 0 else "not held")


def test_tick_recovering_from_deeply_negative_passes_the_gate():
    day = Day(tick=-700.0)
    day.close[5, 2] = -900.0  # rising from the bar before, still above -800
    (sig,) = entries(day)
    assert "tick" not in sig.confirmations


def test_stop_is_capped_at_one_atr_of_the_trading_timeframe():
    day = Day(low=98.0, close=100.25)  # pulls back through VWAP, far below it
    day.low[:6, 0], day.high[:6, 0], day.close[:6, 0] = 100.9, 101.1, 101.0  # range 0.2
    day.high[6, 0] = 100.5  # true range at 10:05: 101 (prior close) - 98 = 3
    (sig,) = entries(day, atr_bars=3)  # ATR of the last 3 bars: (0.2 + 0.2 + 3) / 3
    assert sig.stop == 99.25  # 100.25 - floor(1.1333 / 0.25) = 4 ticks
    assert sig.details["stop_rule"].startswith("capped at 1 ATR")


def test_a_laggard_bouncing_to_vwap_is_a_short_entry():
    day = Day(lead=-0.3, lead_after=-0.3)
    day.values["lead"][:, 1] = 0.15
    day.high[6, 0], day.close[6, 0], day.low[6, 0] = 100.0, 99.8, 99.5
    day.close[:, 0], day.low[:, 0], day.high[:, 0] = 98.0, 97.5, 98.5
    day.high[6, 0], day.close[6, 0], day.low[6, 0] = 100.0, 99.8, 99.5
    (sig,) = entries(day)
    assert (sig.side, sig.entry, sig.stop) == ("short", 99.8, 100.25)


def test_one_entry_per_instrument_and_side_per_session():
    day = Day()
    day.low[7, 0], day.close[7, 0] = 100.0, 100.1  # a second pullback at 10:10
    setup = rider()
    first = setup.evaluate_batch(day.batch(), day.state())
    assert [s.ts_close for s in first if s.kind == "setup"] == [et_ns(f"{DATE} 10:05")]
