"""`srm admin test` (`cli.md` §2.6): one row per check with ✓/✗, latency and detail; writes nothing.

| check     | how                                                                           |
|-----------|-------------------------------------------------------------------------------|
| config    | the daemon's validator on every file (`${VAR}` checked for form only)          |
| api       | `loginKey` per credential set, timed                                          |
| accounts  | `Account/search` (active): every enabled id listed; `canTrade=false` warns    |
| hubs      | user hub per login and the market hub: handshake, subscribe once, close, 10 s |
| db        | read-only open, `quick_check`, schema version = the code's, size              |
| broadcast | `hello` within 2 s (skipped while the daemon is stopped)                      |
| service   | the service manager's state                                                   |

A fresh login does not revoke the daemon's token, so the tests never disturb a running daemon. The
same login and account lookup verify credentials for `login set` and `account add`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.credentials import credential_env
from simple_risk_manager.admin.daemon_probe import HELLO_TIMEOUT_S, ProbeError, probe_daemon
from simple_risk_manager.admin.daemon_process import running_daemon_pid
from simple_risk_manager.admin.errors import AdminError
from simple_risk_manager.clock import Clock
from simple_risk_manager.config import EnvMode, LoadedConfig, validate_config_dir
from simple_risk_manager.config.accounts import DEFAULT_API_URL, DEFAULT_MARKET_HUB_URL, DEFAULT_USER_HUB_URL
from simple_risk_manager.domain.events import GatewayEvent, HubConnectionChanged
from simple_risk_manager.gateway import AuthenticationFailed, Credentials, GatewayError, HubOptions
from simple_risk_manager.gateway.auth import AuthSession
from simple_risk_manager.gateway.hubs import MarketHub, UserHub
from simple_risk_manager.gateway.rest import RestApi, RestClient
from simple_risk_manager.service.manager import ServiceError
from simple_risk_manager.store import connect_reader, current_version, quick_check_problems
from simple_risk_manager.store.connection import side_files
from simple_risk_manager.store.errors import StoreError
from simple_risk_manager.store.schema import MIGRATIONS

CHECK_NAMES: Final = ("config", "api", "accounts", "hubs", "db", "broadcast", "service")
HUB_TIMEOUT_S: Final = 10.0
REST_TIMEOUT_S: Final = 10.0
#: A contract to subscribe the market hub to once (the gateway names the E-mini S&P `EP`, found as ES).
MARKET_PROBE_SEARCH: Final = "ES"
_HUB_OPTIONS: Final = HubOptions(backoff_max_s=1.0, ping_interval_s=10.0, server_timeout_s=30.0,
                                 invoke_timeout_s=5.0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    #: True passed, False failed, None skipped (counts as passed).
    ok: bool | None
    detail: str
    latency_ms: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "skipped": self.ok is None, "detail": self.detail,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1)}


@dataclass(frozen=True, slots=True)
class Endpoints:
    api_url: str
    user_hub_url: str
    market_hub_url: str

    @classmethod
    def of(cls, config: LoadedConfig) -> Endpoints:
        login = config.accounts_file.topstepx
        if login is None:
            return cls(DEFAULT_API_URL, DEFAULT_USER_HUB_URL, DEFAULT_MARKET_HUB_URL)
        return cls(login.api_url, login.user_hub_url, login.market_hub_url)


@dataclass(frozen=True, slots=True)
class LoginSet:
    """One credential set and the enabled accounts that use it."""

    credentials: Credentials
    account_ids: tuple[int, ...]


class _CheckFailedError(Exception):
    """A check failed; the message is its detail."""


@contextmanager
def _gateway_warnings() -> Iterator[list[str]]:
    """Collect the gateway client's warnings (the reason a hub or login kept failing) instead of
    letting them reach stderr; the last one explains a failed check."""
    logger = logging.getLogger("simple_risk_manager.gateway")
    messages: list[str] = []

    class _Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Collector(logging.WARNING)
    previous = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


async def verify_login(endpoints: Endpoints, credentials: Credentials, clock: Clock,
                       account_id: int | None = None, timeout_s: float = REST_TIMEOUT_S) -> str:
    """`loginKey`, then (with `account_id`) `Account/search` must list it; `AdminError` says why not."""
    client = RestClient(endpoints.api_url, clock, timeout_s=timeout_s, max_attempts=1)
    await client.open()
    try:
        session = AuthSession(credentials, client, clock)
        try:
            await session.fresh_login()
        except AuthenticationFailed:
            raise AdminError(f"login {credentials.username!r} refused by {endpoints.api_url}: "
                             "check the user name and the API key") from None
        except GatewayError as exc:
            raise AdminError(f"cannot reach {endpoints.api_url}: {exc}") from None
        if account_id is None:
            return f"login {credentials.username!r} accepted"
        try:
            accounts = await RestApi(client, clock).search_accounts(session, only_active=True)
        except GatewayError as exc:
            raise AdminError(f"Account/search failed: {exc}") from None
        found = {account.id: account for account in accounts}
        if account_id not in found:
            listed = ", ".join(str(i) for i in sorted(found)) or "none"
            raise AdminError(f"account {account_id} is not among the active accounts of login "
                             f"{credentials.username!r} (listed: {listed}); use --no-verify to add it anyway")
        name = found[account_id].name
        return f"login {credentials.username!r} accepted; account {account_id} found ({name})"
    finally:
        await client.close()


def check_database(path: Path) -> str:
    """Read-only: `quick_check`, schema version = the code's, size; `AdminError` names the problem."""
    if not path.exists():
        raise AdminError(f"no database at {path} (has the daemon ever run?)")
    try:
        conn = connect_reader(path)
    except (sqlite3.Error, OSError) as exc:
        raise AdminError(f"cannot open {path}: {exc}") from None
    try:
        problems = quick_check_problems(conn)
        version = current_version(conn)
    except (StoreError, sqlite3.Error) as exc:  # not a database, corrupt, unversioned
        raise AdminError(f"{path}: {exc}") from None
    finally:
        conn.close()
    expected = MIGRATIONS[-1].version
    if problems:
        raise AdminError(f"{path}: quick_check found {'; '.join(problems[:3])}; "
                         "srm admin db init --yes backs it up and starts a fresh one")
    if version != expected:
        raise AdminError(f"{path}: schema version {version}, this program expects {expected} "
                         "(the daemon migrates it at start)")
    size = sum(p.stat().st_size for p in (path, *side_files(path)) if p.exists())
    return f"ok, schema version {version}, {size / 1024:.0f} KiB"


