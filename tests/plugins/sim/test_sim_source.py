"""The ``sim`` source's settings as the config sees them."""

from __future__ import annotations

import pytest
from rsengine_sim import SimSource
from rsengine_sim.market import DEFAULT_SEQUENCE

from rsengine.config import Config
from rsengine.state import ComponentContext


def source(**settings):
    config = Config.from_dict(
        {"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"], "sources": {"sim": {}}}
    )
    context = ComponentContext(config, ("ES", "NQ"), 300 * 10**9, "sim", "rsengine_sim", None)
    return SimSource(settings, context)


def test_warmup_puts_normal_sessions_before_the_scenarios():
    scenarios = [s.scenario for s in source(warmup=3, days=4).market.sessions()]
    assert scenarios == ["normal"] * 3 + list(DEFAULT_SEQUENCE[:4])


def test_warmup_keeps_given_scenarios_in_order_after_it():
    scenarios = [
        s.scenario for s in source(warmup=2, scenarios=["chop", "risk_off"]).market.sessions()
    ]
    assert scenarios == ["normal", "normal", "chop", "risk_off"]


def test_no_warmup_is_the_sequence_itself():
    scenarios = [s.scenario for s in source(days=5).market.sessions()]
    assert scenarios == list(DEFAULT_SEQUENCE[:5])


def test_negative_warmup_is_refused():
    with pytest.raises(ValueError, match="warmup -1 must be >= 0"):
        source(warmup=-1)
