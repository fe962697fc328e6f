"""The per-session measure of each calibrated signal (docs/evaluation.md#calibration).

A signal's threshold gates one measure: ``nq_vs_es`` fires when
``sign(rs_NQ) * (rs_NQ - rs_ES) >= spread`` on a live RTH row. The session's
measure is the peak of that quantity over the rows the gate looks at, so the
gate opens in a session exactly when its measure reaches the threshold. It is
0 when no row has a positive value, and NaN when the gate has nothing to look
at (no row with the inputs known): such sessions take no part in the
calibration.

:class:`MeasureOutput` keeps the columns the measures need, batch by batch,
during the same replay that :mod:`.capture` records (it is one more output);
:func:`session_measures` turns them into one value per session and signal.
"""

from __future__ import annotations

import datetime as dt
import numbers

import numpy as np

from rsengine.exchange.sessions import SessionBounds, local_ns, split_sessions

EPS = 1e-9  # the setups' tolerance of threshold tests (rsengine_rs.context.EPS)
COLUMNS = ("rs_pct", "rs_norm", "lead")
# the signals measured here, in report order
SIGNALS = (
    "nq_vs_es",
    "rty_vs_es",
    "alignment",
    "premarket_read",
    "strength_rider",
    "divergence_fade",
    "laggard_catchup",
)


class MeasureOutput:
    """An output keeping, per batch, the stamps, which instruments have a bar,
    ``rs_pct``, ``rs_norm``, ``lead`` and whether the row is in an event
    blackout (``event_window`` "blocked" in any column)."""

    def __init__(self, symbols):
        self.symbols = tuple(symbols)
        self.parts: list[dict] = []

    def on_batch(self, batch, values) -> None:
        n, k = batch.present.shape
        part = {
            "ts_close": np.array(batch.ts_close, np.int64),
            "present": np.array(batch.present, bool),
        }
        for name in COLUMNS:
            column = values.get(name)
            part[name] = np.full((n, k), np.nan) if column is None else np.array(column, float)
        window = values.get("event_window")
        part["blocked"] = (
            np.zeros(n, bool)
            if window is None
            else (np.asarray(window).reshape(n, -1) == "blocked").any(axis=1)
        )
        self.parts.append(part)

    def on_signal(self, signal) -> None:
        pass

    def close(self, summary) -> None:
        pass

    def rows(self) -> dict:
        """Every kept array, the batches joined."""
        k = len(self.symbols)
        if not self.parts:
            empty = {name: np.zeros((0, k)) for name in COLUMNS}
            return {
                "ts_close": np.zeros(0, np.int64),
                "present": np.zeros((0, k), bool),
                "blocked": np.zeros(0, bool),
                **empty,
            }
        return {key: np.concatenate([p[key] for p in self.parts]) for key in self.parts[0]}


def clock(value, default: str) -> dt.time:
    """A setting's time of day: 'HH:MM', or the minutes YAML 1.1 makes of 09:15."""
    if value is None:
        value = default
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return dt.time(int(value) // 60, int(value) % 60)
    return dt.time.fromisoformat(str(value).strip())


def _peak(values: np.ndarray) -> float:
    """max(0, the largest finite value); NaN without one."""
    finite = values[np.isfinite(values)]
    return max(float(finite.max()), 0.0) if len(finite) else np.nan


def _carried(x: np.ndarray) -> np.ndarray:
    """Each row's last finite value so far (NaN before the first)."""
    idx = np.where(np.isfinite(x), np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], np.nan)


class _Settings:
    """The settings the gates read, from the config (defaults of rsengine_rs)."""

    def __init__(self, config):
        from rsengine_rs.context import DEFAULTS as CONTEXT
        from rsengine_rs.rider import StrengthRider
        from rsengine_rs.trades import COMMON

        def get(setup, key, default):
            component = config.setups.get(setup)
            value = None if component is None else component.settings.get(key)
            return default if value is None else value

        self.max_ratio = float(get("context", "max_ratio", CONTEXT["max_ratio"]))
        self.read_time = clock(get("context", "read_time", None), CONTEXT["read_time"])
        self.lead_ns = round(
            float(get("strength_rider", "lead_minutes", StrengthRider.DEFAULTS["lead_minutes"]))
            * 60e9
        )
        self.last_entry = {
            name: clock(get(name, "last_entry", None), COMMON["last_entry"])
            for name in ("divergence_fade", "laggard_catchup")
        }


