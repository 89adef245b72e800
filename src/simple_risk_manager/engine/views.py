"""Per-account configuration as the engine needs it, the trackers, and the one way views are built.

The configuration is resolved once at construction (effective rules with the account's overrides,
RULE-009's session calendar, the trading-day boundary, the login whose hubs carry the account), so
building an `AccountView` per event and account costs one small object and no lookups in YAML models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simple_risk_manager.config.loader import LoadedConfig
from simple_risk_manager.config.risk_config import GlobalSettings
from simple_risk_manager.config.rule_sections import RulesConfig
from simple_risk_manager.domain.models import Order
from simple_risk_manager.rules.base import AccountView, Trackers
from simple_risk_manager.state.calendar import SessionConfig
from simple_risk_manager.state.contracts import ContractCache
from simple_risk_manager.state.lockouts import LockoutManager
from simple_risk_manager.state.pnl import PnlTracker
from simple_risk_manager.state.positions import StateManager
from simple_risk_manager.state.quotes import QuoteTracker
from simple_risk_manager.state.reset_schedule import ResetConfig, ResetScheduler
from simple_risk_manager.state.trade_counter import TradeCounter


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """One monitored (enabled) account's resolved configuration."""

    account_id: int
    #: The username whose user hub carries this account's events (`HubConnectionChanged.login`).
    login: str | None
    rules: RulesConfig
    session: SessionConfig
    reset: ResetConfig


def session_config(rules: RulesConfig, settings: GlobalSettings) -> SessionConfig:
    """RULE-009's calendar: its window and days, `global.holidays`, and `global.timezone` when the rule
    names no zone (never an account's reset zone, spec README)."""
    rule = rules.session_block_outside
    return SessionConfig.from_rule(start=rule.global_session.start, end=rule.global_session.end,
                                   timezone=rule.global_session.timezone, global_timezone=settings.timezone,
                                   allowed_days=rule.allowed_days, respect_holidays=rule.respect_holidays,
                                   holidays=settings.holidays)


def monitored_accounts(config: LoadedConfig) -> dict[int, AccountSettings]:
    """The enabled accounts of `accounts.yaml`, by id; disabled ones are not watched at all."""
    result: dict[int, AccountSettings] = {}
    for entry in config.accounts:
        if not entry.enabled:
            continue
        rules = config.effective_rules(entry.account_id)
        login = config.accounts_file.login_for(entry)
        reset_time, timezone = config.reset_time_and_zone(entry.account_id)
        result[entry.account_id] = AccountSettings(
            account_id=entry.account_id, login=None if login is None else login[0], rules=rules,
            session=session_config(rules, config.global_settings),
            reset=ResetConfig(reset_time=reset_time, timezone=timezone))
    return result


def build_trackers(config: LoadedConfig) -> Trackers:
    """Empty trackers set up from `global` (fees in realized P&L, symbol aliases)."""
    settings = config.global_settings
    return Trackers(state=StateManager(), pnl=PnlTracker(include_fees=settings.include_fees),
                    quotes=QuoteTracker(), contracts=ContractCache(settings.symbol_aliases),
                    counter=TradeCounter(), lockouts=LockoutManager())


@dataclass(frozen=True, slots=True)
class ViewFactory:
    """Builds the read-only view rules and the gate see: one per account per event."""

    trackers: Trackers
    scheduler: ResetScheduler
    settings: GlobalSettings
    accounts: Mapping[int, AccountSettings]
    is_own_order: Callable[[Order], bool]

    def view(self, account_id: int, now: datetime, memory: Mapping[str, Any]) -> AccountView:
        """`memory` is the account's rule memory (rule id → last state patch), read live, not copied."""
        return AccountView(account_id=account_id, now=now, rules=self.accounts[account_id].rules,
                           settings=self.settings,
                           next_reset_at=self.scheduler.schedule(account_id).next_reset_at,
                           session=self.accounts[account_id].session, trackers=self.trackers,
                           is_own_order=self.is_own_order, rule_states=memory)
