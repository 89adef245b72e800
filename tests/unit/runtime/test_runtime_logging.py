"""Daemon logging (`daemon.md` §8, `logging.yaml` §10): files, routing, formats, console and masking."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from simple_risk_manager.config import LoggingSettings
from simple_risk_manager.runtime.log_format import JournalFormatter, TextFormatter
from simple_risk_manager.runtime.log_masking import MaskingFilter, SecretMasker
from simple_risk_manager.runtime.logging_setup import (
    API_LOGGER,
    ENFORCEMENT_LOGGER,
    DaemonLogging,
    console_for,
    setup_logging,
    under_systemd,
)

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc0MTEwMDAwMH0"
       ".c2lnbmF0dXJlLXNpZ25hdHVyZQ")
API_KEY = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
HUB_TOKEN = "opaque-hub-token-0123456789"
BCRYPT_HASH = bcrypt.hashpw(b"correct horse battery", bcrypt.gensalt(rounds=4)).decode("ascii")
SECRETS = (JWT, API_KEY, HUB_TOKEN, BCRYPT_HASH)
# One text of each shape a secret reaches a log line in.
SECRET_TEXTS = {
    "login body": f'{{"userName": "trader", "apiKey": "{API_KEY}"}}',
    "token response": f'{{"token": "{JWT}", "success": true}}',
    "hub url": f"wss://rtc.example.com/hubs/user?access_token={HUB_TOKEN}",
    "bearer header": f"Authorization: Bearer {JWT}",
    "password hash": f"admin_password.hash holds {BCRYPT_HASH}",
}

PACKAGE = logging.getLogger("simple_risk_manager.runtime_test")
ENFORCEMENT = logging.getLogger(ENFORCEMENT_LOGGER)
API = logging.getLogger(API_LOGGER)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


Configure = Callable[..., DaemonLogging]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def configure(log_dir: Path) -> Iterator[Configure]:
    """setup_logging with `logging.yaml` keys as overrides; closed (drained) after the test."""
    opened: list[DaemonLogging] = []

    def _configure(stream: io.StringIO | None = None, env: dict[str, str] | None = None,
                   **yaml_keys: Any) -> DaemonLogging:
        settings = LoggingSettings.model_validate(yaml_keys)
        configured = setup_logging(settings, log_dir, stream=stream or io.StringIO(), env=env or {})
        opened.append(configured)
        return configured

    yield _configure
    for configured in opened:
        configured.close()


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(path).splitlines()]


def test_files_are_created_with_their_names(configure: Configure, log_dir: Path) -> None:
    configured = configure()
    assert sorted(configured.files) == ["daemon.log", "enforcement.log", "error.log"]
    assert sorted(entry.name for entry in log_dir.iterdir()) == ["daemon.log", "enforcement.log", "error.log"]
    assert all(path.parent == log_dir for path in configured.files.values())


def test_api_log_only_when_enabled(configure: Configure, log_dir: Path) -> None:
    configured = configure(files={"api": {"enabled": True, "keep_days": 3}})
    assert API.isEnabledFor(logging.DEBUG)
    API.debug("POST /api/Position/searchOpen {}")
    configured.close()
    assert "api.log" in configured.files
    assert [line["msg"] for line in json_lines(log_dir / "api.log")] == ["POST /api/Position/searchOpen {}"]
    assert "searchOpen" not in read(log_dir / "daemon.log")


def test_api_logger_is_off_when_its_file_is(configure: Configure) -> None:
    """The gateway guards payload formatting with isEnabledFor(DEBUG): it must be False, even at DEBUG."""
    configure(level="DEBUG")
    assert not API.isEnabledFor(logging.DEBUG)
    assert PACKAGE.isEnabledFor(logging.DEBUG)


def test_json_lines_carry_the_fields_and_context(configure: Configure, log_dir: Path) -> None:
    configured = configure()
    PACKAGE.info("reconcile for %s: %d differences", 4411, 2, extra={"account_id": 4411, "seq": 17})
    configured.close()
    [line] = json_lines(log_dir / "daemon.log")
    assert line == {"ts": line["ts"], "level": "INFO", "logger": PACKAGE.name,
                    "msg": "reconcile for 4411: 2 differences", "account_id": 4411, "seq": 17}
    assert line["ts"].endswith("Z") and len(line["ts"]) == len("2025-03-04T15:02:11.480Z")


def test_records_are_routed_to_their_files(configure: Configure, log_dir: Path) -> None:
    configured = configure(files={"api": {"enabled": True}})
    PACKAGE.info("hub connected")
    ENFORCEMENT.info("RULE-003 breach", extra={"account_id": 1, "rule_id": "RULE-003"})
    ENFORCEMENT.critical("flatten failed")
    PACKAGE.error("db job failed")
    logging.getLogger("aiohttp.client").warning("library warning")
    API.debug("hub <- payload")
    configured.close()
    messages = {name: [line["msg"] for line in json_lines(log_dir / name)] for name in configured.files}
    assert messages == {
        "daemon.log": ["hub connected", "db job failed", "library warning"],
        "enforcement.log": ["RULE-003 breach", "flatten failed"],
        "error.log": ["flatten failed", "db job failed"],
        "api.log": ["hub <- payload"],
    }
    breach = json_lines(log_dir / "enforcement.log")[0]
    assert (breach["account_id"], breach["rule_id"]) == (1, "RULE-003")


def test_level_applies_to_daemon_log_only(configure: Configure, log_dir: Path) -> None:
    configured = configure(level="WARNING")
    PACKAGE.info("not in daemon.log")
    PACKAGE.warning("in daemon.log")
    ENFORCEMENT.info("enforcement.log stays at INFO")
    configured.close()
    assert [line["msg"] for line in json_lines(log_dir / "daemon.log")] == ["in daemon.log"]
    enforcement = [line["msg"] for line in json_lines(log_dir / "enforcement.log")]
    assert enforcement == ["enforcement.log stays at INFO"]


def test_debug_level_is_for_our_package_not_libraries(configure: Configure, log_dir: Path) -> None:
    configured = configure(level="DEBUG")
    PACKAGE.debug("ours")
    logging.getLogger("websockets.client").debug("frame bytes")
    configured.close()
    assert [line["msg"] for line in json_lines(log_dir / "daemon.log")] == ["ours"]


def test_plain_text_files(configure: Configure, log_dir: Path) -> None:
    configured = configure(json=False)
    PACKAGE.warning("quote stale", extra={"account_id": 7, "rule_id": "RULE-004"})
    configured.close()
    [line] = read(log_dir / "daemon.log").splitlines()
    timestamp, rest = line.split(" ", 1)
    assert timestamp.endswith("Z")
    assert rest == f"WARNING  {PACKAGE.name}: quote stale [account_id=7 rule_id=RULE-004]"


def test_exception_traceback_is_kept_in_its_own_field(configure: Configure, log_dir: Path) -> None:
    configured = configure()
    try:
        raise RuntimeError("task died")
    except RuntimeError:
        PACKAGE.exception("dispatcher crashed")
    configured.close()
    [line] = json_lines(log_dir / "error.log")
    assert line["msg"] == "dispatcher crashed" and line["level"] == "ERROR"
    assert line["exc"].startswith("Traceback") and "RuntimeError: task died" in line["exc"]


@pytest.mark.parametrize("json_files", [True, False], ids=["json", "text"])
@pytest.mark.parametrize("shape", list(SECRET_TEXTS))
def test_secrets_never_reach_any_file_or_the_console(configure: Configure, log_dir: Path, shape: str,
                                                     json_files: bool) -> None:
    """The secret in the message itself, in the arguments and in an exception's traceback, through
    every logger, at levels that reach every file and the console."""
    console = Terminal()
    configured = configure(stream=console, json=json_files, files={"api": {"enabled": True}})
    text = SECRET_TEXTS[shape]
    for logger in (PACKAGE, ENFORCEMENT, API):
        logger.error("in the message: " + text.replace("%", "%%"))
        logger.error("in the arguments: %s", text)
        try:
            raise ValueError(text)
        except ValueError:
            logger.exception("in a traceback")
    API.debug("raw: %s", text)
    configured.close()
    outputs = {name: read(path) for name, path in configured.files.items()} | {"console": console.getvalue()}
    for name, output in outputs.items():
        assert "<redacted>" in output, name
        for secret in SECRETS:
            assert secret not in output, f"{name} leaks a secret"


def test_emails_are_partially_masked_by_default(configure: Configure, log_dir: Path) -> None:
    configured = configure()
    PACKAGE.info("login as %s", "jane.doe@example.com")
    configured.close()
    assert json_lines(log_dir / "daemon.log")[0]["msg"] == "login as j***@example.com"


def test_email_masking_can_be_turned_off(configure: Configure, log_dir: Path) -> None:
    configured = configure(mask={"emails": False})
    PACKAGE.info("login as %s", "jane.doe@example.com")
    configured.close()
    assert json_lines(log_dir / "daemon.log")[0]["msg"] == "login as jane.doe@example.com"


def test_extra_patterns_are_masked(configure: Configure, log_dir: Path) -> None:
    configured = configure(mask={"extra_patterns": [r"ACCT-\d+"]})
    PACKAGE.info("nickname ACCT-998877 connected")
    configured.close()
    assert json_lines(log_dir / "daemon.log")[0]["msg"] == "nickname <redacted> connected"


@pytest.mark.parametrize(("text", "expected"), [
    (f"hash {BCRYPT_HASH} read", "hash <redacted> read"),
    ("first.last+tag@mail.example.co.uk wrote", "f***@mail.example.co.uk wrote"),
    ("no secret here: account 4411 closed 2 MES", "no secret here: account 4411 closed 2 MES"),
    (f"token={HUB_TOKEN}&x=1", "token=<redacted>&x=1"),
])
def test_masker_examples(text: str, expected: str) -> None:
    assert SecretMasker().mask(text) == expected


def test_masking_twice_changes_nothing() -> None:
    masker = SecretMasker(extra_patterns=[r"ACCT-\d+"])
    once = masker.mask(" ".join([*SECRET_TEXTS.values(), "jane@example.com ACCT-1"]))
    assert masker.mask(once) == once


def test_extra_patterns_cannot_split_a_token_before_it_is_masked() -> None:
    """An administrator's pattern matching inside a JWT must not leave the rest of it readable."""
    masked = SecretMasker(extra_patterns=["IUzI1"]).mask(f"token {JWT}")
    assert masked == "token <redacted>"


