"""The replay progress (never backwards, measured by span or bytes read) and a
source's data end, which makes its last bar complete (issue 9 items 6 and 7)."""

from __future__ import annotations

import datetime as dt
import gzip
from zoneinfo import ZoneInfo

import pandas as pd
from rsengine_csv import CsvSource
from rsengine_sim import SimSource

from rsengine import hookimpl
from rsengine.app.summary import ReplayProgress, read_fraction
from rsengine.config import Config
from rsengine.core import PARTIAL
from rsengine.host.runner import build_engine
from rsengine.state import ComponentContext

ET = ZoneInfo("America/New_York")


def et_ns(text: str) -> int:
    return pd.Timestamp(text, tz=ET).value


def test_progress_never_goes_backwards_and_names_the_session_in_et():
    span = (et_ns("2025-03-02 18:00"), et_ns("2025-03-04 17:00"))
    progress = ReplayProgress("America/New_York", span)
    assert progress.update(et_ns("2025-03-03 12:00"))
    half = progress.fraction
    assert not progress.update(et_ns("2025-03-03 09:00"))  # an instrument behind the others
    assert progress.fraction == half
    assert progress.describe() == "session 2025-03-03 ET"
    assert progress.update(et_ns("2025-03-03 18:05"))  # after 18:00 ET: the next session
    assert progress.describe() == "session 2025-03-04 ET"
    assert half == (et_ns("2025-03-03 12:00") - span[0]) / (span[1] - span[0])


def test_progress_by_bytes_read_never_falls_and_without_either_counts_sessions():
    reads = iter([0.5, 0.4, 0.9])
    progress = ReplayProgress("America/New_York", None, lambda: next(reads))
    seen = []
    for ts in ("2025-03-03 10:00", "2025-03-03 11:00", "2025-03-03 12:00"):
        progress.update(et_ns(ts))
        seen.append(progress.fraction)
    assert seen == [0.5, 0.5, 0.9]
    unmeasured = ReplayProgress("America/New_York")
    unmeasured.update(et_ns("2025-03-03 10:00"))
    assert unmeasured.fraction is None
    assert unmeasured.describe() == "session 2025-03-03 ET, 1 session"


def config(sources: dict) -> Config:
    return Config.from_dict(
        {
            "instruments": {"ES": {}, "NQ": {}},
            "group": ["ES", "NQ"],
            "sources": sources,
            "outputs": {},
        }
    )


def minute_bars(first: pd.Timestamp, count: int) -> str:
    rows = ["ts,open,high,low,close,volume"]
    for i in range(count):
        stamp = (first + pd.Timedelta(minutes=i)).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{stamp},100,101,99,100.5,{i + 1}")
    return "\n".join(rows) + "\n"


def test_csv_read_fraction_counts_the_bytes_of_plain_and_gzip_files(tmp_path):
    start = pd.Timestamp("2025-03-03 09:30", tz=ET)
    parts = [minute_bars(start, 200), minute_bars(start + pd.Timedelta(minutes=200), 200)]
    files = {"ES": [tmp_path / "es1.csv", tmp_path / "es2.csv"],
             "NQ": [tmp_path / "nq1.csv.gz", tmp_path / "nq2.csv.gz"]}  # fmt: skip
    for text, es, nq in zip(parts, files["ES"], files["NQ"], strict=True):
        es.write_text(text)
        with gzip.open(nq, "wt") as f:
            f.write(text)
    layout = {"kind": "bars", "columns": {f: f for f in ("ts", "open", "high", "low", "close",
              "volume")}, "stamps": "open"}  # fmt: skip
    settings = {
        "chunk_rows": 50,
        "instruments": {
            s: {"files": [str(p) for p in paths], "layout": layout, "bar": "1min"}
            for s, paths in files.items()
        },
    }
    context = ComponentContext(
        config({"csv": settings}), ("ES", "NQ"), 60 * 10**9, "csv", "rsengine_csv", None
    )
    source = CsvSource(settings, context)
    fraction = read_fraction([source])
    assert fraction() == 0.0
    streams = source.streams()
    seen = []
    for _ in zip(streams["ES"], streams["NQ"], strict=True):
        seen.append(fraction())
    sizes = {s: [p.stat().st_size for p in paths] for s, paths in files.items()}
    total = sum(map(sum, sizes.values()))
    # after the first chunk each instrument has its first file open (its bytes
    # count once the file is read); the last fraction is every byte
    assert 0.0 < seen[0] <= (sizes["ES"][0] + sizes["NQ"][0]) / total + 1e-12
    assert seen == sorted(seen) and seen[0] < seen[-1]
    assert fraction() == 1.0


def test_sim_span_is_its_first_open_and_last_close_and_no_last_bar_is_partial():
    cfg = config({"sim": {"seed": 7, "days": 2, "start": "2025-03-03"}})
    context = ComponentContext(cfg, ("ES", "NQ"), 300 * 10**9, "sim", "rsengine_sim", None)
    first, last = SimSource({"days": 2, "start": dt.date(2025, 3, 3)}, context).span()
    assert (first, last) == (et_ns("2025-03-02 18:00"), et_ns("2025-03-04 17:00"))

    watcher = PartialFlags()
    summary = build_engine(cfg, watchers=[watcher]).run()
    assert watcher.slices > 500 and watcher.partial == 0  # complete to 17:00 ET
    assert summary.partial_bars == 0


class PartialFlags:
    def __init__(self):
        self.slices = self.partial = 0

    @hookimpl
    def rsengine_slice_closed(self, engine, slice, values):
        self.slices += 1
        self.partial += int((slice.flags & PARTIAL).any())
