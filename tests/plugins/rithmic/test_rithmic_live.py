"""Live ticks, a dropped line and its gap backfill, through the real
RithmicClient on the loopback gateway."""

import threading

from rithmic_helpers import T0, Reader, source, stub_fixture  # noqa: F401  (the fixture stub)
from rithmic_stub import series

S = 10**9
CLOCK = T0 + 3600 * S  # the feed's "now": after every trade of the tests


def start(src) -> tuple:
    reader, stop = Reader(), threading.Event()
    src.feed.clock = lambda: CLOCK
    src.start_live(reader.queue, stop)
    return reader, stop


def finish(reader, stop) -> None:
    stop.set()
    reader.until(lambda r: r.ended)


def test_warm_up_from_history_then_live_ticks(stub):
    warm = series(T0, 50, S)
    stub.add_trades("ESH5", "CME", warm)
    src = source(stub, warmup="2h")
    reader, stop = start(src)
    reader.until(lambda r: r.count("ES") == 50 and stub.subscribed("ESH5", "CME"))
    live = series(T0 + 100 * S, 20, S // 2, price=5003.0)
    stub.push_trades("ESH5", "CME", live)
    reader.until(lambda r: r.count("ES") == 70)
    finish(reader, stop)
    assert reader.rows("ES") == warm + live
    assert reader.kinds()[0] == "connected"
    assert reader.notices[0].details["contracts"] == {"ES": "ESH5"}


def test_a_drop_is_backfilled_from_history_nothing_lost_or_doubled(stub):
    warm = series(T0, 40, S)
    stub.add_trades("ESH5", "CME", warm)
    stub.add_trades("NQH5", "CME", series(T0, 10, S, price=21000.0))
    src = source(stub, symbols=("ES", "NQ"))
    reader, stop = start(src)
    reader.until(lambda r: r.count("ES") == 40 and stub.subscribed("ESH5", "CME"))
    before = series(T0 + 60 * S, 15, S // 4, price=5004.0)
    before[-1] = (before[-2][0], before[-1][1], before[-1][2])  # the last two share a stamp
    stub.push_trades("ESH5", "CME", before)
    reader.until(lambda r: r.count("ES") == 55)

    stub.refuse = True  # the line is down: no reconnect gets through yet
    stub.drop()
    reader.until(lambda r: "disconnected" in r.kinds())
    # while it is down the market trades on, starting at the very stamp delivery stopped at
    gap = [(before[-1][0], 5001.0, 3.0)] + series(T0 + 70 * S, 30, S // 3, price=5002.0)
    stub.add_trades("ESH5", "CME", gap)
    stub.refuse = False
    reader.until(lambda r: "backfilled" in r.kinds() and stub.subscribed("ESH5", "CME"))
    after = series(T0 + 90 * S, 10, S, price=5006.0)
    stub.push_trades("ESH5", "CME", after)
    reader.until(lambda r: r.count("ES") == 55 + len(gap) + len(after))
    finish(reader, stop)

    assert reader.rows("ES") == stub.trades[("ESH5", "CME")]
    assert reader.rows("ES") == warm + before + gap + after
    assert reader.rows("NQ") == stub.trades[("NQH5", "CME")]
    kinds = reader.kinds()
    assert kinds.index("disconnected") < kinds.index("backfilled")
    backfilled = reader.notices[kinds.index("backfilled")]
    assert backfilled.details["rows"]["ES"] == len(gap)
    # each connection logged in to the ticker plant, then the history plant
    accepted = [infra for infra, _, ok in stub.logins if ok]
    assert accepted[:4] == [1, 3, 1, 3]


def test_a_refused_login_ends_the_live_feed_with_the_reason(stub, monkeypatch):
    from rithmic_helpers import PASSWORD_VAR

    monkeypatch.setenv(PASSWORD_VAR, "wrong")
    reader, stop = start(source(stub))
    reader.until(lambda r: r.ended)
    assert reader.kinds() == ["error"]
    assert "rp_code ['13', 'permission denied']" in reader.notices[0].message
    assert "wrong" not in reader.notices[0].message
