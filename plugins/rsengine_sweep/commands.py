"""``rsengine sweep CONFIG --grid GRID.yaml``: the command line."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rsengine.app.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, add_config_arguments, at_least_one

DEFAULT_OUT = "rsengine-out/sweep"
NEEDS = 'python -m pip install "rsengine[sweep]"'


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a config over a parameter grid or date shards, in parallel on dask",
        description="Run CONFIG once per point of GRID.yaml (its outputs left out) on "
        "dask.distributed and merge the summaries into one table (docs/sweep.md).",
    )
    add_config_arguments(p)
    p.add_argument("--grid", required=True, metavar="GRID.yaml", help="the points to run")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)",
    )
    where.add_argument(
        "--workers",
        type=at_least_one,
        default=None,
        metavar="N",
        help="worker processes of the local cluster (default: one per CPU)",
    )
    where.add_argument(
        "--serial", action="store_true", help="run the points one after another here, no dask"
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument(
        "--record",
        action="store_true",
        help="keep the config's record output, one folder per point under OUT/records",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run_command=run_sweep)


def run_sweep(args) -> int:
    from .dispatch import Progress, run_on_dask, run_serially
    from .grid import check_points, read_grid, resolve
    from .table import write_results

    config_path = None if args.config is None else os.path.abspath(args.config)
    grid = resolve(read_grid(args.grid), config_path, args.overrides)
    points = grid.points()
    check_points(grid, config_path, points, base=args.overrides)
    out = Path(args.out).resolve()
    jobs = [
        (
            config_path,
            (*args.overrides, *p.overrides),
            str(out / "records" / f"point-{p.index:04d}") if args.record else None,
            args.log_level,
            p.index,
        )
        for p in points
    ]
    progress = Progress(len(points), not args.no_progress)
    where = _where(args)
    say = _say(not args.no_progress)
    say(f"sweep: {len(points)} points of {args.config or 'the built-in demo'} on {where}")
    start = time.perf_counter()
    if args.serial:
        rows = run_serially(jobs, progress)
    else:
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            print(f"rsengine: sweep needs dask.distributed ({exc}): {NEEDS}", file=sys.stderr)
            return EXIT_USAGE
        rows = run_on_dask(jobs, progress, args.scheduler, args.workers or os.cpu_count() or 1)
    title = f"Sweep of {args.config or 'the built-in demo'} over {args.grid}"
    files = write_results(out, title, points, rows)
    failed = [(p, row) for p, row in zip(points, rows, strict=True) if row["status"] != "ok"]
    for point, row in failed:
        print(
            f"rsengine: point {point.index} ({point.describe()}) failed: {row['error']}",
            file=sys.stderr,
        )
    print(
        f"{len(points) - len(failed)} of {len(points)} points ok; results: "
        + ", ".join(str(f) for f in files)
    )
    say(f"sweep: {time.perf_counter() - start:.1f} s")
    return EXIT_FAILURE if failed else EXIT_OK


def _where(args) -> str:
    if args.serial:
        return "this process"
    if args.scheduler:
        return f"the cluster at {args.scheduler}"
    return f"a local cluster of {args.workers or os.cpu_count()} workers"


def _say(shown: bool):
    def say(text: str) -> None:
        if shown:
            print(text, file=sys.stderr, flush=True)

    return say
