"""A seeded, deterministic SIMULATED market: every number here is made up.

``SimMarket`` produces, for each Globex session of the run (18:00 ET on the
previous day to 17:00 ET, from ``rsengine.exchange.sessions.load_schedule``), trade arrays
``(ts int64 ns UTC sorted, price float64 on the tick grid, size float64 > 0)``
for the futures ES, NQ, RTY, YM and ZN, optionally the micros MES, MNQ, M2K and
MYM (same price path as their big contract, their own trades), and one print per
RTH second (09:30:00-15:59:59 ET, size 0.0) for NYSE ``$TICK``, NYSE ``$ADD`` and
the cash ``NDX``.

How a session is made
---------------------
Each session has a *scenario* (``SCENARIOS``). The scenario draws a skeleton:
piecewise-linear waypoints of the broad-market move ``m`` (RS% of ES against
its prior settlement) and, where the day needs it, of one instrument's own
path. Instrument *i* follows ``beta_i * m`` (ES 1.0, NQ 1.5, RTY 1.2, YM 0.9,
ZN -0.12) unless the scenario gives its path outright. On top of the skeleton
come a common factor noise (times beta) and each instrument's own noise (NQ's
is its tech factor, RTY's its small-cap factor). Noise is a Brownian bridge
pinned to zero at every waypoint and at least every 30 minutes, squashed by
``w * tanh(x / w)`` so it never moves a path more than ``w`` from its skeleton:
the scenario thresholds hold by construction, not by luck of the seed.

Prices are ``prior settlement * (1 + x / 100)``, so RS% against the prior
settlement is the path itself. The settlement is computed from the generated
trades as the rule book says (VWAP of trades from 15:59:30 to 16:00:00 ET) and
is the base of the next session, whose open is gapped away from it.

Trades are Poisson per minute with an intraday profile (RTH about five times
the overnight rate, U-shaped), scaled by the size of the minute's move and by
the scenario's volume windows; each trade prints at the bid or the ask around
the path value, so prices sit on the tick grid. ``$TICK`` follows the one-
and fifteen-minute move of a broad blend of the four equity futures plus
noise; ``$ADD`` follows the day's breadth (ES and RTY RS%) squashed into
about +-2600; ``NDX`` is ``(NQ - premium) / (1 + (r - q) * days / 365)``, so NQ
trades at fair value plus a premium the scenario controls.

Randomness: ``numpy.random.Generator(PCG64(...))`` seeded from
``(seed, session date, instrument, purpose)``, so each stream is independent of
which other instruments exist. Same arguments, same bytes.

Only full sessions are simulated: a session whose Globex hours are not
18:00-17:00 ET or on which NYSE is closed or closes early is skipped (listed
in ``SimMarket.skipped``).

The equity contract is the front quarterly (third Friday of Mar, Jun, Sep,
Dec), rolled eight days before expiry (the second Thursday). The futures path
is continuous across the roll; the cash ``NDX`` absorbs the change of carry.
"""

from __future__ import annotations

import collections
import datetime as dt
import difflib
import functools
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple
from zoneinfo import ZoneInfo

import attrs
import numpy as np

from rsengine.exchange.sessions import DEFAULT_CALENDAR, EXCHANGE_TZ, NS_PER_SECOND, load_schedule

SIMULATED = True
source_label = "SIMULATED"

ET = ZoneInfo(EXCHANGE_TZ)
RATE = 0.05  # risk-free rate r for the NQ fair value (DOMAIN section 8)
DIVIDEND_YIELD = 0.007  # NDX dividend yield q
ROLL_DAYS = 8  # equity futures roll to the next quarterly this many days before expiry
SETTLE_WINDOW_S = 30  # settlement: VWAP of trades in the last 30 s before 16:00 ET
TYPICAL_MINUTE_MOVE = 0.035  # ES RTH one-minute move (percent) that $TICK scales by


# ---------------------------------------------------------------------------
# Instruments
# ---------------------------------------------------------------------------


@attrs.frozen
class SimInstrument:
    """One simulated futures contract.

    ``beta``: multiple of the broad-market move; ``rate``: trade-rate multiple
    of ES; ``idio_sigma``: own noise as a fraction of the market noise;
    ``idio_bound``: the most (in RS%) its own noise moves it off its skeleton.
    """

    name: str
    tick: float
    price: float
    beta: float
    rate: float
    mean_size: float
    idio_sigma: float
    idio_bound: float
    parent: str | None = None


FUTURES: dict[str, SimInstrument] = {
    "ES": SimInstrument("ES", 0.25, 5800.0, 1.0, 1.0, 3.0, 0.15, 0.012),
    "NQ": SimInstrument("NQ", 0.25, 20500.0, 1.5, 1.0, 2.0, 0.2, 0.015),
    "RTY": SimInstrument("RTY", 0.10, 2100.0, 1.2, 0.6, 2.0, 0.45, 0.04),
    "YM": SimInstrument("YM", 1.0, 43000.0, 0.9, 0.5, 1.5, 0.15, 0.012),
    "ZN": SimInstrument("ZN", 1.0 / 64.0, 110.5, -0.12, 0.8, 6.0, 0.45, 0.07),
}
MICROS: dict[str, SimInstrument] = {
    "MES": SimInstrument("MES", 0.25, 5800.0, 1.0, 0.6, 2.0, 0.0, 0.0, parent="ES"),
    "MNQ": SimInstrument("MNQ", 0.25, 20500.0, 1.5, 0.6, 2.0, 0.0, 0.0, parent="NQ"),
    "M2K": SimInstrument("M2K", 0.10, 2100.0, 1.2, 0.35, 2.0, 0.0, 0.0, parent="RTY"),
    "MYM": SimInstrument("MYM", 1.0, 43000.0, 0.9, 0.3, 1.5, 0.0, 0.0, parent="YM"),
}
EQUITY = ("ES", "NQ", "RTY", "YM")
INDEXES = ("$TICK", "$ADD", "NDX")


class Trades(NamedTuple):
    """Trades of one instrument in one session, sorted by ``ts``."""

    ts: np.ndarray  # int64 ns UTC
    price: np.ndarray  # float64, on the instrument's tick grid
    size: np.ndarray  # float64; > 0 for futures, 0.0 for index prints


@attrs.frozen
class SimSession:
    """One simulated session: its date (the day it closes), scenario and hours."""

    index: int
    session_date: dt.date
    scenario: str
    open_ns: int
    close_ns: int
    rth_open_ns: int
    rth_close_ns: int
    expiry: dt.date  # expiry of the front equity contract traded that day
    days_to_expiry: int


