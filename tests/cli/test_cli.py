"""The ``rsengine`` command, run as a user runs it: in a subprocess.

Exit codes: 0 success, 2 usage or config error, 1 runtime failure. Every run
writes its recording into a temporary folder and runs in a temporary working
directory, so nothing lands in the source tree.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import rsengine

SCRIPT = shutil.which("rsengine", path=str(Path(sys.executable).parent)) or shutil.which("rsengine")
COMMAND = (
    [SCRIPT]
    if SCRIPT
    else [sys.executable, "-c", "import sys; from rsengine.app.cli import main; sys.exit(main())"]
)
FIRST_PARTY = {
    "sim": "source sim",
    "csv": "source csv",
    "rs": (
        "indicator fair_value, indicator group, indicator internals, indicator measures, "
        "indicator ratios, indicator regime, indicator rs, setup context, source basket"
    ),
    "log": "output log",
    "record": "output record",
    "trades": "setup divergence_fade, setup laggard_catchup, setup strength_rider",
}
BAR_HEADER = [
    "ts_open", "ts_close", "symbol", "open", "high", "low", "close", "volume", "trades", "flags",
    "rs_pct",
    # measures
    "vwap", "vwap20", "rsi", "vol_mean20", "vol_ratio", "vol_expanding", "or_high", "or_low",
    "ib_high", "ib_low", "atr", "atr_pct", "rs_norm", "mom",
    # group (pairs of ES, NQ, RTY, YM in group order)
    "lead", "rank", "leader", "laggard",
    "spread_es_nq", "spread_es_rty", "spread_es_ym", "spread_nq_rty", "spread_nq_ym",
    "spread_rty_ym", "mom_div", "mom_div_z", "mom_div_sig",
    "corr_es_nq", "corr_es_rty", "corr_es_ym", "corr_nq_rty", "corr_nq_ym", "corr_rty_ym",
    "nq_es_ratio", "nq_es_outside",
    # ratios
    "ratio_es_nq", "ratio_es_rty", "ratio_es_ym", "ratio_nq_rty", "ratio_nq_ym", "ratio_rty_ym",
    "ratio_lead_es_nq", "ratio_lead_es_rty", "ratio_lead_es_ym", "ratio_lead_nq_rty",
    "ratio_lead_nq_ym", "ratio_lead_rty_ym",
    # regime
    "regime", "afternoon", "event_window", "divergent", "persist15", "persistent", "size_factor",
    # fair_value
    "nq_fv", "nq_basis", "nq_premium", "nq_fv_state",
    # internals
    "tick", "tick_high", "tick_low", "tick_zone", "add", "add_high", "add_low", "add_zone",
    "add_slope", "breadth_div",
]  # fmt: skip
DEMO_SYMBOLS = 8  # ES, NQ, RTY, YM, ZN, $TICK, $ADD, NDX in rsengine/demo.yaml
SHORT = "sources.sim={seed: 7, days: 3}"  # no warm-up: three sessions

LEADER = """\
import math

import rsengine
from rsengine.model import Signal

GROUP = ("ES", "NQ", "RTY", "YM")


class Leader:
    \"\"\"A signal each time another group member takes the highest rs_pct.\"\"\"

    def __init__(self, settings, context):
        self.last = None

    def evaluate(self, slice, state):
        rs = state.values["rs_pct"]
        best = None
        for i, symbol in enumerate(slice.symbols):
            if symbol in GROUP and slice.present[i] and not math.isnan(rs[i]):
                if best is None or rs[i] > rs[best]:
                    best = i
        if best is None or slice.symbols[best] == self.last:
            return []
        self.last = slice.symbols[best]
        return [
            Signal(
                ts_close=slice.ts_close,
                session_date=state.session.date,
                name="leader",
                kind="context",
                instrument=self.last,
                side="long",
                reason=f"highest rs_pct {rs[best]:.6f}",
                entry=float(slice.close[best]),
            )
        ]


@rsengine.hookimpl
def rsengine_register_setups(registry):
    registry.add("leader", Leader, "the group member with the highest rs_pct")
"""

FRAGILE = """\
import rsengine


class Fragile:
    columns = ("fragile",)

    def __init__(self, settings, context):
        self.calls = 0

    def update(self, slice, state):
        self.calls += 1
        if self.calls == 3:
            raise ZeroDivisionError("fragile gave up on slice 3")
        return {"fragile": slice.close}


@rsengine.hookimpl
def rsengine_register_indicators(registry):
    registry.add("fragile", Fragile, "breaks on the third slice")
