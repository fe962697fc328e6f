"""``--set key.path=value``: one value replaced after the file is read and
before it is checked. The value is read as YAML; an error names the key path
and what was expected, never the value (it may be a secret)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import yaml

from .components import SINGULAR
from .errors import ConfigError, Location, format_path, suggestion
from .hiding import HIDDEN, scalar_texts
from .includes import INCLUDE_KEY
from .schema import DEFAULT_GROUP, FIELD_SECTIONS, TOP_KEYS, InstrumentConfig, yaml_keys
from .variables import substitute_tree

if TYPE_CHECKING:
    from .source_map import SourceMap


def apply_override(tree: dict, smap: SourceMap, text: str, env, errors: list) -> None:
    """Sets one ``key.path=value``. An error shows the key path and what was
    expected, never the value (it may be a secret typed on the command line)."""
    if not isinstance(text, str) or "=" not in text:
        where = Location(smap.file, origin=f"--set {HIDDEN}", hidden=(str(text).strip(),))
        errors.append(ConfigError.at(where, "", "expected key.path=value, e.g. run.mode=paced"))
        return
    path_text, value_text = (s.strip() for s in text.split("=", 1))
    hidden = (value_text,)
    where = Location(smap.file, origin=f"--set {path_text}={HIDDEN}", hidden=hidden)

    def fail(path_text: str, message: str) -> None:
        errors.append(ConfigError.at(where, path_text, message))

    parts = tuple(path_text.split("."))
    if not path_text or any(not p for p in parts):
        fail(path_text, "expected key.path=value with a dotted key path, e.g. run.mode=paced")
        return
    try:
        value = yaml.safe_load(value_text) if value_text else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        fail(path_text, f"the value is not valid YAML: {problem}")
        return
    where = attrs.evolve(where, hidden=(*hidden, *scalar_texts(value)))

    section = parts[0]
    if section == INCLUDE_KEY:
        fail(path_text, "include is read from the YAML file only; write it in the file")
        return
    if section not in TOP_KEYS:
        fail(path_text, f"unknown section {section!r}{suggestion(section, TOP_KEYS)}")
        return
    if section == "instruments" and "instruments" not in tree and len(parts) > 1:
        tree["instruments"] = {s: {} for s in DEFAULT_GROUP}  # the defaults, made explicit
    if tree.get(section) is None and len(parts) > 1:
        tree[section] = {}
    holder = tree.get(section)
    if len(parts) > 1 and not isinstance(holder, dict):
        fail(path_text, f"{section} is not a mapping in the config file; cannot set a key in it")
        return
    if section in FIELD_SECTIONS:
        keys = yaml_keys(FIELD_SECTIONS[section])
        if len(parts) >= 2 and parts[1] not in keys:
            fail(path_text, f"unknown key {parts[1]!r} in {section}{suggestion(parts[1], keys)}")
            return
        if len(parts) > 2:
            fail(path_text, f"{section}.{parts[1]} is a single value; it has no keys below it")
            return
    elif section == "group" and len(parts) > 1:
        fail(path_text, "group is a list of symbols; set it whole, e.g. group=[ES,NQ,RTY,YM]")
        return
    elif len(parts) >= 3:  # instruments.SYM.key or component.NAME.setting...
        name = parts[1]
        if name not in holder:
            what = "instrument" if section == "instruments" else SINGULAR[section]
            fail(path_text, f"no {what} {name!r} is configured{suggestion(name, holder)}")
            return
        if section == "instruments":
            keys = yaml_keys(InstrumentConfig)
            if parts[2] not in keys:
                fail(
                    path_text,
                    f"unknown key {parts[2]!r} in instruments.{name}{suggestion(parts[2], keys)}",
                )
                return
            if len(parts) > 3:
                fail(
                    path_text,
                    f"instruments.{name}.{parts[2]} is a single value; it has no keys below it",
                )
                return
        if holder[name] is None:
            holder[name] = {}
    # walk down, creating free-form mappings on the way
    container = tree
    for i, part in enumerate(parts[:-1]):
        if container.get(part) is None:
            container[part] = {}
        container = container[part]
        if not isinstance(container, dict):
            where = format_path(parts[: i + 1])
            fail(path_text, f"{where} is not a mapping; cannot set a key in it")
            return
    path = parts
    smap.forget(path)
    smap.values[path] = smap.keys[path] = where
    if env is not None:
        value = substitute_tree(value, path, smap, env, errors)
    container[parts[-1]] = value
    if value is not None and not isinstance(value, (dict, list)):
        smap.raw[path] = value_text
