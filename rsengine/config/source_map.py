"""Reading YAML with the position of every key and value.

PyYAML composes the node tree; :class:`_Tree` turns it into plain data with
``yaml.safe_load`` semantics, recording in a :class:`SourceMap` where each
key and value was written (and the text of each plain scalar), refusing
duplicate keys, and replacing ``${VAR}`` in strings as it goes."""

from __future__ import annotations

import attrs
import yaml

from .errors import ConfigError, Location, format_path
from .variables import substitute


@attrs.define
class SourceMap:
    file: str | None
    values: dict = attrs.field(factory=dict)  # path -> Location of the value
    keys: dict = attrs.field(factory=dict)  # path -> Location of the key
    raw: dict = attrs.field(factory=dict)  # path -> text of a plain scalar
    env: set = attrs.field(factory=set)  # paths whose text came through ${VAR}
    env_values: dict = attrs.field(factory=dict)  # NAME -> the text ${NAME} read from env

    def at(self, path: tuple, key: bool = False) -> Location:
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
            if not path:
                return Location(self.file)
            path = path[:-1]

    def forget(self, path: tuple) -> None:
        n = len(path)
        for table in (self.values, self.keys, self.raw):
            for p in [p for p in table if p[:n] == path]:
                del table[p]
        self.env = {p for p in self.env if p[:n] != path}


def _mark(file, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _syntax_error(file: str | None, exc: yaml.YAMLError) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        extra = ""
        if exc.context and exc.context_mark and exc.problem:
            cm = exc.context_mark
            extra = f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        where = _mark(file, mark) if mark else Location(file)
        return ConfigError.at(where, "", f"YAML syntax error: {problem}{extra}")
    return ConfigError.at(Location(file), "", f"YAML error: {exc}")


class _Tree:
    """Node tree -> plain data, recording positions; safe_load semantics."""

    def __init__(self, file, smap: SourceMap, env, errors: list):
        self.file, self.smap, self.env, self.errors = file, smap, env, errors
        self.constructor = yaml.constructor.SafeConstructor()

    def error(self, where: Location, path: tuple, message: str) -> None:
        self.errors.append(ConfigError.at(where, format_path(path), message))

    def convert(self, node, path: tuple):
        self.smap.values[path] = _mark(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.error(_mark(self.file, node.start_mark), path, f"{exc.problem}")
            return None
        except ValueError as exc:  # e.g. a date YAML reads as one: 2024-13-01
            what = "date" if node.tag.endswith(":timestamp") else "value"
            self.error(
                _mark(self.file, node.start_mark),
                path,
                f"{node.value!r} is not a valid {what} ({exc})",
            )
            return None
        if node.style is None and isinstance(node.value, str):
            self.smap.raw[path] = node.value
        if isinstance(value, str) and self.env is not None:
            value = substitute(value, path, self.smap, self.env, self.errors)
        return value

    def _key(self, knode, path):
        if not isinstance(knode, yaml.ScalarNode):
            self.error(
                _mark(self.file, knode.start_mark),
                path,
                "a key must be a plain value, not a list or mapping",
            )
            return None
        try:
            return self.constructor.construct_object(knode, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.error(_mark(self.file, knode.start_mark), path, f"{exc.problem}")
            return None

    def _mapping(self, node, path: tuple) -> dict:
        seen: dict = {}
        keys: dict = {}  # id(key node) -> key, so each bad key is reported once
        for knode, _ in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = keys[id(knode)] = self._key(knode, path)
            if key is None:
                continue
            if key in seen:
                first = seen[key]
                self.error(
                    _mark(self.file, knode.start_mark),
                    (*path, key),
                    f"duplicate key {key!r} (first given at line {first.line + 1}); "
                    f"YAML would silently keep only the last one",
                )
            else:
                seen[key] = knode.start_mark
        try:
            self.constructor.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            self.error(
                _mark(self.file, exc.problem_mark or node.start_mark), path, f"{exc.problem}"
            )
        out: dict = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = keys[id(knode)] if id(knode) in keys else self._key(knode, path)
            if key is None:
                continue
            sub = (*path, key)
            if sub in self.smap.keys:  # a duplicate or a merged key given again: last wins
                self.smap.forget(sub)
            self.smap.keys[sub] = _mark(self.file, knode.start_mark)
            out[key] = self.convert(vnode, sub)
        return out


def parse_yaml(text: str, file: str | None, smap: SourceMap, env, errors: list):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _syntax_error(file, exc) from None
    if node is None:
        return {}
    return _Tree(file, smap, env, errors).convert(node, ())


def read_yaml(text: str, file: str | None) -> tuple[object, SourceMap, list[ConfigError]]:
    """YAML ``text`` as plain data, with where each key and value is and the
    problems found (duplicate keys, bad values); ``${VAR}`` is left as written.
    A syntax error raises ConfigError."""
    smap = SourceMap(file)
    errors: list[ConfigError] = []
    return parse_yaml(text, file, smap, None, errors), smap, errors
