"""Split lines of a CSV file into fields: one batch of rows at a time.

Two ways, same result (:class:`Raw`): :func:`split_block` splits a block of
bytes without quotes with numpy (the fast path); :func:`split_text` splits
decoded lines with the :mod:`csv` module. Either way one physical line is one
row: a quoted field cannot span lines, so a quote left open breaks only its own
line. Lines that cannot be read as text (bytes that are not valid in the
file's encoding, NUL bytes) or whose quoting the csv module refuses are
returned in ``Raw.broken`` with the 0-based field and the problem; the reader
makes them bad rows.
"""

from __future__ import annotations

import csv
import re

import attrs
import numpy as np

MAX_FIELD = 256  # a mapped field longer than this is a bad row (keeps batches small)

# what text decoded with errors="surrogateescape" holds where a byte was not text
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")


@attrs.define(eq=False)
class Raw:
    """One batch of non-blank rows, split into the needed columns (string arrays)."""

    cols: dict  # file column index -> np.ndarray of S or U
    nfields: np.ndarray
    lines: np.ndarray  # the line number of each row
    texts: object  # sequence: the row as written (for messages)
    blank: int
    overlong: dict  # row -> file column index of a field longer than MAX_FIELD
    broken: dict = attrs.Factory(dict)  # row -> (field index, its text, problem, kind)


class Lines:
    """The rows of a block of bytes, by index, as written."""

    def __init__(self, block, starts, ends):
        self.block, self.starts, self.ends = block, starts, ends

    def __getitem__(self, i):
        return self.block[int(self.starts[i]) : int(self.ends[i])]


def not_text_problem(byte: int, encoding: str) -> str:
    if byte == 0:
        return (
            "has a NUL byte; expected text (a binary file, or UTF-16 text? set the"
            " layout's encoding)"
        )
    return (
        f"has the byte 0x{byte:02x}, which is not {encoding} text; expected a text file"
        f" in {encoding} (a binary or compressed file? another encoding? set the"
        " layout's encoding)"
    )


def first_not_text(text: str) -> int | None:
    """Index of the first character of ``text`` (decoded with surrogateescape)
    that was not text, or None."""
    hit = _NOT_TEXT.search(text)
    return None if hit is None else hit.start()


def byte_of(char: str) -> int:
    """The byte a surrogateescape character (or NUL) stands for."""
    return 0 if char == "\x00" else ord(char) - 0xDC00


def shown(text: str) -> str:
    """``text`` with the characters that were not text replaced, for messages."""
    return _NOT_TEXT.sub("\ufffd", text)


def _not_text(j: int, field: str, char: str, encoding: str) -> tuple:
    """A ``Raw.broken`` entry: field ``j`` holds ``char``, which was not text."""
    return j, field, not_text_problem(byte_of(char), encoding), "encoding"


