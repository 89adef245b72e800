"""Login values the Admin CLI needs to verify credentials and test connections (`cli.md` §2.3, §2.6).

`${VAR}` references in `accounts.yaml` are filled by the service's environment file
(`<config dir>/secrets.env`, the unit's `EnvironmentFile=`), which the administrator's shell does not
have. So references resolve from `secrets.env` first — what the service will see — and then from the
administrator's environment. Values never leave this process except as the login request itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from simple_risk_manager.admin.errors import AdminError

SECRETS_ENV: Final = "secrets.env"
_REFERENCE: Final = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_env_file(text: str) -> dict[str, str]:
    """systemd `EnvironmentFile=` syntax: `KEY=VALUE` lines, `#`/`;` comments, optional quotes."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, sep, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.fullmatch(key):
            continue
        quote = value[:1]
        if len(value) >= 2 and quote in ("'", '"') and value.endswith(quote):
            value = value[1:-1]
            if quote == '"':
                value = re.sub(r"\\(.)", r"\1", value)
        values[key] = value
    return values


def credential_env(config_dir: Path, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The administrator's environment overlaid with `secrets.env` (the service's values win)."""
    merged = dict(env)
    path = config_dir / SECRETS_ENV
    try:
        merged.update(parse_env_file(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"{path}: cannot be read ({exc})") from None
    return merged


def resolve_value(value: str, env: Mapping[str, str], what: str) -> str:
    """A value as written, or the variable behind a `${NAME}` reference."""
    match = _REFERENCE.fullmatch(value)
    if match is None:
        return value
    resolved = env.get(match.group(1))
    if not resolved:
        raise AdminError(f"{what}: {value} is not set in {SECRETS_ENV} nor in this shell's environment; "
                         "add it to secrets.env, or skip the check with --no-verify")
    return resolved
