"""Batch kernel of the market regime: the reference twin of the compiled
``rsengine.core._regime``.

``opening_chop``: which rows of a batch (one session, rows in ``ts`` order)
are in chop by the opening window ``[start, end]`` of the reference
instrument (the arrays ``ts_open``, ``present``, ``volume``, ``width`` =
or_high - or_low, ``atr`` are its column):

* the opening-window volume: the volume of its bars opening at or after
  ``start`` in rows closing by ``end``, summed from ``carry``'s on;
* narrow range, from the first row closing at or after ``end``: the last
  known ``width < range_atr * atr`` (a row with both finite; carried) holds
  and, when ``or_mean`` is not None, the window volume so far is below
  ``chop_volume * or_mean``;
* rotation: over the rows closing in ``(start, end]`` with a leader (the
  first member of ``lead``'s highest non-NaN value), the leader changing from
  one such row to the next ``rotations`` times (counted on from ``carry``)
  puts every row from the one it happens on in chop, but not before ``end``.

``width``/``atr`` None: no narrow-range test; ``lead`` None: no rotation
test. ``carry`` is ``(window volume, narrow 1.0/0.0/NaN, leader, changes)``,
``(0.0, NaN, -1, 0)`` at a session's start. Returns ``(chop, carry, done)``,
``done`` saying that a row closed at or after ``end``.
"""

from __future__ import annotations

import math

import numpy as np

from .group import lead_ranks


def empty_chop_carry():
    """``opening_chop``'s carry at a session's start."""
    return 0.0, math.nan, -1, 0


def _ffill(x: np.ndarray, carry: float) -> np.ndarray:
    idx = np.where(np.isnan(x), -1, np.arange(len(x)))
    idx = np.maximum.accumulate(idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], carry)


def opening_chop(ts, ts_open, present, volume, start, end, width, atr, lead, settings, carry):
    """``(chop, carry, done)`` after one batch; see the module docstring."""
    range_atr, chop_volume, or_mean, rotations = settings
    or_volume, narrow_carry, leader_carry, changes = carry
    ts = np.asarray(ts, np.int64)
    n = len(ts)
    after = int(np.searchsorted(ts, end, side="left"))
    inside = np.asarray(present, bool) & (np.asarray(ts_open) >= start) & (ts <= end)
    window = or_volume + np.cumsum(np.where(inside, volume, 0.0))
    or_volume = float(window[-1]) if n else or_volume
    chop = np.zeros(n, np.bool_)
    if width is not None and n:
        width, atr = np.asarray(width, float), np.asarray(atr, float)
        known = np.isfinite(width) & np.isfinite(atr)
        with np.errstate(invalid="ignore"):
            narrow = np.where(known, (width < range_atr * atr).astype(float), math.nan)
        narrow = _ffill(narrow, narrow_carry)
        narrow_carry = float(narrow[-1])
        if after < n:
            narrow_range = narrow[after:] == 1.0
            if or_mean is not None:
                narrow_range &= window[after:] < chop_volume * or_mean
            chop[after:] = narrow_range
    if lead is not None:
        rotating = n if changes < rotations else 0  # the first row
        lo = int(np.searchsorted(ts, start, side="right"))
        hi = int(np.searchsorted(ts, end, side="right"))
        if hi > lo:  # rows closing in (start, end]
            leader = lead_ranks(np.asarray(lead, float)[lo:hi])[1]
            rows = np.flatnonzero(leader >= 0)
            if len(rows):
                seq = leader[rows]
                prev = np.concatenate(([leader_carry], seq[:-1]))
                count = changes + np.cumsum((seq != prev) & (prev >= 0))
                leader_carry, changes = int(seq[-1]), int(count[-1])
                hits = np.flatnonzero(count >= rotations)
                if len(hits):
                    rotating = min(rotating, lo + int(rows[hits[0]]))
        chop[max(after, rotating) :] = True
    return chop, (or_volume, narrow_carry, leader_carry, changes), after < n
