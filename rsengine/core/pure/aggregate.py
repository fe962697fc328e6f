"""Time-bar aggregator, pure-Python reference twin of ``ext/_aggregate.pyx``.

Rules (DOMAIN.md §2):

* Trading happens in *segments* ``[open, close)`` (int64 ns UTC). A bar's
  edges are ``anchor + k * bar_ns`` clipped to its segment, so no bar spans a
  halt or a session boundary.
* A bar covers ``[ts_open, ts_close)``: a trade exactly on an edge opens the
  next bar. The open bar is emitted when the first trade at or past its end
  arrives, or when ``flush(now_ns)`` is called with ``now_ns >= ts_close``.
* A trade older than the open bar (or, with no bar open, older than the last
  emitted bar's end) is *late*; a trade outside every segment is
  *off-session*. Both are counted and kept in the rejected buffer, never
  merged into a bar.
* Intervals without trades produce no bar unless ``fill=True``; a filled bar
  repeats the last close, has zero volume, NaN vwap and the FILLED flag.
  Filling walks the grid from the last bar to the next one inside a segment,
  and across a segment change fills the end of the old segment and the start
  of the new one; whole segments without a trade are never filled.
* ``finish()`` emits the open bar flagged PARTIAL unless the data is known to
  cover its whole span: input bars of known length ``input_ns`` cover
  ``[ts_open, ts_open + input_ns)``, and a bar is complete when the last of
  them reaches its close. A trade covers only its own instant, so a bar built
  from trades is complete only once a trade or ``flush(now)`` passes its end.

Input may also be bars (``update_bars``): each input bar is placed by its
``ts_open`` and combined into the output bar containing it.
"""

from __future__ import annotations

import math

import numpy as np

from ..types import FILLED, LATE, OFF_SESSION, PARTIAL, Bars, Rejected

NO_TIME = -(2**63)


def check_segments(seg_open, seg_close, seg_anchor, after: int = NO_TIME):
    seg_open = np.ascontiguousarray(seg_open, dtype=np.int64)
    seg_close = np.ascontiguousarray(seg_close, dtype=np.int64)
    seg_anchor = np.ascontiguousarray(seg_anchor, dtype=np.int64)
    if not len(seg_open) == len(seg_close) == len(seg_anchor):
        raise ValueError(
            f"segment arrays differ in length: open {len(seg_open)}, close {len(seg_close)}, "
            f"anchor {len(seg_anchor)}"
        )
    prev = after
    for i in range(len(seg_open)):
        if not seg_open[i] < seg_close[i]:
            raise ValueError(f"segment {i} is empty: open {seg_open[i]} >= close {seg_close[i]}")
        if seg_open[i] < prev:
            raise ValueError(
                f"segment {i} opens at {seg_open[i]}, before the previous close {prev}"
            )
        prev = seg_close[i]
    return seg_open, seg_close, seg_anchor


def trade_arrays(ts, price, size):
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    price = np.ascontiguousarray(price, dtype=np.float64)
    size = np.ascontiguousarray(size, dtype=np.float64)
    if not len(ts) == len(price) == len(size):
        raise ValueError(
            f"trade arrays differ in length: ts {len(ts)}, price {len(price)}, size {len(size)}"
        )
    return ts, price, size


def trade_fault(ts, price, size, i) -> str | None:
    """Why trade i is bad (naming its index and value), or None."""
    t, p, s = int(ts[i]), float(price[i]), float(size[i])
    if i and t < ts[i - 1]:
        return f"timestamps not sorted: index {i} ({t}) is before index {i - 1} ({int(ts[i - 1])})"
    if not math.isfinite(p):
        return f"price at index {i} is {p!r}: expected a finite number"
    if not s >= 0 or not math.isfinite(s):
        return f"size at index {i} is {s!r}: expected a finite number >= 0"
    return None


def _bar_error(i, ts_open, cols, trades):
    if i and ts_open[i] < ts_open[i - 1]:
        raise ValueError(
            f"timestamps not sorted: index {i} ({int(ts_open[i])}) is before index {i - 1} "
            f"({int(ts_open[i - 1])})"
        )
    o, h, lo, c, v = (float(col[i]) for col in cols)
    for name, value in zip(("open", "high", "low", "close"), (o, h, lo, c), strict=True):
        if not math.isfinite(value):
            raise ValueError(f"{name} at index {i} is {value!r}: expected a finite number")
    if not (lo <= o <= h and lo <= c <= h):
        raise ValueError(
            f"bar at index {i} is inconsistent: open {o}, high {h}, low {lo}, "
            f"close {c} (need low <= open, close <= high)"
        )
    if not v >= 0 or not math.isfinite(v):
        raise ValueError(f"volume at index {i} is {v!r}: expected a finite number >= 0")
    raise ValueError(f"trades at index {i} is {int(trades[i])}: expected >= 0")


