"""Setup ``context`` (plugins/rsengine_rs/context.py): DOMAIN.md §4 items 1-6.

Constructed batches go through a minimal stand-in for the engine's MarketState;
each signal must fire at its threshold and not just short of it. The last test
runs the SIMULATED market over its default scenario sequence through the whole
engine and checks that every context signal fires on its scenario day.
"""

import collections
import datetime as dt
import json
import math
import types

import numpy as np
import pytest
from conftest import MIN, et_ns
from rsengine_rs.context import ContextSignals, _Live

import rsengine
from rsengine.config import Config
from rsengine.core import SliceBatch
from rsengine.model import iso_utc
from rsengine.state import SessionInfo

SYMBOLS = ("ES", "NQ", "RTY", "YM", "ZN")
COL = {s: i for i, s in enumerate(SYMBOLS)}
GROUP = ("ES", "NQ", "RTY", "YM")
CONFIG = Config.from_dict(
    {"instruments": {s: {} for s in SYMBOLS}, "group": list(GROUP)},
)
COLUMNS = ("rs_pct", "rs_norm", "regime", "event_window")


def make_context(symbols=SYMBOLS, config=CONFIG, bar_ns=5 * MIN, columns=COLUMNS):
    return types.SimpleNamespace(
        symbols=symbols, config=config, bar_ns=bar_ns, columns=columns, data_labels=("TEST",)
    )


def setup(settings=None, **context):
    return ContextSignals(dict(settings or {}), make_context(**context))


def session(date: str) -> SessionInfo:
    day = dt.date.fromisoformat(date)
    prev = (day - dt.timedelta(days=1)).isoformat()
    return SessionInfo(
        date,
        et_ns(f"{prev} 18:00"),
        et_ns(f"{date} 17:00"),
        et_ns(f"{date} 09:30"),
        et_ns(f"{date} 16:00"),
    )


class Day:
    """One session's rows: bar close clocks (ET), per-symbol columns."""

    def __init__(self, date, clocks, symbols=SYMBOLS, **rs):
        self.date, self.symbols = date, symbols
        self.session = session(date)
        n, k = len(clocks), len(symbols)
        self.ts = np.array([et_ns(f"{date} {c}") for c in clocks], np.int64)
        self.present = np.ones((n, k), np.bool_)
        self.high = np.full((n, k), 100.0)
        self.close = np.full((n, k), 100.0)
        self.values = {"rs_pct": np.full((n, k), np.nan)}
        for symbol, v in rs.items():
            self.set("rs_pct", symbol, v)

    def set(self, column, symbol, v):
        """Set a value column (or 'high'/'close'/'present') of one symbol."""
        n, k = len(self.ts), len(self.symbols)
        i = self.symbols.index(symbol)
        if column in ("high", "close", "present"):
            getattr(self, column)[:, i] = v
        else:
            dtype = object if column in ("regime", "event_window") else np.float64
            fill = "" if dtype is object else np.nan
            self.values.setdefault(column, np.full((n, k), fill, dtype))[:, i] = v
        return self

    def text(self, column, v):
        """A text column with the same value in every slot of a row."""
        n, k = len(self.ts), len(self.symbols)
        self.values[column] = np.repeat(np.asarray(v, object).reshape(n, 1), k, axis=1)
        return self

    def batch(self) -> SliceBatch:
        n, k = self.present.shape
        price = np.where(self.present, self.close, np.nan)
        return SliceBatch(
            self.symbols,
            self.ts,
            self.present,
            np.where(self.present, self.ts[:, None] - 5 * MIN, -1),
            price,
            np.where(self.present, self.high, np.nan),
            price,
            price,
            np.where(self.present, 1.0, np.nan),
            price,
            self.present.astype(np.int64),
            np.zeros((n, k), np.uint8),
        )


class State:
    """What the setup reads of rsengine.state.MarketState."""

    def __init__(self, symbols=SYMBOLS, group=GROUP):
        self.symbols = symbols
        self.group = tuple(symbols.index(g) for g in group)
        self.group_names = group
        self.session = None
        self.values = {}
        self.daily = {}
        self.tz = "America/New_York"

    def prior_high(self, symbol, high):
        self.daily[symbol] = types.SimpleNamespace(dates=["x"], high=[high])


