"""Market internals: indicator ``internals`` (plugins/rsengine_rs/internals.py) and
internals kept out of every price measure.

Constructed slices put each zone level at, just inside and just outside its
threshold, check which reading a slice holds, the $ADD slope, the breadth
divergence and any split of a session into batches. Runs check that RS%,
ATR, VWAP and lead are empty for $TICK and $ADD (they were not) and that the
market view shows a reading and its zone for them, not a change % (it did).
On the simulated market every ES row's internals equal a pandas merge of the
$TICK and $ADD bars; on the real TradingView file (ES with the NYSE $TICK of
May 2023) every $TICK reading's last, high, low and zone equal the raw file's.
"""

import math
import types
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
from conftest import MIN, et_ns
from rsengine_csv.reader import Chunk, CsvFormatError, CsvLayout, read
from rsengine_rs.internals import COLUMNS, DEFAULTS, ZONES, MarketInternals, zone_codes
from rsengine_rs.leadership import group_layout
from test_leadership import make_batch
from test_regime import session

from rsengine.config import Config, ConfigError, load_config
from rsengine.core import FILLED
from rsengine.host.runner import build_engine

NAN = math.nan
ET = "America/New_York"
ROOT = Path(__file__).resolve().parents[3]
SYMBOLS = ("ES", "NQ", "$TICK", "$ADD", "NDX")
ES, NQ, TICK, ADD, NDX = range(5)
DAY, PRIOR = "2024-03-12", "2024-03-11"


def indicator(settings=None, instruments=None, group=("ES", "NQ")):
    instruments = instruments or {s: {} for s in SYMBOLS}
    config = Config.from_dict({"instruments": instruments, "group": list(group)})
    context = types.SimpleNamespace(config=config, symbols=config.symbols)
    return MarketInternals(dict(settings or {}), context)


def feed(ind, clocks, tick=NAN, add=NAN, rs=None, day=DAY, prior=PRIOR, high=None, low=None,
         flags=None, symbols=SYMBOLS):  # fmt: skip
    """One batch of ``day``: ET clocks; $TICK and $ADD closes (NaN = no bar),
    optional highs and lows of $TICK; ``rs``: rs_pct per row (n, k)."""
    ts = [et_ns(f"{day} {c}") for c in clocks]
    n = len(ts)
    close = np.full((n, len(symbols)), NAN)
    close[:, ES] = close[:, NQ] = close[:, NDX] = 100.0
    close[:, TICK], close[:, ADD] = tick, add
    batch = make_batch(ts, close, symbols=symbols)
    if high is not None:
        hi, lo = batch.high.copy(), batch.low.copy()
        hi[:, TICK], lo[:, TICK] = high, low
        batch = attrs.evolve(batch, high=hi, low=lo)
    if flags is not None:
        batch = attrs.evolve(batch, flags=np.asarray(flags, np.uint8))
    return ind.update_batch(batch, state(day, prior, rs))


def state(day=DAY, prior=PRIOR, rs=None):
    values = {} if rs is None else {"rs_pct": np.asarray(rs, float)}
    return types.SimpleNamespace(session=session(day, prior), values=values)


# ---------------------------------------------------------------- zones


TICK_CASES = [
    (-1000.5, "extreme_down"), (-1000.0, "strong_down"), (-999.5, "strong_down"),
    (-800.5, "strong_down"), (-800.0, "down"), (-799.5, "down"),
    (-400.5, "down"), (-400.0, "chop"), (-399.5, "chop"), (0.0, "chop"),
    (399.5, "chop"), (400.0, "chop"), (400.5, "up"),
    (799.5, "up"), (800.0, "up"), (800.5, "strong_up"),
    (999.5, "strong_up"), (1000.0, "strong_up"), (1000.5, "extreme_up"),
]  # fmt: skip
ADD_CASES = [
    (-2000.5, "extreme_down"), (-2000.0, "strong_down"), (-1999.5, "strong_down"),
    (-1000.5, "strong_down"), (-1000.0, "down"), (-999.5, "down"),
    (-500.5, "down"), (-500.0, "chop"), (-499.5, "chop"),
    (499.5, "chop"), (500.0, "chop"), (500.5, "up"),
    (999.5, "up"), (1000.0, "up"), (1000.5, "strong_up"),
    (1999.5, "strong_up"), (2000.0, "strong_up"), (2000.5, "extreme_up"),
]  # fmt: skip


