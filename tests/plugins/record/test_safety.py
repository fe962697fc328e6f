"""The record output never destroys good results: a run writes into a hidden
``.partial-<pid>`` folder inside ``dir`` and moves its files into place only
when it finished; the folder is locked against a second run and checked to be
writable before any data are read. Recorded as CSV here; test_parquet.py
holds the Parquet folder to the same rules."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rsengine_sim import SimSource

import rsengine
from rsengine.config import Config, ConfigError, load_config
from rsengine.host.runner import build_engine, plugin_manager_for

NINJATRADER = Path(__file__).parents[1] / "csv" / "fixtures" / "ninjatrader"
MINUTE_UTC = NINJATRADER / "ES 03-24.minute-utc.Last.txt"
FILES = ("bars.csv", "signals.jsonl", "run.json")
SIM_DAYS = {
    "run": {"mode": "replay"},
    "sources": {"sim": {"seed": 7, "days": 2}},
    "indicators": {"rs": {}},
}


def results(folder: Path) -> dict:
    """The visible files of a recording, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def partials(folder: Path) -> list:
    return sorted(folder.glob(".partial-*"))


def record_sim(out: Path, pm=None, source="sim"):
    tree = {**SIM_DAYS, "outputs": {"record": {"dir": str(out), "format": "csv"}}}
    if source != "sim":
        tree["sources"] = {source: tree["sources"]["sim"]}
    config = Config.from_dict(tree)
    if pm is None:
        pm = plugin_manager_for(config)
    engine = build_engine(config, pm=pm)
    return engine, engine.run()


class Breaking(SimSource):
    """The sim market, with ES raising ``error`` after its last chunk."""

    error: BaseException = RuntimeError("feed lost after the last row")

    def streams(self):
        streams = super().streams()
        streams["ES"] = self._then_raise(streams["ES"])
        return streams

    def _then_raise(self, stream):
        yield from stream
        raise self.error


def breaking_manager(error: BaseException):
    class Plugin:
        @rsengine.hookimpl
        def rsengine_register_sources(self, registry):
            registry.add("breaking", type("B", (Breaking,), {"error": error}), "breaks at the end")

    pm = plugin_manager_for(Config.from_dict(SIM_DAYS))
    pm.register(Plugin(), name="breaking-plugin")
    return pm


def csv_config(tmp_path: Path, rows: str, out: Path) -> Path:
    data = tmp_path / f"es-{len(rows)}.txt"
    data.write_text(rows)
    es = f'{{files: "{data}", layout: ninjatrader_minute, bar: 1min}}'
    csv = f"{{on_bad_row: stop, chunk_rows: 2, instruments: {{ES: {es}}}}}"
    path = tmp_path / "run.yaml"
    path.write_text(
        f"bars: {{primary: 1min}}\ngroup: [ES, NQ]\nsources: {{csv: {csv}}}\n"
        f'instruments: {{ES: {{}}, NQ: {{}}}}\noutputs: {{record: {{dir: "{out}", format: csv}}}}\n'
    )
    return path


# --- a run that fails leaves the previous results ---------------------------------------


def test_a_rerun_whose_csv_fails_on_its_last_row_leaves_the_previous_files_byte_identical(
    tmp_path,
):
    out = tmp_path / "out"
    good = MINUTE_UTC.read_text()
    build_engine(load_config(csv_config(tmp_path, good, out))).run()
    before = results(out)
    assert set(before) == set(FILES) and before["bars.csv"].count(b"\n") == 7
    bad = good + "20240310 220400;5160.50;oops;5160.00;5160.25;120\n"
    with pytest.raises(ValueError, match="oops"):  # the csv source stops at the bad row
        build_engine(load_config(csv_config(tmp_path, bad, out))).run()
    assert results(out) == before


def test_a_rerun_whose_source_raises_at_the_end_leaves_the_previous_files_byte_identical(
    tmp_path,
):
    out = tmp_path / "out"
    record_sim(out)
    before = results(out)
    assert before["bars.csv"].count(b"\n") > 1000
    with pytest.raises(RuntimeError, match="feed lost after the last row"):
        record_sim(out, breaking_manager(RuntimeError("feed lost after the last row")), "breaking")
    assert results(out) == before


