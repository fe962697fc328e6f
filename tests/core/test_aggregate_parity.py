"""Parity of the compiled aggregator with its pure-Python twin.

Both get identical random inputs and must give identical results: the same
bars bit for bit, the same rejected trades, counters, horizon-callback calls,
and the same exception type and message for bad input.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsengine.core.pure import aggregate as pure_aggregate
from rsengine.core.types import BAR_COLUMNS, BAR_FLOAT_COLUMNS, PARTIAL, Bars, Rejected

compiled_aggregate = pytest.importorskip(
    "rsengine.core._aggregate", reason="the compiled core is not built"
)

NO_TIME = -(2**63)
PARITY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- comparing results ------------------------------------------------------------


def float_bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def assert_same_bars(got: Bars, want: Bars):
    assert isinstance(got, Bars) and isinstance(want, Bars)
    assert got.equals(want), f"bars differ:\ncompiled {got}\npure     {want}"
    for name in BAR_COLUMNS:
        assert getattr(got, name).dtype == getattr(want, name).dtype, name
    for name in BAR_FLOAT_COLUMNS:  # bit for bit: same rounding, same sign of zero
        assert np.array_equal(float_bits(getattr(got, name)), float_bits(getattr(want, name))), name


def assert_same_rejected(got: Rejected, want: Rejected):
    assert isinstance(got, Rejected) and isinstance(want, Rejected)
    assert np.array_equal(got.ts, want.ts)
    assert np.array_equal(float_bits(got.price), float_bits(want.price))
    assert np.array_equal(float_bits(got.size), float_bits(want.size))
    assert np.array_equal(got.reason, want.reason)
    for name in ("ts", "price", "size", "reason"):
        assert getattr(got, name).dtype == getattr(want, name).dtype, name


def assert_same_value(got, want):
    if isinstance(want, Bars):
        assert_same_bars(got, want)
    elif isinstance(want, Rejected):
        assert_same_rejected(got, want)
    else:
        assert type(got) is type(want) and got == want, (got, want)


def outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - any exception must match the twin's
        return "raised", exc


class Extender:
    """A horizon_callback that extends its aggregator from a queue of segments
    (at most ``per_call`` per call) and logs the stamps it was called with."""

    def __init__(self, queue, per_call):
        self.agg = None
        self.queue = list(queue)
        self.per_call = per_call
        self.calls = []

    def __call__(self, ts):
        self.calls.append(ts)
        added = 0
        while self.queue and added < self.per_call and self.agg.horizon <= ts:
            o, c, a = self.queue.pop(0)
            self.agg.extend([o], [c], [a])
            added += 1


class Twins:
    """A pure and a compiled aggregator driven in lockstep."""

    def __init__(self, layout, n_initial=None, per_call=None):
        segs = layout.segments()
        n_initial = len(segs) if n_initial is None else n_initial
        first, self.queue = segs[:n_initial], segs[n_initial:]
        args = [[s[k] for s in first] for k in range(3)]
        self.pure = pure_aggregate.BarAggregator(layout.bar_ns, *args, fill=layout.fill)
        self.comp = compiled_aggregate.BarAggregator(layout.bar_ns, *args, fill=layout.fill)
        self.callbacks = None
        if per_call is not None:
            self.callbacks = (Extender(self.queue, per_call), Extender(self.queue, per_call))
            for agg, cb in zip((self.pure, self.comp), self.callbacks, strict=True):
                cb.agg = agg
                agg.horizon_callback = cb

    def call(self, method, *args, **kwargs):
        """Call ``method`` on both; returns the compiled side's outcome."""
        want = outcome(lambda: getattr(self.pure, method)(*args, **kwargs))
        got = outcome(lambda: getattr(self.comp, method)(*args, **kwargs))
        assert got[0] == want[0], f"{method}: compiled {got}, pure {want}"
        if want[0] == "raised":
            assert type(got[1]) is type(want[1]), (got[1], want[1])
            assert str(got[1]) == str(want[1])
        else:
            assert_same_value(got[1], want[1])
        self.check_state()
        return got

    def extend_from_queue(self, count):
        """Extend both with the next ``count`` queued segments (each its own copy)."""
        for agg, queue in self.queues():
            taken, queue[:] = queue[:count], queue[count:]
            agg.extend(*([s[k] for s in taken] for k in range(3)))
        self.check_state()

    def queues(self):
        if self.callbacks is None:
            queues = getattr(self, "_queues", None)
            if queues is None:
                queues = self._queues = (list(self.queue), list(self.queue))
        else:
            queues = tuple(cb.queue for cb in self.callbacks)
        return zip((self.pure, self.comp), queues, strict=True)

    def check_state(self):
        p, c = self.pure, self.comp
        assert c.pending == p.pending
        assert c.has_open_bar == p.has_open_bar
        assert c.horizon == p.horizon
        assert c.late_count == p.late_count
        assert c.off_session_count == p.off_session_count
        if self.callbacks is not None:
            assert self.callbacks[1].calls == self.callbacks[0].calls
            assert all(type(ts) is int for ts in self.callbacks[1].calls)

    def finish_and_compare(self):
        self.call("finish")
        self.call("take_rejected")
        self.call("drain")


