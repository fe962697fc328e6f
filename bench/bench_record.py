"""Benchmark: the micros replay (configs/replay-micros.yaml, every measure)
recording its bars with the ``record`` output, as Parquet and as CSV, against
the same replay without recording (targets: ratio 0.8 or more with Parquet,
0.5 or more with CSV). The runs alternate, best of a few each.

    python bench/bench_record.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile

try:
    from run import _MicrosReplay, emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import _MicrosReplay, emit


def bench_record(quick: bool, emit) -> None:
    replay = _MicrosReplay(quick, "record")
    if not replay.ok:
        return
    tree = replay.tree
    replay.run(tree)  # builds the calendar's years, which the process caches
    repeats = 1 if quick else 3
    for fmt, target in (("parquet", 0.8), ("csv", 0.5)):
        with tempfile.TemporaryDirectory() as out:
            recorded = {**tree, "outputs": {"record": {"dir": out, "format": fmt}}}
            (base, t_base), (rec, t_rec) = replay.best_of_pairs(
                repeats, lambda: replay.run(tree), lambda r=recorded: replay.run(r)
            )
        label = f"bars/s ({rec.bars:,} bars, every measure, recorded as {fmt}; target {target})"
        emit(f"replay_recording_{fmt}_vs_no_recording", rec.bars / t_rec, label, base.bars / t_base)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="four weeks instead of 28 months")
    args = parser.parse_args(argv)
    from rsengine.app.logs import configure_logging

    configure_logging("warning")
    bench_record(args.quick, emit)


if __name__ == "__main__":
    main()
