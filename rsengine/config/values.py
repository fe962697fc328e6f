"""The checks of single values. Each takes what YAML gave, returns the value
the config keeps (``9:30`` -> ``"09:30"``, ``1`` -> ``1.0``) or raises
ValueError with the message a user reads. They are the attrs converters of
the config classes and, through :mod:`.structure`, cattrs' hooks for them."""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable

from rsengine.exchange import contracts
from rsengine.exchange.sessions import parse_anchor, parse_bar_size

from .errors import ItemError, describe, not_one_of, suggestion


def optional(check: Callable) -> Callable:
    """``check``, with None passed through (None means the default)."""

    def convert(value):
        return None if value is None else check(value)

    return convert


def one_of(*choices: str, true: str | None = None, false: str | None = None) -> Callable:
    # YAML 1.1 reads unquoted on/off/yes/no as booleans; map them back.
    def convert(value):
        if value is True and true is not None:
            return true
        if value is False and false is not None:
            return false
        if isinstance(value, str) and value in choices:
            return value
        raise ValueError(not_one_of(value, choices))

    return convert


def positive_number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number more than 0, got {describe(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected a number more than 0, got {value!r}")
    return float(value)


def positive_count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number of 1 or more, got {describe(value)}")
    if value < 1:
        raise ValueError(f"expected a whole number of 1 or more, got {value}")
    return value


def boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {describe(value)}")
    return value


def text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {describe(value)}")
    return str(value)


def text_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list, got {describe(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ItemError(i, f"expected text, got {describe(item)}")
    return tuple(value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")
_DURATION_UNITS = {
    "ms": 10**6, "msec": 10**6, "millisecond": 10**6, "milliseconds": 10**6,
    "": 10**9, "s": 10**9, "sec": 10**9, "secs": 10**9, "second": 10**9, "seconds": 10**9,
    "min": 60 * 10**9, "mins": 60 * 10**9, "minute": 60 * 10**9, "minutes": 60 * 10**9,
    "h": 3600 * 10**9, "hr": 3600 * 10**9, "hour": 3600 * 10**9, "hours": 3600 * 10**9,
}  # fmt: skip


def parse_duration(value) -> int:
    """``"500ms"``, ``"2s"``, ``"1min"``, ``"1.5h"`` or a number of seconds -> ns (>= 0)."""
    if isinstance(value, bool):
        raise ValueError(
            f"expected a duration such as '500ms', '2s' or '1min', got {describe(value)}"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a duration must be 0 or more, got {value!r}")
        return round(value * 10**9)
    m = _DURATION.match(value.lower()) if isinstance(value, str) else None
    if not m or m.group(2) not in _DURATION_UNITS:
        raise ValueError(
            f"expected a duration such as '500ms', '2s' or '1min', got {describe(value)}"
        )
    return round(float(m.group(1)) * _DURATION_UNITS[m.group(2)])


def duration(value) -> str:
    parse_duration(value)
    return value.strip() if isinstance(value, str) else f"{value:g}s"


def bar_size(value) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a bar size such as '1min', '5min' or '1h', got {describe(value)}"
        )
    parse_bar_size(value)
    return value.strip()


def timezone(value) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a time zone name such as 'America/New_York', got {describe(value)}"
        )
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = suggestion(value, sorted(zoneinfo.available_timezones()))
        raise ValueError(
            f"{value!r} is not a time zone name (IANA, e.g. 'America/New_York'){hint}"
        ) from None
    return value


def anchor(value) -> str:
    if value is None:
        return "session"
    if not isinstance(value, str):
        hint = " (write times in quotes, e.g. '09:30')" if isinstance(value, int) else ""
        raise ValueError(
            f"expected 'session' or a time such as '09:30', got {describe(value)}{hint}"
        )
    m = re.match(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$", value)
    if m:  # 9:30 -> 09:30
        value = f"{int(m.group(1)):02d}:{m.group(2)}" + (f":{m.group(3)}" if m.group(3) else "")
    at = parse_anchor(value)
    return (
        "session"
        if at is None
        else at.isoformat(timespec="minutes" if not at.second else "seconds")
    )


_TABLE_CALENDARS = {s.calendar for s in contracts.CONTRACTS.values()}


def _calendar_names() -> list[str]:
    import pandas_market_calendars as mcal

    return list(mcal.get_calendar_names())


def calendar(value) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected an exchange calendar name such as 'CME Globex Equity', got {describe(value)}"
        )
    if value in _TABLE_CALENDARS:
        return value
    names = _calendar_names()
    if value not in names:
        raise ValueError(
            f"{value!r} is not a pandas_market_calendars calendar "
            f"(e.g. 'CME Globex Equity', 'CME Globex Fixed Income', 'NYSE')"
            f"{suggestion(value, names)}"
        )
    return value


def root(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an instrument root such as 'ES', got {describe(value)}")
    contracts.spec(value)
    return value


def contract(value) -> str:
    if value is None or value == "continuous":
        return "continuous"
    if not isinstance(value, str):
        raise ValueError(
            f"expected 'continuous' or a contract month as MM-YY such as '12-25', "
            f"got {describe(value)}"
        )
    try:
        year, month = contracts.parse_month_year(value)
    except ValueError:
        raise ValueError(
            f"expected 'continuous' or a contract month as MM-YY such as '12-25', got {value!r}"
        ) from None
    return f"{month:02d}-{year % 100:02d}"
