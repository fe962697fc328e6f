"""Setup ``divergence_fade`` (plugins/rsengine_rs/fade.py): each gate and
threshold on constructed sessions at, just inside and just outside its
boundary; both gates required; the SIMULATED demo's scenario day; and on real
micros an independent pandas computation of its rules from the recorded bars.
"""

from __future__ import annotations

import collections
import json
import math
import types

import numpy as np
import pandas as pd
import pytest
import structlog
from conftest import et_ns
from rsengine_rs.fade import DivergenceFade
from test_desk import DATE, FakeBatch, session
from test_rider_realdata import prepare, true_range_atr
from test_rs_replay import CONFIG as MICROS_CONFIG
from test_rs_replay import data_dir, need_data

import rsengine
from rsengine.config import Config, load_config, load_default
from rsengine.host.plugins import collect_registries, make_plugin_manager
from rsengine.host.runner import build_engine

SYMBOLS = ("ES", "NQ", "$TICK", "$ADD")
CONFIG_DICT = {
    "instruments": {s: {} for s in SYMBOLS}, "group": ["ES", "NQ"], "risk": {"budget": 5000}
}  # fmt: skip
CONFIG = Config.from_dict(CONFIG_DICT)
CLOCKS = ["10:00", "10:05", "10:10", "10:15", "10:20"]
# ES (open, high, low, close): new highs at 10:05 and 10:10, a lower bar at 10:15
ES_BARS = [
    (100.0, 100.5, 99.5, 100.25),
    (100.25, 101.0, 100.0, 100.75),
    (100.75, 101.5, 100.5, 101.25),  # the push to the session high 101.5: exhaustion goes here
    (101.25, 101.25, 100.75, 101.0),  # the entry bar: $TICK crosses below 0
    (101.0, 101.1, 100.6, 100.8),
]
EXHAUSTED, ENTRY = 2, 3


class Day:
    """ES leads the group by 0.6 on every bar; no exhaustion sign and no
    internals turn until a test sets one. NQ is the quiet other member."""

    def __init__(self, lead=0.6):
        n, k = len(CLOCKS), len(SYMBOLS)
        self.ts = np.array([et_ns(f"{DATE} {c}") for c in CLOCKS], np.int64)
        self.present = np.ones((n, k), bool)
        ohlc = np.full((n, k, 4), 200.0)
        ohlc[:, 0] = ES_BARS
        ohlc[:, 2:] = np.nan  # internals: no feed until tick()/add()
        self.present[:, 2:] = False
        self.open, self.high, self.low, self.close = (ohlc[:, :, i] for i in range(4))
        full = lambda v: np.full((n, k), v, float)  # noqa: E731
        self.values = {
            "lead": full(-0.3), "rs_pct": full(0.4), "rsi": full(50.0), "vol_ratio": full(1.5),
            "vwap": full(99.0), "or_high": full(99.5), "or_low": full(98.0),
            "vol_expanding": np.zeros((n, k), bool),
        }  # fmt: skip
        self.values["lead"][:, 0] = lead
        self.values["rs_pct"][:, 0] = 1.0
        self.values["rsi"][:, 0] = [70.0, 75.0, 80.0, 70.0, 65.0]
        self.daily: dict = {}

    def tick(self, *values):
        return self._internal(2, values)

    def add(self, *values):
        return self._internal(3, values)

    def _internal(self, col, values):
        v = np.array(values, float)
        self.present[:, col] = np.isfinite(v)
        self.open[:, col] = self.high[:, col] = self.low[:, col] = self.close[:, col] = v
        return self

    def turn(self):
        """$TICK +200 on the bars before the entry bar, -100 from it on."""
        return self.tick(200, 200, 200, -100, -150)

    def set(self, name, row, value, col=0):
        target = getattr(self, name) if name in ("open", "high", "low", "close") else None
        (self.values[name] if target is None else target)[row, col] = value
        return self

    def text(self, name, row, value):
        n, k = self.present.shape
        self.values.setdefault(name, np.full((n, k), "", object))[row, :] = value
        return self

    def prior_session(self, high, low):
        self.daily["ES"] = types.SimpleNamespace(dates=["x"], high=[high], low=[low])
        return self

    def mirrored(self):
        """The same day for a laggard: prices reflected about 100, lead, RSI and
        the internals reversed."""
        m = Day()
        for name in ("open", "close"):
            getattr(m, name)[:, 0] = 200 - getattr(self, name)[:, 0]
        m.high[:, 0], m.low[:, 0] = 200 - self.low[:, 0], 200 - self.high[:, 0]
        for col in (2, 3):
            m._internal(col, -np.where(self.present[:, col], self.close[:, col], np.nan))
        m.values = {k: v.copy() for k, v in self.values.items()}
        for name in ("lead", "rs_pct"):
            m.values[name][:, 0] = -self.values[name][:, 0]
        m.values["rsi"][:, 0] = 100 - self.values["rsi"][:, 0]
        for name in ("vwap",):
            m.values[name][:, 0] = 200 - self.values[name][:, 0]
        m.values["or_low"][:, 0] = 200 - self.values["or_high"][:, 0]
        m.values["or_high"][:, 0] = 200 - self.values["or_low"][:, 0]
        return m

    def batch(self, lo=0, hi=None):
        hi = len(self.ts) if hi is None else hi
        return FakeBatch(
            symbols=SYMBOLS, ts_close=self.ts[lo:hi], present=self.present[lo:hi],
            open=self.open[lo:hi], high=self.high[lo:hi], low=self.low[lo:hi],
            close=self.close[lo:hi],
        )  # fmt: skip

    def state(self, lo=0, hi=None, sess=None):
        return types.SimpleNamespace(
            session=sess or session(), values={k: v[lo:hi] for k, v in self.values.items()},
            group=(0, 1), group_names=("ES", "NQ"), daily=self.daily, tz="America/New_York",
            symbols=SYMBOLS,
        )  # fmt: skip


