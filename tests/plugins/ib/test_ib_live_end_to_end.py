"""A live run end to end: the real ib_async client on the loopback TWS, the
engine in live mode, the NinjaTrader output in its dry-run folder and the
webhook output to a loopback receiver, with a forced disconnect in the middle.
It must deliver the same signals as a replay of the same trades: none lost,
none twice."""

from __future__ import annotations

import json
import threading
import time

from conftest import et_ns
from ib_harness import NS, Clock, trades
from rsengine_webhook.receiver import Receiver
from rsengine_webhook.signing import decode_secret
from tws_stub import TwsStub

from rsengine.model import Signal, TradeChunk
from rsengine.testing import Components, SignalCapture, engine_for

T0 = et_ns("2024-03-06 10:00:00") // NS
END = T0 + 1200  # 20 minutes live
SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtbG9vcGJhY2stdGVzdA=="
SERIES = {
    "ES": trades(T0 - 600, END, 5100.0, 11),
    "NQ": trades(T0 - 600, END, 18000.0, 12),
}


class EveryThirdBar:
    """A test setup: on ES's bars closing on a minute divisible by 3 a long
    entry at the close (1 contract, stop and target 2 points away), the exit
    on the next bar; what it says depends on every trade of the bar."""

    def __init__(self):
        self.open = None

    def evaluate(self, slice, state):
        if not slice.present[0]:
            return []
        at, day = int(slice.ts_close), state.session.date
        close, volume = float(slice.close[0]), float(slice.volume[0])
        out = []
        if self.open is not None:
            out.append(Signal(at, day, "every_third", "exit", "ES", side="flat", contracts=1,
                              reason=f"exit at {close}", details={"entry_id": self.open,
                              "exit": "rule", "exit_price": close, "volume": volume}))  # fmt: skip
            self.open = None
        elif (at // NS // 60) % 3 == 0:
            entry = Signal(at, day, "every_third", "setup", "ES", side="long", contract="ES 03-24",
                           contracts=1, entry=close, stop=close - 2, target=close + 2,
                           reason=f"bar volume {volume}", confirmations=("rs",),
                           size_fraction=0.25)  # fmt: skip
            self.open = entry.id
            out.append(entry)
        return out


class TicksReplay:
    """The stub's trades from the warm-up start on, as a replay source."""

    def __init__(self, start_s):
        self.start_s = start_s

    def streams(self):
        out = {}
        for symbol, rows in SERIES.items():
            rows = [r for r in rows if r[0] >= self.start_s]
            t, p, v = zip(*rows, strict=True)
            out[symbol] = [TradeChunk([x * NS for x in t], p, v)]
        return out


def tree(tmp_path, sources, outputs, mode):
    return {
        "run": {"mode": mode, "grace": "2s", "ledger": str(tmp_path / "ledger")},
        "bars": {"primary": "1min"},
        "instruments": {"ES": {}, "NQ": {}},
        "group": ["ES", "NQ"],
        "sources": sources,
        "setups": {"every_third": {}},
        "outputs": {"capture": {}, **outputs},
    }


def engine_and_capture(config_tree):
    capture = SignalCapture()
    plugin = Components(
        sources={"ticks_replay": lambda settings, context: TicksReplay(T0 - 300)},
        setups={"every_third": lambda settings, context: EveryThirdBar()},
        outputs={"capture": lambda settings, context: capture},
    )
    return engine_for(config_tree, plugin), capture


def wait(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_live_with_a_drop_delivers_what_a_replay_finds_once_to_ninjatrader_and_webhooks(
    tmp_path, monkeypatch
):
    # the replay of the same trades: what the live run must deliver from T0 on
    replay, replayed = engine_and_capture(
        tree(tmp_path / "replay", {"ticks_replay": {}}, {}, "replay")
    )
    replay.run()
    want = [s.to_json() for s in replayed.signals if s.ts_close >= T0 * NS]
    assert sum('"kind":"setup"' in s for s in want) >= 5

    stub = TwsStub()
    for symbol, rows in SERIES.items():
        stub.add_future(symbol, "202403", "CME", rows)
    stub.publish(T0)
    port = stub.start_in_thread()
    receiver = Receiver(0, [decode_secret(SECRET)], out=open(tmp_path / "received.txt", "w"))
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    monkeypatch.setenv("E2E_SECRET", SECRET)
    folder = tmp_path / "nt"
    outputs = {
        "ninjatrader": {
            "folder": str(folder),
            "account": "Sim101",
            "orders": True,
            "dry_run": True,
        },  # fmt: skip
        "webhook": {
            "outbox": str(tmp_path / "outbox.sqlite"),
            "drain": "10s",
            "endpoints": {
                "loopback": {
                    "url": f"http://127.0.0.1:{receiver.port}/",
                    "style": "json",
                    "secrets": ["env:E2E_SECRET"],
                    "kinds": ["setup", "exit"],
                }
            },  # fmt: skip
        },
    }
    source = {"ib": {"port": port, "warmup": "5min", "reconnect": 0.05}}
    engine, taken = engine_and_capture(tree(tmp_path, source, outputs, "live"))
    clock = Clock(T0)
    engine.clock = clock
    (feed,) = [obj for _, _, obj in engine.sources]
    feed.clock = clock
    runner = threading.Thread(target=engine.run)
    runner.start()
    try:
        wait(lambda: len(stub.subscribers("tick_by_tick")) == 2, "the subscriptions")
        for second in range(T0 + 5, END + 5, 5):
            if second == T0 + 605:  # TWS goes away for a minute of market
                stub.refuse = True
                stub.drop_all()
                wait(lambda: any(s.name == "feed_disconnected" for s in taken.signals), "drop")
                stub.publish(T0 + 660)
                clock.set(T0 + 660)
                stub.refuse = False
                wait(lambda: any(s.name == "feed_backfilled" for s in taken.signals), "backfill")
                continue
            if T0 + 605 < second <= T0 + 660:
                continue
            stub.publish(second)
            clock.set(second)
            time.sleep(0.01)
        clock.set(END + 3)  # past the last bar's end plus the grace
        wait(lambda: len([s for s in taken.signals if s.kind != "feed"]) >= len(want),
             "the replay's signals")  # fmt: skip
        time.sleep(0.3)  # a signal more than the replay's would show here
    finally:
        engine.request_stop()
        runner.join(30)
        stub.stop()
    receiver.shutdown()
    got = [s.to_json() for s in taken.signals if s.kind != "feed"]
    assert got == want  # the same signals, in order, each once
    timing = ("feed_stale", "feed_fresh")  # a minute without data may raise the alarm
    assert [s.name for s in taken.signals if s.kind == "feed" and s.name not in timing] == [
        "feed_connected", "feed_live", "feed_disconnected", "feed_connected",
        "feed_backfilled", "feed_live",
    ]  # fmt: skip

    trade_ids = [json.loads(s)["id"] for s in want]
    received = [webhook_id.split("_")[1] for webhook_id in receiver.seen]  # msg_<signal id>_...
    assert sorted(received) == sorted(trade_ids)  # every one received
    duplicates = (tmp_path / "received.txt").read_text().count("duplicate ")
    assert duplicates == 0
    places = [p for p in (folder / "dry-run").glob("oif-*.txt") if "PLACE" in p.read_text()]
    entries = [s for s in want if '"kind":"setup"' in s]
    assert len(places) == len(entries)
