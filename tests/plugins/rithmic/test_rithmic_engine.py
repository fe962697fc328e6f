"""A replay through the engine from the loopback gateway's history: the bars
are those pandas makes of the gateway's ticks."""

import numpy as np
import pandas as pd
from rithmic_helpers import T0, config, settings, stub_fixture  # noqa: F401  (the fixture stub)
from rithmic_stub import series

import rsengine
from rsengine.plugins import make_plugin_manager
from rsengine.runner import build_engine

S = 10**9


class Slices:
    def __init__(self):
        self.slices = []

    @rsengine.hookimpl
    def rsengine_slice_closed(self, slice):
        self.slices.append(slice)


def five_minute_bars(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "price", "size"])
    frame.index = pd.to_datetime(frame.ts, utc=True)
    bars = frame.resample("5min", closed="left", label="right").agg(
        close=("price", "last"), high=("price", "max"), volume=("size", "sum")
    )
    return bars.dropna()


def test_a_replay_through_the_engine_gives_the_bars_of_the_gateways_ticks(stub):
    es = series(T0, 1800, S, price=5000.0)  # 30 minutes, a trade a second
    nq = series(T0 + S // 2, 900, 2 * S, price=21000.0)
    stub.add_trades("ESH5", "CME", es)
    stub.add_trades("NQH5", "CME", nq)
    cfg = config(
        ("ES", "NQ"),
        "replay",
        settings(stub, start="2025-03-04", end="2025-03-04"),
        bars={"primary": "5min"},
    )
    pm = make_plugin_manager()
    seen = Slices()
    pm.register(seen, name="slices")
    summary = build_engine(cfg, pm).run()
    assert summary.late_trades == 0
    want = {"ES": five_minute_bars(es), "NQ": five_minute_bars(nq)}
    closes = [s.ts_close for s in seen.slices]
    assert closes == [int(t.value) for t in want["ES"].index]
    for k, symbol in enumerate(("ES", "NQ")):
        got = np.array([s.close[k] for s in seen.slices])
        np.testing.assert_array_equal(got, want[symbol].close.to_numpy())
        np.testing.assert_array_equal(
            [s.volume[k] for s in seen.slices], want[symbol].volume.to_numpy()
        )
        np.testing.assert_array_equal([s.high[k] for s in seen.slices], want[symbol].high)