class ConnectionTests:
    def __init__(self, ctx: AdminContext, *, hub_timeout_s: float = HUB_TIMEOUT_S,
                 rest_timeout_s: float = REST_TIMEOUT_S) -> None:
        self._ctx = ctx
        self._hub_timeout_s = hub_timeout_s
        self._rest_timeout_s = rest_timeout_s
        self._client: RestClient | None = None
        self._sessions: dict[str, AuthSession] = {}
        self._loaded: tuple[Endpoints, list[LoginSet]] | None = None

    async def run(self, which: str = "all") -> list[CheckResult]:
        if which != "all" and which not in CHECK_NAMES:
            raise ValueError(f"unknown check {which!r}: use all or one of {', '.join(CHECK_NAMES)}")
        checks: dict[str, Callable[[], Awaitable[str]]] = {
            "config": self._config, "api": self._api, "accounts": self._accounts, "hubs": self._hubs,
            "db": self._db, "broadcast": self._broadcast, "service": self._service}
        results = []
        try:
            with _gateway_warnings() as warnings:
                for name in CHECK_NAMES if which == "all" else (which,):
                    results.append(await self._timed(name, checks[name], warnings))
        finally:
            if self._client is not None:
                await self._client.close()
        return results

    async def _timed(self, name: str, check: Callable[[], Awaitable[str]],
                     warnings: list[str]) -> CheckResult:
        warnings.clear()
        started = self._ctx.monotonic()
        try:
            detail = await check()
        except _CheckSkippedError as skip:
            return CheckResult(name, None, str(skip))
        except (_CheckFailedError, AdminError) as exc:
            reason = str(exc)
            if warnings and warnings[-1] not in reason:
                reason += f" (last gateway message: {warnings[-1]})"
            return CheckResult(name, False, reason, (self._ctx.monotonic() - started) * 1000)
        return CheckResult(name, True, detail, (self._ctx.monotonic() - started) * 1000)

    # --- checks ----------------------------------------------------------------------------------

    async def _config(self) -> str:
        result = validate_config_dir(self._ctx.config_dir, env=self._ctx.env, env_mode=EnvMode.SYNTAX_ONLY)
        if result.errors:
            shown = "; ".join(str(issue) for issue in result.errors[:3])
            more = f" (+{len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
            raise _CheckFailedError(f"{len(result.errors)} error(s): {shown}{more}")
        assert result.config is not None
        enabled = sum(1 for account in result.config.accounts if account.enabled)
        return f"valid; {enabled} enabled account(s); {len(result.warnings)} warning(s)"

    async def _api(self) -> str:
        _, logins = self._gateway_config()
        parts = []
        for login in logins:
            started = self._ctx.monotonic()
            await self._session(login)
            elapsed_ms = (self._ctx.monotonic() - started) * 1000
            parts.append(f"{login.credentials.username}: token in {elapsed_ms:.0f} ms")
        return "; ".join(parts)

    async def _accounts(self) -> str:
        _, logins = self._gateway_config()
        notes: list[str] = []
        missing: list[str] = []
        for login in logins:
            session = await self._session(login)
            assert self._client is not None
            try:
                api = RestApi(self._client, self._ctx.clock)
                accounts = await api.search_accounts(session, only_active=True)
            except GatewayError as exc:
                raise _CheckFailedError(f"Account/search for {login.credentials.username}: {exc}") from None
            found = {account.id: account for account in accounts}
            for account_id in login.account_ids:
                account = found.get(account_id)
                if account is None:
                    missing.append(str(account_id))
                elif account.can_trade is False:
                    notes.append(f"warning: {account_id} canTrade=false")
        if missing:
            raise _CheckFailedError(f"not listed by Account/search (active): {', '.join(missing)}")
        count = sum(len(login.account_ids) for login in logins)
        return "; ".join([f"{count} enabled account(s) listed", *notes])

    async def _hubs(self) -> str:
        endpoints, logins = self._gateway_config()
        parts = []
        async with asyncio.timeout(self._hub_timeout_s):
            for login in logins:
                session = await self._session(login)
                sink = _Announcements()
                user_hub = UserHub(endpoints.user_hub_url, session, login.account_ids, sink=sink,
                                   clock=self._ctx.clock, options=_HUB_OPTIONS)
                await self._connect_once(user_hub, sink, None)
                parts.append(f"user hub ({login.credentials.username}) subscribed")
            session = await self._session(logins[0])
            assert self._client is not None
            try:
                contracts = await RestApi(self._client, self._ctx.clock).search_contracts(
                    session, MARKET_PROBE_SEARCH)
            except GatewayError as exc:
                raise _CheckFailedError(f"Contract/search for the market hub test: {exc}") from None
            wanted = contracts[0].contract_id if contracts else None
            sink = _Announcements()
            market = MarketHub(endpoints.market_hub_url, session, sink=sink, clock=self._ctx.clock,
                               options=_HUB_OPTIONS)
            await self._connect_once(market, sink, wanted)
            parts.append(f"market hub subscribed to {wanted}" if wanted else "market hub connected")
        return "; ".join(parts)

    async def _connect_once(self, hub: UserHub | MarketHub, sink: _Announcements, wanted: str | None) -> None:
        """Run the hub until it announces its connection (after its subscriptions), then close it."""
        if isinstance(hub, MarketHub) and wanted is not None:
            hub.set_wanted_contracts([wanted])
        task = asyncio.get_running_loop().create_task(hub.run())
        try:
            await sink.connected.wait()
            if isinstance(hub, MarketHub) and wanted is not None and wanted not in hub.subscribed:
                raise _CheckFailedError(f"market hub refused SubscribeContractQuotes({wanted})")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _db(self) -> str:
        try:
            return check_database(self._ctx.db_path)
        except AdminError as exc:
            raise _CheckFailedError(str(exc)) from None

    async def _broadcast(self) -> str:
        if not await self._daemon_running():
            raise _CheckSkippedError("the daemon is not running")
        try:
            probe = await probe_daemon(self._ctx.port, self._ctx.clock, timeout_s=HELLO_TIMEOUT_S,
                                       snapshot=False)
        except ProbeError as exc:
            raise _CheckFailedError(str(exc)) from None
        return f"hello from run {probe.hello.get('run_id')} (daemon {probe.hello.get('daemon_version')})"

    async def _service(self) -> str:
        manager = self._ctx.service
        if manager is None:
            raise _CheckSkippedError("no service manager on this machine")
        try:
            status = manager.status()
        except ServiceError as exc:
            raise _CheckFailedError(str(exc)) from None
        if not status.running:
            raise _CheckFailedError(f"{manager.service_name} is {status.state.value}"
                           + (f" ({status.detail})" if status.detail else ""))
        return f"{manager.service_name} active, pid {status.pid}"

    # --- shared ----------------------------------------------------------------------------------

    async def _daemon_running(self) -> bool:
        manager = self._ctx.service
        if manager is not None:
            try:
                return manager.status().running
            except ServiceError:
                return False
        return running_daemon_pid(self._ctx.data_dir) is not None

    def _gateway_config(self) -> tuple[Endpoints, list[LoginSet]]:
        if self._loaded is None:
            env = credential_env(self._ctx.config_dir, self._ctx.env)
            result = validate_config_dir(self._ctx.config_dir, env=env, env_mode=EnvMode.REQUIRED)
            if result.config is None:
                first = result.errors[0] if result.errors else "configuration incomplete"
                raise _CheckFailedError(f"configuration not usable ({first}); see srm admin test config")
            grouped: dict[tuple[str, str], list[int]] = {}
            for account in result.config.account_configs():
                if account.enabled and account.username and account.api_key:
                    grouped.setdefault((account.username, account.api_key), []).append(account.account_id)
            if not grouped:
                raise _CheckFailedError("no enabled account with a login")
            logins = [LoginSet(Credentials(user, key), tuple(ids)) for (user, key), ids in grouped.items()]
            self._loaded = (Endpoints.of(result.config), logins)
        return self._loaded

    async def _session(self, login: LoginSet) -> AuthSession:
        name = login.credentials.username
        if name not in self._sessions:
            endpoints, _ = self._gateway_config()
            if self._client is None:
                self._client = RestClient(endpoints.api_url, self._ctx.clock, timeout_s=self._rest_timeout_s,
                                          max_attempts=1)
                await self._client.open()
            session = AuthSession(login.credentials, self._client, self._ctx.clock)
            try:
                await session.fresh_login()
            except AuthenticationFailed:
                raise _CheckFailedError(f"login {name!r}: credentials rejected") from None
            except GatewayError as exc:
                raise _CheckFailedError(f"login {name!r}: {exc}") from None
            self._sessions[name] = session
        return self._sessions[name]


class _CheckSkippedError(Exception):
    """The check does not apply now; the message says why."""


class _Announcements:
    """A hub sink that only notes the hub's first announced connection."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()

    def __call__(self, event: GatewayEvent) -> None:
        if isinstance(event, HubConnectionChanged) and event.connected:
            self.connected.set()
