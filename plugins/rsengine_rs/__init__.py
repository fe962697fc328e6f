"""Relative-strength plugins: indicators ``rs``, ``measures``, ``group``,
``ratios``, ``regime``, ``fair_value`` (NQ against its fair value from the
cash NDX) and ``internals`` ($TICK and $ADD), setup ``context``, and source
``basket`` ($TICK and $ADD computed from stock trades) (docs/analytics.md).

Indicator ``rs``: RS% of each instrument from its prior close (DOMAIN.md §3).

``rs_pct = (close - prior_close) / prior_close * 100`` on every bar. The prior
close is, by ``prior_close``:

* ``settlement`` (default): the prior session's settlement, the VWAP of trades
  in the 30 s before 16:00 ET (or before an early close). Fallback when that
  window had no trade, or the data are bars: the close of the last bar ending
  at or before 16:00 ET (``rth_last``).
* ``rth_last``: that RTH last price.
* ``globex_close``: the close of the prior session's last bar (17:00 ET).
* a number: that price for every instrument, every session.

Never the session open: overnight gaps show. Before the first complete prior
session the value is NaN. Market internals (root ``$TICK`` or ``$ADD``) are
readings, not prices: their RS% is always NaN. ``NDX`` is a price index and
has one.
"""

from __future__ import annotations

import math

import numpy as np

import rsengine
from rsengine.exchange.settlement import PRIOR_CLOSE_METHODS

from .internals import internal_mask


@rsengine.hookimpl
def rsengine_register_indicators(registry):
    from .fair_value import FairValue
    from .internals import MarketInternals
    from .leadership import GroupMeasures
    from .measures import Measures
    from .ratios import SessionRatios
    from .regime import Regime

    registry.add("rs", RelativeStrength, "RS% from the prior close (column rs_pct)")
    registry.add(
        "measures", Measures, "per instrument: VWAPs, RSI, volume, opening range, daily ATR"
    )
    registry.add("group", GroupMeasures, "lead, rank, spreads, momentum divergence, correlation")
    registry.add("ratios", SessionRatios, "session-settlement ratios and leadership streaks")
    registry.add("regime", Regime, "trend, chop, event windows, afternoon, 15-min persistence")
    registry.add("fair_value", FairValue, "NQ fair value from NDX: basis, premium, rich/cheap")
    registry.add("internals", MarketInternals, "$TICK and $ADD: last, high/low, zone, slope")


@rsengine.hookimpl
def rsengine_register_sources(registry):
    from .basket import BasketSource

    registry.add("basket", BasketSource, "$TICK and $ADD computed from a basket of stock trades")


@rsengine.hookimpl
def rsengine_register_setups(registry):
    from .context import ContextSignals

    registry.add("context", ContextSignals, "context signals: NQ/ES, RTY/ES, highs, bonds, ...")


def prior_close_setting(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"prior_close {value!r} must be a positive price")
        return float(value)
    if value not in PRIOR_CLOSE_METHODS:
        choices = ", ".join(PRIOR_CLOSE_METHODS)
        raise ValueError(f"prior_close {value!r} is not one of {choices} or a price")
    return value


class RelativeStrength:
    columns = ("rs_pct",)
    SETTINGS = ("prior_close",)

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.method = prior_close_setting(settings.get("prior_close", "settlement"))
        self._internal = internal_mask(context)
        self._session = None
        self._prior = None

    def update_batch(self, batch, state):
        if state.session is not self._session:
            self._session = state.session
            self._prior = np.array(
                [
                    math.nan if internal else self._prior_close(state, s)
                    for s, internal in zip(state.symbols, self._internal, strict=True)
                ],
                dtype=np.float64,
            )
        return {"rs_pct": (batch.close - self._prior) / self._prior * 100.0}

    def _prior_close(self, state, symbol):
        if isinstance(self.method, float):
            return self.method
        price = state.prior_close(symbol, self.method)
        return math.nan if price is None else price
