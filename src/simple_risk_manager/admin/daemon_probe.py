"""Ask the running daemon how it is, over its read-only broadcast feed (`broadcast-api.md` §4): the
`hello` (run id, start time, accounts) and, when wanted, one all-accounts `snapshot` (daemon status,
hubs, clients, per-account P&L, positions, lockouts). Used by `status`, `test broadcast` and after a
service start; it sends nothing but `subscribe`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from simple_risk_manager.broadcast.frames import decode_message, encode_request
from simple_risk_manager.broadcast.protocol import HELLO, SNAPSHOT, SUBSCRIBE
from simple_risk_manager.clock import Clock

HELLO_TIMEOUT_S: Final = 2.0


class ProbeError(Exception):
    """The daemon could not be reached or did not answer in time; the message says which."""


@dataclass(frozen=True, slots=True)
class DaemonProbe:
    hello: Mapping[str, Any]
    snapshot: Mapping[str, Any] | None
    latency_ms: float

    @property
    def daemon_status(self) -> Mapping[str, Any] | None:
        daemon = None if self.snapshot is None else self.snapshot.get("daemon")
        return daemon if isinstance(daemon, dict) else None

    @property
    def accounts(self) -> list[Mapping[str, Any]]:
        accounts = None if self.snapshot is None else self.snapshot.get("accounts")
        return [a for a in accounts if isinstance(a, dict)] if isinstance(accounts, list) else []


async def probe_daemon(port: int, clock: Clock, *, timeout_s: float = HELLO_TIMEOUT_S,
                       snapshot: bool = True) -> DaemonProbe:
    """`hello` within `timeout_s`; with `snapshot`, the all-accounts snapshot within `timeout_s` more."""
    url = f"ws://127.0.0.1:{port}/"
    started = clock.monotonic()
    try:
        async with connect(url, open_timeout=timeout_s, compression=None, close_timeout=1) as connection:
            hello = await _next_of(connection, HELLO, timeout_s)
            latency_ms = (clock.monotonic() - started) * 1000
            data = None
            if snapshot:
                await connection.send(encode_request(SUBSCRIBE, clock.now(), {"account_ids": None}))
                data = await _next_of(connection, SNAPSHOT, timeout_s)
            return DaemonProbe(hello, data, latency_ms)
    except TimeoutError:
        raise ProbeError(f"no answer from {url} within {timeout_s:g} s") from None
    except OSError as exc:
        raise ProbeError(f"cannot connect to {url} ({exc.strerror or exc})") from None
    except (InvalidHandshake, InvalidURI) as exc:
        raise ProbeError(f"cannot connect to {url} ({exc})") from None
    except ConnectionClosed as exc:
        raise ProbeError(f"{url} closed the connection ({exc})") from None


async def _next_of(connection: ClientConnection, message_type: str, timeout_s: float) -> Mapping[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            message = decode_message(await connection.recv())
            if message is not None and message.type == message_type:
                return message.data
