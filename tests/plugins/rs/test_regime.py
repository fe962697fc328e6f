"""Indicator ``regime`` (plugins/rsengine_rs/regime.py).

Constructed sessions put every rule on its exact threshold, once firing and
once not. Each is fed both as one batch and one row at a time, which must
give identical output. On the real 5-minute micros (with the ``measures``
and ``group`` indicators in front) any split must give identical output and
``persist15`` must equal an independent pandas computation of 15-minute bars.
"""

import math
import types

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from conftest import MIN, data_dir, et_ns
from rsengine_rs.group import lead_rows
from rsengine_rs.leadership import GroupMeasures
from rsengine_rs.measures import Measures
from rsengine_rs.regime import COLUMNS, Regime
from test_leadership import cuts, load_bars, make_batch, session_batches

from rsengine.exchange.bars import TimeBars
from rsengine.exchange.events import Event
from rsengine.state import SessionInfo

NAN = math.nan
ET = "America/New_York"
SYMBOLS = ("ES", "NQ", "OTHER")


def session(date, open_date):
    return SessionInfo(
        date,
        et_ns(f"{open_date} 18:00"),
        et_ns(f"{date} 17:00"),
        et_ns(f"{date} 09:30"),
        et_ns(f"{date} 16:00"),
    )


MON = session("2024-03-11", "2024-03-10")
TUE = session("2024-03-12", "2024-03-11")


def make_context(group=("ES", "NQ"), symbols=SYMBOLS, sources=(), base_dir="."):
    config = types.SimpleNamespace(
        group=group,
        group_symbols=group,
        session=types.SimpleNamespace(calendar="CME Globex Equity", timezone=ET, anchor="session"),
        instrument=lambda symbol: types.SimpleNamespace(calendar=None),
        base_dir=str(base_dir),
    )
    return types.SimpleNamespace(symbols=symbols, bar_ns=5 * MIN, config=config, sources=sources)


class Twin:
    """One indicator fed whole batches and one fed row by row; every call
    checks that both give the same output and returns it."""

    def __init__(self, settings=None, **context):
        ctx = make_context(**context)
        self.symbols = ctx.symbols
        self.group = tuple(ctx.symbols.index(s) for s in ctx.config.group)
        self.names = ctx.config.group
        self.whole = Regime(dict(settings or {}), ctx)
        self.rows = Regime(dict(settings or {}), ctx)

    def run(self, info, times, close=None, volume=None, values=None, prior=100.0):
        """``times``: bar closes HH:MM on the session date; ``close``: (n, k)
        or one row for all; ``values``: name -> (n, k) or (n,) for every
        column."""
        n, k = len(times), len(self.symbols)
        ts = np.array([et_ns(f"{info.date} {t}") for t in times], np.int64)
        close = np.broadcast_to(np.asarray(100.0 if close is None else close, float), (n, k))
        volume = np.broadcast_to(np.asarray(1.0 if volume is None else volume, float), (n, k))
        batch = make_batch(ts, close, volume=volume, symbols=self.symbols)
        vals = {}
        for name, v in (values or {}).items():
            v = np.asarray(v)
            vals[name] = np.repeat(v[:, None], k, axis=1) if v.ndim == 1 else v
        state = types.SimpleNamespace(
            symbols=self.symbols,
            session=info,
            values=vals,
            group=self.group,
            group_names=self.names,
            prior_close=lambda symbol, method="settlement": prior,
            daily={},
            tz=ET,
        )
        out = self.whole.update_batch(batch, state)
        assert set(out) == set(COLUMNS)
        for j in range(n):
            state.values = {name: v[j : j + 1] for name, v in vals.items()}
            row = self.rows.update_batch(batch.rows(j, j + 1), state)
            for name in COLUMNS:
                assert out[name].shape == (n, k)
                assert np.array_equal(row[name][0], out[name][j]), (name, times[j])
        return out


def col(out, name, c=0):
    return list(out[name][:, c])


# ---------------------------------------------------------------- trend


def test_trend_needs_es_close_above_vwap20_and_expanding_volume():
    t = Twin()
    vwap20 = np.array([[99.75, 200.0, 0], [100.0, 0, 0], [99.75, 0, 0]])
    out = t.run(
        TUE,
        ["10:30", "10:35", "10:40"],
        values={"vwap20": vwap20, "vol_expanding": np.array([True, True, False])},
    )
    assert col(out, "regime") == ["trend", "neutral", "neutral"]
    assert col(out, "regime", 2) == col(out, "regime")  # market-wide
    assert col(out, "size_factor") == [1.0, 1.0, 1.0]


