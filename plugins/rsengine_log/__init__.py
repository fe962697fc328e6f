"""Output ``log``: each signal as one readable line on stdout, in the session
time zone, and as a structured log event (JSON lines off a terminal).

A line reads::

    2025-02-11 09:50 EST  context  nq_vs_es  NQ  long  NQ +0.61% vs ES +0.39% (+0.22): ...

with the columns padded to line up: the bar close in ``session.timezone``,
the class (``trade`` when the signal has an entry price and a size, ``exit``
when it closes a trade, else ``context``), name, instrument, side, for a trade
its contracts, entry, stop, target, size fraction and confirmation stack, then
the reason and the regime.
"""

from __future__ import annotations

import sys

import structlog

import rsengine
from rsengine.app.summary import is_trade, local_time, signal_class

LEVELS = ("debug", "info", "warning")


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add(
        "log", SignalLog, "one readable line per signal on stdout, and a structured log event"
    )


class SignalLog:
    SETTINGS = ("level", "print")
    written = ()  # no files: the lines go to stdout, the events to the log

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.level = settings.get("level", "info")
        if self.level not in LEVELS:
            raise ValueError(f"level {self.level!r} is not one of {', '.join(LEVELS)}")
        self.print = settings.get("print", True)
        if not isinstance(self.print, bool):
            raise ValueError(f"print {self.print!r} is not true or false")
        self.tz = context.config.session.timezone
        self.log = structlog.get_logger("rsengine.signal").bind(plugin="log")
        if context.data_labels:
            self.log = self.log.bind(data=",".join(context.data_labels))

    def on_batch(self, batch, values):
        pass

    def on_signal(self, signal):
        if self.print:
            out = sys.stdout  # looked up each time: a progress bar may stand in for it
            out.write(signal_line(signal, self.tz) + "\n")
            out.flush()
        fields = signal.to_dict()
        fields.pop("details", None)
        getattr(self.log, self.level)("signal", **fields)

    def close(self, summary):
        pass


def signal_line(signal, tz: str) -> str:
    """One signal as one line, its time in ``tz``."""
    parts = [
        local_time(signal.ts_close, tz),
        f"{signal_class(signal):7}",
        f"{signal.name:22}",
        f"{signal.instrument:6}",
        f"{signal.side:5}",
    ]
    if is_trade(signal):
        parts.append(_order(signal))
    parts.append(signal.reason)
    if signal.regime != "unknown":
        parts.append(f"[{signal.regime}]")
    return "  ".join(parts)


def _order(signal) -> str:
    """``2 NQ 03-25 @ 20516.75 stop 20504.75 target 20639.5 size 1 stack rs+tick+volume``."""
    what = signal.contract or signal.instrument
    size = f"{signal.contracts} {what}" if signal.contracts else "no order (0 contracts)"
    text = size if signal.entry is None else f"{size} @ {signal.entry:.10g}"
    for name in ("stop", "target"):
        value = getattr(signal, name)
        if value is not None:
            text += f" {name} {value:.10g}"
    held = "+".join(signal.confirmations) or "none"
    return f"{text} size {signal.size_fraction:g} stack {held}"
