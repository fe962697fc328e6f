"""What NinjaTrader reports in ``outgoing/``: order states, positions and
connections, in the documented and the observed name forms.

* Order state, for each order given an ORDER ID: ``<orderId>.txt`` (the
  documented name) or ``<Account>_<orderId>.txt`` (seen on NT8), holding
  ``STATE;filled;average price``. The state is read case- and
  space-insensitively (``FILLED``, ``Partially filled``, ``PartiallyFilled``).
* Position: ``<instrument> <exchange>_<Account>_Position.txt`` (or
  ``_position.txt``), the instrument as ``ES 12-25``, ``MNQ SEP24`` or
  ``MNQM6``, holding ``LONG|SHORT|FLAT;quantity;average price``.
* Connection: ``<connection name>.txt`` holding ``CONNECTED`` or
  ``DISCONNECTED``.

A poll lists the folder and reads only the files whose modification time or
size changed since the last one. A file that cannot be read or parsed (being
written) is tried again at the next poll.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import attrs

from .instruments import canonical, without_exchange

STATES = {
    "initialized": "Initialized",
    "submitted": "Submitted",
    "accepted": "Accepted",
    "working": "Working",
    "suspended": "Suspended",
    "changesubmitted": "Change submitted",
    "cancelpending": "Cancel pending",
    "cancelled": "Cancelled",
    "canceled": "Cancelled",
    "rejected": "Rejected",
    "partiallyfilled": "Partially filled",
    "filled": "Filled",
    "triggerpending": "Trigger pending",
}
FINAL = frozenset({"Filled", "Cancelled", "Rejected"})
AWAITING = frozenset({"Initialized", "Submitted", "Change submitted", "Cancel pending"})
SIDES = {"LONG": 1, "SHORT": -1, "FLAT": 0}
POSITION_SUFFIX = "_position.txt"


@attrs.frozen
class OrderState:
    state: str  # one of STATES' values
    filled: int
    average: float

    @property
    def final(self) -> bool:
        return self.state in FINAL


@attrs.frozen
class Position:
    side: int  # +1 long, -1 short, 0 flat
    quantity: int
    average: float

    @property
    def signed(self) -> int:
        return self.side * self.quantity


@attrs.frozen
class Report:
    orders: dict  # order id -> OrderState
    positions: dict  # canonical instrument name -> Position
    connections: dict  # connection name -> True (CONNECTED) / False
    files: int  # how many files outgoing/ holds


def parse_order_state(text: str) -> OrderState | None:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) < 3:
        return None
    state = STATES.get("".join(parts[0].split()).lower())
    try:
        return None if state is None else OrderState(state, int(float(parts[1])), float(parts[2]))
    except ValueError:
        return None


def parse_position(text: str) -> Position | None:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) < 3 or parts[0].upper() not in SIDES:
        return None
    try:
        side, quantity = SIDES[parts[0].upper()], int(float(parts[1]))
        return Position(side if quantity else 0, abs(quantity), float(parts[2]))
    except ValueError:
        return None


def parse_connection(text: str) -> bool | None:
    word = text.strip().upper()
    return {"CONNECTED": True, "DISCONNECTED": False}.get(word)


class Outgoing:
    def __init__(self, folder: Path, account: str, connection: str | None = None):
        self.folder = folder
        self.account = account
        self.connection = connection
        self._seen: dict[str, tuple] = {}  # name -> (mtime_ns, size, text)
        self._done: set[str] = set()  # names not to look at again: not ours, or a final state

    def read(self, order_ids, today: dt.date | None = None) -> Report:
        """The folder as it is now; ``order_ids`` are the ids the bridge placed.
        An order already reported in a final state (filled, cancelled, rejected)
        is not reported again."""
        orders, positions, connections = {}, {}, {}
        names = self._names()
        for name in names:
            if name in self._done:
                continue
            if name.lower().endswith(POSITION_SUFFIX):
                instrument = self._position_instrument(name, today)
                if instrument is None:
                    self._done.add(name)  # another account's
                    continue
                position = self._parsed(name, parse_position)
                if position is not None:
                    positions[instrument] = position
                continue
            order_id = self._order_id(name[:-4], order_ids)
            if order_id is not None:
                state = self._parsed(name, parse_order_state)
                if state is not None:
                    orders[order_id] = state
                    if state.final:
                        self._done.add(name)
                continue
            stem = name[:-4]
            if self.connection is not None and stem.lower() != self.connection.lower():
                self._done.add(name)
                continue
            text = self._text(name)
            connected = None if text is None else parse_connection(text)
            if connected is not None:
                connections[stem] = connected
            elif text is not None and parse_order_state(text) is not None:
                self._done.add(name)  # another program's order: never a connection file
        self._done &= names  # a file gone (NinjaTrader restarted) is looked at anew
        return Report(orders, positions, connections, len(names))

    def _order_id(self, stem: str, order_ids) -> str | None:
        if stem in order_ids:
            return stem
        prefix = f"{self.account}_"
        if stem[: len(prefix)].lower() == prefix.lower() and stem[len(prefix) :] in order_ids:
            return stem[len(prefix) :]
        return None

    def _position_instrument(self, name: str, today) -> str | None:
        """``ES 12-25 Globex_Sim101_Position.txt`` -> ``ES 12-25`` when the
        account is ours, else None."""
        base = name[: -len(POSITION_SUFFIX)]
        tail = f"_{self.account}"
        if not base.lower().endswith(tail.lower()):
            return None
        return canonical(without_exchange(base[: -len(tail)]), today)

    def _names(self) -> set[str]:
        try:
            return {n for n in os.listdir(self.folder) if n.lower().endswith(".txt")}
        except FileNotFoundError:
            return set()

    def _parsed(self, name: str, parse):
        text = self._text(name)
        return None if text is None else parse(text)

    def _text(self, name: str) -> str | None:
        """The file's content, read again only when its time or size changed;
        None while it cannot be read or is empty (being written)."""
        path = self.folder / name
        try:
            st = os.stat(path)
            key = (st.st_mtime_ns, st.st_size)
            cached = self._seen.get(name)
            if cached is not None and cached[0] == key:
                return cached[1]
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace").lstrip("\ufeff").strip()
        except OSError:
            return None
        if not text:
            return None
        self._seen[name] = (key, text)
        return text
