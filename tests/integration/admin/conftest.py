"""Real servers for the Admin CLI: the ProjectX simulator and the daemon's broadcast server, each in its
own thread with its own event loop (the Admin CLI runs `asyncio.run` itself, as it does for real)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from projectx_sim import SimConfig, Simulator
from simple_risk_manager.demo.processes import SimEndpoints

ROOT = Path(__file__).resolve().parents[3]


def _load_unit_fakes() -> ModuleType:
    """The unit tests' harness (tests/unit/admin/fakes.py), shared rather than copied."""
    spec = importlib.util.spec_from_file_location("admin_unit_fakes", ROOT / "tests/unit/admin/fakes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fakes = _load_unit_fakes()
AdminHarness = fakes.AdminHarness
FakeServiceManager = fakes.FakeServiceManager
PASSWORD: str = fakes.PASSWORD
START_TIMEOUT_S = 15.0


class LoopThread:
    """An event loop in a thread running `main(ready, stop)`: it calls `ready(value)` once serving, then
    waits for `stop`; `close()` sets it and joins."""

    def __init__(self, main: Callable[[Callable[[Any], None], asyncio.Event], Awaitable[None]]) -> None:
        self.value: Any = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._body(main),), daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("server thread did not start")
        if self._failure is not None:
            raise self._failure

    async def _body(self, main: Callable[[Callable[[Any], None], asyncio.Event], Awaitable[None]]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await main(self._set_ready, self._stop)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            raise

    def _set_ready(self, value: Any) -> None:
        self.value = value
        self._ready.set()

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run `coroutine` on the thread's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(START_TIMEOUT_S)

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimEndpoints]:
    async def main(ready: Callable[[Any], None], stop: asyncio.Event) -> None:
        async with Simulator(SimConfig(port=0, rate_limit=False)) as simulator:
            ids = tuple(a.id for a in simulator.exchange.accounts_of(simulator.demo_user.id))
            ready(SimEndpoints(simulator.url, simulator.user_hub_url, simulator.market_hub_url,
                            simulator.config.user_name, simulator.config.api_key, ids))
            await stop.wait()

    thread = LoopThread(main)
    yield thread.value
    thread.close()


def sim_accounts_yaml(sim: SimEndpoints, *account_ids: int, key: str = "${SIM_KEY}") -> str:
    entries = "".join(f"  - account_id: {account_id}\n" for account_id in account_ids or sim.account_ids)
    return (f'version: 1\ntopstepx:\n  username: "{sim.user_name}"\n  api_key: "{key}"\n'
            f'  api_url: "{sim.url}"\n  user_hub_url: "{sim.user_hub_url}"\n'
            f'  market_hub_url: "{sim.market_hub_url}"\naccounts:\n{entries}')


@pytest.fixture
def on_sim(tmp_path: Path, sim: SimEndpoints) -> Any:
    """Shipped rules; accounts.yaml pointing at the simulator, its key behind ${SIM_KEY} in secrets.env."""
    harness = AdminHarness(tmp_path)
    harness.install_shipped(accounts=False)
    (harness.config_dir / "accounts.yaml").write_text(sim_accounts_yaml(sim), encoding="utf-8")
    (harness.config_dir / "accounts.yaml").chmod(0o600)
    (harness.config_dir / "secrets.env").write_text(f"# the service's secrets\nSIM_KEY={sim.api_key}\n",
                                                     encoding="utf-8")
    return harness


@pytest.fixture
def tmux() -> str:
    path = shutil.which("tmux")
    if path is None:
        pytest.skip("tmux is not installed here")
    return path
