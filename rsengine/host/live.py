"""What only a live run needs besides the engine's one path: the feeds'
notices as journal records, the staleness alarm, the late-trade report, and
the delivery gate that keeps a restart from sending a signal twice.

Delivery in a live run (docs/live.md):

* A signal whose bar closed after the run started (less the grace) goes to
  the outputs, unless its id is in the ledger: it was delivered by an earlier
  run of the same config (a restart in the same session).
* A signal from the backfill (its bar closed before the run started) is
  warm-up: the engine needs it to know its state, the trader does not want
  an order for a moment gone. It is held back, except an exit or a halt that
  closes what an earlier run delivered (its entry is in the ledger, or for a
  halt, an entry of that session is): that one goes out, once.
* Each delivered signal's id is appended to the ledger (``run.ledger``, one
  JSON line each, synced) after the outputs took it; a crash between the two
  sends it again on restart, and the outputs' own journals (NinjaTrader's
  order ids, the webhook outbox) drop the repeat.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from functools import partial
from pathlib import Path

import structlog

from rsengine.exchange.sessions import load_schedule, session_date_of
from rsengine.feeds import FeedNotice
from rsengine.model import Signal

log = structlog.get_logger("rsengine.live")
FEED_KIND = "feed"  # the kind of a feed notice's journal record
CLOSING_KINDS = ("exit", "halt")


def notice_signal(notice: FeedNotice, ts_ns: int, session_date: str | None) -> Signal:
    """A feed notice as a journal record (instrument ``*`` for the whole feed)."""
    return Signal(
        ts_close=int(ts_ns),
        session_date=session_date or session_date_of(ts_ns).isoformat(),
        name=f"feed_{notice.kind}",
        kind=FEED_KIND,
        instrument=notice.instrument,
        side="flat",
        reason=f"{notice.source}: {notice.message}",
        source=notice.source,
        details=_plain(notice.details),
    )


def _plain(details: dict) -> dict:
    """Details as JSON can hold them (a notice may carry tuples or numbers of numpy)."""
    return json.loads(json.dumps(details, default=str))


class Ledger:
    """The ids of the signals delivered by live runs of one config, with the
    session and kind of each; a JSON-lines file read at start."""

    def __init__(self, path):
        self.path = Path(path)
        self.sessions: dict = {}  # id -> (session date, kind, entry id of an exit)
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    row = json.loads(line)
                    self.sessions[row["id"]] = (row["session"], row["kind"], row.get("entry"))
                except (ValueError, KeyError, TypeError):
                    log.warning("ledger line skipped", file=str(self.path), line=number)
        self._file = None

    def __contains__(self, signal_id: str) -> bool:
        return signal_id in self.sessions

    def has_entry_in(self, session_date: str) -> bool:
        return any(s == session_date and k == "setup" for s, k, _ in self.sessions.values())

    def add(self, signal: Signal) -> None:
        entry = signal.details.get("entry_id") if signal.kind == "exit" else None
        self.sessions[signal.id] = (signal.session_date, signal.kind, entry)
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        row = {"id": signal.id, "session": signal.session_date, "kind": signal.kind}
        if entry:
            row["entry"] = entry
        self._file.write(json.dumps(row, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class DeliveryGate:
    """Which signals of a live run reach the outputs (module docstring)."""

    def __init__(self, ledger: Ledger, started_ns: int, grace_ns: int):
        self.ledger = ledger
        self.live_from = started_ns - grace_ns
        self.held = 0  # warm-up signals not delivered
        self.repeats = 0  # delivered by an earlier run

    def admit(self, signal: Signal) -> bool:
        if signal.kind == FEED_KIND:
            return True
        if signal.id in self.ledger:
            self.repeats += 1
            return False
        if signal.ts_close >= self.live_from or self._closes_delivered(signal):
            return True
        self.held += 1
        return False

    def delivered(self, signal: Signal) -> None:
        if signal.kind != FEED_KIND:
            self.ledger.add(signal)

    def _closes_delivered(self, signal: Signal) -> bool:
        if signal.kind == "exit":
            return signal.details.get("entry_id") in self.ledger
        if signal.kind == "halt":
            return self.ledger.has_entry_in(signal.session_date)
        return False

    def report(self, summary) -> None:
        summary.metrics["live"] = {"warm_up_held": self.held, "sent_before": self.repeats}
        if self.held:
            summary.notes.append(
                f"{self.held} signal(s) from the backfill before the run started were not sent"
            )
        self.ledger.close()


class LiveWatch:
    """The staleness alarm and the late-trade report of a live run.

    An instrument is stale when no data arrived for ``stale_after_ns`` while
    its regular session is open: one ``stale`` notice, then ``fresh`` when
    data come back. Late trades (DOMAIN.md §2) are reported once a minute at
    most, with the count per instrument since the last report."""

    def __init__(self, symbols, stale_after_ns: int, started_ns: int, rth_bounds):
        self.stale_after_ns = stale_after_ns
        self.arrived = dict.fromkeys(symbols, started_ns)
        self.stale: set = set()
        self.rth_bounds = rth_bounds  # ts_ns -> (rth_open_ns, rth_close_ns)
        self._late_seen: dict = dict.fromkeys(symbols, 0)
        self._late_said = started_ns

    def data(self, symbol: str, now_ns: int) -> FeedNotice | None:
        self.arrived[symbol] = now_ns
        if symbol in self.stale:
            self.stale.discard(symbol)
            return FeedNotice("fresh", "engine", f"{symbol} data again", symbol)
        return None

    def check(self, now_ns: int) -> list[FeedNotice]:
        rth_open, rth_close = self.rth_bounds(now_ns)
        if not rth_open <= now_ns < rth_close:
            return []
        out = []
        for symbol, last in self.arrived.items():
            quiet = now_ns - max(last, rth_open)
            if symbol not in self.stale and quiet > self.stale_after_ns:
                self.stale.add(symbol)
                seconds = round(quiet / 1e9)
                out.append(
                    FeedNotice(
                        "stale",
                        "engine",
                        f"no {symbol} data for {seconds} s",
                        symbol,
                        {"quiet_s": seconds},
                    )  # fmt: skip
                )
        return out

    def late(self, counts: dict, now_ns: int) -> dict:
        """The late trades per instrument since the last report, when a minute
        has passed and some came (else {})."""
        if now_ns - self._late_said < 60_000_000_000:
            return {}
        new = {s: n - self._late_seen[s] for s, n in counts.items() if n > self._late_seen[s]}
        if new:
            self._late_seen.update(counts)
            self._late_said = now_ns
        return new


def run_live(engine) -> None:
    """Live: live sources put ``(symbol, chunk)``, ``(symbol, FeedNotice)``
    and finally ``None`` on a queue from their own threads
    (``start_live(queue, stop_event)``, rsengine/feeds.py); bars close by
    the clock plus the grace. Ends when every source has put ``None`` or
    a stop is requested."""
    chunks: queue.Queue = queue.Queue()
    stop = threading.Event()
    started = engine.clock()
    grace = engine.config.run.grace_ns
    ledger = Path(engine.config.base_dir, engine.config.run.ledger)
    engine.gate = DeliveryGate(Ledger(ledger), started, grace)
    watch = LiveWatch(
        engine.feeds, engine.config.run.stale_after_ns, started, partial(rth_at, engine)
    )
    # sources catching up: no bar or slice closes by the clock meanwhile
    catching_up = {
        getattr(s, "name", n) for n, _, s in engine.sources if getattr(s, "backfills", False)
    }
    for name, plugin, source in engine.sources:
        engine.call(plugin, f"source {name}.start_live", source.start_live, chunks, stop)
    running = len(engine.sources)
    try:
        while running and not engine.stop_requested.is_set():
            # take everything that has arrived before looking at the clock,
            # so a bar is not closed as missing while its data wait in the queue
            try:
                item = chunks.get(timeout=_until_next_close(engine, grace))
                while True:
                    if item is None:
                        running -= 1
                    elif isinstance(item[1], FeedNotice):
                        _follow_catching_up(catching_up, item[1])
                        feed_notice(engine, item[1])
                    else:
                        symbol, chunk = item
                        back = watch.data(symbol, engine.clock())
                        if back is not None:
                            feed_notice(engine, back)
                        engine.push_bars(symbol, engine.feeds[symbol].ingest(chunk))
                    item = chunks.get_nowait()
            except queue.Empty:
                pass
            now = engine.clock()
            if catching_up and running:  # closed by the data alone meanwhile
                engine.process_ready()
            else:
                for symbol, feed in engine.feeds.items():
                    engine.push_bars(symbol, feed.bars.flush(now - grace))
                engine.process_ready(now)
            for notice in watch.check(now):
                feed_notice(engine, notice)
            late = watch.late({s: f.bars.late_count for s, f in engine.feeds.items()}, now)
            if late:
                log.warning("late trades (counted, not merged)", per_instrument=late)
    finally:
        stop.set()
    for symbol, feed in engine.feeds.items():
        engine.push_bars(symbol, feed.bars.finish())
    engine.process_ready(final=True)


def _until_next_close(engine, grace: int) -> float:
    """Wall seconds to wait for data before looking at the clock again: until
    the next bar's end plus the grace, a quarter second at most, so a bar
    closes on time when no trade comes."""
    now, bar = engine.clock(), engine.config.bars.primary_ns
    due = (now - grace) // bar * bar + bar + grace
    return min(0.25, max(0.0002, (due - now) / 1e9 / engine.clock_speed))


def feed_notice(engine, notice: FeedNotice) -> None:
    """A feed's notice: logged, and a ``feed`` record for the journal."""
    quiet = notice.kind in ("connected", "backfilled", "live", "fresh")
    (log.info if quiet else log.warning)(
        "feed", kind=notice.kind, source=notice.source, instrument=notice.instrument,
        message=notice.message,
    )  # fmt: skip
    session = engine.state.session.date if engine.state.session is not None else None
    engine.emit(notice_signal(notice, engine.clock(), session))


def rth_at(engine, ts_ns: int) -> tuple[int, int]:
    """The regular session (open, close) of the trade date of ``ts_ns``;
    (0, 0) on a day the exchange calendar has no session (a weekend)."""
    day = session_date_of(ts_ns, engine.state.tz)
    if not len(load_schedule(day, day, engine.config.session.calendar)):
        return 0, 0
    _, _, rth_open, rth_close = engine.bounds(day)
    return rth_open, rth_close


def _follow_catching_up(catching_up: set, notice: FeedNotice) -> None:
    """A source catches up after connecting and after each drop; ``live`` says
    it has, ``ended`` or ``error`` that it will not."""
    if notice.kind in ("live", "ended", "error"):
        catching_up.discard(notice.source)
    elif notice.kind == "disconnected":
        catching_up.add(notice.source)
