# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Time-bar aggregator, compiled twin of ``rsengine.core.pure.aggregate``.

The rules are stated in the pure module's docstring; this module follows that
code step by step and gives bit-identical bars (same floating-point operations
in the same order). Differences are only in how the work is done:

* trade arrays are validated in one C pass before any state changes, then
  processed in a C loop without the GIL; trades that fall into the open bar
  are merged in a tight inner loop;
* closed bars and rejected trades go to growable C buffers and become numpy
  arrays once, at ``drain()`` / ``take_rejected()``;
* the horizon callback is the only Python call in the loop (GIL taken for it).

The aggregator is not thread-safe: while one thread runs ``update_many`` /
``update_bars`` without the GIL, a call from another thread raises
RuntimeError instead of corrupting the buffers.
"""

cimport cython
from libc.math cimport NAN, isfinite
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint8_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

import math

import numpy as np

from rsengine.core.pure.aggregate import check_bars, check_input_ns, check_segments
from rsengine.core.types import FILLED, LATE, OFF_SESSION, PARTIAL, Bars, Rejected

# Bit-identical parity with the pure twin needs every ``a + b * c`` rounded
# twice, never fused into one FMA (compilers may do so on arm64, or x86 with
# -mfma). Compilers that contract by default are told not to.
cdef extern from *:
    """
    #if defined(__clang__)
    #pragma STDC FP_CONTRACT OFF
    #elif defined(__GNUC__)
    #pragma GCC optimize ("fp-contract=off")
    #elif defined(_MSC_VER)
    #pragma fp_contract (off)
    #endif
    """

cdef int64_t NO_TIME = INT64_MIN
cdef uint8_t C_PARTIAL = PARTIAL
cdef uint8_t C_FILLED = FILLED
cdef uint8_t C_LATE = LATE
cdef uint8_t C_OFF_SESSION = OFF_SESSION
cdef Py_ssize_t MIN_CAPACITY = 64
cdef Py_ssize_t KEEP_CAPACITY = 1 << 16  # buffers larger than this are freed at drain


@cython.cdivision(True)
cdef inline int64_t floordiv(int64_t a, int64_t b) noexcept nogil:
    """Python's ``a // b`` (rounds toward minus infinity; C truncates)."""
    cdef int64_t q = a // b
    cdef int64_t r = a % b
    if r != 0 and ((r < 0) != (b < 0)):
        q -= 1
    return q


cdef inline int grow(void** p, Py_ssize_t count, size_t itemsize) noexcept nogil:
    cdef void* q = realloc(p[0], <size_t>count * itemsize)
    if q == NULL:
        return -1
    p[0] = q
    return 0


cdef int no_memory() except -1 nogil:
    with gil:
        raise MemoryError("BarAggregator: out of memory")


# -- growable column buffers ------------------------------------------------------

cdef struct BarBuf:
    Py_ssize_t n
    Py_ssize_t cap
    int64_t* ts_open
    int64_t* ts_close
    double* open
    double* high
    double* low
    double* close
    double* volume
    double* vwap
    int64_t* trades
    uint8_t* flags


cdef struct RejBuf:
    Py_ssize_t n
    Py_ssize_t cap
    int64_t* ts
    double* price
    double* size
    uint8_t* reason


cdef int bars_reserve(BarBuf* b) except -1 nogil:
    """Make room for one more bar."""
    if b.n < b.cap:
        return 0
    cdef Py_ssize_t cap = b.cap * 2 if b.cap else MIN_CAPACITY
    if (grow(<void**>&b.ts_open, cap, sizeof(int64_t))
            or grow(<void**>&b.ts_close, cap, sizeof(int64_t))
            or grow(<void**>&b.open, cap, sizeof(double))
            or grow(<void**>&b.high, cap, sizeof(double))
            or grow(<void**>&b.low, cap, sizeof(double))
            or grow(<void**>&b.close, cap, sizeof(double))
            or grow(<void**>&b.volume, cap, sizeof(double))
            or grow(<void**>&b.vwap, cap, sizeof(double))
            or grow(<void**>&b.trades, cap, sizeof(int64_t))
            or grow(<void**>&b.flags, cap, sizeof(uint8_t))):
        return no_memory()
    b.cap = cap
    return 0


