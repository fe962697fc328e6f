"""Source ``basket`` (plugins/rsengine_rs/basket.py): $TICK and $ADD from stock trades.

Hand-made trades check each rule with its own numbers (upticks, zero ticks in
both modes, the session reset, which trade is a prior close). A seeded random
basket over four sessions, with shared stamps, after-hours trades and stocks
that skip a session, is computed a second way with pandas (a pivot of each
stock's last state, forward-filled, summed per stamp) and must give the same
samples, through the class, through the csv reader in chunks that split
stamps, and as bars through a whole run. (The real ``ticks-es`` data are one
instrument, not a basket of stocks, so they cannot test this.)
"""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import et_ns
from rsengine_rs.basket import SERIES, Basket, BasketSource

import rsengine
from rsengine.config import ConfigError, load_config
from rsengine.host.runner import build_engine, plugin_manager_for

ET = "America/New_York"
DAYS = ("2024-03-11", "2024-03-12", "2024-03-13", "2024-03-14")  # Mon-Thu, full sessions


def samples(basket: Basket, rows) -> dict:
    """Feed ``rows`` ((et text, symbol, price), in time order) at once; -> series ->
    list of (et text, value)."""
    ts = [et_ns(t) for t, _, _ in rows]
    got = [basket.feed(ts, [s for _, s, _ in rows], [p for _, _, p in rows]), basket.finish()]
    out = {}
    for name in SERIES:
        stamps = np.concatenate([g[name][0] for g in got])
        values = np.concatenate([g[name][1] for g in got])
        local = pd.to_datetime(stamps, utc=True).tz_convert(ET).strftime("%Y-%m-%d %H:%M:%S")
        out[name] = list(zip(local, values.tolist(), strict=True))
    return out


# ---------------------------------------------------------------- the rules, by hand


def test_uptick_downtick_and_zero_tick_unchanged_by_default():
    got = samples(Basket(), [
        ("2024-03-11 09:30:00", "A", 10.00),   # first trade ever: 0
        ("2024-03-11 09:30:01", "A", 10.01),   # uptick
        ("2024-03-11 09:30:02", "B", 20.00),   # B first: 0 (TICK stays +1)
        ("2024-03-11 09:30:03", "A", 10.01),   # zero-plus tick: 0 by the NYSE rule
        ("2024-03-11 09:30:04", "B", 19.99),   # downtick
    ])  # fmt: skip
    assert got["$TICK"] == [
        ("2024-03-11 09:30:00", 0.0),
        ("2024-03-11 09:30:01", 1.0),
        ("2024-03-11 09:30:03", 0.0),
        ("2024-03-11 09:30:04", -1.0),
    ]
    assert got["$TICK_UNCH"] == [
        ("2024-03-11 09:30:00", 1.0),
        ("2024-03-11 09:30:01", 0.0),
        ("2024-03-11 09:30:02", 1.0),
        ("2024-03-11 09:30:03", 2.0),
        ("2024-03-11 09:30:04", 1.0),
    ]
    assert got["$ADD"] == [] and got["$ADD_UNCH"] == []  # no prior close in the first session


def test_zero_ticks_carry_counts_a_zero_plus_tick_as_an_uptick():
    got = samples(Basket("carry"), [
        ("2024-03-11 09:30:00", "A", 10.00),
        ("2024-03-11 09:30:01", "A", 10.01),   # uptick
        ("2024-03-11 09:30:03", "A", 10.01),   # zero-plus: still +1
        ("2024-03-11 09:30:04", "A", 10.00),   # downtick
        ("2024-03-11 09:30:05", "A", 10.00),   # zero-minus: still -1
    ])  # fmt: skip
    assert got["$TICK"] == [
        ("2024-03-11 09:30:00", 0.0),
        ("2024-03-11 09:30:01", 1.0),
        ("2024-03-11 09:30:04", -1.0),
    ]


def test_trades_of_one_stamp_are_one_update():
    got = samples(Basket(), [
        ("2024-03-11 09:30:00", "A", 10.00),
        ("2024-03-11 09:30:00", "B", 20.00),
        ("2024-03-11 09:30:01", "A", 10.01),   # +1 ...
        ("2024-03-11 09:30:01", "A", 10.00),   # ... then -1 at the same stamp
        ("2024-03-11 09:30:01", "B", 20.01),   # +1: the stamp ends at 0
    ])  # fmt: skip
    assert got["$TICK"] == [("2024-03-11 09:30:00", 0.0)]  # 0 after both stamps
    assert got["$TICK_UNCH"] == [("2024-03-11 09:30:00", 2.0), ("2024-03-11 09:30:01", 0.0)]


