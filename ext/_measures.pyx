# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Batch kernels of the per-instrument measures: compiled twin of
``rsengine.core.pure.measures`` (the rules are stated there). The same
floating-point operations in the same order, so the same numbers."""

from libc.math cimport NAN, isfinite, isnan
from libc.stdint cimport uint8_t

import numpy as np


cdef inline double _above_zero(double x) noexcept nogil:
    # numpy.maximum(x, 0.0): NaN stays, -0.0 and 0.0 give +0.0
    if isnan(x) or x > 0.0:
        return x
    return 0.0


def bar_moves(close_in, prev_in):
    """``(2, n, k)`` gains and losses (see the pure twin)."""
    cdef const double[:, :] close = np.asarray(close_in, dtype=np.float64)
    cdef const double[:, :] prev = np.asarray(prev_in, dtype=np.float64)
    cdef Py_ssize_t n = close.shape[0], k = close.shape[1], i, j
    moves_arr = np.empty((2, n, k))
    cdef double[:, :, ::1] moves = moves_arr
    cdef double d
    with nogil:
        for i in range(n):
            for j in range(k):
                d = close[i, j] - prev[i, j]
                moves[0, i, j] = _above_zero(d)
                moves[1, i, j] = _above_zero(-d)
    return moves_arr


def finish_series(values_in, v20_in, vmeans_in, volume_in, volume_back_in, moves_in,
                  close_in, close_back_in):
    """``vol_expanding`` after filling ``values`` in place (see the pure twin)."""
    cdef double[:, :, :] values = values_in
    cdef const double[:, :] v20 = np.asarray(v20_in, dtype=np.float64)
    cdef const double[:, :] vmeans = np.asarray(vmeans_in, dtype=np.float64)
    cdef const double[:, :] volume = np.asarray(volume_in, dtype=np.float64)
    cdef const double[:, :] back = np.asarray(volume_back_in, dtype=np.float64)
    cdef const double[:, :, :] moves = np.asarray(moves_in, dtype=np.float64)
    cdef const double[:, :] close = np.asarray(close_in, dtype=np.float64)
    cdef const double[:, :] base = np.asarray(close_back_in, dtype=np.float64)
    cdef Py_ssize_t n = values.shape[1], k = values.shape[2], i, j
    expanding_arr = np.empty((n, k), dtype=bool)
    cdef uint8_t[:, ::1] expanding = expanding_arr.view(np.uint8)
    cdef double prev, total, b
    with nogil:
        for i in range(n):
            for j in range(k):
                values[0, i, j] = values[0, i, j] / v20[i, j]
                prev = vmeans[i, j]
                values[3, i, j] = volume[i, j] / prev if prev > 0 else NAN
                expanding[i, j] = (volume[i, j] > back[i, j] and isfinite(vmeans[i + 1, j])
                                   and isfinite(prev))
                total = moves[0, i, j] + moves[1, i, j]
                values[1, i, j] = 50.0 if total == 0.0 else moves[0, i, j] * 100.0 / total
                b = base[i, j]
                values[4, i, j] = (close[i, j] - b) / b * 100.0
    return expanding_arr
