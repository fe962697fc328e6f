"""rsengine.exchange.events: reading calendar files, the blackout / quality windows,
errors that point at the file position, the shipped calendar and the sim's
releases."""

from __future__ import annotations

import collections
import datetime as dt
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from rsengine.config import ConfigError
from rsengine.exchange.events import Event, EventCalendar, parse_event_time

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "configs" / "events-2024-2025.yaml"
SAMPLE = ROOT / "configs" / "events-sample.csv"
DOCS = ROOT / "docs" / "events.md"
UTC = dt.UTC
ET = ZoneInfo("America/New_York")
NS = 10**9
MIN = 60 * NS


def utc_ns(text: str) -> int:
    stamp = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(stamp.timestamp()) * NS


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path, **kw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        EventCalendar.load(path, **kw)
    return str(info.value).splitlines()


# --- times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-03-08 08:30", "2024-03-08 13:30"),  # NFP, EST
        ("2024-03-12 08:30", "2024-03-12 12:30"),  # CPI, EDT since 10 March
        ("2024-03-12T08:30", "2024-03-12 12:30"),
        ("2024-11-01 08:30", "2024-11-01 12:30"),  # NFP, still EDT
        ("2024-11-13 08:30", "2024-11-13 13:30"),  # CPI, EST since 3 November
        ("2024-03-12T12:30:00Z", "2024-03-12 12:30"),
        ("2024-03-12T08:30:00-04:00", "2024-03-12 12:30"),
        ("2024-03-08 08:30-05:00", "2024-03-08 13:30"),
        ("2024-03-12 12:30+00:00", "2024-03-12 12:30"),
    ],
)
def test_naive_times_are_new_york_and_offsets_are_kept(text, utc):
    assert parse_event_time(text) == utc_ns(utc)


def test_fractions_of_a_second_are_kept():
    assert parse_event_time("2024-03-12T12:30:00.25Z") == utc_ns("2024-03-12 12:30") + NS // 4


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2024-03-12", "without a time of day"),
        ("2024-02-30 08:30", "expected an ISO 8601"),
        ("08:30", "expected an ISO 8601"),
        ("2024-03-10 02:30", "does not exist in New York"),
        ("2024-11-03 01:30", "happens twice in New York"),
        ("", "got nothing"),
    ],
)
def test_bad_times_say_why(text, says):
    with pytest.raises(ValueError, match=says):
        parse_event_time(text)


def test_an_offset_settles_a_time_that_happens_twice():
    assert parse_event_time("2024-11-03 01:30-04:00") + 3600 * NS == parse_event_time(
        "2024-11-03 01:30-05:00"
    )


# --- loading both formats --------------------------------------------------------------


def test_csv_and_yaml_give_the_same_calendar(tmp_path):
    csv = write(
        tmp_path,
        "events.csv",
        """
        # comment lines and blank lines are skipped

        time,name,importance,note
        2024-03-12 08:30,CPI,high,February CPI
        2024-03-08T08:30:00-05:00,NFP,HIGH,
        2024-03-20 14:00,"FOMC, statement",medium,"a ""quoted"" note"
        """,
    )
    yml = write(
        tmp_path,
        "events.yaml",
        """
        events:
          - {time: "2024-03-20 14:00", name: "FOMC, statement", importance: medium}
          - time: 2024-03-12 08:30:00
            name: CPI
          - time: "2024-03-08T13:30:00Z"
            name: NFP
            importance: high
            note: jobs
        """,
    )
    from_csv = EventCalendar.load(csv, importances=("high", "medium"))
    from_yaml = EventCalendar.load(yml, importances=("high", "medium"))
    assert from_csv.events == from_yaml.events
    assert from_csv.events == (
        Event(utc_ns("2024-03-08 13:30"), "NFP", "high"),
        Event(utc_ns("2024-03-12 12:30"), "CPI", "high"),
        Event(utc_ns("2024-03-20 18:00"), "FOMC, statement", "medium"),
    )


