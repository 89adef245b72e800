"""One bad input per clause of `config.md` §2–§4 (every row of tables 3.5 and 4.6), each with its full
error line. Inputs are the shipped example files with one edit, so every other line stays valid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simple_risk_manager.config import EnvMode, validate_text
from simple_risk_manager.config.yaml_reader import dump_document, load_document

SHIPPED = Path(__file__).resolve().parents[3] / "config"
RISK_TEXT = (SHIPPED / "risk_config.yaml").read_text(encoding="utf-8")
ACCOUNTS_TEXT = (SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8")
ENV = {
    "PROJECT_X_USERNAME": "trader@example.com",
    "PROJECT_X_API_KEY": "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l",
    "SECOND_LOGIN_USERNAME": "second-login",
    "SECOND_LOGIN_API_KEY": "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
}
DROP = object()
LIMIT_LINE = RISK_TEXT.splitlines().index("    limit: 5") + 1  # max_contracts.limit in the shipped file

Edit = Callable[[str], str]


def at(dotted: str, value: Any) -> Edit:
    """Set (or, with DROP, delete) one value of the document; list indexes are numbers in the path."""

    def edit(text: str) -> str:
        document = load_document(text)
        *parents, last = [int(part) if part.isdigit() else part for part in dotted.split(".")]
        node = document
        for part in parents:
            node = node[part]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
        return dump_document(document)

    return edit


def text(old: str, new: str) -> Edit:
    """Edit the text itself (for what a document edit cannot write: unquoted times, duplicates, tags)."""

    def edit(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} must occur exactly once in the shipped file"
        return source.replace(old, new)

    return edit


def errors_of(file: str, source: str) -> list[str]:
    result = validate_text(file, source, env=ENV, env_mode=EnvMode.REQUIRED)
    return [str(issue) for issue in result.errors]


R = "risk_config.yaml: "
A = "accounts.yaml: "

RISK_CASES = [
    # --- table 4.6 ------------------------------------------------------------------------------
    ("4.6 limit instead of loss_limit",
     text("    loss_limit: 500.00\n", "    limit: -500\n"),
     [R + 'rules.daily_realized_loss.limit: unknown key, did you mean "loss_limit"? '
          "(positive magnitude, e.g. 500)"]),
    ("4.6 negative loss_limit",
     at("rules.daily_realized_loss.loss_limit", -500),
     [R + "rules.daily_realized_loss.loss_limit: must be a positive amount, write 500 not -500 (got -500)"]),
    ("4.6 unquoted daily_reset_time",
     text('daily_reset_time: "17:00"', "daily_reset_time: 17:00"),
     [R + 'global.daily_reset_time: times must be quoted strings like "17:00" (got 17:00)']),
    ("4.6 daily_reset_time read as sexagesimal 1020",
     at("global.daily_reset_time", 1020),
     [R + 'global.daily_reset_time: times must be quoted strings like "17:00" (got 1020)']),
    ("4.6 timezone EST (D-51)",
     at("global.timezone", "EST"),
     [R + 'global.timezone: unknown IANA time zone "EST", e.g. "America/New_York" (got "EST")']),
    ("4.6 session start equals end",
     text('start: "08:30"\n      end: "15:00"', 'start: "09:30"\n      end: "09:30"'),
     [R + 'rules.session_block_outside.global_session: start and end must differ (got "09:30" for both)']),
    ("4.6 enabled: yes",
     at("rules.max_contracts.enabled", "yes"),
     [R + 'rules.max_contracts.enabled: must be true or false (got "yes")']),
    ("4.6 limit 5.0",
     at("rules.max_contracts.limit", 5.0),
     [R + "rules.max_contracts.limit: must be an integer (got 5.0)"]),
    ("4.6 trade_management missing",
     at("rules.trade_management", DROP),
     [R + "rules.trade_management: missing; all 12 rule sections are required (use enabled: false)"]),
    ("4.6 lockout with per_position",
     at("rules.daily_unrealized_loss.lockout", True),
     [R + "rules.daily_unrealized_loss.lockout: only allowed with scope: total (got true)"]),
    # --- §2 parsing rules -------------------------------------------------------------------------
    ("2 duplicate key",
     text("    limit: 5\n", "    limit: 5\n    limit: 6\n"),
     [R + f"rules.max_contracts.limit: duplicate key (first on line {LIMIT_LINE})"]),
    ("2 unknown key with suggestion",
     text("    limit: 5\n", "    limt: 5\n"),
     [R + 'rules.max_contracts.limt: unknown key, did you mean "limit"?']),
    ("2 object tag",
     text("    grace_period_seconds: 30", "    grace_period_seconds: !!python/object:os.system 30"),
     [R + "rules.no_stop_loss_grace.grace_period_seconds: YAML tags are not allowed "
          "(got !!python/object:os.system)",
      R + 'rules.no_stop_loss_grace.grace_period_seconds: must be an integer (got "30")']),
    ("2 on is a string under YAML 1.2",
     text("include_fees: true", "include_fees: on"),
     [R + 'global.include_fees: must be true or false (got "on")']),
    ("2 int field given a string",
     at("rules.max_contracts.limit", "5"),
     [R + 'rules.max_contracts.limit: must be an integer (got "5")']),
    ("2 money .nan",
     at("rules.daily_unrealized_loss.loss_limit", float("nan")),
     [R + "rules.daily_unrealized_loss.loss_limit: must be a finite amount (got .nan)"]),
    ("2 money .inf",
     text("profit_target: 1000.00", "profit_target: .inf"),
     [R + "rules.max_unrealized_profit.profit_target: must be a finite amount (got .inf)"]),
    ("2 money as text",
     at("rules.daily_realized_loss.loss_limit", "500"),
     [R + 'rules.daily_realized_loss.loss_limit: must be an amount in dollars, e.g. 500 (got "500")']),
    ("2 null where not allowed",
     at("rules.max_contracts.limit", None),
     [R + "rules.max_contracts.limit: must be an integer (got null)"]),
    ("2 null for a key that may only be left out",
     at("rules.session_block_outside.global_session.timezone", None),
     [R + "rules.session_block_outside.global_session.timezone: must not be null; leave the key out to use "
          "the default (got null)"]),
    ("2 time out of range",
     at("rules.session_block_outside.global_session.end", "24:00"),
     [R + 'rules.session_block_outside.global_session.end: must be a time "HH:MM" from "00:00" to "23:59" '
          '(got "24:00")']),
    ("2 not a date",
     text('- "2025-12-25"', '- "2025-13-01"'),
     [R + 'global.holidays[1]: must be a date "YYYY-MM-DD" (got "2025-13-01")']),
    ("2 YAML 1.1 document",
     lambda source: "%YAML 1.1\n---\n" + source,
     [R + 'line 1: only YAML 1.2 is supported; remove the "%YAML 1.1" line (YAML 1.1 reads yes/no as '
          "booleans and 17:00 as the number 1020)"]),
    ("2 syntax error",
     text("    limit: 5\n", "    limit: [5\n"),
     [R + f"line {LIMIT_LINE + 1}, column 15: YAML syntax error: while parsing a flow sequence, "
          "expected ',' or ']', but got ':'"]),
    # --- §4.1 / §4.4 items 1-10 --------------------------------------------------------------------
    ("4.1 version 2",
     at("version", 2),
     [R + "version: unsupported version, must be 1 (got 2)"]),
    ("4.1 strict_mode (D-41)",
     at("global.strict_mode", True),
     [R + "global.strict_mode: removed: it had no defined meaning, every check is always strict (D-41)"]),
    ("4.1 logging_level (D-41)",
     at("global.logging_level", "DEBUG"),
     [R + "global.logging_level: removed: set the log level in logging.yaml (level: INFO) (D-41)"]),
    ("4.4.1 unknown rule section, close to a known one",
     at("rules.max_daily_loss", {"enabled": True}),
     [R + 'rules.max_daily_loss: unknown key, did you mean "daily_realized_loss"?']),
    ("4.4.1 unknown rule section",
     at("rules.news_filter", {"enabled": True}),
     [R + "rules.news_filter: unknown key; valid keys: max_contracts, max_contracts_per_instrument, "
          "daily_realized_loss, daily_unrealized_loss, max_unrealized_profit, trade_frequency_limit, "
          "cooldown_after_loss, no_stop_loss_grace, session_block_outside, auth_loss_guard, symbol_blocks, "
          "trade_management"]),
    ("4.4.1 section without enabled (D-42)",
     at("rules.no_stop_loss_grace.enabled", DROP),
     [R + "rules.no_stop_loss_grace.enabled: missing; every rule section must say enabled: true or "
          "enabled: false (D-42)"]),
    ("4.4.2 zero duration",
     at("rules.no_stop_loss_grace.grace_period_seconds", 0),
     [R + "rules.no_stop_loss_grace.grace_period_seconds: must be between 1 and 3600 (got 0)"]),
    ("4.4.2 zero money",
     at("rules.max_unrealized_profit.profit_target", 0),
     [R + "rules.max_unrealized_profit.profit_target: must be at least 0.01 (got 0)"]),
    ("4.4.2 negative money with cents (D-07)",
     at("rules.cooldown_after_loss.loss_thresholds.0.loss_amount", -250.5),
     [R + "rules.cooldown_after_loss.loss_thresholds[0].loss_amount: must be a positive amount, "
          "write 250.5 not -250.5 (got -250.5)"]),
    ("4.4.2 negative tick count",
     at("rules.trade_management.trailing_stop.trail_distance_ticks", -1),
     [R + "rules.trade_management.trailing_stop.trail_distance_ticks: must be between 1 and 10000 (got -1)"]),
    ("4.4.3 no limits and block",
     lambda source: at("rules.max_contracts_per_instrument.unknown_symbol_action", "block")(
         at("rules.max_contracts_per_instrument.limits", {})(source)),
     [R + "rules.max_contracts_per_instrument.unknown_symbol_action: with no limits listed, block would "
          'close every position; list limits or use allow_unlimited / allow_with_limit:N (got "block")']),
    ("4.4.3 malformed allow_with_limit",
     at("rules.max_contracts_per_instrument.unknown_symbol_action", "allow_with_limit:0"),
     [R + "rules.max_contracts_per_instrument.unknown_symbol_action: must be block, allow_unlimited or "
          'allow_with_limit:N with a whole number N of at least 1 (got "allow_with_limit:0")']),
    ("4.4.4 profit lockout with per_position",
     at("rules.max_unrealized_profit.lockout", True),
     [R + "rules.max_unrealized_profit.lockout: only allowed with scope: total (got true)"]),
    ("4.4.5 all frequency limits null",
     at("rules.trade_frequency_limit.limits", {"per_minute": None, "per_hour": None, "per_session": None}),
     [R + "rules.trade_frequency_limit.limits: at least one of per_minute, per_hour, per_session must be set "
          "(got {per_minute: null, per_hour: null, per_session: null})"]),
    ("4.4.5 per_session_breach neither seconds nor until_reset",
     at("rules.trade_frequency_limit.cooldown_on_breach.per_session_breach", "forever"),
     [R + "rules.trade_frequency_limit.cooldown_on_breach.per_session_breach: must be a number of seconds "
          'from 1 to 86400, or "until_reset" (got "forever")']),
    ("4.4.6 duplicate loss_amount",
     at("rules.cooldown_after_loss.loss_thresholds.1.loss_amount", 100.0),
     [R + "rules.cooldown_after_loss.loss_thresholds[1].loss_amount: duplicate of loss_thresholds[0] "
          "(got 100.0)"]),
    ("4.4.6 bigger loss with shorter cooldown",
     at("rules.cooldown_after_loss.loss_thresholds.2.cooldown_duration", 600),
     [R + "rules.cooldown_after_loss.loss_thresholds[2].cooldown_duration: shorter than the 900 s of the "
          "smaller loss loss_thresholds[1] (200.0); a bigger loss needs an equal or longer cooldown "
          "(got 600)"]),
    ("4.4.6 more than 10 tiers",
     at("rules.cooldown_after_loss.loss_thresholds",
        [{"loss_amount": 100 * n, "cooldown_duration": 60 * n} for n in range(1, 12)]),
     [R + "rules.cooldown_after_loss.loss_thresholds: at most 10 tiers are allowed (got 11 tiers)"]),
    ("4.4.6 no tiers",
     at("rules.cooldown_after_loss.loss_thresholds", []),
     [R + "rules.cooldown_after_loss.loss_thresholds: at least one tier is required (got [])"]),
    ("4.4.7 session zone not IANA",
     at("rules.session_block_outside.global_session.timezone", "CST6CDT"),
     [R + 'rules.session_block_outside.global_session.timezone: unknown IANA time zone "CST6CDT", '
          'e.g. "America/Chicago" (got "CST6CDT")']),
    ("4.4.7 empty allowed_days",
     at("rules.session_block_outside.allowed_days", []),
     [R + "rules.session_block_outside.allowed_days: must list at least one day of MON, TUE, WED, THU, FRI, "
          "SAT, SUN (got [])"]),
    ("4.4.7 duplicate allowed day",
     text("allowed_days: [MON, TUE, WED, THU, FRI]", "allowed_days: [MON, TUE, MON]"),
     [R + 'rules.session_block_outside.allowed_days[2]: duplicate of allowed_days[0] (got "MON")']),
    ("4.4.7 day name spelled out",
     text("allowed_days: [MON, TUE, WED, THU, FRI]", "allowed_days: [Monday]"),
     [R + "rules.session_block_outside.allowed_days[0]: must be one of MON, TUE, WED, THU, FRI, SAT, SUN "
          '(got "Monday")']),
    ("4.4.7 lockout without closing at session end",
     at("rules.session_block_outside.close_positions_at_session_end", False),
     [R + "rules.session_block_outside.close_positions_at_session_end: must be true when "
          "lockout_outside_session is true (got false)"]),
    ("4.4.8 duplicate blocked symbol",
     at("rules.symbol_blocks.blocked_symbols", ["RTY", "BTC", "RTY"]),
     [R + 'rules.symbol_blocks.blocked_symbols[2]: duplicate of blocked_symbols[0] (got "RTY")']),
    ("4.4.8 malformed blocked symbol",
     at("rules.symbol_blocks.blocked_symbols", ["rty"]),
     [R + 'rules.symbol_blocks.blocked_symbols[0]: must be a symbol root of 1 to 10 upper-case letters or '
          'digits, e.g. "MNQ", write "RTY" (got "rty")']),
    ("4.4.9 breakeven offset not below trigger",
     at("rules.trade_management.auto_breakeven.offset_ticks", 10),
     [R + "rules.trade_management.auto_breakeven.offset_ticks: must be less than profit_trigger_ticks (10) "
          "(got 10)"]),
    ("4.4.10 duplicate holiday (unquoted date accepted)",
     text('- "2026-01-01"', "- 2025-12-25"),
     [R + "global.holidays[2]: duplicate of holidays[1] (got 2025-12-25)"]),
    ("4.4.10 alias chain (D-12)",
     at("global.symbol_aliases.ES", "SPX"),
     [R + 'global.symbol_aliases.EP: alias chain: ES is itself an alias of SPX; map EP directly to the final '
          'root (got "ES")']),
    ("4.4.10 max_quote_age_seconds out of range",
     at("global.max_quote_age_seconds", 301),
     [R + "global.max_quote_age_seconds: must be between 1 and 300 (got 301)"]),
    ("4.4.10 zone that is not Area/Location",
     at("global.timezone", "Mars/Olympus"),
     [R + 'global.timezone: unknown IANA time zone "Mars/Olympus", e.g. "America/Chicago" '
          '(got "Mars/Olympus")']),
]

LEGACY_CASES = [
    ("trade_frequency_limit", "max_trades",
     "replaced by limits.per_minute, limits.per_hour and limits.per_session (D-19)"),
    ("trade_frequency_limit", "time_window_minutes",
     "replaced by limits.per_minute, limits.per_hour and limits.per_session (D-19)"),
    ("cooldown_after_loss", "loss_threshold",
     "replaced by loss_thresholds, a list of {loss_amount, cooldown_duration} tiers (D-23)"),
    ("cooldown_after_loss", "cooldown_seconds",
     "replaced by loss_thresholds, a list of {loss_amount, cooldown_duration} tiers (D-23)"),
    ("session_block_outside", "allowed_hours", "replaced by global_session.start and global_session.end"),
    ("session_block_outside", "per_instrument_sessions",
     "not supported: one global_session applies to every instrument (D-25)"),
    ("max_unrealized_profit", "mode",
     "replaced by scope (per_position or total); breakeven stops are trade_management.auto_breakeven (D-16)"),
    ("max_contracts", "close_all", "replaced by enforcement: close_all (D-09)"),
    ("max_contracts", "reduce_to_limit", "replaced by enforcement: reduce_to_limit (D-09)"),
    ("daily_realized_loss", "lockout_until",
     "removed: the lockout always lasts until the next daily reset (D-46)"),
    ("trade_management", "update_frequency",
     "removed: the stop is moved at most once per second, when it improves by at least one tick (D-29)"),
    ("daily_unrealized_loss", "action", "replaced by scope (per_position or total) and lockout (D-16)"),
    ("symbol_blocks", "action",
     "not a key of this rule: only daily_realized_loss has an action; this rule's action is fixed "
     "(see its scope, lockout or enforcement keys)"),
    ("daily_realized_loss", "reset_time",
     "moved: the trading day is set once in global.daily_reset_time (per account: reset_time in "
     "accounts.yaml) (D-13)"),
]

ACCOUNT_CASES = [
    # --- table 3.5 ------------------------------------------------------------------------------
    ("3.5 no accounts", at("accounts", []), [A + "accounts: at least one account is required (got [])"]),
    ("3.5 duplicate account id", at("accounts.1.account_id", 7001),
     [A + "accounts[1].account_id: duplicate of accounts[0] (got 7001)"]),
    ("3.5 negative account id", at("accounts.0.account_id", -1),
     [A + "accounts[0].account_id: must be a positive integer (got -1)"]),
    ("3.5 account name instead of id", at("accounts.0.account_id", "PRAC-V2-126244"),
     [A + "accounts[0].account_id: must be the numeric account id, not the account name "
          '(got "PRAC-V2-126244")']),
    ("3.5 placeholder api key", at("topstepx.api_key", "YOUR_API_KEY_HERE"),
     [A + "topstepx.api_key: template placeholder, set a real key or ${VAR} (got <redacted>)"]),
    ("3.5 username without api_key", at("accounts.2.api_key", DROP),
     [A + "accounts[2]: username and api_key must be given together"]),
    ("3.5 password", at("topstepx.password", "x"),
     [A + "topstepx.password: not used, the gateway authenticates with username + api_key"]),
    # --- §3.1 ------------------------------------------------------------------------------------
    ("3.1 api_secret on an account", at("accounts.0.api_secret", "x"),
     [A + "accounts[0].api_secret: not used, the gateway authenticates with username + api_key"]),
    ("3.1 settings block", at("settings", {"timeout": 5}),
     [A + "settings: not used here: connection settings live in daemon.yaml"]),
    ("3.1 global_settings block", at("global_settings", {"timeout": 5}),
     [A + "global_settings: not used here: connection settings live in daemon.yaml"]),
    ("3.1 version 2", at("version", 2), [A + "version: unsupported version, must be 1 (got 2)"]),
    ("3.1 quoted account id", at("accounts.0.account_id", "7001"),
     [A + 'accounts[0].account_id: must be a number, write it without quotes (got "7001")']),
    ("3.1 username with spaces", at("topstepx.username", " trader "),
     [A + 'topstepx.username: must not start or end with spaces (got " trader ")']),
    ("3.1 empty username", at("topstepx.username", ""),
     [A + 'topstepx.username: must not be empty (got "")']),
    ("3.1 api key with a space", at("topstepx.api_key", "abc def"),
     [A + "topstepx.api_key: must not contain spaces or line breaks (got <redacted>)"]),
    ("3.1 api_url ending in /api", at("topstepx.api_url", "https://api.topstepx.com/api"),
     [A + 'topstepx.api_url: must not end with /api, the client adds it (got "https://api.topstepx.com/api")']),
    ("3.1 hub url not http", at("topstepx.market_hub_url", "wss://rtc.topstepx.com/hubs/market"),
     [A + 'topstepx.market_hub_url: must be an http or https URL, e.g. "https://api.topstepx.com" '
          '(got "wss://rtc.topstepx.com/hubs/market")']),
    ("3.1 no enabled account",
     lambda source: at("accounts.1.enabled", False)(at("accounts.0.enabled", False)(source)),
     [A + "accounts: at least one account must be enabled"]),
    ("3.1 nickname over 40 characters", at("accounts.0.nickname", "N" * 41),
     [A + f'accounts[0].nickname: must be at most 40 characters (got "{"N" * 41}")']),
    ("3.1 unquoted account reset_time", text('reset_time: "17:00"', "reset_time: 17:00"),
     [A + 'accounts[1].reset_time: times must be quoted strings like "17:00" (got 17:00)']),
    ("3.1 account timezone CST", at("accounts.1.timezone", "CST"),
     [A + 'accounts[1].timezone: unknown IANA time zone "CST", e.g. "America/Chicago" (got "CST")']),
    ("3.1 no shared login although needed", at("topstepx", DROP),
     [A + "topstepx: missing; the shared login is required unless every enabled account has its own username "
          "and api_key"]),
    ("3.1 null nickname", at("accounts.0.nickname", None),
     [A + "accounts[0].nickname: must not be null; leave the key out to use the default (got null)"]),
    ("3.1 account enabled: no", at("accounts.0.enabled", "no"),
     [A + 'accounts[0].enabled: must be true or false (got "no")']),
    # --- §3.2 / §3.3 -------------------------------------------------------------------------------
    ("3.2 variable not set", at("topstepx.api_key", "${PROJECT_X_API_KEY_TYPO}"),
     [A + "topstepx.api_key: environment variable PROJECT_X_API_KEY_TYPO is not set"]),
    ("3.2 partial interpolation", at("topstepx.username", "user-${PROJECT_X_USERNAME}"),
     [A + 'topstepx.username: partial ${VAR} interpolation is not supported; the whole value must be '
          '"${NAME}" (got "user-${PROJECT_X_USERNAME}")']),
    ("3.2 lower-case variable name", at("topstepx.username", "${project_x_username}"),
     [A + 'topstepx.username: invalid environment variable name "project_x_username": use upper-case '
          'letters, digits and _, not starting with a digit (got "${project_x_username}")']),
    ("3.3 override with a bad value", at("accounts.0.risk_overrides.max_contracts.limit", 0),
     [A + "accounts[0].risk_overrides.max_contracts.limit: must be between 1 and 1000 (got 0)"]),
    ("3.3 override of an unknown section", at("accounts.0.risk_overrides.max_contract", {"limit": 2}),
     [A + 'accounts[0].risk_overrides.max_contract: unknown key, did you mean "max_contracts"?']),
    ("3.3 override of a global setting", at("accounts.0.risk_overrides.daily_reset_time", "16:00"),
     [A + "accounts[0].risk_overrides.daily_reset_time: global settings cannot be overridden per account; "
          "use the account's reset_time and timezone keys"]),
    ("3.3 overrides not a mapping", at("accounts.0.risk_overrides", ["max_contracts"]),
     [A + 'accounts[0].risk_overrides: must be a mapping of keys and values (got ["max_contracts"])']),
    ("3.3 merged result breaks a cross-field rule",
     at("accounts.0.risk_overrides.daily_unrealized_loss", {"lockout": True}),
     [A + "accounts[0].risk_overrides.daily_unrealized_loss.lockout: only allowed with scope: total "
          "(got true)"]),
]

DAEMON_CASES = [
    ("daemon.yaml", "broadcast:\n  host: 0.0.0.0\n",
     ['daemon.yaml: broadcast.host: must be an IPv4 loopback address (127.0.0.0/8), e.g. 127.0.0.1 '
      '(got "0.0.0.0")']),
    ("daemon.yaml", "broadcast:\n  port: 70000\n",
     ["daemon.yaml: broadcast.port: must be between 1 and 65535 (got 70000)"]),
    ("daemon.yaml", "enforcement:\n  max_attempts: 0\n",
     ["daemon.yaml: enforcement.max_attempts: must be a positive integer (got 0)"]),
    ("daemon.yaml", "enforcement:\n  dry_run: yes\n",
     ['daemon.yaml: enforcement.dry_run: must be true or false (got "yes")']),
    ("daemon.yaml", "retention:\n  trade_history_day: 7\n",
     ['daemon.yaml: retention.trade_history_day: unknown key, did you mean "trade_history_days"?']),
    ("daemon.yaml", "timeouts:\n  rest_seconds: 2.5\n",
     ["daemon.yaml: timeouts.rest_seconds: must be an integer (got 2.5)"]),
    ("logging.yaml", "level: info\n",
     ['logging.yaml: level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got "info")']),
    ("logging.yaml", "console: maybe\n",
     ['logging.yaml: console: must be "auto", true or false (got "maybe")']),
    ("logging.yaml", "mask:\n  extra_patterns: ['[unclosed']\n",
     ["logging.yaml: mask.extra_patterns[0]: not a valid regular expression: unterminated character set at "
      'position 0 (got "[unclosed")']),
    ("logging.yaml", "files:\n  error:\n    keep_days: 0\n",
     ["logging.yaml: files.error.keep_days: must be a positive integer (got 0)"]),
    ("logging.yaml", "json: 1\n", ["logging.yaml: json: must be true or false (got 1)"]),
]


@pytest.mark.parametrize(("edit", "expected"), [case[1:] for case in RISK_CASES],
                         ids=[case[0] for case in RISK_CASES])
def test_risk_config_rejection(edit: Edit, expected: list[str]) -> None:
    assert errors_of("risk_config.yaml", edit(RISK_TEXT)) == expected


@pytest.mark.parametrize(("section", "key", "message"), LEGACY_CASES,
                         ids=[f"{case[0]}.{case[1]}" for case in LEGACY_CASES])
def test_replaced_source_key_names_its_replacement(section: str, key: str, message: str) -> None:
    source = at(f"rules.{section}.{key}", 5)(RISK_TEXT)
    assert errors_of("risk_config.yaml", source) == [f"{R}rules.{section}.{key}: {message}"]


@pytest.mark.parametrize(("edit", "expected"), [case[1:] for case in ACCOUNT_CASES],
                         ids=[case[0] for case in ACCOUNT_CASES])
def test_accounts_rejection(edit: Edit, expected: list[str]) -> None:
    assert errors_of("accounts.yaml", edit(ACCOUNTS_TEXT)) == expected


@pytest.mark.parametrize(("file", "source", "expected"), DAEMON_CASES,
                         ids=[f"{case[0]}: {case[1].strip()}" for case in DAEMON_CASES])
def test_daemon_and_logging_rejection(file: str, source: str, expected: list[str]) -> None:
    assert errors_of(file, source) == expected


def test_unedited_examples_have_no_errors() -> None:
    """The base every rejection case starts from is itself valid, so each case tests one edit."""
    assert errors_of("risk_config.yaml", RISK_TEXT) == []
    assert errors_of("accounts.yaml", ACCOUNTS_TEXT) == []
