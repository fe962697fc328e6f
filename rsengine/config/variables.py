"""``${VAR}`` and ``${VAR:-default}`` in string values, from the environment
(``$${`` writes a literal ``${``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import ConfigError, format_path

if TYPE_CHECKING:
    from .source_map import SourceMap


_VAR = re.compile(r"\$(\$)?\{([^{}]*)\}")
_VAR_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.S)


def substitute(text: str, path: tuple, smap: SourceMap, env: Mapping, errors: list) -> str:
    if "${" not in text:
        return text
    used = False

    def replace(m: re.Match) -> str:
        nonlocal used
        if m.group(1):  # $${...} -> literal ${...}
            return m.group(0)[1:]
        ref = _VAR_NAME.match(m.group(2))
        if not ref:
            errors.append(
                ConfigError.at(
                    smap.at(path),
                    format_path(path),
                    f"bad variable reference {m.group(0)!r}: expected ${{NAME}} or "
                    f"${{NAME:-default}}",
                )
            )
            return m.group(0)
        used = True
        name, default = ref.group(1), ref.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                errors.append(
                    ConfigError.at(
                        smap.at(path),
                        format_path(path),
                        f"environment variable {name} is not set (write "
                        f"${{{name}:-default}} to give a default)",
                    )
                )
                return ""
            return default
        smap.env_values[name] = value
        return value

    out = _VAR.sub(replace, text)
    if used:
        smap.env.add(path)
    return out


def substitute_tree(value, path: tuple, smap: SourceMap, env: Mapping, errors: list):
    if isinstance(value, dict):
        return {k: substitute_tree(v, (*path, k), smap, env, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_tree(v, (*path, i), smap, env, errors) for i, v in enumerate(value)]
    if isinstance(value, str):
        return substitute(value, path, smap, env, errors)
    return value