def test_an_interrupted_rerun_leaves_the_previous_files_byte_identical(tmp_path):
    # KeyboardInterrupt is no Exception: the engine's summary does not say failed
    out = tmp_path / "out"
    record_sim(out)
    before = results(out)
    with pytest.raises(KeyboardInterrupt):
        record_sim(out, breaking_manager(KeyboardInterrupt()), "breaking")
    assert results(out) == before


def test_a_failed_run_leaves_its_partial_output_marked_incomplete_with_the_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        record_sim(out, breaking_manager(RuntimeError("feed lost")), "breaking")
    assert results(out) == {}  # nothing that looks like a finished run
    (partial,) = partials(out)
    about = json.loads((partial / "run.json").read_text())
    assert about["complete"] is False
    assert "feed lost" in about["failed"]
    assert (partial / "bars.csv").read_bytes().count(b"\n") > 1000  # kept to look at


def test_a_finished_run_says_complete_lists_its_files_and_leaves_no_partial_folder(tmp_path):
    out = tmp_path / "out"
    engine, _ = record_sim(out)
    (recorder,) = [output for _, _, output in engine.outputs]
    assert [Path(p) for p in recorder.written] == [out / name for name in FILES]
    assert json.loads((out / "run.json").read_text())["complete"] is True
    assert partials(out) == []


