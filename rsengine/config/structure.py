"""Structuring the YAML tree into the config classes.

A cattrs Converter does the structuring of every class made of fixed keys
(the sections ``run`` ... ``plugins`` and each instrument): cattrs makes
each class's hook from its attrs fields, under their YAML key names, with
the field's check (:mod:`.values`) as the field's hook and unknown keys
refused. Detailed validation finds every bad key of a mapping in one pass;
:func:`_problems` turns the exception groups it raises back into
ConfigErrors at the YAML key's file:line:column. The rules across fields
and sections (the contract table, stand-ins, the group, the plugin
sections) follow in plain code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import cattrs
import yaml
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

from rsengine.exchange import contracts

from . import values
from .components import SINGULAR, ComponentConfig
from .errors import ConfigError, ItemError, describe, format_path, suggestion
from .schema import (
    DEFAULT_GROUP,
    FIELD_SECTIONS,
    InstrumentConfig,
    PluginsConfig,
    default_instruments,
    yaml_fields,
    yaml_key,
    yaml_keys,
)
from .source_map import SourceMap


class FromEnv(str):
    """Text that ``${VAR}`` gave: when it fails a check as text, it is tried
    as the YAML scalar it spells (``speed: ${SPEED}`` with ``SPEED=90``)."""


def _field_hook(check: Callable) -> Callable:
    def structure(value, _type=None):
        try:
            return check(str(value) if isinstance(value, FromEnv) else value)
        except ItemError:
            raise
        except ValueError:
            if isinstance(value, FromEnv):
                try:
                    return check(yaml.safe_load(value))
                except (ValueError, yaml.YAMLError):
                    pass
            raise

    return structure


def _mapping_of(what: str) -> Callable:
    def check(value) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of {what}, got {describe(value)}")
        return value

    return check


def _class_hook(converter: cattrs.Converter, cls, what: str) -> Callable:
    fields = {
        f.name: override(
            rename=yaml_key(f), struct_hook=_field_hook(f.metadata.get("check", f.converter))
        )
        for f in yaml_fields(cls)
    }
    omitted = {f.name: override(omit=True) for f in attrs.fields(cls) if f.name not in fields}
    structure = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True, **fields, **omitted
    )
    mapping = _mapping_of(what)
    return lambda value, _type: structure(mapping(value), cls)


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    for cls in FIELD_SECTIONS.values():
        converter.register_structure_hook(cls, _class_hook(converter, cls, "settings"))
    converter.register_structure_hook(
        InstrumentConfig, _class_hook(converter, InstrumentConfig, "instrument settings")
    )
    return converter


CONVERTER = _converter()


def _problems(exc: BaseException, path: tuple) -> list[tuple[tuple, str, bool]]:
    """``(key path, message, about the key itself)`` for each problem in what
    structuring ``path`` raised."""
    if isinstance(exc, ForbiddenExtraKeysError):
        keys = yaml_keys(exc.cl)
        return [
            (
                (*path, key),
                f"unknown key {key!r} (expected one of {', '.join(keys)}){suggestion(key, keys)}",
                True,
            )
            for key in exc.extra_fields
        ]
    if isinstance(exc, ClassValidationError):
        keys = {f.name: yaml_key(f) for f in attrs.fields(exc.cl)}
        with_notes, without_notes = exc.group_exceptions()
        found = [p for sub, note in with_notes for p in _problems(sub, (*path, keys[note.name]))]
        return found + [p for sub in without_notes for p in _problems(sub, path)]
    if isinstance(exc, ItemError):
        return [((*path, exc.index), str(exc), False)]
    if isinstance(exc, ValueError):
        return [(path, str(exc), False)]
    raise exc


def prepare(tree: dict, smap: SourceMap) -> None:
    """Marks the values of fixed keys that ``${VAR}`` gave (:class:`FromEnv`),
    and puts back the written text of an unquoted time that YAML 1.1 read as
    a base-60 number (``10:00`` -> 600)."""
    holders = [((name,), FIELD_SECTIONS[name]) for name in FIELD_SECTIONS]
    instruments = tree.get("instruments")
    if isinstance(instruments, dict):
        holders += [(("instruments", symbol), InstrumentConfig) for symbol in instruments]
    for path, cls in holders:
        holder = tree.get(path[0]) if len(path) == 1 else instruments.get(path[1])
        if not isinstance(holder, dict):
            continue
        for field in yaml_fields(cls):
            key = (*path, yaml_key(field))
            value = holder.get(key[-1])
            raw = smap.raw.get(key)
            if field.metadata.get("time_like") and type(value) is int and raw:
                holder[key[-1]] = raw
            elif key in smap.env and isinstance(value, str):
                holder[key[-1]] = FromEnv(value)
    if ("group",) in smap.env and isinstance(tree.get("group"), str):
        tree["group"] = FromEnv(tree["group"])


_BAD = object()


class Reader:
    """Structures the sections of one config tree, recording every problem in
    ``errors`` at its position in ``smap``."""

    def __init__(self, smap: SourceMap, errors: list, base_dir: str):
        self.smap, self.errors, self.base_dir = smap, errors, base_dir

    def error(self, path: tuple, message: str, key: bool = False) -> None:
        self.errors.append(ConfigError.at(self.smap.at(path, key), format_path(path), message))

    def check(self, check: Callable, value, path: tuple):
        """One value's check; on failure the error is recorded and _BAD returned."""
        try:
            return _field_hook(check)(value)
        except ValueError as exc:
            for sub, message, key in _problems(exc, path):
                self.error(sub, message, key)
        return _BAD

    def structure(self, value, cls, path: tuple):
        """``(cls from value, ok)``: every problem is recorded, and when some
        keys fail the instance is built from the others (None when ``value`` is
        not a mapping)."""
        try:
            return CONVERTER.structure(value, cls), True
        except (ClassValidationError, ValueError) as exc:
            problems = _problems(exc, path)
        n = len(path)
        order = list(value) if isinstance(value, dict) else []
        problems.sort(key=lambda p: order.index(p[0][n]) if len(p[0]) > n else -1)
        for sub, message, key in problems:
            self.error(sub, message, key)
        if not isinstance(value, dict):
            return None, False
        failed = {p[0][n] for p in problems if len(p[0]) > n}
        good = {k: v for k, v in value.items() if k not in failed}
        return CONVERTER.structure(good, cls), False

    def section(self, tree: dict, name: str):
        cls = FIELD_SECTIONS[name]
        section, ok = self.structure(tree.get(name), cls, (name,))
        return (section, True) if ok else (cls(), False)

    def instruments(self, tree: dict) -> tuple[dict, set | None]:
        """The instruments that check out, and the symbols of those that do not
        (None when the section itself is unusable)."""
        if "instruments" not in tree:
            return default_instruments(), set()
        value = self.check(_mapping_of("symbol: settings"), tree["instruments"], ("instruments",))
        if value is _BAD:
            return {}, None
        out, broken = {}, set()
        for symbol, settings in value.items():
            inst = self.instrument(symbol, settings)
            if inst is None:
                broken.add(symbol)
            else:
                out[symbol] = inst
        if not value:
            self.error(("instruments",), "no instruments are configured")
            return {}, None
        return out, broken

    def instrument(self, symbol, settings) -> InstrumentConfig | None:
        path = ("instruments", symbol)
        if not isinstance(symbol, str) or not symbol.strip():
            self.error(path, f"an instrument symbol must be text, got {describe(symbol)}", key=True)
            return None
        written, ok = self.structure(settings, InstrumentConfig, path)  # go on to check root too
        if written is None:
            return None
        root = written.root
        if root is None and "root" in (settings or {}):
            return None  # a bad root, already reported
        if root is None:
            if symbol not in contracts.CONTRACTS:
                close = contracts.suggest_root(symbol)
                hint = f"; did you mean {close!r}?" if close else ""
                self.error(
                    path,
                    f"{symbol!r} is not in the contract table, so give its "
                    f"`root:` (one of {', '.join(contracts.CONTRACTS)}){hint}",
                    key=True,
                )
                return None
            root = symbol
        table = contracts.spec(root)
        contract = written.contract
        if contract != "continuous":
            if not table.has_contract_months:
                self.error(
                    (*path, "contract"),
                    f"{root} is an {table.kind}; it has no contract months, use 'continuous'",
                )
                return None
            try:
                contracts.ninjatrader_name(root, *contracts.parse_month_year(contract))
            except ValueError as exc:
                self.error((*path, "contract"), str(exc))
                return None
        if not ok:
            return None
        kwargs = {f.name: getattr(written, f.name) for f in yaml_fields(InstrumentConfig)}
        return InstrumentConfig.for_symbol(symbol, **{**kwargs, "root": root})

    def stand_ins(self, instruments: dict) -> bool:
        ok, targets = True, {}
        for symbol, inst in instruments.items():
            target = inst.stands_for
            if target is None:
                continue
            path = ("instruments", symbol, "as")
            if target == symbol:
                continue
            if target in instruments:
                self.error(
                    path, f"{symbol} cannot stand in for {target}: {target} is configured itself"
                )
                ok = False
            elif target in targets:
                self.error(path, f"{targets[target]} already stands in for {target}")
                ok = False
            else:
                targets[target] = symbol
        return ok

    def group(self, tree: dict, instruments: dict, broken: set) -> tuple[str, ...] | None:
        path = ("group",)
        default = DEFAULT_GROUP if len(instruments) != 1 else tuple(instruments)
        group = self.check(values.text_list, tree.get("group", default), path)
        if group is _BAD:
            return None
        standing = {i.stands_for: s for s, i in instruments.items() if i.stands_for}
        written = tree.get("instruments")
        symbols = [k for k in written if isinstance(k, str)] if written else list(instruments)
        known = [*symbols, *(t for t in standing if t not in symbols)]
        ok, seen = True, set()
        for i, member in enumerate(group):
            sub = (*path, i)
            symbol = member if member in instruments else standing.get(member)
            if member in broken:
                ok = False  # its own error is already reported
            elif symbol is None:
                default = (
                    ""
                    if "group" in tree
                    else (
                        f" (no `group:` is given, so the default group {', '.join(DEFAULT_GROUP)} "
                        f"is used)"
                    )
                )
                self.error(
                    sub,
                    f"{member!r} is not a configured instrument (configured: "
                    f"{', '.join(known) or 'none'}){default}{suggestion(member, known)}",
                )
                ok = False
            elif member in seen:
                self.error(sub, f"{member!r} is in the group twice")
                ok = False
            elif instruments[symbol].spec.kind != "future":
                self.error(
                    sub,
                    f"{member!r} is an {instruments[symbol].spec.kind}; the "
                    f"group is built from futures",
                )
                ok = False
            seen.add(member)
        if ok and not group:
            self.error(path, "the group is empty: name at least one configured instrument")
            ok = False
        return group if ok else None

    def components(self, tree: dict, section: str) -> dict:
        path = (section,)
        value = tree.get(section)
        if isinstance(value, list):  # shorthand: a list of names, no settings
            names = self.check(values.text_list, value, path)
            if names is _BAD:
                return {}
            value = {}
            for i, name in enumerate(names):
                self.smap.keys[(section, name)] = self.smap.at((section, i))
                value[name] = {}
        value = self.check(_mapping_of("plugin name: settings"), value, path)
        out = {}
        for name, settings in (value if value is not _BAD else {}).items():
            sub = (section, name)
            if not isinstance(name, str) or not name.strip():
                self.error(sub, f"a plugin name must be text, got {describe(name)}", key=True)
                continue
            if settings is None:
                settings = {}
            if not isinstance(settings, dict):
                self.error(
                    sub,
                    f"expected a mapping of settings for {SINGULAR[section]} "
                    f"{name!r}, got {describe(settings)}",
                )
                continue
            n = len(sub)
            positions = {
                p[n:]: loc for p, loc in self.smap.values.items() if p[:n] == sub and len(p) > n
            }
            out[name] = ComponentConfig(
                name=name,
                settings=settings,
                where=self.smap.at(sub, key=True),
                section=section,
                positions=positions,
                env_values=self.smap.env_values,
            )
        return out

    def plugin_paths(self, plugins: PluginsConfig) -> PluginsConfig:
        resolved = []
        for i, text in enumerate(plugins.local):
            path = Path(os.path.expanduser(text))
            if not path.is_absolute():
                path = Path(self.base_dir) / path
            if path.suffix != ".py":
                self.error(("plugins", "local", i), f"expected a .py file, got {text!r}")
            elif not path.is_file():
                self.error(
                    ("plugins", "local", i),
                    f"plugin file not found: {path} (relative paths are read from the "
                    f"config file's folder)",
                )
            resolved.append(str(path.resolve()))
        return attrs.evolve(plugins, local=tuple(resolved))
