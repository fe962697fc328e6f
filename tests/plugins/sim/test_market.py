"""The simulated market: determinism, well-formed trades, and every scenario day
showing its defining property when measured from the trades themselves.

Everything scenario-related is recomputed here with numpy from the generated
trades (1-minute bars, settlements, RS%, leads, ATR, fair value); nothing is
read back from numbers the generator kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from rsengine_sim import market as sim
from rsengine_sim.market import DEFAULT_SEQUENCE, FUTURES, MICROS, SCENARIOS, SimMarket

from rsengine.exchange.sessions import load_schedule

ET = ZoneInfo("America/New_York")
NS = 10**9
MIN = 60 * NS
GROUP = ("ES", "NQ", "RTY", "YM")
R, Q = 0.05, 0.007  # DOMAIN section 8


def et_ns(day: dt.date, clock: str) -> int:
    local = dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ET)
    return int(local.timestamp()) * NS + local.microsecond * 1000


def settlement_vwap(trades, day: dt.date) -> float:
    window = (trades.ts >= et_ns(day, "15:59:30")) & (trades.ts < et_ns(day, "16:00"))
    return float(np.sum(trades.price[window] * trades.size[window]) / trades.size[window].sum())


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def days_to_front_expiry(day: dt.date) -> int:
    """Calendar days to the front quarterly expiry, rolled 8 days before it."""
    for year in (day.year, day.year + 1):
        for month in (3, 6, 9, 12):
            expiry = third_friday(year, month)
            if (expiry - day).days > 8:
                return (expiry - day).days
    raise AssertionError("unreachable")


class Bars:
    """1-minute bars of one instrument in one session, stamped at their close."""

    def __init__(self, trades, open_ns: int):
        minute = (trades.ts - open_ns) // MIN
        keys, first = np.unique(minute, return_index=True)
        last = np.r_[first[1:] - 1, len(minute) - 1]
        self.close_ns = open_ns + (keys + 1) * MIN
        self.open = trades.price[first]
        self.close = trades.price[last]
        self.high = np.maximum.reduceat(trades.price, first)
        self.low = np.minimum.reduceat(trades.price, first)
        self.volume = np.add.reduceat(trades.size, first)
        self.pv = np.add.reduceat(trades.price * trades.size, first)

    def last(self, ns: int) -> float:
        """Last trade before ``ns`` (a whole minute)."""
        return float(self.close[np.searchsorted(self.close_ns, ns, side="right") - 1])

    def window(self, t0: int, t1: int) -> np.ndarray:
        return (self.close_ns > t0) & (self.close_ns <= t1)


class Day:
    """One session measured from its trades."""

    def __init__(self, session, trades, prior: dict[str, float]):
        self.session = session
        self.date = session.session_date
        self.scenario = session.scenario
        self.prior = prior
        self.bars = {n: Bars(trades[n], session.open_ns) for n in FUTURES}
        self.settle = {n: settlement_vwap(trades[n], self.date) for n in FUTURES}
        self.first_price = {n: float(trades[n].price[0]) for n in FUTURES}
        self.tick_ts, self.tick = trades["$TICK"].ts, trades["$TICK"].price
        self.add_ts, self.add = trades["$ADD"].ts, trades["$ADD"].price
        # Premium = NQ - FV at each RTH minute close: NQ's last trade and NDX's
        # last print before it.
        nq, ndx = trades["NQ"], trades["NDX"]
        self.ndx_ts, self.ndx = ndx.ts, ndx.price
        minutes = np.arange(session.rth_open_ns + MIN, session.rth_close_ns + 1, MIN)
        nq_last = nq.price[np.searchsorted(nq.ts, minutes) - 1]
        ndx_last = ndx.price[np.searchsorted(ndx.ts, minutes) - 1]
        fv = ndx_last * (1 + (R - Q) * days_to_front_expiry(self.date) / 365)
        self.premium_ts, self.premium = minutes, nq_last - fv
        self.atr: dict[str, float] = {}

    def at(self, clock: str) -> int:
        return et_ns(self.date, clock)

    def rs(self, name: str, clock: str) -> float:
        return (self.bars[name].last(self.at(clock)) / self.prior[name] - 1) * 100

    def lead(self, name: str, clock: str) -> float:
        others = [self.rs(n, clock) for n in GROUP if n != name]
        return self.rs(name, clock) - float(np.mean(others))

    def leader(self, clock: str) -> str:
        return max(GROUP, key=lambda n: self.lead(n, clock))

    def grid(self, t0: str, t1: str, step_min: int = 5) -> list[str]:
        start, end = self.at(t0), self.at(t1)
        out = []
        for ns in range(start, end + 1, step_min * MIN):
            out.append(dt.datetime.fromtimestamp(ns / NS, tz=ET).strftime("%H:%M"))
        return out

    def rs_series(self, name: str, t0: str = "09:35", t1: str = "16:00") -> np.ndarray:
        return np.array([self.rs(name, c) for c in self.grid(t0, t1)])

    def high(self, name: str, t0: str | None = None, t1: str | None = None) -> float:
        b = self.bars[name]
        if t0 is None:
            return float(b.high.max())
        return float(b.high[b.window(self.at(t0), self.at(t1))].max())

    def low(self, name: str, t0: str | None = None, t1: str | None = None) -> float:
        b = self.bars[name]
        if t0 is None:
            return float(b.low.min())
        return float(b.low[b.window(self.at(t0), self.at(t1))].min())

    def volume_per_minute(self, name: str, t0: str, t1: str) -> float:
        b = self.bars[name]
        return (
            float(b.volume[b.window(self.at(t0), self.at(t1))].sum())
            * MIN
            / (self.at(t1) - self.at(t0))
        )

    def tick_mean(self, t0: str, t1: str) -> float:
        return self.tick_mean_ns(self.at(t0), self.at(t1))

    def tick_mean_ns(self, t0: int, t1: int) -> float:
        inside = (self.tick_ts >= t0) & (self.tick_ts < t1)
        return float(self.tick[inside].mean())

    def add_at(self, clock: str) -> float:
        return float(self.add[np.searchsorted(self.add_ts, self.at(clock), side="right") - 1])

    def premium_between(self, t0: str, t1: str) -> np.ndarray:
        inside = (self.premium_ts >= self.at(t0)) & (self.premium_ts <= self.at(t1))
        return self.premium[inside]

    def log_returns_5min(self, name: str) -> np.ndarray:
        closes = np.array([self.bars[name].last(self.at(c)) for c in self.grid("09:30", "16:00")])
        return np.diff(np.log(closes))


class Run:
    def __init__(self, market: SimMarket):
        self.market = market
        self.days: list[Day] = []
        prior = dict(market.opening_reference)
        for session, trades in market:
            day = Day(session, trades, prior)
            self.days.append(day)
            prior = day.settle
        for k, day in enumerate(self.days):  # daily ATR (%), up to 14 prior sessions
            for n in FUTURES:
                ranges = []
                for d in self.days[max(0, k - 14) : k]:
                    hi, lo = max(d.high(n), d.prior[n]), min(d.low(n), d.prior[n])
                    ranges.append((hi - lo) / d.prior[n] * 100)
                day.atr[n] = float(np.mean(ranges)) if ranges else float("nan")

    def of(self, scenario: str) -> list[Day]:
        return [d for d in self.days if d.scenario == scenario]

    def one(self, scenario: str) -> Day:
        (day,) = self.of(scenario)
        return day

    def before(self, day: Day) -> Day:
        return self.days[self.days.index(day) - 1]


@pytest.fixture(scope="module", params=[7, 2024], ids=lambda s: f"seed{s}")
def run(request) -> Run:
    return Run(SimMarket(seed=request.param))


@pytest.fixture(scope="module")
def small() -> SimMarket:
    return SimMarket(seed=7, days=3, micros=True)


def digest(market: SimMarket) -> str:
    h = hashlib.sha256()
    for _, trades in market:
        for name in sorted(trades):
            for arr in trades[name]:
                h.update(name.encode())
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


# --- determinism and labelling ------------------------------------------------


def test_same_seed_and_arguments_give_byte_identical_arrays():
    assert digest(SimMarket(seed=7, days=2)) == digest(SimMarket(seed=7, days=2))


def test_different_seed_gives_different_trades():
    assert digest(SimMarket(seed=7, days=2)) != digest(SimMarket(seed=8, days=2))


def test_adding_micros_leaves_every_other_instrument_unchanged(small):
    plain = SimMarket(seed=7, days=3)
    for k in range(3):
        with_micros, without = small.session_trades(k), plain.session_trades(k)
        assert set(with_micros) - set(without) == set(MICROS)
        for name, trades in without.items():
            for a, b in zip(trades, with_micros[name], strict=True):
                assert a.tobytes() == b.tobytes(), name


def test_module_and_market_are_labelled_simulated():
    assert sim.SIMULATED is True and sim.source_label == "SIMULATED"
    assert SimMarket.SIMULATED is True and SimMarket.source_label == "SIMULATED"
    assert "SIMULATED" in sim.__doc__


# --- well-formed trades ---------------------------------------------------------


def test_trade_stamps_are_sorted_and_inside_their_calendar_session(small):
    sessions = small.sessions()
    sched = load_schedule(sessions[0].session_date, sessions[-1].session_date)
    for k, (session, trades) in enumerate(small):
        assert str(sched.session_date[k]) == str(session.session_date)
        for name, t in trades.items():
            assert t.ts.dtype == np.int64 and t.price.dtype == t.size.dtype == np.float64
            assert np.all(np.diff(t.ts) >= 0), name
            assert np.all(sched.session_index(t.ts) == k), name


def test_futures_prices_sit_on_the_tick_grid_and_sizes_are_positive(small):
    for _, trades in small:
        for name, spec in {**FUTURES, **MICROS}.items():
            t = trades[name]
            steps = t.price / spec.tick
            assert np.allclose(steps, np.round(steps), rtol=0, atol=1e-6), name
            assert np.all(t.size > 0) and np.all(t.size == np.round(t.size)), name


def test_price_levels_are_realistic(small):
    levels = {"ES": 5800, "NQ": 20500, "RTY": 2100, "YM": 43000, "ZN": 110.5}
    trades = small.session_trades(0)
    for name, level in levels.items():
        assert abs(np.median(trades[name].price) / level - 1) < 0.05, name


def test_micros_trade_on_the_price_path_of_their_big_contract(small):
    trades = small.session_trades(1)
    for micro, spec in MICROS.items():
        big, little = trades[spec.parent], trades[micro]
        i = np.searchsorted(big.ts, little.ts) - 1
        ok = i >= 0
        gap = np.abs(little.price[ok] - big.price[i[ok]]) / big.price[i[ok]] * 100
        assert np.median(gap) < 0.01, micro


def test_index_prints_come_once_per_second_in_rth_only(small):
    for session, trades in small:
        expect = np.arange(session.rth_open_ns, session.rth_close_ns, NS, dtype=np.int64)
        assert session.rth_open_ns == et_ns(session.session_date, "09:30")
        assert session.rth_close_ns == et_ns(session.session_date, "16:00")
        for name in ("$TICK", "$ADD", "NDX"):
            assert np.array_equal(trades[name].ts, expect), name
            assert np.all(trades[name].size == 0.0), name


def test_tick_and_add_print_whole_numbers_in_their_usual_ranges(run):
    for day in run.days:
        assert np.all(day.tick == np.round(day.tick)) and np.all(day.add == np.round(day.add))
        assert np.abs(day.add).max() <= 2600
        assert np.abs(day.tick).max() <= 1800


def test_rth_is_four_to_six_times_as_busy_as_overnight_on_normal_days(run):
    for day in run.of("normal"):
        for name in FUTURES:
            b = day.bars[name]
            rth = b.window(day.at("09:30"), day.at("16:00"))
            assert rth.sum() == 390, name  # every RTH minute trades
        es = run.market.trades(day.session.index, "ES")
        rth = (es.ts >= day.at("09:30")) & (es.ts < day.at("16:00"))
        night_minutes = (day.session.close_ns - day.session.open_ns) / MIN - 390
        assert 4 <= (rth.sum() / 390) / ((~rth).sum() / night_minutes) <= 6


def test_a_normal_run_of_ten_sessions_stays_under_five_million_trades():
    market = SimMarket(seed=7, days=10, scenarios=["normal"] * 10)
    assert sum(len(t.ts) for _, trades in market for t in trades.values()) < 5_000_000


# --- settlements, gaps, sessions, events --------------------------------------------


def test_settlements_are_the_vwap_of_trades_from_1559_30_to_1600(run):
    published = run.market.settlements()
    for day in run.days:
        for name in FUTURES:
            assert published[day.date][name] == pytest.approx(day.settle[name], rel=1e-12)


def test_each_session_opens_away_from_the_prior_settlement(run):
    for day in run.days:
        for name in GROUP:
            assert day.first_price[name] != day.prior[name], (day.date, name)
        moved = [abs(day.first_price[n] / day.prior[n] - 1) * 100 for n in GROUP]
        assert max(moved) > 0.02, day.date


def test_default_run_lists_every_scenario_in_its_fixed_order(run):
    sessions = run.market.sessions()
    assert tuple(s.scenario for s in sessions) == DEFAULT_SEQUENCE
    assert set(DEFAULT_SEQUENCE) == set(SCENARIOS)
    assert [s.session_date for s in sessions] == sorted({s.session_date for s in sessions})
    assert sessions[0].session_date == dt.date(2025, 3, 3)


def test_default_sequence_has_three_risk_off_sessions_in_a_row():
    text = ",".join(DEFAULT_SEQUENCE)
    assert "risk_off,risk_off,risk_off" in text


def test_days_cuts_or_repeats_the_default_sequence():
    assert [s.scenario for s in SimMarket(days=3).sessions()] == list(DEFAULT_SEQUENCE[:3])
    long = SimMarket(days=len(DEFAULT_SEQUENCE) + 2).sessions()
    assert [s.scenario for s in long[-2:]] == list(DEFAULT_SEQUENCE[:2])


def test_unknown_scenario_is_rejected_with_the_closest_name():
    with pytest.raises(ValueError, match="did you mean 'risk_off'"):
        SimMarket(scenarios=["risk_of"])


def test_holiday_and_early_close_sessions_are_skipped():
    market = SimMarket(start=dt.date(2024, 12, 23), scenarios=["normal"] * 4)
    dates = [s.session_date for s in market.sessions()]
    assert dt.date(2024, 12, 24) in market.skipped and dt.date(2024, 12, 25) not in dates
    assert dates == [dt.date(2024, 12, d) for d in (23, 26, 27, 30)]


def test_events_are_the_releases_of_the_event_day_at_0830_and_1400(run):
    day = run.one("event_spike")
    events = run.market.events()
    assert {e.ts_ns for e in events} == {day.at("08:30"), day.at("14:00")}
    assert all(e.session_date == day.date and e.importance == "high" for e in events)


# --- normal days -------------------------------------------------------------------


def test_normal_days_keep_nq_and_es_rs_within_0_3_of_each_other(run):
    for day in run.of("normal"):
        gap = day.rs_series("NQ", "09:15") - day.rs_series("ES", "09:15")
        assert np.abs(gap).max() < 0.3, day.date


def test_normal_day_nq_es_move_ratio_stays_in_1_3_to_1_8(run):
    for day in run.of("normal"):
        es, nq = day.rs_series("ES"), day.rs_series("NQ")
        measured = np.abs(es) >= 0.2
        assert measured.sum() >= 10, day.date
        ratio = nq[measured] / es[measured]
        assert ratio.min() >= 1.3 and ratio.max() <= 1.8, day.date


def test_normal_days_cross_no_scenario_threshold(run):
    for day in run.of("normal"):
        assert abs(day.rs("RTY", "16:00") - day.rs("ES", "16:00")) < 0.2
        assert abs(day.rs("ZN", "16:00")) < 0.25
        assert abs(day.rs("ES", "16:00")) < 0.6
        leaders = [day.leader(c) for c in day.grid("09:35", "10:00")]
        assert sum(a != b for a, b in pairwise(leaders)) < 2
        assert np.abs(day.premium_between("09:30", "16:00")).max() < 10


def test_es_nq_correlation_is_above_0_85_on_normal_days(run):
    for day in run.of("normal"):
        assert np.corrcoef(day.log_returns_5min("ES"), day.log_returns_5min("NQ"))[0, 1] > 0.85


def test_es_nq_correlation_drops_below_0_85_on_a_divergent_scenario_day(run):
    corr = {
        day.scenario: np.corrcoef(day.log_returns_5min("ES"), day.log_returns_5min("NQ"))[0, 1]
        for day in run.days
        if day.scenario != "normal"
    }
    assert min(corr.values()) < 0.85
    assert corr["tech_selloff"] < 0.85


def test_five_session_es_nq_correlation_falls_below_0_85_around_the_tech_selloff(run):
    """Rolling over five sessions of RTH 5-minute log returns, as DOMAIN section 3."""

    def pooled(days: list[Day]) -> float:
        es = np.concatenate([d.log_returns_5min("ES") for d in days])
        nq = np.concatenate([d.log_returns_5min("NQ") for d in days])
        return float(np.corrcoef(es, nq)[0, 1])

    k = run.days.index(run.one("tech_selloff"))
    assert pooled(run.days[k - 4 : k + 1]) < 0.85
    assert pooled(run.days[:2]) > 0.85


# --- internals and NDX ------------------------------------------------------------


def test_tick_follows_the_minute_by_minute_equity_move(run):
    for day in run.of("normal"):
        b = day.bars["ES"]
        grid = np.array([day.at(c) for c in day.grid("09:31", "16:00", 1)])
        closes = np.array([b.last(ns) for ns in grid])
        moves = np.diff(closes)
        means = [day.tick_mean_ns(a, z) for a, z in pairwise(grid)]
        assert np.corrcoef(moves, means)[0, 1] > 0.25


def test_tick_stays_mostly_within_600_on_normal_days(run):
    for day in run.of("normal"):
        assert np.mean(np.abs(day.tick) <= 600) >= 0.9


def test_tick_passes_plus_and_minus_1000_in_the_release_spike(run):
    day = run.one("event_spike")
    inside = (day.tick_ts >= day.at("14:00")) & (day.tick_ts < day.at("14:15"))
    assert day.tick[inside].max() >= 1000 and day.tick[inside].min() <= -1000


def test_strong_broad_rally_pushes_tick_above_800(run):
    for scenario in ("nq_led_rally", "rty_risk_on", "aligned_trend"):
        day = run.one(scenario)
        assert day.tick.max() > 800 and day.tick_mean("09:30", "16:00") > 0, scenario


def test_add_follows_breadth_of_es_and_rty(run):
    for day in run.days:
        breadth = 0.4 * day.rs("ES", "15:30") + 0.6 * day.rs("RTY", "15:30")
        if abs(breadth) > 0.4:
            assert np.sign(day.add_at("15:30")) == np.sign(breadth), day.scenario


def test_ndx_moves_with_nq(run):
    for day in run.days:
        nq = day.log_returns_5min("NQ")
        grid = [day.at(c) for c in day.grid("09:30", "16:00")]
        ndx = day.ndx[np.searchsorted(day.ndx_ts, grid, side="right") - 1]
        ndx_ret = np.diff(np.log(ndx))
        assert np.corrcoef(nq, ndx_ret)[0, 1] > 0.9, day.scenario


def test_nq_trades_near_fair_value_on_ordinary_days_outside_release_spikes(run):
    releases = np.array([e.ts_ns for e in run.market.events()])
    for day in run.days:
        if day.scenario in ("nq_rich", "nq_cheap"):
            continue
        since = day.premium_ts[:, None] - releases[None, :]
        calm = ~np.any((since >= 0) & (since <= 15 * MIN), axis=1)
        assert np.abs(day.premium[calm]).max() < 10, day.scenario


def test_nq_rich_day_trades_more_than_20_points_over_fair_value(run):
    premium = run.one("nq_rich").premium_between("10:30", "13:30")
    assert premium.min() > 20


def test_nq_cheap_day_trades_more_than_10_points_under_fair_value(run):
    premium = run.one("nq_cheap").premium_between("10:30", "13:30")
    assert premium.max() < -10


# --- scenario days ---------------------------------------------------------------------


def test_nq_led_rally_closes_with_nq_rs_more_than_0_3_above_es(run):
    day = run.one("nq_led_rally")
    assert day.rs("ES", "16:00") > 0.2
    assert day.rs("NQ", "16:00") - day.rs("ES", "16:00") > 0.3


def test_nq_led_rally_leads_0_2_for_30_minutes_then_pulls_back_to_vwap_and_resumes(run):
    day = run.one("nq_led_rally")
    assert min(day.lead("NQ", c) for c in day.grid("09:35", "10:00")) >= 0.2
    b = day.bars["NQ"]
    early = b.window(day.at("09:30"), day.at("10:00"))
    pullback = b.window(day.at("10:00"), day.at("10:40"))
    since_open = b.close_ns > day.at("09:30")
    vwap = np.cumsum(b.pv * since_open)[pullback] / np.cumsum(b.volume * since_open)[pullback]
    assert np.any(b.low[pullback] <= vwap * 1.0005)
    assert day.high("NQ", "10:40", "16:00") > b.high[early].max()


def test_tech_selloff_closes_with_nq_rs_more_than_0_3_below_es(run):
    day = run.one("tech_selloff")
    assert day.rs("ES", "16:00") < -0.2
    assert day.rs("NQ", "16:00") - day.rs("ES", "16:00") < -0.3


def test_rty_risk_on_has_rty_beating_es_by_0_3_on_an_up_day(run):
    day = run.one("rty_risk_on")
    assert day.rs("ES", "16:00") > 0.2
    assert day.rs("RTY", "16:00") - day.rs("ES", "16:00") > 0.3


def test_risk_off_has_rty_lagging_es_by_0_3_on_three_down_days_in_a_row(run):
    days = run.of("risk_off")
    assert len(days) == 3
    idx = [run.days.index(d) for d in days]
    assert idx == list(range(idx[0], idx[0] + 3))
    for day in days:
        assert day.rs("ES", "16:00") < -0.2
        assert day.rs("RTY", "16:00") - day.rs("ES", "16:00") < -0.3


def test_risk_off_streak_makes_es_over_rty_settlement_ratio_rise_three_sessions_running(run):
    days = run.of("risk_off")
    first = run.before(days[0])
    ratios = [d.settle["ES"] / d.settle["RTY"] for d in [first, *days]]
    assert all(b > a for a, b in pairwise(ratios))
    assert (ratios[-1] / ratios[0] - 1) * 100 >= 1.5


def test_unconfirmed_high_es_beats_its_prior_session_high_while_rty_does_not(run):
    day = run.one("unconfirmed_high")
    prior = run.before(day)
    assert day.high("ES", "09:30", "16:00") > prior.high("ES")
    assert day.high("RTY") <= prior.high("RTY")
    assert day.high("RTY") <= prior.high("RTY", "09:30", "16:00")


def test_unconfirmed_high_comes_with_add_negative_while_es_is_up(run):
    day = run.one("unconfirmed_high")
    assert day.rs("ES", "14:30") > 0.3 and day.add_at("14:30") < 0


def test_aligned_trend_moves_all_four_the_same_way_by_similar_atr_multiples(run):
    day = run.one("aligned_trend")
    moves = np.array([day.rs(n, "16:00") / day.atr[n] for n in GROUP])
    assert np.all(np.sign(moves) == np.sign(moves[0]))
    assert np.abs(moves).max() / np.abs(moves).min() < 1.5


def es_trend_share(day: Day) -> float:
    """Share of RTH 5-min bars from 11:10 with ES above its 20-bar VWAP and the
    20-bar mean volume rising."""
    b = day.bars["ES"]
    grid = [day.at(c) for c in day.grid("09:30", "16:00")]
    vol = np.array([b.volume[b.window(a, z)].sum() for a, z in pairwise(grid)])
    pv = np.array([b.pv[b.window(a, z)].sum() for a, z in pairwise(grid)])
    close = np.array([b.last(z) for z in grid[1:]])
    held = []
    for k in range(20, len(vol)):
        vwap = pv[k - 19 : k + 1].sum() / vol[k - 19 : k + 1].sum()
        rising = vol[k - 19 : k + 1].mean() > vol[k - 20 : k].mean()
        held.append(close[k] > vwap and rising)
    return float(np.mean(held))


def test_aligned_trend_keeps_es_above_vwap_on_expanding_volume(run):
    day = run.one("aligned_trend")
    assert es_trend_share(day) >= 0.5
    assert es_trend_share(day) > max(es_trend_share(d) for d in run.of("normal"))


def test_bond_flight_has_zn_rallying_while_es_falls_over_1_percent(run):
    day = run.one("bond_flight")
    assert day.rs("ES", "16:00") <= -1.0
    assert day.rs("ZN", "16:00") >= 0.4


def test_bonds_cap_rally_has_zn_selling_off_while_es_rallies(run):
    day = run.one("bonds_cap_rally")
    assert day.rs("ES", "16:00") >= 0.5
    assert day.rs("ZN", "16:00") <= -0.3


def premarket_read(day: Day) -> float:
    return day.rs("NQ", "09:15") - day.rs("ES", "09:15")


def first_hour(day: Day, name: str) -> float:
    return day.rs(name, "10:30") - day.rs(name, "09:30")


def test_premarket_hit_day_has_nq_0_3_ahead_at_0915_and_leading_at_1030(run):
    day = run.one("premarket_nq_lead_hit")
    assert premarket_read(day) >= 0.3
    assert day.leader("10:30") == "NQ"
    assert max(GROUP, key=lambda n: first_hour(day, n)) == "NQ"


def test_premarket_miss_day_has_nq_0_3_ahead_at_0915_but_es_leading_at_1030(run):
    day = run.one("premarket_nq_lead_miss")
    assert premarket_read(day) >= 0.3
    assert day.leader("10:30") == "ES"
    assert max(GROUP, key=lambda n: first_hour(day, n)) == "ES"


def test_premarket_lead_is_absent_on_other_days(run):
    for day in run.days:
        if not day.scenario.startswith("premarket"):
            assert premarket_read(day) < 0.3, day.scenario


@pytest.mark.parametrize(
    ("release", "after", "clean_end"), [("08:30", "08:50", "09:15"), ("14:00", "14:20", "14:45")]
)
def test_event_day_swings_both_ways_after_the_release_then_moves_cleanly(
    run, release, after, clean_end
):
    day = run.one("event_spike")
    before = day.rs("ES", release)
    t_end = dt.datetime.combine(day.date, dt.time.fromisoformat(release)) + dt.timedelta(minutes=10)
    spike_end = t_end.strftime("%H:%M")
    up = (day.high("ES", release, spike_end) / day.prior["ES"] - 1) * 100 - before
    down = before - (day.low("ES", release, spike_end) / day.prior["ES"] - 1) * 100
    assert up >= 0.2 and down >= 0.2
    closes = np.array([day.rs("ES", c) for c in day.grid(after, clean_end, 1)])
    steps = np.sign(np.diff(closes))
    direction = np.sign(closes[-1] - closes[0])
    assert abs(closes[-1] - closes[0]) >= 0.2
    assert np.mean(steps == direction) >= 0.6
    worst = np.max(direction * (closes[0] - closes))  # largest move against the trend
    assert worst < 0.5 * abs(closes[-1] - closes[0])


def initial_balance(day: Day, name: str = "ES") -> float:
    """First 30 RTH minutes' range as a fraction of the daily ATR."""
    rng = (day.high(name, "09:30", "10:00") - day.low(name, "09:30", "10:00")) / day.prior[name]
    return rng * 100 / day.atr[name]


