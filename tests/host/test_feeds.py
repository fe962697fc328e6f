"""What the live sources share (rsengine.feeds): the watermark that keeps a
backfill from repeating data, the backoff, and LiveFeed's connect ->
subscribe -> backfill -> release -> reconnect cycle, on an in-memory feed
whose whole series is known."""

from __future__ import annotations

import asyncio
import queue
import threading
import time

import numpy as np
import pytest

from rsengine.config import Config
from rsengine.feeds import Backoff, FeedError, FeedNotice, LiveFeed, Watermark
from rsengine.model import BarChunk, TradeChunk

S = 1_000_000_000


def trades(ts, price=100.0):
    ts = np.asarray(ts, np.int64)
    return TradeChunk(ts, np.full(len(ts), price) + np.arange(len(ts)), np.ones(len(ts)))


def bars(opens, bar_ns=5 * S):
    o = np.asarray(opens, np.int64)
    x = np.arange(len(o), dtype=float)
    return BarChunk(o, x, x + 1, x - 1, x, np.ones(len(o)), bar_ns=bar_ns)


# -- Watermark ---------------------------------------------------------------------


def test_trades_at_or_before_the_last_one_delivered_are_dropped():
    w = Watermark()
    assert len(w.fresh("ES", trades([1, 2, 3]))) == 3
    again = w.fresh("ES", trades([2, 3, 4, 5]))
    assert again.ts.tolist() == [4, 5]
    assert w.fresh("ES", trades([4, 5])) is None
    assert w.last("ES") == 5 and w.last("NQ") is None


def test_trades_sharing_the_last_stamp_pass_beyond_those_already_delivered():
    w = Watermark()
    w.fresh("ES", trades([1, 7, 7]))  # two trades at 7 delivered
    out = w.fresh("ES", trades([7, 7, 7, 8]))  # the feed sends the three at 7 again
    assert out.ts.tolist() == [7, 8]  # only the third one at 7 is new
    assert w.fresh("ES", trades([8])) is None


def test_live_trades_continuing_the_stream_at_the_same_stamp_all_pass():
    w = Watermark()
    w.fresh("ES", trades([1, 7]))
    for _ in range(3):  # three more trades at 7, one chunk each, as a feed streams them
        assert w.fresh("ES", trades([7]), continues=True).ts.tolist() == [7]
    # a resend of stamp 7 (a backfill) now holds four delivered there
    assert w.fresh("ES", trades([7, 7, 7, 7, 7])).ts.tolist() == [7]


def test_a_bar_beginning_on_the_last_trade_delivered_holds_it_and_is_dropped():
    w = Watermark()
    w.fresh("ES", trades([10 * S]))
    out = w.fresh("ES", bars([10 * S, 15 * S]))
    assert out.ts_open.tolist() == [15 * S] and not w.last_was_trade("ES")


def test_a_bar_is_new_only_when_it_begins_at_or_after_what_was_delivered():
    w = Watermark()
    w.fresh("ES", trades([12 * S]))  # a trade at 12 s: the 10-15 s bar is part-delivered
    out = w.fresh("ES", bars([5 * S, 10 * S, 15 * S, 20 * S]))
    assert out.ts_open.tolist() == [15 * S, 20 * S]
    assert w.last("ES") == 25 * S  # the end of the last bar
    assert w.fresh("ES", trades([24 * S])) is None  # inside a delivered bar
    assert w.fresh("ES", trades([25 * S])).ts.tolist() == [25 * S]


# -- Backoff -----------------------------------------------------------------------


