"""``rsengine evaluate CONFIG`` (the evaluation, its files and its HTML
report) and ``rsengine rs-panel CONFIG`` (the RS panel of one session as a
PNG or an HTML page): the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import attrs

from rsengine.app.cli import EXIT_OK, EXIT_USAGE, add_config_arguments, at_least_one

DEFAULT_OUT = "rsengine-out/evaluate"
REPORT_NAME = "report.html"
NEEDS = 'python -m pip install "rsengine[evaluate]"'
# sources that read a window of session dates through their start and end settings
WINDOWED_SOURCES = ("csv", "basket")
PANEL_SUFFIXES = (".png", ".html", ".json")
WARMUP_DAYS = 60  # calendar days replayed before an rs-panel session (about 41 sessions)


def _not_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _session_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a session date YYYY-MM-DD, got {text!r}"
        ) from None


def _add_session_argument(p, what: str) -> None:
    p.add_argument(
        "--session",
        type=_session_date,
        default=None,
        metavar="DATE",
        help=f"{what} (default: the session with the most trade signals)",
    )


def add_commands(subparsers) -> None:
    add_evaluate(subparsers)
    add_rs_panel(subparsers)


def add_evaluate(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score every signal of a config's replay and test it against chance",
        description="Replay CONFIG (its outputs left out), score every signal and trade, "
        "and compare each signal name with matched random entries (docs/evaluation.md).",
    )
    add_config_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--draws", type=at_least_one, default=1000, help="baseline draws (default 1000)")
    p.add_argument(
        "--resamples", type=at_least_one, default=1000, help="bootstrap resamples (default 1000)"
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
    p.add_argument(
        "--report",
        default=None,
        metavar="PATH.html",
        help=f"the HTML report (default: {REPORT_NAME} in --out)",
    )
    p.add_argument("--no-report", action="store_true", help="no HTML report")
    _add_session_argument(p, "the session of the report's RS panel")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run_command=run_evaluate)


def add_rs_panel(subparsers) -> None:
    p = subparsers.add_parser(
        "rs-panel",
        help="draw the RS panel of one session (PNG, or HTML by the file's suffix)",
        description="Replay CONFIG around one session (its outputs left out) and draw the RS "
        "panel: every instrument's RS% from its prior close, the signals, the regime and "
        "$TICK (docs/evaluation.md#the-rs-panel).",
    )
    add_config_arguments(p)
    _add_session_argument(p, "the session to draw")
    p.add_argument(
        "--out",
        action="append",
        default=[],
        metavar="PATH",
        help="a file to write, by its suffix: .png (default rsengine-out/rs-panel-DATE.png), "
        ".html (the interactive figure) or .json (the panel's data); repeatable",
    )
    p.add_argument("--width", type=at_least_one, default=1400, help="PNG width, px (1400)")
    p.add_argument("--height", type=at_least_one, default=800, help="PNG height, px (800)")
    p.add_argument(
        "--warmup-days",
        type=at_least_one,
        default=WARMUP_DAYS,
        metavar="N",
        help=f"calendar days replayed before the session (default {WARMUP_DAYS})",
    )
    p.add_argument(
        "--full", action="store_true", help="replay all the data, not only the session's window"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run_command=run_rs_panel)


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


def _stepper(command: str, shown: bool):
    """Progress lines on stderr (the replay's own bar comes from capture)."""

    def step(text):
        if shown:
            print(f"{command}: {text}", file=sys.stderr, flush=True)

    return step


def _missing(command: str, exc: ImportError) -> int:
    print(f"rsengine: {command} needs {exc.name or exc} ({exc}): {NEEDS}", file=sys.stderr)
    return EXIT_USAGE


def _panel_of(captured, session, config_name: str):
    """The RS panel of ``session`` (None: the default one); a KeyError names
    the sessions the data have."""
    from .rs_panel import build_panel, default_session

    market, signals = captured.market, captured.signals
    session = session or default_session(market, signals)
    return build_panel(market, signals, session, f"RS panel {session}: {config_name}")


def _no_session(session, exc: KeyError) -> int:
    print(f"rsengine: --session {session}: {exc.args[0]}", file=sys.stderr)
    return EXIT_USAGE


def run_evaluate(args) -> int:
    from rsengine.config import load_config

    try:
        from .capture import capture
        from .evaluate import evaluate

        if not args.no_report:
            from .report import write_report
    except ImportError as exc:
        return _missing("evaluate", exc)
    config = load_config(args.config, overrides=args.overrides)
    options = options_from(args)
    name = config.file or "built-in demo"
    step = _stepper("evaluate", not args.no_progress)

    step(f"replaying {name}")
    captured = capture(config, progress="off" if args.no_progress else "auto")
    panel = None
    if not args.no_report:
        try:
            panel = _panel_of(captured, args.session, name)
        except KeyError as exc:
            return _no_session(args.session, exc)
    start = time.perf_counter()
    result = evaluate(captured, options, config_name=name, progress=step)
    scored_s = time.perf_counter() - start
    written = result.write(args.out)
    print(format_result(result))
    print(f"files: {Path(args.out) / 'evaluation.json'} and {len(written) - 1} CSV tables")
    if not args.no_report:
        step(f"report (RS panel of {panel.session})")
        start = time.perf_counter()
        path = args.report or Path(args.out) / REPORT_NAME
        path = write_report(result, path, panel, captured.market.tz)
        print(f"report: {path}")
        step(f"report {time.perf_counter() - start:.2f} s, {path.stat().st_size / 1e6:.1f} MB")
    step(f"replay {captured.replay_s:.2f} s, scoring {scored_s:.2f} s")
    return EXIT_OK


def window_config(config, session: str, warmup_days: int):
    """``config`` with each windowed source (csv, basket) reading only from
    ``warmup_days`` before ``session`` through it; settings already narrower
    are kept, and so is a source whose window leaves the session out (the
    replay then has no such session, which the caller reports). Other sources
    (the simulated market) replay all their data."""
    first = (dt.date.fromisoformat(session) - dt.timedelta(days=warmup_days)).isoformat()
    sources = {}
    for key, component in config.sources.items():
        if component.name in WINDOWED_SOURCES:
            settings = dict(component.settings)
            start = str(settings.get("start") or first)[:10]
            end = str(settings.get("end") or session)[:10]
            if start <= session <= end:
                settings["start"], settings["end"] = max(first, start), session
                component = attrs.evolve(component, settings=settings)
        sources[key] = component
    return attrs.evolve(config, sources=sources)


def run_rs_panel(args) -> int:
    from rsengine.config import load_config

    try:
        from .capture import capture
        from .rs_panel import write_panel

        if any(Path(out).suffix.lower() == ".html" for out in args.out):
            import plotly  # noqa: F401
        else:
            import matplotlib  # noqa: F401
    except ImportError as exc:
        return _missing("rs-panel", exc)
    for out in args.out:
        if Path(out).suffix.lower() not in PANEL_SUFFIXES:
            print(f"rsengine: --out {out}: expected a .png, .html or .json file", file=sys.stderr)
            return EXIT_USAGE
    config = load_config(args.config, overrides=args.overrides)
    name = config.file or "built-in demo"
    step = _stepper("rs-panel", not args.no_progress)
    if args.session and not args.full:
        config = window_config(config, args.session, args.warmup_days)
    step(f"replaying {name}" + ("" if args.full or not args.session else f" up to {args.session}"))
    try:
        captured = capture(config, progress="off" if args.no_progress else "auto")
    except ValueError as exc:
        # the engine refuses a replay whose window holds no data for an instrument
        if not args.session or "delivers no data" not in str(exc):
            raise
        return _no_session(args.session, KeyError(f"no session on {args.session} in the data"))
    try:
        panel = _panel_of(captured, args.session, name)
    except KeyError as exc:
        return _no_session(args.session, exc)
    except ValueError as exc:
        print(f"rsengine: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in args.out or [f"rsengine-out/rs-panel-{panel.session}.png"]:
        step(f"writing {path}")
        path = write_panel(panel, path, args.width, args.height)
        print(f"RS panel of {panel.session}: {path}")
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
