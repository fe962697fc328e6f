"""Shared test helpers: exchange-time stamps, the real-data folder and the
headless browser."""

import contextlib
import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog

ET = ZoneInfo("America/New_York")
MIN = 60 * 10**9
CHROMIUM = Path(os.environ.get("RSENGINE_CHROMIUM", "/usr/bin/chromium"))


def chromium_launcher():
    """playwright's ``sync_playwright`` for the system's chromium (launch with
    ``executable_path=str(CHROMIUM)``), or a skip (a failure when
    RSENGINE_REQUIRE_BROWSER=1, as in CI)."""
    required = os.environ.get("RSENGINE_REQUIRE_BROWSER") == "1"
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if required:
            pytest.fail(f"RSENGINE_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    return sync_playwright


@contextlib.contextmanager
def watched_tab(sync_playwright, allowed: tuple):
    """A tab of headless Chromium and the list of what went wrong in it:
    console errors and warnings, page errors, and every request to a URL that
    does not start with one of ``allowed``."""
    problems: list[str] = []

    def console(message):
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def request(req):
        if not req.url.startswith(allowed):
            problems.append(f"fetch {req.url}")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            tab = browser.new_page()
            tab.on("console", console)
            tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            tab.on("request", request)
            yield tab, problems
        finally:
            browser.close()


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
