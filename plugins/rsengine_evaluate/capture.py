"""Capture: one replay of a config, keeping every signal and every bar.

``capture(config)`` builds the engine exactly as ``rsengine run`` does, minus
the config's outputs (an evaluation writes no journals, sends no webhooks and
places no orders), and adds one output of its own, :class:`CaptureOutput`.
An output was chosen over a watcher hook because ``on_batch`` gets whole
batches: the replay stays on the engine's fast path, where a
``rsengine_slice_closed`` watcher would make it walk every slice.

The result is a :class:`Capture`: the signals in the order they were emitted
and a :class:`Market`, each instrument's bars on the engine's grid as numpy
arrays (:class:`InstrumentBars`).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from zoneinfo import ZoneInfo

import attrs
import numpy as np

from rsengine.exchange.sessions import SessionBounds, split_sessions

MINUTE_NS = 60 * 10**9
DAY_MINUTES = 24 * 60


@attrs.frozen(eq=False)
class InstrumentBars:
    """One instrument's bars, oldest first; every array has one entry per bar.

    Attributes:
        symbol: The configured symbol (``MNQ`` when it stands in for NQ).
        ts_close: Bar close, int64 ns UTC (the bar's canonical stamp).
        session: int32 index into :attr:`Market.sessions`.
        open, high, low, close: float64 prices.
        atr: The ``atr`` column (daily ATR in points, indicator ``measures``),
            NaN where unknown or when no indicator provides it.
        regime: The ``regime`` column (text, indicator ``regime``), ``"unknown"``
            without it.
        minute: Minute of the day of ``ts_close`` in the session timezone (ET),
            0..1439.
        rs_pct: The ``rs_pct`` column (RS% from the prior close, indicator
            ``rs``), NaN where unknown, for an internal, or without the indicator.
    """

    symbol: str
    ts_close: np.ndarray
    session: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    atr: np.ndarray
    regime: np.ndarray
    minute: np.ndarray
    rs_pct: np.ndarray = attrs.field(
        default=attrs.Factory(lambda self: np.full(len(self.ts_close), np.nan), takes_self=True)
    )

    def __len__(self) -> int:
        return len(self.ts_close)

    def index_at(self, ts_ns) -> np.ndarray:
        """Index of the last bar closing at or before each stamp (-1: none)."""
        return np.searchsorted(self.ts_close, ts_ns, side="right") - 1


@attrs.frozen(eq=False)
class Market:
    """Every instrument's bars and the sessions they fall in.

    Attributes:
        symbols: The configured symbols, in config order.
        sessions: ISO session dates (the day a Globex session closes), in order.
        rth_close: int64 ns UTC per session: 16:00 ET, or the early close.
        session_close: int64 ns UTC per session: the Globex close.
        bars: symbol -> :class:`InstrumentBars`.
        tick: symbol -> tick size in points (the instrument's settings).
        point_value: symbol -> $ per point (None for an index or internals).
        roots: symbol -> its contract root (``MES``).
        tz: The session timezone the minutes are in.
        stands_for: symbol -> the group name it stands in for (``MNQ`` -> ``NQ``),
            for the symbols with an ``as``.
        tick_symbol: The configured $TICK instrument (root ``$TICK``), ``""``
            without one; its bars' closes are the readings.
        slice_ts: Every slice's ``ts_close`` (int64 ns UTC), whether or not an
            instrument had a bar in it.
        slice_session: int32 index into :attr:`sessions` per slice.
        slice_regime: The ``regime`` column per slice (market-wide text).
    """

    symbols: tuple
    sessions: tuple
    rth_close: np.ndarray
    session_close: np.ndarray
    bars: dict
    tick: dict
    point_value: dict
    roots: dict = attrs.field(factory=dict)
    tz: str = "America/New_York"
    stands_for: dict = attrs.field(factory=dict)
    tick_symbol: str = ""
    slice_ts: np.ndarray = attrs.field(factory=lambda: np.zeros(0, np.int64))
    slice_session: np.ndarray = attrs.field(factory=lambda: np.zeros(0, np.int32))
    slice_regime: np.ndarray = attrs.field(factory=lambda: np.zeros(0, object))

    def session_index(self, date: str) -> int:
        i = int(np.searchsorted(np.array(self.sessions), date))
        if i >= len(self.sessions) or self.sessions[i] != date:
            raise KeyError(f"session {date} is not in the captured data")
        return i


@attrs.frozen(eq=False)
class Capture:
    """What one replay produced: the market, the signals and the run's summary.

    ``replay_s`` is the wall time of the replay itself (for the benchmark);
    it is never written to the evaluation's files.
    """

    market: Market
    signals: tuple
    summary: object
    replay_s: float = 0.0


class CaptureOutput:
    """An output keeping each batch's bars and each signal (see module doc)."""

    def __init__(self, symbols, columns=("atr", "regime", "rs_pct")):
        self.symbols = tuple(symbols)
        self.columns = columns
        self.parts: list[dict] = []
        self.signals: list = []

    def on_batch(self, batch, values) -> None:
        n, k = batch.present.shape
        atr = values.get("atr")
        regime = values.get("regime")
        rs_pct = values.get("rs_pct")
        self.parts.append(
            {
                "ts_close": np.array(batch.ts_close, dtype=np.int64),
                "present": np.array(batch.present, dtype=bool),
                "open": np.array(batch.open, dtype=np.float64),
                "high": np.array(batch.high, dtype=np.float64),
                "low": np.array(batch.low, dtype=np.float64),
                "close": np.array(batch.close, dtype=np.float64),
                "atr": np.full((n, k), np.nan) if atr is None else np.array(atr, np.float64),
                "rs_pct": np.full((n, k), np.nan)
                if rs_pct is None
                else np.array(rs_pct, np.float64),
                # market-wide: the same text in every instrument's column
                "regime": np.full(n, "unknown", dtype=object)
                if regime is None
                else np.array(regime, dtype=object)[:, 0],
            }
        )

    def on_signal(self, signal) -> None:
        self.signals.append(signal)

    def close(self, summary) -> None:
        pass

    def market(self, config) -> Market:
        """The bars kept so far, per instrument, with their sessions."""
        tz = config.session.timezone
        parts = self.parts
        k = len(self.symbols)
        if parts:
            cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        else:
            cat = {
                "ts_close": np.zeros(0, np.int64),
                "present": np.zeros((0, k), bool),
                "regime": np.zeros(0, object),
                **{c: np.zeros((0, k)) for c in ("open", "high", "low", "close", "atr", "rs_pct")},
            }
        ts = cat["ts_close"]
        bounds = SessionBounds(config.session.calendar, tz)
        zone = ZoneInfo(tz)
        session = np.zeros(len(ts), np.int32)
        offset = np.zeros(len(ts), np.int64)  # ns from UTC to local wall time
        dates, rth_close, session_close = [], [], []
        for s, (lo, hi, day) in enumerate(split_sessions(ts, tz)):
            _, closed, _, rth_closed = bounds(day)
            dates.append(day.isoformat())
            rth_close.append(rth_closed)
            session_close.append(closed)
            session[lo:hi] = s
            # no DST change falls inside a Globex session (they happen at 02:00 Sunday)
            utc = dt.datetime.fromtimestamp(int(ts[lo]) // 10**9, dt.UTC)
            offset[lo:hi] = int(utc.astimezone(zone).utcoffset().total_seconds()) * 10**9
        minute = (((ts + offset) // MINUTE_NS) % DAY_MINUTES).astype(np.int16)
        bars = {}
        for i, symbol in enumerate(self.symbols):
            rows = np.flatnonzero(cat["present"][:, i])
            bars[symbol] = InstrumentBars(
                symbol=symbol,
                ts_close=ts[rows],
                session=session[rows],
                open=cat["open"][rows, i],
                high=cat["high"][rows, i],
                low=cat["low"][rows, i],
                close=cat["close"][rows, i],
                atr=cat["atr"][rows, i],
                regime=cat["regime"][rows],
                minute=minute[rows],
                rs_pct=cat["rs_pct"][rows, i],
            )
        configured = {s: config.instrument(s) for s in self.symbols}
        return Market(
            symbols=self.symbols,
            sessions=tuple(dates),
            rth_close=np.array(rth_close, np.int64),
            session_close=np.array(session_close, np.int64),
            bars=bars,
            tick={s: c.tick for s, c in configured.items()},
            point_value={s: c.point_value for s, c in configured.items()},
            roots={s: c.root for s, c in configured.items()},
            tz=tz,
            stands_for={s: c.stands_for for s, c in configured.items() if c.stands_for},
            tick_symbol=next((s for s, c in configured.items() if c.root == "$TICK"), ""),
            slice_ts=ts,
            slice_session=session,
            slice_regime=cat["regime"],
        )


def without_outputs(config):
    """The config with no outputs: an evaluation delivers nothing anywhere."""
    return attrs.evolve(config, outputs={})


def capture(config, pm=None, progress: str | None = "off", stream=sys.stderr) -> Capture:
    """Replay ``config`` (its outputs left out) and keep its bars and signals.

    ``pm``: a plugin manager (default: the config's, as ``rsengine run``
    builds it). ``progress``: ``off``, ``auto`` or ``on``: the replay's
    progress bar on ``stream``, as ``rsengine run`` shows it.
    """
    from rsengine.app.summary import run_with_progress
    from rsengine.host.runner import build_engine

    config = without_outputs(config)
    engine = build_engine(config, pm=pm)
    out = CaptureOutput(engine.symbols)
    # after build_engine: the engine walks slices only for outputs without
    # on_batch, which this one has, so appending it keeps the fast path
    engine.outputs.append(("evaluate", "evaluate", out))
    start = time.perf_counter()
    summary = run_with_progress(engine, stream, progress)
    replay_s = time.perf_counter() - start
    return Capture(
        market=out.market(config),
        signals=tuple(out.signals),
        summary=summary,
        replay_s=replay_s,
    )
