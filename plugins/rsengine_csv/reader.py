"""Stream trades and OHLCV bars out of CSV files into numpy chunks.

A :class:`CsvLayout` says how a file is laid out (which column holds what, how
stamps are written and in which zone); :func:`read` streams one or more files
with that layout and yields :class:`Chunk` objects of parallel numpy arrays:

- ``ts``: int64 nanoseconds UTC, in file order, never deduplicated;
- trades: ``price`` and ``size`` (float64; ``size`` is 1.0 per trade when the
  layout maps no size column);
- bars: ``open``, ``high``, ``low``, ``close`` and ``volume`` (float64;
  ``volume`` is 0.0 when the layout maps no volume column). Bars keep the
  file's stamp: ``Chunk.stamps`` says whether it marks the bar's open or its
  close, and the consumer shifts by the bar size, not this reader;
- ``symbol``: an array of str when the layout maps a symbol column.

Files are streamed in blocks of whole lines (4 MiB) and never loaded whole. A
block without quote characters is split into fields and parsed with numpy,
without a Python loop per row (the fast path); a file that uses quoting, or an
encoding that is not ASCII compatible, goes through the :mod:`csv` module from
the first block that needs it. Stamps are parsed vectorized for rows that share
one shape, and row by row (with the same rules) for the rest.

Bad rows. A row is bad when it has too few fields for the mapped columns (or a
mapped field longer than 256 characters), a stamp that does not parse (or does
not exist, or is ambiguous, in the layout's zone), a value that is not a
number, a non-finite price, a negative size or volume, ``high < low``, or a
stamp earlier than the previous good row's (equal stamps are fine: ticks share
stamps). With ``on_bad_row="stop"`` the rows before the bad one are delivered
and then :class:`CsvFormatError` is raised, naming ``file:line:column``, the
field, the offending text and what was expected. With ``on_bad_row="skip"``
the row is dropped and counted in :class:`ReadStats`. Problems with a whole
file always raise, whatever ``on_bad_row`` says: a header that lacks a mapped
column, an empty file with a header expected, and a file whose first stamp is
earlier than the last stamp of the file before it (files must be given in time
order).

Blank lines are counted (``FileStats.blank``) and otherwise ignored; rows of
another symbol than ``CsvLayout.symbol`` are counted as ``filtered``. Nothing
else is dropped: ``rows == delivered + skipped + filtered`` for every file
that was read to its end.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import gzip
import io
import itertools
import os
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import numpy as np

__all__ = [
    "Chunk",
    "CsvFormatError",
    "CsvLayout",
    "CsvReader",
    "FileStats",
    "PRESETS",
    "ReadStats",
    "read",
]

KINDS = ("trades", "bars")
VALUE_FIELDS = {"trades": ("price", "size"), "bars": ("open", "high", "low", "close", "volume")}
OPTIONAL_DEFAULTS = {"size": 1.0, "volume": 0.0}
NON_NEGATIVE = ("size", "volume")
UNIX_FORMATS = {"unix_s": 10**9, "unix_ms": 10**6, "unix_us": 10**3, "unix_ns": 1}
AMBIGUOUS_MODES = ("raise", "earliest", "latest", "infer")
MAX_REASONS = 10  # skip messages kept per file

NS = 10**9
_HOUR_NS = 3600 * NS
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MIN_YEAR, _MAX_YEAR = 1678, 2261  # int64 ns covers 1677-09-21 .. 2262-04-11
_INT64_MIN = np.iinfo(np.int64).min
_BLOCK_BYTES = 1 << 22  # bytes parsed at a time on the fast path, whatever chunk_rows is
_BATCH_LINES = 65536  # rows parsed at a time through the csv module
_MAX_FIELD = 256  # a mapped field longer than this is a bad row (keeps batches small)
_ASCII_COMPATIBLE = {"utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "cp1252"}
_UTC_NAMES = {"UTC", "ETC/UTC", "ETC/UCT", "UCT", "ZULU", "ETC/ZULU", "GMT", "ETC/GMT"}
_BOM = codecs.BOM_UTF8
_QUOTE = '"'

# Bad-row kinds, as counted in FileStats.by_kind.
FIELDS, STAMP, ZONE, NUMBER, NON_FINITE, NEGATIVE, HIGH_LOW, ORDER = (
    "fields",
    "stamp",
    "zone",
    "number",
    "non_finite",
    "negative",
    "high_low",
    "order",
)


# ----------------------------------------------------------------------------------------------
# errors and statistics
# ----------------------------------------------------------------------------------------------


class CsvFormatError(ValueError):
    """A file or one of its rows does not match the layout.

    The message reads ``file:line:column (field): 'text' problem``; the parts are
    also attributes (``column`` is 1-based, ``None`` when the problem is not in
    one field).
    """

    def __init__(self, message, *, path, line=None, column=None, field=None, text=None,
                 kind=None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.field = field
        self.text = text
        self.kind = kind


@attrs.define(eq=False)
class FileStats:
    """What reading one file did.

    ``rows`` counts data rows (not the header, ``skip_rows`` or blank lines);
    ``delivered + skipped + filtered == rows`` once the file is read to its end.
    ``by_kind`` counts skipped rows per bad-row kind; ``reasons`` keeps the first
    ``MAX_REASONS`` skip messages.
    """

    path: str
    rows: int = 0
    delivered: int = 0
    skipped: int = 0
    filtered: int = 0
    blank: int = 0
    by_kind: dict = attrs.Factory(dict)
    reasons: list = attrs.Factory(list)


@attrs.define(eq=False)
class ReadStats:
    """Per-file statistics of one read, with totals over the files."""

    files: list = attrs.Factory(list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def delivered(self) -> int:
        return sum(f.delivered for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def filtered(self) -> int:
        return sum(f.filtered for f in self.files)

    @property
    def blank(self) -> int:
        return sum(f.blank for f in self.files)

    @property
    def reasons(self) -> list:
        return [r for f in self.files for r in f.reasons]


# ----------------------------------------------------------------------------------------------
# the layout
# ----------------------------------------------------------------------------------------------


def _freeze_columns(value):
    if not isinstance(value, Mapping):
        raise TypeError(f"columns must be a mapping of field -> column, not {value!r}")
    return types.MappingProxyType(dict(value))


def _closest(word, choices) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _is_column(ref) -> bool:
    return (isinstance(ref, str) and ref != "") or (
        isinstance(ref, int) and not isinstance(ref, bool) and ref >= 0
    )


@attrs.frozen
class CsvLayout:
    """How one kind of CSV file is laid out.

    ``columns`` maps our fields to the file's columns (a header name, or a
    0-based index; headerless files need indices). Trades need ``ts`` and
    ``price``, optionally ``size`` (absent: 1.0 per trade). Bars need ``ts``,
    ``open``, ``high``, ``low``, ``close``, optionally ``volume`` (absent: 0.0).
    Instead of ``ts``, a ``date`` and a ``time`` column may be mapped; they are
    joined with one space before parsing (so the format sees ``"date time"``).

    ``ts_format``:

    - ``"iso"``: ``YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|±HH[:MM]|±HHMM]`` with 1 to
      9 fractional digits, kept to the nanosecond;
    - ``"unix_s"``, ``"unix_ms"``, ``"unix_us"``, ``"unix_ns"``: integers since
      the epoch (s/ms/us may carry a decimal fraction down to the ns);
    - a strptime-style pattern with ``%Y %y %m %d %H %I %p %M %S %f %z %b %%``.
      ``%f`` takes 1 to 9 digits (so NinjaTrader's 7-digit 100-ns fractions
      parse exactly); ``%m %d %H %I %M %S`` take 1 or 2 digits unless another
      number directive is adjacent, in which case exactly 2; ``%b`` is an English
      month abbreviation; other characters must match literally.

    ``tz`` is the zone of stamps that carry no offset (stamps with an offset, and
    unix stamps, use their own). Local times that fall into a DST gap are bad
    rows. Local times that occur twice (the hour the clocks go back) are bad rows
    when ``tz_ambiguous`` is ``"raise"`` (the default); ``"earliest"`` and
    ``"latest"`` pick one reading; ``"infer"`` takes the earliest reading that is
    not before the previous row, so a file that runs through the repeated hour
    twice in order is read right.

    ``stamps`` (bars only, required): ``"open"`` or ``"close"``, whether a stamp
    marks the bar's open or its close. It is reported on each chunk, never
    applied.

    ``symbol_column`` (optional) adds a ``symbol`` array to each chunk; with
    ``symbol`` set, only rows whose symbol column equals it are kept (the others
    are counted as filtered, not validated). ``skip_rows`` lines are skipped
    before the header (or before the data when ``header`` is False).
    ``decimal="," `` reads ``1234,5`` (a "." is accepted too).

    Use :meth:`preset` for the known vendor layouts.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    columns: Mapping = attrs.field(converter=_freeze_columns, hash=False)
    ts_format: str = "iso"
    tz: str = "UTC"
    stamps: str | None = None
    tz_ambiguous: str = attrs.field(
        default="raise", validator=attrs.validators.in_(AMBIGUOUS_MODES)
    )
    delimiter: str = ","
    header: bool = True
    decimal: str = attrs.field(default=".", validator=attrs.validators.in_((".", ",")))
    symbol_column: str | int | None = None
    symbol: str | None = None
    skip_rows: int = 0
    encoding: str = "utf-8"

    def __attrs_post_init__(self):
        allowed = ("ts", "date", "time", *VALUE_FIELDS[self.kind])
        for name, ref in self.columns.items():
            if name not in allowed:
                raise ValueError(
                    f"columns: {name!r} is not a field of {self.kind}{_closest(name, allowed)}"
                    f" (fields: {', '.join(allowed)})"
                )
            if not _is_column(ref):
                raise ValueError(
                    f"columns[{name!r}]: {ref!r} is neither a header name nor a 0-based index"
                )
            if not self.header and not isinstance(ref, int):
                raise ValueError(
                    f"columns[{name!r}]: {ref!r} is a name but the file has no header;"
                    " map it by 0-based index"
                )
        has_ts = "ts" in self.columns
        has_dt = ("date" in self.columns, "time" in self.columns)
        if has_ts and any(has_dt):
            raise ValueError("columns: map either 'ts' or 'date' + 'time', not both")
        if not has_ts and not all(has_dt):
            raise ValueError("columns: map 'ts' (or both 'date' and 'time')")
        missing = [f for f in VALUE_FIELDS[self.kind] if f not in OPTIONAL_DEFAULTS
                   and f not in self.columns]
        if missing:
            raise ValueError(f"columns: {self.kind} need {', '.join(map(repr, missing))}")
        if self.ts_format in UNIX_FORMATS and not has_ts:
            raise ValueError(f"ts_format {self.ts_format!r} needs a single 'ts' column")
        _StampFormat(self.ts_format)  # raises on a bad format
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"tz: {self.tz!r} is not a known time zone") from exc
        if self.kind == "bars" and self.stamps not in ("open", "close"):
            raise ValueError(
                f"stamps: bars need 'open' or 'close' (what their stamps mark), not {self.stamps!r}"
            )
        if self.kind == "trades" and self.stamps is not None:
            raise ValueError("stamps: only bars have open/close stamps; leave it None for trades")
        if len(self.delimiter) != 1 or self.delimiter in ('"', "\r", "\n"):
            raise ValueError(f"delimiter: {self.delimiter!r} must be one character, not a quote")
        if self.decimal == self.delimiter:
            raise ValueError(f"decimal and delimiter cannot both be {self.decimal!r}")
        if self.symbol_column is not None:
            if not _is_column(self.symbol_column):
                raise ValueError(f"symbol_column: {self.symbol_column!r} is not a column")
            if not self.header and not isinstance(self.symbol_column, int):
                raise ValueError("symbol_column: the file has no header; use a 0-based index")
        if self.symbol is not None and self.symbol_column is None:
            raise ValueError("symbol: filtering by symbol needs symbol_column")
        if not isinstance(self.skip_rows, int) or self.skip_rows < 0:
            raise ValueError(f"skip_rows: {self.skip_rows!r} must be an int >= 0")
        try:
            codecs.lookup(self.encoding)
        except LookupError as exc:
            raise ValueError(f"encoding: {self.encoding!r} is not a known codec") from exc

    @classmethod
    def preset(cls, name: str, **changes) -> CsvLayout:
        """A known vendor layout, optionally with some attributes changed.

        ===================== ====== ======================================================
        name                  kind   layout
        ===================== ====== ======================================================
        ``ninjatrader_minute`` bars  NT8 1-minute export: ``;``, no header,
                                     ``yyyyMMdd HHmmss;open;high;low;close;volume``,
                                     UTC, bar-close stamps (NT exports end-of-bar).
        ``ninjatrader_tick``  trades NT8 tick export, sub-second: ``;``, no header,
                                     ``yyyyMMdd HHmmss fffffff;last;bid;ask;volume``
                                     (7 fraction digits = 100 ns), UTC. For the 3-field
                                     import form ``...;price;volume`` pass
                                     ``columns={"ts": 0, "price": 1, "size": 2}``; for
                                     second stamps ``ts_format="%Y%m%d %H%M%S"``.
        ``databento_micro_5m`` bars  ``databento-micro-5m/*.csv.gz``: ``ts_et`` ISO with
                                     offset (America/New_York), ``open..volume``,
                                     ``symbol``; bar-open stamps.
        ``barchart_hourly``   bars   ``barchart-hourly/*.csv.gz``: ``Time`` ISO
                                     ``+00:00``, ``Open..Volume``, ``contract``
                                     (contract month, as symbol); bar-open stamps.
        ``tradingview_5m``    bars   TradingView chart export
                                     (``tradingview-es-nysetick-5m-2023-05``): ``time``
                                     unix seconds, ``open..close``, no volume (0.0);
                                     bar-open stamps. Other columns ignored.
        ``esm8_ticks``        trades ``ticks-es/ESM8_*.csv.gz``: ``ts_utc`` ISO with ns
                                     and offset, ``price``; no size (1.0 per trade).
        ``lean_es_minute``    bars   ``lean-es-spy-1m-2013-10/ES_minute_trade_all_
                                     contracts.csv``: ``ts_utc`` ISO, ``open..volume``,
                                     ``contract`` (e.g. ``ES201312``) as symbol;
                                     bar-open stamps. The file holds every contract,
                                     each in its own time-ordered block: pass
                                     ``symbol="ES201312"`` to read one contract.
        ``mlfinlab_ticks``    trades ``ticks-es/mlfinlab_*.csv``: ``Date and Time`` as
                                     ``%Y/%m/%d %H:%M:%S.%f``, ``Price``, ``Volume``;
                                     zone not stated by the source, taken as UTC (the
                                     sample starts 22:00, the Sunday Globex open).
        ===================== ====== ======================================================
        """
        try:
            base = PRESETS[name]
        except KeyError:
            raise ValueError(
                f"no preset {name!r}{_closest(name, PRESETS)} (presets: {', '.join(PRESETS)})"
            ) from None
        return attrs.evolve(base, **changes) if changes else base


