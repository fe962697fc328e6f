# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Bar ring buffer, O(1) rolling statistics and Wilder's average, compiled twin of
``rsengine.core.pure.ring``.

The rules are stated in the pure module's docstrings; this module follows that
code step by step (same floating-point operations in the same order), so both
give the same numbers. Differences are only in how the work is done: the ring's
columns are typed memoryviews written from C, ``append_bars`` and the
``update_many`` methods loop in C without the GIL.

Not thread-safe: while one thread runs ``append_bars`` / ``update_many``
without the GIL, a call from another thread on the same object raises
RuntimeError instead of corrupting its state.
"""

from libc.math cimport NAN, isfinite, sqrt
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memmove

import operator
from operator import index as _index

import numpy as np

from rsengine.core.types import BAR_COLUMNS, BAR_DTYPES, Bars

# Same-result parity with the pure twin needs every ``a + b * c`` rounded
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

# An update that leaves less than this fraction of the sum of squares is treated
# as catastrophic cancellation and the window is re-summed (pandas' rule).
cdef double INV_COND_TOL = 2.220446049250313e-16 * 1e3


cdef void raise_busy() except *:
    raise RuntimeError(
        "object is in use by another thread (append_bars/update_many running); "
        "these objects are not thread-safe"
    )


def _unknown_column(name):
    return KeyError(f"unknown bar column {name!r}; valid names: {', '.join(BAR_COLUMNS)}")


def _as_float_array(values, what):
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------
# BarRing


cdef class BarRing:
    """The last ``capacity`` bars of one instrument, stored column by column.

    ``append`` is O(1) amortized: rows are written to a buffer about 1.5 x
    capacity long, and when the write position reaches its end the live bars
    are moved back to the start. That keeps the held bars contiguous and in
    time order, so ``view``/``column`` return zero-copy, read-only numpy views.

    A view is valid until the next ``append``/``append_bars``: a later append
    may move the rows underneath it. Copy what you need to keep.
    """

    cdef Py_ssize_t _capacity, _buflen, _start, _end
    cdef int64_t _total
    cdef bint _busy
    cdef dict _cols
    cdef int64_t[::1] _ts_open, _ts_close, _trades
    cdef double[::1] _open, _high, _low, _close, _volume, _vwap
    cdef uint8_t[::1] _flags

    def __cinit__(self, capacity):
        capacity = operator.index(capacity)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._buflen = capacity + max(1, capacity // 2)
        self._cols = {name: np.zeros(self._buflen, BAR_DTYPES[name]) for name in BAR_COLUMNS}
        self._ts_open = self._cols["ts_open"]
        self._ts_close = self._cols["ts_close"]
        self._open = self._cols["open"]
        self._high = self._cols["high"]
        self._low = self._cols["low"]
        self._close = self._cols["close"]
        self._volume = self._cols["volume"]
        self._vwap = self._cols["vwap"]
        self._trades = self._cols["trades"]
        self._flags = self._cols["flags"]
        self._start = 0
        self._end = 0
        self._total = 0
        self._busy = False

    @property
    def capacity(self):
        return self._capacity

    @property
    def total(self):
        """Bars ever appended, including those since dropped."""
        return self._total

    @property
    def nbytes(self):
        """Bytes of column storage held by the ring."""
        return sum(arr.nbytes for arr in self._cols.values())

    def __len__(self):
        return self._end - self._start

    def __repr__(self):
        return f"BarRing(capacity={self._capacity}, len={len(self)}, total={self._total})"

    cdef void _compact(self) noexcept nogil:
        # Move the bars that survive the next append (at most capacity - 1) to
        # the front of the buffer.
        cdef Py_ssize_t keep = self._end - self._start
        cdef Py_ssize_t src
        if keep > self._capacity - 1:
            keep = self._capacity - 1
        src = self._end - keep
        if keep > 0:
            memmove(&self._ts_open[0], &self._ts_open[src], keep * sizeof(int64_t))
            memmove(&self._ts_close[0], &self._ts_close[src], keep * sizeof(int64_t))
            memmove(&self._open[0], &self._open[src], keep * sizeof(double))
            memmove(&self._high[0], &self._high[src], keep * sizeof(double))
            memmove(&self._low[0], &self._low[src], keep * sizeof(double))
            memmove(&self._close[0], &self._close[src], keep * sizeof(double))
            memmove(&self._volume[0], &self._volume[src], keep * sizeof(double))
            memmove(&self._vwap[0], &self._vwap[src], keep * sizeof(double))
            memmove(&self._trades[0], &self._trades[src], keep * sizeof(int64_t))
            memmove(&self._flags[0], &self._flags[src], keep * sizeof(uint8_t))
        self._start = 0
        self._end = keep

    cdef inline void _push(
        self, int64_t ts_open, int64_t ts_close, double open, double high, double low,
        double close, double volume, double vwap, int64_t trades, uint8_t flags,
    ) noexcept nogil:
        cdef Py_ssize_t i
        if self._end == self._buflen:
            self._compact()
        i = self._end
        self._ts_open[i] = ts_open
        self._ts_close[i] = ts_close
        self._open[i] = open
        self._high[i] = high
        self._low[i] = low
        self._close[i] = close
        self._volume[i] = volume
        self._vwap[i] = vwap
        self._trades[i] = trades
        self._flags[i] = flags
        self._end += 1
        if self._end - self._start > self._capacity:
            self._start += 1
        self._total += 1

    def append(
        self, ts_open, ts_close, double open, double high, double low,
        double close, double volume, double vwap, trades, flags,
    ):
        """Add one bar; when full, the oldest bar is dropped."""
        # Integers go through __index__ so a float timestamp is a TypeError (a
        # typed int64_t argument would silently truncate it).
        cdef int64_t c_ts_open = _index(ts_open)
        cdef int64_t c_ts_close = _index(ts_close)
        cdef int64_t c_trades = _index(trades)
        cdef uint8_t c_flags = _index(flags)
        if self._busy:
            raise_busy()
        self._push(c_ts_open, c_ts_close, open, high, low, close, volume, vwap, c_trades, c_flags)

    def append_bars(self, bars):
        """Append every row of ``bars``, oldest first (same result as repeated ``append``)."""
        cdef const int64_t[::1] ts_open, ts_close, trades
        cdef const double[::1] open, high, low, close, volume, vwap
        cdef const uint8_t[::1] flags
        cdef Py_ssize_t i, n
        if self._busy:
            raise_busy()
        cols = {
            name: np.ascontiguousarray(getattr(bars, name), dtype=BAR_DTYPES[name])
            for name in BAR_COLUMNS
        }
        lengths = {len(arr) for arr in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"bar columns differ in length: {sorted(lengths)}")
        ts_open = cols["ts_open"]
        ts_close = cols["ts_close"]
        open = cols["open"]
        high = cols["high"]
        low = cols["low"]
        close = cols["close"]
        volume = cols["volume"]
        vwap = cols["vwap"]
        trades = cols["trades"]
        flags = cols["flags"]
        n = ts_close.shape[0]
        self._busy = True
        try:
            with nogil:
                for i in range(n):
                    self._push(
                        ts_open[i], ts_close[i], open[i], high[i], low[i], close[i],
                        volume[i], vwap[i], trades[i], flags[i],
                    )
        finally:
            self._busy = False

    def _span(self, n):
        cdef Py_ssize_t held = self._end - self._start
        if n is None:
            return held
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n > held:
            raise ValueError(f"n={n} exceeds the {held} bars held")
        return n

    def _tail(self, name, Py_ssize_t n):
        out = self._cols[name][self._end - n : self._end]
        out.flags.writeable = False
        return out

    def view(self, n=None):
        """The last ``n`` bars (default: all held), oldest first, as zero-copy views.

        Valid until the next append. ``n`` < 0 or > ``len(self)`` is a ValueError.
        """
        if self._busy:
            raise_busy()
        n = self._span(n)
        return Bars(**{name: self._tail(name, n) for name in BAR_COLUMNS})

    def column(self, name, n=None):
        """Zero-copy view of one column's last ``n`` values (valid until the next append)."""
        if self._busy:
            raise_busy()
        if name not in self._cols:
            raise _unknown_column(name)
        return self._tail(name, self._span(n))

    def last(self, name):
        """The newest value of one column as a Python int or float."""
        if self._busy:
            raise_busy()
        if name not in self._cols:
            raise _unknown_column(name)
        if self._end == self._start:
            raise IndexError("last() on an empty BarRing")
        return self._cols[name][self._end - 1].item()


