"""The Python twin of the NinjaScript indicator's parser (ninjascript/RsEngineSignals.cs).

NinjaTrader does not run here, so the tests exercise this module instead: it
follows the C# ``SignalFormat`` class step by step, with the same constants,
the same unescaping, the same patterns and the same skip rules, so that the
fixture the tests check here is read the same way on a chart. Change one, change
the other: tests/plugins/ninjatrader/test_signal_file.py compares the
constants and patterns of both.

It only reads; the writer is signal_file.py. The drawing itself stays in C#;
what decides *where* a signal is drawn is twinned too: which records belong on
a chart (:func:`matches`), the exit of each entry (:func:`exits_by_entry`) and
the bar a stamp falls on (:func:`bar_of`).
"""

from __future__ import annotations

import datetime as dt
import re

import attrs

# -- the format (C#: SignalFormat constants) ---------------------------------------------
from .signal_file import FIELDS, FORMAT, VERSION  # one list: the writer's, checked against the C#

DELIMITER = "|"
FIELD_ID = 0
FIELD_TIME_UTC = 1
FIELD_TIME_LOCAL = 2
FIELD_SESSION = 3
FIELD_KIND = 4
FIELD_NAME = 5
FIELD_INSTRUMENT = 6
FIELD_CONTRACT = 7
FIELD_SIDE = 8
FIELD_ENTRY = 9
FIELD_STOP = 10
FIELD_TARGET = 11
FIELD_CONTRACTS = 12
FIELD_ENTRY_ID = 13
FIELD_EXIT = 14
FIELD_EXIT_PRICE = 15
FIELD_REASON = 16
FIELD_COUNT = 17
HEADER = "#" + DELIMITER.join((FORMAT, VERSION, *FIELDS))
HEADER_PREFIX = "#" + FORMAT + DELIMITER

KINDS = ("context", "setup", "exit", "halt")
SIDES = ("long", "short", "flat")
ALL_INSTRUMENTS = "*"

# Whole-field patterns (C#: Match(s) with Index 0 and Length s.Length); [0-9], not
# \d, which is Unicode in both languages.
NUMBER_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
COUNT_PATTERN = r"[0-9]+"
TIME_PATTERN = r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.([0-9]{7}))?Z"
_NUMBER = re.compile(NUMBER_PATTERN)
_COUNT = re.compile(COUNT_PATTERN)
_TIME = re.compile(TIME_PATTERN)
INT32_MAX = 2**31 - 1  # C#: int.TryParse fails beyond it


@attrs.frozen
class SignalRecord:
    """One parsed line (C#: SignalRecord). Numbers are None when empty."""

    line: int  # 1-based line number in the file
    id: str
    time_utc: dt.datetime  # the bar-close stamp, tz-aware UTC
    time_local: str  # shown to people only; not parsed
    session: str
    kind: str
    name: str
    instrument: str
    contract: str
    side: str
    entry: float | None
    stop: float | None
    target: float | None
    contracts: int | None
    entry_id: str
    exit: str
    exit_price: float | None
    reason: str


# -- reading (C#: SignalFormat.ReadLines / Parse) -----------------------------------------


def decode(data: bytes) -> str:
    """C#: StreamReader(stream, new UTF8Encoding(false), true): a UTF-8 byte-order
    mark is dropped, a bad byte becomes U+FFFD."""
    return data.decode("utf-8-sig", errors="replace")


def read_lines(text: str) -> list[str]:
    """C#: TextReader.ReadLine until null: a line ends at CR LF, CR or LF; a
    last line without an end is still a line; no empty line after the last end."""
    lines = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\r" or c == "\n":
            lines.append(text[start:i])
            i += 2 if c == "\r" and i + 1 < n and text[i + 1] == "\n" else 1
            start = i
        else:
            i += 1
    if start < n:
        lines.append(text[start:])
    return lines


def parse(text: str) -> tuple[list[SignalRecord], list[str]]:
    """The records of a whole file and the problems met on the way (C#: Parse,
    which Prints the problems). A file whose first line is not the v1 header
    gives no records; a bad line is skipped."""
    records: list[SignalRecord] = []
    problems: list[str] = []
    lines = read_lines(text)
    if not lines:
        return records, problems
    if lines[0] != HEADER:
        if lines[0].startswith(HEADER_PREFIX):
            version = lines[0][len(HEADER_PREFIX) :].split(DELIMITER)[0]
            problems.append(f"unsupported format version {version}, expected {VERSION}")
        else:
            problems.append("not an rsengine signal file (bad first line)")
        return records, problems
    for number in range(2, len(lines) + 1):
        line = lines[number - 1]
        if line == "" or line.startswith("#"):
            continue
        record, problem = parse_line(line, number)
        if record is None:
            problems.append(f"line {number}: {problem}")
        else:
            records.append(record)
    return records, problems