def feed(ctx, state, day, cuts=()):
    """Run one session through ``ctx``, cut into batches at row indices ``cuts``."""
    state.session = day.session
    batch = day.batch()
    edges = [0, *cuts, len(day.ts)]
    out = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        state.values = {name: v[lo:hi] for name, v in day.values.items()}
        out += ctx.evaluate_batch(batch.rows(lo, hi), state)
    return out


def run(day, settings=None, state=None, **context):
    ctx = setup(settings, **context)
    return feed(ctx, state or State(), day)


def names(signals):
    return [(s.name, s.side, s.instrument) for s in signals]


RTH = ["09:35", "09:40", "09:45"]


# ---------------------------------------------------------------- 1. NQ vs ES


def test_nq_vs_es_fires_at_the_spread_exactly():
    (sig,) = run(Day("2025-03-05", ["09:35"], NQ=0.7, ES=0.5))  # 0.7 - 0.5 < 0.2 in binary
    assert (sig.name, sig.side, sig.instrument, sig.kind) == ("nq_vs_es", "long", "NQ", "context")
    assert sig.reason == "NQ +0.70% vs ES +0.50% (+0.20): tech-led rally"
    assert sig.details["rs_nq"] == 0.7 and sig.details["threshold"] == 0.2
    assert sig.size_fraction == 0.0 and sig.contracts == 0 and sig.regime == "unknown"
    assert sig.details["actionable_until"] == iso_utc(et_ns("2025-03-05 10:35"))
    assert sig.details["timing_only"] is False
    assert sig.contract == "NQ 03-25" and sig.source == "TEST"
    json.loads(sig.to_json())


def test_nq_vs_es_short_and_near_misses():
    day = Day("2025-03-05", RTH, NQ=[0.4999, 0.0, -0.7], ES=[0.3, -0.2, -0.5])
    (sig,) = run(day)  # 0.1999 no; NQ at 0 is neither up nor down; then short
    assert (sig.name, sig.side, sig.ts_close) == ("nq_vs_es", "short", et_ns("2025-03-05 09:45"))
    assert sig.reason == "NQ -0.70% vs ES -0.50% (-0.20): tech-specific selling, weaker backdrop"
    # NQ down but ahead of ES is not tech selling; NQ up but behind ES is not a tech rally
    assert run(Day("2025-03-05", RTH[:2], NQ=[-0.1, 0.5], ES=[-0.4, 0.8])) == []


def test_only_rth_bars_and_once_per_session_per_variant():
    clocks = ["09:25", "09:30", "09:35", "09:40", "15:55", "16:00", "16:05"]
    spread = [0.5, 0.5, 0.1, 0.5, 0.5, -0.5, -0.5]
    nq = [0.6 if s > 0 else -0.6 for s in spread]
    es = [a - s for a, s in zip(nq, spread, strict=True)]
    signals = run(Day("2025-03-05", clocks, NQ=nq, ES=es))
    # 09:25 and 09:30 are not RTH (09:30 closes the pre-market bar); 16:00 is
    assert [(s.side, s.ts_close) for s in signals if s.name == "nq_vs_es"] == [
        ("long", et_ns("2025-03-05 09:40")),
        ("short", et_ns("2025-03-05 16:00")),
    ]
    ctx, state = setup(), State()
    first = feed(ctx, state, Day("2025-03-05", RTH, NQ=0.6, ES=0.3))
    again = feed(ctx, state, Day("2025-03-05", RTH, NQ=0.6, ES=0.3))  # same session
    nxt = feed(ctx, state, Day("2025-03-06", RTH, NQ=0.6, ES=0.3))
    assert (len(first), len(again), len(nxt)) == (1, 0, 1)


def test_event_window_blocks_and_regime_is_carried():
    day = Day("2025-03-05", RTH, NQ=0.6, ES=0.3)
    day.text("event_window", ["blocked", "blocked", "quality"])
    day.text("regime", ["event", "event", "trend"])
    (sig,) = run(day)
    assert sig.ts_close == et_ns("2025-03-05 09:45") and sig.regime == "trend"
    day.text("event_window", ["blocked"] * 3)
    assert run(day) == []


