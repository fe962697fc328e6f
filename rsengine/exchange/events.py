"""Scheduled releases (CPI, FOMC, payrolls ...) and the windows around them.

An :class:`EventCalendar` holds :class:`Event` s, sorted by time, and answers,
for any number of bar stamps at once, two questions (DOMAIN section 5):

* **blocked**: is a release within ``blackout_minutes`` (15) of the stamp,
  before or after? ``|ts - release| <= blackout``, both ends included.
* **quality**: did a release happen 20 to 45 minutes before the stamp?
  ``release + 20min <= ts <= release + 45min``, both ends included.

Only events whose importance is in ``importances`` (default ``("high",)``)
count. Both flags can be true for one stamp when two releases are close
together; a consumer gives ``blocked`` precedence.

:meth:`EventCalendar.load` reads a ``.csv`` file (header ``time,name,importance``)
or a ``.yaml``/``.yml`` file (a list of ``{time, name, importance}``, or a
mapping with that list under ``events:``). ``time`` is ISO 8601 with a UTC
offset, or without one meaning America/New_York wall-clock time. Every bad row
is reported at once, as a :class:`rsengine.config.ConfigError` whose lines read
``file:line:column: key: what was expected``. The file format is described in
``docs/events.md``.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterable
from pathlib import Path

import attrs
import numpy as np
import yaml

from rsengine.config import ConfigError, Location, format_path, not_one_of, suggestion

__all__ = [
    "DEFAULT_IMPORTANCE",
    "Event",
    "EventCalendar",
    "IMPORTANCES",
    "NAIVE_TIMEZONE",
    "parse_event_time",
    "read_events",
]

#: Importance levels, most important first.
IMPORTANCES = ("high", "medium", "low")
#: The zone of a ``time`` written without a UTC offset.
NAIVE_TIMEZONE = "America/New_York"
#: The importance of a row that leaves it out (the cautious choice: it blocks).
DEFAULT_IMPORTANCE = "high"

_ET = zoneinfo.ZoneInfo(NAIVE_TIMEZONE)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NS_PER_MINUTE = 60 * 10**9
_KEYS = ("time", "name", "importance", "note")  # note: free text, ignored
_REQUIRED = ("time", "name")
_RANK = {name: i for i, name in enumerate(IMPORTANCES)}


def _check_importance(instance, attribute, value) -> None:
    if value not in IMPORTANCES:
        raise ValueError(not_one_of(value, IMPORTANCES))


def _check_name(instance, attribute, value) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"an event name must be non-empty text, got {value!r}")


@attrs.frozen
class Event:
    """One scheduled release.

    Attributes:
        ts_ns: Release time, int nanoseconds since the epoch, UTC.
        name: What is released, e.g. ``"CPI"``.
        importance: ``"high"``, ``"medium"`` or ``"low"``.
    """

    ts_ns: int = attrs.field(converter=int)
    name: str = attrs.field(validator=_check_name)
    importance: str = attrs.field(default=DEFAULT_IMPORTANCE, validator=_check_importance)

    def local_time(self, tz: str = NAIVE_TIMEZONE) -> dt.datetime:
        """The release time as an aware datetime in ``tz`` (microseconds kept)."""
        return (_EPOCH + dt.timedelta(microseconds=self.ts_ns // 1000)).astimezone(
            zoneinfo.ZoneInfo(tz)
        )

    def __str__(self) -> str:
        return f"{self.name} at {self.local_time():%Y-%m-%d %H:%M} ET"


# --- time text -> ns ------------------------------------------------------------------


def parse_event_time(text: str) -> int:
    """ISO 8601 text -> int ns UTC.

    ``"2024-03-12T12:30:00Z"`` and ``"2024-03-12 08:30-04:00"`` carry their own
    offset; ``"2024-03-12 08:30"`` has none and is America/New_York wall-clock
    time (EDT or EST as the date falls). Raises ValueError with a message for a
    user: a date without a time of day, text that is not ISO 8601, or a
    wall-clock time that does not exist or happens twice at a DST change.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a date and time such as '2024-03-12 08:30', got nothing")
    text = text.strip()
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected an ISO 8601 date and time such as '2024-03-12 08:30' (New York "
            f"time) or '2024-03-12T12:30:00Z', got {text!r}"
        ) from None
    if len(text) <= 10 or not any(sep in text for sep in "Tt "):
        raise ValueError(
            f"{text!r} is a date without a time of day; give the release time, "
            f"e.g. '{stamp:%Y-%m-%d} 08:30'"
        )
    if stamp.tzinfo is None:
        stamp = _new_york(stamp, text)
    delta = stamp - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _new_york(naive: dt.datetime, text: str) -> dt.datetime:
    first, second = naive.replace(tzinfo=_ET, fold=0), naive.replace(tzinfo=_ET, fold=1)
    back = first.astimezone(dt.UTC).astimezone(_ET).replace(tzinfo=None)
    if back != naive:
        raise ValueError(
            f"{text!r} does not exist in New York (the clocks skip that hour when "
            f"daylight saving time starts); give a UTC offset"
        )
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{text!r} happens twice in New York (the clocks repeat that hour when "
            f"daylight saving time ends); give a UTC offset, e.g. -04:00 or -05:00"
        )
    return first


