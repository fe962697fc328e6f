"""What the panel's tests share: configs built from the demo, a plugin that
keeps the values the engine hands to its outputs (and can hold the run at
chosen slices), the simulator cut into one chunk per bar for paced runs, and
plain HTTP requests."""

from __future__ import annotations

import http.client
import importlib.resources
import threading
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import yaml

import rsengine
from rsengine.config import load_config
from rsengine.host.runner import build_engine, plugin_manager_for

BAR_NS = 5 * 60 * 10**9
TZ = "America/New_York"
WAIT_S = 60  # a held run or a page gives up after this long (a failure, never a pass)


def demo_tree() -> dict:
    text = importlib.resources.files("rsengine").joinpath("demo.yaml").read_text()
    return yaml.safe_load(text)


def config_of(tree: dict):
    return load_config(yaml.safe_dump(tree, sort_keys=False))


def local(ts) -> list:
    """Bar closes as the panel shows them: wall clock in the session timezone."""
    stamps = pd.to_datetime(np.asarray(ts, np.int64), utc=True).tz_convert(TZ)
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in stamps]


class EngineValues:
    """A plugin: output ``engine_values`` keeps every batch's ``rs_pct``,
    ``regime`` and closes, and every signal, as the engine delivered them;
    ``hold_at`` stamps stop the run at those slices until :meth:`release`."""

    def __init__(self, hold_at=()):
        self.rows: list = []  # (ts_close, rs_pct row, regime text, close row, present row)
        self.signals: list = []
        self.symbols: tuple = ()
        self.hold_at = list(hold_at)
        self.reached = threading.Event()
        self._go = threading.Event()

    @rsengine.hookimpl
    def rsengine_register_outputs(self, registry):
        registry.add("engine_values", self._output, "the test's copy of the engine's values")

    @rsengine.hookimpl
    def rsengine_slice_closed(self, slice):
        if self.hold_at and int(slice.ts_close) == self.hold_at[0]:
            self.hold_at.pop(0)
            self._go.clear()
            self.reached.set()
            if not self._go.wait(WAIT_S):
                raise RuntimeError("the test never released the run")

    def wait_held(self) -> None:
        if not self.reached.wait(WAIT_S):
            raise AssertionError("the run never reached the slice it should stop at")
        self.reached.clear()

    def release(self) -> None:
        self._go.set()

    def _output(self, settings, context):
        self.symbols = tuple(context.symbols)
        return _Keeper(self)

    def session(self, date: str) -> dict:
        """The kept values of one session: ts, rs_pct and close (rows, symbols), regime."""
        from rsengine.exchange.sessions import session_date_of

        rows = [r for r in self.rows if session_date_of(r[0], TZ).isoformat() == date]
        return {
            "ts": np.array([r[0] for r in rows], np.int64),
            "rs_pct": np.array([r[1] for r in rows]),
            "regime": [r[2] for r in rows],
            "close": np.array([r[3] for r in rows]),
            "present": np.array([r[4] for r in rows], bool),
            "signals": [s for s in self.signals if s.session_date == date],
        }


class _Keeper:
    written = ()

    def __init__(self, owner: EngineValues):
        self.owner = owner

    def on_batch(self, batch, values):
        rs = np.asarray(values["rs_pct"], float)
        regime = values.get("regime")
        for j in range(len(batch)):
            self.owner.rows.append(
                (
                    int(batch.ts_close[j]),
                    rs[j].copy(),
                    "unknown" if regime is None else str(regime[j][0]),
                    np.array(batch.close[j], float),
                    np.array(batch.present[j], bool),
                )
            )

    def on_signal(self, signal):
        self.owner.signals.append(signal)

    def close(self, summary):
        pass


def engine_for(tree: dict, plugin: EngineValues):
    config = config_of(tree)
    pm = plugin_manager_for(config)
    pm.register(plugin, name="panel-test")
    return build_engine(config, pm)


def panel_of(engine):
    return next(obj for name, _, obj in engine.outputs if name == "panel")


def get(url: str, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    """``(status, headers, body)`` of GET ``path`` on the server of ``url``."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()
