"""The built-in contract table and contract-month helpers."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsengine.exchange import contracts
from rsengine.exchange.contracts import (
    CONTRACTS,
    closest_match,
    contract_code,
    days_to_expiry,
    expiry,
    front_month,
    ninjatrader_name,
    parse_contract,
    parse_month_year,
    spec,
    third_friday,
)

D = dt.date

# DOMAIN §1, written out: root, exchange, $ per point, tick, micro root, micro $ per point.
DOMAIN_TABLE = [
    ("ES", "CME", 50, 0.25, "MES", 5),
    ("NQ", "CME", 20, 0.25, "MNQ", 2),
    ("RTY", "CME", 50, 0.10, "M2K", 5),
    ("YM", "CBOT", 5, 1.00, "MYM", 0.50),
    ("ZN", "CBOT", 1000, 1 / 64, None, None),
    ("ZB", "CBOT", 1000, 1 / 32, None, None),
]
FUTURES = [r for r, s in CONTRACTS.items() if s.kind == "future"]


# --- the table ----------------------------------------------------------------------


@pytest.mark.parametrize(("root", "exchange", "point_value", "tick", "micro", "_"), DOMAIN_TABLE)
def test_full_size_contract_terms_equal_domain_table(root, exchange, point_value, tick, micro, _):
    s = spec(root)
    assert (s.exchange, s.point_value, s.tick, s.micro) == (exchange, point_value, tick, micro)
    assert s.kind == "future" and s.quarterly


@pytest.mark.parametrize(
    ("full", "exchange", "tick", "micro", "micro_value"),
    [(r, e, t, m, v) for r, e, _, t, m, v in DOMAIN_TABLE if m],
)
def test_micro_contract_terms_equal_domain_table(full, exchange, tick, micro, micro_value):
    s = spec(micro)
    assert (s.point_value, s.exchange, s.tick, s.micro_of) == (micro_value, exchange, tick, full)


def test_micro_is_one_tenth_of_its_full_size_contract():
    for root, s in CONTRACTS.items():
        if s.micro:
            assert spec(s.micro).point_value * 10 == s.point_value, root


@pytest.mark.parametrize(
    ("root", "exchange", "tick"),
    [("$TICK", "NYSE", 1), ("$ADD", "NYSE", 1), ("NDX", "NASDAQ", 0.01)],
)
def test_index_instruments_have_no_point_value_and_use_nyse_hours(root, exchange, tick):
    s = spec(root)
    assert (s.kind, s.exchange, s.point_value, s.tick, s.calendar) == (
        "index",
        exchange,
        None,
        tick,
        "NYSE",
    )
    assert not s.quarterly and not s.has_contract_months


@pytest.mark.parametrize("root", ["ES", "NQ", "RTY", "YM", "MES", "MNQ", "M2K", "MYM"])
def test_equity_index_futures_use_the_globex_equity_calendar(root):
    assert spec(root).calendar == "CME Globex Equity"


def test_every_table_calendar_exists_in_pandas_market_calendars():
    import pandas_market_calendars as mcal

    names = set(mcal.get_calendar_names())
    assert {s.calendar for s in CONTRACTS.values()} <= names


@pytest.mark.parametrize("root", ["ZN", "ZB"])
def test_treasury_calendar_trades_1800_to_1700_eastern(root):
    import pandas_market_calendars as mcal

    sched = mcal.get_calendar(spec(root).calendar).schedule("2025-06-09", "2025-06-13")
    opens = sched.market_open.dt.tz_convert("America/New_York").dt.strftime("%H:%M")
    closes = sched.market_close.dt.tz_convert("America/New_York").dt.strftime("%H:%M")
    assert set(opens) == {"18:00"} and set(closes) == {"17:00"}


def test_unknown_root_error_lists_known_roots_and_suggests_the_closest():
    with pytest.raises(ValueError) as info:
        spec("MQN")
    text = str(info.value)
    assert "'MQN'" in text and "did you mean 'MNQ'?" in text
    assert all(root in text for root in CONTRACTS)


def test_unknown_root_far_from_any_gets_no_suggestion():
    with pytest.raises(ValueError) as info:
        spec("XYZW")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(("word", "best"), [("EZ", "ES"), ("es", "ES"), ("TICK", "$TICK")])
def test_closest_match_prefers_case_insensitive_and_shared_prefix(word, best):
    assert closest_match(word, list(CONTRACTS)) == best


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [
        (2025, 12, D(2025, 12, 19)),
        (2025, 3, D(2025, 3, 21)),
        (2026, 3, D(2026, 3, 20)),
        (2024, 3, D(2024, 3, 15)),  # the month starts on a Friday
        (2025, 11, D(2025, 11, 21)),  # the month starts on a Saturday
        (2026, 5, D(2026, 5, 15)),  # the month starts on a Friday
        (2025, 10, D(2025, 10, 17)),  # the month starts on a Wednesday
    ],
)
def test_third_friday_of_month(year, month, day):
    assert third_friday(year, month) == day


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_third_friday_is_a_friday_between_the_15th_and_21st(year, month):
    day = third_friday(year, month)
    assert day.weekday() == 4 and 15 <= day.day <= 21 and (day.year, day.month) == (year, month)


@pytest.mark.parametrize("root", ["ES", "NQ", "RTY", "YM", "MES", "MNQ", "M2K", "MYM"])
def test_equity_index_expiry_is_the_third_friday(root):
    assert expiry(root, "12-25") == D(2025, 12, 19)
    assert expiry(root, (2026, 3)) == D(2026, 3, 20)


@pytest.mark.parametrize(
    ("root", "contract", "last_trade"),
    [
        ("ZN", "12-25", D(2025, 12, 19)),  # Christmas is not a business day
        ("ZN", "06-25", D(2025, 6, 18)),  # nor Juneteenth
        ("ZN", "03-24", D(2024, 3, 19)),  # nor Good Friday (Mar 29)
        ("ZB", "03-25", D(2025, 3, 20)),
    ],
)
def test_treasury_expiry_is_seven_business_days_before_the_months_last(root, contract, last_trade):
    assert expiry(root, contract) == last_trade


def test_expiry_rejects_a_non_quarterly_month():
    with pytest.raises(ValueError, match="quarterly contracts only"):
        expiry("ES", "11-25")


def test_expiry_rejects_an_index():
    with pytest.raises(ValueError, match="index, it has no contract months"):
        expiry("$TICK", "12-25")


@pytest.mark.parametrize(
    ("day", "front"),
    [
        (D(2025, 10, 15), (2025, 12)),
        (D(2025, 12, 1), (2025, 12)),
        (D(2025, 12, 18), (2025, 12)),  # the day before expiry
        (D(2025, 12, 19), (2026, 3)),  # expiry day: the next contract is front
        (D(2025, 12, 22), (2026, 3)),
        (D(2025, 12, 31), (2026, 3)),  # across the year end
        (D(2026, 1, 2), (2026, 3)),
        (D(2026, 3, 19), (2026, 3)),
        (D(2026, 3, 20), (2026, 6)),
        (D(2026, 12, 18), (2027, 3)),  # Dec 2026 expiry day
    ],
)
def test_front_month_rolls_on_expiry_day(day, front):
    assert front_month("ES", day) == front


def test_front_month_rolls_early_by_roll_days():
    assert front_month("ES", D(2025, 12, 10)) == (2025, 12)
    assert front_month("ES", D(2025, 12, 11), roll_days=8) == (2026, 3)
    assert front_month("ES", D(2025, 12, 10), roll_days=8) == (2025, 12)


def test_front_month_accepts_an_iso_date_string():
    assert front_month("NQ", "2025-12-31") == (2026, 3)


def test_treasury_front_month_rolls_on_its_own_last_trading_day():
    assert front_month("ZN", D(2025, 12, 18)) == (2025, 12)
    assert front_month("ZN", D(2025, 12, 19)) == (2026, 3)


def test_front_month_rejects_an_index():
    with pytest.raises(ValueError, match="index"):
        front_month("NDX", D(2025, 12, 1))


def test_days_to_expiry_counts_calendar_days():
    assert days_to_expiry(D(2025, 11, 19), "NQ 12-25") == 30
    assert days_to_expiry(D(2025, 12, 19), "NQZ25") == 0
    assert days_to_expiry(D(2025, 12, 20), ("NQ", 2025, 12)) == -1


def test_days_to_expiry_resolves_a_one_digit_year_from_the_day():
    assert days_to_expiry(D(2035, 12, 1), "ESZ5") == (third_friday(2035, 12) - D(2035, 12, 1)).days


def test_days_to_expiry_rejects_a_bad_contract():
    with pytest.raises(ValueError, match="expected a contract name"):
        days_to_expiry(D(2025, 1, 1), 42)


# --- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("ES 12-25", ("ES", 2025, 12)),
        ("MNQ 03-26", ("MNQ", 2026, 3)),
        ("ESZ25", ("ES", 2025, 12)),
        ("ESZ2025", ("ES", 2025, 12)),
        ("M2KH26", ("M2K", 2026, 3)),
        ("MYMU25", ("MYM", 2025, 9)),
        ("ZNZ5", ("ZN", 2025, 12)),
        ("NQH6", ("NQ", 2026, 3)),
    ],
)
def test_parse_contract_reads_ninjatrader_and_exchange_names(text, parsed):
    assert parse_contract(text, today=D(2025, 11, 1)) == parsed


@pytest.mark.parametrize(
    ("today", "year"),
    [(D(2026, 1, 5), 2025), (D(2024, 6, 1), 2025), (D(2027, 12, 31), 2025), (D(2028, 1, 1), 2035)],
)
def test_one_digit_year_resolves_within_two_years_back_and_seven_ahead(today, year):
    assert parse_contract("ESZ5", today=today) == ("ES", year, 12)


def test_parse_contract_unknown_root_suggests_the_closest():
    with pytest.raises(ValueError, match="unknown instrument root 'EZ'.*did you mean 'ES'"):
        parse_contract("EZ 12-25")


def test_parse_contract_rejects_a_non_quarterly_month():
    with pytest.raises(ValueError, match="quarterly contracts only.*got month 11"):
        parse_contract("ES 11-25")


@pytest.mark.parametrize("text", ["ES12-25", "ES 2025-12", "ES", "ESZ", "12-25", ""])
def test_parse_contract_rejects_malformed_names_saying_what_is_expected(text):
    with pytest.raises(ValueError, match="expected a contract name such as 'ES 12-25'"):
        parse_contract(text)


def test_parse_contract_rejects_an_index_with_a_contract_month():
    with pytest.raises(ValueError, match=r"\$TICK is an index"):
        parse_contract("$TICK 12-25")


def test_ninjatrader_name_zero_pads_month_and_year():
    assert ninjatrader_name("ES", 2025, 12) == "ES 12-25"
    assert ninjatrader_name("MNQ", 2026, 3) == "MNQ 03-26"
    assert ninjatrader_name("ES", 2105, 6) == "ES 06-05"


def test_ninjatrader_name_rejects_a_non_quarterly_month():
    with pytest.raises(ValueError, match="quarterly"):
        ninjatrader_name("ES", 2025, 1)


def test_contract_code_writes_one_two_or_four_year_digits():
    assert contract_code("MNQ", 2025, 9) == "MNQU5"
    assert contract_code("MNQ", 2025, 9, digits=2) == "MNQU25"
    assert contract_code("MNQ", 2025, 9, digits=4) == "MNQU2025"


def test_parse_month_year_rejects_month_13():
    with pytest.raises(ValueError, match="month must be 01 to 12"):
        parse_month_year("13-25")


quarters = st.sampled_from(contracts.QUARTERLY_MONTHS)


@given(st.sampled_from(FUTURES), st.integers(2000, 2099), quarters)
def test_ninjatrader_name_round_trips_through_parse_contract(root, year, month):
    assert parse_contract(ninjatrader_name(root, year, month)) == (root, year, month)


@given(st.sampled_from(FUTURES), st.integers(2000, 2099), quarters, st.sampled_from([2, 4]))
def test_contract_code_round_trips_through_parse_contract(root, year, month, digits):
    assert parse_contract(contract_code(root, year, month, digits)) == (root, year, month)


@settings(deadline=None)  # the first Treasury month of a run loads the NYSE calendar
@given(st.sampled_from(FUTURES), st.dates(D(2000, 1, 1), D(2090, 12, 31)))
def test_front_month_is_quarterly_and_expires_after_the_day_within_a_quarter(root, day):
    year, month = front_month(root, day)
    assert month in contracts.QUARTERLY_MONTHS
    assert day < expiry(root, (year, month)) <= day + dt.timedelta(days=100)
