"""Delivery against a loopback server the test scripts: every signal arrives,
in order, each with one webhook-id however often it is retried; what is
refused or never answered ends in the dead letters; nothing waits on the
engine's thread."""

import email.utils
import json

import httpx
import pytest
import structlog
from rsengine_webhook import webhook_id
from rsengine_webhook.delivery import outcome, retry_after
from rsengine_webhook.outbox import Outbox
from standardwebhooks.webhooks import Webhook
from webhook_helpers import (
    SECRET_A,
    SECRET_B,
    T0,
    build,
    context_signals,
    endpoint,
    entry,
    messages,
    secrets_env,  # noqa: F401  (a fixture)
    send,
    wait_until,
)
from webhook_loopback import Answer, Loopback, closed_port

from rsengine.config import Config
from rsengine.host.runner import build_engine

pytestmark = pytest.mark.usefixtures("secrets_env")


def by_signal(received) -> dict[str, set[str]]:
    """signal id -> the webhook-ids its requests carried."""
    ids: dict[str, set[str]] = {}
    for r in received:
        ids.setdefault(r.json["id"], set()).add(r.webhook_id)
    return ids


def test_every_signal_arrives_in_order_through_500_429_hang_and_with_one_id_each(tmp_path):
    script = [
        Answer(500, body=b"boom"),
        Answer(429, headers={"Retry-After": "0"}),
        Answer(429, {"Content-Type": "application/json"}, b'{"retry_after": 0.05}'),
        Answer(delay=1.0),  # past the 0.3 s timeout
        Answer(503),
    ]
    signals = context_signals(6)
    with Loopback(script) as server:
        out = build(tmp_path, {"a": endpoint(server.url, timeout=0.3, retry=[0.05] * 5)})
        send(out, signals)
        received = server.received
    ids = by_signal(received)
    assert list(ids) == [s.id for s in signals]  # all of them, first seen in signal order
    assert all(len(wids) == 1 for wids in ids.values())
    assert len({w for wids in ids.values() for w in wids}) == len(signals)
    assert len(received) == len(signals) + len(script)
    assert [m.state for m in messages(tmp_path)] == ["delivered"] * 6


def test_each_request_verifies_with_standardwebhooks_under_either_rotated_secret(tmp_path):
    with Loopback() as server:
        settings = endpoint(server.url, secrets=["env:WH_SECRET_A", "env:WH_SECRET_B"])
        send(build(tmp_path, {"a": settings}), context_signals(2))
    for request in server.received:
        for secret in (SECRET_A, SECRET_B):
            assert Webhook(secret).verify(request.body, request.headers)["id"] == request.json["id"]
        assert request.headers["idempotency-key"] == request.webhook_id


def test_the_webhook_id_is_derived_from_the_signal_and_the_endpoint(tmp_path):
    [s] = context_signals(1)
    with Loopback() as server:
        send(build(tmp_path, {"a": endpoint(server.url), "b": endpoint(server.url)}), [s])
    got = {r.webhook_id for r in server.received}
    assert got == {webhook_id(s.id, "a"), webhook_id(s.id, "b")}
    assert all(s.id in w for w in got)


def test_retry_after_in_seconds_is_waited_for(tmp_path):
    with Loopback([Answer(429, headers={"Retry-After": "1"})]) as server:
        send(build(tmp_path, {"a": endpoint(server.url, retry=[0.01])}), context_signals(1))
    first, second = server.received
    assert second.webhook_id == first.webhook_id
    assert second.at - first.at >= 0.95


def test_discords_json_retry_after_is_waited_for(tmp_path):
    limited = Answer(429, {"Content-Type": "application/json"}, b'{"retry_after": 0.6}')
    with Loopback([limited]) as server:
        send(build(tmp_path, {"a": endpoint(server.url, retry=[0.01])}), context_signals(1))
    first, second = server.received
    assert second.at - first.at >= 0.55


