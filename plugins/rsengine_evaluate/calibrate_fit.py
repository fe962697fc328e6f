"""Walk-forward thresholds from the per-session measures (docs/evaluation.md#calibration).

A threshold is the ``1 - share`` quantile (numpy's linear interpolation) of
its signals' measures over the training sessions, so that the gate opens on
``share`` of them. The sessions are cut into blocks (calendar months, or
every N sessions); each block's thresholds come only from the sessions
before its first one: all of them (``expanding``) or the last N.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

FLOOR = 1e-6  # thresholds must be > 0; a gate that opens too rarely gets this


@attrs.frozen
class Key:
    """One calibrated setting and the signals whose measures it gates."""

    setup: str
    setting: str
    signals: tuple

    @property
    def path(self) -> str:
        return f"{self.setup}.{self.setting}"


KEYS = (
    Key("context", "spread", ("nq_vs_es", "rty_vs_es")),
    Key("context", "min_norm", ("alignment",)),
    Key("context", "premarket_spread", ("premarket_read",)),
    Key("strength_rider", "min_lead", ("strength_rider",)),
    Key("divergence_fade", "min_divergence", ("divergence_fade",)),
    Key("laggard_catchup", "min_lag", ("laggard_catchup",)),
)


@attrs.frozen
class Plan:
    """How the walk-forward runs. ``window``: None (expanding) or N sessions;
    ``refit``: ``"month"`` or N sessions per block; ``min_train``: sessions a
    block needs before it (fewer: a warm-up block, not out of sample)."""

    window: int | None = None
    refit: str | int = "month"
    min_train: int = 60

    def __attrs_post_init__(self):
        if self.window is not None and self.window < self.min_train:
            raise ValueError(
                f"the rolling window ({self.window}) must hold at least --min-train "
                f"({self.min_train}) sessions"
            )

    def blocks(self, sessions) -> np.ndarray:
        """The block number of each session (0, 1, ...), in session order."""
        if self.refit == "month":
            months = [d[:7] for d in sessions]
            _, first = np.unique(months, return_index=True)
            starts = np.sort(first)
            return np.searchsorted(starts, np.arange(len(sessions)), side="right") - 1
        return np.arange(len(sessions)) // int(self.refit)

    def training(self, first: int) -> range:
        """The sessions a block starting at session ``first`` learns from."""
        lo = 0 if self.window is None else max(0, first - self.window)
        return range(lo, first)

    def describe(self) -> str:
        window = "expanding window" if self.window is None else f"rolling {self.window} sessions"
        refit = "monthly" if self.refit == "month" else f"every {self.refit} sessions"
        return f"{window}, refit {refit}, at least {self.min_train} training sessions"


def threshold(values: np.ndarray, share: float) -> float:
    """The ``1 - share`` quantile of the finite ``values``, at least
    :data:`FLOOR`; NaN without a finite value."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    return max(float(np.quantile(values, 1.0 - share)), FLOOR)


def fit(keys, measures: dict, sessions: np.ndarray | range, shares: dict) -> dict:
    """Key path -> threshold over ``sessions`` (indices), the measures of a
    key's signals pooled."""
    rows = np.asarray(sessions, np.int64)
    return {
        key.path: threshold(
            np.concatenate([measures[name][rows] for name in key.signals]), shares[key.path]
        )
        for key in keys
    }


@attrs.frozen
class Block:
    """One walk-forward block: its sessions ``first..last`` (indices), the
    sessions it learned from, and its thresholds (empty for a warm-up)."""

    number: int
    first: int
    last: int
    train: range
    thresholds: dict

    @property
    def warm_up(self) -> bool:
        return not self.thresholds


def walk_forward(keys, measures: dict, sessions, shares: dict, plan: Plan) -> list[Block]:
    """Every block with the thresholds fitted on the sessions before it."""
    block_of = plan.blocks(sessions)
    out = []
    for b in np.unique(block_of):
        at = np.flatnonzero(block_of == b)
        train = plan.training(int(at[0]))
        thresholds = fit(keys, measures, train, shares) if len(train) >= plan.min_train else {}
        out.append(Block(int(b), int(at[0]), int(at[-1]), train, thresholds))
    return out


def gate_open(measure: np.ndarray, value: float) -> np.ndarray:
    """Sessions whose measure reaches ``value`` (the setups' tolerance)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(measure) >= value - 1e-9
