"""Indicator ``internals``: NYSE ``$TICK`` and ``$ADD`` read as breadth, not as
prices (DOMAIN.md §7, INTEGRATIONS.md §5).

Internals are instruments whose root is ``$TICK`` or ``$ADD``
(:data:`INTERNAL_ROOTS`); their bars are readings, not prices, so the ``rs``
and ``measures`` indicators leave them out (RS%, VWAP, ATR ... are NaN) and
the group refuses them. Their own measures are here.

The indicator reads one ``$TICK`` and one ``$ADD`` instrument: settings ``tick``
and ``add`` name them; by default the instrument called ``$TICK`` (``$ADD``),
else the only one with that root. It needs at least one of them.

Per row (slice), the same in the column of every instrument that is not an
internal, and in the ``$TICK`` (``$ADD``) instrument's own column for its
``tick_*`` (``add_*``) values; other internals' columns get NaN and ``""``:

* ``tick``, ``add``: the internal's last close so far in the session. A row
  without a bar of its own (or with one the aggregator filled, ``bars.fill``)
  holds the session's last one up to the cash close (``rth_close``, 16:00 ET);
  after it, and before the session's first reading, NaN. Never carried into
  another session.
* ``tick_high``, ``tick_low``, ``add_high``, ``add_low``: the high and low of
  the internal's bar in the row (its spikes); NaN without a bar of its own.
* ``tick_zone``, ``add_zone`` (text), by ``tick`` (``add``) against the levels
  chop < strong < extreme (``tick_chop`` 400, ``tick_strong`` 800,
  ``tick_extreme`` 1000; ``add_chop`` 500, ``add_strong`` 1000,
  ``add_extreme`` 2000): ``extreme_up`` above +extreme, ``strong_up`` above
  +strong, ``up`` above +chop, ``chop`` from -chop to +chop, ``down`` below
  -chop, ``strong_down`` below -strong, ``extreme_down`` below -extreme; ``""``
  without a value. Every comparison is strict: +800 exactly is ``up``.
* ``add_slope``: ``$ADD`` now minus ``$ADD`` ``add_slope_bars`` (3) of its own
  bars back, within the session; NaN until it has that many bars more than
  one. Held like ``add``.
* ``breadth_div`` (text), in the group members' columns only: ``bearish`` when
  the member's ``rs_pct`` is above 0 while ``add`` is below 0 (price up on
  negative breadth: supports fades, warns against longs), ``bullish`` for the
  mirror (price down while ``add`` is above 0), else ``""`` (also without the
  ``rs`` indicator).

The result does not depend on how a session is cut into batches.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.core import FILLED, SliceBatch

from .settings import check_settings, count_setting, number_setting

NAN = math.nan
INTERNAL_ROOTS = ("$TICK", "$ADD")
NAMES = ("tick", "add")  # the two internals, in the order of INTERNAL_ROOTS
VALUES = ("", "_high", "_low", "_zone")  # each internal's columns: tick, tick_high, ...
COLUMNS = (*(n + v for n in NAMES for v in VALUES), "add_slope", "breadth_div")
LEVELS = ("chop", "strong", "extreme")
DEFAULTS = {
    "tick": None,
    "add": None,
    "tick_chop": 400.0,
    "tick_strong": 800.0,
    "tick_extreme": 1000.0,
    "add_chop": 500.0,
    "add_strong": 1000.0,
    "add_extreme": 2000.0,
    "add_slope_bars": 3,
}
# zone by code: 0 below -extreme ... 6 above +extreme, 7 no value
ZONES = np.array(
    ["extreme_down", "strong_down", "down", "chop", "up", "strong_up", "extreme_up", ""],
    dtype=object,
)


def root_of(config, symbol: str) -> str:
    """The contract-table root of a configured symbol (the symbol itself when
    the config cannot tell, e.g. a bare test context)."""
    try:
        return config.instrument(symbol).root
    except (AttributeError, KeyError):
        return symbol


def internal_mask(context) -> np.ndarray:
    """Which of ``context.symbols`` are market internals (root ``$TICK`` or ``$ADD``)."""
    config = getattr(context, "config", None)
    return np.array([root_of(config, s) in INTERNAL_ROOTS for s in context.symbols], np.bool_)


def internal_symbol(config, symbols, root: str, given) -> str | None:
    """The instrument read as ``root``: ``given``, else the one called ``root``,
    else the only one with that root; None when there is none."""
    if given is not None:
        if given not in symbols:
            raise ValueError(f"{given!r} is not a configured instrument ({', '.join(symbols)})")
        if root_of(config, given) != root:
            raise ValueError(f"{given!r} has root {root_of(config, given)!r}, not {root!r}")
        return given
    if root in symbols:
        return root
    found = [s for s in symbols if root_of(config, s) == root]
    if len(found) > 1:
        key = NAMES[INTERNAL_ROOTS.index(root)]
        raise ValueError(f"{', '.join(found)} all have root {root}: say which one with `{key}`")
    return found[0] if found else None


def zone_codes(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index into ``ZONES`` of each value against ``levels`` (chop, strong,
    extreme, each >= 0): beyond a level strictly; 7 for NaN."""
    below = np.searchsorted(-levels[::-1], values, side="right")  # -extreme, -strong, -chop
    above = np.searchsorted(levels, values, side="left")
    return np.where(np.isnan(values), 7, below + above)


