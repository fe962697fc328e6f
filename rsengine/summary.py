"""What the CLI prints: a progress line during replays and the closing summary."""

from __future__ import annotations

import time

from .model import iso_utc


class ProgressLine:
    """One self-overwriting line on a terminal: data time reached and speed."""

    def __init__(self, stream, every_s: float = 0.2):
        self.stream, self.every_s = stream, every_s
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, data_ns: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        self.stream.write(f"\r  replaying {iso_utc(data_ns)[:16]}  ({now - self._start:5.1f} s)")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * 60 + "\r")
        self.stream.flush()


def format_summary(summary, engine, labels=()) -> str:
    first = iso_utc(summary.first_ts)[:16] if summary.first_ts else "-"
    last = iso_utc(summary.last_ts)[:16] if summary.last_ts else "-"
    rate = summary.bars / summary.elapsed_s if summary.elapsed_s else 0.0
    lines = []
    if labels:
        lines.append(f"*** data: {', '.join(labels)} ***")
    lines += [
        f"rsengine run: {summary.sessions} sessions, {first} -> {last} UTC",
        f"  instruments   {', '.join(engine.symbols)}",
        f"  bars          {summary.bars:,} ({summary.partial_bars} partial)",
        f"  slices        {summary.slices:,} ({summary.missing:,} instrument slots missing)",
        f"  signals       {summary.signals:,}",
        f"  late trades   {summary.late_trades:,}",
        f"  off-session   {summary.off_session_trades:,} trades",
        f"  late bars     {summary.late_bars:,}",
        f"  bad rows      {summary.bad_rows:,} skipped",
        f"  time          {summary.elapsed_s:.2f} s ({rate:,.0f} bars/s)",
    ]
    for name, count in sorted(summary.signals_by_name.items()):
        lines.append(f"    {name:28} {count:5}")
    for name, metric in sorted(summary.metrics.items()):
        lines.append(f"  {name}: {format_metric(metric)}")
    if summary.disabled_plugins:
        lines.append(f"  disabled plugins: {', '.join(summary.disabled_plugins)}")
    lines += [f"  note: {note}" for note in summary.notes]
    return "\n".join(lines)


def format_metric(metric) -> str:
    """``{"hits": 1, "hit_rate": 0.5}`` -> ``hits 1, hit_rate 0.50``."""
    if not isinstance(metric, dict):
        return str(metric)
    parts = []
    for key, value in metric.items():
        text = "-" if value is None else f"{value:.2f}" if isinstance(value, float) else value
        parts.append(f"{key} {text}")
    return ", ".join(parts)