def test_yaml_may_be_a_bare_list_and_yml_works(tmp_path):
    path = write(
        tmp_path,
        "events.yml",
        """
        - {time: "2024-03-12 08:30", name: CPI}
        - {time: "2024-01-31 14:00", name: FOMC, importance: high}
        """,
    )
    calendar = EventCalendar.load(path)
    assert [e.name for e in calendar] == ["FOMC", "CPI"]
    assert len(calendar) == 2


def test_an_empty_importance_means_high(tmp_path):
    csv = write(tmp_path, "e.csv", "time,name,importance\n2024-03-12 08:30,CPI,\n")
    two_columns = write(tmp_path, "f.csv", "name,time\nCPI,2024-03-12 08:30\n")
    yml = write(tmp_path, "e.yaml", '- {time: "2024-03-12 08:30", name: CPI, importance: }\n')
    for path in (csv, two_columns, yml):
        assert EventCalendar.load(path).events[0].importance == "high"


def test_empty_files_give_an_empty_calendar(tmp_path):
    for name, text in [("a.csv", ""), ("b.yaml", ""), ("c.yaml", "events:\n"), ("d.csv", "#\n")]:
        calendar = EventCalendar.load(write(tmp_path, name, text))
        assert len(calendar) == 0
        blocked, quality = calendar.flags(np.array([0, 1], dtype=np.int64))
        assert not blocked.any() and not quality.any()


def test_events_are_sorted_and_duplicates_dropped_keeping_the_more_important():
    t = utc_ns("2024-03-12 12:30")
    calendar = EventCalendar(
        [
            Event(t, "CPI", "low"),
            Event(t - MIN, "Z", "low"),
            Event(t, "CPI", "high"),
            Event(t, "Core CPI", "medium"),
            Event(t, "CPI", "medium"),
        ]
    )
    assert calendar.events == (
        Event(t - MIN, "Z", "low"),
        Event(t, "CPI", "high"),
        Event(t, "Core CPI", "medium"),
    )
    assert len(calendar) == 3
    assert calendar.active == (Event(t, "CPI", "high"),)


def test_merge_keeps_both_sides_and_the_first_calendars_settings():
    t = utc_ns("2024-03-12 12:30")
    a = EventCalendar([Event(t, "CPI")], blackout_minutes=5, importances=("high", "low"))
    b = EventCalendar([Event(t, "CPI", "low"), Event(t + 60 * MIN, "Speech", "low")])
    merged = a.merge(b)
    assert merged.events == (Event(t, "CPI", "high"), Event(t + 60 * MIN, "Speech", "low"))
    assert (merged.blackout_ns, merged.importances) == (5 * MIN, ("high", "low"))
    assert a.merge([Event(t - MIN, "X")]).events[0].name == "X"
    assert len(a) == 1  # unchanged


# --- windows --------------------------------------------------------------------------


@pytest.fixture
def cpi():
    """CPI at 2024-03-12 08:30 ET (12:30 UTC)."""
    t = utc_ns("2024-03-12 12:30")
    return t, EventCalendar([Event(t, "CPI", "high")])


@pytest.mark.parametrize(
    ("offset_ns", "blocked", "quality"),
    [
        (-15 * MIN - 1, False, False),
        (-15 * MIN, True, False),
        (0, True, False),
        (15 * MIN, True, False),
        (15 * MIN + 1, False, False),
        (19 * MIN + 59 * NS, False, False),
        (20 * MIN - 1, False, False),
        (20 * MIN, False, True),
        (30 * MIN, False, True),
        (45 * MIN, False, True),
        (45 * MIN + 1, False, False),
        (-30 * MIN, False, False),  # quality only looks back
    ],
)
def test_window_boundaries(cpi, offset_ns, blocked, quality):
    t, calendar = cpi
    b, q = calendar.flags(np.array([t + offset_ns], dtype=np.int64))
    assert (bool(b[0]), bool(q[0])) == (blocked, quality)
    near = calendar.near(t + offset_ns)
    assert (near is not None) == (blocked or quality)
    if near is not None:
        assert near.name == "CPI"


