"""The plugin manager: entry points, local plugin files, the disable list and tracing.

First-party plugins are found through the same ``rsengine`` entry-point group
a third-party plugin uses; the host names none of them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pluggy
import structlog

from . import hookspecs
from .registry import KINDS, Registry

ENTRY_POINT_GROUP = "rsengine"
log = structlog.get_logger("rsengine.plugins")


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded or implements a hook that does not exist."""


def make_plugin_manager(
    local_files: list[str | Path] = (),
    disable: list[str] = (),
    entry_points: bool = True,
    trace: bool | None = None,
) -> pluggy.PluginManager:
    """A plugin manager with every installed and local plugin registered.

    Misspelled hooks fail here (``check_pending``), not silently at run time.
    ``trace`` (default: ``RSENGINE_TRACE_PLUGINS=1``) writes every hook call to
    stderr.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in disable:
        pm.set_blocked(name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # an installed plugin is broken: say which
            raise PluginLoadError(f"loading installed rsengine plugins failed: {exc}") from exc
    for path in local_files:
        module = _load_local(Path(path))
        if not pm.is_blocked(module.__name__):
            pm.register(module, name=module.__name__)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"{exc} (is the hook name misspelled? see docs/hooks.md)") from exc
    pm.rsengine_trace = None  # the engine writes its own hook calls here
    if (
        trace
        if trace is not None
        else os.environ.get("RSENGINE_TRACE_PLUGINS", "") not in ("", "0")
    ):
        pm.rsengine_trace = lambda text: sys.stderr.write(f"[plugins] {text}")
        pm.trace.root.setwriter(pm.rsengine_trace)
        pm.enable_tracing()
    return pm


def _load_local(path: Path):
    if not path.is_file():
        raise PluginLoadError(f"local plugin file not found: {path}")
    name = f"rsengine_local_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PluginLoadError(f"local plugin {path} failed to import: {exc!r}") from exc
    module.__name__ = path.stem
    return module


def collect_registries(pm: pluggy.PluginManager) -> dict[str, Registry]:
    """Ask every plugin to register its components, remembering who added what."""
    registries = {}
    for kind in KINDS:
        registry = Registry(kind)
        hook = getattr(pm.hook, f"rsengine_register_{kind}")
        for impl in reversed(hook.get_hookimpls()):  # registration order
            registry.current_plugin = pm.get_name(impl.plugin)
            if pm.rsengine_trace:
                pm.rsengine_trace(f"rsengine_register_{kind} -> {registry.current_plugin}\n")
            impl.function(registry=registry)
        registries[kind] = registry
    return registries


def plugin_versions(pm: pluggy.PluginManager) -> dict[str, str]:
    """Plugin name -> distribution version ('local' for plugin files)."""
    versions = {name: "local" for name, _ in pm.list_name_plugin()}
    for plugin, dist in pm.list_plugin_distinfo():
        versions[pm.get_name(plugin)] = f"{dist.project_name} {dist.version}"
    return versions
