"""The webhook commands end to end: configs/demo-webhook.yaml with no receiver
running leaves its messages pending and says so; ``rsengine webhook-receiver``
verifies and prints them when ``rsengine outbox retry`` sends them; ``list``
and ``purge`` show and clear the outbox."""

import base64
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "demo-webhook.yaml"
SECRET = "whsec_" + base64.b64encode(b"cli-test-secret-0123456789abcdef").decode()
OTHER = "whsec_" + base64.b64encode(b"some-other-secret-0123456789abcd").decode()


def env(**extra):
    return {**os.environ, "RSENGINE_WEBHOOK_SECRET": SECRET, **extra}


def rsengine(*args, timeout=120, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rsengine", *map(str, args)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        cwd=cwd,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReceiverProcess:
    """``rsengine webhook-receiver`` in a subprocess; its output is read at the end."""

    def __init__(self, tmp_path, port=0):
        self.log = tmp_path / "receiver.txt"
        self.file = open(self.log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rsengine", "webhook-receiver", "--port", str(port),
             "--secret-env", "RSENGINE_WEBHOOK_SECRET"],
            stdout=self.file, stderr=subprocess.STDOUT, env=env(),
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not (m := re.search(r"listening on (http://127\.0\.0\.1:\d+/)", self.text())):
            assert time.monotonic() < deadline and self.proc.poll() is None, self.text()
            time.sleep(0.05)
        self.url = m.group(1)

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.file.close()
        return self.text()


@pytest.fixture
def receiver(tmp_path):
    r = ReceiverProcess(tmp_path)
    yield r
    if r.proc.poll() is None:
        r.stop()


def test_demo_without_a_receiver_finishes_then_retry_delivers_every_trade_signal(tmp_path):
    port = free_port()  # nothing listens there during the run
    outbox = tmp_path / "outbox.sqlite"
    run = rsengine(
        "run", DEMO, "--no-progress",
        "--set", f"outputs.webhook.endpoints.receiver.url=http://127.0.0.1:{port}/",
        "--set", f"outputs.webhook.outbox={outbox}",
        "--set", "outputs.webhook.drain=0",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    demo_entries = len(re.findall(r"  trade    ", run.stdout))
    demo_exits = len(re.findall(r"  exit     ", run.stdout))
    expected = demo_entries + demo_exits
    assert expected >= 50
    assert f"note: webhook: {expected} messages still pending" in run.stdout
    assert "rsengine outbox retry" in run.stdout

    listing = rsengine("outbox", "list", "--outbox", outbox)
    assert re.search(
        rf"receiver\s+json\s+http://127\.0\.0\.1:{port}/…\s+{expected}\s+0\s+0", listing.stdout
    )

    recv = ReceiverProcess(tmp_path, port)
    try:
        retry = rsengine("outbox", "retry", "--outbox", outbox, "--wait", 60)
    finally:
        printed = recv.stop()
    assert retry.returncode == 0, retry.stdout + retry.stderr
    received = [line for line in printed.splitlines() if line.startswith("received")]
    assert len(received) == expected
    assert sum("  trade    " in line for line in received) == demo_entries

    purge = rsengine("outbox", "purge", "--outbox", outbox)
    assert purge.stdout.strip() == f"purged {expected} messages"
    assert "no messages" in rsengine("outbox", "list", "--outbox", outbox).stdout


def signed_post(url, secret, webhook_id, body):
    now = dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


SIGNAL = {
    "id": "f555c1a8dda6df38", "ts_close": 1741187100000000000, "session_date": "2025-03-05",
    "name": "strength_rider", "kind": "setup", "instrument": "NQ", "side": "long",
    "reason": "NQ led", "contract": "NQ 03-25", "contracts": 8, "entry": 20516.75,
    "stop": 20504.75, "target": 20639.5, "confirmations": ["rs"], "size_fraction": 1.0,
}  # fmt: skip


def test_the_receiver_prints_a_signal_once_and_answers_a_repeat_as_a_duplicate(receiver):
    body = json.dumps(SIGNAL).encode()
    assert signed_post(receiver.url, SECRET, "msg_one", body).status_code == 200
    assert signed_post(receiver.url, SECRET, "msg_one", body).status_code == 200
    lines = receiver.stop().splitlines()
    assert lines[1].startswith("received  msg_one  2025-03-05 10:05 EST  trade    strength_rider")
    assert "8 NQ 03-25 @ 20516.75 stop 20504.75 target 20639.5" in lines[1]
    assert lines[2].startswith("duplicate msg_one")


def test_the_receiver_refuses_a_wrong_signature_with_401(receiver):
    response = signed_post(receiver.url, OTHER, "msg_bad", json.dumps(SIGNAL).encode())
    assert response.status_code == 401
    assert "refused   msg_bad: no signature matches" in receiver.stop()


def test_the_receiver_without_its_secret_variable_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "rsengine", "webhook-receiver", "--secret-env", "WH_NOT_SET_X"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "environment variable WH_NOT_SET_X is not set" in result.stderr


def test_outbox_list_of_a_missing_file_exits_1(tmp_path):
    result = rsengine("outbox", "list", "--outbox", tmp_path / "none.sqlite")
    assert result.returncode == 1 and "no outbox at" in result.stderr


def test_plugin_commands_are_listed_in_the_help():
    result = rsengine("--help")
    assert "outbox" in result.stdout and "webhook-receiver" in result.stdout
