"""A fake NinjaTrader 8 for the bridge's tests, written from the ATI help
pages (INTEGRATIONS.md §1), not from the bridge's code.

It reads ``oif*.txt`` files in ``incoming/`` (each line must have the 13
fields), keeps orders and positions of its accounts, and writes what NT8
writes to ``outgoing/``: an order-state file per ORDER ID (``<Account>_<id>.txt``
as observed, or ``<id>.txt`` as documented), a position file per instrument
and the connection file. It deletes each file it processed (as NT does, we
believe; unverified) and refuses a file name it has seen before, like
"Ignore duplicate OIF files".

Orders: MARKET fills at once at the instrument's ``market`` price; LIMIT
fills at once when marketable at that price, else works; STOPMARKET works
until :meth:`trigger`. A fill cancels the other working orders of its OCO
group. CLOSEPOSITION cancels the account's working orders in the instrument
and flattens it. An ORDER ID in ``reject`` is rejected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FIELDS = 13


class FakeNinjaTrader:
    def __init__(
        self,
        folder: Path,
        account: str = "Sim101",
        order_file: str = "{account}_{id}.txt",
        position_file=None,
        state_text=str.upper,
        connection: str = "Simulated Data Feed",
    ):
        self.incoming = Path(folder) / "incoming"
        self.outgoing = Path(folder) / "outgoing"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.outgoing.mkdir(parents=True, exist_ok=True)
        self.account = account
        self.order_file = order_file
        self.position_file = position_file or (
            lambda instrument, account: f"{instrument} Globex_{account}_Position.txt"
        )
        self.state_text = state_text  # NT's casing varies: "FILLED", "Partially filled"
        self.connection = connection
        self.market: dict[str, float] = {}  # instrument -> price market orders fill at
        self.reject: set[str] = set()
        self.orders: dict[str, dict] = {}
        self.positions: dict[tuple, list] = {}  # (account, instrument) -> [signed qty, avg]
        self.lines: list[str] = []  # every line processed, in order
        self.files: list[str] = []  # every file name processed, in order

    # -- the connection -----------------------------------------------------------

    def connect(self, up: bool = True) -> None:
        self._write(f"{self.connection}.txt", "CONNECTED" if up else "DISCONNECTED")

    def restart(self) -> None:
        """NinjaTrader restarted: outgoing/ cleared (orders and positions kept,
        as the broker keeps them); no connection file until :meth:`connect`."""
        shutil.rmtree(self.outgoing)
        self.outgoing.mkdir()

    # -- reading incoming/ ----------------------------------------------------------

    def process(self) -> list[str]:
        """Every OIF file now in incoming/, oldest name first; the lines done."""
        done = []
        for path in sorted(self.incoming.glob("oif*.txt")):
            assert path.name not in self.files, f"file name used twice: {path.name}"
            self.files.append(path.name)
            text = path.read_text(encoding="utf-8")
            assert text.endswith("\n"), f"{path.name} is not whole: {text!r}"
            for line in text.splitlines():
                fields = line.split(";")
                assert len(fields) == FIELDS, f"{len(fields)} fields, not 13: {line!r}"
                getattr(self, f"_{fields[0].lower()}")(fields)
                self.lines.append(line)
                done.append(line)
            path.unlink()
        return done

    def _place(self, f) -> None:
        account, instrument, action, qty, kind = f[1], f[2], f[3], int(f[4]), f[5]
        assert kind in ("MARKET", "LIMIT", "STOPMARKET", "STOPLIMIT"), kind
        assert f[8] in ("DAY", "GTC"), f[8]
        order = {
            "id": f[10],
            "account": account,
            "instrument": instrument,
            "sign": 1 if action == "BUY" else -1,
            "qty": qty,
            "type": kind,
            "limit": float(f[6]) if f[6] else None,
            "stop": float(f[7]) if f[7] else None,
            "oco": f[9],
            "strategy": f[11],
            "filled": 0,
            "avg": 0.0,
            "state": "Working",
        }
        self.orders[order["id"]] = order
        if order["id"] in self.reject:
            order["state"] = "Rejected"
        elif kind == "MARKET" or (kind == "LIMIT" and self._marketable(order)):
            self._fill(order, order["qty"], order["limit"] or self.market.get(instrument, 0.0))
        self._report(order)

    def _marketable(self, order) -> bool:
        market = self.market.get(order["instrument"])
        if market is None:
            return False
        return market <= order["limit"] if order["sign"] > 0 else market >= order["limit"]

    def _cancel(self, f) -> None:
        order = self.orders.get(f[10])
        if order is not None and order["state"] in ("Working", "Partially filled"):
            order["state"] = "Cancelled"
            self._report(order)

    def _change(self, f) -> None:
        order = self.orders[f[10]]
        if int(f[4]):
            order["qty"] = int(f[4])
        self._report(order)

    def _closeposition(self, f) -> None:
        account, instrument = f[1], f[2]
        for order in self.orders.values():
            same = order["account"] == account and order["instrument"] == instrument
            if same and order["state"] in ("Working", "Partially filled"):
                order["state"] = "Cancelled"
                self._report(order)
        held = self.positions.get((account, instrument))
        if held is not None:
            held[0] = 0
            self._write_position(account, instrument)

    # -- what happens in the market ---------------------------------------------------

    def trigger(self, order_id: str, price: float | None = None) -> None:
        """A working order's price is reached: it fills (all of it)."""
        order = self.orders[order_id]
        assert order["state"] in ("Working", "Partially filled"), order
        self._fill(order, order["qty"] - order["filled"], price or order["stop"] or order["limit"])
        self._report(order)

    def fill_part(self, order_id: str, qty: int, price: float) -> None:
        order = self.orders[order_id]
        self._fill(order, qty, price)
        self._report(order)

    def manual(self, instrument: str, signed_qty: int, price: float = 0.0) -> None:
        """The trader clicks in NinjaTrader: the position changes outside the bridge."""
        held = self.positions.setdefault((self.account, instrument), [0, 0.0])
        held[0] += signed_qty
        held[1] = price
        self._write_position(self.account, instrument)

    def _fill(self, order, qty: int, price: float) -> None:
        order["filled"] += qty
        order["avg"] = price
        order["state"] = "Filled" if order["filled"] >= order["qty"] else "Partially filled"
        key = (order["account"], order["instrument"])
        held = self.positions.setdefault(key, [0, 0.0])
        held[0] += order["sign"] * qty
        held[1] = price
        self._write_position(*key)
        if order["oco"] and order["state"] == "Filled":
            for other in self.orders.values():
                if other is not order and other["oco"] == order["oco"]:
                    if other["state"] in ("Working", "Partially filled"):
                        other["state"] = "Cancelled"
                        self._report(other)

    # -- outgoing/ ------------------------------------------------------------------------

    def _report(self, order) -> None:
        name = self.order_file.format(account=order["account"], id=order["id"])
        text = f"{self.state_text(order['state'])};{order['filled']};{order['avg']}"
        self._write(name, text)

    def _write_position(self, account: str, instrument: str) -> None:
        qty, avg = self.positions[(account, instrument)]
        side = "LONG" if qty > 0 else "SHORT" if qty < 0 else "FLAT"
        text = f"{side};{abs(qty)};{avg if qty else 0}"
        self._write(self.position_file(instrument, account), text)

    def _write(self, name: str, text: str) -> None:
        (self.outgoing / name).write_text(text + "\r\n", encoding="utf-8")

    # -- for the assertions ------------------------------------------------------------

    def state(self, order_id: str) -> str:
        return self.orders[order_id]["state"]

    def position(self, instrument: str) -> int:
        return self.positions.get((self.account, instrument), [0])[0]
