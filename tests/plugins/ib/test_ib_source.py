"""The ib source as the engine sees it: its settings' errors, check_feed, and
a live run through build_engine on the loopback TWS."""

import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import et_ns
from ib_harness import NS, Clock, config, trades
from rsengine_ib.feed import IBFeed
from rsengine_ib.settings import parse
from tws_stub import TwsStub

import rsengine
from rsengine.config import Config, ConfigError
from rsengine.feeds import FeedError
from rsengine.host.plugins import make_plugin_manager
from rsengine.host.runner import build_engine

T0 = et_ns("2024-03-06 10:00:00") // NS


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("port", "7497x", "port: expected a whole number"),
        ("port", 70000, "port: expected 1 to 65535"),
        ("client_id", -1, "client_id: expected a whole number >= 0"),
        ("stream", "bars", "stream: expected one of ['ticks', 'bars5s']"),
        ("warmup", "two hours", "warmup: expected a duration"),
        ("warmup_bar", "7 secs", "warmup_bar: expected one of"),
        ("timeout", 0, "timeout: must be more than 0"),
        ("passwd", "x", "unknown setting(s) ['passwd']"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_its_key(key, value, says):
    cfg = Config.from_dict(
        {
            "run": {"mode": "live"},
            "instruments": {"ES": {}, "NQ": {}},
            "group": ["ES", "NQ"],
            "sources": {"ib": {key: value}},
        }
    )
    with pytest.raises(ConfigError) as caught:
        build_engine(cfg, make_plugin_manager())
    assert "sources.ib" in str(caught.value) and says in str(caught.value)


def test_settings_defaults_and_day_warmup():
    s = parse({})
    assert (s.host, s.port, s.client_id, s.stream) == ("127.0.0.1", 7497, 1, "ticks")
    assert (s.warmup_s, s.warmup_bar, s.gap_bar) == (23 * 3600, "1 min", "5 secs")
    assert parse({"warmup": "1d"}).warmup_s == 86400 and parse({"warmup": "2h"}).warmup_s == 7200


def test_check_feed_lists_each_instrument_with_its_contract_and_last_price():
    stub = TwsStub()
    stub.add_future("ES", "202403", "CME", [(T0 - 5, 5101.25, 1.0), (T0 - 2, 5101.5, 2.0)])
    stub.add_future("YM", "202403", "CBOT", [(T0 - 3, 39000.0, 1.0)])
    stub.add_future("ZN", "202406", "CBOT", [(T0 - 3, 110.5, 1.0)])
    stub.add_index("TICK-NYSE", values=[(T0 - 1, -312.0)])
    stub.add_index("AD-NYSE", values=[(T0 - 1, 850.0)], as_bid_ask=True)
    stub.publish(T0)
    port = stub.start_in_thread()
    instruments = {
        "ES": {},
        "YM": {},
        "ZN": {"contract": "06-24"},
        "NQ": {},  # not at the stub
        "$TICK": {"feed_symbol": "TICK-NYSE"},
        "$ADD": {"feed_symbol": "AD-NYSE"},
    }
    cfg = config(instruments)
    feed = IBFeed("ib", cfg.symbols, cfg, parse({"port": port}), clock=Clock(T0))
    try:
        lines = feed.check_feed(2.0)
    finally:
        stub.stop()
    assert lines[0] == "ES: FUT ES 202403 on CME conId 1000: last 5101.5"
    assert lines[1] == "YM: FUT YM 202403 on CBOT conId 1001: last 39000"
    assert lines[2] == "ZN: FUT ZN 202406 on CBOT conId 1002: last 110.5"
    assert lines[3].startswith("NQ: NOT AVAILABLE: NQ: IB cannot qualify FUT NQ 202403 on CME")
    assert lines[4] == "$TICK: IND TICK-NYSE on NYSE conId 1003: last -312"
    assert lines[5] == "$ADD: IND AD-NYSE on NYSE conId 1004: last 850"


def test_check_feed_that_cannot_connect_raises_a_clear_feed_error():
    stub = TwsStub()
    port = stub.start_in_thread()
    stub.stop()  # nothing listens there any more
    cfg = config({"ES": {}, "NQ": {}})
    feed = IBFeed("ib", cfg.symbols, cfg, parse({"port": port, "client_id": 7}))
    with pytest.raises(FeedError, match=rf"127.0.0.1:{port} \(client id 7\).*API enabled"):
        feed.check_feed(1.0)


class Watch:
    """Keeps the engine's slices."""

    def __init__(self):
        self.slices = []

    @rsengine.hookimpl
    def rsengine_slice_closed(self, slice):
        self.slices.append(slice)


def test_a_live_run_through_the_engine_builds_the_stub_series_bars():
    stub = TwsStub()
    series = {
        "ES": trades(T0 - 600, T0 + 200, 5100.0, 1),
        "NQ": trades(T0 - 600, T0 + 200, 18000.0, 2),
    }
    for symbol, rows in series.items():
        stub.add_future(symbol, "202403", "CME", rows)
    stub.publish(T0)
    port = stub.start_in_thread()
    cfg = Config.from_dict(
        {
            "run": {"mode": "live", "grace": "2s"},
            "bars": {"primary": "1min"},
            "instruments": {"ES": {}, "NQ": {}},
            "group": ["ES", "NQ"],
            "sources": {"ib": {"port": port, "warmup": "5min", "reconnect": 0.05}},
        }
    )
    watch = Watch()
    pm = make_plugin_manager()
    pm.register(watch, name="watch")
    engine = build_engine(cfg, pm)
    clock = Clock(T0)
    engine.clock = clock
    (feed,) = [obj for _, _, obj in engine.sources]
    feed.clock = clock
    runner = threading.Thread(target=engine.run)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(stub.subscribers("tick_by_tick")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        for second in range(T0 + 10, T0 + 190, 10):
            stub.publish(second)
            clock.set(second)
            time.sleep(0.03)
        clock.set(T0 + 182)  # past 10:03 plus the grace
        deadline = time.monotonic() + 10
        while (not watch.slices or watch.slices[-1].ts_close < (T0 + 180) * NS) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
    finally:
        engine.request_stop()
        runner.join(10)
        stub.stop()
    closes = [s.ts_close // NS for s in watch.slices]
    assert closes[:9] == list(range(T0 - 300 + 60, T0 + 240, 60))
    for k, symbol in enumerate(("ES", "NQ")):
        frame = pd.DataFrame(series[symbol], columns=["t", "p", "v"])
        frame = frame[(frame.t >= T0 - 300) & (frame.t < T0 + 180)]
        want = frame.groupby(frame.t // 60 * 60 + 60).agg(close=("p", "last"), volume=("v", "sum"))
        got = pd.DataFrame(
            {
                "close": [s.close[k] for s in watch.slices[:8]],
                "volume": [s.volume[k] for s in watch.slices[:8]],
            },
            index=np.array(closes[:8]),
        )
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_names=False)
