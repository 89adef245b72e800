"""MOD-001 Enforcement Actions: the `Enforcer` that turns a merged plan into gateway calls.

`submit` never blocks: it journals what needs no broker (superseded decisions, UNLOCK, ALERT), drops
decisions an in-flight action already covers (`inflight.py`), registers the rest and runs each as an
asyncio task. Every state-changing call waits for the plan's lockout write to commit first (`modules.md`
MOD-002 "Persistence"); if that write failed or hangs beyond 5 s the failure is logged CRITICAL and the
calls go ahead anyway — a flatten must never be lost because SQLite failed, and the lockout still holds
in memory. Reads (`Order/searchOpen`, `Position/searchOpen`) change nothing at the broker, so they
start at once, in parallel with that commit.

Execution (`rules.md` §4, D-31, D-47, D-50):
- **Flatten** (CLOSE_ALL_AND_LOCKOUT, COOLDOWN, CLOSE_ALL_POSITIONS): cancel every working order of
  the local mirror and of `Order/searchOpen` except the daemon's own in-flight close orders (`RM-`
  stops included: no stop may outlive its position), then close every open position of the mirror and
  of `Position/searchOpen`, all concurrently, each attempted even when another fails. A contract
  whose close is already in flight elsewhere is waited for (and closed here if that close failed).
  Flattens arriving meanwhile are absorbed but make the running one do one more pass, so exposure that
  appeared after it listed orders and positions is not left behind.
- **CLOSE_POSITION**: the same for one contract. **REDUCE_TO_LIMIT**: `partialCloseContract`, or a
  close when the reduction is not smaller than the position. **REJECT_ORDER**: cancel; a fill of that
  order (or a refused cancel) closes the contract's position. **AUTO_STOP_LOSS**: place / modify /
  remove per RULE-012's `details["op"]`.
- **Confirmation**: a close or reduction is confirmed by a position event at the target size, else by
  `Position/searchOpen` 2 s after the request; an unconfirmed close is sent again within the attempts.
- **Reads** wait at most 1 s: they are ordinary calls (the client's request budget can hold them back),
  and past that the mirror alone decides, so a full budget never delays the enforcement calls.
- **Refusals** (`AccountRejected`): the position is closed instead and an ALERT
  row and broadcast explain it (D-30); the decision itself is FAILED (its orders still work).

Waits are timed by an injected `sleep` (default `asyncio.sleep`) so tests can compress them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from simple_risk_manager.clock import Clock
from simple_risk_manager.config.daemon_settings import EnforcementSettings
from simple_risk_manager.domain.enums import (
    TERMINAL_STATUSES,
    ClearedBy,
    EnforcementActionType,
    OrderSide,
    OrderStatus,
    OrderType,
)
from simple_risk_manager.domain.models import EnforcementAction, Order, Position
from simple_risk_manager.engine.attempts import (
    Attempted,
    RetryPolicy,
    Sleep,
    Verdict,
    attempt,
    may_have_acted,
)
from simple_risk_manager.engine.inflight import (
    STOP_MODIFY,
    STOP_PLACE,
    STOP_REMOVE,
    CancelWork,
    FlattenWork,
    InFlightRegistry,
    PlaceWork,
    PositionWork,
    PositionWorkKind,
)
from simple_risk_manager.engine.outcomes import OutcomeRecorder, Tally
from simple_risk_manager.engine.plan import EnforcementPlan
from simple_risk_manager.engine.ports import Broadcaster, Journal
from simple_risk_manager.gateway.base import Gateway, GatewayError, GatewayRejected

#: Operational lines (`daemon.log`); the audit lines of outcomes go to `outcomes.log` (`enforcement.log`).
log = logging.getLogger(__name__)

T = TypeVar("T")

#: A close not confirmed by a position event this long after its request is checked through REST.
CONFIRM_AFTER_S = 2.0
#: Longest wait for a REST read before enforcement goes on with the local mirror.
READ_WAIT_S = 1.0
#: Longest wait for the plan's lockout write before the broker calls go ahead regardless.
LOCKOUT_WRITE_WAIT_S = 5.0
#: `close()`: how long in-flight enforcement may finish at shutdown (`daemon.md` §3.1).
SHUTDOWN_WAIT_S = 5.0


class Mirror(Protocol):
    """The local state mirror (MOD-009, `state.StateManager`), read-only."""

    def positions(self, account_id: int) -> Sequence[Position]: ...

    def orders(self, account_id: int) -> Sequence[Order]: ...

    def order(self, account_id: int, order_id: int) -> Order | None: ...


def _cancellable(order: Order) -> bool:
    """Worth a cancel: not finished and not already being cancelled (unknown codes included)."""
    return order.status not in TERMINAL_STATUSES and order.status is not OrderStatus.PENDING_CANCELLATION


async def _race(task: asyncio.Future[Any], seconds: float, sleep: Sleep) -> bool:
    """Wait for `task` at most `seconds` (timed by `sleep`); True when it finished. Never cancels it."""
    if task.done():
        return True
    timer = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    return task.done()


class _LockoutCommit:
    """The plan's lockout write, awaited once before its first state-changing broker call."""

    def __init__(self, written: Future[None] | None, account_id: int, sleep: Sleep) -> None:
        self._written = written
        self._account_id = account_id
        self._sleep = sleep
        self._settled: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        if self._written is None:
            return
        if self._settled is None:
            self._settled = asyncio.ensure_future(self._settle(self._written))
        await asyncio.shield(self._settled)

    async def _settle(self, written: Future[None]) -> None:
        waiter = asyncio.wrap_future(written)
        waiter.add_done_callback(self._report)
        if not await _race(waiter, LOCKOUT_WRITE_WAIT_S, self._sleep):
            log.critical("account %d: lockout write not committed after %g s; enforcing anyway",
                         self._account_id, LOCKOUT_WRITE_WAIT_S, extra={"account_id": self._account_id})

    def _report(self, waiter: asyncio.Future[None]) -> None:
        error = None if waiter.cancelled() else waiter.exception()
        if error is not None:
            log.critical("account %d: lockout write failed (%r); enforcing anyway, the lockout holds only "
                         "in memory until the next write", self._account_id, error,
                         extra={"account_id": self._account_id})


