"""rsengine benchmarks: one JSON line per measurement, each against a baseline
measured in the same run.

    python bench/run.py            # full sizes (a few minutes)
    python bench/run.py --quick    # small sizes, well under a minute

Fields: name, value, unit, baseline (the baseline's value in the same unit),
ratio (value / baseline, so above 1 means rsengine is ahead, except for sizes,
where it is the share of the budget used; for times, in ms or us, it is
baseline / value, so above 1 still means ahead). Not a test: nothing here
passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

import numpy as np
import pandas as pd

from rsengine.core import USING_EXTENSION, BarAggregator, BarRing, RollingCorr
from rsengine.core.pure.aggregate import BarAggregator as PureAggregator
from rsengine.core.pure.ring import BarRing as PureRing
from rsengine.core.pure.ring import RollingCorr as PureCorr
from rsengine.exchange.sessions import load_schedule, segments

MINUTE = 60 * 10**9


def emit(name, value, unit, baseline, ratio=None):
    if ratio is None:
        ratio = value / baseline
    line = {"name": name, "value": round(value, 3), "unit": unit, "baseline": round(baseline, 3)}
    line["ratio"] = round(ratio, 3)
    print(json.dumps(line), flush=True)


def best_of(repeats, fn):
    """Least wall time of a few runs, and the last run's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def synthetic_trades(n: int, seed: int = 1):
    """n trades spread over the sessions of 2024-03-05..08, on the 0.25 tick grid."""
    sched = load_schedule(dt.date(2024, 3, 5), dt.date(2024, 3, 8))
    rng = np.random.default_rng(seed)
    per = np.full(len(sched), n // len(sched))
    per[: n % len(sched)] += 1
    ts = np.concatenate(
        [
            np.sort(rng.integers(sched.open_ns[i], sched.close_ns[i], per[i]))
            for i in range(len(sched))
        ]
    )
    price = 5000 + 0.25 * np.cumsum(rng.integers(-1, 2, n))
    size = rng.integers(1, 20, n).astype(np.float64)
    return ts, price.astype(np.float64), size


def pandas_minute_bars(ts, price, size):
    frame = pd.DataFrame(
        {"price": price, "size": size, "pv": price * size},
        index=pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
    )
    grouped = frame.resample("1min", closed="left", label="left")
    out = grouped["price"].ohlc()
    out["volume"] = grouped["size"].sum()
    out["trades"] = grouped["price"].count()
    out["vwap"] = grouped["pv"].sum() / out["volume"]
    return out[out["trades"] > 0]


def python_minute_bars(ts, price, size):
    """The loop a user would write by hand: a dict of minute buckets."""
    bars = {}
    for t, p, s in zip(ts.tolist(), price.tolist(), size.tolist(), strict=True):
        key = t - t % MINUTE
        bar = bars.get(key)
        if bar is None:
            bars[key] = [p, p, p, p, s, p * s, 1]
        else:
            if p > bar[1]:
                bar[1] = p
            if p < bar[2]:
                bar[2] = p
            bar[3] = p
            bar[4] += s
            bar[5] += p * s
            bar[6] += 1
    return bars


def bench_aggregation(n, repeats):
    ts, price, size = synthetic_trades(n)
    per_s = f"trades/s ({n:,} trades)"
    # The calendar is read once, outside the clock, as a running engine does.
    seg = segments(load_schedule(dt.date(2024, 3, 5), dt.date(2024, 3, 8)), MINUTE)

    def array_api():
        bars = BarAggregator(MINUTE, *seg)
        return len(bars.update_many(ts, price, size)) + len(bars.finish())

    t_core, n_core = best_of(repeats, array_api)
    t_pandas, want = best_of(repeats, lambda: pandas_minute_bars(ts, price, size))
    assert n_core == len(want), (n_core, len(want))
    emit("trades_to_1min.array_api_vs_pandas", n / t_core, per_s, n / t_pandas)

    t_python, _ = best_of(1, lambda: python_minute_bars(ts, price, size))
    emit("trades_to_1min.array_api_vs_python_loop", n / t_core, per_s, n / t_python)

    ts_list, price_list, size_list = ts.tolist(), price.tolist(), size.tolist()

    def single_api():
        bars = BarAggregator(MINUTE, *seg)
        update = bars.update
        start = time.perf_counter()
        for t, p, s in zip(ts_list, price_list, size_list, strict=True):
            update(t, p, s)
        elapsed = time.perf_counter() - start
        bars.drain()
        return elapsed

    t_single = min(single_api() for _ in range(repeats))
    emit("trades_to_1min.single_trade_api_vs_python_loop", n / t_single, per_s, n / t_python)

    # the pure-Python twin on a slice (it is the reference, not the fast path)
    m = min(n, 500_000)
    t_pure, _ = best_of(
        1, lambda: PureAggregator(MINUTE, *seg).update_many(ts[:m], price[:m], size[:m])
    )
    emit("trades_to_1min.array_api_vs_pure_core", n / t_core, per_s, m / t_pure)


def bench_rings(n_bars, n_instruments, repeats):
    rng = np.random.default_rng(2)
    close = 5000 * np.exp(np.cumsum(rng.normal(0, 1e-3, (n_instruments, n_bars)), axis=1))
    returns = np.diff(np.log(close), axis=1, prepend=np.log(close[:, :1]))
    ts = np.arange(n_bars, dtype=np.int64) * MINUTE
    window = 1380  # one Globex session of 1-minute bars

    def ring_and_corr(ring_cls=BarRing, corr_cls=RollingCorr):
        rings = [ring_cls(n_bars) for _ in range(n_instruments)]
        corrs = [corr_cls(window) for _ in range(n_instruments - 1)]
        for j in range(n_bars):
            t = int(ts[j])
            for k in range(n_instruments):
                c = float(close[k, j])
                rings[k].append(t, t + MINUTE, c, c, c, c, 1.0, c, 1, 0)
            base = float(returns[0, j])
            for k in range(1, n_instruments):
                corrs[k - 1].update(base, float(returns[k, j]))
        return rings

    t_core, rings = best_of(repeats, ring_and_corr)

    def pandas_corr():
        frame = pd.DataFrame(returns.T)
        return [frame[0].rolling(window).corr(frame[k]) for k in range(1, n_instruments)]

    t_pandas, _ = best_of(repeats, pandas_corr)
    t_pure, _ = best_of(1, lambda: ring_and_corr(PureRing, PureCorr))
    total = n_bars * n_instruments
    unit = f"bars/s ({n_bars:,} bars x {n_instruments})"
    emit("ring_append_plus_corr_per_bar_vs_pure_core", total / t_core, unit, total / t_pure)
    # pandas computes the whole correlation column at once: the vectorised bound
    emit(
        "ring_append_plus_corr_per_bar_vs_pandas_rolling_corr",
        total / t_core,
        unit,
        total / t_pandas,
    )
    megabytes = sum(r.nbytes for r in rings) / 1e6
    budget = 100.0 * n_bars * n_instruments / 800_000
    emit(f"ring_memory_{n_bars}_bars_x{n_instruments}", megabytes, "MB", budget)


def bench_replay(quick: bool):
    """configs/replay-micros.yaml end to end (csv -> bars -> slices -> every
    measure and context signal -> record in its default format, Parquet)."""
    import os
    import tempfile
    from pathlib import Path

    from rsengine.config import load_config
    from rsengine.host.runner import build_engine

    root = Path(__file__).resolve().parents[1]
    data = Path(os.environ.get("RSENGINE_DATA_DIR", root.parent / "shared" / "data"))
    files = sorted((data / "databento-micro-5m").glob("*_c0_5m_*.csv.gz"))
    if len(files) != 3:
        print(f"note: replay benchmark skipped, no data in {data}", file=sys.stderr)
        return
    window = ["sources.csv.start=2024-02-26", "sources.csv.end=2024-03-22"] if quick else []
    with tempfile.TemporaryDirectory() as out:
        config = load_config(
            root / "configs" / "replay-micros.yaml",
            overrides=[*window, f"outputs.record.dir={out}"],
            env={"RSENGINE_DATA_DIR": str(data)},
        )
        start = time.perf_counter()
        summary = build_engine(config).run()
        t_engine = time.perf_counter() - start

    def pandas_read():
        for path in files:
            frame = pd.read_csv(path)
            frame["ts"] = pd.to_datetime(frame["ts_et"], utc=True)

    t_read, _ = best_of(1, pandas_read)
    bars = summary.bars
    label = f"bars/s ({summary.sessions} sessions, {bars:,} bars, all measures, recorded)"
    # baseline: the same bars over the time pandas takes merely to read the files,
    # so the ratio is pandas' read time over the engine's whole run
    emit("replay_micros_end_to_end_vs_pandas_read", bars / t_engine, label, bars / t_read)


class _NoOpSetup:
    """What docs/plugins.md shows first: a setup with only ``evaluate``."""

    def __init__(self, settings, context):
        pass

    def evaluate(self, slice, state):
        return []


class _NoOpPlugin:
    from rsengine import hookimpl

    @hookimpl
    def rsengine_register_setups(self, registry):
        registry.add("noop", _NoOpSetup, "a slice-at-a-time setup that finds nothing")


class _MicrosReplay:
    """configs/replay-micros.yaml without its output (the figures are the
    analytics, not the CSV writer), run from a tree and timed."""

    def __init__(self, quick: bool, what: str):
        import os
        from pathlib import Path

        import yaml

        self.root = Path(__file__).resolve().parents[1]
        self.data = Path(os.environ.get("RSENGINE_DATA_DIR", self.root.parent / "shared" / "data"))
        self.ok = (self.data / "databento-micro-5m").is_dir()
        if not self.ok:
            print(f"note: {what} benchmark skipped, no data in {self.data}", file=sys.stderr)
            return
        tree = yaml.safe_load((self.root / "configs" / "replay-micros.yaml").read_text())
        tree["outputs"] = {}
        if quick:
            tree["sources"]["csv"].update(start="2024-02-26", end="2024-03-22")
        self.tree = tree

    def run(self, tree, plugins=()):
        from rsengine.config import Config
        from rsengine.host.runner import build_engine, plugin_manager_for

        config = Config.from_dict(
            tree, env={"RSENGINE_DATA_DIR": str(self.data)}, base_dir=self.root / "configs"
        )
        pm = plugin_manager_for(config)
        for plugin in plugins:
            pm.register(plugin, name=type(plugin).__name__)
        engine = build_engine(config, pm=pm)
        start = time.perf_counter()
        summary = engine.run()
        return summary, time.perf_counter() - start

    def best_of_pairs(self, repeats, base, other):
        """Best times of ``base`` and ``other`` (thunks), run alternately so a
        busy moment hits both alike."""
        runs = [(base(), other()) for _ in range(repeats)]
        return min((r[0] for r in runs), key=lambda r: r[1]), min(
            (r[1] for r in runs), key=lambda r: r[1]
        )


def bench_analytics(quick: bool):
    """All 5-minute micros sessions with every measure, regime and context signal,
    against the same replay with only ``rs``."""
    replay = _MicrosReplay(quick, "analytics")
    if not replay.ok:
        return
    tree = replay.tree
    rs_only = {**tree, "indicators": {"rs": {}}, "setups": {}}
    # rs-only first: it also builds the exchange calendar's years, which the
    # process caches, so neither figure includes that one-off start-up cost.
    (base, t_base), (full, t_full) = replay.best_of_pairs(
        1 if quick else 3, lambda: replay.run(rs_only), lambda: replay.run(tree)
    )
    names = ", ".join([*tree["indicators"], *tree.get("setups", {})])
    label = f"bars/s ({full.sessions} sessions, {full.bars:,} bars; {names})"
    emit("replay_micros_all_measures_vs_rs_only", full.bars / t_full, label, base.bars / t_base)


def bench_per_slice_plugin(quick: bool):
    """The same analytics replay with a no-op slice-at-a-time setup beside the
    built-ins, against the replay without it (target: ratio 0.8 or more)."""
    replay = _MicrosReplay(quick, "per-slice")
    if not replay.ok:
        return
    tree = replay.tree
    with_noop = {**tree, "setups": {**tree.get("setups", {}), "noop": {}}}
    (base, t_base), (mixed, t_mixed) = replay.best_of_pairs(
        1 if quick else 3, lambda: replay.run(tree), lambda: replay.run(with_noop, [_NoOpPlugin()])
    )
    label = f"bars/s ({mixed.bars:,} bars, every measure + a no-op evaluate() setup; target 0.8)"
    emit("replay_with_per_slice_setup_vs_without", mixed.bars / t_mixed, label, base.bars / t_base)


TRADE_SETUPS = ("strength_rider", "divergence_fade", "laggard_catchup")  # DOMAIN.md §6


def bench_trade_setups(quick: bool):
    """The analytics replay with the trade setups added, against the same replay
    without them (target: they cost less than 25 % on top, ratio 0.8 or more)."""
    replay = _MicrosReplay(quick, "trade setups")
    if not replay.ok:
        return
    tree = replay.tree
    trades = {**tree, "setups": {**tree.get("setups", {}), **{n: {} for n in TRADE_SETUPS}}}
    (base, t_base), (full, t_full) = replay.best_of_pairs(
        1 if quick else 3, lambda: replay.run(tree), lambda: replay.run(trades)
    )
    label = f"bars/s ({full.bars:,} bars, every measure + context + {', '.join(TRADE_SETUPS)})"
    emit("replay_with_trade_setups_vs_analytics", full.bars / t_full, label, base.bars / t_base)


def bench_delivery(quick: bool):
    """Issue 11's outputs: signal -> OIF file renamed into ``incoming/`` (target
    p99 under 5 ms), signal -> loopback webhook received, and the demo replay
    with a 2-s webhook endpoint against no output (target: ratio 0.9 or more).
    Imported here: both modules import ``emit`` from this one."""
    from bench_ninjatrader import bench_oif_latency
    from bench_webhook import bench_webhook

    bench_oif_latency(quick)
    bench_webhook(quick, emit)


def bench_evaluation(quick: bool):
    """Issue 12: ``rsengine evaluate`` with 1,000 baseline draws and 1,000
    bootstrap resamples against the plain replay (target: under 3 times)."""
    from bench_evaluate import bench_evaluate

    bench_evaluate(quick, emit)


def bench_live_feed(quick: bool):
    """Issue 13: on the loopback TWS, tick arrival -> bar close -> signal -> OIF
    renamed into ``incoming/`` (target p99 under 10 ms beyond the bar's grace,
    against 194 ms for a commercial file bridge)."""
    from bench_live import bench_live

    bench_live(quick, emit)


def bench_narrow_replay(quick: bool):
    """Issue 14: a one-month replay against the full one (target at most 0.1
    of its time) and their peak RSS (keep it flat)."""
    from bench_narrow import bench_narrow

    bench_narrow(quick, emit)


def bench_recording(quick: bool):
    """Issue 14: the replay with Parquet recording (target 0.8) and with CSV
    recording (target 0.5) against no recording."""
    from bench_record import bench_record

    bench_record(quick, emit)


def bench_csv_reading(quick: bool):
    """Issue 14: the csv source's reading of the micros files against
    pyarrow.csv and pandas producing the same arrays."""
    from bench_csv_read import bench_csv_read

    bench_csv_read(quick, emit)


def bench_sweeps(quick: bool):
    """Issue 14: a sweep of 8 points on 2 workers against the 8 run serially."""
    from bench_sweep import bench_sweep

    bench_sweep(quick, emit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args(argv)
    from rsengine.app.logs import configure_logging

    configure_logging("warning")  # as the CLI runs by default: info lines are not printed
    if not USING_EXTENSION:
        print(
            "note: the compiled core is not active; figures are for the pure twin", file=sys.stderr
        )
    if args.quick:
        bench_aggregation(200_000, repeats=1)
        bench_rings(10_000, 8, repeats=1)
        bench_replay(quick=True)
        bench_analytics(quick=True)
        bench_per_slice_plugin(quick=True)
        bench_trade_setups(quick=True)
        bench_delivery(quick=True)
        bench_evaluation(quick=True)
        bench_live_feed(quick=True)
        bench_narrow_replay(quick=True)
        bench_csv_reading(quick=True)
        bench_recording(quick=True)
        bench_sweeps(quick=True)
    else:
        bench_aggregation(5_000_000, repeats=3)
        bench_rings(100_000, 8, repeats=1)
        bench_replay(quick=False)
        bench_analytics(quick=False)
        bench_per_slice_plugin(quick=False)
        bench_trade_setups(quick=False)
        bench_delivery(quick=False)
        bench_evaluation(quick=False)
        bench_live_feed(quick=False)
        bench_narrow_replay(quick=False)
        bench_csv_reading(quick=False)
        bench_recording(quick=False)
        bench_sweeps(quick=False)


if __name__ == "__main__":
    main()