cdef void bars_free(BarBuf* b) noexcept nogil:
    free(b.ts_open)
    free(b.ts_close)
    free(b.open)
    free(b.high)
    free(b.low)
    free(b.close)
    free(b.volume)
    free(b.vwap)
    free(b.trades)
    free(b.flags)
    b.ts_open = b.ts_close = b.trades = NULL
    b.open = b.high = b.low = b.close = b.volume = b.vwap = NULL
    b.flags = NULL
    b.n = b.cap = 0


cdef int rej_reserve(RejBuf* r) except -1 nogil:
    if r.n < r.cap:
        return 0
    cdef Py_ssize_t cap = r.cap * 2 if r.cap else MIN_CAPACITY
    if (grow(<void**>&r.ts, cap, sizeof(int64_t))
            or grow(<void**>&r.price, cap, sizeof(double))
            or grow(<void**>&r.size, cap, sizeof(double))
            or grow(<void**>&r.reason, cap, sizeof(uint8_t))):
        return no_memory()
    r.cap = cap
    return 0


cdef void rej_free(RejBuf* r) noexcept nogil:
    free(r.ts)
    free(r.price)
    free(r.size)
    free(r.reason)
    r.ts = NULL
    r.price = r.size = NULL
    r.reason = NULL
    r.n = r.cap = 0


cdef object int64_column(const int64_t* src, Py_ssize_t n):
    a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] v = a
    if n:
        memcpy(&v[0], src, <size_t>n * sizeof(int64_t))
    return a


cdef object float64_column(const double* src, Py_ssize_t n):
    a = np.empty(n, dtype=np.float64)
    cdef double[::1] v = a
    if n:
        memcpy(&v[0], src, <size_t>n * sizeof(double))
    return a


cdef object uint8_column(const uint8_t* src, Py_ssize_t n):
    a = np.empty(n, dtype=np.uint8)
    cdef uint8_t[::1] v = a
    if n:
        memcpy(&v[0], src, <size_t>n * sizeof(uint8_t))
    return a


# -- trade validation ---------------------------------------------------------------

cdef struct Snapshot:
    # Everything a batch of trades can change, so a bad batch can be undone.
    Py_ssize_t seg, b_seg, last_seg, out_n, rej_n
    bint has_bar
    int64_t b_open, b_close, n, last_close
    double o, h, l, c, vol, pv, last_price
    long long late_count, off_session_count


cdef inline int trade_fault(const int64_t* ts, const double* price, const double* size,
                            Py_ssize_t i) noexcept nogil:
    """0 for a good trade, else 1 unsorted, 2 price, 3 size (the pure twin's order)."""
    if i and ts[i] < ts[i - 1]:
        return 1
    if not isfinite(price[i]):
        return 2
    if not size[i] >= 0 or not isfinite(size[i]):
        return 3
    return 0


cdef void raise_busy() except *:
    raise RuntimeError(
        "BarAggregator is in use by another thread (it is not thread-safe)"
    )


def _bar_columns(ts_open, open_, high, low, close, volume, vwap, trades):
    """The contiguous columns ``check_bars`` (rsengine.core.pure.aggregate)
    gives, left to it when their lengths differ (its error says so)."""
    n = len(ts_open)
    cols = (
        np.ascontiguousarray(ts_open, dtype=np.int64),
        *(np.ascontiguousarray(c, dtype=np.float64) for c in (open_, high, low, close, volume)),
        np.full(n, np.nan) if vwap is None else np.ascontiguousarray(vwap, dtype=np.float64),
        np.ones(n, np.int64) if trades is None else np.ascontiguousarray(trades, dtype=np.int64),
    )
    if any(len(c) != n for c in cols):
        return check_bars(ts_open, open_, high, low, close, volume, vwap, trades)
    return cols


