"""The demo's throw-away configuration: one simulator account per scenario, rules tuned so each
scenario fires the rule it shows and no other, and times computed from `now`.

Whatever the time and day, the demo must behave the same, so nothing is fixed to the clock: every day is
a trading day, there are no holidays, the daily reset is 12 hours away (no reset during the demo), the
normal session runs from 6 hours ago to 6 hours ahead, and the Session account's own window ended a few
minutes ago (so the daemon locks that account as soon as it starts, and any trade is flattened).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from simple_risk_manager.demo.processes import SimEndpoints
from simple_risk_manager.demo.yaml_text import yaml_text
from simple_risk_manager.domain.times import ensure_utc

ZONE: Final = "America/Chicago"
ALL_DAYS: Final = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
BLOCKED_ROOT: Final = "RTY"
MAX_CONTRACTS: Final = 5
DAILY_LOSS_LIMIT: Final = Decimal("500.00")
COOLDOWN_LOSS: Final = Decimal("100.00")
COOLDOWN_SECONDS: Final = 15
STOP_LOSS_TICKS: Final = 12
BREAKEVEN_TRIGGER_TICKS: Final = 8
BREAKEVEN_OFFSET_TICKS: Final = 1
_HEADER: Final = "Written by `srm demo` for this run only; deleted when the demo ends."


@dataclass(frozen=True, slots=True)
class DemoSchedule:
    """The wall-clock times of the demo configuration, as "HH:MM" in `ZONE`."""

    session_start: str
    session_end: str
    closed_start: str
    closed_end: str
    reset_time: str

    @classmethod
    def around(cls, now: datetime) -> DemoSchedule:
        """Session: 6 h ago → 6 h ahead. Closed window: 3 h long, ended at least 2 minutes ago.
        Reset: 12 h ahead. Minutes are truncated, which only widens the margins."""
        utc = ensure_utc(now)

        def hhmm(instant: datetime) -> str:
            return instant.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")

        closed_end = utc - timedelta(minutes=2)
        return cls(session_start=hhmm(utc - timedelta(hours=6)), session_end=hhmm(utc + timedelta(hours=6)),
                   closed_start=hhmm(closed_end - timedelta(hours=3)), closed_end=hhmm(closed_end),
                   reset_time=hhmm(utc + timedelta(hours=12)))


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One scenario's simulator account: its key, the nickname shown everywhere, its rule overrides."""

    key: str
    nickname: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


def demo_accounts(schedule: DemoSchedule) -> tuple[DemoAccount, ...]:
    """The accounts in scenario order (the order the scripted trader visits them)."""
    return (
        DemoAccount("session", "Session", {
            "session_block_outside": {"global_session": {"start": schedule.closed_start,
                                                         "end": schedule.closed_end}}}),
        DemoAccount("max_contracts", "Max contracts"),
        DemoAccount("cooldown", "Cooldown"),
        # Its big loss would also start a cooldown; switched off so the log shows RULE-003 alone.
        DemoAccount("daily_loss", "Daily loss", {"cooldown_after_loss": {"enabled": False}}),
        DemoAccount("symbol_block", "Symbol block"),
        DemoAccount("auto_stop", "Auto stop", {"trade_management": {"enabled": True}}),
    )


