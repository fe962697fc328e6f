"""The live panel in a real headless Chromium (Debian's /usr/bin/chromium,
driven by playwright) during a PACED replay of the simulator, cut bar by bar.

The test's plugin holds the run at two slices of the second session (11:00
and 14:00 ET); at each hold the page is read back from its plotly figure once
it shows the panel's latest version. Between the two reads the lines grow,
and each time every point shown is the engine's own value (``rs_pct`` per
instrument, $TICK's close, the signals) as a separate output received it.
No point of the first session is left, nothing is fetched from elsewhere, and
when the run ends the page says the engine does not answer."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from conftest import chromium_launcher, watched_tab
from panel_helpers import TZ, WAIT_S, EngineValues, demo_tree, engine_for, local, panel_of

SESSIONS = ("2025-03-03", "2025-03-04")
HOLDS = [pd.Timestamp(f"{SESSIONS[1]} {t}", tz=TZ).value for t in ("11:00", "14:00")]

READ_PANEL = """() => {
  const d = document.getElementById('rs-panel');
  return {
    version: Number(document.body.dataset.version),
    status: document.getElementById('status').textContent,
    traces: d.data.map(t => ({name: t.name, meta: t.meta ?? null,
      x: Array.from(t.x), y: Array.from(t.y),
      customdata: t.customdata ? Array.from(t.customdata) : null})),
    shapes: (d.layout.shapes || []).map(s => s.name ?? null),
  };
}"""


def paced_tree() -> dict:
    tree = demo_tree()
    tree["run"] = {"mode": "paced", "speed": 200000}
    tree["sources"] = {"sim": {"seed": 7, "start": SESSIONS[0], "days": 2}}  # bar by bar: paced
    tree["outputs"] = {"panel": {"port": 0, "refresh": 0.1}, "engine_values": {}}
    return tree


@pytest.fixture(scope="module")
def live_run():
    sync_playwright = chromium_launcher()
    plugin = EngineValues(hold_at=HOLDS)
    engine = engine_for(paced_tree(), plugin)
    panel = panel_of(engine)
    ended: list = []
    runner = threading.Thread(target=lambda: ended.append(engine.run()), name="test-engine")
    reads, owns = [], []
    with watched_tab(sync_playwright, (panel.url,)) as (tab, problems):
        try:
            tab.goto(panel.url, wait_until="load")  # before the run: the page waits for it
            runner.start()
            for _ in HOLDS:
                plugin.wait_held()  # the engine stands still: the panel's version too
                version = panel.live.version
                tab.wait_for_function(
                    f"Number(document.body.dataset.version) === {version}", timeout=WAIT_S * 1000
                )
                reads.append(tab.evaluate(READ_PANEL))
                owns.append(plugin.session(SESSIONS[1]))
                plugin.release()
            runner.join(WAIT_S)
            seen_problems = list(problems)  # the refused requests after the end are expected
            tab.wait_for_function(
                "document.getElementById('status').textContent.includes('does not answer')",
                timeout=WAIT_S * 1000,
            )
        finally:
            plugin.release()
            runner.join(WAIT_S)
    return {
        "problems": seen_problems,
        "reads": reads,
        "owns": owns,
        "ended": ended,
        "panel": panel,
        "symbols": plugin.symbols,
    }


def traces(read, role):
    return [t for t in read["traces"] if (t["meta"] or {}).get("role") == role]


def test_the_page_loads_without_errors_or_network_and_the_run_ends(live_run):
    assert live_run["problems"] == []
    assert len(live_run["ended"]) == 1 and live_run["ended"][0].failed is None
    assert not live_run["panel"].server.running
    assert not any(t.name.startswith("rsengine-panel") for t in threading.enumerate())


def test_the_lines_grow_while_the_run_goes_on(live_run):
    first, second = live_run["reads"]
    assert second["version"] > first["version"]
    for a, b in zip(traces(first, "rs"), traces(second, "rs"), strict=True):
        assert a["meta"]["symbol"] == b["meta"]["symbol"]
        assert len(b["x"]) > len(a["x"]) > 0
        assert b["x"][: len(a["x"])] == a["x"]  # the same points, and more
    for read, hold in zip(live_run["reads"], HOLDS, strict=True):
        es = traces(read, "rs")[0]
        assert es["meta"]["symbol"] == "ES" and es["x"][-1] >= local([hold])[0]
        assert f"session {SESSIONS[1]}" in read["status"]


def test_the_page_shows_the_engines_values_of_the_session(live_run):
    symbols = live_run["symbols"]
    session_open = f"{SESSIONS[0]} 18:00:00"  # the second session's Globex open
    for read, own in zip(live_run["reads"], live_run["owns"], strict=True):
        times = local(own["ts"])
        lines = traces(read, "rs")
        assert [t["meta"]["symbol"] for t in lines] == ["ES", "NQ", "RTY", "YM", "ZN", "NDX"]
        for t in lines:
            i = symbols.index(t["meta"]["symbol"])
            rows = own["present"][:, i]
            assert t["x"] == [x for x, p in zip(times, rows, strict=True) if p]
            assert t["y"] == own["rs_pct"][rows, i].tolist()
            assert min(t["x"]) > session_open  # nothing left of the first session
        (tick,) = traces(read, "tick")
        i = symbols.index("$TICK")
        rows = own["present"][:, i]
        assert tick["meta"]["symbol"] == "$TICK"
        assert tick["x"] == [x for x, p in zip(times, rows, strict=True) if p]
        assert tick["y"] == own["close"][rows, i].tolist()
        shown = sorted(
            (x, c[0], c[1])
            for t in traces(read, "signals")
            for x, c in zip(t["x"], t["customdata"], strict=True)
        )
        sent = sorted((local([s.ts_close])[0], s.name, s.instrument) for s in own["signals"])
        assert shown == sent
        shaded = {r for r in own["regime"] if r in ("trend", "chop", "event")}
        assert set(read["shapes"]) - {None} == shaded
    assert len(live_run["owns"][-1]["signals"]) >= 1  # the scripted day marks something
