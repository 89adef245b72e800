"""The daemon's own state as `daemon_status` reports it (`broadcast-api.md` §5.9, `daemon.md` §2, §7).

`StatusBoard` is fed by the dispatcher task (hub connection events, login outcomes, reconcile results)
and read by the broadcast server. Before start-up is complete (every account reconciled once, or its
reconcile failed, or its login refused) the status is `STARTING`; then `RUNNING`, or `DEGRADED` with the
reasons in `message` while a hub is down, a login was refused, an account is missing at the broker, a
reconcile keeps failing or the database had to be quarantined. `STOPPING` and `ERROR` are set by the
shutdown and crash paths and stay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.events import HubConnectionChanged
from simple_risk_manager.domain.models import DaemonStatus


class Phase(StrEnum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"
    STOPPING = "STOPPING"
    ERROR = "ERROR"


class AccountState(StrEnum):
    OK = "OK"
    AUTH_FAILED = "AUTH_FAILED"
    NOT_FOUND = "NOT_FOUND"
    DISABLED_BY_BROKER = "DISABLED_BY_BROKER"


class HubState(StrEnum):
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    DISCONNECTED = "DISCONNECTED"


#: Worst first: what one word says for several user hubs.
_HUB_SEVERITY: Final = (HubState.DISCONNECTED, HubState.RECONNECTING, HubState.CONNECTED)


def _ids(account_ids: set[int]) -> str:
    return ", ".join(str(a) for a in sorted(account_ids))


class StatusBoard:
    """`login_of` maps each monitored account to the login whose user hub carries it; `can_trade` reads
    the broker's flag from the state mirror (None while unknown)."""

    def __init__(self, login_of: Mapping[int, str | None], clock: Clock, *,
                 can_trade: Callable[[int], bool | None], quarantined_to: str | None = None) -> None:
        self._login_of = MappingProxyType(dict(login_of))
        self._clock = clock
        self._can_trade = can_trade
        self._quarantined_to = quarantined_to
        self.started_at: datetime = clock.now()
        self._started_mono = clock.monotonic()
        self._final: Phase | None = None
        self._final_message = ""
        self._user_hubs: dict[str, HubState] = {login: HubState.DISCONNECTED
                                                 for login in set(login_of.values()) if login is not None}
        self._market = HubState.DISCONNECTED
        self._auth_failed: set[int] = set()
        self._not_found: set[int] = set()
        self._reconciled: set[int] = set()
        self._failing: set[int] = set()
        self._tried: set[int] = set()
        self._complete = False

    # --- inputs ----------------------------------------------------------------------------------

    def logins_refused(self, account_ids: set[int]) -> None:
        self._auth_failed |= account_ids
        for account_id in account_ids:
            login = self._login_of.get(account_id)
            if login is not None:
                self._user_hubs.pop(login, None)

    def hub_changed(self, event: HubConnectionChanged) -> None:
        state = HubState.CONNECTED if event.connected else HubState.RECONNECTING
        if event.hub == "market":
            self._market = state
        elif event.login in self._user_hubs:
            self._user_hubs[event.login] = state

    def reconciled(self, account_id: int, *, found: bool) -> None:
        self._reconciled.add(account_id)
        self._tried.add(account_id)
        self._failing.discard(account_id)
        if found:
            self._not_found.discard(account_id)
        else:
            self._not_found.add(account_id)

    def reconcile_failed(self, account_id: int) -> None:
        self._tried.add(account_id)
        self._failing.add(account_id)

    def finish(self, phase: Phase, message: str) -> None:
        """`STOPPING` or `ERROR`: the status stays there until the process ends."""
        self._final = phase
        self._final_message = message

    # --- outputs ---------------------------------------------------------------------------------

    @property
    def startup_complete(self) -> bool:
        """Every account reconciled once (or failed to, or has no usable login); latches."""
        if not self._complete:
            self._complete = all(a in self._tried or a in self._auth_failed for a in self._login_of)
        return self._complete

    def account_state(self, account_id: int) -> AccountState:
        if account_id in self._auth_failed:
            return AccountState.AUTH_FAILED
        if account_id in self._not_found:
            return AccountState.NOT_FOUND
        if self._can_trade(account_id) is False:
            return AccountState.DISABLED_BY_BROKER
        return AccountState.OK

    def stale(self, account_id: int) -> bool:
        """True until the account's first reconcile finished, and while its user hub is down."""
        login = self._login_of.get(account_id)
        return account_id not in self._reconciled or login is None \
            or self._user_hubs.get(login) is not HubState.CONNECTED

    def hubs(self) -> dict[str, str]:
        user = min(self._user_hubs.values(), key=_HUB_SEVERITY.index, default=HubState.DISCONNECTED)
        return {"user": user.value, "market": self._market.value}

    def phase(self) -> tuple[Phase, str]:
        if self._final is not None:
            return self._final, self._final_message
        if not self.startup_complete:
            return Phase.STARTING, "starting: connecting to the broker and reconciling accounts"
        reasons = self._problems()
        return (Phase.DEGRADED, "; ".join(reasons)) if reasons else (Phase.RUNNING, "ok")

    def status(self) -> DaemonStatus:
        """`clients` is filled in by the broadcast server."""
        phase, message = self.phase()
        return DaemonStatus(
            status=phase.value, message=message, started_at=self.started_at,
            uptime_s=int(self._clock.monotonic() - self._started_mono), hubs=self.hubs(), clients=0,
            accounts=tuple({"account_id": a, "state": self.account_state(a).value}
                           for a in sorted(self._login_of)))

    def _problems(self) -> list[str]:
        reasons: list[str] = []
        if self._quarantined_to is not None:
            reasons.append(f"database was unreadable: moved to {self._quarantined_to}, started empty")
        hubs = self.hubs()
        for hub in ("user", "market"):
            if hubs[hub] != HubState.CONNECTED:
                reasons.append(f"{hub} hub {hubs[hub].lower()}")
        if self._auth_failed:
            reasons.append(f"login refused for account {_ids(self._auth_failed)}")
        if self._not_found:
            reasons.append(f"account {_ids(self._not_found)} not found at the broker")
        if self._failing:
            reasons.append(f"reconcile failing for account {_ids(self._failing)}")
        return reasons
