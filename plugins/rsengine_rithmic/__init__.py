"""rsengine_rithmic: the ``rithmic`` source, Rithmic's R|Protocol through
``async_rithmic`` (``pip install -e ".[rithmic]"``; docs/rithmic.md).

``run.mode: replay`` or ``paced`` replays the history plant's ticks of the
sessions ``start`` .. ``end``; ``run.mode: live`` streams the ticker plant's
last trades after a warm-up backfill (:class:`rsengine_rithmic.feed.RithmicFeed`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import rsengine
from rsengine.feeds import FeedError
from rsengine.model import iso_utc

from . import settings as rithmic_settings


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add(
        "rithmic",
        RithmicSource,
        "Rithmic (async_rithmic): history-plant tick replay, or live last trades with backfill",
    )


def session_bounds(day: dt.date, tz: str) -> tuple[int, int]:
    """A Globex session date -> its open (18:00 the day before) and close (17:00), ns UTC."""
    zone = ZoneInfo(tz)
    opens = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18), zone)
    closes = dt.datetime.combine(day, dt.time(17), zone)
    return int(opens.timestamp()) * 10**9, int(closes.timestamp()) * 10**9


def session_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """Monday to Friday from ``start`` through ``end`` (Globex sessions are
    dated by the day they close; a holiday's request is simply empty)."""
    days = (start + dt.timedelta(days=k) for k in range((end - start).days + 1))
    return [d for d in days if d.weekday() < 5]


class RithmicSource:
    """Source ``rithmic``; settings in docs/rithmic.md."""

    def __init__(self, settings: dict, context):
        from .feed import RithmicFeed  # async_rithmic is an extra: imported when used

        self.context = context
        config = context.config
        self.symbols = tuple(context.symbols)
        self.settings = rithmic_settings.parse(settings, self.symbols, config, self._refuse)
        s = self.settings
        self.tz = config.session.timezone
        if config.run.mode != "live":
            for key in ("start", "end"):
                if getattr(s, key) is None:
                    raise self._refuse(
                        key,
                        f"run.mode {config.run.mode} replays history: give start and end"
                        " (session dates YYYY-MM-DD)",
                    )
            if s.end < s.start:
                raise self._refuse("end", f"{s.end} is before start {s.start}")
        self.feed = RithmicFeed(getattr(context, "name", "rithmic"), self.symbols, config, s)
        self._replay = None

    def _refuse(self, key, message: str) -> Exception:
        key = (key,) if isinstance(key, str) else tuple(key)
        component = getattr(self.context, "component", None)
        if component is not None:
            return component.error(key, message)
        return ValueError(f"{'.'.join(map(str, key))}: {message}")

    # -- live ------------------------------------------------------------------------

    def start_live(self, queue, stop) -> None:
        self.feed.start_live(queue, stop)

    # -- replay ----------------------------------------------------------------------

    def span(self) -> tuple[int, int]:
        return (
            session_bounds(self.settings.start, self.tz)[0],
            session_bounds(self.settings.end, self.tz)[1],
        )

    def streams(self):
        self._replay = _Replay(self.feed, len(self.symbols))
        return {symbol: self._stream(symbol) for symbol in self.symbols}

    def _stream(self, symbol):
        replay = self._replay
        try:
            for day in session_dates(self.settings.start, self.settings.end):
                opens, closes = session_bounds(day, self.tz)
                chunks = replay.run(
                    self.feed.history(symbol, self.feed.contract(symbol, day), opens, closes)
                )
                yield from chunks
        finally:
            replay.release()

    # -- check-feed ------------------------------------------------------------------

    def check_feed(self, timeout_s: float) -> list[str]:
        """Connect, show each instrument's contract and the last trade seen
        within ``timeout_s`` (or why none), disconnect. FeedError on failure."""
        try:
            return asyncio.run(self._check(float(timeout_s)))
        except FeedError:
            raise
        except Exception as exc:
            raise FeedError(f"rithmic: {exc}") from None

    async def _check(self, timeout_s: float) -> list[str]:
        from .session import Connection, trade_of

        s, feed = self.settings, self.feed
        connection = Connection(s)
        await connection.open()
        last: dict = {}

        async def on_tick(tick):
            trade = trade_of(tick)
            if trade is not None:
                last[(tick.get("symbol"), tick.get("exchange"))] = trade

        lines = [
            f"connected to {s.url_shown} (system {s.shown('system_name')}, app {s.app_name}):"
            " ticker and history plants logged in"
        ]
        try:
            connection.client.on_tick += on_tick
            today = dt.datetime.now(dt.UTC).date()
            wanted = {}
            for symbol in self.symbols:
                contract, exchange = feed.contract(symbol, today), feed.exchange(symbol)
                wanted[symbol] = (contract, exchange)
                await connection.subscribe(contract, exchange)
            end = time.monotonic() + timeout_s
            while time.monotonic() < end and len(last) < len(wanted):
                await asyncio.sleep(0.05)
            for symbol, (contract, exchange) in wanted.items():
                front = await self._front_month(connection, symbol, exchange)
                trade = last.get((contract, exchange))
                seen = (
                    f"last trade {trade[1]:g} x {trade[2]:g} at {iso_utc(trade[0])}"
                    if trade
                    else f"no trade within {timeout_s:g} s (market closed, or no market-data"
                    " permission for this exchange?)"
                )
                lines.append(f"{symbol}: {contract} on {exchange}{front}: {seen}")
        finally:
            await connection.close()
        return lines

    async def _front_month(self, connection, symbol, exchange) -> str:
        root = self.context.config.instrument(symbol).root
        if not self.context.config.instrument(symbol).spec.has_contract_months:
            return ""
        try:
            answer = await asyncio.wait_for(
                connection.ticker.get_front_month_contract(root, exchange), self.settings.timeout_s
            )
        except Exception as exc:
            return f" (Rithmic's front month unknown: {type(exc).__name__})"
        return f" (Rithmic's front month {answer})"


class _Replay:
    """The history connection of a replay: its own event loop on a thread,
    connected on first use, closed when the last stream ends."""

    def __init__(self, feed, streams: int):
        self.feed = feed
        self.open_streams = streams
        self.loop = None
        self.thread = None
        self.lock = threading.Lock()

    def run(self, coroutine):
        with self.lock:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                self.thread = threading.Thread(
                    target=self.loop.run_forever, name="rithmic-replay", daemon=True
                )
                self.thread.start()
                self._call(self._connect())
        return self._call(coroutine)

    async def _connect(self):
        from .session import Connection

        connection = Connection(self.feed.settings, plants=("history",))
        await connection.open()
        self.feed.connection = connection

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def release(self) -> None:
        with self.lock:
            self.open_streams -= 1
            if self.open_streams or self.loop is None:
                return
            try:
                self._call(self.feed.close())
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(timeout=10)
                self.loop.close()
                self.loop = None
