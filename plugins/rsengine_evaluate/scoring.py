"""Scoring on the captured bars, vectorised with numpy.

* :func:`forward_index` / :func:`forward_returns`: for every bar, the bar a
  horizon later and the return to it (points, %, ATR units).
* :func:`signal_table`: the signals as arrays, placed on their instrument's bars.
* :func:`simulate_brackets`: trades from an entry to a stop, a target or the
  session end, many at once (the baseline's random trades and the entries the
  engine did not follow).
* :func:`trade_table`: every trade setup's trade with its exit, excursions and
  net result after :class:`Costs`.

Definitions are in docs/evaluation.md.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from rsengine.exchange import contracts

MINUTE_NS = 60 * 10**9
HORIZONS = (15, 30, 60, "close")
DEFAULT_BUCKETS = ("09:30", "10:00", "10:30", "11:30", "13:30", "15:00", "16:00")
OUTSIDE_RTH = "outside RTH"
SIDE_SIGN = {"long": 1, "short": -1, "flat": 0}
# $ per contract per side, typical all-in retail rates (exchange, clearing, NFA, broker)
DEFAULT_COMMISSION = {"micro": 0.62, "full": 2.25}
EXIT_RULES = ("stop", "target", "session_end")
MAX_CELLS = 4_000_000  # bars gathered at once by the bracket simulation


def horizon_label(h) -> str:
    return h if isinstance(h, str) else f"{h}m"


def _clock_minutes(text: str) -> int:
    hours, minutes = str(text).split(":")
    return int(hours) * 60 + int(minutes)


@attrs.frozen
class Buckets:
    """Time-of-day buckets of a bar's close in ET: ``(e[k-1], e[k]]`` for
    consecutive edges, bucket 0 for every close outside them."""

    edges: tuple = DEFAULT_BUCKETS

    def __attrs_post_init__(self):
        minutes = [_clock_minutes(e) for e in self.edges]
        if len(minutes) < 2 or any(b <= a for a, b in zip(minutes, minutes[1:], strict=False)):
            raise ValueError(f"bucket edges must be 2+ increasing HH:MM times, got {self.edges}")

    @property
    def labels(self) -> tuple:
        e = self.edges
        return (OUTSIDE_RTH, *(f"{a}-{b}" for a, b in zip(e, e[1:], strict=False)))

    def of(self, minute: np.ndarray) -> np.ndarray:
        edges = np.array([_clock_minutes(e) for e in self.edges])
        k = np.searchsorted(edges, np.asarray(minute), side="left")
        return np.where(k >= len(edges), 0, k).astype(np.int16)


@attrs.frozen
class Costs:
    """Slippage (ticks against the trade, on each side) and commission
    ($ per contract per side; by root, else the micro or full-size default)."""

    slippage_ticks: float = 1.0
    commission: dict = attrs.field(factory=dict)  # root -> $ per side; overrides defaults
    micro_commission: float = DEFAULT_COMMISSION["micro"]
    full_commission: float = DEFAULT_COMMISSION["full"]

    def commission_for(self, root: str) -> float:
        if root in self.commission:
            return float(self.commission[root])
        micro = contracts.CONTRACTS.get(root) and contracts.spec(root).micro_of
        return self.micro_commission if micro else self.full_commission


# -- forward returns --------------------------------------------------------------------


def horizon_end(bars, market) -> np.ndarray:
    """Per bar: the last stamp a return may reach, ns UTC: the session's RTH
    close for a bar closing at or before it, else the Globex close."""
    rth = market.rth_close[bars.session]
    return np.where(bars.ts_close <= rth, rth, market.session_close[bars.session])


def forward_index(bars, market, horizons=HORIZONS) -> np.ndarray:
    """(bars, horizons) int64: index of the last bar closing at or before the
    bar's close + the horizon, -1 when that lies past :func:`horizon_end` or
    is the bar itself (a horizon shorter than the bar, or a gap in the data:
    no return, rather than a return of 0). ``"close"``: the last bar at or
    before the horizon end."""
    end = horizon_end(bars, market)
    own = np.arange(len(bars))
    out = np.full((len(bars), len(horizons)), -1, np.int64)
    for j, h in enumerate(horizons):
        t = end if h == "close" else bars.ts_close + int(h) * MINUTE_NS
        idx = bars.index_at(t)
        out[:, j] = np.where((t <= end) & (idx > own), idx, -1)
    return out


def forward_returns(bars, index: np.ndarray) -> tuple:
    """Unsigned returns from each bar's close to the bar of ``index``:
    ``(points, pct, atr_units)``, each (bars, horizons), NaN where invalid."""
    valid = index >= 0
    later = np.where(valid, bars.close[np.maximum(index, 0)], np.nan)
    points = later - bars.close[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # internals read 0
        pct = points / bars.close[:, None] * 100.0
        atr = points / np.where(bars.atr > 0, bars.atr, np.nan)[:, None]
    return points, pct, atr


@attrs.frozen(eq=False)
class MarketReturns:
    """Every bar's forward returns, per instrument (computed once)."""

    horizons: tuple
    index: dict  # symbol -> (bars, H) int64
    points: dict
    pct: dict
    atr: dict


