"""systemd notification (`daemon.md` §2 step 15, §3): datagrams to NOTIFY_SOCKET, a no-op without it."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simple_risk_manager.runtime.sd_notify import SystemdNotifier

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="unix datagram sockets")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """What systemd listens on: a unix datagram socket bound to a path."""
    path = str(tmp_path / "notify")
    assert len(path) < 100  # sun_path limit
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_ready_stopping_and_status_are_sent(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready()
    assert sock.recv(4096) == b"READY=1"
    assert notifier.status("RUNNING: 3 accounts")
    assert sock.recv(4096) == b"STATUS=RUNNING: 3 accounts"
    assert notifier.stopping("stopping: SIGTERM")
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=stopping: SIGTERM"


def test_a_multi_line_status_stays_one_assignment(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    SystemdNotifier(path).status("DEGRADED\nuser hub down")
    assert sock.recv(4096) == b"STATUS=DEGRADED user hub down"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract namespace is Linux only")
def test_abstract_namespace_address() -> None:
    name = f"srm-test-{os.getpid()}-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert SystemdNotifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("env", [{}, {"NOTIFY_SOCKET": ""}], ids=["unset", "empty"])
def test_without_a_socket_nothing_is_sent(env: dict[str, str]) -> None:
    notifier = SystemdNotifier.from_env(env)
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.stopping()


def test_a_missing_socket_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone"))
    assert not notifier.ready()
    assert "could not notify systemd at" in caplog.text and "gone" in caplog.text
