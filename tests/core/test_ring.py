"""Bar ring buffer, rolling statistics and Wilder's average, in both implementations.

Every behaviour test runs against the implementation ``rsengine.core`` exports
(``active``) and against each twin by name (``pure``, ``compiled``). pandas'
rolling windows (and ``ewm`` for Wilder's average) are the independent reference
for the statistics; a hypothesis
test feeds identical random streams to both twins and requires the same output.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rsengine.core as core
from rsengine.core import _ring as compiled_ring
from rsengine.core.pure import ring as pure_ring
from rsengine.core.types import BAR_COLUMNS, BAR_DTYPES, BAR_FLOAT_COLUMNS, Bars

IMPLS = {"active": core, "pure": pure_ring, "compiled": compiled_ring}
ROW_BYTES = sum(np.dtype(d).itemsize for d in BAR_DTYPES.values())


@pytest.fixture(params=list(IMPLS))
def impl(request):
    return IMPLS[request.param]


def make_bars(n, start=0, seed=None):
    """n distinguishable bars; row i carries the number start + i in every column."""
    k = np.arange(start, start + n)
    cols = {
        "ts_open": k * 60,
        "ts_close": k * 60 + 60,
        "open": k + 0.25,
        "high": k + 0.75,
        "low": k + 0.0,
        "close": k + 0.5,
        "volume": k * 2.0,
        "vwap": k + 0.375,
        "trades": k * 3,
        "flags": k % 4,
    }
    if seed is not None:  # random floats, with NaN vwaps
        rng = np.random.default_rng(seed)
        for name in BAR_FLOAT_COLUMNS:
            cols[name] = rng.normal(5000, 10, n)
        cols["vwap"][rng.random(n) < 0.2] = np.nan
        cols["flags"] = rng.integers(0, 256, n)
    return Bars(**cols)


def append_rows(ring, bars):
    for i in range(len(bars)):
        ring.append(**bars.row(i))


def head(bars, n):
    return Bars(**{name: getattr(bars, name)[:n] for name in BAR_COLUMNS})


def expected_tail(bars, n):
    return Bars(**{name: getattr(bars, name)[len(bars) - n :] for name in BAR_COLUMNS})


def buffer_rows(ring):
    return ring.nbytes // ROW_BYTES


# ---------------------------------------------------------------------------
# which implementation is active


def test_core_exports_the_ring_classes_of_the_active_implementation():
    expected = compiled_ring if core.USING_EXTENSION else pure_ring
    assert core.BarRing is expected.BarRing
    assert core.RollingStats is expected.RollingStats
    assert core.RollingCorr is expected.RollingCorr
    assert core.WilderAverage is expected.WilderAverage


# ---------------------------------------------------------------------------
# BarRing


@pytest.mark.parametrize("capacity", [0, -1])
def test_ring_capacity_below_one_is_rejected(impl, capacity):
    with pytest.raises(ValueError, match="capacity"):
        impl.BarRing(capacity)


def test_new_ring_is_empty(impl):
    ring = impl.BarRing(5)
    assert (len(ring), ring.total, ring.capacity) == (0, 0, 5)
    assert ring.view().equals(Bars.empty())


def test_ring_keeps_every_bar_in_order_before_it_is_full(impl):
    ring = impl.BarRing(5)
    bars = make_bars(3)
    append_rows(ring, bars)
    assert ring.view().equals(bars)


def test_full_ring_drops_the_oldest_bar_and_stays_in_time_order(impl):
    ring = impl.BarRing(3)
    bars = make_bars(5)
    append_rows(ring, bars)
    assert list(ring.column("close")) == [2.5, 3.5, 4.5]
    assert ring.view().equals(expected_tail(bars, 3))


def test_len_is_capped_at_capacity_while_total_counts_every_append(impl):
    ring = impl.BarRing(4)
    append_rows(ring, make_bars(10))
    assert (len(ring), ring.total) == (4, 10)


def test_append_accepts_keyword_arguments_in_any_order(impl):
    ring = impl.BarRing(2)
    row = make_bars(1, start=7).row(0)
    ring.append(**dict(reversed(list(row.items()))))
    assert ring.view().row(0) == row


def test_view_columns_have_the_bar_dtypes(impl):
    ring = impl.BarRing(3)
    append_rows(ring, make_bars(2))
    view = ring.view()
    assert {name: getattr(view, name).dtype for name in BAR_COLUMNS} == {
        name: np.dtype(d) for name, d in BAR_DTYPES.items()
    }


def test_views_are_zero_copy_windows_of_one_storage(impl):
    ring = impl.BarRing(10)
    append_rows(ring, make_bars(6))
    full = ring.view()
    for name in BAR_COLUMNS:
        assert np.shares_memory(full.columns()[name], ring.column(name, 2))
        assert np.shares_memory(full.columns()[name], ring.view(1).columns()[name])


def test_column_views_before_and_after_an_append_share_storage(impl):
    ring = impl.BarRing(10)
    append_rows(ring, make_bars(2))
    before = ring.column("close")
    ring.append(**make_bars(1, start=2).row(0))
    assert np.shares_memory(before, ring.column("close"))


def test_views_are_read_only(impl):
    ring = impl.BarRing(3)
    append_rows(ring, make_bars(3))
    with pytest.raises(ValueError, match="read-only"):
        ring.column("close")[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ring.view().flags[0] = 1


def test_view_n_returns_the_last_n_bars_oldest_first(impl):
    ring = impl.BarRing(6)
    bars = make_bars(9)
    append_rows(ring, bars)
    assert ring.view(4).equals(expected_tail(bars, 4))
    assert list(ring.column("ts_close", 2)) == [480, 540]


def test_view_of_zero_bars_is_empty(impl):
    ring = impl.BarRing(3)
    append_rows(ring, make_bars(3))
    assert len(ring.view(0)) == 0
    assert len(ring.column("close", 0)) == 0


@pytest.mark.parametrize("n", [-1, 4])
def test_view_of_more_than_held_or_negative_n_is_rejected(impl, n):
    ring = impl.BarRing(5)
    append_rows(ring, make_bars(3))
    with pytest.raises(ValueError, match="n"):
        ring.view(n)
    with pytest.raises(ValueError, match="n"):
        ring.column("close", n)


def test_column_with_unknown_name_raises_keyerror_listing_valid_names(impl):
    ring = impl.BarRing(3)
    with pytest.raises(KeyError, match="ts_open.*flags"):
        ring.column("price")
    with pytest.raises(KeyError, match="volume"):
        ring.last("price")


def test_last_returns_the_newest_value_as_a_python_scalar(impl):
    ring = impl.BarRing(3)
    bars = make_bars(5)
    append_rows(ring, bars)
    for name in BAR_COLUMNS:
        value = ring.last(name)
        assert value == bars.row(4)[name]
        assert type(value) is type(bars.row(4)[name])


def test_last_on_empty_ring_raises_indexerror(impl):
    with pytest.raises(IndexError):
        impl.BarRing(3).last("close")


@pytest.mark.parametrize("capacity", [1, 2, 3, 4, 5, 8, 17])
def test_every_fill_level_across_several_compactions_views_the_last_rows(impl, capacity):
    ring = impl.BarRing(capacity)
    bars = make_bars(4 * buffer_rows(ring) + 3)
    for k in range(len(bars)):
        ring.append(**bars.row(k))
        held = min(k + 1, capacity)
        assert len(ring) == held
        assert ring.view().equals(expected_tail(head(bars, k + 1), held))


@pytest.mark.parametrize("extra", [-1, 0, 1, 2])
def test_appending_around_exactly_the_buffer_length_keeps_the_last_rows(impl, extra):
    ring = impl.BarRing(10)
    n = buffer_rows(ring) + extra  # the first compaction happens at append buffer_rows + 1
    bars = make_bars(n)
    append_rows(ring, bars)
    assert ring.view().equals(expected_tail(bars, 10))
    assert ring.view(1).row(0) == bars.row(n - 1)


def test_full_view_after_many_appends_equals_the_last_capacity_rows(impl):
    ring = impl.BarRing(100)
    bars = make_bars(10_007, seed=3)
    append_rows(ring, bars)
    assert ring.view().equals(expected_tail(bars, 100))
    assert ring.total == 10_007


@pytest.mark.parametrize("prefill", [0, 3, 7])
@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 15, 40])
def test_append_bars_equals_repeated_append(impl, prefill, n):
    by_rows, at_once = impl.BarRing(7), impl.BarRing(7)
    first = make_bars(prefill, seed=1)
    append_rows(by_rows, first)
    append_rows(at_once, first)
    bars = make_bars(n, start=prefill, seed=2)
    append_rows(by_rows, bars)
    at_once.append_bars(bars)
    assert at_once.view().equals(by_rows.view())
    assert (len(at_once), at_once.total) == (len(by_rows), by_rows.total)


def test_append_bars_with_ragged_columns_is_rejected_and_changes_nothing(impl):
    ring = impl.BarRing(5)
    append_rows(ring, make_bars(2))
    cols = make_bars(3).columns()
    cols["close"] = cols["close"][:2]
    with pytest.raises(ValueError, match="length"):
        ring.append_bars(Bars(**cols))
    assert ring.view().equals(make_bars(2)) and ring.total == 2


@pytest.mark.parametrize("flags", [256, -1])
def test_append_with_flags_outside_uint8_is_rejected_and_changes_nothing(impl, flags):
    ring = impl.BarRing(5)
    row = make_bars(1).row(0)
    with pytest.raises(OverflowError):
        ring.append(**{**row, "flags": flags})
    assert (len(ring), ring.total) == (0, 0)


def test_append_with_a_float_timestamp_is_rejected(impl):
    ring = impl.BarRing(5)
    with pytest.raises(TypeError):
        ring.append(**{**make_bars(1).row(0), "ts_close": 60.5})


def test_storage_holds_capacity_rows_and_at_most_half_as_many_again(impl):
    for capacity in (1, 2, 10, 1000):
        rows = buffer_rows(impl.BarRing(capacity))
        assert capacity < rows <= 1.5 * capacity + 1


def test_eight_rings_of_100k_bars_stay_under_100_mb(impl):
    assert 8 * impl.BarRing(100_000).nbytes < 100e6


# ---------------------------------------------------------------------------
# RollingStats


def pandas_stats(x, window):
    roll = pd.Series(x, dtype=float).rolling(window, min_periods=window)
    return roll.mean().to_numpy(), roll.std().to_numpy()


def assert_close_to(actual, expected, rtol=1e-9, atol=1e-12):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("window", [0, -3])
def test_stats_window_below_one_is_rejected(impl, window):
    with pytest.raises(ValueError, match="window"):
        impl.RollingStats(window)


def test_stats_are_nan_until_the_window_is_full(impl):
    stats = impl.RollingStats(3)
    counts = []
    for x in (1.0, 2.0):
        stats.update(x)
        counts.append(stats.count)
        assert math.isnan(stats.mean) and math.isnan(stats.std)
    stats.update(6.0)
    stats.update(7.0)
    assert counts == [1, 2] and stats.count == 3
    assert stats.mean == 5.0 and stats.std == pytest.approx(math.sqrt(7.0))


def test_stats_are_nan_while_a_nan_is_inside_the_window(impl):
    mean, std = impl.RollingStats(2).update_many([1.0, np.nan, 2.0, 3.0, 5.0])
    assert np.isnan(mean[:3]).all() and np.isnan(std[:3]).all()
    assert list(mean[3:]) == [2.5, 4.0]
    assert std[3:] == pytest.approx([math.sqrt(0.5), math.sqrt(2.0)])


def test_stats_window_one_gives_the_value_as_mean_and_nan_std(impl):
    mean, std = impl.RollingStats(1).update_many([3.5, -1.0, np.nan, 2.0])
    np.testing.assert_array_equal(mean, [3.5, -1.0, np.nan, 2.0])
    assert np.isnan(std).all()


def test_stats_of_a_constant_window_are_exact(impl):
    x = [5000.1, 4999.3, 5002.7] + [5000.25] * 4
    mean, std = impl.RollingStats(3).update_many(x)
    assert list(mean[-2:]) == [5000.25, 5000.25]
    assert list(std[-2:]) == [0.0, 0.0]


@pytest.mark.parametrize("window", [1, 2, 20])
def test_stats_match_pandas_on_random_data_with_nans(impl, window):
    rng = np.random.default_rng(window)
    x = rng.normal(size=3000)
    x[rng.random(3000) < 0.03] = np.nan
    mean, std = impl.RollingStats(window).update_many(x)
    want_mean, want_std = pandas_stats(x, window)
    assert_close_to(mean, want_mean)
    assert_close_to(std, want_std)


@pytest.mark.parametrize("window", [2, 20, 390])
def test_stats_match_pandas_on_a_long_price_random_walk(impl, window):
    rng = np.random.default_rng(7)
    x = 5000.0 + np.cumsum(rng.normal(0, 1.0, 100_000))
    mean, std = impl.RollingStats(window).update_many(x)
    want_mean, want_std = pandas_stats(x, window)
    assert_close_to(mean, want_mean)
    assert_close_to(std, want_std)


def exact_rolling_std(x, window):
    out = np.full(len(x), np.nan)
    out[window - 1 :] = np.lib.stride_tricks.sliding_window_view(x, window).std(axis=1, ddof=1)
    return out


def test_stats_match_an_exact_recomputation_on_tick_prices_with_flat_stretches(impl):
    # pandas (3.x) may report a drift of ~1e-6 instead of 0 on a flat window
    # here; the std must be exactly 0 there and match a two-pass std elsewhere.
    rng = np.random.default_rng(8)
    x = 5000.0 + np.round(np.cumsum(rng.normal(0, 0.3, 20_000)) * 4) / 4
    mean, std = impl.RollingStats(5).update_many(x)
    exact = exact_rolling_std(x, 5)
    assert (exact == 0).sum() > 50  # the data really has flat windows
    assert_close_to(std, exact)
    assert_close_to(mean, pandas_stats(x, 5)[0])


def test_stats_recover_precision_after_a_huge_variance_stretch(impl):
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.normal(size=500) * 1e9, 5000 + np.cumsum(rng.normal(size=500))])
    _, std = impl.RollingStats(20).update_many(x)
    assert_close_to(std, exact_rolling_std(x, 20))


def test_stats_update_and_update_many_agree_and_continue_each_other(impl):
    rng = np.random.default_rng(10)
    x = rng.normal(size=200)
    x[::17] = np.nan
    one, many = impl.RollingStats(7), impl.RollingStats(7)
    means, stds = [], []
    for value in x[:120]:
        one.update(value)
        means.append(one.mean)
        stds.append(one.std)
    m1, s1 = many.update_many(x[:50])
    m2, s2 = many.update_many(list(x[50:120]))
    np.testing.assert_array_equal(np.concatenate([m1, m2]), means)
    np.testing.assert_array_equal(np.concatenate([s1, s2]), stds)
    np.testing.assert_array_equal([many.mean, many.std, many.count], [one.mean, one.std, one.count])


def test_stats_update_many_returns_float64_arrays_and_rejects_2d(impl):
    mean, std = impl.RollingStats(2).update_many([1, 2, 4])
    assert mean.dtype == std.dtype == np.float64 and len(mean) == 3
    with pytest.raises(ValueError, match="1-D"):
        impl.RollingStats(2).update_many(np.ones((2, 2)))


# ---------------------------------------------------------------------------
# RollingCorr


def pandas_corr(x, y, window):
    out = pd.Series(x).rolling(window, min_periods=window).corr(pd.Series(y)).to_numpy().copy()
    out[~np.isfinite(out)] = np.nan  # zero variance: pandas gives NaN or +-inf, we give NaN
    return out


@pytest.mark.parametrize("window", [0, -1])
def test_corr_window_below_one_is_rejected(impl, window):
    with pytest.raises(ValueError, match="window"):
        impl.RollingCorr(window)


def test_corr_is_nan_until_the_window_is_full(impl):
    corr = impl.RollingCorr(3)
    assert math.isnan(corr.update(1.0, 2.0))
    assert math.isnan(corr.update(2.0, 1.0))
    assert corr.update(3.0, 5.0) == pytest.approx(
        pd.Series([1, 2, 3.0]).corr(pd.Series([2, 1, 5.0]))
    )


def test_corr_of_linear_series_is_exactly_plus_or_minus_one(impl):
    x = np.arange(50.0)
    assert (impl.RollingCorr(10).update_many(x, 3 * x + 1)[9:] == 1.0).all()
    assert (impl.RollingCorr(10).update_many(x, -2 * x)[9:] == -1.0).all()


def test_corr_window_one_is_always_nan(impl):
    assert np.isnan(impl.RollingCorr(1).update_many([1.0, 2.0, 3.0], [3.0, 1.0, 2.0])).all()


def test_corr_is_nan_while_either_series_has_a_nan_in_the_window(impl):
    x = [1.0, 2.0, np.nan, 4.0, 5.0, 7.0, 8.0]
    y = [2.0, 1.0, 3.0, 4.0, np.nan, 6.0, 9.0]
    out = impl.RollingCorr(2).update_many(x, y)
    assert out[1] == pytest.approx(-1.0) and out[6] == pytest.approx(1.0)
    assert np.isnan(out[2:6]).all()


def test_corr_of_a_constant_series_is_nan(impl):
    x = [1.0, 3.0, 2.0, 2.0, 2.0, 2.0]
    y = [1.0, 2.0, 5.0, 3.0, 4.0, 7.0]
    out = impl.RollingCorr(3).update_many(x, y)
    assert not np.isnan(out[2]) and np.isnan(out[4:]).all()
    assert np.isnan(impl.RollingCorr(3).update_many(y, x)[4:]).all()


@pytest.mark.parametrize("window", [1, 2, 20])
def test_corr_matches_pandas_on_random_data_with_nans(impl, window):
    rng = np.random.default_rng(20 + window)
    x, y = rng.normal(size=3000), rng.normal(size=3000)
    x[rng.random(3000) < 0.02] = np.nan
    y[rng.random(3000) < 0.02] = np.nan
    np.testing.assert_allclose(
        impl.RollingCorr(window).update_many(x, y),
        pandas_corr(x, y, window),
        atol=1e-9,
        equal_nan=True,
    )


@pytest.mark.parametrize("window", [2, 20, 390])
def test_corr_matches_pandas_on_long_correlated_random_walk_returns(impl, window):
    rng = np.random.default_rng(30)
    common = rng.normal(0, 1.0, 100_000)
    es = 5000 + np.cumsum(common + rng.normal(0, 0.5, 100_000))
    nq = 18000 + np.cumsum(3 * common + rng.normal(0, 2.0, 100_000))
    x, y = np.diff(np.log(es)), np.diff(np.log(nq))
    got = impl.RollingCorr(window).update_many(x, y)
    want = pandas_corr(x, y, window)
    np.testing.assert_allclose(got, want, atol=1e-9, equal_nan=True)
    if window > 2:
        assert 0.5 < np.nanmean(got) < 0.99


def test_corr_recovers_precision_after_a_huge_variance_stretch(impl):
    rng = np.random.default_rng(50)
    x = np.concatenate([1e10 + rng.normal(size=500) * 1e8, 5000 + np.cumsum(rng.normal(size=500))])
    y = rng.normal(size=1000)
    got = impl.RollingCorr(20).update_many(x, y)
    xs = np.lib.stride_tricks.sliding_window_view(x, 20)
    ys = np.lib.stride_tricks.sliding_window_view(y, 20)
    dx = xs - xs.mean(axis=1, keepdims=True)
    dy = ys - ys.mean(axis=1, keepdims=True)
    exact = (dx * dy).sum(axis=1) / np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    np.testing.assert_allclose(got[19:], exact, atol=1e-9)


def test_corr_update_returns_the_same_values_as_update_many(impl):
    rng = np.random.default_rng(40)
    x, y = rng.normal(size=100), rng.normal(size=100)
    x[::13] = np.nan
    one = impl.RollingCorr(5)
    singles = [one.update(a, b) for a, b in zip(x, y, strict=True)]
    np.testing.assert_array_equal(impl.RollingCorr(5).update_many(x, y), singles)


def test_corr_update_many_with_different_lengths_names_both(impl):
    with pytest.raises(ValueError, match="3.*2"):
        impl.RollingCorr(2).update_many([1.0, 2.0, 3.0], [1.0, 2.0])


# ---------------------------------------------------------------------------
# WilderAverage


def pandas_wilder(x, period):
    """Independent Wilder average: NaNs dropped, seed = mean of the first ``period``
    values, then pandas ``ewm(alpha=1/period, adjust=False)``; NaN inputs keep the
    previous value (forward fill)."""
    s = pd.Series(x, dtype=float)
    valid = s.dropna()
    out = pd.Series(np.nan, index=s.index)
    if len(valid) >= period:
        seed = pd.Series([valid.iloc[:period].mean()], index=valid.index[period - 1 : period])
        tail = pd.concat([seed, valid.iloc[period:]])
        out[tail.index] = tail.ewm(alpha=1 / period, adjust=False).mean()
    return out.ffill().to_numpy()


@pytest.mark.parametrize("period", [0, -1, -14])
def test_wilder_period_below_one_is_rejected_with_the_period_named(impl, period):
    with pytest.raises(ValueError, match=rf"period must be >= 1, got {period}"):
        impl.WilderAverage(period)


@pytest.mark.parametrize("period", [2.5, "14", None])
def test_wilder_period_must_be_an_integer(impl, period):
    with pytest.raises(TypeError):
        impl.WilderAverage(period)


def test_wilder_is_nan_until_period_values_then_their_mean_then_smoothed(impl):
    avg = impl.WilderAverage(3)
    assert (avg.period, avg.count) == (3, 0) and math.isnan(avg.value)
    assert math.isnan(avg.update(1.0))
    assert math.isnan(avg.update(2.0))
    assert avg.update(6.0) == 3.0
    assert avg.update(9.0) == 5.0  # 3 + (9 - 3) / 3
    assert avg.update(2.0) == 4.0  # 5 + (2 - 5) / 3
    assert (avg.count, avg.value) == (5, 4.0)


def test_wilder_skips_nan_and_infinite_inputs(impl):
    out = impl.WilderAverage(2).update_many(
        [np.nan, 4.0, np.inf, 8.0, np.nan, -np.inf, 2.0, np.nan]
    )
    np.testing.assert_array_equal(out, [np.nan, np.nan, np.nan, 6.0, 6.0, 6.0, 4.0, 4.0])


def test_wilder_count_is_the_number_of_finite_inputs(impl):
    avg = impl.WilderAverage(14)
    avg.update_many([1.0, np.nan, 2.0, np.inf, 3.0])
    assert avg.count == 3


def test_wilder_period_one_follows_the_last_finite_input(impl):
    out = impl.WilderAverage(1).update_many([3.5, np.nan, -1.0, 2.0])
    np.testing.assert_array_equal(out, [3.5, 3.5, -1.0, 2.0])


@pytest.mark.parametrize("period", [1, 2, 14, 50])
def test_wilder_matches_seeded_pandas_ewm_on_true_ranges_with_nans(impl, period):
    rng = np.random.default_rng(60 + period)
    x = rng.gamma(2.0, 10.0, 5000)  # true-range-like: positive, skewed
    x[rng.random(5000) < 0.05] = np.nan
    np.testing.assert_allclose(
        impl.WilderAverage(period).update_many(x),
        pandas_wilder(x, period),
        rtol=1e-12,
        atol=0,
        equal_nan=True,
    )


def test_wilder_matches_seeded_pandas_ewm_on_rsi_gains_and_losses(impl):
    rng = np.random.default_rng(61)
    change = np.diff(5000.0 + np.round(np.cumsum(rng.normal(0, 2.0, 20_000)) * 4) / 4)
    for series in (np.clip(change, 0, None), np.clip(-change, 0, None)):
        np.testing.assert_allclose(
            impl.WilderAverage(14).update_many(series),
            pandas_wilder(series, 14),
            rtol=1e-12,
            atol=0,
            equal_nan=True,
        )


def test_wilder_update_and_update_many_agree_and_continue_each_other(impl):
    rng = np.random.default_rng(62)
    x = rng.normal(100, 5, 300)
    x[::11] = np.nan
    one, many = impl.WilderAverage(14), impl.WilderAverage(14)
    singles = [one.update(v) for v in x]
    batched = np.concatenate([many.update_many(x[:7]), many.update_many(list(x[7:]))])
    np.testing.assert_array_equal(batched, singles)
    assert (many.count, many.value) == (one.count, one.value)


def test_wilder_update_many_returns_float64_and_rejects_2d(impl):
    out = impl.WilderAverage(2).update_many([1, 2, 4])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [np.nan, 1.5, 2.75])
    with pytest.raises(ValueError, match="1-D"):
        impl.WilderAverage(2).update_many(np.ones((2, 2)))


# ---------------------------------------------------------------------------
# parity: identical random streams into both twins

values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6),
    st.just(math.nan),
    st.sampled_from([0.0, 1.0, 5000.25]),  # repeats make flat windows
)
chunks = st.lists(st.lists(values, max_size=30), max_size=8)


def feed_stats(module, window, parts):
    stats = module.RollingStats(window)
    means, stds = [], []
    for i, part in enumerate(parts):
        if i % 2:  # alternate one-value updates and batches
            for x in part:
                stats.update(x)
                means.append(stats.mean)
                stds.append(stats.std)
        else:
            m, s = stats.update_many(part)
            means.extend(m)
            stds.extend(s)
    return np.array(means, dtype=float), np.array(stds, dtype=float), stats.count


@settings(max_examples=300, deadline=None)
@given(window=st.integers(1, 12), parts=chunks)
def test_stats_twins_agree_on_random_streams(window, parts):
    pm, ps, pc = feed_stats(pure_ring, window, parts)
    cm, cs, cc = feed_stats(compiled_ring, window, parts)
    assert pc == cc
    np.testing.assert_allclose(cm, pm, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(cs, ps, rtol=1e-12, atol=1e-12, equal_nan=True)


def feed_corr(module, window, parts):
    corr = module.RollingCorr(window)
    out = []
    for i, part in enumerate(parts):
        x = [a for a, _ in part]
        y = [b for _, b in part]
        if i % 2:
            out.extend(corr.update(a, b) for a, b in part)
        else:
            out.extend(corr.update_many(x, y))
    return np.array(out, dtype=float)


@settings(max_examples=300, deadline=None)
@given(
    window=st.integers(1, 12),
    parts=st.lists(st.lists(st.tuples(values, values), max_size=30), max_size=8),
)
def test_corr_twins_agree_on_random_streams(window, parts):
    np.testing.assert_allclose(
        feed_corr(compiled_ring, window, parts),
        feed_corr(pure_ring, window, parts),
        rtol=1e-12,
        atol=1e-12,
        equal_nan=True,
    )


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 9),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 25), st.integers(0, 2**32)), max_size=20),
)
def test_ring_twins_agree_on_random_bar_streams(capacity, ops):
    rings = [pure_ring.BarRing(capacity), compiled_ring.BarRing(capacity)]
    start = 0
    for batch, n, seed in ops:
        bars = make_bars(n, start=start, seed=seed)
        start += n
        for ring in rings:
            if batch:
                ring.append_bars(bars)
            else:
                append_rows(ring, bars)
        pure, compiled = rings
        assert (len(pure), pure.total) == (len(compiled), compiled.total)
        assert pure.view().equals(compiled.view())
        assert pure.nbytes == compiled.nbytes


def feed_wilder(module, period, parts):
    avg = module.WilderAverage(period)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.extend(avg.update(x) for x in part)
        else:
            out.extend(avg.update_many(part))
    return np.array(out, dtype=float), avg.count, avg.value


@settings(max_examples=300, deadline=None)
@given(
    period=st.integers(1, 20),
    parts=st.lists(
        st.lists(st.one_of(values, st.sampled_from([math.inf, -math.inf, 1e300])), max_size=30),
        max_size=8,
    ),
)
def test_wilder_twins_agree_bit_for_bit_on_random_streams(period, parts):
    pure_out, pure_count, pure_value = feed_wilder(pure_ring, period, parts)
    comp_out, comp_count, comp_value = feed_wilder(compiled_ring, period, parts)
    np.testing.assert_array_equal(comp_out, pure_out)  # NaN == NaN, otherwise exact
    assert comp_count == pure_count
    assert comp_value == pure_value or (math.isnan(comp_value) and math.isnan(pure_value))
