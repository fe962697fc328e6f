"""Setup ``strength_rider`` on real micros: an independent pandas computation of
its rules (docs/trades.md) from the recorded bars finds the same entries,
stops, targets, contracts and exits as the engine.

The replay runs configs/replay-micros.yaml (MES, MNQ, M2K standing in for ES,
NQ, RTY; no $TICK or $ADD, so the $TICK gate passes and only rs and volume
can confirm) over half a year with the record output. pandas reads bars.csv
(the measures in it are checked against the raw files by the analytics tests)
and works the rider's conditions, sizing and exits out on its own.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_ratios import halts
from test_rs_replay import CONFIG, data_dir, need_data

from rsengine.config import load_config
from rsengine.host.runner import build_engine

pytestmark = pytest.mark.realdata
FIRST, LAST = "2024-01-02", "2024-06-28"
GROUP = ["MES", "MNQ", "M2K"]  # in group order (ES, NQ, RTY)
TICK = {"MES": 0.25, "MNQ": 0.25, "M2K": 0.1}
POINT_VALUE = {"MES": 5.0, "MNQ": 2.0, "M2K": 5.0}
ET = "America/New_York"


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    need_data()
    out = tmp_path_factory.mktemp("rider")
    overrides = [
        f"sources.csv.start={FIRST}",
        f"sources.csv.end={LAST}",
        f"outputs.record.dir={out}",
        "outputs.record.format=csv",
        "setups={strength_rider: {}}",
    ]
    config = load_config(CONFIG, overrides=overrides, env={"RSENGINE_DATA_DIR": str(data_dir())})
    build_engine(config).run()
    bars = pd.read_csv(out / "bars.csv", low_memory=False)
    signals = [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]
    return bars, signals


def prepare(bars: pd.DataFrame) -> pd.DataFrame:
    b = bars.copy()
    b["t"] = pd.to_datetime(b["ts_close"], utc=True).dt.as_unit("ns").dt.tz_convert(ET)
    last = b["t"] - pd.Timedelta(nanoseconds=1)
    b["session"] = last.dt.date.where(last.dt.hour < 18, (last + pd.Timedelta(days=1)).dt.date)
    b["clock"] = b["t"].dt.hour * 60 + b["t"].dt.minute
    b["ns"] = b["t"].astype("int64")
    b["event_window"] = b["event_window"].astype(object).fillna("")
    # the RTH close: 16:00 ET, or where the session's data stop before it (the
    # 13:15 early closes, the 13:00 holiday halts)
    today = b[b["t"].dt.date == b["session"]]
    b["rth_end"] = b["session"].map(today.groupby("session")["clock"].max().clip(upper=16 * 60))
    return b


def true_range_atr(g: pd.DataFrame, bars: int = 14) -> pd.Series:
    prev = g["close"].shift()
    tr = np.maximum(g["high"], prev.fillna(g["high"])) - np.minimum(g["low"], prev.fillna(g["low"]))
    tr = tr.where(prev.notna(), g["high"] - g["low"])
    return tr.rolling(bars).mean()


SIZE = {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}  # confirmations held (rs among them) -> fraction


def expected_entries(
    b: pd.DataFrame, group=GROUP, tick_size=TICK, point_value=POINT_VALUE, micros=None, tick=None
) -> list[dict]:
    """The rider's candidates worked out with pandas, before the desk's limits.

    ``tick``: slice ns -> ($TICK so far in the session, that of the slice
    before; only the first is read), or None without a $TICK feed; ``micros``: root -> (micro, $/pt)
    to size in when the mini rounds to zero."""
    out = []
    slices = b.groupby("session")["ns"].unique()
    for symbol in group:
        g = b[b["symbol"] == symbol].sort_values("ns").copy()
        g["atr14"] = true_range_atr(g)
        # DOMAIN.md §2: a holiday halt's bars belong to the next trade date
        days = sorted(g["session"].unique())
        halted = halts(days[0], days[-1])
        trade, following = {}, None
        for d in reversed(days):
            trade[d] = following if d in halted and following else d
            following = trade[d]
        trade_date = g["session"].map(trade)
        highs = g.groupby(trade_date)["high"].max()
        lows = g.groupby(trade_date)["low"].min()
        for day, s in g.groupby("session"):
            window_slices = [t for t in slices[day] if _in(t, day, 9 * 60 + 30, 10 * 60)]
            w = s[(s["clock"] > 9 * 60 + 30) & (s["clock"] <= 10 * 60)]
            if len(window_slices) == 0 or len(w) != len(window_slices):
                continue
            end_clock = min(15 * 60 + 30, s["rth_end"].iloc[0])
            later = s[(s["clock"] > 10 * 60) & (s["clock"] <= end_clock)]
            later = later[later["clock"] < later["rth_end"]]  # not the bar at the RTH close
            later = later[later["event_window"] != "blocked"]
            for side, sign in (("long", 1), ("short", -1)):
                if not (w["lead"] * sign >= 0.2 - 1e-9).all():
                    continue
                began = w["lead"].iloc[-1]
                reach = later["low"] if sign > 0 else later["high"]
                edge = later["or_high"] if sign > 0 else later["or_low"]
                t_vwap = (reach - later["vwap"]) * sign <= 1e-9
                t_edge = (reach - edge) * sign <= 1e-9
                level = later["vwap"].where(t_vwap, edge)
                held = (later["close"] - level) * sign >= -1e-9
                run = (later["close"] - level) * sign / level * 100
                lead_ok = (later["lead"] - (began - sign * 0.1)) * sign > 1e-9
                ok = (t_vwap | t_edge) & held & (run < 0.5) & lead_ok
                if tick is not None:  # neutral or better, or recovering and not deeply against
                    # recovering: since the instrument's own bar before, not the slice before
                    every = s["ns"].map(lambda t: tick.get(t, (math.nan,) * 2)[0])
                    now, before = every[later.index], every.shift()[later.index]
                    gate = now.isna() | (now * sign >= -400 - 1e-9)
                    gate |= ((now - before) * sign > 0) & (now * sign > -800)
                    ok &= gate
                hit = later[ok]
                if hit.empty:
                    continue
                row = hit.iloc[0]
                entry = row["close"]
                step = tick_size[symbol]
                raw = (row["low"] if sign > 0 else row["high"]) - sign * step
                stop = raw
                if math.isfinite(row["atr14"]) and (entry - raw) * sign > row["atr14"] + 1e-9:
                    stop = entry - sign * math.floor(row["atr14"] / step + 1e-9) * step
                choices = []
                before = [d for d in highs.index if d < day and d not in halted]
                if before:
                    prior = before[-1]
                    choices.append(highs[prior] if sign > 0 else lows[prior])
                rng = row["or_high"] - row["or_low"]
                choices.append(row["or_high"] + rng if sign > 0 else row["or_low"] - rng)
                beyond = [p for p in choices if (p - entry) * sign > 1e-9]
                target = min(beyond, key=lambda p: abs(p - entry)) if beyond else None
                t_now = tick.get(int(row["ns"]), (math.nan,))[0] if tick else math.nan
                held = 1 + bool(row["vol_expanding"]) + bool(t_now * sign > 0)  # rs, volume, tick
                fraction = SIZE[held]
                if t_now * sign <= -800:  # $TICK strongly against: skip
                    fraction = 0.0
                if row["regime"] == "chop":
                    fraction = min(fraction, 0.25)
                if row["afternoon"]:
                    fraction *= 0.5
                points = abs(entry - stop)
                value = point_value[symbol]
                contracts = math.floor(500 * fraction / (points * value) + 1e-9)
                if not contracts and fraction and micros and symbol in micros:
                    contracts = math.floor(500 * fraction / (points * micros[symbol][1]) + 1e-9)
                out.append({
                    "ns": int(row["ns"]), "symbol": symbol, "side": side, "entry": entry,
                    "stop": stop, "target": target, "contracts": contracts,
                    "fraction": fraction, "began": began, "session": day,
                    "col": group.index(symbol), "tick": t_now,
                })  # fmt: skip
    return out


def _in(ns, day, lo, hi) -> bool:
    t = pd.Timestamp(ns, tz="UTC").tz_convert(ET)
    clock = t.hour * 60 + t.minute
    return t.date() == day and lo < clock <= hi


def with_limits(candidates: list[dict], max_trades: int = 3) -> list[dict]:
    """The desk's per-session limit, in time order then group order, long first."""
    taken, per_session = [], {}
    order = sorted(candidates, key=lambda c: (c["ns"], c["col"], c["side"] != "long"))
    for c in order:
        if c["contracts"] and per_session.get(c["session"], 0) >= max_trades:
            continue
        per_session[c["session"]] = per_session.get(c["session"], 0) + bool(c["contracts"])
        taken.append(c)
    return taken


