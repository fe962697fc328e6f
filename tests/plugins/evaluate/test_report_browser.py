"""The HTML report of ``rsengine evaluate`` on the built-in demo, opened in a
real headless Chromium (Debian's /usr/bin/chromium, driven by playwright):
no console errors, nothing fetched from the network, and every chart holds
the numbers its table reports (read back from the plotly figures in the page),
the tables holding those of evaluation.json."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from conftest import chromium_launcher, watched_tab

from rsengine.app.cli import main

FAST = ["--draws", "40", "--resamples", "40", "--no-progress"]
LOCAL = ("file:", "data:", "about:", "blob:")

READ_FIGURES = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => [d.id, {
    data: d.data.map(t => ({
      type: t.type, name: t.name, meta: t.meta ?? null,
      x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
      z: t.z ? Array.from(t.z, row => Array.from(row)) : null,
      customdata: t.customdata ? Array.from(t.customdata) : null,
      error_y: t.error_y ? {array: Array.from(t.error_y.array || []),
                            arrayminus: Array.from(t.error_y.arrayminus || [])} : null,
    })),
    shapes: (d.layout.shapes || []).map(s => ({name: s.name ?? null, x0: s.x0, x1: s.x1})),
  }]))"""

READ_TABLES = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('table')).map(t => [t.id,
    Array.from(t.tBodies[0].rows, r => Array.from(r.cells,
      c => c.dataset.value !== undefined ? c.dataset.value : c.textContent))]))"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    path = root / "elsewhere" / "demo-report.html"
    assert main(["evaluate", *FAST, "--out", str(root / "out"), "--report", str(path)]) == 0
    assert not (root / "out" / "report.html").exists()  # --report replaces the default
    return path, json.loads((root / "out" / "evaluation.json").read_text())


@pytest.fixture(scope="module")
def launcher():
    return chromium_launcher()


@pytest.fixture(scope="module")
def page(launcher, report):  # the launcher first: no evaluation when there is no browser
    sync_playwright = launcher
    path, _ = report
    with watched_tab(sync_playwright, LOCAL) as (tab, problems):
        tab.goto(path.as_uri(), wait_until="load")
        tab.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 8")
        figures = tab.evaluate(READ_FIGURES)
        tables = tab.evaluate(READ_TABLES)
        external = tab.evaluate("document.querySelectorAll('script[src], link[href]').length")
    return {"problems": problems, "figures": figures, "tables": tables, "external": external}


def num(text) -> float:
    return float("nan") if text in ("", None) else float(text)


def close(a, b) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def trace(figure, role):
    return next(t for t in figure["data"] if (t["meta"] or {}).get("role") == role)


def test_the_report_opens_without_errors_or_network(page):
    assert page["problems"] == []
    assert page["external"] == 0  # no script or stylesheet from elsewhere: all inline
    assert {
        "chance-forward",
        "chance-trades",
        "forward-15m",
        "forward-close",
        "calendar",
        "rs-panel",
    } <= set(page["figures"])


TEST_COLUMNS = ("name", "metric", "horizon", "n", "sessions", "observed", "ci_low", "ci_high")


def test_the_tests_table_and_chart_hold_the_tests_of_the_result(page, report):
    _, result = report
    rows = page["tables"]["tests-table"]
    assert len(rows) == len(result["tests"]) == result["trials"]
    for row, t in zip(rows, result["tests"], strict=True):
        assert row[:3] == [t["name"], t["metric"], t["horizon"]]
        assert int(row[3]) == t["n"]
        for cell, key in zip(
            row[9:15],
            ("baseline_mean", "baseline_low", "baseline_high", "percentile", "p_value", "q_value"),
            strict=True,
        ):
            assert close(num(cell), t[key]), key
        assert close(num(row[5]), t["observed"])
    for figure_id, metric in (("chance-forward", "forward_pct"), ("chance-trades", "trade_usd")):
        table = [r for r in rows if r[1] == metric]
        figure = page["figures"][figure_id]
        observed, baseline = trace(figure, "observed"), trace(figure, "baseline")
        assert observed["x"] == [f"{r[0]} {r[2]}".strip() for r in table]
        for k, r in enumerate(table):
            y = observed["y"][k]
            assert close(y, num(r[5]))
            if r[6]:  # the interval, where the bootstrap gives one
                assert close(y - observed["error_y"]["arrayminus"][k], num(r[6]))
                assert close(y + observed["error_y"]["array"][k], num(r[7]))
            b = baseline["y"][k]
            assert close(b, num(r[9]))
            assert close(b - baseline["error_y"]["arrayminus"][k], num(r[10]))
            assert close(b + baseline["error_y"]["array"][k], num(r[11]))
            assert observed["customdata"][k][3] == int(r[3])


