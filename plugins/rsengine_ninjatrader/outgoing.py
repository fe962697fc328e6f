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

    def read(self, order_ids, today: dt.date | None = None) -> Report:
        """The folder as it is now; ``order_ids`` are the ids the bridge placed."""
        texts = self._texts()
        orders, positions, connections = {}, {}, {}
        prefix = f"{self.account}_".lower()
        for name, text in texts.items():
            stem = name[:-4]
            if name.lower().endswith(POSITION_SUFFIX):
                instrument = self._position_instrument(name, today)
                position = parse_position(text) if instrument else None
                if position is not None:
                    positions[instrument] = position
                continue
            order_id = stem if stem in order_ids else None
            if order_id is None and stem.lower().startswith(prefix):
                order_id = stem[len(prefix) :] if stem[len(prefix) :] in order_ids else None
            if order_id is not None:
                state = parse_order_state(text)
                if state is not None:
                    orders[order_id] = state
                continue
            if self.connection is None or stem.lower() == self.connection.lower():
                connected = parse_connection(text)
                if connected is not None:
                    connections[stem] = connected
        return Report(orders, positions, connections, len(texts))

    def _position_instrument(self, name: str, today) -> str | None:
        """``ES 12-25 Globex_Sim101_Position.txt`` -> ``ES 12-25`` when the
        account is ours, else None."""
        base = name[: -len(POSITION_SUFFIX)]
        tail = f"_{self.account}"
        if not base.lower().endswith(tail.lower()):
            return None
        return canonical(without_exchange(base[: -len(tail)]), today)

    def _texts(self) -> dict[str, str]:
        """name -> content of every ``.txt`` file, read again only when changed."""
        out, seen = {}, {}
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            if not entry.name.lower().endswith(".txt"):
                continue
            try:
                st = entry.stat()
                key = (st.st_mtime_ns, st.st_size)
                cached = self._seen.get(entry.name)
                if cached is not None and cached[:2] == key:
                    text = cached[2]
                else:
                    with open(entry.path, "rb") as f:
                        text = f.read().decode("utf-8", "replace").lstrip("\ufeff").strip()
                    if not text:
                        continue  # being written: next poll
            except OSError:
                continue
            seen[entry.name] = (*key, text)
            out[entry.name] = text
        self._seen = seen
        return out
