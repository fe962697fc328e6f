"""Bar ring buffer, O(1) rolling statistics and Wilder's average: the pure-Python reference.

``ext/_ring.pyx`` is the compiled twin: same public API, same float operations
in the same order, so both give the same numbers (bit for bit on x86-64).

Rolling results follow pandas ``Series.rolling(window, min_periods=window)``:
NaN until ``window`` values have been pushed and NaN while a NaN is inside the
window. Variance uses Welford's add/remove updates with a Kahan-compensated
mean (as pandas does); when an update loses most of the running sum of squares
to cancellation, the window is summed again from its stored values, which keeps
long streams from drifting. A window whose values are all equal gives a std of
exactly 0 and a mean equal to that value.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..types import BAR_COLUMNS, BAR_DTYPES, Bars

NAN = math.nan
# An update that leaves less than this fraction of the sum of squares is treated
# as catastrophic cancellation and the window is re-summed (pandas' rule).
INV_COND_TOL = 2.220446049250313e-16 * 1e3

_INT_COLUMNS = ("ts_open", "ts_close", "trades", "flags")


def _unknown_column(name) -> KeyError:
    return KeyError(f"unknown bar column {name!r}; valid names: {', '.join(BAR_COLUMNS)}")


def _as_float_array(values, what: str) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------
# BarRing


class BarRing:
    """The last ``capacity`` bars of one instrument, stored column by column.

    ``append`` is O(1) amortized: rows are written to a buffer about 1.5 x
    capacity long, and when the write position reaches its end the live bars
    are moved back to the start. That keeps the held bars contiguous and in
    time order, so ``view``/``column`` return zero-copy, read-only numpy views.

    A view is valid until the next ``append``/``append_bars``: a later append
    may move the rows underneath it. Copy what you need to keep.
    """

    def __init__(self, capacity: int):
        capacity = operator.index(capacity)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._buflen = capacity + max(1, capacity // 2)
        self._cols = {name: np.zeros(self._buflen, BAR_DTYPES[name]) for name in BAR_COLUMNS}
        self._start = 0  # first held row
        self._end = 0  # one past the newest row
        self._total = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total(self) -> int:
        """Bars ever appended, including those since dropped."""
        return self._total

    @property
    def nbytes(self) -> int:
        """Bytes of column storage held by the ring."""
        return sum(arr.nbytes for arr in self._cols.values())

    def __len__(self) -> int:
        return self._end - self._start

    def __repr__(self) -> str:
        return f"BarRing(capacity={self._capacity}, len={len(self)}, total={self._total})"

    def _compact(self) -> None:
        # Move the bars that survive the next append (at most capacity - 1) to
        # the front of the buffer.
        keep = min(self._end - self._start, self._capacity - 1)
        src = self._end - keep
        for arr in self._cols.values():
            arr[:keep] = arr[src : self._end]
        self._start = 0
        self._end = keep

    def append(self, ts_open, ts_close, open, high, low, close, volume, vwap, trades, flags):
        """Add one bar; when full, the oldest bar is dropped."""
        row = {
            "ts_open": operator.index(ts_open),
            "ts_close": operator.index(ts_close),
            "open": float(open),
            "high": float(high),
            "low": float(low),
            "close": float(close),
            "volume": float(volume),
            "vwap": float(vwap),
            "trades": operator.index(trades),
            "flags": operator.index(flags),
        }
        if not -(2**63) <= row["ts_open"] < 2**63 or not -(2**63) <= row["ts_close"] < 2**63:
            raise OverflowError("timestamp out of int64 range")
        if not -(2**63) <= row["trades"] < 2**63:
            raise OverflowError("trades out of int64 range")
        if not 0 <= row["flags"] <= 255:
            raise OverflowError(f"flags out of uint8 range: {row['flags']}")
        if self._end == self._buflen:
            self._compact()
        for name, arr in self._cols.items():
            arr[self._end] = row[name]
        self._end += 1
        if self._end - self._start > self._capacity:
            self._start += 1
        self._total += 1

    def append_bars(self, bars: Bars) -> None:
        """Append every row of ``bars``, oldest first (same result as repeated ``append``)."""
        cols = {
            name: np.asarray(getattr(bars, name), dtype=BAR_DTYPES[name]) for name in BAR_COLUMNS
        }
        lengths = {len(arr) for arr in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"bar columns differ in length: {sorted(lengths)}")
        n = lengths.pop()
        # Rows older than the last `capacity` would be dropped anyway.
        i = max(0, n - self._capacity)
        while i < n:
            if self._end == self._buflen:
                self._compact()
            k = min(n - i, self._buflen - self._end)
            for name, arr in self._cols.items():
                arr[self._end : self._end + k] = cols[name][i : i + k]
            self._end += k
            self._start = max(self._start, self._end - self._capacity)
            i += k
        self._total += n

    def _span(self, n) -> int:
        held = self._end - self._start
        if n is None:
            return held
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n > held:
            raise ValueError(f"n={n} exceeds the {held} bars held")
        return n

    def _tail(self, name: str, n: int) -> np.ndarray:
        out = self._cols[name][self._end - n : self._end]
        out.flags.writeable = False
        return out

    def view(self, n: int | None = None) -> Bars:
        """The last ``n`` bars (default: all held), oldest first, as zero-copy views.

        Valid until the next append. ``n`` < 0 or > ``len(self)`` is a ValueError.
        """
        n = self._span(n)
        return Bars(**{name: self._tail(name, n) for name in BAR_COLUMNS})

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        """Zero-copy view of one column's last ``n`` values (valid until the next append)."""
        if name not in self._cols:
            raise _unknown_column(name)
        return self._tail(name, self._span(n))

    def last(self, name: str):
        """The newest value of one column as a Python int or float."""
        if name not in self._cols:
            raise _unknown_column(name)
        if self._end == self._start:
            raise IndexError("last() on an empty BarRing")
        return self._cols[name][self._end - 1].item()


