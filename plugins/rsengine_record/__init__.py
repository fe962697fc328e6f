"""Output ``record``: ``bars.csv`` and ``signals.jsonl`` in a folder.

``bars.csv``: one row per instrument per slice where it has a bar:
``ts_open, ts_close`` (ISO-8601 UTC), ``symbol, open, high, low, close,
volume, trades, flags`` (``partial``/``filled`` joined by ``|``), then one
column per indicator value, in the order the indicators are configured. Floats
are written with Python's shortest round-trip repr; NaN is an empty field.

``signals.jsonl``: one signal per line, keys sorted. ``run.json``: what the
data were (``"data": ["SIMULATED"]`` for the built-in market), the instruments
and the indicator columns, and at the end the run's metrics (such as the
pre-market read's hit rate), and ``"complete": true``. The same data and config
give byte-identical files.

A run never destroys good results: it writes into ``<dir>/.partial-<pid>/``
(``"complete": false``) and only a run that finished moves its files into
``dir``; ``dir`` is checked and locked when the output is built, before any data
are read. The details are in docs/builtins.md.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import numpy as np

import rsengine
from rsengine.core import FILLED, PARTIAL
from rsengine.files import FileLocked, claim, sync, sync_folder
from rsengine.model import iso_utc_many

BAR_FIELDS = (
    "ts_open",
    "ts_close",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "flags",
)
FILES = ("bars.csv", "signals.jsonl", "run.json")  # run.json last: it says complete
LOCK = ".rsengine-record.lock"
PARTIAL_PREFIX = ".partial-"


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add("record", Recorder, "bars.csv and signals.jsonl in a folder")


def flag_names(flags: int) -> str:
    names = [name for bit, name in ((PARTIAL, "partial"), (FILLED, "filled")) if flags & bit]
    return "|".join(names)


def number(x: float) -> str:
    x = float(x)
    return "" if math.isnan(x) else repr(x)


class Recorder:
    SETTINGS = ("dir",)

    def __init__(self, settings: dict, context):
        self.component = getattr(context, "component", None)
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.dir = Path(settings.get("dir", "out"))
        self.partial = self.dir / f"{PARTIAL_PREFIX}{os.getpid()}"
        self.written: list[Path] = []  # the final paths, once the run finished
        self.columns = tuple(context.columns)
        self.about = {
            "data": list(context.data_labels),
            "instruments": list(context.symbols),
            "columns": list(self.columns),
        }
        self._lock = self._claim()
        self._bars = None  # the files are opened by the first write, so that
        # building the output (``rsengine validate``) leaves old recordings alone

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

    def _refuse(self, message: str) -> Exception:
        if self.component is not None:
            return self.component.error(("dir",), message)
        return ValueError(f"dir: {message}")

    def _release(self) -> None:
        self._lock.release()

    # -- the run, into the partial folder -----------------------------------------

    def _open(self):
        for stale in self.dir.glob(f"{PARTIAL_PREFIX}*"):  # of dead runs: we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        self.partial.mkdir()
        self.about["complete"] = False
        self._write_about()
        self._bars_file = open(self.partial / "bars.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._signals_file = open(self.partial / "signals.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._bars = csv.writer(self._bars_file, lineterminator="\n")
        self._bars.writerow((*BAR_FIELDS, *self.columns))

    def on_batch(self, batch, values):
        if self._bars is None:
            self._open()
        rows, cols = np.nonzero(batch.present)  # row by row, instruments in order
        if not len(rows):
            return
        symbols = np.array(batch.symbols, dtype=object)
        columns = [
            _stamps(batch.ts_open[rows, cols]),
            _stamps(batch.ts_close[rows]),
            symbols[cols].tolist(),
            *(_cells(getattr(batch, name)[rows, cols]) for name in PRICE_FIELDS),
            batch.trades[rows, cols].tolist(),
            [FLAG_TEXT[f] for f in batch.flags[rows, cols].tolist()],
        ]
        for name in self.columns:
            value = values.get(name)
            columns.append([""] * len(rows) if value is None else _cells(value[rows, cols]))
        self._bars.writerows(zip(*columns, strict=True))

    def on_signal(self, signal):
        if self._bars is None:
            self._open()
        self._signals_file.write(signal.to_json() + "\n")

    # -- the end: into place only when the run finished ------------------------------

    def close(self, summary):
        try:
            failed = summary.failed or _interrupted()
            if failed and self._bars is None:
                return  # nothing written: nothing to keep
            if self._bars is None:
                self._open()  # a run without data still leaves its (empty) record
            for f in (self._bars_file, self._signals_file):
                sync(f)
                f.close()
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

    def _move_into_place(self) -> None:
        (self.dir / "run.json").unlink(missing_ok=True)  # no stale "complete" meanwhile
        for name in FILES:
            os.replace(self.partial / name, self.dir / name)
        sync_folder(self.dir)
        self.partial.rmdir()
        self.written = [self.dir / name for name in FILES]

    def _write_about(self):
        text = json.dumps(self.about, sort_keys=True, indent=1, allow_nan=False)
        with open(self.partial / "run.json", "w", encoding="utf-8") as f:
            f.write(text + "\n")
            sync(f)


def _interrupted() -> str | None:
    """``KeyboardInterrupt`` and the like on their way out of the run: the
    engine's summary records only an ``Exception`` as failed."""
    exc = sys.exc_info()[1]
    if exc is not None and not isinstance(exc, Exception):
        return f"interrupted: {type(exc).__name__}"
    return None


PRICE_FIELDS = ("open", "high", "low", "close", "volume")
FLAG_TEXT = [flag_names(f) for f in range(256)]


def _stamps(ts) -> list[str]:
    unique, inverse = np.unique(ts, return_inverse=True)
    text = iso_utc_many(unique)
    return [text[k] for k in inverse.tolist()]


def _cells(values) -> list:
    """Text of one column: floats as shortest repr (NaN empty), ints as ints,
    booleans as 1/0, text as is (None empty)."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "f":
        return ["" if x != x else repr(x) for x in values.astype(np.float64).tolist()]
    if kind == "b":
        return ["1" if x else "0" for x in values.tolist()]
    if kind in "iu":
        return values.tolist()
    return [_text(x) for x in values.tolist()]


def _text(x) -> str:
    if x is None:
        return ""
    return x if isinstance(x, str) else _cells(np.array([x]))[0]
