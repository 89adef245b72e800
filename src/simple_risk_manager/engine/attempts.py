"""MOD-001's retry policy for one broker call (`modules.md` MOD-001 "Outcome handling", D-52).

Up to `max_attempts` attempts `retry_delay_seconds` apart, retried only on HTTP 429/5xx/timeouts
(`GatewayUnavailable`) and the endpoint's own "pending" code. "Already done" answers (PositionNotFound
on a close, OrderNotFound on a cancel, and a cancel's `Rejected`, which the gateway answers for an
order that exists but is no longer open) are a success of their own kind; `AccountRejected` is a
refusal the caller falls back from (D-30). Everything else fails at once.
These are the only retries of an enforcement call: the client sends them with `urgent=True`, so it
neither retries nor holds them back itself (a 401 is still answered by one fresh login there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from simple_risk_manager.gateway.base import GatewayError, GatewayRejected, GatewayUnavailable, RateLimited

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]

#: Per endpoint, the errorCode names that mean "the goal is already reached".
_ALREADY_DONE = {
    "/api/Position/closeContract": frozenset({"PositionNotFound"}),
    "/api/Position/partialCloseContract": frozenset({"PositionNotFound"}),
    "/api/Order/cancel": frozenset({"OrderNotFound", "Rejected"}),
}
#: The endpoints' "pending" codes (`gateway-api.md` §5.5): the request may succeed when repeated.
_PENDING = frozenset({"OrderPending", "Pending"})
#: The gateway refuses this kind of call for the account (live or copy-follower accounts).
_REFUSED = frozenset({"AccountRejected"})


class Verdict(StrEnum):
    OK = "ok"
    ALREADY_DONE = "already_done"
    REFUSED = "refused"
    RETRY = "retry"
    FAILED = "failed"


def judge(error: GatewayError) -> Verdict:
    """What MOD-001 does with a failed call: retry it, count it as done, fall back, or give up."""
    if isinstance(error, GatewayUnavailable):
        return Verdict.RETRY
    if isinstance(error, GatewayRejected):
        name = error.code_name
        if name in _ALREADY_DONE.get(error.endpoint, frozenset()):
            return Verdict.ALREADY_DONE
        if name in _PENDING:
            return Verdict.RETRY
        if name in _REFUSED:
            return Verdict.REFUSED
    return Verdict.FAILED


def may_have_acted(error: GatewayError) -> bool:
    """A timeout or 5xx leaves a write's effect unknown; a 429 or a rejection means it did not act."""
    return isinstance(error, GatewayUnavailable) and not isinstance(error, RateLimited)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    delay_s: float
    sleep: Sleep


@dataclass(frozen=True, slots=True)
class Attempted(Generic[T]):
    """How a call ended after its attempts; `error` is the last failure (None on success)."""

    verdict: Verdict
    attempts: int
    value: T | None = None
    error: GatewayError | None = None

    @property
    def ok(self) -> bool:
        return self.verdict in (Verdict.OK, Verdict.ALREADY_DONE)


async def attempt(call: Callable[[], Awaitable[T]], policy: RetryPolicy, *, max_attempts: int | None = None,
                  recheck: Callable[[GatewayError], Awaitable[T | None]] | None = None) -> Attempted[T]:
    """Run `call` under the policy (at most `max_attempts` of it when given).

    `recheck`, called before each retry with the last error, looks whether that attempt took effect
    after all (e.g. a placed order whose reply was lost); a value it returns ends the retries as OK.
    """
    limit = policy.max_attempts if max_attempts is None else min(max_attempts, policy.max_attempts)
    tries = 0
    while True:
        tries += 1
        try:
            return Attempted(Verdict.OK, tries, value=await call())
        except GatewayError as error:
            verdict = judge(error)
            if verdict is not Verdict.RETRY or tries >= limit:
                final = Verdict.FAILED if verdict is Verdict.RETRY else verdict
                return Attempted(final, tries, error=error)
            await policy.sleep(policy.delay_s)
            if recheck is not None:
                found = await recheck(error)
                if found is not None:
                    return Attempted(Verdict.OK, tries, value=found)
