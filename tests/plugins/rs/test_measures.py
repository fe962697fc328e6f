"""Indicator ``measures`` (plugins/rsengine_rs/measures.py).

Real-data tests feed SliceBatches built from the 5-minute micros (MES, MNQ,
M2K) of two stretches, each with a DST change and a 13:00 ET holiday session
(2024-02-19 Presidents' Day; 2024-11-28 Thanksgiving, then the 13:15 ET early
close of 2024-11-29), through a minimal stand-in for the engine's MarketState,
and compare every column with an independent pandas computation (groupby
session, rolling, ewm). The same batches cut at random places, or one row at a
time, must give bit-identical output.
"""

import math
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from conftest import MIN, data_dir, et_ns
from rsengine_record import read_bars
from rsengine_rs.measures import COLUMNS, DEFAULTS, Measures
from test_leadership import cuts
from test_leadership import session_batches as leadership_batches

from rsengine.config import load_config
from rsengine.core import SliceBatch
from rsengine.host.runner import build_engine
from rsengine.state import SessionInfo

ET = "America/New_York"
CONFIG = Path(__file__).resolve().parents[3] / "configs" / "replay-micros.yaml"
SYMBOLS = ("MES", "MNQ", "M2K")
FILES = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
# 30 and 26 sessions: the ATR (14 completed sessions) is defined in the last weeks
SPRING = ("2024-02-12", "2024-03-22")  # DST 2024-03-10, holiday session 2024-02-19
AUTUMN = ("2024-11-01", "2024-12-06")  # DST 2024-11-03, 2024-11-28 holiday, 11-29 early
FLOAT_COLUMNS = tuple(c for c in COLUMNS if c != "vol_expanding")


# ---------------------------------------------------------------- data


@pytest.fixture(scope="module")
def raw():
    if not (data_dir() / FILES["MES"]).exists():
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")
    frames = []
    for symbol, name in FILES.items():
        df = pd.read_csv(
            data_dir() / name, usecols=["ts_et", "open", "high", "low", "close", "volume"]
        )
        ts_open = pd.to_datetime(df["ts_et"], utc=True)
        keep = (ts_open >= "2024-02-09") & (ts_open < "2024-03-23") | (
            (ts_open >= "2024-10-30") & (ts_open < "2024-12-07")
        )
        df, ts_open = df[keep], ts_open[keep]
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "ts_open": ts_open.dt.tz_localize(None)
                    .to_numpy("datetime64[ns]")
                    .view(np.int64),
                    "open": df["open"].to_numpy(float),
                    "high": df["high"].to_numpy(float),
                    "low": df["low"].to_numpy(float),
                    "close": df["close"].to_numpy(float),
                    "volume": df["volume"].to_numpy(float),
                }
            )
        )
    bars = pd.concat(frames, ignore_index=True)
    bars["ts_close"] = bars["ts_open"] + 5 * MIN
    # Globex session date: the day the session closes (a close after 18:00 ET rolls over)
    last = pd.to_datetime(bars["ts_close"] - 1, utc=True).dt.tz_convert(ET)
    day = last.dt.tz_localize(None).dt.normalize()
    day = day.where(last.dt.hour < 18, day + pd.Timedelta(days=1))
    bars["session"] = day.dt.strftime("%Y-%m-%d")
    return bars


