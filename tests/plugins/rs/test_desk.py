"""The desk of the trade setups (plugins/rsengine_rs/desk.py): each entry gets
exactly one exit, the risk limits hold for all setups together, and any cut of
a session into batches gives the same signals. Batches are built by hand."""

from __future__ import annotations

import datetime as dt
import math
import types

import attrs
import numpy as np
import pytest
import structlog
from conftest import et_ns
from rsengine_rs.desk import Candidate, Desk
from rsengine_rs.sizing import Check, stack

from rsengine.config import Config
from rsengine.state import SessionInfo

DATE = "2025-03-06"
FULL = stack(*(Check(n, True, "") for n in ("rs", "tick", "add", "volume")))


def session(date=DATE) -> SessionInfo:
    day = dt.date.fromisoformat(date)
    prev = (day - dt.timedelta(days=1)).isoformat()
    return SessionInfo(date, et_ns(f"{prev} 18:00"), et_ns(f"{date} 17:00"),
                       et_ns(f"{date} 09:30"), et_ns(f"{date} 16:00"))  # fmt: skip


class FakeBatch(types.SimpleNamespace):
    """What the setups and the desk read of a SliceBatch."""

    def __len__(self):
        return len(self.ts_close)


def bars(clocks, ohlc, date=DATE):
    """One ES column: bar close clocks (ET) and (open, high, low, close) rows."""
    a = np.array(ohlc, float).reshape(len(clocks), 4, 1)
    return FakeBatch(
        symbols=("ES",),
        ts_close=np.array([et_ns(f"{date} {c}") for c in clocks], np.int64),
        present=np.ones((len(clocks), 1), bool),
        open=a[:, 0], high=a[:, 1], low=a[:, 2], close=a[:, 3],
    )  # fmt: skip


def cut(batch, lo, hi):
    return FakeBatch(
        symbols=batch.symbols,
        **{k: getattr(batch, k)[lo:hi] for k in ("ts_close", "present", "open", "high", "low",
                                                 "close")},
    )  # fmt: skip


class Setup:
    def __init__(self, desk, name="test_setup"):
        self.name, self.log = name, structlog.get_logger("test")
        self.chop_cap, self.afternoon_discount = 0.25, 0.5
        desk.join(self)

    def contract(self, symbol, day, root):
        return f"{root} 03-25"


def make_desk(**risk):
    config = Config.from_dict(
        {"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"], "risk": risk}
    )
    context = types.SimpleNamespace(config=config, shared={}, data_labels=("TEST",))
    return Desk.of(context)


def state(n, date=DATE):
    return types.SimpleNamespace(session=session(date), values={}, tz="America/New_York")


def long_at(row, entry=100.0, stop=98.0, target=104.0, rule=None):
    return Candidate(row, 0, "long", entry, stop, target, FULL, "test entry", exit_rule=rule)


CLOCKS = ["10:00", "10:05", "10:10", "10:15", "10:20"]


def run(batch, candidates, desk=None, splits=()):
    """Walk ``batch`` (cut at ``splits``) with ``candidates`` (rows of the whole batch)."""
    desk = desk or make_desk()
    setup = Setup(desk) if not desk.members else desk.members[0]
    out, edges = [], [0, *splits, len(batch.ts_close)]
    for lo, hi in zip(edges, edges[1:], strict=False):
        part = cut(batch, lo, hi)
        mine = [attrs.evolve(c, row=c.row - lo) for c in candidates if lo <= c.row < hi]
        out += desk.submit(setup, part, state(hi - lo), mine)
    return out, desk


def test_target_reached_closes_the_trade_at_the_target_linked_by_id():
    b = bars(CLOCKS, [[100, 100, 100, 100], [100, 103, 99, 102], [102, 104.5, 101, 104],
                      [104, 105, 103, 104], [104, 104, 104, 104]])  # fmt: skip
    (entry, exit_), _ = run(b, [long_at(0)])
    assert (entry.kind, entry.contracts) == ("setup", 5)  # 500 / (2 pt x $50)
    assert exit_.kind == "exit" and exit_.details["entry_id"] == entry.id
    assert exit_.ts_close == b.ts_close[2] and exit_.details["exit"] == "target"
    assert exit_.details["exit_price"] == 104.0
    assert exit_.details["pnl_usd"] == 4 * entry.contracts * 50


def test_contracts_follow_the_budget():
    b = bars(CLOCKS[:2], [[100] * 4, [100, 100.5, 99.5, 100]])
    (entry,), _ = run(b, [long_at(0, stop=99.0)])  # 1 pt x $50: 500 / 50 = 10
    assert entry.contracts == 10 and entry.size_fraction == 1.0


