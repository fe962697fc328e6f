"""Command files into the folder NinjaTrader reads, whole or not at all.

NinjaTrader processes an ``oif*.txt`` file the instant it appears, so a file
is written under a temporary name that does not match that pattern
(``.rs-<run>-<n>.tmp``, in the same folder, so on the same volume), flushed
and fsynced, and only then renamed to ``oif-<run>-<n>.txt`` with
``os.replace``. The rename itself is not fsynced: NinjaTrader sees it at
once, and the journal, fsynced before it, is what a restart trusts.
``<run>`` is new for every start of rsengine and ``<n>``
carries on from the journal, so no name is ever used twice (NinjaTrader's
"Ignore duplicate OIF files" would drop a file with a name seen before).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rsengine.files import sync

TEMP_PREFIX = ".rs-"
TEMP_SUFFIX = ".tmp"


def new_run_id() -> str:
    return secrets.token_hex(4)


class Inbox:
    def __init__(self, folder: Path, run_id: str, last_counter: int = 0):
        self.folder = folder
        self.run_id = run_id
        self.counter = last_counter
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="rsengine-oif-fsync")

    def names(self) -> tuple[str, str]:
        """The next (temporary, final) names."""
        self.counter += 1
        stem = f"{self.run_id}-{self.counter:06d}"
        return f"{TEMP_PREFIX}{stem}{TEMP_SUFFIX}", f"oif-{stem}.txt"

    def write(self, lines: list[str], before_rename: Callable[[str, str], None]) -> str:
        """Writes ``lines`` as one file; ``before_rename(temp, final)`` runs once
        the temporary file is written, while it is being fsynced, and before it
        becomes visible (the journal records it there). Returns the final name."""
        temp, final = self.names()
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        with open(self.folder / temp, "wb") as f:
            f.write(data)
            # the file's fsync and the journal's run at once: one disk wait, not two
            synced = self._syncer.submit(sync, f)
            try:
                before_rename(temp, final)
            finally:
                synced.result()
        os.replace(self.folder / temp, self.folder / final)
        return final

    def close(self) -> None:
        self._syncer.shutdown()

    def leftover_temps(self) -> list[str]:
        """Temporary files of earlier runs that never became commands."""
        return sorted(
            p.name
            for p in self.folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}")
            if not p.name.startswith(f"{TEMP_PREFIX}{self.run_id}-")
        )
