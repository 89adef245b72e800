"""Instance lock (`daemon.md` §1): one holder across processes, PID readable without the lock, gone with
its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simple_risk_manager.runtime.instance_lock import (
    InstanceLock,
    InstanceLockedError,
    lock_path,
    read_pid,
)

HOLDER = """
import sys
from pathlib import Path
from simple_risk_manager.runtime.instance_lock import InstanceLock
lock = InstanceLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
"""

TRY_ONCE = """
import sys
from pathlib import Path
from simple_risk_manager.runtime.instance_lock import InstanceLock, InstanceLockedError
try:
    InstanceLock(Path(sys.argv[1])).acquire()
except InstanceLockedError as error:
    print(error.pid)
    sys.exit(75)
print("acquired")
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return lock_path(tmp_path / "data")


@pytest.fixture
def holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock until its stdin gets a line (or it is killed)."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_lock_file_lives_in_the_data_directory(tmp_path: Path) -> None:
    assert lock_path(tmp_path) == tmp_path / "daemon.lock"


def test_acquire_creates_the_directory_and_writes_the_pid(path: Path) -> None:
    with InstanceLock(path) as lock:
        assert lock.held
        assert read_pid(path) == os.getpid()
    assert not lock.held
    assert read_pid(path) is None  # emptied on release: no holder
    assert path.exists()


def test_second_process_cannot_take_it(path: Path, holder: subprocess.Popen[str]) -> None:
    attempt = subprocess.run([sys.executable, "-c", TRY_ONCE, str(path)], capture_output=True, text=True,
                             timeout=30, check=False)
    assert attempt.returncode == 75
    assert attempt.stdout.strip() == str(holder.pid)


def test_held_lock_raises_with_the_holders_pid(path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(InstanceLockedError) as caught:
        InstanceLock(path).acquire()
    assert caught.value.pid == holder.pid
    assert caught.value.path == path
    assert str(holder.pid) in str(caught.value)


def test_pid_is_readable_while_held(path: Path, holder: subprocess.Popen[str]) -> None:
    assert read_pid(path) == holder.pid


def test_clean_release_frees_it(path: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    with InstanceLock(path):
        assert read_pid(path) == os.getpid()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_holder_leaves_the_lock_free(path: Path, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert read_pid(path) == holder.pid  # the stale PID stays until the next start …
    with InstanceLock(path):  # … but the lock went with the process
        assert read_pid(path) == os.getpid()


def test_second_lock_in_the_same_process_is_refused(path: Path) -> None:
    with InstanceLock(path), pytest.raises(InstanceLockedError):
        InstanceLock(path).acquire()


def test_acquiring_twice_is_a_programming_error(path: Path) -> None:
    with InstanceLock(path) as lock, pytest.raises(RuntimeError, match="already held"):
        lock.acquire()


def test_release_without_acquire_is_a_no_op(path: Path) -> None:
    InstanceLock(path).release()
    assert not path.exists()


@pytest.mark.parametrize(("content", "expected"), [
    (None, None),
    ("", None),
    ("4242\n", 4242),
    ("not a pid", None),
])
def test_read_pid(path: Path, content: str | None, expected: int | None) -> None:
    if content is not None:
        path.parent.mkdir(parents=True)
        path.write_text(content, encoding="ascii")
    assert read_pid(path) == expected
