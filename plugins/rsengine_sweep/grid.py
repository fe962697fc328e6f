"""The grid file: which points a sweep runs.

A grid file has two optional sections (at least one of them):

* ``grid``: config keys in ``--set`` dotted form, each a list of values; the
  points are their cartesian product, in file order, the last key varying
  fastest.
* ``shards``: date windows of one source (its ``start`` and ``end``
  settings): ``every: month`` (``week``, ``quarter``, ``year``) between
  ``from`` and ``to`` (default: the source's own ``start`` and ``end``), or a
  list of ``windows``, each ``{start: DATE, end: DATE}``. ``shards: month``
  is short for ``{every: month}``. Shards vary fastest of all.

:func:`read_grid` reads the file with the positions of its keys, so that
every mistake is a :class:`~rsengine.config.ConfigError` reading
``grid.yaml:LINE:COLUMN: key.path: what was expected``; :func:`check_points`
loads the config for every point up front and reports a key the config does
not take at the key's line in the grid file.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import attrs
import yaml

# read_yaml: the config reader's YAML, which refuses duplicate keys and keeps every
# key's position, so the grid's errors read like the config's
from rsengine.config import (
    HIDDEN,
    ConfigError,
    Location,
    SourceMap,
    format_path,
    load_config,
    read_yaml,
    suggestion,
)

TOP_KEYS = ("grid", "shards")
SHARD_KEYS = ("source", "every", "from", "to", "windows")
EVERY = ("week", "month", "quarter", "year")
SHORT_EVERY = {"weekly": "week", "monthly": "month", "quarterly": "quarter", "yearly": "year"}
WINDOW_KEYS = ("start", "end")
SHARD_PARAMS = ("start", "end")  # a shard's columns in the results


@attrs.frozen
class Point:
    """One engine run: its number, its parameters (``(name, value)`` pairs,
    grid keys first, then the shard's ``start`` and ``end``) and the
    ``--set`` overrides that make it."""

    index: int
    params: tuple
    overrides: tuple

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params)


@attrs.frozen
class Grid:
    """The parsed grid file: ``keys`` -> values, the shard windows (``[]``
    without shards) and the source they apply to."""

    file: str
    keys: dict
    windows: tuple = ()  # (start, end) dates
    shard_source: str | None = None
    every: tuple | None = None  # (period, from or None, to or None) until resolved
    where: dict = attrs.field(factory=dict, eq=False)  # grid key -> its Location
    shards_at: Location | None = attrs.field(default=None, eq=False)

    def param_names(self) -> tuple:
        return (*self.keys, *(SHARD_PARAMS if self.windows else ()))

    def points(self) -> list[Point]:
        values = [self.keys[k] for k in self.keys]
        shards = self.windows or [None]
        points = []
        for combo in itertools.product(*values, shards):
            *chosen, window = combo
            params = list(zip(self.keys, chosen, strict=True))
            overrides = [f"{k}={yaml_text(v)}" for k, v in params]
            if window is not None:
                start, end = window
                params += [("start", start), ("end", end)]
                base = f"sources.{self.shard_source}"
                overrides += [f"{base}.start={start}", f"{base}.end={end}"]
            points.append(Point(len(points), tuple(params), tuple(overrides)))
        return points


def yaml_text(value) -> str:
    """``value`` as the YAML text an override reads back to the same value."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def read_grid(path: str | Path) -> Grid:
    """The grid at ``path``; a ConfigError lists every problem at its line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("grid file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the grid file: {exc}", file=file) from None
    tree, smap, errors = read_yaml(text, file)
    reader = _Reader(smap, errors)
    grid = reader.grid(tree)
    if errors:
        raise ConfigError.collect(errors)
    return grid


class _Reader:
    def __init__(self, smap: SourceMap, errors: list):
        self.smap, self.errors = smap, errors

    def fail(self, path: tuple, message: str, key: bool = False) -> None:
        self.errors.append(ConfigError.at(self.smap.at(path, key), format_path(path), message))

    def grid(self, tree) -> Grid | None:
        file = self.smap.file
        if not isinstance(tree, dict) or not tree:
            self.fail(
                (),
                "expected a mapping with grid and/or shards, e.g. grid: {risk.budget: "
                "[1000, 2000]}",
            )
            return None
        for key in tree:
            if key not in TOP_KEYS:
                self.fail(
                    (key,),
                    f"unknown key {key!r} (expected grid and/or shards){suggestion(key, TOP_KEYS)}",
                    key=True,
                )
        keys = self.keys(tree["grid"]) if "grid" in tree else {}
        windows, source, every = (
            self.shards(tree["shards"]) if "shards" in tree else ((), None, None)
        )
        where = {k: self.smap.at(("grid", k), key=True) for k in keys}
        shards_at = self.smap.at(("shards",), key=True) if "shards" in tree else None
        return Grid(file, keys, tuple(windows), source, every, where, shards_at)

    def keys(self, value) -> dict:
        if not isinstance(value, dict) or not value:
            self.fail(
                ("grid",),
                "expected a mapping of config keys to lists of values, e.g. "
                "risk.budget: [1000, 2000]",
            )
            return {}
        out = {}
        for key, values in value.items():
            path = ("grid", key)
            if not isinstance(key, str) or not all(key.split(".")):
                self.fail(path, "expected a dotted config key, e.g. sources.sim.seed", key=True)
            elif not isinstance(values, list) or not values:
                self.fail(path, "expected a non-empty list of values, e.g. [1, 2]")
            elif len({yaml_text(v) for v in values}) < len(values):
                self.fail(path, "a value is given twice: each point must differ")
            else:
                out[key] = values
        return out

    def shards(self, value) -> tuple[list, str | None, tuple | None]:
        if isinstance(value, str):
            value = {"every": value}
        if not isinstance(value, dict):
            self.fail(
                ("shards",),
                f"expected one of {', '.join(EVERY)} or a mapping with every/from/to or windows",
            )
            return [], None, None
        for key in value:
            if key not in SHARD_KEYS:
                self.fail(
                    ("shards", key),
                    f"unknown key {key!r} (expected one of "
                    f"{', '.join(SHARD_KEYS)}){suggestion(key, SHARD_KEYS)}",
                    key=True,
                )
        source = value.get("source")
        if source is not None and not isinstance(source, str):
            self.fail(("shards", "source"), "expected the name of one of the config's sources")
            source = None
        if ("every" in value) == ("windows" in value):
            self.fail(("shards",), "expected either every (with from/to) or windows")
            return [], source, None
        if "windows" in value:
            return self.windows(value["windows"]), source, None
        every = SHORT_EVERY.get(value["every"], value["every"])
        if every not in EVERY:
            self.fail(
                ("shards", "every"),
                f"expected one of {', '.join(EVERY)}, got "
                f"{value['every']!r}{suggestion(str(every), EVERY)}",
            )
            return [], source, None
        first = self.date(value, ("shards", "from"))
        last = self.date(value, ("shards", "to"))
        if first and last and last < first:
            self.fail(("shards", "to"), f"{last} is before from ({first})")
            return [], source, None
        # from/to may come from the source's settings: see resolve()
        return [], source, (every, first, last)

    def windows(self, value) -> list:
        if not isinstance(value, list) or not value:
            self.fail(("shards", "windows"), "expected a list of {start: DATE, end: DATE}")
            return []
        out = []
        for i, window in enumerate(value):
            path = ("shards", "windows", i)
            if not isinstance(window, dict) or set(window) != set(WINDOW_KEYS):
                self.fail(path, "expected {start: DATE, end: DATE}")
                continue
            start, end = self.date(window, (*path, "start")), self.date(window, (*path, "end"))
            if start and end and end < start:
                self.fail((*path, "end"), f"{end} is before start ({start})")
            elif start and end:
                if (start, end) in out:
                    self.fail(path, "this window is given twice: each point must differ")
                out.append((start, end))
        return out

    def date(self, mapping: dict, path: tuple) -> dt.date | None:
        value = mapping.get(path[-1])
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        if not isinstance(value, dt.date):
            self.fail(path, f"expected a date YYYY-MM-DD, got {value!r}")
            return None
        return value


def calendar_windows(every: str, first: dt.date, last: dt.date) -> list[tuple]:
    """``(start, end)`` for each week (Monday to Sunday), month, quarter or
    year touching ``first``..``last``, clipped to them."""
    out = []
    start = first
    while start <= last:
        if every == "week":
            end = start + dt.timedelta(days=6 - start.weekday())
        else:
            months = {"month": 1, "quarter": 3, "year": 12}[every]
            period = (start.month - 1) // months * months  # months before the period
            year, month = start.year + (period + months) // 12, (period + months) % 12 + 1
            end = dt.date(year, month, 1) - dt.timedelta(days=1)
        end = min(end, last)
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


def resolve(grid: Grid, config_path, base=()) -> Grid:
    """``grid`` with its shard source named and an ``every`` rule turned into
    windows (from/to default to the source's ``start`` and ``end``)."""
    if not grid.windows and grid.every is None:
        return grid
    config = load_config(config_path, overrides=list(base))
    sources = list(config.sources)
    name = grid.shard_source
    where = grid.shards_at or Location(grid.file)
    if name is None:
        if len(sources) != 1:
            raise ConfigError.at(
                where,
                "shards.source",
                f"the config has sources {', '.join(sources)}: name the one to shard",
            )
        name = sources[0]
    elif name not in sources:
        raise ConfigError.at(
            where,
            "shards.source",
            f"the config has no source {name!r} "
            f"(it has {', '.join(sources)}){suggestion(name, sources)}",
        )
    for key in (f"sources.{name}.start", f"sources.{name}.end"):
        if key in grid.keys:
            raise ConfigError.at(grid.where[key], f"grid.{key}", "the shards set this key")
    windows = grid.windows
    if grid.every is not None:
        every, first, last = grid.every
        settings = config.sources[name].settings
        first = first or _setting_date(settings.get("start"))
        last = last or _setting_date(settings.get("end"))
        if first is None or last is None:
            missing = "from" if first is None else "to"
            raise ConfigError.at(
                where,
                f"shards.{missing}",
                f"give {missing}: source "
                f"{name!r} has no {'start' if missing == 'from' else 'end'} "
                "setting to take it from",
            )
        windows = calendar_windows(every, first, last)
    return attrs.evolve(grid, windows=tuple(windows), shard_source=name, every=None)


def _setting_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def check_points(grid: Grid, config_path, points: list[Point], base=()) -> None:
    """Load the config with each point's overrides (after ``base``, the
    command line's); a key or value the config refuses is reported at the
    grid key's line, each distinct problem once."""
    errors, seen = [], set()
    for point in points:
        try:
            load_config(config_path, overrides=[*base, *point.overrides])
        except ConfigError as exc:
            for err in exc.errors:
                err = _at_grid_key(grid, err, point)
                if str(err) not in seen:
                    seen.add(str(err))
                    errors.append(err)
    if errors:
        raise ConfigError.collect(errors)


def _at_grid_key(grid: Grid, err: ConfigError, point: Point) -> ConfigError:
    """An override's error at its grid key, the value shown (a grid file's
    values are no more secret than a config file's)."""
    origin = err.origin or ""
    key = origin.removeprefix("--set ").split("=", 1)[0] if origin.startswith("--set ") else None
    if key not in grid.where:
        return err
    value = param_text(dict(point.params)[key])
    message = err.message.replace(HIDDEN, value)
    return ConfigError.at(grid.where[key], f"grid.{key}", message)


def param_text(value) -> str:
    """A parameter as the results show it: ``1000``, ``2024-01-01``, ``[1, 2]``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, dt.date)) and not isinstance(value, bool):
        return str(value)
    return yaml_text(value)
