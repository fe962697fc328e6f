"""NinjaTrader 8 order instruction lines (OIF), built to the ATI grammar.

Every line has 13 positional fields, so 12 semicolons::

    COMMAND;ACCOUNT;INSTRUMENT;ACTION;QTY;ORDER TYPE;LIMIT PRICE;STOP PRICE;
    TIF;OCO ID;ORDER ID;STRATEGY;STRATEGY ID          (one line)

Unused fields stay empty. Prices are written in US decimal form on the
instrument's tick grid, with as many decimals as the tick has (ES ``6480.00``,
RTY ``2119.4``, YM ``42844``).
"""

from __future__ import annotations

import math

FIELDS = (
    "command",
    "account",
    "instrument",
    "action",
    "qty",
    "order_type",
    "limit_price",
    "stop_price",
    "tif",
    "oco_id",
    "order_id",
    "strategy",
    "strategy_id",
)
ORDER_TYPES = ("MARKET", "LIMIT", "STOPMARKET", "STOPLIMIT")  # NT8: STOP is rejected
TIFS = ("DAY", "GTC")
ACTIONS = {"long": ("BUY", "SELL"), "short": ("SELL", "BUY")}  # side -> (entry, exit)
# ATM order names a CANCEL may give together with the STRATEGY ID
ATM_STOP, ATM_TARGET = "STOP1", "TARGET1"


def line(command: str, **fields) -> str:
    """One instruction line; ``fields`` by the names of :data:`FIELDS`."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"no OIF field {sorted(unknown)}")
    values = [command] + [_text(fields.get(name)) for name in FIELDS[1:]]
    for value in values:
        if ";" in value or "\n" in value or "\r" in value:
            raise ValueError(f"an OIF field cannot hold ';' or a line break: {value!r}")
    return ";".join(values)


def _text(value) -> str:
    return "" if value is None else str(value)


def price(value: float, tick: float) -> str:
    """``value`` on the tick grid, US decimal form, the tick's decimals."""
    if value is None or not math.isfinite(value):
        raise ValueError(f"not a price: {value!r}")
    decimals = tick_decimals(tick)
    steps = round(value / tick)
    return f"{steps * tick:.{decimals}f}"


def tick_decimals(tick: float) -> int:
    """Decimals of the tick: 0.25 -> 2, 0.1 -> 1, 1.0 -> 0, 1/64 -> 6."""
    text = repr(float(tick))
    if "e" in text:  # very small ticks: fall back to a generous precision
        return 10
    _, _, fraction = text.partition(".")
    return 0 if fraction == "0" else len(fraction)


# --- the commands the bridge writes ------------------------------------------------


def place(
    account: str,
    instrument: str,
    action: str,
    qty: int,
    order_type: str,
    tif: str,
    order_id: str,
    *,
    limit: str | None = None,
    stop: str | None = None,
    oco_id: str | None = None,
    strategy: str | None = None,
    strategy_id: str | None = None,
) -> str:
    if order_type not in ORDER_TYPES:
        raise ValueError(f"order type {order_type!r} is not one of {', '.join(ORDER_TYPES)}")
    if tif not in TIFS:
        raise ValueError(f"TIF {tif!r} is not one of {', '.join(TIFS)}")
    if action not in ("BUY", "SELL"):
        raise ValueError(f"action {action!r} is not BUY or SELL")
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        raise ValueError(f"quantity {qty!r} is not a whole number of 1 or more")
    return line(
        "PLACE",
        account=account,
        instrument=instrument,
        action=action,
        qty=qty,
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        tif=tif,
        oco_id=oco_id,
        order_id=order_id,
        strategy=strategy,
        strategy_id=strategy_id,
    )


def cancel(order_id: str, strategy_id: str | None = None) -> str:
    return line("CANCEL", order_id=order_id, strategy_id=strategy_id)


def change_quantity(order_id: str, qty: int) -> str:
    """CHANGE of the quantity only: ``0`` leaves a price as it is."""
    return line("CHANGE", qty=qty, limit_price=0, stop_price=0, order_id=order_id)


def close_position(account: str, instrument: str) -> str:
    """Cancels the account's working orders in ``instrument`` and flattens it."""
    return line("CLOSEPOSITION", account=account, instrument=instrument)


# --- order ids, derived from the signal id -------------------------------------------


def order_ids(signal_id: str) -> dict:
    """The ids of one trade's orders: ``rs-<signal id>-E`` (entry), ``-S`` (stop),
    ``-T`` (target), ``-O`` (their OCO group) and ``-A`` (an ATM strategy)."""
    base = f"rs-{signal_id}"
    return {
        "entry": f"{base}-E",
        "stop": f"{base}-S",
        "target": f"{base}-T",
        "oco": f"{base}-O",
        "strategy": f"{base}-A",
    }
