"""Prior settlement after an exchange holiday (DOMAIN.md §2, issue 9 item 5).

"On a holiday when CME halts equity trading at 13:00 ET (MLK, Presidents',
Memorial, Juneteenth, Independence, Labor, Thanksgiving Day) no settlement is
published: the halted trades belong to the next trade date, whose prior
settlement is the last one published." Early-close trading days (13:15 ET:
the day after Thanksgiving, Christmas Eve, July 3) keep their own settlement.

The first tests check the calendar's halts, ``SessionCloses`` and the engine
on hand-made trades. The real-data tests run the engine over every session of
the Databento micros and compare each session's prior close, and the RS% of
every bar, with pandas working from the raw files and the calendar's close
times alone (no rsengine code).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from conftest import data_dir, et_ns

import rsengine
from rsengine.config import Config
from rsengine.exchange.sessions import is_halt
from rsengine.exchange.settlement import PRIOR_CLOSE_METHODS, SessionCloses
from rsengine.host.runner import build_engine

SEC = 10**9
MIN = 60 * SEC

HALTS = ("2025-01-20", "2024-11-28", "2024-06-19", "2024-07-04", "2024-02-19", "2024-09-02")
EARLY_CLOSES = ("2024-11-29", "2024-12-24", "2024-07-03", "2025-11-28")
ORDINARY = ("2025-01-17", "2025-01-21", "2024-11-27", "2024-12-26")


# ---------------------------------------------------------------- the calendar


@pytest.mark.parametrize("day", HALTS)
def test_a_13_00_holiday_halt_is_a_halt(day):
    assert is_halt(day)


@pytest.mark.parametrize("day", EARLY_CLOSES + ORDINARY)
def test_an_early_close_or_ordinary_session_is_no_halt(day):
    assert not is_halt(day)


def test_a_date_the_calendar_does_not_list_is_no_halt():
    assert not is_halt("2025-01-19")  # a Sunday


# ---------------------------------------------------------------- SessionCloses


def closes_of(days: dict) -> SessionCloses:
    """SessionCloses fed one session per entry: {date: (rth_last, globex_close)}.
    Two bars each: one closing at the session's RTH close, one after it."""
    closes = SessionCloses(None)
    for date, (rth, globex) in days.items():
        rth_end = et_ns(f"{date} 13:00") if is_halt(date) else et_ns(f"{date} 16:00")
        ts = np.array([rth_end, rth_end + 30 * MIN], np.int64)
        closes.on_bars(date, ts, np.array([rth, globex]), rth_end)
    return closes


@pytest.mark.parametrize("method", PRIOR_CLOSE_METHODS)
def test_the_session_after_mlk_day_reads_fridays_prices(method):
    closes = closes_of(
        {"2025-01-17": (6033.25, 6032.50), "2025-01-20": (6054.50, 6054.50), "2025-01-21": (1, 1)}
    )
    assert closes.prior_session("2025-01-21") == "2025-01-17"
    assert closes.prior_session("2025-01-20") == "2025-01-17"  # the halt itself, as before
    want = 6033.25 if method != "globex_close" else 6032.50
    assert closes.price(closes.prior_session("2025-01-21"), method) == want


def test_thanksgiving_is_skipped_but_the_early_close_after_it_keeps_its_own():
    closes = closes_of(
        {
            "2024-11-27": (6021.0, 6022.0),
            "2024-11-28": (6030.25, 6030.25),  # halt at 13:00
            "2024-11-29": (6051.5, 6051.5),  # early close at 13:15
            "2024-12-02": (6050.0, 6050.0),
        }
    )
    assert closes.prior_session("2024-11-29") == "2024-11-27"
    assert closes.prior_session("2024-12-02") == "2024-11-29"
    assert closes.prior_session("2024-12-03") == "2024-12-02"


@pytest.mark.parametrize(
    ("before", "halt", "after"),
    [("2024-06-18", "2024-06-19", "2024-06-20"), ("2024-07-03", "2024-07-04", "2024-07-05")],
)
def test_juneteenth_and_july_4_are_skipped(before, halt, after):
    closes = closes_of({before: (1.0, 1.5), halt: (2.0, 2.0), after: (3.0, 3.0)})
    assert closes.prior_session(after) == before  # 2024-07-03 is an early close: it counts


