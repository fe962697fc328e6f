"""Source ``basket``: NYSE ``$TICK`` and ``$ADD`` computed from a basket of
stock trades (DOMAIN.md §1, INTEGRATIONS.md §5).

Indicators see bars of the configured instruments, never raw trades, so the
breadth of a basket is worked out here, as a source, and delivered as the
internals' own series. The trades come from CSV files read by the ``csv``
plugin's reader (:mod:`rsengine_csv.reader`), one trade a row with its stock
in ``symbol_column``, every stock in one file in time order (a consolidated
tape). Default layout: header ``symbol,ts,price,size``, ``ts`` ISO, UTC.

Series, each delivered to the configured instruments whose ``feed_symbol``
is its name (the default feed symbol is the instrument's own symbol, so
``$TICK: {}`` receives ``$TICK``):

* ``$TICK``: stocks whose last trade was an uptick minus those whose last
  trade was a downtick. With ``zero_ticks: unchanged`` (default, the NYSE
  rule: zero-plus and zero-minus ticks are not counted) a trade is an uptick
  when its price is above the stock's previous trade, a downtick when below,
  and counts 0 at the same price. With ``zero_ticks: carry`` a trade at the
  previous price keeps the direction of the stock's last price change, so a
  zero-plus tick counts +1 (the "last two distinct prices" reading). A
  stock's first trade ever counts 0. Only stocks that traded in the session
  count: each starts the session at 0 and its first trade is compared with
  its previous one, yesterday's included.
* ``$TICK_UNCH``: stocks that traded in the session and whose last trade
  counts 0 (unchanged).
* ``$ADD``: stocks above their prior close minus those below, ``sum(sign(last
  - prior close))``. A stock's prior close is its last trade at or before the
  RTH close (16:00 ET, or the early close) of an earlier session, the latest
  such; it is fixed when the session opens. Stocks without one (the first
  session of the file, a stock new to it) are not counted; a stock with one
  that has not traded yet in the session is unchanged.
* ``$ADD_UNCH``: stocks with a prior close whose last price equals it.

Sessions are the engine's (``session.calendar``): a trade belongs to the
session closing on the day after 18:00 ET. The universe is every stock of
the files, or the list ``symbols`` (restrict it to NYSE-listed issues to
approximate the NYSE internals; ours is an approximation of the official
value in any case).

Samples: one per trade stamp at which the value changed, after every trade of
that stamp, plus one at the session's first stamp whatever the value; price
= the value, size 1 (so a bar's volume counts its changes). The exchange
publishes its internals about every 6 s, so the highs and lows of a basket
series are at least as wide as the official ones. ``$ADD`` and
``$ADD_UNCH`` have no samples in a session without a stock with a prior
close. ``start``/``end`` pick the sessions delivered; every trade of the
files is still read, so the first delivered session has its prior closes.
"""

from __future__ import annotations

import math

import numpy as np
from rsengine_csv import FileSource, window_mask
from rsengine_csv.reader import read

from rsengine.exchange.sessions import SESSION_ROLL, SessionBounds, local_ns, session_date_of
from rsengine.model import TradeChunk

NAN = math.nan
SERIES = ("$TICK", "$ADD", "$TICK_UNCH", "$ADD_UNCH")
ZERO_TICKS = ("unchanged", "carry")
DEFAULT_LAYOUT = {
    "kind": "trades",
    "columns": {"ts": "ts", "price": "price", "size": "size"},
    "symbol_column": "symbol",
}


