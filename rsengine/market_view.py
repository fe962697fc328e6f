"""The Market Analyzer view: a table of every instrument, printed by the CLI.

``run.market_view: session`` prints it when a session ends (replays);
``slice`` prints it after every slice (meant for live and paced runs; it makes
the engine go slice by slice). Columns: last price, change % from the prior
close (``rs_pct``), daily ATR (``atr`` of the ``measures`` indicator), lead and
rank (``group`` indicator). A value the configured indicators do not produce,
or an instrument without a bar yet, shows as ``-``.

Market internals (root ``$TICK`` or ``$ADD``) are readings, not prices: their
row shows the last reading and, across the change % and ATR columns, its zone
(``tick_zone`` or ``add_zone`` of the ``internals`` indicator, ``-`` without
it), never a change % or an ATR.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.hookspecs import hookimpl
from rsengine.model import iso_utc

COLUMNS = (  # value name, width, format
    ("close", 12, "12,.2f"),
    ("rs_pct", 8, "+8.2f"),
    ("atr", 9, "9,.2f"),
    ("lead", 7, "+7.2f"),
    ("rank", 4, "4.0f"),
)
HEADER = f"{'instrument':10} {'price':>12} {'chg %':>8} {'ATR':>9} {'lead':>7} {'rank':>4}"
#: root of a market internal -> the column holding its zone
ZONE_COLUMNS = {"$TICK": "tick_zone", "$ADD": "add_zone"}


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
        table = format_table(engine.symbols, engine.latest, title, zone_columns(engine.config))
        self.stream.write(table + "\n")
        self.stream.flush()


def zone_columns(config) -> dict:
    """symbol -> its zone column, for the configured market internals."""
    zones = {}
    for symbol, inst in getattr(config, "instruments", {}).items():
        if inst.root in ZONE_COLUMNS:
            zones[symbol] = ZONE_COLUMNS[inst.root]
    return zones


def format_table(symbols, latest: dict, title: str, zones: dict | None = None) -> str:
    """The table; ``zones`` maps each market internal to its zone column."""
    zones = zones or {}
    lines = [f"-- market {title} --", HEADER]
    for i, symbol in enumerate(symbols):
        cells = []
        for name, width, spec in COLUMNS:
            column = latest.get(name)
            x = math.nan if column is None else float(column[i])
            if name == "rank" and x <= 0:
                x = math.nan  # 0: not a group member
            if symbol in zones and name == "close":
                spec = "+12,.0f"  # a reading: a count of issues
            if symbol in zones and name == "rs_pct":
                zone = latest.get(zones[symbol])
                text = "" if zone is None else str(zone[i])
                cells.append(f"{text or '-':>18}")  # across chg % and ATR
                continue
            if symbol in zones and name == "atr":
                continue
            cells.append(f"{'-':>{width}}" if math.isnan(x) else format(x, f">{spec}"))
        lines.append(f"{symbol:10} " + " ".join(cells))
    return "\n".join(lines)


def last_present(batch, values: dict, latest: dict) -> None:
    """Update ``latest`` (name -> (symbols,) array) with each instrument's last
    present row of the batch: close and every numeric or text indicator value."""
    present = batch.present
    seen = present.any(axis=0)
    if not seen.any():
        return
    rows = len(present) - 1 - np.argmax(present[::-1], axis=0)
    cols = np.flatnonzero(seen)
    for name, column in (("close", batch.close), *values.items()):
        if column.dtype.kind in "fiub":
            known = latest.setdefault(name, np.full(len(seen), np.nan))
        elif column.dtype.kind in "OU":
            known = latest.setdefault(name, np.full(len(seen), "", dtype=object))
        else:
            continue
        known[cols] = column[rows[cols], cols]
