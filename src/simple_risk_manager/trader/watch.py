"""`srm trader watch` (`cli.md` §1.11): the live events as JSON lines, for piping.

Each line is one event envelope exactly as the daemon sent it (`broadcast-api.md` §3, §5), of the
nine event types only (no `hello` or `snapshot`). A stream with a hole in it would mislead a script,
so the command never reconnects: it exits 3 as soon as the daemon is unreachable or the connection
ends (the script can start it again and take a fresh `srm trader status`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Final, TextIO

import orjson

from simple_risk_manager.broadcast.client import BroadcastClient, Disconnected
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.broadcast.protocol import EVENT_TYPES, PROTOCOL_VERSION
from simple_risk_manager.clock import Clock
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.trader.feed import client_items

#: `cli.md` §1.2: the daemon must answer within 2 s.
FIRST_FRAME_TIMEOUT_S: Final = 2.0


def parse_types(text: str | None) -> frozenset[str] | None:
    """`--types GatewayUserTrade,lockout_set` → the set; raises ValueError naming the unknown ones."""
    if text is None:
        return None
    wanted = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(wanted - EVENT_TYPES)
    if unknown or not wanted:
        raise ValueError(f"--types: unknown event type(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(sorted(EVENT_TYPES))}")
    return wanted


def event_line(message: Message) -> str:
    return orjson.dumps({"v": PROTOCOL_VERSION, "type": message.type, "seq": message.seq, "ts": message.ts,
                         "account_id": message.account_id, "data": message.data}).decode() + "\n"


async def watch(url: str, account_id: int | None, types: Collection[str] | None, *, out: TextIO, err: TextIO,
                clock: Clock, first_frame_timeout_s: float = FIRST_FRAME_TIMEOUT_S) -> ExitCode:
    """Stream until the connection ends (exit 3) or the reader goes away (exit 0)."""
    client = BroadcastClient(url, None if account_id is None else [account_id], clock=clock)
    heard = False
    try:
        async with client_items(client) as stream:
            while True:
                try:
                    async with asyncio.timeout(None if heard else first_frame_timeout_s):
                        item = await anext(stream)
                except TimeoutError:
                    err.write(f"srm trader watch: the daemon at {url} did not answer within "
                              f"{first_frame_timeout_s:g} s\n")
                    return ExitCode.DAEMON_UNREACHABLE
                if isinstance(item, Disconnected):
                    err.write(f"srm trader watch: daemon unreachable: {item.reason}\n")
                    return ExitCode.DAEMON_UNREACHABLE
                heard = True
                if item.type in EVENT_TYPES and (types is None or item.type in types):
                    try:
                        out.write(event_line(item))
                        out.flush()
                    except BrokenPipeError:
                        return ExitCode.OK
    finally:
        await client.close()
