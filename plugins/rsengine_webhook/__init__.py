"""Output ``webhook``: each signal to one or more HTTP endpoints, through a
durable outbox (docs/webhooks.md).

The engine's thread only builds each message and commits it to the outbox
(SQLite, WAL); one background thread per endpoint delivers it, signed with
Standard Webhooks v1, retried on a schedule with jitter, honouring
``Retry-After`` and a rate limit. A message's webhook-id is derived from the
signal id and the endpoint name: the same on every retry, after a restart and
in a rerun of the same replay, which therefore sends nothing twice.
``close(summary)`` waits up to ``drain`` for due deliveries; the rest stays in
the outbox for the next run or ``rsengine outbox retry``.
"""

from __future__ import annotations

import hashlib
import weakref

import structlog

import rsengine
from rsengine.config import format_path

from .delivery import Delivery
from .outbox import Outbox, OutboxBusy, OutboxLock
from .payloads import Bodies
from .secrets import SecretError, resolve
from .settings import SettingsError, parse


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add(
        "webhook",
        WebhookOutput,
        "signals to HTTP endpoints (JSON signed, TradersPost, Discord, Slack) via a durable outbox",
    )


@rsengine.hookimpl
def rsengine_add_commands(subparsers):
    from .commands import add_commands

    add_commands(subparsers)


def webhook_id(signal_id: str, endpoint: str, part: str = "") -> str:
    """``msg_<signal id>_<10 hex>``: stable per signal, endpoint and part."""
    digest = hashlib.sha256(f"{endpoint}|{part}".encode()).hexdigest()[:10]
    return f"msg_{signal_id}_{digest}"


class WebhookOutput:
    def __init__(self, settings: dict, context):
        self.name = context.name
        self.component = context.component
        env_values = getattr(self.component, "env_values", None) or {}
        try:
            self.settings = parse(settings, {v: k for k, v in env_values.items()})
            self.endpoints = [self._resolve(s) for s in self.settings.endpoints]
        except SettingsError as exc:
            raise self._refuse(exc.key, exc.message) from None
        self.outbox_path = self.settings.outbox
        try:
            lock = OutboxLock(self.outbox_path)
        except (OutboxBusy, OSError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise self._refuse(
                ("outbox",), f"{str(self.outbox_path)!r} {why}; wait for it to end, or give "
                "this run another outbox",
            ) from None  # fmt: skip
        self._release = weakref.finalize(self, lock.release)  # built and dropped: let go
        self.written = [self.outbox_path]
        self.bodies = {
            e.name: Bodies(e.settings.style, context.config.session.timezone)
            for e in self.endpoints
        }
        self.log = structlog.get_logger("rsengine.webhook").bind(plugin="webhook")
        self.queued = self.repeated = self.dry_run = 0
        self._outbox = None  # opened by the first batch: `rsengine validate` sends nothing
        self._delivery = None

    def _resolve(self, settings):
        try:
            return resolve(settings)
        except SecretError as exc:
            raise SettingsError(("endpoints", settings.name, *exc.key), str(exc)) from None

    def _refuse(self, key: tuple, message: str) -> Exception:
        if self.component is not None:
            return self.component.error(key, message)
        return ValueError(f"{format_path(('outputs', self.name, *key))}: {message}")

    # -- the run ---------------------------------------------------------------------

    def _open(self) -> None:
        if self._outbox is not None:
            return
        self._outbox = Outbox(self.outbox_path)
        for endpoint in self.endpoints:
            self._outbox.save_endpoint(endpoint.settings)
        counts = self._outbox.counts()
        for endpoint in self.endpoints:
            waiting = counts.get((endpoint.name, "pending"), 0)
            if waiting:
                self.log.info(
                    "webhook resuming pending messages", endpoint=endpoint.name, n=waiting
                )
        self._delivery = Delivery(self.outbox_path, self.endpoints, self.log)
        self._delivery.start()

    def on_batch(self, batch, values):
        self._open()

    def on_signal(self, signal):
        self._open()
        for endpoint in self.endpoints:
            if signal.kind in endpoint.settings.kinds:
                self._queue(endpoint, signal)

    def _queue(self, endpoint, signal) -> None:
        name = endpoint.name
        bodies, why = self.bodies[name](signal)
        if not bodies:
            self.log.info("webhook not sent", endpoint=name, signal_id=signal.id, why=why)
            return
        for part, body in bodies:
            wid = webhook_id(signal.id, name, part)
            about = {"endpoint": name, "webhook_id": wid, "signal_id": signal.id}
            if endpoint.settings.dry_run:
                self.dry_run += 1
                self.log.warning(
                    "webhook dry run: not sent", url=endpoint.shown_url, body=body.decode(), **about
                )
            elif self._outbox.add(wid, name, signal, body):
                self.queued += 1
                self.log.info("webhook queued", url=endpoint.shown_url, body=body.decode(), **about)
                self._delivery.wake(name)
            else:
                self.repeated += 1
                state = self._outbox.state_of(wid)
                self.log.info(
                    "webhook already in the outbox: not queued again", state=state, **about
                )

    def close(self, summary):
        try:
            self._open()
            in_flight = self._delivery.finish(self.settings.drain)
            summary.notes.extend(self._notes(self._outbox.counts(), in_flight))
        finally:
            if self._outbox is not None:
                self._outbox.close()
            self._release()

    def _notes(self, counts: dict, in_flight: list) -> list[str]:
        where = str(self.outbox_path)
        notes = [
            f"webhook: {self.queued} messages queued by this run, {self.repeated} already in "
            f"the outbox {where} (not sent again)"
        ]
        pending = dead = 0
        for endpoint in self.endpoints:
            name = endpoint.name
            if endpoint.settings.dry_run:
                notes.append(f"webhook {name}: dry run, {self.dry_run} messages logged, none sent")
                continue
            n = {s: counts.get((name, s), 0) for s in ("delivered", "pending", "dead")}
            pending, dead = pending + n["pending"], dead + n["dead"]
            notes.append(
                f"webhook {name} ({endpoint.shown_url}): {n['delivered']} delivered, "
                f"{n['pending']} pending, {n['dead']} dead"
            )
        if pending:
            self.log.warning("webhook messages left pending", n=pending, outbox=where)
            notes.append(
                f"webhook: {pending} messages still pending ({len(in_flight)} in flight): they "
                f"go out on the next run or with `rsengine outbox retry --outbox {where}`"
            )
        if dead:
            notes.append(
                f"webhook: {dead} dead-lettered messages: `rsengine outbox list --outbox {where} "
                "--state dead` shows why, `rsengine outbox retry` sends them again"
            )
        return notes
