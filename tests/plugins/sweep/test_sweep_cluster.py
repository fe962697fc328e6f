"""``rsengine sweep`` on a real dask cluster: a LocalCluster of two worker
processes started here, reached by its scheduler address as any existing
cluster would be. Each point's row is checked against a run of the same
config and overrides made here, one after another, with the engine alone."""

import csv
import itertools
import json
import os
import textwrap

import attrs
import pytest

distributed = pytest.importorskip("distributed")

from rsengine.app.cli import main  # noqa: E402
from rsengine.config import load_config  # noqa: E402
from rsengine.host.runner import build_engine  # noqa: E402

FAST = ["--set", "sources.sim.days=2", "--set", "sources.sim.warmup=0"]
SEEDS, BUDGETS = [3, 11], [1500, 4000]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


class Signals:
    """An output keeping every signal (with on_batch: the batch path)."""

    def __init__(self):
        self.signals = []

    def on_batch(self, batch, values):
        pass

    def on_signal(self, signal):
        self.signals.append(signal)

    def close(self, summary):
        pass


def serial_run(config, overrides):
    """The point run here, outputs left out: its summary and signals."""
    config = attrs.evolve(load_config(config, overrides=overrides), outputs={})
    engine = build_engine(config)
    kept = Signals()
    engine.outputs.append(("test", "test", kept))
    return engine.run(), kept.signals


def write_grid(tmp_path, text):
    path = tmp_path / "grid.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def read_rows(out):
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_row(row, summary, signals):
    """A results row against the summary and signals of a serial run."""
    assert row["status"] == "ok"
    assert int(row["bars"]) == summary.bars
    assert int(row["slices"]) == summary.slices
    assert int(row["sessions"]) == summary.sessions
    assert int(row["signals"]) == summary.signals == len(signals)
    names = {k.removeprefix("signals."): int(v) for k, v in row.items() if k.startswith("signals.")}
    by_name = {n: sum(s.name == n for s in signals) for n in {s.name for s in signals}}
    assert {n: c for n, c in names.items() if c} == by_name == summary.signals_by_name
    for group, figures in summary.metrics.items():  # trades, premarket_read
        for key, value in figures.items():
            assert row[f"{group}.{key}"] == ("" if value is None else str(value))
    exits = [s.details["pnl_usd"] for s in signals if s.kind == "exit"]
    assert float(row["exits.pnl_usd"]) == pytest.approx(sum(exits), abs=0.005)
    assert int(row["exits.won"]) == sum(p > 0 for p in exits)


def expected_core():
    no_ext = os.environ.get("RSENGINE_NO_EXTENSIONS", "").strip().lower()
    return "pure" if no_ext not in ("", "0", "false", "no") else "compiled"


def test_every_worker_runs_the_core_the_parent_chose(client):
    from rsengine_sweep.point import worker_facts

    facts = client.run(worker_facts)
    assert len(facts) == 2
    assert len({f["pid"] for f in facts.values()} | {os.getpid()}) == 3  # processes
    for fact in facts.values():
        assert fact["core"] == expected_core()
        assert fact["RSENGINE_NO_EXTENSIONS"] == os.environ.get("RSENGINE_NO_EXTENSIONS", "")


