"""Admin password (`cli.md` §2.1–§2.2, `config.md` §5): rules, the hash file, login attempts with
their pause, first run, change, and the administrator check."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.errors import AdminError, AuthFailedError, ValidationFailedError
from simple_risk_manager.admin.password import (
    FAILURE_PAUSE_S,
    PasswordFile,
    choose_new_password,
    hash_password,
    login,
    new_password_problem,
)
from simple_risk_manager.config import password_hash_problem
from simple_risk_manager.runtime.exit_codes import ExitCode

from .fakes import PASSWORD, TEST_COST, AdminHarness, write_password


@pytest.mark.parametrize(("password", "problem"), [
    pytest.param("a" * 7, "too short", id="7-bytes"),
    pytest.param("a" * 8, None, id="8-bytes"),
    pytest.param("a" * 72, None, id="72-bytes"),
    pytest.param("a" * 73, "too long", id="73-bytes"),
    pytest.param("é" * 36, None, id="36-two-byte-characters-are-72-bytes"),
    pytest.param("é" * 37, "too long", id="37-two-byte-characters-are-74-bytes"),
    pytest.param("abcdefgh\x00", "NUL", id="nul"),
])
def test_password_length_is_counted_in_utf8_bytes(password: str, problem: str | None) -> None:
    found = new_password_problem(password)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_new_hashes_are_2b_cost_12_and_pass_the_file_format() -> None:
    hashed = hash_password("a sound password")
    assert hashed.startswith("$2b$12$") and len(hashed) == 60
    assert password_hash_problem(hashed + "\n") is None


def test_password_file_is_one_line_mode_600_and_verifies(tmp_path: Path) -> None:
    file = PasswordFile(tmp_path, cost=TEST_COST)
    file.write_password(PASSWORD)
    text = file.path.read_text(encoding="ascii")
    assert text.count("\n") == 1 and text.startswith("$2b$10$")
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    assert file.matches(PASSWORD) and not file.matches(PASSWORD + "x")
    assert not file.matches("x" * 80)  # longer than bcrypt's 72 bytes: never the password
    assert not list(tmp_path.glob(".*tmp"))


def test_an_invalid_hash_file_is_refused_with_the_way_out(tmp_path: Path) -> None:
    file = PasswordFile(tmp_path)
    file.path.write_text("$2b$04$tooweak\n", encoding="ascii")
    with pytest.raises(AdminError, match="delete the file and set a new password"):
        file.matches(PASSWORD)


def _console(*typed: str, password_stdin: str | None = None) -> Console:
    answers = iter(typed)
    return Console(stdin=io.StringIO(password_stdin or ""), stdout=io.StringIO(), stderr=io.StringIO(),
                   interactive=True, password_stdin=password_stdin is not None,
                   read_hidden=lambda prompt: next(answers))


def test_login_right_first_time_pauses_never(tmp_path: Path) -> None:
    write_password(tmp_path)
    sleeps: list[float] = []
    records: list[str] = []
    login(PasswordFile(tmp_path), _console(PASSWORD), records.append, sleeps.append)
    assert records == ["login ok"] and sleeps == []


def test_login_wrong_then_right_pauses_one_second(tmp_path: Path) -> None:
    write_password(tmp_path)
    sleeps: list[float] = []
    records: list[str] = []
    login(PasswordFile(tmp_path), _console("wrong one", PASSWORD), records.append, sleeps.append)
    assert sleeps == [FAILURE_PAUSE_S] == [1.0]
    assert records == ["login failed (attempt 1 of 3)", "login ok"]


def test_repeated_failures_exhaust_the_attempts(tmp_path: Path) -> None:
    write_password(tmp_path)
    sleeps: list[float] = []
    records: list[str] = []
    with pytest.raises(AuthFailedError) as raised:
        login(PasswordFile(tmp_path), _console("a", "b", "c"), records.append, sleeps.append)
    assert raised.value.code == ExitCode.AUTH_FAILED
    assert sleeps == [1.0, 1.0, 1.0]
    assert records == [f"login failed (attempt {n} of 3)" for n in (1, 2, 3)]


def test_a_script_gets_one_attempt_because_its_next_lines_belong_to_other_prompts(tmp_path: Path) -> None:
    write_password(tmp_path)
    records: list[str] = []
    with pytest.raises(AuthFailedError, match=r"1 attempt\)"):
        login(PasswordFile(tmp_path), _console(password_stdin="wrong\nnew password\n"), records.append,
              lambda s: None)
    assert records == ["login failed (attempt 1 of 1)"]


def test_new_password_must_be_typed_twice_alike() -> None:
    with pytest.raises(ValidationFailedError, match="differ"):
        choose_new_password(_console(password_stdin="first password\nsecond password\n"))
    retried = choose_new_password(_console("short", "short", "a good password", "a good password"))
    assert retried == "a good password"


# --- through the command line -----------------------------------------------------------------------

@pytest.fixture
def fresh(tmp_path: Path) -> AdminHarness:
    """Shipped config, no password file yet."""
    h = AdminHarness(tmp_path)
    h.install_shipped(password=False)
    return h


def test_first_run_scripted_password_set_creates_the_file(fresh: AdminHarness) -> None:
    result = fresh.run("password", "set", "--password-stdin", stdin="new admin pass\nnew admin pass\n")
    assert result.code == 0, result.err
    hashed = (fresh.config_dir / "admin_password.hash").read_text(encoding="ascii")
    assert password_hash_problem(hashed) is None
    assert PasswordFile(fresh.config_dir).matches("new admin pass")
    assert "new admin pass" not in result.out + result.err + "\n".join(fresh.audit_lines())
    outcomes = [json.loads(line)["outcome"] for line in fresh.audit_lines()]
    assert outcomes == ["no password file: first-run setup", "ok"]


def test_every_other_command_refuses_until_the_password_exists(fresh: AdminHarness) -> None:
    result = fresh.run("rules", "list")
    assert result.code == ExitCode.AUTH_FAILED
    assert "password set" in result.err
    assert result.out == ""


def test_first_run_on_a_terminal_offers_to_create_the_password(fresh: AdminHarness) -> None:
    result = fresh.run("rules", "list", interactive=True, stdin="y\n",
                       hidden=["a new password", "a new password"])
    assert result.code == 0, result.err
    assert "No admin password is set yet" in result.err
    assert "RULE-003" in result.out
    assert PasswordFile(fresh.config_dir).matches("a new password")


def test_wrong_password_exits_3_and_is_audited(harness: AdminHarness) -> None:
    result = harness.run("rules", "list", interactive=True, hidden=["x1", "x2", "x3"])
    assert result.code == 3
    assert result.err.count("Wrong password") == 2
    assert harness.sleeps == [1.0, 1.0, 1.0]
    lines = [json.loads(line) for line in harness.audit_lines()]
    assert [line["outcome"] for line in lines] == [f"login failed (attempt {n} of 3)" for n in (1, 2, 3)]
    assert all(line["user"] and line["ts"] for line in lines)


def test_change_needs_the_current_password_and_replaces_the_hash(harness: AdminHarness) -> None:
    before = (harness.config_dir / "admin_password.hash").read_text(encoding="ascii")
    new = "brand new secret\n"
    result = harness.run_with_password("password", "change", extra_stdin=new + new)
    assert result.code == 0, result.err
    after = PasswordFile(harness.config_dir)
    assert after.path.read_text(encoding="ascii") != before
    assert after.matches("brand new secret") and not after.matches(PASSWORD)
    refused = harness.run("password", "change", "--password-stdin", stdin=f"{PASSWORD}\nx\nx\n")
    assert refused.code == 3


def test_password_set_when_one_exists_asks_for_the_current_one(harness: AdminHarness) -> None:
    result = harness.run("password", "set", "--password-stdin",
                         stdin="not it\nnew password 1\nnew password 1\n")
    assert result.code == 3
    assert PasswordFile(harness.config_dir).matches(PASSWORD)


def test_not_root_exits_4_but_status_is_exempt(harness: AdminHarness) -> None:
    harness.admin = False
    refused = harness.run_with_password("rules", "list")
    assert refused.code == ExitCode.NOT_PRIVILEGED == 4
    assert "re-run with sudo" in refused.err
    assert harness.run("status").code == 0
    assert harness.run("service", "status").code == 0
    assert harness.run("status", command="service").code == 0
