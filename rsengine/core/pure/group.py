"""Batch kernels of the group measures: the reference twin of the compiled
``rsengine.core._group``.

``group_leads``: each row's lead of every member (column) of an ``(n, m)``
array, ``x_i - mean(x_j, j != i)`` over the members with a value (not NaN) in
the row, the sum running ``0 + each member in order``; NaN for a member
without a value or without another one with a value.

``lead_ranks``: from the leads, each member's ``rank`` (1 + the members
ahead: an earlier one with a lead as high, a later one with a higher lead; 0
for a NaN lead) and each row's ``leader``/``laggard`` (the column of the
highest/lowest lead, ties to the earlier member, -1 when every lead is NaN).

``lead_streaks``: the streaks of a lead over the group on a coarser bar. For
``m`` members, each with the bars it completed in the batch (``stamps``
ascending, ``closes``), every stamp of any member is one step: a member's RS%
there is ``(close - prior) / prior * 100`` (NaN without a bar at that stamp),
its lead that minus the mean of the other members' RS% (the sum running
``0 + each member in order``, NaN ones left out; NaN without its own RS% or
without another's). The lead's sign is ``+1`` when ``>= band``, ``-1`` when
``<= -band``, else 0; a member's streak is the signed count of consecutive
steps with the same nonzero sign, 0 on a step of sign 0, carrying on from
``carry``. Each batch row (``ts``, ascending) gets the streaks after the last
step stamped at or before its close (``carry`` before any), as ``(n, m)``
int64, with the streaks after the last step as the new carry. Any cut of the
steps into batches gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np


def group_leads(x):
    """``(n, m)`` leads of ``x``; see the module docstring."""
    x = np.asarray(x, np.float64)
    m = x.shape[1]
    valid = ~np.isnan(x)
    clean = np.where(valid, x, 0.0)
    total = np.zeros(len(x))
    for j in range(m):  # member by member: the same sum whatever the layout
        total = total + clean[:, j]
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lead = x - (total[:, None] - x) / (count - 1)[:, None]
    return np.where(valid & (count >= 2)[:, None], lead, math.nan)


def lead_ranks(lead):
    """``(rank, leader, laggard)`` of ``(n, m)`` leads; see the module docstring."""
    x = np.asarray(lead, np.float64)
    n, m = x.shape
    cols = [x[:, i] for i in range(m)]
    rank = np.empty((n, m), np.int64)
    for i in range(m):  # NaN compares False: never ahead
        r = 1
        for j in range(i):
            r = r + (cols[j] >= cols[i])
        for j in range(i + 1, m):
            r = r + (cols[j] > cols[i])
        rank[:, i] = r
    valid = ~np.isnan(x)
    none = ~valid.any(axis=1)
    leader = np.argmax(np.where(valid, x, -np.inf), axis=1)
    laggard = np.argmin(np.where(valid, x, np.inf), axis=1)
    return (
        np.where(valid, rank, 0),
        np.where(none, -1, leader).astype(np.int64),
        np.where(none, -1, laggard).astype(np.int64),
    )


def lead_streaks(stamps, closes, prior, band: float, carry, ts):
    """``(streaks, carry)`` after one batch; see the module docstring."""
    m = len(stamps)
    carry = np.asarray(carry, np.int64)
    ts = np.asarray(ts, np.int64)
    steps = np.unique(np.concatenate([np.asarray(s, np.int64) for s in stamps]))
    if not len(steps):
        return np.broadcast_to(carry, (len(ts), m)).copy(), carry.copy()
    close = np.full((len(steps), m), math.nan)
    for j in range(m):
        close[np.searchsorted(steps, stamps[j]), j] = closes[j]
    prior = np.asarray(prior, np.float64)
    lead = group_leads((close - prior) / prior * 100.0)
    with np.errstate(invalid="ignore"):
        sign = np.where(lead >= band, 1, np.where(lead <= -band, -1, 0))
    streak = np.empty((len(steps) + 1, m), np.int64)
    streak[0] = carry
    for i in range(len(steps)):  # the run continues on the same sign, else restarts
        last, now = streak[i], sign[i]
        streak[i + 1] = np.where((now != 0) & (np.sign(last) == now), last + now, now)
    return streak[np.searchsorted(steps, ts, side="right")], streak[-1].copy()
