"""Indicator ``group`` (plugins/rsengine_rs/leadership.py).

Real-data tests feed SliceBatches of the 5-minute micros (MES, MNQ, M2K as
ES, NQ, RTY, every bar of each, so rows where one of them has no bar are
kept) plus a copy of MES that is not in the group, through a minimal stand-in
for MarketState, and compare lead, rank, leader, spreads, mom_div, mom_div_z,
the correlations and the NQ/ES ratio with an independent pandas computation.
The same data cut at random places, or one row at a time, must give
bit-identical output.
"""

import math
import types

import numpy as np
import pandas as pd
import pytest
from conftest import MIN, data_dir
from rsengine_rs.leadership import GroupMeasures, bars_per_session

from rsengine.core import SliceBatch

NAN = math.nan
ET = "America/New_York"
FILES = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
# symbol order differs from group order, and OTHER (a copy of MES) is no member
SYMBOLS = ("MNQ", "OTHER", "MES", "M2K")
GROUP = ("ES", "NQ", "RTY")
GROUP_SYMBOLS = ("MES", "MNQ", "M2K")
GROUP_COLS = tuple(SYMBOLS.index(s) for s in GROUP_SYMBOLS)
FIRST, LAST = "2024-01-02", "2024-02-27"  # 40 sessions: z needs 20 of history


def context(symbols=SYMBOLS, group=GROUP, group_symbols=GROUP_SYMBOLS, bar_ns=5 * MIN):
    config = types.SimpleNamespace(group=group, group_symbols=group_symbols)
    return types.SimpleNamespace(symbols=symbols, bar_ns=bar_ns, config=config)


def make_state(symbols=SYMBOLS, group=GROUP, group_symbols=GROUP_SYMBOLS, prior=None):
    prior = {} if prior is None else prior
    return types.SimpleNamespace(
        symbols=symbols,
        values={},
        session=None,
        group=tuple(symbols.index(s) for s in group_symbols),
        group_names=group,
        prior_close=lambda symbol, method="settlement": prior.get(symbol),
        prior=prior,
        daily={},
        tz=ET,
    )


def make_batch(ts_close, close, present=None, volume=None, symbols=SYMBOLS, bar_ns=5 * MIN):
    """A SliceBatch whose bars are flat at ``close`` ((n, k), NaN = no bar)."""
    close = np.asarray(close, float)
    ts_close = np.asarray(ts_close, np.int64)
    present = ~np.isnan(close) if present is None else np.asarray(present, bool)
    n, k = close.shape
    vol = np.where(present, 1.0 if volume is None else np.asarray(volume, float), NAN)
    return SliceBatch(
        tuple(symbols),
        ts_close,
        present=present,
        ts_open=np.where(present, ts_close[:, None] - bar_ns, -1),
        open=close,
        high=close,
        low=close,
        close=close,
        volume=vol,
        vwap=np.full((n, k), NAN),
        trades=present.astype(np.int64),
        flags=np.zeros((n, k), np.uint8),
    )


# ---------------------------------------------------------------- constructed cases


def test_columns_name_every_pair_in_group_order():
    ind = GroupMeasures({}, context())
    assert ind.columns == (
        "lead",
        "rank",
        "leader",
        "laggard",
        "spread_es_nq",
        "spread_es_rty",
        "spread_nq_rty",
        "mom_div",
        "mom_div_z",
        "mom_div_sig",
        "corr_es_nq",
        "corr_es_rty",
        "corr_nq_rty",
        "nq_es_ratio",
        "nq_es_outside",
    )


def test_no_ratio_columns_without_nq_and_es():
    ctx = context(symbols=("M2K", "MYM"), group=("RTY", "YM"), group_symbols=("M2K", "MYM"))
    ind = GroupMeasures({}, ctx)
    assert "nq_es_ratio" not in ind.columns and "corr_rty_ym" in ind.columns


def test_history_windows_are_sessions_of_23_hours_of_bars():
    assert bars_per_session(5 * MIN) == 276
    assert bars_per_session(MIN) == 1380
    ind = GroupMeasures({"z_history_sessions": 2, "corr_sessions": 3}, context())
    assert (ind.history_bars, ind.corr_window) == (552, 828)


