"""Login and token lifetime for one credential set (`gateway-api.md` §1.3–1.5, `daemon.md` §7).

One `AuthSession` per distinct (username, API key): `loginKey` once, the token shared by every
account of that login and by its hubs. The token's `exp` is read from the JWT payload (no signature
check: we only schedule with it). Renewal goes through `validate` (its `newToken`) and falls back to a
fresh `loginKey`; every renewal after the first login is announced so hubs reconnect with the new token
(a hub checks its token only at connect).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from simple_risk_manager.clock import Clock
from simple_risk_manager.gateway.backoff import full_jitter_delay
from simple_risk_manager.gateway.base import (
    AuthenticationFailed,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    Unauthorized,
)
from simple_risk_manager.gateway.ratelimit import RequestBudget

log = logging.getLogger(__name__)

LOGIN_KEY = "/api/Auth/loginKey"
VALIDATE = "/api/Auth/validate"
#: The refresh task also wakes hourly, so a wall-clock jump cannot make it oversleep (`daemon.md` §7).
HOURLY_CHECK_S = 3600.0
REFRESH_RETRY_CAP_S = 60.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """One platform login. The key never appears in a repr, a log line or an error."""

    username: str
    api_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username or not self.api_key:
            raise ValueError("Credentials: username and api_key must both be non-empty")


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT as a UTC datetime, or None when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(segment))
        exp = claims["exp"] if isinstance(claims, dict) else None
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            return None
        return datetime.fromtimestamp(exp, UTC)
    except (ValueError, KeyError, OverflowError, OSError):
        return None


def refresh_instant(issued_at: datetime, expires_at: datetime | None, refresh_after: timedelta) -> datetime:
    """When to renew: `refresh_after` after issue or at 5/6 of the lifetime, whichever is first.

    A token already expired at issue (clock skew) is renewed at once; one without a readable `exp`
    is renewed after `refresh_after`.
    """
    candidates = [issued_at + refresh_after]
    if expires_at is not None:
        lifetime = expires_at - issued_at
        candidates.append(issued_at + lifetime * 5 / 6 if lifetime > timedelta(0) else issued_at)
    return min(candidates)


@dataclass(frozen=True, slots=True)
class Token:
    value: str = field(repr=False)
    issued_at: datetime
    expires_at: datetime | None
    refresh_at: datetime


class AuthTransport(Protocol):
    """The REST layer as auth needs it: one logical call returning the envelope's JSON object."""

    async def send(self, endpoint: str, body: Mapping[str, Any] | None, *, token: str | None,
                   budget: RequestBudget | None, urgent: bool = False) -> dict[str, Any]: ...


class AuthSession:
    """Token holder of one login; single-flight login so concurrent 401s cause one `loginKey`."""

    def __init__(self, credentials: Credentials, transport: AuthTransport, clock: Clock, *,
                 refresh_after: timedelta = timedelta(hours=20), budget: RequestBudget | None = None,
                 rng: random.Random | None = None) -> None:
        self._credentials = credentials
        self._transport = transport
        self._clock = clock
        self._refresh_after = refresh_after
        self.budget = budget or RequestBudget(clock)
        self._rng = rng or random.Random()
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def login(self) -> str:
        return self._credentials.username

    def uses(self, credentials: Credentials) -> bool:
        """Whether `credentials` are exactly this session's (same username and key)."""
        return credentials == self._credentials

    @property
    def current(self) -> Token | None:
        return self._token

    def add_listener(self, callback: Callable[[], None]) -> None:
        """`callback()` runs after every token change except the first login (hubs reconnect)."""
        self._listeners.append(callback)

    async def token(self) -> str:
        """The current token, logging in first when there is none."""
        token = self._token
        if token is None:
            async with self._lock:
                token = self._token or await self._login_locked()
        return token.value

    async def fresh_login(self) -> Token:
        """A fresh `loginKey`, whatever token is held (startup and `GatewayLogout`)."""
        async with self._lock:
            return await self._login_locked()

    async def relogin(self, stale: str) -> str:
        """After `stale` was refused: log in again, unless another caller already replaced it."""
        async with self._lock:
            current = self._token
            if current is not None and current.value != stale:
                return current.value
            return (await self._login_locked()).value

    async def refresh(self) -> Token:
        """Renew through `validate` (its `newToken`); fall back to `loginKey` whenever that fails."""
        async with self._lock:
            current = self._token
            if current is None:
                return await self._login_locked()
            try:
                reply = await self._transport.send(VALIDATE, None, token=current.value, budget=self.budget)
            except GatewayError as exc:
                log.info("login %s: validate failed (%s); logging in again", self.login, exc)
                return await self._login_locked()
            new_token = reply.get("newToken")
            if not isinstance(new_token, str) or not new_token:
                log.info("login %s: validate returned no newToken; logging in again", self.login)
                return await self._login_locked()
            return self._store(new_token)

    async def run_refresh(self) -> None:
        """Renew the token at each refresh instant, forever; network failures retry with backoff."""
        failures = 0
        while True:
            token = self._token
            delay = 0.0 if token is None else (token.refresh_at - self._clock.now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(min(delay, HOURLY_CHECK_S))
                continue
            try:
                await self.refresh()
                failures = 0
            except GatewayUnavailable as exc:
                wait = full_jitter_delay(failures, 1.0, REFRESH_RETRY_CAP_S, self._rng)
                failures += 1
                log.warning("login %s: token refresh failed (%s); retrying in %.1f s", self.login, exc, wait)
                await asyncio.sleep(wait)
            except AuthenticationFailed as exc:
                wait = REFRESH_RETRY_CAP_S
                log.error("login %s: token refresh refused (%s); retrying in %.0f s", self.login, exc, wait)
                await asyncio.sleep(wait)

    async def _login_locked(self) -> Token:
        body = {"userName": self._credentials.username, "apiKey": self._credentials.api_key}
        try:
            reply = await self._transport.send(LOGIN_KEY, body, token=None, budget=self.budget)
        except GatewayRejected as exc:
            raise AuthenticationFailed(self.login, LOGIN_KEY, "credentials rejected",
                                       exc.error_code) from None
        except Unauthorized:
            raise AuthenticationFailed(self.login, LOGIN_KEY, "credentials rejected (HTTP 401)") from None
        value = reply.get("token")
        if not isinstance(value, str) or not value:
            raise AuthenticationFailed(self.login, LOGIN_KEY, "success without a token")
        first = self._token is None
        token = self._store(value, announce=not first)
        log.info("login %s: logged in; token refresh due %s", self.login, token.refresh_at.isoformat())
        return token

    def _store(self, value: str, announce: bool = True) -> Token:
        now = self._clock.now()
        expires = jwt_expiry(value)
        self._token = Token(value, now, expires, refresh_instant(now, expires, self._refresh_after))
        if announce:
            for callback in self._listeners:
                callback()
        return self._token
