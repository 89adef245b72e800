"""Secrets never reach a log line (daemon.md §8): tokens, API keys and bearer credentials are masked."""

import pytest

from simple_risk_manager.gateway.codes import error_code_name
from simple_risk_manager.gateway.redact import loggable, redact

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MjEiLCJleHAiOjE3NjQwODk3MzF9.sig-_x"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET wss://rtc.example/hubs/user?access_token=abc.def-ghi&x=1", "abc.def-ghi"),
        ("ws://127.0.0.1:8700/hubs/market?id=3&access_token=eyJ%2Eabc", "eyJ%2Eabc"),
        ('{"userName":"trader1","apiKey":"k3y/with+chars=="}', "k3y/with+chars=="),
        ("{'userName': 'trader1', 'apiKey': 'pyrepr-key'}", "pyrepr-key"),
        ('{"token":"opaque-token-value","success":true}', "opaque-token-value"),
        ('{"newToken": "another-opaque", "success": true}', "another-opaque"),
        ("Authorization: Bearer abc123.def456", "abc123.def456"),
        (f"bare jwt {JWT} in text", JWT),
        ('{"apiKey":"with \\"escaped\\" quote"}', 'with \\"escaped\\" quote'),
    ],
)
def test_secrets_are_masked(text, secret):
    masked = redact(text)
    assert secret not in masked
    assert "<redacted>" in masked


def test_harmless_text_is_unchanged():
    text = '{"accountId": 7001, "contractId": "CON.F.US.MNQ.Z25", "customTag": "RM-1"}'
    assert redact(text) == text


def test_loggable_redacts_before_truncating():
    raw = ('{"apiKey":"' + "s" * 3000 + '"}').encode()
    text = loggable(raw, limit=100)
    assert "s" * 50 not in text and "<redacted>" in text


def test_loggable_truncates_long_text():
    text = loggable("x" * 5000, limit=100)
    assert text.startswith("x" * 100) and "4900 more chars" in text


@pytest.mark.parametrize(
    ("endpoint", "code", "name"),
    [
        ("/api/Position/closeContract", 5, "OrderRejected"),
        ("/api/Position/partialCloseContract", 5, "InvalidCloseSize"),  # the shifted enum of §2.3
        ("/api/Position/partialCloseContract", 9, "AccountRejected"),
        ("/api/Order/place", 10, "AccountRejected"),
        ("/api/Order/cancel", 6, "AccountRejected"),
        ("/api/Order/modify", 7, "ContractNotFound"),
        ("/api/Auth/loginKey", 7, "AgreementsNotSigned"),
        ("/api/Auth/validate", 3, "ExpiredToken"),
        ("/api/Contract/searchById", 1, "ContractNotFound"),
        ("/api/Order/cancel", 42, "Unknown(42)"),
        ("/api/Nope", 1, "Unknown(1)"),
    ],
)
def test_error_code_names_per_endpoint(endpoint, code, name):
    assert error_code_name(endpoint, code) == name
