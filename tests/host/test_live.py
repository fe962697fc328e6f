"""Live mode: bars close by the clock plus the grace, not by the next trade."""

from conftest import et_ns

import rsengine
from rsengine.config import Config
from rsengine.core import PARTIAL
from rsengine.host.plugins import make_plugin_manager
from rsengine.host.runner import build_engine
from rsengine.model import TradeChunk


class LiveSource:
    """Puts its chunks on the engine's queue, then None (the feed ended)."""

    def __init__(self, chunks):
        self.chunks = chunks

    def start_live(self, queue, stop):
        for item in self.chunks:
            queue.put(item)
        queue.put(None)

    def streams(self):  # pragma: no cover - live only
        return {}


class Plugin:
    def __init__(self, chunks):
        self.chunks = chunks
        self.slices = []

    @rsengine.hookimpl
    def rsengine_register_sources(self, registry):
        registry.add("live_test", lambda settings, context: LiveSource(self.chunks))

    @rsengine.hookimpl
    def rsengine_slice_closed(self, slice):
        self.slices.append(slice)


def minute_trades(start: str, minutes: int, price: float) -> TradeChunk:
    ts = [et_ns(start) + m * 60 * 10**9 for m in range(minutes)]
    return TradeChunk(ts, [price + m for m in range(minutes)], [1.0] * minutes)


def run_live(chunks, clock_ns, grace="2s"):
    plugin = Plugin(chunks)
    pm = make_plugin_manager()
    pm.register(plugin, name="live-test")
    config = Config.from_dict(
        {
            "run": {"mode": "live", "grace": grace},
            "instruments": {"ES": {}, "NQ": {}},
            "group": ["ES", "NQ"],
            "sources": {"live_test": {}},
        }
    )
    engine = build_engine(config, pm)
    engine.clock = lambda: clock_ns
    return engine.run(), plugin.slices


def test_clock_past_close_plus_grace_closes_the_bar_without_a_later_trade():
    chunks = [
        ("ES", minute_trades("2024-03-06 10:00", 5, 5000.0)),
        ("NQ", minute_trades("2024-03-06 10:00", 5, 18000.0)),
    ]
    _, slices = run_live(chunks, clock_ns=et_ns("2024-03-06 10:05:02"))
    assert [s.ts_close for s in slices] == [et_ns("2024-03-06 10:05")]
    assert slices[0].present.all() and not (slices[0].flags & PARTIAL).any()


def test_clock_inside_the_grace_leaves_the_bar_open_until_the_feed_ends():
    chunks = [
        ("ES", minute_trades("2024-03-06 10:00", 5, 5000.0)),
        ("NQ", minute_trades("2024-03-06 10:00", 5, 18000.0)),
    ]
    _, slices = run_live(chunks, clock_ns=et_ns("2024-03-06 10:05:01"))
    # not closed by the clock: emitted only at the end of the feed, flagged partial
    assert [s.ts_close for s in slices] == [et_ns("2024-03-06 10:05")]
    assert (slices[0].flags & PARTIAL).all()


def test_live_slice_marks_an_instrument_without_trades_missing():
    chunks = [("ES", minute_trades("2024-03-06 10:00", 5, 5000.0))]
    _, slices = run_live(chunks, clock_ns=et_ns("2024-03-06 10:05:03"))
    assert list(slices[0].present) == [True, False]
