"""Indicator ``fair_value`` (plugins/rsengine_rs/fair_value.py).

Constructed slices check the rule book's example, every state boundary (at,
just inside, just outside), the days to expiry across a roll and in expiry
week, and which NDX close a slice uses. On the simulated market the premium
equals the one worked out from the sim's own trades and its own fair-value
function, and follows the premium its ``nq_rich`` and ``nq_cheap`` scenarios
script.
"""

import datetime as dt
import math
import types

import attrs
import numpy as np
import pandas as pd
import pytest
from conftest import MIN, et_ns
from rsengine_rs.fair_value import COLUMNS, DEFAULTS, FairValue
from rsengine_sim import market as sim
from test_leadership import make_batch
from test_regime import session

from rsengine.config import Config, ConfigError
from rsengine.core import FILLED
from rsengine.host.runner import build_engine

NAN = math.nan
SYMBOLS = ("ES", "NQ", "NDX")
NQ, NDX = 1, 2


def indicator(settings=None, instruments=None, group=("ES", "NQ")):
    instruments = instruments or {s: {} for s in SYMBOLS}
    config = Config.from_dict({"instruments": instruments, "group": list(group)})
    context = types.SimpleNamespace(config=config, symbols=config.symbols)
    return FairValue(dict(settings or {}), context)


def feed(ind, day, clocks, nq, ndx, symbols=SYMBOLS, flags=None):
    """One batch of ``day``'s session: ET clocks, NQ and NDX closes (NaN = no bar)."""
    ts = [et_ns(f"{day} {c}") for c in clocks]
    close = np.full((len(ts), len(symbols)), NAN)
    close[:, symbols.index(ind.instrument.symbol)] = nq
    close[:, symbols.index(ind.ndx)] = ndx
    batch = make_batch(ts, close, symbols=symbols)
    if flags is not None:
        batch = attrs.evolve(batch, flags=np.asarray(flags, np.uint8))
    prior = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    return ind.update_batch(batch, types.SimpleNamespace(session=session(day, prior)))


# ---------------------------------------------------------------- the rule book


def test_domain_example_ndx_20000_at_5_and_0_7_percent_for_30_days_is_20070_68():
    ind = indicator({"rate": 0.05, "dividend_yield": 0.007, "expiry": "2025-06-20"})
    assert ind.days_on("2025-05-21") == 30
    out = feed(ind, "2025-05-21", ["10:00"], 20100.0, 20000.0)
    fv = out["nq_fv"][0, NQ]
    assert round(fv, 2) == 20070.68
    assert fv == 20000.0 * (1 + (0.05 - 0.007) * 30 / 365)
    assert out["nq_basis"][0, NQ] == 100.0
    assert out["nq_premium"][0, NQ] == 20100.0 - fv


def test_defaults_are_the_rule_books_and_the_simulators_rates():
    assert DEFAULTS["rate"] == sim.RATE == 0.05
    assert DEFAULTS["dividend_yield"] == sim.DIVIDEND_YIELD == 0.007
    assert DEFAULTS["roll_days"] == sim.ROLL_DAYS == 8
    levels = [DEFAULTS[k] for k in ("cheap_arbitrage", "cheap", "rich", "rich_arbitrage")]
    assert levels == [-10.0, 0.0, 10.0, 20.0]
    # the same example with the defaults and the contract calendar: June 2025 expires
    # on Friday June 20, 30 days after May 21
    ind = indicator()
    assert round(feed(ind, "2025-05-21", ["10:00"], 20100.0, 20000.0)["nq_fv"][0, NQ], 2) == (
        20070.68
    )


# at, just inside and just outside each boundary; fair value = NDX (no carry)
BOUNDARIES = [
    (-10.25, "cheap_arbitrage"),
    (-10.0, "cheap"),
    (-9.75, "cheap"),
    (-0.25, "cheap"),
    (0.0, "fair"),
    (0.25, "fair"),
    (9.75, "fair"),
    (10.0, "fair"),
    (10.25, "rich"),
    (19.75, "rich"),
    (20.0, "rich"),
    (20.25, "rich_arbitrage"),
]


