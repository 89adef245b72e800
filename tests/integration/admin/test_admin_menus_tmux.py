"""The numbered menus driven once through a real terminal (tmux): log in with the hidden prompt, go to
Configure rules → Edit parameters, change RULE-003's loss limit, confirm, and leave with 0, 0."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PASSWORD, AdminHarness

WAIT_S = 20.0
LAUNCHER = Path(__file__).with_name("menu_launcher.py")


class Terminal:
    """One tmux session running a command; the screen is read back with capture-pane."""

    def __init__(self, tmux: str, command: str) -> None:
        self.tmux = tmux
        self.name = f"srm-admin-{uuid.uuid4().hex[:8]}"
        subprocess.run([tmux, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "60",
                        f"{command}; echo EXITED $?; sleep 60"], check=True, timeout=10)

    def screen(self) -> str:
        done = subprocess.run([self.tmux, "capture-pane", "-p", "-J", "-t", self.name, "-S", "-500"],
                              capture_output=True, text=True, check=True, timeout=10)
        return done.stdout

    def wait_for(self, text: str, count: int = 1) -> str:
        """Poll the screen until `text` appears `count` times (a real condition, no fixed sleep)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} ×{count} did not appear; screen:\n{self.screen()}")

    def type(self, keys: str) -> None:
        subprocess.run([self.tmux, "send-keys", "-t", self.name, "-l", keys], check=True, timeout=10)
        subprocess.run([self.tmux, "send-keys", "-t", self.name, "Enter"], check=True, timeout=10)

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.name], check=False, timeout=10)


@pytest.fixture
def terminal(tmux: str, tmp_path: Path) -> Iterator[tuple[Terminal, AdminHarness]]:
    harness = AdminHarness(tmp_path)
    harness.install_shipped()
    command = (f"{sys.executable} {LAUNCHER} --config-dir {harness.config_dir} --data-dir {harness.data_dir} "
               f"--log-dir {harness.log_dir}")
    term = Terminal(tmux, command)
    yield term, harness
    term.close()


def test_menus_change_a_rule_limit(terminal: tuple[Terminal, AdminHarness]) -> None:
    term, harness = terminal
    term.wait_for("Admin password:")
    term.type(PASSWORD)
    term.wait_for("Choose:")
    assert "  2  Configure rules" in term.screen()
    term.type("2")
    term.wait_for("Choose:", 2)
    term.type("3")
    term.wait_for("Rule number:")
    term.type("3")
    term.wait_for("key=value")
    term.type("loss_limit=650.00")
    term.wait_for("key=value", 2)
    term.type("")
    term.wait_for("Only for account id")
    term.type("")
    screen = term.wait_for("Write risk_config.yaml? [y/N]:")
    assert "-    loss_limit: 500.00" in screen and "+    loss_limit: 650.00" in screen
    term.type("y")
    term.wait_for("Choose:", 3)
    term.type("0")
    term.wait_for("Choose:", 4)
    term.type("0")
    screen = term.wait_for("EXITED")
    assert "EXITED 0" in screen
    assert PASSWORD not in screen
    assert "    loss_limit: 650.00\n" in harness.text("risk_config.yaml")
    backup = (harness.config_dir / "risk_config.yaml.bak").read_text(encoding="utf-8")
    assert "    loss_limit: 500.00\n" in backup
    commands = [line for line in harness.audit_lines() if "rules set" in line]
    assert len(commands) == 1 and "RULE-003 loss_limit=650.00" in commands[0]
