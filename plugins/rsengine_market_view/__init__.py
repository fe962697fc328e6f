"""Output ``market_view``: the Market Analyzer view, a table of every
instrument printed on stdout.

``mode: session`` (the default) prints it when a session ends; ``mode: slice``
prints it after every slice (meant for live and paced runs; it makes the
engine go slice by slice). ``run.market_view: session`` or ``slice`` is the
shorthand that adds this output. Columns: last price, change % from the prior
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
import sys

import numpy as np

import rsengine
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


MODES = ("session", "slice")


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add("market_view", market_view, "a table of every instrument on stdout")


def market_view(settings: dict, context):
    unknown = set(settings) - {"mode"}
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: ['mode']")
    mode = settings.get("mode", "session")
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not session or slice")
    view = SessionView if mode == "session" else SliceView
    return view(context.symbols, zone_columns(context.config))


class _View:
    written = ()  # no files: the table goes to stdout

    def __init__(self, symbols: tuple, zones: dict):
        self.symbols, self.zones = symbols, zones
        self.latest: dict = {}  # value name -> (symbols,) its last known value

    def print_table(self, title: str) -> None:
        out = sys.stdout  # looked up each time: a progress bar may stand in for it
        out.write(format_table(self.symbols, self.latest, title, self.zones) + "\n")
        out.flush()

    def on_signal(self, signal):
        pass

    def close(self, summary):
        pass


class SessionView(_View):
    """Keeps the last values of every batch; prints when a session ends."""

    def on_batch(self, batch, values):
        last_present(batch.present, batch.close, values, self.latest)

    def on_session_end(self, session):
        self.print_table(f"session {session.date} closed")


class SliceView(_View):
    """Prints after every slice (no ``on_batch``: the engine walks the slices)."""

    def on_slice(self, slice, values):
        rows = {name: np.asarray(column)[None] for name, column in values.items()}
        last_present(slice.present[None], slice.close[None], rows, self.latest)
        self.print_table(iso_utc(slice.ts_close))


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


def last_present(present, close, values: dict, latest: dict) -> None:
    """Update ``latest`` (name -> (symbols,) array) with each instrument's last
    present row (``present`` is (rows, symbols)): close and every numeric or
    text indicator value."""
    seen = present.any(axis=0)
    if not seen.any():
        return
    rows = len(present) - 1 - np.argmax(present[::-1], axis=0)
    cols = np.flatnonzero(seen)
    for name, column in (("close", close), *values.items()):
        if column.dtype.kind in "fiub":
            known = latest.setdefault(name, np.full(len(seen), np.nan))
        elif column.dtype.kind in "OU":
            known = latest.setdefault(name, np.full(len(seen), "", dtype=object))
        else:
            continue
        known[cols] = column[rows[cols], cols]
