"""Why an admin command stopped, with the exit code of `cli.md` §0 that says it to scripts."""

from __future__ import annotations

from collections.abc import Sequence

from simple_risk_manager.config import ConfigIssue
from simple_risk_manager.runtime.exit_codes import ExitCode


class AdminError(Exception):
    """A refused or failed command: the message goes to stderr, `code` becomes the exit code."""

    code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, code: ExitCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class PromptNeededError(AdminError):
    """A prompt would be needed but there is no terminal: name the flag that answers it instead."""

    code = ExitCode.USAGE

    def __init__(self, question: str, flag: str) -> None:
        super().__init__(f"{question}: no terminal to ask on; pass {flag}")
        self.flag = flag


class UsageError(AdminError):
    code = ExitCode.USAGE


class NotPrivilegedError(AdminError):
    code = ExitCode.NOT_PRIVILEGED


class AuthFailedError(AdminError):
    code = ExitCode.AUTH_FAILED


class NoServiceManagerError(AdminError):
    code = ExitCode.NO_SERVICE_MANAGER


class ValidationFailedError(AdminError):
    """Input or a candidate configuration failed validation; `issues` are the validator's lines."""

    code = ExitCode.VALIDATION_FAILED

    def __init__(self, message: str, issues: Sequence[ConfigIssue | str] = ()) -> None:
        lines = [message, *(f"  {issue}" for issue in issues)]
        super().__init__("\n".join(lines))
        self.issues = tuple(str(issue) for issue in issues)