def test_flags_match_a_brute_force_check_over_many_stamps_and_events():
    rng = np.random.default_rng(4)
    releases = np.sort(rng.choice(np.arange(0, 2000 * MIN, MIN), 60, replace=False))
    calendar = EventCalendar([Event(int(r), f"E{i}") for i, r in enumerate(releases)])
    ts = rng.integers(-60 * MIN, 2100 * MIN, 5000)
    ts = np.concatenate([ts, releases + 15 * MIN, releases - 15 * MIN - 1, releases + 45 * MIN])
    blocked, quality = calendar.flags(ts)
    gap = ts[:, None] - releases[None, :]
    assert np.array_equal(blocked, (np.abs(gap) <= 15 * MIN).any(axis=1))
    assert np.array_equal(quality, ((gap >= 20 * MIN) & (gap <= 45 * MIN)).any(axis=1))
    assert blocked.shape == quality.shape == ts.shape
    assert blocked.dtype == quality.dtype == np.bool_


def test_two_releases_close_together_can_give_both_flags():
    t = utc_ns("2024-06-12 12:30")
    calendar = EventCalendar([Event(t, "CPI"), Event(t + 30 * MIN, "Other")])
    stamp = t + 25 * MIN
    blocked, quality = calendar.flags(np.array([stamp]))
    assert blocked[0] and quality[0]
    assert calendar.near(stamp).name == "Other"  # blocking comes first


def test_near_picks_the_closest_blocking_release_and_the_latest_quality_one():
    t = utc_ns("2024-06-12 12:30")
    calendar = EventCalendar([Event(t, "A"), Event(t + 12 * MIN, "B"), Event(t + 20 * MIN, "C")])
    assert calendar.near(t + 5 * MIN).name == "A"
    assert calendar.near(t + 6 * MIN).name == "A"  # a tie: the earlier one
    assert calendar.near(t + 7 * MIN).name == "B"
    later = EventCalendar([Event(t, "A"), Event(t + 10 * MIN, "B")])
    assert later.near(t + 50 * MIN).name == "B"  # both in quality: the latest
    assert later.near(t + 60 * MIN) is None


def test_the_importance_filter(cpi):
    t, _ = cpi
    events = [Event(t, "CPI", "high"), Event(t + 3 * 60 * MIN, "GDP", "medium")]
    gdp = np.array([t + 3 * 60 * MIN])
    assert not EventCalendar(events).flags(gdp)[0][0]
    assert EventCalendar(events, importances=("high", "medium")).flags(gdp)[0][0]
    only_medium = EventCalendar(events, importances="medium")
    assert not only_medium.flags(np.array([t]))[0][0]
    assert only_medium.near(t + 3 * 60 * MIN).name == "GDP"
    assert len(EventCalendar(events)) == 2  # all kept, whatever counts


def test_window_settings(cpi):
    t, _ = cpi
    calendar = EventCalendar([Event(t, "CPI")], blackout_minutes=5, quality_minutes=(10, 12.5))
    offsets = np.array([5 * MIN, 5 * MIN + 1, 10 * MIN, 12 * MIN + 30 * NS, 12 * MIN + 30 * NS + 1])
    blocked, quality = calendar.flags(t + offsets)
    assert blocked.tolist() == [True, False, False, False, False]
    assert quality.tolist() == [False, False, True, True, False]


@pytest.mark.parametrize(
    "kw",
    [
        {"blackout_minutes": -1},
        {"blackout_minutes": "15"},
        {"quality_minutes": (45, 20)},
        {"quality_minutes": 20},
        {"importances": ("urgent",)},
    ],
)
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        EventCalendar([], **kw)


def test_an_event_checks_its_fields():
    with pytest.raises(ValueError, match="not one of high, medium, low"):
        Event(0, "CPI", "hgh")
    with pytest.raises(ValueError, match="non-empty"):
        Event(0, " ", "high")
    assert str(Event(utc_ns("2024-03-12 12:30"), "CPI")) == "CPI at 2024-03-12 08:30 ET"


