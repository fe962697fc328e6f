"""A loopback stand-in for a Rithmic gateway (INTEGRATIONS.md §2.4): a
``websockets`` server on 127.0.0.1 speaking R|Protocol with
``async_rithmic``'s own protobuf classes, for the real ``RithmicClient``.

It answers system info (16), login (10), heartbeat (18), logout (12), market
data subscriptions (100, with a snapshot LastTrade), front month (113) and
tick replay (206, paged at ``page_rows`` like the real gateway), and pushes
LastTrade (150) to subscribers. Tests add trades, push live ones, drop every
connection, refuse new ones for a while, or make the history answer go wrong.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from http import HTTPStatus

from async_rithmic.plants.base import TEMPLATES_MAP
from async_rithmic.protocol_buffers import base_pb2
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

NS = 1_000_000_000


def frame(message) -> bytes:
    body = message.SerializeToString()
    return len(body).to_bytes(4, "big", signed=True) + body


def reply(template_id: int, **fields):
    message = TEMPLATES_MAP[template_id]()
    message.template_id = template_id
    for name, value in fields.items():
        target = getattr(message, name)
        if isinstance(value, list):
            target.extend(value)
        else:
            setattr(message, name, value)
    return message


class RithmicStub:
    """``trades[(symbol, exchange)]``: the gateway's series, ``(ts_ns, price,
    size)`` in time order. ``history_fault``: None, ``("error", page)`` (that
    page answers rp_code 3) or ``("stall", page)`` (that page sends half its
    rows and never ends)."""

    def __init__(
        self,
        user="trader",
        password="s3cret-pw",
        system_names=("Rithmic Test", "Rithmic Paper Trading"),
        page_rows=10_000,
        front_months=None,
    ):
        self.user, self.password = user, password
        self.system_names = list(system_names)
        self.page_rows = page_rows
        self.front_months = dict(front_months or {})
        self.trades: dict = defaultdict(list)
        self.history_fault = None
        self.refuse = False
        self.logins: list = []  # (infra_type, monotonic seconds, accepted)
        self.replays: list = []  # (symbol, exchange, start_index, finish_index, rows sent)
        self._subscribers: dict = defaultdict(set)  # (symbol, exchange) -> connections
        self._connections: set = set()
        self.loop = None

    # -- running ---------------------------------------------------------------------

    def start(self) -> RithmicStub:
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def listen():
            return await serve(self._handle, "127.0.0.1", 0, process_request=self._admit)

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(listen())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="rithmic-stub", daemon=True)
        self.thread.start()
        ready.wait(10)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        async def shut():
            self.server.close()
            await self.server.wait_closed()

        self._call(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    # -- what tests do ---------------------------------------------------------------

    def add_trades(self, symbol, exchange, rows) -> None:
        """Trades that happened (history), without sending them live."""
        self.trades[(symbol, exchange)].extend(rows)

    def push_trades(self, symbol, exchange, rows) -> None:
        """Trades that happen now: into history and out to subscribers."""
        self._call(self._push(symbol, exchange, list(rows)))

    def subscribed(self, symbol, exchange) -> bool:
        return bool(self._subscribers.get((symbol, exchange)))

    def drop(self) -> None:
        """Cut every connection without a closing handshake."""

        async def cut():
            for connection in list(self._connections):
                connection.transport.abort()

        self._call(cut())

    # -- the protocol ----------------------------------------------------------------

    def _admit(self, connection, request):
        if self.refuse:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down for the test\n")
        return None

    async def _handle(self, connection):
        self._connections.add(connection)
        try:
            async for data in connection:
                base = base_pb2.Base()
                base.ParseFromString(data[4:])
                request = TEMPLATES_MAP[base.template_id]()
                request.ParseFromString(data[4:])
                await self._answer(connection, base.template_id, request)
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(connection)
            for subscribers in self._subscribers.values():
                subscribers.discard(connection)

    async def _answer(self, connection, template_id, request):
        send = connection.send
        echo = list(request.user_msg) if hasattr(request, "user_msg") else []
        if template_id == 16:
            await send(
                frame(reply(17, user_msg=echo, rp_code=["0"], system_name=self.system_names))
            )
        elif template_id == 10:
            accepted = (request.user, request.password) == (self.user, self.password) and (
                request.system_name in self.system_names
            )
            self.logins.append((request.infra_type, time.monotonic(), accepted))
            code = ["0"] if accepted else ["13", "permission denied"]
            await send(
                frame(reply(11, user_msg=echo, rp_code=code, heartbeat_interval=60.0, fcm_id="f"))
            )
        elif template_id == 18:
            await send(frame(reply(19, user_msg=echo, rp_code=["0"])))
        elif template_id == 12:
            await send(frame(reply(13, user_msg=echo, rp_code=["0"])))
            await connection.close()
        elif template_id == 100:
            key = (request.symbol, request.exchange)
            await send(frame(reply(101, user_msg=echo, rp_code=["0"])))
            if request.request == 1:
                self._subscribers[key].add(connection)
                if self.trades[key]:
                    await send(frame(self._last_trade(key, self.trades[key][-1], snapshot=True)))
            else:
                self._subscribers[key].discard(connection)
        elif template_id == 113:
            front = self.front_months.get((request.symbol, request.exchange), "")
            code = ["0"] if front else ["7", "no data"]
            await send(frame(reply(114, user_msg=echo, rp_code=code, trading_symbol=front)))
        elif template_id == 206:
            await self._replay(connection, request, echo)

    async def _replay(self, connection, request, echo):
        key = (request.symbol, request.exchange)
        page_number = sum(1 for r in self.replays if r[:2] == key) + 1
        rows = [
            t
            for t in self.trades.get(key, ())
            if request.start_index <= t[0] // NS <= request.finish_index
        ][: self.page_rows]
        fault = self.history_fault
        if fault and fault[1] == page_number and fault[0] == "stall":
            rows = rows[: len(rows) // 2]
        self.replays.append((*key, request.start_index, request.finish_index, len(rows)))
        if fault == ("error", page_number):
            await connection.send(frame(reply(207, user_msg=echo, rp_code=["3", "bad request"])))
            return
        for ts, price, size in rows:
            row = reply(
                207,
                user_msg=echo,
                rq_handler_rp_code=["0"],
                symbol=request.symbol,
                exchange=request.exchange,
                type_specifier="1",
                num_trades=1,
                volume=int(size),
                open_price=price,
                high_price=price,
                low_price=price,
                close_price=price,
                data_bar_ssboe=[ts // NS],
                data_bar_usecs=[ts % NS // 1000],
            )
            await connection.send(frame(row))
        if fault and fault == ("stall", page_number):
            return
        code = ["0"] if rows else ["7", "no data"]
        await connection.send(frame(reply(207, user_msg=echo, rp_code=code)))

    def _last_trade(self, key, trade, snapshot=False):
        ts, price, size = trade
        return reply(
            150,
            symbol=key[0],
            exchange=key[1],
            presence_bits=1,
            is_snapshot=snapshot,
            trade_price=price,
            trade_size=int(size),
            aggressor=1,
            ssboe=ts // NS,
            usecs=ts % NS // 1000,
        )

    async def _push(self, symbol, exchange, rows):
        key = (symbol, exchange)
        self.trades[key].extend(rows)
        for connection in list(self._subscribers.get(key, ())):
            for trade in rows:
                try:
                    await connection.send(frame(self._last_trade(key, trade)))
                except ConnectionClosed:
                    break


def series(start_ns: int, count: int, step_ns: int, price=5000.0, same_stamp_every=0):
    """``count`` trades from ``start_ns`` every ``step_ns`` (microsecond
    stamps), prices walking by a tick; with ``same_stamp_every`` n, every
    n-th trade shares the previous one's stamp."""
    rows, ts = [], start_ns
    for k in range(count):
        if not (same_stamp_every and k and k % same_stamp_every == 0):
            ts = start_ns + k * step_ns
        rows.append((ts - ts % 1000, price + 0.25 * ((k * 7) % 13 - 6), float(1 + k % 5)))
    return rows