def _levels(s: dict, name: str) -> np.ndarray:
    keys = [f"{name}_{level}" for level in LEVELS]
    levels = [number_setting(key, s[key], 0.0) for key in keys]
    for i in range(len(levels) - 1):
        if levels[i] > levels[i + 1]:
            raise ValueError(
                f"{keys[i]} ({levels[i]:g}) must not be above {keys[i + 1]} ({levels[i + 1]:g})"
            )
    return np.array(levels)


class MarketInternals:
    columns = COLUMNS
    reads_optional = ("rs_pct",)  # breadth_div
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        config = context.config
        symbols = tuple(context.symbols)
        self.symbols = tuple(
            internal_symbol(config, symbols, root, s[name])
            for name, root in zip(NAMES, INTERNAL_ROOTS, strict=True)
        )
        if self.symbols == (None, None):
            raise ValueError(
                "needs $TICK or $ADD among the instruments: configure `$TICK: {}` and "
                "`$ADD: {}` under `instruments:` (with feed_symbol for your feed's names)"
            )
        self.levels = [_levels(s, name) for name in NAMES]
        self.slope_bars = count_setting("add_slope_bars", s["add_slope_bars"])
        self.k = len(symbols)
        internal = internal_mask(context)
        self.cols = [None if sym is None else symbols.index(sym) for sym in self.symbols]
        # the columns each internal's values go in: every price instrument and its own
        self.carriers = []
        for col in self.cols:
            mine = ~internal
            if col is not None:
                mine[col] = True
            self.carriers.append(np.flatnonzero(mine))
        group = getattr(config, "group_symbols", ())
        self.members = [symbols.index(m) for m in group if m in symbols]
        self._date = None
        self._cash_close = 0
        self._held = [NAN, NAN]  # the session's last tick and add
        self._adds = np.empty(0)  # the session's last slope_bars add closes

    def _enter(self, session) -> None:
        if session.date == self._date:
            return
        self._date = session.date
        self._cash_close = session.rth_close_ns
        self._held = [NAN, NAN]
        self._adds = np.empty(0)

    def update_batch(self, batch, state) -> dict:
        self._enter(state.session)
        n = len(batch)
        out = {name: np.full((n, self.k), NAN) for name in COLUMNS}
        for name in ("tick_zone", "add_zone", "breadth_div"):
            out[name] = np.full((n, self.k), "", dtype=object)
        if not n:
            return out
        add = None
        for i, (name, col) in enumerate(zip(NAMES, self.cols, strict=True)):
            if col is None:
                continue
            last, high, low, since = self._readings(batch, i, col)
            rows = {
                name: last,
                f"{name}_high": high,
                f"{name}_low": low,
                f"{name}_zone": ZONES[zone_codes(last, self.levels[i])],
            }
            if name == "add":
                add = last
                rows["add_slope"] = self._slope(batch, col, since, np.isnan(last))
            for key, value in rows.items():
                out[key][:, self.carriers[i]] = value[:, None]
        rs = state.values.get("rs_pct")
        if add is not None and rs is not None and self.members:
            x = np.asarray(rs, float)[:, self.members]
            a = add[:, None]
            div = np.where((x > 0) & (a < 0), "bearish", np.where((x < 0) & (a > 0), "bullish", ""))
            out["breadth_div"][:, self.members] = div
        return out

    def _own(self, batch, col: int) -> np.ndarray:
        """Rows where the internal has a bar of its own (not one filled)."""
        return batch.present[:, col] & (batch.flags[:, col] & FILLED == 0)

    def _readings(self, batch, i: int, col: int):
        """The held last close, the bar's high and low, and each row's last own
        row so far (-1 before the first)."""
        own = self._own(batch, col)
        since = np.maximum.accumulate(np.where(own, np.arange(len(batch)), -1))
        last = np.where(since >= 0, batch.close[np.maximum(since, 0), col], self._held[i])
        last[~own & (batch.ts_close > self._cash_close)] = NAN
        if since[-1] >= 0:
            self._held[i] = float(batch.close[since[-1], col])
        high = np.where(own, batch.high[:, col], NAN)
        low = np.where(own, batch.low[:, col], NAN)
        return last, high, low, since

    def _slope(self, batch, col: int, since: np.ndarray, gone: np.ndarray) -> np.ndarray:
        """``add_slope`` of each row: the change over the last ``slope_bars`` own
        bars as of its last own bar (NaN where ``gone``)."""
        lag = self.slope_bars
        own = self._own(batch, col)
        # the session's add closes: the last lag + 1 before the batch, then the batch's
        seen = np.concatenate((self._adds, batch.close[own, col]))
        change = np.full(len(seen) + 1, NAN)  # the last entry: no bar yet
        change[lag:-1] = seen[lag:] - seen[:-lag]
        # each row's own bar in ``seen``: its last one in the batch, else the last before
        at = np.where(since >= 0, np.cumsum(own)[np.maximum(since, 0)], 0) - 1 + len(self._adds)
        slope = change[at]  # at == -1 reads the NaN at the end
        slope[gone] = NAN
        self._adds = seen[-(lag + 1) :]
        return slope

    def update(self, slice, state) -> dict:
        """One slice: the batch form on a one-row batch."""
        values = self.update_batch(SliceBatch.from_slices([slice]), state)
        return {name: column[0] for name, column in values.items()}