def test_chop_opens_with_a_narrow_thin_first_half_hour(run):
    day = run.one("chop")
    assert initial_balance(day) < 0.25
    normal = run.of("normal")
    assert initial_balance(day) < min(initial_balance(d) for d in normal if d.atr["ES"] > 0)
    thin = day.volume_per_minute("ES", "09:30", "10:00")
    assert thin < 0.6 * min(d.volume_per_minute("ES", "09:30", "10:00") for d in normal)


def test_chop_rotates_leadership_at_least_twice_in_the_first_30_minutes(run):
    day = run.one("chop")
    for step in (5, 1):
        leaders = [day.leader(c) for c in day.grid("09:30", "10:00", step)[1:]]
        assert sum(a != b for a, b in pairwise(leaders)) >= 2, step


def test_divergence_fade_instrument_runs_0_5_ahead_of_the_group(run):
    day = run.one("divergence_fade")
    assert max(day.lead("NQ", c) for c in day.grid("09:35", "12:00")) >= 0.5


def test_divergence_fade_fails_to_make_a_new_high_on_fading_volume(run):
    day = run.one("divergence_fade")
    assert day.high("NQ", "11:15", "13:00") < day.high("NQ", "10:00", "11:15")
    push = day.volume_per_minute("NQ", "10:15", "10:45")
    retest = day.volume_per_minute("NQ", "11:20", "11:50")
    assert retest < 0.7 * push


def test_divergence_fade_sees_tick_turn_against_the_divergence(run):
    day = run.one("divergence_fade")
    assert day.tick_mean("10:15", "10:45") > 0
    assert day.tick_mean("11:50", "12:30") < -200


def test_laggard_catchup_lags_0_3_then_holds_its_low(run):
    day = run.one("laggard_catchup")
    assert min(day.lead("RTY", c) for c in day.grid("10:00", "12:00")) <= -0.3
    assert day.low("RTY", "11:10", "16:00") > day.low("RTY", "10:30", "11:10")


def test_laggard_catchup_catches_up_on_rising_volume_with_add_rising(run):
    day = run.one("laggard_catchup")
    assert day.lead("RTY", "15:30") > day.lead("RTY", "11:00") + 0.5
    assert day.rs("ES", "15:30") > day.rs("ES", "12:00")  # the group keeps going up
    lagging = day.volume_per_minute("RTY", "10:30", "12:00")
    catching = day.volume_per_minute("RTY", "13:00", "15:30")
    assert catching > 1.3 * lagging
    assert day.add_at("15:30") > day.add_at("12:00") + 300
