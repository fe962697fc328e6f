"""Loading a config: read the file (or text, or data), merge its includes,
apply the overrides, structure it, and raise every problem at once."""

from __future__ import annotations

import copy
import importlib.resources
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from .components import COMPONENT_SECTIONS
from .errors import ConfigError, describe, suggestion
from .hiding import hide_env_values
from .includes import read_tree, with_includes
from .overrides import apply_override
from .schema import TOP_KEYS, Config
from .source_map import SourceMap
from .structure import Reader, prepare
from .variables import substitute_tree

#: The built-in demo config, a file inside the ``rsengine`` package.
DEFAULT_CONFIG_RESOURCE = "demo.yaml"


def finish(tree, smap: SourceMap, overrides, env, errors: list, base_dir) -> Config:
    for text in overrides:
        if isinstance(tree, dict):
            apply_override(tree, smap, text, env, errors)
    b = Reader(smap, errors, str(base_dir))
    if not isinstance(tree, dict):
        b.error(
            (),
            f"expected a mapping of sections ({', '.join(TOP_KEYS)}) at the top, got "
            f"{describe(tree)}",
        )
        raise _hiding_env_values(errors, smap)
    for key in tree:
        if key not in TOP_KEYS:
            b.error(
                (key,),
                f"unknown section {key!r} (expected one of {', '.join(TOP_KEYS)})"
                f"{suggestion(key, TOP_KEYS)}",
                key=True,
            )
    prepare(tree, smap)
    run, _ = b.section(tree, "run")
    session, _ = b.section(tree, "session")
    bars, _ = b.section(tree, "bars")
    risk, _ = b.section(tree, "risk")
    plugins, plugins_ok = b.section(tree, "plugins")
    if plugins_ok:
        plugins = b.plugin_paths(plugins)
    instruments, broken = b.instruments(tree)
    group = None
    if broken is not None:
        b.stand_ins(instruments)
        group = b.group(tree, instruments, broken)
    sections = {s: b.components(tree, s) for s in COMPONENT_SECTIONS}
    if errors:
        raise _hiding_env_values(errors, smap)
    if session.calendar is None:
        first = group[0]
        standing = {i.stands_for: i for i in instruments.values() if i.stands_for}
        inst = instruments.get(first) or standing[first]
        session = attrs.evolve(session, calendar=inst.calendar)
    return Config(
        run=run,
        session=session,
        bars=bars,
        risk=risk,
        group=group,
        instruments=instruments,
        plugins=plugins,
        file=smap.file,
        base_dir=str(base_dir),
        **sections,
    )


# --- entry points ---------------------------------------------------------------------


def _looks_like_path(source) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return (
        isinstance(source, str)
        and "\n" not in source
        and (source.strip().endswith((".yaml", ".yml")) or os.path.isfile(source))
    )


def load_config(
    path_or_text: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load and check a config.

    ``path_or_text`` is a path (a ``PathLike``, or a one-line string naming an
    existing file or ending in ``.yaml``/``.yml``) or YAML text; None loads the
    built-in demo. ``overrides`` are ``key.path=value`` strings (``--set``);
    ``env`` replaces ``${VAR}`` (default ``os.environ``). Raises
    :class:`ConfigError` listing every problem.
    """
    if path_or_text is None:
        return load_default(overrides, env)
    env = os.environ if env is None else env
    if _looks_like_path(path_or_text):
        file = os.fspath(path_or_text)
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("config file not found", file=file) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the config file: {exc}", file=file) from None
        base_dir = str(path.resolve().parent)
        stack = (path.resolve(),)
    else:
        text, file, base_dir, stack = str(path_or_text), "<config>", os.getcwd(), ()
    return _load_text(text, file, base_dir, overrides, env, stack)


def load_default(overrides: Iterable[str] = (), env: Mapping[str, str] | None = None) -> Config:
    """Load the built-in demo config (``rsengine/demo.yaml``)."""
    resource = importlib.resources.files("rsengine").joinpath(DEFAULT_CONFIG_RESOURCE)
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        raise ConfigError(
            f"no config file given and the built-in demo ({DEFAULT_CONFIG_RESOURCE}) is missing "
            f"from the rsengine package"
        ) from None
    env = os.environ if env is None else env
    return _load_text(text, f"<built-in {DEFAULT_CONFIG_RESOURCE}>", os.getcwd(), overrides, env)


def _load_text(text: str, file: str, base_dir: str, overrides, env, stack=()) -> Config:
    errors: list[ConfigError] = []
    tree, smap = read_tree(text, file, base_dir, env, errors, stack)
    return finish(tree, smap, overrides, env, errors, base_dir)


def load_data(data: Mapping | None, overrides, env, file, base_dir) -> Config:
    """:meth:`Config.from_dict`."""
    tree = copy.deepcopy(dict(data)) if data is not None else {}
    smap = SourceMap(file)
    errors: list[ConfigError] = []
    if env is not None:
        tree = substitute_tree(tree, (), smap, env, errors)
    base_dir = str(base_dir or os.getcwd())
    tree, smap = with_includes(tree, smap, base_dir, env, errors, ())
    return finish(tree, smap, overrides, env, errors, base_dir)


def _hiding_env_values(errors: list, smap: SourceMap) -> ConfigError:
    """One ConfigError for ``errors``, none of them quoting a value from the environment."""
    flat = [e for err in errors for e in err.errors]
    return ConfigError.collect(
        [
            ConfigError.at(e.location, e.key_path, hide_env_values(e.message, smap.env_values))
            for e in flat
        ]
    )
