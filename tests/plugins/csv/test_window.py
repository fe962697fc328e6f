"""start/end: the reader passes over what lies before the window and stops past
its end, delivering inside it exactly what a whole read delivers, with the
files' real line numbers in every message; files out of order are read whole."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rsengine_csv.reader as reader_module
import yaml
from rsengine_csv import session_bound, window_mask
from rsengine_csv.reader import CsvFormatError, CsvLayout, read
from rsengine_record import read_bars

TZ = "America/New_York"
LAYOUT = CsvLayout(
    kind="bars",
    columns={"ts": "ts", "open": "open", "high": "high", "low": "low", "close": "close"},
    ts_format="iso",
    tz=TZ,
    stamps="open",
)
START, END = dt.date(2024, 3, 11), dt.date(2024, 3, 15)
WINDOW = (session_bound(START, TZ, True), session_bound(END, TZ, False))


def bar_lines(days: int = 40, first: str = "2024-02-20") -> list[str]:
    """One 5-minute bar line per step from ``first`` (ET wall time, no offset),
    prices from the row number so each row is told apart."""
    stamps = pd.date_range(first, periods=days * 288, freq="5min", tz=TZ)
    return [
        f"{t:%Y-%m-%d %H:%M:%S},{100 + i % 50}.0,{101 + i % 50}.0,{99 + i % 50}.0,{100 + i % 50}.5"
        for i, t in enumerate(stamps)
    ]


def write(path: Path, lines: list[str]) -> Path:
    text = "ts,open,high,low,close\n" + "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 16 KiB, so a small file spans many (the reader's own block size
    is 4 MiB); the logic is the same at any size."""
    monkeypatch.setattr(reader_module, "_BLOCK_BYTES", 1 << 14)


def cut(chunks, window=WINDOW) -> dict:
    """The delivered rows stamped inside ``window``, as the csv source keeps them."""
    ts = np.concatenate([c.ts for c in chunks])
    keep = window_mask(ts, *window)
    return {
        name: np.concatenate([getattr(c, name) for c in chunks])[keep]
        for name in ("ts", "open", "high", "low", "close")
    }


def same(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a) and len(a["ts"]) > 0


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_window_delivers_what_a_whole_read_delivers_there(tmp_path, small_blocks, suffix):
    path = write(tmp_path / f"bars{suffix}", bar_lines())
    whole = read(str(path), LAYOUT, 1000)
    expected = cut(list(whole))
    narrow = read(str(path), LAYOUT, 1000, window=WINDOW)
    got = cut(list(narrow))
    assert same(got, expected)
    stats = narrow.stats.files[0]
    # most lines before the window are passed over, and the reading stops past its end
    assert stats.passed > 15 * 288 and stats.ended and stats.unsorted is None
    assert stats.rows < 10 * 288 < whole.stats.rows
    # hand check: the week's sessions, 18:00 ET Sunday .. 17:00 ET Friday, every 5 minutes
    first = pd.Timestamp("2024-03-10 18:00", tz=TZ)
    assert (
        got["ts"][0] == first.value
        and got["ts"][-1] == pd.Timestamp("2024-03-15 16:55", tz=TZ).value
    )
    assert len(got["ts"]) == (pd.Timestamp("2024-03-15 17:00", tz=TZ) - first) // pd.Timedelta(
        "5min"
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_bad_row_inside_the_window_names_its_real_line(tmp_path, small_blocks, suffix):
    lines = bar_lines()
    at = next(i for i, line in enumerate(lines) if line.startswith("2024-03-12 10:00:00"))
    fields = lines[at].split(",")
    lines[at] = ",".join([fields[0], fields[1], "9x.5", *fields[3:]])
    lines.insert(100, "")  # a blank line in the part passed over counts too
    path = write(tmp_path / f"bars{suffix}", lines)
    line_no = 1 + next(i for i, line in enumerate(lines) if "9x.5" in line) + 1  # header, 1-based
    with pytest.raises(CsvFormatError) as err:
        list(read(str(path), LAYOUT, 1000, window=WINDOW))
    assert (err.value.line, err.value.column, err.value.field) == (line_no, 3, "high")
    assert str(err.value).startswith(f"{path}:{line_no}:3 (high): '9x.5'")
    with pytest.raises(CsvFormatError) as whole:
        list(read(str(path), LAYOUT, 1000))
    assert str(whole.value) == str(err.value)


def test_a_bad_row_long_before_the_window_is_passed_over(tmp_path, small_blocks):
    lines = bar_lines()
    lines[500] = lines[500].split(",")[0] + ",x,1,1,1"
    path = write(tmp_path / "bars.csv", lines)
    with pytest.raises(CsvFormatError):
        list(read(str(path), LAYOUT, 1000))
    narrow = read(str(path), LAYOUT, 1000, window=WINDOW)
    assert len(cut(list(narrow))["ts"]) > 0 and narrow.stats.skipped == 0


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_file_out_of_order_is_read_whole(tmp_path, small_blocks, suffix):
    lines = bar_lines()
    # the first ten days day by day backwards (the earlier days are bad rows), then the rest
    days = [lines[d * 288 : (d + 1) * 288] for d in range(10)]
    path = write(tmp_path / f"bars{suffix}", [x for d in reversed(days) for x in d] + lines[2880:])
    whole = read(str(path), LAYOUT, 1000, on_bad_row="skip")
    expected = cut(list(whole))
    narrow = read(str(path), LAYOUT, 1000, on_bad_row="skip", window=WINDOW)
    assert same(cut(list(narrow)), expected)
    assert narrow.stats.files[0].unsorted is not None
    assert narrow.stats.files[0].passed == 0
    assert narrow.stats.skipped == whole.stats.skipped > 0


