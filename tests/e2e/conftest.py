"""End-to-end fixtures: `srm run` as a subprocess against the simulator as another subprocess.

One simulator serves the whole session (`python -m projectx_sim --port 0 --paused`, its
`PROJECTX_SIM_READY` line parsed); every test creates its own simulator user and account(s), so
daemons never see each other's events. A test writes a config directory (the shipped
`risk_config.yaml` with its own tweaks, an `accounts.yaml` pointing at the simulator, a `daemon.yaml`
with a free broadcast port and a short flush interval), starts the daemon and waits for its
`srm run: RUNNING` line. The trader acts through the simulator's `/sim/trader/...` API; what the daemon
did is read from the simulator's request log, the database (read-only connection), and the broadcast
feed. Every wait polls a real condition with a generous timeout; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ruamel.yaml import YAML

from simple_risk_manager.broadcast import BroadcastClient, Disconnected, Message
from simple_risk_manager.store import connect_reader

REPO = Path(__file__).resolve().parents[2]
SHIPPED_RISK = REPO / "config" / "risk_config.yaml"
WAIT_S = 30.0
#: Rules that act on their own in any scenario (wall-clock sessions, 30 s grace timers, trade counts,
#: cooldowns after any loss): off unless a test is about them.
#: Set by a service manager: the child must behave as a foreground run whatever runs the tests.
SERVICE_MANAGER_VARIABLES = ("NOTIFY_SOCKET", "JOURNAL_STREAM", "INVOCATION_ID")
QUIET: dict[str, Any] = {
    "session_block_outside": {"enabled": False},
    "no_stop_loss_grace": {"enabled": False},
    "trade_frequency_limit": {"enabled": False},
    "cooldown_after_loss": {"enabled": False},
}


# --- waiting ---------------------------------------------------------------------------------------

async def until(condition: Callable[[], Awaitable[bool]] | Callable[[], bool], what: str,
                within: float = WAIT_S, every: float = 0.05) -> None:
    """Poll `condition` (sync or async) until it holds; fail naming `what` after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(every)


