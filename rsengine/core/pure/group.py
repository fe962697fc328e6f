"""Batch kernels of the group measures: the reference twin of the compiled
``rsengine.core._group``.

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
    rs = (close - prior) / prior * 100.0
    valid = ~np.isnan(rs)
    clean = np.where(valid, rs, 0.0)
    total = np.zeros(len(steps))
    for j in range(m):  # member by member: the same sum whatever the layout
        total = total + clean[:, j]
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lead = rs - (total[:, None] - rs) / (count - 1)[:, None]
        lead = np.where(valid & (count >= 2)[:, None], lead, math.nan)
        sign = np.where(lead >= band, 1, np.where(lead <= -band, -1, 0))
    streak = np.empty((len(steps) + 1, m), np.int64)
    streak[0] = carry
    for i in range(len(steps)):  # the run continues on the same sign, else restarts
        last, now = streak[i], sign[i]
        streak[i + 1] = np.where((now != 0) & (np.sign(last) == now), last + now, now)
    return streak[np.searchsorted(steps, ts, side="right")], streak[-1].copy()
