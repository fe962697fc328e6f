"""Trading sessions from a maintained exchange calendar, and the bar grid on them.

A Globex session runs from 18:00 ET on the previous day to 17:00 ET; its
session date is the date on which it closes. Holidays, early closes and any
intra-session halt come from ``pandas_market_calendars`` (default calendar
``CME Globex Equity``), never from a hand-kept list. A schedule is built a
whole year at a time, for the years a run touches, when first asked for; a
year built once is kept on disk (:func:`cache_dir`), so later runs read it
back exactly and do not import ``pandas_market_calendars`` (nor pandas) at all.

The core aggregator knows nothing of calendars: it is handed *segments*
(stretches of continuous trading, int64 ns UTC) and, for each, an *anchor*, one
edge of the bar grid. Bars in a segment have edges at ``anchor + k * bar_ns``
clipped to the segment, so no bar spans a halt or a session boundary.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import os
import re
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import numpy as np

EXCHANGE_TZ = "America/New_York"
# Checked against three years of Databento MES/MNQ/M2K bars: every bar falls in a
# session of this calendar, including the 13:15 ET early closes, which the
# "CME_Equity" calendar puts at 13:00. It has no intra-session halts, so 2018-era
# data with the 16:15-16:30 ET halt wants calendar "CME_Equity".
DEFAULT_CALENDAR = "CME Globex Equity"

NS_PER_SECOND = 1_000_000_000
DAY_NS = 86_400 * NS_PER_SECOND

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86_400,
    "day": 86_400,
    "days": 86_400,
}
_BAR_SIZE = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")


def parse_bar_size(text: str | int) -> int:
    """``'5min'``, ``'30s'``, ``'1h'``, ``'1d'`` (or ns as int) -> nanoseconds.

    One day (``'1d'``) means one bar per session, whatever the session's length.
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        ns = int(text)
    else:
        m = _BAR_SIZE.match(str(text).lower())
        if not m or m.group(2) not in _UNITS:
            raise ValueError(
                f"bar size {text!r} is not understood: expected a number and a unit "
                f"such as '30s', '1min', '5min', '1h' or '1d'"
            )
        ns = int(m.group(1)) * _UNITS[m.group(2)] * NS_PER_SECOND
    if ns <= 0 or ns > DAY_NS:
        raise ValueError(f"bar size {text!r} must be more than 0 and at most one day")
    return ns


def parse_anchor(text: str | None) -> dt.time | None:
    """``None``/``'session'`` -> session open; ``'09:30'`` -> that time of day."""
    if text is None or str(text).strip().lower() in ("", "session", "session_open"):
        return None
    try:
        return dt.time.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(
            f"anchor {text!r} is not understood: expected 'session' or a time such as '09:30'"
        ) from None


@functools.cache
def _calendar(name: str):
    import pandas_market_calendars as mcal

    try:
        return mcal.get_calendar(name)
    except (RuntimeError, KeyError):
        known = ", ".join(n for n in mcal.get_calendar_names() if n.startswith(("CME", "CBOT")))
        raise ValueError(f"unknown exchange calendar {name!r}; CME/CBOT ones: {known}") from None


def _ns(series) -> np.ndarray:
    return (
        series.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy()
        .astype("datetime64[ns]")
        .view(np.int64)
    )


@attrs.frozen(eq=False)
class SessionSchedule:
    """Sessions in date order: int64 ns UTC bounds, optional halt inside each.

    ``break_start == break_end`` means the session has no halt.
    """

    session_date: np.ndarray  # datetime64[D], the date the session closes
    open_ns: np.ndarray
    close_ns: np.ndarray
    break_start_ns: np.ndarray
    break_end_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.open_ns)

    def session_index(self, ts_ns: np.ndarray | int) -> np.ndarray:
        """Index of the session each stamp falls in (its close is after it), or -1."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        idx = np.searchsorted(self.close_ns, ts, side="right")
        inside = (idx < len(self)) & (ts >= self.open_ns[np.minimum(idx, len(self) - 1)])
        return np.where(inside, idx, -1)


def load_schedule(
    start: dt.date, end: dt.date, calendar: str = DEFAULT_CALENDAR
) -> SessionSchedule:
    """Sessions whose session date lies in ``[start, end]``.

    The calendar is asked for whole years, once each (cached): building a
    schedule costs tens of milliseconds, and every feed and bar size needs one.
    """
    years = [_year_schedule(year, calendar) for year in range(start.year, end.year + 1)]
    dates = np.concatenate([y.session_date for y in years])
    keep = (dates >= np.datetime64(start, "D")) & (dates <= np.datetime64(end, "D"))
    return SessionSchedule(
        **{
            name: np.concatenate([getattr(y, name) for y in years])[keep]
            for name in ("session_date", "open_ns", "close_ns", "break_start_ns", "break_end_ns")
        }
    )


_FIELDS = ("session_date", "open_ns", "close_ns", "break_start_ns", "break_end_ns")


def cache_dir() -> Path | None:
    """Where built calendar years are kept: ``$RSENGINE_CACHE_DIR/calendars``,
    else ``$XDG_CACHE_HOME/rsengine/calendars`` (``~/.cache`` by default);
    None (no disk cache) when ``RSENGINE_CACHE_DIR`` is set empty."""
    root = os.environ.get("RSENGINE_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "rsengine" / "calendars"
    return Path(root) / "calendars" if root else None


@functools.cache
def _calendar_versions() -> str:
    """The versions the schedules are built with: a new release may change them."""
    names = ("pandas_market_calendars", "exchange_calendars", "pandas")
    return "-".join(_version(n) for n in names)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _cache_path(year: int, calendar: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    slug = re.sub(r"[^A-Za-z0-9]+", "_", calendar)
    return folder / f"{slug}-{year}-{_calendar_versions()}.npz"


@functools.lru_cache(maxsize=256)
def _year_schedule(year: int, calendar: str) -> SessionSchedule:
    """One calendar year's sessions: from the disk cache, else built and kept there."""
    path = _cache_path(year, calendar)
    if path is not None:
        try:
            with np.load(path) as kept:
                return SessionSchedule(**{name: kept[name] for name in _FIELDS})
        except (OSError, KeyError, ValueError):  # not kept yet, or unreadable: build it
            pass
    schedule = _build_year(year, calendar)
    if path is not None:
        _keep(path, schedule)
    return schedule


