"""Golden OIF lines for every command the ``ninjatrader`` output writes, run
through the real engine in a dry run (the files land in ``dry-run/``). The
expected lines are written by hand from the ATI grammar:

    COMMAND;ACCOUNT;INSTRUMENT;ACTION;QTY;ORDER TYPE;LIMIT PRICE;STOP PRICE;
    TIF;OCO ID;ORDER ID;STRATEGY;STRATEGY ID          (one line)
"""

from __future__ import annotations

import json

import pytest
from ninjatrader_script import Script, context, entry, exit_of, halt, run

DRY = {"account": "Sim101", "orders": True, "dry_run": True}


def files(folder) -> list[list[str]]:
    """The lines of each OIF file, in the order written."""
    paths = sorted((folder / "dry-run").glob("oif-*.txt"))
    return [p.read_text(encoding="utf-8").splitlines() for p in paths]


def lines(folder) -> list[str]:
    return [line for f in files(folder) for line in f]


def test_market_entry_is_a_place_with_its_stop_and_target_as_one_oco_bracket(tmp_path):
    e = entry("09:40", "long", 2, entry=5800.0, stop=5795.0, target=5810.0)
    run(Script().emit(e), {"folder": str(tmp_path), **DRY})
    i = e.id
    assert files(tmp_path) == [
        [
            f"PLACE;Sim101;ES 03-25;BUY;2;MARKET;;;DAY;;rs-{i}-E;;",
            f"PLACE;Sim101;ES 03-25;SELL;2;STOPMARKET;;5795.00;DAY;rs-{i}-O;rs-{i}-S;;",
            f"PLACE;Sim101;ES 03-25;SELL;2;LIMIT;5810.00;;DAY;rs-{i}-O;rs-{i}-T;;",
        ]
    ]


def test_short_entry_brackets_on_the_buy_side_with_gtc(tmp_path):
    e = entry("09:40", "short", 1, entry=5801.0, stop=5806.25, target=5791.5)
    run(Script().emit(e), {"folder": str(tmp_path), **DRY, "tif": "gtc"})
    i = e.id
    assert lines(tmp_path) == [
        f"PLACE;Sim101;ES 03-25;SELL;1;MARKET;;;GTC;;rs-{i}-E;;",
        f"PLACE;Sim101;ES 03-25;BUY;1;STOPMARKET;;5806.25;GTC;rs-{i}-O;rs-{i}-S;;",
        f"PLACE;Sim101;ES 03-25;BUY;1;LIMIT;5791.50;;GTC;rs-{i}-O;rs-{i}-T;;",
    ]


def test_every_line_has_thirteen_fields(tmp_path):
    e1, e2 = entry("09:40"), entry("10:00", "short")
    script = Script().emit(e1, exit_of("09:45", e1, "stop"), e2, exit_of("10:05", e2, "lead_fade"))
    run(script, {"folder": str(tmp_path), **DRY})
    assert lines(tmp_path)
    assert all(line.count(";") == 12 for line in lines(tmp_path))


def test_stop_exit_cancels_the_target_and_target_exit_cancels_the_stop(tmp_path):
    e1, e2 = entry("09:40"), entry("09:50", "short", entry=5801.0, stop=5806.0, target=5791.0)
    script = Script().emit(e1, exit_of("09:45", e1, "stop"), e2, exit_of("09:55", e2, "target"))
    run(script, {"folder": str(tmp_path), **DRY})
    written = files(tmp_path)
    assert written[1] == [f"CANCEL;;;;;;;;;;rs-{e1.id}-T;;"]
    assert written[3] == [f"CANCEL;;;;;;;;;;rs-{e2.id}-S;;"]


@pytest.mark.parametrize("how", ["lead_fade", "session_end", "daily_loss_limit"])
def test_rule_session_end_and_loss_limit_exits_close_the_position(tmp_path, how):
    e = entry("09:40")
    run(Script().emit(e, exit_of("09:45", e, how)), {"folder": str(tmp_path), **DRY})
    assert files(tmp_path)[1] == ["CLOSEPOSITION;Sim101;ES 03-25;;;;;;;;;;"]


def test_halt_closes_every_instrument_still_held_and_no_entry_follows(tmp_path):
    es = entry("09:40")
    nq = entry("09:41", instrument="NQ", contract="NQ 03-25", traded="NQ", entry=20500.0,
               stop=20480.0, target=20540.0)  # fmt: skip
    closed = entry("09:42", "short", instrument="YM", contract="YM 03-25", traded="YM",
                   entry=42800.0, stop=42830.0, target=42750.0)  # fmt: skip
    later = entry("10:30")
    script = Script().emit(es, nq, closed, exit_of("09:50", closed, "stop"), halt("10:00"), later)
    run(script, {"folder": str(tmp_path), **DRY})
    assert files(tmp_path)[-1] == [
        "CLOSEPOSITION;Sim101;ES 03-25;;;;;;;;;;",
        "CLOSEPOSITION;Sim101;NQ 03-25;;;;;;;;;;",
    ]
    assert not any("FLATTENEVERYTHING" in line for line in lines(tmp_path))
    assert not any(later.id in line for line in lines(tmp_path))


def test_zero_contract_entries_and_context_signals_place_nothing(tmp_path):
    script = Script().emit(entry("09:40", contracts=0), context("09:41"))
    run(script, {"folder": str(tmp_path), **DRY})
    assert files(tmp_path) == []


