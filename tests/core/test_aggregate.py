"""Behaviour of the time-bar aggregator (whichever core is active).

Stamps are written in US/Eastern and checked against hand-derived values.
"""

import math

import numpy as np
import pytest
from conftest import MIN, et_ns

from rsengine.core import FILLED, LATE, OFF_SESSION, PARTIAL, BarAggregator, Bars
from rsengine.exchange.bars import TimeBars

# One synthetic segment 10:00-11:00 ET on a Wednesday, anchor at its open.
SEG_OPEN, SEG_CLOSE = et_ns("2024-03-06 10:00"), et_ns("2024-03-06 11:00")


def simple(bar_ns=5 * MIN, fill=False, anchor=SEG_OPEN):
    return BarAggregator(bar_ns, [SEG_OPEN], [SEG_CLOSE], [anchor], fill=fill)


def feed(agg, trades):
    ts, price, size = zip(*trades, strict=True)
    return agg.update_many(list(ts), list(price), list(size))


def t(hhmm):
    return et_ns(f"2024-03-06 {hhmm}")


def test_trade_exactly_on_boundary_opens_next_bar():
    agg = simple()
    bars = feed(agg, [(t("10:00"), 1.0, 1), (t("10:05"), 2.0, 1)])
    assert list(bars.ts_open) == [t("10:00")]
    assert list(bars.ts_close) == [t("10:05")]
    assert list(bars.close) == [1.0]
    tail = agg.finish()
    assert list(tail.ts_open) == [t("10:05")] and list(tail.open) == [2.0]


def test_bar_stays_open_until_a_trade_at_or_past_its_end():
    agg = simple()
    assert agg.update(t("10:00"), 1.0, 1) == 0
    assert agg.update(t("10:04:59.999999999"), 3.0, 1) == 0
    assert agg.update(t("10:05"), 2.0, 1) == 1
    bar = agg.drain().row(0)
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (1.0, 3.0, 1.0, 3.0)
    assert bar["trades"] == 2


def test_flush_closes_bar_only_when_clock_reaches_its_close():
    agg = simple()
    agg.update(t("10:01"), 1.0, 1)
    assert len(agg.flush(t("10:05") - 1)) == 0
    bars = agg.flush(t("10:05"))
    assert list(bars.ts_close) == [t("10:05")] and bars.flags[0] == 0


def test_finish_emits_open_bar_flagged_partial():
    agg = simple()
    feed(agg, [(t("10:01"), 1.0, 2), (t("10:02"), 2.0, 2)])
    bars = agg.finish()
    assert len(bars) == 1 and bars.flags[0] == PARTIAL
    assert len(agg.finish()) == 0


def one_minute_bars(agg, first, count, **kwargs):
    """``count`` one-minute input bars from ``first`` (ns), prices 1, 2, 3 …"""
    opens = [first + i * MIN for i in range(count)]
    prices = [float(i + 1) for i in range(count)]
    return agg.update_bars(opens, prices, prices, prices, prices, [1.0] * count, **kwargs)


def test_finish_leaves_a_bar_complete_when_the_input_bars_reach_its_close():
    agg = simple()
    one_minute_bars(agg, t("10:00"), 5, input_ns=MIN)  # the last covers 10:04-10:05
    bars = agg.finish()
    assert list(bars.ts_close) == [t("10:05")] and bars.flags[0] == 0


def test_finish_flags_partial_when_the_last_input_bar_ends_before_the_close():
    agg = simple()
    one_minute_bars(agg, t("10:00"), 4, input_ns=MIN)  # data ends at 10:04
    bars = agg.finish()
    assert list(bars.ts_close) == [t("10:05")] and bars.flags[0] == PARTIAL


def test_finish_flags_partial_when_the_input_bar_length_is_unknown():
    agg = simple()
    one_minute_bars(agg, t("10:00"), 5)
    assert agg.finish().flags[0] == PARTIAL


def test_single_input_bar_with_its_length_completes_the_bar_it_ends():
    agg = simple(bar_ns=2 * MIN)
    agg.update_bar(t("10:00"), 1.0, 1.0, 1.0, 1.0, 1.0, input_ns=MIN)
    agg.update_bar(t("10:01"), 2.0, 2.0, 2.0, 2.0, 1.0, input_ns=MIN)
    bars = agg.finish()
    assert list(bars.ts_close) == [t("10:02")] and bars.flags[0] == 0