"""


def start(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RSENGINE_TRACE_PLUGINS"}
    return subprocess.Popen(
        [*COMMAND, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return finish(start(*args, cwd=cwd))


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def summary_number(stdout: str, label: str) -> int:
    match = re.search(rf"^\s+{label}\s+([\d,]+)", stdout, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{stdout}"
    return int(match.group(1).replace(",", ""))


def session_date(ts_close_iso: str) -> dt.date:
    """Globex session date of a bar stamped at its close (opens 18:00 ET)."""
    utc = dt.datetime.fromisoformat(ts_close_iso.replace("Z", "+00:00"))
    local = (utc - dt.timedelta(microseconds=1)).astimezone(ZoneInfo("America/New_York"))
    return local.date() + dt.timedelta(days=1) if local.hour >= 18 else local.date()


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout


# --- --version, no command --------------------------------------------------------------


def test_version_exits_0_and_prints_the_installed_version(tmp_path):
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rsengine {importlib.metadata.version('rsengine')}"
    assert rsengine.__version__ in proc.stdout


def test_no_command_exits_2_with_usage_on_stderr(tmp_path):
    proc = cli(cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage: rsengine" in proc.stderr
    assert proc.stdout == ""


def test_unknown_command_exits_2(tmp_path):
    proc = cli("replay", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'replay'" in proc.stderr


# --- run of the built-in demo -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The whole built-in demo, run once: (process, record folder)."""
    cwd = tmp_path_factory.mktemp("demo")
    out = cwd / "record"
    proc = cli("run", "--no-progress", "--set", f"outputs.record.dir={out}", cwd=cwd)
    return proc, out


def read_bars(folder: Path) -> list[dict]:
    with open(folder / "bars.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_demo_run_exits_0(demo):
    proc, _ = demo
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)


def test_demo_run_summary_says_the_data_are_simulated(demo):
    proc, _ = demo
    assert "SIMULATED" in proc.stdout


def test_demo_run_summary_counts_bars_and_slices_that_were_recorded(demo):
    proc, out = demo
    rows = read_bars(out)
    slices = {row["ts_close"] for row in rows}
    assert summary_number(proc.stdout, "bars") == len(rows)
    assert summary_number(proc.stdout, "slices") == len(slices)
    missing = re.search(r"\(([\d,]+) instrument slots missing\)", proc.stdout)
    assert int(missing.group(1).replace(",", "")) == len(slices) * DEMO_SYMBOLS - len(rows)


