"""What a slice-at-a-time component sees while the engine runs batches.

The engine hands whole batches of slices to components with batch methods and
walks the rows only for components that want one slice at a time. Such a
component must see the market as it was at its slice: the values of that row
and each ring ending at that slice, although the engine has already appended
the whole batch. These read-only stand-ins give it exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class RowValues(Mapping):
    """Row ``j`` of the batch's indicator values: column -> (symbols,) array."""

    __slots__ = ("_values", "_j")

    def __init__(self, values: dict, j: int):
        self._values, self._j = values, j

    def __getitem__(self, name):
        return self._values[name][self._j]

    def __contains__(self, name) -> bool:
        return name in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class RingAsOf:
    """A :class:`~rsengine.core.BarRing` read as it was before its last ``hidden``
    bars were appended, holding at most ``capacity`` bars (the ring the
    component would have seen had the engine gone slice by slice)."""

    __slots__ = ("_ring", "_hidden", "_len", "capacity")

    def __init__(self, ring, hidden: int, capacity: int):
        self._ring, self._hidden, self.capacity = ring, hidden, capacity
        self._len = min(len(ring) - hidden, capacity)

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"RingAsOf(capacity={self.capacity}, len={self._len}, total={self.total})"

    @property
    def total(self) -> int:
        return self._ring.total - self._hidden

    def _span(self, n) -> int:
        if n is None:
            return self._len
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n > self._len:
            raise ValueError(f"n={n} exceeds the {self._len} bars held")
        return n

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        n = self._span(n)
        full = self._ring.column(name, n + self._hidden)
        return full[: len(full) - self._hidden]

    def view(self, n: int | None = None):
        from rsengine.core import Bars  # the core picks its twin at import

        n = self._span(n)
        whole = self._ring.view(n + self._hidden)
        cut = slice(0, n)
        return Bars(**{name: getattr(whole, name)[cut] for name in _BAR_FIELDS})

    def last(self, name: str):
        if not self._len:
            raise IndexError("last() on an empty BarRing")
        return self.column(name, 1)[0].item()


_BAR_FIELDS = (
    "ts_open", "ts_close", "open", "high", "low", "close", "volume", "vwap", "trades", "flags",
)  # fmt: skip


class RingsAsOf(Mapping):
    """symbol -> :class:`RingAsOf` for row ``j`` of a batch whose bars are all
    in the rings already. ``after[j, i]``: bars of instrument ``i`` in the rows
    after ``j``."""

    __slots__ = ("_rings", "_after", "_j", "_index", "_capacity")

    def __init__(self, rings: dict, after: np.ndarray, j: int, index: dict, capacity: int):
        self._rings, self._after, self._j = rings, after, j
        self._index, self._capacity = index, capacity

    def __getitem__(self, symbol):
        hidden = int(self._after[self._j, self._index[symbol]])
        return RingAsOf(self._rings[symbol], hidden, self._capacity)

    def __iter__(self):
        return iter(self._rings)

    def __len__(self) -> int:
        return len(self._rings)


def bars_after(present: np.ndarray) -> np.ndarray:
    """(rows, symbols): how many bars each instrument has in the rows after each row."""
    counts = present.astype(np.int64)
    return counts[::-1].cumsum(axis=0)[::-1] - counts


def stack_rows(rows: list[dict]) -> dict:
    """One slice-at-a-time indicator's results, row by row, as batch columns.
    A column a row did not return is NaN there."""
    names: dict = {}
    for result in rows:
        for name, value in result.items():
            names.setdefault(name, np.asarray(value))
    out = {}
    for name, like in names.items():
        blank = np.full(like.shape, np.nan if like.dtype.kind == "f" else 0, like.dtype)
        out[name] = np.stack([np.asarray(r[name]) if name in r else blank for r in rows])
    return out
