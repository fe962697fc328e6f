"""What the trade setups read besides prices: the internals ($TICK, $ADD),
the instrument's volume, and the ATR of the trading timeframe; and the four
checks of the confirmation stack built from them (DOMAIN.md §7).

$TICK and $ADD are the configured instruments whose root is ``$TICK`` and
``$ADD`` (a setup's ``tick`` and ``add`` settings name others). Their value at
a row is their last close so far in the session; a session without one has
none, and a check that needs it is unknown ("no $TICK feed"), never a crash.

Our choices where the rule book gives words, not numbers (all settings):

* ``tick`` supports a long when $TICK is above 0, a short when below; it is
  "deeply negative" (or positive, for a short) beyond ``tick_strong`` (800).
* ``add`` confirms a long when $ADD is above 0 and its slope over
  ``add_slope_bars`` (3) bars is not falling, a short mirrored. For a fade it
  confirms when $ADD is against the divergence (participation absent).
* ``volume``: the ``vol_expanding`` column of the instrument.
* The internals contradict a trade when $TICK is beyond ``tick_strong``
  against it, or when both $TICK and $ADD are against it.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.core import empty_change_carry, lagged_changes, true_range_means

from .settings import symbol_of_root
from .sizing import Check, Stack, stack

DEFAULTS = {"tick": None, "add": None, "tick_strong": 800, "add_slope_bars": 3}


def ffill(x: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """``x`` (rows, k) with each NaN holding the column's last finite value so
    far, ``carry`` (k,) before the first."""
    x = np.vstack([carry[None, :], x])
    idx = np.where(np.isfinite(x), np.arange(len(x))[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return x[idx, np.arange(x.shape[1])][1:]


def at_bar_before(x: np.ndarray, present: np.ndarray, carried: np.ndarray):
    """``x`` (one reading a row, e.g. $TICK) as it read on each member's bar
    before each row: (rows, members) for ``present`` (rows, members).
    ``carried`` (members,): the reading at each member's last bar of earlier
    batches (NaN: none). Returns the readings and the new ``carried``.

    A member's bar before, not the row before: $TICK stamped on its own grid
    (NYSE :30) fills a slice of its own between two futures bars, and a turn
    between those bars must still count.
    """
    if not len(x):
        return np.empty(present.shape), carried
    rows = np.arange(len(x))[:, None]
    last = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    before = np.vstack([np.full((1, present.shape[1]), -1), last[:-1]])
    out = np.where(before >= 0, x[np.maximum(before, 0)], carried)
    return out, np.where(last[-1] >= 0, x[np.maximum(last[-1], 0)], carried)


def shared_atr(context, bars: int) -> TrueRangeATR:
    """The run's ATR of ``bars`` primary bars, one object for every setup."""
    return context.shared.setdefault(("rsengine_rs.atr", bars), TrueRangeATR(bars))


class TrueRangeATR:
    """ATR of the trading timeframe: the mean true range of the last ``bars``
    primary bars of an instrument (across sessions), as of each row."""

    def __init__(self, bars: int = 14):
        self.bars = bars
        # per column of the batches: its last ``bars - 1`` true ranges (the first
        # ``_lengths`` of its row) and its last close (NaN: none yet)
        self._history = np.zeros((0, max(bars - 1, 0)))
        self._lengths = np.zeros(0, np.int64)
        self._prev = np.zeros(0)
        self._batch, self._done = None, {}

    def column(self, batch, col: int) -> np.ndarray:
        """The column's ATR on each row of ``batch``; the setups sharing this
        object ask for the same batch in turn, and it is worked out once."""
        if batch is not self._batch:
            self._batch, self._done = batch, {}
        if col not in self._done:
            self._done[col] = self._column(batch, col)
        return self._done[col]

    def columns(self, batch, cols, rows=None) -> dict:
        """``column`` for each of ``cols`` (dict by column), worked out together;
        ``rows``: the batch's ``MemberRows`` for these columns, when there is one."""
        if batch is not self._batch:
            self._batch, self._done = batch, {}
        done = self._done
        todo = [int(c) for c in cols if int(c) not in done]
        if todo:
            done.update(self._columns(batch, todo, rows))
        return {int(c): done[int(c)] for c in cols}

    def _columns(self, batch, cols: list, rows=None) -> dict:
        """``_column`` for several columns at once (the core's
        ``true_range_means``, compiled where built)."""
        if rows is not None and rows.group == cols:  # (member, row) already
            arrays = (rows["high"], rows["low"], rows["close"], rows["present"])
        else:
            arrays = tuple(np.asarray(x)[:, cols].T for x in
                           (batch.high, batch.low, batch.close, batch.present))  # fmt: skip
        self._grow(len(batch.symbols))
        at = np.asarray(cols)
        means, history, lengths, prev = true_range_means(
            *arrays, self._history[at], self._lengths[at], self._prev[at], self.bars
        )
        self._history[at], self._lengths[at], self._prev[at] = history, lengths, prev
        return dict(zip(cols, means, strict=True))

    def _grow(self, k: int) -> None:
        extra = k - len(self._prev)
        if extra > 0:
            self._history = np.vstack([self._history, np.zeros((extra, self._history.shape[1]))])
            self._lengths = np.concatenate([self._lengths, np.zeros(extra, np.int64)])
            self._prev = np.concatenate([self._prev, np.full(extra, math.nan)])

    def _column(self, batch, col: int) -> np.ndarray:
        return self._columns(batch, [col])[col]


