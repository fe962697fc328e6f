"""What the live sources share: the queue they fill, reconnecting with backoff,
backfilling a gap without losing or repeating data, and contract rolls.

A live source has ``start_live(queue, stop)`` (docs/hooks.md). It runs on its
own thread and puts on ``queue``:

* ``(symbol, chunk)``: a ``TradeChunk`` or ``BarChunk`` of one instrument, in
  time order for that instrument;
* ``(symbol, FeedNotice)``: something the trader should know (connected,
  dropped, gap backfilled, contract rolled, an error); ``symbol`` is ``"*"``
  for the whole feed. The engine logs it and writes it to the journal;
* ``None`` once, when the feed has ended (``stop`` was set, or it gave up).

A source with ``backfills = True`` (every :class:`LiveFeed`) sends a ``live``
notice once it has caught up after each (re)connect; until then the engine
closes no bar or slice by the clock (its backfill would arrive late), only by
the data themselves.

:class:`LiveFeed` does the above for a subclass that speaks one protocol. On
every (re)connect it subscribes first and holds what streams in, then backfills
from history up to now, then lets the held data through :class:`Watermark`,
which drops what was delivered already. So a drop loses no bar and repeats
none: at most the part of one history bar that straddles the drop point is
left out (a history bar is delivered only when it begins at or after the last
data delivered).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

import attrs
import numpy as np
import structlog

from rsengine.exchange import contracts
from rsengine.exchange.sessions import session_date_of
from rsengine.model import BarChunk, TradeChunk

KINDS = (
    "connected",
    "disconnected",
    "backfilled",
    "live",
    "roll",
    "stale",
    "fresh",
    "error",
    "ended",
)


@attrs.frozen
class FeedNotice:
    """A feed event for the log and the journal."""

    kind: str  # one of KINDS
    source: str  # the source's name in the config
    message: str
    instrument: str = "*"
    details: dict = attrs.field(factory=dict)


class FeedError(RuntimeError):
    """A fault retrying will not mend (bad credentials, an unknown contract):
    the feed reports it and ends."""


class Backoff:
    """Delays between reconnects: ``first`` seconds, times ``factor`` after
    each failure up to ``most``, each moved by up to ``jitter`` of itself."""

    def __init__(self, first=1.0, most=60.0, factor=2.0, jitter=0.2, seed=None):
        if not 0 < first <= most:
            raise ValueError(f"backoff: need 0 < first ({first}) <= most ({most})")
        self.first, self.most, self.factor, self.jitter = first, most, factor, jitter
        self._rng = random.Random(seed)
        self._next = first

    def next(self) -> float:
        base = self._next
        self._next = min(self._next * self.factor, self.most)
        return base * (1 + self.jitter * (2 * self._rng.random() - 1))

    def reset(self) -> None:
        self._next = self.first


class Watermark:
    """Per instrument, how far delivery has gone, so that what a backfill or a
    reconnect sends again is dropped.

    Trades: a resent chunk (history, or live data held while history was
    read) is new from the first trade later than the last one delivered, and,
    at that same stamp, beyond the number delivered at it (a feed sends the
    trades of one stamp in the same order each time). A chunk that
    ``continues`` the live stream is new from the last stamp on. Bars: a bar
    is new when it begins at or after the end of the last bar delivered, or
    after the last trade delivered (a bar beginning on that trade's stamp
    holds it)."""

    def __init__(self):
        self._last: dict = {}  # symbol -> (last stamp, trades delivered at it, a bar's end?)

    def last(self, symbol: str) -> int | None:
        """The stamp delivery has reached (a trade's, or a bar's end)."""
        found = self._last.get(symbol)
        return None if found is None else found[0]

    def last_was_trade(self, symbol: str) -> bool:
        found = self._last.get(symbol)
        return found is not None and not found[2]

    def fresh(self, symbol: str, chunk, continues: bool = False):
        """The part of ``chunk`` not delivered yet (None when nothing), noted
        as delivered."""
        if not len(chunk):
            return None
        last, at_last, bar_end = self._last.get(symbol, (None, 0, False))
        if isinstance(chunk, BarChunk):
            if last is None:
                keep = np.ones(len(chunk), bool)
            else:
                keep = chunk.ts_open >= last if bar_end else chunk.ts_open > last
            if not keep.any():
                return None
            out = _rows(chunk, keep)
            self._last[symbol] = (int(out.ts_open[-1]) + out.bar_ns, 0, True)
            return out
        ts = chunk.ts
        if last is None or bar_end:
            keep = np.ones(len(ts), bool) if last is None else ts >= last
            seen_at_last = 0
        elif continues:
            keep = ts >= last
            seen_at_last = at_last
        else:
            keep = ts > last
            same = np.flatnonzero(ts == last)
            keep[same[at_last:]] = True  # beyond those already delivered at that stamp
            seen_at_last = min(at_last, len(same))
        if not keep.any():
            return None
        out = _rows(chunk, keep)
        end = int(out.ts[-1])
        count = int((out.ts == end).sum()) + (seen_at_last if end == last else 0)
        self._last[symbol] = (end, count, False)
        return out


def _rows(chunk, keep):
    if keep.all():
        return chunk
    if isinstance(chunk, BarChunk):
        fields = ("ts_open", "open", "high", "low", "close", "volume")
        return BarChunk(*(getattr(chunk, f)[keep] for f in fields), bar_ns=chunk.bar_ns)
    return TradeChunk(chunk.ts[keep], chunk.price[keep], chunk.size[keep])


class LiveFeed:
    """Base of a live source. A subclass writes the protocol part, all async
    and run on the feed's own event loop:

    * ``connect()`` / ``close()``; ``connect`` raises :class:`FeedError` for a
      fault retrying will not mend, anything else is retried with backoff;
    * ``subscribe(symbol, contract)`` / ``unsubscribe(symbol, contract)``:
      live data then go to ``self.deliver(symbol, chunk)`` (from any task of
      the loop);
    * ``history(symbol, contract, start_ns, end_ns)``: the data in
      ``[start_ns, end_ns)``, complete bars only, as a list of chunks; raises
      on an incomplete answer (never returns a short series);
    * ``lost()``: returns when the connection is gone.

    ``contract(symbol, day)`` names what is streamed for ``symbol`` on ``day``
    (default: the front month by the roll calendar, for instruments with
    contract months; the symbol itself otherwise).
    """

    roll_check_s = 60.0
    backfills = True  # the engine closes by the clock only after the ``live`` notice

    def __init__(self, name, symbols, config, warmup_ns=0, backoff=None, clock=time.time_ns):
        self.name = name
        self.symbols = tuple(symbols)
        self.config = config
        self.warmup_ns = int(warmup_ns)
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.watermark = Watermark()
        self.log = structlog.get_logger("rsengine.feeds").bind(source=name)
        self._queue = None
        self._stop = None
        self._held: dict | None = None  # symbol -> chunks streamed in while backfilling
        self._subscribed: dict = {}  # symbol -> contract
        self._started_ns = None
        self.thread: threading.Thread | None = None

    # -- what a subclass writes ----------------------------------------------------

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def subscribe(self, symbol: str, contract: str) -> None:
        raise NotImplementedError

    async def unsubscribe(self, symbol: str, contract: str) -> None:
        raise NotImplementedError

    async def history(self, symbol: str, contract: str, start_ns: int, end_ns: int) -> list:
        raise NotImplementedError

    async def lost(self) -> None:
        raise NotImplementedError

    def contract(self, symbol: str, day) -> str:
        try:
            inst = self.config.instrument(symbol)
        except (AttributeError, KeyError):
            return symbol
        if not inst.spec.has_contract_months:
            return inst.feed_symbol or symbol
        year, month = inst.contract_on(day)
        return contracts.contract_code(inst.root, year, month)

    # -- the engine's side ---------------------------------------------------------

    def start_live(self, queue, stop) -> None:
        self._queue, self._stop = queue, stop
        self.thread = threading.Thread(target=self._run, name=f"feed-{self.name}", daemon=True)
        self.thread.start()

    def deliver(self, symbol: str, chunk) -> None:
        """Live data from the subscription: held while a backfill runs."""
        if self._held is not None:
            self._held.setdefault(symbol, []).append(chunk)
            return
        self._put_fresh(symbol, chunk, continues=True)

    def notice(self, kind: str, message: str, instrument: str = "*", **details) -> None:
        self._queue.put((instrument, FeedNotice(kind, self.name, message, instrument, details)))

    # -- the loop ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # reported, never a silent dead thread
            self.notice("error", f"{type(exc).__name__}: {exc}")
        finally:
            self._queue.put(None)

    async def _main(self) -> None:
        self._started_ns = self.clock()
        connected_before = False
        while not self._stop.is_set():
            try:
                await self.connect()
            except FeedError as exc:
                self.notice("error", f"cannot connect: {exc}")
                return
            except Exception as exc:
                if await self._wait_retry(f"connect failed: {type(exc).__name__}: {exc}"):
                    return
                continue
            try:
                await self._catch_up(connected_before)
                connected_before = True
                self.backoff.reset()
                await self._follow()
            except FeedError as exc:
                self.notice("error", str(exc))
                await self._close_quietly()
                return
            except Exception as exc:
                self.log.warning("feed fault", error=f"{type(exc).__name__}: {exc}")
            await self._close_quietly()
            if self._stop.is_set():
                return
            if await self._wait_retry("connection lost"):
                return
        await self._close_quietly()

    async def _catch_up(self, reconnect: bool) -> None:
        """Subscribe, backfill from where delivery stopped (or the warm-up
        start), then let through what streamed in meanwhile."""
        day = _trade_day(self.clock())
        self._held = {}
        self._subscribed = {}
        for symbol in self.symbols:
            contract = self.contract(symbol, day)
            await self.subscribe(symbol, contract)
            self._subscribed[symbol] = contract
        now = self.clock()  # after subscribing: history reaches into what is held
        self.notice(
            "connected", f"{'re' if reconnect else ''}connected", contracts=self._subscribed
        )
        filled = {}
        for symbol in self.symbols:
            since = self.watermark.last(symbol)
            start = since if since is not None else self._started_ns - self.warmup_ns
            if start >= now:
                continue
            rows = 0
            for chunk in await self.history(symbol, self._subscribed[symbol], start, now):
                rows += self._put_fresh(symbol, chunk)
            filled[symbol] = rows
        held, self._held = self._held, None
        for symbol, chunks in held.items():
            # the held stream as one resend of what history may have given
            for chunk in _joined(chunks):
                self._put_fresh(symbol, chunk)
        if reconnect:
            self.notice(
                "backfilled", "gap backfilled from history after the reconnect", rows=filled
            )
        self.notice("live", "caught up: streaming live")

    async def _follow(self) -> None:
        lost = asyncio.ensure_future(self.lost())
        try:
            while not self._stop.is_set():
                done, _ = await asyncio.wait({lost}, timeout=min(1.0, self.roll_check_s))
                if done:
                    lost.result()
                    self.notice("disconnected", "connection lost")
                    return
                await self._roll_if_due()
        finally:
            lost.cancel()

    async def _roll_if_due(self) -> None:
        day = _trade_day(self.clock())
        for symbol, old in list(self._subscribed.items()):
            new = self.contract(symbol, day)
            if new != old:
                await self.unsubscribe(symbol, old)
                await self.subscribe(symbol, new)
                self._subscribed[symbol] = new
                self.notice(
                    "roll", f"rolled {symbol} from {old} to {new}", symbol, old=old, new=new
                )

    async def _wait_retry(self, why: str) -> bool:
        """Sleep the backoff delay (True: stop was set meanwhile)."""
        delay = self.backoff.next()
        self.log.warning("feed retry", why=why, in_s=round(delay, 2))
        end = time.monotonic() + delay
        while time.monotonic() < end:
            if self._stop.is_set():
                return True
            await asyncio.sleep(min(0.1, end - time.monotonic()))
        return self._stop.is_set()

    async def _close_quietly(self) -> None:
        try:
            await self.close()
        except Exception as exc:
            self.log.info("close failed", error=f"{type(exc).__name__}: {exc}")

    def _put_fresh(self, symbol: str, chunk, continues: bool = False) -> int:
        fresh = self.watermark.fresh(symbol, chunk, continues)
        if fresh is None:
            return 0
        self._queue.put((symbol, fresh))
        return len(fresh)


def _joined(chunks: list) -> list:
    """Consecutive trade chunks as one (bar chunks as they are)."""
    out, run = [], []
    for chunk in [*chunks, None]:
        if isinstance(chunk, TradeChunk):
            run.append(chunk)
            continue
        if run:
            out.append(TradeChunk(*(np.concatenate([getattr(c, f) for c in run])
                                    for f in ("ts", "price", "size"))))  # fmt: skip
            run = []
        if chunk is not None:
            out.append(chunk)
    return out


def _trade_day(ts_ns: int):
    """The trade date of a moment (a Globex session closes on it)."""
    return session_date_of(ts_ns)