def check_input_ns(input_ns) -> int:
    input_ns = int(input_ns)
    if input_ns < 0:
        raise ValueError(f"input_ns must be >= 0 (0: input bar length unknown), got {input_ns}")
    return input_ns


def check_bars(ts_open, open_, high, low, close, volume, vwap, trades):
    n = len(ts_open)
    ts_open = np.ascontiguousarray(ts_open, dtype=np.int64)
    cols = [np.ascontiguousarray(c, dtype=np.float64) for c in (open_, high, low, close, volume)]
    vwap = np.full(n, np.nan) if vwap is None else np.ascontiguousarray(vwap, dtype=np.float64)
    trades = (
        np.ones(n, np.int64) if trades is None else np.ascontiguousarray(trades, dtype=np.int64)
    )
    names = ("open", "high", "low", "close", "volume", "vwap", "trades")
    for name, col in zip(names, (*cols, vwap, trades), strict=True):
        if len(col) != n:
            raise ValueError(f"bar arrays differ in length: ts_open {n}, {name} {len(col)}")
    o, h, lo, c, v = cols
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c))
        bad |= ~((lo <= o) & (o <= h) & (lo <= c) & (c <= h))
        bad |= ~((v >= 0) & np.isfinite(v)) | (trades < 0)
    bad[1:] |= ts_open[1:] < ts_open[:-1]
    if bad.any():  # the first bad bar, with the first thing wrong with it
        _bar_error(int(np.argmax(bad)), ts_open, cols, trades)
    return (ts_open, *cols, vwap, trades)


