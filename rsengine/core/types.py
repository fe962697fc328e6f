"""Columnar values the core hands out: closed bars, rejected trades, slices.

Both the compiled core and its pure-Python twin return these same classes, so
callers never need to know which one is active.
"""

from __future__ import annotations

import attrs
import numpy as np

# Bar flags (a bit set, stored as uint8).
PARTIAL = 1  # the last bar of a replay, emitted before its end was reached
FILLED = 2  # no trade in the interval; emitted only when filling was asked for

# Why a trade was kept out of the bars.
LATE = 1  # older than the open bar: its bar was already emitted
OFF_SESSION = 2  # inside a halt or outside every session of the schedule

BAR_FLOAT_COLUMNS = ("open", "high", "low", "close", "volume", "vwap")
BAR_COLUMNS = ("ts_open", "ts_close", *BAR_FLOAT_COLUMNS, "trades", "flags")
BAR_DTYPES = {
    "ts_open": np.int64,
    "ts_close": np.int64,
    **{name: np.float64 for name in BAR_FLOAT_COLUMNS},
    "trades": np.int64,
    "flags": np.uint8,
}


def _column(dtype):
    return attrs.field(converter=lambda a: np.asarray(a, dtype=dtype))


@attrs.frozen(eq=False)
class Bars:
    """OHLCV bars as parallel numpy arrays, one row per bar, in ts_close order.

    ``ts_open``/``ts_close`` are int64 ns UTC and the bar covers
    ``[ts_open, ts_close)``. ``vwap`` is NaN for a bar without volume.
    ``trades`` counts trades (or, for combined bars, the constituents' trades).
    """

    ts_open: np.ndarray = _column(np.int64)
    ts_close: np.ndarray = _column(np.int64)
    open: np.ndarray = _column(np.float64)
    high: np.ndarray = _column(np.float64)
    low: np.ndarray = _column(np.float64)
    close: np.ndarray = _column(np.float64)
    volume: np.ndarray = _column(np.float64)
    vwap: np.ndarray = _column(np.float64)
    trades: np.ndarray = _column(np.int64)
    flags: np.ndarray = _column(np.uint8)

    def __len__(self) -> int:
        return len(self.ts_close)

    @classmethod
    def empty(cls) -> Bars:
        return cls(**{name: np.empty(0, dtype) for name, dtype in BAR_DTYPES.items()})

    @classmethod
    def concat(cls, parts: list[Bars]) -> Bars:
        if not parts:
            return cls.empty()
        return cls(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in BAR_COLUMNS}
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in BAR_COLUMNS}

    def row(self, i: int) -> dict:
        """One bar as a dict of Python scalars."""
        return {name: getattr(self, name)[i].item() for name in BAR_COLUMNS}

    def equals(self, other: Bars) -> bool:
        """Exact equality, NaN equal to NaN (for parity checks)."""
        return all(
            np.array_equal(getattr(self, n), getattr(other, n), equal_nan=n in BAR_FLOAT_COLUMNS)
            for n in BAR_COLUMNS
        )


@attrs.frozen(eq=False)
class Rejected:
    """Trades (or input bars) kept out of the bars, with the reason code of each."""

    ts: np.ndarray = _column(np.int64)
    price: np.ndarray = _column(np.float64)
    size: np.ndarray = _column(np.float64)
    reason: np.ndarray = _column(np.uint8)

    def __len__(self) -> int:
        return len(self.ts)


@attrs.frozen(eq=False)
class Slice:
    """Every instrument's bar for one ``ts_close``.

    Arrays are indexed like the assembler's symbol list. Where ``present`` is
    False the instrument had no bar closing at ``ts_close``: its float columns
    are NaN, ``trades`` is 0 and ``ts_open`` is -1. Nothing is forward-filled.
    """

    ts_close: int
    symbols: tuple
    present: np.ndarray = _column(np.bool_)
    ts_open: np.ndarray = _column(np.int64)
    open: np.ndarray = _column(np.float64)
    high: np.ndarray = _column(np.float64)
    low: np.ndarray = _column(np.float64)
    close: np.ndarray = _column(np.float64)
    volume: np.ndarray = _column(np.float64)
    vwap: np.ndarray = _column(np.float64)
    trades: np.ndarray = _column(np.int64)
    flags: np.ndarray = _column(np.uint8)

    @property
    def missing(self) -> tuple:
        return tuple(s for s, p in zip(self.symbols, self.present, strict=True) if not p)

    def equals(self, other: Slice) -> bool:
        if self.ts_close != other.ts_close or self.symbols != other.symbols:
            return False
        names = ("present", "ts_open", *BAR_FLOAT_COLUMNS, "trades", "flags")
        return all(
            np.array_equal(getattr(self, n), getattr(other, n), equal_nan=n in BAR_FLOAT_COLUMNS)
            for n in names
        )


