"""Each metric of the evaluation against a small hand-computed case: bars and
trades written out here, the expected numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from rsengine_evaluate.baseline import (
    Draws,
    Pool,
    correct,
    p_value,
    pool_of,
    session_bootstrap,
    trade_tests,
)
from rsengine_evaluate.capture import InstrumentBars, Market
from rsengine_evaluate.result import ChanceTest
from rsengine_evaluate.scoring import (
    Buckets,
    Costs,
    excursions,
    market_returns,
    signal_table,
    simulate_brackets,
    trade_table,
)
from rsengine_evaluate.stats import hit_rate, profit_factor, trade_metrics

from rsengine.model import Signal

ET = ZoneInfo("America/New_York")
MIN = 60 * 10**9
DAY = "2024-03-06"


def et_ns(clock: str, day: str = DAY) -> int:
    local = dt.datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=ET)
    return int(local.timestamp()) * 10**9


def market(closes, first="15:00", highs=None, lows=None, opens=None, atr=10.0) -> Market:
    """One ES session of 5-minute bars closing from ``first`` on (ET)."""
    n = len(closes)
    ts = et_ns(first) + np.arange(n, dtype=np.int64) * 5 * MIN
    close = np.array(closes, float)
    minute = ((ts - et_ns("00:00")) // MIN).astype(np.int16)
    bars = InstrumentBars(
        symbol="ES",
        ts_close=ts,
        session=np.zeros(n, np.int32),
        open=np.array(opens if opens is not None else closes, float),
        high=np.array(highs if highs is not None else closes, float),
        low=np.array(lows if lows is not None else closes, float),
        close=close,
        atr=np.full(n, atr),
        regime=np.full(n, "neutral", dtype=object),
        minute=minute,
    )
    return Market(
        symbols=("ES",),
        sessions=(DAY,),
        rth_close=np.array([et_ns("16:00")], np.int64),
        session_close=np.array([et_ns("17:00")], np.int64),
        bars={"ES": bars},
        tick={"ES": 0.25},
        point_value={"ES": 50.0},
        roots={"ES": "ES"},
    )


def signal(clock, side="long", kind="context", name="sig", **kw) -> Signal:
    return Signal(
        ts_close=et_ns(clock),
        session_date=DAY,
        name=name,
        kind=kind,
        instrument="ES",
        side=side,
        reason="test",
        **kw,
    )


# -- forward returns -----------------------------------------------------------------------


def test_forward_returns_at_each_horizon_in_points_pct_and_atr():
    # bars close 15:00, 15:05, ... 16:00 (13 bars), then 16:05 ... 16:15 after the close
    closes = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 120, 121, 122]
    m = market(closes)
    r = market_returns(m)
    table = signal_table([signal("15:10"), signal("15:10", side="short")], m, r, Buckets())
    # 15:10 (102): +15 min -> 15:25 (105), +30 -> 15:40 (108), +60 -> 16:10: past the
    # RTH close, none; to the close -> the 16:00 bar (112)
    assert table.points[0, :2].tolist() == [3.0, 6.0]
    assert math.isnan(table.points[0, 2])
    assert table.points[0, 3] == 10.0
    assert table.pct[0, 0] == pytest.approx(3 / 102 * 100)
    assert table.atr[0, 1] == pytest.approx(0.6)  # 6 points / ATR 10
    # the short side is the same move signed against it
    assert table.points[1, 0] == -3.0 and table.points[1, 3] == -10.0


def test_a_bar_after_the_rth_close_runs_to_the_globex_close():
    closes = [100.0] * 13 + [120, 121, 122]  # 15:00..16:00, then 16:05..16:15
    m = market(closes)
    table = signal_table([signal("16:05")], m, market_returns(m), Buckets())
    # 16:05 (120) to the last bar by 17:00: 16:15 (122)
    assert table.points[0, 3] == 2.0
    assert table.points[0, 0] == 2.0  # 16:20 lies before 17:00: as of 16:15


def test_forward_return_reads_the_last_bar_before_a_gap():
    closes = [100, 101, 102, 103]
    m = market(closes)
    keep = np.array([0, 1, 3])  # the 15:10 bar is missing
    bars = m.bars["ES"]
    gapped = InstrumentBars(
        **{f: getattr(bars, f)[keep] if f != "symbol" else "ES" for f in _fields(bars)}
    )
    m = Market(**{**_asdict(m), "bars": {"ES": gapped}})
    table = signal_table([signal("15:00")], m, market_returns(m), Buckets())
    assert table.points[0, 0] == 3.0  # 15:15 is 15 minutes later
    assert table.points[0, 1] == 3.0  # 15:30 has no bar: as of 15:15


def test_a_horizon_shorter_than_the_bar_or_a_gap_has_no_return():
    closes = [100, 101, 102, 103]
    m = market(closes)
    keep = np.array([0, 3])  # 15:05 and 15:10 missing: the next bar after 15:00 is 15:15
    bars = m.bars["ES"]
    gapped = InstrumentBars(
        **{f: getattr(bars, f)[keep] if f != "symbol" else "ES" for f in _fields(bars)}
    )
    m = Market(**{**_asdict(m), "bars": {"ES": gapped}})
    table = signal_table([signal("15:00"), signal("15:15")], m, market_returns(m), Buckets())
    # 15:00 + 15 min reaches 15:15 (103); 15:15 is the session's last bar: nothing later
    assert table.points[0, 0] == 3.0
    assert all(math.isnan(x) for x in table.points[1])  # not a return of 0


def _fields(obj):
    import attrs

    return [f.name for f in attrs.fields(type(obj))]


def _asdict(obj):
    return {f: getattr(obj, f) for f in _fields(obj)}


def test_time_of_day_buckets_by_bar_close():
    b = Buckets()
    minutes = np.array([570, 575, 600, 601, 690, 959, 960, 965, 3])
    assert b.of(minutes).tolist() == [0, 1, 1, 2, 3, 6, 6, 0, 0]
    assert b.labels[1] == "09:30-10:00" and b.labels[0] == "outside RTH"
    with pytest.raises(ValueError, match="increasing"):
        Buckets(("10:00", "09:30"))


# -- trades ---------------------------------------------------------------------------------


def bracket(m, entry_bar, side, entry, stop, target, end_bar=None):
    bars = m.bars["ES"]
    end = len(bars) - 1 if end_bar is None else end_bar
    return simulate_brackets(
        bars,
        np.array([entry_bar]),
        np.array([end]),
        np.array([side], np.int8),
        np.array([entry], float),
        np.array([stop], float),
        np.array([target], float),
    )


def test_long_to_its_target_then_slippage_and_commission():
    m = market([100, 100, 100], highs=[100, 101, 104.5], lows=[100, 99, 101])
    idx, price, rule = bracket(m, 0, 1, 100.0, 98.0, 104.0)
    assert (idx[0], price[0], rule[0]) == (2, 104.0, 1)
    (trades, _) = _one_trade(m, "long", 100.0, 98.0, 104.0)
    # 4 points gross; 1 tick (0.25) a side: 3.5 net; $50/pt: 175 - 2 x 2.25 = 170.5
    assert trades.gross_points[0] == 4.0
    assert trades.net_points[0] == 3.5
    assert trades.net_usd[0] == pytest.approx(170.5)
    assert trades.exit_source[0] == "simulated" and trades.exit_rule[0] == "target"
    # MFE to the exit bar's high 104.5, MAE to the low 99
    assert (trades.mfe[0], trades.mae[0]) == (4.5, 1.0)
    assert trades.hold_minutes[0] == 10.0


def test_stop_filled_at_the_open_when_the_bar_opens_beyond_it():
    m = market([100, 97.5], opens=[100, 97.0], highs=[100, 99], lows=[100, 96])
    _, price, rule = bracket(m, 0, 1, 100.0, 98.0, 110.0)
    assert (price[0], rule[0]) == (97.0, 0)


def test_a_bar_reaching_stop_and_target_is_a_stop():
    m = market([100, 100], highs=[100, 105], lows=[100, 97])
    _, price, rule = bracket(m, 0, 1, 100.0, 98.0, 104.0)
    assert (price[0], rule[0]) == (98.0, 0)


def test_short_to_its_stop_and_to_the_session_end_without_a_target():
    m = market([100, 101, 102], highs=[100, 101.5, 103], lows=[100, 100.5, 101])
    _, price, rule = bracket(m, 0, -1, 100.0, 102.5, 96.0)
    assert (price[0], rule[0]) == (102.5, 0)
    m = market([100, 99, 98], highs=[100, 100.5, 99], lows=[100, 98.5, 97.5])
    idx, price, rule = bracket(m, 0, -1, 100.0, 101.0, math.nan)
    assert (idx[0], price[0], rule[0]) == (2, 98.0, 2)
    mfe, mae = excursions(
        m.bars["ES"], np.array([0]), idx, np.array([-1], np.int8), np.array([100.0])
    )
    assert (mfe[0], mae[0]) == (2.5, 0.5)


def _one_trade(m, side, entry, stop, target, clock="15:00", **kw):
    s = signal(
        clock, side=side, kind="setup", name="rider", entry=entry, stop=stop, target=target, **kw
    )
    r = market_returns(m)
    return trade_table([s], m, r, Buckets(), Costs()), s


def test_the_engine_exit_is_used_when_there_is_one():
    m = market([100, 101, 103, 102], highs=[100, 101, 103, 102], lows=[100, 100, 101, 101])
    entry = signal(
        "15:00",
        side="long",
        kind="setup",
        name="rider",
        entry=100.0,
        stop=98.0,
        target=110.0,
        contracts=2,
    )
    exit_ = signal(
        "15:10",
        side="flat",
        kind="exit",
        name="rider",
        details={"entry_id": entry.id, "exit": "lead_fade", "exit_price": 103.0},
    )
    trades = trade_table([entry, exit_], m, market_returns(m), Buckets(), Costs())
    assert trades.exit_source[0] == "engine" and trades.exit_rule[0] == "lead_fade"
    assert trades.exit_price[0] == 103.0 and trades.hold_minutes[0] == 10.0
    assert trades.mfe[0] == 3.0  # highs 101, 103 up to the exit bar
    # an entry with contracts and no exit (open at the end of the data) is left out
    alone = trade_table([entry], m, market_returns(m), Buckets(), Costs())
    assert len(alone) == 0 and alone.open_at_end == 1


def test_the_chance_test_follows_the_setups_entries_like_the_random_ones():
    # the engine left at 15:10 (103, its own rule); the bracket 98/110 runs to the
    # 16:00 close (closes 15:00..16:00; 104 at the end), as every random entry does
    closes = [100, 101, 103, 102, 101, 100, 99, 100, 101, 102, 103, 103, 104]
    m = market(closes, highs=closes, lows=closes)
    entry = signal("15:00", side="long", kind="setup", name="rider", entry=100.0, stop=98.0,
                   target=110.0, contracts=2)  # fmt: skip
    engine_exit = {"entry_id": entry.id, "exit": "lead_fade", "exit_price": 103.0}
    exit_ = signal("15:10", side="flat", kind="exit", name="rider", details=engine_exit)
    r = market_returns(m)
    costs = Costs(slippage_ticks=0, commission={"ES": 0.0})
    trades = trade_table([entry, exit_], m, r, Buckets(), costs)
    assert trades.net_usd[0] == 3.0 * 50  # the table: the engine's exit
    (test,) = trade_tests(trades, m, r, costs, len(Buckets().labels), Draws(draws=20, resamples=20),
                          Buckets().of)  # fmt: skip
    assert test.observed == 4.0 * 50  # the test: the bracket to the close, +4 points


def test_micro_traded_uses_its_point_value_and_commission():
    m = market([100, 104], highs=[100, 104], lows=[100, 100])
    trades, _ = _one_trade(m, "long", 100.0, 98.0, 104.0, details={"traded": "MES"})
    # 3.5 net points x $5 - 2 x 0.62
    assert trades.net_usd[0] == pytest.approx(17.5 - 1.24)
    costs = Costs(slippage_ticks=0, commission={"MES": 1.0})
    s = signal(
        "15:00",
        kind="setup",
        name="r",
        entry=100.0,
        stop=98.0,
        target=104.0,
        details={"traded": "MES"},
    )
    t = trade_table([s], m, market_returns(m), Buckets(), costs)
    assert t.net_usd[0] == pytest.approx(20.0 - 2.0)


def test_hit_rate_expectancy_profit_factor_hold():
    usd = [100.0, -50.0, 30.0, -20.0]
    points = [2.0, -1.0, 0.6, -0.4]
    figures = trade_metrics(points, usd, [3, 1, 1, 0], [0, 2, 1, 1], [10, 20, 30, 40])
    assert figures["n"] == 4
    assert figures["hit_rate"] == 0.5
    assert figures["expectancy_usd"] == 15.0
    assert figures["expectancy_points"] == pytest.approx(0.3)
    assert figures["profit_factor"] == pytest.approx(130 / 70)
    assert figures["mean_mfe_points"] == 1.25 and figures["mean_mae_points"] == 1.0
    assert figures["mean_hold_minutes"] == 25.0
    assert math.isnan(profit_factor([1.0, 2.0]))  # no loss
    assert hit_rate([0.0, 0.0]) == 0.0  # a flat result is no hit


# -- chance -----------------------------------------------------------------------------------


def test_p_value_and_percentile():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    p, pct = p_value(null, 3.0)
    assert p == pytest.approx(3 / 5)  # (1 + #{3, 4}) / (4 + 1)
    assert pct == pytest.approx(62.5)  # 2 below, 1 tie counted half, of 4
    assert p_value(null, 10.0) == (pytest.approx(1 / 5), 100.0)


def test_pool_draws_only_from_the_signals_group():
    session = np.array([0, 0, 0, 1, 1, 1])
    bucket = np.array([1, 1, 2, 1, 1, 1])
    pool = pool_of(session, bucket, np.array([True, True, True, True, False, True]), 3)
    assert isinstance(pool, Pool)
    u = np.linspace(0, 0.999, 50)[:, None]
    drawn = pool.draw(np.array([0 * 3 + 1]), u)
    assert set(drawn.ravel()) == {0, 1}
    assert set(pool.draw(np.array([1 * 3 + 1]), u).ravel()) == {3, 5}  # 4 is not valid


def test_benjamini_hochberg_by_hand():
    base = dict(
        name="x",
        metric="m",
        horizon="",
        n=1,
        sessions=1,
        observed=0.0,
        baseline_mean=0.0,
        baseline_low=0.0,
        baseline_high=0.0,
        percentile=0.0,
        q_value=math.nan,
        significant=False,
        ci_low=0.0,
        ci_high=0.0,
        hit_rate=0.0,
        hit_ci_low=0.0,
        hit_ci_high=0.0,
        baseline_hit_rate=0.0,
    )
    tests = [ChanceTest(p_value=p, **base) for p in (0.01, 0.04, 0.03)]
    q = [t.q_value for t in correct(tests, alpha=0.05)]
    # sorted 0.01, 0.03, 0.04: 0.01*3/1 = 0.03; 0.03*3/2 = 0.045 -> min with 0.04; 0.04
    assert q == pytest.approx([0.03, 0.04, 0.04])
    assert [t.significant for t in correct(tests, alpha=0.05)] == [True, True, True]


def test_session_bootstrap_resamples_whole_sessions():
    # each session holds the same mean: every resample gives it, the interval collapses
    values = np.array([1.0, 3.0, 2.0, 2.0, 0.0, 4.0])
    sessions = np.array([0, 0, 1, 1, 2, 2])
    rng = np.random.default_rng(5)
    lo, hi, hit_lo, hit_hi = session_bootstrap(values, values > 1.5, sessions, 200, rng, 0.95)
    assert lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    # hits per session: 1/2, 2/2, 1/2 -> resampled shares between 0.5 and 1
    assert 0.5 <= hit_lo <= hit_hi <= 1.0
    one = session_bootstrap(values[:2], values[:2] > 0, sessions[:2], 50, rng, 0.95)
    assert all(math.isnan(x) for x in one)  # a single session: no interval
