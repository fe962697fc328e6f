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

from rsengine import hookspecs
from rsengine.host.registry import KINDS, Registry

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
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(f"an installed plugin does not fit the hooks: {exc}") from exc
        except Exception as exc:  # an installed plugin is broken: say which
            raise PluginLoadError(f"loading installed rsengine plugins failed: {exc}") from exc
    for path in local_files:
        path = Path(path)
        if pm.is_blocked(path.stem):
            continue  # disabled: not even imported
        module = _load_local(path)
        try:
            pm.register(module, name=module.__name__)
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(f"local plugin {path}: {exc}") from exc
    check_plugins(pm)
    # Hook calls are traced by the host itself, one line per plugin called;
    # pluggy's own tracer would print every argument's repr.
    pm.rsengine_trace = None
    if (
        trace
        if trace is not None
        else os.environ.get("RSENGINE_TRACE_PLUGINS", "") not in ("", "0")
    ):
        pm.rsengine_trace = lambda text: sys.stderr.write(f"[plugins] {text}")
    return pm


def check_plugins(pm: pluggy.PluginManager) -> None:
    """Fail at start-up on a misspelled hook or a wrapper implementation."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"{exc} (is the hook name misspelled? see docs/hooks.md)") from exc
    for hook_name in dir(pm.hook):
        if not hook_name.startswith("rsengine_"):
            continue
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.wrapper or impl.hookwrapper:
                raise PluginLoadError(
                    f"plugin {pm.get_name(impl.plugin)!r}: {hook_name} is a wrapper; rsengine "
                    "calls each hook implementation on its own (so one plugin's failure is "
                    "reported and isolated), and wrappers are not supported"
                )


def call_each(pm, name: str, kwargs: dict, on_error, skip=frozenset()) -> None:
    """Call every implementation of hook ``name`` on its own, in pluggy's order.

    A failure calls ``on_error(plugin, name, exc)`` (which may raise) instead of
    cutting the others short, so each of them still runs exactly once.
    """
    trace = getattr(pm, "rsengine_trace", None)
    for impl in reversed(getattr(pm.hook, name).get_hookimpls()):
        plugin = pm.get_name(impl.plugin)
        if plugin in skip:
            continue
        if trace:
            trace(f"{name} -> {plugin}\n")
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as exc:
            on_error(plugin, name, exc)


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
