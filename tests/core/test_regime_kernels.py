"""The regime's batch kernel (rsengine.core opening_chop): against a pandas
computation of the rules over a whole session, whatever the batch cuts, and
the compiled twin equal to the pure one bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rsengine.core import USING_EXTENSION, empty_chop_carry, opening_chop
from rsengine.core.pure import regime as pure

MIN = 60 * 10**9
START, END = 100 * MIN, 130 * MIN
CUTS = [(), (1,), (5, 6, 7), (8,), (3, 40), tuple(range(2, 60, 5))]


def session(seed: int, n: int = 60, m: int = 3):
    """Rows every 5 minutes around the opening window: ES bars (some missing,
    some opening a minute early), the opening range published from the
    window's end, and the members' leads with NaN ones and ties."""
    rng = np.random.default_rng(seed)
    ts = START - 10 * MIN + 5 * MIN * np.arange(1, n + 1)
    ts_open = ts - 5 * MIN - np.where(rng.random(n) < 0.2, MIN, 0)
    present = rng.random(n) < 0.9
    volume = rng.integers(0, 400, n).astype(float)
    width = np.where(ts >= END, rng.choice([1.0, 2.0, math.nan], n), math.nan)
    atr = np.full(n, rng.choice([5.0, 6.0, math.nan], p=[0.45, 0.45, 0.1]))
    lead = rng.choice([-1.0, 0.0, 0.5, 0.5, math.nan], size=(n, m))
    return ts, ts_open, present, volume, width, atr, lead


def pandas_chop(ts, ts_open, present, volume, width, atr, lead, settings):
    range_atr, chop_volume, or_mean, rotations = settings
    inside = present & (ts_open >= START) & (ts <= END)
    window = pd.Series(np.where(inside, volume, 0.0)).cumsum()
    narrow = pd.Series(
        np.where(np.isfinite(width) & np.isfinite(atr), width < range_atr * atr, None)
    )
    narrow = narrow.astype(float).ffill()
    from_end = pd.Series(ts >= END)
    quiet = window < chop_volume * or_mean if or_mean is not None else True
    chop = from_end & (narrow == 1.0) & quiet
    frame = pd.DataFrame(lead)
    leader = frame.fillna(-np.inf).idxmax(axis=1).where(frame.notna().any(axis=1))
    leader = leader.where((ts > START) & (ts <= END)).dropna()
    changes = (leader != leader.shift()) & leader.shift().notna()
    hits = changes.cumsum()[lambda c: c >= rotations]
    if len(hits):
        chop |= from_end & (pd.Series(np.arange(len(ts))) >= hits.index[0])
    return chop.to_numpy()


def run(fn, data, settings, cuts):
    ts, ts_open, present, volume, width, atr, lead = data
    carry, out, done = empty_chop_carry(), [], False
    for lo, hi in zip([0, *cuts], [*cuts, len(ts)], strict=True):
        part = slice(lo, hi)
        chop, carry, now = fn(
            ts[part], ts_open[part], present[part], volume[part], START, END,
            width[part], atr[part], lead[part], settings, carry,
        )  # fmt: skip
        out.append(chop)
        done |= now
    return np.concatenate(out), carry, done


SETTINGS = [(0.25, 1.0, None, 2), (0.3, 1.0, 2000.0, 2), (0.3, 0.5, 4000.0, 1), (0.1, 1.0, None, 3)]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("cuts", CUTS)
def test_opening_chop_equals_pandas_whatever_the_cut(settings, cuts):
    for seed in range(4):
        data = session(seed)
        got, carry, done = run(opening_chop, data, settings, cuts)
        np.testing.assert_array_equal(got, pandas_chop(*data, settings))
        inside = data[2] & (data[1] >= START) & (data[0] <= END)
        assert carry[0] == np.where(inside, data[3], 0.0).sum() and done


def test_chop_needs_its_inputs():
    ts, ts_open, present, volume, width, atr, lead = session(1)
    args = (ts, ts_open, present, volume, START, END)
    nothing, _, _ = opening_chop(*args, None, None, None, SETTINGS[0], empty_chop_carry())
    assert not nothing.any()
    lead = np.full((len(ts), 3), math.nan)
    lead[2:5] = [[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0]]  # two changes inside the window
    got, carry, _ = opening_chop(*args, None, None, lead, SETTINGS[0], empty_chop_carry())
    assert got.tolist() == (ts >= END).tolist() and carry[2:] == (0, 2)


@pytest.mark.skipif(not USING_EXTENSION, reason="compiled core not built")
@pytest.mark.parametrize("settings", SETTINGS)
def test_compiled_equals_pure_bit_for_bit(settings):
    for seed in range(6):
        data = session(10 + seed)
        for cuts in CUTS:
            got, carry, done = run(opening_chop, data, settings, cuts)
            want, want_carry, want_done = run(pure.opening_chop, data, settings, cuts)
            np.testing.assert_array_equal(got, want)
            assert done == want_done
            assert np.array_equal(
                np.array(carry, float), np.array(want_carry, float), equal_nan=True
            )
