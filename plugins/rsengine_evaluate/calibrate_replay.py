"""Replays of a config with thresholds set through overrides (``--set``), for
the calibration: the engine itself fires every signal that is reported.

A walk-forward block is replayed from the start of the data to the Globex
close of its last session (:class:`CutSource` stops every stream there), so
each signal in it is the one a run with the block's thresholds would have
emitted, with every indicator warmed up exactly as in a full replay.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import attrs
import numpy as np

from .capture import Capture, CaptureOutput, without_outputs


class CutSource:
    """A source whose streams stop before ``cut_ns`` (trades stamped, bars
    opened, before it); every other attribute is the wrapped source's."""

    def __init__(self, source, cut_ns: int):
        self._source, self._cut = source, int(cut_ns)

    def __getattr__(self, name):
        return getattr(self._source, name)

    def span(self):
        tell = getattr(self._source, "span", None)
        span = tell() if callable(tell) else None
        return None if span is None else (span[0], min(int(span[1]), self._cut))

    def streams(self) -> dict:
        return {s: self._until(stream) for s, stream in self._source.streams().items()}

    def _until(self, stream):
        for chunk in stream:
            keep = int(np.searchsorted(chunk.ts, self._cut, side="left"))
            if keep == len(chunk):
                yield chunk
                continue
            if keep:
                fields = {f.name: getattr(chunk, f.name) for f in attrs.fields(type(chunk))}
                yield type(chunk)(
                    **{k: v[:keep] if isinstance(v, np.ndarray) else v for k, v in fields.items()}
                )
            return


def load(config_source, overrides=()):
    from rsengine.config import load_config

    return load_config(config_source, overrides=list(overrides))


def replay(config, cut_ns=None, extra_outputs=(), progress="off", stream=sys.stderr) -> Capture:
    """Replay ``config`` without its outputs (as :func:`.capture.capture`),
    cut at ``cut_ns`` when given, with ``extra_outputs`` beside the capture."""
    from rsengine.app.summary import run_with_progress
    from rsengine.host.runner import build_engine

    config = without_outputs(config)
    engine = build_engine(config)
    if cut_ns is not None:
        engine.sources = [(n, p, CutSource(s, cut_ns)) for n, p, s in engine.sources]
    out = CaptureOutput(engine.symbols)
    for k, extra in enumerate((out, *extra_outputs)):
        engine.outputs.append((f"calibrate{k}", "evaluate", extra))
    summary = run_with_progress(engine, stream, progress)
    return Capture(market=out.market(config), signals=tuple(out.signals), summary=summary)


@attrs.frozen
class Run:
    """One replay to make: overrides on top of the user's, the cut, and the
    sessions whose signals to keep (None: all)."""

    overrides: tuple
    cut_ns: int | None = None
    sessions: frozenset | None = None


def signals_of(config_source, base_overrides, run: Run) -> tuple:
    """The signals of one :class:`Run` (top level, so that a worker process can run it)."""
    captured = replay(load(config_source, (*base_overrides, *run.overrides)), run.cut_ns)
    if run.sessions is None:
        return captured.signals
    return tuple(s for s in captured.signals if s.session_date in run.sessions)


def run_all(config_source, base_overrides, runs: list, jobs: int = 1) -> list[tuple]:
    """The signals of every run, in order; ``jobs`` > 1 replays in that many processes."""
    if jobs <= 1 or len(runs) <= 1:
        return [signals_of(config_source, base_overrides, r) for r in runs]
    with ProcessPoolExecutor(max_workers=min(jobs, len(runs))) as pool:
        n = len(runs)
        return list(pool.map(signals_of, [config_source] * n, [base_overrides] * n, runs))
