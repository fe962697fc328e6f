"""The two ways ``bars`` are written: one ``bars.csv``, or a Parquet folder
``bars/session_month=YYYY-MM/part-0.parquet`` (hive-style partitions, one
file per calendar month of session dates).

Each writer has ``name`` (its entry in the record folder), ``open(folder)``,
``write(rows)`` with the rows of one batch (``table.batch_rows``) and
``close()``. Both copy each batch and hand many batches at a time to a
thread of their own, which turns them into text or a Parquet file and writes
it, in order.
"""

from __future__ import annotations

import importlib
import queue
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from rsengine.exchange.sessions import session_date_of
from rsengine.files import sync

from . import csv_arrow, csv_text
from .table import FLAG_TEXT, copy_rows, join_rows, signature

FLUSH_ROWS = 16_384  # rows handed to the CSV writer's thread at a time (many batches)
SYNC_BYTES = 32 << 20  # bars.csv is synced to disk every this many bytes
PARQUET_OPTIONS = {
    "compression": "snappy",
    # min/max per file for the columns a reader filters by; the others' cost
    # about as much to gather as they save
    "write_statistics": ["ts_open", "ts_close", "symbol", "session_date"],
}


def import_pyarrow():
    """``(pyarrow, pyarrow.parquet)``; raises ImportError when not installed."""
    return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")


class CsvBars:
    name = "bars.csv"

    def __init__(self, symbols: tuple, columns: tuple):
        self.symbols, self.columns = symbols, columns
        self._arrow = csv_arrow.ArrowText(symbols, columns) if csv_arrow.available() else None
        self._pending: list = []
        self._rows, self._signature = 0, None

    def open(self, folder: Path) -> None:
        self._file = open(folder / self.name, "wb")  # noqa: SIM115
        self._file.write(csv_text.header(self.columns) + b"\n")
        self._thread = FileThread(self._write_text, "record-csv")
        self._unsynced = 0

    def write(self, rows: dict) -> None:
        kinds = signature(rows)
        if self._pending and (kinds != self._signature or self._rows >= FLUSH_ROWS):
            self._flush()  # an int column turned float is written as its own part
        self._signature = kinds
        self._pending.append(copy_rows(rows))
        self._rows += len(rows["ts_close"])

    def close(self) -> None:
        try:
            self._flush()
            self._thread.close()
            sync(self._file)
        finally:
            self._file.close()

    def text(self, rows: dict):
        """The lines of ``rows``: through pyarrow where installed, the same
        bytes either way."""
        if self._arrow is not None:
            return self._arrow.text(rows)
        return csv_text.batch_text(rows, self.symbols, self.columns)

    def _flush(self) -> None:
        """Renders the rows waiting (here: work that holds the GIL would only
        make the two threads take turns); the thread writes the text."""
        if not self._pending:
            return
        rows = join_rows(self._pending)
        self._pending, self._rows = [], 0
        n, step = len(rows["ts_close"]), 8 * FLUSH_ROWS  # one text stays well under 2 GiB
        for start in range(0, n, step):
            part = rows if n <= step else {k: _cut(v, start, step) for k, v in rows.items()}
            self._thread.put(self.text(part))

    def _write_text(self, text) -> None:
        self._unsynced += self._file.write(text)
        if self._unsynced >= SYNC_BYTES:  # to disk while the run goes on, not all at the end
            sync(self._file)
            self._unsynced = 0


