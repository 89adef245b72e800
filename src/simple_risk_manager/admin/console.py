"""Terminal I/O of the Admin CLI (`cli.md` §0, §2.2): data to stdout, messages and prompts to stderr.

Prompts appear only when stdin and stdout are terminals. Without one, a question that a flag can answer
raises `PromptNeededError` naming that flag (exit 2). Secrets never come from arguments: they are typed
hidden, or read from stdin one line per prompt in prompt order (`--password-stdin`, `--api-key-stdin`).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TextIO

from simple_risk_manager.admin.errors import PromptNeededError, UsageError

_GREEN: Final = "\x1b[32m"
_RED: Final = "\x1b[31m"
_YELLOW: Final = "\x1b[33m"
_RESET: Final = "\x1b[0m"


@dataclass
class Console:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    #: Prompts are allowed (stdin and stdout are terminals).
    interactive: bool = False
    #: `--password-stdin`: admin and new passwords are stdin lines.
    password_stdin: bool = False
    #: `--api-key-stdin`: the API key is the next stdin line.
    api_key_stdin: bool = False
    #: `--yes`: confirmations are answered yes.
    assume_yes: bool = False
    ascii: bool = False
    color: bool = False
    #: Hidden input from the terminal.
    read_hidden: Callable[[str], str] = field(
        default=lambda prompt: getpass.getpass(prompt, stream=sys.stderr))

    @classmethod
    def for_terminal(cls, *, password_stdin: bool = False, api_key_stdin: bool = False,
                     assume_yes: bool = False, ascii: bool = False, no_color: bool = False,
                     env: dict[str, str] | None = None) -> Console:
        """The process's streams; color only on a terminal and unless `--no-color` or `NO_COLOR`."""
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        no_color = no_color or bool((env or {}).get("NO_COLOR"))
        return cls(interactive=interactive, password_stdin=password_stdin, api_key_stdin=api_key_stdin,
                   assume_yes=assume_yes, ascii=ascii, color=sys.stderr.isatty() and not no_color)

    # --- output ----------------------------------------------------------------------------------

    def data(self, text: str) -> None:
        """Command output (stdout)."""
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def info(self, text: str) -> None:
        """A message for the administrator (stderr)."""
        self.stderr.write(text if text.endswith("\n") else text + "\n")
        self.stderr.flush()

    def warn(self, text: str) -> None:
        self.info(self._paint(_YELLOW, f"warning: {text}"))

    def mark(self, ok: bool | None) -> str:
        """✓ / ✗ / – (OK / FAIL / SKIP with `--ascii`), coloured on a terminal."""
        if ok is None:
            return "SKIP" if self.ascii else "–"
        if ok:
            return self._paint(_GREEN, "OK" if self.ascii else "✓")
        return self._paint(_RED, "FAIL" if self.ascii else "✗")

    def _paint(self, color: str, text: str) -> str:
        return f"{color}{text}{_RESET}" if self.color else text

    # --- input -----------------------------------------------------------------------------------

    def ask(self, prompt: str, flag: str) -> str:
        """A visible answer from the terminal (stripped); `flag` names the scripted alternative."""
        if not self.interactive:
            raise PromptNeededError(prompt, flag)
        self.stderr.write(f"{prompt}: ")
        self.stderr.flush()
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.strip()

    def confirm(self, question: str, flag: str = "--yes") -> bool:
        """y/N; `--yes` answers yes without asking."""
        if self.assume_yes:
            return True
        return self.ask(f"{question} [y/N]", flag).lower() in ("y", "yes")

    def confirm_word(self, question: str, word: str, flag: str = "--yes") -> bool:
        """A destructive choice: the administrator types `word` exactly; `--yes` answers it."""
        if self.assume_yes:
            return True
        return self.ask(f"{question} — type {word} to confirm", flag) == word

    def password(self, prompt: str) -> str:
        """The admin password or a new one: a stdin line with `--password-stdin`, else typed hidden."""
        if self.password_stdin:
            return self._stdin_line(prompt, "--password-stdin")
        if not self.interactive:
            raise PromptNeededError(prompt, "--password-stdin")
        return self.read_hidden(f"{prompt}: ")

    def api_key(self, prompt: str) -> str:
        """An API key: a stdin line with `--api-key-stdin`, else typed hidden."""
        if self.api_key_stdin:
            return self._stdin_line(prompt, "--api-key-stdin")
        if not self.interactive:
            raise PromptNeededError(prompt, "--api-key-stdin or --api-key-env NAME")
        return self.read_hidden(f"{prompt}: ").strip()

    def _stdin_line(self, what: str, flag: str) -> str:
        line = self.stdin.readline()
        if not line:
            raise UsageError(f"{what}: stdin ended before this line ({flag} reads one line per prompt: "
                             "admin password, new password and its confirmation, then the API key)")
        return line.rstrip("\r\n")