@attrs.frozen
class SimEvent:
    """A scheduled release, for the event calendar."""

    ts_ns: int
    name: str
    importance: str
    session_date: dt.date


# ---------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def contract_expiry(session_date: dt.date, roll_days: int = ROLL_DAYS) -> dt.date:
    """Expiry of the front quarterly equity contract on ``session_date``.

    The front contract rolls ``roll_days`` before its expiry (8 days: the
    Thursday of the week before the third Friday).
    """
    year, month = session_date.year, session_date.month
    while True:
        if month % 3 == 0:
            expiry = third_friday(year, month)
            if (expiry - session_date).days > roll_days:
                return expiry
        month += 1
        if month > 12:
            year, month = year + 1, 1


def fair_value(ndx: float | np.ndarray, days: int, r: float = RATE, q: float = DIVIDEND_YIELD):
    """NQ fair value, DOMAIN section 8: ``NDX * (1 + (r - q) * days / 365)``."""
    return ndx * (1.0 + (r - q) * days / 365.0)


def _et_ns(day: dt.date, clock: dt.time) -> int:
    local = dt.datetime.combine(day, clock, tzinfo=ET)
    return int(local.timestamp()) * NS_PER_SECOND + local.microsecond * 1000


@functools.cache
def _nyse_regular_days(start: dt.date, end: dt.date) -> frozenset[dt.date]:
    import pandas_market_calendars as mcal

    with warnings.catch_warnings():  # the NYSE calendar uses a pandas API pandas deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        frame = mcal.get_calendar("NYSE").schedule(start_date=start, end_date=end)
    opens = frame["market_open"].dt.tz_convert(EXCHANGE_TZ)
    closes = frame["market_close"].dt.tz_convert(EXCHANGE_TZ)
    regular = (opens.dt.strftime("%H:%M") == "09:30") & (closes.dt.strftime("%H:%M") == "16:00")
    return frozenset(d.date() for d in frame.index[regular.to_numpy()])


def _stream_key(text: str) -> int:
    return zlib.crc32(text.encode())


# ---------------------------------------------------------------------------
# Scenario scripts
# ---------------------------------------------------------------------------


@attrs.define(eq=False)
class PriorSession:
    """A session's prices per futures root, carried to the next session (whose
    scenario may read them)."""

    settle: dict[str, float]
    high: dict[str, float]
    rth_high: dict[str, float]

    def rs(self, table: dict[str, float], name: str) -> float:
        """A prior price as RS% against the prior settlement (today's zero)."""
        return (table[name] / self.settle[name] - 1.0) * 100.0


Points = list[tuple[float, float]]


@attrs.define(eq=False)
class Script:
    """A session's skeleton, written by a scenario function.

    Times are ET clock strings on the session date (``'09:30'``,
    ``'14:00:30'``) or ``'open'``/``'close'``; values are RS% against the
    prior settlement.
    """

    session_date: dt.date
    open_ns: int
    length: int  # seconds in the session
    prior: PriorSession | None
    market: Points = attrs.field(factory=list)
    paths: dict[str, Points] = attrs.field(factory=dict)
    offsets: dict[str, Points] = attrs.field(factory=dict)
    noise: list[tuple[str | None, float, float, float]] = attrs.field(factory=list)
    factor_bound: float = 0.12
    idio_mult: dict[str, float] = attrs.field(factory=dict)
    idio_bound: dict[str, float] = attrs.field(factory=dict)
    volume: list[tuple[str | None, float, float, float, float]] = attrs.field(factory=list)
    tick_bias: list[tuple[float, float, float]] = attrs.field(factory=list)
    add_bias: list[tuple[float, float, float]] = attrs.field(factory=list)
    premium: Points = attrs.field(factory=list)
    events: list[tuple[float, str, str]] = attrs.field(factory=list)

    def at(self, clock: str) -> float:
        """Seconds from the session open of an ET clock time on the session date."""
        if clock == "open":
            return 0.0
        if clock == "close":
            return float(self.length - 1)
        ns = _et_ns(self.session_date, dt.time.fromisoformat(clock))
        return (ns - self.open_ns) / NS_PER_SECOND

    def _points(self, pairs: Sequence[tuple[str, float]]) -> Points:
        return [(self.at(c), float(v)) for c, v in pairs]

    def set_market(self, *pairs: tuple[str, float]) -> None:
        self.market = self._points(pairs)

    def set_path(self, name: str, *pairs: tuple[str, float]) -> None:
        """Give ``name`` its own RS% skeleton instead of ``beta * market``."""
        self.paths[name] = self._points(pairs)

    def set_offset(self, name: str, *pairs: tuple[str, float]) -> None:
        """Add an RS% offset skeleton to ``beta * market`` for ``name``."""
        self.offsets[name] = self._points(pairs)

    def set_premium(self, *pairs: tuple[str, float]) -> None:
        self.premium = self._points(pairs)

    def noisier(self, t0: str, t1: str, mult: float, name: str | None = None) -> None:
        """Scale the market noise (or ``name``'s own noise) between two times."""
        self.noise.append((name, self.at(t0), self.at(t1), mult))

    def busier(self, name: str | None, t0: str, t1: str, m0: float, m1: float | None = None):
        """Trade-rate multiple from ``m0`` at ``t0`` to ``m1`` at ``t1`` (None: all)."""
        self.volume.append((name, self.at(t0), self.at(t1), m0, m0 if m1 is None else m1))

    def lean_tick(self, t0: str, t1: str, bias: float) -> None:
        self.tick_bias.append((self.at(t0), self.at(t1), bias))

    def lean_add(self, t0: str, t1: str, bias: float) -> None:
        self.add_bias.append((self.at(t0), self.at(t1), bias))

    def release(self, clock: str, name: str, importance: str = "high") -> None:
        self.events.append((self.at(clock), name, importance))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _normal(s: Script, rng: np.random.Generator) -> None:
    """A quiet day: |ES| RS% within about 0.2-0.4, NQ/ES in its 1.3-1.8 band."""
    sign = 1.0 if rng.random() < 0.5 else -1.0

    def v(lo: float, hi: float) -> float:
        return sign * _u(rng, lo, hi)

    a = v(0.22, 0.28)
    s.set_market(
        ("open", v(0.05, 0.15)),
        ("03:00", v(0.1, 0.22)),
        ("08:00", v(0.15, 0.25)),
        ("09:15", v(0.2, 0.28)),
        ("09:30", a),
        ("09:45", a + sign * _u(rng, 0.08, 0.12)),
        ("10:00", v(0.22, 0.3)),
        ("11:00", v(0.22, 0.36)),
        ("12:30", v(0.22, 0.36)),
        ("14:00", v(0.22, 0.36)),
        ("15:00", v(0.22, 0.36)),
        ("16:00", v(0.22, 0.36)),
        ("close", v(0.22, 0.36)),
    )