def test_limit_entry_goes_at_the_signals_entry_and_its_bracket_follows_the_fill(tmp_path):
    e = entry("09:40", "long", 2, entry=5799.75, stop=5795.0, target=5810.0)
    run(Script().emit(e), {"folder": str(tmp_path), **DRY, "entry_order": "limit"})
    i = e.id
    assert files(tmp_path) == [
        [f"PLACE;Sim101;ES 03-25;BUY;2;LIMIT;5799.75;;DAY;;rs-{i}-E;;"],
        [
            f"PLACE;Sim101;ES 03-25;SELL;2;STOPMARKET;;5795.00;DAY;rs-{i}-O;rs-{i}-S;;",
            f"PLACE;Sim101;ES 03-25;SELL;2;LIMIT;5810.00;;DAY;rs-{i}-O;rs-{i}-T;;",
        ],
    ]


def test_atm_template_places_one_order_with_strategy_and_strategy_id(tmp_path):
    e1, e2 = entry("09:40"), entry("10:00", "short")
    script = Script().emit(e1, exit_of("09:45", e1, "stop"), e2, exit_of("10:05", e2, "target"))
    run(script, {"folder": str(tmp_path), **DRY, "atm_strategy": "RS 1R"})
    assert files(tmp_path) == [
        [f"PLACE;Sim101;ES 03-25;BUY;2;MARKET;;;DAY;;rs-{e1.id}-E;RS 1R;rs-{e1.id}-A"],
        [f"CANCEL;;;;;;;;;;TARGET1;;rs-{e1.id}-A"],
        [f"PLACE;Sim101;ES 03-25;SELL;2;MARKET;;;DAY;;rs-{e2.id}-E;RS 1R;rs-{e2.id}-A"],
        [f"CANCEL;;;;;;;;;;STOP1;;rs-{e2.id}-A"],
    ]


def test_micro_substitution_trades_the_micro_contract(tmp_path):
    e = entry("09:40", contract="MES 03-25", traded="MES", stop=5795.0, target=5810.0)
    run(Script().emit(e), {"folder": str(tmp_path), **DRY})
    assert all(";MES 03-25;" in line for line in lines(tmp_path))


def test_contract_name_comes_from_the_roll_calendar_when_the_signal_has_none(tmp_path):
    # 2025-03-05: the March contract expires on the 21st, so it is the front month
    e = entry("09:40", contract="", traded="MES")
    run(Script().emit(e), {"folder": str(tmp_path), **DRY})
    assert files(tmp_path)[0][0].split(";")[2] == "MES 03-25"


def test_contracts_setting_overrides_the_name_by_root(tmp_path):
    e = entry("09:40")
    run(Script().emit(e), {"folder": str(tmp_path), **DRY, "contracts": {"ES": "ES 06-25"}})
    assert {line.split(";")[2] for line in lines(tmp_path)} == {"ES 06-25"}


def test_prices_use_the_ticks_decimals_and_a_point(tmp_path):
    rty = entry("09:40", instrument="RTY", contract="RTY 03-25", traded="RTY", entry=2119.4,
                stop=2117.2, target=2125.0)  # fmt: skip
    ym = entry("09:41", "short", instrument="YM", contract="YM 03-25", traded="YM",
               entry=42844.0, stop=42879.0, target=42744.0)  # fmt: skip
    run(Script().emit(rty, ym), {"folder": str(tmp_path), **DRY})
    prices = [f[6] or f[7] for f in (line.split(";") for line in lines(tmp_path)) if f[6] or f[7]]
    assert prices == ["2117.2", "2125.0", "42879", "42744"]


def test_every_line_is_logged_with_its_file_in_a_dry_run(tmp_path, capsys):
    from structlog.testing import capture_logs

    e = entry("09:40")
    with capture_logs() as logs:
        run(Script().emit(e, exit_of("09:45", e, "stop")), {"folder": str(tmp_path), **DRY})
    logged = [(x["file"], x["line"]) for x in logs if x.get("event") == "OIF line"]
    on_disk = [
        (p.name, line)
        for p in sorted((tmp_path / "dry-run").glob("oif-*.txt"))
        for line in p.read_text().splitlines()
    ]
    assert logged == on_disk and len(on_disk) == 4
    assert all(x["plugin"] == "ninjatrader" for x in logs if x.get("event") == "OIF line")


def test_the_journal_names_every_file_with_its_signal(tmp_path):
    e = entry("09:40")
    run(Script().emit(e, exit_of("09:45", e, "stop")), {"folder": str(tmp_path), **DRY})
    journal = tmp_path / "dry-run" / "bridge-journal.jsonl"
    records = [json.loads(x) for x in journal.read_text().splitlines()]
    written = [(r["name"], r["signal"], r["lines"]) for r in records if r["type"] == "file"]
    names = sorted(p.name for p in (tmp_path / "dry-run").glob("oif-*.txt"))
    assert [w[0] for w in written] == names
    assert [w[1] for w in written] == [e.id, exit_of("09:45", e, "stop").id]


def test_entry_without_a_target_brackets_with_the_stop_alone_and_no_oco(tmp_path):
    e = entry("09:40", target=None)
    run(Script().emit(e), {"folder": str(tmp_path), **DRY})
    assert files(tmp_path)[0][1:] == [
        f"PLACE;Sim101;ES 03-25;SELL;2;STOPMARKET;;5795.00;DAY;;rs-{e.id}-S;;"
    ]
