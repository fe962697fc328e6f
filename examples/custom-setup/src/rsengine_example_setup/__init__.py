"""Setup ``rs_leader``: an example of an rsengine plugin packaged on its own.

On every slice the group's leader is the member with the highest ``rs_pct``
(the column of the ``rs`` indicator). Its lead is its ``rs_pct`` minus the mean
``rs_pct`` of the other members, in percentage points. The first time in a
session that the lead reaches ``threshold``, the setup emits one long signal on
the leader: entry at its close, stop one session range (its highest high minus
its lowest low since the session opened) below the entry. After that it stays
quiet until the next session.

A slice where a group member has no bar, or no prior close yet (the first
session of a replay), has no leader and is skipped.

Settings (``setups: {rs_leader: {threshold: 0.2}}``):

``threshold``
    The lead, in percentage points, that triggers the signal; more than 0.
    Default 0.2.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import rsengine
from rsengine.model import Signal

__version__ = "0.1.0"

SETTINGS = ("threshold",)
DEFAULT_THRESHOLD = 0.2


@rsengine.hookimpl
def rsengine_register_setups(registry):
    registry.add(
        "rs_leader",
        RsLeader,
        "long the group leader the first time in a session its RS% lead reaches a threshold",
    )


def threshold_setting(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"threshold must be a number of percentage points, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"threshold must be more than 0, got {value!r}")
    return float(value)


class RsLeader:
    """The setup object the host builds once per run from the YAML entry."""

    def __init__(self, settings: dict, context):
        # A ValueError here becomes a config error pointing at the YAML entry.
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; valid: {list(SETTINGS)}")
        self.threshold = threshold_setting(settings.get("threshold", DEFAULT_THRESHOLD))
        if "rs_pct" not in context.columns:
            raise ValueError(
                "needs the rs_pct column: configure the rs indicator (indicators: {rs: {}})"
            )
        self.name = context.name
        self.config = context.config
        self.source = ",".join(context.data_labels)  # "SIMULATED" on the built-in market
        self.group = context.config.group_symbols  # configured symbols (MES for ES ...)
        self.members = np.array([context.symbols.index(s) for s in self.group])
        self._date = None  # session being watched
        self._first_close = 0  # ts_close of its first slice
        self._fired = False

    def evaluate(self, slice_, state) -> list[Signal]:
        if state.session.date != self._date:
            self._date, self._first_close, self._fired = state.session.date, slice_.ts_close, False
        if self._fired:
            return []
        rs = state.values["rs_pct"][self.members]
        if np.isnan(rs).any():  # a member without a bar or without a prior close
            return []
        k = int(np.argmax(rs))
        others = float(np.delete(rs, k).mean())
        lead = float(rs[k]) - others
        if lead < self.threshold:
            return []
        self._fired = True
        return [self._signal(slice_, state, self.group[k], float(rs[k]), others, lead)]

    def _signal(self, slice_, state, symbol, leader_rs, others, lead) -> Signal:
        close = float(slice_.close[state.index(symbol)])
        ring = state.rings[symbol]
        # this session's bars: those closing at or after the session's first slice
        first = int(np.searchsorted(ring.column("ts_close"), self._first_close))
        session_range = float(ring.column("high")[first:].max() - ring.column("low")[first:].min())
        date = state.session.date
        contract = self.config.instrument(symbol).ninjatrader_name(dt.date.fromisoformat(date))
        return Signal(
            ts_close=int(slice_.ts_close),
            session_date=date,
            name=self.name,
            kind="setup",
            instrument=symbol,
            contract=contract or "",
            side="long",
            confirmations=("rs",),
            source=self.source,
            entry=close,
            stop=close - session_range,
            reason=(
                f"{symbol} leads the group by {lead:.2f} pts of RS% "
                f"({leader_rs:+.2f}% vs {others:+.2f}% for the others)"
            ),
            details={
                "lead_pct": lead,
                "threshold": self.threshold,
                "session_range": session_range,
            },
        )