def test_the_next_run_after_a_failed_one_replaces_the_results_and_clears_the_partial(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        record_sim(out, breaking_manager(RuntimeError("feed lost")), "breaking")
    assert partials(out)
    record_sim(out)
    assert set(results(out)) == set(FILES)
    assert partials(out) == []


def test_a_stale_lock_file_and_partial_folder_of_a_dead_run_do_not_block_the_next(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".rsengine-record.lock").write_text("999999999\n")
    (out / ".partial-999999999").mkdir()
    (out / ".partial-999999999" / "bars.csv").write_text("cut short\n")
    record_sim(out)
    assert set(results(out)) == set(FILES)
    assert partials(out) == []


# --- kill -9 and two runs at once ---------------------------------------------------------

PAUSE = """\
import os
import pathlib
import time

import rsengine

MARK, GO = pathlib.Path(os.environ["PAUSE_MARK"]), pathlib.Path(os.environ["PAUSE_GO"])


@rsengine.hookimpl
def rsengine_session_end(engine, session):
    # after the first session: the record output has had its bars
    if MARK.exists():
        return
    MARK.write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while not GO.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
"""

RUN = "import sys; from rsengine.config import load_config; \
from rsengine.host.runner import build_engine; build_engine(load_config(sys.argv[1])).run()"


def sim_config(tmp_path: Path, out: Path, pause: bool) -> Path:
    local = ""
    if pause:
        (tmp_path / "pause.py").write_text(PAUSE)
        local = "plugins: {local: [pause.py]}\n"
    path = tmp_path / ("paused.yaml" if pause else "plain.yaml")
    path.write_text(
        f"run: {{mode: replay}}\n{local}sources: {{sim: {{seed: 7, days: 3}}}}\n"
        f'indicators: {{rs: {{}}}}\noutputs: {{record: {{dir: "{out}", format: csv}}}}\n'
    )
    return path


def start_run(config: Path, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PAUSE_MARK": str(tmp_path / "mark"), "PAUSE_GO": str(tmp_path / "go")}
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_pause(proc: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + 120
    while not (tmp_path / "mark").exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before its pause: {proc.communicate()}")
        assert time.monotonic() < deadline, "the run never reached its pause"
        time.sleep(0.02)


def run_to_end(config: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    proc = start_run(config, tmp_path)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL here")
def test_a_run_killed_mid_run_leaves_the_previous_results_and_the_next_run_succeeds(tmp_path):
    out = tmp_path / "out"
    plain = sim_config(tmp_path, out, pause=False)
    done = run_to_end(plain, tmp_path)
    assert done.returncode == 0, done.stderr
    before = results(out)
    assert before["bars.csv"].count(b"\n") > 1000

    proc = start_run(sim_config(tmp_path, out, pause=True), tmp_path)
    wait_for_pause(proc, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert results(out) == before
    (partial,) = partials(out)  # the killed run's output, named as incomplete
    assert json.loads((partial / "run.json").read_text())["complete"] is False

    again = run_to_end(plain, tmp_path)
    assert again.returncode == 0, again.stderr
    assert results(out) == before  # same data and config: the same bytes
    assert partials(out) == []


def test_a_second_run_into_a_busy_folder_fails_at_start_naming_it_and_the_first_runs_pid(
    tmp_path,
):
    out = tmp_path / "out"
    first = start_run(sim_config(tmp_path, out, pause=True), tmp_path)
    try:
        wait_for_pause(first, tmp_path)
        started = time.monotonic()
        with pytest.raises(ConfigError) as err:
            build_engine(load_config(sim_config(tmp_path, out, pause=False)))
        assert time.monotonic() - started < 5  # at start-up, not after a run
    finally:
        (tmp_path / "go").write_text("")
        stdout, stderr = first.communicate(timeout=300)
    assert err.value.key_path == "outputs.record.dir"
    assert str(out) in err.value.message and f"pid {first.pid}" in err.value.message
    assert first.returncode == 0, stderr
    assert set(results(out)) == set(FILES)
    assert json.loads((out / "run.json").read_text())["complete"] is True
    reference = tmp_path / "reference"
    build_engine(load_config(sim_config(tmp_path, reference, pause=False))).run()
    assert results(out) == results(reference)  # all of it, the pause changed nothing


def test_a_second_recorder_into_the_same_folder_in_one_process_is_refused(tmp_path):
    out = tmp_path / "out"
    config = load_config(sim_config(tmp_path, out, pause=False))
    first = build_engine(config)
    with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
        build_engine(config)
    first.run()  # and the first still records
    assert set(results(out)) == set(FILES)
    build_engine(config).run()  # the lock went with the first run's end


# --- a folder that cannot be written is refused before the run -----------------------------


def refusal(tmp_path: Path, out: Path) -> ConfigError:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"run: {{mode: replay}}\nsources: {{sim: {{days: 1}}}}\noutputs:\n  record:\n"
        f'    dir: "{out}"\n'
    )
    with pytest.raises(ConfigError) as err:
        build_engine(load_config(path))  # built, not run: no data read
    return err.value


def test_a_folder_below_a_regular_file_is_refused_at_its_yaml_key(tmp_path):
    (tmp_path / "plain-file").write_text("")
    err = refusal(tmp_path, tmp_path / "plain-file" / "out")
    assert (err.key_path, err.line) == ("outputs.record.dir", 5)
    assert str(tmp_path / "plain-file" / "out") in err.message


def test_a_dir_that_is_a_regular_file_is_refused_at_its_yaml_key(tmp_path):
    (tmp_path / "out").write_text("")
    err = refusal(tmp_path, tmp_path / "out")
    assert err.key_path == "outputs.record.dir"
    assert "is not a folder" in err.message


BUILD = """\
import json, sys
from rsengine.config import ConfigError, load_config
from rsengine.host.runner import build_engine
try:
    build_engine(load_config(sys.argv[1]))
except ConfigError as exc:
    print(json.dumps([exc.key_path, exc.line, exc.message]))
"""


def as_without_root_powers() -> list:
    """How to start a process that read-only permissions apply to: root
    ignores them unless it gives up CAP_DAC_OVERRIDE (util-linux setpriv)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root writes into read-only folders, and setpriv is not here")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_a_read_only_folder_is_refused_at_its_yaml_key_before_the_run(tmp_path):
    prefix = as_without_root_powers()
    out = tmp_path / "out"
    out.mkdir()
    (out / "bars.csv").write_text("recorded earlier\n")
    path = tmp_path / "run.yaml"
    path.write_text(
        f"run: {{mode: replay}}\nsources: {{sim: {{days: 1}}}}\noutputs:\n  record:\n"
        f'    dir: "{out}"\n'
    )
    out.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", BUILD, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        out.chmod(0o755)
    assert done.returncode == 0, done.stderr
    key_path, line, message = json.loads(done.stdout)
    assert (key_path, line) == ("outputs.record.dir", 5)
    assert "not writable" in message and str(out) in message
    assert results(out) == {"bars.csv": b"recorded earlier\n"}


def test_validate_leaves_no_partial_folder_and_the_old_recording_untouched(tmp_path):
    out = tmp_path / "out"
    record_sim(out)
    before = results(out)
    outputs = {"record": {"dir": str(out), "format": "csv"}}
    engine = build_engine(Config.from_dict({**SIM_DAYS, "outputs": outputs}))
    del engine
    assert results(out) == before and partials(out) == []


def test_a_finished_run_leaves_its_three_files_and_the_lock_file_only(tmp_path):
    out = tmp_path / "out"
    record_sim(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, ".rsengine-record.lock"])
