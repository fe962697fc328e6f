"""A loopback TWS for tests: the real ``ib_async`` client talks to it over
127.0.0.1 (INTEGRATIONS.md §3.2).

It speaks the TWS text protocol (4-byte big-endian length, ``\\0``-terminated
fields) at server version 178, answers the startup sync, contract details,
historical bars, historical ticks, tick-by-tick trades, 5-second real-time
bars and market-data ticks, from one series of trades per contract that the
test gives it.

Time: the series' stamps are whole seconds (epoch). ``publish(until_s)`` moves
the stub's "now": the trades before it are known to history, and those not yet
sent go to every live subscriber (tick-by-tick, real-time bars whose 5 s have
ended, index values as market-data ticks). History answers are cut at the
request's end and at that "now".

``drop_all()`` closes every connection (the client sees TWS go away);
``requests`` holds every request the stub saw, with the ``clock`` reading.

    stub = TwsStub()
    es = stub.add_future("ES", "202403", "CME", trades=[(t, 5000.0, 1.0), ...])
    port = await stub.start()             # or stub.start_in_thread()
"""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
import threading
import time

import attrs

SERVER_VERSION = 178
ACCOUNT = "DU0000001"

BAR_SECONDS = {"1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30}
BAR_SECONDS.update({"1 min": 60, "2 mins": 120, "5 mins": 300, "15 mins": 900, "1 hour": 3600})


@attrs.define
class StubContract:
    con_id: int
    symbol: str
    sec_type: str  # FUT or IND
    month: str  # YYYYMM ("" for an index)
    exchange: str
    trades: list  # (epoch second, price, size), sorted; index values have size 0
    # AD-NYSE: advancers go out as the bid, decliners as the ask (value = bid - ask)
    as_bid_ask: bool = False

    @property
    def local_symbol(self) -> str:
        return f"{self.symbol}{self.month}" if self.month else self.symbol


@attrs.define
class Request:
    at: float  # the stub's clock
    kind: str  # details, history, ticks_history, tick_by_tick, realtime_bars, market_data, cancel
    con_id: int
    fields: tuple


@attrs.define
class _Subscription:
    kind: str
    req_id: int
    contract: StubContract
    sent: int  # trades of the series already sent
    next_bar: int = 0  # real-time bars: next bar open (epoch second)


class TwsStub:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.contracts: list[StubContract] = []
        self.requests: list[Request] = []
        self.now_s = 0
        self.connections = 0  # accepted so far
        self.refuse = False  # True: close each new connection at once
        self._writers: list = []
        self._subs: dict = {}  # writer -> {req_id: _Subscription}
        self._server = None
        self._loop = None
        self._thread = None

    # -- what the test sets up ------------------------------------------------------

    def add_future(self, symbol, month, exchange, trades=()) -> StubContract:
        return self._add(symbol, "FUT", month, exchange, trades)

    def add_index(self, symbol, exchange="NYSE", values=(), as_bid_ask=False) -> StubContract:
        trades = [(t, v, 0.0) for t, v in values]
        return self._add(symbol, "IND", "", exchange, trades, as_bid_ask)

    def _add(self, symbol, sec_type, month, exchange, trades, as_bid_ask=False):
        con_id = 1000 + len(self.contracts)
        contract = StubContract(
            con_id, symbol, sec_type, month, exchange, sorted(trades, key=_stamp), as_bid_ask
        )
        self.contracts.append(contract)
        return contract

    def count(self, kind: str, con_id: int | None = None) -> int:
        return sum(1 for r in self.requests if r.kind == kind and con_id in (None, r.con_id))

    def subscribers(self, kind: str | None = None) -> list:
        return [s for subs in self._subs.values() for s in subs.values() if kind in (None, s.kind)]

    # -- running --------------------------------------------------------------------

    async def start(self) -> int:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    def start_in_thread(self) -> int:
        """Runs the stub on its own event loop thread; returns the port."""
        ready = threading.Event()
        port = []

        def run():
            loop = asyncio.new_event_loop()
            port.append(loop.run_until_complete(self.start()))
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="tws-stub", daemon=True)
        self._thread.start()
        ready.wait(5)
        return port[0]

    def call(self, fn, *args):
        """Runs ``fn(*args)`` on the stub's loop and waits for it (from another thread)."""
        if self._thread is None:
            return fn(*args)
        done = threading.Event()
        result = []

        def run():
            try:
                result.append(fn(*args))
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)
        return result[0] if result else None

    def stop(self) -> None:
        def close():
            self._drop()
            self._server.close()

        self.call(close)
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def drop_all(self) -> None:
        """Closes every client connection, as when TWS restarts."""
        self.call(self._drop)

    def _drop(self):
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        self._subs.clear()

    def publish(self, until_s: int) -> None:
        """Moves the stub's now to ``until_s`` and sends live data up to it."""
        self.call(self._publish, int(until_s))

    def _publish(self, until_s):
        self.now_s = max(self.now_s, until_s)
        for writer, subs in self._subs.items():
            out = []
            for sub in subs.values():
                out += self._live_messages(sub)
            if out:
                writer.write(b"".join(out))

    def _live_messages(self, sub) -> list:
        trades, out = sub.contract.trades, []
        if sub.kind == "realtime_bars":
            while sub.next_bar + 5 <= self.now_s:
                start = sub.next_bar
                bar = [t for t in trades if start <= t[0] < start + 5]
                if bar:
                    o, h, lo, c, v, wap, n = _ohlc(bar)
                    out.append(_msg(50, 3, sub.req_id, start, o, h, lo, c, v, wap, n))
                sub.next_bar += 5
            return out
        while sub.sent < len(trades) and trades[sub.sent][0] < self.now_s:
            t, price, size = trades[sub.sent]
            sub.sent += 1
            if sub.kind == "tick_by_tick":
                out.append(_msg(99, sub.req_id, 1, t, price, size, 0, "", ""))
            elif sub.contract.as_bid_ask:  # advancers minus decliners, split over bid and ask
                advancers = 1700 + price / 2
                out.append(_msg(1, 6, sub.req_id, 1, advancers, 300, 0))
                out.append(_msg(1, 6, sub.req_id, 2, advancers - price, 0, 0))
            else:
                out.append(_msg(1, 6, sub.req_id, 4, price, 0, 0))
        return out

    # -- the protocol ---------------------------------------------------------------

    async def _serve(self, reader, writer):
        self.connections += 1
        if self.refuse:
            writer.close()
            return
        try:
            if await reader.readexactly(4) != b"API\0":
                writer.close()
                return
            await _read_fields(reader)  # "v157..178"
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
            writer.write(_prefixed(f"{SERVER_VERSION}\0{stamp}\0".encode()))
            self._writers.append(writer)
            self._subs[writer] = {}
            while True:
                fields = await _read_fields(reader)
                self._answer(writer, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._subs.pop(writer, None)
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def _answer(self, writer, f):
        msg = int(f[0])
        send = writer.write
        if msg == 71:  # startApi
            send(_msg(9, 1, 1) + _msg(15, 1, ACCOUNT))
        elif msg in SYNC_REPLIES:
            send(SYNC_REPLIES[msg](f))
        elif msg == 9:  # contract details: 9, 8, reqId, contract(12) ...
            req_id, found = int(f[2]), self._match(f[3:15])
            self._note("details", found[0].con_id if len(found) == 1 else 0, f)
            if not found:
                send(_error(req_id, 200, "No security definition has been found for the request"))
            else:
                send(b"".join(_details(req_id, c) for c in found) + _msg(52, 1, req_id))
        elif msg == 20:
            send(self._history(f))
        elif msg == 96:
            send(self._ticks_history(f))
        elif msg in (97, 50, 1):  # tick-by-tick, real-time bars, market data
            req_id = int(f[1] if msg == 97 else f[2])
            contract = self._by_id(int(f[2] if msg == 97 else f[3]))
            kind = {97: "tick_by_tick", 50: "realtime_bars", 1: "market_data"}[msg]
            self._note(kind, contract.con_id, f)
            sent = sum(1 for t in contract.trades if t[0] < self.now_s)
            sub = _Subscription(kind, req_id, contract, sent, next_bar=self.now_s // 5 * 5)
            if msg == 1 and f[17] == "1":  # a snapshot: the latest value, then its end
                sub.sent = max(0, sent - 1)
                send(b"".join(self._live_messages(sub)) + _msg(57, 1, req_id))
            else:
                self._subs[writer][req_id] = sub
        elif msg in (98, 51, 2, 25):  # the cancels
            req_id = int(f[1] if msg == 98 else f[2])
            sub = self._subs[writer].pop(req_id, None)
            self._note("cancel", sub.contract.con_id if sub else 0, f)

    def _note(self, kind, con_id, fields):
        self.requests.append(Request(self.clock(), kind, con_id, tuple(fields)))

    def _by_id(self, con_id):
        return next(c for c in self.contracts if c.con_id == con_id)

    def _match(self, c) -> list:
        con_id, symbol, sec_type, month, exchange = c[0], c[1], c[2], c[3], c[7]
        if con_id not in ("", "0"):
            return [x for x in self.contracts if str(x.con_id) == con_id]
        return [
            x
            for x in self.contracts
            if x.symbol == symbol
            and (not sec_type or x.sec_type == sec_type)
            and x.month.startswith(month)
            and (not exchange or x.exchange == exchange)
        ]

    def _history(self, f) -> bytes:
        # 20, reqId, contract(12), includeExpired, end, barSize, duration, useRTH, whatToShow, ...
        req_id, contract = int(f[1]), self._by_id(int(f[2]))
        end_text, bar_size, duration = f[15], f[16], f[17]
        self._note("history", contract.con_id, f)
        end = _epoch(end_text) if end_text else self.now_s
        number, unit = duration.split()
        start = end - int(number) * {"S": 1, "D": 86400}[unit]
        step = BAR_SECONDS[bar_size]
        cut = min(end, self.now_s)
        buckets: dict = {}
        for t in contract.trades:
            if start // step * step <= t[0] < cut:
                buckets.setdefault(t[0] // step * step, []).append(t)
        rows = []
        for opened in sorted(buckets):
            if opened >= start:
                o, h, lo, c, v, wap, n = _ohlc(buckets[opened])
                rows += [opened, o, h, lo, c, v, wap, n]
        return _msg(17, req_id, start, end, len(rows) // 8, *rows)

    def _ticks_history(self, f) -> bytes:
        # 96, reqId, contract(12), includeExpired, start, end, numberOfTicks, whatToShow, ...
        req_id, contract = int(f[1]), self._by_id(int(f[2]))
        self._note("ticks_history", contract.con_id, f)
        start = _epoch(f[15]) if f[15] else 0
        end = min(_epoch(f[16]) if f[16] else self.now_s, self.now_s)
        wanted = int(f[17])
        picked = [t for t in contract.trades if start <= t[0] < end]
        if len(picked) > wanted:  # IB gives whole seconds: every trade of the last one
            last = picked[wanted - 1][0]
            picked = [t for t in picked if t[0] <= last]
        rows = []
        for t, price, size in picked:
            rows += [t, 0, price, size, contract.exchange, ""]
        return _msg(98, req_id, len(picked), *rows, 1)


def _sync(*reply):
    return lambda f: _msg(*[f[2] if part == "reqId" else part for part in reply])


# Startup requests and the replies that end them (INTEGRATIONS.md §3.2).
SYNC_REPLIES = {
    61: _sync(62, 1),  # positions
    5: _sync(53, 1),  # open orders
    99: _sync(102),  # completed orders
    6: lambda f: _msg(54, 1, ACCOUNT),  # account updates
    76: _sync(74, 1, "reqId"),  # account updates multi
    7: _sync(55, 1, "reqId"),  # executions
}


def _ohlc(trades):
    prices = [p for _, p, _ in trades]
    volume = sum(s for _, _, s in trades)
    wap = sum(p * s for _, p, s in trades) / volume if volume else prices[-1]
    return prices[0], max(prices), min(prices), prices[-1], volume, wap, len(trades)


def _details(req_id, c: StubContract) -> bytes:
    multiplier = "50" if c.sec_type == "FUT" else ""
    return _msg(
        10, req_id, c.symbol, c.sec_type, c.month, 0.0, "", c.exchange, "USD",
        c.local_symbol, c.symbol, c.symbol, c.con_id, 0.25, multiplier, "LMT,MKT",
        c.exchange, 1, 0, c.symbol, "", c.month, "", "", "", "US/Central", "", "",
        "", "", 0, 1, "", "", "", "", "", "1", "1", "1",
    )  # fmt: skip


def _error(req_id, code, text) -> bytes:
    return _msg(4, 2, req_id, code, text, "")


def _epoch(text: str) -> int:
    """'20240306 15:05:00 UTC' (how ib_async writes a UTC datetime) -> epoch seconds."""
    stamp = dt.datetime.strptime(text[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=dt.UTC)
    return int(stamp.timestamp())


def _field(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _msg(*fields) -> bytes:
    return _prefixed("".join(_field(x) + "\0" for x in fields).encode())


def _prefixed(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


async def _read_fields(reader) -> list:
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    body = await reader.readexactly(size)
    return body.decode().split("\0")[:-1]


def _stamp(trade) -> int:
    return trade[0]  # a stable sort by time keeps the order of one second's trades