def test_input_bars_before_the_open_bar_do_not_complete_it():
    agg = simple()
    first = one_minute_bars(agg, t("10:00"), 5, input_ns=MIN)
    second = one_minute_bars(agg, t("10:05"), 1)  # opens 10:05-10:10; its length is not given
    bars = Bars.concat([first, second, agg.finish()])
    assert list(bars.ts_close) == [t("10:05"), t("10:10")]
    assert list(bars.flags) == [0, PARTIAL]


def test_negative_input_bar_length_is_rejected():
    agg = simple()
    with pytest.raises(ValueError, match="input_ns must be >= 0"):
        one_minute_bars(agg, t("10:00"), 1, input_ns=-1)
    with pytest.raises(ValueError, match="input_ns must be >= 0"):
        agg.update_bar(t("10:00"), 1.0, 1.0, 1.0, 1.0, 1.0, input_ns=-MIN)
    assert not agg.has_open_bar


def test_trades_never_prove_a_bar_complete_but_the_clock_does():
    # a trade 1 ns before the close shows nothing about the last nanosecond
    for flush_at, flag in ((None, PARTIAL), (t("10:05") - 1, PARTIAL), (t("10:05"), 0)):
        agg = simple()
        agg.update_many([t("10:01"), t("10:05") - 1], [1.0, 2.0], [1.0, 1.0])
        bars = agg.drain() if flush_at is None else agg.flush(flush_at)
        bars = Bars.concat([bars, agg.finish()])
        assert list(bars.ts_close) == [t("10:05")] and bars.flags[0] == flag, flush_at


def test_ohlcv_vwap_and_trade_count_of_one_bar():
    agg = simple()
    feed(
        agg,
        [(t("10:00"), 10.0, 1), (t("10:01"), 12.0, 3), (t("10:02"), 9.0, 2), (t("10:03"), 11.0, 4)],
    )
    bar = agg.finish().row(0)
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (10.0, 12.0, 9.0, 11.0)
    assert bar["volume"] == 10.0 and bar["trades"] == 4
    assert bar["vwap"] == pytest.approx((10 + 36 + 18 + 44) / 10)


def test_bar_without_volume_has_nan_vwap():
    agg = simple()
    feed(agg, [(t("10:00"), 10.0, 0)])
    assert math.isnan(agg.finish().vwap[0])


def test_late_trade_is_counted_and_kept_not_merged():
    agg = simple()
    agg.update(t("10:01"), 10.0, 1)
    agg.update(t("10:06"), 11.0, 1)  # closes 10:00-10:05
    agg.update(t("10:02"), 99.0, 5)  # belongs to the emitted bar
    agg.update(t("10:07"), 12.0, 1)
    first, second = agg.drain(), agg.finish()
    assert first.high[0] == 10.0 and first.volume[0] == 1.0
    assert second.high[0] == 12.0 and second.volume[0] == 2.0
    assert agg.late_count == 1
    rejected = agg.take_rejected()
    assert list(rejected.ts) == [t("10:02")] and list(rejected.price) == [99.0]
    assert list(rejected.reason) == [LATE]
    assert len(agg.take_rejected()) == 0


def test_trade_before_open_bar_in_skipped_interval_is_late():
    agg = simple()
    feed(agg, [(t("10:01"), 10.0, 1), (t("10:21"), 11.0, 1)])
    agg.update(t("10:12"), 50.0, 1)  # the 10:10 bar was never opened, but time moved past it
    assert agg.late_count == 1
    assert list(agg.finish().high) == [11.0]


def test_trade_outside_every_segment_is_off_session():
    agg = simple()
    bars = feed(agg, [(t("09:59:59"), 1.0, 1), (t("10:30"), 2.0, 1), (t("11:00"), 3.0, 1)])
    assert agg.off_session_count == 2
    assert list(agg.take_rejected().reason) == [OFF_SESSION, OFF_SESSION]
    # the 11:00 trade is past the bar's end: it closes the bar even though it is rejected
    assert list(bars.ts_open) == [t("10:30")]


def test_gaps_stay_gaps_by_default():
    agg = simple()
    feed(agg, [(t("10:01"), 1.0, 1), (t("10:16"), 2.0, 1)])
    assert list(agg.finish().ts_open) == [t("10:15")]


