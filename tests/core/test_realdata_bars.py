"""Bars from real market data equal an independent pandas computation.

pandas ``resample`` with left-closed, left-labelled bins is the reference; the
only conventions added by hand are the session clipping rules (a bar ends at the
session close and starts no earlier than the session open), computed here from
the raw calendar schedule.
"""

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest
from conftest import data_dir, et_ns

from rsengine.core import PARTIAL, Bars
from rsengine.exchange.bars import TimeBars

pytestmark = pytest.mark.realdata

ESM8 = "ticks-es/ESM8_trades_2018-05-07_rTrawl.csv.gz"
ES_SAMPLE = "ticks-es/mlfinlab_imbalance_sample_data_small.csv"
MES = "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz"


def ns(index) -> np.ndarray:
    return index.as_unit("ns").asi8


def run(bars: TimeBars, feed) -> Bars:
    return Bars.concat([feed(bars), bars.finish()])


def expected_trade_bars(ts: pd.DatetimeIndex, price, size, freq: str) -> pd.DataFrame:
    frame = pd.DataFrame({"price": price, "size": size, "pv": price * size}, index=ts)
    grouped = frame.resample(freq, closed="left", label="left")
    out = grouped["price"].ohlc()
    out["volume"] = grouped["size"].sum()
    out["trades"] = grouped["price"].count()
    out["vwap"] = grouped["pv"].sum() / out["volume"]
    return out[out["trades"] > 0]


def assert_bars_equal(got: Bars, want: pd.DataFrame, ts_open, ts_close):
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.ts_open, ts_open)
    np.testing.assert_array_equal(got.ts_close, ts_close)
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, col), want[col].to_numpy(), err_msg=col)
    if "vwap" in want:
        np.testing.assert_allclose(got.vwap, want["vwap"].to_numpy(), rtol=1e-12)
    if "trades" in want:
        np.testing.assert_array_equal(got.trades, want["trades"].to_numpy())


@pytest.mark.parametrize("minutes", [1, 5])
def test_esm8_trades_to_minute_bars_match_pandas(shared_data, minutes):
    raw = pd.read_csv(shared_data / ESM8)
    ts = pd.DatetimeIndex(pd.to_datetime(raw["ts_utc"]))
    price = raw["price"].to_numpy()
    size = np.ones(len(raw))  # the file has prices only: each trade counts 1
    want = expected_trade_bars(ts, price, size, f"{minutes}min")

    bars = TimeBars(f"{minutes}min")
    got = run(bars, lambda b: b.update_many(ns(ts), price, size))

    assert_bars_equal(got, want, ns(want.index), ns(want.index) + minutes * 60 * 10**9)
    assert list(got.flags[:-1]) == [0] * (len(got) - 1) and got.flags[-1] == PARTIAL
    assert bars.late_count == 0 and bars.off_session_count == 0
    assert got.trades.sum() == len(raw) == 74_907


def test_es_sample_with_sizes_gives_pandas_vwap(shared_data):
    raw = pd.read_csv(shared_data / ES_SAMPLE)
    ts = pd.DatetimeIndex(pd.to_datetime(raw["Date and Time"])).tz_localize("UTC")
    price, size = raw["Price"].to_numpy(float), raw["Volume"].to_numpy(float)
    want = expected_trade_bars(ts, price, size, "1min")
    got = run(TimeBars("1min"), lambda b: b.update_many(ns(ts), price, size))
    assert_bars_equal(got, want, ns(want.index), ns(want.index) + 60 * 10**9)


@pytest.fixture(scope="module")
def mes():
    path = data_dir() / MES
    if not path.exists():
        pytest.skip(f"real market data not found: {path} (set RSENGINE_DATA_DIR)")
    raw = pd.read_csv(path)
    raw.index = pd.DatetimeIndex(pd.to_datetime(raw["ts_et"], utc=True)).tz_convert(
        "America/New_York"
    )
    return raw


