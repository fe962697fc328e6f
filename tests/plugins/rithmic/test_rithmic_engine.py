"""A replay through the engine from the loopback gateway's history: the bars
are those pandas makes of the gateway's ticks."""

import numpy as np
import pandas as pd
from rithmic_helpers import T0, config, settings, stub_fixture  # noqa: F401  (the fixture stub)
from rithmic_stub import series

import rsengine
from rsengine.host.plugins import make_plugin_manager
from rsengine.host.runner import build_engine

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


def test_a_live_run_through_the_engine_closes_the_warm_up_bars_by_the_clock(stub, tmp_path):
    import threading
    import time

    es = series(T0, 600, S, price=5000.0)  # ten minutes before "now"
    nq = series(T0, 300, 2 * S, price=21000.0)
    stub.add_trades("ESH5", "CME", es)
    stub.add_trades("NQH5", "CME", nq)
    now = T0 + 600 * S + 3 * S  # past the second bar's end plus the 2 s grace
    cfg = config(
        ("ES", "NQ"),
        "live",
        settings(stub, warmup="1h"),
        run={"ledger": str(tmp_path / "rsengine-live.ledger")},
        bars={"primary": "5min"},
    )
    pm = make_plugin_manager()
    seen = Slices()
    pm.register(seen, name="slices")
    engine = build_engine(cfg, pm)
    engine.clock = lambda: now
    for _, _, source in engine.sources:
        source.feed.clock = lambda: now
    runner = threading.Thread(target=engine.run)
    runner.start()
    end = time.monotonic() + 20  # a safety net, not a measure
    while len(seen.slices) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    engine.request_stop()
    runner.join(20)
    want = five_minute_bars(es)
    assert [s.ts_close for s in seen.slices[:2]] == [int(t.value) for t in want.index]
    np.testing.assert_array_equal([s.close[0] for s in seen.slices[:2]], want.close)