def test_each_state_boundary_at_just_inside_and_just_outside():
    ind = indicator({"rate": 0.03, "dividend_yield": 0.03})
    premiums = [p for p, _ in BOUNDARIES]
    clocks = [f"10:{m:02d}" for m in range(len(premiums))]
    out = feed(ind, "2025-05-21", clocks, 20000.0 + np.array(premiums), 20000.0)
    assert list(out["nq_fv"][:, NQ]) == [20000.0] * len(premiums)
    assert list(out["nq_premium"][:, NQ]) == premiums
    assert list(out["nq_fv_state"][:, NQ]) == [s for _, s in BOUNDARIES]


def test_thresholds_are_settings():
    settings = {"rate": 0.0, "dividend_yield": 0.0}
    settings |= {"cheap_arbitrage": -4, "cheap": -2, "rich": 2, "rich_arbitrage": 4}
    ind = indicator(settings)
    premiums = [-4.25, -4.0, -2.25, -2.0, 2.0, 2.25, 4.0, 4.25]
    out = feed(ind, "2025-05-21", [f"10:{m:02d}" for m in range(8)], 2e4 + np.array(premiums), 2e4)
    assert list(out["nq_fv_state"][:, NQ]) == [
        "cheap_arbitrage", "cheap", "cheap", "fair", "fair", "rich", "rich", "rich_arbitrage",
    ]  # fmt: skip


# ---------------------------------------------------------------- days to expiry


def test_days_roll_to_june_eight_days_before_the_march_expiry():
    ind = indicator()  # roll_days 8, like the simulator
    days = {d: ind.days_on(d) for d in ("2025-03-11", "2025-03-12", "2025-03-13", "2025-03-14")}
    # March 2025 expires Friday 03-21; the roll is Thursday 03-13, to June 20
    assert days == {"2025-03-11": 10, "2025-03-12": 9, "2025-03-13": 99, "2025-03-14": 98}
    # expiry week itself is on June already
    assert [ind.days_on(f"2025-03-{d}") for d in (17, 20, 21)] == [95, 92, 91]
    # the December 2025 roll, into 2026
    assert (ind.days_on("2025-12-10"), ind.days_on("2025-12-11")) == (9, 99)


def test_days_with_roll_days_0_run_to_the_day_before_expiry():
    ind = indicator({"roll_days": 0})
    assert [ind.days_on(f"2025-03-{d}") for d in (13, 17, 20, 21)] == [8, 4, 1, 91]


def test_days_of_a_fixed_contract_reach_0_on_expiry_day_and_then_no_fair_value():
    instruments = {"ES": {}, "NQ": {"contract": "03-25"}, "NDX": {}}
    ind = indicator(instruments=instruments)
    assert [ind.days_on(f"2025-03-{d}") for d in (13, 20, 21, 24)] == [8, 1, 0, -3]
    assert feed(ind, "2025-03-21", ["10:00"], 20010.0, 20000.0)["nq_fv"][0, NQ] == 20000.0
    out = feed(ind, "2025-03-24", ["10:00"], 20010.0, 20000.0)
    assert np.isnan(out["nq_fv"][0, NQ]) and out["nq_fv_state"][0, NQ] == ""
    assert out["nq_basis"][0, NQ] == 10.0


def test_days_follow_the_simulators_own_contract_calendar_all_year():
    ind = indicator()
    day = dt.date(2025, 1, 1)
    while day.year == 2025:
        assert ind.days_on(day) == (sim.contract_expiry(day) - day).days, day
        day += dt.timedelta(days=1)


def test_expiry_setting_replaces_the_calendar():
    ind = indicator({"expiry": dt.date(2025, 4, 30)})
    assert ind.days_on("2025-03-31") == 30


# ---------------------------------------------------------------- which NDX


def test_missing_ndx_uses_the_sessions_last_one_until_the_cash_close_then_nan():
    ind = indicator({"rate": 0.0, "dividend_yield": 0.0})
    clocks = ["08:00", "09:35", "09:40", "09:45", "15:55", "16:00", "16:05", "16:10"]
    ndx = [NAN, 100.0, NAN, 102.0, NAN, NAN, 103.0, NAN]
    out = feed(ind, "2025-05-21", clocks, 112.0, ndx)
    np.testing.assert_array_equal(
        out["nq_fv"][:, NQ], [NAN, 100.0, 100.0, 102.0, 102.0, 102.0, 103.0, NAN]
    )
    states = ["", "rich", "rich", "fair", "fair", "fair", "fair", ""]
    assert list(out["nq_fv_state"][:, NQ]) == states