def _nq_led_rally(s: Script, rng: np.random.Generator) -> None:
    """NQ up much more than ES: a tech-led rally (NQ - ES about +0.85 at 16:00).

    NQ leads the group by about 0.45 through the first 30 minutes, pulls back
    to its RTH VWAP with the market around 10:20, then resumes (a Strength
    Rider day).
    """
    s.set_market(
        ("open", 0.08), ("03:00", 0.12), ("09:15", 0.18), ("09:30", 0.25), ("10:00", 0.4),
        ("10:20", 0.3), ("10:45", 0.45), ("12:00", 0.5), ("14:00", 0.6),
        ("16:00", _u(rng, 0.6, 0.7)), ("close", 0.62),
    )  # fmt: skip
    s.set_offset(
        "NQ", ("open", 0.04), ("09:15", 0.14), ("09:30", 0.35), ("10:00", 0.5), ("10:20", 0.3),
        ("10:45", 0.4), ("12:00", 0.5), ("16:00", 0.55), ("close", 0.55),
    )  # fmt: skip
    s.busier("NQ", "09:30", "16:00", 1.4)
    s.idio_mult["NQ"] = 6.0  # tech news moves NQ on its own: ES/NQ decouple
    s.idio_bound["NQ"] = 0.2
    s.noisier("09:00", "10:45", 1.0 / 6.0, "NQ")  # ...but not while it sets up its lead


def _tech_selloff(s: Script, rng: np.random.Generator) -> None:
    """NQ down much more than ES, with two NQ-only shocks; NQ decouples from ES."""
    s.set_market(
        ("open", -0.05), ("09:15", -0.1), ("09:30", -0.15), ("10:30", -0.3), ("12:00", -0.35),
        ("14:00", -0.45), ("16:00", _u(rng, -0.55, -0.45)), ("close", -0.5),
    )  # fmt: skip
    s.set_offset(
        "NQ", ("open", 0.0), ("09:15", -0.05), ("09:30", -0.1), ("10:00", -0.15),
        ("10:50", -0.2), ("10:52", -0.45), ("11:10", -0.35), ("12:00", -0.4), ("13:30", -0.45),
        ("13:32", -0.7), ("14:00", -0.6), ("16:00", -0.65), ("close", -0.65),
    )  # fmt: skip
    s.idio_mult["NQ"] = 9.0
    s.idio_bound["NQ"] = 0.4
    s.busier("NQ", "10:50", "11:20", 2.5, 1.2)
    s.busier("NQ", "13:30", "14:00", 2.5, 1.2)


def _rty_risk_on(s: Script, rng: np.random.Generator) -> None:
    """Up day led by small caps: RTY beats ES by about 0.75."""
    s.set_market(
        ("open", 0.08), ("09:15", 0.15), ("09:30", 0.2), ("10:30", 0.35), ("12:00", 0.45),
        ("16:00", _u(rng, 0.5, 0.6)), ("close", 0.55),
    )  # fmt: skip
    s.set_path(
        "RTY", ("open", 0.15), ("09:15", 0.35), ("09:30", 0.5), ("10:30", 0.8), ("12:00", 1.0),
        ("14:00", 1.2), ("16:00", 1.3), ("close", 1.3),
    )  # fmt: skip
    s.busier("RTY", "09:30", "16:00", 1.5)


def _risk_off(s: Script, rng: np.random.Generator) -> None:
    """Down day with RTY lagging ES by about 0.6 (run three in a row for a warning)."""
    k = _u(rng, 0.9, 1.15)
    s.set_market(
        ("open", -0.08), ("09:15", -0.15), ("09:30", -0.2 * k), ("11:00", -0.35 * k),
        ("14:00", -0.45 * k), ("16:00", -0.5 * k), ("close", -0.5 * k),
    )  # fmt: skip
    shock = rng.random() < 0.5
    rty = [
        ("open", -0.12), ("09:15", -0.3), ("09:30", -0.45 * k), ("11:00", -0.8 * k),
        ("14:00", -1.0 * k), ("16:00", -1.15 * k), ("close", -1.15 * k),
    ]  # fmt: skip
    if shock:  # a small-cap-only air pocket around 12:30, half recovered
        rty[4:4] = [("12:30", -0.88 * k), ("12:33", -1.18 * k), ("13:00", -1.02 * k)]
    s.set_path("RTY", *rty)
    s.busier("RTY", "09:30", "16:00", 1.3)


def _unconfirmed_high(s: Script, rng: np.random.Generator) -> None:
    """ES makes a new high above its prior session high; RTY stays below its own."""
    p = s.prior
    es_prior_high = max(p.rs(p.high, "ES"), p.rs(p.rth_high, "ES")) if p else 0.3
    rty_cap = min(p.rs(p.high, "RTY"), p.rs(p.rth_high, "RTY")) if p else 0.3
    h = max(es_prior_high, 0.15) + _u(rng, 0.28, 0.35)
    s.set_market(
        ("open", 0.05), ("09:15", 0.1), ("09:30", 0.15), ("11:00", h - 0.15), ("13:00", h - 0.2),
        ("14:30", h), ("15:15", h - 0.1), ("16:00", h - 0.15), ("close", h - 0.15),
    )  # fmt: skip
    r0 = min(rty_cap - 0.3, 0.0)
    s.set_path(
        "RTY", ("open", r0), ("09:15", r0 - 0.03), ("09:30", r0 - 0.05), ("11:00", r0 - 0.1),
        ("14:30", r0 - 0.05), ("16:00", r0 - 0.15), ("close", r0 - 0.15),
    )  # fmt: skip
    s.idio_mult["NQ"] = 4.0
    s.idio_bound["NQ"] = 0.12
    s.lean_add("10:30", "16:00", -700.0)  # breadth does not confirm the ES high


