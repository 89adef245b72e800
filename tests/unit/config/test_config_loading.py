"""Loading a whole config directory: shipped files, templates, several files at once, overrides, the API."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.config import (
    RULE_CATALOG,
    ConfigError,
    DaemonSettings,
    EnvMode,
    LoggingSettings,
    RulesConfig,
    load_config_dir,
    password_hash_problem,
    resolve_config_dir,
    rule_info,
    validate_config_dir,
    validate_text,
)
from simple_risk_manager.config.yaml_reader import dump_document, load_document
from simple_risk_manager.domain.models import AccountConfig

SHIPPED = Path(__file__).resolve().parents[3] / "config"
API_KEY = "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"
SECOND_KEY = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
ENV = {
    "PROJECT_X_USERNAME": "trader@example.com",
    "PROJECT_X_API_KEY": API_KEY,
    "SECOND_LOGIN_USERNAME": "second-login",
    "SECOND_LOGIN_API_KEY": SECOND_KEY,
}


def make_dir(tmp_path: Path, *, accounts: str | None = None, risk: str | None = None,
             files: Mapping[str, str] | None = None) -> Path:
    """A config directory: the shipped files, with `accounts.yaml` made from the template by default."""
    directory = tmp_path / "config"
    directory.mkdir()
    template = (SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8")
    (directory / "accounts.yaml").write_text(template if accounts is None else accounts, encoding="utf-8")
    if os.name != "nt":
        (directory / "accounts.yaml").chmod(0o600)
    shutil.copy(SHIPPED / "risk_config.yaml", directory / "risk_config.yaml")
    if risk is not None:
        (directory / "risk_config.yaml").write_text(risk, encoding="utf-8")
    for name, text in (files or {}).items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def edited(path: Path, dotted: str, value: object) -> str:
    document = load_document(path.read_text(encoding="utf-8"))
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = document
    for part in parents:
        node = node[part]
    node[last] = value
    return dump_document(document)


def test_shipped_files_load(tmp_path: Path) -> None:
    config = load_config_dir(make_dir(tmp_path), env=ENV)
    assert [a.account_id for a in config.accounts] == [7001, 7002, 7003]
    assert config.warnings == ()
    assert not config.from_template
    rules = config.risk.rules
    assert rules.daily_realized_loss.loss_limit == Decimal("500.00")
    assert rules.max_contracts_per_instrument.limits == {"MNQ": 2, "NQ": 1, "ES": 1, "MES": 3}
    assert rules.max_contracts_per_instrument.unknown_symbol_limit == 1
    assert rules.trade_management.enabled is False
    assert rules.session_block_outside.allowed_days == ("MON", "TUE", "WED", "THU", "FRI")
    assert [str(day) for day in config.global_settings.holidays] == ["2025-11-27", "2025-12-25", "2026-01-01"]
    assert config.daemon == DaemonSettings()
    assert config.logging == LoggingSettings()


SPEC_4_5 = """\
version: 1

global:
  timezone: "America/Chicago"
  daily_reset_time: "17:00"
  include_fees: true
  max_quote_age_seconds: 10
  symbol_aliases:
    EP: ES
    ENQ: NQ
    GCE: GC
    CLE: CL
    MCLE: MCL
  holidays:
    - "2025-11-27"
    - "2025-12-25"
    - "2026-01-01"

