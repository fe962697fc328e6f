"""One connection to Rithmic through ``async_rithmic``: log in to the ticker
and history plants, page tick history, stream last trades, tell a refused
login from a dropped line.

``async_rithmic`` 1.6.6 is used as it is, with three things of its own
replaced (docs/rithmic.md, "What the package does not do"):

* its history paging restarts a page one second after the last row, so the
  rest of a second cut by the ~10,000-row cap is lost, and it takes an error
  code, a stall or its page limit for the end of the data. History here is
  paged by :func:`tick_history` on plant requests of its own (206 -> 207);
* a refused login reaches the caller as ``AttributeError: 'NoneType' ...
  heartbeat_interval``: the plants here note the login's ``rp_code``;
* its own reconnect loop is switched off (``rsengine.feeds.LiveFeed``
  reconnects and backfills the gap), and a dropped plant's background tasks
  are stopped on close (``disconnect()`` skips a plant that is not open).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

import attrs
import numpy as np
from async_rithmic import DataType, RithmicClient, SysInfraType
from async_rithmic.objects import ReconnectionSettings, RetrySettings
from async_rithmic.plants import history as history_plant
from async_rithmic.plants import ticker as ticker_plant
from async_rithmic.protocol_buffers import request_tick_bar_replay_pb2

from rsengine.feeds import FeedError
from rsengine.model import TradeChunk

NS = 1_000_000_000
NO_DATA = "7"
LOGIN_TEMPLATE = 11
TICK_REPLAY, TICK_REPLAY_ROW = 206, 207
LAST_TRADE_BIT = 1  # LastTrade.PresenceBits.LAST_TRADE
_REPLAY = request_tick_bar_replay_pb2.RequestTickBarReplay

# what a refused login's rp_code means, as the package's issues tell it
LOGIN_HINTS = {
    "13": "the app_name is not approved for this system, or the "
    "user has not signed the market-data agreements (Rithmic conformance)",
}


class LoginRefused(FeedError):
    """The gateway answered the login with an error code."""


class _LoginNoted:
    """Notes the rp_code of an answered login (the package logs it and loses it)."""

    login_error: list | None = None

    async def _process_response(self, response):
        if response.template_id == LOGIN_TEMPLATE and response.rp_code[:1] not in ([], ["0"]):
            self.login_error = list(response.rp_code)
        return await super()._process_response(response)


class TickerPlant(_LoginNoted, ticker_plant.TickerPlant):
    pass


@attrs.define
class _Page:
    """One tick-replay request in flight: rows as they come, then the code."""

    stamps: list = attrs.field(factory=list)  # (ssboe, usecs)
    prices: list = attrs.field(factory=list)
    sizes: list = attrs.field(factory=list)
    rp_code: list | None = None
    progress: asyncio.Event = attrs.field(factory=asyncio.Event)


class HistoryPlant(_LoginNoted, history_plant.HistoryPlant):
    """The history plant with tick-replay pages answered to their caller whole:
    the rows and the terminating rp_code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: dict = {}

    async def tick_page(self, symbol, exchange, start_s, finish_s, timeout_s) -> _Page:
        key = f"rsengine-{uuid.uuid4().hex}"
        page = self._pages[key] = _Page()
        try:
            await self._send_request(
                template_id=TICK_REPLAY,
                user_msg=key,
                symbol=symbol,
                exchange=exchange,
                bar_type=_REPLAY.BarType.TICK_BAR,
                bar_type_specifier="1",
                bar_sub_type=_REPLAY.BarSubType.REGULAR,
                time_order=_REPLAY.TimeOrder.FORWARDS,
                start_index=int(start_s),
                finish_index=int(finish_s),
            )
            while page.rp_code is None:
                page.progress.clear()
                try:
                    await asyncio.wait_for(page.progress.wait(), timeout_s)
                except TimeoutError:
                    if not self.is_connected:
                        raise ConnectionError("history plant connection lost") from None
                    raise FeedError(
                        f"history of {symbol} on {exchange}: nothing came for {timeout_s:g} s"
                        f" ({len(page.prices)} rows, no end of the answer)"
                    ) from None
            return page
        finally:
            self._pages.pop(key, None)

    async def _process_response(self, response):
        if response.template_id == TICK_REPLAY_ROW and response.user_msg:
            page = self._pages.get(response.user_msg[0])
            if page is not None:
                if response.rp_code or not response.rq_handler_rp_code:
                    page.rp_code = list(response.rp_code) or ["0"]
                else:
                    page.stamps.append((response.data_bar_ssboe[0], response.data_bar_usecs[0]))
                    page.prices.append(response.close_price)
                    page.sizes.append(response.volume)
                page.progress.set()
                return True
        return await super()._process_response(response)