def test_missing_rs_pct_is_an_error_naming_the_rs_indicator():
    ind = GroupMeasures({}, context())
    batch = make_batch([5 * MIN], [[1.0, 1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="indicator group needs rs_pct: configure the rs"):
        ind.update_batch(batch, make_state())


def test_normalized_mode_needs_rs_norm():
    ind = GroupMeasures({"mode": "normalized"}, context())
    state = make_state()
    state.values = {"rs_pct": np.zeros((1, 4))}
    with pytest.raises(ValueError, match="rs_norm"):
        ind.update_batch(make_batch([5 * MIN], [[1.0] * 4]), state)


@pytest.mark.parametrize(
    "settings",
    [{"mode": "fast"}, {"momentum_bars": 0}, {"ratio_band": [1.8, 1.3]}, {"ratio_band": 1.5}],
)
def test_bad_settings_are_refused(settings):
    with pytest.raises(ValueError):
        GroupMeasures(settings, context())


def test_unknown_setting_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="momentum_bars"):
        GroupMeasures({"momentum": 5}, context())


def one_row(ind, rs, rs_norm=None):
    """Run one row (columns in SYMBOLS order) and return its outputs."""
    rs = np.asarray([rs], float)
    state = make_state()
    state.values = {"rs_pct": rs}
    if rs_norm is not None:
        state.values["rs_norm"] = np.asarray([rs_norm], float)
    out = ind.update_batch(make_batch([5 * MIN], np.full((1, 4), 100.0)), state)
    return {name: v[0] for name, v in out.items()}


def test_lead_rank_leader_spreads_and_ratio_in_one_row():
    # SYMBOLS = MNQ, OTHER, MES, M2K; group ES=MES, NQ=MNQ, RTY=M2K
    row = one_row(GroupMeasures({}, context()), [0.75, 9.0, 0.5, -0.25])
    es, nq, rty = 2, 0, 3
    assert row["lead"][es] == 0.5 - (0.75 - 0.25) / 2
    assert row["lead"][nq] == 0.75 - (0.5 - 0.25) / 2
    assert row["lead"][rty] == -0.25 - (0.5 + 0.75) / 2
    assert math.isnan(row["lead"][1])
    assert list(row["rank"]) == [1, 0, 2, 3]
    assert list(row["leader"]) == ["NQ", "", "NQ", "NQ"]
    assert list(row["laggard"]) == ["RTY", "", "RTY", "RTY"]
    assert row["spread_es_nq"][es] == -0.25 and row["spread_nq_rty"][rty] == 1.0
    assert math.isnan(row["spread_es_nq"][1])
    assert row["nq_es_ratio"][nq] == 1.5 and not row["nq_es_outside"][nq]
    assert not row["nq_es_outside"][1]


def test_ratio_below_min_es_is_nan_and_band_edges_inside():
    ind = GroupMeasures({}, context())
    assert math.isnan(one_row(ind, [0.3, 0, 0.19, 0])["nq_es_ratio"][0])
    row = one_row(ind, [0.26, 0, 0.2, 0])
    assert row["nq_es_ratio"][0] == 0.26 / 0.2 and not row["nq_es_outside"][0]
    assert one_row(ind, [0.9, 0, 0.5, 0])["nq_es_ratio"][0] == 1.8
    assert one_row(ind, [1.0, 0, 0.5, 0])["nq_es_outside"][0]


def test_normalized_mode_leads_on_rs_norm_and_ratio_stays_raw():
    ind = GroupMeasures({"mode": "normalized"}, context())
    row = one_row(ind, [0.75, 0, 0.5, 0.25], rs_norm=[1.0, 0, 2.0, 3.0])
    assert row["lead"][3] == 3.0 - 1.5  # RTY on rs_norm
    assert list(row["leader"][[0, 2, 3]]) == ["RTY"] * 3
    assert row["nq_es_ratio"][0] == 1.5  # raw 0.75 / 0.5


def test_no_lead_anywhere_gives_empty_leader_text_and_rank_zero():
    row = one_row(GroupMeasures({}, context()), [NAN, 1.0, 0.5, NAN])
    assert np.isnan(row["lead"]).all()
    assert list(row["rank"]) == [0, 0, 0, 0]
    assert list(row["leader"]) == ["", "", "", ""]


def test_momentum_divergence_runs_over_each_members_own_bars():
    # MNQ skips the middle row: its 1-bar return at row 2 is from row 0
    ind = GroupMeasures({"momentum_bars": 1, "z_history_sessions": 1}, context())
    close = np.array([[100.0, 1, 100.0, 100.0], [NAN, 1, 101.0, 102.0], [103.0, 1, 102.01, 102.0]])
    state = make_state()
    state.values = {"rs_pct": np.zeros((3, 4))}
    out = ind.update_batch(make_batch(np.arange(1, 4) * 5 * MIN, close), state)
    div = out["mom_div"]
    # row 1: ES +1 %, RTY +2 %, NQ absent
    assert div[1, 2] == pytest.approx(1.0 - 2.0) and math.isnan(div[1, 0])
    # row 2: NQ +3 % over its own last bar, ES +1 %, RTY 0
    np.testing.assert_allclose(div[2, [2, 0, 3]], [1 - 1.5, 3 - 0.5, 0 - 2.0], rtol=1e-12)
    assert np.isnan(div[:, 1]).all() and np.isnan(out["mom_div_z"][:, 1]).all()


def test_correlation_uses_rows_where_both_members_have_a_bar():
    # a primary bar of a third of a session: the 1-session window is 3 rows
    ctx = context(("MES", "MNQ"), ("ES", "NQ"), ("MES", "MNQ"), bar_ns=23 * 3600 * 10**9 // 3)
    ind = GroupMeasures({"corr_sessions": 1}, ctx)
    assert ind.corr_window == 3
    es = [100.0, 101.0, 102.0, 103.0, 102.0, 104.0]
    nq = [200.0, NAN, 204.0, 208.0, 206.0, 207.0]
    state = make_state(("MES", "MNQ"), ("ES", "NQ"), ("MES", "MNQ"))
    state.values = {"rs_pct": np.zeros((6, 2))}
    batch = make_batch(np.arange(1, 7) * 5 * MIN, np.c_[es, nq], symbols=("MES", "MNQ"))
    corr = ind.update_batch(batch, state)["corr_es_nq"]
    # rows with both: 0 (no returns yet), 2, 3, 4, 5; NQ's row-2 return is from
    # row 0, ES's from row 1. Windows of 3 such rows: the first without a NaN
    # ends at row 4.
    assert np.isnan(corr[:4]).all()
    x = np.log([102 / 101, 103 / 102, 102 / 103, 104 / 102])
    y = np.log([204 / 200, 208 / 204, 206 / 208, 207 / 206])
    assert corr[4, 0] == pytest.approx(np.corrcoef(x[:3], y[:3])[0, 1], rel=1e-12)
    assert corr[5, 1] == pytest.approx(np.corrcoef(x[1:], y[1:])[0, 1], rel=1e-12)


# ---------------------------------------------------------------- real data


def load_bars(files=FILES, first=FIRST, last=LAST, copy_of=("OTHER", "MES")):
    """Long table: symbol, ts_open, ts_close, OHLCV and the session date."""
    frames = []
    for symbol, name in files.items():
        df = pd.read_csv(
            data_dir() / name, usecols=["ts_et", "open", "high", "low", "close", "volume"]
        )
        ts_open = pd.to_datetime(df["ts_et"], utc=True)
        keep = (ts_open >= pd.Timestamp(first, tz=ET) - pd.Timedelta(days=2)) & (
            ts_open < pd.Timestamp(last, tz=ET) + pd.Timedelta(days=1)
        )
        df = df[np.asarray(keep)]
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "ts_open": ts_open[keep]
                .dt.tz_localize(None)
                .to_numpy("datetime64[ns]")
                .view(np.int64),
                **{c: df[c].to_numpy(float) for c in ("open", "high", "low", "close", "volume")},
            }
        )
        frames.append(frame)
        if copy_of and symbol == copy_of[1]:
            frames.append(frame.assign(symbol=copy_of[0]))
    bars = pd.concat(frames, ignore_index=True)
    bars["ts_close"] = bars["ts_open"] + 5 * MIN
    local = pd.to_datetime(bars["ts_close"] - 1, utc=True).dt.tz_convert(ET)
    day = local.dt.tz_localize(None).dt.normalize()
    day = day.where(local.dt.hour < 18, day + pd.Timedelta(days=1))
    bars["session"] = day.dt.strftime("%Y-%m-%d")
    bars = bars[(bars["session"] >= first) & (bars["session"] <= last)]
    return bars.sort_values(["ts_close", "symbol"], kind="stable").reset_index(drop=True)