rules:
  max_contracts:                    # RULE-001
    enabled: true
    limit: 5
    count_type: "gross"
    enforcement: "close_all"

  max_contracts_per_instrument:     # RULE-002
    enabled: true
    limits:
      MNQ: 2
      NQ: 1
      ES: 1
      MES: 3
    enforcement: "reduce_to_limit"
    unknown_symbol_action: "allow_with_limit:1"

  daily_realized_loss:              # RULE-003
    enabled: true
    loss_limit: 500.00
    action: "CLOSE_ALL_AND_LOCKOUT"

  daily_unrealized_loss:            # RULE-004
    enabled: true
    loss_limit: 300.00
    scope: "per_position"
    lockout: false

  max_unrealized_profit:            # RULE-005
    enabled: true
    profit_target: 1000.00
    scope: "per_position"
    lockout: false

  trade_frequency_limit:            # RULE-006
    enabled: true
    limits:
      per_minute: 3
      per_hour: 10
      per_session: 50
    cooldown_on_breach:
      enabled: true
      per_minute_breach: 60
      per_hour_breach: 1800
      per_session_breach: "until_reset"

  cooldown_after_loss:              # RULE-007
    enabled: true
    loss_thresholds:
      - loss_amount: 100.00
        cooldown_duration: 300
      - loss_amount: 200.00
        cooldown_duration: 900
      - loss_amount: 300.00
        cooldown_duration: 1800

  no_stop_loss_grace:               # RULE-008
    enabled: true
    grace_period_seconds: 30

  session_block_outside:            # RULE-009
    enabled: true
    global_session:
      start: "08:30"
      end: "15:00"
      timezone: "America/Chicago"
    allowed_days: [MON, TUE, WED, THU, FRI]
    respect_holidays: true
    close_positions_at_session_end: true
    lockout_outside_session: true

  auth_loss_guard:                  # RULE-010
    enabled: true
    auto_unlock_on_restore: true
    check_on_startup: true
    alert_on_disconnect: true

  symbol_blocks:                    # RULE-011
    enabled: true
    blocked_symbols: ["RTY", "BTC"]
    close_existing: true

  trade_management:                 # RULE-012 (automation; test before enabling)
    enabled: false
    auto_stop_loss: true
    stop_loss_ticks: 10
    auto_breakeven:
      enabled: true
      profit_trigger_ticks: 10
      offset_ticks: 0
    trailing_stop:
      enabled: true
      activation_ticks: 20
      trail_distance_ticks: 10
"""

SPEC_3_4 = """\
version: 1
topstepx:
  username: "${PROJECT_X_USERNAME}"
  api_key: "${PROJECT_X_API_KEY}"
  api_url: "https://api.topstepx.com"
  user_hub_url: "https://rtc.topstepx.com/hubs/user"
  market_hub_url: "https://rtc.topstepx.com/hubs/market"

accounts:
  - account_id: 7001
    nickname: "50K Combine"
    enabled: true
    risk_overrides:
      daily_realized_loss:
        loss_limit: 1000.00
      max_contracts:
        limit: 3

  - account_id: 7002
    nickname: "Practice"
    reset_time: "17:00"
    timezone: "America/Chicago"

  - account_id: 7003
    enabled: false
    username: "${SECOND_LOGIN_USERNAME}"
    api_key: "${SECOND_LOGIN_API_KEY}"
"""


def test_spec_complete_examples_load_and_match_the_shipped_files(tmp_path: Path) -> None:
    """`config.md` §3.4 and §4.5 are valid, and the shipped files carry exactly their values."""
    spec = load_config_dir(make_dir(tmp_path, accounts=SPEC_3_4, risk=SPEC_4_5), env=ENV)
    (tmp_path / "shipped").mkdir()
    shipped = load_config_dir(make_dir(tmp_path / "shipped"), env=ENV)
    assert spec.warnings == ()
    assert spec.risk == shipped.risk
    assert spec.accounts_file == shipped.accounts_file
    assert [info.key for info in RULE_CATALOG if not getattr(shipped.risk.rules, info.key).enabled] == [
        "trade_management"]


def test_shipped_risk_config_explains_every_rule() -> None:
    text = (SHIPPED / "risk_config.yaml").read_text(encoding="utf-8")
    for info in RULE_CATALOG:
        assert f"# {info.rule_id} {info.name}" in text


def test_template_directory_passes_with_warnings() -> None:
    """README product decision: the template's structure is checked, unset ${VAR} are warnings."""
    result = validate_config_dir(SHIPPED, env={}, allow_template=True)
    assert result.errors == ()
    assert result.config is not None and result.config.from_template
    assert [str(w) for w in result.warnings] == [
        "accounts.yaml.template: checked the template because accounts.yaml does not exist; the daemon needs "
        "accounts.yaml (copy the template and fill in your accounts)",
        "accounts.yaml.template: topstepx.username: environment variable PROJECT_X_USERNAME is not set",
        "accounts.yaml.template: topstepx.api_key: environment variable PROJECT_X_API_KEY is not set",
        "accounts.yaml.template: accounts[2].username: environment variable SECOND_LOGIN_USERNAME is not set",
        "accounts.yaml.template: accounts[2].api_key: environment variable SECOND_LOGIN_API_KEY is not set",
    ]


