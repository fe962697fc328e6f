"""kill -9 of a real ``python -m rsengine run`` in the middle of its
deliveries, then a restart: no signal is lost and every redelivery carries
the webhook-id it had before."""

import os
import signal
import subprocess
import sys

from rsengine_webhook.outbox import Outbox
from webhook_helpers import cli_env, emitted_ids, endpoint, hourly_config, rsengine_cli
from webhook_loopback import OK, Answer, Loopback

SLOW = Answer(delay=0.3)


def test_kill_9_mid_delivery_then_restart_loses_nothing_and_keeps_each_id(tmp_path):
    with Loopback(default=SLOW) as server:
        settings = endpoint(server.url, kinds=["context"], retry=[0.1] * 20, timeout=5)
        config = hourly_config(tmp_path, {"a": settings}, drain=60)
        first = subprocess.Popen(
            [sys.executable, "-m", "rsengine", "run", str(config)],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            before_kill = server.wait_for(8, timeout=60)
            os.kill(first.pid, signal.SIGKILL)  # the 8th request is in flight
        finally:
            first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert len(before_kill) >= 8

        server.default = OK
        second = rsengine_cli("run", config, timeout=120)
        assert second.returncode == 0, second.stderr
        received = server.received

    expected = emitted_ids(tmp_path)
    assert len(expected) == 69
    ids_of = {}
    for request in received:
        ids_of.setdefault(request.json["id"], set()).add(request.webhook_id)
    assert sorted(ids_of) == sorted(expected)  # not one lost
    assert all(len(ids) == 1 for ids in ids_of.values())  # one webhook-id each, ever
    sent_twice = len(received) - len(expected)
    assert sent_twice >= 1  # the one in flight at the kill, again, under its id
    outbox = Outbox(tmp_path / "outbox.sqlite")
    assert {m.state for m in outbox.messages()} == {"delivered"}
    outbox.close()
