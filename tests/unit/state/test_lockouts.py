"""MOD-002 lockout manager: one record per (account, rule), never shortened, inclusive expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.domain.enums import ClearedBy, LockoutKind
from simple_risk_manager.domain.models import Lockout
from simple_risk_manager.state.lockouts import LockoutManager, TradingStatus

ACCOUNT = 4411
NOW = datetime(2025, 10, 15, 19, 5, tzinfo=UTC)  # Wed 14:05 CT
RESET = datetime(2025, 10, 15, 22, 0, tzinfo=UTC)  # Wed 17:00 CT


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def reset_lock(manager: LockoutManager, until: datetime = RESET, rule: str = "RULE-003",
               now: datetime = NOW) -> Lockout:
    change = manager.lock(ACCOUNT, rule, LockoutKind.RESET, "daily loss", until, now=now)
    assert change.current is not None
    return change.current


# --- creation, ids, persistence lists ---------------------------------------------------------

def test_lock_creates_a_record_with_its_own_id() -> None:
    manager = LockoutManager()
    change = manager.lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "daily realized loss 550.00", RESET,
                          now=NOW)
    assert change.changed
    (record,) = change.created
    assert record == change.current
    assert (record.lockout_id, record.rule_id, record.kind, record.locked_at, record.locked_until) == (
        1, "RULE-003", "reset", NOW, RESET)
    assert change.to_persist == (record,)
    assert manager.is_locked(ACCOUNT, NOW)


def test_ids_continue_after_the_highest_loaded_or_stored_id() -> None:
    manager = LockoutManager()
    stored = Lockout(account_id=ACCOUNT, rule_id="RULE-010", kind="condition", reason="canTrade false",
                     locked_at=NOW, locked_until=None, created_at=NOW, updated_at=NOW, lockout_id=12)
    manager.load([stored], last_id=40)  # id 40 belongs to a cleared record kept for retention
    created = manager.lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "loss", RESET, now=NOW).created
    assert created[0].lockout_id == 41
    manager.load([stored])
    created = manager.lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "loss", RESET, now=NOW).created
    assert created[0].lockout_id == 13


def test_load_rejects_rows_that_break_the_invariants() -> None:
    base = Lockout(account_id=ACCOUNT, rule_id="RULE-003", kind="reset", reason="loss", locked_at=NOW,
                   locked_until=RESET, created_at=NOW, updated_at=NOW, lockout_id=1)
    manager = LockoutManager()
    with pytest.raises(ValueError, match="both uncleared"):
        manager.load([base, replace(base, lockout_id=2)])
    with pytest.raises(ValueError, match="is cleared"):
        manager.load([replace(base, cleared_at=NOW, cleared_by="ADMIN")])
    with pytest.raises(ValueError, match="no lockout_id"):
        manager.load([replace(base, lockout_id=None)])


@pytest.mark.parametrize(("kind", "until"), [
    pytest.param(LockoutKind.CONDITION, RESET, id="condition-with-time"),
    pytest.param(LockoutKind.RESET, None, id="reset-without-time"),
])
def test_locked_until_is_null_exactly_for_condition(kind: LockoutKind, until: datetime | None) -> None:
    with pytest.raises(ValueError, match="exactly for condition"):
        LockoutManager().lock(ACCOUNT, "RULE-003", kind, "x", until, now=NOW)


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        LockoutManager().lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "x", RESET, now=datetime(2025, 10, 15))


def test_a_request_already_over_records_nothing() -> None:
    manager = LockoutManager()
    change = manager.lock(ACCOUNT, "RULE-007", LockoutKind.DURATION, "late", NOW, now=NOW)
    assert not change.changed
    assert change.current is None
    assert not manager.is_locked(ACCOUNT, NOW)


# --- never shortened (D-05) -------------------------------------------------------------------

def test_a_shorter_request_changes_nothing() -> None:
    manager = LockoutManager()
    first = manager.cooldown(ACCOUNT, "RULE-006", "per hour", 1800, NOW).current
    change = manager.cooldown(ACCOUNT, "RULE-006", "per minute", 60, at(10))
    assert not change.changed
    assert change.current == first


def test_a_longer_request_extends_the_record_and_takes_its_kind_and_reason() -> None:
    manager = LockoutManager()
    first = manager.cooldown(ACCOUNT, "RULE-006", "4 trades in 60 s", 60, NOW).current
    assert first is not None
    change = manager.lock(ACCOUNT, "RULE-006", LockoutKind.RESET, "51 trades today", RESET, now=at(20))
    (extended,) = change.extended
    assert not change.created and not change.cleared
    assert (extended.lockout_id, extended.kind, extended.reason, extended.locked_until) == (
        first.lockout_id, "reset", "51 trades today", RESET)
    assert (extended.locked_at, extended.updated_at) == (NOW, at(20))


def test_rule007_cooldowns_never_stack_they_only_extend() -> None:
    manager = LockoutManager()
    manager.cooldown(ACCOUNT, "RULE-007", "tier 200", 900, NOW)
    change = manager.cooldown(ACCOUNT, "RULE-007", "tier 100", 300, at(500))  # ends at 800 < 900
    assert not change.changed
    change = manager.cooldown(ACCOUNT, "RULE-007", "tier 300", 1800, at(500))
    assert change.current is not None and change.current.locked_until == at(2300)


def test_no_end_beats_any_time() -> None:
    manager = LockoutManager()
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.RESET, "timed", RESET, now=NOW)
    change = manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    assert change.extended and change.extended[0].locked_until is None
    assert change.extended[0].kind == "condition"
    assert not manager.lock(ACCOUNT, "RULE-010", LockoutKind.RESET, "timed", RESET, now=NOW).changed
    assert not manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "again", None, now=NOW).changed


def test_records_of_different_rules_coexist() -> None:
    manager = LockoutManager()
    reset_lock(manager)
    manager.cooldown(ACCOUNT, "RULE-007", "loss 120.00", 300, NOW)
    assert [r.rule_id for r in manager.active(ACCOUNT, NOW)] == ["RULE-003", "RULE-007"]
    assert not manager.is_locked(ACCOUNT + 1, NOW)


_requests = st.lists(
    st.tuples(st.sampled_from([LockoutKind.RESET, LockoutKind.SESSION, LockoutKind.DURATION,
                               LockoutKind.CONDITION]),
              st.integers(min_value=1, max_value=100_000),  # seconds until the requested end
              st.integers(min_value=0, max_value=50)),  # seconds the clock moves before the request
    min_size=1, max_size=30)


@given(_requests)
def test_effective_end_never_decreases_while_the_record_lives(
        requests: list[tuple[LockoutKind, int, int]]) -> None:
    manager = LockoutManager()
    now = NOW
    previous: Lockout | None = None
    for kind, seconds, step in requests:
        now += timedelta(seconds=step)
        until = None if kind is LockoutKind.CONDITION else now + timedelta(seconds=seconds)
        change = manager.lock(ACCOUNT, "RULE-006", kind, f"{kind} {seconds}", until, now=now)
        current = change.current
        assert current is not None and current.is_active(now)
        assert len(manager.active(ACCOUNT, now)) == 1
        if previous is not None and previous.is_active(now):
            assert current.lockout_id == previous.lockout_id
            if previous.locked_until is None:
                assert current.locked_until is None
            elif current.locked_until is not None:
                assert current.locked_until >= previous.locked_until
            assert current.locked_until is None or until is None or current.locked_until >= until
        previous = current


# --- expiry is inclusive ----------------------------------------------------------------------

def test_expiry_exactly_at_locked_until() -> None:
    manager = LockoutManager()
    record = manager.cooldown(ACCOUNT, "RULE-007", "loss", 300, NOW).current
    assert record is not None
    assert manager.is_locked(ACCOUNT, at(299.999999))
    assert not manager.is_locked(ACCOUNT, at(300))
    assert not manager.expire_due(at(299.999999)).changed
    change = manager.expire_due(at(300))
    assert [(r.lockout_id, r.cleared_by, r.cleared_at) for r in change.cleared] == [
        (record.lockout_id, ClearedBy.TIMER_EXPIRY, at(300))]
    assert manager.records() == []


def test_expire_due_clears_session_and_duration_but_not_reset_or_condition() -> None:
    manager = LockoutManager()
    reset_lock(manager, until=at(60))
    manager.lock(ACCOUNT, "RULE-009", LockoutKind.SESSION, "outside session", at(60), now=NOW)
    manager.cooldown(ACCOUNT, "RULE-007", "loss", 60, NOW)
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    change = manager.expire_due(at(3600))
    assert sorted(r.rule_id for r in change.cleared) == ["RULE-007", "RULE-009"]
    assert [r.rule_id for r in manager.records()] == ["RULE-003", "RULE-010"]  # reset one waits for the reset
    assert [r.rule_id for r in manager.active(ACCOUNT, at(3600))] == ["RULE-010"]


def test_an_over_record_is_cleared_before_a_new_one_is_created() -> None:
    manager = LockoutManager()
    old = manager.cooldown(ACCOUNT, "RULE-007", "first", 60, NOW).current
    assert old is not None and old.lockout_id is not None
    change = manager.cooldown(ACCOUNT, "RULE-007", "second", 60, at(60))
    assert [(r.lockout_id, r.cleared_by) for r in change.cleared] == [
        (old.lockout_id, ClearedBy.TIMER_EXPIRY)]
    assert change.created[0].lockout_id == old.lockout_id + 1
    assert change.to_persist == change.cleared + change.created  # clear first: partial unique index


def test_an_over_reset_record_is_cleared_as_daily_reset() -> None:
    manager = LockoutManager()
    reset_lock(manager)
    next_reset = RESET + timedelta(days=1)
    change = manager.lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "loss again", next_reset, now=RESET)
    assert [r.cleared_by for r in change.cleared] == [ClearedBy.DAILY_RESET]
    assert change.created[0].locked_until == next_reset


# --- daily reset, unlock --------------------------------------------------------------------

def test_daily_reset_clears_only_due_reset_records() -> None:
    manager = LockoutManager()
    reset_lock(manager)  # until this reset
    reset_lock(manager, until=RESET + timedelta(days=1), rule="RULE-006", now=RESET - timedelta(seconds=1))
    manager.lock(ACCOUNT, "RULE-009", LockoutKind.SESSION, "outside", RESET + timedelta(hours=15), now=NOW)
    manager.cooldown(ACCOUNT, "RULE-007", "loss", 4 * 3600, NOW)  # runs past the reset
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    change = manager.reset_clear(ACCOUNT, RESET, now=RESET)
    assert [(r.rule_id, r.cleared_by) for r in change.cleared] == [("RULE-003", ClearedBy.DAILY_RESET)]
    assert [r.rule_id for r in manager.active(ACCOUNT, RESET)] == ["RULE-006", "RULE-009", "RULE-007",
                                                                   "RULE-010"]
    assert not manager.reset_clear(ACCOUNT + 1, RESET, now=RESET).changed


def test_rule010_example2_unlock_clears_only_its_own_record() -> None:
    manager = LockoutManager()
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    reset_lock(manager)
    change = manager.unlock(ACCOUNT, "RULE-010", ClearedBy.CAN_TRADE_RESTORED, at(60))
    assert [(r.rule_id, r.cleared_by) for r in change.cleared] == [("RULE-010", ClearedBy.CAN_TRADE_RESTORED)]
    assert manager.is_locked(ACCOUNT, at(60))  # still locked until 17:00 by RULE-003
    assert not manager.unlock(ACCOUNT, "RULE-010", ClearedBy.CAN_TRADE_RESTORED, at(61)).changed


# --- effective record and trading state --------------------------------------------------------

def test_effective_is_the_condition_record_else_the_one_ending_last() -> None:
    manager = LockoutManager()
    assert manager.effective(ACCOUNT, NOW) is None
    reset_lock(manager)
    manager.cooldown(ACCOUNT, "RULE-007", "loss", 60, NOW)
    assert manager.effective(ACCOUNT, NOW).rule_id == "RULE-003"  # type: ignore[union-attr]
    manager.cooldown(ACCOUNT, "RULE-006", "frequency", 86_400, NOW)
    assert manager.effective(ACCOUNT, NOW).rule_id == "RULE-006"  # type: ignore[union-attr]
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    assert manager.effective(ACCOUNT, NOW).rule_id == "RULE-010"  # type: ignore[union-attr]


def test_trading_state_follows_the_effective_record_kind() -> None:
    manager = LockoutManager()
    assert manager.trading_state(ACCOUNT, NOW).status is TradingStatus.ACTIVE
    manager.cooldown(ACCOUNT, "RULE-007", "single-trade loss 120.00", 300, NOW)
    state = manager.trading_state(ACCOUNT, NOW)
    assert (state.status, state.rule_id, state.reason, state.until, state.active_count) == (
        TradingStatus.COOLDOWN, "RULE-007", "single-trade loss 120.00", at(300), 1)
    reset_lock(manager)
    state = manager.trading_state(ACCOUNT, NOW)
    assert (state.status, state.rule_id, state.until, state.active_count) == (
        TradingStatus.LOCKED, "RULE-003", RESET, 2)
    manager.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    state = manager.trading_state(ACCOUNT, NOW)
    assert (state.status, state.kind, state.until) == (TradingStatus.LOCKED, LockoutKind.CONDITION, None)
    assert manager.trading_state(ACCOUNT, RESET).status is TradingStatus.LOCKED  # condition has no end


def test_cooldown_seconds_must_be_positive_integers() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        LockoutManager().cooldown(ACCOUNT, "RULE-007", "x", 0, NOW)