def fade(config=CONFIG, **settings):
    """The setup with a desk of its own, as the engine would build it."""
    log = structlog.get_logger("test")
    context = types.SimpleNamespace(name="divergence_fade", log=log, config=config, shared={},
                                    symbols=SYMBOLS, data_labels=("TEST",))  # fmt: skip
    return DivergenceFade(settings, context)


def signals(day: Day, cuts=(), **settings):
    setup, sess = fade(**settings), session()
    edges = [0, *cuts, len(day.ts)]
    out = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        out += setup.evaluate_batch(day.batch(lo, hi), day.state(lo, hi, sess))
    return out


def entries(day: Day, **settings):
    return [s for s in signals(day, **settings) if s.kind == "setup"]


def no_new_high(day: Day) -> Day:
    """10:10 and 10:15 reach 10:05's high 101.0 and go no higher."""
    return day.set("high", EXHAUSTED, 101.0).set("high", ENTRY, 101.0)


def rsi_divergence(day: Day, rsi=74.0) -> Day:
    """At 10:10 a new high (101.5 > 101.0) with RSI below the 75 of 10:05."""
    return day.set("rsi", EXHAUSTED, rsi)


# ---------------------------------------------------------------- the whole rule


def test_a_leader_exhausted_with_tick_turning_is_faded_short():
    (sig,) = entries(rsi_divergence(Day()).turn())
    assert (sig.instrument, sig.side, sig.entry) == ("ES", "short", 101.0)
    assert sig.ts_close == et_ns(f"{DATE} 10:15")
    assert sig.stop == 101.75  # one tick above the session high 101.5
    # lead 0 with the others unchanged: 101 x (1 + 0.4 %) / (1 + 1 %) = 100.4 -> 100.5
    assert sig.target == 100.5 and sig.details["target_rule"] == "lead 0 (group mean)"
    assert sig.confirmations == ("rs", "tick")
    assert sig.details["stack"]["add"] == "unknown: no $ADD feed"
    exhaustion = sig.details["exhaustion"]
    assert exhaustion["held"] and exhaustion["count"] == 1
    assert exhaustion["signs"] == {
        "rsi_divergence": {
            "ts_close": "2025-03-06T15:10:00Z", "high": 101.5, "prior_high": 101.0,
            "rsi": 74.0, "rsi_at_prior_high": 75.0,
        }
    }  # fmt: skip
    internals = sig.details["internals"]
    assert internals["held"] and internals["tick"] == "-100, bar before +200: crossed below 0"
    assert internals["add"] == "no $ADD feed"
    assert "leads the group by +0.60%" in sig.reason and "$TICK crossed below 0" in sig.reason


