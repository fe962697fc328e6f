"""IB's historical-data pacing: at most 60 requests in 10 minutes, 5 per
contract in 2 s, no identical request within 15 s; requests wait, none is
dropped. Checked on an injected clock, and through the loopback TWS, which
counts what it received."""

import asyncio

import pandas as pd
from conftest import et_ns
from ib_harness import NS, Clock, FeedRun, buckets_of_chunks, buckets_of_trades, config, trades
from rsengine_ib.pacing import Pacer
from tws_stub import TwsStub


class FakeTime:
    def __init__(self):
        self.t = 0.0

    def clock(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


def violations(log) -> list:
    """Every breach of the three rules in ``log``: (time, contract, request) sent."""
    found = []
    times = sorted(log)
    for i, (t, contract, request) in enumerate(times):
        in_ten = [x for x in times if t - 600 < x[0] <= t]
        if len(in_ten) > 60:
            found.append(("60 in 10 min", t))
        same_contract = [x for x in times[: i + 1] if x[1] == contract and t - x[0] < 2]
        if len(same_contract) > 5:
            found.append(("6 per contract in 2 s", t, contract))
        if any(x[2] == request and 0 < t - x[0] < 15 for x in times[:i]):
            found.append(("identical within 15 s", t, request))
    return found


def send_all(requests) -> list:
    fake = FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    log = []

    async def go():
        for contract, request in requests:
            await pacer.wait(contract, request)
            log.append((fake.t, contract, request))

    asyncio.run(go())
    return log


def test_sixty_first_request_waits_for_the_ten_minute_window():
    log = send_all([(k % 20, ("bars", k)) for k in range(130)])
    assert len(log) == 130 and not violations(log)
    assert log[59][0] < 600 <= log[60][0]  # the 61st goes out when the 1st leaves the window
    assert log[120][0] >= 1200


def test_sixth_request_for_one_contract_waits_two_seconds():
    log = send_all([("ES", ("bars", k)) for k in range(11)])
    assert [t for t, _, _ in log] == [0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 4]
    assert not violations(log)


def test_an_identical_request_waits_fifteen_seconds_and_is_not_dropped():
    log = send_all([("ES", "same"), ("NQ", "other"), ("ES", "same")])
    assert [(t, r) for t, _, r in log] == [(0, "same"), (0, "other"), (15, "same")]


def test_the_feed_paces_a_long_warm_up_and_tws_sees_no_breach():
    t0 = et_ns("2024-03-06 10:00:00") // NS
    stub = TwsStub()
    fake = FakeTime()
    stub.clock = fake.clock
    series = {
        "ES": trades(t0 - 3 * 86400, t0 - 3 * 86400 + 400, 5100.0, 1)
        + trades(t0 - 600, t0, 5150.0, 2),
        "NQ": trades(t0 - 3 * 86400, t0 - 3 * 86400 + 400, 18000.0, 3),
    }
    for symbol, rows in series.items():
        stub.add_future(symbol, "202403", "CME", rows)
    stub.publish(t0)
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    cfg = config({"ES": {}, "NQ": {}})
    # 3 days of 5-s bars: 36 requests of 2 h per contract, 72 in all
    run = FeedRun(stub, cfg, Clock(t0), pacer=pacer, warmup="3d", warmup_bar="5 secs")
    run.start()
    try:
        run.wait_for(lambda: stub.count("history") >= 72, timeout=30, what="the warm-up")
        run.settle(0.2)
    finally:
        run.finish()
    asked = [
        (r.at, r.con_id, r.fields[2:])  # the request less its id
        for r in stub.requests
        if r.kind in ("history", "ticks_history")
    ]
    assert stub.count("history") == 72
    assert not violations(asked)
    assert fake.t >= 600  # the 61st had to wait for the window
    start = t0 - 3 * 86400
    for symbol, rows in series.items():
        got = buckets_of_chunks(run.chunks(symbol), 5)
        want = buckets_of_trades(rows, 5, start, t0)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
