"""Output ``record``: the bars, ``signals.jsonl`` and ``run.json`` in a folder.

The bars: one row per instrument per slice where it has a bar, ``ts_open,
ts_close, symbol, open, high, low, close, volume, trades, flags`` then one
column per indicator value, in the order the indicators are configured.
``format: parquet``, the default where pyarrow is installed, writes them as
typed columns (and ``session_date``) to
``bars/session_month=YYYY-MM/part-0.parquet``, one file per month of
sessions; ``format: csv``, the default without pyarrow, writes ``bars.csv``
(ISO-8601 UTC stamps, floats in Python's shortest round-trip repr, NaN an
empty field, flags ``partial``/``filled`` joined by ``|``). Both are written
many batches at a time on a thread of their own (``writers.py``,
``csv_arrow.py``, ``csv_text.py``). :func:`read_bars` reads either back.

``signals.jsonl``: one signal per line, keys sorted. ``run.json``: what the
data were (``"data": ["SIMULATED"]`` for the built-in market), the format, the
instruments and the indicator columns, and at the end the run's metrics (such
as the pre-market read's hit rate), and ``"complete": true``. The same data and
config give byte-identical files.

A run never destroys good results: it writes into ``<dir>/.partial-<pid>/``
(``"complete": false``) and only a run that finished moves its files into
``dir``; ``dir`` is checked and locked when the output is built, before any data
are read. The details are in docs/builtins.md and docs/record.md.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import rsengine
from rsengine.files import FileLocked, claim, sync, sync_folder

from . import writers
from .reader import read_bars  # noqa: F401 (public)
from .table import BAR_FIELDS, batch_rows, flag_names  # noqa: F401 (flag_names: public)
from .writers import CsvBars, ParquetBars

FORMATS = ("parquet", "csv")
BARS = ("bars", "bars.csv")  # the entries of either format: a run replaces both
LOCK = ".rsengine-record.lock"
PYARROW_ABSENT = (
    "pyarrow is not installed, so the bars are written as bars.csv "
    "(python -m pip install pyarrow for Parquet; format: csv says so and quiets this)"
)
PARTIAL_PREFIX = ".partial-"
PYARROW_MISSING = (
    "format 'parquet' needs pyarrow, which is not installed: "
    "python -m pip install pyarrow (or rsengine[record]); or set format: csv"
)


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add("record", Recorder, "the bars (Parquet or CSV) and signals.jsonl in a folder")


def default_format() -> str:
    """``parquet`` where pyarrow is installed, else ``csv``."""
    try:
        writers.import_pyarrow()
    except ImportError:
        return "csv"
    return "parquet"


class Recorder:
    SETTINGS = ("dir", "format")

    def __init__(self, settings: dict, context):
        self.component = getattr(context, "component", None)
        self.log = getattr(context, "log", None)
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.format = self._format(settings)
        self.dir = Path(settings.get("dir", "out"))
        self.partial = self.dir / f"{PARTIAL_PREFIX}{os.getpid()}"
        self.written: list[Path] = []  # the final paths, once the run finished
        self.columns = tuple(context.columns)
        self.symbols = tuple(context.symbols)
        if self.format == "parquet":
            tz = context.config.session.timezone
            self.bars = ParquetBars(self.symbols, self.columns, tz)
        else:
            self.bars = CsvBars(self.symbols, self.columns)
        self.files = (self.bars.name, "signals.jsonl", "run.json")  # run.json last: complete
        self.about = {
            "data": list(context.data_labels),
            "format": self.format,
            "instruments": list(self.symbols),
            "columns": list(self.columns),
        }
        self._lock = self._claim()
        self._opened = False  # the files are opened by the first write, so that
        # building the output (``rsengine validate``) leaves old recordings alone

    def _format(self, settings: dict) -> str:
        chosen = settings.get("format")
        if chosen is None:
            chosen = default_format()
            if chosen == "csv" and self.log is not None:
                self.log.warning(PYARROW_ABSENT)
            return chosen
        if chosen not in FORMATS:
            raise self._refuse(f"expected one of {', '.join(FORMATS)}, got {chosen!r}", "format")
        if chosen == "parquet":
            try:
                writers.import_pyarrow()
            except ImportError:
                raise self._refuse(PYARROW_MISSING, "format") from None
        return chosen

    # -- start-up: the folder is ours and writable, before any data are read ------

    def _claim(self):
        """Makes ``dir``, checks it can be written and locks it for this run;
        refuses at the ``dir`` key otherwise."""
        where = str(self.dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise self._refuse(f"{where!r} exists and is not a folder")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.dir).close()
            lock = claim(self.dir / LOCK)
        except FileLocked as exc:
            raise self._refuse(
                f"folder {where!r} is being written by another run (pid {exc.pid}); "
                "wait for it to end, or give this run another dir"
            ) from None
        except OSError as exc:
            raise self._refuse(f"folder {where!r} is not writable: {exc.strerror or exc}") from None
        weakref.finalize(self, lock.release)  # an output built and dropped lets go
        return lock

    def _refuse(self, message: str, key: str = "dir") -> Exception:
        if self.component is not None:
            return self.component.error((key,), message)
        return ValueError(f"{key}: {message}")

    def _release(self) -> None:
        self._lock.release()

    # -- the run, into the partial folder -----------------------------------------

    def _open(self):
        for stale in self.dir.glob(f"{PARTIAL_PREFIX}*"):  # of dead runs: we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        self.partial.mkdir()
        self.about["complete"] = False
        self._write_about()
        self.bars.open(self.partial)
        self._signals_file = open(self.partial / "signals.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._opened = True

    def on_batch(self, batch, values):
        if not self._opened:
            self._open()
        rows = batch_rows(batch, values, self.columns)
        if rows is not None:
            self.bars.write(rows)

    def on_signal(self, signal):
        if not self._opened:
            self._open()
        self._signals_file.write(signal.to_json() + "\n")

    # -- the end: into place only when the run finished ------------------------------

    def close(self, summary):
        try:
            failed = summary.failed or _interrupted()
            if failed and not self._opened:
                return  # nothing written: nothing to keep
            if not self._opened:
                self._open()  # a run without data still leaves its (empty) record
            self._close_bars(failed)
            sync(self._signals_file)
            self._signals_file.close()
            if summary.metrics:  # e.g. the pre-market read's hit rate
                self.about["metrics"] = summary.metrics
            if failed:
                self.about["failed"] = failed
                self._write_about()
                return
            self.about["complete"] = True
            self._write_about()
            self._move_into_place()
        finally:
            self._release()

    def _close_bars(self, failed) -> None:
        """Writes out what is buffered; a failed run keeps what it could write,
        to be looked at, whatever failed on the way."""
        if not failed:
            self.bars.close()
            return
        try:
            self.bars.close()
        except Exception:  # noqa: BLE001 - the run already failed for its own reason
            pass

    def _move_into_place(self) -> None:
        (self.dir / "run.json").unlink(missing_ok=True)  # no stale "complete" meanwhile
        for name in BARS:  # the previous run's bars, in either format
            _remove(self.dir / name)
        for name in self.files:
            os.replace(self.partial / name, self.dir / name)
        sync_folder(self.dir)
        self.partial.rmdir()
        self.written = [self.dir / name for name in self.files]

    def _write_about(self):
        text = json.dumps(self.about, sort_keys=True, indent=1, allow_nan=False)
        with open(self.partial / "run.json", "w", encoding="utf-8") as f:
            f.write(text + "\n")
            sync(f)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _interrupted() -> str | None:
    """``KeyboardInterrupt`` and the like on their way out of the run: the
    engine's summary records only an ``Exception`` as failed."""
    exc = sys.exc_info()[1]
    if exc is not None and not isinstance(exc, Exception):
        return f"interrupted: {type(exc).__name__}"
    return None