def test_a_laggard_is_faded_long_the_mirror_image():
    (sig,) = entries(rsi_divergence(Day()).turn().mirrored())
    assert (sig.side, sig.entry, sig.stop, sig.target) == ("long", 99.0, 98.25, 99.5)
    assert set(sig.details["exhaustion"]["signs"]) == {"rsi_divergence"}
    assert sig.details["exhaustion"]["signs"]["rsi_divergence"]["prior_low"] == 99.0
    assert sig.details["internals"]["tick"] == "+100, bar before -200: crossed above 0"


def test_exhaustion_alone_is_no_signal():
    assert entries(rsi_divergence(Day()).tick(200, 200, 200, 150, 100)) == []


def test_internals_turning_alone_is_no_signal():
    assert entries(Day().turn()) == []


def test_divergence_alone_is_no_signal():
    assert entries(Day().tick(200, 200, 200, 200, 200)) == []


# ---------------------------------------------------------------- divergence


@pytest.mark.parametrize(("lead", "fires"), [(0.5, True), (0.51, True), (0.49, False)])
def test_the_divergence_must_reach_min_divergence(lead, fires):
    assert bool(entries(rsi_divergence(Day(lead=lead)).turn())) is fires


@pytest.mark.parametrize(("lead", "fires"), [(0.5, True), (0.49, False)])
def test_the_exhaustion_bar_itself_must_have_the_divergence(lead, fires):
    day = rsi_divergence(Day()).turn().set("lead", EXHAUSTED, lead)
    assert bool(entries(day)) is fires


def test_min_divergence_is_a_setting():
    assert entries(rsi_divergence(Day(lead=0.6)).turn(), min_divergence=0.61) == []
    assert entries(rsi_divergence(Day(lead=0.3)).turn(), min_divergence=0.3)


# ---------------------------------------------------------------- the four exhaustion signs


@pytest.mark.parametrize(("rsi", "fires"), [(74.99, True), (75.0, False), (75.01, False)])
def test_rsi_divergence_needs_rsi_below_the_previous_highs(rsi, fires):
    assert bool(entries(rsi_divergence(Day(), rsi).turn())) is fires


def test_rsi_divergence_needs_a_new_session_high():
    assert entries(rsi_divergence(Day()).turn()) != []
    assert entries(no_new_high(rsi_divergence(Day()).turn())) == []


@pytest.mark.parametrize(("ratio", "fires"), [(0.99, True), (1.0, False), (1.01, False)])
def test_volume_fading_on_the_new_high(ratio, fires):
    found = entries(Day().set("vol_ratio", EXHAUSTED, ratio).turn())
    assert bool(found) is fires
    if fires:
        sign = found[0].details["exhaustion"]["signs"]["volume_fading"]
        assert (sign["vol_ratio"], sign["below"], sign["high"]) == (0.99, 1.0, 101.5)


def test_volume_fading_threshold_is_a_setting_and_needs_a_new_high():
    day = Day().set("vol_ratio", EXHAUSTED, 1.2).turn()
    assert entries(day) == [] and entries(day, fading_volume=1.25)
    assert entries(no_new_high(day), fading_volume=1.25) == []


@pytest.mark.parametrize(
    ("close", "low", "fires"),
    [
        (100.5, 100.5, True),  # below 10:05's close 100.75, in the lower half (mid 101.0)
        (100.74, 100.5, True),
        (100.75, 100.5, False),  # at the prior close
        (100.5, 99.0, False),  # below the prior close but in the upper half (mid 100.25)
        (100.25, 99.0, False),  # at the midpoint
        (100.24, 99.0, True),
    ],
)
def test_failed_new_high_closes_below_the_prior_close_and_in_its_lower_half(close, low, fires):
    day = Day().set("close", EXHAUSTED, close).set("low", EXHAUSTED, low).turn()
    day.set("open", EXHAUSTED, close)  # keeps the bar out of a rejection
    found = entries(day)
    assert bool(found) is fires
    if fires:
        sign = found[0].details["exhaustion"]["signs"]["failed_new_extreme"]
        assert (sign["close"], sign["prior_close"], sign["high"]) == (close, 100.75, 101.5)


def test_failed_new_high_needs_the_new_high():
    day = Day().set("close", EXHAUSTED, 100.5).set("open", EXHAUSTED, 100.5).turn()
    assert entries(day) != [] and entries(no_new_high(day)) == []


