"""The result of an evaluation: a tree of frozen attrs classes.

:class:`Evaluation` is the root. A report reads it directly, or reads it back
from ``evaluation.json`` with :func:`read_evaluation`. Every figure comes with
its sample size ``n``; a figure that cannot be computed (no sample, no ATR, no
loss for a profit factor) is ``None`` (NaN in memory, ``null`` in JSON).
Definitions of every field: docs/evaluation.md.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import attrs

FORMAT = "rsengine-evaluation/1"


@attrs.frozen
class Settings:
    """What the evaluation was run with."""

    seed: int
    draws: int
    resamples: int
    horizons: tuple  # labels: "15m", "30m", "60m", "close"
    buckets: tuple  # time-of-day bucket labels, ET
    slippage_ticks: float
    commission: dict  # root -> $ per contract per side, for the roots traded
    confidence: float  # of the bootstrap intervals
    alpha: float  # the false discovery rate "significant" is read at


@attrs.frozen
class ForwardRow:
    """Forward returns of one signal name, over one breakdown key, at one
    horizon. Means are of signed returns (flat signals: unsigned)."""

    breakdown: str  # "setup" (key ""), "instrument", "regime", "time_of_day"
    name: str
    key: str
    horizon: str
    n: int  # signals with a return at this horizon
    sessions: int
    mean_points: float
    mean_pct: float
    mean_atr: float
    n_atr: int  # of n, those with an ATR
    hit_rate: float  # share with a signed return > 0
    signed: bool  # False for flat signals


@attrs.frozen
class TradeRow:
    """Simulated trades of one setup over one breakdown key, after costs."""

    breakdown: str  # "setup" (key ""), "instrument", "regime", "time_of_day", "exit_rule"
    name: str
    key: str
    n: int
    sessions: int
    hit_rate: float  # share with net $ > 0
    expectancy_points: float  # mean net points
    expectancy_usd: float  # mean net $ per contract
    profit_factor: float  # sum of winning net $ / -sum of losing net $
    mean_mfe_points: float
    mean_mae_points: float
    mean_hold_minutes: float


@attrs.frozen
class ChanceTest:
    """One signal name against its random baseline."""

    name: str
    metric: str  # "forward_pct" (mean signed % return) or "trade_usd" (mean net $/contract)
    horizon: str  # "15m" ... "close"; "" for trades
    n: int
    sessions: int
    observed: float
    baseline_mean: float
    baseline_low: float  # 5th percentile of the baseline's means
    baseline_high: float  # 95th percentile
    percentile: float  # of the observed value among the baseline's means, 0-100
    p_value: float  # one-sided (observed better than chance), (1 + #>=) / (draws + 1)
    q_value: float  # Benjamini-Hochberg adjusted, across every test of the run
    significant: bool  # q_value < alpha
    ci_low: float  # session-block bootstrap interval of the observed value
    ci_high: float
    hit_rate: float
    hit_ci_low: float
    hit_ci_high: float
    baseline_hit_rate: float


@attrs.frozen
class SignalScore:
    """One scored signal with its forward returns, one entry per horizon."""

    id: str
    name: str
    kind: str
    instrument: str
    side: str
    session_date: str
    ts_close: int
    bucket: str
    regime: str
    price: float  # close of the signal's bar
    points: tuple
    pct: tuple
    atr: tuple


@attrs.frozen
class TradeScore:
    """One simulated trade."""

    id: str
    name: str
    instrument: str
    traded: str
    side: str
    contracts: int
    session_date: str
    bucket: str
    regime: str
    entry_ts: int
    exit_ts: int
    entry: float
    stop: float
    target: float
    exit_price: float
    exit_rule: str
    exit_source: str  # "engine" or "simulated"
    gross_points: float
    net_points: float
    net_usd: float
    mfe_points: float
    mae_points: float
    hold_minutes: float


@attrs.frozen
class EquityCurve:
    """One setup's cumulative net $ per contract, trade by trade in entry
    order (the engine's exits, as the trade tables), against the same curve
    of its matched random baseline: the draws of the setup's ``trade_usd``
    test, so the last point's mean and band are ``n`` times that test's
    ``baseline_mean``, ``baseline_low`` and ``baseline_high``.
    ``bracket_cumulative`` follows the setup's own entries as the test does
    (bracket to the session end): its last point is ``n`` times ``observed``."""

    name: str
    trade_ids: tuple  # TradeScore ids, in entry order
    entry_ts: tuple  # int64 ns UTC
    net_usd: tuple  # each trade's net $ per contract
    cumulative: tuple  # running sum of net_usd
    baseline_mean: tuple  # mean over the draws of the random trades' running sum
    baseline_low: tuple  # its 5th percentile, trade by trade
    baseline_high: tuple  # its 95th percentile
    bracket_cumulative: tuple = ()  # running sum of the entries by their bracket, as the test


@attrs.frozen
class Evaluation:
    """Everything ``rsengine evaluate`` computed for one config."""

    config: str
    data: str  # the sources' labels
    sessions: int
    first_session: str
    last_session: str
    settings: Settings
    counts: dict  # signals by kind, as emitted
    open_at_end: int  # trade entries the engine left open at the end of the data
    trials: int  # tests corrected for together (Benjamini-Hochberg)
    forward: tuple  # ForwardRow
    trades: tuple  # TradeRow
    tests: tuple  # ChanceTest
    signals: tuple  # SignalScore
    trade_records: tuple  # TradeScore
    notes: tuple = ()
    format: str = FORMAT
    equity: tuple = ()  # EquityCurve, one per trade setup

    def to_dict(self) -> dict:
        return _clean(attrs.asdict(self, recurse=True))

    def to_json(self) -> str:
        """Keys sorted, NaN as null: identical results give identical bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False) + "\n"

    def write(self, folder) -> list[Path]:
        """``evaluation.json`` and one CSV per table into ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "evaluation.json"]
        written[0].write_text(self.to_json(), encoding="utf-8")
        tables = {
            "tests": self.tests,
            "signals": self.signals,
            "trades": self.trade_records,
        }
        for stem, rows in (("forward", self.forward), ("trades", self.trades)):
            for breakdown in sorted({r.breakdown for r in rows}):
                tables[f"{stem}_by_{breakdown}"] = [r for r in rows if r.breakdown == breakdown]
        for stem, rows in tables.items():
            path = out / f"{stem}.csv"
            _write_csv(path, rows, self.settings.horizons)
            written.append(path)
        return written


def _clean(value):
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _csv_cell(value):
    value = _clean(value)
    return "" if value is None else value


def _write_csv(path: Path, rows, horizons) -> None:
    """One row per record; a per-horizon tuple becomes one column per horizon."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if not rows:
            writer.writerow([])
            return
        fields = [f.name for f in attrs.fields(type(rows[0]))]
        header = []
        for f in fields:
            value = getattr(rows[0], f)
            header += [f"{f}_{h}" for h in horizons] if isinstance(value, tuple) else [f]
        writer.writerow(header)
        for row in rows:
            cells = []
            for f in fields:
                value = getattr(row, f)
                cells += (
                    [_csv_cell(v) for v in value]
                    if isinstance(value, tuple)
                    else [_csv_cell(value)]
                )
            writer.writerow(cells)