def test_trend_uses_the_first_member_when_the_group_has_no_es():
    t = Twin(group=("NQ", "ES"), symbols=("ES", "NQ", "OTHER"))
    # the group is NQ, ES here and ES is in it: ES is still the ES slot
    vwap20 = np.array([[101.0, 99.0, 0]])
    out = t.run(TUE, ["10:30"], values={"vwap20": vwap20, "vol_expanding": np.array([True])})
    assert col(out, "regime") == ["neutral"]
    t = Twin(group=("NQ", "OTHER"))
    out = t.run(TUE, ["10:30"], values={"vwap20": vwap20, "vol_expanding": np.array([True])})
    assert col(out, "regime") == ["trend"]  # NQ: 100 > 99


def test_missing_inputs_skip_their_rules():
    out = Twin().run(TUE, ["10:30", "14:05"])
    assert col(out, "regime") == ["neutral", "neutral"]
    assert col(out, "divergent") == [False, False]
    assert col(out, "size_factor") == [1.0, 0.5]


# ---------------------------------------------------------------- chop


def narrow_values(n, width, atr=40.0, first_row=2):
    """OR values of ES published from ``first_row`` on (as measures does)."""
    high = np.full(n, NAN)
    high[first_row:] = 5000.0 + width
    low = np.full(n, NAN)
    low[first_row:] = 5000.0
    return {"or_high": high, "or_low": low, "atr": np.full(n, atr)}


OPEN_ROWS = ["09:50", "09:55", "10:00", "10:05", "15:00"]


def test_chop_by_range_below_a_quarter_atr_from_the_bar_ending_the_window():
    out = Twin().run(TUE, OPEN_ROWS, values=narrow_values(5, 9.75))
    assert col(out, "regime") == ["neutral", "neutral", "chop", "chop", "chop"]
    assert col(out, "size_factor") == [1.0, 1.0, 0.25, 0.25, 0.125]


def test_chop_by_range_not_at_exactly_a_quarter_atr():
    out = Twin().run(TUE, OPEN_ROWS, values=narrow_values(5, 10.0))
    assert col(out, "regime") == ["neutral"] * 5


def test_chop_by_range_stays_when_es_has_no_values_in_a_later_row():
    values = narrow_values(5, 9.75)
    for v in values.values():
        v[3] = NAN  # ES has no bar at 10:05
    out = Twin().run(TUE, OPEN_ROWS, values=values)
    assert col(out, "regime")[2:] == ["chop", "chop", "chop"]


def test_chop_beats_trend_and_the_cap_is_a_setting():
    values = {
        **narrow_values(5, 9.75),
        "vwap20": np.full(5, 99.0),
        "vol_expanding": np.ones(5, bool),
    }
    out = Twin({"chop_size_cap": 0.4, "afternoon_discount": 0.25}).run(
        TUE, OPEN_ROWS, values=values
    )
    assert col(out, "regime") == ["trend", "trend", "chop", "chop", "chop"]
    assert col(out, "size_factor") == [1.0, 1.0, 0.4, 0.4, 0.1]


OR_ROWS = ["09:30", "09:35", "09:40", "09:45", "09:50", "09:55", "10:00", "10:05"]


def or_session(t, info, or_volume_per_bar):
    """A session whose six bars inside [09:30, 10:00] carry the given ES
    volume (the 09:30 and 10:05 bars, outside, carry a lot)."""
    volume = np.full((8, 3), 1.0)
    volume[:, 0] = [1e6, *[or_volume_per_bar] * 6, 1e6]
    return t.run(info, OR_ROWS, volume=volume, values=narrow_values(8, 9.75, first_row=6))


def test_chop_by_range_needs_volume_below_the_previous_sessions_mean():
    t = Twin()
    first = or_session(t, MON, 100.0)  # no history: volume test skipped
    assert col(first, "regime")[6:] == ["chop", "chop"]
    second = or_session(t, TUE, 100.0)  # 600 is not below 1.0 x 600
    assert col(second, "regime")[6:] == ["neutral", "neutral"]

    t = Twin()
    or_session(t, MON, 100.0)
    quieter = or_session(t, TUE, 99.0)  # 594 < 600
    assert col(quieter, "regime")[6:] == ["chop", "chop"]


