"""File helpers the host and plugins share: data on disk before it counts,
and a lock file that one process at a time holds.

* :func:`sync` and :func:`write_synced`: a file's bytes on disk (the step
  before a temporary file is renamed over the real one).
* :func:`sync_folder`: a folder's entries on disk, so that renames into it
  survive a power cut (POSIX; Windows has no folder handles).
* :func:`claim`: an exclusive lock on a lock file, taken without waiting, with
  the holder's pid written into the file; the system drops the lock when the
  file is closed or the process ends, however it ends (``kill -9`` included).
  :func:`try_lock` is the bare lock on an open file.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

# Windows locks a byte range: one past the pid, so that the pid stays readable
LOCK_BYTE = 1 << 20


def sync(f) -> None:
    """Flushes open file ``f`` and waits until its bytes are on disk."""
    f.flush()
    os.fsync(f.fileno())


def write_synced(path: str | Path, data: bytes) -> None:
    """Writes ``data`` as the whole of file ``path`` and waits until it is on disk."""
    with open(path, "wb") as f:
        f.write(data)
        sync(f)


def sync_folder(path: str | Path) -> None:
    """Waits until the entries of folder ``path`` (renames into it) are on disk."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def try_lock(f) -> bool:
    """Takes an exclusive lock on open file ``f`` without waiting; False when
    another open file (of this process or another) holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            f.seek(LOCK_BYTE)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # BlockingIOError: another holds it
        return False
    return True


class FileLocked(RuntimeError):
    """Another process holds the lock file ``path``; ``pid`` is what it wrote
    there ("unknown" if nothing yet)."""

    def __init__(self, path: Path, pid: str):
        super().__init__(f"{path} is locked by another process (pid {pid})")
        self.path, self.pid = path, pid


class HeldLock:
    """A lock taken by :func:`claim`; :meth:`release` (or the end of the
    process) lets it go."""

    def __init__(self, path: Path, file):
        self.path, self._file = path, file

    def release(self) -> None:
        self._file.close()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim(path: str | Path) -> HeldLock:
    """Creates lock file ``path`` if needed, locks it for this process and
    writes this process's pid into it. Raises :class:`FileLocked` (naming the
    file and the holder's pid) when another holds it, ``OSError`` when the
    file cannot be opened."""
    path = Path(path)
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
    if not try_lock(f):
        f.seek(0)
        pid = f.read().strip() or "unknown"
        f.close()
        raise FileLocked(path, pid)
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return HeldLock(path, f)