def session_batches(bars, symbols=SYMBOLS):
    """(date, SliceBatch) per session; rows = every ts_close with a bar."""
    col = {s: i for i, s in enumerate(symbols)}
    for date, g in bars.groupby("session", sort=True):
        ts = np.unique(g["ts_close"].to_numpy())
        n, k = len(ts), len(symbols)
        row = np.searchsorted(ts, g["ts_close"].to_numpy())
        c = g["symbol"].map(col).to_numpy()
        present = np.zeros((n, k), bool)
        present[row, c] = True
        ts_open = np.full((n, k), -1, np.int64)
        ts_open[row, c] = g["ts_open"].to_numpy()
        floats = {}
        for name in ("open", "high", "low", "close", "volume"):
            floats[name] = np.full((n, k), NAN)
            floats[name][row, c] = g[name].to_numpy()
        yield (
            date,
            SliceBatch(
                tuple(symbols),
                ts,
                present=present,
                ts_open=ts_open,
                vwap=np.full((n, k), NAN),
                trades=present.astype(np.int64),
                flags=np.zeros((n, k), np.uint8),
                **floats,
            ),
        )


def cuts(n, split, rng):
    if split == "session":
        return [0, n]
    if split == "rows":
        return list(range(n + 1))
    inner = rng.choice(np.arange(1, n), size=min(n - 1, int(rng.integers(0, 12))), replace=False)
    return [0, *sorted(int(x) for x in inner), n]