# --- errors ------------------------------------------------------------------------------


def test_csv_errors_name_line_column_and_field_all_at_once(tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        """
        time,name,importance
        2024-03-12 08:30,CPI,high
        2024-13-12 08:30,CPI,high
        2024-03-12 08:30,CPI,hgh
        2024-03-12,,high
        2024-03-20 14:00,FOMC,high,extra
        """,
    )
    file = str(path)
    assert problems(path) == [
        f"{file}:3:1: time: expected an ISO 8601 date and time such as '2024-03-12 08:30' "
        f"(New York time) or '2024-03-12T12:30:00Z', got '2024-13-12 08:30'",
        f"{file}:4:22: importance: 'hgh' is not one of high, medium, low; did you mean 'high'?",
        f"{file}:5:1: time: '2024-03-12' is a date without a time of day; give the release "
        f"time, e.g. '2024-03-12 08:30'",
        f"{file}:5:12: name: missing; expected what is released, e.g. 'CPI'",
        f"{file}:6:28: 4 fields but the header names 3 columns",
    ]


def test_csv_header_problems(tmp_path):
    missing = write(tmp_path, "a.csv", "time,importance\n2024-03-12 08:30,high\n")
    lines = problems(missing)
    assert len(lines) == 1
    assert lines[0].startswith(f"{missing}:1:1: header: missing column 'name'")
    typo = write(tmp_path, "b.csv", "time,name,importnce\n")
    assert problems(typo) == [
        f"{typo}:1:11: header: unknown column 'importnce' (expected time, name, importance, "
        f"note); did you mean 'importance'?"
    ]
    twice = write(tmp_path, "c.csv", "time,name,time\n")
    assert problems(twice) == [f"{twice}:1:11: header: column 'time' is given twice"]


def test_csv_quoting_problems(tmp_path):
    path = write(tmp_path, "a.csv", 'time,name\n2024-03-12 08:30,"CPI\n2024-03-12 08:30,"A"B\n')
    lines = problems(path)
    assert lines[0].startswith(f"{path}:2:1: a quote opened at column 18 is never closed")
    assert lines[1].startswith(f"{path}:3:1: unexpected text after the quoted field")


def test_yaml_errors_point_at_the_node_all_at_once(tmp_path):
    path = write(
        tmp_path,
        "events.yaml",
        """
        events:
          - time: "2024-03-12 08:30"
            name: CPI
            importance: urgent
          - time: "2024-03-10 02:30"
            name: FOMC
          - name: NFP
          - time: "2024-03-08 08:30"
            name: NFP
            importnace: high
            name: again
          - just text
          - {time: ["2024-03-08"], name: X}
        """,
    )
    file = str(path)
    assert problems(path) == [
        f"{file}:4:17: events[0].importance: 'urgent' is not one of high, medium, low",
        f"{file}:5:11: events[1].time: '2024-03-10 02:30' does not exist in New York (the "
        f"clocks skip that hour when daylight saving time starts); give a UTC offset",
        f"{file}:7:5: events[2].time: missing; expected a date and time such as '2024-03-12 08:30'",
        f"{file}:10:5: events[3]: unknown key 'importnace' (expected time, name, importance, "
        f"note); did you mean 'importance'?",
        f"{file}:11:5: events[3].name: duplicate key 'name' (first given at line 9)",
        f"{file}:12:5: events[4]: expected a mapping with time, name and importance, "
        f"got 'just text'",
        f"{file}:13:12: events[5].time: expected text, got a list",
    ]


def test_yaml_top_level_problems(tmp_path):
    other = write(tmp_path, "a.yaml", "evnts: []\n")
    assert problems(other)[0].startswith(f"{other}:1:1: unknown key 'evnts'")
    assert "did you mean 'events'?" in problems(other)[0]
    scalar = write(tmp_path, "b.yaml", "events: 3\n")
    assert problems(scalar) == [
        f"{scalar}:1:9: events: expected a list of events ({{time, name, importance}}), got '3'"
    ]
    broken = write(tmp_path, "c.yaml", "- {time: '2024-03-12 08:30', name: CPI\n")
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: YAML syntax error", problems(broken)[0])


