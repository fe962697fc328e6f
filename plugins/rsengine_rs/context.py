"""Setup ``context``: the context signals of DOMAIN.md §4 (no trade by themselves).

Every signal has ``kind="context"``, size 0, 0 contracts, the regime of its row
(the ``regime`` column when configured, else ``"unknown"``), a one-line reason
with the numbers, the numbers in ``details``, ``details["actionable_until"]``
(ISO UTC, bar close + ``actionable_minutes``) and ``details["timing_only"]``
(True on a primary bar of one minute or less: such bars time entries only).

Group slots are found by group name (``state.group_names``: ES, NQ, RTY, YM; a
micro standing in with ``as:`` fills its slot); the bond is the configured
instrument whose root is ZN or ZB (setting ``bond``). RS values are ``rs_pct``.
Signals 1-5 fire only on RTH bars (``rth_open < ts_close <= rth_close``), never
on a bar whose ``event_window`` is ``"blocked"``, and each variant at most once
per session, on the first bar its condition holds. Thresholds are compared with
a tolerance of 1e-9 (percent), so a spread of exactly 0.2 counts as 0.2.

1. ``nq_vs_es``: ``rs_NQ > 0`` and ``rs_NQ - rs_ES >= spread`` (0.2): long NQ,
   tech-led rally; ``rs_NQ < 0`` and ``rs_NQ - rs_ES <= -spread``: short NQ,
   tech-specific selling.
2. ``rty_vs_es``: ``rs_ES > 0`` and ``rs_RTY - rs_ES >= spread``: long RTY, broad
   risk appetite; ``rs_ES < 0`` and ``rs_RTY - rs_ES <= -spread``: short RTY,
   risk-off warning. When the risk-off warning has fired in
   ``correction_sessions`` (3) consecutive sessions, ``rty_correction_warning``
   (short RTY) fires with it, once, on the last of them.
3. ``unconfirmed_high``: the ES bar high is above every ES high earlier in the
   Globex session and above the prior session's high, while RTY's session high
   so far is at or below its prior session high (prior highs:
   ``state.daily[symbol].high[-1]``): short ES, downgrade ES long breakouts.
4. ``alignment``: every group member's ``rs_pct`` has the same sign, each
   ``|rs_norm| >= min_norm`` (0.5) and ``max |rs_norm| <= max_ratio`` (2.0) x
   ``min |rs_norm|``. On a row where ``rs_norm`` is not configured or not yet
   known for every member (ATR needs 14 sessions), ``|rs_pct|`` stands in, with
   ``min_rs`` (0.2) as the size floor and the same ratio test. Long or short ES.
5. ``bonds``: the bond's RS (its last value this session) ``>= bond_move``
   (0.25) while ``rs_ES <= -equity_move`` (0.5): long ES, the selloff may be
   exhausted; bond RS ``<= -bond_move`` while ``rs_ES >= equity_move``: short
   ES, upside capped.
6. ``premarket_read``: on the first bar closing at or after ``read_time``
   (09:15 ET), if it closes before 09:30 (RTH open): spread = rs_NQ - rs_ES
   (each its last value this session). ``>= premarket_spread`` (0.3) predicts
   that NQ leads the first RTH hour (signal long NQ); ``<= -premarket_spread``
   predicts, symmetrically, that ES leads (signal long ES). On the first bar
   closing at or after ``score_time`` (10:30 ET), each instrument's return from
   the close of its last bar ending at or before 09:30 to its last close so far
   is compared: ``premarket_read_scored`` (side flat, on the predicted
   leader), ``details["hit"]`` True when the predicted leader's return is the
   greater. ``finish`` puts ``{"predictions", "scored", "hits", "hit_rate"}``
   in ``summary.metrics["premarket_read"]`` (hit_rate None with nothing scored).

Conditions are checked for a whole batch at once with numpy, on its RTH rows
only; only emitting a signal is per-signal Python. A replay hands over a whole
session per call, so the cost is per call: few numpy operations per check, each
skipped once its variants have fired, blocked rows looked for only when a row is
found, contract names looked up once per span of dates. The running values a
session needs (ES and RTY highs, the bond's last RS, the 09:30 closes) are
carried from batch to batch, so any split of a session into batches gives the
same signals.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers

import numpy as np

from rsengine.exchange.sessions import local_ns
from rsengine.model import Signal, iso_utc

from .settings import check_settings, count_setting, positive_setting, symbol_of_root

NAN = math.nan
MINUTE_NS = 60 * 10**9
EPS = 1e-9  # tolerance of threshold tests, in percent (or ratio) units
BOND_ROOTS = ("ZN", "ZB")
DEFAULTS = {
    "spread": 0.2,
    "correction_sessions": 3,
    "min_norm": 0.5,
    "min_rs": 0.2,
    "max_ratio": 2.0,
    "bond": None,
    "bond_move": 0.25,
    "equity_move": 0.5,
    "premarket_spread": 0.3,
    "read_time": "09:15",
    "score_time": "10:30",
    "actionable_minutes": 60,
}
COUNT_WORDS = {2: "both", 3: "all three", 4: "all four"}
WHAT = {  # the long and the short reading of each two-sided signal
    "nq_vs_es": ("tech-led rally", "tech-specific selling, weaker backdrop"),
    "rty_vs_es": ("broad risk appetite", "risk-off warning"),
    "bonds": (
        "bonds rallying into the equity selloff: possible exhaustion",
        "bonds selling off into the rally: upside capped",
    ),
}


def _clock(name: str, value) -> dt.time:
    """'HH:MM' (ET); also the minutes a YAML 1.1 reader makes of an unquoted 09:15."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value < 1440:
        return dt.time(int(value) // 60, int(value) % 60)
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a time of day such as '09:15', got {value!r}") from None


def _ffill(x: np.ndarray, carry: float) -> np.ndarray:
    """Each row's last finite value of ``x`` so far, ``carry`` before the first."""
    finite = np.isfinite(x)
    if finite.all():
        return x
    idx = np.where(finite, np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], carry)


