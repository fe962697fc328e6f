"""Setup ``laggard_catchup`` with the real NYSE $TICK (May 2023): its lag,
group, bottoming gates, stop, target, half-size stack with the $TICK check,
contracts (the minis that round to zero sized in their micros) and exits equal
an independent pandas computation of docs/trades.md on the raw files.

The month runs as in test_rider_real_tick.py (60-minute group, $TICK on its
NYSE grid: a futures bar reads the last $TICK so far). No $ADD exists, so the
"$ADD ticking up" sign is never shown and bottoming needs volume rising; ES
has no volume in the TradingView file, so ES never shows it.

Under the defaults the setup never fires on this month: of the RTH bars
where a member lags (or leads) by 0.3 with the others' RS% going its way,
none has support holding over ``support_bars: 3`` hourly bars (three hours,
seen from the fourth RTH bar, 13:00, on), and volume rising over 3 bars
against the 3 before could show only on the sixth RTH bar of a seven-bar
session (15:00). The second run counts bars as the defaults mean them on
5-minute bars (3 bars, 15 minutes): ``support_bars: 1`` and ``group_bars: 1``,
one hourly bar, still four times the defaults' span; every other setting is
the default.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from real_tick import (
    GROUP,
    LAST_ENTRY,
    RTH_OPEN,
    TICK_SIZE,
    assert_entries_equal,
    assert_exits_equal,
    assert_stack_reads,
    capped_stop,
    contracts_of,
    fraction_of,
    held_checks,
    on_grid,
    paired,
    replay,
    through_the_desk,
)
from test_laggard import expected_exit
from test_rider_realdata import true_range_atr

pytestmark = pytest.mark.realdata
DEFAULTS = {"min_lag": 0.3, "group_bars": 3, "support_bars": 3, "volume_ratio": 1.0,
            "stop_atr": 1.5, "size_factor": 0.5}  # fmt: skip
HOURLY = {"support_bars": 1, "group_bars": 1}  # see the module's text
STRONG = 800


@pytest.fixture(scope="module")
def defaults(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("defaults"), {"laggard_catchup": {}})


@pytest.fixture(scope="module")
def hourly(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("hourly"), {"laggard_catchup": HOURLY})


def with_group(b: pd.DataFrame, group_bars: int) -> pd.DataFrame:
    """Per bar: ``others``, the mean RS% of the other members with a value in
    its slice, and ``change``, its change over ``group_bars`` slices of the
    session where it has one."""
    rs = b[b["symbol"].isin(GROUP)].pivot(index="ns", columns="symbol", values="rs_pct")
    session = b.groupby("ns")["session"].first()
    b = b.copy()
    for symbol in GROUP:
        others = rs[[s for s in GROUP if s != symbol]].mean(axis=1).dropna()
        change = others - others.groupby(session[others.index]).shift(group_bars)
        mine = b["symbol"] == symbol
        b.loc[mine, "others"] = b.loc[mine, "ns"].map(others).to_numpy()
        b.loc[mine, "change"] = b.loc[mine, "ns"].map(change).to_numpy()
    return b


def no_new_extreme(x: pd.Series, k: int) -> pd.Series:
    """The last ``k`` values at or above the lowest before them."""
    return x.rolling(k).min() >= x.cummin().shift(k)


def candidates(b: pd.DataFrame, **settings) -> tuple[list[dict], dict]:
    """The setup's first bar per session, member and side, and how many RTH
    bars that may enter pass each gate in turn (the funnel)."""
    p = {**DEFAULTS, **settings}
    k = p["support_bars"]
    b = with_group(b, p["group_bars"])
    found, funnel = [], {"lag and group": 0, "support": 0, "volume": 0}
    for col, symbol in enumerate(GROUP):
        g = b[b["symbol"] == symbol].sort_values("ns").copy()
        g["atr14"] = true_range_atr(g)
        rth = g[(g["clock"] > RTH_OPEN) & (g["clock"] <= g["rth_end"])]
        for _, s in rth[rth["t"].dt.date == rth["session"]].groupby("session"):
            volume = s["volume"].rolling(k).sum()
            rising = volume > p["volume_ratio"] * volume.shift(k)
            may = (s["clock"] <= LAST_ENTRY) & (s["clock"] < s["rth_end"])
            may &= s["event_window"] != "blocked"
            for side, sign in (("long", 1), ("short", -1)):
                lagging = s["lead"] * sign <= -p["min_lag"] + 1e-9
                going = (s["others"] * sign > 1e-9) & (s["change"] * sign > 1e-9)
                price = s["low"] if sign > 0 else -s["high"]
                support = no_new_extreme(price, k) & no_new_extreme(s["lead"] * sign, k)
                ok = may & lagging & going
                funnel["lag and group"] += ok.sum()
                funnel["support"] += (ok & support).sum()
                ok &= support & rising  # no $ADD: volume rising is the only other sign
                funnel["volume"] += ok.sum()
                if ok.any():
                    at = ok.idxmax()
                    extreme = price.cummin()[at] * sign
                    found.append(trade(s.loc[at], symbol, col, side, sign, extreme, p))
    return found, funnel


def trade(r, symbol, col, side, sign, extreme, p) -> dict:
    entry = r["close"]
    stop = capped_stop(entry, extreme - sign * TICK_SIZE[symbol], p["stop_atr"] * r["atr14"],
                       sign, symbol)  # fmt: skip
    target = on_grid(entry * (1 + r["others"] / 100) / (1 + r["rs_pct"] / 100), symbol)
    held = held_checks(r["tick"], sign, r["vol_expanding"])
    contradicted = r["tick"] * sign <= -STRONG
    fraction = fraction_of(held, contradicted, r["regime"], r["afternoon"], p["size_factor"])
    contracts, traded = contracts_of(symbol, fraction, abs(entry - stop))
    return {
        "ns": int(r["ns"]), "session": r["session"], "symbol": symbol, "col": col,
        "order": 0 if side == "long" else 1, "side": side, "entry": entry, "stop": stop,
        "target": target if (target - entry) * sign > 1e-9 else None, "fraction": fraction,
        "contracts": contracts, "traded": traded, "others": r["others"], "lead": r["lead"],
        "tick": r["tick"], "clock": r["clock"], "rth_end": r["rth_end"],
    }  # fmt: skip


def test_under_the_defaults_neither_pandas_nor_the_engine_finds_a_catch_up(defaults):
    b, signals, _ = defaults
    found, funnel = candidates(b)
    assert found == [] and signals == []
    # lagging members with the group going their way are there; the bottoming
    # signs on three hourly bars are what never show
    assert funnel["lag and group"] >= 50 and funnel["support"] == 0, funnel


@pytest.fixture(scope="module")
def expected(hourly):
    b, _, _ = hourly
    found, _ = candidates(b, **HOURLY)
    with_others = with_group(b, HOURLY["group_bars"])
    return through_the_desk(found, lambda c: expected_exit(with_others, c))


def test_on_hourly_support_every_catch_up_entry_equals_pandas(hourly, expected):
    _, signals, _ = hourly
    assert len(expected) >= 4, len(expected)  # it fires on the real month
    assert_entries_equal([s for s in signals if s["kind"] == "setup"], expected)
    assert {c["side"] for c in expected} == {"long", "short"}
    assert any(c["traded"] != c["symbol"] for c in expected)  # a mini sized in its micro


def test_each_catch_up_records_the_raw_tick_and_no_add_feed(hourly, expected):
    _, signals, _ = hourly
    for s, c in paired(signals, expected):
        assert math.isfinite(c["tick"])  # every entry is after the first $TICK bar
        assert_stack_reads(s, c["tick"])
        assert s["details"]["signs"]["add"] == "not shown: no $ADD feed"
        assert s["details"]["signs"]["support"].startswith("shown")
        assert s["details"]["signs"]["volume"].startswith("shown")
        assert s["details"]["others_rs_pct"] == pytest.approx(c["others"], abs=1e-12)


def test_each_catch_up_with_contracts_exits_as_pandas_finds(hourly, expected):
    _, signals, summary = hourly
    assert_exits_equal(signals, expected)
    assert summary.metrics["trades"]["open_at_end"] == 0
    hows = {c["exit"][1] for c in expected if c["contracts"]}
    assert {"stop", "session_end"} <= hows and len(hows) >= 3  # a setup rule too
