"""Instrument names: what an order is placed in, and what NinjaTrader's
position files call it.

Orders use NinjaTrader's ``Instrument.FullName``, ``"<ROOT> <MM-YY>"``
(``ES 12-25``): the signal's ``contract`` (already that form, the micro's when
the trade was sized in the micro), else the front month of the root actually
traded (``details["traded"]``) on the signal's session date, from the roll
calendar. The ``contracts`` setting overrides either, by contract name or by
root.

Position files name the instrument in whatever form the user's NinjaTrader
displays: ``ES 12-25``, ``MNQ SEP24`` (month names) or ``MNQM6`` (exchange
code), each followed by the exchange. :func:`canonical` turns every form into
``ES 12-25`` so that they compare.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from rsengine.exchange import contracts

MONTH_NAMES = ("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split()
_MONTH_NAME = re.compile(r"^\s*([A-Z0-9$]+)\s+([A-Z]{3})(\d{2})\s*$")


def root_of(signal, config) -> str:
    """The root actually traded: ``details["traded"]`` (a micro substitution),
    else the configured instrument's root."""
    traded = signal.details.get("traded") if isinstance(signal.details, dict) else None
    if traded:
        return str(traded)
    try:
        return config.instrument(signal.instrument).root
    except (KeyError, AttributeError):
        return signal.instrument


def order_instrument(signal, config, overrides: dict) -> str:
    """NinjaTrader's name of the contract an entry ``signal`` trades; a
    ValueError when it has none (an index, an unknown root)."""
    root = root_of(signal, config)
    name = signal.contract or front_month_name(signal, config, root)
    return overrides.get(name) or overrides.get(root) or name


def front_month_name(signal, config, root: str) -> str:
    day = dt.date.fromisoformat(signal.session_date)
    try:
        month = config.instrument(signal.instrument).contract_on(day)
    except KeyError:
        month = None
    if month is None:
        month = contracts.front_month(root, day)
    return contracts.ninjatrader_name(root, *month)


@functools.lru_cache(maxsize=1024)
def canonical(name: str, today: dt.date | None = None) -> str:
    """``"ES 12-25"``, ``"ESZ5"``, ``"ESZ25"`` and ``"ES DEC25"`` -> ``"ES 12-25"``;
    a name of none of those forms comes back upper-cased, trimmed."""
    text = " ".join(str(name).split()).upper()
    m = _MONTH_NAME.match(text)
    if m and m.group(2) in MONTH_NAMES:
        text = f"{m.group(1)} {MONTH_NAMES.index(m.group(2)) + 1:02d}-{m.group(3)}"
    try:
        root, year, month = contracts.parse_contract(text, today=today)
    except ValueError:
        return text
    return f"{root} {month:02d}-{year % 100:02d}"


def without_exchange(text: str) -> str:
    """``"ES 12-25 Globex"`` -> ``"ES 12-25"``; ``"MNQM6 Globex"`` -> ``"MNQM6"``:
    the last word goes when it is letters only and something stands before it."""
    words = text.split()
    if len(words) >= 2 and words[-1].isalpha():
        return " ".join(words[:-1])
    return " ".join(words)
