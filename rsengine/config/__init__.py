"""The YAML config: loading, validation and errors a user can act on.

``load_config(path_or_text, overrides=(), env=os.environ)`` reads YAML with
``yaml.safe_load`` semantics, but composes the node tree itself so that it
knows the line and column of every key and value. It then

1. rejects duplicate keys (PyYAML silently keeps the last one),
2. replaces ``${VAR}`` and ``${VAR:-default}`` in string values from ``env``
   (``$${`` writes a literal ``${``),
3. applies ``--set key.path=value`` overrides (the value is read as YAML),
4. structures the result into the frozen attrs classes below, checking every
   key and value.

Every problem found is collected, in file order, and raised as one
:class:`ConfigError`; each line reads ``file:line:column: key.path: message``
and an unknown name comes with the closest valid one.

Component sections (``sources``, ``indicators``, ``setups``, ``outputs``) map
a plugin name to a free-form settings mapping that the plugin checks itself.
Each becomes a :class:`ComponentConfig` that remembers where its settings are in
the file, so a plugin can raise an error pointing at the right line with
:func:`error_at`.

The reference for every key is ``docs/config.md``.
"""

from __future__ import annotations

import copy
import importlib.resources
import math
import os
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from rsengine.exchange import contracts
from rsengine.exchange.contracts import closest_match
from rsengine.exchange.sessions import parse_anchor, parse_bar_size

__all__ = [
    "BarsConfig",
    "RiskConfig",
    "ComponentConfig",
    "COMPONENT_SECTIONS",
    "Config",
    "ConfigError",
    "DEFAULT_GROUP",
    "InstrumentConfig",
    "Location",
    "PluginsConfig",
    "RunConfig",
    "SessionConfig",
    "check_component_names",
    "error_at",
    "load_config",
    "load_default",
    "not_one_of",
    "parse_duration",
    "suggestion",
]

#: The relative-strength group used when the config names none.
DEFAULT_GROUP = ("ES", "NQ", "RTY", "YM")
#: Sections that map a plugin name to its settings.
COMPONENT_SECTIONS = ("sources", "indicators", "setups", "outputs")
_SINGULAR = {"sources": "source", "indicators": "indicator", "setups": "setup", "outputs": "output"}
#: The built-in demo config, a file inside the ``rsengine`` package.
DEFAULT_CONFIG_RESOURCE = "demo.yaml"

# --- errors -----------------------------------------------------------------------


@attrs.frozen
class Location:
    """Where a value came from: a file position (1-based), or an override.

    ``origin`` is set (to ``"--set key.path=<hidden>"``) for values given on
    the command line; ``line`` is None then. ``hidden`` holds the texts of such
    a value: an error at this place shows none of them (a value typed on the
    command line may be a secret).
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    origin: str | None = None
    hidden: tuple = attrs.field(default=(), eq=False, repr=False)

    def __str__(self) -> str:
        if self.origin:
            return self.origin
        if self.file and self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


def format_path(path: Iterable) -> str:
    """``("group", 2)`` -> ``"group[2]"``; ``("run", "mode")`` -> ``"run.mode"``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class ConfigError(ValueError):
    """A config problem, or several.

    Attributes:
        message: The problem without location, e.g. ``"'pacd' is not one of ..."``.
        file: The config file (as given), ``"<config>"`` for text, or None.
        line, column: 1-based position of the offending key or value, or None.
        key_path: Dotted path such as ``"indicators.rs.prior_close"`` (list
            items as ``group[2]``), or ``""``.
        origin: ``"--set key.path=<hidden>"`` when the value came from an
            override (the value itself is never shown, in the message neither).
        errors: Every single problem, in file order; ``[self]`` for one. The
            attributes above are those of the first.

    ``str(error)`` is one line per problem:
    ``configs/demo.yaml:12:5: indicators.rs.prior_close: 'setlement' is not one of ...``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key_path: str = "",
        origin: str | None = None,
    ):
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.origin = origin
        self.errors: list[ConfigError] = [self]
        super().__init__(self._line())

    @classmethod
    def at(
        cls, where: Location | None, key_path: str, message: str, hidden: Iterable[str] = ()
    ) -> ConfigError:
        """An error at a :class:`Location`; the message shows none of the
        location's ``hidden`` texts, nor of ``hidden``."""
        where = where or Location()
        return cls(
            hide_override_values(message, (*where.hidden, *hidden)),
            file=where.file,
            line=where.line,
            column=where.column,
            key_path=key_path,
            origin=where.origin,
        )

    @classmethod
    def collect(cls, errors: list[ConfigError]) -> ConfigError:
        """One error listing ``errors`` (each may itself hold several), sorted
        into file order (grouped by file when includes bring several);
        command-line and position-less ones come last."""
        flat = [e for err in errors for e in err.errors]
        flat.sort(key=lambda e: (e.line is None, e.file or "", e.line or 0, e.column or 0))
        if len(flat) == 1:
            return flat[0]
        first = flat[0]
        combined = cls(
            first.message,
            file=first.file,
            line=first.line,
            column=first.column,
            key_path=first.key_path,
            origin=first.origin,
        )
        combined.errors = flat
        combined.args = ("\n".join(e._line() for e in flat),)
        return combined

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.column, self.origin)

    def _line(self) -> str:
        parts = [p for p in (str(self.location), self.key_path) if p]
        return ": ".join([*parts, self.message])

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self._line()


def suggestion(word: Any, choices: Iterable) -> str:
    """``"; did you mean 'mode'?"`` for the closest of ``choices``, or ``""``."""
    close = closest_match(word, list(choices))
    return f"; did you mean {close!r}?" if close is not None else ""


def not_one_of(value: Any, choices: Iterable[str], extra: str = "") -> str:
    """The message for a value outside a set, with a suggestion.

    ``not_one_of("setlement", ["settlement", "rth_last"], "or a number")`` ->
    ``"'setlement' is not one of settlement, rth_last or a number; did you mean
    'settlement'?"``
    """
    choices = list(choices)
    listing = ", ".join(map(str, choices)) + (f" {extra}" if extra else "")
    if not isinstance(value, str):
        return f"expected one of {listing}, got {_describe(value)}"
    return f"{value!r} is not one of {listing}{suggestion(value, choices)}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (text)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{value!r} (a {type(value).__name__})"


