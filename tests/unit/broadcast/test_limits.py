"""Per-client limits (`broadcast-api.md` §1, §2), subscriptions (§4.2), Origin (§9) and the client's
reconnect ladder (§8, B8)."""

from __future__ import annotations

import random

import pytest

from simple_risk_manager.broadcast.admission import origin_allowed
from simple_risk_manager.broadcast.client import reconnect_delay
from simple_risk_manager.broadcast.inbound_guard import InboundGuard
from simple_risk_manager.broadcast.subscription import Subscription


def test_five_messages_per_second_then_refusals_that_do_not_count():
    guard = InboundGuard()
    assert [guard.admit(10.0 + i * 0.1) for i in range(7)] == [True] * 5 + [False] * 2
    assert not guard.admit(10.99)
    assert guard.admit(11.0), "the first message is a second old: it leaves the window"
    assert not guard.admit(11.05)


def test_the_eleventh_error_within_sixty_seconds_is_one_too_many():
    guard = InboundGuard()
    assert not any(guard.note_error(float(t)) for t in range(10))
    assert guard.note_error(59.0)


def test_errors_leave_the_window_after_sixty_seconds():
    guard = InboundGuard()
    assert not any(guard.note_error(float(t)) for t in range(10))
    assert not guard.note_error(60.0), "the error at t=0 has left the window"


@pytest.mark.parametrize(("subscription", "account", "covered"), [
    (Subscription.nothing(), 4411, False),
    (Subscription.all_accounts(), 4411, True),
    (Subscription.of([4411]), 4411, True),
    (Subscription.of([4411]), 4412, False),
])
def test_subscription_covers(subscription, account, covered):
    assert subscription.covers(account) is covered


@pytest.mark.parametrize(("subscription", "holders", "covered"), [
    (Subscription.all_accounts(), set(), False),
    (Subscription.all_accounts(), {4499}, True),
    (Subscription.of([4411, 4412]), {4412, 4413}, True),
    (Subscription.of([4411]), {4412}, False),
    (Subscription.nothing(), {4411}, False),
])
def test_subscription_covers_any_holder(subscription, holders, covered):
    assert subscription.covers_any(holders) is covered


@pytest.mark.parametrize(("origins", "allowed"), [
    ([], True),
    (["http://127.0.0.1:8765"], True),
    (["http://localhost:8765"], True),
    (["http://127.0.0.1:8766"], False),
    (["https://127.0.0.1:8765"], False),
    (["http://LOCALHOST:8765"], False),
    (["http://evil.example"], False),
    (["null"], False),
    (["http://127.0.0.1:8765", "http://127.0.0.1:8765"], False),
])
def test_origin_allowed(origins, allowed):
    assert origin_allowed(origins, 8765) is allowed


def test_reconnect_ladder_is_1_2_4_8_then_10_seconds_with_20_percent_jitter():
    rng = random.Random(7)
    nominal = [1, 2, 4, 8, 10, 10, 10]
    for attempt, expected in enumerate(nominal):
        for _ in range(50):
            assert expected * 0.8 <= reconnect_delay(attempt, rng) <= expected * 1.2
    spread = {round(reconnect_delay(0, rng), 3) for _ in range(50)}
    assert len(spread) > 10, "jittered, not fixed"
