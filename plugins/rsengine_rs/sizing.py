"""The confirmation stack, the size fraction and the contracts of a trade
signal (DOMAIN.md §7).

The stack has four checks, in ``rsengine.model.CONFIRMATIONS`` order: ``rs``
(an RS divergence in a suitable regime), ``tick`` ($TICK supports the
direction), ``add`` ($ADD confirms participation, or for a fade its absence)
and ``volume`` (volume expanding on the instrument). A check is held, not
held, or unknown (its feed is missing); unknown counts as not held and the
record says so.

Size fraction (``SIZE_TABLE``, our reading of the rule book's ranges): RS and
all three others 1.0, RS and two 0.75, RS and one 0.5, RS alone 0.25; without
RS, or with the internals contradicting, no trade. Then a setup's own factor
(the laggard's half size), the chop cap and the afternoon discount.

Contracts = floor(budget x fraction / (stop points x $ per point)). Zero
contracts means no order; the reason names the numbers. With
``micro_fallback`` a mini that rounds to zero is sized in its micro instead.
"""

from __future__ import annotations

import math

import attrs

from rsengine.exchange.contracts import spec
from rsengine.model import CONFIRMATIONS

SIZE_TABLE = {4: 1.0, 3: 0.75, 2: 0.5, 1: 0.25}
EPS = 1e-9


@attrs.frozen
class Check:
    """One confirmation: ``held`` True, False, or None when its feed is missing."""

    name: str
    held: bool | None
    why: str


@attrs.frozen
class Stack:
    """The four checks and whether the internals contradict the trade."""

    checks: tuple
    contradiction: str = ""  # why the internals are against the trade, or ""
    held: tuple = attrs.field(init=False)  # the names of the checks that held

    def __attrs_post_init__(self):
        object.__setattr__(self, "held", tuple(c.name for c in self.checks if c.held))

    def details(self) -> dict:
        """``{name: "held: why" | "not held: why" | "unknown: why"}`` for the record."""
        word = {True: "held", False: "not held", None: "unknown"}
        return {c.name: f"{word[c.held]}: {c.why}" for c in self.checks}

    def describe(self) -> str:
        """``rs+tick+volume`` (or ``none``)."""
        return "+".join(self.held) or "none"


def stack(rs: Check, tick: Check, add: Check, volume: Check, contradiction: str = "") -> Stack:
    checks = (rs, tick, add, volume)
    assert tuple(c.name for c in checks) == CONFIRMATIONS
    return Stack(checks, contradiction)


@attrs.frozen
class Regime:
    """What the regime does to a trade's size."""

    chop: bool = False
    afternoon: bool = False
    chop_cap: float = 0.25
    afternoon_discount: float = 0.5


def size_fraction(s: Stack, regime: Regime, factor: float = 1.0) -> tuple[float, str]:
    """The fraction of a full-size trade and how it was reached."""
    if "rs" not in s.held:
        return 0.0, "no RS divergence: no trade"
    if s.contradiction:
        return 0.0, f"internals contradict ({s.contradiction}): skip"
    base = SIZE_TABLE[len(s.held)]
    fraction, how = base * factor, f"{s.describe()} -> {base:g}"
    if factor != 1:
        how += f" x {factor:g}"
    if regime.chop and fraction > regime.chop_cap:
        fraction, how = regime.chop_cap, how + f", chop cap {regime.chop_cap:g}"
    if regime.afternoon:
        fraction *= regime.afternoon_discount
        how += f", afternoon x {regime.afternoon_discount:g}"
    return fraction, how


@attrs.frozen
class Size:
    """Contracts of one trade, in the instrument or in its micro."""

    contracts: int
    root: str  # what is traded: the instrument's root, or its micro's
    point_value: float
    risk: float  # dollars at risk: contracts x stop points x point value
    reason: str  # why this many (and why none)


def contracts_for(budget: float, fraction: float, stop_points: float, point_value: float) -> int:
    """floor(budget x fraction / (stop points x $ per point)); 0 without a stop."""
    if fraction <= 0 or not stop_points > 0:
        return 0
    return math.floor(budget * fraction / (stop_points * point_value) + EPS)


def size(
    budget: float,
    fraction: float,
    stop_points: float,
    root: str,
    point_value: float,
    micro_fallback: bool = True,
) -> Size:
    """The contracts of a trade risking ``budget x fraction`` with its stop
    ``stop_points`` away, in ``root`` (``point_value`` $ per point) or, when
    that rounds to zero and ``micro_fallback``, in its micro."""
    allowed = budget * fraction
    if fraction <= 0:
        return Size(0, root, point_value, 0.0, "size fraction 0: no order")
    n = contracts_for(budget, fraction, stop_points, point_value)
    per = stop_points * point_value
    if n:
        return Size(n, root, point_value, n * per, _fits(n, root, stop_points, point_value))
    too_big = (
        f"stop {stop_points:.10g} pt x ${point_value:g} = ${per:,.2f} > budget ${budget:,.0f}"
        f" x {fraction:g} = ${allowed:,.2f}"
    )
    micro = _micro(root) if micro_fallback else None
    if micro is not None:
        m = contracts_for(budget, fraction, stop_points, micro.point_value)
        if m:
            ppv = micro.point_value
            reason = f"{root}: {too_big}; {_fits(m, micro.root, stop_points, ppv)}"
            return Size(m, micro.root, ppv, m * stop_points * ppv, reason)
        per_micro = stop_points * micro.point_value
        too_big += f"; {micro.root} too: ${per_micro:,.2f} per contract"
    return Size(0, root, point_value, 0.0, f"no order: {too_big}")


def capped(sized: Size, stop_points: float, cap: int | None) -> Size:
    """``sized`` with at most ``cap`` contracts (``None``: no cap)."""
    if cap is None or sized.contracts <= cap:
        return sized
    risk = cap * stop_points * sized.point_value
    reason = f"{sized.reason}; capped at max_contracts {cap} (${risk:,.2f} at risk)"
    return Size(cap, sized.root, sized.point_value, risk, reason)


def _fits(n: int, root: str, stop_points: float, point_value: float) -> str:
    return (
        f"{n} {root} x stop {stop_points:.10g} pt x ${point_value:g}"
        f" = ${n * stop_points * point_value:,.2f} at risk"
    )


def _micro(root: str):
    try:
        micro = spec(root).micro
    except (KeyError, ValueError):
        return None
    return spec(micro) if micro else None
