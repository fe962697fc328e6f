"""The engine: source chunks -> bars -> slices -> indicators -> setups -> outputs.

One path for every mode: chunks go through the same ``ingest`` -> bars ->
slice assembler -> ``_on_slice``. Replay merges the sources' chunks in time
order and runs as fast as it can; paced replay sleeps so data time runs at N x
the wall clock; live takes chunks from a queue as feeds deliver them and closes
bars by the wall clock (``flush(now - grace)``). Hooks fire per slice, per signal
and per session event.
"""

from __future__ import annotations

import heapq
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import numpy as np
import structlog

from rsengine.core import BarRing, Bars, SliceAssembler, SliceBatch
from rsengine.exchange.sessions import (
    SessionBounds,
    is_halt,
    load_schedule,
    session_date_of,
    split_sessions,
)
from rsengine.exchange.settlement import SessionCloses, SettlementTracker
from rsengine.feeds import FeedNotice
from rsengine.host.bars import TimeBars
from rsengine.host.per_slice import RingsAsOf, RowValues, bars_after, stack_rows
from rsengine.host.plugins import call_each
from rsengine.model import BarChunk, Signal, TradeChunk

log = structlog.get_logger("rsengine.engine")
END_OF_TIME = 2**63 - 1
RING_CAPACITY = 4096  # bars every component can read back in state.rings
# Rows per batch while slice-at-a-time components run beside batch ones: the
# rings hold this many bars more than RING_CAPACITY, so that each slice still
# sees RING_CAPACITY bars of history ending at itself.
ROWS_PER_WALKED_BATCH = 1024


class PluginFailure(RuntimeError):
    """A component or hook implementation raised; names the plugin."""

    def __init__(self, plugin: str, where: str, exc: BaseException):
        super().__init__(f"plugin {plugin!r} failed in {where}: {type(exc).__name__}: {exc}")
        self.plugin, self.where, self.original = plugin, where, exc


@attrs.frozen
class SessionInfo:
    """One Globex session: its date (the day it closes) and its hours, ns UTC."""

    date: str
    open_ns: int = 0
    close_ns: int = 0
    rth_open_ns: int = 0  # 09:30 ET
    rth_close_ns: int = 0  # 16:00 ET, or the session close on an early-close day


@attrs.define
class RunSummary:
    bars: int = 0
    slices: int = 0
    signals: int = 0
    late_trades: int = 0
    off_session_trades: int = 0
    missing: int = 0  # instrument slots marked missing in slices (gaps)
    partial_bars: int = 0
    late_bars: int = 0
    sessions: int = 0
    bad_rows: int = 0
    duplicates_dropped: int = 0  # identical repeated input bars dropped by a source
    signals_by_name: dict = attrs.field(factory=dict)
    disabled_plugins: list = attrs.field(factory=list)
    first_ts: int | None = None
    last_ts: int | None = None
    elapsed_s: float = 0.0
    failed: str | None = None
    notes: list = attrs.field(factory=list)
    metrics: dict = attrs.field(factory=dict)  # e.g. {"premarket_read": {"hit_rate": ...}}


@attrs.define(eq=False)
class ComponentContext:
    """What a component factory gets besides its settings."""

    config: object
    symbols: tuple
    bar_ns: int
    name: str
    plugin: str
    log: object
    columns: tuple = ()  # indicator value names configured before this component
    data_labels: tuple = ()  # the sources' labels, e.g. ("SIMULATED",), for outputs to show
    component: object = None  # its ComponentConfig: component.error(key, msg) -> ConfigError
    sources: tuple = ()  # the source objects built so far (e.g. for their events())
    shared: dict = attrs.field(factory=dict)  # one dict for every component of the run


@attrs.define(eq=False)
class DailyBars:
    """One instrument's completed sessions, one entry per session date."""

    dates: list = attrs.field(factory=list)
    open: list = attrs.field(factory=list)
    high: list = attrs.field(factory=list)
    low: list = attrs.field(factory=list)
    close: list = attrs.field(factory=list)  # last bar close of the Globex session
    volume: list = attrs.field(factory=list)
    settle: list = attrs.field(factory=list)  # settlement, or its rth_last fallback

    def __len__(self) -> int:
        return len(self.dates)


