"""Load and validate the configuration directory: every file, every error, one pass (`config.md` §1).

`srm run`, `srm check-config` and the Admin CLI all come through `_validate_sources`, so a file the
Admin CLI accepts is a file the daemon accepts. Files are read once; nothing here writes anything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar

from simple_risk_manager.config.accounts import AccountEntry, AccountsFile
from simple_risk_manager.config.base import ConfigModel, model_keys
from simple_risk_manager.config.daemon_settings import DaemonSettings
from simple_risk_manager.config.env_refs import EnvMode, resolve_env_refs
from simple_risk_manager.config.issues import ConfigError, ConfigIssue, Problem, render_value
from simple_risk_manager.config.logging_settings import LoggingSettings
from simple_risk_manager.config.password_file import password_hash_problem
from simple_risk_manager.config.risk_config import GlobalSettings, RiskConfig
from simple_risk_manager.config.rule_catalog import RULE_CATALOG
from simple_risk_manager.config.rule_sections import RulesConfig
from simple_risk_manager.config.validation import validate_model
from simple_risk_manager.config.yaml_reader import read_yaml
from simple_risk_manager.domain.models import AccountConfig, RuleConfig
from simple_risk_manager.state.contracts import DEFAULT_SYMBOL_ALIASES

ACCOUNTS_FILE: Final = "accounts.yaml"
ACCOUNTS_TEMPLATE: Final = "accounts.yaml.template"
RISK_FILE: Final = "risk_config.yaml"
DAEMON_FILE: Final = "daemon.yaml"
LOGGING_FILE: Final = "logging.yaml"
PASSWORD_FILE: Final = "admin_password.hash"
CONFIG_FILES: Final = (ACCOUNTS_FILE, ACCOUNTS_TEMPLATE, RISK_FILE, DAEMON_FILE, LOGGING_FILE, PASSWORD_FILE)
_PRIVATE_FILES: Final = (ACCOUNTS_FILE, PASSWORD_FILE)
_MIN_SCRUB_LENGTH: Final = 4
M = TypeVar("M", bound=ConfigModel)
# Base for risk_overrides when risk_config.yaml gives no usable `rules`: every section at its defaults.
_DEFAULT_RULES: Final = {info.key: {"enabled": False} for info in RULE_CATALOG}


@dataclass(frozen=True, slots=True, repr=False)
class LoadedConfig:
    """A valid configuration directory; the daemon's single source of configuration."""

    config_dir: Path | None
    accounts_file: AccountsFile
    risk: RiskConfig
    daemon: DaemonSettings
    logging: LoggingSettings
    warnings: tuple[ConfigIssue, ...]
    from_template: bool
    env_mode: EnvMode
    _effective_rules: Mapping[int, RulesConfig] = field(default_factory=dict)

    def __repr__(self) -> str:
        ids = [account.account_id for account in self.accounts]
        return (f"LoadedConfig(config_dir={self.config_dir!s}, accounts={ids}, "
                f"from_template={self.from_template}, warnings={len(self.warnings)})")

    @property
    def accounts(self) -> tuple[AccountEntry, ...]:
        return self.accounts_file.accounts

    @property
    def global_settings(self) -> GlobalSettings:
        return self.risk.global_

    def account(self, account_id: int) -> AccountEntry:
        for entry in self.accounts:
            if entry.account_id == account_id:
                return entry
        raise KeyError(f"account {account_id} is not in {ACCOUNTS_FILE}")

    def effective_rules(self, account_id: int) -> RulesConfig:
        """`rules` with this account's `risk_overrides` merged in, validated (§3.3)."""
        self.account(account_id)
        return self._effective_rules.get(account_id, self.risk.rules)

    def reset_time_and_zone(self, account_id: int) -> tuple[str, str]:
        """The account's trading-day boundary: its own keys, else `global` (D-13)."""
        entry = self.account(account_id)
        return (entry.reset_time or self.global_settings.daily_reset_time,
                entry.timezone or self.global_settings.timezone)

    def account_configs(self) -> list[AccountConfig]:
        """Domain objects with the login resolved (own, else shared) and the effective reset."""
        configs = []
        for entry in self.accounts:
            login = self.accounts_file.login_for(entry)
            reset_time, zone = self.reset_time_and_zone(entry.account_id)
            configs.append(AccountConfig(
                account_id=entry.account_id,
                enabled=entry.enabled,
                username=None if login is None else login[0],
                api_key=None if login is None else login[1].get_secret_value(),
                nickname=entry.nickname,
                reset_time=reset_time,
                timezone=zone,
                risk_overrides=MappingProxyType(dict(entry.risk_overrides)),
            ))
        return configs

    def rule_configs(self, account_id: int) -> list[RuleConfig]:
        """The 12 rules for this account in id order, parameters as plain values (no `enabled`)."""
        rules = self.effective_rules(account_id)
        result = []
        for info in RULE_CATALOG:
            section = getattr(rules, info.key)
            result.append(RuleConfig(rule_id=info.rule_id, key=info.key, name=info.name,
                                     enabled=section.enabled,
                                     params=MappingProxyType(section.model_dump(exclude={"enabled"}))))
        return result


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Every error and warning; `config` only when the whole directory is valid and complete."""

    config: LoadedConfig | None
    errors: tuple[ConfigIssue, ...]
    warnings: tuple[ConfigIssue, ...]


def load_config_dir(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
                    env_mode: EnvMode = EnvMode.REQUIRED, allow_template: bool = False) -> LoadedConfig:
    """The daemon's loader: a valid `LoadedConfig`, or `ConfigError` carrying every problem."""
    result = validate_config_dir(path, env=env, env_mode=env_mode, allow_template=allow_template)
    if result.config is None:
        raise ConfigError(result.errors, result.warnings)
    return result.config