def _keep(path: Path, schedule: SessionSchedule) -> None:
    """Write a year to the disk cache (atomically: runs may share the folder);
    a folder that cannot be written only costs the next run the build."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{name: getattr(schedule, name) for name in _FIELDS})
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _build_year(year: int, calendar: str) -> SessionSchedule:
    frame = _calendar(calendar).schedule(
        start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31)
    )
    opens, closes = _ns(frame["market_open"]), _ns(frame["market_close"])
    if "break_start" in frame:
        b0, b1 = _ns(frame["break_start"]), _ns(frame["break_end"])
        # A halt that ends at or after the close is no halt inside the session.
        real = (b0 < b1) & (b1 < closes)
        b0, b1 = np.where(real, b0, closes), np.where(real, b1, closes)
    else:
        b0 = b1 = closes
    return SessionSchedule(
        session_date=frame.index.to_numpy().astype("datetime64[D]"),
        open_ns=opens,
        close_ns=closes,
        break_start_ns=b0,
        break_end_ns=b1,
    )


def _local_ns(day: np.datetime64, at: dt.time, tz: ZoneInfo) -> int:
    local = dt.datetime.combine(day.astype(dt.date), at, tzinfo=tz)
    seconds = int(local.timestamp())
    return seconds * NS_PER_SECOND + local.microsecond * 1000


def segments(
    schedule: SessionSchedule,
    bar_ns: int,
    anchor: dt.time | None = None,
    tz: str = EXCHANGE_TZ,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The aggregator's segments for a schedule: (open_ns, close_ns, anchor_ns).

    Intraday bars break at a session's halt; a one-day bar covers the whole
    session, halt included. With ``anchor=None`` the grid starts at the
    session open; otherwise at that time of day (in ``tz``) on the session
    date, so 60-minute bars can line up with the 09:30 ET open.
    """
    zone = ZoneInfo(tz)
    opens, closes, anchors = [], [], []
    for i in range(len(schedule)):
        o, c = int(schedule.open_ns[i]), int(schedule.close_ns[i])
        a = (
            o
            if anchor is None or bar_ns >= DAY_NS
            else _local_ns(schedule.session_date[i], anchor, zone)
        )
        b0, b1 = int(schedule.break_start_ns[i]), int(schedule.break_end_ns[i])
        pieces = [(o, c)] if bar_ns >= DAY_NS or b0 >= b1 else [(o, b0), (b1, c)]
        for so, sc in pieces:
            if so < sc:
                opens.append(so)
                closes.append(sc)
                anchors.append(a)
    return (
        np.asarray(opens, dtype=np.int64),
        np.asarray(closes, dtype=np.int64),
        np.asarray(anchors, dtype=np.int64),
    )


SETTLEMENT_WINDOW_NS = 30 * NS_PER_SECOND
RTH_CLOSE = dt.time(16, 0)
# CME's early close on a trading day (day after Thanksgiving, Christmas Eve, July 3):
# the session settles then. A session the calendar closes before it is a holiday halt.
EARLY_CLOSE = dt.time(13, 15)


def halted(schedule: SessionSchedule, tz: str = EXCHANGE_TZ) -> np.ndarray:
    """Which sessions end in a holiday halt, so no settlement is published.

    DOMAIN.md §2: on a holiday CME halts equity trading at 13:00 ET (MLK,
    Presidents', Memorial, Juneteenth, Independence, Labor, Thanksgiving Day);
    the halted trades belong to the next trade date. The calendar tells the two
    kinds of short session apart by their close: a halt closes before 13:15 ET
    (13:00 ET; also the 09:15 ET Good Friday sessions the calendar lists), an
    early-close trading day closes at 13:15 ET and keeps its own settlement. (Calendar
    ``CME_Equity`` puts early closes at 13:00 ET too, so with it they count as
    halts; the default ``CME Globex Equity`` has them at 13:15 ET.)
    """
    zone = ZoneInfo(tz)
    return np.asarray(
        [
            int(close) < _local_ns(day, EARLY_CLOSE, zone)
            for day, close in zip(schedule.session_date, schedule.close_ns, strict=True)
        ],
        dtype=np.bool_,
    )


