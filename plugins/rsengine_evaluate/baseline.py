"""Against chance: matched random baselines, session-block bootstrap, and the
Benjamini-Hochberg correction (method: docs/evaluation.md).

The baseline of a signal name replaces each of its signals, in every draw, by
a bar drawn at random from the same instrument, session and ET time-of-day
bucket, taken on the same side. Draws are bar indices read against returns
computed once (:mod:`.scoring`): no replay per draw.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from scipy.stats import false_discovery_control

from .result import ChanceTest
from .scoring import cost_arrays, horizon_label, net_result, simulate_brackets
from .stats import hit_rate

BAND = (5.0, 95.0)  # percentiles of the baseline's means shown as its band


@attrs.frozen(eq=False)
class Pool:
    """Bars grouped by (session, bucket): ``order[start[g]:start[g]+count[g]]``
    are the bars of group ``keys[g]``."""

    order: np.ndarray
    keys: np.ndarray
    start: np.ndarray
    count: np.ndarray

    def draw(self, key: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A bar of each signal's group per row of ``u`` (uniforms, (draws, n))."""
        g = np.searchsorted(self.keys, key)
        if (g >= len(self.keys)).any() or (self.keys[g] != key).any():
            raise ValueError("a signal's own bar is missing from its baseline pool")
        pick = self.start[g] + np.minimum((u * self.count[g]).astype(np.int64), self.count[g] - 1)
        return self.order[pick]


def group_key(session, bucket, n_buckets: int) -> np.ndarray:
    return np.asarray(session, np.int64) * n_buckets + np.asarray(bucket, np.int64)


def pool_of(session, bucket, valid, n_buckets: int) -> Pool:
    """The pool of the bars where ``valid`` holds."""
    bars = np.flatnonzero(valid)
    key = group_key(session[bars], bucket[bars], n_buckets)
    sort = np.argsort(key, kind="stable")
    keys, start, count = np.unique(key[sort], return_index=True, return_counts=True)
    return Pool(order=bars[sort], keys=keys, start=start, count=count)


def p_value(null: np.ndarray, observed: float) -> tuple[float, float]:
    """One-sided p-value ``(1 + #{null >= observed}) / (draws + 1)`` and the
    percentile of ``observed`` (share of null below it, ties counted half)."""
    tol = 1e-12 * max(1.0, abs(observed))
    above = np.count_nonzero(null >= observed - tol)
    below = np.count_nonzero(null < observed - tol)
    ties = len(null) - below - np.count_nonzero(null > observed + tol)
    return (1 + above) / (len(null) + 1), 100.0 * (below + 0.5 * ties) / len(null)


def session_bootstrap(values, hits, sessions, resamples: int, rng, confidence: float):
    """Percentile intervals of the mean and of the hit rate, resampling whole
    sessions (``arch.bootstrap.IIDBootstrap`` over per-session sums): four
    NaNs with fewer than two sessions."""
    from arch.bootstrap import IIDBootstrap

    _, inv = np.unique(sessions, return_inverse=True)
    if inv.max(initial=-1) < 1:
        return (math.nan,) * 4
    total = np.bincount(inv, weights=values)
    count = np.bincount(inv).astype(float)
    won = np.bincount(inv, weights=np.asarray(hits, float))

    def ratios(total, count, won):
        return np.array([total.sum() / count.sum(), won.sum() / count.sum()])

    boot = IIDBootstrap(total, count, won, seed=rng)
    ci = boot.conf_int(ratios, reps=resamples, method="percentile", size=confidence)
    return float(ci[0, 0]), float(ci[1, 0]), float(ci[0, 1]), float(ci[1, 1])