def _aligned_trend(s: Script, rng: np.random.Generator) -> None:
    """All four rise together at their betas, ES above VWAP, volume expanding."""
    end = _u(rng, 1.0, 1.1)
    s.set_market(
        ("open", 0.05), ("09:15", 0.1), ("09:30", 0.15), ("10:30", 0.4), ("12:00", 0.6),
        ("13:30", 0.75), ("15:00", 0.95), ("16:00", end), ("close", end),
    )  # fmt: skip
    s.factor_bound = 0.08
    s.busier(None, "10:00", "15:50", 1.0, 2.2)


def _bond_flight(s: Script, rng: np.random.Generator) -> None:
    """Equities sell off hard (ES about -1.5) while ZN rallies hard (about +0.7)."""
    end = _u(rng, -1.6, -1.4)
    s.set_market(
        ("open", -0.1), ("09:15", -0.2), ("09:30", -0.3), ("10:30", -0.7), ("12:00", -1.0),
        ("14:00", -1.3), ("15:30", end - 0.1), ("16:00", end), ("close", end),
    )  # fmt: skip
    s.set_path(
        "ZN", ("open", 0.05), ("09:15", 0.1), ("09:30", 0.15), ("10:30", 0.3), ("12:00", 0.45),
        ("14:00", 0.6), ("16:00", 0.7), ("close", 0.7),
    )  # fmt: skip
    s.busier(None, "09:30", "16:00", 1.5)


def _bonds_cap_rally(s: Script, rng: np.random.Generator) -> None:
    """Equities rally then stall while ZN sells off (about -0.45)."""
    s.set_market(
        ("open", 0.08), ("09:15", 0.15), ("09:30", 0.2), ("11:30", 0.7), ("13:00", 0.85),
        ("16:00", _u(rng, 0.72, 0.8)), ("close", 0.75),
    )  # fmt: skip
    s.set_path(
        "ZN", ("open", -0.02), ("09:15", -0.04), ("09:30", -0.05), ("11:30", -0.25),
        ("13:00", -0.4), ("16:00", -0.45), ("close", -0.45),
    )  # fmt: skip


def _premarket_nq_lead(s: Script, rng: np.random.Generator, hit: bool) -> None:
    s.set_market(
        ("open", 0.05), ("03:00", 0.1), ("08:00", 0.15), ("09:15", 0.15), ("09:30", 0.2),
        ("10:30", 0.3 if hit else 0.55), ("12:00", 0.35 if hit else 0.5),
        ("16:00", 0.4 if hit else 0.45), ("close", 0.4),
    )  # fmt: skip
    pre = [("open", 0.2), ("03:00", 0.4), ("08:00", 0.6), ("09:15", _u(rng, 0.68, 0.72))]
    if hit:  # NQ keeps leading through the first RTH hour
        s.set_path("NQ", *pre, ("09:30", 0.72), ("10:30", 1.3), ("12:00", 1.35),
                   ("16:00", 1.2), ("close", 1.2))  # fmt: skip
    else:  # NQ gives its lead back, ES leads 09:30-10:30
        s.set_path("NQ", *pre, ("09:30", 0.68), ("10:00", 0.5), ("10:30", 0.35),
                   ("12:00", 0.45), ("16:00", 0.6), ("close", 0.6))  # fmt: skip
        s.set_path("RTY", ("open", 0.06), ("09:15", 0.18), ("09:30", 0.24), ("10:30", 0.35),
                   ("16:00", 0.5), ("close", 0.5))  # fmt: skip
        s.set_path("YM", ("open", 0.045), ("09:15", 0.135), ("09:30", 0.18), ("10:30", 0.35),
                   ("16:00", 0.4), ("close", 0.4))  # fmt: skip


def _premarket_nq_lead_hit(s: Script, rng: np.random.Generator) -> None:
    """At 09:15 NQ is about 0.55 ahead of ES and keeps leading to 10:30."""
    _premarket_nq_lead(s, rng, hit=True)


def _premarket_nq_lead_miss(s: Script, rng: np.random.Generator) -> None:
    """At 09:15 NQ is about 0.55 ahead of ES, but ES leads 09:30-10:30."""
    _premarket_nq_lead(s, rng, hit=False)


def _event_spike(s: Script, rng: np.random.Generator) -> None:
    """CPI at 08:30 and FOMC at 14:00: two-way spikes, then clean moves 20-45 min later."""
    s.release("08:30", "CPI", "high")
    s.release("14:00", "FOMC rate decision", "high")
    d = -1.0 if rng.random() < 0.5 else 1.0  # direction of the post-FOMC move
    s.set_market(
        ("open", 0.05), ("08:00", 0.1), ("08:30", 0.1), ("08:30:20", 0.42), ("08:31", -0.22),
        ("08:32:30", 0.3), ("08:34", -0.05), ("08:37", 0.15), ("08:45", 0.08), ("08:50", 0.08),
        ("09:15", 0.48), ("09:30", 0.45), ("11:00", 0.3), ("13:30", 0.25), ("14:00", 0.25),
        ("14:00:30", 0.25 + 0.35 * d), ("14:01:30", 0.25 - 0.3 * d),
        ("14:03", 0.25 + 0.2 * d), ("14:05", 0.25 - 0.2 * d), ("14:08", 0.25 + 0.1 * d),
        ("14:12", 0.25 - 0.05 * d), ("14:15", 0.25), ("14:20", 0.25),
        ("14:45", 0.25 - 0.75 * d), ("15:00", 0.25 - 0.78 * d), ("16:00", 0.25 - 0.8 * d),
        ("close", 0.25 - 0.8 * d),
    )  # fmt: skip
    s.noisier("08:30", "08:45", 3.0)
    s.noisier("14:00", "14:15", 4.0)
    s.noisier("08:50", "09:15", 0.5)
    s.noisier("14:20", "14:45", 0.4)
    s.busier(None, "08:30", "08:45", 6.0, 1.5)
    s.busier(None, "14:00", "14:15", 5.0, 1.5)
    s.busier(None, "14:20", "14:45", 1.8)


_CHOP_LEADERS = ("NQ", "RTY", "YM", "ES", "NQ", "RTY")


