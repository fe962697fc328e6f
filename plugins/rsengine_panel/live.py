"""The current session as the engine delivered it, and the panel drawn from it.

The bars and values are kept by the evaluation's own
:class:`~rsengine_evaluate.capture.CaptureOutput` and drawn by its
:func:`~rsengine_evaluate.rs_panel.build_panel`, :func:`~.rs_panel.to_dict`
and :func:`~.rs_panel.plotly_figure`: the live page and the report show the
same chart of the same numbers. The engine's thread adds batches and
signals; the server's threads read snapshots. A snapshot is taken under the
lock and drawn outside it, once per change (a version number counts them).
"""

from __future__ import annotations

import json
import threading

from rsengine_evaluate.capture import CaptureOutput
from rsengine_evaluate.rs_panel import build_panel, plotly_figure, to_dict

from rsengine.exchange.sessions import session_date_of

COLUMNS = ("atr", "regime", "rs_pct")


class LiveSession:
    """The bars and signals of the session in progress; a new session starts
    it afresh."""

    def __init__(self, config, symbols, label: str = ""):
        self.config = config
        self.symbols = tuple(symbols)
        self.tz = config.session.timezone
        self.label = label  # e.g. SIMULATED, shown in the title
        self._lock = threading.Lock()
        self._draw = threading.Lock()  # one drawing at a time
        self.version = 0  # +1 for every batch or signal taken in
        self.session: str | None = None
        self._capture = CaptureOutput(self.symbols, COLUMNS)
        self._drawn: dict = {}  # what -> (version, text)

    # -- the engine's thread --------------------------------------------------------

    def add_batch(self, batch, values) -> None:
        if not len(batch):
            return
        date = session_date_of(int(batch.ts_close[0]), self.tz).isoformat()
        with self._lock:
            if date != self.session:  # a batch never crosses a session
                self.session = date
                self._capture = CaptureOutput(self.symbols, COLUMNS)
            self._capture.on_batch(batch, values)
            self.version += 1

    def add_signal(self, signal) -> None:
        with self._lock:
            if signal.session_date == self.session:
                self._capture.on_signal(signal)
                self.version += 1

    # -- the server's threads ----------------------------------------------------------

    def panel_json(self) -> tuple[int, str]:
        """``(version, text)``: the panel's data (:func:`to_dict`), with
        ``version`` and ``session``; ``session`` is null before the first slice."""
        return self._drawn_text("data", self._data)

    def figure_json(self) -> tuple[int, str]:
        """``(version, text)``: ``{"version", "session", "figure"}``, the
        figure as plotly JSON."""
        return self._drawn_text("figure", self._figure)

    def _drawn_text(self, what, draw) -> tuple[int, str]:
        with self._draw:
            version, session, market_signals = self._snapshot()
            kept = self._drawn.get(what)
            if kept is None or kept[0] != version:
                panel = None if session is None else self._panel(session, *market_signals)
                body = {"version": version, "session": session, **draw(panel)}
                kept = (version, json.dumps(body, allow_nan=False, separators=(",", ":")))
                self._drawn[what] = kept
            return kept

    def _snapshot(self):
        with self._lock:
            parts, signals = list(self._capture.parts), list(self._capture.signals)
            return self.version, self.session, (parts, signals)

    def _panel(self, session, parts, signals):
        capture = CaptureOutput(self.symbols, COLUMNS)
        capture.parts = parts
        title = f"Live RS panel {session}" + (f" ({self.label})" if self.label else "")
        return build_panel(capture.market(self.config), signals, session, title)

    @staticmethod
    def _data(panel) -> dict:
        if panel is None:
            return {"lines": [], "markers": [], "regimes": [], "tick": None}
        data = to_dict(panel)
        data.pop("session")
        return data

    @staticmethod
    def _figure(panel) -> dict:
        if panel is None:
            return {"figure": _message("waiting for the first slice")}
        if not panel.lines:
            # the first session of a run has no prior close; plotly cannot place
            # the regime shading and zero line on an RS pane without data
            return {"figure": _message(f"{panel.title}: {NO_PRIOR}")}
        return {"figure": json.loads(plotly_figure(panel).to_json())}


NO_PRIOR = "no RS% yet (no prior close: the run's first session); the lines start with the next"


def _message(text: str) -> dict:
    """A figure with nothing but ``text`` for its title."""
    return {"data": [], "layout": {"title": {"text": text}}}