# -- strategies ---------------------------------------------------------------------


@attrs.frozen
class Layout:
    """Segments drawn in small units, then mapped to ns by ``base + u * unit``."""

    unit: int
    base: int
    bar: int
    opens: tuple
    closes: tuple
    anchors: tuple
    fill: bool

    @property
    def bar_ns(self):
        return self.bar * self.unit

    def ns(self, u):
        return self.base + u * self.unit

    def segments(self):
        return [
            (self.ns(o), self.ns(c), self.ns(a))
            for o, c, a in zip(self.opens, self.closes, self.anchors, strict=True)
        ]

    def span(self):
        """Stamp range in units: a margin before the first open and after the last close."""
        lo = (self.opens[0] if self.opens else 0) - 2 * self.bar - 5
        hi = (self.closes[-1] if self.closes else 100) + 2 * self.bar + 5
        return lo, hi

    def edges(self):
        """Interesting stamps in units: segment ends and grid edges inside segments."""
        points = set()
        for o, c, a in zip(self.opens, self.closes, self.anchors, strict=True):
            points.update((o, c, o - 1, c - 1))
            first = a + ((o - a) // self.bar) * self.bar
            points.update(range(first, c + 1, self.bar))
        return sorted(points)


@st.composite
def layouts(draw, max_segments=5, fill=None):
    unit = draw(st.sampled_from([1, 1, 10**9]))
    base = draw(st.sampled_from([0, 0, 1_700_000_000 * 10**9, -(10**12)]))
    bar = draw(st.integers(1, 30))
    opens, closes, anchors = [], [], []
    t = draw(st.integers(0, 40))
    for _ in range(draw(st.integers(0, max_segments))):
        t += draw(st.sampled_from([0, 1, bar])) if draw(st.booleans()) else draw(st.integers(0, 90))
        length = draw(st.one_of(st.integers(1, 100), st.integers(1, 4).map(lambda k: k * bar)))
        offset = draw(
            st.one_of(
                st.just(0),
                st.integers(-3 * bar, 3 * bar + length),  # includes anchors after the close
                st.integers(-(10**6), 10**6),  # far before or after the segment
            )
        )
        opens.append(t)
        closes.append(t + length)
        anchors.append(t + offset)
        t += length
    fill = draw(st.booleans()) if fill is None else fill
    return Layout(unit, base, bar, tuple(opens), tuple(closes), tuple(anchors), fill)


def stamp_units(layout):
    lo, hi = layout.span()
    edges = [e for e in layout.edges() if lo <= e <= hi]
    choices = [st.integers(lo, hi)]
    if edges:
        choices.append(st.sampled_from(edges))
    return st.one_of(*choices)


@st.composite
def stamps(draw, layout):
    """One stamp in ns: often exactly on an edge, sometimes 1 ns before it."""
    u = draw(stamp_units(layout))
    nudge = draw(st.sampled_from([0, 0, 0, 1])) if layout.unit > 1 else 0
    return layout.ns(u) - nudge


prices = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([100.0, 100.25, 99.75, 0.1, 0.2, 0.3]),
)
sizes = st.one_of(
    st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 3.0, 0.1]),
)


@st.composite
def trade_streams(draw, layout, max_size=80):
    """Trades sorted by stamp (equal stamps common), as a list of (ts, price, size)."""
    ts = sorted(draw(st.lists(stamps(layout), max_size=max_size)))
    return [(t, draw(prices), draw(sizes)) for t in ts]


