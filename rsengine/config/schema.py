"""The config classes: one frozen attrs class a section, each field carrying
its check (:mod:`.values`) as its attrs converter, so a class built in code
is checked as one read from YAML. A field's metadata may name its YAML key
(``key``), keep it out of YAML (``yaml=False``), read the original text of an
unquoted time (``time_like``) or check YAML more strictly than code (``check``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from rsengine.exchange import contracts
from rsengine.exchange.sessions import parse_anchor, parse_bar_size

from . import values
from .components import COMPONENT_SECTIONS, ComponentConfig
from .errors import not_one_of, suggestion
from .values import parse_duration

#: The relative-strength group used when the config names none.
DEFAULT_GROUP = ("ES", "NQ", "RTY", "YM")


def _field(default, converter: Callable, doc_key: str | None = None, **meta) -> Any:
    metadata = dict(meta)
    if doc_key:
        metadata["key"] = doc_key
    return attrs.field(default=default, converter=converter, metadata=metadata)


def yaml_key(field: attrs.Attribute) -> str:
    return field.metadata.get("key", field.name)


def yaml_fields(cls) -> list[attrs.Attribute]:
    """The fields of ``cls`` that a YAML file sets."""
    return [f for f in attrs.fields(cls) if f.metadata.get("yaml", True)]


def yaml_keys(cls) -> list[str]:
    return [yaml_key(f) for f in yaml_fields(cls)]


@attrs.frozen
class RunConfig:
    """``run``: how the engine runs.

    Attributes:
        mode: ``replay`` (as fast as possible), ``paced`` (data time runs at
            ``speed`` times the wall clock) or ``live`` (feeds deliver in real
            time; bars close by the clock). Default ``replay``.
        speed: For ``paced``: how many times faster than real time; more than 0.
            Default 60.
        grace: For ``live``: how long after a bar's end (and a slice's) the
            engine waits for late data before closing it by the clock. A
            duration: ``500ms``, ``2s``, ``1min``; a bare number is seconds.
            Default ``2s``. ``grace_ns`` gives it in nanoseconds.
        on_plugin_error: ``stop`` ends the run when a plugin raises; ``disable``
            switches that plugin off and carries on (a failing source always
            stops the run). Default ``stop``.
        progress: ``auto`` shows a progress bar for replays when stderr is a
            terminal; ``on``/``off`` force it. Default ``auto``.
        market_view: ``off``, ``session`` or ``slice``: print a table of the
            market per session or per slice. Default ``off``.
        stale_after: For ``live``: how long an instrument may go without data
            while its regular session is open before the staleness alarm (a
            warning and a ``feed_stale`` journal record). A duration. Default
            ``60s``.
        ledger: For ``live``: the file of the signals already delivered, read
            at start so that a restart sends none twice (docs/live.md); a path
            relative to the config's folder. Default ``rsengine-live.ledger``.
    """

    mode: str = _field("replay", values.one_of("replay", "paced", "live"))
    speed: float = _field(60.0, values.positive_number)
    grace: str = _field("2s", values.duration)
    on_plugin_error: str = _field("stop", values.one_of("stop", "disable"))
    progress: str = _field("auto", values.one_of("auto", "on", "off", true="on", false="off"))
    market_view: str = _field("off", values.one_of("off", "session", "slice", false="off"))
    stale_after: str = _field("60s", values.duration)
    ledger: str = _field("rsengine-live.ledger", values.text)

    @property
    def grace_ns(self) -> int:
        """``grace`` in nanoseconds."""
        return parse_duration(self.grace)

    @property
    def stale_after_ns(self) -> int:
        return parse_duration(self.stale_after)


@attrs.frozen
class SessionConfig:
    """``session``: the trading-session grid.

    Attributes:
        calendar: The ``pandas_market_calendars`` calendar that defines
            sessions (session dates, holidays, early closes, the session open
            that bars are anchored to). When omitted it is the table calendar of
            the group's first instrument (``CME Globex Equity`` for ES).
        timezone: The exchange time zone, a zoneinfo (IANA) name, in which
            anchors and session rules are read. Default ``America/New_York``.
        anchor: Where bar edges are aligned: ``session`` (the session open) or
            a time of day ``HH:MM`` in ``timezone``, e.g. ``09:30`` so 30- and
            60-minute bars line up with the RTH open. Default ``session``.
            ``anchor_time`` gives it as a ``datetime.time`` (None for session).
    """

    calendar: str | None = _field(None, values.optional(values.calendar))
    timezone: str = _field("America/New_York", values.timezone)
    anchor: str = _field("session", values.anchor, time_like=True)

    @property
    def anchor_time(self):
        """``anchor`` as ``datetime.time``, or None for the session open."""
        return parse_anchor(self.anchor)


@attrs.frozen
class BarsConfig:
    """``bars``: the bar size everything runs on.

    Attributes:
        primary: Bar size: a number and a unit, ``30s``, ``1min``, ``5min``,
            ``15min``, ``1h``, ``1d`` (one bar per session). At most one day.
            Default ``5min``. ``primary_ns`` gives it in nanoseconds.
        fill: When true, a bar interval with no trades is emitted as a flat bar
            at the previous close, flagged as filled; when false (default) gaps
            stay gaps.
    """

    primary: str = _field("5min", values.bar_size)
    fill: bool = _field(False, values.boolean)

    @property
    def primary_ns(self) -> int:
        """``primary`` in nanoseconds."""
        return parse_bar_size(self.primary)


@attrs.frozen
class RiskConfig:
    """``risk``: how trade signals are sized and limited, for every setup
    together (DOMAIN.md §7). Our defaults; the rule book gives none.

    Attributes:
        budget: Dollars risked per trade at size fraction 1.0; a trade risks
            ``budget x size_fraction``. Default 500.
        daily_loss_limit: Dollars: once the session's closed trades have lost
            this much, no more entries that session. Default 1500.
        max_trades: Entries per session, all setups together; later ones are
            not emitted, and the log and summary say so. Default 3.
        micro_fallback: When the mini rounds to zero contracts, size the
            micro (MES for ES, ...) instead. Default true.
        max_contracts: At most this many contracts per trade, or none (the
            default: the rule book's formula alone). A stop a tick or two
            away makes the formula's size huge; this caps it.
    """

    budget: float = _field(500.0, values.positive_number)
    daily_loss_limit: float = _field(1500.0, values.positive_number)
    max_trades: int = _field(3, values.positive_count)
    micro_fallback: bool = _field(True, values.boolean)
    max_contracts: int | None = _field(None, values.optional(values.positive_count))


@attrs.frozen
class PluginsConfig:
    """``plugins``: plugins beyond the installed ones, and blocking some.

    Attributes:
        local: Paths of ``.py`` files to load as plugins, relative to the
            YAML file's folder (made absolute at load; each must exist).
        disable: Names of plugins not to load, installed or not.
    """

    local: tuple[str, ...] = _field((), values.text_list)
    disable: tuple[str, ...] = _field((), values.text_list)


@attrs.frozen
class InstrumentConfig:
    """One entry of ``instruments``; the mapping key is its ``symbol``.

    Attributes:
        symbol: The name the engine, indicators and signals use (the key).
        root: Contract-table root (``ES``, ``MNQ``, ``$TICK`` ...); defaults
            to the symbol. Its table entry gives the defaults below.
        contract: ``continuous`` (default: follow the front month) or a fixed
            contract month ``MM-YY`` as NinjaTrader writes it, e.g. ``12-25``;
            quarterly roots accept only 03, 06, 09, 12.
        feed_symbol: The instrument's name at the data source, e.g.
            ``TICK-NYSE`` for ``$TICK`` on IB; defaults to the symbol.
        calendar: Its own trading-hours calendar; defaults to the table's.
        point_value: US dollars per point; defaults to the table's (None for an
            index).
        tick: Minimum price increment in points; defaults to the table's.
        stands_for: YAML key ``as``: the group member this instrument replaces,
            e.g. ``MES`` with ``as: ES`` feeds the ES slot of the group with
            micro data. None (default) when it stands for itself.
    """

    symbol: str | None = _field(None, values.optional(values.text), yaml=False)
    root: str | None = _field(
        attrs.Factory(lambda self: self.symbol, takes_self=True),
        values.optional(values.root),
        check=values.root,  # in a file, `root: null` is a mistake
    )
    contract: str = _field("continuous", values.contract)
    feed_symbol: str | None = _field(None, values.optional(values.text))
    calendar: str | None = _field(None, values.optional(values.calendar))
    point_value: float | None = _field(None, values.optional(values.positive_number))
    tick: float | None = _field(None, values.optional(values.positive_number))
    stands_for: str | None = _field(None, values.optional(values.text), doc_key="as")

    @classmethod
    def for_symbol(cls, symbol: str, **settings) -> InstrumentConfig:
        """An instrument with every omitted setting filled from the contract table."""
        root = settings.pop("root", None) or symbol
        table = contracts.spec(root)
        if settings.get("feed_symbol") is None:
            settings["feed_symbol"] = symbol
        for name in ("calendar", "point_value", "tick"):
            if settings.get(name) is None:
                settings[name] = getattr(table, name)
        return cls(symbol=symbol, root=root, **settings)

    @property
    def spec(self) -> contracts.ContractSpec:
        """The contract-table entry of ``root``."""
        return contracts.spec(self.root)

    @property
    def is_continuous(self) -> bool:
        return self.contract == "continuous"

    @property
    def contract_month(self) -> tuple[int, int] | None:
        """``(year, month)`` of a fixed contract; None when continuous."""
        return None if self.is_continuous else contracts.parse_month_year(self.contract)

    def contract_on(self, day) -> tuple[int, int] | None:
        """The contract traded on ``day``: the fixed one, else the front month
        (None for an index)."""
        if not self.spec.has_contract_months:
            return None
        return self.contract_month or contracts.front_month(self.root, day)

    def ninjatrader_name(self, day=None) -> str | None:
        """NinjaTrader's name (``"ES 12-25"``) of the fixed contract, or of the
        front month on ``day`` when continuous; None for an index."""
        if not self.spec.has_contract_months:
            return None
        if self.is_continuous and day is None:
            raise ValueError(f"{self.symbol} is continuous: give the day to name its contract")
        year, month = self.contract_on(day)
        return contracts.ninjatrader_name(self.root, year, month)


def default_instruments() -> dict[str, InstrumentConfig]:
    return {s: InstrumentConfig.for_symbol(s) for s in DEFAULT_GROUP}


@attrs.frozen
class Config:
    """The whole config. Build with :func:`load_config` or :meth:`from_dict`.

    Attributes:
        run, session, bars, plugins: The sections of those names.
        group: Symbols the relative-strength group is built from, in order;
            each is a configured instrument or the ``as`` of one. Default
            ES, NQ, RTY, YM.
        instruments: symbol -> :class:`InstrumentConfig`, in file order.
            Default: ES, NQ, RTY, YM with table settings.
        sources, indicators, setups, outputs: name -> :class:`ComponentConfig`.
        file: The config file as given, ``"<config>"`` for text, or None.
        base_dir: Folder relative paths in the config are read against (the
            YAML file's folder; the working directory for text).
    """

    run: RunConfig = attrs.field(factory=RunConfig)
    session: SessionConfig = attrs.field(factory=SessionConfig)
    bars: BarsConfig = attrs.field(factory=BarsConfig)
    risk: RiskConfig = attrs.field(factory=RiskConfig)
    group: tuple[str, ...] = attrs.field(default=DEFAULT_GROUP, converter=values.text_list)
    instruments: dict = attrs.field(factory=default_instruments)
    sources: dict = attrs.field(factory=dict)
    indicators: dict = attrs.field(factory=dict)
    setups: dict = attrs.field(factory=dict)
    outputs: dict = attrs.field(factory=dict)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    file: str | None = None
    base_dir: str = attrs.field(factory=os.getcwd)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every configured instrument symbol, in file order."""
        return tuple(self.instruments)

    @property
    def group_symbols(self) -> tuple[str, ...]:
        """The configured symbols that fill the group's slots, in group order
        (``MES`` for ``ES`` when MES says ``as: ES``)."""
        standing = {i.stands_for: s for s, i in self.instruments.items() if i.stands_for}
        return tuple(m if m in self.instruments else standing[m] for m in self.group)

    def instrument(self, name: str) -> InstrumentConfig:
        """The instrument configured as ``name``, or standing in for it."""
        if name in self.instruments:
            return self.instruments[name]
        for inst in self.instruments.values():
            if inst.stands_for == name:
                return inst
        raise KeyError(f"no instrument {name!r}{suggestion(name, self.instruments)}")

    def components(self, section: str) -> dict[str, ComponentConfig]:
        """The components of one of ``COMPONENT_SECTIONS``."""
        if section not in COMPONENT_SECTIONS:
            raise ValueError(not_one_of(section, COMPONENT_SECTIONS))
        return getattr(self, section)

    @classmethod
    def from_dict(
        cls,
        data: Mapping | None,
        *,
        overrides: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        file: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ) -> Config:
        """Check and structure an already-parsed config (no positions in errors).
        ``${VAR}`` is replaced only when ``env`` is given."""
        from .loading import load_data

        return load_data(data, overrides, env, file, base_dir)


#: The sections made of fixed keys, each read into its class.
FIELD_SECTIONS = {
    "run": RunConfig,
    "session": SessionConfig,
    "bars": BarsConfig,
    "risk": RiskConfig,
    "plugins": PluginsConfig,
}
TOP_KEYS = (
    "run",
    "session",
    "bars",
    "risk",
    "group",
    "instruments",
    *COMPONENT_SECTIONS,
    "plugins",
)
