"""Calibration on real micros (MES, MNQ, M2K standing in for ES, NQ, RTY),
January to April 2024: the per-session measures against pandas on the
engine's own bars.csv, the walk-forward thresholds against pandas
quantiles, the fragment included by a run, and no look-ahead with the data
after a session altered."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import data_dir
from rsengine_evaluate.calibrate import Options, calibrate, parse_shares, write
from rsengine_evaluate.calibrate_fit import FLOOR, KEYS, Plan, walk_forward
from rsengine_evaluate.capture import capture

from rsengine.config import load_config

pytestmark = pytest.mark.realdata
CONFIGS = Path(__file__).resolve().parents[3] / "configs"
CONFIG = CONFIGS / "evaluate-micros.yaml"
FIRST, LAST = "2024-01-02", "2024-04-30"
WINDOW = (f"sources.csv.start={FIRST}", f"sources.csv.end={LAST}")
FILES = {
    s: f"databento-micro-5m/{s}_c0_5m_2023-11-02_2026-03-20.csv.gz" for s in ("MES", "MNQ", "M2K")
}
OPTIONS = Options(plan=Plan(min_train=15), draws=100, resamples=100, jobs=2)
SHARE = parse_shares(())["context.spread"]
CUT = "2024-04-15"  # data after this session are altered in the look-ahead test


@pytest.fixture(scope="module")
def shared():
    root = data_dir()
    if not all((root / name).exists() for name in FILES.values()):
        pytest.skip(f"real market data not found in {root} (set RSENGINE_DATA_DIR)")
    old = os.environ.get("RSENGINE_DATA_DIR")
    os.environ["RSENGINE_DATA_DIR"] = str(root.resolve())
    yield root
    if old is None:
        os.environ.pop("RSENGINE_DATA_DIR", None)
    else:
        os.environ["RSENGINE_DATA_DIR"] = old


@pytest.fixture(scope="module")
def outcome(shared):
    return calibrate(str(CONFIG), WINDOW, OPTIONS)


@pytest.fixture(scope="module")
def rows(outcome):
    return pd.DataFrame(outcome.rows).set_index("session")


# -- the measures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bars(shared, tmp_path_factory):
    """The engine's bars.csv (output record) of the window, one row per bar."""
    from rsengine.app.cli import main

    out = tmp_path_factory.mktemp("record")
    code = main(
        [
            "run",
            str(CONFIG),
            *(f"--set={s}" for s in WINDOW),
            "--set",
            f"outputs={{record: {{dir: {out}, format: csv}}}}",
            "--log-level",
            "error",
        ]
    )
    assert code == 0
    df = pd.read_csv(out / "bars.csv", low_memory=False)
    df["t"] = pd.to_datetime(df["ts_close"], utc=True).dt.tz_convert("America/New_York")
    return df


def pandas_measures(df: pd.DataFrame) -> pd.DataFrame:
    """Per session (Globex, 18:00 ET to 17:00 ET, dated by its close), each
    gate's peak measure, from the bars alone (sessions without holidays)."""
    df = df.copy()
    df["session"] = (df["t"] + pd.Timedelta(hours=6)).dt.strftime("%Y-%m-%d")
    wide = {
        c: df.pivot(index="t", columns="symbol", values=c) for c in ("rs_pct", "rs_norm", "lead")
    }
    blocked = df.assign(b=df["event_window"] == "blocked").groupby("t")["b"].any()
    out = {}
    for day, idx in df.groupby("session")["t"].unique().items():
        t = pd.DatetimeIndex(sorted(idx))
        rs, z, lead = (wide[c].loc[t] for c in ("rs_pct", "rs_norm", "lead"))
        clock = t.hour * 60 + t.minute
        live = (clock > 570) & (clock <= 960) & ~blocked.loc[t].to_numpy()
        m = {}
        r = rs[live]
        m["nq_vs_es"] = (np.sign(r.MNQ) * (r.MNQ - r.MES)).max()
        m["rty_vs_es"] = (np.sign(r.MES) * (r.M2K - r.MES)).max()
        zz, known = z[live].abs(), z[live].notna().all(axis=1)
        zz, r = zz[known], r[known]
        ok = ((r.min(axis=1) > 0) | (r.max(axis=1) < 0)) & (
            zz.max(axis=1) <= 2.0 * zz.min(axis=1) + 1e-9
        )
        m["alignment"] = zz.min(axis=1)[ok].max() if ok.any() else (0.0 if known.any() else np.nan)
        read = np.flatnonzero((clock >= 555) & (t.strftime("%Y-%m-%d") == day))[0]  # 09:15
        filled = rs.iloc[: read + 1].ffill().iloc[-1]
        m["premarket_read"] = abs(filled.MNQ - filled.MES) if clock[read] < 570 else np.nan
        first = lead[(clock > 570) & (clock <= 600)]
        m["strength_rider"] = max(first.min().max(), (-first).min().max())
        entry = (clock > 570) & (clock <= 930) & ~blocked.loc[t].to_numpy()
        m["divergence_fade"] = lead[entry].abs().max().max()
        out[day] = {k: max(v, 0.0) if np.isfinite(v) else v for k, v in m.items()}
    return pd.DataFrame(out).T


