"""The chart signal file: what the NinjaScript indicator RsEngineSignals draws.

One UTF-8 text file, rewritten whole and swapped in atomically on every write
(a temporary file in the same folder, flushed and fsynced, then
``os.replace``), so a reader never sees half of it. The format, version 1, is
documented in docs/ninjascript.md; in short: a header line, then one line per
signal with the fields of :data:`FIELDS` separated by ``|``, every field
escaped (``\\`` -> ``\\\\``, ``|`` -> ``\\p``, LF -> ``\\n``, CR -> ``\\r``),
prices in US decimal form (Python's shortest round-trip repr), empty for a
missing number, ``time_utc`` the bar-close stamp in UTC. The same signals give
byte-identical files.

Cost: every write rewrites the whole file, so the file keeps only what a chart
needs: the signals of the last ``sessions`` sessions (by session date), and at
most ``max_signals`` of them (the newest). A write is then bounded by that
window, not by the run. Each line is rendered once, when added. A caller that
adds many signals at once (a replay's batch) can pass ``write=False`` and call
:meth:`SignalFile.flush` once.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import zoneinfo
from pathlib import Path

import structlog

from rsengine.files import write_synced

FORMAT = "rsengine-signals"
VERSION = "1"
FIELDS = (
    "id",
    "time_utc",
    "time_local",
    "session",
    "kind",
    "name",
    "instrument",
    "contract",
    "side",
    "entry",
    "stop",
    "target",
    "contracts",
    "entry_id",
    "exit",
    "exit_price",
    "reason",
)
DELIMITER = "|"
HEADER = "#" + DELIMITER.join((FORMAT, VERSION, *FIELDS))
ESCAPES = {"\\": "\\\\", DELIMITER: "\\p", "\n": "\\n", "\r": "\\r"}
_ESCAPE_TABLE = str.maketrans(ESCAPES)

DEFAULT_SESSIONS = 5
DEFAULT_MAX_SIGNALS = 2000
REPLACE_ATTEMPTS = 20  # Windows: a reader without FILE_SHARE_DELETE blocks the rename a moment
REPLACE_PAUSE_S = 0.01

log = structlog.get_logger("rsengine.ninjatrader").bind(plugin="ninjatrader")


class SignalFileError(ValueError):
    """The signal file's folder cannot be made or written."""


def escape(text: str) -> str:
    return text.translate(_ESCAPE_TABLE)


def number(x) -> str:
    """US decimal form whatever the locale (repr never uses the locale); empty
    for a missing or non-finite number."""
    if x is None:
        return ""
    x = float(x)
    return repr(x) if math.isfinite(x) else ""


def utc_text(ts_ns: int) -> str:
    """``2025-03-06T15:05:00Z``; a fraction of 7 digits (100 ns, .NET ticks)
    only when there is one."""
    seconds, ns = divmod(int(ts_ns), 1_000_000_000)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ticks = ns // 100
    return f"{text}.{ticks:07d}Z" if ticks else f"{text}Z"


def local_text(ts_ns: int, zone: zoneinfo.ZoneInfo) -> str:
    """The same instant in ``zone``, with its offset, for people reading the file."""
    seconds = int(ts_ns) // 1_000_000_000
    return dt.datetime.fromtimestamp(seconds, zone).isoformat()


def line(signal, zone: zoneinfo.ZoneInfo) -> str:
    """One signal as one line of the file (no line end)."""
    details = signal.details or {}
    values = {
        "id": signal.id,
        "time_utc": utc_text(signal.ts_close),
        "time_local": local_text(signal.ts_close, zone),
        "session": signal.session_date,
        "kind": signal.kind,
        "name": signal.name,
        "instrument": signal.instrument,
        "contract": signal.contract,
        "side": signal.side,
        "entry": number(signal.entry),
        "stop": number(signal.stop),
        "target": number(signal.target),
        "contracts": str(int(signal.contracts)),
        "entry_id": str(details.get("entry_id") or ""),
        "exit": str(details.get("exit") or ""),
        "exit_price": number(details.get("exit_price")),
        "reason": signal.reason,
    }
    return DELIMITER.join(escape(str(values[name])) for name in FIELDS)


class SignalFile:
    """The signal file at ``path``; times also shown in zone ``tz``.

    The folder is made (and checked writable) at once; the file itself is
    first written by the first :meth:`add` (or by :meth:`close`), so building
    the output to check a config leaves a previous run's file alone.
    """

    def __init__(
        self,
        path: Path,
        tz: str,
        *,
        sessions: int = DEFAULT_SESSIONS,
        max_signals: int = DEFAULT_MAX_SIGNALS,
    ):
        self.path = Path(path)
        self.zone = zoneinfo.ZoneInfo(tz)
        self.sessions = int(sessions)
        self.max_signals = int(max_signals)
        if self.sessions < 1 or self.max_signals < 1:
            raise ValueError("sessions and max_signals must be at least 1")
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._lines: dict[str, tuple[str, str]] = {}  # id -> (session, line), in add order
        self._session_dates: set[str] = set()
        self._dirty = False
        self._written = False
        self.writes = 0
        self._claim_folder()

    def _claim_folder(self) -> None:
        folder = self.path.parent
        if self.path.is_dir():
            raise SignalFileError(f"{str(self.path)!r} is a folder, expected a file path")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(self._tmp, "wb"):
                pass
            self._tmp.unlink()
        except OSError as exc:
            raise SignalFileError(
                f"cannot write the signal file's folder {str(folder)!r}: {exc.strerror or exc}"
            ) from None

    # -- signals in -----------------------------------------------------------------

    def add(self, signal, *, write: bool = True) -> None:
        """Adds ``signal`` (a later one with the same id replaces it) and, unless
        ``write`` is False, makes the new content visible at once."""
        session = signal.session_date
        self._lines[signal.id] = (session, line(signal, self.zone))
        if session not in self._session_dates:
            self._session_dates.add(session)
            if len(self._session_dates) > self.sessions:
                self._drop_old_sessions()
        while len(self._lines) > self.max_signals:
            del self._lines[next(iter(self._lines))]
        self._dirty = True
        if write:
            self.flush()

    def _drop_old_sessions(self) -> None:
        keep = set(sorted(self._session_dates)[-self.sessions :])
        self._session_dates = keep
        self._lines = {k: v for k, v in self._lines.items() if v[0] in keep}

    # -- the file out ---------------------------------------------------------------

    def text(self) -> str:
        """The file's content as it stands."""
        return "".join([HEADER, "\n", *(f"{text}\n" for _, text in self._lines.values())])

    def flush(self) -> bool:
        """Writes the file if anything changed since the last write; True when
        the file on disk is current. A failed rename is logged and retried by
        the next write."""
        if not self._dirty and self._written:
            return True
        write_synced(self._tmp, self.text().encode("utf-8"))
        if not self._replace():
            return False
        self._dirty = False
        self._written = True
        self.writes += 1
        return True

    def _replace(self) -> bool:
        for attempt in range(REPLACE_ATTEMPTS):
            try:
                os.replace(self._tmp, self.path)
                return True
            except PermissionError as exc:  # Windows: the file is open without share-delete
                if attempt == REPLACE_ATTEMPTS - 1:
                    log.warning("signal file not replaced", path=str(self.path), why=str(exc))
                    return False
                time.sleep(REPLACE_PAUSE_S)
        return False

    def close(self) -> None:
        """Writes what is pending (a run without signals leaves the header alone,
        so a chart clears what an earlier run drew)."""
        self.flush()
        self._tmp.unlink(missing_ok=True)
