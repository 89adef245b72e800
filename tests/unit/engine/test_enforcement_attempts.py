"""MOD-001's retry policy: what each gateway answer means, and how many attempts with which delays."""

from __future__ import annotations

import pytest

from simple_risk_manager.engine.attempts import RetryPolicy, Verdict, attempt, judge, may_have_acted
from simple_risk_manager.gateway.base import (
    BadRequest,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    RateLimited,
    Unauthorized,
)

CLOSE, PARTIAL = "/api/Position/closeContract", "/api/Position/partialCloseContract"
CANCEL, PLACE, MODIFY = "/api/Order/cancel", "/api/Order/place", "/api/Order/modify"

ANSWERS = [
    (CLOSE, 2, "PositionNotFound", Verdict.ALREADY_DONE),
    (CLOSE, 6, "OrderPending", Verdict.RETRY),
    (CLOSE, 8, "AccountRejected", Verdict.REFUSED),
    (CLOSE, 5, "OrderRejected", Verdict.FAILED),
    (PARTIAL, 2, "PositionNotFound", Verdict.ALREADY_DONE),
    (PARTIAL, 5, "InvalidCloseSize", Verdict.FAILED),
    (PARTIAL, 7, "OrderPending", Verdict.RETRY),
    (PARTIAL, 9, "AccountRejected", Verdict.REFUSED),
    (CANCEL, 2, "OrderNotFound", Verdict.ALREADY_DONE),
    (CANCEL, 3, "Rejected", Verdict.ALREADY_DONE),
    (CANCEL, 4, "Pending", Verdict.RETRY),
    (CANCEL, 5, "UnknownError", Verdict.FAILED),
    (CANCEL, 6, "AccountRejected", Verdict.REFUSED),
    (PLACE, 2, "OrderRejected", Verdict.FAILED),
    (PLACE, 6, "OrderPending", Verdict.RETRY),
    (MODIFY, 2, "OrderNotFound", Verdict.FAILED),
    (MODIFY, 4, "Pending", Verdict.RETRY),
]


@pytest.mark.parametrize(("endpoint", "code", "name", "verdict"), ANSWERS,
                         ids=[f"{e.rsplit('/', 1)[1]}-{n}" for e, _, n, _ in ANSWERS])
def test_each_endpoint_code_has_its_verdict(endpoint: str, code: int, name: str, verdict: Verdict) -> None:
    error = GatewayRejected(endpoint, code, None)
    assert error.code_name == name, "the code table of gateway/codes.py"
    assert judge(error) is verdict


@pytest.mark.parametrize(("error", "verdict", "acted"), [
    (GatewayUnavailable(CLOSE, "timed out after 10 s"), Verdict.RETRY, True),
    (GatewayUnavailable(CLOSE, "server error HTTP 503", status=503), Verdict.RETRY, True),
    (RateLimited(CLOSE), Verdict.RETRY, False),
    (Unauthorized(CLOSE), Verdict.FAILED, False),
    (BadRequest(PLACE, "One or more validation errors occurred.", {"size": ("must be > 0",)}), Verdict.FAILED,
     False),
    (GatewayRejected(CLOSE, 8, "live account"), Verdict.REFUSED, False),
], ids=["timeout", "5xx", "429", "401", "400", "refused"])
def test_transport_failures_are_retried_and_only_timeouts_and_5xx_may_have_acted(
        error: GatewayError, verdict: Verdict, acted: bool) -> None:
    assert judge(error) is verdict
    assert may_have_acted(error) is acted


class Script:
    """A call that fails with the scripted errors, then returns its value; it counts its calls."""

    def __init__(self, *errors: GatewayError, value: int = 7) -> None:
        self.errors = list(errors)
        self.value = value
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.value


@pytest.fixture
def delays() -> list[float]:
    return []


@pytest.fixture
def policy(delays: list[float]) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)
    return RetryPolicy(max_attempts=3, delay_s=2.0, sleep=sleep)


def server_error() -> GatewayUnavailable:
    return GatewayUnavailable(CLOSE, "server error HTTP 500", status=500)


async def test_two_failures_then_success_take_three_attempts_two_seconds_apart(policy: RetryPolicy,
                                                                               delays: list[float]) -> None:
    call = Script(server_error(), GatewayRejected(CLOSE, 6, None))
    result = await attempt(call, policy)
    assert (result.verdict, result.attempts, result.value, result.ok) == (Verdict.OK, 3, 7, True)
    assert delays == [2.0, 2.0]


async def test_the_last_failure_is_reported_after_max_attempts(policy: RetryPolicy,
                                                               delays: list[float]) -> None:
    last = server_error()
    call = Script(server_error(), server_error(), last, server_error())
    result = await attempt(call, policy)
    assert (result.verdict, result.attempts, result.error, call.calls) == (Verdict.FAILED, 3, last, 3)
    assert delays == [2.0, 2.0]


async def test_a_smaller_attempt_budget_is_respected(policy: RetryPolicy) -> None:
    call = Script(server_error(), server_error())
    result = await attempt(call, policy, max_attempts=1)
    assert (result.verdict, result.attempts, call.calls) == (Verdict.FAILED, 1, 1)


@pytest.mark.parametrize(("error", "verdict"), [
    (GatewayRejected(CLOSE, 2, None), Verdict.ALREADY_DONE),
    (GatewayRejected(CANCEL, 6, "copy-trading follower"), Verdict.REFUSED),
    (GatewayRejected(PLACE, 2, "bad stop price"), Verdict.FAILED),
])
async def test_final_answers_are_not_retried(policy: RetryPolicy, delays: list[float], error: GatewayError,
                                             verdict: Verdict) -> None:
    call = Script(error)
    result = await attempt(call, policy)
    assert (result.verdict, result.attempts, call.calls, delays) == (verdict, 1, 1, [])
    assert result.ok is (verdict is Verdict.ALREADY_DONE)


async def test_a_recheck_that_finds_the_effect_stops_the_retries(policy: RetryPolicy) -> None:
    seen: list[GatewayError] = []

    async def found(error: GatewayError) -> int | None:
        seen.append(error)
        return 42

    timeout = GatewayUnavailable(PLACE, "timed out after 10 s")
    call = Script(timeout)
    result = await attempt(call, policy, recheck=found)
    assert (result.verdict, result.value, call.calls, seen) == (Verdict.OK, 42, 1, [timeout])


async def test_a_recheck_that_finds_nothing_lets_the_call_repeat(policy: RetryPolicy) -> None:
    async def nothing(_: GatewayError) -> int | None:
        return None

    call = Script(GatewayUnavailable(PLACE, "timed out after 10 s"))
    result = await attempt(call, policy, recheck=nothing)
    assert (result.verdict, result.value, call.calls) == (Verdict.OK, 7, 2)
