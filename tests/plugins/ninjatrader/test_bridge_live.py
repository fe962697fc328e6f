"""The ``ninjatrader`` output against a fake NinjaTrader 8 (ninjatrader_fake)
through the real engine: NinjaTrader reads incoming/ after every signal and
at every bar close, writes outgoing/ in the documented and the observed name
forms, fills, rejects, drops its connection and restarts. What the tests
check is what NinjaTrader received (its processed lines, golden by hand) and
what the output reported."""

from __future__ import annotations

import pytest
from ninjatrader_fake import FakeNinjaTrader
from ninjatrader_script import Script, entry, exit_of, run
from structlog.testing import capture_logs

ES = "ES 03-25"


def live(folder, **settings) -> dict:
    return {"folder": str(folder), "account": "Sim101", "orders": True, **settings}


def bracket(e, qty=2, stop="5795.00", target="5810.00", side="long") -> list[str]:
    i = e.id
    act, opp = ("BUY", "SELL") if side == "long" else ("SELL", "BUY")
    return [
        f"PLACE;Sim101;{ES};{act};{qty};MARKET;;;DAY;;rs-{i}-E;;",
        f"PLACE;Sim101;{ES};{opp};{qty};STOPMARKET;;{stop};DAY;rs-{i}-O;rs-{i}-S;;",
        f"PLACE;Sim101;{ES};{opp};{qty};LIMIT;{target};;DAY;rs-{i}-O;rs-{i}-T;;",
    ]


@pytest.fixture
def nt(tmp_path):
    fake = FakeNinjaTrader(tmp_path)
    fake.market[ES] = 5800.0
    fake.connect()
    return fake


