"""Indicators run in the order their reads need, whatever the YAML order; only
a missing provider, a doubly provided column or a cycle is an error, and each
names its YAML entry."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from rsengine import hookimpl
from rsengine.config import Config, ConfigError, load_config
from rsengine.host.ordering import OrderError, order_indicators
from rsengine.host.runner import build_engine, plugin_manager_for

SIM = {"sources": {"sim": {"seed": 3, "days": 2}}, "run": {"mode": "replay"}}


class Component:
    def __init__(self, columns=(), reads=(), reads_optional=()):
        self.columns, self.reads, self.reads_optional = columns, reads, reads_optional


def names(ordered):
    return [name for name, _, _ in ordered]


def test_providers_go_first_and_free_indicators_keep_their_config_order():
    parts = [
        ("c", "p", Component(("z",), reads=("y",))),
        ("free", "p", Component(("f",))),
        ("b", "p", Component(("y",), reads=("x",))),
        ("a", "p", Component(("x",))),
    ]
    assert names(order_indicators(parts)) == ["free", "a", "b", "c"]


def test_an_optional_read_orders_when_provided_and_is_no_error_when_not():
    parts = [("late", "p", Component(("l",), reads_optional=("e", "nobody"))),
             ("early", "p", Component(("e",)))]  # fmt: skip
    assert names(order_indicators(parts)) == ["early", "late"]


def test_a_cycle_is_an_error_that_names_it():
    parts = [
        ("a", "p", Component(("x",), reads=("y",))),
        ("b", "p", Component(("y",), reads=("x",))),
    ]
    with pytest.raises(OrderError, match=r"cycle: a -> b -> a"):
        order_indicators(parts)


def test_a_column_two_indicators_provide_is_an_error():
    with pytest.raises(OrderError, match="'b' provides 'x', as 'a' does"):
        order_indicators([("a", "p", Component(("x",))), ("b", "p", Component(("x",)))])


def test_group_listed_before_rs_runs_after_it_with_the_same_values(tmp_path):
    def run(indicators, name):
        tree = {
            **SIM,
            "indicators": indicators,
            "outputs": {"record": {"dir": str(tmp_path / name), "format": "csv"}},
        }
        engine = build_engine(Config.from_dict(tree))
        engine.run()
        return engine, (tmp_path / name / "bars.csv").read_bytes()

    engine, reversed_bars = run({"group": {}, "measures": {}, "rs": {}}, "reversed")
    assert names(engine.indicators) == ["rs", "group", "measures"]
    _, bars = run({"rs": {}, "measures": {}, "group": {}}, "in-order")
    # the same columns (in the order the indicators run) and the same numbers
    a, b = pd.read_csv(io.BytesIO(reversed_bars)), pd.read_csv(io.BytesIO(bars))
    assert sorted(a.columns) == sorted(b.columns)
    pd.testing.assert_frame_equal(a[b.columns], b)


def test_a_missing_provider_points_at_the_yaml_entry(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("sources:\n  sim: {days: 1}\nindicators:\n  group: {}\n")
    with pytest.raises(ConfigError) as caught:
        build_engine(load_config(path))
    text = str(caught.value)
    assert "run.yaml:4" in text and "indicators.group" in text
    assert "reads rs_pct, which no configured indicator provides" in text


def test_a_setup_reading_an_absent_column_is_a_config_error_before_the_run(tmp_path):
    class Plugin:
        @hookimpl
        def rsengine_register_setups(self, registry):
            registry.add("needy", lambda s, c: Needy(), "reads lead")

    class Needy:
        reads = ("lead",)

        def evaluate_batch(self, batch, state):
            return []

    path = tmp_path / "run.yaml"
    path.write_text("sources:\n  sim: {days: 1}\nindicators:\n  rs: {}\nsetups:\n  needy: {}\n")
    config = load_config(path)
    pm = plugin_manager_for(config)
    pm.register(Plugin(), name="needy-plugin")
    with pytest.raises(ConfigError, match=r"run.yaml:6.*setup 'needy' reads lead"):
        build_engine(config, pm=pm)


def test_the_cycle_error_from_a_config_names_the_entry(tmp_path):
    class Plugin:
        @hookimpl
        def rsengine_register_indicators(self, registry):
            registry.add("ping", lambda s, c: Loop(("ping",), ("pong",)), "reads pong")
            registry.add("pong", lambda s, c: Loop(("pong",), ("ping",)), "reads ping")

    class Loop(Component):
        def __init__(self, columns, reads):
            super().__init__(columns, reads)

        def update_batch(self, batch, state):
            return {c: np.zeros((len(batch), len(batch.symbols))) for c in self.columns}

    config = Config.from_dict({**SIM, "indicators": {"ping": {}, "pong": {}}})
    pm = plugin_manager_for(config)
    pm.register(Plugin(), name="loop-plugin")
    with pytest.raises(ConfigError, match=r"indicators\.ping.*cycle: ping -> pong -> ping"):
        build_engine(config, pm=pm)
