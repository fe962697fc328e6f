"""CSV source for rsengine: streams trades and OHLCV bars from text files.

The reader lives in :mod:`rsengine_csv.reader`; ``CsvSource`` below registers it
as the source ``csv``. :class:`FileSource` checks the settings every source
reading CSV files shares (``rsengine_rs``'s ``basket`` builds on it too).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import numpy as np

import rsengine
from rsengine.exchange.sessions import parse_bar_size
from rsengine.model import BarChunk, TradeChunk

from .reader import DUPLICATES, PRESETS, CsvLayout, _closest, read


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


class FileSource:
    """What the sources reading CSV files share: the settings ``on_bad_row``
    (stop | skip), ``chunk_rows`` (8192), ``start`` and ``end`` (optional
    session dates: only rows of sessions from ``start`` through ``end`` are
    used, the rest are read past and not counted as bad), checked together
    with the ones a source adds (its ``SETTINGS``); file lists and layouts;
    the readers' bad-row counts and progress (``self.readers``, the files
    of ``_paths()``). Every settings problem is raised when the source is
    built, before the run starts, pointing at its key in the YAML file.
    """

    SETTINGS: tuple = ("on_bad_row", "chunk_rows", "start", "end")

    def __init__(self, settings: dict, context):
        self.context = context
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            name = sorted(unknown)[0]
            raise self._refuse(
                name,
                f"unknown setting{_closest(name, self.SETTINGS)}"
                f" (settings: {', '.join(self.SETTINGS)})",
            )
        self.on_bad_row = self._choice(settings, "on_bad_row", ("stop", "skip"))
        self.chunk_rows = settings.get("chunk_rows", 8192)
        if (
            isinstance(self.chunk_rows, bool)
            or not isinstance(self.chunk_rows, int)
            or self.chunk_rows < 1
        ):
            raise self._refuse("chunk_rows", f"{self.chunk_rows!r} is not a whole number >= 1")
        tz = context.config.session.timezone
        self.window = tuple(self._bound(settings, key, tz) for key in ("start", "end"))
        if None not in self.window and self.window[0] >= self.window[1]:
            raise self._refuse("end", f"{settings['end']} is before start {settings['start']}")
        self.base = Path(getattr(context.config, "base_dir", None) or ".")
        self.readers = []

    def _paths(self) -> list:
        """Every file the source reads."""
        return []

    def _refuse(self, key, message: str) -> Exception:
        """A ConfigError at settings ``key`` (a name or a tuple path)."""
        key = (key,) if isinstance(key, str) else tuple(key)
        component = getattr(self.context, "component", None)
        if component is not None:
            return component.error(key, message)
        return ValueError(f"{'.'.join(map(str, key))}: {message}")

    def _choice(self, settings, key, choices):
        value = settings.get(key, choices[0])
        if value not in choices:
            raise self._refuse(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def _bound(self, settings, key, tz):
        value = settings.get(key)
        try:
            return session_bound(value, tz, opening=key == "start")
        except (TypeError, ValueError) as exc:
            raise self._refuse(key, f"{value!r} is not a session date YYYY-MM-DD ({exc})") from None

    def _files(self, files, at, base) -> list:
        keys = [at] if isinstance(files, str) else [(*at, i) for i in range(len(files or ()))]
        files = [files] if isinstance(files, str) else list(files or ())
        if not files:
            raise self._refuse(at, "give at least one file")
        paths = []
        for key, name in zip(keys, files, strict=True):
            path = Path(name) if Path(name).is_absolute() else base / name
            if path.is_dir():
                raise self._refuse(
                    key,
                    f"{path} is a folder; expected a data file (list the"
                    " files in it, in time order)",
                )
            if not path.is_file():
                raise self._refuse(key, f"{path} does not exist")
            paths.append(path)
        return paths

    def _layout(self, layout, at) -> CsvLayout:
        if isinstance(layout, str):
            fields, preset, preset_at = {}, layout, at
        elif isinstance(layout, dict):
            fields = dict(layout)
            preset, preset_at = fields.pop("preset", None), (*at, "preset")
        else:
            raise self._refuse(at, "expected a preset name or a mapping of layout fields")
        allowed = [a.name for a in attrs.fields(CsvLayout)]
        for name in fields:
            if name not in allowed:
                raise self._refuse(
                    (*at, name),
                    f"not a layout field{_closest(name, allowed)}"
                    f" (fields: preset, {', '.join(allowed)})",
                )
        if preset is not None and preset not in PRESETS:
            raise self._refuse(
                preset_at,
                f"no preset {preset!r}{_closest(preset, PRESETS)} (presets: {', '.join(PRESETS)})",
            )
        if preset is None and "kind" not in fields:
            raise self._refuse(at, "a layout needs kind (bars or trades), or a preset")
        try:
            return CsvLayout.preset(preset, **fields) if preset else CsvLayout(**fields)
        except (TypeError, ValueError) as exc:
            message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            key = next(
                (f for f in fields if message.startswith((f"{f}:", f"{f}[", f"'{f}'"))), None
            )
            if key is None:
                raise self._refuse(at, message) from None
            raise self._refuse((*at, key), message.removeprefix(f"{key}: ")) from None

    @property
    def bad_rows(self) -> int:
        return sum(r.stats.skipped for r in self.readers)

    @functools.cached_property
    def _total_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in self._paths())

    def read_fraction(self) -> float | None:
        """Share of the data files' bytes read so far, for the progress bar."""
        if not self._total_bytes:
            return None
        return min(1.0, sum(r.bytes_read() for r in self.readers) / self._total_bytes)


