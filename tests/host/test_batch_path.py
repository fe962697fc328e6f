"""The engine's batch path: whole batches of slices per component call give the
same journal as slice by slice, sessions split where the clock says, daily bars
and the market view are right.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import et_ns

from rsengine import hookimpl
from rsengine.config import Config
from rsengine.exchange.sessions import SessionBounds, session_date_of, split_sessions
from rsengine.host.runner import build_engine
from rsengine.model import iso_utc, iso_utc_many

DEMO_DAYS = {
    "run": {"mode": "replay"},
    "instruments": {"ES": {}, "NQ": {}, "RTY": {}, "YM": {}, "ZN": {}},
    "sources": {"sim": {"seed": 3, "days": 3}},
    "indicators": {"rs": {}},
}


class WatchEverySlice:
    """Implements slice_closed, which puts the engine in slice-by-slice mode."""

    def __init__(self):
        self.count = 0

    @hookimpl
    def rsengine_slice_closed(self, engine, slice, values):
        self.count += 1


def run_demo(tmp_path, name, watchers=()):
    record = {"dir": str(tmp_path / name), "format": "csv"}
    config = Config.from_dict({**DEMO_DAYS, "outputs": {"record": record}})
    engine = build_engine(config, watchers=watchers)
    summary = engine.run()
    return engine, summary, (tmp_path / name / "bars.csv").read_bytes()


def test_batches_and_slice_by_slice_write_identical_bars(tmp_path):
    fast, fast_summary, fast_bars = run_demo(tmp_path, "batch")
    watcher = WatchEverySlice()
    slow, slow_summary, slow_bars = run_demo(tmp_path, "rows", [watcher])
    assert not fast.row_by_row and slow.row_by_row
    assert watcher.count == slow_summary.slices == fast_summary.slices > 0
    assert fast_bars == slow_bars
    assert fast_summary.sessions == slow_summary.sessions == 3


def test_daily_bars_equal_each_sessions_bars(tmp_path):
    engine, _, _ = run_demo(tmp_path, "daily")
    import pandas as pd

    bars = pd.read_csv(tmp_path / "daily" / "bars.csv")
    bars = bars[bars.symbol == "NQ"].copy()
    stamps = pd.to_datetime(bars.ts_close).dt.tz_localize(None).to_numpy("datetime64[ns]")
    stamps = stamps.view(np.int64)
    bars["session"] = [session_date_of(int(t)).isoformat() for t in stamps]
    expected = bars.groupby("session").agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"),
        close=("close", "last"), volume=("volume", "sum"),
    )  # fmt: skip
    daily = engine.state.daily["NQ"]
    assert daily.dates == list(expected.index)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(getattr(daily, name), expected[name], rtol=1e-12)
    assert all(np.isfinite(daily.settle))


def test_split_sessions_puts_18_00_in_the_closing_session_and_18_05_in_the_next():
    t = [et_ns("2024-03-10 17:00"), et_ns("2024-03-10 18:00"), et_ns("2024-03-10 18:05"),
         et_ns("2024-03-11 09:35"), et_ns("2024-03-11 18:00") + 1]  # fmt: skip
    runs = list(split_sessions(np.array(t, dtype=np.int64)))
    assert runs == [
        (0, 2, dt.date(2024, 3, 10)),
        (2, 4, dt.date(2024, 3, 11)),
        (4, 5, dt.date(2024, 3, 12)),
    ]


def test_session_date_of_is_exact_to_the_nanosecond_at_18_00():
    t = et_ns("2024-11-04 18:00")
    assert session_date_of(t) == dt.date(2024, 11, 4)
    assert session_date_of(t + 1) == dt.date(2024, 11, 5)


@pytest.mark.parametrize(
    "day, rth_close",
    [
        ("2024-11-29", "2024-11-29 13:15"),  # day after Thanksgiving: early close
        ("2024-03-11", "2024-03-11 16:00"),  # first session after the DST change
        ("2024-11-04", "2024-11-04 16:00"),  # first session after the fall change
    ],
)
def test_session_bounds_follow_the_calendar_and_dst(day, rth_close):
    date = dt.date.fromisoformat(day)
    opened, closed, rth_open, rth_end = SessionBounds()(date)
    assert rth_open == et_ns(f"{day} 09:30")
    assert rth_end == et_ns(rth_close)
    assert opened == et_ns(f"{date - dt.timedelta(days=1)} 18:00")


def test_iso_utc_many_equals_iso_utc():
    ts = np.array([0, 1, 1_700_000_000_000_000_000, 1_700_000_000_123_456_789], np.int64)
    assert iso_utc_many(ts) == [iso_utc(int(t)) for t in ts]


class SliceProbe:
    """A setup with only ``evaluate``: notes what it sees of each slice."""

    columns_seen = ("rs_pct", "lead", "regime")

    def __init__(self, seen: list, lengths: list):
        self.seen, self.lengths = seen, lengths

    def evaluate(self, slice, state):
        ring = state.rings["NQ"]
        values = {name: np.asarray(state.values[name]).tolist() for name in self.columns_seen}
        tail = ring.column("close")[-3:].tolist() if len(ring) >= 3 else []
        # repr: NaN compares equal to NaN as text
        self.seen.append(repr((slice.ts_close, slice.close.tolist(), len(ring), tail, values)))
        self.lengths.append(len(ring))
        return []


def probed_analytics_run(tmp_path, name, batch_rows=None, probe=True):
    """The built-in analytics over 16 simulated sessions (more bars than a
    ring holds), optionally beside the slice-at-a-time probe."""
    seen: list = []
    lengths: list = []

    class Plugin:
        @hookimpl
        def rsengine_register_setups(self, registry):
            registry.add("probe", lambda s, c: SliceProbe(seen, lengths), "notes slices")

    tree = {
        **DEMO_DAYS,
        "sources": {"sim": {"seed": 5, "days": 16}},
        "indicators": {"rs": {}, "measures": {}, "group": {}, "regime": {}},
        "setups": {"context": {}, **({"probe": {}} if probe else {})},
        "outputs": {"record": {"dir": str(tmp_path / name), "format": "csv"}},
    }
    config = Config.from_dict(tree)
    from rsengine.host.runner import plugin_manager_for

    pm = plugin_manager_for(config)
    pm.register(Plugin(), name="probe-plugin")
    engine = build_engine(config, pm=pm)
    if batch_rows:
        engine.batch_rows = batch_rows
    summary = engine.run()
    out = tmp_path / name
    engine.ring_lengths = lengths
    journal = (out / "signals.jsonl").read_bytes(), (out / "bars.csv").read_bytes()
    return engine, summary, seen, *journal


def test_a_slice_at_a_time_setup_sees_what_it_saw_when_everything_went_slice_by_slice(tmp_path):
    mixed, _, seen, signals, bars = probed_analytics_run(tmp_path, "mixed")
    assert mixed.row_by_row and mixed.batch_rows > 1
    # the reference: every component one slice at a time, as the engine used to run
    _, _, seen_one, signals_one, bars_one = probed_analytics_run(tmp_path, "one", batch_rows=1)
    assert len(seen) == len(seen_one) > 16 * 270
    assert seen == seen_one
    assert max(mixed.ring_lengths) == 4096  # the ring is full, and no fuller
    assert signals == signals_one and bars == bars_one
    # and the built-ins alone, whole batches, give the same journal
    alone, _, _, signals_alone, bars_alone = probed_analytics_run(tmp_path, "alone", probe=False)
    assert not alone.row_by_row
    assert signals_alone == signals and bars_alone == bars