def leads(leaders, names=("ES", "NQ")):
    """Lead rows making the given member the leader ("" = no lead)."""
    rows = []
    for who in leaders:
        if not who:
            rows.append([NAN, NAN, NAN])
        else:
            rows.append([0.5, -0.5, NAN] if who == names[0] else [-0.5, 0.5, NAN])
    return np.array(rows)


def test_chop_by_exactly_two_rotations_in_the_opening_window():
    # 09:30 is outside (rth_open, 10:00]: its NQ -> ES does not count
    lead = leads(["NQ", "ES", "ES", "NQ", "NQ", "ES", "ES", "ES"])
    out = Twin().run(TUE, OR_ROWS, values={"lead": lead})
    assert col(out, "regime") == ["neutral"] * 6 + ["chop", "chop"]


def test_one_rotation_is_not_chop_and_later_changes_do_not_count():
    lead = leads(["NQ", "ES", "ES", "NQ", "NQ", "NQ", "NQ", "ES"])
    out = Twin().run(TUE, OR_ROWS, values={"lead": lead})
    assert col(out, "regime") == ["neutral"] * 8


def test_rows_without_a_leader_are_passed_over():
    lead = leads(["ES", "ES", "", "ES", "NQ", "NQ", "ES", "ES"])
    assert col(Twin().run(TUE, OR_ROWS, values={"lead": lead}), "regime")[6] == "chop"
    lead = leads(["ES", "ES", "", "ES", "ES", "", "NQ", "NQ"])
    assert col(Twin().run(TUE, OR_ROWS, values={"lead": lead}), "regime")[6] == "neutral"


def test_rotations_is_a_setting():
    lead = leads(["NQ", "ES", "NQ", "NQ", "NQ", "NQ", "NQ", "ES"])
    out = Twin({"chop_rotations": 1}).run(TUE, OR_ROWS, values={"lead": lead})
    assert col(out, "regime")[5:] == ["neutral", "chop", "chop"]


# ---------------------------------------------------------------- events


CPI_ROWS = ["08:10", "08:15", "08:45", "08:50", "09:15", "09:20"]


def test_event_blocks_exactly_fifteen_minutes_either_side(tmp_path):
    (tmp_path / "cal.csv").write_text(
        "time,name,importance\n2024-03-12 08:30,CPI,high\n2024-03-12 11:00,Auction,medium\n"
    )
    t = Twin({"events": "cal.csv"}, base_dir=tmp_path)
    rows = [*CPI_ROWS, "11:00"]
    values = {"vwap20": np.full(7, 99.0), "vol_expanding": np.ones(7, bool)}
    out = t.run(TUE, rows, values=values)
    assert col(out, "event_window") == ["", "blocked", "blocked", "quality", "quality", "", ""]
    assert col(out, "regime") == ["trend", "event", "event", "trend", "trend", "trend", "trend"]
    assert col(out, "size_factor") == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert col(out, "regime", 2) == col(out, "regime")


def test_event_windows_are_settings(tmp_path):
    (tmp_path / "cal.csv").write_text("time,name,importance\n2024-03-12 08:30,CPI,high\n")
    t = Twin(
        {"events": str(tmp_path / "cal.csv"), "blackout_minutes": 20, "quality_minutes": [25, 50]}
    )
    out = t.run(TUE, CPI_ROWS)
    assert col(out, "event_window") == [
        "blocked",
        "blocked",
        "blocked",
        "blocked",
        "quality",
        "quality",
    ]


def test_events_of_the_sources_count_and_beat_chop():
    source = types.SimpleNamespace(
        events=lambda: [Event(et_ns("2024-03-12 10:00"), "FOMC minutes", "high")]
    )
    t = Twin(sources=(source, object()))
    out = t.run(TUE, ["10:10", "10:15", "10:20"], values=narrow_values(3, 1.0, first_row=0))
    assert col(out, "regime") == ["event", "event", "chop"]
    assert col(out, "event_window") == ["blocked", "blocked", "quality"]
    assert col(out, "size_factor") == [0.0, 0.0, 0.25]


