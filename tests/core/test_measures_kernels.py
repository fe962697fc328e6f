"""The measures' batch kernels (rsengine.core bar_moves, finish_series):
against pandas, and the compiled twin equal to the pure one bit for bit
(signed zeros and NaN included)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rsengine.core import USING_EXTENSION, bar_moves, finish_series
from rsengine.core.pure import measures as pure


def closes(seed: int, n: int = 300, k: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = np.round(100 + np.cumsum(rng.normal(0, 0.5, (n, k)), axis=0), 2)
    c[rng.random((n, k)) < 0.2] = np.roll(c, 1, axis=0)[rng.random((n, k)) < 0.2][:1]  # flat bars
    c[rng.random((n, k)) < 0.03] = math.nan
    return c


def inputs(seed: int, n: int = 250, k: int = 3):
    """What Measures._series hands over: rolling means of p * volume and of
    volume (the previous one first), volumes, Wilder averages, closes."""
    rng = np.random.default_rng(seed)
    volume = rng.integers(0, 50, (n + 20, k)).astype(float)
    vmeans = pd.DataFrame(volume).rolling(20).mean().to_numpy()[19:].copy()  # (n + 1, k)
    vmeans[rng.random(vmeans.shape) < 0.02] = 0.0
    pv = volume * (100 + rng.normal(0, 1, volume.shape))
    values = np.empty((5, n, k))
    values[0] = pd.DataFrame(pv).rolling(20).mean().to_numpy()[20:]
    values[2] = vmeans[1:]
    moves = np.abs(rng.normal(0, 1, (2, n, k)))
    moves[:, rng.random((n, k)) < 0.1] = 0.0  # both zero: rsi 50
    moves[0, rng.random((n, k)) < 0.05] = math.nan
    c = closes(seed, n + 10, k)
    return values, vmeans[1:], vmeans, volume[20:], volume[:n], moves, c[10:], c[:n]


def test_bar_moves_are_pandas_clipped_changes():
    c = closes(1)
    diff = pd.DataFrame(c).diff()
    got = bar_moves(c[1:], c[:-1])
    np.testing.assert_array_equal(got[0], diff.clip(lower=0).to_numpy()[1:])
    np.testing.assert_array_equal(got[1], (-diff).clip(lower=0).to_numpy()[1:])
    assert not np.signbit(got[~np.isnan(got)]).any()  # a flat bar is +0.0 both ways
    assert (got == 0).any() and np.isnan(got).any()


def test_finish_series_equals_pandas_formulas():
    values, v20, vmeans, volume, back, moves, close, base = inputs(2)
    pv_mean = values[0].copy()
    expanding = finish_series(values, v20, vmeans, volume, back, moves, close, base)
    prev = pd.DataFrame(vmeans[:-1])
    total = moves[0] + moves[1]
    want_rsi = np.where(total == 0, 50.0, 100 * moves[0] / np.where(total == 0, 1, total))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(values[0], pv_mean / v20)
    np.testing.assert_array_equal(values[1], want_rsi)
    np.testing.assert_array_equal(values[3], (pd.DataFrame(volume) / prev.where(prev > 0)))
    np.testing.assert_array_equal(values[4], pd.DataFrame(close).sub(base).div(base) * 100)
    finite = np.isfinite(vmeans)
    np.testing.assert_array_equal(expanding, (volume > back) & finite[1:] & finite[:-1])
    assert expanding.any() and not expanding.all() and (values[1] == 50).any()


@pytest.mark.skipif(not USING_EXTENSION, reason="compiled core not built")
@pytest.mark.parametrize("seed", range(4))
def test_compiled_equals_pure_bit_for_bit(seed):
    c = closes(10 + seed)
    got, want = bar_moves(c[1:], c[:-1]), pure.bar_moves(c[1:], c[:-1])
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    args = inputs(20 + seed)
    mine, theirs = args[0].copy(), args[0].copy()
    a = finish_series(mine, *args[1:])
    b = pure.finish_series(theirs, *args[1:])
    np.testing.assert_array_equal(a, b)
    for plane in (0, 1, 3, 4):  # vol_mean20 (2) is the caller's
        assert np.array_equal(mine[plane], theirs[plane], equal_nan=True)
        assert np.array_equal(np.signbit(mine[plane]), np.signbit(theirs[plane]))
    strided = np.empty((5, len(args[1]) + 1, 3))[:, 1:]  # the plugin's layout
    strided[...] = args[0]
    finish_series(strided, *args[1:])
    assert np.array_equal(strided[[0, 1, 3, 4]], mine[[0, 1, 3, 4]], equal_nan=True)
