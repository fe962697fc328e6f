"""A batch's recorded rows as named columns, for every format alike.

A row is one instrument's bar of one slice, slices in time order and the
instruments of a slice in the configured order. Columns come back as numpy
arrays of one length; an indicator column that gave no values for the batch
is ``None``.
"""

from __future__ import annotations

import numpy as np

from rsengine.core import FILLED, PARTIAL

BAR_FIELDS = (
    "ts_open",
    "ts_close",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "flags",
)
PRICE_FIELDS = ("open", "high", "low", "close", "volume")


def flag_names(flags: int) -> str:
    names = [name for bit, name in ((PARTIAL, "partial"), (FILLED, "filled")) if flags & bit]
    return "|".join(names)


FLAG_TEXT = [flag_names(f) for f in range(256)]


def batch_rows(batch, values: dict, columns: tuple) -> dict | None:
    """The rows of ``batch`` where an instrument has a bar, by column name
    (``BAR_FIELDS`` then ``columns``); ``None`` for a batch without bars.
    ``symbol`` is the instrument's index into ``batch.symbols``."""
    present = batch.present
    if not present.size:
        return None
    if present.all():  # the usual replay: row-major order is a plain reshape
        k = present.shape[1]
        cols = np.tile(np.arange(k), len(present))

        def take(a):
            return a.reshape(-1)

        ts_close = np.repeat(batch.ts_close, k)
    else:
        rows, cols = np.nonzero(present)
        if not len(rows):
            return None

        def take(a):
            return a[rows, cols]

        ts_close = batch.ts_close[rows]
    out = {
        "ts_open": take(batch.ts_open),
        "ts_close": ts_close,
        "symbol": cols,
        **{name: take(getattr(batch, name)) for name in PRICE_FIELDS},
        "trades": take(batch.trades),
        "flags": take(batch.flags),
    }
    for name in columns:
        value = values.get(name)
        out[name] = None if value is None else take(np.asarray(value))
    return out


def copy_rows(rows: dict) -> dict:
    """The rows with arrays of their own: a view (of the engine's arrays, as
    :func:`batch_rows` gives for a batch without gaps) is copied, an array
    :func:`batch_rows` made is kept as it is."""
    return {name: _own(value) for name, value in rows.items()}


def _own(value):
    return value.copy() if value is not None and value.base is not None else value


def signature(rows: dict) -> tuple:
    """What each column is (its dtype, or None): rows of one signature can be
    joined into one set of columns without changing any value's kind."""
    return tuple(None if value is None else value.dtype for value in rows.values())


def join_rows(parts: list) -> dict:
    """One set of columns from rows of one :func:`signature`, in order."""
    if len(parts) == 1:
        return parts[0]
    return {
        name: None if value is None else np.concatenate([part[name] for part in parts])
        for name, value in parts[0].items()
    }