def gather(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``buf[starts[i]:ends[i]]`` for every i, as one fixed-width bytes array."""
    width = max(int((ends - starts).max(initial=0)), 1)
    pos = starts[:, None] + np.arange(width)
    inside = pos < ends[:, None]
    mat = np.where(inside, buf[np.minimum(pos, len(buf) - 1)], 0).astype(np.uint8)
    return mat.view(f"S{width}").ravel()


# ----------------------------------------------------------------------------------------------
# bytes without quotes
# ----------------------------------------------------------------------------------------------


def split_block(block: bytes, line_no: int, needed, delimiter: str, encoding: str) -> Raw:
    """Split a block of whole lines (each ending in \\n) without a Python loop.

    ``line_no`` is the number of the line before the block; ``needed`` the
    0-based columns to keep.
    """
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
    delims = np.flatnonzero(buf == ord(delimiter))
    first = np.searchsorted(delims, starts)
    nfields = np.searchsorted(delims, ends) - first + 1
    cols, overlong = {}, {}
    last = len(delims)
    bounds = np.append(delims, len(buf))  # bounds[last] keeps clipped indices valid
    for j in needed:
        has = nfields > j
        a = starts if j == 0 else bounds[np.minimum(first + j - 1, last)] + 1
        b = np.where(nfields - 1 > j, bounds[np.minimum(first + j, last)], ends)
        a = np.where(has, a, ends)
        b = np.where(has, b, ends)
        long = np.flatnonzero(b - a > MAX_FIELD)
        for i in long.tolist():
            overlong.setdefault(i, j)
        if len(long):
            b = np.minimum(b, a + MAX_FIELD)
        cols[j] = gather(buf, a, b)
    lines = Lines(block, starts, ends)
    broken = _not_text_rows(block, buf, lines, delimiter, encoding)
    return Raw(cols, nfields, numbers, lines, n_blank, overlong, broken)


def _not_text_rows(block: bytes, buf, lines: Lines, delimiter: str, encoding: str) -> dict:
    """row -> (field, text, problem, kind) for the rows holding bytes that are not text."""
    if block.isascii() and b"\0" not in block:
        return {}
    try:
        block.decode(encoding)
        suspects = np.flatnonzero(buf == 0)
    except UnicodeDecodeError:
        suspects = np.flatnonzero((buf >= 0x80) | (buf == 0))
    broken = {}
    delim = delimiter.encode()
    for i in np.unique(np.searchsorted(lines.ends, suspects, side="right")).tolist():
        line = lines[i]
        text = line.decode(encoding, "surrogateescape")
        at = first_not_text(text)
        if at is None:
            continue
        prefix = text[:at]
        j = prefix.count(delimiter)
        field = line.split(delim)[j].decode(encoding, "replace")
        broken[i] = _not_text(j, field, text[at], encoding)
    return broken


# ----------------------------------------------------------------------------------------------
# text through the csv module
# ----------------------------------------------------------------------------------------------


def split_line(text: str, delimiter: str) -> list[str]:
    """One line's fields; raises :class:`csv.Error` for quoting it cannot read."""
    return next(csv.reader([text], delimiter=delimiter, strict=True), [])


def _field_at(text: str, pos: int, delimiter: str) -> tuple[int, int]:
    """(0-based field, index where it starts) of character ``pos`` of a line,
    counting only delimiters outside quotes."""
    field, start, quoted = 0, 0, False
    for k, char in enumerate(text[:pos]):
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            field, start = field + 1, k + 1
    return field, start


def _quote_problem(exc: csv.Error) -> str:
    return (
        f"has quoting the csv module cannot read ({exc}); expected every quoted field"
        " to close on its own line, followed by the delimiter"
    )


def split_text(lines: list[str], line_no: int, needed, delimiter: str, encoding: str) -> Raw:
    """Split decoded lines (``line_no`` is the number of the line before them)."""
    broken = {}
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        rows = None
    if rows is None or len(rows) != len(lines):  # a quote left open: line by line
        rows = []
        for i, line in enumerate(lines):
            try:
                rows.append(split_line(line, delimiter))
            except csv.Error as exc:
                text = line.rstrip("\r\n")
                rows.append(text.split(delimiter))
                j, start = _field_at(text, text.rfind('"'), delimiter)
                broken[i] = (j, shown(text[start:]), _quote_problem(exc), "quote")
    starts = line_no + 1 + np.arange(len(rows), dtype=np.int64)
    joined = "".join(lines)
    if (not joined.isascii() or "\x00" in joined) and first_not_text(joined) is not None:
        for i, line in enumerate(lines):
            at = first_not_text(line)
            if at is not None and i not in broken:
                j = _field_at(line, at, delimiter)[0]
                field = rows[i][j] if j < len(rows[i]) else ""
                broken[i] = _not_text(j, shown(field), line[at], encoding)
    keep = [i for i, r in enumerate(rows) if r]
    n_blank = len(rows) - len(keep)
    if n_blank:
        rows = [rows[i] for i in keep]
        starts = starts[keep]
        renumber = {old: new for new, old in enumerate(keep)}
        broken = {renumber[i]: v for i, v in broken.items()}
    nfields = np.fromiter(map(len, rows), np.int64, len(rows))
    cols, overlong = {}, {}
    for j in needed:
        values = [r[j] if len(r) > j else "" for r in rows]
        if max(map(len, values), default=0) > MAX_FIELD:
            for i, v in enumerate(values):
                if len(v) > MAX_FIELD:
                    overlong.setdefault(i, j)
                    values[i] = v[:MAX_FIELD]
        cols[j] = np.array([shown(v) for v in values] if broken else values, dtype=str)
    texts = (
        [shown(delimiter.join(r)) for r in rows] if broken else [delimiter.join(r) for r in rows]
    )
    return Raw(cols, nfields, starts, texts, n_blank, overlong, broken)