# ----------------------------------------------------------------------------------------------
# chunks
# ----------------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class Chunk:
    """Rows of one file as parallel numpy arrays (see the module docstring).

    Value arrays of the other kind are None; ``symbol`` is None unless the
    layout maps a symbol column. ``stamps`` is ``"open"``/``"close"`` for bars.
    """

    kind: str
    path: str
    ts: np.ndarray
    price: np.ndarray | None = None
    size: np.ndarray | None = None
    open: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    close: np.ndarray | None = None
    volume: np.ndarray | None = None
    symbol: np.ndarray | None = None
    stamps: str | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def columns(self) -> dict[str, np.ndarray]:
        """The arrays that are present, ``ts`` first."""
        names = ("ts", *VALUE_FIELDS[self.kind], "symbol")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    @classmethod
    def concat(cls, chunks: Iterable[Chunk]) -> Chunk:
        """One chunk holding the rows of several (of one kind), in order."""
        chunks = list(chunks)
        if not chunks:
            raise ValueError("no chunks to concatenate")
        first = chunks[0]
        cols = {n: np.concatenate([c.columns()[n] for c in chunks]) for n in first.columns()}
        return cls(kind=first.kind, path=first.path, stamps=first.stamps, **cols)


# ----------------------------------------------------------------------------------------------
# stamps
# ----------------------------------------------------------------------------------------------


