"""The built-in contract table and contract-month helpers.

Every instrument rsengine knows by name has a :class:`ContractSpec` here: its
exchange, dollar value per point, tick, micro/full-size link, exchange calendar
and whether it trades quarterly contract months. The config may override
``point_value``, ``tick`` and ``calendar`` per instrument; the table holds the
defaults (DOMAIN §1).

Contract months:

* Equity index futures (ES, NQ, RTY, YM and the micros) list quarterly months
  H (Mar), M (Jun), U (Sep), Z (Dec) and expire on the **third Friday** of the
  contract month (trading in the expiring contract stops at the 09:30 ET open;
  the final settlement is the special opening quotation). When that Friday is an
  exchange holiday the exchange moves expiry to the business day before; that
  rare case is not modelled here.
* Treasury futures (ZN, ZB) list the same quarterly months; trading stops on the
  **seventh business day before the last business day** of the contract month.
  Business days are NYSE trading days (its holidays include Good Friday and
  Juneteenth, like CBOT's), read from ``pandas_market_calendars``. Note that
  Treasury volume rolls around first notice day at the end of the month *before*
  the contract month, well ahead of this date; pass ``roll_days`` to
  :func:`front_month` to roll earlier.

A contract counts as expired **on** its expiry date: ``front_month(root, d)``
returns the next contract when ``d`` is the expiry day itself, because the
expiring contract no longer trades for most of that day.

Contract names: NinjaTrader writes ``"ES 12-25"`` (root, space, ``MM-YY``);
exchange codes are ``"ESZ5"`` or ``"ESZ25"`` (root, month letter, year).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re

import attrs

__all__ = [
    "CONTRACTS",
    "ContractSpec",
    "MONTH_CODES",
    "QUARTERLY_MONTHS",
    "closest_match",
    "contract_code",
    "days_to_expiry",
    "expiry",
    "front_month",
    "known_roots",
    "month_code",
    "ninjatrader_name",
    "parse_contract",
    "parse_month_year",
    "spec",
    "suggest_root",
    "third_friday",
]

#: Futures month letters.
MONTH_CODES = {
    "F": 1, "G": 2, "H": 3, "J": 4, "K": 5, "M": 6,
    "N": 7, "Q": 8, "U": 9, "V": 10, "X": 11, "Z": 12,
}  # fmt: skip
_LETTER_OF_MONTH = {m: c for c, m in MONTH_CODES.items()}
#: The quarterly cycle: March, June, September, December.
QUARTERLY_MONTHS = (3, 6, 9, 12)

EQUITY_CALENDAR = "CME Globex Equity"
# Treasury futures on Globex: 18:00-17:00 ET, and unlike the CBOT_Bond calendar
# it knows the abbreviated Good Friday and Juneteenth sessions Treasuries trade.
TREASURY_CALENDAR = "CME Globex Fixed Income"
INDEX_CALENDAR = "NYSE"

_KINDS = ("future", "index")
_EXPIRY_RULES = ("third_friday", "treasury", None)


def _positive_or_none(instance, attribute, value):
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be more than 0, got {value!r}")


def _positive(instance, attribute, value):
    if not value > 0:
        raise ValueError(f"{attribute.name} must be more than 0, got {value!r}")


@attrs.frozen
class ContractSpec:
    """One instrument's contract terms.

    Attributes:
        root: The symbol root, e.g. ``"ES"``, ``"MNQ"``, ``"$TICK"``.
        exchange: The listing exchange (``"CME"``, ``"CBOT"``, ``"NYSE"``, ``"NASDAQ"``).
        point_value: US dollars per full point of price for one contract;
            ``None`` for an index, which cannot be traded.
        tick: The minimum price increment, in points (ZN 1/64, ZB 1/32).
        kind: ``"future"`` or ``"index"`` (cash indices and market internals).
        calendar: The ``pandas_market_calendars`` name giving its trading hours.
        quarterly: True when it lists only the H/M/U/Z contract months.
        micro_of: For a micro contract, the full-size root (MES -> ES).
        micro: For a full-size contract, its micro root (ES -> MES).
        expiry_rule: ``"third_friday"`` (equity index), ``"treasury"`` (7th
            business day before the month's last business day) or ``None``
            (no contract months).
        description: A human-readable name.
    """

    root: str
    exchange: str
    point_value: float | None = attrs.field(validator=_positive_or_none)
    tick: float = attrs.field(validator=_positive)
    kind: str = attrs.field(default="future", validator=attrs.validators.in_(_KINDS))
    calendar: str = EQUITY_CALENDAR
    quarterly: bool = True
    micro_of: str | None = None
    micro: str | None = None
    expiry_rule: str | None = attrs.field(
        default="third_friday", validator=attrs.validators.in_(_EXPIRY_RULES)
    )
    description: str = ""

    @property
    def has_contract_months(self) -> bool:
        """True when the instrument is traded in dated contracts (a future)."""
        return self.expiry_rule is not None


def _equity(root, exchange, point_value, tick, description, micro_of=None, micro=None):
    return ContractSpec(
        root=root,
        exchange=exchange,
        point_value=point_value,
        tick=tick,
        kind="future",
        calendar=EQUITY_CALENDAR,
        quarterly=True,
        micro_of=micro_of,
        micro=micro,
        expiry_rule="third_friday",
        description=description,
    )


def _treasury(root, tick, description):
    return ContractSpec(
        root=root,
        exchange="CBOT",
        point_value=1000.0,
        tick=tick,
        kind="future",
        calendar=TREASURY_CALENDAR,
        quarterly=True,
        expiry_rule="treasury",
        description=description,
    )


def _index(root, exchange, tick, description):
    return ContractSpec(
        root=root,
        exchange=exchange,
        point_value=None,
        tick=tick,
        kind="index",
        calendar=INDEX_CALENDAR,
        quarterly=False,
        expiry_rule=None,
        description=description,
    )


_TABLE = (
    _equity("ES", "CME", 50.0, 0.25, "E-mini S&P 500", micro="MES"),
    _equity("NQ", "CME", 20.0, 0.25, "E-mini Nasdaq-100", micro="MNQ"),
    _equity("RTY", "CME", 50.0, 0.10, "E-mini Russell 2000", micro="M2K"),
    # YM trades on CBOT but on the same Globex hours as the CME equity contracts.
    _equity("YM", "CBOT", 5.0, 1.0, "E-mini Dow ($5)", micro="MYM"),
    _equity("MES", "CME", 5.0, 0.25, "Micro E-mini S&P 500", micro_of="ES"),
    _equity("MNQ", "CME", 2.0, 0.25, "Micro E-mini Nasdaq-100", micro_of="NQ"),
    _equity("M2K", "CME", 5.0, 0.10, "Micro E-mini Russell 2000", micro_of="RTY"),
    _equity("MYM", "CBOT", 0.5, 1.0, "Micro E-mini Dow", micro_of="YM"),
    _treasury("ZN", 1 / 64, "10-Year T-Note"),
    _treasury("ZB", 1 / 32, "U.S. Treasury Bond"),
    _index("$TICK", "NYSE", 1.0, "NYSE TICK: upticks minus downticks"),
    _index("$ADD", "NYSE", 1.0, "NYSE advancing minus declining issues"),
    _index("NDX", "NASDAQ", 0.01, "Nasdaq-100 cash index"),
)

#: root -> ContractSpec, in table order.
CONTRACTS: dict[str, ContractSpec] = {s.root: s for s in _TABLE}


def known_roots() -> tuple[str, ...]:
    """Every root in the table, in table order."""
    return tuple(CONTRACTS)


def closest_match(word, choices, cutoff: float = 0.5) -> str | None:
    """The entry of ``choices`` most like ``word``, or None when none is close.

    Case-insensitive ``difflib`` ratio; ties go to the longer common prefix, then
    to the earlier choice.
    """
    text = str(word).lower()
    best, best_score = None, None
    for choice in choices:
        other = str(choice).lower()
        if other == text:
            return choice
        ratio = difflib.SequenceMatcher(None, text, other).ratio()
        if ratio < cutoff:
            continue
        prefix = len(os.path.commonprefix([text, other]))
        if best_score is None or (ratio, prefix) > best_score:
            best, best_score = choice, (ratio, prefix)
    return best


def suggest_root(root: str) -> str | None:
    """The known root closest to ``root`` (case-insensitive), or None."""
    return closest_match(root, CONTRACTS)


def spec(root: str) -> ContractSpec:
    """The table entry for ``root``; a ValueError naming the known roots otherwise."""
    try:
        return CONTRACTS[root]
    except (KeyError, TypeError):
        pass
    close = suggest_root(root)
    hint = f"; did you mean {close!r}?" if close else ""
    raise ValueError(
        f"unknown instrument root {root!r}: expected one of {', '.join(CONTRACTS)}{hint}"
    )


def _future_spec(root: str) -> ContractSpec:
    s = spec(root)
    if not s.has_contract_months:
        raise ValueError(f"{root} is an {s.kind}, it has no contract months")
    return s


def _check_month(s: ContractSpec, year: int, month: int) -> None:
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"contract month must be 1 to 12, got {month!r}")
    if not isinstance(year, int) or not 1900 <= year <= 2999:
        raise ValueError(f"contract year must be a four-digit year, got {year!r}")
    if s.quarterly and month not in QUARTERLY_MONTHS:
        raise ValueError(
            f"{s.root} lists quarterly contracts only (months 03, 06, 09, 12 = H, M, U, Z), "
            f"got month {month:02d}"
        )


# --- dates ------------------------------------------------------------------------


def third_friday(year: int, month: int) -> dt.date:
    """The third Friday of ``month`` in ``year``."""
    first = dt.date(year, month, 1)
    first_friday = 1 + (4 - first.weekday()) % 7
    return dt.date(year, month, first_friday + 14)


@functools.cache
def _business_days(year: int, month: int) -> tuple[dt.date, ...]:
    import pandas_market_calendars as mcal

    start = dt.date(year, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    days = mcal.get_calendar("NYSE").valid_days(start.isoformat(), end.isoformat())
    return tuple(d.date() for d in days)


def _treasury_last_trade(year: int, month: int) -> dt.date:
    days = _business_days(year, month)
    # days[-1] is the last business day; seven business days before it:
    return days[-8]


def expiry(root: str, contract: str | tuple[int, int]) -> dt.date:
    """Last trading day of a contract.

    ``contract`` is ``"MM-YY"`` (``"12-25"``) or ``(year, month)``. Equity
    index futures: the third Friday of the contract month. ZN/ZB: the seventh
    business day before the last business day of the contract month.
    """
    year, month = parse_month_year(contract) if isinstance(contract, str) else contract
    return _expiry(root, year, month)


@functools.lru_cache(maxsize=1024)
def _expiry(root: str, year: int, month: int) -> dt.date:
    s = _future_spec(root)
    _check_month(s, year, month)
    if s.expiry_rule == "treasury":
        return _treasury_last_trade(year, month)
    return third_friday(year, month)


def _as_date(day) -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    if isinstance(day, str):
        try:
            return dt.date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"expected a date as YYYY-MM-DD, got {day!r}") from None
    raise ValueError(f"expected a date, got {day!r}")


def front_month(root: str, day, roll_days: int = 0) -> tuple[int, int]:
    """``(year, month)`` of the front contract of ``root`` on ``day``.

    The front contract is the nearest quarterly (H/M/U/Z) contract whose expiry
    is still after ``day``. On the expiry day itself the next contract is
    front: the expiring one has stopped trading at the open (equity index) or at
    midday (Treasuries). ``roll_days`` moves the roll that many calendar days
    earlier (e.g. 8 for the usual equity roll on the Thursday of the week
    before expiry).
    """
    day = _as_date(day)
    if roll_days < 0:
        raise ValueError(f"roll_days must be 0 or more, got {roll_days!r}")
    return _front_month(root, day, roll_days)


@functools.lru_cache(maxsize=8192)  # asked for every trade signal's contract name
def _front_month(root: str, day: dt.date, roll_days: int) -> tuple[int, int]:
    s = _future_spec(root)
    months = QUARTERLY_MONTHS if s.quarterly else tuple(range(1, 13))
    year = day.year
    for _ in range(3):
        for month in months:
            if (year, month) < (day.year, day.month):
                continue
            if day < expiry(root, (year, month)) - dt.timedelta(days=roll_days):
                return year, month
        year += 1
    raise AssertionError("unreachable: no contract within two years")  # pragma: no cover


def days_to_expiry(day, contract) -> int:
    """Calendar days from ``day`` to the contract's expiry (0 on expiry day,
    negative once expired).

    ``contract`` is a contract name (``"ES 12-25"``, ``"ESZ5"``, ``"ESZ25"``) or
    a ``(root, year, month)`` tuple.
    """
    day = _as_date(day)
    if isinstance(contract, str):
        root, year, month = parse_contract(contract, today=day)
    else:
        try:
            root, year, month = contract
        except (TypeError, ValueError):
            raise ValueError(
                f"expected a contract name such as 'ES 12-25' or (root, year, month), "
                f"got {contract!r}"
            ) from None
    return (expiry(root, (year, month)) - day).days


# --- names ------------------------------------------------------------------------

_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})-(\d{2})\s*$")


def parse_month_year(text: str) -> tuple[int, int]:
    """NinjaTrader-style ``"MM-YY"`` -> ``(year, month)``; years are 20YY."""
    m = _MONTH_YEAR.match(str(text))
    if not m:
        raise ValueError(f"expected a contract month as MM-YY such as '12-25', got {text!r}")
    month, yy = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"contract month {text!r}: month must be 01 to 12")
    return 2000 + yy, month


def month_code(month: int) -> str:
    """Month number -> futures month letter (12 -> ``"Z"``)."""
    try:
        return _LETTER_OF_MONTH[month]
    except KeyError:
        raise ValueError(f"month must be 1 to 12, got {month!r}") from None


@functools.lru_cache(maxsize=1024)  # asked for every trade signal
def ninjatrader_name(root: str, year: int, month: int) -> str:
    """NinjaTrader's instrument name: ``("ES", 2025, 12)`` -> ``"ES 12-25"``."""
    s = _future_spec(root)
    _check_month(s, year, month)
    return f"{root} {month:02d}-{year % 100:02d}"


