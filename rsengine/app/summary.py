"""What the CLI prints besides the signal lines: the progress bar of a replay
and the closing summary.

Signals come in four classes (docs/cli.md): a **trade** signal comes from a
trade setup (``kind == "setup"``) or has an entry price and a size; an **exit**
(``kind == "exit"``) closes a trade; a **halt** (``kind == "halt"``) says the
daily loss limit stopped trading for the session; every other signal is a
**context** signal, information that is no trade by itself, whatever its
``kind`` says.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from rsengine.exchange.sessions import session_date_of
from rsengine.hookspecs import hookimpl

ZONE_NAMES = {"America/New_York": "ET", "America/Chicago": "CT"}
PURE_SLOWDOWN = 5  # the pure core runs the demo about this many times slower


CLASSES = ("context", "trade", "exit", "halt")


def is_trade(signal) -> bool:
    """A trade signal comes from a trade setup (kind ``setup``: with 0 contracts
    it is no order), or has an entry price and a size."""
    if signal.kind in ("setup", "exit"):
        return signal.kind == "setup"
    has_size = signal.size_fraction > 0 or signal.contracts > 0
    return signal.entry is not None and has_size


def signal_class(signal) -> str:
    """``trade``, ``exit``, ``halt`` or ``context``."""
    if signal.kind in ("exit", "halt"):
        return signal.kind
    return "trade" if is_trade(signal) else "context"


def local_time(ts_ns: int, tz: str) -> str:
    """ns UTC -> ``2025-02-11 09:50 EST`` in ``tz`` (seconds only when not 0)."""
    seconds = int(ts_ns) // 1_000_000_000
    local = dt.datetime.fromtimestamp(seconds, ZoneInfo(tz))
    clock = "%H:%M:%S" if local.second else "%H:%M"
    return local.strftime(f"%Y-%m-%d {clock} %Z")


# -- progress ------------------------------------------------------------------------


class ReplayProgress:
    """How far a replay has got; the data time shown never goes backwards.

    ``span`` is the first and last stamp of the data (ns UTC) when the sources
    know them: then ``fraction`` is the share of that span replayed. Without a
    span, ``read_fraction`` (when given) tells the share of the input read, say
    by file bytes. With neither, ``sessions`` counts the session dates reached.
    """

    def __init__(self, tz: str, span=None, read_fraction=None):
        self.tz = tz
        self.span = span if span and span[1] > span[0] else None
        self.read_fraction = None if self.span else read_fraction
        self.ts: int | None = None
        self.session: dt.date | None = None
        self.sessions = 0
        self._fraction = 0.0

    @property
    def measured(self) -> bool:
        """Whether ``fraction`` can be known (a span or a read fraction)."""
        return self.span is not None or self.read_fraction is not None

    def update(self, ts_ns: int) -> bool:
        """Take a stamp the engine reached; False when it is no step forward."""
        ts_ns = int(ts_ns)
        if self.ts is not None and ts_ns <= self.ts:
            return False
        self.ts = ts_ns
        day = session_date_of(ts_ns, self.tz)
        if day != self.session:
            self.session = day
            self.sessions += 1
        return True

    @property
    def fraction(self) -> float | None:
        """Share done, 0..1, never smaller than before; None when unknown."""
        if self.span is not None and self.ts is not None:
            first, last = self.span
            now = (min(max(self.ts, first), last) - first) / (last - first)
        elif self.read_fraction is not None:
            now = min(max(float(self.read_fraction()), 0.0), 1.0)
        else:
            return None
        self._fraction = max(self._fraction, now)
        return self._fraction

    def describe(self) -> str:
        """``session 2025-02-11 ET``, and when unmeasured the sessions reached."""
        if self.session is None:
            return "starting"
        text = f"session {self.session} {ZONE_NAMES.get(self.tz, self.tz)}"
        if not self.measured:
            text += f", {self.sessions} {'session' if self.sessions == 1 else 'sessions'}"
        return text


def data_span(sources) -> tuple[int, int] | None:
    """The first and last stamp over every source that can tell them with
    ``span() -> (first_ns, last_ns) | None``; None when any cannot."""
    spans = []
    for source in sources:
        tell = getattr(source, "span", None)
        span = tell() if callable(tell) else None
        if span is None:
            return None
        spans.append(span)
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def read_fraction(sources):
    """A callable giving the share of the input read, the mean over sources
    with ``read_fraction() -> float | None`` (csv: file bytes); None when a
    source cannot tell."""
    tellers = [getattr(source, "read_fraction", None) for source in sources]
    if not tellers or not all(callable(t) and t() is not None for t in tellers):
        return None
    return lambda: sum(t() for t in tellers) / len(tellers)


class ProgressBar:
    """A rich progress bar on a terminal, fed with ``update(ts_ns)``: % done
    and ETA when the progress is measured, else the sessions done."""

    STEPS = 10_000  # the bar's total: 0.01 % resolution

    def __init__(self, progress: ReplayProgress, stream, force: bool = False):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.state = progress
        console = Console(file=stream, force_terminal=force or None)
        columns = [TextColumn("replaying {task.description}"), BarColumn()]
        if progress.measured:
            columns += [TaskProgressColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        columns.append(TimeElapsedColumn())
        self.bar = Progress(
            *columns,
            console=console,
            transient=True,
            redirect_stdout=_is_terminal(sys.stdout),  # signal lines print above it
            redirect_stderr=True,
        )
        total = self.STEPS if progress.measured else None
        self.task = self.bar.add_task(progress.describe(), total=total)

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc):
        self.bar.stop()

    def update(self, ts_ns: int) -> None:
        if self.state.update(ts_ns):
            done = self.state.fraction
            self.bar.update(
                self.task,
                completed=round((done or 0.0) * self.STEPS),
                description=self.state.describe(),
            )


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress_for(config, sources, stream, setting: str | None = None) -> ProgressBar | None:
    """The progress bar of a replay, or None: ``setting`` (default
    ``config.run.progress``) ``off``, a live run, or ``auto`` off a terminal."""
    setting = setting or config.run.progress
    if setting == "off" or config.run.mode == "live":
        return None
    if setting == "auto" and not _is_terminal(stream):
        return None
    state = ReplayProgress(config.session.timezone, data_span(sources), read_fraction(sources))
    return ProgressBar(state, stream, force=setting == "on")


def run_with_progress(engine, stream, setting: str | None = None):
    """``engine.run()`` with the replay's progress bar on ``stream`` when
    :func:`progress_for` gives one; the run's summary."""
    sources = [source for _, _, source in engine.sources]
    bar = progress_for(engine.config, sources, stream, setting)
    if bar is None:
        return engine.run()
    engine.on_progress = bar.update
    with bar:
        return engine.run()