def _last(x: np.ndarray, stop: int, carry):
    """The last finite value of ``x[:stop]`` (``stop >= 1``), ``carry`` without one."""
    v = x[stop - 1]
    if math.isfinite(v):
        return v
    idx = np.flatnonzero(np.isfinite(x[:stop]))
    return x[idx[-1]] if len(idx) else carry


def _lasts(x: np.ndarray, cols: tuple, stop: int, carry: tuple) -> tuple:
    """:func:`_last` of the two columns ``cols`` of ``x``."""
    return _last(x[:, cols[0]], stop, carry[0]), _last(x[:, cols[1]], stop, carry[1])


def _fire(today, key: tuple, mask: np.ndarray, live: _Live) -> int | None:
    """The first live row of ``mask``; the signal ``key`` is then done for the session."""
    j = live.first(mask)
    if j is not None:
        today.fired.add(key)
    return j


class _Live:
    """The rows a signal may fire on: the RTH rows ``lo:hi`` (rows are in time order)
    but those whose ``event_window`` is "blocked". Blocked rows are rare, so they are
    looked for only on a row found, and all at once only when one is."""

    __slots__ = ("lo", "hi", "n", "event", "_ok")

    def __init__(self, lo: int, hi: int, event, n: int):
        self.lo, self.hi, self.n = lo, hi, n
        self.event = event  # the event_window column, or None
        self._ok = None

    def first(self, mask: np.ndarray) -> int | None:
        """The first unblocked row of ``mask`` (which is over ``lo:hi``), or None.
        Blocked rows are taken out of ``mask`` when one is met."""
        j = int(mask.argmax())
        if not mask[j]:
            return None
        if self.event is not None and self._ok is None:
            self.event = np.asarray(self.event).reshape(self.n, -1)
            if "blocked" not in self.event[self.lo + j].tolist():
                return j
            self._ok = ~(self.event[self.lo : self.hi] == "blocked").any(axis=1)
        if self._ok is not None:
            mask &= self._ok
            j = int(mask.argmax())
            if not mask[j]:
                return None
        return j