def contract_code(root: str, year: int, month: int, digits: int = 1) -> str:
    """Exchange code: ``("ES", 2025, 12)`` -> ``"ESZ5"`` (``digits=2``: ``"ESZ25"``,
    ``digits=4``: ``"ESZ2025"``)."""
    s = _future_spec(root)
    _check_month(s, year, month)
    if digits not in (1, 2, 4):
        raise ValueError(f"digits must be 1, 2 or 4, got {digits!r}")
    return f"{root}{month_code(month)}{year % 10**digits:0{digits}d}"


def _roots_pattern() -> str:
    roots = sorted((r for r, s in CONTRACTS.items() if s.has_contract_months), key=len)
    return "|".join(re.escape(r) for r in reversed(roots))


_NT_NAME = re.compile(rf"^\s*({_roots_pattern()})\s+(\d{{1,2}})-(\d{{2}})\s*$")
_CODE = re.compile(rf"^\s*({_roots_pattern()})([FGHJKMNQUVXZ])(\d|\d\d|\d{{4}})\s*$")
_ANY_ROOT = re.compile(r"^\s*([A-Z0-9$]+?)(?:\s+\d{1,2}-\d{2}|[FGHJKMNQUVXZ]\d{1,4})\s*$")


def _one_digit_year(digit: int, today: dt.date) -> int:
    # The year ending in `digit` within [today.year - 2, today.year + 7]: a
    # contract that expired recently resolves to the past, later ones forward.
    for year in range(today.year - 2, today.year + 8):
        if year % 10 == digit:
            return year
    raise AssertionError("unreachable")  # pragma: no cover