# -- the closing summary -----------------------------------------------------------------


class SignalTally:
    """A plugin object counting signals by class (trade, context) and name,
    for the summary: register it before the engine is built."""

    def __init__(self):
        self.counts: dict[str, dict[str, int]] = {c: {} for c in CLASSES}

    @hookimpl
    def rsengine_signal_emitted(self, engine, signal):
        names = self.counts[signal_class(signal)]
        names[signal.name] = names.get(signal.name, 0) + 1


def core_in_use() -> str:
    """Which core ran: compiled, or pure Python and why (it is slower)."""
    from rsengine import core

    if core.USING_EXTENSION:
        return "compiled (Cython)"
    slower = f"about {PURE_SLOWDOWN}x slower than the compiled core"
    if core._flag("RSENGINE_NO_EXTENSIONS"):
        return f"pure Python, selected by RSENGINE_NO_EXTENSIONS ({slower})"
    return (
        f"pure Python: the compiled core is not built ({slower}; reinstall with a C "
        "compiler, or set RSENGINE_REQUIRE_EXTENSIONS=1 to make this an error)"
    )


def format_summary(summary, engine, labels=(), tally: SignalTally | None = None) -> str:
    tz = engine.config.session.timezone
    first = local_time(summary.first_ts, tz) if summary.first_ts else "-"
    last = local_time(summary.last_ts, tz) if summary.last_ts else "-"
    rate = summary.bars / summary.elapsed_s if summary.elapsed_s else 0.0
    lines = []
    if labels:
        lines.append(f"*** data: {', '.join(labels)} ***")
    lines += [
        f"rsengine run: {summary.sessions} sessions, {first} -> {last} (bar closes, {tz})",
        f"  core          {core_in_use()}",
        f"  instruments   {', '.join(engine.symbols)}",
        f"  bars          {summary.bars:,} ({summary.partial_bars} partial)",
        f"  slices        {summary.slices:,} ({summary.missing:,} instrument slots missing)",
        *_missing_lines(summary, engine),
        *_signal_lines(summary, tally),
        f"  late trades   {summary.late_trades:,}",
        f"  off-session   {summary.off_session_trades:,} trades",
        f"  late bars     {summary.late_bars:,}",
        f"  bad rows      {summary.bad_rows:,} skipped",
        *_duplicate_lines(summary),
        f"  time          {summary.elapsed_s:.2f} s ({rate:,.0f} bars/s)",
    ]
    for name, metric in sorted(summary.metrics.items()):
        lines.append(f"  {name}: {format_metric(metric)}")
    lines += _output_lines(engine.outputs)
    if summary.disabled_plugins:
        lines.append(f"  disabled plugins: {', '.join(summary.disabled_plugins)}")
    lines += [f"  note: {note}" for note in summary.notes]
    return "\n".join(lines)


