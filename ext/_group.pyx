# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Batch kernels of the group measures: compiled twin of
``rsengine.core.pure.group`` (the rules are stated there). The same
floating-point operations in the same order, so the same numbers."""

from libc.math cimport NAN, isnan
from libc.stdint cimport INT64_MAX, int64_t

import numpy as np


def lead_streaks(stamps, closes, prior, double band, carry, ts):
    """``(streaks, carry)`` after one batch (see the pure twin)."""
    cdef Py_ssize_t m = len(stamps)
    sizes = [len(member) for member in stamps]
    cdef const int64_t[::1] st = np.concatenate(
        [np.asarray(member, np.int64) for member in stamps]) if m else np.empty(0, np.int64)
    cdef const double[::1] cl = np.concatenate(
        [np.asarray(member, np.float64) for member in closes]) if m else np.empty(0)
    cdef const double[::1] pr = np.ascontiguousarray(prior, dtype=np.float64)
    cdef const int64_t[::1] tv = np.ascontiguousarray(ts, dtype=np.int64)
    carry_arr = np.array(carry, dtype=np.int64)  # a copy: it becomes the new carry
    cdef int64_t[::1] streak = carry_arr
    cdef Py_ssize_t n = tv.shape[0]
    out_arr = np.empty((n, m), np.int64)
    cdef int64_t[:, ::1] out = out_arr
    cdef int64_t[::1] head = np.zeros(m, np.int64)  # each member's next bar
    cdef int64_t[::1] end = np.cumsum(np.array(sizes, np.int64)) if m else head
    cdef double[::1] rs = np.empty(m)
    cdef Py_ssize_t j, i = 0, at, valid
    cdef int64_t step, s, now
    cdef double total, v, lead
    with nogil:
        for j in range(1, m):
            head[j] = end[j - 1]
        while True:
            step = INT64_MAX  # the earliest stamp of any member not yet taken
            for j in range(m):
                if head[j] < end[j] and st[head[j]] < step:
                    step = st[head[j]]
            if step == INT64_MAX:
                break
            while i < n and tv[i] < step:  # rows closing before this step
                for j in range(m):
                    out[i, j] = streak[j]
                i += 1
            total = 0.0
            valid = 0
            for j in range(m):
                rs[j] = NAN
                at = head[j]
                if at < end[j] and st[at] == step:
                    rs[j] = (cl[at] - pr[j]) / pr[j] * 100.0
                    head[j] = at + 1
                if isnan(rs[j]):
                    total = total + 0.0
                else:
                    total = total + rs[j]
                    valid += 1
            for j in range(m):
                v = rs[j]
                now = 0
                if valid >= 2 and not isnan(v):
                    lead = v - (total - v) / <double>(valid - 1)
                    if lead >= band:
                        now = 1
                    elif lead <= -band:
                        now = -1
                s = streak[j]
                if now != 0 and ((s > 0 and now > 0) or (s < 0 and now < 0)):
                    streak[j] = s + now
                else:
                    streak[j] = now
        while i < n:
            for j in range(m):
                out[i, j] = streak[j]
            i += 1
    return out_arr, carry_arr


def group_leads(x_in):
    """``(n, m)`` leads of ``x`` (see the pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(x_in, dtype=np.float64)
    cdef Py_ssize_t n = x.shape[0], m = x.shape[1], i, j, valid
    out_arr = np.empty((n, m))
    cdef double[:, ::1] out = out_arr
    cdef double total, v
    with nogil:
        for i in range(n):
            total = 0.0
            valid = 0
            for j in range(m):
                v = x[i, j]
                if isnan(v):
                    total = total + 0.0
                else:
                    total = total + v
                    valid += 1
            for j in range(m):
                v = x[i, j]
                if valid >= 2 and not isnan(v):
                    out[i, j] = v - (total - v) / <double>(valid - 1)
                else:
                    out[i, j] = NAN
    return out_arr


def lead_ranks(lead_in):
    """``(rank, leader, laggard)`` of ``(n, m)`` leads (see the pure twin)."""
    cdef const double[:, ::1] x = np.ascontiguousarray(lead_in, dtype=np.float64)
    cdef Py_ssize_t n = x.shape[0], m = x.shape[1], i, j, t
    rank_arr = np.empty((n, m), np.int64)
    leader_arr = np.empty(n, np.int64)
    laggard_arr = np.empty(n, np.int64)
    cdef int64_t[:, ::1] rank = rank_arr
    cdef int64_t[::1] leader = leader_arr
    cdef int64_t[::1] laggard = laggard_arr
    cdef int64_t r, hi, lo
    cdef double v
    with nogil:
        for i in range(n):
            hi = -1
            lo = -1
            for j in range(m):
                v = x[i, j]
                if isnan(v):
                    rank[i, j] = 0
                    continue
                r = 1
                for t in range(j):
                    if x[i, t] >= v:
                        r += 1
                for t in range(j + 1, m):
                    if x[i, t] > v:
                        r += 1
                rank[i, j] = r
                if hi < 0 or v > x[i, hi]:
                    hi = j
                if lo < 0 or v < x[i, lo]:
                    lo = j
            leader[i] = hi
            laggard[i] = lo
    return rank_arr, leader_arr, laggard_arr