def risk_config(schedule: DemoSchedule) -> dict[str, Any]:
    """`risk_config.yaml`: limits the scenarios reach on purpose; the others far away."""
    return {
        "version": 1,
        "global": {"timezone": ZONE, "daily_reset_time": schedule.reset_time, "include_fees": True,
                   "max_quote_age_seconds": 10, "holidays": []},
        "rules": {
            "max_contracts": {"enabled": True, "limit": MAX_CONTRACTS, "count_type": "gross",
                              "enforcement": "close_all"},
            "max_contracts_per_instrument": {
                "enabled": True, "limits": {"MNQ": 10, "MES": 10, "ES": 2, "NQ": 2},
                "enforcement": "reduce_to_limit", "unknown_symbol_action": "allow_with_limit:5"},
            "daily_realized_loss": {"enabled": True, "loss_limit": DAILY_LOSS_LIMIT,
                                    "action": "CLOSE_ALL_AND_LOCKOUT"},
            "daily_unrealized_loss": {"enabled": True, "loss_limit": Decimal("2000.00"),
                                      "scope": "per_position", "lockout": False},
            "max_unrealized_profit": {"enabled": True, "profit_target": Decimal("2000.00"),
                                      "scope": "per_position", "lockout": False},
            "trade_frequency_limit": {
                "enabled": True, "limits": {"per_minute": 20, "per_hour": 200, "per_session": 500},
                "cooldown_on_breach": {"enabled": True, "per_minute_breach": 60, "per_hour_breach": 1800,
                                       "per_session_breach": "until_reset"}},
            "cooldown_after_loss": {"enabled": True, "loss_thresholds": [
                {"loss_amount": COOLDOWN_LOSS, "cooldown_duration": COOLDOWN_SECONDS},
                {"loss_amount": Decimal("300.00"), "cooldown_duration": 60}]},
            "no_stop_loss_grace": {"enabled": False, "grace_period_seconds": 30},
            "session_block_outside": {
                "enabled": True,
                "global_session": {"start": schedule.session_start, "end": schedule.session_end,
                                   "timezone": ZONE},
                "allowed_days": list(ALL_DAYS), "respect_holidays": True,
                "close_positions_at_session_end": True, "lockout_outside_session": True},
            "auth_loss_guard": {"enabled": True, "auto_unlock_on_restore": True, "check_on_startup": True,
                                "alert_on_disconnect": True},
            "symbol_blocks": {"enabled": True, "blocked_symbols": [BLOCKED_ROOT], "close_existing": True},
            "trade_management": {
                "enabled": False, "auto_stop_loss": True, "stop_loss_ticks": STOP_LOSS_TICKS,
                "auto_breakeven": {"enabled": True, "profit_trigger_ticks": BREAKEVEN_TRIGGER_TICKS,
                                   "offset_ticks": BREAKEVEN_OFFSET_TICKS},
                "trailing_stop": {"enabled": False, "activation_ticks": 20, "trail_distance_ticks": 10}},
        },
    }


def accounts_config(sim: SimEndpoints, accounts: tuple[DemoAccount, ...],
                    account_ids: Mapping[str, int]) -> dict[str, Any]:
    """`accounts.yaml`: the simulator's login and URLs, one entry per scenario account."""
    return {
        "version": 1,
        "topstepx": {"username": sim.user_name, "api_key": sim.api_key, "api_url": sim.url,
                     "user_hub_url": sim.user_hub_url, "market_hub_url": sim.market_hub_url},
        "accounts": [{"account_id": account_ids[account.key], "nickname": account.nickname,
                      **({"risk_overrides": dict(account.overrides)} if account.overrides else {})}
                     for account in accounts],
    }


def config_files(sim: SimEndpoints, accounts: tuple[DemoAccount, ...], account_ids: Mapping[str, int],
                 schedule: DemoSchedule, broadcast_port: int) -> dict[str, str]:
    """File name → text for the demo's config directory."""
    return {
        "accounts.yaml": yaml_text(accounts_config(sim, accounts, account_ids), _HEADER),
        "risk_config.yaml": yaml_text(risk_config(schedule), _HEADER),
        "daemon.yaml": yaml_text({"broadcast": {"host": "127.0.0.1", "port": broadcast_port}}, _HEADER),
        # The demo prints its own live log; the daemon's log files stay in the temporary directory.
        "logging.yaml": yaml_text({"console": False}, _HEADER),
    }


def write_config(directory: Path, files: Mapping[str, str]) -> None:
    """Owner-only files, as `srm check-config` asks of a real accounts.yaml (it holds the login)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