def test_ndx_is_never_carried_into_the_next_session():
    ind = indicator()
    feed(ind, "2025-05-21", ["15:55", "16:00"], 20100.0, 20000.0)
    out = feed(ind, "2025-05-22", ["09:00", "09:35"], 20100.0, NAN)
    assert np.isnan(out["nq_fv"][:, NQ]).all()
    assert np.isnan(out["nq_premium"][:, NQ]).all()


def test_a_filled_ndx_bar_counts_as_no_bar():
    ind = indicator({"rate": 0.0, "dividend_yield": 0.0})
    flags = np.zeros((3, 3), np.uint8)
    flags[0, NDX] = FILLED  # e.g. the previous session's close repeated at the open
    out = feed(
        ind, "2025-05-21", ["09:35", "09:40", "09:45"], 110.0, [99.0, 100.0, 101.0], flags=flags
    )
    np.testing.assert_array_equal(out["nq_fv"][:, NQ], [NAN, 100.0, 101.0])


def test_any_split_of_a_session_gives_the_same_values():
    clocks = [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in range(0, 60, 5)]
    rng = np.random.default_rng(3)
    nq = 20100.0 + rng.normal(0, 10, len(clocks))
    ndx = np.where(rng.random(len(clocks)) < 0.3, NAN, 20000.0 + rng.normal(0, 5, len(clocks)))
    whole = feed(indicator(), "2025-05-21", clocks, nq, ndx)
    ind = indicator()
    parts = [feed(ind, "2025-05-21", clocks[i : i + 1], nq[i], ndx[i]) for i in range(len(clocks))]
    for name in COLUMNS:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), whole[name])
    assert (whole["nq_fv_state"][:, NQ] != "").sum() > 50


def test_values_are_in_the_nq_column_only_and_a_micro_stands_in():
    instruments = {"ES": {}, "MNQ": {"as": "NQ"}, "NDX": {}}
    ind = indicator(instruments=instruments)
    assert ind.instrument.symbol == "MNQ"
    out = feed(ind, "2025-05-21", ["10:00"], 20100.0, 20000.0, symbols=("ES", "MNQ", "NDX"))
    for name in COLUMNS[:3]:
        assert np.isfinite(out[name][0, 1]) and np.isnan(out[name][0, [0, 2]]).all()
    assert list(out["nq_fv_state"][0]) == ["", "rich_arbitrage", ""]


def test_the_slice_form_equals_the_batch_form():
    ind = indicator()
    batch = make_batch([et_ns("2025-05-21 10:00")], [[NAN, 20100.0, 20000.0]], symbols=SYMBOLS)
    state = types.SimpleNamespace(session=session("2025-05-21", "2025-05-20"))
    one = ind.update(next(iter(batch)), state)
    assert one["nq_fv"][NQ] == indicator().update_batch(batch, state)["nq_fv"][0, NQ]


# ---------------------------------------------------------------- settings


def engine_error(instruments, settings=None):
    config = Config.from_dict(
        {
            "instruments": instruments,
            "group": [next(iter(instruments))],
            "sources": {"sim": {"days": 1}},
            "indicators": {"fair_value": settings or {}},
        }
    )
    with pytest.raises(ConfigError) as info:
        build_engine(config)
    assert info.value.key_path == "indicators.fair_value"
    return str(info.value)


def test_without_ndx_the_indicator_refuses_at_its_key():
    message = engine_error({"NQ": {}})
    assert "indicator 'fair_value' refused its settings: needs the cash index 'NDX'" in message
    message = engine_error({"NQ": {}, "NDX": {}}, {"ndx": "ndx"})
    assert "needs the cash index 'ndx'" in message and "did you mean 'NDX'?" in message


def test_without_nq_the_indicator_refuses_at_its_key():
    message = engine_error({"ES": {}, "NDX": {}})
    assert "needs NQ: configure NQ, or a micro standing in for it (MNQ: {as: NQ})" in message
    assert "needs NQ" in engine_error({"ES": {}, "MNQ": {}, "NDX": {}})  # MNQ without `as`


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"rate": 5}, "rate is a fraction per year"),
        ({"dividend_yield": "0.7%"}, "dividend_yield must be a number"),
        ({"roll_days": -1}, "roll_days must be a whole number"),
        ({"roll_days": 2.5}, "roll_days must be a whole number"),
        ({"expiry": "2025-13-01"}, "expiry must be a date"),
        ({"rich": 25}, r"rich \(25\) must not be above rich_arbitrage \(20\)"),
        ({"cheap": 12}, r"cheap \(12\) must not be above rich \(10\)"),
        ({"ndx": ""}, "ndx must be the symbol"),
        ({"premium": 1}, r"unknown setting\(s\) \['premium'\]"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, match):
    with pytest.raises(ValueError, match=match):
        indicator(settings)