def test_a_bad_calendar_file_is_refused(tmp_path):
    (tmp_path / "cal.csv").write_text("time,name,importance\nsoon,CPI,high\n")
    with pytest.raises(ValueError, match="cal.csv:2"):
        Twin({"events": "cal.csv"}, base_dir=tmp_path)


# ---------------------------------------------------------------- afternoon & divergence


def test_afternoon_starts_after_the_bar_closing_at_two():
    out = Twin().run(TUE, ["13:55", "14:00", "14:05"])
    assert col(out, "afternoon") == [False, False, True]
    assert col(out, "size_factor") == [1.0, 1.0, 0.5]


@pytest.mark.parametrize("at", ["13:30", 810])  # YAML 1.1 reads 13:30 as 810
def test_afternoon_time_is_a_setting(at):
    out = Twin({"afternoon": at}).run(TUE, ["13:30", "13:35"])
    assert col(out, "afternoon") == [False, True]


def test_divergent_below_085_only():
    corr = np.array([0.85, 0.8499, NAN, 0.2])
    out = Twin().run(TUE, ["10:00", "10:05", "10:10", "10:15"], values={"corr_es_nq": corr})
    assert col(out, "divergent") == [False, True, False, True]
    assert col(out, "divergent", 2) == col(out, "divergent")


def test_divergent_reads_the_pair_column_in_group_order():
    t = Twin(group=("NQ", "ES"))
    out = t.run(TUE, ["10:00"], values={"corr_nq_es": np.array([0.5]), "corr_es_nq": [0.9]})
    assert col(out, "divergent") == [True]


# ---------------------------------------------------------------- persistence


P_ROWS = ["10:05", "10:10", "10:15", "10:20", "10:25", "10:30", "10:35", "10:40", "10:45"]


def persist_close(es_15):
    """ES closes whose 15-minute bars end at the given prices (NQ flat at 100)."""
    close = np.full((9, 3), 100.0)
    close[:, 0] = np.repeat(es_15, 3)
    return close


def test_persistence_counts_15_minute_bars_one_vs_two():
    out = Twin().run(TUE, P_ROWS, close=persist_close([100.5, 100.5, 100.1]))
    assert col(out, "persist15") == [0, 0, 1, 1, 1, 2, 2, 2, 0]
    assert col(out, "persist15", 1) == [0, 0, -1, -1, -1, -2, -2, -2, 0]
    assert col(out, "persistent") == [False] * 5 + [True] * 3 + [False]
    assert col(out, "persist15", 2) == [0] * 9  # not in the group


def test_persistence_threshold_is_inclusive():
    t = Twin({"persist_lead": 0.25})
    out = t.run(TUE, P_ROWS, close=persist_close([100.25, 100.25, 100.24]))
    assert col(out, "persist15") == [0, 0, 1, 1, 1, 2, 2, 2, 0]


def test_persistence_sign_flip_restarts_and_bars_setting():
    t = Twin({"persist_bars": 3})
    out = t.run(TUE, P_ROWS, close=persist_close([100.5, 99.5, 99.5]))
    assert col(out, "persist15")[2::3] == [1, -1, -2]
    assert not any(col(out, "persistent"))


def test_persistence_restarts_each_session():
    t = Twin()
    t.run(MON, P_ROWS, close=persist_close([100.5, 100.5, 100.5]))
    out = t.run(TUE, P_ROWS[:3], close=persist_close([100.5, 100.5, 100.5])[:3])
    assert col(out, "persist15") == [0, 0, 1]


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "settings",
    [
        {"chop_rotations": 0},
        {"afternoon": "2pm"},
        {"quality_minutes": 20},
        {"persistence_bar": "7min"},
        {"persist_bars": 1.5},
        {"chop_range": 0.25},
    ],
)
def test_bad_settings_are_refused(settings):
    with pytest.raises(ValueError):
        Regime(settings, make_context())


# ---------------------------------------------------------------- real data

FILES = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
REAL = ("MES", "MNQ", "M2K")
FIRST, LAST = "2024-02-12", "2024-03-22"  # DST 03-10; CPI 03-12, FOMC 03-20
EVENTS = "time,name,importance\n2024-03-12 08:30,CPI,high\n2024-03-20 14:00,FOMC,high\n"


