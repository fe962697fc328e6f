"""From a trade's records to the OIF lines that carry them out.

A :class:`Trade` is what the bridge knows of one entry: where it goes, its
order ids and prices, and how far it got. The functions here only build
lines; the bridge decides when they are sent.
"""

from __future__ import annotations

import attrs

from rsengine.exchange import contracts

from . import oif
from .instruments import order_instrument, root_of

# how far a trade got
QUEUED, SENT, CLOSED = "queued", "sent", "closed"
EXPIRED, DROPPED, REJECTED = "expired", "dropped", "rejected"
# exits NinjaTrader's own orders carry out: the bracket's OCO, or the ATM strategy
BRACKET_EXITS = ("stop", "target")


@attrs.define(eq=False)
class Trade:
    entry_id: str  # the entry signal's id
    instrument: str  # NinjaTrader's name, e.g. "ES 12-25"
    side: str  # long | short
    qty: int
    session: str
    ts: int  # the entry's bar close, ns UTC: the clock of its queue expiry
    order_type: str  # market | limit
    atm: str | None = None  # the ATM template
    entry_price: str | None = None  # prices as written, on the tick grid
    stop: str | None = None
    target: str | None = None
    status: str = QUEUED
    bracket: int = 0  # contracts the stop and target legs cover so far
    ids: dict = attrs.field(init=False)  # its order ids, from the entry's id

    def __attrs_post_init__(self):
        self.ids = oif.order_ids(self.entry_id)

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1

    @property
    def leg_ids(self) -> list[str]:
        """The bracket's order ids (none with an ATM template)."""
        if self.atm:
            return []
        legs = [self.ids["stop"]]
        if self.target is not None:
            legs.append(self.ids["target"])
        return legs

    def placed_ids(self) -> list[str]:
        return [self.ids["entry"], *(self.leg_ids if self.bracket else [])]

    def to_record(self) -> dict:
        return attrs.asdict(self, filter=lambda a, _: a.name not in ("status", "bracket", "ids"))


def new_trade(signal, config, settings) -> Trade:
    """The trade an entry signal asks for; a ValueError when it cannot be
    placed (no contract name, no stop without an ATM template)."""
    instrument = order_instrument(signal, config, settings.contracts)
    tick = _tick(signal, config)
    if signal.stop is None and not settings.atm_strategy:
        raise ValueError("the entry has no stop: no bracket to protect it")
    if settings.entry_order == "limit" and signal.entry is None:
        raise ValueError("entry_order limit, but the entry has no price")
    return Trade(
        entry_id=signal.id,
        instrument=instrument,
        side=signal.side,
        qty=int(signal.contracts),
        session=signal.session_date,
        ts=int(signal.ts_close),
        order_type=settings.entry_order,
        atm=settings.atm_strategy,
        entry_price=None if signal.entry is None else oif.price(signal.entry, tick),
        stop=None if signal.stop is None else oif.price(signal.stop, tick),
        target=None if signal.target is None else oif.price(signal.target, tick),
    )


def _tick(signal, config) -> float:
    root = root_of(signal, config)
    try:
        inst = config.instrument(signal.instrument)
        if inst.root == root and inst.tick:
            return inst.tick
    except KeyError:
        pass
    return contracts.spec(root).tick


def entry_lines(trade: Trade, account: str, tif: str) -> list[str]:
    ids = trade.ids
    action = oif.ACTIONS[trade.side][0]
    limit = trade.entry_price if trade.order_type == "limit" else None
    return [
        oif.place(
            account,
            trade.instrument,
            action,
            trade.qty,
            trade.order_type.upper(),
            tif,
            ids["entry"],
            limit=limit,
            strategy=trade.atm,
            strategy_id=ids["strategy"] if trade.atm else None,
        )
    ]


def bracket_lines(trade: Trade, account: str, tif: str, qty: int) -> list[str]:
    """The stop (STOPMARKET) and the target (LIMIT) on the exit side, one OCO
    group when both are there; none with an ATM template (it brings its own)."""
    if trade.atm:
        return []
    ids = trade.ids
    action = oif.ACTIONS[trade.side][1]
    oco = ids["oco"] if trade.target is not None else None
    lines = [
        oif.place(
            account, trade.instrument, action, qty, "STOPMARKET", tif, ids["stop"],
            stop=trade.stop, oco_id=oco,
        )
    ]  # fmt: skip
    if trade.target is not None:
        lines.append(
            oif.place(
                account, trade.instrument, action, qty, "LIMIT", tif, ids["target"],
                limit=trade.target, oco_id=oco,
            )
        )  # fmt: skip
    return lines


def resize_lines(trade: Trade, qty: int) -> list[str]:
    """The bracket legs to ``qty`` contracts (a limit entry filled further)."""
    return [oif.change_quantity(order_id, qty) for order_id in trade.leg_ids]


def exit_lines(trade: Trade, how: str, account: str, live_orders: set) -> list[str]:
    """What an exit record of ``trade`` sends. ``live_orders``: the trade's
    order ids not known to be filled, cancelled or rejected.

    A stop or target NinjaTrader's OCO (or ATM strategy) carried out itself:
    the other leg is cancelled in case the OCO did not (and a limit entry's
    unfilled rest). Any other exit (a setup rule, session end, the daily loss
    limit): CLOSEPOSITION, which cancels the working orders and flattens.
    """
    ids = trade.ids
    if how not in BRACKET_EXITS:
        return [oif.close_position(account, trade.instrument)]
    if trade.atm:
        other = oif.ATM_TARGET if how == "stop" else oif.ATM_STOP
        return [oif.cancel(other, ids["strategy"])]
    lines = []
    if ids["entry"] in live_orders:
        lines.append(oif.cancel(ids["entry"]))
    other = ids["target" if how == "stop" else "stop"]
    if trade.bracket and other in trade.leg_ids and other in live_orders:
        lines.append(oif.cancel(other))
    return lines


def unwind_lines(trade: Trade, live_orders: set) -> list[str]:
    """The legs of a rejected entry, cancelled: with no position they would
    open one."""
    return [oif.cancel(order_id) for order_id in trade.leg_ids if order_id in live_orders]