def validate_config_dir(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
                        env_mode: EnvMode = EnvMode.REQUIRED,
                        allow_template: bool = False) -> ValidationResult:
    """Validate the directory. With `allow_template` (srm check-config), a directory that only has
    `accounts.yaml.template` is checked as a template: placeholders and unset variables are warnings."""
    directory = Path(path)
    sources, read_errors = _read_directory(directory)
    result = _validate_sources(sources, env=os.environ if env is None else env, env_mode=env_mode,
                               allow_template=allow_template, require_all=True, config_dir=directory,
                               file_warnings=_permission_warnings(directory, sources))
    return ValidationResult(result.config, read_errors + result.errors, result.warnings)


def validate_text(filename: str, text: str, *, config_dir: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None, env_mode: EnvMode = EnvMode.SYNTAX_ONLY,
                  allow_template: bool = False) -> ValidationResult:
    """Validate a candidate file before it is saved (Admin CLI), with the same code as the daemon.

    The other files come from `config_dir` when given, so cross-file checks (overrides merged over
    the rules) run too; files that do not exist are not required here.
    """
    if filename not in CONFIG_FILES:
        raise ValueError(f"{filename!r} is not a configuration file: expected one of "
                         f"{', '.join(CONFIG_FILES)}")
    sources: dict[str, str | None] = {}
    read_errors: tuple[ConfigIssue, ...] = ()
    if config_dir is not None:
        sources, read_errors = _read_directory(Path(config_dir))
    sources[filename] = text
    result = _validate_sources(sources, env=os.environ if env is None else env, env_mode=env_mode,
                               allow_template=allow_template, require_all=False,
                               config_dir=None if config_dir is None else Path(config_dir))
    return ValidationResult(result.config, read_errors + result.errors, result.warnings)


# --- reading ------------------------------------------------------------------------------------

def _read_directory(directory: Path) -> tuple[dict[str, str | None], tuple[ConfigIssue, ...]]:
    """File name → text; None for a file that exists but cannot be read (its error is returned)."""
    if not directory.is_dir():
        return {}, (ConfigIssue(str(directory), "", "configuration directory not found"),)
    sources: dict[str, str | None] = {}
    errors = []
    for name in CONFIG_FILES:
        file = directory / name
        if not file.is_file():
            continue
        sources[name] = None
        try:
            sources[name] = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors.append(ConfigIssue(name, "", f"not UTF-8 text (invalid byte at offset {exc.start})"))
        except OSError as exc:
            errors.append(ConfigIssue(name, "", f"cannot be read: {exc.strerror or exc}"))
    return sources, tuple(errors)