def test_a_request_past_the_timeout_is_sent_again_with_the_same_id(tmp_path):
    with Loopback([Answer(delay=1.0)]) as server:
        send(build(tmp_path, {"a": endpoint(server.url, timeout=0.3)}), context_signals(1))
    assert len(server.received) == 2
    assert server.received[0].webhook_id == server.received[1].webhook_id
    [m] = messages(tmp_path)
    assert (m.state, m.attempts) == ("delivered", 2)


def test_an_endpoint_that_is_down_gets_the_message_once_it_listens(tmp_path):
    port = closed_port()
    url = f"http://127.0.0.1:{port}/hook"
    out = build(tmp_path, {"a": endpoint(url, retry=[0.2] * 20)})
    [s] = context_signals(1)
    out.on_signal(s)
    assert wait_until(lambda: messages(tmp_path)[0].attempts >= 1)
    assert "ConnectError" in messages(tmp_path)[0].last_error
    with Loopback(port=port) as server:
        send(out, [])
    [m] = messages(tmp_path)
    assert m.state == "delivered" and m.attempts >= 2
    assert [r.webhook_id for r in server.received] == [webhook_id(s.id, "a")]


def test_a_message_that_fails_every_attempt_is_dead_lettered_and_the_next_goes_on(tmp_path):
    with Loopback([Answer(500)] * 3) as server:
        send(build(tmp_path, {"a": endpoint(server.url, retry=[0.05, 0.05])}), context_signals(2))
    first, second = messages(tmp_path)
    assert (first.state, first.attempts, first.last_status) == ("dead", 3, 500)
    assert "gave up after 3 attempts" in first.last_error
    assert second.state == "delivered"
    assert len({r.webhook_id for r in server.received[:3]}) == 1


def test_a_4xx_is_dead_after_one_attempt(tmp_path):
    with Loopback([Answer(400, body=b"invalid_payload")]) as server:
        send(build(tmp_path, {"a": endpoint(server.url)}), context_signals(2))
    first, second = messages(tmp_path)
    assert (first.state, first.attempts) == ("dead", 1)
    assert "HTTP 400: invalid_payload" in first.last_error
    assert second.state == "delivered"
    assert len(server.received) == 2


def test_410_disables_the_endpoint_and_dead_letters_its_other_messages_unsent(tmp_path):
    with Loopback([Answer(410)]) as server:
        send(build(tmp_path, {"a": endpoint(server.url)}), context_signals(3))
    assert len(server.received) == 1
    assert [m.state for m in messages(tmp_path)] == ["dead"] * 3
    assert [m.attempts for m in messages(tmp_path)] == [1, 0, 0]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    assert "HTTP 410" in outbox.disabled("a")
    outbox.close()


def test_the_rate_limit_spaces_requests(tmp_path):
    with Loopback() as server:
        send(build(tmp_path, {"a": endpoint(server.url, rate_limit=5)}), context_signals(4))
    stamps = [r.at for r in server.received]
    assert [r.json["reason"] for r in server.received] == [f"test signal {i}" for i in range(4)]
    assert all(b - a >= 0.15 for a, b in zip(stamps, stamps[1:], strict=False))


