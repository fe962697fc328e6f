"""Indicator order from what each one reads and provides.

An indicator provides its ``columns``; it may declare ``reads`` (columns it
cannot do without) and ``reads_optional`` (columns it uses when some indicator
provides them). The engine runs every provider before its readers. Among
indicators free to go, the one listed first in the config goes first, so a
config already in a working order keeps it. Only a missing provider of a
required column, two providers of one column, or a cycle are errors.
"""

from __future__ import annotations


class OrderError(ValueError):
    """``name``: the component the error is about."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def _names(obj, attribute: str) -> tuple:
    value = getattr(obj, attribute, ()) or ()
    return (value,) if isinstance(value, str) else tuple(value)


def providers(components) -> dict:
    """column -> the name of the component that provides it."""
    found: dict = {}
    for name, _, obj in components:
        for column in _names(obj, "columns"):
            if column in found:
                raise OrderError(
                    name, f"indicator {name!r} provides {column!r}, as {found[column]!r} does"
                )
            found[column] = name
    return found


def check_reads(kind: str, components, provided: dict) -> None:
    """Every required column of ``components`` has a provider."""
    for name, _, obj in components:
        missing = [c for c in _names(obj, "reads") if c not in provided]
        if missing:
            raise OrderError(
                name,
                f"{kind} {name!r} reads {', '.join(missing)}, which no configured indicator "
                "provides: add the indicator that does (`rsengine plugins` lists them)",
            )


def order_indicators(components: list) -> list:
    """``components`` ((name, plugin, obj), in config order) with every
    provider ahead of its readers."""
    provided = providers(components)
    check_reads("indicator", components, provided)
    position = {name: k for k, (name, _, _) in enumerate(components)}
    needs = {}
    for name, _, obj in components:
        wanted = (*_names(obj, "reads"), *_names(obj, "reads_optional"))
        needs[name] = {provided[c] for c in wanted if c in provided} - {name}
    ordered, done = [], set()
    while len(ordered) < len(components):
        ready = [n for n in needs if n not in done and needs[n] <= done]
        if not ready:
            stuck = sorted((n for n in needs if n not in done), key=position.get)
            raise OrderError(
                stuck[0], f"indicators read each other in a cycle: {_cycle(stuck, needs)}"
            )
        first = min(ready, key=position.get)
        done.add(first)
        ordered.append(components[position[first]])
    return ordered


def _cycle(stuck: list, needs: dict) -> str:
    """One cycle among the stuck components, as 'a -> b -> a'."""
    path, at = [], stuck[0]
    while at not in path:
        path.append(at)
        at = min((n for n in needs[at] if n in stuck), key=stuck.index)
    loop = path[path.index(at) :]
    return " -> ".join([*loop, at]) + " (each reads a column the next one provides)"
