"""Registries that plugins fill at start-up: one per kind of component."""

from __future__ import annotations

import difflib
from collections.abc import Callable

import attrs

KINDS = ("sources", "indicators", "setups", "outputs")


class RegistryError(ValueError):
    """Two plugins claimed the same name, or a name is unknown."""


@attrs.frozen
class Entry:
    name: str
    factory: Callable
    plugin: str
    description: str = ""


@attrs.define(eq=False)
class Registry:
    """Named component factories of one kind, each remembering its plugin."""

    kind: str
    entries: dict[str, Entry] = attrs.field(factory=dict)
    current_plugin: str = "?"  # set by the host while a plugin's hook runs

    def add(self, name: str, factory: Callable, description: str = "") -> None:
        if not name or not isinstance(name, str):
            raise RegistryError(f"{self.current_plugin}: a {self.kind[:-1]} needs a non-empty name")
        if name in self.entries:
            first = self.entries[name].plugin
            raise RegistryError(
                f"{self.kind[:-1]} {name!r} is provided by both {first!r} and "
                f"{self.current_plugin!r}; disable one of them (plugins.disable in the config)"
            )
        self.entries[name] = Entry(name, factory, self.current_plugin, description)

    def get(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            raise RegistryError(unknown_name_message(self.kind[:-1], name, self.entries)) from None

    def names(self) -> list[str]:
        return sorted(self.entries)


def unknown_name_message(what: str, name: str, known) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no {what} named {name!r}{hint} Installed: {', '.join(known) or 'none'}"