@functools.lru_cache(maxsize=256)
def _year_halts(year: int, calendar: str, tz: str) -> frozenset[str]:
    schedule = _year_schedule(year, calendar)
    return frozenset(str(d) for d in schedule.session_date[halted(schedule, tz)])


def is_halt(day: dt.date | str, calendar: str = DEFAULT_CALENDAR, tz: str = EXCHANGE_TZ) -> bool:
    """True when session date ``day`` (a date or ``'YYYY-MM-DD'``) is a holiday
    halt of ``calendar`` (see :func:`halted`); a date it does not list is not."""
    text = day if isinstance(day, str) else day.isoformat()
    return text in _year_halts(int(text[:4]), calendar, tz)


def settlement_segments(
    schedule: SessionSchedule, window_ns: int = SETTLEMENT_WINDOW_NS, tz: str = EXCHANGE_TZ
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One segment per session: the settlement window before the RTH close.

    The window ends at 16:00 ET, or at the session close on an early-close day
    (CME settles equity futures at the early close then).
    """
    zone = ZoneInfo(tz)
    ends = np.asarray(
        [
            min(_local_ns(day, RTH_CLOSE, zone), int(close))
            for day, close in zip(schedule.session_date, schedule.close_ns, strict=True)
        ],
        dtype=np.int64,
    )
    starts = np.maximum(ends - window_ns, schedule.open_ns)
    return starts, ends, starts


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def session_date_of(ts_ns: int, tz: str = EXCHANGE_TZ) -> dt.date:
    """Globex session date of a bar stamped at its close ``ts_ns``.

    Sessions open at 18:00 ET and are dated by the day they close, so a close
    after 18:00 ET belongs to the next day's session.
    """
    # integer microseconds: (ts_ns - 1) / 1e9 as a float would round 1 ns away
    local = (_EPOCH + dt.timedelta(microseconds=(int(ts_ns) - 1) // 1000)).astimezone(ZoneInfo(tz))
    day = local.date()
    return day + dt.timedelta(days=1) if local.hour >= 18 else day


def ns_to_date(ts_ns: int, tz: str = EXCHANGE_TZ) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=ZoneInfo(tz)).date()


RTH_OPEN = dt.time(9, 30)
SESSION_ROLL = dt.time(18, 0)  # a bar closing after 18:00 ET belongs to the next session


def local_ns(day: dt.date, at: dt.time, tz: str = EXCHANGE_TZ) -> int:
    """ns UTC of a wall-clock time on ``day`` in ``tz`` (DST-aware)."""
    return _local_ns(np.datetime64(day, "D"), at, ZoneInfo(tz))


def split_sessions(ts_close: np.ndarray, tz: str = EXCHANGE_TZ):
    """Runs of bar-close stamps by session: yields ``(lo, hi, session_date)``.

    Same rule as :func:`session_date_of`: a session dated D takes the closes in
    (18:00 ET on D-1, 18:00 ET on D]. ``ts_close`` must be sorted.
    """
    lo, n = 0, len(ts_close)
    while lo < n:
        day = session_date_of(int(ts_close[lo]), tz)
        roll = local_ns(day, SESSION_ROLL, tz)
        hi = int(np.searchsorted(ts_close, roll, side="right"))
        yield lo, hi, day
        lo = hi


class SessionBounds:
    """Globex open/close and RTH open/close of session dates, from the calendar.

    A date the calendar does not list (data on a day the exchange calendar
    calls closed) gets the usual hours: 18:00 ET the day before to 17:00 ET,
    RTH 09:30-16:00 ET.
    """

    def __init__(self, calendar: str = DEFAULT_CALENDAR, tz: str = EXCHANGE_TZ):
        self.calendar, self.tz = calendar, tz

    def __call__(self, day: dt.date) -> tuple[int, int, int, int]:
        """``(open_ns, close_ns, rth_open_ns, rth_close_ns)``; the RTH close is
        16:00 ET or the session close on an early-close day."""
        schedule = load_schedule(day, day, self.calendar)  # whole years, cached
        if len(schedule):
            opened, closed = int(schedule.open_ns[0]), int(schedule.close_ns[0])
        else:
            opened = local_ns(day - dt.timedelta(days=1), SESSION_ROLL, self.tz)
            closed = local_ns(day, dt.time(17, 0), self.tz)
        rth_open = local_ns(day, RTH_OPEN, self.tz)
        rth_close = min(local_ns(day, RTH_CLOSE, self.tz), closed)
        return opened, closed, rth_open, rth_close
