"""Output ``log``: one structured log line per signal (JSON lines off a terminal)."""

from __future__ import annotations

import structlog

import rsengine


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add("log", SignalLog, "one structured log line per signal, on stderr")


class SignalLog:
    SETTINGS = ("level",)

    def __init__(self, settings: dict, context):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(self.SETTINGS)}")
        self.level = settings.get("level", "info")
        if self.level not in ("debug", "info", "warning"):
            raise ValueError(f"level {self.level!r} is not one of debug, info, warning")
        self.log = structlog.get_logger("rsengine.signal").bind(plugin="log")
        if context.data_labels:
            self.log = self.log.bind(data=",".join(context.data_labels))

    def on_batch(self, batch, values):
        pass

    def on_signal(self, signal):
        fields = signal.to_dict()
        fields.pop("details", None)
        getattr(self.log, self.level)("signal", **fields)

    def close(self, summary):
        pass
