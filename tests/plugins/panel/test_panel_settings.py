"""The panel's settings: a bad one is refused at its key, a port in use is
refused clearly, nothing listens once the output is closed or dropped, and the
server answers what it should (and nothing to a foreign Host header)."""

from __future__ import annotations

import gc
import socket
import threading
from pathlib import Path

import pytest
import yaml
from panel_helpers import config_of, demo_tree, get

from rsengine.app.cli import main
from rsengine.config import ConfigError
from rsengine.host.runner import build_engine


def tree_with(panel: dict, indicators=None) -> dict:
    tree = demo_tree()
    tree["outputs"] = {"panel": panel}
    tree["sources"]["sim"]["warmup"] = 0
    tree["sources"]["sim"]["days"] = 1
    if indicators is not None:
        tree["indicators"] = indicators
        tree["setups"] = {}
    return tree


def refusal(panel: dict, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build_engine(config_of(tree_with(panel, **kw)))
    return caught.value


def panel_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("rsengine-panel")]


@pytest.mark.parametrize("port", ["eighty", 70000, -1, True, 8765.5, [8765]], ids=lambda p: repr(p))
def test_a_bad_port_is_refused_at_its_key(port):
    error = refusal({"port": port})
    assert error.key_path == "outputs.panel.port"
    assert error.line is not None
    assert "port number from 0 to 65535" in str(error)
    assert panel_threads() == []


def test_bad_host_refresh_and_unknown_settings_name_their_key():
    assert refusal({"host": ""}).key_path == "outputs.panel.host"
    assert refusal({"refresh": 0}).key_path == "outputs.panel.refresh"
    error = refusal({"prot": 8765})
    assert error.key_path == "outputs.panel.prot"
    assert "unknown setting; valid: port, host, refresh" in str(error)


def test_a_port_in_use_is_refused_clearly():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        error = refusal({"port": port})
    assert error.key_path == "outputs.panel.port"
    assert f"port {port} on 127.0.0.1 is in use" in str(error)
    assert "0 for any free one" in str(error)


def test_the_cli_shows_the_key_and_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(tree_with({"port": "eighty"}), sort_keys=False))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "outputs.panel.port" in err and str(path) in err and "Traceback" not in err


def test_without_the_rs_indicator_the_panel_is_refused():
    error = refusal({"port": 0}, indicators={"regime": {}})
    assert error.key_path == "outputs.panel"
    assert "configure the rs indicator" in str(error)


def test_the_server_answers_on_loopback_and_stops_with_close(capsys):
    engine = build_engine(config_of(tree_with({"port": 0})))
    panel = next(obj for name, _, obj in engine.outputs if name == "panel")
    assert f"rsengine: RS panel on {panel.url}\n" in capsys.readouterr().err
    assert panel.url.startswith("http://127.0.0.1:") and panel.server.host == "127.0.0.1"
    status, headers, page = get(panel.url, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<script src="/plotly.min.js">' in page and b"http" not in page.split(b"<body>")[1]
    import plotly

    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    status, _, body = get(panel.url, "/plotly.min.js")
    assert status == 200 and body == js.read_bytes()  # the installed package's own
    status, _, body = get(panel.url, "/panel.json")
    assert status == 200 and b'"session":null' in body  # no slice yet
    assert get(panel.url, "/nothing")[0] == 404
    # a page elsewhere reaching 127.0.0.1 through its own DNS name is refused
    assert get(panel.url, "/panel.json", host=f"evil.example:{panel.server.port}")[0] == 403
    assert get(panel.url, "/", host=f"localhost:{panel.server.port}")[0] == 200
    assert len(panel_threads()) == 1
    panel.close(None)
    panel.close(None)  # twice is fine
    assert panel_threads() == []
    with pytest.raises(ConnectionRefusedError):
        get(panel.url, "/")


def test_a_panel_built_and_dropped_stops_listening():
    """`rsengine validate` builds the outputs and drops them."""
    engine = build_engine(config_of(tree_with({"port": 0})))
    url = next(obj for name, _, obj in engine.outputs if name == "panel").url
    del engine
    gc.collect()
    assert panel_threads() == []
    with pytest.raises(ConnectionRefusedError):
        get(url, "/")
