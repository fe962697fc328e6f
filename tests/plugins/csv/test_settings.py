"""The csv source's settings: every mistake is a ConfigError at build time, at its key."""

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rsengine.config import ConfigError, load_config
from rsengine.host.runner import build_engine

MINUTE_UTC = Path(__file__).parent / "fixtures" / "ninjatrader" / "ES 03-24.minute-utc.Last.txt"


def config_file(
    tmp_path, csv_settings: str, files=f'"{MINUTE_UTC}"', layout="ninjatrader_minute"
) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"""bars: {{primary: 1min}}
group: [ES, NQ]
instruments: {{ES: {{}}, NQ: {{}}}}
sources:
  csv:
{csv_settings}
    instruments:
      ES: {{files: {files}, layout: {layout}, bar: 1min}}
indicators: {{rs: {{}}}}
outputs: {{record: {{dir: "{tmp_path / "out"}"}}}}
""")
    return path


def refusal(path) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        build_engine(load_config(path))
    return err.value


@pytest.mark.parametrize(
    "settings, key, line, message",
    [
        ("    start: 2024-13-01", "sources.csv.start", 6, "'2024-13-01' is not a valid date"),
        ("    start: '2024-13-01'", "sources.csv.start", 6, "is not a session date YYYY-MM-DD"),
        ("    end: 2024-01-01\n    start: 2024-02-01", "sources.csv.end", 6, "is before start"),
        ("    chunk_rows: 0", "sources.csv.chunk_rows", 6, "0 is not a whole number >= 1"),
        ("    chunk_rows: many", "sources.csv.chunk_rows", 6, "'many' is not a whole number"),
        ("    duplicates: keep", "sources.csv.duplicates", 6, "not one of error, drop"),
        ("    on_bad_row: skp", "sources.csv.on_bad_row", 6, "not one of stop, skip"),
        ("    chunkrows: 10", "sources.csv.chunkrows", 6, "did you mean 'chunk_rows'?"),
    ],
    ids=[
        "bad date",
        "bad quoted date",
        "end before start",
        "chunk_rows 0",
        "chunk_rows text",
        "duplicates",
        "on_bad_row",
        "unknown",
    ],
)
def test_bad_setting_is_refused_at_its_key(tmp_path, settings, key, line, message):
    err = refusal(config_file(tmp_path, settings))
    assert (err.key_path, err.line) == (key, line)
    assert message in err.message


def test_folder_given_as_a_data_file_is_refused_at_its_list_item(tmp_path):
    err = refusal(config_file(tmp_path, "", files=f'["{MINUTE_UTC}", "{tmp_path}"]'))
    assert err.key_path == "sources.csv.instruments.ES.files[1]"
    assert f"{tmp_path} is a folder; expected a data file" in err.message


@pytest.mark.parametrize(
    "layout, key, message",
    [
        ("{preset: ninjatrader_minute, hedaer: false}", "layout.hedaer", "did you mean 'header'?"),
        ("{preset: ninjatrader_minute, tz: Mars/Olympus}", "layout.tz", "not a known time zone"),
        ("{preset: firstrate}", "layout.preset", "did you mean 'firstratedata'?"),
        ("{preset: ninjatrader_minute, header: maybe}", "layout.header", "header"),
        ("{columns: {ts: 0}}", "layout", "a layout needs kind (bars or trades), or a preset"),
    ],
)
def test_bad_layout_field_is_refused_at_its_key(tmp_path, layout, key, message):
    err = refusal(config_file(tmp_path, "", layout=layout))
    assert err.key_path == f"sources.csv.instruments.ES.{key}" and err.line == 8
    assert message in err.message


def rsengine(*args):
    exe = shutil.which("rsengine")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "rsengine", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_truncated_gzip_file_stops_the_run_without_a_traceback(tmp_path):
    data = gzip.compress(MINUTE_UTC.read_bytes())
    path = tmp_path / "es.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    done = rsengine("run", str(config_file(tmp_path, "", files=f'"{path}"')), "--no-progress")
    assert done.returncode == 1
    assert f"{path}:1: the gzip data ends early" in done.stderr
    assert "Traceback" not in done.stderr