@st.composite
def bar_streams(draw, layout, max_size=40):
    """Input bars sorted by ts_open: (ts_open, open, high, low, close, volume, vwap, trades)."""
    rows = []
    for ts in sorted(draw(st.lists(stamps(layout), max_size=max_size))):
        a, b, c, d = (draw(prices) for _ in range(4))
        vwap = draw(st.one_of(prices, st.just(math.nan)))
        rows.append(
            (
                ts,
                a,
                max(a, b, c, d),
                min(a, b, c, d),
                b,
                draw(sizes),
                vwap,
                draw(st.integers(0, 50)),
            )
        )
    return rows


def input_lengths(layout):
    """An input bar length in ns: unknown (0), one unit, the output bar, or anything
    up to twice it, so the last input bar may end before, at or past the close."""
    return st.one_of(
        st.sampled_from([0, layout.unit, layout.bar_ns]),
        st.integers(0, 2 * layout.bar).map(lambda u: u * layout.unit),
    )


def chunked(draw, rows):
    """Split rows into consecutive chunks of random sizes (empty chunks included)."""
    chunks, i = [], 0
    while i < len(rows):
        k = draw(st.integers(0, 25))
        chunks.append(rows[i : i + k])
        i += k
    return chunks


def trade_arrays(rows):
    return (
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
    )


def bar_arrays(rows, with_vwap=True, with_trades=True):
    cols = [
        np.array([r[k] for r in rows], dtype=np.int64 if k == 0 else np.float64) for k in range(6)
    ]
    vwap = np.array([r[6] for r in rows], dtype=np.float64) if with_vwap else None
    trades = np.array([r[7] for r in rows], dtype=np.int64) if with_trades else None
    return (*cols, vwap, trades)


# -- trades -------------------------------------------------------------------------


@PARITY
@given(data=st.data(), fill=st.booleans())
def test_update_many_in_random_chunks_gives_the_same_bars_as_pure(data, fill):
    layout = data.draw(layouts(fill=fill))
    twins = Twins(layout)
    for chunk in chunked(data.draw, data.draw(trade_streams(layout))):
        twins.call("update_many", *trade_arrays(chunk))
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_update_many_in_chunks_equals_pure_one_by_one_updates(data):
    layout = data.draw(layouts())
    rows = data.draw(trade_streams(layout))
    segs = [[s[k] for s in layout.segments()] for k in range(3)]
    comp = compiled_aggregate.BarAggregator(layout.bar_ns, *segs, fill=layout.fill)
    pure = pure_aggregate.BarAggregator(layout.bar_ns, *segs, fill=layout.fill)
    got = [comp.update_many(*trade_arrays(chunk)) for chunk in chunked(data.draw, rows)]
    got.append(comp.finish())
    for t, p, s in rows:
        pure.update(t, p, s)
    want = [pure.drain(), pure.finish()]
    assert_same_bars(Bars.concat(got), Bars.concat(want))
    assert_same_rejected(comp.take_rejected(), pure.take_rejected())
    assert (comp.late_count, comp.off_session_count) == (pure.late_count, pure.off_session_count)


@PARITY
@given(data=st.data())
def test_single_updates_with_interleaved_flushes_match_pure(data):
    layout = data.draw(layouts())
    twins = Twins(layout)
    lo, hi = layout.span()
    for t, p, s in data.draw(trade_streams(layout)):
        if data.draw(st.integers(0, 5)) == 0:  # a late (or early) trade out of order
            t = data.draw(stamps(layout))
        twins.call("update", t, p, s)
        if data.draw(st.integers(0, 3)) == 0:
            now = t + data.draw(st.integers(-2 * layout.bar, 3 * layout.bar)) * layout.unit
            twins.call("flush", now)
    twins.call("flush", layout.ns(hi))
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_flush_with_stamps_beyond_int64_matches_pure(data):
    layout = data.draw(layouts(fill=True))
    twins = Twins(layout)
    twins.call("update_many", *trade_arrays(data.draw(trade_streams(layout))))
    twins.call("flush", NO_TIME - 5)
    twins.call("flush", 2**70)
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_trades_with_no_segments_are_all_off_session_like_pure(data):
    layout = data.draw(layouts())
    empty = attrs.evolve(layout, opens=(), closes=(), anchors=())
    twins = Twins(empty)
    assert twins.comp.horizon == NO_TIME
    rows = data.draw(trade_streams(layout))
    for chunk in chunked(data.draw, rows):
        twins.call("update_many", *trade_arrays(chunk))
    twins.finish_and_compare()