def test_a_session_starts_at_zero_and_compares_its_first_trade_with_yesterdays():
    got = samples(Basket(), [
        ("2024-03-11 09:30:00", "A", 10.00),
        ("2024-03-11 10:00:00", "A", 10.05),   # +1 ...
        ("2024-03-11 10:00:00", "B", 30.00),
        ("2024-03-11 15:00:00", "B", 30.10),   # TICK +2
        ("2024-03-12 09:30:00", "A", 10.00),   # today: only A has traded, down from 10.05
    ])  # fmt: skip
    assert got["$TICK"][-2:] == [("2024-03-11 15:00:00", 2.0), ("2024-03-12 09:30:00", -1.0)]
    assert got["$TICK_UNCH"][-1] == ("2024-03-12 09:30:00", 0.0)  # B has not traded today


def test_add_counts_against_the_last_trade_at_or_before_the_rth_close():
    got = samples(Basket(), [
        ("2024-03-11 10:00:00", "A", 10.00),
        ("2024-03-11 15:59:59", "A", 10.50),
        ("2024-03-11 16:00:00", "B", 20.00),   # at the close: B's prior close
        ("2024-03-11 16:00:01", "A", 11.00),   # after the close: not A's prior close
        ("2024-03-11 16:30:00", "C", 5.00),    # C has no prior close: not in $ADD
        ("2024-03-12 09:30:00", "A", 10.75),   # above 10.50
        ("2024-03-12 09:31:00", "C", 4.00),
        ("2024-03-12 09:32:00", "B", 19.00),   # below 20
        ("2024-03-12 09:33:00", "B", 20.00),   # back to unchanged
    ])  # fmt: skip
    assert got["$ADD"] == [
        ("2024-03-12 09:30:00", 1.0),
        ("2024-03-12 09:32:00", 0.0),
        ("2024-03-12 09:33:00", 1.0),
    ]
    assert got["$ADD_UNCH"] == [
        ("2024-03-12 09:30:00", 1.0),  # B unchanged: not traded yet
        ("2024-03-12 09:32:00", 0.0),
        ("2024-03-12 09:33:00", 1.0),
    ]


def test_a_trade_after_18_00_et_belongs_to_the_next_session():
    got = samples(Basket(), [
        ("2024-03-11 12:00:00", "A", 10.00),
        ("2024-03-11 18:00:00", "A", 10.10),   # Tuesday's session: its first stamp
        ("2024-03-12 09:30:00", "A", 10.10),
    ])  # fmt: skip
    assert got["$ADD"] == [("2024-03-11 18:00:00", 1.0)]
    assert got["$TICK"] == [("2024-03-11 12:00:00", 0.0), ("2024-03-11 18:00:00", 1.0),
                            ("2024-03-12 09:30:00", 0.0)]  # fmt: skip


def test_the_universe_setting_keeps_only_its_stocks():
    rows = [("2024-03-11 09:30:00", "A", 10.0), ("2024-03-11 09:30:01", "B", 20.0),
            ("2024-03-11 09:30:02", "B", 20.5), ("2024-03-11 09:30:03", "A", 10.5)]  # fmt: skip
    assert samples(Basket(universe=["A"]), rows)["$TICK"] == [
        ("2024-03-11 09:30:00", 0.0),
        ("2024-03-11 09:30:03", 1.0),
    ]


# ---------------------------------------------------------------- a random basket vs pandas