@pytest.fixture(scope="module")
def real_bars():
    if not (data_dir() / FILES["MES"]).exists():
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")
    return load_bars(FILES, FIRST, LAST, copy_of=None)


def hours(first, last):
    schedule = mcal.get_calendar("CME Globex Equity").schedule(first, last)
    out = {}
    for day, row in schedule.iterrows():
        date = day.strftime("%Y-%m-%d")
        close = row["market_close"].value
        rth = (
            pd.Timestamp(f"{date} 09:30", tz=ET).value,
            pd.Timestamp(f"{date} 16:00", tz=ET).value,
        )
        out[date] = SessionInfo(date, row["market_open"].value, close, rth[0], min(rth[1], close))
    return out


def run_real(bars, tmp_path, split="session", seed=0):
    rng = np.random.default_rng(seed)
    (tmp_path / "events.csv").write_text(EVENTS)
    ctx = make_context(group=("ES", "NQ", "RTY"), symbols=REAL, base_dir=tmp_path)
    ctx.config.group_symbols = REAL
    measures = Measures({}, ctx)
    group = GroupMeasures({}, ctx)
    regime = Regime({"events": "events.csv"}, ctx)
    info = hours(FIRST, LAST)
    prior: dict = {}
    daily = {s: types.SimpleNamespace(dates=[], high=[], low=[], close=[]) for s in REAL}
    state = types.SimpleNamespace(
        symbols=REAL,
        values={},
        group=(0, 1, 2),
        group_names=("ES", "NQ", "RTY"),
        prior_close=lambda symbol, method="settlement": prior.get(symbol),
        daily=daily,
        tz=ET,
    )
    parts = {name: [] for name in (*COLUMNS, "lead")}
    for date, batch in session_batches(bars, REAL):
        state.session = info[date]
        p = np.array([prior.get(s, NAN) for s in REAL])
        edges = cuts(len(batch), split, rng)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part = batch.rows(lo, hi)
            state.values = {"rs_pct": (part.close - p) / p * 100}
            for indicator in (measures, group, regime):
                state.values.update(indicator.update_batch(part, state))
            for name in parts:
                parts[name].append(state.values[name])
        for i, s in enumerate(REAL):
            rows = batch.present[:, i]
            daily[s].dates.append(date)
            daily[s].high.append(float(batch.high[rows, i].max()))
            daily[s].low.append(float(batch.low[rows, i].min()))
            daily[s].close.append(float(batch.close[rows, i][-1]))
            prior[s] = daily[s].close[-1]
    return {name: np.concatenate(v) for name, v in parts.items()}


@pytest.fixture(scope="module")
def real_by_session(real_bars, tmp_path_factory):
    return run_real(real_bars, tmp_path_factory.mktemp("regime"))


@pytest.mark.realdata
def test_real_data_every_regime_shows_up(real_by_session):
    regime = real_by_session["regime"][:, 0]
    counts = pd.Series(regime).value_counts()
    assert set(counts.index) == {"event", "chop", "trend", "neutral"}
    assert counts["event"] == 2 * 7  # 15 minutes either side, 5-minute bars
    assert real_by_session["afternoon"].any()  # ES-NQ stays above 0.85 here
    assert (np.abs(real_by_session["persist15"]) >= 2).any()


@pytest.mark.realdata
@pytest.mark.parametrize("split,seed", [("random", 3), ("rows", 0)])
def test_real_data_any_split_gives_identical_output(
    real_bars, real_by_session, tmp_path, split, seed
):
    got = run_real(real_bars, tmp_path, split, seed)
    for name in COLUMNS:
        want = real_by_session[name]
        assert np.array_equal(got[name], want, equal_nan=want.dtype != object), name


