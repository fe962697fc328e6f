"""Indicator ``fair_value``: NQ against its fair value from the cash Nasdaq-100
(DOMAIN.md §8).

Per row, from the closes of the slice:

* ``nq_fv``: ``NDX * (1 + (rate - dividend_yield) * days / 365)``;
* ``nq_basis``: ``NQ - NDX``;
* ``nq_premium``: ``NQ - nq_fv``;
* ``nq_fv_state`` (text), by the premium: ``rich_arbitrage`` above
  ``rich_arbitrage`` (+20 points: sell-side programs expected, selling NQ and
  buying the stocks), ``rich`` above ``rich`` (+10), ``cheap_arbitrage`` below
  ``cheap_arbitrage`` (-10: buy-side programs expected), ``cheap`` below
  ``cheap`` (0), else ``fair``; ``""`` without a premium. Every comparison is
  strict: a premium of exactly +10 is ``fair``, of exactly -10 ``cheap``.

``rate`` (0.05) and ``dividend_yield`` (0.007) are DOMAIN's r and q, as
fractions; they equal the simulator's, so the demo's NQ trades at the fair
value this indicator computes plus the premium the sim scripted. ``days`` is
the calendar days from the session date to the expiry of the contract NQ
trades that session: the fixed contract of a ``contract: MM-YY`` instrument,
else the front quarterly rolled ``roll_days`` (8) calendar days before its
expiry (the usual equity roll on the Thursday of the week before the third
Friday, as the simulator rolls). ``expiry`` (a date) replaces the contract
calendar for every session. A session after the expiry has no fair value
(NaN).

NQ is the instrument configured as ``NQ`` or standing in for it (``MNQ: {as:
NQ}``); the cash index is the configured symbol ``ndx`` ("NDX"). Without
either the indicator refuses its settings. The values go in the NQ
instrument's column only: the fair value is NQ's own. Every other column gets
NaN and ``""``.

NDX is a cash index and prints only in RTH. A slice without an NDX bar (or
with a bar the aggregator filled, ``bars.fill``) uses the last NDX close
earlier in the same session, as long as the slice closes at or before the
cash close (``rth_close``); after it, and before the session's first NDX
print, the values are NaN. An NDX value is never carried into another
session, so the fair value never rests on a stale cash print. The result does
not depend on how a session is cut into batches.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers

import numpy as np

from rsengine.config import suggestion
from rsengine.core import FILLED, SliceBatch
from rsengine.exchange import contracts

from .settings import check_settings, number_setting

NAN = math.nan
COLUMNS = ("nq_fv", "nq_basis", "nq_premium", "nq_fv_state")
# premium thresholds, lowest first; a state lies below (the first two) or above them
THRESHOLDS = ("cheap_arbitrage", "cheap", "rich", "rich_arbitrage")
DEFAULTS = {
    "ndx": "NDX",
    "rate": 0.05,
    "dividend_yield": 0.007,
    "expiry": None,
    "roll_days": 8,
    "cheap_arbitrage": -10.0,
    "cheap": 0.0,
    "rich": 10.0,
    "rich_arbitrage": 20.0,
}
# nq_fv_state by code: 0 below cheap_arbitrage ... 4 above rich_arbitrage, 5 no premium
STATES = np.array(["cheap_arbitrage", "cheap", "fair", "rich", "rich_arbitrage", ""], dtype=object)


def state_codes(premium: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index into ``STATES`` of each premium, ``levels`` being the settings of
    ``THRESHOLDS``: strictly below one of the lower two, strictly above one of
    the upper two; 5 for NaN."""
    below = np.searchsorted(levels[:2], premium, side="right")  # lower levels <= premium
    above = np.searchsorted(levels[2:], premium, side="left")  # upper levels < premium
    return np.where(np.isnan(premium), 5, below + above)


def _fraction(name: str, value) -> float:
    value = number_setting(name, value)
    if not -1.0 <= value <= 1.0:
        raise ValueError(f"{name} is a fraction per year (0.05 for 5 %), got {value!r}")
    return value


def _roll_days(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"roll_days must be a whole number of days >= 0, got {value!r}")
    return int(value)


def _expiry(value) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"expiry must be a date YYYY-MM-DD, got {value!r}") from None