# ---------------------------------------------------------------------------
# Welford kernels


cdef struct Welford:
    # one series: count, Kahan-compensated mean, sum of squared deviations
    Py_ssize_t nobs
    double mean
    double ssqdm
    double comp_add
    double comp_remove
    bint unstable


cdef inline void welford_reset(Welford* w) noexcept nogil:
    w.nobs = 0
    w.mean = 0.0
    w.ssqdm = 0.0
    w.comp_add = 0.0
    w.comp_remove = 0.0
    w.unstable = False


cdef inline void welford_add(Welford* w, double x) noexcept nogil:
    cdef double prev_m2 = w.ssqdm
    cdef double prev_mean, y, t
    w.nobs += 1
    prev_mean = w.mean - w.comp_add
    y = x - w.comp_add
    t = y - w.mean
    w.comp_add = t + w.mean - y
    w.mean = w.mean + t / <double>w.nobs
    w.ssqdm = w.ssqdm + (x - prev_mean) * (x - w.mean)
    if prev_m2 * INV_COND_TOL > w.ssqdm:
        w.unstable = True


cdef inline void welford_remove(Welford* w, double x) noexcept nogil:
    cdef double prev_m2 = w.ssqdm
    cdef double prev_mean, y, t
    w.nobs -= 1
    if w.nobs == 0:
        w.mean = 0.0
        w.ssqdm = 0.0
        w.unstable = False
        return
    prev_mean = w.mean - w.comp_remove
    y = x - w.comp_remove
    t = y - w.mean
    w.comp_remove = t + w.mean - y
    w.mean = w.mean - t / <double>w.nobs
    w.ssqdm = w.ssqdm - (x - prev_mean) * (x - w.mean)
    if prev_m2 * INV_COND_TOL > w.ssqdm:
        w.unstable = True


