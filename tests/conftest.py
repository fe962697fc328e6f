"""Shared test helpers: exchange-time stamps and the real-data folder."""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog

ET = ZoneInfo("America/New_York")
MIN = 60 * 10**9


def et_ns(text: str) -> int:
    """'2024-03-08 10:00[:00.5]' in US/Eastern -> int ns UTC."""
    local = dt.datetime.fromisoformat(text).replace(tzinfo=ET)
    return int(local.timestamp()) * 10**9 + local.microsecond * 1000


def data_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("RSENGINE_DATA_DIR", default))


@pytest.fixture
def shared_data():
    """The real market data folder; skips the test with a reason when absent."""
    root = data_dir()
    if not root.is_dir():
        pytest.skip(f"real market data not found at {root} (set RSENGINE_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def _structlog_at_start():
    return structlog.get_config()


@pytest.fixture(autouse=True)
def _structlog_restored(_structlog_at_start):
    """After each test structlog is as the session started: a CLI run or a
    module's ``configure_logging`` must not change the level or the stream
    later tests log to (a captured stream is closed once its test ends)."""
    yield
    structlog.configure(**_structlog_at_start)
