"""Batch kernels of the per-instrument measures: the reference twin of the
compiled ``rsengine.core._measures``. Arrays are ``(n, k)``, one column per
instrument's own bars.

``bar_moves``: the gains and losses of each bar from the close before it,
``(2, n, k)``: ``max(close - prev, 0)`` and ``max(-(close - prev), 0)`` (NaN
stays NaN, a zero is +0.0).

``finish_series``: the rolling measures from the rolling means, in place in
``values`` (``(5, n, k)``: vwap20, rsi, vol_mean20, vol_ratio, mom, the first
holding mean(p * volume) on entry): ``vwap20 = mean(p * volume) /
mean(volume)``; ``vol_ratio = volume / the previous vol_mean20`` when that is
above 0 (else NaN); ``rsi = 100 * gain / (gain + loss)``, 50 when the sum is
0 (``moves`` holding the Wilder averages of gains and losses); ``mom = (close
- close_back) / close_back * 100``. Returns ``vol_expanding``: the volume
entering the window above the one leaving it (``volume_back``), with both the
previous and this vol_mean20 finite (``vmeans``, ``(n + 1, k)``, the previous
one first).
"""

from __future__ import annotations

import math

import numpy as np


def bar_moves(close, prev):
    """``(2, n, k)`` gains and losses; see the module docstring."""
    moves = np.empty((2, *np.shape(close)))
    np.subtract(close, prev, out=moves[0])
    np.negative(moves[0], out=moves[1])
    np.maximum(moves, 0.0, out=moves)
    return moves


def finish_series(values, v20, vmeans, volume, volume_back, moves, close, close_back):
    """``vol_expanding`` after filling ``values`` in place; see the module docstring."""
    vwap20, rsi, _, vol_ratio, mom = values
    prev = vmeans[:-1]
    vol_ratio[...] = math.nan
    with np.errstate(all="ignore"):
        vwap20 /= v20
        np.divide(volume, prev, out=vol_ratio, where=prev > 0)
        finite = np.isfinite(vmeans)
        expanding = volume > volume_back
        expanding &= finite[1:]
        expanding &= finite[:-1]
        total = moves[0] + moves[1]
        np.divide(moves[0] * 100.0, total, out=rsi)
        np.copyto(rsi, 50.0, where=total == 0.0)
        np.subtract(close, close_back, out=mom)
        mom /= close_back
        mom *= 100.0
    return expanding
