"""CSV source for rsengine: streams trades and OHLCV bars from text files.

The reader lives in :mod:`rsengine_csv.reader`; ``CsvSource`` below registers it
as the source ``csv``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

import rsengine
from rsengine.model import BarChunk, TradeChunk
from rsengine.sessions import parse_bar_size

from .reader import CsvLayout, read


def session_bound(value, tz: str, opening: bool):
    """A session date -> its Globex open (18:00 ET the day before) or close (17:00 ET)."""
    if value is None:
        return None
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if opening:
        local = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18), ZoneInfo(tz))
    else:
        local = dt.datetime.combine(day, dt.time(17), ZoneInfo(tz))
    return int(local.timestamp()) * 1_000_000_000


def window_mask(ts, lo, hi):
    mask = np.ones(len(ts), dtype=bool)
    if lo is not None:
        mask &= ts >= lo
    if hi is not None:
        mask &= ts < hi
    return mask


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add(
        "csv", CsvSource, "trades or bars from CSV files (NinjaTrader exports, vendor layouts)"
    )


class CsvSource:
    """Source ``csv``.

    Settings: ``on_bad_row`` (stop | skip), ``chunk_rows`` (8192), ``start`` and
    ``end`` (optional session dates: only rows of sessions from ``start`` through
    ``end`` are used, the rest are read past and not counted as bad) and
    ``instruments``: symbol -> ``files`` (a path or list, read in order,
    relative to the config file), ``layout`` (a preset name, or a mapping of
    layout fields with an optional ``preset`` to start from) and, for bars,
    ``bar`` (the input bar size, e.g. ``5min``).
    """

    SETTINGS = ("on_bad_row", "chunk_rows", "start", "end", "instruments")
    ITEM = ("files", "layout", "bar")

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.on_bad_row = settings.get("on_bad_row", "stop")
        if self.on_bad_row not in ("stop", "skip"):
            raise ValueError(f"on_bad_row {self.on_bad_row!r} is not one of stop, skip")
        self.chunk_rows = int(settings.get("chunk_rows", 8192))
        tz = context.config.session.timezone
        self.window = (
            session_bound(settings.get("start"), tz, opening=True),
            session_bound(settings.get("end"), tz, opening=False),
        )
        base = Path(getattr(context.config, "base_dir", None) or ".")
        self.items = {}
        for symbol, item in (settings.get("instruments") or {}).items():
            if symbol not in context.symbols:
                raise ValueError(f"instruments.{symbol}: not a configured instrument")
            unknown = set(item) - set(self.ITEM)
            if unknown:
                raise ValueError(f"instruments.{symbol}: unknown key(s) {sorted(unknown)}")
            files = item.get("files")
            files = [files] if isinstance(files, str) else list(files or ())
            if not files:
                raise ValueError(f"instruments.{symbol}.files: give at least one file")
            layout = item.get("layout")
            if isinstance(layout, str):
                layout = CsvLayout.preset(layout)
            elif isinstance(layout, dict):
                fields = dict(layout)
                preset = fields.pop("preset", None)
                layout = CsvLayout.preset(preset, **fields) if preset else CsvLayout(**fields)
            else:
                raise ValueError(f"instruments.{symbol}.layout: a preset name or a mapping")
            bar_ns = parse_bar_size(item["bar"]) if item.get("bar") else 0
            if layout.kind == "bars" and not bar_ns:
                raise ValueError(f"instruments.{symbol}.bar: bars need their size, e.g. 5min")
            paths = [p if Path(p).is_absolute() else base / p for p in files]
            for path in paths:
                if not Path(path).is_file():
                    raise ValueError(f"instruments.{symbol}.files: {path} does not exist")
            self.items[symbol] = (paths, layout, bar_ns)
        self.readers = []

    @property
    def bad_rows(self) -> int:
        return sum(r.stats.skipped for r in self.readers)

    def streams(self):
        return {symbol: self._stream(*item) for symbol, item in self.items.items()}

    def _stream(self, paths, layout, bar_ns):
        reader = read([str(p) for p in paths], layout, self.chunk_rows, self.on_bad_row)
        self.readers.append(reader)
        lo, hi = self.window
        for chunk in reader:
            keep = window_mask(chunk.ts, lo, hi) if lo is not None or hi is not None else None
            if keep is not None and not keep.any():
                continue
            if layout.kind == "trades":
                ts, price, size = pick(keep, chunk.ts, chunk.price, chunk.size)
                yield TradeChunk(ts, price, size)
            else:
                ts, o, h, low, c, v = pick(
                    keep, chunk.ts, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume
                )
                ts_open = ts - bar_ns if chunk.stamps == "close" else ts
                yield BarChunk(ts_open, o, h, low, c, v, bar_ns)


def pick(mask, *columns):
    return columns if mask is None else tuple(col[mask] for col in columns)
