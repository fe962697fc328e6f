"""``rsengine calibrate CONFIG``: thresholds from history, walk-forward
(docs/evaluation.md#calibration).

1. One replay of the config as written keeps the bars, the signals and the
   columns of :mod:`.calibrate_measures`: each calibrated signal's measure,
   one value per session.
2. :mod:`.calibrate_fit` fits each threshold as the quantile that opens its
   gate on the chosen share of sessions: on all sessions for the fragment,
   and block by block on the sessions before each block (walk-forward).
3. :mod:`.calibrate_replay` replays the config with the fitted thresholds as
   overrides: once over everything (in sample) and once per block with that
   block's thresholds (out of sample), so the engine fires every signal.
4. The evaluation core scores the signals of the config as written, in
   sample and out of sample, over the same out-of-sample sessions.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import attrs
import numpy as np
import yaml

from rsengine.app.cli import EXIT_OK, EXIT_USAGE, add_config_arguments

from .calibrate_fit import KEYS, Plan, fit, gate_open, walk_forward
from .calibrate_measures import SIGNALS, MeasureOutput, session_measures

DEFAULT_SHARE = 0.25
DEFAULT_OUT = "rsengine-out/calibrate/thresholds.yaml"
DEFAULT_HORIZON = "60m"
TRADE_SETUPS = ("strength_rider", "divergence_fade", "laggard_catchup")
RUNS = ("configured", "in_sample", "out_of_sample")
FORMAT = "rsengine-calibration/1"


# -- options ---------------------------------------------------------------------------


def share_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a share between 0 and 1 such as 0.25, got {text!r}") from None
    if not 0 < value < 1:
        raise ValueError(f"a share must lie strictly between 0 and 1, got {text}")
    return value


def parse_shares(texts, keys=KEYS) -> dict:
    """Key path -> share from ``--share`` texts: ``S`` for every key, or
    ``NAME=S`` for one, NAME a setting (``spread``), ``setup.setting`` or a
    signal name (``nq_vs_es`` names ``spread``, which it shares with
    ``rty_vs_es``). Later texts win. Raises ValueError."""
    names = {}
    for key in keys:
        for name in (key.setting, key.path, *key.signals):
            names[name] = key.path
    default, per = DEFAULT_SHARE, {}
    for text in texts:
        name, sep, value = str(text).partition("=")
        if not sep:
            default = share_value(name.strip())
            per = {}
            continue
        name = name.strip()
        if name not in names:
            raise ValueError(
                f"--share {text}: {name!r} is not a calibrated setting or signal "
                f"(one of {', '.join(k.setting for k in keys)}, or a signal name)"
            )
        per[names[name]] = share_value(value.strip())
    return {key.path: per.get(key.path, default) for key in keys}


@attrs.frozen
class Options:
    """How to calibrate (defaults: docs/evaluation.md#calibration)."""

    shares: dict = attrs.field(factory=lambda: parse_shares(()))
    plan: Plan = attrs.field(factory=Plan)
    horizon: str = DEFAULT_HORIZON
    seed: int = 0
    draws: int = 1000
    resamples: int = 1000
    jobs: int = 1


# -- the result ------------------------------------------------------------------------


@attrs.frozen
class Figures:
    """One calibrated signal under one run's thresholds, over the
    out-of-sample sessions. ``metric``: ``forward_pct`` (mean signed % return
    at ``horizon``) or ``trade_usd`` (mean net $ per contract)."""

    run: str  # configured, in_sample, out_of_sample
    signal: str
    setting: str  # the key path of its threshold
    threshold_low: float  # the threshold (the lowest and highest over the blocks)
    threshold_high: float
    sessions: int  # sessions with a measure
    gate_sessions: int  # of those, the sessions whose measure reached the threshold
    gate_share: float  # gate_sessions over the out-of-sample sessions
    fired_sessions: int
    fired_share: float  # share of the out-of-sample sessions with the signal
    metric: str
    horizon: str
    n: int
    mean: float
    hit_rate: float
    p_value: float


@attrs.frozen
class Calibration:
    config: str
    plan: str
    shares: dict  # key path -> share
    horizon: str
    seed: int
    draws: int
    resamples: int
    sessions: int
    first_session: str
    last_session: str
    oos_sessions: int
    oos_first: str
    oos_last: str
    configured: dict  # key path -> the config's own value
    thresholds: dict  # key path -> fitted on every session (the fragment)
    blocks: tuple  # dicts: block, first, last, train_first, train_last, n_train, thresholds
    figures: tuple  # Figures
    notes: tuple = ()
    format: str = FORMAT

    def to_json(self) -> str:
        def clean(v):
            if isinstance(v, float):
                return None if not math.isfinite(v) else v
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        data = clean(attrs.asdict(self, recurse=True))
        return json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n"


# -- the steps -------------------------------------------------------------------------


def configured_values(config, keys) -> dict:
    """Key path -> the value the config runs with (its own, else the default)."""
    from rsengine_rs.context import DEFAULTS as CONTEXT
    from rsengine_rs.fade import DivergenceFade
    from rsengine_rs.laggard import LaggardCatchUp
    from rsengine_rs.rider import StrengthRider

    defaults = {
        "context": CONTEXT,
        "strength_rider": StrengthRider.DEFAULTS,
        "divergence_fade": DivergenceFade.DEFAULTS,
        "laggard_catchup": LaggardCatchUp.DEFAULTS,
    }
    out = {}
    for key in keys:
        value = config.setups[key.setup].settings.get(key.setting)
        out[key.path] = float(defaults[key.setup][key.setting] if value is None else value)
    return out


def overrides_for(thresholds: dict) -> tuple:
    return tuple(
        f"setups.{path}={value!r}" for path, value in thresholds.items() if math.isfinite(value)
    )


@attrs.frozen(eq=False)
class Outcome:
    """What :func:`calibrate` found: the result, the fragment (a mapping),
    one row per session (measures and the walk-forward thresholds) and each
    run's signals (``configured``, ``in_sample``, ``out_of_sample``)."""

    result: Calibration
    fragment: dict
    rows: list
    signals: dict


def calibrate(config_source, overrides=(), options: Options | None = None, say=None) -> Outcome:
    """Calibrate a config file (None: the built-in demo) with ``overrides``
    (``--set``): see the module docstring."""
    from .calibrate_replay import Run, load, replay, run_all

    options = options or Options()
    say = say or (lambda text: None)
    overrides = tuple(overrides)
    config = load(config_source, overrides)
    name = config.file or "built-in demo"
    keys = [k for k in KEYS if k.setup in config.setups]
    if not keys:
        raise ValueError(
            f"{name} configures none of the calibrated setups "
            f"({', '.join(sorted({k.setup for k in KEYS}))})"
        )

    say(f"replaying {name} as written")
    measured = MeasureOutput(config.symbols)
    base = replay(config, extra_outputs=(measured,))
    sessions, measures = session_measures(measured.rows(), base.market.symbols, config)
    if sessions != base.market.sessions:
        raise ValueError("the measures' sessions differ from the captured bars' (internal error)")
    notes = []
    active = []
    for key in keys:
        if any(np.isfinite(measures[s]).any() for s in key.signals):
            active.append(key)
        else:
            notes.append(f"{key.path} is not calibrated: its gate's inputs are never known")
    keys = active
    shares = {k.path: options.shares[k.path] for k in keys}
    configured = configured_values(config, keys)
    for key in keys:
        if key.setting in config.setups[key.setup].settings:
            notes.append(
                f"{name} sets {key.path} itself: a config that includes the fragment and "
                "writes the key keeps its own value"
            )

    final = fit(keys, measures, range(len(sessions)), shares)
    blocks = walk_forward(keys, measures, sessions, shares, options.plan)
    oos = [b for b in blocks if not b.warm_up]
    if not oos:
        raise ValueError(
            f"no session is out of sample: {len(sessions)} sessions, and a block needs "
            f"{options.plan.min_train} before it (lower --min-train)"
        )
    runs = [Run(overrides_for(final))]
    for b in oos:
        days = frozenset(sessions[b.first : b.last + 1])
        runs.append(Run(overrides_for(b.thresholds), int(base.market.session_close[b.last]), days))
    say(f"replaying in sample and {len(oos)} walk-forward blocks ({options.jobs} job(s))")
    replayed = run_all(config_source, overrides, runs, options.jobs)
    in_sample, out_of_sample = replayed[0], tuple(s for part in replayed[1:] for s in part)

    first_oos = oos[0].first
    span = sessions[first_oos:]
    per_session = _thresholds_by_session(keys, blocks, len(sessions))
    say(f"evaluating {len(span)} out-of-sample sessions")
    figures = []
    runs_of = {
        "configured": (
            base.signals,
            {k.path: np.full(len(sessions), configured[k.path]) for k in keys},
        ),
        "in_sample": (in_sample, {k.path: np.full(len(sessions), final[k.path]) for k in keys}),
        "out_of_sample": (out_of_sample, per_session),
    }
    for run, (signals, used) in runs_of.items():
        figures += _figures(run, signals, used, base.market, measures, keys, first_oos, options)
    result = Calibration(
        config=name,
        plan=options.plan.describe(),
        shares=shares,
        horizon=options.horizon,
        seed=options.seed,
        draws=options.draws,
        resamples=options.resamples,
        sessions=len(sessions),
        first_session=sessions[0],
        last_session=sessions[-1],
        oos_sessions=len(span),
        oos_first=span[0],
        oos_last=span[-1],
        configured=configured,
        thresholds=final,
        blocks=tuple(_block_record(b, sessions) for b in blocks),
        figures=tuple(figures),
        notes=tuple(notes),
    )
    rows = _session_rows(sessions, blocks, measures, per_session, keys)
    signals = {run: signals for run, (signals, _) in runs_of.items()}
    return Outcome(result, fragment(final, keys), rows, signals)


def _thresholds_by_session(keys, blocks, n) -> dict:
    out = {k.path: np.full(n, np.nan) for k in keys}
    for b in blocks:
        for path, value in b.thresholds.items():
            out[path][b.first : b.last + 1] = value
    return out


def _block_record(block, sessions) -> dict:
    train = block.train
    return {
        "block": block.number,
        "first": sessions[block.first],
        "last": sessions[block.last],
        "train_first": sessions[train[0]] if len(train) else "",
        "train_last": sessions[train[-1]] if len(train) else "",
        "n_train": len(train),
        "thresholds": dict(block.thresholds),
    }


def _figures(run, signals, used, market, measures, keys, first, options) -> list[Figures]:
    """The figures of each calibrated signal under one run's thresholds
    (``used``: key path -> per-session threshold) over sessions ``first..``."""
    from .capture import Capture
    from .evaluate import Options as EvaluateOptions
    from .evaluate import evaluate

    days = set(market.sessions[first:])
    names = {s for k in keys for s in k.signals}
    kept = tuple(s for s in signals if s.session_date in days and s.name in names)
    result = None
    if any(s.kind in ("context", "setup") for s in kept):
        result = evaluate(
            Capture(market, kept, None),
            EvaluateOptions(seed=options.seed, draws=options.draws, resamples=options.resamples),
        )
    out = []
    for key in keys:
        threshold = used[key.path][first:]
        for name in key.signals:
            m = measures[name][first:]
            ok = np.isfinite(m) & np.isfinite(threshold)
            opened = gate_open(m[ok], threshold[ok])
            fired = {s.session_date for s in kept if s.name == name and s.kind != "exit"}
            metric = "trade_usd" if name in TRADE_SETUPS else "forward_pct"
            horizon = "" if metric == "trade_usd" else options.horizon
            test = None
            if result is not None:
                test = next(
                    (t for t in result.tests if t.name == name and t.metric == metric
                     and t.horizon == horizon),
                    None,
                )  # fmt: skip
            finite = threshold[np.isfinite(threshold)]
            out.append(
                Figures(
                    run=run,
                    signal=name,
                    setting=key.path,
                    threshold_low=float(finite.min()) if len(finite) else math.nan,
                    threshold_high=float(finite.max()) if len(finite) else math.nan,
                    sessions=int(ok.sum()),
                    gate_sessions=int(opened.sum()),
                    gate_share=int(opened.sum()) / len(days),
                    fired_sessions=len(fired),
                    fired_share=len(fired) / len(days),
                    metric=metric,
                    horizon=horizon,
                    n=test.n if test else 0,
                    mean=test.observed if test else math.nan,
                    hit_rate=test.hit_rate if test else math.nan,
                    p_value=test.p_value if test else math.nan,
                )
            )
    return out


def _session_rows(sessions, blocks, measures, per_session, keys) -> list[dict]:
    block_of = np.zeros(len(sessions), np.int64)
    for b in blocks:
        block_of[b.first : b.last + 1] = b.number
    names = [s for s in SIGNALS if any(s in k.signals for k in keys)]
    rows = []
    for i, day in enumerate(sessions):
        row = {"session": day, "block": int(block_of[i])}
        row.update({name: float(measures[name][i]) for name in names})
        row.update({f"threshold_{k.setting}": float(per_session[k.path][i]) for k in keys})
        rows.append(row)
    return rows


def fragment(thresholds: dict, keys) -> dict:
    """The config fragment: ``setups: {setup: {setting: value}}``."""
    setups: dict = {}
    for key in keys:
        value = thresholds[key.path]
        if math.isfinite(value):
            setups.setdefault(key.setup, {})[key.setting] = value
    return {"setups": setups}


def write(result: Calibration, frag: dict, rows: list, out) -> list[Path]:
    """The fragment at ``out``, and beside it ``<stem>.calibration.json`` and
    ``<stem>.measures.csv``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shares = sorted(set(result.shares.values()))
    header = [
        f"rsengine calibrate {result.config}: thresholds fitted on its {result.sessions} "
        f"sessions ({result.first_session} to {result.last_session}),",
        f"each opening its gate on {'/'.join(f'{s:g}' for s in shares)} of sessions "
        "(docs/evaluation.md#calibration).",
        "Include it from a run config: include: [this file]. The including file wins",
        "on any key it writes itself; a later include wins over an earlier one.",
    ]
    text = "".join(f"# {line}\n" for line in header)
    text += yaml.safe_dump(frag, sort_keys=True, default_flow_style=False)
    out.write_text(text, encoding="utf-8")
    stem = out.with_suffix("")
    report = stem.with_name(stem.name + ".calibration.json")
    report.write_text(result.to_json(), encoding="utf-8")
    table = stem.with_name(stem.name + ".measures.csv")
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if rows:
            writer.writerow(rows[0])
            for row in rows:
                writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v
                                 for v in row.values()])  # fmt: skip
    return [out, report, table]


# -- the command line ------------------------------------------------------------------


def _share_arg(text: str) -> str:
    name, sep, value = text.partition("=")
    try:
        share_value((value if sep else name).strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _count(least: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def _window_arg(text: str):
    return None if text == "expanding" else _count(1)(text)


def _refit_arg(text: str):
    return "month" if text == "month" else _count(1)(text)


def add_calibrate_command(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="fit signal thresholds from history, walk-forward, and write a config fragment",
        description="Set the context signals' and trade setups' RS thresholds so that each "
        "gate opens on a chosen share of sessions, walk-forward, and compare the figures in "
        "and out of sample (docs/evaluation.md#calibration).",
    )
    add_config_arguments(p)
    p.add_argument(
        "--share",
        dest="shares",
        action="append",
        default=[],
        type=_share_arg,
        metavar="S|NAME=S",
        help=f"share of sessions each gate opens on (default {DEFAULT_SHARE}); "
        "NAME=S for one setting or signal (repeatable)",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"the fragment (default {DEFAULT_OUT})")
    p.add_argument(
        "--window",
        type=_window_arg,
        default=None,
        metavar="expanding|N",
        help="training window: every earlier session (default) or the last N",
    )
    p.add_argument(
        "--refit",
        type=_refit_arg,
        default="month",
        metavar="month|N",
        help="refit every calendar month (default) or every N sessions",
    )
    p.add_argument(
        "--min-train",
        type=_count(1),
        default=60,
        help="sessions a block needs before it to be out of sample (default 60)",
    )
    p.add_argument(
        "--horizon",
        choices=("15m", "30m", "60m", "close"),
        default=DEFAULT_HORIZON,
        help=f"forward-return horizon of the context signals (default {DEFAULT_HORIZON})",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--draws", type=_count(1), default=1000, help="baseline draws (default 1000)")
    p.add_argument(
        "--resamples", type=_count(1), default=1000, help="bootstrap resamples (default 1000)"
    )
    p.add_argument("--jobs", type=_count(1), default=1, help="replays at once (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run_command=run_calibrate)


def run_calibrate(args) -> int:
    try:
        shares = parse_shares(args.shares)
        plan = Plan(window=args.window, refit=args.refit, min_train=args.min_train)
    except ValueError as exc:
        print(f"rsengine calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = Options(
        shares=shares,
        plan=plan,
        horizon=args.horizon,
        seed=args.seed,
        draws=args.draws,
        resamples=args.resamples,
        jobs=args.jobs,
    )

    def say(text):
        if not args.no_progress:
            print(f"calibrate: {text}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    outcome = calibrate(args.config, args.overrides, options, say)
    written = write(outcome.result, outcome.fragment, outcome.rows, args.out)
    print(format_calibration(outcome.result))
    print("files: " + ", ".join(str(p) for p in written))
    say(f"took {time.perf_counter() - start:.1f} s")
    return EXIT_OK


def _num(x, fmt: str) -> str:
    if x is None or x != x:
        return "-".rjust(len(fmt.format(0.0)))
    return fmt.format(x)


def _threshold_text(f: Figures) -> str:
    if f.threshold_low != f.threshold_low:
        return "-"
    if abs(f.threshold_high - f.threshold_low) < 5e-5:
        return f"{f.threshold_low:.4f}"
    return f"{f.threshold_low:.3f}-{f.threshold_high:.3f}"


def format_calibration(result: Calibration) -> str:
    """The terminal report: thresholds, then in- and out-of-sample figures."""
    shares = ", ".join(f"{path} {s:g}" for path, s in result.shares.items())
    lines = [
        f"calibration of {result.config}: {result.sessions} sessions "
        f"({result.first_session} to {result.last_session}); {result.plan}",
        f"shares: {shares}",
        f"out of sample: {result.oos_sessions} sessions ({result.oos_first} to "
        f"{result.oos_last}); every figure below is over these sessions",
        "",
        f"{'setting':30} {'configured':>10} {'fitted':>10}   walk-forward",
    ]
    for path, value in result.thresholds.items():
        wf = [b["thresholds"][path] for b in result.blocks if b["thresholds"]]
        wf = [v for v in wf if v == v]
        span = f"{min(wf):.4f}-{max(wf):.4f}" if wf else "-"
        lines.append(
            f"{path:30} {result.configured[path]:10.4f} {_num(value, '{:10.4f}')}   {span}"
        )
    lines += [
        "",
        f"{'signal':17} {'run':14} {'threshold':>13} {'gate':>5} {'fired':>5} "
        f"{'n':>5} {'mean':>9} {'hit':>5} {'p':>6}",
    ]
    order = {name: k for k, name in enumerate(SIGNALS)}
    for f in sorted(result.figures, key=lambda f: (order[f.signal], RUNS.index(f.run))):
        lines.append(
            f"{f.signal:17} {f.run:14} {_threshold_text(f):>13} "
            f"{_num(f.gate_share, '{:5.2f}')} {f.fired_share:5.2f} {f.n:5d} "
            f"{_num(f.mean, '{:9.4f}')} {_num(f.hit_rate, '{:5.2f}')} {_num(f.p_value, '{:6.3f}')}"
        )
    lines.append(
        f"(gate: share of sessions whose measure reached the threshold; fired: share with "
        f"the signal; mean: % return at {result.horizon} for context signals, net $ per "
        "contract for trades; p: one-sided against the matched random baseline)"
    )
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)
