"""The TLS context of the daemon's own connections to the gateway (hubs and kept REST connections)."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """The system's trusted CAs with hostname checks; built once (loading the CA store takes milliseconds)."""
    return ssl.create_default_context()
