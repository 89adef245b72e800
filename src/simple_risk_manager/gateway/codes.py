"""Per-endpoint `errorCode` names (`gateway-api.md` §1.3, §1.4, §2.x), kept as data.

The same number means different things on different endpoints (the two close enums are even shifted
against each other), so a code is only meaningful together with its endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_ACCOUNT_NOT_FOUND = ("Success", "AccountNotFound")

_NAMES: dict[str, tuple[str, ...]] = {
    "/api/Auth/loginKey": (
        "Success", "UserNotFound", "PasswordVerificationFailed", "InvalidCredentials", "AppNotFound",
        "AppVerificationFailed", "InvalidDevice", "AgreementsNotSigned", "UnknownError",
        "ApiSubscriptionNotFound", "ApiKeyAuthenticationDisabled",
    ),
    "/api/Auth/validate": ("Success", "InvalidSession", "SessionNotFound", "ExpiredToken", "UnknownError"),
    "/api/Auth/logout": ("Success", "InvalidSession", "UnknownError"),
    "/api/Account/search": ("Success",),
    "/api/Contract/search": ("Success",),
    "/api/Contract/available": ("Success",),
    "/api/Contract/searchById": ("Success", "ContractNotFound"),
    "/api/Position/searchOpen": _ACCOUNT_NOT_FOUND,
    "/api/Position/closeContract": (
        "Success", "AccountNotFound", "PositionNotFound", "ContractNotFound", "ContractNotActive",
        "OrderRejected", "OrderPending", "UnknownError", "AccountRejected",
    ),
    "/api/Position/partialCloseContract": (
        "Success", "AccountNotFound", "PositionNotFound", "ContractNotFound", "ContractNotActive",
        "InvalidCloseSize", "OrderRejected", "OrderPending", "UnknownError", "AccountRejected",
    ),
    "/api/Order/place": (
        "Success", "AccountNotFound", "OrderRejected", "InsufficientFunds", "AccountViolation",
        "OutsideTradingHours", "OrderPending", "UnknownError", "ContractNotFound", "ContractNotActive",
        "AccountRejected",
    ),
    "/api/Order/cancel": (
        "Success", "AccountNotFound", "OrderNotFound", "Rejected", "Pending", "UnknownError",
        "AccountRejected",
    ),
    "/api/Order/modify": (
        "Success", "AccountNotFound", "OrderNotFound", "Rejected", "Pending", "UnknownError",
        "AccountRejected", "ContractNotFound",
    ),
    "/api/Order/search": _ACCOUNT_NOT_FOUND,
    "/api/Order/searchOpen": _ACCOUNT_NOT_FOUND,
    "/api/Trade/search": _ACCOUNT_NOT_FOUND,
}

ERROR_CODES: Mapping[str, Mapping[int, str]] = MappingProxyType(
    {endpoint: MappingProxyType(dict(enumerate(names))) for endpoint, names in _NAMES.items()}
)
"""endpoint path → errorCode → name."""


def error_code_name(endpoint: str, code: int) -> str:
    """The endpoint's name for `code`, or ``Unknown(<n>)`` for a code its table does not list."""
    return ERROR_CODES.get(endpoint, {}).get(code, f"Unknown({code})")
