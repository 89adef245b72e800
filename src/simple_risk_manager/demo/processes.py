"""The simulator and the daemon as child processes, for `srm demo` and `bench/latency.py`.

Each child gets its own process group (a new session on POSIX, CREATE_NEW_PROCESS_GROUP on Windows), so
a Ctrl-C in the terminal reaches only the demo, which then stops the daemon before the simulator it
talks to. Stopping is the graceful signal first (SIGTERM; CTRL_BREAK on Windows), a kill only after a
timeout. Child output goes to a file, never to an unread pipe that could fill up and block the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import orjson

#: `python -m projectx_sim` prints this, then JSON with its URLs and demo login (docs/simulator.md).
SIM_READY_PREFIX: Final = "PROJECTX_SIM_READY "
SIM_START_TIMEOUT_S: Final = 30.0
#: `daemon.md` §3.1: a graceful stop takes < 15 s; give it a little more before killing.
STOP_TIMEOUT_S: Final = 20.0


class ChildStartError(RuntimeError):
    """A child process could not be started or ended before it was ready."""


@dataclass(frozen=True, slots=True)
class SimEndpoints:
    """Where the simulator listens and the login it created (its ready line)."""

    url: str
    user_hub_url: str
    market_hub_url: str
    user_name: str
    api_key: str
    account_ids: tuple[int, ...]

    def __repr__(self) -> str:  # the sim's demo key is not a secret, but keys never reach reprs
        return f"SimEndpoints(url={self.url!r}, user_name={self.user_name!r})"


def parse_ready_line(line: str) -> SimEndpoints | None:
    """The endpoints from the simulator's ready line, or None for any other line."""
    if not line.startswith(SIM_READY_PREFIX):
        return None
    info: dict[str, Any] = orjson.loads(line[len(SIM_READY_PREFIX):])
    return SimEndpoints(url=info["url"], user_hub_url=info["userHubUrl"],
                        market_hub_url=info["marketHubUrl"], user_name=info["userName"],
                        api_key=info["apiKey"], account_ids=tuple(info["accountIds"]))


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (for the daemon's broadcast server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _group_options() -> dict[str, Any]:
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class ChildProcess:
    """One child with its output file; `stop()` ends it gracefully, then by force."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, output: Path,
                 sink: IO[bytes]) -> None:
        self.name = name
        self.process = process
        self.output = output
        self._sink = sink

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def stop(self, grace_s: float = STOP_TIMEOUT_S) -> int:
        """Ask the child to stop and wait; kill it if it has not ended after `grace_s`. Its exit code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                if sys.platform == "win32":
                    self.process.send_signal(signal.CTRL_BREAK_EVENT)
                else:
                    self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        self._sink.close()
        code = self.process.returncode
        assert code is not None
        return code

    def output_tail(self, lines: int = 30) -> str:
        """The last lines the child wrote (for a failure report)."""
        try:
            text = self.output.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def _spawn(name: str, args: Sequence[str], output: Path, *,
                 stdout_pipe: bool = False) -> ChildProcess:
    sink = output.open("wb")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if stdout_pipe else sink, stderr=sink, **_group_options())
    except BaseException:
        sink.close()
        raise
    return ChildProcess(name, process, output, sink)


async def start_simulator(output: Path, extra_args: Sequence[str] = ()) -> tuple[ChildProcess, SimEndpoints]:
    """`python -m projectx_sim --port 0 …`, waiting for its ready line."""
    child = await _spawn("simulator", ["-m", "projectx_sim", "--port", "0", *extra_args], output,
                         stdout_pipe=True)
    stdout = child.process.stdout
    assert stdout is not None
    try:
        async with asyncio.timeout(SIM_START_TIMEOUT_S):
            while True:
                line = (await stdout.readline()).decode("utf-8", errors="replace")
                if not line:
                    await child.process.wait()
                    raise ChildStartError(f"the simulator exited (code {child.process.returncode}) before it "
                                      f"was ready:\n{child.output_tail()}")
                endpoints = parse_ready_line(line.strip())
                if endpoints is not None:
                    return child, endpoints
    except TimeoutError:
        await child.stop()
        raise ChildStartError(f"the simulator was not ready within {SIM_START_TIMEOUT_S:.0f} s") from None
    except BaseException:
        await child.stop()
        raise


async def start_daemon(config_dir: Path, data_dir: Path, log_dir: Path, output: Path,
                       interpreter_args: Sequence[str] = ()) -> ChildProcess:
    """`srm run` on those directories; readiness is the caller's to watch (the broadcast feed).
    `interpreter_args` go before the module (the benchmark's `-m cProfile -o FILE`)."""
    return await _spawn("daemon", [*interpreter_args, "-m", "simple_risk_manager.cli.main", "run",
                                   "--config-dir", str(config_dir), "--data-dir", str(data_dir),
                                   "--log-dir", str(log_dir)], output)
