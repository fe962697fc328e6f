"""Plugin ``trades``: the trade setups of DOMAIN.md §6, sized by the
confirmation stack and the ``risk`` config (§7), each trade followed to its
exit (docs/trades.md)."""

from __future__ import annotations

import rsengine


@rsengine.hookimpl
def rsengine_register_setups(registry):
    from .fade import DivergenceFade
    from .laggard import LaggardCatchUp
    from .rider import StrengthRider

    registry.add("strength_rider", StrengthRider, "trade: ride the early leader's pullback")
    registry.add("divergence_fade", DivergenceFade, "trade: fade an exhausted divergence")
    registry.add("laggard_catchup", LaggardCatchUp, "trade: the laggard catching up, half size")