class BarAggregator:
    """Trades (or bars) in, closed OHLCV bars out, on a segment grid.

    ``bar_ns``: bar length; ``seg_open``/``seg_close``/``seg_anchor``: the
    trading segments and one grid edge for each (see rsengine.exchange.sessions).
    ``horizon_callback(ts)`` is called when a stamp lies at or past the last
    segment's close, so a caller can ``extend`` the schedule in time.
    """

    def __init__(self, bar_ns, seg_open, seg_close, seg_anchor, fill=False, horizon_callback=None):
        if bar_ns <= 0:
            raise ValueError(f"bar_ns must be positive, got {bar_ns}")
        self.bar_ns = int(bar_ns)
        self.fill = bool(fill)
        self.horizon_callback = horizon_callback
        self._seg_open, self._seg_close, self._seg_anchor = check_segments(
            seg_open, seg_close, seg_anchor
        )
        self._seg = 0
        self._has_bar = False
        self._b_open = self._b_close = 0
        self._b_seg = 0
        self._o = self._h = self._l = self._c = 0.0
        self._vol = self._pv = 0.0
        self._n = 0
        self._last_close = NO_TIME
        self._last_seg = 0
        self._last_price = math.nan
        self._covered = NO_TIME  # input bars so far cover the data up to here
        self._out = []
        self._rejected = []
        self.late_count = 0
        self.off_session_count = 0

    # -- schedule -------------------------------------------------------------

    def extend(self, seg_open, seg_close, seg_anchor):
        """Append segments that open at or after the last one's close."""
        after = int(self._seg_close[-1]) if len(self._seg_close) else NO_TIME
        so, sc, sa = check_segments(seg_open, seg_close, seg_anchor, after)
        self._seg_open = np.concatenate([self._seg_open, so])
        self._seg_close = np.concatenate([self._seg_close, sc])
        self._seg_anchor = np.concatenate([self._seg_anchor, sa])

    @property
    def horizon(self) -> int:
        """Close of the last segment known (NO_TIME when there is none)."""
        return int(self._seg_close[-1]) if len(self._seg_close) else NO_TIME

    @property
    def has_open_bar(self) -> bool:
        return self._has_bar

    @property
    def pending(self) -> int:
        """Closed bars waiting to be taken with ``drain``."""
        return len(self._out)

    # -- input ------------------------------------------------------------------

    def update(self, ts, price, size) -> int:
        """One trade (live feeds). Returns the number of closed bars waiting."""
        ts, price, size = int(ts), float(price), float(size)
        if not math.isfinite(price):
            raise ValueError(f"price is {price!r}: expected a finite number")
        if not size >= 0 or not math.isfinite(size):
            raise ValueError(f"size is {size!r}: expected a finite number >= 0")
        self._add(ts, price, price, price, price, size, price * size, 1)
        return len(self._out)

    def update_many(self, ts, price, size) -> Bars:
        """Trades as arrays, oldest first; returns every bar closed by them.

        Unsorted stamps, non-finite prices or negative sizes raise ValueError
        naming the index, and leave the bars as they were before the batch (the
        horizon callback may already have loaded sessions for it).
        """
        ts, price, size = trade_arrays(ts, price, size)
        self._ensure_horizon(ts)  # may load sessions; it changes no bar state
        before = self._save()
        for i in range(len(ts)):
            fault = trade_fault(ts, price, size, i)
            if fault:
                self._restore(before)
                raise ValueError(fault)
            p = float(price[i])
            s = float(size[i])
            self._add(int(ts[i]), p, p, p, p, s, p * s, 1)
        return self.drain()

    def update_bar(
        self, ts_open, open, high, low, close, volume, vwap=math.nan, trades=1, input_ns=0
    ) -> int:
        """One input bar placed by its ``ts_open``. Returns closed bars waiting.

        ``input_ns``: the input bar's length (0 when unknown), so ``finish()``
        knows whether the data covers the open bar to its close.
        """
        input_ns = check_input_ns(input_ns)
        self._add_bar(
            int(ts_open),
            float(open),
            float(high),
            float(low),
            float(close),
            float(volume),
            float(vwap),
            int(trades),
        )
        self._cover(int(ts_open) + input_ns)
        return len(self._out)

    def update_bars(
        self, ts_open, open, high, low, close, volume, vwap=None, trades=None, input_ns=0
    ) -> Bars:
        """Input bars as arrays, placed by ``ts_open``, oldest first.

        Without ``vwap`` the output vwap is NaN; without ``trades`` each input
        bar counts as one. ``input_ns``: the input bars' length (0 when
        unknown), so ``finish()`` knows whether the data covers the open bar
        to its close.
        """
        input_ns = check_input_ns(input_ns)
        cols = check_bars(ts_open, open, high, low, close, volume, vwap, trades)
        ts_open = cols[0]
        self._ensure_horizon(ts_open)
        for i in range(len(ts_open)):
            self._add_bar(*(c[i].item() for c in cols))
        if len(ts_open):
            self._cover(int(ts_open[-1]) + input_ns)
        return self.drain()

    def flush(self, now_ns) -> Bars:
        """The clock reached ``now_ns``: close the open bar if its end has passed
        and, with fill on, emit empty intervals of the current segment that
        ended by then. Returns the bars closed (all waiting ones)."""
        now_ns = int(now_ns)
        if self._has_bar and now_ns >= self._b_close:
            self._emit_open_bar(0)
        if self.fill and not self._has_bar and self._last_close != NO_TIME:
            self._fill(self._last_seg, self._last_close, now_ns)
        return self.drain()

    def finish(self) -> Bars:
        """End of data: emit the open bar, flagged PARTIAL unless the input bars
        cover it to its close; returns waiting bars."""
        if self._has_bar:
            self._emit_open_bar(0 if self._covered >= self._b_close else PARTIAL)
        return self.drain()

    # -- output -----------------------------------------------------------------

    def drain(self) -> Bars:
        """Take the closed bars waiting (oldest first)."""
        rows, self._out = self._out, []
        if not rows:
            return Bars.empty()
        cols = list(zip(*rows, strict=True))
        return Bars(*cols)

    def take_rejected(self) -> Rejected:
        """Take the late and off-session trades kept so far."""
        rows, self._rejected = self._rejected, []
        if not rows:
            return Rejected([], [], [], [])
        return Rejected(*zip(*rows, strict=True))

    # -- internals --------------------------------------------------------------

    _STATE = (
        "_seg",
        "_has_bar",
        "_b_open",
        "_b_close",
        "_b_seg",
        "_o",
        "_h",
        "_l",
        "_c",
        "_vol",
        "_pv",
        "_n",
        "_last_close",
        "_last_seg",
        "_last_price",
        "late_count",
        "off_session_count",
    )

    def _save(self):
        """Everything a batch can change, so a bad batch can be undone."""
        return (
            {name: getattr(self, name) for name in self._STATE},
            len(self._out),
            len(self._rejected),
        )

    def _restore(self, saved):
        state, n_out, n_rejected = saved
        for name, value in state.items():
            setattr(self, name, value)
        del self._out[n_out:]
        del self._rejected[n_rejected:]

    def _cover(self, end):
        """The input bars reach ``end`` (stamps are sorted, but a late bar may come)."""
        if end > self._covered:
            self._covered = end

    def _ensure_horizon(self, ts):
        """Before a batch: let the caller load segments for its first and last stamps."""
        if not len(ts) or self.horizon_callback is None:
            return
        for stamp in (int(ts[0]), int(ts[-1])):
            if stamp >= self.horizon:
                self.horizon_callback(stamp)

    def _add_bar(self, ts, o, h, lo, c, v, vwap, n):
        if not (math.isfinite(o) and math.isfinite(h) and math.isfinite(lo) and math.isfinite(c)):
            raise ValueError(f"bar at {ts} has a non-finite price: {o}, {h}, {lo}, {c}")
        if not (lo <= o <= h and lo <= c <= h):
            raise ValueError(
                f"bar at {ts} is inconsistent: open {o}, high {h}, low {lo}, close {c}"
            )
        if not v >= 0 or not math.isfinite(v) or n < 0:
            raise ValueError(f"bar at {ts} has volume {v} and trades {n}: expected both >= 0")
        pv = vwap * v if v > 0 else 0.0
        self._add(ts, o, h, lo, c, v, pv, n)

    def _add(self, ts, o, h, lo, c, v, pv, n):
        if self._has_bar:
            if ts < self._b_open:
                self._reject(ts, c, v, LATE)
                return
            if ts < self._b_close:
                if h > self._h:
                    self._h = h
                if lo < self._l:
                    self._l = lo
                self._c = c
                self._vol += v
                self._pv += pv
                self._n += n
                return
            self._emit_open_bar(0)
        elif ts < self._last_close:
            self._reject(ts, c, v, LATE)
            return
        if ts >= self.horizon and self.horizon_callback is not None:
            self.horizon_callback(ts)
        j = self._locate(ts)
        if j < 0:
            self._reject(ts, c, v, OFF_SESSION)
            return
        b_open, b_close = self._grid(j, ts)
        if self.fill and self._last_close != NO_TIME:
            if j == self._last_seg:
                self._fill(j, self._last_close, b_open)
            else:
                self._fill(self._last_seg, self._last_close, int(self._seg_close[self._last_seg]))
                self._fill(j, int(self._seg_open[j]), b_open)
        self._has_bar = True
        self._b_open, self._b_close, self._b_seg = b_open, b_close, j
        self._o, self._h, self._l, self._c = o, h, lo, c
        self._vol, self._pv, self._n = v, pv, n

    def _locate(self, ts) -> int:
        j = self._seg
        nseg = len(self._seg_open)
        while j < nseg and self._seg_close[j] <= ts:
            j += 1
        self._seg = j
        if j == nseg or ts < self._seg_open[j]:
            return -1
        return j

    def _grid(self, j, ts):
        a = int(self._seg_anchor[j])
        k = (ts - a) // self.bar_ns
        edge = a + k * self.bar_ns
        return max(int(self._seg_open[j]), edge), min(int(self._seg_close[j]), edge + self.bar_ns)

    def _fill(self, j, start, limit):
        """Emit filled bars of segment j from edge ``start`` while they end by ``limit``."""
        t = start
        seg_close = int(self._seg_close[j])
        while t < seg_close:
            b_open, b_close = self._grid(j, t)
            if b_close > limit:
                break
            p = self._last_price
            self._out.append((b_open, b_close, p, p, p, p, 0.0, math.nan, 0, FILLED))
            self._last_close, self._last_seg = b_close, j
            t = b_close

    def _emit_open_bar(self, flags):
        vwap = self._pv / self._vol if self._vol > 0 else math.nan
        self._out.append(
            (
                self._b_open,
                self._b_close,
                self._o,
                self._h,
                self._l,
                self._c,
                self._vol,
                vwap,
                self._n,
                flags,
            )
        )
        self._has_bar = False
        self._last_close, self._last_seg, self._last_price = self._b_close, self._b_seg, self._c

    def _reject(self, ts, price, size, reason):
        if reason == LATE:
            self.late_count += 1
        else:
            self.off_session_count += 1
        self._rejected.append((ts, price, size, reason))
