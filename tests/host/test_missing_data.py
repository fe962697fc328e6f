"""A run of one instrument needs no invented partner; an instrument whose source
delivers nothing is a warning, and an error when the group needs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rsengine_record import read_bars

from rsengine.config import Config, ConfigError, load_config
from rsengine.host.runner import build_engine

NINJA = Path(__file__).parents[1] / "plugins" / "csv" / "fixtures" / "ninjatrader"
MINUTE_ET = NINJA / "ES 03-24.minute-et.Last.txt"
LAYOUT = "{preset: ninjatrader_minute, tz: America/New_York}"


def csv_run(tmp_path, group, nq_file):
    text = f"""
bars: {{primary: 1min}}
group: {group}
instruments: {{ES: {{}}, NQ: {{}}}}
sources:
  csv:
    instruments:
      ES: {{files: "{MINUTE_ET}", layout: {LAYOUT}, bar: 1min}}
      NQ: {{files: "{nq_file}", layout: {LAYOUT}, bar: 1min}}
indicators: {{rs: {{}}}}
outputs: {{record: {{dir: "{tmp_path / "out"}"}}}}
"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return build_engine(load_config(path))


def test_an_instrument_with_an_empty_file_outside_the_group_is_a_warning_in_the_summary(tmp_path):
    empty = tmp_path / "NQ.txt"
    empty.write_text("")
    summary = csv_run(tmp_path, "[ES]", empty).run()
    assert "source 'csv' delivers no data for NQ: it is missing in every slice" in summary.notes
    bars = read_bars(tmp_path / "out")
    assert set(bars.symbol) == {"ES"} and summary.slices == len(bars) > 0


def test_a_group_member_with_an_empty_file_stops_the_run_before_any_slice(tmp_path):
    empty = tmp_path / "NQ.txt"
    empty.write_text("")
    engine = csv_run(tmp_path, "[ES, NQ]", empty)
    with pytest.raises(ValueError, match="source 'csv' delivers no data for NQ, a member of"):
        engine.run()
    assert engine.summary.slices == 0


def test_one_instrument_runs_alone_as_its_own_group():
    config = Config.from_dict(
        {"instruments": {"ES": {}}, "sources": {"sim": {"days": 1, "seed": 2}},
         "indicators": {"rs": {}, "measures": {}}, "setups": {"context": {}}}
    )  # fmt: skip
    assert config.symbols == config.group == ("ES",)
    engine = build_engine(config)
    summary = engine.run()
    assert summary.slices > 200 and summary.missing == 0
    assert np.isfinite(engine.state.rings["ES"].column("close")).all()


def test_comparing_indicators_refuse_a_group_of_one_by_name():
    tree = {"instruments": {"ES": {}}, "sources": {"sim": {"days": 1}}}
    for name in ("group", "ratios", "regime"):
        config = Config.from_dict({**tree, "indicators": {"rs": {}, "measures": {}, name: {}}})
        with pytest.raises(ConfigError, match=rf"indicator '{name}'.*group has 1 \(ES\)"):
            build_engine(config)
