"""The rs_leader setup, run through a whole engine with trades built here.

Every session settles each instrument at its BASE price (one trade at
15:59:45 ET, inside the 15:59:30-16:00 settlement window), so in the next
session a trade at BASE x (1 + p/100) is a bar with rs_pct = p. Bars are 5
minutes; each move below is one bar.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import shutil
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from rsengine.config import ConfigError
from rsengine.host.plugins import collect_registries

import rsengine_example_setup

ET = ZoneInfo("America/New_York")
BASE = {"ES": 5000.0, "NQ": 18000.0, "RTY": 2000.0}
SETTLE = {}  # no move: every instrument trades at BASE


def installed() -> bool:
    """True when the example is pip-installed, so rsengine finds it by its entry point."""
    entry_points = importlib.metadata.entry_points(group="rsengine")
    return any(ep.name == "example_setup" for ep in entry_points)


def et_ns(text: str) -> int:
    local = dt.datetime.fromisoformat(text).replace(tzinfo=ET)
    return int(local.timestamp()) * 10**9


def session(day: str, *moves) -> list:
    """(time, {symbol: rs_pct or a tuple of them}) moves, then the settlement at BASE.

    A tuple gives several trades one second apart in the same bar (the last is
    its close). A symbol left out trades at BASE.
    """
    return [*moves, (f"{day} 15:59:45", SETTLE)]


def trades(*sessions) -> dict:
    rows = {symbol: [] for symbol in BASE}
    for moves in sessions:
        for when, pcts in moves:
            for symbol, base in BASE.items():
                pct = pcts.get(symbol, 0.0)
                for i, p in enumerate(pct if isinstance(pct, tuple) else (pct,)):
                    rows[symbol].append((et_ns(when) + i * 10**9, base * (1 + p / 100), 1.0))
    return rows


def price(symbol: str, pct: float) -> float:
    return BASE[symbol] * (1 + pct / 100)


# The first session sets the prior close; its wide ES range (up to +2 %) must
# not count toward the next session's stop.
FIRST = session("2024-03-05", ("2024-03-05 10:00", {"ES": 2.0}))
# ES lags overnight, then leads: the lead first reaches 0.2 on the 09:35-09:40 bar.
CROSSING = session(
    "2024-03-06",
    ("2024-03-05 19:00", {"ES": -0.2}),  # leader NQ, lead 0 - (-0.2 + 0) / 2 = 0.1
    ("2024-03-06 09:31", {"ES": 0.1}),  # lead 0.1
    ("2024-03-06 09:36", {"ES": (0.5, 0.3)}),  # high +0.5 %, close +0.3 %: lead 0.3
    ("2024-03-06 09:41", {"ES": 0.1}),  # back below
    ("2024-03-06 09:46", {"ES": 0.6}),  # above again, same session
)
BELOW = session(
    "2024-03-06",
    ("2024-03-06 09:31", {"ES": 0.1}),
    ("2024-03-06 09:36", {"ES": 0.15}),
    ("2024-03-06 09:41", {"ES": 0.19}),
)


@pytest.fixture
def run(rsengine_harness):
    # Installed (the tox env "example"), rsengine loads the plugin through its
    # entry point; otherwise (PYTHONPATH=src) the module is registered by hand.
    plugins = () if installed() else (rsengine_example_setup,)

    def run(*sessions, settings=None, indicators=None):
        config = {
            "instruments": {symbol: {} for symbol in BASE},
            "group": list(BASE),
            "bars": {"primary": "5min"},
            "indicators": {"rs": {}} if indicators is None else indicators,
            "setups": {"rs_leader": settings or {}},
        }
        return rsengine_harness.run(config, trades=trades(*sessions), plugins=plugins)

    return run


def test_fires_once_on_the_bar_where_the_lead_first_reaches_the_threshold(run):
    signals = run(FIRST, CROSSING).signals
    assert [(s.name, s.kind, s.instrument, s.side) for s in signals] == [
        ("rs_leader", "setup", "ES", "long")
    ]
    assert signals[0].ts_close == et_ns("2024-03-06 09:40")
    assert signals[0].session_date == "2024-03-06"
    assert signals[0].details["lead_pct"] == pytest.approx(0.3)


def test_entry_is_the_close_and_stop_is_one_session_range_below(run):
    (signal,) = run(FIRST, CROSSING).signals
    high, low = price("ES", 0.5), price("ES", -0.2)  # the 09:35 high, the overnight low
    assert signal.entry == pytest.approx(price("ES", 0.3))
    assert signal.stop == pytest.approx(price("ES", 0.3) - (high - low))


def test_signal_carries_the_sources_label(run):
    (signal,) = run(FIRST, CROSSING).signals
    assert signal.source == "memory"  # the harness's source; "SIMULATED" for sim


def test_no_signal_while_the_lead_stays_below_the_threshold(run):
    result = run(FIRST, BELOW)
    assert result.column("rs_pct", "ES")[-2] == pytest.approx(0.19)  # the data did move
    assert result.signals == []


def test_no_signal_when_the_whole_group_rises_together(run):
    together = session("2024-03-06", ("2024-03-06 09:31", {"ES": 0.5, "NQ": 0.4, "RTY": 0.4}))
    assert run(FIRST, together).signals == []


def test_lead_is_measured_against_the_mean_of_the_others_not_the_runner_up(run):
    # ES leads NQ by only 0.15 but the mean of NQ and RTY by 0.3
    spread = session("2024-03-06", ("2024-03-06 09:31", {"ES": 0.5, "NQ": 0.35, "RTY": 0.05}))
    (signal,) = run(FIRST, spread).signals
    assert signal.details["lead_pct"] == pytest.approx(0.3)


def test_fires_again_in_the_next_session(run):
    crossing_again = session("2024-03-07", ("2024-03-07 09:31", {"NQ": 0.4}))
    signals = run(FIRST, CROSSING, crossing_again).signals
    assert [(s.session_date, s.instrument) for s in signals] == [
        ("2024-03-06", "ES"),
        ("2024-03-07", "NQ"),
    ]


def test_no_signal_in_the_first_session_without_a_prior_close(run):
    # ES jumps 1 % while the others stay flat, but no prior session means no rs_pct
    lone = session("2024-03-05", ("2024-03-05 09:31", {"ES": 1.0}))
    result = run(lone)
    assert result.signals == []
    assert all(v != v for v in result.column("rs_pct", "ES"))  # NaN throughout


def test_threshold_setting_moves_the_trigger(run):
    (signal,) = run(FIRST, CROSSING, settings={"threshold": 0.5}).signals
    assert signal.ts_close == et_ns("2024-03-06 09:50")  # the +0.6 % bar, not the +0.3 %


def test_unknown_setting_is_a_config_error_naming_it(run):
    with pytest.raises(ConfigError, match="setups.rs_leader.*'treshold'"):
        run(FIRST, CROSSING, settings={"treshold": 0.3})


@pytest.mark.parametrize("value", [0, -0.1, "high", True])
def test_threshold_that_is_not_a_positive_number_is_a_config_error(run, value):
    with pytest.raises(ConfigError, match="threshold"):
        run(FIRST, CROSSING, settings={"threshold": value})


def test_without_the_rs_indicator_it_is_a_config_error(run):
    with pytest.raises(ConfigError, match="rs indicator"):
        run(FIRST, CROSSING, indicators={})


@pytest.fixture
def require_installed():
    """Skips a test that needs the installed example, unless tox demands it."""
    if not installed():
        if os.environ.get("RSENGINE_EXAMPLE_REQUIRE_INSTALLED"):
            pytest.fail("rsengine-example-setup is not installed (its entry point is missing)")
        pytest.skip(
            "the example is not installed (pip install examples/custom-setup; tox -e example)"
        )


def test_entry_point_registers_rs_leader_under_the_plugin_name(require_installed, rsengine_pm):
    registries = collect_registries(rsengine_pm)
    assert registries["setups"].get("rs_leader").plugin == "example_setup"


def test_rsengine_plugins_lists_example_setup_with_its_setup(require_installed):
    exe = shutil.which("rsengine", path=os.path.dirname(sys.executable))
    assert exe, f"no rsengine command next to {sys.executable}"
    out = subprocess.run([exe, "plugins"], capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("example_setup ")), None)
    assert line is not None, out
    assert "setup rs_leader" in line
