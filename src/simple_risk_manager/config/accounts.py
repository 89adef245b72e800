"""`accounts.yaml`: gateway login(s), monitored accounts, per-account overrides (`config.md` §3).

API keys are `SecretStr`, so neither a repr nor a dump of these models shows them. `risk_overrides`
is kept as the raw mapping here; the loader merges it over `rules` and validates the result (§3.3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Final

from pydantic import Field, SecretStr

from simple_risk_manager.config.base import ConfigModel, required
from simple_risk_manager.config.fields import (
    AccountId,
    ApiKey,
    ApiUrl,
    Flag,
    HttpUrl,
    ListOf,
    LoginName,
    Nickname,
    NotNull,
    TimeOfDay,
    Version,
    ZoneName,
)
from simple_risk_manager.config.issues import Problem

DEFAULT_API_URL: Final = "https://api.topstepx.com"
DEFAULT_USER_HUB_URL: Final = "https://rtc.topstepx.com/hubs/user"
DEFAULT_MARKET_HUB_URL: Final = "https://rtc.topstepx.com/hubs/market"

_NOT_USED = "not used, the gateway authenticates with username + api_key"
_LOGIN_LEGACY = {"password": _NOT_USED, "api_secret": _NOT_USED}
_SETTINGS_MOVED = "not used here: connection settings live in daemon.yaml"
_SETTINGS_LEGACY = {"settings": _SETTINGS_MOVED, "global_settings": _SETTINGS_MOVED}


class GatewayLogin(ConfigModel):
    """The shared `topstepx` block: one platform login used by every account without its own."""

    username: LoginName = required("missing; the platform login name (or ${PROJECT_X_USERNAME}) is required")
    api_key: ApiKey = required("missing; the platform API key (or ${PROJECT_X_API_KEY}) is required")
    api_url: ApiUrl = DEFAULT_API_URL
    user_hub_url: HttpUrl = DEFAULT_USER_HUB_URL
    market_hub_url: HttpUrl = DEFAULT_MARKET_HUB_URL

    legacy_keys: ClassVar[Mapping[str, str]] = {**_LOGIN_LEGACY, **_SETTINGS_LEGACY}


class AccountEntry(ConfigModel):
    account_id: AccountId = required("missing; the gateway's numeric account id is required")
    enabled: Flag = True
    nickname: Annotated[Nickname | None, NotNull] = None
    username: Annotated[LoginName | None, NotNull] = None
    api_key: Annotated[ApiKey | None, NotNull] = None
    reset_time: Annotated[TimeOfDay | None, NotNull] = None
    timezone: Annotated[ZoneName | None, NotNull] = None
    risk_overrides: dict[str, Any] = Field(default_factory=dict)

    legacy_keys: ClassVar[Mapping[str, str]] = _LOGIN_LEGACY

    @property
    def has_own_login(self) -> bool:
        return self.username is not None and self.api_key is not None

    def problems(self) -> Iterator[Problem]:
        if (self.username is None) != (self.api_key is None):
            yield Problem((), "username and api_key must be given together")


class AccountsFile(ConfigModel):
    version: Version = 1
    topstepx: Annotated[GatewayLogin | None, NotNull] = None
    accounts: Annotated[tuple[AccountEntry, ...], ListOf] = required(
        "missing; list the accounts to monitor (at least one)")

    legacy_keys: ClassVar[Mapping[str, str]] = _SETTINGS_LEGACY

    def problems(self) -> Iterator[Problem]:
        if not self.accounts:
            yield Problem(("accounts",), "at least one account is required", [])
            return
        if not any(account.enabled for account in self.accounts):
            yield Problem(("accounts",), "at least one account must be enabled")
        first: dict[int, int] = {}
        for index, account in enumerate(self.accounts):
            if account.account_id in first:
                yield Problem(("accounts", index, "account_id"),
                              f"duplicate of accounts[{first[account.account_id]}]", account.account_id)
            else:
                first[account.account_id] = index
        if self.topstepx is None and any(a.enabled and not a.has_own_login for a in self.accounts):
            yield Problem(("topstepx",), "missing; the shared login is required unless every enabled account "
                                         "has its own username and api_key")

    def login_for(self, account: AccountEntry) -> tuple[str, SecretStr] | None:
        """The (username, api_key) this account authenticates with: its own, else the shared one."""
        if account.username is not None and account.api_key is not None:
            return account.username, account.api_key
        if self.topstepx is not None:
            return self.topstepx.username, self.topstepx.api_key
        return None