class LineReader:
    """Collects a child's output lines on a thread, so waiting never blocks the test's event loop."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def first(self, prefix: str) -> str | None:
        return next((line for line in self.lines if line.startswith(prefix)), None)


# --- the simulator ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimInfo:
    url: str
    user_hub_url: str
    market_hub_url: str
    contracts: tuple[str, ...]

    def contract(self, root: str) -> str:
        return next(c for c in self.contracts if c.split(".")[3] == root)


@pytest.fixture(scope="session")
def sim() -> Iterator[SimInfo]:
    process = subprocess.Popen([sys.executable, "-m", "projectx_sim", "--port", "0", "--paused",
                                "--no-rate-limit"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, cwd=REPO)
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready.startswith("PROJECTX_SIM_READY "):
        process.kill()
        pytest.fail(f"the simulator did not start: {ready!r}")
    info = json.loads(ready.removeprefix("PROJECTX_SIM_READY "))
    LineReader(process.stdout)  # keep draining its stdout
    with urllib_json(f"{info['url']}/sim/state") as state:
        contracts = tuple(state["contracts"])
    yield SimInfo(info["url"], info["userHubUrl"], info["marketHubUrl"], contracts)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def urllib_json(url: str) -> Iterator[Any]:
    from urllib.request import urlopen
    with urlopen(url, timeout=10) as response:
        yield json.loads(response.read())


class SimControl:
    """The simulator's `/sim/` API: accounts, prices, the trader's own calls, the request log."""

    def __init__(self, sim: SimInfo, http: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.http = http

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.post(f"{self.sim.url}/sim/{path}", json=body or {}) as response:
            assert response.status in (200, 201), await response.text()
            return await response.json()

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.sim.url}/sim/{path}") as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def new_login(self, accounts: int = 1) -> tuple[str, str, list[int]]:
        """A fresh user with its own API key and `accounts` funded accounts: (user, key, ids)."""
        name = f"e2e-{uuid.uuid4().hex[:10]}"
        key = f"key-{uuid.uuid4().hex}"
        await self.post("users", {"userName": name, "apiKey": key})
        ids = []
        for n in range(accounts):
            account = await self.post("accounts", {"userName": name, "name": f"{name}-{n}", "balance": 50000})
            ids.append(account["id"])
        return name, key, ids

    async def set_account(self, account_id: int, **fields: Any) -> None:
        await self.post(f"accounts/{account_id}", fields)

    async def price(self, contract_id: str, price: float) -> None:
        """A one-price market (bid = ask = last), so fills and P&L are exact."""
        await self.post("price", {"contractId": contract_id, "last": price, "bid": price, "ask": price})

    async def trader(self, endpoint: str, **body: Any) -> dict[str, Any]:
        reply: dict[str, Any] = await self.post(f"trader/{endpoint}", body)
        assert reply["success"], reply
        return reply

    async def market(self, account_id: int, contract_id: str, side: int, size: int) -> int:
        """A trader market order (side 0 buy, 1 sell)."""
        reply = await self.trader("Order/place", accountId=account_id, contractId=contract_id, type=2,
                                  side=side, size=size)
        return int(reply["orderId"])

    async def limit(self, account_id: int, contract_id: str, side: int, size: int, price: float) -> int:
        reply = await self.trader("Order/place", accountId=account_id, contractId=contract_id, type=1,
                                  side=side, size=size, limitPrice=price)
        return int(reply["orderId"])

    async def positions(self, account_id: int) -> list[dict[str, Any]]:
        return list((await self.trader("Position/searchOpen", accountId=account_id))["positions"])

    async def orders(self, account_id: int) -> list[dict[str, Any]]:
        return list((await self.trader("Order/searchOpen", accountId=account_id))["orders"])

    async def requests(self, account_id: int) -> list[dict[str, Any]]:
        """REST calls the daemon made for this account (the trader's own calls are never logged)."""
        log = (await self.get("requests?limit=100000"))["requests"]
        return [r for r in log if r.get("accountId") == account_id]

    async def called(self, account_id: int, path: str) -> list[dict[str, Any]]:
        return [r for r in await self.requests(account_id) if r["path"] == f"/api/{path}"]


@pytest.fixture
async def control(sim: SimInfo) -> AsyncIterator[SimControl]:
    async with aiohttp.ClientSession() as http:
        yield SimControl(sim, http)


# --- the daemon ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return override


def shipped_risk_config() -> dict[str, Any]:
    return json.loads(json.dumps(YAML(typ="safe").load(SHIPPED_RISK.read_text(encoding="utf-8")),
                                 default=str))


@dataclass
class DaemonRun:
    """One `srm run` child with its own config, data and log directories."""

    root: Path
    sim: SimInfo
    user: str
    api_key: str
    account_ids: list[int]
    rules: dict[str, Any] = field(default_factory=dict)
    daemon_settings: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    stdout: LineReader | None = None
    stderr: LineReader | None = None

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def account(self) -> int:
        return self.account_ids[0]

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        risk = shipped_risk_config()
        risk["rules"] = deep_merge(risk["rules"], deep_merge(QUIET, self.rules))
        (self.config_dir / "risk_config.yaml").write_text(json.dumps(risk), encoding="utf-8")
        accounts = {"version": 1,
                    "topstepx": {"username": self.user, "api_key": self.api_key, "api_url": self.sim.url,
                                 "user_hub_url": self.sim.user_hub_url,
                                 "market_hub_url": self.sim.market_hub_url},
                    "accounts": [{"account_id": a, "nickname": f"E2E {a}"} for a in self.account_ids]}
        path = self.config_dir / "accounts.yaml"
        path.write_text(json.dumps(accounts), encoding="utf-8")
        if os.name != "nt":
            path.chmod(0o600)
        settings = deep_merge({"broadcast": {"port": self.port, "heartbeat_seconds": 1},
                               "persistence": {"flush_interval_seconds": 1},
                               "hubs": {"backoff_max_seconds": 2},
                               "enforcement": {"retry_delay_seconds": 1}}, self.daemon_settings)
        (self.config_dir / "daemon.yaml").write_text(json.dumps(settings), encoding="utf-8")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "simple_risk_manager.cli.main", "run", "--config-dir",
                str(self.config_dir), "--data-dir", str(self.data_dir), "--log-dir", str(self.log_dir)]

    def spawn(self, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the child without waiting for anything; `env` adds variables."""
        env = {**{k: v for k, v in os.environ.items() if k not in SERVICE_MANAGER_VARIABLES}, **(env or {})}
        process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=self.root, env=env)
        self.process = process
        self.stdout = LineReader(process.stdout)
        self.stderr = LineReader(process.stderr)
        return process

    async def start(self) -> DaemonRun:
        """Start and wait for the RUNNING line (every account reconciled)."""
        if not self.config_dir.exists():
            self.write_config()
        self.spawn()
        await until(lambda: self.running_line() is not None or self.exited(), "srm run: RUNNING")
        if self.running_line() is None:
            code = self.process.returncode if self.process else None
            pytest.fail(f"srm run exited {code} before RUNNING:\n{self.output()}")
        return self

    def running_line(self) -> str | None:
        assert self.stdout is not None
        return self.stdout.first("srm run: RUNNING")

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def output(self) -> str:
        out = self.stdout.text if self.stdout else ""
        err = self.stderr.text if self.stderr else ""
        return f"--- stdout ---\n{out}\n--- stderr ---\n{err}"

    async def wait_exit(self, within: float = WAIT_S) -> int:
        await until(self.exited, "srm run to exit", within=within)
        assert self.process is not None and self.process.returncode is not None
        return self.process.returncode

    async def stop(self) -> int:
        """SIGTERM (the graceful path) and the exit code."""
        assert self.process is not None
        if not self.exited():
            self.process.send_signal(signal.SIGTERM)
        return await self.wait_exit()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.wait_exit()

    # --- what the daemon stored (read-only, as the Trader CLI reads it) ----------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = connect_reader(self.data_dir / "state.db")
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def lockouts(self, active_only: bool = True) -> list[tuple[Any, ...]]:
        """(rule_id, kind, cleared_by) of the account's lockout records."""
        where = " AND cleared_at IS NULL" if active_only else ""
        return self.query(f"SELECT rule_id, kind, cleared_by FROM lockouts WHERE account_id = ?{where} "
                          "ORDER BY lockout_id", self.account)

    def enforcement_rows(self) -> list[tuple[Any, ...]]:
        """(rule_id, action, outcome) of the account's enforcement_log rows, oldest first."""
        return self.query("SELECT rule_id, action, outcome FROM enforcement_log WHERE account_id = ? "
                          "ORDER BY id", self.account)

    def has_row(self, rule_id: str, action: str, outcome: str = "SUCCESS") -> bool:
        return (rule_id, action, outcome) in self.enforcement_rows()


@pytest.fixture
async def new_daemon(sim: SimInfo, control: SimControl, tmp_path: Path
                     ) -> AsyncIterator[Callable[..., Awaitable[DaemonRun]]]:
    """Build (not start) a daemon for a fresh simulator login; every child is stopped at the end."""
    made: list[DaemonRun] = []

    async def build(rules: dict[str, Any] | None = None, daemon: dict[str, Any] | None = None,
                    accounts: int = 1, name: str = "d") -> DaemonRun:
        user, key, ids = await control.new_login(accounts)
        run = DaemonRun(tmp_path / f"{name}{len(made)}", sim, user, key, ids, rules or {}, daemon or {})
        made.append(run)
        return run

    yield build
    for run in made:
        if run.process is not None and not run.exited():
            run.process.send_signal(signal.SIGTERM)
            try:
                run.process.wait(15)
            except subprocess.TimeoutExpired:
                run.process.kill()


# --- the broadcast feed ----------------------------------------------------------------------------

class Feed:
    """A `BroadcastClient` reading in the background; every message kept in order."""

    def __init__(self, url: str, account_ids: list[int] | None) -> None:
        self.client = BroadcastClient(url, account_ids, delay=lambda attempt: 0.2)
        self.messages: list[Message] = []
        self.disconnects: list[Disconnected] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for item in self.client.stream():
            if isinstance(item, Disconnected):
                self.disconnects.append(item)
            else:
                self.messages.append(item)

    def of(self, message_type: str) -> list[dict[str, Any]]:
        return [dict(m.data) for m in self.messages if m.type == message_type]

    def actions(self) -> list[tuple[str, str, str]]:
        return [(a["rule_id"], a["action"], a["outcome"]) for a in self.of("enforcement_action")]

    def snapshot(self) -> dict[str, Any] | None:
        snapshots = self.of("snapshot")
        return snapshots[-1] if snapshots else None

    async def close(self) -> None:
        await self.client.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


@pytest.fixture
async def feeds() -> AsyncIterator[Callable[..., Awaitable[Feed]]]:
    """Open a feed on a running daemon and wait for its first snapshot (subscribed from then on)."""
    opened: list[Feed] = []

    async def open_feed(run: DaemonRun, account_ids: list[int] | None = None) -> Feed:
        feed = Feed(run.url, account_ids if account_ids is not None else run.account_ids)
        opened.append(feed)
        await until(lambda: feed.snapshot() is not None, "the first snapshot")
        return feed

    yield open_feed
    for feed in opened:
        await feed.close()


DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def chicago_today_name() -> str:
    """Today's weekday in America/Chicago (RULE-009's zone in the shipped config), as MON … SUN."""
    from zoneinfo import ZoneInfo
    return DAY_NAMES[datetime.now(ZoneInfo("America/Chicago")).weekday()]
