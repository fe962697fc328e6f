"""``rsengine run configs/demo-ninjatrader.yaml`` as a user runs it (a
subprocess, in a fresh working directory): the demo market's trade entries
become OIF files in the dry-run folder, nothing goes to incoming/, and the
chart's signal file is written, without NinjaTrader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

CONFIG = Path(__file__).parents[3] / "configs" / "demo-ninjatrader.yaml"
SCRIPT = shutil.which("rsengine", path=str(Path(sys.executable).parent)) or "rsengine"


def test_demo_config_writes_dry_run_oif_files_for_every_entry(tmp_path):
    done = subprocess.run(
        [SCRIPT, "run", str(CONFIG), "--log-level", "info", "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    signals = [e for e in events if e["event"] == "signal"]
    entries = [s["id"] for s in signals if s["kind"] == "setup" and s["contracts"] > 0]
    assert len(entries) > 10

    folder = tmp_path / "rsengine-out" / "ninjatrader"
    assert not (folder / "incoming").exists()
    files = sorted((folder / "dry-run").glob("oif-*.txt"))
    lines = [line for f in files for line in f.read_text().splitlines()]
    assert all(line.count(";") == 12 for line in lines)
    market = [line.split(";")[10] for line in lines if ";MARKET;" in line]
    assert market == [f"rs-{i}-E" for i in entries]  # each entry once, in signal order
    logged = [e["line"] for e in events if e["event"] == "OIF line"]
    assert logged == lines
    assert (folder / "rsengine" / "signals.txt").read_text().startswith("#rsengine-signals|")
    assert f"ninjatrader: files {len(files)}," in done.stdout


def test_demo_config_writes_under_the_git_ignored_output_folder():
    settings = yaml.safe_load(CONFIG.read_text())["outputs"]["ninjatrader"]
    assert settings["folder"].startswith("rsengine-out/")
    assert settings["dry_run"] is True and settings["orders"] is True