def test_defaults_are_the_rule_books_tick_levels_and_the_setups_slope_bars():
    assert [DEFAULTS[f"tick_{k}"] for k in ("chop", "strong", "extreme")] == [400, 800, 1000]
    assert [DEFAULTS[f"add_{k}"] for k in ("chop", "strong", "extreme")] == [500, 1000, 2000]
    assert DEFAULTS["add_slope_bars"] == 3  # as confirm.py's add_slope_bars


@pytest.mark.parametrize("value, zone", TICK_CASES)
def test_tick_zone_at_just_inside_and_just_outside_each_level(value, zone):
    out = feed(indicator(), ["10:00"], tick=value)
    assert out["tick_zone"][0, TICK] == zone and out["tick"][0, TICK] == value
    assert out["tick_zone"][0, ES] == zone  # the same on the price rows


@pytest.mark.parametrize("value, zone", ADD_CASES)
def test_add_zone_at_just_inside_and_just_outside_each_level(value, zone):
    out = feed(indicator(), ["10:00"], add=value)
    assert out["add_zone"][0, ADD] == zone


def test_every_zone_boundary_in_one_batch_equals_the_cases():
    values = np.array([v for v, _ in TICK_CASES])
    out = feed(indicator(), [f"10:{i:02d}" for i in range(len(values))], tick=values)
    assert list(out["tick_zone"][:, TICK]) == [z for _, z in TICK_CASES]
    assert ZONES[zone_codes(np.array([NAN]), np.array([400.0, 800.0, 1000.0]))][0] == ""


def test_levels_are_settings():
    ind = indicator({"tick_chop": 300, "tick_strong": 600, "tick_extreme": 900})
    out = feed(ind, ["10:00", "10:05", "10:10", "10:15"], tick=[300, 350, -650, 950])
    assert list(out["tick_zone"][:, TICK]) == ["chop", "up", "strong_down", "extreme_up"]
    zero = indicator({"add_chop": 0})
    assert list(feed(zero, ["10:00", "10:05"], add=[0.0, 1.0])["add_zone"][:, ADD]) == [
        "chop",
        "up",
    ]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"tick_strong": 1200}, "tick_strong (1200) must not be above tick_extreme (1000)"),
        ({"add_chop": -1}, "add_chop must be >= 0.0"),
        ({"add_slope_bars": 0}, "add_slope_bars must be a whole number >= 1"),
        ({"tick": "ES"}, "'ES' has root 'ES', not '$TICK'"),
        ({"add": "RTY"}, "'RTY' is not a configured instrument"),
        ({"zones": {}}, "unknown setting(s) ['zones']"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError) as err:
        indicator(settings)
    assert message in str(err.value)


def test_without_tick_or_add_the_indicator_refuses_at_its_yaml_key(tmp_path):
    text = "instruments: {ES: {}, NQ: {}}\ngroup: [ES, NQ]\nsources: {sim: {days: 1}}\n"
    with pytest.raises(ConfigError, match=r"indicators.internals: .*needs \$TICK or \$ADD"):
        build_engine(load_config(text + "indicators:\n  internals: {}\n"))


def test_the_internal_of_another_name_is_found_by_its_root_and_two_need_a_choice():
    ind = indicator(instruments={"ES": {}, "NQ": {}, "TICK": {"root": "$TICK"}})
    assert ind.symbols == ("TICK", None)
    two = {"ES": {}, "NQ": {}, "T1": {"root": "$TICK"}, "T2": {"root": "$TICK"}}
    with pytest.raises(ValueError, match="T1, T2 all have root \\$TICK: say which one with `tick`"):
        indicator(instruments=two)
    assert indicator({"tick": "T2"}, instruments=two).symbols == ("T2", None)
    # $TICK itself wins over an unchanged count that shares its root
    unch = {**{s: {} for s in SYMBOLS}, "$TICK_UNCH": {"root": "$TICK"}}
    assert indicator(instruments=unch).symbols == ("$TICK", "$ADD")


# ---------------------------------------------------------------- layout and holding


def test_values_go_in_the_price_columns_and_each_internals_own():
    ind = indicator(instruments={**{s: {} for s in SYMBOLS}, "$TICK_UNCH": {"root": "$TICK"}})
    symbols = (*SYMBOLS, "$TICK_UNCH")
    ts = [et_ns(f"{DAY} 10:00")]
    close = np.array([[100.0, 100.0, 612.0, -340.0, 100.0, 55.0]])
    out = ind.update_batch(make_batch(ts, close, symbols=symbols), state())
    np.testing.assert_array_equal(out["tick"][0], [612, 612, 612, NAN, 612, NAN])
    np.testing.assert_array_equal(out["add"][0], [-340, -340, NAN, -340, -340, NAN])
    assert list(out["tick_zone"][0]) == ["up", "up", "up", "", "up", ""]
    assert list(out["add_zone"][0]) == ["chop", "chop", "", "chop", "chop", ""]
    assert set(COLUMNS) == set(out)


