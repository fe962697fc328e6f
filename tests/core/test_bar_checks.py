"""The input-bar checks of BarAggregator.update_bars: the compiled core tests
bars in one loop, and must refuse exactly what the pure one refuses, with its
message, and take strided columns as they are."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import MIN, et_ns

from rsengine.core import USING_EXTENSION
from rsengine.core.pure import aggregate as pure

SEG_OPEN, SEG_CLOSE = et_ns("2024-03-06 10:00"), et_ns("2024-03-06 11:00")
CORES = [pure]
if USING_EXTENSION:
    from rsengine.core import _aggregate

    CORES.append(_aggregate)


def good_bars(n: int = 6) -> dict:
    price = 100.0 + np.arange(n, dtype=float)
    return {
        "ts_open": SEG_OPEN + MIN * np.arange(n, dtype=np.int64),
        "open": price,
        "high": price + 1,
        "low": price - 1,
        "close": price + 0.5,
        "volume": np.full(n, 3.0),
        "trades": np.ones(n, np.int64),
    }


def spoil(name: str, value) -> dict:
    bars = {k: v.copy() for k, v in good_bars().items()}
    bars[name][3] = value
    return bars


BAD = [
    ("open", math.nan),
    ("high", math.inf),
    ("low", 200.0),  # above open and close
    ("close", 99.0),  # below low
    ("volume", -1.0),
    ("volume", math.inf),
    ("trades", -2),
    ("ts_open", SEG_OPEN),  # back in time
]


def message(core, bars) -> str:
    agg = core.BarAggregator(5 * MIN, [SEG_OPEN], [SEG_CLOSE], [SEG_OPEN])
    with pytest.raises(ValueError) as caught:
        agg.update_bars(**bars)
    return str(caught.value)


@pytest.mark.parametrize(("name", "value"), BAD)
def test_every_core_refuses_a_bad_bar_with_the_same_message(name, value):
    messages = {message(core, spoil(name, value)) for core in CORES}
    assert len(messages) == 1
    text = messages.pop()
    assert "index 3" in text or "bar at index 3" in text or "ts_open" in text


def test_columns_of_unequal_length_are_refused_by_every_core():
    bars = good_bars()
    bars["close"] = bars["close"][:-1]
    assert {message(core, bars) for core in CORES} == {
        "bar arrays differ in length: ts_open 6, close 5"
    }


def test_strided_columns_give_the_bars_contiguous_ones_give():
    bars = good_bars(12)
    block = np.column_stack([bars[k] for k in ("open", "high", "low", "close", "volume")])
    out = []
    for core in CORES:
        for columns in (block.T.copy(), block.T):  # contiguous rows, then strided views
            agg = core.BarAggregator(5 * MIN, [SEG_OPEN], [SEG_CLOSE], [SEG_OPEN])
            got = agg.update_bars(bars["ts_open"], *columns)
            out.append((got.ts_close.tolist(), got.close.tolist(), got.volume.tolist()))
    assert all(o == out[0] for o in out) and len(out[0][0]) == 2