def expected_exit(b: pd.DataFrame, c: dict) -> tuple[int, str, float]:
    s = b[(b["symbol"] == c["symbol"]) & (b["session"] == c["session"]) & (b["ns"] > c["ns"])]
    s = s.sort_values("ns")
    sign = 1 if c["side"] == "long" else -1
    for _, r in s.iterrows():
        if r["clock"] > r["rth_end"] or r["clock"] < 9 * 60 + 30:
            break
        stop_hit = r["low"] <= c["stop"] if sign > 0 else r["high"] >= c["stop"]
        if stop_hit:
            opened_through = (r["open"] - c["stop"]) * sign < 0
            return int(r["ns"]), "stop", r["open"] if opened_through else c["stop"]
        reach = r["high"] if sign > 0 else r["low"]
        if c["target"] is not None and (reach - c["target"]) * sign >= 0:
            opened_beyond = (r["open"] - c["target"]) * sign > 0
            return int(r["ns"]), "target", r["open"] if opened_beyond else c["target"]
        if (r["lead"] - (c["began"] - sign * 0.1)) * sign < -1e-9:
            return int(r["ns"]), "lead_fade", r["close"]
        if r["clock"] == r["rth_end"]:
            return int(r["ns"]), "session_end", r["close"]
    raise AssertionError(f"no exit found for {c}")


