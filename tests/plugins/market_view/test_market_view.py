"""The market_view output: one table per session or per slice, on stdout."""

from __future__ import annotations

import re

import numpy as np
import pytest
from rsengine_market_view import format_table
from rsengine_rs.internals import ZONES

from rsengine.config import Config, ConfigError, load_config
from rsengine.host.runner import build_engine

DEMO_DAYS = {
    "run": {"mode": "replay"},
    "instruments": {"ES": {}, "NQ": {}, "RTY": {}, "YM": {}, "ZN": {}},
    "sources": {"sim": {"seed": 3, "days": 3}},
    "indicators": {"rs": {}},
}


def run_with_view(tree: dict, capsys):
    engine = build_engine(Config.from_dict(tree))
    summary = engine.run()
    return engine, summary, capsys.readouterr().out


@pytest.mark.parametrize(
    "how",
    [{"run": {"mode": "replay", "market_view": "session"}}, {"outputs": {"market_view": {}}}],
    ids=["run.market_view", "outputs"],
)
def test_a_table_per_session_with_the_last_close(how, capsys):
    engine, _, text = run_with_view({**DEMO_DAYS, **how}, capsys)
    assert text.count("-- market session") == 3
    last_close = engine.state.rings["NQ"].last("close")
    assert f"{last_close:,.2f}" in text.splitlines()[-4]  # ES, NQ, RTY, YM, ZN rows


def test_per_slice_goes_slice_by_slice_and_prints_every_slice(capsys):
    tree = {**DEMO_DAYS, "sources": {"sim": {"seed": 3, "days": 1}}}
    tree["outputs"] = {"market_view": {"mode": "slice"}}
    engine, summary, text = run_with_view(tree, capsys)
    assert engine.row_by_row
    assert text.count("-- market ") == summary.slices > 200


def test_the_slice_table_shows_each_slice_close(capsys):
    tree = {**DEMO_DAYS, "sources": {"sim": {"seed": 3, "days": 1}}}
    tree["outputs"] = {"market_view": {"mode": "slice"}}
    engine, _, text = run_with_view(tree, capsys)
    es_rows = [line for line in text.splitlines() if line.startswith("ES ")]
    assert es_rows[-1].split()[1] == f"{engine.state.rings['ES'].last('close'):,.2f}"


def test_dashes_for_values_nobody_computes():
    table = format_table(("ES", "NQ"), {"close": np.array([5000.25, np.nan])}, "x")
    es, nq = table.splitlines()[2:]
    assert "5,000.25" in es and es.split()[2:] == ["-", "-", "-", "-"]
    assert nq.split()[1:] == ["-"] * 5


def test_a_reading_and_its_zone_for_internals_not_a_change():
    latest = {
        "close": np.array([5100.25, 612.0, -1450.0]),
        "rs_pct": np.array([0.42, 3.7, -12.0]),
        "atr": np.array([25.5, 80.0, 300.0]),
        "tick_zone": np.array(["up", "up", ""], dtype=object),
        "add_zone": np.array(["strong_down", "", "strong_down"], dtype=object),
    }
    text = format_table(("ES", "$TICK", "$ADD"), latest, "t",
                        {"$TICK": "tick_zone", "$ADD": "add_zone"})  # fmt: skip
    lines = text.splitlines()
    assert lines[2].split()[:4] == ["ES", "5,100.25", "+0.42", "25.50"]
    assert lines[3].split() == ["$TICK", "+612", "up", "-", "-"]
    assert lines[4].split() == ["$ADD", "-1,450", "strong_down", "-", "-"]
    assert len({len(line) for line in lines[1:]}) == 1  # the columns stay aligned


def test_a_run_shows_no_change_percent_for_tick_and_add(capsys):
    config = load_config(
        overrides=["sources.sim={seed: 7, days: 2}", "outputs={}", "run.market_view=session"]
    )
    build_engine(config).run()
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[-9:]}
    zones = "|".join(z for z in ZONES if z)
    for symbol in ("$TICK", "$ADD"):
        assert re.fullmatch(rf"\{symbol}\s+[+-][\d,]+\s+({zones})\s+-\s+-", rows[symbol]), rows
        assert "." not in rows[symbol]  # no change %, no ATR
    assert re.search(r"\d\.\d\d", rows["ES"].split()[2])  # ES keeps its change %


def test_a_bad_mode_points_at_the_output():
    with pytest.raises(ConfigError) as err:
        build_engine(Config.from_dict({**DEMO_DAYS, "outputs": {"market_view": {"mode": "x"}}}))
    assert "outputs.market_view" in str(err.value) and "'x' is not session or slice" in str(
        err.value
    )


def test_run_market_view_with_the_plugin_disabled_says_so():
    tree = {**DEMO_DAYS, "run": {"market_view": "session"}, "plugins": {"disable": ["market_view"]}}
    with pytest.raises(ConfigError, match="run.market_view: needs the market_view plugin"):
        build_engine(Config.from_dict(tree))