def test_template_placeholders_are_warnings(tmp_path: Path) -> None:
    directory = make_dir(tmp_path)
    (directory / "accounts.yaml").rename(directory / "accounts.yaml.template")
    text = edited(directory / "accounts.yaml.template", "topstepx.api_key", "YOUR_API_KEY_HERE")
    (directory / "accounts.yaml.template").write_text(text, encoding="utf-8")
    result = validate_config_dir(directory, env=ENV, allow_template=True)
    assert result.errors == ()
    assert "accounts.yaml.template: topstepx.api_key: template placeholder, set a real key or ${VAR} " \
           "(got <redacted>)" in [str(w) for w in result.warnings]


def test_daemon_needs_the_real_accounts_file() -> None:
    """`srm run` does not accept the template: exit 78 (README product decision)."""
    with pytest.raises(ConfigError) as caught:
        load_config_dir(SHIPPED, env=ENV)
    assert [str(e) for e in caught.value.errors] == [
        "accounts.yaml: file not found; copy accounts.yaml.template to accounts.yaml and fill it in"]


def test_missing_directory(tmp_path: Path) -> None:
    result = validate_config_dir(tmp_path / "nope", env=ENV)
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'nope'}: configuration directory not found",
        "accounts.yaml: file not found",
        "risk_config.yaml: file not found",
    ]


def test_errors_of_all_files_are_reported_together(tmp_path: Path) -> None:
    directory = make_dir(
        tmp_path,
        accounts=edited(SHIPPED / "accounts.yaml.template", "accounts.0.account_id", -1),
        risk=edited(SHIPPED / "risk_config.yaml", "rules.max_contracts.limit", 5.0),
        files={"daemon.yaml": "broadcast:\n  port: 0\n", "logging.yaml": "level: LOUD\n"},
    )
    with pytest.raises(ConfigError) as caught:
        load_config_dir(directory, env=ENV)
    assert [str(e) for e in caught.value.errors] == [
        "accounts.yaml: accounts[0].account_id: must be a positive integer (got -1)",
        "risk_config.yaml: rules.max_contracts.limit: must be an integer (got 5.0)",
        "daemon.yaml: broadcast.port: must be between 1 and 65535 (got 0)",
        'logging.yaml: level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got "LOUD")',
    ]
    assert str(caught.value).splitlines() == [str(e) for e in caught.value.errors]


def test_one_bad_value_does_not_hide_cross_field_problems_elsewhere(tmp_path: Path) -> None:
    risk = edited(SHIPPED / "risk_config.yaml", "rules.max_contracts.limit", "five")
    risk = load_document(risk)
    risk["rules"]["max_unrealized_profit"]["lockout"] = True
    result = validate_text("risk_config.yaml", dump_document(risk))
    assert [str(e) for e in result.errors] == [
        'risk_config.yaml: rules.max_contracts.limit: must be an integer (got "five")',
        "risk_config.yaml: rules.max_unrealized_profit.lockout: only allowed with scope: total (got true)",
    ]


def test_overrides_merge_per_account(tmp_path: Path) -> None:
    config = load_config_dir(make_dir(tmp_path), env=ENV)
    combine = config.effective_rules(7001)
    practice = config.effective_rules(7002)
    assert combine.daily_realized_loss.loss_limit == Decimal("1000.0")
    assert combine.max_contracts.limit == 3
    assert combine.max_contracts.count_type == "gross"  # merged key by key, the rest from risk_config.yaml
    assert practice == config.risk.rules
    assert practice.max_contracts.limit == 5


