"""Orders are off unless turned on; settings are checked with errors naming
the key; command files appear only whole, by rename, under names never used
twice; a crash between the journal and the rename sends nothing twice."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading

import pytest
from ninjatrader_fake import FakeNinjaTrader
from ninjatrader_script import Script, entry, exit_of, run
from rsengine_ninjatrader import inbox
from rsengine_ninjatrader.journal import Journal

from rsengine.config import ConfigError, load_config
from rsengine.host.runner import build_engine

ES = "ES 03-25"
FINAL_NAME = re.compile(r"^oif-[0-9a-f]{8}-\d{6}\.txt$")


def config_text(folder, settings: str) -> str:
    return f"""
instruments: {{ES: {{}}}}
group: [ES]
sources: {{sim: {{days: 1}}}}
outputs:
  ninjatrader:
    folder: {folder}
{settings}"""


def refused(folder, settings: str) -> str:
    with pytest.raises(ConfigError) as caught:
        build_engine(load_config(config_text(folder, settings)))
    return str(caught.value)


# -- off unless turned on ----------------------------------------------------------------


def test_orders_are_off_by_default_even_with_an_account(tmp_path):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    e = entry("09:40")
    run(Script(nt).emit(e), {"folder": str(tmp_path), "account": "Sim101"})
    assert nt.lines == [] and nt.files == []
    assert not (tmp_path / "dry-run").exists()
    assert e.id in (tmp_path / "rsengine" / "signals.txt").read_text()  # the chart still sees it


def test_dry_run_never_writes_into_incoming(tmp_path):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    e = entry("09:40")
    settings = {"folder": str(tmp_path), "account": "Sim101", "orders": True, "dry_run": True}
    run(Script(nt).emit(e), settings)
    assert nt.files == [] and list((tmp_path / "incoming").iterdir()) == []
    assert len(list((tmp_path / "dry-run").glob("oif-*.txt"))) == 1


def test_orders_true_without_an_account_is_refused(tmp_path):
    text = refused(tmp_path, "    orders: true\n")
    assert "outputs.ninjatrader.orders" in text and "needs an account" in text


@pytest.mark.parametrize(
    "settings, key, says",
    [
        ("    acount: Sim101\n", "outputs.ninjatrader.acount", "unknown setting"),
        ("    orders: yes please\n", "outputs.ninjatrader.orders", "true or false"),
        ("    entry_order: stop\n", "outputs.ninjatrader.entry_order", "market, limit"),
        ("    tif: IOC\n", "outputs.ninjatrader.tif", "DAY, GTC"),
        ("    queue_expiry: soon\n", "outputs.ninjatrader.queue_expiry", "duration"),
        ("    on_drift: panic\n", "outputs.ninjatrader.on_drift", "report, flatten"),
        ("    account: 'Sim;101'\n", "outputs.ninjatrader.account", "';'"),
        ("    contracts: {EZ: ES 06-25}\n", "outputs.ninjatrader.contracts.EZ", "'ES'"),
    ],
)
def test_bad_settings_name_their_key(tmp_path, settings, key, says):
    text = refused(tmp_path, settings)
    assert key in text and says in text


def test_folder_is_required(tmp_path):
    with pytest.raises(ConfigError) as caught:
        build_engine(load_config(config_text(tmp_path, "").replace(f"    folder: {tmp_path}", "")))
    assert "outputs.ninjatrader.folder" in str(caught.value)


def test_live_orders_need_ninjatraders_incoming_and_outgoing_folders(tmp_path):
    text = refused(tmp_path, "    account: Sim101\n    orders: true\n")
    assert "outputs.ninjatrader.folder" in text
    assert "no incoming/ and no outgoing/" in text and "OneDrive" in text


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    FakeNinjaTrader(tmp_path)
    settings = "    account: Sim101\n    orders: true\n"
    first = build_engine(load_config(config_text(tmp_path, settings)))
    text = refused(tmp_path, settings)
    assert "outputs.ninjatrader.folder" in text and "another run" in text
    first.run()  # done: the folder is free again
    build_engine(load_config(config_text(tmp_path, settings)))


# -- files appear whole, by rename, never under a used name ------------------------------------


def test_files_appear_only_by_rename_and_whole(tmp_path):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    incoming = tmp_path / "incoming"
    stop, seen, bad = threading.Event(), set(), []

    def watch():  # NinjaTrader's view: any oif*.txt is read the moment it is there
        while not stop.is_set():
            for name in os.listdir(incoming):
                if not fnmatch.fnmatch(name, "oif*.txt"):
                    continue
                seen.add(name)
                text = (incoming / name).read_text()
                lines = text.splitlines()
                whole = text.endswith("\n") and lines and all(x.count(";") == 12 for x in lines)
                if not FINAL_NAME.match(name) or not whole:
                    bad.append((name, text))

    script = Script()  # no one empties incoming/: every file stays for the watcher
    for minute in range(60):  # 300 entries over the hour after 09:31
        hhmm = f"{9 + (31 + minute) // 60:02d}:{(31 + minute) % 60:02d}"
        script.emit(*(entry(hhmm, name=f"setup-{k}") for k in range(5)))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        summary = run(script, {"folder": str(tmp_path), "account": "Sim101", "orders": True})
    finally:
        stop.set()
        watcher.join()
    assert bad == []
    names = sorted(os.listdir(incoming))
    assert len(names) == summary.metrics["ninjatrader"]["files"] == 300
    assert all(FINAL_NAME.match(n) for n in names) and seen <= set(names)


def test_names_are_unique_across_two_runs_on_the_same_folder(tmp_path):
    settings = {"folder": str(tmp_path), "account": "Sim101", "orders": True, "dry_run": True}
    run(Script().emit(entry("09:40")), settings)
    run(Script().emit(entry("09:50")), settings)
    names = sorted(p.name for p in (tmp_path / "dry-run").glob("oif*.txt"))
    runs = {n.split("-")[1] for n in names}
    assert len(names) == 2 and len(runs) == 2
    assert sorted(int(n.split("-")[2][:6]) for n in names) == [1, 2]  # the counter carries on


def test_a_crash_between_journal_and_rename_sends_the_command_once(tmp_path, monkeypatch):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    e = entry("09:40")
    settings = {"folder": str(tmp_path), "account": "Sim101", "orders": True}

    def crash(src, dst):
        raise KeyboardInterrupt("killed before the rename")

    with monkeypatch.context() as patch:
        patch.setattr(inbox.os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            run(Script(nt).emit(e), settings)
    assert nt.lines == [] and [p.name for p in (tmp_path / "incoming").iterdir()] != []
    run(Script(nt).emit(e), settings)  # the replay: the command was never visible, so it goes
    assert [line.split(";")[10] for line in nt.lines] == [
        f"rs-{e.id}-E",
        f"rs-{e.id}-S",
        f"rs-{e.id}-T",
    ]
    assert list((tmp_path / "incoming").iterdir()) == []  # the temporary file is gone
    journal = (tmp_path / "rsengine" / "bridge-journal.jsonl").read_text()
    assert '"type":"abandoned"' in journal


def test_a_journal_line_cut_by_a_crash_is_dropped(tmp_path):
    path = tmp_path / "bridge-journal.jsonl"
    path.write_bytes(b'{"type":"start","run":"a"}\n{"type":"file","na')
    journal = Journal(path)
    assert journal.records == [{"type": "start", "run": "a"}]
    journal.append({"type": "start", "run": "b"})
    journal.close()
    assert [json.loads(x)["run"] for x in path.read_text().splitlines()] == ["a", "b"]


def test_an_exit_of_an_entry_never_placed_sends_nothing(tmp_path):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    e = entry("09:40")
    run(Script(nt).emit(exit_of("09:45", e, "lead_fade")), {
        "folder": str(tmp_path), "account": "Sim101", "orders": True,
    })  # fmt: skip
    assert nt.lines == []


def test_an_abandoned_command_stays_unsent_at_the_next_restart(tmp_path, monkeypatch):
    nt = FakeNinjaTrader(tmp_path)
    nt.connect()
    e = entry("09:40")
    settings = {"folder": str(tmp_path), "account": "Sim101", "orders": True}

    def crash(src, dst):
        raise KeyboardInterrupt("killed before the rename")

    with monkeypatch.context() as patch:
        patch.setattr(inbox.os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            run(Script(nt).emit(e), settings)
    run(Script(nt), settings)  # a restart that does not replay the entry
    run(Script(nt).emit(e), settings)  # a later one that does: it goes, once
    assert [line.split(";")[10] for line in nt.lines] == [
        f"rs-{e.id}-E",
        f"rs-{e.id}-S",
        f"rs-{e.id}-T",
    ]
