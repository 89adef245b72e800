"""Field types of the configuration files, each with the exact message of `config.md` §2–§4.

Every type is `Annotated[T, BeforeValidator(check)]`: the check does the whole job (type, range,
format) and raises one `PydanticCustomError` whose text is the user-facing message, so pydantic's own
wording never reaches the user. The `(got …)` part is added when the error is reported.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, NoReturn, TypeGuard, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BeforeValidator, SecretStr
from pydantic_core import PydanticCustomError

from simple_risk_manager.config.yaml_reader import UnquotedTime

ERROR_TYPE: Final = "srm_config"
DAY_NAMES: Final = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MONEY_MIN: Final = Decimal("0.01")
MONEY_MAX: Final = Decimal(1_000_000)

_HHMM: Final = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_ROOT: Final = re.compile(r"[A-Z0-9]{1,10}")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_ZONE_AREAS: Final = frozenset({
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic",
    "Australia", "Europe", "Indian", "Pacific",
})
# D-51: fixed-offset and legacy names point the user at the Area/Location name they mean.
_ZONE_SUGGESTIONS: Final = {
    **dict.fromkeys(("EST", "EDT", "EST5EDT", "US/EASTERN", "ET"), "America/New_York"),
    **dict.fromkeys(("CST", "CDT", "CST6CDT", "US/CENTRAL", "CT"), "America/Chicago"),
    **dict.fromkeys(("MST", "MDT", "MST7MDT", "US/MOUNTAIN", "MT"), "America/Denver"),
    **dict.fromkeys(("PST", "PDT", "PST8PDT", "US/PACIFIC", "PT"), "America/Los_Angeles"),
    **dict.fromkeys(("GMT", "Z", "ZULU", "UCT", "ETC/UTC", "ETC/GMT", "UNIVERSAL"), "UTC"),
}


def fail(message: str) -> NoReturn:
    """Raise the one error type the translator reads; the message goes through `{message}` untouched."""
    raise PydanticCustomError(ERROR_TYPE, "{message}", {"message": message})


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in_range(value: object, low: int, high: int | None) -> int:
    if not _is_int(value):
        fail("must be an integer")
    if value < low or (high is not None and value > high):
        if high is not None:
            fail(f"must be between {low} and {high}")
        fail("must be a positive integer" if low == 1 else f"must be at least {low}")
    return value


# --- scalars -------------------------------------------------------------------------------------

def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        fail("must be true or false")
    return value


def int_in(low: int, high: int | None = None) -> BeforeValidator:
    """An integer in `low … high` (no upper bound when `high` is None); 5.0 and "5" are refused."""

    return BeforeValidator(lambda value: _int_in_range(value, low, high))


def optional_int_in(low: int, high: int) -> BeforeValidator:
    """As `int_in`, or null (= "not checked")."""
    return BeforeValidator(lambda value: None if value is None else _int_in_range(value, low, high))


def _amount_text(value: Decimal) -> str:
    """500.0 → 500, 250.50 → 250.5: the number as a trader would write it."""
    return format(value.normalize(), "f")


def _money(value: object) -> Decimal:
    """int or float from YAML (a Decimal from code); stored as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        fail("must be an amount in dollars, e.g. 500")
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        fail("must be a finite amount")
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if amount < 0:
        magnitude = _amount_text(-amount)
        fail(f"must be a positive amount, write {magnitude} not -{magnitude}")
    if amount < MONEY_MIN:
        fail(f"must be at least {MONEY_MIN}")
    if amount > MONEY_MAX:
        fail(f"must be at most {_amount_text(MONEY_MAX)}")
    return amount


def choice(options: Any) -> BeforeValidator:
    """One of a `Literal`'s values, compared exactly (`Gross` is not `gross`)."""
    allowed: tuple[str, ...] = get_args(options)
    listed = ", ".join(allowed)

    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            fail(f"must be one of {listed}")
        return value

    return BeforeValidator(check)


