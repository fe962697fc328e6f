"""Four-way group with real hourly YM and ZN (DOMAIN's ES/NQ/RTY/YM plus a bond).

The 5-minute micros are combined into 60-minute primary bars beside the hourly
YM and ZN bars of barchart-hourly, 2024-02-01 -> 2024-03-22 (the 2024-03-10 DST
change and the 2024-02-19 holiday session inside). The measures of YM and ZN,
whose hourly bars pass through unchanged, must equal pandas on the raw files.
"""

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir
from test_measures import DEFAULTS, ET, expected_one, window

from rsengine.config import Config
from rsengine.host.runner import build_engine

pytestmark = pytest.mark.realdata
HOUR = 3_600_000_000_000
FIRST, LAST = "2024-02-01", "2024-03-22"
HOURLY = {"YM": "front_by_volume_hourly_DOW.csv.gz", "ZN": "front_by_volume_hourly_US10.csv.gz"}
MICROS = {"MES": "ES", "MNQ": "NQ", "M2K": "RTY"}
CHECKED = ("vwap", "vwap20", "rsi", "vol_mean20", "vol_ratio", "atr", "atr_pct", "mom")


def config(out) -> Config:
    micro = "databento-micro-5m/{}_c0_5m_2023-11-02_2026-03-20.csv.gz"
    files = {s: {"files": micro.format(s), "layout": "databento_micro_5m", "bar": "5min"}
             for s in MICROS}  # fmt: skip
    for symbol, name in HOURLY.items():
        files[symbol] = {"files": f"barchart-hourly/{name}", "layout": "barchart_hourly",
                         "bar": "60min"}  # fmt: skip
    return Config.from_dict(
        {
            "bars": {"primary": "60min"},
            "group": ["ES", "NQ", "RTY", "YM"],
            "instruments": {**{s: {"as": g} for s, g in MICROS.items()}, "YM": {}, "ZN": {}},
            "sources": {"csv": {"start": FIRST, "end": LAST, "instruments": files}},
            "indicators": {
                "rs": {},
                "measures": {},
                "group": {},
                "regime": {"persistence_bar": "60min"},
            },
            "setups": {"context": {}},
            "outputs": {"record": {"dir": str(out), "format": "csv"}},
        },
        base_dir=data_dir(),
    )


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    if not (data_dir() / "barchart-hourly" / HOURLY["YM"]).exists():
        pytest.skip(f"real market data not found in {data_dir()}")
    out = tmp_path_factory.mktemp("four")
    summary = build_engine(config(out)).run()
    recorded = pd.read_csv(out / "bars.csv", dtype={"flags": str, "regime": str})
    recorded["ts_close"] = pd.to_datetime(recorded["ts_close"]).map(lambda t: t.value)
    return summary, recorded


def raw_hourly(symbol: str) -> pd.DataFrame:
    df = pd.read_csv(data_dir() / "barchart-hourly" / HOURLY[symbol])
    ts_open = pd.to_datetime(df["Time"], utc=True)
    bars = pd.DataFrame(
        {
            "symbol": symbol,
            "ts_open": ts_open.dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64),
            "open": df["Open"], "high": df["High"], "low": df["Low"], "close": df["Close"],
            "volume": df["Volume"].astype(float),
        }
    )  # fmt: skip
    bars["ts_close"] = bars["ts_open"] + HOUR
    last = pd.to_datetime(bars["ts_close"] - 1, utc=True).dt.tz_convert(ET)
    day = last.dt.tz_localize(None).dt.normalize()
    bars["session"] = day.where(last.dt.hour < 18, day + pd.Timedelta(days=1)).dt.strftime(
        "%Y-%m-%d"
    )
    return bars


def test_the_four_way_replay_runs_every_component(replay):
    summary, recorded = replay
    assert summary.failed is None and summary.late_bars == 0
    assert set(recorded["symbol"]) == {*MICROS, *HOURLY}
    ym = recorded[recorded["symbol"] == "YM"]
    ranked = ym["lead"].notna()  # not where YM is alone (no micro bars 2024-03-15 midday)
    assert ranked.sum() > 700 and ym.loc[ranked, "rank"].between(1, 4).all()
    assert (ym.loc[~ranked, "rank"] == 0).all()
    assert set(recorded.loc[recorded["symbol"] == "ZN", "rank"]) == {0}


@pytest.mark.parametrize("symbol", sorted(HOURLY))
def test_hourly_measures_equal_pandas_on_the_raw_file(replay, symbol):
    _, recorded = replay
    got = recorded[recorded["symbol"] == symbol].set_index("ts_close")
    raw = raw_hourly(symbol)
    raw = raw[(raw["ts_close"] >= got.index.min()) & (raw["ts_close"] <= got.index.max())]
    assert list(raw["ts_close"]) == list(got.index)  # every raw bar, nothing else
    np.testing.assert_array_equal(raw["close"].to_numpy(), got["close"].to_numpy())
    bars = window(raw, (raw["session"].min(), raw["session"].max()))
    want = expected_one(bars, DEFAULTS).set_index("ts_close")
    assert want["atr"].notna().sum() > 100  # the check covers a known ATR
    for name in CHECKED:
        np.testing.assert_allclose(
            got[name].to_numpy(float), want[name].to_numpy(float), rtol=1e-9, err_msg=name
        )
