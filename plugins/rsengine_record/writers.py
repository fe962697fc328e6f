"""The two ways ``bars`` are written: one ``bars.csv``, or a Parquet folder
``bars/session_date=YYYY-MM-DD/part-0.parquet`` (hive-style partitions).

Each writer has ``name`` (its entry in the record folder), ``open(folder)``,
``write(rows)`` with the rows of one batch (``table.batch_rows``) and
``close()``.
"""

from __future__ import annotations

import importlib
import queue
import threading
from pathlib import Path

import numpy as np

from rsengine.exchange.sessions import session_date_of
from rsengine.files import sync

from . import csv_text
from .table import FLAG_TEXT

# Statistics (min/max per file) for the columns a reader filters by: each
# column's costs about as much as its data again in files this small.
FLUSH_ROWS = 16_384  # whole sessions are handed to the writer about this many rows at a time
PARQUET_OPTIONS = {"compression": "snappy", "write_statistics": ["ts_open", "ts_close", "symbol"]}


def import_pyarrow():
    """``(pyarrow, pyarrow.parquet)``; raises ImportError when not installed."""
    return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")


class CsvBars:
    name = "bars.csv"

    def __init__(self, symbols: tuple, columns: tuple):
        self.symbols, self.columns = symbols, columns

    def open(self, folder: Path) -> None:
        self._file = open(folder / self.name, "wb")  # noqa: SIM115
        self._file.write(csv_text.header(self.columns) + b"\n")

    def write(self, rows: dict) -> None:
        self._file.write(csv_text.batch_text(rows, self.symbols, self.columns))

    def close(self) -> None:
        sync(self._file)
        self._file.close()


class ParquetBars:
    """Typed columns: stamps as ``timestamp[ns, UTC]`` (int64 ns), prices,
    volume and float values as float64 (NaN kept), trades and integer values
    as int64, flags like ``bars.csv`` as text, booleans as bool, text as
    string (null for ``None``). One file per session with one row group: its
    bytes do not depend on how the session was cut into batches. The files
    are built, encoded and written by a thread of their own (pyarrow's
    dataset writer lets go of the GIL), whole sessions at a time, in order."""

    name = "bars"

    def __init__(self, symbols: tuple, columns: tuple, tz: str):
        self.pa, self.pq = import_pyarrow()
        self.symbols, self.columns, self.tz = symbols, columns, tz
        self.types: dict = {}  # column -> arrow type, fixed by its first values
        self.ds = importlib.import_module("pyarrow.dataset")
        self._session, self._pending, self._rows = None, [], 0
        self._files = None

    def open(self, folder: Path) -> None:
        self.folder = folder / self.name
        self.folder.mkdir()
        self._files = FileThread(self._write_files)

    def write(self, rows: dict) -> None:
        day = session_date_of(int(rows["ts_close"][0]), self.tz).isoformat()
        if day != self._session:  # a batch never crosses a session
            if self._rows >= FLUSH_ROWS:
                self._flush()
            self._session = day
        # copied: the batch's arrays are the engine's, and the file is built later
        self._pending.append((day, {k: v if v is None else v.copy() for k, v in rows.items()}))
        self._rows += len(rows["ts_close"])

    def close(self) -> None:
        self._flush()
        self._files.close()

    def _flush(self) -> None:
        if self._pending:
            self._files.put(self._pending)
            self._pending, self._rows = [], 0

    def _write_files(self, pending: list) -> None:
        """The files of whole sessions, one per session, written by pyarrow's
        dataset writer without the GIL."""
        pa = self.pa
        batches = [self._record_batch(rows, day) for day, rows in pending]
        table = pa.Table.from_batches(batches)
        strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
        options = self.ds.ParquetFileFormat().make_write_options(
            use_dictionary=strings, **PARQUET_OPTIONS
        )
        self.ds.write_dataset(
            table,
            self.folder,
            format="parquet",
            partitioning=["session_date"],
            partitioning_flavor="hive",
            basename_template="part-{i}.parquet",
            file_options=options,
            use_threads=False,  # keeps the rows in order
            min_rows_per_group=1 << 24,  # one row group a session, however it came in
            max_rows_per_group=1 << 24,
            existing_data_behavior="overwrite_or_ignore",
        )
        for day in dict.fromkeys(day for day, _ in pending):
            with open(self.folder / f"session_date={day}" / "part-0.parquet", "rb+") as f:
                sync(f)

    def _record_batch(self, rows: dict, day: str):
        pa = self.pa
        stamp = pa.timestamp("ns", tz="UTC")
        arrays = {
            "ts_open": pa.array(rows["ts_open"].view("datetime64[ns]"), type=stamp),
            "ts_close": pa.array(rows["ts_close"].view("datetime64[ns]"), type=stamp),
            "symbol": pa.array(np.array(self.symbols, dtype=object)[rows["symbol"]], pa.string()),
            **{name: pa.array(rows[name], pa.float64()) for name in csv_text.BAR_FIELDS[3:8]},
            "trades": pa.array(rows["trades"], pa.int64()),
            "flags": pa.array(FLAG_OBJECTS[rows["flags"]], pa.string()),
        }
        for name in self.columns:
            arrays[name] = self._values(name, rows[name], len(rows["ts_close"]))
        arrays["session_date"] = pa.array([day], pa.string()).take(
            np.zeros(len(rows["ts_close"]), np.int32)
        )  # the partition: written as the folder's name, not in the file
        return pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))

    def _values(self, name: str, value, n: int):
        pa = self.pa
        known = self.types.get(name)
        if value is None:
            return pa.nulls(n, known or pa.float64())
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
        try:  # str and None (NaN too) in C
            return self.pa.array(value, self.pa.string(), from_pandas=True)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError):
            return self.pa.array([_text_or_none(x) for x in value.tolist()], self.pa.string())


class FileThread:
    """Calls ``write(*job)`` for each job put, in order, on one thread; an
    error comes back at the next ``put`` or at ``close``."""

    def __init__(self, write):
        self._write, self._error = write, None
        self._jobs: queue.Queue = queue.Queue(maxsize=8)  # bounds what waits in memory
        self._thread = threading.Thread(target=self._work, name="record-parquet", daemon=True)
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


FLAG_OBJECTS = np.array(FLAG_TEXT, dtype=object)


def _text_or_none(x):
    if x is None or (isinstance(x, float) and x != x):
        return None
    return x if isinstance(x, str) else csv_text.cell_text(x)
