"""A local receiver for trying the webhook output: ``rsengine webhook-receiver``.

It listens on 127.0.0.1 only, verifies each request's Standard Webhooks
signature (the checks of the ``standardwebhooks`` package: every header
present, the timestamp within 5 minutes, a matching ``v1`` signature compared
in constant time), answers 200 (401 when it does not verify) and prints each
signal once: a repeated webhook-id (a retry whose answer was lost) is
answered 200 and printed as a duplicate.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs
from rsengine_log import signal_line

from rsengine.model import Signal

from . import signing


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, keys, tz: str = "America/New_York", out=None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.keys, self.tz = tuple(keys), tz
        self.out = out or sys.stdout
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def say(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def first_time(self, webhook_id: str) -> bool:
        with self._lock:
            new = webhook_id not in self.seen
            self.seen.add(webhook_id)
            return new


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            webhook_id = signing.verify(self.server.keys, body, dict(self.headers.items()))
        except signing.VerificationError as exc:
            self.server.say(f"refused   {self.headers.get('webhook-id', '-')}: {exc}")
            self._answer(401, f"signature: {exc}")
            return
        if self.server.first_time(webhook_id):
            self.server.say(f"received  {webhook_id}  {describe(body, self.server.tz)}")
        else:
            self.server.say(f"duplicate {webhook_id}  (already received: not shown again)")
        self._answer(200, "ok")

    def _answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 - the signals are the output
        pass


def describe(body: bytes, tz: str) -> str:
    """A signal record as the log output's line; any other body as its text."""
    try:
        data = json.loads(body)
        return signal_line(signal_from_dict(data), tz)
    except (ValueError, TypeError, KeyError):
        return body.decode("utf-8", "replace")


def signal_from_dict(data: dict) -> Signal:
    names = attrs.fields_dict(Signal)
    fields = {k: v for k, v in data.items() if k in names}
    fields["confirmations"] = tuple(fields.get("confirmations", ()))
    return Signal(**fields)
