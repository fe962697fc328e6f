"""Find where a window of time starts and ends inside a block of whole lines.

A replay of a month out of years of data should not parse the years. The
reader hands each block of lines (bytes, every line ending in ``\\n``) to
:class:`WindowCut`, which reads the stamps of a few lines only (``key``: one
line's bytes -> int ns, or None when its stamp does not parse) and says which
lines lie before the window, so they are passed over unparsed, and where the
block reaches past the window's end, so the reader can stop there.

Keys are approximate on purpose: a stamp without an offset is compared as if
its wall time were UTC, so every decision keeps ``MARGIN_NS`` (a day, more than
any zone's offset) on the safe side; the caller masks the rows it delivers.
Blocks whose sampled stamps are not in time order are reported, and the reader
then reads the file whole.
"""

from __future__ import annotations

import numpy as np

NS_PER_HOUR = 3600 * 10**9
MARGIN_NS = 24 * NS_PER_HOUR  # more than any UTC offset (-12 h .. +14 h)
# wall-clock stamps step back an hour when the clocks go back: not out of order
TOLERANCE_NS = 2 * NS_PER_HOUR
SAMPLES = 16  # lines sampled per block to tell a block in time order
LOOK_AHEAD = 64  # lines tried after a line whose stamp does not parse


class Lines:
    """The lines of a block of bytes, with their stamps read on demand."""

    def __init__(self, block: bytes, key):
        self.block, self.key = block, key
        ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
        self.starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else ends
        self.n = len(self.starts)

    def offset(self, i: int) -> int:
        """Byte offset where line ``i`` starts (the block's length for ``i == n``)."""
        return int(self.starts[i]) if i < self.n else len(self.block)

    def stamp(self, i: int) -> tuple[int, int] | None:
        """(key, line) of the first line at or after ``i`` whose stamp parses."""
        for j in range(i, min(i + LOOK_AHEAD, self.n)):
            key = self.key(self.block[self.offset(j) : self.offset(j + 1)])
            if key is not None:
                return key, j
        return None

    def first_from(self, bound: int) -> int:
        """Index of the first line whose stamp is ``bound`` or later (n: none),
        by bisection over the lines (the block is taken as in time order)."""
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            hit = self.stamp(mid)
            if hit is not None and hit[0] < bound:
                lo = hit[1] + 1
            else:
                hi = mid
        return lo

    def samples(self) -> list[int]:
        """Keys of about ``SAMPLES`` lines spread over the block, the last line included."""
        picks = np.unique(np.linspace(0, self.n - 1, min(SAMPLES, self.n)).astype(int))
        keys = []
        for i in picks.tolist():
            hit = self.stamp(i)
            if hit is not None:
                keys.append(hit[0])
        last = self.key(self.block[self.offset(self.n - 1) :]) if self.n else None
        if last is not None:
            keys.append(last)
        return keys


class WindowCut:
    """Where one read's window ``[lo, hi)`` (ns UTC, either may be None) lies
    in the blocks of a file, one block at a time."""

    def __init__(self, lo: int | None, hi: int | None, key):
        self.lo, self.hi, self.key = lo, hi, key
        self._last_key = None  # the last sampled key of the blocks passed over

    def before(self, block: bytes) -> tuple[int, bool]:
        """(bytes at the block's start that lie before the window, in order).

        ``in order`` is False when the sampled stamps of this block (or its
        first one against the blocks passed over before) run backwards; the
        reader then reads the file whole and the byte count means nothing.
        """
        if self.lo is None:
            return 0, True
        lines = Lines(block, self.key)
        keys = lines.samples()
        if self._last_key is not None:
            keys.insert(0, self._last_key)
        if any(b < a - TOLERANCE_NS for a, b in zip(keys, keys[1:], strict=False)):
            return 0, False
        if keys:
            self._last_key = keys[-1]
        bound = self.lo - MARGIN_NS
        if keys and keys[-1] < bound:
            return len(block), True
        return lines.offset(lines.first_from(bound)), True

    def end_cut(self, block: bytes) -> int:
        """Bytes of the block up to and including the first line stamped a
        margin past the window's end (the whole block when there is none)."""
        if self.hi is None:
            return len(block)
        lines = Lines(block, self.key)
        bound = self.hi + MARGIN_NS
        last = lines.stamp(lines.n - 1) if lines.n else None
        if last is None or last[0] < bound:
            return len(block)
        return lines.offset(lines.first_from(bound) + 1)