def test_christmas_eve_early_close_is_the_prior_of_the_26th():
    closes = closes_of({"2024-12-23": (1.0, 1.0), "2024-12-24": (2.0, 2.0), "2024-12-26": (3, 3)})
    assert closes.prior_session("2024-12-26") == "2024-12-24"


def test_with_no_published_settlement_before_a_halt_there_is_no_prior():
    closes = closes_of({"2025-01-20": (6054.5, 6054.5), "2025-01-21": (1, 1)})
    assert closes.prior_session("2025-01-21") is None


# ---------------------------------------------------------------- the engine on trades


def trade(stamp: str, price: float, size: float = 1.0):
    return (et_ns(stamp), price, size)


def holiday_trades() -> list:
    """ES: Fri 2025-01-17 (settlement window VWAP 6003, last bar by 16:00 closes
    at 6004, the 17:00 Globex close 6010), the MLK halt session, then Tuesday.
    Then the Thanksgiving week: Wed 11-27, the halt 11-28, the 13:15 early close
    11-29 and Mon 12-02."""
    return [
        trade("2024-11-27 15:59:45", 6000.0),
        trade("2024-11-27 16:30:00", 6001.0),
        trade("2024-11-28 10:00:00", 6100.0),  # Thanksgiving halt (13:00 ET)
        trade("2024-11-28 12:59:45", 6100.0),
        trade("2024-11-29 10:00:00", 6030.0),  # early close, settles 13:14:30-13:15
        trade("2024-11-29 13:14:45", 6060.0),
        trade("2024-12-02 10:00:00", 6090.0),
        trade("2025-01-17 15:58:00", 5990.0),
        trade("2025-01-17 15:59:40", 6000.0, 1.0),
        trade("2025-01-17 15:59:50", 6004.0, 3.0),
        trade("2025-01-17 16:30:00", 6010.0),
        trade("2025-01-20 10:00:00", 6050.0),  # MLK halt session (to 13:00 ET)
        trade("2025-01-20 12:59:45", 6060.0),
        trade("2025-01-21 09:35:00", 6030.0),
    ]


def rs_by_close(rsengine_harness, method) -> dict:
    run = rsengine_harness.run(
        {
            "instruments": {"ES": {}},
            "group": ["ES"],
            "indicators": {"rs": {"prior_close": method}},
        },
        trades={"ES": holiday_trades()},
    )
    rs = run.column("rs_pct", "ES")
    return {s.ts_close: float(v) for s, v in zip(run.slices, rs, strict=True)}


def pct(price, prior):
    return (price - prior) / prior * 100.0


@pytest.mark.parametrize(
    ("method", "friday"), [("settlement", 6003.0), ("rth_last", 6004.0), ("globex_close", 6010.0)]
)
def test_engine_rs_after_mlk_day_is_from_fridays_close(rsengine_harness, method, friday):
    rs = rs_by_close(rsengine_harness, method)
    # the halt session and the session after it both measure from Friday
    assert rs[et_ns("2025-01-20 10:05")] == pytest.approx(pct(6050.0, friday), rel=1e-12)
    assert rs[et_ns("2025-01-21 09:40")] == pytest.approx(pct(6030.0, friday), rel=1e-12)


def test_a_halt_sessions_bars_go_into_the_next_trade_dates_daily_bar(rsengine_harness):
    run = rsengine_harness.run(
        {"instruments": {"ES": {}}, "group": ["ES"], "indicators": {"rs": {}}},
        trades={"ES": holiday_trades()},
    )
    daily = run.engine.state.daily["ES"]
    columns = (daily.open, daily.high, daily.low, daily.close, daily.volume, daily.settle)
    by_date = dict(zip(daily.dates, zip(*columns, strict=True), strict=True))
    assert "2024-11-28" not in by_date and "2025-01-20" not in by_date  # the halts
    # 11-29 holds Thanksgiving's trades (open 6100, high 6100) and its own settlement
    assert by_date["2024-11-29"][:5] == (6100.0, 6100.0, 6030.0, 6060.0, 4.0)
    assert by_date["2024-11-29"][5] == 6060.0
    assert by_date["2025-01-17"][1] == 6010.0  # Friday keeps its own bar


