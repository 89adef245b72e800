"""Every configuration change of the Admin CLI (`cli.md` §2.4): load → change in memory → validate with
the daemon's own validator → diff → (confirm) → atomic write keeping `<file>.bak`.

Documents are edited with ruamel's round-trip parser, so comments, key order, quoting and the file's
indentation survive. A candidate is refused when it has an error the current files did not have: a
refused edit never touches the file, and a directory that is still being set up (another file not
valid yet) can be fixed one file at a time. Errors that were there before are reported, not hidden.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ruamel.yaml.util import load_yaml_guess_indent

from simple_risk_manager.admin.errors import AdminError, ValidationFailedError
from simple_risk_manager.config import ACCOUNTS_FILE, ConfigIssue, EnvMode, validate_text
from simple_risk_manager.config.issues import SECRET_KEYS
from simple_risk_manager.config.yaml_reader import read_yaml, round_trip_yaml

BACKUP_SUFFIX: Final = ".bak"
#: The shipped files' style, used for new files and for the first list in a file.
_MAPPING_INDENT: Final = 2
_SEQUENCE_OFFSET: Final = 2
_NEW_FILE_MODES: Final = {ACCOUNTS_FILE: 0o600}
_DEFAULT_MODE: Final = 0o640


@dataclass(frozen=True, slots=True)
class Indentation:
    mapping: int = _MAPPING_INDENT
    offset: int = _SEQUENCE_OFFSET

    @classmethod
    def of(cls, text: str) -> Indentation:
        """The file's own indentation, as ruamel guesses it (sequence indent = mapping + dash offset)."""
        _, indent, offset = load_yaml_guess_indent(text)
        if indent is None:
            return cls()
        if offset is None:
            return cls(indent, indent)
        return cls(max(indent - offset, 1), offset)


def load_editable(text: str) -> Any:
    """A round-trip document (comments and quotes kept)."""
    return round_trip_yaml().load(text)


def dump_editable(document: Any, indentation: Indentation) -> str:
    yaml = round_trip_yaml()
    yaml.indent(mapping=indentation.mapping, sequence=indentation.mapping + indentation.offset,
                offset=indentation.offset)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A validated candidate for one file; nothing is written until `write_change`."""

    path: Path
    old_text: str | None
    new_text: str
    #: Errors the directory already had before this change and still has.
    remaining_errors: tuple[ConfigIssue, ...]
    warnings: tuple[ConfigIssue, ...]

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        """Unified diff for the administrator; API keys in it appear only as `…last4`."""
        old = [] if self.old_text is None else self.old_text.splitlines(keepends=True)
        lines = difflib.unified_diff(old, self.new_text.splitlines(keepends=True),
                                     f"a/{self.filename}", f"b/{self.filename}")
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        secrets = _secret_values(self.old_text) | _secret_values(self.new_text)
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, masked_secret(secret))
        return text


def masked_secret(value: object) -> str:
    """How a secret may be shown: `${VAR}` references as written, keys as `…last4` (`cli.md` §2.3)."""
    text = str(value)
    if text.startswith("${"):
        return text
    return "…" + text[-4:] if len(text) >= 8 else "…"


def _secret_values(text: str | None) -> set[str]:
    """Values under secret keys (`api_key`, …) that are not `${VAR}` references."""
    found: set[str] = set()
    if text is None:
        return found
    value, _ = read_yaml(text)
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key in SECRET_KEYS and isinstance(item, str) and item and not item.startswith("${"):
                    found.add(item)
                else:
                    pending.append(item)
        elif isinstance(node, list):
            pending.extend(node)
    return found


def read_config_text(config_dir: Path, filename: str) -> str | None:
    path = config_dir / filename
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"{path}: cannot be read ({exc})") from None


def propose_text(config_dir: Path, filename: str, new_text: str) -> ConfigChange:
    """Validate `new_text` as the next `filename` against the rest of the directory."""
    old_text = read_config_text(config_dir, filename)
    after = validate_text(filename, new_text, config_dir=config_dir, env_mode=EnvMode.SYNTAX_ONLY)
    before: set[str] = set()
    if old_text is not None:
        current = validate_text(filename, old_text, config_dir=config_dir, env_mode=EnvMode.SYNTAX_ONLY)
        before = {str(issue) for issue in current.errors}
    new_errors = [issue for issue in after.errors if str(issue) not in before]
    if new_errors:
        raise ValidationFailedError(f"{filename}: change refused (the file is unchanged):", new_errors)
    remaining = tuple(issue for issue in after.errors if str(issue) in before)
    return ConfigChange(config_dir / filename, old_text, new_text, remaining, after.warnings)


def propose_edit(config_dir: Path, filename: str, edit: Callable[[Any], None],
                 new_document: Callable[[], Any] | None = None) -> ConfigChange:
    """Load `filename`, apply `edit` to the document, validate. `new_document` makes a missing file."""
    text = read_config_text(config_dir, filename)
    if text is None:
        if new_document is None:
            raise AdminError(f"{config_dir / filename} does not exist")
        document, indentation = new_document(), Indentation()
    else:
        document, indentation = load_editable(text), Indentation.of(text)
        if document is None:
            raise ValidationFailedError(f"{filename}: the file is empty; nothing to edit")
    edit(document)
    return propose_text(config_dir, filename, dump_editable(document, indentation))


def write_change(change: ConfigChange) -> Path | None:
    """Write atomically (temp file in the same directory, fsync, rename) with the old owner and mode;
    the previous version becomes `<file>.bak`. Returns the backup, None for a new file."""
    path = change.path
    try:
        stat = path.stat()
    except FileNotFoundError:
        stat = None
    mode = (stat.st_mode & 0o7777) if stat is not None else _NEW_FILE_MODES.get(path.name, _DEFAULT_MODE)
    owner = (stat.st_uid, stat.st_gid) if stat is not None else None
    backup: Path | None = None
    if change.old_text is not None:
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        _atomic_write(backup, path.read_bytes(), mode, owner)
    _atomic_write(path, change.new_text.encode("utf-8"), mode, owner)
    return backup


def _atomic_write(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(OSError):  # Windows keeps the directory's ACL instead
            temporary.chmod(mode)
        if owner is not None and hasattr(os, "chown"):
            os.chown(temporary, *owner)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """POSIX: make the rename itself durable. Windows cannot open a directory; NTFS journals it."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
