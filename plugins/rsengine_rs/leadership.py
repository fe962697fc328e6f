"""Indicator ``group``: cross-instrument relative strength (DOMAIN.md §3).

Reads ``rs_pct`` (the ``rs`` indicator, configured before this one) or, with
``mode: normalized``, ``rs_norm`` (the ``measures`` indicator), and the bar
closes. Group members are ``state.group`` in group order (never a market
internal, $TICK or $ADD); their columns get the values below, every other
instrument NaN (``rank`` 0, text ``""``, flags False). Row-wide values
(leader, spreads, correlations, ratio) are repeated in every group member's
column. ``<a>_<b>`` names every pair of lowercase group names, ``a`` before
``b`` in group order (``corr_es_nq``).

* ``lead``: ``x_i - mean(x_j, j != i)`` over the members with a value in the
  row, ``x`` being RS% (``mode: raw``) or RS% / ATR% (``normalized``);
  ``rank``: 1 = highest lead, ties to the earlier member, 0 without a lead;
  ``leader``/``laggard``: group name of the highest/lowest lead (ties to the
  earlier member), ``""`` when no member has one; ``spread_<a>_<b>``:
  ``x_a - x_b``.
* ``mom_div``: each member's ``momentum_bars``-bar (10) return in percent,
  over its own bars (``(close - close_n) / close_n * 100``, ``close_n`` the
  close ``n`` of its bars back), minus the mean of the other members' returns
  in the row. ``mom_div_z``: ``mom_div`` / the sample std (ddof 1) of the
  member's last ``history_bars`` non-NaN ``mom_div`` values, this one included;
  NaN until there are that many. ``history_bars`` = ``z_history_sessions``
  (20) x bars per session (23 h / primary bar: 276 for 5 minutes).
  ``mom_div_sig``: ``|mom_div_z| > z_threshold`` (1.0).
* ``corr_<a>_<b>``: Pearson correlation of the two members' log returns
  (each from the member's own previous bar; the very first bar has none) over
  the last ``corr_sessions`` (5) x bars per session rows in which both have a
  bar; NaN in rows where either has none, and while the window is short or
  holds a NaN.
* ``nq_es_ratio`` / ``nq_es_outside`` (only when the group has NQ and ES):
  ``rs_pct`` NQ / ES when ``|rs_pct ES| >= ratio_min_es`` (0.2), and whether
  it lies outside ``ratio_band`` ([1.3, 1.8], edges inside). Always on raw
  RS%: the band is a raw-mode number.

``corr_threshold`` (0.85) is accepted for the divergent regime; the flag
itself is the ``regime`` indicator's ``divergent``.

Momentum, its z history and the correlations carry on across sessions. Work
is vectorised per batch, and any split of a session into batches gives the
same output bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from rsengine.core import RollingCorr, RollingStats, group_leads, lead_ranks

from .group import MoveRatio, pairs
from .internals import INTERNAL_ROOTS, root_of
from .settings import check_settings, choice_setting, count_setting, number_setting

NAN = math.nan
SESSION_NS = 23 * 3600 * 10**9  # one Globex session, 18:00 -> 17:00 ET
MODES = {"raw": "rs_pct", "normalized": "rs_norm"}
DEFAULTS = {
    "mode": "raw",
    "momentum_bars": 10,
    "z_history_sessions": 20,
    "corr_sessions": 5,
    "corr_threshold": 0.85,
    "ratio_min_es": 0.2,
    "ratio_band": (1.3, 1.8),
    "z_threshold": 1.0,
}


def bars_per_session(bar_ns: int) -> int:
    """Primary bars in a 23-hour Globex session (276 for 5 minutes)."""
    return max(1, round(SESSION_NS / int(bar_ns)))


def group_layout(context) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Column indices and group names of the members, from the config; a
    comparison needs two of them."""
    config = context.config
    if len(config.group) < 2:
        raise ValueError(
            f"compares the group's members, and the group has {len(config.group)} "
            f"({', '.join(config.group)}): configure at least two in `group:`"
        )
    symbols = tuple(context.symbols)
    internals = [m for m in config.group_symbols if root_of(config, m) in INTERNAL_ROOTS]
    if internals:  # the config refuses them already; a hand-made one must not slip by
        raise ValueError(
            f"{', '.join(internals)} is a market internal, a reading and not a price: "
            "it cannot be a group member"
        )
    return tuple(symbols.index(s) for s in config.group_symbols), tuple(config.group)