def test_pending_messages_of_an_earlier_run_go_out_with_their_ids_on_the_next(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/hook"
    first = build(tmp_path, {"a": endpoint(url, retry=[30])}, drain=0)
    send(first, context_signals(3))
    queued = [m.webhook_id for m in messages(tmp_path)]
    assert [m.state for m in messages(tmp_path)] == ["pending"] * 3
    with Loopback() as server:
        send(build(tmp_path, {"a": endpoint(server.url)}), [])
    assert [r.webhook_id for r in server.received] == queued
    assert [m.state for m in messages(tmp_path)] == ["delivered"] * 3


def test_a_rerun_sends_only_what_was_not_queued_before(tmp_path):
    signals = context_signals(4)
    with Loopback() as server:
        send(build(tmp_path, {"a": endpoint(server.url)}), signals[:3])
        summary = send(build(tmp_path, {"a": endpoint(server.url)}), signals)
    assert [r.json["id"] for r in server.received] == [s.id for s in signals]
    assert "1 messages queued by this run, 3 already in the outbox" in summary.notes[0]


def test_a_replay_does_not_wait_for_a_slow_endpoint(tmp_path):
    """Six signals to an endpoint answering in 5 s: the replay ends with most
    of them still pending (drain 0), so it cannot have waited for them."""
    with Loopback(default=Answer(delay=5.0)) as server:
        tree = {
            "sources": {"sim": {"seed": 7, "days": 4, "trades_per_minute": 20}},
            "indicators": {"rs": {}, "measures": {}, "group": {}, "ratios": {}, "regime": {}},
            "setups": {"context": {}},
            "outputs": {
                "webhook": {
                    "outbox": str(tmp_path / "outbox.sqlite"),
                    "drain": 0,
                    "endpoints": {"slow": endpoint(server.url, kinds=["context"], timeout=10)},
                }
            },
        }
        summary = build_engine(Config.from_dict(tree)).run()
    states = [m.state for m in messages(tmp_path)]
    assert summary.signals == len(states) == 6
    assert states.count("pending") >= 4
    assert any("still pending" in note for note in summary.notes)


def test_traderspost_never_sends_an_order_for_an_old_bar_by_default(tmp_path, monkeypatch):
    with Loopback() as server:
        monkeypatch.setenv("TP_URL", server.url)
        tp = {"url": "env:TP_URL", "style": "traderspost", "orders": True}
        send(build(tmp_path, {"tp": tp}), [entry()])
    assert server.received == []
    [m] = messages(tmp_path)
    assert m.state == "dead" and "max_age 60 s" in m.last_error


def test_traderspost_sends_the_order_when_allowed(tmp_path, monkeypatch):
    with Loopback() as server:
        monkeypatch.setenv("TP_URL", server.url)
        tp = {"url": "env:TP_URL", "style": "traderspost", "orders": True, "max_age": None}
        send(build(tmp_path, {"tp": tp}), [entry()])
    [request] = server.received
    assert request.json["ticker"] == "NQH2025" and request.json["quantity"] == 8
    assert "webhook-signature" not in request.headers  # no secret: TradersPost has no HMAC


def test_a_dry_run_logs_the_exact_body_and_sends_nothing(tmp_path):
    out = build(tmp_path, {"tp": {"style": "traderspost", "dry_run": True}})
    with structlog.testing.capture_logs() as logs:
        send(out, [entry()])
    [line] = [e for e in logs if e["event"] == "webhook dry run: not sent"]
    assert json.loads(line["body"])["ticker"] == "NQH2025"
    assert messages(tmp_path) == []


# -- the status table (docs/webhooks.md), on real httpx responses -------------------


@pytest.mark.parametrize(
    "status, state",
    [(200, "delivered"), (204, "delivered"), (301, "pending"), (400, "dead"), (401, "dead"),
     (404, "dead"), (408, "pending"), (409, "pending"), (410, "dead"), (425, "pending"),
     (429, "pending"), (500, "pending"), (502, "pending"), (503, "pending"), (504, "pending")],
)  # fmt: skip
def test_each_status_has_its_documented_outcome(status, state):
    result = outcome(httpx.Response(status), None, 1, (5.0,), T0 / 1e9)
    assert result.state == state
    assert result.disable == (status == 410)


def test_a_transport_error_is_retried_until_the_schedule_ends():
    assert outcome(None, "ConnectError", 1, (5.0,), 0).state == "pending"
    assert outcome(None, "ConnectError", 2, (5.0,), 0).state == "dead"


def test_scheduled_waits_have_at_most_20_percent_jitter():
    waits = [outcome(None, "x", 1, (100.0,), 0).wait for _ in range(200)]
    assert all(80.0 <= w <= 120.0 for w in waits) and len(set(waits)) > 1


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    now = 1_750_000_000.0
    header = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after(httpx.Response(503, headers={"Retry-After": header}), now) == 42.0
