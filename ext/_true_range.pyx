# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Mean true range of the last ``k`` bars, batch by batch: compiled twin of
``rsengine.core.pure.true_range`` (the rules are stated there). The same
floating-point operations in the same order, so the same numbers."""

from libc.math cimport NAN, isnan
from libc.stdint cimport int64_t, uint8_t

import numpy as np


cdef inline double _max(double a, double b) noexcept nogil:
    # numpy.maximum: NaN when either is NaN
    return a if (a >= b or a != a) else b


cdef inline double _min(double a, double b) noexcept nogil:
    return a if (a <= b or a != a) else b


def true_range_means(high, low, close, present, history, lengths, prev_close, int k):
    """``(means, history, lengths, prev_close)`` after one batch (see the pure twin)."""
    cdef const double[:, ::1] hi = np.ascontiguousarray(high, dtype=np.float64)
    cdef const double[:, ::1] lo = np.ascontiguousarray(low, dtype=np.float64)
    cdef const double[:, ::1] cl = np.ascontiguousarray(close, dtype=np.float64)
    cdef const uint8_t[:, ::1] pr = np.ascontiguousarray(present, dtype=bool).view(np.uint8)
    cdef Py_ssize_t g = hi.shape[0], n = hi.shape[1]
    cdef Py_ssize_t h = k - 1 if k > 1 else 0
    cdef const double[:, ::1] old = np.ascontiguousarray(
        np.asarray(history, dtype=np.float64).reshape(g, h)
    )
    cdef const int64_t[::1] count = np.ascontiguousarray(lengths, dtype=np.int64)
    new_prev_arr = np.array(prev_close, dtype=np.float64, copy=True)
    cdef double[::1] prev_out = new_prev_arr
    means_arr = np.full((g, n), NAN)
    cdef double[:, ::1] means = means_arr
    hist_arr = np.zeros((g, h))
    cdef double[:, ::1] hist = hist_arr
    kept_arr = np.zeros(g, dtype=np.int64)
    cdef int64_t[::1] kept = kept_arr
    cdef double[::1] sums = np.empty(h + n + 1)
    cdef double[::1] seen = np.empty(h + n + 1)
    cdef Py_ssize_t j, i, pos, p, m, length
    cdef double s, prev, tr
    with nogil:
        for j in range(g):
            length = count[j]
            s = 0.0
            sums[0] = 0.0
            pos = 0
            for i in range(length):
                seen[pos] = old[j, i]
                s = s + old[j, i]
                pos += 1
                sums[pos] = s
            prev = prev_out[j]
            for i in range(n):
                if not pr[j, i]:
                    continue
                if isnan(prev):
                    tr = hi[j, i] - lo[j, i]
                else:
                    tr = _max(hi[j, i], prev) - _min(lo[j, i], prev)
                seen[pos] = tr
                s = s + tr
                pos += 1
                sums[pos] = s
                p = pos - 1
                if p >= k - 1:
                    means[j, i] = (sums[p + 1] - sums[p + 1 - k]) / k
                prev = cl[j, i]
                prev_out[j] = prev
            m = pos if pos < h else h
            for i in range(m):
                hist[j, i] = seen[pos - m + i]
            kept[j] = m
    return means_arr, hist_arr, kept_arr, new_prev_arr
