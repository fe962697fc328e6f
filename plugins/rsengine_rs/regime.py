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
  primary bars with :class:`rsengine.bars.TimeBars` on each instrument's
  calendar and the session anchor of the config; a bar is complete once a row
  closes at or after its end.
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

from rsengine.bars import TimeBars
from rsengine.events import EventCalendar
from rsengine.sessions import DEFAULT_CALENDAR, parse_bar_size

from .group import lead_rows, leader_laggard_rows
from .leadership import check_settings, count_setting, group_layout, number_setting

NAN = math.nan
MINUTE_NS = 60 * 10**9
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


def _ffill(x: np.ndarray, carry: float) -> np.ndarray:
    """``x`` with each NaN replaced by the last value before it (``carry``
    before the first)."""
    idx = np.where(np.isnan(x), -1, np.arange(len(x)))
    idx = np.maximum.accumulate(idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], carry)


def signed_runs(sign: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Per column of ``sign`` (-1, 0, +1 per step): the signed length of the
    run of equal nonzero signs ending at each step, continuing ``carry`` (the
    signed run before the first step)."""
    steps = np.arange(len(sign))[:, None]
    change = np.ones(sign.shape, bool)
    change[1:] = sign[1:] != sign[:-1]
    start = np.maximum.accumulate(np.where(change, steps, 0), axis=0)
    run = steps - start + 1
    continues = (start == 0) & (sign == np.sign(carry)) & (sign != 0)
    run = run + np.where(continues, np.abs(carry), 0)
    return (sign * run).astype(np.int64)


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
        self._bars = []
        for col in self.group:
            calendar = None
            if config is not None:
                symbol = context.symbols[col]
                calendar = config.instrument(symbol).calendar or session.calendar
            self._bars.append(TimeBars(self.persist_ns, calendar or DEFAULT_CALENDAR, anchor, tz))

        self._or_history: deque[float] = deque(
            maxlen=count_setting("chop_volume_sessions", s["chop_volume_sessions"])
        )
        self._date = None
        self._start_session(None, None)

    # -- sessions ---------------------------------------------------------------

    def _start_session(self, session, state) -> None:
        if self._date is not None and self._or_done and self._or_volume > 0:
            self._or_history.append(self._or_volume)
        self._date = None if session is None else session.date
        self._or_volume = 0.0
        self._or_done = False  # a row closed at or after the opening-window end
        self._narrow = NAN  # 1.0 / 0.0 once the ES range and ATR are known
        self._leader = -1  # last leader inside the opening window
        self._rotations = 0
        self._streak = np.zeros(len(self.group), np.int64)
        if session is None:
            return
        self._or_mean = float(np.mean(self._or_history)) if self._or_history else None
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
        out = {
            "regime": np.full((n, k), "", dtype=object),
            "afternoon": np.zeros((n, k), np.bool_),
            "event_window": np.full((n, k), "", dtype=object),
            "divergent": np.zeros((n, k), np.bool_),
            "persist15": np.zeros((n, k), np.int64),
            "persistent": np.zeros((n, k), np.bool_),
            "size_factor": np.full((n, k), NAN),
        }
        if n == 0:
            return out
        if not self._sources_read:
            self._read_sources()
        if state.session.date != self._date:
            self._start_session(state.session, state)
        values = state.values
        ts = np.asarray(batch.ts_close, dtype=np.int64)

        blocked, quality = self.calendar.flags(ts)
        afternoon = ts > self._afternoon_ns
        chop = self._chop(batch, values, ts)
        trend = self._trend(batch, values)
        regime = np.select([blocked, chop, trend], ["event", "chop", "trend"], "neutral")
        window = np.where(blocked, "blocked", np.where(quality, "quality", ""))
        size = np.where(chop, min(1.0, self.chop_size_cap), 1.0)
        size = np.where(afternoon, size * self.afternoon_discount, size)
        size = np.where(blocked, 0.0, size)
        divergent = np.zeros(n, np.bool_)
        if self.corr_name in values:
            with np.errstate(invalid="ignore"):
                divergent = np.asarray(values[self.corr_name], float)[:, self.es] < (
                    self.corr_threshold
                )

        out["regime"][:] = regime.astype(object)[:, None]
        out["afternoon"][:] = afternoon[:, None]
        out["event_window"][:] = window.astype(object)[:, None]
        out["divergent"][:] = divergent[:, None]
        out["size_factor"][:] = size[:, None]
        persist = self._persistence(batch, state, ts)
        out["persist15"][:, list(self.group)] = persist
        out["persistent"][:, list(self.group)] = np.abs(persist) >= self.persist_bars
        return out

    def _trend(self, batch, values) -> np.ndarray:
        if "vwap20" not in values or "vol_expanding" not in values:
            return np.zeros(len(batch), np.bool_)
        es = self.es
        vwap20 = np.asarray(values["vwap20"], float)[:, es]
        expanding = np.asarray(values["vol_expanding"])[:, es].astype(bool)
        with np.errstate(invalid="ignore"):
            return (batch.close[:, es] > vwap20) & expanding

    def _chop(self, batch, values, ts) -> np.ndarray:
        start, end = self._window
        after = ts >= end
        if after.any():
            self._or_done = True
        es = self.es
        # (a) narrow and quiet opening range
        inside = batch.present[:, es] & (batch.ts_open[:, es] >= start) & (ts <= end)
        volume = self._or_volume + np.cumsum(np.where(inside, batch.volume[:, es], 0.0))
        self._or_volume = float(volume[-1])
        narrow_range = np.zeros(len(ts), np.bool_)
        if all(name in values for name in ("or_high", "or_low", "atr")):
            width = (
                np.asarray(values["or_high"], float)[:, es]
                - np.asarray(values["or_low"], float)[:, es]
            )
            atr = np.asarray(values["atr"], float)[:, es]
            known = np.isfinite(width) & np.isfinite(atr)
            with np.errstate(invalid="ignore"):
                narrow = np.where(known, (width < self.chop_range_atr * atr).astype(float), NAN)
            narrow = _ffill(narrow, self._narrow)
            self._narrow = float(narrow[-1])
            quiet = True if self._or_mean is None else volume < self.chop_volume * self._or_mean
            narrow_range = (narrow == 1.0) & quiet
        # (b) leadership rotating in the opening window
        rotating = np.zeros(len(ts), np.bool_)
        if "lead" in values:
            lead = np.asarray(values["lead"], float)[:, list(self.group)]
            leader, _ = leader_laggard_rows(lead)
            rows = np.flatnonzero((ts > start) & (ts <= end) & (leader >= 0))
            count = np.full(len(ts), self._rotations, np.int64)
            if len(rows):
                seq = leader[rows]
                prev = np.concatenate(([self._leader], seq[:-1]))
                count[rows] = self._rotations + np.cumsum((seq != prev) & (prev >= 0))
                self._leader = int(seq[-1])
                self._rotations = int(count[rows[-1]])
            rotating = np.maximum.accumulate(count) >= self.chop_rotations  # counts only grow
        return after & (narrow_range | rotating)

    def _persistence(self, batch, state, ts) -> np.ndarray:
        """(n, members) persist15 of each row."""
        session = state.session
        m = len(self.group)
        per_member = []  # (stamps, closes) of each member's new 15-minute bars
        for j, col in enumerate(self.group):
            rows = np.flatnonzero(batch.present[:, col])
            tb = self._bars[j]
            parts = []
            if len(rows):
                parts.append(
                    tb.update_bars(
                        batch.ts_open[rows, col],
                        batch.open[rows, col],
                        batch.high[rows, col],
                        batch.low[rows, col],
                        batch.close[rows, col],
                        batch.volume[rows, col],
                        input_bar=self.bar_ns,
                    )
                )
            parts.append(tb.flush(int(ts[-1])))
            stamps = np.concatenate([b.ts_close for b in parts])
            keep = stamps > session.open_ns  # not a last bar of the session before
            per_member.append((stamps[keep], np.concatenate([b.close for b in parts])[keep]))
        carry = self._streak
        stamps = np.unique(np.concatenate([s for s, _ in per_member]))
        if not len(stamps):
            return np.broadcast_to(carry, (len(ts), m)).copy()
        close15 = np.full((len(stamps), m), NAN)
        for j, (member_stamps, member_closes) in enumerate(per_member):
            close15[np.searchsorted(stamps, member_stamps), j] = member_closes
        lead15 = lead_rows((close15 - self._prior) / self._prior * 100.0)
        with np.errstate(invalid="ignore"):
            sign = np.where(
                lead15 >= self.persist_lead, 1, np.where(lead15 <= -self.persist_lead, -1, 0)
            )
        streak = signed_runs(sign, carry)
        self._streak = streak[-1].copy()
        at = np.searchsorted(stamps, ts, side="right") - 1
        return np.where((at >= 0)[:, None], streak[np.maximum(at, 0)], carry)
