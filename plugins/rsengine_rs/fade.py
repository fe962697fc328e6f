"""Setup ``divergence_fade`` (DOMAIN.md §6.2): trade against a group member
that has run away from the group, once it shows exhaustion and the internals
turn. Both gates are required.

Per group member, session and direction ``d`` (+1: it leads, the fade is a
short; -1: it lags, the fade is a long); settings in brackets, defaults:

1. Divergence: ``d * lead >= min_divergence`` (0.5 percentage points).
2. Exhaustion: at least ``min_exhaustion`` (1) of the four signs below held
   on a bar among the instrument's last ``exhaustion_bars`` (6) RTH bars, the
   entry bar included, that had the divergence of 1. In the words of a
   leader (d = +1; a laggard mirrors high/low, above/below):

   * ``rsi_divergence``: the bar makes a new RTH session high (its high above
     every earlier RTH high of the session) while its ``rsi`` is below the
     ``rsi`` of the bar that set the previous session high;
   * ``volume_fading``: the bar makes a new RTH session high on a
     ``vol_ratio`` (its volume over the previous bar's 20-bar mean) below
     ``fading_volume`` (1.0);
   * ``rejection``: the bar's high goes above a level while its open and
     close stay below it: the prior session's high, the opening-range high or
     the session VWAP (the first of these, in that order, is recorded);
   * ``failed_new_extreme`` (failed new high; failed new low for a laggard):
     the bar makes a new RTH session high yet closes below the close of the
     instrument's bar before it and in the lower half of its own range.

3. Internals turn against the divergence on the entry bar: $TICK crosses to
   the fade's side of zero (below 0 for a short: above or at 0 on the
   instrument's RTH bar before, not the row before: $TICK on its own grid
   fills slices between the futures' bars), or $ADD does, or the $ADD slope
   over ``add_slope_bars`` (3) does.
   A feed without a value cannot confirm; without any, the gate fails and no
   fade fires. A turn the internals contradict (``Internals.contradiction``:
   $TICK beyond ``tick_strong`` against the fade, or $TICK and $ADD both
   against it) is none: the setup waits for a clean one rather than spend its
   entry on a skipped (size 0) signal. ``internals_required: false`` drops
   this gate (a research switch for data without internals, such as the
   micros).
4. Not on a bar whose ``regime`` is ``trend`` when ``skip_in_trend`` (true):
   a trending, aligned market favours momentum, not fades (DOMAIN.md §4.4,
   §5). The chop cap and the afternoon discount are the desk's.

Entry: the close of the first bar where all hold (one per instrument and side
per session, on the rows ``TradeSetup.entry_rows`` allows). Stop: one tick
beyond the RTH session extreme so far (the high for a short), moved in to at
most one ATR of the trading timeframe. Target: the nearer of the session VWAP
(when it is beyond the entry) and the reversion price, where the lead would be
0 with the others unchanged. Exit (besides stop, target and session end):
``invalidated``, the divergence extends more than ``invalidate`` (0.2) beyond
its value at the entry.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.model import iso_utc

from .confirm import at_bar_before, build_stack
from .desk import Candidate
from .settings import count_setting
from .sizing import Check
from .trades import EPS, TradeSetup, nearest_beyond, on_tick, prior_extremes, stop_within_atr

DIRECTIONS = ((1, "short"), (-1, "long"))  # the divergence's sign, the fade's side
DIRECTION_AXIS = np.array([[[1.0]], [[-1.0]]])  # the divergences' signs, (direction, 1, 1)
SIGNS = ("rsi_divergence", "volume_fading", "rejection", "failed_new_extreme")
COLUMNS = ("lead", "rs_pct", "rsi", "vol_ratio", "vwap", "or_high", "or_low", "atr_pct")
PRICES = ("present", "open", "high", "low", "close")
INTERNALS = ("tick", "add", "add_slope")


class DivergenceFade(TradeSetup):
    DEFAULTS = {
        "min_divergence": 0.5,
        "min_exhaustion": 1,
        "exhaustion_bars": 6,
        "fading_volume": 1.0,
        "invalidate": 0.2,
        "skip_in_trend": True,
        "internals_required": True,
    }
    reads = ("lead", "rs_pct", "rsi", "vol_ratio", "vwap", "or_high", "or_low")
    reads_optional = (*TradeSetup.reads_optional, "atr_pct")

    def __init__(self, settings: dict, context):
        super().__init__(settings, context)
        s = self.s
        self.min_divergence = self.positive("min_divergence")
        self.min_exhaustion = count_setting("min_exhaustion", s["min_exhaustion"])
        if self.min_exhaustion > len(SIGNS):
            raise ValueError(
                f"min_exhaustion must be at most {len(SIGNS)}, got {s['min_exhaustion']!r}"
            )
        self.window = count_setting("exhaustion_bars", s["exhaustion_bars"])
        self.fading_volume = self.positive("fading_volume")
        self.invalidate = self.positive("invalidate")
        self.skip_in_trend = _flag("skip_in_trend", s["skip_in_trend"])
        self.internals_required = _flag("internals_required", s["internals_required"])
        group = context.config.indicators.get("group")
        self.normalized = group is not None and group.settings.get("mode") == "normalized"
        self._session = None
        self._rows: dict = {}  # the session's RTH rows so far, column -> array
        self._new = np.empty(0, np.int64)  # this batch's RTH rows
        self._taken = None  # whether they are in ``_rows`` yet
        self._atr: dict = {}
        self._prior: dict = {}

    # -- what the setup follows ----------------------------------------------------

    def prepare(self, batch, state) -> None:
        session = state.session
        if self._session is not session:
            self._session, self._rows = session, {}
            self._prior = {int(c): prior_extremes(state, batch.symbols[c]) for c in state.group}
        self._atr = self.atr.columns(batch, state.group, self.member_rows)
        ts = batch.ts_close
        self._new = np.flatnonzero((ts > session.rth_open_ns) & (ts <= session.rth_close_ns))
        self._taken = None
        # while RTH goes on in the next batch, these rows are kept now; else only if an
        # entry may be taken on them (propose)
        if len(self._new) and ts[-1] < session.rth_close_ns:
            self._take(batch, state)

    def _take(self, batch, state) -> dict:
        """The session's RTH rows so far, this batch's added (once)."""
        if self._taken is not None:
            return self._rows
        new, values = self._new, state.values
        k = len(batch.symbols)
        taken = {name: np.asarray(getattr(batch, name))[new] for name in PRICES}
        for name in COLUMNS:
            column = values.get(name)
            taken[name] = (
                np.full((len(new), k), math.nan)
                if column is None
                else np.asarray(column, float)[new]
            )
        for name in INTERNALS:
            taken[name] = np.asarray(getattr(self.internals, name), float)[new]
        taken["ts"] = batch.ts_close[new]
        for name, part in taken.items():
            self._rows[name] = part if name not in self._rows else np.concatenate(
                [self._rows[name], part]
            )  # fmt: skip
        self._taken = True
        return self._rows

    # -- entries -------------------------------------------------------------------

    def propose(self, batch, state, rows) -> list[Candidate]:
        new = self._new
        if not len(new):
            return []
        rows_now = rows[new]
        if not rows_now.any():
            return []
        if self.internals_required and not self._internals_on(new):
            return []  # no reading on these rows: no turn, no fade
        group = [int(c) for c in state.group]
        sides = [side for _, side in DIRECTIONS]
        unfired = np.array([[(c, side) not in self._fired for c in group] for side in sides])
        # the cheap conditions first, on this batch's rows, every direction and member at
        # once (direction, member, row): the divergence, the rows that may enter, the turn
        # and the regime
        lead = self.member_rows["lead"][:, new]
        cheap = lead * DIRECTION_AXIS >= self.min_divergence - EPS
        cheap &= unfired[:, :, None]
        if not cheap.any():
            return []  # no divergence on this batch's rows: no entry here
        cheap &= rows_now & self.member_rows["present"][:, new]
        turns: dict = {}
        if self.internals_required:
            if not cheap.any():
                return []
            r = self._take(batch, state)
            n, m = len(r["ts"]), len(new)
            turns = {d: _turns(r, -d, group) for d, _ in DIRECTIONS}
            cheap &= np.array([turns[d]["any"][n - m :].T for d, _ in DIRECTIONS])
        regime = state.values.get("regime")
        if self.skip_in_trend and regime is not None:
            cheap &= self.member_rows["regime"][:, new] != "trend"
        hits = cheap.any(axis=2)
        if not hits.any():
            return []
        r = self._take(batch, state)
        n, m = len(r["ts"]), len(new)
        out = []
        for k, col in enumerate(group):  # the desk takes a row's entries in this order
            for i, (d, side) in enumerate(DIRECTIONS):
                if not hits[i, k]:
                    continue
                gates = self._gates(r, col, d)
                mask = cheap[i, k] & gates["exhaustion"][n - m :]
                if self.internals_required:  # a turn the internals contradict is none
                    for at in np.flatnonzero(mask):
                        if not self.internals.contradiction(int(new[at]), -d):
                            break
                        mask[at] = False
                at = self.first_new(mask, col, side)
                if at is not None:
                    j, at = int(new[at]), n - m + at
                    if d not in turns:
                        turns[d] = _turns(r, -d, group)
                    turn = {key: v if key == "sign" else _member(v, k)
                            for key, v in turns[d].items()}  # fmt: skip
                    out.append(self._candidate(batch, state, r, gates, turn, j, at, col, d, side))
        return out

    def _internals_on(self, new) -> bool:
        """Whether $TICK, $ADD or the $ADD slope has a reading on these rows."""
        return any(
            not np.isnan(np.asarray(getattr(self.internals, name), float)[new]).all()
            for name in INTERNALS
        )

    def _gates(self, r: dict, col: int, d: int) -> dict:
        """Per session row: the divergence, each exhaustion sign (on a bar with
        the divergence), where it last held, and the exhaustion gate."""
        present = r["present"][:, col].astype(bool)
        lead = r["lead"][:, col]
        divergence = present & (lead * d >= self.min_divergence - EPS)
        ext = _extremes(r, col, d, self._prior[col][0 if d > 0 else 1])
        signs = {
            "rsi_divergence": ext["new"] & (r["rsi"][:, col] * d < ext["prior_rsi"] * d),
            "volume_fading": ext["new"] & (r["vol_ratio"][:, col] < self.fading_volume),
            "rejection": ext["level"] >= 0,
            "failed_new_extreme": ext["new"] & ext["below_prev"] & ext["wrong_half"],
        }
        count = np.cumsum(present)
        rows = np.arange(len(lead))
        last, seen = {}, np.zeros(len(lead), int)
        for name, held in signs.items():
            at = np.maximum.accumulate(np.where(held & divergence, rows, -1))
            inside = (at >= 0) & (count - count[np.maximum(at, 0)] < self.window)
            last[name] = np.where(inside, at, -1)
            seen += inside
        exhaustion = seen >= self.min_exhaustion
        return {"divergence": divergence, "exhaustion": exhaustion, "last": last, "seen": seen,
                "ext": ext}  # fmt: skip

    def _candidate(self, batch, state, r, gates, turns, j, at, col, d, side) -> Candidate:
        sign = -d  # the trade's
        symbol = batch.symbols[col]
        lead = float(r["lead"][at, col])
        entry = float(batch.close[j, col])
        tick_size = self.tick_size(symbol)
        extreme = float(gates["ext"]["extreme"][at])
        atr = self._atr[col][j]
        stop, capped = stop_within_atr(entry, extreme + d * tick_size, atr, sign, tick_size)
        target, target_why = self._target(r, at, col, entry, sign)
        target = None if target is None else on_tick(target, tick_size)
        signs = {
            name: self._sign(name, r, gates["ext"], i, col, d)
            for name in SIGNS
            if (i := int(gates["last"][name][at])) >= 0
        }
        internals = self._internals_record(r, turns, at)
        rs = Check("rs", True, f"lead {lead:+.2f}% diverges by at least {self.min_divergence:g}")
        stack = build_stack(rs, self.internals, state.values, j, col, sign, fade=True)
        word = "leads" if d > 0 else "lags"
        reason = (
            f"{symbol} {word} the group by {lead:+.2f}% and shows exhaustion "
            f"({', '.join(signs)}); {internals['why']}: fade {side}"
        )
        details = {
            "lead": lead,
            "min_divergence": self.min_divergence,
            "exhaustion": {
                "held": True,
                "count": len(signs),
                "min": self.min_exhaustion,
                "window_bars": self.window,
                "signs": signs,
            },
            "internals": internals,
            "extreme": extreme,
            "atr": _number(atr),
            "target_rule": target_why,
            **({"stop_rule": capped} if capped else {}),
        }
        exit_rule = self._invalidation(lead, d)
        return Candidate(j, col, side, entry, stop, target, stack, reason, details=details,
                         exit_rule=exit_rule)  # fmt: skip

    def _sign(self, name, r, ext, i, col, d) -> dict:
        """The numbers of one exhaustion sign at the bar it last held."""
        hi_lo = "high" if d > 0 else "low"
        out = {"ts_close": iso_utc(int(r["ts"][i])), hi_lo: float(r[hi_lo][i, col])}
        if name != "rejection":
            out[f"prior_{hi_lo}"] = float(ext["prior"][i])
        if name == "rsi_divergence":
            out["rsi"] = float(r["rsi"][i, col])
            out[f"rsi_at_prior_{hi_lo}"] = float(ext["prior_rsi"][i])
        elif name == "volume_fading":
            out["vol_ratio"] = float(r["vol_ratio"][i, col])
            out["below"] = self.fading_volume
        elif name == "rejection":
            level = int(ext["level"][i])
            out["level"] = ext["levels"][level][0]
            out["price"] = float(ext["levels"][level][1][i])
            out["open"], out["close"] = float(r["open"][i, col]), float(r["close"][i, col])
        else:
            out["close"] = float(r["close"][i, col])
            out["prior_close"] = _number(ext["prev_close"][i])
            out["midpoint"] = float((r["high"][i, col] + r["low"][i, col]) / 2)
        return out

    def _internals_record(self, r, turns, at) -> dict:
        what = {"tick": "$TICK", "add": "$ADD", "add_slope": "$ADD slope"}
        seen = []
        record: dict = {"held": bool(turns["any"][at])}
        for name, label in what.items():
            x, before = r[name][at], turns["before"][name][at]
            if not math.isfinite(x):
                record[name] = f"no {label} feed" if name != "add_slope" else "no slope yet"
                continue
            was = f"{before:+.0f}" if math.isfinite(before) else "none"
            record[name] = f"{x:+.0f}, bar before {was}"
            if turns[name][at]:
                crossed = f"crossed {'below' if turns['sign'] < 0 else 'above'} 0"
                record[name] += f": {crossed}"
                seen.append(f"{label} {crossed} ({x:+.0f})")
        if not self.internals_required:
            record["required"] = False
            return {**record, "why": "internals not required (internals_required: false)"}
        return {**record, "why": ", ".join(seen)}

    def _target(self, r, at, col, entry, sign):
        """The nearer of the session VWAP (when beyond the entry) and the price
        at which the lead would be 0 with the others where they are."""
        rs, lead = float(r["rs_pct"][at, col]), float(r["lead"][at, col])
        unit = float(r["atr_pct"][at, col]) if self.normalized else 1.0
        reversion = entry * (1 + (rs - lead * unit) / 100) / (1 + rs / 100)
        choices = [(float(r["vwap"][at, col]), "session VWAP"), (reversion, "lead 0 (group mean)")]
        return nearest_beyond(entry, sign, choices)

    def _invalidation(self, began: float, d: int):
        limit, invalidate = began * d + self.invalidate, self.invalidate

        def rule(batch, state, trade, start):
            lead = np.asarray(state.values["lead"])[start:, trade.col]
            extended = np.isfinite(lead) & (lead * d > limit + EPS)
            return extended, "invalidated", (
                f"divergence extended more than {invalidate:g} beyond {began:+.2f}%"
            )  # fmt: skip

        return rule


# -- helpers -----------------------------------------------------------------------


def _extremes(r: dict, col: int, d: int, prior_session: float) -> dict:
    """Per session row of one instrument, in the direction ``d`` (+1 highs,
    -1 lows): the extreme before it, whether it makes a new one, the ``rsi`` of
    the bar that set the one before, the previous bar's close, and which level
    (index into ``levels``, -1 none) its wick rejected."""
    present = r["present"][:, col].astype(bool)
    high, low, close, opened = (r[c][:, col] for c in ("high", "low", "close", "open"))
    reach = np.where(present, (high if d > 0 else low) * d, -math.inf)
    best = np.maximum.accumulate(reach)
    prior = np.concatenate([[-math.inf], best[:-1]])
    new = present & (reach > prior) & np.isfinite(prior)
    rows = np.arange(len(reach))
    setter = np.maximum.accumulate(np.where(present & (reach > prior), rows, -1))
    before = np.concatenate([[-1], setter[:-1]])
    rsi = r["rsi"][:, col]
    prior_rsi = np.where(before >= 0, rsi[np.maximum(before, 0)], math.nan)
    last_present = np.maximum.accumulate(np.where(present, rows, -1))
    prev = np.concatenate([[-1], last_present[:-1]])
    prev_close = np.where(prev >= 0, close[np.maximum(prev, 0)], math.nan)
    below_prev = close * d < prev_close * d
    wrong_half = close * d < (high + low) / 2 * d
    side = "high" if d > 0 else "low"
    levels = [
        (f"prior session {side}", np.full(len(reach), prior_session)),
        (f"opening-range {side}", r["or_high" if d > 0 else "or_low"][:, col]),
        ("VWAP", r["vwap"][:, col]),
    ]
    level = np.full(len(reach), -1)
    for k in reversed(range(len(levels))):  # the first in order wins
        price = levels[k][1]
        body = np.maximum(opened * d, close * d)
        level = np.where(present & (reach > price * d) & (body < price * d), k, level)
    return {
        "new": new,
        "prior": prior * d,
        "prior_rsi": prior_rsi,
        "extreme": best * d,
        "prev_close": prev_close,
        "below_prev": below_prev,
        "wrong_half": wrong_half,
        "level": level,
        "levels": levels,
    }


def _turns(r: dict, sign: int, group: list) -> dict:
    """Per session row and member (rows, members): $TICK, $ADD or the $ADD
    slope crossed to the side of ``sign`` since the member's RTH bar before
    (both readings known); ``before`` holds those earlier readings."""
    present = r["present"][:, group].astype(bool)
    none = np.full(len(group), math.nan)
    out: dict = {"sign": sign, "before": {}}
    for name in INTERNALS:
        x = r[name]
        before, _ = at_bar_before(x, present, none)
        out["before"][name] = before
        out[name] = (x[:, None] * sign > 0) & (before * sign <= 0)
    out["any"] = out["tick"] | out["add"] | out["add_slope"]
    return out


def _member(value, k: int):
    """One member's column of a (rows, members) array, or of a dict of them."""
    if isinstance(value, dict):
        return {key: v[:, k] for key, v in value.items()}
    return value[:, k]


def _number(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value
