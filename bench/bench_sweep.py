"""A sweep of 8 points on 2 workers against the same 8 points run serially
(issue 14): the built-in demo with 8 sim seeds (the whole 35-session demo
each; --quick: 6 sessions), run once on a LocalCluster of 2 worker processes,
one thread each, started for the sweep (its start-up is in the time, as in
``rsengine sweep``), and once one after another in this process. The rows
must be the same. ``ratio`` = serial time / sweep time; 2 workers make 2
the ceiling, and the machine's own ceiling is the second figure: two
processes spinning a pure-Python loop side by side against one after the
other (on the 2-vCPU test machine this is about 1: its two vCPUs do the
work of one core).

    python bench/bench_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

try:
    from run import emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import emit

POINTS, WORKERS = 8, 2
QUICK = ("sources.sim.warmup=4", "sources.sim.days=2")


def _jobs(quick: bool) -> list[tuple]:
    base = QUICK if quick else ()
    return [(None, (*base, f"sources.sim.seed={seed}"), None, "error", seed) for seed in
            range(1, POINTS + 1)]  # fmt: skip


def _spin(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def cpu_capacity(n: int = 10_000_000) -> tuple[float, float]:
    """Seconds for two spin loops one after the other, and side by side."""
    serial = _spin(n) + _spin(n)
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.map(_spin, [1000] * WORKERS)  # the processes started
        start = time.perf_counter()
        pool.map(_spin, [n] * WORKERS)
        return serial, time.perf_counter() - start


def bench_sweep(quick: bool, emit) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("note: sweep benchmark skipped, dask.distributed is not installed", file=sys.stderr)
        return
    from rsengine_sweep.dispatch import Progress, run_on_dask, run_serially

    jobs = _jobs(quick)
    start = time.perf_counter()
    serial = run_serially(jobs, Progress(len(jobs), shown=False))
    serial_s = time.perf_counter() - start
    start = time.perf_counter()
    swept = run_on_dask(jobs, Progress(len(jobs), shown=False), workers=WORKERS)
    sweep_s = time.perf_counter() - start
    if swept != serial or any(row["status"] != "ok" for row in swept):
        raise SystemExit("bench_sweep: the sweep's rows differ from the serial runs")
    sessions = serial[0]["sessions"]
    emit(
        "sweep_8_points_2_workers_vs_serial",
        sweep_s,
        f"s ({POINTS} demo points of {sessions} sessions, {WORKERS} workers, cluster start "
        f"included, {os.cpu_count()} cores; ratio = serial / sweep)",
        serial_s,
        ratio=serial_s / sweep_s,
    )
    one_by_one, side_by_side = cpu_capacity()
    emit(
        "cpu_2_processes_side_by_side_vs_one_by_one",
        side_by_side,
        "s (two pure-Python loops; ratio = the most any 2-worker sweep can gain here)",
        one_by_one,
        ratio=one_by_one / side_by_side,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    bench_sweep(parser.parse_args().quick, emit)
