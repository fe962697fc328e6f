"""No secret in any text rsengine prints or stores: a real run at debug level
with signing secrets and a Discord-style URL carrying a token, against
servers that fail (one echoing the token back), then the outbox commands;
and config errors about secrets."""

import json

from webhook_helpers import (
    SECRET_A,
    SECRET_B,
    URL_TOKEN,
    cli_env,
    endpoint,
    hourly_config,
    rsengine_cli,
)
from webhook_loopback import Answer, Loopback

FORBIDDEN = [
    SECRET_A,
    SECRET_B,
    SECRET_A.removeprefix("whsec_"),
    SECRET_B.removeprefix("whsec_"),
    URL_TOKEN,
]


def leaks(text: str) -> list[str]:
    return [secret for secret in FORBIDDEN if secret in text]


def test_no_secret_in_the_logs_summary_outbox_or_outbox_commands(tmp_path):
    echo = Answer(500, body=f"no webhook /api/webhooks/1/{URL_TOKEN} here".encode())
    with Loopback([Answer(500), Answer(429)]) as signed, Loopback([echo]) as chat:
        discord_url = f"{chat.url}/api/webhooks/1/{URL_TOKEN}"
        endpoints = {
            "signed": endpoint(signed.url, secrets=["env:WH_SECRET_A", "env:WH_SECRET_B"]),
            "chat": {"url": "env:WH_DISCORD_URL", "style": "discord", "rate_limit": None,
                     "kinds": ["context"], "retry": [0.05] * 3},
        }  # fmt: skip
        config = hourly_config(tmp_path, endpoints)
        env = cli_env(WH_DISCORD_URL=discord_url)
        run = rsengine_cli("--log-level", "debug", "run", config, env=env)
        assert run.returncode == 0, run.stderr
        assert len(chat.received) == 70 and chat.received[0].path.endswith(URL_TOKEN)
    assert "webhook attempt failed" in run.stderr and "webhook delivered" in run.stderr
    errors = [json.loads(line).get("error") for line in run.stderr.splitlines()]
    assert "HTTP 500: no webhook /api/webhooks/1/… here" in errors  # the echo, redacted
    outbox = tmp_path / "outbox.sqlite"
    listing = rsengine_cli("outbox", "list", "--outbox", outbox, "--limit", 1000, env=env)
    assert listing.stdout.count("delivered") == 139
    retry = rsengine_cli("--log-level", "debug", "outbox", "retry", "--outbox", outbox, env=env)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("outbox.sqlite*"))
    texts = [run.stdout, run.stderr, listing.stdout, listing.stderr, retry.stdout, retry.stderr]
    assert [leaks(t) for t in texts] == [[]] * len(texts)
    assert [s for s in FORBIDDEN if s.encode() in stored] == []


def test_a_literal_secret_in_the_config_file_is_not_echoed_by_validate(tmp_path):
    config = hourly_config(tmp_path, {"a": endpoint("http://127.0.0.1:9/", secrets=[SECRET_A])})
    result = rsengine_cli("validate", config)
    assert result.returncode == 2
    assert "outputs.webhook.endpoints.a.secrets[0]" in result.stderr
    assert leaks(result.stdout + result.stderr) == []


def test_a_missing_secret_variable_exits_2_naming_it(tmp_path):
    config = hourly_config(tmp_path, {"a": endpoint("http://127.0.0.1:9/")})
    env = {k: v for k, v in cli_env().items() if k != "WH_SECRET_A"}
    result = rsengine_cli("run", config, env=env)
    assert result.returncode == 2
    assert "environment variable WH_SECRET_A is not set" in result.stderr
