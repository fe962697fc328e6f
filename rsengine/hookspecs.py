"""Every hook rsengine calls. Plugins implement them with ``@rsengine.hookimpl``.

Hooks fire at start-up, per closed slice, per signal and per session event,
never per trade: trades stay inside the compiled core.

The objects the registration hooks' factories return follow the typed
protocols in :mod:`rsengine.protocols` (``Source``, ``BatchIndicator`` or
``Indicator``, ``BatchSetup`` or ``Setup``, ``BatchOutput`` or ``Output``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import argparse

    from rsengine.config import Config
    from rsengine.core import Slice
    from rsengine.host.engine import Engine
    from rsengine.host.registry import Registry
    from rsengine.model import Signal
    from rsengine.state import RunSummary, SessionInfo

hookspec = pluggy.HookspecMarker("rsengine")
hookimpl = pluggy.HookimplMarker("rsengine")


# --- registration: called once at start-up, before the config is checked -------


@hookspec
def rsengine_register_sources(registry: Registry) -> None:
    """Add data sources: ``registry.add(name, factory, description)``.

    ``factory(settings: dict, context: ComponentContext)`` returns an object
    with ``streams() -> dict[symbol, Iterator[TradeChunk | BarChunk]]``.
    """


@hookspec
def rsengine_register_indicators(registry: Registry) -> None:
    """Add indicators: ``registry.add(name, factory, description)``.

    ``factory(settings, context)`` returns an object with ``columns`` (the
    value names it produces) and ``update(slice, state) -> dict[str, array]``.
    """


@hookspec
def rsengine_register_setups(registry: Registry) -> None:
    """Add setups: ``registry.add(name, factory, description)``.

    ``factory(settings, context)`` returns an object with
    ``evaluate(slice, state) -> list[Signal]``.
    """


@hookspec
def rsengine_register_outputs(registry: Registry) -> None:
    """Add outputs: ``registry.add(name, factory, description)``.

    ``factory(settings, context)`` returns an object with
    ``on_slice(slice, values)``, ``on_signal(signal)`` and ``close(summary)``.
    """


# --- the command line: called once when ``rsengine`` reads its arguments ---------


@hookspec
def rsengine_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add subcommands to ``rsengine``: ``parser = subparsers.add_parser(name,
    help=...)``, then ``parser.set_defaults(run_command=fn)``, where
    ``fn(args) -> int`` runs the command and returns its exit code."""


# --- lifecycle ------------------------------------------------------------------


@hookspec
def rsengine_configure(config: Config) -> None:
    """The config is loaded and checked and the components are about to be
    built. Called once per run; raise ``rsengine.config.ConfigError`` to refuse
    it."""


@hookspec
def rsengine_session_start(engine: Engine, session: SessionInfo) -> None:
    """The first slice of a session is about to be processed."""


@hookspec
def rsengine_slice_closed(engine: Engine, slice: Slice, values: dict) -> None:
    """A slice was processed by every indicator and setup.

    ``values`` maps each indicator column to an array over ``slice.symbols``.
    """


@hookspec
def rsengine_signal_emitted(engine: Engine, signal: Signal) -> None:
    """A setup emitted a signal (after the outputs received it)."""


@hookspec
def rsengine_session_end(engine: Engine, session: SessionInfo) -> None:
    """The last slice of a session was processed."""


@hookspec
def rsengine_run_finished(engine: Engine, summary: RunSummary) -> None:
    """The run ended (data exhausted, stopped or failed); ``summary`` holds its
    counts."""