def session_measures(rows: dict, symbols, config) -> tuple[tuple, dict]:
    """``(session dates, {signal name: float array, one value per session})``
    for the signals of :data:`SIGNALS` whose group slots are configured."""
    settings = _Settings(config)
    tz = config.session.timezone
    bounds = SessionBounds(config.session.calendar, tz)
    index = {s: i for i, s in enumerate(symbols)}
    slots = {g: index[s] for g, s in zip(config.group, config.group_symbols, strict=True)}
    members = [index[s] for s in config.group_symbols]
    es, nq, rty = slots.get("ES"), slots.get("NQ"), slots.get("RTY")
    ts = rows["ts_close"]
    spans = list(split_sessions(ts, tz))
    n = len(spans)
    out = {name: np.full(n, np.nan) for name in SIGNALS}
    rs, norm, lead = rows["rs_pct"], rows["rs_norm"], rows["lead"]
    for s, (lo, hi, day) in enumerate(spans):
        _, _, rth_open, rth_close = bounds(day)
        t = ts[lo:hi]
        live = (t > rth_open) & (t <= rth_close) & ~rows["blocked"][lo:hi]
        rth = np.flatnonzero(live) + lo
        if es is not None:
            for name, x, sign_of in (("nq_vs_es", nq, nq), ("rty_vs_es", rty, es)):
                if x is not None:
                    out[name][s] = _peak(np.sign(rs[rth, sign_of]) * (rs[rth, x] - rs[rth, es]))
            if nq is not None:
                out["premarket_read"][s] = _premarket(
                    rs[lo:hi], t, nq, es, day, rth_open, tz, settings
                )
        if len(members) >= 2:
            out["alignment"][s] = _alignment(rs[rth][:, members], norm[rth][:, members], settings)
        window = (t > rth_open) & (t <= rth_open + settings.lead_ns)
        out["strength_rider"][s] = _held_lead(lead[lo:hi][window][:, members])
        for name, last in settings.last_entry.items():
            latest = local_ns(day, last, tz)
            entry = (t > rth_open) & (t <= latest) & (t < rth_close) & ~rows["blocked"][lo:hi]
            at = np.flatnonzero(entry) + lo
            gap = np.where(rows["present"][at][:, members], np.abs(lead[at][:, members]), np.nan)
            out[name][s] = _peak(gap.ravel())
    return tuple(day.isoformat() for _, _, day in spans), out


def _premarket(rs, t, nq, es, day, rth_open, tz, settings) -> float:
    """|rs_NQ - rs_ES| (each its last value so far in the session) on the first
    row closing at or after the read time, when that row closes before 09:30."""
    j = int(np.searchsorted(t, local_ns(day, settings.read_time, tz)))
    if j == len(t) or t[j] >= rth_open:
        return np.nan
    spread = _carried(rs[: j + 1, nq])[-1] - _carried(rs[: j + 1, es])[-1]
    return abs(spread) if np.isfinite(spread) else np.nan


def _alignment(r: np.ndarray, z: np.ndarray, settings) -> float:
    """Peak of min |rs_norm| over the rows where every member's rs_norm is
    known, every rs_pct has one sign and max |rs_norm| <= max_ratio x min."""
    known = np.isfinite(z).all(axis=1)
    if not known.any():
        return np.nan
    size = np.abs(z[known])
    small, large = size.min(axis=1), size.max(axis=1)
    signs = r[known]
    one_sign = (signs.min(axis=1) > 0) | (signs.max(axis=1) < 0)
    ok = one_sign & (large <= settings.max_ratio * small + EPS)
    return max(float(small[ok].max()), 0.0) if ok.any() else 0.0


def _held_lead(lead: np.ndarray) -> float:
    """The lead a member held on every row of the rider's window, either way
    (the largest over members and sides of min(side x lead)); NaN fails."""
    if not len(lead) or not np.isfinite(lead).any():
        return np.nan
    held = [np.where(np.isfinite(lead), side * lead, -np.inf).min(axis=0) for side in (1, -1)]
    peak = _peak(np.concatenate(held))  # NaN: no member held a lead either way
    return 0.0 if np.isnan(peak) else peak