def window(raw, dates) -> pd.DataFrame:
    first, last = dates
    bars = raw[(raw["session"] >= first) & (raw["session"] <= last)].copy()
    schedule = mcal.get_calendar("CME Globex Equity").schedule(first, last)
    hours = {}
    for day, row in schedule.iterrows():
        date = day.strftime("%Y-%m-%d")
        close = row["market_close"].value
        hours[date] = (
            row["market_open"].value,
            close,
            pd.Timestamp(f"{date} 09:30", tz=ET).value,
            min(pd.Timestamp(f"{date} 16:00", tz=ET).value, close),
        )
    assert set(bars["session"]) <= set(hours)
    for i, name in enumerate(("open_ns", "close_ns", "rth_open", "rth_close")):
        bars[name] = bars["session"].map({d: h[i] for d, h in hours.items()})
    # a holiday halt: the calendar closes the session before the 13:15 ET early close
    early = pd.to_datetime(bars["session"] + " 13:15").dt.tz_localize(ET)
    bars["halt"] = bars["close_ns"] < early.map(lambda t: t.value)
    return bars.sort_values(["ts_close", "symbol"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- the harness


class FakeState:
    """What the indicator reads of rsengine.state.MarketState."""

    def __init__(self):
        self.symbols = SYMBOLS
        self.session = None
        self.values = {}
        self.daily = {
            s: types.SimpleNamespace(dates=[], high=[], low=[], close=[]) for s in SYMBOLS
        }
        self.prior = {}

    def prior_close(self, symbol, method="settlement"):
        assert method == "settlement"
        return self.prior.get(symbol)


def session_batches(bars):
    """(SessionInfo, SliceBatch) per session, rows = every ts_close with a bar."""
    for date, batch in leadership_batches(bars, SYMBOLS):
        first = bars[bars["session"] == date].iloc[0]
        hours = (first["open_ns"], first["close_ns"], first["rth_open"], first["rth_close"])
        yield SessionInfo(date, *(int(h) for h in hours)), batch


def run(bars, settings=None, split="session", seed=0, with_rs=True):
    """Feed every session of ``bars`` (split as asked); return column -> (N, k)."""
    rng = np.random.default_rng(seed)
    ind = Measures(dict(settings or {}), types.SimpleNamespace(symbols=SYMBOLS, bar_ns=5 * MIN))
    state = FakeState()
    rth_last = {}
    held = {}  # symbol -> (high, low) of a halt session, for the next daily bar
    parts = {name: [] for name in COLUMNS}
    for info, batch in session_batches(bars):
        state.session = info
        state.prior = dict(rth_last)
        prior = np.array([rth_last.get(s, np.nan) for s in SYMBOLS])
        edges = cuts(len(batch), split, rng)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part = batch.rows(lo, hi)
            state.values = {"rs_pct": (part.close - prior) / prior * 100} if with_rs else {}
            out = ind.update_batch(part, state)
            assert set(out) == set(COLUMNS)
            for name in COLUMNS:
                assert out[name].shape == (hi - lo, len(SYMBOLS))
                parts[name].append(out[name])
        # the session completes: what the engine appends to state.daily. DOMAIN.md
        # §2: a holiday halt (closed before 13:15 ET) publishes no settlement, so it
        # is never the next session's prior (SessionCloses.prior_session skips
        # it), and its trades belong to the next trade date: its high and low go
        # into the next session's daily bar
        halt = info.close_ns < et_ns(f"{info.date} 13:15")
        for i, s in enumerate(SYMBOLS):
            rows = batch.present[:, i]
            if rows.any():
                high, low = float(batch.high[rows, i].max()), float(batch.low[rows, i].min())
                if s in held:
                    high, low = max(high, held[s][0]), min(low, held[s][1])
                if halt:
                    held[s] = (high, low)
                    continue
                held.pop(s, None)
                daily = state.daily[s]
                daily.dates.append(info.date)
                daily.high.append(high)
                daily.low.append(low)
                daily.close.append(float(batch.close[rows, i][-1]))
                in_rth = rows & (batch.ts_close <= info.rth_close_ns)
                rth_last[s] = float(batch.close[in_rth, i][-1])
    return {name: np.concatenate(p) for name, p in parts.items()}


# ---------------------------------------------------------------- pandas reference


def wilder(x: pd.Series, period: int) -> pd.Series:
    """Wilder's average with pandas ewm: the first value is the simple mean of
    the first ``period`` valid inputs (NaN before)."""
    valid = x.dropna()
    seeded = pd.Series(np.nan, index=x.index)
    if len(valid) < period:
        return seeded
    seeded[valid.index[period - 1 :]] = valid.iloc[period - 1 :]
    seeded[valid.index[period - 1]] = valid.iloc[:period].mean()
    return seeded.ewm(alpha=1 / period, adjust=False, ignore_na=True).mean()


def trade_dates(g: pd.DataFrame) -> dict:
    """Session -> the trade date its bars belong to: itself, or for a holiday halt
    the next session (a halt that ends the data keeps its own)."""
    halts = g.groupby("session")["halt"].first()
    out, pending = {}, []
    for day, halt in halts.items():
        if halt:
            pending.append(day)
            continue
        out.update({p: day for p in pending})
        out[day], pending = day, []
    return {**out, **{p: p for p in pending}}


def expected_one(g: pd.DataFrame, s: dict) -> pd.DataFrame:
    g = g.reset_index(drop=True)
    out = pd.DataFrame({"ts_close": g["ts_close"], "symbol": g["symbol"]})
    v, c = g["volume"], g["close"]
    pv = (g["high"] + g["low"] + c) / 3 * v
    by = g["session"]
    if s["vwap_from"] == "rth":
        inside = (g["ts_open"] >= g["rth_open"]) & (g["ts_close"] <= g["rth_close"])
    else:
        inside = pd.Series(True, index=g.index)
    cum_pv = pv.where(inside, 0.0).groupby(by).cumsum()
    cum_v = v.where(inside, 0.0).groupby(by).cumsum()
    out["vwap"] = (cum_pv / cum_v).where(inside & (cum_v > 0))
    out["vwap20"] = pv.rolling(s["vwap_bars"]).sum() / v.rolling(s["vwap_bars"]).sum()

    d = c.diff()
    gain = wilder(d.clip(lower=0), s["rsi_period"])
    loss = wilder((-d).clip(lower=0), s["rsi_period"])
    out["rsi"] = (100 * gain / (gain + loss)).where(gain + loss > 0, 50.0).where(gain.notna())

    mean = v.rolling(s["volume_bars"]).mean()
    prev = mean.shift(1)
    out["vol_mean20"] = mean
    out["vol_ratio"] = (v / prev).where(prev > 0)
    sums = v.rolling(s["volume_bars"]).sum()  # whole volumes: exact sums
    out["vol_expanding"] = (sums > sums.shift(1)).astype(bool)

    for name, minutes in (("or", "opening_range_minutes"), ("ib", "initial_balance_minutes")):
        end = g["rth_open"] + round(s[minutes] * MIN)
        inside = (g["ts_open"] >= g["rth_open"]) & (g["ts_close"] <= end)
        done = g["ts_close"] >= end
        out[f"{name}_high"] = g["high"].where(inside).groupby(by).transform("max").where(done)
        out[f"{name}_low"] = g["low"].where(inside).groupby(by).transform("min").where(done)

    trade_date = by.map(trade_dates(g))  # a halt's bars count with the next session
    daily = g.groupby(trade_date).agg(
        high=("high", "max"), low=("low", "min"), close=("close", "last")
    )
    prev_close = daily["close"].shift(1)
    tr = pd.concat([daily["high"], prev_close], axis=1).max(axis=1) - pd.concat(
        [daily["low"], prev_close], axis=1
    ).min(axis=1)
    atr_after = wilder(tr, s["atr_sessions"])  # after each completed session
    out["atr"] = trade_date.map(atr_after.shift(1))
    # DOMAIN.md §2: a 13:00 ET holiday halt publishes no settlement; the next
    # session's prior is the last published one (halt sessions keep the one before)
    settled = g["ts_close"] <= g["rth_close"]
    rth_last = g[settled].groupby("session")["close"].last()
    halts = g.groupby("session")["halt"].first()
    prior = by.map(rth_last.where(~halts).ffill().shift(1))
    out["atr_pct"] = out["atr"] / prior * 100
    out["rs_norm"] = ((c - prior) / prior * 100) / out["atr_pct"]
    base = c.shift(s["momentum_bars"])
    out["mom"] = (c - base) / base * 100
    return out


def expected(bars, settings=None) -> dict:
    s = {**DEFAULTS, **(settings or {})}
    per = pd.concat([expected_one(g, s) for _, g in bars.groupby("symbol")])
    index = np.unique(bars["ts_close"].to_numpy())
    result = {}
    for name in COLUMNS:
        wide = per.pivot(index="ts_close", columns="symbol", values=name)
        wide = wide.reindex(index=index, columns=list(SYMBOLS))
        if name == "vol_expanding":
            result[name] = wide.fillna(False).to_numpy(bool)
        else:
            result[name] = wide.to_numpy(float)
    return result


def assert_matches(got, want):
    for name in FLOAT_COLUMNS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=0, err_msg=name)
    np.testing.assert_array_equal(got["vol_expanding"], want["vol_expanding"])


def assert_identical(a, b):
    for name in COLUMNS:
        assert a[name].dtype == b[name].dtype, name
        assert np.array_equal(a[name], b[name], equal_nan=name != "vol_expanding"), name


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module", params=[SPRING, AUTUMN], ids=["spring", "autumn"])
def stretch(raw, request):
    bars = window(raw, request.param)
    return bars, run(bars)


realdata = pytest.mark.realdata


@realdata
def test_every_column_equals_pandas(stretch):
    bars, got = stretch
    want = expected(bars)
    assert_matches(got, want)
    # every column has values to compare, the ATR ones in the last sessions only
    for name in FLOAT_COLUMNS:
        assert np.isfinite(got[name]).sum() > 200, name
    assert got["vol_expanding"].any() and not got["vol_expanding"].all()


@realdata
def test_random_splits_give_identical_output(stretch):
    bars, whole = stretch
    for seed in (1, 2):
        assert_identical(run(bars, split="random", seed=seed), whole)


@realdata
def test_one_row_batches_give_identical_output(raw):
    bars = window(raw, ("2024-11-25", "2024-12-03"))
    assert_identical(run(bars, split="rows"), run(bars))


@realdata
@pytest.mark.parametrize(
    "settings",
    [
        {"vwap_from": "globex", "momentum_bars": 5, "rsi_period": 7},
        {"volume_bars": 10, "vwap_bars": 30, "atr_sessions": 5, "momentum_bars": 20},
        {"opening_range_minutes": 15, "initial_balance_minutes": 90, "momentum_bars": 1},
    ],
)
def test_other_settings_equal_pandas(raw, settings):
    bars = window(raw, AUTUMN)
    got = run(bars, settings, split="random", seed=3)
    assert_matches(got, expected(bars, settings))


def rows_at(bars, date, hhmm):
    """Row index in the run output of the bars closing at ``date hh:mm`` ET."""
    index = np.unique(bars["ts_close"].to_numpy())
    return int(np.searchsorted(index, et_ns(f"{date} {hhmm}")))


@realdata
def test_opening_range_published_from_the_bar_that_completes_it(stretch):
    bars, got = stretch
    date = bars["session"].iloc[-1]
    day = bars[bars["session"] == date]
    at_0955, at_1000 = rows_at(bars, date, "09:55"), rows_at(bars, date, "10:00")
    for i, s in enumerate(SYMBOLS):
        mine = day[day["symbol"] == s]
        clock = pd.to_datetime(mine["ts_open"], utc=True).dt.tz_convert(ET).dt.strftime("%H:%M")
        first30 = mine[(clock >= "09:30") & (clock < "10:00")]
        first60 = mine[(clock >= "09:30") & (clock < "10:30")]
        assert len(first30) == 6 and len(first60) == 12
        assert math.isnan(got["or_high"][at_0955, i]) and math.isnan(got["or_low"][at_0955, i])
        assert got["or_high"][at_1000, i] == first30["high"].max()
        assert got["or_low"][at_1000, i] == first30["low"].min()
        at_1025, at_1030 = rows_at(bars, date, "10:25"), rows_at(bars, date, "10:30")
        assert math.isnan(got["ib_high"][at_1025, i])
        assert got["ib_high"][at_1030, i] == first60["high"].max()
        assert got["ib_low"][at_1030, i] == first60["low"].min()
        # fixed for the rest of the session, on every bar the instrument has
        index = np.unique(bars["ts_close"])
        later = (index >= et_ns(f"{date} 10:30")) & np.isin(index, mine["ts_close"])
        assert later.sum() > 50
        assert (got["ib_high"][later, i] == first60["high"].max()).all()


@realdata
def test_vwap_starts_with_the_bar_opening_at_0930(stretch):
    bars, got = stretch
    date = bars["session"].iloc[-1]
    at_0930, at_0935 = rows_at(bars, date, "09:30"), rows_at(bars, date, "09:35")
    for i, s in enumerate(SYMBOLS):
        bar = bars[(bars["symbol"] == s) & (bars["ts_open"] == et_ns(f"{date} 09:30"))].iloc[0]
        assert math.isnan(got["vwap"][at_0930, i])  # the 09:25-09:30 bar is pre-market
        assert got["vwap"][at_0935, i] == pytest.approx(
            (bar["high"] + bar["low"] + bar["close"]) / 3, rel=1e-15
        )


@realdata
def test_holiday_and_early_close_sessions_have_rth_measures(raw):
    bars = window(raw, AUTUMN)
    got = run(bars)
    index = np.unique(bars["ts_close"].to_numpy())
    for date, close in (("2024-11-28", "13:00"), ("2024-11-29", "13:15")):
        day = (index > et_ns(f"{date} 09:30")) & (index <= et_ns(f"{date} {close}"))
        assert day.sum() >= 40
        assert index[index <= et_ns(f"{date} 18:00")][-1] == et_ns(f"{date} {close}")
        assert np.isfinite(got["vwap"][day]).all()
        assert np.isfinite(got["ib_high"][day & (index >= et_ns(f"{date} 10:30"))]).all()
    # the ATR covers the 14 sessions before: defined from the 15th session on
    dates = sorted(set(bars["session"]))
    first_atr = np.flatnonzero(np.isfinite(got["atr"][:, 0]))[0]
    assert index[first_atr] > et_ns(f"{dates[13]} 17:00")


@realdata
def test_missing_bars_are_left_out_and_their_slots_empty(raw):
    bars = window(raw, SPRING)
    rng = np.random.default_rng(7)
    drop = rng.random(len(bars)) < 0.03
    date = "2024-03-12"
    for s, hhmm in (("MES", "09:50"), ("MES", "09:55"), ("M2K", "09:55"), ("MNQ", "09:30")):
        drop |= ((bars["symbol"] == s) & (bars["ts_open"] == et_ns(f"{date} {hhmm}"))).to_numpy()
    holey = bars[~drop].reset_index(drop=True)
    got = run(holey, split="random", seed=4)
    assert_matches(got, expected(holey))
    assert_identical(got, run(holey))

    index = np.unique(holey["ts_close"].to_numpy())
    present = np.zeros((len(index), len(SYMBOLS)), bool)
    present[
        np.searchsorted(index, holey["ts_close"]), holey["symbol"].map(SYMBOLS.index).to_numpy()
    ] = True
    for name in FLOAT_COLUMNS:
        assert np.isnan(got[name][~present]).all(), name
    assert not got["vol_expanding"][~present].any()

    at_1000 = int(np.searchsorted(index, et_ns(f"{date} 10:00")))
    at_1005 = at_1000 + 1
    m2k = SYMBOLS.index("M2K")
    assert math.isnan(got["or_high"][at_1000, m2k])  # M2K has no 10:00 bar
    mine = holey[(holey["symbol"] == "M2K") & (holey["session"] == date)]
    first30 = mine[
        (mine["ts_open"] >= et_ns(f"{date} 09:30")) & (mine["ts_close"] <= et_ns(f"{date} 10:00"))
    ]
    if present[at_1005, m2k]:
        assert got["or_high"][at_1005, m2k] == first30["high"].max()


# ---------------------------------------------------------------- constructed cases


def tiny_batch(ts_close, closes, volume=None, vwap=None, ts_open=None):
    closes = np.asarray(closes, float).reshape(len(ts_close), -1)
    n, k = closes.shape
    ts_close = np.asarray(ts_close, np.int64)
    return SliceBatch(
        tuple(SYMBOLS[:k]),
        ts_close,
        present=~np.isnan(closes),
        ts_open=np.where(~np.isnan(closes), (ts_close - 5 * MIN)[:, None], -1)
        if ts_open is None
        else ts_open,
        open=closes,
        high=closes + 1,
        low=closes - 1,
        close=closes,
        volume=np.where(np.isnan(closes), np.nan, 10.0) if volume is None else volume,
        vwap=np.full((n, k), np.nan) if vwap is None else vwap,
        trades=np.ones((n, k), np.int64),
        flags=np.zeros((n, k), np.uint8),
    )


def tiny_state(date="2024-03-12", prior=None, values=None):
    state = FakeState()
    state.symbols = SYMBOLS[:1]
    state.daily = {"MES": types.SimpleNamespace(dates=[], high=[], low=[], close=[])}
    state.session = SessionInfo(date, 0, 0, et_ns(f"{date} 09:30"), et_ns(f"{date} 16:00"))
    state.prior = prior or {}
    state.values = values or {}
    return state


def make(**settings):
    return Measures(settings, types.SimpleNamespace(symbols=("MES",), bar_ns=5 * MIN))


def test_session_vwap_uses_the_bar_vwap_when_it_has_one():
    ts = [et_ns("2024-03-12 09:35"), et_ns("2024-03-12 09:40")]
    vwap = np.array([[100.25], [np.nan]])
    volume = np.array([[10.0], [30.0]])
    out = make().update_batch(tiny_batch(ts, [100.0, 102.0], volume, vwap), tiny_state())
    assert out["vwap"][0, 0] == 100.25
    assert out["vwap"][1, 0] == pytest.approx((100.25 * 10 + 102.0 * 30) / 40, rel=1e-15)


def test_vwap_resets_each_session_and_is_nan_outside_rth():
    ind = make()
    pre = [et_ns("2024-03-12 09:30"), et_ns("2024-03-12 09:35")]
    out = ind.update_batch(tiny_batch(pre, [100.0, 101.0]), tiny_state())
    assert math.isnan(out["vwap"][0, 0]) and out["vwap"][1, 0] == 101.0
    after = [et_ns("2024-03-12 16:00"), et_ns("2024-03-12 16:05")]
    out = ind.update_batch(tiny_batch(after, [103.0, 104.0]), tiny_state())
    assert out["vwap"][0, 0] == 102.0 and math.isnan(out["vwap"][1, 0])
    nxt = [et_ns("2024-03-13 09:35")]
    out = ind.update_batch(tiny_batch(nxt, [90.0]), tiny_state("2024-03-13"))
    assert out["vwap"][0, 0] == 90.0


def test_rs_norm_is_rs_pct_over_atr_pct_and_nan_without_rs():
    ind = make(atr_sessions=2)
    state = tiny_state(prior={"MES": 200.0}, values={"rs_pct": np.array([[1.5]])})
    daily = state.daily["MES"]
    daily.dates += ["2024-03-08", "2024-03-11"]
    daily.high += [110.0, 112.0]
    daily.low += [100.0, 108.0]
    daily.close += [105.0, 109.0]
    out = ind.update_batch(tiny_batch([et_ns("2024-03-12 10:00")], [201.0]), state)
    atr = (10.0 + 7.0) / 2  # TRs: 110-100, max(112,105)-min(108,105)
    assert out["atr"][0, 0] == atr
    assert out["atr_pct"][0, 0] == atr / 200.0 * 100
    assert out["rs_norm"][0, 0] == 1.5 / (atr / 200.0 * 100)
    state.values = {}
    out = ind.update_batch(tiny_batch([et_ns("2024-03-12 10:05")], [201.0]), state)
    assert math.isnan(out["rs_norm"][0, 0]) and out["atr"][0, 0] == atr


def test_atr_is_nan_until_enough_sessions_and_without_a_prior_close():
    ind = make(atr_sessions=3)
    state = tiny_state()
    state.daily["MES"].dates += ["a", "b"]
    state.daily["MES"].high += [2.0, 3.0]
    state.daily["MES"].low += [1.0, 1.0]
    state.daily["MES"].close += [1.5, 2.0]
    out = ind.update_batch(tiny_batch([et_ns("2024-03-12 10:00")], [1.0]), state)
    assert math.isnan(out["atr"][0, 0]) and math.isnan(out["atr_pct"][0, 0])


def test_momentum_rsi_and_volume_over_own_bars():
    ind = make(momentum_bars=2, rsi_period=2, volume_bars=2, vwap_bars=2)
    closes = [100.0, 101.0, 99.0, 103.0]
    ts = [et_ns(f"2024-03-12 10:{m:02d}") for m in (0, 5, 10, 15)]
    volume = np.array([[10.0], [20.0], [20.0], [10.0]])
    out = ind.update_batch(tiny_batch(ts, closes, volume), tiny_state())
    want_mom = [np.nan, np.nan, (99 - 100) / 100 * 100, (103 - 101) / 101 * 100]
    np.testing.assert_allclose(out["mom"][:, 0], want_mom, rtol=1e-15)
    # changes +1, -2 -> seed gain 0.5, loss 1; then +4 -> gain 2.25, loss 0.5
    assert math.isnan(out["rsi"][1, 0])
    assert out["rsi"][2, 0] == pytest.approx(100 * 0.5 / 1.5, rel=1e-15)
    assert out["rsi"][3, 0] == pytest.approx(100 * 2.25 / 2.75, rel=1e-15)
    np.testing.assert_array_equal(out["vol_mean20"][:, 0], [np.nan, 15.0, 20.0, 15.0])
    np.testing.assert_array_equal(out["vol_ratio"][:, 0], [np.nan, np.nan, 20 / 15, 0.5])
    np.testing.assert_array_equal(out["vol_expanding"][:, 0], [False, False, True, False])


def test_rows_tied_at_the_range_end_get_the_range_so_far():
    # two slices closing at 10:00, the end of the opening range: each shows
    # the range up to itself, whatever the split
    ts = [et_ns(f"2024-03-12 {t}") for t in ("09:35", "09:40", "09:55", "10:00", "10:00", "10:05")]
    batch = tiny_batch(ts, [100.0, 104.0, 101.0, 105.0, 95.0, 90.0])
    whole = make().update_batch(batch, tiny_state())
    nan = np.nan
    np.testing.assert_array_equal(whole["or_high"][:, 0], [nan, nan, nan, 106, 106, 106])
    np.testing.assert_array_equal(whole["or_low"][:, 0], [nan, nan, nan, 99, 94, 94])
    ind = make()
    rows = [ind.update_batch(batch.rows(j, j + 1), tiny_state()) for j in range(len(ts))]
    for name in COLUMNS:
        assert np.array_equal(np.concatenate([r[name] for r in rows]), whole[name], equal_nan=True)


def test_flat_prices_give_rsi_50():
    ind = make(rsi_period=2)
    ts = [et_ns(f"2024-03-12 10:{m:02d}") for m in (0, 5, 10)]
    out = ind.update_batch(tiny_batch(ts, [100.0] * 3), tiny_state())
    assert out["rsi"][2, 0] == 50.0


def test_columns_and_empty_batch():
    ind = make()
    assert ind.columns == COLUMNS
    out = ind.update_batch(SliceBatch.empty(("MES",)), tiny_state())
    assert set(out) == set(COLUMNS) and all(v.shape == (0, 1) for v in out.values())
    assert out["vol_expanding"].dtype == np.bool_


# ---------------------------------------------------------------- settings


def test_unknown_setting_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid:.*vwap_from.*momentum_bars"):
        make(momentum=5)


@pytest.mark.parametrize(
    "key, value",
    [
        ("vwap_from", "session"),
        ("vwap_bars", 0),
        ("rsi_period", -1),
        ("volume_bars", 2.5),
        ("atr_sessions", True),
        ("momentum_bars", "10"),
        ("opening_range_minutes", 0),
        ("initial_balance_minutes", float("nan")),
    ],
)
def test_bad_values_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        make(**{key: value})


def test_defaults_are_the_domain_numbers():
    ind = make()
    assert ind.vwap_from == "rth" and ind.vwap_bars == 20 and ind.rsi_period == 14
    assert ind.volume_bars == 20 and ind.atr_sessions == 14 and ind.momentum_bars == 10
    assert ind.or_ns == 30 * MIN and ind.ib_ns == 60 * MIN


# ---------------------------------------------------------------- through the engine


@realdata
def test_engine_replay_records_the_same_measures(raw, tmp_path):
    first, last = AUTUMN
    overrides = [
        f"sources.csv.start={first}",
        f"sources.csv.end={last}",
        f"outputs.record.dir={tmp_path}",
        "indicators={rs: {}, measures: {}}",
        "setups={}",
    ]
    config = load_config(CONFIG, overrides=overrides, env={"RSENGINE_DATA_DIR": str(data_dir())})
    engine = build_engine(config)
    assert not engine.row_by_row  # the batch path
    summary = engine.run()
    assert summary.failed is None and summary.sessions == 26
    recorded = read_bars(tmp_path)
    recorded["ts_close"] = pd.to_datetime(recorded["ts_close"]).map(lambda t: t.value)

    bars = window(raw, AUTUMN)
    index = np.unique(bars["ts_close"].to_numpy())
    assert len(recorded) == len(bars)
    got = {}
    for name in COLUMNS:
        wide = recorded.pivot(index="ts_close", columns="symbol", values=name)
        wide = wide.reindex(index=index, columns=list(SYMBOLS))
        if name == "vol_expanding":
            got[name] = wide.fillna(0).to_numpy(float) == 1
        else:
            got[name] = wide.to_numpy(float)
    assert_matches(got, expected(bars))
