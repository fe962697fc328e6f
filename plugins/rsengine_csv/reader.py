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

Files are streamed in blocks of whole lines (4 MiB) and never loaded whole.
Arrow's CSV parser splits a block and parses its numbers when it reads the
block as the rules below do; any other block (quoted fields, a damaged line)
goes through the :mod:`csv` module, which tells what is wrong with each line,
and so does a whole file in an encoding that is not ASCII compatible (both in
:mod:`rsengine_csv.split`: one physical line is always one row). Stamps are
parsed by :mod:`rsengine_csv.stamps`.

Bad rows (the full list, with the limits, is in docs/csv.md). A row is bad
when it has too few fields for the mapped columns (or a mapped field longer
than 256 characters), bytes that are not text in the layout's encoding,
quoting the csv module cannot read (a quote left open), a stamp that does not
parse (or does not exist, or is ambiguous, in the layout's zone), a value that
is not a finite number, a price not above 0 or above ``MAX_PRICE`` (with
``CsvLayout.signed``: beyond ``±MAX_PRICE``), a negative
size or volume or one above ``MAX_VOLUME``, ``high < low``, an open or close
outside ``[low, high]``, a stamp earlier than the previous good row's (equal
stamps are fine: ticks share stamps), or, for bars, the stamp of the bar
before (see ``duplicates`` in :func:`read`). With ``on_bad_row="stop"`` the
rows before the bad one are delivered and then :class:`CsvFormatError` is
raised, naming ``file:line:column``, the field, the offending text and what
was expected. With ``on_bad_row="skip"`` the row is dropped and counted in
:class:`ReadStats`. Problems with a whole file always raise, whatever
``on_bad_row`` says: a header that lacks a mapped column, a header row that
parses as data, an empty file with a header expected, a file whose first
stamp is earlier than the last stamp of the file before it (files must be
given in time order), and a file that cannot be read to its end (truncated or
corrupt gzip, a ``.gz`` name on plain text or the reverse, a folder).

Blank lines are counted (``FileStats.blank``) and otherwise ignored; rows of
another symbol than ``CsvLayout.symbol`` are counted as ``filtered``; identical
repeated bars dropped with ``duplicates="drop"`` as ``duplicates``; rows
without values dropped with ``CsvLayout.missing="skip"`` as ``missing``.
Nothing else is dropped: ``rows == delivered + skipped + filtered + duplicates
+ missing`` for every file that was read to its end.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import io
import itertools
import os
import types
import zlib
from collections.abc import Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import numpy as np

from .split import MAX_FIELD as _MAX_FIELD
from .split import (
    Raw,
    Texts,
    byte_of,
    first_not_text,
    not_text_problem,
    split_block,
    split_line,
    split_text,
    strings,
)
from .stamps import UNIX_FORMATS, Bad, StampFormat, Zone, format_ns
from .window import WindowCut

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
PRICES = ("price", "open", "high", "low", "close")
MAX_PRICE = 1e9  # a price above this is a bad row (index futures trade below 1e6)
MAX_VOLUME = 1e12  # a size or volume above this is a bad row (SPY's daily volume is ~1e8)
DUPLICATES = ("error", "drop")
MISSING = ("bad", "skip")  # CsvLayout.missing
_NAN_TEXTS = (b"", b"nan")  # a missing value, stripped and lowercased
AMBIGUOUS_MODES = ("raise", "earliest", "latest", "infer")
MAX_REASONS = 10  # skip messages kept per file

