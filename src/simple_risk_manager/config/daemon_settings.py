"""`daemon.yaml`: optional daemon settings; every key has a default (`daemon.md` §10)."""

from __future__ import annotations

from typing import Annotated

from simple_risk_manager.config.base import ConfigModel
from simple_risk_manager.config.fields import Flag, LoopbackHost, int_in

PositiveInt = Annotated[int, int_in(1)]


class BroadcastSettings(ConfigModel):
    host: LoopbackHost = "127.0.0.1"
    port: Annotated[int, int_in(1, 65_535)] = 8765
    max_clients: PositiveInt = 64
    quote_max_hz: PositiveInt = 4
    heartbeat_seconds: PositiveInt = 10


class PersistenceSettings(ConfigModel):
    flush_interval_seconds: PositiveInt = 5


class RetentionSettings(ConfigModel):
    trade_history_days: PositiveInt = 7
    enforcement_log_days: PositiveInt = 7
    daily_pnl_days: PositiveInt = 90


class EnforcementSettings(ConfigModel):
    dry_run: Flag = False
    max_attempts: PositiveInt = 3
    retry_delay_seconds: PositiveInt = 2


class HubSettings(ConfigModel):
    backoff_max_seconds: PositiveInt = 30


class TokenSettings(ConfigModel):
    refresh_after_hours: PositiveInt = 20


class TimeoutSettings(ConfigModel):
    rest_seconds: PositiveInt = 10


class DaemonSettings(ConfigModel):
    broadcast: BroadcastSettings = BroadcastSettings()
    persistence: PersistenceSettings = PersistenceSettings()
    retention: RetentionSettings = RetentionSettings()
    enforcement: EnforcementSettings = EnforcementSettings()
    hubs: HubSettings = HubSettings()
    token: TokenSettings = TokenSettings()
    timeouts: TimeoutSettings = TimeoutSettings()
