"""The YAML config: loading, validation and errors a user can act on.

``load_config(path_or_text, overrides=(), env=os.environ)`` reads YAML with
``yaml.safe_load`` semantics, but composes the node tree itself so that it
knows the line and column of every key and value (:mod:`.source_map`). It then

1. rejects duplicate keys (PyYAML silently keeps the last one),
2. replaces ``${VAR}`` and ``${VAR:-default}`` in string values from ``env``
   (``$${`` writes a literal ``${``; :mod:`.variables`),
3. merges the files that ``include:`` names (:mod:`.includes`),
4. applies ``--set key.path=value`` overrides (the value is read as YAML;
   :mod:`.overrides`),
5. structures the result into the frozen attrs classes of :mod:`.schema`
   with a cattrs Converter (:mod:`.structure`), checking every key and value.

Every problem found is collected, in file order, and raised as one
:class:`ConfigError`; each line reads ``file:line:column: key.path: message``
and an unknown name comes with the closest valid one.

Component sections (``sources``, ``indicators``, ``setups``, ``outputs``) map
a plugin name to a free-form settings mapping that the plugin checks itself.
Each becomes a :class:`ComponentConfig` that remembers where its settings are in
the file, so a plugin can raise an error pointing at the right line with
:func:`error_at`.

The reference for every key is ``docs/config.md``.
"""

from .components import (
    COMPONENT_SECTIONS,
    ComponentConfig,
    check_component_names,
    error_at,
)
from .errors import ConfigError, Location, format_path, not_one_of, suggestion
from .hiding import HIDDEN, hide_env_values, hide_override_values
from .includes import INCLUDE_KEY
from .loading import DEFAULT_CONFIG_RESOURCE, load_config, load_default
from .schema import (
    DEFAULT_GROUP,
    BarsConfig,
    Config,
    InstrumentConfig,
    PluginsConfig,
    RiskConfig,
    RunConfig,
    SessionConfig,
)
from .source_map import SourceMap, read_yaml
from .values import parse_duration

__all__ = [
    "BarsConfig",
    "RiskConfig",
    "ComponentConfig",
    "COMPONENT_SECTIONS",
    "Config",
    "ConfigError",
    "DEFAULT_CONFIG_RESOURCE",
    "DEFAULT_GROUP",
    "HIDDEN",
    "INCLUDE_KEY",
    "InstrumentConfig",
    "Location",
    "PluginsConfig",
    "RunConfig",
    "SessionConfig",
    "SourceMap",
    "check_component_names",
    "error_at",
    "format_path",
    "hide_env_values",
    "hide_override_values",
    "load_config",
    "load_default",
    "not_one_of",
    "parse_duration",
    "read_yaml",
    "suggestion",
]
