"""The engine loop through ``rsengine_harness``: every hook fires with the right
arguments and the right count, plugin errors stop or disable, and slices keep
their promises (one close per slice, gaps stay gaps, late and off-session
trades counted, paced equals replay).

Expected bars and counts are worked out here from the trades handed in, never
read back from what the engine printed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import et_ns

from rsengine import hookimpl
from rsengine.config import ConfigError
from rsengine.host.engine import PluginFailure
from rsengine.host.plugins import PluginLoadError
from rsengine.model import Signal, TradeChunk

SEC = 10**9
MIN = 60 * SEC
BAR = 5 * MIN
DAYS = ("2025-03-04", "2025-03-05")  # two Globex sessions (Tue, Wed)
TWO = {"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"]}


def ticks(start: str, seconds, price: float) -> list:
    """(ts, price, size) every listed second after ``start`` (ET); the price
    steps up by one each 5 minutes, so every bar has its own close."""
    t0 = et_ns(start)
    return [(t0 + s * SEC, price + s // 300, 1.0) for s in seconds]


def two_sessions() -> dict:
    """ES and NQ trading 10:00-10:15 ET on two session days: 3 bars each day."""
    return {
        "ES": [row for day in DAYS for row in ticks(f"{day} 10:00", range(0, 900, 7), 5000.0)],
        "NQ": [row for day in DAYS for row in ticks(f"{day} 10:00", range(0, 900, 5), 20000.0)],
    }


EXPECTED_CLOSES = [et_ns(f"{day} 10:{m:02d}") for day in DAYS for m in (5, 10, 15)]


def chunks(rows: list, size: int) -> list:
    """Rows cut into TradeChunks of ``size`` trades."""
    out = []
    for k in range(0, len(rows), size):
        ts, price, qty = zip(*rows[k : k + size], strict=True)
        out.append(TradeChunk(ts, price, qty))
    return out


class Probe:
    """A plugin with one of each component (all named after it) and every engine
    hook, all writing ``(plugin, event, payload)`` to a shared list.

    ``fail`` names the event that raises on its ``at``-th call.
    """

    def __init__(self, name: str, events: list, fail: str | None = None, at: int = 2):
        self.__name__ = name  # pluggy registers the object under this name
        self.events = events
        self.fail, self.at = fail, at
        self.counts: Counter = Counter()
        probe = self

        class Indicator:
            columns = (f"{name}_trades",)

            def __init__(self, settings, context):
                pass

            def update(self, slice, state):
                probe.record("indicator", {"ts_close": slice.ts_close})
                return {f"{name}_trades": slice.trades.astype(np.float64)}

        class Setup:
            def __init__(self, settings, context):
                pass

            def evaluate(self, slice, state):
                probe.record("setup", {"ts_close": slice.ts_close})
                signal = Signal(
                    ts_close=slice.ts_close,
                    session_date=state.session.date,
                    name=f"{name}_signal",
                    kind="setup",
                    instrument=slice.symbols[0],
                    side="long",
                    reason="one per slice",
                )
                probe.record("emit", {"signal": signal})
                return [signal]

        class Output:
            def __init__(self, settings, context):
                pass

            def on_slice(self, slice, values):
                probe.record("on_slice", {"slice": slice, "values": values})

            def on_signal(self, signal):
                probe.record("on_signal", {"signal": signal})

            def close(self, summary):
                probe.record("close", {"summary": summary})

        self.components = {"indicators": Indicator, "setups": Setup, "outputs": Output}

    def record(self, event: str, payload: dict | None = None) -> None:
        self.events.append((self.__name__, event, payload or {}))
        self.counts[event] += 1
        if event == self.fail and self.counts[event] == self.at:
            raise RuntimeError(f"{self.__name__} breaks in {event}")

    # registration
    @hookimpl
    def rsengine_register_indicators(self, registry):
        registry.add(self.__name__, self.components["indicators"])

    @hookimpl
    def rsengine_register_setups(self, registry):
        registry.add(self.__name__, self.components["setups"])

    @hookimpl
    def rsengine_register_outputs(self, registry):
        registry.add(self.__name__, self.components["outputs"])

    # lifecycle
    @hookimpl
    def rsengine_configure(self, config):
        self.record("configure", {"config": config})

    @hookimpl
    def rsengine_session_start(self, engine, session):
        self.record("session_start", {"engine": engine, "session": session})

    @hookimpl
    def rsengine_slice_closed(self, engine, slice, values):
        self.record("slice_closed", {"engine": engine, "slice": slice, "values": values})

    @hookimpl
    def rsengine_signal_emitted(self, engine, signal):
        self.record("signal_emitted", {"engine": engine, "signal": signal})

    @hookimpl
    def rsengine_session_end(self, engine, session):
        self.record("session_end", {"engine": engine, "session": session})

    @hookimpl
    def rsengine_run_finished(self, engine, summary):
        self.record("run_finished", {"engine": engine, "summary": summary})


def config_with(*names: str, **run) -> dict:
    """TWO plus an indicator, a setup and an output of each named probe."""
    components = {name: {} for name in names}
    return {
        **TWO,
        "run": run,
        "indicators": components,
        "setups": components,
        "outputs": components,
    }


def of(events: list, plugin: str, event: str) -> list:
    """Payloads of one plugin's ``event``, in order."""
    return [p for who, what, p in events if who == plugin and what == event]