class _ItemError(ValueError):
    """A converter's complaint about one item of a list."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


# --- value converters (also the attrs converters of the config classes) --------


def _enum(*choices: str, true: str | None = None, false: str | None = None) -> Callable:
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


def _positive_number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number more than 0, got {_describe(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected a number more than 0, got {value!r}")
    return float(value)


def _optional_positive_number(value) -> float | None:
    return None if value is None else _positive_number(value)


def _positive_count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number of 1 or more, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"expected a whole number of 1 or more, got {value}")
    return value


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_describe(value)}")
    return value


def _text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {_describe(value)}")
    return value


def _optional_text(value) -> str | None:
    return None if value is None else _text(value)


def _text_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list, got {_describe(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _ItemError(i, f"expected text, got {_describe(item)}")
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
            f"expected a duration such as '500ms', '2s' or '1min', got {_describe(value)}"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a duration must be 0 or more, got {value!r}")
        return round(value * 10**9)
    m = _DURATION.match(value.lower()) if isinstance(value, str) else None
    if not m or m.group(2) not in _DURATION_UNITS:
        raise ValueError(
            f"expected a duration such as '500ms', '2s' or '1min', got {_describe(value)}"
        )
    return round(float(m.group(1)) * _DURATION_UNITS[m.group(2)])


def _duration_text(value) -> str:
    parse_duration(value)
    return value.strip() if isinstance(value, str) else f"{value:g}s"


def _bar_size(value) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a bar size such as '1min', '5min' or '1h', got {_describe(value)}"
        )
    parse_bar_size(value)
    return value.strip()


def _timezone(value) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a time zone name such as 'America/New_York', got {_describe(value)}"
        )
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = suggestion(value, sorted(zoneinfo.available_timezones()))
        raise ValueError(
            f"{value!r} is not a time zone name (IANA, e.g. 'America/New_York'){hint}"
        ) from None
    return value


def _anchor(value) -> str:
    if value is None:
        return "session"
    if not isinstance(value, str):
        hint = " (write times in quotes, e.g. '09:30')" if isinstance(value, int) else ""
        raise ValueError(
            f"expected 'session' or a time such as '09:30', got {_describe(value)}{hint}"
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


def _calendar(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(
            f"expected an exchange calendar name such as 'CME Globex Equity', "
            f"got {_describe(value)}"
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


def _root(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an instrument root such as 'ES', got {_describe(value)}")
    contracts.spec(value)
    return value


def _contract(value) -> str:
    if value is None or value == "continuous":
        return "continuous"
    if not isinstance(value, str):
        raise ValueError(
            f"expected 'continuous' or a contract month as MM-YY such as '12-25', "
            f"got {_describe(value)}"
        )
    try:
        year, month = contracts.parse_month_year(value)
    except ValueError:
        raise ValueError(
            f"expected 'continuous' or a contract month as MM-YY such as '12-25', got {value!r}"
        ) from None
    return f"{month:02d}-{year % 100:02d}"


def _field(default, converter, doc_key: str | None = None, **meta) -> Any:
    metadata = dict(meta)
    if doc_key:
        metadata["key"] = doc_key
    return attrs.field(default=default, converter=converter, metadata=metadata)


def _yaml_key(field: attrs.Attribute) -> str:
    return field.metadata.get("key", field.name)


def _yaml_keys(cls) -> list[str]:
    return [_yaml_key(f) for f in attrs.fields(cls) if f.metadata.get("yaml", True)]


# --- config sections ----------------------------------------------------------------


@attrs.frozen
class RunConfig:
    """``run``: how the engine runs.

    Attributes:
        mode: ``replay`` (as fast as possible), ``paced`` (data time runs at
            ``speed`` times the wall clock) or ``live`` (feeds deliver in real
            time; bars close by the clock). Default ``replay``.
        speed: For ``paced``: how many times faster than real time; more than 0.
            Default 60.
        grace: For ``live``: how long after a bar's end (and a slice's) the
            engine waits for late data before closing it by the clock. A
            duration: ``500ms``, ``2s``, ``1min``; a bare number is seconds.
            Default ``2s``. ``grace_ns`` gives it in nanoseconds.
        on_plugin_error: ``stop`` ends the run when a plugin raises; ``disable``
            switches that plugin off and carries on (a failing source always
            stops the run). Default ``stop``.
        progress: ``auto`` shows a progress bar for replays when stderr is a
            terminal; ``on``/``off`` force it. Default ``auto``.
        market_view: ``off``, ``session`` or ``slice``: print a table of the
            market per session or per slice. Default ``off``.
        stale_after: For ``live``: how long an instrument may go without data
            while its regular session is open before the staleness alarm (a
            warning and a ``feed_stale`` journal record). A duration. Default
            ``60s``.
        ledger: For ``live``: the file of the signals already delivered, read
            at start so that a restart sends none twice (docs/live.md); a path
            relative to the config's folder. Default ``rsengine-live.ledger``.
    """

    mode: str = _field("replay", _enum("replay", "paced", "live"))
    speed: float = _field(60.0, _positive_number)
    grace: str = _field("2s", _duration_text)
    on_plugin_error: str = _field("stop", _enum("stop", "disable"))
    progress: str = _field("auto", _enum("auto", "on", "off", true="on", false="off"))
    market_view: str = _field("off", _enum("off", "session", "slice", false="off"))
    stale_after: str = _field("60s", _duration_text)
    ledger: str = _field("rsengine-live.ledger", _text)

    @property
    def grace_ns(self) -> int:
        """``grace`` in nanoseconds."""
        return parse_duration(self.grace)

    @property
    def stale_after_ns(self) -> int:
        return parse_duration(self.stale_after)


@attrs.frozen
class SessionConfig:
    """``session``: the trading-session grid.

    Attributes:
        calendar: The ``pandas_market_calendars`` calendar that defines
            sessions (session dates, holidays, early closes, the session open
            that bars are anchored to). When omitted it is the table calendar of
            the group's first instrument (``CME Globex Equity`` for ES).
        timezone: The exchange time zone, a zoneinfo (IANA) name, in which
            anchors and session rules are read. Default ``America/New_York``.
        anchor: Where bar edges are aligned: ``session`` (the session open) or
            a time of day ``HH:MM`` in ``timezone``, e.g. ``09:30`` so 30- and
            60-minute bars line up with the RTH open. Default ``session``.
            ``anchor_time`` gives it as a ``datetime.time`` (None for session).
    """

    calendar: str | None = _field(None, _calendar)
    timezone: str = _field("America/New_York", _timezone)
    anchor: str = _field("session", _anchor, time_like=True)

    @property
    def anchor_time(self):
        """``anchor`` as ``datetime.time``, or None for the session open."""
        return parse_anchor(self.anchor)


@attrs.frozen
class BarsConfig:
    """``bars``: the bar size everything runs on.

    Attributes:
        primary: Bar size: a number and a unit, ``30s``, ``1min``, ``5min``,
            ``15min``, ``1h``, ``1d`` (one bar per session). At most one day.
            Default ``5min``. ``primary_ns`` gives it in nanoseconds.
        fill: When true, a bar interval with no trades is emitted as a flat bar
            at the previous close, flagged as filled; when false (default) gaps
            stay gaps.
    """

    primary: str = _field("5min", _bar_size)
    fill: bool = _field(False, _bool)

    @property
    def primary_ns(self) -> int:
        """``primary`` in nanoseconds."""
        return parse_bar_size(self.primary)


@attrs.frozen
class RiskConfig:
    """``risk``: how trade signals are sized and limited, for every setup
    together (DOMAIN.md §7). Our defaults; the rule book gives none.

    Attributes:
        budget: Dollars risked per trade at size fraction 1.0; a trade risks
            ``budget x size_fraction``. Default 500.
        daily_loss_limit: Dollars: once the session's closed trades have lost
            this much, no more entries that session. Default 1500.
        max_trades: Entries per session, all setups together; later ones are
            not emitted, and the log and summary say so. Default 3.
        micro_fallback: When the mini rounds to zero contracts, size the
            micro (MES for ES, ...) instead. Default true.
        max_contracts: At most this many contracts per trade, or none (the
            default: the rule book's formula alone). A stop a tick or two
            away makes the formula's size huge; this caps it.
    """

    budget: float = _field(500.0, _positive_number)
    daily_loss_limit: float = _field(1500.0, _positive_number)
    max_trades: int = _field(3, _positive_count)
    micro_fallback: bool = _field(True, _bool)
    max_contracts: int | None = _field(None, lambda v: None if v is None else _positive_count(v))


@attrs.frozen
class PluginsConfig:
    """``plugins``: plugins beyond the installed ones, and blocking some.

    Attributes:
        local: Paths of ``.py`` files to load as plugins, relative to the
            YAML file's folder (made absolute at load; each must exist).
        disable: Names of plugins not to load, installed or not.
    """

    local: tuple[str, ...] = _field((), _text_list)
    disable: tuple[str, ...] = _field((), _text_list)


@attrs.frozen
class InstrumentConfig:
    """One entry of ``instruments``; the mapping key is its ``symbol``.

    Attributes:
        symbol: The name the engine, indicators and signals use (the key).
        root: Contract-table root (``ES``, ``MNQ``, ``$TICK`` ...); defaults
            to the symbol. Its table entry gives the defaults below.
        contract: ``continuous`` (default: follow the front month) or a fixed
            contract month ``MM-YY`` as NinjaTrader writes it, e.g. ``12-25``;
            quarterly roots accept only 03, 06, 09, 12.
        feed_symbol: The instrument's name at the data source, e.g.
            ``TICK-NYSE`` for ``$TICK`` on IB; defaults to the symbol.
        calendar: Its own trading-hours calendar; defaults to the table's.
        point_value: US dollars per point; defaults to the table's (None for an
            index).
        tick: Minimum price increment in points; defaults to the table's.
        stands_for: YAML key ``as``: the group member this instrument replaces,
            e.g. ``MES`` with ``as: ES`` feeds the ES slot of the group with
            micro data. None (default) when it stands for itself.
    """

    symbol: str = _field(None, _text, yaml=False)
    root: str = _field(None, _root)
    contract: str = _field("continuous", _contract)
    feed_symbol: str | None = _field(None, _optional_text)
    calendar: str | None = _field(None, _calendar)
    point_value: float | None = _field(None, _optional_positive_number)
    tick: float | None = _field(None, _optional_positive_number)
    stands_for: str | None = _field(None, _optional_text, doc_key="as")

    @classmethod
    def for_symbol(cls, symbol: str, **settings) -> InstrumentConfig:
        """An instrument with every omitted setting filled from the contract table."""
        root = settings.pop("root", None) or symbol
        table = contracts.spec(root)
        if settings.get("feed_symbol") is None:
            settings["feed_symbol"] = symbol
        for name in ("calendar", "point_value", "tick"):
            if settings.get(name) is None:
                settings[name] = getattr(table, name)
        return cls(symbol=symbol, root=root, **settings)

    @property
    def spec(self) -> contracts.ContractSpec:
        """The contract-table entry of ``root``."""
        return contracts.spec(self.root)

    @property
    def is_continuous(self) -> bool:
        return self.contract == "continuous"

    @property
    def contract_month(self) -> tuple[int, int] | None:
        """``(year, month)`` of a fixed contract; None when continuous."""
        return None if self.is_continuous else contracts.parse_month_year(self.contract)

    def contract_on(self, day) -> tuple[int, int] | None:
        """The contract traded on ``day``: the fixed one, else the front month
        (None for an index)."""
        if not self.spec.has_contract_months:
            return None
        return self.contract_month or contracts.front_month(self.root, day)

    def ninjatrader_name(self, day=None) -> str | None:
        """NinjaTrader's name (``"ES 12-25"``) of the fixed contract, or of the
        front month on ``day`` when continuous; None for an index."""
        if not self.spec.has_contract_months:
            return None
        if self.is_continuous and day is None:
            raise ValueError(f"{self.symbol} is continuous: give the day to name its contract")
        year, month = self.contract_on(day)
        return contracts.ninjatrader_name(self.root, year, month)


@attrs.frozen
class ComponentConfig:
    """One entry of ``sources``, ``indicators``, ``setups`` or ``outputs``.

    Attributes:
        name: The plugin name (the mapping key).
        settings: Its settings, a plain dict, checked by the plugin itself.
        where: Location of the name in the file.
        section: The section it is in (``"sources"`` ...).
        positions: Location of each settings value, keyed by its path inside
            ``settings`` (a tuple of keys); used by :meth:`error`.
    """

    name: str
    settings: dict = attrs.field(factory=dict)
    where: Location = attrs.field(factory=Location)
    section: str = "sources"
    positions: dict = attrs.field(factory=dict, repr=False, eq=False)
    env_values: dict = attrs.field(factory=dict, repr=False, eq=False)  # kept out of errors

    @property
    def key_path(self) -> str:
        return f"{self.section}.{self.name}"

    def location(self, key: str | tuple = ()) -> Location:
        """Where settings ``key`` (``"a.b"`` or a tuple) is; the nearest enclosing
        key that was written, or the component's name when none was."""
        path = tuple(key.split(".")) if isinstance(key, str) and key else tuple(key)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.where

    def error(self, key: str | tuple, message: str) -> ConfigError:
        """A ConfigError for settings ``key`` (``"a.b"`` or ``()`` for the
        component itself), pointing into the file."""
        path = tuple(key.split(".")) if isinstance(key, str) and key else tuple(key)
        return ConfigError.at(
            self.location(path),
            format_path((self.section, self.name, *path)),
            hide_env_values(message, self.env_values),
            hidden=[text for where in self.positions.values() for text in where.hidden],
        )


