"""Setup ``strength_rider`` (DOMAIN.md §6.1): ride the instrument that led
the group through the first RTH half hour when it pulls back.

Per group member and session (settings in brackets, rule-book defaults):

1. Leadership: on every bar closing in the first ``lead_minutes`` (30) of RTH
   its ``lead`` is at least ``min_lead`` (0.2 %) (long), or at most
   ``-min_lead`` (short: a laggard to sell); a missing bar breaks it. Its lead
   at the last of those bars is where the leadership began.
2. Pullback, on a later bar: the low reaches the session VWAP or the
   opening-range high and the bar closes at or above that level (long; short:
   the high reaches VWAP or the opening-range low and it closes at or below).
   The level touched is the ideal entry; VWAP is taken when both are.
3. Not run away: the close is less than ``max_run`` (0.5 %) beyond the level.
4. The lead has not faded: it is still more than ``fade`` (0.1) from where the
   leadership began, towards zero.
5. $TICK neutral or recovering: at least ``-tick_neutral`` (-400) for a long,
   or rising since the instrument's bar before while above ``-tick_strong`` (-800); short
   mirrored. Without a $TICK feed this gate passes and the stack says so.

Entry: the close of that bar. Stop: one tick beyond the pullback bar's low
(high), moved in to at most one ATR of the trading timeframe (``atr_bars``
(14) primary bars) from the entry. Target: the nearer, beyond the entry, of the
prior session's high (low) and the opening-range measured move (``or_high +
(or_high - or_low)``; short ``or_low - range``); none when neither is beyond
it. Exit (besides stop, target and session end): the lead fades by more than
``fade`` from where the leadership began.
"""

from __future__ import annotations

import math

import numpy as np

from .confirm import at_bar_before, build_stack
from .desk import Candidate
from .sizing import Check
from .trades import EPS, TradeSetup, nearest_beyond, on_tick, prior_extremes, stop_within_atr

SIDES = (("long", 1), ("short", -1))


