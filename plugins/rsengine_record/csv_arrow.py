"""``bars.csv`` text of many rows at once, assembled by pyarrow: the same
bytes as :func:`rsengine_record.csv_text.batch_text`, faster.

Every column becomes an Arrow string array whose cells carry their own
separator (``"5000.25,"``; the last column's ``"...\\n"``), so one
element-wise join in C++ lays the rows out and its data buffer is the text.
Float and integer cells are orjson's digits, cut at the commas orjson writes
(the same digits as ``csv_text``: repr's in the fixed-point range, ``repr``
itself for the rest); text is rendered once per distinct value. Needs pyarrow
and orjson (:func:`available`).
"""

from __future__ import annotations

import importlib

import numpy as np

from rsengine.model import iso_utc_many

from . import csv_text
from .table import BAR_FIELDS, FLAG_TEXT

COMMA, NEWLINE = ord(","), ord("\n")


def available() -> bool:
    try:
        importlib.import_module("pyarrow.compute")
    except ImportError:
        return False
    return csv_text.orjson is not None


class ArrowText:
    """``text(rows)``: the CSV lines of ``rows`` (``table.batch_rows``' form)."""

    def __init__(self, symbols: tuple, columns: tuple):
        self.pa = importlib.import_module("pyarrow")
        self.pc = importlib.import_module("pyarrow.compute")
        self.names = (*BAR_FIELDS[3:], *columns)
        fields = [csv_text._field(s).decode() for s in symbols]
        flags = [csv_text._field(t).decode() for t in FLAG_TEXT]
        self._symbols = self._choices(fields, ",")
        self._flags = {end: self._choices(flags, end) for end in ",\n"}
        self._bools = {end: self._choices(["0", "1"], end) for end in ",\n"}

    def text(self, rows: dict):
        """A buffer holding the lines, each ending in ``\\n``."""
        n = len(rows["ts_close"])
        cells = [
            self._stamps(rows["ts_open"]),
            self._stamps(rows["ts_close"]),
            self._symbols.take(rows["symbol"]),
        ]
        last = self.names[-1]
        for name in self.names:
            end = "\n" if name == last else ","
            cells.append(self._column(name, rows[name], n, end))
        if cells[-1].null_count:
            cells[-1] = self.pc.fill_null(cells[-1], "\n")
        lines = self.pc.binary_join_element_wise(
            *cells, "", null_handling="replace", null_replacement=","
        )
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, np.int32)[lines.offset : lines.offset + n + 1]
        return memoryview(data)[bounds[0] : bounds[-1]]

    def _column(self, name: str, value, n: int, end: str):
        if name == "flags":
            return self._flags[end].take(value)
        if value is None:
            return self.pa.nulls(n, self.pa.string())
        if value.dtype.kind == "b":
            return self._bools[end].take(value.view(np.uint8))
        kind = csv_text._numeric_kind(value)
        if kind == "f":
            return self._floats(value, end)
        if kind == "i":
            text = csv_text.orjson.dumps(value.astype(np.int64, copy=False), option=_NUMPY)
            return self._cut(text, n, end, None)
        return self._text(value, end)

    def _floats(self, value: np.ndarray, end: str):
        value = value.astype(np.float64, copy=False)  # float32's digits are float64's
        text = csv_text.orjson.dumps(value, option=_NUMPY)  # NaN as null: left out below
        nan = np.isnan(value)
        cells = self._cut(text, len(value), end, ~nan if nan.any() else None)
        magnitude = np.abs(value)
        odd = np.isinf(value) | ((magnitude < 1e-4) & (value != 0)) | (magnitude >= 1e16)
        if odd.any():  # orjson leaves the fixed-point range differently from repr
            odd_text = [repr(x) + end for x in value[odd].tolist()]
            cells = self.pc.replace_with_mask(cells, odd, self.pa.array(odd_text, self.pa.string()))
        return cells

    def _cut(self, text: bytes, n: int, end: str, valid):
        """orjson's ``[a,b,c]`` as the cells ``a,`` ``b,`` ``c,``; ``valid``
        (a boolean array or None) marks the cells that are not null."""
        data = np.frombuffer(text, np.uint8)[1:].copy()
        data[-1] = COMMA
        ends = np.flatnonzero(data == COMMA)
        if end == "\n":
            data[ends] = NEWLINE
        offsets = np.zeros(n + 1, np.int32)
        offsets[1:] = ends + 1
        pa = self.pa
        if valid is None:
            return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = n - int(np.count_nonzero(valid))
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, nulls
        )

    def _stamps(self, ts: np.ndarray):
        unique, inverse = np.unique(ts, return_inverse=True)
        return self._choices(iso_utc_many(unique), ",").take(inverse)

    def _text(self, value: np.ndarray, end: str):
        codes, fields = csv_text.text_codes(value)
        if codes is None:
            return self.pa.array([f.decode() + end for f in fields], self.pa.string())
        return self._choices([f.decode() for f in fields], end).take(codes)

    def _choices(self, fields: list, end: str):
        return self.pa.array([f + end for f in fields], self.pa.string())


_NUMPY = csv_text.orjson.OPT_SERIALIZE_NUMPY if csv_text.orjson is not None else 0