def parse_line(line: str, number: int) -> tuple[SignalRecord | None, str]:
    """One line -> (record, "") or (None, why it was skipped)."""
    raw = line.split(DELIMITER)
    if len(raw) != FIELD_COUNT:
        return None, f"{len(raw)} fields, expected {FIELD_COUNT}"
    f = []
    for k in range(FIELD_COUNT):
        value = unescape(raw[k])
        if value is None:
            return None, f"bad escape in {FIELDS[k]}"
        f.append(value)
    if f[FIELD_ID] == "":
        return None, "empty id"
    time_utc = parse_time(f[FIELD_TIME_UTC])
    if time_utc is None:
        return None, f"bad time_utc {f[FIELD_TIME_UTC]!r}"
    if f[FIELD_KIND] not in KINDS:
        return None, f"unknown kind {f[FIELD_KIND]!r}"
    if f[FIELD_SIDE] not in SIDES:
        return None, f"unknown side {f[FIELD_SIDE]!r}"
    numbers = {}
    for k in (FIELD_ENTRY, FIELD_STOP, FIELD_TARGET, FIELD_EXIT_PRICE):
        ok, numbers[k] = parse_number(f[k])
        if not ok:
            return None, f"bad number in {FIELDS[k]} {f[k]!r}"
    ok, contracts = parse_count(f[FIELD_CONTRACTS])
    if not ok:
        return None, f"bad contracts {f[FIELD_CONTRACTS]!r}"
    record = SignalRecord(
        line=number,
        id=f[FIELD_ID],
        time_utc=time_utc,
        time_local=f[FIELD_TIME_LOCAL],
        session=f[FIELD_SESSION],
        kind=f[FIELD_KIND],
        name=f[FIELD_NAME],
        instrument=f[FIELD_INSTRUMENT],
        contract=f[FIELD_CONTRACT],
        side=f[FIELD_SIDE],
        entry=numbers[FIELD_ENTRY],
        stop=numbers[FIELD_STOP],
        target=numbers[FIELD_TARGET],
        contracts=contracts,
        entry_id=f[FIELD_ENTRY_ID],
        exit=f[FIELD_EXIT],
        exit_price=numbers[FIELD_EXIT_PRICE],
        reason=f[FIELD_REASON],
    )
    return record, ""


def unescape(s: str) -> str | None:
    """``\\\\`` ``\\p`` ``\\n`` ``\\r`` -> backslash, delimiter, LF, CR; any other
    backslash (or one at the end) makes the field bad: None."""
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(s):
            return None
        e = s[i + 1]
        if e == "\\":
            out.append("\\")
        elif e == "p":
            out.append(DELIMITER)
        elif e == "n":
            out.append("\n")
        elif e == "r":
            out.append("\r")
        else:
            return None
        i += 2
    return "".join(out)


def whole(pattern: re.Pattern, s: str) -> re.Match | None:
    """C#: m.Success && m.Index == 0 && m.Length == s.Length."""
    return pattern.fullmatch(s)


def parse_number(s: str) -> tuple[bool, float | None]:
    """Empty -> (True, None); US decimal -> (True, value); else (False, None).
    C#: double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), and a
    value that is not finite (too large) is bad."""
    if s == "":
        return True, None
    if whole(_NUMBER, s) is None:
        return False, None
    value = float(s)
    if value != value or value in (float("inf"), float("-inf")):
        return False, None
    return True, value


def parse_count(s: str) -> tuple[bool, int | None]:
    """Empty -> (True, None); digits within Int32 -> (True, value); else bad."""
    if s == "":
        return True, None
    if whole(_COUNT, s) is None:
        return False, None
    value = int(s)
    if value > INT32_MAX:
        return False, None
    return True, value


def parse_time(s: str) -> dt.datetime | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` or with 7 fraction digits (100 ns ticks); None
    when it does not match or is no valid date (C#: new DateTime throws)."""
    m = whole(_TIME, s)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(k)) for k in range(1, 7))
    ticks = int(m.group(8)) if m.group(8) is not None else 0
    try:
        stamp = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return None
    # C# keeps 100 ns ticks; a datetime keeps microseconds: the tick digit below is lost
    return stamp + dt.timedelta(microseconds=ticks // 10)


# -- which records a chart draws, and where (C#: the indicator's helpers) --------------


def contract_root(contract: str) -> str:
    """``MES 03-25`` -> ``MES``: NinjaTrader's master instrument name."""
    space = contract.find(" ")
    return contract if space < 0 else contract[:space]


def exits_by_entry(records: list[SignalRecord]) -> dict[str, SignalRecord]:
    """The exit of each entry id (a later one wins, as a C# Dictionary index set)."""
    exits = {}
    for r in records:
        if r.kind == "exit" and r.entry_id != "":
            exits[r.entry_id] = r
    return exits


def matches(
    record: SignalRecord,
    master_name: str,
    full_name: str,
    match_contract: bool,
    entries: dict[str, SignalRecord],
) -> bool:
    """Whether ``record`` belongs on a chart of ``master_name`` (``ES``) /
    ``full_name`` (``ES 03-25``). ``entries`` holds the setups by id: an exit goes
    where its entry goes; a halt (instrument ``*``) goes on every chart."""
    if record.kind == "halt" and record.instrument == ALL_INSTRUMENTS:
        return True
    if record.kind == "exit" and record.entry_id in entries:
        return matches(entries[record.entry_id], master_name, full_name, match_contract, entries)
    if record.contract != "":
        if match_contract:
            return record.contract == full_name
        return contract_root(record.contract) == master_name or record.instrument == master_name
    return record.instrument == master_name


def bar_of(bar_times: list, t) -> int:
    """C#: BarOf. The index of the first bar stamped at or after ``t``, or -1
    when the chart has no such bar yet or ``t`` is older than its first bar.
    NinjaTrader stamps a bar at its close, as the file does, so a signal lands
    on the bar that closed at its stamp, or on the larger bar that contains it."""
    count = len(bar_times)
    if count == 0 or t < bar_times[0]:
        return -1
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if bar_times[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < count else -1