def _chop(s: Script, rng: np.random.Generator) -> None:
    """Flat, thin first 30 minutes with the leader changing every five minutes.

    DOMAIN leaves "small relative to daily ATR" open: the ES 09:30-10:00 range
    here is about 0.1-0.2% against a daily ATR near 1%, under the 0.25 x ATR the
    tests use, with RTH volume at 0.4-0.6x a normal day.
    """
    s.set_market(
        ("open", 0.02), ("09:15", 0.03), ("09:30", 0.02), ("09:35", 0.0), ("09:40", 0.02),
        ("09:45", -0.01), ("09:50", 0.01), ("09:55", 0.0), ("10:00", 0.02), ("11:00", -0.1),
        ("12:00", 0.1), ("13:00", -0.05), ("14:00", 0.12), ("15:00", -0.08), ("16:00", 0.05),
        ("close", 0.05),
    )  # fmt: skip
    clocks = ("09:35", "09:40", "09:45", "09:50", "09:55", "10:00")
    for name in EQUITY:
        pts = [("open", 0.0), ("09:30", 0.0)]
        pts += [
            (c, 0.06 if lead == name else 0.0)
            for c, lead in zip(clocks, _CHOP_LEADERS, strict=True)
        ]
        later = {"ES": "11:00", "NQ": "12:00", "RTY": "13:00", "YM": "14:00"}[name]
        pts += [("10:30", 0.0), (later, 0.08), ("15:00", 0.0), ("close", 0.0)]
        pts.sort(key=lambda p: s.at(p[0]))
        s.set_offset(name, *pts)
    s.noisier("09:30", "16:00", 0.35)
    s.factor_bound = 0.03
    for name in EQUITY:
        s.idio_bound[name] = 0.008
    s.busier(None, "09:30", "10:00", 0.4)
    s.busier(None, "10:00", "16:00", 0.6)


def _divergence_fade(s: Script, rng: np.random.Generator) -> None:
    """NQ runs 0.7 ahead of the group, fails to make a new high on thin volume, $TICK
    turns negative, and NQ fades back."""
    s.set_market(
        ("open", 0.05), ("09:15", 0.1), ("09:30", 0.12), ("10:00", 0.18), ("10:30", 0.22),
        ("13:00", 0.22), ("16:00", 0.15), ("close", 0.15),
    )  # fmt: skip
    s.set_path(
        "NQ", ("open", 0.08), ("09:15", 0.15), ("09:30", 0.2), ("10:00", 0.45), ("10:45", 0.95),
        ("11:15", 0.72), ("11:50", 0.8), ("12:10", 0.72), ("13:00", 0.45), ("14:00", 0.35),
        ("16:00", 0.3), ("close", 0.3),
    )  # fmt: skip
    s.factor_bound = 0.05
    s.idio_bound["NQ"] = 0.02
    s.busier("NQ", "10:00", "10:45", 1.8)
    s.busier("NQ", "11:20", "11:50", 0.5)
    s.lean_tick("10:00", "10:45", 250.0)
    s.lean_tick("11:50", "12:40", -650.0)
    s.lean_add("11:50", "13:00", -500.0)


def _laggard_catchup(s: Script, rng: np.random.Generator) -> None:
    """The group rallies, RTY lags 0.7 behind, holds its low, then catches up on
    rising volume with $ADD climbing."""
    s.set_market(
        ("open", 0.05), ("09:15", 0.15), ("09:30", 0.2), ("10:30", 0.45), ("11:30", 0.55),
        ("12:30", 0.6), ("14:00", 0.7), ("15:00", 0.8), ("16:00", 0.85), ("close", 0.85),
    )  # fmt: skip
    s.set_path(
        "RTY", ("open", 0.05), ("09:15", 0.08), ("09:30", 0.1), ("10:30", -0.15), ("11:00", -0.35),
        ("11:30", -0.1), ("11:50", -0.2), ("12:20", -0.05), ("13:30", 0.4), ("14:30", 0.75),
        ("15:30", 1.0), ("16:00", 1.05), ("close", 1.05),
    )  # fmt: skip
    s.factor_bound = 0.08
    s.busier("RTY", "12:20", "15:30", 1.2, 2.4)


def _nq_rich(s: Script, rng: np.random.Generator) -> None:
    """A normal market with NQ about 30 points over fair value 10:30-13:30."""
    _normal(s, rng)
    s.set_premium(("open", 2.0), ("09:30", 3.0), ("10:15", 28.0), ("10:30", 31.0),
                  ("13:30", 30.0), ("14:30", 6.0), ("close", 4.0))  # fmt: skip


def _nq_cheap(s: Script, rng: np.random.Generator) -> None:
    """A normal market with NQ about 20 points under fair value 10:30-13:30."""
    _normal(s, rng)
    s.set_premium(("open", 1.0), ("09:30", -1.0), ("10:15", -18.0), ("10:30", -20.0),
                  ("13:30", -19.0), ("14:30", -2.0), ("close", 0.0))  # fmt: skip


SCENARIOS: dict[str, Callable[[Script, np.random.Generator], None]] = {
    "normal": _normal,
    "nq_led_rally": _nq_led_rally,
    "tech_selloff": _tech_selloff,
    "rty_risk_on": _rty_risk_on,
    "risk_off": _risk_off,
    "unconfirmed_high": _unconfirmed_high,
    "aligned_trend": _aligned_trend,
    "bond_flight": _bond_flight,
    "bonds_cap_rally": _bonds_cap_rally,
    "premarket_nq_lead_hit": _premarket_nq_lead_hit,
    "premarket_nq_lead_miss": _premarket_nq_lead_miss,
    "event_spike": _event_spike,
    "chop": _chop,
    "divergence_fade": _divergence_fade,
    "laggard_catchup": _laggard_catchup,
    "nq_rich": _nq_rich,
    "nq_cheap": _nq_cheap,
}

DEFAULT_SEQUENCE: tuple[str, ...] = (
    "normal",
    "normal",
    "nq_led_rally",
    "aligned_trend",
    "unconfirmed_high",
    "tech_selloff",
    "risk_off",
    "risk_off",
    "risk_off",
    "bond_flight",
    "rty_risk_on",
    "bonds_cap_rally",
    "premarket_nq_lead_hit",
    "chop",
    "event_spike",
    "divergence_fade",
    "premarket_nq_lead_miss",
    "laggard_catchup",
    "nq_rich",
    "normal",
    "nq_cheap",
)


# ---------------------------------------------------------------------------
# Intraday shapes (ET clock, interpolated linearly)
# ---------------------------------------------------------------------------