@pytest.fixture
def probed(rsengine_harness):
    """One plugin ``probe`` on two sessions of ES and NQ: (run, events)."""
    events: list = []
    run = rsengine_harness.run(
        config_with("probe"), trades=two_sessions(), plugins=[Probe("probe", events)]
    )
    return run, events


# --- every hook: right arguments, right count --------------------------------------


def test_configure_fires_once_with_the_run_config(probed):
    run, events = probed
    calls = of(events, "probe", "configure")
    assert len(calls) == 1
    assert calls[0]["config"] is run.engine.config
    assert events[0][1] == "configure"  # before anything else of the run


def test_session_start_and_end_fire_once_per_session_in_order(probed):
    run, events = probed
    session_events = [
        (what, p["session"].date) for _, what, p in events if what.startswith("session_")
    ]
    assert session_events == [
        ("session_start", DAYS[0]),
        ("session_end", DAYS[0]),
        ("session_start", DAYS[1]),
        ("session_end", DAYS[1]),
    ]
    assert all(
        p["engine"] is run.engine
        for _, what, p in events
        if what in ("session_start", "session_end")
    )


def test_session_events_bracket_the_slices_of_their_session(probed):
    _, events = probed
    timeline = []
    for _, what, p in events:
        if what in ("session_start", "session_end"):
            timeline.append((what, p["session"].date))
        elif what == "slice_closed":
            day = DAYS[EXPECTED_CLOSES.index(p["slice"].ts_close) // 3]
            timeline.append(("slice", day))
    assert timeline == [
        ("session_start", DAYS[0]),
        *[("slice", DAYS[0])] * 3,
        ("session_end", DAYS[0]),
        ("session_start", DAYS[1]),
        *[("slice", DAYS[1])] * 3,
        ("session_end", DAYS[1]),
    ]


def test_session_start_comes_before_indicators_see_the_sessions_first_slice(probed):
    _, events = probed
    order = [what for _, what, _ in events if what in ("session_start", "indicator")]
    assert order == ["session_start", "indicator", "indicator", "indicator"] * 2


def test_slice_closed_fires_once_per_slice_with_engine_slice_and_values(probed):
    run, events = probed
    calls = of(events, "probe", "slice_closed")
    assert [c["slice"].ts_close for c in calls] == EXPECTED_CLOSES
    for call in calls:
        assert call["engine"] is run.engine
        assert call["slice"].symbols == ("ES", "NQ")
        # the values are what the indicators returned for this very slice
        np.testing.assert_array_equal(
            call["values"]["probe_trades"], call["slice"].trades.astype(np.float64)
        )


def _stamp(what, payload):
    if what in ("on_slice", "slice_closed"):
        return payload["slice"].ts_close
    return payload["ts_close"]


def test_each_slice_at_a_time_part_sees_every_slice_once_in_order(probed):
    _, events = probed
    for part in ("indicator", "setup", "on_slice", "slice_closed"):
        assert [_stamp(w, p) for _, w, p in events if w == part] == EXPECTED_CLOSES, part


def test_slice_closed_comes_after_indicators_setups_and_outputs_of_its_slice(probed):
    _, events = probed
    seen: dict = {}
    for _, what, payload in events:
        if what in ("indicator", "setup", "on_slice"):
            seen.setdefault(_stamp(what, payload), []).append(what)
        elif what == "slice_closed":
            assert seen.pop(payload["slice"].ts_close) == ["indicator", "setup", "on_slice"]
    assert not seen


def test_slice_closed_fires_once_per_slice_never_per_trade(rsengine_harness):
    # 3 bars x 2 instruments, a trade every second (1,800 trades), in chunks of 25
    trades = {
        "ES": chunks(ticks("2025-03-04 10:00", range(900), 5000.0), 25),
        "NQ": chunks(ticks("2025-03-04 10:00", range(900), 20000.0), 25),
    }
    events: list = []
    run = rsengine_harness.run(TWO, trades=trades, plugins=[Probe("probe", events)])
    assert len(of(events, "probe", "slice_closed")) == 3
    assert len(run.slices) == 3
    assert sum(int(s.trades.sum()) for s in run.slices) == 1800  # every trade is in a bar


def test_signal_emitted_fires_once_per_signal_with_that_signal(probed):
    run, events = probed
    emitted = [p["signal"] for p in of(events, "probe", "emit")]
    calls = of(events, "probe", "signal_emitted")
    assert len(emitted) == 6
    assert [c["signal"] for c in calls] == emitted
    assert all(c["engine"] is run.engine for c in calls)
    assert [c["signal"].ts_close for c in calls] == EXPECTED_CLOSES


def test_signal_of_a_slice_is_emitted_after_its_slice_closed_and_before_the_next(probed):
    _, events = probed
    order = [what for _, what, _ in events if what in ("slice_closed", "signal_emitted")]
    assert order == ["slice_closed", "signal_emitted"] * 6


def test_outputs_receive_each_signal_before_signal_emitted_fires(probed):
    _, events = probed
    order = [
        (what, p["signal"].id) for _, what, p in events if what in ("on_signal", "signal_emitted")
    ]
    ids = [p["signal"].id for p in of(events, "probe", "emit")]
    assert order == [pair for sid in ids for pair in (("on_signal", sid), ("signal_emitted", sid))]


def test_outputs_get_each_slice_and_each_signal_once_and_close_once(probed):
    _, events = probed
    assert [p["slice"].ts_close for p in of(events, "probe", "on_slice")] == EXPECTED_CLOSES
    assert len(of(events, "probe", "on_signal")) == 6
    assert len(of(events, "probe", "close")) == 1


def test_run_finished_fires_once_last_with_the_summary(probed):
    run, events = probed
    calls = of(events, "probe", "run_finished")
    assert len(calls) == 1
    assert events[-1][1] == "run_finished"
    summary = calls[0]["summary"]
    assert summary is run.summary
    assert calls[0]["engine"] is run.engine
    assert (summary.sessions, summary.slices, summary.signals) == (2, 6, 6)
    assert summary.signals_by_name == {"probe_signal": 6}
    assert summary.failed is None


def test_configure_raising_config_error_refuses_the_config(rsengine_harness):
    class Refuser:
        __name__ = "refuser"

        @hookimpl
        def rsengine_configure(self, config):
            raise ConfigError("refused by refuser", key_path="run.mode")

    with pytest.raises(ConfigError, match="refused by refuser"):
        rsengine_harness.run(TWO, trades=two_sessions(), plugins=[Refuser()])


def test_configure_raising_is_a_plugin_failure_naming_the_plugin(rsengine_harness):
    events: list = []
    with pytest.raises(PluginFailure) as info:
        rsengine_harness.run(
            TWO, trades=two_sessions(), plugins=[Probe("boom", events, fail="configure", at=1)]
        )
    assert info.value.plugin == "boom"


def test_configure_raising_stops_start_up_before_any_slice(rsengine_harness):
    events: list = []
    probes = [Probe("watch", events), Probe("boom", events, fail="configure", at=1)]
    with pytest.raises(PluginFailure, match="rsengine_configure"):
        rsengine_harness.run(config_with("watch"), trades=two_sessions(), plugins=probes)
    assert {what for _, what, _ in events} == {"configure"}  # no component ran


@pytest.mark.parametrize("style", ["wrapper", "hookwrapper"])
def test_wrapper_hookimpl_is_refused_at_start_up_naming_plugin_and_hook(rsengine_harness, style):
    # the engine calls each implementation on its own, so a wrapper would never
    # run: it is refused instead of being silently skipped
    class Wrapper:
        __name__ = "wrapping"

        @hookimpl(**{style: True})
        def rsengine_slice_closed(self, slice):
            yield

    with pytest.raises(PluginLoadError, match="'wrapping'") as info:
        rsengine_harness.run(TWO, trades=two_sessions(), plugins=[Wrapper()])
    assert "rsengine_slice_closed" in str(info.value)


# --- on_plugin_error --------------------------------------------------------------------

FAILURE_POINTS = [
    ("indicator", 2),
    ("setup", 2),
    ("on_slice", 2),
    ("on_signal", 2),
    ("slice_closed", 2),
    ("signal_emitted", 2),
    ("session_start", 2),
    ("session_end", 1),
]
POINT_IDS = [f"{event}#{at}" for event, at in FAILURE_POINTS]
# with `disable` the run goes on after run_finished fails too
DISABLE_POINTS = [*FAILURE_POINTS, ("run_finished", 1)]
DISABLE_IDS = [*POINT_IDS, "run_finished#1"]


def run_with_boom(harness, on_plugin_error: str, fail: str, at: int):
    """Plugins ``watch`` and ``boom`` (registered last, so its hooks run first);
    ``boom`` raises in ``fail`` on its ``at``-th call. Returns (run, events)."""
    events: list = []
    plugins = [Probe("watch", events), Probe("boom", events, fail=fail, at=at)]
    config = config_with("watch", "boom", on_plugin_error=on_plugin_error)
    return harness.run(config, trades=two_sessions(), plugins=plugins), events


@pytest.mark.parametrize(("fail", "at"), FAILURE_POINTS, ids=POINT_IDS)
def test_plugin_error_with_stop_ends_the_run_with_a_failure_naming_the_plugin(
    rsengine_harness, fail, at
):
    events: list = []
    plugins = [Probe("watch", events), Probe("boom", events, fail=fail, at=at)]
    with pytest.raises(PluginFailure) as info:
        rsengine_harness.run(
            config_with("watch", "boom", on_plugin_error="stop"),
            trades=two_sessions(),
            plugins=plugins,
        )
    assert info.value.plugin == "boom"
    assert "plugin 'boom'" in str(info.value)
    assert isinstance(info.value.original, RuntimeError)


def test_stop_processes_no_slice_after_the_failing_one(rsengine_harness):
    events: list = []
    plugins = [Probe("watch", events), Probe("boom", events, fail="indicator", at=2)]
    with pytest.raises(PluginFailure, match="indicator boom"):
        rsengine_harness.run(
            config_with("watch", "boom", on_plugin_error="stop"),
            trades=two_sessions(),
            plugins=plugins,
        )
    # the batch holding the failing slice is not delivered; nothing after it is
    for event in ("slice_closed", "on_slice"):
        delivered = [p["slice"].ts_close for p in of(events, "watch", event)]
        assert delivered == EXPECTED_CLOSES[: len(delivered)] and len(delivered) <= 1


def test_stop_still_closes_outputs_and_reports_run_finished_with_the_failure(rsengine_harness):
    events: list = []
    plugins = [Probe("watch", events), Probe("boom", events, fail="indicator", at=2)]
    with pytest.raises(PluginFailure):
        rsengine_harness.run(
            config_with("watch", "boom", on_plugin_error="stop"),
            trades=two_sessions(),
            plugins=plugins,
        )
    assert len(of(events, "watch", "close")) == 1
    finished = of(events, "watch", "run_finished")
    assert len(finished) == 1
    assert "boom" in finished[0]["summary"].failed


@pytest.mark.parametrize(("fail", "at"), DISABLE_POINTS, ids=DISABLE_IDS)
def test_disable_goes_on_and_lists_the_disabled_plugin(rsengine_harness, fail, at):
    run, _ = run_with_boom(rsengine_harness, "disable", fail, at)
    assert run.summary.disabled_plugins == ["boom"]
    assert run.summary.failed is None
    assert run.summary.slices == 6


@pytest.mark.parametrize(("fail", "at"), DISABLE_POINTS, ids=DISABLE_IDS)
def test_disabled_plugin_gets_no_call_after_its_failure(rsengine_harness, fail, at):
    _, events = run_with_boom(rsengine_harness, "disable", fail, at)
    boom = [what for who, what, _ in events if who == "boom"]
    assert boom.count(fail) == at  # the failing call was its last
    assert boom[-1] == fail


@pytest.mark.parametrize(("fail", "at"), DISABLE_POINTS, ids=DISABLE_IDS)
def test_other_plugins_get_every_call_exactly_once_when_one_is_disabled(rsengine_harness, fail, at):
    run, events = run_with_boom(rsengine_harness, "disable", fail, at)
    signals = [p["signal"] for who, what, p in events if what == "emit"]
    # delivered in time order, setups in their configured order within a slice
    emitted = [s.id for s in sorted(signals, key=lambda s: s.ts_close)]
    assert len(emitted) == len(set(emitted)) == run.summary.signals
    assert len(of(events, "watch", "emit")) == 6  # watch's setup saw every slice

    assert [p["slice"].ts_close for p in of(events, "watch", "slice_closed")] == EXPECTED_CLOSES
    assert [p["slice"].ts_close for p in of(events, "watch", "on_slice")] == EXPECTED_CLOSES
    # every emitted signal (watch's and boom's before it broke): once, in order
    assert [p["signal"].id for p in of(events, "watch", "on_signal")] == emitted
    assert [p["signal"].id for p in of(events, "watch", "signal_emitted")] == emitted
    counts = Counter(what for who, what, _ in events if who == "watch")
    assert counts["session_start"] == counts["session_end"] == 2
    assert counts["configure"] == counts["close"] == counts["run_finished"] == 1


def test_disabled_plugin_is_listed_once_and_its_other_components_are_not_called(
    rsengine_harness,
):
    calls = []

    class Breaking:
        def __init__(self, settings, context):
            self.name = context.name

        def on_slice(self, slice, values):
            calls.append(self.name)
            raise RuntimeError("broken output")

        def on_signal(self, signal):
            pass

        def close(self, summary):
            pass

    class TwoOutputs:
        __name__ = "twins"

        @hookimpl
        def rsengine_register_outputs(self, registry):
            registry.add("first", Breaking)
            registry.add("second", Breaking)

    run = rsengine_harness.run(
        {**TWO, "run": {"on_plugin_error": "disable"}, "outputs": {"first": {}, "second": {}}},
        trades=two_sessions(),
        plugins=[TwoOutputs()],
    )
    assert run.summary.disabled_plugins == ["twins"]
    assert calls == ["first"]


# --- slices: one close each, gaps stay gaps, bad trades counted -----------------------------


def bars_of(rows: list) -> dict:
    """ts_close -> trade count, by flooring each trade to the 5-minute grid
    (sessions open at 18:00 ET, a whole number of 5-minute bars from any
    10:00-10:30 trade)."""
    out: Counter = Counter()
    for ts, _, _ in rows:
        out[ts - (ts - et_ns("2025-03-03 18:00")) % BAR + BAR] += 1
    return dict(out)


def test_present_bars_of_a_slice_all_close_at_the_slice_close(rsengine_harness):
    # ES in one-minute chunks with a gap; NQ in one chunk starting later and
    # running longer, so NQ's bars are ready long before ES catches up
    es = ticks("2025-03-04 10:00", [*range(0, 600, 3), *range(900, 1500, 4)], 5000.0)
    nq = ticks("2025-03-04 10:03", range(0, 1500, 2), 20000.0)
    run = rsengine_harness.run(TWO, trades={"ES": chunks(es, 20), "NQ": chunks(nq, 10_000)})

    closes = [s.ts_close for s in run.slices]
    assert closes == sorted(set(closes))  # one slice per close, in order
    seen: dict = {"ES": {}, "NQ": {}}
    for s in run.slices:
        for i, symbol in enumerate(s.symbols):
            if s.present[i]:
                assert s.ts_open[i] == s.ts_close - BAR
                seen[symbol][s.ts_close] = int(s.trades[i])
    assert seen == {"ES": bars_of(es), "NQ": bars_of(nq)}


def test_instrument_without_trades_in_an_interval_is_missing_not_forward_filled(
    rsengine_harness,
):
    es = ticks("2025-03-04 10:00", range(0, 900, 10), 5000.0)
    nq = ticks("2025-03-04 10:00", [*range(0, 300, 10), *range(600, 900, 10)], 20000.0)
    run = rsengine_harness.run(TWO, trades={"ES": es, "NQ": nq})

    assert [s.ts_close for s in run.slices] == [
        et_ns(f"2025-03-04 10:{m:02d}") for m in (5, 10, 15)
    ]
    gap = run.slices[1]
    assert gap.missing == ("NQ",)
    assert list(gap.present) == [True, False]
    assert gap.ts_open[1] == -1 and gap.trades[1] == 0
    assert np.isnan([gap.open[1], gap.high[1], gap.low[1], gap.close[1]]).all()
    assert gap.close[0] == 5001.0  # ES has its own second bar
    # the bar after the gap is NQ's own (10:10-10:15 prices), not the one before
    assert run.slices[2].close[1] == 20002.0 and run.slices[0].close[1] == 20000.0


def test_missing_instrument_slots_are_counted_in_the_summary(rsengine_harness):
    es = ticks("2025-03-04 10:00", range(0, 900, 10), 5000.0)
    nq = ticks("2025-03-04 10:00", range(600, 900, 10), 20000.0)  # only the third bar
    run = rsengine_harness.run(TWO, trades={"ES": es, "NQ": nq})
    assert run.summary.slices == 3
    assert run.summary.missing == 2


def test_late_trades_are_counted_in_the_summary_and_kept_out_of_the_bars(rsengine_harness):
    es = ticks("2025-03-04 10:00", range(0, 900, 10), 5000.0)
    late = ticks("2025-03-04 10:01", [0, 5, 9], 4000.0)  # after the 10:00-10:05 bar closed
    run = rsengine_harness.run(
        TWO, trades={"ES": [*chunks(es, 1000), *chunks(late, 1000)], "NQ": es}
    )
    assert run.summary.late_trades == 3
    es_bars = [s for s in run.slices if s.present[0]]
    assert sum(int(s.trades[0]) for s in es_bars) == len(es)
    assert min(float(s.low[0]) for s in es_bars) == 5000.0  # no 4000 print got in


def test_off_session_trades_are_counted_in_the_summary_and_kept_out_of_the_bars(
    rsengine_harness,
):
    es = ticks("2025-03-04 10:00", range(0, 900, 10), 5000.0)
    halt = ticks("2025-03-04 17:20", [0, 60], 4000.0)  # 17:00-18:00 ET daily halt
    run = rsengine_harness.run(TWO, trades={"ES": es + halt, "NQ": es})
    assert run.summary.off_session_trades == 2
    assert run.summary.late_trades == 0
    assert sum(int(s.trades[0]) for s in run.slices) == len(es)


# --- paced mode ---------------------------------------------------------------------------


def minute_chunks() -> dict:
    """Both instruments in one-minute chunks over 15 minutes."""
    return {
        "ES": chunks(ticks("2025-03-04 10:00", range(0, 900, 6), 5000.0), 10),
        "NQ": chunks(ticks("2025-03-04 10:00", range(0, 900, 4), 20000.0), 15),
    }


def test_paced_mode_gives_the_same_slices_as_replay(rsengine_harness):
    replay = rsengine_harness.run(TWO, trades=two_sessions())
    paced = rsengine_harness.run(
        {**TWO, "run": {"mode": "paced", "speed": 1e9}}, trades=two_sessions()
    )
    assert len(paced.slices) == len(replay.slices) == 6
    assert all(a.equals(b) for a, b in zip(paced.slices, replay.slices, strict=True))


def test_paced_mode_holds_data_time_to_speed_times_the_wall_clock(rsengine_harness):
    replay = rsengine_harness.run(TWO, trades=minute_chunks())
    # the last chunk starts 14 minutes (840 s) of data after the first: 0.42 s at 2000x
    paced = rsengine_harness.run(
        {**TWO, "run": {"mode": "paced", "speed": 2000}}, trades=minute_chunks()
    )
    assert paced.summary.elapsed_s >= replay.summary.elapsed_s + 0.35
    assert all(a.equals(b) for a, b in zip(paced.slices, replay.slices, strict=True))


@pytest.mark.parametrize("on_plugin_error", ["stop", "disable"])
def test_an_output_that_cannot_close_fails_the_run_after_closing_the_others(
    rsengine_harness, on_plugin_error
):
    # its results may not have been delivered (a move into place, a final flush)
    events: list = []
    plugins = [Probe("watch", events), Probe("boom", events, fail="close", at=1)]
    with pytest.raises(PluginFailure) as info:
        rsengine_harness.run(
            config_with("watch", "boom", on_plugin_error=on_plugin_error),
            trades=two_sessions(),
            plugins=plugins,
        )
    assert info.value.plugin == "boom" and info.value.where == "output boom.close"
    assert ("watch", "close") in [(p, e) for p, e, _ in events]
