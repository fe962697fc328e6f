"""Batch kernels of the trade setups: session windows over a series' bars,
lagged changes carried batch by batch, and the others' mean of a group. The
reference twin of the compiled ``rsengine.core._windows``.

For ``g`` series (one a row of every array) over one batch of ``n`` rows, a
series' bars are its rows where ``on``; what each function carries from batch
to batch (``carry``) lets a session be cut anywhere and give the same numbers.
A new session starts from ``empty_floor_carry`` / ``empty_sum_carry``. Rows
that are not a bar of the series get NaN (False for ``held``).

``floor_holds``: ``floor`` is the lowest value of the bars so far (NaN values
skipped, NaN before the first value); ``held`` says that the last ``k`` bars,
this one included, all have a value and stayed at or above the floor before
them (the floor at the bar ``k`` back). The first ``k`` bars never hold.

``window_sums``: ``recent`` is the sum of the last ``k`` bars' values, this
one included, ``before`` that of the ``k`` bars before them, as differences of
the running sum from the session's start; NaN until there are ``2 k`` bars.
"""

from __future__ import annotations

import math

import numpy as np


def empty_floor_carry(g: int, k: int):
    """``floor_holds``' carry before a session's first bar: (bars so far, the
    last ``k`` values and the floor at each, right-aligned, NaN-padded)."""
    return np.zeros(g, np.int64), np.full((g, k), math.nan), np.full((g, k), math.nan)


def empty_sum_carry(g: int, k: int):
    """``window_sums``' carry before a session's first bar: (bars so far, the
    last ``2 k`` running sums, right-aligned, the first being 0)."""
    sums = np.full((g, 2 * k), math.nan)
    sums[:, -1] = 0.0
    return np.zeros(g, np.int64), sums


def floor_holds(values, on, carry, k: int):
    """``(floor, held, carry)`` after one batch; see the module docstring."""
    values = np.asarray(values, np.float64)
    on = np.asarray(on, bool)
    count, last_values, last_floors = carry
    g, n = values.shape
    floor = np.full((g, n), math.nan)
    held = np.zeros((g, n), bool)
    new_count = np.asarray(count, np.int64) + on.sum(axis=1)
    new_values, new_floors = np.full((g, k), math.nan), np.full((g, k), math.nan)
    for j in range(g):
        x = values[j, on[j]]
        m = int(min(count[j], k))
        start = last_floors[j, -1] if m else math.nan
        floors = np.fmin.accumulate(np.concatenate([[start], x]))[1:]
        seen = np.concatenate([last_values[j, k - m :], x])
        seen_floors = np.concatenate([last_floors[j, k - m :], floors])
        holds = np.zeros(len(x), bool)
        first = max(k - m, 0)  # the first new bar with k bars before it
        if first < len(x):
            at = np.arange(first, len(x)) + m  # the bar's place in ``seen``
            window = np.minimum.reduce([seen[at - i] for i in range(k)])  # NaN if any is
            with np.errstate(invalid="ignore"):
                holds[first:] = window >= seen_floors[at - k]
        floor[j, on[j]] = floors
        held[j, on[j]] = holds
        kept = min(len(seen), k)
        if kept:
            new_values[j, k - kept :] = seen[len(seen) - kept :]
            new_floors[j, k - kept :] = seen_floors[len(seen) - kept :]
    return floor, held, (new_count, new_values, new_floors)


def window_sums(values, on, carry, k: int):
    """``(recent, before, carry)`` after one batch; see the module docstring."""
    values = np.asarray(values, np.float64)
    on = np.asarray(on, bool)
    count, last_sums = carry
    g, n = values.shape
    recent = np.full((g, n), math.nan)
    before = np.full((g, n), math.nan)
    new_sums = np.full((g, 2 * k), math.nan)
    for j in range(g):
        x = values[j, on[j]]
        m = int(min(count[j] + 1, 2 * k))  # running sums carried, S[count] the last
        carried = last_sums[j, 2 * k - m :]
        sums = np.concatenate([carried[:-1], np.cumsum(np.concatenate([carried[-1:], x]))])
        # bar i of the batch is bar count + i of the session: S[c + i + 1] at m + i
        place = np.arange(len(x)) + m
        ok = count[j] + np.arange(len(x)) >= 2 * k - 1
        r = np.full(len(x), math.nan)
        b = np.full(len(x), math.nan)
        r[ok] = sums[place[ok]] - sums[place[ok] - k]
        b[ok] = sums[place[ok] - k] - sums[place[ok] - 2 * k]
        recent[j, on[j]], before[j, on[j]] = r, b
        kept = min(len(sums), 2 * k)
        new_sums[j, 2 * k - kept :] = sums[len(sums) - kept :]
    return recent, before, (np.asarray(count, np.int64) + on.sum(axis=1), new_sums)


def empty_change_carry(g: int, lag: int):
    """``lagged_changes``' carry before a session's first bar: (bars so far,
    the last ``lag + 1`` values, right-aligned, NaN-padded)."""
    return np.zeros(g, np.int64), np.full((g, lag + 1), math.nan)


def lagged_changes(values, on, carry, lag: int):
    """``(change, carry)`` after one batch: per row, each series' change over
    its last ``lag`` bars (rows where ``on``) as of its last bar so far, the
    bars carried in counted first; NaN until there are ``lag + 1``. Unlike
    the windows above, a row that is not a bar holds the change of the bar
    before it."""
    values = np.asarray(values, np.float64)
    on = np.asarray(on, bool)
    count, last = carry
    g, n = values.shape
    width = lag + 1
    change = np.full((g, n), math.nan)
    new_last = np.full((g, width), math.nan)
    for j in range(g):
        m = int(min(count[j], width))
        seen = np.concatenate([last[j, width - m :], values[j, on[j]]])
        if len(seen):
            steps = np.full(len(seen), math.nan)  # only the last lag + 1 are carried:
            steps[lag:] = seen[lag:] - seen[:-lag]  # enough for the change at the last
            at = np.cumsum(on[j]) - 1 + m  # seen's place of the last bar so far
            change[j] = np.where(at >= 0, steps[np.maximum(at, 0)], math.nan)
        kept = min(len(seen), width)
        if kept:
            new_last[j, width - kept :] = seen[len(seen) - kept :]
    return change, (np.asarray(count, np.int64) + on.sum(axis=1), new_last)


def others_mean(x):
    """Per series (row of ``x``) and column: the mean of the other series'
    values in the column (NaN ones left out), NaN when none has one. The sum
    runs 0 + each series in order, as the group's lead does."""
    x = np.asarray(x, np.float64)
    valid = np.isfinite(x)
    clean = np.where(valid, x, 0.0)
    total = np.add.reduce(clean, axis=0, initial=0.0)
    count = valid.sum(axis=0) - valid
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (total - clean) / count, math.nan)