cdef bint _any_bad_bar(const int64_t[::1] t, const double[::1] o, const double[::1] h,
                       const double[::1] lo, const double[::1] c, const double[::1] v,
                       const int64_t[::1] k) noexcept nogil:
    # check_bars' tests in one pass: finite prices in order, volume and trades >= 0,
    # ts_open not going back
    cdef Py_ssize_t i
    for i in range(t.shape[0]):
        if not (isfinite(o[i]) and isfinite(h[i]) and isfinite(lo[i]) and isfinite(c[i])
                and lo[i] <= o[i] and o[i] <= h[i] and lo[i] <= c[i] and c[i] <= h[i]
                and v[i] >= 0 and isfinite(v[i]) and k[i] >= 0
                and (i == 0 or t[i] >= t[i - 1])):
            return True
    return False


cdef class BarAggregator:
    """Trades (or bars) in, closed OHLCV bars out, on a segment grid.

    ``bar_ns``: bar length; ``seg_open``/``seg_close``/``seg_anchor``: the
    trading segments and one grid edge for each (see rsengine.exchange.sessions).
    ``horizon_callback(ts)`` is called when a stamp lies at or past the last
    segment's close, so a caller can ``extend`` the schedule in time.
    """

    cdef int64_t _bar_ns
    cdef public bint fill
    cdef public long long late_count
    cdef public long long off_session_count
    cdef object _callback
    cdef bint _has_callback
    cdef bint _busy
    # schedule
    cdef int64_t* _seg_open
    cdef int64_t* _seg_close
    cdef int64_t* _seg_anchor
    cdef Py_ssize_t _nseg
    cdef Py_ssize_t _seg_cap
    cdef Py_ssize_t _seg
    # open bar
    cdef bint _has_bar
    cdef int64_t _b_open
    cdef int64_t _b_close
    cdef Py_ssize_t _b_seg
    cdef double _o, _h, _l, _c, _vol, _pv
    cdef int64_t _n
    # last emitted bar
    cdef int64_t _last_close
    cdef Py_ssize_t _last_seg
    cdef double _last_price
    # input bars so far cover the data up to here (INT64_MAX when beyond it)
    cdef int64_t _covered
    # output
    cdef BarBuf _out
    cdef RejBuf _rej

    def __cinit__(self):
        self._seg_open = self._seg_close = self._seg_anchor = NULL
        self._nseg = self._seg_cap = 0
        self._out.n = self._out.cap = 0
        self._rej.n = self._rej.cap = 0
        self._last_close = NO_TIME
        self._last_price = NAN
        self._covered = NO_TIME

    def __dealloc__(self):
        free(self._seg_open)
        free(self._seg_close)
        free(self._seg_anchor)
        bars_free(&self._out)
        rej_free(&self._rej)

    def __init__(self, bar_ns, seg_open, seg_close, seg_anchor, fill=False, horizon_callback=None):
        if self._busy:
            raise_busy()
        if bar_ns <= 0:
            raise ValueError(f"bar_ns must be positive, got {bar_ns}")
        cdef int64_t b = int(bar_ns)
        if b <= 0:  # e.g. 0.5: the pure twin would fail later dividing by zero
            raise ValueError(f"bar_ns must be positive, got {bar_ns}")
        self._bar_ns = b
        self.fill = bool(fill)
        self.horizon_callback = horizon_callback
        so, sc, sa = check_segments(seg_open, seg_close, seg_anchor)
        self._nseg = 0
        self._append_segments(so, sc, sa)
        self._seg = 0
        self._has_bar = False
        self._b_open = self._b_close = 0
        self._b_seg = 0
        self._o = self._h = self._l = self._c = 0.0
        self._vol = self._pv = 0.0
        self._n = 0
        self._last_close = NO_TIME
        self._last_seg = 0
        self._last_price = NAN
        self._covered = NO_TIME
        self._out.n = 0
        self._rej.n = 0
        self.late_count = 0
        self.off_session_count = 0

    # -- attributes -----------------------------------------------------------------

    @property
    def bar_ns(self):
        return self._bar_ns

    @bar_ns.setter
    def bar_ns(self, value):
        if self._busy:
            raise_busy()
        if value <= 0 or int(value) <= 0:
            raise ValueError(f"bar_ns must be positive, got {value}")
        self._bar_ns = int(value)

    @property
    def horizon_callback(self):
        return self._callback

    @horizon_callback.setter
    def horizon_callback(self, value):
        self._callback = value
        self._has_callback = value is not None

    # -- schedule -------------------------------------------------------------------

    cdef _append_segments(self, so, sc, sa):
        cdef const int64_t[::1] o = so
        cdef const int64_t[::1] c = sc
        cdef const int64_t[::1] a = sa
        cdef Py_ssize_t m = o.shape[0]
        cdef Py_ssize_t total = self._nseg + m
        cdef Py_ssize_t cap
        if m == 0:
            return
        if total > self._seg_cap:
            cap = max(total, 2 * self._seg_cap, 8)
            if (grow(<void**>&self._seg_open, cap, sizeof(int64_t))
                    or grow(<void**>&self._seg_close, cap, sizeof(int64_t))
                    or grow(<void**>&self._seg_anchor, cap, sizeof(int64_t))):
                raise MemoryError("BarAggregator: out of memory")
            self._seg_cap = cap
        memcpy(self._seg_open + self._nseg, &o[0], <size_t>m * sizeof(int64_t))
        memcpy(self._seg_close + self._nseg, &c[0], <size_t>m * sizeof(int64_t))
        memcpy(self._seg_anchor + self._nseg, &a[0], <size_t>m * sizeof(int64_t))
        self._nseg = total

    def extend(self, seg_open, seg_close, seg_anchor):
        """Append segments that open at or after the last one's close."""
        if self._busy:
            raise_busy()
        so, sc, sa = check_segments(seg_open, seg_close, seg_anchor, self.horizon)
        self._append_segments(so, sc, sa)

    cdef inline int64_t _horizon(self) noexcept nogil:
        return self._seg_close[self._nseg - 1] if self._nseg else NO_TIME

    @property
    def horizon(self):
        """Close of the last segment known (NO_TIME when there is none)."""
        return self._horizon()

    @property
    def has_open_bar(self):
        return self._has_bar

    @property
    def pending(self):
        """Closed bars waiting to be taken with ``drain``."""
        return self._out.n

    # -- input ----------------------------------------------------------------------

    def update(self, long long ts, double price, double size):
        """One trade (live feeds). Returns the number of closed bars waiting."""
        if self._busy:
            raise_busy()
        if not isfinite(price):
            raise ValueError(f"price is {price!r}: expected a finite number")
        if not size >= 0 or not isfinite(size):
            raise ValueError(f"size is {size!r}: expected a finite number >= 0")
        cdef double pv = price * size
        if self._has_bar and self._b_open <= ts < self._b_close:
            if price > self._h:
                self._h = price
            if price < self._l:
                self._l = price
            self._c = price
            self._vol += size
            self._pv += pv
            self._n += 1
        else:
            self._add(ts, price, price, price, price, size, pv, 1)
        return self._out.n

    def update_many(self, ts, price, size):
        """Trades as arrays, oldest first; returns every bar closed by them.

        Unsorted stamps, non-finite prices or negative sizes raise ValueError
        naming the index, and leave the bars as they were before the batch (the
        horizon callback may already have loaded sessions for it).
        """
        if self._busy:
            raise_busy()
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        price = np.ascontiguousarray(price, dtype=np.float64)
        size = np.ascontiguousarray(size, dtype=np.float64)
        if not len(ts) == len(price) == len(size):
            raise ValueError(
                f"trade arrays differ in length: ts {len(ts)}, price {len(price)}, size {len(size)}"
            )
        cdef const int64_t[::1] tv = ts
        cdef const double[::1] pv = price
        cdef const double[::1] sv = size
        cdef Py_ssize_t n = tv.shape[0]
        cdef Py_ssize_t bad
        cdef int kind = 0
        cdef Snapshot snap
        if n == 0:
            return self.drain()
        self._ensure_horizon(tv[0], tv[n - 1])
        # One pass over the arrays (memory bandwidth is the limit): trades are
        # checked as they are merged, and a bad one undoes the whole batch.
        self._save(&snap)
        self._busy = True
        try:
            with nogil:
                bad = self._run_trades(&tv[0], &pv[0], &sv[0], n, &kind)
        finally:
            self._busy = False
        if bad >= 0:
            self._restore(&snap)
            if kind == 1:
                raise ValueError(
                    f"timestamps not sorted: index {bad} ({tv[bad]}) is before index {bad - 1} "
                    f"({tv[bad - 1]})"
                )
            if kind == 2:
                raise ValueError(f"price at index {bad} is {pv[bad]!r}: expected a finite number")
            raise ValueError(f"size at index {bad} is {sv[bad]!r}: expected a finite number >= 0")
        return self.drain()

    def update_bar(self, ts_open, open, high, low, close, volume, vwap=math.nan, trades=1,
                   input_ns=0):
        """One input bar placed by its ``ts_open``. Returns closed bars waiting.

        ``input_ns``: the input bar's length (0 when unknown), so ``finish()``
        knows whether the data covers the open bar to its close.
        """
        if self._busy:
            raise_busy()
        span = check_input_ns(input_ns)
        ts, o, h, lo, c = int(ts_open), float(open), float(high), float(low), float(close)
        v, w, n = float(volume), float(vwap), int(trades)
        if not (isfinite(o) and isfinite(h) and isfinite(lo) and isfinite(c)):
            raise ValueError(f"bar at {ts} has a non-finite price: {o}, {h}, {lo}, {c}")
        if not (lo <= o <= h and lo <= c <= h):
            raise ValueError(f"bar at {ts} is inconsistent: open {o}, high {h}, low {lo}, close {c}")
        if not v >= 0 or not isfinite(v) or n < 0:
            raise ValueError(f"bar at {ts} has volume {v} and trades {n}: expected both >= 0")
        cdef double cv = v
        cdef double pv = w * cv if cv > 0 else 0.0
        self._add(ts, o, h, lo, c, cv, pv, n)
        self._cover(ts + span)
        return self._out.n

    def update_bars(self, ts_open, open, high, low, close, volume, vwap=None, trades=None,
                    input_ns=0):
        """Input bars as arrays, placed by ``ts_open``, oldest first.

        Without ``vwap`` the output vwap is NaN; without ``trades`` each input
        bar counts as one. ``input_ns``: the input bars' length (0 when
        unknown), so ``finish()`` knows whether the data covers the open bar
        to its close.
        """
        if self._busy:
            raise_busy()
        span = check_input_ns(input_ns)
        cols = _bar_columns(ts_open, open, high, low, close, volume, vwap, trades)
        cdef const int64_t[::1] tv = cols[0]
        cdef const double[::1] ov = cols[1]
        cdef const double[::1] hv = cols[2]
        cdef const double[::1] lv = cols[3]
        cdef const double[::1] cv = cols[4]
        cdef const double[::1] vv = cols[5]
        cdef const double[::1] wv = cols[6]
        cdef const int64_t[::1] nv = cols[7]
        if _any_bad_bar(tv, ov, hv, lv, cv, vv, nv):  # the pure check names the first
            check_bars(ts_open, open, high, low, close, volume, vwap, trades)
        cdef Py_ssize_t n = tv.shape[0]
        cdef Py_ssize_t i
        cdef double v
        if n == 0:
            return self.drain()
        self._ensure_horizon(tv[0], tv[n - 1])
        self._busy = True
        try:
            with nogil:
                for i in range(n):
                    v = vv[i]
                    self._add(tv[i], ov[i], hv[i], lv[i], cv[i], v,
                              wv[i] * v if v > 0 else 0.0, nv[i])
        finally:
            self._busy = False
        self._cover(tv[n - 1] + span)
        return self.drain()

    def flush(self, now_ns):
        """The clock reached ``now_ns``: close the open bar if its end has passed
        and, with fill on, emit empty intervals of the current segment that
        ended by then. Returns the bars closed (all waiting ones)."""
        if self._busy:
            raise_busy()
        now_ns = int(now_ns)
        # Every stamp compared with ``now`` is an int64, so clamping is exact.
        cdef int64_t now = (INT64_MAX if now_ns > INT64_MAX else
                            INT64_MIN if now_ns < INT64_MIN else now_ns)
        if self._has_bar and now >= self._b_close:
            self._emit_open_bar(0)
        if self.fill and not self._has_bar and self._last_close != NO_TIME:
            self._fill(self._last_seg, self._last_close, now)
        return self.drain()

    def finish(self):
        """End of data: emit the open bar, flagged PARTIAL unless the input bars
        cover it to its close; returns waiting bars."""
        if self._busy:
            raise_busy()
        if self._has_bar:
            self._emit_open_bar(0 if self._covered >= self._b_close else C_PARTIAL)
        return self.drain()

    # -- output ---------------------------------------------------------------------

    def drain(self):
        """Take the closed bars waiting (oldest first)."""
        if self._busy:
            raise_busy()
        cdef BarBuf* b = &self._out
        cdef Py_ssize_t n = b.n
        if n == 0:
            return Bars.empty()
        bars = Bars(
            int64_column(b.ts_open, n),
            int64_column(b.ts_close, n),
            float64_column(b.open, n),
            float64_column(b.high, n),
            float64_column(b.low, n),
            float64_column(b.close, n),
            float64_column(b.volume, n),
            float64_column(b.vwap, n),
            int64_column(b.trades, n),
            uint8_column(b.flags, n),
        )
        b.n = 0
        if b.cap > KEEP_CAPACITY:
            bars_free(b)
        return bars

    def take_rejected(self):
        """Take the late and off-session trades kept so far."""
        if self._busy:
            raise_busy()
        cdef RejBuf* r = &self._rej
        cdef Py_ssize_t n = r.n
        if n == 0:
            return Rejected([], [], [], [])
        rejected = Rejected(
            int64_column(r.ts, n),
            float64_column(r.price, n),
            float64_column(r.size, n),
            uint8_column(r.reason, n),
        )
        r.n = 0
        if r.cap > KEEP_CAPACITY:
            rej_free(r)
        return rejected

    # -- internals ------------------------------------------------------------------

    cdef Py_ssize_t _run_trades(self, const int64_t* ts, const double* price,
                                const double* size, Py_ssize_t n, int* kind) except -2 nogil:
        """Process trades; returns -1, or the index of the first bad trade."""
        cdef Py_ssize_t i = 0
        cdef double p, s
        while i < n:
            if self._has_bar:
                i = self._merge_run(ts, price, size, i, n)
                if i == n:
                    break
            kind[0] = trade_fault(ts, price, size, i)
            if kind[0]:
                return i
            p = price[i]
            s = size[i]
            self._add(ts[i], p, p, p, p, s, p * s, 1)
            i += 1
        return -1

    cdef void _save(self, Snapshot* q) noexcept:
        q.seg, q.b_seg, q.last_seg = self._seg, self._b_seg, self._last_seg
        q.out_n, q.rej_n = self._out.n, self._rej.n
        q.has_bar, q.b_open, q.b_close, q.n = self._has_bar, self._b_open, self._b_close, self._n
        q.o, q.h, q.l, q.c, q.vol, q.pv = self._o, self._h, self._l, self._c, self._vol, self._pv
        q.last_close, q.last_price = self._last_close, self._last_price
        q.late_count, q.off_session_count = self.late_count, self.off_session_count

    cdef void _restore(self, Snapshot* q) noexcept:
        self._seg, self._b_seg, self._last_seg = q.seg, q.b_seg, q.last_seg
        self._out.n, self._rej.n = q.out_n, q.rej_n
        self._has_bar, self._b_open, self._b_close, self._n = q.has_bar, q.b_open, q.b_close, q.n
        self._o, self._h, self._l, self._c, self._vol, self._pv = q.o, q.h, q.l, q.c, q.vol, q.pv
        self._last_close, self._last_price = q.last_close, q.last_price
        self.late_count, self.off_session_count = q.late_count, q.off_session_count

    cdef inline Py_ssize_t _merge_run(self, const int64_t* ts, const double* price,
                                      const double* size, Py_ssize_t i,
                                      Py_ssize_t n) noexcept nogil:
        """Merge trades ``i, i+1, ...`` into the open bar while they fall in it;
        returns the index of the first one that does not."""
        cdef int64_t b_open = self._b_open
        cdef int64_t b_close = self._b_close
        cdef double h = self._h
        cdef double lo = self._l
        cdef double c = self._c
        cdef double vol = self._vol
        cdef double pv = self._pv
        cdef int64_t cnt = self._n
        cdef Py_ssize_t start = i
        cdef int64_t t
        cdef int64_t prev = ts[i - 1] if i else ts[i]
        cdef double p, s
        while i < n:
            t = ts[i]
            p = price[i]
            s = size[i]
            # leave the fast loop at a bar end, and at anything that could be a
            # bad trade: the caller checks it properly
            if (t < b_open) | (t >= b_close) | (t < prev) | (p - p != 0) | (s - s != 0) | (s < 0):
                break
            prev = t
            if p > h:
                h = p
            if p < lo:
                lo = p
            c = p
            vol += s
            pv += p * s
            cnt += 1
            i += 1
        if i != start:
            self._h = h
            self._l = lo
            self._c = c
            self._vol = vol
            self._pv = pv
            self._n = cnt
        return i

    cdef int _add(self, int64_t ts, double o, double h, double lo, double c, double v,
                  double pv, int64_t n) except -1 nogil:
        cdef Py_ssize_t j
        cdef int64_t b_open = 0, b_close = 0
        if self._has_bar:
            if ts < self._b_open:
                return self._reject(ts, c, v, C_LATE)
            if ts < self._b_close:
                if h > self._h:
                    self._h = h
                if lo < self._l:
                    self._l = lo
                self._c = c
                self._vol += v
                self._pv += pv
                self._n += n
                return 0
            self._emit_open_bar(0)
        elif ts < self._last_close:
            return self._reject(ts, c, v, C_LATE)
        if self._has_callback and ts >= self._horizon():
            self._call_horizon(ts)
        j = self._locate(ts)
        if j < 0:
            return self._reject(ts, c, v, C_OFF_SESSION)
        self._grid(j, ts, &b_open, &b_close)
        if self.fill and self._last_close != NO_TIME:
            if j == self._last_seg:
                self._fill(j, self._last_close, b_open)
            else:
                self._fill(self._last_seg, self._last_close, self._seg_close[self._last_seg])
                self._fill(j, self._seg_open[j], b_open)
        self._has_bar = True
        self._b_open = b_open
        self._b_close = b_close
        self._b_seg = j
        self._o = o
        self._h = h
        self._l = lo
        self._c = c
        self._vol = v
        self._pv = pv
        self._n = n
        return 0

    cdef _cover(self, end):
        """The input bars reach ``end`` (a Python int: it may pass INT64_MAX)."""
        if end > INT64_MAX:
            end = INT64_MAX
        if end > self._covered:
            self._covered = end

    cdef int _ensure_horizon(self, int64_t first, int64_t last) except -1:
        """Before a batch: let the caller load segments for its first and last stamps."""
        if not self._has_callback:
            return 0
        if first >= self._horizon():
            self._callback(first)
        if last >= self._horizon():
            self._callback(last)
        return 0

    cdef int _call_horizon(self, int64_t ts) except -1 nogil:
        # The callback may use this aggregator (``extend`` above all), so the
        # busy mark is lifted while it runs; everything read afterwards is
        # read from ``self`` again.
        cdef bint busy
        with gil:
            busy = self._busy
            self._busy = False
            try:
                self._callback(ts)
            finally:
                self._busy = busy
        return 0

    cdef inline Py_ssize_t _locate(self, int64_t ts) noexcept nogil:
        cdef Py_ssize_t j = self._seg
        cdef Py_ssize_t nseg = self._nseg
        while j < nseg and self._seg_close[j] <= ts:
            j += 1
        self._seg = j
        if j == nseg or ts < self._seg_open[j]:
            return -1
        return j

    cdef inline void _grid(self, Py_ssize_t j, int64_t ts, int64_t* b_open,
                           int64_t* b_close) noexcept nogil:
        cdef int64_t a = self._seg_anchor[j]
        cdef int64_t edge = a + floordiv(ts - a, self._bar_ns) * self._bar_ns
        cdef int64_t end = edge + self._bar_ns
        b_open[0] = self._seg_open[j] if self._seg_open[j] > edge else edge
        b_close[0] = self._seg_close[j] if self._seg_close[j] < end else end

    cdef int _fill(self, Py_ssize_t j, int64_t start, int64_t limit) except -1 nogil:
        """Emit filled bars of segment j from edge ``start`` while they end by ``limit``."""
        cdef int64_t t = start
        cdef int64_t seg_close = self._seg_close[j]
        cdef int64_t b_open = 0, b_close = 0
        cdef double p
        while t < seg_close:
            self._grid(j, t, &b_open, &b_close)
            if b_close > limit:
                break
            p = self._last_price
            self._push_bar(b_open, b_close, p, p, p, p, 0.0, NAN, 0, C_FILLED)
            self._last_close = b_close
            self._last_seg = j
            t = b_close
        return 0

    cdef int _emit_open_bar(self, uint8_t flags) except -1 nogil:
        cdef double vwap = self._pv / self._vol if self._vol > 0 else NAN
        self._push_bar(self._b_open, self._b_close, self._o, self._h, self._l, self._c,
                       self._vol, vwap, self._n, flags)
        self._has_bar = False
        self._last_close = self._b_close
        self._last_seg = self._b_seg
        self._last_price = self._c
        return 0

    cdef inline int _push_bar(self, int64_t ts_open, int64_t ts_close, double o, double h,
                              double lo, double c, double vol, double vwap, int64_t n,
                              uint8_t flags) except -1 nogil:
        cdef BarBuf* b = &self._out
        cdef Py_ssize_t k
        if b.n == b.cap:
            bars_reserve(b)
        k = b.n
        b.ts_open[k] = ts_open
        b.ts_close[k] = ts_close
        b.open[k] = o
        b.high[k] = h
        b.low[k] = lo
        b.close[k] = c
        b.volume[k] = vol
        b.vwap[k] = vwap
        b.trades[k] = n
        b.flags[k] = flags
        b.n = k + 1
        return 0

    cdef int _reject(self, int64_t ts, double price, double size, uint8_t reason) except -1 nogil:
        cdef RejBuf* r = &self._rej
        cdef Py_ssize_t k
        if reason == C_LATE:
            self.late_count += 1
        else:
            self.off_session_count += 1
        if r.n == r.cap:
            rej_reserve(r)
        k = r.n
        r.ts[k] = ts
        r.price[k] = price
        r.size[k] = size
        r.reason[k] = reason
        r.n = k + 1
        return 0
