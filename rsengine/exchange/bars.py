"""Time bars on an exchange calendar: the core aggregator plus its session grid.

``TimeBars`` loads sessions from the calendar as the data reaches them, so a
caller only says the bar size, the calendar and (optionally) the anchor.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from rsengine.core import BarAggregator, Bars, Rejected
from rsengine.exchange.sessions import (
    DEFAULT_CALENDAR,
    EXCHANGE_TZ,
    load_schedule,
    ns_to_date,
    parse_anchor,
    parse_bar_size,
    segments,
)

_EMPTY = np.empty(0, dtype=np.int64)
STAMPS = ("open", "close")


class TimeBars:
    """Bars of one size for one instrument.

    bar: ``'1min'``, ``'5min'``, ``'1h'``, ``'1d'`` (one bar per session) or ns.
    calendar: a ``pandas_market_calendars`` name (default ``CME Globex Equity``;
    ``CBOT_Equity``, ``CBOT_Bond``, ``CME_Equity`` …).
    anchor: ``None`` aligns edges to the session open; a time such as
    ``'09:30'`` aligns them to that time of day in ``tz``.
    fill: emit flagged empty bars for intervals without trades.
    grid: ``grid(schedule) -> (seg_open, seg_close, seg_anchor)`` replaces the
    usual session grid (e.g. ``sessions.settlement_segments``).
    """

    def __init__(
        self,
        bar: str | int = "1min",
        calendar: str = DEFAULT_CALENDAR,
        anchor: str | None = None,
        tz: str = EXCHANGE_TZ,
        fill: bool = False,
        load_days: int = 45,
        grid=None,
    ):
        self.bar_ns = parse_bar_size(bar)
        self.calendar = calendar
        self.anchor = parse_anchor(anchor)
        self.tz = tz
        self._load_days = load_days
        self._loaded_until: dt.date | None = None
        self._grid = grid or (lambda schedule: segments(schedule, self.bar_ns, self.anchor, tz))
        self.core = BarAggregator(
            self.bar_ns, _EMPTY, _EMPTY, _EMPTY, fill=fill, horizon_callback=self._load_through
        )
        # The live path goes straight to the core: no Python frame per trade.
        self.update = self.core.update
        self.update_bar = self.core.update_bar
        self.update_many = self.core.update_many
        self.flush = self.core.flush
        self.finish = self.core.finish
        self.drain = self.core.drain

    @property
    def late_count(self) -> int:
        return self.core.late_count

    @property
    def off_session_count(self) -> int:
        return self.core.off_session_count

    def take_rejected(self) -> Rejected:
        return self.core.take_rejected()

    def update_bars(
        self,
        ts,
        open,
        high,
        low,
        close,
        volume,
        vwap=None,
        trades=None,
        stamps: str = "open",
        input_bar: str | int | None = None,
    ) -> Bars:
        """Combine input bars into this size.

        ``stamps`` says whether ``ts`` marks the input bars' open or close; a
        close stamp needs ``input_bar`` (the input bar size) to find the open.
        The input size must divide this one, so each input bar lies in one bar.
        Knowing it also tells ``finish()`` whether the last input bar reaches
        the open bar's close (a complete bar) or not (``PARTIAL``); without it
        the last bar is always ``PARTIAL``.
        """
        if stamps not in STAMPS:
            raise ValueError(f"stamps must be 'open' or 'close', not {stamps!r}")
        ts = np.asarray(ts, dtype=np.int64)
        in_ns = 0
        if input_bar is not None:
            in_ns = parse_bar_size(input_bar)
            if self.bar_ns % in_ns:
                raise ValueError(
                    f"input bars of {input_bar!r} do not divide bars of {self.bar_ns // 10**9}s"
                )
            if stamps == "close":
                ts = ts - in_ns
        elif stamps == "close":
            raise ValueError("input bars stamped at their close need input_bar, their size")
        return self.core.update_bars(ts, open, high, low, close, volume, vwap, trades, in_ns)

    def _load_through(self, ts_ns: int) -> None:
        day = ns_to_date(ts_ns, self.tz)
        if self._loaded_until is None:
            start = day - dt.timedelta(days=4)
        else:
            start = self._loaded_until + dt.timedelta(days=1)
        end = max(day, start) + dt.timedelta(days=self._load_days)
        schedule = load_schedule(start, end, self.calendar)
        seg_open, seg_close, seg_anchor = self._grid(schedule)
        keep = seg_open >= self.core.horizon
        self.core.extend(seg_open[keep], seg_close[keep], seg_anchor[keep])
        self._loaded_until = end
