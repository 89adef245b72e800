"""Secrets never reach a log line: one helper masks tokens and keys in any text before it is logged.

Every gateway log line that can contain a hub URL (``access_token=``), a request body (``apiKey``), a
response body (``token``, ``newToken``) or a header (``Bearer``) passes through `redact`. The daemon's
logging filter masks again (`daemon.md` §8); this is the first line of defence, at the source.
"""

from __future__ import annotations

import logging
import re

MASK = "<redacted>"

# A JWT: three base64url segments, the first two starting with the encoding of '{"'.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# key=value in a URL query or form: access_token=..., apiKey=...
_QUERY = re.compile(r"(?i)((?:access_token|api_?key|token|newToken|password)=)[^&\s\"'#]*")
# "key": "value" / 'key': 'value' in JSON or a Python repr.
_QUOTED = re.compile(
    r"""(?i)(["'](?:apiKey|api_key|token|newToken|access_token|password)["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with every token, API key and bearer credential replaced by ``<redacted>``."""
    text = _QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _JWT.sub(MASK, text)


def loggable(raw: str | bytes, limit: int = 2000) -> str:
    """Raw wire text made safe for a log line: decoded, redacted, then truncated to `limit` chars."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = redact(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more chars)"


class RedactingFilter(logging.Filter):
    """Masks secrets in every record of the logger it is attached to (used for the websockets
    library's own logger, which prints request lines that carry ``access_token=`` at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
