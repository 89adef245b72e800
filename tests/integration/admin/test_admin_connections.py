"""`srm admin test` and the credential checks of `login set` / `account add` against the simulator
(`cli.md` §2.6): real REST and hub connections, clear results, exit 7 on a failure, nothing written."""

from __future__ import annotations

import json
import socket
from typing import Any

from simple_risk_manager.demo.processes import SimEndpoints
from simple_risk_manager.runtime.exit_codes import ExitCode

from .conftest import sim_accounts_yaml


def _rows(out: str) -> dict[str, dict[str, Any]]:
    return {row["check"]: row for row in json.loads(out)}


def test_api_accounts_and_hubs_pass_against_the_simulator(on_sim: Any, sim: SimEndpoints) -> None:
    before = on_sim.text("accounts.yaml")
    result = on_sim.run_with_password("test", "all", "--json")
    rows = _rows(result.out)
    for check in ("config", "api", "accounts", "hubs"):
        assert rows[check]["ok"] is True, rows[check]
    assert rows["api"]["detail"].startswith(f"{sim.user_name}: token in ")
    assert rows["accounts"]["detail"] == f"{len(sim.account_ids)} enabled account(s) listed"
    hubs = rows["hubs"]["detail"]
    assert hubs.startswith(f"user hub ({sim.user_name}) subscribed; market hub subscribed to CON.F.US.")
    assert rows["db"]["ok"] is False and rows["broadcast"]["ok"] is None and rows["service"]["ok"] is None
    assert result.code == ExitCode.CONNECTION_TEST_FAILED  # only because there is no database yet
    assert on_sim.text("accounts.yaml") == before
    assert sim.api_key not in result.out + result.err


def test_a_wrong_key_fails_the_api_check_with_a_clear_reason(on_sim: Any, sim: SimEndpoints) -> None:
    (on_sim.config_dir / "secrets.env").write_text("SIM_KEY=not-the-key\n", encoding="utf-8")
    result = on_sim.run_with_password("test", "api", "--ascii")
    assert result.code == ExitCode.CONNECTION_TEST_FAILED
    assert result.out.startswith("FAIL api")
    assert f"login '{sim.user_name}': credentials rejected" in result.out


def test_an_account_the_gateway_does_not_list_fails_the_accounts_check(on_sim: Any,
                                                                       sim: SimEndpoints) -> None:
    (on_sim.config_dir / "accounts.yaml").write_text(sim_accounts_yaml(sim, sim.account_ids[0], 987654),
                                                     encoding="utf-8")
    rows = _rows(on_sim.run_with_password("test", "accounts", "--json").out)
    assert rows["accounts"] == {**rows["accounts"], "ok": False,
                                "detail": "not listed by Account/search (active): 987654"}


def test_an_unreachable_gateway_fails_fast_with_the_reason(on_sim: Any, sim: SimEndpoints) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    text = on_sim.text("accounts.yaml").replace(sim.url, f"http://127.0.0.1:{closed_port}")
    (on_sim.config_dir / "accounts.yaml").write_text(text, encoding="utf-8")
    row = _rows(on_sim.run_with_password("test", "api", "--json").out)["api"]
    assert row["ok"] is False and "login 'demo'" in row["detail"]
    assert row["latency_ms"] < 10_000


def test_account_add_is_verified_with_login_and_account_search(on_sim: Any, sim: SimEndpoints) -> None:
    first = sim.account_ids[0]
    (on_sim.config_dir / "accounts.yaml").write_text(sim_accounts_yaml(sim, first), encoding="utf-8")
    second = sim.account_ids[1]
    added = on_sim.run_with_password("account", "add", "--id", str(second), "--yes")
    assert added.code == 0, added.err
    assert f"account {second} found" in added.err
    assert f"  - account_id: {second}\n" in on_sim.text("accounts.yaml")
    before = on_sim.text("accounts.yaml")
    refused = on_sim.run_with_password("account", "add", "--id", "555", "--yes")
    assert refused.code == 1
    assert "account 555 is not among the active accounts" in refused.err
    assert str(first) in refused.err and "--no-verify" in refused.err
    assert on_sim.text("accounts.yaml") == before


def test_login_set_refuses_credentials_the_gateway_rejects(on_sim: Any, sim: SimEndpoints) -> None:
    before = on_sim.text("accounts.yaml")
    refused = on_sim.run_with_password("login", "set", "--username", sim.user_name, "--api-key-stdin",
                                       "--yes", extra_stdin="wrong-key-123456\n")
    assert refused.code == 1 and "refused by" in refused.err and "wrong-key-123456" not in refused.err
    assert on_sim.text("accounts.yaml") == before
    accepted = on_sim.run_with_password("login", "set", "--username", sim.user_name, "--api-key-env",
                                        "SIM_KEY", "--yes")
    assert accepted.code == 0, accepted.err
    assert f"login '{sim.user_name}' accepted" in accepted.err
