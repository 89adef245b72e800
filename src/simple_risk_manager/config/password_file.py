"""The admin password file's format (`config.md` §5, D-45): one bcrypt hash line, cost 10 … 14."""

from __future__ import annotations

import re
from typing import Final

PASSWORD_HASH_FORMAT: Final = re.compile(r"\$2[aby]\$(1[0-4])\$[./A-Za-z0-9]{53}")


def password_hash_problem(text: str) -> str | None:
    """Why the file's text is not a usable hash (never quoting it), or None when it is one."""
    line = text.removesuffix("\n").removesuffix("\r")
    if PASSWORD_HASH_FORMAT.fullmatch(line):
        return None
    return ("not a valid bcrypt hash line ($2b$, cost 10 to 14, 60 characters); the Admin CLI will refuse "
            "to run: delete the file and set a new password with srm admin password set")
