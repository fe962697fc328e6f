"""Under the null the p-values are not concentrated near 0: signals placed at
random RTH bars of the simulated demo market, over 200 seeds, are tested
against the matched baseline; their p-values must look uniform."""

from __future__ import annotations

import numpy as np
import pytest
from rsengine_evaluate.baseline import Draws, forward_tests
from rsengine_evaluate.capture import capture
from rsengine_evaluate.evaluate import Options, evaluate
from rsengine_evaluate.scoring import Buckets, market_returns, signal_table
from scipy import stats

from rsengine.app.logs import configure_logging
from rsengine.config import load_config
from rsengine.model import Signal

SEEDS = 200
SIGNALS = 25  # per seed


@pytest.fixture(scope="module")
def demo():
    configure_logging("error")  # the replays quiet (tests/conftest.py restores logging after)
    captured = capture(load_config(None))
    return captured, market_returns(captured.market)


def test_another_seed_changes_the_baseline_only(demo):
    captured, _ = demo
    fast = dict(draws=40, resamples=40)
    a = evaluate(captured, Options(seed=0, **fast))
    assert evaluate(captured, Options(seed=0, **fast)).to_json() == a.to_json()
    b = evaluate(captured, Options(seed=9, **fast))
    da, db = a.to_dict(), b.to_dict()  # NaN as None: comparable
    for part in ("signals", "forward", "trades", "trade_records"):
        assert da[part] == db[part], part
    assert [t.observed for t in a.tests] == [t.observed for t in b.tests]
    assert [t.p_value for t in a.tests] != [t.p_value for t in b.tests]
    assert b.settings.seed == 9


def random_signals(market, rng, symbol="ES"):
    """Context signals on random RTH bars (09:30-16:00 ET closes), random side."""
    bars = market.bars[symbol]
    rth = np.flatnonzero((bars.minute > 570) & (bars.minute <= 960))
    picks = np.sort(rng.choice(rth, SIGNALS, replace=False))
    sides = rng.choice(["long", "short"], SIGNALS)
    return [
        Signal(
            ts_close=int(bars.ts_close[i]),
            session_date=market.sessions[bars.session[i]],
            name="random",
            kind="context",
            instrument=symbol,
            side=str(side),
            reason="null",
        )
        for i, side in zip(picks, sides, strict=True)
    ]


def test_p_values_of_random_signals_are_uniform(demo):
    market, returns = demo[0].market, demo[1]
    buckets = Buckets()
    p = {h: [] for h in ("15m", "close")}
    for seed in range(SEEDS):
        rng = np.random.default_rng(1000 + seed)
        table = signal_table(random_signals(market, rng), market, returns, buckets)
        draws = Draws(draws=199, resamples=10, seed=seed)
        for t in forward_tests(table, market, returns, len(buckets.labels), draws, buckets.of):
            if t.horizon in p:
                p[t.horizon].append(t.p_value)
    for horizon, values in p.items():
        values = np.array(values)
        assert len(values) == SEEDS
        # the share below 0.05 stays within a binomial 99.9 % bound of 5 %
        below = int(np.count_nonzero(values <= 0.05))
        assert below <= stats.binom.ppf(0.999, SEEDS, 0.05), (horizon, below)
        assert below >= stats.binom.ppf(0.001, SEEDS, 0.05), (horizon, below)
        # and the whole spread is uniform (p on a grid of 1/200: a loose KS level)
        assert stats.kstest(values, "uniform").pvalue > 0.001, horizon
