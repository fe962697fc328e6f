"""rs_pct from a replay of 20 real sessions equals an independent pandas computation.

The replay runs configs/replay-micros.yaml through the whole engine (csv source,
aggregator, slices, rs indicator, record output). pandas recomputes RS% from the
raw files: with bars only, the prior close is the close of the last bar ending
at or before 16:00 ET of the prior session (DOMAIN.md §2 fallback).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir

from rsengine.config import load_config
from rsengine.host.runner import build_engine

pytestmark = pytest.mark.realdata

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "replay-micros.yaml"
FILES = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
FIRST, LAST = "2024-02-26", "2024-03-22"  # 20 sessions, across the 2024-03-10 DST change


def need_data() -> None:
    """Skip, saying why, when the real micros are not there."""
    if not all((data_dir() / name).exists() for name in FILES.values()):
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")


def replay(tmp_path, *extra):
    need_data()
    overrides = [
        f"sources.csv.start={FIRST}",
        f"sources.csv.end={LAST}",
        f"outputs.record.dir={tmp_path}",
        "outputs.record.format=csv",
        *extra,
    ]
    config = load_config(CONFIG, overrides=overrides, env={"RSENGINE_DATA_DIR": str(data_dir())})
    summary = build_engine(config).run()
    return summary, pd.read_csv(tmp_path / "bars.csv")


def expected_rs(symbol: str) -> pd.DataFrame:
    raw = pd.read_csv(data_dir() / FILES[symbol])
    ts_open = pd.to_datetime(raw["ts_et"], utc=True).dt.tz_convert("America/New_York")
    bars = pd.DataFrame({"ts_close": ts_open + pd.Timedelta(minutes=5), "close": raw["close"]})
    # Globex session date: the day the session closes (sessions open 18:00 ET)
    last_instant = bars["ts_close"] - pd.Timedelta(nanoseconds=1)
    bars["session"] = last_instant.dt.date.where(
        last_instant.dt.hour < 18, (last_instant + pd.Timedelta(days=1)).dt.date
    )
    clock = bars["ts_close"].dt.hour * 60 + bars["ts_close"].dt.minute
    to_1600 = bars[clock <= 16 * 60]
    rth_last = to_1600.groupby("session")["close"].last()
    prior = rth_last.shift(1)
    bars["prior"] = bars["session"].map(prior)
    bars["rs_pct"] = (bars["close"] - bars["prior"]) / bars["prior"] * 100
    rth = (clock > 9 * 60 + 30) & (clock <= 16 * 60)
    # the replay starts at FIRST, so its first session has no prior close
    window = (bars["session"] > pd.Timestamp(FIRST).date()) & (
        bars["session"] <= pd.Timestamp(LAST).date()
    )
    return bars[rth & window]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("replay"))


@pytest.mark.parametrize("symbol", list(FILES))
def test_rs_pct_of_every_rth_bar_equals_pandas(recorded, symbol):
    summary, bars = recorded
    got = bars[bars["symbol"] == symbol].copy()
    got["ts_close"] = pd.to_datetime(got["ts_close"], utc=True)
    want = expected_rs(symbol)
    merged = want.merge(
        got[["ts_close", "rs_pct"]].assign(
            ts_close=lambda d: d["ts_close"].dt.tz_convert("America/New_York")
        ),
        on="ts_close",
        how="left",
        suffixes=("_want", "_got"),
    )
    assert len(merged) > 19 * 70  # every RTH bar of 19 sessions with a prior close, at least
    assert merged["rs_pct_want"].notna().all()
    np.testing.assert_allclose(merged["rs_pct_got"], merged["rs_pct_want"], rtol=1e-12, atol=0)
    first_session = got[got["ts_close"] < pd.Timestamp(f"{FIRST} 22:00", tz="UTC")]
    assert len(first_session) > 0 and first_session["rs_pct"].isna().all()


def test_replay_covers_twenty_sessions_without_rejections(recorded):
    summary, _ = recorded
    assert summary.sessions == 20
    assert summary.late_trades == 0 and summary.off_session_trades == 0


def test_two_replays_give_byte_identical_records(tmp_path):
    replay(tmp_path / "a", "sources.csv.end=2024-03-01")
    replay(tmp_path / "b", "sources.csv.end=2024-03-01")
    for name in ("bars.csv", "signals.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
