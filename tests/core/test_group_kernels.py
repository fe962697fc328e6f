"""The group measures' batch kernels (rsengine.core group_leads, lead_ranks,
lead_streaks): against
pandas over the whole series, whatever the batch cuts, and the compiled twin
equal to the pure one bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rsengine.core import USING_EXTENSION, group_leads, lead_ranks, lead_streaks
from rsengine.core.pure import group as pure

CUTS = [(), (1,), (2, 3, 4), (7,), (1, 2, 50, 51), tuple(range(5, 150, 11))]
STEP = 900


def bars(seed: int, m: int = 3, steps: int = 160, gaps: float = 0.25):
    """Each member's bars (stamps on a common grid, some missing), closes
    wandering around the prior close, and rows closing between the stamps."""
    rng = np.random.default_rng(seed)
    grid = STEP * np.arange(1, steps + 1, dtype=np.int64)
    prior = 100.0 + rng.normal(0, 5, m)
    members = []
    for j in range(m):
        stamps = grid[rng.random(steps) >= gaps]
        closes = prior[j] * (1 + np.cumsum(rng.normal(0, 0.002, len(stamps))))
        members.append((stamps, closes))
    rows = np.sort(rng.choice(np.arange(STEP // 3, (steps + 2) * STEP, STEP // 3), 300, False))
    return members, prior, rows.astype(np.int64)


def pandas_streaks(members, prior, band, rows):
    """The streak of each member's lead sign, from pandas frames."""
    frame = pd.concat([pd.Series(c, index=s) for s, c in members], axis=1).sort_index()
    rs = (frame - prior) / prior * 100.0
    others = (rs.sum(axis=1).to_numpy()[:, None] - rs) / (rs.count(axis=1).to_numpy() - 1)[:, None]
    lead = (rs - others).where(rs.count(axis=1) >= 2, axis=0)
    sign = np.where(lead >= band, 1, np.where(lead <= -band, -1, 0))
    streak = np.zeros_like(sign)
    for j in range(sign.shape[1]):
        run = 0
        for i, s in enumerate(sign[:, j]):
            run = run + s if s != 0 and np.sign(run) == s else s
            streak[i, j] = run
    table = pd.DataFrame(streak, index=frame.index).reset_index(names="ts")
    found = pd.merge_asof(pd.DataFrame({"ts": rows}), table, on="ts", direction="backward")
    return found.drop(columns="ts").fillna(0).astype(np.int64).to_numpy()


def run(fn, members, prior, band, rows, cuts):
    """``fn`` over batches cut at ``cuts`` (row numbers): each batch gets the
    bars stamped after the last batch's last row, up to its own."""
    out, carry, done = [], np.zeros(len(members), np.int64), -1
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        end = rows[hi - 1]
        part = [(s[(s > done) & (s <= end)], c[(s > done) & (s <= end)]) for s, c in members]
        got, carry = fn([s for s, _ in part], [c for _, c in part], prior, band, carry, rows[lo:hi])
        out.append(got)
        done = end
    return np.concatenate(out)


@pytest.mark.parametrize("band", [0.0, 0.05, 0.2])
@pytest.mark.parametrize("cuts", CUTS)
def test_lead_streaks_equal_pandas_whatever_the_cut(band, cuts):
    members, prior, rows = bars(int(band * 100) + len(cuts))
    got = run(lead_streaks, members, prior, band, rows, cuts)
    want = pandas_streaks(members, prior, band, rows)
    np.testing.assert_array_equal(got, want)
    assert (got > 1).any() and (got < -1).any()  # runs both ways
    if band:
        assert (got == 0).any()


def test_a_member_alone_at_a_stamp_leaves_every_lead_nan_and_ends_every_run():
    stamps = [np.array([1, 2, 3]), np.array([1, 2]), np.array([1, 2])]
    closes = [np.array([102.0, 103.0, 104.0]), np.array([100.0, 100.0]), np.array([99.0, 99.0])]
    got, carry = lead_streaks(stamps, closes, np.full(3, 100.0), 0.2, np.array([1, 0, -4]), [2, 3])
    # stamps 1 and 2: ES leads (+2.5, +3.5), each run continues its carry; at
    # stamp 3 ES is alone: no member has a lead, every run ends
    assert got.tolist() == [[3, -2, -6], [0, 0, 0]]
    assert carry.tolist() == [0, 0, 0]


def test_rows_before_any_bar_keep_the_carry():
    empty = [np.empty(0, np.int64)] * 2
    got, carry = lead_streaks(empty, [np.empty(0)] * 2, [1.0, 1.0], 0.2, [3, -1], [5, 6])
    assert got.tolist() == [[3, -1], [3, -1]] and carry.tolist() == [3, -1]


@pytest.mark.skipif(not USING_EXTENSION, reason="compiled core not built")
@pytest.mark.parametrize("seed", range(6))
def test_compiled_equals_pure_bit_for_bit(seed):
    members, prior, rows = bars(seed, m=2 + seed % 3)
    prior[0] = math.nan if seed == 5 else prior[0]  # a member without a prior close
    for cuts in CUTS[:4]:
        got = run(lead_streaks, members, prior, 0.1, rows, cuts)
        want = run(pure.lead_streaks, members, prior, 0.1, rows, cuts)
        np.testing.assert_array_equal(got, want)


def values(seed: int, m: int, n: int = 400):
    """Leads or RS% with ties, signed zeros and NaN members."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.5, -1.0, -0.0, 0.0, 0.25, 0.5, 0.5, 2.0, math.nan], size=(n, m))


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_group_leads_equal_pandas_leaving_nan_members_out(m):
    x = values(m, m)
    frame = pd.DataFrame(x)
    others = [frame.drop(columns=j).mean(axis=1) for j in range(m)]
    want = np.column_stack([frame[j] - others[j] for j in range(m)])
    want[(frame.count(axis=1) < 2).to_numpy()] = math.nan
    got = group_leads(x)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)
    assert np.array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_lead_ranks_order_by_lead_with_ties_to_the_earlier_member(m):
    x = values(10 + m, m)
    rank, leader, laggard = lead_ranks(x)
    frame = pd.DataFrame(x)
    # pandas: "first" ranks ties in column order; NaN -> 0
    want = frame.rank(axis=1, ascending=False, method="first").fillna(0).astype(np.int64)
    np.testing.assert_array_equal(rank, want.to_numpy())
    none = frame.isna().all(axis=1).to_numpy()
    np.testing.assert_array_equal(leader, np.where(none, -1, frame.fillna(-np.inf).idxmax(axis=1)))
    np.testing.assert_array_equal(laggard, np.where(none, -1, frame.fillna(np.inf).idxmin(axis=1)))
    assert rank.dtype == leader.dtype == laggard.dtype == np.int64
    assert none.any() or m > 2


@pytest.mark.skipif(not USING_EXTENSION, reason="compiled core not built")
@pytest.mark.parametrize("m", [1, 2, 3, 4, 6])
def test_compiled_leads_and_ranks_equal_pure_bit_for_bit(m):
    x = values(20 + m, m)
    got, want = group_leads(x), pure.group_leads(x)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))  # -0.0 stays -0.0
    for a, b in zip(lead_ranks(got), pure.lead_ranks(want), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
