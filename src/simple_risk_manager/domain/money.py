"""Money and prices are `Decimal`: exact in memory, plain decimal text on disk (`storage.md` §2, S18)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO = Decimal(0)


def to_decimal(value: object) -> Decimal:
    """Wire number (int, float from orjson, or text) → `Decimal` via `str`, so 0.1 stays 0.1.

    Rejects bools, NaN and infinities: a price that is not a finite number is bad input.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def decimal_text(value: Decimal) -> str:
    """`Decimal` → `-193.32`, `21000.125`: no exponent, no separators; reads back exactly."""
    return format(value, "f")


def to_json_number(value: Decimal) -> float | int:
    """JSON number for broadcasts: an int when integral, else the nearest float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
