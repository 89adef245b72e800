"""Configuration: models, loading and validation of the config directory (`config.md`, `daemon.md` §10).

    config = load_config_dir("config")          # the daemon; ConfigError lists every problem
    result = validate_config_dir("config", allow_template=True)   # srm check-config
    result = validate_text("risk_config.yaml", text, config_dir="config")  # Admin CLI, before saving

Errors and warnings are `ConfigIssue` lines `<file>: <dotted.path>: <message> (got <value>)`.
"""

from simple_risk_manager.config.accounts import AccountEntry, AccountsFile, GatewayLogin
from simple_risk_manager.config.daemon_settings import DaemonSettings
from simple_risk_manager.config.env_refs import EnvMode
from simple_risk_manager.config.issues import ConfigError, ConfigIssue
from simple_risk_manager.config.loader import (
    ACCOUNTS_FILE,
    ACCOUNTS_TEMPLATE,
    DAEMON_FILE,
    LOGGING_FILE,
    PASSWORD_FILE,
    RISK_FILE,
    LoadedConfig,
    ValidationResult,
    load_config_dir,
    validate_config_dir,
    validate_text,
)
from simple_risk_manager.config.locations import resolve_config_dir
from simple_risk_manager.config.logging_settings import LoggingSettings
from simple_risk_manager.config.password_file import password_hash_problem
from simple_risk_manager.config.risk_config import GlobalSettings, RiskConfig
from simple_risk_manager.config.rule_catalog import RULE_CATALOG, RuleInfo, rule_info
from simple_risk_manager.config.rule_sections import RulesConfig

__all__ = [
    "ACCOUNTS_FILE",
    "ACCOUNTS_TEMPLATE",
    "DAEMON_FILE",
    "LOGGING_FILE",
    "PASSWORD_FILE",
    "RISK_FILE",
    "RULE_CATALOG",
    "AccountEntry",
    "AccountsFile",
    "ConfigError",
    "ConfigIssue",
    "DaemonSettings",
    "EnvMode",
    "GatewayLogin",
    "GlobalSettings",
    "LoadedConfig",
    "LoggingSettings",
    "RiskConfig",
    "RuleInfo",
    "RulesConfig",
    "ValidationResult",
    "load_config_dir",
    "password_hash_problem",
    "resolve_config_dir",
    "rule_info",
    "validate_config_dir",
    "validate_text",
]
