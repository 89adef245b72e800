"""Shutdown signals (`daemon.md` §3.1, D16): SIGTERM/SIGINT set the stop event, SIGHUP is ignored."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from simple_risk_manager.runtime.signals import ShutdownSignals

# Prints a line at each step, so the test waits on output instead of sleeping.
WAITER = """
import asyncio, logging, sys
from simple_risk_manager.runtime.signals import ShutdownSignals
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="log: %(message)s")

async def main():
    with ShutdownSignals(asyncio.get_running_loop()) as signals:
        print("ready", flush=True)
        print("stop: " + await signals.wait(), flush=True)
    print("uninstalled", flush=True)
    sys.stdin.readline()

asyncio.run(main())
"""

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals sent with os.kill")


@pytest.fixture
def waiter() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-c", WAITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def next_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().rstrip("\n")


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_sets_the_event(waiter: subprocess.Popen[str], sig: signal.Signals) -> None:
    waiter.send_signal(sig)
    assert next_line(waiter) == f"log: {sig.name} received: stopping"
    assert next_line(waiter) == f"stop: {sig.name}"
    assert next_line(waiter) == "uninstalled"
    waiter.communicate("\n", timeout=10)
    assert waiter.returncode == 0


@posix_only
def test_sighup_is_logged_and_ignored(waiter: subprocess.Popen[str]) -> None:
    waiter.send_signal(signal.SIGHUP)
    assert next_line(waiter).startswith("log: SIGHUP received and ignored")
    assert waiter.poll() is None  # still running, and still waiting for a stop signal:
    waiter.send_signal(signal.SIGTERM)
    assert next_line(waiter) == "log: SIGTERM received: stopping"
    assert next_line(waiter) == "stop: SIGTERM"


@posix_only
def test_leaving_restores_the_default_handlers(waiter: subprocess.Popen[str]) -> None:
    waiter.send_signal(signal.SIGTERM)
    while next_line(waiter) != "uninstalled":
        pass
    waiter.send_signal(signal.SIGTERM)
    assert waiter.wait(timeout=10) == -signal.SIGTERM


async def test_request_stop_from_another_thread() -> None:
    """The Windows service's stop request arrives on a service-host thread."""
    signals = ShutdownSignals(asyncio.get_running_loop())
    thread = threading.Thread(target=signals.request_stop, args=("service stop",))
    thread.start()
    assert await asyncio.wait_for(signals.wait(), timeout=10) == "service stop"
    thread.join()


async def test_first_reason_wins(caplog: pytest.LogCaptureFixture) -> None:
    signals = ShutdownSignals(asyncio.get_running_loop())
    signals.request_stop("SIGTERM")
    signals.request_stop("SIGINT")
    assert await signals.wait() == "SIGTERM"
    assert "SIGINT received while already stopping (after SIGTERM)" in caplog.text


async def test_installing_twice_is_refused() -> None:
    with ShutdownSignals(asyncio.get_running_loop()) as signals, pytest.raises(RuntimeError, match="already"):
        signals.install()


async def test_leaving_restores_the_handlers_set_before() -> None:
    def earlier(signum: int, frame: object) -> None:
        raise AssertionError("not called in this test")

    original = signal.signal(signal.SIGTERM, earlier)
    try:
        with ShutdownSignals(asyncio.get_running_loop()):
            assert signal.getsignal(signal.SIGTERM) is not earlier
        assert signal.getsignal(signal.SIGTERM) is earlier
    finally:
        signal.signal(signal.SIGTERM, original)
