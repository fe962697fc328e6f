# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Batch kernel of the market regime: compiled twin of
``rsengine.core.pure.regime`` (the rules are stated there). The same
floating-point operations in the same order, so the same numbers."""

from libc.math cimport NAN, isfinite, isnan
from libc.stdint cimport int64_t, uint8_t

import numpy as np


def opening_chop(ts_in, ts_open_in, present_in, volume_in, int64_t start, int64_t end,
                 width_in, atr_in, lead_in, settings, carry):
    """``(chop, carry, done)`` after one batch (see the pure twin)."""
    cdef double range_atr = settings[0], chop_volume = settings[1]
    cdef bint by_volume = settings[2] is not None
    cdef double or_mean = settings[2] if by_volume else NAN
    cdef int64_t rotations = settings[3]
    cdef double or_volume = carry[0], narrow = carry[1]
    cdef int64_t leader = carry[2], changes = carry[3]
    cdef const int64_t[::1] ts = np.ascontiguousarray(ts_in, dtype=np.int64)
    cdef const int64_t[:] ts_open = np.asarray(ts_open_in, dtype=np.int64)
    cdef const uint8_t[:] present = np.asarray(present_in, dtype=bool).view(np.uint8)
    cdef const double[:] volume = np.asarray(volume_in, dtype=np.float64)
    cdef bint by_range = width_in is not None, by_lead = lead_in is not None
    cdef const double[:] width = np.asarray(width_in if by_range else volume_in, dtype=np.float64)
    cdef const double[:] atr = np.asarray(atr_in if by_range else volume_in, dtype=np.float64)
    cdef const double[:, :] lead = np.asarray(
        lead_in if by_lead else np.empty((0, 0)), dtype=np.float64)
    cdef Py_ssize_t n = ts.shape[0], m = lead.shape[1], i, j, after = n, rotating
    chop_arr = np.zeros(n, dtype=bool)
    cdef uint8_t[::1] chop = chop_arr.view(np.uint8)
    cdef double x, w, a, best = 0.0, summed = 0.0, window = or_volume
    cdef int64_t top
    with nogil:
        rotating = n if changes < rotations else 0
        for i in range(n):
            if after == n and ts[i] >= end:
                after = i
            if present[i] and ts_open[i] >= start and ts[i] <= end:
                x = volume[i]
            else:
                x = 0.0
            summed = summed + x
            window = or_volume + summed  # the carry plus a cumulative sum, as the pure twin
            if by_range:
                w = width[i]
                a = atr[i]
                if isfinite(w) and isfinite(a):
                    narrow = 1.0 if w < range_atr * a else 0.0
                if i >= after:
                    chop[i] = narrow == 1.0 and (not by_volume or window < chop_volume * or_mean)
            if by_lead and ts[i] > start and ts[i] <= end:
                top = -1
                for j in range(m):
                    x = lead[i, j]
                    if not isnan(x) and (top < 0 or x > best):
                        top = j
                        best = x
                if top >= 0:
                    if leader >= 0 and top != leader:
                        changes += 1
                    leader = top
                    if changes >= rotations and i < rotating:
                        rotating = i
        if by_lead:
            for i in range(after if after > rotating else rotating, n):
                chop[i] = True
    return chop_arr, (window, narrow, leader, changes), after < n
