"""The plugin sections (``sources``, ``indicators``, ``setups``, ``outputs``):
each entry maps a plugin name to free-form settings that the plugin checks
itself, pointing its errors at the right line through :func:`error_at`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from .errors import ConfigError, Location, format_path, suggestion
from .hiding import hide_env_values

if TYPE_CHECKING:
    from .schema import Config

#: Sections that map a plugin name to its settings.
COMPONENT_SECTIONS = ("sources", "indicators", "setups", "outputs")
SINGULAR = {"sources": "source", "indicators": "indicator", "setups": "setup", "outputs": "output"}


@attrs.frozen
class ComponentConfig:
    """One entry of ``sources``, ``indicators``, ``setups`` or ``outputs``.

    Attributes:
        name: The plugin name (the mapping key).
        settings: Its settings, a plain dict, checked by the plugin itself.
        where: Location of the name in the file.
        section: The section it is in (``"sources"`` ...).
        positions: Location of each settings value, keyed by its path inside
            ``settings`` (a tuple of keys); used by :meth:`error`.
    """

    name: str
    settings: dict = attrs.field(factory=dict)
    where: Location = attrs.field(factory=Location)
    section: str = "sources"
    positions: dict = attrs.field(factory=dict, repr=False, eq=False)
    env_values: dict = attrs.field(factory=dict, repr=False, eq=False)  # kept out of errors

    @property
    def key_path(self) -> str:
        return f"{self.section}.{self.name}"

    def location(self, key: str | tuple = ()) -> Location:
        """Where settings ``key`` (``"a.b"`` or a tuple) is; the nearest enclosing
        key that was written, or the component's name when none was."""
        path = tuple(key.split(".")) if isinstance(key, str) and key else tuple(key)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.where

    def error(self, key: str | tuple, message: str) -> ConfigError:
        """A ConfigError for settings ``key`` (``"a.b"`` or ``()`` for the
        component itself), pointing into the file."""
        path = tuple(key.split(".")) if isinstance(key, str) and key else tuple(key)
        return ConfigError.at(
            self.location(path),
            format_path((self.section, self.name, *path)),
            hide_env_values(message, self.env_values),
            hidden=[text for where in self.positions.values() for text in where.hidden],
        )


def error_at(component: ComponentConfig, key: str | tuple, message: str) -> ConfigError:
    """A ConfigError for ``component``'s settings ``key``; raise it::

    raise error_at(cfg, "prior_close", not_one_of(value, METHODS, "or a number"))
    """
    return component.error(key, message)


def check_component_names(config: Config, available: Mapping[str, Iterable[str]]) -> None:
    """Raise one ConfigError for every component whose plugin is not installed.

    ``available`` maps a section (``"sources"`` ...) to the names registered
    for it; each error names the unknown plugin, lists the installed ones and
    suggests the closest.
    """
    errors = []
    for section in COMPONENT_SECTIONS:
        names = list(available.get(section, ()))
        for comp in config.components(section).values():
            if comp.name in names:
                continue
            listing = ", ".join(names) if names else "none"
            errors.append(
                comp.error(
                    (),
                    f"no {SINGULAR[section]} plugin named {comp.name!r} "
                    f"(installed: {listing}){suggestion(comp.name, names)}",
                )
            )
    if errors:
        raise ConfigError.collect(errors)