class StrengthRider(TradeSetup):
    DEFAULTS = {
        "min_lead": 0.2,
        "lead_minutes": 30,
        "max_run": 0.5,
        "fade": 0.1,
        "tick_neutral": 400,
    }
    reads = ("lead", "vwap", "or_high", "or_low")

    def __init__(self, settings: dict, context):
        super().__init__(settings, context)
        self.min_lead = self.positive("min_lead")
        self.lead_ns = round(self.positive("lead_minutes") * 60e9)
        self.max_run = self.positive("max_run")
        self.fade = self.positive("fade")
        self.tick_neutral = self.positive("tick_neutral")
        self._session = None
        self._lead: dict = {}  # (col, sign) -> lead where leadership began, or None if broken
        self._tick_prev = None  # $TICK at each member's last bar of the session so far
        self._atr: dict = {}

    def _begin(self, state) -> None:
        if self._session is not state.session:
            self._session, self._lead = state.session, {}
            self._tick_prev = np.full(len(state.group), math.nan)

    def prepare(self, batch, state) -> None:
        self._begin(state)
        self._leadership(batch, state)
        # every batch, so that each member's ATR history stays whole
        self._atr = self.atr.columns(batch, state.group, self.member_rows)
        self._tick_before = None  # no $TICK feed: the gate passes on every row
        if self.internals.tick_symbol is not None:
            present = np.asarray(batch.present, bool)[:, state.group]
            self._tick_before, self._tick_prev = at_bar_before(
                self.internals.tick, present, self._tick_prev
            )

    def _leadership(self, batch, state) -> None:
        """Follow the first half hour's lead of each member, batch by batch."""
        session = state.session
        ts = batch.ts_close
        end = session.rth_open_ns + self.lead_ns
        lo, hi = np.searchsorted(ts, (session.rth_open_ns, end), side="right")  # ts in order
        if lo == hi:
            return
        lead = self.member_rows["lead"][:, lo:hi]
        last = lead[:, -1].tolist()
        floor = self.min_lead - EPS  # a NaN lead makes the min and max NaN: it fails
        ok = {1: (lead.min(axis=1) >= floor).tolist(), -1: (lead.max(axis=1) <= -floor).tolist()}
        for k, col in enumerate(state.group):
            for _, sign in SIDES:
                key = (int(col), sign)
                if key in self._lead and self._lead[key] is None:
                    continue
                self._lead[key] = last[k] if ok[sign][k] else None

    def propose(self, batch, state, rows) -> list[Candidate]:
        session = state.session
        values = state.values
        ts = batch.ts_close
        end = session.rth_open_ns + self.lead_ns
        if not (ts[-1] > end):
            return []
        after = rows & (ts > end)
        if not after.any():
            return []
        tick_ok = {}  # per side: the $TICK gate, (rows, members)
        out = []
        for k, col in enumerate(state.group):
            col = int(col)
            for side, sign in SIDES:
                began = self._lead.get((col, sign))
                if began is None or (col, side) in self._fired:
                    continue
                if sign not in tick_ok:
                    tick_ok[sign] = self._tick_ok(sign)
                cand = self._candidate(batch, state, values, after, col, side, sign, began,
                                       tick_ok[sign][:, k])  # fmt: skip
                if cand is not None:
                    out.append(cand)
        return out

    def _tick_ok(self, sign: int) -> np.ndarray:
        """$TICK neutral or recovering since each member's bar before, row by
        row (no feed: passes)."""
        tick, tick_prev = self.internals.tick[:, None], self._tick_before
        neutral = ~np.isfinite(tick) | (tick * sign >= -self.tick_neutral - EPS)
        if tick_prev is None:
            return np.broadcast_to(neutral, (len(tick), len(self._tick_prev)))
        rising = ((tick - tick_prev) * sign > 0) & (tick * sign > -self.internals.tick_strong)
        return neutral | rising

    def _candidate(self, batch, state, values, after, col, side, sign, began, tick_ok):
        present = np.asarray(batch.present[:, col], bool)
        low, high, close = batch.low[:, col], batch.high[:, col], batch.close[:, col]
        vwap = np.asarray(values["vwap"])[:, col]
        edge = np.asarray(values["or_high" if sign > 0 else "or_low"])[:, col]
        reach = low if sign > 0 else high
        touched_vwap = (reach - vwap) * sign <= EPS
        touched_edge = (reach - edge) * sign <= EPS
        level = np.where(touched_vwap, vwap, edge)
        held = (close - level) * sign >= -EPS
        run = (close - level) * sign / level * 100
        lead = np.asarray(values["lead"])[:, col]
        lead_ok = (lead - (began - sign * self.fade)) * sign > EPS
        mask = after & present & (touched_vwap | touched_edge) & held & (run < self.max_run)
        mask &= lead_ok & tick_ok
        j = self.first_new(mask, col, side)
        if j is None:
            return None
        entry = float(close[j])
        tick_size = self.tick_size(batch.symbols[col])
        raw_stop = float(reach[j]) - sign * tick_size
        atr = self._atr[col][j]
        stop, capped = stop_within_atr(entry, raw_stop, atr, sign, tick_size)
        target, target_why = self._target(state, batch.symbols[col], values, j, col, entry, sign)
        target = None if target is None else on_tick(target, tick_size)
        which = "VWAP" if touched_vwap[j] else ("opening-range high" if sign > 0 else
                                                 "opening-range low")  # fmt: skip
        rs = Check("rs", True, f"lead {lead[j]:+.2f}% (began {began:+.2f}%)")
        stack = build_stack(rs, self.internals, values, j, col, sign)
        reason = (
            f"{batch.symbols[col]} led the first {self.lead_ns // 60_000_000_000} RTH minutes"
            if sign > 0
            else f"{batch.symbols[col]} lagged the first {self.lead_ns // 60_000_000_000} "
            "RTH minutes"
        )
        reason += f" (lead {began:+.2f}%), pulled back to {which} {level[j]:.2f}"
        details = {
            "lead_began": began,
            "lead": float(lead[j]),
            "level": which,
            "ideal_entry": float(level[j]),
            "run_pct": float(run[j]),
            "pullback_extreme": float(reach[j]),
            "atr": float(atr) if math.isfinite(atr) else None,  # unknown: too few bars
            "target_rule": target_why,
        }
        if capped:
            details["stop_rule"] = capped
        return Candidate(
            row=j,
            col=col,
            side=side,
            entry=entry,
            stop=stop,
            target=target,
            stack=stack,
            reason=reason,
            details=details,
            exit_rule=self._lead_fade(began, sign),
        )

    def _target(self, state, symbol, values, j, col, entry, sign):
        """The nearer beyond the entry of the prior session's extreme and the
        opening-range measured move."""
        high, low = prior_extremes(state, symbol)
        choices = [(high, "prior session high") if sign > 0 else (low, "prior session low")]
        hi, lo = float(values["or_high"][j, col]), float(values["or_low"][j, col])
        if math.isfinite(hi) and math.isfinite(lo):
            move = hi + (hi - lo) if sign > 0 else lo - (hi - lo)
            choices.append((move, "opening-range measured move"))
        return nearest_beyond(entry, sign, choices)

    def _lead_fade(self, began: float, sign: int):
        fade = self.fade

        def rule(batch, state, trade, start):
            lead = np.asarray(state.values["lead"])[start:, trade.col]
            faded = (lead - (began - sign * fade)) * sign < -EPS
            faded &= np.isfinite(lead)
            return faded, "lead_fade", f"lead faded more than {fade:g} from {began:+.2f}%"

        return rule