# Trade rate relative to the RTH average.
_ACTIVITY = (
    ("open", 0.15), ("02:59", 0.15), ("03:00", 0.25), ("07:59", 0.25), ("08:00", 0.35),
    ("09:29:59", 0.4), ("09:30", 1.8), ("10:30", 1.05), ("11:30", 0.85), ("12:00", 0.7),
    ("13:30", 0.7), ("14:00", 0.95), ("15:00", 1.0), ("15:50", 1.5), ("15:59:59", 1.5),
    ("16:00", 0.5), ("16:15", 0.25), ("close", 0.2),
)  # fmt: skip
# Market noise, percent per square-root second.
_VOLATILITY = (
    ("open", 0.0016), ("02:59:59", 0.0016), ("03:00", 0.0022), ("07:59:59", 0.0022),
    ("08:00", 0.0026), ("09:29:59", 0.0026), ("09:30", 0.0068), ("09:45", 0.005),
    ("11:00", 0.0045), ("12:00", 0.0036), ("13:30", 0.0038), ("14:00", 0.0045),
    ("15:59:59", 0.0045), ("16:00", 0.002), ("close", 0.0018),
)  # fmt: skip


def _shape(script: Script, table, grid: np.ndarray) -> np.ndarray:
    t = np.array([script.at(c) for c, _ in table])
    v = np.array([v for _, v in table])
    return np.interp(grid, t, v)


def _windows(grid: np.ndarray, windows, base: float, combine: str) -> np.ndarray:
    out = np.full(len(grid), base)
    for t0, t1, v0, v1 in windows:
        inside = (grid >= t0) & (grid < t1)
        frac = (grid[inside] - t0) / max(t1 - t0, 1.0)
        val = v0 + (v1 - v0) * frac
        if combine == "mul":
            out[inside] *= val
        else:
            out[inside] += val
    return out


def _bridge(rng: np.random.Generator, sigma: np.ndarray, knots: np.ndarray, bound: float):
    """Noise pinned to zero at ``knots``, never farther than ``bound`` from zero."""
    walk = np.cumsum(rng.standard_normal(len(sigma)) * sigma)
    walk -= np.interp(np.arange(len(walk), dtype=np.float64), knots, walk[knots.astype(np.int64)])
    return bound * np.tanh(walk / bound)


def _smooth_noise(rng: np.random.Generator, n: int, tau: float, std: float) -> np.ndarray:
    """Exponentially smoothed white noise of the given standard deviation."""
    width = int(6 * tau) + 1
    kernel = np.exp(-np.arange(width) / tau)
    kernel /= np.sqrt(np.sum(kernel**2))
    eps = rng.standard_normal(n + width - 1)
    return std * np.convolve(eps, kernel, mode="valid")


# ---------------------------------------------------------------------------
# The market
# ---------------------------------------------------------------------------