def test_long_bars_accumulate_volume_and_vwap_bit_identically():
    rng = np.random.default_rng(7)
    n = 200_000
    ts = np.sort(rng.integers(0, 10**6, n))
    price = rng.uniform(-50, 5000, n) * rng.choice([1e-3, 1.0, 1e3], n)
    size = rng.exponential(3.0, n) * rng.choice([0.0, 1e-9, 1.0, 1e9], n)
    for fill in (False, True):
        twins = Twins(Layout(1, 0, 7919, (100,), (10**6 - 100,), (-5,), fill))
        twins.call("update_many", ts, price, size)
        twins.finish_and_compare()


# -- bars in ------------------------------------------------------------------------


@PARITY
@given(data=st.data(), with_vwap=st.booleans(), with_trades=st.booleans())
def test_update_bars_and_update_bar_match_pure(data, with_vwap, with_trades):
    layout = data.draw(layouts())
    twins = Twins(layout)
    for chunk in chunked(data.draw, data.draw(bar_streams(layout))):
        input_ns = data.draw(input_lengths(layout))
        if data.draw(st.booleans()):
            twins.call("update_bars", *bar_arrays(chunk, with_vwap, with_trades), input_ns=input_ns)
        else:
            for row in chunk:
                extra = {"input_ns": input_ns}
                if with_vwap:
                    extra["vwap"] = row[6]
                if with_trades:
                    extra["trades"] = row[7]
                twins.call("update_bar", *row[:6], **extra)
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_last_bar_is_flagged_partial_exactly_when_the_input_stops_before_its_close(data):
    layout = data.draw(layouts(fill=False))
    twins = Twins(layout)
    rows = data.draw(bar_streams(layout, max_size=10))
    input_ns = data.draw(input_lengths(layout))
    twins.call("update_bars", *bar_arrays(rows), input_ns=input_ns)
    _, last = twins.call("finish")
    if len(last):  # independent of both twins: the last input bar's end against the close
        ends_at = max(r[0] for r in rows) + input_ns
        assert last.flags[-1] == (0 if ends_at >= last.ts_close[-1] else PARTIAL)
    twins.finish_and_compare()


@pytest.mark.parametrize("input_ns", [-1, -(2**70), 2**70])
def test_input_bar_length_is_checked_like_pure(input_ns):
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    twins.call("update_bars", [5], [1.0], [1.0], [1.0], [1.0], [1.0], input_ns=input_ns)
    twins.call("update_bar", 6, 1.0, 1.0, 1.0, 1.0, 1.0, input_ns=input_ns)
    twins.finish_and_compare()


# -- schedule -----------------------------------------------------------------------


@PARITY
@given(data=st.data())
def test_extend_mid_stream_matches_pure(data):
    layout = data.draw(layouts(max_segments=6))
    twins = Twins(layout, n_initial=data.draw(st.integers(0, len(layout.opens))))
    for chunk in chunked(data.draw, data.draw(trade_streams(layout))):
        if data.draw(st.booleans()):
            twins.extend_from_queue(data.draw(st.integers(0, 2)))
        twins.call("update_many", *trade_arrays(chunk))
    twins.finish_and_compare()


@PARITY
@given(data=st.data(), per_call=st.integers(0, 3), single=st.booleans())
def test_horizon_callback_that_extends_sees_the_same_stamps_as_pure(data, per_call, single):
    layout = data.draw(layouts(max_segments=6))
    twins = Twins(layout, n_initial=data.draw(st.integers(0, len(layout.opens))), per_call=per_call)
    rows = data.draw(trade_streams(layout))
    if single:
        for t, p, s in rows:
            twins.call("update", t, p, s)
    else:
        for chunk in chunked(data.draw, rows):
            twins.call("update_many", *trade_arrays(chunk))
    twins.finish_and_compare()


def test_horizon_callback_is_a_writable_attribute_like_pure():
    for module in (pure_aggregate, compiled_aggregate):
        agg = module.BarAggregator(10, [0], [100], [0])
        assert agg.horizon_callback is None
        calls = []
        agg.horizon_callback = calls.append
        agg.update(150, 1.0, 1.0)
        agg.horizon_callback = None
        agg.update(160, 1.0, 1.0)
        assert calls == [150]
        assert agg.off_session_count == 2


