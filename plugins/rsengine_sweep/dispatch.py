"""Running the points: on dask.distributed, or one after another here.

:func:`run_on_dask` submits every point to a cluster, a ``LocalCluster`` of
``workers`` processes (one thread each: the engine is single-threaded Python
and numpy) started for the sweep and closed after it, or an existing one by
its scheduler address. Results come back in completion order and are put
back in point order, so the table does not depend on which worker was
quicker. A point whose worker died is a failed row like any other.
"""

from __future__ import annotations

import sys
import uuid

from .point import failed_row, run_point


class Progress:
    """``sweep: 3/8 points done, 1 failed`` on stderr (off: silent)."""

    def __init__(self, total: int, shown: bool, stream=None):
        self.total, self.shown, self.stream = total, shown, stream or sys.stderr
        self.done = self.failed = 0

    def step(self, row: dict) -> None:
        self.done += 1
        self.failed += row.get("status") != "ok"
        if self.shown:
            failed = f", {self.failed} failed" if self.failed else ""
            end = "\n" if self.done == self.total or not self.stream.isatty() else ""
            print(
                f"\rsweep: {self.done}/{self.total} points done{failed}",
                end=end,
                file=self.stream,
                flush=True,
            )


def run_serially(jobs: list[tuple], progress: Progress) -> list[dict]:
    """Every point in this process, in order (``--serial``, and the reference
    the tests and the benchmark compare with)."""
    rows = []
    for args in jobs:
        rows.append(run_point(*args))
        progress.step(rows[-1])
    return rows


def local_cluster(workers: int):
    """A LocalCluster of ``workers`` processes, one thread each.

    dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which
    turns off glibc's adaptive mmap threshold: every numpy array of the batch
    path is then mapped and unmapped afresh and a replay takes about 1.6
    times as long. The sweep's own workers start without it (the other
    variables dask sets, one BLAS thread and so on, are kept)."""
    import logging

    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never one taken by another cluster
            silence_logs=logging.ERROR,
        )


def run_on_dask(
    jobs: list[tuple], progress: Progress, scheduler: str | None = None, workers: int = 2
) -> list[dict]:
    """Every point on a cluster (``scheduler``: an address such as
    ``tcp://10.0.0.5:8786``; None starts a local one); rows in point order."""
    from distributed import Client

    cluster = None if scheduler else local_cluster(workers)
    try:
        with Client(scheduler or cluster) as client:
            return _gather(client, jobs, progress)
    finally:
        if cluster is not None:
            cluster.close()


def _gather(client, jobs: list[tuple], progress: Progress) -> list[dict]:
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]  # keys unique to this sweep on a shared cluster
    futures = [
        client.submit(run_point, *args, key=f"rsengine-sweep-{run}-{i}", pure=False)
        for i, args in enumerate(jobs)
    ]
    where = {f.key: i for i, f in enumerate(futures)}
    rows: list[dict | None] = [None] * len(futures)
    for future in as_completed(futures):
        try:
            row = future.result()
        except Exception as exc:  # the worker died, or the point could not be sent
            row = failed_row(
                f"the point did not finish on the cluster: {type(exc).__name__}: {exc}"
            )
        rows[where[future.key]] = row
        progress.step(row)
        future.release()
    return rows
