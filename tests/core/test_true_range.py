"""The batch mean true range (rsengine.core.true_range_means): against a
direct computation with pandas over the whole series, batch cuts, history
carried, and the compiled twin equal to the pure one bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rsengine.core import true_range_means
from rsengine.core.pure.true_range import true_range_means as pure_means


def series(seed: int, g: int, n: int, gaps: float = 0.2):
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, (g, n)), axis=1)
    high = close + rng.uniform(0, 2, (g, n))
    low = close - rng.uniform(0, 2, (g, n))
    present = rng.random((g, n)) >= gaps
    for x in (high, low, close):
        x[~present] = math.nan  # a row without a bar holds no prices
    return high, low, close, present


def run(high, low, close, present, k, cuts):
    """The means of every row, the batches cut at ``cuts``, state carried."""
    g = high.shape[0]
    history, lengths = np.zeros((g, max(k - 1, 0))), np.zeros(g, np.int64)
    prev = np.full(g, math.nan)
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, high.shape[1]], strict=True):
        part = (x[:, lo:hi] for x in (high, low, close, present))
        means, history, lengths, prev = true_range_means(*part, history, lengths, prev, k)
        parts.append(means)
    return np.concatenate(parts, axis=1)


def pandas_atr(high, low, close, present, k):
    out = np.full(high.shape, math.nan)
    for j in range(high.shape[0]):
        bars = pd.DataFrame({"h": high[j], "l": low[j], "c": close[j]})[present[j]]
        prev = bars["c"].shift()
        high_or_prev = np.maximum(bars["h"], prev.fillna(-np.inf))
        tr = high_or_prev - np.minimum(bars["l"], prev.fillna(np.inf))
        out[j, np.flatnonzero(present[j])] = tr.rolling(k).mean().to_numpy()
    return out


@pytest.mark.parametrize("k", [1, 3, 14])
@pytest.mark.parametrize("cuts", [(), (7,), (1, 2, 50, 51), tuple(range(5, 200, 9))])
def test_equals_a_rolling_mean_of_the_true_range_whatever_the_cut(k, cuts):
    data = series(k, 3, 200)
    got = run(*data, k, cuts)
    want = pandas_atr(*data, k)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


def test_a_row_without_a_bar_has_none_and_the_bar_after_reads_the_last_close():
    high = np.array([[11.0, math.nan, 12.0]])
    low = np.array([[9.0, math.nan, 11.5]])
    close = np.array([[10.0, math.nan, 11.8]])
    present = np.array([[True, False, True]])
    means, history, lengths, prev = true_range_means(
        high, low, close, present, np.zeros((1, 1)), np.zeros(1, np.int64), np.full(1, math.nan), 2
    )
    # true ranges 2 (no close before) and max(12, 10) - min(11.5, 10) = 2
    assert math.isnan(means[0, 0]) and math.isnan(means[0, 1]) and means[0, 2] == 2.0
    assert history.tolist() == [[2.0]] and lengths.tolist() == [1] and prev.tolist() == [11.8]


def test_read_only_arrays_are_read_and_not_changed():
    data = series(5, 2, 30)
    history, lengths, prev = np.ones((2, 2)), np.array([1, 2]), np.array([99.0, math.nan])
    copies = [x.copy() for x in (*data, history, lengths, prev)]
    for x in (*data, history, lengths, prev):
        x.flags.writeable = False  # e.g. the engine's batch columns
    true_range_means(*data, history, lengths, prev, 3)
    for before, after in zip(copies, (*data, history, lengths, prev), strict=True):
        assert np.array_equal(before, after, equal_nan=True)


@pytest.mark.parametrize("seed", range(40))
def test_the_compiled_twin_gives_the_pure_numbers_bit_for_bit(seed):
    compiled = pytest.importorskip("rsengine.core._true_range", reason="compiled core not built")
    rng = np.random.default_rng(seed)
    g, n, k = int(rng.integers(1, 5)), int(rng.integers(0, 60)), int(rng.integers(1, 16))
    high, low, close, present = series(seed, g, n, gaps=float(rng.uniform(0, 0.6)))
    h = max(k - 1, 0)
    history = rng.uniform(0, 3, (g, h))
    lengths = rng.integers(0, h + 1, g).astype(np.int64)
    prev = np.where(rng.random(g) < 0.3, math.nan, 100.0)
    args = (high, low, close, present, history, lengths, prev, k)
    for a, b in zip(compiled.true_range_means(*args), pure_means(*args), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == np.float64:  # NaN where NaN, else the same bits
            assert np.array_equal(np.isnan(a), np.isnan(b))
            a, b = a[~np.isnan(a)].view(np.uint64), b[~np.isnan(b)].view(np.uint64)
        assert np.array_equal(a, b)