async def tick_history(plant, symbol, exchange, start_ns, end_ns, limits) -> TradeChunk:
    """Every trade of ``symbol`` in ``[start_ns, end_ns)``, paged past the
    gateway's row cap; a :class:`FeedError` for an answer that is not whole.

    A page starts at the second the previous one ended in, and the rows of
    that second already taken are skipped (the gateway sends a second's rows
    in the same order), so a second cut by the cap is neither lost nor
    repeated. The data is whole when a page brings nothing new or reaches
    the end; ``rp_code`` 7 (no data) is an empty page.
    """
    what = f"history of {symbol} on {exchange}"
    finish_s = -(-int(end_ns) // NS)
    cursor, taken_at_cursor = int(start_ns) // NS, 0
    stamps, prices, sizes = [], [], []
    for number in range(1, limits.max_pages + 1):
        page = await plant.tick_page(symbol, exchange, cursor, finish_s, limits.timeout_s)
        code = page.rp_code
        if code[0] not in ("0", NO_DATA):
            raise FeedError(f"{what}: Rithmic answered page {number} with rp_code {code}")
        rows = page.stamps if code[0] == "0" else []
        seconds = [s for s, _ in rows]
        if any(b < a for a, b in zip(seconds, seconds[1:], strict=False)) or (
            seconds and seconds[0] < cursor
        ):
            raise FeedError(f"{what}: page {number} is out of time order")
        if seconds[:taken_at_cursor] != [cursor] * min(taken_at_cursor, len(seconds)):
            raise FeedError(f"{what}: page {number} does not repeat the second it resumes in")
        if len(rows) >= limits.page_rows and seconds[0] == seconds[-1]:
            raise FeedError(
                f"{what}: {len(rows)} trades in the one second {seconds[0]} fill a whole"
                " page; cannot page past it"
            )
        new = slice(min(taken_at_cursor, len(rows)), None)
        if not rows[new]:
            return _trades(stamps, prices, sizes, start_ns, end_ns)
        stamps += rows[new]
        prices += page.prices[new]
        sizes += page.sizes[new]
        last = stamps[-1][0]
        if last >= finish_s:
            return _trades(stamps, prices, sizes, start_ns, end_ns)
        taken_at_cursor = (taken_at_cursor if last == cursor else 0) + sum(
            1 for s in seconds[new] if s == last
        )
        cursor = last
    raise FeedError(
        f"{what}: not whole after max_pages {limits.max_pages} pages"
        f" ({len(prices)} trades, up to second {cursor}); raise max_pages or shorten the window"
    )


def _trades(stamps, prices, sizes, start_ns, end_ns) -> TradeChunk:
    pairs = np.array(stamps, dtype=np.int64).reshape(-1, 2)
    ts = pairs[:, 0] * NS + pairs[:, 1] * 1000
    keep = (ts >= start_ns) & (ts < end_ns)
    return TradeChunk(ts[keep], np.asarray(prices, float)[keep], np.asarray(sizes, float)[keep])


def trade_of(tick: dict):
    """``(ts_ns, price, size, is_snapshot)`` of an ``on_tick`` LastTrade, or
    None for a quote or an update without a trade."""
    if tick.get("data_type") != DataType.LAST_TRADE:
        return None
    if not int(tick.get("presence_bits", 0)) & LAST_TRADE_BIT or "trade_price" not in tick:
        return None
    ts = int(tick.get("ssboe", 0)) * NS + int(tick.get("usecs", 0)) * 1000
    return (
        ts,
        float(tick["trade_price"]),
        float(tick.get("trade_size", 0)),
        bool(tick.get("is_snapshot", False)),
    )


class Connection:
    """A logged-in ``RithmicClient`` on the plants asked for."""

    def __init__(self, settings, plants=("ticker", "history")):
        self.settings = settings
        self.client = None
        self.plant_names = plants
        self._secrets = ()

    @property
    def history(self) -> HistoryPlant:
        return self.client.plants["history"]

    @property
    def ticker(self) -> TickerPlant:
        return self.client.plants["ticker"]

    async def open(self) -> None:
        s = self.settings
        creds = s.credentials()
        client = RithmicClient(
            user=creds.user,
            password=creds.password,
            system_name=creds.system_name,
            app_name=s.app_name,
            app_version=s.app_version,
            url=creds.url,
            reconnection_settings=ReconnectionSettings(
                max_retries=0, backoff_type="constant", interval=0
            ),
            retry_settings=RetrySettings(max_retries=1, timeout=s.timeout_s),
        )
        if creds.url.startswith("ws://"):
            client.ssl_context = None  # plain WebSocket: websockets refuses a context
        client.plants["ticker"] = TickerPlant(client)
        client.plants["history"] = HistoryPlant(client)
        self._secrets = s.secret_texts(creds)
        keep_package_log_quiet(self._secrets)
        self.client = client
        infra = {"ticker": SysInfraType.TICKER_PLANT, "history": SysInfraType.HISTORY_PLANT}
        try:
            await asyncio.wait_for(
                client.connect(
                    plants=[infra[p] for p in self.plant_names],
                    plant_connect_delay=s.stagger_s,
                ),
                s.timeout_s + s.stagger_s * len(self.plant_names),
            )
        except TimeoutError:
            await self.close()
            raise ConnectionError(f"no login within {s.timeout_s:g} s at {s.url_shown}") from None
        except Exception as exc:
            why = self._why(exc)
            await self.close()
            raise why from None

    def _why(self, exc) -> Exception:
        for name in self.plant_names:
            code = self.client.plants[name].login_error
            if code:
                hint = LOGIN_HINTS.get(code[0], "check user, password and system_name")
                return LoginRefused(
                    f"Rithmic refused the {name} plant login: rp_code {code} ({hint})"
                )
        text = str(exc)
        if "SYSTEM_NAME" in text:
            offered = text.partition(":")[2].strip()
            return FeedError(
                f"system_name {self.settings.shown('system_name')!r} is not offered at"
                f" {self.settings.url_shown}; the gateway offers {offered}"
            )
        if isinstance(exc, OSError | ConnectionError):
            return ConnectionError(f"cannot reach {self.settings.url_shown}: {exc}")
        return ConnectionError(
            f"connect failed: {type(exc).__name__}: {_redact(text, self._secrets)}"
        )

    def connected(self) -> bool:
        return self.client is not None and all(
            self.client.plants[p].is_connected for p in self.plant_names
        )

    async def lost(self) -> None:
        while self.connected():
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        for plant in client.plants.values():
            await plant._stop_background_tasks()  # a dropped plant's tasks run on otherwise
        await client.disconnect(timeout=self.settings.timeout_s)

    async def subscribe(self, contract, exchange) -> None:
        await self.ticker.subscribe_to_market_data(contract, exchange, DataType.LAST_TRADE)

    async def unsubscribe(self, contract, exchange) -> None:
        await self.ticker.unsubscribe_from_market_data(contract, exchange, DataType.LAST_TRADE)


def _redact(text: str, secrets) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class _Redact(logging.Filter):
    """Hides the credentials in the package's own log lines: a refused
    request is logged with the request, password included."""

    def __init__(self):
        super().__init__("rsengine-redact")
        self.secrets: set = set()

    def filter(self, record):
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = _redact(message, self.secrets), None
        if record.exc_text:
            record.exc_text = _redact(record.exc_text, self.secrets)
        return True


_REDACT = _Redact()


def keep_package_log_quiet(secrets) -> None:
    """The package logs to stdout, where rsengine prints its signal lines:
    move it to stderr, and hide ``secrets`` in what it writes (a logger's
    filter sees only its own records, so every ``rithmic.*`` logger gets it)."""
    _REDACT.secrets.update(s for s in secrets if s)
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "rithmic"]
    for name in ["rithmic", *names]:
        if _REDACT not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_REDACT)
    for handler in logging.getLogger("rithmic").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
