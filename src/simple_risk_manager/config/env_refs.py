"""`${VAR}` references and template placeholders in `accounts.yaml` (`config.md` §3.2).

Runs on the raw values before the schema: a string that is exactly `${NAME}` is replaced by the
environment variable, and the replacement is marked secret so no message can print it. How strictly
references are resolved depends on who reads the file: the daemon needs every secret, the template
check only reports what is missing, and the Admin CLI (whose shell lacks the service's secrets)
checks the references' form only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from simple_risk_manager.config.issues import NO_VALUE, Path, Problem, SecretText

_WHOLE_REFERENCE: Final = re.compile(r"\$\{([^{}]*)\}")
_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]*")
_LOGIN_KEYS: Final = frozenset({"username", "api_key"})


class EnvMode(Enum):
    REQUIRED = "required"        # the daemon: an enabled account's references must be set and non-empty
    OPTIONAL = "optional"        # the template check: unset references are warnings
    SYNTAX_ONLY = "syntax_only"  # the Admin CLI: references are checked for form and kept as written


@dataclass
class ResolvedValues:
    data: object
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)


def _is_placeholder(value: str) -> bool:
    """`YOUR_API_KEY_HERE`, `CHANGE_ME`: values a template ships with, never real credentials."""
    upper = value.strip().upper()
    return upper.startswith("YOUR_") or upper == "CHANGE_ME"


def resolve_env_refs(raw: object, env: Mapping[str, str], mode: EnvMode, *,
                     template: bool = False) -> ResolvedValues:
    """Resolve references; in a template, placeholders and unset variables are warnings."""
    resolver = _Resolver(raw, env, mode, template)
    resolver.result.data = resolver.walk(raw, ())
    return resolver.result


class _Resolver:
    def __init__(self, raw: object, env: Mapping[str, str], mode: EnvMode, template: bool) -> None:
        self.raw, self.env, self.mode, self.template = raw, env, mode, template
        self.result = ResolvedValues(raw)

    def walk(self, value: object, path: Path) -> object:
        if isinstance(value, dict):
            return {key: self.walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.walk(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str):
            return self.string(value, path)
        return value

    def string(self, value: str, path: Path) -> str:
        login_key = bool(path) and path[-1] in _LOGIN_KEYS
        if "${" in value:
            return self.reference(value, path)
        if login_key and path[-1] == "api_key":
            self.result.secrets.add(value)
        if login_key and _is_placeholder(value):
            what = "a real key" if path[-1] == "api_key" else "the platform login name"
            self.missing(path, f"template placeholder, set {what} or ${{VAR}}", value, soft=self.template)
        return value

    def reference(self, value: str, path: Path) -> str:
        match = _WHOLE_REFERENCE.fullmatch(value)
        if match is None:
            self.result.errors.append(Problem(path, "partial ${VAR} interpolation is not supported; "
                                                    'the whole value must be "${NAME}"', value))
            return value
        name = match.group(1)
        if not _NAME.fullmatch(name):
            self.result.errors.append(Problem(path, f'invalid environment variable name "{name}": use '
                                                    "upper-case letters, digits and _, not starting with a "
                                                    "digit", value))
            return value
        if self.mode is EnvMode.SYNTAX_ONLY:
            return value
        resolved = self.env.get(name)
        if resolved:
            self.result.secrets.add(resolved)
            return SecretText(resolved)
        state = "is not set" if resolved is None else "is empty"
        soft = self.template or self.mode is EnvMode.OPTIONAL
        self.missing(path, f"environment variable {name} {state}", soft=soft)
        return value

    def missing(self, path: Path, message: str, value: object = NO_VALUE, *, soft: bool) -> None:
        """A login value that is not usable yet: an error, but a warning when `soft` and for a disabled
        account, whose login is never used. (Malformed references are always errors.)"""
        if soft:
            self.result.warnings.append(Problem(path, message, value))
        elif self.disabled_account(path):
            self.result.warnings.append(Problem(path, message + " (account disabled, its login is not used)",
                                                value))
        else:
            self.result.errors.append(Problem(path, message, value))

    def disabled_account(self, path: Path) -> bool:
        if len(path) < 2 or path[0] != "accounts" or not isinstance(path[1], int):
            return False
        accounts = self.raw.get("accounts") if isinstance(self.raw, dict) else None
        entry = accounts[path[1]] if isinstance(accounts, list) and path[1] < len(accounts) else None
        return isinstance(entry, dict) and entry.get("enabled") is False
