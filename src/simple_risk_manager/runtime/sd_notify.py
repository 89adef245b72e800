"""systemd readiness notification (`daemon.md` §2 step 15, §3): ``READY=1``, ``STOPPING=1``, ``STATUS=…``.

The unit runs with ``Type=notify``: systemd sets ``NOTIFY_SOCKET`` to a unix datagram socket (a path,
or ``@name`` for the abstract namespace) and waits for ``READY=1``. Without the variable (a foreground
run, Windows) every call is a no-op. A failed send is logged and never stops the daemon: readiness is
a courtesy to the service manager, enforcement does not depend on it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"


class SystemdNotifier:
    """Sends state changes to the service manager's notification socket, when there is one."""

    def __init__(self, address: str | None) -> None:
        self._address = _socket_address(address) if address else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SystemdNotifier:
        return cls(env.get(NOTIFY_SOCKET_ENV) or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        """Start-up is done (after the local steps; broker connectivity is reported elsewhere)."""
        return self.notify("READY=1", *_status(status))

    def stopping(self, status: str | None = None) -> bool:
        """The graceful shutdown has begun."""
        return self.notify("STOPPING=1", *_status(status))

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.notify(*_status(text))

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; True when sent, False when disabled or failed."""
        if self._address is None:
            return False
        if not hasattr(socket, "AF_UNIX"):
            log.warning("%s is set but this platform has no unix sockets; not notifying",
                        NOTIFY_SOCKET_ENV)
            return False
        message = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, self._address)
        except OSError as error:
            log.warning("could not notify systemd at %s: %s", self._printable_address, error)
            return False
        return True

    @property
    def _printable_address(self) -> str:
        address = self._address or ""
        return "@" + address[1:] if address.startswith("\0") else address


def _socket_address(value: str) -> str:
    """``@name`` is the abstract namespace, spelled with a leading NUL byte on the socket API."""
    return "\0" + value[1:] if value.startswith("@") else value


def _status(text: str | None) -> tuple[str, ...]:
    """A ``STATUS=`` line; newlines would start new assignments, so they become spaces."""
    if text is None:
        return ()
    return ("STATUS=" + " ".join(text.splitlines()),)