class Internals:
    """$TICK and $ADD as of each row of a batch, and the stack's checks."""

    def __init__(self, settings: dict, context):
        self.tick_symbol = symbol_of_root(context, ("$TICK",), settings["tick"], "tick")
        self.add_symbol = symbol_of_root(context, ("$ADD",), settings["add"], "add")
        self.tick_strong = float(settings["tick_strong"])
        self.slope_bars = int(settings["add_slope_bars"])
        if self.tick_strong <= 0:
            raise ValueError(f"tick_strong must be > 0, got {settings['tick_strong']!r}")
        if self.slope_bars < 1:
            raise ValueError(f"add_slope_bars must be >= 1, got {settings['add_slope_bars']!r}")
        self._session = None
        self._last = np.full(2, math.nan)
        self._add_carry = empty_change_carry(1, self.slope_bars)
        self._batch = None
        self.tick = self.add = self.add_slope = None

    @classmethod
    def shared(cls, settings: dict, context) -> Internals:
        """One per run and settings: the setups with the same settings read the
        internals once per batch."""
        key = ("rsengine_rs.internals", *(repr(settings[k]) for k in DEFAULTS))
        found = context.shared.get(key)
        if found is None:
            found = context.shared[key] = cls(settings, context)
        return found

    def read(self, batch, state) -> None:
        """Take this batch's $TICK, $ADD and $ADD slope, row by row (once per
        batch for the setups sharing this object)."""
        if batch is self._batch:
            return
        self._batch = batch
        if self._session is not state.session:  # internals never carry overnight
            self._session = state.session
            self._last = np.full(2, math.nan)
            self._add_carry = empty_change_carry(1, self.slope_bars)
        n = len(batch)
        if self.tick_symbol is None and self.add_symbol is None:  # no feed: nothing to read
            self.tick, self.add, self.add_slope = (np.full(n, math.nan) for _ in range(3))
            return
        raw = np.full((n, 2), math.nan)
        present = np.zeros((n, 2), bool)
        for k, symbol in enumerate((self.tick_symbol, self.add_symbol)):
            c = self._col(batch, symbol)
            if c is not None:
                present[:, k] = batch.present[:, c]
                raw[:, k] = np.where(present[:, k], batch.close[:, c], math.nan)
        filled = ffill(raw, self._last)
        if n:
            self._last = filled[-1].copy()
        self.tick, self.add = filled[:, 0], filled[:, 1]
        slope, self._add_carry = lagged_changes(
            raw[None, :, 1], present[None, :, 1], self._add_carry, self.slope_bars
        )
        self.add_slope = slope[0]

    @staticmethod
    def _col(batch, symbol):
        return None if symbol is None else batch.symbols.index(symbol)

    # -- checks --------------------------------------------------------------------

    def tick_check(self, j: int, sign: int) -> Check:
        t = self.tick[j]
        if not math.isfinite(t):
            return Check("tick", None, "no $TICK feed")
        held = t * sign > 0
        return Check("tick", held, f"$TICK {t:+.0f} {'with' if held else 'against'} the trade")

    def add_check(self, j: int, sign: int, fade: bool = False) -> Check:
        a, slope = self.add[j], self.add_slope[j]
        if not math.isfinite(a):
            return Check("add", None, "no $ADD feed")
        slope_text = "" if not math.isfinite(slope) else f", slope {slope:+.0f}"
        if fade:  # participation absent: breadth against the divergence being faded
            held = a * sign > 0
            return Check("add", held, f"$ADD {a:+.0f}{slope_text}: breadth "
                         f"{'behind the fade' if held else 'behind the move'}")  # fmt: skip
        rising = not math.isfinite(slope) or slope * sign >= 0
        held = a * sign > 0 and rising
        return Check("add", held, f"$ADD {a:+.0f}{slope_text}")

    def contradiction(self, j: int, sign: int) -> str:
        t, a = self.tick[j], self.add[j]
        if math.isfinite(t) and t * sign <= -self.tick_strong:
            return f"$TICK {t:+.0f} beyond {self.tick_strong:.0f} against the trade"
        if math.isfinite(t) and math.isfinite(a) and t * sign < 0 and a * sign < 0:
            return f"$TICK {t:+.0f} and $ADD {a:+.0f} both against the trade"
        return ""


def volume_check(values: dict, j: int, col: int) -> Check:
    expanding = values.get("vol_expanding")
    if expanding is None:
        return Check("volume", None, "no vol_expanding column (indicator measures)")
    held = bool(expanding[j, col])
    return Check("volume", held, "volume expanding" if held else "volume not expanding")


def build_stack(rs: Check, internals: Internals, values, j, col, sign, fade=False) -> Stack:
    return stack(
        rs,
        internals.tick_check(j, sign),
        internals.add_check(j, sign, fade),
        volume_check(values, j, col),
        internals.contradiction(j, sign),
    )
