"""Reading NinjaTrader's outgoing/ folder: order states, positions and
connections in every name form and casing seen (INTEGRATIONS.md §1.3)."""

from __future__ import annotations

import datetime as dt

import pytest
from rsengine_ninjatrader.instruments import canonical
from rsengine_ninjatrader.outgoing import Outgoing

TODAY = dt.date(2025, 3, 5)
IDS = {"rs-abc-E", "rs-abc-S"}


def report(folder, files: dict, connection=None):
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Outgoing(folder, "Sim101", connection).read(IDS, today=TODAY)


@pytest.mark.parametrize(
    "text, state, filled, average",
    [
        ("FILLED;2;6501.25", "Filled", 2, 6501.25),
        ("Partially filled;1;6501.25\r\n", "Partially filled", 1, 6501.25),
        ("PARTIALLYFILLED;1;6501.25", "Partially filled", 1, 6501.25),
        ("working ; 0 ; 0", "Working", 0, 0.0),
        ("Change submitted;0;0", "Change submitted", 0, 0.0),
        ("CANCELED;0;0", "Cancelled", 0, 0.0),
        ("\ufeffRejected;0;0", "Rejected", 0, 0.0),
        ("TriggerPending;0;0", "Trigger pending", 0, 0.0),
    ],
)
def test_order_state_is_read_case_and_space_insensitively(tmp_path, text, state, filled, average):
    order = report(tmp_path, {"rs-abc-E.txt": text}).orders["rs-abc-E"]
    assert (order.state, order.filled, order.average) == (state, filled, average)


def test_order_files_in_the_documented_and_the_observed_name(tmp_path):
    got = report(tmp_path, {"rs-abc-E.txt": "FILLED;2;1", "Sim101_rs-abc-S.txt": "WORKING;0;0"})
    states = {k: v.state for k, v in got.orders.items()}
    assert states == {"rs-abc-E": "Filled", "rs-abc-S": "Working"}


def test_order_files_of_other_ids_and_accounts_are_not_ours(tmp_path):
    got = report(tmp_path, {"Sim102_rs-abc-E.txt": "FILLED;2;1", "rs-xyz-E.txt": "FILLED;1;1"})
    assert got.orders == {}


@pytest.mark.parametrize(
    "name",
    [
        "ES 03-25 Globex_Sim101_Position.txt",
        "ES 03-25 Globex_Sim101_position.txt",
        "ES MAR25 Globex_Sim101_position.txt",
        "ESH5 Globex_Sim101_position.txt",
        "ES 03-25_Sim101_Position.txt",
    ],
)
def test_position_file_names_in_every_form_give_the_contract(tmp_path, name):
    got = report(tmp_path, {name: "SHORT;3;6501.25"})
    assert {k: v.signed for k, v in got.positions.items()} == {"ES 03-25": -3}


def test_positions_of_another_account_are_ignored(tmp_path):
    assert report(tmp_path, {"ES 03-25 Globex_Sim102_Position.txt": "LONG;1;1"}).positions == {}


def test_flat_position_is_zero(tmp_path):
    got = report(tmp_path, {"NQ 06-24 Globex_Sim101_position.txt": "FLAT;0;0"})
    assert got.positions["NQ 06-24"].signed == 0


def test_connection_files_by_content_or_by_the_configured_name(tmp_path):
    files = {"Simulated Data Feed.txt": "CONNECTED", "Kinetick.txt": "DISCONNECTED\r\n"}
    assert report(tmp_path, files).connections == {"Simulated Data Feed": True, "Kinetick": False}
    named = Outgoing(tmp_path, "Sim101", "Kinetick").read(IDS)
    assert named.connections == {"Kinetick": False}


def test_a_file_being_written_is_skipped_and_read_at_the_next_poll(tmp_path):
    outgoing = Outgoing(tmp_path, "Sim101")
    (tmp_path / "rs-abc-E.txt").write_text("")
    assert outgoing.read(IDS).orders == {}
    (tmp_path / "rs-abc-E.txt").write_text("FILLED;2;6501.25")
    assert outgoing.read(IDS).orders["rs-abc-E"].filled == 2


@pytest.mark.parametrize(
    "name, want",
    [("ES 12-25", "ES 12-25"), ("ESZ5", "ES 12-25"), ("ESZ25", "ES 12-25"),
     ("es dec25", "ES 12-25"), ("MNQ SEP24", "MNQ 09-24"), ("MNQM6", "MNQ 06-26")],
)  # fmt: skip
def test_contract_names_of_every_display_form_compare_equal(name, want):
    assert canonical(name, today=TODAY) == want
