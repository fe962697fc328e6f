"""The chart signal file: the writer, the indicator's parser (its Python twin)
and the C# source agree on one hand-written fixture."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
import threading
from pathlib import Path

import attrs
import pytest
import yaml
from rsengine_ninjatrader import chart_twin, signal_file
from rsengine_ninjatrader.chart_twin import SignalRecord
from rsengine_ninjatrader.signal_file import SignalFile, SignalFileError

from rsengine import hookimpl
from rsengine.config import load_config
from rsengine.host.runner import build_engine
from rsengine.model import Signal

FIXTURE = Path(__file__).parent / "fixtures" / "signals.txt"
CS_SOURCE = (Path(signal_file.__file__).parent / "ninjascript" / "RsEngineSignals.cs").read_text(
    encoding="utf-8"
)
NY = "America/New_York"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def ns(text: str) -> int:
    return int(utc(text).timestamp()) * 1_000_000_000


# The signals the fixture was written from (by hand: ids are sha1 of
# "name|instrument|side|ts_close", the first 16 hex digits).
FIXTURE_SIGNALS = [
    Signal(
        ts_close=ns("2025-03-06T14:35:00"),
        session_date="2025-03-06",
        name="alignment",
        kind="context",
        instrument="ES",
        contract="ES 03-25",
        side="long",
        reason='all four aligned up ("trend" confirmed): favour momentum, not fades',
        details={"actionable_until": "2025-03-06T15:05:00Z"},
    ),
    Signal(
        ts_close=ns("2025-03-06T15:05:00"),
        session_date="2025-03-06",
        name="strength_rider",
        kind="setup",
        instrument="ES",
        contract="MES 03-25",
        side="long",
        reason="ES leads | RTY lags\nsized in MES: 3 × $62.50 — “risk” ≤ budget; see C:\\rs\\out",
        contracts=3,
        entry=5012.25,
        stop=5000.0,
        target=5037.5,
    ),
    Signal(
        ts_close=ns("2025-03-06T15:30:00"),
        session_date="2025-03-06",
        name="divergence_fade",
        kind="setup",
        instrument="NQ",
        contract="NQ 03-25",
        side="short",
        reason='NQ fades "exhausted"\r\nno target',
        contracts=1,
        entry=20504.75,
        stop=20530.0,
    ),
    Signal(
        ts_close=ns("2025-03-06T16:10:00"),
        session_date="2025-03-06",
        name="strength_rider",
        kind="exit",
        instrument="ES",
        side="flat",
        reason="exit long 3 at 5037.5 (target): +25.25 pt, +$378.75",
        contracts=3,
        details={"entry_id": "4efba445e1a715a9", "exit": "target", "exit_price": 5037.5},
    ),
    Signal(
        ts_close=ns("2025-03-06T17:00:00"),
        session_date="2025-03-06",
        name="divergence_fade",
        kind="exit",
        instrument="NQ",
        side="flat",
        reason="exit short 1 at 20531.5 (daily loss limit): -26.75 pt, -$535.00",
        contracts=1,
        details={
            "entry_id": "70d6669419cd98d6",
            "exit": "daily_loss_limit",
            "exit_price": 20531.5,
        },
    ),
    Signal(
        ts_close=ns("2025-03-06T17:00:00"),
        session_date="2025-03-06",
        name="daily_loss_limit",
        kind="halt",
        instrument="*",
        side="flat",
        reason="daily loss $4,100.00 reached the limit $4,000: flat, no entry for the rest "
        "of the session",
    ),
    Signal(
        ts_close=ns("2025-03-10T13:35:00") + 500_000_000,
        session_date="2025-03-10",
        name="laggard_catchup",
        kind="setup",
        instrument="RTY",
        contract="RTY 03-25",
        side="long",
        reason="stop too wide: no order (0 contracts)",
        contracts=0,
        entry=2050.1,
        stop=2040.0,
        target=2070.0,
    ),
]


def record(line, id, time_utc, time_local, session, kind, name, instrument, contract, side,
           entry, stop, target, contracts, entry_id, exit, exit_price, reason):  # fmt: skip
    return SignalRecord(
        line, id, time_utc, time_local, session, kind, name, instrument, contract, side,
        entry, stop, target, contracts, entry_id, exit, exit_price, reason,
    )  # fmt: skip


EXPECTED = [
    record(2, "936cabebf6301b39", utc("2025-03-06T14:35:00"), "2025-03-06T09:35:00-05:00",
           "2025-03-06", "context", "alignment", "ES", "ES 03-25", "long", None, None, None, 0,
           "", "", None,
           'all four aligned up ("trend" confirmed): favour momentum, not fades'),
    record(3, "4efba445e1a715a9", utc("2025-03-06T15:05:00"), "2025-03-06T10:05:00-05:00",
           "2025-03-06", "setup", "strength_rider", "ES", "MES 03-25", "long", 5012.25, 5000.0,
           5037.5, 3, "", "", None,
           "ES leads | RTY lags\nsized in MES: 3 × $62.50 — “risk” ≤ budget; see C:\\rs\\out"),
    record(4, "70d6669419cd98d6", utc("2025-03-06T15:30:00"), "2025-03-06T10:30:00-05:00",
           "2025-03-06", "setup", "divergence_fade", "NQ", "NQ 03-25", "short", 20504.75,
           20530.0, None, 1, "", "", None, 'NQ fades "exhausted"\r\nno target'),
    record(5, "50afd63e0c0a3b8b", utc("2025-03-06T16:10:00"), "2025-03-06T11:10:00-05:00",
           "2025-03-06", "exit", "strength_rider", "ES", "", "flat", None, None, None, 3,
           "4efba445e1a715a9", "target", 5037.5,
           "exit long 3 at 5037.5 (target): +25.25 pt, +$378.75"),
    record(6, "dcee08c79061819c", utc("2025-03-06T17:00:00"), "2025-03-06T12:00:00-05:00",
           "2025-03-06", "exit", "divergence_fade", "NQ", "", "flat", None, None, None, 1,
           "70d6669419cd98d6", "daily_loss_limit", 20531.5,
           "exit short 1 at 20531.5 (daily loss limit): -26.75 pt, -$535.00"),
    record(7, "47dee8a0651d99fb", utc("2025-03-06T17:00:00"), "2025-03-06T12:00:00-05:00",
           "2025-03-06", "halt", "daily_loss_limit", "*", "", "flat", None, None, None, 0, "",
           "", None,
           "daily loss $4,100.00 reached the limit $4,000: flat, no entry for the rest of the "
           "session"),
    record(8, "149393db4b9ee96e", utc("2025-03-10T13:35:00.5"), "2025-03-10T09:35:00-04:00",
           "2025-03-10", "setup", "laggard_catchup", "RTY", "RTY 03-25", "long", 2050.1, 2040.0,
           2070.0, 0, "", "", None, "stop too wide: no order (0 contracts)"),
]  # fmt: skip


def write(path: Path, signals, **kwargs) -> bytes:
    f = SignalFile(path, NY, **kwargs)
    for s in signals:
        f.add(s)
    f.close()
    return path.read_bytes()


def twin_parse(data: bytes):
    return chart_twin.parse(chart_twin.decode(data))


# -- writer and twin against the fixture ---------------------------------------------


def test_writer_gives_the_fixtures_bytes(tmp_path):
    assert write(tmp_path / "signals.txt", FIXTURE_SIGNALS) == FIXTURE.read_bytes()


def test_same_signals_give_byte_identical_files(tmp_path):
    first = write(tmp_path / "a.txt", FIXTURE_SIGNALS)
    assert write(tmp_path / "b.txt", FIXTURE_SIGNALS) == first


def test_fixture_ids_are_the_signals_ids():
    assert [s.id for s in FIXTURE_SIGNALS] == [r.id for r in EXPECTED]


def test_twin_parses_the_fixture_into_the_values_written_by_hand():
    records, problems = twin_parse(FIXTURE.read_bytes())
    assert problems == []
    assert records == EXPECTED


def test_an_exit_links_to_its_entry():
    records, _ = twin_parse(FIXTURE.read_bytes())
    exits = chart_twin.exits_by_entry(records)
    assert {entry: e.id for entry, e in exits.items()} == {
        "4efba445e1a715a9": "50afd63e0c0a3b8b",
        "70d6669419cd98d6": "dcee08c79061819c",
    }


# -- skip rules: a bad line is skipped, never fatal ----------------------------------

GOOD = "a1|2025-03-06T15:05:00Z||2025-03-06|setup|x|ES|ES 03-25|long|5012.25|5000.0||1||||ok"


@pytest.mark.parametrize(
    "bad, why",
    [
        ("a1|2025-03-06T15:05:00Z|only|four", "4 fields, expected 17"),
        (GOOD + "|extra", "18 fields, expected 17"),
        (GOOD.replace("|ok", "|trailing \\"), "bad escape in reason"),
        (GOOD.replace("|ok", "|\\t is no escape"), "bad escape in reason"),
        (GOOD.replace("a1|", "|", 1), "empty id"),
        (GOOD.replace("15:05:00Z", "15:05:00"), "bad time_utc '2025-03-06T15:05:00'"),
        (GOOD.replace("2025-03-06T15", "2025-02-30T15"), "bad time_utc '2025-02-30T15:05:00Z'"),
        (GOOD.replace("|setup|", "|Setup|"), "unknown kind 'Setup'"),
        (GOOD.replace("|long|", "|buy|"), "unknown side 'buy'"),
        (GOOD.replace("5012.25", "5012,25"), "bad number in entry '5012,25'"),
        (GOOD.replace("5012.25", "NaN"), "bad number in entry 'NaN'"),
        (GOOD.replace("5000.0", "1e999"), "bad number in stop '1e999'"),
        (GOOD.replace("5000.0", " 5000"), "bad number in stop ' 5000'"),
        (GOOD.replace("|1||||ok", "|-1||||ok"), "bad contracts '-1'"),
        (GOOD.replace("|1||||ok", "|2147483648||||ok"), "bad contracts '2147483648'"),
    ],
)
def test_a_bad_line_is_skipped_with_its_line_number_and_why(bad, why):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    text = "\n".join([*lines[:3], bad, *lines[3:]]) + "\n"
    records, problems = chart_twin.parse(text)
    assert problems == [f"line 4: {why}"]
    assert [r.id for r in records] == [r.id for r in EXPECTED]


def test_the_good_line_of_the_skip_cases_parses():
    records, problems = chart_twin.parse(chart_twin.HEADER + "\n" + GOOD + "\n")
    assert problems == [] and [(r.id, r.entry, r.stop, r.target) for r in records] == [
        ("a1", 5012.25, 5000.0, None)
    ]


def test_empty_lines_and_comments_are_skipped_silently():
    text = chart_twin.HEADER + "\n\n# a note\n" + GOOD + "\n\n"
    records, problems = chart_twin.parse(text)
    assert problems == [] and [r.line for r in records] == [4]


def test_another_version_gives_no_records_and_says_which():
    text = "#rsengine-signals|2|id|time_utc\n" + GOOD + "\n"
    assert chart_twin.parse(text) == ([], ["unsupported format version 2, expected 1"])


def test_a_file_that_is_not_a_signal_file_gives_no_records():
    assert chart_twin.parse(GOOD + "\n") == ([], ["not an rsengine signal file (bad first line)"])


def test_an_empty_file_gives_nothing_and_no_problem():
    assert chart_twin.parse("") == ([], [])


def test_lines_end_at_crlf_cr_or_lf_like_readline():
    assert chart_twin.read_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert chart_twin.read_lines("a\n\nb\n") == ["a", "", "b"]
    assert chart_twin.read_lines("a\u2028b\x0cc") == ["a\u2028b\x0cc"]  # not line ends in .NET


def test_a_byte_order_mark_is_dropped():
    records, problems = twin_parse(b"\xef\xbb\xbf" + FIXTURE.read_bytes())
    assert problems == [] and len(records) == len(EXPECTED)


# -- which records a chart draws, and on which bar -------------------------------------


@pytest.mark.parametrize(
    "master, full, match_contract, ids",
    [
        # the ES chart: the ES context, the ES setup sized in MES, its exit, the halt
        ("ES", "ES 03-25", False, ["936cabebf6301b39", "4efba445e1a715a9", "50afd63e0c0a3b8b",
                                   "47dee8a0651d99fb"]),
        # by contract month, the micro's setup is not the ES chart's
        ("ES", "ES 03-25", True, ["936cabebf6301b39", "47dee8a0651d99fb"]),
        ("MES", "MES 03-25", False, ["4efba445e1a715a9", "50afd63e0c0a3b8b", "47dee8a0651d99fb"]),
        ("MES", "MES 03-25", True, ["4efba445e1a715a9", "50afd63e0c0a3b8b", "47dee8a0651d99fb"]),
        ("NQ", "NQ 06-25", False, ["70d6669419cd98d6", "dcee08c79061819c", "47dee8a0651d99fb"]),
        ("NQ", "NQ 06-25", True, ["47dee8a0651d99fb"]),
        ("CL", "CL 04-25", False, ["47dee8a0651d99fb"]),
    ],
)  # fmt: skip
def test_a_chart_draws_its_instruments_signals(master, full, match_contract, ids):
    records, _ = twin_parse(FIXTURE.read_bytes())
    entries = {r.id: r for r in records if r.kind == "setup"}
    drawn = [r.id for r in records if chart_twin.matches(r, master, full, match_contract, entries)]
    assert drawn == ids


def test_an_exit_without_its_entry_in_the_file_goes_by_instrument():
    records, _ = twin_parse(FIXTURE.read_bytes())
    exit_es = records[3]
    assert chart_twin.matches(exit_es, "ES", "ES 03-25", True, {})
    assert not chart_twin.matches(exit_es, "MES", "MES 03-25", False, {})


def test_a_signal_lands_on_the_bar_closing_at_or_after_its_stamp():
    closes = [utc("2025-03-06T14:30:00"), utc("2025-03-06T14:35:00"), utc("2025-03-06T14:40:00")]
    assert chart_twin.bar_of(closes, utc("2025-03-06T14:35:00")) == 1  # same bar size
    assert chart_twin.bar_of(closes, utc("2025-03-06T14:36:00")) == 2  # inside a larger bar
    assert chart_twin.bar_of(closes, utc("2025-03-06T14:30:00")) == 0
    assert chart_twin.bar_of(closes, utc("2025-03-06T14:29:00")) == -1  # older than the chart
    assert chart_twin.bar_of(closes, utc("2025-03-06T14:41:00")) == -1  # not on the chart yet
    assert chart_twin.bar_of([], utc("2025-03-06T14:41:00")) == -1


# -- the writer: window, batching, folder ------------------------------------------------


def day_signal(day: int, minute: int = 0) -> Signal:
    return Signal(
        ts_close=ns(f"2025-03-{day:02d}T15:{minute:02d}:00"),
        session_date=f"2025-03-{day:02d}",
        name="alignment",
        kind="context",
        instrument="ES",
        side="long",
        reason=f"day {day} minute {minute}",
    )


def ids_in(path: Path) -> list[str]:
    records, problems = twin_parse(path.read_bytes())
    assert problems == []
    return [r.id for r in records]


def test_the_file_keeps_the_last_sessions_only(tmp_path):
    signals = [day_signal(d, m) for d in (3, 4, 5, 6) for m in (0, 5)]
    path = tmp_path / "s.txt"
    write(path, signals, sessions=2)
    assert ids_in(path) == [s.id for s in signals if s.session_date >= "2025-03-05"]


def test_the_file_keeps_the_newest_max_signals(tmp_path):
    signals = [day_signal(3, m) for m in range(10)]
    path = tmp_path / "s.txt"
    write(path, signals, max_signals=4)
    assert ids_in(path) == [s.id for s in signals[-4:]]


def test_a_signal_added_again_replaces_its_line_in_place(tmp_path):
    a, b = day_signal(3, 0), day_signal(3, 5)
    again = attrs.evolve(a, reason="corrected")
    path = tmp_path / "s.txt"
    write(path, [a, b, again])
    records, _ = twin_parse(path.read_bytes())
    assert [(r.id, r.reason) for r in records] == [(a.id, "corrected"), (b.id, b.reason)]


def test_write_false_defers_the_file_to_flush(tmp_path):
    path = tmp_path / "s.txt"
    f = SignalFile(path, NY)
    f.add(day_signal(3), write=False)
    f.add(day_signal(3, 5), write=False)
    assert not path.exists()
    f.flush()
    assert ids_in(path) == [day_signal(3).id, day_signal(3, 5).id] and f.writes == 1
    f.close()
    assert f.writes == 1  # nothing new: no rewrite
    assert [p.name for p in tmp_path.iterdir()] == ["s.txt"]  # no temporary file left


def test_building_leaves_an_old_file_alone_until_the_first_signal(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("old\n")
    f = SignalFile(path, NY)
    assert path.read_text() == "old\n"
    f.close()  # a run without signals: the header alone, so the chart clears
    assert path.read_text() == chart_twin.HEADER + "\n"


def test_a_missing_folder_is_made(tmp_path):
    path = tmp_path / "rsengine" / "deep" / "signals.txt"
    write(path, [day_signal(3)])
    assert ids_in(path) == [day_signal(3).id]


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SignalFileError, match=r"cannot write the signal file's folder .*afile"):
        SignalFile(tmp_path / "afile" / "signals.txt", NY)


def test_a_path_that_is_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SignalFileError, match="is a folder, expected a file path"):
        SignalFile(tmp_path, NY)


def test_a_reader_never_sees_a_partial_file(tmp_path):
    path = tmp_path / "s.txt"
    signals = [day_signal(3 + k // 60, k % 60) for k in range(240)]
    writer = SignalFile(path, NY, sessions=10)
    probe = SignalFile(tmp_path / "probe" / "p.txt", NY, sessions=10)
    states = set()
    for s in signals:  # every content the file may hold
        probe.add(s, write=False)
        states.add(probe.text().encode())
    seen = []
    done = threading.Event()

    def read():
        while not done.is_set() or not seen:
            try:
                seen.append(path.read_bytes())
            except FileNotFoundError:
                pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for s in signals:
            writer.add(s)
    finally:
        done.set()
        reader.join()
    assert seen and all(data in states for data in seen)


# -- the demo's real signals round trip ------------------------------------------------


class Collect:
    def __init__(self):
        self.signals = []

    @hookimpl
    def rsengine_signal_emitted(self, signal):
        self.signals.append(signal)


@pytest.fixture(scope="module")
def demo_signals():
    demo = yaml.safe_load(importlib.resources.files("rsengine").joinpath("demo.yaml").read_text())
    demo["outputs"] = {}
    collect = Collect()
    build_engine(load_config(yaml.safe_dump(demo)), watchers=[collect]).run()
    return collect.signals


def test_the_demos_signals_parse_back_to_the_same_fields(tmp_path, demo_signals):
    kinds = {s.kind for s in demo_signals}
    assert {"context", "setup", "exit"} <= kinds
    path = tmp_path / "signals.txt"
    write(path, demo_signals, sessions=10_000)
    records, problems = twin_parse(path.read_bytes())
    assert problems == [] and len(records) == len(demo_signals)
    for s, r in zip(demo_signals, records, strict=True):
        details = s.details
        assert (r.id, r.session, r.kind, r.name, r.instrument, r.contract, r.side, r.reason) == (
            s.id, s.session_date, s.kind, s.name, s.instrument, s.contract, s.side, s.reason,
        )  # fmt: skip
        assert r.time_utc == dt.datetime.fromtimestamp(s.ts_close / 1e9, dt.UTC)
        assert (r.entry, r.stop, r.target, r.contracts) == (s.entry, s.stop, s.target, s.contracts)
        assert (r.entry_id, r.exit, r.exit_price) == (
            details.get("entry_id", ""), details.get("exit", ""), details.get("exit_price"),
        )  # fmt: skip


# -- the C# source, the twin and the writer name the same format ----------------------


def cs_string_array(name: str) -> list[str]:
    body = re.search(rf"string\[\] {name} = new string\[\]\s*\{{(.*?)\}};", CS_SOURCE, re.S)
    assert body, f"{name} not found in RsEngineSignals.cs"
    return re.findall(r'"([^"]*)"', body.group(1))


def cs_const(name: str) -> str:
    m = re.search(rf"const (?:string|char) {name} = @?([\"'])(.*?)\1;", CS_SOURCE)
    assert m, f"{name} not found in RsEngineSignals.cs"
    return m.group(2)


def test_the_cs_field_list_is_the_twins_and_the_writers():
    assert tuple(cs_string_array("Fields")) == chart_twin.FIELDS == signal_file.FIELDS


def test_the_cs_field_index_constants_are_the_twins():
    found = {
        re.sub(r"(?<!^)([A-Z])", r"_\1", name).upper(): int(value)
        for name, value in re.findall(r"const int Field(\w+) = (\d+);", CS_SOURCE)
    }
    twin = {
        name.removeprefix("FIELD_"): getattr(chart_twin, name)
        for name in dir(chart_twin)
        if name.startswith("FIELD_") and name != "FIELD_COUNT"
    }
    assert found.pop("COUNT") == chart_twin.FIELD_COUNT == len(chart_twin.FIELDS)
    assert found == twin
    assert [chart_twin.FIELDS[k].upper() for k in sorted(twin.values())] == [
        name for name, _ in sorted(twin.items(), key=lambda kv: kv[1])
    ]


def test_the_cs_format_version_delimiter_and_patterns_are_the_twins():
    assert cs_const("Format") == chart_twin.FORMAT == signal_file.FORMAT
    assert cs_const("Version") == chart_twin.VERSION == signal_file.VERSION
    assert cs_const("Delimiter") == chart_twin.DELIMITER == signal_file.DELIMITER
    assert cs_const("AllInstruments") == chart_twin.ALL_INSTRUMENTS
    assert cs_const("NumberPattern") == chart_twin.NUMBER_PATTERN
    assert cs_const("CountPattern") == chart_twin.COUNT_PATTERN
    assert cs_const("TimePattern") == chart_twin.TIME_PATTERN
    assert tuple(cs_string_array("Kinds")) == chart_twin.KINDS
    assert tuple(cs_string_array("Sides")) == chart_twin.SIDES
    assert chart_twin.HEADER == signal_file.HEADER


def test_the_cs_unescape_knows_the_writers_escapes_only():
    cases = re.findall(r"else if \(e == '(\w)'\)|if \(e == '(\\\\)'\)", CS_SOURCE)
    letters = {a or b.replace("\\\\", "\\") for a, b in cases}
    assert letters == {e[1] for e in signal_file.ESCAPES.values()}