def test_engine_early_close_after_thanksgiving_keeps_its_own_settlement(rsengine_harness):
    rs = rs_by_close(rsengine_harness, "settlement")
    # 11-29 measures from Wednesday (Thursday's halt published nothing) ...
    assert rs[et_ns("2024-11-29 10:05")] == pytest.approx(pct(6030.0, 6000.0), rel=1e-12)
    # ... and is itself Monday's prior, settled in its 13:15 ET window
    assert rs[et_ns("2024-12-02 10:05")] == pytest.approx(pct(6090.0, 6060.0), rel=1e-12)


# ---------------------------------------------------------------- real data

SYMBOLS = ("MES", "MNQ", "M2K")
FILES = {s: f"databento-micro-5m/{s}_c0_5m_2023-11-02_2026-03-20.csv.gz" for s in SYMBOLS}
ET = "America/New_York"


class _Probe:
    """Keeps each session's prior close by every method (at session start) and
    the rs_pct of every batch."""

    def __init__(self):
        self.priors: dict = {}
        self.rs: list = []

    @rsengine.hookimpl
    def rsengine_register_indicators(self, registry):
        probe = self

        class RsProbe:
            columns = ()
            reads = ("rs_pct",)

            def __init__(self, settings, context):
                pass

            def update_batch(self, batch, state):
                probe.rs.append(
                    (batch.ts_close.copy(), state.values["rs_pct"].copy(), batch.present.copy())
                )
                return {}

        registry.add("rs_probe", RsProbe, "test probe: keeps rs_pct")

    @rsengine.hookimpl
    def rsengine_session_start(self, engine, session):
        for symbol in engine.symbols:
            self.priors[(session.date, symbol)] = tuple(
                engine.state.prior_close(symbol, m) for m in PRIOR_CLOSE_METHODS
            )


@pytest.fixture(scope="module")
def replay():
    if not all((data_dir() / f).exists() for f in FILES.values()):
        pytest.skip(f"real market data (databento-micro-5m) not found in {data_dir()}")
    config = Config.from_dict(
        {
            "bars": {"primary": "5min"},
            "group": ["ES", "NQ", "RTY"],
            "instruments": {"MES": {"as": "ES"}, "MNQ": {"as": "NQ"}, "M2K": {"as": "RTY"}},
            "sources": {
                "csv": {
                    "instruments": {
                        s: {
                            "files": str(data_dir() / FILES[s]),
                            "layout": "databento_micro_5m",
                            "bar": "5min",
                        }
                        for s in SYMBOLS
                    }
                }
            },
            "indicators": {"rs": {}, "rs_probe": {}},
        }
    )
    probe = _Probe()
    engine = build_engine(config, watchers=[probe])
    summary = engine.run()
    assert summary.failed is None
    symbols = engine.symbols
    rows = []
    for ts, rs, present in probe.rs:
        for i, symbol in enumerate(symbols):
            keep = present[:, i]
            rows.append(pd.DataFrame({"symbol": symbol, "ts_close": ts[keep], "rs": rs[keep, i]}))
    return probe.priors, pd.concat(rows, ignore_index=True)


def calendar_closes(first, last) -> pd.Series:
    """session date -> the calendar's close, wall clock ET (pandas_market_calendars)."""
    schedule = mcal.get_calendar("CME Globex Equity").schedule(first, last)
    close = schedule["market_close"].dt.tz_convert(ET)
    return pd.Series(close.dt.strftime("%H:%M").to_numpy(), index=schedule.index.date)


