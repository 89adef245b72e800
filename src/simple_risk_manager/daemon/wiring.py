"""From the validated configuration to the settings of the parts the daemon wires (`daemon.md` §10)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from simple_risk_manager.config.accounts import DEFAULT_API_URL, DEFAULT_MARKET_HUB_URL, DEFAULT_USER_HUB_URL
from simple_risk_manager.config.loader import LoadedConfig
from simple_risk_manager.gateway.auth import Credentials
from simple_risk_manager.gateway.hubs import HubOptions
from simple_risk_manager.gateway.projectx import GatewaySettings
from simple_risk_manager.state.calendar import session_start, trading_day_of
from simple_risk_manager.store.retention import RetentionPolicy

#: RULE-006's rolling hour reaches back before the session start (`storage.md` §8 item 6).
TRADE_HISTORY_REACH = timedelta(hours=1)


def gateway_settings(config: LoadedConfig) -> GatewaySettings:
    """Endpoints from the shared `topstepx` block of `accounts.yaml` (the platform's defaults when every
    account has its own login), tuning from `daemon.yaml`."""
    login = config.accounts_file.topstepx
    daemon = config.daemon
    return GatewaySettings(
        api_url=DEFAULT_API_URL if login is None else login.api_url,
        user_hub_url=DEFAULT_USER_HUB_URL if login is None else login.user_hub_url,
        market_hub_url=DEFAULT_MARKET_HUB_URL if login is None else login.market_hub_url,
        rest_timeout_s=float(daemon.timeouts.rest_seconds),
        refresh_after_hours=float(daemon.token.refresh_after_hours),
        hubs=HubOptions(backoff_max_s=float(daemon.hubs.backoff_max_seconds)),
    )


def gateway_credentials(config: LoadedConfig) -> dict[int, Credentials]:
    """Each enabled account's login: its own, else the shared one (`config.md` §3)."""
    result: dict[int, Credentials] = {}
    for entry in config.accounts:
        login = config.accounts_file.login_for(entry)
        if entry.enabled and login is not None:
            result[entry.account_id] = Credentials(login[0], login[1].get_secret_value())
    return result


def retention_policy(config: LoadedConfig) -> RetentionPolicy:
    retention = config.daemon.retention
    return RetentionPolicy(trade_history_days=retention.trade_history_days,
                           enforcement_log_days=retention.enforcement_log_days,
                           daily_pnl_days=retention.daily_pnl_days)


def trading_dates(config: LoadedConfig, account_ids: list[int], now: datetime) -> dict[int, date]:
    """Each account's current trading date (`modules.md` MOD-004), for the startup load."""
    return {a: trading_day_of(now, *config.reset_time_and_zone(a)) for a in account_ids}


def trades_since(config: LoadedConfig, account_ids: list[int], now: datetime) -> datetime:
    """The earliest session start, or an hour ago if earlier (`storage.md` §8 item 6)."""
    starts = [session_start(now, *config.reset_time_and_zone(a)) for a in account_ids]
    return min([now - TRADE_HISTORY_REACH, *starts])
