"""The panel's HTTP server: standard-library ``http.server`` on its own thread.

Routes (GET only):

* ``/``: the page (:mod:`.page`);
* ``/plotly.min.js``: plotly's JavaScript from the installed plotly package
  (nothing is fetched from elsewhere);
* ``/figure.json?after=N``: the figure as plotly JSON with its version, or
  ``204 No Content`` while the version is still ``N``;
* ``/panel.json``: the panel's data (times in the session timezone, RS% per
  instrument per bar, signals, regime spans, $TICK), for tools and tests.

On a loopback address a request must name that address (or ``localhost``)
in its ``Host`` header, so that a web page elsewhere cannot reach the panel
through a DNS name re-pointed at 127.0.0.1. Each request has its own short
thread; :meth:`PanelServer.stop` ends the server and waits for all of them.
"""

from __future__ import annotations

import errno
import socket
import threading
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import structlog

from .page import page_html

REQUEST_TIMEOUT_S = 2.0  # an idle connection (a browser's preconnect) is dropped after it
log = structlog.get_logger("rsengine.panel")


class ServerError(OSError):
    """The server could not listen: ``key`` is the setting to change."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


@cache
def plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # stop() joins every request thread
    block_on_close = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class PanelServer:
    """Serves ``live`` (a :class:`~.live.LiveSession`) on ``host:port``; the
    socket listens from construction, requests are answered from :meth:`start`."""

    def __init__(self, live, host: str, port: int, refresh: float, loopback: bool = True):
        self.live = live
        self.loopback = loopback  # check the Host header
        self.page = page_html(refresh).encode("utf-8")
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = server_class((host, port), _handler(self))
        except socket.gaierror as exc:
            raise ServerError("host", f"{host!r} is not an address to listen on: {exc}") from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    "port",
                    f"port {port} on {host} is in use (another rsengine panel?): "
                    "choose another port, or 0 for any free one",
                ) from None
            key = "port" if exc.errno == errno.EACCES else "host"
            raise ServerError(key, f"cannot listen on {host} port {port}: {exc.strerror}") from None
        self.host = host
        self.port = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.allowed_hosts = {f"{shown}:{self.port}", f"localhost:{self.port}"}
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"rsengine-panel-{self.port}",
            daemon=True,  # never holds the interpreter open; stop() ends it
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops answering, closes the socket and waits for the threads; twice is fine."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()  # joins the request threads

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _handler(server: PanelServer):
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S
        server_version = "rsengine-panel"

        def do_GET(self):  # noqa: N802 (http.server's name)
            if server.loopback and self.headers.get("Host", "") not in server.allowed_hosts:
                return self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain")
            url = urlsplit(self.path)
            if url.path == "/":
                return self._send(HTTPStatus.OK, server.page, "text/html; charset=utf-8")
            if url.path == "/plotly.min.js":
                return self._send(HTTPStatus.OK, plotly_js(), "text/javascript", cache=True)
            if url.path == "/panel.json":
                _, text = server.live.panel_json()
                return self._send(HTTPStatus.OK, text.encode(), "application/json")
            if url.path == "/figure.json":
                after = parse_qs(url.query).get("after", [""])[0]
                if after == str(server.live.version):
                    return self._send(HTTPStatus.NO_CONTENT, b"", None)
                _, text = server.live.figure_json()
                return self._send(HTTPStatus.OK, text.encode(), "application/json")
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _send(self, status, body: bytes, kind, cache: bool = False):
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
            log.debug("panel request", request=format % args)

    return Handler