class SimMarket:
    """A seeded, deterministic SIMULATED market over a run of sessions.

    seed: the root of every random stream.
    start: first session date (the first full session on or after it).
    days: number of sessions; without ``scenarios`` the default sequence is
    repeated or cut to this length.
    scenarios: scenario name per session (see ``SCENARIOS``); default
    ``DEFAULT_SEQUENCE``.
    trades_per_minute: ES trades per minute averaged over RTH; the others
    scale from it and the overnight rate is about a fifth.
    micros: also generate MES, MNQ, M2K and MYM.
    rate, dividend_yield, roll_days: the NQ fair-value inputs; NDX is derived
    so that NQ trades at ``NDX * (1 + (rate - dividend_yield) * days / 365)``
    plus the scenario's premium, ``days`` counted to the expiry of the front
    contract rolled ``roll_days`` before expiry (``SimSession.days_to_expiry``).
    """

    SIMULATED = True
    source_label = source_label

    def __init__(
        self,
        seed: int = 7,
        start: dt.date = dt.date(2025, 3, 3),
        days: int | None = None,
        scenarios: Sequence[str] | None = None,
        trades_per_minute: float = 100.0,
        micros: bool = False,
        calendar: str = DEFAULT_CALENDAR,
        rate: float = RATE,
        dividend_yield: float = DIVIDEND_YIELD,
        roll_days: int = ROLL_DAYS,
        cache_sessions: int = 3,
    ) -> None:
        if scenarios is None:
            n = len(DEFAULT_SEQUENCE) if days is None else int(days)
            scenarios = [DEFAULT_SEQUENCE[i % len(DEFAULT_SEQUENCE)] for i in range(n)]
        elif days is not None and days != len(scenarios):
            raise ValueError(f"days={days} but {len(scenarios)} scenarios were given")
        for name in scenarios:
            if name not in SCENARIOS:
                close = difflib.get_close_matches(name, SCENARIOS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown scenario {name!r}{hint} (known: {', '.join(SCENARIOS)})")
        if not scenarios:
            raise ValueError("a run needs at least one session")
        if trades_per_minute <= 0:
            raise ValueError("trades_per_minute must be positive")
        self.seed = int(seed)
        self.trades_per_minute = float(trades_per_minute)
        self.micros = bool(micros)
        self.rate = float(rate)
        self.dividend_yield = float(dividend_yield)
        self.opening_reference = {n: spec.price for n, spec in FUTURES.items()}
        self._sessions, self.skipped = self._pick_sessions(
            start, list(scenarios), calendar, int(roll_days)
        )
        self._states: list[PriorSession] = []
        self._events: list[SimEvent] = []
        self._cache: collections.OrderedDict[int, dict[str, Trades]] = collections.OrderedDict()
        self._cache_size = max(1, int(cache_sessions))

    # -- what the run contains ------------------------------------------------

    @property
    def instruments(self) -> tuple[str, ...]:
        micros = tuple(MICROS) if self.micros else ()
        return tuple(FUTURES) + micros + INDEXES

    @property
    def futures(self) -> tuple[str, ...]:
        return tuple(FUTURES) + (tuple(MICROS) if self.micros else ())

    def sessions(self) -> tuple[SimSession, ...]:
        """The run's sessions in order, each with its date and scenario name."""
        return self._sessions

    def events(self) -> tuple[SimEvent, ...]:
        """The scheduled releases of the run (for the event calendar)."""
        self._advance(len(self._sessions) - 1)
        return tuple(self._events)

    def settlements(self) -> dict[dt.date, dict[str, float]]:
        """Per session date, per futures root: VWAP of trades 15:59:30-16:00:00 ET."""
        self._advance(len(self._sessions) - 1)
        return {
            s.session_date: dict(st.settle)
            for s, st in zip(self._sessions, self._states, strict=True)
        }

    def prior_settlement(self, session: int | dt.date) -> dict[str, float]:
        """The settlement the given session's RS% is measured against."""
        k = self._index(session)
        if k == 0:
            return dict(self.opening_reference)
        self._advance(k - 1)
        return dict(self._states[k - 1].settle)

    def session_trades(self, session: int | dt.date) -> dict[str, Trades]:
        """All instruments' trades of one session (index or date)."""
        k = self._index(session)
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        self._advance(k - 1)
        out = self._generate(k)
        self._remember(k, out)
        return out

    def trades(self, session: int | dt.date, instrument: str) -> Trades:
        data = self.session_trades(session)
        if instrument not in data:
            raise KeyError(f"{instrument!r} is not simulated here (have: {', '.join(data)})")
        return data[instrument]

    def __iter__(self) -> Iterator[tuple[SimSession, dict[str, Trades]]]:
        for k, s in enumerate(self._sessions):
            yield s, self.session_trades(k)

    def __len__(self) -> int:
        return len(self._sessions)

    # -- internals -------------------------------------------------------------

    def _index(self, session: int | dt.date) -> int:
        if isinstance(session, dt.date):
            for s in self._sessions:
                if s.session_date == session:
                    return s.index
            raise KeyError(f"no simulated session on {session}")
        k = int(session)
        if not 0 <= k < len(self._sessions):
            raise IndexError(f"session {k} is outside the run of {len(self._sessions)}")
        return k

    def _remember(self, k: int, data: dict[str, Trades]) -> None:
        self._cache[k] = data
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _advance(self, k: int) -> None:
        """Generate sessions in order until the state of session ``k`` is known."""
        while len(self._states) <= k:
            j = len(self._states)
            self._remember(j, self._generate(j))

    @staticmethod
    def _pick_sessions(start: dt.date, scenarios: list[str], calendar: str, roll_days: int):
        picked: list[SimSession] = []
        skipped: list[dt.date] = []
        lo = start
        while len(picked) < len(scenarios):
            hi = lo + dt.timedelta(days=int(len(scenarios) * 1.6) + 10)
            sched = load_schedule(lo, hi, calendar)
            nyse = _nyse_regular_days(lo, hi)
            for i in range(len(sched)):
                day = sched.session_date[i].astype(dt.date)
                o, c = int(sched.open_ns[i]), int(sched.close_ns[i])
                full = (
                    day in nyse
                    and o == _et_ns(day - dt.timedelta(days=1), dt.time(18))
                    and c == _et_ns(day, dt.time(17))
                    and sched.break_start_ns[i] == sched.break_end_ns[i]
                )
                if not full:
                    skipped.append(day)
                    continue
                expiry = contract_expiry(day, roll_days)
                picked.append(
                    SimSession(
                        index=len(picked),
                        session_date=day,
                        scenario=scenarios[len(picked)],
                        open_ns=o,
                        close_ns=c,
                        rth_open_ns=_et_ns(day, dt.time(9, 30)),
                        rth_close_ns=_et_ns(day, dt.time(16)),
                        expiry=expiry,
                        days_to_expiry=(expiry - day).days,
                    )
                )
                if len(picked) == len(scenarios):
                    break
            lo = hi + dt.timedelta(days=1)
        return tuple(picked), tuple(skipped)

    def _rng(self, session: SimSession, name: str, purpose: str) -> np.random.Generator:
        key = [self.seed, session.session_date.toordinal(), _stream_key(name), _stream_key(purpose)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))

    def _generate(self, k: int) -> dict[str, Trades]:
        session = self._sessions[k]
        prior = self._states[k - 1] if k > 0 else None
        base = dict(prior.settle) if prior else dict(self.opening_reference)
        length = (session.close_ns - session.open_ns) // NS_PER_SECOND
        script = Script(
            session_date=session.session_date,
            open_ns=session.open_ns,
            length=length,
            prior=prior,
        )
        SCENARIOS[session.scenario](script, self._rng(session, "script", session.scenario))
        paths = self._paths(session, script)

        out: dict[str, Trades] = {}
        for name, spec in {**FUTURES, **(MICROS if self.micros else {})}.items():
            root = spec.parent or name
            out[name] = self._futures_trades(session, script, spec, paths[root], base[root])
        out.update(self._index_prints(session, script, paths, base))

        if k == len(self._states):
            self._states.append(self._summarise(session, out))
            for t, name, importance in script.events:
                ts = session.open_ns + int(round(t)) * NS_PER_SECOND
                self._events.append(SimEvent(ts, name, importance, session.session_date))
        return out

    def _paths(self, session: SimSession, script: Script) -> dict[str, np.ndarray]:
        """RS% of each futures root per second of the session."""
        n = script.length
        grid = np.arange(n, dtype=np.float64)
        times = {0.0, float(n - 1)}
        times.update(np.arange(0.0, n, 1800.0))
        for pts in [script.market, *script.paths.values(), *script.offsets.values()]:
            times.update(t for t, _ in pts)
        knots = np.array(sorted(t for t in times if 0 <= t <= n - 1))
        base_sigma = _shape(script, _VOLATILITY, grid)

        def scaled(who: str | None) -> np.ndarray:
            windows = [(a, b, m, m) for w, a, b, m in script.noise if w == who]
            return base_sigma * _windows(grid, windows, 1.0, "mul") if windows else base_sigma

        sigma = scaled(None)

        mt, mv = zip(*script.market, strict=True)
        market = np.interp(grid, mt, mv)
        factor = _bridge(self._rng(session, "market", "factor"), sigma, knots, script.factor_bound)

        paths: dict[str, np.ndarray] = {}
        for name, spec in FUTURES.items():
            if name in script.paths:
                pt, pv = zip(*script.paths[name], strict=True)
                skeleton = np.interp(grid, pt, pv)
            else:
                skeleton = spec.beta * market
            if name in script.offsets:
                ot, ov = zip(*script.offsets[name], strict=True)
                skeleton = skeleton + np.interp(grid, ot, ov)
            own_sigma = scaled(name) * spec.idio_sigma * script.idio_mult.get(name, 1.0)
            bound = script.idio_bound.get(name, spec.idio_bound)
            own = _bridge(self._rng(session, name, "path"), own_sigma, knots, bound)
            paths[name] = skeleton + spec.beta * factor + own
        return paths

    def _futures_trades(
        self,
        session: SimSession,
        script: Script,
        spec: SimInstrument,
        path: np.ndarray,
        base: float,
    ) -> Trades:
        rng = self._rng(session, spec.name, "trades")
        n_sec = len(path)
        n_min = n_sec // 60
        minute = np.arange(n_min, dtype=np.float64) * 60.0 + 30.0
        activity = _shape(script, _ACTIVITY, minute)
        windows = [
            (a, b, m0, m1) for who, a, b, m0, m1 in script.volume if who in (None, spec.name)
        ]
        if spec.parent is not None:
            windows += [(a, b, m0, m1) for who, a, b, m0, m1 in script.volume if who == spec.parent]
        activity *= _windows(minute, windows, 1.0, "mul")
        edges = path[np.minimum(np.arange(n_min + 1) * 60, n_sec - 1)]
        move = np.abs(np.diff(edges)) / (TYPICAL_MINUTE_MOVE * max(abs(spec.beta), 0.3))
        activity *= 0.75 + 0.25 * np.minimum(move, 6.0)
        lam = self.trades_per_minute * spec.rate * activity
        counts = rng.poisson(lam)
        total = int(counts.sum())
        # Never exactly on a whole second: no trade sits on a bar boundary.
        offsets = rng.integers(1, 60 * NS_PER_SECOND, size=total, dtype=np.int64)
        offsets[offsets % NS_PER_SECOND == 0] += 1
        ts = np.repeat(np.arange(n_min, dtype=np.int64) * 60 * NS_PER_SECOND, counts) + offsets
        ts.sort()
        ts += session.open_ns
        second = (ts - session.open_ns) // NS_PER_SECOND
        value = base * (1.0 + path[second] / 100.0)
        ask = rng.random(total) < 0.5
        ticks = np.floor(value / spec.tick) + ask
        price = np.round(ticks * spec.tick, 10)
        size = rng.geometric(1.0 / spec.mean_size, size=total).astype(np.float64)
        block = rng.random(total) < 0.004
        size[block] += rng.integers(5, 60, size=int(block.sum()))
        return Trades(ts, price, size)

    def _index_prints(
        self,
        session: SimSession,
        script: Script,
        paths: dict[str, np.ndarray],
        base: dict[str, float],
    ) -> dict[str, Trades]:
        s0 = (session.rth_open_ns - session.open_ns) // NS_PER_SECOND
        s1 = (session.rth_close_ns - session.open_ns) // NS_PER_SECOND
        secs = np.arange(s0, s1, dtype=np.int64)
        ts = session.open_ns + secs * NS_PER_SECOND
        zero = np.zeros(len(secs))
        grid = secs.astype(np.float64)
        es, nq, rty, ym = (paths[n] for n in EQUITY)

        # $TICK: the last minute's, quarter hour's and hour's move of a broad blend.
        broad = 0.45 * es + 0.15 * nq / 1.5 + 0.25 * rty / 1.2 + 0.15 * ym / 0.9
        one = (broad[secs] - broad[secs - 60]) / TYPICAL_MINUTE_MOVE
        fifteen = (broad[secs] - broad[secs - 900]) / (TYPICAL_MINUTE_MOVE * np.sqrt(15.0))
        rng = self._rng(session, "$TICK", "prints")
        noise = _smooth_noise(rng, len(secs), 6.0, 140.0) + 60.0 * rng.standard_normal(len(secs))
        hour = np.tanh((broad[secs] - broad[np.maximum(secs - 3600, 0)]) / 0.3)
        tick = 180.0 * one + 100.0 * fifteen + 300.0 * hour + noise
        tick += _windows(grid, [(a, b, v, v) for a, b, v in script.tick_bias], 0.0, "add")
        tick = np.round(1800.0 * np.tanh(tick / 1800.0))

        # $ADD: the day's breadth, mostly ES and RTY, ramping in over the first minutes.
        rng = self._rng(session, "$ADD", "prints")
        ramp = np.minimum((grid - s0 + 1) / 300.0, 1.0)
        breadth = 0.4 * es[secs] + 0.6 * rty[secs]
        add = 1800.0 * breadth * ramp + _smooth_noise(rng, len(secs), 240.0, 130.0)
        add += _windows(grid, [(a, b, v, v) for a, b, v in script.add_bias], 0.0, "add")
        add = np.round(2600.0 * np.tanh(add / 2600.0))

        # NDX: NQ less its premium, discounted by the carry to the contract's expiry.
        rng = self._rng(session, "NDX", "prints")
        n = script.length
        level = float(rng.uniform(0.0, 1.5))
        premium_pts = script.premium or [(0.0, level), (n - 1.0, level)]
        pt, pv = zip(*premium_pts, strict=True)
        knots = np.arange(0.0, n, 1800.0)
        knots = np.unique(np.concatenate([knots, np.array(pt), [n - 1.0]]))
        wiggle = _bridge(rng, np.full(n, 0.12), knots, 3.0)
        premium = np.interp(secs.astype(np.float64), pt, pv) + wiggle[secs]
        # A print at second s shows the value just before it, like NQ's last trade.
        nq_value = base["NQ"] * (1.0 + nq[secs - 1] / 100.0)
        carry = 1.0 + (self.rate - self.dividend_yield) * session.days_to_expiry / 365.0
        ndx = np.round((nq_value - premium) / carry, 2)

        return {
            "$TICK": Trades(ts, tick.astype(np.float64), zero),
            "$ADD": Trades(ts.copy(), add.astype(np.float64), zero.copy()),
            "NDX": Trades(ts.copy(), ndx, zero.copy()),
        }

    @staticmethod
    def _summarise(session: SimSession, out: dict[str, Trades]) -> PriorSession:
        settle, high, rth_high = {}, {}, {}
        lo = session.rth_close_ns - SETTLE_WINDOW_S * NS_PER_SECOND
        for name, tr in out.items():
            if name in INDEXES:
                continue
            window = (tr.ts >= lo) & (tr.ts < session.rth_close_ns)
            if window.any():
                settle[name] = float(
                    np.sum(tr.price[window] * tr.size[window]) / tr.size[window].sum()
                )
            else:  # a very thin run: the last trade before 16:00
                before = np.searchsorted(tr.ts, session.rth_close_ns) - 1
                settle[name] = float(tr.price[max(before, 0)])
            rth = (tr.ts >= session.rth_open_ns) & (tr.ts < session.rth_close_ns)
            high[name] = float(tr.price.max())
            rth_high[name] = float(tr.price[rth].max()) if rth.any() else high[name]
        return PriorSession(settle, high, rth_high)
