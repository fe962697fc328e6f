"""Cross-instrument (group) measures of relative strength (DOMAIN.md §3).

Every measure works on arrays over the group, one value per instrument, in a
fixed instrument order chosen by the caller. Defaults are the DOMAIN numbers;
all are configurable.

* :func:`lead`, :func:`leader_laggard`, :func:`rank`, :func:`spreads`: lead of
  each instrument over the rest of the group and pairwise RS% spreads;
  :func:`lead_rows`, :func:`leader_laggard_rows`, :func:`rank_rows` do the
  same for every row of an ``(n, k)`` array at once.
* :class:`MomentumDivergence`: n-bar return, its divergence from the others'
  mean, and that divergence's z-score against its own rolling history.
* :class:`MoveRatio`: the NQ/ES move ratio and its normal band.
* :class:`SessionRatioStreak`: ratio of two instruments' session settlements
  and leadership regimes (a streak of outperforming sessions, or a weekly edge).
* :class:`PairCorrelations`: rolling Pearson correlation of bar log returns for
  every pair and the divergent-regime flag.

Returns in percent are computed as ``(x - x0) / x0 * 100`` (the RS% formula),
so a move of exactly 1.5 % gives exactly 1.5.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from rsengine.core import RollingCorr, RollingStats, group_leads, lead_ranks

NAN = math.nan


def _pct(x, x0):
    return (x - x0) / x0 * 100.0


# ---------------------------------------------------------------------------
# 1. lead, leader/laggard, rank, spreads


def lead_rows(rs) -> np.ndarray:
    """:func:`lead` of every row of an ``(n, k)`` array (one row per slice)."""
    rs = np.asarray(rs, dtype=float)
    if rs.ndim != 2:
        raise ValueError(f"expected an (n, k) array, got shape {rs.shape}")
    return group_leads(rs)


def lead(rs) -> np.ndarray:
    """``rs_i - mean(rs_j, j != i)`` for every instrument of the group.

    NaN members are left out of the others' mean; an instrument whose own RS%
    is NaN, or which has no non-NaN other, gets NaN.
    """
    return lead_rows(np.asarray(rs, dtype=float)[None, :])[0]


def leader_laggard_rows(lead_values) -> tuple[np.ndarray, np.ndarray]:
    """:func:`leader_laggard` of every row of an ``(n, k)`` array: two int64
    ``(n,)`` arrays of column indices, -1 in rows where every lead is NaN."""
    _, leader, laggard = lead_ranks(lead_values)
    return leader, laggard


def leader_laggard(lead_values) -> tuple[int, int]:
    """Indices of the highest and the lowest lead, NaN ignored.

    Ties go to the lowest index (for both leader and laggard). When every lead
    is NaN the result is ``(-1, -1)``.
    """
    leader, laggard = leader_laggard_rows(np.asarray(lead_values, dtype=float)[None, :])
    return int(leader[0]), int(laggard[0])


def rank_rows(lead_values) -> np.ndarray:
    """:func:`rank` of every row of an ``(n, k)`` array (int64)."""
    return lead_ranks(lead_values)[0]


def rank(lead_values) -> np.ndarray:
    """Rank by lead, 1 = leader; ties rank the lower index first; NaN -> 0."""
    return rank_rows(np.asarray(lead_values, dtype=float)[None, :])[0]


def pairs(k: int) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of ``k`` instruments, in order."""
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def spreads(rs, names) -> dict[str, float]:
    """``{"A-B": rs_A - rs_B}`` for every pair A before B in ``names`` order."""
    rs = np.asarray(rs, dtype=float)
    names = list(names)
    if len(names) != rs.size:
        raise ValueError(f"{len(names)} names for {rs.size} values")
    return {
        f"{names[i]}-{names[j]}": float(rs[i] - rs[j])
        for i in range(len(names))
        for j in range(i + 1, len(names))
    }


# ---------------------------------------------------------------------------
# 2. rolling momentum divergence