class GroupMeasures:
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        self.mode = choice_setting("mode", s["mode"], MODES)
        self.source = MODES[self.mode]
        self.reads = tuple(dict.fromkeys(("rs_pct", self.source)))
        self.momentum_bars = count_setting("momentum_bars", s["momentum_bars"])
        z_sessions = count_setting("z_history_sessions", s["z_history_sessions"])
        corr_sessions = count_setting("corr_sessions", s["corr_sessions"])
        self.corr_threshold = number_setting("corr_threshold", s["corr_threshold"])
        self.z_threshold = number_setting("z_threshold", s["z_threshold"], 0.0)
        min_es = number_setting("ratio_min_es", s["ratio_min_es"], 0.0)
        band = s["ratio_band"]
        if isinstance(band, (str, bytes)) or not hasattr(band, "__len__") or len(band) != 2:
            raise ValueError(f"ratio_band must be [low, high], got {band!r}")
        band = tuple(number_setting("ratio_band", b) for b in band)
        self.ratio = MoveRatio(min_es, band)  # refuses low > high

        per_session = bars_per_session(context.bar_ns)
        self.history_bars = z_sessions * per_session
        self.corr_window = corr_sessions * per_session
        self.k = len(context.symbols)
        self.group, self.names = group_layout(context)
        m = len(self.group)
        low = [name.lower() for name in self.names]
        self.pairs = pairs(m)
        self.spread_names = [f"spread_{low[a]}_{low[b]}" for a, b in self.pairs]
        self.corr_names = [f"corr_{low[a]}_{low[b]}" for a, b in self.pairs]
        self.nq_es = None
        if "NQ" in self.names and "ES" in self.names:
            self.nq_es = (self.names.index("NQ"), self.names.index("ES"))
        self.columns = (
            "lead",
            "rank",
            "leader",
            "laggard",
            *self.spread_names,
            "mom_div",
            "mom_div_z",
            "mom_div_sig",
            *self.corr_names,
            *(("nq_es_ratio", "nq_es_outside") if self.nq_es else ()),
        )
        # row i: member i's name in every member's column ("" elsewhere); row -1: ""
        self._text_rows = np.full((m + 1, self.k), "", dtype=object)
        for i, name in enumerate(self.names):
            self._text_rows[i, list(self.group)] = name
        self._g = list(self.group)
        self._whole = self._g == list(range(self.k))  # members are every column, in order
        if self.nq_es:
            self._nq_es_cols = (self.group[self.nq_es[0]], self.group[self.nq_es[1]])
        self._first = [a for a, _ in self.pairs]
        self._second = [b for _, b in self.pairs]
        self._row_names = (
            *self.spread_names,
            *self.corr_names,
            *(("nq_es_ratio",) if self.nq_es else ()),
        )
        self._cols = np.arange(m)
        self._back = np.arange(-self.momentum_bars + 1, 1)[:, None]  # the last momentum_bars
        self._history = np.full((self.momentum_bars, m), NAN)  # each member's last closes
        self._z = [RollingStats(self.history_bars) for _ in range(m)]
        self._corr = [RollingCorr(self.corr_window) for _ in self.pairs]

    # -- the batch --------------------------------------------------------------

    def _empty(self, n: int) -> dict:
        out = {}
        for name in self.columns:
            if name == "rank":
                out[name] = np.zeros((n, self.k), np.int64)
            elif name in ("leader", "laggard"):
                out[name] = np.full((n, self.k), "", dtype=object)
            elif name in ("mom_div_sig", "nq_es_outside"):
                out[name] = np.zeros((n, self.k), np.bool_)
            else:
                out[name] = np.full((n, self.k), NAN)
        return out

    def _members(self, a: np.ndarray, fill) -> np.ndarray:
        """(n, k) column of per-member values ``a`` (n, m), ``fill`` elsewhere."""
        if self._whole:
            return a
        out = np.full((len(a), self.k), fill, dtype=a.dtype)
        out[:, self._g] = a
        return out

    def _rows(self, a: np.ndarray, fill) -> np.ndarray:
        """(n, k) column repeating the row-wide ``a`` (n,) over the members."""
        if self._whole:
            return a[:, None].repeat(self.k, axis=1)
        out = np.full((len(a), self.k), fill, dtype=a.dtype)
        out[:, self._g] = a[:, None]
        return out

    def update_batch(self, batch, state) -> dict:
        values = state.values
        if "rs_pct" not in values:
            raise ValueError("indicator group needs rs_pct: configure the rs indicator")
        if self.source not in values:
            raise ValueError(
                f"indicator group (mode {self.mode}) needs {self.source}: "
                "configure the measures indicator"
            )
        if tuple(state.group) != self.group:
            raise ValueError(f"group columns {tuple(state.group)} differ from {self.group}")
        n = len(batch)
        if n == 0:
            return self._empty(0)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN in, NaN out
            return self._compute(batch, values)

    def _compute(self, batch, values) -> dict:
        g = self._g
        x = np.asarray(values[self.source], dtype=float)
        present, close = batch.present, batch.close
        if not self._whole:
            x, present, close = x[:, g], present[:, g], close[:, g]
        out = {}
        lead = group_leads(x)
        rank, leader, laggard = lead_ranks(lead)
        out["lead"] = self._members(lead, NAN)
        out["rank"] = self._members(rank, 0)
        out["leader"] = self._text_rows.take(leader, axis=0)
        out["laggard"] = self._text_rows.take(laggard, axis=0)
        # the row-wide numbers, one row each: spreads, correlations, ratio
        rows = np.empty((len(self._row_names), len(x)))
        p = len(self.pairs)
        rows[:p] = (x[:, self._first] - x[:, self._second]).T

        everywhere = bool(present.all())
        div, z, logret = self._momentum(present, close, everywhere)
        out["mom_div"] = self._members(div, NAN)
        out["mom_div_z"] = self._members(z, NAN)
        out["mom_div_sig"] = self._members(np.abs(z) > self.z_threshold, False)
        self._correlations(present, logret, everywhere, rows[p : 2 * p])
        if self.nq_es:
            rs = np.asarray(values["rs_pct"], dtype=float)
            nq, es = self._nq_es_cols
            rows[-1], outside = self.ratio.rows(rs[:, nq], rs[:, es])
            out["nq_es_outside"] = self._rows(outside, False)
        if self._whole:
            block = rows[:, :, None].repeat(self.k, axis=2)
        else:
            block = np.full((len(rows), len(x), self.k), NAN)
            block[:, :, self._g] = rows[:, :, None]
        out.update(zip(self._row_names, block, strict=True))  # each (n, k), C-contiguous
        return {name: out[name] for name in self.columns}

    def _momentum(self, present, close, everywhere):
        """mom_div and mom_div_z (n, m), and each member's log return from its
        previous bar (NaN where it has no bar)."""
        n, m = close.shape
        lag = self.momentum_bars
        # each member's stream of closes: the last ``lag`` before the batch
        # (NaN while there are fewer), then its closes in this batch
        if everywhere:
            stream = np.concatenate((self._history, close))
            base = stream[:n]
            prev = stream[lag - 1 : lag - 1 + n]
            self._history = stream[n:]
        else:
            at = np.cumsum(present, axis=0) + (lag - 1)  # position of each bar in the stream
            cols = np.broadcast_to(self._cols, (n, m))
            stream = np.full((lag + n, m), NAN)
            stream[:lag] = self._history
            stream[at[present], cols[present]] = close[present]
            base = stream[at - lag, cols]
            prev = stream[at - 1, cols]
            self._history = stream[at[-1] + self._back, self._cols]
        ret = (close - base) / base * 100.0
        logret = np.log(close / prev)
        if not everywhere:
            ret = np.where(present, ret, NAN)
            logret = np.where(present, logret, NAN)
        div = group_leads(ret)
        missing = np.isnan(div)
        if not missing.any():
            std = np.empty((m, n))
            for j, stats in enumerate(self._z):
                std[j] = stats.update_many(div[:, j])[1]
            return div, div / std.T, logret
        z = np.full((n, m), NAN)
        for j, stats in enumerate(self._z):
            rows = np.flatnonzero(~missing[:, j])
            if len(rows):
                d = div[rows, j]
                z[rows, j] = d / stats.update_many(d)[1]
        return div, z, logret

    def _correlations(self, present, logret, everywhere, out) -> None:
        """Each pair's correlation into a row of ``out`` (pairs, n)."""
        if everywhere:
            logret = np.ascontiguousarray(logret.T)  # one member a row
            for p, ((a, b), rc) in enumerate(zip(self.pairs, self._corr, strict=True)):
                out[p] = rc.update_many(logret[a], logret[b])
            return
        for p, ((a, b), rc) in enumerate(zip(self.pairs, self._corr, strict=True)):
            out[p] = NAN
            rows = np.flatnonzero(present[:, a] & present[:, b])
            if len(rows):
                out[p, rows] = rc.update_many(logret[rows, a], logret[rows, b])
