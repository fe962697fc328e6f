"""Slice assembler, pure-Python reference (the compiled twin is ``ext/_slices.pyx``).

Bars of every instrument that close at the same ``ts_close`` are delivered
together as one :class:`~rsengine.core.types.Slice`, so no consumer ever sees
NQ at 10:05 beside ES at 10:00.

An instrument has *reported* for a time T once it pushed a bar closing at T or
later (its bars are ordered, so a later bar means it has nothing at T), or once
:meth:`SliceAssembler.mark_through` declared it idle through T. The slice at T
is complete when every instrument has reported for T, or when the clock handed
to :meth:`SliceAssembler.poll` reaches ``T + grace_ns``. An instrument without
a bar at T is marked missing in the slice (``present`` False, NaN floats,
``trades`` 0, ``ts_open`` -1, ``flags`` 0), never forward-filled.

A slice exists only for a time at which at least one instrument has a bar.
Slices are emitted strictly in ``ts_close`` order. A bar closing at or before
the newest emitted slice is late: it is merged into nothing, counted in
``late_bars`` and kept for :meth:`SliceAssembler.take_late`.

:meth:`SliceAssembler.poll_batch` and :meth:`SliceAssembler.finish_batch` hand
the same slices out stacked as one :class:`~rsengine.core.types.SliceBatch`.

Pending slice times live in a dict plus a heap, so pushing a bar and polling
never look at history: storage is O(pending x symbols).
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Sequence

import numpy as np

from ..types import BAR_COLUMNS, BAR_FLOAT_COLUMNS, Bars, Slice, SliceBatch


def check_symbols(symbols: Sequence[str]) -> tuple:
    """The symbol list as a tuple, or the error a bad list deserves."""
    if isinstance(symbols, str):
        raise TypeError("symbols must be a sequence of symbol names, not one string")
    symbols = tuple(symbols)
    if not symbols:
        raise ValueError("symbols is empty: a slice needs at least one instrument")
    for s in symbols:
        if not isinstance(s, str):
            raise TypeError(f"symbols must be strings, got {s!r}")
    seen = set()
    for s in symbols:
        if s in seen:
            raise ValueError(f"duplicate symbol {s!r} in symbols")
        seen.add(s)
    return symbols


class _Pending:
    """The columns of one slice still being filled."""

    __slots__ = ("present", "ts_open", "floats", "trades", "flags")

    def __init__(self, n: int) -> None:
        self.present = np.zeros(n, np.bool_)
        self.ts_open = np.full(n, -1, np.int64)
        self.floats = np.full((len(BAR_FLOAT_COLUMNS), n), np.nan, np.float64)
        self.trades = np.zeros(n, np.int64)
        self.flags = np.zeros(n, np.uint8)


class SliceAssembler:
    """Groups per-instrument bar streams into slices by ``ts_close``.

    ``symbols`` fixes the instrument order of every slice; ``grace_ns`` is how
    long past its ``ts_close`` a slice waits for instruments that have not
    reported, when :meth:`poll` is given a clock.
    """

    def __init__(self, symbols: Sequence[str], grace_ns: int = 0) -> None:
        self._symbols = check_symbols(symbols)
        grace_ns = operator.index(grace_ns)
        if grace_ns < 0:
            raise ValueError(f"grace_ns must be >= 0, got {grace_ns}")
        self._grace = grace_ns
        n = len(self._symbols)
        self._n = n
        self._last = [0] * n  # ts_close of the last bar pushed, per instrument
        self._has_last = [False] * n
        self._reported = [0] * n  # reported for every T <= this, per instrument
        self._has_reported = [False] * n
        self._pending: dict[int, _Pending] = {}
        self._heap: list[int] = []
        self._last_emitted = 0
        self._has_emitted = False
        self._emitted = 0
        self._missing = 0
        self._late_count = 0
        self._late: list[tuple[int, Bars]] = []

    # ------------------------------------------------------------------ state

    @property
    def symbols(self) -> tuple:
        return self._symbols

    @property
    def grace_ns(self) -> int:
        return self._grace

    @property
    def pending(self) -> int:
        """Number of slice times waiting to be emitted."""
        return len(self._heap)

    @property
    def emitted(self) -> int:
        """Number of slices emitted so far."""
        return self._emitted

    @property
    def missing_count(self) -> int:
        """Instrument slots emitted as missing, over all slices so far."""
        return self._missing

    @property
    def late_bars(self) -> int:
        """Late bars seen so far (not reset by :meth:`take_late`)."""
        return self._late_count

    # ------------------------------------------------------------------ input

    def _check_index(self, index) -> int:
        index = operator.index(index)
        if not 0 <= index < self._n:
            raise IndexError(
                f"instrument index {index} out of range: valid 0..{self._n - 1} "
                f"for {self._n} symbols"
            )
        return index

    def _order_error(self, index: int, prev: int, ts: int) -> ValueError:
        return ValueError(
            f"{self._symbols[index]}: bar ts_close {ts} is not after the previous "
            f"ts_close {prev}; each instrument's bars must be pushed in ts_close order"
        )

    def push(self, index: int, bars: Bars) -> None:
        """Add bars of instrument ``symbols[index]``, in ts_close order.

        The whole batch is checked before any of it is taken: on ValueError
        the assembler is unchanged.
        """
        index = self._check_index(index)
        cols = [getattr(bars, name) for name in BAR_COLUMNS]
        m = len(bars.ts_close)
        for name, col in zip(BAR_COLUMNS, cols, strict=True):
            if col.ndim != 1 or len(col) != m:
                raise ValueError(
                    f"{self._symbols[index]}: column {name} has shape {col.shape}, "
                    f"expected ({m},) like ts_close"
                )
        if m == 0:
            return
        ts_close = bars.ts_close.tolist()
        has_prev = self._has_last[index]
        prev = self._last[index]
        for ts in ts_close:
            if has_prev and ts <= prev:
                raise self._order_error(index, prev, ts)
            prev = ts
            has_prev = True
        ts_open = bars.ts_open.tolist()
        floats = [getattr(bars, name).tolist() for name in BAR_FLOAT_COLUMNS]
        trades = bars.trades.tolist()
        flags = bars.flags.tolist()
        for r in range(m):
            self._take(index, ts_open[r], ts_close[r], [f[r] for f in floats], trades[r], flags[r])

    def push_one(
        self,
        index: int,
        ts_open: int,
        ts_close: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        vwap: float,
        trades: int,
        flags: int,
    ) -> None:
        """Add one bar of instrument ``symbols[index]`` (for live feeds)."""
        index = self._check_index(index)
        ts_open = operator.index(ts_open)
        ts_close = operator.index(ts_close)
        trades = operator.index(trades)
        flags = operator.index(flags)
        if not 0 <= flags <= 255:
            raise OverflowError(f"flags must fit in uint8, got {flags}")
        values = [float(open), float(high), float(low), float(close), float(volume), float(vwap)]
        if self._has_last[index] and ts_close <= self._last[index]:
            raise self._order_error(index, self._last[index], ts_close)
        self._take(index, ts_open, ts_close, values, trades, flags)

    def mark_through(self, index: int, t: int) -> None:
        """Declare that instrument ``symbols[index]`` has no bar closing at or before ``t``.

        It then counts as reported for every slice time up to and including
        ``t``. This does not move the instrument's ordering check: a bar it
        pushes later that still closes after its previous bar is accepted, and
        is merged if its slice is still pending or counted late otherwise.
        """
        index = self._check_index(index)
        t = operator.index(t)
        if not self._has_reported[index] or t > self._reported[index]:
            self._reported[index] = t
            self._has_reported[index] = True

    def _take(self, index, ts_open, ts_close, values, trades, flags) -> None:
        """Place one already-validated bar."""
        self._last[index] = ts_close
        self._has_last[index] = True
        if not self._has_reported[index] or ts_close > self._reported[index]:
            self._reported[index] = ts_close
            self._has_reported[index] = True
        if self._has_emitted and ts_close <= self._last_emitted:
            self._late_count += 1
            self._late.append((index, _one_bar(ts_open, ts_close, values, trades, flags)))
            return
        slot = self._pending.get(ts_close)
        if slot is None:
            slot = _Pending(self._n)
            self._pending[ts_close] = slot
            heapq.heappush(self._heap, ts_close)
        slot.present[index] = True
        slot.ts_open[index] = ts_open
        slot.floats[:, index] = values
        slot.trades[index] = trades
        slot.flags[index] = flags

    # ----------------------------------------------------------------- output

    def poll(self, now_ns: int | None = None) -> list[Slice]:
        """Complete slices, oldest first.

        A slice at T is complete when every instrument has reported for T, or
        when ``now_ns`` is given and ``now_ns >= T + grace_ns``. The clock is
        not remembered between calls.
        """
        if now_ns is not None:
            now_ns = operator.index(now_ns)
        frontier = None  # every instrument has reported for T <= frontier
        if all(self._has_reported):
            frontier = min(self._reported)
        out = []
        heap = self._heap
        while heap:
            t = heap[0]
            done = (frontier is not None and t <= frontier) or (
                now_ns is not None and now_ns >= t + self._grace
            )
            if not done:
                break
            heapq.heappop(heap)
            out.append(self._emit(t))
        return out

    def finish(self) -> list[Slice]:
        """End of data: every pending slice, oldest first."""
        out = []
        while self._heap:
            out.append(self._emit(heapq.heappop(self._heap)))
        return out

    def poll_batch(self, now_ns: int | None = None) -> SliceBatch:
        """:meth:`poll`, with the slices stacked into one batch (0 rows if none)."""
        return SliceBatch.from_slices(self.poll(now_ns), self._symbols)

    def finish_batch(self) -> SliceBatch:
        """:meth:`finish`, with the slices stacked into one batch (0 rows if none)."""
        return SliceBatch.from_slices(self.finish(), self._symbols)

    def take_late(self) -> list[tuple[int, Bars]]:
        """Late bars kept so far as ``(index, one-row Bars)``, oldest first; clears them."""
        late, self._late = self._late, []
        return late

    def _emit(self, t: int) -> Slice:
        slot = self._pending.pop(t)
        self._last_emitted = t
        self._has_emitted = True
        self._emitted += 1
        self._missing += self._n - int(np.count_nonzero(slot.present))
        floats = dict(zip(BAR_FLOAT_COLUMNS, slot.floats, strict=True))
        return Slice(
            ts_close=t,
            symbols=self._symbols,
            present=slot.present,
            ts_open=slot.ts_open,
            trades=slot.trades,
            flags=slot.flags,
            **floats,
        )


def _one_bar(ts_open, ts_close, values, trades, flags) -> Bars:
    floats = {
        name: np.array([v], np.float64) for name, v in zip(BAR_FLOAT_COLUMNS, values, strict=True)
    }
    return Bars(
        ts_open=np.array([ts_open], np.int64),
        ts_close=np.array([ts_close], np.int64),
        trades=np.array([trades], np.int64),
        flags=np.array([flags], np.uint8),
        **floats,
    )