@pytest.fixture(scope="module")
def session_bounds(mes):
    sched = mcal.get_calendar("CME Globex Equity").schedule("2023-10-25", "2026-03-25")
    return ns(pd.DatetimeIndex(sched["market_open"])), ns(pd.DatetimeIndex(sched["market_close"]))


def expected_combined(mes, minutes, offset, session_bounds):
    grouped = mes.resample(f"{minutes}min", closed="left", label="left", offset=offset)
    want = grouped.agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    want["trades"] = grouped["open"].count()
    want = want[want["trades"] > 0]
    bin_open = ns(want.index)
    opens, closes = session_bounds
    session = np.searchsorted(closes, bin_open, side="right")
    ts_open = np.maximum(bin_open, opens[session])
    ts_close = np.minimum(bin_open + minutes * 60 * 10**9, closes[session])
    return want, ts_open, ts_close


@pytest.mark.parametrize("stamps", ["open", "close"])
@pytest.mark.parametrize(
    ("minutes", "anchor", "offset"),
    [(15, None, None), (30, None, None), (60, None, None), (60, "09:30", "30min")],
)
def test_mes_5min_combined_to_larger_bars_matches_pandas(
    mes, session_bounds, minutes, anchor, offset, stamps
):
    want, ts_open, ts_close = expected_combined(mes, minutes, offset, session_bounds)
    stamp_ns = ns(mes.index) + (5 * 60 * 10**9 if stamps == "close" else 0)
    cols = [mes[c].to_numpy(float) for c in ("open", "high", "low", "close", "volume")]

    bars = TimeBars(f"{minutes}min", anchor=anchor)
    got = run(bars, lambda b: b.update_bars(stamp_ns, *cols, stamps=stamps, input_bar="5min"))

    assert_bars_equal(got, want, ts_open, ts_close)
    assert bars.off_session_count == 0 and bars.late_count == 0

    # the run crossed both 2024 DST changes and an early close
    closes = set(got.ts_close.tolist())
    assert et_ns("2023-11-24 13:15") in closes  # Black Friday early close clips the last bar
    for sunday in ("2024-03-10", "2024-11-03"):
        first_after = got.ts_open[np.searchsorted(got.ts_open, et_ns(f"{sunday} 12:00"))]
        assert first_after == et_ns(f"{sunday} 18:00")


@pytest.mark.parametrize("stamps", ["open", "close"])
@pytest.mark.parametrize(
    ("last_row", "minutes", "partial"),
    [
        ("2024-03-08 16:55", 5, False),  # the file ends at the 17:00 ET session close
        ("2024-03-08 16:55", 60, False),
        ("2024-07-03 13:10", 30, False),  # ends at the 13:15 ET early close
        ("2024-03-08 10:10", 15, False),  # cut at a bar edge inside the session
        ("2024-03-08 10:05", 15, True),  # cut mid-bar: 10:10-10:15 is not in the file
        ("2024-03-08 16:50", 60, True),  # 16:55-17:00 is not in the file
    ],
)
def test_last_bar_of_a_cut_mes_file_is_partial_only_when_the_file_stops_inside_it(
    mes, session_bounds, last_row, minutes, partial, stamps
):
    last = pd.Timestamp(last_row, tz="America/New_York")
    cut = mes[(mes.index >= last - pd.Timedelta(days=3)) & (mes.index <= last)]
    want, ts_open, ts_close = expected_combined(cut, minutes, None, session_bounds)
    stamp_ns = ns(cut.index) + (5 * 60 * 10**9 if stamps == "close" else 0)
    cols = [cut[c].to_numpy(float) for c in ("open", "high", "low", "close", "volume")]

    bars = TimeBars(f"{minutes}min")
    got = run(bars, lambda b: b.update_bars(stamp_ns, *cols, stamps=stamps, input_bar="5min"))

    assert_bars_equal(got, want, ts_open, ts_close)
    # independent of rsengine: the file covers up to its last bar's open + 5 minutes
    file_end = ns(cut.index)[-1] + 5 * 60 * 10**9
    assert (file_end < ts_close[-1]) == partial
    assert list(got.flags) == [0] * (len(got) - 1) + [PARTIAL if partial else 0]
