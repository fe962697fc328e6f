"""NYSE internals on the loopback TWS: $TICK from TICK-NYSE's last price,
$ADD from AD-NYSE's bid (advancers) minus ask (decliners), each delivered as
trades of size 0 stamped on arrival; their warm-up from TRADES bars."""

import pandas as pd
from conftest import et_ns
from ib_harness import NS, Clock, FeedRun, config, trades
from tws_stub import TwsStub

from rsengine.model import BarChunk, TradeChunk

T0 = et_ns("2024-03-06 10:30:00") // NS
INSTRUMENTS = {
    "ES": {},
    "NQ": {},
    "$TICK": {"feed_symbol": "TICK-NYSE"},
    "$ADD": {"feed_symbol": "AD-NYSE"},
}


def test_tick_and_add_stream_as_zero_size_trades_with_their_warm_up():
    stub = TwsStub()
    stub.add_future("ES", "202403", "CME", trades(T0 - 300, T0 + 30, 5100.0, 1))
    stub.add_future("NQ", "202403", "CME", trades(T0 - 300, T0 + 30, 18000.0, 2))
    tick_values = [(t, float((t * 37) % 1500 - 700)) for t in range(T0 - 300, T0 + 30)]
    add_values = [(t, float((t * 11) % 900 - 300)) for t in range(T0 - 300, T0 + 30)]
    stub.add_index("TICK-NYSE", values=tick_values)
    stub.add_index("AD-NYSE", values=add_values, as_bid_ask=True)
    clock = Clock(T0)
    stub.publish(T0)
    run = FeedRun(stub, config(INSTRUMENTS), clock, warmup="3min").start()
    arrived = []
    try:
        run.wait_for(lambda: len(stub.subscribers("market_data")) == 2, what="subscriptions")
        for k in range(1, 11):
            clock.set(T0 + k)
            stub.publish(T0 + k)
            arrived.append(T0 + k)
            run.wait_for(
                lambda k=k: (
                    sum(len(c) for c in run.chunks("$ADD") if c.ts[0] >= T0 * NS) >= k
                    and sum(len(c) for c in run.chunks("$TICK") if c.ts[0] >= T0 * NS) >= k
                ),
                what=f"internals second {k}",
            )
    finally:
        run.finish()
    for symbol, series in (("$TICK", tick_values), ("$ADD", add_values)):
        chunks = run.chunks(symbol)
        live = [c for c in chunks if isinstance(c, TradeChunk)]
        stamps = [int(t) // NS for c in live for t in c.ts]
        values = [p for c in live for p in c.price]
        assert stamps == arrived  # stamped by the clock on arrival
        assert values == [v for t, v in series if T0 <= t < T0 + 10]
        assert all(s == 0.0 for c in live for s in c.size)
        bars = [c for c in chunks if isinstance(c, BarChunk)]
        frame = pd.DataFrame(series, columns=["t", "v"])
        frame = frame[(frame.t >= T0 - 180) & (frame.t < T0)]
        want = frame.groupby(frame.t // 60 * 60).v.agg(["first", "max", "min", "last"])
        got = pd.DataFrame(
            {
                "first": [x for c in bars for x in c.open],
                "max": [x for c in bars for x in c.high],
                "min": [x for c in bars for x in c.low],
                "last": [x for c in bars for x in c.close],
            },
            index=[int(t) // NS for c in bars for t in c.ts_open],
        )
        pd.testing.assert_frame_equal(got, want, check_names=False, check_index_type=False)
        assert all(v == 0.0 for c in bars for v in c.volume)