class _Bad(Exception):
    """One bad value: ``problem`` completes the sentence "'text' ..."."""

    def __init__(self, problem, kind=STAMP):
        super().__init__(problem)
        self.problem = problem
        self.kind = kind


_ISO_RE = re.compile(
    r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_UNIX_RE = re.compile(r"([+-]?)(\d+)(?:\.(\d*))?", re.ASCII)
_NUMBER_DIRECTIVES = set("YymdHIMSf")
_PATTERN_PARTS = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",
    "f": r"(?P<f>\d{1,9})",
    "p": r"(?P<p>[AaPp][Mm])",
    "b": r"(?P<b>[A-Za-z]{3})",
    "z": r"(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)",
}
_TWO_DIGITS = set("mdHIMS")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EXAMPLE = dt.datetime(2024, 1, 2, 15, 30, 0, 123456)


def _compile_pattern(fmt: str):
    tokens = []
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            tokens.append(("lit", fmt[i]))
            i += 1
            continue
        if i + 1 == len(fmt):
            raise ValueError(f"ts_format {fmt!r} ends with a lone '%'")
        d = fmt[i + 1]
        i += 2
        if d == "%":
            tokens.append(("lit", "%"))
        elif d in _PATTERN_PARTS or d in _TWO_DIGITS:
            tokens.append(("dir", d))
        else:
            raise ValueError(
                f"ts_format {fmt!r}: unsupported directive %{d}"
                " (supported: %Y %y %m %d %H %I %p %M %S %f %z %b %%)"
            )
    used = [t[1] for t in tokens if t[0] == "dir"]
    dupes = sorted({d for d in used if used.count(d) > 1})
    if dupes:
        raise ValueError(f"ts_format {fmt!r}: %{dupes[0]} appears twice")
    dirs = set(used)
    problems = []
    if not dirs & {"Y", "y"}:
        problems.append("a year (%Y or %y)")
    if not dirs & {"m", "b"}:
        problems.append("a month (%m or %b)")
    if "d" not in dirs:
        problems.append("a day (%d)")
    if problems:
        raise ValueError(f"ts_format {fmt!r} needs {', '.join(problems)}")
    if ("I" in dirs) != ("p" in dirs):
        raise ValueError(f"ts_format {fmt!r}: %I and %p go together")
    if "I" in dirs and "H" in dirs:
        raise ValueError(f"ts_format {fmt!r}: use %H or %I, not both")
    parts = []
    for k, (what, val) in enumerate(tokens):
        if what == "lit":
            parts.append(re.escape(val))
        elif val in _TWO_DIGITS:
            near = [tokens[j] for j in (k - 1, k + 1) if 0 <= j < len(tokens)]
            tight = any(t[0] == "dir" and t[1] in _NUMBER_DIRECTIVES for t in near)
            parts.append(rf"(?P<{val}>\d{{2}})" if tight else rf"(?P<{val}>\d{{1,2}})")
        else:
            parts.append(_PATTERN_PARTS[val])
    return re.compile("".join(parts), re.ASCII), dirs