class ParquetBars:
    """Typed columns: stamps as ``timestamp[ns, UTC]`` (int64 ns), prices,
    volume and float values as float64 (NaN kept), trades and integer values
    as int64, flags like ``bars.csv`` as text, booleans as bool, text as
    string (null for ``None``), and ``session_date`` (date32) last. One file
    per month of session dates, written in one go with one row group: its
    bytes do not depend on how the sessions were cut into batches."""

    name = "bars"

    def __init__(self, symbols: tuple, columns: tuple, tz: str):
        self.pa, self.pq = import_pyarrow()
        self.symbols, self.columns, self.tz = symbols, columns, tz
        self.types: dict = {}  # column -> arrow type, fixed by its first values
        self._month, self._pending = None, []
        self._symbols = self.pa.array(symbols, self.pa.string())
        self._flags = self.pa.array(FLAG_TEXT, self.pa.string())

    def open(self, folder: Path) -> None:
        self.folder = folder / self.name
        self.folder.mkdir()
        self._files = FileThread(self._write_month, "record-parquet")

    def write(self, rows: dict) -> None:
        day = session_date_of(int(rows["ts_close"][0]), self.tz)  # a batch never crosses one
        month = day.isoformat()[:7]
        if month != self._month:
            self._flush()
            self._month = month
        self._pending.append((day, copy_rows(rows)))

    def close(self) -> None:
        self._flush()
        self._files.close()

    def _flush(self) -> None:
        if self._pending:
            # the table is built here: work that holds the GIL would only make
            # the two threads take turns; the thread encodes and writes without it
            self._files.put(self._month, self._table(self._pending))
            self._pending = []

    def _write_month(self, month: str, table) -> None:
        strings = [f.name for f in table.schema if self.pa.types.is_string(f.type)]
        folder = self.folder / f"session_month={month}"
        folder.mkdir()
        path = folder / "part-0.parquet"
        self.pq.write_table(
            table,
            path,
            row_group_size=max(1, table.num_rows),  # one row group, however it came in
            use_dictionary=strings,
            **PARQUET_OPTIONS,
        )
        with open(path, "rb+") as f:
            sync(f)

    def _table(self, pending: list):
        """The month's rows as one table: batches of one signature joined
        (the usual case: the whole month at once), converted column by column."""
        pa = self.pa
        runs: list = []
        for day, rows in pending:
            kinds = signature(rows)
            if not runs or runs[-1][0] != kinds:
                runs.append((kinds, [], []))
            runs[-1][1].append(rows)
            runs[-1][2].append((day, len(rows["ts_close"])))
        tables = [pa.Table.from_batches([self._batch(join_rows(r), days)]) for _, r, days in runs]
        table = pa.concat_tables(tables, promote_options="permissive")
        for i, field in enumerate(table.schema):
            if pa.types.is_null(field.type):  # a column without any value: as before
                table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        return table

    def _batch(self, rows: dict, days: list):
        pa = self.pa
        n = len(rows["ts_close"])
        stamp = pa.timestamp("ns", tz="UTC")
        arrays = {
            "ts_open": pa.array(rows["ts_open"].view("datetime64[ns]"), type=stamp),
            "ts_close": pa.array(rows["ts_close"].view("datetime64[ns]"), type=stamp),
            "symbol": self._symbols.take(rows["symbol"]),
            **{name: pa.array(rows[name], pa.float64()) for name in csv_text.BAR_FIELDS[3:8]},
            "trades": pa.array(rows["trades"], pa.int64()),
            "flags": self._flags.take(rows["flags"]),
        }
        for name in self.columns:
            arrays[name] = self._values(name, rows[name], n)
        dates = np.repeat(
            np.array([d.isoformat() for d, _ in days], "datetime64[D]"), [k for _, k in days]
        )
        arrays["session_date"] = pa.array(dates, pa.date32())
        return pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))

    def _values(self, name: str, value, n: int):
        pa = self.pa
        known = self.types.get(name)
        if value is None:
            return pa.nulls(n, known or pa.null())
        kind = value.dtype.kind
        if kind == "f":
            array = pa.array(value, pa.float64())
        elif kind == "b":
            array = pa.array(value, pa.bool_())
        elif kind in "iu":
            array = pa.array(value, pa.int64())
        else:
            array = self._text(value)
        if known is None:
            self.types[name] = array.type
        elif array.type != known:
            array = array.cast(known)
        return array

    def _text(self, value):
        pa = self.pa
        if pd.api.types.infer_dtype(value, skipna=True) in ("string", "empty"):
            codes, texts = pd.factorize(value, use_na_sentinel=True)  # each text once
            codes = pa.array(codes, pa.int32(), mask=codes < 0)  # None and NaN: null
            return pa.DictionaryArray.from_arrays(codes, pa.array(texts, pa.string())).cast(
                pa.string()
            )
        return pa.array([_text_or_none(x) for x in value.tolist()], pa.string())


class FileThread:
    """Calls ``write(*job)`` for each job put, in order, on one thread; an
    error comes back at the next ``put`` or at ``close``."""

    def __init__(self, write, name: str):
        self._write, self._error = write, None
        self._jobs: queue.Queue = queue.Queue(maxsize=8)  # bounds what waits in memory
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def put(self, *job) -> None:
        self._raise()
        self._jobs.put(job)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    self._write(*job)
                except BaseException as exc:  # noqa: BLE001 - handed to the engine's thread
                    self._error = exc


def _cut(value, start: int, length: int):
    return None if value is None else value[start : start + length]


def _text_or_none(x):
    if x is None or (isinstance(x, float) and x != x):
        return None
    return x if isinstance(x, str) else csv_text.cell_text(x)
