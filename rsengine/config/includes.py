"""``include:``: files merged under the one that names them, each over the
ones before it, mappings key by key; paths are read from the including
file's folder and a cycle is an error."""

from __future__ import annotations

import os
from pathlib import Path

from .components import COMPONENT_SECTIONS
from .errors import ConfigError, describe, format_path
from .source_map import SourceMap, parse_yaml

INCLUDE_KEY = "include"


def read_tree(text: str, file: str, base_dir: str, env, errors: list, stack: tuple):
    """One file's tree and source map, its includes merged under it."""
    smap = SourceMap(file)
    tree = parse_yaml(text, file, smap, env, errors)
    return with_includes(tree, smap, base_dir, env, errors, stack)


def with_includes(tree, smap: SourceMap, base_dir: str, env, errors: list, stack: tuple):
    """``tree`` with the files its top-level ``include`` names merged under
    it: each included file in turn over the ones before it, then ``tree``
    itself over them all (mappings merge key by key; anything else is
    replaced). ``stack`` holds the resolved paths being read, for cycles."""
    if not isinstance(tree, dict) or INCLUDE_KEY not in tree:
        return tree, smap
    value = tree.pop(INCLUDE_KEY)
    items = [(value, (INCLUDE_KEY,))] if isinstance(value, str) else None
    if isinstance(value, list):
        items = [(v, (INCLUDE_KEY, i)) for i, v in enumerate(value)]
    if items is None or any(not isinstance(v, str) or not v.strip() for v, _ in items):
        errors.append(
            ConfigError.at(
                smap.at((INCLUDE_KEY,)),
                INCLUDE_KEY,
                f"expected a file path or a list of file paths, got {describe(value)}",
            )
        )
        items = [(v, p) for v, p in items or () if isinstance(v, str) and v.strip()]
    merged, merged_map = {}, SourceMap(smap.file)
    for text, path in items:
        sub = _read_include(text, smap, path, base_dir, env, errors, stack)
        if sub is not None:
            merged, merged_map = _merge_trees(merged, merged_map, *sub)
    smap.forget((INCLUDE_KEY,))
    return _merge_trees(merged, merged_map, tree, smap)


def _read_include(text: str, smap: SourceMap, path: tuple, base_dir, env, errors, stack):
    """The tree and source map of one included file, or None (error recorded)."""

    def fail(message: str) -> None:
        errors.append(ConfigError.at(smap.at(path), format_path(path), message))

    target = Path(os.path.expanduser(text.strip()))
    if not target.is_absolute():
        target = Path(base_dir) / target
    real = smap.file and not smap.file.startswith("<")
    shown = (
        os.path.normpath(os.path.join(os.path.dirname(smap.file), text.strip()))
        if real and not Path(os.path.expanduser(text.strip())).is_absolute()
        else str(target)
    )
    resolved = target.resolve()
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack, resolved))
        fail(f"include cycle: {chain}; a file cannot include itself, directly or not")
        return None
    try:
        content = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(
            f"included file not found: {target} (relative paths are read from the "
            "including file's folder)"
        )
        return None
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the included file {target}: {exc}")
        return None
    folder = str(resolved.parent)
    tree, sub_map = read_tree(content, shown, folder, env, errors, (*stack, resolved))
    if not isinstance(tree, dict):
        errors.append(
            ConfigError.at(
                sub_map.at(()),
                "",
                f"an included file must be a mapping of sections, got {describe(tree)}",
            )
        )
        return None
    _local_plugins_from(tree, folder)
    return tree, sub_map


def _local_plugins_from(tree: dict, folder: str) -> None:
    """``plugins.local`` paths of an included file read from its own folder."""
    plugins = tree.get("plugins")
    local = plugins.get("local") if isinstance(plugins, dict) else None
    if isinstance(local, list):
        plugins["local"] = [
            str(Path(folder) / os.path.expanduser(p))
            if isinstance(p, str) and not Path(os.path.expanduser(p)).is_absolute()
            else p
            for p in local
        ]


def _names_as_mapping(tree: dict, smap: SourceMap) -> None:
    """A component section written as a list of names becomes the mapping it
    stands for (``[a, b]`` -> ``{a: {}, b: {}}``), so that it can merge."""
    for section in COMPONENT_SECTIONS:
        names = tree.get(section)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            continue
        where = {n: smap.at((section, i)) for i, n in enumerate(names)}
        smap.forget((section,))
        tree[section] = {n: {} for n in names}
        for n, loc in where.items():
            smap.keys[(section, n)] = smap.values[(section, n)] = loc


def _merge_trees(base: dict, base_map: SourceMap, top: dict, top_map: SourceMap):
    """``top`` over ``base``: the merged tree and the source map of what each
    value came from (``top_map.file`` stays the file of the whole)."""
    _names_as_mapping(base, base_map)
    _names_as_mapping(top, top_map)
    out_map = SourceMap(top_map.file)
    for name in ("values", "keys", "raw"):
        getattr(out_map, name).update(getattr(base_map, name))
    out_map.env = set(base_map.env)

    def merge(low: dict, high: dict, path: tuple) -> dict:
        out = dict(low)
        for key, value in high.items():
            sub = (*path, key)
            if isinstance(out.get(key), dict) and isinstance(value, (dict, type(None))):
                out[key] = merge(out[key], value or {}, sub)
            else:
                if key in out:
                    out_map.forget(sub)
                out[key] = value
        return out

    tree = merge(base, top, ())
    for name in ("values", "keys", "raw"):
        getattr(out_map, name).update(getattr(top_map, name))
    out_map.env |= top_map.env
    out_map.env_values = {**base_map.env_values, **top_map.env_values}
    return tree, out_map
