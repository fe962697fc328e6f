"""A narrow replay costs what it reads (issue 14): one month of the 5-minute
micros (configs/replay-micros.yaml with sources.csv.start/end) against all 28
months, each in its own process: the replay's time (target: at most 0.1 of the
full replay's) and the process's peak RSS (keep it flat).

Both runs use one fresh calendar cache, filled by a first run that is not
timed, as any run after the first on a machine finds it.

    python bench/bench_narrow.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from run import emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import emit

MONTH = ("2024-03-01", "2024-03-28")

# One replay in a child process: prints its run time, its bars and its peak RSS.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
from run import _MicrosReplay
replay = _MicrosReplay(False, "narrow")
tree = replay.tree
window = json.loads({window!r})
if window:
    tree["sources"]["csv"].update(start=window[0], end=window[1])
summary, seconds = replay.run(tree)
# VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's size at
# the fork, so under bench/run.py it reported the parent's peak for both runs
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
peak_kib = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rss = peak_kib / 1024
print(json.dumps({{"seconds": seconds, "bars": summary.bars, "rss_mib": rss}}))
"""


def _replay(window, cache: str) -> dict:
    bench = str(Path(__file__).resolve().parent)
    code = _CHILD.format(bench=bench, window=json.dumps(window))
    env = {**os.environ, "RSENGINE_CACHE_DIR": cache}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_narrow(quick: bool, emit) -> None:
    root = Path(__file__).resolve().parents[1]
    data = Path(os.environ.get("RSENGINE_DATA_DIR", root.parent / "shared" / "data"))
    if not (data / "databento-micro-5m").is_dir():
        print(f"note: narrow replay benchmark skipped, no data in {data}", file=sys.stderr)
        return
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as cache:
        _replay(MONTH, cache)  # builds and keeps the calendar years of the month
        _replay(None, cache)  # and of the other years
        runs = [(_replay(MONTH, cache), _replay(None, cache)) for _ in range(repeats)]
    month = min((r[0] for r in runs), key=lambda r: r["seconds"])
    full = min((r[1] for r in runs), key=lambda r: r["seconds"])
    emit(
        "replay_one_month_vs_full",
        month["seconds"],
        f"s ({MONTH[0]}..{MONTH[1]}, {month['bars']:,} of {full['bars']:,} bars; target 0.1)",
        full["seconds"],
    )
    emit(
        "peak_rss_one_month_vs_full",
        max(r[0]["rss_mib"] for r in runs),
        "MiB (process peak, 1 month vs 28 months; keep it flat)",
        max(r[1]["rss_mib"] for r in runs),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    bench_narrow(parser.parse_args().quick, emit)
