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

from .confirm import build_stack, lagged_change
from .desk import Candidate
from .settings import count_setting
from .sizing import Check
from .trades import EPS, TradeSetup, on_tick, stop_within_atr

SIDES = (("long", 1), ("short", -1))


def others_mean(rs: np.ndarray) -> np.ndarray:
    """Per row and member of ``rs`` (rows, members): the mean of the other
    members' finite values, NaN when none has one."""
    valid = np.isfinite(rs)
    clean = np.where(valid, rs, 0.0)
    total = np.zeros(rs.shape[0])
    for j in range(rs.shape[1]):  # column by column, like the group's lead
        total = total + clean[:, j]
    count = valid.sum(axis=1)[:, None] - valid
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (total[:, None] - clean) / count, math.nan)


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
        self._rth: dict = {}  # col -> (lows, highs, volumes, leads) of its RTH bars so far
        self._others_history: dict = {}  # col -> lagged_change history of the others' mean
        self._others_batch = None  # the batch ``_others`` is for

    # -- what is followed on every batch -----------------------------------------------

    def prepare(self, batch, state) -> None:
        if self._session is not state.session:
            self._session, self._rth, self._others_history = state.session, {}, {}
        group = list(state.group)
        self._atr = self.atr.columns(batch, group)
        self._others = dict(zip(group, others_mean(_members(state, group)).T, strict=True))
        self._others_batch = batch
        self._group_change = {}
        for c in group:
            mean = self._others[c]
            history = self._others_history.get(c, np.empty(0))
            change, self._others_history[c] = lagged_change(
                mean, np.isfinite(mean), history, self.group_bars
            )
            self._group_change[c] = change
        ts, session = batch.ts_close, state.session
        in_rth = (ts > session.rth_open_ns) & (ts <= session.rth_close_ns)
        lead = np.asarray(state.values["lead"])
        self._seen_rth = {c: self._accumulate(batch, in_rth, lead, c) for c in group}
        self._support = {}

    def _accumulate(self, batch, in_rth, lead, col: int) -> np.ndarray:
        """Add this batch's RTH bars (``in_rth``) of the member to the session's;
        returns which rows of the batch they are."""
        rth = in_rth & np.asarray(batch.present[:, col], bool)
        now = (batch.low[:, col], batch.high[:, col], batch.volume[:, col], lead[:, col])
        old = self._rth.get(col, (np.empty(0),) * len(now))
        self._rth[col] = tuple(np.concatenate([o, x[rth]]) for o, x in zip(old, now, strict=True))
        return rth

    def _extremes(self, col: int, sign: int) -> tuple:
        """Over the member's RTH bars of the session so far, row by row: whether
        the last ``support_bars`` made no new session low (``sign`` +1; -1:
        high) and no new session extreme of the lag, and the session low (high)
        so far."""
        rth = self._seen_rth[col]
        lows, highs, volumes, leads = self._rth[col]
        new = len(lows) - int(rth.sum())
        k = self.support_bars
        held, extreme = _no_new_extreme(lows if sign > 0 else -highs, k)
        lag_held, _ = _no_new_extreme(leads * sign, k)
        return (
            _on_rows(rth, held[new:], False),
            _on_rows(rth, lag_held[new:], False),
            _on_rows(rth, (extreme * sign)[new:], math.nan),
        )

    def _volumes(self, col: int) -> tuple:
        """The volume of the member's last ``support_bars`` RTH bars and of the
        ones before them, row by row."""
        rth = self._seen_rth[col]
        volumes = self._rth[col][2]
        new = len(volumes) - int(rth.sum())
        return tuple(
            _on_rows(rth, x[new:], math.nan) for x in _window_volumes(volumes, self.support_bars)
        )

    # -- entries -----------------------------------------------------------------------

    def propose(self, batch, state, rows) -> list[Candidate]:
        group = list(state.group)
        fired = self._fired
        if all((c, side) in fired for c in group for side, _ in SIDES):
            return []
        # the cheap conditions for every member and both sides at once
        lead = np.asarray(state.values["lead"])[:, group]
        change = np.column_stack([self._group_change[c] for c in group])
        others = np.column_stack([self._others[c] for c in group])
        base = rows[:, None] & np.asarray(batch.present[:, group], bool)
        cheap = {}
        for _, sign in SIDES:
            mask = base & (lead * sign <= -self.min_lag + EPS)
            mask &= (change * sign > EPS) & (others * sign > EPS)
            cheap[sign] = mask
        any_ = {sign: mask.any(axis=0) for sign, mask in cheap.items()}
        out = []
        for k, col in enumerate(group):
            col = int(col)
            for side, sign in SIDES:
                if (col, side) in fired or not any_[sign][k]:
                    continue  # the signs only where needed
                cand = self._candidate(batch, state, cheap[sign][:, k], col, side, sign)
                if cand is not None:
                    out.append(cand)
        return out

    def _signs(self, col: int, sign: int):
        """The three bottoming (topping) signs, row by row."""
        support = self._support
        if (col, sign) not in support:
            support[col, sign] = self._extremes(col, sign)
        if col not in support:
            support[col] = self._volumes(col)
        price, lag, extreme = support[col, sign]
        recent, before = support[col]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(before > 0, recent / before, math.nan)
        volume = recent > self.volume_ratio * before  # NaN: not shown
        slope = self.internals.add_slope
        add = slope * sign > EPS
        return price & lag, extreme, ratio, volume, slope, add

    def _candidate(self, batch, state, mask, col, side, sign):
        values = state.values
        lead = np.asarray(values["lead"])[:, col]
        change = self._group_change[col]
        support, extreme, ratio, volume, slope, add = self._signs(col, sign)
        mask &= support & (volume | add)
        j = self.first_new(mask, col, side)
        if j is None:
            return None
        symbol = batch.symbols[col]
        tick_size = self.tick_size(symbol)
        entry = float(batch.close[j, col])
        atr = float(self._atr[col][j])
        cap = self.stop_atr * atr
        stop, capped = stop_within_atr(entry, float(extreme[j]) - sign * tick_size, cap, sign,
                                       tick_size)  # fmt: skip
        others = float(self._others[col][j])
        rs = float(np.asarray(values["rs_pct"])[j, col])
        target = on_tick(entry * (1 + others / 100) / (1 + rs / 100), tick_size)
        if not (target - entry) * sign > EPS:
            target = None
        low_word = "low" if sign > 0 else "high"
        volume_why = (
            f"volume {ratio[j]:.2f}x the {self.support_bars} bars before"
            if math.isfinite(ratio[j])
            else f"fewer than {2 * self.support_bars} RTH bars with volume"
        )
        add_why = f"$ADD slope {slope[j]:+.0f}" if math.isfinite(slope[j]) else "no $ADD feed"
        support_why = (
            f"no new session {low_word} ({extreme[j]:.10g}) and no wider lag for "
            f"{self.support_bars} bars"
        )
        shown = {
            "support": _sign(True, support_why),
            "volume": _sign(bool(volume[j]), volume_why),
            "add": _sign(bool(add[j]), add_why),
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
            f"session_{low_word}": float(extreme[j]),
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
                others = others_mean(_members(state, members)[start:])[:, k]
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


def _no_new_extreme(lows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bar of a session's ``lows``: whether the last ``k`` bars, this one
    included, stayed at or above the lowest low before them, and the session
    low so far."""
    low_so_far = np.fmin.accumulate(lows) if len(lows) else lows  # past a NaN lead
    held = np.zeros(len(lows), bool)
    if len(lows) > k:
        n = len(lows)
        window = np.minimum.reduce([lows[i : n - k + 1 + i] for i in range(k)])[1:]
        held[k:] = window >= low_so_far[:-k]
    return held, low_so_far


def _window_volumes(volumes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bar of a session's ``volumes``: the volume of the last ``k`` bars,
    this one included, and of the ``k`` bars before them; NaN until there are
    ``2 k`` bars."""
    sums = np.concatenate([[0.0], np.cumsum(volumes)])
    recent = np.full(len(volumes), math.nan)
    before = np.full(len(volumes), math.nan)
    if len(volumes) >= 2 * k:
        recent[2 * k - 1 :] = sums[2 * k :] - sums[k:-k]
        before[2 * k - 1 :] = sums[k:-k] - sums[: -2 * k]
    return recent, before


def _on_rows(rows: np.ndarray, values: np.ndarray, empty) -> np.ndarray:
    """``values`` on the ``rows`` of a batch, ``empty`` elsewhere."""
    out = np.full(len(rows), empty, dtype=np.asarray(values).dtype)
    out[rows] = values
    return out


def _sign(shown: bool, why: str) -> str:
    return f"{'shown' if shown else 'not shown'}: {why}"
