"""``bars.csv`` text of a whole batch at once.

The text is what ``csv.writer`` writes of today's cells: floats in Python's
shortest round-trip form (``repr``), NaN an empty field, booleans ``1``/``0``,
integers as integers, text as is (``None`` empty, quoted where the csv module
quotes), stamps ISO-8601 UTC.

Consecutive numeric columns of one kind are written as one block: with orjson
installed, its shortest round-trip (Ryu) digits, which are ``repr``'s in the
fixed-point range (1e-4 <= |x| < 1e16, and 0); a row holding a value outside
that range, or an infinity, is written with ``repr``. Without orjson every
block is written with ``repr``: the same bytes, slower. Text columns are
rendered once per distinct value.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from rsengine.model import iso_utc_many

from .table import BAR_FIELDS, FLAG_TEXT

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

FLAG_BYTES = np.array([t.encode() for t in FLAG_TEXT], dtype=object)


def header(columns: tuple) -> bytes:
    return _csv_line((*BAR_FIELDS, *columns)).encode("utf-8")


def batch_text(rows: dict, symbols: tuple, columns: tuple) -> bytes:
    """The CSV lines (each ending in ``\\n``) of a batch's rows, as
    :func:`rsengine_record.table.batch_rows` gives them."""
    n = len(rows["ts_close"])
    symbol_text = np.array([_field(s) for s in symbols], dtype=object)
    parts = [
        _stamps(rows["ts_open"]),
        _stamps(rows["ts_close"]),
        symbol_text[rows["symbol"]].tolist(),
    ]
    block: list = []  # the numeric columns waiting to be written together
    for name in (*BAR_FIELDS[3:], *columns):
        value = rows[name]
        if name == "flags":
            value = FLAG_BYTES[value].tolist()
        elif value is None:
            value = [b""] * n
        kind = _numeric_kind(value)
        if block and kind != block[0][0]:
            parts.append(_block(block))
            block = []
        if kind:
            block.append((kind, value))
        else:
            parts.append(_text_cells(value))
    if block:
        parts.append(_block(block))
    return b"\n".join(map(b",".join, zip(*parts, strict=True))) + b"\n"


def _numeric_kind(value) -> str | None:
    if not isinstance(value, np.ndarray):
        return None
    if value.dtype.kind == "f":
        return "f"
    if value.dtype.kind == "b" or value.dtype.kind in "iu" and _fits_int64(value):
        return "i"
    return None


def _fits_int64(value) -> bool:
    return value.dtype.kind == "i" or not len(value) or int(value.max()) < 2**63


def _block(block: list) -> list[bytes]:
    """Each row's cells of consecutive numeric columns of one kind, joined
    by commas."""
    kind = block[0][0]
    dtype = np.float64 if kind == "f" else np.int64
    values = np.column_stack([v.astype(dtype, copy=False) for _, v in block])
    if orjson is None:
        return _rows_by_repr(values)
    text = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2]
    if kind == "i":
        return text.split(b"],[")
    lines = text.replace(b"null", b"").split(b"],[")
    # orjson writes an infinity as null and leaves the fixed-point range
    # differently from repr: those rows go through repr
    magnitude = np.abs(values)
    odd = np.isinf(values) | ((magnitude < 1e-4) & (values != 0)) | (magnitude >= 1e16)
    for j in np.flatnonzero(odd.any(axis=1)).tolist():
        lines[j] = _rows_by_repr(values[j : j + 1])[0]
    return lines


def _rows_by_repr(values: np.ndarray) -> list[bytes]:
    if values.dtype.kind == "f":
        cells = [",".join("" if x != x else repr(x) for x in row) for row in values.tolist()]
    else:
        cells = [",".join(map(str, row)) for row in values.tolist()]
    return [c.encode() for c in cells]


def _stamps(ts) -> list[bytes]:
    unique, inverse = np.unique(ts, return_inverse=True)
    text = np.array([t.encode() for t in iso_utc_many(unique)], dtype=object)
    return text[inverse].tolist()


def _text_cells(values) -> list[bytes]:
    """Cells of a column that is not numeric: text, ``None``, other objects."""
    if isinstance(values, list):  # already rendered (flags, a missing column)
        return values
    codes, fields = text_codes(values)
    if codes is None:
        return fields
    return np.array(fields, dtype=object)[codes].tolist()


def text_codes(values: np.ndarray) -> tuple:
    """``(codes, fields)``: the fields of a column that is not numeric, each
    distinct text rendered once (``fields[codes[i]]`` is row i's; ``None`` and
    NaN the last, empty); ``(None, fields)``, one a row, for a column that
    holds more than text."""
    if values.dtype.kind in "OU" and pd.api.types.infer_dtype(values, skipna=True) in (
        "string",
        "empty",
    ):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        codes[codes < 0] = len(uniques)
        return codes, [*(_field(u) for u in uniques), b""]
    return None, [_field(cell_text(x)) for x in values.tolist()]


def cell_text(x) -> str:
    """The text of one cell of a column that is neither numeric nor all text."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, float | np.floating):
        return "" if x != x else repr(float(x))
    if isinstance(x, bool | np.bool_):
        return "1" if x else "0"
    return str(x)


def _field(text: str) -> bytes:
    """One field as the csv module writes it (quoted only where needed)."""
    if not text:
        return b""
    return _csv_line((text,)).encode("utf-8")


def _csv_line(fields) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()