def error_at(component: ComponentConfig, key: str | tuple, message: str) -> ConfigError:
    """A ConfigError for ``component``'s settings ``key``; raise it::

    raise error_at(cfg, "prior_close", not_one_of(value, METHODS, "or a number"))
    """
    return component.error(key, message)


def _default_instruments() -> dict[str, InstrumentConfig]:
    return {s: InstrumentConfig.for_symbol(s) for s in DEFAULT_GROUP}


@attrs.frozen
class Config:
    """The whole config. Build with :func:`load_config` or :meth:`from_dict`.

    Attributes:
        run, session, bars, plugins: The sections of those names.
        group: Symbols the relative-strength group is built from, in order;
            each is a configured instrument or the ``as`` of one. Default
            ES, NQ, RTY, YM.
        instruments: symbol -> :class:`InstrumentConfig`, in file order.
            Default: ES, NQ, RTY, YM with table settings.
        sources, indicators, setups, outputs: name -> :class:`ComponentConfig`.
        file: The config file as given, ``"<config>"`` for text, or None.
        base_dir: Folder relative paths in the config are read against (the
            YAML file's folder; the working directory for text).
    """

    run: RunConfig = attrs.field(factory=RunConfig)
    session: SessionConfig = attrs.field(factory=SessionConfig)
    bars: BarsConfig = attrs.field(factory=BarsConfig)
    risk: RiskConfig = attrs.field(factory=RiskConfig)
    group: tuple[str, ...] = attrs.field(default=DEFAULT_GROUP, converter=_text_list)
    instruments: dict = attrs.field(factory=_default_instruments)
    sources: dict = attrs.field(factory=dict)
    indicators: dict = attrs.field(factory=dict)
    setups: dict = attrs.field(factory=dict)
    outputs: dict = attrs.field(factory=dict)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    file: str | None = None
    base_dir: str = attrs.field(factory=os.getcwd)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every configured instrument symbol, in file order."""
        return tuple(self.instruments)

    @property
    def group_symbols(self) -> tuple[str, ...]:
        """The configured symbols that fill the group's slots, in group order
        (``MES`` for ``ES`` when MES says ``as: ES``)."""
        standing = {i.stands_for: s for s, i in self.instruments.items() if i.stands_for}
        return tuple(m if m in self.instruments else standing[m] for m in self.group)

    def instrument(self, name: str) -> InstrumentConfig:
        """The instrument configured as ``name``, or standing in for it."""
        if name in self.instruments:
            return self.instruments[name]
        for inst in self.instruments.values():
            if inst.stands_for == name:
                return inst
        raise KeyError(f"no instrument {name!r}{suggestion(name, self.instruments)}")

    def components(self, section: str) -> dict[str, ComponentConfig]:
        """The components of one of ``COMPONENT_SECTIONS``."""
        if section not in COMPONENT_SECTIONS:
            raise ValueError(not_one_of(section, COMPONENT_SECTIONS))
        return getattr(self, section)

    @classmethod
    def from_dict(
        cls,
        data: Mapping | None,
        *,
        overrides: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        file: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ) -> Config:
        """Check and structure an already-parsed config (no positions in errors).
        ``${VAR}`` is replaced only when ``env`` is given."""
        tree = copy.deepcopy(dict(data)) if data is not None else {}
        smap = _SourceMap(file)
        errors: list[ConfigError] = []
        if env is not None:
            tree = _substitute_tree(tree, (), smap, env, errors)
        base_dir = str(base_dir or os.getcwd())
        tree, smap = _with_includes(tree, smap, base_dir, env, errors, ())
        return _finish(tree, smap, overrides, env, errors, base_dir)


# --- reading YAML with positions ----------------------------------------------------


@attrs.define
class _SourceMap:
    file: str | None
    values: dict = attrs.field(factory=dict)  # path -> Location of the value
    keys: dict = attrs.field(factory=dict)  # path -> Location of the key
    raw: dict = attrs.field(factory=dict)  # path -> text of a plain scalar
    env: set = attrs.field(factory=set)  # paths whose text came through ${VAR}
    env_values: dict = attrs.field(factory=dict)  # NAME -> the text ${NAME} read from env

    def at(self, path: tuple, key: bool = False) -> Location:
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
            if not path:
                return Location(self.file)
            path = path[:-1]

    def forget(self, path: tuple) -> None:
        n = len(path)
        for table in (self.values, self.keys, self.raw):
            for p in [p for p in table if p[:n] == path]:
                del table[p]
        self.env = {p for p in self.env if p[:n] != path}


def _mark(file, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _syntax_error(file: str | None, exc: yaml.YAMLError) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        extra = ""
        if exc.context and exc.context_mark and exc.problem:
            cm = exc.context_mark
            extra = f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        where = _mark(file, mark) if mark else Location(file)
        return ConfigError.at(where, "", f"YAML syntax error: {problem}{extra}")
    return ConfigError.at(Location(file), "", f"YAML error: {exc}")


class _Tree:
    """Node tree -> plain data, recording positions; safe_load semantics."""

    def __init__(self, file, smap: _SourceMap, env, errors: list):
        self.file, self.smap, self.env, self.errors = file, smap, env, errors
        self.constructor = yaml.constructor.SafeConstructor()

    def error(self, where: Location, path: tuple, message: str) -> None:
        self.errors.append(ConfigError.at(where, format_path(path), message))

    def convert(self, node, path: tuple):
        self.smap.values[path] = _mark(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.error(_mark(self.file, node.start_mark), path, f"{exc.problem}")
            return None
        except ValueError as exc:  # e.g. a date YAML reads as one: 2024-13-01
            what = "date" if node.tag.endswith(":timestamp") else "value"
            self.error(
                _mark(self.file, node.start_mark),
                path,
                f"{node.value!r} is not a valid {what} ({exc})",
            )
            return None
        if node.style is None and isinstance(node.value, str):
            self.smap.raw[path] = node.value
        if isinstance(value, str) and self.env is not None:
            value = _substitute(value, path, self.smap, self.env, self.errors)
        return value

    def _key(self, knode, path):
        if not isinstance(knode, yaml.ScalarNode):
            self.error(
                _mark(self.file, knode.start_mark),
                path,
                "a key must be a plain value, not a list or mapping",
            )
            return None
        try:
            return self.constructor.construct_object(knode, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.error(_mark(self.file, knode.start_mark), path, f"{exc.problem}")
            return None

    def _mapping(self, node, path: tuple) -> dict:
        seen: dict = {}
        keys: dict = {}  # id(key node) -> key, so each bad key is reported once
        for knode, _ in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = keys[id(knode)] = self._key(knode, path)
            if key is None:
                continue
            if key in seen:
                first = seen[key]
                self.error(
                    _mark(self.file, knode.start_mark),
                    (*path, key),
                    f"duplicate key {key!r} (first given at line {first.line + 1}); "
                    f"YAML would silently keep only the last one",
                )
            else:
                seen[key] = knode.start_mark
        try:
            self.constructor.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            self.error(
                _mark(self.file, exc.problem_mark or node.start_mark), path, f"{exc.problem}"
            )
        out: dict = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = keys[id(knode)] if id(knode) in keys else self._key(knode, path)
            if key is None:
                continue
            sub = (*path, key)
            if sub in self.smap.keys:  # a duplicate or a merged key given again: last wins
                self.smap.forget(sub)
            self.smap.keys[sub] = _mark(self.file, knode.start_mark)
            out[key] = self.convert(vnode, sub)
        return out


def _parse_yaml(text: str, file: str | None, smap: _SourceMap, env, errors: list):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _syntax_error(file, exc) from None
    if node is None:
        return {}
    return _Tree(file, smap, env, errors).convert(node, ())


# --- ${VAR} ---------------------------------------------------------------------------

_VAR = re.compile(r"\$(\$)?\{([^{}]*)\}")
_VAR_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.S)


def _substitute(text: str, path: tuple, smap: _SourceMap, env: Mapping, errors: list) -> str:
    if "${" not in text:
        return text
    used = False

    def replace(m: re.Match) -> str:
        nonlocal used
        if m.group(1):  # $${...} -> literal ${...}
            return m.group(0)[1:]
        ref = _VAR_NAME.match(m.group(2))
        if not ref:
            errors.append(
                ConfigError.at(
                    smap.at(path),
                    format_path(path),
                    f"bad variable reference {m.group(0)!r}: expected ${{NAME}} or "
                    f"${{NAME:-default}}",
                )
            )
            return m.group(0)
        used = True
        name, default = ref.group(1), ref.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                errors.append(
                    ConfigError.at(
                        smap.at(path),
                        format_path(path),
                        f"environment variable {name} is not set (write "
                        f"${{{name}:-default}} to give a default)",
                    )
                )
                return ""
            return default
        smap.env_values[name] = value
        return value

    out = _VAR.sub(replace, text)
    if used:
        smap.env.add(path)
    return out


def hide_env_values(message: str, values: Mapping[str, str]) -> str:
    """``message`` with each value read from the environment shown as the
    ``${NAME}`` it came from, so that an error never prints a secret (say a
    token given under a wrong key). A value is matched as a whole word where it
    starts or ends with a letter or digit; values under four characters (a
    port digit, ``yes``) are left alone, as hiding them would garble messages."""
    for name, value in sorted(values.items(), key=lambda item: -len(item[1])):
        if len(value) >= 4:
            message = _replace_word(message, value, "${" + name + "}")  # names are \w+
    return message


HIDDEN = "<hidden>"  # what an error shows instead of a value typed with --set


def hide_override_values(message: str, texts: Iterable[str]) -> str:
    """``message`` with each of ``texts`` (an override's value and the scalars
    in it) shown as ``<hidden>``: as a whole word from four characters up (as
    :func:`hide_env_values`), and quoted (``'abc'``) whatever its length."""
    for text in sorted(set(texts) - {""}, key=len, reverse=True):
        for quoted in (repr(text), f'"{text}"', f"'{text}'"):
            message = message.replace(quoted, f"'{HIDDEN}'")
        if len(text) >= 4:
            message = _replace_word(message, text, HIDDEN)
    return message


def _replace_word(message: str, value: str, replacement: str) -> str:
    for text in {value, repr(value)[1:-1]} - {""}:
        pattern = re.escape(text)
        if re.match(r"\w", text[0]):
            pattern = r"(?<!\w)" + pattern
        if re.match(r"\w", text[-1]):
            pattern += r"(?!\w)"
        message = re.sub(pattern, lambda _: replacement, message)
    return message


def _scalar_texts(value) -> list[str]:
    """The text of every string and number inside a YAML value (not the keys
    of its mappings: those are setting names, which errors must show)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _scalar_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _scalar_texts(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)]