def random_basket(seed: int = 5, stocks: int = 25) -> pd.DataFrame:
    """Trades of ``stocks`` stocks over DAYS from 04:00 to 19:30 ET: stamps on a
    5-second grid (many shared), prices on a cent grid that often repeat, some trades
    at exactly 16:00:00, one stock that skips the second session, one that
    starts in the third."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in DAYS:
        start = et_ns(f"{day} 04:00")
        n = 3000
        ts = start + rng.integers(0, int(15.5 * 3600) // 5, n) * 5 * 10**9  # ~10% share a stamp
        ts[:15] = et_ns(f"{day} 16:00")
        sym = rng.integers(0, stocks, n)
        frames.append(pd.DataFrame({"ts": ts, "code": sym}))
    df = pd.concat(frames, ignore_index=True)
    day2 = (df.ts >= et_ns(f"{DAYS[0]} 18:00")) & (df.ts < et_ns(f"{DAYS[1]} 18:00"))
    df = df[~((df.code == 3) & day2)]
    df = df[~((df.code == 4) & (df.ts < et_ns(f"{DAYS[1]} 18:00")))]
    df = df.sort_values("ts", kind="stable").reset_index(drop=True)
    steps = rng.choice([-1, 0, 0, 0, 1], len(df)) * 0.01
    df["price"] = 0.0
    for code, rows in df.groupby("code").groups.items():
        df.loc[rows, "price"] = np.round(20.0 + code + np.cumsum(steps[rows]), 2)
    df["symbol"] = "S" + df.code.astype(str).str.zfill(2)
    return df[["symbol", "ts", "price"]]


def expected(df: pd.DataFrame, zero_ticks: str = "unchanged") -> dict:
    """Every series' samples, worked out per stamp from each stock's last state."""
    df = df.copy()
    local = pd.to_datetime(df.ts, utc=True).dt.tz_convert(ET)
    df["session"] = (local + pd.Timedelta(hours=6)).dt.strftime("%Y-%m-%d")  # 18:00 -> next day
    rth_close = {d: et_ns(f"{d} 16:00") for d in df.session.unique()}
    step = np.sign(df.price - df.groupby("symbol").price.shift()).fillna(0.0)
    if zero_ticks == "carry":
        step = step.replace(0.0, np.nan).groupby(df.symbol).ffill().fillna(0.0)
    df["tick"] = step
    closing = df[df.ts <= df.session.map(rth_close)]
    closes = closing.groupby(["session", "symbol"]).price.last().unstack()
    sessions = sorted(df.session.unique())
    prior = closes.reindex(sessions).ffill().shift(1)  # the latest close of an earlier session
    series = {name: [] for name in SERIES}
    for session in sessions:
        day = df[df.session == session]
        ticks = day.pivot_table(index="ts", columns="symbol", values="tick", aggfunc="last").ffill()
        series["$TICK"].append((ticks == 1).sum(axis=1) - (ticks == -1).sum(axis=1))
        series["$TICK_UNCH"].append((ticks == 0).sum(axis=1))
        base = prior.loc[session].dropna()
        if base.empty:
            continue
        last = day.pivot_table(index="ts", columns="symbol", values="price", aggfunc="last")
        last = last.reindex(columns=base.index).ffill().fillna(base)
        sign = np.sign(last - base)
        series["$ADD"].append((sign > 0).sum(axis=1) - (sign < 0).sum(axis=1))
        series["$ADD_UNCH"].append((sign == 0).sum(axis=1))
    out = {}
    for name, parts in series.items():
        keep = []
        previous = math.nan
        for part in parts:
            values = part.astype(float)
            changed = values != values.shift(fill_value=previous)
            changed.iloc[0] = True  # the session's first stamp
            keep.append(values[changed])
            previous = values.iloc[-1]
        whole = pd.concat(keep) if keep else pd.Series(dtype=float)
        out[name] = (whole.index.to_numpy(np.int64), whole.to_numpy())
    return out


def run_basket(df, zero_ticks="unchanged", chunk=None) -> dict:
    basket = Basket(zero_ticks)
    step = chunk or len(df)
    parts = [
        basket.feed(df.ts.to_numpy()[a : a + step], df.symbol.to_numpy()[a : a + step],
                    df.price.to_numpy()[a : a + step])
        for a in range(0, len(df), step)
    ] + [basket.finish()]  # fmt: skip
    return {n: tuple(np.concatenate([p[n][i] for p in parts]) for i in (0, 1)) for n in SERIES}


@pytest.fixture(scope="module")
def basket_df():
    return random_basket()


@pytest.mark.parametrize("zero_ticks", ["unchanged", "carry"])
@pytest.mark.parametrize("chunk", [None, 1, 7, 1000])
def test_random_basket_equals_pandas(basket_df, zero_ticks, chunk):
    want = expected(basket_df, zero_ticks)
    got = run_basket(basket_df, zero_ticks, chunk)
    for name in SERIES:
        np.testing.assert_array_equal(got[name][0], want[name][0], err_msg=name)
        np.testing.assert_array_equal(got[name][1], want[name][1], err_msg=name)
    # the comparison compares something: every series moves, $ADD from the 2nd session
    assert all(len(np.unique(want[n][1])) > 5 for n in SERIES)
    first_add = pd.Timestamp(want["$ADD"][0][0], tz="UTC").tz_convert(ET)
    assert first_add > pd.Timestamp(f"{DAYS[0]} 18:00", tz=ET)


def test_the_modes_differ_on_the_random_basket(basket_df):
    plain, carry = run_basket(basket_df), run_basket(basket_df, "carry")
    assert not np.array_equal(plain["$TICK"][1], carry["$TICK"][1])
    assert np.abs(carry["$TICK"][1]).mean() > np.abs(plain["$TICK"][1]).mean()


# ---------------------------------------------------------------- the source in a run


def write_trades(path, df):
    stamps = pd.to_datetime(df.ts, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    pd.DataFrame({"symbol": df.symbol, "ts": stamps, "price": df.price, "size": 100}).to_csv(
        path, index=False
    )


def basket_config(tmp_path, extra="", instruments=None, indicators="{internals: {}}"):
    """A run of the basket in ``tmp_path/trades.csv``; ``extra``: more settings."""
    instruments = instruments or "{ES: {}, $TICK: {}, $ADD: {}, $ADD_UNCH: {root: $ADD}}"
    settings = ", ".join(s for s in ("files: trades.csv", "chunk_rows: 7", extra) if s)
    path = tmp_path / "run.yaml"
    path.write_text(f"""group: [ES]
