"""Helpers for the webhook output's tests: distinctive secrets in the
environment, the output built with a real host context, hand-made signals."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import structlog
from rsengine_webhook import WebhookOutput
from rsengine_webhook.outbox import Outbox

from rsengine.config import Config
from rsengine.model import Signal
from rsengine.state import ComponentContext, RunSummary

# distinctive, so that a test can look for them in every text the engine prints
SECRET_A = "whsec_" + base64.b64encode(b"rsengine-test-secret-AAAA-0123456789").decode()
SECRET_B = "whsec_" + base64.b64encode(b"rsengine-test-secret-BBBB-9876543210").decode()
URL_TOKEN = "tokenDoNotLeak9f8e7d6c5b4a"
T0 = 1741187100 * 10**9  # 2025-03-05 15:05 UTC, a bar close


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("WH_SECRET_A", SECRET_A)
    monkeypatch.setenv("WH_SECRET_B", SECRET_B)


def context(name: str = "webhook") -> ComponentContext:
    config = Config.from_dict({})
    return ComponentContext(
        config=config,
        symbols=config.symbols,
        bar_ns=config.bars.primary_ns,
        name=name,
        plugin="webhook",
        log=structlog.get_logger("test"),
    )


def endpoint(url: str, **settings) -> dict:
    """A json endpoint with fast retries, as tests want them."""
    return {
        "url": url,
        "secrets": ["env:WH_SECRET_A"],
        "retry": [0.05, 0.05, 0.05],
        "timeout": 2,
        "kinds": ["context", "setup", "exit", "halt"],
        **settings,
    }


def build(tmp_path, endpoints: dict, **settings) -> WebhookOutput:
    tree = {"endpoints": endpoints, "outbox": str(tmp_path / "outbox.sqlite"), "drain": 10}
    return WebhookOutput({**tree, **settings}, context())


def send(output: WebhookOutput, signals) -> RunSummary:
    """The signals through the output, then its close (which drains)."""
    summary = RunSummary()
    for s in signals:
        output.on_signal(s)
    output.close(summary)
    return summary


def messages(tmp_path, **where):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    try:
        return outbox.messages(**where)
    finally:
        outbox.close()


def context_signals(n: int, start: int = T0) -> list[Signal]:
    return [
        Signal(
            ts_close=start + i * 300 * 10**9,
            session_date="2025-03-05",
            name="alignment",
            kind="context",
            instrument="ES",
            side="long",
            reason=f"test signal {i}",
            source="SIMULATED",
        )
        for i in range(n)
    ]


def entry(instrument="NQ", side="long", ts=T0, contracts=8, contract="NQ 03-25", **kw) -> Signal:
    fields = dict(entry=20516.75, stop=20504.75, target=20639.5)
    if side == "short":
        fields = dict(entry=20516.75, stop=20530.0, target=20480.0)
    fields.update(kw)
    return Signal(
        ts_close=ts,
        session_date="2025-03-05",
        name="strength_rider",
        kind="setup",
        instrument=instrument,
        side=side,
        reason="NQ led the first 30 RTH minutes",
        contract=contract,
        contracts=contracts,
        size_fraction=1.0,
        confirmations=("rs", "tick"),
        source="SIMULATED",
        **fields,
    )


def exit_of(signal: Signal, ts: int, price: float, how: str = "stop") -> Signal:
    return Signal(
        ts_close=ts,
        session_date=signal.session_date,
        name=signal.name,
        kind="exit",
        instrument=signal.instrument,
        side="flat",
        reason=f"exit at {price}",
        contracts=signal.contracts,
        source=signal.source,
        details={"entry_id": signal.id, "exit": how, "exit_price": price},
    )


def halt(ts: int) -> Signal:
    return Signal(
        ts_close=ts,
        session_date="2025-03-05",
        name="daily_loss_limit",
        kind="halt",
        instrument="*",
        side="flat",
        reason="daily loss $4,100.00 reached the limit $4,000",
        source="SIMULATED",
    )


def wait_until(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- a real `python -m rsengine` in a subprocess -------------------------------------

HOURLY = Path(__file__).parent / "fixtures" / "hourly.py"


def hourly_config(tmp_path, endpoints: dict, drain=10) -> Path:
    """A config file: three sim days, the ``hourly`` setup (69 signals), the
    record output (its signals.jsonl says what was emitted) and the webhook."""
    tree = {
        "run": {"mode": "replay", "progress": "off"},
        "plugins": {"local": [str(HOURLY)]},
        "sources": {"sim": {"seed": 7, "days": 3, "trades_per_minute": 20}},
        "instruments": {"ES": {}, "NQ": {}},
        "group": ["ES", "NQ"],
        "setups": {"hourly": {}},
        "outputs": {
            "record": {"dir": str(tmp_path / "out")},
            "webhook": {
                "outbox": str(tmp_path / "outbox.sqlite"),
                "drain": drain,
                "endpoints": endpoints,
            },
        },
    }
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(tree, indent=1))  # JSON is YAML
    return path


def cli_env(**extra) -> dict:
    return {**os.environ, "WH_SECRET_A": SECRET_A, "WH_SECRET_B": SECRET_B, **extra}


def rsengine_cli(*args, env=None, timeout=120, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rsengine", *map(str, args)],
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=timeout,
        cwd=cwd,
    )


def emitted_ids(tmp_path) -> list[str]:
    lines = (tmp_path / "out" / "signals.jsonl").read_text().splitlines()
    return [json.loads(line)["id"] for line in lines]