# ---------------------------------------------------------------- the simulated market

SIM = {"seed": 7, "start": "2025-03-11", "scenarios": ["normal", "nq_rich", "nq_cheap"]}


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    """bars.csv of NQ and NDX over 03-11 (normal), 03-12 (nq_rich, March
    contract, 9 days) and 03-13 (nq_cheap, rolled to June, 99 days)."""
    out = tmp_path_factory.mktemp("fair_value")
    config = Config.from_dict(
        {
            "instruments": {"NQ": {}, "NDX": {}},
            "group": ["NQ"],
            "sources": {"sim": SIM},
            "indicators": {"fair_value": {}},
            "outputs": {"record": {"dir": str(out), "format": "csv"}},
        }
    )
    summary = build_engine(config).run()
    assert summary.failed is None
    bars = pd.read_csv(out / "bars.csv")
    market = sim.SimMarket(seed=7, start=dt.date(2025, 3, 11), scenarios=SIM["scenarios"])
    return bars[bars["symbol"] == "NQ"].set_index("ts_close"), market


def iso(ts_ns):
    """ISO UTC stamps as bars.csv writes them ('2025-03-12T14:05:00Z')."""
    return [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in pd.to_datetime(np.asarray(ts_ns), utc=True)]


def last_print_per_bar(trades, open_ns):
    """The last price of each 5-minute bar [ts_open, ts_close) of the session,
    by its ISO ts_close."""
    bar = 5 * MIN
    close = (trades.ts - open_ns) // bar * bar + bar + open_ns
    last = pd.Series(trades.price).groupby(close).last()
    last.index = iso(last.index)
    return last


def test_premium_equals_the_sims_own_construction_across_the_roll(sim_run):
    bars, market = sim_run
    assert [s.days_to_expiry for s in market.sessions()] == [10, 9, 99]
    checked = 0
    for s in market.sessions():
        nq = last_print_per_bar(market.trades(s.index, "NQ"), s.open_ns)
        ndx = last_print_per_bar(market.trades(s.index, "NDX"), s.open_ns)
        fv = sim.fair_value(ndx, s.days_to_expiry)  # the sim's function, its days
        rows = bars.loc[nq.index]
        expected = (nq - fv).reindex(nq.index)  # NaN where NDX has no bar
        np.testing.assert_allclose(rows["nq_premium"], expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(rows["nq_basis"], nq - ndx.reindex(nq.index), atol=1e-9)
        checked += int(expected.notna().sum())
    assert checked == 3 * 78  # every RTH bar of the three sessions, no other


def scripted_premium(market, k):
    """The premium the session's scenario scripts (before the sim's wiggle of at
    most 3 points), at each RTH bar's last NDX print."""
    s = market.sessions()[k]
    length = (s.close_ns - s.open_ns) // sim.NS_PER_SECOND
    script = sim.Script(session_date=s.session_date, open_ns=s.open_ns, length=length, prior=None)
    sim.SCENARIOS[s.scenario](script, np.random.default_rng(0))
    t, v = zip(*script.premium, strict=True)
    ts_close = s.rth_open_ns + 5 * MIN * np.arange(1, 79)
    at = (ts_close - s.open_ns) / sim.NS_PER_SECOND - 1.0
    return pd.Series(np.interp(at, t, v), index=iso(ts_close))


@pytest.mark.parametrize(
    ("k", "state", "level"), [(1, "rich_arbitrage", 30), (2, "cheap_arbitrage", -19.5)]
)
def test_premium_follows_what_the_sim_scripted_on_its_rich_and_cheap_days(sim_run, k, state, level):
    bars, market = sim_run
    scripted = scripted_premium(market, k)
    got = bars.loc[scripted.index, "nq_premium"]
    # the sim's wiggle (3 points) and NQ's last trade against NDX's last print
    assert (got - scripted).abs().max() < 6.0
    plateau = scripted.index[scripted.abs() >= abs(level) - 1.5]
    assert len(plateau) >= 36  # about 10:20 to 13:30 ET
    assert (bars.loc[plateau, "nq_fv_state"] == state).all()
    assert abs(bars.loc[plateau, "nq_premium"].median() - level) < 2.0
