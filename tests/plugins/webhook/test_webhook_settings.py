"""The output's settings: each problem names its YAML key, and no error
quotes a secret or a URL that carries one."""

import pytest
from rsengine_webhook.settings import DEFAULT_OUTBOX, parse
from webhook_helpers import SECRET_A, URL_TOKEN

from rsengine.config import ConfigError, load_config
from rsengine.host.runner import build_engine

BASE = """\
sources: {sim: {seed: 7, days: 1}}
outputs:
  webhook:
    outbox: OUTBOX
    endpoints:
      desk:
"""


def refused(tmp_path, endpoint_yaml: str, env=None) -> ConfigError:
    """The ConfigError of a config whose one endpoint is ``endpoint_yaml``."""
    text = BASE.replace("OUTBOX", str(tmp_path / "o.sqlite"))
    text += "".join(f"        {line}\n" for line in endpoint_yaml.strip().splitlines())
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        build_engine(load_config(path, env=env))
    return caught.value


def test_a_literal_secret_is_refused_at_its_key_without_being_echoed(tmp_path):
    error = refused(tmp_path, f"url: http://127.0.0.1:9/\nsecrets: [{SECRET_A}]")
    text = str(error)
    assert "outputs.webhook.endpoints.desk.secrets[0]" in text
    assert "env:VARIABLE or file:PATH" in text
    assert SECRET_A not in text and SECRET_A.removeprefix("whsec_") not in text
    assert error.line == 8  # the secrets line of the file


def test_a_secret_substituted_from_the_environment_is_refused_with_a_hint(tmp_path):
    error = refused(
        tmp_path, 'url: http://127.0.0.1:9/\nsecrets: ["${WH_S}"]', env={"WH_S": SECRET_A}
    )
    assert "write env:WH_S instead" in str(error)
    assert SECRET_A not in str(error)


@pytest.mark.parametrize("style", ["discord", "slack"])
def test_a_chat_url_written_in_the_config_is_refused_without_being_echoed(tmp_path, style):
    url = f"https://hooks.example.com/services/T1/B2/{URL_TOKEN}"
    error = refused(tmp_path, f"url: {url}\nstyle: {style}")
    assert "outputs.webhook.endpoints.desk.url" in str(error)
    assert "carries its token" in str(error)
    assert URL_TOKEN not in str(error) and "hooks.example.com" not in str(error)


def test_traderspost_is_refused_unless_orders_is_true(tmp_path):
    error = refused(tmp_path, "url: env:TP_URL\nstyle: traderspost")
    assert "outputs.webhook.endpoints.desk.orders" in str(error)
    assert "orders: true" in str(error) and "dry_run: true" in str(error)


def test_traderspost_dry_run_needs_neither_orders_nor_a_url():
    settings = parse({"endpoints": {"tp": {"style": "traderspost", "dry_run": True}}})
    [tp] = settings.endpoints
    assert (tp.dry_run, tp.orders, tp.url, tp.max_age) == (True, False, "", 60.0)


def test_traderspost_refuses_context_signals(tmp_path):
    error = refused(
        tmp_path, "url: env:TP_URL\nstyle: traderspost\norders: true\nkinds: [context, setup]"
    )
    assert "outputs.webhook.endpoints.desk.kinds" in str(error)


def test_a_missing_environment_variable_is_named_with_its_key(tmp_path):
    error = refused(tmp_path, "url: http://127.0.0.1:9/\nsecrets: [env:WH_NOT_SET_ANYWHERE]")
    assert "outputs.webhook.endpoints.desk.secrets[0]" in str(error)
    assert "environment variable WH_NOT_SET_ANYWHERE is not set" in str(error)


def test_a_secret_file_that_is_no_whsec_secret_is_refused_without_quoting_it(tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("hunter2-is-my-password!\n")
    error = refused(tmp_path, f"url: http://127.0.0.1:9/\nsecrets: [file:{secret_file}]")
    assert "whsec_<base64>" in str(error)
    assert "hunter2" not in str(error)


def test_a_missing_secret_file_is_named(tmp_path):
    error = refused(tmp_path, f"url: http://127.0.0.1:9/\nsecrets: [file:{tmp_path}/none]")
    assert f"cannot read file:{tmp_path}/none" in str(error)


def test_an_env_url_that_is_no_url_is_refused_without_being_echoed(tmp_path):
    error = refused(tmp_path, "url: env:WH_URL\nstyle: slack", env={"WH_URL": URL_TOKEN})
    assert "outputs.webhook.endpoints.desk.url" in str(error)
    assert URL_TOKEN not in str(error)


def test_the_json_style_needs_a_secret(tmp_path):
    error = refused(tmp_path, "url: http://127.0.0.1:9/")
    assert "outputs.webhook.endpoints.desk.secrets" in str(error)


def test_an_unknown_key_is_named_with_a_suggestion(tmp_path):
    error = refused(tmp_path, "url: http://127.0.0.1:9/\nsecrets: [env:X]\ntimout: 3")
    assert "outputs.webhook.endpoints.desk.timout" in str(error)
    assert "did you mean 'timeout'?" in str(error)


def test_an_unknown_style_is_named(tmp_path):
    error = refused(tmp_path, "url: env:X\nstyle: teams")
    assert "outputs.webhook.endpoints.desk.style: 'teams' is not one of" in str(error)


def test_a_bad_retry_wait_is_named_by_its_index(tmp_path):
    error = refused(tmp_path, "url: http://127.0.0.1:9/\nsecrets: [env:X]\nretry: [5s, soon]")
    assert "outputs.webhook.endpoints.desk.retry[1]" in str(error)


def test_defaults_follow_the_docs():
    a = {"url": "http://x/", "secrets": ["env:S"]}
    settings = parse({"endpoints": {"a": a, "s": {"url": "env:U", "style": "slack"}}})
    a, s = settings.endpoints
    assert a.retry == (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)  # 8 attempts
    assert (a.timeout, a.rate_limit, a.max_age, a.kinds) == (
        15.0,
        None,
        None,
        ("setup", "exit", "halt"),
    )
    assert s.rate_limit == 1.0  # Slack: one message a second
    assert (str(settings.outbox), settings.drain) == (DEFAULT_OUTBOX, 5.0)


def test_an_outbox_in_use_by_another_run_is_refused_at_the_outbox_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WH_SECRET_A", SECRET_A)
    path = tmp_path / "run.yaml"
    path.write_text(BASE.replace("OUTBOX", str(tmp_path / "o.sqlite")) + (
        "        url: http://127.0.0.1:9/\n        secrets: [env:WH_SECRET_A]\n"
    ))  # fmt: skip
    first = build_engine(load_config(path))  # holds the outbox's lock
    with pytest.raises(ConfigError) as caught:
        build_engine(load_config(path))
    assert "outputs.webhook.outbox" in str(caught.value)
    assert "another process" in str(caught.value)
    del first