# ---------------------------------------------------------------- 2. RTY vs ES


def test_rty_vs_es_both_ways():
    (sig,) = run(Day("2025-03-05", ["09:35"], RTY=0.7, ES=0.5))  # 0.2 less a rounding
    assert (sig.name, sig.side, sig.instrument) == ("rty_vs_es", "long", "RTY")
    assert sig.reason == "RTY +0.70% vs ES +0.50% (+0.20): broad risk appetite"
    (sig,) = run(Day("2025-03-05", ["09:35"], RTY=-0.7, ES=-0.5))
    assert (sig.side, sig.reason) == ("short", "RTY -0.70% vs ES -0.50% (-0.20): risk-off warning")
    assert run(Day("2025-03-05", ["09:35"], RTY=0.4999, ES=0.3)) == []
    assert run(Day("2025-03-05", ["09:35"], RTY=0.2, ES=0.0)) == []  # ES flat: neither
    assert run(Day("2025-03-05", ["09:35"], RTY=-0.1, ES=0.1)) == []  # lagging an up day


def risk_off(date, on=True):
    return Day(date, RTH, RTY=-0.6 if on else -0.3, ES=-0.3)


def test_correction_warning_on_the_third_consecutive_risk_off_session():
    ctx, state = setup(), State()
    got = [names(feed(ctx, state, risk_off(d))) for d in ("2025-03-11", "2025-03-12")]
    assert got == [[("rty_vs_es", "short", "RTY")]] * 2  # two sessions: no warning yet
    third = feed(ctx, state, risk_off("2025-03-13"))
    assert names(third) == [
        ("rty_vs_es", "short", "RTY"),
        ("rty_correction_warning", "short", "RTY"),
    ]
    warning = third[1]
    assert warning.details["sessions"] == ["2025-03-11", "2025-03-12", "2025-03-13"]
    assert warning.ts_close == third[0].ts_close
    assert "3 sessions running" in warning.reason
    fourth = feed(ctx, state, risk_off("2025-03-14"))
    assert names(fourth) == [("rty_vs_es", "short", "RTY")]  # once per streak


def test_correction_streak_is_broken_by_a_session_without_risk_off():
    ctx, state = setup(), State()
    for d, on in (("2025-03-10", True), ("2025-03-11", True), ("2025-03-12", False)):
        feed(ctx, state, risk_off(d, on))
    out = [feed(ctx, state, risk_off(d)) for d in ("2025-03-13", "2025-03-14", "2025-03-17")]
    assert [len(o) for o in out] == [1, 1, 2]
    ctx = setup({"correction_sessions": 2})
    state = State()
    feed(ctx, state, risk_off("2025-03-10"))
    assert "rty_correction_warning" in [s.name for s in feed(ctx, state, risk_off("2025-03-11"))]


# ---------------------------------------------------------------- 3. unconfirmed high


def high_day(es_highs, rty_highs, clocks=("08:00", "09:35", "09:40", "09:45")):
    day = Day("2025-03-07", list(clocks))
    day.set("high", "ES", es_highs).set("high", "RTY", rty_highs)
    return day


def high_state(es=101.0, rty=50.0):
    state = State()
    state.prior_high("ES", es)
    state.prior_high("RTY", rty)
    return state


def test_unconfirmed_high_with_rty_exactly_at_its_prior_high():
    # overnight high 101.5 is the bar to beat in RTH: 101.5 ties, 101.75 is new
    day = high_day([101.5, 101.25, 101.5, 101.75], [49.0, 49.5, 50.0, 50.0])
    (sig,) = run(day, state=high_state())
    assert (sig.name, sig.side, sig.instrument) == ("unconfirmed_high", "short", "ES")
    assert sig.ts_close == et_ns("2025-03-07 09:45")
    assert sig.reason == (
        "ES new high 101.75 > 101.50 not confirmed by RTY (session high 50.00 <= prior "
        "session high 50.00): downgrade ES long breakouts"
    )
    assert sig.details["es_prior_high"] == 101.0 and sig.details["rty_session_high"] == 50.0