@pytest.fixture(scope="module")
def bars():
    if not (data_dir() / FILES["MES"]).exists():
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")
    return load_bars()


def run_group(bars, settings=None, split="session", seed=0, symbols=SYMBOLS):
    """Feed every session (split as asked); rs_pct from the prior session's
    last close. Returns (ts_close (N,), column -> (N, k))."""
    rng = np.random.default_rng(seed)
    ind = GroupMeasures(dict(settings or {}), context(symbols))
    state = make_state(symbols)
    last_close = {}
    parts = {name: [] for name in ind.columns}
    stamps = []
    for date, batch in session_batches(bars[bars["symbol"].isin(symbols)], symbols):
        state.session = types.SimpleNamespace(date=date)
        prior = np.array([last_close.get(s, NAN) for s in symbols])
        edges = cuts(len(batch), split, rng)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part = batch.rows(lo, hi)
            state.values = {"rs_pct": (part.close - prior) / prior * 100}
            out = ind.update_batch(part, state)
            assert set(out) == set(ind.columns)
            for name in ind.columns:
                assert out[name].shape == (hi - lo, len(symbols))
                parts[name].append(out[name])
        stamps.append(batch.ts_close)
        for i, s in enumerate(symbols):
            if batch.present[:, i].any():
                last_close[s] = float(batch.close[batch.present[:, i], i][-1])
    return np.concatenate(stamps), {n: np.concatenate(p) for n, p in parts.items()}


@pytest.fixture(scope="module")
def by_session(bars):
    return run_group(bars)


def wide(bars, column):
    """ts_close x symbol table of one bar column (NaN where no bar)."""
    return bars.pivot(index="ts_close", columns="symbol", values=column)[list(GROUP_SYMBOLS)]


def expected(bars, n=10, history=276 * 20, window=276 * 5):
    """Independent pandas computation of the group columns (group order)."""
    close = wide(bars, "close")
    sessions = bars.groupby("ts_close")["session"].first()
    last = bars.groupby(["session", "symbol"])["close"].last().unstack()[list(GROUP_SYMBOLS)]
    prior = last.shift(1).reindex(sessions.to_numpy())
    prior.index = close.index
    rs = (close - prior) / prior * 100
    names = dict(zip(GROUP_SYMBOLS, GROUP, strict=True))

    def minus_others(x):
        return pd.DataFrame({s: x[s] - x.drop(columns=s).mean(axis=1) for s in x.columns})

    lead = minus_others(rs)
    exp = {"rs": rs, "lead": lead}
    exp["rank"] = lead.rank(axis=1, ascending=False, method="first").fillna(0).astype(int)
    any_lead = lead.notna().any(axis=1)
    exp["leader"] = lead.fillna(-np.inf).idxmax(axis=1).map(names).where(any_lead, "")
    exp["laggard"] = lead.fillna(np.inf).idxmin(axis=1).map(names).where(any_lead, "")

    ret, logret = {}, {}
    for s in GROUP_SYMBOLS:
        own = close[s].dropna()
        ret[s] = ((own - own.shift(n)) / own.shift(n) * 100).reindex(close.index)
        logret[s] = np.log(own / own.shift(1)).reindex(close.index)
    div = minus_others(pd.DataFrame(ret))
    exp["mom_div"] = div
    exp["mom_div_z"] = pd.DataFrame(
        {
            s: (div[s].dropna() / div[s].dropna().rolling(history).std()).reindex(close.index)
            for s in GROUP_SYMBOLS
        }
    )
    corr = {}
    for a in range(3):
        for b in range(a + 1, 3):
            x, y = logret[GROUP_SYMBOLS[a]], logret[GROUP_SYMBOLS[b]]
            both = close[GROUP_SYMBOLS[a]].notna() & close[GROUP_SYMBOLS[b]].notna()
            c = x[both].rolling(window).corr(y[both]).reindex(close.index)
            corr[f"corr_{GROUP[a].lower()}_{GROUP[b].lower()}"] = c
    exp["corr"] = corr
    es, nq = rs["MES"], rs["MNQ"]
    exp["nq_es_ratio"] = (nq / es).where(es.abs() >= 0.2)
    return exp


