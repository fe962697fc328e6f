"""Output ``record``: ``bars.csv`` and ``signals.jsonl`` in a folder.

``bars.csv``: one row per instrument per slice where it has a bar:
``ts_open, ts_close`` (ISO-8601 UTC), ``symbol, open, high, low, close,
volume, trades, flags`` (``partial``/``filled`` joined by ``|``), then one
column per indicator value, in the order the indicators are configured. Floats
are written with Python's shortest round-trip repr; NaN is an empty field.

``signals.jsonl``: one signal per line, keys sorted. ``run.json``: what the
data were (``"data": ["SIMULATED"]`` for the built-in market), the instruments
and the indicator columns. The same data and config give byte-identical files.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import rsengine
from rsengine.core import FILLED, PARTIAL
from rsengine.model import iso_utc

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
        (self.dir / "run.json").write_text(json.dumps(self.about, sort_keys=True, indent=1) + "\n")
        self._bars_file = open(self.dir / "bars.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._signals_file = open(self.dir / "signals.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._bars = csv.writer(self._bars_file, lineterminator="\n")
        self._bars.writerow((*BAR_FIELDS, *self.columns))

    def on_slice(self, slice_, values):
        if self._bars is None:
            self._open()
        close_text = iso_utc(slice_.ts_close)
        extra = [values.get(c) for c in self.columns]
        for i, symbol in enumerate(slice_.symbols):
            if not slice_.present[i]:
                continue
            self._bars.writerow(
                (
                    iso_utc(int(slice_.ts_open[i])),
                    close_text,
                    symbol,
                    number(slice_.open[i]),
                    number(slice_.high[i]),
                    number(slice_.low[i]),
                    number(slice_.close[i]),
                    number(slice_.volume[i]),
                    int(slice_.trades[i]),
                    flag_names(int(slice_.flags[i])),
                    *("" if col is None else _cell(col[i]) for col in extra),
                )
            )

    def on_signal(self, signal):
        if self._bars is None:
            self._open()
        self._signals_file.write(signal.to_json() + "\n")

    def close(self, summary):
        if self._bars is None:
            self._open()  # a run without data still leaves its (empty) record
        self._bars_file.close()
        self._signals_file.close()


def _cell(value) -> str:
    if isinstance(value, str):
        return value
    return number(value)