instruments: {instruments}
sources:
  basket: {{{settings}}}
indicators: {indicators}
""")
    return path


def test_the_source_delivers_each_series_to_its_instrument_as_in_pandas(tmp_path, basket_df):
    write_trades(tmp_path / "trades.csv", basket_df)
    engine = build_engine(load_config(basket_config(tmp_path)))
    source = engine.sources[0][2]
    assert isinstance(source, BasketSource)
    want = expected(basket_df)
    for symbol, stream in source.streams().items():
        chunks = list(stream)
        got_ts = np.concatenate([c.ts for c in chunks])
        got_v = np.concatenate([c.price for c in chunks])
        np.testing.assert_array_equal(got_ts, want[symbol][0])
        np.testing.assert_array_equal(got_v, want[symbol][1])
        assert all((c.size == 1.0).all() for c in chunks)
    assert sorted(source.streams()) == ["$ADD", "$ADD_UNCH", "$TICK"]


class KeepTick:
    """Each slice's $TICK bar and the internals' values in its column."""

    def __init__(self):
        self.seen = {}

    @rsengine.hookimpl
    def rsengine_slice_closed(self, engine, slice, values):
        i = engine.symbols.index("$TICK")
        if slice.present[i]:
            bar = (slice.high[i], slice.low[i], slice.close[i])
            self.seen[int(slice.ts_close)] = (*bar, values["tick"][i], values["tick_high"][i])


def test_a_run_makes_bars_of_the_samples_and_the_internals_read_them(tmp_path, basket_df):
    write_trades(tmp_path / "trades.csv", basket_df)
    config = load_config(basket_config(tmp_path))
    pm = plugin_manager_for(config)
    keep = KeepTick()
    pm.register(keep)
    build_engine(config, pm).run()
    seen = keep.seen
    ts, v = expected(basket_df)["$TICK"]
    frame = pd.Series(v, index=pd.to_datetime(ts, utc=True))
    # 5-minute bars of the samples in $TICK's hours: the NYSE calendar, 09:30-16:00 ET
    clock = frame.index.tz_convert(ET).strftime("%H:%M:%S")
    frame = frame[(clock >= "09:30:00") & (clock < "16:00:00")]
    bars = frame.resample("5min", closed="left", label="right").agg(["max", "min", "last"])
    bars = bars.dropna()
    assert len(seen) == len(bars) > 300
    for close_ts, (high, low, last) in bars.iterrows():
        got = seen[close_ts.value]
        assert (got[0], got[1], got[2]) == (high, low, last)
        assert got[3] == last and got[4] == high


@pytest.mark.parametrize(
    "settings, key, message",
    [
        ("layout: {kind: trades, columns: {ts: ts, price: price}}", "layout",
         "with a symbol_column"),
        ("zero_ticks: zero", "zero_ticks", "not one of unchanged, carry"),
        ("symbols: IBM", "symbols", "expected a list of stock symbols"),
        ("tick_rule: carry", "tick_rule", "unknown setting"),
    ],
)  # fmt: skip
def test_settings_mistakes_are_refused_at_their_key(tmp_path, settings, key, message):
    (tmp_path / "trades.csv").write_text("symbol,ts,price,size\n")
    with pytest.raises(ConfigError) as err:
        build_engine(load_config(basket_config(tmp_path, settings, indicators="{}")))
    assert f"sources.basket.{key}" in str(err.value) and message in str(err.value)


def test_a_basket_without_an_instrument_to_feed_is_refused(tmp_path):
    (tmp_path / "trades.csv").write_text("symbol,ts,price,size\n")
    config = basket_config(tmp_path, instruments="{ES: {}, TICK: {root: $TICK, feed_symbol: X}}",
                           indicators="{}")  # fmt: skip
    with pytest.raises(ConfigError, match=r"sources.basket: no configured instrument takes"):
        build_engine(load_config(config))


def test_basket_counts_bad_rows_once_for_all_its_series(tmp_path):
    (tmp_path / "trades.csv").write_text(
        "symbol,ts,price,size\nA,2024-03-11T14:00:00Z,10,1\nA,not a time,10,1\n"
        "B,2024-03-11T14:00:01Z,5,1\n"
    )
    config = load_config(basket_config(tmp_path, "on_bad_row: skip", indicators="{}"))
    engine = build_engine(config)
    summary = engine.run()
    assert engine.sources[0][2].bad_rows == 1 and summary.bad_rows == 1