def test_stop_hit_in_ninjatrader_leaves_nothing_to_cancel_and_no_drift(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:45", e, "stop"))
    script.on("09:44", lambda: nt.trigger(f"rs-{e.id}-S"))
    summary = run(script, live(tmp_path))
    assert nt.lines == bracket(e)
    assert nt.state(f"rs-{e.id}-T") == "Cancelled" and nt.position(ES) == 0
    assert summary.metrics["ninjatrader"]["drift"] == 0


def test_stop_exit_before_ninjatrader_fills_cancels_the_working_target(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:45", e, "stop"))
    script.on("09:46", lambda: nt.trigger(f"rs-{e.id}-S"))  # NinjaTrader's feed lags
    run(script, live(tmp_path))
    assert nt.lines == [*bracket(e), f"CANCEL;;;;;;;;;;rs-{e.id}-T;;"]


def test_rule_exit_sends_closeposition_and_ninjatrader_is_flat(tmp_path, nt):
    e = entry("09:40")
    summary = run(Script(nt).emit(e, exit_of("09:50", e, "lead_fade")), live(tmp_path))
    assert nt.lines == [*bracket(e), f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"]
    assert nt.position(ES) == 0
    assert nt.state(f"rs-{e.id}-S") == nt.state(f"rs-{e.id}-T") == "Cancelled"
    assert summary.metrics["ninjatrader"]["drift"] == 0


@pytest.mark.parametrize(
    "order_file, state_text",
    [("{account}_{id}.txt", str.upper), ("{id}.txt", str.title)],
    ids=["observed Account_orderId, FILLED", "documented orderId, Filled"],
)
def test_rejected_entry_unwinds_its_bracket_and_its_exit_sends_nothing(
    tmp_path, order_file, state_text
):
    nt = FakeNinjaTrader(tmp_path, order_file=order_file, state_text=state_text)
    nt.market[ES] = 5800.0
    nt.connect()
    e = entry("09:40")
    nt.reject.add(f"rs-{e.id}-E")
    with capture_logs() as logs:
        summary = run(Script(nt).emit(e, exit_of("09:50", e, "lead_fade")), live(tmp_path))
    assert nt.lines == [
        *bracket(e),
        f"CANCEL;;;;;;;;;;rs-{e.id}-S;;",
        f"CANCEL;;;;;;;;;;rs-{e.id}-T;;",
    ]
    assert nt.position(ES) == 0
    assert summary.metrics["ninjatrader"]["rejected"] == 1
    rejected = [x for x in logs if x["event"].startswith("order rejected")]
    assert [(x["log_level"], x["order"]) for x in rejected] == [("error", f"rs-{e.id}-E")]


@pytest.mark.parametrize(
    "position_file",
    [
        lambda inst, acct: f"{inst} Globex_{acct}_Position.txt",  # documented
        lambda inst, acct: f"{inst} Globex_{acct}_position.txt",  # observed, lower case
        lambda inst, acct: f"{inst.replace(' 03-', ' MAR')} Globex_{acct}_position.txt",
        lambda inst, acct: f"{inst.replace(' 03-2', 'H')} Globex_{acct}_position.txt",
    ],
    ids=["ES 03-25 Globex_Position", "lower-case position", "ES MAR25", "ESH5"],
)
def test_position_files_in_every_name_form_are_read_for_drift(tmp_path, position_file):
    nt = FakeNinjaTrader(tmp_path, position_file=position_file)
    nt.market[ES] = 5800.0
    nt.connect()
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("10:00", e, "lead_fade"))
    script.on("09:42", lambda: nt.manual(ES, +1))  # the trader buys one more by hand
    summary = run(script, live(tmp_path))
    assert summary.metrics["ninjatrader"]["drift"] == 1
    assert nt.lines[-1] == f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"  # the exit, as usual


def test_drift_is_an_error_in_the_log_and_the_journal(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e)
    script.on("09:42", lambda: nt.manual(ES, -2))  # flattened by hand in NinjaTrader
    with capture_logs() as logs:
        summary = run(script, live(tmp_path))
    drift = [x for x in logs if x["event"].startswith("position drift:")]
    assert [(x["log_level"], x["expected"], x["reported"]) for x in drift] == [("error", 2, 0)]
    journal = (tmp_path / "rsengine" / "bridge-journal.jsonl").read_text()
    assert '"type":"drift"' in journal and summary.metrics["ninjatrader"]["drift"] == 1
    assert nt.lines == bracket(e)  # report only: nothing sent


def test_drift_with_on_drift_flatten_closes_the_position_and_the_exit_sends_nothing(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("10:00", e, "lead_fade"))
    script.on("09:42", lambda: nt.manual(ES, +1))
    summary = run(script, live(tmp_path, on_drift="flatten"))
    assert nt.lines == [*bracket(e), f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"]
    assert nt.position(ES) == 0
    assert summary.metrics["ninjatrader"]["drift"] == 1


def test_limit_entry_brackets_its_first_fill_and_resizes_on_the_next(tmp_path, nt):
    nt.market[ES] = 5801.0  # above the buy limit: it works
    e = entry("09:40", entry=5799.75)
    i = e.id
    script = Script(nt).emit(e, exit_of("09:55", e, "target"))
    script.on("09:42", lambda: nt.fill_part(f"rs-{i}-E", 1, 5799.75))
    script.on("09:45", lambda: nt.fill_part(f"rs-{i}-E", 1, 5799.75))
    script.on("09:54", lambda: nt.trigger(f"rs-{i}-T"))
    summary = run(script, live(tmp_path, entry_order="limit"))
    assert nt.lines == [
        f"PLACE;Sim101;{ES};BUY;2;LIMIT;5799.75;;DAY;;rs-{i}-E;;",
        f"PLACE;Sim101;{ES};SELL;1;STOPMARKET;;5795.00;DAY;rs-{i}-O;rs-{i}-S;;",
        f"PLACE;Sim101;{ES};SELL;1;LIMIT;5810.00;;DAY;rs-{i}-O;rs-{i}-T;;",
        f"CHANGE;;;;2;;0;0;;;rs-{i}-S;;",
        f"CHANGE;;;;2;;0;0;;;rs-{i}-T;;",
    ]
    assert nt.position(ES) == 0 and summary.metrics["ninjatrader"]["drift"] == 0


def test_unfilled_limit_entry_is_cancelled_by_its_exit(tmp_path, nt):
    nt.market[ES] = 5801.0
    e = entry("09:40", entry=5799.75)
    run(Script(nt).emit(e, exit_of("09:50", e, "stop")), live(tmp_path, entry_order="limit"))
    assert nt.lines[1:] == [f"CANCEL;;;;;;;;;;rs-{e.id}-E;;"]
    assert nt.state(f"rs-{e.id}-E") == "Cancelled"


# -- the connection ------------------------------------------------------------------


def test_entry_waits_while_disconnected_and_goes_when_ninjatrader_reconnects(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e)
    script.on("09:38", lambda: nt.connect(False))
    seen = {}
    script.on("09:42", lambda: seen.setdefault("before reconnecting", list(nt.lines)))
    script.on("09:42", lambda: nt.connect(True))
    summary = run(script, live(tmp_path, queue_expiry="5min"))
    assert seen["before reconnecting"] == []
    assert nt.lines == bracket(e)
    assert summary.metrics["ninjatrader"]["expired"] == 0


def test_entry_queued_longer_than_queue_expiry_in_market_time_expires(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:55", e, "lead_fade"))
    script.on("09:38", lambda: nt.connect(False))
    script.on("09:45", lambda: nt.connect(True))
    with capture_logs() as logs:
        summary = run(script, live(tmp_path, queue_expiry="1min"))
    assert nt.lines == []
    assert summary.metrics["ninjatrader"]["expired"] == 1
    journal = (tmp_path / "rsengine" / "bridge-journal.jsonl").read_text()
    assert f'"key":"entry:{e.id}"' in journal and '"type":"expired"' in journal
    assert any(x["event"].startswith("queued entry expired") for x in logs)


def test_exit_of_a_sent_entry_waits_for_the_connection_however_long(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:45", e, "lead_fade"))
    script.on("09:44", lambda: nt.connect(False))
    script.on("10:40", lambda: nt.connect(True))
    summary = run(script, live(tmp_path, queue_expiry="1min"))
    assert nt.lines == [*bracket(e), f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"]
    assert summary.metrics["ninjatrader"]["expired"] == 0


def test_no_connection_file_counts_as_not_connected(tmp_path):
    nt = FakeNinjaTrader(tmp_path)  # never connects
    summary = run(Script(nt).emit(entry("09:40")), live(tmp_path))
    assert nt.lines == [] and summary.metrics["ninjatrader"]["queued"] == 0
    assert summary.metrics["ninjatrader"]["expired"] == 1


def test_named_connection_is_the_one_watched(tmp_path, nt):
    other = FakeNinjaTrader(tmp_path, connection="Kinetick")
    other.connect(False)  # a data feed that is down does not hold the orders back
    e = entry("09:40")
    run(Script(nt).emit(e), live(tmp_path, connection="Simulated Data Feed"))
    assert nt.lines == bracket(e)


# -- restarts -----------------------------------------------------------------------------


def test_ninjatrader_restart_clears_outgoing_and_the_bridge_sends_nothing_twice(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:50", e, "stop"))
    script.on("09:42", nt.restart)  # outgoing/ cleared, no connection file
    script.on("09:44", nt.connect)
    script.on("09:49", lambda: nt.trigger(f"rs-{e.id}-S"))
    summary = run(script, live(tmp_path))
    assert nt.lines == bracket(e)
    assert summary.metrics["ninjatrader"]["drift"] == 0


def test_replay_on_the_same_folder_sends_nothing_twice_and_reuses_no_file_name(tmp_path, nt):
    e1, e2 = entry("09:40"), entry("10:10", "short")
    first = Script(nt).emit(e1, exit_of("09:50", e1, "lead_fade"))
    run(first, live(tmp_path))
    sent = list(nt.lines)
    again = Script(nt).emit(e1, exit_of("09:50", e1, "lead_fade"), e2)
    summary = run(again, live(tmp_path))  # the fake refuses a file name seen before
    assert nt.lines == [*sent, *bracket(e2, side="short")]
    assert summary.metrics["ninjatrader"]["files"] == 1
    assert len(set(nt.files)) == len(nt.files) == 3


def test_resumed_session_exits_an_entry_known_only_from_the_journal(tmp_path, nt):
    e = entry("09:40")
    run(Script(nt).emit(e), live(tmp_path))  # stops with the trade open
    resumed = Script(nt).emit(exit_of("10:30", e, "lead_fade"))  # the entry is not replayed
    run(resumed, live(tmp_path))
    assert nt.lines == [*bracket(e), f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"]


def test_an_exit_queued_when_rsengine_stopped_is_sent_by_the_next_run(tmp_path, nt):
    e = entry("09:40")
    first = Script(nt).emit(e, exit_of("09:45", e, "lead_fade"))
    first.on("09:44", lambda: nt.connect(False))
    summary = run(first, live(tmp_path))
    assert summary.metrics["ninjatrader"]["queued"] == 1
    nt.connect(True)
    run(Script(nt), live(tmp_path))  # nothing replayed: the journal holds the exit
    assert nt.lines == [*bracket(e), f"CLOSEPOSITION;Sim101;{ES};;;;;;;;;;"]


def test_after_both_restart_the_journal_still_knows_the_working_orders(tmp_path, nt):
    e = entry("09:40")
    run(Script(nt).emit(e), live(tmp_path))
    nt.restart()  # outgoing/ is empty: only the journal knows the target works
    nt.connect()
    again = Script(nt).emit(e, exit_of("09:50", e, "stop"))
    again.on("09:51", lambda: nt.trigger(f"rs-{e.id}-S"))
    summary = run(again, live(tmp_path))
    assert nt.lines == [*bracket(e), f"CANCEL;;;;;;;;;;rs-{e.id}-T;;"]
    assert nt.position(ES) == 0 and summary.metrics["ninjatrader"]["drift"] == 0


def test_with_an_atm_template_its_own_exit_before_rsengines_is_no_drift(tmp_path, nt):
    e = entry("09:40")
    script = Script(nt).emit(e, exit_of("09:50", e, "stop"))
    script.on("09:42", lambda: nt.manual(ES, -2))  # the template's stop filled in NinjaTrader
    summary = run(script, live(tmp_path, atm_strategy="RS 1R"))
    assert nt.lines == [
        f"PLACE;Sim101;{ES};BUY;2;MARKET;;;DAY;;rs-{e.id}-E;RS 1R;rs-{e.id}-A",
        f"CANCEL;;;;;;;;;;TARGET1;;rs-{e.id}-A",
    ]
    assert summary.metrics["ninjatrader"]["drift"] == 0
