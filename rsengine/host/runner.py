"""Config -> plugin manager -> components -> engine."""

from __future__ import annotations

from pathlib import Path

import structlog

from rsengine.config import (
    COMPONENT_SECTIONS,
    ComponentConfig,
    Config,
    ConfigError,
    check_component_names,
)
from rsengine.exchange.bars import TimeBars
from rsengine.exchange.settlement import SettlementTracker
from rsengine.host.engine import Engine, InstrumentFeed, PluginFailure
from rsengine.host.ordering import OrderError, check_reads, order_indicators, providers
from rsengine.host.plugins import call_each, collect_registries, make_plugin_manager
from rsengine.protocols import missing_methods
from rsengine.state import ComponentContext

log = structlog.get_logger("rsengine.runner")


def plugin_manager_for(config: Config, entry_points: bool = True):
    return make_plugin_manager(
        local_files=[_resolve(config, p) for p in config.plugins.local],
        disable=list(config.plugins.disable),
        entry_points=entry_points,
    )


def _resolve(config: Config, path: str) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else Path(config.base_dir) / p)


def _refuse(plugin: str, hook: str, exc: Exception):
    if isinstance(exc, ConfigError):
        raise exc
    raise PluginFailure(plugin, hook, exc) from exc


def _in_dependency_order(config: Config, indicators: list) -> list:
    """The indicators with each provider ahead of its readers; a setup's
    required columns are checked once the setups are built."""
    try:
        return order_indicators(indicators)
    except OrderError as exc:
        raise _order_error(config, "indicators", exc) from None


def _check_setup_reads(config: Config, indicators: list, setups: list) -> None:
    try:
        check_reads("setup", setups, providers(indicators))
    except OrderError as exc:
        raise _order_error(config, "setups", exc) from None


def _order_error(config: Config, kind: str, exc: OrderError) -> ConfigError:
    return config.components(kind)[exc.name].error((), str(exc))


def components_of(config: Config, kind: str) -> dict[str, ComponentConfig]:
    """The configured components of ``kind``; for outputs, also the market view
    that ``run.market_view`` asks for (unless ``outputs`` configures one)."""
    found = dict(config.components(kind))
    if kind == "outputs" and config.run.market_view != "off" and "market_view" not in found:
        found["market_view"] = ComponentConfig(
            "market_view", {"mode": config.run.market_view}, section="outputs"
        )
    return found


def data_labels(sources) -> tuple:
    """Labels the sources carry (``SIMULATED`` for the built-in market)."""
    return tuple(sorted({getattr(obj, "label", "") for _, _, obj in sources} - {""}))


def build_engine(config: Config, pm=None, watchers=()) -> Engine:
    """Everything a run needs, checked before the first trade is read.

    A component whose settings it refuses (ValueError) becomes a ConfigError
    pointing at its entry in the YAML file.
    """
    pm = pm or plugin_manager_for(config)
    for watcher in watchers:  # e.g. the CLI's signal tally
        pm.register(watcher, name=type(watcher).__name__)
    registries = collect_registries(pm)
    names = {kind: registries[kind].names() for kind in COMPONENT_SECTIONS}
    check_component_names(config, names)
    if config.run.market_view != "off" and "market_view" not in names["outputs"]:
        raise ConfigError.at(
            None, "run.market_view", "needs the market_view plugin, which is disabled"
        )
    call_each(pm, "rsengine_configure", {"config": config}, on_error=_refuse)

    symbols = config.symbols
    tz = config.session.timezone
    feeds = {}
    for symbol in symbols:
        calendar = config.instrument(symbol).calendar or config.session.calendar
        feeds[symbol] = InstrumentFeed(
            symbol,
            TimeBars(config.bars.primary_ns, calendar, config.session.anchor, tz, config.bars.fill),
            SettlementTracker(calendar, tz),
        )

    built = {}
    shared: dict = {}  # for components that work together (the trade setups' desk)
    columns: list[str] = []
    for kind in COMPONENT_SECTIONS:  # sources first: outputs learn their labels
        built[kind] = []
        for name, component in components_of(config, kind).items():
            entry = registries[kind].get(name)
            context = ComponentContext(
                config=config,
                symbols=symbols,
                bar_ns=config.bars.primary_ns,
                name=name,
                plugin=entry.plugin,
                log=log.bind(plugin=entry.plugin, component=name),
                columns=tuple(columns),
                data_labels=data_labels(built.get("sources", ())),
                component=component,
                sources=tuple(obj for _, _, obj in built.get("sources", ())),
                shared=shared,
            )
            try:
                obj = entry.factory(dict(component.settings), context)
            except ConfigError:
                raise  # already points at the right place in the file
            except ImportError as exc:
                raise component.error(
                    (), f"{kind[:-1]} {name!r} needs a package that is not installed: {exc}"
                ) from exc
            except (ValueError, TypeError, KeyError) as exc:
                raise component.error(
                    (), f"{kind[:-1]} {name!r} refused its settings: {exc}"
                ) from exc
            lacking = missing_methods(kind, obj)
            if lacking:
                raise component.error(
                    (),
                    f"{kind[:-1]} {name!r} of plugin {entry.plugin!r} does not follow the "
                    f"{kind[:-1]} protocol: "
                    f"{lacking} (see rsengine/protocols.py)",
                )
            built[kind].append((name, entry.plugin, obj))
            if kind == "indicators":
                columns.extend(getattr(obj, "columns", ()))
        if kind == "indicators":
            built[kind] = _in_dependency_order(config, built[kind])
    _check_setup_reads(config, built["indicators"], built["setups"])
    if config.run.mode == "live":
        replay_only = [name for name, _, src in built["sources"] if not hasattr(src, "start_live")]
        if replay_only:
            raise config.components("sources")[replay_only[0]].error(
                (),
                f"source {replay_only[0]!r} can only replay; run.mode live needs live sources "
                "(use run.mode replay or paced with it)",
            )
    if not built["sources"]:
        raise ConfigError.at(
            None, "sources", "no source is configured: add one (e.g. sources: {sim: {}})"
        )
    return Engine(
        config,
        pm,
        symbols,
        feeds,
        built["sources"],
        built["indicators"],
        built["setups"],
        built["outputs"],
    )