@pytest.mark.parametrize(
    ("level", "fires"),
    [(101.3, True), (101.49, True), (101.5, False), (101.25, False), (101.26, True)],
)
def test_rejection_wick_above_vwap_with_open_and_close_below(level, fires):
    # 10:10: open 100.75, high 101.5, close 101.25
    found = entries(Day().set("vwap", EXHAUSTED, level).turn())
    assert bool(found) is fires
    if fires:
        sign = found[0].details["exhaustion"]["signs"]["rejection"]
        assert (sign["level"], sign["price"], sign["high"]) == ("VWAP", level, 101.5)
        assert (sign["open"], sign["close"]) == (100.75, 101.25)


def test_rejection_needs_the_open_inside_too():
    day = Day().set("vwap", EXHAUSTED, 101.3).set("open", EXHAUSTED, 101.3).turn()
    assert entries(day) == []


def test_rejection_at_the_opening_range_and_prior_session_highs_first_level_recorded():
    day = Day().set("or_high", EXHAUSTED, 101.4).turn()
    (sig,) = entries(day)
    assert sig.details["exhaustion"]["signs"]["rejection"]["level"] == "opening-range high"
    day.prior_session(high=101.35, low=90.0).set("vwap", EXHAUSTED, 101.3)
    (sig,) = entries(day)
    rejection = sig.details["exhaustion"]["signs"]["rejection"]
    assert (rejection["level"], rejection["price"]) == ("prior session high", 101.35)


def test_min_exhaustion_counts_distinct_signs():
    one = rsi_divergence(Day()).turn()
    assert entries(one, min_exhaustion=2) == []
    two = rsi_divergence(Day()).set("vol_ratio", EXHAUSTED, 0.5).turn()
    (sig,) = entries(two, min_exhaustion=2)
    assert sig.details["exhaustion"]["count"] == 2


@pytest.mark.parametrize(("bars", "fires"), [(2, True), (3, True), (1, False)])
def test_exhaustion_counts_within_the_last_exhaustion_bars(bars, fires):
    # the sign at 10:10, the turn at 10:15: two bars of the instrument
    assert bool(entries(rsi_divergence(Day()).turn(), exhaustion_bars=bars)) is fires


def test_the_window_counts_the_instruments_own_bars():
    day = rsi_divergence(Day()).tick(200, 200, 200, 200, -100)  # the turn at 10:20
    assert entries(day, exhaustion_bars=2) == []
    (sig,) = entries(day, exhaustion_bars=3)
    assert sig.ts_close == et_ns(f"{DATE} 10:20")
    day.present[ENTRY, 0] = False  # ES has no 10:15 bar: 10:10 is its bar before 10:20
    day.close[ENTRY, 0] = day.high[ENTRY, 0] = day.low[ENTRY, 0] = day.open[ENTRY, 0] = np.nan
    (sig,) = entries(day, exhaustion_bars=2)
    assert sig.ts_close == et_ns(f"{DATE} 10:20")


# ---------------------------------------------------------------- internals


@pytest.mark.parametrize(
    ("ticks", "at"),
    [
        ((200, 200, 200, -100, -150), "10:15"),
        ((200, 200, 0, -1, -150), "10:15"),  # from 0 counts as crossing
        ((200, 200, 200, 0, 0), None),  # 0 is not below
        ((200, 200, 200, 1, -1), "10:20"),
        ((-50, -50, -50, -100, -150), None),  # below 0 all along: no turn
    ],
)
def test_tick_must_cross_below_zero(ticks, at):
    found = entries(rsi_divergence(Day()).tick(*ticks))
    assert [s.ts_close for s in found] == ([et_ns(f"{DATE} {at}")] if at else [])


def test_add_crossing_confirms_without_a_tick_feed():
    (sig,) = entries(rsi_divergence(Day()).add(300, 200, 50, -10, -20))
    assert sig.details["internals"]["add"] == "-10, bar before +50: crossed below 0"
    assert sig.details["internals"]["tick"] == "no $TICK feed"
    assert sig.details["stack"]["add"].startswith("held")  # breadth behind the fade


@pytest.mark.parametrize(("add", "fires"), [(250, True), (300, False)])
def test_add_slope_turning_confirms(add, fires):
    day = rsi_divergence(Day()).add(100, 200, 300, add, add)  # slope +100, then -50 or 0
    found = entries(day, add_slope_bars=1)
    assert bool(found) is fires
    if fires:
        assert found[0].details["internals"]["add_slope"].endswith("crossed below 0")