SLICE_COLUMNS = ("present", "ts_open", *BAR_FLOAT_COLUMNS, "trades", "flags")
SLICE_DTYPES = {"present": np.bool_, **{k: v for k, v in BAR_DTYPES.items() if k != "ts_close"}}


@attrs.frozen(eq=False)
class SliceBatch:
    """Consecutive slices as 2-D arrays: row ``j`` is the slice at ``ts_close[j]``.

    ``ts_close`` has shape ``(n,)``; every other column ``(n, k)``, ``k`` being
    ``len(symbols)``, with the same missing-slot convention as :class:`Slice`.
    Rows are in ``ts_close`` order. Columns are not copied: treat them as
    read-only.
    """

    symbols: tuple
    ts_close: np.ndarray
    present: np.ndarray
    ts_open: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    trades: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_close)

    @classmethod
    def empty(cls, symbols) -> SliceBatch:
        k = len(symbols)
        columns = {name: np.empty((0, k), dtype) for name, dtype in SLICE_DTYPES.items()}
        return cls(tuple(symbols), np.empty(0, np.int64), **columns)

    @classmethod
    def from_slices(cls, slices, symbols=None) -> SliceBatch:
        """Stack slices (all with the same symbols) into one batch."""
        slices = list(slices)
        if not slices:
            if symbols is None:
                raise ValueError("no slices and no symbols: cannot make an empty batch")
            return cls.empty(symbols)
        symbols = slices[0].symbols
        columns = {
            name: np.stack([getattr(s, name) for s in slices]).astype(dtype, copy=False)
            for name, dtype in SLICE_DTYPES.items()
        }
        ts_close = np.fromiter((s.ts_close for s in slices), np.int64, len(slices))
        return cls(symbols, ts_close, **columns)

    def row(self, j: int) -> Slice:
        """Row ``j`` as a :class:`Slice` (its columns read from the batch on access)."""
        return _BatchRow(self, j)

    def rows(self, lo: int, hi: int) -> SliceBatch:
        """Rows ``lo:hi`` as a batch (views, no copy)."""
        return SliceBatch(
            self.symbols,
            self.ts_close[lo:hi],
            **{n: getattr(self, n)[lo:hi] for n in SLICE_COLUMNS},
        )

    def __iter__(self):
        return (self.row(j) for j in range(len(self)))


class _BatchRow(Slice):
    """Row ``j`` of a batch as a :class:`Slice` that reads its columns from the
    batch when asked: made in a fraction of a microsecond, which matters when
    the engine walks every row for a slice-at-a-time component."""

    __slots__ = ("_batch", "_j")

    def __init__(self, batch: SliceBatch, j: int):
        object.__setattr__(self, "_batch", batch)
        object.__setattr__(self, "_j", j)

    def _plain(self) -> Slice:
        return Slice(self.ts_close, self.symbols, **{n: getattr(self, n) for n in SLICE_COLUMNS})

    def __reduce__(self):
        return (_unpickle_row, (self._plain(),))

    def __repr__(self) -> str:
        return repr(self._plain())

    ts_close = property(lambda self: int(self._batch.ts_close[self._j]))
    symbols = property(lambda self: self._batch.symbols)


def _row_column(name: str) -> property:
    return property(lambda self: getattr(self._batch, name)[self._j])


for _name in SLICE_COLUMNS:
    setattr(_BatchRow, _name, _row_column(_name))


def _unpickle_row(plain: Slice) -> Slice:
    return plain  # a pickled row comes back as a plain Slice