def test_a_sweep_equals_the_same_points_run_serially(cluster, tmp_path, capsys):
    grid = write_grid(
        tmp_path,
        f"""
        grid:
          sources.sim.seed: {SEEDS}
          risk.budget: {BUDGETS}
        """,
    )
    out = tmp_path / "out"
    args = ["sweep", "--grid", grid, "--scheduler", cluster.scheduler_address, "--out", str(out)]
    assert main([*args, "--record", *FAST]) == 0
    captured = capsys.readouterr()
    assert "sweep: 4/4 points done" in captured.err
    assert "4 of 4 points ok" in captured.out
    rows = read_rows(out)
    points = list(itertools.product(SEEDS, BUDGETS))  # the last key varies fastest
    assert [(int(r["point"]), int(r["sources.sim.seed"]), int(r["risk.budget"])) for r in rows] == [
        (i, seed, budget) for i, (seed, budget) in enumerate(points)
    ]
    for row, (seed, budget) in zip(rows, points, strict=True):
        overrides = [FAST[1], FAST[3], f"sources.sim.seed={seed}", f"risk.budget={budget}"]
        summary, signals = serial_run(None, overrides)
        check_row(row, summary, signals)
        assert row["core"] == expected_core()
        # --record: the config's record output, in a folder of the point's own
        journal = out / "records" / f"point-{int(row['point']):04d}" / "signals.jsonl"
        ids = [json.loads(line)["id"] for line in journal.read_text().splitlines()]
        assert ids == [s.id for s in signals]
    assert (out / "report.md").read_text().startswith("# Sweep of the built-in demo over ")

    # the same points in this process: the same bytes
    serial = tmp_path / "serial"
    assert main(["sweep", "--grid", grid, "--serial", "--out", str(serial), *FAST]) == 0
    assert (serial / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    if (out / "results.parquet").exists():
        import pyarrow.parquet as pq

        table = pq.read_table(out / "results.parquet").to_pylist()
        assert [t["bars"] for t in table] == [int(r["bars"]) for r in rows]
        assert [t["exits.pnl_usd"] for t in table] == [float(r["exits.pnl_usd"]) for r in rows]


def test_a_failing_point_is_reported_and_the_others_finish(cluster, tmp_path, capsys):
    # the config takes any warmup; the sim source refuses a negative one when built
    grid = write_grid(tmp_path, "grid:\n  sources.sim.warmup: [0, -1]\n  sources.sim.seed: [5]\n")
    out = tmp_path / "out"
    args = ["sweep", "--grid", grid, "--scheduler", cluster.scheduler_address, "--out", str(out)]
    assert main([*args, "--set", "sources.sim.days=2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "point 1 (sources.sim.warmup=-1, sources.sim.seed=5) failed:" in err
    assert "warmup -1 must be >= 0 sessions" in err
    ok, failed = read_rows(out)
    check_row(ok, *serial_run(None, ["sources.sim.days=2", "sources.sim.warmup=0",
                                     "sources.sim.seed=5"]))  # fmt: skip
    assert failed["status"] == "failed" and "warmup -1 must be >= 0" in failed["error"]
    assert failed["bars"] == failed["signals"] == failed["signals.alignment"] == ""
    report = (out / "report.md").read_text()
    assert "2 points, 1 ok, 1 failed" in report
    assert "- point 1 (sources.sim.warmup=-1, sources.sim.seed=5): " in report


def test_a_grid_mistake_stops_before_any_point_runs(tmp_path, capsys):
    grid = write_grid(tmp_path, "grid:\n  risk.budgit: [1, 2]\n")
    assert main(["sweep", "--grid", grid, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"rsengine: {grid}:2:3: grid.risk.budgit: unknown key 'budgit' in risk; "
        "did you mean 'budget'?\n"
    )
    assert not (tmp_path / "out").exists()


def test_the_default_local_cluster(tmp_path):
    grid = write_grid(tmp_path, "grid:\n  sources.sim.seed: [2, 9]\n")
    out = tmp_path / "out"
    assert main(["sweep", "--grid", grid, "--workers", "2", "--out", str(out), *FAST]) == 0
    for row, seed in zip(read_rows(out), (2, 9), strict=True):
        check_row(row, *serial_run(None, [FAST[1], FAST[3], f"sources.sim.seed={seed}"]))


@pytest.mark.realdata
def test_monthly_shards_of_real_data_equal_windowed_runs(cluster, shared_data, tmp_path):
    folder = shared_data / "databento-micro-5m"
    files = {root: next(folder.glob(f"{root}_c0_5m_*.csv.gz")) for root in ("MES", "MNQ")}
    config = tmp_path / "micros.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            group: [ES, NQ]
            instruments: {{MES: {{as: ES}}, MNQ: {{as: NQ}}}}
            sources:
              csv:
                instruments:
                  MES: {{files: {files["MES"]}, layout: databento_micro_5m, bar: 5min}}
                  MNQ: {{files: {files["MNQ"]}, layout: databento_micro_5m, bar: 5min}}
            indicators: {{rs: {{}}, measures: {{}}, group: {{}}}}
            setups: {{context: {{}}}}
            """
        )
    )
    grid = write_grid(tmp_path, "shards: {every: month, from: 2024-02-12, to: 2024-03-08}\n")
    out = tmp_path / "out"
    args = ["sweep", str(config), "--grid", grid, "--scheduler", cluster.scheduler_address]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    rows = read_rows(out)
    windows = [("2024-02-12", "2024-02-29"), ("2024-03-01", "2024-03-08")]
    assert [(r["start"], r["end"]) for r in rows] == windows
    for row, (start, end) in zip(rows, windows, strict=True):
        summary, signals = serial_run(config, [f"sources.csv.start={start}",
                                               f"sources.csv.end={end}"])  # fmt: skip
        assert summary.bars > 0
        check_row(row, summary, signals)
