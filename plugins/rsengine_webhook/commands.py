"""``rsengine outbox list|retry|purge`` and ``rsengine webhook-receiver``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import structlog

from rsengine.app.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, add_log_level
from rsengine.config import format_path

from .delivery import Delivery
from .outbox import STATES, Outbox, OutboxBusy, OutboxLock
from .secrets import SecretError, is_reference, resolve, shown_url
from .settings import DEFAULT_OUTBOX, EndpointSettings
from .signing import SecretFormatError, decode_secret


def add_commands(subparsers) -> None:
    common = add_log_level(argparse.ArgumentParser(add_help=False))
    common.add_argument("--outbox", default=DEFAULT_OUTBOX, help=f"default: {DEFAULT_OUTBOX}")
    common.add_argument("--endpoint", help="only this endpoint's messages")
    outbox = subparsers.add_parser("outbox", help="show, send again or purge the webhook outbox")
    actions = outbox.add_subparsers(dest="outbox_action", metavar="ACTION", required=True)

    show = actions.add_parser("list", parents=[common], help="counts per endpoint, then messages")
    show.add_argument("--state", action="append", choices=STATES, help="repeatable; default all")
    show.add_argument("--limit", type=int, default=50, help="messages shown (default 50)")
    show.set_defaults(run_command=list_outbox)

    retry = actions.add_parser("retry", parents=[common], help="send dead and pending ones now")
    retry.add_argument("--state", action="append", choices=("dead", "pending"))
    retry.add_argument(
        "--wait", type=float, default=30.0, help="seconds to keep delivering (default 30)"
    )
    retry.set_defaults(run_command=retry_outbox)

    purge = actions.add_parser("purge", parents=[common], help="delete delivered and dead ones")
    purge.add_argument("--state", action="append", choices=("delivered", "dead"))
    purge.set_defaults(run_command=purge_outbox)

    receiver = subparsers.add_parser(
        "webhook-receiver", help="a local receiver on 127.0.0.1 that verifies and prints signals"
    )
    receiver.add_argument("--port", type=int, default=8765, help="default 8765; 0 picks one")
    receiver.add_argument(
        "--secret-env", required=True, metavar="VAR", help="environment variable with the secret"
    )
    receiver.add_argument("--timezone", default="America/New_York", help="for the signal lines")
    receiver.set_defaults(run_command=run_receiver)


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(f"rsengine: {message}", file=sys.stderr)
    return code


def _opened(action, lock: bool):
    """A command on an existing outbox; one that changes it holds its lock."""

    def command(args) -> int:
        if not Path(args.outbox).is_file():
            return _fail(f"no outbox at {args.outbox}")
        try:
            held = OutboxLock(args.outbox) if lock else None
        except OutboxBusy as exc:
            return _fail(f"outbox {args.outbox} {exc}; try again when it ends")
        outbox = Outbox(args.outbox)
        try:
            return action(outbox, args)
        finally:
            outbox.close()
            if held is not None:
                held.release()

    return command


def _list(outbox: Outbox, args) -> int:
    print(f"outbox {args.outbox}")
    print(_endpoint_table(outbox, args.endpoint))
    print(_message_table(outbox.messages(args.state or STATES, args.endpoint, args.limit)))
    return EXIT_OK


def _endpoint_table(outbox: Outbox, only: str | None) -> str:
    counts = outbox.counts()
    settings = outbox.endpoint_settings()
    disabled = {name: reason for name, at, reason in outbox.endpoint_rows() if at is not None}
    names = sorted({name for name, _ in counts} | set(settings))
    head = f"{'endpoint':16} {'style':12} {'url':30} {'pending':>8} {'delivered':>10} {'dead':>6}"
    lines = [head]
    for name in names:
        if only and name != only:
            continue
        s = EndpointSettings.from_json(settings[name]) if name in settings else None
        url = "?" if s is None else s.url if is_reference(s.url) else shown_url(s.url)
        n = [counts.get((name, state), 0) for state in ("pending", "delivered", "dead")]
        lines.append(
            f"{name:16} {s.style if s else '?':12} {url:30} {n[0]:>8} {n[1]:>10} {n[2]:>6}"
            + (f"  DISABLED: {disabled[name]}" if name in disabled else "")
        )
    return "\n".join(lines)


def _message_table(rows) -> str:
    if not rows:
        return "no messages"
    lines = [f"{'seq':>6} {'webhook-id':34} {'endpoint':16} {'kind':6} {'state':9} attempts  last"]
    now = time.time()
    for m in rows:
        last = m.last_error or (f"HTTP {m.last_status}" if m.last_status else "-")
        if m.state == "pending":
            last += f"; next attempt {_when(m.next_attempt_at, now)}"
        lines.append(
            f"{m.seq:>6} {m.webhook_id:34} {m.endpoint:16} {m.kind:6} {m.state:9} "
            f"{m.attempts:>8}  {last}"
        )
    return "\n".join(lines)


def _when(ts: float, now: float) -> str:
    if ts <= now:
        return "now"
    stamp = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{stamp} (in {ts - now:,.0f} s)"


def _retry(outbox: Outbox, args) -> int:
    endpoints = []
    for name, text in outbox.endpoint_settings().items():
        settings = EndpointSettings.from_json(text)
        if (args.endpoint and name != args.endpoint) or settings.dry_run:
            continue
        try:
            endpoints.append(resolve(settings))
        except SecretError as exc:
            return _fail(f"endpoint {name}: {format_path(exc.key)}: {exc}", EXIT_USAGE)
    n = outbox.retry_now(args.state or ("dead", "pending"), args.endpoint)
    print(f"{n} messages due now")
    log = structlog.get_logger("rsengine.webhook").bind(plugin="webhook")
    delivery = Delivery(args.outbox, endpoints, log)
    delivery.start()
    delivery.finish(args.wait)
    print(_endpoint_table(outbox, args.endpoint))
    names = {e.name for e in endpoints}
    counts = outbox.counts().items()
    left = sum(n for (name, state), n in counts if name in names and state != "delivered")
    return EXIT_OK if left == 0 else EXIT_FAILURE


def _purge(outbox: Outbox, args) -> int:
    n = outbox.purge(args.state or ("delivered", "dead"), args.endpoint)
    print(f"purged {n} messages")
    return EXIT_OK


list_outbox = _opened(_list, lock=False)
retry_outbox = _opened(_retry, lock=True)
purge_outbox = _opened(_purge, lock=True)


# -- the receiver ---------------------------------------------------------------------


def run_receiver(args) -> int:
    from .receiver import Receiver

    text = os.environ.get(args.secret_env, "").strip()
    if not text:
        return _fail(f"--secret-env: environment variable {args.secret_env} is not set", EXIT_USAGE)
    try:
        key = decode_secret(text)
    except SecretFormatError as exc:
        return _fail(f"--secret-env: the secret in {args.secret_env} {exc}", EXIT_USAGE)
    server = Receiver(args.port, [key], args.timezone)
    server.say(
        f"listening on http://127.0.0.1:{server.port}/ (verifying with ${args.secret_env}; "
        "Ctrl-C stops)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.say(f"stopped: {len(server.seen)} messages received")
    finally:
        server.server_close()
    return EXIT_OK
