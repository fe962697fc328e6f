"""In a replay the ``ninjatrader`` output writes the chart's signal file once
a batch, not once a signal, and leaves the same file at the end as writing
each signal at once would. Paced and live runs still write each signal at once.
"""

from __future__ import annotations

import importlib.resources

import pytest
import yaml
from rsengine_ninjatrader import NinjaTraderOutput
from rsengine_ninjatrader.signal_file import SignalFile

from rsengine import hookimpl
from rsengine.config import Config, load_config
from rsengine.core.types import SliceBatch
from rsengine.host.runner import build_engine
from rsengine.model import Signal
from rsengine.state import RunSummary

NY = "America/New_York"


class Collect:
    def __init__(self):
        self.signals = []

    @hookimpl
    def rsengine_signal_emitted(self, signal):
        self.signals.append(signal)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo replay with the ninjatrader output (chart file only), its
    signals in order, and the output as the run left it."""
    folder = tmp_path_factory.mktemp("nt")
    demo = yaml.safe_load(importlib.resources.files("rsengine").joinpath("demo.yaml").read_text())
    demo["outputs"] = {"ninjatrader": {"folder": str(folder)}}
    collect = Collect()
    engine = build_engine(load_config(yaml.safe_dump(demo)), watchers=[collect])
    (output,) = [obj for name, _, obj in engine.outputs if name == "ninjatrader"]
    calls = []  # "batch" and "signal", in the order the engine made them
    for name in ("on_batch", "on_signal"):
        method = getattr(output, name)
        setattr(output, name, lambda *a, m=method, n=name: (calls.append(n), m(*a)))
    engine.run()
    return collect.signals, output, calls


def test_the_replay_leaves_the_file_that_writing_each_signal_at_once_leaves(demo_run, tmp_path):
    signals, output, _ = demo_run
    one_by_one = SignalFile(tmp_path / "signals.txt", NY)
    for signal in signals:
        one_by_one.add(signal)  # written at once, as the output did before
    one_by_one.close()
    assert one_by_one.writes == len(signals)
    assert output.signal_file.path.read_bytes() == (tmp_path / "signals.txt").read_bytes()


def test_the_replay_writes_the_file_once_for_each_batch_that_brought_signals(demo_run):
    signals, output, calls = demo_run
    assert calls.count("on_signal") == len(signals)
    # the signals of one batch come after its on_batch, before the next one's
    batches_with_signals = sum(
        1 for k, call in enumerate(calls) if call == "on_signal" and calls[k - 1] == "on_batch"
    )
    assert len(signals) > 2 * batches_with_signals  # so the count below says something
    assert output.signal_file.writes == batches_with_signals


def signal(k: int) -> Signal:
    return Signal(
        ts_close=1_741_185_600 * 10**9 + k * 300 * 10**9,
        session_date="2025-03-05",
        name="test",
        kind="context",
        instrument="ES",
        side="long",
        reason=f"signal {k}",
    )


def output_for(mode: str, folder) -> NinjaTraderOutput:
    class Context:
        config = Config.from_dict({"run": {"mode": mode}})
        component = None

    return NinjaTraderOutput({"folder": str(folder)}, Context())


def ids_on_disk(output) -> list[str]:
    path = output.signal_file.path
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("|")[0] for line in lines]


def test_in_a_replay_a_batchs_signals_reach_the_file_at_the_next_batch_or_the_end(tmp_path):
    out = output_for("replay", tmp_path)
    batch = SliceBatch.empty(out.config.symbols)
    out.on_batch(batch, {})
    first, second, third = signal(1), signal(2), signal(3)
    out.on_signal(first)
    out.on_signal(second)
    assert ids_on_disk(out) == []
    out.on_batch(batch, {})
    assert ids_on_disk(out) == [first.id, second.id]
    out.on_batch(batch, {})  # nothing new: no write
    assert out.signal_file.writes == 1
    out.on_signal(third)
    out.close(RunSummary())
    assert ids_on_disk(out) == [first.id, second.id, third.id]
    assert out.signal_file.writes == 2


@pytest.mark.parametrize("mode", ["paced", "live"])
def test_paced_and_live_runs_write_each_signal_at_once(tmp_path, mode):
    out = output_for(mode, tmp_path)
    out.on_batch(SliceBatch.empty(out.config.symbols), {})
    shown = []
    for k in range(3):
        s = signal(k)
        out.on_signal(s)
        shown.append(s.id)
        assert ids_on_disk(out) == shown
    out.close(RunSummary())
    assert out.signal_file.writes == 3