def contract_name(config, symbol: str, day: dt.date) -> str:
    """The instrument's contract on ``day`` (NinjaTrader's name), or "" for an
    index, an internal or an instrument without a contract table entry."""
    try:
        return config.instrument(symbol).ninjatrader_name(day) or ""
    except (AttributeError, KeyError, ValueError):
        return ""


class _Day:
    """What one session needs to remember between batches."""

    __slots__ = (
        "date", "day", "tz", "read_ns", "score_ns", "es_prior_high", "rty_prior_high",
        "fired", "highs", "bond_rs", "risk_off", "rs_last", "close_last", "base",
        "read_done", "score_done", "prediction", "contracts",
    )  # fmt: skip

    def __init__(self, date: str, tz: str, read_time: dt.time, prior_high: tuple):
        self.date, self.day, self.tz = date, dt.date.fromisoformat(date), tz
        self.read_ns = local_ns(self.day, read_time, tz)
        self.score_ns = 0  # set with the prediction
        self.es_prior_high, self.rty_prior_high = prior_high
        self.fired: set = set()
        self.highs = None  # session high so far of the columns from ES to RTY
        self.bond_rs = NAN  # the bond's last RS this session
        self.risk_off = False
        self.rs_last = (NAN, NAN)  # NQ, ES last RS this session (until the read)
        self.close_last = (NAN, NAN)  # NQ, ES last close this session (until the score)
        self.base = (NAN, NAN)  # NQ, ES close at or before 09:30
        self.read_done = False
        self.score_done = False
        self.prediction: str | None = None  # "NQ" or "ES"
        self.contracts: dict = {}  # symbol -> contract name

    @property
    def scoring(self) -> bool:
        """A pre-market read may still be scored this session."""
        return not self.score_done and (self.prediction is not None or not self.read_done)


