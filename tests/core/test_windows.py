"""The setups' batch kernels (rsengine.core floor_holds, window_sums,
lagged_changes, others_mean): against pandas over the whole series, whatever
the batch cuts, and the compiled twin equal to the pure one bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rsengine.core import (
    USING_EXTENSION,
    empty_change_carry,
    empty_floor_carry,
    empty_sum_carry,
    floor_holds,
    lagged_changes,
    others_mean,
    window_sums,
)
from rsengine.core.pure import windows as pure

CUTS = [(), (1,), (2, 3, 4), (7,), (1, 2, 50, 51), tuple(range(5, 120, 9))]


def series(seed: int, g: int = 3, n: int = 120, gaps: float = 0.3, holes: float = 0.05):
    rng = np.random.default_rng(seed)
    values = 100 + np.cumsum(rng.normal(0, 1, (g, n)), axis=1)
    values[rng.random((g, n)) < holes] = math.nan  # a bar without a value
    values[:, :2] = math.nan  # the first bars have none (a lead before its prior close)
    on = rng.random((g, n)) >= gaps
    return values, on


def run(fn, carry, values, on, k, cuts):
    """``fn``'s outputs on every row, the batch cut at ``cuts``, carry kept."""
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, values.shape[1]], strict=True):
        *out, carry = fn(values[:, lo:hi], on[:, lo:hi], carry, k)
        parts.append(out)
    return [np.concatenate(x, axis=1) for x in zip(*parts, strict=True)]


def pandas_changes(values, on, lag):
    """Each series' change over its last ``lag`` bars, held on the rows between."""
    out = np.full(values.shape, math.nan)
    for j in range(len(values)):
        bars = pd.Series(values[j]).where(on[j])
        steps = bars[on[j]].diff(lag)  # over the bars only
        out[j] = steps.reindex(bars.index).ffill().to_numpy()
    return out


def pandas_floors(values, on, k):
    floor = np.full(values.shape, math.nan)
    held = np.zeros(values.shape, bool)
    for j in range(len(values)):
        bars = pd.Series(values[j][on[j]])
        low = bars.cummin().ffill()
        holds = bars.rolling(k).min() >= low.shift(k)
        floor[j, on[j]] = low.to_numpy()
        held[j, on[j]] = holds.to_numpy()
    return floor, held


def pandas_sums(values, on, k):
    recent = np.full(values.shape, math.nan)
    before = np.full(values.shape, math.nan)
    for j in range(len(values)):
        sums = pd.Series(values[j][on[j]]).rolling(k).sum()
        recent[j, on[j]] = sums.where(sums.index >= 2 * k - 1).to_numpy()
        before[j, on[j]] = sums.shift(k).to_numpy()
    return recent, before


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("cuts", CUTS)
def test_floor_holds_equal_pandas_whatever_the_cut(k, cuts):
    values, on = series(k)
    floor, held = run(floor_holds, empty_floor_carry(3, k), values, on, k, cuts)
    want_floor, want_held = pandas_floors(values, on, k)
    np.testing.assert_array_equal(floor, want_floor)
    np.testing.assert_array_equal(held, want_held)
    assert held.any() and not held.all()  # the data reach both answers


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("cuts", CUTS)
def test_window_sums_equal_pandas_whatever_the_cut(k, cuts):
    rng = np.random.default_rng(k)
    volume = rng.integers(0, 500, (3, 120)).astype(float)  # whole numbers: sums exact
    _, on = series(k)
    recent, before = run(window_sums, empty_sum_carry(3, k), volume, on, k, cuts)
    want_recent, want_before = pandas_sums(volume, on, k)
    np.testing.assert_array_equal(recent, want_recent)
    np.testing.assert_array_equal(before, want_before)
    assert np.isfinite(recent).sum() == sum(max(int(r.sum()) - 2 * k + 1, 0) for r in on)


@pytest.mark.parametrize("lag", [1, 3, 4])
@pytest.mark.parametrize("cuts", CUTS)
def test_lagged_changes_equal_pandas_whatever_the_cut(lag, cuts):
    values, on = series(20 + lag, holes=0.0)
    values[:, :2] = 1.0
    got = run(lagged_changes, empty_change_carry(3, lag), values, on, lag, cuts)[0]
    want = pandas_changes(values, on, lag)
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).any() and np.isnan(got).any()


def test_a_lagged_change_is_held_on_the_rows_without_a_bar():
    values = np.array([[1.0, 2.0, 99.0, 4.0, 99.0, 99.0]])
    on = np.array([[True, True, False, True, False, False]])
    change, carry = lagged_changes(values, on, empty_change_carry(1, 2), 2)
    assert np.isnan(change[0, :3]).all()  # fewer than lag + 1 bars
    assert change.tolist()[0][3:] == [3.0, 3.0, 3.0]  # 4 - 1, two bars back
    later, _ = lagged_changes(np.array([[np.nan, 10.0]]), np.array([[False, True]]), carry, 2)
    assert later.tolist() == [[3.0, 8.0]]  # carried: the change of the last bar, then 10 - 2


def test_others_mean_equals_pandas_leaving_nan_members_out():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (4, 300))
    x[rng.random(x.shape) < 0.3] = math.nan
    frame = pd.DataFrame(x.T)
    want = np.column_stack([frame.drop(columns=j).mean(axis=1).to_numpy() for j in range(4)]).T
    got = others_mean(x)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert np.array_equal(np.isnan(got), np.isnan(want))


def test_the_floor_at_a_boundary_value_holds_and_a_new_low_breaks_it():
    # bars 0..5: 10, 9, 9.5, 9, 9.25, 8.75 with k = 2: bar 3 touches the floor 9
    values = np.array([[10, 9, 9.5, 9, 9.25, 8.75, 9.0, 9.1]])
    on = np.ones_like(values, bool)
    floor, held, _ = floor_holds(values, on, empty_floor_carry(1, 2), 2)
    assert floor.tolist() == [[10, 9, 9, 9, 9, 8.75, 8.75, 8.75]]
    # bar 2: 9, 9.5 vs floor at bar 0 (10): below; bar 3: 9.5, 9 >= 9 (equal holds)
    assert held.tolist() == [[False, False, False, True, True, False, False, True]]


def test_rows_that_are_not_bars_are_nan_and_do_not_count():
    values = np.array([[5.0, 1.0, 4.0, 3.0, 6.0]])
    on = np.array([[True, False, True, True, True]])
    floor, held, carry = floor_holds(values, on, empty_floor_carry(1, 1), 1)
    assert math.isnan(floor[0, 1]) and not held[0, 1]
    assert floor[0].tolist()[2:] == [4.0, 3.0, 3.0]  # the 1.0 off the bars never counts
    assert carry[0].tolist() == [4]


@pytest.mark.skipif(not USING_EXTENSION, reason="the compiled core is not built")
@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("cuts", CUTS)
def test_compiled_equals_pure_bit_for_bit(k, cuts):
    values, on = series(10 + k, g=5, gaps=0.1)
    for fast, slow, carry in (
        (floor_holds, pure.floor_holds, empty_floor_carry(5, k)),
        (window_sums, pure.window_sums, empty_sum_carry(5, k)),
        (lagged_changes, pure.lagged_changes, empty_change_carry(5, k)),
    ):
        got = run(fast, carry, values, on, k, cuts)
        want = run(slow, carry, values, on, k, cuts)
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype
            assert a.tobytes() == b.tobytes()
    assert others_mean(values).tobytes() == pure.others_mean(values).tobytes()
