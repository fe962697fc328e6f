"""Values passed between components: data chunks from sources, and signals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import attrs
import numpy as np

SIDES = ("long", "short", "flat")
CONFIRMATIONS = ("rs", "tick", "add", "volume")


def _int64(a):
    return np.ascontiguousarray(a, dtype=np.int64)


def _float64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


@attrs.frozen(eq=False)
class TradeChunk:
    """Trades of one instrument, oldest first (int64 ns UTC, price, size)."""

    ts: np.ndarray = attrs.field(converter=_int64)
    price: np.ndarray = attrs.field(converter=_float64)
    size: np.ndarray = attrs.field(converter=_float64)

    def __len__(self) -> int:
        return len(self.ts)


@attrs.frozen(eq=False)
class BarChunk:
    """Bars of one instrument placed by their open stamp (int64 ns UTC).

    ``bar_ns`` is the input bar length; the engine combines them into its bars.
    """

    ts_open: np.ndarray = attrs.field(converter=_int64)
    open: np.ndarray = attrs.field(converter=_float64)
    high: np.ndarray = attrs.field(converter=_float64)
    low: np.ndarray = attrs.field(converter=_float64)
    close: np.ndarray = attrs.field(converter=_float64)
    volume: np.ndarray = attrs.field(converter=_float64)
    bar_ns: int = 0

    def __len__(self) -> int:
        return len(self.ts_open)

    @property
    def ts(self) -> np.ndarray:
        return self.ts_open


def iso_utc(ts_ns: int) -> str:
    """int ns UTC -> '2024-03-06T15:05:00Z' (with a fraction only when there is one)."""
    seconds, ns = divmod(int(ts_ns), 1_000_000_000)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ns:09d}Z" if ns else f"{text}Z"


def iso_utc_many(ts_ns) -> list[str]:
    """:func:`iso_utc` of every stamp of an int64 array, vectorised."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    seconds = np.datetime_as_string((ts // 1_000_000_000).astype("datetime64[s]"), unit="s")
    fraction = ts % 1_000_000_000
    if not fraction.any():
        return [f"{t}Z" for t in seconds.tolist()]
    return [
        f"{t}.{f:09d}Z" if f else f"{t}Z"
        for t, f in zip(seconds.tolist(), fraction.tolist(), strict=True)
    ]


def _number(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


@attrs.frozen
class Signal:
    """One signal, as every output receives it (DOMAIN.md §9).

    ``id`` is derived from what the signal says, so the same input always
    gives the same id.
    """

    ts_close: int
    session_date: str
    name: str
    kind: str  # "context" (no trade by itself), "setup" (a trade) or "exit" (closes one)
    instrument: str
    side: str = attrs.field(validator=attrs.validators.in_(SIDES))
    reason: str
    regime: str = "unknown"
    contract: str = ""
    confirmations: tuple = ()  # which of CONFIRMATIONS held
    size_fraction: float = 0.0
    contracts: int = 0
    entry: float | None = attrs.field(default=None, converter=_number)
    stop: float | None = attrs.field(default=None, converter=_number)
    target: float | None = attrs.field(default=None, converter=_number)
    source: str = ""  # e.g. "SIMULATED" for the built-in market
    details: dict = attrs.field(factory=dict)

    @property
    def id(self) -> str:
        key = f"{self.name}|{self.instrument}|{self.side}|{self.ts_close}"
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        data = attrs.asdict(self)
        data["confirmations"] = list(self.confirmations)
        return {"id": self.id, "time": iso_utc(self.ts_close), **data}

    def to_json(self) -> str:
        """One line, keys sorted: byte-identical for identical signals."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
