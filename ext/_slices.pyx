# cython: language_level=3
"""Slice assembler, compiled (the pure-Python reference is ``rsengine/core/pure/slices.py``).

Same API and same output as the reference; see its docstring for the rules.
Pending slices live in a pool of preallocated rows (one row per pending slice
time, one column per instrument) that grows by doubling; a dict maps a slice
time to its row and a heap keeps the pending times in order. ``poll_batch``
copies the ready rows straight into the batch's 2-D columns, without making a
Slice per row.
"""

import operator

import numpy as np

from libc.stdint cimport INT64_MAX, int64_t, uint8_t
from libc.math cimport NAN
from libcpp.set cimport set as cpp_set
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector
from cython.operator cimport dereference as deref

from rsengine.core.types import BAR_COLUMNS, BAR_FLOAT_COLUMNS, Bars, Slice, SliceBatch

cdef enum:
    N_FLOATS = 6  # len(BAR_FLOAT_COLUMNS): open, high, low, close, volume, vwap


# Validation is not the hot path: share the twin's, so the messages cannot drift.
from rsengine.core.pure.slices import check_symbols  # noqa: E402


cdef class SliceAssembler:
    """Groups per-instrument bar streams into slices by ``ts_close``.

    ``symbols`` fixes the instrument order of every slice; ``grace_ns`` is how
    long past its ``ts_close`` a slice waits for instruments that have not
    reported, when :meth:`poll` is given a clock.
    """

    cdef tuple _symbols
    cdef Py_ssize_t _n
    cdef int64_t _grace
    # per instrument
    cdef int64_t[::1] _last  # ts_close of the last bar pushed
    cdef uint8_t[::1] _has_last
    cdef int64_t[::1] _reported  # reported for every T <= this
    cdef uint8_t[::1] _has_reported
    # pool of pending slices: row = slot, column = instrument
    cdef Py_ssize_t _cap
    cdef object _a_present, _a_ts_open, _a_floats, _a_trades, _a_flags
    cdef uint8_t[:, ::1] _present
    cdef int64_t[:, ::1] _ts_open
    cdef double[:, :, ::1] _floats  # (slot, float column, instrument)
    cdef int64_t[:, ::1] _trades
    cdef uint8_t[:, ::1] _flags
    # C++ containers: a pushed bar's slot is found without boxing its stamp
    cdef vector[Py_ssize_t] _free  # pool rows not in use
    cdef unordered_map[int64_t, Py_ssize_t] _slot_of  # pending slice time -> pool row
    cdef cpp_set[int64_t] _pending  # pending slice times, in order
    # output bookkeeping
    cdef int64_t _last_emitted
    cdef bint _has_emitted
    cdef int64_t _emitted, _missing, _late_count
    cdef list _late

    def __init__(self, symbols, grace_ns=0):
        self._symbols = check_symbols(symbols)
        grace_ns = operator.index(grace_ns)
        if grace_ns < 0:
            raise ValueError(f"grace_ns must be >= 0, got {grace_ns}")
        self._grace = grace_ns
        n = len(self._symbols)
        self._n = n
        self._last = np.zeros(n, np.int64)
        self._has_last = np.zeros(n, np.uint8)
        self._reported = np.zeros(n, np.int64)
        self._has_reported = np.zeros(n, np.uint8)
        self._cap = 0
        self._grow(4)
        self._last_emitted = 0
        self._has_emitted = False
        self._emitted = 0
        self._missing = 0
        self._late_count = 0
        self._late = []

    cdef void _grow(self, Py_ssize_t cap) except *:
        cdef Py_ssize_t n = self._n, old = self._cap, s
        present = np.zeros((cap, n), np.uint8)
        ts_open = np.zeros((cap, n), np.int64)
        floats = np.zeros((cap, N_FLOATS, n), np.float64)
        trades = np.zeros((cap, n), np.int64)
        flags = np.zeros((cap, n), np.uint8)
        if old:
            present[:old] = self._a_present
            ts_open[:old] = self._a_ts_open
            floats[:old] = self._a_floats
            trades[:old] = self._a_trades
            flags[:old] = self._a_flags
        self._a_present, self._present = present, present
        self._a_ts_open, self._ts_open = ts_open, ts_open
        self._a_floats, self._floats = floats, floats
        self._a_trades, self._trades = trades, trades
        self._a_flags, self._flags = flags, flags
        for s in range(cap - 1, old - 1, -1):
            self._free.push_back(s)
        self._cap = cap

    # ------------------------------------------------------------------ state

    @property
    def symbols(self):
        return self._symbols

    @property
    def grace_ns(self):
        return self._grace

    @property
    def pending(self):
        """Number of slice times waiting to be emitted."""
        return self._pending.size()

    @property
    def emitted(self):
        """Number of slices emitted so far."""
        return self._emitted

    @property
    def missing_count(self):
        """Instrument slots emitted as missing, over all slices so far."""
        return self._missing

    @property
    def late_bars(self):
        """Late bars seen so far (not reset by :meth:`take_late`)."""
        return self._late_count

    # ------------------------------------------------------------------ input

    cdef Py_ssize_t _check_index(self, index) except -1:
        index = operator.index(index)
        if not 0 <= index < self._n:
            raise IndexError(
                f"instrument index {index} out of range: valid 0..{self._n - 1} "
                f"for {self._n} symbols"
            )
        return index

    cdef object _order_error(self, Py_ssize_t index, int64_t prev, int64_t ts):
        return ValueError(
            f"{self._symbols[index]}: bar ts_close {ts} is not after the previous "
            f"ts_close {prev}; each instrument's bars must be pushed in ts_close order"
        )

    def push(self, index, bars):
        """Add bars of instrument ``symbols[index]``, in ts_close order.

        The whole batch is checked before any of it is taken: on ValueError
        the assembler is unchanged.
        """
        cdef Py_ssize_t i = self._check_index(index)
        cdef Py_ssize_t m, r
        cdef int64_t prev, ts
        cdef bint has_prev
        cdef const int64_t[::1] ts_open, ts_close, trades
        cdef const double[::1] o, h, l, c, v, w
        cdef const uint8_t[::1] flags
        m = len(bars.ts_close)
        for name in BAR_COLUMNS:
            col = getattr(bars, name)
            if col.ndim != 1 or len(col) != m:
                raise ValueError(
                    f"{self._symbols[i]}: column {name} has shape {col.shape}, "
                    f"expected ({m},) like ts_close"
                )
        if m == 0:
            return
        ts_close = np.ascontiguousarray(bars.ts_close, np.int64)
        has_prev = self._has_last[i]
        prev = self._last[i]
        for r in range(m):
            ts = ts_close[r]
            if has_prev and ts <= prev:
                raise self._order_error(i, prev, ts)
            prev = ts
            has_prev = True
        ts_open = np.ascontiguousarray(bars.ts_open, np.int64)
        o = np.ascontiguousarray(bars.open, np.float64)
        h = np.ascontiguousarray(bars.high, np.float64)
        l = np.ascontiguousarray(bars.low, np.float64)
        c = np.ascontiguousarray(bars.close, np.float64)
        v = np.ascontiguousarray(bars.volume, np.float64)
        w = np.ascontiguousarray(bars.vwap, np.float64)
        trades = np.ascontiguousarray(bars.trades, np.int64)
        flags = np.ascontiguousarray(bars.flags, np.uint8)
        for r in range(m):
            self._take(i, ts_open[r], ts_close[r], o[r], h[r], l[r], c[r], v[r], w[r],
                       trades[r], flags[r])

    def push_one(self, index, int64_t ts_open, int64_t ts_close, double open, double high,
                 double low, double close, double volume, double vwap, int64_t trades,
                 uint8_t flags):
        """Add one bar of instrument ``symbols[index]`` (for live feeds)."""
        cdef Py_ssize_t i = self._check_index(index)
        if self._has_last[i] and ts_close <= self._last[i]:
            raise self._order_error(i, self._last[i], ts_close)
        self._take(i, ts_open, ts_close, open, high, low, close, volume, vwap, trades, flags)

    def mark_through(self, index, t):
        """Declare that instrument ``symbols[index]`` has no bar closing at or before ``t``.

        It then counts as reported for every slice time up to and including
        ``t``. This does not move the instrument's ordering check: a bar it
        pushes later that still closes after its previous bar is accepted, and
        is merged if its slice is still pending or counted late otherwise.
        """
        cdef Py_ssize_t i = self._check_index(index)
        cdef int64_t tt = operator.index(t)
        if not self._has_reported[i] or tt > self._reported[i]:
            self._reported[i] = tt
            self._has_reported[i] = True

    cdef int _take(self, Py_ssize_t i, int64_t ts_open, int64_t ts_close, double o, double h,
                   double l, double c, double v, double w, int64_t trades,
                   uint8_t flags) except -1:
        """Place one already-validated bar."""
        cdef Py_ssize_t s
        self._last[i] = ts_close
        self._has_last[i] = True
        if not self._has_reported[i] or ts_close > self._reported[i]:
            self._reported[i] = ts_close
            self._has_reported[i] = True
        if self._has_emitted and ts_close <= self._last_emitted:
            self._late_count += 1
            self._late.append((i, _one_bar(ts_open, ts_close, [o, h, l, c, v, w], trades, flags)))
            return 0
        s = self._slot_for(ts_close)
        self._present[s, i] = 1
        self._ts_open[s, i] = ts_open
        self._floats[s, 0, i] = o
        self._floats[s, 1, i] = h
        self._floats[s, 2, i] = l
        self._floats[s, 3, i] = c
        self._floats[s, 4, i] = v
        self._floats[s, 5, i] = w
        self._trades[s, i] = trades
        self._flags[s, i] = flags
        return 0

    cdef Py_ssize_t _slot_for(self, int64_t t) except -1:
        """The pool row of the pending slice at ``t``, opened (all missing) if new."""
        cdef Py_ssize_t s, j, k
        found = self._slot_of.find(t)
        if found != self._slot_of.end():
            return deref(found).second
        if self._free.empty():
            self._grow(2 * self._cap)
        s = self._free.back()
        self._free.pop_back()
        for j in range(self._n):
            self._present[s, j] = 0
            self._ts_open[s, j] = -1
            for k in range(N_FLOATS):
                self._floats[s, k, j] = NAN
            self._trades[s, j] = 0
            self._flags[s, j] = 0
        self._slot_of[t] = s
        self._pending.insert(t)
        return s

    # ----------------------------------------------------------------- output

    def poll(self, now_ns=None):
        """Complete slices, oldest first.

        A slice at T is complete when every instrument has reported for T, or
        when ``now_ns`` is given and ``now_ns >= T + grace_ns``. The clock is
        not remembered between calls.
        """
        times = self._pop_ready(now_ns)
        return [self._emit(t) for t in times]

    def finish(self):
        """End of data: every pending slice, oldest first."""
        times = self._pop_all()
        return [self._emit(t) for t in times]

    def poll_batch(self, now_ns=None):
        """:meth:`poll`, with the slices stacked into one batch (0 rows if none)."""
        return self._emit_batch(self._pop_ready(now_ns))

    def finish_batch(self):
        """:meth:`finish`, with the slices stacked into one batch (0 rows if none)."""
        return self._emit_batch(self._pop_all())

    cdef vector[int64_t] _pop_ready(self, now_ns) except *:
        """Take the complete slice times off the heap, oldest first."""
        cdef bint has_now = now_ns is not None
        cdef int64_t now = 0, frontier = 0, t
        cdef bint has_frontier = True
        cdef Py_ssize_t j
        if has_now:
            now = operator.index(now_ns)
        for j in range(self._n):
            if not self._has_reported[j]:
                has_frontier = False
                break
            if j == 0 or self._reported[j] < frontier:
                frontier = self._reported[j]
        cdef vector[int64_t] out
        while not self._pending.empty():
            t = deref(self._pending.begin())
            if not (
                (has_frontier and t <= frontier)
                or (has_now and t <= INT64_MAX - self._grace and now >= t + self._grace)
            ):
                break
            out.push_back(t)
            self._pending.erase(self._pending.begin())
        return out

    cdef vector[int64_t] _pop_all(self):
        cdef vector[int64_t] out
        cdef int64_t t
        for t in self._pending:
            out.push_back(t)
        self._pending.clear()
        return out

    def take_late(self):
        """Late bars kept so far as ``(index, one-row Bars)``, oldest first; clears them."""
        late = self._late
        self._late = []
        return late

    cdef object _emit(self, int64_t t):
        cdef Py_ssize_t s = self._slot_of[t]
        self._slot_of.erase(t)
        cdef Py_ssize_t j, present = 0
        for j in range(self._n):
            present += self._present[s, j]
        self._last_emitted = t
        self._has_emitted = True
        self._emitted += 1
        self._missing += self._n - present
        floats = self._a_floats[s].copy()
        result = Slice(
            ts_close=t,
            symbols=self._symbols,
            present=self._a_present[s].astype(np.bool_),
            ts_open=self._a_ts_open[s].copy(),
            trades=self._a_trades[s].copy(),
            flags=self._a_flags[s].copy(),
            **dict(zip(BAR_FLOAT_COLUMNS, floats)),
        )
        self._free.push_back(s)
        return result

    cdef object _emit_batch(self, vector[int64_t] times):
        """The slices at ``times`` (popped off the heap, in order) as one SliceBatch.

        Copies pool rows straight into the 2-D columns: no Slice per row.
        """
        cdef Py_ssize_t n = times.size(), k = self._n, j, i, c, s, present = 0
        cdef int64_t[::1] slots_v, ts_v
        cdef uint8_t[:, ::1] pres_v, flags_v
        cdef int64_t[:, ::1] open_ts_v, trades_v
        cdef double[:, ::1] f0, f1, f2, f3, f4, f5
        ts_close = np.empty(n, np.int64)
        present_a = np.empty((n, k), np.bool_)
        ts_open = np.empty((n, k), np.int64)
        floats = [np.empty((n, k), np.float64) for c in range(N_FLOATS)]
        trades = np.empty((n, k), np.int64)
        flags = np.empty((n, k), np.uint8)
        slots = np.empty(n, np.int64)
        slots_v = slots
        ts_v = ts_close
        for j in range(n):
            ts_v[j] = times[j]
            slots_v[j] = self._slot_of[times[j]]
            self._slot_of.erase(times[j])
        pres_v = present_a.view(np.uint8)
        open_ts_v = ts_open
        trades_v = trades
        flags_v = flags
        f0, f1, f2, f3, f4, f5 = floats
        with nogil:
            for j in range(n):
                s = slots_v[j]
                for i in range(k):
                    pres_v[j, i] = self._present[s, i]
                    present += self._present[s, i]
                    open_ts_v[j, i] = self._ts_open[s, i]
                    f0[j, i] = self._floats[s, 0, i]
                    f1[j, i] = self._floats[s, 1, i]
                    f2[j, i] = self._floats[s, 2, i]
                    f3[j, i] = self._floats[s, 3, i]
                    f4[j, i] = self._floats[s, 4, i]
                    f5[j, i] = self._floats[s, 5, i]
                    trades_v[j, i] = self._trades[s, i]
                    flags_v[j, i] = self._flags[s, i]
        for j in range(n):
            self._free.push_back(slots_v[j])
        if n:
            self._last_emitted = ts_v[n - 1]
            self._has_emitted = True
        self._emitted += n
        self._missing += n * k - present
        return SliceBatch(
            symbols=self._symbols,
            ts_close=ts_close,
            present=present_a,
            ts_open=ts_open,
            trades=trades,
            flags=flags,
            **dict(zip(BAR_FLOAT_COLUMNS, floats)),
        )


def _one_bar(ts_open, ts_close, values, trades, flags):
    floats = {name: np.array([x], np.float64) for name, x in zip(BAR_FLOAT_COLUMNS, values)}
    return Bars(
        ts_open=np.array([ts_open], np.int64),
        ts_close=np.array([ts_close], np.int64),
        trades=np.array([trades], np.int64),
        flags=np.array([flags], np.uint8),
        **floats,
    )
