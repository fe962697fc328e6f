"""What components are handed while they run: their factory's context, the
market state, the session, and the run's summary."""

from __future__ import annotations

import attrs


@attrs.frozen
class SessionInfo:
    """One Globex session: its date (the day it closes) and its hours, ns UTC."""

    date: str
    open_ns: int = 0
    close_ns: int = 0
    rth_open_ns: int = 0  # 09:30 ET
    rth_close_ns: int = 0  # 16:00 ET, or the session close on an early-close day


@attrs.define
class RunSummary:
    bars: int = 0
    slices: int = 0
    signals: int = 0
    late_trades: int = 0
    off_session_trades: int = 0
    missing: int = 0  # instrument slots marked missing in slices (gaps)
    partial_bars: int = 0
    late_bars: int = 0
    sessions: int = 0
    bad_rows: int = 0
    duplicates_dropped: int = 0  # identical repeated input bars dropped by a source
    signals_by_name: dict = attrs.field(factory=dict)
    disabled_plugins: list = attrs.field(factory=list)
    first_ts: int | None = None
    last_ts: int | None = None
    elapsed_s: float = 0.0
    failed: str | None = None
    notes: list = attrs.field(factory=list)
    metrics: dict = attrs.field(factory=dict)  # e.g. {"premarket_read": {"hit_rate": ...}}


@attrs.define(eq=False)
class ComponentContext:
    """What a component factory gets besides its settings."""

    config: object
    symbols: tuple
    bar_ns: int
    name: str
    plugin: str
    log: object
    columns: tuple = ()  # indicator value names configured before this component
    data_labels: tuple = ()  # the sources' labels, e.g. ("SIMULATED",), for outputs to show
    component: object = None  # its ComponentConfig: component.error(key, msg) -> ConfigError
    sources: tuple = ()  # the source objects built so far (e.g. for their events())
    shared: dict = attrs.field(factory=dict)  # one dict for every component of the run


@attrs.define(eq=False)
class DailyBars:
    """One instrument's completed sessions, one entry per session date."""

    dates: list = attrs.field(factory=list)
    open: list = attrs.field(factory=list)
    high: list = attrs.field(factory=list)
    low: list = attrs.field(factory=list)
    close: list = attrs.field(factory=list)  # last bar close of the Globex session
    volume: list = attrs.field(factory=list)
    settle: list = attrs.field(factory=list)  # settlement, or its rth_last fallback

    def __len__(self) -> int:
        return len(self.dates)


@attrs.define(eq=False)
class MarketState:
    """What indicators and setups read: rings, session closes, daily bars and
    the values the indicators produced so far for the current batch."""

    symbols: tuple
    rings: dict
    closes: dict  # symbol -> SessionCloses
    session: SessionInfo | None = None
    values: dict = attrs.field(factory=dict)  # column -> (rows, symbols) array of this batch
    config: object = None
    daily: dict = attrs.field(factory=dict)  # symbol -> DailyBars of completed sessions
    group: tuple = ()  # column indices of the group members, in group order
    group_names: tuple = ()  # their names in the group ("ES", "NQ", ...)
    bar_ns: int = 0
    tz: str = "America/New_York"

    def index(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def prior_close(self, symbol: str, method: str = "settlement") -> float | None:
        closes = self.closes[symbol]
        prior = closes.prior_session(self.session.date) if self.session else None
        return None if prior is None else closes.price(prior, method)
