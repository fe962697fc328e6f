"""Daily settlement and the other 'prior close' prices of each session.

Settlement (DOMAIN.md §2): the volume-weighted price of trades in the 30
seconds before the RTH close (16:00 ET, or the session close on an early-close
day). With bars only, or with no trade in that window, the close of the last
bar ending at or before 16:00 ET stands in (``rth_last``).

Holiday halts (DOMAIN.md §2): on MLK, Presidents', Memorial, Juneteenth,
Independence, Labor and Thanksgiving Day CME halts equity trading at 13:00 ET
and publishes no settlement; the halted trades belong to the next trade date,
whose prior settlement is the last one published. So a halt session, told
apart from an early close (13:15 ET, which settles) by the exchange calendar
(:func:`rsengine.exchange.sessions.is_halt`), is never a *prior* session: the session
after MLK Day measures from Friday's prices, by every method:

* ``settlement`` and ``rth_last``: Friday's settlement / RTH last price;
* ``globex_close``: Friday's 17:00 ET close too, not the halt's 13:00 close.
  The halt's trading is part of the next trade date (CME dates it so), so the
  holiday's move shows in that date's RS%, as it does with a settlement.

The halt session keeps its own prices (``price(date, ...)``) for whoever wants
that day's bar; during the halt session itself the prior is Friday's as usual.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from rsengine.exchange.sessions import (
    DEFAULT_CALENDAR,
    EXCHANGE_TZ,
    is_halt,
    load_schedule,
    ns_to_date,
    settlement_segments,
)

PRIOR_CLOSE_METHODS = ("settlement", "rth_last", "globex_close")


class SettlementTracker:
    """Accumulates price x size in each session's settlement window."""

    def __init__(self, calendar: str, tz: str = EXCHANGE_TZ):
        self.calendar, self.tz = calendar, tz
        self._starts = np.empty(0, np.int64)
        self._ends = np.empty(0, np.int64)
        self._dates: list[str] = []
        self._loaded: tuple[dt.date, dt.date] | None = None
        self._pv: dict[str, float] = {}
        self._volume: dict[str, float] = {}

    def add_trades(self, ts: np.ndarray, price: np.ndarray, size: np.ndarray) -> None:
        if not len(ts):
            return
        self._load(int(ts[0]), int(ts[-1]))
        window = np.searchsorted(self._ends, ts, side="right")
        valid = window < len(self._ends)
        inside = valid & (ts >= self._starts[np.minimum(window, len(self._ends) - 1)])
        if not inside.any():
            return
        for w in np.unique(window[inside]):
            pick = inside & (window == w)
            date = self._dates[w]
            self._pv[date] = self._pv.get(date, 0.0) + float(np.dot(price[pick], size[pick]))
            self._volume[date] = self._volume.get(date, 0.0) + float(size[pick].sum())

    def settlement(self, session_date: str) -> float | None:
        volume = self._volume.get(session_date, 0.0)
        return self._pv[session_date] / volume if volume > 0 else None

    def _load(self, first_ns: int, last_ns: int) -> None:
        lo = ns_to_date(first_ns, self.tz) - dt.timedelta(days=1)
        hi = ns_to_date(last_ns, self.tz) + dt.timedelta(days=1)
        if self._loaded and self._loaded[0] <= lo and hi <= self._loaded[1]:
            return
        if self._loaded:
            lo, hi = min(lo, self._loaded[0]), max(hi, self._loaded[1] + dt.timedelta(days=30))
        else:
            hi = hi + dt.timedelta(days=30)
        schedule = load_schedule(lo, hi, self.calendar)
        self._starts, self._ends, _ = settlement_segments(schedule, tz=self.tz)
        self._dates = [str(d) for d in schedule.session_date]
        self._loaded = (lo, hi)


class SessionCloses:
    """Per instrument and session: settlement, RTH last and Globex close.

    ``calendar`` decides which sessions are holiday halts; by default the
    tracker's calendar (the instrument's), else ``CME Globex Equity``.
    """

    def __init__(
        self,
        tracker: SettlementTracker | None,
        tz: str = EXCHANGE_TZ,
        calendar: str | None = None,
    ):
        self.tracker = tracker
        self.tz = tz
        self.calendar = calendar or (tracker.calendar if tracker is not None else DEFAULT_CALENDAR)
        self.rth_last: dict[str, float] = {}
        self.globex_close: dict[str, float] = {}
        self.sessions: list[str] = []  # dates with a bar, in order

    def on_bars(self, session_date: str, ts_close, close, rth_end_ns: int) -> None:
        """Several bars of one session, in time order."""
        if not self.sessions or self.sessions[-1] != session_date:
            self.sessions.append(session_date)
        in_rth = np.flatnonzero(ts_close <= rth_end_ns)
        if len(in_rth):
            self.rth_last[session_date] = float(close[in_rth[-1]])
        self.globex_close[session_date] = float(close[-1])

    def prior_session(self, session_date: str) -> str | None:
        """The last session with a bar before ``session_date`` that is not a
        holiday halt: the trade date every prior close method reads."""
        for date in reversed(self.sessions):
            if date < session_date and not is_halt(date, self.calendar, self.tz):
                return date
        return None

    def price(self, session_date: str, method: str) -> float | None:
        if method == "globex_close":
            return self.globex_close.get(session_date)
        if method == "settlement" and self.tracker is not None:
            settled = self.tracker.settlement(session_date)
            if settled is not None:
                return settled
        return self.rth_last.get(session_date)