def _hiding_env_values(errors: list, smap: _SourceMap) -> ConfigError:
    """One ConfigError for ``errors``, none of them quoting a value from the environment."""
    flat = [e for err in errors for e in err.errors]
    return ConfigError.collect(
        [
            ConfigError.at(e.location, e.key_path, hide_env_values(e.message, smap.env_values))
            for e in flat
        ]
    )


def _substitute_tree(value, path: tuple, smap: _SourceMap, env: Mapping, errors: list):
    if isinstance(value, dict):
        return {k: _substitute_tree(v, (*path, k), smap, env, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_tree(v, (*path, i), smap, env, errors) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _substitute(value, path, smap, env, errors)
    return value


# --- overrides ----------------------------------------------------------------------

_FIELD_SECTIONS = {
    "run": RunConfig,
    "session": SessionConfig,
    "bars": BarsConfig,
    "risk": RiskConfig,
    "plugins": PluginsConfig,
}
_TOP_KEYS = (
    "run",
    "session",
    "bars",
    "risk",
    "group",
    "instruments",
    *COMPONENT_SECTIONS,
    "plugins",
)


def _apply_override(tree: dict, smap: _SourceMap, text: str, env, errors: list) -> None:
    """Sets one ``key.path=value``. An error shows the key path and what was
    expected, never the value (it may be a secret typed on the command line)."""
    if not isinstance(text, str) or "=" not in text:
        where = Location(smap.file, origin=f"--set {HIDDEN}", hidden=(str(text).strip(),))
        errors.append(ConfigError.at(where, "", "expected key.path=value, e.g. run.mode=paced"))
        return
    path_text, value_text = (s.strip() for s in text.split("=", 1))
    hidden = (value_text,)
    where = Location(smap.file, origin=f"--set {path_text}={HIDDEN}", hidden=hidden)

    def fail(path_text: str, message: str) -> None:
        errors.append(ConfigError.at(where, path_text, message))

    parts = tuple(path_text.split("."))
    if not path_text or any(not p for p in parts):
        fail(path_text, "expected key.path=value with a dotted key path, e.g. run.mode=paced")
        return
    try:
        value = yaml.safe_load(value_text) if value_text else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        fail(path_text, f"the value is not valid YAML: {problem}")
        return
    where = attrs.evolve(where, hidden=(*hidden, *_scalar_texts(value)))

    section = parts[0]
    if section == INCLUDE_KEY:
        fail(path_text, "include is read from the YAML file only; write it in the file")
        return
    if section not in _TOP_KEYS:
        fail(path_text, f"unknown section {section!r}{suggestion(section, _TOP_KEYS)}")
        return
    if section == "instruments" and "instruments" not in tree and len(parts) > 1:
        tree["instruments"] = {s: {} for s in DEFAULT_GROUP}  # the defaults, made explicit
    if tree.get(section) is None and len(parts) > 1:
        tree[section] = {}
    holder = tree.get(section)
    if len(parts) > 1 and not isinstance(holder, dict):
        fail(path_text, f"{section} is not a mapping in the config file; cannot set a key in it")
        return
    if section in _FIELD_SECTIONS:
        keys = _yaml_keys(_FIELD_SECTIONS[section])
        if len(parts) >= 2 and parts[1] not in keys:
            fail(path_text, f"unknown key {parts[1]!r} in {section}{suggestion(parts[1], keys)}")
            return
        if len(parts) > 2:
            fail(path_text, f"{section}.{parts[1]} is a single value; it has no keys below it")
            return
    elif section == "group" and len(parts) > 1:
        fail(path_text, "group is a list of symbols; set it whole, e.g. group=[ES,NQ,RTY,YM]")
        return
    elif len(parts) >= 3:  # instruments.SYM.key or component.NAME.setting...
        name = parts[1]
        if name not in holder:
            what = "instrument" if section == "instruments" else _SINGULAR[section]
            fail(path_text, f"no {what} {name!r} is configured{suggestion(name, holder)}")
            return
        if section == "instruments":
            keys = _yaml_keys(InstrumentConfig)
            if parts[2] not in keys:
                fail(
                    path_text,
                    f"unknown key {parts[2]!r} in instruments.{name}{suggestion(parts[2], keys)}",
                )
                return
            if len(parts) > 3:
                fail(
                    path_text,
                    f"instruments.{name}.{parts[2]} is a single value; it has no keys below it",
                )
                return
        if holder[name] is None:
            holder[name] = {}
    # walk down, creating free-form mappings on the way
    container = tree
    for i, part in enumerate(parts[:-1]):
        if container.get(part) is None:
            container[part] = {}
        container = container[part]
        if not isinstance(container, dict):
            where = format_path(parts[: i + 1])
            fail(path_text, f"{where} is not a mapping; cannot set a key in it")
            return
    path = parts
    smap.forget(path)
    smap.values[path] = smap.keys[path] = where
    if env is not None:
        value = _substitute_tree(value, path, smap, env, errors)
    container[parts[-1]] = value
    if value is not None and not isinstance(value, (dict, list)):
        smap.raw[path] = value_text


# --- structuring --------------------------------------------------------------------


class _Builder:
    def __init__(self, smap: _SourceMap, errors: list, base_dir: str):
        self.smap, self.errors, self.base_dir = smap, errors, base_dir

    def error(self, path: tuple, message: str, key: bool = False) -> None:
        self.errors.append(ConfigError.at(self.smap.at(path, key), format_path(path), message))

    def convert(self, converter, value, path: tuple, time_like: bool = False):
        """Run one converter; on failure record the error and return _BAD."""
        raw = self.smap.raw.get(path)
        if time_like and isinstance(value, int) and not isinstance(value, bool) and raw:
            value = raw  # YAML 1.1 reads 10:00 as the base-60 integer 600
        try:
            return converter(value)
        except _ItemError as exc:
            self.error((*path, exc.index), str(exc))
        except ValueError as exc:
            if path in self.smap.env and isinstance(value, str):
                try:  # a ${VAR} value is text; try it as the YAML scalar it spells
                    return converter(yaml.safe_load(value))
                except (ValueError, yaml.YAMLError):
                    pass
            self.error(path, str(exc))
        return _BAD

    def mapping(self, value, path: tuple, what: str) -> dict | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping of {what}, got {_describe(value)}")
            return None
        return value

    def fields(self, cls, value: dict, path: tuple) -> tuple[dict, bool]:
        """Keyword arguments for ``cls`` from a mapping (those that converted),
        and whether every key did."""
        by_key = {_yaml_key(f): f for f in attrs.fields(cls) if f.metadata.get("yaml", True)}
        kwargs, ok = {}, True
        for key, item in value.items():
            sub = (*path, key)
            field = by_key.get(key)
            if field is None:
                self.error(
                    sub,
                    f"unknown key {key!r} (expected one of {', '.join(by_key)})"
                    f"{suggestion(key, by_key)}",
                    key=True,
                )
                ok = False
                continue
            converted = self.convert(field.converter, item, sub, field.metadata.get("time_like"))
            if converted is _BAD:
                ok = False
            else:
                kwargs[field.name] = converted
        return kwargs, ok

    def section(self, tree: dict, name: str):
        cls = _FIELD_SECTIONS[name]
        value = self.mapping(tree.get(name), (name,), "settings")
        kwargs, ok = self.fields(cls, value, (name,)) if value is not None else ({}, False)
        return (cls(**kwargs), True) if ok else (cls(), False)

    def instruments(self, tree: dict) -> tuple[dict, set | None]:
        """The instruments that check out, and the symbols of those that do not
        (None when the section itself is unusable)."""
        if "instruments" not in tree:
            return _default_instruments(), set()
        value = self.mapping(tree["instruments"], ("instruments",), "symbol: settings")
        if value is None:
            return {}, None
        out, broken = {}, set()
        for symbol, settings in value.items():
            inst = self.instrument(symbol, settings)
            if inst is None:
                broken.add(symbol)
            else:
                out[symbol] = inst
        if not value:
            self.error(("instruments",), "no instruments are configured")
            return {}, None
        return out, broken

    def instrument(self, symbol, settings) -> InstrumentConfig | None:
        path = ("instruments", symbol)
        if not isinstance(symbol, str) or not symbol.strip():
            self.error(
                path, f"an instrument symbol must be text, got {_describe(symbol)}", key=True
            )
            return None
        settings = self.mapping(settings, path, "instrument settings")
        if settings is None:
            return None
        kwargs, ok = self.fields(InstrumentConfig, settings, path)  # go on to check root too
        root = kwargs.pop("root", None)
        if root is None and "root" in settings:
            return None  # a bad root, already reported
        if root is None:
            if symbol not in contracts.CONTRACTS:
                close = contracts.suggest_root(symbol)
                hint = f"; did you mean {close!r}?" if close else ""
                self.error(
                    path,
                    f"{symbol!r} is not in the contract table, so give its "
                    f"`root:` (one of {', '.join(contracts.CONTRACTS)}){hint}",
                    key=True,
                )
                return None
            root = symbol
        table = contracts.spec(root)
        contract = kwargs.get("contract", "continuous")
        if contract != "continuous":
            if not table.has_contract_months:
                self.error(
                    (*path, "contract"),
                    f"{root} is an {table.kind}; it has no contract months, use 'continuous'",
                )
                return None
            try:
                contracts.ninjatrader_name(root, *contracts.parse_month_year(contract))
            except ValueError as exc:
                self.error((*path, "contract"), str(exc))
                return None
        return InstrumentConfig.for_symbol(symbol, root=root, **kwargs) if ok else None

    def stand_ins(self, instruments: dict) -> bool:
        ok, targets = True, {}
        for symbol, inst in instruments.items():
            target = inst.stands_for
            if target is None:
                continue
            path = ("instruments", symbol, "as")
            if target == symbol:
                continue
            if target in instruments:
                self.error(
                    path, f"{symbol} cannot stand in for {target}: {target} is configured itself"
                )
                ok = False
            elif target in targets:
                self.error(path, f"{targets[target]} already stands in for {target}")
                ok = False
            else:
                targets[target] = symbol
        return ok

    def group(self, tree: dict, instruments: dict, broken: set) -> tuple[str, ...] | None:
        path = ("group",)
        default = DEFAULT_GROUP if len(instruments) != 1 else tuple(instruments)
        group = self.convert(_text_list, tree.get("group", default), path)
        if group is _BAD:
            return None
        standing = {i.stands_for: s for s, i in instruments.items() if i.stands_for}
        written = tree.get("instruments")
        symbols = [k for k in written if isinstance(k, str)] if written else list(instruments)
        known = [*symbols, *(t for t in standing if t not in symbols)]
        ok, seen = True, set()
        for i, member in enumerate(group):
            sub = (*path, i)
            symbol = member if member in instruments else standing.get(member)
            if member in broken:
                ok = False  # its own error is already reported
            elif symbol is None:
                default = (
                    ""
                    if "group" in tree
                    else (
                        f" (no `group:` is given, so the default group {', '.join(DEFAULT_GROUP)} "
                        f"is used)"
                    )
                )
                self.error(
                    sub,
                    f"{member!r} is not a configured instrument (configured: "
                    f"{', '.join(known) or 'none'}){default}{suggestion(member, known)}",
                )
                ok = False
            elif member in seen:
                self.error(sub, f"{member!r} is in the group twice")
                ok = False
            elif instruments[symbol].spec.kind != "future":
                self.error(
                    sub,
                    f"{member!r} is an {instruments[symbol].spec.kind}; the "
                    f"group is built from futures",
                )
                ok = False
            seen.add(member)
        if ok and not group:
            self.error(path, "the group is empty: name at least one configured instrument")
            ok = False
        return group if ok else None

    def components(self, tree: dict, section: str) -> dict:
        path = (section,)
        value = tree.get(section)
        if isinstance(value, list):  # shorthand: a list of names, no settings
            names = self.convert(_text_list, value, path)
            if names is _BAD:
                return {}
            value = {}
            for i, name in enumerate(names):
                self.smap.keys[(section, name)] = self.smap.at((section, i))
                value[name] = {}
        value = self.mapping(value, path, "plugin name: settings")
        out = {}
        for name, settings in (value or {}).items():
            sub = (section, name)
            if not isinstance(name, str) or not name.strip():
                self.error(sub, f"a plugin name must be text, got {_describe(name)}", key=True)
                continue
            if settings is None:
                settings = {}
            if not isinstance(settings, dict):
                self.error(
                    sub,
                    f"expected a mapping of settings for {_SINGULAR[section]} "
                    f"{name!r}, got {_describe(settings)}",
                )
                continue
            n = len(sub)
            positions = {
                p[n:]: loc for p, loc in self.smap.values.items() if p[:n] == sub and len(p) > n
            }
            out[name] = ComponentConfig(
                name=name,
                settings=settings,
                where=self.smap.at(sub, key=True),
                section=section,
                positions=positions,
                env_values=self.smap.env_values,
            )
        return out

    def plugin_paths(self, plugins: PluginsConfig) -> PluginsConfig:
        resolved = []
        for i, text in enumerate(plugins.local):
            path = Path(os.path.expanduser(text))
            if not path.is_absolute():
                path = Path(self.base_dir) / path
            if path.suffix != ".py":
                self.error(("plugins", "local", i), f"expected a .py file, got {text!r}")
            elif not path.is_file():
                self.error(
                    ("plugins", "local", i),
                    f"plugin file not found: {path} (relative paths are read from the "
                    f"config file's folder)",
                )
            resolved.append(str(path.resolve()))
        return attrs.evolve(plugins, local=tuple(resolved))


_BAD = object()


def _finish(tree, smap: _SourceMap, overrides, env, errors: list, base_dir) -> Config:
    for text in overrides:
        if isinstance(tree, dict):
            _apply_override(tree, smap, text, env, errors)
    b = _Builder(smap, errors, str(base_dir))
    if not isinstance(tree, dict):
        b.error(
            (),
            f"expected a mapping of sections ({', '.join(_TOP_KEYS)}) at the top, got "
            f"{_describe(tree)}",
        )
        raise _hiding_env_values(errors, smap)
    for key in tree:
        if key not in _TOP_KEYS:
            b.error(
                (key,),
                f"unknown section {key!r} (expected one of {', '.join(_TOP_KEYS)})"
                f"{suggestion(key, _TOP_KEYS)}",
                key=True,
            )
    run, _ = b.section(tree, "run")
    session, _ = b.section(tree, "session")
    bars, _ = b.section(tree, "bars")
    risk, _ = b.section(tree, "risk")
    plugins, plugins_ok = b.section(tree, "plugins")
    if plugins_ok:
        plugins = b.plugin_paths(plugins)
    instruments, broken = b.instruments(tree)
    group = None
    if broken is not None:
        b.stand_ins(instruments)
        group = b.group(tree, instruments, broken)
    sections = {s: b.components(tree, s) for s in COMPONENT_SECTIONS}
    if errors:
        raise _hiding_env_values(errors, smap)
    if session.calendar is None:
        first = group[0]
        standing = {i.stands_for: i for i in instruments.values() if i.stands_for}
        inst = instruments.get(first) or standing[first]
        session = attrs.evolve(session, calendar=inst.calendar)
    return Config(
        run=run,
        session=session,
        bars=bars,
        risk=risk,
        group=group,
        instruments=instruments,
        plugins=plugins,
        file=smap.file,
        base_dir=str(base_dir),
        **sections,
    )


# --- entry points ---------------------------------------------------------------------


def _looks_like_path(source) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return (
        isinstance(source, str)
        and "\n" not in source
        and (source.strip().endswith((".yaml", ".yml")) or os.path.isfile(source))
    )


def load_config(
    path_or_text: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load and check a config.

    ``path_or_text`` is a path (a ``PathLike``, or a one-line string naming an
    existing file or ending in ``.yaml``/``.yml``) or YAML text; None loads the
    built-in demo. ``overrides`` are ``key.path=value`` strings (``--set``);
    ``env`` replaces ``${VAR}`` (default ``os.environ``). Raises
    :class:`ConfigError` listing every problem.
    """
    if path_or_text is None:
        return load_default(overrides, env)
    env = os.environ if env is None else env
    if _looks_like_path(path_or_text):
        file = os.fspath(path_or_text)
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("config file not found", file=file) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the config file: {exc}", file=file) from None
        base_dir = str(path.resolve().parent)
        stack = (path.resolve(),)
    else:
        text, file, base_dir, stack = str(path_or_text), "<config>", os.getcwd(), ()
    return _load_text(text, file, base_dir, overrides, env, stack)


def load_default(overrides: Iterable[str] = (), env: Mapping[str, str] | None = None) -> Config:
    """Load the built-in demo config (``rsengine/demo.yaml``)."""
    resource = importlib.resources.files("rsengine").joinpath(DEFAULT_CONFIG_RESOURCE)
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        raise ConfigError(
            f"no config file given and the built-in demo ({DEFAULT_CONFIG_RESOURCE}) is missing "
            f"from the rsengine package"
        ) from None
    env = os.environ if env is None else env
    return _load_text(text, f"<built-in {DEFAULT_CONFIG_RESOURCE}>", os.getcwd(), overrides, env)


def _load_text(text: str, file: str, base_dir: str, overrides, env, stack=()) -> Config:
    errors: list[ConfigError] = []
    tree, smap = _read_tree(text, file, base_dir, env, errors, stack)
    return _finish(tree, smap, overrides, env, errors, base_dir)


# --- include ----------------------------------------------------------------------------

INCLUDE_KEY = "include"


def _read_tree(text: str, file: str, base_dir: str, env, errors: list, stack: tuple):
    """One file's tree and source map, its includes merged under it."""
    smap = _SourceMap(file)
    tree = _parse_yaml(text, file, smap, env, errors)
    return _with_includes(tree, smap, base_dir, env, errors, stack)


def _with_includes(tree, smap: _SourceMap, base_dir: str, env, errors: list, stack: tuple):
    """``tree`` with the files its top-level ``include`` names merged under
    it: each included file in turn over the ones before it, then ``tree``
    itself over them all (mappings merge key by key; anything else is
    replaced). ``stack`` holds the resolved paths being read, for cycles."""
    if not isinstance(tree, dict) or INCLUDE_KEY not in tree:
        return tree, smap
    value = tree.pop(INCLUDE_KEY)
    items = [(value, (INCLUDE_KEY,))] if isinstance(value, str) else None
    if isinstance(value, list):
        items = [(v, (INCLUDE_KEY, i)) for i, v in enumerate(value)]
    if items is None or any(not isinstance(v, str) or not v.strip() for v, _ in items):
        errors.append(
            ConfigError.at(
                smap.at((INCLUDE_KEY,)),
                INCLUDE_KEY,
                f"expected a file path or a list of file paths, got {_describe(value)}",
            )
        )
        items = [(v, p) for v, p in items or () if isinstance(v, str) and v.strip()]
    merged, merged_map = {}, _SourceMap(smap.file)
    for text, path in items:
        sub = _read_include(text, smap, path, base_dir, env, errors, stack)
        if sub is not None:
            merged, merged_map = _merge_trees(merged, merged_map, *sub)
    smap.forget((INCLUDE_KEY,))
    return _merge_trees(merged, merged_map, tree, smap)


def _read_include(text: str, smap: _SourceMap, path: tuple, base_dir, env, errors, stack):
    """The tree and source map of one included file, or None (error recorded)."""

    def fail(message: str) -> None:
        errors.append(ConfigError.at(smap.at(path), format_path(path), message))

    target = Path(os.path.expanduser(text.strip()))
    if not target.is_absolute():
        target = Path(base_dir) / target
    real = smap.file and not smap.file.startswith("<")
    shown = (
        os.path.normpath(os.path.join(os.path.dirname(smap.file), text.strip()))
        if real and not Path(os.path.expanduser(text.strip())).is_absolute()
        else str(target)
    )
    resolved = target.resolve()
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack, resolved))
        fail(f"include cycle: {chain}; a file cannot include itself, directly or not")
        return None
    try:
        content = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(
            f"included file not found: {target} (relative paths are read from the "
            "including file's folder)"
        )
        return None
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the included file {target}: {exc}")
        return None
    folder = str(resolved.parent)
    tree, sub_map = _read_tree(content, shown, folder, env, errors, (*stack, resolved))
    if not isinstance(tree, dict):
        errors.append(
            ConfigError.at(
                sub_map.at(()),
                "",
                f"an included file must be a mapping of sections, got {_describe(tree)}",
            )
        )
        return None
    _local_plugins_from(tree, folder)
    return tree, sub_map


def _local_plugins_from(tree: dict, folder: str) -> None:
    """``plugins.local`` paths of an included file read from its own folder."""
    plugins = tree.get("plugins")
    local = plugins.get("local") if isinstance(plugins, dict) else None
    if isinstance(local, list):
        plugins["local"] = [
            str(Path(folder) / os.path.expanduser(p))
            if isinstance(p, str) and not Path(os.path.expanduser(p)).is_absolute()
            else p
            for p in local
        ]


def _names_as_mapping(tree: dict, smap: _SourceMap) -> None:
    """A component section written as a list of names becomes the mapping it
    stands for (``[a, b]`` -> ``{a: {}, b: {}}``), so that it can merge."""
    for section in COMPONENT_SECTIONS:
        names = tree.get(section)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            continue
        where = {n: smap.at((section, i)) for i, n in enumerate(names)}
        smap.forget((section,))
        tree[section] = {n: {} for n in names}
        for n, loc in where.items():
            smap.keys[(section, n)] = smap.values[(section, n)] = loc


def _merge_trees(base: dict, base_map: _SourceMap, top: dict, top_map: _SourceMap):
    """``top`` over ``base``: the merged tree and the source map of what each
    value came from (``top_map.file`` stays the file of the whole)."""
    _names_as_mapping(base, base_map)
    _names_as_mapping(top, top_map)
    out_map = _SourceMap(top_map.file)
    for name in ("values", "keys", "raw"):
        getattr(out_map, name).update(getattr(base_map, name))
    out_map.env = set(base_map.env)

    def merge(low: dict, high: dict, path: tuple) -> dict:
        out = dict(low)
        for key, value in high.items():
            sub = (*path, key)
            if isinstance(out.get(key), dict) and isinstance(value, (dict, type(None))):
                out[key] = merge(out[key], value or {}, sub)
            else:
                if key in out:
                    out_map.forget(sub)
                out[key] = value
        return out

    tree = merge(base, top, ())
    for name in ("values", "keys", "raw"):
        getattr(out_map, name).update(getattr(top_map, name))
    out_map.env |= top_map.env
    out_map.env_values = {**base_map.env_values, **top_map.env_values}
    return tree, out_map


def check_component_names(config: Config, available: Mapping[str, Iterable[str]]) -> None:
    """Raise one ConfigError for every component whose plugin is not installed.

    ``available`` maps a section (``"sources"`` ...) to the names registered
    for it; each error names the unknown plugin, lists the installed ones and
    suggests the closest.
    """
    errors = []
    for section in COMPONENT_SECTIONS:
        names = list(available.get(section, ()))
        for comp in config.components(section).values():
            if comp.name in names:
                continue
            listing = ", ".join(names) if names else "none"
            errors.append(
                comp.error(
                    (),
                    f"no {_SINGULAR[section]} plugin named {comp.name!r} "
                    f"(installed: {listing}){suggestion(comp.name, names)}",
                )
            )
    if errors:
        raise ConfigError.collect(errors)
