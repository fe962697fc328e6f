"""A live run's delivery (rsengine/host/live.py): feed notices in the journal, the
staleness alarm, late trades reported, warm-up held back, a restart sending
nothing twice, and a stop request ending the run cleanly."""

from __future__ import annotations

import json
import threading

from conftest import et_ns

from rsengine.feeds import FeedNotice
from rsengine.host.live import DeliveryGate, Ledger, LiveWatch
from rsengine.model import Signal, TradeChunk
from rsengine.testing import Components, SignalCapture, engine_for

MIN = 60 * 10**9


def signal(kind="setup", at="2024-03-06 10:05", **details):
    return Signal(
        ts_close=et_ns(at), session_date="2024-03-06", name="x", kind=kind, instrument="ES",
        side="long" if kind == "setup" else "flat", reason="r", details=details,
    )  # fmt: skip


# -- the gate and the ledger -------------------------------------------------------


def test_the_ledger_survives_a_restart_and_skips_a_torn_line(tmp_path):
    path = tmp_path / "ledger"
    ledger = Ledger(path)
    entry = signal()
    ledger.add(entry)
    ledger.add(signal("exit", "2024-03-06 10:30", entry_id=entry.id))
    ledger.close()
    with open(path, "a") as f:
        f.write('{"id": "half')  # killed mid-write
    again = Ledger(path)
    assert entry.id in again and again.has_entry_in("2024-03-06")
    assert not again.has_entry_in("2024-03-07") and len(again.sessions) == 2


