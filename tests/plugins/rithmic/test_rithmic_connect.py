"""Login, secrets, settings and check_feed against the loopback gateway."""

import datetime as dt
import logging

import pytest
from rithmic_helpers import PASSWORD_VAR, config, settings, source, stub_fixture  # noqa: F401  (the fixture stub)

from rsengine.config import ConfigError
from rsengine.exchange import contracts
from rsengine.feeds import FeedError
from rsengine.host.plugins import make_plugin_manager
from rsengine.host.runner import build_engine


def front_month_today(root):
    return contracts.contract_code(root, *contracts.front_month(root, dt.datetime.now(dt.UTC)))


def test_check_feed_lists_each_contract_and_its_last_trade(stub):
    es, ym = front_month_today("ES"), front_month_today("YM")
    stub.front_months[("ES", "CME")] = es
    stub.add_trades(es, "CME", [(1_741_098_600_000_000_000, 5000.25, 2.0)])
    lines = source(stub, symbols=("ES", "YM")).check_feed(0.3)
    assert lines[0].startswith(f"connected to {stub.url} (system Rithmic Test, app test:rsengine)")
    assert lines[1] == (
        f"ES: {es} on CME (Rithmic's front month {es}):"
        " last trade 5000.25 x 2 at 2025-03-04T14:30:00Z"
    )
    assert lines[2].startswith(f"YM: {ym} on CBOT (Rithmic's front month unknown")
    assert lines[2].endswith(
        "no trade within 0.3 s (market closed, or no market-data permission for this exchange?)"
    )
    # the system-info round, then the ticker and history logins, a stagger apart
    logins = [(infra, at) for infra, at, ok in stub.logins if ok]
    assert [infra for infra, _ in logins] == [1, 3]
    assert logins[1][1] - logins[0][1] >= 0.05


def test_a_refused_login_says_why_and_never_shows_the_password(stub, monkeypatch, caplog, capsys):
    monkeypatch.setenv(PASSWORD_VAR, "hunter2-wrong")
    with caplog.at_level(logging.DEBUG), pytest.raises(FeedError) as err:
        source(stub).check_feed(0.1)
    assert "Rithmic refused the ticker plant login: rp_code ['13', 'permission denied']" in str(
        err.value
    )
    assert "app_name is not approved" in str(err.value)
    out = capsys.readouterr()
    for text in (str(err.value), caplog.text, out.out, out.err):
        assert "hunter2-wrong" not in text
    assert "***" in caplog.text  # the package's own line, with the password hidden


def test_a_system_name_the_gateway_does_not_offer(stub):
    with pytest.raises(FeedError, match="system_name 'Rithmic 01' is not offered at ws://"):
        source(stub, system_name="Rithmic 01").check_feed(0.1)


def test_credentials_from_a_file_and_the_environment(stub, tmp_path, monkeypatch):
    secret = tmp_path / "rithmic-password"
    secret.write_text(stub.password + "\n")
    monkeypatch.setenv("RSENGINE_TEST_RITHMIC_USER", stub.user)
    monkeypatch.setenv("RSENGINE_TEST_RITHMIC_URL", stub.url)
    src = source(
        stub,
        user="env:RSENGINE_TEST_RITHMIC_USER",
        password=f"file:{secret}",
        url="env:RSENGINE_TEST_RITHMIC_URL",
    )
    lines = src.check_feed(0.1)
    assert lines[0].startswith("connected to env:RSENGINE_TEST_RITHMIC_URL ")
    assert stub.url not in "\n".join(lines)


def test_an_unset_variable_names_the_key_and_the_variable(stub, monkeypatch):
    monkeypatch.delenv(PASSWORD_VAR)
    with pytest.raises(
        FeedError, match=f"password: environment variable {PASSWORD_VAR} is not set"
    ):
        source(stub).check_feed(0.1)


def test_an_unreachable_gateway_is_a_feed_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    from rithmic_helpers import source as make

    class Nowhere:
        url = f"ws://127.0.0.1:{port}"

    with pytest.raises(FeedError, match=f"cannot reach ws://127.0.0.1:{port}"):
        make(Nowhere(), password="env:PATH").check_feed(0.1)


def build(stub, mode="live", **extra):
    cfg = config(("ES",), mode, settings(stub, **extra))
    return build_engine(cfg, make_plugin_manager())


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"password": "plain-text"}, "password", "write the password as env:VARIABLE or file:PATH"),
        ({"app_name": ""}, "app_name", "with its prefix (e.g. abcd:rsengine)"),
        ({"user": None}, "user", "needs a text or an env:/file: reference"),
        ({"timeout": "soon"}, "timeout", "expected a duration"),
        ({"stagger": -1}, "stagger", "a duration must be 0 or more"),
        ({"max_pages": 0}, "max_pages", "is not a whole number >= 1"),
        ({"exchanges": {"NQ": "CME"}}, "exchanges.NQ", "not a configured instrument"),
        ({"reconnect": {"first": "5s", "most": "1s"}}, "reconnect.most", "less than first"),
        ({"paging": 3}, "paging", "unknown setting"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_its_key(stub, extra, key, says):
    with pytest.raises(ConfigError) as err:
        build(stub, **extra)
    assert f"sources.rithmic.{key}" in str(err.value)
    assert says in str(err.value)


def test_a_replay_needs_its_window(stub):
    with pytest.raises(ConfigError, match=r"sources\.rithmic\.start.*give start and end"):
        build(stub, mode="replay")
