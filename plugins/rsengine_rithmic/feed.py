"""The live Rithmic feed: ``rsengine.feeds.LiveFeed`` on the ticker plant's
last trades, with warm-up and gap backfill from the history plant's ticks."""

from __future__ import annotations

import time

from rsengine.feeds import Backoff, LiveFeed
from rsengine.model import TradeChunk

from .session import Connection, tick_history, trade_of


class RithmicFeed(LiveFeed):
    """One connection: both plants, every configured instrument's front
    month (the roll calendar's, named as Rithmic does: ``ESZ5``)."""

    def __init__(self, name, symbols, config, settings, clock=time.time_ns):
        super().__init__(
            name,
            symbols,
            config,
            warmup_ns=settings.warmup_ns,
            backoff=Backoff(settings.reconnect_first_s, settings.reconnect_most_s),
            clock=clock,
        )
        self.settings = settings
        self.connection: Connection | None = None
        self._symbol_of: dict = {}  # (contract, exchange) -> symbol

    def exchange(self, symbol: str) -> str:
        return self.settings.exchanges[symbol]

    async def connect(self) -> None:
        connection = Connection(self.settings)
        await connection.open()
        connection.client.on_tick += self._on_tick
        self.connection = connection

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.close()

    async def subscribe(self, symbol: str, contract: str) -> None:
        self._symbol_of[(contract, self.exchange(symbol))] = symbol
        await self.connection.subscribe(contract, self.exchange(symbol))

    async def unsubscribe(self, symbol: str, contract: str) -> None:
        await self.connection.unsubscribe(contract, self.exchange(symbol))
        self._symbol_of.pop((contract, self.exchange(symbol)), None)

    async def history(self, symbol: str, contract: str, start_ns: int, end_ns: int) -> list:
        chunk = await tick_history(
            self.connection.history,
            contract,
            self.exchange(symbol),
            start_ns,
            end_ns,
            self.settings,
        )
        return [chunk] if len(chunk) else []

    async def lost(self) -> None:
        await self.connection.lost()

    async def _on_tick(self, tick: dict) -> None:
        trade = trade_of(tick)
        symbol = self._symbol_of.get((tick.get("symbol"), tick.get("exchange")))
        if trade is None or symbol is None or trade[3]:
            return  # a quote, another contract, or the snapshot of a trade history holds
        ts, price, size, _ = trade
        self.deliver(symbol, TradeChunk([ts], [price], [size]))
