"""One point of a sweep: one engine run, on whichever process runs it.

:func:`run_point` is what a dask worker calls. It loads the config itself
(from its path, with the point's overrides), so nothing but strings travels
to the worker, and returns the point's row as a plain dict: every figure of
the run's summary except its wall time, so that the same point gives the same
row wherever and whenever it runs.

Outputs: a point delivers nothing. Every output of the config is left out
(no webhook, no order, no journal, no signal lines from a worker) except,
when ``record_dir`` is given, the ``record`` output, which then writes to
that folder (one per point, so points never write the same files).
"""

from __future__ import annotations

import datetime as dt
import os

import attrs

HEAD = ("status", "bars", "slices", "sessions", "first_bar", "last_bar", "signals")
TAIL = ("exits.pnl_usd", "exits.won", "core", "disabled", "error")


class ExitTally:
    """An output adding up the trade exits' ``pnl_usd`` (it has ``on_batch``,
    so the engine stays on its batch path)."""

    def __init__(self):
        self.pnl_usd = 0.0
        self.won = 0

    def on_batch(self, batch, values) -> None:
        pass

    def on_signal(self, signal) -> None:
        if signal.kind == "exit":
            pnl = float(signal.details.get("pnl_usd", 0.0))
            self.pnl_usd += pnl
            self.won += pnl > 0

    def close(self, summary) -> None:
        pass


def point_config(config_path, overrides, record_dir=None):
    """The config of one point: ``overrides`` applied, outputs left out
    (``record`` kept and sent to ``record_dir`` when that is given)."""
    from rsengine.config import load_config

    config = load_config(config_path, overrides=list(overrides))
    outputs = {}
    if record_dir is not None and "record" in config.outputs:
        record = config.outputs["record"]
        settings = {**record.settings, "dir": str(record_dir)}
        outputs["record"] = attrs.evolve(record, settings=settings)
    return attrs.evolve(config, outputs=outputs)


def core_name() -> str:
    """``compiled`` or ``pure``: the core this process runs
    (``RSENGINE_NO_EXTENSIONS=1`` selects the pure one)."""
    from rsengine.core import USING_EXTENSION

    return "compiled" if USING_EXTENSION else "pure"


def worker_facts() -> dict:
    """What a worker process runs with (the tests check the core reaches it)."""
    return {
        "core": core_name(),
        "RSENGINE_NO_EXTENSIONS": os.environ.get("RSENGINE_NO_EXTENSIONS", ""),
        "pid": os.getpid(),
    }


def run_point(config_path, overrides, record_dir=None, log_level=None, point=None) -> dict:
    """Run one point; a failure is a row with ``status`` failed and its error.

    ``log_level``: set up logging at that level first (a worker process has
    not; its lines carry ``sweep_point=point``)."""
    from rsengine.host.runner import build_engine

    if log_level is not None:
        _configure_logging(log_level, point)
    try:
        engine = build_engine(point_config(config_path, overrides, record_dir))
        tally = ExitTally()
        # after build_engine, like the evaluation's capture: the batch path stays on
        engine.outputs.append(("sweep", "sweep", tally))
        summary = engine.run()
    except Exception as exc:  # the sweep reports it with the point's parameters
        return failed_row(exc)
    return summary_row(summary, tally)


def _configure_logging(level: str, point) -> None:
    import structlog

    from rsengine.app.logs import configure_logging

    configure_logging(level)
    if point is not None:
        structlog.contextvars.bind_contextvars(sweep_point=point)


def failed_row(exc: BaseException | str) -> dict:
    text = exc if isinstance(exc, str) else _error_text(exc)
    return {"status": "failed", "core": core_name(), "error": text}


def _error_text(exc: BaseException) -> str:
    from rsengine.config import ConfigError
    from rsengine.host.engine import PluginFailure

    if isinstance(exc, (ConfigError, PluginFailure)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def summary_row(summary, tally: ExitTally) -> dict:
    """The row of a finished run (see the module doc)."""
    row = {
        "status": "failed" if summary.failed else "ok",
        "bars": summary.bars,
        "slices": summary.slices,
        "sessions": summary.sessions,
        "first_bar": _stamp(summary.first_ts),
        "last_bar": _stamp(summary.last_ts),
        "signals": summary.signals,
    }
    for name, n in sorted(summary.signals_by_name.items()):
        row[f"signals.{name}"] = n
    for group, figures in sorted(summary.metrics.items()):
        if isinstance(figures, dict):
            for key, value in figures.items():
                if value is None or isinstance(value, (bool, int, float, str)):
                    row[f"{group}.{key}"] = value
    row["exits.pnl_usd"] = round(tally.pnl_usd, 2)
    row["exits.won"] = tally.won
    row["core"] = core_name()
    row["disabled"] = " ".join(summary.disabled_plugins)
    row["error"] = summary.failed or ""
    return row


def _stamp(ts_ns) -> str:
    """ns UTC -> ``2025-02-10T14:35:00Z`` ("" for none)."""
    if ts_ns is None:
        return ""
    return dt.datetime.fromtimestamp(int(ts_ns) // 10**9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
