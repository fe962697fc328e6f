"""``rsengine evaluate CONFIG``: the command line of the evaluation."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rsengine.cli import EXIT_OK, EXIT_USAGE

DEFAULT_OUT = "rsengine-out/evaluate"


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _not_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score every signal of a config's replay and test it against chance",
        description="Replay CONFIG (its outputs left out), score every signal and trade, "
        "and compare each signal name with matched random entries (docs/evaluation.md).",
    )
    p.add_argument("config", nargs="?", help="YAML config file (default: the built-in demo)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one config value (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--draws", type=_at_least_one, default=1000, help="baseline draws (default 1000)"
    )
    p.add_argument(
        "--resamples", type=_at_least_one, default=1000, help="bootstrap resamples (default 1000)"
    )
    p.add_argument(
        "--slippage",
        type=_not_negative,
        default=1.0,
        metavar="TICKS",
        help="slippage per side, ticks (default 1)",
    )
    p.add_argument(
        "--commission",
        type=_not_negative,
        default=None,
        metavar="USD",
        help="commission per contract per side for every contract "
        "(default 0.62 micros, 2.25 full size)",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run_command=run_evaluate)


def options_from(args):
    from .evaluate import Options
    from .scoring import DEFAULT_COMMISSION, Costs

    commission = DEFAULT_COMMISSION if args.commission is None else None
    costs = Costs(
        slippage_ticks=args.slippage,
        micro_commission=commission["micro"] if commission else args.commission,
        full_commission=commission["full"] if commission else args.commission,
    )
    return Options(seed=args.seed, draws=args.draws, resamples=args.resamples, costs=costs)


def run_evaluate(args) -> int:
    from rsengine.config import load_config

    try:
        from .capture import capture
        from .evaluate import evaluate
    except ImportError as exc:
        print(
            f"rsengine: evaluate needs scipy and arch ({exc}): "
            'python -m pip install "rsengine[evaluate]"',
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = load_config(args.config, overrides=args.overrides)
    options = options_from(args)
    name = config.file or "built-in demo"
    shown = not args.no_progress

    def step(text):
        if shown:
            print(f"evaluate: {text}", file=sys.stderr, flush=True)

    step(f"replaying {name}")
    captured = capture(config, progress="off" if args.no_progress else "auto")
    start = time.perf_counter()
    result = evaluate(captured, options, config_name=name, progress=step)
    scored_s = time.perf_counter() - start
    written = result.write(args.out)
    print(format_result(result))
    print(f"files: {Path(args.out) / 'evaluation.json'} and {len(written) - 1} CSV tables")
    step(f"replay {captured.replay_s:.2f} s, scoring {scored_s:.2f} s")
    return EXIT_OK


def _num(x, fmt="{:.3f}") -> str:
    if x is None or x != x:
        return "-".rjust(len(fmt.format(0.0)))
    return fmt.format(x)


def format_result(result) -> str:
    """The terminal tables: the tests, then the trades per setup."""
    s = result.settings
    lines = [
        f"evaluation of {result.config}: {result.sessions} sessions "
        f"({result.first_session} to {result.last_session}), "
        + ", ".join(f"{v} {k}" for k, v in result.counts.items()),
        f"baseline: {s.draws} matched random draws; bootstrap: {s.resamples} session "
        f"resamples, {s.confidence:.0%} intervals; seed {s.seed}",
        f"Benjamini-Hochberg over {result.trials} tests; * = q < {s.alpha}",
        "",
        f"{'signal':24} {'metric':11} {'hor':5} {'n':>5} {'observed':>10} "
        f"{'CI low':>9} {'CI high':>9} {'baseline':>9} {'pctile':>6} {'p':>6} {'q':>6}",
    ]
    for t in result.tests:
        lines.append(
            f"{t.name:24} {t.metric:11} {t.horizon:5} {t.n:5d} {_num(t.observed, '{:10.4f}')} "
            f"{_num(t.ci_low, '{:9.4f}')} {_num(t.ci_high, '{:9.4f}')} "
            f"{_num(t.baseline_mean, '{:9.4f}')} {_num(t.percentile, '{:6.1f}')} "
            f"{t.p_value:6.3f} {t.q_value:6.3f}{' *' if t.significant else ''}"
        )
    lines.append("(forward_pct: mean signed % return; trade_usd: mean net $ per contract)")
    trades = [r for r in result.trades if r.breakdown == "setup"]
    if trades:
        lines += [
            "",
            f"trades after {s.slippage_ticks:g} tick(s) slippage a side and commission",
            f"{'setup':24} {'n':>5} {'hit':>6} {'exp pts':>9} {'exp $':>9} {'PF':>6} "
            f"{'MFE':>8} {'MAE':>8} {'hold m':>7}",
        ]
        for r in trades:
            lines.append(
                f"{r.name:24} {r.n:5d} {_num(r.hit_rate, '{:6.2f}')} "
                f"{_num(r.expectancy_points, '{:9.2f}')} {_num(r.expectancy_usd, '{:9.2f}')} "
                f"{_num(r.profit_factor, '{:6.2f}')} {_num(r.mean_mfe_points, '{:8.2f}')} "
                f"{_num(r.mean_mae_points, '{:8.2f}')} {_num(r.mean_hold_minutes, '{:7.1f}')}"
            )
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)
