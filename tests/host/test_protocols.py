"""rsengine.protocols: what components must look like, checked at start-up."""

from __future__ import annotations

import pytest

from rsengine import hookimpl
from rsengine.config import Config, ConfigError, load_default
from rsengine.host.plugins import make_plugin_manager
from rsengine.host.runner import build_engine
from rsengine.protocols import (
    BatchIndicator,
    BatchOutput,
    BatchSetup,
    Indicator,
    Output,
    Setup,
    Source,
    missing_methods,
)


class HalfIndicator:
    columns = ("x",)  # but neither update nor update_batch

    def __init__(self, settings, context):
        pass


class SliceOutput:
    def __init__(self, settings, context):
        pass

    def on_slice(self, slice, values):
        pass

    def on_signal(self, signal):
        pass  # no close


class Plugin:
    @hookimpl
    def rsengine_register_indicators(self, registry):
        registry.add("half", HalfIndicator, "no update method")

    @hookimpl
    def rsengine_register_outputs(self, registry):
        registry.add("noclose", SliceOutput, "no close method")


def build(tree: dict):
    pm = make_plugin_manager()
    pm.register(Plugin(), name="test-plugin")
    return build_engine(Config.from_dict(tree), pm=pm)


def test_every_component_of_the_demo_follows_its_protocol():
    engine = build_engine(load_default(["outputs={log: {}, market_view: {}}"]))
    kinds = {
        "sources": (engine.sources, (Source,)),
        "indicators": (engine.indicators, (BatchIndicator, Indicator)),
        "setups": (engine.setups, (BatchSetup, Setup)),
        "outputs": (engine.outputs, (BatchOutput, Output)),
    }
    for kind, (built, protocols) in kinds.items():
        assert built, kind
        for name, _, obj in built:
            assert any(isinstance(obj, p) for p in protocols), (kind, name)
            assert missing_methods(kind, obj) is None


def test_an_indicator_without_update_is_refused_at_its_entry():
    tree = {"sources": {"sim": {"days": 1}}, "indicators": {"half": {}}}
    with pytest.raises(ConfigError) as err:
        build(tree)
    message = str(err.value)
    assert "indicators.half" in message
    assert (
        "indicator 'half' of plugin 'test-plugin' does not follow the indicator protocol" in message
    )
    assert "it has no (columns, update_batch) or (columns, update)" in message


def test_an_output_without_close_is_refused_naming_what_it_lacks():
    tree = {"sources": {"sim": {"days": 1}}, "outputs": {"noclose": {}}}
    with pytest.raises(ConfigError, match=r"outputs\.noclose") as err:
        build(tree)
    assert "(close, on_batch, on_signal) or (close, on_signal, on_slice)" in str(err.value)


def test_a_slice_output_is_an_output_not_a_batch_output():
    obj = SliceOutput({}, None)
    obj.close = lambda summary: None
    assert isinstance(obj, Output) and not isinstance(obj, BatchOutput)
    assert missing_methods("outputs", obj) is None