class ContextSignals:
    """The ``context`` setup (see the module docstring)."""

    SETTINGS = tuple(DEFAULTS)
    reads = ("rs_pct",)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        self.spread = positive_setting("spread", s["spread"])
        self.correction_sessions = count_setting("correction_sessions", s["correction_sessions"])
        self.min_norm = positive_setting("min_norm", s["min_norm"])
        self.min_rs = positive_setting("min_rs", s["min_rs"])
        self.max_ratio = positive_setting("max_ratio", s["max_ratio"])
        if self.max_ratio < 1:
            raise ValueError(f"max_ratio must be >= 1, got {s['max_ratio']!r}")
        self.bond_move = positive_setting("bond_move", s["bond_move"])
        self.equity_move = positive_setting("equity_move", s["equity_move"])
        self.premarket_spread = positive_setting("premarket_spread", s["premarket_spread"])
        self.read_time = _clock("read_time", s["read_time"])
        self.score_time = _clock("score_time", s["score_time"])
        if self.read_time >= self.score_time:
            raise ValueError(
                f"read_time {self.read_time:%H:%M} must be before score_time "
                f"{self.score_time:%H:%M}"
            )
        self.actionable_ns = round(
            positive_setting("actionable_minutes", s["actionable_minutes"]) * MINUTE_NS
        )
        if "rs_pct" not in context.columns:
            raise ValueError(
                "needs the rs_pct column: configure the rs indicator (indicators: {rs: {}})"
            )
        self.symbols = tuple(context.symbols)
        self.config = context.config
        self.bond = symbol_of_root(context, BOND_ROOTS, s["bond"], "bond")
        self.timing_only = 0 < int(context.bar_ns) <= MINUTE_NS
        self.source = ",".join(getattr(context, "data_labels", ()) or ())
        self.metrics = {"predictions": 0, "scored": 0, "hits": 0}
        self._day: _Day | None = None
        self._streak: list[str] = []  # consecutive earlier sessions with a risk-off warning
        self._slots_key = None
        self._slots: dict = {}
        self._group_cols: slice | list = []

    # -- sessions and slots --------------------------------------------------------

    def _slot_map(self, state) -> dict:
        key = self._slots_key
        if key is not None and state.group == key[0] and state.group_names == key[1]:
            return self._slots
        self._slots_key = key = (tuple(state.group), tuple(state.group_names))
        self._slots = slots = {name: int(i) for i, name in zip(*key, strict=True)}
        cols = [int(i) for i in key[0]]
        run = cols and cols == list(range(cols[0], cols[0] + len(cols)))
        self._group_cols = slice(cols[0], cols[0] + len(cols)) if run else cols  # view if can
        es, nq, rty = slots.get("ES"), slots.get("NQ"), slots.get("RTY")
        pairs = [("nq_vs_es", "NQ", nq, nq), ("rty_vs_es", "RTY", rty, es)]  # name, x, lead
        self._pairs = [p for p in pairs if es is not None and p[2] is not None]
        if es is not None and rty is not None:  # the columns from ES to RTY, for their highs
            first, last = min(es, rty), max(es, rty)
            self._highs = (slice(first, last + 1), es - first, rty - first)
            self._no_highs = np.full(last + 1 - first, -np.inf)
        return slots

    def _enter(self, state, slots: dict) -> _Day:
        session = state.session
        if self._day is not None and self._day.date == session.date:
            return self._day
        if self._day is not None:
            self._streak = [*self._streak, self._day.date][-self.correction_sessions :]
            if not self._day.risk_off:
                self._streak = []
        tz = getattr(state, "tz", "America/New_York")
        self._day = _Day(
            session.date,
            tz,
            self.read_time,
            (self._prior_high(state, slots.get("ES")), self._prior_high(state, slots.get("RTY"))),
        )
        return self._day

    def _prior_high(self, state, col: int | None) -> float:
        if col is None:
            return NAN
        daily = state.daily.get(state.symbols[col]) if state.daily else None
        if daily is None or not len(daily.high):
            return NAN
        return float(daily.high[-1])

    # -- the batch -------------------------------------------------------------------

    def evaluate_batch(self, batch, state) -> list[Signal]:
        ts = np.asarray(batch.ts_close, np.int64)
        n = len(ts)
        if n == 0:
            return []
        slots = self._slot_map(state)
        today = self._enter(state, slots)
        rs = state.values.get("rs_pct")
        if rs is None:
            return []
        rs = np.asarray(rs, np.float64)
        session = state.session
        lo, hi = ts.searchsorted((session.rth_open_ns, session.rth_close_ns), "right").tolist()
        live = _Live(lo, hi, state.values.get("event_window"), n)
        # the RTH rows, one line per instrument (C order: per-row min and max along
        # axis 0, and row-wise tests, are much faster than along a short axis 1)
        block = np.ascontiguousarray(rs[lo:hi].T) if lo < hi else None

        found: list[tuple] = []  # (row, name, column, side, reason, details), in check order
        es, rty = slots.get("ES"), slots.get("RTY")
        if block is not None and self._pairs:
            found += self._spreads(block, es, live, today)
        if es is not None and rty is not None:
            found += self._unconfirmed_high(batch, es, rty, live, today)
        if block is not None and len(state.group) >= 2 and es is not None:
            found += self._alignment(block, state, live, es, today)
        if es is not None and self.bond is not None:
            found += self._bonds(rs[:, self.symbols.index(self.bond)], rs[:, es], live, es, today)
        if es is not None and slots.get("NQ") is not None:
            found += self._premarket(batch, rs, ts, lo, slots["NQ"], es, session, today)
        if not found:
            return []
        found.sort(key=lambda f: f[0])  # stable: same row, check order
        regime = state.values.get("regime")
        regime = None if regime is None else np.asarray(regime).reshape(n, -1)
        return [self._signal(f, ts, regime, state, today) for f in found]

    def _spreads(self, block, es, live, today) -> list:
        """Signals 1 and 2. For a pair (x, lead): rs_x - rs_ES at least ``spread``
        while the lead's RS is up (long), at most -``spread`` while it is down
        (short); both in one test, ``sign(lead) * (rs_x - rs_ES) >= spread``."""
        out = []
        for name, label, col, lead in self._pairs:
            done = {side for side in ("long", "short") if (name, side) in today.fired}
            if len(done) == 2:
                continue
            d_i = block[col] - block[es]
            sign_i = np.sign(block[lead])
            hit_i = sign_i * d_i >= self.spread - EPS  # exact: -d >= t is d <= -t
            if self.spread <= EPS:  # then a flat lead (sign 0) would pass
                hit_i &= sign_i != 0
            while len(done) < 2:
                j = live.first(hit_i)
                if j is None:
                    break
                side = "long" if sign_i[j] > 0 else "short"
                if side not in done:
                    done.add(side)
                    out += self._spread(name, label, col, side, j, block, es, d_i, live, today)
                hit_i &= sign_i != sign_i[j]  # what is left: rows of the other side
        return out

    def _spread(self, name, label, col, side, j, block, es, d, live, today) -> list:
        """The signal of one pair and side on row ``j`` of the RTH rows."""
        today.fired.add((name, side))
        x, e, spread = block[col].item(j), block[es].item(j), d.item(j)
        what = WHAT[name][side == "short"]
        reason = f"{label} {x:+.2f}% vs ES {e:+.2f}% ({spread:+.2f}): {what}"
        details = {
            f"rs_{label.lower()}": x,
            "rs_es": e,
            "spread": spread,
            "threshold": self.spread,
        }
        out = [(live.lo + j, name, col, side, reason, details)]
        if name == "rty_vs_es" and side == "short":
            out += self._correction(live.lo + j, col, details, today)
        return out

    def _correction(self, row, rty, details, today) -> list:
        """The risk-off warning fired: a correction warning on the last of
        ``correction_sessions`` consecutive sessions with one."""
        today.risk_off = True
        sessions = [*self._streak, today.date]
        if len(sessions) != self.correction_sessions:
            return []
        reason = (
            f"RTY lagged ES on a down day {len(sessions)} sessions running "
            f"(today RTY {details['rs_rty']:+.2f}% vs ES {details['rs_es']:+.2f}%): "
            "correction warning"
        )
        details = {k: details[k] for k in ("rs_rty", "rs_es", "spread")}
        details["sessions"] = sessions
        return [(row, "rty_correction_warning", rty, "short", reason, details)]

    def _unconfirmed_high(self, batch, es, rty, live, today) -> list:
        if ("unconfirmed_high",) in today.fired:
            return []  # the running highs serve this signal only
        # the columns from ES to RTY at once: one where/accumulate instead of two each
        cols, e, r = self._highs
        high = np.where(batch.present[:, cols], batch.high[:, cols], -np.inf)
        before = self._no_highs if today.highs is None else today.highs
        run = np.maximum.accumulate(np.concatenate((before[None], high)))
        today.highs = run[-1]  # run[j]: the high before row j; run[j + 1]: up to row j
        lo, hi = live.lo, live.hi
        if lo == hi:
            return []
        es_hi = high[lo:hi, e]
        above = es_hi > today.es_prior_high  # never without a prior session (NaN)
        if not above[above.argmax()]:  # argmax: the fast any()
            return []
        earlier, rty_run = run[lo:hi, e], run[lo + 1 : hi + 1, r]
        mask = above & (es_hi > earlier) & np.isfinite(rty_run)
        mask &= rty_run <= today.rty_prior_high
        j = _fire(today, ("unconfirmed_high",), mask, live)
        if j is None:
            return []
        ref = max(earlier.item(j), today.es_prior_high)  # both finite and below es_hi[j]
        es_high, rty_high = es_hi.item(j), rty_run.item(j)
        reason = (
            f"ES new high {es_high:.2f} > {ref:.2f} not confirmed by RTY (session high "
            f"{rty_high:.2f} <= prior session high {today.rty_prior_high:.2f}): "
            "downgrade ES long breakouts"
        )
        details = {
            "es_high": es_high,
            "es_session_high_before": earlier.item(j),
            "es_prior_high": today.es_prior_high,
            "rty_session_high": rty_high,
            "rty_prior_high": today.rty_prior_high,
        }
        return [(lo + j, "unconfirmed_high", es, "short", reason, details)]

    def _alignment(self, block, state, live, es, today) -> list:
        sides = [s for s in ("long", "short") if ("alignment", s) not in today.fired]
        if not sides:
            return []
        lo, hi = live.lo, live.hi
        cols = self._group_cols
        # sizes: |rs_norm| on rows where every member's is known, else |rs_pct|
        use_norm, r = None, block[cols]
        norm = state.values.get("rs_norm")
        if norm is not None:
            z = np.abs(_members(norm, lo, hi, cols))
            if math.isfinite(np.add.reduce(z, axis=None)):  # all known (z >= 0: no inf - inf)
                use_norm, size, floor = True, z, self.min_norm
            else:
                use_norm = np.isfinite(z).all(axis=0)
                if not use_norm.any():
                    use_norm = None
        if use_norm is not True:
            size, floor = np.abs(r), self.min_rs
            if use_norm is not None:  # some rows each way
                size = np.where(use_norm, z, size)
                floor = np.where(use_norm, self.min_norm, self.min_rs)
        # a NaN size makes small or large NaN and the row fail both tests
        small = size.min(axis=0)
        good = small >= floor - EPS
        if live.first(good) is None:
            return []
        large = size.max(axis=0)
        good &= large <= self.max_ratio * small + EPS
        if live.first(good) is None:
            return []
        out = []
        names = tuple(state.group_names)
        count = COUNT_WORDS.get(len(names), f"all {len(names)}")
        for side in sides:
            way, mask = ("up", r.min(axis=0) > 0) if side == "long" else ("down", r.max(axis=0) < 0)
            j = _fire(today, ("alignment", side), mask & good, live)
            if j is None:
                continue
            by_norm = use_norm is True or (use_norm is not None and use_norm[j])
            measure = "rs_norm" if by_norm else "rs_pct"
            values = r[:, j].tolist()
            moves = ", ".join(f"{g} {v:+.2f}%" for g, v in zip(names, values, strict=True))
            reason = (
                f"{count} aligned {way} ({moves}; |{measure}| {small[j]:.2f}-{large[j]:.2f}): "
                "trend confirmed, favour momentum, not fades"
            )
            details = {f"rs_{g.lower()}": v for g, v in zip(names, values, strict=True)}
            details.update(
                measure=measure,
                size_min=small[j],
                size_max=large[j],
                ratio=large[j] / small[j],
                threshold=self.min_norm if by_norm else self.min_rs,
                max_ratio=self.max_ratio,
            )
            out.append((lo + j, "alignment", es, side, reason, details))
        return out

    def _bonds(self, r_bond, r_es, live, es, today) -> list:
        bond = _ffill(r_bond, today.bond_rs)
        today.bond_rs = float(bond[-1])
        lo, hi = live.lo, live.hi
        bond, r_es = bond[lo:hi], r_es[lo:hi]
        out = []
        for side, what in zip(("long", "short"), WHAT["bonds"], strict=True):
            if lo == hi or ("bonds", side) in today.fired:
                continue
            if side == "long":
                mask = (bond >= self.bond_move - EPS) & (r_es <= -self.equity_move + EPS)
            else:
                mask = (bond <= -self.bond_move + EPS) & (r_es >= self.equity_move - EPS)
            j = _fire(today, ("bonds", side), mask, live)
            if j is None:
                continue
            reason = f"{self.bond} {bond[j]:+.2f}% while ES {r_es[j]:+.2f}%: {what}"
            details = {
                "rs_bond": bond[j],
                "rs_es": r_es[j],
                "bond": self.bond,
                "bond_move": self.bond_move,
                "equity_move": self.equity_move,
            }
            out.append((lo + j, "bonds", es, side, reason, details))
        return out

    def _premarket(self, batch, rs, ts, lo, nq, es, session, today) -> list:
        """``lo``: the number of rows closing at or before the RTH open."""
        cols, close, n = (nq, es), batch.close, len(ts)
        scoring = today.scoring
        if scoring and lo > 0:  # the last closes at or before 09:30 so far
            today.base = _lasts(close, cols, lo, today.close_last)
        out = []
        if not today.read_done:
            j = int(ts.searchsorted(today.read_ns))  # first bar closing at or after read_time
            if j == n:
                today.rs_last = _lasts(rs, cols, n, today.rs_last)
            else:
                today.read_done = True
                if ts[j] < session.rth_open_ns:
                    out += self._read(j, _lasts(rs, cols, j + 1, today.rs_last), nq, es, today)
        if today.prediction is not None and not today.score_done:
            j = int(ts.searchsorted(today.score_ns))
            if j < n:
                today.score_done = True
                now = np.array(_lasts(close, cols, j + 1, today.close_last))
                out += self._score(j, now, np.array(today.base), nq, es, today)
        if scoring and today.scoring:
            today.close_last = _lasts(close, cols, n, today.close_last)
        return out

    def _read(self, j, r, nq, es, today) -> list:
        spread = r[0] - r[1]
        if spread >= self.premarket_spread - EPS:
            leader, col, other = "NQ", nq, "ES"
        elif spread <= -self.premarket_spread + EPS:
            leader, col, other = "ES", es, "NQ"
        else:
            return []
        today.prediction = leader
        today.score_ns = local_ns(today.day, self.score_time, today.tz)
        self.metrics["predictions"] += 1
        reason = (
            f"pre-market read: NQ {r[0]:+.2f}% vs ES {r[1]:+.2f}% ({spread:+.2f}): "
            f"predict {leader} leads {other} in the first RTH hour"
        )
        details = {
            "predicted": leader,
            "rs_nq": r[0],
            "rs_es": r[1],
            "spread": spread,
            "threshold": self.premarket_spread,
        }
        return [(j, "premarket_read", col, "long", reason, details)]

    def _score(self, j, close, base, nq, es, today) -> list:
        ret = (close / base - 1.0) * 100.0
        if not np.isfinite(ret).all():
            return []
        leader = today.prediction
        ret_nq, ret_es = float(ret[0]), float(ret[1])
        hit = ret_nq > ret_es if leader == "NQ" else ret_es > ret_nq
        self.metrics["scored"] += 1
        self.metrics["hits"] += int(hit)
        reason = (
            f"pre-market read scored: NQ {ret_nq:+.2f}% vs ES {ret_es:+.2f}% since 09:30 "
            f"({ret_nq - ret_es:+.2f}): predicted {leader} leads, "
            f"{'hit' if hit else 'miss'}"
        )
        details = {
            "predicted": leader,
            "hit": bool(hit),
            "ret_nq": ret_nq,
            "ret_es": ret_es,
            "base_nq": float(base[0]),
            "base_es": float(base[1]),
        }
        return [(j, "premarket_read_scored", nq if leader == "NQ" else es, "flat", reason, details)]

    # -- signals ---------------------------------------------------------------------

    def _signal(self, found, ts, regime, state, today) -> Signal:
        j, name, col, side, reason, details = found
        ts_close = int(ts[j])
        symbol = state.symbols[col]
        contract = today.contracts.get(symbol)
        if contract is None:
            contract = today.contracts[symbol] = contract_name(self.config, symbol, today.day)
        clean = {  # JSON-safe: NaN and inf as None
            k: (float(v) if math.isfinite(v) else None)
            if isinstance(v, (float, np.floating))
            else v
            for k, v in details.items()
        }
        clean["actionable_until"] = iso_utc(ts_close + self.actionable_ns)
        clean["timing_only"] = self.timing_only
        return Signal(
            ts_close=ts_close,
            session_date=today.date,
            name=name,
            kind="context",
            instrument=symbol,
            contract=contract,
            side=side,
            reason=reason,
            regime=_regime(regime, j),
            size_fraction=0.0,
            contracts=0,
            source=self.source,
            details=clean,
        )

    def finish(self, summary) -> None:
        m = dict(self.metrics)
        m["hit_rate"] = m["hits"] / m["scored"] if m["scored"] else None
        summary.metrics["premarket_read"] = m


def _members(x, lo: int, hi: int, cols) -> np.ndarray:
    """Rows ``lo:hi`` of the group columns of ``x``, one line per member (C order:
    per-row min and max along axis 0 are much faster than along a short axis 1)."""
    return np.ascontiguousarray(np.asarray(x, np.float64)[lo:hi, cols].T)


def _regime(regime, j: int) -> str:
    if regime is not None:
        for value in regime[j].tolist():
            if isinstance(value, str) and value:
                return value
    return "unknown"