def _thresholds(s: dict) -> np.ndarray:
    levels = [number_setting(name, s[name]) for name in THRESHOLDS]
    for i in range(len(levels) - 1):
        if levels[i] > levels[i + 1]:
            raise ValueError(
                f"{THRESHOLDS[i]} ({levels[i]:g}) must not be above "
                f"{THRESHOLDS[i + 1]} ({levels[i + 1]:g})"
            )
    return np.array(levels)


def _configured(config, name: str) -> str | None:
    """The configured symbol that is ``name`` or stands in for it (``as``)."""
    try:
        return config.instrument(name).symbol
    except KeyError:
        return None


class FairValue:
    columns = COLUMNS
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        ndx = s["ndx"]
        if not isinstance(ndx, str) or not ndx:
            raise ValueError(f"ndx must be the symbol of the cash index, got {ndx!r}")
        self.rate = _fraction("rate", s["rate"])
        self.dividend_yield = _fraction("dividend_yield", s["dividend_yield"])
        self.expiry = _expiry(s["expiry"])
        self.roll_days = _roll_days(s["roll_days"])
        self.levels = _thresholds(s)

        config = context.config
        nq = _configured(config, "NQ")
        if nq is None:
            raise ValueError(
                "needs NQ: configure NQ, or a micro standing in for it (MNQ: {as: NQ}), "
                "under `instruments:`"
            )
        self.ndx = _configured(config, ndx)
        if self.ndx is None:
            raise ValueError(
                f"needs the cash index {ndx!r} (setting ndx): configure {ndx}: {{}} under "
                f"`instruments:`, or set ndx to the configured one"
                f"{suggestion(ndx, config.instruments)}"
            )
        self.instrument = config.instrument(nq)
        if self.expiry is None and not self.instrument.spec.has_contract_months:
            raise ValueError(
                f"{nq} (root {self.instrument.root}) has no contract months to count "
                "days to expiry from: give `expiry`"
            )
        symbols = tuple(context.symbols)
        self.k = len(symbols)
        self.nq_col, self.ndx_col = symbols.index(nq), symbols.index(self.ndx)
        self._date = None  # the session the carry and the held NDX are for
        self._carry = NAN
        self._ndx = NAN  # the last NDX close of the session so far
        self._cash_close = 0  # the session's rth_close_ns

    def days_on(self, session_date) -> int:
        """Calendar days from ``session_date`` to the expiry NQ trades to that
        session (negative once a fixed contract or ``expiry`` has passed)."""
        day = dt.date.fromisoformat(session_date) if isinstance(session_date, str) else session_date
        expiry = self.expiry
        if expiry is None:
            inst = self.instrument
            month = inst.contract_month or contracts.front_month(inst.root, day, self.roll_days)
            expiry = contracts.expiry(inst.root, month)
        return (expiry - day).days

    def _enter(self, session) -> None:
        if session.date == self._date:
            return
        self._date = session.date
        days = self.days_on(session.date)
        self._carry = 1.0 + (self.rate - self.dividend_yield) * days / 365.0 if days >= 0 else NAN
        self._ndx = NAN
        self._cash_close = session.rth_close_ns

    def _held_ndx(self, batch) -> np.ndarray:
        """Each row's NDX: its own close, else the session's last one up to the
        cash close, else NaN."""
        c = self.ndx_col
        own = batch.present[:, c] & (batch.flags[:, c] & FILLED == 0)
        rows = np.maximum.accumulate(np.where(own, np.arange(len(batch)), -1))
        held = np.where(rows >= 0, batch.close[np.maximum(rows, 0), c], self._ndx)
        held[~own & (batch.ts_close > self._cash_close)] = NAN
        if rows[-1] >= 0:
            self._ndx = float(batch.close[rows[-1], c])
        return held

    def update_batch(self, batch, state) -> dict:
        self._enter(state.session)
        n = len(batch)
        out = {name: np.full((n, self.k), NAN) for name in COLUMNS[:3]}
        out["nq_fv_state"] = np.full((n, self.k), "", dtype=object)
        if not n:
            return out
        ndx = self._held_ndx(batch)
        nq = batch.close[:, self.nq_col]
        fv = ndx * self._carry
        premium = nq - fv
        for name, value in zip(
            COLUMNS,
            (fv, nq - ndx, premium, STATES[state_codes(premium, self.levels)]),
            strict=True,
        ):
            out[name][:, self.nq_col] = value
        return out

    def update(self, slice, state) -> dict:
        """One slice: the batch form on a one-row batch."""
        values = self.update_batch(SliceBatch.from_slices([slice]), state)
        return {name: column[0] for name, column in values.items()}