def test_per_session_measures_equal_pandas_on_the_engines_bars(rows, bars):
    expected = pandas_measures(bars).loc["2024-04-01":"2024-04-30"]
    got = rows.loc[expected.index, expected.columns]
    assert len(expected) == 22  # April 2024: no holiday, no early close
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=1e-9, atol=1e-12)
    same_gate = rows["laggard_catchup"].rename("divergence_fade")  # both gate |lead|
    pd.testing.assert_series_equal(same_gate, rows["divergence_fade"])


# -- the walk-forward thresholds ---------------------------------------------------------


def pandas_threshold(frame: pd.DataFrame, signals, share) -> float:
    pooled = pd.concat([frame[s] for s in signals]).dropna()
    return max(pooled.quantile(1 - share), FLOOR)


def test_walk_forward_thresholds_equal_pandas_quantiles_of_earlier_sessions(outcome, rows):
    months = pd.Series(rows.index.str[:7], index=rows.index)
    checked = 0
    for month in months.unique():
        block = rows.index[months == month]
        before = rows.loc[: block[0]].iloc[:-1]  # every session before the block
        for key in KEYS:
            column = rows.loc[block, f"threshold_{key.setting}"]
            if len(before) < OPTIONS.plan.min_train:
                assert column.isna().all()
                continue
            expected = pandas_threshold(before, key.signals, SHARE)
            np.testing.assert_allclose(column.to_numpy(), expected, rtol=1e-12)
            checked += 1
    assert checked == 3 * len(KEYS)  # February to April
    blocks = [b for b in outcome.result.blocks if b["thresholds"]]
    assert [b["first"][:7] for b in blocks] == ["2024-02", "2024-03", "2024-04"]
    for key in KEYS:
        np.testing.assert_allclose(
            outcome.result.thresholds[key.path], pandas_threshold(rows, key.signals, SHARE)
        )


def test_a_rolling_window_and_a_session_cadence_equal_pandas(rows):
    measures = {c: rows[c].to_numpy(float) for c in rows.columns if not c.startswith("thr")}
    shares = parse_shares(["0.3", "min_lead=0.1"])
    plan = Plan(window=30, refit=10, min_train=20)
    blocks = walk_forward(KEYS, measures, tuple(rows.index), shares, plan)
    assert [b.first for b in blocks] == list(range(0, len(rows), 10))
    for b in blocks:
        if b.first < 20:
            assert b.warm_up
            continue
        train = rows.iloc[max(0, b.first - 30) : b.first]
        for key in KEYS:
            expected = pandas_threshold(train, key.signals, shares[key.path])
            np.testing.assert_allclose(b.thresholds[key.path], expected, rtol=1e-12)


# -- in and out of sample ----------------------------------------------------------------


def test_out_of_sample_figures_sit_next_to_in_sample_ones(outcome, rows):
    result = outcome.result
    oos_days = set(rows.index[rows.index >= "2024-02-01"])
    assert result.oos_sessions == len(oos_days)
    by = {(f.signal, f.run): f for f in result.figures}
    for key in KEYS:
        for name in key.signals:
            for run in ("configured", "in_sample", "out_of_sample"):
                f = by[name, run]
                fired = {
                    s.session_date
                    for s in outcome.signals[run]
                    if s.name == name and s.kind != "exit" and s.session_date in oos_days
                }
                assert f.fired_sessions == len(fired)
                assert f.fired_share == pytest.approx(len(fired) / len(oos_days))
            # the out-of-sample gate: each session's measure against its own block's threshold
            m = rows.loc[sorted(oos_days), name]
            t = rows.loc[sorted(oos_days), f"threshold_{key.setting}"]
            assert by[name, "out_of_sample"].gate_sessions == int((m >= t - 1e-9).sum())
    # the out-of-sample signals come only from the blocks' own sessions
    assert {s.session_date for s in outcome.signals["out_of_sample"]} <= oos_days