# ---------------------------------------------------------------------------
# RollingStats


class RollingStats:
    """Rolling mean and sample std (ddof=1) over the last ``window`` values.

    Equal to ``pd.Series(x).rolling(window, min_periods=window).mean()/.std()``:
    NaN until the window is full, NaN while a NaN is inside it, and a std of NaN
    for ``window == 1``. ``count`` is the number of values (NaN included) in the
    current window. Each update is O(1) except the rare re-sum described in the
    module docstring.
    """

    def __init__(self, window: int):
        window = operator.index(window)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._window = window
        self._buf = [0.0] * window  # the window's values, circular
        self._pos = 0  # where the next value goes (the oldest, once full)
        self._count = 0
        self._nan_count = 0
        self._run = 0  # how many equal non-NaN values end the stream
        self._prev = NAN
        # Welford state over the non-NaN values of the window
        self._nobs = 0
        self._mean = 0.0
        self._ssqdm = 0.0
        self._comp_add = 0.0
        self._comp_remove = 0.0
        self._unstable = False

    @property
    def window(self) -> int:
        return self._window

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        return self._result()[0]

    @property
    def std(self) -> float:
        return self._result()[1]

    def __repr__(self) -> str:
        return f"RollingStats(window={self._window}, count={self._count})"

    def _add(self, x: float) -> None:
        prev_m2 = self._ssqdm
        self._nobs += 1
        prev_mean = self._mean - self._comp_add
        y = x - self._comp_add
        t = y - self._mean
        self._comp_add = t + self._mean - y
        self._mean = self._mean + t / self._nobs
        self._ssqdm = self._ssqdm + (x - prev_mean) * (x - self._mean)
        if prev_m2 * INV_COND_TOL > self._ssqdm:
            self._unstable = True

    def _remove(self, x: float) -> None:
        prev_m2 = self._ssqdm
        self._nobs -= 1
        if self._nobs == 0:
            self._mean = 0.0
            self._ssqdm = 0.0
            self._unstable = False
            return
        prev_mean = self._mean - self._comp_remove
        y = x - self._comp_remove
        t = y - self._mean
        self._comp_remove = t + self._mean - y
        self._mean = self._mean - t / self._nobs
        self._ssqdm = self._ssqdm - (x - prev_mean) * (x - self._mean)
        if prev_m2 * INV_COND_TOL > self._ssqdm:
            self._unstable = True

    def _resum(self) -> None:
        self._nobs = 0
        self._mean = self._ssqdm = self._comp_add = self._comp_remove = 0.0
        start = self._pos if self._count == self._window else 0
        for k in range(self._count):
            x = self._buf[(start + k) % self._window]
            if x == x:
                self._add(x)
        self._unstable = False

    def update(self, x: float) -> None:
        """Push one value (NaN allowed)."""
        x = float(x)
        if self._count == self._window:
            old = self._buf[self._pos]
            if old != old:
                self._nan_count -= 1
            else:
                self._remove(old)
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
            self._run = self._run + 1 if x == self._prev else 1
            self._add(x)
        self._prev = x
        if self._unstable:
            self._resum()

    def _result(self) -> tuple[float, float]:
        if self._count < self._window or self._nan_count > 0:
            return NAN, NAN
        if self._run >= self._window:  # every value in the window is equal
            return self._prev, (0.0 if self._window > 1 else NAN)
        if self._window == 1:
            return self._mean, NAN
        var = self._ssqdm / (self._nobs - 1)
        if var < 0.0:
            var = 0.0
        return self._mean, math.sqrt(var)

    def update_many(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Push every value of ``x``; return (mean, std) after each one."""
        x = _as_float_array(x, "x")
        mean = np.empty(len(x))
        std = np.empty(len(x))
        for i, value in enumerate(x.tolist()):
            self.update(value)
            mean[i], std[i] = self._result()
        return mean, std


# ---------------------------------------------------------------------------
# RollingCorr


class RollingCorr:
    """Rolling Pearson correlation of two series over the last ``window`` pairs.

    Equal to ``x.rolling(window, min_periods=window).corr(y)``: NaN until the
    window is full and while a pair with a NaN on either side is inside it.
    Where a series is constant over the window (zero variance; pandas gives NaN
    or +-inf there) the result is NaN. Results are clipped to [-1, 1].
    """

    def __init__(self, window: int):
        window = operator.index(window)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._window = window
        self._bx = [0.0] * window
        self._by = [0.0] * window
        self._pos = 0
        self._count = 0
        self._nan_count = 0
        self._run_x = 0
        self._run_y = 0
        self._prev_x = NAN
        self._prev_y = NAN
        # co-moment Welford state over the non-NaN pairs of the window
        self._nobs = 0
        self._mx = 0.0
        self._my = 0.0
        self._sxx = 0.0
        self._syy = 0.0
        self._sxy = 0.0
        self._unstable = False

    @property
    def window(self) -> int:
        return self._window

    @property
    def count(self) -> int:
        return self._count

    @property
    def corr(self) -> float:
        return self._result()

    def __repr__(self) -> str:
        return f"RollingCorr(window={self._window}, count={self._count})"

    def _add(self, x: float, y: float) -> None:
        prev_sxx = self._sxx
        prev_syy = self._syy
        self._nobs += 1
        dx = x - self._mx
        self._mx = self._mx + dx / self._nobs
        dy = y - self._my
        self._my = self._my + dy / self._nobs
        self._sxx = self._sxx + dx * (x - self._mx)
        self._syy = self._syy + dy * (y - self._my)
        self._sxy = self._sxy + dx * (y - self._my)
        if prev_sxx * INV_COND_TOL > self._sxx or prev_syy * INV_COND_TOL > self._syy:
            self._unstable = True

    def _remove(self, x: float, y: float) -> None:
        prev_sxx = self._sxx
        prev_syy = self._syy
        self._nobs -= 1
        if self._nobs == 0:
            self._mx = self._my = self._sxx = self._syy = self._sxy = 0.0
            self._unstable = False
            return
        dx = x - self._mx
        self._mx = self._mx - dx / self._nobs
        dy = y - self._my
        self._my = self._my - dy / self._nobs
        self._sxx = self._sxx - dx * (x - self._mx)
        self._syy = self._syy - dy * (y - self._my)
        self._sxy = self._sxy - dx * (y - self._my)
        if prev_sxx * INV_COND_TOL > self._sxx or prev_syy * INV_COND_TOL > self._syy:
            self._unstable = True

    def _resum(self) -> None:
        self._nobs = 0
        self._mx = self._my = self._sxx = self._syy = self._sxy = 0.0
        start = self._pos if self._count == self._window else 0
        for k in range(self._count):
            i = (start + k) % self._window
            x = self._bx[i]
            y = self._by[i]
            if x == x and y == y:
                self._add(x, y)
        self._unstable = False

    def _push(self, x: float, y: float) -> None:
        if self._count == self._window:
            ox = self._bx[self._pos]
            oy = self._by[self._pos]
            if ox != ox or oy != oy:
                self._nan_count -= 1
            else:
                self._remove(ox, oy)
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
            self._run_x = self._run_x + 1 if x == self._prev_x else 1
            self._run_y = self._run_y + 1 if y == self._prev_y else 1
            self._prev_x = x
            self._prev_y = y
            self._add(x, y)
        if self._unstable:
            self._resum()

    def _result(self) -> float:
        if self._count < self._window or self._nan_count > 0:
            return NAN
        if self._run_x >= self._window or self._run_y >= self._window:
            return NAN  # a constant series: zero variance
        if self._sxx <= 0.0 or self._syy <= 0.0:
            return NAN
        r = self._sxy / (math.sqrt(self._sxx) * math.sqrt(self._syy))
        if r > 1.0:
            return 1.0
        if r < -1.0:
            return -1.0
        return r

    def update(self, x: float, y: float) -> float:
        """Push one pair; return the correlation of the current window."""
        self._push(float(x), float(y))
        return self._result()

    def update_many(self, x, y) -> np.ndarray:
        """Push every pair of ``x``/``y``; return the correlation after each one."""
        x = _as_float_array(x, "x")
        y = _as_float_array(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: len(x)={len(x)}, len(y)={len(y)}")
        out = np.empty(len(x))
        for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
            self._push(xi, yi)
            out[i] = self._result()
        return out


# ---------------------------------------------------------------------------
# WilderAverage


class WilderAverage:
    """Wilder's smoothed average (RMA), as used by RSI(14) and ATR(14).

    The value is NaN until ``period`` finite inputs were seen; at the
    ``period``-th it is their simple mean (summed in input order), and after
    that each input moves it by ``(x - avg) / period``. Non-finite inputs (NaN,
    +-inf) are skipped: the state does not change and the value stays what it
    was. ``count`` is the number of finite inputs seen.
    """

    def __init__(self, period: int):
        period = operator.index(period)
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self._period = period
        self._count = 0
        self._sum = 0.0  # of the first `period` finite inputs
        self._avg = NAN

    @property
    def period(self) -> int:
        return self._period

    @property
    def count(self) -> int:
        return self._count

    @property
    def value(self) -> float:
        return self._avg

    def __repr__(self) -> str:
        return f"WilderAverage(period={self._period}, count={self._count})"

    def _push(self, x: float) -> None:
        if not math.isfinite(x):
            return
        self._count += 1
        if self._count < self._period:
            self._sum = self._sum + x
        elif self._count == self._period:
            self._sum = self._sum + x
            self._avg = self._sum / self._period
        else:
            self._avg = self._avg + (x - self._avg) / self._period

    def update(self, x: float) -> float:
        """Push one value; return the average after it."""
        self._push(float(x))
        return self._avg

    def update_many(self, x) -> np.ndarray:
        """Push every value of ``x``; return the average after each one."""
        x = _as_float_array(x, "x")
        out = np.empty(len(x))
        for i, value in enumerate(x.tolist()):
            self._push(value)
            out[i] = self._avg
        return out
