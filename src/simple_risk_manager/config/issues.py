"""Configuration problems and their one-line form (`config.md` §1).

Every problem is reported as `<file>: <dotted.path>: <message> (got <value>)`; `(got …)` appears only
when the problem is a value that is present. Values are rendered the way they read in YAML, so the
user recognises what they wrote, and secrets are rendered as `<redacted>` — by key name (`api_key`)
and for every value that came from the environment — so no error text can ever carry one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from simple_risk_manager.domain.money import decimal_text

PathPart = str | int
Path = tuple[PathPart, ...]

REDACTED: Final = "<redacted>"
SECRET_KEYS: Final = frozenset({"api_key", "api_secret", "password", "token"})
_MAX_SHOWN: Final = 80


class _NoValue:
    """Marks a problem about something absent (a missing or unknown key): no `(got …)`."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()


class SecretText(str):
    """A string from the environment (or another secret source): always rendered as `<redacted>`."""

    __slots__ = ()


class Verbatim(str):
    """A description of the value written as-is, e.g. `11 tiers`, instead of the value itself."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem found by a model, with its path relative to that model."""

    path: Path
    message: str
    value: object = NO_VALUE

    def under(self, prefix: Path) -> Problem:
        return Problem(prefix + self.path, self.message, self.value)


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One reported line: an error (the daemon does not start) or a warning (it starts anyway)."""

    file: str
    path: str
    message: str
    got: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.path:
            parts.append(self.path)
        text = ": ".join([*parts, self.message])
        return text if self.got is None else f"{text} (got {self.got})"

    @classmethod
    def of(cls, file: str, problem: Problem) -> ConfigIssue:
        got = None if problem.value is NO_VALUE else render_value(problem.value, problem.path)
        return cls(file, format_path(problem.path), problem.message, got)

    def scrubbed(self, secrets: Iterable[str]) -> ConfigIssue:
        """Backstop: no secret text survives, whatever produced the message."""
        message, got = self.message, self.got
        for secret in secrets:
            message = message.replace(secret, REDACTED)
            got = None if got is None else got.replace(secret, REDACTED)
        return ConfigIssue(self.file, self.path, message, got)


class ConfigError(Exception):
    """The configuration is invalid: every error of every file, plus the warnings found on the way."""

    def __init__(self, errors: Sequence[ConfigIssue], warnings: Sequence[ConfigIssue] = ()) -> None:
        self.errors = tuple(errors)
        self.warnings = tuple(warnings)
        super().__init__("\n".join(str(issue) for issue in self.errors))


def format_path(path: Path) -> str:
    """`("accounts", 0, "account_id")` → `accounts[0].account_id`."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def render_value(value: object, path: Path = ()) -> str:
    """The value as YAML shows it (`"yes"`, `5.0`, `-500`, `true`, `null`), secrets redacted."""
    if path and isinstance(path[-1], str) and path[-1] in SECRET_KEYS:
        return REDACTED
    text = _render(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _render(value: object) -> str:
    if isinstance(value, SecretText):
        return REDACTED
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, str):
        return _quoted(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int | date):
        return str(value)
    if isinstance(value, Mapping):
        items = (
            f"{k if isinstance(k, str) else _render(k)}: {REDACTED if k in SECRET_KEYS else _render(v)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    return _quoted(str(value))


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