def test_rider_entries_match_pandas(replay):
    bars, signals = replay
    b = prepare(bars)
    want = with_limits(expected_entries(b))
    got = [s for s in signals if s["name"] == "strength_rider" and s["kind"] == "setup"]
    assert len(want) >= 20, len(want)  # it fires on real data
    key = lambda s: (s["ns"], s["symbol"], s["side"])  # noqa: E731
    got_rows = sorted(
        ({"ns": s["ts_close"], "symbol": s["instrument"], "side": s["side"], "entry": s["entry"],
          "stop": s["stop"], "target": s["target"], "contracts": s["contracts"],
          "fraction": s["size_fraction"]} for s in got),
        key=key,
    )  # fmt: skip
    want_rows = sorted(
        ({k: c[k] for k in ("ns", "symbol", "side", "entry", "stop", "target", "contracts",
                            "fraction")} for c in want),
        key=key,
    )  # fmt: skip
    assert [key(r) for r in got_rows] == [key(r) for r in want_rows]
    for g, w in zip(got_rows, want_rows, strict=True):
        assert g["entry"] == pytest.approx(w["entry"], abs=1e-9)
        assert g["stop"] == pytest.approx(w["stop"], abs=1e-9), (g, w)
        assert (g["target"] is None) == (w["target"] is None)
        if w["target"] is not None:
            assert g["target"] == pytest.approx(w["target"], abs=1e-9), (g, w)
        assert (g["contracts"], g["fraction"]) == (w["contracts"], pytest.approx(w["fraction"]))


def test_every_rider_entry_has_exactly_the_exit_pandas_finds(replay):
    bars, signals = replay
    b = prepare(bars)
    want = {(c["ns"], c["symbol"], c["side"]): c for c in with_limits(expected_entries(b))}
    entries = {s["id"]: s for s in signals if s["kind"] == "setup" and s["contracts"] > 0}
    exits = [s for s in signals if s["kind"] == "exit"]
    assert sorted(e["details"]["entry_id"] for e in exits) == sorted(entries)
    hows = set()
    for e in exits:
        entry = entries[e["details"]["entry_id"]]
        c = want[(entry["ts_close"], entry["instrument"], entry["side"])]
        ns, how, price = expected_exit(b, c)
        assert (e["ts_close"], e["details"]["exit"]) == (ns, how), (entry, e)
        assert e["details"]["exit_price"] == pytest.approx(price, abs=1e-9)
        hows.add(how)
    assert {"stop", "session_end"} <= hows  # the real data reach more than one rule