def _offset_seconds(z: str) -> int:
    if z in ("Z", "z"):
        return 0
    digits = z[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise _Bad(f"has an invalid UTC offset {z!r}")
    sign = -1 if z[0] == "-" else 1
    return sign * (hours * 3600 + minutes * 60)


def _digits(mat: np.ndarray, positions) -> np.ndarray:
    d = mat[:, positions].astype(np.int64) - 48
    return d @ (10 ** np.arange(len(positions) - 1, -1, -1, dtype=np.int64))


def _days_from_civil(y, m, d):
    """Days since 1970-01-01 (proleptic Gregorian), vectorized (H. Hinnant)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_DIM = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


class _StampFormat:
    """Parses stamp text: vectorized where rows share a shape, one row otherwise.

    Results are ``(ns, has_offset)``: ns UTC when the text carried an offset (or
    is a unix stamp), else ns of the local wall time, still to be localized.
    """

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.unix = UNIX_FORMATS.get(fmt)
        self.vector = True
        if self.unix:
            self.regex = _UNIX_RE
            self.example = str(1704209400 * NS // self.unix)
        elif fmt == "iso":
            self.regex = _ISO_RE
            self.example = "2024-01-02 15:30:00.123456789-05:00"
        elif "%" in fmt:
            self.regex, dirs = _compile_pattern(fmt)
            self.vector = not dirs & {"p", "b"}
            self.example = _EXAMPLE.strftime(fmt.replace("%z", "+0000"))
        else:
            raise ValueError(
                f"ts_format {fmt!r} is not 'iso', one of {', '.join(UNIX_FORMATS)},"
                " or a strptime pattern"
            )

    def _not_a_stamp(self) -> _Bad:
        return _Bad(f"is not a timestamp in format {self.fmt!r} (expected e.g. {self.example!r})")

    # -- one row ----------------------------------------------------------------------------

    def parse_one(self, text: str) -> tuple[int, bool]:
        if self.unix:
            return self._unix_one(text), True
        m = self.regex.fullmatch(text)
        if m is None:
            raise self._not_a_stamp()
        g = m.groupdict()
        if g.get("Y"):
            year = int(g["Y"])
        else:
            yy = int(g["y"])
            year = 2000 + yy if yy < 69 else 1900 + yy
        if g.get("b"):
            month = _MONTHS.get(g["b"].lower())
            if month is None:
                raise _Bad(f"has an unknown month name {g['b']!r}")
        else:
            month = int(g["m"])
        if g.get("I"):
            hour12 = int(g["I"])
            if not 1 <= hour12 <= 12:
                raise _Bad(f"has hour {hour12} with %I (expected 1..12)")
            hour = hour12 % 12 + (12 if g["p"].lower() == "pm" else 0)
        else:
            hour = int(g.get("H") or 0)
        minute, second = int(g.get("M") or 0), int(g.get("S") or 0)
        frac = g.get("f")
        try:
            day = dt.datetime(year, month, int(g["d"]), hour, minute, second)
        except ValueError as exc:
            raise _Bad(f"is not a valid time ({exc})") from None
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise _Bad(f"is outside the years {_MIN_YEAR}..{_MAX_YEAR} that int64 ns can hold")
        secs = (day.toordinal() - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60 + second
        ns = secs * NS + (int(frac) * 10 ** (9 - len(frac)) if frac else 0)
        z = g.get("z")
        if z:
            return ns - _offset_seconds(z) * NS, True
        return ns, False

    def _unix_one(self, text: str) -> int:
        try:
            value = int(text) * self.unix
        except ValueError:
            m = self.regex.fullmatch(text)
            if m is None:
                raise self._not_a_stamp() from None
            sign, whole, frac = m.groups()
            places = len(str(self.unix)) - 1
            frac = (frac or "").rstrip("0")
            if len(frac) > places:
                raise _Bad(f"has more decimals than {self.fmt} can hold to the nanosecond") \
                    from None
            value = int(whole) * self.unix + int(frac.ljust(places, "0") or 0)
            value = -value if sign == "-" else value
        if not -(2**63) <= value < 2**63:
            raise _Bad("is outside the range int64 nanoseconds can hold")
        return value

    # -- many rows --------------------------------------------------------------------------

    def parse_many(self, col: np.ndarray):
        """-> (ns, has_offset, ok); rows with ``ok`` False need :meth:`parse_one`."""
        n = len(col)
        ns = np.zeros(n, np.int64)
        has_off = np.zeros(n, bool)
        ok = np.zeros(n, bool)
        if not self.vector or n == 0:
            return ns, has_off, ok
        if self.unix:
            try:
                values = col.astype(np.int64)
            except (ValueError, OverflowError):
                return ns, has_off, ok
            limit = (2**63 - 1) // self.unix
            ok = np.abs(values) <= limit
            ns[ok] = values[ok] * self.unix
            has_off[:] = True
            return ns, has_off, ok
        if col.dtype.kind == "U":
            try:
                col = np.strings.encode(col, "ascii")
            except UnicodeEncodeError:
                return ns, has_off, ok
        lengths = np.strings.str_len(col)
        for length in np.unique(lengths).tolist():
            if length == 0:
                continue
            rows = np.flatnonzero(lengths == length)
            g_ns, g_off, g_ok = self._same_length(col[rows], length)
            ns[rows], has_off[rows], ok[rows] = g_ns, g_off, g_ok
        return ns, has_off, ok

    def _template(self, sub: np.ndarray):
        for text in sub[:3].tolist():
            m = self.regex.fullmatch(text.decode("ascii", "replace"))
            if m is not None:
                return text, m
        return None, None

    def _same_length(self, sub: np.ndarray, length: int):
        n = len(sub)
        fail = (np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, bool))
        tmpl, m = self._template(sub)
        if m is None:
            return fail
        mat = sub.astype(f"S{length}").view(np.uint8).reshape(n, length)
        tmpl = np.frombuffer(tmpl, np.uint8)
        spans = {k: m.span(k) for k, v in m.groupdict().items() if v is not None}
        literal = np.ones(length, bool)
        digit_pos = []
        for k, (a, b) in spans.items():
            if k == "z":
                continue
            literal[a:b] = False
            digit_pos.extend(range(a, b))
        z_span = spans.get("z")
        z_sign = z_digits = None
        if z_span and m.group("z") not in ("Z", "z"):
            a, b = z_span
            literal[a] = False
            z_sign = a
            z_digits = [p for p in range(a + 1, b) if chr(tmpl[p]).isdigit()]
            literal[z_digits] = False
            digit_pos.extend(z_digits)
        lit = np.flatnonzero(literal)
        ok = (mat[:, lit] == tmpl[lit]).all(axis=1)
        ok &= ((mat[:, digit_pos] - np.uint8(48)) <= 9).all(axis=1)

        def field(key, default=0):
            if key not in spans:
                return np.full(n, default, np.int64)
            a, b = spans[key]
            return _digits(mat, list(range(a, b)))

        if "Y" in spans:
            year = field("Y")
        else:
            yy = field("y")
            year = np.where(yy < 69, 2000 + yy, 1900 + yy)
        month, day = field("m"), field("d")
        hour, minute, second = field("H"), field("M"), field("S")
        ok &= (year >= _MIN_YEAR) & (year <= _MAX_YEAR) & (month >= 1) & (month <= 12)
        ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
        month_c = np.clip(month, 1, 12)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        ok &= (day >= 1) & (day <= _DIM[month_c] + (leap & (month_c == 2)))
        secs = _days_from_civil(year, month_c, day) * 86400 + hour * 3600 + minute * 60 + second
        ns = secs * NS
        if "f" in spans:
            a, b = spans["f"]
            ns += field("f") * 10 ** (9 - (b - a))
        has_off = np.full(n, "z" in spans)
        if z_sign is not None:
            sign_byte = mat[:, z_sign]
            ok &= (sign_byte == ord("+")) | (sign_byte == ord("-"))
            hh = _digits(mat, z_digits[:2])
            mm = _digits(mat, z_digits[2:4]) if len(z_digits) > 2 else np.zeros(n, np.int64)
            ok &= (hh <= 23) & (mm <= 59)
            offset = np.where(sign_byte == ord("-"), -1, 1) * (hh * 3600 + mm * 60)
            ns -= offset * NS
        return ns, has_off, ok


class _Zone:
    """Local wall time -> UTC in one zone, with offsets cached per local hour."""

    def __init__(self, name: str, ambiguous: str):
        self.name = name
        self.zone = ZoneInfo(name)
        self.mode = ambiguous
        self.utc = name.upper() in _UTC_NAMES
        self._hours: dict[int, int | None] = {}

    def _offset(self, naive: dt.datetime, fold: int) -> int:
        return int(naive.replace(tzinfo=self.zone, fold=fold).utcoffset().total_seconds())

    def _hour_offset(self, hour: int) -> int | None:
        """The hour's one offset, or None when it changes within the hour."""
        start = _EPOCH + dt.timedelta(hours=hour)
        end = start + dt.timedelta(seconds=3599, microseconds=999999)
        offsets = {self._offset(t, f) for t in (start, end) for f in (0, 1)}
        return offsets.pop() if len(offsets) == 1 else None

    def localize(self, local: np.ndarray, prev: int):
        """-> (utc ns, {index: _Bad}); ``prev`` is the last good stamp before."""
        if self.utc or len(local) == 0:
            return local, {}
        hours = np.floor_divide(local, _HOUR_NS)
        uniq, inv = np.unique(hours, return_inverse=True)
        offsets = np.zeros(len(uniq), np.int64)
        changing = np.zeros(len(uniq), bool)
        cache = self._hours
        for k, hour in enumerate(uniq.tolist()):
            if hour not in cache:
                cache[hour] = self._hour_offset(hour)
            off = cache[hour]
            if off is None:
                changing[k] = True
            else:
                offsets[k] = off
        utc = local - offsets[inv] * NS
        problems = {}
        for i in np.flatnonzero(changing[inv]).tolist():
            if i > 0 and i - 1 not in problems:
                prev = int(utc[i - 1])
            try:
                utc[i] = self._one(int(local[i]), prev)
            except _Bad as bad:
                problems[i] = bad
        return utc, problems

    def _one(self, local: int, prev: int) -> int:
        secs, frac = divmod(local, NS)
        naive = _EPOCH + dt.timedelta(seconds=secs)
        early = (secs - self._offset(naive, 0)) * NS + frac
        late = (secs - self._offset(naive, 1)) * NS + frac
        if early == late:
            return early
        if early > late:
            raise _Bad(f"does not exist in {self.name} (the clocks skipped it)", ZONE)
        if self.mode == "earliest":
            return early
        if self.mode == "latest":
            return late
        if self.mode == "infer":
            return early if early >= prev else late
        raise _Bad(
            f"is ambiguous in {self.name} (the clocks went back; it occurs twice);"
            " expected an unambiguous time, or set tz_ambiguous to 'earliest', 'latest'"
            " or 'infer'",
            ZONE,
        )


def _format_ns(ns: int) -> str:
    secs, frac = divmod(int(ns), NS)
    text = (_EPOCH + dt.timedelta(seconds=secs)).isoformat(sep=" ")
    return f"{text}.{frac:09d}".rstrip("0") + "Z" if frac else text + "Z"


# ----------------------------------------------------------------------------------------------
# raw batches of lines
# ----------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class _Raw:
    """One batch of non-blank rows, split into the needed columns (string arrays)."""

    cols: dict  # file column index -> np.ndarray of S or U
    nfields: np.ndarray
    lines: np.ndarray  # physical line number where each row starts
    texts: object  # sequence: the row as written (for messages)
    blank: int
    overlong: dict  # row -> file column index of a field longer than _MAX_FIELD


class _Lines:
    """The rows of a block of bytes, by index, as written."""

    def __init__(self, block, starts, ends):
        self.block, self.starts, self.ends = block, starts, ends

    def __getitem__(self, i):
        return self.block[int(self.starts[i]) : int(self.ends[i])]


def _gather(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``buf[starts[i]:ends[i]]`` for every i, as one fixed-width bytes array."""
    width = max(int((ends - starts).max(initial=0)), 1)
    pos = starts[:, None] + np.arange(width)
    inside = pos < ends[:, None]
    mat = np.where(inside, buf[np.minimum(pos, len(buf) - 1)], 0).astype(np.uint8)
    return mat.view(f"S{width}").ravel()


def _as_text(value, encoding: str) -> str:
    if isinstance(value, bytes):
        return value.decode(encoding, "replace")
    return str(value)


def _decode(col: np.ndarray, encoding: str) -> np.ndarray:
    if col.dtype.kind != "S":
        return col
    try:
        return col.astype(str)  # ASCII: much faster than np.strings.decode
    except UnicodeDecodeError:
        return np.strings.decode(col, encoding)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------------
# the reader
# ----------------------------------------------------------------------------------------------


def read(paths, layout: CsvLayout, chunk_rows: int = 65536, on_bad_row: str = "stop"):
    """Stream ``paths`` (one path or a list, read in order) with ``layout``.

    Returns a :class:`CsvReader`: iterate it for :class:`Chunk` objects of up to
    ``chunk_rows`` rows (exactly ``chunk_rows`` except the last chunk of each
    file; a chunk never spans two files), then look at ``reader.stats``.
    """
    return CsvReader(paths, layout, chunk_rows=chunk_rows, on_bad_row=on_bad_row)


class CsvReader:
    """An iterator over the chunks of one pass over the files; see :func:`read`.

    ``stats`` (:class:`ReadStats`) fills in as the files are read.
    """

    def __init__(self, paths, layout: CsvLayout, chunk_rows: int = 65536,
                 on_bad_row: str = "stop"):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        if not isinstance(layout, CsvLayout):
            raise TypeError(f"layout must be a CsvLayout, not {type(layout).__name__}")
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be an int >= 1, not {chunk_rows!r}")
        if on_bad_row not in ("stop", "skip"):
            raise ValueError(f"on_bad_row must be 'stop' or 'skip', not {on_bad_row!r}")
        self.layout = layout
        self.chunk_rows = chunk_rows
        self.skip = on_bad_row == "skip"
        self.stats = ReadStats()
        self._format = _StampFormat(layout.ts_format)
        self._zone = _Zone(layout.tz, layout.tz_ambiguous)
        self._encoding = codecs.lookup(layout.encoding).name
        self._fields = [f for f in ("ts", "date", "time", *VALUE_FIELDS[layout.kind])
                        if f in layout.columns]
        self._last_ts: int | None = None
        self._pending: list[dict] = []
        self._pending_n = 0
        self._gen = self._run()

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        return next(self._gen)

    # -- files ------------------------------------------------------------------------------

    def _run(self) -> Iterator[Chunk]:
        for path in self.paths:
            stats = FileStats(path)
            self.stats.files.append(stats)
            self._file_start = True
            for raw in self._batches(path):
                error = self._process(raw, path, stats)
                yield from self._emit(path, final=error is not None)
                if error is not None:
                    raise error
            yield from self._emit(path, final=True)

    def _resolve(self, names, path, line) -> dict:
        """field -> 0-based column index, for this file."""
        refs = dict(self.layout.columns)
        if self.layout.symbol_column is not None:
            refs["symbol"] = self.layout.symbol_column
        index = {}
        for field, ref in refs.items():
            if isinstance(ref, int):
                if names is not None and ref >= len(names):
                    raise CsvFormatError(
                        f"{path}:{line} ({field}): column index {ref} is beyond the header's"
                        f" {len(names)} columns",
                        path=path, line=line, field=field, kind="header",
                    )
                index[field] = ref
                continue
            hits = [i for i, name in enumerate(names) if name == ref]
            if not hits:
                raise CsvFormatError(
                    f"{path}:{line} ({field}): the header has no column {ref!r}"
                    f"{_closest(ref, names)} (columns: {', '.join(map(repr, names))})",
                    path=path, line=line, field=field, text=ref, kind="header",
                )
            if len(hits) > 1:
                raise CsvFormatError(
                    f"{path}:{line} ({field}): the header has {ref!r} {len(hits)} times"
                    f" (columns {', '.join(str(h + 1) for h in hits)}); map it by index",
                    path=path, line=line, field=field, text=ref, kind="header",
                )
            index[field] = hits[0]
        return index

    def _open(self, path):
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")

    def _batches(self, path) -> Iterator[_Raw]:
        layout = self.layout
        with self._open(path) as fh:
            if self._encoding not in _ASCII_COMPATIBLE:
                text = io.TextIOWrapper(fh, layout.encoding, newline="")
                yield from self._csv_batches(path, text, 0, None)
                return
            line_no = 0
            for _ in range(layout.skip_rows):
                if not fh.readline():
                    break
                line_no += 1
            if layout.header:
                first = fh.readline()
                line_no += 1
                if not first:
                    raise CsvFormatError(
                        f"{path}:{line_no}: the file ends before its header",
                        path=path, line=line_no, kind="header",
                    )
                if line_no == 1:
                    first = first.removeprefix(_BOM)
                text = first.decode(layout.encoding).rstrip("\r\n")
                names = next(csv.reader([text], delimiter=layout.delimiter), [])
                self._index = self._resolve(names, path, line_no)
            else:
                self._index = self._resolve(None, path, None)
            self._setup_columns()
            carry = b""
            while True:
                data = fh.read(_BLOCK_BYTES)
                if not data:
                    if not carry:
                        return
                    block, carry = carry + b"\n", b""
                else:
                    data = carry + data
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        carry = data
                        continue
                    block, carry = data[:cut], data[cut:]
                if line_no == 0:
                    block = block.removeprefix(_BOM)
                if b'"' in block:  # quoted fields: the csv module from here on
                    if carry:
                        carry += fh.readline()  # finish the line (and its last character)
                    lines = io.StringIO((block + carry).decode(layout.encoding), newline="")
                    rest = io.TextIOWrapper(fh, layout.encoding, newline="")
                    yield from self._csv_batches(path, itertools.chain(lines, rest), line_no,
                                                 self._index)
                    return
                raw = self._fast_batch(block, line_no)
                line_no += raw.blank + len(raw.lines)
                yield raw

    def _setup_columns(self):
        idx = self._index
        self._needed = sorted(set(idx.values()))
        self._max_idx = self._needed[-1]

    def _fast_batch(self, block: bytes, line_no: int) -> _Raw:
        """Split a block of whole lines (each ending in \\n) without a Python loop."""
        buf = np.frombuffer(block, np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        cr = ends > starts
        cr[cr] = buf[ends[cr] - 1] == 13
        ends = ends - cr
        numbers = line_no + 1 + np.arange(len(ends), dtype=np.int64)
        blank = ends == starts
        n_blank = int(blank.sum())
        if n_blank:
            keep = ~blank
            starts, ends, numbers = starts[keep], ends[keep], numbers[keep]
        delims = np.flatnonzero(buf == ord(self.layout.delimiter))
        first = np.searchsorted(delims, starts)
        nfields = np.searchsorted(delims, ends) - first + 1
        cols, overlong = {}, {}
        last = len(delims)
        bounds = np.append(delims, len(buf))  # bounds[last] keeps clipped indices valid
        for j in self._needed:
            has = nfields > j
            a = starts if j == 0 else bounds[np.minimum(first + j - 1, last)] + 1
            b = np.where(nfields - 1 > j, bounds[np.minimum(first + j, last)], ends)
            a = np.where(has, a, ends)
            b = np.where(has, b, ends)
            long = np.flatnonzero(b - a > _MAX_FIELD)
            for i in long.tolist():
                overlong.setdefault(i, j)
            if len(long):
                b = np.minimum(b, a + _MAX_FIELD)
            cols[j] = _gather(buf, a, b)
        return _Raw(cols, nfields, numbers, _Lines(block, starts, ends), n_blank, overlong)

    def _csv_batches(self, path, text_lines, line_no, index) -> Iterator[_Raw]:
        """Batches through the csv module (quoted fields, other encodings)."""
        layout = self.layout
        text_lines = iter(text_lines)
        if index is None:  # text mode from the start: skip rows and header here
            for _ in range(layout.skip_rows):
                if next(text_lines, None) is None:
                    break
                line_no += 1
            reader = csv.reader(text_lines, delimiter=layout.delimiter)
            if layout.header:
                names = next(reader, None)
                if names is None:
                    raise CsvFormatError(
                        f"{path}:{line_no + 1}: the file ends before its header",
                        path=path, line=line_no + 1, kind="header",
                    )
                if names and line_no == 0:
                    names[0] = names[0].removeprefix("\ufeff")
                line_no += reader.line_num
                self._index = self._resolve(names, path, line_no)
            else:
                self._index = self._resolve(None, path, None)
            self._setup_columns()
            reader = csv.reader(text_lines, delimiter=layout.delimiter)
        else:
            reader = csv.reader(text_lines, delimiter=layout.delimiter)
        seen = 0  # lines the reader has consumed
        while True:
            rows = list(itertools.islice(reader, _BATCH_LINES))
            if not rows:
                return
            if reader.line_num - seen == len(rows):
                starts = line_no + seen + 1 + np.arange(len(rows), dtype=np.int64)
            else:  # quoted fields spanning lines
                spans = [1 + sum(f.count("\n") for f in r) for r in rows]
                starts = line_no + seen + 1 + np.cumsum([0, *spans[:-1]], dtype=np.int64)
            seen = reader.line_num
            keep = [i for i, r in enumerate(rows) if r]
            n_blank = len(rows) - len(keep)
            if n_blank:
                rows = [rows[i] for i in keep]
                starts = starts[keep]
            nfields = np.fromiter(map(len, rows), np.int64, len(rows))
            cols, overlong = {}, {}
            for j in self._needed:
                values = [r[j] if len(r) > j else "" for r in rows]
                if max(map(len, values), default=0) > _MAX_FIELD:
                    for i, v in enumerate(values):
                        if len(v) > _MAX_FIELD:
                            overlong.setdefault(i, j)
                            values[i] = v[:_MAX_FIELD]
                cols[j] = np.array(values, dtype=str)
            texts = [layout.delimiter.join(r) for r in rows]
            yield _Raw(cols, nfields, starts, texts, n_blank, overlong)

    # -- one batch --------------------------------------------------------------------------

    def _process(self, raw: _Raw, path: str, stats: FileStats):
        """Parse and check one batch; queue its good rows; return the error to raise."""
        layout = self.layout
        enc = layout.encoding
        idx = self._index
        stats.blank += raw.blank
        n = len(raw.lines)
        filtered = None
        issues: dict[int, tuple] = {}  # row -> (field, text, problem, kind); first one wins

        def flag(i, field, text, problem, kind):
            if i not in issues:
                issues[i] = (field, text, problem, kind)

        short = raw.nfields <= self._max_idx
        for i in np.flatnonzero(short).tolist():
            nf = int(raw.nfields[i])
            field = min((f for f, j in idx.items() if j >= nf), key=idx.get)
            flag(i, field, _as_text(raw.texts[i], enc),
                 f"has {nf} field{'s' * (nf != 1)}; expected at least {self._max_idx + 1}",
                 FIELDS)
        if raw.overlong:
            field_of = {j: f for f, j in idx.items()}
            for i, j in raw.overlong.items():
                flag(i, field_of[j], _as_text(raw.cols[j][i], enc),
                     f"is longer than {_MAX_FIELD} characters", FIELDS)

        cols = raw.cols
        rows = np.arange(n)
        if layout.symbol is not None:
            sym = cols[idx["symbol"]]
            want = layout.symbol.encode(enc) if sym.dtype.kind == "S" else layout.symbol
            keep = sym == want
            keep[list(issues)] = True  # rows too broken to filter stay bad rows
            filtered = ~keep
            if not keep.all():
                rows = np.flatnonzero(keep)
                cols = {j: c[rows] for j, c in cols.items()}
                issues = {int(np.searchsorted(rows, i)): v for i, v in issues.items()}
        m = len(rows)

        # stamps
        if "ts" in idx:
            stamp_col = cols[idx["ts"]]
        else:
            space = b" " if cols[idx["date"]].dtype.kind == "S" else " "
            stamp_col = np.strings.add(np.strings.add(cols[idx["date"]], space),
                                       cols[idx["time"]])
        ts_field = "ts" if "ts" in idx else "date+time"
        ns, has_off, ok = self._format.parse_many(stamp_col)
        for i in np.flatnonzero(~ok).tolist():
            if i in issues:
                continue
            text = _as_text(stamp_col[i], enc)
            try:
                ns[i], has_off[i] = self._format.parse_one(text)
            except _Bad as bad:
                flag(i, ts_field, text, bad.problem, bad.kind)
        stamp_bad = np.zeros(m, bool)
        if issues:
            stamp_bad[list(issues)] = True
        naive = np.flatnonzero(~has_off & ~stamp_bad)
        if len(naive):
            prev = self._last_ts if self._last_ts is not None else _INT64_MIN
            utc, problems = self._zone.localize(ns[naive], prev)
            ns[naive] = utc
            for k, bad in problems.items():
                i = int(naive[k])
                flag(i, ts_field, _as_text(stamp_col[i], enc), bad.problem, bad.kind)

        # values
        values = {}
        for field in sorted(VALUE_FIELDS[layout.kind], key=lambda f: idx.get(f, -1)):
            if field not in idx:
                values[field] = np.full(m, OPTIONAL_DEFAULTS[field])
                continue
            values[field] = self._numbers(cols[idx[field]], field, flag)
        if layout.kind == "bars":
            high, low = values["high"], values["low"]
            for i in np.flatnonzero(high < low).tolist():
                hi_text = _as_text(cols[idx["high"]][i], enc)
                lo_text = _as_text(cols[idx["low"]][i], enc)
                flag(i, "high", hi_text, f"is below low {lo_text!r}; expected high >= low",
                     HIGH_LOW)

        # order
        bad = np.zeros(m, bool)
        if issues:
            bad[list(issues)] = True
        good_rows = np.flatnonzero(~bad)
        if self._file_start and len(good_rows):
            first = int(good_rows[0])
            if self._last_ts is not None and ns[first] < self._last_ts:
                earlier = [i for i in issues if i < first]
                if not (earlier and not self.skip):
                    text = _as_text(stamp_col[first], enc)
                    line = int(raw.lines[rows[first]])
                    col = idx["ts" if "ts" in idx else "date"] + 1
                    return CsvFormatError(
                        f"{path}:{line}:{col} ({ts_field}): {_short(text)!r} ="
                        f" {_format_ns(ns[first])} is earlier than the last stamp"
                        f" {_format_ns(self._last_ts)} of the file before; files must be"
                        " given in time order",
                        path=path, line=line, column=col, field=ts_field, text=text,
                        kind="file_order",
                    )
            self._file_start = False
        prev = self._last_ts if self._last_ts is not None else _INT64_MIN
        t = ns[good_rows]
        if len(t):
            running = np.maximum.accumulate(np.concatenate([[prev], t[:-1]]))
            for k in np.flatnonzero(t < running).tolist():
                i = int(good_rows[k])
                flag(i, ts_field, _as_text(stamp_col[i], enc),
                     f"= {_format_ns(t[k])} is earlier than the previous row's stamp"
                     f" {_format_ns(running[k])}; expected stamps in time order", ORDER)

        # deliver
        error = None
        keep = None  # all rows
        if issues and not self.skip:
            first_bad = min(issues)
            keep = np.arange(first_bad)
            error = self._error(path, raw, rows, first_bad, issues[first_bad])
            n = int(rows[first_bad]) + 1  # the rows after the bad one are not read
        elif issues:
            bad = np.zeros(m, bool)
            bad[list(issues)] = True
            keep = np.flatnonzero(~bad)
            for i in sorted(issues):
                kind = issues[i][3]
                stats.skipped += 1
                stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
                if len(stats.reasons) < MAX_REASONS:
                    stats.reasons.append(str(self._error(path, raw, rows, i, issues[i])))
        stats.rows += n
        if filtered is not None:
            stats.filtered += int(filtered[:n].sum())
        out = {"ts": ns if keep is None else ns[keep]}
        for field, v in values.items():
            out[field] = v if keep is None else v[keep]
        if "symbol" in idx:
            sym = cols[idx["symbol"]] if keep is None else cols[idx["symbol"]][keep]
            out["symbol"] = _decode(sym, enc)
        delivered = len(out["ts"])
        stats.delivered += delivered
        if delivered:
            last = int(out["ts"].max())
            self._last_ts = last if self._last_ts is None else max(last, self._last_ts)
            self._pending.append(out)
            self._pending_n += delivered
        return error

    def _numbers(self, col: np.ndarray, field: str, flag) -> np.ndarray:
        enc = self.layout.encoding
        parsed = col
        if self.layout.decimal == ",":
            comma, dot = (b",", b".") if col.dtype.kind == "S" else (",", ".")
            parsed = np.strings.replace(col, comma, dot)
        try:
            values = parsed.astype(np.float64)
        except (ValueError, OverflowError):
            values = np.empty(len(col))
            for i, text in enumerate(parsed.tolist()):
                try:
                    values[i] = float(text)
                except ValueError:
                    values[i] = np.nan
                    flag(i, field, _as_text(col[i], enc), "is not a number", NUMBER)
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            flag(i, field, _as_text(col[i], enc), "is not a finite number", NON_FINITE)
        if field in NON_NEGATIVE:
            for i in np.flatnonzero(values < 0).tolist():
                flag(i, field, _as_text(col[i], enc), f"is negative; expected a {field} >= 0",
                     NEGATIVE)
        return values

    def _error(self, path, raw, rows, i, issue) -> CsvFormatError:
        field, text, problem, kind = issue
        line = int(raw.lines[rows[i]])
        ref = "date" if field == "date+time" else field
        col = self._index[ref] + 1
        return CsvFormatError(
            f"{path}:{line}:{col} ({field}): {_short(text)!r} {problem}",
            path=path, line=line, column=col, field=field, text=text, kind=kind,
        )

    def _emit(self, path: str, final: bool) -> Iterator[Chunk]:
        n, size = self._pending_n, self.chunk_rows
        if n == 0 or (n < size and not final):
            return
        if len(self._pending) == 1:
            cols = self._pending[0]
        else:
            cols = {k: np.concatenate([p[k] for p in self._pending]) for k in self._pending[0]}
        end = n if final else n // size * size
        layout = self.layout
        for a in range(0, end, size):
            part = {k: v[a : a + size] for k, v in cols.items()}
            yield Chunk(kind=layout.kind, path=path, stamps=layout.stamps, **part)
        left = n - end
        self._pending = [{k: v[end:] for k, v in cols.items()}] if left else []
        self._pending_n = left


# ----------------------------------------------------------------------------------------------
# presets (documented in CsvLayout.preset)
# ----------------------------------------------------------------------------------------------

_OHLCV = {"open": 1, "high": 2, "low": 3, "close": 4}

PRESETS: dict[str, CsvLayout] = {
    "ninjatrader_minute": CsvLayout(
        kind="bars",
        columns={"ts": 0, **_OHLCV, "volume": 5},
        ts_format="%Y%m%d %H%M%S",
        tz="UTC",
        stamps="close",
        delimiter=";",
        header=False,
    ),
    "ninjatrader_tick": CsvLayout(
        kind="trades",
        columns={"ts": 0, "price": 1, "size": 4},
        ts_format="%Y%m%d %H%M%S %f",
        tz="UTC",
        delimiter=";",
        header=False,
    ),
    "databento_micro_5m": CsvLayout(
        kind="bars",
        columns={"ts": "ts_et", **{k: k for k in ("open", "high", "low", "close", "volume")}},
        ts_format="iso",
        tz="America/New_York",
        stamps="open",
        symbol_column="symbol",
    ),
    "barchart_hourly": CsvLayout(
        kind="bars",
        columns={"ts": "Time", "open": "Open", "high": "High", "low": "Low", "close": "Close",
                 "volume": "Volume"},
        ts_format="iso",
        tz="UTC",
        stamps="open",
        symbol_column="contract",
    ),
    "tradingview_5m": CsvLayout(
        kind="bars",
        columns={"ts": "time", "open": "open", "high": "high", "low": "low", "close": "close"},
        ts_format="unix_s",
        tz="UTC",
        stamps="open",
    ),
    "esm8_ticks": CsvLayout(
        kind="trades",
        columns={"ts": "ts_utc", "price": "price"},
        ts_format="iso",
        tz="UTC",
    ),
    "lean_es_minute": CsvLayout(
        kind="bars",
        columns={"ts": "ts_utc", **{k: k for k in ("open", "high", "low", "close", "volume")}},
        ts_format="iso",
        tz="UTC",
        stamps="open",
        symbol_column="contract",
    ),
    "mlfinlab_ticks": CsvLayout(
        kind="trades",
        columns={"ts": "Date and Time", "price": "Price", "size": "Volume"},
        ts_format="%Y/%m/%d %H:%M:%S.%f",
        tz="UTC",
    ),
}