@pytest.fixture(scope="module")
def expected():
    """Per symbol: bars (ts_close ns, session, close) and per session the pandas
    prior close by method, plus the halts and the naive prior (halts included)."""
    if not all((data_dir() / f).exists() for f in FILES.values()):
        pytest.skip(f"real market data (databento-micro-5m) not found in {data_dir()}")
    out = {}
    for symbol in SYMBOLS:
        raw = pd.read_csv(data_dir() / FILES[symbol], usecols=["ts_et", "close"])
        ts_close = pd.to_datetime(raw["ts_et"], utc=True).dt.tz_convert(ET) + pd.Timedelta(
            minutes=5
        )
        last = ts_close - pd.Timedelta(nanoseconds=1)  # a bar ending 18:00 is the old session's
        session = last.dt.date.where(last.dt.hour < 18, (last + pd.Timedelta(days=1)).dt.date)
        bars = pd.DataFrame(
            {
                "ts_close": ts_close.dt.tz_convert("UTC")
                .dt.tz_localize(None)
                .to_numpy("datetime64[ns]")
                .view(np.int64),
                "session": session,
                "close": raw["close"].to_numpy(float),
                "clock": ts_close.dt.strftime("%H:%M"),
            }
        )
        days = bars.groupby("session")
        closes_at = calendar_closes(min(days.groups), max(days.groups)).reindex(list(days.groups))
        halt = closes_at < "13:15"  # 13:00 ET holiday halts
        early = closes_at == "13:15"
        # the settlement proxy: the close of the bar ending at 16:00 ET (13:15 ET on an
        # early-close day); where the data have no such bar (the c.0 series stops at
        # 09:30 ET on expiry Fridays) the last bar ending at or before 16:00 ET
        target = np.where(early, "13:15", "16:00")
        target = pd.Series(target, index=halt.index)
        at_target = bars[bars["clock"] == bars["session"].map(target)]
        settle = at_target.groupby("session")["close"].last()
        to_1600 = bars[(bars["clock"] <= "16:00") & (bars["clock"] > "00:00")]
        settle = settle.combine_first(to_1600.groupby("session")["close"].last())
        globex = days["close"].last()
        frame = pd.DataFrame({"halt": halt, "settle": settle, "globex": globex})
        published = frame[~frame["halt"]]
        # prior of each session: the last session before it that is not a halt
        index = np.searchsorted(published.index.to_numpy(), frame.index.to_numpy()) - 1
        valid = index >= 0
        frame["prior_settle"] = np.where(valid, published["settle"].to_numpy()[index], np.nan)
        frame["prior_globex"] = np.where(valid, published["globex"].to_numpy()[index], np.nan)
        frame["naive_prior"] = frame["settle"].shift(1)  # halts included: the old rule
        out[symbol] = (bars, frame)
    return out


realdata = pytest.mark.realdata


@realdata
def test_halts_in_the_data_are_the_calendars_13_00_closes(expected):
    for symbol in SYMBOLS:
        bars, frame = expected[symbol]
        # independent of the calendar: sessions whose last bar ends at 13:00 ET
        from_data = set(bars.groupby("session")["clock"].last().loc[lambda c: c == "13:00"].index)
        assert set(frame.index[frame["halt"]]) == from_data, symbol
        assert len(from_data) == 17, symbol  # 2023-11-23 Thanksgiving ... 2026-02-16


@realdata
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_sessions_prior_close_equals_pandas(replay, expected, symbol):
    priors, _ = replay
    _, frame = expected[symbol]
    got = pd.DataFrame(
        [priors[(str(day), symbol)] for day in frame.index],
        index=frame.index,
        columns=list(PRIOR_CLOSE_METHODS),
    ).astype(float)
    np.testing.assert_array_equal(got["settlement"], frame["prior_settle"])
    np.testing.assert_array_equal(got["rth_last"], frame["prior_settle"])  # bars: the same
    np.testing.assert_array_equal(got["globex_close"], frame["prior_globex"])
    after_halt = frame["halt"].shift(1, fill_value=False)
    assert after_halt.sum() == 17
    # the old rule (prior = the halt session) is wrong on nearly every one of them
    differs = (frame["naive_prior"] != frame["prior_settle"])[after_halt]
    assert differs.sum() >= 15


@realdata
def test_the_session_after_mlk_2025_measures_from_fridays_6033_25(replay, expected):
    priors, _ = replay
    day = pd.Timestamp("2025-01-21").date()
    assert expected["MES"][1].loc[day, "prior_settle"] == 6033.25
    assert expected["MES"][1].loc[day, "naive_prior"] == 6054.50  # the MLK halt's close
    assert priors[("2025-01-21", "MES")][0] == 6033.25


@realdata
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_rs_pct_of_every_bar_equals_pandas(replay, expected, symbol):
    _, rs = replay
    bars, frame = expected[symbol]
    want = bars.assign(prior=bars["session"].map(frame["prior_settle"]))
    want["rs"] = (want["close"] - want["prior"]) / want["prior"] * 100.0
    got = rs[rs["symbol"] == symbol]
    merged = want.merge(got, on="ts_close", how="inner", suffixes=("_want", "_got"))
    assert len(merged) == len(want) == len(got)
    assert merged["rs_want"].notna().sum() > 150_000
    np.testing.assert_allclose(merged["rs_got"], merged["rs_want"], rtol=1e-12, atol=0)
