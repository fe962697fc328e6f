"""History replay through the real RithmicClient on the loopback gateway:
paging past the row cap, an incomplete answer, no data."""

import pytest
from rithmic_helpers import T0, rows_of, source, stub_fixture  # noqa: F401  (the fixture stub)
from rithmic_stub import RithmicStub, series

from rsengine.feeds import FeedError

DAY = "2025-03-04"


def replay(src) -> dict:
    return {symbol: rows_of(list(stream)) for symbol, stream in src.streams().items()}


def test_25000_ticks_in_pages_of_10000_arrive_once_in_order(stub):
    # 37 ms apart with every 4th trade on its predecessor's stamp: the cap cuts
    # seconds in the middle, and stamps repeat across page edges
    ticks = series(T0, 25_000, 37_000_000, same_stamp_every=4)
    stub.add_trades("ESH5", "CME", ticks)
    got = replay(source(stub, mode="replay", start=DAY, end=DAY))
    assert got["ES"] == ticks
    pages = [r for r in stub.replays if r[0] == "ESH5"]
    assert [p[4] for p in pages[:2]] == [10_000, 10_000]  # the cap, twice
    # the second page resumes in the second the first one ended in, not after it
    assert pages[1][2] == ticks[9_999][0] // 10**9


def test_sessions_of_a_window_come_in_turn_and_a_day_without_data_is_empty(stub):
    tuesday = series(T0, 300, 2 * 10**9)
    thursday = series(T0 + 2 * 86_400 * 10**9, 200, 3 * 10**9, price=5010.0)
    stub.add_trades("ESH5", "CME", tuesday + thursday)
    got = replay(source(stub, mode="replay", start="2025-03-03", end="2025-03-07"))
    assert got["ES"] == tuesday + thursday
    # Monday, Wednesday and Friday were answered rp_code 7 (no data): empty, no error
    assert sum(1 for r in stub.replays if r[4] == 0) == 3


@pytest.fixture
def small_pages(monkeypatch):
    from rithmic_helpers import PASSWORD_VAR

    gateway = RithmicStub(page_rows=1000).start()
    monkeypatch.setenv(PASSWORD_VAR, gateway.password)
    gateway.add_trades("ESH5", "CME", series(T0, 2_500, 200_000_000))
    yield gateway
    gateway.stop()


def test_an_error_code_on_a_later_page_is_an_error_not_a_short_series(small_pages):
    small_pages.history_fault = ("error", 2)
    with pytest.raises(FeedError, match=r"history of ESH5 on CME: .*page 2 .*'3', 'bad request'"):
        replay(source(small_pages, mode="replay", start=DAY, end=DAY, page_rows=1000))


def test_an_answer_that_stops_without_its_end_is_an_error(small_pages):
    small_pages.history_fault = ("stall", 2)
    with pytest.raises(FeedError, match=r"nothing came for 0.3 s \(500 rows"):
        replay(
            source(small_pages, mode="replay", start=DAY, end=DAY, timeout="0.3s", page_rows=1000)
        )


def test_running_out_of_pages_is_an_error(small_pages):
    with pytest.raises(FeedError, match="not whole after max_pages 2 pages"):
        replay(source(small_pages, mode="replay", start=DAY, end=DAY, max_pages=2, page_rows=1000))


def test_more_trades_in_one_second_than_a_page_holds_is_an_error(monkeypatch):
    from rithmic_helpers import PASSWORD_VAR

    gateway = RithmicStub(page_rows=100).start()
    monkeypatch.setenv(PASSWORD_VAR, gateway.password)
    try:
        gateway.add_trades("ESH5", "CME", series(T0, 150, 1000))  # 150 trades in 150 us
        with pytest.raises(FeedError, match="100 trades in the one second"):
            replay(source(gateway, mode="replay", start=DAY, end=DAY, page_rows=100))
    finally:
        gateway.stop()
