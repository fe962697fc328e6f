"""The order bridge: signals in, OIF command files out, NinjaTrader's reports
read back.

Every command has a key (``entry:<signal id>``, ``exit:<signal id>``, ...)
and goes through the journal before its file becomes visible, so a key is
acted on once, across replays and restarts. While NinjaTrader's connection
reads disconnected, commands wait in a queue: an entry for at most
``queue_expiry`` of market time (the bar clock, so a replay decides the same),
everything else until the connection is back.

In a dry run the files go to ``dry-run/``, no reply is read and every order
counts as filled at once: the files show what a live run would send.

The expected position of an instrument is the sum over its open trades of
the entry's filled contracts less what the stop and target legs filled, as
NinjaTrader reported them (0 once the trade's exit was sent). It is compared
with NinjaTrader's position file when the connection is up, nothing for the
instrument awaits NinjaTrader, and the difference has lasted from one bar
close to a later one with no command sent for it in between.
"""

from __future__ import annotations

import datetime as dt

import attrs

from . import commands as cmd
from . import oif
from .commands import CLOSED, DROPPED, EXPIRED, QUEUED, REJECTED, SENT, Trade
from .instruments import canonical
from .outgoing import AWAITING, OrderState


@attrs.frozen
class Command:
    key: str
    what: str  # entry, bracket, resize, exit, halt, unwind, flatten
    lines: tuple
    instruments: tuple
    signal: str  # the signal it carries out
    ts: int  # market time it was decided, ns UTC
    opens: dict | None = None  # an entry: its trade
    closes: tuple = ()  # entry ids whose trades it ends
    bracket: tuple | None = None  # (entry id, contracts the legs now cover)
    halts: str | None = None  # the session it halts

    @property
    def expires(self) -> bool:
        return self.what == "entry"

    def to_record(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    @classmethod
    def from_record(cls, record: dict) -> Command:
        fields = {a.name for a in attrs.fields(cls)}
        data = {k: record[k] for k in fields if k in record}
        for name in ("lines", "instruments", "closes", "bracket"):
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        return cls(**data)


@attrs.define(eq=False)
class DriftWatch:
    since: int  # market time the difference was first seen
    sent: int  # commands sent for the instrument by then
    reported: bool = False


class Bridge:
    def __init__(self, settings, config, log, journal, inbox, outgoing=None):
        self.settings = settings
        self.config = config
        self.log = log
        self.journal = journal
        self.inbox = inbox
        self.outgoing = outgoing  # None in a dry run: no reply is read
        self.account = settings.account
        self.live = not settings.dry_run
        self.keys: dict[str, str] = {}  # command key -> queued | sent | expired | dropped | noop
        self.trades: dict[str, Trade] = {}  # by entry signal id
        self.owner: dict[str, Trade] = {}  # order id -> its trade
        self.by_name: dict[str, list] = {}  # canonical instrument -> its trades
        self.queue: list[Command] = []
        self.orders: dict[str, OrderState] = {}  # last state NinjaTrader reported
        self.positions: dict = {}  # canonical instrument -> Position, as outgoing/ holds now
        self.halted: set[str] = set()  # sessions halted by the daily loss limit
        self.sent_for: dict[str, int] = {}  # canonical instrument -> commands sent for it
        self.drift: dict[str, DriftWatch] = {}
        self.drift_episodes: dict[str, int] = {}
        self.connected = None if self.live else True  # None: not read yet
        self.now = 0  # market time: the latest bar close seen, ns UTC
        self.counts = dict.fromkeys(("files", "lines", "expired", "rejected", "drift"), 0)
        self._outgoing_files = 0
        self._restore()

    # -- the journal: what earlier runs did ---------------------------------------

    def _restore(self) -> None:
        records = self.journal.records
        last = 0
        for record in records:
            if record.get("type") == "file":
                last = max(last, int(record["name"].rsplit("-", 1)[1].split(".")[0]))
        self.inbox.counter = last
        abandoned = self._abandon_leftovers(records)
        for record in records:
            kind = record.get("type")
            if kind == "file" and record["name"] not in abandoned:
                self._unqueue(record["key"])
                self._settle(Command.from_record(record), SENT)
            elif kind == "queued":
                command = Command.from_record(record)
                self._settle(command, QUEUED)
                self.queue.append(command)
            elif kind in (EXPIRED, DROPPED, "noop"):
                self._unqueue(record["key"])
                self._settle(Command.from_record(record), kind)
            elif kind == "order":
                self.orders[record["id"]] = OrderState(
                    record["state"], record["filled"], record["average"]
                )
            elif kind == "drift":
                instrument = record["instrument"]
                self.drift_episodes[instrument] = self.drift_episodes.get(instrument, 0) + 1
        for trade in self.trades.values():
            entry = self.orders.get(trade.ids["entry"])
            if entry is not None and entry.state == "Rejected" and trade.status == SENT:
                trade.status = REJECTED
        self.journal.append({"type": "start", "run": self.inbox.run_id, "counter": last})

    def _abandon_leftovers(self, records) -> set:
        """The file names whose commands were never sent: temporary files left
        by a crash (now removed) that the journal names never became visible,
        and those of earlier restarts. A temporary file it does not name was
        never journaled."""
        named = {r["temp"]: r for r in records if r.get("type") == "file"}
        abandoned = {r["name"] for r in records if r.get("type") == "abandoned"}
        for temp in self.inbox.leftover_temps():
            record = named.get(temp)
            if record is not None:
                abandoned.add(record["name"])
                self.journal.append(
                    {"type": "abandoned", "name": record["name"], "key": record["key"]}
                )
                self.log.warning(
                    "command file never made visible (rsengine stopped before the rename): "
                    "not sent",
                    file=record["name"],
                    key=record["key"],
                )
            (self.inbox.folder / temp).unlink(missing_ok=True)
        return abandoned

    # -- what the engine hands over -------------------------------------------------

    def on_batch(self, ts_close: int) -> None:
        self.now = max(self.now, ts_close)
        self.poll()

    def on_signal(self, signal) -> None:
        self.now = max(self.now, int(signal.ts_close))
        self.poll()
        if signal.kind == "setup" and signal.contracts > 0:
            self._entry(signal)
        elif signal.kind == "exit":
            self._exit(signal)
        elif signal.kind == "halt":
            self._halt(signal)

    def _entry(self, signal) -> None:
        key = f"entry:{signal.id}"
        if key in self.keys:
            return self._already(key)
        if signal.session_date in self.halted:
            self.log.warning(
                "entry after the daily loss limit halt: not placed",
                signal=signal.id,
                session=signal.session_date,
            )
            return None
        try:
            trade = cmd.new_trade(signal, self.config, self.settings)
        except ValueError as exc:
            self.log.error("entry not placed", signal=signal.id, why=str(exc))
            return None
        lines = cmd.entry_lines(trade, self.account, self.settings.tif)
        covered = None
        if trade.order_type == "market":  # a limit entry's bracket waits for its fill
            lines += cmd.bracket_lines(trade, self.account, self.settings.tif, trade.qty)
            covered = (trade.entry_id, trade.qty)
        entry = self._command(key, "entry", lines, [trade.instrument], signal, opens=trade)
        self._dispatch(attrs.evolve(entry, bracket=covered))
        if trade.order_type == "limit" and not self.live:  # the dry run: as if filled
            self._bracket(self.trades[trade.entry_id], trade.qty, signal.id)
        return None

    def _exit(self, signal) -> None:
        key = f"exit:{signal.id}"
        if key in self.keys:
            return self._already(key)
        entry_id = signal.details.get("entry_id")
        trade = self.trades.get(entry_id)
        if trade is None:
            self.log.warning("exit of an entry the bridge did not place", signal=signal.id)
            return None
        if trade.status == QUEUED:  # never sent: neither goes
            queued = self._unqueue(f"entry:{entry_id}")
            self._record(queued, DROPPED, why="its exit came before NinjaTrader was reachable")
        if trade.status != SENT:
            command = self._command(key, "exit", [], [trade.instrument], signal, closes=[entry_id])
            return self._record(command, "noop", why=f"entry {trade.status}: nothing to send")
        how = signal.details.get("exit", "")
        lines = cmd.exit_lines(trade, how, self.account, self._live_orders(trade))
        command = self._command(key, "exit", lines, [trade.instrument], signal, closes=[entry_id])
        if not lines:
            return self._record(command, "noop", why=f"{how}: nothing left to cancel")
        self._dispatch(command)
        return None

    def _halt(self, signal) -> None:
        key = f"halt:{signal.id}"
        if key in self.keys:
            return self._already(key)
        for queued in [c for c in self.queue if c.what == "entry"]:
            self._unqueue(queued.key)
            self._record(queued, DROPPED, why="daily loss limit halt")
        open_trades = [t for t in self.trades.values() if t.status == SENT]
        held = {t.instrument for t in open_trades}
        traded = {canonical(t.instrument): t.instrument for t in self.trades.values()}
        for name, position in self.positions.items():
            if position.signed and name in traded:
                held.add(traded[name])
        lines = [oif.close_position(self.account, instrument) for instrument in sorted(held)]
        command = self._command(
            key,
            "halt",
            lines,
            sorted(held),
            signal,
            closes=[t.entry_id for t in open_trades],
            halts=signal.session_date,
        )
        if not lines:
            return self._record(command, "noop", why="nothing held")
        self._dispatch(command)
        return None

    def _bracket(self, trade: Trade, qty: int, signal_id: str) -> None:
        """The stop and target once a limit entry has filled ``qty`` contracts,
        or their new size when it filled more."""
        if trade.bracket:
            key, what = f"resize:{trade.entry_id}:{qty}", "resize"
            lines = cmd.resize_lines(trade, qty)
        else:
            key, what = f"bracket:{trade.entry_id}", "bracket"
            lines = cmd.bracket_lines(trade, self.account, self.settings.tif, qty)
        if key in self.keys or not lines:
            return
        command = self._command(key, what, lines, [trade.instrument], signal_id)
        self._dispatch(attrs.evolve(command, bracket=(trade.entry_id, qty)))

    def _already(self, key: str) -> None:
        self.log.info("already handled, per the journal: not sent again", key=key)

    # -- commands: send, queue, record ---------------------------------------------

    def _command(self, key, what, lines, instruments, signal, opens=None, **effects) -> Command:
        signal_id = signal if isinstance(signal, str) else signal.id
        return Command(
            key=key,
            what=what,
            lines=tuple(lines),
            instruments=tuple(instruments),
            signal=signal_id,
            ts=self.now,
            opens=None if opens is None else opens.to_record(),
            closes=tuple(effects.get("closes", ())),
            halts=effects.get("halts"),
        )

    def _dispatch(self, command: Command) -> None:
        if command.key in self.keys:
            return self._already(command.key)
        if self.connected and not self.queue:
            self._send(command)
            return None
        self.queue.append(command)
        self._record(command, QUEUED)
        for line in command.lines:
            self.log.info("OIF line queued: NinjaTrader not connected", line=line, key=command.key)
        return None

    def _send(self, command: Command) -> None:
        def journal(temp: str, final: str) -> None:
            self.journal.append(
                {**command.to_record(), "type": "file", "name": final, "temp": temp}
            )

        name = self.inbox.write(list(command.lines), journal)
        self._settle(command, SENT)
        self.counts["files"] += 1
        self.counts["lines"] += len(command.lines)
        for line in command.lines:
            self.log.info("OIF line", line=line, file=name, dry_run=not self.live)

    def _record(self, command: Command, status: str, why: str | None = None) -> None:
        record = {**command.to_record(), "type": status}
        if why:
            record["why"] = why
            self.log.info("no command", key=command.key, why=why)
        self.journal.append(record)
        self._settle(command, status)

    def _settle(self, command: Command, status: str) -> None:
        """The command's effects on the bridge's state, once decided."""
        self.keys[command.key] = status
        if command.opens is not None:
            trade = self.trades.get(command.signal) or self._add_trade(Trade(**command.opens))
            if trade.status not in (CLOSED, REJECTED):
                trade.status = status
        if status in (SENT, QUEUED, "noop"):
            for entry_id in command.closes:
                if entry_id in self.trades:
                    self.trades[entry_id].status = CLOSED
            if command.bracket is not None and command.bracket[0] in self.trades:
                self.trades[command.bracket[0]].bracket = command.bracket[1]
            if command.halts:
                self.halted.add(command.halts)
        if status == SENT:
            for instrument in command.instruments:
                name = canonical(instrument)
                self.sent_for[name] = self.sent_for.get(name, 0) + 1

    def _add_trade(self, trade: Trade) -> Trade:
        self.trades[trade.entry_id] = trade
        for order_id in trade.ids.values():
            self.owner[order_id] = trade
        self.by_name.setdefault(canonical(trade.instrument), []).append(trade)
        return trade

    def _unqueue(self, key: str) -> Command | None:
        for k, command in enumerate(self.queue):
            if command.key == key:
                return self.queue.pop(k)
        return None

    def _live_orders(self, trade: Trade) -> set:
        """The trade's placed orders not known to be done. A dry run counts the
        entry as filled."""
        live = set()
        for order_id in trade.placed_ids():
            state = self.orders.get(order_id)
            if state is not None and state.final:
                continue
            if not self.live and order_id == trade.ids["entry"]:
                continue
            live.add(order_id)
        return live

    # -- what NinjaTrader reports ----------------------------------------------------

    def poll(self) -> None:
        if not self.live:
            return
        day = dt.datetime.fromtimestamp(self.now / 1e9, dt.UTC).date() if self.now else None
        report = self.outgoing.read(self.owner, today=day)
        if self._outgoing_files and not report.files:
            self.log.warning(
                "outgoing/ is empty: NinjaTrader restarted? positions unknown until it reports"
            )
        self._outgoing_files = report.files
        self.positions = report.positions
        changes = []
        for order_id, state in sorted(report.orders.items()):
            before = self.orders.get(order_id)
            if before != state:
                changes.append((order_id, before, state))
                self._note_order(order_id, state)
        for change in changes:  # all states known first: a rejected entry's legs too
            self._order_changed(*change)
        self._connection(report.connections)
        self._expire()  # first: an entry that waited too long is not sent on reconnecting
        if self.connected:
            while self.queue:
                self._send(self.queue.pop(0))
        self._check_drift()

    def _connection(self, connections: dict) -> None:
        connected = bool(connections) and all(connections.values())
        if connected != self.connected:
            down = sorted(n for n, up in connections.items() if not up)
            say = self.log.info if connected else self.log.warning
            say(
                "NinjaTrader connected" if connected else "NinjaTrader not connected: queueing",
                disconnected=down or None,
                connection_files=sorted(connections) or "none in outgoing/",
            )
        self.connected = connected

    def _expire(self) -> None:
        limit = self.settings.queue_expiry_ns
        for command in [c for c in self.queue if c.expires and self.now - c.ts > limit]:
            self.queue.remove(command)
            self.counts["expired"] += 1
            self.log.warning(
                "queued entry expired: NinjaTrader stayed disconnected",
                key=command.key,
                lines=list(command.lines),
                waited_s=(self.now - command.ts) / 1e9,
            )
            self._record(command, EXPIRED)

    def _note_order(self, order_id: str, state: OrderState) -> None:
        self.orders[order_id] = state
        self.journal.append(
            {
                "type": "order",
                "id": order_id,
                "state": state.state,
                "filled": state.filled,
                "average": state.average,
            }
        )

    def _order_changed(self, order_id: str, before: OrderState | None, state: OrderState) -> None:
        trade = self.owner[order_id]
        is_entry = order_id == trade.ids["entry"]
        if state.state == "Rejected":
            self.counts["rejected"] += 1
            self.log.error(
                "order rejected by NinjaTrader"
                + ("" if is_entry else ": the position is not protected by it"),
                order=order_id,
                instrument=trade.instrument,
            )
            if is_entry and trade.status == SENT:
                trade.status = REJECTED
                lines = cmd.unwind_lines(trade, self._live_orders(trade))
                if lines:
                    key = f"unwind:{trade.entry_id}"
                    self._dispatch(
                        self._command(key, "unwind", lines, [trade.instrument], trade.entry_id)
                    )
            return
        filled_more = state.filled > (before.filled if before else 0)
        if is_entry and filled_more and trade.order_type == "limit" and trade.status == SENT:
            self._bracket(trade, state.filled, trade.entry_id)

    # -- drift -------------------------------------------------------------------------

    def _check_drift(self) -> None:
        if not self.connected:
            self.drift.clear()
            return
        for name in [n for n in self.drift if n not in self.positions]:
            del self.drift[name]  # nothing reported (since NinjaTrader restarted, say)
        for name, position in sorted(self.positions.items()):
            trades = [t for t in self.by_name.get(name, ()) if t.status in (SENT, CLOSED, REJECTED)]
            if not trades:  # an instrument the bridge never placed an order in
                continue
            open_trades = [t for t in trades if t.status == SENT]
            expected = sum(self._expected(t) for t in open_trades)
            if position.signed == expected or self._atm_flat(open_trades, position, expected):
                watch = self.drift.pop(name, None)
                if watch is not None and watch.reported:
                    self.log.info("position drift resolved", instrument=name, position=expected)
                continue
            sent = self.sent_for.get(name, 0)
            watch = self.drift.get(name)
            if watch is None or watch.sent != sent:
                self.drift[name] = DriftWatch(since=self.now, sent=sent)
                continue
            if watch.reported or self.now <= watch.since or self._awaiting(open_trades):
                continue
            watch.reported = True
            self._report_drift(name, trades[0].instrument, expected, position, open_trades)

    def _expected(self, trade: Trade) -> int:
        ids = trade.ids
        entry = self.orders.get(ids["entry"])
        filled = entry.filled if entry else 0
        legs = sum(self.orders[i].filled for i in trade.leg_ids if i in self.orders)
        return trade.sign * max(0, filled - legs)

    def _atm_flat(self, open_trades, position, expected) -> bool:
        """With an ATM template NinjaTrader's own stop or target may close the
        position before rsengine's exit arrives: flat or smaller on the same
        side is no drift then."""
        if not any(t.atm for t in open_trades):
            return False
        return position.signed * expected >= 0 and abs(position.signed) <= abs(expected)

    def _awaiting(self, trades) -> bool:
        """An order placed without a reply yet, or in a state NinjaTrader is
        still working on."""
        for trade in trades:
            for order_id in trade.placed_ids():
                state = self.orders.get(order_id)
                if state is None or state.state in AWAITING:
                    return True
        return False

    def _report_drift(self, name, instrument, expected, position, open_trades) -> None:
        self.counts["drift"] += 1
        episode = self.drift_episodes.get(name, 0) + 1
        self.drift_episodes[name] = episode
        self.log.error(
            "position drift: NinjaTrader holds what rsengine does not expect",
            instrument=instrument,
            expected=expected,
            reported=position.signed,
            on_drift=self.settings.on_drift,
        )
        self.journal.append(
            {"type": "drift", "instrument": name, "expected": expected, "reported": position.signed}
        )
        if self.settings.on_drift == "flatten":
            lines = [oif.close_position(self.account, instrument)]
            command = self._command(
                f"flatten:{name}:{episode}",
                "flatten",
                lines,
                [instrument],
                open_trades[0].entry_id if open_trades else "",
                closes=[t.entry_id for t in open_trades],
            )
            self._dispatch(command)

    # -- the end ------------------------------------------------------------------------

    def finish(self) -> dict:
        """A last look at NinjaTrader's reports; what is left, said."""
        self.poll()
        for command in self.queue:
            self.log.warning(
                "not sent: NinjaTrader stayed disconnected (queued for the next run)",
                key=command.key,
                lines=list(command.lines),
            )
        still_open = [t for t in self.trades.values() if t.status == SENT]
        if still_open:
            self.log.warning(
                "trades still open in NinjaTrader when rsengine stopped",
                count=len(still_open),
                trades=[f"{t.side} {t.qty} {t.instrument} ({t.entry_id})" for t in still_open[:20]],
            )
        return {**self.counts, "queued": len(self.queue), "open": len(still_open)}
