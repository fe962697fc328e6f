"""``rsengine evaluate`` end to end on the built-in demo: files, determinism,
bad input, and the forward returns and trades against an independent pandas
computation from the bars and signals ``rsengine run`` records."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from rsengine.app.cli import main

ET = "America/New_York"
TICK = {"ES": 0.25, "NQ": 0.25, "RTY": 0.10, "YM": 1.0}
FAST = ["--draws", "40", "--resamples", "40", "--no-progress"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        assert main(["evaluate", *FAST, "--out", str(root / "a")]) == 0
    (root / "table.txt").write_text(table.getvalue())
    assert main(["evaluate", *FAST, "--out", str(root / "b")]) == 0
    assert main(["run", "--no-progress", "--set", f"outputs.record.dir={root / 'rec'}"]) == 0
    return root


def test_same_config_and_seed_give_identical_files(demo):
    files = sorted(p.name for p in (demo / "a").iterdir())
    assert "evaluation.json" in files and "tests.csv" in files
    assert {
        "forward_by_setup.csv",
        "forward_by_instrument.csv",
        "forward_by_regime.csv",
        "forward_by_time_of_day.csv",
        "trades_by_setup.csv",
    } <= set(files)
    for name in files:
        assert (demo / "a" / name).read_bytes() == (demo / "b" / name).read_bytes(), name


def _bars(path):
    bars = pd.read_csv(path, usecols=["ts_close", "symbol", "close"])
    bars["t"] = pd.to_datetime(bars["ts_close"], utc=True)
    return {s: g.set_index("t")["close"].sort_index() for s, g in bars.groupby("symbol")}


def test_forward_returns_match_pandas_on_the_recorded_bars(demo):
    result = json.loads((demo / "a" / "evaluation.json").read_text())
    closes = _bars(demo / "rec" / "bars.csv")
    horizons = result["settings"]["horizons"]
    assert horizons == ["15m", "30m", "60m", "close"]
    checked = 0
    for s in result["signals"]:
        series = closes[s["instrument"]]
        t = pd.Timestamp(s["ts_close"], unit="ns", tz="UTC")
        sign = {"long": 1, "short": -1, "flat": 1}[s["side"]]
        base = series[:t].iloc[-1]
        rth_close = pd.Timestamp(f"{s['session_date']} 16:00", tz=ET).tz_convert("UTC")
        assert t <= rth_close  # the demo's signals fire by the RTH close
        for k, minutes in enumerate((15, 30, 60)):
            end = t + pd.Timedelta(minutes=minutes)
            if end > rth_close:
                assert s["points"][k] is None
                continue
            expected = (series[:end].iloc[-1] - base) * sign
            assert s["points"][k] == pytest.approx(expected, abs=1e-9)
            assert s["pct"][k] == pytest.approx(expected / base * 100, abs=1e-9)
            checked += 1
        expected = (series[:rth_close].iloc[-1] - base) * sign
        assert s["points"][3] == pytest.approx(expected, abs=1e-9)
    assert checked > 200


def test_trades_follow_the_engine_exits_with_one_tick_a_side(demo):
    result = json.loads((demo / "a" / "evaluation.json").read_text())
    journal = [json.loads(x) for x in (demo / "rec" / "signals.jsonl").read_text().splitlines()]
    exits = {s["details"]["entry_id"]: s for s in journal if s["kind"] == "exit"}
    entries = {s["id"]: s for s in journal if s["kind"] == "setup"}
    engine = [t for t in result["trade_records"] if t["exit_source"] == "engine"]
    assert len(engine) == len(exits)
    for t in engine:
        entry, done = entries[t["id"]], exits[t["id"]]
        sign = 1 if entry["side"] == "long" else -1
        gross = sign * (done["details"]["exit_price"] - entry["entry"])
        assert t["gross_points"] == pytest.approx(done["details"]["points"])
        assert t["gross_points"] == pytest.approx(gross)
        assert t["net_points"] == pytest.approx(gross - 2 * TICK[entry["instrument"]])
        pv = {"ES": 50, "NQ": 20, "RTY": 50, "YM": 5}[t["traded"]]
        assert t["net_usd"] == pytest.approx(t["net_points"] * pv - 2 * 2.25)
        assert t["exit_rule"] == done["details"]["exit"]
    by_setup = {r["name"]: r for r in result["trades"] if r["breakdown"] == "setup"}
    for name, row in by_setup.items():
        usd = np.array([t["net_usd"] for t in result["trade_records"] if t["name"] == name])
        assert row["n"] == len(usd)
        assert row["expectancy_usd"] == pytest.approx(usd.mean())
        assert row["hit_rate"] == pytest.approx((usd > 0).mean())
        pf = usd[usd > 0].sum() / -usd[usd < 0].sum() if (usd < 0).any() else None
        assert row["profit_factor"] == (None if pf is None else pytest.approx(pf))


def test_every_tested_signal_is_counted_and_corrected(demo):
    result = json.loads((demo / "a" / "evaluation.json").read_text())
    tests = result["tests"]
    assert result["trials"] == len(tests) > 10
    for t in tests:
        assert 0 < t["p_value"] <= 1 and t["q_value"] >= t["p_value"] - 1e-12
        assert t["n"] >= 1 and t["sessions"] >= 1
        assert t["significant"] == (t["q_value"] < 0.05)
    named = {(t["name"], t["metric"]) for t in tests}
    assert ("strength_rider", "trade_usd") in named and ("nq_vs_es", "forward_pct") in named
    assert all(t["name"] != "premarket_read_scored" for t in tests)  # flat: not tested


def test_the_terminal_table(demo):
    out = (demo / "table.txt").read_text()
    assert "Benjamini-Hochberg over" in out and "strength_rider" in out
    assert "evaluation.json" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--draws", "0"], "at least 1"),
        (["--resamples", "x"], "whole number"),
        (["--slippage", "-1"], "0 or more"),
        (["no-such-file.yaml"], "not found"),
        (["--set", "setups.nope={}"], "nope"),
    ],
)
def test_bad_input_is_a_usage_error_with_a_message(argv, message, capsys, tmp_path):
    try:
        code = main(["evaluate", "--out", str(tmp_path), *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
