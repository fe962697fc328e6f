"""A loopback HTTP server for the webhook tests: answers each request as the
test scripted it and keeps what it received, with its receive stamp."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs


@attrs.frozen
class Answer:
    status: int = 200
    headers: dict = attrs.field(factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (past the client's timeout: a hang)


OK = Answer()


@attrs.frozen
class Received:
    at: float  # time.monotonic() when the request arrived
    headers: dict  # lower-case names
    body: bytes
    path: str

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self):
        return json.loads(self.body)


class Loopback(ThreadingHTTPServer):
    """``script``: answers for the first requests, in order; then ``default``."""

    daemon_threads = True

    def __init__(self, script=(), default: Answer = OK, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        self.script = list(script)
        self.default = default
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    def take(self, request: Received) -> Answer:
        with self.arrived:
            self.received.append(request)
            self.arrived.notify_all()
            return self.script.pop(0) if self.script else self.default

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Received]:
        """Waits until ``n`` requests arrived (or ``timeout``); returns them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= n, timeout)
            return list(self.received)


class _Handler(BaseHTTPRequestHandler):
    server: Loopback
    wbufsize = -1  # the answer in one write: no Nagle / delayed-ACK stall
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.take(Received(time.monotonic(), headers, body, self.path))
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:  # the client gave up (its timeout)
            pass

    def log_message(self, format, *args):  # noqa: A002
        pass


def closed_port() -> int:
    """A port nothing listens on (just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