def test_horizon_callback_error_propagates_after_the_same_state_change_as_pure():
    def boom(ts):
        raise KeyError(ts)

    outcomes = []
    for module in (pure_aggregate, compiled_aggregate):
        agg = module.BarAggregator(10, [0], [100], [0], horizon_callback=None)
        agg.update_many([1, 2], [1.0, 2.0], [1.0, 1.0])
        agg.horizon_callback = boom
        with pytest.raises(KeyError):
            agg.update(100, 3.0, 1.0)
        with pytest.raises(KeyError):
            agg.update_many([101, 102], [3.0, 4.0], [1.0, 1.0])
        outcomes.append((agg.pending, agg.has_open_bar, agg.drain()))
    (pp, po, pb), (cp, co, cb) = outcomes
    assert (cp, co) == (pp, po)
    assert_same_bars(cb, pb)


@PARITY
@given(data=st.data())
def test_random_operation_sequences_match_pure(data):
    layout = data.draw(layouts(max_segments=6))
    per_call = data.draw(st.one_of(st.none(), st.integers(0, 2)))
    twins = Twins(layout, n_initial=data.draw(st.integers(0, len(layout.opens))), per_call=per_call)
    trades = data.draw(trade_streams(layout, max_size=60))
    bars = data.draw(bar_streams(layout, max_size=20))
    ops = ("many", "one", "flush", "bars", "bar", "drain", "rejected", "finish", "extend")
    while trades or bars:
        op = data.draw(st.sampled_from(ops))
        if op == "many" and trades:
            k = data.draw(st.integers(0, 10))
            chunk, trades = trades[:k], trades[k:]
            twins.call("update_many", *trade_arrays(chunk))
        elif op == "one" and trades:
            (t, p, s), trades = trades[0], trades[1:]
            twins.call("update", t, p, s)
        elif op == "flush":
            twins.call("flush", data.draw(stamps(layout)))
        elif op == "bars" and bars:
            k = data.draw(st.integers(0, 5))
            chunk, bars = bars[:k], bars[k:]
            twins.call("update_bars", *bar_arrays(chunk), input_ns=data.draw(input_lengths(layout)))
        elif op == "bar" and bars:
            row, bars = bars[0], bars[1:]
            twins.call("update_bar", *row, input_ns=data.draw(input_lengths(layout)))
        elif op == "drain":
            twins.call("drain")
        elif op == "rejected":
            twins.call("take_rejected")
        elif op == "finish":
            twins.call("finish")
        elif op == "extend" and per_call is None:
            twins.extend_from_queue(1)
    twins.finish_and_compare()


def test_public_attributes_match_pure():
    args = (60, [0, 200], [100, 300], [-7, 200])
    pure = pure_aggregate.BarAggregator(*args, fill=1)
    comp = compiled_aggregate.BarAggregator(*args, fill=1)
    for name in (
        "bar_ns",
        "fill",
        "horizon",
        "has_open_bar",
        "pending",
        "late_count",
        "off_session_count",
        "horizon_callback",
    ):
        assert getattr(comp, name) == getattr(pure, name), name
        assert type(getattr(comp, name)) is type(getattr(pure, name)), name
    assert comp.update(5, 1.0, 2.0) == pure.update(5, 1.0, 2.0) == 0
    assert comp.update(70, 1.0, 2.0) == pure.update(70, 1.0, 2.0) == 1
    assert comp.has_open_bar is pure.has_open_bar is True
    assert comp.pending == pure.pending == 1


# -- bad input ----------------------------------------------------------------------

BAD_TRADE = st.sampled_from(
    ["unsorted", "nan price", "inf price", "-inf price", "negative size", "nan size", "inf size"]
)


def spoil(rows, i, how):
    t, p, s = rows[i]
    if how == "unsorted":
        t = rows[i - 1][0] - 1
    elif how.endswith("price"):
        p = float(how.split()[0])
    elif how == "negative size":
        s = -0.5
    else:
        s = float(how.split()[0])
    rows[i] = (t, p, s)