def market_returns(market, horizons=HORIZONS) -> MarketReturns:
    index, points, pct, atr = {}, {}, {}, {}
    for symbol, bars in market.bars.items():
        index[symbol] = forward_index(bars, market, horizons)
        points[symbol], pct[symbol], atr[symbol] = forward_returns(bars, index[symbol])
    return MarketReturns(tuple(horizons), index, points, pct, atr)


# -- the signals as arrays ------------------------------------------------------------


@attrs.frozen(eq=False)
class SignalTable:
    """The scored signals (context and setup kinds whose instrument has a bar
    at or before their close), one entry per signal in every array.

    ``bar`` indexes the instrument's :class:`InstrumentBars`; ``side`` is +1
    long, -1 short, 0 flat; ``points``/``pct``/``atr`` are (n, H) and signed
    by the side (a flat signal's are the instrument's unsigned returns).
    """

    signals: tuple
    instrument: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    bar: np.ndarray
    session: np.ndarray
    bucket: np.ndarray
    regime: np.ndarray
    price: np.ndarray  # the close of the signal's bar
    points: np.ndarray
    pct: np.ndarray
    atr: np.ndarray

    def __len__(self) -> int:
        return len(self.signals)


def scored_kinds(signal) -> bool:
    return signal.kind in ("context", "setup")


def signal_table(signals, market, returns: MarketReturns, buckets: Buckets) -> SignalTable:
    """Place the context and setup signals on their bars (exits and halts are
    not scored on their own: exits close trades, :func:`trade_table`)."""
    kept, bar = [], []
    for s in signals:
        if not scored_kinds(s) or s.instrument not in market.bars:
            continue
        i = int(market.bars[s.instrument].index_at(s.ts_close))
        if i >= 0:
            kept.append(s)
            bar.append(i)
    n, h = len(kept), len(returns.horizons)
    bar = np.array(bar, np.int64)
    instrument = np.array([s.instrument for s in kept], dtype=object)
    side = np.array([SIDE_SIGN[s.side] for s in kept], np.int8)
    session = np.zeros(n, np.int32)
    bucket = np.zeros(n, np.int16)
    price = np.zeros(n)
    points, pct, atr = (np.full((n, h), np.nan) for _ in range(3))
    for symbol in market.bars:
        rows = np.flatnonzero(instrument == symbol)
        if not len(rows):
            continue
        bars, i = market.bars[symbol], bar[rows]
        session[rows] = bars.session[i]
        bucket[rows] = buckets.of(bars.minute[i])
        price[rows] = bars.close[i]
        sign = np.where(side[rows] == 0, 1, side[rows])[:, None]
        points[rows] = returns.points[symbol][i] * sign
        pct[rows] = returns.pct[symbol][i] * sign
        atr[rows] = returns.atr[symbol][i] * sign
    return SignalTable(
        signals=tuple(kept),
        instrument=instrument,
        name=np.array([s.name for s in kept], dtype=object),
        kind=np.array([s.kind for s in kept], dtype=object),
        side=side,
        bar=bar,
        session=session,
        bucket=bucket,
        regime=np.array([s.regime for s in kept], dtype=object),
        price=price,
        points=points,
        pct=pct,
        atr=atr,
    )