def test_fill_emits_flagged_bars_with_last_close():
    agg = simple(fill=True)
    bars = feed(agg, [(t("10:01"), 1.0, 1), (t("10:02"), 1.5, 1), (t("10:16"), 2.0, 1)])
    assert list(bars.ts_open) == [t("10:00"), t("10:05"), t("10:10")]
    assert list(bars.flags) == [0, FILLED, FILLED]
    assert list(bars.close[1:]) == [1.5, 1.5] and list(bars.volume[1:]) == [0.0, 0.0]
    assert np.isnan(bars.vwap[1:]).all() and list(bars.trades[1:]) == [0, 0]


def test_fill_by_clock_stops_at_now():
    agg = simple(fill=True)
    agg.update(t("10:01"), 1.0, 1)
    bars = agg.flush(t("10:17"))
    assert list(bars.ts_close) == [t("10:05"), t("10:10"), t("10:15")]
    assert list(bars.flags) == [0, FILLED, FILLED]


def test_bars_are_clipped_to_segment_end():
    agg = simple(bar_ns=7 * MIN)
    feed(agg, [(t("10:57"), 1.0, 1), (t("10:59:59"), 1.0, 1)])
    bar = agg.finish()
    assert (bar.ts_open[0], bar.ts_close[0]) == (t("10:56"), t("11:00"))


def test_anchor_before_segment_gives_first_bar_a_short_length():
    agg = simple(bar_ns=60 * MIN, anchor=t("09:30"))
    bars = feed(agg, [(t("10:10"), 1.0, 1), (t("10:40"), 2.0, 1)])
    assert (bars.ts_open[0], bars.ts_close[0]) == (t("10:00"), t("10:30"))
    tail = agg.finish()
    assert (tail.ts_open[0], tail.ts_close[0]) == (t("10:30"), t("11:00"))


def test_update_many_equals_one_by_one_updates():
    rng = np.random.default_rng(7)
    ts = np.sort(rng.integers(SEG_OPEN, SEG_CLOSE, 2000))
    price = 100 + rng.normal(size=2000).cumsum()
    size = rng.integers(1, 10, 2000).astype(float)
    batch = simple(MIN)
    many = Bars.concat([batch.update_many(ts, price, size), batch.finish()])
    single = simple(MIN)
    for i in range(len(ts)):
        single.update(ts[i], price[i], size[i])
    assert many.equals(Bars.concat([single.drain(), single.finish()]))


@pytest.mark.parametrize(
    ("ts", "price", "size", "message"),
    [
        ([3, 2], [1.0, 1.0], [1.0, 1.0], "index 1 (2) is before index 0 (3)"),
        ([1, 2], [1.0, float("nan")], [1.0, 1.0], "price at index 1 is nan"),
        ([1, 2], [float("inf"), 1.0], [1.0, 1.0], "price at index 0 is inf"),
        ([1, 2], [1.0, 1.0], [1.0, -2.0], "size at index 1 is -2.0"),
        ([1, 2], [1.0, 1.0], [1.0], "differ in length"),
    ],
)
def test_bad_trade_batch_raises_naming_index_and_value(ts, price, size, message):
    agg = simple()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        agg.update_many(np.asarray(ts), price, size)


def test_bad_batch_leaves_state_unchanged():
    agg = simple()
    agg.update(t("10:01"), 5.0, 1)
    with pytest.raises(ValueError):
        agg.update_many([t("10:02"), t("10:06")], [6.0, float("nan")], [1.0, 1.0])
    bar = agg.finish()
    assert len(bar) == 1 and bar.high[0] == 5.0 and bar.trades[0] == 1


def test_single_update_rejects_non_finite_price():
    with pytest.raises(ValueError, match="finite"):
        simple().update(t("10:01"), float("nan"), 1.0)


# --- on the real exchange calendar -------------------------------------------------


def test_session_boundary_and_daily_halt():
    bars = TimeBars("60min")
    closed = bars.update_many(
        [
            et_ns("2024-03-06 16:30"),
            et_ns("2024-03-06 17:00"),
            et_ns("2024-03-06 17:59:59"),
            et_ns("2024-03-06 18:00"),
        ],
        [1.0, 2.0, 3.0, 4.0],
        [1.0, 1.0, 1.0, 1.0],
    )
    assert bars.off_session_count == 2  # 17:00 sharp and inside the halt
    last = bars.finish()
    assert (closed.ts_open[0], closed.ts_close[0]) == (
        et_ns("2024-03-06 16:00"),
        et_ns("2024-03-06 17:00"),
    )
    assert (last.ts_open[0], last.ts_close[0]) == (
        et_ns("2024-03-06 18:00"),
        et_ns("2024-03-06 19:00"),
    )