def _nan(value):
    return math.nan if value is None else value


def read_evaluation(path) -> Evaluation:
    """An :class:`Evaluation` back from ``evaluation.json`` (``null`` -> NaN)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))

    def build(cls, item):
        kwargs = {}
        for f in attrs.fields(cls):
            value = item.get(f.name)
            if isinstance(value, list):
                value = tuple(_nan(v) for v in value)
            elif f.type in ("float",):
                value = _nan(value)
            kwargs[f.name] = value
        return cls(**kwargs)

    return Evaluation(
        config=data["config"],
        data=data["data"],
        sessions=data["sessions"],
        first_session=data["first_session"],
        last_session=data["last_session"],
        settings=build(Settings, data["settings"]),
        counts=data["counts"],
        open_at_end=data["open_at_end"],
        trials=data["trials"],
        forward=tuple(build(ForwardRow, r) for r in data["forward"]),
        trades=tuple(build(TradeRow, r) for r in data["trades"]),
        tests=tuple(build(ChanceTest, r) for r in data["tests"]),
        signals=tuple(build(SignalScore, r) for r in data["signals"]),
        trade_records=tuple(build(TradeScore, r) for r in data["trade_records"]),
        notes=tuple(data.get("notes", ())),
        format=data.get("format", FORMAT),
        equity=tuple(build(EquityCurve, r) for r in data.get("equity", ())),
    )
