"""The engine: bars -> slices -> indicators -> setups -> outputs.

One path for every mode. A driver feeds it: ``rsengine/host/replay.py``
merges the sources' chunks in time order (as fast as it goes, or paced at N x
the wall clock); ``rsengine/host/live.py`` takes chunks from the live
sources' queue and closes bars by the wall clock (``flush(now - grace)``).
Either hands each instrument's closed bars to :meth:`Engine.push_bars` and
calls :meth:`Engine.process_ready`, which runs every slice that can close
through the components, a batch at a time. Hooks fire per slice, per signal
and per session event.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np
import structlog

from rsengine.core import BarRing, Bars, SliceAssembler, SliceBatch
from rsengine.exchange.bars import TimeBars
from rsengine.exchange.sessions import (
    SessionBounds,
    is_halt,
    split_sessions,
)
from rsengine.exchange.settlement import SessionCloses, SettlementTracker
from rsengine.host.live import run_live
from rsengine.host.per_slice import RingsAsOf, RowValues, bars_after, stack_rows
from rsengine.host.plugins import call_each
from rsengine.host.replay import replay
from rsengine.model import BarChunk, Signal, TradeChunk
from rsengine.state import DailyBars, MarketState, RunSummary, SessionInfo

log = structlog.get_logger("rsengine.engine")
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
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self._disabled: set[str] = set()
        self.bounds = SessionBounds(config.session.calendar, tz)
        self._day = _SessionOHLCV(len(self.symbols))
        # most rows per component call (None: whatever the assembler gives)
        self.batch_rows = ROWS_PER_WALKED_BATCH if self.row_by_row else None
        self.stop_requested = threading.Event()
        self.gate = None  # live runs: which signals reach the outputs (rsengine/host/live.py)

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
                run_live(self)
            else:
                replay(self, paced=self.config.run.mode == "paced")
        except Exception as exc:  # outputs and run_finished still see how it ended
            self.summary.failed = self.summary.failed or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.summary.elapsed_s = time.perf_counter() - start
            if self.stop_requested.is_set():
                self.summary.notes.append("stopped on request: what came in was processed")
            self._finish_run()
        return self.summary

    def request_stop(self) -> None:
        """Ends a live or paced run at the next step (Ctrl-C, SIGTERM): what
        was taken in is processed and every output closed as usual."""
        self.stop_requested.set()

    def push_bars(self, symbol: str, bars: Bars) -> None:
        if len(bars):
            self.assembler.push(self.index[symbol], bars)
            self.summary.bars += len(bars)
            self.summary.partial_bars += int(np.count_nonzero(bars.flags & 1))
            if self.summary.first_ts is None:
                self.summary.first_ts = int(bars.ts_close[0])
            self.summary.last_ts = max(self.summary.last_ts or 0, int(bars.ts_close[-1]))

    # -- slices, a batch at a time -------------------------------------------------

    def process_ready(self, now: int | None = None, final: bool = False) -> None:
        """Run every slice the assembler can close: by the data alone, by the
        clock at ``now`` (live), or all that is left (``final``)."""
        assembler = self.assembler
        self._on_batch(assembler.finish_batch() if final else assembler.poll_batch(now))

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
        self.state.session = SessionInfo(date, *self.bounds(day))
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
                self.call(plugin, f"output {name}", output.on_session_end, session)
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
                result = self.call(plugin, where, indicator.update_batch, batch, self.state)
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
                found = self.call(plugin, where, setup.evaluate_batch, batch, self.state)
                signals.extend(found or ())
            else:
                for found in self._each_slice(plugin, where, setup.evaluate, batch, after):
                    signals.extend(found or ())
        signals.sort(key=lambda sig: sig.ts_close)  # stable: setups keep their order
        for name, plugin, output in self._active(self.outputs):
            if hasattr(output, "on_batch"):
                self.call(plugin, f"output {name}", output.on_batch, batch, values)
        if self._walked["outputs"] or self._walked["hook"]:
            self._deliver_slice_by_slice(batch, values, signals)
        else:
            for signal in signals:
                self.emit(signal)

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
                state.rings = RingsAsOf(rings, after, j, self.index, RING_CAPACITY)
                results.append(self.call(plugin, where, method, batch.row(j), state))
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
                    self.call(plugin, f"output {name}", output.on_slice, row, row_values)
            if self._walked["hook"]:
                self._hook("rsengine_slice_closed", engine=self, slice=row, values=row_values)
            while next_signal < len(signals) and (at[next_signal] <= j or j == len(batch) - 1):
                self.emit(signals[next_signal])
                next_signal += 1

    def emit(self, signal: Signal) -> None:
        self.summary.signals += 1
        self.summary.signals_by_name[signal.name] = (
            self.summary.signals_by_name.get(signal.name, 0) + 1
        )
        if self.gate is not None and not self.gate.admit(signal):
            return  # warm-up, or sent by an earlier run (rsengine/host/live.py)
        for name, plugin, output in self._active(self.outputs):
            self.call(plugin, f"output {name}", output.on_signal, signal)
        self._hook("rsengine_signal_emitted", engine=self, signal=signal)
        if self.gate is not None:
            self.gate.delivered(signal)

    def _finish_run(self) -> None:
        if self.gate is not None:
            self.gate.report(self.summary)
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
                self.call(plugin, f"setup {name}.finish", setup.finish, self.summary)
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

    def call(self, plugin: str, where: str, fn, *args):
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