def test_unconfirmed_high_needs_a_new_high_over_the_prior_session_and_rty_below():
    # RTY went 0.05 above its prior high overnight: the ES high is confirmed
    assert (
        run(high_day([100.0, 101.5, 101.6, 101.7], [50.05, 49, 49, 49]), state=high_state()) == []
    )
    # ES new session highs, but never above the prior session's 101
    assert run(high_day([99.0, 100.0, 100.5, 101.0], [49] * 4), state=high_state()) == []
    # the first ES bar above the prior high fires, in RTH
    (sig,) = run(high_day([99.0, 100.0, 101.25, 101.5], [49] * 4), state=high_state())
    assert sig.ts_close == et_ns("2025-03-07 09:40")
    # without a prior session there is nothing to confirm against
    assert run(high_day([99.0, 100.0, 101.25, 101.5], [49] * 4)) == []


def test_unconfirmed_high_overnight_high_counts_but_fires_only_in_rth():
    day = high_day([102.0, 101.5, 101.75, 102.25], [49] * 4)  # 08:00 is the first new high
    (sig,) = run(day, state=high_state())
    assert sig.ts_close == et_ns("2025-03-07 09:45") and sig.details["es_high"] == 102.25


# ---------------------------------------------------------------- 4. alignment


def aligned(rs, norm=None, clocks=("09:35",)):
    day = Day("2025-03-06", list(clocks))
    for g, v in zip(GROUP, rs, strict=True):
        day.set("rs_pct", g, v)
    if norm is not None:
        for g, v in zip(GROUP, norm, strict=True):
            day.set("rs_norm", g, v)
    return day


def align(rs, norm=None):
    return [s for s in run(aligned(rs, norm)) if s.name == "alignment"]


def test_alignment_on_normalized_size():
    (sig,) = align([0.3, 0.5, 0.4, 0.3], [0.6, 1.2, 0.9, 0.7])  # ratio exactly 2
    assert (sig.name, sig.side, sig.instrument) == ("alignment", "long", "ES")
    assert sig.reason.startswith("all four aligned up (ES +0.30%, NQ +0.50%, RTY +0.40%, YM +0.30%")
    assert sig.reason.endswith("|rs_norm| 0.60-1.20): trend confirmed, favour momentum, not fades")
    assert sig.details["measure"] == "rs_norm" and sig.details["ratio"] == 2.0
    (sig,) = align([-0.3, -0.5, -0.4, -0.3], [-0.5, -0.9, -0.7, -0.5])  # floor exactly
    assert sig.side == "short" and sig.reason.startswith("all four aligned down (ES -0.30%")
    assert align([0.3, 0.5, 0.4, 0.3], [0.6, 1.2001, 0.9, 0.7]) == []  # ratio > 2
    assert align([0.3, 0.5, 0.4, 0.3], [0.4999, 0.9, 0.7, 0.6]) == []  # one too small
    assert align([0.3, 0.5, -0.4, 0.3], [0.6, 0.9, 0.7, 0.6]) == []  # a sign differs
    assert align([0.3, 0.5, 0.4, np.nan], [0.6, 0.9, 0.7, 0.6]) == []  # YM has no RS


def test_alignment_falls_back_to_rs_pct_without_rs_norm():
    (sig,) = align([0.2, 0.4, 0.3, 0.25])  # floor 0.2 exactly, ratio 2 exactly
    assert sig.details["measure"] == "rs_pct" and sig.details["threshold"] == 0.2
    assert align([0.1999, 0.3, 0.3, 0.25]) == []
    assert align([0.2, 0.4001, 0.3, 0.25]) == []
    # rs_norm not known yet for one member (ATR history): rs_pct decides that row
    (sig,) = align([0.2, 0.4, 0.3, 0.25], [np.nan, 1.0, 1.0, 1.0])
    assert sig.details["measure"] == "rs_pct"


def test_alignment_needs_every_member_strictly_up_or_down_a_flat_one_breaks_it():
    # sizes by rs_norm pass the floor and ratio; ES at exactly 0.00 % has no direction
    assert align([0.0, 0.5, 0.4, 0.3], [0.6, 1.0, 0.9, 0.7]) == []
    assert align([0.0, -0.5, -0.4, -0.3], [0.6, 1.0, 0.9, 0.7]) == []
    assert align([-0.0, -0.5, -0.4, -0.3], [0.6, 1.0, 0.9, 0.7]) == []
    (sig,) = align([0.01, 0.5, 0.4, 0.3], [0.6, 1.0, 0.9, 0.7])  # just above: aligned
    assert sig.side == "long"


