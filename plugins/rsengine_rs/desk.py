"""The trading desk the trade setups share: it turns their candidate entries
into sized trade signals, follows each trade to exactly one exit, and keeps
the run's risk limits (``risk`` in the config) for all setups together.

Every trade setup hands the desk its candidates for a batch; once each setup
of the run has reported, the desk walks the batch in time order. On each row
it first closes what an open trade's exit rules say, then takes the row's
candidates: a candidate becomes a trade signal unless the session's entries
(``max_trades``) are used up, its closed trades have lost
``daily_loss_limit``, or a trade is open on the instrument (one position per
instrument, whichever setup holds it); the log and the run's summary count
what was refused.
Walking all setups' candidates together keeps the limits causal and the
result independent of how a session is cut into batches.

Exits, checked from the bar after the entry on, first that holds:

* ``stop``: the bar's low (long) or high (short) reaches the stop; filled at
  the stop, or at the bar's open when it opened beyond it;
* ``target``: the bar's high (long) or low (short) reaches the target; when a
  bar reaches both, the stop is taken (we cannot know which came first);
* the setup's own rule (the rider's lead fading, an invalidation), filled at
  the bar's close;
* ``session_end``: the close of the last bar ending at or before the RTH close
  (16:00 ET, or the early close). Day trades are never carried overnight. A
  run whose data stop inside a session leaves its open trades without an exit;
  the summary says how many.

When an exit brings the session's realised loss to ``daily_loss_limit``,
every other open trade is closed at that bar's close (``daily_loss_limit``)
and one ``halt`` record follows (instrument ``*``): the outputs flatten what
they hold, and the session takes no more entries.

A trade signal with 0 contracts is no order and no position: it has no exit.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from rsengine.model import Signal

from .sizing import Regime, Stack, capped, size, size_fraction

SHARED_KEY = "rsengine_rs.desk"
EXIT_KIND = "exit"
HALT_KIND = "halt"  # the daily loss limit was reached: flat, no more entries


@attrs.define
class Candidate:
    """What a setup proposes: an entry at the close of ``row``."""

    row: int
    col: int  # the instrument's column in the batch
    side: str  # "long" or "short"
    entry: float
    stop: float
    target: float | None
    stack: Stack
    reason: str
    factor: float = 1.0  # the setup's own size factor (the laggard's half size)
    details: dict = attrs.Factory(dict)
    exit_rule: object = None  # rule(batch, state, trade) -> (bool rows, why) or None


@attrs.define
class Trade:
    """An open position."""

    setup: str
    col: int
    symbol: str
    side: str
    entry: float
    stop: float
    target: float | None
    contracts: int
    point_value: float
    entry_id: str
    session: str
    exit_rule: object = None
    rule_state: dict = attrs.Factory(dict)  # what an exit rule keeps between batches

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


class Desk:
    """One per run, found through ``context.shared``; see the module docstring."""

    def __init__(self, config, source_label: str = ""):
        self.config = config
        self.risk = config.risk
        self.source = source_label
        self.members: list = []
        self._pending: dict = {}
        self._batch = None
        self.open: list[Trade] = []
        self._session = None
        self._entries = 0
        self._pnl = 0.0
        self._halted = None  # ts_close of this session's halt, once the loss limit is reached
        self._said: set = set()  # the limits already reported this session
        self.refused = {"max_trades": 0, "daily_loss_limit": 0, "position_open": 0}
        self.entries = 0
        self.exits = 0
        self.left_open = 0
        self._last_ts = None  # ts_close of the last row seen
        self._last_close = None  # per column, the last finite close seen (for open trades)
        self.entry_rows_cache = None  # (batch, last entry, rows): TradeSetup.entry_rows

    @classmethod
    def of(cls, context) -> Desk:
        """The run's desk, made by the first trade setup that asks."""
        desk = context.shared.get(SHARED_KEY)
        if desk is None:
            label = ",".join(getattr(context, "data_labels", ()) or ())
            desk = context.shared[SHARED_KEY] = cls(context.config, label)
        return desk

    def join(self, setup) -> None:
        self.members.append(setup)

    # -- one batch -----------------------------------------------------------------

    def submit(self, setup, batch, state, candidates: list) -> list[Signal]:
        """A setup's candidates for ``batch``; the signals of every setup once
        the last one has reported, else []."""
        if batch is not self._batch:
            self._batch, self._pending = batch, {}
        self._pending[id(setup)] = (setup, candidates)
        if len(self._pending) < len(self.members):
            return []
        pending = [self._pending[id(m)] for m in self.members]
        self._batch, self._pending = None, {}
        return self._walk(batch, state, pending)

    def _walk(self, batch, state, pending) -> list[Signal]:
        out: list[Signal] = []
        session = state.session
        if self._session is not session.date:
            out += self._close_left_over()
            self._session, self._entries, self._pnl = session.date, 0, 0.0
            self._said, self._halted = set(), None
        by_row: dict[int, list] = {}
        for setup, candidates in pending:
            for cand in candidates:
                by_row.setdefault(cand.row, []).append((setup, cand))
        rth_end = _rth_end_row(batch, session)
        if rth_end == -1:  # RTH ended with the batch before: flat at its last row
            out += self._close_left_over()
        last = len(batch.ts_close) - 1 if rth_end is None or rth_end < 0 else rth_end
        exits = {id(t): self._exit_row(t, batch, state, 0) for t in self.open}
        for j in sorted(r for r in by_row if r <= last):
            out += self._exits_through(j, exits, batch)
            for setup, cand in by_row[j]:
                signal, trade = self._enter(setup, cand, batch, state)
                if signal is not None:
                    out.append(signal)
                if trade is not None:
                    self.open.append(trade)
                    exits[id(trade)] = self._exit_row(trade, batch, state, j + 1)
        out += self._exits_through(last, exits, batch)
        if rth_end is not None and rth_end >= 0:  # RTH is over: flat at its last bar
            for trade in list(self.open):
                out.append(self._exit(trade, batch, rth_end, "session_end", "session end"))
        if len(batch.ts_close):
            self._last_ts = int(batch.ts_close[-1])
            if self.open:
                self._last_close = _last_closes(batch, self._last_close)
        return out

    def _exits_through(self, j: int, exits: dict, batch) -> list[Signal]:
        """Exits at rows up to ``j``, in row order; the halt when one of them
        brings the session's loss to the daily limit."""
        due = sorted((row, k, t) for k, t in enumerate(self.open) if (row := exits[id(t)][0]) <= j)
        out = []
        for row, _, trade in due:
            if id(trade) not in exits:  # already closed by the halt
                continue
            _, how, why = exits.pop(id(trade))
            out.append(self._exit(trade, batch, row, how, why))
            if self._halted is None and self._pnl <= -self.risk.daily_loss_limit:
                out += self._halt(batch, row, exits)
        return out

    def _loss_reached(self) -> str:
        return f"daily loss ${-self._pnl:,.2f} reached the limit ${self.risk.daily_loss_limit:,.0f}"

    def _halt(self, batch, row: int, exits: dict) -> list[Signal]:
        """The daily loss limit is reached at ``row``: every open trade flat at
        the row's close, then one ``halt`` record."""
        out = []
        for trade in list(self.open):
            exits.pop(id(trade), None)
            out.append(self._exit(trade, batch, row, "daily_loss_limit", "daily loss limit"))
        ts_close = int(batch.ts_close[row])
        self._halted = ts_close
        out.append(
            Signal(
                ts_close=ts_close,
                session_date=self._session,
                name="daily_loss_limit",
                kind=HALT_KIND,
                instrument="*",
                side="flat",
                reason=f"{self._loss_reached()}: flat, no entry for the rest of the session",
                source=self.source,
                details={"pnl_usd": round(self._pnl, 2), "limit_usd": self.risk.daily_loss_limit},
            )
        )
        return out

    # -- entries -------------------------------------------------------------------

    def _enter(self, setup, cand: Candidate, batch, state):
        symbol = batch.symbols[cand.col]
        day = state.session.date
        fraction, how = size_fraction(cand.stack, _regime(state, cand.row, setup), cand.factor)
        stop_points = abs(cand.entry - cand.stop)
        inst = self.config.instrument(symbol)
        root = inst.root or symbol
        sized = size(
            self.risk.budget,
            fraction,
            stop_points,
            root,
            inst.point_value or math.nan,
            self.risk.micro_fallback,
        )
        sized = capped(sized, stop_points, self.risk.max_contracts)
        refused = None
        holding = next((t for t in self.open if t.symbol == symbol), None)
        if sized.contracts:
            if holding is not None:  # one position per instrument, whichever setup
                refused = "position_open"
                why = f"{holding.setup} holds {holding.side} {symbol}: no second position"
            elif self._entries >= self.risk.max_trades:
                refused = "max_trades"
                why = f"max_trades {self.risk.max_trades} reached this session: no entry"
            elif self._pnl <= -self.risk.daily_loss_limit:
                refused = "daily_loss_limit"
                why = f"{self._loss_reached()}: no entry"
        if refused:
            self.refused[refused] += 1
            if refused != "position_open" and refused not in self._said:  # once, a warning
                self._said.add(refused)
                setup.log.warning("no more entries this session", session=day, why=why)
            setup.log.info("entry refused", setup=setup.name, instrument=symbol, why=why)
            return None, None
        contract = setup.contract(symbol, day, sized.root)
        details = {
            **cand.details,
            "stack": cand.stack.details(),
            "size": how,
            "sizing": sized.reason,
            "traded": sized.root,
            "risk_usd": round(sized.risk, 2),
            "budget_usd": self.risk.budget,
        }
        if cand.stack.contradiction:
            details["contradiction"] = cand.stack.contradiction
        signal = Signal(
            ts_close=int(batch.ts_close[cand.row]),
            session_date=day,
            name=setup.name,
            kind="setup",
            instrument=symbol,
            side=cand.side,
            reason=f"{cand.reason}; {sized.reason}",
            regime=_regime_name(state, cand.row),
            contract=contract,
            confirmations=cand.stack.held,
            size_fraction=round(fraction, 6),
            contracts=sized.contracts,
            entry=cand.entry,
            stop=cand.stop,
            target=cand.target,
            source=self.source,
            details=details,
        )
        if not sized.contracts:
            return signal, None
        self._entries += 1
        self.entries += 1
        trade = Trade(
            setup.name,
            cand.col,
            symbol,
            cand.side,
            cand.entry,
            cand.stop,
            cand.target,
            sized.contracts,
            sized.point_value,
            signal.id,
            day,
            cand.exit_rule,
        )
        return signal, trade

    # -- exits ---------------------------------------------------------------------

    def _exit_row(self, trade: Trade, batch, state, start: int):
        """(row, how, why) of the trade's first exit in ``batch`` from ``start``,
        row ``len(batch.ts_close)`` when none."""
        n = len(batch.ts_close)
        none = (n, "", "")
        if start >= n:
            return none
        c = trade.col
        present = np.asarray(batch.present[start:, c], bool)
        low, high = batch.low[start:, c], batch.high[start:, c]
        if trade.sign > 0:
            stop_hit = present & (low <= trade.stop)
            target_hit = present & (high >= trade.target) if trade.target else None
        else:
            stop_hit = present & (high >= trade.stop)
            target_hit = present & (low <= trade.target) if trade.target else None
        # on the first row where one holds, the stop before the target before the rule
        hit = stop_hit if target_hit is None else stop_hit | target_hit
        rule = None
        if trade.exit_rule is not None:
            rows, how, why = trade.exit_rule(batch, state, trade, start)
            rule = present & rows
            hit = hit | rule
        row = _first(hit)
        if row is None:
            return none
        if stop_hit[row]:
            return start + row, "stop", f"stop {trade.stop:.10g} reached"
        if target_hit is not None and target_hit[row]:
            return start + row, "target", f"target {trade.target:.10g} reached"
        return start + row, how, why

    def _exit(self, trade: Trade, batch, row: int, how: str, why: str) -> Signal:
        c = trade.col
        if how == "stop":
            price = _fill(trade.stop, batch.open[row, c], trade.sign, worse=True)
        elif how == "target":
            price = _fill(trade.target, batch.open[row, c], trade.sign, worse=False)
        else:
            price = float(batch.close[row, c])
            if not math.isfinite(price):  # the instrument has no bar there: its last close
                price = _last_close(batch, row, c, self._last_close)
        self.open.remove(trade)
        return self._exit_signal(trade, int(batch.ts_close[row]), price, how, why)

    def _exit_signal(self, trade: Trade, ts_close: int, price: float, how: str, why: str):
        points = (price - trade.entry) * trade.sign
        pnl = points * trade.contracts * trade.point_value
        self._pnl += pnl
        self.exits += 1
        return Signal(
            ts_close=ts_close,
            session_date=trade.session,
            name=trade.setup,
            kind=EXIT_KIND,
            instrument=trade.symbol,
            side="flat",
            reason=(
                f"exit {trade.side} {trade.contracts} at {price:.10g} ({why}): "
                f"{points:+.10g} pt, {'-' if pnl < 0 else '+'}${abs(pnl):,.2f}"
            ),
            contracts=trade.contracts,
            source=self.source,
            details={
                "entry_id": trade.entry_id,
                "exit": how,
                "exit_price": price,
                "points": round(points, 6),
                "pnl_usd": round(pnl, 2),
            },
        )

    def _close_left_over(self) -> list[Signal]:
        """Trades still open when a new session begins (the data had no bar at
        the RTH close): flat at the last close seen."""
        out = []
        for trade in list(self.open):
            price = float(self._last_close[trade.col])
            self.open.remove(trade)
            out.append(self._exit_signal(trade, self._last_ts, price, "session_end", "session end"))
        return out

    def finish(self, summary) -> None:
        self.left_open = len(self.open)
        summary.metrics["trades"] = {
            "entries": self.entries,
            "exits": self.exits,
            "open_at_end": self.left_open,
            "refused_max_trades": self.refused["max_trades"],
            "refused_daily_loss_limit": self.refused["daily_loss_limit"],
            "refused_position_open": self.refused["position_open"],
        }
        if self.left_open:
            summary.notes.append(
                f"{self.left_open} trade(s) still open when the data ended (no exit record)"
            )


