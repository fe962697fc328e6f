# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Batch kernels of the trade setups: compiled twin of
``rsengine.core.pure.windows`` (the rules are stated there). The same
floating-point operations in the same order, so the same numbers."""

from libc.math cimport NAN, isfinite, isnan
from libc.stdint cimport int64_t, uint8_t

import numpy as np


cdef inline void _keep_last(double[::1] seen, Py_ssize_t end, double[:, ::1] out,
                            Py_ssize_t j) noexcept nogil:
    # the last values of seen[:end] into row j of out, right-aligned (the rest stays NaN)
    cdef Py_ssize_t w = out.shape[1]
    cdef Py_ssize_t kept = end if end < w else w
    cdef Py_ssize_t i
    for i in range(kept):
        out[j, w - kept + i] = seen[end - kept + i]


def floor_holds(values, on, carry, int k):
    """``(floor, held, carry)`` after one batch (see the pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(values, dtype=np.float64)
    cdef const uint8_t[:, ::1] bar = np.ascontiguousarray(on, dtype=bool).view(np.uint8)
    count_in, values_in, floors_in = carry
    cdef const int64_t[::1] count = np.ascontiguousarray(count_in, dtype=np.int64)
    cdef const double[:, ::1] old_v = np.ascontiguousarray(values_in, dtype=np.float64)
    cdef const double[:, ::1] old_f = np.ascontiguousarray(floors_in, dtype=np.float64)
    cdef Py_ssize_t g = x.shape[0], n = x.shape[1]
    floor_arr = np.full((g, n), NAN)
    held_arr = np.zeros((g, n), dtype=bool)
    count_arr = np.zeros(g, dtype=np.int64)
    new_v_arr = np.full((g, k), NAN)
    new_f_arr = np.full((g, k), NAN)
    cdef double[:, ::1] floor = floor_arr
    cdef uint8_t[:, ::1] held = held_arr.view(np.uint8)
    cdef int64_t[::1] count_out = count_arr
    cdef double[:, ::1] new_v = new_v_arr
    cdef double[:, ::1] new_f = new_f_arr
    cdef double[::1] seen = np.empty(k + n)
    cdef double[::1] seen_f = np.empty(k + n)
    cdef Py_ssize_t j, i, m, pos, t
    cdef int64_t c
    cdef double f, low, v
    cdef Py_ssize_t gap
    with nogil:
        for j in range(g):
            c = count[j]
            m = c if c < k else k
            for i in range(m):
                seen[i] = old_v[j, k - m + i]
                seen_f[i] = old_f[j, k - m + i]
            f = seen_f[m - 1] if m else NAN
            gap = -1  # the place of the last bar without a value
            for i in range(m):
                if isnan(seen[i]):
                    gap = i
            pos = m
            for i in range(n):
                if not bar[j, i]:
                    continue
                v = x[j, i]
                if isnan(v):
                    gap = pos
                elif isnan(f) or v < f:  # numpy.fmin: a NaN value leaves the floor
                    f = v
                seen[pos] = v
                seen_f[pos] = f
                floor[j, i] = f
                if c >= k and pos - gap >= k:  # k bars, each with a value
                    low = v
                    for t in range(1, k):
                        if seen[pos - t] < low:
                            low = seen[pos - t]
                    held[j, i] = low >= seen_f[pos - k]
                pos += 1
                c += 1
            count_out[j] = c
            _keep_last(seen, pos, new_v, j)
            _keep_last(seen_f, pos, new_f, j)
    return floor_arr, held_arr, (count_arr, new_v_arr, new_f_arr)


def window_sums(values, on, carry, int k):
    """``(recent, before, carry)`` after one batch (see the pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(values, dtype=np.float64)
    cdef const uint8_t[:, ::1] bar = np.ascontiguousarray(on, dtype=bool).view(np.uint8)
    count_in, sums_in = carry
    cdef const int64_t[::1] count = np.ascontiguousarray(count_in, dtype=np.int64)
    cdef const double[:, ::1] old = np.ascontiguousarray(sums_in, dtype=np.float64)
    cdef Py_ssize_t g = x.shape[0], n = x.shape[1], w = 2 * k
    recent_arr = np.full((g, n), NAN)
    before_arr = np.full((g, n), NAN)
    count_arr = np.zeros(g, dtype=np.int64)
    new_arr = np.full((g, w), NAN)
    cdef double[:, ::1] recent = recent_arr
    cdef double[:, ::1] before = before_arr
    cdef int64_t[::1] count_out = count_arr
    cdef double[:, ::1] new_sums = new_arr
    cdef double[::1] sums = np.empty(w + n)
    cdef Py_ssize_t j, i, m, pos
    cdef int64_t c
    cdef double s
    with nogil:
        for j in range(g):
            c = count[j]
            m = c + 1 if c + 1 < w else w
            for i in range(m):
                sums[i] = old[j, w - m + i]
            s = sums[m - 1]
            pos = m  # where S[c + 1] goes
            for i in range(n):
                if not bar[j, i]:
                    continue
                s = s + x[j, i]
                sums[pos] = s
                if c >= w - 1:
                    recent[j, i] = sums[pos] - sums[pos - k]
                    before[j, i] = sums[pos - k] - sums[pos - w]
                pos += 1
                c += 1
            count_out[j] = c
            _keep_last(sums, pos, new_sums, j)
    return recent_arr, before_arr, (count_arr, new_arr)


def lagged_changes(values, on, carry, int lag):
    """``(change, carry)`` after one batch (see the pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(values, dtype=np.float64)
    cdef const uint8_t[:, ::1] bar = np.ascontiguousarray(on, dtype=bool).view(np.uint8)
    count_in, last_in = carry
    cdef const int64_t[::1] count = np.ascontiguousarray(count_in, dtype=np.int64)
    cdef const double[:, ::1] old = np.ascontiguousarray(last_in, dtype=np.float64)
    cdef Py_ssize_t g = x.shape[0], n = x.shape[1], w = lag + 1
    change_arr = np.full((g, n), NAN)
    count_arr = np.zeros(g, dtype=np.int64)
    new_arr = np.full((g, w), NAN)
    cdef double[:, ::1] change = change_arr
    cdef int64_t[::1] count_out = count_arr
    cdef double[:, ::1] new_last = new_arr
    cdef double[::1] seen = np.empty(w + n)
    cdef Py_ssize_t j, i, m, pos
    cdef int64_t c
    cdef double now
    with nogil:
        for j in range(g):
            c = count[j]
            m = c if c < w else w
            for i in range(m):
                seen[i] = old[j, w - m + i]
            now = seen[m - 1] - seen[m - 1 - lag] if m - 1 >= lag else NAN
            pos = m
            for i in range(n):
                if bar[j, i]:
                    seen[pos] = x[j, i]
                    now = seen[pos] - seen[pos - lag] if pos >= lag else NAN
                    pos += 1
                    c += 1
                change[j, i] = now
            count_out[j] = c
            _keep_last(seen, pos, new_last, j)
    return change_arr, (count_arr, new_arr)


def others_mean(x_in):
    """Per series and column, the mean of the other series' values (see the
    pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(x_in, dtype=np.float64)
    cdef Py_ssize_t g = x.shape[0], n = x.shape[1]
    out_arr = np.empty((g, n))
    cdef double[:, ::1] out = out_arr
    cdef Py_ssize_t j, i, valid, others
    cdef double total, v
    with nogil:
        for i in range(n):
            total = 0.0
            valid = 0
            for j in range(g):
                v = x[j, i]
                if isfinite(v):
                    total = total + v
                    valid += 1
                else:
                    total = total + 0.0
            for j in range(g):
                v = x[j, i]
                others = valid - 1 if isfinite(v) else valid
                if others > 0:
                    out[j, i] = (total - (v if isfinite(v) else 0.0)) / others
                else:
                    out[j, i] = NAN
    return out_arr
