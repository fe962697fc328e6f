"""Indicator ``regime``: market regime and filters (DOMAIN.md §5).

Market-wide columns, the same in every instrument's column of a row:

* ``regime`` (text): ``event`` > ``chop`` > ``trend`` > ``neutral``, the first
  rule that holds.

  - ``event``: a release of the event calendar lies within
    ``blackout_minutes`` (15) of the bar close, before or after, both ends
    included.
  - ``chop``, from the bar closing at ``rth_open + chop_minutes`` (30) to the
    session end, when (a) the ES opening range is narrow: ``or_high - or_low
    < chop_range_atr (0.25) x atr`` (points, the ``measures`` values of the ES
    slot) and the ES volume of the bars inside ``[rth_open, rth_open +
    chop_minutes]`` is below ``chop_volume (1.0) x`` the mean of that volume
    over the previous ``chop_volume_sessions`` (20) sessions that had one
    (with no such session the volume test is skipped), or (b) the leader
    (highest ``lead``, ties to the earlier member) changes at least
    ``chop_rotations`` (2) times from one bar to the next over the bars
    closing in ``(rth_open, rth_open + chop_minutes]`` (rows without a leader
    are passed over).
  - ``trend``: the ES slot's close > its ``vwap20`` and ``vol_expanding``.

  The ES slot is the group member named ``ES``, else the first member.
* ``afternoon``: the bar closes after ``afternoon`` (14:00) in ``state.tz``.
* ``event_window`` (text): ``blocked`` as for ``event``; else ``quality`` when a
  release was ``quality_minutes`` ([20, 45]) minutes before the bar close
  (both ends included); else ``""``.
* ``divergent``: ``corr_es_nq < corr_threshold`` (0.85); a NaN correlation is
  not divergent.
* ``size_factor``: 1.0; at most ``chop_size_cap`` (0.25) in chop; times
  ``afternoon_discount`` (0.5) in the afternoon; 0 in an event.

Per group member (0/False for other instruments):

* ``persist15``: the signed count of consecutive ``persistence_bar`` (15
  minute) bars of this session, up to the last one completed by the row's
  close, whose lead (``lead15``: RS% of the bar close from the settlement prior
  close, minus the mean of the other members') is ``>= persist_lead`` (0.2,
  + leading) or ``<= -persist_lead`` (- lagging); 0 when the last one is
  inside the band or has no lead. The 15-minute bars are built from the
  primary bars by the core's :class:`rsengine.exchange.bars.TimeBars` (each
  instrument's calendar, the session anchor of the config), flushed at each
  batch's last close: a bar is complete once a row closes at or after its end.
* ``persistent``: ``|persist15| >= persist_bars`` (2).

Events come from the file ``events`` (csv or yaml, see docs/events.md; a
relative path is read against the config's folder) and from every source
that has ``events()`` (the simulator's releases).

Missing inputs: a rule whose values are not in ``state.values`` is skipped and
never fires: without ``vwap20``/``vol_expanding`` no trend, without
``or_high``/``or_low``/``atr`` no narrow-range chop, without ``lead`` no
rotation chop, without ``corr_es_nq`` (or without ES and NQ in the group)
never divergent.

Any split of a session into batches gives the same output.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import deque
from pathlib import Path

import numpy as np

from rsengine.core import empty_chop_carry, lead_streaks, opening_chop
from rsengine.exchange.bars import TimeBars
from rsengine.exchange.events import EventCalendar
from rsengine.exchange.sessions import DEFAULT_CALENDAR, parse_bar_size

from .leadership import group_layout
from .settings import check_settings, count_setting, number_setting

NAN = math.nan
MINUTE_NS = 60 * 10**9
REGIMES = np.array(["event", "chop", "trend", "neutral"], dtype=object)
WINDOWS = np.array(["blocked", "quality", ""], dtype=object)
COLUMNS = (
    "regime",
    "afternoon",
    "event_window",
    "divergent",
    "persist15",
    "persistent",
    "size_factor",
)
DEFAULTS = {
    "events": None,
    "blackout_minutes": 15,
    "quality_minutes": (20, 45),
    "chop_range_atr": 0.25,
    "chop_volume": 1.0,
    "chop_volume_sessions": 20,
    "chop_minutes": 30,
    "chop_rotations": 2,
    "afternoon": "14:00",
    "afternoon_discount": 0.5,
    "chop_size_cap": 0.25,
    "corr_threshold": 0.85,
    "persistence_bar": "15min",
    "persist_lead": 0.2,
    "persist_bars": 2,
}


def _time_of_day(value) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)  # YAML 1.1 reads 14:00 as 840 (base 60)
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"afternoon must be a time such as '14:00', got {value!r}") from None


class Regime:
    columns = COLUMNS
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        self.blackout_minutes = number_setting("blackout_minutes", s["blackout_minutes"], 0.0)
        quality = s["quality_minutes"]
        if (
            isinstance(quality, (str, bytes))
            or not hasattr(quality, "__len__")
            or len(quality) != 2
        ):
            raise ValueError(f"quality_minutes must be [start, end], got {quality!r}")
        self.quality_minutes = tuple(number_setting("quality_minutes", q, 0.0) for q in quality)
        self.chop_range_atr = number_setting("chop_range_atr", s["chop_range_atr"], 0.0)
        self.chop_volume = number_setting("chop_volume", s["chop_volume"], 0.0)
        self.chop_ns = round(number_setting("chop_minutes", s["chop_minutes"], 0.0) * MINUTE_NS)
        self.chop_rotations = count_setting("chop_rotations", s["chop_rotations"])
        self.afternoon = _time_of_day(s["afternoon"])
        self.afternoon_discount = number_setting("afternoon_discount", s["afternoon_discount"], 0.0)
        self.chop_size_cap = number_setting("chop_size_cap", s["chop_size_cap"], 0.0)
        self.corr_threshold = number_setting("corr_threshold", s["corr_threshold"])
        self.persist_lead = number_setting("persist_lead", s["persist_lead"], 0.0)
        self.persist_bars = count_setting("persist_bars", s["persist_bars"])

        config = getattr(context, "config", None)
        self.calendar = EventCalendar(
            (), blackout_minutes=self.blackout_minutes, quality_minutes=self.quality_minutes
        )
        if s["events"] is not None:
            path = Path(str(s["events"])).expanduser()
            if not path.is_absolute():
                path = Path(getattr(config, "base_dir", None) or ".") / path
            self.calendar = self.calendar.merge(EventCalendar.load(path))
        self._sources = tuple(getattr(context, "sources", ()) or ())
        self._sources_read = False

        self.k = len(context.symbols)
        self.group, self.names = group_layout(context)
        self.es = self.group[self.names.index("ES") if "ES" in self.names else 0]
        self.corr_name = None
        if "ES" in self.names and "NQ" in self.names:
            a, b = sorted((self.names.index("ES"), self.names.index("NQ")))
            self.corr_name = f"corr_{self.names[a].lower()}_{self.names[b].lower()}"
        # each rule runs when its inputs are configured (see "Missing inputs")
        self.reads_optional = (
            *((self.corr_name,) if self.corr_name else ()),
            "vwap20", "vol_expanding", "or_high", "or_low", "atr", "lead",
        )  # fmt: skip

        self.persist_ns = parse_bar_size(s["persistence_bar"])
        if self.persist_ns % int(context.bar_ns):
            raise ValueError(
                f"persistence_bar {s['persistence_bar']!r} is not a whole number of "
                f"primary bars ({int(context.bar_ns) // 10**9}s)"
            )
        self.bar_ns = int(context.bar_ns)
        session = getattr(config, "session", None)
        tz = getattr(session, "timezone", None) or "America/New_York"
        anchor = getattr(session, "anchor", None)
        self._bars = []  # one TimeBars per member: the core builds the 15-minute bars
        for col in self.group:
            calendar = None
            if config is not None:
                calendar = config.instrument(context.symbols[col]).calendar or session.calendar
            calendar = calendar or DEFAULT_CALENDAR
            # a year of sessions at a time: the schedule loads cost per call
            self._bars.append(TimeBars(self.persist_ns, calendar, anchor, tz, load_days=366))
        self._g = list(self.group)
        self._whole = self._g == list(range(self.k))  # members are every column, in order
        self._event_ts = None
        # whole rows of each text value, taken by row: faster than filling text columns
        self._regime_rows = REGIMES[:, None].repeat(self.k, axis=1)
        self._window_rows = WINDOWS[:, None].repeat(self.k, axis=1)
        self._blank = self._window_rows[[2]]

        self._or_history: deque[float] = deque(
            maxlen=count_setting("chop_volume_sessions", s["chop_volume_sessions"])
        )
        self._date = None
        self._start_session(None, None)

    # -- sessions ---------------------------------------------------------------

    def _start_session(self, session, state) -> None:
        or_volume = self._chop_carry[0] if self._date is not None else 0.0
        if self._date is not None and self._or_done and or_volume > 0:
            self._or_history.append(or_volume)
        self._date = None if session is None else session.date
        self._or_done = False  # a row closed at or after the opening-window end
        # window volume, narrow range (1.0 / 0.0 once the ES range and ATR are
        # known), last leader inside the opening window, its changes
        self._chop_carry = empty_chop_carry()
        self._streak = np.zeros(len(self.group), np.int64)
        if session is None:
            return
        self._or_mean = None
        if self._or_history:  # np.mean, without its overhead: the same sum over the count
            self._or_mean = float(np.add.reduce(np.array(self._or_history)) / len(self._or_history))
        tz = zoneinfo.ZoneInfo(getattr(state, "tz", None) or "America/New_York")
        day = dt.date.fromisoformat(session.date)
        at = dt.datetime.combine(day, self.afternoon, tzinfo=tz)
        self._afternoon_ns = int(at.timestamp()) * 10**9 + at.microsecond * 1000
        self._window = (session.rth_open_ns, session.rth_open_ns + self.chop_ns)
        prior = [state.prior_close(state.symbols[c]) for c in self.group]
        self._prior = np.array([NAN if p is None else p for p in prior], dtype=float)

    def _read_sources(self) -> None:
        self._sources_read = True
        found = []
        for source in self._sources:
            events = getattr(source, "events", None)
            if callable(events):
                found.extend(events())
        if found:
            self.calendar = self.calendar.merge(found)

    # -- the batch --------------------------------------------------------------

    def update_batch(self, batch, state) -> dict:
        n = len(batch)
        k = self.k
        if n == 0:
            return {
                "regime": np.full((0, k), "", dtype=object),
                "afternoon": np.zeros((0, k), np.bool_),
                "event_window": np.full((0, k), "", dtype=object),
                "divergent": np.zeros((0, k), np.bool_),
                "persist15": np.zeros((0, k), np.int64),
                "persistent": np.zeros((0, k), np.bool_),
                "size_factor": np.full((0, k), NAN),
            }
        if not self._sources_read:
            self._read_sources()
        if state.session.date != self._date:
            self._start_session(state.session, state)
        values = state.values
        ts = np.asarray(batch.ts_close, dtype=np.int64)

        afternoon = ts > self._afternoon_ns
        chop = self._chop(batch, values, ts)
        trend = self._trend(batch, values)
        size = np.where(chop, min(1.0, self.chop_size_cap), 1.0)
        size = np.where(afternoon, size * self.afternoon_discount, size)
        regime = np.where(chop, 1, 3 - trend)  # REGIMES: event, chop, trend, neutral
        if self._near_event(ts):
            blocked, quality = self.calendar.flags(ts)
            regime = np.where(blocked, 0, regime)
            window = self._window_rows.take(np.where(blocked, 0, 2 - quality), axis=0)
            size = np.where(blocked, 0.0, size)
        else:
            window = self._no_window(n)
        if self.corr_name in values:
            with np.errstate(invalid="ignore"):
                divergent = np.asarray(values[self.corr_name], float)[:, self.es] < (
                    self.corr_threshold
                )
            divergent = divergent[:, None].repeat(k, axis=1)
        else:
            divergent = np.zeros((n, k), np.bool_)
        persist = self._persistence(batch, state, ts)
        persistent = np.abs(persist) >= self.persist_bars
        if not self._whole:
            persist, persistent = self._spread(persist, 0), self._spread(persistent, False)
        return {
            "regime": self._regime_rows.take(regime, axis=0),
            "afternoon": afternoon[:, None].repeat(k, axis=1),
            "event_window": window,
            "divergent": divergent,
            "persist15": persist,
            "persistent": persistent,
            "size_factor": size[:, None].repeat(k, axis=1),
        }

    def _no_window(self, n: int) -> np.ndarray:
        """``(n, k)`` of "" (no event window)."""
        if len(self._blank) < n:
            self._blank = self._window_rows[[2]].repeat(2 * n, axis=0)
        return self._blank[:n].copy()

    def _spread(self, a: np.ndarray, fill) -> np.ndarray:
        """(n, k) column of the members' values ``a`` (n, m), ``fill`` elsewhere."""
        out = np.full((len(a), self.k), fill, dtype=a.dtype)
        out[:, self._g] = a
        return out

    def _near_event(self, ts: np.ndarray) -> bool:
        """Whether a counted release lies close enough to the batch to block or
        qualify any of its rows (else every flag is False)."""
        if self._event_ts is None:
            self._event_ts = np.array(sorted(e.ts_ns for e in self.calendar.active), np.int64)
            cal = self.calendar
            self._event_reach = (max(cal.blackout_ns, *cal.quality_ns), cal.blackout_ns)
        before, after = self._event_reach
        i = np.searchsorted(self._event_ts, ts[0] - before)
        return bool(i < len(self._event_ts) and self._event_ts[i] <= ts[-1] + after)

    def _trend(self, batch, values) -> np.ndarray:
        if "vwap20" not in values or "vol_expanding" not in values:
            return np.zeros(len(batch), np.bool_)
        es = self.es
        vwap20 = np.asarray(values["vwap20"], float)[:, es]
        expanding = np.asarray(values["vol_expanding"])[:, es].astype(bool, copy=False)
        with np.errstate(invalid="ignore"):
            return (batch.close[:, es] > vwap20) & expanding

    def _chop(self, batch, values, ts) -> np.ndarray:
        """Rows in chop (the core's opening_chop on the ES slot)."""
        es = self.es
        width = atr = lead = None
        if all(name in values for name in ("or_high", "or_low", "atr")):
            width = (
                np.asarray(values["or_high"], float)[:, es]
                - np.asarray(values["or_low"], float)[:, es]
            )
            atr = np.asarray(values["atr"], float)[:, es]
        if "lead" in values:
            lead = np.asarray(values["lead"], float)
            lead = lead if self._whole else lead[:, self._g]
        settings = (self.chop_range_atr, self.chop_volume, self._or_mean, self.chop_rotations)
        start, end = self._window
        chop, self._chop_carry, done = opening_chop(
            ts, batch.ts_open[:, es], batch.present[:, es], batch.volume[:, es],
            start, end, width, atr, lead, settings, self._chop_carry,
        )  # fmt: skip
        self._or_done |= done
        return chop

    def _persistence(self, batch, state, ts) -> np.ndarray:
        """(n, members) persist15 of each row."""
        session = state.session
        stamps, closes = [], []  # of each member's 15-minute bars completed now
        prices = (batch.ts_open, batch.open, batch.high, batch.low, batch.close, batch.volume)
        by_column = [np.ascontiguousarray(p.T) for p in prices]  # one copy, not one a member
        for tb, col in zip(self._bars, self.group, strict=True):
            present = batch.present[:, col]
            if present.all():
                parts = [tb.update_bars(*(p[col] for p in by_column))]
            else:
                rows = np.flatnonzero(present)
                parts = [tb.update_bars(*(p[rows, col] for p in prices))] if len(rows) else []
            parts.append(tb.flush(int(ts[-1])))
            parts = [bars for bars in parts if len(bars)] or parts[-1:]
            if len(parts) == 1:
                member_stamps, member_closes = parts[0].ts_close, parts[0].close
            else:
                member_stamps = np.concatenate([b.ts_close for b in parts], dtype=np.int64)
                member_closes = np.concatenate([b.close for b in parts], dtype=np.float64)
            keep = member_stamps > session.open_ns  # not a last bar of the session before
            if not keep.all():
                member_stamps, member_closes = member_stamps[keep], member_closes[keep]
            stamps.append(member_stamps)
            closes.append(member_closes)
        persist, self._streak = lead_streaks(
            stamps, closes, self._prior, self.persist_lead, self._streak, ts
        )
        return persist
