"""Output ``ninjatrader``: the signals on a NinjaTrader 8 chart, and, only
when the config turns it on, orders through NinjaTrader's Automated Trading
Interface (ATI) order instruction files.

It always writes the chart's signal file (``signal_file``, by default
``<folder>/rsengine/signals.txt``; see docs/ninjascript.md). With
``account`` named and ``orders: true`` it also writes OIF command files into
``<folder>/incoming/`` (``<folder>/dry-run/`` with ``dry_run: true``) and reads
NinjaTrader's reports in ``<folder>/outgoing/``. The details: docs/ninjatrader.md.

The pieces, in the order a signal meets them: ``settings`` (checked),
``commands`` (a trade's records -> OIF lines, built by ``oif``), ``bridge``
(when to send, queue, journal, drift), ``inbox`` (files written whole into
the folder NinjaTrader reads), ``outgoing`` (what it reports back) and
``journal`` (what was sent, for restarts).
"""

from __future__ import annotations

import structlog

import rsengine

from .bridge import Bridge
from .inbox import Inbox, new_run_id
from .journal import Journal, JournalLocked
from .outgoing import Outgoing
from .settings import SETTINGS, SettingError, parse
from .signal_file import SignalFile, SignalFileError


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    registry.add(
        "ninjatrader",
        NinjaTraderOutput,
        "NinjaTrader 8: signals for the chart, and ATI orders when turned on (off by default)",
    )


class NinjaTraderOutput:
    SETTINGS = SETTINGS

    def __init__(self, settings: dict, context):
        self.component = getattr(context, "component", None)
        try:
            self.settings = parse(settings)
        except SettingError as exc:
            raise self._refuse(exc.key, exc.message) from None
        self.config = context.config
        self.tz = context.config.session.timezone
        self.log = structlog.get_logger("rsengine.ninjatrader").bind(plugin="ninjatrader")
        self.written = [self.settings.signal_file]
        self.journal = None
        self.bridge = None
        self._started = False
        # A replay hands over a session a batch: the chart's file is written once
        # a batch (at the next batch, and at the end), not once a signal. Paced
        # and live runs write each signal at once: a chart is watching.
        self._batched = self.config.run.mode == "replay"
        self._unwritten = False
        s = self.settings
        try:
            self.signal_file = SignalFile(s.signal_file, self.tz)
        except SignalFileError as exc:
            raise self._refuse(("signal_file",), str(exc)) from None
        if s.dry_run and not s.places_orders:
            self.log.warning(
                "dry_run has no effect while orders are off: no OIF file is written "
                "(orders: true and an account turn them on)"
            )
        if s.places_orders:
            self._check_folders()
            try:
                self.journal = Journal(s.journal)
            except JournalLocked as exc:
                raise self._refuse(("folder",), f"{s.folder}: {exc}") from None
            except OSError as exc:
                raise self._refuse(("folder",), f"{s.journal}: {exc.strerror or exc}") from None
            self.written.append(s.journal)

    def _check_folders(self) -> None:
        s = self.settings
        if s.dry_run:
            try:
                s.commands_folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._refuse(
                    ("folder",), f"cannot make {s.commands_folder}: {exc.strerror or exc}"
                ) from None
            return
        missing = [p.name for p in (s.commands_folder, s.outgoing) if not p.is_dir()]
        if missing:
            raise self._refuse(
                ("folder",),
                f"{s.folder} has no {' and no '.join(f'{m}/' for m in missing)} folder: give "
                "NinjaTrader 8's user-data folder (Documents/NinjaTrader 8, or "
                "OneDrive/Documents/NinjaTrader 8 when Documents is on OneDrive), or set "
                "dry_run: true to try it without NinjaTrader",
            )

    def _refuse(self, key: tuple, message: str) -> Exception:
        if self.component is not None:
            return self.component.error(key, message)
        return ValueError(f"{'.'.join(key)}: {message}")

    # -- the run ------------------------------------------------------------------------

    def _start(self) -> None:
        """On the first slice or signal, so that building the output
        (``rsengine validate``) writes nothing."""
        s = self.settings
        if self.journal is not None:
            run_id = new_run_id()
            outgoing = None if s.dry_run else Outgoing(s.outgoing, s.account, s.connection)
            inbox = Inbox(s.commands_folder, run_id)
            self.bridge = Bridge(s, self.config, self.log, self.journal, inbox, outgoing)
            self.log.info(
                "ninjatrader orders on",
                account=s.account,
                folder=str(s.commands_folder),
                dry_run=s.dry_run,
                run=run_id,
            )
        self._started = True

    def on_batch(self, batch, values):
        if not self._started:
            self._start()
        if self._unwritten:  # the signals of the batch before
            self._unwritten = not self.signal_file.flush()
        if self.bridge is not None and len(batch):
            self.bridge.on_batch(int(batch.ts_close[-1]))

    def on_signal(self, signal):
        if not self._started:
            self._start()
        if self.bridge is not None:  # orders first: the chart can wait a moment
            self.bridge.on_signal(signal)
        self.signal_file.add(signal, write=not self._batched)
        self._unwritten = self._batched

    def close(self, summary):
        try:
            if self.bridge is not None:
                summary.metrics["ninjatrader"] = self.bridge.finish()
        finally:
            self.signal_file.close()
            if self.bridge is not None:
                self.bridge.inbox.close()
            if self.journal is not None:
                self.journal.close()
