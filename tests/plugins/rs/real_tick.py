"""What the real-$TICK tests of the fade and the catch-up share: the replay of
May 2023 (ES and the NYSE $TICK from the TradingView file, the hourly NQ, RTY
and YM of barchart-hourly, a 60-minute group as in test_rider_real_tick.py),
the prices and $TICK worked out from the raw files with pandas, and the desk's
sizing and limits written out by hand from docs/trades.md.

$TICK is read on one of two hourly grids:

* ``nyse`` (the table's calendar for $TICK, as the rider's test runs): its
  hourly bars start at 09:30 and close at 10:30, 11:30 ... 15:30 and 16:00,
  between the futures' bars, which close on the hour;
* ``cme`` (``instruments.$TICK.calendar: CME Globex Equity``): its bars are
  cut on the futures' grid, 09:30-10:00 closing at 10:00, then on the hour,
  so every futures bar of RTH has a $TICK bar with the same close.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import data_dir
from test_rider_real_tick import GROUP, HOURLY, MICROS, POINT_VALUE, TICK_SIZE, TV
from test_rider_realdata import ET, prepare

from rsengine.config import Config
from rsengine.host.runner import build_engine

HOUR = pd.Timedelta(hours=1)
FRONT = "06-23"  # the front month through May 2023: June (quarterly, third Friday)
BUDGET, MAX_TRADES, LOSS_LIMIT = 500.0, 3, 1500.0  # the risk defaults
SIZE = {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}  # checks held, rs among them -> fraction
RTH_OPEN, LAST_ENTRY = 9 * 60 + 30, 15 * 60 + 30
TICK_COLUMNS = {"ts": "time", "open": "Tick (Open)", "high": "Tick (High",
                "low": "Tick (Low)", "close": "Tick (Close)"}  # fmt: skip


def need_data() -> None:
    if not (data_dir() / TV).exists() or not (data_dir() / "barchart-hourly").is_dir():
        pytest.skip(f"real market data not found in {data_dir()} (set RSENGINE_DATA_DIR)")


def config(out, setups: dict, grid: str = "nyse") -> Config:
    tick_layout = {"preset": "tradingview_5m", "columns": TICK_COLUMNS, "signed": True,
                   "missing": "skip"}  # fmt: skip
    files = {
        "ES": {"files": TV, "layout": "tradingview_5m", "bar": "5min"},
        "$TICK": {"files": TV, "layout": tick_layout, "bar": "5min"},
    }
    for symbol, name in HOURLY.items():
        files[symbol] = {"files": f"barchart-hourly/{name}", "layout": "barchart_hourly",
                         "bar": "60min"}  # fmt: skip
    tick = {"calendar": "CME Globex Equity"} if grid == "cme" else {}
    instruments = {"ES": {}, "MNQ": {"as": "NQ"}, "RTY": {}, "YM": {}, "$TICK": tick}
    tree = {
        "bars": {"primary": "60min"},
        "group": ["ES", "NQ", "RTY", "YM"],
        "instruments": instruments,
        "sources": {"csv": {"start": "2023-05-01", "end": "2023-05-22", "instruments": files}},
        "indicators": {"rs": {}, "measures": {}, "group": {},
                       "regime": {"persistence_bar": "60min"}},
        "setups": setups,
        "outputs": {"record": {"dir": str(out), "format": "csv"}},
    }  # fmt: skip
    return Config.from_dict(tree, base_dir=data_dir())


def replay(out, setups: dict, grid: str = "nyse"):
    """Run the month; (bars.csv prepared with raw prices and $TICK, signals, summary)."""
    need_data()
    summary = build_engine(config(out, setups, grid)).run()
    assert summary.failed is None
    bars = pd.read_csv(out / "bars.csv", low_memory=False)
    signals = [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]
    return market(bars, grid), signals, summary


# -- from the raw files ------------------------------------------------------------------


def raw_hourly_prices() -> pd.DataFrame:
    """Hourly OHLC by close stamp (ns UTC): ES combined from the 5-minute file
    (bars from 18:00 ET, so on the hour), the others as the hourly files give."""
    tv = pd.read_csv(data_dir() / TV)
    start = pd.to_datetime(tv["time"], unit="s", utc=True)
    es = pd.DataFrame({"hour": start.dt.floor("h") + HOUR, "open": tv["open"],
                       "high": tv["high"], "low": tv["low"], "close": tv["close"]})  # fmt: skip
    es = es.groupby("hour").agg(open=("open", "first"), high=("high", "max"),
                                low=("low", "min"), close=("close", "last"))  # fmt: skip
    parts = [es.assign(symbol="ES")]
    for symbol, name in HOURLY.items():
        raw = pd.read_csv(data_dir() / "barchart-hourly" / name)
        hour = pd.to_datetime(raw["Time"], utc=True) + HOUR
        part = raw[["Open", "High", "Low", "Close"]].set_axis(["open", "high", "low", "close"],
                                                             axis=1)  # fmt: skip
        parts.append(part.set_index(hour).rename_axis("hour").assign(symbol=symbol))
    out = pd.concat(parts).reset_index()
    out["ns"] = out["hour"].dt.as_unit("ns").astype("int64")
    return out.drop(columns="hour")


def raw_hourly_tick(grid: str) -> pd.Series:
    """The $TICK close of each hourly bar on ``grid`` (ns UTC of its close):
    the last 5-minute reading inside it."""
    tv = pd.read_csv(data_dir() / TV)
    close = pd.to_datetime(tv["time"], unit="s", utc=True) + pd.Timedelta(minutes=5)
    tick = pd.Series(tv["Tick (Close)"].to_numpy(float), index=close).dropna()
    local = tick.index.tz_convert(ET)
    if grid == "cme":
        edge = local.ceil("h")
    else:  # NYSE hours from 09:30, the last one cut at 16:00
        minutes = local.hour * 60 + local.minute - RTH_OPEN
        to_edge = np.minimum(np.ceil(minutes / 60) * 60, 6 * 60 + 30)
        edge = local.normalize() + pd.to_timedelta(RTH_OPEN + to_edge, unit="min")
    return tick.groupby(edge.tz_convert("UTC").as_unit("ns").asi8).last()


def market(bars: pd.DataFrame, grid: str) -> pd.DataFrame:
    """bars.csv, for the measures (lead, rs_pct, rsi, vwap ...: the analytics
    tests check them against the raw files), once its futures' prices and its
    $TICK bars are seen to equal the raw files'; with, per slice, ``tick``, the
    raw $TICK so far in the session, and ``tick_row_before``, that of the RTH
    slice before (NaN on the session's first RTH slice)."""
    b = prepare(bars)
    futures = b[b["symbol"].isin(GROUP)]
    raw = futures[["symbol", "ns"]].merge(raw_hourly_prices(), on=["symbol", "ns"], how="left")
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(futures[name].to_numpy(float), raw[name].to_numpy(float))
    hourly = raw_hourly_tick(grid)
    recorded = b[b["symbol"] == "$TICK"].sort_values("ns")
    assert list(recorded["ns"]) == list(hourly.index)
    np.testing.assert_array_equal(recorded["close"].to_numpy(float), hourly.to_numpy())
    slices = b.drop_duplicates("ns").sort_values("ns")[["ns", "session", "clock", "rth_end"]]
    slices["tick"] = slices["ns"].map(hourly)
    slices["tick"] = slices.groupby("session")["tick"].ffill()  # never across sessions
    rth = slices[(slices["clock"] > RTH_OPEN) & (slices["clock"] <= slices["rth_end"])]
    slices["tick_row_before"] = rth.groupby("session")["tick"].shift()
    return b.merge(slices[["ns", "tick", "tick_row_before"]], on="ns", how="left")


# -- the stack, the size and the desk (docs/trades.md) -----------------------------------


def held_checks(tick: float, sign: int, volume: bool) -> int:
    """rs (held by every candidate), tick (above 0 for a long), add (no feed:
    never), volume."""
    return 1 + bool(tick * sign > 0) + bool(volume)


def fraction_of(held: int, contradicted: bool, regime: str, afternoon, factor=1.0) -> float:
    if contradicted:
        return 0.0
    fraction = SIZE[held] * factor
    if regime == "chop":
        fraction = min(fraction, 0.25)
    return fraction * (0.5 if afternoon else 1.0)


def contracts_of(symbol: str, fraction: float, points: float) -> tuple[int, str]:
    """floor(budget x fraction / (points x $/pt)); in the micro when the mini
    rounds to zero. Returns (contracts, root traded)."""
    if not fraction or not points > 0:
        return 0, symbol
    n = math.floor(BUDGET * fraction / (points * POINT_VALUE[symbol]) + 1e-9)
    if n or symbol not in MICROS:
        return n, symbol
    micro, value = MICROS[symbol]
    return math.floor(BUDGET * fraction / (points * value) + 1e-9), micro


def on_grid(price: float, symbol: str) -> float:
    step = TICK_SIZE[symbol]
    return round(round(price / step) * step, 10)


def capped_stop(entry: float, raw: float, cap: float, sign: int, symbol: str) -> float:
    """``raw`` moved in to ``cap`` points from the entry, on the tick grid."""
    step = TICK_SIZE[symbol]
    if math.isfinite(cap) and (entry - raw) * sign > cap + 1e-9:
        raw = entry - sign * math.floor(cap / step + 1e-9) * step
    return on_grid(raw, symbol)


def through_the_desk(candidates: list[dict], exit_of) -> list[dict]:
    """Candidates (each with ns, session, col, order and its trade) in the
    desk's order: a row's exits first, then its entries; at most MAX_TRADES
    entries with contracts a session, one open position per instrument. Each
    kept candidate with contracts gets ``exit`` = exit_of(c): (ns, how, price)."""
    kept, count, open_until = [], {}, {}
    losses = {}
    for c in sorted(candidates, key=lambda c: (c["ns"], c["col"], c["order"])):
        if c["contracts"]:
            if open_until.get(c["symbol"], -1) > c["ns"]:
                continue  # a trade holds the instrument
            if count.get(c["session"], 0) >= MAX_TRADES:
                continue
            count[c["session"]] = count.get(c["session"], 0) + 1
            c["exit"] = exit_of(c)
            open_until[c["symbol"]] = c["exit"][0]
            sign = 1 if c["side"] == "long" else -1
            value = dict(MICROS.values()).get(c["traded"], POINT_VALUE.get(c["traded"]))
            pnl = (c["exit"][2] - c["entry"]) * sign * c["contracts"] * value
            losses[c["session"]] = losses.get(c["session"], 0.0) + pnl
        kept.append(c)
    # the daily loss limit is not modelled: no session of these comes near it
    assert all(pnl > -LOSS_LIMIT for pnl in losses.values()), losses
    return kept


def paired(signals: list[dict], expected: list[dict]) -> list[tuple[dict, dict]]:
    """Each entry signal with the pandas candidate of its bar, instrument and side."""
    by_key = {(c["ns"], c["symbol"], c["side"]): c for c in expected}
    return [(s, by_key[(s["ts_close"], s["instrument"], s["side"])])
            for s in signals if s["kind"] == "setup"]  # fmt: skip


def assert_stack_reads(signal: dict, tick: float) -> bool | None:
    """The stack's tick check reads ``tick``, the raw $TICK so far (held with
    the trade, unknown without a reading), and $ADD, absent from the data, is
    unknown, never held. Returns whether tick held (None: unknown)."""
    text = signal["details"]["stack"]["tick"]
    held = None
    if math.isnan(tick):
        assert text == "unknown: no $TICK feed"
    else:
        held = tick * (1 if signal["side"] == "long" else -1) > 0
        word, how = ("with", "held") if held else ("against", "not held")
        assert text == f"{how}: $TICK {tick:+.0f} {word} the trade"
    assert ("tick" in signal["confirmations"]) == bool(held)
    assert signal["details"]["stack"]["add"] == "unknown: no $ADD feed"
    assert "add" not in signal["confirmations"]
    return held


def assert_entries_equal(got: list[dict], want: list[dict]) -> None:
    """Entry by entry: bar, instrument, side, entry, stop, target, fraction,
    contracts, what is traded and the contract's name."""
    key = lambda s: (s["ns"], s["symbol"], s["side"])  # noqa: E731
    rows = [{"ns": s["ts_close"], "symbol": s["instrument"], **s} for s in got]
    assert sorted(map(key, rows)) == sorted(map(key, want))
    by_key = {key(w): w for w in want}
    for s in rows:
        w = by_key[key(s)]
        assert s["entry"] == w["entry"], (s, w)
        assert s["stop"] == pytest.approx(w["stop"], abs=1e-9), (s, w)
        assert (s["target"] is None) == (w["target"] is None), (s, w)
        if w["target"] is not None:
            assert s["target"] == pytest.approx(w["target"], abs=1e-9), (s, w)
        assert s["size_fraction"] == pytest.approx(w["fraction"]), (s, w)
        assert s["contracts"] == w["contracts"], (s, w)
        if w["contracts"]:
            assert s["details"]["traded"] == w["traded"]
            assert s["contract"] == f"{w['traded']} {FRONT}"


def assert_exits_equal(signals: list[dict], want: list[dict]) -> None:
    """Exactly one exit per entry with contracts, at the bar, by the rule and
    at the price pandas finds."""
    entries = {s["id"]: s for s in signals if s["kind"] == "setup" and s["contracts"] > 0}
    exits = [s for s in signals if s["kind"] == "exit"]
    assert sorted(e["details"]["entry_id"] for e in exits) == sorted(entries)
    by_key = {(c["ns"], c["symbol"], c["side"]): c for c in want}
    for e in exits:
        entry = entries[e["details"]["entry_id"]]
        ns, how, price = by_key[(entry["ts_close"], entry["instrument"], entry["side"])]["exit"]
        assert (e["ts_close"], e["details"]["exit"]) == (ns, how), (entry, e)
        assert e["details"]["exit_price"] == pytest.approx(price, abs=1e-9)
    assert not [s for s in signals if s["kind"] == "halt"]
