"""Token refresh instants (daemon.md §7, D23), reconnect/retry delays and the request budget."""

import base64
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.gateway.auth import Credentials, jwt_expiry, refresh_instant
from simple_risk_manager.gateway.backoff import full_jitter_delay, hub_reconnect_delay
from simple_risk_manager.gateway.ratelimit import RequestBudget

T0 = datetime(2025, 11, 24, 12, 0, tzinfo=UTC)


def jwt(claims):
    def seg(obj):
        return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()
    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(claims)}.c2ln"


@pytest.mark.parametrize(
    ("name", "lifetime", "expected_age"),
    [
        ("24 h token: refreshed at 20 h (both bounds agree)", timedelta(hours=24), timedelta(hours=20)),
        ("48 h token: the 20 h age comes first", timedelta(hours=48), timedelta(hours=20)),
        ("12 h token: 5/6 of the lifetime comes first", timedelta(hours=12), timedelta(hours=10)),
        ("6 s test token: refreshed after 5 s", timedelta(seconds=6), timedelta(seconds=5)),
        ("already expired at receipt: refresh at once", timedelta(seconds=-5), timedelta(0)),
    ],
)
def test_refresh_instant_examples(name, lifetime, expected_age):
    assert refresh_instant(T0, T0 + lifetime, timedelta(hours=20)) == T0 + expected_age, name


def test_refresh_instant_without_exp_uses_the_configured_age():
    assert refresh_instant(T0, None, timedelta(hours=20)) == T0 + timedelta(hours=20)


@given(lifetime_s=st.integers(1, 10 * 86400), after_h=st.integers(1, 48))
def test_refresh_always_before_expiry_and_never_later_than_configured(lifetime_s, after_h):
    expires = T0 + timedelta(seconds=lifetime_s)
    at = refresh_instant(T0, expires, timedelta(hours=after_h))
    assert T0 < at < expires
    assert at <= T0 + timedelta(hours=after_h)


def test_jwt_expiry_is_read_from_the_payload():
    assert jwt_expiry(jwt({"sub": "421", "exp": 1764089731})) == datetime.fromtimestamp(1764089731, UTC)


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", jwt({"sub": "1"}), jwt({"exp": "soon"}),
                                   jwt({"exp": True}), jwt([1, 2]), jwt({"exp": 1e300})])
def test_unreadable_jwt_gives_no_expiry(token):
    assert jwt_expiry(token) is None


def test_credentials_repr_hides_the_key():
    creds = Credentials("trader1", "very-secret-key")
    assert "very-secret-key" not in repr(creds)
    with pytest.raises(ValueError, match="non-empty"):
        Credentials("trader1", "")


@pytest.mark.parametrize(("attempt", "nominal"), [(0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (6, 30),
                                                  (200, 30)])
def test_hub_backoff_ladder_with_twenty_percent_jitter(attempt, nominal):
    rng = random.Random(attempt)
    delays = [hub_reconnect_delay(attempt, 30.0, rng) for _ in range(500)]
    assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays)
    assert min(delays) < 0.85 * nominal and max(delays) > 1.15 * nominal  # the jitter is really used


def test_hub_backoff_honours_a_smaller_cap():
    assert all(hub_reconnect_delay(9, 5.0) <= 6.0 for _ in range(100))


@given(attempt=st.integers(0, 500), seed=st.integers(0, 2**32))
def test_full_jitter_bounds(attempt, seed):
    bound = min(8.0, 0.5 * 2.0**min(attempt, 64))
    assert 0.0 <= full_jitter_delay(attempt, 0.5, 8.0, random.Random(seed)) <= bound


def test_backoff_rejects_negative_attempts():
    with pytest.raises(ValueError, match="attempt"):
        hub_reconnect_delay(-1)


def test_budget_allows_the_limit_then_waits_for_the_oldest_to_leave_the_window():
    clock = ManualClock(T0)
    budget = RequestBudget(clock, limit=3, window=60.0)
    for _ in range(3):
        assert budget.wait_time() == 0
        budget.record()
        clock.advance(10)
    # sent at 0, 10, 20; now 30: room again when the first leaves the window at 60
    assert budget.wait_time() == pytest.approx(30.0)
    clock.advance(30)
    assert budget.wait_time() == 0 and budget.in_window() == 2


def test_enforcement_sends_count_but_never_wait():
    clock = ManualClock(T0)
    budget = RequestBudget(clock, limit=2, window=60.0)
    for _ in range(5):  # urgent calls overrun the budget without waiting
        budget.record()
    assert budget.in_window() == 5
    # an ordinary call now waits until only one of the five is left in the window
    assert budget.wait_time() == pytest.approx(60.0)


async def test_acquire_waits_then_counts():
    clock = ManualClock(T0)
    budget = RequestBudget(clock, limit=1, window=60.0)
    await budget.acquire()
    assert budget.in_window() == 1 and budget.wait_time() == pytest.approx(60.0)
    clock.advance(60)
    await budget.acquire()
    assert budget.in_window() == 1


def test_budget_rejects_nonsense():
    with pytest.raises(ValueError, match="limit"):
        RequestBudget(ManualClock(T0), limit=0)