def _first(mask) -> int | None:
    if mask is None or not len(mask):
        return None
    j = int(np.argmax(mask))
    return j if mask[j] else None


def _fill(level: float, bar_open: float, sign: int, worse: bool) -> float:
    """A stop or target level, or the bar's open when the bar opened beyond it."""
    if not math.isfinite(bar_open):
        return level
    beyond = (bar_open - level) * sign
    if worse and beyond < 0:  # opened through the stop
        return float(bar_open)
    if not worse and beyond > 0:  # opened through the target
        return float(bar_open)
    return level


def _last_close(batch, row: int, col: int, earlier) -> float:
    """The column's last finite close up to ``row``, else that of an earlier
    batch (``earlier``: per column; an open trade's entry close at least)."""
    closes = batch.close[: row + 1, col]
    finite = np.flatnonzero(np.isfinite(closes))
    return float(closes[finite[-1]]) if len(finite) else float(earlier[col])


def _last_closes(batch, earlier) -> np.ndarray:
    """Per column, the last finite close of the batch, else ``earlier``'s."""
    closes = np.asarray(batch.close, float)
    seen = np.isfinite(closes)
    last = np.where(seen, np.arange(len(closes))[:, None], -1).max(axis=0)
    found = closes[np.maximum(last, 0), np.arange(closes.shape[1])]
    if earlier is None:
        earlier = np.full(closes.shape[1], math.nan)
    return np.where(last >= 0, found, earlier)


def _rth_end_row(batch, session) -> int | None:
    """Once this batch shows the session's RTH is over: the row of its last bar
    closing at or before the RTH close, or -1 when that bar was in an earlier
    batch. None while RTH goes on."""
    ts = batch.ts_close
    j = int(np.searchsorted(ts, session.rth_close_ns, side="right")) - 1
    over = j < len(ts) - 1 or (j >= 0 and ts[j] == session.rth_close_ns)
    if not over:
        return None
    return j if j >= 0 and ts[j] > session.rth_open_ns else -1


def _regime(state, row: int, setup) -> Regime:
    """The regime's effect on size at ``row`` (columns ``regime`` and
    ``afternoon`` of the ``regime`` indicator, when configured)."""
    values = state.values
    chop = "regime" in values and values["regime"][row, 0] == "chop"
    late = "afternoon" in values and bool(values["afternoon"][row, 0])
    return Regime(chop, late, setup.chop_cap, setup.afternoon_discount)


def _regime_name(state, row: int) -> str:
    if "regime" not in state.values:
        return "unknown"
    return str(state.values["regime"][row, 0]) or "unknown"
