"""Mean true range of the last ``k`` bars, batch by batch: the reference twin
of the compiled ``rsengine.core._true_range``.

For ``g`` series (one a row of every array) over one batch of ``n`` rows, a
series' bars are its rows where ``present``. A bar's true range is its high
minus its low when no close comes before it, else ``max(high, prev close) -
min(low, prev close)`` (NaN in, NaN out). The mean at a bar is
``(S[p + 1] - S[p + 1 - k]) / k``, with ``S`` the running sums (from 0) of the
true ranges carried in (``history``) and those of the batch, ``p`` the bar's
place among them: NaN until there are ``k``. Carrying ``k - 1`` true ranges
from batch to batch gives the mean of each bar's last ``k`` true ranges
whatever the cut, equal up to rounding (the sums start at each batch).
"""

from __future__ import annotations

import math

import numpy as np


def true_range_means(high, low, close, present, history, lengths, prev_close, k: int):
    """``(means, history, lengths, prev_close)`` after one batch.

    ``high``, ``low``, ``close`` (g, n) float; ``present`` (g, n) bool;
    ``history`` (g, k - 1): each series' last true ranges before the batch,
    the first ``lengths[j]`` of its row; ``prev_close`` (g,): each series'
    last close before the batch (NaN: none). ``means`` (g, n) is NaN on rows
    without a bar. The arrays returned are new; the ones given are not changed.
    """
    high, low, close = (np.asarray(x, np.float64) for x in (high, low, close))
    present = np.asarray(present, bool)
    lengths = np.asarray(lengths, np.int64)
    prev_close = np.asarray(prev_close, np.float64)
    g, n = high.shape
    h = max(k - 1, 0)
    history = np.asarray(history, np.float64).reshape(g, h)
    if not n:
        return np.full((g, 0), math.nan), history.copy(), lengths.copy(), prev_close.copy()
    rows = np.arange(n)
    last = np.maximum.accumulate(np.where(present, rows, -1), axis=1)
    before = np.concatenate([np.full((g, 1), -1), last[:, :-1]], axis=1).astype(np.int64)
    prev = np.where(
        before >= 0, np.take_along_axis(close, np.maximum(before, 0), axis=1), prev_close[:, None]
    )
    with np.errstate(invalid="ignore"):
        tr = np.where(np.isnan(prev), high - low, np.maximum(high, prev) - np.minimum(low, prev))
    # each series' history, then its bars' true ranges, packed to the start
    valid = np.concatenate([np.arange(h)[None, :] < lengths[:, None], present], axis=1)
    values = np.where(valid, np.concatenate([history, tr], axis=1), 0.0)
    order = np.argsort(~valid, axis=1, kind="stable")
    seen = np.take_along_axis(values, order, axis=1)
    sums = np.concatenate([np.zeros((g, 1)), np.cumsum(seen, axis=1)], axis=1)
    mean = np.full(seen.shape, math.nan)
    mean[:, k - 1 :] = (sums[:, k:] - sums[:, :-k]) / k
    place = lengths[:, None] + np.cumsum(present, axis=1) - 1
    means = np.where(present, np.take_along_axis(mean, np.maximum(place, 0), axis=1), math.nan)
    totals = lengths + present.sum(axis=1)
    kept = np.minimum(totals, h)
    new_history = np.zeros((g, h))
    for j in range(g):
        new_history[j, : kept[j]] = seen[j, totals[j] - kept[j] : totals[j]]
    new_prev = prev_close.copy()
    at = last[:, -1]
    has = at >= 0
    new_prev[has] = close[np.flatnonzero(has), at[has]]
    return means, new_history, kept.astype(np.int64), new_prev