def _permission_warnings(directory: Path, sources: Mapping[str, str | None]) -> Iterable[ConfigIssue]:
    """POSIX: secrets must not be readable by group or others (mode 600); Windows uses ACLs."""
    if os.name == "nt":
        return
    for name in _PRIVATE_FILES:
        if name in sources:
            mode = stat.S_IMODE((directory / name).stat().st_mode)
            if mode & 0o077:
                yield ConfigIssue(name, "", f"readable by group or others (mode {mode:04o}); "
                                            f"run: chmod 600 {name}")


# --- validation -------------------------------------------------------------------------------

class _Collector:
    """Issues of all files, turned into lines with their file name."""

    def __init__(self) -> None:
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []

    def error(self, file: str, problems: Iterable[Problem]) -> None:
        self.errors.extend(ConfigIssue.of(file, problem) for problem in problems)

    def warn(self, file: str, problems: Iterable[Problem]) -> None:
        self.warnings.extend(ConfigIssue.of(file, problem) for problem in problems)

    def parse(self, file: str, text: str | None, *, optional: bool) -> tuple[object, bool]:
        """(value, readable). An empty optional file means "all defaults"; None = unreadable file."""
        if text is None:
            return None, False
        value, problems = read_yaml(text)
        self.error(file, problems)
        if value is None and not problems:
            if optional:
                return {}, True
            self.errors.append(ConfigIssue(file, "", "the file is empty"))
            return None, False
        return value, value is not None


def _validate_sources(sources: Mapping[str, str | None], *, env: Mapping[str, str], env_mode: EnvMode,
                      allow_template: bool, require_all: bool, config_dir: Path | None,
                      file_warnings: Iterable[ConfigIssue] = ()) -> ValidationResult:
    out = _Collector()
    out.warnings.extend(file_warnings)
    secrets: set[str] = set()

    accounts_file, template = _accounts_source(sources, allow_template, require_all, out)
    accounts_raw: object = None
    accounts: AccountsFile | None = None
    if accounts_file is not None:
        raw, readable = out.parse(accounts_file, sources[accounts_file], optional=False)
        if readable:
            mode = EnvMode.OPTIONAL if template else env_mode
            resolved = resolve_env_refs(raw, env, mode, template=template)
            secrets |= resolved.secrets
            out.error(accounts_file, resolved.errors)
            out.warn(accounts_file, resolved.warnings)
            accounts_raw = resolved.data
            accounts = _validated(AccountsFile, accounts_raw, accounts_file, out)

    risk: RiskConfig | None = None
    rules_raw: object = None
    if RISK_FILE in sources:
        raw, readable = out.parse(RISK_FILE, sources[RISK_FILE], optional=False)
        if readable:
            risk = _validated(RiskConfig, raw, RISK_FILE, out)
            rules_raw = raw.get("rules") if isinstance(raw, dict) else None
    elif require_all:
        out.errors.append(ConfigIssue(RISK_FILE, "", "file not found"))
    aliases = DEFAULT_SYMBOL_ALIASES if risk is None else risk.global_.symbol_aliases
    if risk is not None:
        out.warn(RISK_FILE, (problem.under(("rules",)) for problem in risk.rules.warnings(aliases)))

    effective: dict[int, RulesConfig] = {}
    if accounts_file is not None:
        effective = _effective_rules(accounts_raw, rules_raw, aliases, accounts_file, out)

    daemon = _optional_file(DaemonSettings, DAEMON_FILE, sources, out)
    logging = _optional_file(LoggingSettings, LOGGING_FILE, sources, out)
    password_hash = sources.get(PASSWORD_FILE)
    if password_hash is not None:
        problem = password_hash_problem(password_hash)
        if problem is not None:
            out.warnings.append(ConfigIssue(PASSWORD_FILE, "", problem))

    scrub = sorted((s for s in secrets if len(s) >= _MIN_SCRUB_LENGTH), key=len, reverse=True)
    errors = tuple(issue.scrubbed(scrub) for issue in out.errors)
    warnings = tuple(issue.scrubbed(scrub) for issue in out.warnings)
    if errors or accounts is None or risk is None or daemon is None or logging is None:
        return ValidationResult(None, errors, warnings)
    config = LoadedConfig(config_dir, accounts, risk, daemon, logging, warnings, template, env_mode,
                          MappingProxyType(effective))
    return ValidationResult(config, errors, warnings)