def test_a_bar_reaching_stop_and_target_is_taken_as_the_stop():
    b = bars(CLOCKS[:2], [[100] * 4, [100, 105, 97.5, 101]])
    (_, exit_), _ = run(b, [long_at(0)])
    assert exit_.details["exit"] == "stop" and exit_.details["exit_price"] == 98.0


def test_a_bar_opening_through_the_stop_fills_at_its_open():
    b = bars(CLOCKS[:2], [[100] * 4, [97, 97.5, 96, 97]])
    (_, exit_), _ = run(b, [long_at(0)])
    assert exit_.details["exit_price"] == 97.0


def test_stop_just_missed_stays_open_until_the_rth_close():
    clocks = [*CLOCKS[:2], "15:55", "16:00", "16:05"]
    b = bars(clocks, [[100] * 4, [100, 103.75, 98.25, 101], [101, 102, 100, 101.5],
                      [101.5, 102, 101, 101.25], [101, 101, 90, 90]])  # fmt: skip
    (entry, exit_), desk = run(b, [long_at(0)])
    assert exit_.details["exit"] == "session_end" and exit_.ts_close == b.ts_close[3]
    assert exit_.details["exit_price"] == 101.25  # the 16:00 close; 16:05's low is not a stop
    assert not desk.open


def test_the_setups_own_rule_exits_at_the_close():
    def rule(batch, state, trade, start):
        return batch.close[start:, 0] < 100.5, "rule", "test rule"

    b = bars(CLOCKS, [[100] * 4, [100, 101, 99, 101], [101, 101, 100, 100.25],
                      [100, 100, 100, 100], [100] * 4])  # fmt: skip
    (_, exit_), _ = run(b, [long_at(0, rule=rule)])
    assert exit_.ts_close == b.ts_close[2] and exit_.details["exit_price"] == 100.25


@pytest.mark.parametrize("splits", [(1,), (2,), (3,), (1, 2, 3, 4)])
def test_any_cut_of_the_session_gives_the_same_signals(splits):
    clocks = [*CLOCKS, "16:00"]
    rows = [[100] * 4, [100, 101, 99, 101], [101, 102, 100, 101], [101, 104.5, 100, 104],
            [100] * 4, [100, 100, 96, 96]]  # fmt: skip
    candidates = [long_at(0, stop=97.0), long_at(4, stop=95.5, target=110.0)]
    whole, _ = run(bars(clocks, rows), candidates)
    parts, _ = run(bars(clocks, rows), candidates, splits=splits)
    assert [s.to_json() for s in parts] == [s.to_json() for s in whole]
    assert [s.details.get("exit") for s in whole] == [None, "target", None, "session_end"]


def test_max_trades_holds_for_every_setup_together():
    desk = make_desk(max_trades=2)
    first, second = Setup(desk, "a"), Setup(desk, "b")
    b = bars(CLOCKS, [[100, 100, 97.75, 100]] * 5)  # each entry is stopped on the next bar
    assert desk.submit(first, b, state(5), [long_at(0), long_at(2)]) == []  # waits for "b"
    out = desk.submit(second, b, state(5), [long_at(1)])
    entries = [s for s in out if s.kind == "setup"]
    assert [(s.name, s.ts_close) for s in entries] == [("a", b.ts_close[0]), ("b", b.ts_close[1])]
    assert desk.refused["max_trades"] == 1


def test_after_the_daily_loss_limit_no_entry():
    desk = make_desk(daily_loss_limit=400)
    b = bars(CLOCKS, [[100] * 4, [100, 100, 97, 97], [97] * 4, [97] * 4, [97] * 4])
    out, _ = run(b, [long_at(0), long_at(2, entry=97, stop=95, target=101)], desk=desk)
    # 5 x 2 pt x $50 = $500 lost
    assert [s.kind for s in out] == ["setup", "exit", "halt"]
    halt = out[2]
    assert (halt.name, halt.instrument, halt.side, halt.ts_close) == (
        "daily_loss_limit", "*", "flat", b.ts_close[1])  # fmt: skip
    assert halt.details == {"pnl_usd": -500.0, "limit_usd": 400}
    assert desk.refused["daily_loss_limit"] == 1


def test_the_halt_closes_every_other_open_trade_at_the_bar_close():
    desk = make_desk(daily_loss_limit=400, budget=1000)
    b = bars(CLOCKS, [[100] * 4, [100] * 4, [100, 100, 97.5, 99], [99] * 4, [99] * 4])
    b.symbols = ("ES", "NQ")
    for k in ("open", "high", "low", "close"):  # NQ is flat at 100 all along
        setattr(b, k, np.hstack([getattr(b, k), np.full((5, 1), 100.0)]))
    b.present = np.ones((5, 2), bool)
    nq = Candidate(1, 1, "long", 100.0, 90.0, 120.0, FULL, "test entry NQ")
    out, desk = run(b, [long_at(0), nq], desk=desk)
    # ES: 1000 / (2 pt x $50) = 10 contracts, stopped at 98 on the 10:05 bar: -$1,000
    assert [(s.kind, s.instrument, s.details.get("exit")) for s in out] == [
        ("setup", "ES", None), ("setup", "NQ", None), ("exit", "ES", "stop"),
        ("exit", "NQ", "daily_loss_limit"), ("halt", "*", None)]  # fmt: skip
    assert out[3].ts_close == out[4].ts_close == b.ts_close[2]
    assert out[3].details["exit_price"] == 100.0 and not desk.open


