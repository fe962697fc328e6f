"""Pytest plugin for rsengine plugin authors (registered as ``pytest11``).

Fixtures:

* ``rsengine_pm``: a fresh plugin manager with every installed plugin.
* ``rsengine_harness``: runs an engine on data you hand it and keeps every
  slice, indicator value and signal, e.g.::

      def test_my_setup_fires(rsengine_harness):
          run = rsengine_harness.run(
              {"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"],
               "setups": {"my_setup": {}}},
              trades={"ES": [(ts, price, size), ...], "NQ": [...]},
              plugins=[my_plugin_module],
          )
          assert [s.name for s in run.signals] == ["my_setup"]

Helpers for a test that builds its own engine:

* ``Components(setups={"mine": factory}, outputs={...})``: a plugin object
  that provides the components it is given (any of sources, indicators,
  setups, outputs), each ``factory(settings, context)``.
* ``SignalCapture``: an output that keeps every signal it receives.
* ``engine_for(tree, *plugins)``: the engine of a config tree, with those
  plugin objects registered beside the installed ones.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from rsengine.config import Config
from rsengine.hookspecs import hookimpl
from rsengine.host.plugins import check_plugins, make_plugin_manager
from rsengine.model import BarChunk, TradeChunk


class MemorySource:
    """Source ``memory``: chunks handed over in Python."""

    label = "memory"

    def __init__(self, data: dict):
        self.data = data

    def streams(self):
        return {symbol: iter(chunks) for symbol, chunks in self.data.items()}


@attrs.define(eq=False)
class HarnessRun:
    engine: object
    summary: object
    slices: list = attrs.field(factory=list)
    values: list = attrs.field(factory=list)  # one dict of indicator arrays per slice
    signals: list = attrs.field(factory=list)

    def column(self, name: str, symbol: str) -> np.ndarray:
        """One indicator value of one instrument, slice by slice."""
        i = self.engine.symbols.index(symbol)
        return np.array([v[name][i] if name in v else np.nan for v in self.values])


class _Collector:
    def __init__(self, data, run: HarnessRun):
        self.data, self.run = data, run

    @hookimpl
    def rsengine_register_sources(self, registry):
        registry.add("memory", lambda settings, context: MemorySource(self.data), "test data")

    @hookimpl
    def rsengine_slice_closed(self, slice, values):
        self.run.slices.append(slice)
        self.run.values.append(dict(values))

    @hookimpl
    def rsengine_signal_emitted(self, signal):
        self.run.signals.append(signal)


class Components:
    """A plugin object providing the components it is given, by kind."""

    def __init__(self, sources=None, indicators=None, setups=None, outputs=None):
        self.kinds = {"sources": sources, "indicators": indicators, "setups": setups,
                      "outputs": outputs}  # fmt: skip

    def _add(self, kind: str, registry) -> None:
        for name, factory in (self.kinds[kind] or {}).items():
            registry.add(name, factory, f"a test's {kind[:-1]}")

    @hookimpl
    def rsengine_register_sources(self, registry):
        self._add("sources", registry)

    @hookimpl
    def rsengine_register_indicators(self, registry):
        self._add("indicators", registry)

    @hookimpl
    def rsengine_register_setups(self, registry):
        self._add("setups", registry)

    @hookimpl
    def rsengine_register_outputs(self, registry):
        self._add("outputs", registry)


class SignalCapture:
    """An output keeping every signal it receives, in order."""

    def __init__(self, settings=None, context=None):
        self.signals: list = []

    def on_batch(self, batch, values):
        pass

    def on_signal(self, signal):
        self.signals.append(signal)

    def close(self, summary):
        pass


def engine_for(tree: dict, *plugins):
    """The engine of config ``tree`` with ``plugins`` registered beside the
    installed ones (built, not run)."""
    from rsengine.host.runner import build_engine

    pm = make_plugin_manager()
    for k, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-plugin-{k}")
    return build_engine(Config.from_dict(tree), pm)


def as_chunks(rows) -> list:
    """A list of (ts, price, size) tuples, a TradeChunk/BarChunk, or a list of chunks."""
    if isinstance(rows, (TradeChunk, BarChunk)):
        return [rows]
    if rows and isinstance(rows[0], (TradeChunk, BarChunk)):
        return list(rows)
    ts, price, size = zip(*rows, strict=True) if rows else ((), (), ())
    return [TradeChunk(ts, price, size)]


class Harness:
    def run(self, config: dict, trades: dict | None = None, plugins=(), entry_points=True):
        from rsengine.host.runner import build_engine

        data = {symbol: as_chunks(rows) for symbol, rows in (trades or {}).items()}
        cfg = Config.from_dict({**config, "sources": {"memory": {}}})
        pm = make_plugin_manager(entry_points=entry_points)
        run = HarnessRun(engine=None, summary=None)
        pm.register(_Collector(data, run), name="rsengine-testing")
        for plugin in plugins:
            pm.register(plugin)
        check_plugins(pm)
        run.engine = build_engine(cfg, pm)
        run.summary = run.engine.run()
        return run


@pytest.fixture
def rsengine_pm():
    return make_plugin_manager()


@pytest.fixture
def rsengine_harness():
    return Harness()
