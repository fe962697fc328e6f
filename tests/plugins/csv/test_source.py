"""The csv source inside a whole run: NinjaTrader exports in, bars out; bad rows."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "ninjatrader"
MINUTE_ET = FIXTURES / "ES 03-24.minute-et.Last.txt"
MINUTE_UTC = FIXTURES / "ES 03-24.minute-utc.Last.txt"


def write_config(tmp_path, files, layout, bar="1min", extra=""):
    text = f"""
bars: {{primary: {bar}}}
group: [ES, NQ]
instruments: {{ES: {{}}, NQ: {{}}}}
sources:
  csv:
{extra}
    instruments:
      ES: {{files: "{files}", layout: {layout}, bar: 1min}}
indicators: {{rs: {{}}}}
outputs: {{record: {{dir: "{tmp_path / "out"}", format: csv}}}}
"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def rsengine(*args):
    exe = shutil.which("rsengine")
    cmd = (
        [exe, *args]
        if exe
        else [sys.executable, "-c", "from rsengine.app.cli import main; main()", *args]
    )
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_ninjatrader_minute_export_in_exchange_time_gives_its_bars(tmp_path):
    config = write_config(tmp_path, MINUTE_ET, "{preset: ninjatrader_minute, tz: America/New_York}")
    done = rsengine("run", str(config), "--no-progress")
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "out" / "bars.csv")
    raw = pd.read_csv(MINUTE_ET, sep=";", header=None, names=["ts", "o", "h", "l", "c", "v"])
    closes = (
        pd.to_datetime(raw["ts"], format="%Y%m%d %H%M%S")
        .dt.tz_localize("America/New_York")
        .dt.tz_convert("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert list(got["ts_close"]) == list(closes)
    assert list(got["close"]) == list(raw["c"]) and list(got["volume"]) == list(raw["v"])


def test_ninjatrader_export_in_utc_gives_the_same_bars_as_in_exchange_time(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    et = write_config(a, MINUTE_ET, "{preset: ninjatrader_minute, tz: America/New_York}")
    utc = write_config(b, MINUTE_UTC, "ninjatrader_minute")
    assert rsengine("run", str(et)).returncode == 0
    assert rsengine("run", str(utc)).returncode == 0
    assert (a / "out" / "bars.csv").read_bytes() == (b / "out" / "bars.csv").read_bytes()


@pytest.fixture
def bad_file(tmp_path):
    lines = MINUTE_UTC.read_text().splitlines()
    lines[2] = lines[2].replace(";5158.50;", ";51x8.50;", 1)
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_row_stops_the_run_naming_file_line_and_column(tmp_path, bad_file):
    done = rsengine("run", str(write_config(tmp_path, bad_file, "ninjatrader_minute")))
    assert done.returncode == 1
    assert f"{bad_file}:3:3" in done.stderr and "51x8.50" in done.stderr
    assert "Traceback" not in done.stderr


def test_skipped_bad_row_is_counted_in_the_summary(tmp_path, bad_file):
    config = write_config(tmp_path, bad_file, "ninjatrader_minute", extra="    on_bad_row: skip")
    done = rsengine("run", str(config))
    assert done.returncode == 0, done.stderr
    assert "bad rows      1 skipped" in done.stdout
    rows = pd.read_csv(tmp_path / "out" / "bars.csv")
    assert len(rows) == len(MINUTE_UTC.read_text().splitlines()) - 1
