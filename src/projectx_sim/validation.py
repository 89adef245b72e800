"""Request-body binding the way ASP.NET Core does it: missing or mistyped fields → 400 ProblemDetails.

The gateway answers a body it cannot bind with HTTP 400 and an RFC 7807 ProblemDetails document
(`type`, `title`, `status`, `errors`, `traceId`), not with the envelope (§1.2). System.Text.Json is
strict: numbers are never read from strings, integers never from fractions or booleans.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from aiohttp import web

from projectx_sim.wire import parse_timestamp

PROBLEM_TYPE_400 = "https://tools.ietf.org/html/rfc9110#section-15.5.1"
PROBLEM_TYPE_415 = "https://tools.ietf.org/html/rfc9110#section-15.5.16"
JSON_CONTENT_TYPES = ("application/json", "text/json")
DECIMAL_MAX = Decimal("79228162514264337593543950335")  # System.Decimal.MaxValue


class Kind(Enum):
    INT32 = ("System.Int32", -(2**31), 2**31 - 1)
    INT64 = ("System.Int64", -(2**63), 2**63 - 1)
    BOOL = ("System.Boolean", 0, 0)
    STRING = ("System.String", 0, 0)
    DECIMAL = ("System.Decimal", 0, 0)
    DATETIME = ("System.DateTime", 0, 0)
    OBJECT = ("System.Object", 0, 0)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    fields: tuple[Field, ...] = ()  # members of an OBJECT field


class BadRequestError(Exception):
    """A body that does not bind; rendered as ProblemDetails."""

    def __init__(self, errors: dict[str, list[str]], status: int = 400) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status

    def response(self) -> web.Response:
        if self.status == 415:
            body: dict[str, Any] = {
                "type": PROBLEM_TYPE_415,
                "title": "Unsupported Media Type",
                "status": 415,
            }
        else:
            body = {
                "type": PROBLEM_TYPE_400,
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": self.errors,
            }
        body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
        return web.Response(
            status=self.status,
            body=orjson.dumps(body),
            content_type="application/problem+json",
            charset="utf-8",
        )


def _conversion_error(path: str, kind: Kind) -> str:
    return (
        f"The JSON value could not be converted to {kind.value[0]}. "
        f"Path: {path} | LineNumber: 0 | BytePositionInLine: 0."
    )


def _convert(value: Any, kind: Kind) -> tuple[bool, Any]:
    """(ok, converted) for a non-null JSON value."""
    if kind in (Kind.INT32, Kind.INT64):
        ok = (
            isinstance(value, int) and not isinstance(value, bool) and kind.value[1] <= value <= kind.value[2]
        )
        return ok, value
    if kind == Kind.BOOL:
        return isinstance(value, bool), value
    if kind == Kind.STRING:
        return isinstance(value, str), value
    if kind == Kind.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, None
        number = Decimal(str(value))
        return abs(number) <= DECIMAL_MAX, number
    if kind == Kind.DATETIME:
        if not isinstance(value, str):
            return False, None
        try:
            moment: datetime = parse_timestamp(value)
        except ValueError:
            return False, None
        return True, moment
    return isinstance(value, dict), value


def bind(data: Any, fields: tuple[Field, ...], prefix: str = "") -> dict[str, Any]:
    """Bind a decoded JSON object to `fields`; collects every error before raising BadRequestError."""
    errors: dict[str, list[str]] = {}
    result = _bind(data, fields, prefix, errors)
    if errors:
        raise BadRequestError(errors)
    return result


def _bind(data: Any, fields: tuple[Field, ...], prefix: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if not isinstance(data, dict):
        errors.setdefault(f"${prefix}", []).append(_conversion_error(f"${prefix}", Kind.OBJECT))
        return result
    for field in fields:
        path = f"${prefix}.{field.name}"
        value = data.get(field.name)
        if value is None:
            if field.required and (field.kind in (Kind.STRING, Kind.OBJECT) or field.name not in data):
                key = f"{prefix[1:]}.{field.name}" if prefix else field.name
                errors.setdefault(key, []).append(f"The {field.name} field is required.")
            elif field.required:
                errors.setdefault(path, []).append(_conversion_error(path, field.kind))
            result[field.name] = None
            continue
        ok, converted = _convert(value, field.kind)
        if not ok:
            errors.setdefault(path, []).append(_conversion_error(path, field.kind))
            continue
        if field.kind == Kind.OBJECT and field.fields:
            converted = _bind(value, field.fields, f"{prefix}.{field.name}", errors)
        result[field.name] = converted
    return result


def decode_body(raw: bytes, content_type: str, fields: tuple[Field, ...]) -> dict[str, Any]:
    """Decode and bind a request body; an endpoint without required fields accepts no body."""
    if not raw.strip():
        if any(f.required for f in fields):
            raise BadRequestError({"": ["A non-empty request body is required."]})
        return {f.name: None for f in fields}
    if content_type not in JSON_CONTENT_TYPES and not content_type.endswith("+json"):
        raise BadRequestError({}, status=415)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequestError(
            {
                "$": ["The request body is not valid JSON. Path: $ | LineNumber: 0 | BytePositionInLine: 0."],
                "request": ["The request field is required."],
            }
        ) from None
    return bind(data, fields)
