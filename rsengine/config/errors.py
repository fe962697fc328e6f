"""ConfigError and the pieces of its messages: where, which key, what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rsengine.exchange.contracts import closest_match

from .hiding import hide_override_values


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


class ItemError(ValueError):
    """A check's complaint about one item of a list."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


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
        return f"expected one of {listing}, got {describe(value)}"
    return f"{value!r} is not one of {listing}{suggestion(value, choices)}"


def describe(value: Any) -> str:
    """How a message names a value of the wrong kind: ``"nothing (null)"``,
    ``"'x' (text)"``, ``"a mapping"`` ..."""
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