@pytest.mark.realdata
def test_real_data_equals_independent_pandas(bars, by_session):
    ts, got = by_session
    exp = expected(bars)
    assert np.array_equal(ts, exp["lead"].index.to_numpy())
    g = list(GROUP_COLS)
    np.testing.assert_allclose(got["lead"][:, g], exp["lead"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(got["rank"][:, g], exp["rank"])
    assert (got["leader"][:, 0] == exp["leader"].to_numpy()).all()
    assert (got["laggard"][:, 3] == exp["laggard"].to_numpy()).all()
    rs = exp["rs"]
    np.testing.assert_allclose(got["spread_es_rty"][:, 0], rs["MES"] - rs["M2K"], rtol=1e-12)
    np.testing.assert_allclose(got["mom_div"][:, g], exp["mom_div"], rtol=1e-9, atol=1e-12)
    z = exp["mom_div_z"].to_numpy()
    assert np.isfinite(z).sum() > 10_000 and np.isnan(z).sum() > 10_000
    np.testing.assert_allclose(got["mom_div_z"][:, g], z, rtol=1e-8, atol=1e-10)
    sig = got["mom_div_sig"][:, g]
    assert sig.any() and (sig == (np.abs(z) > 1.0)).all()
    for name, c in exp["corr"].items():
        assert np.isfinite(c).sum() > 5_000
        for col in g:
            np.testing.assert_allclose(got[name][:, col], c, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["nq_es_ratio"][:, 2], exp["nq_es_ratio"], rtol=1e-12)
    # rows where one member has no bar are kept and handled
    rty_gap = np.isnan(got["lead"][:, 3]) & np.isfinite(got["lead"][:, 2])
    assert rty_gap.sum() >= 1 and np.isfinite(got["corr_es_nq"][rty_gap, 2]).all()


@pytest.mark.realdata
def test_real_data_non_group_instrument_gets_nothing(by_session):
    _, got = by_session
    other = SYMBOLS.index("OTHER")
    for name, v in got.items():
        col = v[:, other]
        if v.dtype == object:
            assert (col == "").all(), name
        elif v.dtype == np.bool_:
            assert not col.any(), name
        elif name == "rank":
            assert (col == 0).all()
        else:
            assert np.isnan(col).all(), name


@pytest.mark.realdata
@pytest.mark.parametrize("split,seed", [("random", 1), ("random", 2), ("rows", 0)])
def test_any_split_gives_identical_output(bars, by_session, split, seed):
    _, want = by_session
    _, got = run_group(bars, split=split, seed=seed)
    for name in want:
        assert np.array_equal(got[name], want[name], equal_nan=want[name].dtype != object), name


@pytest.mark.realdata
@pytest.mark.parametrize("split,seed", [("session", 0), ("random", 4)])
def test_members_as_the_only_columns_give_identical_output(bars, by_session, split, seed):
    # symbols = the group in group order takes shortcuts (no scatter into
    # wider columns); the members' columns must not change by a bit
    _, want = by_session
    _, got = run_group(bars, split=split, seed=seed, symbols=GROUP_SYMBOLS)
    for name in want:
        assert got[name].shape == (len(want[name]), 3), name
        w = want[name][:, list(GROUP_COLS)]
        assert np.array_equal(got[name], w, equal_nan=w.dtype != object), name
        assert got[name].flags.c_contiguous, name
