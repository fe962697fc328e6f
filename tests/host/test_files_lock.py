"""rsengine.files: the lock one process holds, and the synced writes.

The holder is a real second Python process: it claims the lock, says so on
stdout and waits for a line on stdin before it ends.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from rsengine.files import FileLocked, claim, sync_folder, try_lock, write_synced

HOLDER = textwrap.dedent(
    """
    import sys
    from rsengine.files import claim

    held = claim(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def holder(tmp_path):
    """A second process holding ``tmp_path / 'run.lock'``."""
    path = tmp_path / "run.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    yield path, proc
    if proc.poll() is None:
        proc.communicate("\n", timeout=20)


def test_a_second_process_cannot_take_the_lock_and_the_error_names_the_file_and_holder(holder):
    path, proc = holder
    with pytest.raises(FileLocked) as err:
        claim(path)
    assert err.value.path == path
    assert err.value.pid == str(proc.pid)
    assert str(path) in str(err.value) and f"pid {proc.pid}" in str(err.value)
    with open(path, "a+", encoding="utf-8") as f:
        assert not try_lock(f)


def test_the_lock_is_free_again_once_the_holder_ends_and_names_the_new_holder(holder):
    path, proc = holder
    proc.communicate("\n", timeout=20)
    with claim(path) as held:
        assert held.path == path
        assert path.read_text(encoding="utf-8") == f"{os.getpid()}\n"


def test_the_lock_is_free_again_after_kill_9_of_the_holder(holder):
    path, proc = holder
    proc.kill()
    proc.wait(timeout=20)
    held = claim(path)
    held.release()


def test_one_process_holds_the_lock_once_a_second_claim_of_its_own_is_refused(tmp_path):
    path = tmp_path / "run.lock"
    with claim(path):
        with pytest.raises(FileLocked, match=f"pid {os.getpid()}"):
            claim(path)
    claim(path).release()  # released: free for the next


def test_claim_of_a_lock_in_a_missing_folder_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        claim(tmp_path / "nowhere" / "run.lock")


def test_write_synced_leaves_exactly_the_bytes_and_sync_folder_accepts_the_folder(tmp_path):
    path = tmp_path / "data.bin"
    write_synced(path, b"first\n")
    write_synced(path, b"b\x00c")  # the whole file, not appended
    assert path.read_bytes() == b"b\x00c"
    sync_folder(tmp_path)
