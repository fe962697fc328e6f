"""The output the engine calls: it keeps the current session
(:class:`~.live.LiveSession`) and serves it (:class:`~.server.PanelServer`)
from the moment it is built until ``close``."""

from __future__ import annotations

import sys
import weakref

from .settings import SettingsError, parse_settings


class PanelOutput:
    written = ()  # no files: a web page

    def __init__(self, settings: dict, context):
        self.component = getattr(context, "component", None)
        try:
            self.settings = parse_settings(settings)
        except SettingsError as exc:
            raise self._refuse(exc.key, exc.message) from None
        if "rs_pct" not in context.columns:
            raise self._refuse(
                (), "the panel shows the rs_pct column: configure the rs indicator "
                "(indicators: {rs: {}})",
            )  # fmt: skip
        try:
            import plotly  # noqa: F401 (drawn on the server's threads: fail here, not there)
        except ImportError:
            raise ImportError("plotly (pip install 'rsengine[panel]')") from None
        from .live import LiveSession
        from .server import PanelServer, ServerError

        self.live = LiveSession(context.config, context.symbols, ",".join(context.data_labels))
        s = self.settings
        try:
            self.server = PanelServer(self.live, s.host, s.port, s.refresh, s.loopback)
        except ServerError as exc:
            raise self._refuse(exc.key, exc.message) from None
        self.url = self.server.url
        self.server.start()
        # built and dropped (`rsengine validate`, a later component refused): stop serving
        self._stop = weakref.finalize(self, self.server.stop)
        if not s.loopback:
            context.log.warning(
                "the RS panel listens beyond this machine: anyone who reaches it sees it",
                url=self.url,
            )
        context.log.info("RS panel", url=self.url)
        # the log shows warnings only by default: the address goes to stderr too
        print(f"rsengine: RS panel on {self.url}", file=sys.stderr, flush=True)

    def _refuse(self, key, message: str) -> Exception:
        if self.component is not None:
            return self.component.error(key, message)
        where = ".".join(("outputs", "panel", *([key] if isinstance(key, str) else key)))
        return ValueError(f"{where}: {message}")

    def on_batch(self, batch, values) -> None:
        self.live.add_batch(batch, values)

    def on_signal(self, signal) -> None:
        self.live.add_signal(signal)

    def close(self, summary=None) -> None:
        """Stops the server and waits for its threads."""
        self._stop()
