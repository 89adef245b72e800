"""Session tokens: JWT-shaped (HS256 with a local secret), carrying `sub` and `exp` (§1.5).

Clients read `exp` to schedule their refresh, so the token must be a real JWT; the lifetime is a
switch so tests can watch a token expire within seconds. Tokens can also be revoked (logout, the
"expire a token" fault, and optionally `validate`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str  # the user id, as a string
    exp: int
    iat: int
    jti: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))


class TokenIssuer:
    """Issues and verifies tokens; `lifetime` is read on every issue so a switch applies at once."""

    def __init__(
        self,
        secret: bytes,
        lifetime: Callable[[], float],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._clock = clock
        self._serial = itertools.count(1)
        self._revoked: set[str] = set()
        self._issued: dict[str, list[str]] = {}

    def issue(self, sub: str) -> str:
        now = self._clock()
        jti = f"{next(self._serial)}-{secrets.token_hex(4)}"
        # exp is whole seconds (JWT NumericDate); rounding up keeps a 1 s lifetime usable.
        exp = int(now + self._lifetime() + 0.999)
        claims = {"sub": sub, "exp": exp, "iat": int(now), "jti": jti}
        body = f"{_HEADER}.{_b64(orjson.dumps(claims))}"
        self._issued.setdefault(sub, []).append(jti)
        return f"{body}.{_b64(self._sign(body))}"

    def verify(self, token: str) -> Claims | None:
        """The claims of a valid, unexpired, unrevoked token; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        header, payload, signature = parts
        try:
            if not hmac.compare_digest(_unb64(signature), self._sign(f"{header}.{payload}")):
                return None
            data = orjson.loads(_unb64(payload))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict):
            return None
        sub, exp, iat, jti = data.get("sub"), data.get("exp"), data.get("iat"), data.get("jti")
        if not (
            isinstance(sub, str) and isinstance(exp, int) and isinstance(iat, int) and isinstance(jti, str)
        ):
            return None
        if jti in self._revoked or exp <= self._clock():
            return None
        return Claims(sub=sub, exp=exp, iat=iat, jti=jti)

    def revoke(self, token: str) -> bool:
        """Invalidate one token (logout, fault injection); False if it was not valid."""
        claims = self.verify(token)
        if claims is None:
            return False
        self._revoked.add(claims.jti)
        return True

    def revoke_subject(self, sub: str) -> int:
        """Invalidate every token issued so far to one user; returns how many were not yet revoked."""
        jtis = self._issued.pop(sub, [])
        fresh = [j for j in jtis if j not in self._revoked]
        self._revoked.update(jtis)
        return len(fresh)

    def revoke_all(self) -> int:
        return sum(self.revoke_subject(sub) for sub in list(self._issued))

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest()
