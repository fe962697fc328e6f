"""The Market Analyzer view: a table of every instrument, printed by the CLI.

``run.market_view: session`` prints it when a session ends (replays);
``slice`` prints it after every slice (meant for live and paced runs; it makes
the engine go slice by slice). Columns: last price, change % from the prior
close (``rs_pct``), daily ATR (``atr`` of the ``measures`` indicator), lead and
rank (``group`` indicator). A value the configured indicators do not produce,
or an instrument without a bar yet, shows as ``-``.
"""

from __future__ import annotations

import math

import numpy as np

from .hookspecs import hookimpl
from .model import iso_utc

COLUMNS = (  # value name, width, format
    ("close", 12, "12,.2f"),
    ("rs_pct", 8, "+8.2f"),
    ("atr", 9, "9,.2f"),
    ("lead", 7, "+7.2f"),
    ("rank", 4, "4.0f"),
)
HEADER = f"{'instrument':10} {'price':>12} {'chg %':>8} {'ATR':>9} {'lead':>7} {'rank':>4}"


class MarketView:
    """A plugin object: register it on the plugin manager before the engine is built."""

    def __init__(self, stream, mode: str):
        if mode not in ("session", "slice"):
            raise ValueError(f"market view mode {mode!r} is not session or slice")
        self.stream, self.mode = stream, mode

    @hookimpl
    def rsengine_session_end(self, engine, session):
        if self.mode == "session":
            self.print_table(engine, f"session {session.date} closed")

    @hookimpl
    def rsengine_slice_closed(self, engine, slice, values):
        if self.mode == "slice":
            self.print_table(engine, iso_utc(slice.ts_close))

    def print_table(self, engine, title: str) -> None:
        self.stream.write(format_table(engine.symbols, engine.latest, title) + "\n")
        self.stream.flush()


def format_table(symbols, latest: dict, title: str) -> str:
    lines = [f"-- market {title} --", HEADER]
    for i, symbol in enumerate(symbols):
        cells = []
        for name, width, spec in COLUMNS:
            column = latest.get(name)
            x = math.nan if column is None else float(column[i])
            if name == "rank" and x <= 0:
                x = math.nan  # 0: not a group member
            cells.append(f"{'-':>{width}}" if math.isnan(x) else format(x, f">{spec}"))
        lines.append(f"{symbol:10} " + " ".join(cells))
    return "\n".join(lines)


def last_present(batch, values: dict, latest: dict) -> None:
    """Update ``latest`` (name -> (symbols,) array) with each instrument's last
    present row of the batch: close and every numeric indicator value."""
    present = batch.present
    seen = present.any(axis=0)
    if not seen.any():
        return
    rows = len(present) - 1 - np.argmax(present[::-1], axis=0)
    cols = np.flatnonzero(seen)
    for name, column in (("close", batch.close), *values.items()):
        if column.dtype.kind not in "fiub":
            continue
        known = latest.setdefault(name, np.full(len(seen), np.nan))
        known[cols] = column[rows[cols], cols]