def test_demo_run_summary_counts_signals_and_sessions_that_were_recorded(demo):
    proc, out = demo
    signals = (out / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    assert summary_number(proc.stdout, "signals") == len(signals)
    sessions = {session_date(row["ts_close"]) for row in read_bars(out)}
    assert f"rsengine run: {len(sessions)} sessions" in proc.stdout


def test_demo_bars_csv_has_the_documented_header(demo):
    _, out = demo
    with open(out / "bars.csv", newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == BAR_HEADER


def test_demo_run_json_labels_the_data_simulated(demo):
    _, out = demo
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["data"] == ["SIMULATED"]


def test_two_runs_of_the_demo_write_byte_identical_bars_and_signals(tmp_path):
    plugin = write(tmp_path / "leader.py", LEADER)
    first, second = tmp_path / "first", tmp_path / "second"
    args = [
        "run", "--no-progress", "--set", SHORT, "--set", "setups.leader={}",
        "--set", f"plugins.local={json.dumps([str(plugin)])}",
    ]  # fmt: skip
    running = [
        start(*args, "--set", f"outputs.record.dir={out}", cwd=tmp_path) for out in (first, second)
    ]  # side by side: two separate processes, and half the wait
    for proc in map(finish, running):
        assert proc.returncode == 0, proc.stderr
    signals = (first / "signals.jsonl").read_bytes()
    assert signals.count(b"\n") > 1  # the comparison below compares something
    assert signals == (second / "signals.jsonl").read_bytes()
    bars = (first / "bars.csv").read_bytes()
    assert bars.count(b"\n") > DEMO_SYMBOLS
    assert bars == (second / "bars.csv").read_bytes()


# --- validate -------------------------------------------------------------------------------


def test_validate_of_the_built_in_demo_exits_0_and_says_ok(tmp_path):
    proc = cli("validate", "--set", f"outputs.record.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(": ok")


def test_validate_of_a_good_file_exits_0_naming_it(tmp_path):
    config = write(
        tmp_path / "good.yaml",
        """\
        run: {mode: replay, on_plugin_error: disable}
        sources: {sim: {days: 1}}
        indicators: {rs: {prior_close: rth_last}}
        """,
    )
    proc = cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{config}: ok"


def test_validate_leaves_an_existing_recording_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "bars.csv").write_text("recorded earlier\n", encoding="utf-8")
    proc = cli("validate", "--set", f"outputs.record.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "bars.csv").read_text(encoding="utf-8") == "recorded earlier\n"


def test_config_error_exits_2_with_file_line_column_and_a_suggestion(tmp_path):
    config = write(
        tmp_path / "typo.yaml",
        """\
        run:
          mode: replay
          on_plugin_eror: stop
        sources: {sim: {days: 1}}
        """,
    )
    proc = cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{config}:3:3: run.on_plugin_eror" in proc.stderr
    assert "did you mean 'on_plugin_error'?" in proc.stderr
    assert_no_traceback(proc)


def test_config_error_in_run_exits_2_before_running(tmp_path):
    config = write(tmp_path / "bad.yaml", "run: {mode: pacd}\nsources: {sim: {days: 1}}\n")
    proc = cli("run", "--no-progress", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{config}:1:13: run.mode" in proc.stderr
    assert "did you mean 'paced'?" in proc.stderr
    assert proc.stdout == ""  # no summary: nothing ran
    assert_no_traceback(proc)


def test_unknown_plugin_exits_2_listing_installed_plugins(tmp_path):
    config = write(tmp_path / "unknown.yaml", "sources:\n  simm: {days: 1}\n")
    proc = cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{config}:2:3: sources.simm: no source plugin named 'simm'" in proc.stderr
    assert "installed: basket, csv, ib, rithmic, sim" in proc.stderr  # every source plugin
    assert "did you mean 'sim'?" in proc.stderr
    assert_no_traceback(proc)


def test_misspelled_hook_in_a_local_plugin_exits_2_naming_it(tmp_path):
    write(
        tmp_path / "typo_hook.py",
        """\
        import rsengine


        @rsengine.hookimpl
        def rsengine_slice_close(engine, slice, values):
            pass
        """,
    )
    config = write(
        tmp_path / "c.yaml", "plugins: {local: [typo_hook.py]}\nsources: {sim: {days: 1}}\n"
    )
    proc = cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert "rsengine_slice_close" in proc.stderr
    assert_no_traceback(proc)


def test_hook_with_an_unknown_argument_in_a_local_plugin_exits_2_naming_it(tmp_path):
    write(
        tmp_path / "bad_arg.py",
        """\
        import rsengine


        @rsengine.hookimpl
        def rsengine_slice_closed(engine, slice, vals):
            pass
        """,
    )
    config = write(
        tmp_path / "c.yaml", "plugins: {local: [bad_arg.py]}\nsources: {sim: {days: 1}}\n"
    )
    proc = cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad_arg" in proc.stderr and "vals" in proc.stderr
    assert_no_traceback(proc)


# --- plugins ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugins_listing(tmp_path_factory):
    proc = cli("plugins", cwd=tmp_path_factory.mktemp("plugins"))
    assert proc.returncode == 0, proc.stderr
    return {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
def test_plugins_lists_each_first_party_plugin_with_what_it_provides(plugins_listing, name):
    assert name in plugins_listing
    assert plugins_listing[name].rstrip().endswith(FIRST_PARTY[name])
    assert f"rsengine {importlib.metadata.version('rsengine')}" in plugins_listing[name]


# --- runtime failures -------------------------------------------------------------------------


def fragile_config(tmp_path: Path, on_plugin_error: str) -> Path:
    write(tmp_path / "fragile.py", FRAGILE)
    return write(
        tmp_path / "fragile.yaml",
        f"""\
        run: {{on_plugin_error: {on_plugin_error}}}
        plugins: {{local: [fragile.py]}}
        sources: {{sim: {{days: 1}}}}
        indicators: {{rs: {{}}, fragile: {{}}}}
        outputs: {{record: {{dir: out, format: csv}}}}
        """,
    )


def test_plugin_failure_with_stop_exits_1_naming_the_plugin(tmp_path):
    proc = cli("run", "--no-progress", str(fragile_config(tmp_path, "stop")), cwd=tmp_path)
    assert proc.returncode == 1
    assert "plugin 'fragile' failed in indicator fragile" in proc.stderr
    assert "fragile gave up on slice 3" in proc.stderr
    assert_no_traceback(proc)


def test_plugin_failure_with_disable_exits_0_and_the_summary_lists_the_plugin(tmp_path):
    proc = cli("run", "--no-progress", str(fragile_config(tmp_path, "disable")), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "disabled plugins: fragile" in proc.stdout
    assert "fragile gave up on slice 3" in proc.stderr  # logged, not hidden
    # the run went on past slice 3: more slices recorded than the three it saw
    assert len({row["ts_close"] for row in read_bars(tmp_path / "out")}) > 3


CONTEXT_SIGNALS = (
    "nq_vs_es", "rty_vs_es", "rty_correction_warning", "unconfirmed_high", "alignment",
    "bonds", "premarket_read", "premarket_read_scored",
)  # fmt: skip


@pytest.mark.parametrize("name", CONTEXT_SIGNALS)
def test_demo_summary_shows_every_context_signal_firing(demo, name):
    proc, out = demo
    assert summary_number(proc.stdout, name) >= 1
    fired = [json.loads(line)["name"] for line in (out / "signals.jsonl").read_text().splitlines()]
    assert name in fired


def test_demo_summary_and_run_json_report_the_premarket_hit_rate(demo):
    proc, out = demo
    # the sim scripts one read that holds and one that fails
    assert "premarket_read: predictions 2, scored 2, hits 1, hit_rate 0.50" in proc.stdout
    metrics = json.loads((out / "run.json").read_text())["metrics"]
    assert metrics["premarket_read"]["hit_rate"] == 0.5


def test_market_view_prints_one_table_per_session(tmp_path):
    proc = cli("run", "--no-progress", "--set", SHORT, "--set", "run.market_view=session",
               "--set", f"outputs.record.dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "rsengine run: 3 sessions" in proc.stdout
    assert proc.stdout.count("-- market session ") == 3
    assert "instrument        price    chg %       ATR    lead rank" in proc.stdout


# --- what the demo prints (issue 9 item 7) --------------------------------------------------

SIGNAL_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T)  (context|trade  |exit   )  (\S+)\s+(\S+)\s+"
    r"(long|short|flat)\s"
)


def recorded_signals(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]


def is_trade(signal: dict) -> bool:
    if signal["kind"] in ("setup", "exit"):
        return signal["kind"] == "setup"
    sized = (signal.get("size_fraction") or 0) > 0 or (signal.get("contracts") or 0) > 0
    return signal.get("entry") is not None and sized


def signal_class(signal: dict) -> str:
    return "exit" if signal["kind"] == "exit" else "trade" if is_trade(signal) else "context"


def test_demo_prints_each_signal_as_one_line_at_its_bar_close_in_eastern_time(demo):
    proc, out = demo
    printed = [m.groups()[:4] for m in map(SIGNAL_LINE.match, proc.stdout.splitlines()) if m]
    expected = []
    for signal in recorded_signals(out):  # independent: zoneinfo on the recorded UTC stamp
        utc = dt.datetime.fromtimestamp(signal["ts_close"] // 10**9, dt.UTC)
        local = utc.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M %Z")
        kind = f"{signal_class(signal):7}"
        expected.append((local, kind, signal["name"], signal["instrument"]))
    assert len(expected) > 50
    assert printed == expected


def test_demo_summary_tells_context_signals_from_trade_signals(demo):
    proc, out = demo
    classes = collections.Counter(map(signal_class, recorded_signals(out)))
    c, t, e = (classes[name] for name in ("context", "trade", "exit"))
    assert f"({c:,} context, {t:,} trade, {e:,} exit)" in proc.stdout
    assert "context: information, no trade by itself" in proc.stdout


def test_demo_summary_explains_missing_slots_and_names_the_instruments(demo):
    proc, out = demo
    rows = read_bars(out)
    slices = len({row["ts_close"] for row in rows})
    per = {}
    for row in rows:
        per[row["symbol"]] = per.get(row["symbol"], 0) + 1
    missing = sorted(
        ((slices - n, s) for s, n in per.items() if n < slices), key=lambda x: (-x[0], x[1])
    )
    assert "a slot is one instrument in one 5-minute slice" in proc.stdout
    assert "by instrument: " + ", ".join(f"{s} {n:,}" for n, s in missing) in proc.stdout


def test_demo_summary_names_the_core_in_use(demo):
    from rsengine import core

    proc, _ = demo
    want = "compiled (Cython)" if core.USING_EXTENSION else "pure Python"
    assert re.search(rf"^  core\s+{re.escape(want)}", proc.stdout, re.MULTILINE), proc.stdout


def test_pure_core_run_says_so_and_how_much_slower(tmp_path):
    env = {**os.environ, "RSENGINE_NO_EXTENSIONS": "1"}
    env.pop("RSENGINE_REQUIRE_EXTENSIONS", None)
    proc = subprocess.run(
        [*COMMAND, "run", "--no-progress", "--set", SHORT, "--set", "outputs.record.dir=out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "core          pure Python, selected by RSENGINE_NO_EXTENSIONS (about 5x slower" in (
        proc.stdout
    )


def test_demo_summary_lists_the_outputs_and_the_files_they_wrote(demo):
    proc, out = demo
    assert re.search(r"^  outputs\n    log\s+no files$", proc.stdout, re.MULTILINE), proc.stdout
    for name in ("bars.csv", "signals.jsonl", "run.json"):
        assert str(out / name) in proc.stdout or f"record/{name}" in proc.stdout


def test_progress_bar_shows_percent_eta_and_the_session_date_in_et(tmp_path):
    proc = cli("run", "--set", SHORT, "--set", "run.progress=on", "--set",
               f"outputs.record.dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    assert "replaying session 2025-03-0" in proc.stderr and " ET" in proc.stderr
    assert "ETA" in proc.stderr and re.search(r"\d+%", proc.stderr), proc.stderr


def test_no_progress_bar_off_a_terminal_by_default(tmp_path):
    proc = cli("run", "--set", SHORT, "--set", f"outputs.record.dir={tmp_path / 'out'}",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "replaying" not in proc.stderr


def test_log_level_may_follow_the_command(tmp_path):
    proc = cli("run", "--log-level", "info", "--no-progress", "--set", SHORT, "--set",
               f"outputs.record.dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "signal" in proc.stderr and "nq_vs_es" in proc.stderr  # info events on stderr


def test_python_dash_m_rsengine_is_the_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rsengine", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"rsengine {rsengine.__version__}"


def test_the_default_output_folder_is_git_ignored():
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", "rsengine-out/demo/bars.csv"], cwd=root)
    assert proc.returncode == 0


TRADE_SETUPS = ("strength_rider", "divergence_fade", "laggard_catchup")


@pytest.mark.parametrize("name", TRADE_SETUPS)
def test_demo_prints_each_trade_setup_with_contracts_stop_target_and_stack(demo, name):
    proc, out = demo
    entries = [s for s in recorded_signals(out) if s["name"] == name and s["kind"] == "setup"]
    sized = [s for s in entries if s["contracts"] > 0]
    assert sized, f"{name} never fired with contracts"
    lines = [line for line in proc.stdout.splitlines() if f"  trade    {name} " in line]
    assert len(lines) == len(entries)
    first = sized[0]
    line = next(ln for ln in lines if f" @ {first['entry']:.10g} " in ln)
    assert f"{first['contracts']} {first['contract']} @ {first['entry']:.10g}" in line
    assert f"stop {first['stop']:.10g}" in line
    assert "stack " + "+".join(first["confirmations"]) in line


def test_every_demo_entry_with_contracts_has_exactly_one_exit_after_it(demo):
    _, out = demo
    signals = recorded_signals(out)
    entries = {s["id"]: s for s in signals if s["kind"] == "setup" and s["contracts"] > 0}
    exits = [s for s in signals if s["kind"] == "exit"]
    linked = collections.Counter(s["details"]["entry_id"] for s in exits)
    assert entries and set(linked) == set(entries) and set(linked.values()) == {1}
    for s in exits:
        entry = entries[s["details"]["entry_id"]]
        assert s["ts_close"] > entry["ts_close"] and s["session_date"] == entry["session_date"]
        sign = 1 if entry["side"] == "long" else -1
        points = (s["details"]["exit_price"] - entry["entry"]) * sign
        assert s["details"]["pnl_usd"] == pytest.approx(
            points * entry["contracts"] * POINT_VALUE[entry["details"]["traded"]], abs=0.01
        )


POINT_VALUE = {"ES": 50, "NQ": 20, "RTY": 50, "YM": 5, "MES": 5, "MNQ": 2, "M2K": 5, "MYM": 0.5}


def test_demo_shows_a_zero_contract_trade_with_its_reason(demo):
    proc, out = demo
    zero = [s for s in recorded_signals(out) if s["kind"] == "setup" and s["contracts"] == 0]
    assert zero
    line = next(ln for ln in proc.stdout.splitlines() if "no order (0 contracts)" in ln)
    why = r"no order: stop [\d.]+ pt x \$\d+ = \$[\d,.]+ > budget \$2,000 x [\d.]+"
    assert re.search(why, line), line