cdef struct CoMoments:
    # two series: count, means, sums of squares and of cross products
    Py_ssize_t nobs
    double mx
    double my
    double sxx
    double syy
    double sxy
    bint unstable


cdef inline void comoments_reset(CoMoments* c) noexcept nogil:
    c.nobs = 0
    c.mx = 0.0
    c.my = 0.0
    c.sxx = 0.0
    c.syy = 0.0
    c.sxy = 0.0
    c.unstable = False


cdef inline void comoments_add(CoMoments* c, double x, double y) noexcept nogil:
    cdef double prev_sxx = c.sxx
    cdef double prev_syy = c.syy
    cdef double dx, dy
    c.nobs += 1
    dx = x - c.mx
    c.mx = c.mx + dx / <double>c.nobs
    dy = y - c.my
    c.my = c.my + dy / <double>c.nobs
    c.sxx = c.sxx + dx * (x - c.mx)
    c.syy = c.syy + dy * (y - c.my)
    c.sxy = c.sxy + dx * (y - c.my)
    if prev_sxx * INV_COND_TOL > c.sxx or prev_syy * INV_COND_TOL > c.syy:
        c.unstable = True


cdef inline void comoments_remove(CoMoments* c, double x, double y) noexcept nogil:
    cdef double prev_sxx = c.sxx
    cdef double prev_syy = c.syy
    cdef double dx, dy
    c.nobs -= 1
    if c.nobs == 0:
        c.mx = 0.0
        c.my = 0.0
        c.sxx = 0.0
        c.syy = 0.0
        c.sxy = 0.0
        c.unstable = False
        return
    dx = x - c.mx
    c.mx = c.mx - dx / <double>c.nobs
    dy = y - c.my
    c.my = c.my - dy / <double>c.nobs
    c.sxx = c.sxx - dx * (x - c.mx)
    c.syy = c.syy - dy * (y - c.my)
    c.sxy = c.sxy - dx * (y - c.my)
    if prev_sxx * INV_COND_TOL > c.sxx or prev_syy * INV_COND_TOL > c.syy:
        c.unstable = True


# ---------------------------------------------------------------------------
# RollingStats


