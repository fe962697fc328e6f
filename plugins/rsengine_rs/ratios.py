"""Indicator ``ratios``: session-settlement ratios of every group pair and the
leadership regime they show (DOMAIN.md §3, Method 3).

For each pair A-B of the group (group order, lowercase names), from the
settlements of the sessions completed so far (``state.daily[...].settle``):

* ``ratio_<a>_<b>``: settle_A / settle_B of the last completed session;
* ``ratio_lead_<a>_<b>`` (text): ``A`` or ``B`` when that side outperformed
  ``min_streak`` (3) to ``max_streak`` (5) sessions in a row or by at least
  ``weekly_pct`` (1.5) percentage points over the last ``week`` (5) sessions,
  else ``""`` (see :class:`rsengine_rs.group.SessionRatioStreak`).

The values change only when a session completes, so a whole session shows the
regime known at its open: no look-ahead. Values go in every group member's
column; other instruments get NaN and ``""``.
"""

from __future__ import annotations

import numpy as np

from .group import SessionRatioStreak, pairs
from .leadership import group_layout
from .settings import check_settings, count_setting, number_setting

DEFAULTS = {"min_streak": 3, "max_streak": 5, "weekly_pct": 1.5, "week": 5}


class SessionRatios:
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        self.options = {
            "min_streak": count_setting("min_streak", s["min_streak"]),
            "max_streak": count_setting("max_streak", s["max_streak"]),
            "weekly_pct": number_setting("weekly_pct", s["weekly_pct"], 0.0),
            "week": count_setting("week", s["week"]),
        }
        SessionRatioStreak(**self.options)  # refuses min_streak > max_streak
        self.k = len(context.symbols)
        self.group, self.names = group_layout(context)
        self.symbols = tuple(context.symbols)
        self.pairs = pairs(len(self.group))
        low = [name.lower() for name in self.names]
        self.ratio_names = [f"ratio_{low[a]}_{low[b]}" for a, b in self.pairs]
        self.lead_names = [f"ratio_lead_{low[a]}_{low[b]}" for a, b in self.pairs]
        self.columns = (*self.ratio_names, *self.lead_names)
        self._streaks = [SessionRatioStreak(**self.options) for _ in self.pairs]
        self._session = None  # the session the values are for
        self._fed = None  # the last completed session fed to the streaks
        self._ratio = np.full(len(self.pairs), np.nan)
        self._lead = [""] * len(self.pairs)
        self._rows = None  # each column's row, repeated down every batch

    def update_batch(self, batch, state) -> dict:
        if self._catch_up(state) or self._rows is None:
            self._rows = {}
            for p, (ratio_name, lead_name) in enumerate(
                zip(self.ratio_names, self.lead_names, strict=True)
            ):
                ratio = np.full((1, self.k), np.nan)
                ratio[0, self.group] = self._ratio[p]
                lead = np.full((1, self.k), "", dtype=object)
                lead[0, self.group] = self._lead[p]
                self._rows[ratio_name], self._rows[lead_name] = ratio, lead
        n = len(batch)
        return {name: row.repeat(n, axis=0) for name, row in self._rows.items()}

    def _catch_up(self, state) -> bool:
        """At a new session, feed the session just completed, if every group
        member settled it (a session one member lacks is passed over); whether
        the values changed."""
        if state.session.date == self._session:
            return False
        self._session = state.session.date
        daily = [state.daily[self.symbols[c]] for c in self.group]
        last = {d.dates[-1] if len(d) else None for d in daily}
        if len(last) != 1 or None in last or last == {self._fed}:
            return False
        self._fed = last.pop()
        settles = [d.settle[-1] for d in daily]
        for p, (a, b) in enumerate(self.pairs):
            result = self._streaks[p].update(settles[a], settles[b])
            self._ratio[p] = result["ratio"]
            side = result["regime"]
            self._lead[p] = "" if side is None else self.names[a if side == "a" else b]
        return True