def test_override_lists_replace_and_errors_carry_the_account_prefix(tmp_path: Path) -> None:
    accounts = load_document((SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8"))
    accounts["accounts"][1]["risk_overrides"] = {"symbol_blocks": {"blocked_symbols": ["CL"]},
                                                 "daily_realized_loss": {"loss_limit": -750}}
    directory = make_dir(tmp_path, accounts=dump_document(accounts))
    result = validate_config_dir(directory, env=ENV)
    assert [str(e) for e in result.errors] == [
        "accounts.yaml: accounts[1].risk_overrides.daily_realized_loss.loss_limit: must be a positive "
        "amount, write 750 not -750 (got -750)"]
    accounts["accounts"][1]["risk_overrides"]["daily_realized_loss"]["loss_limit"] = 750
    (directory / "accounts.yaml").write_text(dump_document(accounts), encoding="utf-8")
    config = load_config_dir(directory, env=ENV)
    assert config.effective_rules(7002).symbol_blocks.blocked_symbols == ("CL",)
    assert config.risk.rules.symbol_blocks.blocked_symbols == ("RTY", "BTC")


def test_base_errors_are_reported_once_not_per_account(tmp_path: Path) -> None:
    directory = make_dir(tmp_path, risk=edited(SHIPPED / "risk_config.yaml", "rules.max_contracts.limit", 0))
    result = validate_config_dir(directory, env=ENV)
    assert [str(e) for e in result.errors] == [
        "risk_config.yaml: rules.max_contracts.limit: must be between 1 and 1000 (got 0)"]


def test_override_warnings_carry_the_account_prefix(tmp_path: Path) -> None:
    accounts = load_document((SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8"))
    accounts["accounts"][0]["risk_overrides"] = {"daily_realized_loss": {"enabled": False}}
    config = load_config_dir(make_dir(tmp_path, accounts=dump_document(accounts)), env=ENV)
    assert [str(w) for w in config.warnings] == [
        "accounts.yaml: accounts[0].risk_overrides.daily_realized_loss.enabled: disabled: there is no daily "
        "loss limit (got false)"]


def test_rule_warnings() -> None:
    risk = load_document((SHIPPED / "risk_config.yaml").read_text(encoding="utf-8"))
    rules = risk["rules"]
    rules["trade_frequency_limit"]["limits"]["per_minute"] = 20
    rules["symbol_blocks"]["blocked_symbols"] = ["MNQ"]
    rules["trade_management"].update(enabled=True, auto_stop_loss=False)
    rules["trade_management"]["auto_breakeven"]["enabled"] = False
    rules["trade_management"]["trailing_stop"]["enabled"] = False
    rules["auth_loss_guard"]["enabled"] = False
    rules["daily_realized_loss"]["enabled"] = False
    result = validate_text("risk_config.yaml", dump_document(risk))
    assert result.errors == ()
    assert [str(w) for w in result.warnings] == [
        "risk_config.yaml: rules.trade_frequency_limit.limits.per_minute: above per_hour (10), so the "
        "per_hour limit is always reached first (got 20)",
        'risk_config.yaml: rules.symbol_blocks.blocked_symbols[0]: MNQ also has a limit in '
        'max_contracts_per_instrument.limits; the block wins (got "MNQ")',
        "risk_config.yaml: rules.trade_management: enabled, but auto_stop_loss, auto_breakeven and "
        "trailing_stop are all off, so it does nothing",
        "risk_config.yaml: rules.auth_loss_guard.enabled: disabled: when the platform stops the account "
        "(canTrade false) nothing is flattened or locked (got false)",
        "risk_config.yaml: rules.daily_realized_loss.enabled: disabled: there is no daily loss limit "
        "(got false)",
    ]


def test_alias_names_used_as_roots_are_warnings() -> None:
    """A root is aliased before matching (D-12), so a limit or block written for `EP` never applies."""
    risk = load_document((SHIPPED / "risk_config.yaml").read_text(encoding="utf-8"))
    risk["rules"]["max_contracts_per_instrument"]["limits"]["EP"] = 1
    risk["rules"]["symbol_blocks"]["blocked_symbols"].append("ENQ")
    result = validate_text("risk_config.yaml", dump_document(risk))
    assert result.errors == ()
    assert [str(w) for w in result.warnings] == [
        "risk_config.yaml: rules.max_contracts_per_instrument.limits.EP: EP is an alias of ES "
        "(global.symbol_aliases), so it never matches; write ES",
        "risk_config.yaml: rules.symbol_blocks.blocked_symbols[2]: ENQ is an alias of NQ "
        '(global.symbol_aliases), so it never matches; write NQ (got "ENQ")',
    ]


def test_defaults_fill_omitted_keys() -> None:
    minimal = "rules:\n" + "".join(f"  {info.key}:\n    enabled: false\n" for info in RULE_CATALOG)
    result = validate_text("risk_config.yaml", minimal)
    assert result.errors == ()
    from simple_risk_manager.config.validation import validate_model
    from simple_risk_manager.config.yaml_reader import read_yaml
    raw, _ = read_yaml(minimal)
    assert isinstance(raw, dict)
    rules, problems = validate_model(RulesConfig, raw["rules"])
    assert problems == [] and rules is not None
    assert rules.trade_frequency_limit.limits.per_session == 50
    assert rules.trade_frequency_limit.cooldown_on_breach.per_session_breach == "until_reset"
    assert [(t.loss_amount, t.cooldown_duration) for t in rules.cooldown_after_loss.loss_thresholds] == [
        (Decimal("100.00"), 300), (Decimal("200.00"), 900), (Decimal("300.00"), 1800)]
    assert rules.session_block_outside.global_session.timezone is None  # = global.timezone


def test_symbol_aliases_given_map_replaces_the_default() -> None:
    risk = load_document((SHIPPED / "risk_config.yaml").read_text(encoding="utf-8"))
    risk["global"]["symbol_aliases"] = {"XES": "ES"}
    result = validate_text("risk_config.yaml", dump_document(risk), config_dir=SHIPPED, env={},
                           allow_template=True)
    assert result.config is not None
    assert result.config.global_settings.symbol_aliases == {"XES": "ES"}


def test_daemon_and_logging_values(tmp_path: Path) -> None:
    directory = make_dir(tmp_path, files={
        "daemon.yaml": "broadcast:\n  port: 8800\nenforcement:\n  dry_run: true\n",
        "logging.yaml": "level: DEBUG\njson: false\nconsole: true\nmask:\n  extra_patterns: ['\\d{9}']\n",
    })
    config = load_config_dir(directory, env=ENV)
    assert config.daemon.broadcast.port == 8800 and config.daemon.broadcast.host == "127.0.0.1"
    assert config.daemon.enforcement.dry_run is True and config.daemon.retention.daily_pnl_days == 90
    assert config.logging.level == "DEBUG" and config.logging.json_lines is False
    assert config.logging.console is True and config.logging.mask.extra_patterns == ("\\d{9}",)
    assert config.logging.files.enforcement.keep_days == 90


def test_empty_optional_file_means_defaults(tmp_path: Path) -> None:
    config = load_config_dir(make_dir(tmp_path, files={"daemon.yaml": "# nothing set\n"}), env=ENV)
    assert config.daemon == DaemonSettings()


def test_empty_required_file(tmp_path: Path) -> None:
    result = validate_config_dir(make_dir(tmp_path, risk=""), env=ENV)
    assert [str(e) for e in result.errors] == ["risk_config.yaml: the file is empty"]


def test_not_utf8(tmp_path: Path) -> None:
    directory = make_dir(tmp_path)
    (directory / "risk_config.yaml").write_bytes(b"version: 1\nrules: \xff\n")
    result = validate_config_dir(directory, env=ENV)
    assert [str(e) for e in result.errors] == ["risk_config.yaml: not UTF-8 text (invalid byte at offset 18)"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_accounts_file_readable_by_others_is_a_warning(tmp_path: Path) -> None:
    directory = make_dir(tmp_path)
    (directory / "accounts.yaml").chmod(0o644)
    result = validate_config_dir(directory, env=ENV)
    assert result.errors == ()
    assert [str(w) for w in result.warnings] == [
        "accounts.yaml: readable by group or others (mode 0644); run: chmod 600 accounts.yaml"]


def test_password_file_format(tmp_path: Path) -> None:
    good = "$2b$12$" + "a" * 53
    assert password_hash_problem(good + "\n") is None
    assert password_hash_problem("$2b$09$" + "a" * 53) is not None  # cost below 10
    assert password_hash_problem(good + "x") is not None
    directory = make_dir(tmp_path, files={"admin_password.hash": "not a hash\n"})
    if os.name != "nt":
        (directory / "admin_password.hash").chmod(0o600)
    result = validate_config_dir(directory, env=ENV)
    assert result.errors == ()
    assert [w.file for w in result.warnings] == ["admin_password.hash"]
    assert "not a hash" not in str(result.warnings[0])


def test_loaded_config_api(tmp_path: Path) -> None:
    config = load_config_dir(make_dir(tmp_path), env=ENV)
    assert config.reset_time_and_zone(7001) == ("17:00", "America/Chicago")
    assert config.account_configs()[0] == AccountConfig(
        account_id=7001, enabled=True, username="trader@example.com", api_key=API_KEY, nickname="50K Combine",
        reset_time="17:00", timezone="America/Chicago",
        risk_overrides={"daily_realized_loss": {"loss_limit": 1000.0}, "max_contracts": {"limit": 3}})
    third = config.account_configs()[2]
    assert (third.username, third.api_key, third.enabled) == ("second-login", SECOND_KEY, False)
    rules = config.rule_configs(7001)
    assert [(r.rule_id, r.key, r.name, r.enabled) for r in rules][:3] == [
        ("RULE-001", "max_contracts", "Max Contracts", True),
        ("RULE-002", "max_contracts_per_instrument", "Max Contracts Per Instrument", True),
        ("RULE-003", "daily_realized_loss", "Daily Realized Loss", True),
    ]
    assert dict(rules[0].params) == {"limit": 3, "count_type": "gross", "enforcement": "close_all"}
    assert rules[11].enabled is False and "enabled" not in rules[11].params
    with pytest.raises(KeyError):
        config.effective_rules(9999)


def test_per_account_reset(tmp_path: Path) -> None:
    accounts = load_document((SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8"))
    accounts["accounts"][1]["reset_time"] = "16:00"
    accounts["accounts"][1]["timezone"] = "America/New_York"
    config = load_config_dir(make_dir(tmp_path, accounts=dump_document(accounts)), env=ENV)
    assert config.reset_time_and_zone(7002) == ("16:00", "America/New_York")
    assert config.reset_time_and_zone(7001) == ("17:00", "America/Chicago")


def test_rule_catalog_matches_the_rules_mapping() -> None:
    assert [info.key for info in RULE_CATALOG] == list(RulesConfig.model_fields)
    assert [info.rule_id for info in RULE_CATALOG] == [f"RULE-{n:03d}" for n in range(1, 13)]
    for info in RULE_CATALOG:
        assert RulesConfig.model_fields[info.key].annotation is info.model
    assert rule_info("rule-009").key == "session_block_outside"
    assert rule_info("symbol_blocks").rule_id == "RULE-011"
    with pytest.raises(KeyError):
        rule_info("RULE-013")


@pytest.mark.parametrize(("flag", "env", "expected"), [
    ("/etc/x", {"SRM_CONFIG_DIR": "/srv/a"}, "/etc/x"),
    (None, {"SRM_CONFIG_DIR": "/srv/a", "CONFIGURATION_DIRECTORY": "/etc/b"}, "/srv/a"),
    (None, {"CONFIGURATION_DIRECTORY": os.pathsep.join(["/etc/b", "/etc/c"])}, "/etc/b"),
    (None, {}, "config"),
])
def test_config_dir_resolution(flag: str | None, env: dict[str, str], expected: str) -> None:
    assert resolve_config_dir(flag, env) == Path(expected)


def test_syntax_only_keeps_references_as_written() -> None:
    """Admin CLI (README product decision): ${VAR} is checked for form, never resolved."""
    text = (SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8")
    result = validate_text("accounts.yaml", text, env={}, env_mode=EnvMode.SYNTAX_ONLY)
    assert result.errors == () and result.warnings == ()


def test_validate_text_refuses_unknown_file_names() -> None:
    with pytest.raises(ValueError, match="not a configuration file"):
        validate_text("notes.txt", "")