def test_masking_filter_works_on_a_handler_of_its_own() -> None:
    """Used without the queue (e.g. the Admin CLI's own log): merges args and renders the traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(timestamps=False))
    handler.addFilter(MaskingFilter(SecretMasker()))
    try:
        raise ValueError(f"GET /x?apiKey={API_KEY}")
    except ValueError as error:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "body %s", (SECRET_TEXTS["login body"],),
                                   (type(error), error, error.__traceback__))
    handler.handle(record)
    assert API_KEY not in stream.getvalue()
    assert stream.getvalue().startswith('ERROR    x: body {"userName": "trader", "apiKey": "<redacted>"}\n')


# -- console ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "tty", "env", "expected"), [
    pytest.param("auto", True, {}, ("TextFormatter", logging.INFO), id="auto on a terminal: readable, level"),
    pytest.param("auto", True, {"JOURNAL_STREAM": "8:1234"}, ("JournalFormatter", logging.WARNING),
                 id="auto under systemd (journal): WARNING+"),
    pytest.param("auto", False, {"INVOCATION_ID": "abc"}, ("JournalFormatter", logging.WARNING),
                 id="auto under systemd (invocation id): WARNING+"),
    pytest.param("auto", False, {}, ("TextFormatter", logging.WARNING), id="auto redirected: WARNING+"),
    pytest.param(True, False, {"JOURNAL_STREAM": "8:1"}, ("TextFormatter", logging.INFO), id="true forces"),
    pytest.param(False, True, {}, None, id="false: no console"),
])
def test_console_choice(setting: bool | str, tty: bool, env: dict[str, str],
                        expected: tuple[str, int] | None) -> None:
    stream = Terminal() if tty else io.StringIO()
    chosen = console_for(setting, logging.INFO, stream, env)  # type: ignore[arg-type]
    assert (None if chosen is None else (type(chosen[0]).__name__, chosen[1])) == expected


def test_under_systemd_ignores_empty_markers() -> None:
    assert not under_systemd({"JOURNAL_STREAM": "", "INVOCATION_ID": ""})
    assert under_systemd({"INVOCATION_ID": "0123"})


def test_console_on_a_terminal_shows_enforcement_but_not_raw_api(configure: Configure) -> None:
    console = Terminal()
    configured = configure(stream=console, files={"api": {"enabled": True}})
    ENFORCEMENT.info("CLOSE_ALL_POSITIONS on 4411", extra={"account_id": 4411})
    API.debug("hub <- raw")
    configured.close()
    [line] = console.getvalue().splitlines()
    assert line.endswith("INFO     enforcement: CLOSE_ALL_POSITIONS on 4411 [account_id=4411]")


def test_console_under_systemd_has_priorities_and_no_timestamps(configure: Configure) -> None:
    console = io.StringIO()
    configured = configure(stream=console, env={"JOURNAL_STREAM": "8:99"})
    PACKAGE.info("not shown")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        PACKAGE.exception("task failed")
    configured.close()
    lines = console.getvalue().splitlines()
    assert lines[0] == f"<3>ERROR    {PACKAGE.name}: task failed"
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)


def test_journal_priority_of_a_custom_level() -> None:
    record = logging.LogRecord("x", 35, __file__, 1, "between warning and error", None, None)
    assert JournalFormatter().format(record).startswith("<4>")


def test_console_false_writes_nothing(configure: Configure) -> None:
    console = Terminal()
    configured = configure(stream=console, console=False)
    PACKAGE.error("only in files")
    configured.close()
    assert console.getvalue() == ""


# -- lifecycle -------------------------------------------------------------------------------------

def test_close_restores_loggers_and_is_idempotent(configure: Configure, log_dir: Path) -> None:
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    configured = configure(level="DEBUG")
    assert len(root.handlers) == len(handlers_before) + 1
    configured.close()
    configured.close()
    assert root.handlers == handlers_before and root.level == level_before
    assert logging.getLogger("simple_risk_manager").level == logging.NOTSET
    PACKAGE.error("after close")
    assert "after close" not in read(log_dir / "error.log")


def test_files_rotate_with_the_configured_keep_days_and_compression(configure: Configure,
                                                                    log_dir: Path) -> None:
    """Records with explicit timestamps on four consecutive days, through the configured loggers."""
    configured = configure(compress_rotated=False, files={"daemon": {"keep_days": 2},
                                                          "enforcement": {"keep_days": 3}})
    start = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    for day in range(4):
        for logger in (PACKAGE, ENFORCEMENT):
            made = logger.makeRecord(logger.name, logging.INFO, __file__, 1, f"day {day}", None, None)
            made.created = (start + timedelta(days=day)).timestamp()
            logger.handle(made)
    configured.close()
    assert sorted(entry.name for entry in log_dir.iterdir()) == [
        "daemon.log", "daemon.log.2025-03-05", "daemon.log.2025-03-06",
        "enforcement.log", "enforcement.log.2025-03-04", "enforcement.log.2025-03-05",
        "enforcement.log.2025-03-06", "error.log",
    ]
    assert [line["msg"] for line in json_lines(log_dir / "daemon.log.2025-03-06")] == ["day 2"]


def test_log_files_are_not_world_readable(configure: Configure, log_dir: Path) -> None:
    if not hasattr(__import__("os"), "getuid"):
        pytest.skip("POSIX modes")
    configured = configure()
    PACKAGE.info("x")
    configured.close()
    assert (log_dir / "daemon.log").stat().st_mode & 0o007 == 0