class CsvSource(FileSource):
    """Source ``csv`` (settings in docs/csv.md).

    Settings: ``on_bad_row`` (stop | skip), ``duplicates`` (error | drop: a bar
    that repeats its stamp; drop drops identical repeats), ``chunk_rows``
    (8192), ``start`` and ``end`` (optional session dates: only rows of
    sessions from ``start`` through ``end`` are used, the rest are read past
    and not counted as bad) and ``instruments``: symbol -> ``files`` (a path or
    list, read in order, relative to the config file), ``layout`` (a preset
    name, or a mapping of layout fields with an optional ``preset`` to start
    from) and, for bars, ``bar`` (the input bar size, e.g. ``5min``).

    Every settings problem is raised here, before the run starts, pointing at
    its key in the YAML file.
    """

    SETTINGS = ("on_bad_row", "duplicates", "chunk_rows", "start", "end", "instruments")
    ITEM = ("files", "layout", "bar")

    def __init__(self, settings: dict, context):
        super().__init__(settings, context)
        self.duplicates = self._choice(settings, "duplicates", DUPLICATES)
        self.items = {
            symbol: self._item(symbol, item, self.base)
            for symbol, item in (settings.get("instruments") or {}).items()
        }

    def _paths(self) -> list:
        return [p for paths, _, _ in self.items.values() for p in paths]

    def _item(self, symbol, item, base):
        at = ("instruments", symbol)
        if symbol not in self.context.symbols:
            raise self._refuse(
                at, f"not a configured instrument (instruments: {', '.join(self.context.symbols)})"
            )
        if not isinstance(item, dict):
            raise self._refuse(at, "expected a mapping with files, layout and bar")
        unknown = set(item) - set(self.ITEM)
        if unknown:
            name = sorted(unknown)[0]
            raise self._refuse(
                (*at, name),
                f"unknown key{_closest(name, self.ITEM)} (keys: {', '.join(self.ITEM)})",
            )
        layout = self._layout(item.get("layout"), (*at, "layout"))
        bar_ns = 0
        if item.get("bar"):
            try:
                bar_ns = parse_bar_size(item["bar"])
            except ValueError as exc:
                raise self._refuse((*at, "bar"), str(exc)) from None
        if layout.kind == "bars" and not bar_ns:
            raise self._refuse(at, "bars need their size: add bar, e.g. bar: 5min")
        return self._files(item.get("files"), (*at, "files"), base), layout, bar_ns

    @property
    def duplicates_dropped(self) -> int:
        """Identical repeated bars dropped (``duplicates: drop``)."""
        return sum(r.stats.duplicates for r in self.readers)

    def streams(self):
        return {symbol: self._stream(*item) for symbol, item in self.items.items()}

    def _stream(self, paths, layout, bar_ns):
        lo, hi = self.window
        reader = read(
            [str(p) for p in paths],
            layout,
            self.chunk_rows,
            self.on_bad_row,
            self.duplicates,
            window=None if lo is None and hi is None else (lo, hi),
        )
        self.readers.append(reader)
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
        unsorted = [f for f in reader.stats.files if f.unsorted is not None]
        if unsorted:
            self.context.log.info(
                "files not in time order read whole (start/end cannot skip in them)",
                files=[f"{f.path}:{f.unsorted}" for f in unsorted],
            )
        if reader.stats.duplicates:
            self.context.log.warning(
                "duplicate bars dropped",
                count=reader.stats.duplicates,
                files=[f.path for f in reader.stats.files if f.duplicates],
            )
        if reader.stats.missing:  # layout missing: skip, the gaps of a series
            self.context.log.info(
                "rows without values skipped",
                count=reader.stats.missing,
                files=[f.path for f in reader.stats.files if f.missing],
            )


def pick(mask, *columns):
    return columns if mask is None else tuple(col[mask] for col in columns)