def _time_of_day(value: object) -> str:
    if isinstance(value, UnquotedTime) or _is_int(value):
        fail('times must be quoted strings like "17:00"')
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        fail('must be a time "HH:MM" from "00:00" to "23:59"')
    return str(value)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Accepted zones (`UTC` and Area/Location names), keyed by lower case for suggestions."""
    names = {name for name in available_timezones() if name.split("/", 1)[0] in _ZONE_AREAS}
    names.add("UTC")
    return {name.lower(): name for name in names}


def _zone(value: object) -> str:
    if not isinstance(value, str):
        fail('must be an IANA time zone name, e.g. "America/Chicago"')
    known = _zone_names()
    if known.get(value.lower()) == value:
        ZoneInfo(value)  # the tz database is installed (tzdata); a load failure is a packaging bug
        return value
    example = _ZONE_SUGGESTIONS.get(value.upper()) or known.get(value.lower()) or "America/Chicago"
    fail(f'unknown IANA time zone "{value}", e.g. "{example}"')


def _iso_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    fail('must be a date "YYYY-MM-DD"')


def _symbol_root(value: object) -> str:
    if not isinstance(value, str) or not _ROOT.fullmatch(value):
        upper = value.upper() if isinstance(value, str) else ""
        hint = f', write "{upper}"' if _ROOT.fullmatch(upper) else ""
        fail(f'must be a symbol root of 1 to 10 upper-case letters or digits, e.g. "MNQ"{hint}')
    return str(value)


def _day_name(value: object) -> str:
    if not isinstance(value, str) or value not in DAY_NAMES:
        fail(f"must be one of {', '.join(DAY_NAMES)}")
    return str(value)


def _seconds_or_until_reset(value: object) -> int | Literal["until_reset"]:
    if value == "until_reset" and isinstance(value, str):
        return "until_reset"
    if not _is_int(value) or not 1 <= value <= 86_400:
        fail('must be a number of seconds from 1 to 86400, or "until_reset"')
    return value


def _version(value: object) -> int:
    if not _is_int(value):
        fail("must be an integer")
    if value != 1:
        fail("unsupported version, must be 1")
    return value


def _unknown_symbol_action(value: object) -> str:
    if value in ("block", "allow_unlimited") and isinstance(value, str):
        return value
    if isinstance(value, str) and value.startswith("allow_with_limit:"):
        count = value.removeprefix("allow_with_limit:")
        if count.isdigit() and int(count) >= 1:
            return f"allow_with_limit:{int(count)}"
    fail("must be block, allow_unlimited or allow_with_limit:N with a whole number N of at least 1")


# --- accounts.yaml -------------------------------------------------------------------------------

def _account_id(value: object) -> int:
    if isinstance(value, str):
        if value.strip().isdigit():
            fail("must be a number, write it without quotes")
        fail("must be the numeric account id, not the account name")
    if not _is_int(value):
        fail("must be an integer")
    if value <= 0:
        fail("must be a positive integer")
    return value


def _login_name(value: object) -> str:
    if not isinstance(value, str):
        fail("must be a text value (the platform login name)")
    if not value:
        fail("must not be empty")
    if value != value.strip():
        fail("must not start or end with spaces")
    return str(value)


def _api_key(value: object) -> SecretStr:
    if not isinstance(value, str):
        fail("must be a text value (the API key from the platform)")
    if not value:
        fail("must not be empty")
    if any(char.isspace() for char in value):
        fail("must not contain spaces or line breaks")
    return SecretStr(str(value))


def _nickname(value: object) -> str:
    if not isinstance(value, str):
        fail("must be a text value")
    if not value.strip():
        fail("must not be empty")
    if len(value) > 40:
        fail("must be at most 40 characters")
    return str(value)


def _http_url(value: object) -> str:
    if isinstance(value, str) and not any(char.isspace() for char in value):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return value.rstrip("/")
    fail('must be an http or https URL, e.g. "https://api.topstepx.com"')


def _api_url(value: object) -> str:
    url = _http_url(value)
    if url.lower().endswith("/api"):
        fail("must not end with /api, the client adds it")
    return url


# --- daemon.yaml / logging.yaml --------------------------------------------------------------

def _loopback_host(value: object) -> str:
    try:
        address = ipaddress.IPv4Address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        fail("must be an IPv4 loopback address (127.0.0.0/8), e.g. 127.0.0.1")
    return str(value)


def _console(value: object) -> bool | Literal["auto"]:
    if isinstance(value, bool):
        return value
    if value == "auto" and isinstance(value, str):
        return "auto"
    fail('must be "auto", true or false')


def _regex(value: object) -> str:
    if not isinstance(value, str):
        fail("must be a regular expression in quotes")
    try:
        re.compile(value)
    except re.error as exc:
        fail(f"not a valid regular expression: {exc}")
    return str(value)


def _not_null(value: object) -> object:
    if value is None:
        fail("must not be null; leave the key out to use the default")
    return value


def _list_of(value: object) -> tuple[object, ...]:
    """Lists become tuples (frozen models); the items are then validated one by one."""
    if not isinstance(value, list | tuple):
        fail("must be a list")
    return tuple(value)


Flag = Annotated[bool, BeforeValidator(_flag)]
Version = Annotated[int, BeforeValidator(_version)]
Money = Annotated[Decimal, BeforeValidator(_money)]
TimeOfDay = Annotated[str, BeforeValidator(_time_of_day)]
ZoneName = Annotated[str, BeforeValidator(_zone)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
SymbolRoot = Annotated[str, BeforeValidator(_symbol_root)]
DayName = Annotated[str, BeforeValidator(_day_name)]
SessionBreachCooldown = Annotated[int | Literal["until_reset"], BeforeValidator(_seconds_or_until_reset)]
UnknownSymbolAction = Annotated[str, BeforeValidator(_unknown_symbol_action)]
AccountId = Annotated[int, BeforeValidator(_account_id)]
LoginName = Annotated[str, BeforeValidator(_login_name)]
ApiKey = Annotated[SecretStr, BeforeValidator(_api_key)]
Nickname = Annotated[str, BeforeValidator(_nickname)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
ApiUrl = Annotated[str, BeforeValidator(_api_url)]
LoopbackHost = Annotated[str, BeforeValidator(_loopback_host)]
ConsoleMode = Annotated[bool | Literal["auto"], BeforeValidator(_console)]
Regex = Annotated[str, BeforeValidator(_regex)]
ListOf = BeforeValidator(_list_of)
# `Annotated[X | None, NotNull] = None`: the key may be left out (None), but `key: null` is refused (§2).
NotNull = BeforeValidator(_not_null)
