"""Configuration changes (`cli.md` §2.4): the daemon's validator before writing, comments, order and
indentation kept, an atomic write with `.bak`, owner and mode kept, and a refused edit that touches
nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from simple_risk_manager.admin.config_edit import (
    Indentation,
    propose_edit,
    propose_text,
    write_change,
)
from simple_risk_manager.admin.documents import parse_assignment, rule_section, set_path
from simple_risk_manager.admin.errors import UsageError, ValidationFailedError
from simple_risk_manager.config import RISK_FILE, rule_info

from .fakes import SHIPPED, AdminHarness


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


@pytest.mark.parametrize(("shipped", "target"), [("risk_config.yaml", "risk_config.yaml"),
                                                 ("accounts.yaml.template", "accounts.yaml")])
def test_a_no_op_edit_of_a_shipped_file_changes_no_byte(shipped: str, target: str, tmp_path: Path) -> None:
    (tmp_path / target).write_bytes((SHIPPED / shipped).read_bytes())
    change = propose_edit(tmp_path, target, lambda document: None)
    assert not change.changed
    assert change.new_text == (SHIPPED / shipped).read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("a:\n  b: 1\n", Indentation(2, 2), id="no-lists-uses-the-shipped-offset"),
    pytest.param("a:\n  - 1\n", Indentation(2, 2), id="indented-dash"),
    pytest.param("a:\n- 1\n", Indentation(2, 0), id="dash-at-parent-column"),
    pytest.param("a:\n    b: 1\n", Indentation(4, 4), id="four-space-maps"),
])
def test_indentation_is_read_from_the_file(text: str, expected: Indentation) -> None:
    assert Indentation.of(text) == expected


def _set(directory: Path, rule: str, *assignments: str) -> object:
    info = rule_info(rule)
    parsed = [parse_assignment(a) for a in assignments]

    def edit(document: object) -> None:
        section = rule_section(document, info, RISK_FILE)
        for parts, value in parsed:
            set_path(section, parts, value, info.rule_id)

    return propose_edit(directory, RISK_FILE, edit)


def test_an_edit_changes_one_line_and_keeps_every_comment(harness: AdminHarness) -> None:
    before = harness.text(RISK_FILE)
    change = _set(harness.config_dir, "RULE-003", "loss_limit=600.00")
    after = change.new_text
    assert _comments(after) == _comments(before)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [("    loss_limit: 500.00", "    loss_limit: 600.00")]
    assert change.diff().count("\n-") == 1 and "+    loss_limit: 600.00" in change.diff()


@pytest.mark.parametrize(("assignment", "line"), [
    pytest.param("global_session.start=09:30", '      start: "09:30"', id="a-time-stays-a-quoted-string"),
    pytest.param('global_session.start="09:30"', '      start: "09:30"', id="already-quoted"),
    pytest.param("allowed_days=[MON, TUE]", '    allowed_days: ["MON", "TUE"]', id="flow-list"),
])
def test_values_are_yaml_flow_values_with_text_double_quoted(harness: AdminHarness, assignment: str,
                                                             line: str) -> None:
    change = _set(harness.config_dir, "RULE-009", assignment)
    assert line in change.new_text.splitlines()
    assert change.diff().count("\n+ ") == 1


def test_dotted_keys_create_nested_maps(harness: AdminHarness) -> None:
    change = _set(harness.config_dir, "RULE-006", "limits.per_minute=5")
    assert "      per_minute: 5" in change.new_text.splitlines()


@pytest.mark.parametrize(("assignment", "message"), [
    pytest.param("loss_limit=-500",
                 "risk_config.yaml: rules.daily_realized_loss.loss_limit: must be a positive amount, "
                 "write 500 not -500 (got -500)", id="config.md-4.6-negative-limit"),
    pytest.param("limit=-500", 'rules.daily_realized_loss.limit: unknown key, did you mean "loss_limit"?',
                 id="config.md-4.6-unknown-key"),
    pytest.param("enabled=yes", 'rules.daily_realized_loss.enabled: must be true or false (got "yes")',
                 id="config.md-4.6-yes-is-not-a-boolean"),
])
def test_an_invalid_edit_is_refused_with_the_validators_message(harness: AdminHarness, assignment: str,
                                                               message: str) -> None:
    before = (harness.config_dir / RISK_FILE).read_bytes()
    with pytest.raises(ValidationFailedError) as raised:
        _set(harness.config_dir, "RULE-003", assignment)
    assert message in str(raised.value)
    assert "the file is unchanged" in str(raised.value)
    assert (harness.config_dir / RISK_FILE).read_bytes() == before
    assert not (harness.config_dir / (RISK_FILE + ".bak")).exists()


def test_config_md_example_limit_5_0_is_refused(harness: AdminHarness) -> None:
    with pytest.raises(ValidationFailedError,
                       match=r"rules\.max_contracts\.limit: must be an integer \(got 5\.0\)"):
        _set(harness.config_dir, "RULE-001", "limit=5.0")


def test_bad_assignments_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        parse_assignment("loss_limit")
    with pytest.raises(UsageError):
        parse_assignment("limits..x=1")
    with pytest.raises(UsageError):
        parse_assignment("loss_limit=")


def test_write_keeps_the_old_version_and_the_mode_and_owner(harness: AdminHarness) -> None:
    path = harness.config_dir / RISK_FILE
    path.chmod(0o640)
    old = path.read_bytes()
    owner = (path.stat().st_uid, path.stat().st_gid)
    change = _set(harness.config_dir, "RULE-003", "loss_limit=650")
    backup = write_change(change)
    assert backup == harness.config_dir / "risk_config.yaml.bak"
    assert backup.read_bytes() == old
    assert path.read_text(encoding="utf-8") == change.new_text
    for written in (path, backup):
        assert stat.S_IMODE(written.stat().st_mode) == 0o640
        assert (written.stat().st_uid, written.stat().st_gid) == owner
    assert sorted(p.name for p in harness.config_dir.iterdir() if p.name.startswith(".")) == []


def test_the_diff_never_shows_an_api_key(harness: AdminHarness) -> None:
    def new_key(document: object) -> None:
        document["topstepx"]["api_key"] = "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"  # type: ignore[index]

    change = propose_edit(harness.config_dir, "accounts.yaml", new_key)
    diff = change.diff()
    assert '-  api_key: "${PROJECT_X_API_KEY}"' in diff
    assert '+  api_key: "…hJ5l"' in diff.splitlines()
    assert "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l" not in diff


def test_a_new_accounts_file_is_private(tmp_path: Path) -> None:
    (tmp_path / RISK_FILE).write_bytes((SHIPPED / RISK_FILE).read_bytes())
    text = 'version: 1\ntopstepx:\n  username: "u"\n  api_key: "${KEY}"\naccounts:\n  - account_id: 5\n'
    change = propose_text(tmp_path, "accounts.yaml", text)
    assert write_change(change) is None
    assert stat.S_IMODE((tmp_path / "accounts.yaml").stat().st_mode) == 0o600


def test_errors_already_there_do_not_block_an_edit_elsewhere_but_are_reported(harness: AdminHarness) -> None:
    accounts = harness.config_dir / "accounts.yaml"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace("  - account_id: 7002",
                                                                     "  - account_id: -7002"),
                        encoding="utf-8")
    change = _set(harness.config_dir, "RULE-003", "loss_limit=650")
    assert change.changed
    assert any("accounts[1].account_id" in str(issue) for issue in change.remaining_errors)


def test_an_edit_that_breaks_another_file_is_refused(harness: AdminHarness) -> None:
    """accounts.yaml overrides `max_contracts.limit: 3`; switching RULE-001 to net counting is fine, but a
    risk_config.yaml without the max_contracts section is not (all 12 sections are required)."""
    def drop_section(document: object) -> None:
        del document["rules"]["max_contracts"]  # type: ignore[index]

    with pytest.raises(ValidationFailedError, match=r"rules\.max_contracts: missing"):
        propose_edit(harness.config_dir, RISK_FILE, drop_section)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_the_temp_file_never_outlives_a_failed_rename(harness: AdminHarness,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    change = _set(harness.config_dir, "RULE-003", "loss_limit=650")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    before = (harness.config_dir / RISK_FILE).read_bytes()
    with pytest.raises(OSError, match="No space"):
        write_change(change)
    assert (harness.config_dir / RISK_FILE).read_bytes() == before
    assert not [p for p in harness.config_dir.iterdir() if p.name.endswith(".tmp")]