def test_a_window_over_several_files_reads_only_the_ones_it_needs(tmp_path, small_blocks):
    lines = bar_lines()
    n = len(lines) // 4
    paths = [str(write(tmp_path / f"part{k}.csv", lines[k * n : (k + 1) * n])) for k in range(4)]
    expected = cut(list(read(paths, LAYOUT, 1000)))
    narrow = read(paths, LAYOUT, 1000, window=WINDOW)
    assert same(cut(list(narrow)), expected)
    assert narrow.stats.files[-1].ended and narrow.stats.files[-1].rows == 0


# ----------------------------------------------------------------------------------------------
# the real 5-minute micros
# ----------------------------------------------------------------------------------------------

MICROS = "databento-micro-5m/{}_c0_5m_2023-11-02_2026-03-20.csv.gz"


@pytest.mark.realdata
@pytest.mark.parametrize("start,end", [("2024-03-01", "2024-03-28"), ("2026-02-02", "2026-02-27")])
def test_a_month_of_the_real_files_equals_the_whole_read_and_pandas(shared_data, start, end):
    window = (
        session_bound(dt.date.fromisoformat(start), TZ, True),
        session_bound(dt.date.fromisoformat(end), TZ, False),
    )
    layout = CsvLayout.preset("databento_micro_5m")
    path = str(shared_data / MICROS.format("MNQ"))
    narrow = read(path, layout, 8192, window=window)
    got = cut(list(narrow), window)
    assert same(got, cut(list(read(path, layout, 8192)), window))
    assert narrow.stats.files[0].passed > 0 or start < "2023-11-05"
    frame = pd.read_csv(path)
    ts = ns_of(pd.to_datetime(frame["ts_et"], utc=True))
    keep = (ts >= window[0]) & (ts < window[1])
    assert np.array_equal(got["ts"], ts[keep])
    for name in ("open", "high", "low", "close"):
        assert np.array_equal(got[name], frame[name].to_numpy()[keep])


def ns_of(stamps: pd.Series) -> np.ndarray:
    """int64 ns UTC of a column of stamps (text or datetimes, any resolution)."""
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        stamps = pd.to_datetime(stamps, utc=True)
    return stamps.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


def recorded(out: Path) -> dict:
    """The record's files but run.json (which holds the run's own times), by name."""
    return {
        str(f.relative_to(out)): f.read_bytes()
        for f in sorted(out.rglob("*"))
        if f.is_file() and f.name != "run.json"
    }


def micros_run(tmp_path, data: Path, name: str, start: str, end: str, whole: bool):
    """configs/replay-micros.yaml over start..end, recorded; ``whole`` reads each
    file whole (a symbol filter that keeps every row turns the skipping off)."""
    root = Path(__file__).resolve().parents[3]
    tree = yaml.safe_load((root / "configs" / "replay-micros.yaml").read_text())
    tree["sources"]["csv"].update(start=start, end=end)
    for symbol, item in tree["sources"]["csv"]["instruments"].items():
        if whole:
            item["layout"] = {"preset": "databento_micro_5m", "symbol": f"{symbol}.c.0"}
    tree["outputs"] = {"record": {"dir": str(tmp_path / name)}}
    from rsengine.config import Config
    from rsengine.host.runner import build_engine

    config = Config.from_dict(tree, env={"RSENGINE_DATA_DIR": str(data)}, base_dir=root / "configs")
    engine = build_engine(config)
    engine.run()
    return engine, tmp_path / name


@pytest.mark.realdata
def test_a_narrow_replay_gives_the_bars_and_signals_of_reading_everything(tmp_path, shared_data):
    start, end = "2024-03-04", "2024-03-15"
    _, out = micros_run(tmp_path, shared_data, "narrow", start, end, whole=False)
    _, out_whole = micros_run(tmp_path, shared_data, "whole", start, end, whole=True)
    assert recorded(out) == recorded(out_whole)
    signals = (out / "signals.jsonl").read_text().splitlines()
    assert signals and all(json.loads(s) for s in signals)
    # the bars against pandas on the real files
    bars = read_bars(out)
    lo = pd.Timestamp(f"{dt.date.fromisoformat(start) - dt.timedelta(days=1)} 18:00", tz=TZ)
    hi = pd.Timestamp(f"{end} 17:00", tz=TZ)
    for symbol in ("MES", "MNQ", "M2K"):
        frame = pd.read_csv(shared_data / MICROS.format(symbol))
        stamps = pd.to_datetime(frame["ts_et"], utc=True)
        frame = frame[(stamps >= lo) & (stamps < hi)]
        mine = bars[bars["symbol"] == symbol]
        assert np.array_equal(ns_of(mine["ts_open"]), ns_of(frame["ts_et"]))
        for name in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(mine[name].to_numpy(float), frame[name].to_numpy(float))