@dataclass(slots=True)
class _Job:
    """One decision being enforced: the plan's lockout write, what it did so far, refused cancels."""

    action: EnforcementAction
    commit: _LockoutCommit
    tally: Tally
    refused: list[str] = field(default_factory=list)

    @property
    def account_id(self) -> int:
        return self.action.account_id


class Enforcer:
    """The `engine.ports.Enforcer` over a `Gateway`, a `Journal` and a `Broadcaster`.

    `run_id` makes the `customTag` of placed stops (`RM-<run_id>-<n>`, n counting per account) unique
    across restarts; `mirror` is the state mirror whose orders and positions join the REST answers.
    """

    def __init__(self, gateway: Gateway, journal: Journal, broadcaster: Broadcaster,
                 settings: EnforcementSettings, *, clock: Clock, run_id: str, mirror: Mirror | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if not run_id or any(c.isspace() for c in run_id):
            raise ValueError(f"Enforcer: run_id must be a non-empty string without spaces (got {run_id!r})")
        self._gateway = gateway
        self._clock = clock
        self._run_id = run_id
        self._mirror = mirror
        self._sleep = sleep
        self._dry_run = settings.dry_run
        self._policy = RetryPolicy(settings.max_attempts, float(settings.retry_delay_seconds), sleep)
        self._recorder = OutcomeRecorder(journal, broadcaster, clock)
        self._registry = InFlightRegistry(clock)
        self._stop_tags: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # --- the port --------------------------------------------------------------------------------

    def submit(self, plan: EnforcementPlan, lockouts_written: Future[None] | None) -> None:
        if self._closed:
            log.error("account %d: enforcement is closed; plan dropped", plan.account_id)
            return
        try:
            self._submit(plan, lockouts_written)
        except Exception:
            log.critical("account %d: enforcement could not start", plan.account_id, exc_info=True)

    def is_own_order(self, order: Order) -> bool:
        return self._registry.is_own_order(order)

    def observe_position(self, position: Position) -> None:
        self._registry.observe_position(position)

    def observe_order(self, order: Order) -> None:
        self._registry.observe_order(order)

    async def drain(self) -> None:
        """Wait until every enforcement in flight has finished (tests; shutdown uses `close`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, timeout_s: float = SHUTDOWN_WAIT_S) -> None:
        """Refuse new plans, let in-flight enforcement finish for `timeout_s`, then stop it (its row then
        says "outcome unknown")."""
        self._closed = True
        pending = set(self._tasks)
        if not pending:
            return
        _, unfinished = await asyncio.wait(pending, timeout=timeout_s)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    # --- dispatching a plan ------------------------------------------------------------------------

    def _submit(self, plan: EnforcementPlan, written: Future[None] | None) -> None:
        started = self._clock.monotonic()
        commit = _LockoutCommit(written, plan.account_id, self._sleep)
        for item in plan.superseded:
            self._recorder.superseded(item)
        for unlock in plan.unlocks:
            self._recorder.applied(unlock, cleared_by=ClearedBy.CAN_TRADE_RESTORED)
        for alert in plan.alerts:
            self._recorder.applied(alert)
        broker_actions = [a for a in (plan.flatten, *plan.contract_actions, *plan.rejects) if a is not None]
        for action in broker_actions:
            covered = self._registry.covering(action)
            if covered is not None:
                running = self._registry.flatten(action.account_id)
                if action.action.is_account_wide and running is not None:
                    running.rerun = True
                log.debug("%s %s account %d absorbed: %s", action.rule_id, action.action.value,
                          action.account_id, covered, extra={"account_id": action.account_id,
                                                             "rule_id": action.rule_id})
                continue
            if self._dry_run:
                self._recorder.dry_run(action)
                continue
            job = _Job(action, commit, Tally(started))
            body = self._register(job)
            if body is None:
                self._recorder.executed(action, job.tally)
            else:
                self._spawn(job, body)

    def _register(self, job: _Job) -> Awaitable[None] | None:
        """Register the decision in flight and return its enforcement; None (with the reason in the
        tally) when the decision lacks what its action needs."""
        registry, account, action = self._registry, job.account_id, job.action
        contract, kind = action.contract_id, action.action
        if kind.is_account_wide:
            return self._flatten(job, registry.start_flatten(account))
        if kind is EnforcementActionType.CLOSE_POSITION and contract is not None:
            held = self._mirror_position(account, contract)
            return self._close_position(job, registry.start_position_work(account, contract,
                                                                          PositionWorkKind.CLOSE, held))
        if kind is EnforcementActionType.REDUCE_TO_LIMIT and contract is not None and (action.size or 0) > 0:
            held = self._mirror_position(account, contract)
            as_close = held is not None and (action.size or 0) >= held.size
            work_kind = PositionWorkKind.CLOSE if as_close else PositionWorkKind.REDUCE
            return self._reduce(job, registry.start_position_work(account, contract, work_kind, held,
                                                                  action.size))
        if kind is EnforcementActionType.REJECT_ORDER and action.order_id is not None:
            known = self._mirror_order(account, action.order_id)
            return self._reject(job, registry.start_cancel(account, action.order_id, known))
        if kind is EnforcementActionType.AUTO_STOP_LOSS:
            return self._register_stop(job)
        job.tally.fail("not executed: the decision lacks the contract, order or size its action needs")
        return None

    def _register_stop(self, job: _Job) -> Awaitable[None] | None:
        action, account = job.action, job.account_id
        contract, order_id, op = action.contract_id, action.order_id, action.details.get("op")
        placeable = contract is not None and (action.size or 0) > 0 and action.stop_price is not None
        if op == STOP_PLACE and placeable and contract is not None:
            side_name = action.details.get("side")
            if side_name not in OrderSide.__members__:
                job.tally.fail(f"not executed: details['side'] must be BUY or SELL (got {side_name!r})")
                return None
            self._stop_tags[account] = self._stop_tags.get(account, 0) + 1
            tag = f"RM-{self._run_id}-{self._stop_tags[account]}"
            return self._place_stop(job, self._registry.start_place(account, contract, tag),
                                    OrderSide[str(side_name)])
        if op == STOP_MODIFY and order_id is not None:
            self._registry.note_modify(account, order_id)
            return self._modify_stop(job, order_id)
        if op == STOP_REMOVE and order_id is not None:
            known = self._mirror_order(account, order_id)
            return self._remove_stop(job, self._registry.start_cancel(account, order_id, known))
        job.tally.fail(f"not executed: AUTO_STOP_LOSS op {op!r} lacks what it needs (RULE-012 contract)")
        return None

    def _spawn(self, job: _Job, body: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(job, body),
                                                      name=f"enforce[{job.account_id}]")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, job: _Job, body: Awaitable[None]) -> None:
        """Run an enforcement and report it, whatever happens; nothing escapes into the event loop."""
        action, tally = job.action, job.tally
        try:
            await body
        except asyncio.CancelledError:
            tally.fail("outcome unknown: the daemon stopped before the enforcement finished")
            self._recorder.executed(action, tally)
            raise
        except Exception as exc:
            log.critical("%s %s account %d: enforcement crashed", action.rule_id, action.action.value,
                         action.account_id, exc_info=True)
            tally.fail(f"internal error: {exc!r}")
        self._recorder.executed(action, tally)

    # --- mirror and REST reads ---------------------------------------------------------------------

    def _mirror_positions(self, account_id: int) -> Sequence[Position]:
        return () if self._mirror is None else self._mirror.positions(account_id)

    def _mirror_orders(self, account_id: int) -> Sequence[Order]:
        return () if self._mirror is None else self._mirror.orders(account_id)

    def _mirror_position(self, account_id: int, contract_id: str) -> Position | None:
        return next((p for p in self._mirror_positions(account_id)
                     if p.contract_id == contract_id and p.size > 0), None)

    def _mirror_order(self, account_id: int, order_id: int) -> Order | None:
        return None if self._mirror is None else self._mirror.order(account_id, order_id)

    async def _replied(self, job: _Job, call: Awaitable[T]) -> T:
        """A broker call whose answer (or failure) time counts for `execution_time_ms`; a call given up
        on (cancelled) does not."""
        try:
            result = await call
        except GatewayError:
            job.tally.last_reply = self._clock.monotonic()
            raise
        job.tally.last_reply = self._clock.monotonic()
        return result

    def _read(self, job: _Job, call: Coroutine[Any, Any, list[T]]) -> asyncio.Task[list[T]]:
        """Start a REST read now; `_answer` collects it (a read left behind by a crash stays quiet)."""
        task = asyncio.ensure_future(self._replied(job, call))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task

    async def _answer(self, read: asyncio.Task[list[T]], what: str) -> list[T] | None:
        """The read's answer within `READ_WAIT_S`; None (logged) when it failed or is too slow."""
        if not await _race(read, READ_WAIT_S, self._sleep):
            read.cancel()
            log.warning("%s: no answer within %g s; going on with the local mirror", what, READ_WAIT_S)
            return None
        if read.cancelled():
            return None
        error = read.exception()
        if error is None:
            return read.result()
        if not isinstance(error, GatewayError):
            raise error
        log.warning("%s failed (%s); going on with the local mirror", what, error)
        return None

    def _open_positions(self, account_id: int, broker: Iterable[Position] | None) -> dict[str, Position]:
        """Mirror ∪ REST (REST wins for a contract both know)."""
        found = {p.contract_id: p for p in self._mirror_positions(account_id) if p.size > 0}
        found.update((p.contract_id, p) for p in broker or () if p.size > 0)
        return found

    # --- flatten and close -------------------------------------------------------------------------

    async def _flatten(self, job: _Job, work: FlattenWork) -> None:
        try:
            while True:
                work.rerun = False
                work.listed = False
                await self._flatten_pass(job, work)
                if not work.rerun:
                    break
                log.info("account %d: more activity during the flatten; one more pass", job.account_id,
                         extra={"account_id": job.account_id, "rule_id": job.action.rule_id})
            self._refusal_alert(job)
        finally:
            self._registry.end_flatten(work)

    async def _flatten_pass(self, job: _Job, work: FlattenWork) -> None:
        account = job.account_id
        orders_read = self._read(job, self._gateway.open_orders(account, urgent=True))
        positions_read = self._read(job, self._gateway.open_positions(account, urgent=True))
        await self._cancel_working(job, None, orders_read)
        broker_positions = await self._answer(positions_read, f"account {account}: Position/searchOpen")
        positions = self._open_positions(account, broker_positions)
        closes = [self._close_contract(job, p.contract_id, p) for p in positions.values()]
        work.listed = True
        await asyncio.gather(*closes)

    async def _close_position(self, job: _Job, work: PositionWork) -> None:
        account, contract = job.account_id, work.contract_id
        succeeded = False
        try:
            orders_read = self._read(job, self._gateway.open_orders(account, urgent=True))
            await self._cancel_working(job, contract, orders_read)
            if work.side is None and (held := self._mirror_position(account, contract)) is not None:
                work.aim(held)
            succeeded = await self._close_attempts(job, work)
            self._refusal_alert(job)
        finally:
            self._registry.end_position_work(work, succeeded)

    def _close_contract(self, job: _Job, contract_id: str, position: Position | None) -> Awaitable[bool]:
        """Register the contract's close now (or find the one in flight) and return the job closing it."""
        running = self._registry.closes(job.account_id, contract_id)
        if running:
            return self._after_close(job, running[0])
        work = self._registry.start_position_work(job.account_id, contract_id, PositionWorkKind.CLOSE,
                                                 position)
        return self._own_close(job, work)

    async def _after_close(self, job: _Job, other: PositionWork) -> bool:
        """Wait for a close already in flight; close the contract here if that one failed."""
        await other.done.wait()
        if other.succeeded:
            return True
        held = self._mirror_position(job.account_id, other.contract_id)
        return await self._close_contract(job, other.contract_id, held)

    async def _own_close(self, job: _Job, work: PositionWork) -> bool:
        succeeded = False
        try:
            succeeded = await self._close_attempts(job, work)
            return succeeded
        finally:
            self._registry.end_position_work(work, succeeded)

    async def _close_attempts(self, job: _Job, work: PositionWork) -> bool:
        """`Position/closeContract` until confirmed flat, within the attempts; an unconfirmed close
        counts as an attempt and is sent again (closing a flat contract answers PositionNotFound)."""
        await job.commit.wait()
        account, contract = work.account_id, work.contract_id

        async def close() -> None:
            self._registry.touch(work)
            await self._replied(job, self._gateway.close_position(account, contract, urgent=True))

        left = self._policy.max_attempts
        while left > 0:
            result = await attempt(close, self._policy, max_attempts=left)
            left -= result.attempts
            if result.verdict is Verdict.ALREADY_DONE:
                return True
            if result.verdict is not Verdict.OK:
                job.tally.fail(f"close {contract}: {result.error}")
                return False
            if await self._confirmed(job, work):
                job.tally.positions_closed += 1
                return True
        job.tally.fail(f"close {contract}: still open after {self._policy.max_attempts} attempts")
        return False

    async def _confirmed(self, job: _Job, work: PositionWork) -> bool:
        """A position event at the target size, else `Position/searchOpen` after `CONFIRM_AFTER_S`."""
        waiting = asyncio.ensure_future(work.confirmed.wait())
        if await _race(waiting, CONFIRM_AFTER_S, self._sleep):
            return True
        waiting.cancel()
        read = self._read(job, self._gateway.open_positions(work.account_id, urgent=True))
        positions = await self._answer(read, f"account {work.account_id}: Position/searchOpen (confirmation)")
        if work.confirmed.is_set():
            return True
        if positions is None:
            return False
        held = next((p for p in positions if p.contract_id == work.contract_id), None)
        return held is None or held.size <= work.target_size

    # --- cancels -----------------------------------------------------------------------------------

    async def _cancel_working(self, job: _Job, contract_id: str | None,
                              orders_read: asyncio.Task[list[Order]]) -> None:
        """Cancel the working orders of the account (or of one contract): the mirror's at once, then those
        only REST knows; own in-flight close orders are spared (`rules.md` §5, D-47)."""
        account = job.account_id
        mirrored = [o for o in self._mirror_orders(account) if self._to_cancel(job, contract_id, o)]
        from_mirror = [asyncio.ensure_future(self._cancel_job(job, o)) for o in mirrored]
        try:
            broker_orders = await self._answer(orders_read, f"account {account}: Order/searchOpen")
            handled = {o.id for o in mirrored}
            only_rest = [o for o in broker_orders or ()
                         if o.id not in handled and self._to_cancel(job, contract_id, o)]
            await asyncio.gather(*from_mirror, *[self._cancel_job(job, o) for o in only_rest])
        finally:
            for task in from_mirror:
                task.cancel()  # only if this enforcement itself was stopped; done tasks ignore it

    def _cancel_job(self, job: _Job, order: Order) -> Awaitable[None]:
        """The order's cancel, registered now (not when its task first runs): no other job sends it too."""
        return self._cancel_once(job, self._registry.start_cancel(job.account_id, order.id, order))

    def _to_cancel(self, job: _Job, contract_id: str | None, order: Order) -> bool:
        return (order.account_id == job.account_id and _cancellable(order)
                and (contract_id is None or order.contract_id == contract_id)
                and not self._registry.is_close_order(order)
                and not self._registry.cancelling(job.account_id, order.id))

    async def _cancel_once(self, job: _Job, work: CancelWork) -> None:
        try:
            result = await self._cancel(job, work)
            if result.verdict is Verdict.REFUSED:
                job.refused.append(f"order {work.order_id}: {result.error}")
        finally:
            self._registry.end_cancel(work)

    async def _cancel(self, job: _Job, work: CancelWork) -> Attempted[None]:
        """`Order/cancel` within the attempts; OrderNotFound is done already. A refusal is returned
        (the caller falls back); any other failure is recorded."""
        await job.commit.wait()
        account, order_id = work.account_id, work.order_id

        async def cancel() -> None:
            await self._replied(job, self._gateway.cancel_order(account, order_id, urgent=True))

        result = await attempt(cancel, self._policy)
        if result.verdict is Verdict.OK:
            job.tally.orders_cancelled += 1
        elif result.verdict is Verdict.FAILED:
            job.tally.fail(f"cancel order {order_id}: {result.error}")
        return result

    def _refusal_alert(self, job: _Job) -> None:
        """D-30: cancels the gateway refused make the decision FAILED and raise an ALERT."""
        if not job.refused:
            return
        what = "; ".join(job.refused)
        job.tally.fail(f"cancel refused: {what}")
        self._alert(job, f"the gateway refused to cancel ({what}); positions were closed instead and "
                         "the orders may still fill", {"refused": list(job.refused)})

    def _alert(self, job: _Job, reason: str, details: dict[str, Any]) -> None:
        action = job.action
        alert = EnforcementAction(action=EnforcementActionType.ALERT, account_id=action.account_id,
                                  rule_id=action.rule_id, reason=reason, created_at=self._clock.now(),
                                  contract_id=action.contract_id, order_id=action.order_id,
                                  details={**details, "enforcing": action.action.value})
        self._recorder.applied(alert)

    # --- reduce and reject -------------------------------------------------------------------------

    async def _reduce(self, job: _Job, work: PositionWork) -> None:
        account, contract, size = job.account_id, work.contract_id, job.action.size or 0
        succeeded = False
        try:
            if work.side is None:  # the mirror did not know the position: ask the broker
                read = self._read(job, self._gateway.open_positions(account, urgent=True))
                broker = await self._answer(read, f"account {account}: Position/searchOpen")
                held = self._open_positions(account, broker).get(contract)
                if held is None:
                    succeeded = True  # nothing open: nothing to reduce
                    return
                work.aim(held, size)
                if size >= held.size:
                    work.kind = PositionWorkKind.CLOSE
            if work.kind is PositionWorkKind.CLOSE:
                succeeded = await self._close_attempts(job, work)
            else:
                succeeded = await self._partial_close(job, work)
        finally:
            self._registry.end_position_work(work, succeeded)

    async def _partial_close(self, job: _Job, work: PositionWork) -> bool:
        await job.commit.wait()
        account, contract, size = work.account_id, work.contract_id, work.size or 0

        async def reduce() -> bool:
            self._registry.touch(work)
            await self._replied(job, self._gateway.partial_close_position(account, contract, size,
                                                                          urgent=True))
            return True

        async def reduced_after_all(error: GatewayError) -> bool | None:
            """After a timeout or 5xx the reduction may have happened: sent again only if REST shows the
            position still above its target (unknown → not sent again; the confirmation decides)."""
            if work.confirmed.is_set():
                return True
            if not may_have_acted(error):
                return None
            read = self._read(job, self._gateway.open_positions(account, urgent=True))
            positions = await self._answer(read, f"account {account}: Position/searchOpen (reduction)")
            held = next((p for p in positions or () if p.contract_id == contract), None)
            still_above = positions is not None and held is not None and held.size > work.target_size
            return None if still_above else True

        result = await attempt(reduce, self._policy, recheck=reduced_after_all)
        if result.verdict is Verdict.ALREADY_DONE:
            return True
        if result.verdict is Verdict.OK:
            if await self._confirmed(job, work):
                return True
            # Never sent again: a second partial close could remove more than the rule asked for.
            job.tally.fail(f"reduce {contract} by {size}: not confirmed (position above {work.target_size})")
            return False
        too_large = isinstance(result.error, GatewayRejected) and result.error.code_name == "InvalidCloseSize"
        if result.verdict is Verdict.REFUSED:
            job.tally.fail(f"reduce {contract} by {size}: {result.error}; closed instead")
            self._alert(job, f"the gateway refused the partial close of {contract} ({result.error}); "
                             "the whole position was closed instead", {"contract_id": contract})
        elif not too_large:
            job.tally.fail(f"reduce {contract} by {size}: {result.error}")
            return False
        return await self._close_contract(job, contract, self._mirror_position(account, contract))

    async def _reject(self, job: _Job, work: CancelWork) -> None:
        """Cancel the order; close its contract if it filled at all or the cancel was refused (D-30)."""
        try:
            result = await self._cancel(job, work)
            if result.verdict is Verdict.ALREADY_DONE and not work.finished.is_set():
                # It finished before the cancel: its final event tells whether it filled.
                waiting = asyncio.ensure_future(work.finished.wait())
                if not await _race(waiting, CONFIRM_AFTER_S, self._sleep):
                    waiting.cancel()
            latest = work.latest
            filled = work.filled_size > 0 or (latest is not None and latest.status is OrderStatus.FILLED)
            unknown = result.verdict is Verdict.ALREADY_DONE and not work.finished.is_set()
            refused = result.verdict is Verdict.REFUSED
            if refused:
                job.tally.fail(f"cancel order {work.order_id}: {result.error}")
                self._alert(job, f"the gateway refused to cancel order {work.order_id} ({result.error}); "
                                 "its position is closed instead and the order may still fill",
                            {"order_id": work.order_id})
            contract = job.action.contract_id or (latest.contract_id if latest is not None else None)
            if contract is not None and (filled or unknown or refused):
                await self._close_contract(job, contract, self._mirror_position(job.account_id, contract))
        finally:
            self._registry.end_cancel(work)

    # --- AUTO_STOP_LOSS ----------------------------------------------------------------------------

    async def _place_stop(self, job: _Job, work: PlaceWork, side: OrderSide) -> None:
        """`Order/place` Stop with the `RM-` tag; after a timeout or 5xx it is placed again only if
        neither an order event nor `Order/searchOpen` shows the tag (D-52). If that read fails the place
        is repeated anyway: the gateway refuses a reused tag, so it can never make a second stop."""
        action, account, contract = job.action, work.account_id, work.contract_id
        try:
            await job.commit.wait()

            async def place() -> int:
                return await self._replied(job, self._gateway.place_order(
                    account, contract, OrderType.STOP, side, action.size or 0, stop_price=action.stop_price,
                    custom_tag=work.tag, urgent=True))

            async def placed_after_all(error: GatewayError) -> int | None:
                if not may_have_acted(error):
                    return None
                if work.order_id is None:
                    read = self._read(job, self._gateway.open_orders(account, urgent=True))
                    orders = await self._answer(read, f"account {account}: Order/searchOpen (tag {work.tag})")
                    found = next((o for o in orders or () if o.custom_tag == work.tag), None)
                    if found is not None:
                        work.order_id = found.id
                if work.order_id is not None:
                    log.info("account %d: stop %s was placed despite %s; not placing it again", account,
                             work.tag, error, extra={"account_id": account, "rule_id": action.rule_id})
                return work.order_id

            result = await attempt(place, self._policy, recheck=placed_after_all)
            if not result.ok:
                job.tally.fail(f"place stop {work.tag} on {contract}: {result.error}")
        finally:
            self._registry.end_place(work)

    async def _modify_stop(self, job: _Job, order_id: int) -> None:
        await job.commit.wait()
        action = job.action

        async def modify() -> None:
            await self._replied(job, self._gateway.modify_order(job.account_id, order_id, size=action.size,
                                                                stop_price=action.stop_price, urgent=True))

        result = await attempt(modify, self._policy)
        if not result.ok:
            job.tally.fail(f"modify stop order {order_id}: {result.error}")

    async def _remove_stop(self, job: _Job, work: CancelWork) -> None:
        try:
            result = await self._cancel(job, work)
            if result.verdict is Verdict.REFUSED:
                job.tally.fail(f"cancel stop order {work.order_id}: {result.error}")
        finally:
            self._registry.end_cancel(work)