def test_file_problems(tmp_path):
    assert problems(tmp_path / "missing.csv") == [
        f"{tmp_path / 'missing.csv'}: event calendar file not found"
    ]
    other = write(tmp_path, "events.json", "[]")
    assert "must be a .csv, .yaml or .yml file" in problems(other)[0]


# --- shipped files, docs and the sim ---------------------------------------------------------


def test_the_shipped_calendar_loads_with_the_real_2024_2025_releases():
    calendar = EventCalendar.load(SHIPPED)
    kinds = collections.Counter((e.local_time().year, e.name) for e in calendar)
    assert kinds == {
        (2024, "CPI"): 12,
        (2024, "FOMC"): 8,
        (2024, "NFP"): 12,
        (2025, "CPI"): 11,  # October 2025 CPI was cancelled
        (2025, "FOMC"): 8,
        (2025, "NFP"): 11,  # no October 2025 report of its own
    }
    assert all(e.importance == "high" for e in calendar)
    clock = {"CPI": (8, 30), "NFP": (8, 30), "FOMC": (14, 0)}
    for event in calendar:
        local = event.local_time()
        assert (local.hour, local.minute) == clock[event.name], event
        assert local.weekday() < 5, event
    days = {(e.name, e.local_time().date().isoformat()) for e in calendar}
    # DST: 2024-03-08 NFP is EST, 2024-03-12 CPI is EDT
    assert Event(utc_ns("2024-03-08 13:30"), "NFP") in calendar.events
    assert Event(utc_ns("2024-03-12 12:30"), "CPI") in calendar.events
    # the 2025 shutdown dates
    for day in [("CPI", "2025-10-24"), ("CPI", "2025-12-18"), ("NFP", "2025-11-20")]:
        assert day in days
    assert ("NFP", "2025-12-16") in days
    assert not {d for d in days if d[0] == "CPI" and d[1].startswith("2025-11")}
    assert ("NFP", "2025-10-03") not in days and ("CPI", "2025-10-15") not in days


def test_the_csv_sample_loads():
    calendar = EventCalendar.load(SAMPLE)
    assert [(e.name, e.importance) for e in calendar] == [
        ("NFP", "high"),
        ("CPI", "high"),
        ("FOMC", "high"),
        ("FOMC press conference", "medium"),
        ("GDP", "medium"),
    ]
    assert calendar.events[3].ts_ns == calendar.events[2].ts_ns + 30 * MIN
    assert len(calendar.active) == 3


@pytest.mark.parametrize(("fence", "count"), [("csv", 4), ("yaml", 3)])
def test_the_examples_in_the_docs_load(tmp_path, fence, count):
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(rf"```{fence}\n(.*?)```", text, re.S)
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.{fence}"
        path.write_text(block, encoding="utf-8")
        assert len(EventCalendar.load(path)) == count


def test_the_sims_releases_come_out_as_events():
    from rsengine_sim import SimSource

    source = SimSource(
        {"scenarios": ["event_spike"], "trades_per_minute": 5},
        SimpleNamespace(symbols=(), config=None),
    )
    events = source.events()
    assert all(type(e) is Event for e in events)
    day = source.market.sessions()[0].session_date
    at = {e.name: e.local_time() for e in events}
    assert at == {
        "CPI": dt.datetime.combine(day, dt.time(8, 30), tzinfo=ET),
        "FOMC rate decision": dt.datetime.combine(day, dt.time(14, 0), tzinfo=ET),
    }
    calendar = EventCalendar.load(SAMPLE).merge(events)
    assert len(calendar) == 7
    blocked, quality = calendar.flags(np.array([e.ts_ns + 30 * MIN for e in events]))
    assert quality.all() and not blocked.any()
