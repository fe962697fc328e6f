"""Ctrl-C and SIGTERM end a run cleanly: the summary is printed and the
outputs closed (the journal written whole), exit 0; check-feed on a config
without live feeds says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


def start_paced(tmp_path):
    journal = tmp_path / "journal"
    args = [sys.executable, "-m", "rsengine", "run", "--no-progress",
            "--set", "run.mode=paced", "--set", "run.speed=3000",
            "--set", f"outputs.record.dir={journal}"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    return proc, journal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_a_paced_run_with_its_summary(tmp_path, signum):
    proc, journal = start_paced(tmp_path)
    time.sleep(4)  # the demo paced at 3000x runs for minutes
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{signal.Signals(signum).name}: stopping" in err
    assert "stopped on request" in out
    assert json.loads((journal / "run.json").read_text())["complete"]  # closed, not torn


def test_check_feed_without_a_live_source_says_there_is_nothing_to_check():
    done = subprocess.run([sys.executable, "-m", "rsengine", "check-feed"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sim: nothing to check (not a live feed)"
