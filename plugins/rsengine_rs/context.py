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

Conditions are checked for a whole batch at once with numpy; only emitting a
signal is per-signal Python. The running values a session needs (ES and RTY
highs, the bond's last RS, the 09:30 closes) are carried from batch to batch,
so any split of a session into batches gives the same signals.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers

import numpy as np

from rsengine.model import Signal, iso_utc
from rsengine.sessions import local_ns

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


def _positive(name: str, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return float(value)


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


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


def _finite(x):
    """A JSON-safe number: float, or None for NaN."""
    x = float(x)
    return x if math.isfinite(x) else None


def _ffill(x: np.ndarray, carry: float) -> np.ndarray:
    """Each row's last finite value of ``x`` so far, ``carry`` before the first."""
    idx = np.where(np.isfinite(x), np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], carry)


def _first(mask: np.ndarray) -> int | None:
    j = int(np.argmax(mask)) if len(mask) else 0
    return j if len(mask) and mask[j] else None


def _text_column(values: dict, name: str, n: int) -> np.ndarray | None:
    col = values.get(name)
    return None if col is None else np.asarray(col).reshape(n, -1)


class _Day:
    """What one session needs to remember between batches."""

    def __init__(self, date: str, read_ns: int, score_ns: int, prior_high: tuple):
        self.date = date
        self.read_ns, self.score_ns = read_ns, score_ns
        self.es_prior_high, self.rty_prior_high = prior_high
        self.fired: set = set()
        self.es_high = -np.inf  # ES high of the session so far
        self.rty_high = -np.inf
        self.bond_rs = NAN  # the bond's last RS this session
        self.risk_off = False
        self.rs_last = np.full(2, NAN)  # NQ, ES last RS this session
        self.close_last = np.full(2, NAN)  # NQ, ES last close this session
        self.base = np.full(2, NAN)  # NQ, ES close at or before 09:30
        self.read_done = False
        self.score_done = False
        self.prediction: str | None = None  # "NQ" or "ES"


class ContextSignals:
    """The ``context`` setup (see the module docstring)."""

    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        s = {**DEFAULTS, **settings}
        self.spread = _positive("spread", s["spread"])
        self.correction_sessions = _count("correction_sessions", s["correction_sessions"])
        self.min_norm = _positive("min_norm", s["min_norm"])
        self.min_rs = _positive("min_rs", s["min_rs"])
        self.max_ratio = _positive("max_ratio", s["max_ratio"])
        if self.max_ratio < 1:
            raise ValueError(f"max_ratio must be >= 1, got {s['max_ratio']!r}")
        self.bond_move = _positive("bond_move", s["bond_move"])
        self.equity_move = _positive("equity_move", s["equity_move"])
        self.premarket_spread = _positive("premarket_spread", s["premarket_spread"])
        self.read_time = _clock("read_time", s["read_time"])
        self.score_time = _clock("score_time", s["score_time"])
        if self.read_time >= self.score_time:
            raise ValueError(
                f"read_time {self.read_time:%H:%M} must be before score_time "
                f"{self.score_time:%H:%M}"
            )
        self.actionable_ns = round(
            _positive("actionable_minutes", s["actionable_minutes"]) * MINUTE_NS
        )
        if "rs_pct" not in context.columns:
            raise ValueError(
                "needs the rs_pct column: configure the rs indicator (indicators: {rs: {}})"
            )
        self.symbols = tuple(context.symbols)
        self.config = context.config
        self.bond = self._bond_symbol(s["bond"], context)
        self.timing_only = 0 < int(context.bar_ns) <= MINUTE_NS
        self.source = ",".join(getattr(context, "data_labels", ()) or ())
        self.metrics = {"predictions": 0, "scored": 0, "hits": 0}
        self._day: _Day | None = None
        self._streak: list[str] = []  # consecutive earlier sessions with a risk-off warning
        self._slots_key = None
        self._slots: dict = {}

    def _bond_symbol(self, bond, context) -> str | None:
        if bond is not None:
            if bond not in self.symbols:
                raise ValueError(f"bond {bond!r} is not a configured instrument")
            return str(bond)
        for symbol in self.symbols:
            try:
                root = context.config.instrument(symbol).root
            except (AttributeError, KeyError):
                continue
            if root in BOND_ROOTS:
                return symbol
        return None

    # -- sessions and slots --------------------------------------------------------

    def _slot_map(self, state) -> dict:
        key = (tuple(state.group), tuple(state.group_names))
        if key != self._slots_key:
            self._slots_key = key
            self._slots = {name: int(i) for i, name in zip(key[0], key[1], strict=True)}
        return self._slots

    def _enter(self, state) -> _Day:
        session = state.session
        if self._day is not None and self._day.date == session.date:
            return self._day
        if self._day is not None:
            self._streak = [*self._streak, self._day.date][-self.correction_sessions :]
            if not self._day.risk_off:
                self._streak = []
        day = dt.date.fromisoformat(session.date)
        tz = getattr(state, "tz", "America/New_York")
        slots = self._slot_map(state)
        self._day = _Day(
            session.date,
            local_ns(day, self.read_time, tz),
            local_ns(day, self.score_time, tz),
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
        n = len(batch)
        if n == 0:
            return []
        today = self._enter(state)
        rs = state.values.get("rs_pct")
        if rs is None:
            return []
        rs = np.asarray(rs, np.float64)
        slots = self._slot_map(state)
        session = state.session
        ts = np.asarray(batch.ts_close, np.int64)
        live = (ts > session.rth_open_ns) & (ts <= session.rth_close_ns)
        event = _text_column(state.values, "event_window", n)
        if event is not None:
            live &= ~(event == "blocked").any(axis=1)

        found: list[tuple] = []  # (row, order, name, column, side, reason, details)
        es, nq, rty = slots.get("ES"), slots.get("NQ"), slots.get("RTY")
        if es is not None and nq is not None:
            found += self._nq_vs_es(rs[:, nq], rs[:, es], live, nq, today)
        if es is not None and rty is not None:
            found += self._rty_vs_es(rs[:, rty], rs[:, es], live, rty, today)
            found += self._unconfirmed_high(batch, es, rty, live, today)
        if len(state.group) >= 2 and es is not None:
            found += self._alignment(rs, state, live, es, today)
        if es is not None and self.bond is not None:
            found += self._bonds(rs[:, self.symbols.index(self.bond)], rs[:, es], live, es, today)
        if es is not None and nq is not None:
            found += self._premarket(batch, rs, ts, nq, es, session, today)

        found.sort(key=lambda f: (f[0], f[1]))
        regime = _text_column(state.values, "regime", n)
        return [self._signal(f, ts, regime, state) for f in found]

    def _fire(self, today, variant, mask) -> int | None:
        if variant in today.fired:
            return None
        j = _first(mask)
        if j is not None:
            today.fired.add(variant)
        return j

    def _nq_vs_es(self, r_nq, r_es, live, col, today) -> list:
        d = r_nq - r_es
        out = []
        cases = (
            ("long", live & (r_nq > 0) & (d >= self.spread - EPS), "tech-led rally"),
            (
                "short",
                live & (r_nq < 0) & (d <= -self.spread + EPS),
                "tech-specific selling, weaker backdrop",
            ),
        )
        for order, (side, mask, what) in enumerate(cases):
            j = self._fire(today, ("nq_vs_es", side), mask)
            if j is None:
                continue
            reason = f"NQ {r_nq[j]:+.2f}% vs ES {r_es[j]:+.2f}% ({d[j]:+.2f}): {what}"
            details = {"rs_nq": r_nq[j], "rs_es": r_es[j], "spread": d[j], "threshold": self.spread}
            out.append((j, order, "nq_vs_es", col, side, reason, details))
        return out

    def _rty_vs_es(self, r_rty, r_es, live, col, today) -> list:
        d = r_rty - r_es
        out = []
        cases = (
            ("long", live & (r_es > 0) & (d >= self.spread - EPS), "broad risk appetite"),
            ("short", live & (r_es < 0) & (d <= -self.spread + EPS), "risk-off warning"),
        )
        for side, mask, what in cases:
            j = self._fire(today, ("rty_vs_es", side), mask)
            if j is None:
                continue
            numbers_ = {"rs_rty": r_rty[j], "rs_es": r_es[j], "spread": d[j]}
            reason = f"RTY {r_rty[j]:+.2f}% vs ES {r_es[j]:+.2f}% ({d[j]:+.2f}): {what}"
            out.append(
                (j, 2, "rty_vs_es", col, side, reason, {**numbers_, "threshold": self.spread})
            )
            if side == "short":
                today.risk_off = True
                sessions = [*self._streak, today.date]
                if len(sessions) == self.correction_sessions:
                    reason = (
                        f"RTY lagged ES on a down day {len(sessions)} sessions running "
                        f"(today RTY {r_rty[j]:+.2f}% vs ES {r_es[j]:+.2f}%): correction warning"
                    )
                    details = {**numbers_, "sessions": sessions}
                    out.append((j, 3, "rty_correction_warning", col, "short", reason, details))
        return out

    def _unconfirmed_high(self, batch, es, rty, live, today) -> list:
        es_hi = np.where(batch.present[:, es], batch.high[:, es], -np.inf)
        es_run = np.maximum.accumulate(np.concatenate(([today.es_high], es_hi)))
        earlier = es_run[:-1]  # ES high of the session before each row
        rty_hi = np.where(batch.present[:, rty], batch.high[:, rty], -np.inf)
        rty_run = np.maximum.accumulate(np.concatenate(([today.rty_high], rty_hi)))[1:]
        today.es_high, today.rty_high = float(es_run[-1]), float(rty_run[-1])
        ref = np.maximum(earlier, today.es_prior_high)  # NaN without a prior session
        mask = live & (es_hi > ref) & np.isfinite(rty_run) & (rty_run <= today.rty_prior_high)
        j = self._fire(today, ("unconfirmed_high",), mask)
        if j is None:
            return []
        reason = (
            f"ES new high {es_hi[j]:.2f} > {ref[j]:.2f} not confirmed by RTY (session high "
            f"{rty_run[j]:.2f} <= prior session high {today.rty_prior_high:.2f}): "
            "downgrade ES long breakouts"
        )
        details = {
            "es_high": es_hi[j],
            "es_session_high_before": earlier[j],
            "es_prior_high": today.es_prior_high,
            "rty_session_high": rty_run[j],
            "rty_prior_high": today.rty_prior_high,
        }
        return [(j, 4, "unconfirmed_high", es, "short", reason, details)]

    def _alignment(self, rs, state, live, es, today) -> list:
        cols = list(state.group)
        r = rs[:, cols]
        up, down = (r > 0).all(axis=1), (r < 0).all(axis=1)
        size = np.abs(r)
        floor = np.full(len(r), self.min_rs)
        norm = state.values.get("rs_norm")
        use_norm = np.zeros(len(r), np.bool_)
        if norm is not None:
            z = np.abs(np.asarray(norm, np.float64)[:, cols])
            use_norm = np.isfinite(z).all(axis=1)
            size = np.where(use_norm[:, None], z, size)
            floor = np.where(use_norm, self.min_norm, floor)
        with np.errstate(invalid="ignore"):
            big = (size >= floor[:, None] - EPS).all(axis=1)
            lo, hi = size.min(axis=1), size.max(axis=1)
            similar = hi <= self.max_ratio * lo + EPS
        ok = live & big & similar
        out = []
        names = tuple(state.group_names)
        count = COUNT_WORDS.get(len(cols), f"all {len(cols)}")
        for side, mask, way in (("long", ok & up, "up"), ("short", ok & down, "down")):
            j = self._fire(today, ("alignment", side), mask)
            if j is None:
                continue
            measure = "rs_norm" if use_norm[j] else "rs_pct"
            moves = ", ".join(f"{g} {v:+.2f}%" for g, v in zip(names, r[j], strict=True))
            reason = (
                f"{count} aligned {way} ({moves}; |{measure}| {lo[j]:.2f}-{hi[j]:.2f}): "
                "trend confirmed, favour momentum, not fades"
            )
            details = {f"rs_{g.lower()}": v for g, v in zip(names, r[j], strict=True)}
            details.update(
                measure=measure,
                size_min=lo[j],
                size_max=hi[j],
                ratio=hi[j] / lo[j],
                threshold=float(floor[j]),
                max_ratio=self.max_ratio,
            )
            out.append((j, 5, "alignment", es, side, reason, details))
        return out

    def _bonds(self, r_bond, r_es, live, es, today) -> list:
        bond = _ffill(r_bond, today.bond_rs)
        today.bond_rs = float(bond[-1])
        cases = (
            (
                "long",
                live & (bond >= self.bond_move - EPS) & (r_es <= -self.equity_move + EPS),
                "bonds rallying into the equity selloff: possible exhaustion",
            ),
            (
                "short",
                live & (bond <= -self.bond_move + EPS) & (r_es >= self.equity_move - EPS),
                "bonds selling off into the rally: upside capped",
            ),
        )
        out = []
        for side, mask, what in cases:
            j = self._fire(today, ("bonds", side), mask)
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
            out.append((j, 6, "bonds", es, side, reason, details))
        return out

    def _premarket(self, batch, rs, ts, nq, es, session, today) -> list:
        cols = [nq, es]
        r = np.column_stack([_ffill(rs[:, c], today.rs_last[i]) for i, c in enumerate(cols)])
        close = np.column_stack(
            [_ffill(batch.close[:, c], today.close_last[i]) for i, c in enumerate(cols)]
        )
        today.rs_last, today.close_last = r[-1].copy(), close[-1].copy()
        k = int(np.searchsorted(ts, session.rth_open_ns, side="right")) - 1
        if k >= 0:
            today.base = close[k].copy()
        out = []
        if not today.read_done:
            j = _first(ts >= today.read_ns)
            if j is not None:
                today.read_done = True
                if ts[j] < session.rth_open_ns:
                    out += self._read(j, r[j], nq, es, today)
        if today.prediction is not None and not today.score_done:
            j = _first(ts >= today.score_ns)
            if j is not None:
                today.score_done = True
                out += self._score(j, close[j], today.base, nq, es, today)
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
        return [(j, 7, "premarket_read", col, "long", reason, details)]

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
        return [
            (j, 8, "premarket_read_scored", nq if leader == "NQ" else es, "flat", reason, details)
        ]

    # -- signals ---------------------------------------------------------------------

    def _signal(self, found, ts, regime, state) -> Signal:
        j, _, name, col, side, reason, details = found
        ts_close = int(ts[j])
        symbol = state.symbols[col]
        clean = {
            k: _finite(v) if isinstance(v, (float, np.floating)) else v for k, v in details.items()
        }
        clean["actionable_until"] = iso_utc(ts_close + self.actionable_ns)
        clean["timing_only"] = self.timing_only
        return Signal(
            ts_close=ts_close,
            session_date=state.session.date,
            name=name,
            kind="context",
            instrument=symbol,
            contract=self._contract(symbol, state.session.date),
            side=side,
            reason=reason,
            regime=_regime(regime, j),
            size_fraction=0.0,
            contracts=0,
            source=self.source,
            details=clean,
        )

    def _contract(self, symbol: str, date: str) -> str:
        try:
            inst = self.config.instrument(symbol)
            return inst.ninjatrader_name(dt.date.fromisoformat(date)) or ""
        except (AttributeError, KeyError, ValueError):
            return ""

    def finish(self, summary) -> None:
        m = dict(self.metrics)
        m["hit_rate"] = m["hits"] / m["scored"] if m["scored"] else None
        summary.metrics["premarket_read"] = m


def _regime(regime, j: int) -> str:
    if regime is not None:
        for value in regime[j]:
            if isinstance(value, str) and value:
                return value
    return "unknown"
