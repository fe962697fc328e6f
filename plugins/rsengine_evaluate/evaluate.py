"""``evaluate(capture, options) -> Evaluation``: score a captured replay and
test it against chance (the steps are in docs/evaluation.md)."""

from __future__ import annotations

import math
from collections import Counter

import attrs
import numpy as np

from .baseline import BAND, Draws, correct, forward_tests, trade_draws, trade_tests
from .result import EquityCurve, Evaluation, Settings, SignalScore, TradeScore
from .scoring import HORIZONS, Buckets, Costs, horizon_label, market_returns
from .scoring import signal_table as make_signal_table
from .scoring import trade_table as make_trade_table
from .stats import forward_rows, trade_rows


@attrs.frozen
class Options:
    """How to evaluate. Defaults: docs/evaluation.md#defaults."""

    seed: int = 0
    draws: int = 1000
    resamples: int = 1000
    confidence: float = 0.95
    alpha: float = 0.05
    horizons: tuple = HORIZONS
    buckets: Buckets = attrs.field(factory=Buckets)
    costs: Costs = attrs.field(factory=Costs)

    def __attrs_post_init__(self):
        for name in ("draws", "resamples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        if not 0 < self.confidence < 1 or not 0 < self.alpha < 1:
            raise ValueError("confidence and alpha must lie between 0 and 1")
        if self.costs.slippage_ticks < 0:
            raise ValueError(f"slippage must be 0 or more ticks, got {self.costs.slippage_ticks}")
        if "close" not in self.horizons:
            raise ValueError("the horizons must include 'close' (trades run to the session end)")


def _f(x) -> float:
    return float(x) if np.isfinite(x) else math.nan


def evaluate(capture, options: Options | None = None, config_name: str = "", progress=None):
    """The :class:`Evaluation` of a :class:`~.capture.Capture`.

    ``progress(step_text)`` is called before each step (the CLI shows it).
    """
    options = options or Options()
    say = progress or (lambda text: None)
    market, signals = capture.market, capture.signals
    labels = tuple(horizon_label(h) for h in options.horizons)
    bucket_labels = options.buckets.labels
    n_buckets = len(bucket_labels)

    say("forward returns")
    returns = market_returns(market, options.horizons)
    table = make_signal_table(signals, market, returns, options.buckets)
    say("trades")
    trades = make_trade_table(signals, market, returns, options.buckets, options.costs)
    forward = forward_rows(table, labels, bucket_labels)
    trade_figures = trade_rows(trades, bucket_labels)

    draws = Draws(options.draws, options.resamples, options.seed, options.confidence)
    say(f"baseline: {options.draws} draws, {options.resamples} bootstrap resamples")
    tests = forward_tests(table, market, returns, n_buckets, draws, options.buckets.of)
    # the equity curves' baselines come from the trade tests' own seeded draws
    trade_args = (trades, market, returns, options.costs, n_buckets, draws, options.buckets.of)
    drawn = trade_draws(*trade_args, first=len(tests))
    tests += trade_tests(*trade_args, drawn=drawn)
    say("equity curves")
    equity = equity_curves(trades, drawn)
    tests = correct(tests, options.alpha)

    sessions = market.sessions
    settings = Settings(
        seed=options.seed,
        draws=options.draws,
        resamples=options.resamples,
        horizons=labels,
        buckets=bucket_labels,
        slippage_ticks=float(options.costs.slippage_ticks),
        commission={r: options.costs.commission_for(r) for r in sorted(set(trades.traded))},
        confidence=options.confidence,
        alpha=options.alpha,
    )
    labels_text = ",".join(sorted({s.source for s in signals if s.source}))
    return Evaluation(
        config=config_name,
        data=labels_text,
        sessions=len(sessions),
        first_session=sessions[0] if sessions else "",
        last_session=sessions[-1] if sessions else "",
        settings=settings,
        counts=dict(sorted(Counter(s.kind for s in signals).items())),
        open_at_end=trades.open_at_end,
        trials=len(tests),
        forward=tuple(forward),
        trades=tuple(trade_figures),
        tests=tuple(tests),
        signals=_signal_scores(table, sessions, bucket_labels),
        trade_records=_trade_scores(trades, sessions, bucket_labels),
        notes=_notes(table, trades),
        equity=equity,
    )


def equity_curves(trades, drawn) -> tuple:
    """One :class:`EquityCurve` per setup, its baseline band from the setup's
    trade test's own draws (:func:`.baseline.trade_draws`)."""
    curves = []
    for d in drawn:
        order = np.argsort(trades.entry_ts[d.rows], kind="stable")
        rows, own, null = d.rows[order], d.own[order], d.null[:, order]
        running = np.cumsum(null, axis=1)
        low, high = np.percentile(running, BAND, axis=0)
        usd = trades.net_usd[rows]
        curves.append(
            EquityCurve(
                name=d.name,
                trade_ids=tuple(trades.signals[k].id for k in rows),
                entry_ts=tuple(int(x) for x in trades.entry_ts[rows]),
                net_usd=tuple(float(x) for x in usd),
                cumulative=tuple(float(x) for x in np.cumsum(usd)),
                baseline_mean=tuple(float(x) for x in running.mean(axis=0)),
                baseline_low=tuple(float(x) for x in low),
                baseline_high=tuple(float(x) for x in high),
                bracket_cumulative=tuple(float(x) for x in np.cumsum(own)),
            )
        )
    return tuple(curves)


def _signal_scores(table, sessions, bucket_labels) -> tuple:
    return tuple(
        SignalScore(
            id=s.id,
            name=s.name,
            kind=s.kind,
            instrument=s.instrument,
            side=s.side,
            session_date=sessions[table.session[k]],
            ts_close=int(s.ts_close),
            bucket=bucket_labels[table.bucket[k]],
            regime=str(s.regime),
            price=float(table.price[k]),
            points=tuple(_f(v) for v in table.points[k]),
            pct=tuple(_f(v) for v in table.pct[k]),
            atr=tuple(_f(v) for v in table.atr[k]),
        )
        for k, s in enumerate(table.signals)
    )


def _trade_scores(trades, sessions, bucket_labels) -> tuple:
    hold = trades.hold_minutes
    return tuple(
        TradeScore(
            id=s.id,
            name=s.name,
            instrument=s.instrument,
            traded=str(trades.traded[k]),
            side=s.side,
            contracts=int(s.contracts),
            session_date=sessions[trades.session[k]],
            bucket=bucket_labels[trades.bucket[k]],
            regime=str(s.regime),
            entry_ts=int(trades.entry_ts[k]),
            exit_ts=int(trades.exit_ts[k]),
            entry=float(trades.entry[k]),
            stop=float(trades.stop[k]),
            target=_f(trades.target[k]),
            exit_price=float(trades.exit_price[k]),
            exit_rule=str(trades.exit_rule[k]),
            exit_source=str(trades.exit_source[k]),
            gross_points=float(trades.gross_points[k]),
            net_points=float(trades.net_points[k]),
            net_usd=float(trades.net_usd[k]),
            mfe_points=float(trades.mfe[k]),
            mae_points=float(trades.mae[k]),
            hold_minutes=float(hold[k]),
        )
        for k, s in enumerate(trades.signals)
    )


def _notes(table, trades) -> tuple:
    notes = []
    flat = sorted(set(table.name[table.side == 0]))
    if flat:
        notes.append(
            f"flat signals ({', '.join(flat)}) are scored unsigned and not tested against chance"
        )
    if trades.open_at_end:
        notes.append(f"{trades.open_at_end} trade(s) open at the end of the data are left out")
    simulated = int(np.count_nonzero(trades.exit_source == "simulated"))
    if simulated:
        notes.append(
            f"{simulated} entries without contracts followed to stop, target or session end "
            "by the simulation (the desk places no order for them)"
        )
    return tuple(notes)
