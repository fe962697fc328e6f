"""Group measures (plugins/rsengine_rs/group.py): constructed cases and real data.

Real-data tests compare against an independent pandas computation on MES/MNQ/M2K
5-minute closes (inner join on ts_et) and ES=F/NQ=F daily closes.
"""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir
from rsengine_rs.group import (
    MomentumDivergence,
    MoveRatio,
    PairCorrelations,
    SessionRatioStreak,
    lead,
    lead_rows,
    leader_laggard,
    leader_laggard_rows,
    rank,
    rank_rows,
    spreads,
)

NAN = math.nan

# ---------------------------------------------------------------- lead & co


def test_lead_is_own_rs_minus_mean_of_others():
    out = lead([1.0, 2.0, 3.0, 6.0])
    np.testing.assert_array_equal(out, [1 - 11 / 3, 2 - 10 / 3, 3 - 9 / 3, 6 - 6 / 3])


def test_lead_excludes_nan_members_from_others_mean():
    out = lead([1.0, NAN, 3.0])
    assert out[0] == 1.0 - 3.0
    assert out[2] == 3.0 - 1.0


def test_lead_of_nan_member_is_nan():
    assert math.isnan(lead([1.0, NAN, 3.0])[1])


def test_lead_is_nan_when_no_other_member_is_valid():
    out = lead([2.0, NAN])
    assert math.isnan(out[0]) and math.isnan(out[1])


def test_leader_laggard_picks_highest_and_lowest_lead():
    assert leader_laggard([0.5, -1.0, 2.0, NAN]) == (2, 1)


def test_leader_laggard_ties_go_to_lowest_index():
    assert leader_laggard([1.0, 1.0, -1.0, -1.0]) == (0, 2)


def test_leader_laggard_all_nan_gives_minus_one():
    assert leader_laggard([NAN, NAN]) == (-1, -1)


def test_rank_one_is_leader_and_nan_is_zero():
    np.testing.assert_array_equal(rank([0.5, NAN, 2.0, -1.0]), [2, 0, 1, 3])


def test_rank_ties_rank_lower_index_first():
    np.testing.assert_array_equal(rank([1.0, 3.0, 1.0]), [2, 1, 3])