cdef class RollingStats:
    """Rolling mean and sample std (ddof=1) over the last ``window`` values.

    Equal to ``pd.Series(x).rolling(window, min_periods=window).mean()/.std()``:
    NaN until the window is full, NaN while a NaN is inside it, and a std of NaN
    for ``window == 1``. ``count`` is the number of values (NaN included) in the
    current window. Each update is O(1) except the rare re-sum described in the
    pure module's docstring.
    """

    cdef Py_ssize_t _window, _pos, _count, _nan_count, _run
    cdef double _prev
    cdef Welford _w
    cdef bint _busy
    cdef double[::1] _buf

    def __cinit__(self, window):
        window = operator.index(window)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._window = window
        self._buf = np.zeros(window, dtype=np.float64)
        self._pos = 0
        self._count = 0
        self._nan_count = 0
        self._run = 0
        self._prev = NAN
        welford_reset(&self._w)
        self._busy = False

    @property
    def window(self):
        return self._window

    @property
    def count(self):
        return self._count

    @property
    def mean(self):
        cdef double mean, std
        if self._busy:
            raise_busy()
        self._result(&mean, &std)
        return mean

    @property
    def std(self):
        cdef double mean, std
        if self._busy:
            raise_busy()
        self._result(&mean, &std)
        return std

    def __repr__(self):
        return f"RollingStats(window={self._window}, count={self._count})"

    cdef void _resum(self) noexcept nogil:
        cdef Py_ssize_t k
        cdef Py_ssize_t i = self._pos if self._count == self._window else 0
        cdef double x
        welford_reset(&self._w)
        for k in range(self._count):
            x = self._buf[i]
            if x == x:
                welford_add(&self._w, x)
            i += 1
            if i == self._window:
                i = 0
        self._w.unstable = False

    cdef inline void _push(self, double x) noexcept nogil:
        cdef double old
        if self._count == self._window:
            old = self._buf[self._pos]
            if old != old:
                self._nan_count -= 1
            else:
                welford_remove(&self._w, old)
        else:
            self._count += 1
        self._buf[self._pos] = x
        self._pos += 1
        if self._pos == self._window:
            self._pos = 0
        if x != x:
            self._nan_count += 1
            self._run = 0
        else:
            if x == self._prev:
                self._run += 1
            else:
                self._run = 1
            welford_add(&self._w, x)
        self._prev = x
        if self._w.unstable:
            self._resum()

    cdef inline void _result(self, double* mean, double* std) noexcept nogil:
        cdef double var
        if self._count < self._window or self._nan_count > 0:
            mean[0] = NAN
            std[0] = NAN
        elif self._run >= self._window:  # every value in the window is equal
            mean[0] = self._prev
            std[0] = 0.0 if self._window > 1 else NAN
        elif self._window == 1:
            mean[0] = self._w.mean
            std[0] = NAN
        else:
            var = self._w.ssqdm / <double>(self._w.nobs - 1)
            if var < 0.0:
                var = 0.0
            mean[0] = self._w.mean
            std[0] = sqrt(var)

    def update(self, double x):
        """Push one value (NaN allowed)."""
        if self._busy:
            raise_busy()
        self._push(x)

    def update_many(self, x):
        """Push every value of ``x``; return (mean, std) after each one."""
        cdef const double[::1] xs
        cdef double[::1] mv, sv
        cdef Py_ssize_t i, n
        if self._busy:
            raise_busy()
        xs = _as_float_array(x, "x")
        n = xs.shape[0]
        mean = np.empty(n, dtype=np.float64)
        std = np.empty(n, dtype=np.float64)
        mv = mean
        sv = std
        self._busy = True
        try:
            with nogil:
                for i in range(n):
                    self._push(xs[i])
                    self._result(&mv[i], &sv[i])
        finally:
            self._busy = False
        return mean, std


# ---------------------------------------------------------------------------
# RollingCorr


