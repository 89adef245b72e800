"""The alert queue (cli.md §1.7): newest shows, the rest wait; a lifetime runs only while on screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simple_risk_manager.trader.alerts import Alert, AlertKind, AlertQueue

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alert(text: str, lifetime: float | None = 10.0, key: str | None = None) -> Alert:
    return Alert(AlertKind.ENFORCEMENT, text, T0, lifetime, key=key)


def test_the_newest_alert_shows_and_the_others_wait() -> None:
    queue = AlertQueue()
    queue.push(alert("first"), at(0))
    queue.push(alert("second"), at(1))
    assert queue.current() is not None and queue.current().text == "second"
    assert queue.waiting == 1


def test_an_alert_expires_after_its_lifetime_on_screen() -> None:
    queue = AlertQueue()
    queue.push(alert("only"), at(0))
    queue.tick(at(9.9))
    assert queue.current() is not None
    queue.tick(at(10))
    assert queue.current() is None


def test_a_waiting_alert_keeps_its_time_for_when_it_shows() -> None:
    queue = AlertQueue()
    queue.push(alert("first"), at(0))
    queue.tick(at(4))  # "first" has been on screen 4 s
    queue.push(alert("second"), at(4))
    queue.tick(at(14))  # "second" used its 10 s; "first" did not age meanwhile
    current = queue.current()
    assert current is not None and current.text == "first"
    queue.tick(at(19.9))
    assert queue.current() is not None
    queue.tick(at(20))
    assert queue.current() is None


def test_a_sticky_alert_stays_until_dismissed() -> None:
    queue = AlertQueue()
    queue.push(alert("failed", lifetime=None), at(0))
    queue.tick(at(3600))
    assert queue.current() is not None
    assert queue.dismiss() is not None
    assert queue.current() is None


def test_a_state_alert_is_replaced_and_resolved_by_its_key() -> None:
    queue = AlertQueue()
    queue.push(alert("lost", lifetime=None, key="connection"), at(0))
    queue.push(alert("lost again", lifetime=None, key="connection"), at(1))
    assert len(queue) == 1
    queue.resolve("connection")
    assert queue.current() is None


def test_dismissing_shows_the_next_one() -> None:
    queue = AlertQueue()
    queue.push(alert("first"), at(0))
    queue.push(alert("second"), at(0))
    queue.dismiss()
    current = queue.current()
    assert current is not None and current.text == "first"
    assert queue.waiting == 0