@PARITY
@given(
    data=st.data(),
    spoils=st.lists(st.tuples(st.integers(0, 10**6), BAD_TRADE), min_size=1, max_size=3),
)
def test_bad_trade_batch_raises_the_same_error_and_leaves_state_unchanged(data, spoils):
    layout = data.draw(layouts())
    per_call = data.draw(st.one_of(st.none(), st.just(1)))
    twins = Twins(layout, per_call=per_call)
    rows = data.draw(trade_streams(layout))
    cut = data.draw(st.integers(0, len(rows)))
    twins.call("update_many", *trade_arrays(rows[:cut]))
    bad = data.draw(trade_streams(layout, max_size=30).filter(lambda r: len(r) >= 2))
    for i, how in spoils:
        spoil(bad, 1 + i % (len(bad) - 1), how)
    # the horizon callback may already have loaded sessions for the batch;
    # the bars and counters must be as they were
    before = (
        twins.comp.pending,
        twins.comp.has_open_bar,
        twins.comp.late_count,
        twins.comp.off_session_count,
    )
    kind, exc = twins.call("update_many", *trade_arrays(bad))
    assert kind == "raised" and type(exc) is ValueError
    assert before == (
        twins.comp.pending,
        twins.comp.has_open_bar,
        twins.comp.late_count,
        twins.comp.off_session_count,
    )
    twins.call("update_many", *trade_arrays(rows[cut:]))
    twins.finish_and_compare()


def test_mismatched_trade_array_lengths_raise_the_same_error():
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    twins.call("update_many", [1, 2], [1.0], [1.0, 1.0])
    twins.call("update_many", [1, 2], [1.0, 2.0], [])
    twins.call("update_many", [], [], [])


@pytest.mark.parametrize(
    ("price", "size"),
    [
        (math.nan, 1.0),
        (math.inf, 1.0),
        (-math.inf, 0.0),
        (1.0, -1.0),
        (1.0, math.nan),
        (1.0, math.inf),
        (math.nan, -1.0),
        (1.0, -0.0),
        (-1.0, 0.0),
    ],
)
def test_single_trade_is_accepted_or_refused_like_pure(price, size):
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    twins.call("update", 5, 1.0, 1.0)
    twins.call("update", 6, price, size)
    twins.call("update", 7, np.float64(price), np.float64(size))
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_bad_single_bar_raises_the_same_error_as_pure(data):
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    values = st.one_of(prices, st.sampled_from([math.nan, math.inf, -math.inf, -1.0]))
    o, h, lo, c, v, w = (data.draw(values) for _ in range(6))
    n = data.draw(st.integers(-3, 3))
    twins.call("update_bar", data.draw(st.integers(-5, 105)), o, h, lo, c, v, w, n)
    twins.finish_and_compare()


@PARITY
@given(data=st.data())
def test_bad_bar_batch_raises_the_same_error_as_pure(data):
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    n = data.draw(st.integers(1, 6))
    values = st.one_of(prices, st.sampled_from([math.nan, math.inf, -1.0]))
    ts = sorted(data.draw(st.lists(st.integers(-5, 105), min_size=n, max_size=n)))
    if data.draw(st.booleans()):
        ts = ts[::-1]
    cols = [data.draw(st.lists(values, min_size=n, max_size=n)) for _ in range(6)]
    trades = data.draw(st.lists(st.integers(-2, 3), min_size=n, max_size=n))
    twins.call("update_bars", ts, *cols, trades)
    twins.call("update_bars", ts, *cols[:5], None, trades[:-1])
    twins.finish_and_compare()


@pytest.mark.parametrize(
    "args",
    [
        (0, [0], [10], [0]),
        (-5, [0], [10], [0]),
        (10, [0, 20], [10], [0, 20]),
        (10, [0], [10], [0, 1]),
        (10, [0, 20], [10, 20], [0, 20]),
        (10, [0, 5], [10, 20], [0, 5]),
        (10, [5], [4], [0]),
    ],
)
def test_bad_constructor_arguments_raise_the_same_error_as_pure(args):
    want = outcome(lambda: pure_aggregate.BarAggregator(*args))
    got = outcome(lambda: compiled_aggregate.BarAggregator(*args))
    assert want[0] == got[0] == "raised"
    assert type(got[1]) is type(want[1]) and str(got[1]) == str(want[1])


@pytest.mark.parametrize(
    "segments",
    [
        ([50], [150], [50]),
        ([99], [150], [99]),
        ([100, 90], [110, 120], [0, 0]),
        ([100], [100], [100]),
        ([100], [200, 300], [0]),
    ],
)
def test_extend_with_bad_segments_raises_the_same_error_and_keeps_the_schedule(segments):
    twins = Twins(Layout(1, 0, 10, (0,), (100,), (0,), False))
    twins.call("extend", *segments)
    twins.call("update_many", [5, 99, 100, 150], [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    twins.finish_and_compare()
