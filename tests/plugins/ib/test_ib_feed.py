"""The ib source's feed against the loopback TWS: the real ib_async client,
qualification, warm-up backfill, streaming ticks and 5-s bars, a dropped
connection backfilled without loss or repeats, a roll mid-run."""

import pandas as pd
import pytest
from conftest import et_ns
from ib_harness import NS, Clock, FeedRun, buckets_of_chunks, buckets_of_trades, config, trades
from tws_stub import TwsStub

from rsengine.model import BarChunk, TradeChunk

T0 = et_ns("2024-03-06 10:00:07") // NS  # not on a bar boundary, on purpose


def drop_and_resume(run: FeedRun, stub: TwsStub, clock: Clock, at_s: int) -> None:
    """TWS goes away; while it is away the market moves on to ``at_s``; then
    it comes back and the feed reconnects."""
    stub.refuse = True
    stub.drop_all()
    run.wait_for(lambda: run.notices("disconnected"), what="the drop")
    stub.publish(at_s)
    clock.set(at_s)
    stub.refuse = False
    run.wait_for(lambda: run.notices("backfilled"), what="the gap backfill")


def assert_same_series(chunks, series, start_s, end_s, fine_from):
    """What was delivered equals the stub's trades in [start_s, end_s): per
    minute (the warm-up's bars), and per 5 s from ``fine_from`` on."""
    got = buckets_of_chunks(chunks, 60)
    want = buckets_of_trades(series, 60, start_s, end_s)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = buckets_of_chunks(chunks, 5)
    want = buckets_of_trades(series, 5, fine_from, end_s)
    pd.testing.assert_frame_equal(got[got.index >= fine_from], want, check_dtype=False)


def last_stamp(chunks) -> int:
    ends = [int(c.ts[-1]) + (c.bar_ns if isinstance(c, BarChunk) else 0) for c in chunks]
    return max(ends, default=-1) // NS


@pytest.fixture
def es_nq():
    stub = TwsStub()
    es = stub.add_future("ES", "202403", "CME", trades(T0 - 1200, T0 + 400, 5100.0, seed=1))
    nq = stub.add_future("NQ", "202403", "CME", trades(T0 - 1200, T0 + 400, 18000.0, seed=2))
    stub.add_future("ES", "202406", "CME", trades(T0 - 1200, T0 + 400, 5150.0, seed=3))
    return stub, es, nq


