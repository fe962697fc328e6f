"""Sizing of trade signals (DOMAIN.md §1, §7) against hand-computed cases."""

import pytest
from rsengine_rs.sizing import Check, Regime, contracts_for, size, size_fraction, stack

# root: $ per point (DOMAIN.md §1)
POINT_VALUES = {"ES": 50, "NQ": 20, "RTY": 50, "YM": 5, "MES": 5, "MNQ": 2, "M2K": 5, "MYM": 0.5}


@pytest.mark.parametrize(
    ("root", "stop", "want"),
    [
        ("ES", 4.0, 2),  # 500 / (4 x 50) = 2.5
        ("NQ", 12.0, 2),  # 500 / (12 x 20) = 2.08
        ("RTY", 2.1, 4),  # 500 / (2.1 x 50) = 4.76
        ("YM", 35.0, 2),  # 500 / (35 x 5) = 2.86
        ("MES", 4.0, 25),  # 500 / (4 x 5)
        ("MNQ", 12.0, 20),  # 500 / (12 x 2) = 20.8
        ("M2K", 2.1, 47),  # 500 / (2.1 x 5) = 47.6
        ("MYM", 35.0, 28),  # 500 / (35 x 0.5) = 28.6
    ],
)
def test_full_size_contracts_by_the_dollar_value_of_a_point(root, stop, want):
    sized = size(500, 1.0, stop, root, POINT_VALUES[root], micro_fallback=False)
    assert sized.contracts == want
    assert sized.risk == pytest.approx(want * stop * POINT_VALUES[root])
    assert sized.root == root


def test_exactly_one_contract_of_risk_is_one_contract():
    assert contracts_for(500, 1.0, 10.0, 50) == 1  # 10 pt x $50 = $500 exactly
    assert contracts_for(500, 0.5, 10.0, 50) == 0
    assert contracts_for(500, 0.5, 5.0, 50) == 1


def test_zero_contracts_says_why_with_the_numbers():
    sized = size(500, 0.25, 14.5, "ES", 50, micro_fallback=False)
    assert sized.contracts == 0
    assert sized.reason == ("no order: stop 14.5 pt x $50 = $725.00 > budget $500 x 0.25 = $125.00")


@pytest.mark.parametrize(
    ("root", "stop", "micro", "want"),
    [
        ("ES", 14.5, "MES", 1),  # $125 / (14.5 x 5) = 1.7
        ("NQ", 30.0, "MNQ", 2),  # $125 / (30 x 2) = 2.08
        ("RTY", 3.0, "M2K", 8),  # $125 / (3 x 5) = 8.3
        ("YM", 40.0, "MYM", 6),  # $125 / (40 x 0.5) = 6.25
    ],
)
def test_a_mini_that_rounds_to_zero_is_sized_in_its_micro(root, stop, micro, want):
    sized = size(500, 0.25, stop, root, POINT_VALUES[root], micro_fallback=True)
    assert (sized.contracts, sized.root, sized.point_value) == (want, micro, POINT_VALUES[micro])
    assert sized.reason.startswith(f"{root}: stop ")
    assert f"{want} {micro} x stop" in sized.reason


def test_no_micro_small_enough_is_still_no_order():
    sized = size(500, 0.25, 40.0, "ES", 50, micro_fallback=True)  # MES: 40 x 5 = $200 > $125
    assert sized.contracts == 0 and sized.reason.endswith("; MES too: $200.00 per contract")


def checks(*held):
    return stack(*(Check(n, n in held, "") for n in ("rs", "tick", "add", "volume")))


@pytest.mark.parametrize(
    ("held", "want"),
    [
        (("rs", "tick", "add", "volume"), 1.0),
        (("rs", "tick", "volume"), 0.75),
        (("rs", "add"), 0.5),
        (("rs",), 0.25),
        (("tick", "add", "volume"), 0.0),  # no RS divergence: no trade
    ],
)
def test_size_fraction_from_the_confirmations_held(held, want):
    assert size_fraction(checks(*held), Regime())[0] == want


def test_contradicting_internals_skip_the_trade_and_unknown_feeds_count_as_not_held():
    s = stack(Check("rs", True, ""), Check("tick", None, "no $TICK feed"),
              Check("add", None, "no $ADD feed"), Check("volume", True, ""))  # fmt: skip
    assert s.held == ("rs", "volume") and size_fraction(s, Regime())[0] == 0.5
    assert s.details()["tick"] == "unknown: no $TICK feed"
    against = stack(*checks("rs", "tick", "add", "volume").checks, "TICK -900")
    fraction, why = size_fraction(against, Regime())
    assert fraction == 0 and "internals contradict (TICK -900)" in why


def test_chop_caps_the_afternoon_discounts_and_the_setup_factor_multiplies():
    full = checks("rs", "tick", "add", "volume")
    assert size_fraction(full, Regime(chop=True))[0] == 0.25
    assert size_fraction(checks("rs"), Regime(chop=True))[0] == 0.25  # already below the cap
    assert size_fraction(full, Regime(afternoon=True))[0] == 0.5
    assert size_fraction(full, Regime(chop=True, afternoon=True))[0] == 0.125
    assert size_fraction(full, Regime(), factor=0.5)[0] == 0.5  # the laggard's half size


def test_max_contracts_caps_a_size_a_tiny_stop_makes_huge():
    from rsengine_rs.sizing import capped

    sized = size(500, 1.0, 0.1, "M2K", 5, micro_fallback=False)  # 500 / (0.1 x 5) = 1000
    assert sized.contracts == 1000
    assert capped(sized, 0.1, None) is sized
    small = capped(sized, 0.1, 20)
    assert (small.contracts, small.risk) == (20, pytest.approx(10.0))
    assert small.reason.endswith("; capped at max_contracts 20 ($10.00 at risk)")
    assert capped(size(500, 1.0, 4.0, "ES", 50), 4.0, 20).contracts == 2  # under the cap
