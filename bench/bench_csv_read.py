"""Benchmark: reading the micros' 5-minute bars (configs/replay-micros.yaml's
three .csv.gz files, 500,277 rows) with the ``csv`` source's reader, against
pyarrow.csv and pandas reading the same files into the same arrays (ts int64
ns UTC, open/high/low/close/volume float64) with the checks that matter on
clean data (numbers finite, prices > 0, volume >= 0, high >= low, open and
close inside the bar, stamps in order without repeats), and against the
reader's own csv-module path (the one for blocks Arrow does not read:
quoted fields, damaged lines). Each figure is the best of a few runs,
alternating; the arrays of the three readers are compared once first.

    python bench/bench_csv_read.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

try:
    from run import emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import emit

VALUES = ("open", "high", "low", "close", "volume")
ROOTS = ("MES", "MNQ", "M2K")


def _files(quick: bool) -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    data = Path(os.environ.get("RSENGINE_DATA_DIR", root.parent / "shared" / "data"))
    found = [next((data / "databento-micro-5m").glob(f"{r}_c0_5m_*.csv.gz"), None) for r in ROOTS]
    return [f for f in found if f is not None][: 1 if quick else 3]


def _checked(ts, o, h, low, c, v) -> dict:
    """The arrays, once the checks the source makes on clean data hold."""
    prices = np.stack([o, h, low, c])
    ok = np.isfinite(prices).all() and np.isfinite(v).all()
    ok &= bool((prices > 0).all() and (prices <= 1e9).all() and (v >= 0).all())
    ok &= bool((h >= low).all() and ((low <= o) & (o <= h) & (low <= c) & (c <= h)).all())
    ok &= bool((np.diff(ts) > 0).all())
    if not ok:
        raise ValueError("a bad row in the benchmark's data")
    return dict(zip(("ts", *VALUES), (ts, o, h, low, c, v), strict=True))


def read_source(paths) -> list[dict]:
    from rsengine_csv.reader import Chunk, CsvLayout, read

    layout = CsvLayout.preset("databento_micro_5m")
    out = []
    for path in paths:
        whole = Chunk.concat(read(path, layout, chunk_rows=8192))
        out.append({k: getattr(whole, k) for k in ("ts", *VALUES)})
    return out


def read_pyarrow(paths) -> list[dict]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    types = {"ts_et": pa.timestamp("ns", tz="UTC"), **{k: pa.float64() for k in VALUES}}
    out = []
    for path in paths:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, include_columns=list(types), null_values=[]
            ),
        )
        ts = table["ts_et"].combine_chunks().cast(pa.int64()).to_numpy()
        out.append(_checked(ts, *(table[k].to_numpy() for k in VALUES)))
    return out


def read_pandas(paths) -> list[dict]:
    import pandas as pd

    out = []
    for path in paths:
        frame = pd.read_csv(
            path, usecols=["ts_et", *VALUES], dtype=dict.fromkeys(VALUES, "float64")
        )
        stamps = pd.to_datetime(frame["ts_et"], utc=True, format="ISO8601")
        ts = pd.DatetimeIndex(stamps).as_unit("ns").asi8
        out.append(_checked(ts, *(frame[k].to_numpy() for k in VALUES)))
    return out


def read_csv_module(paths) -> list[dict]:
    """The source with every block through its csv-module path."""
    import rsengine_csv.split as split

    by_arrow = split._by_arrow
    split._by_arrow = lambda *args: None
    try:
        return read_source(paths)
    finally:
        split._by_arrow = by_arrow


def _same(got, want) -> bool:
    return all(
        np.array_equal(g[k], w[k]) for g, w in zip(got, want, strict=True) for k in ("ts", *VALUES)
    )


def bench_csv_read(quick: bool, emit) -> None:
    paths = _files(quick)
    if not paths:
        print("note: csv_read benchmark skipped, no databento-micro-5m data")
        return
    readers = {
        "source": read_source,
        "pyarrow": read_pyarrow,
        "pandas": read_pandas,
        "csv_module": read_csv_module,
    }
    first = {name: fn(paths) for name, fn in readers.items()}
    if not all(_same(result, first["pandas"]) for result in first.values()):
        raise AssertionError("the readers disagree on the benchmark's files")
    rows = sum(len(f["ts"]) for f in first["source"])
    best = dict.fromkeys(readers, float("inf"))
    for _ in range(1 if quick else 3):
        for name, fn in readers.items():
            start = time.perf_counter()
            fn(paths)
            best[name] = min(best[name], time.perf_counter() - start)
    what = f"rows/s ({rows:,} rows, {len(paths)} .csv.gz, one thread"
    speed = {name: rows / t for name, t in best.items()}
    emit(
        "csv_read_source_vs_pyarrow", speed["source"], f"{what}; vs pyarrow.csv)", speed["pyarrow"]
    )
    emit("csv_read_source_vs_pandas", speed["source"], f"{what}; vs pandas)", speed["pandas"])
    emit(
        "csv_read_csv_module_path_vs_source",
        speed["csv_module"],
        f"{what}; the csv-module path vs the source)",
        speed["source"],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one file (MES) instead of three")
    args = parser.parse_args(argv)
    bench_csv_read(args.quick, emit)


if __name__ == "__main__":
    main()
