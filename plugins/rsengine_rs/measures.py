"""Indicator ``measures``: per-instrument measures the group, regime and setups
read (DOMAIN.md §3, §5). One value per instrument per slice; NaN (False for
``vol_expanding``) where the instrument has no bar.

Every rolling series runs over the instrument's own bars only (rows where it is
present) and carries on across sessions unless said otherwise. Bar price
``p`` = the bar's vwap when finite, else ``(high + low + close) / 3``.

* ``vwap``: session VWAP, ``sum(p * volume) / sum(volume)`` over the bars of
  the session so far that lie inside RTH (``ts_open >= rth_open`` and
  ``ts_close <= rth_close``; ``vwap_from: globex``: every bar of the session).
  Reset each session; NaN on bars outside that window.
* ``vwap20``: ``mean(p * volume) / mean(volume)`` over the last ``vwap_bars``
  (20) bars.
* ``rsi``: RSI of ``rsi_period`` (14) close-to-close changes, Wilder smoothing
  of gains and losses seeded by the simple mean of the first ``rsi_period``;
  ``100 * gain / (gain + loss)``, 50 when both are 0.
* ``vol_mean20``: mean volume of the last ``volume_bars`` (20) bars, this one
  included; ``vol_ratio``: volume / the previous bar's ``vol_mean20`` (NaN
  unless that is > 0); ``vol_expanding``: ``vol_mean20`` above the previous
  bar's, decided exactly (the volume entering the window exceeds the one
  leaving it), so rounding in the means never flips it.
* ``or_high``/``or_low``: high/low of the bars lying inside ``[rth_open,
  rth_open + opening_range_minutes)`` (30); published on bars closing at or
  after the end of that window (no look-ahead), for the rest of the session.
  ``ib_high``/``ib_low``: the same over ``initial_balance_minutes`` (60).
* ``atr``: Wilder average (``atr_sessions``, 14) of the daily true range of the
  completed sessions in ``state.daily``; the first session's true range is
  high - low, later ones ``max(high, prev close) - min(low, prev close)``. NaN
  until ``atr_sessions`` true ranges. ``atr_pct``: ``atr / prior_close * 100``
  with the settlement prior close; ``rs_norm``: ``rs_pct / atr_pct`` (NaN
  without the ``rs`` indicator configured before this one).
* ``mom``: ``momentum_bars``-bar (10) return in percent,
  ``(close - close_n) / close_n * 100``.

Market internals (root ``$TICK`` or ``$ADD``) are readings, not prices: every
measure of theirs is NaN (``vol_expanding`` False); the ``internals``
indicator has their own.

Work is O(1) per bar (the daily ATR is brought up to date once per session)
and the result does not depend on how a session is split into batches. A batch
is handled in a few whole-array steps (the engine calls once per batch, so the
number of numpy calls is what costs): the rolling series run on each
instrument's own bars, packed to the top of its column when some are missing,
with its last values before the batch on top of them; the session measures
look only at the rows that can lie in their window (rows are in ``ts_close``
order and a bar's ``ts_open`` is not after its ``ts_close``).
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.core import RollingStats, WilderAverage, bar_moves, finish_series

from .internals import internal_mask
from .settings import check_settings, choice_setting, count_setting, positive_setting

NAN = math.nan

MINUTE_NS = 60 * 10**9

COLUMNS = (
    "vwap",
    "vwap20",
    "rsi",
    "vol_mean20",
    "vol_ratio",
    "vol_expanding",
    "or_high",
    "or_low",
    "ib_high",
    "ib_low",
    "atr",
    "atr_pct",
    "rs_norm",
    "mom",
)
DEFAULTS = {
    "vwap_from": "rth",
    "vwap_bars": 20,
    "rsi_period": 14,
    "volume_bars": 20,
    "opening_range_minutes": 30,
    "initial_balance_minutes": 60,
    "atr_sessions": 14,
    "momentum_bars": 10,
}
VWAP_FROM = ("rth", "globex")


def _minutes(name: str, value) -> int:
    """Positive minutes (whole or not) -> ns."""
    return round(positive_setting(name, value, "a number of minutes") * MINUTE_NS)


class Measures:
    columns = COLUMNS
    reads_optional = ("rs_pct",)  # rs_norm when rs is configured
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        self.vwap_from = choice_setting("vwap_from", s["vwap_from"], VWAP_FROM)
        self.vwap_bars = count_setting("vwap_bars", s["vwap_bars"])
        self.rsi_period = count_setting("rsi_period", s["rsi_period"])
        self.volume_bars = count_setting("volume_bars", s["volume_bars"])
        self.atr_sessions = count_setting("atr_sessions", s["atr_sessions"])
        self.momentum_bars = count_setting("momentum_bars", s["momentum_bars"])
        self.or_ns = _minutes("opening_range_minutes", s["opening_range_minutes"])
        self.ib_ns = _minutes("initial_balance_minutes", s["initial_balance_minutes"])

        self.symbols = tuple(context.symbols)
        k = len(self.symbols)
        internal = internal_mask(context)
        self._internal = internal if internal.any() else None
        self._pv = [RollingStats(self.vwap_bars) for _ in range(k)]
        self._vol = [RollingStats(self.volume_bars) for _ in range(k)]
        # mean volume over vwap_bars; the volume_bars one serves when they are equal
        same = self.vwap_bars == self.volume_bars
        self._vol20 = None if same else [RollingStats(self.vwap_bars) for _ in range(k)]
        self._gain = [WilderAverage(self.rsi_period) for _ in range(k)]
        self._loss = [WilderAverage(self.rsi_period) for _ in range(k)]
        self._tr = [WilderAverage(self.atr_sessions) for _ in range(k)]
        # each instrument's last momentum_bars closes and volume_bars volumes
        # (NaN before it has that many) and its last vol_mean20
        self._closes = np.full((self.momentum_bars, k), NAN)
        self._volumes = np.full((self.volume_bars, k), NAN)
        self._last_vmean = np.full(k, NAN)
        self._daily_seen = [0] * k  # completed sessions fed to the ATR
        self._daily_close = [NAN] * k  # close of the last of them
        self._atr = [NAN] * k
        self._column_index = np.empty((0, k), np.intp)
        self._date = None

    # -- session state ----------------------------------------------------------

    def _enter(self, state) -> None:
        session = state.session
        if session.date == self._date:
            return
        self._date = session.date
        k = len(self.symbols)
        self._cum = np.zeros((2, k))  # sum(p * volume), sum(volume) of the VWAP so far
        # running high/low of the opening range and initial balance: rows
        # or_high, -or_low, ib_high, -ib_low (lows negated so one max does all)
        self._ranges = np.full((4, k), -np.inf)
        # ts_close bounds searched in each batch: rows from lo may open in RTH,
        # rows before hi close by each range's end / the RTH close, rows from
        # done close at or after a range's end
        start = self._rth_open = session.rth_open_ns
        self._bounds = np.array(
            (start, start + self.or_ns, start + self.ib_ns, session.rth_close_ns), np.int64
        )
        atr_pct = [NAN] * k
        for j, symbol in enumerate(self.symbols):
            atr = self._catch_up_atr(j, state.daily.get(symbol))
            if atr == atr:
                prior = state.prior_close(symbol)
                if prior is not None and prior > 0:
                    atr_pct[j] = atr / prior * 100.0
        self._levels = np.array((self._atr, atr_pct))  # atr, atr_pct

    def _catch_up_atr(self, j: int, daily) -> float:
        seen = self._daily_seen[j]
        if daily is None or len(daily.dates) <= seen:
            return self._atr[j]
        prev = self._daily_close[j]
        average = self._tr[j]
        highs, lows, closes = daily.high, daily.low, daily.close
        for i in range(seen, len(daily.dates)):
            # np.fmax / np.fmin: a NaN prev close gives high - low
            self._atr[j] = average.update(_fmax(highs[i], prev) - _fmin(lows[i], prev))
            prev = float(closes[i])
        self._daily_seen[j] = len(daily.dates)
        self._daily_close[j] = prev
        return self._atr[j]

    # -- the batch --------------------------------------------------------------

    def update_batch(self, batch, state) -> dict:
        present = batch.present
        n, k = present.shape
        if k != len(self.symbols):
            raise ValueError(f"batch has {k} instruments, expected {len(self.symbols)}")
        if n == 0:
            out = {name: np.full((n, k), NAN) for name in COLUMNS}
            out["vol_expanding"] = np.zeros((n, k), np.bool_)
            return out
        self._enter(state)
        ts_close = batch.ts_close
        lo, done_or, done_ib = ts_close.searchsorted(self._bounds[:3]).tolist()
        hi_or, hi_ib, hi_rth = ts_close.searchsorted(self._bounds[1:], "right").tolist()
        rth = self.vwap_from == "rth"
        top = max(hi_rth if rth else 0, hi_or, hi_ib)
        vwap = np.full((n, k), NAN)
        with np.errstate(all="ignore"):
            own = _OwnBars(batch, self._closes, self._volumes)
            inside = None  # bars of rows lo:top opening in RTH
            if lo < top:
                inside = present[lo:top] & (batch.ts_open[lo:top] >= self._rth_open)
            if not rth:
                self._session_vwap(vwap, present, own.pv, batch.volume, 0)
            elif lo < hi_rth:
                self._session_vwap(vwap, inside[: hi_rth - lo], own.pv, batch.volume, lo)
            ranges = ((done_or, hi_or), (done_ib, hi_ib))
            run = self._update_ranges(batch, inside, lo, ranges)
            # the values that hold for every row (atr, atr_pct) or from a row on
            # (or_high, or_low, ib_high, ib_low): one take, numpy being slow to
            # broadcast k values down the rows
            final = np.where(np.isfinite(self._ranges), self._ranges, NAN)
            np.negative(final[1::2], out=final[1::2])
            held = np.take(np.concatenate((self._levels, final)), self._columns(n), axis=1)
            if not own.full:
                held[:, ~present] = NAN
                held[3::2, ~present] = NAN
            self._range_rows(held[2:], present, run, lo, ranges)
            atr, atr_pct, or_high, or_low, ib_high, ib_low = held
            series, expanding = self._series(own)
            rs = state.values.get("rs_pct")
            if rs is None:
                rs_norm = np.full((n, k), NAN)
            else:
                rs_norm = np.divide(np.asarray(rs, float), atr_pct)
                if not own.full:
                    rs_norm[~present] = NAN
        vwap20, rsi, vol_mean20, vol_ratio, mom = series
        if self._internal is not None:  # readings, not prices
            for column in (vwap, *series, atr, atr_pct, or_high, or_low, ib_high, ib_low):
                column[:, self._internal] = NAN
            rs_norm[:, self._internal] = NAN
            expanding[:, self._internal] = False
        return {
            "vwap": vwap,
            "vwap20": vwap20,
            "rsi": rsi,
            "vol_mean20": vol_mean20,
            "vol_ratio": vol_ratio,
            "vol_expanding": expanding,
            "or_high": or_high,
            "or_low": or_low,
            "ib_high": ib_high,
            "ib_low": ib_low,
            "atr": atr,
            "atr_pct": atr_pct,
            "rs_norm": rs_norm,
            "mom": mom,
        }

    def _columns(self, n: int) -> np.ndarray:
        """``(n, k)`` column numbers, to take per-instrument values for n rows."""
        if len(self._column_index) < n:
            self._column_index = np.tile(np.arange(len(self.symbols)), (2 * n, 1))
        return self._column_index[:n]

    def _session_vwap(self, vwap, inside, pv, volume, lo) -> None:
        """The VWAP of rows ``lo:lo + len(inside)``, their bars in it marked in
        ``inside`` (every row after them closes after the RTH close)."""
        hi = lo + len(inside)
        # carry the running sums as the first row: cumsum adds in row order, so
        # any split of the session gives the same sums bit for bit
        cum = np.zeros((2, hi - lo + 1, inside.shape[1]))
        cum[:, 0] = self._cum
        np.copyto(cum[0, 1:], pv[lo:hi], where=inside)
        np.copyto(cum[1, 1:], volume[lo:hi], where=inside)
        np.add.accumulate(cum, axis=1, out=cum)  # np.cumsum, with less overhead
        self._cum = cum[:, -1]
        np.divide(cum[0, 1:], cum[1, 1:], out=vwap[lo:hi], where=inside & (cum[1, 1:] > 0))

    def _update_ranges(self, batch, inside, lo, ranges):
        """Bring the opening range and initial balance up to date. Per range,
        ``(done, hi)`` in ``ranges``: rows ``lo:hi`` may lie inside it
        (``inside`` marks the bars opening in RTH), rows from ``done`` on close
        at or after its end. Returns the running values by row when rows tie
        in ts_close right at an end (else None)."""
        if inside is None:
            return None
        run = np.full((len(inside) + 1, *self._ranges.shape), -np.inf)
        run[0] = self._ranges
        low = np.negative(batch.low[lo : lo + len(inside)])
        for w, (_, hi) in enumerate(ranges):
            rows = max(hi - lo, 0)
            np.copyto(run[1 : rows + 1, 2 * w], batch.high[lo:hi], where=inside[:rows])
            np.copyto(run[1 : rows + 1, 2 * w + 1], low[:rows], where=inside[:rows])
        if any(hi - done > 1 for done, hi in ranges):
            np.maximum.accumulate(run, axis=0, out=run)
            self._ranges = run[-1].copy()
            return run
        self._ranges = np.maximum.reduce(run, axis=0)
        return None

    def _range_rows(self, out, present, run, lo, ranges) -> None:
        """``out``, or_high, or_low, ib_high, ib_low holding the final values
        on every row with a bar: NaN on the rows before each range's ``done``;
        on rows tied in ts_close at its end, all but the last, the running
        values."""
        for w, (done, hi) in enumerate(ranges):
            high_low = out[2 * w : 2 * w + 2]
            high_low[0, :done] = NAN
            high_low[1, :done] = NAN
            if hi - done > 1:  # (run is not None)
                tied = run[1 + done - lo : hi - lo, 2 * w : 2 * w + 2].transpose(1, 0, 2).copy()
                tied[~np.isfinite(tied)] = NAN
                np.negative(tied[1], out=tied[1])
                np.copyto(high_low[:, done : hi - 1], tied, where=present[done : hi - 1])

    def _series(self, own) -> tuple[np.ndarray, np.ndarray]:
        """The rolling measures on each instrument's own bars: vwap20, rsi,
        vol_mean20, vol_ratio, mom as ``(5, n, k)`` and vol_expanding."""
        n, k = own.present.shape
        m, mv = self.momentum_bars, self.volume_bars
        closes, volumes, pvs = own.closes, own.volumes, own.pvs
        own_close, own_volume = closes[m:], volumes[mv:]
        # n + 1 rows: row 0 of vol_mean20 holds the previous value
        series = np.empty((5, n + 1, k))
        vwap20, vmeans = series[0], series[2]
        vmeans[0] = self._last_vmean
        v20 = vmeans[1:] if self._vol20 is None else np.empty((n, k))
        moves = bar_moves(own_close, closes[m - 1 : m - 1 + n])  # -> Wilder averages
        for j, c in enumerate(own.counts):
            if not c:
                continue
            v = own_volume[:c, j]
            vmeans[1 : c + 1, j] = self._vol[j].update_many(v)[0]
            if self._vol20 is not None:
                v20[:c, j] = self._vol20[j].update_many(v)[0]
            vwap20[1 : c + 1, j] = self._pv[j].update_many(pvs[:c, j])[0]
            moves[0, :c, j] = self._gain[j].update_many(moves[0, :c, j])
            moves[1, :c, j] = self._loss[j].update_many(moves[1, :c, j])
        values = series[:, 1:]
        expanding = finish_series(
            values, v20, vmeans, own_volume, volumes[:n], moves, own_close, closes[:n]
        )

        self._closes = own.last(closes, m)
        self._volumes = own.last(volumes, mv)
        self._last_vmean = own.last(vmeans, 1)[0].copy()  # vmeans is output
        return own.unpack(values, expanding)


class _OwnBars:
    """A batch's bar ``p * volume`` (``pv``) and, per instrument over its own
    bars, packed to the top of its column when some are missing: ``pvs``
    (``(n, k)``), ``closes`` and ``volumes`` (``(size + n, k)``, after the
    last ``size`` values before the batch); ``counts`` bars each."""

    def __init__(self, batch, closes, volumes):
        present = self.present = batch.present
        n, k = present.shape
        self.full = np.count_nonzero(present) == present.size
        if self.full:  # nothing to pack
            self.counts = [n] * k
            self.closes = np.concatenate((closes, batch.close))
            self.volumes = np.concatenate((volumes, batch.volume))
            self.pv = self.pvs = _bar_pv(batch, np.empty((n, k)))
            return
        counts = self._counts = np.count_nonzero(present, axis=0)
        self.counts = counts.tolist()
        self._packed = np.arange(n) < counts[:, None]  # (k, n)
        self.pv = _bar_pv(batch, np.empty((n, k)))
        self.pvs = self._pack(self.pv, np.full((n, k), NAN))
        self.closes = self._pack(batch.close, np.concatenate((closes, np.full((n, k), NAN))))
        self.volumes = self._pack(batch.volume, np.concatenate((volumes, np.full((n, k), NAN))))

    def _pack(self, x, out):
        out[len(out) - len(x) :].T[self._packed] = x.T[self.present.T]
        return out

    def last(self, x: np.ndarray, size: int) -> np.ndarray:
        """Rows ``x[c:c + size, j]`` per instrument ``j``, ``c`` its count
        (``x`` has ``size`` rows before the packed ones): the last ``size``
        values of its stream."""
        if self.full:
            return x[-size:]
        return x[self._counts + np.arange(size)[:, None], np.arange(x.shape[1])]

    def unpack(self, values, flags) -> tuple[np.ndarray, np.ndarray]:
        """Packed ``values`` (``(c, n, k)``) and ``flags`` (``(n, k)``) back to
        the batch's rows, NaN / False where an instrument has no bar."""
        if self.full:
            return values, flags
        mine, packed = self.present.T, self._packed
        rows = np.full(values.shape, NAN)
        rows.transpose(0, 2, 1)[:, mine] = values.transpose(0, 2, 1)[:, packed]
        flagged = np.zeros(flags.shape, np.bool_)
        flagged.T[mine] = flags.T[packed]
        return rows, flagged


def _bar_pv(batch, out: np.ndarray) -> np.ndarray:
    """Bar price (vwap if finite, else (high + low + close) / 3) times volume,
    into ``out`` (``(n, k)``)."""
    np.add(batch.high, batch.low, out=out)
    out += batch.close
    out /= 3.0
    np.copyto(out, batch.vwap, where=np.isfinite(batch.vwap))
    out *= batch.volume
    return out


def _fmax(a, b) -> float:
    """``np.fmax`` of two floats: the larger, the other one if one is NaN."""
    a, b = float(a), float(b)
    return b if a != a or b > a else a


def _fmin(a, b) -> float:
    """``np.fmin`` of two floats."""
    a, b = float(a), float(b)
    return b if a != a or b < a else a
