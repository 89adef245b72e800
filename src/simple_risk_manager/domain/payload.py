"""Readers for one field of a JSON payload: each returns the typed value or raises `ValueError` naming
the field, so a caller can drop exactly the one bad item. Shared by the gateway parsers
(`domain.models.*.from_api`) and the dashboard's broadcast parsing (`trader.payloads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from simple_risk_manager.domain.money import to_decimal
from simple_risk_manager.domain.times import parse_utc

Data = Mapping[str, Any]


def integer(data: Data, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}: must be an integer (got {value!r})")
    return value


def opt_integer(data: Data, key: str) -> int | None:
    return None if data.get(key) is None else integer(data, key)


def text(data: Data, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: must be a non-empty string (got {value!r})")
    return value


def opt_text(data: Data, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def number(data: Data, key: str) -> Decimal:
    try:
        return to_decimal(data.get(key))
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def opt_number(data: Data, key: str) -> Decimal | None:
    return None if data.get(key) is None else number(data, key)


def instant(data: Data, key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be an ISO-8601 timestamp (got {value!r})")
    try:
        return parse_utc(value)
    except ValueError:
        raise ValueError(f"{key}: must be an ISO-8601 timestamp (got {value!r})") from None


def opt_instant(data: Data, key: str) -> datetime | None:
    return None if data.get(key) is None else instant(data, key)


def flag(data: Data, key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false (got {value!r})")
    return value