def test_a_turn_the_internals_contradict_waits_for_a_clean_one():
    # $ADD's slope turns at 10:15 while $TICK and $ADD are both still up (a
    # contradiction: size 0); $TICK crosses at 10:20
    day = rsi_divergence(Day()).add(100, 200, 300, 250, 240).tick(200, 200, 200, 100, -50)
    (sig,) = entries(day, add_slope_bars=1)
    assert sig.ts_close == et_ns(f"{DATE} 10:20") and sig.size_fraction > 0


def test_without_any_internals_feed_the_fade_does_not_fire():
    assert entries(rsi_divergence(Day())) == []


def test_internals_required_false_is_the_exhaustion_gate_alone():
    (sig,) = entries(rsi_divergence(Day()), internals_required=False)
    assert sig.ts_close == et_ns(f"{DATE} 10:10")  # at the exhaustion bar itself
    assert sig.details["internals"]["required"] is False
    assert sig.confirmations == ("rs",)


# ---------------------------------------------------------------- regime, stop, target, exit


def test_no_fade_in_a_trend_regime_unless_allowed():
    day = rsi_divergence(Day()).turn().text("regime", ENTRY, "trend")
    assert entries(day) == []
    assert entries(day, skip_in_trend=False)
    assert entries(rsi_divergence(Day()).turn().text("regime", ENTRY, "chop"))


def test_no_entry_in_an_event_blackout():
    day = rsi_divergence(Day()).turn().text("event_window", ENTRY, "blocked")
    assert entries(day) == []
    (sig,) = entries(day.add(100, 100, 100, 100, -50))  # $ADD crosses at 10:20
    assert sig.ts_close == et_ns(f"{DATE} 10:20")


def test_stop_is_capped_at_one_atr():
    day = rsi_divergence(Day()).turn()
    for name, value in zip(("open", "high", "low", "close"), (101.0, 101.1, 100.9, 101.0),
                           strict=True):  # fmt: skip
        day.set(name, ENTRY, value)
    (sig,) = entries(day, atr_bars=1)  # true range of 10:15: 101.25 - 100.9 = 0.35
    assert sig.stop == 101.25  # 101.0 + one tick (floor(0.35 / 0.25))
    assert sig.details["stop_rule"] == "capped at 1 ATR (0.35)"
    assert sig.details["extreme"] == 101.5


def test_target_is_vwap_when_nearer_than_the_lead_zero_price():
    (sig,) = entries(rsi_divergence(Day()).turn().set("vwap", ENTRY, 100.75))
    assert (sig.target, sig.details["target_rule"]) == (100.75, "session VWAP")
    (sig,) = entries(rsi_divergence(Day()).turn().set("vwap", ENTRY, 101.5))  # above: not
    assert sig.target == 100.5


def test_in_normalized_mode_the_lead_zero_price_is_in_atr_units():
    config = Config.from_dict({**CONFIG_DICT, "indicators": {"group": {"mode": "normalized"}}})
    day = rsi_divergence(Day()).turn()
    day.values["atr_pct"] = np.full(day.present.shape, 0.5)
    (sig,) = [s for s in fade(config).evaluate_batch(day.batch(), day.state()) if s.kind == "setup"]
    # RS% 1.0 - lead 0.6 x ATR% 0.5 = 0.7: 101 x 1.007 / 1.01 = 100.7 -> 100.75
    assert sig.target == 100.75


@pytest.mark.parametrize(("lead", "exits"), [(0.81, True), (0.8, False)])
def test_invalidated_when_the_divergence_extends_by_invalidate(lead, exits):
    day = rsi_divergence(Day()).turn().set("lead", 4, lead)  # entry lead 0.6 + 0.2
    out = signals(day)
    assert [s.kind for s in out] == (["setup", "exit"] if exits else ["setup"])
    if exits:
        assert out[1].details["exit"] == "invalidated" and out[1].details["exit_price"] == 100.8


def test_one_fade_per_instrument_and_side_per_session():
    day = rsi_divergence(Day()).turn().add(100, 100, 100, 100, -50)  # a second turn at 10:20
    assert [s.ts_close for s in entries(day)] == [et_ns(f"{DATE} 10:15")]