_INT64_MIN = np.iinfo(np.int64).min
_BLOCK_BYTES = 1 << 22  # bytes parsed at a time, whatever chunk_rows is
_BATCH_LINES = 65536  # rows parsed at a time through the csv module
_ASCII_COMPATIBLE = {"utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "cp1252"}
_BOM = codecs.BOM_UTF8
_QUOTE = '"'

# Bad-row kinds, as counted in FileStats.by_kind.
FIELDS, NUMBER, NON_FINITE, NEGATIVE, HIGH_LOW, ORDER = (
    "fields",
    "number",
    "non_finite",
    "negative",
    "high_low",
    "order",
)
NON_POSITIVE, TOO_LARGE, OPEN_CLOSE, DUPLICATE, ENCODING, QUOTE = (
    "non_positive",
    "too_large",
    "open_close",
    "duplicate",
    "encoding",
    "quote",
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

    def __init__(self, message, *, path, line=None, column=None, field=None, text=None, kind=None):
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
    ``delivered + skipped + filtered + duplicates + missing == rows`` once the
    file is read to its end (``duplicates``: identical repeated bars dropped;
    ``missing``: rows without values dropped, ``CsvLayout.missing="skip"``).
    ``by_kind`` counts skipped rows per bad-row kind; ``reasons`` keeps the first
    ``MAX_REASONS`` skip messages.
    """

    path: str
    rows: int = 0
    delivered: int = 0
    skipped: int = 0
    filtered: int = 0
    duplicates: int = 0
    missing: int = 0
    blank: int = 0
    by_kind: dict = attrs.Factory(dict)
    reasons: list = attrs.Factory(list)
    # with a window (see read): lines before it passed over unparsed; whether
    # reading stopped past its end (the rest of the file not read); the line
    # from which the file was read whole because its stamps were not in order
    passed: int = 0
    ended: bool = False
    unsorted: int | None = None


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
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def missing(self) -> int:
        return sum(f.missing for f in self.files)

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
    ``header``: True (the first line names the columns; a first line that
    parses as data is refused, suggesting ``header: false``), False, or
    ``"auto"`` (columns mapped by index; the first line is taken as a header
    when its stamp column does not parse and no mapped value is a number).
    ``decimal="," `` reads ``1234,5`` (a "." is accepted too).

    ``signed`` (False): prices may be 0 or negative, down to ``-MAX_PRICE``
    (market internals such as NYSE $TICK and $ADD are counts, not prices).
    ``missing``: what a row is whose price fields (``price``, or ``open``,
    ``high``, ``low`` and ``close``) are all empty or ``NaN``: ``"bad"`` (the
    default, a bad row) or ``"skip"``: a gap in the series, dropped and counted
    in ``FileStats.missing``, not validated (a TradingView export carries an
    indicator's columns as ``NaN`` where it has no value).

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
    header: bool | str = attrs.field(
        default=True, validator=attrs.validators.in_((True, False, "auto"))
    )
    decimal: str = attrs.field(default=".", validator=attrs.validators.in_((".", ",")))
    symbol_column: str | int | None = None
    symbol: str | None = None
    skip_rows: int = 0
    encoding: str = "utf-8"
    signed: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    missing: str = attrs.field(default="bad", validator=attrs.validators.in_(MISSING))

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
            if self.header is not True and not isinstance(ref, int):
                raise ValueError(
                    f"columns[{name!r}]: {ref!r} is a name but the file has no header"
                    f" (header: {str(self.header).lower()}); map it by 0-based index"
                )
        has_ts = "ts" in self.columns
        has_dt = ("date" in self.columns, "time" in self.columns)
        if has_ts and any(has_dt):
            raise ValueError("columns: map either 'ts' or 'date' + 'time', not both")
        if not has_ts and not all(has_dt):
            raise ValueError("columns: map 'ts' (or both 'date' and 'time')")
        missing = [
            f
            for f in VALUE_FIELDS[self.kind]
            if f not in OPTIONAL_DEFAULTS and f not in self.columns
        ]
        if missing:
            raise ValueError(f"columns: {self.kind} need {', '.join(map(repr, missing))}")
        if self.ts_format in UNIX_FORMATS and not has_ts:
            raise ValueError(f"ts_format {self.ts_format!r} needs a single 'ts' column")
        StampFormat(self.ts_format)  # raises on a bad format
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
            if self.header is not True and not isinstance(self.symbol_column, int):
                raise ValueError("symbol_column: the file may have no header; use a 0-based index")
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
        ``firstratedata``     bars   FirstRate Data intraday or daily files:
                                     ``2024-03-01 09:30:00,open,high,low,close,volume``
                                     (or a date alone), US/Eastern wall time without
                                     offset, bar-open stamps; a header row is
                                     recognised and skipped (``header: auto``).
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
# raw batches of lines
# ----------------------------------------------------------------------------------------------


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


def _exponent(value: float) -> str:
    """1e12 -> '1e12' (a power of ten, for messages)."""
    return f"1e{len(str(int(value))) - 1}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------------
# the reader
# ----------------------------------------------------------------------------------------------


def read(
    paths,
    layout: CsvLayout,
    chunk_rows: int = 65536,
    on_bad_row: str = "stop",
    duplicates: str = "error",
    window: tuple | None = None,
):
    """Stream ``paths`` (one path or a list, read in order) with ``layout``.

    Returns a :class:`CsvReader`: iterate it for :class:`Chunk` objects of up to
    ``chunk_rows`` rows (exactly ``chunk_rows`` except the last chunk of each
    file; a chunk never spans two files), then look at ``reader.stats``.
    ``duplicates`` (bars only): ``"error"`` makes a bar that repeats the stamp
    of the bar before a bad row; ``"drop"`` drops it when its values are the
    same too (counted in ``FileStats.duplicates``) and keeps it a bad row
    otherwise.

    ``window``: ``(lo, hi)`` ns UTC (either may be None), the stamps the
    caller wants. Lines stamped more than a day before ``lo`` are passed over
    unparsed (counted in ``FileStats.passed``, line numbers kept), and reading
    stops once a row at or after ``hi`` is delivered; rows around the window
    are still delivered, for the caller to mask. Rows inside it are the ones
    a whole read delivers, for files in time order. A file whose sampled
    stamps run backwards is read whole (``FileStats.unsorted``); so are
    files whose stamps are quoted, files in an encoding that is not ASCII
    compatible and layouts filtering by ``symbol``.
    """
    return CsvReader(
        paths,
        layout,
        chunk_rows=chunk_rows,
        on_bad_row=on_bad_row,
        duplicates=duplicates,
        window=window,
    )


class CsvReader:
    """An iterator over the chunks of one pass over the files; see :func:`read`.

    ``stats`` (:class:`ReadStats`) fills in as the files are read.
    """

    def __init__(
        self,
        paths,
        layout: CsvLayout,
        chunk_rows: int = 65536,
        on_bad_row: str = "stop",
        duplicates: str = "error",
        window: tuple | None = None,
    ):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        if not isinstance(layout, CsvLayout):
            raise TypeError(f"layout must be a CsvLayout, not {type(layout).__name__}")
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be an int >= 1, not {chunk_rows!r}")
        if on_bad_row not in ("stop", "skip"):
            raise ValueError(f"on_bad_row must be 'stop' or 'skip', not {on_bad_row!r}")
        if duplicates not in DUPLICATES:
            raise ValueError(f"duplicates must be 'error' or 'drop', not {duplicates!r}")
        self.layout = layout
        self.chunk_rows = chunk_rows
        self.skip = on_bad_row == "skip"
        self.duplicates = duplicates
        self._last_bar = None  # (ts, values, path, line) of the last bar delivered
        self.stats = ReadStats()
        self._format = StampFormat(layout.ts_format)
        self._zone = Zone(layout.tz, layout.tz_ambiguous)
        self._encoding = codecs.lookup(layout.encoding).name
        self._fields = [
            f for f in ("ts", "date", "time", *VALUE_FIELDS[layout.kind]) if f in layout.columns
        ]
        self._last_ts: int | None = None
        self._raw = None  # the open file on disk (compressed bytes for .gz)
        self._bytes_done = 0  # bytes of the files read to their end
        self._pending: list[dict] = []
        self._pending_n = 0
        lo, hi = window or (None, None)
        self._hi = hi
        self._cut = (
            None if window is None or layout.symbol is not None else WindowCut(lo, hi, self._key)
        )
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
            if self._past_window():
                stats.ended = True
                self._bytes_done += os.path.getsize(path)
                continue
            self._file_start = True
            self._line = 0  # the last line read
            try:
                for raw in self._batches(path, stats):
                    error = self._process(raw, path, stats)
                    yield from self._emit(path, final=error is not None)
                    if error is not None:
                        raise error
            except (EOFError, OSError, zlib.error) as exc:
                yield from self._emit(path, final=True)
                raise self._unreadable(path, exc) from None
            yield from self._emit(path, final=True)
            self._bytes_done += os.path.getsize(path)
            self._raw = None

    def _past_window(self) -> bool:
        """A row at or after the window's end is delivered: no later row can be
        in the window (it would be earlier than that row: a bad row)."""
        return self._hi is not None and self._last_ts is not None and self._last_ts >= self._hi

    def _key(self, line: bytes) -> int | None:
        """The stamp of one data line in ns (wall time as if UTC when it has no
        offset), or None when it does not parse; for :class:`WindowCut`."""
        fields = line.rstrip(b"\r\n").split(self.layout.delimiter.encode())
        idx = self._index
        try:
            text = (
                fields[idx["ts"]]
                if "ts" in idx
                else fields[idx["date"]] + b" " + fields[idx["time"]]
            )
            return self._format.parse_one(text.decode(self.layout.encoding))[0]
        except (IndexError, UnicodeDecodeError, Bad):
            return None

    def bytes_read(self) -> int:
        """Bytes of the files on disk read so far (compressed bytes for .gz),
        to tell progress by; the bytes buffered count as read."""
        at = 0
        if self._raw is not None:
            try:
                at = self._raw.tell()
            except (OSError, ValueError):  # closed meanwhile
                at = 0
        return self._bytes_done + at

    def _unreadable(self, path: str, exc: Exception) -> CsvFormatError:
        """A file that cannot be read to its end (truncated or not gzip, a folder...)."""
        where, after = f"{path}:{self._line + 1}", f"after line {self._line}"
        if isinstance(exc, EOFError):
            problem = (
                f"{where}: the gzip data ends early, {after}: the file is truncated"
                " (an interrupted download or copy?)"
            )
        elif isinstance(exc, gzip.BadGzipFile) and self._line == 0 and "gzipped" in str(exc):
            problem = (
                f"{path}: is not gzip data ({exc}); a file named .gz must be"
                " gzip-compressed: compress it, or drop .gz from its name"
            )
        elif isinstance(exc, (gzip.BadGzipFile, zlib.error)):
            problem = f"{where}: the gzip data is corrupt {after} ({exc})"
        else:
            problem = f"{path}: cannot be read: {exc.strerror or exc}"
        return CsvFormatError(problem, path=path, line=self._line + 1, kind="file")

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
                        path=path,
                        line=line,
                        field=field,
                        kind="header",
                    )
                index[field] = ref
                continue
            hits = [i for i, name in enumerate(names) if name == ref]
            stamp = None if hits else self._stamp_among(names, by_index=False)
            if stamp is not None:
                raise self._data_not_header(stamp, path, line)
            if not hits:
                raise CsvFormatError(
                    f"{path}:{line} ({field}): the header has no column {ref!r}"
                    f"{_closest(ref, names)} (columns: {', '.join(map(repr, names))})",
                    path=path,
                    line=line,
                    field=field,
                    text=ref,
                    kind="header",
                )
            if len(hits) > 1:
                raise CsvFormatError(
                    f"{path}:{line} ({field}): the header has {ref!r} {len(hits)} times"
                    f" (columns {', '.join(str(h + 1) for h in hits)}); map it by index",
                    path=path,
                    line=line,
                    field=field,
                    text=ref,
                    kind="header",
                )
            index[field] = hits[0]
        return index

    def _open(self, path):
        if path.endswith(".gz"):
            return gzip.open(path, "rb")
        fh = open(path, "rb")
        if fh.peek(2)[:2] == b"\x1f\x8b":
            fh.close()
            raise CsvFormatError(
                f"{path}: is gzip-compressed but its name does not end in .gz; rename it"
                " (or decompress it)",
                path=path,
                kind="file",
            )
        return fh

    def _header(self, text: str, path: str, line: int) -> list[str] | None:
        """The header line's names, or None when it is data (``header="auto"``)."""
        layout = self.layout
        at = first_not_text(text)
        if at is not None:
            raise CsvFormatError(
                f"{path}:{line}:{text[:at].count(layout.delimiter) + 1}: the header"
                f" {not_text_problem(byte_of(text[at]), layout.encoding)}",
                path=path,
                line=line,
                kind="header",
            )
        try:
            names = split_line(text.rstrip("\r\n"), layout.delimiter)
        except csv.Error as exc:
            raise CsvFormatError(
                f"{path}:{line}: the header has quoting the csv module cannot read ({exc})",
                path=path,
                line=line,
                kind="header",
            ) from None
        stamp = self._stamp_among(names, by_index=True)
        if layout.header == "auto":
            return None if stamp is not None or self._has_number(names) else names
        if stamp is not None:
            raise self._data_not_header(stamp, path, line)
        return names

    def _stamp_among(self, fields, by_index: bool):
        """The text of the stamp in ``fields`` (a line), or None when none parses.

        ``by_index``: look only where the layout's stamp columns are, when they
        are mapped by index; otherwise at every field.
        """
        cols = self.layout.columns
        refs = [cols["ts"]] if "ts" in cols else [cols["date"], cols["time"]]
        if all(isinstance(r, int) for r in refs):
            if not by_index or max(refs) >= len(fields):
                return None
            texts = [" ".join(fields[r] for r in refs)]
        elif by_index:
            return None
        else:
            texts = fields
        for text in texts:
            try:
                self._format.parse_one(text.strip())
                return text
            except Bad:
                continue
        return None

    def _has_number(self, fields) -> bool:
        for field in VALUE_FIELDS[self.layout.kind]:
            ref = self.layout.columns.get(field)
            if isinstance(ref, int) and ref < len(fields):
                try:
                    float(fields[ref].replace(self.layout.decimal, "."))
                    return True
                except ValueError:
                    pass
        return False

    def _data_not_header(self, stamp: str, path: str, line: int) -> CsvFormatError:
        return CsvFormatError(
            f"{path}:{line}: the header row looks like data ({_short(stamp)!r} is a stamp in"
            f" format {self.layout.ts_format!r}): the file seems to have no header row; set"
            " header: false (or header: auto)",
            path=path,
            line=line,
            text=stamp,
            kind="header",
        )

    def _head(self, path, next_line, bom):
        """Pass the ``skip_rows`` lines, read the header and map the columns.

        ``next_line()`` gives the next line (bytes or str), empty at the end;
        ``bom`` is the byte order mark in that type. -> (lines read, the first
        data line when it was read in place of a header, else empty).
        """
        layout, line_no, empty = self.layout, 0, bom[:0]
        for _ in range(layout.skip_rows):
            if not next_line():
                break
            line_no += 1
        names, first = None, empty
        if layout.header:
            first = next_line()
            if not first:
                raise CsvFormatError(
                    f"{path}:{line_no + 1}: the file ends before its header",
                    path=path,
                    line=line_no + 1,
                    kind="header",
                )
            if line_no == 0:
                first = first.removeprefix(bom)
            text = (
                first
                if isinstance(first, str)
                else first.decode(layout.encoding, "surrogateescape")
            )
            names = self._header(text, path, line_no + 1)
            if names is not None:
                line_no, first = line_no + 1, empty
        self._index = self._resolve(names, path, line_no or None)
        self._setup_columns()
        return line_no, first

    def _batches(self, path, stats: FileStats) -> Iterator[Raw]:
        layout = self.layout
        with self._open(path) as fh:
            self._raw = getattr(fh, "fileobj", fh)  # a GzipFile reads from .fileobj
            if self._encoding not in _ASCII_COMPATIBLE:
                text = io.TextIOWrapper(fh, layout.encoding, "surrogateescape", newline="")
                yield from self._csv_batches(path, text)
                return
            line_no, carry = self._head(path, fh.readline, _BOM)
            self._line = line_no
            start = (fh.tell(), line_no, carry)  # where the data begin, to read them again
            seeking = self._cut is not None and self._cut.lo is not None
            while True:
                if self._past_window():
                    stats.ended = True
                    return
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
                if seeking and self._last_ts is None:
                    skip, in_order = self._cut.before(block)
                    if not in_order:  # read the file whole, from its first data line
                        seeking, stats.unsorted = False, line_no + 1
                        if stats.passed:
                            fh.seek(start[0])
                            line_no, carry, stats.passed = start[1], start[2], 0
                            continue
                    elif skip:
                        passed = block.count(b"\n", 0, skip)
                        stats.passed += passed
                        line_no += passed
                        self._line = line_no
                        block = block[skip:]
                        if not block:
                            continue
                for part in self._parts(block):
                    if self._past_window():
                        stats.ended = True
                        return
                    raw = split_block(
                        part,
                        line_no,
                        self._needed,
                        self._numeric,
                        layout.delimiter,
                        layout.encoding,
                    )
                    line_no += raw.blank + len(raw.lines)
                    self._line = line_no
                    yield raw

    def _parts(self, block: bytes) -> list[bytes]:
        """The block, cut after the first line a margin past the window's end
        (so the reader can stop there without parsing the rest)."""
        cut = len(block) if self._cut is None else self._cut.end_cut(block)
        return [block] if cut >= len(block) else [block[:cut], block[cut:]]

    def _setup_columns(self):
        idx = self._index
        self._needed = sorted(set(idx.values()))
        self._max_idx = self._needed[-1]
        other = {j for f, j in idx.items() if f not in VALUE_FIELDS[self.layout.kind]}
        self._numeric = {j for j in self._needed if j not in other}

    def _csv_batches(self, path, text_lines) -> Iterator[Raw]:
        """Batches of a file decoded as a whole (encodings that are not ASCII
        compatible), through the csv module."""
        layout = self.layout
        line_no, first = self._head(path, lambda: next(text_lines, ""), "\ufeff")
        if first:
            text_lines = itertools.chain([first], text_lines)
        while True:
            lines = list(itertools.islice(text_lines, _BATCH_LINES))
            if not lines:
                return
            yield split_text(lines, line_no, self._needed, layout.delimiter, layout.encoding)
            line_no += len(lines)
            self._line = line_no

    # -- one batch --------------------------------------------------------------------------

    def _process(self, raw: Raw, path: str, stats: FileStats):
        """Parse and check one batch; queue its good rows; return the error to raise."""
        layout = self.layout
        enc = layout.encoding
        idx = self._index
        stats.blank += raw.blank
        n = len(raw.lines)
        filtered = None
        issues: dict[int, tuple] = {}  # row -> (field, text, problem, kind, column); first wins

        def flag(i, field, text, problem, kind, column=None):
            if i not in issues:
                issues[i] = (field, text, problem, kind, column)

        field_of = {j: f for f, j in idx.items()}
        for i, (j, text, problem, kind) in raw.broken.items():
            flag(i, field_of.get(j, f"column {j + 1}"), text, problem, kind, j + 1)
        short = raw.nfields <= self._max_idx
        for i in np.flatnonzero(short).tolist():
            nf = int(raw.nfields[i])
            field = min((f for f, j in idx.items() if j >= nf), key=idx.get)
            flag(
                i,
                field,
                _as_text(raw.texts[i], enc),
                f"has {nf} field{'s' * (nf != 1)}; expected at least {self._max_idx + 1}",
                FIELDS,
            )
        if raw.overlong:
            for i, j in raw.overlong.items():
                flag(
                    i,
                    field_of[j],
                    _as_text(raw.cols[j][i], enc),
                    f"is longer than {_MAX_FIELD} characters",
                    FIELDS,
                )

        cols = raw.cols
        rows = np.arange(n)
        gaps = self._gaps(cols) if layout.missing == "skip" else None
        if layout.symbol is not None or gaps is not None:
            keep = np.ones(n, bool)
            if layout.symbol is not None:
                sym = cols[idx["symbol"]]
                want = layout.symbol.encode(enc) if sym.dtype.kind == "S" else layout.symbol
                keep = sym == want
                keep[list(issues)] = True  # rows too broken to filter stay bad rows
                filtered = ~keep
            if gaps is not None:
                gaps &= keep  # a row of another symbol is filtered, not missing
                gaps[list(issues)] = False
                keep &= ~gaps
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
            stamp_col = np.strings.add(np.strings.add(cols[idx["date"]], space), cols[idx["time"]])
        ts_field = "ts" if "ts" in idx else "date+time"
        ns, has_off, ok = self._format.parse_many(stamp_col)
        for i in np.flatnonzero(~ok).tolist():
            if i in issues:
                continue
            text = _as_text(stamp_col[i], enc)
            try:
                ns[i], has_off[i] = self._format.parse_one(text)
            except Bad as bad:
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
                flag(
                    i, "high", hi_text, f"is below low {lo_text!r}; expected high >= low", HIGH_LOW
                )
            for field in ("open", "close"):
                v = values[field]
                for i in np.flatnonzero((v < low) | (v > high)).tolist():
                    lo_text = _as_text(cols[idx["low"]][i], enc)
                    hi_text = _as_text(cols[idx["high"]][i], enc)
                    flag(
                        i,
                        field,
                        _as_text(cols[idx[field]][i], enc),
                        f"is outside the bar's range low {lo_text!r} .. high {hi_text!r};"
                        f" expected low <= {field} <= high",
                        OPEN_CLOSE,
                    )

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
                        f" {format_ns(ns[first])} is earlier than the last stamp"
                        f" {format_ns(self._last_ts)} of the file before; files must be"
                        " given in time order",
                        path=path,
                        line=line,
                        column=col,
                        field=ts_field,
                        text=text,
                        kind="file_order",
                    )
            self._file_start = False
        prev = self._last_ts if self._last_ts is not None else _INT64_MIN
        t = ns[good_rows]
        if len(t):
            running = np.maximum.accumulate(np.concatenate([[prev], t[:-1]]))
            for k in np.flatnonzero(t < running).tolist():
                i = int(good_rows[k])
                flag(
                    i,
                    ts_field,
                    _as_text(stamp_col[i], enc),
                    f"= {format_ns(t[k])} is earlier than the previous row's stamp"
                    f" {format_ns(running[k])}; expected stamps in time order",
                    ORDER,
                )

        dropped = (
            self._duplicates(ns, values, stamp_col, issues, flag, path, raw, rows)
            if layout.kind == "bars"
            else ()
        )

        # deliver
        error = None
        bad = np.zeros(m, bool)
        bad[list(issues)] = True
        bad[list(dropped)] = True
        end = m
        if issues and not self.skip:
            end = min(issues)
            error = self._error(path, raw, rows, end, issues[end])
            n = int(rows[end]) + 1  # the rows after the bad one are not read
        for i in sorted(issues) if self.skip else ():
            kind = issues[i][3]
            stats.skipped += 1
            stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
            if len(stats.reasons) < MAX_REASONS:
                stats.reasons.append(str(self._error(path, raw, rows, i, issues[i])))
        stats.duplicates += sum(1 for i in dropped if i < end)
        stats.rows += n
        if filtered is not None:
            stats.filtered += int(filtered[:n].sum())
        if gaps is not None:
            stats.missing += int(gaps[:n].sum())
        keep = None if end == m and not bad.any() else np.flatnonzero(~bad[:end])
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
            if layout.kind == "bars":
                k = delivered - 1 if keep is None else int(keep[-1])
                self._last_bar = (
                    int(ns[k]),
                    self._bar_values(values, k),
                    path,
                    int(raw.lines[rows[k]]),
                )
        return error

    def _bar_values(self, values, k) -> tuple:
        return tuple(float(values[f][k]) for f in VALUE_FIELDS["bars"])

    def _duplicates(self, ns, values, stamp_col, issues, flag, path, raw, rows) -> list:
        """Flag bars that repeat the stamp of the bar before; -> identical repeats to drop.

        A repeat is compared with the first bar of its stamp (the one kept). With
        ``duplicates="drop"`` a repeat with the same values is dropped (counted in
        ``FileStats.duplicates``); any other repeat is a bad row.
        """
        mask = np.ones(len(ns), bool)
        mask[list(issues)] = False
        good = np.flatnonzero(mask)
        if not len(good):
            return []
        t = ns[good]
        last = self._last_bar
        before = np.concatenate([[last[0] if last else _INT64_MIN], t[:-1]])
        first = np.maximum.accumulate(np.where(t != before, np.arange(len(t)), -1))
        dropped = []
        for k in np.flatnonzero(t == before).tolist():
            r = int(first[k])
            if r < 0:  # the kept bar is the last one delivered before this batch
                ref_values, ref_path, ref_line = last[1:]
            else:
                ref = int(good[r])
                ref_values = self._bar_values(values, ref)
                ref_path, ref_line = path, int(raw.lines[rows[ref]])
            i = int(good[k])
            where = f"line {ref_line}" if ref_path == path else f"{ref_path}:{ref_line}"
            same = self._bar_values(values, i) == ref_values
            if same and self.duplicates == "drop":
                dropped.append(i)
                continue
            problem = (
                f"repeats the stamp of the bar at {where} with the same values (a duplicated"
                " row); expected one row per bar, or set duplicates: drop"
                if same
                else f"repeats the stamp of the bar at {where} with other values; expected one"
                " row per bar"
            )
            flag(
                i,
                "date+time" if "date" in self._index else "ts",
                _as_text(stamp_col[i], self.layout.encoding),
                problem,
                DUPLICATE,
            )
        return dropped

    def _gaps(self, cols) -> np.ndarray:
        """Rows whose mapped price fields are all empty or NaN (``missing="skip"``)."""
        gap = None
        for field in PRICES:
            if field not in self._index:
                continue
            col = strings(cols[self._index[field]])
            text = np.strings.lower(np.strings.strip(col))
            nan = _NAN_TEXTS if col.dtype.kind == "S" else [b.decode() for b in _NAN_TEXTS]
            none = (text == nan[0]) | (text == nan[1])
            gap = none if gap is None else gap & none
        return gap

    def _numbers(self, col, field: str, flag) -> np.ndarray:
        enc = self.layout.encoding
        values = col.floats(self.layout.decimal) if isinstance(col, Texts) else None
        if values is None:
            values = self._floats(strings(col), field, flag)
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            flag(i, field, _as_text(col[i], enc), "is not a finite number", NON_FINITE)
        if field in NON_NEGATIVE:
            low, cap, low_kind = values < 0, MAX_VOLUME, NEGATIVE
            low_problem = f"is negative; expected a {field} >= 0"
        elif self.layout.signed:  # a reading such as $TICK: any sign, not beyond the cap
            low, cap, low_kind = values < -MAX_PRICE, MAX_PRICE, TOO_LARGE
            low_problem = f"is too large; expected a value >= -{_exponent(MAX_PRICE)}"
        else:
            low, cap, low_kind = values <= 0, MAX_PRICE, NON_POSITIVE
            low_problem = "is not a positive price; expected a price > 0"
        for i in np.flatnonzero(low).tolist():
            flag(i, field, _as_text(col[i], enc), low_problem, low_kind)
        for i in np.flatnonzero(np.isfinite(values) & (values > cap)).tolist():
            flag(
                i,
                field,
                _as_text(col[i], enc),
                f"is too large; expected a {field} <= {_exponent(cap)}",
                TOO_LARGE,
            )
        return values

    def _floats(self, col: np.ndarray, field: str, flag) -> np.ndarray:
        """Text fields as numbers: numpy for the column, ``float()`` one at a time
        when some field is not a number (flagged, NaN)."""
        parsed = col
        if self.layout.decimal == ",":
            comma, dot = (b",", b".") if col.dtype.kind == "S" else (",", ".")
            parsed = np.strings.replace(col, comma, dot)
        try:
            return parsed.astype(np.float64)
        except (ValueError, OverflowError):
            pass
        values = np.empty(len(col))
        for i, text in enumerate(parsed.tolist()):
            try:
                values[i] = float(text)
            except ValueError:
                values[i] = np.nan
                flag(i, field, _as_text(col[i], self.layout.encoding), "is not a number", NUMBER)
        return values

    def _error(self, path, raw, rows, i, issue) -> CsvFormatError:
        field, text, problem, kind, col = issue
        line = int(raw.lines[rows[i]])
        if col is None:
            col = self._index["date" if field == "date+time" else field] + 1
        return CsvFormatError(
            f"{path}:{line}:{col} ({field}): {_short(text)!r} {problem}",
            path=path,
            line=line,
            column=col,
            field=field,
            text=text,
            kind=kind,
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
    "firstratedata": CsvLayout(
        kind="bars",
        columns={"ts": 0, **_OHLCV, "volume": 5},
        ts_format="iso",
        tz="America/New_York",
        tz_ambiguous="infer",
        stamps="open",
        header="auto",
    ),
    "barchart_hourly": CsvLayout(
        kind="bars",
        columns={
            "ts": "Time",
            "open": "Open",
            "high": "High",
            "low": "Low",
            "close": "Close",
            "volume": "Volume",
        },
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
