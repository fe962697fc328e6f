"""Delivery: one background thread per endpoint, so that neither a slow
endpoint nor another endpoint's outage slows the engine or each other.

A worker takes its endpoint's oldest pending message (messages go out in the
order they were queued: an exit never overtakes its entry), waits until it
is due and the rate limit allows, posts it with a fresh timestamp and
signature and records the outcome (:func:`outcome`, the table in
docs/webhooks.md). The webhook-id never changes, however often it is retried.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time

import attrs
import httpx
import structlog

import rsengine

from . import signing
from .outbox import Outbox

JITTER = 0.2  # each scheduled wait is stretched or shrunk by up to 20 %
MAX_RETRY_AFTER_S = 24 * 3600
RETRY_STATUSES = {408, 409, 425, 429}  # client errors that are worth another attempt
USER_AGENT = f"rsengine/{rsengine.__version__}"


@attrs.frozen
class Outcome:
    state: str  # "delivered", "pending" (retry) or "dead"
    wait: float = 0.0  # seconds until the next attempt, when pending
    error: str | None = None
    disable: bool = False  # 410: the endpoint is gone


def retry_after(response: httpx.Response | None, now: float) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds or an HTTP
    date), or the ``retry_after`` of a Discord 429 JSON body."""
    if response is None:
        return None
    header = response.headers.get("retry-after")
    if header:
        header = header.strip()
        try:
            return _bounded(float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return _bounded(when.timestamp() - now)
    if response.status_code == 429:
        try:
            body = json.loads(response.content)
            return _bounded(float(body["retry_after"]))
        except (ValueError, TypeError, KeyError):
            return None
    return None


def _bounded(seconds: float) -> float | None:
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def outcome(response, error: str | None, attempts_done: int, retry: tuple, now: float) -> Outcome:
    """What an attempt means. ``attempts_done`` counts this one; ``retry``
    is the endpoint's schedule of waits."""
    if response is not None:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome("delivered")
        error = f"HTTP {status}{_snippet(response)}"
        if status == 410:
            return Outcome("dead", error=f"{error}: the endpoint is gone, disabled", disable=True)
        if 400 <= status < 500 and status not in RETRY_STATUSES:
            return Outcome("dead", error=f"{error}: refused, not retried")
    if attempts_done > len(retry):
        return Outcome("dead", error=f"{error}; gave up after {attempts_done} attempts")
    asked = retry_after(response, now)
    if asked is not None:
        return Outcome("pending", asked, error)
    planned = retry[attempts_done - 1]
    return Outcome("pending", planned * random.uniform(1 - JITTER, 1 + JITTER), error)


def _snippet(response) -> str:
    text = " ".join(response.text.split())[:200] if response.content else ""
    return f": {text}" if text else ""


class Worker(threading.Thread):
    """Delivers one endpoint's messages until told to stop."""

    def __init__(self, outbox_path, endpoint, log):
        super().__init__(name=f"rsengine-webhook-{endpoint.name}", daemon=True)
        self.outbox_path = outbox_path
        self.endpoint = endpoint
        self.settings = endpoint.settings
        self.log = log.bind(endpoint=endpoint.name)
        self.wake = threading.Event()
        self.deadline: float | None = None  # set by finish(): stop by then
        self.attempting: str | None = None  # the webhook-id in flight
        self._next_slot = 0.0  # the rate limit's next free moment

    def finish(self, deadline: float) -> None:
        """Deliver what is due before ``deadline``, then stop."""
        self.deadline = deadline
        self.wake.set()

    def run(self) -> None:
        outbox = Outbox(self.outbox_path, synced=False)
        client = httpx.Client(timeout=self.settings.timeout, headers={"User-Agent": USER_AGENT})
        try:
            self._loop(outbox, client)
        except Exception as exc:  # the messages stay pending for the next run
            self.log.error("webhook delivery stopped", error=self.endpoint.redact(repr(exc)))
        finally:
            client.close()
            outbox.close()

    def _loop(self, outbox: Outbox, client: httpx.Client) -> None:
        while True:
            self.wake.clear()
            now = time.time()
            if self.deadline is not None and now >= self.deadline:
                return
            reason = outbox.disabled(self.endpoint.name)
            if reason:
                self._dead_letter_all(outbox, reason)
            message = None if reason else outbox.head(self.endpoint.name)
            if message is None:
                if self.deadline is not None:
                    return
                self.wake.wait()
                continue
            due = max(message.next_attempt_at, self._next_slot)
            if self.deadline is not None and due > self.deadline:
                return  # not due before the end: it stays pending
            if due > now:
                self.wake.wait(due - now)
                continue
            if self._too_old(outbox, message, now):
                continue
            self._attempt(outbox, client, message)

    def _too_old(self, outbox: Outbox, message, now: float) -> bool:
        max_age = self.settings.max_age
        if max_age is None or now - message.signal_ts <= max_age:
            return False
        error = (
            f"not sent: the signal is {now - message.signal_ts:,.0f} s old (max_age {max_age:g} s)"
        )
        outbox.expire(message.seq, error)
        self.log.warning("webhook expired", webhook_id=message.webhook_id, error=error)
        return True

    def _attempt(self, outbox: Outbox, client: httpx.Client, message) -> None:
        start = time.time()
        if self.settings.rate_limit:
            self._next_slot = start + 1.0 / self.settings.rate_limit
        timestamp = int(start)
        headers = signing.headers(self.endpoint.keys, message.webhook_id, timestamp, message.body)
        headers["Content-Type"] = "application/json"
        response, error = None, None
        self.attempting = message.webhook_id
        try:
            response = client.post(self.endpoint.url, content=message.body, headers=headers)
        except httpx.HTTPError as exc:
            error = self.endpoint.redact(f"{type(exc).__name__}: {exc}")
        finally:
            self.attempting = None
        now = time.time()
        result = outcome(response, error, message.attempts + 1, self.settings.retry, now)
        status = None if response is None else response.status_code
        error = None if result.error is None else self.endpoint.redact(result.error)
        outbox.record(message.seq, result.state, status, error, now + result.wait, now)
        fields = {"webhook_id": message.webhook_id, "attempt": message.attempts + 1}
        if result.state == "delivered":
            self.log.info(
                "webhook delivered", status=status, ms=round((now - start) * 1e3, 1), **fields
            )
        elif result.state == "pending":
            self.log.warning(
                "webhook attempt failed", error=error, retry_in_s=round(result.wait, 1), **fields
            )
        else:
            self.log.error("webhook dead-lettered", error=error, **fields)
        if result.disable:
            outbox.disable(self.endpoint.name, error, now)
            self.log.error("webhook endpoint disabled", url=self.endpoint.shown_url, error=error)

    def _dead_letter_all(self, outbox: Outbox, reason: str) -> None:
        n = outbox.dead_letter_pending(self.endpoint.name, f"endpoint disabled: {reason}")
        if n:
            self.log.error("webhook messages dead-lettered: endpoint disabled", messages=n)


class Delivery:
    """The workers of every endpoint that sends (dry runs send nothing)."""

    def __init__(self, outbox_path, endpoints, log):
        log = log.bind(**structlog.contextvars.get_contextvars())  # the run id, in their threads
        self.workers = {
            e.name: Worker(outbox_path, e, log) for e in endpoints if not e.settings.dry_run
        }

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start()

    def wake(self, name: str) -> None:
        self.workers[name].wake.set()

    def finish(self, drain_s: float) -> list[str]:
        """Lets each worker deliver what is due within ``drain_s`` seconds, then
        stops them; returns the webhook-ids still in flight (they stay
        pending, and go out again, with the same webhook-id, next time)."""
        deadline = time.time() + drain_s
        for worker in self.workers.values():
            worker.finish(deadline)
        for worker in self.workers.values():
            worker.join(max(0.0, deadline - time.time()) + 0.05)
        return [w.attempting for w in self.workers.values() if w.is_alive() and w.attempting]
