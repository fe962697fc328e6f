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

    def update_batch(self, batch, state) -> dict:
        self._catch_up(state)
        n = len(batch)
        members = list(self.group)
        out = {}
        for p, (ratio_name, lead_name) in enumerate(
            zip(self.ratio_names, self.lead_names, strict=True)
        ):
            ratio = np.full((n, self.k), np.nan)
            ratio[:, members] = self._ratio[p]
            lead = np.full((n, self.k), "", dtype=object)
            lead[:, members] = self._lead[p]
            out[ratio_name], out[lead_name] = ratio, lead
        return out

    def _catch_up(self, state) -> None:
        """At a new session, feed the session just completed, if every group
        member settled it (a session one member lacks is passed over)."""
        if state.session.date == self._session:
            return
        self._session = state.session.date
        daily = [state.daily[self.symbols[c]] for c in self.group]
        last = {d.dates[-1] if len(d) else None for d in daily}
        if len(last) != 1 or None in last or last == {self._fed}:
            return
        self._fed = last.pop()
        settles = [d.settle[-1] for d in daily]
        for p, (a, b) in enumerate(self.pairs):
            result = self._streaks[p].update(settles[a], settles[b])
            self._ratio[p] = result["ratio"]
            side = result["regime"]
            self._lead[p] = "" if side is None else self.names[a if side == "a" else b]
