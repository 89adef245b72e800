"""The masking filter on every log handler (`daemon.md` §8): secrets never reach a log file or the console.

Built on the gateway's `redact` (JWTs, Bearer tokens, ``access_token=``/``apiKey=`` query values,
quoted ``"token"``/``"apiKey"``/``"password"`` values), plus bcrypt password hashes, then the
administrator's `mask.extra_patterns` and partial e-mail masking (`mask.emails`). The message with its
arguments, the traceback and the stack are all masked; masking twice changes nothing, so several
handlers can share one record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from simple_risk_manager.config.logging_settings import MaskSettings
from simple_risk_manager.gateway.redact import MASK, redact

# A bcrypt hash as stored in admin_password.hash: $2b$12$ + 22 chars of salt + 31 chars of hash.
_BCRYPT = re.compile(r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}")
# name@domain.tld; the first character of the name stays, so people can still tell addresses apart.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*"
    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)

_TRACEBACK_FORMATTER = logging.Formatter()


class SecretMasker:
    """Masks secrets in text; `emails` and `extra_patterns` come from ``logging.yaml`` ``mask.*``."""

    def __init__(self, *, emails: bool = True, extra_patterns: Iterable[str] = ()) -> None:
        self._emails = emails
        self._extra = tuple(re.compile(pattern) for pattern in extra_patterns)

    @classmethod
    def from_settings(cls, settings: MaskSettings) -> SecretMasker:
        return cls(emails=settings.emails, extra_patterns=settings.extra_patterns)

    def mask(self, text: str) -> str:
        # Built-in secrets first: an extra pattern matching inside a token must not break the token's
        # shape before the token itself is masked.
        text = _BCRYPT.sub(MASK, redact(text))
        for pattern in self._extra:
            text = pattern.sub(MASK, text)
        if self._emails:
            text = _EMAIL.sub(r"\1***@\2", text)
        return text


class MaskingFilter(logging.Filter):
    """Masks a record in place: message with its arguments merged, traceback and stack.

    The traceback is rendered to text here (and the live exception dropped) so that no formatter can
    print an unmasked copy of it later.
    """

    def __init__(self, masker: SecretMasker) -> None:
        super().__init__()
        self._masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._masker.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._masker.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._masker.mask(record.stack_info)
        return True
