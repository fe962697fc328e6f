"""The body of each message, by endpoint style (docs/webhooks.md).

* ``json``: the signal record, ``Signal.to_json()`` (keys sorted, compact).
* ``traderspost``: TradersPost's webhook fields (INTEGRATIONS.md §4.1) for
  entries (buy/sell with a stop and target bracket), exits (``exit``) and a
  halt (an ``exit`` for every position this endpoint still holds).
* ``discord``: ``{"content": line}``, the log output's line, at most 2000 characters.
* ``slack``: ``{"text": line}``.

:func:`bodies` returns ``(part, body)`` pairs: ``part`` is ``""`` for the one
message of a signal, the ticker for each exit of a TradersPost halt. A style
that sends nothing for a signal returns no pairs and a reason.
"""

from __future__ import annotations

import json

from rsengine_log import signal_line

import rsengine
from rsengine.exchange.contracts import contract_code, parse_contract
from rsengine.model import iso_utc

DISCORD_LIMIT = 2000


def _compact(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def chat_line(signal, tz: str) -> str:
    """The log output's line, marked with the data's source (``SIMULATED``)."""
    line = signal_line(signal, tz)
    return f"[{signal.source}] {line}" if signal.source else line


def discord_body(signal, tz: str) -> bytes:
    text = chat_line(signal, tz)
    if len(text) > DISCORD_LIMIT:
        text = text[: DISCORD_LIMIT - 1] + "…"
    # allowed_mentions: a reason's text never pings anyone
    return _compact({"content": text, "username": "rsengine", "allowed_mentions": {"parse": []}})


def slack_body(signal, tz: str) -> bytes:
    text = chat_line(signal, tz)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):  # Slack's mrkdwn
        text = text.replace(raw, escaped)
    return _compact({"text": text})


def ticker(contract: str) -> str:
    """``"NQ 03-25"`` (or ``NQH5``) -> ``"NQH2025"``: an explicit contract."""
    root, year, month = parse_contract(contract)
    return contract_code(root, year, month, digits=4)


class TradersPost:
    """The TradersPost payloads of one endpoint, and the positions it has
    been sent, so that an exit names its entry's contract and a halt flattens
    what is still held."""

    def __init__(self):
        self.open: dict[str, str] = {}  # entry signal id -> ticker, until its exit

    def bodies(self, signal) -> tuple[list, str]:
        if signal.kind == "setup":
            return self._entry(signal)
        if signal.kind == "exit":
            return self._exit(signal)
        if signal.kind == "halt":
            return self._halt(signal)
        return [], f"{signal.kind} signals are no orders"

    def _entry(self, signal):
        if signal.contracts <= 0:
            return [], "no order (0 contracts)"
        if signal.side not in ("long", "short") or None in (signal.entry, signal.stop):
            return [], "an entry needs a side, an entry price and a stop"
        if not signal.contract:
            return [], "no contract named"
        name = ticker(signal.contract)
        long = signal.side == "long"
        data = {
            "ticker": name,
            "action": "buy" if long else "sell",
            "sentiment": "bullish" if long else "bearish",
            "quantityType": "fixed_quantity",
            "quantity": signal.contracts,
            "orderType": "market",
            "price": signal.entry,
            "stopLoss": {"type": "stop", "stopPrice": signal.stop},
            "time": iso_utc(signal.ts_close),
            "extras": self._extras(signal),
        }
        if signal.target is not None:
            data["takeProfit"] = {"limitPrice": signal.target}
        self.open[signal.id] = name
        return [("", _compact(data))], ""

    def _exit(self, signal):
        entry_id = signal.details.get("entry_id")
        name = self.open.pop(entry_id, None)
        if name is None:
            return [], "its entry was not sent to this endpoint"
        price = signal.details.get("exit_price")
        extras = {**self._extras(signal), "entry_id": entry_id, "exit": signal.details.get("exit")}
        return [("", self._flat(signal, name, price, extras))], ""

    def _halt(self, signal):
        tickers = sorted(set(self.open.values()))
        self.open.clear()
        if not tickers:
            return [], "no position open: the desk's exits flattened every trade"
        return [
            (name, self._flat(signal, name, None, self._extras(signal))) for name in tickers
        ], ""

    def _flat(self, signal, name: str, price, extras: dict) -> bytes:
        data = {
            "ticker": name,
            "action": "exit",
            "sentiment": "flat",
            "orderType": "market",
            "time": iso_utc(signal.ts_close),
            "extras": extras,
        }
        if price is not None:
            data["price"] = price
        return _compact(data)

    @staticmethod
    def _extras(signal) -> dict:
        return {
            "signal_id": signal.id,
            "signal": signal.name,
            "kind": signal.kind,
            "source": signal.source,
            "rsengine": rsengine.__version__,
        }


class Bodies:
    """The bodies of one endpoint's messages."""

    def __init__(self, style: str, tz: str):
        self.style, self.tz = style, tz
        self.traderspost = TradersPost() if style == "traderspost" else None

    def __call__(self, signal) -> tuple[list, str]:
        if self.traderspost is not None:
            return self.traderspost.bodies(signal)
        if self.style == "discord":
            return [("", discord_body(signal, self.tz))], ""
        if self.style == "slack":
            return [("", slack_body(signal, self.tz))], ""
        return [("", signal.to_json().encode())], ""