class Basket:
    """The running internals of a basket, fed trade chunks in time order.

    :meth:`feed` takes stamps (int64 ns UTC), stock symbols and prices and
    returns the samples of the stamps now complete, per series ``(ts,
    values)``; the rows of the chunk's last stamp wait for the next chunk
    (trades of one stamp may be split across chunks). :meth:`finish` returns
    the rest. ``bounds`` gives a session date's hours (:class:`SessionBounds`).
    """

    def __init__(self, zero_ticks: str = "unchanged", bounds=None, universe=None):
        if zero_ticks not in ZERO_TICKS:
            raise ValueError(f"zero_ticks {zero_ticks!r} is not one of {', '.join(ZERO_TICKS)}")
        self.carry = zero_ticks == "carry"
        self.bounds = bounds or SessionBounds()
        self.universe = None if universe is None else np.asarray(sorted(universe), dtype=str)
        self.codes: dict[str, int] = {}
        # per stock: last price, direction of its last price change (-1, 0, 1),
        # last close at or before an RTH close, prior close of this session
        self.last = np.empty(0)
        self.direction = np.empty(0, np.int8)
        self.close = np.empty(0)
        self.prior = np.empty(0)
        # per stock, this session: its tick (-1, 0, 1), traded yet, sign vs prior close
        self.tick = np.empty(0, np.int8)
        self.traded = np.empty(0, np.bool_)
        self.sign = np.empty(0, np.int8)
        self.counts = np.zeros(5, np.int64)  # upticks, downticks, unchanged, above, below
        self.universe_size = 0  # stocks with a prior close
        self.roll = None  # the current session ends before this stamp (18:00 ET)
        self.rth_close = 0
        self.first = False  # the next stamp is the session's first
        self.emitted = np.full(len(SERIES), NAN)
        self._pending = (np.empty(0, np.int64), np.empty(0, np.intp), np.empty(0))

    # -- input ---------------------------------------------------------------------

    def feed(self, ts, symbol, price) -> dict:
        ts = np.asarray(ts, np.int64)
        symbol, price = np.asarray(symbol, dtype=str), np.asarray(price, np.float64)
        if self.universe is not None:
            keep = np.isin(symbol, self.universe)
            ts, symbol, price = ts[keep], symbol[keep], price[keep]
        rows = (ts, self._encode(symbol), price)
        rows = tuple(np.concatenate(pair) for pair in zip(self._pending, rows, strict=True))
        cut = int(np.searchsorted(rows[0], rows[0][-1])) if len(rows[0]) else 0
        self._pending = tuple(r[cut:] for r in rows)
        return self._run(*(r[:cut] for r in rows))

    def finish(self) -> dict:
        rows, self._pending = self._pending, tuple(r[:0] for r in self._pending)
        return self._run(*rows)

    def _encode(self, symbol: np.ndarray) -> np.ndarray:
        names, inverse = np.unique(symbol, return_inverse=True)
        for name in names.tolist():
            self.codes.setdefault(name, len(self.codes))
        grow = len(self.codes) - len(self.last)
        if grow:
            for attr, fill in (("last", NAN), ("close", NAN), ("prior", NAN), ("direction", 0),
                               ("tick", 0), ("traded", False), ("sign", 0)):  # fmt: skip
                old = getattr(self, attr)
                setattr(self, attr, np.concatenate((old, np.full(grow, fill, old.dtype))))
        return np.array([self.codes[n] for n in names.tolist()], np.intp)[inverse]

    # -- sessions ------------------------------------------------------------------

    def _open_session(self, ts: int) -> None:
        tz = self.bounds.tz
        day = session_date_of(ts + 1, tz)  # 18:00 ET opens the next day's session
        self.roll = local_ns(day, SESSION_ROLL, tz)
        self.rth_close = self.bounds(day)[3]
        self.prior = self.close.copy()
        self.universe_size = int(np.count_nonzero(~np.isnan(self.prior)))
        self.tick[:] = 0
        self.traded[:] = False
        self.sign[:] = 0
        self.counts[:] = 0
        self.first = True

    def _run(self, ts, codes, price) -> dict:
        out = {name: ([], []) for name in SERIES}
        i, m = 0, len(ts)
        while i < m:
            if self.roll is None or ts[i] >= self.roll:
                self._open_session(int(ts[i]))
            j = int(np.searchsorted(ts, self.roll, side="left"))
            self._segment(ts[i:j], codes[i:j], price[i:j], out)
            i = j
        return {
            name: (
                np.concatenate(t) if t else np.empty(0, np.int64),
                np.concatenate(v) if v else np.empty(0),
            )
            for name, (t, v) in out.items()
        }

    # -- one session's trades ------------------------------------------------------

    def _segment(self, ts, codes, price, out) -> None:
        """Trades of one session, in time order: the series after each stamp."""
        n = len(ts)
        order = np.argsort(codes, kind="stable")  # each stock's trades, in time order
        c, p = codes[order], price[order]
        start = np.ones(n, np.bool_)  # a stock's first trade here
        start[1:] = c[1:] != c[:-1]
        end = np.ones(n, np.bool_)  # its last
        end[:-1] = start[1:]
        before = np.concatenate(([NAN], p[:-1]))
        before[start] = self.last[c[start]]
        step = np.sign(p - before)
        step[np.isnan(step)] = 0  # a first trade ever
        step = step.astype(np.int8)
        # the direction of the last price change, this trade's included
        seed = np.where(start & (step == 0), self.direction[c], step)
        marks = np.where((seed != 0) | start, np.arange(n), 0)
        direction = seed[np.maximum.accumulate(marks)]
        tick = direction if self.carry else step
        tick_before = np.concatenate(([0], tick[:-1])).astype(np.int8)
        tick_before[start] = self.tick[c[start]]
        traded_before = np.ones(n, np.bool_)
        traded_before[start] = self.traded[c[start]]
        prior = self.prior[c]
        sign = np.sign(p - prior)
        sign[np.isnan(prior)] = 0
        sign = sign.astype(np.int8)
        sign_before = np.concatenate(([0], sign[:-1])).astype(np.int8)
        sign_before[start] = self.sign[c[start]]

        # each trade's change of the five counts, back in time order
        delta = np.empty((5, n), np.int64)
        delta[0] = (tick == 1).astype(np.int64) - (tick_before == 1)
        delta[1] = (tick == -1).astype(np.int64) - (tick_before == -1)
        delta[2] = (tick == 0).astype(np.int64) - (traded_before & (tick_before == 0))
        delta[3] = (sign == 1).astype(np.int64) - (sign_before == 1)
        delta[4] = (sign == -1).astype(np.int64) - (sign_before == -1)
        timed = np.empty_like(delta)
        timed[:, order] = delta
        counts = self.counts[:, None] + np.cumsum(timed, axis=1)

        # the stocks' state after these trades
        last = c[end]
        self.last[last] = p[end]
        self.direction[last] = direction[end]
        self.tick[last] = tick[end]
        self.traded[last] = True
        self.sign[last] = sign[end]
        in_rth = ts[order] <= self.rth_close
        closing = in_rth & np.concatenate((~in_rth[1:] | start[1:], [True]))
        self.close[c[closing]] = p[closing]
        if n:
            self.counts = counts[:, -1].copy()

        # one sample per stamp, after all of its trades
        stamp_end = np.ones(n, np.bool_)
        stamp_end[:-1] = ts[1:] != ts[:-1]
        up, down, unch, above, below = counts[:, stamp_end]
        values = [up - down, above - below, unch, self.universe_size - above - below]
        stamps = ts[stamp_end]
        for k, (name, v) in enumerate(zip(SERIES, values, strict=True)):
            if name in ("$ADD", "$ADD_UNCH") and not self.universe_size:
                continue
            v = v.astype(np.float64)
            changed = v != np.concatenate(([self.emitted[k]], v[:-1]))
            if self.first and len(v):
                changed[0] = True
            if len(v):
                self.emitted[k] = v[-1]
            out[name][0].append(stamps[changed])
            out[name][1].append(v[changed])
        if n:
            self.first = False