# ---------------------------------------------------------------- 5. bonds


def test_bonds_rally_into_the_selloff_using_the_last_bond_value():
    day = Day("2025-03-14", ["09:00", "09:35", "09:40", "09:45"], ZN=[0.25, np.nan, np.nan, 0.1])
    day.set("rs_pct", "ES", [-0.6, -0.4999, -0.5, -0.7])
    day.set("present", "ZN", [True, False, False, True])
    (sig,) = run(day)
    assert (sig.name, sig.side, sig.instrument) == ("bonds", "long", "ES")
    assert sig.ts_close == et_ns("2025-03-14 09:40")
    assert sig.reason == (
        "ZN +0.25% while ES -0.50%: bonds rallying into the equity selloff: possible exhaustion"
    )
    assert sig.details["bond"] == "ZN"


def test_bonds_sell_off_into_the_rally_and_near_misses():
    (sig,) = run(Day("2025-03-18", ["09:35"], ZN=-0.25, ES=0.5))
    assert sig.side == "short"
    assert sig.reason.endswith("bonds selling off into the rally: upside capped")
    assert run(Day("2025-03-18", ["09:35"], ZN=-0.2499, ES=0.9)) == []
    assert run(Day("2025-03-18", ["09:35"], ZN=0.3, ES=-0.4999)) == []
    symbols = ("ES", "NQ", "RTY", "YM")  # no bond configured: no bond signal
    config = Config.from_dict({"instruments": {s: {} for s in symbols}})
    day = Day("2025-03-18", ["09:35"], symbols=symbols, ES=0.9)
    assert run(day, state=State(symbols), symbols=symbols, config=config) == []


def test_bond_is_found_by_root_or_named():
    config = Config.from_dict(
        {"instruments": {"ES": {}, "NQ": {}, "TN": {"root": "ZB"}}, "group": ["ES", "NQ"]}
    )
    assert setup(symbols=("ES", "NQ", "TN"), config=config).bond == "TN"
    assert setup({"bond": "NQ"}).bond == "NQ"
    with pytest.raises(ValueError, match="bond 'ZB' is not a configured"):
        setup({"bond": "ZB"})


# ---------------------------------------------------------------- 6. pre-market read

PM = ["09:10", "09:15", "09:20", "09:30", "09:35", "10:25", "10:30", "10:35"]


def premarket(date, nq_rs, es_rs, nq_close, es_close):
    day = Day(date, PM)
    day.set("rs_pct", "NQ", nq_rs).set("rs_pct", "ES", es_rs)
    return day.set("close", "NQ", nq_close).set("close", "ES", es_close)