def test_rank_rows_counts_the_members_ahead():
    # ties and NaN on purpose: rank = 1 + earlier members with a lead as high
    # + later members with a higher lead; NaN is never ahead and ranks 0
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, -0.0, 0.0, 0.5, 0.5, 2.0, NAN], size=(300, 4))
    want = np.zeros(x.shape, np.int64)
    for r, row in enumerate(x):
        for i, xi in enumerate(row):
            if not math.isnan(xi):
                ahead = [xj >= xi if j < i else xj > xi for j, xj in enumerate(row) if j != i]
                want[r, i] = 1 + sum(ahead)
    got = rank_rows(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_rows_without_nan_give_what_rows_with_a_nan_member_give(k):
    # the no-NaN shortcut of lead_rows, rank_rows and leader_laggard_rows
    # against the masked path (an extra member that is always NaN)
    x = np.random.default_rng(k).normal(size=(200, k))
    x[::7, 0] = x[::7, 1]  # ties
    masked = np.c_[x, np.full(len(x), NAN)]
    np.testing.assert_array_equal(lead_rows(x), lead_rows(masked)[:, :k])
    np.testing.assert_array_equal(rank_rows(x), rank_rows(masked)[:, :k])
    for got, want in zip(leader_laggard_rows(x), leader_laggard_rows(masked), strict=True):
        np.testing.assert_array_equal(got, want)


def test_spreads_cover_every_pair_in_name_order():
    out = spreads([1.0, 0.25, -0.5], ["ES", "NQ", "RTY"])
    assert out == {"ES-NQ": 0.75, "ES-RTY": 1.5, "NQ-RTY": 0.75}


def test_spreads_rejects_names_of_wrong_length():
    with pytest.raises(ValueError):
        spreads([1.0, 2.0], ["ES"])


# ---------------------------------------------------------------- momentum divergence


def test_momentum_divergence_is_nan_before_n_bars():
    md = MomentumDivergence(n=2, history_bars=3)
    d, z = md.update([100.0, 200.0])
    d, z = md.update([101.0, 202.0])
    assert np.isnan(d).all() and np.isnan(z).all()


def test_momentum_divergence_is_return_minus_mean_of_others():
    md = MomentumDivergence(n=2, history_bars=3)
    for c in ([100.0, 200.0, 50.0], [1.0, 1.0, 1.0], [102.0, 201.0, 50.0]):
        d, _ = md.update(c)
    np.testing.assert_array_equal(md.returns, [2.0, 0.5, 0.0])
    np.testing.assert_array_equal(d, [2.0 - 0.25, 0.5 - 1.0, 0.0 - 1.25])


def test_momentum_z_is_divergence_over_rolling_std_including_current():
    md = MomentumDivergence(n=1, history_bars=3)
    closes = [[100.0, 100.0], [101.0, 100.0], [101.0, 102.0], [102.01, 102.0]]
    divs = []
    for c in closes:
        d, z = md.update(c)
        divs.append(d[0])
    # divergence of instrument 0: nan, 1-0=1, 0-2=-2, 1-0=1
    assert divs[1:] == [1.0, -2.0, pytest.approx(1.0, rel=1e-12)]
    expected = divs[-1] / np.std(divs[1:], ddof=1)
    assert z[0] == pytest.approx(expected, rel=1e-12)


def test_momentum_meaningful_when_abs_z_above_one():
    md = MomentumDivergence()
    md.z = np.array([1.0, -1.0000001, 1.5, NAN])
    np.testing.assert_array_equal(md.meaningful(), [False, True, True, False])


# ---------------------------------------------------------------- move ratio


def test_move_ratio_at_exactly_min_es_is_computed():
    r, _ = MoveRatio()(0.3, 0.2)
    assert r == 0.3 / 0.2


def test_move_ratio_below_min_es_is_nan_and_not_flagged():
    r, out = MoveRatio()(0.3, -0.19999)
    assert math.isnan(r) and out is False


def test_move_ratio_band_edges_are_inside():
    mr = MoveRatio()
    assert mr(0.65, 0.5) == (1.3, False)
    assert mr(0.9, 0.5) == (1.8, False)


def test_move_ratio_outside_band_flagged_on_both_sides():
    mr = MoveRatio()
    assert mr(0.6, 0.5)[1] is True
    assert mr(1.0, 0.5)[1] is True
    assert mr(-0.75, -0.5) == (1.5, False)


def test_move_ratio_works_elementwise_on_arrays():
    r, out = MoveRatio()(np.array([0.65, 1.0, 0.3]), np.array([0.5, 0.5, 0.1]))
    np.testing.assert_array_equal(r, [1.3, 2.0, NAN])
    np.testing.assert_array_equal(out, [False, True, False])


# ---------------------------------------------------------------- session ratio streak


def _run_streak(a, b, **kw):
    s = SessionRatioStreak(**kw)
    return [s.update(x, y) for x, y in zip(a, b, strict=True)]


def test_streak_regime_starts_at_exactly_three_sessions():
    a = [100.0, 101.0, 102.0, 103.0]
    b = [100.0, 100.0, 100.0, 100.0]
    out = _run_streak(a, b, weekly_pct=100.0)
    assert [o["streak"] for o in out] == [0, 1, 2, 3]
    assert [o["regime"] for o in out] == [None, None, None, "a"]


def test_streak_of_b_is_negative_and_capped_at_five():
    b = [100.0 + k for k in range(8)]
    a = [100.0] * 8
    out = _run_streak(a, b, weekly_pct=100.0)
    assert [o["streak"] for o in out] == [0, -1, -2, -3, -4, -5, -5, -5]
    assert out[-1]["regime"] == "b"


def test_session_streak_resets_on_equal_returns():
    a = [100.0, 101.0, 102.0, 102.0]
    b = [100.0, 100.0, 100.0, 100.0]
    assert _run_streak(a, b)[-1]["streak"] == 0


def test_session_ratio_is_settlement_a_over_b():
    assert _run_streak([150.0], [100.0])[0]["ratio"] == 1.5


def test_weekly_edge_of_exactly_one_and_a_half_percent_is_regime():
    # a gains 3/200 = 1.5 % over 5 sessions, alternating so no streak reaches 3
    a = [200.0, 201.0, 200.0, 202.0, 201.0, 203.0]
    b = [100.0] * 6
    out = _run_streak(a, b)
    assert out[-1]["weekly"] == 1.5
    assert max(abs(o["streak"]) for o in out) < 3
    assert out[-1]["regime"] == "a"


def test_weekly_edge_below_threshold_is_no_regime():
    a = [200.0, 201.0, 200.0, 202.0, 201.0, 202.9]
    out = _run_streak(a, [100.0] * 6)
    assert out[-1]["weekly"] < 1.5 and out[-1]["regime"] is None


def test_weekly_is_nan_before_six_settlements():
    out = _run_streak([100.0] * 5, [100.0] * 5)
    assert all(math.isnan(o["weekly"]) for o in out)


# ---------------------------------------------------------------- pair correlations


def test_pair_correlation_is_nan_until_window_full_then_exact():
    closes = np.array([[1.0, 1.0, 1.0], [2.0, 4.0, 0.5], [4.0, 16.0, 0.5], [4.0, 16.0, 1.0]])
    pc = PairCorrelations(window=2, names=["A", "B", "C"])
    outs = [pc.update(c).copy() for c in closes]
    assert np.isnan(outs[0]).all() and np.isnan(outs[1]).all()
    # returns: A ln2, ln2, 0 ; B 2ln2, 2ln2, 0 ; C -ln2, 0, ln2
    assert np.isnan(outs[2][0])  # A and B constant over the window -> NaN
    assert outs[3][0] == pytest.approx(1.0)  # A-B
    assert outs[3][1] == pytest.approx(-1.0)  # A-C
    assert outs[3][2] == pytest.approx(-1.0)  # B-C
    assert set(pc.as_dict()) == {"A-B", "A-C", "B-C"}


def test_pair_correlation_divergent_below_threshold_nan_not():
    pc = PairCorrelations(window=3)
    pc.corr = np.array([0.85, 0.8499, NAN])
    np.testing.assert_array_equal(pc.divergent(), [False, True, False])


# ---------------------------------------------------------------- real data

MICRO = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
FIRST, LAST = "2024-01-02", "2024-03-29"
BARS_PER_SESSION = 276


@pytest.fixture(scope="module")
def micro_closes():
    root = data_dir()
    if not root.is_dir():
        pytest.skip(f"real market data not found at {root} (set RSENGINE_DATA_DIR)")
    cols = {}
    for name, rel in MICRO.items():
        df = pd.read_csv(root / rel, usecols=["ts_et", "close"])
        ts = pd.to_datetime(df["ts_et"], utc=True)
        s = pd.Series(df["close"].to_numpy(float), index=ts)
        et = ts.dt.tz_convert("America/New_York")
        keep = (et >= pd.Timestamp(FIRST, tz="America/New_York")) & (
            et < pd.Timestamp(LAST, tz="America/New_York")
        )
        cols[name] = s[np.asarray(keep)]
    return pd.concat(cols, axis=1, join="inner").sort_index()


@pytest.mark.realdata
def test_pair_correlations_equal_pandas_rolling_corr_of_log_returns(micro_closes):
    window = BARS_PER_SESSION * 5
    pc = PairCorrelations(window, names=list(micro_closes.columns))
    got = np.array([pc.update(row).copy() for row in micro_closes.to_numpy()])
    lr = np.log(micro_closes).diff()
    names = list(micro_closes.columns)
    for p, (i, j) in enumerate(pc.pairs):
        exp = lr[names[i]].rolling(window, min_periods=window).corr(lr[names[j]]).to_numpy()
        assert np.isfinite(exp).sum() > 10_000
        np.testing.assert_allclose(got[:, p], exp, rtol=1e-9, atol=0)


@pytest.mark.realdata
def test_momentum_divergence_z_equals_pandas_rolling_std(micro_closes):
    n, hist = 10, BARS_PER_SESSION * 20
    md = MomentumDivergence(n=n, history_bars=hist)
    zs = np.array([md.update(row)[1].copy() for row in micro_closes.to_numpy()])
    prior = micro_closes.shift(n)
    ret = (micro_closes - prior) / prior * 100
    for k, name in enumerate(micro_closes.columns):
        others = ret.drop(columns=name).mean(axis=1)
        div = ret[name] - others
        exp = (div / div.rolling(hist, min_periods=hist).std()).to_numpy()
        assert np.isfinite(exp).sum() > 5_000
        np.testing.assert_allclose(zs[:, k], exp, rtol=1e-9, atol=1e-12)


@pytest.mark.realdata
def test_session_ratio_streak_equals_pandas_on_daily_settlements():
    root = data_dir()
    if not root.is_dir():
        pytest.skip(f"real market data not found at {root} (set RSENGINE_DATA_DIR)")
    es = pd.read_csv(root / "yfinance-daily/ES=F.csv", index_col="Date")["Close"]
    nq = pd.read_csv(root / "yfinance-daily/NQ=F.csv", index_col="Date")["Close"]
    df = pd.concat({"a": es, "b": nq}, axis=1, join="inner").dropna().sort_index()
    df = df.loc["2022-01-01":]
    s = SessionRatioStreak()
    rows = [s.update(a, b) for a, b in df.to_numpy()]
    got = pd.DataFrame(rows, index=df.index)

    # independent: sign of return difference, run lengths, 5-session edge
    ret = (df - df.shift(1)) / df.shift(1) * 100
    sign = np.sign(ret["a"] - ret["b"]).fillna(0).astype(int)
    block = (sign != sign.shift()).cumsum()
    run = (sign.groupby(block).cumcount() + 1) * sign
    streak = run.clip(-5, 5)
    weekly = ((df - df.shift(5)) / df.shift(5) * 100).eval("a - b")
    regime = pd.Series([None] * len(df), index=df.index, dtype=object)
    regime[weekly <= -1.5] = "b"
    regime[weekly >= 1.5] = "a"
    regime[streak <= -3] = "b"
    regime[streak >= 3] = "a"

    np.testing.assert_allclose(got["ratio"], df["a"] / df["b"], rtol=1e-12)
    np.testing.assert_array_equal(got["streak"].to_numpy(), streak.to_numpy())
    np.testing.assert_allclose(got["weekly"], weekly, rtol=1e-9, atol=1e-12)
    got_regime = [r["regime"] for r in rows]
    assert got_regime == regime.tolist()
    assert "a" in got_regime and "b" in got_regime