def test_a_slice_without_a_reading_holds_the_last_one_up_to_the_cash_close_only():
    ind = indicator()
    clocks = ["09:35", "09:40", "09:45", "15:55", "16:00", "16:05", "16:10"]
    tick = [150.0, NAN, NAN, -420.0, NAN, NAN, 900.0]  # a late print still counts
    out = feed(ind, clocks, tick=tick)
    np.testing.assert_array_equal(out["tick"][:, ES], [150, 150, 150, -420, -420, NAN, 900])
    np.testing.assert_array_equal(out["tick_high"][:, ES], [150, NAN, NAN, -420, NAN, NAN, 900])
    assert list(out["tick_zone"][:, ES]) == [
        "chop",
        "chop",
        "chop",
        "down",
        "down",
        "",
        "strong_up",
    ]
    # the next session starts without a reading: nothing from the day before
    nxt = feed(ind, ["09:30", "09:35"], tick=[NAN, 80.0], day="2024-03-13", prior=DAY)
    np.testing.assert_array_equal(nxt["tick"][:, ES], [NAN, 80.0])


def test_the_bar_high_and_low_are_the_internals_spikes():
    out = feed(indicator(), ["10:00", "10:05"], tick=[300.0, -200.0], high=[1100.0, 50.0],
               low=[-150.0, -870.0])  # fmt: skip
    np.testing.assert_array_equal(out["tick_high"][:, ES], [1100.0, 50.0])
    np.testing.assert_array_equal(out["tick_low"][:, TICK], [-150.0, -870.0])
    assert list(out["tick_zone"][:, ES]) == ["chop", "chop"]  # the zone is the close's


def test_a_filled_bar_is_not_a_reading():
    flags = np.zeros((3, len(SYMBOLS)), np.uint8)
    flags[1:, TICK] = FILLED
    out = feed(indicator(), ["15:55", "16:00", "16:05"], tick=[500.0, 500.0, 500.0], flags=flags)
    np.testing.assert_array_equal(out["tick"][:, ES], [500.0, 500.0, NAN])
    np.testing.assert_array_equal(out["tick_high"][:, ES], [500.0, NAN, NAN])


def test_add_slope_is_the_change_over_the_last_three_add_bars_of_the_session():
    ind = indicator()
    add = [100.0, NAN, 300.0, 250.0, NAN, 700.0, 650.0]
    out = feed(ind, ["09:35", "09:40", "09:45", "09:50", "09:55", "10:00", "10:05"], add=add)
    # own bars 100, 300, 250, 700, 650: the slope from the fourth on, held in between
    np.testing.assert_array_equal(out["add_slope"][:, ES], [NAN, NAN, NAN, NAN, NAN, 600.0, 350.0])
    np.testing.assert_array_equal(out["add_slope"][:, ADD], out["add_slope"][:, ES])
    assert np.isnan(out["add_slope"][:, TICK]).all()
    more = feed(ind, ["10:10", "10:15"], add=[NAN, 400.0])  # across batches
    np.testing.assert_array_equal(more["add_slope"][:, ES], [350.0, 150.0])
    assert np.isnan(feed(ind, ["09:35"], add=[1.0], day="2024-03-13", prior=DAY)["add_slope"]).all()
    other = indicator({"add_slope_bars": 1})
    out = feed(other, ["09:35", "09:40", "09:45"], add=[100.0, NAN, 40.0])
    np.testing.assert_array_equal(out["add_slope"][:, ES], [NAN, NAN, -60.0])


def test_any_split_of_a_session_gives_the_same_output():
    rng = np.random.default_rng(3)
    n = 60
    clocks = [f"{9 + (35 + 5 * i) // 60:02d}:{(35 + 5 * i) % 60:02d}" for i in range(n)]
    tick = np.where(rng.random(n) < 0.2, NAN, rng.integers(-1200, 1200, n).astype(float))
    add = np.where(rng.random(n) < 0.2, NAN, rng.integers(-2500, 2500, n).astype(float))
    rs = rng.normal(0, 0.5, (n, len(SYMBOLS)))
    whole = feed(indicator(), clocks, tick=tick, add=add, rs=rs)
    for seed in range(4):
        ind = indicator()
        cut = sorted({0, n, *np.random.default_rng(seed).integers(1, n, 5).tolist()})
        parts = [feed(ind, clocks[a:b], tick=tick[a:b], add=add[a:b], rs=rs[a:b])
                 for a, b in zip(cut, cut[1:], strict=False)]  # fmt: skip
        for name in COLUMNS:
            joined = np.concatenate([p[name] for p in parts])
            if joined.dtype == object:
                assert (joined == whole[name]).all(), name
            else:
                np.testing.assert_array_equal(joined, whole[name], err_msg=name)