@pytest.mark.parametrize("cuts", [(1,), (2,), (3,), (4,), (1, 2, 3, 4), (2, 4)])
def test_any_cut_of_the_session_gives_the_same_signals(cuts):
    day = rsi_divergence(Day()).turn().set("vol_ratio", EXHAUSTED, 0.5).set("lead", 4, 0.9)
    whole = [s.to_json() for s in signals(day)]
    assert len(whole) == 2
    assert [s.to_json() for s in signals(day, cuts)] == whole


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_exhaustion": 5}, "min_exhaustion must be at most 4"),
        ({"min_exhaustion": 0}, "min_exhaustion must be a whole number"),
        ({"min_divergence": 0}, "min_divergence must be"),
        ({"exhaustion_bars": 0}, "exhaustion_bars must be"),
        ({"skip_in_trend": "yes"}, "skip_in_trend must be true or false"),
        ({"internals_required": 1}, "internals_required must be true or false"),
        ({"min_lead": 0.5}, "unknown setting"),
    ],
)
def test_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        fade(**settings)


# ---------------------------------------------------------------- the SIMULATED demo


class _Register:
    """The setup for a run whose installed plugins do not register it yet."""

    @rsengine.hookimpl
    def rsengine_register_setups(self, registry):
        registry.add("divergence_fade", DivergenceFade, "trade: fade (test registration)")


class _Signals:
    def __init__(self):
        self.kept = []

    @rsengine.hookimpl
    def rsengine_signal_emitted(self, signal):
        self.kept.append(signal)


def run_with_fade(config):
    """Run ``config``, the fade registered; (engine, summary, every signal)."""
    pm = make_plugin_manager()
    if "divergence_fade" not in collect_registries(pm)["setups"].names():
        pm.register(_Register(), name="fade-registration")
    found = _Signals()
    pm.register(found, name="fade-signals")
    engine = build_engine(config, pm)
    summary = engine.run()
    assert summary.failed is None
    return engine, summary, found.kept


def test_demo_fades_nq_on_the_divergence_fade_day_with_contracts(tmp_path):
    pytest.importorskip("pandas_market_calendars")
    config = load_default([f"outputs.record.dir={tmp_path}", "setups.divergence_fade={}"])
    engine, summary, found = run_with_fade(config)
    days = {d.session_date.isoformat(): d.scenario for d in engine.sources[0][2].market.sessions()}
    fades = [s for s in found if s.name == "divergence_fade" and s.kind == "setup"]
    on_day = [s for s in fades if days[s.session_date] == "divergence_fade"]
    assert [(s.instrument, s.side) for s in on_day] == [("NQ", "short")]
    sig = on_day[0]
    assert sig.contracts > 0 and sig.details["internals"]["held"]
    assert sig.details["exhaustion"]["count"] >= 1 and sig.source == "SIMULATED"
    assert sig.stop > sig.entry > sig.target
    exits = [s for s in found if s.kind == "exit" and s.details["entry_id"] == sig.id]
    assert len(exits) == 1


# ---------------------------------------------------------------- real micros

FIRST, LAST = "2024-01-02", "2024-12-31"
GROUP = ["MES", "MNQ", "M2K"]  # in group order (ES, NQ, RTY)
TICK = {"MES": 0.25, "MNQ": 0.25, "M2K": 0.1}
POINT_VALUE = {"MES": 5.0, "MNQ": 2.0, "M2K": 5.0}
RTH_OPEN, LAST_ENTRY = 9 * 60 + 30, 15 * 60 + 30


@pytest.fixture(scope="module")
def micros(tmp_path_factory):
    """A year of real micros with the fade on the exhaustion gate alone (the
    micros have no $TICK or $ADD)."""
    need_data()
    out = tmp_path_factory.mktemp("fade")
    overrides = [
        f"sources.csv.start={FIRST}",
        f"sources.csv.end={LAST}",
        f"outputs.record.dir={out}",
        "outputs.record.format=csv",
        "setups={divergence_fade: {internals_required: false}}",
    ]
    env = {"RSENGINE_DATA_DIR": str(data_dir())}
    _, summary, _ = run_with_fade(load_config(MICROS_CONFIG, overrides=overrides, env=env))
    bars = pd.read_csv(out / "bars.csv", low_memory=False)
    recorded = [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]
    return prepare(bars), [s for s in recorded if s["name"] == "divergence_fade"], summary


