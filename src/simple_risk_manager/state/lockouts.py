"""MOD-002 Lockout Manager: lockout records per (account, rule), never shortened (D-05).

Plain object without I/O. Every mutation returns a `LockChange` listing exactly the records to persist
(clears first, so the partial unique index of `storage.md` §3.1 holds) and to broadcast; an empty change
means nothing happened. The manager hands out `lockout_id`s itself, so the store inserts with explicit
ids and expiry timers (`lockout:<id>`) can be armed without waiting for the database.

Only uncleared records are held; a cleared record leaves memory with the change that reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from simple_risk_manager.domain.enums import ClearedBy, LockoutKind
from simple_risk_manager.domain.models import Lockout
from simple_risk_manager.domain.times import ensure_utc

#: Kinds that end by their own expiry timer (`TIMER_EXPIRY`); `reset` records end with the daily
#: reset (D-39) and `condition` records by RULE-010's UNLOCK.
TIMED_KINDS = frozenset({LockoutKind.SESSION, LockoutKind.DURATION})


class TradingStatus(StrEnum):
    """Account trading state (architecture principle 4), derived from the effective record's kind."""

    ACTIVE = "ACTIVE"
    COOLDOWN = "COOLDOWN"  # the effective record is a `duration` record (RULE-006/-007 cooldowns)
    LOCKED = "LOCKED"  # the effective record is a `reset`, `session` or `condition` record


@dataclass(frozen=True, slots=True)
class TradingState:
    """What a dashboard shows: status, and for a locked account the effective record's rule and end."""

    status: TradingStatus
    rule_id: str | None = None
    reason: str | None = None
    kind: LockoutKind | None = None
    until: datetime | None = None  # None while ACTIVE, and for a condition lock (no end time)
    lockout_id: int | None = None
    active_count: int = 0


@dataclass(frozen=True, slots=True)
class LockChange:
    """Records to persist and broadcast, plus the rule's record after a `lock` request."""

    created: tuple[Lockout, ...] = ()
    extended: tuple[Lockout, ...] = ()
    cleared: tuple[Lockout, ...] = ()
    current: Lockout | None = None

    @property
    def changed(self) -> bool:
        return bool(self.created or self.extended or self.cleared)

    @property
    def to_persist(self) -> tuple[Lockout, ...]:
        """Write order: clears before inserts, so at most one uncleared record per (account, rule)."""
        return self.cleared + self.created + self.extended


def _ends_later(candidate: datetime | None, existing: datetime | None) -> bool:
    """Does `candidate` end strictly later? No end (condition) beats any time."""
    if existing is None:
        return False
    return candidate is None or candidate > existing


def _natural_clear(record: Lockout) -> ClearedBy:
    """How a record that is over gets cleared: the daily reset owns `reset` records (D-39)."""
    return ClearedBy.DAILY_RESET if record.kind == LockoutKind.RESET else ClearedBy.TIMER_EXPIRY


def _cleared(record: Lockout, by: ClearedBy, now: datetime) -> Lockout:
    return replace(record, cleared_at=now, cleared_by=by, updated_at=now)