def test_backoff_doubles_up_to_the_most_then_starts_over_after_a_reset():
    b = Backoff(first=1, most=8, factor=2, jitter=0)
    assert [b.next() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    b.reset()
    assert b.next() == 1


def test_backoff_jitter_stays_within_its_share():
    b = Backoff(first=10, most=10, jitter=0.2, seed=3)
    delays = [b.next() for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 12 and len(set(delays)) > 100


def test_backoff_refuses_a_first_delay_above_the_most():
    with pytest.raises(ValueError, match="first"):
        Backoff(first=5, most=1)


# -- LiveFeed ----------------------------------------------------------------------


class Exchange:
    """The whole series of one instrument, one trade a second from ``t0``;
    ``now`` is the exchange's clock (what has happened so far)."""

    def __init__(self, t0: int, n: int):
        self.ts = t0 + np.arange(n, dtype=np.int64) * S
        self.now = t0


class MemoryFeed(LiveFeed):
    """A protocol over ``Exchange``: history up to the clock, live trades
    pushed by ``push``; ``drop`` cuts the connection."""

    def __init__(self, exchange, clock, fail_first=0, fatal=False):
        config = Config.from_dict({"instruments": {"ES": {}}, "group": ["ES"]})
        super().__init__("memory", ["ES"], config, warmup_ns=10 * S,
                         backoff=Backoff(0.01, 0.02, jitter=0), clock=clock)  # fmt: skip
        self.exchange = exchange
        self.fail_first, self.fatal = fail_first, fatal
        self.connects = 0
        self.requests = []
        self.subscribed = set()
        self._lost = None
        self.loop = None

    async def connect(self):
        self.connects += 1
        if self.fatal:
            raise FeedError("bad password")
        if self.connects <= self.fail_first:
            raise ConnectionRefusedError("nobody listening")
        self.loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()

    async def close(self):
        self.subscribed.clear()

    async def subscribe(self, symbol, contract):
        self.subscribed.add((symbol, contract))

    async def unsubscribe(self, symbol, contract):
        self.subscribed.discard((symbol, contract))

    async def history(self, symbol, contract, start_ns, end_ns):
        self.requests.append((start_ns, end_ns))
        ts = self.exchange.ts
        return [trades(ts[(ts >= start_ns) & (ts < end_ns)])]

    async def lost(self):
        await self._lost.wait()

    # -- driven from the test's thread --

    def push(self, upto: int):
        """Trades from the exchange's clock up to ``upto`` happen and stream in."""
        ts = self.exchange.ts
        new = ts[(ts >= self.exchange.now) & (ts < upto)]
        self.exchange.now = upto
        if self.subscribed and len(new):
            self.loop.call_soon_threadsafe(self.deliver, "ES", trades(new))

    def drop(self):
        self.loop.call_soon_threadsafe(self._lost.set)


def drain(q, until, items=None, timeout=5.0):
    """Items off the queue, added to ``items``, until ``until(items)`` holds."""
    items = [] if items is None else items
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            items.append(q.get(timeout=0.05))
        except queue.Empty:
            pass
        if until(items):
            return items
    raise AssertionError(f"timed out; got {items!r}")


def delivered(items):
    return np.concatenate([c.ts for x in items if x and isinstance(x[1], TradeChunk)
                           for c in [x[1]]] or [np.empty(0, np.int64)])  # fmt: skip


def notices(items, kind=None):
    return [x[1] for x in items if x and isinstance(x[1], FeedNotice) and kind in (None, x[1].kind)]


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@pytest.fixture
def clock():
    box = {"now": 1_700_000_000 * S}
    box["read"] = lambda: box["now"]
    return box


def test_warm_up_then_live_then_a_drop_delivers_every_trade_once(clock):
    t0 = clock["now"] - 30 * S
    ex = Exchange(t0, 200)
    ex.now = clock["now"]  # 30 trades have happened before the start
    feed = MemoryFeed(ex, clock["read"])
    q, stop = queue.Queue(), threading.Event()
    feed.start_live(q, stop)
    items = drain(q, lambda it: len(notices(it, "connected")) == 1 and len(delivered(it)) >= 10)
    # warm-up: the 10 s before the start
    assert delivered(items).tolist() == ex.ts[20:30].tolist()
    wait_for(lambda: feed.subscribed)
    feed.push(t0 + 60 * S)  # live
    drain(q, lambda it: len(delivered(it)) >= 40, items)
    feed.drop()
    drain(q, lambda it: len(notices(it, "disconnected")) == 1, items)
    feed.push(t0 + 90 * S)  # trades while disconnected: nobody hears them
    clock["now"] = t0 + 90 * S
    drain(q, lambda it: len(notices(it, "backfilled")) == 1, items)
    feed.push(t0 + 120 * S)
    drain(q, lambda it: len(delivered(it)) >= 100, items)
    stop.set()
    drain(q, lambda it: it[-1] is None, items)
    assert delivered(items).tolist() == ex.ts[20:120].tolist()  # none lost, none twice
    assert feed.requests[-1] == (int(ex.ts[59]), t0 + 90 * S)  # the gap, from the last delivered
    assert not feed.thread.is_alive() or feed.thread.join(2) is None


def test_connect_failures_are_retried_and_a_fatal_one_ends_the_feed(clock):
    ex = Exchange(clock["now"], 10)
    feed = MemoryFeed(ex, clock["read"], fail_first=2)
    q, stop = queue.Queue(), threading.Event()
    feed.start_live(q, stop)
    drain(q, lambda it: notices(it, "connected"))
    assert feed.connects == 3
    stop.set()
    drain(q, lambda it: it and it[-1] is None)

    fatal = MemoryFeed(ex, clock["read"], fatal=True)
    q = queue.Queue()
    fatal.start_live(q, threading.Event())
    items = drain(q, lambda it: it and it[-1] is None)
    [error] = notices(items, "error")
    assert "bad password" in error.message and fatal.connects == 1


def test_a_new_front_month_rolls_the_subscription_and_says_so(clock):
    # 2025-12-12 is the December contract's last day with the default roll: the
    # next trade date is March's
    clock["now"] = int(np.datetime64("2025-12-11T15:00:00", "ns").astype(np.int64))
    ex = Exchange(clock["now"], 10)
    feed = MemoryFeed(ex, clock["read"])
    feed.roll_check_s = 0.05
    q, stop = queue.Queue(), threading.Event()
    feed.start_live(q, stop)
    drain(q, lambda it: notices(it, "connected"))
    before = set(feed.subscribed)
    clock["now"] = int(np.datetime64("2025-12-19T15:00:00", "ns").astype(np.int64))
    items = drain(q, lambda it: notices(it, "roll"))
    [roll] = notices(items, "roll")
    stop.set()
    assert before == {("ES", "ESZ5")} and roll.details == {"old": "ESZ5", "new": "ESH6"}
    assert roll.instrument == "ES"
