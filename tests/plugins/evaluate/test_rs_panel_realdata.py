"""``rsengine rs-panel`` on real micros (configs/evaluate-micros.yaml): RS%
against pandas on the raw Databento files, the PNG, and the session's window
(with its warm-up) drawing what a replay of all the data before it draws."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir

from rsengine.app.cli import main

pytestmark = pytest.mark.realdata
CONFIG = Path(__file__).resolve().parents[3] / "configs" / "evaluate-micros.yaml"
SESSION, PRIOR = "2024-03-05", "2024-03-04"
ET = "America/New_York"
FILES = {
    s: f"databento-micro-5m/{s}_c0_5m_2023-11-02_2026-03-20.csv.gz" for s in ("MES", "MNQ", "M2K")
}


@pytest.fixture(scope="module")
def shared():
    root = data_dir()
    if not all((root / name).exists() for name in FILES.values()):
        pytest.skip(f"real market data not found in {root} (set RSENGINE_DATA_DIR)")
    return root


@pytest.fixture(scope="module")
def panels(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("rs_panel_real")
    base = ["rs-panel", str(CONFIG), "--session", SESSION, "--no-progress"]
    windowed = [*base, "--width", "1000", "--height", "600"]
    assert main([*windowed, "--out", str(root / "w.json"), "--out", str(root / "w.png")]) == 0
    # every bar from the first of the data (2023-11-02) up to the session
    everything = [*base, "--full", "--set", f"sources.csv.end={SESSION}"]
    assert main([*everything, "--out", str(root / "all.json")]) == 0
    return (
        root,
        json.loads((root / "w.json").read_text()),
        json.loads((root / "all.json").read_text()),
    )


def _closes(shared, symbol) -> pd.Series:
    """Closes of the raw 5-minute bars around the session, by close stamp (UTC)."""
    df = pd.read_csv(shared / FILES[symbol], usecols=["ts_et", "close"])
    t_close = pd.to_datetime(df["ts_et"], utc=True) + pd.Timedelta(minutes=5)
    series = pd.Series(df["close"].to_numpy(), index=t_close).sort_index()
    return series["2024-03-01":"2024-03-06"]


def test_rs_pct_matches_pandas_on_the_raw_files(shared, panels):
    _, panel, _ = panels
    assert [x["label"] for x in panel["lines"]] == ["MES (ES)", "MNQ (NQ)", "M2K (RTY)"]
    assert panel["tick"] is None  # the micros carry no $TICK
    opens = pd.Timestamp(f"{PRIOR} 18:00", tz=ET)
    closes = pd.Timestamp(f"{SESSION} 17:00", tz=ET)
    for line in panel["lines"]:
        bars = _closes(shared, line["symbol"])
        # bars only: the prior close is the last bar ending by 16:00 ET of the prior session
        prior = bars[: pd.Timestamp(f"{PRIOR} 16:00", tz=ET)].iloc[-1]
        session = bars[(bars.index > opens) & (bars.index <= closes)]
        expected = (session / prior - 1) * 100
        got = pd.Series(
            line["rs_pct"],
            index=pd.to_datetime(line["time"]).tz_localize(ET).tz_convert("UTC"),
            dtype=float,
        )
        assert got.index.equals(expected.index), line["symbol"]
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)


def test_the_window_draws_what_all_the_data_before_it_draws(panels):
    _, windowed, everything = panels
    assert windowed["lines"] == everything["lines"]
    assert windowed["markers"] == everything["markers"] and len(windowed["markers"]) >= 3
    assert windowed["regimes"] == everything["regimes"]


def test_the_png_has_the_requested_size(panels):
    import matplotlib.image

    root, _, _ = panels
    head = (root / "w.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1000, 600)
    assert matplotlib.image.imread(root / "w.png").shape[:2] == (600, 1000)


def test_a_date_outside_the_data_is_a_usage_error(shared, capsys):
    code = main(["rs-panel", str(CONFIG), "--session", "2027-01-05", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "no session on 2027-01-05" in err and "Traceback" not in err
