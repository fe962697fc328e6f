"""The bridge's journal: one JSON object a line, appended and fsynced.

It records every command file before the file is renamed into the folder
NinjaTrader reads, and what the bridge saw or decided since (order states,
expiries, rejections, drift). A restarted bridge reads it back to know what
was sent, so that nothing is sent twice, and which file names are used.

A line cut short by a crash is the last one, written before any rename that
would have followed it: it is dropped on loading, the file cut back to the
last whole line.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

from rsengine.files import FileLocked, claim, sync

LOCK_NAME = "bridge.lock"


class JournalLocked(RuntimeError):
    """Another run holds the journal."""


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _claim(path.parent / LOCK_NAME)
        weakref.finalize(self, self._lock.release)
        self.records = self._load()
        self._file = None

    def _load(self) -> list[dict]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):  # a line cut short by a crash
            with open(self.path, "r+b") as f:
                f.truncate(len(whole))
                sync(f)
        return [json.loads(line) for line in whole.decode("utf-8").splitlines() if line.strip()]

    def append(self, record: dict) -> None:
        """Writes ``record`` and waits until it is on disk."""
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
        self._file.write(json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n")
        sync(self._file)
        self.records.append(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._lock.release()


def _claim(lock_path: Path):
    try:
        return claim(lock_path)
    except FileLocked as exc:
        raise JournalLocked(f"another run (pid {exc.pid}) is bridging this folder") from None
