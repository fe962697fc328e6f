"""What the three trade setups share: settings, the rows they may enter on,
the internals and ATR they read, and the desk that sizes and follows their
trades (desk.py).

A trade setup proposes at most one entry per instrument and side per session,
on an RTH bar (``rth_open < ts_close < rth_close``: not the bar at the RTH
close, where the desk flattens) closing no later than ``last_entry`` (15:30
ET) and outside an event blackout (``event_window`` is ``blocked``). Its entry
is the close of that bar.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from rsengine.exchange import contracts
from rsengine.exchange.sessions import local_ns

from . import confirm
from .context import _clock
from .desk import Candidate, Desk
from .members import MemberRows
from .regime import DEFAULTS as REGIME_DEFAULTS
from .settings import check_settings, count_setting, positive_setting

COMMON = {**confirm.DEFAULTS, "last_entry": "15:30", "atr_bars": 14}
EPS = 1e-9


class TradeSetup:
    """Base of the trade setups; a subclass sets ``DEFAULTS`` and writes
    ``propose(batch, state, rows) -> list[Candidate]`` (called only when some
    row may enter) and, for what it carries between batches, ``prepare``."""

    DEFAULTS: dict = {}
    reads: tuple = ("lead",)
    reads_optional = ("vol_expanding", "event_window", "regime", "afternoon")

    def __init__(self, settings: dict, context):
        self.name = context.name
        self.log = context.log
        s = check_settings(settings, {**COMMON, **self.DEFAULTS})
        self.s = s
        self.last_entry = _clock("last_entry", s["last_entry"])
        self.atr = confirm.shared_atr(context, count_setting("atr_bars", s["atr_bars"]))
        self.internals = confirm.Internals.shared(s, context)
        self.config = context.config
        regime = dict(REGIME_DEFAULTS)
        if "regime" in context.config.indicators:
            regime.update(context.config.indicators["regime"].settings)
        self.chop_cap = float(regime["chop_size_cap"])
        self.afternoon_discount = float(regime["afternoon_discount"])
        self.desk = Desk.of(context)
        self.members = MemberRows.shared(context)
        self.desk.join(self)
        self._fired: set = set()
        self._fired_session = None
        self._latest_session = self._latest = None
        self._ticks: dict = {}  # symbol -> tick size
        self._contracts: dict = {}  # (symbol, day, root) -> contract name

    def positive(self, name: str) -> float:
        return positive_setting(name, self.s[name])

    # -- per batch -------------------------------------------------------------------

    def evaluate_batch(self, batch, state):
        session = state.session
        if self._fired_session is not session:
            self._fired_session, self._fired = session, set()
        self.internals.read(batch, state)
        self.member_rows = self.members.of(batch, state)  # (member, row) arrays
        self.prepare(batch, state)
        rows = self.entry_rows(batch, state)
        candidates = self.propose(batch, state, rows) if rows.any() else []
        return self.desk.submit(self, batch, state, candidates)

    def entry_rows(self, batch, state) -> np.ndarray:
        """Rows an entry may be taken on: RTH, by ``last_entry``, not blocked
        (worked out once per batch for the setups with the same ``last_entry``;
        read-only)."""
        cached = self.desk.entry_rows_cache
        if cached is not None and cached[0] is batch and cached[1] == self.last_entry:
            return cached[2]
        session = state.session
        if self._latest_session is not session:
            day = dt.date.fromisoformat(session.date)
            self._latest = local_ns(day, self.last_entry, state.tz)
            self._latest_session = session
        ts = batch.ts_close  # in time order: the rows are one run
        first = int(np.searchsorted(ts, session.rth_open_ns, side="right"))
        # not on the bar at the RTH close: the desk flattens everything there
        end = min(
            int(np.searchsorted(ts, self._latest, side="right")),
            int(np.searchsorted(ts, session.rth_close_ns, side="left")),
        )
        ok = np.zeros(len(ts), bool)
        ok[first:end] = True
        window = state.values.get("event_window")
        if window is not None and end > first:  # the text compared on these rows only
            ok[first:end] = ~(np.asarray(window)[first:end] == "blocked").any(axis=1)
        ok.flags.writeable = False
        self.desk.entry_rows_cache = (batch, self.last_entry, ok)
        return ok

    def first_new(self, mask: np.ndarray, col: int, side: str) -> int | None:
        """The first row of ``mask`` for an instrument and side that has not
        fired this session; marks it fired."""
        key = (col, side)
        if key in self._fired:
            return None
        j = int(np.argmax(mask)) if len(mask) else 0
        if not len(mask) or not mask[j]:
            return None
        self._fired.add(key)
        return j

    def prepare(self, batch, state) -> None:
        """Follow what the setup carries from batch to batch (every batch)."""

    def propose(self, batch, state, rows) -> list[Candidate]:
        raise NotImplementedError

    def tick_size(self, symbol: str) -> float:
        """The instrument's tick (0 when it has none)."""
        if symbol not in self._ticks:
            try:
                self._ticks[symbol] = float(self.config.instrument(symbol).tick or 0.0)
            except (AttributeError, KeyError):
                self._ticks[symbol] = 0.0
        return self._ticks[symbol]

    # -- records ---------------------------------------------------------------------

    def contract(self, symbol: str, day: str, root: str) -> str:
        """NinjaTrader's name of what is traded on ``day`` (the micro's when sized
        in the micro), or "" without a contract table entry."""
        key = (symbol, day, root)
        if key not in self._contracts:
            self._contracts[key] = self._contract(symbol, day, root)
        return self._contracts[key]

    def _contract(self, symbol: str, day: str, root: str) -> str:
        try:
            inst = self.config.instrument(symbol)
            year, month = inst.contract_on(dt.date.fromisoformat(day))
            return contracts.ninjatrader_name(root, year, month)
        except (AttributeError, KeyError, ValueError, TypeError):
            return ""

    def finish(self, summary) -> None:
        if self.desk.members and self.desk.members[-1] is self:
            self.desk.finish(summary)


def on_tick(price: float, tick: float) -> float:
    """``price`` on the instrument's tick grid (unchanged without a tick size)."""
    if not tick > 0 or not math.isfinite(price):
        return price
    return round(round(price / tick) * tick, 10)


def stop_within_atr(
    entry: float, raw_stop: float, atr: float, sign: int, tick: float = 0.0
) -> tuple[float, str]:
    """``raw_stop`` moved in to at most one ATR from the entry (on the tick
    grid, so never more than one ATR away)."""
    if math.isfinite(atr) and (entry - raw_stop) * sign > atr + EPS:
        distance = math.floor(atr / tick + EPS) * tick if tick > 0 else atr
        return on_tick(entry - sign * distance, tick), f"capped at 1 ATR ({atr:.2f})"
    return on_tick(raw_stop, tick), ""


def prior_extremes(state, symbol: str) -> tuple[float, float]:
    """The prior trade date's high and low of ``symbol`` (NaN before one)."""
    daily = state.daily.get(symbol)
    if daily is None or not daily.dates:
        return (math.nan, math.nan)
    return (float(daily.high[-1]), float(daily.low[-1]))


def nearest_beyond(entry: float, sign: int, choices) -> tuple[float | None, str]:
    """Of ``(price, why)`` choices, the nearest beyond the entry in the trade's
    direction, or ``(None, "none beyond the entry")``."""
    beyond = [(abs(p - entry), p, why) for p, why in choices if (p - entry) * sign > EPS]
    if not beyond:
        return None, "none beyond the entry"
    _, price, why = min(beyond)
    return price, why
