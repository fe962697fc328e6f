"""The exchange calendar is built for the years a run touches, kept on disk, and
read back bit for bit: a narrow window's sessions are the full range's."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rsengine.exchange import sessions
from rsengine.exchange.sessions import load_schedule

FIELDS = ("session_date", "open_ns", "close_ns", "break_start_ns", "break_end_ns")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh disk cache and empty in-process caches."""
    monkeypatch.setenv("RSENGINE_CACHE_DIR", str(tmp_path))
    sessions._year_schedule.cache_clear()
    yield tmp_path / "calendars"
    sessions._year_schedule.cache_clear()


def same(a, b) -> bool:
    return all(
        np.array_equal(getattr(a, f), getattr(b, f)) and getattr(a, f).dtype == getattr(b, f).dtype
        for f in FIELDS
    )


@pytest.mark.parametrize("calendar", ["CME Globex Equity", "CME_Equity"])
def test_a_windows_sessions_are_the_full_ranges_and_the_calendars(cache, calendar):
    full = load_schedule(dt.date(2023, 11, 1), dt.date(2026, 3, 31), calendar)
    start, end = dt.date(2024, 12, 16), dt.date(2025, 1, 10)  # over a year's turn
    sessions._year_schedule.cache_clear()  # the window now reads the kept years
    window = load_schedule(start, end, calendar)
    dates = full.session_date
    keep = (dates >= np.datetime64(start)) & (dates <= np.datetime64(end))
    assert len(window) == keep.sum() > 15
    for f in FIELDS:
        assert np.array_equal(getattr(window, f), getattr(full, f)[keep])
    # against pandas_market_calendars asked for the window's dates alone
    import pandas_market_calendars as mcal

    frame = mcal.get_calendar(calendar).schedule(start_date=start, end_date=end)
    assert list(window.session_date.astype(str)) == [d.strftime("%Y-%m-%d") for d in frame.index]
    opens = frame["market_open"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    closes = frame["market_close"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    assert np.array_equal(window.open_ns, opens.to_numpy())
    assert np.array_equal(window.close_ns, closes.to_numpy())


def test_a_kept_year_reads_back_bit_for_bit(cache):
    built = sessions._build_year(2024, "CME Globex Equity")
    first = sessions._year_schedule(2024, "CME Globex Equity")  # builds and keeps it
    assert [p.name for p in cache.iterdir()][0].startswith("CME_Globex_Equity-2024-")
    sessions._year_schedule.cache_clear()
    kept = sessions._year_schedule(2024, "CME Globex Equity")
    assert same(first, built) and same(kept, built)
    assert pd.Timestamp(int(kept.close_ns[0]), tz="UTC").tz_convert("America/New_York").hour == 17


def test_a_run_whose_years_are_kept_does_not_import_the_calendar_library(cache):
    load_schedule(dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    code = (
        "import sys, datetime as dt\n"
        "from rsengine.exchange.sessions import load_schedule\n"
        "s = load_schedule(dt.date(2024, 3, 1), dt.date(2024, 3, 28))\n"
        "print(len(s), 'pandas_market_calendars' in sys.modules, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["20", "False", "False"]


def test_a_cache_folder_that_cannot_be_written_only_costs_the_build(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RSENGINE_CACHE_DIR", str(blocker))
    sessions._year_schedule.cache_clear()
    try:
        got = load_schedule(dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    finally:
        sessions._year_schedule.cache_clear()
    assert same(got, load_schedule(dt.date(2024, 3, 1), dt.date(2024, 3, 28)))
    assert len(got) == 20