def parse_contract(text: str, today: dt.date | None = None) -> tuple[str, int, int]:
    """A contract name -> ``(root, year, month)``.

    Accepts NinjaTrader's ``"ES 12-25"`` and exchange codes ``"ESZ5"``,
    ``"ESZ25"`` and ``"ESZ2025"``. A one-digit year is the year ending in that
    digit from two years before ``today`` (default: the current date) to seven
    after.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a contract name such as 'ES 12-25', got {text!r}")
    m = _NT_NAME.match(text)
    if m:
        root, month, year = m.group(1), int(m.group(2)), 2000 + int(m.group(3))
    else:
        m = _CODE.match(text)
        if not m:
            other = _ANY_ROOT.match(text.upper())
            if other:
                _future_spec(other.group(1))  # unknown root (with a suggestion) or an index
            raise ValueError(
                f"expected a contract name such as 'ES 12-25', 'ESZ5' or 'ESZ25', got {text!r}"
            )
        root, month, digits = m.group(1), MONTH_CODES[m.group(2)], m.group(3)
        if len(digits) == 1:
            year = _one_digit_year(int(digits), today or dt.date.today())
        elif len(digits) == 2:
            year = 2000 + int(digits)
        else:
            year = int(digits)
    _check_month(spec(root), year, month)
    return root, year, month
