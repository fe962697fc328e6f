"""Plugin ``sweep``: ``rsengine sweep CONFIG --grid GRID.yaml`` runs a config
once per point of a parameter grid or date shards, in parallel on
dask.distributed, and merges the runs' summaries into one table and one
report. See docs/sweep.md.

Modules: :mod:`.grid` (the grid file and its points), :mod:`.point` (one
point's run, on a worker), :mod:`.dispatch` (the cluster, or serially),
:mod:`.table` (the results' files), :mod:`.commands` (the command line).
dask is imported only when a sweep runs (``pip install rsengine[sweep]``).
"""

import rsengine


@rsengine.hookimpl
def rsengine_add_commands(subparsers):
    from .commands import add_commands

    add_commands(subparsers)
