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

Work is O(1) per bar (the daily ATR is brought up to date once per session)
and the result does not depend on how a session is split into batches.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rsengine.core import RollingStats, WilderAverage

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


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _minutes(name: str, value) -> int:
    """Positive minutes (whole or not) -> ns."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a number of minutes > 0, got {value!r}")
    return round(value * MINUTE_NS)


class Measures:
    columns = COLUMNS
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        s = {**DEFAULTS, **settings}
        if s["vwap_from"] not in VWAP_FROM:
            raise ValueError(f"vwap_from {s['vwap_from']!r} is not one of {', '.join(VWAP_FROM)}")
        self.vwap_from = s["vwap_from"]
        self.vwap_bars = _count("vwap_bars", s["vwap_bars"])
        self.rsi_period = _count("rsi_period", s["rsi_period"])
        self.volume_bars = _count("volume_bars", s["volume_bars"])
        self.atr_sessions = _count("atr_sessions", s["atr_sessions"])
        self.momentum_bars = _count("momentum_bars", s["momentum_bars"])
        self.or_ns = _minutes("opening_range_minutes", s["opening_range_minutes"])
        self.ib_ns = _minutes("initial_balance_minutes", s["initial_balance_minutes"])

        self.symbols = tuple(context.symbols)
        k = len(self.symbols)
        self._pv = [RollingStats(self.vwap_bars) for _ in range(k)]
        self._vol = [RollingStats(self.volume_bars) for _ in range(k)]
        # mean volume over vwap_bars; the volume_bars one serves when they are equal
        same = self.vwap_bars == self.volume_bars
        self._vol20 = None if same else [RollingStats(self.vwap_bars) for _ in range(k)]
        self._gain = [WilderAverage(self.rsi_period) for _ in range(k)]
        self._loss = [WilderAverage(self.rsi_period) for _ in range(k)]
        self._tr = [WilderAverage(self.atr_sessions) for _ in range(k)]
        self._last_close = np.full(k, NAN)
        self._last_vmean = np.full(k, NAN)
        self._closes = [np.empty(0) for _ in range(k)]  # last momentum_bars closes
        self._volumes = [np.empty(0) for _ in range(k)]  # last volume_bars volumes
        self._daily_seen = [0] * k  # completed sessions fed to the ATR
        self._daily_close = np.full(k, NAN)  # close of the last of them
        self._atr = np.full(k, NAN)
        self._date = None
        self._start_session(k)

    # -- session state ----------------------------------------------------------

    def _start_session(self, k: int) -> None:
        self._cum = np.zeros((2, k))  # sum(p * volume), sum(volume) of the VWAP so far
        # running high/low of the opening range and initial balance: rows
        # or_high, ib_high, -or_low, -ib_low (lows negated so one max does all)
        self._ranges = np.full((4, k), -np.inf)
        self._atr_pct = np.full(k, NAN)

    def _enter(self, state) -> None:
        session = state.session
        if session.date == self._date:
            return
        self._date = session.date
        k = len(self.symbols)
        self._start_session(k)
        for j, symbol in enumerate(self.symbols):
            self._catch_up_atr(j, state.daily.get(symbol))
            prior = state.prior_close(symbol)
            if prior is not None and prior > 0:
                self._atr_pct[j] = self._atr[j] / prior * 100.0

    def _catch_up_atr(self, j: int, daily) -> None:
        if daily is None or len(daily.dates) <= self._daily_seen[j]:
            return
        lo = self._daily_seen[j]
        high = np.asarray(daily.high[lo:], float)
        low = np.asarray(daily.low[lo:], float)
        close = np.asarray(daily.close[lo:], float)
        prev = np.concatenate(([self._daily_close[j]], close[:-1]))
        tr = np.fmax(high, prev) - np.fmin(low, prev)  # a NaN prev close: high - low
        value = self._tr[j].update_many(tr)
        self._atr[j] = value[-1]
        self._daily_seen[j] = len(daily.dates)
        self._daily_close[j] = close[-1]

    # -- the batch --------------------------------------------------------------

    def update_batch(self, batch, state) -> dict:
        n, k = batch.present.shape
        if k != len(self.symbols):
            raise ValueError(f"batch has {k} instruments, expected {len(self.symbols)}")
        out = {name: np.full((n, k), NAN) for name in COLUMNS}
        out["vol_expanding"] = np.zeros((n, k), np.bool_)
        if n == 0:
            return out
        self._enter(state)
        session = state.session
        present = batch.present
        ts_close = batch.ts_close[:, None]
        ts_open = batch.ts_open
        volume = batch.volume
        with np.errstate(invalid="ignore", divide="ignore"):
            typical = (batch.high + batch.low + batch.close) / 3.0
            price = np.where(np.isfinite(batch.vwap), batch.vwap, typical)
            pv = price * volume

            self._session_vwap(out, present, ts_open, ts_close, pv, volume, session)
            self._ranges_of(out, present, ts_open, ts_close, batch, session)
            for j in range(k):
                rows = np.flatnonzero(present[:, j])
                if len(rows):
                    self._series(out, j, rows, batch.close[rows, j], pv[rows, j], volume[rows, j])

            out["atr"] = np.where(present, self._atr, NAN)
            out["atr_pct"] = np.where(present, self._atr_pct, NAN)
            rs = state.values.get("rs_pct")
            if rs is not None:
                out["rs_norm"] = np.where(present, np.asarray(rs, float) / self._atr_pct, NAN)
        return out

    def _session_vwap(self, out, present, ts_open, ts_close, pv, volume, session) -> None:
        inside = present
        if self.vwap_from == "rth":
            inside = present & (ts_open >= session.rth_open_ns) & (ts_close <= session.rth_close_ns)
        # carry the running sums as the first row: cumsum adds in row order, so
        # any split of the session gives the same sums bit for bit
        parts = np.stack((np.where(inside, pv, 0.0), np.where(inside, volume, 0.0)))
        cum = np.cumsum(np.concatenate((self._cum[:, None, :], parts), axis=1), axis=1)[:, 1:]
        self._cum = cum[:, -1].copy()
        out["vwap"] = np.where(inside & (cum[1] > 0), cum[0] / cum[1], NAN)

    def _ranges_of(self, out, present, ts_open, ts_close, batch, session) -> None:
        start = session.rth_open_ns
        ends = np.array([start + self.or_ns, start + self.ib_ns])[:, None, None]
        inside = present & (ts_open >= start) & (ts_close <= ends)  # (2, n, k)
        values = np.concatenate(
            (np.where(inside, batch.high, -np.inf), np.where(inside, -batch.low, -np.inf))
        )
        run = np.maximum.accumulate(
            np.concatenate((self._ranges[:, None, :], values), axis=1), axis=1
        )[:, 1:]
        self._ranges = run[:, -1].copy()
        done = np.concatenate([present & (ts_close >= ends)] * 2) & np.isfinite(run)
        run = np.where(done, run, NAN)
        out["or_high"], out["ib_high"] = run[0], run[1]
        out["or_low"], out["ib_low"] = -run[2], -run[3]

    def _series(self, out, j, rows, close, pv, volume) -> None:
        """Rolling measures of instrument ``j`` on its own bars ``rows``."""
        vmean = self._vol[j].update_many(volume)[0]
        v20 = vmean if self._vol20 is None else self._vol20[j].update_many(volume)[0]
        out["vwap20"][rows, j] = self._pv[j].update_many(pv)[0] / v20

        prev = np.concatenate(([self._last_vmean[j]], vmean[:-1]))
        self._last_vmean[j] = vmean[-1]
        out["vol_mean20"][rows, j] = vmean
        out["vol_ratio"][rows, j] = np.where(prev > 0, volume / prev, NAN)
        leaving, self._volumes[j] = _lagged(self._volumes[j], volume, self.volume_bars)
        out["vol_expanding"][rows, j] = (volume > leaving) & np.isfinite(vmean) & np.isfinite(prev)

        change = np.diff(close, prepend=self._last_close[j])
        self._last_close[j] = close[-1]
        gain = self._gain[j].update_many(np.maximum(change, 0.0))
        loss = self._loss[j].update_many(np.maximum(-change, 0.0))
        total = gain + loss
        out["rsi"][rows, j] = np.where(total > 0, 100.0 * gain / total, 50.0 + total * 0.0)

        base, self._closes[j] = _lagged(self._closes[j], close, self.momentum_bars)
        out["mom"][rows, j] = (close - base) / base * 100.0


def _lagged(history: np.ndarray, x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Each value of ``x`` ``lag`` values back in the stream ``history + x``
    (NaN before the stream has one), and the last ``lag`` values to keep."""
    stream = np.concatenate((history, x))
    at = np.arange(len(history), len(stream)) - lag
    back = np.where(at >= 0, stream[np.maximum(at, 0)], NAN)
    return back, stream[-lag:].copy()