# --- the calendar -----------------------------------------------------------------------


def _minutes_ns(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{what} must be a number of minutes, 0 or more, got {value!r}")
    return round(value * _NS_PER_MINUTE)


def _as_event(item) -> Event:
    if isinstance(item, Event):
        return item
    return Event(item.ts_ns, item.name, item.importance)


class EventCalendar:
    """Scheduled releases and the blackout / quality windows around them.

    Args:
        events: :class:`Event` s (or objects with ``ts_ns``, ``name`` and
            ``importance``), in any order. They are sorted by time then name;
            of two with the same time and name only one is kept, the more
            important.
        blackout_minutes: Half-width of the window around a release in which
            stamps are blocked (15).
        quality_minutes: ``(start, end)`` minutes after a release of the
            quality window ((20, 45)).
        importances: The importance levels that count for :meth:`flags` and
            :meth:`near` (``("high",)``); the others are kept but ignored.
    """

    def __init__(
        self,
        events: Iterable = (),
        blackout_minutes: float = 15,
        quality_minutes: tuple[float, float] = (20, 45),
        importances: Iterable[str] = ("high",),
    ):
        self.blackout_ns = _minutes_ns(blackout_minutes, "blackout_minutes")
        try:
            lo, hi = quality_minutes
        except (TypeError, ValueError):
            raise ValueError(
                f"quality_minutes must be (start, end) minutes after a release, "
                f"got {quality_minutes!r}"
            ) from None
        self.quality_ns = (
            _minutes_ns(lo, "quality_minutes start"),
            _minutes_ns(hi, "quality_minutes end"),
        )
        if self.quality_ns[0] > self.quality_ns[1]:
            raise ValueError(f"quality_minutes start must not be after its end, got {lo}, {hi}")
        if isinstance(importances, str):
            importances = (importances,)
        self.importances = tuple(importances)
        for level in self.importances:
            if level not in IMPORTANCES:
                raise ValueError(f"importances: {not_one_of(level, IMPORTANCES)}")
        self.blackout_minutes = blackout_minutes
        self.quality_minutes = (lo, hi)

        ranked = sorted(
            (_as_event(e) for e in events), key=lambda e: (e.ts_ns, e.name, _RANK[e.importance])
        )
        kept: list[Event] = []
        for event in ranked:
            if kept and (kept[-1].ts_ns, kept[-1].name) == (event.ts_ns, event.name):
                continue  # a duplicate; the more important one came first
            kept.append(event)
        self.events: tuple[Event, ...] = tuple(kept)
        self.active: tuple[Event, ...] = tuple(
            e for e in self.events if e.importance in self.importances
        )
        self._ts = np.array([e.ts_ns for e in self.active], dtype=np.int64)

    # -- building --------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike, **kw) -> EventCalendar:
        """Read a ``.csv``, ``.yaml`` or ``.yml`` calendar file; ``kw`` go to
        the constructor. Raises :class:`ConfigError` listing every bad row."""
        return cls(read_events(path), **kw)

    def merge(self, other: EventCalendar | Iterable) -> EventCalendar:
        """A calendar with the events of both (duplicates dropped) and this
        calendar's windows and importances."""
        more = other.events if isinstance(other, EventCalendar) else tuple(other)
        return type(self)(
            (*self.events, *more),
            blackout_minutes=self.blackout_minutes,
            quality_minutes=self.quality_minutes,
            importances=self.importances,
        )

    # -- questions --------------------------------------------------------------------

    def __len__(self) -> int:
        """All events, whatever their importance."""
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def __repr__(self) -> str:
        return (
            f"EventCalendar({len(self.events)} events, {len(self.active)} counted, "
            f"blackout_minutes={self.blackout_minutes}, "
            f"quality_minutes={self.quality_minutes}, importances={self.importances})"
        )

    def flags(self, ts_ns) -> tuple[np.ndarray, np.ndarray]:
        """``(blocked, quality)`` bool arrays, one entry per stamp of ``ts_ns``
        (int ns UTC, any order). O(n log m) for n stamps and m events."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        return (
            self._any_between(ts - self.blackout_ns, ts + self.blackout_ns),
            self._any_between(ts - self.quality_ns[1], ts - self.quality_ns[0]),
        )

    def near(self, ts_ns: int) -> Event | None:
        """The counted event that blocks ``ts_ns`` (the closest, the earlier of
        two as close), else the one whose quality window holds it (the latest),
        else None."""
        ts = int(ts_ns)
        lo, hi = self._span(ts - self.blackout_ns, ts + self.blackout_ns)
        if hi > lo:
            gaps = np.abs(self._ts[lo:hi] - ts)
            return self.active[lo + int(np.argmin(gaps))]
        lo, hi = self._span(ts - self.quality_ns[1], ts - self.quality_ns[0])
        if hi > lo:
            return self.active[hi - 1]
        return None

    def _span(self, lo: int, hi: int) -> tuple[int, int]:
        """Indices [i, j) of the counted events with lo <= ts <= hi."""
        return (
            int(np.searchsorted(self._ts, lo, side="left")),
            int(np.searchsorted(self._ts, hi, side="right")),
        )

    def _any_between(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Per entry: is there a counted event at a time in [lo, hi]?"""
        if not len(self._ts):
            return np.zeros(lo.shape, dtype=bool)
        i = np.searchsorted(self._ts, lo, side="left")
        first = self._ts[np.minimum(i, len(self._ts) - 1)]
        return (i < len(self._ts)) & (first <= hi)


# --- reading files ------------------------------------------------------------------------


def read_events(path: str | os.PathLike) -> list[Event]:
    """The events of a ``.csv``, ``.yaml`` or ``.yml`` file, in file order.
    Raises :class:`ConfigError` listing every problem."""
    file = os.fspath(path)
    suffix = Path(file).suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise ConfigError(
            f"an event calendar must be a .csv, .yaml or .yml file, got {suffix or 'no'} suffix",
            file=file,
        )
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("event calendar file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the event calendar: {exc}", file=file) from None
    reader = _read_csv if suffix == ".csv" else _read_yaml
    errors: list[ConfigError] = []
    events = reader(text, file, errors)
    if errors:
        raise ConfigError.collect(errors)
    return events


class _Row:
    """Checks one row's fields, collecting errors; ``event()`` is None if bad."""

    def __init__(self, errors: list):
        self.errors, self.ok = errors, True
        self.bad: set[str] = set()  # fields already reported

    def error(self, where: Location, key: str, message: str, field: str = "") -> None:
        self.errors.append(ConfigError.at(where, key, message))
        self.ok = False
        self.bad.add(field)

    def event(self, fields: dict, where: dict, row_at: Location, path: tuple) -> Event | None:
        """``fields``: key -> text or None (absent/empty); ``where``: key -> Location."""
        for key in _REQUIRED:
            if fields.get(key) is None and key not in self.bad:
                self.error(
                    where.get(key, row_at),
                    format_path((*path, key)),
                    "missing; expected "
                    + (
                        "a date and time such as '2024-03-12 08:30'"
                        if key == "time"
                        else "what is released, e.g. 'CPI'"
                    ),
                )
        ts = None
        if fields.get("time") is not None:
            try:
                ts = parse_event_time(fields["time"])
            except ValueError as exc:
                self.error(where["time"], format_path((*path, "time")), str(exc))
        importance = DEFAULT_IMPORTANCE
        if fields.get("importance") is not None:
            importance = fields["importance"].strip().lower()
            if importance not in IMPORTANCES:
                self.error(
                    where["importance"],
                    format_path((*path, "importance")),
                    not_one_of(fields["importance"].strip(), IMPORTANCES),
                )
        if not self.ok:
            return None
        return Event(ts, fields["name"].strip(), importance)


def _unknown_key(key: str) -> str:
    return f"unknown key {key!r} (expected {', '.join(_KEYS)}){suggestion(key, _KEYS)}"


# CSV ---------------------------------------------------------------------------------------


def _split_csv(line: str) -> list[tuple[int, str]]:
    """One CSV line -> [(1-based column, field text)], RFC 4180 quoting.
    Raises ValueError on an unclosed quote."""
    fields, pos, n = [], 0, len(line)
    while True:
        start = pos
        if pos < n and line[pos] == '"':
            text, pos = [], pos + 1
            while True:
                end = line.find('"', pos)
                if end < 0:
                    raise ValueError(f"a quote opened at column {start + 1} is never closed")
                text.append(line[pos:end])
                if line.startswith('""', end):
                    text.append('"')
                    pos = end + 2
                    continue
                pos = end + 1
                break
            value = "".join(text)
            comma = line.find(",", pos)
            tail = line[pos:] if comma < 0 else line[pos:comma]
            if tail.strip():
                raise ValueError(f"unexpected text after the quoted field at column {start + 1}")
        else:
            comma = line.find(",", pos)
            value = line[pos:] if comma < 0 else line[pos:comma]
        fields.append((start + 1, value))
        if comma < 0:
            return fields
        pos = comma + 1


def _read_csv(text: str, file: str, errors: list) -> list[Event]:
    rows = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        return []
    number, line = rows[0]
    try:
        header = _split_csv(line)
    except ValueError as exc:
        errors.append(ConfigError.at(Location(file, number, 1), "", f"bad header: {exc}"))
        return []
    names = [value.strip().lower() for _, value in header]
    bad_header, seen = False, set()
    for (col, _), name in zip(header, names, strict=True):
        if name not in _KEYS:
            message = (
                f"unknown column {name!r} (expected {', '.join(_KEYS)}){suggestion(name, _KEYS)}"
            )
        elif name in seen:
            message = f"column {name!r} is given twice"
        else:
            seen.add(name)
            continue
        errors.append(ConfigError.at(Location(file, number, col), "header", message))
        bad_header = True
    for key in _REQUIRED:
        if key not in names:
            errors.append(
                ConfigError.at(
                    Location(file, number, 1),
                    "header",
                    f"missing column {key!r}; the header must name time, name and, "
                    f"optionally, importance and note (e.g. 'time,name,importance')",
                )
            )
            bad_header = True
    if bad_header:
        return []

    events = []
    for number, line in rows[1:]:
        row = _Row(errors)
        try:
            cells = _split_csv(line)
        except ValueError as exc:
            row.error(Location(file, number, 1), "", str(exc))
            continue
        if len(cells) > len(names):
            col = cells[len(names)][0]
            row.error(
                Location(file, number, col),
                "",
                f"{len(cells)} fields but the header names {len(names)} columns",
            )
            continue
        fields, where = {}, {}
        for (col, value), name in zip(cells, names, strict=False):
            fields[name] = value if value.strip() else None
            where[name] = Location(file, number, col)
        end = Location(file, number, len(line) + 1)
        event = row.event(fields, where, end, ())
        if event is not None:
            events.append(event)
    return events


# YAML --------------------------------------------------------------------------------------


def _mark(file: str, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _describe_node(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag.endswith(":null"):
        return "nothing (null)"
    return repr(node.value)


def _read_yaml(text: str, file: str, errors: list) -> list[Event]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(file, mark) if mark else Location(file)
        problem = exc.problem or exc.context or "invalid YAML"
        errors.append(ConfigError.at(where, "", f"YAML syntax error: {problem}"))
        return []
    except yaml.YAMLError as exc:
        errors.append(ConfigError.at(Location(file), "", f"YAML error: {exc}"))
        return []
    if root is None:
        return []
    path: tuple = ()
    if isinstance(root, yaml.MappingNode):
        items = None
        for knode, vnode in root.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if key == "events" and items is None:
                items, path = vnode, ("events",)
            elif key == "events":
                errors.append(
                    ConfigError.at(_mark(file, knode.start_mark), "events", "duplicate key")
                )
            else:
                errors.append(
                    ConfigError.at(
                        _mark(file, knode.start_mark),
                        "",
                        f"unknown key {key!r}: the file holds a list of events, or that "
                        f"list under `events:`{suggestion(key, ['events'])}",
                    )
                )
        if items is None:
            if not errors:
                errors.append(
                    ConfigError.at(
                        _mark(file, root.start_mark), "", "expected `events:` with a list of events"
                    )
                )
            return []
        root = items
    if isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null"):
        return []
    if not isinstance(root, yaml.SequenceNode):
        errors.append(
            ConfigError.at(
                _mark(file, root.start_mark),
                format_path(path),
                f"expected a list of events ({{time, name, importance}}), got "
                f"{_describe_node(root)}",
            )
        )
        return []
    events = []
    for i, item in enumerate(root.value):
        event = _yaml_event(item, file, (*path, i), errors)
        if event is not None:
            events.append(event)
    return events


def _yaml_event(node, file: str, path: tuple, errors: list) -> Event | None:
    row = _Row(errors)
    at = _mark(file, node.start_mark)
    if not isinstance(node, yaml.MappingNode):
        row.error(
            at,
            format_path(path),
            f"expected a mapping with time, name and importance, got {_describe_node(node)}",
        )
        return None
    fields, where = {}, {}
    for knode, vnode in node.value:
        key = knode.value if isinstance(knode, yaml.ScalarNode) else None
        kat = _mark(file, knode.start_mark)
        if key not in _KEYS:
            row.error(kat, format_path(path), _unknown_key(str(key)))
            continue
        if key in where:
            row.error(
                kat,
                format_path((*path, key)),
                f"duplicate key {key!r} (first given at line {where[key].line})",
            )
            continue
        where[key] = _mark(file, vnode.start_mark)
        if isinstance(vnode, yaml.ScalarNode) and vnode.tag.endswith(":null"):
            fields[key] = None
        elif isinstance(vnode, yaml.ScalarNode):
            # the text as written: YAML would turn '2024-03-12 08:30:00' into a
            # datetime and `name: 2024` into a number
            fields[key] = vnode.value if vnode.value.strip() else None
        else:
            row.error(
                where[key],
                format_path((*path, key)),
                f"expected text, got {_describe_node(vnode)}",
                field=key,
            )
    return row.event(fields, where, at, path)