@pytest.mark.realdata
def test_real_data_persist15_equals_pandas_15_minute_bars(real_bars, real_by_session):
    bars = real_bars.copy()
    q = 15 * MIN
    bars["ts15"] = bars["ts_open"] // q * q + q  # 18:00 ET sessions sit on the UTC grid
    last = bars.groupby(["session", "symbol"])["close"].last().unstack()[list(REAL)]
    prior = last.shift(1)
    close15 = bars.groupby(["session", "ts15", "symbol"])["close"].last().unstack()[list(REAL)]
    rs15 = (
        (close15 - prior.reindex(close15.index.get_level_values(0)).to_numpy())
        / (prior.reindex(close15.index.get_level_values(0)).to_numpy())
        * 100
    )
    lead15 = pd.DataFrame(
        {s: rs15[s] - rs15.drop(columns=s).mean(axis=1) for s in REAL}, index=rs15.index
    )
    streak = pd.DataFrame(0, index=lead15.index, columns=list(REAL))
    for s in REAL:
        run, day = 0, None
        for (date, stamp), x in lead15[s].items():
            if date != day:
                run, day = 0, date
            if x >= 0.2:
                run = run + 1 if run > 0 else 1
            elif x <= -0.2:
                run = run - 1 if run < 0 else -1
            else:
                run = 0
            streak.loc[(date, stamp), s] = run
    rows = bars.drop_duplicates("ts_close")[["session", "ts_close"]].reset_index(drop=True)
    table = streak.reset_index().rename(columns={"ts15": "ts_close"})
    want = pd.merge_asof(rows, table, on="ts_close", by="session", direction="backward")
    want = want[list(REAL)].fillna(0).astype(int).to_numpy()
    got = real_by_session["persist15"]
    assert len(got) == len(want)
    np.testing.assert_array_equal(got, want)
    assert (np.abs(want) >= 3).sum() > 100


# ---------------------------------------------------------------- 15-minute bars vs TimeBars


class TimeBarsPersistence:
    """persist15 built with one rsengine.exchange.bars.TimeBars per member, fed each
    batch's bars and flushed at its last row's close: the reference for the
    numpy grouping of Regime."""

    def __init__(self, calendars, anchor, lead=0.2):
        self.bars = [TimeBars(15 * MIN, c, anchor, ET) for c in calendars]
        self.lead = lead
        self.date = None

    def update(self, batch, info, prior):
        ts = batch.ts_close
        if info.date != self.date:
            self.date, self.streak = info.date, np.zeros(len(self.bars), np.int64)
        found = []  # (stamps, closes) of each member's bars completed by the batch
        for col, tb in enumerate(self.bars):
            rows = np.flatnonzero(batch.present[:, col])
            cols = (batch.open, batch.high, batch.low, batch.close, batch.volume)
            parts = [tb.update_bars(batch.ts_open[rows, col], *(c[rows, col] for c in cols))]
            parts.append(tb.flush(int(ts[-1])))
            stamps = np.concatenate([p.ts_close for p in parts])
            keep = stamps > info.open_ns  # a bar of the session before is dropped
            found.append((stamps[keep], np.concatenate([p.close for p in parts])[keep]))
        stamps = np.unique(np.concatenate([s for s, _ in found]))
        close15 = np.full((len(stamps), len(self.bars)), NAN)
        for j, (s, c) in enumerate(found):
            close15[np.searchsorted(stamps, s), j] = c
        lead15 = lead_rows((close15 - prior) / prior * 100.0)
        with np.errstate(invalid="ignore"):
            sign = np.where(lead15 >= self.lead, 1, np.where(lead15 <= -self.lead, -1, 0))
        streak = np.empty((len(sign) + 1, len(self.bars)), np.int64)
        streak[0] = self.streak
        for i, now in enumerate(sign):  # a run continues on the same sign, else restarts
            last = streak[i]
            streak[i + 1] = np.where((now != 0) & (np.sign(last) == now), last + now, now)
        self.streak = streak[-1].copy()
        return streak[np.searchsorted(stamps, ts, side="right")]


DAYS = ("2024-07-02", "2024-07-03", "2024-07-05")  # 07-03 closes early (13:15 / 13:00)


def odd_sessions(rng, symbols):
    """Per day: SessionInfo and a batch of 5-minute rows from 18:00 to 17:00
    ET whatever the calendar says (rows after an early close lie outside
    every segment); on the first two days members missing at random and some
    bars opening one or two minutes early (so a row's bars may sit in
    different 15-minute bars), on the last every member in every row."""
    out = []
    befores = ("2024-07-01", "2024-07-02", "2024-07-04")
    for date, before, odd in zip(DAYS, befores, (True, True, False), strict=True):
        info = SessionInfo(
            date,
            et_ns(f"{before} 18:00"),
            et_ns(f"{date} 17:00"),
            et_ns(f"{date} 09:30"),
            et_ns(f"{date} 16:00"),
        )
        ts = info.open_ns + 5 * MIN * np.arange(1, 277)
        ts = ts[rng.random(len(ts)) < 0.9]  # some rows missing altogether
        n, k = len(ts), len(symbols)
        present = rng.random((n, k)) < (0.85 if odd else 1.0)
        move = np.cumsum(rng.normal(0, 0.15, (n, k)), axis=0)
        close = np.where(present, 100.0 + move, NAN)
        batch = make_batch(ts, close, present=present, symbols=symbols)
        if odd:
            early = rng.integers(0, 3, (n, k)) * MIN * (rng.random((n, k)) < 0.2)
            batch.ts_open[...] = np.where(present, batch.ts_open - early, -1)
        out.append((info, batch))
    return out


