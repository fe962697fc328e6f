"""Split lines of a CSV file into fields: one batch of rows at a time.

Two ways, same result (:class:`Raw`): :func:`split_block` hands a block of
bytes to Arrow's CSV parser when Arrow reads it exactly as the rules below say
(no quotes, every line text, each row as many fields as the block's first,
no lone carriage return, no mapped field over ``MAX_FIELD``), and otherwise to
:func:`split_text`, which splits decoded lines with the :mod:`csv` module and
says what is wrong with each line. Either way one physical line is one row: a
quoted field cannot span lines, so a quote left open breaks only its own line.
Lines that cannot be read as text (bytes that are not valid in the file's
encoding, NUL bytes) or whose quoting the csv module refuses are returned in
``Raw.broken`` with the 0-based field and the problem; the reader makes them
bad rows.

Arrow returns the number columns as :class:`Texts` (Arrow parses them; a
field's text is looked up only for a message), the others as numpy bytes.
"""

from __future__ import annotations

import csv
import re

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

MAX_FIELD = 256  # a mapped field longer than this is a bad row (keeps batches small)

# what text decoded with errors="surrogateescape" holds where a byte was not text
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")


@attrs.define(eq=False)
class Raw:
    """One batch of non-blank rows, split into the needed columns (string arrays)."""

    cols: dict  # file column index -> np.ndarray of S or U, or Texts
    nfields: np.ndarray
    lines: np.ndarray  # the line number of each row
    texts: object  # sequence: the row as written (for messages)
    blank: int
    overlong: dict  # row -> file column index of a field longer than MAX_FIELD
    broken: dict = attrs.Factory(dict)  # row -> (field index, its text, problem, kind)


class Texts:
    """A column of fields as Arrow binary: Arrow parses them to numbers; one
    field's text (bytes) is looked up only for a message."""

    def __init__(self, array: pa.Array):
        self.array = array

    def __getitem__(self, i):
        if isinstance(i, np.ndarray):
            return Texts(self.array.take(i))
        return self.array[int(i)].as_py()

    def floats(self, decimal: str) -> np.ndarray | None:
        """The fields as float64, or None when one of them is not a number as Arrow
        reads it (Arrow takes a subset of what ``float()`` takes, to the same value)."""
        array = self.array if decimal == "." else pc.replace_substring(self.array, ",", ".")
        try:
            return pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False, writable=True)
        except pa.ArrowInvalid:
            return None


def strings(col) -> np.ndarray:
    """A column as a numpy string array."""
    return fixed_width(col.array) if isinstance(col, Texts) else col


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


# ----------------------------------------------------------------------------------------------
# blocks Arrow can read
# ----------------------------------------------------------------------------------------------


def fixed_width(array: pa.Array) -> np.ndarray:
    """An Arrow binary array as a numpy bytes array (a view of its data when
    every field has the same length)."""
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int32, len(array) + 1, array.offset * 4)
    width = offsets[1] - offsets[0] if len(array) else 0
    if width and offsets[-1] - offsets[0] == width * len(array):
        if (np.diff(offsets) == width).all():
            return np.frombuffer(data, f"S{width}", len(array), offsets[0])
    return array.to_numpy(zero_copy_only=False).astype("S")


def split_block(block: bytes, line_no: int, needed, numeric, delimiter: str, encoding: str) -> Raw:
    """Split a block of whole lines (each ending in \\n); ``line_no`` is the
    number of the line before the block, ``needed`` the 0-based columns to keep
    and ``numeric`` those of them to return as :class:`Texts`."""
    raw = _by_arrow(block, line_no, needed, numeric, delimiter, encoding)
    if raw is None:
        lines = block.decode(encoding, "surrogateescape").split("\n")[:-1]
        raw = split_text(lines, line_no, needed, delimiter, encoding)
    return raw


def _by_arrow(block: bytes, line_no, needed, numeric, delimiter, encoding) -> Raw | None:
    """The block split by Arrow, or None when Arrow would not read it as the
    rules say (then the csv module tells what is wrong, line by line)."""
    if not delimiter.isascii() or b'"' in block or b"\0" in block:
        return None
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None  # Arrow would end a line at a lone \r
    if not block.isascii():
        try:
            block.decode(encoding)
        except UnicodeDecodeError:
            return None
    body = block.lstrip(b"\r\n")
    ncols = body[: body.find(b"\n")].count(delimiter.encode()) + 1
    if ncols <= max(needed):
        return None
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(block),
            read_options=pa_csv.ReadOptions(
                use_threads=False, column_names=[str(j) for j in range(ncols)]
            ),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={str(j): pa.binary() for j in needed},
                include_columns=[str(j) for j in needed],
                null_values=[],
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # a row with another number of fields
        return None
    n = table.num_rows
    blank = block.count(b"\n") - n  # Arrow leaves out blank lines
    rows = np.arange(n)
    if blank:
        buf = np.frombuffer(block, np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.concatenate([[0], ends[:-1] + 1])
        rows = np.flatnonzero((ends > starts) & ((ends > starts + 1) | (buf[starts] != 13)))
        if len(rows) != n:  # Arrow took other lines for blank than the rules do
            return None
    cols = {}
    for j in needed:
        array = table.column(str(j)).combine_chunks()
        if n and pc.max(pc.binary_length(array)).as_py() > MAX_FIELD:
            return None
        cols[j] = Texts(array) if j in numeric else fixed_width(array)
    return Raw(cols, np.full(n, ncols), line_no + 1 + rows, (), blank, {})


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
    rows = []
    for i, line in enumerate(lines):
        text = line.removesuffix("\n").removesuffix("\r")
        if '"' not in text:  # as written: a \r inside the line stays in its field
            rows.append(text.split(delimiter) if text else [])
            continue
        try:
            rows.append(split_line(text, delimiter))
        except csv.Error as exc:
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
                field = field.encode(encoding, "surrogateescape").decode(encoding, "replace")
                problem = not_text_problem(byte_of(line[at]), encoding)
                broken[i] = (j, field, problem, "encoding")
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
