"""Setup ``divergence_fade`` with the real NYSE $TICK (May 2023): its
divergence, exhaustion and $TICK-turn gates, stop, target, stack, contracts
(the minis that round to zero sized in their micros) and exits equal an
independent pandas computation of docs/trades.md on the raw files.

The month runs as in test_rider_real_tick.py (60-minute group: ES and $TICK
combined from the TradingView file, the hourly NQ, RTY and YM), the fade's
defaults, internals required; no $ADD exists, so only $TICK can turn and the
stack's ``add`` is unknown. See real_tick.py for the two $TICK grids:

* on the table's NYSE grid (the rider's run) every futures bar's $TICK is
  the reading of the $TICK-only slice just before it, so read from the row
  before, $TICK would never turn; a turn counts from the instrument's own bar
  before, and the fades equal pandas reading it so.
* with $TICK cut on the futures' hourly grid it fires, and every entry and
  exit is checked against pandas.
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
from test_fade import expected_exit, prior_extremes
from test_rider_realdata import true_range_atr

pytestmark = pytest.mark.realdata
DIRECTIONS = ((1, "short"), (-1, "long"))  # the divergence's sign, the fade's side
MIN_DIVERGENCE, WINDOW, STRONG = 0.5, 6, 800  # the defaults


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("cme"), {"divergence_fade": {}}, grid="cme")


@pytest.fixture(scope="module")
def nyse(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("nyse"), {"divergence_fade": {}})


@pytest.fixture(scope="module")
def nyse_no_gate(tmp_path_factory):
    setups = {"divergence_fade": {"internals_required": False}}
    return replay(tmp_path_factory.mktemp("gate"), setups)


def exhaustion_signs(rows: list[dict], d: int, prior_extreme: float) -> list[set]:
    """Per RTH bar of one instrument's session: the signs (of the four) that
    held on a bar with the divergence among the last WINDOW bars."""
    best, setter_rsi, prev_close = -math.inf, math.nan, math.nan
    last: dict = {}
    out = []
    for i, r in enumerate(rows):
        reach = (r["high"] if d > 0 else r["low"]) * d
        new = i > 0 and reach > best
        body = max(r["open"] * d, r["close"] * d)
        levels = (prior_extreme, r["or_high" if d > 0 else "or_low"], r["vwap"])
        held = {
            "rsi_divergence": new and r["rsi"] * d < setter_rsi * d,
            "volume_fading": new and r["vol_ratio"] < 1.0,
            "rejection": any(reach > lv * d and body < lv * d for lv in levels),
            "failed_new_extreme": new and r["close"] * d < prev_close * d
            and r["close"] * d < (r["high"] + r["low"]) / 2 * d,
        }  # fmt: skip
        if r["lead"] * d >= MIN_DIVERGENCE - 1e-9:
            last.update({name: i for name, h in held.items() if h})
        out.append({name for name, at in last.items() if i - at < WINDOW})
        if reach > best:
            best, setter_rsi = reach, r["rsi"]
        prev_close = r["close"]
    return out


def fade_candidates(b: pd.DataFrame, internals: bool = True, before: str = "row") -> list[dict]:
    """The fade's first bar per session, instrument and side. ``before``: the
    $TICK a turn starts from, ``row`` that of the RTH slice before (the
    engine's reading), ``bar`` that at the instrument's own bar before."""
    found = []
    for col, symbol in enumerate(GROUP):
        g = b[b["symbol"] == symbol].sort_values("ns").copy()
        g["atr14"] = true_range_atr(g)
        prior = prior_extremes(g)
        rth = g[(g["clock"] > RTH_OPEN) & (g["clock"] <= g["rth_end"])]
        rth = rth[rth["t"].dt.date == rth["session"]]
        for day, s in rth.groupby("session"):
            rows = s.to_dict("records")
            for d, side in DIRECTIONS:
                sign = -d  # the trade's
                signs = exhaustion_signs(rows, d, prior.loc[day, "high" if d > 0 else "low"])
                for i, r in enumerate(rows):
                    was = r["tick_row_before"] if before == "row" else (
                        rows[i - 1]["tick"] if i else math.nan)  # fmt: skip
                    turned = r["tick"] * sign > 0 and was * sign <= 0
                    ok = r["lead"] * d >= MIN_DIVERGENCE - 1e-9 and bool(signs[i])
                    ok &= r["clock"] <= LAST_ENTRY and r["clock"] < r["rth_end"]
                    ok &= r["event_window"] != "blocked" and r["regime"] != "trend"
                    contradicted = r["tick"] * sign <= -STRONG
                    if internals:
                        ok &= turned and not contradicted  # a contradicted turn waits
                    if ok:
                        extreme = max((x["high"] if d > 0 else x["low"]) * d
                                      for x in rows[: i + 1]) * d  # fmt: skip
                        found.append(trade(r, symbol, col, d, side, extreme, contradicted, signs[i],
                                           was))  # fmt: skip
                        break
    return found


def trade(r, symbol, col, d, side, extreme, contradicted, signs, was) -> dict:
    sign, entry = -d, r["close"]
    stop = capped_stop(entry, extreme + d * TICK_SIZE[symbol], r["atr14"], sign, symbol)
    reversion = entry * (1 + (r["rs_pct"] - r["lead"]) / 100) / (1 + r["rs_pct"] / 100)
    beyond = [p for p in (reversion, r["vwap"]) if (p - entry) * sign > 1e-9]
    target = on_grid(min(beyond, key=lambda p: abs(p - entry)), symbol) if beyond else None
    held = held_checks(r["tick"], sign, r["vol_expanding"])
    fraction = fraction_of(held, contradicted, r["regime"], r["afternoon"])
    contracts, traded = contracts_of(symbol, fraction, abs(entry - stop))
    return {
        "ns": int(r["ns"]), "session": r["session"], "symbol": symbol, "col": col,
        "order": 0 if side == "short" else 1, "side": side, "entry": entry, "stop": stop,
        "target": target, "fraction": fraction, "contracts": contracts, "traded": traded,
        "lead": r["lead"], "tick": r["tick"], "tick_before": was, "signs": signs,
    }  # fmt: skip


def with_exits(b: pd.DataFrame, candidates: list[dict]) -> list[dict]:
    days = dict(iter(b.groupby(["symbol", "session"])))

    def exit_of(c):
        entry = {"ts_close": c["ns"], "side": c["side"], "stop": c["stop"], "target": c["target"]}
        return expected_exit(days[(c["symbol"], c["session"])], entry, c)

    return through_the_desk(candidates, exit_of)


# -- $TICK on the futures' grid: the fade fires ------------------------------------------


@pytest.fixture(scope="module")
def expected(aligned):
    b, _, _ = aligned
    return with_exits(b, fade_candidates(b))


def test_with_tick_on_the_futures_grid_every_fade_entry_equals_pandas(aligned, expected):
    _, signals, _ = aligned
    got = [s for s in signals if s["kind"] == "setup"]
    assert len(expected) >= 8, len(expected)  # it fires on the real month
    assert_entries_equal(got, expected)
    assert {c["side"] for c in expected} == {"long", "short"}
    assert any(c["traded"] != c["symbol"] for c in expected)  # a mini sized in its micro


def test_each_fade_records_the_raw_tick_turn_and_exhaustion_pandas_finds(aligned, expected):
    _, signals, _ = aligned
    for s, c in paired(signals, expected):
        word = "above" if s["side"] == "long" else "below"
        internals = s["details"]["internals"]
        assert internals["held"] is True
        assert internals["tick"] == (
            f"{c['tick']:+.0f}, bar before {c['tick_before']:+.0f}: crossed {word} 0"
        )
        assert internals["add"] == "no $ADD feed" and internals["add_slope"] == "no slope yet"
        assert assert_stack_reads(s, c["tick"]) is True  # a turn to the trade's side
        assert set(s["details"]["exhaustion"]["signs"]) == c["signs"]


def test_each_fade_with_contracts_exits_as_pandas_finds(aligned, expected):
    _, signals, summary = aligned
    assert_exits_equal(signals, expected)
    assert summary.metrics["trades"]["open_at_end"] == 0
    hows = {c["exit"][1] for c in expected if c["contracts"]}
    assert {"stop", "target", "session_end"} <= hows  # the month reaches more than one rule


def test_on_the_futures_grid_the_rows_turn_and_the_instruments_turn_agree(aligned):
    b, _, _ = aligned
    key = lambda c: (c["ns"], c["symbol"], c["side"])  # noqa: E731
    assert list(map(key, fade_candidates(b, before="bar"))) == list(
        map(key, fade_candidates(b, before="row"))
    )


# -- $TICK on its own NYSE grid (the rider's run) ----------------------------------------


def test_on_the_nyse_grid_the_row_before_never_shows_a_tick_turn(nyse):
    b, _, _ = nyse
    futures = b[b["symbol"].isin(GROUP) & (b["clock"] > RTH_OPEN) & (b["clock"] < b["rth_end"])]
    assert futures["tick"].notna().sum() >= 250  # 15 sessions x 4 members x 5 bars
    # the slice before every futures bar of RTH is a $TICK slice with the same reading
    same = futures["tick"].eq(futures["tick_row_before"]) | futures["tick"].isna()
    assert same.all()
    assert fade_candidates(b) == []  # read from the row before, $TICK never turns
    gate_alone = fade_candidates(b, internals=False)
    assert len(gate_alone) >= 10  # not for want of divergence or exhaustion
    assert len(fade_candidates(b, before="bar")) >= 5  # $TICK turned between their bars


def test_a_tick_turn_since_the_instruments_bar_before_is_a_turn(nyse):
    b, signals, _ = nyse
    key = lambda c: (c["ns"], c["symbol"], c["side"])  # noqa: E731
    got = [(s["ts_close"], s["instrument"], s["side"]) for s in signals if s["kind"] == "setup"]
    assert sorted(got) == sorted(map(key, fade_candidates(b, before="bar")))


def test_without_the_internals_gate_the_fades_and_their_tick_readings_equal_pandas(nyse_no_gate):
    b, signals, _ = nyse_no_gate
    want = with_exits(b, fade_candidates(b, internals=False, before="bar"))
    assert len(want) >= 10, len(want)
    got = [s for s in signals if s["kind"] == "setup"]
    assert_entries_equal(got, want)
    assert_exits_equal(signals, want)
    outcomes = set()
    for s, c in paired(signals, want):
        outcomes.add(assert_stack_reads(s, c["tick"]))
        tick = s["details"]["internals"]["tick"]
        if math.isnan(c["tick"]):  # 10:00: no $TICK bar yet on the NYSE grid
            assert tick == "no $TICK feed"
        else:
            was = "none" if math.isnan(c["tick_before"]) else f"{c['tick_before']:+.0f}"
            want = f"{c['tick']:+.0f}, bar before {was}"
            sign = 1 if c["side"] == "long" else -1
            if c["tick"] * sign > 0 and c["tick_before"] * sign <= 0:
                want += f": crossed {'above' if sign > 0 else 'below'} 0"
            assert tick == want
        assert s["details"]["internals"]["required"] is False
    assert outcomes == {True, False, None}
