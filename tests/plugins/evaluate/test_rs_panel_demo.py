"""``rsengine rs-panel`` on the built-in demo: the panel's RS% against an
independent pandas computation from the simulated market's own trades, its
markers, regime spans and $TICK pane, the PNG, and bad input."""

from __future__ import annotations

import datetime as dt
import json
import struct

import numpy as np
import pandas as pd
import pytest
from rsengine_sim.market import DEFAULT_SEQUENCE, SimMarket

from rsengine.app.cli import main

ET = "America/New_York"
SESSION = "2025-03-07"  # the demo's day with the most trade signals
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    root = tmp_path_factory.mktemp("rs_panel")
    outs = [root / "panel.json", root / "panel.png"]
    argv = ["rs-panel", "--session", SESSION, "--no-progress"]
    assert main([*argv, "--out", str(outs[0]), "--out", str(outs[1])]) == 0
    return root, json.loads(outs[0].read_text())


@pytest.fixture(scope="module")
def sim():
    """The demo's simulated market (configs/demo.yaml: seed 7, 14 warm-up sessions)."""
    market = SimMarket(
        seed=7, start=dt.date(2025, 2, 10), scenarios=["normal"] * 14 + list(DEFAULT_SEQUENCE)
    )
    k = next(s.index for s in market.sessions() if s.session_date.isoformat() == SESSION)
    prior_date = market.sessions()[k - 1].session_date
    return market.session_trades(k - 1), market.session_trades(k), prior_date


def _trades(tr) -> pd.DataFrame:
    return pd.DataFrame({"t": pd.to_datetime(tr.ts, utc=True), "price": tr.price, "size": tr.size})


def _bar_closes(tr) -> pd.Series:
    """Last trade of each 5-minute bar, stamped by the bar's close (UTC)."""
    df = _trades(tr)
    df["close_t"] = df["t"].dt.floor("5min") + pd.Timedelta(minutes=5)
    return df.groupby("close_t")["price"].last()


def _settlement(tr, day) -> float:
    """VWAP of the trades in the 30 s before 16:00 ET; without volume there
    (an index's prints), the last trade before 16:00 (docs/builtins.md)."""
    df = _trades(tr)
    close = pd.Timestamp(f"{day} 16:00", tz=ET)
    window = df[(df["t"] >= close - pd.Timedelta(seconds=30)) & (df["t"] < close)]
    if window["size"].sum() > 0:
        return float((window["price"] * window["size"]).sum() / window["size"].sum())
    return float(df.loc[df["t"] < close, "price"].iloc[-1])


def _utc(local_times) -> pd.DatetimeIndex:
    return pd.to_datetime(local_times).tz_localize(ET).tz_convert("UTC")


def test_rs_pct_of_every_instrument_matches_pandas_on_the_sims_trades(panel, sim):
    _, data = panel
    prior, now, prior_date = sim
    symbols = [line["symbol"] for line in data["lines"]]
    # every price instrument of the demo; the internals have no RS%
    assert symbols == ["ES", "NQ", "RTY", "YM", "ZN", "NDX"]
    for line in data["lines"]:
        sym = line["symbol"]
        expected = (_bar_closes(now[sym]) / _settlement(prior[sym], prior_date) - 1) * 100
        got = pd.Series(line["rs_pct"], index=_utc(line["time"]), dtype=float)
        assert got.index.equals(expected.index), sym
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)


def test_markers_sit_on_their_instruments_line_at_their_bar(panel):
    _, data = panel
    lines = {x["symbol"]: dict(zip(x["time"], x["rs_pct"], strict=True)) for x in data["lines"]}
    markers = data["markers"]
    assert {m["kind"] for m in markers} == {"context", "setup", "exit"}
    assert sum(m["kind"] == "setup" for m in markers) >= 3
    for m in markers:
        assert m["time"][:10] in (SESSION, "2025-03-06")
        assert m["rs_pct"] == lines[m["symbol"]][m["time"]]


def test_the_tick_pane_holds_the_last_tick_reading_of_each_bar(panel, sim):
    _, data = panel
    _, now, _ = sim
    tick = data["tick"]
    assert tick["symbol"] == "$TICK"
    expected = _bar_closes(now["$TICK"])
    got = pd.Series(tick["close"], index=_utc(tick["time"]), dtype=float)
    assert got.index.equals(expected.index)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_regime_spans_tile_the_session(panel):
    _, data = panel
    spans = data["regimes"]
    first = pd.Timestamp(f"{SESSION} 18:05", tz=ET) - pd.Timedelta(days=1)
    last = pd.Timestamp(f"{SESSION} 17:00", tz=ET)
    assert spans[0]["start"] == first.value and spans[-1]["end"] == last.value
    for a, b in zip(spans, spans[1:], strict=False):
        assert a["end"] == b["start"] and a["regime"] != b["regime"]
    assert {"trend", "neutral"} <= {s["regime"] for s in spans}


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_the_png_is_a_valid_png_of_the_requested_size(panel):
    import matplotlib.image

    root, _ = panel
    assert _png_size(root / "panel.png") == (1400, 800)
    pixels = matplotlib.image.imread(root / "panel.png")
    assert pixels.shape[:2] == (800, 1400)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 20  # drawn, not blank


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--session", "2025-03-08"], "no session on 2025-03-08 in the data"),
        (["--session", "2025-3-8"], "YYYY-MM-DD"),
        (["--session", SESSION, "--out", "panel.gif"], "expected a .png, .html or .json"),
    ],
)
def test_bad_input_is_a_usage_error_without_a_traceback(argv, message, capsys):
    # two sessions only (2025-02-10 and 11): the Saturday is in neither
    tiny = ["--set", "sources.sim.warmup=0", "--set", "sources.sim.days=2", "--no-progress"]
    try:
        code = main(["rs-panel", *tiny, *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