# -- trades ------------------------------------------------------------------------


def _windows(bars, start: np.ndarray, stop: np.ndarray):
    """Bars ``start+1 .. stop`` of each row as (rows, L) index arrays and a mask."""
    length = np.maximum(stop - start, 0)
    width = int(length.max()) if len(length) else 0
    offsets = np.arange(1, width + 1)
    idx = start[:, None] + offsets[None, :]
    mask = offsets[None, :] <= length[:, None]
    return np.where(mask, idx, 0), mask


def _first(hit: np.ndarray) -> np.ndarray:
    """Column of each row's first True, or the width when there is none."""
    any_ = hit.any(axis=1)
    return np.where(any_, np.argmax(hit, axis=1), hit.shape[1])


def simulate_brackets(bars, entry_idx, end_idx, side, entry, stop, target) -> tuple:
    """Follow trades bar by bar after the entry bar to the first that holds:
    ``stop`` (low/high reaches it; filled at the stop, or at the bar's open
    when it opened beyond), ``target`` (high/low reaches it; filled at the
    target; a bar reaching both is a stop), else ``session_end`` at the close
    of bar ``end_idx``. ``target`` may be NaN (none).

    Returns ``(exit_idx, exit_price, rule)``, rule an index into
    :data:`EXIT_RULES`. Rows are handled in chunks of at most
    :data:`MAX_CELLS` gathered bars."""
    n = len(entry_idx)
    exit_idx = np.asarray(end_idx, np.int64).copy()
    exit_price = bars.close[np.maximum(exit_idx, 0)].astype(np.float64)
    rule = np.full(n, 2, np.int8)
    if not n:
        return exit_idx, exit_price, rule
    width = max(int((np.asarray(end_idx) - np.asarray(entry_idx)).max()), 1)
    step = max(MAX_CELLS // width, 1)
    for lo in range(0, n, step):
        sl = slice(lo, min(lo + step, n))
        idx, mask = _windows(bars, entry_idx[sl], end_idx[sl])
        if not idx.shape[1]:
            continue
        sd = side[sl][:, None]
        st, tg = stop[sl][:, None], target[sl][:, None]
        high, low, opn = bars.high[idx], bars.low[idx], bars.open[idx]
        adverse = np.where(sd > 0, low, -high)  # in the trade's direction
        favour = np.where(sd > 0, high, -low)
        stop_hit = mask & (adverse <= st * sd)
        target_hit = mask & (favour >= tg * sd)  # NaN target: never
        ks, kt = _first(stop_hit), _first(target_hit)
        rows = np.arange(idx.shape[0])
        by_stop = (ks <= kt) & (ks < idx.shape[1])
        by_target = (kt < ks) & (kt < idx.shape[1])
        k = np.minimum(np.where(by_stop, ks, kt), idx.shape[1] - 1)
        at = idx[rows, k]
        gap_open = opn[rows, k]
        beyond = (gap_open - stop[sl]) * side[sl] < 0  # opened past the stop
        stop_fill = np.where(beyond, gap_open, stop[sl])
        exit_idx[sl] = np.where(by_stop | by_target, at, exit_idx[sl])
        exit_price[sl] = np.where(
            by_stop, stop_fill, np.where(by_target, target[sl], exit_price[sl])
        )
        rule[sl] = np.where(by_stop, 0, np.where(by_target, 1, 2))
    return exit_idx, exit_price, rule


def excursions(bars, entry_idx, exit_idx, side, entry) -> tuple:
    """Maximum favourable and adverse excursion in points (both >= 0) over
    the bars after the entry bar up to and including the exit bar."""
    n = len(entry_idx)
    mfe, mae = np.zeros(n), np.zeros(n)
    if not n:
        return mfe, mae
    width = max(int((exit_idx - entry_idx).max()), 1)
    step = max(MAX_CELLS // width, 1)
    for lo in range(0, n, step):
        sl = slice(lo, min(lo + step, n))
        idx, mask = _windows(bars, entry_idx[sl], exit_idx[sl])
        if not idx.shape[1]:
            continue
        sd = side[sl][:, None]
        favour = np.where(sd > 0, bars.high[idx], -bars.low[idx]) - entry[sl][:, None] * sd
        adverse = entry[sl][:, None] * sd - np.where(sd > 0, bars.low[idx], -bars.high[idx])
        mfe[sl] = np.maximum(np.where(mask, favour, 0.0).max(axis=1), 0.0)
        mae[sl] = np.maximum(np.where(mask, adverse, 0.0).max(axis=1), 0.0)
    return mfe, mae


def net_result(gross_points, side_ticks, point_value, commission) -> tuple:
    """``(net points, net $ per contract)`` after slippage on both sides
    (``side_ticks`` = slippage ticks x tick, in points) and commission on both
    sides."""
    net = gross_points - 2.0 * side_ticks
    return net, net * point_value - 2.0 * commission


@attrs.frozen(eq=False)
class TradeTable:
    """One trade per trade setup entry (kind ``setup`` with an entry and a
    stop), arrays aligned; ``exit_source`` says whether the exit is the
    engine's own (``engine``) or :func:`simulate_brackets`' (``simulated``:
    entries with 0 contracts, which the desk does not follow)."""

    signals: tuple
    name: np.ndarray
    instrument: np.ndarray
    traded: np.ndarray  # the root traded (a micro when the desk sized in it)
    side: np.ndarray
    session: np.ndarray
    bucket: np.ndarray
    regime: np.ndarray
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry: np.ndarray
    stop: np.ndarray
    target: np.ndarray
    exit_price: np.ndarray
    exit_rule: np.ndarray
    exit_source: np.ndarray
    entry_ts: np.ndarray
    exit_ts: np.ndarray
    gross_points: np.ndarray
    net_points: np.ndarray
    net_usd: np.ndarray
    mfe: np.ndarray
    mae: np.ndarray
    open_at_end: int = 0  # entries the engine left open at the end of the data

    def __len__(self) -> int:
        return len(self.signals)

    @property
    def hold_minutes(self) -> np.ndarray:
        return (self.exit_ts - self.entry_ts) / MINUTE_NS


def _traded_root(signal, market) -> str:
    traded = signal.details.get("traded") if isinstance(signal.details, dict) else None
    return str(traded) if traded else market.roots.get(signal.instrument, signal.instrument)


def point_value_of(root: str, fallback) -> float:
    try:
        value = contracts.spec(root).point_value
    except ValueError:
        value = None
    return float(value if value is not None else (fallback or math.nan))


def cost_arrays(instrument, traded, market, costs: Costs) -> tuple:
    """Per trade: tick (points) of the instrument, $ per point and commission
    per side of the root traded."""
    tick = np.array([market.tick.get(s) or 0.0 for s in instrument], np.float64)
    point_value = np.array(
        [
            point_value_of(t, market.point_value.get(s))
            for s, t in zip(instrument, traded, strict=True)
        ],
        np.float64,
    )
    commission = np.array([costs.commission_for(t) for t in traded], np.float64)
    return tick, point_value, commission


def trade_table(signals, market, returns: MarketReturns, buckets: Buckets, costs: Costs):
    """Every trade setup entry with its exit: the engine's exit signal
    (``details.entry_id``) when there is one, else the bracket simulation to
    the session end; entries with contracts the engine left open at the end
    of the data are left out (counted in ``open_at_end``)."""
    exits = {
        s.details.get("entry_id"): s
        for s in signals
        if s.kind == "exit" and isinstance(s.details, dict)
    }
    close_col = returns.horizons.index("close")
    rows, open_at_end = [], 0
    for s in signals:
        if s.kind != "setup" or s.entry is None or s.stop is None:
            continue
        if s.instrument not in market.bars or s.side not in ("long", "short"):
            continue
        bars = market.bars[s.instrument]
        i = int(bars.index_at(s.ts_close))
        if i < 0:
            continue
        done = exits.get(s.id)
        if done is None and s.contracts > 0:
            open_at_end += 1
            continue
        rows.append((s, i, done))
    n = len(rows)
    sig = tuple(r[0] for r in rows)
    side = np.array([SIDE_SIGN[s.side] for s in sig], np.int8)
    entry = np.array([s.entry for s in sig], np.float64)
    stop = np.array([s.stop for s in sig], np.float64)
    target = np.array([np.nan if s.target is None else s.target for s in sig], np.float64)
    entry_bar = np.array([r[1] for r in rows], np.int64)
    exit_bar = np.zeros(n, np.int64)
    exit_price = np.zeros(n)
    exit_rule = np.empty(n, dtype=object)
    source = np.empty(n, dtype=object)
    instrument = np.array([s.instrument for s in sig], dtype=object)
    mfe, mae = np.zeros(n), np.zeros(n)
    session, bucket = np.zeros(n, np.int32), np.zeros(n, np.int16)
    entry_ts, exit_ts = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for symbol, bars in market.bars.items():
        at = np.flatnonzero(instrument == symbol)
        if not len(at):
            continue
        engine = np.array([rows[k][2] is not None for k in at])
        for k, ok in zip(at, engine, strict=True):
            if ok:
                done = rows[k][2]
                exit_bar[k] = int(bars.index_at(done.ts_close))
                exit_price[k] = float(done.details.get("exit_price", bars.close[exit_bar[k]]))
                exit_rule[k] = str(done.details.get("exit", "exit"))
                source[k] = "engine"
        sim = at[~engine]
        if len(sim):
            end = returns.index[symbol][entry_bar[sim], close_col]
            end = np.where(end >= 0, end, entry_bar[sim])
            xb, xp, rule = simulate_brackets(
                bars, entry_bar[sim], end, side[sim], entry[sim], stop[sim], target[sim]
            )
            exit_bar[sim], exit_price[sim] = xb, xp
            exit_rule[sim] = np.array(EXIT_RULES, dtype=object)[rule]
            source[sim] = "simulated"
        mfe[at], mae[at] = excursions(bars, entry_bar[at], exit_bar[at], side[at], entry[at])
        session[at] = bars.session[entry_bar[at]]
        bucket[at] = buckets.of(bars.minute[entry_bar[at]])
        entry_ts[at] = bars.ts_close[entry_bar[at]]
        exit_ts[at] = bars.ts_close[exit_bar[at]]
    traded = np.array([_traded_root(s, market) for s in sig], dtype=object)
    tick, point_value, commission = cost_arrays(instrument, traded, market, costs)
    gross = side * (exit_price - entry)
    net, usd = net_result(gross, costs.slippage_ticks * tick, point_value, commission)
    return TradeTable(
        signals=sig,
        name=np.array([s.name for s in sig], dtype=object),
        instrument=instrument,
        traded=traded,
        side=side,
        session=session,
        bucket=bucket,
        regime=np.array([s.regime for s in sig], dtype=object),
        entry_bar=entry_bar,
        exit_bar=exit_bar,
        entry=entry,
        stop=stop,
        target=target,
        exit_price=exit_price,
        exit_rule=exit_rule,
        exit_source=source,
        entry_ts=entry_ts,
        exit_ts=exit_ts,
        gross_points=gross,
        net_points=net,
        net_usd=usd,
        mfe=mfe,
        mae=mae,
        open_at_end=open_at_end,
    )
