"""Setup ``laggard_catchup`` (DOMAIN.md §6.3): buy the group member that lags
a rising group once it shows it has bottomed, at half size and with a wider
stop; sell, mirrored, the member that holds up while the group falls.

Per group member, side and session (settings in brackets, defaults):

1. Lag: its ``lead`` is at most ``-min_lag`` (0.3 %) for a long (at least
   ``min_lag`` for a short: it has not followed the group down).
2. The group keeps going the laggard's way: the others' mean ``rs_pct`` (the
   other members with a value in the row) is above 0 and has risen over the
   last ``group_bars`` (3) bars of the session, its change from ``group_bars``
   rows back above 0 (short: below 0 and falling).
3. Bottoming (short: topping), each sign in ``details.signs``:

   * support holding, required: over the member's RTH bars of the session,
     none of the last ``support_bars`` (3), this one included, made a new
     session low (their lowest low is at or above the lowest low before
     them), and none made a new widest lag (their lowest lead is at or above
     the lowest before them); short: no new high, no new highest lead;
   * volume rising: the volume of those ``support_bars`` bars is above
     ``volume_ratio`` (1.0) times that of the ``support_bars`` RTH bars
     before them;
   * $ADD ticking up: its change over ``add_slope_bars`` (3) bars is above 0
     (short: below 0); without a $ADD feed the sign is not shown.

   Support holding and at least one of the other two.

Entry: the close of the first such bar that may enter (``entry_rows``), at
``size_factor`` (0.5) of the stack's size. Stop: one tick beyond the session
low (high) that held, moved in to at most ``stop_atr`` (1.5) ATRs of the
trading timeframe from the entry: wider than the rider's one ATR, by design.
Target: where the lag closes, the price at which its RS% equals the others'
mean RS% at entry, ``close x (1 + others / 100) / (1 + rs_pct / 100)``; none
when that is not beyond the entry. Exit (besides stop, target and session
end), at the close: ``group_reversed``, the others' mean RS% has come back
``reverse`` (0.2) or more against the trade from its value at entry; or
``lag_widened``, the lead has moved ``widen`` (0.2) or more further against
the trade from its value at entry.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.core import (
    empty_change_carry,
    empty_floor_carry,
    empty_sum_carry,
    floor_holds,
    lagged_changes,
    others_mean,
    window_sums,
)

from .confirm import build_stack
from .desk import Candidate
from .settings import count_setting
from .sizing import Check
from .trades import EPS, TradeSetup, on_tick, stop_within_atr

SIDES = (("long", 1), ("short", -1))
SIGN_AXIS = np.array([[[1.0]], [[-1.0]]])  # the sides' signs, on axis 0 of (side, member, row)


class LaggardCatchUp(TradeSetup):
    DEFAULTS = {
        "min_lag": 0.3,
        "group_bars": 3,
        "support_bars": 3,
        "volume_ratio": 1.0,
        "size_factor": 0.5,
        "stop_atr": 1.5,
        "reverse": 0.2,
        "widen": 0.2,
    }
    reads = ("lead", "rs_pct")

    def __init__(self, settings: dict, context):
        super().__init__(settings, context)
        self.min_lag = self.positive("min_lag")
        self.group_bars = count_setting("group_bars", self.s["group_bars"])
        self.support_bars = count_setting("support_bars", self.s["support_bars"])
        self.volume_ratio = self.positive("volume_ratio")
        self.size_factor = self.positive("size_factor")
        if self.size_factor > 1:
            raise ValueError(f"size_factor must be at most 1, got {self.s['size_factor']!r}")
        self.stop_atr = self.positive("stop_atr")
        self.reverse = self.positive("reverse")
        self.widen = self.positive("widen")
        self._session = None
        self._floors = self._sums = None  # floor_holds' and window_sums' carries
        self._others_carry = None  # lagged_changes' carry of the others' mean
        self._others_batch = None  # the batch ``_others`` is for

    # -- what is followed on every batch -----------------------------------------------

    def prepare(self, batch, state) -> None:
        group = list(state.group)
        if self._session is not state.session:
            self._session = state.session
            self._floors = empty_floor_carry(4 * len(group), self.support_bars)
            self._sums = empty_sum_carry(len(group), self.support_bars)
            self._others_carry = empty_change_carry(len(group), self.group_bars)
        rows = self.member_rows
        self._atr = self.atr.columns(batch, group, rows)
        # (member, row) arrays: numpy is quick along the rows, slow across a few members
        others = others_mean(rows["rs_pct"])
        self._others = dict(zip(group, others, strict=True))
        self._others_batch = batch
        self._group_change, self._others_carry = lagged_changes(
            others, np.isfinite(others), self._others_carry, self.group_bars
        )
        ts, session = batch.ts_close, state.session
        in_rth = (ts > session.rth_open_ns) & (ts <= session.rth_close_ns)
        self._present, self._lead = rows["present"], rows["lead"]
        self._follow_signs(rows, in_rth & self._present)

    def _follow_signs(self, rows, rth: np.ndarray) -> None:
        """Carry the session's RTH bars of each member into this batch's signs
        (every batch, so the session's floors and volumes stay whole): per
        side (bottoming, topping), member and row, support holding (none of
        the last ``support_bars`` RTH bars made a new session low (high) or
        a new session extreme of the lag) and the session low (high) so far;
        per member and row, the volume of the last ``support_bars`` RTH bars
        and of the ones before them. NaN (False) off a member's RTH bars."""
        k, g = self.support_bars, len(rth)
        lead = self._lead
        series = np.concatenate([rows["low"], lead, -rows["high"], -lead])  # long's, short's
        floor, held, self._floors = floor_holds(series, np.tile(rth, (4, 1)), self._floors, k)
        held = held.reshape(2, 2, g, -1)  # (side, price or lag, member, row)
        self._support = held[:, 0] & held[:, 1]
        self._extreme = floor.reshape(2, 2, g, -1)[:, 0] * SIGN_AXIS  # back to prices
        self._recent, self._before, self._sums = window_sums(rows["volume"], rth, self._sums, k)

    # -- entries -----------------------------------------------------------------------

    def propose(self, batch, state, rows) -> list[Candidate]:
        group = list(state.group)
        unfired = np.array([[(c, side) not in self._fired for c in group] for side, _ in SIDES])
        if not unfired.any():
            return []
        # the cheap conditions for every side, member and row at once
        s = SIGN_AXIS
        mask = (rows & self._present) & unfired[:, :, None]
        mask &= self._lead * s <= -self.min_lag + EPS
        others = np.array([self._others[c] for c in group])
        mask &= (self._group_change * s > EPS) & (others * s > EPS)
        if not mask.any():
            return []
        support, extreme = self._support, self._extreme
        recent, before = self._recent, self._before
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(before > 0, recent / before, math.nan)
        volume = recent > self.volume_ratio * before  # NaN: not shown
        add = self.internals.add_slope * s > EPS  # (side, 1, row)
        mask &= support & (volume | add)
        hits = mask.any(axis=2)
        out = []
        for k, col in enumerate(group):  # the desk takes a row's entries in this order
            for i, (side, sign) in enumerate(SIDES):
                if not hits[i, k]:
                    continue
                j = self.first_new(mask[i, k], int(col), side)
                shown = (extreme[i, k, j], ratio[k, j], bool(volume[k, j]), bool(add[i, 0, j]))
                out.append(self._candidate(batch, state, k, j, int(col), side, sign, shown))
        return out

    def _candidate(self, batch, state, k, j, col, side, sign, shown):
        values = state.values
        lead = np.asarray(values["lead"])[:, col]
        change = self._group_change[k]
        extreme, ratio, volume, add = shown
        slope = self.internals.add_slope[j]
        symbol = batch.symbols[col]
        tick_size = self.tick_size(symbol)
        entry = float(batch.close[j, col])
        atr = float(self._atr[col][j])
        cap = self.stop_atr * atr
        stop, capped = stop_within_atr(entry, float(extreme) - sign * tick_size, cap, sign,
                                       tick_size)  # fmt: skip
        others = float(self._others[col][j])
        rs = float(np.asarray(values["rs_pct"])[j, col])
        target = on_tick(entry * (1 + others / 100) / (1 + rs / 100), tick_size)
        if not (target - entry) * sign > EPS:
            target = None
        low_word = "low" if sign > 0 else "high"
        volume_why = (
            f"volume {ratio:.2f}x the {self.support_bars} bars before"
            if math.isfinite(ratio)
            else f"fewer than {2 * self.support_bars} RTH bars with volume"
        )
        add_why = f"$ADD slope {slope:+.0f}" if math.isfinite(slope) else "no $ADD feed"
        support_why = (
            f"no new session {low_word} ({extreme:.10g}) and no wider lag for "
            f"{self.support_bars} bars"
        )
        shown = {
            "support": _sign(True, support_why),
            "volume": _sign(volume, volume_why),
            "add": _sign(add, add_why),
        }
        signs = "+".join(k for k, v in shown.items() if v.startswith("shown"))
        behind = "lags" if sign > 0 else "holds up against"
        way = "rising" if sign > 0 else "falling"
        reason = (
            f"{symbol} {behind} the group (lead {lead[j]:+.2f}%) while the others' RS% keeps "
            f"{way} ({others:+.2f}%, {change[j]:+.3f} over {self.group_bars} bars); "
            f"{'bottoming' if sign > 0 else 'topping'}: {signs}"
        )
        rs_check = Check("rs", True, f"lag {abs(lead[j]):.2f}% >= {self.min_lag:g}")
        details = {
            "lead": float(lead[j]),
            "others_rs_pct": others,
            "group_change": float(change[j]),
            "signs": shown,
            f"session_{low_word}": float(extreme),
            "atr": atr if math.isfinite(atr) else None,  # None: fewer than atr_bars bars
            "target_rule": "lag closed (lead 0)" if target is not None else "none beyond the entry",
        }
        if capped:
            details["stop_rule"] = f"capped at {self.stop_atr:g} ATR ({cap:.2f})"
        checks = build_stack(rs_check, self.internals, values, j, col, sign)
        rule = self._invalidation(others, float(lead[j]), sign)
        return Candidate(
            j, col, side, entry, stop, target, checks, reason, self.size_factor, details, rule
        )

    # -- the setup's exit --------------------------------------------------------------

    def _invalidation(self, others_at_entry: float, lead_at_entry: float, sign: int):
        reverse, widen = self.reverse, self.widen

        def rule(batch, state, trade, start):
            if self._others_batch is batch:  # row by row: the same as on these rows
                others = self._others[trade.col][start:]
            else:
                members = list(state.group)
                k = members.index(trade.col)
                others = others_mean(_members(state, members)[start:].T)[k]
            lead = np.asarray(state.values["lead"])[start:, trade.col]
            reversed_ = (others_at_entry - others) * sign >= reverse - EPS
            widened = (lead_at_entry - lead) * sign >= widen - EPS
            present = np.asarray(batch.present[start:, trade.col], bool)
            first = np.flatnonzero(present & (reversed_ | widened))
            if len(first) and not reversed_[first[0]]:
                why = f"lag widened {widen:g} or more from lead {lead_at_entry:+.2f}%"
                return reversed_ | widened, "lag_widened", why
            why = f"the group reversed {reverse:g} or more from {others_at_entry:+.2f}%"
            return reversed_ | widened, "group_reversed", why

        return rule


def _members(state, members: list) -> np.ndarray:
    return np.asarray(state.values["rs_pct"], float)[:, members]


def _sign(shown: bool, why: str) -> str:
    return f"{'shown' if shown else 'not shown'}: {why}"
