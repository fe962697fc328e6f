"""The ``ib`` source: Interactive Brokers TWS or Gateway through ``ib_async``.

:class:`IBFeed` is a :class:`rsengine.feeds.LiveFeed`: the base subscribes,
backfills, releases the held live data through its watermark, reconnects and
rolls; this module speaks IB. See docs/ib.md.

Stamps. ``ib_async`` stamps a tick-by-tick trade with the time its TCP chunk
arrived, not the exchange time in the message (INTEGRATIONS.md §3, pitfall 2),
so the feed reads the message's own time (whole seconds, like IB's historical
ticks) by wrapping the wrapper's callbacks. Real-time bars are stamped by
their open. Index values (market-data ticks, which carry no time) are stamped
by the feed's clock when their TCP chunk has been read.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
from ib_async import IB, Contract, Future, Index
from ib_async.ib import StartupFetchNONE
from ib_async.wrapper import RequestError

from rsengine.feeds import Backoff, FeedError, LiveFeed
from rsengine.model import BarChunk, TradeChunk

from .pacing import Pacer
from .settings import BAR_SIZES, MAX_SPAN_S

NS = 10**9
TICKS_PER_PAGE = 1000
NO_DATA = 162  # "HMDS query returned no data" (also pacing violations, told apart by text)
FATAL_CODES = {200, 354, 10089, 10090, 10168, 10186}  # unknown contract, no subscription
LAST_TYPES = {4, 68}  # last, delayed last
BID_TYPES, ASK_TYPES = {1, 66}, {2, 67}


class IBFeed(LiveFeed):
    def __init__(self, name, symbols, config, settings, clock=None, pacer=None):
        kwargs = {"clock": clock} if clock else {}
        backoff = Backoff(settings.reconnect_s, settings.reconnect_max_s)
        super().__init__(name, symbols, config, settings.warmup_s * NS, backoff, **kwargs)
        self.settings = settings
        self.pacer = pacer or Pacer()
        self.ib: IB | None = None
        self._gone: asyncio.Event | None = None
        self._qualified: dict = {}  # (symbol, contract name) -> qualified Contract
        self._by_con_id: dict = {}  # conId -> symbol
        self._streams: dict = {}  # symbol -> (kind, handle)
        self._trades: dict = {}  # symbol -> [(ts_ns, price, size)] read from this TCP chunk
        self._quotes: dict = {}  # index symbol -> {"last"|"bid"|"ask": value}
        self._changed: set = set()  # index symbols with a new value in this chunk

    def streams(self):
        raise ValueError("source ib is live only: set run.mode: live")

    # -- naming contracts ------------------------------------------------------------

    def contract(self, symbol: str, day) -> str:
        """IB's name for what is streamed on ``day``: ``"202603"`` (the
        contract month, fixed or by the roll calendar) for a future, the
        feed symbol (``TICK-NYSE``) for an index."""
        inst = self.config.instrument(symbol)
        month = inst.contract_on(day)
        if month is None:
            return inst.feed_symbol or symbol
        return f"{month[0]:04d}{month[1]:02d}"

    def ib_contract(self, symbol: str, name: str) -> Contract:
        inst = self.config.instrument(symbol)
        spec = inst.spec
        if not spec.has_contract_months:
            return Index(name, spec.exchange, "USD")
        root = inst.feed_symbol if inst.feed_symbol not in (None, symbol) else inst.root
        return Future(root, name, spec.exchange, currency="USD")

    def is_index(self, symbol: str) -> bool:
        return not self.config.instrument(symbol).spec.has_contract_months

    # -- connecting ------------------------------------------------------------------

    async def connect(self) -> None:
        s = self.settings
        self.ib = ib = IB()
        ib.RaiseRequestErrors = True
        self._gone = asyncio.Event()
        ib.disconnectedEvent += self._gone.set
        ib.updateEvent += self._flush  # once per TCP chunk read
        wrapper = ib.wrapper
        self._wrap(wrapper, "tickByTickAllLast", self._on_trade)
        self._wrap(wrapper, "realtimeBar", self._on_bar)
        self._wrap(wrapper, "priceSizeTick", self._on_price)
        self.log.info("connecting", host=s.host, port=s.port, client_id=s.client_id)
        await ib.connectAsync(
            s.host,
            s.port,
            clientId=s.client_id,
            timeout=s.timeout_s,
            readonly=True,
            fetchFields=StartupFetchNONE,
        )
        self._streams = {}

    async def close(self) -> None:
        if self.ib is not None:
            self.ib.disconnect()
            self.ib = None

    async def lost(self) -> None:
        await self._gone.wait()

    @staticmethod
    def _wrap(wrapper, method: str, first) -> None:
        original = getattr(wrapper, method)

        def both(*args):
            first(*args)
            original(*args)

        setattr(wrapper, method, both)

    async def qualify(self, symbol: str, name: str) -> Contract:
        key = (symbol, name)
        if key not in self._qualified:
            wanted = self.ib_contract(symbol, name)
            try:
                found = await asyncio.wait_for(
                    self.ib.qualifyContractsAsync(wanted), self.settings.timeout_s
                )
            except RequestError as exc:
                found = [None]
                why = exc.message
            else:
                why = "unknown or ambiguous"
            if not found or found[0] is None:
                raise FeedError(f"{symbol}: IB cannot qualify {_describe(wanted)}: {why}")
            self._qualified[key] = found[0]
        contract = self._qualified[key]
        self._by_con_id[contract.conId] = symbol
        return contract

    # -- streaming -------------------------------------------------------------------

    async def subscribe(self, symbol: str, name: str) -> None:
        contract = await self.qualify(symbol, name)
        if self.is_index(symbol):
            self._quotes[symbol] = {}
            self.ib.reqMktData(contract, "", False, False)
            self._streams[symbol] = ("quotes", contract)
        elif self.settings.stream == "bars5s":
            bars = self.ib.reqRealTimeBars(contract, 5, "TRADES", False)
            self._streams[symbol] = ("bars", bars)
        else:
            self.ib.reqTickByTickData(contract, "AllLast", 0, False)
            self._streams[symbol] = ("ticks", contract)

    async def unsubscribe(self, symbol: str, name: str) -> None:
        kind, handle = self._streams.pop(symbol, (None, None))
        if kind == "quotes":
            self.ib.cancelMktData(handle)
        elif kind == "bars":
            self.ib.cancelRealTimeBars(handle)
        elif kind == "ticks":
            self.ib.cancelTickByTickData(handle, "AllLast")

    def _symbol_of(self, req_id: int) -> str | None:
        w = self.ib.wrapper
        subscriber = w.reqId2Ticker.get(req_id) or w.reqId2Subscriber.get(req_id)
        contract = getattr(subscriber, "contract", None)
        return self._by_con_id.get(getattr(contract, "conId", None))

    def _on_trade(self, req_id, tick_type, time_s, price, size, *rest) -> None:
        symbol = self._symbol_of(req_id)
        if symbol is not None:
            self._trades.setdefault(symbol, []).append((int(time_s) * NS, price, size))

    def _on_bar(self, req_id, time_s, o, h, low, c, volume, wap, count) -> None:
        symbol = self._symbol_of(req_id)
        if symbol is not None:
            chunk = BarChunk([int(time_s) * NS], [o], [h], [low], [c], [volume], bar_ns=5 * NS)
            self.deliver(symbol, chunk)

    def _on_price(self, req_id, tick_type, price, size) -> None:
        symbol = self._symbol_of(req_id)
        if symbol is None or symbol not in self._quotes:
            return
        side = (
            "last" if tick_type in LAST_TYPES
            else "bid" if tick_type in BID_TYPES
            else "ask" if tick_type in ASK_TYPES
            else None
        )  # fmt: skip
        if side is not None:
            self._quotes[symbol][side] = price
            self._changed.add(symbol)

    def _flush(self) -> None:
        """Delivers what the last TCP chunk brought, one chunk per instrument."""
        trades, self._trades = self._trades, {}
        for symbol, rows in trades.items():
            ts, price, size = zip(*rows, strict=True)
            self.deliver(symbol, TradeChunk(ts, price, size))
        changed, self._changed = self._changed, set()
        now = self.clock()
        for symbol in sorted(changed):
            value = self.index_value(symbol, self._quotes[symbol])
            if value is not None:
                self.deliver(symbol, TradeChunk([now], [value], [0.0]))

    def index_value(self, symbol: str, quote: dict) -> float | None:
        """$ADD: advancers (the bid) minus decliners (the ask); others: the last."""
        if self.config.instrument(symbol).root == "$ADD":
            if "bid" in quote and "ask" in quote:
                return quote["bid"] - quote["ask"]
            return None
        return quote.get("last")

    # -- history ---------------------------------------------------------------------

    async def history(self, symbol: str, name: str, start_ns: int, end_ns: int) -> list:
        """Complete bars and, at the edges of a tick stream, trades: ticks from
        the last trade delivered to the next bar boundary, bars, then ticks
        from the last boundary to now. Warm-up uses ``warmup_bar`` bars up to
        the last such boundary, then ``gap_bar`` bars."""
        contract = await self.qualify(symbol, name)
        fine, coarse = self.settings.gap_bar_s, self.settings.warmup_bar_s
        ticks = self.settings.stream == "ticks" and not self.is_index(symbol)
        start, end = -(-start_ns // NS), end_ns // NS
        warmup = self.watermark.last(symbol) is None
        chunks = []
        if warmup:
            start = _up(start, coarse)
            middle = max(start, _down(end, coarse))
            chunks += await self._bars(symbol, contract, start, middle, coarse)
            start = middle
        elif ticks and self.watermark.last_was_trade(symbol):
            edge = min(_up(start + 1, fine), max(start, _down(end, fine)))
            chunks += await self._ticks(symbol, contract, start, edge)
            start = edge
        last_bar = max(start, _down(end, fine))
        chunks += await self._bars(symbol, contract, start, last_bar, fine)
        if ticks:
            chunks += await self._ticks(symbol, contract, last_bar, end)
        return chunks

    async def _request(self, symbol, contract, key, call):
        what = key[1]
        await self.pacer.wait((contract.conId, what), (contract.conId, *key))
        try:
            return await asyncio.wait_for(call(), self.settings.timeout_s)
        except RequestError as exc:
            if exc.code == NO_DATA and "pacing" not in exc.message.lower():
                return []
            if exc.code in FATAL_CODES:
                raise FeedError(f"{symbol}: history refused: {exc.message}") from None
            raise RuntimeError(
                f"{symbol}: history failed: error {exc.code} {exc.message}"
            ) from None
        except TimeoutError:
            raise TimeoutError(f"{symbol}: no complete history answer within the timeout") from None

    async def _bars(self, symbol, contract, start, end, size) -> list:
        index = self.is_index(symbol)
        chunks = []
        span = MAX_SPAN_S[size]
        bar_size = next(k for k, v in BAR_SIZES.items() if v == size)
        for a in range(start, end, span):
            b = min(a + span, end)
            when = _utc(b)

            def call(when=when, duration=f"{b - a} S"):
                return self.ib.reqHistoricalDataAsync(
                    contract, when, duration, bar_size, "TRADES", False, 2, timeout=0
                )

            try:
                bars = await self._request(
                    symbol, contract, ("bars", "TRADES", b, b - a, size), call
                )
            except RuntimeError as exc:
                if not index:
                    raise
                self.notice("error", f"no history for {symbol}: {exc}", symbol)
                return chunks
            opened = np.array([int(x.date.timestamp()) for x in bars], np.int64)
            keep = (opened >= a) & (opened + size <= b)
            rows = [bar for bar, k in zip(bars, keep, strict=True) if k]
            if rows:
                chunks.append(
                    BarChunk(
                        opened[keep] * NS,
                        [x.open for x in rows],
                        [x.high for x in rows],
                        [x.low for x in rows],
                        [x.close for x in rows],
                        [0.0 if index else x.volume for x in rows],
                        bar_ns=size * NS,
                    )
                )
        return chunks

    async def _ticks(self, symbol, contract, start, end) -> list:
        """Trades in [start, end) seconds, paged by IB's 1,000 a request."""
        rows = []
        while start < end:

            def call(start=start):
                return self.ib.reqHistoricalTicksAsync(
                    contract, _utc(start), "", TICKS_PER_PAGE, "TRADES", False
                )

            page = await self._request(symbol, contract, ("ticks", "TRADES", start), call)
            stamps = [int(t.time.timestamp()) for t in page]
            inside = [(s, t) for s, t in zip(stamps, page, strict=True) if s < end]
            full = len(page) >= TICKS_PER_PAGE and inside and inside[-1][0] < end - 1
            if full and inside[-1][0] > start:  # the last second may be cut: ask again from it
                last = inside[-1][0]
                rows += [(s, t) for s, t in inside if s < last]
                start = last
            else:
                rows += inside
                start = inside[-1][0] + 1 if full else end
        if not rows:
            return []
        return [
            TradeChunk(
                [s * NS for s, _ in rows], [t.price for _, t in rows], [t.size for _, t in rows]
            )
        ]

    # -- check-feed ------------------------------------------------------------------

    def check_feed(self, timeout_s: float) -> list[str]:
        """Connects, qualifies every instrument, lists each with its contract
        and last price (or why not), disconnects. FeedError when it cannot
        connect."""
        return asyncio.run(self._check(timeout_s))

    async def _check(self, timeout_s: float) -> list[str]:
        s = self.settings
        try:
            await asyncio.wait_for(self.connect(), timeout_s)
        except FeedError:
            raise
        except Exception as exc:
            await self.close()
            raise FeedError(
                f"cannot connect to TWS/Gateway at {s.host}:{s.port} (client id {s.client_id}): "
                f"{type(exc).__name__}: {exc or 'no answer'}; is the API enabled on that port?"
            ) from None
        lines = []
        try:
            day = _trade_day(self.clock())
            for symbol in self.symbols:
                lines.append(await self._check_one(symbol, day, timeout_s))
        finally:
            await self.close()
        return lines

    async def _check_one(self, symbol, day, timeout_s) -> str:
        name = self.contract(symbol, day)
        try:
            contract = await self.qualify(symbol, name)
        except FeedError as exc:
            return f"{symbol}: NOT AVAILABLE: {exc}"
        what = f"{symbol}: {_describe(contract)} conId {contract.conId}"
        self._quotes[symbol] = quote = {}  # filled raw by _on_price, as when streaming
        self.ib.reqMktData(contract, "", True, False)
        end = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < end:
            value = self.index_value(symbol, quote)
            if value is not None:
                return f"{what}: last {value:g}"
            await asyncio.sleep(0.05)
        why = "market closed, or no market-data subscription?"
        return f"{what}: no price within {timeout_s:g}s ({why})"


def _describe(c: Contract) -> str:
    month = f" {c.lastTradeDateOrContractMonth}" if c.lastTradeDateOrContractMonth else ""
    return f"{c.secType} {c.symbol}{month} on {c.exchange}"


def _up(t: int, step: int) -> int:
    return -(-t // step) * step


def _down(t: int, step: int) -> int:
    return t // step * step


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _trade_day(ts_ns: int):
    from rsengine.exchange.sessions import session_date_of

    return session_date_of(ts_ns)