class MomentumDivergence:
    """Per instrument: n-bar return (percent), divergence, and its z-score.

    ``return_i = (close_t - close_{t-n}) / close_{t-n} * 100``;
    ``divergence_i = return_i - mean(return_j, j != i)`` (see :func:`lead`);
    ``z_i = divergence_i / std(divergence_i over the last history_bars bars)``,
    the sample std (ddof=1) of a window that includes the current bar, as
    ``pandas.Series.rolling(history_bars).std()``. ``history_bars`` is 20
    sessions of bars (DOMAIN); the caller passes bars per session x 20, e.g.
    276 * 20 for full-Globex 5-minute bars. Before ``n`` bars the divergence is
    NaN, and z stays NaN until ``history_bars`` divergences without NaN are in
    the window. A divergence is meaningful when ``|z| > threshold`` (1).
    """

    def __init__(self, n: int = 10, history_bars: int = 276 * 20, threshold: float = 1.0):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = int(n)
        self.history_bars = int(history_bars)
        self.threshold = float(threshold)
        self._closes: deque[np.ndarray] = deque(maxlen=self.n + 1)
        self._stats: list = []
        self.returns = np.empty(0)
        self.divergence = np.empty(0)
        self.z = np.empty(0)

    def update(self, closes) -> tuple[np.ndarray, np.ndarray]:
        """Push one slice of closes (one per instrument); return (divergence, z)."""
        closes = np.array(closes, dtype=float)
        if not self._stats:
            self._stats = [RollingStats(self.history_bars) for _ in range(closes.size)]
        elif closes.size != len(self._stats):
            raise ValueError(f"expected {len(self._stats)} closes, got {closes.size}")
        self._closes.append(closes)
        if len(self._closes) > self.n:
            self.returns = _pct(closes, self._closes[0])
        else:
            self.returns = np.full(closes.size, NAN)
        self.divergence = lead(self.returns)
        z = np.empty(closes.size)
        for i, stats in enumerate(self._stats):
            stats.update(self.divergence[i])
            z[i] = self.divergence[i] / stats.std
        self.z = z
        return self.divergence, z

    def meaningful(self) -> np.ndarray:
        """``|z| > threshold`` for the last update (NaN z -> False)."""
        with np.errstate(invalid="ignore"):
            return np.abs(self.z) > self.threshold


# ---------------------------------------------------------------------------
# 3. NQ/ES move ratio