def test_ticks_warm_up_then_stream_then_a_drop_lose_and_repeat_nothing(es_nq):
    stub, es, nq = es_nq
    clock = Clock(T0)
    stub.publish(T0)
    cfg = config({"ES": {}, "NQ": {}})
    run = FeedRun(stub, cfg, clock, warmup="10min").start()
    try:
        run.wait_for(lambda: len(stub.subscribers("tick_by_tick")) == 2, what="subscriptions")
        stub.publish(T0 + 40)
        clock.set(T0 + 40)
        last = max(t for t, _, _ in es.trades if t < T0 + 40)
        run.wait_for(lambda: last_stamp(run.chunks("ES")) >= last, what="live ticks")
        drop_and_resume(run, stub, clock, T0 + 95)
        stub.publish(T0 + 150)
        clock.set(T0 + 150)
        for c in (es, nq):
            last = max(t for t, _, _ in c.trades if t < T0 + 150)
            run.wait_for(
                lambda c=c, last=last: last_stamp(run.chunks(c.symbol)) >= last, what="resume"
            )
        run.settle(0.2)
    finally:
        run.finish()
    warm_start = (T0 - 600 + 59) // 60 * 60
    for contract in (es, nq):
        chunks = run.chunks(contract.symbol)
        assert_same_series(chunks, contract.trades, warm_start, T0 + 150, fine_from=T0 // 60 * 60)
        # the warm-up came as 1-min bars, the gap's middle as 5-s bars, the edges as trades
        sizes = {c.bar_ns for c in chunks if isinstance(c, BarChunk)}
        assert sizes == {60 * NS, 5 * NS}
        assert any(isinstance(c, TradeChunk) for c in chunks)
    assert [n.kind for n in run.notices()][:1] == ["connected"]
    assert stub.count("details") == 2  # qualified once each, kept across the reconnect


def test_live_ticks_carry_the_exchange_time_not_the_arrival_time(es_nq):
    stub, es, _ = es_nq
    clock = Clock(T0)
    stub.publish(T0)
    run = FeedRun(stub, config({"ES": {}, "NQ": {}}), clock, warmup="1min").start()
    try:
        run.wait_for(lambda: len(stub.subscribers("tick_by_tick")) == 2, what="subscriptions")
        stub.publish(T0 + 20)
        clock.set(T0 + 20)
        last = max(t for t, _, _ in es.trades if t < T0 + 20)
        run.wait_for(lambda: last_stamp(run.chunks("ES")) >= last, what="live ticks")
    finally:
        run.finish()
    live = [c for c in run.chunks("ES") if isinstance(c, TradeChunk) and c.ts[0] >= T0 * NS]
    got = [
        (int(t) // NS, p, s) for c in live for t, p, s in zip(c.ts, c.price, c.size, strict=True)
    ]
    assert got == [t for t in es.trades if T0 <= t[0] < T0 + 20]


def test_bars5s_stream_with_a_drop_equals_the_series(es_nq):
    stub, es, nq = es_nq
    clock = Clock(T0)
    stub.publish(T0)
    run = FeedRun(stub, config({"ES": {}, "NQ": {}}), clock, stream="bars5s", warmup="5min")
    run.start()
    try:
        run.wait_for(lambda: len(stub.subscribers("realtime_bars")) == 2, what="subscriptions")
        stub.publish(T0 + 33)
        clock.set(T0 + 33)
        run.wait_for(lambda: last_stamp(run.chunks("ES")) >= (T0 + 33) // 5 * 5, what="bars")
        drop_and_resume(run, stub, clock, T0 + 91)
        stub.publish(T0 + 152)
        clock.set(T0 + 152)
        end = (T0 + 152) // 5 * 5
        run.wait_for(lambda: last_stamp(run.chunks("ES")) >= end, what="resumed bars")
        run.wait_for(lambda: last_stamp(run.chunks("NQ")) >= end, what="resumed bars")
    finally:
        run.finish()
    warm_start = (T0 - 300 + 59) // 60 * 60
    for contract in (es, nq):
        chunks = run.chunks(contract.symbol)
        assert all(isinstance(c, BarChunk) for c in chunks)
        end = (T0 + 152) // 5 * 5
        assert_same_series(chunks, contract.trades, warm_start, end, fine_from=T0 // 60 * 60)


def test_history_keeps_only_complete_bars(es_nq):
    stub, es, _ = es_nq
    clock = Clock(T0)
    stub.publish(T0)
    run = FeedRun(stub, config({"ES": {}, "NQ": {}}), clock, stream="bars5s", warmup="3min")
    run.start()
    try:
        run.wait_for(lambda: run.chunks("ES") and run.chunks("NQ"), what="history")
        run.settle(0.2)
    finally:
        run.finish()
    bars = [c for c in run.chunks("ES") if isinstance(c, BarChunk)]
    # the stub answers with the bar in progress at T0 too; the feed leaves it out
    assert max(int(c.ts_open[-1]) + c.bar_ns for c in bars) <= T0 * NS
    assert_same_series(bars, es.trades, (T0 - 180 + 59) // 60 * 60, T0 // 5 * 5, T0 // 60 * 60)


def test_a_roll_mid_run_switches_to_the_next_contract_and_says_so():
    # ES H4 expires Friday 2024-03-15; the 18:00 ET open on Thursday begins its session
    before = et_ns("2024-03-14 16:59:50") // NS
    after = et_ns("2024-03-14 18:00:10") // NS
    stub = TwsStub()
    h4 = stub.add_future("ES", "202403", "CME", trades(before - 120, before + 10, 5100.0, 1))
    m4 = stub.add_future("ES", "202406", "CME", trades(after - 10, after + 30, 5150.0, 2))
    stub.add_future("NQ", "202403", "CME", trades(before - 120, before + 10, 18000.0, 3))
    stub.add_future("NQ", "202406", "CME", trades(after - 10, after + 30, 18100.0, 4))
    clock = Clock(before)
    stub.publish(before)
    run = FeedRun(stub, config({"ES": {}, "NQ": {}}), clock, warmup="1min")
    run.feed.roll_check_s = 0.05
    run.start()
    try:
        run.wait_for(lambda: len(stub.subscribers("tick_by_tick")) == 2, what="subscriptions")
        stub.publish(after)
        clock.set(after)
        run.wait_for(lambda: len(run.notices("roll")) == 2, what="the rolls")
        stub.publish(after + 30)
        last = max(t for t, _, _ in m4.trades if t < after + 30)
        run.wait_for(lambda: last_stamp(run.chunks("ES")) >= last, what="June ticks")
        june = [s.contract.con_id for s in stub.subscribers("tick_by_tick")]
    finally:
        run.finish()
    rolls = {n.instrument: (n.details["old"], n.details["new"]) for n in run.notices("roll")}
    assert rolls == {"ES": ("202403", "202406"), "NQ": ("202403", "202406")}
    assert m4.con_id in june and h4.con_id not in june
    assert stub.count("cancel", h4.con_id) == 1
    live = [c for c in run.chunks("ES") if isinstance(c, TradeChunk) and c.ts[0] >= after * NS]
    prices = [p for c in live for p in c.price]
    assert prices == [p for t, p, _ in m4.trades if after <= t < after + 30]