def test_warm_up_is_held_back_but_an_exit_of_a_delivered_entry_goes_out(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    sent = signal(at="2024-03-06 09:45")
    ledger.add(sent)
    gate = DeliveryGate(ledger, started_ns=et_ns("2024-03-06 10:00:02"), grace_ns=2 * 10**9)
    warm_entry = signal(at="2024-03-06 09:50")
    exit_sent = signal("exit", "2024-03-06 09:55", entry_id=sent.id)
    exit_held = signal("exit", "2024-03-06 09:55", entry_id=warm_entry.id)
    halt = signal("halt", "2024-03-06 09:58")
    live = signal(at="2024-03-06 10:00")  # the bar closed at the start less the grace
    assert [gate.admit(s) for s in (sent, warm_entry, exit_sent, exit_held, halt, live)] == [
        False, False, True, False, True, True,
    ]  # fmt: skip
    assert (gate.held, gate.repeats) == (2, 1)


def test_staleness_only_inside_rth_once_per_quiet_spell_then_fresh():
    rth = (et_ns("2024-03-06 09:30"), et_ns("2024-03-06 16:00"))
    watch = LiveWatch(["ES", "NQ"], 60 * 10**9, et_ns("2024-03-06 09:00"), lambda ts: rth)
    assert watch.check(et_ns("2024-03-06 09:29")) == []  # before the open: never stale
    watch.data("NQ", et_ns("2024-03-06 09:30:30"))
    [stale] = watch.check(et_ns("2024-03-06 09:31:01"))  # ES quiet 61 s since the open
    assert (stale.kind, stale.instrument) == ("stale", "ES")
    assert watch.check(et_ns("2024-03-06 09:31:20")) == []  # said once; NQ quiet 50 s
    assert watch.data("ES", et_ns("2024-03-06 09:32")).kind == "fresh"
    assert watch.data("ES", et_ns("2024-03-06 09:32:01")) is None


# -- through the engine ------------------------------------------------------------


class LiveSource:
    def __init__(self, items, gate=None):
        self.items, self.gate = items, gate

    def start_live(self, queue, stop):
        def feed():
            for item in self.items:
                queue.put(item)
            if self.gate is not None:  # hold the feed open until the test says
                self.gate.wait(5)
            queue.put(None)

        threading.Thread(target=feed, daemon=True).start()

    def streams(self):  # pragma: no cover - live only
        return {}


class EverySlice:
    """A context signal at each slice's close."""

    def evaluate(self, slice, state):
        at, day = int(slice.ts_close), state.session.date
        return [Signal(at, day, "tick", "context", "ES", side="flat", reason="r")]


class Plugin(Components):
    """The live source over ``items``, a context signal at every slice, and
    the signals captured in ``output``."""

    def __init__(self, items, gate=None):
        self.items, self.gate, self.output = items, gate, SignalCapture()
        super().__init__(
            sources={"live_test": lambda settings, context: LiveSource(self.items, self.gate)},
            setups={"every_slice": lambda settings, context: EverySlice()},
            outputs={"taken": lambda settings, context: self.output},
        )


def trades(start: str, minutes: int, price=5000.0):
    ts = [et_ns(start) + m * MIN for m in range(minutes)]
    return TradeChunk(ts, [price + m for m in range(minutes)], [1.0] * minutes)


def live_engine(plugin, tmp_path, clock_ns, **run):
    tree = {
        "run": {"mode": "live", "ledger": str(tmp_path / "ledger"), **run},
        "instruments": {"ES": {}, "NQ": {}},
        "group": ["ES", "NQ"],
        "sources": {"live_test": {}},
        "setups": {"every_slice": {}},
        "outputs": {"taken": {}},
    }
    engine = engine_for(tree, plugin)
    engine.clock = clock_ns if callable(clock_ns) else (lambda: clock_ns)
    return engine


def both(start, minutes):
    return [("ES", trades(start, minutes)), ("NQ", trades(start, minutes, 18000.0))]


def test_a_restart_in_the_session_sends_nothing_twice_and_holds_the_warm_up(tmp_path):
    # first run, started at 10:05:02: the 5-minute bar closing at 10:05 is live
    first = Plugin(both("2024-03-06 10:00", 5))
    summary = live_engine(first, tmp_path, et_ns("2024-03-06 10:05:02")).run()
    assert [s.ts_close for s in first.output.signals] == [et_ns("2024-03-06 10:05")]
    assert summary.metrics["live"] == {"warm_up_held": 0, "sent_before": 0}
    # restart at 10:15:02 with the backfill from 10:00: 10:05 was sent, 10:10 is
    # warm-up (never sent, now stale), 10:15 is live
    second = Plugin(both("2024-03-06 10:00", 15))
    again = live_engine(second, tmp_path, et_ns("2024-03-06 10:15:02")).run()
    assert [s.ts_close for s in second.output.signals] == [et_ns("2024-03-06 10:15")]
    assert again.metrics["live"] == {"warm_up_held": 1, "sent_before": 1}
    lines = [json.loads(x) for x in (tmp_path / "ledger").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["context", "context"]


class NoticeFirst(LiveSource):
    def start_live(self, queue, stop):
        queue.put(("*", FeedNotice("disconnected", "live_test", "connection lost")))
        super().start_live(queue, stop)


def test_a_feed_notice_becomes_a_journal_record(tmp_path):
    plugin = Plugin(both("2024-03-06 10:00", 2))
    engine = live_engine(plugin, tmp_path, et_ns("2024-03-06 10:02:02"))
    engine.sources[0] = (engine.sources[0][0], engine.sources[0][1],
                         NoticeFirst(plugin.items))  # fmt: skip
    engine.run()
    feed = [s for s in plugin.output.signals if s.kind == "feed"]
    assert [(s.name, s.instrument, s.reason) for s in feed] == [
        ("feed_disconnected", "*", "live_test: connection lost")
    ]
    assert feed[0].session_date == "2024-03-06"


def test_a_quiet_instrument_in_rth_raises_the_alarm(tmp_path):
    now = {"t": et_ns("2024-03-06 10:00:30")}
    gate = threading.Event()
    plugin = Plugin([("ES", trades("2024-03-06 10:00", 1))], gate)
    engine = live_engine(plugin, tmp_path, lambda: now["t"], stale_after="30s")

    def later():
        threading.Event().wait(0.6)
        now["t"] = et_ns("2024-03-06 10:01:10")  # ES quiet 70 s, NQ never came
        threading.Event().wait(0.6)
        gate.set()

    threading.Thread(target=later, daemon=True).start()
    engine.run()
    stale = sorted(s.instrument for s in plugin.output.signals if s.name == "feed_stale")
    assert stale == ["ES", "NQ"]


def test_a_stop_request_ends_a_live_run_and_closes_the_outputs(tmp_path):
    gate = threading.Event()  # the feed would stay open for 5 s
    plugin = Plugin(both("2024-03-06 10:00", 3), gate)
    engine = live_engine(plugin, tmp_path, et_ns("2024-03-06 10:03:02"))
    threading.Timer(0.5, engine.request_stop).start()
    summary = engine.run()
    assert summary.failed is None and not gate.is_set()
    # what was taken in is processed: the open bar is emitted, flagged partial
    assert [s.ts_close for s in plugin.output.signals] == [et_ns("2024-03-06 10:05")]