@attrs.define(eq=False)
class MarketState:
    """What indicators and setups read: rings, session closes, daily bars and
    the values the indicators produced so far for the current batch."""

    symbols: tuple
    rings: dict
    closes: dict  # symbol -> SessionCloses
    session: SessionInfo | None = None
    values: dict = attrs.field(factory=dict)  # column -> (rows, symbols) array of this batch
    config: object = None
    daily: dict = attrs.field(factory=dict)  # symbol -> DailyBars of completed sessions
    group: tuple = ()  # column indices of the group members, in group order
    group_names: tuple = ()  # their names in the group ("ES", "NQ", ...)
    bar_ns: int = 0
    tz: str = "America/New_York"

    def index(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def prior_close(self, symbol: str, method: str = "settlement") -> float | None:
        closes = self.closes[symbol]
        prior = closes.prior_session(self.session.date) if self.session else None
        return None if prior is None else closes.price(prior, method)


class InstrumentFeed:
    """One instrument's bars and settlement window, fed chunk by chunk."""

    def __init__(self, symbol: str, bars: TimeBars, settlement: SettlementTracker):
        self.symbol = symbol
        self.bars = bars
        self.settlement = settlement

    def ingest(self, chunk) -> Bars:
        if isinstance(chunk, TradeChunk):
            self.settlement.add_trades(chunk.ts, chunk.price, chunk.size)
            return self.bars.update_many(chunk.ts, chunk.price, chunk.size)
        if isinstance(chunk, BarChunk):
            return self.bars.update_bars(
                chunk.ts_open,
                chunk.open,
                chunk.high,
                chunk.low,
                chunk.close,
                chunk.volume,
                input_bar=chunk.bar_ns or None,
            )
        raise TypeError(f"{self.symbol}: a source yielded {type(chunk).__name__}, not a chunk")


class Engine:
    """Runs one configured session of rsengine. Build with ``rsengine.host.runner``."""

    def __init__(self, config, pm, symbols, feeds, sources, indicators, setups, outputs):
        self.config = config
        self.pm = pm
        self.symbols = tuple(symbols)
        self.feeds = feeds  # symbol -> InstrumentFeed
        self.sources = sources  # list of (name, plugin, object)
        self.indicators = indicators
        self.setups = setups
        self.outputs = outputs
        self.assembler = SliceAssembler(list(self.symbols), config.run.grace_ns)
        self._walked = self._slice_at_a_time()
        self.row_by_row = any(self._walked.values())
        ring_capacity = RING_CAPACITY + (ROWS_PER_WALKED_BATCH if self.row_by_row else 0)
        tz = config.session.timezone
        self.state = MarketState(
            symbols=self.symbols,
            rings={s: BarRing(ring_capacity) for s in self.symbols},
            closes={s: SessionCloses(feeds[s].settlement, tz) for s in self.symbols},
            config=config,
            daily={s: DailyBars() for s in self.symbols},
            group=tuple(self.symbols.index(s) for s in config.group_symbols),
            group_names=tuple(config.group),
            bar_ns=config.bars.primary_ns,
            tz=tz,
        )
        self.summary = RunSummary()
        self.on_progress: Callable[[int], None] | None = None
        self.clock: Callable[[], int] = time.time_ns  # live mode's wall clock (ns UTC)
        self.clock_speed = 1.0  # clock ns per wall ns (a test or benchmark may run it faster)
        self._tz = tz
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._disabled: set[str] = set()
        self._bounds = SessionBounds(config.session.calendar, tz)
        self._day = _SessionOHLCV(len(self.symbols))
        # most rows per component call (None: whatever the assembler gives)
        self.batch_rows = ROWS_PER_WALKED_BATCH if self.row_by_row else None
        self.stop_requested = threading.Event()
        self._gate = None  # live runs: which signals reach the outputs (rsengine/host/live.py)

    def _slice_at_a_time(self) -> dict:
        """Which parts want one slice at a time: components without a batch
        method, and plugins watching every slice. Only they walk the rows of
        a batch; everything else takes the batch whole (same results)."""
        return {
            "indicators": any(not hasattr(o, "update_batch") for _, _, o in self.indicators),
            "setups": any(not hasattr(o, "evaluate_batch") for _, _, o in self.setups),
            "outputs": any(not hasattr(o, "on_batch") for _, _, o in self.outputs),
            "hook": bool(self.pm.hook.rsengine_slice_closed.get_hookimpls()),
        }

    # -- running ---------------------------------------------------------------

    def run(self) -> RunSummary:
        start = time.perf_counter()
        try:
            if self.config.run.mode == "live":
                self._live()
            else:
                self._replay(paced=self.config.run.mode == "paced")
        except Exception as exc:  # outputs and run_finished still see how it ended
            self.summary.failed = self.summary.failed or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.summary.elapsed_s = time.perf_counter() - start
            if self.stop_requested.is_set():
                self.summary.notes.append("stopped on request: what came in was processed")
            self._finish_run()
        return self.summary

    def _replay(self, paced: bool) -> None:
        heap: list = []
        streams: dict[str, Iterator] = {}
        source_of: dict[str, str] = {}
        data_end: dict[str, int | None] = {}
        for name, plugin, source in self.sources:
            for symbol, stream in self._call(
                plugin, f"source {name}.streams", source.streams
            ).items():
                if symbol not in self._index:
                    raise ValueError(
                        f"source {name!r} delivers {symbol!r}, which is not configured"
                    )
                if symbol in streams:
                    raise ValueError(f"two sources deliver {symbol!r}")
                streams[symbol] = iter(stream)
                source_of[symbol] = name
                data_end[symbol] = _data_end(source)
        order = {s: k for k, s in enumerate(self.symbols)}
        for symbol in self.symbols:
            if symbol not in streams:  # e.g. a test feeding some instruments only
                self._without_data(symbol, f"no source delivers {symbol}", fatal=False)
            elif self._push_next(heap, symbol, streams[symbol], order) is None:
                what = f"source {source_of[symbol]!r} delivers no data for {symbol}"
                self._without_data(symbol, what, fatal=symbol in self.config.group_symbols)
        pacer = _Pacer(self.config.run.speed) if paced else None
        while heap and not self.stop_requested.is_set():
            first_ts, _, symbol, chunk = heapq.heappop(heap)
            if pacer:
                pacer.wait_until(first_ts)
            feed = self.feeds[symbol]
            self._push_bars(symbol, feed.ingest(chunk))
            nxt = self._push_next(heap, symbol, streams[symbol], order)
            i = self._index[symbol]
            if nxt is None:
                if data_end.get(symbol) is not None:  # the data is complete up to there
                    self._push_bars(symbol, feed.bars.flush(data_end[symbol]))
                self._push_bars(symbol, feed.bars.finish())
                self.assembler.mark_through(i, END_OF_TIME)
            else:
                # the next chunk starts at nxt: nothing of this instrument lies before it
                self._push_bars(symbol, feed.bars.flush(nxt))
                self.assembler.mark_through(i, nxt)
            self._on_batch(self._poll(None))
            if self.on_progress:
                self.on_progress(int(chunk.ts[-1]) if len(chunk) else first_ts)
        self._on_batch(self._poll(None, final=True))

    def request_stop(self) -> None:
        """Ends a live or paced run at the next step (Ctrl-C, SIGTERM): what
        was taken in is processed and every output closed as usual."""
        self.stop_requested.set()

    def _live(self) -> None:
        """Live: live sources put ``(symbol, chunk)``, ``(symbol, FeedNotice)``
        and finally ``None`` on a queue from their own threads
        (``start_live(queue, stop_event)``, rsengine/feeds.py); bars close by
        the clock plus the grace. Ends when every source has put ``None`` or
        a stop is requested."""
        from rsengine.host.live import DeliveryGate, Ledger, LiveWatch

        chunks: queue.Queue = queue.Queue()
        stop = threading.Event()
        started = self.clock()
        grace = self.config.run.grace_ns
        ledger = Path(self.config.base_dir, self.config.run.ledger)
        self._gate = DeliveryGate(Ledger(ledger), started, grace)
        watch = LiveWatch(self.feeds, self.config.run.stale_after_ns, started, self._rth_at)
        # sources catching up: no bar or slice closes by the clock meanwhile
        catching_up = {
            getattr(s, "name", n) for n, _, s in self.sources if getattr(s, "backfills", False)
        }
        for name, plugin, source in self.sources:
            self._call(plugin, f"source {name}.start_live", source.start_live, chunks, stop)
        running = len(self.sources)
        try:
            while running and not self.stop_requested.is_set():
                # take everything that has arrived before looking at the clock,
                # so a bar is not closed as missing while its data wait in the queue
                try:
                    item = chunks.get(timeout=self._until_next_close(grace))
                    while True:
                        if item is None:
                            running -= 1
                        elif isinstance(item[1], FeedNotice):
                            _follow_catching_up(catching_up, item[1])
                            self._feed_notice(item[1])
                        else:
                            symbol, chunk = item
                            back = watch.data(symbol, self.clock())
                            if back is not None:
                                self._feed_notice(back)
                            self._push_bars(symbol, self.feeds[symbol].ingest(chunk))
                        item = chunks.get_nowait()
                except queue.Empty:
                    pass
                now = self.clock()
                if catching_up and running:  # closed by the data alone meanwhile
                    self._on_batch(self._poll(None))
                else:
                    for symbol, feed in self.feeds.items():
                        self._push_bars(symbol, feed.bars.flush(now - grace))
                    self._on_batch(self._poll(now))
                for notice in watch.check(now):
                    self._feed_notice(notice)
                late = watch.late({s: f.bars.late_count for s, f in self.feeds.items()}, now)
                if late:
                    log.warning("late trades (counted, not merged)", per_instrument=late)
        finally:
            stop.set()
        for symbol, feed in self.feeds.items():
            self._push_bars(symbol, feed.bars.finish())
        self._on_batch(self._poll(None, final=True))

    def _until_next_close(self, grace: int) -> float:
        """Wall seconds to wait for data before looking at the clock again: until
        the next bar's end plus the grace, a quarter second at most, so a bar
        closes on time when no trade comes."""
        now, bar = self.clock(), self.config.bars.primary_ns
        due = (now - grace) // bar * bar + bar + grace
        return min(0.25, max(0.0002, (due - now) / 1e9 / self.clock_speed))

    def _feed_notice(self, notice: FeedNotice) -> None:
        """A feed's notice: logged, and a ``feed`` record for the journal."""
        from rsengine.host.live import notice_signal

        quiet = notice.kind in ("connected", "backfilled", "live", "fresh")
        (log.info if quiet else log.warning)(
            "feed", kind=notice.kind, source=notice.source, instrument=notice.instrument,
            message=notice.message,
        )  # fmt: skip
        session = self.state.session.date if self.state.session is not None else None
        self._emit(notice_signal(notice, self.clock(), session))

    def _rth_at(self, ts_ns: int) -> tuple[int, int]:
        """The regular session (open, close) of the trade date of ``ts_ns``;
        (0, 0) on a day the exchange calendar has no session (a weekend)."""
        day = session_date_of(ts_ns, self._tz)
        if not len(load_schedule(day, day, self.config.session.calendar)):
            return 0, 0
        _, _, rth_open, rth_close = self._bounds(day)
        return rth_open, rth_close

    def _without_data(self, symbol: str, what: str, fatal: bool) -> None:
        """An instrument no data will come for: a warning, or an error (a
        group member with an empty source)."""
        if fatal:
            raise ValueError(
                f"{what}, a member of the group: nothing to compare it by (an empty or "
                "header-only file, or no data inside the start/end window?)"
            )
        log.warning("instrument without data", instrument=symbol, detail=what)
        self.summary.notes.append(f"{what}: it is missing in every slice")
        self.assembler.mark_through(self._index[symbol], END_OF_TIME)

    @staticmethod
    def _push_next(heap, symbol, stream, order):
        for chunk in stream:
            if len(chunk):
                first = int(chunk.ts[0])
                heapq.heappush(heap, (first, order[symbol], symbol, chunk))
                return first
        return None

    def _push_bars(self, symbol: str, bars: Bars) -> None:
        if len(bars):
            self.assembler.push(self._index[symbol], bars)
            self.summary.bars += len(bars)
            self.summary.partial_bars += int(np.count_nonzero(bars.flags & 1))
            if self.summary.first_ts is None:
                self.summary.first_ts = int(bars.ts_close[0])
            self.summary.last_ts = max(self.summary.last_ts or 0, int(bars.ts_close[-1]))

    # -- slices, a batch at a time -------------------------------------------------

    def _poll(self, now: int | None, final: bool = False) -> SliceBatch:
        return self.assembler.finish_batch() if final else self.assembler.poll_batch(now)

    def _on_batch(self, batch: SliceBatch) -> None:
        if not len(batch):
            return
        for lo, hi, day in split_sessions(batch.ts_close, self._tz):
            part = batch if (lo, hi) == (0, len(batch)) else batch.rows(lo, hi)
            self._enter_session(day)
            step = self.batch_rows or len(part)
            for start in range(0, len(part), step):
                self._process(part if step == len(part) else part.rows(start, start + step))

    def _enter_session(self, day) -> None:
        date = day.isoformat()
        if self.state.session is not None and self.state.session.date == date:
            return
        if self.state.session is not None:
            self._close_session()
        self.state.session = SessionInfo(date, *self._bounds(day))
        self.summary.sessions += 1
        self._hook("rsengine_session_start", engine=self, session=self.state.session)

    def _close_session(self) -> None:
        session = self.state.session
        if is_halt(session.date, self.config.session.calendar, self._tz):
            # a holiday halt publishes no settlement: its trades belong to the next
            # trade date, so its daily bar is the start of the next session's
            self._session_ended(session)
            return
        for i, symbol in enumerate(self.symbols):
            if self._day.seen[i]:
                daily = self.state.daily[symbol]
                daily.dates.append(session.date)
                for name in ("open", "high", "low", "close", "volume"):
                    getattr(daily, name).append(float(getattr(self._day, name)[i]))
                settle = self.state.closes[symbol].price(session.date, "settlement")
                daily.settle.append(math.nan if settle is None else settle)
        self._day.reset()
        self._session_ended(session)

    def _session_ended(self, session) -> None:
        for name, plugin, output in self._active(self.outputs):
            if hasattr(output, "on_session_end"):
                self._call(plugin, f"output {name}", output.on_session_end, session)
        self._hook("rsengine_session_end", engine=self, session=session)

    def _process(self, batch: SliceBatch) -> None:
        """One batch inside one session: state, indicators, setups, outputs."""
        session = self.state.session
        for i, symbol in enumerate(self.symbols):
            rows = np.flatnonzero(batch.present[:, i])
            if not len(rows):
                continue
            bars = _column_bars(batch, i, rows)
            self.state.rings[symbol].append_bars(bars)
            self.state.closes[symbol].on_bars(
                session.date, bars.ts_close, bars.close, session.rth_close_ns
            )
        self._day.update(batch)
        n = len(batch)
        self.summary.slices += n
        self.summary.missing += int(batch.present.size - np.count_nonzero(batch.present))

        values: dict = {}
        self.state.values = values
        after = bars_after(batch.present) if self.row_by_row else None
        for name, plugin, indicator in self._active(self.indicators):
            where = f"indicator {name}"
            if hasattr(indicator, "update_batch"):
                result = self._call(plugin, where, indicator.update_batch, batch, self.state)
            else:
                rows = self._each_slice(plugin, where, indicator.update, batch, after)
                rows += [None] * (len(batch) - len(rows))  # disabled on the way
                result = stack_rows([r or {} for r in rows])
            if result:
                values.update(result)
        signals: list[Signal] = []
        for name, plugin, setup in self._active(self.setups):
            where = f"setup {name}"
            if hasattr(setup, "evaluate_batch"):
                found = self._call(plugin, where, setup.evaluate_batch, batch, self.state)
                signals.extend(found or ())
            else:
                for found in self._each_slice(plugin, where, setup.evaluate, batch, after):
                    signals.extend(found or ())
        signals.sort(key=lambda sig: sig.ts_close)  # stable: setups keep their order
        for name, plugin, output in self._active(self.outputs):
            if hasattr(output, "on_batch"):
                self._call(plugin, f"output {name}", output.on_batch, batch, values)
        if self._walked["outputs"] or self._walked["hook"]:
            self._deliver_slice_by_slice(batch, values, signals)
        else:
            for signal in signals:
                self._emit(signal)

    def _each_slice(self, plugin, where, method, batch: SliceBatch, after) -> list:
        """Calls a slice-at-a-time method on each row, with ``state.values``
        and ``state.rings`` as they were at that slice; stops for a plugin
        disabled on the way."""
        state = self.state
        values, rings = state.values, state.rings
        results = []
        try:
            for j in range(len(batch)):
                state.values = RowValues(values, j)
                state.rings = RingsAsOf(rings, after, j, self._index, RING_CAPACITY)
                results.append(self._call(plugin, where, method, batch.row(j), state))
                if plugin in self._disabled:
                    break
        finally:
            state.values, state.rings = values, rings
        return results

    def _deliver_slice_by_slice(self, batch: SliceBatch, values: dict, signals: list) -> None:
        """Slice-at-a-time outputs and ``rsengine_slice_closed`` get each row,
        and each signal follows the row it closed at, as if the engine had
        gone slice by slice."""
        at = np.searchsorted(batch.ts_close, [s.ts_close for s in signals])
        next_signal = 0
        for j in range(len(batch)):
            row, row_values = batch.row(j), RowValues(values, j)
            for name, plugin, output in self._active(self.outputs):
                if not hasattr(output, "on_batch"):
                    self._call(plugin, f"output {name}", output.on_slice, row, row_values)
            if self._walked["hook"]:
                self._hook("rsengine_slice_closed", engine=self, slice=row, values=row_values)
            while next_signal < len(signals) and (at[next_signal] <= j or j == len(batch) - 1):
                self._emit(signals[next_signal])
                next_signal += 1

    def _emit(self, signal: Signal) -> None:
        self.summary.signals += 1
        self.summary.signals_by_name[signal.name] = (
            self.summary.signals_by_name.get(signal.name, 0) + 1
        )
        if self._gate is not None and not self._gate.admit(signal):
            return  # warm-up, or sent by an earlier run (rsengine/host/live.py)
        for name, plugin, output in self._active(self.outputs):
            self._call(plugin, f"output {name}", output.on_signal, signal)
        self._hook("rsengine_signal_emitted", engine=self, signal=signal)
        if self._gate is not None:
            self._gate.delivered(signal)

    def _finish_run(self) -> None:
        if self._gate is not None:
            self._gate.report(self.summary)
        for feed in self.feeds.values():
            self.summary.late_trades += feed.bars.late_count
            self.summary.off_session_trades += feed.bars.off_session_count
        self.summary.late_bars = self.assembler.late_bars
        for _, _, source in self.sources:
            self.summary.bad_rows += getattr(source, "bad_rows", 0)
            self.summary.duplicates_dropped += getattr(source, "duplicates_dropped", 0)
        if self.state.session is not None and self.summary.failed is None:
            self._close_session()
        for name, plugin, setup in self._active(self.setups):
            if hasattr(setup, "finish"):
                self._call(plugin, f"setup {name}.finish", setup.finish, self.summary)
        unclosed = None
        for name, plugin, output in self._active(self.outputs):
            try:
                output.close(self.summary)
            except Exception as exc:  # report, and still close the others
                log.error("output failed to close", plugin=plugin, output=name, error=repr(exc))
                unclosed = unclosed or (PluginFailure(plugin, f"output {name}.close", exc), exc)
        self._hook("rsengine_run_finished", engine=self, summary=self.summary)
        if unclosed and self.summary.failed is None:  # its results may not be delivered
            self.summary.failed = str(unclosed[0])
            raise unclosed[0] from unclosed[1]

    # -- errors: name the plugin, then stop or disable it ------------------------

    def _active(self, components):
        # checked item by item: a plugin disabled by one of its components is
        # not called through its next one in the same loop
        for component in components:
            if component[1] not in self._disabled:
                yield component

    def _call(self, plugin: str, where: str, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:
            self._fail(plugin, where, exc)
            return None

    def _fail(self, plugin: str, where: str, exc: Exception) -> None:
        if self.config.run.on_plugin_error == "stop" or where.startswith("source"):
            failure = PluginFailure(plugin, where, exc)
            self.summary.failed = str(failure)
            raise failure from exc
        log.error("plugin disabled after an error", plugin=plugin, where=where, error=repr(exc))
        if plugin not in self._disabled:
            self._disabled.add(plugin)
            self.summary.disabled_plugins.append(plugin)

    def _hook(self, name: str, **kwargs) -> None:
        call_each(self.pm, name, kwargs, on_error=self._fail, skip=self._disabled)


def _follow_catching_up(catching_up: set, notice: FeedNotice) -> None:
    """A source catches up after connecting and after each drop; ``live`` says
    it has, ``ended`` or ``error`` that it will not."""
    if notice.kind in ("live", "ended", "error"):
        catching_up.discard(notice.source)
    elif notice.kind == "disconnected":
        catching_up.add(notice.source)


def _column_bars(batch: SliceBatch, i: int, rows: np.ndarray) -> Bars:
    return Bars(
        ts_open=batch.ts_open[rows, i],
        ts_close=batch.ts_close[rows],
        open=batch.open[rows, i],
        high=batch.high[rows, i],
        low=batch.low[rows, i],
        close=batch.close[rows, i],
        volume=batch.volume[rows, i],
        vwap=batch.vwap[rows, i],
        trades=batch.trades[rows, i],
        flags=batch.flags[rows, i],
    )


class _SessionOHLCV:
    """Each instrument's open, high, low, close and volume so far this session."""

    def __init__(self, k: int):
        self.k = k
        self.reset()

    def reset(self) -> None:
        k = self.k
        self.seen = np.zeros(k, np.bool_)
        self.open = np.full(k, np.nan)
        self.high = np.full(k, -np.inf)
        self.low = np.full(k, np.inf)
        self.close = np.full(k, np.nan)
        self.volume = np.zeros(k)

    def update(self, batch: SliceBatch) -> None:
        present = batch.present
        any_ = present.any(axis=0)
        if not any_.any():
            return
        first = np.argmax(present, axis=0)
        last = len(present) - 1 - np.argmax(present[::-1], axis=0)
        cols = np.arange(self.k)
        new = any_ & ~self.seen
        self.open[new] = batch.open[first, cols][new]
        self.close[any_] = batch.close[last, cols][any_]
        self.high = np.fmax(self.high, np.nanmax(np.where(present, batch.high, -np.inf), axis=0))
        self.low = np.fmin(self.low, np.nanmin(np.where(present, batch.low, np.inf), axis=0))
        self.volume += np.where(present, batch.volume, 0.0).sum(axis=0)
        self.seen |= any_


class _Pacer:
    """Sleeps so that data time advances at ``speed`` x the wall clock."""

    def __init__(self, speed: float):
        self.speed = speed
        self.data_start: int | None = None
        self.wall_start = 0.0

    def wait_until(self, data_ns: int) -> None:
        if self.data_start is None:
            self.data_start, self.wall_start = data_ns, time.monotonic()
            return
        due = self.wall_start + (data_ns - self.data_start) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 5.0))


def _data_end(source) -> int | None:
    """Where a source's data ends (ns UTC), from its optional ``span()``: its
    data is complete up to there, so a last bar ending by then is no partial."""
    tell = getattr(source, "span", None)
    span = tell() if callable(tell) else None
    return None if span is None else int(span[1])