@pytest.mark.parametrize(
    ("friday", "sunday", "utc_open_hour"),
    [("2024-03-08", "2024-03-10", 22), ("2024-11-01", "2024-11-03", 23)],
)
def test_hourly_edges_follow_exchange_time_across_dst(friday, sunday, utc_open_hour):
    bars = TimeBars("60min")
    out = Bars.concat(
        [
            bars.update_many(
                [et_ns(f"{friday} 16:30"), et_ns(f"{sunday} 18:00"), et_ns(f"{sunday} 19:10")],
                [1.0, 2.0, 3.0],
                [1.0, 1.0, 1.0],
            ),
            bars.finish(),
        ]
    )
    assert list(out.ts_open) == [
        et_ns(f"{friday} 16:00"),
        et_ns(f"{sunday} 18:00"),
        et_ns(f"{sunday} 19:00"),
    ]
    # the Sunday open is 18:00 ET whatever the UTC offset
    assert (out.ts_open[1] // 10**9) % 86400 == utc_open_hour * 3600


def test_anchor_0930_lines_hourly_bars_up_with_the_rth_open():
    bars = TimeBars("60min", anchor="09:30")
    day = "2024-03-06"
    out = Bars.concat(
        [
            bars.update_many(
                [
                    et_ns("2024-03-05 18:05"),
                    et_ns(f"{day} 09:29"),
                    et_ns(f"{day} 09:30"),
                    et_ns(f"{day} 16:45"),
                ],
                [1.0, 2.0, 3.0, 4.0],
                [1.0] * 4,
            ),
            bars.finish(),
        ]
    )
    assert [(o, c) for o, c in zip(out.ts_open, out.ts_close, strict=True)] == [
        (et_ns("2024-03-05 18:00"), et_ns("2024-03-05 18:30")),
        (et_ns(f"{day} 08:30"), et_ns(f"{day} 09:30")),
        (et_ns(f"{day} 09:30"), et_ns(f"{day} 10:30")),
        (et_ns(f"{day} 16:30"), et_ns(f"{day} 17:00")),
    ]


def test_early_close_ends_the_last_bar_and_session():
    # 2024-07-03: CME equity closes at 13:15 ET
    bars = TimeBars("30min")
    out = bars.update_many(
        [et_ns("2024-07-03 13:10"), et_ns("2024-07-03 13:15"), et_ns("2024-07-03 15:00")],
        [1.0, 2.0, 3.0],
        [1.0] * 3,
    )
    assert (out.ts_open[0], out.ts_close[0]) == (
        et_ns("2024-07-03 13:00"),
        et_ns("2024-07-03 13:15"),
    )
    assert bars.off_session_count == 2


def test_halt_inside_a_2018_session_splits_bars():
    # before mid-2021, CME equity halted 16:15-16:30 ET
    bars = TimeBars("30min", calendar="CME_Equity")
    out = Bars.concat(
        [
            bars.update_many(
                [et_ns("2018-05-07 16:10"), et_ns("2018-05-07 16:20"), et_ns("2018-05-07 16:30")],
                [1.0, 2.0, 3.0],
                [1.0] * 3,
            ),
            bars.finish(),
        ]
    )
    assert [(o, c) for o, c in zip(out.ts_open, out.ts_close, strict=True)] == [
        (et_ns("2018-05-07 16:00"), et_ns("2018-05-07 16:15")),
        (et_ns("2018-05-07 16:30"), et_ns("2018-05-07 17:00")),
    ]
    assert bars.off_session_count == 1


def test_daily_bar_covers_the_whole_session_including_its_halt():
    bars = TimeBars("1d", calendar="CME_Equity")
    out = Bars.concat(
        [
            bars.update_many(
                [et_ns("2018-05-06 18:00"), et_ns("2018-05-07 16:35"), et_ns("2018-05-07 18:01")],
                [1.0, 2.0, 3.0],
                [1.0] * 3,
            ),
            bars.finish(),
        ]
    )
    assert (out.ts_open[0], out.ts_close[0]) == (
        et_ns("2018-05-06 18:00"),
        et_ns("2018-05-07 17:00"),
    )
    assert out.trades[0] == 2 and out.close[0] == 2.0
    assert out.ts_close[1] == et_ns("2018-05-08 17:00")


def test_fill_does_not_invent_bars_for_a_whole_idle_session():
    bars = TimeBars("60min", fill=True)
    out = Bars.concat(
        [
            bars.update_many(
                [et_ns("2024-03-05 15:10"), et_ns("2024-03-07 09:10")], [1.0, 2.0], [1.0, 1.0]
            ),
            bars.finish(),
        ]
    )
    sessions = {int(c) for c in out.ts_close}
    assert et_ns("2024-03-05 17:00") in sessions  # rest of the first session filled
    assert not any(et_ns("2024-03-05 18:00") < c <= et_ns("2024-03-06 17:00") for c in sessions)
    assert et_ns("2024-03-06 19:00") in sessions  # start of the next traded session filled
    assert out.flags[-1] == PARTIAL and (out.flags[1:-1] == FILLED).all()


def test_combining_minute_bars_stamped_at_close():
    bars = TimeBars("5min")
    opens = [et_ns("2024-03-06 10:00") + i * MIN for i in range(6)]
    closes = [o + MIN for o in opens]
    out = Bars.concat(
        [
            bars.update_bars(
                closes,
                [1, 2, 3, 4, 5, 6],
                [2, 3, 9, 5, 6, 7],
                [1, 1, 1, 0, 4, 6],
                [2, 3, 4, 5, 6, 7],
                [1, 1, 1, 1, 1, 5],
                stamps="close",
                input_bar="1min",
            ),
            bars.finish(),
        ]
    )
    assert list(out.ts_open) == [et_ns("2024-03-06 10:00"), et_ns("2024-03-06 10:05")]
    assert (out.open[0], out.high[0], out.low[0], out.close[0], out.volume[0]) == (1, 9, 0, 6, 5)
    assert out.trades[0] == 5  # no trade counts given: input bars are counted


@pytest.mark.parametrize("stamps", ["open", "close"])
@pytest.mark.parametrize(
    ("bar", "last_open", "ts_open", "ts_close"),
    [
        ("5min", "2024-03-08 16:55", "2024-03-08 16:55", "2024-03-08 17:00"),  # session close
        ("60min", "2024-03-08 16:55", "2024-03-08 16:00", "2024-03-08 17:00"),
        ("30min", "2024-07-03 13:10", "2024-07-03 13:00", "2024-07-03 13:15"),  # early close
        ("15min", "2024-03-08 10:10", "2024-03-08 10:00", "2024-03-08 10:15"),  # mid-session
    ],
)
def test_last_combined_bar_is_complete_when_the_input_reaches_its_close(
    bar, last_open, ts_open, ts_close, stamps
):
    bars = TimeBars(bar)
    last = et_ns(last_open)
    opens = np.array([last - 10 * MIN, last - 5 * MIN, last])
    ts = opens + 5 * MIN if stamps == "close" else opens
    out = Bars.concat(
        [
            bars.update_bars(
                ts, *[[1.0, 2.0, 3.0]] * 4, [1.0] * 3, stamps=stamps, input_bar="5min"
            ),
            bars.finish(),
        ]
    )
    assert (out.ts_open[-1], out.ts_close[-1]) == (et_ns(ts_open), et_ns(ts_close))
    assert list(out.flags) == [0] * len(out)


@pytest.mark.parametrize("stamps", ["open", "close"])
def test_last_combined_bar_is_partial_when_the_input_stops_inside_it(stamps):
    bars = TimeBars("15min")
    opens = np.array([et_ns("2024-03-08 10:00"), et_ns("2024-03-08 10:05")])
    ts = opens + 5 * MIN if stamps == "close" else opens
    out = Bars.concat(
        [
            bars.update_bars(ts, *[[1.0, 2.0]] * 4, [1.0] * 2, stamps=stamps, input_bar="5min"),
            bars.finish(),
        ]
    )
    assert list(out.ts_close) == [et_ns("2024-03-08 10:15")] and list(out.flags) == [PARTIAL]


def test_combined_bars_without_the_input_size_end_partial():
    bars = TimeBars("5min")
    bars.update_bars([et_ns("2024-03-08 16:55")], [1.0], [1.0], [1.0], [1.0], [1.0])
    assert list(bars.finish().flags) == [PARTIAL]


def test_combining_rejects_input_size_that_does_not_divide():
    with pytest.raises(ValueError, match="do not divide"):
        TimeBars("5min").update_bars([0], [1], [1], [1], [1], [1], input_bar="2min")
