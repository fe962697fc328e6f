"""Descriptive figures: forward-return and trade metrics per signal name and
breakdown key, each with its sample size (definitions: docs/evaluation.md)."""

from __future__ import annotations

import math

import numpy as np

from .result import ForwardRow, TradeRow


def _mean(x) -> float:
    return float(np.mean(x)) if len(x) else math.nan


def hit_rate(values) -> float:
    """Share of values above 0 (NaN without values)."""
    return float(np.mean(np.asarray(values) > 0)) if len(values) else math.nan


def profit_factor(usd) -> float:
    """Sum of gains / -sum of losses; NaN with no losing trade (or no trade)."""
    usd = np.asarray(usd, dtype=float)
    losses = -usd[usd < 0].sum()
    return float(usd[usd > 0].sum() / losses) if losses > 0 else math.nan


def trade_metrics(net_points, net_usd, mfe, mae, hold_minutes) -> dict:
    """The trade figures of one group of trades."""
    return {
        "n": len(net_usd),
        "hit_rate": hit_rate(net_usd),
        "expectancy_points": _mean(net_points),
        "expectancy_usd": _mean(net_usd),
        "profit_factor": profit_factor(net_usd),
        "mean_mfe_points": _mean(mfe),
        "mean_mae_points": _mean(mae),
        "mean_hold_minutes": _mean(hold_minutes),
    }


def breakdown_keys(table, bucket_labels) -> dict:
    """breakdown -> key text per row of a signal or trade table."""
    return {
        "setup": np.full(len(table), "", dtype=object),
        "instrument": table.instrument,
        "regime": table.regime,
        "time_of_day": np.array(bucket_labels, dtype=object)[table.bucket]
        if len(table)
        else np.zeros(0, object),
    }


def _groups(name, key):
    """(name, key, rows) for each distinct pair, sorted."""
    pairs = sorted({(str(a), str(b)) for a, b in zip(name, key, strict=True)})
    name, key = name.astype(str), key.astype(str)
    for a, b in pairs:
        yield a, b, np.flatnonzero((name == a) & (key == b))


def forward_rows(table, horizons, bucket_labels) -> list[ForwardRow]:
    rows = []
    for breakdown, keys in breakdown_keys(table, bucket_labels).items():
        for name, key, at in _groups(table.name, keys):
            signed = bool((table.side[at] != 0).all())
            for j, h in enumerate(horizons):
                ok = at[np.isfinite(table.pct[at, j])]
                atr = table.atr[ok, j]
                atr = atr[np.isfinite(atr)]
                rows.append(
                    ForwardRow(
                        breakdown=breakdown,
                        name=name,
                        key=key,
                        horizon=h,
                        n=len(ok),
                        sessions=len(np.unique(table.session[ok])),
                        mean_points=_mean(table.points[ok, j]),
                        mean_pct=_mean(table.pct[ok, j]),
                        mean_atr=_mean(atr),
                        n_atr=len(atr),
                        hit_rate=hit_rate(table.pct[ok, j]),
                        signed=signed,
                    )
                )
    return rows


def trade_rows(trades, bucket_labels) -> list[TradeRow]:
    keys = breakdown_keys(trades, bucket_labels)
    keys["exit_rule"] = trades.exit_rule
    hold = trades.hold_minutes
    rows = []
    for breakdown, key_of in keys.items():
        for name, key, at in _groups(trades.name, key_of):
            figures = trade_metrics(
                trades.net_points[at], trades.net_usd[at], trades.mfe[at], trades.mae[at], hold[at]
            )
            rows.append(
                TradeRow(
                    breakdown=breakdown,
                    name=name,
                    key=key,
                    sessions=len(np.unique(trades.session[at])),
                    **figures,
                )
            )
    return rows
