"""The core: bar aggregator, bar combiner, ring buffers, rolling statistics,
the batch mean true range, the measures', the group's, the regime's and the
setups' batch kernels and the slice assembler.

A compiled (Cython) implementation is used when it is importable. Setting
``RSENGINE_NO_EXTENSIONS=1`` selects the pure-Python twin instead, which is the
reference the compiled core is tested against. ``RSENGINE_REQUIRE_EXTENSIONS=1``
turns a missing compiled core into an ImportError instead of a silent fallback.
``USING_EXTENSION`` tells which one is active.
"""

import os

from .pure.regime import empty_chop_carry
from .pure.windows import empty_change_carry, empty_floor_carry, empty_sum_carry
from .types import FILLED, LATE, OFF_SESSION, PARTIAL, Bars, Rejected, Slice, SliceBatch


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


if _flag("RSENGINE_NO_EXTENSIONS"):
    if _flag("RSENGINE_REQUIRE_EXTENSIONS"):
        raise ImportError(
            "RSENGINE_NO_EXTENSIONS and RSENGINE_REQUIRE_EXTENSIONS are both set; unset one"
        )
    _compiled = None
else:
    try:
        from . import _aggregate, _group, _measures, _regime, _ring, _slices, _true_range, _windows

        _compiled = (_aggregate, _group, _measures, _regime, _ring, _slices, _true_range, _windows)
    except ImportError as exc:
        if _flag("RSENGINE_REQUIRE_EXTENSIONS"):
            raise ImportError(
                "rsengine's compiled core is not built; reinstall with a C compiler "
                "(pip install --force-reinstall --no-binary rsengine rsengine) or unset "
                "RSENGINE_REQUIRE_EXTENSIONS"
            ) from exc
        _compiled = None

if _compiled is not None:
    from ._aggregate import BarAggregator
    from ._group import group_leads, lead_ranks, lead_streaks
    from ._measures import bar_moves, finish_series
    from ._regime import opening_chop
    from ._ring import BarRing, RollingCorr, RollingStats, WilderAverage
    from ._slices import SliceAssembler
    from ._true_range import true_range_means
    from ._windows import floor_holds, lagged_changes, others_mean, window_sums

    USING_EXTENSION = True
else:
    from .pure.aggregate import BarAggregator
    from .pure.group import group_leads, lead_ranks, lead_streaks
    from .pure.measures import bar_moves, finish_series
    from .pure.regime import opening_chop
    from .pure.ring import BarRing, RollingCorr, RollingStats, WilderAverage
    from .pure.slices import SliceAssembler
    from .pure.true_range import true_range_means
    from .pure.windows import floor_holds, lagged_changes, others_mean, window_sums

    USING_EXTENSION = False

__all__ = [
    "FILLED",
    "LATE",
    "OFF_SESSION",
    "PARTIAL",
    "USING_EXTENSION",
    "BarAggregator",
    "BarRing",
    "Bars",
    "Rejected",
    "RollingCorr",
    "RollingStats",
    "Slice",
    "SliceAssembler",
    "SliceBatch",
    "WilderAverage",
    "bar_moves",
    "empty_change_carry",
    "empty_chop_carry",
    "empty_floor_carry",
    "empty_sum_carry",
    "finish_series",
    "floor_holds",
    "group_leads",
    "lagged_changes",
    "lead_ranks",
    "lead_streaks",
    "opening_chop",
    "others_mean",
    "true_range_means",
    "window_sums",
]