class BasketSource(FileSource):
    """Source ``basket`` (the module docstring says what it computes).

    Settings: ``files`` (a path or a list, read in order, relative to the
    config file), ``layout`` (a csv layout of trades with a
    ``symbol_column``; default ``symbol,ts,price,size`` with an ISO UTC
    ``ts``), ``symbols`` (the universe; default every stock in the files),
    ``zero_ticks`` (``unchanged`` | ``carry``), and the csv source's
    ``on_bad_row``, ``chunk_rows``, ``start`` and ``end``.
    """

    SETTINGS = ("files", "layout", "symbols", "zero_ticks", *FileSource.SETTINGS)

    def __init__(self, settings: dict, context):
        super().__init__(settings, context)
        self.files = self._files(settings.get("files"), ("files",), self.base)
        layout = self._layout(settings.get("layout", DEFAULT_LAYOUT), ("layout",))
        if layout.kind != "trades" or layout.symbol_column is None:
            raise self._refuse(
                "layout", "the basket reads trades (kind: trades) with a symbol_column naming"
                " each trade's stock",
            )  # fmt: skip
        self.layout = layout
        self.zero_ticks = self._choice(settings, "zero_ticks", ZERO_TICKS)
        universe = settings.get("symbols")
        if universe is not None and (
            isinstance(universe, str)
            or not isinstance(universe, list)
            or not universe
            or not all(isinstance(s, str) and s for s in universe)
        ):
            raise self._refuse("symbols", f"expected a list of stock symbols, got {universe!r}")
        self.universe = universe
        config = context.config
        self.targets = {}
        for symbol in context.symbols:
            feed = config.instrument(symbol).feed_symbol or symbol
            if feed in SERIES:
                self.targets[symbol] = feed
        if not self.targets:
            raise self._refuse(
                (),
                f"no configured instrument takes its series: configure `$TICK: {{}}` or "
                f"`$ADD: {{}}` (or give an internal feed_symbol {', '.join(SERIES)})",
            )
        session = config.session
        self.bounds = SessionBounds(session.calendar, session.timezone)

    def _paths(self) -> list:
        return self.files * len(self.targets)  # each series reads the files

    @property
    def bad_rows(self) -> int:
        """Bad rows of the files (each series' reader sees the same ones)."""
        return max((r.stats.skipped for r in self.readers), default=0)

    def streams(self):
        return {symbol: self._stream(feed) for symbol, feed in self.targets.items()}

    def _stream(self, series: str):
        reader = read([str(p) for p in self.files], self.layout, self.chunk_rows, self.on_bad_row)
        self.readers.append(reader)
        basket = Basket(self.zero_ticks, self.bounds, self.universe)
        for chunk in reader:
            yield from self._samples(basket.feed(chunk.ts, chunk.symbol, chunk.price)[series])
        yield from self._samples(basket.finish()[series])

    def _samples(self, samples):
        ts, values = samples
        lo, hi = self.window
        if lo is not None or hi is not None:
            keep = window_mask(ts, lo, hi)
            ts, values = ts[keep], values[keep]
        if len(ts):
            yield TradeChunk(ts, values, np.ones(len(ts)))
