"""SliceAssembler.poll_batch / finish_batch: the ready slices as one SliceBatch.

A batch must hold exactly what ``SliceBatch.from_slices(poll())`` would, with
the counters advanced the same way. Every test runs against both twins; a
hypothesis test replays random feeds through poll and through poll_batch
(mixed with poll in the same assembler) and requires the same output, and the
compiled batches to equal the pure ones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsengine.core import _slices as compiled_slices
from rsengine.core.pure import slices as pure_slices
from rsengine.core.types import (
    BAR_DTYPES,
    BAR_FLOAT_COLUMNS,
    SLICE_COLUMNS,
    SLICE_DTYPES,
    Bars,
    SliceBatch,
)

MIN = 60 * 1_000_000_000
T0 = 1_740_960_000 * 10**9 + 15 * 60 * MIN  # 2025-03-03 15:00 UTC
SYMBOLS = ("ES", "NQ", "RTY")
COUNTERS = ("pending", "emitted", "missing_count", "late_bars")


@pytest.fixture(params=[pure_slices, compiled_slices], ids=["pure", "compiled"])
def mod(request):
    return request.param


def t(minute: int) -> int:
    return T0 + minute * MIN


def bars(*ts_closes: int, price: float = 100.0) -> Bars:
    ts = np.asarray(ts_closes, np.int64)
    p = price + np.arange(len(ts), dtype=np.float64)
    return Bars(
        ts_open=ts - MIN,
        ts_close=ts,
        open=p,
        high=p + 1,
        low=p - 1,
        close=p + 0.5,
        volume=np.full(len(ts), 10.0),
        vwap=p + 0.25,
        trades=np.arange(len(ts)) + 1,
        flags=np.arange(len(ts)) % 3,
    )


def assert_same_batch(got: SliceBatch, want: SliceBatch) -> None:
    """Same symbols, stamps, shapes, dtypes and values (NaN equal to NaN)."""
    assert got.symbols == want.symbols
    assert got.ts_close.dtype == np.int64 and got.ts_close.shape == want.ts_close.shape
    np.testing.assert_array_equal(got.ts_close, want.ts_close)
    for name in SLICE_COLUMNS:
        g, w = getattr(got, name), getattr(want, name)
        assert g.dtype == SLICE_DTYPES[name], name
        assert g.shape == w.shape == (len(want), len(want.symbols)), name
        assert np.array_equal(g, w, equal_nan=name in BAR_FLOAT_COLUMNS), name


def counters(a) -> tuple:
    return tuple(getattr(a, c) for c in COUNTERS)


def feed(a) -> None:
    """ES 10 bars, NQ every other one, RTY silent: 10 pending slices."""
    a.push(0, bars(*(t(m) for m in range(10)), price=5000))
    a.push(1, bars(*(t(m) for m in range(0, 10, 2)), price=18000))


# ------------------------------------------------------------------- basics


def test_empty_batch_has_zero_rows_and_one_column_per_symbol(mod):
    a = mod.SliceAssembler(SYMBOLS)
    for batch in (a.poll_batch(), a.poll_batch(t(5)), a.finish_batch()):
        assert len(batch) == 0
        assert_same_batch(batch, SliceBatch.empty(SYMBOLS))
    assert counters(a) == (0, 0, 0, 0)


def test_poll_batch_holds_the_complete_slices_in_ts_close_order(mod):
    a = mod.SliceAssembler(SYMBOLS)
    feed(a)
    a.mark_through(2, t(3))
    batch = a.poll_batch()  # NQ reported through t(8), RTY through t(3)
    np.testing.assert_array_equal(batch.ts_close, [t(0), t(1), t(2), t(3)])
    np.testing.assert_array_equal(batch.present, [[True, True, False], [True, False, False]] * 2)
    np.testing.assert_array_equal(batch.close[:, 0], 5000.5 + np.arange(4))
    np.testing.assert_array_equal(batch.close[::2, 1], [18000.5, 18001.5])
    missing = ~batch.present
    assert np.isnan(batch.close[missing]).all() and np.isnan(batch.vwap[missing]).all()
    assert (batch.ts_open[missing] == -1).all()
    assert (batch.trades[missing] == 0).all() and (batch.flags[missing] == 0).all()
    assert counters(a) == (6, 4, 6, 0)


def test_poll_batch_with_a_clock_releases_overdue_slices(mod):
    a = mod.SliceAssembler(SYMBOLS, grace_ns=MIN)
    feed(a)
    assert len(a.poll_batch(t(4) + MIN - 1)) == 4
    np.testing.assert_array_equal(a.poll_batch(t(5) + MIN).ts_close, [t(4), t(5)])


def test_finish_batch_flushes_every_pending_slice(mod):
    a = mod.SliceAssembler(SYMBOLS)
    feed(a)
    a.poll_batch(t(2))
    batch = a.finish_batch()
    np.testing.assert_array_equal(batch.ts_close, [t(m) for m in range(3, 10)])
    assert counters(a) == (0, 10, 10 + 5, 0)
    assert len(a.finish_batch()) == 0


@pytest.mark.parametrize("how", ["poll", "finish"])
def test_batch_equals_stacked_slices_and_counters_advance_alike(mod, how):
    sliced, batched = mod.SliceAssembler(SYMBOLS), mod.SliceAssembler(SYMBOLS)
    for a in (sliced, batched):
        feed(a)
        a.mark_through(2, t(6))
    if how == "poll":
        want, got = sliced.poll(), batched.poll_batch()
    else:
        want, got = sliced.finish(), batched.finish_batch()
    assert_same_batch(got, SliceBatch.from_slices(want, SYMBOLS))
    assert counters(batched) == counters(sliced)


def test_bar_at_or_before_a_batched_slice_is_late(mod):
    a = mod.SliceAssembler(SYMBOLS)
    feed(a)
    a.poll_batch(t(4))
    a.push(2, bars(t(4), t(5)))
    assert a.late_bars == 1
    (late,) = a.take_late()
    assert late[0] == 2 and late[1].ts_close.tolist() == [t(4)]
    assert a.finish_batch().present[0].tolist() == [True, False, True]


def test_batch_is_not_changed_by_later_pushes_reusing_the_storage(mod):
    a = mod.SliceAssembler(SYMBOLS)
    feed(a)
    first = a.finish_batch()
    kept = {n: getattr(first, n).copy() for n in SLICE_COLUMNS}
    for m in range(10, 60):  # reuses and grows whatever holds pending slices
        a.push(m % 3, bars(t(m), price=-m))
        a.poll_batch(t(m))
    for n, col in kept.items():
        assert np.array_equal(getattr(first, n), col, equal_nan=n in BAR_FLOAT_COLUMNS), n


def test_large_batch_matches_stacked_slices(mod):
    sliced, batched = mod.SliceAssembler(SYMBOLS), mod.SliceAssembler(SYMBOLS)
    rng = np.random.default_rng(1)
    for i in range(len(SYMBOLS)):
        ts = np.flatnonzero(rng.random(3000) < 0.9)
        b = bars(*(t(int(m)) for m in ts), price=1000.0 * (i + 1))
        for a in (sliced, batched):
            a.push(i, b)
    assert_same_batch(batched.poll_batch(), SliceBatch.from_slices(sliced.poll(), SYMBOLS))
    assert_same_batch(batched.finish_batch(), SliceBatch.from_slices(sliced.finish(), SYMBOLS))
    assert counters(batched) == counters(sliced)


# ------------------------------------------------------- parity (hypothesis)

VALUE = st.one_of(st.integers(-(10**6), 10**6).map(lambda x: x / 8), st.just(math.nan))


@st.composite
def stream(draw):
    ts = [10 * k for k in sorted(draw(st.sets(st.integers(0, 40), max_size=12)))]
    m = len(ts)

    def column(elements):
        return draw(st.lists(elements, min_size=m, max_size=m))

    cols = {
        "ts_open": [x - d for x, d in zip(ts, column(st.integers(1, 10)), strict=True)],
        "ts_close": ts,
        **{name: column(VALUE) for name in BAR_FLOAT_COLUMNS},
        "trades": column(st.integers(0, 1000)),
        "flags": column(st.integers(0, 3)),
    }
    return Bars(**{name: np.array(v, BAR_DTYPES[name]) for name, v in cols.items()})


@st.composite
def scenario(draw):
    """Symbols, grace and a list of calls: pushes of random chunks, marks, polls.

    A poll carries a clock (or None) and whether to poll by batch; whatever
    bars the drawn pushes leave over are pushed before the final flush.
    """
    n = draw(st.integers(1, 4))
    streams = [draw(stream()) for _ in range(n)]
    grace = draw(st.integers(0, 30))
    times = sorted({x for b in streams for x in b.ts_close.tolist()}) or [0]
    clock = st.one_of(
        st.builds(lambda x, d: x + grace + d, st.sampled_from(times), st.integers(-1, 1)),
        st.integers(-10, 450),
    )
    calls = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("push"), st.integers(0, n - 1), st.integers(1, 12)),
                st.tuples(st.just("poll"), st.one_of(st.none(), clock), st.booleans()),
                st.tuples(st.just("mark"), st.integers(0, n - 1), clock),
            ),
            max_size=40,
        )
    )
    cursor = [0] * n
    ops = []

    def push(i, k):
        chunk = Bars(**{c: v[cursor[i] : cursor[i] + k] for c, v in streams[i].columns().items()})
        ops.append(("push", i, chunk))
        cursor[i] += k

    for call in calls:
        if call[0] == "push":
            k = min(call[2], len(streams[call[1]]) - cursor[call[1]])
            if k:
                push(call[1], k)
        else:
            ops.append(call)
    for i in range(n):
        if cursor[i] < len(streams[i]):
            push(i, len(streams[i]) - cursor[i])
    return tuple(f"S{i}" for i in range(n)), grace, ops, draw(st.booleans())


def run(mod, symbols, grace, ops, finish_by_batch, batches: str):
    """Feed ``ops``; per poll/finish, the output as a batch, plus the counters after it.

    ``batches`` is "never" (poll/finish, stacked here), "always", or "drawn"
    (each poll's own flag; the finish by ``finish_by_batch``).
    """
    a = mod.SliceAssembler(symbols, grace_ns=grace)
    trace = []

    def by_batch(flag: bool) -> bool:
        return {"never": False, "always": True, "drawn": flag}[batches]

    for op in ops:
        if op[0] == "push":
            a.push(op[1], op[2])
            trace.append(([(i, b.ts_close.tolist()) for i, b in a.take_late()], counters(a)))
        elif op[0] == "mark":
            a.mark_through(op[1], op[2])
        elif by_batch(op[2]):
            trace.append((a.poll_batch(op[1]), counters(a)))
        else:
            trace.append((SliceBatch.from_slices(a.poll(op[1]), symbols), counters(a)))
    if by_batch(finish_by_batch):
        trace.append((a.finish_batch(), counters(a)))
    else:
        trace.append((SliceBatch.from_slices(a.finish(), symbols), counters(a)))
    return trace


def assert_same_trace(got, want) -> None:
    assert len(got) == len(want)
    for (g, gc), (w, wc) in zip(got, want, strict=True):
        assert gc == wc
        if isinstance(w, SliceBatch):
            assert_same_batch(g, w)
        else:
            assert g == w


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_batches_equal_stacked_polls_in_both_twins_and_across_them(case):
    symbols, grace, ops, finish_by_batch = case
    want = run(pure_slices, symbols, grace, ops, finish_by_batch, "never")
    for mod in (pure_slices, compiled_slices):
        for batches in ("always", "drawn"):
            assert_same_trace(run(mod, symbols, grace, ops, finish_by_batch, batches), want)
    assert_same_trace(run(compiled_slices, symbols, grace, ops, finish_by_batch, "never"), want)
    every = [b for b, _ in want if isinstance(b, SliceBatch)]
    stamps = np.concatenate([b.ts_close for b in every])
    assert (np.diff(stamps) > 0).all()
