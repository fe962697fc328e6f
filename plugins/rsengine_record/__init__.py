"""Output ``record``: ``bars.csv`` and ``signals.jsonl`` in a folder.

``bars.csv``: one row per instrument per slice where it has a bar:
``ts_open, ts_close`` (ISO-8601 UTC), ``symbol, open, high, low, close,
volume, trades, flags`` (``partial``/``filled`` joined by ``|``), then one
column per indicator value, in the order the indicators are configured. Floats
are written with Python's shortest round-trip repr; NaN is an empty field.

``signals.jsonl``: one signal per line, keys sorted. ``run.json``: what the
data were (``"data": ["SIMULATED"]`` for the built-in market), the instruments
and the indicator columns, and at the end the run's metrics (such as the
pre-market read's hit rate). The same data and config give byte-identical files.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

import rsengine
from rsengine.core import FILLED, PARTIAL
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
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.dir = Path(settings.get("dir", "out"))
        if self.dir.exists() and not self.dir.is_dir():
            raise ValueError(f"dir {str(self.dir)!r} exists and is not a folder")
        self.columns = tuple(context.columns)
        self.about = {
            "data": list(context.data_labels),
            "instruments": list(context.symbols),
            "columns": list(self.columns),
        }
        self._bars = None  # the files are opened by the first write, so that
        # building the output (``rsengine validate``) leaves old recordings alone

    def _open(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_about()
        self._bars_file = open(self.dir / "bars.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._signals_file = open(self.dir / "signals.jsonl", "w", encoding="utf-8")  # noqa: SIM115
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

    def close(self, summary):
        if self._bars is None:
            self._open()  # a run without data still leaves its (empty) record
        self._bars_file.close()
        self._signals_file.close()
        if summary.metrics:  # e.g. the pre-market read's hit rate
            self.about["metrics"] = summary.metrics
            self._write_about()

    def _write_about(self):
        text = json.dumps(self.about, sort_keys=True, indent=1, allow_nan=False)
        (self.dir / "run.json").write_text(text + "\n")


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
