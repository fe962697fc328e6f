"""The grid file: its points in order, its shards, and every mistake at its
line and key."""

import datetime as dt
import itertools
import textwrap
from pathlib import Path

import pytest
import yaml
from rsengine_sweep.grid import calendar_windows, check_points, read_grid, resolve, yaml_text

from rsengine.config import ConfigError

D = dt.date


def write(tmp_path, text: str, name="grid.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def config_with_csv(tmp_path, start="2024-01-10", end="2024-03-05"):
    """A config (never run here) with one csv source and its window."""
    return write(
        tmp_path,
        f"""
        group: [ES]
        instruments: {{ES: {{}}}}
        sources:
          csv: {{start: {start}, end: {end}, instruments: {{ES: {{files: es.csv}}}}}}
        """,
        "config.yaml",
    )


def problems(path, config=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        grid = resolve(read_grid(path), config)
        check_points(grid, config, grid.points())
    return [str(e) for e in info.value.errors]


def test_points_are_the_product_in_file_order_last_key_fastest(tmp_path):
    path = write(
        tmp_path,
        """
        grid:
          sources.sim.seed: [1, 2, 3]
          risk.budget: [1000, 2500.5]
          run.mode: [replay]
        """,
    )
    points = read_grid(path).points()
    expected = list(itertools.product([1, 2, 3], [1000, 2500.5], ["replay"]))
    assert [tuple(v for _, v in p.params) for p in points] == expected
    assert [p.index for p in points] == list(range(6))
    assert points[1].overrides == ("sources.sim.seed=1", "risk.budget=2500.5", "run.mode=replay")
    assert points[1].describe() == "sources.sim.seed=1, risk.budget=2500.5, run.mode=replay"


@pytest.mark.parametrize(
    "value",
    [1, 2.5, "5min", "yes", "on", True, None, D(2024, 1, 2), [1, "a"], {"a": [1, 2]}, "a: b"],
)
def test_an_override_reads_back_the_grid_value(value):
    assert yaml.safe_load(yaml_text(value)) == value


def test_monthly_shards_take_the_window_from_the_source(tmp_path):
    config = config_with_csv(tmp_path)
    grid = resolve(read_grid(write(tmp_path, "shards: monthly\n")), config)
    assert grid.shard_source == "csv"
    assert grid.windows == (
        (D(2024, 1, 10), D(2024, 1, 31)),
        (D(2024, 2, 1), D(2024, 2, 29)),
        (D(2024, 3, 1), D(2024, 3, 5)),
    )
    first = grid.points()[0]
    assert first.params == (("start", D(2024, 1, 10)), ("end", D(2024, 1, 31)))
    assert first.overrides == ("sources.csv.start=2024-01-10", "sources.csv.end=2024-01-31")


def test_shards_vary_fastest_and_from_to_win_over_the_source(tmp_path):
    config = config_with_csv(tmp_path)
    path = write(
        tmp_path,
        """
        grid: {risk.budget: [1000, 2000]}
        shards: {source: csv, every: quarter, from: 2023-11-15, to: 2024-04-01}
        """,
    )
    points = resolve(read_grid(path), config).points()
    shards = [(D(2023, 11, 15), D(2023, 12, 31)), (D(2024, 1, 1), D(2024, 3, 31))]
    shards.append((D(2024, 4, 1), D(2024, 4, 1)))
    expected = [(b, *w) for b in (1000, 2000) for w in shards]
    assert [tuple(v for _, v in p.params) for p in points] == expected


def test_windows_are_taken_as_given(tmp_path):
    path = write(
        tmp_path,
        """
        shards:
          windows:
            - {start: 2024-05-06, end: 2024-05-10}
            - {start: 2024-01-02, end: 2024-01-02}
        """,
    )
    grid = resolve(read_grid(path), config_with_csv(tmp_path))
    assert grid.windows == ((D(2024, 5, 6), D(2024, 5, 10)), (D(2024, 1, 2), D(2024, 1, 2)))


@pytest.mark.parametrize(
    "every, first, last, expected",
    [
        ("week", D(2024, 2, 28), D(2024, 3, 12), [(D(2024, 2, 28), D(2024, 3, 3)),
                                                  (D(2024, 3, 4), D(2024, 3, 10)),
                                                  (D(2024, 3, 11), D(2024, 3, 12))]),
        ("month", D(2023, 12, 31), D(2024, 1, 1), [(D(2023, 12, 31), D(2023, 12, 31)),
                                                   (D(2024, 1, 1), D(2024, 1, 1))]),
        ("quarter", D(2024, 9, 30), D(2024, 12, 31), [(D(2024, 9, 30), D(2024, 9, 30)),
                                                      (D(2024, 10, 1), D(2024, 12, 31))]),
        ("year", D(2023, 6, 1), D(2025, 2, 1), [(D(2023, 6, 1), D(2023, 12, 31)),
                                                (D(2024, 1, 1), D(2024, 12, 31)),
                                                (D(2025, 1, 1), D(2025, 2, 1))]),
    ],
)  # fmt: skip
def test_calendar_windows(every, first, last, expected):
    assert calendar_windows(every, first, last) == expected


def test_grid_mistakes_each_at_their_line(tmp_path):
    path = write(
        tmp_path,
        """
        grid:
          risk.budget: 2000
          sources.sim.seed: []
          risk.max_trades: [1, 1]
          "run..mode": [replay]
        shard: {every: month}
        """,
    )
    f = str(path)
    assert problems(path) == [
        f"{f}:2:16: grid.risk.budget: expected a non-empty list of values, e.g. [1, 2]",
        f"{f}:3:21: grid.sources.sim.seed: expected a non-empty list of values, e.g. [1, 2]",
        f"{f}:4:20: grid.risk.max_trades: a value is given twice: each point must differ",
        f"{f}:5:3: grid.run..mode: expected a dotted config key, e.g. sources.sim.seed",
        f"{f}:6:1: shard: unknown key 'shard' (expected grid and/or shards); "
        "did you mean 'shards'?",
    ]


def test_a_duplicate_key_and_a_syntax_error(tmp_path):
    dup = write(tmp_path, "grid:\n  risk.budget: [1]\n  risk.budget: [2]\n")
    assert problems(dup) == [
        f"{dup}:3:3: grid.risk.budget: duplicate key 'risk.budget' (first given at line 2); "
        "YAML would silently keep only the last one"
    ]
    broken = write(tmp_path, "grid: [\n", "broken.yaml")
    assert problems(broken)[0].startswith(f"{broken}:2:1: YAML syntax error:")
    assert problems(tmp_path / "missing.yaml") == [
        f"{tmp_path / 'missing.yaml'}: grid file not found"
    ]
    empty = write(tmp_path, "", "empty.yaml")
    assert problems(empty) == [
        f"{empty}: expected a mapping with grid and/or shards, e.g. grid: {{risk.budget: "
        "[1000, 2000]}"
    ]


def test_a_key_or_value_the_config_refuses_is_shown_at_the_grid_key(tmp_path):
    path = write(
        tmp_path,
        """
        grid:
          sources.sim.seed: [1]
          risk.budgit: [1000, 2000]
          run.mode: [replay, fast]
        """,
    )
    f = str(path)
    assert problems(path) == [
        f"{f}:3:3: grid.risk.budgit: unknown key 'budgit' in risk; did you mean 'budget'?",
        f"{f}:4:3: grid.run.mode: 'fast' is not one of replay, paced, live",
    ]


def test_shard_mistakes(tmp_path):
    config = config_with_csv(tmp_path)
    # the grid text, the text the error points at (line 1 unless it says), the error
    cases = [
        ("shards: {every: montly}", "montly", "shards.every: expected one of week, month, "
         "quarter, year, got 'montly'; did you mean 'month'?"),
        ("shards: {every: month, windows: []}", "{", "shards: expected either every (with "
         "from/to) or windows"),
        ("shards: {every: month, from: 2024-03-01, to: 2024-02-01}", "2024-02-01",
         "shards.to: 2024-02-01 is before from (2024-03-01)"),
        ("shards: {every: month, from: March}", "March", "shards.from: expected a date "
         "YYYY-MM-DD, got 'March'"),
        ("shards: {every: month, sorce: csv}", "sorce", "shards.sorce: unknown key 'sorce' "
         "(expected one of source, every, from, to, windows); did you mean 'source'?"),
        ("shards: {windows: [{start: 2024-01-05}]}", "{start", "shards.windows[0]: expected "
         "{start: DATE, end: DATE}"),
        ("shards: {source: cvs, every: month}", "shards", "shards.source: the config has no "
         "source 'cvs' (it has csv); did you mean 'csv'?"),
        ("grid: {sources.csv.start: [2024-01-01]}\nshards: month", "sources",
         "grid.sources.csv.start: the shards set this key"),
    ]  # fmt: skip
    for text, token, message in cases:
        path = write(tmp_path, text + "\n")
        assert problems(path, config) == [f"{path}:1:{text.index(token) + 1}: {message}"], text


def test_shards_need_a_window_to_cut(tmp_path):
    path = write(tmp_path, "shards: month\n")
    config = config_with_csv(tmp_path).read_text().replace("start: 2024-01-10, ", "")
    (tmp_path / "open.yaml").write_text(config)
    assert problems(path, tmp_path / "open.yaml") == [
        f"{path}:1:1: shards.from: give from: source 'csv' has no start setting to take it from"
    ]
    two = config.replace("sources:", "sources:\n  sim: {}")
    (tmp_path / "two.yaml").write_text(two)
    assert problems(path, tmp_path / "two.yaml") == [
        f"{path}:1:1: shards.source: the config has sources sim, csv: name the one to shard"
    ]


def test_the_example_grids(tmp_path):
    configs = Path(__file__).resolve().parents[3] / "configs"
    demo = read_grid(configs / "sweep-demo-grid.yaml")
    points = demo.points()
    check_points(demo, None, points)
    assert len(points) == 3 * 2 * 2
    assert points[-1].overrides == ("sources.sim.seed=9", "risk.budget=4000", "risk.max_trades=3")
    monthly = resolve(
        read_grid(configs / "sweep-micros-monthly.yaml"), configs / "replay-micros.yaml"
    )
    assert monthly.windows == tuple(
        (D(2024, m, 1), D(2024 + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1))
        for m in range(1, 13)
    )