# ---------------------------------------------------------------- breadth divergence


@pytest.mark.parametrize(
    "rs_es, rs_nq, add, es, nq",
    [
        (0.3, -0.2, -150.0, "bearish", ""),       # price up on negative breadth
        (-0.3, 0.2, 150.0, "bullish", ""),        # the mirror
        (0.3, 0.4, 150.0, "", ""),                # price and breadth agree
        (-0.3, -0.4, -150.0, "", ""),
        (0.0, 0.2, -1.0, "", "bearish"),          # exactly 0 is no move
        (0.3, -0.2, 0.0, "", ""),                 # $ADD exactly 0 is no breadth either way
        (NAN, 0.2, -10.0, "", "bearish"),         # no RS% yet
        (0.3, 0.2, NAN, "", ""),                  # no $ADD yet
    ],
)  # fmt: skip
def test_breadth_divergence_per_group_member(rs_es, rs_nq, add, es, nq):
    rs = np.full((1, len(SYMBOLS)), 0.5)
    rs[0, ES], rs[0, NQ] = rs_es, rs_nq
    out = feed(indicator(), ["11:00"], add=add, rs=rs)
    assert (out["breadth_div"][0, ES], out["breadth_div"][0, NQ]) == (es, nq)
    assert out["breadth_div"][0, NDX] == "" and out["breadth_div"][0, ADD] == ""  # not members


def test_breadth_divergence_is_empty_without_the_rs_indicator():
    out = feed(indicator(), ["11:00"], add=-300.0)
    assert (out["breadth_div"] == "").all()


# ---------------------------------------------------------------- kept out of price measures


def rth_trades(values_by_day: dict, step_min: int = 5) -> list:
    """One trade every ``step_min`` minutes from 09:30 to 15:59 ET of each day,
    the day's values cycling."""
    rows = []
    for day, values in values_by_day.items():
        for i, minute in enumerate(range(0, 390, step_min)):
            ts = et_ns(f"{day} 09:30") + minute * MIN + 10**9
            rows.append((ts, float(values[i % len(values)]), 1.0))
    return rows


def test_rs_pct_atr_vwap_and_lead_are_empty_for_internals(rsengine_harness):
    days = ("2024-03-11", "2024-03-12", "2024-03-13")
    trades = {
        "ES": rth_trades({d: [5100 + i, 5105 + i, 5098 + i] for i, d in enumerate(days)}),
        "NQ": rth_trades({d: [18000 + 9 * i, 18030, 17990] for i, d in enumerate(days)}),
        "$TICK": rth_trades({d: [300, 650, 120, 980] for d in days}),
        "$ADD": rth_trades({d: [400 + 100 * i, 900, 1500] for i, d in enumerate(days)}),
        "NDX": rth_trades({d: [17900 + i, 17950] for i, d in enumerate(days)}),
    }
    run = rsengine_harness.run(
        {
            "instruments": {s: {} for s in SYMBOLS},
            "group": ["ES", "NQ"],
            "indicators": {"rs": {}, "measures": {"atr_sessions": 1}, "group": {}},
        },
        trades=trades,
    )
    for name in ("rs_pct", "atr", "atr_pct", "vwap", "vwap20", "rsi", "mom", "vol_mean20",
                 "or_high", "rs_norm", "lead", "mom_div"):  # fmt: skip
        for symbol in ("ES", "NDX") if name not in ("lead", "mom_div") else ("ES", "NQ"):
            assert np.isfinite(run.column(name, symbol)).any(), (name, symbol)
        for symbol in ("$TICK", "$ADD"):
            assert np.isnan(run.column(name, symbol)).all(), (name, symbol)
    assert not run.column("vol_expanding", "$TICK").any()
    assert (run.column("rank", "$TICK") == 0).all()