def _test(name, metric, horizon, values, sessions, null_mean, null_hit, boot) -> ChanceTest:
    observed = float(values.mean())
    p, percentile = p_value(null_mean, observed)
    ci_low, ci_high, hit_low, hit_high = boot
    low, high = np.percentile(null_mean, BAND)
    return ChanceTest(
        name=name,
        metric=metric,
        horizon=horizon,
        n=len(values),
        sessions=len(np.unique(sessions)),
        observed=observed,
        baseline_mean=float(null_mean.mean()),
        baseline_low=float(low),
        baseline_high=float(high),
        percentile=percentile,
        p_value=p,
        q_value=math.nan,
        significant=False,
        ci_low=ci_low,
        ci_high=ci_high,
        hit_rate=hit_rate(values),
        hit_ci_low=hit_low,
        hit_ci_high=hit_high,
        baseline_hit_rate=float(null_hit.mean()),
    )


@attrs.frozen
class Draws:
    """How many baseline draws and bootstrap resamples, the seed, the level."""

    draws: int = 1000
    resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    def rngs(self, test_number: int):
        """Independent generators of one test: (baseline, bootstrap)."""
        return (
            np.random.default_rng([self.seed, test_number, 0]),
            np.random.default_rng([self.seed, test_number, 1]),
        )


def forward_tests(table, market, returns, n_buckets, draws: Draws, bucket_of, first=0) -> list:
    """For each signal name with a side and each horizon: the mean signed %
    return against the same mean over matched random bars. ``bucket_of``
    maps minutes of the day to buckets (:meth:`.scoring.Buckets.of`)."""
    tests = []
    number = first
    pools = {}
    for name in sorted(set(table.name[table.side != 0])):
        rows_of_name = np.flatnonzero((table.name == name) & (table.side != 0))
        for j, h in enumerate(map(horizon_label, returns.horizons)):
            rows = rows_of_name[np.isfinite(table.pct[rows_of_name, j])]
            if not len(rows):
                continue
            base_rng, boot_rng = draws.rngs(number)
            number += 1
            u = base_rng.random((draws.draws, len(rows)))
            null = np.empty_like(u)
            for symbol in sorted(set(table.instrument[rows])):
                at = np.flatnonzero(table.instrument[rows] == symbol)
                bars = market.bars[symbol]
                if (symbol, j) not in pools:
                    valid = np.isfinite(returns.pct[symbol][:, j])
                    buckets = bucket_of(bars.minute)
                    pools[symbol, j] = pool_of(bars.session, buckets, valid, n_buckets)
                key = group_key(table.session[rows[at]], table.bucket[rows[at]], n_buckets)
                picked = pools[symbol, j].draw(key, u[:, at])
                null[:, at] = returns.pct[symbol][picked, j] * table.side[rows[at]]
            values = table.pct[rows, j]
            hits = values > 0
            boot = session_bootstrap(
                values, hits, table.session[rows], draws.resamples, boot_rng, draws.confidence
            )
            tests.append(
                _test(
                    name,
                    "forward_pct",
                    h,
                    values,
                    table.session[rows],
                    null.mean(axis=1),
                    (null > 0).mean(axis=1),
                    boot,
                )
            )
    return tests


@attrs.frozen(eq=False)
class TradeDraws:
    """One setup's trades followed by their brackets, and its matched random
    entries: ``own`` (len(rows),) and ``null`` (draws, len(rows)) net $ per
    contract; ``number`` seeds its generators (:meth:`Draws.rngs`)."""

    name: str
    number: int
    rows: np.ndarray
    own: np.ndarray
    null: np.ndarray