def fade_candidates(b: pd.DataFrame) -> pd.DataFrame:
    """The fade's first bar per session, instrument and side, with pandas."""
    found = []
    for symbol in GROUP:
        g = b[b["symbol"] == symbol].sort_values("ns").copy()
        g["atr14"] = true_range_atr(g)
        prior = prior_extremes(g)
        rth = g[(g["clock"] > RTH_OPEN) & (g["clock"] <= g["rth_end"])].copy()
        for d, side in ((1, "short"), (-1, "long")):
            x = rth.copy()
            by = x.groupby("session")
            reach = (x["high"] if d > 0 else x["low"]) * d
            x["best"] = reach.groupby(x["session"]).cummax()
            x["prior"] = x["best"].groupby(x["session"]).shift()
            new = reach > x["prior"]
            setter = x["rsi"].where(new | x["prior"].isna())
            x["prior_rsi"] = setter.groupby(x["session"]).ffill().groupby(x["session"]).shift()
            prev_close = by["close"].shift()
            mid = (x["high"] + x["low"]) / 2
            body = np.maximum(x["open"] * d, x["close"] * d)
            nearer = np.minimum if d > 0 else np.maximum  # below both (above, a laggard)
            levels = [
                x["session"].map(prior["high" if d > 0 else "low"]),
                x["or_high" if d > 0 else "or_low"],
                x["vwap"],
            ]
            signs = {
                "rsi_divergence": new & (x["rsi"] * d < x["prior_rsi"] * d),
                "volume_fading": new & (x["vol_ratio"] < 1.0),
                "rejection": np.logical_or.reduce(
                    [(reach > lv * d) & (body < lv * d) for lv in levels]
                ),
                "failed_new_extreme": new & (x["close"] * d < nearer(prev_close, mid) * d),
            }  # fmt: skip
            diverging = x["lead"] * d >= 0.5 - 1e-9
            x["pos"] = by.cumcount()
            seen = 0
            for held in signs.values():
                last = x["pos"].where(held & diverging).groupby(x["session"]).ffill()
                seen = seen + (x["pos"] - last < 6).astype(int)
            ok = diverging & (seen >= 1) & (x["regime"] != "trend")
            ok &= (x["clock"] <= LAST_ENTRY) & (x["clock"] < x["rth_end"])
            ok &= x["event_window"] != "blocked"
            hits = x[ok].groupby("session").head(1)
            for _, row in hits.iterrows():
                found.append(_trade(row, symbol, d, side))
    return pd.DataFrame(found).sort_values(["ns", "col", "d"], ascending=[True, True, False])


def prior_extremes(g: pd.DataFrame) -> pd.DataFrame:
    """Per session: high and low of the last completed session before it. A
    13:00 ET holiday halt completes none: its bars count to the next trade
    date (DOMAIN.md §2)."""
    mcal = pytest.importorskip("pandas_market_calendars")
    days = sorted(g["session"].unique())
    schedule = mcal.get_calendar("CME Globex Equity").schedule(days[0], days[-1])
    closes = schedule["market_close"].dt.tz_convert("America/New_York")
    halted = {t.date() for t in closes.index[(closes.dt.hour * 60 + closes.dt.minute) < 795]}
    trade = pd.Series(days, index=days).where(lambda x: ~x.isin(halted)).bfill()
    extremes = g.groupby(g["session"].map(trade)).agg(high=("high", "max"), low=("low", "min"))
    completed = extremes.shift()  # the trade date before each trade date
    return completed.reindex(trade.values).set_axis(days)


def _trade(row, symbol, d, side) -> dict:
    sign, tick, entry = -d, TICK[symbol], row["close"]
    raw = row["best"] * d + d * tick
    stop = raw
    if math.isfinite(row["atr14"]) and (entry - raw) * sign > row["atr14"] + 1e-9:
        stop = entry - sign * math.floor(row["atr14"] / tick + 1e-9) * tick
    reversion = entry * (1 + (row["rs_pct"] - row["lead"]) / 100) / (1 + row["rs_pct"] / 100)
    choices = [reversion]
    if (row["vwap"] - entry) * sign > 1e-9:
        choices.append(row["vwap"])
    target = min(choices, key=lambda p: abs(p - entry))
    fraction = 0.5 if row["vol_expanding"] else 0.25  # rs (+ volume): no internals
    if row["regime"] == "chop":
        fraction = min(fraction, 0.25)
    if row["afternoon"]:
        fraction *= 0.5
    contracts = math.floor(500 * fraction / (abs(entry - stop) * POINT_VALUE[symbol]) + 1e-9)
    return {
        "ns": int(row["ns"]), "symbol": symbol, "col": GROUP.index(symbol), "d": d,
        "side": side, "entry": entry, "stop": round(round(stop / tick) * tick, 10),
        "target": round(round(target / tick) * tick, 10), "contracts": contracts,
        "lead": row["lead"], "session": row["session"],
    }  # fmt: skip