def flat_state(symbols, session=None):
    """MarketState stand-in: every symbol a member, prior close 100, no values."""
    return types.SimpleNamespace(
        symbols=symbols,
        values={},
        group=tuple(range(len(symbols))),
        group_names=symbols,
        prior_close=lambda symbol, method="settlement": 100.0,
        tz=ET,
        session=session,
    )


def late_bars(batch, edges, rng):
    """The first row of some batches gets a member bar opening 20 minutes
    early: older than that member's 15-minute bar being built."""
    for lo in edges[1:-1]:
        if rng.random() < 0.5:
            col = int(rng.integers(0, batch.ts_open.shape[1]))
            if batch.present[lo, col]:
                batch.ts_open[lo, col] = batch.ts_close[lo] - 20 * MIN


@pytest.mark.parametrize(
    "calendars,anchor",
    [
        (("CME Globex Equity",) * 3, "session"),
        (("CME Globex Equity", "CME_Equity", "CME Globex Equity"), "session"),
        (("CME Globex Equity", "CME_Equity", "CME_Equity"), "09:40"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_persistence_equals_timebars_for_any_bars_and_split(calendars, anchor, seed):
    rng = np.random.default_rng(seed)
    symbols = ("ES", "NQ", "RTY")
    ctx = make_context(group=symbols, symbols=symbols)
    ctx.config.session.anchor = anchor
    ctx.config.instrument = lambda symbol: types.SimpleNamespace(
        calendar=calendars[symbols.index(symbol)]
    )
    regime = Regime({}, ctx)
    reference = TimeBarsPersistence(calendars, anchor)
    state = flat_state(symbols)
    taken = 0
    for info, batch in odd_sessions(rng, symbols):
        state.session = info
        edges = cuts(len(batch), "random", rng)
        late_bars(batch, edges, rng)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part = batch.rows(lo, hi)
            got = regime.update_batch(part, state)["persist15"]
            want = reference.update(part, info, np.full(3, 100.0))
            np.testing.assert_array_equal(got, want)
            taken += (np.abs(want) >= 2).sum()
    assert taken > 50  # persistence does show up


@pytest.mark.parametrize("cut", ["10:05", "10:15"])
def test_persistence_bar_being_built_crosses_batches(cut):
    # every member has every bar up to the cut (mid-bar or on a bar's end),
    # then NQ misses the rest of the bar: its bar closes at its last price
    symbols = ("ES", "NQ", "RTY")
    times = [f"{h:02d}:{m:02d}" for h in (9, 10) for m in range(0, 60, 5)][7:]  # 09:35 ->
    ts = np.array([et_ns(f"{TUE.date} {t}") for t in times], np.int64)
    close = np.full((len(ts), 3), 100.0)
    close[ts >= et_ns(f"{TUE.date} 10:05"), 1] = 101.0  # NQ leads from the 10:05 bar
    after = np.flatnonzero(ts > et_ns(f"{TUE.date} {cut}"))[:2]
    close[after, 1] = NAN
    batch = make_batch(ts, close, symbols=symbols)
    state = flat_state(symbols, TUE)
    ctx = make_context(group=symbols, symbols=symbols)
    regime = Regime({}, ctx)
    reference = TimeBarsPersistence(("CME Globex Equity",) * 3, "session")
    at = int(after[0])
    got, want = [], []
    for part in (batch.rows(0, at), batch.rows(at, len(ts))):
        got.append(regime.update_batch(part, state)["persist15"])
        want.append(reference.update(part, TUE, np.full(3, 100.0)))
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(want))
    assert np.abs(np.concatenate(want)).max() >= 2
