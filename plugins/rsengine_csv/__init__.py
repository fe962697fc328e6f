"""CSV source for rsengine: streams trades and OHLCV bars from text files.

The reader lives in :mod:`rsengine_csv.reader`; ``CsvSource`` below registers it
as the source ``csv``.
"""

from __future__ import annotations

from pathlib import Path

import rsengine
from rsengine.model import BarChunk, TradeChunk
from rsengine.sessions import parse_bar_size

from .reader import CsvLayout, read


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add(
        "csv", CsvSource, "trades or bars from CSV files (NinjaTrader exports, vendor layouts)"
    )


class CsvSource:
    """Source ``csv``.

    Settings: ``on_bad_row`` (stop | skip), ``chunk_rows`` (8192) and
    ``instruments``: symbol -> ``files`` (a path or list, read in order,
    relative to the config file), ``layout`` (a preset name, or a mapping of
    layout fields with an optional ``preset`` to start from) and, for bars,
    ``bar`` (the input bar size, e.g. ``5min``).
    """

    SETTINGS = ("on_bad_row", "chunk_rows", "instruments")
    ITEM = ("files", "layout", "bar")

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.on_bad_row = settings.get("on_bad_row", "stop")
        if self.on_bad_row not in ("stop", "skip"):
            raise ValueError(f"on_bad_row {self.on_bad_row!r} is not one of stop, skip")
        self.chunk_rows = int(settings.get("chunk_rows", 8192))
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
        for chunk in reader:
            if layout.kind == "trades":
                yield TradeChunk(chunk.ts, chunk.price, chunk.size)
            else:
                ts_open = chunk.ts - bar_ns if chunk.stamps == "close" else chunk.ts
                yield BarChunk(
                    ts_open, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume, bar_ns
                )