def with_max_trades(c: pd.DataFrame, max_trades: int = 3) -> pd.DataFrame:
    """The desk's per-session limit: entries with contracts beyond it are refused."""
    sized = c["contracts"] > 0
    before = sized.groupby(c["session"]).cumsum() - sized
    return c[~sized | (before < max_trades)]


@pytest.fixture(scope="module")
def candidates(micros):
    return fade_candidates(micros[0])


def test_fade_entries_on_real_micros_match_pandas(micros, candidates):
    _, recorded, summary = micros
    want = with_max_trades(candidates)
    got = [s for s in recorded if s["kind"] == "setup"]
    assert len(want) > 100  # on the exhaustion gate alone it fires often
    got_rows = [(s["ts_close"], s["instrument"], s["side"]) for s in got]
    assert got_rows == list(zip(want["ns"], want["symbol"], want["side"], strict=True))
    for s, (_, w) in zip(got, want.iterrows(), strict=True):
        assert (s["entry"], s["stop"], s["target"]) == pytest.approx(
            (w["entry"], w["stop"], w["target"]), abs=1e-9
        ), (s, w)
        assert s["contracts"] == w["contracts"], (s, w)
    assert summary.metrics["trades"]["refused_max_trades"] == len(candidates) - len(want)


def test_every_real_fade_exit_matches_pandas(micros, candidates):
    b, recorded, _ = micros
    want = with_max_trades(candidates)
    want = want[want["contracts"] > 0].set_index(["ns", "symbol", "side"])
    days = dict(iter(b.groupby(["symbol", "session"])))
    entries = {s["id"]: s for s in recorded if s["kind"] == "setup" and s["contracts"] > 0}
    exits = [s for s in recorded if s["kind"] == "exit"]
    assert sorted(e["details"]["entry_id"] for e in exits) == sorted(entries)
    hows = collections.Counter()
    for e in exits:
        entry = entries[e["details"]["entry_id"]]
        c = want.loc[(entry["ts_close"], entry["instrument"], entry["side"])]
        ns, how, price = expected_exit(days[(entry["instrument"], c["session"])], entry, c)
        assert (e["ts_close"], e["details"]["exit"]) == (ns, how), (entry, e)
        assert e["details"]["exit_price"] == pytest.approx(price, abs=1e-9)
        hows[how] += 1
    assert set(hows) == {"stop", "target", "invalidated", "session_end"}, hows


def expected_exit(s, entry, c) -> tuple[int, str, float]:
    """In the instrument's session ``s`` from the bar after the entry: stop, then
    target, then the divergence extending 0.2 beyond the entry's, then the RTH
    close."""
    s = s[(s["ns"] > entry["ts_close"]) & (s["clock"] <= s["rth_end"])].sort_values("ns")
    sign = 1 if entry["side"] == "long" else -1
    stop_hit = (s["low"] if sign > 0 else s["high"]) * sign <= entry["stop"] * sign
    target_hit = (s["high"] if sign > 0 else s["low"]) * sign >= entry["target"] * sign
    extended = s["lead"] * -sign > c["lead"] * -sign + 0.2 + 1e-9
    last = s["clock"] == s["rth_end"]
    s = s.assign(stop=stop_hit, target=target_hit, invalidated=extended, session_end=last)
    row = s[s[["stop", "target", "invalidated", "session_end"]].any(axis=1)].iloc[0]
    if row["stop"]:
        through = (row["open"] - entry["stop"]) * sign < 0
        return int(row["ns"]), "stop", row["open"] if through else entry["stop"]
    if row["target"]:
        beyond = (row["open"] - entry["target"]) * sign > 0
        return int(row["ns"]), "target", row["open"] if beyond else entry["target"]
    return int(row["ns"]), "invalidated" if row["invalidated"] else "session_end", row["close"]
