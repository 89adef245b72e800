"""The §9 Origin check: a page in a browser always sends its origin, so only non-browser clients
(no Origin) and the daemon's own loopback origins are let in; this stops cross-site WebSocket hijacking."""

from __future__ import annotations

from collections.abc import Sequence


def origin_allowed(origins: Sequence[str], port: int) -> bool:
    """`origins` are the handshake's Origin header values (normally none or one)."""
    if not origins:
        return True
    return len(origins) == 1 and origins[0] in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