def trade_draws(trades, market, returns, costs, n_buckets, draws: Draws, bucket_of, first=0):
    """For each setup (sorted by name, numbered from ``first``): its entries
    followed by their brackets to stop, target or session end, and as many
    random entries per trade as ``draws``, matched like the forward baseline
    (session and time-of-day bucket, same side), each with its trade's stop
    and target distances and the same costs."""
    out = []
    close = returns.horizons.index("close")
    for number, name in enumerate(sorted(set(trades.name)), start=first):
        rows = np.flatnonzero(trades.name == name)
        base_rng, _ = draws.rngs(number)
        u = base_rng.random((draws.draws, len(rows)))
        own, null = np.empty(len(rows)), np.empty_like(u)
        for symbol in sorted(set(trades.instrument[rows])):
            cols = np.flatnonzero(trades.instrument[rows] == symbol)
            at = rows[cols]
            bars = market.bars[symbol]
            end_of = returns.index[symbol][:, close]
            pool = pool_of(bars.session, bucket_of(bars.minute), end_of >= 0, n_buckets)
            key = group_key(trades.session[at], trades.bucket[at], n_buckets)
            bracket = Bracket(trades, at, bars, end_of, market, costs)
            own[cols] = bracket.usd(trades.entry_bar[at], 1)
            picked = pool.draw(key, u[:, cols]).ravel()
            null[:, cols] = bracket.usd(picked, draws.draws).reshape(draws.draws, len(at))
        out.append(TradeDraws(str(name), number, rows, own, null))
    return out


def trade_tests(trades, market, returns, costs, n_buckets, draws: Draws, bucket_of, first=0,
                drawn=None):  # fmt: skip
    """For each setup: mean net $ per contract against its random entries
    (:func:`trade_draws`, or ``drawn`` when already worked out).

    Like for like: the observed figure is the setup's own entries followed the
    same way (its bracket to the session end), not the engine's exits, which
    also hold the setup's own exit rules a random entry has none of. The trade
    tables keep the engine's exits."""
    if drawn is None:
        drawn = trade_draws(trades, market, returns, costs, n_buckets, draws, bucket_of, first)
    tests = []
    for d in drawn:
        _, boot_rng = draws.rngs(d.number)
        session = trades.session[d.rows]
        boot = session_bootstrap(
            d.own, d.own > 0, session, draws.resamples, boot_rng, draws.confidence
        )
        tests.append(
            _test(
                d.name,
                "trade_usd",
                "",
                d.own,
                session,
                d.null.mean(axis=1),
                (d.null > 0).mean(axis=1),
                boot,
            )
        )
    return tests


class Bracket:
    """The trades ``at`` (one instrument) as brackets: entry at a bar's close,
    their stop and target distances, to stop, target or the session end
    (the bar ``end_of``), net $ per contract after the costs."""

    def __init__(self, trades, at, bars, end_of, market, costs):
        self.bars, self.end_of, self.costs = bars, end_of, costs
        self.side = trades.side[at]
        self.stop_dist = self.side * (trades.entry[at] - trades.stop[at])
        self.target_dist = self.side * (trades.target[at] - trades.entry[at])
        self.tick, self.pv, self.fee = cost_arrays(
            trades.instrument[at], trades.traded[at], market, costs
        )

    def usd(self, entry_bar: np.ndarray, times: int) -> np.ndarray:
        """Net $ of the brackets entered at ``entry_bar`` (``times`` copies of
        the trades, one after the other)."""
        side = np.tile(self.side, times)
        entry = self.bars.close[entry_bar]
        end = self.end_of[entry_bar]
        end = np.where(end >= 0, end, entry_bar)
        _, exit_price, _ = simulate_brackets(
            self.bars,
            entry_bar,
            end,
            side,
            entry,
            entry - side * np.tile(self.stop_dist, times),
            entry + side * np.tile(self.target_dist, times),
        )
        gross = side * (exit_price - entry)
        _, usd = net_result(
            gross,
            np.tile(self.costs.slippage_ticks * self.tick, times),
            np.tile(self.pv, times),
            np.tile(self.fee, times),
        )
        return usd


def correct(tests: list, alpha: float) -> list:
    """Benjamini-Hochberg q-values across every test (scipy), and
    ``significant`` = q < alpha."""
    if not tests:
        return []
    q = false_discovery_control([t.p_value for t in tests], method="bh")
    return [
        attrs.evolve(t, q_value=float(v), significant=bool(v < alpha))
        for t, v in zip(tests, q, strict=True)
    ]
