"""Exit codes (`daemon.md` §1, `cli.md` §0): the numbers the service manager and scripts rely on."""

from __future__ import annotations

import pytest

from simple_risk_manager.cli.main import main
from simple_risk_manager.runtime.exit_codes import ExitCode


@pytest.mark.parametrize(("code", "value"), [
    (ExitCode.OK, 0),
    (ExitCode.FAILURE, 1),
    (ExitCode.USAGE, 2),
    (ExitCode.AUTH_FAILED, 3),
    (ExitCode.DAEMON_UNREACHABLE, 3),
    (ExitCode.NOT_PRIVILEGED, 4),
    (ExitCode.NO_DATA, 4),
    (ExitCode.NO_SERVICE_MANAGER, 5),
    (ExitCode.VALIDATION_FAILED, 6),
    (ExitCode.CONNECTION_TEST_FAILED, 7),
    (ExitCode.INSTANCE_LOCKED, 75),
    (ExitCode.CONFIG_INVALID, 78),
])
def test_values_match_the_spec(code: ExitCode, value: int) -> None:
    assert code == value


def test_check_config_exits_with_the_shared_code(tmp_path, capsys) -> None:
    (tmp_path / "risk_config.yaml").write_text("nonsense: [", encoding="utf-8")
    code = main(["check-config", "--config-dir", str(tmp_path)])
    assert code is ExitCode.CONFIG_INVALID
    assert "(exit code 78)" in capsys.readouterr().err
