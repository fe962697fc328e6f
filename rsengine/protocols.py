"""What the objects a plugin's factories return must look like, as typed
``Protocol`` classes: the other half of the contract in :mod:`rsengine.hookspecs`.

A component is a plain object, never a subclass of these: the host checks at
start-up that each one has the methods of its kind (a source, an indicator, a
setup or an output), and an object with neither its batch nor its
slice-at-a-time method is a config error at its YAML entry. Members described
as optional in a docstring are looked up with ``getattr`` and may be left
out. The prose version, with the ordering and timing rules, is in
docs/hooks.md (section "Component protocols").
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from rsengine.core import Slice, SliceBatch
    from rsengine.model import BarChunk, Signal, TradeChunk
    from rsengine.state import ComponentContext, MarketState, RunSummary

    Values = Mapping[str, np.ndarray]  # column -> (rows, symbols) or (symbols,) array

#: ``factory(settings, context)``: what ``registry.add(name, factory, description)`` takes
Factory = Callable[[dict, "ComponentContext"], Any]


@runtime_checkable
class Source(Protocol):
    """Market data for a replay.

    Optional: ``label`` (e.g. ``"SIMULATED"``, shown by the summary and the
    outputs); ``bad_rows`` and ``duplicates_dropped`` counts; ``span() ->
    (first_ns, last_ns)``, where the data begins and ends; ``read_fraction()
    -> float | None`` for the progress bar; ``events()``, scheduled releases
    the source knows of.
    """

    def streams(self) -> dict[str, Iterator[TradeChunk | BarChunk]]:
        """symbol -> chunks, oldest first, stamps sorted inside each chunk."""


@runtime_checkable
class LiveSource(Source, Protocol):
    """A source that can also run live (``run.mode: live``).

    Optional: ``backfills = True`` when it sends a ``live`` notice once caught up
    after each (re)connect (until then the engine closes nothing by the clock);
    ``check_feed(timeout_s) -> list[str]`` for ``rsengine check-feed``.
    :class:`rsengine.feeds.LiveFeed` implements all of it for a feed written as
    a few async methods.
    """

    def start_live(self, queue: queue.Queue, stop: threading.Event) -> None:
        """From its own thread, put ``(symbol, chunk)``, ``(symbol or "*",
        FeedNotice)`` and finally ``None`` on ``queue``; return soon after
        ``stop`` is set."""


@runtime_checkable
class BatchIndicator(Protocol):
    """An indicator that takes whole batches (the fast form).

    Optional: ``reads`` and ``reads_optional``, the columns it needs or uses
    when provided; the engine runs their providers first.
    """

    columns: tuple[str, ...]

    def update_batch(self, batch: SliceBatch, state: MarketState) -> Values:
        """column -> (rows, symbols) array. The result must not depend on how a
        session is cut into batches (a live run sends one-row batches)."""


@runtime_checkable
class Indicator(Protocol):
    """An indicator called once per slice."""

    columns: tuple[str, ...]

    def update(self, slice: Slice, state: MarketState) -> Values:
        """column -> (symbols,) array for this slice."""


@runtime_checkable
class BatchSetup(Protocol):
    """A setup that takes whole batches.

    Optional: ``reads``; ``finish(summary)`` at the end of the run.
    """

    def evaluate_batch(self, batch: SliceBatch, state: MarketState) -> list[Signal] | None:
        """The signals found in the batch, in ``ts_close`` order."""


@runtime_checkable
class Setup(Protocol):
    """A setup called once per slice."""

    def evaluate(self, slice: Slice, state: MarketState) -> list[Signal] | None:
        """The signals found at this slice."""


class _Delivery(Protocol):
    def on_signal(self, signal: Signal) -> None:
        """Once per signal, in ``ts_close`` order."""

    def close(self, summary: RunSummary) -> None:
        """Once at the end of the run; raising fails the run (exit 1)."""


@runtime_checkable
class BatchOutput(_Delivery, Protocol):
    """An output that takes whole batches.

    Optional: ``on_session_end(session)`` (a ``SessionInfo``) when a session's last
    slice was processed; ``written``, the paths of the files it wrote.
    """

    def on_batch(self, batch: SliceBatch, values: Values) -> None:
        """Every slice of the batch with the indicators' values."""


@runtime_checkable
class Output(_Delivery, Protocol):
    """An output called once per slice (it makes the engine walk slices).

    Optional: as :class:`BatchOutput`.
    """

    def on_slice(self, slice: Slice, values: Values) -> None:
        """One slice with its values."""


#: per config section: the protocols a component may follow, batch form first
KINDS: dict[str, tuple[type, ...]] = {
    "sources": (Source,),
    "indicators": (BatchIndicator, Indicator),
    "setups": (BatchSetup, Setup),
    "outputs": (BatchOutput, Output),
}


def missing_methods(kind: str, obj: object) -> str | None:
    """None when ``obj`` follows one of the protocols of ``kind`` (a config
    section name), else what it lacks, for the error message."""
    protocols = KINDS[kind]
    if any(isinstance(obj, p) for p in protocols):
        return None
    wanted = " or ".join(_members(p) for p in protocols)
    return f"it has no {wanted}"


def _members(protocol: type) -> str:
    names = sorted(
        name
        for cls in protocol.__mro__
        if cls not in (object, Protocol) and cls.__module__ == __name__
        for name in [*vars(cls), *getattr(cls, "__annotations__", {})]
        if not name.startswith("_")
    )
    return "(" + ", ".join(names) + ")"
