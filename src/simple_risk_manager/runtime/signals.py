"""Shutdown requests (`daemon.md` §3.1): SIGTERM and SIGINT (Ctrl-C) set one asyncio.Event; SIGHUP is
logged and ignored (D16: configuration is read only at start-up).

POSIX uses ``loop.add_signal_handler``, so the handler runs inside the event loop. Windows has no
``add_signal_handler``: ``signal.signal`` handlers (SIGINT, SIGBREAK for Ctrl-Break, SIGTERM) hand the
request to the loop with ``call_soon_threadsafe``. The Windows service's stop request arrives on a
service-host thread and uses `ShutdownSignals.request_stop`, the same path.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

log = logging.getLogger(__name__)

_STOP_SIGNAL_NAMES = ("SIGTERM", "SIGINT", "SIGBREAK")  # SIGBREAK exists only on Windows
_IGNORED_SIGNAL_NAMES = ("SIGHUP",)  # POSIX only

_SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class ShutdownSignals:
    """Turns stop signals into `stop_requested` for the daemon's main task.

    Install it on the running loop (``with ShutdownSignals(loop) as signals: await signals.wait()``);
    leaving restores the previous handlers. `reason` names the first request (``"SIGTERM"``, …).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.stop_requested = asyncio.Event()
        self.reason: str | None = None
        self._installed: list[signal.Signals] = []
        self._previous: dict[signal.Signals, _SignalHandler] = {}

    def install(self) -> None:
        if self._installed:
            raise RuntimeError("shutdown signal handlers are already installed")
        stop_signals = _existing(_STOP_SIGNAL_NAMES)
        ignored = _existing(_IGNORED_SIGNAL_NAMES)
        for sig in (*stop_signals, *ignored):
            self._previous[sig] = signal.getsignal(sig)
        if sys.platform == "win32":
            for sig in stop_signals:
                signal.signal(sig, self._on_windows_signal)
                self._installed.append(sig)
        else:
            for sig in stop_signals:
                self._loop.add_signal_handler(sig, self.request_stop, sig.name)
                self._installed.append(sig)
            for sig in ignored:
                self._loop.add_signal_handler(sig, _log_ignored, sig.name)
                self._installed.append(sig)

    def uninstall(self) -> None:
        """Give the signals back to the handlers they had before `install`."""
        installed, self._installed = self._installed, []
        for sig in installed:
            if sys.platform != "win32":
                self._loop.remove_signal_handler(sig)
            previous = self._previous.pop(sig)
            if previous is not None:  # None: set outside Python, nothing to restore
                signal.signal(sig, previous)

    def request_stop(self, reason: str) -> None:
        """Ask for the graceful shutdown; safe from any thread. Later requests are logged only."""
        if self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._set(reason)
        else:
            self._loop.call_soon_threadsafe(self._set, reason)

    async def wait(self) -> str:
        """Wait for the first stop request; returns its reason."""
        await self.stop_requested.wait()
        assert self.reason is not None
        return self.reason

    def _set(self, reason: str) -> None:
        if self.stop_requested.is_set():
            log.warning("%s received while already stopping (after %s); still stopping", reason,
                        self.reason)
            return
        self.reason = reason
        log.info("%s received: stopping", reason)
        self.stop_requested.set()

    def _on_windows_signal(self, signum: int, frame: FrameType | None) -> None:
        # Runs between two bytecodes of whatever the loop was doing: hand over, never act here.
        self._loop.call_soon_threadsafe(self._set, signal.Signals(signum).name)

    def __enter__(self) -> ShutdownSignals:
        self.install()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.uninstall()


def _existing(names: tuple[str, ...]) -> list[signal.Signals]:
    return [getattr(signal.Signals, name) for name in names if hasattr(signal.Signals, name)]


def _log_ignored(name: str) -> None:
    log.info("%s received and ignored: configuration is read only at start-up; restart to apply changes",
             name)