class MoveRatio:
    """``rs_nq / rs_es`` when ``|rs_es| >= min_es`` (0.2), else NaN.

    ``outside_band`` is True when the ratio is below ``band[0]`` (1.3) or above
    ``band[1]`` (1.8); the band edges themselves are inside. A NaN ratio is
    never outside. Works on scalars and arrays alike.
    """

    def __init__(self, min_es: float = 0.2, band: tuple[float, float] = (1.3, 1.8)):
        lo, hi = band
        if lo > hi:
            raise ValueError(f"band low {lo} above band high {hi}")
        self.min_es = float(min_es)
        self.band = (float(lo), float(hi))

    def _ratio(self, nq: np.ndarray, es: np.ndarray) -> np.ndarray:
        return np.where(np.abs(es) >= self.min_es, nq / es, NAN)

    def _outside(self, r: np.ndarray) -> np.ndarray:
        return (r < self.band[0]) | (r > self.band[1])

    def ratio(self, rs_nq, rs_es):
        nq = np.asarray(rs_nq, dtype=float)
        es = np.asarray(rs_es, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self._ratio(nq, es)
        return out if out.ndim else float(out)

    def outside_band(self, ratio):
        r = np.asarray(ratio, dtype=float)
        with np.errstate(invalid="ignore"):
            out = self._outside(r)
        return out if out.ndim else bool(out)

    def rows(self, nq: np.ndarray, es: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ratio, outside_band) of float arrays, the caller ignoring NaN
        and division warnings."""
        r = self._ratio(nq, es)
        return r, self._outside(r)

    def __call__(self, rs_nq, rs_es):
        """(ratio, outside_band)."""
        nq = np.asarray(rs_nq, dtype=float)
        es = np.asarray(rs_es, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self._ratio(nq, es)
            out = self._outside(r)
        return (r, out) if r.ndim else (float(r), bool(out))


# ---------------------------------------------------------------------------
# 4. session ratio and leadership streaks


class SessionRatioStreak:
    """Ratio a/b on session settlements and leadership regimes.

    Per session (call :meth:`update` once per session settlement):

    * ``ratio = settle_a / settle_b``;
    * session return of each side: ``(s_t - s_{t-1}) / s_{t-1} * 100``; "a
      outperforms" when a's return is greater than b's, "b outperforms" when
      smaller; an equal session (or the first, or a NaN) breaks any streak;
    * ``streak``: signed count of consecutive sessions one side outperformed
      (+k: a, -k: b), capped at ``max_streak`` (5) in magnitude;
    * ``weekly``: a's return minus b's return over the last ``week`` (5)
      sessions, in percent: ``(a_t - a_{t-5}) / a_{t-5} * 100 - (same for b)``;
      NaN until ``week + 1`` settlements;
    * ``regime``: ``"a"`` when ``streak >= min_streak`` (3) or ``weekly >=
      weekly_pct`` (1.5); ``"b"`` when ``streak <= -min_streak`` or ``weekly <=
      -weekly_pct``; else ``None``. If the streak and the weekly edge name
      different sides, the streak wins.
    """

    def __init__(
        self,
        min_streak: int = 3,
        max_streak: int = 5,
        weekly_pct: float = 1.5,
        week: int = 5,
    ):
        if not 1 <= min_streak <= max_streak:
            raise ValueError(f"need 1 <= min_streak <= max_streak, got {min_streak}, {max_streak}")
        self.min_streak = int(min_streak)
        self.max_streak = int(max_streak)
        self.weekly_pct = float(weekly_pct)
        self.week = int(week)
        self._a: deque[float] = deque(maxlen=self.week + 1)
        self._b: deque[float] = deque(maxlen=self.week + 1)
        self._run = 0  # uncapped signed streak

    def update(self, settle_a: float, settle_b: float) -> dict:
        """Push one session's settlements; return ratio, streak, weekly, regime."""
        a, b = float(settle_a), float(settle_b)
        ratio = a / b if b != 0 else NAN
        if self._a:
            ret_a = _pct(a, self._a[-1])
            ret_b = _pct(b, self._b[-1])
            if ret_a > ret_b:
                self._run = self._run + 1 if self._run > 0 else 1
            elif ret_a < ret_b:
                self._run = self._run - 1 if self._run < 0 else -1
            else:  # equal or NaN
                self._run = 0
        self._a.append(a)
        self._b.append(b)
        if len(self._a) > self.week:
            weekly = _pct(a, self._a[0]) - _pct(b, self._b[0])
        else:
            weekly = NAN
        streak = max(-self.max_streak, min(self.max_streak, self._run))
        if streak >= self.min_streak:
            regime = "a"
        elif streak <= -self.min_streak:
            regime = "b"
        elif weekly >= self.weekly_pct:
            regime = "a"
        elif weekly <= -self.weekly_pct:
            regime = "b"
        else:
            regime = None
        return {"ratio": ratio, "streak": streak, "weekly": weekly, "regime": regime}


# ---------------------------------------------------------------------------
# 5. pairwise rolling correlation


class PairCorrelations:
    """Rolling Pearson correlation of bar log returns for every pair.

    ``window`` is 5 sessions of bars (DOMAIN); the caller passes the bar count.
    Pairs are (i, j), i < j, in instrument order; ``names`` labels them "A-B".
    The log return of the first update is NaN, so, as with pandas
    ``np.log(c).diff().rolling(window).corr(...)``, the first value appears once
    ``window`` returns after the first bar are in. ``divergent`` is
    ``corr < threshold`` (0.85); a NaN correlation is not divergent.
    """

    def __init__(self, window: int, names=None, threshold: float = 0.85):
        self.window = int(window)
        self.names = list(names) if names is not None else None
        self.threshold = float(threshold)
        self._prev: np.ndarray | None = None
        self._corrs: list = []
        self.pairs: list[tuple[int, int]] = []
        self.corr = np.empty(0)

    def update(self, closes) -> np.ndarray:
        """Push one slice of closes; return the correlation of every pair."""
        closes = np.array(closes, dtype=float)
        if self._prev is None:
            k = closes.size
            if self.names is not None and len(self.names) != k:
                raise ValueError(f"{len(self.names)} names for {k} closes")
            self.pairs = pairs(k)
            self._corrs = [RollingCorr(self.window) for _ in self.pairs]
            rets = np.full(k, NAN)
        else:
            if closes.size != self._prev.size:
                raise ValueError(f"expected {self._prev.size} closes, got {closes.size}")
            with np.errstate(invalid="ignore", divide="ignore"):
                rets = np.log(closes / self._prev)
        self._prev = closes
        out = np.empty(len(self.pairs))
        for p, ((i, j), rc) in enumerate(zip(self.pairs, self._corrs, strict=True)):
            rc.update(rets[i], rets[j])
            out[p] = rc.corr
        self.corr = out
        return out

    def divergent(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.corr < self.threshold

    def as_dict(self) -> dict[str, float]:
        k = 0 if self._prev is None else self._prev.size
        names = self.names or [str(i) for i in range(k)]
        pairs = zip(self.pairs, self.corr, strict=True)
        return {f"{names[i]}-{names[j]}": float(c) for (i, j), c in pairs}