def test_context_signals_fire_exactly_where_their_gate_opens(outcome, rows):
    """Out of sample, each session's thresholds are its block's: the engine's
    signals fire on the sessions whose measure reaches them."""
    oos = outcome.signals["out_of_sample"]
    for name, setting in (("nq_vs_es", "spread"), ("rty_vs_es", "spread"),
                          ("premarket_read", "premarket_spread")):  # fmt: skip
        days = rows.index[rows.index >= "2024-02-01"]
        m, t = rows.loc[days, name], rows.loc[days, f"threshold_{setting}"]
        expected = set(days[(m >= t - 1e-9).to_numpy()])
        assert {s.session_date for s in oos if s.name == name} == expected
        for s in oos:
            if s.name == name:
                assert s.details["threshold"] == t[s.session_date]


# -- the fragment ------------------------------------------------------------------------


def test_the_written_fragment_is_included_by_a_run_and_sets_the_thresholds(outcome, rows, tmp_path):
    written = write(outcome.result, outcome.fragment, outcome.rows, tmp_path / "thresholds.yaml")
    assert [p.name for p in written] == [
        "thresholds.yaml",
        "thresholds.calibration.json",
        "thresholds.measures.csv",
    ]
    text = yaml.safe_load(written[0].read_text())
    top = tmp_path / "run.yaml"
    top.write_text(
        f"include: [{CONFIG}, thresholds.yaml]\n"
        f"indicators:\n  regime: {{events: {CONFIGS / 'events-2024-2025.yaml'}}}\n"
    )
    config = load_config(top, overrides=WINDOW)
    for setup, settings in text["setups"].items():
        for key, value in settings.items():
            assert config.setups[setup].settings[key] == value
    assert config.setups["divergence_fade"].settings["internals_required"] is False
    signals = capture(config).signals
    assert [s.id for s in signals] == [s.id for s in outcome.signals["in_sample"]]
    spread = text["setups"]["context"]["spread"]
    fired = {s.session_date for s in signals if s.name == "nq_vs_es"}
    assert fired == set(rows.index[(rows["nq_vs_es"] >= spread - 1e-9).to_numpy()])
    assert {s.details["threshold"] for s in signals if s.name == "rty_vs_es"} == {spread}


# -- no look-ahead -----------------------------------------------------------------------


def test_altering_the_data_after_a_session_changes_nothing_up_to_it(
    outcome, rows, shared, tmp_path
):
    raw = pd.read_csv(shared / FILES["MES"])
    t_open = pd.to_datetime(raw["ts_et"], utc=True)
    raw = raw[t_open < "2024-06-01"].copy()
    later = (t_open[raw.index] >= "2024-04-15T22:00:00Z").to_numpy()  # after 17:00 ET on CUT
    for column in ("open", "high", "low", "close"):
        raw.loc[later, column] = raw.loc[later, column] * 1.03
    altered = tmp_path / "MES.csv.gz"
    raw.to_csv(altered, index=False)
    cheap = attrs.evolve(OPTIONS, draws=20, resamples=20)  # the evaluation is not under test
    other = calibrate(str(CONFIG), (*WINDOW, f"sources.csv.instruments.MES.files={altered}"), cheap)
    again = pd.DataFrame(other.rows).set_index("session")
    pd.testing.assert_frame_equal(again.loc[:CUT], rows.loc[:CUT])
    assert not again.loc["2024-04-16":].equals(rows.loc["2024-04-16":])  # the change bites
    for b_old, b_new in zip(outcome.result.blocks, other.result.blocks, strict=True):
        if b_old["first"] <= CUT:
            assert b_old == b_new
    for run in ("configured", "out_of_sample"):
        before = [s for s in outcome.signals[run] if s.session_date <= CUT]
        after = [s for s in other.signals[run] if s.session_date <= CUT]
        assert before
        assert [s.to_json() for s in after] == [s.to_json() for s in before]
