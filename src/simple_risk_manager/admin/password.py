"""The admin password (`cli.md` §2.2, `config.md` §5): one bcrypt hash line in `admin_password.hash`.

New hashes are `$2b$`, cost 12. Passwords are 8 … 72 bytes of UTF-8 — bcrypt ignores everything after
byte 72, so longer input is refused rather than silently cut. A login gets 3 attempts with a 1 s pause
after each failure (a script reading stdin gets one: its next lines belong to other prompts), then
exit 3. The file is replaced atomically with mode 600; whoever can delete it is already root, which is
why "forgotten password" is simply: delete it and set a new one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import bcrypt

from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.errors import AdminError, AuthFailedError, ValidationFailedError
from simple_risk_manager.config import PASSWORD_FILE, password_hash_problem

MIN_PASSWORD_BYTES: Final = 8
MAX_PASSWORD_BYTES: Final = 72
RECOMMENDED_BYTES: Final = 12
NEW_HASH_COST: Final = 12
LOGIN_ATTEMPTS: Final = 3
FAILURE_PAUSE_S: Final = 1.0
_NEW_PASSWORD_TRIES: Final = 3


def new_password_problem(password: str) -> str | None:
    """Why `password` cannot be the admin password, or None."""
    size = len(password.encode("utf-8"))
    if size < MIN_PASSWORD_BYTES:
        return f"too short: at least {MIN_PASSWORD_BYTES} bytes ({RECOMMENDED_BYTES}+ recommended)"
    if size > MAX_PASSWORD_BYTES:
        return (f"too long: at most {MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt ignores the rest; "
                f"this one has {size})")
    if "\x00" in password:
        return "must not contain a NUL character"
    return None


def hash_password(password: str, cost: int = NEW_HASH_COST) -> str:
    problem = new_password_problem(password)
    if problem is not None:
        raise ValueError(f"password: {problem}")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost, prefix=b"2b")).decode("ascii")


class PasswordFile:
    """`admin_password.hash` in the config directory."""

    def __init__(self, config_dir: Path, cost: int = NEW_HASH_COST) -> None:
        self.path = config_dir / PASSWORD_FILE
        self.cost = cost

    def exists(self) -> bool:
        return self.path.is_file()

    def stored_hash(self) -> bytes:
        """The hash; an unusable file stops every command with the way out (`config.md` §5)."""
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise AdminError(f"{self.path} does not exist: set the admin password first with "
                             "srm admin password set") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AdminError(f"{self.path} cannot be read ({exc}); delete it and set a new password with "
                             "srm admin password set") from None
        problem = password_hash_problem(text)
        if problem is not None:
            raise AdminError(f"{self.path}: {problem}")
        return text.strip().encode("ascii")

    def matches(self, password: str) -> bool:
        stored = self.stored_hash()
        try:
            return bcrypt.checkpw(password.encode("utf-8"), stored)
        except ValueError:  # e.g. longer than 72 bytes: it cannot be the password
            return False

    def write_password(self, password: str) -> None:
        """Hash and replace the file atomically (temp file beside it, fsync, rename), mode 600."""
        text = hash_password(password, self.cost) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        with contextlib.suppress(OSError):  # a file system without modes (Windows) keeps its ACL
            self.path.chmod(0o600)


def login(file: PasswordFile, console: Console, record: Callable[[str], None],
          sleep: Callable[[float], None] = time.sleep) -> None:
    """Ask for the admin password; `AuthFailedError` (exit 3) after the last wrong attempt.

    `record(outcome)` is called for every attempt (`admin.log`).
    """
    file.stored_hash()  # an unusable file is reported before anyone types a password
    attempts = 1 if console.password_stdin else LOGIN_ATTEMPTS
    for attempt in range(1, attempts + 1):
        if file.matches(console.password("Admin password")):
            record("login ok")
            return
        record(f"login failed (attempt {attempt} of {attempts})")
        sleep(FAILURE_PAUSE_S)
        if attempt < attempts:
            console.info("Wrong password, try again.")
    raise AuthFailedError(f"wrong admin password ({attempts} attempt{'s' if attempts > 1 else ''}); "
                     "a forgotten password is reset by deleting "
                     f"{file.path} and running srm admin password set")


def choose_new_password(console: Console) -> str:
    """A new password, typed twice; a terminal may retry, a script's input is refused (exit 6)."""
    tries = _NEW_PASSWORD_TRIES if console.interactive and not console.password_stdin else 1
    attempt = 1
    while True:
        password = console.password(f"New admin password ({MIN_PASSWORD_BYTES}-{MAX_PASSWORD_BYTES} bytes)")
        repeat = console.password("Repeat the new password")
        problem = new_password_problem(password)
        if problem is None and password != repeat:
            problem = "the two entries differ"
        if problem is None:
            if len(password.encode("utf-8")) < RECOMMENDED_BYTES:
                console.warn(f"{RECOMMENDED_BYTES} or more characters are recommended")
            return password
        if attempt >= tries:
            raise ValidationFailedError(f"new password refused: {problem}")
        console.info(f"New password refused: {problem}. Try again.")
        attempt += 1