def test_an_internal_is_refused_as_a_group_member():
    with pytest.raises(ConfigError, match=r"group\[1\]: '\$TICK' is an index"):
        Config.from_dict({"instruments": {s: {} for s in SYMBOLS}, "group": ["ES", "$TICK"]})
    with pytest.raises(ConfigError, match=r"group\[1\]: 'NQ' is an index"):  # nor standing in
        Config.from_dict({"instruments": {"ES": {}, "T": {"root": "$ADD", "as": "NQ"}},
                          "group": ["ES", "NQ"]})  # fmt: skip
    config = types.SimpleNamespace(group=("ES", "$ADD"), group_symbols=("ES", "$ADD"))
    with pytest.raises(ValueError, match=r"\$ADD is a market internal"):
        group_layout(types.SimpleNamespace(config=config, symbols=("ES", "$ADD")))


# ---------------------------------------------------------------- the market view


# ---------------------------------------------------------------- the simulated market


@pytest.fixture(scope="module")
def demo_bars(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config = load_config(
        overrides=[
            "sources.sim={seed: 7, days: 4}",
            f"outputs={{record: {{dir: '{out}', format: csv}}}}",
        ]
    )
    build_engine(config).run()
    bars = pd.read_csv(out / "bars.csv", keep_default_na=False, na_values=[""])
    bars["ts"] = pd.to_datetime(bars["ts_close"], utc=True)
    local = bars["ts"].dt.tz_convert(ET) - pd.Timedelta(nanoseconds=1)
    bars["session"] = (local + pd.Timedelta(hours=6)).dt.strftime("%Y-%m-%d")
    return bars


def test_every_es_row_holds_the_internals_of_its_slice_as_pandas_says(demo_bars):
    bars = demo_bars
    es = bars[bars.symbol == "ES"].sort_values("ts")
    for name, symbol in (("tick", "$TICK"), ("add", "$ADD")):
        own = bars[bars.symbol == symbol][["ts", "session", "close", "high"]].sort_values("ts")
        if name == "add":
            own["slope"] = own["close"] - own.groupby("session")["close"].shift(3)
        merged = pd.merge_asof(es[["ts", "session"]], own, on="ts", by="session")
        cash_close = pd.to_datetime(merged["session"]).dt.tz_localize(ET) + pd.Timedelta(hours=16)
        late = merged["ts"] > cash_close.dt.tz_convert("UTC")
        exact = merged["ts"].isin(own["ts"])
        want = merged["close"].where(~late | exact)
        np.testing.assert_array_equal(es[name].to_numpy(), want.to_numpy(), err_msg=name)
        np.testing.assert_array_equal(
            es[f"{name}_high"].to_numpy(), merged["high"].where(exact).to_numpy()
        )
        if name == "add":
            slope = merged["slope"].where(~late | exact).to_numpy()
            np.testing.assert_array_equal(es["add_slope"].to_numpy(), slope)
            assert np.isfinite(slope).sum() > 200
    add = es["add"].to_numpy()
    rs = es["rs_pct"].to_numpy()
    want = np.where((rs > 0) & (add < 0), "bearish", np.where((rs < 0) & (add > 0), "bullish", ""))
    assert list(es["breadth_div"].fillna("")) == list(want)
    tick_rows = bars[bars.symbol == "$TICK"]
    assert tick_rows[["rs_pct", "atr", "vwap", "mom"]].isna().all().all()
    assert tick_rows["tick_zone"].nunique() >= 3


# ---------------------------------------------------------------- real $TICK, May 2023

TRADINGVIEW = "tradingview-es-nysetick-5m-2023-05/ES1_5m_with_NYSE_TICK.csv"


def pandas_zone(x: pd.Series) -> np.ndarray:
    return np.select(
        [x > 1000, x > 800, x > 400, x >= -400, x >= -800, x >= -1000],
        ["extreme_up", "strong_up", "up", "chop", "down", "strong_down"],
        "extreme_down",
    )


@pytest.mark.realdata
def test_real_tick_readings_equal_the_raw_file(shared_data, tmp_path):
    config = load_config(
        ROOT / "configs" / "es-tick-2023-05.yaml",
        overrides=[f"outputs.record.dir={tmp_path}", "outputs.record.format=csv"],
        env={"RSENGINE_DATA_DIR": str(shared_data)},
    )
    build_engine(config).run()
    bars = pd.read_csv(tmp_path / "bars.csv", keep_default_na=False, na_values=[""])
    raw = pd.read_csv(shared_data / TRADINGVIEW)
    tick = raw[["time", "Tick (Open)", "Tick (High", "Tick (Low)", "Tick (Close)"]].dropna()
    tick_open = pd.to_datetime(tick["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    mine = bars[bars.symbol == "$TICK"]
    assert len(tick) == len(mine) == 1144
    assert list(mine["ts_open"]) == list(tick_open)
    np.testing.assert_array_equal(mine["tick"], tick["Tick (Close)"])
    np.testing.assert_array_equal(mine["tick_high"], tick["Tick (High"])
    np.testing.assert_array_equal(mine["tick_low"], tick["Tick (Low)"])
    np.testing.assert_array_equal(mine["open"], tick["Tick (Open)"])
    assert list(mine["tick_zone"]) == list(pandas_zone(tick["Tick (Close)"]))
    assert mine["tick_zone"].nunique() >= 5 and (mine["tick"] < 0).sum() > 400
    # no price measure for $TICK; ES has them
    assert mine[["rs_pct", "atr", "vwap", "vwap20", "rsi", "mom"]].isna().all().all()
    es = bars[bars.symbol == "ES"]
    assert es["rs_pct"].notna().sum() > 3000 and es["atr"].notna().any()
    # ES rows in the cash session carry the $TICK of their slice
    at = es.merge(mine[["ts_close", "close"]], on="ts_close", suffixes=("", "_tick"))
    assert len(at) == 1144
    np.testing.assert_array_equal(at["tick"], at["close_tick"])


# ---------------------------------------------------------------- reading internals from csv


def tick_file(tmp_path, rows) -> Path:
    path = tmp_path / "tick.csv"
    path.write_text("time,open,high,low,close\n" + "".join(f"{r}\n" for r in rows))
    return path


SIGNED = CsvLayout(kind="bars", columns={f: f for f in ("open", "high", "low", "close")} | {
    "ts": "time"}, ts_format="unix_s", stamps="open", signed=True, missing="skip")  # fmt: skip


def test_a_signed_layout_reads_negative_and_zero_readings_and_skips_the_gaps(tmp_path):
    path = tick_file(tmp_path, [
        "1683034200,-120,310,-450,0",
        "1683034500,NaN,NaN,NaN,NaN",     # no reading: a gap
        "1683034800, , , , ",             # empty: a gap too
        "1683035100,5,812,-1324,-1020",
    ])  # fmt: skip
    reader = read(path, SIGNED)
    chunk = Chunk.concat(reader)
    np.testing.assert_array_equal(chunk.close, [0.0, -1020.0])
    np.testing.assert_array_equal(chunk.low, [-450.0, -1324.0])
    stats = reader.stats.files[0]
    assert (stats.rows, stats.delivered, stats.missing, stats.skipped) == (4, 2, 2, 0)
    assert stats.rows == stats.delivered + stats.skipped + stats.filtered + stats.duplicates + (
        stats.missing
    )


def test_without_signed_a_negative_reading_is_a_bad_row_and_a_gap_is_bad_by_default(tmp_path):
    path = tick_file(tmp_path, ["1683034200,-120,310,-450,0", "1683034500,NaN,NaN,NaN,NaN"])
    with pytest.raises(CsvFormatError, match=r"tick.csv:2:2 \(open\): '-120' is not a positive"):
        list(read(path, attrs.evolve(SIGNED, signed=False)))
    with pytest.raises(CsvFormatError, match=r"tick.csv:3:2 \(open\): 'NaN' is not a finite"):
        list(read(path, attrs.evolve(SIGNED, missing="bad")))


def test_a_row_with_only_some_readings_missing_is_still_bad_and_signed_keeps_the_cap(tmp_path):
    path = tick_file(tmp_path, ["1683034200,-120,310,NaN,0", "1683034500,1,2e9,0,1",
                                "1683034800,-2e9,0,-2e9,-1"])  # fmt: skip
    reader = read(path, SIGNED, on_bad_row="skip")
    assert list(reader) == []
    kinds = reader.stats.files[0].by_kind
    assert kinds == {"non_finite": 1, "too_large": 2}


def test_bad_signed_or_missing_settings_are_refused_at_their_yaml_key(tmp_path):
    path = tick_file(tmp_path, ["1683034200,-120,310,-450,0"])
    text = f"""group: [ES]
instruments: {{ES: {{}}, $TICK: {{}}}}
sources:
  csv:
    instruments:
      $TICK:
        files: {path}
        layout: {{preset: tradingview_5m, missing: drop}}
        bar: 5min
"""
    with pytest.raises(ConfigError, match=r"sources.csv.instruments.\$TICK.layout"):
        build_engine(load_config(text))
