"""Indicator ``group``: cross-instrument relative strength (DOMAIN.md §3).

Reads ``rs_pct`` (the ``rs`` indicator, configured before this one) or, with
``mode: normalized``, ``rs_norm`` (the ``measures`` indicator), and the bar
closes. Group members are ``state.group`` in group order; their columns get
the values below, every other instrument NaN (``rank`` 0, text ``""``,
flags False). Row-wide values (leader, spreads, correlations, ratio) are
repeated in every group member's column. ``<a>_<b>`` names every pair of
lowercase group names, ``a`` before ``b`` in group order (``corr_es_nq``).

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
import numbers

import numpy as np

from rsengine.core import RollingCorr, RollingStats

from .group import MoveRatio, lead_rows, leader_laggard_rows, pairs, rank_rows

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


def count_setting(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def number_setting(name: str, value, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return float(value)


def check_settings(settings: dict, known) -> dict:
    unknown = set(settings) - set(known)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(known)}")
    return {**known, **settings}


def bars_per_session(bar_ns: int) -> int:
    """Primary bars in a 23-hour Globex session (276 for 5 minutes)."""
    return max(1, round(SESSION_NS / int(bar_ns)))


def group_layout(context) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Column indices and group names of the members, from the config."""
    config = context.config
    symbols = tuple(context.symbols)
    return tuple(symbols.index(s) for s in config.group_symbols), tuple(config.group)


def lagged(history: np.ndarray, x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Each value of ``x`` ``lag`` values back in the stream ``history + x``
    (NaN where the stream has none yet), and the last ``lag`` values to keep."""
    stream = np.concatenate((history, x))
    at = np.arange(len(history), len(stream)) - lag
    back = np.where(at >= 0, stream[np.maximum(at, 0)], NAN)
    return back, stream[-lag:].copy()


class GroupMeasures:
    SETTINGS = tuple(DEFAULTS)

    def __init__(self, settings: dict, context):
        s = check_settings(settings, DEFAULTS)
        if s["mode"] not in MODES:
            raise ValueError(f"mode {s['mode']!r} is not one of {', '.join(MODES)}")
        self.mode = s["mode"]
        self.source = MODES[self.mode]
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
        self._text = np.array([*self.names, ""], dtype=object)  # index -1 -> ""
        self._closes = [np.empty(0) for _ in range(m)]  # last momentum_bars closes
        self._last = np.full(m, NAN)  # each member's last close (log returns)
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

    def update_batch(self, batch, state) -> dict:
        values = state.values
        if "rs_pct" not in values:
            raise ValueError("indicator group needs rs_pct: configure the rs indicator before it")
        if self.source not in values:
            raise ValueError(
                f"indicator group (mode {self.mode}) needs {self.source}: "
                "configure the measures indicator before it"
            )
        if tuple(state.group) != self.group:
            raise ValueError(f"group columns {tuple(state.group)} differ from {self.group}")
        n = len(batch)
        out = self._empty(n)
        if n == 0:
            return out
        g = list(self.group)
        x = np.asarray(values[self.source], dtype=float)[:, g]

        def put(name, a):  # (n, m) per member, or (n,) for the whole row
            out[name][:, g] = a if a.ndim == 2 else a[:, None]

        lead = lead_rows(x)
        put("lead", lead)
        put("rank", rank_rows(lead))
        leader, laggard = leader_laggard_rows(lead)
        put("leader", self._text[leader])
        put("laggard", self._text[laggard])
        for name, (a, b) in zip(self.spread_names, self.pairs, strict=True):
            put(name, x[:, a] - x[:, b])

        present = batch.present[:, g]
        close = batch.close[:, g]
        div, z = self._momentum(present, close)
        put("mom_div", div)
        put("mom_div_z", z)
        with np.errstate(invalid="ignore"):
            put("mom_div_sig", np.abs(z) > self.z_threshold)
        for name, corr in zip(self.corr_names, self._correlations(present, close), strict=True):
            put(name, corr)
        if self.nq_es:
            rs = np.asarray(values["rs_pct"], dtype=float)[:, g]
            nq, es = self.nq_es
            ratio, outside = self.ratio(rs[:, nq], rs[:, es])
            put("nq_es_ratio", ratio)
            put("nq_es_outside", outside)
        return out

    def _momentum(self, present, close) -> tuple[np.ndarray, np.ndarray]:
        ret = np.full(close.shape, NAN)
        for j in range(close.shape[1]):
            rows = np.flatnonzero(present[:, j])
            if len(rows):
                c = close[rows, j]
                base, self._closes[j] = lagged(self._closes[j], c, self.momentum_bars)
                ret[rows, j] = (c - base) / base * 100.0
        div = lead_rows(ret)
        z = np.full(div.shape, NAN)
        for j, stats in enumerate(self._z):
            rows = np.flatnonzero(~np.isnan(div[:, j]))
            if len(rows):
                d = div[rows, j]
                z[rows, j] = d / stats.update_many(d)[1]
        return div, z

    def _correlations(self, present, close) -> list[np.ndarray]:
        logret = np.full(close.shape, NAN)
        for j in range(close.shape[1]):
            rows = np.flatnonzero(present[:, j])
            if len(rows):
                c = close[rows, j]
                prev = np.concatenate(([self._last[j]], c[:-1]))
                self._last[j] = c[-1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    logret[rows, j] = np.log(c / prev)
        result = []
        for (a, b), rc in zip(self.pairs, self._corr, strict=True):
            corr = np.full(len(close), NAN)
            rows = np.flatnonzero(present[:, a] & present[:, b])
            if len(rows):
                corr[rows] = rc.update_many(logret[rows, a], logret[rows, b])
            result.append(corr)
        return result
