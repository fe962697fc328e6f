"""Sessions and the bar grid built from the exchange calendar."""

import datetime as dt

import numpy as np
import pytest
from conftest import MIN, et_ns

from rsengine.exchange.sessions import load_schedule, parse_anchor, parse_bar_size, segments


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("30s", 30 * 10**9),
        ("1min", MIN),
        ("5 min", 5 * MIN),
        ("1h", 60 * MIN),
        ("1d", 1440 * MIN),
        (MIN, MIN),
    ],
)
def test_bar_size_parses_to_nanoseconds(text, ns):
    assert parse_bar_size(text) == ns


@pytest.mark.parametrize("text", ["5 parsecs", "min", "0min", "2d", "-5min"])
def test_bad_bar_size_says_what_is_expected(text):
    with pytest.raises(ValueError, match="bar size"):
        parse_bar_size(text)


def test_anchor_parses_session_and_time_of_day():
    assert parse_anchor(None) is None and parse_anchor("session") is None
    assert parse_anchor("09:30") == dt.time(9, 30)
    with pytest.raises(ValueError, match="anchor"):
        parse_anchor("half past nine")


def test_session_runs_1800_et_previous_day_to_1700_et_and_is_dated_by_its_close():
    s = load_schedule(dt.date(2024, 3, 6), dt.date(2024, 3, 6))
    assert list(s.session_date) == [np.datetime64("2024-03-06")]
    assert s.open_ns[0] == et_ns("2024-03-05 18:00") and s.close_ns[0] == et_ns("2024-03-06 17:00")


def test_calendar_holiday_has_no_session_and_early_close_is_kept():
    s = load_schedule(dt.date(2024, 12, 23), dt.date(2024, 12, 27))
    dates = [str(d) for d in s.session_date]
    assert "2024-12-25" not in dates
    i = dates.index("2024-12-24")
    assert s.close_ns[i] == et_ns("2024-12-24 13:15")


def test_schedule_session_index_finds_the_session_of_a_stamp():
    s = load_schedule(dt.date(2024, 3, 5), dt.date(2024, 3, 7))
    idx = s.session_index(
        [et_ns("2024-03-05 18:00"), et_ns("2024-03-05 17:30"), et_ns("2024-03-06 16:59")]
    )
    assert list(idx) == [1, -1, 1]


def test_segments_split_at_a_halt_for_intraday_bars_only():
    s = load_schedule(dt.date(2018, 5, 7), dt.date(2018, 5, 7), calendar="CME_Equity")
    so, sc, _ = segments(s, 5 * MIN)
    assert list(so) == [et_ns("2018-05-06 18:00"), et_ns("2018-05-07 16:30")]
    assert list(sc) == [et_ns("2018-05-07 16:15"), et_ns("2018-05-07 17:00")]
    so, sc, _ = segments(s, parse_bar_size("1d"))
    assert list(so) == [et_ns("2018-05-06 18:00")] and list(sc) == [et_ns("2018-05-07 17:00")]


def test_anchor_is_local_time_on_the_session_date_across_dst():
    s = load_schedule(dt.date(2024, 3, 8), dt.date(2024, 3, 11))
    _, _, anchors = segments(s, 60 * MIN, dt.time(9, 30))
    assert list(anchors) == [et_ns("2024-03-08 09:30"), et_ns("2024-03-11 09:30")]
    assert anchors[1] - anchors[0] == (3 * 24 - 1) * 60 * MIN  # one hour lost to DST