def hit_day(date="2025-03-19"):
    # NQ 0.3 ahead at 09:15; from the 09:30 closes NQ +1.0%, ES +0.5% at 10:30
    nq = [0.2, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    es = [0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    return premarket(
        date, nq, es, [99, 99, 99, 100, 100.5, 101, 101, 90], [99, 99, 99, 200, 200, 201, 201, 0]
    )


def miss_day(date="2025-03-25"):
    nq = [0.2, 0.9, 0.2, 0.6, 0.6, 0.6, 0.6, 0.6]
    es = [0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    return premarket(
        date, nq, es, [99, 99, 99, 100, 100, 100.4, 100.4, 90], [9, 9, 9, 200, 200, 201, 201, 0]
    )


def test_premarket_read_hit():
    ctx, state = setup(), State()
    signals = [s for s in feed(ctx, state, hit_day()) if s.name.startswith("premarket")]
    read, scored = signals
    assert (read.name, read.side, read.instrument) == ("premarket_read", "long", "NQ")
    assert read.ts_close == et_ns("2025-03-19 09:15")
    assert read.reason == (
        "pre-market read: NQ +0.60% vs ES +0.30% (+0.30): predict NQ leads ES in the first RTH hour"
    )
    assert (scored.name, scored.side, scored.instrument) == ("premarket_read_scored", "flat", "NQ")
    assert scored.ts_close == et_ns("2025-03-19 10:30")
    assert scored.details["hit"] is True
    assert scored.details["ret_nq"] == pytest.approx(1.0)
    assert scored.details["ret_es"] == pytest.approx(0.5)
    summary = types.SimpleNamespace(metrics={})
    ctx.finish(summary)
    assert summary.metrics["premarket_read"] == {
        "predictions": 1,
        "scored": 1,
        "hits": 1,
        "hit_rate": 1.0,
    }


def test_premarket_read_miss_and_hit_rate():
    ctx, state = setup(), State()
    feed(ctx, state, hit_day())
    out = [s for s in feed(ctx, state, miss_day()) if s.name.startswith("premarket")]
    assert out[1].details["hit"] is False  # NQ +0.40% vs ES +0.50%
    assert out[1].reason.endswith("predicted NQ leads, miss")
    summary = types.SimpleNamespace(metrics={})
    ctx.finish(summary)
    assert summary.metrics["premarket_read"]["hit_rate"] == 0.5


def test_premarket_read_predicts_es_symmetrically():
    day = premarket(
        "2025-03-19",
        [0.0] * 8,
        [0.3] * 8,
        [99, 99, 99, 100, 100, 100.2, 100.2, 0],
        [9, 9, 9, 200, 200, 201, 201, 0],
    )
    read, scored = [s for s in run(day) if s.name.startswith("premarket")]
    assert (read.instrument, read.side, read.details["predicted"]) == ("ES", "long", "ES")
    assert "predict ES leads NQ" in read.reason
    assert (scored.instrument, scored.details["hit"]) == ("ES", True)  # ES +0.5 > NQ +0.2


def test_premarket_read_only_on_the_first_bar_at_read_time_and_before_rth():
    day = hit_day()
    day.set("rs_pct", "NQ", [0.2, 0.5999, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    ctx = setup()
    assert [s for s in feed(ctx, State(), day) if s.name.startswith("premarket")] == []
    summary = types.SimpleNamespace(metrics={})
    ctx.finish(summary)
    assert summary.metrics["premarket_read"] == {
        "predictions": 0,
        "scored": 0,
        "hits": 0,
        "hit_rate": None,
    }
    late = Day("2025-03-19", ["09:10", "09:35", "10:30"], NQ=0.9, ES=0.1)  # no bar 09:15-09:30
    assert [s.name for s in run(late)] == ["nq_vs_es"]


# ---------------------------------------------------------------- settings, slots, timing


def test_one_minute_bars_are_timing_only():
    (sig,) = run(Day("2025-03-05", ["09:31"], NQ=0.6, ES=0.3), bar_ns=MIN)
    assert sig.details["timing_only"] is True
    assert sig.details["actionable_until"] == iso_utc(et_ns("2025-03-05 10:31"))
    (sig,) = run(Day("2025-03-05", ["09:31"], NQ=0.6, ES=0.3), {"actionable_minutes": 30})
    assert sig.details["actionable_until"] == iso_utc(et_ns("2025-03-05 10:01"))


def test_slots_by_group_name_with_a_micro_standing_in():
    symbols = ("ZN", "MNQ", "MES", "RTY", "YM")
    config = Config.from_dict(
        {
            "instruments": {
                "ZN": {},
                "MNQ": {"as": "NQ"},
                "MES": {"as": "ES"},
                "RTY": {},
                "YM": {},
            },
        }
    )
    state = State(symbols, ("MES", "MNQ", "RTY", "YM"))
    state.group_names = GROUP
    day = Day("2025-03-05", ["09:35"], symbols=symbols, MNQ=0.6, MES=0.3, ZN=0.3)
    day.set("rs_pct", "RTY", 0.35).set("rs_pct", "YM", 0.3)
    got = names(run(day, state=state, symbols=symbols, config=config))
    assert got == [("nq_vs_es", "long", "MNQ"), ("alignment", "long", "MES")]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="unknown setting"):
        setup({"sprad": 0.2})
    with pytest.raises(ValueError, match="spread must be a number > 0"):
        setup({"spread": -1})
    with pytest.raises(ValueError, match="correction_sessions must be a whole number"):
        setup({"correction_sessions": 2.5})
    with pytest.raises(ValueError, match="must be before score_time"):
        setup({"read_time": "10:30", "score_time": "10:00"})
    with pytest.raises(ValueError, match="time of day"):
        setup({"read_time": "quarter past nine"})
    with pytest.raises(ValueError, match="max_ratio must be >= 1"):
        setup({"max_ratio": 0.5})
    with pytest.raises(ValueError, match="configure the rs indicator"):
        setup(columns=("vwap",))
    # an unquoted 09:15 in YAML 1.1 arrives as 555 minutes
    assert setup({"read_time": 555}).read_time == dt.time(9, 15)


# ---------------------------------------------------------------- any split, same signals


def busy_day():
    """One session on which every signal fires."""
    clocks = [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in range(0, 60, 5)]
    day = Day("2025-03-19", clocks)
    n = len(clocks)
    t = np.arange(n)
    es = np.where(t < 40, 0.3, -0.6)
    day.set("rs_pct", "ES", es)
    day.set("rs_pct", "NQ", np.where(t < 40, 0.6, -0.9))
    day.set("rs_pct", "RTY", np.where(t < 40, 0.5, -0.9))
    day.set("rs_pct", "YM", np.where(t < 40, 0.35, -0.55))
    zn = np.where(t % 7 == 0, np.where(t < 40, -0.3, 0.3), np.nan)
    day.set("rs_pct", "ZN", zn).set("present", "ZN", np.isfinite(zn))
    day.set("rs_pct", "ES", np.where((t > 20) & (t < 30), 0.6, es))
    day.set("rs_norm", "ES", 0.6).set("rs_norm", "NQ", 0.9)
    day.set("rs_norm", "RTY", 0.7).set("rs_norm", "YM", np.where(t < 25, np.nan, 0.6))
    day.set("high", "ES", 100.0 + 0.1 * np.sin(t) + 0.01 * t).set("high", "RTY", 49.0)
    day.set("close", "NQ", 100 + 0.02 * t).set("close", "ES", 100 + 0.01 * t)
    day.text("event_window", np.where((t > 18) & (t < 24), "blocked", ""))
    day.text("regime", np.where(t < 30, "trend", "neutral"))
    for row in (15, 30):  # nothing at 09:15 (read) and 10:30 (score): last values count
        day.present[row] = False
        day.values["rs_pct"][row] = day.values["rs_norm"][row] = np.nan
    return day


def test_any_split_of_a_session_gives_the_same_signals():
    def signals(cuts):
        ctx, state = setup(), high_state(100.2, 50.0)
        lines = [s.to_json() for s in feed(ctx, state, busy_day(), cuts)]
        summary = types.SimpleNamespace(metrics={})
        ctx.finish(summary)
        return lines, summary.metrics

    whole, metrics = signals(())
    fired = collections.Counter(json.loads(x)["name"] for x in whole)
    assert set(fired) == {
        "nq_vs_es",
        "rty_vs_es",
        "unconfirmed_high",
        "alignment",
        "bonds",
        "premarket_read",
        "premarket_read_scored",
    }
    assert fired["nq_vs_es"] == fired["alignment"] == fired["bonds"] == 2
    n = len(busy_day().ts)
    rng = np.random.default_rng(4)
    splits = [tuple(range(1, n)), (15, 18, 19), (30, 31, 60)]
    splits += [tuple(sorted(rng.choice(np.arange(1, n), size=8, replace=False))) for _ in range(5)]
    for cuts in splits:
        assert signals(cuts) == (whole, metrics), cuts
    times = [json.loads(x)["ts_close"] for x in whole]
    assert times == sorted(times)


# ---------------------------------------------------------------- the fast paths


def test_blocked_rows_are_looked_for_on_the_rows_found():
    event = np.array([["", ""], ["blocked", ""], ["", ""], ["", "blocked"], ["", ""]], object)
    live = _Live(1, 5, event, 5)  # the rows 1-4
    assert live.first(np.array([False, True, True, False])) == 1  # row 2: not blocked
    assert live.first(np.array([False, False, False, False])) is None
    mask = np.array([True, False, True, True])
    assert live.first(mask) == 3  # rows 1 and 3 are blocked (in either column)
    assert mask.tolist() == [False, False, False, True]
    assert live.first(np.array([True, False, True, False])) is None
    assert _Live(1, 5, None, 5).first(np.array([True, False, False, False])) == 0


# ---------------------------------------------------------------- the SIMULATED demo

EXPECTED = {  # scenario -> (signal name, side, instrument) that must fire that day
    "nq_led_rally": [("nq_vs_es", "long", "NQ")],
    "tech_selloff": [("nq_vs_es", "short", "NQ")],
    "rty_risk_on": [("rty_vs_es", "long", "RTY")],
    "risk_off": [("rty_vs_es", "short", "RTY")],
    "unconfirmed_high": [("unconfirmed_high", "short", "ES")],
    "aligned_trend": [("alignment", "long", "ES")],
    "bond_flight": [("bonds", "long", "ES")],
    "bonds_cap_rally": [("bonds", "short", "ES")],
    "premarket_nq_lead_hit": [
        ("premarket_read", "long", "NQ"),
        ("premarket_read_scored", "flat", "NQ"),
    ],
    "premarket_nq_lead_miss": [
        ("premarket_read", "long", "NQ"),
        ("premarket_read_scored", "flat", "NQ"),
    ],
}


class _DemoProbe:
    """Registers what the installed plugins do not provide yet, keeps the signals."""

    def __init__(self, have: dict):
        self.have = have
        self.signals = []

    @rsengine.hookimpl
    def rsengine_register_setups(self, registry):
        if "context" not in self.have["setups"]:
            registry.add("context", ContextSignals, "context signals (test registration)")

    @rsengine.hookimpl
    def rsengine_signal_emitted(self, signal):
        self.signals.append(signal)


def test_demo_every_context_signal_fires_on_its_scenario_day():
    pytest.importorskip("pandas_market_calendars")
    from rsengine_sim.market import DEFAULT_SEQUENCE

    from rsengine.host.plugins import collect_registries, make_plugin_manager
    from rsengine.host.runner import build_engine

    pm = make_plugin_manager()
    have = {kind: reg.names() for kind, reg in collect_registries(pm).items()}
    probe = _DemoProbe(have)
    pm.register(probe, name="context-demo-probe")
    indicators = {"rs": {}}
    for name in ("measures", "group", "regime"):  # whichever are installed, in this order
        if name in have["indicators"]:
            indicators[name] = {}
    config = Config.from_dict(
        {
            "bars": {"primary": "5min"},
            "group": list(GROUP),
            "instruments": {s: {} for s in SYMBOLS},
            "sources": {"sim": {"seed": 7}},
            "indicators": indicators,
            "setups": {"context": {}},
        }
    )
    engine = build_engine(config, pm)
    summary = engine.run()
    assert summary.failed is None
    days = engine.sources[0][2].market.sessions()
    assert tuple(d.scenario for d in days) == DEFAULT_SEQUENCE
    by_day = collections.defaultdict(list)
    for s in probe.signals:
        by_day[s.session_date].append(s)
    missing = []
    risk_off_days = []
    for d in days:
        got = {(s.name, s.side, s.instrument) for s in by_day[d.session_date.isoformat()]}
        missing += [
            (d.session_date, d.scenario, e) for e in EXPECTED.get(d.scenario, ()) if e not in got
        ]
        if d.scenario == "risk_off":
            risk_off_days.append(got)
    assert missing == []
    # three risk-off sessions in a row: the warning on the third, not before
    warning = ("rty_correction_warning", "short", "RTY")
    assert [warning in got for got in risk_off_days] == [False, False, True]
    scored = {
        d.scenario: s.details["hit"]
        for d in days
        for s in by_day[d.session_date.isoformat()]
        if s.name == "premarket_read_scored"
    }
    assert scored == {"premarket_nq_lead_hit": True, "premarket_nq_lead_miss": False}
    metrics = summary.metrics["premarket_read"]
    assert metrics == {"predictions": 2, "scored": 2, "hits": 1, "hit_rate": 0.5}
    for s in probe.signals:
        assert s.kind == "context" and s.source == "SIMULATED"
        assert math.isfinite(json.loads(s.to_json())["ts_close"])
