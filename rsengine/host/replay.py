"""Replay: the sources' chunks merged in time order, through the engine as
fast as it goes, or paced at ``run.speed`` x the wall clock."""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator

import structlog

log = structlog.get_logger("rsengine.engine")
END_OF_TIME = 2**63 - 1  # mark_through it: no more data for that instrument


def replay(engine, paced: bool) -> None:
    """Merge the sources' chunks in time order and run them through ``engine``
    as fast as it goes, or with ``paced`` at ``run.speed`` x the wall clock."""
    heap: list = []
    streams: dict[str, Iterator] = {}
    source_of: dict[str, str] = {}
    data_end: dict[str, int | None] = {}
    for name, plugin, source in engine.sources:
        for symbol, stream in engine.call(plugin, f"source {name}.streams", source.streams).items():
            if symbol not in engine.index:
                raise ValueError(f"source {name!r} delivers {symbol!r}, which is not configured")
            if symbol in streams:
                raise ValueError(f"two sources deliver {symbol!r}")
            streams[symbol] = iter(stream)
            source_of[symbol] = name
            data_end[symbol] = _data_end(source)
    order = {s: k for k, s in enumerate(engine.symbols)}
    for symbol in engine.symbols:
        if symbol not in streams:  # e.g. a test feeding some instruments only
            _without_data(engine, symbol, f"no source delivers {symbol}", fatal=False)
        elif _push_next(heap, symbol, streams[symbol], order) is None:
            what = f"source {source_of[symbol]!r} delivers no data for {symbol}"
            _without_data(engine, symbol, what, fatal=symbol in engine.config.group_symbols)
    pacer = _Pacer(engine.config.run.speed) if paced else None
    while heap and not engine.stop_requested.is_set():
        first_ts, _, symbol, chunk = heapq.heappop(heap)
        if pacer:
            pacer.wait_until(first_ts)
        feed = engine.feeds[symbol]
        engine.push_bars(symbol, feed.ingest(chunk))
        nxt = _push_next(heap, symbol, streams[symbol], order)
        i = engine.index[symbol]
        if nxt is None:
            if data_end.get(symbol) is not None:  # the data is complete up to there
                engine.push_bars(symbol, feed.bars.flush(data_end[symbol]))
            engine.push_bars(symbol, feed.bars.finish())
            engine.assembler.mark_through(i, END_OF_TIME)
        else:
            # the next chunk starts at nxt: nothing of this instrument lies before it
            engine.push_bars(symbol, feed.bars.flush(nxt))
            engine.assembler.mark_through(i, nxt)
        engine.process_ready()
        if engine.on_progress:
            engine.on_progress(int(chunk.ts[-1]) if len(chunk) else first_ts)
    engine.process_ready(final=True)


def _without_data(engine, symbol: str, what: str, fatal: bool) -> None:
    """An instrument no data will come for: a warning, or an error (a
    group member with an empty source)."""
    if fatal:
        raise ValueError(
            f"{what}, a member of the group: nothing to compare it by (an empty or "
            "header-only file, or no data inside the start/end window?)"
        )
    log.warning("instrument without data", instrument=symbol, detail=what)
    engine.summary.notes.append(f"{what}: it is missing in every slice")
    engine.assembler.mark_through(engine.index[symbol], END_OF_TIME)


@staticmethod
def _push_next(heap, symbol, stream, order):
    for chunk in stream:
        if len(chunk):
            first = int(chunk.ts[0])
            heapq.heappush(heap, (first, order[symbol], symbol, chunk))
            return first
    return None


def _data_end(source) -> int | None:
    """Where a source's data ends (ns UTC), from its optional ``span()``: its
    data is complete up to there, so a last bar ending by then is no partial."""
    tell = getattr(source, "span", None)
    span = tell() if callable(tell) else None
    return None if span is None else int(span[1])


class _Pacer:
    """Sleeps so that data time advances at ``speed`` x the wall clock."""

    def __init__(self, speed: float):
        self.speed = speed
        self.data_start: int | None = None
        self.wall_start = 0.0

    def wait_until(self, data_ns: int) -> None:
        if self.data_start is None:
            self.data_start, self.wall_start = data_ns, time.monotonic()
            return
        due = self.wall_start + (data_ns - self.data_start) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 5.0))