def test_the_halt_holds_only_for_its_session():
    desk = make_desk(daily_loss_limit=400)
    b = bars(CLOCKS, [[100] * 4, [100, 100, 97, 97], [97] * 4, [97] * 4, [97] * 4])
    run(b, [long_at(0)], desk=desk)
    nxt = "2025-03-07"
    b2 = bars(CLOCKS, [[100] * 4] * 5, date=nxt)
    out = desk.submit(desk.members[0], b2, state(5, nxt), [long_at(0)])
    assert [s.kind for s in out] == ["setup"]


def test_zero_contracts_is_a_signal_with_its_reason_and_no_position():
    desk = make_desk(budget=100, micro_fallback=False)
    b = bars(CLOCKS[:2], [[100] * 4, [100, 100, 90, 90]])
    entry, _ = run(b, [long_at(0)], desk=desk)[0]  # 2 pt x $50 = $100 = the budget
    assert entry.contracts == 1
    desk = make_desk(budget=99, micro_fallback=False)
    (entry,), desk = run(b, [long_at(0)], desk=desk)
    assert (
        entry.contracts == 0 and "no order: stop 2 pt x $50 = $100.00 > budget $99" in entry.reason
    )
    assert not desk.open and desk.entries == 0


def test_one_position_per_instrument_whichever_setup_holds_it():
    desk = make_desk()
    first, second = Setup(desk, "a"), Setup(desk, "b")
    b = bars(CLOCKS, [[100] * 4, [100] * 4, [100, 100, 97, 97], [97] * 4, [97] * 4])
    desk.submit(first, b, state(5), [long_at(0)])
    out = desk.submit(second, b, state(5), [long_at(1), long_at(3, entry=97, stop=95)])
    # b's 10:05 entry is refused while a's long is open; after a's stop at 10:10, b enters
    assert [(s.name, s.kind, s.ts_close) for s in out] == [
        ("a", "setup", b.ts_close[0]),
        ("a", "exit", b.ts_close[2]),
        ("b", "setup", b.ts_close[3]),
    ]
    assert desk.refused["position_open"] == 1


def test_risk_max_contracts_caps_the_entry_and_its_exit():
    desk = make_desk(max_contracts=3)
    b = bars(CLOCKS[:2], [[100] * 4, [100, 100, 99, 99]])
    entry, exit_ = run(b, [long_at(0, stop=99.0)], desk=desk)[0]  # 10 by the formula
    assert (entry.contracts, exit_.contracts) == (3, 3)
    assert exit_.details["pnl_usd"] == -1 * 3 * 50


@pytest.mark.parametrize("splits", [(), (1,), (2,)])
def test_a_close_exit_on_a_row_without_the_instruments_bar_takes_its_last_close(splits):
    # 16:00: the slice has no ES bar; in its own batch no earlier ES close is in sight
    b = bars([*CLOCKS[:2], "16:00"], [[100] * 4, [100, 101, 99, 101], [math.nan] * 4])
    b.present[2] = False
    (entry, exit_), desk = run(b, [long_at(0)], splits=splits)
    assert exit_.details["exit"] == "session_end" and exit_.ts_close == b.ts_close[2]
    assert exit_.details["exit_price"] == 101.0
    assert exit_.details["pnl_usd"] == 1 * entry.contracts * 50
    exit_.to_json()  # a finite price: the record serialises
    assert not desk.open


def test_a_trade_left_over_into_the_next_session_exits_at_its_last_close():
    # the data stop before the RTH close and the last slice has no ES bar
    b = bars(CLOCKS[:3], [[100] * 4, [100, 101, 99, 100.5], [math.nan] * 4])
    b.present[2] = False
    desk = make_desk()
    setup = Setup(desk)
    first = desk.submit(setup, b, state(3), [long_at(0)])
    nxt = bars(["10:00"], [[100] * 4], date="2025-03-07")
    later = desk.submit(setup, nxt, state(1, "2025-03-07"), [])
    assert [s.kind for s in first] == ["setup"]
    (exit_,) = later
    assert exit_.details["exit"] == "session_end" and exit_.details["exit_price"] == 100.5
    exit_.to_json()