class LockoutManager:
    def __init__(self) -> None:
        self._records: dict[int, dict[str, Lockout]] = {}  # account → rule → its uncleared record
        self._last_id = 0

    # --- startup ---------------------------------------------------------------------------------

    def load(self, records: Iterable[Lockout], last_id: int = 0) -> None:
        """Replace the held records with the uncleared rows of `lockouts`.

        `last_id` is the highest `lockout_id` in the table, cleared rows included, so new ids never
        collide with a cleared record that is still kept for retention.
        """
        loaded: dict[int, dict[str, Lockout]] = {}
        highest = last_id
        for record in records:
            if record.lockout_id is None:
                raise ValueError(f"lockouts: record {record.rule_id} of account {record.account_id} "
                                 "has no lockout_id")
            if record.cleared_at is not None:
                raise ValueError(f"lockouts: record {record.lockout_id} is cleared; load only uncleared rows")
            rules = loaded.setdefault(record.account_id, {})
            if record.rule_id in rules:
                raise ValueError(f"lockouts: records {rules[record.rule_id].lockout_id} and "
                                 f"{record.lockout_id} are both uncleared for account {record.account_id} "
                                 f"and {record.rule_id}")
            rules[record.rule_id] = replace(record, kind=LockoutKind(record.kind))
            highest = max(highest, record.lockout_id)
        self._records = loaded
        self._last_id = highest

    # --- mutations -------------------------------------------------------------------------------

    def lock(self, account_id: int, rule_id: str, kind: LockoutKind, reason: str,
             locked_until: datetime | None, *, now: datetime) -> LockChange:
        """Create or extend the rule's record; never shortens it (the later end wins, no end beats all).

        The kind and reason follow whichever request set the effective end. A request that is already
        over (`locked_until ≤ now`) records nothing. A record of the rule that is over but not yet
        cleared is cleared in the same change before the new one is created.
        """
        kind = LockoutKind(kind)
        if not rule_id:
            raise ValueError("lock: rule_id must be a non-empty string")
        if (locked_until is None) != (kind is LockoutKind.CONDITION):
            raise ValueError(f"lock {rule_id}: locked_until must be None exactly for condition lockouts "
                             f"(kind {kind.value}, locked_until {locked_until!r})")
        now = ensure_utc(now)
        until = None if locked_until is None else ensure_utc(locked_until)
        rules = self._records.setdefault(account_id, {})
        existing = rules.get(rule_id)
        if until is not None and until <= now:
            return LockChange(current=existing if existing is not None and existing.is_active(now) else None)

        cleared: tuple[Lockout, ...] = ()
        if existing is not None and not existing.is_active(now):
            cleared = (_cleared(existing, _natural_clear(existing), now),)
            existing = None
        if existing is None:
            self._last_id += 1
            record = Lockout(account_id=account_id, rule_id=rule_id, kind=kind, reason=reason, locked_at=now,
                             locked_until=until, created_at=now, updated_at=now, lockout_id=self._last_id)
            rules[rule_id] = record
            return LockChange(created=(record,), cleared=cleared, current=record)
        if not _ends_later(until, existing.locked_until):
            return LockChange(current=existing)
        record = replace(existing, kind=kind, reason=reason, locked_until=until, updated_at=now)
        rules[rule_id] = record
        return LockChange(extended=(record,), current=record)

    def cooldown(self, account_id: int, rule_id: str, reason: str, seconds: int, now: datetime) -> LockChange:
        """A `duration` lock until `now + seconds`; extends a shorter cooldown, never stacks."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            raise ValueError(f"cooldown {rule_id}: seconds must be a positive integer (got {seconds!r})")
        now = ensure_utc(now)
        until = now + timedelta(seconds=seconds)
        return self.lock(account_id, rule_id, LockoutKind.DURATION, reason, until, now=now)

    def unlock(self, account_id: int, rule_id: str, cleared_by: ClearedBy, now: datetime) -> LockChange:
        """Clear this rule's active record only; other rules' records stay (RULE-010 UNLOCK)."""
        now = ensure_utc(now)
        rules = self._records.get(account_id, {})
        record = rules.get(rule_id)
        if record is None or not record.is_active(now):
            return LockChange()
        del rules[rule_id]
        return LockChange(cleared=(_cleared(record, ClearedBy(cleared_by), now),))

    def expire_due(self, now: datetime) -> LockChange:
        """Clear `session`/`duration` records whose end has been reached (`TIMER_EXPIRY`), all accounts."""
        now = ensure_utc(now)
        return self._clear_where(self._records, lambda r: r.kind in TIMED_KINDS and not r.is_active(now),
                                 ClearedBy.TIMER_EXPIRY, now)

    def reset_clear(self, account_id: int, reset_at: datetime, now: datetime) -> LockChange:
        """Daily reset: clear the account's `reset` records ending at or before `reset_at` (`DAILY_RESET`)."""
        reset_at, now = ensure_utc(reset_at), ensure_utc(now)
        scope = {account_id: self._records[account_id]} if account_id in self._records else {}
        def covered(record: Lockout) -> bool:
            return (record.kind == LockoutKind.RESET and record.locked_until is not None
                    and record.locked_until <= reset_at)

        return self._clear_where(scope, covered, ClearedBy.DAILY_RESET, now)

    @staticmethod
    def _clear_where(scope: dict[int, dict[str, Lockout]], matches: Callable[[Lockout], bool],
                     by: ClearedBy, now: datetime) -> LockChange:
        cleared: list[Lockout] = []
        for rules in scope.values():
            for rule_id, record in list(rules.items()):
                if matches(record):
                    del rules[rule_id]
                    cleared.append(_cleared(record, by, now))
        return LockChange(cleared=tuple(sorted(cleared, key=_by_id)))

    # --- queries ---------------------------------------------------------------------------------

    def active(self, account_id: int, now: datetime) -> list[Lockout]:
        """The account's active records (not cleared, end not reached), oldest id first."""
        now = ensure_utc(now)
        return sorted((r for r in self._records.get(account_id, {}).values() if r.is_active(now)), key=_by_id)

    def is_locked(self, account_id: int, now: datetime) -> bool:
        return bool(self.active(account_id, now))

    def effective(self, account_id: int, now: datetime) -> Lockout | None:
        """The record shown to traders: a condition record if any, else the one ending last."""
        active = self.active(account_id, now)
        if not active:
            return None
        timed: list[tuple[datetime, int, Lockout]] = []
        for record in active:
            if record.locked_until is None:
                return record
            timed.append((record.locked_until, _by_id(record), record))
        return max(timed, key=lambda entry: entry[:2])[2]

    def trading_state(self, account_id: int, now: datetime) -> TradingState:
        """ACTIVE, or COOLDOWN/LOCKED after the effective record (COOLDOWN only for a `duration` one)."""
        active = self.active(account_id, now)
        record = self.effective(account_id, now)
        if record is None:
            return TradingState(status=TradingStatus.ACTIVE)
        kind = LockoutKind(record.kind)
        return TradingState(
            status=TradingStatus.COOLDOWN if kind is LockoutKind.DURATION else TradingStatus.LOCKED,
            rule_id=record.rule_id, reason=record.reason, kind=kind, until=record.locked_until,
            lockout_id=record.lockout_id, active_count=len(active))

    def records(self) -> list[Lockout]:
        """Every uncleared record of every account, by id (startup timer arming, snapshots)."""
        return sorted((r for rules in self._records.values() for r in rules.values()), key=_by_id)


def _by_id(record: Lockout) -> int:
    return record.lockout_id or 0

