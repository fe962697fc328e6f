"""``rsengine calibrate`` on the built-in demo end to end, its fragment run
through an include, the walk-forward on a hand-made case, and bad options
refused clearly."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from rsengine_evaluate.calibrate import parse_shares
from rsengine_evaluate.calibrate_fit import KEYS, Plan, threshold, walk_forward

from rsengine.app.cli import main
from rsengine.config import load_config


@pytest.mark.parametrize(
    "share, message",
    [
        ("1.5", "a share must lie strictly between 0 and 1, got 1.5"),
        ("0", "a share must lie strictly between 0 and 1, got 0"),
        ("lots", "expected a share between 0 and 1 such as 0.25, got 'lots'"),
        ("min_lead=-0.1", "a share must lie strictly between 0 and 1, got -0.1"),
    ],
)
def test_a_bad_share_is_a_usage_error_naming_the_option(share, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", "--share", share])
    assert stop.value.code == 2
    assert f"argument --share: {message}" in capsys.readouterr().err


def test_a_share_for_an_unknown_name_is_a_usage_error(capsys):
    assert main(["calibrate", "--share", "spred=0.2"]) == 2
    err = capsys.readouterr().err
    assert "--share spred=0.2: 'spred' is not a calibrated setting or signal" in err
    assert "spread, min_norm, premarket_spread, min_lead, min_divergence, min_lag" in err


def test_shares_by_setting_and_signal_name():
    shares = parse_shares(["0.3", "nq_vs_es=0.1", "divergence_fade.min_divergence=0.05"])
    assert shares["context.spread"] == 0.1  # nq_vs_es shares spread with rty_vs_es
    assert shares["divergence_fade.min_divergence"] == 0.05
    assert shares["context.min_norm"] == 0.3
    assert parse_shares(())["strength_rider.min_lead"] == 0.25  # the default


def test_walk_forward_on_a_hand_made_case():
    # eight sessions; spread pools two signals, the others one each
    m = {name: np.full(8, np.nan) for key in KEYS for name in key.signals}
    m["nq_vs_es"][:] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    m["rty_vs_es"][:] = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    m["strength_rider"][:] = [0.0, 0.0, 0.0, 0.0, np.nan, 0.0, 0.0, 0.0]
    shares = parse_shares(["0.25"])
    blocks = walk_forward(KEYS, m, [f"s{i}" for i in range(8)], shares, Plan(refit=4, min_train=4))
    assert [(b.first, b.last, b.warm_up) for b in blocks] == [(0, 3, True), (4, 7, False)]
    # pooled 0.1 0.2 0.3 0.4 0 0 0 0: the 75th percentile of eight values lies at
    # position 5.25 of the sorted values 0 0 0 0 0.1 0.2 0.3 0.4
    assert blocks[1].thresholds["context.spread"] == pytest.approx(0.2 + 0.25 * 0.1)
    assert blocks[1].thresholds["strength_rider.min_lead"] == 1e-6  # never open: the floor
    assert np.isnan(blocks[1].thresholds["context.min_norm"])  # no measure at all
    assert threshold([3.0, np.nan, 1.0, 2.0, 4.0], 0.5) == 2.5


def test_calibrate_on_the_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo-thresholds.yaml"
    argv = ["calibrate", "--min-train", "20", "--refit", "20", "--draws", "50", "--jobs", "2"]
    argv += ["--resamples", "50", "--no-progress", "--log-level", "error", "--out", str(out)]
    argv += ["--set", "sources.sim.warmup=4"]  # 25 sessions: 4 quiet ones, then the scenarios
    assert main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "demo-thresholds.calibration.json").read_text())
    assert report["config"] == "<built-in demo.yaml>"
    assert [b["n_train"] for b in report["blocks"]] == [0, 20]
    assert report["oos_first"] == report["blocks"][1]["first"]
    assert report["oos_sessions"] == 5
    runs = {(f["signal"], f["run"]) for f in report["figures"]}
    names = [n for key in KEYS for n in key.signals]
    assert runs == {(n, r) for n in names for r in ("configured", "in_sample", "out_of_sample")}
    for name in names:  # in- and out-of-sample lines of a signal come one after the other
        lines = [line.split()[1] for line in printed.splitlines() if line.startswith(name + " ")]
        assert lines == ["configured", "in_sample", "out_of_sample"]

    # the fragment, included by the demo's own text, sets what it says
    fragment = yaml.safe_load(out.read_text())
    assert fragment["setups"].keys() == {
        "context",
        "strength_rider",
        "divergence_fade",
        "laggard_catchup",
    }
    demo = importlib.resources.files("rsengine").joinpath("demo.yaml").read_text()
    top = tmp_path / "demo-calibrated.yaml"
    top.write_text(f"include: [{out.name}]\n{demo}")
    config = load_config(top)
    for setup, settings in fragment["setups"].items():
        for key, value in settings.items():
            assert (
                config.setups[setup].settings[key]
                == value
                == report["thresholds"][f"{setup}.{key}"]
            )
    assert main(["validate", str(top)]) == 0


def test_the_shipped_calibrated_config_includes_the_shipped_fragment():
    configs = Path(__file__).resolve().parents[3] / "configs"
    fragment = yaml.safe_load((configs / "thresholds-micros.yaml").read_text())
    config = load_config(configs / "micros-calibrated.yaml")
    plain = load_config(configs / "evaluate-micros.yaml")
    for setup, settings in fragment["setups"].items():
        assert config.setups[setup].settings == {**plain.setups[setup].settings, **settings}
    assert config.sources == plain.sources
    assert config.indicators["regime"].settings == {"events": "events-2024-2025.yaml"}