def _accounts_source(sources: Mapping[str, str | None], allow_template: bool, require_all: bool,
                     out: _Collector) -> tuple[str | None, bool]:
    """Which file holds the accounts: `accounts.yaml`, else (check-config only) the template."""
    if ACCOUNTS_FILE in sources:
        return ACCOUNTS_FILE, False
    if ACCOUNTS_TEMPLATE in sources and allow_template:
        out.warnings.append(ConfigIssue(ACCOUNTS_TEMPLATE, "", "checked the template because accounts.yaml "
                                        "does not exist; the daemon needs accounts.yaml (copy the template "
                                        "and fill in your accounts)"))
        return ACCOUNTS_TEMPLATE, True
    if require_all:
        has_template = ACCOUNTS_TEMPLATE in sources
        hint = "; copy accounts.yaml.template to accounts.yaml and fill it in" if has_template else ""
        out.errors.append(ConfigIssue(ACCOUNTS_FILE, "", "file not found" + hint))
    return None, False


def _validated(model: type[M], raw: object, file: str, out: _Collector) -> M | None:
    validated, problems = validate_model(model, raw)
    out.error(file, problems)
    return validated


def _optional_file(model: type[M], file: str, sources: Mapping[str, str | None],
                   out: _Collector) -> M | None:
    if file not in sources:
        return model()
    raw, readable = out.parse(file, sources[file], optional=True)
    return _validated(model, raw, file, out) if readable else None


def _deep_merge(base: object, override: object) -> object:
    """Mappings merge key by key; lists and scalars replace (§3.3)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _problem_key(problem: Problem) -> tuple[object, ...]:
    return problem.path, problem.message, render_value(problem.value)


def _effective_rules(accounts_raw: object, rules_raw: object, aliases: Mapping[str, str], file: str,
                     out: _Collector) -> dict[int, RulesConfig]:
    """Merge each account's overrides over `rules` and validate the result (§3.3).

    Problems the merged rules share with `rules` itself are reported once, for risk_config.yaml;
    the rest carry the account's `risk_overrides` prefix.
    """
    base_raw = rules_raw if isinstance(rules_raw, dict) else _DEFAULT_RULES
    base, base_problems = validate_model(RulesConfig, base_raw)
    known = {_problem_key(problem) for problem in base_problems}
    known_warnings = {_problem_key(p) for p in base.warnings(aliases)} if base is not None else set()
    entries = accounts_raw.get("accounts") if isinstance(accounts_raw, dict) else None
    effective: dict[int, RulesConfig] = {}
    global_keys = model_keys(GlobalSettings)
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        overrides = entry.get("risk_overrides") if isinstance(entry, dict) else None
        if not isinstance(overrides, dict) or not overrides:
            continue
        prefix = ("accounts", index, "risk_overrides")
        misplaced = [key for key in overrides if key in global_keys]
        out.error(file, (Problem((*prefix, key), "global settings cannot be overridden per account"
                                 + ("; use the account's reset_time and timezone keys"
                                    if key in ("daily_reset_time", "timezone") else ""))
                         for key in misplaced))
        merged = _deep_merge(base_raw, {k: v for k, v in overrides.items() if k not in misplaced})
        rules, problems = validate_model(RulesConfig, merged)
        out.error(file, (problem.under(prefix) for problem in problems if _problem_key(problem) not in known))
        if rules is not None:
            out.warn(file, (problem.under(prefix) for problem in rules.warnings(aliases)
                            if _problem_key(problem) not in known_warnings))
            account_id = entry.get("account_id")
            if isinstance(account_id, int):
                effective[account_id] = rules
    return effective