cdef class RollingCorr:
    """Rolling Pearson correlation of two series over the last ``window`` pairs.

    Equal to ``x.rolling(window, min_periods=window).corr(y)``: NaN until the
    window is full and while a pair with a NaN on either side is inside it.
    Where a series is constant over the window (zero variance; pandas gives NaN
    or +-inf there) the result is NaN. Results are clipped to [-1, 1].
    """

    cdef Py_ssize_t _window, _pos, _count, _nan_count, _run_x, _run_y
    cdef double _prev_x, _prev_y
    cdef CoMoments _c
    cdef bint _busy
    cdef double[::1] _bx, _by

    def __cinit__(self, window):
        window = operator.index(window)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._window = window
        self._bx = np.zeros(window, dtype=np.float64)
        self._by = np.zeros(window, dtype=np.float64)
        self._pos = 0
        self._count = 0
        self._nan_count = 0
        self._run_x = 0
        self._run_y = 0
        self._prev_x = NAN
        self._prev_y = NAN
        comoments_reset(&self._c)
        self._busy = False

    @property
    def window(self):
        return self._window

    @property
    def count(self):
        return self._count

    @property
    def corr(self):
        if self._busy:
            raise_busy()
        return self._result()

    def __repr__(self):
        return f"RollingCorr(window={self._window}, count={self._count})"

    cdef void _resum(self) noexcept nogil:
        cdef Py_ssize_t k
        cdef Py_ssize_t i = self._pos if self._count == self._window else 0
        cdef double x, y
        comoments_reset(&self._c)
        for k in range(self._count):
            x = self._bx[i]
            y = self._by[i]
            if x == x and y == y:
                comoments_add(&self._c, x, y)
            i += 1
            if i == self._window:
                i = 0
        self._c.unstable = False

    cdef inline void _push(self, double x, double y) noexcept nogil:
        cdef double ox, oy
        if self._count == self._window:
            ox = self._bx[self._pos]
            oy = self._by[self._pos]
            if ox != ox or oy != oy:
                self._nan_count -= 1
            else:
                comoments_remove(&self._c, ox, oy)
        else:
            self._count += 1
        self._bx[self._pos] = x
        self._by[self._pos] = y
        self._pos += 1
        if self._pos == self._window:
            self._pos = 0
        if x != x or y != y:
            self._nan_count += 1
            self._run_x = 0
            self._run_y = 0
            self._prev_x = NAN
            self._prev_y = NAN
        else:
            if x == self._prev_x:
                self._run_x += 1
            else:
                self._run_x = 1
            if y == self._prev_y:
                self._run_y += 1
            else:
                self._run_y = 1
            self._prev_x = x
            self._prev_y = y
            comoments_add(&self._c, x, y)
        if self._c.unstable:
            self._resum()

    cdef inline double _result(self) noexcept nogil:
        cdef double r
        if self._count < self._window or self._nan_count > 0:
            return NAN
        if self._run_x >= self._window or self._run_y >= self._window:
            return NAN  # a constant series: zero variance
        if self._c.sxx <= 0.0 or self._c.syy <= 0.0:
            return NAN
        r = self._c.sxy / (sqrt(self._c.sxx) * sqrt(self._c.syy))
        if r > 1.0:
            return 1.0
        if r < -1.0:
            return -1.0
        return r

    def update(self, double x, double y):
        """Push one pair; return the correlation of the current window."""
        if self._busy:
            raise_busy()
        self._push(x, y)
        return self._result()

    def update_many(self, x, y):
        """Push every pair of ``x``/``y``; return the correlation after each one."""
        cdef const double[::1] xs, ys
        cdef double[::1] ov
        cdef Py_ssize_t i, n
        if self._busy:
            raise_busy()
        x = _as_float_array(x, "x")
        y = _as_float_array(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: len(x)={len(x)}, len(y)={len(y)}")
        xs = x
        ys = y
        n = xs.shape[0]
        out = np.empty(n, dtype=np.float64)
        ov = out
        self._busy = True
        try:
            with nogil:
                for i in range(n):
                    self._push(xs[i], ys[i])
                    ov[i] = self._result()
        finally:
            self._busy = False
        return out


# ---------------------------------------------------------------------------
# WilderAverage


cdef class WilderAverage:
    """Wilder's smoothed average (RMA), as used by RSI(14) and ATR(14).

    The value is NaN until ``period`` finite inputs were seen; at the
    ``period``-th it is their simple mean (summed in input order), and after
    that each input moves it by ``(x - avg) / period``. Non-finite inputs (NaN,
    +-inf) are skipped: the state does not change and the value stays what it
    was. ``count`` is the number of finite inputs seen.
    """

    cdef Py_ssize_t _period
    cdef int64_t _count
    cdef double _sum, _avg
    cdef bint _busy

    def __cinit__(self, period):
        period = operator.index(period)
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self._period = period
        self._count = 0
        self._sum = 0.0
        self._avg = NAN
        self._busy = False

    @property
    def period(self):
        return self._period

    @property
    def count(self):
        return self._count

    @property
    def value(self):
        if self._busy:
            raise_busy()
        return self._avg

    def __repr__(self):
        return f"WilderAverage(period={self._period}, count={self._count})"

    cdef inline void _push(self, double x) noexcept nogil:
        if not isfinite(x):
            return
        self._count += 1
        if self._count < self._period:
            self._sum = self._sum + x
        elif self._count == self._period:
            self._sum = self._sum + x
            self._avg = self._sum / <double>self._period
        else:
            self._avg = self._avg + (x - self._avg) / <double>self._period

    def update(self, double x):
        """Push one value; return the average after it."""
        if self._busy:
            raise_busy()
        self._push(x)
        return self._avg

    def update_many(self, x):
        """Push every value of ``x``; return the average after each one."""
        cdef const double[::1] xs
        cdef double[::1] ov
        cdef Py_ssize_t i, n
        if self._busy:
            raise_busy()
        xs = _as_float_array(x, "x")
        n = xs.shape[0]
        out = np.empty(n, dtype=np.float64)
        ov = out
        self._busy = True
        try:
            with nogil:
                for i in range(n):
                    self._push(xs[i])
                    ov[i] = self._avg
        finally:
            self._busy = False
        return out