INDENT = " " * 16


def _duplicate_lines(summary) -> list[str]:
    if not summary.duplicates_dropped:
        return []
    return [f"  duplicates    {summary.duplicates_dropped:,} identical repeated bars dropped"]


def _missing_lines(summary, engine) -> list[str]:
    """What a missing slot is, and which instruments they are."""
    if not summary.missing:
        return []
    bar = bar_length(engine.config.bars.primary_ns)
    lines = [
        f"{INDENT}(a slot is one instrument in one {bar} slice; missing: the instrument",
        f"{INDENT}had no bar there: no trade in it, or outside its own trading hours)",
    ]
    rings = getattr(getattr(engine, "state", None), "rings", {})
    per = {s: summary.slices - rings[s].total for s in engine.symbols if s in rings}
    if sum(per.values()) == summary.missing:  # else the engine counted otherwise: no split
        most = sorted(((n, s) for s, n in per.items() if n), key=lambda x: (-x[0], x[1]))
        lines.append(f"{INDENT}by instrument: " + ", ".join(f"{s} {n:,}" for n, s in most))
    return lines


def bar_length(ns: int) -> str:
    """``300_000_000_000`` -> ``5-minute``."""
    seconds = ns / 1e9
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}-{unit}"
    return f"{seconds:g}-second"


def _signal_lines(summary, tally: SignalTally | None) -> list[str]:
    if tally is None:  # no tally: names only, unclassified
        lines = [f"  signals       {summary.signals:,}"]
        return lines + _named(summary.signals_by_name, "    ")
    context, trade, exits, halts = (tally.counts[c] for c in CLASSES)
    lines = [
        f"  signals       {summary.signals:,} ({sum(context.values()):,} context, "
        f"{sum(trade.values()):,} trade, {sum(exits.values()):,} exit)",
        "    context: information, no trade by itself (no entry price or no size)",
        *_named(context, "      "),
        "    trade: what to do, from a trade setup (0 contracts: no order, and why)",
        *_named(trade, "      "),
    ]
    if exits:
        lines += ["    exit: closes a trade (details.entry_id names it)", *_named(exits, "      ")]
    if halts:
        lines += [
            "    halt: the daily loss limit was reached: flat, no more entries that session",
            *_named(halts, "      "),
        ]
    return lines


def _named(counts: dict, indent: str) -> list[str]:
    if not counts:
        return [f"{indent}none"]
    return [f"{indent}{name:28} {count:5}" for name, count in sorted(counts.items())]


def _output_lines(outputs) -> list[str]:
    """Every file each output wrote (its optional ``written`` attribute)."""
    if not outputs:
        return []
    lines = ["  outputs"]
    for name, _, output in outputs:
        files = [_shown(path) for path in getattr(output, "written", ())]
        lines.append(f"    {name:12} {files[0] if files else 'no files'}")
        lines += [f"    {'':12} {path}" for path in files[1:]]
    return lines


def _shown(path) -> str:
    """A path relative to the working directory when it lies below it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_metric(metric) -> str:
    """``{"hits": 1, "hit_rate": 0.5}`` -> ``hits 1, hit_rate 0.50``."""
    if not isinstance(metric, dict):
        return str(metric)
    parts = []
    for key, value in metric.items():
        text = "-" if value is None else f"{value:.2f}" if isinstance(value, float) else value
        parts.append(f"{key} {text}")
    return ", ".join(parts)