def test_each_equity_curve_adds_up_its_trades_against_the_baseline_band(page, report):
    _, result = report
    setups = {r[0]: r for r in page["tables"]["trades-table"]}
    tests = {t["name"]: t for t in result["tests"] if t["metric"] == "trade_usd"}
    assert set(setups) == {"strength_rider", "divergence_fade", "laggard_catchup"}
    for name, row in setups.items():
        n, expectancy = int(row[1]), num(row[5])
        slug = name.replace("_", "-")
        figure = page["figures"][f"equity-{slug}"]
        equity = trace(figure, "equity")["y"]
        listed = page["tables"][f"trades-{slug}"]
        assert len(equity) == len(listed) == n
        assert close(equity[-1], n * expectancy)
        # each step is one listed trade's net $, and the list is the result's trades
        steps = np.diff([0.0, *equity])
        assert np.allclose(steps, [num(r[8]) for r in listed], rtol=0, atol=1e-9)
        own = sorted(t["net_usd"] for t in result["trade_records"] if t["name"] == name)
        assert np.allclose(sorted(num(r[8]) for r in listed), own, rtol=0, atol=1e-9)
        # the band's last point is n times the trade test's baseline mean and band
        last = {
            role: trace(figure, role)["y"][-1]
            for role in ("baseline_mean", "baseline_low", "baseline_high")
        }
        assert close(last["baseline_mean"], n * tests[name]["baseline_mean"])
        assert close(last["baseline_low"], n * tests[name]["baseline_low"])
        assert close(last["baseline_high"], n * tests[name]["baseline_high"])
        # the entries as the test follows them add up to n times its observed mean
        bracket = trace(figure, "bracket")["y"]
        assert len(bracket) == n and close(bracket[-1], n * tests[name]["observed"])


def test_the_forward_distributions_hold_the_returns_the_table_averages(page, report):
    _, result = report
    checked = 0
    for row in page["tables"]["forward-table"]:
        name, horizon, n, mean_pct = row[0], row[1], int(row[2]), num(row[5])
        boxes = {t["name"]: t["y"] for t in page["figures"][f"forward-{horizon}"]["data"]}
        if n == 0:
            assert name not in boxes
            continue
        assert len(boxes[name]) == n
        assert close(float(np.mean(boxes[name])), mean_pct)
        checked += 1
    assert checked >= 30
    # the table's counts are the result's signals with a return at the horizon
    horizons = result["settings"]["horizons"]
    for row in page["tables"]["forward-table"]:
        k = horizons.index(row[1])
        own = [s for s in result["signals"] if s["name"] == row[0] and s["pct"][k] is not None]
        assert int(row[2]) == len(own)


def test_the_calendar_counts_each_signal_per_session(page, report):
    _, result = report
    heat = page["figures"]["calendar"]["data"][0]
    rows = {r[0]: r for r in page["tables"]["calendar-table"]}
    fired = Counter((s["name"], s["session_date"]) for s in result["signals"])
    assert heat["y"] == sorted(rows)
    for name, z in zip(heat["y"], heat["z"], strict=True):
        assert sum(z) == int(rows[name][2]) == sum(v for (n, _), v in fired.items() if n == name)
        assert sum(1 for v in z if v) == int(rows[name][3])
        for day, v in zip(heat["x"], z, strict=True):
            assert v == fired[name, day]


def test_the_rs_panel_shows_the_busiest_trade_session_with_its_signals(page, report):
    _, result = report
    trades = Counter(s["session_date"] for s in result["signals"] if s["kind"] == "setup")
    busiest = min(d for d, v in trades.items() if v == max(trades.values()))
    figure = page["figures"]["rs-panel"]
    lines = [t for t in figure["data"] if (t["meta"] or {}).get("role") == "rs"]
    assert [t["meta"]["symbol"] for t in lines] == ["ES", "NQ", "RTY", "YM", "ZN", "NDX"]
    assert all(t["x"][-1] == f"{busiest} 17:00:00" for t in lines[:5])
    assert trace(figure, "tick")["meta"]["symbol"] == "$TICK"
    on_chart = sorted(
        (x, c[0], c[1], y)
        for t in figure["data"]
        if (t["meta"] or {}).get("role") == "signals"
        for x, y, c in zip(t["x"], t["y"], t["customdata"], strict=True)
    )
    in_table = sorted((r[0], r[1], r[3], num(r[5])) for r in page["tables"]["panel-table"])
    assert on_chart == in_table
    series = {t["meta"]["symbol"]: dict(zip(t["x"], t["y"], strict=True)) for t in lines}
    for x, _, symbol, y in on_chart:
        assert series[symbol][x] == y  # each marker on its instrument's line
    entries = sum(1 for _, name, _, _ in on_chart if name in ("strength_rider", "divergence_fade"))
    assert entries >= 1
    assert any(s["name"] in ("trend", "chop", "event") for s in figure["shapes"])
